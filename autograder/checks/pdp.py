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
    "ice.values": ("ice_transposed", "ice_pdp_returned"),
    "ice.centered": ("ice_centered_ignored", "ice_centred_at_mean", "ice_transposed", "ice_pdp_returned"),
    "ice.input_unchanged": ("ice_mutates_input",),
    "ale.edges": ("ale_uniform_edges",),
    "ale.differences": ("ale_mplot", "ale_all_rows", "ale_not_accumulated", "ale_uniform_edges", "ale_left_closed"),
    "ale.centred": ("ale_not_centred", "ale_unweighted_centring", "ale_mplot", "ale_all_rows", "ale_not_accumulated",
                    "ale_uniform_edges", "ale_left_closed"),
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
    "ice_transposed": {
        "de": "Ihr Ergebnis ist transponiert ({case}): Zeile i muss die ICE-Kurve der Zeile i von X sein, die Form "
              "also (len(X), len(grid)).",
        "en": "Your result is transposed ({case}): row i must be the ICE curve of row i of X, so the shape is "
              "(len(X), len(grid)).",
    },
    "ice_centred_at_mean": {
        "de": "Sie zentrieren jede Kurve an ihrem Mittelwert ({case}). Zentrierte ICE-Kurven (c-ICE) beginnen bei 0: "
              "Ziehen Sie von jeder Kurve ihren eigenen Wert bei grid[0] ab.",
        "en": "You centre each curve at its mean ({case}). Centred ICE curves (c-ICE) start at 0: subtract from each "
              "curve its own value at grid[0].",
    },
    "ice_centered_ignored": {
        "de": "Mit `centered=True` geben Sie unzentrierte Kurven zurück ({case}): Ziehen Sie dann von jeder Kurve "
              "ihren eigenen Wert bei grid[0] ab.",
        "en": "With `centered=True` you return uncentred curves ({case}): then subtract from each curve its own "
              "value at grid[0].",
    },
    "ice_pdp_returned": {
        "de": "Sie geben den Mittelwert der Kurven (den PDP) zurück statt der Kurven selbst ({case}): erwartet ist "
              "eine Kurve pro Zeile von X, Form (len(X), len(grid)).",
        "en": "You return the mean of the curves (the PDP) instead of the curves themselves ({case}): expected is "
              "one curve per row of X, shape (len(X), len(grid)).",
    },
    "ice_mutates_input": {
        "de": "Ihre ICE-Funktion überschreibt die Spalte im übergebenen `X` ({case}). Arbeiten Sie auf einer Kopie "
              "(`X.copy()`).",
        "en": "Your ICE function overwrites the column in the `X` passed in ({case}). Work on a copy (`X.copy()`).",
    },
    "ale_mplot": {
        "de": "Sie mitteln je Intervall die Vorhersagen seiner Zeilen ({case}): Das ist der M-Plot, in den die Wirkung "
              "jedes mit dem Merkmal korrelierten Merkmals eingeht. ALE mittelt je Intervall die Differenzen "
              "f(z_k, x_i) − f(z_(k−1), x_i) seiner Zeilen und summiert diese lokalen Effekte auf.",
        "en": "You average the predictions of each interval's rows ({case}): that is the M-plot, which mixes in the "
              "effect of every feature correlated with this one. ALE averages the differences "
              "f(z_k, x_i) − f(z_(k−1), x_i) of each interval's rows and accumulates these local effects.",
    },
    "ale_all_rows": {
        "de": "Sie mitteln die Differenz f(z_k, x_i) − f(z_(k−1), x_i) in jedem Intervall über alle Zeilen von X "
              "({case}): Das sind die Zuwächse des PDP. ALE mittelt je Intervall nur über die Zeilen, deren Wert "
              "darin liegt (z_(k−1) < x ≤ z_k).",
        "en": "You average the difference f(z_k, x_i) − f(z_(k−1), x_i) in every interval over all rows of X "
              "({case}): those are the PDP's increments. ALE averages each interval over the rows whose value lies "
              "in it (z_(k−1) < x ≤ z_k) only.",
    },
    "ale_not_accumulated": {
        "de": "Ihre Werte sind die lokalen Effekte der einzelnen Intervalle, nicht aufsummiert ({case}). ALE bei z_k "
              "ist die Summe der lokalen Effekte der Intervalle 1 bis k (`np.cumsum`), danach zentriert.",
        "en": "Your values are the local effects of the single intervals, not accumulated ({case}). ALE at z_k is "
              "the sum of the local effects of intervals 1 to k (`np.cumsum`), then centred.",
    },
    "ale_uniform_edges": {
        "de": "Ihre Intervalle sind gleich breit ({case}). Die Grenzen sind die Quantile des Merkmals: "
              "`np.unique(np.quantile(X[feature], np.linspace(0, 1, bins + 1)))`.",
        "en": "Your intervals have equal widths ({case}). The edges are the feature's quantiles: "
              "`np.unique(np.quantile(X[feature], np.linspace(0, 1, bins + 1)))`.",
    },
    "ale_left_closed": {
        "de": "Ihre Intervalle sind links geschlossen ({case}): Eine Zeile, deren Wert genau auf einer inneren Grenze "
              "z_k liegt, gehört zu Intervall k (z_(k−1) < x ≤ z_k), nicht zu k + 1. Vorsicht: `np.digitize` braucht "
              "dafür `right=True`, `pd.cut` `right=True` (der Standard) mit `include_lowest=True`.",
        "en": "Your intervals are closed on the left ({case}): a row whose value lies exactly on an inner edge z_k "
              "belongs to interval k (z_(k−1) < x ≤ z_k), not to k + 1. Note: `np.digitize` needs `right=True` for "
              "that, `pd.cut` `right=True` (the default) with `include_lowest=True`.",
    },
    "ale_not_centred": {
        "de": "Ihre ALE-Werte sind nicht zentriert ({case}): Ziehen Sie den Mittelwert über die Zeilen ab, "
              "Σ_k n_k·ale[k] / n (n_k Zeilen im Intervall k).",
        "en": "Your ALE values are not centred ({case}): subtract the mean over the rows, Σ_k n_k·ale[k] / n "
              "(n_k rows in interval k).",
    },
    "ale_unweighted_centring": {
        "de": "Sie zentrieren mit dem einfachen Mittelwert der ALE-Werte ({case}). Zentriert wird mit dem Mittelwert "
              "über die Zeilen, jede an der oberen Grenze ihres Intervalls: Σ_k n_k·ale[k] / n.",
        "en": "You centre by the plain mean of the ALE values ({case}). The centring constant is the mean over the "
              "rows, each at the upper edge of its interval: Σ_k n_k·ale[k] / n.",
    },
}


def build_cases(seed: int, public: bool) -> list:
    """The public cases (student side), or those of the hidden case set with this seed (grader side)."""
    return _public.build_public_cases(seed) if public else hidden_builders("pdp").build_hidden_cases(seed)


# --- pictures for the feedback page (optional hook, see autograder/feedback.py) -------------

# captions of the pictures of Aufgabe 4 and 5 (the shared ones are autograder/messages.py's FIGURES)
MESSAGES.update({
    "fig.ice_curves": {"de": "{case}: Ihre ICE-Kurven (rot) über denen der Referenz (schwarz, gestrichelt)",
                       "en": "{case}: your ICE curves (red) over the reference's (black, dashed)"},
    "fig.ale_curve": {"de": "{case}: Ihre ALE-Kurve über der Referenz, je Punkt eine Intervallgrenze",
                      "en": "{case}: your ALE curve over the reference, one point per interval edge"},
    "fig.ale_axis": {"de": "ALE (zentriert)", "en": "ALE (centred)"},
})


def figures(case, student_result, expected_result, language):
    """1-D: the student's curve (or ICE curves) over the reference on the grid; 2-D: heatmaps side by side;
    ICE: the student's curves over the reference's; ALE: the student's curve over the reference's at the edges."""
    from ..figures import comparison_panels, drawable, image_to_draw, new_figure, png, points_to_draw, rows_to_draw
    from ..messages import text

    if case.probe == "probe_ice":
        return _ice_figure(case, student_result, expected_result, language)
    if case.probe == "probe_ale":
        return _ale_figure(case, student_result, expected_result, language)
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


def _ice_figure(case, student_result, expected_result, language):
    from xaikit.selfcheck.messages import render

    from ..figures import drawable, new_figure, png, rows_to_draw
    from ..messages import text

    grid = np.asarray(case.inputs["grid"], dtype=np.float64)
    want = np.asarray(expected_result["ice"], dtype=np.float64)
    got = drawable(student_result.get("ice"))
    figure = new_figure(6.4, 3.8)
    axes = figure.add_subplot()
    if got is not None and got.ndim == 2 and got.shape[-1] == grid.size:
        for index, row in enumerate(rows_to_draw(got)):
            axes.plot(grid, row, color="#d66", alpha=0.5, lw=0.9, label=text("fig.student", language) if index == 0 else None)
    elif got is not None and got.ndim == 1 and got.size == grid.size:  # one curve (e.g. their mean)
        axes.plot(grid, got, "o-", color="#c22", lw=2, label=text("fig.student", language))
    for index, row in enumerate(rows_to_draw(want)):
        axes.plot(grid, row, "--", color="#111", alpha=0.6, lw=0.8,
                  label=text("fig.reference", language) if index == 0 else None)
    axes.set_xlabel(str(case.inputs["feature"]))
    axes.legend(fontsize=8)
    return [(render("fig.ice_curves", {"case": case.label}, language, MESSAGES), png(figure))]


def _ale_figure(case, student_result, expected_result, language):
    from xaikit.selfcheck.messages import render

    from ..figures import drawable, new_figure, png, points_to_draw
    from ..messages import text

    edges = np.asarray(expected_result["edges"], dtype=np.float64)
    want = np.asarray(expected_result["ale"], dtype=np.float64)
    got, got_edges = drawable(student_result.get("ale")), drawable(student_result.get("edges"))
    figure = new_figure(6.4, 3.8)
    axes = figure.add_subplot()
    if got is not None and got.ndim == 1:
        x = got_edges if got_edges is not None and got_edges.shape == got.shape else \
            np.linspace(edges[0], edges[-1], got.size)
        axes.plot(*points_to_draw(x, got), "o-", color="#c22", lw=2, label=text("fig.student", language))
    axes.plot(edges, want, "s--", color="#111", lw=1.5, label=text("fig.reference", language))
    values = np.asarray(case.inputs["X"][case.inputs["feature"]], dtype=np.float64)
    axes.plot(values, np.full(values.size, min(want.min(), got.min() if got is not None and got.size else want.min())),
              "|", color="#555", alpha=0.5)  # the rows (a rug plot)
    axes.set_xlabel(str(case.inputs["feature"]))
    axes.set_ylabel(render("fig.ale_axis", {}, language, MESSAGES))
    axes.legend(fontsize=8)
    return [(render("fig.ale_curve", {"case": case.label}, language, MESSAGES), png(figure))]
