"""Self-check of the partial-dependence exercise (scikit-learn, Boston housing): probes, public
cases and checks. Tolerance: rtol=1e-6, atol=1e-6 - partial dependence is deterministic, so only
floating-point summation order and the dtype of the student's copy may differ. float64 work differs by
< 1e-9 of the tolerance; a copy in float32 (inputs rounded at 6e-8 relative) reaches up to 0.05 of it on
the hidden sets. atol: with atol=1e-8 such a float32 copy used up to 1.96 of the tolerance (lost the check on
35 of 100,000 draws of the interaction data) where a mean of the unit-scale model a*b + c**2 cancels to about 0;
with 1e-6, at most 0.05 in 40,000 draws. The named mistakes are caught at >= 500 times the tolerance
(60 random hidden sets; >= 1,100 on the tests' K sets, ``tests/test_fairness.py``). ICE curves and ALE (Aufgabe 4
and 5) have their own tolerance, ``CURVE_TOLERANCE`` below."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from ..compare import Tolerance, array_close, close, numeric_array, same_shape
from ..probe import Snapshot, require, unchanged_input
from ..core import Case, Check

NOTEBOOK = "pdp"
TOLERANCE = Tolerance(rtol=1e-6, atol=1e-6)
# ICE and ALE (Aufgabe 4 and 5): single curves are not averaged over rows, so a float32 copy of X keeps its rounding:
# on a linear model's ICE curve it used 0.71 of TOLERANCE (0.34 on ALE increments). With 1e-5 correct work uses at
# most 0.15 of it (ICE, float32 copy; ALE at most 0.034), and the named mistakes are caught at >= 9.5e3 times it
# (public cases and the tests' K hidden sets, tests/test_fairness.py).
CURVE_TOLERANCE = Tolerance(rtol=1e-5, atol=1e-5)
PROBE_FUNCTIONS = {"probe_pd_1d": "partial_dependence_1d", "probe_pd_2d": "partial_dependence_2d",
                   "probe_ice": "ice_curves", "probe_ale": "ale_1d"}
PUBLIC_FEATURES = ("RM", "LSTAT")


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
    X = Snapshot(inputs["X"])
    result = function(inputs["model"], X.value, inputs["feature"], np.array(inputs["grid"]))
    return {"pd": result, "x_after": X.after()}  # converted (or marked invalid) by the probe runner


def probe_pd_2d(namespace, inputs):
    function = require(namespace, "partial_dependence_2d")
    X = Snapshot(inputs["X"])
    result = function(inputs["model"], X.value, tuple(inputs["features"]),
                      np.array(inputs["grid_a"]), np.array(inputs["grid_b"]))
    return {"pd": result, "x_after": X.after()}  # converted (or marked invalid) by the probe runner


def probe_ice(namespace, inputs):
    function = require(namespace, "ice_curves")
    X = Snapshot(inputs["X"])
    options = {"centered": True} if inputs["centered"] else {}  # (the default stands for centered=False)
    result = function(inputs["model"], X.value, inputs["feature"], np.array(inputs["grid"]), **options)
    return {"ice": result, "x_after": X.after()}


def probe_ale(namespace, inputs):
    function = require(namespace, "ale_1d")
    result = function(inputs["model"], inputs["X"], inputs["feature"], int(inputs["bins"]))
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise TypeError(f"ale_1d returned {type(result).__name__}, not the pair (edges, ale)")
    edges, ale = result
    return {"edges": edges, "ale": ale}


# --- public inputs (the grader's hidden ones are built on its side) -----------------------------------------------------------------

def boston_rows(rng, n_rows):
    from xaikit.boston import load_boston

    X, y = load_boston()
    rows = rng.choice(len(X), size=n_rows, replace=False)
    return X, y, X.iloc[np.sort(rows)].reset_index(drop=True)


def grid(rng, column, n_points):
    """Sorted, non-uniform grid inside the column's range (never the default percentiles)."""
    low, high = np.quantile(column, [0.02, 0.98])
    return np.sort(rng.uniform(low, high, size=n_points)).round(4)


def fit_models(X_full, y, seed: int) -> dict:
    """The three fitted models the cases explain (seeded: the same every time for the same data)."""
    from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
    from sklearn.linear_model import LinearRegression

    return {"linear": LinearRegression().fit(X_full, y),
            "forest": RandomForestRegressor(n_estimators=12, max_depth=6, random_state=seed % 1000).fit(X_full, y),
            "boosting": GradientBoostingRegressor(n_estimators=40, max_depth=3,
                                                  random_state=seed % 1000).fit(X_full, y)}


def build_public_cases(seed: int) -> list[Case]:
    """One generator, drawn from by the probes' builders in a fixed order (the order fixes the cases)."""
    rng = np.random.default_rng(seed)
    X_full, y, X_eval = boston_rows(rng, 40)
    models = fit_models(X_full, y, seed)
    one_d = pd_1d_cases(rng, models, X_full, X_eval)
    cases = one_d[:-1] + pd_2d_cases(rng, models, X_full, X_eval, one_d[-1])
    ice = [model_ice_case(rng, "linear", models, X_full, X_eval, "RM", 5, centered=False),
           model_ice_case(rng, "forest", models, X_full, X_eval, "LSTAT", 7, centered=False),
           model_ice_case(rng, "boosting", models, X_full, X_eval, "RM", 6, centered=True),
           interaction_ice_case(one_d[-1])]
    ale = [model_ale_case("forest", models, X_eval, "LSTAT", 8), model_ale_case("linear", models, X_eval, "RM", 5),
           correlated_ale_case(correlated_data(rng, 50, 6), 6)]
    return cases + ice + ale


def pd_1d_cases(rng, models, X_full, X_eval) -> list:
    """probe_pd_1d: linear (exact), forest, the interaction model; last: the interaction data (for 2-D)."""
    features = PUBLIC_FEATURES
    cases = [model_1d_case(rng, "linear", models, X_full, X_eval, features[0], 5),
             model_1d_case(rng, "forest", models, X_full, X_eval, features[1], 7)]
    interaction_X = interaction_data(rng)
    return cases + [interaction_1d(interaction_X), interaction_X]


def pd_2d_cases(rng, models, X_full, X_eval, interaction_X) -> list[Case]:
    """probe_pd_2d: boosting on RM × LSTAT (non-square grid), the interaction model."""
    return [boosting_2d_case(rng, models, X_full, X_eval, ("RM", "LSTAT")), interaction_2d(interaction_X)]


# Case builders the grader's hidden cases share (seeded by the generator they are given)

_MODEL_CASES = {"linear": ("linear_1d", "lineares Modell", "linear"),
                "forest": ("forest_1d", "Random Forest", "nonlinear"),
                "boosting": ("boosting_1d", "Gradient Boosting", "nonlinear")}


def model_1d_case(rng, kind, models, X_full, X_eval, feature, n_points) -> Case:
    """probe_pd_1d: one of ``fit_models``' models on one feature, a grid of ``n_points`` drawn in its range."""
    case_id, label, tag = _MODEL_CASES[kind]
    return Case(case_id, "probe_pd_1d",
                {"model": models[kind], "X": X_eval, "feature": feature, "grid": grid(rng, X_full[feature], n_points)},
                f"{label}, Merkmal {feature}", frozenset({tag}))


def boosting_2d_case(rng, models, X_full, X_eval, pair) -> Case:
    """probe_pd_2d: gradient boosting on two features, non-square grids (4 × 6)."""
    return Case("boosting_2d", "probe_pd_2d",
                {"model": models["boosting"], "X": X_eval, "features": pair,
                 "grid_a": grid(rng, X_full[pair[0]], 4), "grid_b": grid(rng, X_full[pair[1]], 6)},
                f"Gradient Boosting, Merkmale {pair[0]} × {pair[1]}")


def interaction_data(rng):
    import pandas as pd

    return pd.DataFrame(rng.normal(size=(30, 3)) + [1.0, 2.0, 0.0], columns=["a", "b", "c"])


def interaction_1d(interaction_X) -> Case:
    return Case("interaction_1d", "probe_pd_1d",
                {"model": InteractionModel().fit(interaction_X), "X": interaction_X, "feature": "a",
                 "grid": np.array([-1.5, -0.25, 0.5, 2.0])},
                "Modell a·b + c², Merkmal a", frozenset({"nonlinear"}))


def interaction_2d(interaction_X) -> Case:
    return Case("interaction_2d", "probe_pd_2d",
                {"model": InteractionModel().fit(interaction_X), "X": interaction_X, "features": ("a", "c"),
                 "grid_a": np.array([-1.0, 0.0, 1.5]), "grid_b": np.array([-2.0, -0.5, 0.5, 1.0, 2.5])},
                "Modell a·b + c², Merkmale a × c")


# ICE curves and ALE (Aufgabe 4 and 5)

def model_ice_case(rng, kind, models, X_full, X_eval, feature, n_points, centered: bool) -> Case:
    """probe_ice: one of ``fit_models``' models on one feature, a grid of ``n_points`` drawn in its range."""
    case_id, label, _ = _MODEL_CASES[kind]
    case_id = case_id.replace("_1d", "_ice_centred" if centered else "_ice")
    return Case(case_id, "probe_ice",
                {"model": models[kind], "X": X_eval, "feature": feature, "grid": grid(rng, X_full[feature], n_points),
                 "centered": centered},
                f"{label}, Merkmal {feature}{', centered=True' if centered else ''}",
                frozenset({"centred" if centered else "plain"}))


def interaction_ice_case(interaction_X) -> Case:
    """probe_ice: the interaction model a*b + c**2, c-ICE of b (each curve's slope is its row's a)."""
    return Case("interaction_ice_centred", "probe_ice",
                {"model": InteractionModel().fit(interaction_X), "X": interaction_X, "feature": "b",
                 "grid": np.array([0.5, 1.5, 2.0, 3.5]), "centered": True},
                "Modell a·b + c², Merkmal b, centered=True", frozenset({"centred"}))


def correlated_data(rng, n_rows, bins):
    """Columns a, b, c with b correlated with a (r about 0.8): the model a*b + c**2 then has ALE != PDP
    (the local effect of a is the mean of b *in the interval*) and ALE != M-plot. ``a`` is rounded to quarters, so
    values repeat and interior edges fall on values rows have (between two equal values every quantile method gives
    exactly that value): which interval such a row belongs to, (z_(k-1), z_k] or [z_(k-1), z_k), then matters.
    Drawn again until that holds for ``bins`` and no interval is empty."""
    import pandas as pd

    while True:
        a = np.round(rng.normal(size=n_rows) * 4) / 4 + 1.0
        b = 2.0 + 0.8 * (a - 1.0) + 0.6 * rng.normal(size=n_rows)
        data = pd.DataFrame({"a": a, "b": b, "c": rng.normal(size=n_rows)})
        edges, counts = ale_intervals(a, bins)
        if counts.min() > 0 and np.isin(a, edges[1:-1]).any():
            return data


def model_ale_case(kind, models, X_eval, feature, bins) -> Case:
    """probe_ale: one of ``fit_models``' models on one feature of the rows ``X_eval``."""
    case_id, label, _ = _MODEL_CASES[kind]
    return Case(case_id.replace("_1d", "_ale"), "probe_ale",
                {"model": models[kind], "X": X_eval, "feature": feature, "bins": bins},
                f"{label}, Merkmal {feature}, bins={bins}")


def correlated_ale_case(correlated_X, bins) -> Case:
    return Case("correlated_ale", "probe_ale",
                {"model": InteractionModel().fit(correlated_X), "X": correlated_X, "feature": "a", "bins": bins},
                f"Modell a·b + c² mit korrelierten a und b, Merkmal a, bins={bins}")


def ale_intervals(x, bins):
    """The task's quantile edges of ``x`` and the number of rows in each interval (z_{k-1}, z_k] (the first also
    takes x = z_0): the cases are chosen so that no interval is empty."""
    x = np.asarray(x, dtype=np.float64)
    edges = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)))
    interval = np.clip(np.searchsorted(edges, x, side="left"), 1, None)
    return edges, np.bincount(interval, minlength=len(edges))[1:]


def ale_differences(tol: Tolerance):
    """``np.diff`` of the student's ALE within ``tol`` of the reference's: the accumulated local effects
    whatever constant they were centred by."""
    def criterion(student, expected, case=None):
        got, failure = numeric_array(student, "ale")
        if failure:
            return failure
        want = np.asarray(expected["ale"], dtype=np.float64)
        if got.shape != want.shape:
            return array_close(student, expected, "ale", tol)  # (the shape message)
        return array_close({"np.diff(ale)": np.diff(got)}, {"np.diff(ale)": np.diff(want)}, "np.diff(ale)", tol)
    return criterion


# --- checks ----------------------------------------------------------------------------------

CHECKS = [
    Check("pdp_1d.linear_exact", "test_pdp_1d", 1,
          {"de": "1-D-PDP eines linearen Modells (exakt bekannt)", "en": "1-D PDP of a linear model (known exactly)"},
          "probe_pd_1d", close("pd", TOLERANCE), tags=frozenset({"linear"})),
    Check("pdp_1d.values", "test_pdp_1d", 2,
          {"de": "1-D-PDP von Random Forest, Gradient Boosting und einem Modell mit Interaktion",
           "en": "1-D PDP of random forest, gradient boosting and a model with an interaction"},
          "probe_pd_1d", close("pd", TOLERANCE), tags=frozenset({"nonlinear"})),
    Check("pdp_1d.input_unchanged", "test_pdp_1d", 1,
          {"de": "1-D-PDP verändert X des Aufrufers nicht", "en": "1-D PDP leaves the caller's X unchanged"},
          "probe_pd_1d", unchanged_input("x_after", "X", "input_mutated")),
    Check("pdp_2d.shape", "test_pdp_2d", 1,
          {"de": "2-D-PDP hat die Form (len(grid_a), len(grid_b))", "en": "2-D PDP has shape (len(grid_a), len(grid_b))"},
          "probe_pd_2d", same_shape("pd")),
    Check("pdp_2d.values", "test_pdp_2d", 2,
          {"de": "2-D-PDP-Werte", "en": "2-D PDP values"},
          "probe_pd_2d", close("pd", TOLERANCE)),
    Check("pdp_2d.input_unchanged", "test_pdp_2d", 1,
          {"de": "2-D-PDP verändert X des Aufrufers nicht", "en": "2-D PDP leaves the caller's X unchanged"},
          "probe_pd_2d", unchanged_input("x_after", "X", "input_mutated")),
    Check("ice.values", "test_ice", 1,
          {"de": "ICE-Kurven: Form (len(X), len(grid)) und Werte", "en": "ICE curves: shape (len(X), len(grid)) and values"},
          "probe_ice", close("ice", CURVE_TOLERANCE), tags=frozenset({"plain"})),
    Check("ice.centered", "test_ice", 1,
          {"de": "zentrierte ICE-Kurven (centered=True): jede Kurve minus ihren Wert bei grid[0]",
           "en": "centred ICE curves (centered=True): each curve minus its own value at grid[0]"},
          "probe_ice", close("ice", CURVE_TOLERANCE), tags=frozenset({"centred"})),
    Check("ice.input_unchanged", "test_ice", 1,
          {"de": "ICE verändert X des Aufrufers nicht", "en": "ICE leaves the caller's X unchanged"},
          "probe_ice", unchanged_input("x_after", "X", "input_mutated")),
    Check("ale.edges", "test_ale", 1,
          {"de": "ALE: Intervallgrenzen (Quantile von X[feature], ohne doppelte Werte)",
           "en": "ALE: interval edges (quantiles of X[feature], without repeated values)"},
          "probe_ale", close("edges", CURVE_TOLERANCE)),
    Check("ale.differences", "test_ale", 1,
          {"de": "ALE: Zuwächse von Grenze zu Grenze (np.diff(ale), unabhängig von der Zentrierung)",
           "en": "ALE: increments from edge to edge (np.diff(ale), independent of the centring)"},
          "probe_ale", ale_differences(CURVE_TOLERANCE)),
    Check("ale.centred", "test_ale", 1,
          {"de": "ALE: zentrierte Werte (gewichteter Mittelwert über die Zeilen = 0)",
           "en": "ALE: centred values (weighted mean over the rows = 0)"},
          "probe_ale", close("ale", CURVE_TOLERANCE)),
]

MESSAGES = {
    "input_mutated": {
        "de": "Ihre Funktion verändert das übergebene `X` ({case}). Arbeiten Sie auf einer Kopie (`X.copy()`), "
              "sonst sind nach dem Aufruf die Daten des Aufrufers überschrieben.",
        "en": "Your function modifies the `X` passed in ({case}). Work on a copy (`X.copy()`), "
              "otherwise the caller's data are overwritten after the call.",
    },
}
