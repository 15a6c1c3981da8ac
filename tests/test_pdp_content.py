"""Every number the PDP notebook's texts and model answers quote, recomputed on the embedded data and models (issue 23).

The models are built by the notebook's own code: its setup cell (data, split, random forest) and the model solution
of Aufgabe 3 (gradient boosting). Each test builds the quoted text from the recomputed numbers and asserts that it
still stands in its cell, so a change of data, model, seed, grid or library that moves a quoted number fails here
(and so does an edit of the text that no longer matches the computation).
"""

from __future__ import annotations

import contextlib
import inspect
import io
import re

import matplotlib

matplotlib.use("Agg")

import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.inspection import PartialDependenceDisplay, partial_dependence  # noqa: E402

from autograder.config import PROJECT_ROOT  # noqa: E402
from helpers import quoted  # noqa: E402
from reference_solutions.pdp import ale_1d, ice_curves, partial_dependence_1d, partial_dependence_2d  # noqa: E402

NOTEBOOK = PROJECT_ROOT / "source" / "pdp" / "pdp.ipynb"


def de(value: float, digits: int = 0) -> str:
    """A number as the German text writes it: decimal comma, minus sign (not a hyphen)."""
    text = f"{value:.{digits}f}".replace(".", ",")
    if text.startswith("-") and not text.strip("-0,"):
        text = text[1:]  # (no "−0,0")
    return text.replace("-", "−")


def signed(value: float, digits: int = 1) -> str:
    return ("+" if value >= 0 else "") + de(value, digits)


@pytest.fixture(scope="module")
def nb():
    cells = nbformat.read(NOTEBOOK, as_version=4).cells
    by_id = {c.metadata["nbgrader"]["grade_id"]: c.source for c in cells
             if "grade_id" in c.metadata.get("nbgrader", {})}
    headed = {c.source.splitlines()[0]: c.source for c in cells if c.cell_type == "markdown" and c.source}
    return {"cells": cells, "by_id": by_id, "headed": headed}


def heading(nb, start: str) -> str:
    return next(text for first, text in nb["headed"].items() if first.startswith(start))


@pytest.fixture(scope="module")
def m(nb):
    """The notebook's data and models, built by its own code."""
    namespace: dict = {}
    setup = nb["by_id"]["setup"]
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(setup, "setup cell", "exec"), namespace)
    boosting_line = re.search(r"^boosting = .*$", nb["by_id"]["compare_models"], re.MULTILINE).group(0)
    exec(compile(boosting_line, "compare_models cell", "exec"), namespace)
    X, X_train = namespace["X"], namespace["X_train"]
    grids = {f: np.linspace(X[f].quantile(0.05), X[f].quantile(0.95), 25) for f in ("RM", "LSTAT")}
    pdp = {(name, f): partial_dependence_1d(namespace[name], X_train, f, grids[f])
           for name in ("forest", "boosting") for f in grids}
    grid_rm, grid_lstat = np.linspace(4.5, 8.5, 11), np.linspace(2, 30, 11)  # the 2-D demo cell's grid
    assert f"grid_rm = np.linspace(4.5, 8.5, 11)\ngrid_lstat = np.linspace(2, 30, 11)" in next(
        c.source for c in nb["cells"] if "partial_dependence_2d(forest" in c.source)
    pd_2d = partial_dependence_2d(namespace["forest"], X_train, ("RM", "LSTAT"), grid_rm, grid_lstat)
    return {**namespace, "grids": grids, "pdp": pdp, "grid_rm": grid_rm, "grid_lstat": grid_lstat, "pd_2d": pd_2d}


def test_the_german_number_format():
    assert (de(2.53, 1), de(-0.613, 2), de(-0.001, 1), signed(5.53), signed(-4.59)) == (
        "2,5", "−0,61", "0,0", "+5,5", "−4,6")


def test_the_r2_of_both_models(nb, m):
    forest, boosting = m["forest"].score(m["X_test"], m["y_test"]), m["boosting"].score(m["X_test"], m["y_test"])
    text = f"Gradient Boosting ≈ {de(boosting, 2)}, Random Forest ≈ {de(forest, 2)}"
    quoted(heading(nb, "## Aufgabe 3"), f"(Gradient Boosting ≈ {de(boosting, 2)}, Random Forest ≈ {de(forest, 2)})")
    quoted(nb["by_id"]["answer_models"], f"R² {text}")


def test_the_comparison_with_scikit_learn_and_the_ice_curves(nb, m):
    """c5: recursion deviates by up to a good 3 units, X_test and X_train by less than 1; 50 of 379 ICE curves."""
    text = heading(nb, "### Beispiel: Ihre PDPs")
    recursion, on_test = [], []
    for feature, grid in m["grids"].items():
        brute = partial_dependence(m["forest"], m["X_train"], [feature], method="brute", custom_values={feature: grid})
        assert np.allclose(brute["grid_values"][0], grid)  # (the function honours names; the display does not)
        rec = partial_dependence(m["forest"], m["X_train"], [feature], method="recursion",
                                 custom_values={feature: grid})
        test = partial_dependence(m["forest"], m["X_test"], [feature], method="brute", custom_values={feature: grid})
        recursion.append(np.abs(rec["average"][0] - brute["average"][0]).max())
        on_test.append(np.abs(test["average"][0] - brute["average"][0]).max())
    assert 3.0 <= max(recursion) < 3.5
    assert max(on_test) < 1.0
    quoted(text, "um bis zu gut 3 Einheiten", "um weniger als 1 Einheit",
           f"(`X_test`, {len(m['X_test'])} Bezirke)", f"(`X_train`, {len(m['X_train'])} Bezirke)",
           f"über alle {len(m['X_train'])} Bezirke", "30 zufällig gewählte Bezirke")
    demo = next(c.source for c in nb["cells"] if 'kind="both"' in c.source)
    assert "size=30" in demo and f"Mittelwert aller {len(m['X_train'])} ICE-Kurven" in demo


def test_the_display_ignores_custom_values_keyed_by_name_and_honours_them_by_index(nb, m):
    """c12: scikit-learn's display takes its own 100 x 100 grid unless custom_values are keyed by column index."""
    import matplotlib.pyplot as plt

    X_train, forest = m["X_train"], m["forest"]
    grid_rm, grid_lstat = np.array([5.0, 6.0, 7.0]), np.array([5.0, 15.0])
    rm, lstat = X_train.columns.get_loc("RM"), X_train.columns.get_loc("LSTAT")
    fig, axes = plt.subplots(1, 2)
    by_name = PartialDependenceDisplay.from_estimator(forest, X_train, [("RM", "LSTAT")], ax=axes[0], method="brute",
                                                      grid_resolution=4, custom_values={"RM": grid_rm,
                                                                                        "LSTAT": grid_lstat})
    by_index = PartialDependenceDisplay.from_estimator(forest, X_train, [(rm, lstat)], ax=axes[1], method="brute",
                                                       custom_values={rm: grid_rm, lstat: grid_lstat})
    plt.close(fig)
    assert by_name.pd_results[0]["average"][0].shape == (4, 4)  # names ignored: its own grid
    assert np.allclose(by_index.pd_results[0]["grid_values"][0], grid_rm)
    np.testing.assert_allclose(by_index.pd_results[0]["average"][0],
                               partial_dependence_2d(forest, X_train, ("RM", "LSTAT"), grid_rm, grid_lstat))
    resolution = inspect.signature(PartialDependenceDisplay.from_estimator).parameters["grid_resolution"].default
    quoted(heading(nb, "### Beispiel: der 2-D-PDP"), f"{resolution} × {resolution} Punkten",
           f"{resolution ** 2:,} statt {len(m['grid_rm']) * len(m['grid_lstat'])} Gitterpunkte".replace(",", " "))
    demo = next(c.source for c in nb["cells"] if "partial_dependence_2d(forest" in c.source)
    assert "custom_values={rm: grid_rm, lstat: grid_lstat}" in demo and "get_loc" in demo


def test_answer_lstat(nb, m):
    text = nb["by_id"]["answer_lstat"]
    grid, pdp = m["grids"]["LSTAT"], m["pdp"][("forest", "LSTAT")]
    at16 = np.argmin(np.abs(grid - 16))
    above = pdp[grid > 17]
    assert round(2 * np.median(above)) / 2 == 18.5 and np.ptp(above) < 1.0  # "fast konstant bei ≈ 18,5"
    total = pdp[0] - pdp[-1]
    assert (pdp[0] - pdp[at16]) / total > 0.9  # "fast die ganze Wirkung ... unter ≈ 16 %"
    drops = np.argsort(np.diff(pdp))[:3]  # the three steepest sections of the plotted curve
    middles = sorted(round((grid[k] + grid[k + 1]) / 2) for k in drops)
    quoted(text, f"von ≈ {de(pdp[0])} (tausend USD) bei `LSTAT` ≈ {de(grid[0])} %",
           f"auf ≈ {de(pdp[at16])} bei `LSTAT` ≈ {de(grid[at16])} %", "fast konstant bei ≈ 18,5",
           f"Fast die ganze Wirkung (≈ {de(total)}) liegt also unter ≈ {de(grid[at16])} %",
           "bei ≈ {} %, ≈ {} % und ≈ {} %".format(*middles), f"ab ≈ {de(grid[at16])} %")
    ice = partial_dependence(m["forest"], m["X_train"], ["LSTAT"], method="brute", kind="individual",
                             custom_values={"LSTAT": grid})["individual"][0]
    change = ice[:, -1] - ice[:, 0]
    np.testing.assert_allclose(change.mean(), pdp[-1] - pdp[0])
    quoted(text, f"um ≈ {de(-np.percentile(change, 95))} bis ≈ {de(-np.percentile(change, 5))} "
                 "(5- bis 95-%-Quantil der Bezirke)",
           f"statt um die ≈ {de(total)} des PDP")
    X_train = m["X_train"]
    r = X_train["RM"].corr(X_train["LSTAT"])
    quoted(text, f"(r ≈ {de(r, 2)})", f"`LSTAT` ≈ {de(grid[-1])} % (rechtes Ende des Gitters)",
           f"einen `LSTAT` über {de(X_train['LSTAT'][X_train['RM'] > 7].max(), 1)} %")


def test_answer_regions(nb, m):
    text = nb["by_id"]["answer_regions"]
    pd_2d, grid_rm, grid_lstat = m["pd_2d"], m["grid_rm"], m["grid_lstat"]
    high = pd_2d[grid_rm >= 7.5][:, grid_lstat <= 6]
    low = pd_2d[grid_rm <= 6.5][:, grid_lstat >= 16]
    assert pd_2d.max() == high.max() and pd_2d.min() == low.min()
    quoted(text, f"(≈ {de(high.min())}–{de(high.max())} bei `RM` ≥ 7,5 und `LSTAT` ≤ 6)",
           f"(≈ {de(low.min())}–{de(low.max())} bei `RM` ≤ 6,5 und `LSTAT` ≥ 16)")

    rm_effect = pd_2d[-1] - pd_2d[0]  # RM 4.5 -> 8.5, at each LSTAT of the grid
    lstat_effect = pd_2d[:, 0] - pd_2d[:, -1]  # LSTAT 2 -> 30, at each RM
    at_high = rm_effect[grid_lstat >= 20]
    assert (grid_rm[0], grid_rm[-1], grid_lstat[0], grid_lstat[-1]) == (4.5, 8.5, 2, 30)
    quoted(text, f"um ≈ {de(rm_effect.min())}–{de(rm_effect.max())} (bei `LSTAT` 2 um ≈ {de(rm_effect[0], 1)}, "
                 f"bei `LSTAT` 20–30 um ≈ {de(at_high.min(), 1)}–{de(at_high.max(), 1)})",
           f"senkt sie bei jedem `RM` um ≈ {de(lstat_effect.min(), 1)}–{de(lstat_effect.max(), 1)}")

    # the non-additive part: the 2-D PDP minus the sum of the 1-D PDPs (each centred), on the same grid
    pd_rm = partial_dependence_1d(m["forest"], m["X_train"], "RM", grid_rm)
    pd_lstat = partial_dependence_1d(m["forest"], m["X_train"], "LSTAT", grid_lstat)
    centred = pd_2d - pd_2d.mean()
    rest = centred - (pd_rm - pd_rm.mean())[:, None] - (pd_lstat - pd_lstat.mean())[None, :]
    share = (rest ** 2).sum() / (centred ** 2).sum()
    assert share < 0.05  # "nahezu additiv"
    quoted(text, "**nahezu additiv**", f"nur ≈ {de(100 * share, 1)} % der Varianz des 2-D-PDP")

    X_train = m["X_train"]
    in_corner = ((X_train["RM"] > 7) & (X_train["LSTAT"] > 20)).sum()
    assert in_corner == 0
    quoted(text, f"(r ≈ {de(X_train['RM'].corr(X_train['LSTAT']), 2)})", "`RM` > 7 bei `LSTAT` > 20) liegt kein",
           "der höchste `LSTAT` unter den Bezirken mit `RM` > 7 ist "
           f"{de(X_train['LSTAT'][X_train['RM'] > 7].max(), 1)} %")


def test_answer_models(nb, m):
    text = nb["by_id"]["answer_models"]
    grids, pdp = m["grids"], m["pdp"]
    rm, lstat = grids["RM"], grids["LSTAT"]

    for model in ("forest", "boosting"):  # "steigt mit RM, vor allem ab RM ≈ 6,5"
        curve = pdp[(model, "RM")]
        below = curve[rm <= 6.5]
        assert np.ptp(below) < 1.5 and (curve[-1] - below[-1]) / (curve[-1] - curve[0]) > 0.85
    quoted(text, "vor allem ab `RM` ≈ 6,5",
           f"(≈ {de(pdp[('boosting', 'LSTAT')][0])} statt ≈ {de(pdp[('forest', 'LSTAT')][0])})",
           f"(≈ {de(pdp[('boosting', 'RM')][-1])} statt ≈ {de(pdp[('forest', 'RM')][-1])})")

    def flat(model):
        return sum(int((np.abs(np.diff(pdp[(model, f)])) < 1e-9).sum()) for f in grids)

    plateau = pdp[("boosting", "RM")][(rm >= 7.2) & (rm <= 7.41)]
    assert len(plateau) >= 3 and np.ptp(plateau) == 0
    quoted(text, f"in {flat('boosting')} von {2 * (len(rm) - 1)} Schritten exakt gleich "
                 f"(z. B. ≈ {de(plateau[0], 1)} für `RM` 7,2–7,4), der Random Forest in "
                 f"{'keinem' if flat('forest') == 0 else flat('forest')}")

    steps = {key: np.diff(curve) for key, curve in pdp.items()}
    (model, feature), k = max(((key, int(np.argmax(np.abs(s)))) for key, s in steps.items()),
                              key=lambda item: abs(steps[item[0]][item[1]]))
    assert (model, feature) == ("forest", "RM")  # the largest step of the figure is the forest's
    middle = (rm[k] + rm[k + 1]) / 2
    g = int(np.argmax(np.abs(steps[("boosting", "LSTAT")])))
    f = int(np.argmax(np.abs(steps[("forest", "LSTAT")])))
    assert abs(steps[("boosting", "LSTAT")][g]) > abs(steps[("forest", "LSTAT")][f])
    quoted(text, f"bei `RM` ≈ {de(middle, 2)} ({signed(steps[('forest', 'RM')][k])}; Gradient Boosting dort "
                 f"{signed(steps[('boosting', 'RM')][k])})",
           f"({signed(steps[('boosting', 'LSTAT')][g])} bei `LSTAT` ≈ {de((lstat[g] + lstat[g + 1]) / 2)} %; "
           f"der Random Forest höchstens {signed(steps[('forest', 'LSTAT')][f])}, "
           f"bei ≈ {de((lstat[f] + lstat[f + 1]) / 2)} %)")

    # why: where the trees split RM
    column = m["X_train"].columns.get_loc("RM")
    forest_trees = m["forest"].estimators_
    boosting_trees = [tree for (tree,) in m["boosting"].estimators_]

    def thresholds(trees):
        return [t.tree_.threshold[t.tree_.feature == column] for t in trees]

    forest_rm, boosting_rm = thresholds(forest_trees), thresholds(boosting_trees)
    at_step = sum(bool(((t >= 7.40) & (t <= 7.46)).any()) for t in forest_rm)
    distinct_forest = len(np.unique(np.concatenate(forest_rm).round(4)))
    distinct_boosting = len(np.unique(np.concatenate(boosting_rm).round(4)))
    assert rm[k] < 7.43 < rm[k + 1]
    quoted(text, f"(rund {round(distinct_forest, -2)} verschiedene für `RM`)",
           f"({at_step} von {len(forest_trees)} teilen `RM` zwischen 7,40 und 7,46)",
           f"({distinct_boosting} verschiedene für `RM`)",
           f"Der Random Forest mittelt {len(forest_trees)} tiefe Bäume",
           f"Gradient Boosting addiert {len(boosting_trees)} flache Bäume (Tiefe {m['boosting'].max_depth}), jeder "
           f"mit dem Faktor {de(m['boosting'].learning_rate, 2)} verkleinert")

    # the flat ends lie inside the training data
    for model in ("forest", "boosting"):  # "kaum": under a tenth of the curve's whole change
        for feature, end in (("RM", rm < 6.1), ("LSTAT", lstat > 17)):
            curve = pdp[(model, feature)]
            assert np.ptp(curve[end]) < 0.1 * np.ptp(curve), (model, feature)
    X_train = m["X_train"]
    assert X_train["RM"].min() < rm[0] and rm[-1] < X_train["RM"].max()
    assert X_train["LSTAT"].min() < lstat[0] and lstat[-1] < X_train["LSTAT"].max()
    quoted(text, "(`RM` unter ≈ 6,1, `LSTAT` über ≈ 17)",
           f"`RM` {de(rm[0], 1)}–{de(rm[-1], 1)}, `LSTAT` {de(lstat[0], 1)}–{de(lstat[-1], 1)})",
           f"(`RM` {de(X_train['RM'].min(), 1)}–{de(X_train['RM'].max(), 1)}, "
           f"`LSTAT` {de(X_train['LSTAT'].min(), 1)}–{de(X_train['LSTAT'].max(), 1)})",
           f"r ≈ {de(X_train['RM'].corr(X_train['LSTAT']), 2)})")


def test_the_demo_cells_print_what_the_texts_quote(nb):
    """The texts promise printed numbers: the demo cells print them."""
    demo_1d = next(c.source for c in nb["cells"] if 'kind="both"' in c.source)
    assert "recursion – brute: max." in demo_1d and "PDP auf X_test – auf X_train: max." in demo_1d
    demo_2d = next(c.source for c in nb["cells"] if "partial_dependence_2d(forest" in c.source)
    assert "Korrelation von RM und LSTAT in X_train" in demo_2d and "größter Unterschied" in demo_2d


def test_the_points_the_texts_quote(nb, m):
    """The introduction's totals, each question's points and each model answer's breakdown match the cells' points."""
    cells = nb["cells"]
    graded = [c.metadata["nbgrader"] for c in cells if c.metadata.get("nbgrader", {}).get("grade")]
    automatic = sum(g["points"] for g in graded if not g.get("solution"))
    manual = sum(g["points"] for g in graded if g.get("solution"))
    quoted(cells[0].source, f"{len(m['X'])} Stadtbezirke", f"automatisch ({automatic} Punkte)",
           f"von Hand bewertet ({manual} Punkte). Insgesamt {automatic + manual} Punkte.")
    for index, cell in enumerate(cells):
        grade = cell.metadata.get("nbgrader", {})
        if not (grade.get("grade") and grade.get("solution")):
            continue
        question = cells[index - 1].source.splitlines()[0]
        assert re.search(rf"\({grade['points']} Punkte\)", question), question
        breakdown = re.search(r"Musterantwort \(Bewertung: (.*?);", cell.source, re.DOTALL).group(1)
        assert sum(int(n) for n in re.findall(r"(\d) Punkte?\b", breakdown)) == grade["points"], breakdown


# --- Aufgabe 4 and 5: ICE, ALE and the grid beyond the data (Frage 4, "Wann lügt der PDP?") ----------------------

def demo_cell(nb, marker: str) -> str:
    return next(c.source for c in nb["cells"] if marker in c.source and c.metadata.get("xaigrade", {}).get("demo"))


def test_answer_pdp_lies_hidden_differences(nb, m):
    """The ICE example: RM 6 -> 7.5 per district, lower vs upper third of LSTAT, against the 2-D PDP at their medians."""
    demo = demo_cell(nb, 'ice_curves(forest, X_train, "RM", [6.0, 7.5])')
    assert 'quantile([1 / 3, 2 / 3])' in demo and '("RM", "LSTAT"), [6.0, 7.5], medians)' in demo
    assert "unteres LSTAT-Drittel" in demo and "2-D-PDP, RM 6 → 7,5 mit LSTAT in allen Bezirken" in demo
    X_train, forest = m["X_train"], m["forest"]
    effect = np.diff(ice_curves(forest, X_train, "RM", [6.0, 7.5]), axis=1)[:, 0]
    low_cut, high_cut = X_train["LSTAT"].quantile([1 / 3, 2 / 3])
    low, high = (X_train["LSTAT"] <= low_cut).to_numpy(), (X_train["LSTAT"] >= high_cut).to_numpy()
    np.testing.assert_allclose(effect.mean(), np.diff(partial_dependence_1d(forest, X_train, "RM", [6.0, 7.5]))[0])
    medians = [X_train["LSTAT"][low].median(), X_train["LSTAT"][high].median()]
    two_d = partial_dependence_2d(forest, X_train, ("RM", "LSTAT"), [6.0, 7.5], medians)
    at_low, at_high = two_d[1, 0] - two_d[0, 0], two_d[1, 1] - two_d[0, 1]
    groups = effect[low].mean() - effect[high].mean()
    assert at_low - at_high < 0.5 * groups  # "nur zum kleineren Teil"
    quoted(nb["by_id"]["answer_pdp_lies"], f"Laut PDP hebt `RM` 6 → 7,5 die Vorhersage um ≈ {de(effect.mean(), 1)}",
           f"unteren `LSTAT`-Drittels steigt sie im Mittel um ≈ {de(effect[low].mean(), 1)}, in denen des oberen um "
           f"≈ {de(effect[high].mean(), 1)}",
           f"gibt ≈ {de(at_low, 1)} bei `LSTAT` = {de(medians[0], 1)} % und ≈ {de(at_high, 1)} bei {de(medians[1], 1)} %, "
           f"einen Unterschied von ≈ {de(at_low - at_high, 1)} statt ≈ {de(groups, 1)}")


def test_answer_pdp_lies_pdp_against_ale(nb, m):
    demo = demo_cell(nb, "ale_1d(forest, X_train")
    assert 'ale_1d(forest, X_train, "LSTAT", 10)' in demo and "np.ptp(pdp_lstat)" in demo and "np.ptp(ale)" in demo
    X_train, forest = m["X_train"], m["forest"]
    edges, ale = ale_1d(forest, X_train, "LSTAT", 10)
    pdp = partial_dependence_1d(forest, X_train, "LSTAT", edges)
    assert np.ptp(pdp) > np.ptp(ale) + 2
    many_rooms = X_train["RM"] > 7
    assert (X_train["LSTAT"][many_rooms].max() < edges[-1])
    quoted(nb["by_id"]["answer_pdp_lies"],
           f"Die Spannweite des PDP von `LSTAT` ist ≈ {de(np.ptp(pdp), 1)}, die der ALE-Kurve ≈ {de(np.ptp(ale), 1)}",
           f"(r ≈ {de(X_train['RM'].corr(X_train['LSTAT']), 2)})",
           f"`LSTAT` = {de(edges[-1], 1)} % (die oberste Grenze) auch in den {many_rooms.sum()} Bezirken mit mehr als 7 "
           f"Zimmern ein, obwohl keiner von ihnen einen `LSTAT` über {de(X_train['LSTAT'][many_rooms].max(), 1)} % hat")


def test_answer_pdp_lies_beyond_the_data(nb, m):
    from sklearn.linear_model import LinearRegression

    demo = demo_cell(nb, "grid_wide")
    assert "grid_wide = np.linspace(2, 12, 41)" in demo and "LinearRegression().fit(X_train, y_train)" in demo
    X_train = m["X_train"]
    grid = np.linspace(2, 12, 41)
    linear = LinearRegression().fit(X_train, m["y_train"])
    forest_curve = partial_dependence_1d(m["forest"], X_train, "RM", grid)
    linear_curve = partial_dependence_1d(linear, X_train, "RM", grid)
    low, high = X_train["RM"].min(), X_train["RM"].max()
    left, right = forest_curve[grid <= low], forest_curve[grid >= high]
    assert len(left) >= 3 and len(right) >= 3 and np.ptp(left) == 0 and np.ptp(right) == 0  # "exakt konstant"
    slope = linear.coef_[X_train.columns.get_loc("RM")]
    np.testing.assert_allclose(np.diff(linear_curve), slope * np.diff(grid))
    quoted(nb["by_id"]["answer_pdp_lies"], f"`RM` liegt in `X_train` zwischen {de(low, 1)} und {de(high, 1)}",
           f"exakt konstant (≈ {de(left[0], 1)} bzw. ≈ {de(right[0], 1)})",
           f"(+{de(slope, 2)} je Zimmer, ≈ {de(linear_curve[0], 1)} bei `RM` = 2 und ≈ {de(linear_curve[-1], 1)} "
           "bei `RM` = 12)")
