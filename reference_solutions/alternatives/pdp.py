"""Correct alternatives of the partial-dependence exercise, written the way students write them.

The spec is the notebook's task text (``source/pdp/pdp.ipynb``, Aufgabe 1 and 2): ``X`` a DataFrame, ``feature``
a column name, "per Brute Force": for each grid value set the column in a *copy* of ``X``, predict, average over
all rows; the 2-D result has shape ``(len(grid_a), len(grid_b))`` with ``[i, j]`` at ``(grid_a[i], grid_b[j])``;
the caller's ``X`` stays unchanged. The reference (``reference_solutions/pdp.py``) stacks all grid points into one
float64 array and predicts once; each alternative below says how it differs from that.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd


# --- partial_dependence_1d ------------------------------------------------------------------------------------

def pd1_fresh_copy_per_value(model, X, feature, grid):
    # The task's steps literally: a fresh X.copy() per grid value, `df[feature] = v`, np.mean of one predict
    # per grid value (a Python loop of predicts, on the DataFrame, float64).
    values = []
    for v in grid:
        X_copy = X.copy()
        X_copy[feature] = v
        values.append(np.mean(model.predict(X_copy)))
    return np.array(values)


def pd1_loc_sum_over_len(model, X, feature, grid):
    # One copy reused for all grid values, the column set with `.loc[:, feature]`, the mean by hand as
    # sum(...) / len(...) in Python floats (another summation order than np.mean's pairwise sum).
    X_mod = X.copy(deep=True)
    result = np.zeros(len(grid))
    for k in range(len(grid)):
        X_mod.loc[:, feature] = grid[k]
        predictions = model.predict(X_mod)
        result[k] = sum(float(p) for p in predictions) / len(predictions)
    return result


def pd1_assign(model, X, feature, grid):
    # `X.assign(**{feature: v})` (returns a new DataFrame, so no explicit copy), a list comprehension, and the
    # mean taken by pandas (`pd.Series(...).mean()`).
    return np.array([pd.Series(model.predict(X.assign(**{feature: value}))).mean() for value in grid])


def pd1_numpy_column_index(model, X, feature, grid):
    # Works on a numpy copy: the column index from `X.columns.get_loc`, `X.to_numpy()` (a copy), and predicts on
    # the bare array (scikit-learn warns about missing feature names; the numbers are the same).
    column = X.columns.get_loc(feature)
    data = X.to_numpy(dtype=float, copy=True)
    pd_values = np.empty(len(grid))
    for k, value in enumerate(grid):
        data[:, column] = value
        pd_values[k] = model.predict(data).mean()
    return pd_values


def pd1_concat_one_predict(model, X, feature, grid):
    # Vectorised the pandas way: all modified copies stacked with `pd.concat`, one predict, the predictions
    # reshaped to (len(grid), len(X)) and averaged per grid value.
    stacked = pd.concat([X.assign(**{feature: value}) for value in grid], ignore_index=True)
    predictions = np.asarray(model.predict(stacked))
    return predictions.reshape(len(grid), len(X)).mean(axis=1)


def pd1_float32(model, X, feature, grid):
    # float32 data (`X.values.astype(np.float32)`, e.g. to save memory), the column by `list(X.columns).index`,
    # a DataFrame again for predict. Trees compare in float32 anyway; the linear and the interaction model see
    # the inputs rounded to float32 (predictions and their mean stay float64, as scikit-learn returns them).
    data = X.values.astype(np.float32)
    column = list(X.columns).index(feature)
    out = []
    for value in grid:
        modified = data.copy()
        modified[:, column] = value
        out.append(np.mean(model.predict(pd.DataFrame(modified, columns=X.columns))))
    return np.array(out)


def pd1_shallow_copy_iloc(model, X, feature, grid):
    # `X.copy(deep=False)` and `.iloc[:, idx] = v` with the index from `X.columns.get_loc`: a shallow copy is a
    # copy under pandas 3's copy-on-write (setting a column never writes into the caller's data); `np.average`.
    idx = X.columns.get_loc(feature)
    pdp = []
    for v in grid:
        X_tmp = X.copy(deep=False)
        X_tmp.iloc[:, idx] = v
        pdp.append(np.average(model.predict(X_tmp)))
    return np.asarray(pdp)


def pd1_sklearn_brute(model, X, feature, grid):
    # scikit-learn's own brute force on the given grid (the notebook's comparison cell: the curves lie exactly
    # on top of each other): `partial_dependence(method="brute", kind="average", custom_values=...)`.
    from sklearn.inspection import partial_dependence

    result = partial_dependence(model, X, [feature], method="brute", kind="average",
                                custom_values={feature: np.asarray(grid)})
    return result["average"][0]


# --- partial_dependence_2d ------------------------------------------------------------------------------------

def pd2_nested_fresh_copy(model, X, features, grid_a, grid_b):
    # Nested loops, a fresh copy per grid pair, `df[name] = value`, np.mean of one predict per pair.
    feature_a, feature_b = features[0], features[1]
    result = np.zeros((len(grid_a), len(grid_b)))
    for i in range(len(grid_a)):
        for j in range(len(grid_b)):
            X_copy = X.copy()
            X_copy[feature_a] = grid_a[i]
            X_copy[feature_b] = grid_b[j]
            result[i, j] = np.mean(model.predict(X_copy))
    return result


def pd2_itertools_product(model, X, features, grid_a, grid_b):
    # `itertools.product` over both grids (a varies slowest), `X.assign`, a flat list reshaped at the end,
    # the mean as sum / len.
    values = []
    for a, b in itertools.product(grid_a, grid_b):
        predictions = model.predict(X.assign(**{features[0]: a, features[1]: b}))
        values.append(predictions.sum() / len(predictions))
    return np.array(values).reshape(len(grid_a), len(grid_b))


def _pd_1d_loc(model, X, feature, grid):
    modified = X.copy()
    curve = []
    for value in grid:
        modified.loc[:, feature] = value
        curve.append(model.predict(modified).mean())
    return np.array(curve)


def pd2_rows_from_1d(model, X, features, grid_a, grid_b):
    # Builds on the student's own 1-D function (here its `.loc` version): for each a, a copy of X with
    # features[0] = a, then the 1-D PDP of features[1] over grid_b is row i; rows stacked with np.vstack.
    rows = []
    for a in grid_a:
        X_a = X.copy()
        X_a[features[0]] = a
        rows.append(_pd_1d_loc(model, X_a, features[1], grid_b))
    return np.vstack(rows)


def pd2_meshgrid_numpy(model, X, features, grid_a, grid_b):
    # Vectorised on numpy: column indices via `get_loc`, `np.meshgrid(indexing="ij")` for the pairs, all copies
    # in one (n_pairs * n_rows, n_features) array, one predict on a DataFrame with X's columns, mean per pair.
    col_a, col_b = X.columns.get_loc(features[0]), X.columns.get_loc(features[1])
    A, B = np.meshgrid(np.asarray(grid_a, float), np.asarray(grid_b, float), indexing="ij")
    n = len(X)
    big = np.tile(X.to_numpy(dtype=float), (A.size, 1))
    big[:, col_a] = np.repeat(A.ravel(), n)
    big[:, col_b] = np.repeat(B.ravel(), n)
    predictions = model.predict(pd.DataFrame(big, columns=X.columns))
    return predictions.reshape(A.size, n).mean(axis=1).reshape(A.shape)


def pd2_columns_outer_loop_b(model, X, features, grid_a, grid_b):
    # Loops with grid_b outside and grid_a inside (filling column j of the result), numpy array without feature
    # names for predict, float32 copy of the data.
    col_a = list(X.columns).index(features[0])
    col_b = list(X.columns).index(features[1])
    data = np.array(X, dtype=np.float32)
    out = np.empty((len(grid_a), len(grid_b)), dtype=np.float64)
    for j, b in enumerate(grid_b):
        for i, a in enumerate(grid_a):
            tmp = data.copy()
            tmp[:, col_a] = a
            tmp[:, col_b] = b
            out[i, j] = np.mean(model.predict(tmp))
    return out


def pd2_sklearn_brute(model, X, features, grid_a, grid_b):
    # scikit-learn's brute force on the given grids (the notebook's second comparison cell).
    from sklearn.inspection import partial_dependence

    feature_a, feature_b = features
    result = partial_dependence(model, X, [feature_a, feature_b], method="brute", kind="average",
                                custom_values={feature_a: np.asarray(grid_a), feature_b: np.asarray(grid_b)})
    return result["average"][0]


ALTERNATIVES = {
    "pd1_fresh_copy_per_value": {"partial_dependence_1d": pd1_fresh_copy_per_value},
    "pd1_loc_sum_over_len": {"partial_dependence_1d": pd1_loc_sum_over_len},
    "pd1_assign": {"partial_dependence_1d": pd1_assign},
    "pd1_numpy_column_index": {"partial_dependence_1d": pd1_numpy_column_index},
    "pd1_concat_one_predict": {"partial_dependence_1d": pd1_concat_one_predict},
    "pd1_float32": {"partial_dependence_1d": pd1_float32},
    "pd1_shallow_copy_iloc": {"partial_dependence_1d": pd1_shallow_copy_iloc},
    "pd1_sklearn_brute": {"partial_dependence_1d": pd1_sklearn_brute},
    "pd2_nested_fresh_copy": {"partial_dependence_2d": pd2_nested_fresh_copy},
    "pd2_itertools_product": {"partial_dependence_2d": pd2_itertools_product},
    "pd2_rows_from_1d": {"partial_dependence_2d": pd2_rows_from_1d},
    "pd2_meshgrid_numpy": {"partial_dependence_2d": pd2_meshgrid_numpy},
    "pd2_columns_outer_loop_b": {"partial_dependence_2d": pd2_columns_outer_loop_b},
    "pd2_sklearn_brute": {"partial_dependence_2d": pd2_sklearn_brute},
}
