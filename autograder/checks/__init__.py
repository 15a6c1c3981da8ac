"""Checks declared as data, and the evaluation that turns probe results into verdicts.

An exercise module ``autograder/checks/<exercise>.py`` provides
- ``build_cases(seed, public) -> list[Case]``: seeded inputs (hidden or public),
- probe functions ``probe_*(namespace, inputs) -> dict`` that call the student's functions
  (they run inside the sandboxed kernel, and in the grader on the reference and variants),
- ``CHECKS``: a list of ``Check``; ``MESSAGES``: its own message catalogue (de/en).
No solution code lives here: the reference and its known-wrong variants are in
``reference_solutions/<exercise>.py``, which is never released.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable

from ..compare import Failure
from ..messages import render


@dataclass(frozen=True)
class Case:
    id: str
    probe: str  # name of a probe function in the exercise module
    inputs: dict
    label: str  # what the student may be told about the input, e.g. "Random Forest, Merkmal DIS"
    tags: frozenset = frozenset()


@dataclass(frozen=True)
class Check:
    id: str
    task: str  # grade_id of the notebook test cell whose points this check carries
    points: float
    title: dict  # {"de": ..., "en": ...}
    probe: str  # the cases this check looks at are those of this probe ...
    criterion: Callable[[dict, dict, Case], Failure | None]
    variants: tuple = ()  # known-wrong variants to name when the result misses the reference
    tags: frozenset = frozenset()  # ... having all these tags
    public: bool = True  # also run by `xaigrade check` on the public cases
    # Does the student's result show the mistake of a variant? Default: it passes the criterion with
    # the variant's result as the expected one. Bound-type checks ("at most 1.5x the reference's
    # distance") need their own test of sameness, e.g. closeness of the images.
    matches: Callable[[dict, dict, Case], bool] | None = None

    def shows_variant(self, student: dict, variant_result: dict, case: Case) -> bool:
        if self.matches is not None:
            return bool(self.matches(student, variant_result, case))
        return self.criterion(student, variant_result, case) is None

    def selects(self, case: Case) -> bool:
        return case.probe == self.probe and self.tags <= case.tags


@dataclass(frozen=True)
class ProbeError:
    """A probe call that produced no usable data."""

    kind: str  # missing_function | not_implemented | exception | timeout | invalid_result | not_run
    params: dict = field(default_factory=dict)


@dataclass
class Verdict:
    check_id: str
    task: str
    score: float
    max_score: float
    message_key: str
    message: str
    case_id: str | None = None
    params: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.score >= self.max_score

    def as_dict(self) -> dict:
        return {"score": self.score, "max_score": self.max_score, "message": self.message,
                "message_key": self.message_key, "task": self.task, "case": self.case_id}


class Exercise:
    """One exercise: its checks module, tasks and messages."""

    def __init__(self, name: str):
        self.name = name
        self.module = importlib.import_module(f"autograder.checks.{name}")
        self.checks: list[Check] = list(self.module.CHECKS)
        self.messages: dict = dict(self.module.MESSAGES)
        self.notebook: str = getattr(self.module, "NOTEBOOK", name)
        ids = [c.id for c in self.checks]
        if len(ids) != len(set(ids)):
            raise ValueError(f"duplicate check ids in {name}")

    @property
    def tasks(self) -> dict[str, float]:
        """Points per test cell (grade_id), summed over its checks."""
        points: dict[str, float] = {}
        for check in self.checks:
            points[check.task] = points.get(check.task, 0.0) + check.points
        return points

    def build_cases(self, seed: int, public: bool) -> list[Case]:
        return list(self.module.build_cases(seed, public))

    def probe_path(self, case: Case) -> str:
        return f"{self.module.__name__}:{case.probe}"

    def variant_ids(self) -> list[str]:
        return sorted({v for check in self.checks for v in check.variants})

    def message(self, key: str, params: dict | None, language: str) -> str:
        return render(key, params, language, self.messages)


def evaluate(exercise: Exercise, cases: list[Case], student: dict, expected: dict,
             variants: dict, language: str = "de", public_only: bool = False) -> list[Verdict]:
    """Verdicts for every check of ``exercise``.

    ``student`` and ``expected`` map case ids to result dicts (or ``ProbeError``);
    ``variants`` maps variant id -> case id -> result dict. A check passes when every one
    of its cases is within tolerance; otherwise the first failing case decides the message:
    the known-wrong variant the student's result matches, or the comparison's own message.
    """
    verdicts = []
    for check in exercise.checks:
        if public_only and not check.public:
            continue
        selected = [case for case in cases if check.selects(case)]
        verdicts.append(_evaluate_check(exercise, check, selected, student, expected, variants, language))
    return verdicts


def _evaluate_check(exercise, check, cases, student, expected, variants, language) -> Verdict:
    if not cases:
        raise ValueError(f"check {check.id} selects no case")
    for case in cases:
        result = student.get(case.id, ProbeError("not_run", {"reason": "no result"}))
        if isinstance(result, ProbeError):
            params = {"case": case.label, **result.params}
            return Verdict(check.id, check.task, 0.0, check.points, result.kind,
                           exercise.message(result.kind, params, language), case.id, params)
        failure = check.criterion(result, expected[case.id], case)
        if failure is None:
            continue
        for variant_id in check.variants:
            variant_result = variants.get(variant_id, {}).get(case.id)
            if isinstance(variant_result, dict) and check.shows_variant(result, variant_result, case):
                params = {"case": case.label}
                return Verdict(check.id, check.task, 0.0, check.points, variant_id,
                               exercise.message(variant_id, params, language), case.id, params)
        params = {"case": case.label, **failure.params}
        return Verdict(check.id, check.task, 0.0, check.points, failure.key,
                       exercise.message(failure.key, params, language), case.id, params)
    return Verdict(check.id, check.task, check.points, check.points, "passed",
                   exercise.message("passed", {}, language))
