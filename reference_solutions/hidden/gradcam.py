"""Hidden cases of the Grad-CAM exercise, one builder per probe.

Scenes the notebook never shows (other seeds, non-square sizes 64x80, 48x72, 72x56, 56x88),
non-top classes, other layers of the MiniResNet (layer2, layer3, layer3.0.conv1), and small random
CNNs (``RandomCNN``) with other channel counts, kernel sizes, depths and non-square inputs. One CNN
has only non-negative activations and negative class weights: its CAM is negative everywhere, so
the heatmap must be all zeros (ReLU), not NaN.
"""

from __future__ import annotations

import numpy as np
import torch

from xaikit.selfcheck.core import Case
from xaikit.selfcheck.exercises.gradcam import (all_negative_case, classes_case, embedded_label, hygiene_case,
                                                overlay_case, random_cam_case, random_cnn, random_saliency_case,
                                                random_weights_case, ranked_classes, scene_tensor)

EMBEDDED = {"kind": "embedded"}
SIZES = [(64, 80), (48, 72), (72, 56), (56, 88)]


def build_hidden_cases(seed: int) -> list[Case]:
    """One generator, drawn from by the probes' builders in a fixed order (the order fixes the cases)."""
    rng = np.random.default_rng(seed)
    scenes = [int(s) for s in rng.integers(10_000, 2**31, size=8)]
    return [*weights_cases(rng, scenes), *cam_cases(rng, scenes), *classes_cases(rng), *layer_cases(rng, scenes),
            *overlay_cases(rng, scenes), *saliency_cases(rng, scenes)]


def weights_cases(rng, scenes) -> list[Case]:
    """probe_weights: alpha on the embedded model at four layers, and on four random CNNs."""
    cases = []
    for index, layer in enumerate(["layer4", "layer3", "layer2", "layer3.0.conv1"]):
        height, width = SIZES[index % len(SIZES)]
        x, _ = scene_tensor(scenes[index], height, width)
        class_idx = None if index == 0 else ranked_classes(EMBEDDED, x)[1 + index % 3]
        cases.append(Case(f"weights_embedded_{index}", "probe_weights",
                          {"model": EMBEDDED, "x": x, "layer": layer, "class_idx": class_idx},
                          f"MiniResNet, Szene {height}×{width}, {embedded_label(class_idx)}, Schicht {layer}",
                          frozenset({"embedded"})))
    return cases + [random_weights_case(rng, index) for index in range(4)]


def cam_cases(rng, scenes) -> list[Case]:
    """probe_cam: the default layer on scenes and random CNNs, a CAM negative everywhere, side effects."""
    cases = []
    for index in range(3):
        height, width = SIZES[(index + 1) % len(SIZES)]
        x, _ = scene_tensor(scenes[4 + index], height, width)
        class_idx = None if index == 0 else ranked_classes(EMBEDDED, x)[index]
        cases.append(Case(f"cam_embedded_{index}", "probe_cam",
                          {"model": EMBEDDED, "x": x, "layer": None, "class_idx": class_idx},
                          f"MiniResNet, Szene {height}×{width}, {embedded_label(class_idx)}, Schicht layer4 (Standard)",
                          frozenset({"values"})))
    cases += [random_cam_case(rng, index) for index in range(2)]
    return cases + [all_negative_case(rng, 40), hygiene_case(scenes[7], 56, 72)]


def classes_cases(rng) -> list[Case]:
    """probe_classes: two square inputs of other sizes."""
    cases = []
    for index in range(2):
        side = 40 + 4 * index
        x = torch.tensor(rng.normal(size=(1, 3, side, side)), dtype=torch.float32)
        cases.append(classes_case(rng, index, x, side))
    return cases


def layer_cases(rng, scenes) -> list[Case]:
    """probe_layer: other layers of the MiniResNet (explicit classes), and layer2 of a random CNN."""
    cases = []
    for index, (layer, rank) in enumerate([("layer2", 0), ("layer3.0.conv1", 1)]):
        x, _ = scene_tensor(scenes[5 - index], 56, 56)
        class_idx = ranked_classes(EMBEDDED, x)[rank]
        cases.append(Case(f"layer_embedded_{index}", "probe_layer",
                          {"model": EMBEDDED, "x": x, "layer": layer, "class_idx": class_idx},
                          f"MiniResNet, Szene 56×56, Klasse {class_idx}, Schicht {layer}"))
    model, description, depth = random_cnn(rng)
    x = torch.tensor(rng.normal(size=(1, 3, 36, 36)), dtype=torch.float32)
    return cases + [Case("layer_random", "probe_layer", {"model": model, "x": x, "layer": "layer2", "class_idx": 0},
                         f"{description}, Eingabe 36×36, Klasse 0, Schicht layer2")]


def overlay_cases(rng, scenes) -> list[Case]:
    """probe_overlay: smooth heatmaps with the default and another alpha, a random heatmap."""
    return [overlay_case(rng, index, scenes[index + 2], *SIZES[index % len(SIZES)], alpha, noise=index == 2)
            for index, alpha in enumerate([None, 0.6, 0.3])]


def saliency_cases(rng, scenes) -> list[Case]:
    """probe_saliency: a non-square scene on the embedded model, a random CNN."""
    x, _ = scene_tensor(scenes[3], 64, 80)
    return [Case("saliency_embedded", "probe_saliency", {"model": EMBEDDED, "x": x, "class_idx": None},
                 "MiniResNet, Szene 64×80, vorhergesagte Klasse"),
            random_saliency_case(rng)]
