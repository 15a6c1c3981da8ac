"""Self-check of the counterfactual-image exercise (TensorFlow/Keras, Wachter et al. style): probes,
public cases and checks.

Graded definition (stated in the notebook): for exactly ``steps`` steps,
    loss = -log p_target(x') + distance_weight * sum((x' - x)**2),  x' <- clip(x' - lr * dloss/dx', 0, 1);
history entry i holds loss, target probability and distance of the image before update i.
Models travel into the kernel as names (``xaikit.keras_models.load_model``), loaded once per kernel.

Diagnosis: the bound-type checks (validity where the reference is valid, at most 1.5x the reference's
distance, pixel range, history length, ...) set ``Check.matches``: a student's failing result shows a
known mistake when it *is* that mistake's result (same counterfactual within MATCH_TOL, same history
length), or, for the side-effect checks, shows the same side effect.
"""

from __future__ import annotations

import xaikit  # noqa: F401  (torch/triton before TensorFlow, see PLATFORM-NOTES)

import numpy as np

from xaikit.keras_models import build_small_cnn, load_model, wrap_vgg16  # noqa: F401  (models by name)

from ..compare import Failure, Tolerance, array_close, close, first_failure, within_limit
from ..probe import Snapshot, as_numpy, require, unchanged_input
from ..core import Case, Check
from ._counterfactual_messages import COUNTERFACTUAL_MESSAGES

NOTEBOOK = "counterfactual"
PROBE_FUNCTIONS = {"probe_cf": "generate_counterfactual", "probe_cf_repeat": "generate_counterfactual",
                   "probe_diffmap": "difference_map", "probe_answers": "flipped / new_class_name"}
HISTORY_KEYS = ("loss", "target_prob", "distance")
PROXIMITY_FACTOR = 1.5
# Correct implementations written otherwise (-log p by hand, Keras' loss object and functional loss, one-hot
# cross-entropy, tape.watch + numpy projection, an epsilon of 1e-10 in the log) use at most 0.14 of the tolerance
# on the public cases and the tests' hidden sets (the 1e-10 epsilon, on a Mini-VGG case; the others far less).
# No clipping can come as close as 2.4e-4 where the projection seldom binds, so graded cases are chosen where every
# named mistake misses by at least twice the tolerance (the closest now: no clipping at 2.04 times it).
# 2e-4 sits between them (tests/test_fairness.py). Graded cases keep p_t >= 1e-6, where -log p needs no epsilon;
# one of 1e-9 moves the public Mini-VGG case's image by 8.2e-4 (the task text says it is caught there).
IMAGE_MEAN_TOL = 2e-4  # on the mean absolute pixel difference
HISTORY_TOL = Tolerance(rtol=3e-2, atol=1e-3)
MATCH_TOL = IMAGE_MEAN_TOL
REPRO_TOL = 1e-6
DIFFMAP_TOL = Tolerance(rtol=1e-5, atol=1e-6)
PIXEL_RANGE = (0.0, 1.0)
RANGE_SLACK = 1e-6

def _predict(model, x) -> np.ndarray:
    return np.asarray(model(np.asarray(x, dtype=np.float32), training=False))[0].astype(np.float64)


# --- probes: run in the student's kernel (and in the grader on the reference and variants) ---------

def _split_result(result):
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        raise TypeError("generate_counterfactual muss ein Paar (counterfactual, history) zurückgeben / "
                        f"must return a pair (counterfactual, history), got {type(result).__name__}")
    return result


def _history_arrays(history) -> dict:
    out = {"history_ok": False}
    if not isinstance(history, dict) or not all(key in history for key in HISTORY_KEYS):
        return out
    try:
        for key in HISTORY_KEYS:
            values = history[key]
            out[f"history_{key}"] = np.array([float(as_numpy(v)) for v in values], dtype=np.float64)
    except (TypeError, ValueError):
        return {"history_ok": False}
    out["history_ok"] = True
    return out


def probe_cf(namespace, inputs):
    import keras

    function = require(namespace, "generate_counterfactual")
    model, _ = load_model(inputs["model"])
    image = Snapshot(np.array(inputs["image"]))  # (the student's function gets a copy of the case's image)
    before = np.asarray(inputs["image"])
    keras.utils.set_random_seed(inputs["seed"])
    counterfactual, history = _split_result(function(model, image.value, inputs["target"], steps=inputs["steps"],
                                                     lr=inputs["lr"], distance_weight=inputs["distance_weight"]))
    cf = as_numpy(counterfactual)
    out = {"input_after": image.after(),  # (compared with the case's image by the check, not here)
           "cf_shape": np.array(cf.shape, dtype=np.int64), "cf_dtype": str(cf.dtype),
           "input_dtype": str(before.dtype), "input_shape": np.array(before.shape, dtype=np.int64)}
    out.update(_history_arrays(history))
    if cf.shape == before.shape and cf.dtype.kind == "f":
        change = cf.astype(np.float64) - before.astype(np.float64)
        probs = _predict(model, cf)
        out.update(cf=cf.astype(np.float32), l1=float(np.abs(change).sum()), l2=float(np.sqrt((change ** 2).sum())),
                   min=float(np.min(cf)), max=float(np.max(cf)), pred_class=int(np.argmax(probs)),
                   target_prob=float(probs[inputs["target"]]),
                   sparsity=float((np.abs(change) > 1 / 255).mean()))
    return out


def probe_cf_repeat(namespace, inputs):
    """Two calls with the same arguments (and the same global seeds) must give the same counterfactual."""
    import keras

    function = require(namespace, "generate_counterfactual")
    model, _ = load_model(inputs["model"])
    results = []
    for _ in range(2):
        keras.utils.set_random_seed(inputs["seed"])
        cf, _ = _split_result(function(model, np.array(inputs["image"]), inputs["target"], steps=inputs["steps"],
                                       lr=inputs["lr"], distance_weight=inputs["distance_weight"]))
        results.append(as_numpy(cf).astype(np.float64))
    same_shape = results[0].shape == results[1].shape
    difference = float(np.max(np.abs(results[0] - results[1]))) if same_shape else float("inf")
    return {"same_shape": same_shape, "max_difference": difference}


def probe_diffmap(namespace, inputs):
    function = require(namespace, "difference_map")
    result = function(np.array(inputs["original"]), np.array(inputs["counterfactual"]))
    return {"map": as_numpy(result, np.float64)}


ANSWER_NAMES = ("x_original", "x_counterfactual", "flipped", "new_class_name")
NOTEBOOK_SCENE = 11  # the scene of the notebook's own run on the embedded Mini-VGG (its first code cell)


def _notebook_original(model_name: str):
    """The image the notebook's first code cell makes for ``model_name`` (None where the probe does not know it)."""
    return _scene_image(NOTEBOOK_SCENE, 64) if model_name == "embedded" else None


def probe_answers(namespace, inputs):
    """The notebook's answers against what the model predicts on the student's own counterfactual."""
    state = {name: namespace[name] for name in ANSWER_NAMES + ("MODEL_NAME",) if name in namespace}
    hook = namespace.get("_xaigrade_notebook_state")
    if not all(name in state for name in ANSWER_NAMES) and callable(hook):  # the reference has no notebook
        state = hook()
    out = {"defined": all(name in state for name in ANSWER_NAMES)}
    if not out["defined"]:
        out["missing"] = ", ".join(name for name in ANSWER_NAMES if name not in state)
        return out
    model_name = state.get("MODEL_NAME", "embedded")
    model_name = model_name if model_name in ("embedded", "vgg16") else "embedded"
    model, names = load_model(model_name)
    original = as_numpy(state["x_original"], np.float32)
    counterfactual = as_numpy(state["x_counterfactual"], np.float32)
    if original.shape != counterfactual.shape:
        out.update(shapes_match=False)
        return out
    before = int(np.argmax(_predict(model, original)))
    after = int(np.argmax(_predict(model, counterfactual)))
    flipped = state["flipped"]
    flipped_is_bool = isinstance(flipped, (bool, np.bool_))
    # a run that leaves the image as it is can be answered (no flip, the original class): on the notebook's image,
    # p_t = 1.9e-23, a correct loss with Keras' clipped probabilities does that; only an x_original overwritten by
    # the function (then equal to x_counterfactual) leaves nothing to compare with
    own = _notebook_original(model_name)
    out["original_intact"] = bool(own is not None and own.shape == original.shape
                                  and np.max(np.abs(original - own)) <= 1 / 255)
    out.update(shapes_match=True, cf_changed=bool(np.max(np.abs(counterfactual - original)) > 1 / 255),
               flipped_is_bool=flipped_is_bool, flipped=bool(flipped) if flipped_is_bool else False,
               new_class_name=str(state["new_class_name"]), model_flipped=after != before,
               model_class_name=names[after], original_class_name=names[before])
    return out


# --- public inputs (the grader's hidden ones are built on its side) ------------------------------------------------------------------------

def _scene_image(seed: int, size: int, dtype=np.float32):
    from xaikit.scenes import make_scene

    return (make_scene(seed, size=size).image[None].astype(np.float64) / 255.0).astype(dtype)


def _cf_case(case_id, model, scene_seed, size, target, steps, lr, weight, label, dtype=np.float32, tags=(),
             probe="probe_cf"):
    from xaikit.scenes import SHAPE_CLASSES

    inputs = {"model": model, "image": _scene_image(scene_seed, size, dtype), "target": target, "steps": steps,
              "lr": lr, "distance_weight": weight, "seed": 1000 + scene_seed}
    target_name = SHAPE_CLASSES[target] if model == "embedded" else f"Klasse {target}"
    model_name = "Mini-VGG" if model == "embedded" else f"kleines CNN {size}×{size}"
    return Case(case_id, probe, inputs,
                f"{model_name}, Szene {scene_seed}{label}, Ziel '{target_name}', {steps} Schritte, lr={lr}, "
                f"distance_weight={weight}", frozenset(tags))


# (scene seed, target class, steps, lr, distance_weight): chosen so that the reference flips each pair
# within the budget. The Mini-VGG pair starts at a target probability of 1.2e-6, just above the lowest one a hidden
# case may reach (1e-6, the grader's P_FLOOR), and its first step is among the most sensitive measured there: a
# loss written so that it is numerically fragile at small p_t (an epsilon of 1e-9 in the log moves this image by
# 8.2e-4, the tolerance is 2e-4) fails here too, so the self-check meets the hardest conditioning the hidden sets
# use. (Scene 11, the notebook's own, started at 1.9e-23, where correct ways of writing -log p disagree.)
# The steps are the hidden sets' budgets (the grader's hidden-case builder: Mini-VGG 4, small CNN 6;
# p_t > 0.5 after 2 updates and after 1), so the self-check meets the cases it is graded on, at their cost.
PUBLIC_EMBEDDED = [(515374, 1, 4, 0.1, 0.05)]
PUBLIC_SMALL = ("small_cnn:5:32:4", [(1, 3, 6, 0.5, 0.2)])
# steps of each of the two calls of probe_cf_repeat (public and hidden cases): an unseeded start, noise drawn in the
# loop or state kept from the previous call already differs after the first step
REPEAT_STEPS = 3


def cf_cases(embedded, small) -> list[Case]:
    """probe_cf on the embedded Mini-VGG and a small CNN, and probe_cf_repeat (two calls, same seed)."""
    cases = []
    for i, (scene, target, steps, lr, weight, *dtype) in enumerate(embedded):
        dtype = dtype[0] if dtype else np.float32
        label = " (float64)" if dtype == np.float64 else ""
        cases.append(_cf_case(f"cf_embedded_{i}", "embedded", scene, 64, target, steps, lr, weight, label, dtype))
    small_model, small_pairs = small
    size = int(small_model.split(":")[2])
    for i, (scene, target, steps, lr, weight) in enumerate(small_pairs):
        cases.append(_cf_case(f"cf_small_{i}", small_model, scene, size, target, steps, lr, weight, ""))
    scene, target, steps, lr, weight = small_pairs[0]
    cases.append(_cf_case("cf_repeat", small_model, scene, size, target, REPEAT_STEPS, lr, weight, "",
                          probe="probe_cf_repeat"))
    return cases


def diffmap_cases(rng, shapes) -> list[Case]:
    """probe_diffmap: random image pairs with sparse changes."""
    cases = []
    for i, (shape, dtype) in enumerate(shapes):
        original = rng.uniform(0, 1, shape).astype(dtype)
        change = rng.normal(0, 0.2, shape) * (rng.uniform(0, 1, shape[:-1] + (1,)) < 0.3)
        counterfactual = np.clip(original + change, 0, 1).astype(dtype)
        cases.append(Case(f"diffmap_{i}", "probe_diffmap", {"original": original, "counterfactual": counterfactual},
                          f"Bildpaar der Form {shape} ({np.dtype(dtype).name})"))
    return cases


ANSWERS_CASE = Case("answers", "probe_answers", {}, "Ihr eigener Lauf im Notebook")


def build_public_cases(seed: int) -> list[Case]:
    """The pairs are fixed (their budgets are tuned to the models); ``seed`` draws the difference maps."""
    return [*cf_cases(PUBLIC_EMBEDDED, PUBLIC_SMALL),
            *diffmap_cases(np.random.default_rng(seed), [((1, 64, 64, 3), np.float32)]), ANSWERS_CASE]


# --- checks -----------------------------------------------------------------------------------------

def _same_counterfactual(student, variant, case=None) -> bool:
    """Is the student's counterfactual the variant's (same image, same number of steps)?"""
    if "cf" not in student or "cf" not in variant:
        return False
    got, want = np.asarray(student["cf"], np.float64), np.asarray(variant["cf"], np.float64)
    if got.shape != want.shape or np.mean(np.abs(got - want)) > MATCH_TOL:
        return False
    lengths = [len(np.atleast_1d(r.get("history_loss", []))) for r in (student, variant)]
    return lengths[0] == lengths[1]


_IMAGE_UNCHANGED = unchanged_input("input_after", "image", "input_modified")


def _both_modify_input(student, variant, case=None) -> bool:
    return _IMAGE_UNCHANGED(student, {}, case) is not None and _IMAGE_UNCHANGED(variant, {}, case) is not None


def _usable(student) -> Failure | None:
    if "cf" not in student:
        return Failure("cf_shape", {"expected": tuple(int(v) for v in student["input_shape"]),
                                    "got": tuple(int(v) for v in student["cf_shape"]),
                                    "dtype": str(student["cf_dtype"])})
    return None


def _validity(student, expected, case):
    if not bool(expected["pred_class"] == case.inputs["target"]):
        return None  # the reference does not flip this pair either: no requirement
    failure = _usable(student)
    if failure:
        return failure
    if int(student["pred_class"]) != case.inputs["target"]:
        return Failure("not_flipped", {"predicted": int(student["pred_class"]), "target": case.inputs["target"],
                                       "prob": float(student["target_prob"])})
    return None


def _proximity(student, expected, case):
    failure = _usable(student)
    if failure:
        return failure
    ratios = {norm: float(student[norm]) / max(float(expected[norm]), 1e-12) for norm in ("l1", "l2")}
    # recorded as the excess over the reference's distance: correct work sits at a ratio of 1, not 0
    if not within_limit("distance excess over the reference's", max(ratios.values()) - 1.0, PROXIMITY_FACTOR - 1.0):
        return Failure("too_far", {"l2": float(student["l2"]), "ref_l2": float(expected["l2"]),
                                   "l1": float(student["l1"]), "ref_l1": float(expected["l1"]),
                                   "factor": PROXIMITY_FACTOR})
    return None


def _range_dtype(student, expected, case):
    failure = _usable(student)
    if failure:
        return failure
    if str(student["cf_dtype"]) != str(student["input_dtype"]):
        return Failure("cf_dtype", {"expected": str(student["input_dtype"]), "got": str(student["cf_dtype"])})
    low, high = PIXEL_RANGE
    if float(student["min"]) < low - RANGE_SLACK or float(student["max"]) > high + RANGE_SLACK:
        return Failure("out_of_range", {"min": float(student["min"]), "max": float(student["max"])})
    return None


def _history(student, expected, case):
    if not bool(student["history_ok"]):
        return Failure("history_format")
    steps = case.inputs["steps"]
    lengths = {key: len(np.atleast_1d(student[f"history_{key}"])) for key in HISTORY_KEYS}
    if any(n != steps for n in lengths.values()):
        return Failure("history_length", {"steps": steps, "got": ", ".join(f"{k}: {n}" for k, n in lengths.items())})
    probs = np.atleast_1d(student["history_target_prob"])
    if not probs[-1] > probs[0]:
        return Failure("history_not_improving", {"first": float(probs[0]), "last": float(probs[-1])})
    return None


def _matches_reference(student, expected, case):
    failure = _usable(student)
    if failure:
        return failure
    if not bool(student["history_ok"]):
        return Failure("history_format")
    mean_difference = float(np.mean(np.abs(np.asarray(student["cf"], np.float64) - np.asarray(expected["cf"]))))
    if not within_limit("mean |image - reference|", mean_difference, IMAGE_MEAN_TOL):
        return Failure("cf_differs", {"mean": mean_difference, "tol": IMAGE_MEAN_TOL})
    return first_failure(
        *(array_close(student, expected, f"history_{key}", HISTORY_TOL) for key in HISTORY_KEYS))


def _both_not_reproducible(student, variant, case=None) -> bool:
    return float(student["max_difference"]) > REPRO_TOL and float(variant["max_difference"]) > REPRO_TOL


def _reproducible(student, expected, case):
    if not bool(student["same_shape"]) or not within_limit("repeat difference", float(student["max_difference"]),
                                                           REPRO_TOL):
        return Failure("not_reproducible", {"difference": float(student["max_difference"])})
    return None


def _diffmap_shape(student, expected, case):
    got, want = np.shape(student.get("map")), np.shape(expected["map"])
    if got != want:
        return Failure("diffmap_shape", {"expected": want, "got": got})
    return None


def _same_map_shape(student, variant, case=None) -> bool:
    return "map" in student and np.shape(student["map"]) == np.shape(variant["map"])


def _answers_defined(student):
    if not bool(student["defined"]):
        return Failure("answers_missing", {"missing": str(student.get("missing", ""))})
    if not bool(student.get("shapes_match", False)):
        return Failure("answers_shapes")
    if not bool(student["cf_changed"]) and not bool(student.get("original_intact", False)):
        return Failure("answers_no_change")
    return None


def _answer_flipped(student, expected, case):
    failure = _answers_defined(student)
    if failure:
        return failure
    if not bool(student["flipped_is_bool"]):
        return Failure("flipped_not_bool")
    if bool(student["flipped"]) != bool(student["model_flipped"]):
        return Failure("flipped_wrong", {"before": str(student["original_class_name"]),
                                         "after": str(student["model_class_name"])})
    return None


def _answer_class(student, expected, case):
    failure = _answers_defined(student)
    if failure:
        return failure
    if str(student["new_class_name"]).strip().lower() != str(student["model_class_name"]).strip().lower():
        return Failure("class_name_wrong", {"got": str(student["new_class_name"]),
                                            "after": str(student["model_class_name"])})
    return None


_T = "test_generate_counterfactual"
CHECKS = [
    Check("cf.validity", _T, 2,
          {"de": "Gültigkeit: das Modell sagt für das Counterfactual die Zielklasse vorher",
           "en": "Validity: the model predicts the target class for the counterfactual"},
          "probe_cf", _validity,
          matches=_same_counterfactual),
    Check("cf.proximity", _T, 2,
          {"de": f"Nähe: L2- und L1-Abstand zum Original höchstens {PROXIMITY_FACTOR}× der Referenz",
           "en": f"Proximity: L2 and L1 distance to the original at most {PROXIMITY_FACTOR}× the reference's"},
          "probe_cf", _proximity,
          matches=_same_counterfactual),
    Check("cf.range_dtype", _T, 1,
          {"de": "Form und dtype wie die Eingabe, Pixel in [0, 1]",
           "en": "Same shape and dtype as the input, pixels in [0, 1]"},
          "probe_cf", _range_dtype, matches=_same_counterfactual),
    Check("cf.input_unchanged", _T, 1,
          {"de": "Das übergebene Bild bleibt unverändert", "en": "The image passed in stays unchanged"},
          "probe_cf", _IMAGE_UNCHANGED, matches=_both_modify_input),
    Check("cf.reproducible", _T, 1,
          {"de": "Zwei Aufrufe mit denselben Argumenten liefern dasselbe Ergebnis",
           "en": "Two calls with the same arguments give the same result"},
          "probe_cf_repeat", _reproducible, matches=_both_not_reproducible),
    Check("cf.history", _T, 1,
          {"de": "Verlauf: ein Eintrag pro Schritt, Zielwahrscheinlichkeit steigt",
           "en": "History: one entry per step, target probability rises"},
          "probe_cf", _history,
          matches=_same_counterfactual),
    Check("cf.matches_reference", _T, 2,
          {"de": "Bild und Verlauf stimmen mit der vorgegebenen Verlustfunktion und dem Verfahren überein",
           "en": "Image and history agree with the prescribed loss and procedure"},
          "probe_cf", _matches_reference),
    Check("diffmap.shape", "test_difference_map", 1,
          {"de": "Differenzkarte hat die Form (H, W)", "en": "Difference map has shape (H, W)"},
          "probe_diffmap", _diffmap_shape, matches=_same_map_shape),
    Check("diffmap.values", "test_difference_map", 2,
          {"de": "Differenzkarte: mittlere absolute Differenz über die Farbkanäle",
           "en": "Difference map: mean absolute difference over the colour channels"},
          "probe_diffmap", close("map", DIFFMAP_TOL)),
    Check("answers.flipped", "test_answers", 1,
          {"de": "Antwort `flipped` passt zur Vorhersage auf Ihrem Counterfactual",
           "en": "Answer `flipped` agrees with the prediction on your counterfactual"},
          "probe_answers", _answer_flipped),
    Check("answers.new_class_name", "test_answers", 1,
          {"de": "Antwort `new_class_name` passt zur Vorhersage auf Ihrem Counterfactual",
           "en": "Answer `new_class_name` agrees with the prediction on your counterfactual"},
          "probe_answers", _answer_class),
]

MESSAGES = COUNTERFACTUAL_MESSAGES  # (the checks' own messages, de/en: _counterfactual_messages.py)

# --- tasks 5 and 6: the desiderata measured, and the proximal step of an L1 counterfactual (_counterfactual_metrics.py)
from ._counterfactual_metrics import (METRICS_CHECKS, METRICS_MESSAGES, build_metrics_public_cases,  # noqa: E402,F401
                                      metrics_cases, probe_metrics, probe_soft_threshold, soft_threshold_cases)

PROBE_FUNCTIONS = {**PROBE_FUNCTIONS, "probe_metrics": "counterfactual_metrics",
                   "probe_soft_threshold": "soft_threshold"}
_build_cf_public_cases = build_public_cases


def build_public_cases(seed: int) -> list[Case]:  # noqa: F811  (tasks 1-3's cases, then those of tasks 5 and 6)
    return [*_build_cf_public_cases(seed), *build_metrics_public_cases(seed)]


CHECKS = [*CHECKS, *METRICS_CHECKS]
MESSAGES = {**MESSAGES, **METRICS_MESSAGES}
