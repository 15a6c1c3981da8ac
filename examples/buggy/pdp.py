"""Realistic mistakes in the PDP exercise (each student = the full solution with these cells replaced)."""

BUGGY = {
    # Averages each row's predictions over the grid (axis=1) instead of each grid point over the rows.
    "buggy_axis": {
        "partial_dependence_1d": '''
def partial_dependence_1d(model, X, feature, grid):
    predictions = []
    for value in grid:
        modified = X.copy()
        modified[feature] = value
        predictions.append(model.predict(modified))
    predictions = np.array(predictions).T  # rows x grid
    return predictions.mean(axis=1)
''',
    },
    # Writes into the caller's X, and builds the 2-D result as (len(grid_b), len(grid_a)).
    "buggy_transposed": {
        "partial_dependence_1d": '''
def partial_dependence_1d(model, X, feature, grid):
    values = []
    for value in grid:
        X[feature] = value
        values.append(model.predict(X).mean())
    return np.array(values)
''',
        "partial_dependence_2d": '''
def partial_dependence_2d(model, X, features, grid_a, grid_b):
    result = np.zeros((len(grid_b), len(grid_a)))
    modified = X.copy()
    for i, a in enumerate(grid_a):
        for j, b in enumerate(grid_b):
            modified[features[0]] = a
            modified[features[1]] = b
            result[j, i] = model.predict(modified).mean()
    return result
''',
    },
    # ALE with every row in every interval: the local effects become the PDP's increments (Aufgabe 5).
    "buggy_ale_all_rows": {
        "ale_1d": '''
def ale_1d(model, X, feature, bins):
    x = X[feature].to_numpy()
    edges = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)))
    k = np.searchsorted(edges, x, side="left")
    k[k == 0] = 1
    counts = np.array([np.sum(k == j) for j in range(1, len(edges))])
    local = []
    for j in range(1, len(edges)):
        lower, upper = X.copy(), X.copy()
        lower[feature] = edges[j - 1]
        upper[feature] = edges[j]
        local.append(np.mean(model.predict(upper) - model.predict(lower)))
    accumulated = np.concatenate([[0.0], np.cumsum(local)])
    return edges, accumulated - np.sum(counts * accumulated[1:]) / len(X)
''',
    },
}
