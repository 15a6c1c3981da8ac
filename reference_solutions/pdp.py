"""Reference partial dependence (brute force), ICE curves and first-order ALE, and the known-wrong variants."""

from __future__ import annotations

import numpy as np


def _as_array(X):
    """A float copy of X as ndarray; the caller's X is never touched."""
    return np.array(X, dtype=np.float64, copy=True)


def _predict(model, X, template):
    # Keep DataFrames as DataFrames so models fitted with feature names do not warn.
    if hasattr(template, "columns"):
        import pandas as pd

        X = pd.DataFrame(X, columns=template.columns, index=template.index)
    return np.asarray(model.predict(X), dtype=np.float64)


def _column(X, feature):
    if isinstance(feature, str):
        return list(X.columns).index(feature)
    return int(feature)


def partial_dependence_1d(model, X, feature, grid):
    """Average prediction when column ``feature`` is set to each grid value.

    One batched predict over all grid points (n_rows * n_grid rows) instead of a
    Python loop of predicts: the cost of the math, not of the interpreter.
    """
    column = _column(X, feature)
    data = _as_array(X)
    grid = np.asarray(grid, dtype=np.float64)
    stacked = np.tile(data, (len(grid), 1))
    stacked[:, column] = np.repeat(grid, len(data))
    predictions = _predict(model, stacked, _tile_template(X, len(grid)))
    return predictions.reshape(len(grid), len(data)).mean(axis=1)


def partial_dependence_2d(model, X, features, grid_a, grid_b):
    """Average prediction on the grid ``grid_a x grid_b``; result[i, j] is (a_i, b_j)."""
    column_a, column_b = _column(X, features[0]), _column(X, features[1])
    data = _as_array(X)
    grid_a = np.asarray(grid_a, dtype=np.float64)
    grid_b = np.asarray(grid_b, dtype=np.float64)
    n_points = len(grid_a) * len(grid_b)
    stacked = np.tile(data, (n_points, 1))
    stacked[:, column_a] = np.repeat(np.repeat(grid_a, len(grid_b)), len(data))
    stacked[:, column_b] = np.repeat(np.tile(grid_b, len(grid_a)), len(data))
    predictions = _predict(model, stacked, _tile_template(X, n_points))
    return predictions.reshape(len(grid_a), len(grid_b), len(data)).mean(axis=2)


def _tile_template(X, repeats):
    if hasattr(X, "columns"):
        import pandas as pd

        return pd.DataFrame(np.zeros((len(X) * repeats, X.shape[1])), columns=X.columns)
    return None


def ice_curves(model, X, feature, grid, centered=False):
    """One curve per row of X: result[i, k] is the prediction for row i with ``feature`` set to grid[k]
    (one batched predict); ``centered``: each curve minus its own value at grid[0] (c-ICE)."""
    column = _column(X, feature)
    data = _as_array(X)
    grid = np.asarray(grid, dtype=np.float64)
    stacked = np.tile(data, (len(grid), 1))
    stacked[:, column] = np.repeat(grid, len(data))
    curves = _predict(model, stacked, _tile_template(X, len(grid))).reshape(len(grid), len(data)).T
    return curves - curves[:, :1] if centered else curves


def _ale_parts(model, X, feature, edges, closed="right"):
    """Per interval k = 1..K of ``edges`` (rows with z_{k-1} < x <= z_k; the first also takes x = z_0): its row
    count n_k and its local effect, the mean over its rows of f(z_k, x_i) - f(z_{k-1}, x_i). ``closed="left"``
    (a known mistake): intervals [z_{k-1}, z_k), as np.digitize without right=True."""
    column = _column(X, feature)
    data = _as_array(X)
    side = "left" if closed == "right" else "right"
    interval = np.clip(np.searchsorted(edges, data[:, column], side=side), 1, len(edges) - 1)
    lower, upper = data.copy(), data.copy()
    lower[:, column] = edges[interval - 1]
    upper[:, column] = edges[interval]
    predictions = _predict(model, np.vstack([lower, upper]), _tile_template(X, 2))
    difference = predictions[len(data):] - predictions[:len(data)]
    counts = np.bincount(interval, minlength=len(edges))[1:]
    with np.errstate(invalid="ignore", divide="ignore"):  # (an empty interval: NaN, never in the cases)
        local = np.bincount(interval, weights=difference, minlength=len(edges))[1:] / counts
    return counts, local


def _quantile_edges(X, feature, bins):
    return np.unique(np.quantile(_as_array(X)[:, _column(X, feature)], np.linspace(0, 1, bins + 1)))


def _centred(uncentred, counts):
    """Apley & Zhu: minus the uncentred effect averaged over the rows, each at the upper edge of its interval."""
    return uncentred - np.sum(counts * uncentred[1:]) / np.sum(counts)


def ale_1d(model, X, feature, bins):
    """First-order accumulated local effects on the quantile edges of ``feature`` (Apley & Zhu 2020):
    ``(edges, ale)``, ``ale[k]`` the centred accumulated effect at ``edges[k]``."""
    edges = _quantile_edges(X, feature, bins)
    counts, local = _ale_parts(model, X, feature, edges)
    return edges, _centred(np.concatenate([[0.0], np.cumsum(local)]), counts)


# ---------------------------------------------------------------------------------------------
# Known-wrong variants: the mistakes students make. Each replaces one reference function.

def _loop_ice(model, X, feature, grid):
    column = _column(X, feature)
    data = _as_array(X)
    curves = []
    for value in np.asarray(grid, dtype=np.float64):
        modified = data.copy()
        modified[:, column] = value
        curves.append(_predict(model, modified, X))
    return np.array(curves).T  # (n_rows, n_grid): one ICE curve per row


def ice_instead_of_mean(model, X, feature, grid):
    return _loop_ice(model, X, feature, grid)


def mean_over_wrong_axis(model, X, feature, grid):
    return _loop_ice(model, X, feature, grid).mean(axis=1)  # average over grid, per row


def grid_ignored(model, X, feature, grid):
    # Uses the feature's observed values instead of the grid it was given.
    column = _column(X, feature)
    observed = np.quantile(_as_array(X)[:, column], np.linspace(0.05, 0.95, len(grid)))
    return partial_dependence_1d(model, X, feature, observed)


def copy_not_predicted(model, X, feature, grid):
    # Sets the column in a copy, then predicts on the unchanged X: the same mean for every grid value.
    column = _column(X, feature)
    data = _as_array(X)
    values = []
    for value in np.asarray(grid, dtype=np.float64):
        modified = data.copy()
        modified[:, column] = value
        values.append(float(np.mean(_predict(model, data, X))))
    return np.array(values)


def mutates_input_1d(model, X, feature, grid):
    column = _column(X, feature)
    values = []
    for value in np.asarray(grid, dtype=np.float64):
        if hasattr(X, "iloc"):
            X.iloc[:, column] = value
        else:
            X[:, column] = value
        values.append(float(np.mean(model.predict(X))))
    return np.array(values)


def transposed_2d(model, X, features, grid_a, grid_b):
    return partial_dependence_2d(model, X, features, grid_a, grid_b).T


def swapped_features_2d(model, X, features, grid_a, grid_b):
    # Grid a applied to feature b and vice versa.
    return partial_dependence_2d(model, X, (features[1], features[0]), grid_a, grid_b)


def mutates_input_2d(model, X, features, grid_a, grid_b):
    result = partial_dependence_2d(model, X, features, grid_a, grid_b)
    column = _column(X, features[0])
    if hasattr(X, "iloc"):
        X.iloc[:, column] = grid_a[-1]
    else:
        X[:, column] = grid_a[-1]
    return result


def ice_transposed(model, X, feature, grid, centered=False):
    # One row per grid value (the stacked predictions reshaped without the transpose).
    return ice_curves(model, X, feature, grid, centered).T


def ice_centred_at_mean(model, X, feature, grid, centered=False):
    # Centres each curve at its own mean over the grid instead of at its value at grid[0].
    curves = ice_curves(model, X, feature, grid)
    return curves - curves.mean(axis=1, keepdims=True) if centered else curves


def ice_centered_ignored(model, X, feature, grid, centered=False):
    return ice_curves(model, X, feature, grid)


def ice_pdp_returned(model, X, feature, grid, centered=False):
    # The mean of the curves (the PDP), not the curves.
    return ice_curves(model, X, feature, grid, centered).mean(axis=0)


def ice_mutates_input(model, X, feature, grid, centered=False):
    curves = []
    for value in np.asarray(grid, dtype=np.float64):
        X[feature] = value  # the caller's X
        curves.append(np.asarray(model.predict(X), dtype=np.float64))
    curves = np.array(curves).T
    return curves - curves[:, :1] if centered else curves


def _interval_of_rows(X, feature, edges):
    x = _as_array(X)[:, _column(X, feature)]
    return np.clip(np.searchsorted(edges, x, side="left"), 1, len(edges) - 1)


def ale_mplot(model, X, feature, bins):
    # The M-plot: at each edge the mean prediction of the rows in the interval below it (z_0: the first's),
    # centred like ALE. It mixes in the effect of every feature correlated with this one.
    edges = _quantile_edges(X, feature, bins)
    interval = _interval_of_rows(X, feature, edges)
    predictions = _predict(model, _as_array(X), X)
    counts = np.bincount(interval, minlength=len(edges))[1:]
    means = np.bincount(interval, weights=predictions, minlength=len(edges))[1:] / counts
    return edges, _centred(np.concatenate([means[:1], means]), counts)


def ale_all_rows(model, X, feature, bins):
    # Every row in every interval: the local effects become differences of the PDP, f(z_k) - f(z_{k-1})
    # averaged over all rows.
    edges = _quantile_edges(X, feature, bins)
    counts, _ = _ale_parts(model, X, feature, edges)
    pdp = partial_dependence_1d(model, X, feature, edges)
    return edges, _centred(pdp - pdp[0], counts)


def ale_not_accumulated(model, X, feature, bins):
    # The local effect of each interval, not their running sum.
    edges = _quantile_edges(X, feature, bins)
    counts, local = _ale_parts(model, X, feature, edges)
    return edges, _centred(np.concatenate([[0.0], local]), counts)


def ale_uniform_edges(model, X, feature, bins):
    # Equal-width intervals between the smallest and the largest value instead of quantiles.
    x = _as_array(X)[:, _column(X, feature)]
    edges = np.linspace(x.min(), x.max(), bins + 1)
    counts, local = _ale_parts(model, X, feature, edges)
    return edges, _centred(np.concatenate([[0.0], np.cumsum(local)]), counts)


def ale_left_closed(model, X, feature, bins):
    # Intervals [z_(k-1), z_k) (np.digitize without right=True): a row on an interior edge lands one interval higher.
    edges = _quantile_edges(X, feature, bins)
    counts, local = _ale_parts(model, X, feature, edges, closed="left")
    return edges, _centred(np.concatenate([[0.0], np.cumsum(local)]), counts)


def ale_not_centred(model, X, feature, bins):
    edges = _quantile_edges(X, feature, bins)
    _, local = _ale_parts(model, X, feature, edges)
    return edges, np.concatenate([[0.0], np.cumsum(local)])


def ale_unweighted_centring(model, X, feature, bins):
    # Centred by the plain mean of the K+1 values instead of the mean over the rows.
    edges, uncentred = ale_not_centred(model, X, feature, bins)
    return edges, uncentred - uncentred.mean()


VARIANTS = {
    "ice_instead_of_mean": {"partial_dependence_1d": ice_instead_of_mean},
    "mean_over_wrong_axis": {"partial_dependence_1d": mean_over_wrong_axis},
    "grid_ignored": {"partial_dependence_1d": grid_ignored},
    "copy_not_predicted": {"partial_dependence_1d": copy_not_predicted},
    "mutates_input_1d": {"partial_dependence_1d": mutates_input_1d},
    "transposed_2d": {"partial_dependence_2d": transposed_2d},
    "swapped_features_2d": {"partial_dependence_2d": swapped_features_2d},
    "mutates_input_2d": {"partial_dependence_2d": mutates_input_2d},
    "ice_transposed": {"ice_curves": ice_transposed},
    "ice_centred_at_mean": {"ice_curves": ice_centred_at_mean},
    "ice_centered_ignored": {"ice_curves": ice_centered_ignored},
    "ice_pdp_returned": {"ice_curves": ice_pdp_returned},
    "ice_mutates_input": {"ice_curves": ice_mutates_input},
    "ale_mplot": {"ale_1d": ale_mplot},
    "ale_all_rows": {"ale_1d": ale_all_rows},
    "ale_not_accumulated": {"ale_1d": ale_not_accumulated},
    "ale_uniform_edges": {"ale_1d": ale_uniform_edges},
    "ale_left_closed": {"ale_1d": ale_left_closed},
    "ale_not_centred": {"ale_1d": ale_not_centred},
    "ale_unweighted_centring": {"ale_1d": ale_unweighted_centring},
}
