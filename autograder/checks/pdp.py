"""The grader's view of the partial-dependence exercise: the student side's probes, public cases, criteria
and messages (``xaikit/selfcheck/exercises/pdp.py``), plus which known mistakes each check names
(their messages) and the hidden cases (``reference_solutions/hidden/pdp.py``)."""

from __future__ import annotations

import numpy as np

from xaikit.selfcheck.exercises import pdp as _public
from xaikit.selfcheck.exercises.pdp import *  # noqa: F401,F403  (probes, constants, public cases)

from . import hidden_builders, with_diagnoses

ORDER = 1  # place in the lecture: sorts the exercises everywhere (autograder/exercises.py)

# check id -> the known-wrong variants (reference_solutions/pdp.py) it names, in the order tried
DIAGNOSES = {
    "pdp_1d.linear_exact": ("grid_ignored", "ice_instead_of_mean", "mean_over_wrong_axis", "copy_not_predicted"),
    "pdp_1d.values": ("ice_instead_of_mean", "mean_over_wrong_axis", "grid_ignored", "copy_not_predicted"),
    "pdp_1d.input_unchanged": ("mutates_input_1d",),
    "pdp_2d.shape": ("transposed_2d",),
    "pdp_2d.values": ("transposed_2d", "swapped_features_2d"),
    "pdp_2d.input_unchanged": ("mutates_input_2d",),
}

CHECKS = with_diagnoses(_public.CHECKS, DIAGNOSES)

# the checks' own messages and those of the known mistakes
MESSAGES = {**_public.MESSAGES,
    "ice_instead_of_mean": {
        "de": "Sie geben die ICE-Kurven (eine Kurve pro Zeile von X) zurück statt ihres Mittelwerts ({case}). "
              "Die partielle Abhängigkeit ist der Durchschnitt über alle Zeilen: eine Zahl pro Gitterpunkt.",
        "en": "You return the ICE curves (one curve per row of X) instead of their mean ({case}). "
              "Partial dependence is the average over all rows: one number per grid point.",
    },
    "mean_over_wrong_axis": {
        "de": "Sie mitteln über die falsche Achse ({case}): über die Gitterpunkte statt über die Zeilen von X. "
              "Für jeden Gitterwert: Spalte setzen, vorhersagen, über alle Zeilen mitteln.",
        "en": "You average over the wrong axis ({case}): over the grid points instead of the rows of X. "
              "For each grid value: set the column, predict, average over all rows.",
    },
    "grid_ignored": {
        "de": "Sie verwenden nicht das übergebene Gitter `grid` ({case}), sondern eigene Werte (z. B. Quantile). "
              "Setzen Sie die Spalte genau auf die Werte aus `grid`.",
        "en": "You do not use the given `grid` ({case}) but values of your own (e.g. quantiles). "
              "Set the column to exactly the values in `grid`.",
    },
    "copy_not_predicted": {
        "de": "Ihre Kurve ist flach ({case}): Sie setzen die Spalte in einer Kopie, sagen aber auf dem "
              "unveränderten X vorher. Übergeben Sie `model.predict` die Kopie mit der gesetzten Spalte.",
        "en": "Your curve is flat ({case}): you set the column in a copy but predict on the unchanged X. "
              "Pass the copy with the column set to `model.predict`.",
    },
    "mutates_input_1d": {
        "de": "Ihre Funktion überschreibt die Spalte im übergebenen `X` ({case}). Arbeiten Sie auf einer Kopie (`X.copy()`).",
        "en": "Your function overwrites the column in the `X` passed in ({case}). Work on a copy (`X.copy()`).",
    },
    "mutates_input_2d": {
        "de": "Ihre 2-D-Funktion verändert das übergebene `X` ({case}). Arbeiten Sie auf einer Kopie (`X.copy()`).",
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


def build_cases(seed: int, public: bool) -> list:
    """The public cases (student side), or those of the hidden case set with this seed (grader side)."""
    return _public.build_public_cases(seed) if public else hidden_builders("pdp").build_hidden_cases(seed)


# --- pictures for the feedback page (optional hook, see autograder/feedback.py) -------------

def figures(case, student_result, expected_result, language):
    """1-D: the student's curve (or ICE curves) over the reference on the grid; 2-D: heatmaps side by side."""
    from ..figures import comparison_panels, drawable, image_to_draw, new_figure, png, points_to_draw, rows_to_draw
    from ..messages import text

    want = np.asarray(expected_result["pd"], dtype=np.float64)
    got = drawable(student_result.get("pd"))
    if case.probe == "probe_pd_1d":
        grid = np.asarray(case.inputs["grid"], dtype=np.float64)
        figure = new_figure(6.4, 3.8)
        axes = figure.add_subplot()
        if got is not None and got.ndim == 2 and got.shape[-1] == grid.size:
            for index, row in enumerate(rows_to_draw(got)):  # ICE curves: one per row of X
                axes.plot(grid, row, color="#d66", alpha=0.35, lw=0.8,
                          label=text("fig.ice", language) if index == 0 else None)
        elif got is not None and got.ndim == 1 and got.size == grid.size:
            axes.plot(grid, got, "o-", color="#c22", lw=2, label=text("fig.student", language))
        elif got is not None and got.ndim == 1:
            axes.plot(*points_to_draw(np.linspace(grid[0], grid[-1], got.size), got), "o:", color="#c22",
                      label=text("fig.own_x", language, n=got.size, m=grid.size))
        axes.plot(grid, want, "s--", color="#111", lw=1.5, label=text("fig.reference", language))
        axes.set_xlabel(str(case.inputs["feature"]))
        axes.set_ylabel(text("fig.pd", language))
        axes.legend(fontsize=8)
        return [(text("fig.pd_1d", language, case=case.label), png(figure))]
    features = tuple(case.inputs["features"])
    grid_a, grid_b = np.asarray(case.inputs["grid_a"]), np.asarray(case.inputs["grid_b"])
    panels = comparison_panels(got, want, language)
    scale = np.concatenate([p.ravel() for _, p in panels[:2]])
    figure = new_figure(4.0 * len(panels), 3.6)
    for index, (title, values) in enumerate(panels):
        axes = figure.add_subplot(1, len(panels), index + 1)
        difference = index == 2
        limit = float(np.abs(values).max()) or 1.0
        image = axes.imshow(image_to_draw(values), aspect="auto", origin="lower",
                            cmap="RdBu_r" if difference else "viridis",
                            vmin=-limit if difference else scale.min(), vmax=limit if difference else scale.max())
        axes.set_title(f"{title}\n{text('fig.shape', language, shape=tuple(values.shape))}", fontsize=9)
        if values.shape == (grid_a.size, grid_b.size):  # label the axes with the grid values
            axes.set_yticks(range(grid_a.size), [f"{v:.3g}" for v in grid_a], fontsize=7)
            axes.set_xticks(range(grid_b.size), [f"{v:.3g}" for v in grid_b], fontsize=7, rotation=45)
            axes.set_ylabel(str(features[0]))
            axes.set_xlabel(str(features[1]))
        figure.colorbar(image, ax=axes, shrink=0.8)
    return [(text("fig.pd_2d", language, case=case.label), png(figure))]
