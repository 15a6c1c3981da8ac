"""PDP reference (one batched predict for all grid points) against scikit-learn's partial_dependence.

Prints seconds per call and the ratio to sklearn's brute method (target: ≤ 1.0), for 1-D and 2-D PDPs
on the Boston data with a random forest and gradient boosting, several grid sizes; plus sklearn's
recursion method where it applies (gradient boosting) for scale.
Run: python benchmarks/pdp_reference.py [--quick]
"""

from __future__ import annotations

import argparse

import numpy as np

from _common import best_of, header, row


def main(quick: bool = False) -> None:
    from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
    from sklearn.inspection import partial_dependence

    from reference_solutions.pdp import partial_dependence_1d, partial_dependence_2d
    from xaikit.boston import load_boston

    X, y = load_boston()
    models = {
        "random forest": RandomForestRegressor(n_estimators=10 if quick else 100, max_depth=8, random_state=0, n_jobs=1),
        "gradient boosting": GradientBoostingRegressor(n_estimators=20 if quick else 200, max_depth=3, random_state=0),
    }
    repeat = 1 if quick else 3
    header("PDP reference vs sklearn.inspection.partial_dependence")
    for name, model in models.items():
        model.fit(X, y)
        for size in ((5,) if quick else (10, 25, 50)):
            grid = np.linspace(X["LSTAT"].min(), X["LSTAT"].max(), size)
            ours = best_of(lambda: partial_dependence_1d(model, X, "LSTAT", grid), repeat)
            brute = best_of(lambda: partial_dependence(model, X, ["LSTAT"], method="brute",
                                                       custom_values={"LSTAT": grid}), repeat)
            row(f"{name} 1-D LSTAT, {size} points: sklearn brute", brute)
            row(f"{name} 1-D LSTAT, {size} points: reference", ours, brute)
            if name == "gradient boosting":
                recursion = best_of(lambda: partial_dependence(model, X, ["LSTAT"], method="recursion",
                                                               custom_values={"LSTAT": grid}), repeat)
                row(f"{name} 1-D LSTAT, {size} points: sklearn recursion", recursion, brute)
        size = 5 if quick else 15
        grid_a = np.linspace(X["RM"].min(), X["RM"].max(), size)
        grid_b = np.linspace(X["LSTAT"].min(), X["LSTAT"].max(), size)
        ours = best_of(lambda: partial_dependence_2d(model, X, ("RM", "LSTAT"), grid_a, grid_b), repeat)
        brute = best_of(lambda: partial_dependence(model, X, ["RM", "LSTAT"], method="brute",
                                                   custom_values={"RM": grid_a, "LSTAT": grid_b}), repeat)
        row(f"{name} 2-D RM x LSTAT, {size}x{size}: sklearn brute", brute)
        row(f"{name} 2-D RM x LSTAT, {size}x{size}: reference", ours, brute)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (for the test that the script runs)")
    main(parser.parse_args().quick)
