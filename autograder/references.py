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

def _fingerprint_inputs(exercise: Exercise, seed: int, kind: str) -> str:
    """Everything a case list or a reference result depends on: the exercise's checks and reference
    code, the shared check code, the embedded models and data (xaikit), library versions, the seed."""
    import hashlib
    from importlib import metadata

    hasher = hashlib.sha256(f"{kind}|{exercise.name}|{seed}|{sys.version}".encode())
    files = [Path(exercise.module.__file__), Path(__file__).parent / "checks" / "__init__.py",
             PROJECT_ROOT / "reference_solutions" / f"{exercise.name}.py",
             PROJECT_ROOT / "reference_solutions" / "hidden" / f"{exercise.name}.py"]
    alternatives = PROJECT_ROOT / "reference_solutions" / "alternatives" / f"{exercise.name}.py"
    if kind == "alternatives" or "reference_solutions.alternatives" in _text(files[-1]):
        files.append(alternatives)  # (a builder that screens its cases with them depends on them too)
    # xaikit/ (student side: probes, criteria, models, weights)
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


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def disk_cached(exercise: Exercise, seed: int, kind: str, build):
    """``build()``'s result, kept in the cache folder under a key of everything it depends on, so a
    changed exercise, model or library never reads a stale entry. Reading it back is pickle: the
    folder is the grader's own (and hidden from submissions by the sandbox)."""
    path = cache_dir() / f"{kind}-{exercise.name}-{_fingerprint_inputs(exercise, seed, kind)}.pkl"
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


def choose_hidden_set(exercise: Exercise, secret: bytes, index: int, use_cache: bool = True
                      ) -> tuple[int, tuple[list[Case], dict, dict]]:
    """(seed, context) of hidden case set ``index``: the first candidate seed (``secret.set_seed``) on which every correct
    alternative of the exercise gets full marks (``fairness.unfair_spots``) and whose cases show every known
    mistake in every check that names it (``blind_spots``), so points and diagnosis work the same on every set.
    Each candidate's results are cached, so the search is paid once per secret. If none of ``MAX_SET_ATTEMPTS``
    candidates has both, the fairest one is used (a lost point for correct work is worse than a missed mistake),
    then the one with the fewest blind spots, and what is wrong is reported on stderr (the exercise's hidden
    builders then need other cases; ``tests/test_fairness.py`` and ``tests/test_exercises.py`` fail on it)."""
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
            return seed, context
        if best is None or (len(unfair), len(blind)) < (len(best[2]), len(best[3])):
            best = (seed, context, unfair, blind)
    if best is None:
        raise RuntimeError(f"{exercise.name} hidden set {index + 1}: none of {MAX_SET_ATTEMPTS} candidate seeds gave "
                           "cases (see the messages above)")
    key = (exercise.name, index)
    seed, context, unfair, blind = best
    if key not in _warned:
        _warned.add(key)
        print(f"xaigrade: warning: {exercise.name} hidden set {index + 1}: no candidate seed that is fair and has "
              f"no blind spots; using one where {', '.join(unfair + blind)}", file=sys.stderr)
    return seed, context


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
