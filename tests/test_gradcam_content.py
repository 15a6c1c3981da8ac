"""The Grad-CAM notebook's texts and model answers quote numbers of the embedded models: recompute each one.

Every figure a rubric (manually graded answer cell) of ``source/gradcam/gradcam.ipynb`` quotes is printed by a cell
of the notebook and recomputed here from the embedded MiniResNet and its plainly trained twin with the reference
Grad-CAM (``reference_solutions/gradcam.py``, what the notebook's solution computes). The expected text fragments are
built from the recomputed values: when the weights, the scenes or the definitions change, the fragment no longer
appears in the rubric and the test fails, naming the rubric to update (re-run the notebook and copy the printed
figures).
"""

from __future__ import annotations

import re

import nbformat
import numpy as np
import pytest

from autograder.config import PROJECT_ROOT

NOTEBOOK = PROJECT_ROOT / "source" / "gradcam" / "gradcam.ipynb"
LAYERS = ("layer1", "layer2", "layer3", "layer4")
TWO_CLASS_SCENE = dict(seed=0, left="star", right="square", size_word="small")  # as in the notebook's cell (c)
TEST_SCENES = dict(n=50, seed=2026)  # as in the notebook's comparison cell (e)
RUBRICS = ("answer_other_image", "answer_layers", "answer_classes", "answer_multilabel", "answer_saliency",
           "answer_twin", "answer_randomisation")


def de(value: float, digits: int) -> str:
    """A number as the German texts write it: decimal comma."""
    return f"{value:.{digits}f}".replace(".", ",")


def percent(share: float) -> str:
    return f"{100 * share:.0f} %"


@pytest.fixture(scope="module")
def notebook():
    return nbformat.read(NOTEBOOK, as_version=4)


@pytest.fixture(scope="module")
def rubric(notebook):
    texts = {cell.metadata["nbgrader"]["grade_id"]: cell.source for cell in notebook.cells
             if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "markdown"}
    assert set(texts) == set(RUBRICS)
    return texts


@pytest.fixture(scope="module")
def models():
    import torch

    torch.set_num_threads(1)
    from xaikit.models import load_image_classifier

    main, class_names, preprocess = load_image_classifier("embedded")
    twin, _, _ = load_image_classifier("embedded_plain")
    return {"main": main, "twin": twin, "class_names": class_names, "preprocess": preprocess}


@pytest.fixture(scope="module")
def reference():
    from reference_solutions import gradcam

    return gradcam


@pytest.fixture(scope="module")
def two_class(models, reference):
    """Cell (c) and the saliency comparison after (d), on the two-object scene."""
    import torch

    from xaikit.scenes import make_two_object_scene

    scene = make_two_object_scene(TWO_CLASS_SCENE["seed"], left=TWO_CLASS_SCENE["left"],
                                  right=TWO_CLASS_SCENE["right"], size_word=TWO_CLASS_SCENE["size_word"])
    model, x = models["main"], models["preprocess"](scene.image)
    with torch.no_grad():
        logits = model(x)[0]
    probabilities = torch.softmax(logits, dim=0)
    left = np.zeros(scene.image.shape[:2], dtype=bool)
    left[:, : scene.image.shape[1] // 2] = True
    facts = {"scene": scene, "top2": [int(i) for i in torch.topk(probabilities, 2).indices]}
    for label, own in zip(scene.labels, (left, ~left)):
        heatmap = reference.grad_cam(model, x, "layer4", label)
        saliency = reference.saliency_map(model, x, label)
        facts[label] = {"p": float(probabilities[label]), "logit": float(logits[label]),
                        "cam_own": heatmap[own].sum() / heatmap.sum(),
                        "saliency_own": saliency[own].sum() / saliency.sum()}
    return facts


def _peak_distance(heatmap, mask):
    if heatmap.max() == heatmap.min():
        return np.inf
    row, column = np.unravel_index(np.argmax(heatmap), heatmap.shape)
    rows, columns = np.nonzero(mask)
    return float(np.sqrt((rows - row) ** 2 + (columns - column) ** 2).min())


@pytest.fixture(scope="module")
def comparison(models, reference):
    """Cell (e): accuracy and pointing game (strict, within 2 px) per layer, for both MiniResNets."""
    import torch

    from xaikit.scenes import make_dataset

    scenes = make_dataset(TEST_SCENES["n"], seed=TEST_SCENES["seed"])
    inputs = [models["preprocess"](image) for image in scenes["images"]]
    result = {}
    for name in ("main", "twin"):
        model = models[name]
        with torch.no_grad():
            predictions = model(torch.cat(inputs)).argmax(dim=1).numpy()
        result[name] = {"accuracy": float(np.mean(predictions == scenes["labels"]))}
        for layer in LAYERS:
            distances = np.array([_peak_distance(reference.grad_cam(model, x, layer, int(label)), mask)
                                  for x, label, mask in zip(inputs, scenes["labels"], scenes["masks"])])
            result[name][layer] = (float(np.mean(distances == 0)), float(np.mean(distances <= 2)))
    return result


# ------------------------------------------------------------------------------------------------ the rubrics

def test_every_rubric_has_a_point_breakdown_that_adds_up(notebook, rubric):
    points = {cell.metadata["nbgrader"]["grade_id"]: cell.metadata["nbgrader"]["points"] for cell in notebook.cells
              if cell.metadata.get("nbgrader", {}).get("grade_id") in RUBRICS}
    for grade_id, text in rubric.items():
        match = re.search(r"\*\*Punkte \((\d+)\):\*\*(.*?)\n\n", text, re.DOTALL)
        assert match, f"{grade_id}: no '**Punkte (n):**' breakdown"
        assert int(match.group(1)) == points[grade_id], grade_id
        parts = re.findall(r"(?:^|;|:)\s*(½|\d+)\s+–", match.group(2))
        assert sum(0.5 if part == "½" else int(part) for part in parts) == points[grade_id], (grade_id, parts)
        assert "XAI_KURS_MODELS=embedded" in text, f"{grade_id}: say which models the figures belong to"


def test_the_points_in_the_introduction_add_up(notebook):
    graded = [cell.metadata["nbgrader"] for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("grade")]
    automatic = sum(g["points"] for g in graded if g["grade_id"].startswith("test_"))
    manual = sum(g["points"] for g in graded if g["grade_id"].startswith("answer_"))
    introduction = notebook.cells[0].source
    assert f"({automatic} Punkte)" in introduction and f"({manual} Punkte)" in introduction
    assert f"Insgesamt {automatic + manual} Punkte" in introduction
    # each "**Frage k (n Punkte)" is followed by its answer cell worth n points
    questions = []
    for cell, following in zip(notebook.cells, notebook.cells[1:]):
        for number, stated in re.findall(r"\*\*Frage (\d) \((\d) Punkte?\)", cell.source):
            questions.append(int(number))
            assert following.metadata["nbgrader"]["points"] == int(stated), f"Frage {number}"
    assert questions == list(range(1, len(RUBRICS) + 1))
    assert "die sieben Fragen" in introduction and len(questions) == 7


def test_answer_other_image_quotes_the_cross_scene(models, rubric):
    import torch

    from xaikit.scenes import make_scene

    x = models["preprocess"](make_scene(23, class_name="cross", size_word="large").image)
    with torch.no_grad():
        probabilities = torch.softmax(models["main"](x), dim=1)[0]
    assert models["class_names"][int(probabilities.argmax())] == "cross"
    assert f"*cross* mit p = {de(float(probabilities.max()), 3)}" in rubric["answer_other_image"]


def test_answer_classes_quotes_the_two_object_scene(two_class, models, rubric):
    names, scene, text = models["class_names"], two_class["scene"], rubric["answer_classes"]
    assert {names[i] for i in two_class["top2"]} == set(scene.class_names)  # the two shapes are the top two
    for label in scene.labels:
        fact = two_class[label]
        assert f"*{names[label]}* (p = {de(fact['p'], 3)}, Logit {de(fact['logit'], 2)})" in text
        assert fact["cam_own"] > 0.9  # the maps separate
    star, square = (two_class[names.index(name)] for name in ("star", "square"))
    assert f"{percent(square['cam_own'])} der *square*-Heatmap liegen in der rechten Hälfte" in text
    assert f"{percent(star['cam_own'])} der\n*star*-Heatmap in der linken" in text
    assert star["p"] < square["p"] and f"(Logit {de(star['logit'], 2)} gegen {de(square['logit'], 2)})" in text


def test_answer_saliency_quotes_the_class_specificity(two_class, models, rubric):
    names, text = models["class_names"], " ".join(rubric["answer_saliency"].split())
    star, square = (two_class[names.index(name)] for name in ("star", "square"))
    assert (f"*star* nur {percent(star['saliency_own'])} in der Hälfte des Sterns, von der für *square* "
            f"{percent(square['saliency_own'])} in der Hälfte des Quadrats") in text
    assert f"bei Grad-CAM {percent(star['cam_own'])} und {percent(square['cam_own'])}" in text
    assert "Guided Grad-CAM" in text and "Nicht* Guided Grad-CAM" in text  # Adebayo et al.: it fails the test


def test_answer_twin_and_answer_layers_quote_the_comparison(comparison, rubric):
    main, twin = comparison["main"], comparison["twin"]
    twin_text = " ".join(rubric["answer_twin"].split())
    layers_text = " ".join(rubric["answer_layers"].split())
    assert (f"die {TEST_SCENES['n']} Szenen" in twin_text
            and f"({percent(main['accuracy'])} mit, {percent(twin['accuracy'])} ohne Lokalisierungsterm)" in twin_text)
    assert (f"in {percent(main['layer4'][0])} der Szenen auf dem Objekt ({percent(main['layer4'][1])} höchstens "
            f"2 px daneben), beim Zwilling in {percent(twin['layer4'][0])} ({percent(twin['layer4'][1])})"
            in twin_text)
    lower = [main[layer][0] for layer in LAYERS[:3]]
    span = f"{100 * min(lower):.0f}–{100 * max(lower):.0f} %"
    assert f"({percent(main['layer4'][0])} gegen {span} in `layer1`–`layer3`)" in twin_text
    assert (f"liegt `layer1` mit {percent(twin['layer1'][0])} vor `layer4` mit {percent(twin['layer4'][0])}"
            in twin_text)
    assert (f"in {percent(main['layer4'][0])} der {TEST_SCENES['n']} Szenen aus (e) auf dem Objekt liegt, "
            f"in `layer1`–`layer3` nur in {span}" in layers_text)
    assert (f"Beim Zwilling ohne den Term liegt `layer4` bei {percent(twin['layer4'][0])} und `layer1` sogar bei "
            f"{percent(twin['layer1'][0])}" in layers_text)
    # the lesson itself: the same accuracy, a much tidier layer4 map only where the term was trained
    assert abs(main["accuracy"] - twin["accuracy"]) <= 0.02
    assert main["layer4"][0] - twin["layer4"][0] >= 0.15
    assert twin["layer1"][0] > twin["layer4"][0] and main["layer4"][0] > max(lower)


def test_the_comparison_cell_uses_the_quoted_scenes_and_is_a_demo_cell(notebook):
    cells = [cell for cell in notebook.cells if "embedded_plain" in cell.source and cell.cell_type == "code"]
    assert len(cells) == 1 and cells[0].metadata.get("xaigrade", {}).get("demo") is True
    assert f"make_dataset({TEST_SCENES['n']}, seed={TEST_SCENES['seed']})" in cells[0].source
    two_class_cells = [cell.source for cell in notebook.cells if "make_two_object_scene(" in cell.source
                       and cell.cell_type == "code" and "two_class_scene =" in cell.source]
    assert two_class_cells and ('make_two_object_scene(0, left="star", right="square", size_word="small")'
                                in two_class_cells[0])


# ------------------------------------------------------------------------------------- the course's models

def test_the_notebook_loads_the_models_of_the_course_setting_and_prints_it(notebook):
    setup = next(cell.source for cell in notebook.cells
                 if cell.metadata.get("nbgrader", {}).get("grade_id") == "setup")
    assert "course_models()" in setup and "COURSE_MODELS_VARIABLE" in setup
    assert "ModelNotAvailableError" not in setup  # a cached model never switches the notebook by itself
    first_print = setup.index("print(")
    assert first_print < setup.index('load_image_classifier("embedded")')
    assert first_print < setup.index('load_image_classifier("resnet50")')


# ------------------------------------------------------------------------------------- the task texts

def test_the_overlay_task_quotes_how_far_opencvs_jet_lies_from_matplotlibs(notebook):
    cv2 = pytest.importorskip("cv2")  # (with the dev extras: pytorch-grad-cam brings it)
    from matplotlib import colormaps

    levels = np.arange(256, dtype=np.uint8)
    opencv = cv2.applyColorMap(levels[:, None], cv2.COLORMAP_JET)[:, 0, ::-1].astype(int)  # BGR -> RGB
    matplotlib_jet = np.rint(colormaps["jet"](levels / 255.0)[:, :3] * 255).astype(int)
    task = next(" ".join(cell.source.split()) for cell in notebook.cells if "COLORMAP_JET" in cell.source)
    assert f"um bis zu {np.abs(opencv - matplotlib_jet).max()} von 255 Stufen je Kanal ab" in task


def test_the_comparison_text_names_what_the_cell_does(notebook):
    text = next(" ".join(cell.source.split()) for cell in notebook.cells if cell.source.startswith("## (e)"))
    assert f"Für {TEST_SCENES['n']} frische Szenen (`make_dataset({TEST_SCENES['n']}, seed={TEST_SCENES['seed']})`" \
        in text
    calls = TEST_SCENES["n"] * len(LAYERS) * 2 + 6 * 2  # pointing game per layer and model, the figure's maps
    hundreds = calls // 100 * 100
    assert 0 < calls - hundreds < 50 and f"gut {hundreds}-mal" in text


# ------------------------------------------------------------------------------ task 4: the sanity check

@pytest.fixture(scope="module")
def sanity_demo(notebook, reference):
    """The demo cell of task 4 run as it stands, with the reference's functions (what the rubric quotes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from xaikit.models import load_image_classifier
    from xaikit.scenes import make_scene

    torch.set_num_threads(1)
    (cell,) = [c for c in notebook.cells if c.metadata.get("xaigrade", {}).get("demo")
               and "randomisation_check(" in c.source]
    namespace = {"np": np, "plt": plt, "torch": torch, "load_image_classifier": load_image_classifier,
                 "make_scene": make_scene, "grad_cam": reference.grad_cam, "saliency_map": reference.saliency_map,
                 "randomisation_check": reference.randomisation_check}
    exec(compile(cell.source, "sanity-demo", "exec"), namespace)
    plt.close("all")
    return namespace


def test_answer_randomisation_quotes_the_demo_cell(sanity_demo, rubric):
    text = " ".join(rubric["answer_randomisation"].split())
    results, cascade = sanity_demo["sanity_results"], sanity_demo["cascade"]
    assert cascade == ["fc", "layer4", "layer3", "layer2", "layer1", "conv1"]

    def quoted(method, step):
        values = [de(float(results[method, seed]["correlations"][step]), 2).replace("-", "−") for seed in (0, 1, 2)]
        return f"{values[0]}, {values[1]} und {values[2]}"

    saliency, cam = "Saliency-Map", "Grad-CAM (layer4)"
    assert f"nach `fc` + `layer4` {quoted(saliency, 1)} (Seeds 0, 1, 2), nach allen Schichten noch " \
           f"{quoted(saliency, -1)}" in text
    assert f"nach `fc` allein {quoted(cam, 0)}, nach `fc` + `layer4` {quoted(cam, 1)}, nach allen Schichten " \
           f"{quoted(cam, -1)}" in text
    # what the text says of them: the saliency map stays positive at every step and seed; Grad-CAM swings (its
    # spread over the seeds after fc alone and after fc + layer4 is over 1), sometimes below 0, never all near 1
    assert min(float(results[saliency, seed]["correlations"].min()) for seed in (0, 1, 2)) > 0.1
    for step in (0, 1):
        values = [float(results[cam, seed]["correlations"][step]) for seed in (0, 1, 2)]
        assert max(values) - min(values) > 1.0 and min(values) < 0
    assert "8×8 Werte" in text
    model = sanity_demo["sanity_model"]
    import torch

    with torch.no_grad():
        captured = []
        handle = model.layer4.register_forward_hook(lambda m, i, o: captured.append(o))
        model(sanity_demo["sanity_input"])
        handle.remove()
    assert tuple(captured[0].shape[-2:]) == (8, 8)
