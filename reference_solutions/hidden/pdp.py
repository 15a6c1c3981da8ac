"""Hidden cases of the partial-dependence exercise.

Models the notebook never trains (linear regression, whose partial dependence is known exactly;
random forest; gradient boosting; a hand-made model with an interaction), fitted on other features
and rows, non-uniform grids of other lengths, and a non-Boston data set with other column names.
"""

from __future__ import annotations

import numpy as np

from xaikit.selfcheck.core import Case
from xaikit.selfcheck.exercises.pdp import (ale_intervals, boosting_2d_case, boston_rows, correlated_ale_case,
                                            correlated_data, fit_models, interaction_1d, interaction_2d,
                                            interaction_data, interaction_ice_case, model_1d_case, model_ale_case,
                                            model_ice_case)

HIDDEN_FEATURES = ("DIS", "NOX", "CRIM", "AGE", "PTRATIO", "TAX", "INDUS")


def build_hidden_cases(seed: int) -> list[Case]:
    """One generator for all probes, drawn from in a fixed order (the order fixes the cases)."""
    rng = np.random.default_rng(seed)
    features = tuple(str(f) for f in rng.choice(HIDDEN_FEATURES, size=3, replace=False))
    X_full, y, X_eval = boston_rows(rng, 60)
    models = fit_models(X_full, y, seed)
    one_d = hidden_pd_1d_cases(rng, models, X_full, X_eval, features)
    cases = one_d[:-1] + hidden_pd_2d_cases(rng, models, X_full, X_eval, features, one_d[-1])
    return (cases + hidden_ice_cases(rng, models, X_full, X_eval, features, one_d[-1])
            + hidden_ale_cases(rng, models, X_eval, features))


def hidden_pd_1d_cases(rng, models, X_full, X_eval, features) -> list:
    """probe_pd_1d: linear (exact), forest, the interaction model, boosting; last: the interaction data."""
    cases = [model_1d_case(rng, "linear", models, X_full, X_eval, features[0], 5),
             model_1d_case(rng, "forest", models, X_full, X_eval, features[1], 7)]
    interaction_X = interaction_data(rng)
    cases.append(interaction_1d(interaction_X))
    cases.append(model_1d_case(rng, "boosting", models, X_full, X_eval, features[2], 6))
    return cases + [interaction_X]


def hidden_pd_2d_cases(rng, models, X_full, X_eval, features, interaction_X) -> list[Case]:
    """probe_pd_2d: boosting on two hidden features (non-square grid), the interaction model."""
    return [boosting_2d_case(rng, models, X_full, X_eval, (features[1], features[2])), interaction_2d(interaction_X)]


def hidden_ice_cases(rng, models, X_full, X_eval, features, interaction_X) -> list[Case]:
    """probe_ice: linear and forest curves (uncentred), boosting and the interaction model centred; grid lengths
    other than the public ones and never len(X)."""
    return [model_ice_case(rng, "linear", models, X_full, X_eval, features[0], 6, centered=False),
            model_ice_case(rng, "forest", models, X_full, X_eval, features[1], 5, centered=False),
            model_ice_case(rng, "boosting", models, X_full, X_eval, features[2], 7, centered=True),
            interaction_ice_case(interaction_X)]


def hidden_ale_cases(rng, models, X_eval, features) -> list[Case]:
    """probe_ale: forest and boosting on hidden features (correlated with others in the data, so ALE differs from
    the PDP's increments and from the M-plot), the model a*b + c**2 on correlated a, b (rows on interior edges).
    The number of intervals is drawn, then lowered until no interval is empty (the task text promises that)."""
    draws = [int(b) for b in rng.integers(5, 9, size=3)]
    cases = [model_ale_case("forest", models, X_eval, features[1], filled_bins(X_eval[features[1]], draws[0])),
             model_ale_case("boosting", models, X_eval, features[2], filled_bins(X_eval[features[2]], draws[1]))]
    return cases + [correlated_ale_case(correlated_data(rng, 60, draws[2]), draws[2])]


def filled_bins(x, bins: int) -> int:
    """``bins``, or fewer until every interval of the task's quantile edges holds a row."""
    while bins > 2 and (ale_intervals(x, bins)[1] == 0).any():
        bins -= 1
    if (ale_intervals(x, bins)[1] == 0).any():
        raise ValueError("an ALE case with an empty interval")
    return bins
