"""The PDP checks: reference correctness, and every known mistake loses exactly its checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.inspection import partial_dependence

from helpers import indistinguishable_variants, grade_namespace, hidden_setup, variant_overrides
from reference_solutions import pdp as reference

# variant -> the checks it must fail (and nothing else); the message must be the variant's own.
EXPECTED_LOSSES = {
    "ice_instead_of_mean": {"pdp_1d.linear_exact", "pdp_1d.values"},
    "mean_over_wrong_axis": {"pdp_1d.linear_exact", "pdp_1d.values"},
    "grid_ignored": {"pdp_1d.linear_exact", "pdp_1d.values"},
    "copy_not_predicted": {"pdp_1d.linear_exact", "pdp_1d.values"},
    "mutates_input_1d": {"pdp_1d.input_unchanged"},
    "transposed_2d": {"pdp_2d.shape", "pdp_2d.values"},
    "swapped_features_2d": {"pdp_2d.values"},
    "mutates_input_2d": {"pdp_2d.input_unchanged"},
}
MESSAGE_FOR_FLAG = {"mutates_input_1d": "input_mutated", "mutates_input_2d": "input_mutated"}


def test_reference_passes_every_check():
    verdicts = grade_namespace("pdp", {})
    assert all(v.passed for v in verdicts.values()), {k: v.message for k, v in verdicts.items() if not v.passed}


@pytest.mark.parametrize("variant_id", sorted(EXPECTED_LOSSES))
def test_each_known_mistake_loses_exactly_its_checks(variant_id):
    verdicts = grade_namespace("pdp", variant_overrides("pdp", variant_id))
    failed = {check_id for check_id, v in verdicts.items() if not v.passed}
    assert failed == EXPECTED_LOSSES[variant_id]
    for check_id in failed:
        assert verdicts[check_id].message_key == MESSAGE_FOR_FLAG.get(variant_id, variant_id)


def test_every_variant_differs_from_the_reference_on_a_case_of_each_check_naming_it():
    assert indistinguishable_variants("pdp") == []


def test_reference_matches_sklearn_brute_and_the_exact_linear_answer():
    exercise, cases, expected, _ = hidden_setup("pdp")
    for case in cases:
        inputs = case.inputs
        if case.probe == "probe_pd_1d":
            grid = inputs["grid"]
            ours = reference.partial_dependence_1d(inputs["model"], inputs["X"], inputs["feature"], grid)
            theirs = partial_dependence(inputs["model"], inputs["X"], [inputs["feature"]], method="brute",
                                        kind="average", custom_values={inputs["feature"]: grid})
            np.testing.assert_allclose(ours, theirs["average"][0], rtol=1e-10)
            if "linear" in case.tags:
                model, X, column = inputs["model"], inputs["X"], list(inputs["X"].columns).index(inputs["feature"])
                exact = model.intercept_ + X.to_numpy().mean(axis=0) @ model.coef_ \
                    + model.coef_[column] * (grid - X.iloc[:, column].mean())
                np.testing.assert_allclose(ours, exact, rtol=1e-9)
        else:
            a, b = inputs["features"]
            ours = reference.partial_dependence_2d(inputs["model"], inputs["X"], (a, b), inputs["grid_a"], inputs["grid_b"])
            theirs = partial_dependence(inputs["model"], inputs["X"], [a, b], method="brute", kind="average",
                                        custom_values={a: inputs["grid_a"], b: inputs["grid_b"]})
            np.testing.assert_allclose(ours, theirs["average"][0], rtol=1e-10)


def test_reference_leaves_x_unchanged_and_accepts_numpy_grids():
    X = pd.DataFrame(np.arange(12.0).reshape(4, 3), columns=["a", "b", "c"])
    before = X.copy()

    class Sum:
        def predict(self, data):
            return np.asarray(data).sum(axis=1)

    result = reference.partial_dependence_1d(Sum(), X, "b", [0.0, 10.0])
    np.testing.assert_allclose(result, [0.0 + X["a"].mean() + X["c"].mean(), 10.0 + X["a"].mean() + X["c"].mean()])
    pd.testing.assert_frame_equal(X, before)


def test_hidden_inputs_differ_from_public_ones():
    from autograder.checks import Exercise

    exercise = Exercise("pdp")
    public = exercise.build_cases(7, public=True)
    hidden = exercise.build_cases(20261125, public=False)
    assert {c.inputs.get("feature") for c in public} != {c.inputs.get("feature") for c in hidden}
    assert len(hidden) > len(public)
