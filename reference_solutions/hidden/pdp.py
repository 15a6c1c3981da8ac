"""Hidden cases of the partial-dependence exercise.

Models the notebook never trains (linear regression, whose partial dependence is known exactly;
random forest; gradient boosting; a hand-made model with an interaction), fitted on other features
and rows, non-uniform grids of other lengths, and a non-Boston data set with other column names.
"""

from __future__ import annotations

import numpy as np

from xaikit.selfcheck.core import Case
from xaikit.selfcheck.exercises.pdp import (boosting_2d_case, boston_rows, fit_models, interaction_1d,
                                            interaction_2d, interaction_data, model_1d_case)

HIDDEN_FEATURES = ("DIS", "NOX", "CRIM", "AGE", "PTRATIO", "TAX", "INDUS")


def build_hidden_cases(seed: int) -> list[Case]:
    """One generator for all probes, drawn from in a fixed order (the order fixes the cases)."""
    rng = np.random.default_rng(seed)
    features = tuple(str(f) for f in rng.choice(HIDDEN_FEATURES, size=3, replace=False))
    X_full, y, X_eval = boston_rows(rng, 60)
    models = fit_models(X_full, y, seed)
    one_d = hidden_pd_1d_cases(rng, models, X_full, X_eval, features)
    return one_d[:-1] + hidden_pd_2d_cases(rng, models, X_full, X_eval, features, one_d[-1])


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
