"""Correct alternatives of the partial-dependence exercise, written the way students write them.

The spec is the notebook's task text (``source/pdp/pdp.ipynb``, Aufgabe 1 and 2): ``X`` a DataFrame, ``feature``
a column name, "per Brute Force": for each grid value set the column in a *copy* of ``X``, predict, average over
all rows; the 2-D result has shape ``(len(grid_a), len(grid_b))`` with ``[i, j]`` at ``(grid_a[i], grid_b[j])``;
the caller's ``X`` stays unchanged. The reference (``reference_solutions/pdp.py``) stacks all grid points into one
float64 array and predicts once; each alternative below says how it differs from that.

Aufgabe 4 and 5 (``ice_curves``, ``ale_1d``): ICE as an array (len(X), len(grid)), ``centered=True`` minus each
curve's value at grid[0]; ALE on the edges ``np.unique(np.quantile(X[feature], np.linspace(0, 1, bins + 1)))``,
interval k = the rows with z_(k-1) < x <= z_k (the first also takes x = z_0), local effect = the mean over its rows of
f(z_k, x_i) - f(z_(k-1), x_i), accumulated from ale[0] = 0 and centred by sum_k n_k ale[k] / n.
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


# --- ice_curves -------------------------------------------------------------------------------------------------

def ice_loop_over_grid(model, X, feature, grid, centered=False):
    # One fresh copy and one predict per grid value, the columns stacked with np.column_stack.
    columns = []
    for value in grid:
        X_copy = X.copy()
        X_copy[feature] = value
        columns.append(model.predict(X_copy))
    curves = np.column_stack(columns)
    if centered:
        curves = curves - curves[:, [0]]
    return curves


def ice_loop_over_rows(model, X, feature, grid, centered=False):
    # Row by row: the row repeated len(grid) times (`pd.concat`), its column set to the grid, one predict per row;
    # the centring per curve inside the loop.
    curves = []
    for i in range(len(X)):
        repeated = pd.concat([X.iloc[[i]]] * len(grid), ignore_index=True)
        repeated[feature] = np.asarray(grid)
        curve = model.predict(repeated)
        curves.append(curve - curve[0] if centered else curve)
    return np.array(curves)


def ice_numpy_repeat_float32(model, X, feature, grid, centered=False):
    # A float32 numpy copy, each row repeated len(grid) times (np.repeat, row-major) with the grid tiled beside it,
    # one predict on a DataFrame, reshaped straight to (len(X), len(grid)); np.subtract with a broadcast column.
    data = X.to_numpy(dtype=np.float32)
    column = X.columns.get_loc(feature)
    big = np.repeat(data, len(grid), axis=0)
    big[:, column] = np.tile(np.asarray(grid, dtype=np.float32), len(data))
    curves = np.asarray(model.predict(pd.DataFrame(big, columns=X.columns))).reshape(len(data), len(grid))
    return np.subtract(curves, curves[:, :1]) if centered else curves


def ice_sklearn_individual(model, X, feature, grid, centered=False):
    # scikit-learn's brute force with kind="individual" on the given grid: "individual" has shape
    # (1, len(X), len(grid)).
    from sklearn.inspection import partial_dependence

    result = partial_dependence(model, X, [feature], method="brute", kind="individual",
                                custom_values={feature: np.asarray(grid)})
    curves = result["individual"][0]
    return curves - curves[:, 0][:, None] if centered else curves


def ice_cross_merge(model, X, feature, grid, centered=False):
    # pandas cross join: every row without the feature times every grid value, columns back in X's order,
    # one predict.
    rest = X.drop(columns=[feature]).reset_index(drop=True)
    joined = rest.merge(pd.DataFrame({feature: np.asarray(grid)}), how="cross")
    predictions = model.predict(joined[list(X.columns)])
    curves = predictions.reshape(len(X), len(grid))  # (cross join: row-major over rest, then grid)
    if centered:
        curves = curves - np.repeat(curves[:, 0:1], len(grid), axis=1)
    return curves


# --- ale_1d -----------------------------------------------------------------------------------------------------

def ale_interval_loop(model, X, feature, bins):
    # The definition literally: a loop over the intervals with a boolean mask, two predicts per interval.
    x = X[feature].to_numpy()
    edges = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)))
    effects, counts = [], []
    for k in range(1, len(edges)):
        inside = (x > edges[k - 1]) & (x <= edges[k])
        if k == 1:
            inside |= x == edges[0]
        low, high = X[inside].copy(), X[inside].copy()
        low[feature] = edges[k - 1]
        high[feature] = edges[k]
        effects.append(np.mean(model.predict(high) - model.predict(low)))
        counts.append(inside.sum())
    ale = np.concatenate([[0.0], np.cumsum(effects)])
    return edges, ale - np.sum(np.array(counts) * ale[1:]) / len(X)


def ale_pandas_cut_groupby(model, X, feature, bins):
    # pandas: `pd.cut(..., include_lowest=True)` for the intervals (right-closed by default), the differences
    # averaged with groupby, the centring as np.average with the interval sizes as weights.
    edges = np.unique(X[feature].quantile(np.linspace(0, 1, bins + 1)).to_numpy())
    k = pd.cut(X[feature], bins=edges, labels=False, include_lowest=True).to_numpy()
    low, high = X.copy(), X.copy()
    low[feature] = edges[k]
    high[feature] = edges[k + 1]
    frame = pd.DataFrame({"k": k, "diff": model.predict(high) - model.predict(low)})
    local = frame.groupby("k")["diff"].mean().sort_index()
    sizes = frame["k"].value_counts().sort_index()
    ale = np.concatenate([[0.0], local.cumsum().to_numpy()])
    return edges, ale - np.average(ale[1:], weights=sizes.to_numpy())


def ale_qcut(model, X, feature, bins):
    # `pd.qcut(..., retbins=True, duplicates="drop")`: the same quantile edges and right-closed intervals with the
    # lowest value included; local effects with np.bincount; centred by the mean over the rows of each row's value.
    codes, edges = pd.qcut(X[feature], q=bins, labels=False, retbins=True, duplicates="drop")
    k = np.asarray(codes) + 1
    low, high = X.copy(), X.copy()
    low[feature] = edges[k - 1]
    high[feature] = edges[k]
    diff = model.predict(high) - model.predict(low)
    local = np.bincount(k, weights=diff)[1:] / np.bincount(k)[1:]
    ale = np.concatenate([[0.0], np.cumsum(local)])
    return edges, ale - ale[k].mean()


def ale_digitize_float32(model, X, feature, bins):
    # A float32 copy (`X.astype(np.float32)`), the interval by `np.digitize(..., right=True)` (0 for x = z_0,
    # moved into interval 1), all lower and upper points in one predict.
    data = X.astype(np.float32)
    x = data[feature].to_numpy()
    edges = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)))
    k = np.maximum(np.digitize(x, edges, right=True), 1)
    both = pd.concat([data.assign(**{feature: edges[k - 1]}), data.assign(**{feature: edges[k]})], ignore_index=True)
    predictions = np.asarray(model.predict(both), dtype=np.float64)
    diff = predictions[len(x):] - predictions[:len(x)]
    n_k = np.array([np.sum(k == j) for j in range(1, len(edges))])
    local = np.array([diff[k == j].mean() for j in range(1, len(edges))])
    ale = np.concatenate([[0.0], np.cumsum(local)])
    return edges, ale - (n_k * ale[1:]).sum() / n_k.sum()


def ale_searchsorted_numpy(model, X, feature, bins):
    # numpy throughout: `np.searchsorted(edges, x, side="left")` (then x = z_0 moved into interval 1), predicts on
    # bare arrays, centred by np.mean over the rows of the uncentred value at each row's upper edge.
    column = X.columns.get_loc(feature)
    data = X.to_numpy(dtype=float)
    edges = np.unique(np.quantile(data[:, column], np.linspace(0, 1, bins + 1)))
    k = np.searchsorted(edges, data[:, column], side="left")
    k[k == 0] = 1
    low, high = data.copy(), data.copy()
    low[:, column] = edges[k - 1]
    high[:, column] = edges[k]
    diff = model.predict(high) - model.predict(low)
    local = np.array([diff[k == j].mean() for j in range(1, len(edges))])
    ale = np.insert(np.cumsum(local), 0, 0.0)
    return edges, ale - np.mean(ale[k])


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
    "ice_loop_over_grid": {"ice_curves": ice_loop_over_grid},
    "ice_loop_over_rows": {"ice_curves": ice_loop_over_rows},
    "ice_numpy_repeat_float32": {"ice_curves": ice_numpy_repeat_float32},
    "ice_sklearn_individual": {"ice_curves": ice_sklearn_individual},
    "ice_cross_merge": {"ice_curves": ice_cross_merge},
    "ale_interval_loop": {"ale_1d": ale_interval_loop},
    "ale_pandas_cut_groupby": {"ale_1d": ale_pandas_cut_groupby},
    "ale_qcut": {"ale_1d": ale_qcut},
    "ale_digitize_float32": {"ale_1d": ale_digitize_float32},
    "ale_searchsorted_numpy": {"ale_1d": ale_searchsorted_numpy},
}
