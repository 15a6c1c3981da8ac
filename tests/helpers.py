"""Shared test helpers: grade known-wrong variants in-process and check what they lose."""

from __future__ import annotations

import functools

from autograder.checks import Exercise, ProbeError, evaluate
from autograder.config import XaiGrade
from autograder.grading import call_probe, compute_reference, reference_module

HIDDEN_SEED = XaiGrade().hidden_seed


@functools.lru_cache(maxsize=None)
def hidden_setup(name: str, seed: int = HIDDEN_SEED):
    exercise = Exercise(name)
    cases = exercise.build_cases(seed, public=False)
    expected, variants = compute_reference(exercise, cases)
    return exercise, cases, expected, variants


def grade_namespace(name: str, overrides: dict, seed: int = HIDDEN_SEED, language: str = "de"):
    """Verdicts for a 'submission' that is the reference with ``overrides`` (function name -> function),
    computed in this process (no kernel), against the hidden cases."""
    exercise, cases, expected, variants = hidden_setup(name, seed)
    namespace = {**vars(reference_module(exercise)), **overrides}
    results = {}
    for case in cases:
        try:
            results[case.id] = call_probe(exercise, case, namespace)
        except Exception as error:  # noqa: BLE001 - a crashing variant is a result too
            results[case.id] = ProbeError("exception", {"error": repr(error)})
    return {v.check_id: v for v in evaluate(exercise, cases, results, expected, variants, language)}


def variant_overrides(name: str, variant_id: str) -> dict:
    exercise = Exercise(name)
    return dict(reference_module(exercise).VARIANTS[variant_id])
