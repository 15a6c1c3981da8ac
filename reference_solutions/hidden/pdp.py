"""Hidden cases of the partial-dependence exercise.

Models the notebook never trains (linear regression, whose partial dependence is known exactly;
random forest; gradient boosting; a hand-made model with an interaction), fitted on other features
and rows, non-uniform grids of other lengths, and a non-Boston data set with other column names.
"""

from __future__ import annotations

import numpy as np

from xaikit.selfcheck.core import Case
from xaikit.selfcheck.exercises.pdp import (boston_rows, fit_models, grid, interaction_1d, interaction_2d,
                                            interaction_data)

HIDDEN_FEATURES = ("DIS", "NOX", "CRIM", "AGE", "PTRATIO", "TAX", "INDUS")


def build_hidden_cases(seed: int) -> list[Case]:
    """One generator for all probes, drawn from in a fixed order (the order fixes the cases)."""
    rng = np.random.default_rng(seed)
    features = tuple(str(f) for f in rng.choice(HIDDEN_FEATURES, size=3, replace=False))
    X_full, y, X_eval = boston_rows(rng, 60)
    models = fit_models(X_full, y, seed)
    one_d = pd_1d_cases(rng, models, X_full, X_eval, features)
    return one_d[:-1] + pd_2d_cases(rng, models, X_full, X_eval, features, one_d[-1])


def pd_1d_cases(rng, models, X_full, X_eval, features) -> list:
    """probe_pd_1d: linear (exact), forest, the interaction model, boosting; last: the interaction data."""
    cases = [Case("linear_1d", "probe_pd_1d",
                  {"model": models["linear"], "X": X_eval, "feature": features[0],
                   "grid": grid(rng, X_full[features[0]], 5)},
                  f"lineares Modell, Merkmal {features[0]}", frozenset({"linear"})),
             Case("forest_1d", "probe_pd_1d",
                  {"model": models["forest"], "X": X_eval, "feature": features[1],
                   "grid": grid(rng, X_full[features[1]], 7)},
                  f"Random Forest, Merkmal {features[1]}", frozenset({"nonlinear"}))]
    interaction_X = interaction_data(rng)
    cases.append(interaction_1d(interaction_X))
    cases.append(Case("boosting_1d", "probe_pd_1d",
                      {"model": models["boosting"], "X": X_eval, "feature": features[2],
                       "grid": grid(rng, X_full[features[2]], 6)},
                      f"Gradient Boosting, Merkmal {features[2]}", frozenset({"nonlinear"})))
    return cases + [interaction_X]


def pd_2d_cases(rng, models, X_full, X_eval, features, interaction_X) -> list[Case]:
    """probe_pd_2d: boosting on two hidden features (non-square grid), the interaction model."""
    pair = (features[1], features[2])
    return [Case("boosting_2d", "probe_pd_2d",
                 {"model": models["boosting"], "X": X_eval, "features": pair,
                  "grid_a": grid(rng, X_full[pair[0]], 4), "grid_b": grid(rng, X_full[pair[1]], 6)},
                 f"Gradient Boosting, Merkmale {pair[0]} × {pair[1]}"),
            interaction_2d(interaction_X)]
