"""Case builders of the Grad-CAM checks (student side, beside ``gradcam.py``), one per probe, shared by the
public cases (``gradcam.build_public_cases``) and the grader's hidden ones (other sizes, layers, counts).
Each draws from the generator it is given, in a fixed order: the order of the calls fixes the cases."""

from __future__ import annotations

import numpy as np
import torch

from ..core import Case
from ._gradcam_models import (EMBEDDED, embedded_label, random_cnn, random_cnn_not_top_zero, ranked_classes,
                              scene_tensor)


def weights_cases(rng, scenes, layers, sizes, random_count) -> list[Case]:
    """probe_weights: alpha on the embedded model at ``layers`` (scene i at ``sizes[i % len(sizes)]``; the
    predicted class first, then others), then on ``random_count`` small random CNNs of other shapes."""
    cases = []
    for index, layer in enumerate(layers):
        height, width = sizes[index % len(sizes)]
        x, _ = scene_tensor(scenes[index], height, width)
        class_idx = None if index == 0 else ranked_classes(EMBEDDED, x)[1 + index % 3]
        cases.append(Case(f"weights_embedded_{index}", "probe_weights",
                          {"model": EMBEDDED, "x": x, "layer": layer, "class_idx": class_idx},
                          f"MiniResNet, Szene {height}×{width}, {embedded_label(class_idx)}, Schicht {layer}",
                          frozenset({"embedded"})))
    return cases + [random_weights_case(rng, index) for index in range(random_count)]


def cam_cases(rng, scenes, sizes, embedded_count, random_count, negative_side, hygiene_size) -> list[Case]:
    """probe_cam: the default layer on ``embedded_count`` scenes and ``random_count`` random CNNs, a CAM negative
    everywhere (``negative_side``² input), side effects (the model in train mode, ``hygiene_size``)."""
    cases = []
    for index in range(embedded_count):
        height, width = sizes[(index + 1) % len(sizes)]
        x, _ = scene_tensor(scenes[4 + index], height, width)
        class_idx = None if index == 0 else ranked_classes(EMBEDDED, x)[index]
        cases.append(Case(f"cam_embedded_{index}", "probe_cam",
                          {"model": EMBEDDED, "x": x, "layer": None, "class_idx": class_idx},
                          f"MiniResNet, Szene {height}×{width}, {embedded_label(class_idx)}, Schicht layer4 (Standard)",
                          frozenset({"values"})))
    cases += [random_cam_case(rng, index) for index in range(random_count)]
    return cases + [all_negative_case(rng, negative_side), hygiene_case(scenes[7], *hygiene_size)]


def overlay_cases(rng, scenes, sizes, alphas) -> list[Case]:
    """probe_overlay: smooth heatmaps for each alpha (None: the default); a third one is random noise."""
    return [overlay_case(rng, index, scenes[index + 2], *sizes[index % len(sizes)], alpha, noise=index == 2)
            for index, alpha in enumerate(alphas)]


def saliency_cases(rng, scenes, height, width) -> list[Case]:
    """probe_saliency: a scene on the embedded model (predicted class), a random CNN."""
    x, _ = scene_tensor(scenes[3], height, width)
    return [Case("saliency_embedded", "probe_saliency", {"model": EMBEDDED, "x": x, "class_idx": None},
                 f"MiniResNet, Szene {height}×{width}, vorhergesagte Klasse"),
            random_saliency_case(rng)]


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
