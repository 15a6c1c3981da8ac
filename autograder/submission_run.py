"""Running one submission in the sandbox: a fresh job folder filled with the notebook, the release's data
files and the cases; the run (warm from a zygote or cold); what it left, read back and validated by the
grader through ``JobFiles`` only. A step of ``grading.STEPS`` (``run_sandboxed``)."""

from __future__ import annotations

import copy
import pickle
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from xaikit.selfcheck.core import PUBLIC_DATA

from .checks import Case, Exercise
from .config import XaiGrade
from .messages import Message, outcome_message
from .nbgrader_bridge import is_test_cell
from .runner import sandbox
from .runner.results import MAX_JOB_STATUS_BYTES, load_results
from .runner.runtime import read_runtime


def warm_process(exercise: Exercise | str, release_dir: Path, settings: XaiGrade, student_check: bool = False):
    """The zygote to fork this assignment's jobs from, or None (cold start). ``exercise``: the exercise or its
    name (what the zygote imports is read from its files: it can start before the grader imports the exercise).

    Grading owns one per process; a student's `xaigrade check` leaves it running as a daemon for a
    while, so the next check starts warm."""
    if not settings.warm_start or (student_check and settings.check_daemon_seconds <= 0):
        return None  # (a single cold check is as fast as starting a zygote for it)
    from .exercises import declared_warm_start
    from .runner import zygote

    notebook, extra = declared_warm_start(exercise if isinstance(exercise, str) else exercise.name)
    return zygote.for_notebook(release_dir / f"{notebook}.ipynb",
                               daemon_idle=settings.check_daemon_seconds if student_check else None, extra=extra)


def _special(path: Path) -> bool:
    """Sockets, pipes, devices: nothing a notebook reads, and copying them fails."""
    import stat

    try:
        mode = path.lstat().st_mode
    except OSError:
        return True
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode))


def _special_entries(folder: str, names: list[str]) -> set[str]:
    return {name for name in names if _special(Path(folder) / name)}


@dataclass
class SandboxRun:
    """What one submission's run left, read and validated by the grader."""

    results: dict  # case id -> arrays or ProbeError
    executed: object  # the executed notebook, or None
    status: dict  # the executor's status, validated (``results.validate_status``)
    outcome: sandbox.JobOutcome
    problems: list = field(default_factory=list)  # what was wrong with the files the sandbox left (messages)
    runtime: dict = field(default_factory=dict)  # what the submission's process did (``runtime.json``)
    timings: dict = field(default_factory=dict)  # the grader's side of the run, seconds: fill, sandbox, read_back, cleanup


MAX_EXECUTED_BYTES = 32 * 2**20


def _fill_work(work: Path, exercise: Exercise, nb, cases: list[Case], release_dir: Path, settings: XaiGrade,
               demo_sources: frozenset, job_settings: bool = True) -> list[str]:
    """Put what the job needs into its (fresh, empty) work folder; returns the names put there.
    ``job_settings=False``: a job started ahead has its ``job.json`` already (it holds no submission data)."""
    names = []
    for item in release_dir.iterdir():  # data files the notebook reads, not the notebook itself
        if item.suffix == ".ipynb" or item.name == PUBLIC_DATA or _special(item):
            continue
        names.append(item.name)
        if item.is_dir():
            shutil.copytree(item, work / item.name, ignore=_special_entries)
        else:
            shutil.copy2(item, work / item.name)
    runnable = copy.deepcopy(nb)
    for cell in runnable.cells:
        if is_test_cell(cell):
            cell.metadata["xaigrade_skip"] = True  # hidden checks replace the public self-tests
        elif cell.cell_type == "code" and cell.source.strip() in demo_sources:
            cell.metadata["xaigrade_keep"] = True
    nbformat.write(runnable, str(work / "notebook.ipynb"))
    (work / "cases.pkl").write_bytes(_pickled_cases(exercise, cases, settings.max_result_mb))
    if job_settings:
        sandbox.write_job(work, settings)
    return names + ["notebook.ipynb", "cases.pkl"]


_pickled: dict = {}  # id(cases) -> (cases, max_result_mb, bytes): the cases of a hidden set, pickled once
_pickled_lock = threading.Lock()


def _pickled_cases(exercise: Exercise, cases: list[Case], max_result_mb: int) -> bytes:
    """What the probe reads (``cases.pkl``), pickled once per hidden set and limit, not once per submission (the
    cases hold models and images: pickling them was most of filling a job folder). Keyed by the list's identity,
    which the entry keeps alive; a list changed in place after its first use would be missed, and none is."""
    with _pickled_lock:
        kept = _pickled.get(id(cases))
        if kept is not None and kept[0] is cases and kept[1] == max_result_mb:
            return kept[2]
    probe_functions = getattr(exercise.module, "PROBE_FUNCTIONS", {})
    data = pickle.dumps([{"id": c.id, "probe": exercise.probe_path(c), "inputs": c.inputs,
                          "function": probe_functions.get(c.probe, c.probe),
                          "max_bytes": max_result_mb * 2**20 // 2} for c in cases])
    with _pickled_lock:
        if len(_pickled) >= 32:  # (a long-lived process, e.g. a Dask worker, grading many assignments)
            _pickled.clear()
        _pickled[id(cases)] = (cases, max_result_mb, data)
    return data


def _read_run(job: sandbox.JobFolder, cases: list[Case], settings: XaiGrade, outcome) -> SandboxRun:
    """Everything the grader takes from the work folder, through ``JobFiles`` only."""
    from .runner.results import JobFiles, UnsafeFile, validate_status

    problems: list[Message] = []
    status, executed, runtime = {}, None, {}
    with JobFiles.open(job.work) as work:
        if work.exists("status.json"):
            try:
                status, wrong = validate_status(work.read("status.json", MAX_JOB_STATUS_BYTES))
                problems += wrong
            except UnsafeFile as error:
                problems.append(error.message)
        if work.exists("executed.ipynb"):
            try:
                executed = nbformat.reads(work.read("executed.ipynb", MAX_EXECUTED_BYTES).decode("utf-8"),
                                          as_version=4)
            except UnsafeFile as error:
                problems.append(error.message)
            except (UnicodeDecodeError, ValueError, TypeError, KeyError, AttributeError) as error:
                problems.append(Message("file.not_notebook", name="executed.ipynb", error=type(error).__name__))
        results_dir = work.folder("results")
        try:
            results = load_results(results_dir, [c.id for c in cases], settings.max_result_mb * 2**20,
                                   outcome_message(outcome.kind, outcome.params))
            # (whether the probe ran, the record is there and complete: the grader decides, runtime.read_runtime)
            runtime = read_runtime(results_dir, ended=outcome.kind is None)
        finally:
            if results_dir is not None:
                results_dir.close()
    return SandboxRun(results, executed, status, outcome, problems, runtime)


def _ran_anything(job: sandbox.JobFolder) -> bool:
    from .runner.results import JobFiles

    with JobFiles.open(job.work) as work:
        if work.exists("status.json"):
            return True
        results = work.folder("results")
        if results is None:
            return False
        try:
            return bool(results.names(limit=1))
        finally:
            results.close()


def run_in_sandbox(exercise: Exercise, nb, cases: list[Case], release_dir: Path,
                   settings: XaiGrade, private_paths: list[str] | None = None,
                   student_check: bool = False, demo_sources: frozenset = frozenset()) -> SandboxRun:
    """Execute the notebook and probe in a fresh job folder and read back what it left.

    Cells whose source is one of ``demo_sources`` (unchanged instructor demo cells) are not run;
    they keep the outputs the student submitted, marked as such, for whoever grades by hand."""
    warm = warm_process(exercise, release_dir, settings, student_check)
    timings = {"fill": 0.0, "sandbox": 0.0, "read_back": 0.0, "cleanup": 0.0, "prestart": 0.0, "prestarted": 0.0,
               "attempts": 0.0}
    clock = time.monotonic()

    def lap(key: str) -> None:
        nonlocal clock
        now = time.monotonic()
        timings[key] += now - clock
        clock = now

    for attempt in range(2):
        timings["attempts"] += 1
        # In a batch (``sandbox.prestarting``) a warm job is, where there is one, a job started ahead while another
        # submission ran, taken from the slots' pool; the submission is put into its folder only now that the job
        # is this submission's. Otherwise (the slot's first, a retry) it starts as before; either way, once it
        # runs, the slot's next job is started ahead (``sandbox._started``).
        prestarted = None
        if attempt == 0 and warm is not None and not student_check:
            prestarted = sandbox.take_prestarted(settings, private_paths, warm)
            timings["prestarted"] = float(prestarted is not None)
            lap("prestart")
        job = prestarted.job if prestarted is not None else sandbox.new_job_folder(settings)
        try:
            try:
                names = _fill_work(job.work, exercise, nb, cases, release_dir, settings, demo_sources,
                                   job_settings=prestarted is None)
                if prestarted is not None:
                    prestarted.hand_over(names)
                lap("fill")
                outcome = sandbox.run_job(job, settings, private_paths, warm=warm, prestarted=prestarted)
            except BaseException as error:
                if prestarted is not None:
                    prestarted.running.stop()  # (ended and reaped if it still runs)
                    prestarted.release()
                if isinstance(error, sandbox.PrestartLost):
                    continue  # its zygote died under it: once more from a fresh start
                raise
            lap("sandbox")
            if attempt == 0 and outcome.kind not in (None, "timeout") and not _ran_anything(job):
                # The executor died before running anything of the submission (e.g. the kernel did not
                # start in time on a loaded machine): that is ours, not the student's; once more, in a
                # fresh folder (nothing the first attempt left is reused).
                continue
            run = _read_run(job, cases, settings, outcome)
            lap("read_back")
            timings["zygote_wait"] = outcome.zygote_wait
            if outcome.ready_at_go is not None:
                timings["ready_at_go"] = float(outcome.ready_at_go)
            run.timings = timings  # (the same dict: the folder's removal below is added to it)
            return run
        finally:
            job.remove()
            lap("cleanup")
    raise AssertionError("not reached")
