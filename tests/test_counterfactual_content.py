"""Every number the counterfactual notebook's texts and model answers quote, recomputed on the embedded Mini-VGG
(issue 23).

The notebook's own run (its setup cell: scene 11, target *star*, ``SETTINGS``) is recomputed with the reference
``generate_counterfactual`` and ``difference_map`` (``reference_solutions/counterfactual.py``, what the notebook's
solution computes). Each test builds the quoted text from the recomputed numbers and asserts that it still stands in
its cell, so a change of the model, the scene, the settings or the definitions that moves a quoted number fails
here, naming the text to update (re-run the notebook and copy the printed figures).
"""

from __future__ import annotations

import re

import nbformat
import numpy as np
import pytest

from autograder.config import PROJECT_ROOT
from helpers import quoted

NOTEBOOK = PROJECT_ROOT / "source" / "counterfactual" / "counterfactual.ipynb"
RUBRICS = ("answer_lambda", "answer_discussion", "answer_l1")
WEIGHT_FACTORS = (0.0, 1.0, 10.0, 40.0)  # the sweep of Aufgabe 4: 0, λ, 10·λ, 40·λ
L1_WEIGHTS = (0.1, 0.3, 0.5, 2.0)  # the L1 counterfactuals after Aufgabe 6 (the cell's l1_weights)
PATH_STEPS = (0, 2, 5)  # the example cell's "Vorhergesagte Klasse nach k Schritten"


def de(value: float, digits: int) -> str:
    """A number as the German texts write it: decimal comma."""
    return f"{value:.{digits}f}".replace(".", ",")


def de_g(value: float, digits: int = 2) -> str:
    """As the cells print with ``:.2g``, with a decimal comma: 0.00043 -> '0,00043'; in exponent form as the texts
    write it in LaTeX, 3e-06 -> '$3 \\cdot 10^{-6}$'."""
    printed = f"{value:.{digits}g}"
    if "e" not in printed:
        return printed.replace(".", ",")
    mantissa, exponent = printed.split("e")
    return f"${mantissa.replace('.', '{,}')} \\cdot 10^{{{int(exponent)}}}$"


def percent(share: float) -> str:
    return f"{100 * share:.0f} %"


def power_of_ten(value: float) -> str:
    """1.93e-23 -> '1{,}9 \\cdot 10^{-23}' (the LaTeX the texts write)."""
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa.replace('.', '{,}')} \\cdot 10^{{{int(exponent)}}}"


@pytest.fixture(scope="module")
def notebook():
    return nbformat.read(NOTEBOOK, as_version=4)


@pytest.fixture(scope="module")
def cells(notebook):
    """grade id -> source, and markdown cells by their first line."""
    by_id = {c.metadata["nbgrader"]["grade_id"]: c.source for c in notebook.cells
             if "grade_id" in c.metadata.get("nbgrader", {})}
    headed = {c.source.splitlines()[0]: c.source for c in notebook.cells if c.cell_type == "markdown" and c.source}
    return {"by_id": by_id, "headed": headed, "all": notebook.cells}


def heading(cells, start: str) -> str:
    return next(text for first, text in cells["headed"].items() if first.startswith(start))


def code_cell_with(cells, fragment: str) -> str:
    found = [c.source for c in cells["all"] if c.cell_type == "code" and fragment in c.source]
    assert len(found) == 1, fragment
    return found[0]


@pytest.fixture(scope="module")
def run():
    """The notebook's own run on the embedded Mini-VGG, its λ sweep and the path of classes along it."""
    from reference_solutions import counterfactual as reference
    from xaikit.keras_models import load_model
    from xaikit.scenes import make_scene

    model, names = load_model("embedded")
    scene = make_scene(reference.NOTEBOOK_SCENE_SEED)
    x = scene.image[None].astype(np.float32) / 255.0
    target = names.index(reference.NOTEBOOK_TARGET)
    settings = reference.NOTEBOOK_SETTINGS

    def predict(image):
        return model(np.asarray(image, np.float32), training=False).numpy()[0].astype(np.float64)

    probs = predict(x)
    cf, history = reference.generate_counterfactual(model, x, target, **settings)
    diff = reference.difference_map(x, cf)
    sweep = []
    for factor in WEIGHT_FACTORS:
        weight = factor * settings["distance_weight"]
        image, _ = reference.generate_counterfactual(model, x, target, **{**settings, "distance_weight": weight})
        p = predict(image)
        sweep.append({"weight": weight, "class": names[int(np.argmax(p))], "p": float(p.max()),
                      "p_target": float(p[target]), "l2": float(np.sqrt(((image - x).astype(np.float64) ** 2).sum()))})
    path = {}
    for steps in PATH_STEPS:
        image, _ = reference.generate_counterfactual(model, x, target, **{**settings, "steps": steps})
        path[steps] = names[int(np.argmax(predict(image)))]
    target_probs = np.asarray(history["target_prob"])
    return {"model": model, "names": names, "scene": scene, "x": x, "target": target, "settings": settings,
            "probs": probs, "cf": cf, "probs_cf": predict(cf), "diff": diff, "target_probs": target_probs,
            "sweep": sweep, "path": path}


# ------------------------------------------------------------------------------------ the notebook's own run

def test_the_setup_cell_makes_the_run_the_texts_quote(cells):
    """The answers probe and these tests recompute the notebook's run from constants: they must be the setup cell's."""
    from reference_solutions import counterfactual as reference
    from xaikit.selfcheck.exercises.counterfactual import NOTEBOOK_SCENE

    setup = cells["by_id"]["setup"]
    assert reference.NOTEBOOK_SCENE_SEED == NOTEBOOK_SCENE
    assert f"scene = make_scene({NOTEBOOK_SCENE})" in setup
    assert f'target_class = class_names.index("{reference.NOTEBOOK_TARGET}")' in setup
    settings = re.search(r'^    SETTINGS = (\{"steps": 9,.*\})$', setup, re.MULTILINE).group(1)
    assert eval(settings) == reference.NOTEBOOK_SETTINGS  # noqa: S307 - our own notebook's literal


def test_the_notebook_loads_the_models_of_the_course_setting_and_prints_it(cells):
    setup = cells["by_id"]["setup"]
    assert "course_models()" in setup and "COURSE_MODELS_VARIABLE" in setup
    assert "ModelNotAvailableError" not in setup and "except" not in setup  # a cached VGG16 switches nothing
    first_print = setup.index("print(")
    assert first_print < setup.index('load_keras_classifier("embedded")')
    assert first_print < setup.index('load_keras_classifier("vgg16")')
    quoted(cells["all"][0].source, "die Umgebungsvariable `XAI_KURS_MODELS`", "Voreinstellung ist `embedded`")


def test_the_introduction_describes_the_mini_vgg_that_ships(run, cells):
    model = run["model"]
    convs = [layer for layer in model.layers if layer.name.startswith("block") and "conv" in layer.name]
    filters = sorted({layer.filters for layer in convs})
    per_block = [sum(layer.name.startswith(f"block{b}_") for layer in convs) for b in (1, 2, 3)]
    units = [model.get_layer(name).units for name in ("fc1", "fc2")]
    assert per_block == [2, 2, 3] and filters == [16, 32, 64] and units == [128, 128]
    assert model.input_shape[1:] == (64, 64, 3) and model.output_shape[-1] == len(run["names"]) == 6
    quoted(cells["all"][0].source, "(2, 2 und 3 Faltungsschichten 3×3", "mit 16, 32 und 64 statt 64, 128 und 256",
           "zwei Dense-Schichten mit 128 statt 4096", "eine Softmax über sechs Klassen", "RGB-Bilder 64×64")


def test_the_class_table_and_the_start_probability(run, cells):
    names, probs, target = run["names"], run["probs"], run["target"]
    order = np.argsort(probs)[::-1]
    assert names[order[0]] == run["scene"].class_name == "circle" and names[order[1]] == "square"
    gap_square = np.log(probs[order[0]] / probs[names.index("square")])
    gap_star = np.log(probs[order[0]] / probs[target])
    start = power_of_ten(probs[target])
    assert start == "1{,}9 \\cdot 10^{-23}"  # (the messages quote it too: test below)
    quoted(heading(cells, "### Beispiel"), f"$p_t = {start}$", f"bleibt bei ${start}$")
    quoted(cells["by_id"]["answer_lambda"], f"*square* mit $\\ln(p_{{\\max}}/p) = {de(gap_square, 1).replace(',', '{,}')}$",
           f"*star* liegt {de(gap_star, 1)} zurück")


def test_the_example_run_quotes_when_the_target_probability_rises_and_the_path(run, cells):
    probs = run["target_probs"]
    above_half, above_nine = (int(np.flatnonzero(probs > level)[0]) for level in (0.5, 0.9))
    path = run["path"]
    assert [path[k] for k in PATH_STEPS] == ["circle", "square", "star"]
    assert len(run["target_probs"]) == run["settings"]["steps"] > PATH_STEPS[-1]  # the path stops within the run
    text = heading(cells, "### Beispiel")
    quoted(text, f"erst ab Schritt {above_half} liegt es über 0,5, ab Schritt {above_nine} über 0,9",
           "der Weg von *circle* zu *star* führt über *square*.",
           f"nach {', '.join(map(str, PATH_STEPS[:-1]))} und {PATH_STEPS[-1]} Schritten")
    _, square, star = PATH_STEPS
    quoted(cells["by_id"]["answer_lambda"], f"über *square* (nach {square} Schritten) zu *star* (nach {star})")
    example = code_cell_with(cells, "x_counterfactual, history = generate_counterfactual(")
    assert f"for steps in {PATH_STEPS}:" in example and "for level in (0.5, 0.9):" in example


def test_an_epsilon_or_a_clipped_probability_leaves_the_notebooks_image_unchanged(run, cells):
    """What the example's text says: below 1e-7 an epsilon (the known mistake) and Keras' clipping of a sliced
    probability row (correct in the graded range, where it never binds) have no gradient: the image stays."""
    import keras

    from reference_solutions import counterfactual as reference
    from reference_solutions.alternatives.counterfactual import keras_on_probabilities
    from reference_solutions.hidden.counterfactual import P_FLOOR

    assert keras.config.epsilon() == reference.LOG_EPSILON == 1e-7 < P_FLOOR
    assert run["probs"][run["target"]] < 1e-7
    for function in (reference.epsilon_in_log, keras_on_probabilities):
        image, history = function(run["model"], run["x"], run["target"], **run["settings"])
        assert np.array_equal(image, run["x"]), function.__name__
        assert max(history["target_prob"]) == pytest.approx(run["probs"][run["target"]], rel=1e-3)
    quoted(heading(cells, "### Beispiel"), "`-tf.math.log(p + 1e-7)`", "`tf.clip_by_value(p, 1e-7, 1)`",
           "auf $[10^{-7}, 1 - 10^{-7}]$ begrenzt", "Gradient hier **null**")


def test_the_epsilon_messages_quote_the_notebooks_image(run):
    from autograder.checks.counterfactual import MESSAGES

    p = run["probs"][run["target"]]
    assert f"p = {de(float(f'{p:.1e}'.split('e')[0]), 1)}·10⁻²³" in MESSAGES["epsilon_in_log"]["de"]
    assert f"p = {p:.1e}" in MESSAGES["epsilon_in_log"]["en"]
    shrink = 1 - 1e-6 / (1e-6 + 1e-7)  # the gradient's factor p / (p + eps) at p = 1e-6
    assert f"um {percent(shrink)})" in MESSAGES["epsilon_in_log"]["de"]


def test_the_task_text_quotes_the_public_case_and_the_epsilon_it_catches(cells):
    """Aufgabe 1: the public Mini-VGG case starts at p_t = 1.2e-6 and already catches an epsilon of 1e-9 (1e-10, a
    correct alternative, passes it); the proximity factor and the sparsity threshold are the graded ones."""
    from autograder.checks import Exercise
    from autograder.checks.counterfactual import PROXIMITY_FACTOR
    from autograder.config import XaiGrade
    from reference_solutions import counterfactual as reference
    from xaikit.selfcheck.exercises.counterfactual import probe_cf

    exercise = Exercise("counterfactual")
    case = next(c for c in exercise.build_cases(XaiGrade().public_seed, public=True) if c.id == "cf_embedded_0")
    expected = probe_cf(dict(vars(reference)), case.inputs)
    check = next(c for c in exercise.checks if c.id == "cf.matches_reference")

    def with_epsilon(epsilon):
        def generate(model, image, target_class, steps=50, lr=0.1, distance_weight=0.05):
            return reference._descent(model, image, target_class, steps, lr, distance_weight, log_epsilon=epsilon)
        return probe_cf({**vars(reference), "generate_counterfactual": generate}, case.inputs)

    assert check.criterion(with_epsilon(1e-9), expected, case) is not None
    assert check.criterion(with_epsilon(1e-10), expected, case) is None
    task = heading(cells, "## Aufgabe 1")
    quoted(task, f"(Start bei $p_t = {power_of_ten(expected['history_target_prob'][0])}$) erkennt schon "
                 "`-tf.math.log(p + 1e-9)`",
           f"beide höchstens das {de(PROXIMITY_FACTOR, 1)}-Fache der Referenz",
           "\\mathbb{1}[D_{hw} > 1/255]")


def test_the_sweep_task_and_answer_lambda_quote_the_sweep(run, cells):
    sweep = run["sweep"]
    assert [row["class"] for row in sweep] == ["star", "star", "star", "square"]  # λ = 20: a flip, not valid
    task, answer = heading(cells, "## Aufgabe 4"), cells["by_id"]["answer_lambda"]
    for row in sweep[:3]:
        quoted(task, f"λ = {de(row['weight'], 1).removesuffix(',0')}: *star* (p ≈ {de(row['p'], 2)}), gültig, "
                     f"L2 ≈ {de(row['l2'], 2)}")
    last = sweep[3]
    quoted(task, f"λ = {last['weight']:g}: *square* (p ≈ {de(last['p'], 2)}), $p_{{\\text{{Ziel}}}}$ ≈ "
                 f"{de_g(last['p_target'])}, L2 ≈ {de(last['l2'], 2)}",
           "(Mini-VGG: 0, 0,5, 5, 20)")
    quoted(answer, "L2 " + " → ".join(de(row["l2"], 2) for row in sweep),
           "Zielklasse (" + " → ".join(de(row["p_target"], 2) for row in sweep[:3]) + f" → {de_g(last['p_target'])})",
           f"sagt das Modell *square* vorher (p = {de(last['p'], 2)})")
    assert all(a["l2"] > b["l2"] and a["p_target"] > b["p_target"] for a, b in zip(sweep, sweep[1:]))
    sweep_cell = cells["by_id"]["lambda_sweep"]
    assert "vmin=0, vmax=vmax" in sweep_cell and "vmax = max(" in sweep_cell  # one colour scale for the four maps


def test_answer_discussion_quotes_the_sparsity_of_the_notebooks_counterfactual(run, cells):
    diff, mask = run["diff"], run["scene"].mask
    outside = diff[~mask].sum() / diff.sum()
    changed = (diff > 1 / 255).mean()
    l2 = float(np.sqrt(((run["cf"] - run["x"]).astype(np.float64) ** 2).sum()))
    assert (diff > 0).mean() == 1.0 and outside > 0.5 and changed < 0.5
    quoted(cells["by_id"]["answer_discussion"],
           f"Jedes Pixel ändert sich (100 %), {percent(changed)} um mehr als eine Graustufe",
           f"höchstens {de(diff.max(), 3)} (etwa {diff.max() * 255:.0f} von 255 Graustufen; L2 = {de(l2, 2)})",
           f"{percent(outside)} der Änderung liegen außerhalb der Form, die {percent(mask.mean())} des Bildes bedeckt",
           f"das Modell sagt aber *star* (p = {de(run['probs_cf'].max(), 2)})")
    assert run["names"][int(np.argmax(run["probs_cf"]))] == "star"
    example = code_cell_with(cells, "diff = difference_map(x_original, x_counterfactual)")
    assert "(diff > 1 / 255).mean()" in example and "diff[~object_mask].sum() / diff.sum()" in example


# ------------------------------------------------------------------------------------------------ the rubrics

def test_every_rubric_has_a_point_breakdown_that_adds_up(notebook):
    rubrics = {c.metadata["nbgrader"]["grade_id"]: (c.source, c.metadata["nbgrader"]["points"])
               for c in notebook.cells if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("grade")}
    assert set(rubrics) == set(RUBRICS)
    for grade_id, (text, points) in rubrics.items():
        match = re.search(r"\*\*Punkte \((\d+)\):\*\*(.*?)\n\n", text, re.DOTALL)
        assert match, f"{grade_id}: no '**Punkte (n):**' breakdown"
        assert int(match.group(1)) == points, grade_id
        parts = re.findall(r"(?:^|;|:)\s*(½|\d+)\s+–", match.group(2))
        assert sum(0.5 if part == "½" else int(part) for part in parts) == points, (grade_id, parts)
        assert "XAI_KURS_MODELS=embedded" in text, f"{grade_id}: say which models the figures belong to"


def test_the_points_in_the_introduction_add_up(notebook):
    graded = [c.metadata["nbgrader"] for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade")]
    automatic = sum(g["points"] for g in graded if g["grade_id"].startswith("test_"))
    manual = sum(g["points"] for g in graded if g["grade_id"].startswith("answer_"))
    quoted(notebook.cells[0].source, f"automatisch ({automatic} Punkte)", f"von Hand bewertet ({manual} Punkte)",
           f"Insgesamt {automatic + manual} Punkte")
    for cell, following in zip(notebook.cells, notebook.cells[1:]):
        for number, stated in re.findall(r"\*\*Frage (\d) \((\d) Punkte?\)", cell.source):
            assert following.metadata["nbgrader"]["points"] == int(stated), f"Frage {number}"



# ------------------------------------------------------------------ Aufgabe 6: the L1 counterfactual (issue 26)

def percent1(share: float) -> str:
    return f"{100 * share:.1f}".replace(".", ",") + " %"


@pytest.fixture(scope="module")
def l1_run(run):
    """The squared-L2 counterfactual of the notebook and the L1 counterfactuals of the cell after Aufgabe 6, recomputed
    with proximal gradient descent written here (cross-entropy step, soft thresholding of the change by lr·λ₁,
    clipping), measured with the reference counterfactual_metrics."""
    import keras
    import tensorflow as tf

    from reference_solutions import counterfactual as reference

    model, x, target, settings = run["model"], run["x"], run["target"], run["settings"]

    def l1_counterfactual(l1_weight):
        original = tf.constant(x)
        image = tf.Variable(original)
        for _ in range(settings["steps"]):
            with tf.GradientTape() as tape:
                probs = model(image, training=False)
                loss = keras.losses.sparse_categorical_crossentropy(tf.constant([target]), probs)[0]
            step = (image - settings["lr"] * tape.gradient(loss, image) - original).numpy()
            tau = settings["lr"] * l1_weight
            image.assign(tf.clip_by_value(original + np.sign(step) * np.maximum(np.abs(step) - tau, 0), 0.0, 1.0))
        return image.numpy()

    rows = {}
    for label, image in [("l2", run["cf"])] + [(w, l1_counterfactual(w)) for w in L1_WEIGHTS]:
        metrics = reference.counterfactual_metrics(model, x, image, target)
        change = np.abs(image.astype(np.float64) - x).mean(axis=-1)
        rows[label] = {**metrics, "class": run["names"][int(np.argmax(model(image, training=False).numpy()[0]))],
                       "at_all": float((change > 0).mean())}
    return rows


def test_the_l1_cell_uses_the_proximal_step_and_the_metrics(cells):
    cell = cells["by_id"]["l1_counterfactual"]
    assert "soft_threshold(" in cell and "lr * l1_weight" in cell and "counterfactual_metrics(" in cell
    assert f"l1_weights = {list(L1_WEIGHTS)}" in cell and "vmin=0, vmax=vmax" in cell


def test_the_l1_task_and_answer_l1_quote_the_cells_table(l1_run, cells):
    l2, rows = l1_run["l2"], [l1_run[w] for w in L1_WEIGHTS]
    assert l2["valid"] and l2["at_all"] == 1.0
    assert [r["valid"] for r in rows] == [True, True, False, False]
    assert [r["class"] for r in rows] == ["star", "star", "cross", "circle"]
    assert all(a["sparsity"] > b["sparsity"] for a, b in zip(rows, rows[1:]))  # sparser with a larger λ₁
    task = heading(cells, "### Das L1-Counterfactual")
    quoted(task, f"gültig (*star*), L1 = {de(l2['l1'], 1)}, L2 = {de(l2['l2'], 2)}, Sparsamkeit "
                 f"{percent1(l2['sparsity'])}, überhaupt verändert {percent1(l2['at_all'])}",
           f"λ₁ = 0,1 gültig, L1 = {de(rows[0]['l1'], 1)}, L2 = {de(rows[0]['l2'], 2)}, Sparsamkeit "
           f"{percent1(rows[0]['sparsity'])}, überhaupt verändert {percent1(rows[0]['at_all'])}",
           f"λ₁ = 0,3 gültig, L1 = {de(rows[1]['l1'], 1)}, L2 = {de(rows[1]['l2'], 2)}, "
           f"{percent1(rows[1]['sparsity'])}, {percent1(rows[1]['at_all'])}",
           f"λ₁ = 0,5 *cross* – die Klasse wechselt, gültig ist es nicht ({percent1(rows[2]['sparsity'])})",
           f"λ₁ = 2 bleibt bei *circle* ({percent1(rows[3]['sparsity'])})")
    answer = cells["by_id"]["answer_l1"]
    quoted(answer, f"ändert jedes Pixel ({percent1(l2['at_all'])}), {percent1(l2['sparsity'])} um mehr als eine "
                   f"Graustufe; L1 = {de(l2['l1'], 1)}, L2 = {de(l2['l2'], 2)}",
           f"ändert aber nur {percent1(rows[1]['at_all'])} der Pixel überhaupt und {percent1(rows[1]['sparsity'])} um "
           f"mehr als eine Graustufe; sein L1 = {de(rows[1]['l1'], 1)} ist halb so groß, sein L2 = "
           f"{de(rows[1]['l2'], 2)} fast gleich",
           f"λ₁ = 0,5 wechselt nur zu *cross* ({percent1(rows[2]['sparsity'])}, nicht gültig)",
           f"λ₁ = 2 bleibt bei *circle* ({percent1(rows[3]['sparsity'])})")
    assert 0.45 <= rows[1]["l1"] / l2["l1"] <= 0.55 and abs(rows[1]["l2"] / l2["l2"] - 1) < 0.05  # "halb", "fast gleich"


def test_the_metrics_task_states_the_definitions_the_checks_grade(cells):
    from xaikit.selfcheck.exercises._counterfactual_metrics import CHANGE_THRESHOLD, DISTANCE_TOL, SPARSITY_TOL

    task = heading(cells, "## Aufgabe 5")
    assert CHANGE_THRESHOLD == 1 / 255 and DISTANCE_TOL.rtol == 1e-4 and SPARSITY_TOL.atol == 1e-6
    quoted(task, "**größer als** $1/255$", "Gezählt wird pro Pixel, nicht pro Wert",
           "`l1` und `l2` relativ $10^{-4}$, `sparsity` $10^{-6}$", "**alle** $H \\cdot W \\cdot C$ Werte")
    assert 2 / 765 < 1 / 255  # the task's example: one channel by 2/255 is a mean of 2/765, below the threshold
