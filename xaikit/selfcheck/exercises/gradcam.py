"""Self-check of the Grad-CAM exercise (PyTorch; embedded MiniResNet and small random CNNs): probes,
public cases and checks. Side effects are recorded by the probes as flags (hooks, parameters and
``requires_grad``, train/eval modes, the input tensor). Beside it: ``_gradcam_models.py`` (``RandomCNN``,
the embedded model, scenes), ``_gradcam_cases.py`` (one case builder per probe, shared with the grader's
hidden cases), ``_gradcam_messages.py`` (the checks' messages).

Tolerances (measured over correct alternatives written differently and the known mistakes, on the public cases
and K hidden sets; ``tests/test_fairness.py``): weights alpha ``rtol=1e-4`` plus ``atol=1e-4 * max|alpha|``
(float32 vs float64, other summation orders: up to 0.002 of it; mistakes 4000 times it); heatmaps and saliency maps
``atol=1e-3`` on [0, 1] (an epsilon of 1e-7 in the min-max denominator: up to 0.02 of it, 1e-6: 0.18; mistakes 5 to
200 times it), and in [0, 1] up to float32 rounding (RANGE_SLACK); overlay +-8 of 255 per channel: correct overlays
differ by up to 4 (a heatmap brought to 256 levels first, ``jet(np.uint8(255 * heatmap))``, shifts the colour by up
to one of jet's 256 entries, 4.5 levels, times alpha <= 0.6; truncating instead of rounding adds up to 1), the
known mistakes by 88 or more, OpenCV's own jet table by 13 to 21 (it loses the point, as the notebook says).
A CAM's raw values are about the logit's share per position: the random CNNs' are brought to the scale of real
networks' (``RandomCNN.amplify_head``), so that a student's epsilon does not decide the result.
"""

from __future__ import annotations

import xaikit  # noqa: F401  (torch/triton before anything can import TensorFlow)

import numpy as np
import torch

from ..compare import (Failure, Tolerance, all_of, array_close, close, flag, numeric_array, shaped_array,
                       within_limit)
from ..core import Case, Check
from ..probe import Snapshot, as_numpy, require, unchanged_input
from ._gradcam_cases import (all_negative_case, cam_cases, classes_case, hygiene_case,  # noqa: F401  (hidden cases)
                             overlay_case, overlay_cases, random_cam_case, random_saliency_case, random_weights_case,
                             saliency_cases, weights_cases)
from ._gradcam_messages import GRADCAM_MESSAGES
from ._gradcam_randomisation import (RANDOMISATION_CHECKS, RANDOMISATION_MESSAGES,  # noqa: F401  (hidden cases)
                                     gradient_map, probe_randomisation, randomisation_case, randomisation_cases,
                                     state_fingerprint)
from ._gradcam_models import (EMBEDDED, IMAGENET_MEAN, IMAGENET_STD, RandomCNN, _embedded,  # noqa: F401
                              _model, embedded_label, random_cnn, random_cnn_not_top_zero, ranked_classes,
                              scene_tensor)

NOTEBOOK = "gradcam"

# Imported by the zygote before forking submissions (autograder/runner/zygote.py): what the
# notebook's helpers import lazily (xaikit.load_image_classifier), besides the notebook's own imports.
WARM_IMPORTS = [("torchvision.models", ("ResNet50_Weights", "resnet50")), ("torchvision.models.resnet", ())]
HEATMAP_TOL = Tolerance(rtol=0.0, atol=1e-3)
OVERLAY_TOL = Tolerance(rtol=0.0, atol=8.0)
WEIGHTS_RTOL = 1e-4
DIFFER_THRESHOLD = 0.03  # mean |difference| of two min-max scaled maps that counts as 'different'
RANGE_SLACK = 1e-5  # how far outside [0, 1] a normalised map may stray (float32 rounding: cv2.normalize gives -1e-15)
# fc gain of the public random CNNs whose maps are compared (``RandomCNN.amplify_head``): their smallest raw CAM
# maximum becomes 0.010 (from 1.7e-4), the least the grader's hidden cases have
PUBLIC_HEAD_GAIN = 60.0
PUBLIC_SALIENCY_GAIN = 2.0  # likewise the random CNN's saliency maximum max|d logit / d x|: 0.011 (from 5.3e-3)
PROBE_FUNCTIONS = {"probe_weights": "grad_cam_weights", "probe_cam": "grad_cam", "probe_classes": "grad_cam",
                   "probe_layer": "grad_cam", "probe_overlay": "overlay_heatmap",
                   "probe_saliency": "saliency_map", "probe_randomisation": "randomisation_check"}


# --- probes: run in the student's kernel (and in the grader on the reference) -----------------

def _module_state(model):
    hooks = 0
    for module in model.modules():
        for attribute in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks",
                          "_forward_hooks_with_kwargs", "_forward_pre_hooks_with_kwargs"):
            hooks += len(getattr(module, attribute, {}) or {})
    modes = [module.training for module in model.modules()]
    parameters = {name: (p.detach().clone(), p.requires_grad) for name, p in model.named_parameters()}
    return hooks, modes, parameters


def _heatmap_call(function, model, x, layer, class_idx):
    if layer is None:  # the default target layer
        return function(model, x, class_idx=class_idx)
    return function(model, x, layer, class_idx)


def probe_weights(namespace, inputs):
    function = require(namespace, "grad_cam_weights")
    model = _model(inputs["model"])
    alpha = function(model, inputs["x"], inputs["layer"], inputs["class_idx"])
    return {"alpha": np.squeeze(as_numpy(alpha, np.float64))}


def probe_cam(namespace, inputs):
    function = require(namespace, "grad_cam")
    model = _model(inputs["model"])
    x = Snapshot(inputs["x"])
    hooks, modes, parameters = _module_state(model)
    heatmap = _heatmap_call(function, model, x.value, inputs["layer"], inputs["class_idx"])
    hooks_after, modes_after, parameters_after = _module_state(model)
    return {
        "heatmap": as_numpy(heatmap, np.float64),
        "hooks_removed": hooks_after == hooks,
        "mode_restored": modes_after == modes,
        "parameters_unchanged": all(torch.equal(value, parameters_after[name][0]) for name, (value, _) in parameters.items()),
        "requires_grad_unchanged": all(flag == parameters_after[name][1] for name, (_, flag) in parameters.items()),
        "input_after": x.after(),  # (compared with the case's input by the check, not here)
    }


def probe_classes(namespace, inputs):
    function = require(namespace, "grad_cam")
    model = _model(inputs["model"])
    x, layer = inputs["x"], inputs["layer"]
    with torch.no_grad():
        top = int(model(x)[0].argmax())
    return {
        "cam_a": as_numpy(function(model, x, layer, inputs["class_a"]), np.float64),
        "cam_b": as_numpy(function(model, x, layer, inputs["class_b"]), np.float64),
        "cam_none": as_numpy(function(model, x, layer, None), np.float64),
        "cam_top": as_numpy(function(model, x, layer, top), np.float64),
    }


def probe_layer(namespace, inputs):
    function = require(namespace, "grad_cam")
    model = _model(inputs["model"])
    x, class_idx = inputs["x"], inputs["class_idx"]
    return {
        "cam_layer": as_numpy(function(model, x, inputs["layer"], class_idx), np.float64),
        "cam_default": as_numpy(function(model, x, class_idx=class_idx), np.float64),
    }


def probe_overlay(namespace, inputs):
    function = require(namespace, "overlay_heatmap")
    image, heatmap = Snapshot(inputs["image"]), inputs["heatmap"]
    if inputs["alpha"] is None:
        result = function(image.value, heatmap)
    else:
        result = function(image.value, heatmap, alpha=inputs["alpha"])
    array = np.asarray(result)
    return {"overlay": as_numpy(array, np.float64), "dtype": str(array.dtype), "image_after": image.after()}


def probe_saliency(namespace, inputs):
    function = require(namespace, "saliency_map")
    model = _model(inputs["model"])
    x = Snapshot(inputs["x"])
    saliency = function(model, x.value, inputs["class_idx"])
    return {"saliency": as_numpy(saliency, np.float64), "input_after": x.after()}


# --- public inputs (the grader's hidden ones are built on its side, with the same builders) ----------

def build_public_cases(seed: int) -> list[Case]:
    """One generator, drawn from by the probes' builders in a fixed order (the order fixes the cases)."""
    rng = np.random.default_rng(seed)
    scenes = [int(s) for s in rng.integers(10_000, 2**31, size=8)]
    sizes = [(64, 64), (64, 80)]
    cases = [*weights_cases(rng, scenes, ["layer4", "layer3"], sizes, random_count=2),
             *cam_cases(rng, scenes, sizes, embedded_count=2, random_count=1, negative_side=32,
                        hygiene_size=(64, 64))]
    x = torch.tensor(rng.normal(size=(1, 3, 36, 36)), dtype=torch.float32)
    cases.append(classes_case(rng, 0, x, 36))  # two classes side by side
    # The layer check is strict when the default map is right. On scenes[5] a heatmap normalised before upsampling
    # kept its layer4 map within tolerance but not its layer3 map, so the self-check told that student the layer was
    # wrong ("layer_not_used") though it was right (the grader's hidden builder screens for this, `_layer_check_fair`).
    # On scenes[0] every known mistake the check does not name passes it (tests/test_public_diagnosis.py).
    x, _ = scene_tensor(scenes[0], 64, 64)
    class_idx = ranked_classes(EMBEDDED, x)[0]
    cases.append(Case("layer_embedded_0", "probe_layer",
                      {"model": EMBEDDED, "x": x, "layer": "layer3", "class_idx": class_idx},
                      f"MiniResNet, Szene 64×64, Klasse {class_idx}, Schicht layer3"))
    for case in cases:  # the random CNNs' raw maps on the scale of real networks' (``RandomCNN.amplify_head``)
        if case.id.startswith(("cam_random_", "classes_random_")):
            case.inputs["model"].amplify_head(case.inputs["x"], PUBLIC_HEAD_GAIN)
    cases += overlay_cases(rng, scenes, sizes, [None, 0.25])
    saliency = saliency_cases(rng, scenes, 64, 64)
    saliency[1].inputs["model"].amplify_head(saliency[1].inputs["x"], PUBLIC_SALIENCY_GAIN)
    randomisation = randomisation_cases(rng, scenes, sizes, [["fc", "layer4", "layer3"]], random_count=1)
    return cases + saliency + randomisation


# --- checks ----------------------------------------------------------------------------------

def _weights(student, expected, case):
    got, failure = numeric_array(student, "alpha")
    if failure:
        return failure
    want = np.asarray(expected["alpha"], dtype=np.float64)
    scale = float(np.max(np.abs(want))) if want.size else 1.0
    return array_close(student, expected, "alpha", Tolerance(rtol=WEIGHTS_RTOL, atol=WEIGHTS_RTOL * scale))


def _shape_and_range(student, expected, case):
    got, failure = shaped_array(student, expected, "heatmap", "heatmap_shape")
    if failure:
        return failure
    if not np.all(np.isfinite(got)):
        return Failure("not_finite", {"key": "heatmap"})
    return _unit_range("heatmap")(student)


def _unit_range(key):
    """Every value of ``student[key]`` in [0, 1], up to float32 rounding (RANGE_SLACK; recorded)."""
    def criterion(student, expected=None, case=None):
        got, failure = numeric_array(student, key)
        if failure:
            return failure
        if got.size == 0:
            return None
        low, high = float(np.nanmin(got)), float(np.nanmax(got))
        if within_limit(f"{key} in [0, 1]", max(0.0, -low, high - 1.0), RANGE_SLACK):
            return None
        return Failure("heatmap_range", {"key": key, "low": 0.0, "high": 1.0, "min": low, "max": high})
    return criterion


def _all_negative(student, expected, case):
    got, failure = numeric_array(student, "heatmap")
    if failure:
        return failure
    if got.shape == np.shape(expected["heatmap"]) and not np.all(np.isfinite(got)):
        return Failure("all_negative_nan")
    failure = array_close(student, expected, "heatmap", HEATMAP_TOL)
    if failure is not None and failure.key == "values":
        return Failure("all_negative_not_zero", {"max": float(np.max(got))})
    return failure


def _close(a, b, what: str = "map") -> bool:
    """Two maps agree within HEATMAP_TOL (the largest difference, recorded as a share of it)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape or not np.all(np.isfinite(a)):
        return within_limit(what, np.inf, HEATMAP_TOL.atol)
    return within_limit(what, float(np.max(np.abs(a - b))) if a.size else 0.0, HEATMAP_TOL.atol)


def _unit(a):
    a = np.asarray(a, np.float64)
    low, high = np.nanmin(a), np.nanmax(a)
    return (a - low) / (high - low) if high > low else np.zeros_like(a)


def _differ(a, b, what: str = "maps differ") -> bool:
    """Two of the student's maps differ clearly (each min-max scaled first: the scale is judged elsewhere): their
    mean |difference| is at least DIFFER_THRESHOLD (recorded as the share threshold / difference, 1 at the limit)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        return True
    if a.size == 0 or not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return within_limit(what, DIFFER_THRESHOLD, 0.0)
    return within_limit(what, DIFFER_THRESHOLD, float(np.mean(np.abs(_unit(a) - _unit(b)))))


def _maps(student, expected, keys):
    for key in keys:
        _, failure = shaped_array(student, expected, key, "heatmap_shape")
        if failure:
            return failure
    return None


def _class_dependence(student, expected, case):
    """Strict when the student's map of the top class is right (then a wrong map here is a class
    mistake); otherwise the formula is wrong (grad_cam.values says so) and only the class handling
    is judged: two classes must give clearly different maps, and None the top class's map."""
    failure = _maps(student, expected, ("cam_a", "cam_b", "cam_none", "cam_top"))
    if failure:
        return failure
    if _close(student["cam_top"], expected["cam_top"], "cam_top"):
        if not _close(student["cam_none"], expected["cam_none"], "cam_none"):
            return Failure("none_not_top_class")
        if not (_close(student["cam_a"], expected["cam_a"], "cam_a")
                and _close(student["cam_b"], expected["cam_b"], "cam_b")):
            return Failure("class_ignored")
        return None
    if not _differ(student["cam_a"], student["cam_b"], "cam_a, cam_b differ"):
        return Failure("class_ignored")
    if not _close(student["cam_none"], student["cam_top"], "cam_none = cam_top"):
        return Failure("none_not_top_class")
    return None


def _layer_choice(student, expected, case):
    """Strict when the student's default-layer map is right; otherwise the maps of the named layer
    and of the default layer must at least differ clearly."""
    failure = _maps(student, expected, ("cam_layer", "cam_default"))
    if failure:
        return failure
    if _close(student["cam_default"], expected["cam_default"], "cam_default"):
        return None if _close(student["cam_layer"], expected["cam_layer"], "cam_layer") else Failure("layer_not_used")
    return None if _differ(student["cam_layer"], student["cam_default"], "cam_layer, cam_default differ") \
        else Failure("layer_not_used")


def _overlay(student, expected, case):
    _, failure = shaped_array(student, expected, "overlay", "overlay_shape")
    if failure:
        return failure
    if str(student.get("dtype")) != "uint8":
        return Failure("overlay_not_uint8", {"got": str(student.get("dtype"))})
    return all_of(close("overlay", OVERLAY_TOL), unchanged_input("image_after", "image", "image_mutated"))(
        student, expected, case)


CHECKS = [
    Check("weights.embedded", "test_grad_cam_weights", 1,
          {"de": "Gewichte α auf dem MiniResNet (verschiedene Szenen, Klassen und Schichten)",
           "en": "Weights α on the MiniResNet (several scenes, classes and layers)"},
          "probe_weights", _weights, tags=frozenset({"embedded"})),
    Check("weights.random_cnns", "test_grad_cam_weights", 1,
          {"de": "Gewichte α auf kleinen Zufalls-CNNs (andere Kanalzahlen, Kernelgrößen, Eingabegrößen)",
           "en": "Weights α on small random CNNs (other channel counts, kernel sizes, input sizes)"},
          "probe_weights", _weights, tags=frozenset({"random"})),
    Check("grad_cam.shape_range", "test_grad_cam", 1,
          {"de": "Heatmap hat die Größe der Eingabe (H × W) und Werte in [0, 1]",
           "en": "Heatmap has the input's size (H × W) and values in [0, 1]"},
          "probe_cam", _shape_and_range, tags=frozenset({"values"})),
    Check("grad_cam.values", "test_grad_cam", 2,
          {"de": "Heatmap-Werte (layer4, vorhergesagte und andere Klassen, nicht quadratische Eingaben)",
           "en": "Heatmap values (layer4, predicted and other classes, non-square inputs)"},
          "probe_cam", close("heatmap", HEATMAP_TOL), tags=frozenset({"values"})),
    Check("grad_cam.all_negative", "test_grad_cam", 1,
          {"de": "Überall negative CAM ergibt eine Heatmap aus Nullen (ReLU, kein NaN)",
           "en": "A CAM that is negative everywhere gives a heatmap of zeros (ReLU, no NaN)"},
          "probe_cam", _all_negative, tags=frozenset({"negative"})),
    Check("grad_cam.class_dependence", "test_grad_cam", 1,
          {"de": "Zwei Klassen ergeben ihre zwei verschiedenen Heatmaps; class_idx=None nimmt die vorhergesagte Klasse",
           "en": "Two classes give their two different heatmaps; class_idx=None uses the predicted class"},
          "probe_classes", _class_dependence),
    Check("grad_cam.layer", "test_grad_cam", 1,
          {"de": "Die Schicht target_layer wird verwendet (Standard: layer4)",
           "en": "The layer target_layer is the one used (default: layer4)"},
          "probe_layer", _layer_choice),
    Check("grad_cam.hooks_removed", "test_grad_cam", 1,
          {"de": "Keine Hooks bleiben am Modell registriert", "en": "No hooks stay registered on the model"},
          "probe_cam", flag("hooks_removed", "hooks_left_registered")),
    Check("grad_cam.model_unchanged", "test_grad_cam", 1,
          {"de": "Parameter und requires_grad-Flags des Modells bleiben unverändert",
           "en": "The model's parameters and requires_grad flags stay unchanged"},
          "probe_cam", all_of(flag("parameters_unchanged", "parameters_changed"),
                                flag("requires_grad_unchanged", "requires_grad_changed"))),
    Check("grad_cam.mode_restored", "test_grad_cam", 1,
          {"de": "train()/eval()-Modus des Modells wird wiederhergestellt",
           "en": "The model's train()/eval() mode is restored"},
          "probe_cam", flag("mode_restored", "mode_not_restored")),
    Check("grad_cam.input_unchanged", "test_grad_cam", 1,
          {"de": "Der Eingabetensor des Aufrufers bleibt unverändert (Werte, requires_grad, .grad)",
           "en": "The caller's input tensor stays unchanged (values, requires_grad, .grad)"},
          "probe_cam", unchanged_input("input_after", "x", "input_mutated")),
    Check("overlay.values", "test_overlay", 1,
          {"de": "Überlagerung: RGB uint8, (1 − alpha) · Bild + alpha · jet(Heatmap)",
           "en": "Overlay: RGB uint8, (1 − alpha) · image + alpha · jet(heatmap)"},
          "probe_overlay", _overlay),
    Check("saliency.values", "test_saliency", 1,
          {"de": "Saliency-Map: max. über Farbkanäle von |∂y^c/∂x|, auf [0, 1] normiert",
           "en": "Saliency map: max over colour channels of |∂y^c/∂x|, normalised to [0, 1]"},
          "probe_saliency", all_of(close("saliency", HEATMAP_TOL), _unit_range("saliency"))),
    Check("saliency.input_unchanged", "test_saliency", 1,
          {"de": "Saliency-Map verändert den Eingabetensor des Aufrufers nicht",
           "en": "The saliency map leaves the caller's input tensor unchanged"},
          "probe_saliency", unchanged_input("input_after", "x", "saliency_mutates_input")),
]

CHECKS += RANDOMISATION_CHECKS  # task 4, the sanity check (_gradcam_randomisation.py)

MESSAGES = {**GRADCAM_MESSAGES, **RANDOMISATION_MESSAGES}  # (the checks' own messages, de/en: _gradcam_messages.py)
