"""Grading many submissions at once: in this process, in worker processes on this machine
(``--workers N``) or on an existing Dask cluster (``--dask ADDRESS``).

Workers only grade: they get the notebook (as bytes for Dask, so they need no access to the course
directory), the assignment's hidden cases with the reference results (pickled once per assignment)
and the release folder's files, and return the verdicts, notes, the executed notebook and the
feedback pictures. The gradebook, autograded notebooks, feedback pages and state files are written
by the caller in the main process only, one submission after the other (no "database is locked").
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import multiprocessing
import os
import pickle
import shutil
import tempfile
import threading
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Executor, ProcessPoolExecutor, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from .checks import Exercise
from .config import XaiGrade
from .feedback import Pictures, collect_pictures
from .grading import SubmissionResult, could_not_run, grade_notebook
from .messages import render, text
from .runner.sandbox import prestarting, stop_running_jobs
from .secret import set_name

@dataclass
class Task:
    """One submission to grade: a path on this machine or the notebook's bytes (for remote workers)."""

    assignment: str
    student: str
    fingerprint: str
    path: str | None = None
    data: bytes | None = None
    filename: str = "submission.ipynb"
    hidden_set: int = 0  # which of the assignment's hidden case sets this student gets (autograder/secret.py)

    def shipped(self, max_bytes: int | None = None) -> "Task":
        """The same task carrying the notebook's bytes instead of a path; a file that is no regular
        file (symlink, FIFO: never waited on) or larger than ``max_bytes`` (default: the
        ``max_notebook_mb`` setting's default) keeps its path, for the worker's grader to refuse."""
        from .safe_outputs import RefusedFile, read_student_file

        if not self.path:
            return Task(self.assignment, self.student, self.fingerprint, None, None, self.filename, self.hidden_set)
        if max_bytes is None:
            max_bytes = XaiGrade.class_traits()["max_notebook_mb"].default_value * 2**20
        try:
            data = read_student_file(self.path, max_bytes)
        except (RefusedFile, OSError):
            return Task(self.assignment, self.student, self.fingerprint, self.path, None, Path(self.path).name,
                        self.hidden_set)
        return Task(self.assignment, self.student, self.fingerprint, None, data, Path(self.path).name, self.hidden_set)


@dataclass
class ReleaseFiles:
    """The release folder of an assignment as bytes, unpacked once per worker process."""

    assignment: str
    files: dict  # relative path -> bytes

    @classmethod
    def read(cls, folder: Path, assignment: str) -> "ReleaseFiles":
        return cls(assignment, {str(p.relative_to(folder)): p.read_bytes()
                                for p in sorted(folder.rglob("*")) if p.is_file()})

    @property
    def digest(self) -> str:
        hasher = hashlib.sha256()
        for name, data in sorted(self.files.items()):
            hasher.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
        return hasher.hexdigest()[:16]


@dataclass
class Context:
    """What every submission of one assignment is graded against (built once, in the main process)."""

    assignment: str
    sets: dict  # hidden case set index -> HiddenSet (only the sets some student of this batch needs)
    release: Path | ReleaseFiles
    set_count: int = 1  # K, for naming a set ("3/8")

    def hidden(self, index: int) -> "HiddenSet":
        return self.sets[index]

    def blob(self) -> "ContextBlob":
        payload = pickle.dumps((self.sets, self.release, self.set_count), protocol=5)
        return ContextBlob(f"{self.assignment}-{hashlib.sha256(payload).hexdigest()[:16]}", self.assignment, payload)


@dataclass
class HiddenSet:
    """One hidden case set: its cases with the reference's and every variant's results."""

    cases: list
    expected: dict
    variants: dict


@dataclass
class ContextBlob:
    """A pickled Context: sent to workers as bytes, unpickled once per worker process."""

    key: str
    assignment: str
    payload: bytes


@dataclass
class Graded:
    task: Task
    result: SubmissionResult
    pictures: Pictures = field(default_factory=Pictures)
    lost: bool = False  # the worker died: nothing is recorded, the next run grades it again


def settings_values(settings: XaiGrade) -> dict:
    return {name: getattr(settings, name) for name in settings.trait_names(config=True)}


def make_settings(values: dict | XaiGrade) -> XaiGrade:
    return values if isinstance(values, XaiGrade) else XaiGrade(**values)


def failed(result: SubmissionResult) -> bool:
    """The notebook could not be run at all (unreadable, missing, grader error, worker lost)."""
    return result.executed is None


# --- the grading of one submission (runs wherever the work is done) --------------------------

def process_age() -> float:
    """Seconds since this process started (the ``*_at`` timings: where in the run a submission's slot and
    writing lay, for the benchmark's account of start-up, idle sandboxes and the tail)."""
    try:
        with open("/proc/self/stat", "rb") as handle:
            started = int(handle.read().rsplit(b")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")
        with open("/proc/uptime", "rb") as handle:
            return max(0.0, float(handle.read().split()[0]) - started)
    except (OSError, ValueError, IndexError):
        return 0.0


_contexts: dict[str, Context] = {}
_release_dirs: dict[str, Path] = {}
_lock = threading.Lock()


def _context(item: Context | ContextBlob) -> Context:
    if isinstance(item, Context):
        return item
    with _lock:
        if item.key not in _contexts:
            sets, release, set_count = pickle.loads(item.payload)
            _contexts.clear()  # one assignment at a time is enough; keeps worker memory flat
            _contexts[item.key] = Context(item.assignment, sets, release, set_count)
        return _contexts[item.key]


def _release_dir(release: Path | ReleaseFiles) -> Path:
    if not isinstance(release, ReleaseFiles):
        return Path(release)
    key = f"{release.assignment}-{release.digest}"
    with _lock:
        if key not in _release_dirs or not _release_dirs[key].exists():
            try:  # on a Dask worker its own scratch space, removed with the worker
                from distributed import get_worker

                base = Path(get_worker().local_directory)
            except (ImportError, ValueError):
                base = Path(tempfile.mkdtemp(prefix="xaigrade-release-"))
                atexit.register(shutil.rmtree, base, True)
            folder = base / "xaigrade-release" / key / release.assignment
            for name, data in release.files.items():
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                (folder / name).write_bytes(data)
            _release_dirs[key] = folder
        return _release_dirs[key]


def grade_safely(exercise: Exercise, student: str, path: Path | None, release_dir: Path, cases, expected,
                 variants, settings: XaiGrade, private_paths: list[str] | None = None) -> SubmissionResult:
    """Grade one notebook; a missing notebook or a bug of ours becomes a message, never an exception."""
    language = settings.language
    if path is None:
        note = render("notebook_unreadable", {"reason": text("batch.no_notebook", language)}, language)
        return could_not_run(exercise, student, cases, expected, variants, note, language)
    try:
        return grade_notebook(exercise, path, student, release_dir, cases, expected, variants, settings,
                              private_paths=private_paths)
    except Exception:  # a bug of ours must not cost the other students their grades
        detail = traceback.format_exc(limit=3)
        return could_not_run(exercise, student, cases, expected, variants, text("batch.grader_error", language),
                             language, notes=[f"grader error: {detail}"])


def grade_task(task: Task, context: Context | ContextBlob, settings: dict | XaiGrade,
               private_paths: list[str] | None = None, pictures: bool = True, draw_now: bool = True) -> Graded:
    """Grade one submission and draw its feedback pictures; returns data only, writes nothing lasting.

    ``draw_now=False``: keep the probe data instead, for ``draw_pictures`` later (in another thread)."""
    settings = make_settings(settings)
    context = _context(context)
    exercise = Exercise(task.assignment)
    release_dir = _release_dir(context.release)
    with tempfile.TemporaryDirectory(prefix="xaigrade-submission-") as scratch:
        path = Path(task.path) if task.path else None
        if task.data is not None:
            path = Path(scratch) / Path(task.filename).name
            path.write_bytes(task.data)
        hidden = context.hidden(task.hidden_set)
        started, began_at = time.monotonic(), process_age()
        result = grade_safely(exercise, task.student, path, release_dir, hidden.cases, hidden.expected,
                              hidden.variants, settings, private_paths)
        # the submission's time in its slot: everything but its cells, probe and checks is overhead
        result.timings["slot"] = time.monotonic() - started
        result.timings["slot_began_at"], result.timings["slot_ended_at"] = began_at, process_age()
    result.hidden_set = set_name(task.hidden_set, context.set_count)
    result.notes.append(render("hidden_set", {"name": result.hidden_set}, settings.language))
    graded = Graded(Task(task.assignment, task.student, task.fingerprint, task.path, None, task.filename,
                         task.hidden_set), result)
    if draw_now:
        draw_pictures(graded, context, settings.language, pictures)
    return graded


def draw_pictures(graded: Graded, context: Context, language: str, pictures: bool = True) -> Graded:
    if pictures:
        started = time.monotonic()
        hidden = context.hidden(graded.task.hidden_set)
        graded.pictures = collect_pictures(Exercise(graded.task.assignment), hidden.cases, graded.result,
                                           hidden.expected, language)
        graded.result.timings["pictures"] = time.monotonic() - started
        graded.result.timings["pictures_cpu"] = graded.pictures.cpu
    graded.result.case_results = {}  # the pictures hold what the page needs; keep the return small
    return graded


def lost_result(task: Task, context: Context, error: BaseException, language: str) -> Graded:
    note = text("batch.worker_lost", language, error=f"{type(error).__name__}: {error}"[:200])
    hidden = context.hidden(task.hidden_set)
    result = could_not_run(Exercise(task.assignment), task.student, hidden.cases, hidden.expected, hidden.variants,
                           note, language)
    return Graded(task, result, lost=True)


# --- where the work is done ------------------------------------------------------------------

Job = tuple[Context, list[Task]]


def run_serial(jobs: Iterable[Job], settings: XaiGrade, private_paths, on_done: Callable[[Graded], None],
               pictures: bool = True) -> None:
    """Grade in this process: ``settings.sandboxes_at_once`` submissions run in their sandboxes at the
    same time (the threads here only wait for them); one writer thread draws each graded submission's
    pictures and calls ``on_done`` (gradebook, pages, state file), in the order they finish: as soon as each
    finishes, also while ``jobs`` still waits for a hidden set the next submissions need. Each slot's next
    warm job starts while its current one runs (``sandbox.prestarting``; the unused ones end with the batch)."""
    at_once = max(1, settings.sandboxes_at_once)
    with prestarting(at_once), \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="xaigrade-writer") as writer, \
            ThreadPoolExecutor(max_workers=at_once, thread_name_prefix="xaigrade-sandbox") as sandboxes:
        lock = threading.Lock()
        running: set = set()  # submissions not yet handed to the writer (finished results are not kept: memory)
        written: list = []  # the writer's futures not yet looked at
        stopping = threading.Event()

        def finish(future, context):
            graded = future.result()  # (grade_task turns every problem of a submission into a result)
            on_done(draw_pictures(graded, context, settings.language, pictures))

        def hand_to_writer(future, context):
            with lock:
                running.discard(future)
                if not stopping.is_set() and not future.cancelled():
                    written.append(writer.submit(finish, future, context))

        def check_written() -> None:
            with lock:
                done = [w for w in written if w.done()]
                for future in done:
                    written.remove(future)
            for future in done:
                future.result()  # a failure of ours stops the batch, as it would without threads

        try:
            for context, tasks in jobs:  # (may wait for a hidden set; finished submissions are written meanwhile)
                for task in tasks:
                    future = sandboxes.submit(grade_task, task, context, settings, private_paths, pictures, False)
                    with lock:
                        running.add(future)
                    future.add_done_callback(functools.partial(hand_to_writer, context=context))
                check_written()
            while True:
                with lock:
                    pending = set(running) | set(written)
                if not pending:
                    break
                wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
                check_written()
        except BaseException:  # Ctrl-C or a failure of ours: stop now; what is not stored is graded next run
            with lock:  # (no callback hands a result to the writer after this)
                stopping.set()
            sandboxes.shutdown(wait=False, cancel_futures=True)
            writer.shutdown(wait=False, cancel_futures=True)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with lock:
                    if all(f.done() for f in running):
                        break
                stop_running_jobs()  # (again: a job may have been starting)
                time.sleep(0.1)
            raise


def run_pool(executor: Executor, jobs: Iterable[Job], settings: XaiGrade, private_paths, on_done,
             pictures: bool = True, ship_context: Callable = Context.blob,
             ship_task: Callable[[Task], Task] = lambda task: task) -> None:
    """Grade on a pool of workers behind a standard executor (``concurrent.futures.Executor``): submit every
    submission of every assignment (the next assignment's reference is computed while workers grade), then
    hand each graded one to ``on_done`` as it finishes. A worker that dies costs only its submission: it is
    recorded as lost (not stored), so the next run grades it again.

    ``ship_context``/``ship_task``: what travels to a worker for an assignment and for a submission."""
    values = settings_values(settings)
    pending = {}
    for context, tasks in jobs:
        shipped = ship_context(context)
        for task in tasks:
            pending[executor.submit(grade_task, ship_task(task), shipped, values, private_paths, pictures)] = \
                (task, context)
    for future in as_completed(pending):
        task, context = pending.pop(future)
        try:
            graded = future.result()
            graded.task = task
        except Exception as error:  # the worker process died (e.g. killed): retry next run
            graded = lost_result(task, context, error, settings.language)
        on_done(graded)


def run_processes(jobs: Iterable[Job], settings: XaiGrade, private_paths, on_done, workers: int,
                  pictures: bool = True) -> None:
    """Worker processes on this machine. forkserver: a clean parent that has imported the heavy
    modules once, so workers start fast without inheriting our threads or TensorFlow state."""
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    mp_context = multiprocessing.get_context(method)
    if method == "forkserver":
        mp_context.set_forkserver_preload(["xaikit", "autograder.parallel"])
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp_context) as pool:
        run_pool(pool, jobs, settings, private_paths, on_done, pictures)


def run_dask(jobs: Iterable[Job], settings: XaiGrade, private_paths, on_done, address: str,
             pictures: bool = True) -> None:
    """A Dask cluster, through its client's executor; notebooks, cases and release files travel as data
    (the context once per assignment, scattered to every worker)."""
    from distributed import Client

    def ship_context(context: Context):
        release = context.release if isinstance(context.release, ReleaseFiles) else \
            ReleaseFiles.read(Path(context.release), context.assignment)
        shipped = Context(context.assignment, context.sets, release, context.set_count)
        return client.scatter(shipped.blob(), broadcast=True, hash=False)

    with Client(address, set_as_default=False) as client:
        run_pool(client.get_executor(pure=False), jobs, settings, private_paths, on_done, pictures, ship_context,
                 lambda task: task.shipped(settings.max_notebook_mb * 2**20))


# --- progress --------------------------------------------------------------------------------

class ProgressBar:
    """Live bar on stderr: done/total, submissions that could not run, elapsed and remaining time."""

    def __init__(self, total: int, language: str = "de"):
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        self.language = language
        self.failures = 0
        self.started = time.monotonic()
        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[failures]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                                 console=Console(stderr=True), transient=False)
        self.task = self.progress.add_task(text("batch.grading", language), total=total,
                                           failures=text("batch.failures", language, count=0))

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()

    def advance(self, graded: Graded) -> None:
        self.failures += failed(graded.result) or graded.lost
        result = graded.result
        self.progress.console.print(f"  {result.student}/{result.assignment}: {result.score:g}/{result.max_score:g}"
                                    f" ({result.seconds:.1f} s)", highlight=False)
        self.progress.update(self.task, advance=1, description=f"{text('batch.grading', self.language)} "
                             f"{graded.result.assignment}/{graded.result.student}",
                             failures=text("batch.failures", self.language, count=self.failures))
