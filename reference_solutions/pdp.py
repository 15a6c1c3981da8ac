"""Reference partial dependence (brute force), and the known-wrong variants."""

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


VARIANTS = {
    "ice_instead_of_mean": {"partial_dependence_1d": ice_instead_of_mean},
    "mean_over_wrong_axis": {"partial_dependence_1d": mean_over_wrong_axis},
    "grid_ignored": {"partial_dependence_1d": grid_ignored},
    "copy_not_predicted": {"partial_dependence_1d": copy_not_predicted},
    "mutates_input_1d": {"partial_dependence_1d": mutates_input_1d},
    "transposed_2d": {"partial_dependence_2d": transposed_2d},
    "swapped_features_2d": {"partial_dependence_2d": swapped_features_2d},
    "mutates_input_2d": {"partial_dependence_2d": mutates_input_2d},
}
