"""The shared check helpers the exercises state their checks with: criteria built from compare.py, the probe's
input snapshot (the 'input unchanged' checks), the per-process model cache, and the grading steps' one
constructor for submissions that could not run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from xaikit.selfcheck.compare import Tolerance, all_of, close, flag, same_shape, within
from xaikit.selfcheck.probe import Snapshot, cached_model, fingerprint, unchanged_input

TOL = Tolerance(rtol=0.0, atol=1e-3)


def test_close_accepts_within_tolerance_and_names_what_is_off():
    expected = {"map": np.zeros((2, 3))}
    assert close("map", TOL)({"map": np.full((2, 3), 5e-4)}, expected) is None
    assert close("map", TOL)({"map": np.full((2, 3), 0.1)}, expected).key == "values"
    assert close("map", TOL)({"map": np.zeros((3, 2))}, expected).key == "shape"
    assert close("map", TOL)({}, expected).key == "invalid_result"


def test_same_shape_judges_the_shape_only():
    expected = {"pd": np.zeros((3, 4))}
    assert same_shape("pd")({"pd": np.ones((3, 4))}, expected) is None  # other values: another check's
    failure = same_shape("pd")({"pd": np.ones((4, 3))}, expected)
    assert (failure.key, failure.params["expected"], failure.params["got"]) == ("shape", (3, 4), (4, 3))
    assert same_shape("pd")({"pd": np.array("__invalid__ too large")}, expected).key == "invalid_result"


def test_flag_within_and_all_of():
    assert flag("input_unchanged", "input_mutated")({"input_unchanged": np.array(True)}) is None
    assert flag("input_unchanged", "input_mutated")({"input_unchanged": np.array(False)}).key == "input_mutated"
    assert within("s", 0.0, 1.0, "heatmap_range")({"s": np.array([0.0, 1.2])}).key == "heatmap_range"
    calls = []

    def later(student, expected, case=None):
        calls.append(1)
        return None

    criterion = all_of(flag("a", "first"), later)
    assert criterion({"a": np.array(False)}, {}).key == "first"
    assert calls == []  # the first failure decides; later criteria are not evaluated
    assert criterion({"a": np.array(True)}, {}) is None and calls == [1]


@pytest.mark.parametrize("make, mutate", [
    (lambda: pd.DataFrame({"a": [1.0, 2.0]}), lambda x: x.__setitem__("a", 0.0)),
    (lambda: np.ones((2, 2)), lambda x: x.__setitem__((0, 0), 5.0)),
    (lambda: np.ones((2, 2)), lambda x: x.resize((4,), refcheck=False)),
    (lambda: torch.ones(2, 2), lambda x: x.add_(1.0)),
    (lambda: torch.ones(2, 2), lambda x: x.requires_grad_()),
    (lambda: torch.ones(2, 2), lambda x: setattr(x, "grad", torch.zeros(2, 2))),
])
def test_snapshot_sees_every_change_of_the_callers_object(make, mutate):
    """What the probe hands back (``after()``) differs from the fingerprint of the input as built exactly when
    the caller's object changed; the comparison is the grader's (``unchanged_input``)."""
    built = fingerprint(make())
    untouched = Snapshot(make())
    assert untouched.after() == built
    changed = Snapshot(make())
    mutate(changed.value)
    assert changed.after() != built
    check = unchanged_input("x_after", "x", "input_mutated")
    case = type("Case", (), {"inputs": {"x": make()}})()
    assert check({"x_after": np.array(untouched.after())}, {}, case) is None
    assert check({"x_after": np.array(changed.after())}, {}, case).key == "input_mutated"
    assert check({"x_after": np.array(True)}, {}, case).key == "input_mutated"  # (a boolean is no input)


def test_the_model_cache_builds_once_per_key():
    built = []
    key = ("test_check_helpers", object())
    first = cached_model(key, lambda: built.append(1) or {"weights": 1})
    assert cached_model(key, lambda: built.append(1) or {"weights": 2}) is first
    assert built == [1]


def test_the_grading_steps_run_in_the_stated_order():
    from autograder import grading

    assert [step.__name__ for step in grading.STEPS] == ["validate", "restore_test_cells", "scan_code",
                                                         "run_sandboxed", "evaluate_results", "annotate_notebook"]


def test_could_not_run_gives_every_check_zero_points_with_the_reason():
    from autograder.checks import Exercise
    from autograder.grading import could_not_run
    from autograder.references import public_cases

    exercise = Exercise("pdp")
    cases = public_cases(exercise, 0)
    result = could_not_run(exercise, "s1", cases, {}, {}, "kein Notebook", "de")
    assert result.score == 0 and result.max_score == sum(check.points for check in exercise.checks)
    assert {v.message_key for v in result.verdicts} == {"not_run"}
    assert all("kein Notebook" in v.message for v in result.verdicts)
    assert result.notes == ["kein Notebook"] and result.executed is None
    assert could_not_run(exercise, "s1", cases, {}, {}, "x", "de", notes=["detail"]).notes == ["detail"]
