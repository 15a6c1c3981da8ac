"""The PDP checks: the expectations table (tests/test_exercises.py runs it) and the reference's correctness."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.inspection import partial_dependence

from helpers import hidden_setup
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
# (variant, check) -> message key where the check names the mistake by its symptom (the flag's own message)
MESSAGE_FOR = {("mutates_input_1d", "pdp_1d.input_unchanged"): "input_mutated",
               ("mutates_input_2d", "pdp_2d.input_unchanged"): "input_mutated"}


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
