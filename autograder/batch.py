"""`xaigrade grade`: every submission of every assignment, resumable, one failure never stops the batch."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISREG

import nbformat

from .checks import Exercise
from .config import XaiGrade
from .exercises import declared_warm_start, load_exercise
from .grading import SubmissionResult
from .references import HiddenSetPool, longest_first, hidden_set, missing_hidden_sets
from .secret import course_secret, fingerprint, secret_path, set_for, set_name
from .nbgrader_bridge import course_config, graded_cells, hand_grades, record_scores, register_assignment
from .submission_run import warm_process


@dataclass
class Layout:
    """Where a batch reads and writes (nbgrader's course-directory names)."""

    course_root: Path
    submissions: Path
    output: Path

    def __post_init__(self):
        # absolute: nbgrader changes the working directory while it registers an assignment, and
        # that runs in a thread beside the grading
        self.course_root, self.submissions, self.output = (Path(p).resolve() for p in
                                                           (self.course_root, self.submissions, self.output))

    @property
    def db_url(self) -> str:
        return f"sqlite:///{(self.output / 'gradebook.db').resolve()}"

    @property
    def release(self) -> Path:
        return self.course_root / "release"

    def state_file(self, student: str, assignment: str) -> Path:
        return self.output / ".xaigrade" / "graded" / student / f"{assignment}.json"


def find_submissions(layout: Layout, assignment: str) -> list[tuple[str, Path | None]]:
    """(student, notebook path) for ``submitted/<student>/<assignment>/``; None when no notebook is there."""
    found = []
    if not layout.submissions.exists():
        return found
    for student_dir in sorted(p for p in layout.submissions.iterdir() if p.is_dir()):
        folder = student_dir / assignment
        if not folder.is_dir():
            continue
        exercise_nb = folder / f"{assignment}.ipynb"
        # nothing is read here, and no link followed: the grader opens the file itself (regular
        # files only, size-capped) and explains a link, FIFO or oversized file to the student
        notebooks = [exercise_nb] if os.path.lexists(exercise_nb) else sorted(folder.glob("*.ipynb"))
        found.append((student_dir.name, notebooks[0] if notebooks else None))
    return found


@dataclass
class RunNotes:
    """What a run tells the instructor beside the scores (``xaigrade grade`` prints it)."""

    review: list = field(default_factory=list)  # (student, assignment, [{"cell", "why", ...}]): hand grades to look at
    secret_moves: list = field(default_factory=list)  # (student, assignment, old fingerprint, old set, new set)
    other_secret: list = field(default_factory=list)  # (student, assignment, old fingerprint): kept, not regraded
    secret: str = ""  # the fingerprint of the secret this run grades with
    graded: list = field(default_factory=list)  # (student, assignment) graded in this run


def read_state(layout: "Layout", student: str, assignment: str) -> dict | None:
    state = layout.state_file(student, assignment)
    try:
        return json.loads(state.read_text())
    except (OSError, ValueError):
        return None


def _write_atomic(target: Path, data: bytes) -> None:
    """Replace ``target`` whole (a kill leaves the old or the new file; a read-only file nbgrader left is
    replaced, not written through)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.xaigrade-tmp")
    temporary.write_bytes(data)
    os.replace(temporary, target)


def _fingerprint(path: Path | None) -> str:
    if path is None or not os.path.lexists(path):
        return "missing"
    stat = path.lstat()  # (of the entry itself: a link's target may change under it)
    kind = "" if S_ISREG(stat.st_mode) else f"{stat.st_mode:o}:"
    return f"{kind}{stat.st_size}:{stat.st_mtime_ns}"


def grade_batch(assignments: list[str], layout: Layout, settings: XaiGrade, force: bool = False,
                progress=None, workers: int = 1, dask: str | None = None, progress_bar: bool = False,
                pictures: bool = True, students: list[str] | None = None, secret_file: Path | None = None,
                notes: RunNotes | None = None) -> dict:
    """Grade all submissions; returns ``{student: {assignment: {check_id: {...}}}}``.

    A finished submission leaves a state file written after its gradebook commit; a rerun
    skips it (unless the notebook changed, its autograded notebook is gone, or ``force``), so a
    killed batch resumes. ``students``: only these (each regraded, as nbgrader's ``--student``).
    ``secret_file``: grade with an archived course secret (``--secret``). ``notes`` collects what the
    instructor should look at (hand grades whose cell changed, students whose hidden set changes).
    ``workers`` > 1 grades in worker processes, ``dask`` (a scheduler address) on a Dask cluster;
    either way the results are written here, in this process, one after the other.
    """
    from .parallel import ProgressBar, Task, run_dask, run_processes, run_serial

    report: dict = {}
    notes = notes if notes is not None else RunNotes()
    # refuses a public seed (or a committed or missing archive) before anything runs
    secret = course_secret(layout.course_root, settings, secret_file=secret_file)
    archive = archive_folder(secret_file) if secret_file is not None else None
    notes.secret = secret_fp = fingerprint(secret)
    config = course_config(layout.course_root)
    layout.output.mkdir(parents=True, exist_ok=True)
    # nbgrader's gradebook learns the assignments in a thread (about a second each); results are
    # stored only after it is done (``done`` waits)
    gradebook_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="xaigrade-gradebook")
    registration = gradebook_thread.submit(lambda: [register_assignment(assignment, layout.course_root / "source",
                                                                        layout.db_url) for assignment in assignments])
    gradebook_thread.shutdown(wait=False)  # (the thread ends after this one task)
    plan = []  # (assignment, its tasks)
    grading_here = workers <= 1 and not dask
    zygotes = []  # (assignment, release folder): their zygotes, started one after the other (``_start_zygotes``)
    # Each assignment's checks module (scikit-learn, torch, ...: 0.8 s for pdp's, 1.0 s for Grad-CAM's, 1.7 s for all
    # four, idle; 4.5 s at load 2) is imported once: the first assignment's after its zygote started (which needs
    # none of them), the others' in a thread while its submissions run; none is stored before all imported
    exercise_of = _ExerciseLoader()
    for assignment in assignments:
        tasks = []
        for student, path in find_submissions(layout, assignment):
            if students is not None and student not in students:
                continue
            saved = read_state(layout, student, assignment)
            if not force and students is None and saved and saved.get("fingerprint") == _fingerprint(path) \
                    and _autograded_present(layout, exercise_of(assignment), student, saved):
                report.setdefault(student, {})[assignment] = saved["report"]
                if saved.get("secret") and saved["secret"] != secret_fp:
                    notes.other_secret.append((student, assignment, saved["secret"]))
                continue
            index = set_for(secret, assignment, student, settings.hidden_sets)
            if saved and saved.get("secret") and saved["secret"] != secret_fp:
                notes.secret_moves.append((student, assignment, saved["secret"], saved.get("report", {}).get(
                    "_hidden_set", "?"), set_name(index, settings.hidden_sets)))
            tasks.append(Task(assignment, student, _fingerprint(path), str(path) if path else None,
                              hidden_set=index))
        if tasks:
            plan.append((assignment, tasks))
            if grading_here:
                zygotes.append((assignment, layout.release / assignment))
    for name, _ in plan:  # (read here, once, not by the sandbox slots' threads: ``declared_warm_start``)
        declared_warm_start(name)
    if zygotes:  # (the first imports at once, while the grader loads its checks and references)
        threading.Thread(target=_start_zygotes, args=(zygotes, settings), name="xaigrade-zygotes",
                         daemon=True).start()
    if plan:  # its checks now (a broken module stops the run here, naming its file); the others' while it runs
        exercise_of(plan[0][0])
    exercise_of.preload(assignments)
    # the whole course too (source/ holds the solutions): it need not be inside the installed project
    private = [str(layout.submissions), str(layout.output), str(layout.course_root),
               str(secret_path(layout.course_root).parent)]
    if archive is not None:  # (the jail covers folders: the archive's folder, which holds nothing the job needs)
        private.append(str(archive))
    bar = ProgressBar(sum(len(tasks) for _, tasks in plan), settings.language) if progress_bar else None

    # Hidden sets no earlier `xaigrade prepare`/`release`/`grade` computed: in worker processes from now on, while
    # the submissions whose sets are ready run; each of the others waits for its own set only.
    wanted = {name: {task.hidden_set for task in tasks} for name, tasks in plan}
    missing = missing_hidden_sets(wanted, secret) if settings.cache_reference else []
    builder = HiddenSetPool(secret, min(len(missing), os.cpu_count() or 1)) if missing else None
    computing = {builder.submit(name, index): (name, index) for name, index in longest_first(missing)} \
        if builder else {}

    def jobs():
        """(context, tasks) as their hidden sets become ready: first every submission whose set was computed
        before, then the others set by set as the workers finish them (grading in this process), or assignment by
        assignment (workers and Dask get an assignment's sets at once)."""
        waiting = set(missing)
        contexts = {}
        for name, tasks in plan:
            ready = {task.hidden_set for task in tasks if (name, task.hidden_set) not in waiting}
            contexts[name] = build_context(exercise_of(name), layout, settings, secret, ready)
            if grading_here and ready:
                yield contexts[name], [task for task in tasks if task.hidden_set in ready]
        if not grading_here:  # every set of an assignment before its submissions are shipped
            for future in as_completed(computing):
                future.result()
            for name, tasks in plan:
                context = contexts[name]
                context.sets.update(build_context(exercise_of(name), layout, settings, secret,
                                                  {t.hidden_set for t in tasks} - set(context.sets)).sets)
                yield context, tasks
            return
        for future in as_completed(computing):
            name, index, _ = future.result()
            tasks = next(t for n, t in plan if n == name)
            contexts[name].sets.update(build_context(exercise_of(name), layout, settings, secret, {index}).sets)
            yield contexts[name], [task for task in tasks if task.hidden_set == index]

    def done(graded) -> None:  # always in this process: the only writer of gradebook and files
        registration.result()  # raises what the registration raised
        exercise_of.loaded()  # (raises what importing a checks module raised: nothing is stored then)
        result = graded.result
        if not graded.lost:
            review = _store(result, exercise_of(result.assignment), layout, graded.task.fingerprint, settings.language,
                            graded.pictures, secret=secret_fp, config=config)
            if review:
                notes.review.append((result.student, result.assignment, review))
            notes.graded.append((result.student, result.assignment))
        report.setdefault(result.student, {})[result.assignment] = result.report()
        if not graded.lost:
            report[result.student][result.assignment]["_secret"] = secret_fp
        if bar:
            bar.advance(graded)
        if progress:
            progress(result)

    try:
        with bar or contextlib.nullcontext():
            if dask:
                run_dask(jobs(), settings, private, done, dask, pictures)
            elif workers > 1:
                run_processes(jobs(), settings, private, done, workers, pictures)
            else:
                run_serial(jobs(), settings, private, done, pictures)
    finally:
        if builder is not None:
            builder.close(cancel=True)  # (all done by now, unless the batch was stopped)
    registration.result()  # (also when nothing was left to grade)
    exercise_of.loaded()
    return report


def end_process(code: int) -> None:
    """End a finished ``xaigrade grade`` process now: its exit handlers run (zygotes stopped, their folders and
    cgroups removed), logs and output are flushed, and only the interpreter's teardown of the libraries the checks
    imported is skipped — torch, TensorFlow and transformers took 3.1 s to unload at load 7 (measured), after the
    last grade was stored. Everything is written and closed by then. Never returns."""
    import atexit
    import logging
    import sys

    try:
        atexit._run_exitfuncs()
        logging.shutdown()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError, AttributeError):
                pass
        os._exit(code if isinstance(code, int) else 1)


class _ExerciseLoader:
    """``Exercise(name)`` once per name, made by the first thread that asks (the others wait for that one)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._made: dict = {}
        self._locks: dict = {}
        self._loaded = None  # (the future of ``preload``)

    def preload(self, names) -> None:
        """Import ``names`` one after the other in a thread of their own; ``loaded`` waits for them."""
        def load_all():
            for name in names:
                self(name)

        thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="xaigrade-checks")
        self._loaded = thread.submit(load_all)
        thread.shutdown(wait=False)  # (the thread ends after this one task)

    def loaded(self) -> None:
        """Wait for ``preload``; raises the ``ExerciseError`` of a module that could not be imported."""
        if self._loaded is not None:
            self._loaded.result()

    def __call__(self, name: str) -> Exercise:
        with self._lock:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:
            if name not in self._made:
                self._made[name] = load_exercise(name)  # (a broken module: an ExerciseError naming its file)
            return self._made[name]


def _start_zygotes(zygotes: list, settings: XaiGrade) -> None:
    """Start the assignments' zygotes in the order they are graded, each once the one before it has imported
    what it imports: started all at once, four imports of torch, TensorFlow and transformers shared the two cores with
    the grader's own start and the first assignment's submissions waited for theirs (0.28 s per submission on
    average over a run of 19; one after the other 0.13-0.24 s, 2026-12-07 at load 6-9); the next assignment's zygote
    has the submissions of the one before it to get ready. A zygote a submission asks for first starts then
    (``warm_process``: one per assignment and process, whoever asks first). What a zygote imports is read from
    the exercise's files, not its modules: the first one starts while the grader imports the checks (pdp's
    scikit-learn, Grad-CAM's torch: 0.8-1.2 s, idle), instead of after them."""
    for name, release in zygotes:
        try:
            zygote = warm_process(name, release, settings)
            if zygote is not None:
                zygote.wait_ready()
        except Exception:  # noqa: BLE001 - its submissions start cold and say why (or the grader, what it cannot load)
            pass


def build_context(exercise: Exercise, layout: Layout, settings: XaiGrade, secret: bytes | None = None,
                  sets: set[int] | None = None):
    """The hidden case sets ``sets`` (default: all K) with the reference's results: each computed once
    per seed and kept in the cache, so only the sets some student needs are ever computed."""
    from .parallel import Context, HiddenSet

    secret = secret if secret is not None else course_secret(layout.course_root, settings)
    count = max(1, settings.hidden_sets)
    chosen = sorted(range(count) if sets is None else sets)
    hidden = {index: HiddenSet(*hidden_set(exercise, secret, index, settings.cache_reference)) for index in chosen}
    return Context(exercise.name, hidden, layout.release / exercise.name, count)


def archive_folder(secret_file: Path) -> Path:
    """The folder of an archived secret, which the sandbox covers; refused where covering it would cover what the
    sandbox needs (the Python installation, the kit) or everything ("/")."""
    import sys

    from .config import PROJECT_ROOT

    folder = Path(secret_file).resolve().parent
    needed = [Path(sys.prefix).resolve(), PROJECT_ROOT / "autograder", PROJECT_ROOT / "xaikit"]
    if folder == Path("/") or any(path == folder or folder in path.parents for path in needed):
        raise SystemExit(f"xaigrade: keep the archived secret in a folder of its own (not {folder}): the sandbox "
                         "hides that folder from every submission.")
    return folder


def _autograded_present(layout: Layout, exercise: Exercise, student: str, saved: dict) -> bool:
    """Is the autograded notebook of a finished grading still there? (nbgrader's autograde, a failed
    formgrader ⚡, or a hand may have removed it: then it is graded again.)"""
    if not saved.get("autograded", True):
        return True  # nothing could be run: there never was one
    return (layout.output / "autograded" / student / exercise.name / f"{exercise.notebook}.ipynb").is_file()


def submission_time(layout: Layout, student: str, assignment: str):
    """The submission's time (``submitted/<student>/<assignment>/timestamp.txt``, nbgrader's convention;
    ``xaigrade collect`` writes it from the Moodle archive), or None."""
    from .nbgrader_bridge import _timestamp_of

    return _timestamp_of(layout.submissions / student / assignment)


def _timestamps(layout: Layout, student: str, assignment: str) -> None:
    """nbgrader's feedback knows from ``timestamp.txt`` whether its pages are current: ``generate_feedback``
    (without --force) renews a student's folder only when the autograded folder's time is later than the feedback
    folder's. The autograded folder gets the submission's time (as nbgrader's autograde copies it; the grading
    time when there is none), the feedback folder, which we (re)wrote, a time one second earlier: so a plain
    ``nbgrader generate_feedback`` after xaigrade, and after every regrade, makes nbgrader's page anew (and
    then copies the autograded time over: current until the next grading)."""
    import datetime as dt

    when = submission_time(layout, student, assignment) or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    autograded = layout.output / "autograded" / student / assignment
    if autograded.is_dir():
        _write_atomic(autograded / "timestamp.txt", f"{when:%Y-%m-%d %H:%M:%S.%f} UTC".encode())
    earlier = when - dt.timedelta(seconds=1)
    _write_atomic(layout.output / "feedback" / student / assignment / "timestamp.txt",
                  f"{earlier:%Y-%m-%d %H:%M:%S.%f} UTC".encode())


def _answer_cells(result: SubmissionResult, layout: Layout, exercise: Exercise) -> dict:
    """The cells hand grades belong to, as the autograded notebook has them; when nothing could be read, the
    release's cells, each unanswered (so their points are 0, as for a blank answer)."""
    if result.executed is not None:
        return graded_cells(result.executed)
    release = layout.release / exercise.name / f"{exercise.notebook}.ipynb"
    try:
        cells = graded_cells(nbformat.read(str(release), as_version=4))
    except (OSError, ValueError):
        return {}
    return {name: {**info, "digest": "missing", "blank": True} for name, info in cells.items()}


def _store(result: SubmissionResult, exercise: Exercise, layout: Layout, fingerprint: str | Path | None,
           language: str = "de", pictures=None, secret: str = "", config=None) -> list[dict]:
    """Autograded notebook, gradebook scores, feedback page, then the state file (last: marks it done).
    Returns the hand grades to look at again (``record_scores``)."""
    from .feedback import PAGE_NAME, link_cell, write_feedback_page

    started, cpu = time.monotonic(), time.thread_time()
    assignment, student = exercise.name, result.student
    if not isinstance(fingerprint, str):  # older callers passed the notebook's path
        fingerprint = _fingerprint(fingerprint)
    previous = read_state(layout, student, assignment)
    autograded_dir = layout.output / "autograded" / student / assignment
    nbgrader_page = None
    if result.executed is not None:
        executed = result.executed
        if not any(cell.metadata.get("xaigrade_link") for cell in executed.cells):
            executed.cells.insert(0, link_cell(language))  # nbgrader's feedback HTML then links our page
        _write_atomic(autograded_dir / f"{exercise.notebook}.ipynb", nbformat.writes(executed).encode("utf-8"))
        nbgrader_page = f"{exercise.notebook}.html"
    cells = _answer_cells(result, layout, exercise)
    task_scores = result.task_scores()
    review = record_scores(layout.db_url, assignment, exercise.notebook, student, task_scores, cells,
                           _previous_cells(previous), language, layout.submissions / student / assignment, config)
    page = write_feedback_page(result, exercise, layout.output / "feedback" / student / assignment / PAGE_NAME,
                               language, pictures, nbgrader_page,
                               hand=hand_grades(layout.db_url, assignment, student),
                               release=_release_nb(layout, exercise))
    if autograded_dir.exists():  # nbgrader generate_feedback copies it from here beside its own HTML
        _write_atomic(autograded_dir / PAGE_NAME, page.read_bytes())
    _timestamps(layout, student, assignment)
    if result.timings:  # (the writer thread's time, beside the sandboxes; the state file itself not counted)
        result.timings["writing"] = time.monotonic() - started
        result.timings["writing_cpu"] = time.thread_time() - cpu
        from .parallel import process_age

        result.timings["written_at"] = process_age()
    state = layout.state_file(student, assignment)
    _write_atomic(state, json.dumps({
        "fingerprint": fingerprint, "report": {**result.report(), "_secret": secret}, "score": result.score,
        "max_score": result.max_score, "seconds": round(result.seconds, 2), "language": language, "secret": secret,
        "autograded": result.executed is not None, "cells": {name: info["digest"] for name, info in cells.items()},
        "auto": task_scores, "review": review}, indent=1).encode("utf-8"))
    return review


def _previous_cells(previous: dict | None) -> dict | None:
    """The last grading's cells and automatic scores, as ``record_scores`` compares them (None: never graded,
    or graded before the state held them: then a hand grade already there is looked at again)."""
    if not previous or "cells" not in previous:
        return None
    return {"cells": previous.get("cells") or {}, "auto": previous.get("auto") or {}}


def _release_nb(layout: Layout, exercise: Exercise):
    try:
        return nbformat.read(str(layout.release / exercise.name / f"{exercise.notebook}.ipynb"), as_version=4)
    except (OSError, ValueError):
        return None
