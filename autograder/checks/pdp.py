"""Checks of the partial-dependence exercise (scikit-learn, Boston housing).

Hidden inputs: models the notebook never trains (linear regression, whose partial dependence
is known exactly; random forest; gradient boosting; a hand-made model with an interaction),
fitted on other features and rows, non-uniform grids of other lengths, and a non-Boston
data set with other column names. Tolerance: rtol=1e-6, atol=1e-8 — partial dependence is
deterministic, so only floating-point summation order may differ.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from ..compare import Tolerance, array_close, first_failure, flag_true
from ..runner.probe import require
from . import Case, Check

NOTEBOOK = "pdp"
TOLERANCE = Tolerance(rtol=1e-6, atol=1e-8)
PROBE_FUNCTIONS = {"probe_pd_1d": "partial_dependence_1d", "probe_pd_2d": "partial_dependence_2d"}
PUBLIC_FEATURES = ("RM", "LSTAT")
HIDDEN_FEATURES = ("DIS", "NOX", "CRIM", "AGE", "PTRATIO", "TAX", "INDUS")


class InteractionModel(RegressorMixin, BaseEstimator):
    """f(x) = a*b + c**2 on columns a, b, c: ICE curves differ from their mean, so averaging
    over the wrong axis or returning ICE curves cannot pass by accident."""

    def fit(self, X, y=None):
        self.feature_names_in_ = np.array(list(X.columns))
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X):
        values = np.asarray(X, dtype=np.float64)
        return values[:, 0] * values[:, 1] + values[:, 2] ** 2


# --- probes: run in the student's kernel (and in the grader on the reference) ---------------

def probe_pd_1d(namespace, inputs):
    function = require(namespace, "partial_dependence_1d")
    X = inputs["X"]
    before = X.copy(deep=True)
    result = function(inputs["model"], X, inputs["feature"], np.array(inputs["grid"]))
    return {"pd": result, "x_unchanged": bool(X.equals(before))}  # converted (or marked invalid) by the probe runner


def probe_pd_2d(namespace, inputs):
    function = require(namespace, "partial_dependence_2d")
    X = inputs["X"]
    before = X.copy(deep=True)
    result = function(inputs["model"], X, tuple(inputs["features"]),
                      np.array(inputs["grid_a"]), np.array(inputs["grid_b"]))
    return {"pd": result, "x_unchanged": bool(X.equals(before))}  # converted (or marked invalid) by the probe runner


# --- hidden and public inputs -----------------------------------------------------------------

def _boston_rows(rng, n_rows):
    from xaikit.boston import load_boston

    X, y = load_boston()
    rows = rng.choice(len(X), size=n_rows, replace=False)
    return X, y, X.iloc[np.sort(rows)].reset_index(drop=True)


def _grid(rng, column, n_points):
    """Sorted, non-uniform grid inside the column's range (never the default percentiles)."""
    low, high = np.quantile(column, [0.02, 0.98])
    return np.sort(rng.uniform(low, high, size=n_points)).round(4)


def build_cases(seed: int, public: bool) -> list[Case]:
    from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
    from sklearn.linear_model import LinearRegression
    import pandas as pd

    rng = np.random.default_rng(seed)
    features = PUBLIC_FEATURES if public else tuple(str(f) for f in rng.choice(HIDDEN_FEATURES, size=3, replace=False))
    X_full, y, X_eval = _boston_rows(rng, 40 if public else 60)
    cases = []

    linear = LinearRegression().fit(X_full, y)
    cases.append(Case("linear_1d", "probe_pd_1d",
                      {"model": linear, "X": X_eval, "feature": features[0],
                       "grid": _grid(rng, X_full[features[0]], 5)},
                      f"lineares Modell, Merkmal {features[0]}", frozenset({"linear"})))

    forest = RandomForestRegressor(n_estimators=12, max_depth=6, random_state=seed % 1000).fit(X_full, y)
    boosting = GradientBoostingRegressor(n_estimators=40, max_depth=3, random_state=seed % 1000).fit(X_full, y)
    cases.append(Case("forest_1d", "probe_pd_1d",
                      {"model": forest, "X": X_eval, "feature": features[1],
                       "grid": _grid(rng, X_full[features[1]], 7)},
                      f"Random Forest, Merkmal {features[1]}", frozenset({"nonlinear"})))

    interaction_X = pd.DataFrame(rng.normal(size=(30, 3)) + [1.0, 2.0, 0.0], columns=["a", "b", "c"])
    cases.append(Case("interaction_1d", "probe_pd_1d",
                      {"model": InteractionModel().fit(interaction_X), "X": interaction_X, "feature": "a",
                       "grid": np.array([-1.5, -0.25, 0.5, 2.0])},
                      "Modell a·b + c², Merkmal a", frozenset({"nonlinear"})))

    if not public:
        cases.append(Case("boosting_1d", "probe_pd_1d",
                          {"model": boosting, "X": X_eval, "feature": features[2],
                           "grid": _grid(rng, X_full[features[2]], 6)},
                          f"Gradient Boosting, Merkmal {features[2]}", frozenset({"nonlinear"})))

    pair = ("RM", "LSTAT") if public else (features[1], features[2])
    cases.append(Case("boosting_2d", "probe_pd_2d",
                      {"model": boosting, "X": X_eval, "features": pair,
                       "grid_a": _grid(rng, X_full[pair[0]], 4), "grid_b": _grid(rng, X_full[pair[1]], 6)},
                      f"Gradient Boosting, Merkmale {pair[0]} × {pair[1]}"))
    cases.append(Case("interaction_2d", "probe_pd_2d",
                      {"model": InteractionModel().fit(interaction_X), "X": interaction_X, "features": ("a", "c"),
                       "grid_a": np.array([-1.0, 0.0, 1.5]), "grid_b": np.array([-2.0, -0.5, 0.5, 1.0, 2.5])},
                      "Modell a·b + c², Merkmale a × c"))
    return cases


# --- checks ----------------------------------------------------------------------------------

def _values(student, expected, case):
    return array_close(student, expected, "pd", TOLERANCE)


def _shape(student, expected, case):
    got, want = np.shape(student.get("pd")), np.shape(expected["pd"])
    if got != want:
        return array_close(student, expected, "pd", TOLERANCE)  # the shape message
    return None


def _unchanged(student, expected, case):
    return flag_true(student, "x_unchanged", "input_mutated")


CHECKS = [
    Check("pdp_1d.linear_exact", "test_pdp_1d", 1,
          {"de": "1-D-PDP eines linearen Modells (exakt bekannt)", "en": "1-D PDP of a linear model (known exactly)"},
          "probe_pd_1d", _values, ("grid_ignored", "ice_instead_of_mean", "mean_over_wrong_axis"),
          tags=frozenset({"linear"})),
    Check("pdp_1d.values", "test_pdp_1d", 2,
          {"de": "1-D-PDP von Random Forest, Gradient Boosting und einem Modell mit Interaktion",
           "en": "1-D PDP of random forest, gradient boosting and a model with an interaction"},
          "probe_pd_1d", _values, ("ice_instead_of_mean", "mean_over_wrong_axis", "grid_ignored"),
          tags=frozenset({"nonlinear"})),
    Check("pdp_1d.input_unchanged", "test_pdp_1d", 1,
          {"de": "1-D-PDP verändert X des Aufrufers nicht", "en": "1-D PDP leaves the caller's X unchanged"},
          "probe_pd_1d", _unchanged, ("mutates_input_1d",)),
    Check("pdp_2d.shape", "test_pdp_2d", 1,
          {"de": "2-D-PDP hat die Form (len(grid_a), len(grid_b))", "en": "2-D PDP has shape (len(grid_a), len(grid_b))"},
          "probe_pd_2d", _shape, ("transposed_2d",)),
    Check("pdp_2d.values", "test_pdp_2d", 2,
          {"de": "2-D-PDP-Werte", "en": "2-D PDP values"},
          "probe_pd_2d", _values, ("transposed_2d", "swapped_features_2d")),
    Check("pdp_2d.input_unchanged", "test_pdp_2d", 1,
          {"de": "2-D-PDP verändert X des Aufrufers nicht", "en": "2-D PDP leaves the caller's X unchanged"},
          "probe_pd_2d", _unchanged, ("mutates_input_2d",)),
]

MESSAGES = {
    "ice_instead_of_mean": {
        "de": "Du gibst die ICE-Kurven (eine Kurve pro Zeile von X) zurück statt ihres Mittelwerts ({case}). "
              "Die partielle Abhängigkeit ist der Durchschnitt über alle Zeilen: eine Zahl pro Gitterpunkt.",
        "en": "You return the ICE curves (one curve per row of X) instead of their mean ({case}). "
              "Partial dependence is the average over all rows: one number per grid point.",
    },
    "mean_over_wrong_axis": {
        "de": "Du mittelst über die falsche Achse ({case}): über die Gitterpunkte statt über die Zeilen von X. "
              "Für jeden Gitterwert: Spalte setzen, vorhersagen, über alle Zeilen mitteln.",
        "en": "You average over the wrong axis ({case}): over the grid points instead of the rows of X. "
              "For each grid value: set the column, predict, average over all rows.",
    },
    "grid_ignored": {
        "de": "Du verwendest nicht das übergebene Gitter `grid` ({case}), sondern eigene Werte (z. B. Quantile). "
              "Setze die Spalte genau auf die Werte aus `grid`.",
        "en": "You do not use the given `grid` ({case}) but values of your own (e.g. quantiles). "
              "Set the column to exactly the values in `grid`.",
    },
    "input_mutated": {
        "de": "Deine Funktion verändert das übergebene `X` ({case}). Arbeite auf einer Kopie (`X.copy()`), "
              "sonst sind nach dem Aufruf die Daten des Aufrufers überschrieben.",
        "en": "Your function modifies the `X` passed in ({case}). Work on a copy (`X.copy()`), "
              "otherwise the caller's data are overwritten after the call.",
    },
    "mutates_input_1d": {
        "de": "Deine Funktion überschreibt die Spalte im übergebenen `X` ({case}). Arbeite auf einer Kopie (`X.copy()`).",
        "en": "Your function overwrites the column in the `X` passed in ({case}). Work on a copy (`X.copy()`).",
    },
    "mutates_input_2d": {
        "de": "Deine 2-D-Funktion verändert das übergebene `X` ({case}). Arbeite auf einer Kopie (`X.copy()`).",
        "en": "Your 2-D function modifies the `X` passed in ({case}). Work on a copy (`X.copy()`).",
    },
    "transposed_2d": {
        "de": "Das 2-D-Ergebnis ist transponiert ({case}): Eintrag [i, j] muss zu grid_a[i] und grid_b[j] gehören, "
              "die Form also (len(grid_a), len(grid_b)) sein.",
        "en": "The 2-D result is transposed ({case}): entry [i, j] must belong to grid_a[i] and grid_b[j], "
              "so the shape is (len(grid_a), len(grid_b)).",
    },
    "swapped_features_2d": {
        "de": "Die Gitter sind den falschen Merkmalen zugeordnet ({case}): grid_a gehört zu features[0], grid_b zu features[1].",
        "en": "The grids are assigned to the wrong features ({case}): grid_a belongs to features[0], grid_b to features[1].",
    },
}


# --- pictures for the feedback page (optional hook, see autograder/feedback.py) -------------

def figures(case, student_result, expected_result, language):
    """1-D: the student's curve (or ICE curves) over the reference on the grid; 2-D: heatmaps side by side."""
    from ..feedback import drawable, image_to_draw, new_figure, png, points_to_draw, rows_to_draw, text

    want = np.asarray(expected_result["pd"], dtype=np.float64)
    got = drawable(student_result.get("pd"))
    if case.probe == "probe_pd_1d":
        grid = np.asarray(case.inputs["grid"], dtype=np.float64)
        figure = new_figure(6.4, 3.8)
        axes = figure.add_subplot()
        if got is not None and got.ndim == 2 and got.shape[-1] == grid.size:
            for index, row in enumerate(rows_to_draw(got)):  # ICE curves: one per row of X
                axes.plot(grid, row, color="#d66", alpha=0.35, lw=0.8,
                          label=text("fig_ice", language) if index == 0 else None)
        elif got is not None and got.ndim == 1 and got.size == grid.size:
            axes.plot(grid, got, "o-", color="#c22", lw=2, label=text("fig_student", language))
        elif got is not None and got.ndim == 1:
            axes.plot(*points_to_draw(np.linspace(grid[0], grid[-1], got.size), got), "o:", color="#c22",
                      label=text("fig_own_x", language, n=got.size, m=grid.size))
        axes.plot(grid, want, "s--", color="#111", lw=1.5, label=text("fig_reference", language))
        axes.set_xlabel(str(case.inputs["feature"]))
        axes.set_ylabel(text("fig_pd", language))
        axes.legend(fontsize=8)
        return [(text("fig_pd_1d", language, case=case.label), png(figure))]
    features = tuple(case.inputs["features"])
    grid_a, grid_b = np.asarray(case.inputs["grid_a"]), np.asarray(case.inputs["grid_b"])
    panels = [(text("fig_reference", language), want)]
    if got is not None and got.ndim == 2:
        panels.insert(0, (text("fig_student", language), got))
        if got.shape == want.shape:
            panels.append((text("fig_difference", language), got - want))
    scale = np.concatenate([p.ravel() for _, p in panels[:2]])
    figure = new_figure(4.0 * len(panels), 3.6)
    for index, (title, values) in enumerate(panels):
        axes = figure.add_subplot(1, len(panels), index + 1)
        difference = index == 2
        limit = float(np.abs(values).max()) or 1.0
        image = axes.imshow(image_to_draw(values), aspect="auto", origin="lower",
                            cmap="RdBu_r" if difference else "viridis",
                            vmin=-limit if difference else scale.min(), vmax=limit if difference else scale.max())
        axes.set_title(f"{title}\n{text('fig_shape', language, shape=tuple(values.shape))}", fontsize=9)
        if values.shape == (grid_a.size, grid_b.size):  # label the axes with the grid values
            axes.set_yticks(range(grid_a.size), [f"{v:.3g}" for v in grid_a], fontsize=7)
            axes.set_xticks(range(grid_b.size), [f"{v:.3g}" for v in grid_b], fontsize=7, rotation=45)
            axes.set_ylabel(str(features[0]))
            axes.set_xlabel(str(features[1]))
        figure.colorbar(image, ax=axes, shrink=0.8)
    return [(text("fig_pd_2d", language, case=case.label), png(figure))]
