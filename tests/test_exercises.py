"""What every exercise's checks must do, for every registered exercise (autograder/exercises.py).

Each exercise keeps only its expectations table in ``tests/test_<ex>_checks.py``: ``EXPECTED_LOSSES`` (variant ->
the checks it must fail, nothing else) and, where a check names a mistake by its symptom, ``MESSAGE_FOR``
((variant, check) -> message key). The properties themselves are stated once, here:
- every file of the exercise is there (``EXERCISE_FILES``, the list of docs/adding_an_exercise.md);
- the table covers exactly the known mistakes of ``reference_solutions/<ex>.py``;
- the reference passes every check;
- each known mistake loses exactly its checks, with 0 points and its own message;
- each mistake a check names differs from the reference on a case of that check, on the variant tests' set
  and on every one of the K hidden sets the grader would use.
"""

from __future__ import annotations

import xaikit  # noqa: F401  (torch/triton before TensorFlow)

import pytest

from autograder.config import PROJECT_ROOT
from autograder.exercises import EXERCISE_FILES, GENERATED_FILES, assignments
from autograder.grading import blind_spots, reference_module
from helpers import expectations, grade_namespace, hidden_setup, indistinguishable_variants, variant_overrides

EXERCISES = assignments()


def _variant_params() -> list:
    """(exercise, variant) for every row of every expectations table; an exercise whose table cannot be read gets
    one item that fails with the reason (instead of no variant tests at all)."""
    params = []
    for name in EXERCISES:
        try:
            variants = sorted(expectations(name).losses)
        except LookupError:
            params.append(pytest.param(name, None, id=f"{name}-no-expectations"))  # fails, reading the table again
            continue
        params += [pytest.param(name, variant, id=f"{name}-{variant}") for variant in variants]
    return params


@pytest.mark.parametrize("name", EXERCISES)
def test_every_file_of_the_exercise_is_there(name):
    missing = [pattern.format(name=name) for pattern in (*EXERCISE_FILES, *GENERATED_FILES)
               if not (PROJECT_ROOT / pattern.format(name=name)).is_file()]
    assert missing == [], f"{name} lacks {missing} (docs/adding_an_exercise.md lists what an exercise needs)"


@pytest.mark.parametrize("name", EXERCISES)
def test_the_expectations_cover_exactly_the_known_mistakes(name):
    exercise, *_ = hidden_setup(name)
    known = set(reference_module(exercise).VARIANTS)
    assert set(expectations(name).losses) == known
    assert set(exercise.variant_ids()) <= known  # every mistake a check names has its wrong implementation


@pytest.mark.parametrize("name", EXERCISES)
def test_reference_passes_every_check(name):
    verdicts = grade_namespace(name, {})
    assert all(v.passed for v in verdicts.values()), {k: v.message for k, v in verdicts.items() if not v.passed}


@pytest.mark.parametrize("name,variant_id", _variant_params())
def test_each_known_mistake_loses_exactly_its_checks(name, variant_id):
    table = expectations(name)  # (raises the reason when the table cannot be read)
    verdicts = grade_namespace(name, variant_overrides(name, variant_id))
    failed = {check_id for check_id, v in verdicts.items() if not v.passed}
    assert failed == table.losses[variant_id], {k: v.message_key for k, v in verdicts.items() if not v.passed}
    for check_id in failed:
        verdict = verdicts[check_id]
        assert verdict.message_key == table.message_for.get((variant_id, check_id), variant_id), (check_id, verdict.message)
        assert verdict.score == 0, (check_id, verdict.score)


@pytest.mark.parametrize("name", EXERCISES)
def test_every_variant_differs_from_the_reference_on_a_case_of_each_check_naming_it(name):
    """On the variant tests' own hidden set (the one EXPECTED_LOSSES was measured on)."""
    assert blind_spots(*hidden_setup(name)) == []


@pytest.mark.parametrize("name", EXERCISES)
def test_no_blind_spot_on_any_of_the_k_hidden_sets(name):
    assert indistinguishable_variants(name) == []
