"""What every submission of an assignment is compared with: the reference's and every known-wrong
variant's results on the public and hidden cases, computed once per assignment and seed in this (the
grader's) process and kept in the cache folder; the hidden case sets, screened for blind spots; and the
public results packed into ``public_checks.npz``."""

from __future__ import annotations

import contextlib
import importlib
import os
import pickle
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np

from xaikit.selfcheck.core import call_probe as _call_probe
from xaikit.selfcheck.core import load_public

from .checks import Case, Exercise, ProbeError
from .config import PROJECT_ROOT, cache_dir


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


# --- the cache ---------------------------------------------------------------------------------

def _exercise_name(exercise: Exercise | str) -> str:
    return exercise if isinstance(exercise, str) else exercise.name


def _fingerprint_inputs(exercise: Exercise | str, seed: int, kind: str) -> str:
    """Everything a case list or a reference result depends on: the exercise's checks and reference
    code, the shared check code, the embedded models and data (xaikit), library versions, the seed.
    ``exercise``: the exercise, or the name of a grader's one (its checks module need not be imported)."""
    import hashlib

    name = _exercise_name(exercise)
    module_file = Path(__file__).parent / "checks" / f"{name}.py" if isinstance(exercise, str) \
        else Path(exercise.module.__file__)
    hasher = hashlib.sha256(f"{kind}|{name}|{seed}|{sys.version}".encode())
    files = [module_file, Path(__file__).parent / "checks" / "__init__.py",
             PROJECT_ROOT / "reference_solutions" / f"{name}.py",
             PROJECT_ROOT / "reference_solutions" / "hidden" / f"{name}.py"]
    alternatives = PROJECT_ROOT / "reference_solutions" / "alternatives" / f"{name}.py"
    if kind in ("alternatives", CHOICE) or "reference_solutions.alternatives" in _text(files[-1]):
        files.append(alternatives)  # (a builder that screens its cases with them depends on them too)
    if kind == CHOICE:  # which candidate a set takes: decided by the fairness and blind-spot code below
        files += [Path(__file__), Path(__file__).parent / "fairness.py"]
        hasher.update(f"attempts={MAX_SET_ATTEMPTS}".encode())
    # xaikit/ (student side: probes, criteria, models, weights)
    files += sorted(p for p in (PROJECT_ROOT / "xaikit").rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for path in files:
        content = _file_bytes(path)
        if content is not None:
            label = path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path.name
            hasher.update(str(label).encode() + content)
    hasher.update(_library_versions().encode())
    return hasher.hexdigest()[:20]


@lru_cache(maxsize=None)
def _library_versions() -> str:
    """The versions the references depend on, looked up once per process (each lookup scans site-packages:
    asked for every set of every assignment, they took 1 s of a grading run's start at load 1)."""
    from importlib import metadata

    versions = []
    for package in ("numpy", "scikit-learn", "torch", "tensorflow-cpu", "keras", "transformers"):
        try:
            versions.append(f"{package}={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            pass
    return "".join(versions)


_read: dict = {}  # path -> ((mtime, size), bytes): a grader asks for the key of every set of every assignment


def _file_bytes(path: Path) -> bytes | None:
    """The file's content (None if it does not exist), read again only when its time or size changed."""
    try:
        info = path.stat()
    except OSError:
        return None
    stamp = (info.st_mtime_ns, info.st_size)
    known = _read.get(path)
    if known is None or known[0] != stamp:
        try:
            known = _read[path] = (stamp, path.read_bytes())
        except OSError:
            return None
    return known[1]


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def cache_path(exercise: Exercise | str, seed: int, kind: str) -> Path:
    """Where ``disk_cached`` keeps the entry of this kind and seed (its name holds the fingerprint)."""
    return cache_dir() / f"{kind}-{_exercise_name(exercise)}-{_fingerprint_inputs(exercise, seed, kind)}.pkl"


def disk_cached(exercise: Exercise, seed: int, kind: str, build):
    """``build()``'s result, kept in the cache folder under a key of everything it depends on, so a
    changed exercise, model or library never reads a stale entry. Reading it back is pickle: the
    folder is the grader's own (and hidden from submissions by the sandbox)."""
    path = cache_path(exercise, seed, kind)
    try:
        return pickle.loads(path.read_bytes())
    except Exception:  # noqa: BLE001 - missing or unreadable: build it
        pass
    with _building(path):  # another process building the same entry (a second grader, a test worker): wait for it
        try:
            return pickle.loads(path.read_bytes())
        except Exception:  # noqa: BLE001
            pass
        value = build()
        try:
            scratch = path.with_suffix(f".{os.getpid()}.tmp")
            scratch.write_bytes(pickle.dumps(value))
            scratch.replace(path)
        except (OSError, pickle.PicklingError, TypeError, AttributeError):
            pass
    return value


@contextlib.contextmanager
def _building(path: Path):
    """An exclusive lock on ``path``'s lock file while it is built (no lock where the folder cannot be written)."""
    import fcntl

    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle = open(path.with_suffix(".lock"), "a")
    except OSError:
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- public cases, hidden case sets ----------------------------------------------------------------

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
    """'variant in check' wherever no case the check selects catches a known mistake clearly (``fails_clearly``:
    a tolerance comparison at twice the tolerance or more): on these cases the check could not catch that
    mistake, or only just past a tolerance that correct work written otherwise might also reach."""
    from xaikit.selfcheck.compare import fails_clearly

    blind = []
    for check in exercise.checks:
        selected = [c for c in cases if check.selects(c)]
        for variant_id in check.variants:
            results = variants.get(variant_id, {})
            if not any(fails_clearly(check.criterion, results[c.id], expected[c.id], c)
                       for c in selected if isinstance(results.get(c.id), dict)):
                blind.append(f"{variant_id} in {check.id}")
    return blind


MAX_SET_ATTEMPTS = 3  # candidates per set (each costs one reference computation, once per secret)
_warned: set = set()


def alternatives_context(exercise: Exercise, seed: int, cases: list[Case], use_cache: bool = True) -> dict:
    """The correct alternatives' results on the cases of the hidden set with this seed (cached like the set)."""
    from .fairness import alternative_results

    def build():
        pin_threads()
        return alternative_results(exercise, cases, dict(vars(reference_module(exercise))))

    return disk_cached(exercise, seed, "alternatives", build) if use_cache else build()


def hidden_set(exercise: Exercise, secret: bytes, index: int, use_cache: bool = True) -> tuple[list[Case], dict, dict]:
    """Hidden case set ``index``: its cases, the reference's and the variants' results (``choose_hidden_set``)."""
    return choose_hidden_set(exercise, secret, index, use_cache)[1]


CHOICE = "hidden-choice"  # cache kind: which candidate seed a hidden set took (and why not a clean one)


def choose_hidden_set(exercise: Exercise, secret: bytes, index: int, use_cache: bool = True
                      ) -> tuple[int, tuple[list[Case], dict, dict]]:
    """(seed, context) of hidden case set ``index``: the first candidate seed (``secret.set_seed``) on which every correct
    alternative of the exercise gets full marks (``fairness.unfair_spots``) and whose cases show every known
    mistake in every check that names it (``blind_spots``), so points and diagnosis work the same on every set.
    Each candidate's results are cached, and so is the choice (keyed also by the alternatives and this code), so
    the search is paid once per secret and a later grader only loads the chosen set. If none of
    ``MAX_SET_ATTEMPTS`` candidates has both, the fairest one is used (a lost point for correct work is worse
    than a missed mistake), then the one with the fewest blind spots, and what is wrong is reported on stderr
    (the exercise's hidden builders then need other cases; ``tests/test_fairness.py`` and
    ``tests/test_exercises.py`` fail on it)."""
    if not use_cache:
        seed, context, warning = _search_hidden_set(exercise, secret, index, use_cache=False)
        _warn(exercise, index, warning)
        return seed, context
    from .secret import set_seed

    searched = {}

    def search() -> dict:
        seed, searched["context"], warning = _search_hidden_set(exercise, secret, index, use_cache=True)
        return {"seed": seed, "warning": warning}

    choice = disk_cached(exercise, set_seed(secret, exercise.name, index, 0), CHOICE, search)
    _warn(exercise, index, choice["warning"])
    return choice["seed"], searched.get("context") or hidden_context(exercise, choice["seed"])


def _warn(exercise: Exercise, index: int, warning: str | None) -> None:
    key = (exercise.name, index)
    if warning and key not in _warned:
        _warned.add(key)
        print(warning, file=sys.stderr)


def hidden_set_ready(exercise: Exercise | str, secret: bytes, index: int) -> bool:
    """Is hidden set ``index`` chosen and its reference computed (cached), so grading only loads it?
    (``exercise`` may be a name: asked before the grader imports the checks modules.)"""
    from .secret import set_seed

    choice = cache_path(exercise, set_seed(secret, _exercise_name(exercise), index, 0), CHOICE)
    try:
        seed = pickle.loads(choice.read_bytes())["seed"]
    except Exception:  # noqa: BLE001 - missing or unreadable: not ready
        return False
    return cache_path(exercise, seed, "hidden-context").is_file()


def _search_hidden_set(exercise: Exercise, secret: bytes, index: int, use_cache: bool
                       ) -> tuple[int, tuple[list[Case], dict, dict], str | None]:
    """The candidates of ``choose_hidden_set`` in order: (seed, context, warning or None)."""
    from .fairness import unfair_spots
    from .secret import set_seed

    best = None
    for attempt in range(MAX_SET_ATTEMPTS):
        seed = set_seed(secret, exercise.name, index, attempt)
        try:
            context = hidden_context(exercise, seed, use_cache)
        except Exception as error:  # noqa: BLE001 - a builder that finds no fair case for this seed: the next one
            print(f"xaigrade: {exercise.name} hidden set {index + 1}, candidate {attempt + 1}: {error}", file=sys.stderr)
            continue
        blind = blind_spots(exercise, *context)
        unfair = unfair_spots(exercise, context[0], context[1], alternatives_context(exercise, seed, context[0], use_cache))
        if not blind and not unfair:
            return seed, context, None
        if best is None or (len(unfair), len(blind)) < (len(best[2]), len(best[3])):
            best = (seed, context, unfair, blind)
    if best is None:
        raise RuntimeError(f"{exercise.name} hidden set {index + 1}: none of {MAX_SET_ATTEMPTS} candidate seeds gave "
                           "cases (see the messages above)")
    seed, context, unfair, blind = best
    return seed, context, (f"xaigrade: warning: {exercise.name} hidden set {index + 1}: no candidate seed that is fair "
                           f"and has no blind spots; using one where {', '.join(unfair + blind)}")


# --- computing the hidden sets ahead of grading (xaigrade prepare / release; grade for what is missing) ----------

class HiddenSetPool:
    """Hidden sets chosen and computed in worker processes, one thread each (``processes``, default one per core),
    each kept in the cache as it finishes (``choose_hidden_set``: under its file lock, so a second grader or a test
    worker asking for the same set waits for it instead of computing it again). ``submit`` returns a future per set;
    the caller then loads the set from the cache (``hidden_set``: milliseconds)."""

    def __init__(self, secret: bytes, processes: int | None = None):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.secret = secret
        self.processes = max(1, processes or os.cpu_count() or 1)
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        context = multiprocessing.get_context(method)
        if method == "forkserver":  # a clean parent (no grader threads); TensorFlow is not imported there
            context.set_forkserver_preload(["xaikit", "autograder.references"])
        self._executor = ProcessPoolExecutor(max_workers=self.processes, mp_context=context,
                                             initializer=_set_worker_up)

    def submit(self, name: str, index: int):
        # (the cache folder as it is now: a forkserver's workers carry the environment of its first use)
        return self._executor.submit(_compute_hidden_set, name, self.secret, index, os.environ.get("XDG_CACHE_HOME"))

    def close(self, cancel: bool = False) -> None:
        """Wait for the workers to end (``cancel``: drop what has not started and end running ones now)."""
        if cancel:
            for process in list((getattr(self._executor, "_processes", None) or {}).values()):
                process.terminate()  # (an entry half written is never read: written aside, then renamed)
        self._executor.shutdown(wait=not cancel, cancel_futures=cancel)

    def __enter__(self):
        return self

    def __exit__(self, kind, *_):
        self.close(cancel=kind is not None)


def _set_worker_up() -> None:
    """A worker computes with one thread (the cores are shared with the other workers and the sandboxes)."""
    import warnings

    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                     "TF_NUM_INTEROP_THREADS"):
        os.environ[variable] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    warnings.filterwarnings("ignore")  # (library notices would garble the grader's progress bar)
    import xaikit  # noqa: F401  (torch and triton before TensorFlow)


def _compute_hidden_set(name: str, secret: bytes, index: int, cache_home: str | None
                        ) -> tuple[str, int, float]:
    """(assignment, set index, seconds) after hidden set ``index`` of ``name`` is chosen and cached."""
    import time

    from .exercises import load_exercise

    if cache_home is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = cache_home
    started = time.perf_counter()
    exercise = load_exercise(name)
    pin_threads()
    choose_hidden_set(exercise, secret, index, use_cache=True)
    pin_threads()
    return name, index, time.perf_counter() - started


def missing_hidden_sets(wanted: dict, secret: bytes) -> list[tuple[str, int]]:
    """(assignment, set index) of the sets in ``wanted`` (assignment -> set indices) not computed yet (read from the
    cache's file names: no checks module is imported for it)."""
    return [(name, index) for name, indices in wanted.items() for index in sorted(indices)
            if not hidden_set_ready(name, secret, index)]


def prepare_hidden_sets(wanted: dict, secret: bytes, processes: int | None = None, report=None) -> dict:
    """Compute (and cache) every hidden set in ``wanted`` (assignment -> set indices) not computed yet, in parallel
    worker processes; ``report(name, index, seconds)`` as each finishes. Returns {(name, index): seconds}; sets
    already cached are not in it."""
    from concurrent.futures import as_completed

    missing = missing_hidden_sets(wanted, secret)
    if not missing:
        return {}
    seconds = {}
    with HiddenSetPool(secret, min(processes or os.cpu_count() or 1, len(missing))) as pool:
        for future in as_completed([pool.submit(name, index) for name, index in longest_first(missing)]):
            name, index, took = future.result()
            seconds[(name, index)] = took
            if report is not None:
                report(name, index, took)
    _remember_costs(seconds)
    return seconds


_COSTS = "hidden-set-seconds.json"


def longest_first(sets: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """The sets ordered by what a set of their assignment cost last time, the dearest first (so the last to
    finish is a cheap one and no core idles long at the end); unknown assignments first, in the given order."""
    import json

    try:
        costs = json.loads((cache_dir() / _COSTS).read_text())
    except (OSError, ValueError):
        costs = {}
    return sorted(sets, key=lambda key: -float(costs.get(key[0], float("inf"))))


def _remember_costs(seconds: dict) -> None:
    import json

    path = cache_dir() / _COSTS
    try:
        costs = json.loads(path.read_text())
    except (OSError, ValueError):
        costs = {}
    for name in {name for name, _ in seconds}:
        taken = [took for (other, _), took in seconds.items() if other == name]
        costs[name] = round(sum(taken) / len(taken), 2)
    try:
        scratch = path.with_suffix(f".{os.getpid()}.tmp")
        scratch.write_text(json.dumps(costs, sort_keys=True))
        scratch.replace(path)
    except OSError:
        pass


# --- the released data of the public cases ---------------------------------------------------------

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
