"""Grade one submission: validate the notebook, run it in the sandbox with the probe,
compare the probe's data with the reference, and name the mistakes."""

from __future__ import annotations

import copy
import importlib
import os
import pickle
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np

from xaikit.selfcheck.core import PUBLIC_DATA, PublicData, format_line, load_public  # noqa: F401
from xaikit.selfcheck.core import call_probe as _call_probe

from .checks import Case, Exercise, ProbeError, Verdict, evaluate
from .config import PROJECT_ROOT, XaiGrade, cache_dir
from .messages import outcome_message, render
from .nbgrader_bridge import grade_cells, is_test_cell
from .runner import sandbox
from .runner.results import MAX_JOB_STATUS_BYTES, load_results
from .runner.runtime import RUNTIME_FILE, flags_from_runtime, read_runtime
from .runner.scan import describe as describe_flag
from .runner.scan import scan_notebook



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
    case_results: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)  # seconds: kernel_start, student_cells, probe, checks  # probe data per case id (for the feedback pictures)
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


# --- reference results (computed once per assignment and seed, reused for every student) ----

def reference_module(exercise: Exercise):
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    return importlib.import_module(f"reference_solutions.{exercise.name}")


def call_probe(exercise: Exercise, case: Case, namespace: dict) -> dict:
    """Run a probe in this process on trusted code (reference or variant) and return plain arrays."""
    return _call_probe(exercise, case, namespace)


def pin_threads() -> None:
    """One thread per grading process: on 2 shared cores more threads only fight (measured ~100x
    slower under load); parallelism comes from grading several submissions at once."""
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def compute_reference(exercise: Exercise, cases: list[Case]) -> tuple[dict, dict]:
    """Expected results and the results of every known-wrong variant, per case."""
    module = reference_module(exercise)
    pin_threads()
    namespace = dict(vars(module))
    expected = {case.id: call_probe(exercise, case, namespace) for case in cases}
    variants = {}
    for variant_id in exercise.variant_ids():
        overrides = module.VARIANTS[variant_id]
        variant_namespace = {**namespace, **overrides}
        relevant = [case for case in cases
                    if any(variant_id in check.variants and check.selects(case) for check in exercise.checks)]
        variants[variant_id] = {}
        for case in relevant:
            try:
                variants[variant_id][case.id] = call_probe(exercise, case, variant_namespace)
            except Exception as error:  # a variant that crashes on a case simply cannot match there
                variants[variant_id][case.id] = ProbeError("exception", {"error": str(error)})
    return expected, variants


def _fingerprint_inputs(exercise: Exercise, seed: int, kind: str) -> str:
    """Everything a case list or a reference result depends on: the exercise's checks and reference
    code, the shared check code, the embedded models and data (xaikit), library versions, the seed."""
    import hashlib
    from importlib import metadata

    hasher = hashlib.sha256(f"{kind}|{exercise.name}|{seed}|{sys.version}".encode())
    files = [Path(exercise.module.__file__), Path(__file__).parent / "checks" / "__init__.py",
             PROJECT_ROOT / "reference_solutions" / f"{exercise.name}.py",
             PROJECT_ROOT / "reference_solutions" / "hidden" / f"{exercise.name}.py"]  # (xaikit/ below: student side)
    files += sorted(p for p in (PROJECT_ROOT / "xaikit").rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for path in files:
        if path.exists():
            label = path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path.name
            hasher.update(str(label).encode() + path.read_bytes())
    for package in ("numpy", "scikit-learn", "torch", "tensorflow-cpu", "keras", "transformers"):
        try:
            hasher.update(f"{package}={metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            pass
    return hasher.hexdigest()[:20]


def disk_cached(exercise: Exercise, seed: int, kind: str, build):
    """``build()``'s result, kept in the cache folder under a key of everything it depends on, so a
    changed exercise, model or library never reads a stale entry. Reading it back is pickle: the
    folder is the grader's own (and hidden from submissions by the sandbox)."""
    path = cache_dir() / f"{kind}-{exercise.name}-{_fingerprint_inputs(exercise, seed, kind)}.pkl"
    try:
        return pickle.loads(path.read_bytes())
    except Exception:  # noqa: BLE001 - missing or unreadable: build it
        pass
    value = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        scratch = path.with_suffix(f".{os.getpid()}.tmp")
        scratch.write_bytes(pickle.dumps(value))
        scratch.replace(path)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        pass
    return value


def public_cases(exercise: Exercise, seed: int) -> list[Case]:
    """The public cases for `xaigrade check`, cached: building them trains small models (1.5 s for
    PDP) that come out the same every time."""
    return disk_cached(exercise, seed, "public-cases", lambda: exercise.build_cases(seed, public=True))


def hidden_context(exercise: Exercise, seed: int, use_cache: bool = True) -> tuple[list[Case], dict, dict]:
    """Hidden cases with the reference's and every variant's results: computed once per assignment
    and seed, and kept on disk for the next `xaigrade grade` (8 s for the counterfactuals)."""
    def build():
        cases = exercise.build_cases(seed, public=False)
        expected, variants = compute_reference(exercise, cases)
        return cases, expected, variants

    return disk_cached(exercise, seed, "hidden-context", build) if use_cache else build()


def blind_spots(exercise: Exercise, cases: list[Case], expected: dict, variants: dict) -> list[str]:
    """'variant in check' wherever a known mistake gives the reference's result on every case the check
    selects: on these cases the check could neither catch nor name that mistake."""
    blind = []
    for check in exercise.checks:
        selected = [c for c in cases if check.selects(c)]
        for variant_id in check.variants:
            results = variants.get(variant_id, {})
            if not any(check.criterion(results[c.id], expected[c.id], c) is not None
                       for c in selected if isinstance(results.get(c.id), dict)):
                blind.append(f"{variant_id} in {check.id}")
    return blind


MAX_SET_ATTEMPTS = 3  # candidates per set (each costs one reference computation, once per secret)
_warned: set = set()


def hidden_set(exercise: Exercise, secret: bytes, index: int, use_cache: bool = True) -> tuple[list[Case], dict, dict]:
    """Hidden case set ``index``: the first candidate seed (``secret.set_seed``) whose cases show every known
    mistake in every check that names it, so diagnosis and points work the same on every set. Each candidate's
    results are cached, so the search is paid once per secret. If none of ``MAX_SET_ATTEMPTS`` candidates has
    no blind spot, the one with the fewest is used and the blind spots are reported on stderr (the exercise's
    hidden builders then need more varied cases; ``tests/test_<ex>_checks.py`` fails on it)."""
    from .secret import set_seed

    best = None
    for attempt in range(MAX_SET_ATTEMPTS):
        context = hidden_context(exercise, set_seed(secret, exercise.name, index, attempt), use_cache)
        blind = blind_spots(exercise, *context)
        if not blind:
            return context
        if best is None or len(blind) < len(best[1]):
            best = (context, blind)
    key = (exercise.name, index)
    if key not in _warned:
        _warned.add(key)
        print(f"xaigrade: warning: {exercise.name} hidden set {index + 1}: no candidate seed without blind spots; "
              f"using one where {', '.join(best[1])}", file=sys.stderr)
    return best[0]


def pack_public(exercise: Exercise, seed: int, cases: list[Case], expected: dict, variants: dict) -> dict:
    """``public_checks.npz`` entries (no pickle, no reference code): the reference's results on the public
    cases, and the known mistakes the public checks name under neutral labels (m0, m1, ...) with their
    messages and results, so the self-check explains mistakes without shipping the variants' names.
    Results of probes in the module's ``PUBLIC_EXPECTED_WITHHELD`` are not shipped (no check reads them)."""
    withheld = set(getattr(exercise.module, "PUBLIC_EXPECTED_WITHHELD", ()))
    probes = {case.id: case.probe for case in cases}
    named = sorted({v for check in exercise.checks if check.public for v in check.variants})
    labels = {variant_id: f"m{index}" for index, variant_id in enumerate(named)}
    packed = {"meta|seed": np.array(seed)}
    for case_id, result in expected.items():
        if probes.get(case_id) in withheld:
            continue
        for key, value in result.items():
            packed[f"expected|{case_id}|{key}"] = value
    for check in exercise.checks:
        if check.public and check.variants:
            packed[f"diagnosis|{check.id}"] = np.array([labels[v] for v in check.variants])
    for variant_id, label in labels.items():
        for language in ("de", "en"):
            packed[f"message|{label}|{language}"] = np.array(exercise.messages[variant_id][language])
        for case_id, result in variants.get(variant_id, {}).items():
            if isinstance(result, dict):
                for key, value in result.items():
                    packed[f"variant|{label}|{case_id}|{key}"] = value
    return packed


def unpack_public(path: Path) -> tuple[int, dict, dict]:
    """(seed, expected, variants by neutral label); ``load_public`` also gives diagnoses and messages."""
    data = load_public(path)
    return data.seed, data.expected, data.variants


# --- preparing and running one submission ---------------------------------------------------

def prepare_notebook(exercise: Exercise, path: Path, release_nb,
                     max_mb: int | None = None) -> tuple[object, list[tuple[str, dict]]]:
    """The submission with its test cells restored from the release; notes on what was restored.

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
    release_cells = grade_cells(release_nb)
    submitted_cells = grade_cells(nb)
    if not set(release_cells) & set(submitted_cells):
        raise NotebookProblem("notebook_wrong_assignment", {"assignment": exercise.name})
    notes = []
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


def warm_process(exercise: Exercise, release_dir: Path, settings: XaiGrade, student_check: bool = False):
    """The zygote to fork this assignment's jobs from, or None (cold start).

    Grading owns one per process; a student's `xaigrade check` leaves it running as a daemon for a
    while, so the next check starts warm."""
    if not settings.warm_start or (student_check and settings.check_daemon_seconds <= 0):
        return None  # (a single cold check is as fast as starting a zygote for it)
    from .runner import zygote

    return zygote.for_notebook(release_dir / f"{exercise.notebook}.ipynb",
                               daemon_idle=settings.check_daemon_seconds if student_check else None,
                               extra=getattr(exercise.module, "WARM_IMPORTS", []))


def is_demo_cell(cell) -> bool:
    """An instructor's demonstration cell (``"xaigrade": {"demo": true}`` in its metadata): it only
    shows things (plots, comparisons) that no check and no later cell needs."""
    return cell.get("cell_type") == "code" and cell.get("metadata", {}).get("xaigrade", {}).get("demo") is True


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
    problems: list = field(default_factory=list)  # what was wrong with the files the sandbox left
    runtime: dict = field(default_factory=dict)  # what the submission's process did (``runtime.json``)


MAX_EXECUTED_BYTES = 32 * 2**20


def _fill_work(work: Path, exercise: Exercise, nb, cases: list[Case], release_dir: Path, settings: XaiGrade,
               demo_sources: frozenset) -> None:
    """Put what the job needs into its (fresh, empty) work folder."""
    for item in release_dir.iterdir():  # data files the notebook reads, not the notebook itself
        if item.suffix == ".ipynb" or item.name == PUBLIC_DATA or _special(item):
            continue
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
    probe_functions = getattr(exercise.module, "PROBE_FUNCTIONS", {})
    with open(work / "cases.pkl", "wb") as handle:
        pickle.dump([{"id": c.id, "probe": exercise.probe_path(c), "inputs": c.inputs,
                      "function": probe_functions.get(c.probe, c.probe),
                      "max_bytes": settings.max_result_mb * 2**20 // 2} for c in cases], handle)
    sandbox.write_job(work, settings)


def _read_run(job: sandbox.JobFolder, cases: list[Case], settings: XaiGrade, outcome) -> SandboxRun:
    """Everything the grader takes from the work folder, through ``JobFiles`` only."""
    from .runner.results import JobFiles, UnsafeFile, validate_status

    problems: list[str] = []
    status, executed, runtime = {}, None, {}
    with JobFiles.open(job.work) as work:
        if work.exists("status.json"):
            try:
                status, wrong = validate_status(work.read("status.json", MAX_JOB_STATUS_BYTES))
                problems += wrong
            except UnsafeFile as error:
                problems.append(str(error))
        if work.exists("executed.ipynb"):
            try:
                executed = nbformat.reads(work.read("executed.ipynb", MAX_EXECUTED_BYTES).decode("utf-8"),
                                          as_version=4)
            except (UnsafeFile, UnicodeDecodeError, ValueError, TypeError, KeyError, AttributeError) as error:
                problems.append(f"executed.ipynb: {str(error)[:120]}")
        results_dir = work.folder("results")
        try:
            results = load_results(results_dir, [c.id for c in cases], settings.max_result_mb * 2**20,
                                   outcome_message(outcome.kind, outcome.params))
            if results_dir is not None and results_dir.exists(RUNTIME_FILE):
                runtime = read_runtime(results_dir)
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
    for attempt in range(2):
        job = sandbox.new_job_folder(settings)
        try:
            _fill_work(job.work, exercise, nb, cases, release_dir, settings, demo_sources)
            outcome = sandbox.run_job(job, settings, private_paths, warm=warm)
            if attempt == 0 and outcome.kind not in (None, "timeout") and not _ran_anything(job):
                # The executor died before running anything of the submission (e.g. the kernel did not
                # start in time on a loaded machine): that is ours, not the student's; once more, in a
                # fresh folder (nothing the first attempt left is reused).
                continue
            return _read_run(job, cases, settings, outcome)
        finally:
            job.remove()
    raise AssertionError("not reached")


def grade_notebook(exercise: Exercise, path: Path, student: str, release_dir: Path, cases: list[Case],
                   expected: dict, variants: dict, settings: XaiGrade, public_only: bool = False,
                   release_notebook: Path | None = None, private_paths: list[str] | None = None) -> SubmissionResult:
    """Grade one notebook file; problems with the file become messages, never exceptions.

    ``release_dir`` supplies the data files the notebook reads; ``release_notebook`` the
    original test cells (default: the notebook in ``release_dir``).
    """
    started = time.monotonic()
    language = settings.language
    release_notebook = release_notebook or release_dir / f"{exercise.notebook}.ipynb"
    try:
        release_nb = nbformat.read(str(release_notebook), as_version=4)
        nb, restored = prepare_notebook(exercise, path, release_nb, max_mb=settings.max_notebook_mb)
    except NotebookProblem as problem:
        note = render(problem.key, problem.params, language)
        failed = {c.id: ProbeError("not_run", {"reason": note}) for c in cases}
        verdicts = evaluate(exercise, cases, failed, expected, variants, language, public_only)
        return SubmissionResult(student, exercise.name, verdicts, [note], seconds=time.monotonic() - started)
    notes = [render(key, params, language) for key, params in restored]
    given = {cell.source.strip() for cell in release_nb.cells}  # the instructor's code is not flagged
    demo_sources = frozenset() if settings.rerun_demo_cells else \
        frozenset(cell.source.strip() for cell in release_nb.cells if is_demo_cell(cell))
    flags = scan_notebook(nb, lambda cell: is_test_cell(cell) or cell.source.strip() in given)
    notes += [describe_flag(flag, language) for flag in flags]
    run = run_in_sandbox(exercise, nb, cases, release_dir, settings, private_paths,
                         student_check=public_only, demo_sources=demo_sources)
    results, executed, status = run.results, run.executed, run.status
    killed = outcome_message(run.outcome.kind, run.outcome.params)
    if killed:
        notes.append(render("sandbox_killed", {"reason": killed}, language))
    if run.problems:
        notes.append(render("sandbox_files_invalid", {"detail": "; ".join(run.problems)[:300]}, language))
    runtime_flags = flags_from_runtime(run.runtime)
    flags += [flag for flag in runtime_flags if flag not in flags]
    notes += [describe_flag(flag, language) for flag in runtime_flags]
    for death in status.get("kernel_deaths", []):
        notes.append(render("kernel_died", {"index": death["index"], "reason": death["reason"][:120]}, language))
    for timeout in status.get("cell_timeouts", [])[:5]:
        notes.append(render("cell_timeout", {"index": timeout["index"], "seconds": timeout["seconds"]}, language))
    for error in status.get("cell_errors", [])[:5]:
        notes.append(render("cell_error", {"index": error["index"], "error": error["error"]}, language))
    checks_started = time.monotonic()
    verdicts = evaluate(exercise, cases, results, expected, variants, language, public_only)
    timings = dict(status.get("timings", {}))
    timings["checks"] = time.monotonic() - checks_started
    timings["warm_start"] = float(bool(status.get("warm_kernel")))
    fallback = [f"zygote: {run.outcome.warm_fallback}"] if run.outcome.warm_fallback else []
    fallback += [f"kernel start: {reason}" for reason in status.get("kernel_start_failures", [])]
    autograded = annotate(executed if executed is not None else nb, exercise, verdicts, language)
    return SubmissionResult(student, exercise.name, verdicts, notes, flags, time.monotonic() - started, autograded,
                            results, timings, warm_fallback=fallback)


def annotate(nb, exercise: Exercise, verdicts: list[Verdict], language: str):
    """Show each test cell's verdicts as its output (what formgrader and nbgrader feedback display).

    Every output, Markdown and raw cell is made safe to render first (``safe_outputs``): the notebook's
    outputs come from the student (their cells, and kept demo cells' pasted outputs), and the pages
    formgrader and nbgrader's feedback make from it must not run the student's script."""
    from .safe_outputs import sanitize_notebook

    nb = sanitize_notebook(copy.deepcopy(nb), language)
    by_task: dict[str, list[Verdict]] = {}
    for verdict in verdicts:
        by_task.setdefault(verdict.task, []).append(verdict)
    titles = {check.id: check.title.get(language, check.title["de"]) for check in exercise.checks}
    for cell in nb.cells:
        cell.get("metadata", {}).pop("xaigrade_keep", None)
        if not is_test_cell(cell):
            continue
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        lines = [format_line(v, titles.get(v.check_id, v.check_id)) for v in by_task.get(grade_id, [])]
        cell.metadata.pop("xaigrade_skip", None)
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="\n".join(lines) + "\n")] if lines else []
    return nb
