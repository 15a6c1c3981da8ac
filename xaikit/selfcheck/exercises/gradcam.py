"""Self-check of the Grad-CAM exercise (PyTorch; embedded MiniResNet and small random CNNs): probes,
public cases and checks. ``RandomCNN`` is defined here so that the cases' models unpickle in the
student's kernel. Side effects are recorded by the probes as flags (hooks, parameters and
``requires_grad``, train/eval modes, the input tensor).

Tolerances: weights alpha ``rtol=1e-4`` plus ``atol=1e-4 * max|alpha|`` (float32 summation order);
heatmaps and saliency maps ``atol=1e-3`` on [0, 1] (mistakes differ by 0.05 to 1);
overlay +-4 of 255 per channel (rounding, and the 256-entry quantisation of the jet colour map).
"""

from __future__ import annotations

import xaikit  # noqa: F401  (torch/triton before anything can import TensorFlow)

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..compare import Failure, Tolerance, array_close, first_failure, flag_true, in_range, numeric_array
from ..probe import as_numpy, require
from ..core import Case, Check

NOTEBOOK = "gradcam"

# Imported by the zygote before forking submissions (autograder/runner/zygote.py): what the
# notebook's helpers import lazily (xaikit.load_image_classifier), besides the notebook's own imports.
WARM_IMPORTS = [("torchvision.models", ("ResNet50_Weights", "resnet50")), ("torchvision.models.resnet", ())]
HEATMAP_TOL = Tolerance(rtol=0.0, atol=1e-3)
OVERLAY_TOL = Tolerance(rtol=0.0, atol=4.0)
WEIGHTS_RTOL = 1e-4
DIFFER_THRESHOLD = 0.03  # mean |difference| of two min-max scaled maps that counts as 'different'
PROBE_FUNCTIONS = {"probe_weights": "grad_cam_weights", "probe_cam": "grad_cam", "probe_classes": "grad_cam",
                   "probe_layer": "grad_cam", "probe_overlay": "overlay_heatmap",
                   "probe_saliency": "saliency_map"}
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406])
IMAGENET_STD = np.array([0.229, 0.224, 0.225])


class RandomCNN(nn.Module):
    """Small CNN without nn.Sequential: conv layers ``layer1``..``layerK`` (ReLU and optional 2x2
    max-pooling in ``forward``), global average pooling, linear ``fc``. Seeded initialisation.

    ``positive=True``: non-negative conv weights and biases, so every activation of a non-negative
    input is >= 0; class 1 gets negative ``fc`` weights -> its Grad-CAM is negative everywhere.
    """

    def __init__(self, channels, kernels, pools, num_classes=5, seed=0, in_channels=3, positive=False):
        super().__init__()
        self.depth = len(channels)
        self.pools = list(pools)
        generator = torch.Generator().manual_seed(int(seed))
        previous = in_channels
        for index, (width, kernel) in enumerate(zip(channels, kernels), start=1):
            conv = nn.Conv2d(previous, width, kernel, padding=kernel // 2)
            with torch.no_grad():
                conv.weight.normal_(0.0, (2.0 / (previous * kernel * kernel)) ** 0.5, generator=generator)
                conv.bias.uniform_(-0.1, 0.1, generator=generator)
                if positive:
                    conv.weight.abs_()
                    conv.bias.abs_()
            setattr(self, f"layer{index}", conv)
            previous = width
        self.fc = nn.Linear(previous, num_classes)
        with torch.no_grad():
            self.fc.weight.normal_(0.0, previous ** -0.5, generator=generator)
            self.fc.bias.zero_()
            if positive:
                self.fc.weight[0].abs_()
                self.fc.weight[1] = -self.fc.weight[1].abs()

    def forward(self, x):
        for index in range(1, self.depth + 1):
            x = F.relu(getattr(self, f"layer{index}")(x))
            if self.pools[index - 1]:
                x = F.max_pool2d(x, 2)
        return self.fc(x.mean(dim=(2, 3)))


# --- models and inputs --------------------------------------------------------------------------

_EMBEDDED_STATE: dict = {}


def _embedded(spec: dict):
    """The embedded MiniResNet from a picklable description (its class is local to xaikit)."""
    from xaikit.models import MINI_RESNET_PATH, build_mini_resnet

    if "state" not in _EMBEDDED_STATE:
        _EMBEDDED_STATE["state"] = torch.load(MINI_RESNET_PATH, map_location="cpu", weights_only=True)
    model = build_mini_resnet()
    model.load_state_dict(_EMBEDDED_STATE["state"])
    model.eval()
    for name, parameter in model.named_parameters():
        if any(name.startswith(prefix + ".") for prefix in spec.get("frozen", ())):
            parameter.requires_grad_(False)
    if spec.get("train"):
        model.train()
    return model


def _model(spec):
    return spec if isinstance(spec, nn.Module) else _embedded(spec)


def scene_tensor(seed: int, height: int, width: int) -> tuple[torch.Tensor, np.ndarray]:
    """A scene of size max(h, w), centre-cropped to h x w, normalised like the embedded model expects."""
    from xaikit.scenes import make_scene

    side = max(height, width)
    image = make_scene(seed, size=side).image
    top, left = (side - height) // 2, (side - width) // 2
    image = np.ascontiguousarray(image[top:top + height, left:left + width])
    x = (image / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
    return torch.tensor(x.transpose(2, 0, 1)[None], dtype=torch.float32), image


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
    x = inputs["x"]
    x_before, x_flag = x.detach().clone(), x.requires_grad
    hooks, modes, parameters = _module_state(model)
    heatmap = _heatmap_call(function, model, x, inputs["layer"], inputs["class_idx"])
    hooks_after, modes_after, parameters_after = _module_state(model)
    return {
        "heatmap": as_numpy(heatmap, np.float64),
        "hooks_removed": hooks_after == hooks,
        "mode_restored": modes_after == modes,
        "parameters_unchanged": all(torch.equal(value, parameters_after[name][0]) for name, (value, _) in parameters.items()),
        "requires_grad_unchanged": all(flag == parameters_after[name][1] for name, (_, flag) in parameters.items()),
        "input_unchanged": bool(torch.equal(x.detach(), x_before) and x.requires_grad == x_flag and x.grad is None),
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
    image, heatmap = inputs["image"], inputs["heatmap"]
    image_before = image.copy()
    if inputs["alpha"] is None:
        result = function(image, heatmap)
    else:
        result = function(image, heatmap, alpha=inputs["alpha"])
    array = np.asarray(result)
    return {"overlay": as_numpy(array, np.float64), "dtype": str(array.dtype),
            "image_unchanged": bool(np.array_equal(image, image_before))}


def probe_saliency(namespace, inputs):
    function = require(namespace, "saliency_map")
    model = _model(inputs["model"])
    x = inputs["x"]
    x_before, x_flag = x.detach().clone(), x.requires_grad
    saliency = function(model, x, inputs["class_idx"])
    return {"saliency": as_numpy(saliency, np.float64),
            "input_unchanged": bool(torch.equal(x.detach(), x_before) and x.requires_grad == x_flag and x.grad is None)}


# --- public inputs (the grader's hidden ones are built on its side) -----------------------------------------------------------------

def ranked_classes(model_spec, x):
    with torch.no_grad():
        return [int(c) for c in torch.argsort(_model(model_spec)(x)[0], descending=True)]


def random_cnn(rng, positive=False, num_classes=None):
    depth = int(rng.integers(4, 6))
    channels = [int(c) for c in rng.choice([4, 6, 8, 12, 16, 24], size=depth)]
    kernels = [int(k) for k in rng.choice([1, 3, 5], size=depth, p=[0.15, 0.6, 0.25])]
    pools = [bool(p) for p in rng.random(depth) < 0.3]
    pools[-1] = False  # keep the last feature map larger than 1 x 1
    model = RandomCNN(channels, kernels, pools, num_classes or int(rng.integers(3, 8)),
                      seed=int(rng.integers(2**31)), positive=positive)
    description = "CNN " + "-".join(f"{c}@{k}x{k}" for c, k in zip(channels, kernels))
    return model.eval(), description, depth


def random_cnn_not_top_zero(rng, x, num_classes=None):
    """A random CNN whose predicted class for ``x`` is not 0 (so 'None means class 0' is visible)."""
    for _ in range(20):
        model, description, depth = random_cnn(rng, num_classes=num_classes)
        if ranked_classes(model, x)[0] != 0:
            break
    return model, description, depth


def embedded_label(class_idx) -> str:
    return "vorhergesagte Klasse" if class_idx is None else f"Klasse {class_idx}"


def build_public_cases(seed: int) -> list[Case]:
    """One generator for all probes, drawn from in a fixed order (the order fixes the cases)."""
    rng = np.random.default_rng(seed)
    cases: list[Case] = []
    embedded = {"kind": "embedded"}
    scene_seeds = [int(s) for s in rng.integers(10_000, 2**31, size=8)]
    sizes = [(64, 64), (64, 80)]

    # alpha on the embedded model (two layers) and on small random CNNs of other shapes
    for index, layer in enumerate(["layer4", "layer3"]):
        height, width = sizes[index % len(sizes)]
        x, _ = scene_tensor(scene_seeds[index], height, width)
        class_idx = None if index == 0 else ranked_classes(embedded, x)[1 + index % 3]
        cases.append(Case(f"weights_embedded_{index}", "probe_weights",
                          {"model": embedded, "x": x, "layer": layer, "class_idx": class_idx},
                          f"MiniResNet, Szene {height}×{width}, {embedded_label(class_idx)}, Schicht {layer}",
                          frozenset({"embedded"})))
    for index in range(2):
        cases.append(random_weights_case(rng, index))

    # heatmaps of the default layer (layer4), a CAM negative everywhere, side effects
    for index in range(2):
        height, width = sizes[(index + 1) % len(sizes)]
        x, _ = scene_tensor(scene_seeds[4 + index], height, width)
        class_idx = None if index == 0 else ranked_classes(embedded, x)[index]
        cases.append(Case(f"cam_embedded_{index}", "probe_cam",
                          {"model": embedded, "x": x, "layer": None, "class_idx": class_idx},
                          f"MiniResNet, Szene {height}×{width}, {embedded_label(class_idx)}, Schicht layer4 (Standard)",
                          frozenset({"values"})))
    cases.append(random_cam_case(rng, 0))
    cases.append(all_negative_case(rng, 32))
    cases.append(hygiene_case(scene_seeds[7], 64, 64))

    # two classes side by side, the named layer, overlay, saliency
    x = torch.tensor(rng.normal(size=(1, 3, 36, 36)), dtype=torch.float32)
    cases.append(classes_case(rng, 0, x, 36))
    x, _ = scene_tensor(scene_seeds[5], 64, 64)
    class_idx = ranked_classes(embedded, x)[0]
    cases.append(Case("layer_embedded_0", "probe_layer",
                      {"model": embedded, "x": x, "layer": "layer3", "class_idx": class_idx},
                      f"MiniResNet, Szene 64×64, Klasse {class_idx}, Schicht layer3"))
    for index, alpha in enumerate([None, 0.25]):
        cases.append(overlay_case(rng, index, scene_seeds[index + 2], *sizes[index % len(sizes)], alpha))
    x, _ = scene_tensor(scene_seeds[3], 64, 64)
    cases.append(Case("saliency_embedded", "probe_saliency", {"model": embedded, "x": x, "class_idx": None},
                      "MiniResNet, Szene 64×64, vorhergesagte Klasse"))
    cases.append(random_saliency_case(rng))
    return cases


# Case builders the grader's hidden cases share (seeded by the generator they are given)

def random_weights_case(rng, index) -> Case:
    """alpha on a small random CNN, a non-square input, a random class and layer."""
    model, description, depth = random_cnn(rng)
    height, width = int(rng.integers(24, 48)), int(rng.integers(24, 48))
    if height == width:
        width += 5
    layer = f"layer{int(rng.integers(2, depth + 1))}"
    x = torch.tensor(rng.normal(size=(1, 3, height, width)), dtype=torch.float32)
    class_idx = int(rng.integers(model.fc.out_features))
    return Case(f"weights_random_{index}", "probe_weights",
                {"model": model, "x": x, "layer": layer, "class_idx": class_idx},
                f"{description}, Eingabe {height}×{width}, Klasse {class_idx}, Schicht {layer}", frozenset({"random"}))


def random_cam_case(rng, index) -> Case:
    """Index 0: class_idx=None on a model whose top class is not 0 (seeded, independent of trained weights)."""
    height, width = int(rng.integers(28, 44)), int(rng.integers(44, 60))
    x = torch.tensor(rng.normal(size=(1, 3, height, width)), dtype=torch.float32)
    model, description, depth = random_cnn_not_top_zero(rng, x)
    class_idx = None if index == 0 else int(rng.integers(model.fc.out_features))
    return Case(f"cam_random_{index}", "probe_cam",
                {"model": model, "x": x, "layer": "layer4", "class_idx": class_idx},
                f"{description}, Eingabe {height}×{width}, {embedded_label(class_idx)}, Schicht layer4",
                frozenset({"values"}))


def all_negative_case(rng, side) -> Case:
    """A CAM that is negative everywhere: the heatmap must be zeros (square: only ReLU/NaN matter here)."""
    model, description, depth = random_cnn(rng, positive=True, num_classes=2)
    x = torch.tensor(rng.uniform(0.0, 1.0, size=(1, 3, side, side)), dtype=torch.float32)
    return Case("cam_all_negative", "probe_cam", {"model": model, "x": x, "layer": f"layer{depth}", "class_idx": 1},
                f"{description} mit negativen Klassengewichten, Eingabe {side}×{side}, Klasse 1",
                frozenset({"negative"}))


def hygiene_case(scene_seed, height, width) -> Case:
    """Side effects: the model in train mode with frozen first layers."""
    x, _ = scene_tensor(scene_seed, height, width)
    return Case("cam_hygiene", "probe_cam",
                {"model": {"kind": "embedded", "train": True, "frozen": ["conv1", "bn1", "layer1"]},
                 "x": x, "layer": "layer3", "class_idx": None},
                f"MiniResNet im train()-Modus, conv1/bn1/layer1 eingefroren, Szene {height}×{width}",
                frozenset({"hygiene"}))


def classes_case(rng, index, x, side) -> Case:
    """Two classes side by side, and class_idx=None, on a seeded random CNN (not the trained MiniResNet,
    whose weights may be retrained, so which mistakes break this check is fixed); square input, as a
    transposed map is judged by the value checks."""
    model, description, depth = random_cnn_not_top_zero(rng, x, num_classes=6)
    ranked = ranked_classes(model, x)
    pair = (ranked[1], ranked[-1]) if index == 0 else (ranked[2], ranked[0])
    return Case(f"classes_random_{index}", "probe_classes",
                {"model": model, "x": x, "layer": "layer4", "class_a": pair[0], "class_b": pair[1]},
                f"{description}, Eingabe {side}×{side}, Klassen {pair[0]} und {pair[1]}")


def overlay_case(rng, index, scene_seed, height, width, alpha, noise=False) -> Case:
    """A scene with a smooth (or, ``noise``, random) heatmap."""
    _, image = scene_tensor(scene_seed, height, width)
    yy, xx = np.mgrid[0:height, 0:width]
    centre = rng.uniform(0.2, 0.8, size=2) * (height, width)
    heatmap = np.exp(-((yy - centre[0]) ** 2 + (xx - centre[1]) ** 2) / (2 * (0.2 * width) ** 2))
    if noise:
        heatmap = rng.uniform(size=(height, width))
    heatmap = ((heatmap - heatmap.min()) / (heatmap.max() - heatmap.min())).astype(np.float32)
    return Case(f"overlay_{index}", "probe_overlay", {"image": image, "heatmap": heatmap, "alpha": alpha},
                f"Szene {height}×{width}, alpha={0.4 if alpha is None else alpha}")


def random_saliency_case(rng) -> Case:
    model, description, depth = random_cnn(rng)
    x = torch.tensor(rng.normal(size=(1, 3, 26, 34)), dtype=torch.float32)
    return Case("saliency_random", "probe_saliency", {"model": model, "x": x, "class_idx": 1},
                f"{description}, Eingabe 26×34, Klasse 1")


# --- checks ----------------------------------------------------------------------------------

def _weights(student, expected, case):
    got, failure = numeric_array(student, "alpha")
    if failure:
        return failure
    want = np.asarray(expected["alpha"], dtype=np.float64)
    scale = float(np.max(np.abs(want))) if want.size else 1.0
    return array_close(student, expected, "alpha", Tolerance(rtol=WEIGHTS_RTOL, atol=WEIGHTS_RTOL * scale))


def _shape_and_range(student, expected, case):
    got, failure = numeric_array(student, "heatmap")
    if failure:
        return failure
    want = np.asarray(expected["heatmap"])
    if got.shape != want.shape:
        return Failure("heatmap_shape", {"expected": tuple(want.shape), "got": tuple(got.shape)})
    if not np.all(np.isfinite(got)):
        return Failure("not_finite", {"key": "heatmap"})
    return in_range(student, "heatmap", 0.0, 1.0, "heatmap_range")


def _heatmap_values(student, expected, case):
    return array_close(student, expected, "heatmap", HEATMAP_TOL)


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


def _close(a, b) -> bool:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return a.shape == b.shape and bool(np.all(np.isfinite(a))) and bool(np.allclose(a, b, rtol=0.0, atol=HEATMAP_TOL.atol))


def _unit(a):
    a = np.asarray(a, np.float64)
    low, high = np.nanmin(a), np.nanmax(a)
    return (a - low) / (high - low) if high > low else np.zeros_like(a)


def _differ(a, b) -> bool:
    """Two of the student's maps differ clearly (each min-max scaled first: the scale is judged elsewhere)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        return True
    if a.size == 0 or not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return False
    return bool(np.mean(np.abs(_unit(a) - _unit(b))) > DIFFER_THRESHOLD)


def _maps(student, expected, keys):
    for key in keys:
        _, failure = numeric_array(student, key)
        if failure:
            return failure
        if np.shape(student[key]) != np.shape(expected[key]):
            return Failure("heatmap_shape", {"expected": tuple(np.shape(expected[key])),
                                             "got": tuple(np.shape(student[key]))})
    return None


def _class_dependence(student, expected, case):
    """Strict when the student's map of the top class is right (then a wrong map here is a class
    mistake); otherwise the formula is wrong (grad_cam.values says so) and only the class handling
    is judged: two classes must give clearly different maps, and None the top class's map."""
    failure = _maps(student, expected, ("cam_a", "cam_b", "cam_none", "cam_top"))
    if failure:
        return failure
    if _close(student["cam_top"], expected["cam_top"]):
        if not _close(student["cam_none"], expected["cam_none"]):
            return Failure("none_not_top_class")
        if not (_close(student["cam_a"], expected["cam_a"]) and _close(student["cam_b"], expected["cam_b"])):
            return Failure("class_ignored")
        return None
    if not _differ(student["cam_a"], student["cam_b"]):
        return Failure("class_ignored")
    if not _close(student["cam_none"], student["cam_top"]):
        return Failure("none_not_top_class")
    return None


def _layer_choice(student, expected, case):
    """Strict when the student's default-layer map is right; otherwise the maps of the named layer
    and of the default layer must at least differ clearly."""
    failure = _maps(student, expected, ("cam_layer", "cam_default"))
    if failure:
        return failure
    if _close(student["cam_default"], expected["cam_default"]):
        return None if _close(student["cam_layer"], expected["cam_layer"]) else Failure("layer_not_used")
    return None if _differ(student["cam_layer"], student["cam_default"]) else Failure("layer_not_used")


def _flag(key, message):
    def criterion(student, expected, case):
        return flag_true(student, key, message)
    return criterion


def _model_unchanged(student, expected, case):
    return first_failure(flag_true(student, "parameters_unchanged", "parameters_changed"),
                         flag_true(student, "requires_grad_unchanged", "requires_grad_changed"))


def _overlay(student, expected, case):
    got, failure = numeric_array(student, "overlay")
    if failure:
        return failure
    want = np.asarray(expected["overlay"])
    if got.shape != want.shape:
        return Failure("overlay_shape", {"expected": tuple(want.shape), "got": tuple(got.shape)})
    if str(student.get("dtype")) != "uint8":
        return Failure("overlay_not_uint8", {"got": str(student.get("dtype"))})
    return first_failure(array_close(student, expected, "overlay", OVERLAY_TOL),
                         flag_true(student, "image_unchanged", "image_mutated"))


def _saliency(student, expected, case):
    return first_failure(array_close(student, expected, "saliency", HEATMAP_TOL),
                         in_range(student, "saliency", 0.0, 1.0, "heatmap_range"))



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
          "probe_cam", _heatmap_values, tags=frozenset({"values"})),
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
          "probe_cam", _flag("hooks_removed", "hooks_left_registered")),
    Check("grad_cam.model_unchanged", "test_grad_cam", 1,
          {"de": "Parameter und requires_grad-Flags des Modells bleiben unverändert",
           "en": "The model's parameters and requires_grad flags stay unchanged"},
          "probe_cam", _model_unchanged),
    Check("grad_cam.mode_restored", "test_grad_cam", 1,
          {"de": "train()/eval()-Modus des Modells wird wiederhergestellt",
           "en": "The model's train()/eval() mode is restored"},
          "probe_cam", _flag("mode_restored", "mode_not_restored")),
    Check("grad_cam.input_unchanged", "test_grad_cam", 1,
          {"de": "Der Eingabetensor des Aufrufers bleibt unverändert (Werte, requires_grad, .grad)",
           "en": "The caller's input tensor stays unchanged (values, requires_grad, .grad)"},
          "probe_cam", _flag("input_unchanged", "input_mutated")),
    Check("overlay.values", "test_overlay", 1,
          {"de": "Überlagerung: RGB uint8, (1 − alpha) · Bild + alpha · jet(Heatmap)",
           "en": "Overlay: RGB uint8, (1 − alpha) · image + alpha · jet(heatmap)"},
          "probe_overlay", _overlay),
    Check("saliency.values", "test_saliency", 1,
          {"de": "Saliency-Map: max. über Farbkanäle von |∂y^c/∂x|, auf [0, 1] normiert",
           "en": "Saliency map: max over colour channels of |∂y^c/∂x|, normalised to [0, 1]"},
          "probe_saliency", _saliency),
    Check("saliency.input_unchanged", "test_saliency", 1,
          {"de": "Saliency-Map verändert den Eingabetensor des Aufrufers nicht",
           "en": "The saliency map leaves the caller's input tensor unchanged"},
          "probe_saliency", _flag("input_unchanged", "saliency_mutates_input")),
]

MESSAGES = {
    "hooks_left_registered": {
        "de": "Nach dem Aufruf sind noch Hooks am Modell registriert ({case}). Entfernen Sie jeden Hook mit "
              "`handle.remove()` (am besten in einem `finally`-Block); sonst sammeln sie sich bei jedem Aufruf an.",
        "en": "Hooks are still registered on the model after the call ({case}). Remove every hook with "
              "`handle.remove()` (best in a `finally` block); otherwise they pile up with every call.",
    },
    "layer_not_used": {
        "de": "Die Heatmap gehört nicht zur Schicht `target_layer` ({case}) bzw. der Standard ist nicht layer4. "
              "Suchen Sie das Modul über `dict(model.named_modules())[target_layer]`.",
        "en": "The heatmap does not belong to the layer `target_layer` ({case}), or the default is not layer4. "
              "Look the module up with `dict(model.named_modules())[target_layer]`.",
    },
    "class_ignored": {
        "de": "Die Heatmaps zweier Klassen passen nicht zu ihren Klassen ({case}): `class_idx` wird ignoriert "
              "oder die Heatmap hängt nicht von der Klasse ab. Leiten Sie den Score genau dieser Klasse ab.",
        "en": "The heatmaps of two classes do not match their classes ({case}): `class_idx` is ignored or the "
              "heatmap does not depend on the class. Differentiate the score of exactly that class.",
    },
    "none_not_top_class": {
        "de": "Mit `class_idx=None` erklären Sie nicht die vorhergesagte Klasse ({case}). Nehmen Sie dann "
              "`logits[0].argmax()`.",
        "en": "With `class_idx=None` you do not explain the predicted class ({case}). Use `logits[0].argmax()` then.",
    },
    "heatmap_shape": {
        "de": "Die Heatmap hat die Form {got}, erwartet ist die Größe der Eingabe {expected} ({case}). "
              "Skalieren Sie auf (H, W) des Eingabetensors hoch.",
        "en": "The heatmap has shape {got}; expected is the input's size {expected} ({case}). "
              "Upsample to the input tensor's (H, W).",
    },
    "heatmap_range": {
        "de": "Die Werte liegen außerhalb von [0, 1] (min {min:.3g}, max {max:.3g}; {case}). Normieren Sie mit "
              "(L − min) / (max − min).",
        "en": "The values lie outside [0, 1] (min {min:.3g}, max {max:.3g}; {case}). Normalise with "
              "(L − min) / (max − min).",
    },
    "all_negative_nan": {
        "de": "Bei einer überall negativen CAM liefert Ihre Heatmap NaN ({case}): nach der ReLU ist alles null, "
              "und (L − min) / (max − min) teilt durch null. Geben Sie dann eine Heatmap aus Nullen zurück.",
        "en": "For a CAM that is negative everywhere your heatmap is NaN ({case}): after the ReLU everything is "
              "zero and (L − min) / (max − min) divides by zero. Return a heatmap of zeros then.",
    },
    "all_negative_not_zero": {
        "de": "Hier ist die CAM überall negativ – alle Kanäle sprechen gegen die Klasse –, Ihre Heatmap ist aber "
              "nicht null (Maximum {max:.3g}; {case}). Prüfen Sie die ReLU und ob α die gemittelten Gradienten *mit* "
              "Vorzeichen sind (keine Beträge, keine Aktivierungen).",
        "en": "Here the CAM is negative everywhere – every channel speaks against the class – but your heatmap is "
              "not zero (maximum {max:.3g}; {case}). Check the ReLU and that α are the averaged gradients *with* "
              "their sign (no absolute values, no activations).",
    },
    "parameters_changed": {
        "de": "Ihre Funktion verändert die Parameter des Modells ({case}). Grad-CAM liest nur Gradienten; "
              "kein Optimierer-Schritt, keine Änderung der Gewichte.",
        "en": "Your function changes the model's parameters ({case}). Grad-CAM only reads gradients; "
              "no optimiser step, no change of the weights.",
    },
    "requires_grad_changed": {
        "de": "Nach dem Aufruf sind die `requires_grad`-Flags der Parameter verändert ({case}). Ändern Sie sie nicht "
              "(oder stellen Sie sie wieder her); für die Gradienten reicht eine Eingabe-Kopie mit `requires_grad_()`.",
        "en": "After the call the parameters' `requires_grad` flags are changed ({case}). Do not change them "
              "(or restore them); for the gradients a copy of the input with `requires_grad_()` is enough.",
    },
    "mode_not_restored": {
        "de": "Der train()/eval()-Modus des Modells ist nach dem Aufruf anders als vorher ({case}). Merken Sie sich "
              "`model.training` und stellen Sie den Modus am Ende wieder her.",
        "en": "The model's train()/eval() mode differs after the call ({case}). Remember `model.training` and "
              "restore the mode at the end.",
    },
    "input_mutated": {
        "de": "Ihre Funktion verändert den übergebenen Eingabetensor ({case}) – seine Werte, `requires_grad` "
              "oder `.grad`. Arbeiten Sie auf `input_tensor.detach().clone()`.",
        "en": "Your function changes the input tensor passed in ({case}) – its values, `requires_grad` or "
              "`.grad`. Work on `input_tensor.detach().clone()`.",
    },
    "overlay_not_uint8": {
        "de": "Die Überlagerung hat den Typ {got}, erwartet ist uint8 mit Werten 0…255 ({case}).",
        "en": "The overlay has type {got}; expected is uint8 with values 0…255 ({case}).",
    },
    "overlay_shape": {
        "de": "Die Überlagerung hat die Form {got}, erwartet {expected} (H, W, 3) ({case}).",
        "en": "The overlay has shape {got}, expected {expected} (H, W, 3) ({case}).",
    },
    "image_mutated": {
        "de": "overlay_heatmap verändert das übergebene Bild ({case}). Arbeiten Sie auf einer Kopie.",
        "en": "overlay_heatmap changes the image passed in ({case}). Work on a copy.",
    },
    "saliency_mutates_input": {
        "de": "saliency_map verändert den übergebenen Eingabetensor ({case}), z. B. mit "
              "`input_tensor.requires_grad_()`. Arbeiten Sie auf `input_tensor.detach().clone().requires_grad_(True)`.",
        "en": "saliency_map changes the input tensor passed in ({case}), e.g. with `input_tensor.requires_grad_()`. "
              "Work on `input_tensor.detach().clone().requires_grad_(True)`.",
    },
}
