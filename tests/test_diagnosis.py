"""Diagnosis precision (issue 16): a wrong name is worse than none.

Every known-wrong variant of every exercise, graded as a submission (the reference with the variant's
functions swapped in) on each of the K hidden sets of the tests' key, must never get ANOTHER variant's
message, and where a check lists likely causes (``ambiguous_mistake``) its own mistake must be among them.
The share of variants that get their own message on every set is printed and may not drop below what was
measured when the naming rule (``xaikit.selfcheck.core.diagnose``) was written."""

from __future__ import annotations

import functools

import pytest

from autograder.checks import evaluate
from autograder.grading import reference_module
from helpers import HIDDEN_SETS, all_hidden_sets, probe_all
from xaikit.selfcheck.core import AMBIGUOUS

EXERCISES = ("pdp", "gradcam", "counterfactual", "clip")
# exercise -> (variants named by their own message on every check that names them, on every set, of all),
# measured on the tests' key when the rule was written; raise these when a diagnosis gets better, never lower
# them. PDP's three "mutates X" variants are told by their flag check's own message (``input_mutated``), which a
# variant's result cannot "show"; the counterfactual figure was measured while its checks were being reworked.
NAMED_ON_EVERY_SET = {"pdp": (17, 20), "gradcam": (24, 24), "counterfactual": (26, 28), "clip": (26, 26)}


@functools.lru_cache(maxsize=None)
def graded(name: str, index: int) -> dict:
    """variant id -> check id -> verdict, on hidden set ``index``."""
    exercise, cases, expected, variants = all_hidden_sets(name)[index]
    module = reference_module(exercise)
    verdicts = {}
    for variant_id, overrides in module.VARIANTS.items():
        results = probe_all(exercise, cases, {**vars(module), **overrides})
        verdicts[variant_id] = {v.check_id: v for v in evaluate(exercise, cases, results, expected, variants)}
    return verdicts


def misdiagnoses(name: str, index: int) -> list[str]:
    """Where a variant gets another variant's message, or a list of likely causes without its own."""
    exercise = all_hidden_sets(name)[index][0]
    known = set(reference_module(exercise).VARIANTS)
    wrong = []
    for variant_id, verdicts in graded(name, index).items():
        for check_id, verdict in verdicts.items():
            if verdict.message_key in known and verdict.message_key != variant_id:
                wrong.append(f"{variant_id} named {verdict.message_key} in {check_id} (set {index + 1})")
            elif verdict.message_key == AMBIGUOUS and variant_id not in verdict.candidates:
                wrong.append(f"{variant_id} given causes {verdict.candidates} in {check_id} (set {index + 1})")
    return wrong


def named_on_every_set(name: str) -> tuple[set, set]:
    """(variants that get their own message on every check naming them that they lose, on every set; all)."""
    exercise = all_hidden_sets(name)[0][0]
    every = set(reference_module(exercise).VARIANTS)
    named = set(every)
    for index in range(HIDDEN_SETS):
        for variant_id, verdicts in graded(name, index).items():
            naming = [check for check in exercise.checks
                      if variant_id in check.variants and not verdicts[check.id].passed]
            if not naming or any(verdicts[check.id].message_key != variant_id for check in naming):
                named.discard(variant_id)
    return named, every


@pytest.mark.parametrize("index", range(HIDDEN_SETS), ids=lambda i: f"set{i + 1}")
@pytest.mark.parametrize("name", EXERCISES)
def test_no_variant_gets_another_variants_message(name, index):
    assert misdiagnoses(name, index) == []


@pytest.mark.parametrize("name", EXERCISES)
def test_share_of_variants_named_on_every_set(name):
    named, every = named_on_every_set(name)
    print(f"\n{name}: {len(named)}/{len(every)} variants get their own message on every set; "
          f"not always: {sorted(every - named)}")
    least, total = NAMED_ON_EVERY_SET[name]
    assert len(every) >= total
    assert len(named) >= least, sorted(every - named)
