"""The counterfactual checks: the expectations table (tests/test_exercises.py runs it: the reference passes,
every known mistake loses exactly its checks with its own message), a student-style (eager) implementation
passes, each mistake gets its own name on every hidden set."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import all_hidden_sets, grade_namespace, hidden_setup
from reference_solutions import counterfactual as reference

NAME = "counterfactual"

# variant -> the checks it must fail (and nothing else); the message must be the variant's own.
EXPECTED_LOSSES = {
    "wrong_sign": {"cf.validity", "cf.proximity", "cf.history", "cf.matches_reference"},
    "no_distance_term": {"cf.proximity", "cf.matches_reference"},
    "no_clipping": {"cf.range_dtype", "cf.matches_reference"},
    "towards_predicted_class": {"cf.validity", "cf.history", "cf.matches_reference"},
    # the first steps are large (the gradient of -log p is steep far from the target) and the later ones pull
    # the image back towards the original: stopping early also leaves it farther away.
    "stops_before_flip": {"cf.validity", "cf.proximity", "cf.history", "cf.matches_reference"},
    "modifies_input": {"cf.input_unchanged"},
    "random_start": {"cf.reproducible", "cf.matches_reference"},
    # the model's probabilities treated as logits: nearly uniform softmax, the image barely moves (the Mini-VGG
    # keeps its class); named by its history, since the image alone looks like "towards the predicted class"
    "softmax_twice": {"cf.validity", "cf.matches_reference"},
    # the same image, history entry i of the image after update i: its first entry is already past the largest step
    "history_after_update": {"cf.history", "cf.matches_reference"},
    # -log(p + 1e-7): the right class, near the right distance, but another image where p_t starts near 1e-6
    "epsilon_in_log": {"cf.matches_reference"},
    "signed_difference": {"diffmap.values"},
    "sum_over_channels": {"diffmap.values"},
    "max_over_channels": {"diffmap.values"},
    "keeps_batch_axis": {"diffmap.shape", "diffmap.values"},
    "answer_flipped_wrong": {"answers.flipped"},
    "answer_original_class": {"answers.new_class_name"},
    # tasks 5 and 6 (tests/test_counterfactual_metrics.py tests them on the public cases and every hidden set)
    "metrics_flipped_not_target": {"metrics.validity"},
    "metrics_l2_squared": {"metrics.proximity"},
    "metrics_mean_not_sum": {"metrics.proximity"},
    "metrics_l1_of_difference_map": {"metrics.proximity"},
    "metrics_sparsity_per_value": {"metrics.sparsity"},
    "metrics_sparsity_any_channel": {"metrics.sparsity"},
    "metrics_sparsity_any_change": {"metrics.sparsity"},
    "soft_hard_threshold": {"soft_threshold.values"},
    "soft_clip": {"soft_threshold.values"},
    "soft_one_sided": {"soft_threshold.values"},
    "soft_no_zeroing": {"soft_threshold.values"},
    "soft_in_place": {"soft_threshold.input_unchanged"},
}
# (variant, check) -> message key where the check names the failure by its own message rather than the variant id
MESSAGE_FOR = {
    ("random_start", "cf.matches_reference"): "cf_differs",
    ("answer_flipped_wrong", "answers.flipped"): "flipped_wrong",
    ("answer_original_class", "answers.new_class_name"): "class_name_wrong",
}


def eager_student(model, image, target_class, steps=50, lr=0.1, distance_weight=0.05):
    """Another correct implementation, as a student writes it: eager, -log p by hand, numpy clip,
    float64 distance bookkeeping."""
    import tensorflow as tf

    original = np.array(image, dtype=np.float32)
    x = tf.Variable(original.copy())
    history = {"loss": [], "target_prob": [], "distance": []}
    for _ in range(steps):
        with tf.GradientTape() as tape:
            p = model(x)[0, target_class]
            distance = tf.reduce_sum((x - original) ** 2)
            loss = -tf.math.log(p) + distance_weight * distance
        grad = tape.gradient(loss, x).numpy()
        x.assign(np.clip(x.numpy() - lr * grad, 0, 1))
        history["loss"].append(loss.numpy().item())
        history["target_prob"].append(p.numpy().item())
        history["distance"].append(float(distance.numpy()))
    return x.numpy().astype(np.asarray(image).dtype), history


def test_a_student_style_eager_implementation_passes_every_check():
    verdicts = grade_namespace(NAME, {"generate_counterfactual": eager_student})
    assert all(v.passed for v in verdicts.values()), {k: v.message for k, v in verdicts.items() if not v.passed}


def _first_failing(check, cases, results, expected):
    return next((c for c in cases if isinstance(results.get(c.id), dict)
                 and check.criterion(results[c.id], expected[c.id], c) is not None), None)


def test_each_mistake_gets_its_own_name_on_every_hidden_set():
    """On every set, on the first case where a named mistake loses a check, the check names that mistake and no
    other candidate of the check shows it (a wrong name is worse than none); mistakes a check does not name pass
    it, but for softmax_twice's flat history (GENERIC_ALLOWED: the check's own message)."""
    from reference_solutions import counterfactual as reference
    from reference_solutions.hidden.counterfactual import GENERIC_ALLOWED

    cf_variants = [v for v, overrides in reference.VARIANTS.items() if "generate_counterfactual" in overrides]
    wrong = []
    for index, (exercise, cases, expected, variants) in enumerate(all_hidden_sets(NAME)):
        for check in exercise.checks:
            selected = [c for c in cases if check.selects(c)]
            for variant_id in check.variants:
                case = _first_failing(check, selected, variants[variant_id], expected)
                if case is None:
                    continue  # a blind spot: test_no_blind_spot_on_any_of_the_k_hidden_sets reports it
                student = variants[variant_id][case.id]
                shown = [u for u in check.variants if check.shows_variant(student, variants[u][case.id], case)]
                if shown != [variant_id]:
                    wrong.append(f"set {index + 1}: {variant_id} in {check.id} on {case.id} shows {shown}")
            if check.probe != "probe_cf":
                continue
            for variant_id in set(cf_variants) - set(check.variants) - {"random_start"}:
                if (check.id, variant_id) in GENERIC_ALLOWED or variant_id not in variants:
                    continue
                if _first_failing(check, selected, variants[variant_id], expected) is not None:
                    wrong.append(f"set {index + 1}: {variant_id} loses {check.id}, which does not name it")
    assert wrong == []


def test_the_hidden_counterfactual_pairs_differ_between_sets():
    sets = all_hidden_sets(NAME)

    def pairs(cases):
        return {(c.inputs["model"], c.inputs["target"], c.inputs["image"].tobytes())
                for c in cases if c.probe == "probe_cf"}

    models = {c.inputs["model"] for _, cases, _, _ in sets for c in cases if c.probe == "probe_cf"}
    assert len({m for m in models if m.startswith("small_cnn:")}) == len(sets)  # one small CNN per set
    for i, (_, cases_i, _, _) in enumerate(sets):
        for _, cases_j, _, _ in sets[i + 1:]:
            assert not pairs(cases_i) & pairs(cases_j)
        # the same optimisation cases on every set; the metrics cases (which need no optimisation) take the kinds a
        # set's models give, but every set has a counterfactual that reaches its target and one that only flips
        assert [c.id for c in cases_i if c.probe != "probe_metrics"] == \
            [c.id for c in sets[0][1] if c.probe != "probe_metrics"]
        kinds = {c.id.rsplit("_", 1)[1] for c in cases_i if c.probe == "probe_metrics"}
        assert {"reached", "flipped"} <= kinds, kinds


def test_the_reference_flips_every_hidden_pair_and_the_target_probability_rises():
    from autograder.checks.counterfactual import load_model

    exercise, cases, expected, _ = hidden_setup(NAME)
    for case in cases:
        if case.probe == "probe_cf":
            model, _ = load_model(case.inputs["model"])
            original = int(np.argmax(model(case.inputs["image"].astype(np.float32), training=False).numpy()[0]))
            assert original != case.inputs["target"], f"{case.id}: the target is already predicted"
            assert int(expected[case.id]["pred_class"]) == case.inputs["target"], case.id
            probs = expected[case.id]["history_target_prob"]
            assert probs[-1] > probs[0] and len(probs) == case.inputs["steps"]


def test_every_case_keeps_the_target_probability_above_the_floor_the_notebook_quotes():
    """The task text promises p_t >= 10^-6 in every graded case (so -log p needs no epsilon): the builder's floor is
    that number, every hidden case of every set and the public Mini-VGG case keep it along the reference's run, and
    the public case starts just above it (the hardest conditioning the hidden sets use)."""
    import json
    import re

    from autograder.checks import Exercise
    from autograder.config import PROJECT_ROOT, XaiGrade
    from autograder.references import compute_reference
    from reference_solutions.hidden.counterfactual import P_FLOOR

    text = "".join("".join(c["source"]) for c in json.loads(
        (PROJECT_ROOT / "source" / NAME / f"{NAME}.ipynb").read_text())["cells"] if c["cell_type"] == "markdown")
    quoted = re.search(r"fällt \$p_t\$ nie unter \$10\^\{(-\d+)\}\$", text)
    assert quoted and 10.0 ** int(quoted.group(1)) == P_FLOOR
    lowest = {}
    for index, (exercise, cases, expected, _) in enumerate(all_hidden_sets(NAME)):
        for case in cases:
            if case.probe == "probe_cf":
                lowest[f"set {index + 1} {case.id}"] = float(np.min(expected[case.id]["history_target_prob"]))
    assert min(lowest.values()) >= P_FLOOR, lowest
    exercise = Exercise(NAME)
    public = [c for c in exercise.build_cases(XaiGrade().public_seed, public=True) if c.id == "cf_embedded_0"]
    expected, _ = compute_reference(exercise, public)
    public_lowest = float(np.min(expected["cf_embedded_0"]["history_target_prob"]))
    assert P_FLOOR <= public_lowest <= 2 * P_FLOOR, public_lowest


def test_history_follows_the_stated_definition():
    from autograder.checks.counterfactual import build_small_cnn

    model = build_small_cnn(3, 16, 3)
    image = np.random.default_rng(0).uniform(0.2, 0.8, (1, 16, 16, 3)).astype(np.float32)
    before = image.copy()
    cf, history = reference.generate_counterfactual(model, image, 2, steps=5, lr=0.3, distance_weight=0.2)
    np.testing.assert_array_equal(image, before)
    assert cf.shape == image.shape and cf.dtype == image.dtype and cf.min() >= 0 and cf.max() <= 1
    assert history["distance"][0] == 0.0
    assert history["target_prob"][0] == pytest.approx(float(model(image)[0, 2]), rel=1e-5)
    assert history["loss"][0] == pytest.approx(-np.log(history["target_prob"][0]), rel=1e-5)
    # the history belongs to the image before each update: recompute step 2 from step 1's image
    cf1, _ = reference.generate_counterfactual(model, image, 2, steps=1, lr=0.3, distance_weight=0.2)
    p1 = float(model(cf1)[0, 2])
    d1 = float(np.sum((cf1.astype(np.float64) - image) ** 2))
    assert history["target_prob"][1] == pytest.approx(p1, rel=1e-5)
    assert history["distance"][1] == pytest.approx(d1, rel=1e-4)
    assert history["loss"][1] == pytest.approx(-np.log(p1) + 0.2 * d1, rel=1e-4)


def test_a_run_that_leaves_the_notebooks_image_unchanged_keeps_the_answer_points():
    """On the notebook's own image (p_t = 1.9e-23, below the graded range) correct work with Keras' clipped
    probabilities (``keras_on_probabilities``) and the epsilon mistake have no gradient: x_counterfactual equals
    x_original. Answers that say so (no class change, the original class) are answers to the student's own run and
    get their points (the epsilon costs cf.matches_reference, nothing more); every correct alternative's run does.
    Only an x_original the function overwrote (then equal to x_counterfactual) gets answers_no_change."""
    from autograder.checks import Exercise
    from reference_solutions.alternatives.counterfactual import ALTERNATIVES
    from xaikit.keras_models import load_model
    from xaikit.selfcheck.exercises.counterfactual import ANSWERS_CASE, probe_answers

    checks = [check for check in Exercise(NAME).checks if check.probe == "probe_answers"]
    assert {check.id for check in checks} == {"answers.flipped", "answers.new_class_name"}
    model, names = load_model("embedded")
    state = reference._xaigrade_notebook_state()
    x_original, target = state["x_original"], names.index(reference.NOTEBOOK_TARGET)

    def answered(original, counterfactual):
        before, after = (int(np.argmax(model(image, training=False).numpy()[0])) for image in (original, counterfactual))
        return probe_answers({"MODEL_NAME": "embedded", "x_original": original, "x_counterfactual": counterfactual,
                              "flipped": after != before, "new_class_name": names[after]}, {})

    functions = {name: overrides["generate_counterfactual"] for name, overrides in ALTERNATIVES.items()
                 if "generate_counterfactual" in overrides}
    functions["epsilon_in_log"] = reference.VARIANTS["epsilon_in_log"]["generate_counterfactual"]
    unchanged = []
    for name, function in functions.items():
        counterfactual, _ = function(model, x_original.copy(), target, **reference.NOTEBOOK_SETTINGS)
        if np.array_equal(counterfactual, x_original):
            unchanged.append(name)
        result = answered(x_original, counterfactual)
        assert [check.id for check in checks if check.criterion(result, {}, ANSWERS_CASE) is not None] == [], name
    assert sorted(unchanged) == ["epsilon_in_log", "keras_on_probabilities", "log_with_epsilon"]
    overwritten = state["x_counterfactual"].copy()  # what modifies_input leaves: x_original is the counterfactual
    result = answered(overwritten, overwritten)
    assert [check.criterion(result, {}, ANSWERS_CASE).key for check in checks] == ["answers_no_change"] * 2


def test_proximity_allows_exactly_the_stated_factor():
    from autograder.checks.counterfactual import CHECKS

    check = next(c for c in CHECKS if c.id == "cf.proximity")
    exercise, cases, expected, _ = hidden_setup(NAME)
    case = next(c for c in cases if c.probe == "probe_cf")
    ref = expected[case.id]
    for factor, ok in ((1.49, True), (1.51, False)):
        student = {**ref, "l2": ref["l2"] * factor, "l1": ref["l1"]}
        assert (check.criterion(student, ref, case) is None) is ok
        student = {**ref, "l2": ref["l2"], "l1": ref["l1"] * factor}
        assert (check.criterion(student, ref, case) is None) is ok


def test_missing_answers_get_their_own_message():
    verdicts = grade_namespace(NAME, {"_xaigrade_notebook_state": None})
    assert verdicts["answers.flipped"].message_key == "answers_missing"
    assert verdicts["answers.new_class_name"].message_key == "answers_missing"


def test_hidden_inputs_differ_from_public_ones():
    from autograder.checks import Exercise

    exercise = Exercise(NAME)
    public = exercise.build_cases(7, public=True)
    hidden = exercise.build_cases(20261125, public=False)

    def signature(cases):
        return {(c.inputs.get("model"), c.inputs.get("target"), c.inputs["image"].tobytes())
                for c in cases if "image" in c.inputs}

    assert not signature(public) & signature(hidden)
    assert {c.inputs["model"] for c in hidden if "model" in c.inputs} \
        != {c.inputs["model"] for c in public if "model" in c.inputs}
    assert len(hidden) > len(public)


def literal_counterfactual() -> str:
    """Issue 20's student, as notebook code: the task's formula written literally (p_t = the model's softmax output,
    -log p by hand, a tf.Variable, history before the update) — the source of the correct alternative
    ``literal_formula``. Before the hidden cases were kept in the numerically sane range it lost cf.validity,
    cf.history and cf.matches_reference on 6 of the tests' 8 sets (NaN history, p_t 0 in float32)."""
    import inspect

    from reference_solutions.alternatives import counterfactual as alternatives

    source = inspect.getsource(alternatives.literal_formula.__wrapped__)
    source = source.replace("@_remembered\n", "", 1).replace("def literal_formula(", "def generate_counterfactual(", 1)
    return source.replace("    import tensorflow as tf\n\n", "", 1)


def test_the_literal_formula_gets_full_marks_on_every_hidden_set_through_the_sandbox(tmp_path):
    """The notebook graded as a student hands it in, once per hidden set (a student id for each of the K sets)."""
    import nbformat

    from autograder.batch import Layout, grade_batch
    from autograder.config import PROJECT_ROOT, load_settings
    from autograder.secret import set_for
    from helpers import HIDDEN_SETS, TEST_SECRET, TEST_SETTINGS, auto_points, entry_score

    students = {}
    for number in range(1000):
        students.setdefault(set_for(TEST_SECRET, NAME, f"s{number}", HIDDEN_SETS), f"s{number}")
        if len(students) == HIDDEN_SETS:
            break
    notebook = nbformat.read(PROJECT_ROOT / "examples" / "submissions" / "full_solution" / NAME / f"{NAME}.ipynb",
                             as_version=4)
    cell = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "generate_counterfactual")
    cell.source = literal_counterfactual()
    assert "-tf.math.log(probabilities[0, target_class])" in cell.source
    for student in students.values():
        target = tmp_path / "submitted" / student / NAME / f"{NAME}.ipynb"
        target.parent.mkdir(parents=True)
        nbformat.write(notebook, target)
    report = grade_batch([NAME], Layout(PROJECT_ROOT, tmp_path / "submitted", tmp_path / "out"),
                         load_settings(PROJECT_ROOT, **TEST_SETTINGS))
    lost = {f"{student} (set {index + 1})": {k: v["message"] for k, v in report[student][NAME].items()
                                             if not k.startswith("_") and v["score"] < v["max_score"]}
            for index, student in sorted(students.items())}
    assert all(not checks for checks in lost.values()), lost
    assert {entry_score(report[student][NAME]) for student in students.values()} == {auto_points(NAME)}
