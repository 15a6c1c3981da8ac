"""Grade one submission, as a sequence of small steps (``STEPS``, after nbgrader's preprocessors):

    validate → restore test cells → scan code → run in the sandbox → evaluate → annotate

Each step takes the submission's ``Grading`` and adds what it found (notes, flags, the sandbox's
results, verdicts, the annotated notebook). A step that finds the notebook cannot be graded at all
raises ``NotebookProblem``; the result is then ``could_not_run``'s, as for every other submission that
did not run. The reference results the verdicts compare with come from ``references.py``."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from xaikit.selfcheck.core import PUBLIC_DATA, PublicData, format_line, load_public  # noqa: F401

from .checks import Case, Exercise, ProbeError, Verdict, evaluate
from .config import XaiGrade
from .messages import outcome_message, render, text
from .nbgrader_bridge import grade_cells, impose_release_metadata, is_test_cell
# (moved to references.py; still importable from here for the callers that name them so)
from .references import (MAX_SET_ATTEMPTS, blind_spots, call_probe, compute_reference, disk_cached,  # noqa: F401
                         hidden_context, hidden_set, pack_public, pin_threads, public_cases, reference_module,
                         unpack_public)
from .runner.runtime import flags_from_runtime
from .runner.scan import describe as describe_flag
from .runner.scan import scan_notebook
from .submission_run import SandboxRun, run_in_sandbox, warm_process  # noqa: F401  (warm_process: for callers)


class NotebookProblem(Exception):
    """The submission cannot be graded at all (not JSON, wrong assignment, empty)."""

    def __init__(self, key: str, params: dict):
        super().__init__(key)
        self.key, self.params = key, params


@dataclass
class SubmissionResult:
    student: str
    assignment: str
    verdicts: list[Verdict]
    notes: list[str] = field(default_factory=list)
    flags: list[dict] = field(default_factory=list)  # suspicious code, for the instructor
    seconds: float = 0.0
    executed: object = None  # the executed notebook (nbformat), if it ran
    case_results: dict = field(default_factory=dict)  # probe data per case id (for the feedback pictures)
    timings: dict = field(default_factory=dict)  # seconds: kernel_start, student_cells, probe, checks
    hidden_set: str | None = None  # which hidden case set it was graded on, e.g. "3/8" (autograder/secret.py)
    warm_fallback: list = field(default_factory=list)  # why it started cold although a warm start was asked for

    @property
    def score(self) -> float:
        return sum(v.score for v in self.verdicts)

    @property
    def max_score(self) -> float:
        return sum(v.max_score for v in self.verdicts)

    def task_scores(self) -> dict[str, float]:
        scores: dict[str, float] = {}
        for verdict in self.verdicts:
            scores[verdict.task] = scores.get(verdict.task, 0.0) + verdict.score
        return scores

    def report(self) -> dict:
        report = {v.check_id: v.as_dict() for v in self.verdicts}
        if self.notes:
            report["_notes"] = list(self.notes)
        if self.flags:
            report["_flags"] = list(self.flags)
        if self.timings:
            report["_timings"] = {k: round(v, 3) for k, v in self.timings.items()}
        if self.hidden_set:
            report["_hidden_set"] = self.hidden_set
        if self.warm_fallback:
            report["_warm_fallback"] = list(self.warm_fallback)
        return report


def could_not_run(exercise: Exercise, student: str, cases: list[Case], expected: dict, variants: dict,
                  reason: str, language: str, public_only: bool = False, notes: list[str] | None = None,
                  seconds: float = 0.0) -> SubmissionResult:
    """The result of a submission that did not run at all (unreadable notebook, none handed in, a grader
    error, a lost worker): every check fails with ``reason``; ``notes`` default to the reason itself."""
    not_run = {case.id: ProbeError("not_run", {"reason": reason}) for case in cases}
    verdicts = evaluate(exercise, cases, not_run, expected, variants, language, public_only)
    return SubmissionResult(student, exercise.name, verdicts, [reason] if notes is None else notes, seconds=seconds)


# --- validating the notebook and restoring its test cells ---------------------------------------

def read_submission(path: Path, max_mb: int | None = None):
    """The submitted notebook, parsed and validated by nbformat.

    The file is read only if it is a regular file (no symlink followed, no FIFO waited on) of at most
    ``max_mb`` MiB (default: the ``max_notebook_mb`` setting's default), and parsed by nbformat only if
    its JSON holds a bounded number of values: junk metadata would cost the grader GiB and minutes."""
    from .safe_outputs import MAX_JSON_VALUES, RefusedFile, parse_notebook_json, read_student_file

    limit_mb = max_mb if max_mb is not None else XaiGrade.class_traits()["max_notebook_mb"].default_value
    try:
        try:
            data = read_student_file(path, limit_mb * 2**20)
        except RefusedFile as refused:
            if refused.reason == "too_large":
                raise NotebookProblem("notebook_too_large", {"size": refused.size / 2**20, "limit": limit_mb}) from None
            reason = "keine reguläre Datei / not a regular file" if refused.reason == "not_regular" else \
                "Datei fehlt / file missing"
            raise NotebookProblem("notebook_unreadable", {"reason": reason}) from None
        if not data:
            raise NotebookProblem("notebook_unreadable", {"reason": "leere Datei"})
        try:
            parse_notebook_json(data, MAX_JSON_VALUES)
        except RefusedFile:
            raise NotebookProblem("notebook_too_complex", {"limit": MAX_JSON_VALUES}) from None
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        del data
        nbformat.validate(nb)
    except NotebookProblem:
        raise
    except Exception as error:
        reason = f"{type(error).__name__}: {str(error).splitlines()[0][:150] if str(error) else ''}"
        raise NotebookProblem("notebook_unreadable", {"reason": reason}) from None
    return nb


def restored_test_cells(exercise: Exercise, nb, release_nb) -> tuple[object, list[tuple[str, dict]]]:
    """``nb`` with the release's nbgrader metadata on its cells (``impose_release_metadata``: grade ids,
    points, cell types are the release's, nbgrader metadata the release does not have is removed) and
    every test cell of the release as released (put back where missing or changed), and notes on what
    was restored; a notebook sharing no grade id with the release is another assignment's."""
    matched, notes = impose_release_metadata(nb, release_nb)
    if not matched:
        raise NotebookProblem("notebook_wrong_assignment", {"assignment": exercise.name})
    release_cells = grade_cells(release_nb)
    submitted_cells = grade_cells(nb)
    for grade_id, info in release_cells.items():
        if not is_test_cell(info["cell"]):
            continue
        mine = submitted_cells.get(grade_id)
        if mine is None:
            nb.cells.insert(min(info["index"], len(nb.cells)), copy.deepcopy(info["cell"]))
            notes.append(("test_cell_restored", {"cell": grade_id}))
        elif mine["cell"].source.strip() != info["cell"].source.strip() or not is_test_cell(mine["cell"]):
            nb.cells[mine["index"]] = copy.deepcopy(info["cell"])
            notes.append(("test_cell_restored", {"cell": grade_id}))
        submitted_cells = grade_cells(nb)
    return nb, notes


def prepare_notebook(exercise: Exercise, path: Path, release_nb,
                     max_mb: int | None = None) -> tuple[object, list[tuple[str, dict]]]:
    """The submission with its test cells restored from the release; notes on what was restored
    (the steps ``validate`` and ``restore_test_cells`` in one call)."""
    return restored_test_cells(exercise, read_submission(path, max_mb), release_nb)


def is_demo_cell(cell) -> bool:
    """An instructor's demonstration cell (``"xaigrade": {"demo": true}`` in its metadata): it only
    shows things (plots, comparisons) that no check and no later cell needs."""
    return cell.get("cell_type") == "code" and cell.get("metadata", {}).get("xaigrade", {}).get("demo") is True


# --- one submission's grading, step by step ----------------------------------------------------------

@dataclass
class Grading:
    """One submission on its way through ``STEPS``: what the steps need, and what each leaves for the next."""

    exercise: Exercise
    student: str
    path: Path
    release_dir: Path
    release_nb: object
    cases: list[Case]
    expected: dict
    variants: dict
    settings: XaiGrade
    public_only: bool = False  # a student's `xaigrade check`: public checks only
    private_paths: list[str] | None = None
    nb: object = None  # the submission (validated, then with its test cells restored)
    notes: list[str] = field(default_factory=list)
    flags: list[dict] = field(default_factory=list)
    run: SandboxRun | None = None
    timings: dict = field(default_factory=dict)
    warm_fallback: list = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    autograded: object = None
    started: float = field(default_factory=time.monotonic)

    @property
    def language(self) -> str:
        return self.settings.language

    def result(self) -> SubmissionResult:
        return SubmissionResult(self.student, self.exercise.name, self.verdicts, self.notes, self.flags,
                                time.monotonic() - self.started, self.autograded, self.run.results, self.timings,
                                warm_fallback=self.warm_fallback)


def validate(grading: Grading) -> None:
    """Read and parse the file, within its limits (``NotebookProblem`` when it cannot be graded)."""
    grading.nb = read_submission(grading.path, max_mb=grading.settings.max_notebook_mb)


def restore_test_cells(grading: Grading) -> None:
    """The release's test cells replace the submission's (the hidden checks count, not edited self-tests)."""
    grading.nb, restored = restored_test_cells(grading.exercise, grading.nb, grading.release_nb)
    grading.notes += [render(key, params, grading.language) for key, params in restored]


def scan_code(grading: Grading) -> None:
    """Flag suspicious code of the student's for the instructor (the instructor's own code is not flagged)."""
    given = {cell.source.strip() for cell in grading.release_nb.cells}
    grading.flags = scan_notebook(grading.nb, lambda cell: is_test_cell(cell) or cell.source.strip() in given)
    grading.notes += [describe_flag(flag, grading.language) for flag in grading.flags]


def run_sandboxed(grading: Grading) -> None:
    """Run the notebook and the probe in the sandbox; note how the run went (limits, crashes, cell errors)."""
    exercise, settings, notes, language = grading.exercise, grading.settings, grading.notes, grading.language
    demo_sources = frozenset() if settings.rerun_demo_cells else \
        frozenset(cell.source.strip() for cell in grading.release_nb.cells if is_demo_cell(cell))
    run = run_in_sandbox(exercise, grading.nb, grading.cases, grading.release_dir, settings, grading.private_paths,
                         student_check=grading.public_only, demo_sources=demo_sources)
    grading.run = run
    status = run.status
    killed = outcome_message(run.outcome.kind, run.outcome.params)
    if killed:
        notes.append(render("sandbox_killed", {"reason": killed}, language))
    if run.problems:
        detail = "; ".join(problem.render(language) for problem in run.problems)[:300]
        notes.append(render("sandbox_files_invalid", {"detail": detail}, language))
    runtime_flags = flags_from_runtime(run.runtime)
    grading.flags += [flag for flag in runtime_flags if flag not in grading.flags]
    notes += [describe_flag(flag, language) for flag in runtime_flags]
    for death in status.get("kernel_deaths", []):
        notes.append(render("kernel_died", {"index": death["index"], "reason": death["reason"][:120]}, language))
    for timeout in status.get("cell_timeouts", [])[:5]:
        notes.append(render("cell_timeout", {"index": timeout["index"], "seconds": timeout["seconds"]}, language))
    for error in status.get("cell_errors", [])[:5]:
        notes.append(render("cell_error", {"index": error["index"], "error": error["error"]}, language))
    grading.timings.update(status.get("timings", {}))
    grading.timings.update(run.timings)
    grading.warm_fallback = [f"zygote: {run.outcome.warm_fallback}"] if run.outcome.warm_fallback else []
    grading.warm_fallback += [f"kernel start: {reason}" for reason in status.get("kernel_start_failures", [])]


def evaluate_results(grading: Grading) -> None:
    """Compare the probe's data with the reference's on the same cases: the verdicts."""
    checks_started = time.monotonic()
    grading.verdicts = evaluate(grading.exercise, grading.cases, grading.run.results, grading.expected,
                                grading.variants, grading.language, grading.public_only)
    grading.timings["checks"] = time.monotonic() - checks_started
    grading.timings["warm_start"] = float(bool(grading.run.status.get("warm_kernel")))


def annotate_notebook(grading: Grading) -> None:
    """The executed notebook (or, if nothing came back, the submission) with the verdicts in its test cells.

    The executed notebook comes from the sandbox: its cells get the release's nbgrader metadata again
    (and graded cells it lacks are added back), so nothing of the submission's metadata reaches formgrader."""
    executed = grading.run.executed
    grading.autograded, restored = annotate(executed if executed is not None else grading.nb, grading.exercise,
                                            grading.verdicts, grading.language, grading.release_nb)
    for note in (render(key, params, grading.language) for key, params in restored):
        if note not in grading.notes:
            grading.notes.append(note)


STEPS = (validate, restore_test_cells, scan_code, run_sandboxed, evaluate_results, annotate_notebook)


def grade_notebook(exercise: Exercise, path: Path, student: str, release_dir: Path, cases: list[Case],
                   expected: dict, variants: dict, settings: XaiGrade, public_only: bool = False,
                   release_notebook: Path | None = None, private_paths: list[str] | None = None) -> SubmissionResult:
    """Grade one notebook file through ``STEPS``; problems with the file become messages, never exceptions.

    ``release_dir`` supplies the data files the notebook reads; ``release_notebook`` the
    original test cells (default: the notebook in ``release_dir``).
    """
    release_notebook = release_notebook or release_dir / f"{exercise.notebook}.ipynb"
    grading = Grading(exercise, student, path, release_dir, None, cases, expected, variants, settings,
                      public_only, private_paths)
    try:
        grading.release_nb = nbformat.read(str(release_notebook), as_version=4)
        for step in STEPS:
            started = time.monotonic()
            step(grading)
            if step is not run_sandboxed:  # (the sandbox's parts are timed on their own)
                grading.timings[f"step_{step.__name__}"] = time.monotonic() - started
    except NotebookProblem as problem:
        note = render(problem.key, problem.params, grading.language)
        return could_not_run(exercise, student, cases, expected, variants, note, grading.language, public_only,
                             seconds=time.monotonic() - grading.started)
    return grading.result()


def annotate(nb, exercise: Exercise, verdicts: list[Verdict], language: str, release_nb=None):
    """Show each test cell's verdicts as its output (what formgrader and nbgrader feedback display).

    With ``release_nb`` the cells get the release's nbgrader metadata first (graded cells the notebook
    lacks are added back) and ``(notebook, notes on what was changed)`` is returned; the notebook only
    without it. Every output, Markdown and raw cell is made safe to render (``safe_outputs``): the
    notebook's outputs come from the student (their cells, and kept demo cells' pasted outputs), and the
    pages formgrader and nbgrader's feedback make from it must not run the student's script."""
    from .safe_outputs import sanitize_notebook

    nb = copy.deepcopy(nb)
    restored = impose_release_metadata(nb, release_nb, add_missing=True)[1] if release_nb is not None else None
    nb = sanitize_notebook(nb, language)
    by_task: dict[str, list[Verdict]] = {}
    for verdict in verdicts:
        by_task.setdefault(verdict.task, []).append(verdict)
    titles = {check.id: check.title_for(language) for check in exercise.checks}
    for cell in nb.cells:
        cell.metadata.pop("xaigrade_link", None)  # (only the link cell batch.py puts first carries it)
        if cell.get("metadata", {}).pop("xaigrade_keep", None) and cell.get("cell_type") == "code":
            # a demo cell the sandbox did not re-run (runner/execute.py): its output as submitted, labelled
            label = nbformat.v4.new_output("stream", name="stderr", text=text("outputs.demo_kept", language) + "\n")
            cell["outputs"] = [label, *(cell.get("outputs") or [])]
        if not is_test_cell(cell):
            continue
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        lines = [format_line(v, titles.get(v.check_id, v.check_id)) for v in by_task.get(grade_id, [])]
        cell.metadata.pop("xaigrade_skip", None)
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="\n".join(lines) + "\n")] if lines else []
    return nb if restored is None else (nb, restored)
