"""The other half of choosing hidden inputs: correct work must pass them.

``reference_solutions/alternatives/<exercise>.py`` keeps, beside the known-wrong variants, a corpus of
*correct* implementations written the way students write them (the task's formula literally, a library call
the task allows, loops instead of vectorised code, other dtypes, other autodiff idioms), ``ALTERNATIVES`` in the
shape of ``VARIANTS``: alternative id -> {function name: implementation}.

- ``unfair_spots``: where a correct alternative loses a check on a set of cases. ``references.hidden_set``
  accepts a hidden set only where there is none (and builders that choose cases one by one use it per case).
- ``tolerance_spread``: per check, the largest share of its tolerance a correct alternative used and the
  smallest share a mistake the check names reached where it was caught (``compare.recording``). A tolerance is
  justified when the first stays well below 1 and the second well above (``tests/test_fairness.py``; the
  README's tolerance table shows both).
"""

from __future__ import annotations

import importlib
import math
import sys
from dataclasses import dataclass

from xaikit.selfcheck.compare import recording
from xaikit.selfcheck.core import call_probe

from .checks import Case, Exercise, ProbeError
from .config import PROJECT_ROOT


def alternatives_module(exercise: Exercise):
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    return importlib.import_module(f"reference_solutions.alternatives.{exercise.name}")


def correct_alternatives(exercise: Exercise) -> dict:
    """alternative id -> {function name: implementation} (``ALTERNATIVES`` of the exercise)."""
    return dict(alternatives_module(exercise).ALTERNATIVES)


def alternative_results(exercise: Exercise, cases: list[Case], reference_namespace: dict,
                        alternatives: dict | None = None) -> dict:
    """alternative id -> case id -> probe result (a crash is a ``ProbeError``, as for a submission)."""
    alternatives = correct_alternatives(exercise) if alternatives is None else alternatives
    results = {}
    for alternative_id, overrides in alternatives.items():
        namespace = {**reference_namespace, **overrides}
        results[alternative_id] = {}
        for case in cases:
            try:
                results[alternative_id][case.id] = call_probe(exercise, case, namespace)
            except Exception as error:  # noqa: BLE001 - a crash of correct work on a case is exactly what we look for
                results[alternative_id][case.id] = ProbeError("exception", {"error": repr(error)})
    return results


def unfair_spots(exercise: Exercise, cases: list[Case], expected: dict, alternatives: dict) -> list[str]:
    """'alternative loses check on case' wherever a correct alternative fails a check (or crashes)."""
    spots = []
    for check in exercise.checks:
        for alternative_id, results in alternatives.items():
            for case in cases:
                if not check.selects(case):
                    continue
                result = results.get(case.id)
                if isinstance(result, ProbeError):
                    spots.append(f"{alternative_id} loses {check.id} on {case.id} ({result.kind}: "
                                 f"{str(result.params.get('error', ''))[:120]})")
                    break
                failure = check.criterion(result, expected.get(case.id, {}), case)
                if failure is not None:
                    spots.append(f"{alternative_id} loses {check.id} on {case.id} ({failure.key})")
                    break
    return spots


# --- how much of each tolerance correct work uses, and how far caught mistakes are beyond it -------------

@dataclass
class Spread:
    """One check's figures over some case sets: shares of its tolerance (1.0 = the limit)."""

    check_id: str
    correct: float = 0.0  # the largest share any correct alternative (or the reference) reached on any case
    correct_by: str = ""
    mistake: float = math.inf  # the smallest share, over the mistakes the check names, at which one was caught
    mistake_by: str = ""
    measured: bool = False  # the check compares with a tolerance at all (else: a flag or an exact property)

    def merge(self, other: "Spread") -> None:
        self.measured |= other.measured
        if other.correct > self.correct:
            self.correct, self.correct_by = other.correct, other.correct_by
        if other.mistake < self.mistake:
            self.mistake, self.mistake_by = other.mistake, other.mistake_by


def _shares(check, result, expected, case) -> tuple[list, bool]:
    """(recorded shares of the check's comparisons, failed) for one result on one case."""
    with recording() as records:
        failure = check.criterion(result, expected, case)
    return [share for _, share in records], failure is not None


def tolerance_spread(exercise: Exercise, cases: list[Case], expected: dict, variants: dict,
                     alternatives: dict) -> dict[str, Spread]:
    """check id -> Spread on these cases. A mistake's share for a check is the largest share on the cases where
    it fails the check (how clearly it was caught there); mistakes caught without a tolerance comparison (a flag,
    a shape) do not lower the figure."""
    spreads = {}
    for check in exercise.checks:
        spread = spreads[check.id] = Spread(check.id)
        selected = [case for case in cases if check.selects(case)]
        for alternative_id, results in alternatives.items():
            for case in selected:
                result = results.get(case.id)
                if not isinstance(result, dict):
                    continue
                shares, _ = _shares(check, result, expected.get(case.id, {}), case)
                if shares:
                    spread.measured = True
                    top = max(shares)
                    if top > spread.correct:
                        spread.correct, spread.correct_by = top, f"{alternative_id} on {case.id}"
        for variant_id in check.variants:
            caught = []
            for case in selected:
                result = variants.get(variant_id, {}).get(case.id)
                if not isinstance(result, dict):
                    continue
                shares, failed = _shares(check, result, expected.get(case.id, {}), case)
                if shares:
                    spread.measured = True
                if failed and shares and max(shares) > 1.0:
                    caught.append((max(shares), case.id))
            if caught:
                share, case_id = max(caught)
                if share < spread.mistake:
                    spread.mistake, spread.mistake_by = share, f"{variant_id} on {case_id}"
    return spreads


# --- the report over a course's hidden sets (`xaigrade fairness`, tests/test_fairness.py) -------------------------

@dataclass
class FairnessReport:
    """One exercise over its public cases and K hidden sets."""

    exercise: str
    spreads: dict  # check id -> Spread
    unfair: list  # 'alternative loses check on case (where)'
    alternatives: int = 0


def fairness_report(exercise: Exercise, secret: bytes, sets: int, public_seed: int, use_cache: bool = True
                    ) -> FairnessReport:
    from .references import alternatives_context, choose_hidden_set, compute_reference, reference_module

    cases = exercise.build_cases(public_seed, public=True)
    expected, variants = compute_reference(exercise, cases)
    alternatives = alternative_results(exercise, cases, dict(vars(reference_module(exercise))))
    spreads = tolerance_spread(exercise, cases, expected, variants, alternatives)
    unfair = [f"{spot} (public)" for spot in unfair_spots(exercise, cases, expected, alternatives)]
    for index in range(sets):
        seed, (cases, expected, variants) = choose_hidden_set(exercise, secret, index, use_cache)
        alternatives = alternatives_context(exercise, seed, cases, use_cache)
        unfair += [f"{spot} (set {index + 1})" for spot in unfair_spots(exercise, cases, expected, alternatives)]
        for check_id, spread in tolerance_spread(exercise, cases, expected, variants, alternatives).items():
            spreads[check_id].merge(spread)
    return FairnessReport(exercise.name, spreads, unfair, len(correct_alternatives(exercise)))


def format_report(report: FairnessReport) -> str:
    lines = [f"{report.exercise}: {report.alternatives} correct alternatives; share of each check's tolerance "
             "(1 = the limit) used by correct work at most / reached by a named mistake where caught, at least"]
    for spread in report.spreads.values():
        if spread.measured:
            mistake = f"{spread.mistake:.3g}" if math.isfinite(spread.mistake) else "-"
            lines.append(f"  {spread.check_id:30s} {spread.correct:9.3g}  {mistake:>9s}   "
                         f"({spread.correct_by or '-'}; {spread.mistake_by or 'caught by shape or flag only'})")
    lines += [f"  UNFAIR: {spot}" for spot in report.unfair] or ["  every correct alternative gets full marks everywhere"]
    return "\n".join(lines)
