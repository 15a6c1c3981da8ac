"""Hidden cases of the counterfactual exercise.

Other scenes and target classes on the embedded Mini-VGG (64x64, one of them float64 so the dtype
contract bites), a small CNN with seeded random weights, another input size (40x40) and another
number of classes, which the notebook never shows; difference maps of other shapes, one without the
batch axis. The counterfactual pairs are fixed (their budgets are tuned so that the reference flips
each pair and every known mistake shows on at least one); the seed draws the difference maps.
"""

from __future__ import annotations

import numpy as np

from xaikit.selfcheck.core import Case
from xaikit.selfcheck.exercises.counterfactual import ANSWERS_CASE, cf_cases, diffmap_cases

# (scene seed, target class, steps, lr, distance_weight[, dtype]). An ellipse -> cross and a
# triangle -> square (float64); on both, stopping as soon as the original class is left lands on a
# third class (triangle, star), so `stops_before_flip` loses validity.
HIDDEN_EMBEDDED = [(66, 3, 40, 0.1, 0.05), (61, 1, 40, 0.1, 0.05, np.float64)]
HIDDEN_SMALL = ("small_cnn:17:40:5", [(4, 2, 30, 0.5, 0.2), (1, 4, 30, 0.5, 0.2)])
DIFFMAP_SHAPES = [((1, 48, 40, 3), np.float32), ((36, 52, 3), np.float64)]


def build_hidden_cases(seed: int) -> list[Case]:
    return [*cf_cases(HIDDEN_EMBEDDED, HIDDEN_SMALL), *diffmap_cases(np.random.default_rng(seed), DIFFMAP_SHAPES),
            ANSWERS_CASE]
