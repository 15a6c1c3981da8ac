"""`xaigrade grade`: every submission of every assignment, resumable, one failure never stops the batch."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG

import nbformat

from .checks import Exercise
from .config import XaiGrade
from .grading import SubmissionResult
from .references import hidden_set
from .secret import course_secret, secret_path, set_for
from .nbgrader_bridge import record_scores, register_assignment
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


def _fingerprint(path: Path | None) -> str:
    if path is None or not os.path.lexists(path):
        return "missing"
    stat = path.lstat()  # (of the entry itself: a link's target may change under it)
    kind = "" if S_ISREG(stat.st_mode) else f"{stat.st_mode:o}:"
    return f"{kind}{stat.st_size}:{stat.st_mtime_ns}"


def grade_batch(assignments: list[str], layout: Layout, settings: XaiGrade, force: bool = False,
                progress=None, workers: int = 1, dask: str | None = None, progress_bar: bool = False,
                pictures: bool = True) -> dict:
    """Grade all submissions; returns ``{student: {assignment: {check_id: {...}}}}``.

    A finished submission leaves a state file written after its gradebook commit; a rerun
    skips it (unless the notebook changed or ``force``), so a killed batch resumes.
    ``workers`` > 1 grades in worker processes, ``dask`` (a scheduler address) on a Dask cluster;
    either way the results are written here, in this process, one after the other.
    """
    from .parallel import ProgressBar, Task, run_dask, run_processes, run_serial

    report: dict = {}
    secret = course_secret(layout.course_root, settings)  # refuses a public seed before anything runs
    layout.output.mkdir(parents=True, exist_ok=True)
    # nbgrader's gradebook learns the assignments in a thread (about a second each); results are
    # stored only after it is done (``done`` waits)
    gradebook_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="xaigrade-gradebook")
    registration = gradebook_thread.submit(lambda: [register_assignment(assignment, layout.course_root / "source",
                                                                        layout.db_url) for assignment in assignments])
    gradebook_thread.shutdown(wait=False)  # (the thread ends after this one task)
    plan = []
    grading_here = workers <= 1 and not dask
    for assignment in assignments:
        exercise = Exercise(assignment)
        tasks = []
        for student, path in find_submissions(layout, assignment):
            state = layout.state_file(student, assignment)
            if not force and state.exists():
                saved = json.loads(state.read_text())
                if saved.get("fingerprint") == _fingerprint(path):
                    report.setdefault(student, {})[assignment] = saved["report"]
                    continue
            tasks.append(Task(assignment, student, _fingerprint(path), str(path) if path else None,
                              hidden_set=set_for(secret, assignment, student, settings.hidden_sets)))
        if tasks:
            plan.append((exercise, tasks))
            if grading_here:
                # its zygote imports at once, while the other checks modules, the references and the
                # earlier assignments' grading go on (a zygote waits for nothing but its imports)
                warm_process(exercise, layout.release / assignment, settings)
    exercises = {exercise.name: exercise for exercise, _ in plan}
    # the whole course too (source/ holds the solutions): it need not be inside the installed project
    private = [str(layout.submissions), str(layout.output), str(layout.course_root),
               str(secret_path(layout.course_root).parent)]
    bar = ProgressBar(sum(len(tasks) for _, tasks in plan), settings.language) if progress_bar else None

    def jobs():  # lazily: one assignment's reference is computed when its turn comes
        for exercise, tasks in plan:
            yield build_context(exercise, layout, settings, secret, {task.hidden_set for task in tasks}), tasks

    def done(graded) -> None:  # always in this process: the only writer of gradebook and files
        registration.result()  # raises what the registration raised
        result = graded.result
        if not graded.lost:
            _store(result, exercises[result.assignment], layout, graded.task.fingerprint, settings.language,
                   graded.pictures)
        report.setdefault(result.student, {})[result.assignment] = result.report()
        if bar:
            bar.advance(graded)
        if progress:
            progress(result)

    with bar or contextlib.nullcontext():
        if dask:
            run_dask(jobs(), settings, private, done, dask, pictures)
        elif workers > 1:
            run_processes(jobs(), settings, private, done, workers, pictures)
        else:
            run_serial(jobs(), settings, private, done, pictures)
    registration.result()  # (also when nothing was left to grade)
    return report


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


def _store(result: SubmissionResult, exercise: Exercise, layout: Layout, fingerprint: str | Path | None,
           language: str = "de", pictures=None) -> None:
    """Autograded notebook, gradebook scores, feedback page, then the state file (last: marks it done)."""
    from .feedback import PAGE_NAME, link_cell, write_feedback_page

    assignment, student = exercise.name, result.student
    if not isinstance(fingerprint, str):  # older callers passed the notebook's path
        fingerprint = _fingerprint(fingerprint)
    autograded_dir = layout.output / "autograded" / student / assignment
    nbgrader_page = None
    if result.executed is not None:
        autograded_dir.mkdir(parents=True, exist_ok=True)
        executed = result.executed
        if not any(cell.metadata.get("xaigrade_link") for cell in executed.cells):
            executed.cells.insert(0, link_cell(language))  # nbgrader's feedback HTML then links our page
        nbformat.write(executed, str(autograded_dir / f"{exercise.notebook}.ipynb"))
        nbgrader_page = f"{exercise.notebook}.html"
    record_scores(layout.db_url, assignment, exercise.notebook, student, result.task_scores())
    page = write_feedback_page(result, exercise, layout.output / "feedback" / student / assignment / PAGE_NAME,
                               language, pictures, nbgrader_page)
    if autograded_dir.exists():  # nbgrader generate_feedback copies it from here beside its own HTML
        shutil.copyfile(page, autograded_dir / PAGE_NAME)
    state = layout.state_file(student, assignment)
    state.parent.mkdir(parents=True, exist_ok=True)
    temporary = state.with_suffix(".tmp")
    temporary.write_text(json.dumps({"fingerprint": fingerprint, "report": result.report(),
                                     "score": result.score, "max_score": result.max_score,
                                     "seconds": round(result.seconds, 2), "language": language}, indent=1))
    os.replace(temporary, state)  # atomic: a kill leaves either no state or a whole one
