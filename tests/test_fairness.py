"""No false negatives (issue 20): correct work written differently gets full marks everywhere.

For every registered exercise, ``reference_solutions/alternatives/<ex>.py`` keeps correct implementations written
the way students write them. Here, over all of them:
- every graded function has at least four correct alternatives;
- every alternative gets full marks on the public cases and on each of the K hidden sets the grader would use
  with the tests' key (``references.hidden_set`` chooses sets so; this proves it held);
- each check's tolerance lies between correct work and caught mistakes, with a margin: the largest share of its
  tolerance a correct alternative used is at most 1/MARGIN, and every mistake the check names was caught at
  MARGIN times the tolerance or more (``autograder/fairness.py``; the README's tolerance table prints both).
The other half, that every known mistake still loses exactly its checks on every set, is ``test_exercises.py``.
"""

from __future__ import annotations

import xaikit  # noqa: F401  (torch/triton before TensorFlow)

import functools

import pytest

from autograder.config import XaiGrade
from autograder.exercises import assignments
from autograder.fairness import FairnessReport, correct_alternatives, fairness_report, format_report, unfair_spots
from autograder.references import alternatives_context, choose_hidden_set, reference_module
from helpers import HIDDEN_SETS, TEST_SECRET, all_hidden_sets

EXERCISES = assignments()
MARGIN = 2.0  # correct work uses at most half a tolerance; a mistake is caught at twice it or more


def graded_functions(exercise) -> set[str]:
    """The functions students write that a probe calls (not the notebook's answer variables)."""
    module = reference_module(exercise)
    return {name for name in exercise.module.PROBE_FUNCTIONS.values() if callable(getattr(module, name, None))}


def hidden_alternatives(name: str, index: int) -> dict:
    """The alternatives' results on hidden set ``index`` of the tests' key (the grader's cache: hidden_set
    computed them when it chose the set)."""
    exercise, cases, *_ = all_hidden_sets(name)[index]
    seed, _ = choose_hidden_set(exercise, TEST_SECRET, index)
    return alternatives_context(exercise, seed, cases)


@pytest.mark.parametrize("name", EXERCISES)
def test_every_graded_function_has_at_least_four_correct_alternatives(name):
    exercise = all_hidden_sets(name)[0][0]
    alternatives = correct_alternatives(exercise)
    for function in sorted(graded_functions(exercise)):
        written = [alt for alt, overrides in alternatives.items() if function in overrides]
        assert len(written) >= 4, f"{name}.{function}: {written}"
    unknown = {f for overrides in alternatives.values() for f in overrides} - set(vars(reference_module(exercise)))
    assert unknown == set(), f"alternatives replace functions the reference does not have: {unknown}"


@pytest.mark.parametrize("name", EXERCISES)
def test_every_correct_alternative_gets_full_marks_on_the_public_cases(name):
    assert [spot for spot in report(name).unfair if spot.endswith("(public)")] == []


@pytest.mark.parametrize("index", range(HIDDEN_SETS), ids=lambda i: f"set{i + 1}")
@pytest.mark.parametrize("name", EXERCISES)
def test_every_correct_alternative_gets_full_marks_on_every_hidden_set(name, index):
    exercise, cases, expected, _ = all_hidden_sets(name)[index]
    assert unfair_spots(exercise, cases, expected, hidden_alternatives(name, index)) == []


@functools.lru_cache(maxsize=None)
def report(name: str) -> FairnessReport:
    """Per check, over the public cases and all K hidden sets of the tests' key."""
    return fairness_report(all_hidden_sets(name)[0][0], TEST_SECRET, HIDDEN_SETS, XaiGrade().public_seed)


@pytest.mark.parametrize("name", EXERCISES)
def test_tolerances_lie_between_correct_work_and_caught_mistakes(name):
    table = report(name).spreads
    print("\n" + format_report(report(name)))
    too_close = [f"{s.check_id}: correct {s.correct:.3g} ({s.correct_by}), mistake {s.mistake:.3g} ({s.mistake_by})"
                 for s in table.values() if s.measured and (s.correct * MARGIN > 1.0 or s.mistake < MARGIN)]
    assert too_close == []
