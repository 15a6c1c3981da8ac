"""The PDP checks: the expectations table (tests/test_exercises.py runs it) and the reference's correctness."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.inspection import partial_dependence

from helpers import HIDDEN_SEED, hidden_setup
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
    "ice_transposed": {"ice.values", "ice.centered"},
    "ice_centred_at_mean": {"ice.centered"},
    "ice_centered_ignored": {"ice.centered"},
    "ice_pdp_returned": {"ice.values", "ice.centered"},
    "ice_mutates_input": {"ice.input_unchanged"},
    "ale_mplot": {"ale.differences", "ale.centred"},
    "ale_all_rows": {"ale.differences", "ale.centred"},
    "ale_not_accumulated": {"ale.differences", "ale.centred"},
    "ale_uniform_edges": {"ale.edges", "ale.differences", "ale.centred"},
    "ale_left_closed": {"ale.differences", "ale.centred"},
    "ale_not_centred": {"ale.centred"},
    "ale_unweighted_centring": {"ale.centred"},
}
# (variant, check) -> message key where the check names the mistake by its symptom (the flag's own message)
MESSAGE_FOR = {("mutates_input_1d", "pdp_1d.input_unchanged"): "input_mutated",
               ("mutates_input_2d", "pdp_2d.input_unchanged"): "input_mutated",
               ("ice_mutates_input", "ice.input_unchanged"): "input_mutated"}


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
        elif case.probe == "probe_pd_2d":
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


# --- ICE and ALE (Aufgabe 4 and 5): the reference against closed forms and scikit-learn, not against itself -------

def _cases(probe, seeds=(HIDDEN_SEED,)):
    from autograder.checks import Exercise

    exercise = Exercise("pdp")
    public = [c for c in exercise.build_cases(7, public=True) if c.probe == probe]
    return public + [c for seed in seeds for c in exercise.build_cases(seed, public=False) if c.probe == probe]


def test_ice_is_scikit_learns_individual_curves_and_the_linear_closed_form():
    for case in _cases("probe_ice"):
        model, X, feature, grid = (case.inputs[k] for k in ("model", "X", "feature", "grid"))
        ours = reference.ice_curves(model, X, feature, grid)
        theirs = partial_dependence(model, X, [feature], method="brute", kind="individual",
                                    custom_values={feature: grid})["individual"][0]
        np.testing.assert_allclose(ours, theirs, rtol=1e-10)
        assert ours.shape == (len(X), len(grid)) and len(X) != len(grid)
        centred = reference.ice_curves(model, X, feature, grid, centered=True)
        np.testing.assert_allclose(centred, theirs - theirs[:, [0]], rtol=1e-10, atol=1e-12)
        if hasattr(model, "coef_"):  # f(x) = b + x.w: row i's curve is f(x_i) + w_j (grid - x_ij)
            j = list(X.columns).index(feature)
            exact = model.predict(X)[:, None] + model.coef_[j] * (grid[None, :] - X[feature].to_numpy()[:, None])
            np.testing.assert_allclose(ours, exact, rtol=1e-9)
            np.testing.assert_allclose(centred, np.tile(model.coef_[j] * (grid - grid[0]), (len(X), 1)), atol=1e-9)


def _upper_edges(x, edges):
    """For each value, the upper edge of its interval, found by a plain loop (x = z_0 lies in the first)."""
    return np.array([edges[1] if value == edges[0] else min(z for z in edges if z >= value) for value in x])


class Additive:
    """f(x) = g(x_0) + h(x_1, x_2, ...) with a non-linear g: its uncentred ALE on x_0 is g(z_k) - g(z_0)."""

    def g(self, v):
        return 3 * np.sin(v) + np.floor(2 * v)

    def predict(self, data):
        values = np.asarray(data, dtype=np.float64)
        return self.g(values[:, 0]) + values[:, 1] ** 2 + values[:, 1] * values[:, 2]


def test_ale_of_an_additive_model_is_g_of_the_edges_centred_over_the_rows():
    rng = np.random.default_rng(3)
    for n_rows, bins in ((40, 6), (57, 9), (25, 4)):
        a = rng.normal(size=n_rows)
        X = pd.DataFrame({"a": a, "b": 0.7 * a + rng.normal(size=n_rows), "c": rng.normal(size=n_rows)})
        model = Additive()
        edges, ale = reference.ale_1d(model, X, "a", bins)
        np.testing.assert_allclose(edges, np.unique(np.quantile(a, np.linspace(0, 1, bins + 1))))
        uncentred = model.g(edges) - model.g(edges[0])
        np.testing.assert_allclose(ale - ale[0], uncentred, atol=1e-12)
        at_rows = model.g(_upper_edges(a, edges)) - model.g(edges[0])  # each row at the upper edge of its interval
        np.testing.assert_allclose(ale, uncentred - at_rows.mean(), atol=1e-12)


def test_ale_of_a_linear_model_is_its_coefficient_times_the_distance():
    for case in _cases("probe_ale"):
        model, X, feature, bins = (case.inputs[k] for k in ("model", "X", "feature", "bins"))
        if not hasattr(model, "coef_"):
            continue
        edges, ale = reference.ale_1d(model, X, feature, bins)
        slope = model.coef_[list(X.columns).index(feature)]
        np.testing.assert_allclose(ale - ale[0], slope * (edges - edges[0]), rtol=1e-9, atol=1e-12)
        at_rows = slope * (_upper_edges(X[feature].to_numpy(), edges) - edges[0])
        np.testing.assert_allclose(ale, slope * (edges - edges[0]) - at_rows.mean(), rtol=1e-9, atol=1e-12)


def test_ale_of_the_interaction_model_uses_the_mean_of_b_in_each_interval_and_differs_from_the_pdp():
    """f = a*b + c**2: the local effect of a on (z_(k-1), z_k] is (z_k - z_(k-1)) times the mean of b over the rows in
    that interval; the PDP's increment uses the mean of b over all rows. With a and b correlated they differ."""
    for case in _cases("probe_ale", seeds=(HIDDEN_SEED, 1, 2)):
        if case.id != "correlated_ale":
            continue
        X, bins = case.inputs["X"], case.inputs["bins"]
        edges, ale = reference.ale_1d(case.inputs["model"], X, "a", bins)
        a, b = X["a"].to_numpy(), X["b"].to_numpy()
        upper = _upper_edges(a, edges)
        mean_b = np.array([b[upper == z].mean() for z in edges[1:]])
        np.testing.assert_allclose(np.diff(ale), np.diff(edges) * mean_b, rtol=1e-10)
        pdp_increments = np.diff(edges) * b.mean()
        assert np.abs(np.diff(ale) - pdp_increments).max() > 0.1
        assert X["a"].corr(X["b"]) > 0.6


def test_every_ale_case_has_no_empty_interval_and_no_ice_case_is_square():
    from xaikit.selfcheck.exercises.pdp import ale_intervals

    seeds = (HIDDEN_SEED, 0, 1, 2, 3, 4, 5)
    for case in _cases("probe_ale", seeds):
        edges, counts = ale_intervals(case.inputs["X"][case.inputs["feature"]], case.inputs["bins"])
        assert counts.min() >= 1 and counts.sum() == len(case.inputs["X"]), case.label
        assert len(edges) >= 4, case.label
        if case.id == "correlated_ale":  # rows on inner edges: (z_(k-1), z_k] and [z_(k-1), z_k) differ
            assert np.isin(case.inputs["X"]["a"], edges[1:-1]).any(), case.label
    for case in _cases("probe_ice", seeds):
        assert len(case.inputs["X"]) != len(case.inputs["grid"])
