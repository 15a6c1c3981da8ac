"""Task 4 of the Grad-CAM exercise: the sanity check by cascading model randomisation (Adebayo et al. 2018), as
``randomisation_check(model, input_tensor, layers, explain, seed=0)``: its probe, case builders, checks and the
checks' own messages. Imported by ``gradcam.py`` (student side) and shared with the grader's hidden cases.

The probe passes its own ``explain``: the raw input-gradient map (max over the colour channels of |d logit_c / d x|
for a fixed class, not normalised), so the check judges the randomisation and the correlations, not the student's
Grad-CAM. Tolerances: the maps are the probe's explanation of the student's re-initialised copy, so a correct copy
gives them exactly (float32 vs float64 conversion: 1e-7 of the scale); allowed 1e-5 of the largest value (the
known mistakes differ by 10 % to several times the scale). Correlations ``atol=1e-4`` (float32 ranks, scipy vs.
pandas vs. ranks by hand: below 1e-6; Pearson instead of Spearman: 0.02 or more on every set)."""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from ..compare import Failure, Tolerance, array_close, shaped_array
from ..core import Case, Check
from ..probe import require
from ._gradcam_models import EMBEDDED, _model, random_cnn, ranked_classes, scene_tensor

MAPS_RTOL = 1e-5
CORRELATION_TOL = Tolerance(rtol=0.0, atol=1e-4)


def gradient_map(class_idx: int):
    """The probe's explanation: max over colour channels of |d logit_c / d x| (raw), float64 (H, W)."""
    def explain(model, input_tensor):
        x = torch.as_tensor(input_tensor).detach().clone().requires_grad_(True)
        with torch.enable_grad():
            logits = model(x)
        (gradient,) = torch.autograd.grad(logits[0, int(class_idx)], x)
        return gradient[0].abs().amax(dim=0).double().numpy()
    return explain


def state_fingerprint(model) -> str:
    """A digest of every parameter and buffer of the model (names, dtypes, shapes, values)."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{name}{tensor.dtype}{tuple(tensor.shape)}".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def probe_randomisation(namespace, inputs):
    function = require(namespace, "randomisation_check")
    model = _model(inputs["model"]).eval()
    result = function(model, inputs["x"], list(inputs["layers"]), gradient_map(inputs["class_idx"]),
                      inputs["seed"])
    maps = result.get("maps") if isinstance(result, dict) else None
    correlations = result.get("correlations") if isinstance(result, dict) else None
    return {"maps": np.asarray([np.asarray(m, dtype=np.float64) for m in maps]) if maps is not None else None,
            "correlations": np.asarray(correlations, dtype=np.float64) if correlations is not None else None,
            "model_after": state_fingerprint(model)}


def randomisation_case(rng, case_id: str, model_spec, x, layers: list[str], label: str) -> Case:
    """One case: the model's top class for ``x`` explained, ``layers`` from the top, a drawn seed."""
    class_idx = int(ranked_classes(model_spec, x)[0])
    seed = int(rng.integers(0, 10_000))
    return Case(case_id, "probe_randomisation",
                {"model": model_spec, "x": x, "layers": list(layers), "class_idx": class_idx, "seed": seed},
                f"{label}, Klasse {class_idx}, Schichten {', '.join(layers)}, seed={seed}")


def randomisation_cases(rng, scenes, sizes, embedded_layers: list[list[str]], random_count: int) -> list[Case]:
    cases = []
    for index, layers in enumerate(embedded_layers):
        height, width = sizes[index % len(sizes)]
        x, _ = scene_tensor(scenes[(index + 3) % len(scenes)], height, width)
        cases.append(randomisation_case(rng, f"randomisation_embedded_{index}", EMBEDDED, x, layers,
                                        f"MiniResNet, Szene {height}×{width}"))
    for index in range(random_count):
        model, description, depth = random_cnn(rng)
        height, width = sizes[(index + 1) % len(sizes)]
        x = torch.tensor(rng.normal(size=(1, 3, height // 2, width // 2)), dtype=torch.float32)
        top = int(rng.integers(2, depth + 1))
        layers = ["fc"] + [f"layer{k}" for k in range(depth, depth - top, -1)]
        cases.append(randomisation_case(rng, f"randomisation_random_{index}", model, x, layers,
                                        f"{description}, Eingabe {height // 2}×{width // 2}"))
    return cases


def _maps(student, expected, case):
    got, failure = shaped_array(student, expected, "maps", "randomisation_shape")
    if failure:
        return failure
    want = np.asarray(expected["maps"], dtype=np.float64)
    scale = float(np.max(np.abs(want))) if want.size else 1.0
    return array_close(student, expected, "maps", Tolerance(rtol=0.0, atol=MAPS_RTOL * scale))


def _correlations(student, expected, case):
    _, failure = shaped_array(student, expected, "correlations", "randomisation_shape")
    if failure:
        return failure
    return array_close(student, expected, "correlations", CORRELATION_TOL)


def _model_unchanged(student, expected, case):
    """The model as the probe handed it back after the call (its digest) is the reference's, i.e. untouched."""
    return None if student.get("model_after") == expected["model_after"] else Failure("randomisation_model_changed")


RANDOMISATION_CHECKS = [
    Check("randomisation.maps", "test_randomisation", 1,
          {"de": "Karten nach kumulativer Neuinitialisierung von oben (Kopie, seed, Reihenfolge)",
           "en": "Maps after cumulative re-initialisation from the top (copy, seed, order)"},
          "probe_randomisation", _maps),
    Check("randomisation.correlations", "test_randomisation", 1,
          {"de": "Spearman-Rangkorrelationen jeder Karte mit der Originalkarte",
           "en": "Spearman rank correlations of each map with the original map"},
          "probe_randomisation", _correlations),
    Check("randomisation.model_unchanged", "test_randomisation", 1,
          {"de": "Das Modell des Aufrufers bleibt unverändert", "en": "The caller's model stays unchanged"},
          "probe_randomisation", _model_unchanged),
]

RANDOMISATION_MESSAGES = {
    "randomisation_shape": {
        "de": "Ihr Ergebnis hat die Form {got}, erwartet ist {expected} ({case}): `maps` mit einer Karte (H, W) je "
              "Eintrag von `layers`, `correlations` mit einer Zahl je Karte.",
        "en": "Your result has the shape {got}, expected is {expected} ({case}): `maps` with one map (H, W) per "
              "entry of `layers`, `correlations` with one number per map.",
    },
    "randomisation_model_changed": {
        "de": "Das Modell des Aufrufers ist nach dem Aufruf verändert ({case}). Initialisieren Sie eine Kopie "
              "(`copy.deepcopy(model)`) neu, nicht das übergebene Modell.",
        "en": "The caller's model is changed after the call ({case}). Re-initialise a copy "
              "(`copy.deepcopy(model)`), not the model passed in.",
    },
}
