"""Tasks 5 and 6 of the counterfactual exercise: the desiderata measured, ``counterfactual_metrics(model, original,
counterfactual, target)``, and the proximal step of an L1 counterfactual, ``soft_threshold(delta, threshold)``:
probes, case builders, checks and the checks' own messages. Imported by ``counterfactual.py`` (student side) and
shared with the grader's hidden cases. No case runs an optimisation: the triples are built directly.

Definitions graded (as stated in the notebook), for arrays (1, H, W, C) and Δ = counterfactual - original:
    valid     = argmax_k model(counterfactual)[0, k] == target        (the target reached, not merely another class)
    l1        = Σ |Δ| over all H·W·C values,  l2 = sqrt(Σ Δ²)           (one number per image, not per channel)
    sparsity  = share of the H·W pixels whose mean |Δ| over the channels (the difference map) exceeds 1/255
    soft_threshold(δ, τ) = sign(δ) · max(|δ| - τ, 0), elementwise, the input left as it is.

Tolerances: l1, l2 ``rtol=1e-4`` (a float32 sum over 12,288 values in TensorFlow deviates by < 1e-6 relatively; the
known mistakes differ by a factor of 3 or more, l2 squared by |l2 - 1| ≥ 5 %, which the builder keeps); sparsity
``atol=1e-6`` (one pixel of 64×64 is 2.4e-4; the builder keeps every pixel's mean |Δ| at least 1e-4 away from 1/255,
so float32 and float64 count the same pixels); soft thresholding ``atol=1e-6`` (float32 rounding ≤ 1e-7; the mistakes
differ by the threshold, 0.01 or more)."""

from __future__ import annotations

import numpy as np

from ..compare import Failure, Tolerance, array_close, first_failure, numeric_array
from ..core import Case, Check
from ..probe import Snapshot, as_numpy, require, unchanged_input

METRIC_KEYS = ("valid", "l1", "l2", "sparsity")
CHANGE_THRESHOLD = 1 / 255  # a pixel counts as changed when its mean |Δ| over the channels exceeds one grey level
DISTANCE_TOL = Tolerance(rtol=1e-4, atol=1e-6)
SPARSITY_TOL = Tolerance(rtol=0.0, atol=1e-6)
SOFT_TOL = Tolerance(rtol=1e-6, atol=1e-6)
THRESHOLD_MARGIN = 1e-4  # no pixel's mean |Δ| closer than this to 1/255 (float32 vs float64 count the same pixels)
CLASS_MARGIN = 0.02  # the top class leads the runner-up by at least this probability (float32 vs float64 agree)
METRICS_PUBLIC_SMALL = "small_cnn:5:32:4"


# --- probes: run in the student's kernel (and in the grader on the reference and variants) ---------

def probe_metrics(namespace, inputs):
    from xaikit.keras_models import load_model

    function = require(namespace, "counterfactual_metrics")
    model, _ = load_model(inputs["model"])
    result = function(model, np.array(inputs["original"]), np.array(inputs["counterfactual"]), inputs["target"])
    if not isinstance(result, dict):
        return {"is_dict": False, "type": type(result).__name__}
    out = {"is_dict": True, "missing": ", ".join(key for key in METRIC_KEYS if key not in result)}
    if "valid" in result:
        valid = as_numpy(result["valid"])
        out["valid_is_bool"] = bool(valid.dtype == np.bool_ and valid.size == 1)
        out["valid"] = bool(valid.ravel()[0]) if out["valid_is_bool"] else False
    for key in ("l1", "l2", "sparsity"):
        if key in result:
            out[key] = as_numpy(result[key], np.float64)
    return out


def probe_soft_threshold(namespace, inputs):
    function = require(namespace, "soft_threshold")
    delta = Snapshot(np.array(inputs["delta"]))
    result = function(delta.value, inputs["threshold"])
    return {"value": as_numpy(result, np.float64), "input_after": delta.after()}


# --- cases (public here; the grader's hidden ones use the same builders with other generators) ----------

def _scene(seed: int, size: int):
    from xaikit.scenes import make_scene

    scene = make_scene(seed, size=size)
    return scene.image.astype(np.float64) / 255.0, np.asarray(scene.mask, dtype=bool)


def _probabilities(model_spec: str, image: np.ndarray) -> np.ndarray:
    from xaikit.keras_models import load_model

    model, _ = load_model(model_spec)
    return np.asarray(model(np.asarray(image[None], np.float32), training=False))[0].astype(np.float64)


def _clear_class(probs: np.ndarray) -> int | None:
    """The predicted class where it leads the runner-up by CLASS_MARGIN (else None: float rounding might tip it)."""
    top, second = np.sort(probs)[::-1][:2]
    return int(np.argmax(probs)) if top - second >= CLASS_MARGIN else None


def _small_changes(rng, original: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Changes below and around the threshold on ``free`` pixels: faint ones on all channels (0 < mean |Δ| < 0.4/255)
    on about a quarter, and one channel by 1.6/255 to 2.6/255 (mean |Δ| below 1/255, the channel above it) on about a
    tenth; each moves towards the middle of [0, 1], so clipping never takes it back."""
    height, width, channels = original.shape
    change = np.zeros_like(original)
    towards_middle = np.where(original > 0.5, -1.0, 1.0)
    draw = rng.uniform(size=(height, width))
    faint = free & (draw < 0.25)
    change[faint] = rng.uniform(0.05 / 255, 0.4 / 255, (int(faint.sum()), channels)) * towards_middle[faint]
    single = free & (draw >= 0.25) & (draw < 0.35)
    rows, cols = np.nonzero(single)
    chosen = rng.integers(0, channels, rows.size)
    change[rows, cols, chosen] = rng.uniform(1.6 / 255, 2.6 / 255, rows.size) * towards_middle[rows, cols, chosen]
    return change


def _finish(original: np.ndarray, counterfactual: np.ndarray, dtype) -> np.ndarray:
    """Clipped to [0, 1], in ``dtype``, with every pixel's mean |Δ| at least THRESHOLD_MARGIN away from 1/255."""
    counterfactual = np.clip(counterfactual, 0.0, 1.0).astype(dtype).astype(np.float64)
    mean_change = np.abs(counterfactual - original.astype(dtype).astype(np.float64)).mean(axis=-1)
    near = np.abs(mean_change - CHANGE_THRESHOLD) < THRESHOLD_MARGIN
    counterfactual[near] = original.astype(dtype).astype(np.float64)[near]
    return counterfactual.astype(dtype)


def _distances_apart(original, counterfactual) -> bool:
    """l2 not within 5 % of 1 (where l2 squared would look right) and the change not empty."""
    l2 = float(np.sqrt(((counterfactual.astype(np.float64) - original.astype(np.float64)) ** 2).sum()))
    return l2 > 0 and abs(l2 - 1.0) >= 0.05


def metrics_cases(rng, model_spec: str, size: int, n_classes: int, dtype=np.float32,
                  prefix: str = "metrics", tries: int = 60) -> list[Case]:
    """Up to three triples (original, counterfactual, target) on ``model_spec``: a counterfactual that reaches its
    target (an object pasted from another scene, the target its predicted class), the same kind flipped to a class
    that is not the target (another class than the original's, so only a flip), and one with small changes only
    whose class stays the original's. Every image also gets the faint and single-channel changes that tell the
    sparsity mistakes apart. Candidates whose classes are not clear (CLASS_MARGIN) are skipped."""
    from xaikit.scenes import SHAPE_CLASSES

    names = SHAPE_CLASSES if model_spec == "embedded" else [f"Klasse {i}" for i in range(n_classes)]
    model_name = "Mini-VGG" if model_spec == "embedded" else f"kleines CNN {size}×{size}"
    kinds: dict = {}
    for _ in range(tries):
        if len(kinds) == 3:
            break
        scene = int(rng.integers(100, 1_000_000))
        original, _ = _scene(scene, size)
        original = original.astype(dtype)
        before = _clear_class(_probabilities(model_spec, original))
        if before is None:
            continue
        if "unchanged" not in kinds:
            counterfactual = _finish(original, original + _small_changes(rng, original, np.ones((size, size), bool)),
                                     dtype)
            if _clear_class(_probabilities(model_spec, counterfactual)) == before and \
                    _distances_apart(original, counterfactual):
                target = int(rng.choice([c for c in range(n_classes) if c != before]))
                kinds["unchanged"] = (scene, None, original, counterfactual, target, before)
                continue
        donor = int(rng.integers(100, 1_000_000))
        donor_image, donor_mask = _scene(donor, size)
        pasted = np.where(donor_mask[..., None], donor_image, original.astype(np.float64))
        counterfactual = _finish(original, pasted + _small_changes(rng, original, ~donor_mask), dtype)
        after = _clear_class(_probabilities(model_spec, counterfactual))
        if after is None or after == before or not _distances_apart(original, counterfactual):
            continue
        if "reached" not in kinds:
            kinds["reached"] = (scene, donor, original, counterfactual, after, before)
        elif "flipped" not in kinds:
            target = int(rng.choice([c for c in range(n_classes) if c not in (before, after)]))
            kinds["flipped"] = (scene, donor, original, counterfactual, target, before)
    cases = []
    for kind in ("reached", "flipped", "unchanged"):
        if kind not in kinds:
            continue
        scene, donor, original, counterfactual, target, before = kinds[kind]
        change = f"Form aus Szene {donor} eingefügt" if donor is not None else "nur kleine Änderungen"
        dtype_label = " (float64)" if np.dtype(dtype) == np.float64 else ""
        cases.append(Case(f"{prefix}_{kind}", "probe_metrics",
                          {"model": model_spec, "original": original[None], "counterfactual": counterfactual[None],
                           "target": target},
                          f"{model_name}, Szene {scene}{dtype_label}, {change}, Ziel '{names[target]}' "
                          f"(Original: '{names[before]}')"))
    return cases


def soft_threshold_cases(rng, shapes, prefix: str = "soft") -> list[Case]:
    """Random differences (normal, some exact zeros) with a threshold between 0.01 and 0.05: about half the
    values lie inside [-threshold, threshold], the others on both sides outside."""
    cases = []
    for index, (shape, dtype) in enumerate(shapes):
        threshold = float(np.round(rng.uniform(0.01, 0.05), 4))
        delta = rng.normal(0.0, 2.5 * threshold, shape)
        delta[rng.uniform(size=shape) < 0.05] = 0.0
        too_close = np.abs(np.abs(delta) - threshold) < 1e-4  # (no value on the kink: the mistakes differ there)
        delta[too_close] = 0.0
        cases.append(Case(f"{prefix}_{index}", "probe_soft_threshold", {"delta": delta.astype(dtype),
                                                                        "threshold": threshold},
                          f"Differenz der Form {shape} ({np.dtype(dtype).name}), Schwelle {threshold:g}"))
    return cases


def build_metrics_public_cases(seed: int) -> list[Case]:
    rng = np.random.default_rng([int(seed), 26, 3])
    return [*metrics_cases(rng, "embedded", 64, 6, prefix="metrics"),
            *metrics_cases(rng, METRICS_PUBLIC_SMALL, 32, 4, dtype=np.float64, prefix="metrics_small"),
            *soft_threshold_cases(rng, [((1, 64, 64, 3), np.float32)])]


# --- checks ----------------------------------------------------------------------------------------

def _metrics_usable(student, keys=METRIC_KEYS) -> Failure | None:
    if not bool(student.get("is_dict", False)):
        return Failure("metrics_not_dict", {"got": str(student.get("type", "?"))})
    missing = [key for key in keys if key in str(student.get("missing", "")).split(", ")]
    if missing:
        return Failure("metrics_missing", {"missing": ", ".join(missing)})
    return None


def _validity(student, expected, case):
    failure = _metrics_usable(student, ("valid",))
    if failure:
        return failure
    if not bool(student["valid_is_bool"]):
        return Failure("metrics_valid_not_bool")
    if bool(student["valid"]) != bool(expected["valid"]):
        return Failure("metrics_valid_wrong", {"got": bool(student["valid"]), "expected": bool(expected["valid"])})
    return None


def _scalar(student, key) -> Failure | None:
    value, failure = numeric_array(student, key)
    if failure:
        return failure
    if value.size != 1:
        return Failure("metrics_not_scalar", {"key": key, "shape": tuple(value.shape)})
    return None


def _proximity(student, expected, case):
    failure = _metrics_usable(student, ("l1", "l2"))
    if failure:
        return failure
    failure = first_failure(_scalar(student, "l1"), _scalar(student, "l2"))
    if failure:
        return failure
    flat = {key: np.ravel(student[key]) for key in ("l1", "l2")}
    want = {key: np.ravel(expected[key]) for key in ("l1", "l2")}
    return first_failure(*(array_close(flat, want, key, DISTANCE_TOL) for key in ("l1", "l2")))


def _sparsity(student, expected, case):
    failure = _metrics_usable(student, ("sparsity",))
    if failure:
        return failure
    failure = _scalar(student, "sparsity")
    if failure:
        return failure
    return array_close({"sparsity": np.ravel(student["sparsity"])}, {"sparsity": np.ravel(expected["sparsity"])},
                       "sparsity", SPARSITY_TOL)


def _soft_values(student, expected, case):
    got, want = np.shape(student.get("value")), np.shape(expected["value"])
    if got != want:
        return Failure("soft_shape", {"expected": want, "got": got})
    return array_close(student, expected, "value", SOFT_TOL)


_SOFT_UNCHANGED = unchanged_input("input_after", "delta", "soft_input_modified")


def _both_modify_delta(student, variant, case=None) -> bool:
    return _SOFT_UNCHANGED(student, {}, case) is not None and _SOFT_UNCHANGED(variant, {}, case) is not None


METRICS_CHECKS = [
    Check("metrics.validity", "test_counterfactual_metrics", 1,
          {"de": "Gültigkeit: `valid` ist True genau dann, wenn das Modell die Zielklasse vorhersagt",
           "en": "Validity: `valid` is True exactly when the model predicts the target class"},
          "probe_metrics", _validity),
    Check("metrics.proximity", "test_counterfactual_metrics", 2,
          {"de": "Nähe: L1 = Σ|Δ| und L2 = √(ΣΔ²) über alle Pixel und Kanäle",
           "en": "Proximity: L1 = Σ|Δ| and L2 = √(ΣΔ²) over all pixels and channels"},
          "probe_metrics", _proximity),
    Check("metrics.sparsity", "test_counterfactual_metrics", 1,
          {"de": "Sparsamkeit: Anteil der Pixel, deren mittlere |Δ| über die Kanäle 1/255 übersteigt",
           "en": "Sparsity: share of the pixels whose mean |Δ| over the channels exceeds 1/255"},
          "probe_metrics", _sparsity),
    Check("soft_threshold.values", "test_soft_threshold", 2,
          {"de": "Soft-Thresholding: sign(δ) · max(|δ| − τ, 0) elementweise",
           "en": "Soft thresholding: sign(δ) · max(|δ| − τ, 0) elementwise"},
          "probe_soft_threshold", _soft_values),
    Check("soft_threshold.input_unchanged", "test_soft_threshold", 1,
          {"de": "Das übergebene Array bleibt unverändert", "en": "The array passed in stays unchanged"},
          "probe_soft_threshold", _SOFT_UNCHANGED, matches=_both_modify_delta),
]

METRICS_MESSAGES = {
    "metrics_not_dict": {
        "de": "`counterfactual_metrics` muss ein dict zurückgeben ({case}), erhalten: {got}. Schlüssel: `valid`, "
              "`l1`, `l2`, `sparsity`.",
        "en": "`counterfactual_metrics` must return a dict ({case}), got: {got}. Keys: `valid`, `l1`, `l2`, "
              "`sparsity`.",
    },
    "metrics_missing": {
        "de": "Im Ergebnis fehlen die Schlüssel {missing} ({case}).",
        "en": "The result lacks the keys {missing} ({case}).",
    },
    "metrics_valid_not_bool": {
        "de": "`valid` muss `True` oder `False` sein ({case}), etwa `bool(predicted == target)`.",
        "en": "`valid` must be `True` or `False` ({case}), e.g. `bool(predicted == target)`.",
    },
    "metrics_valid_wrong": {
        "de": "`valid` ist {got}, richtig ist {expected} ({case}). Gültig heißt: Das Modell sagt für das "
              "Counterfactual die Zielklasse `target` vorher (argmax der Modellausgabe).",
        "en": "`valid` is {got}, correct is {expected} ({case}). Valid means: the model predicts the target class "
              "`target` for the counterfactual (argmax of the model output).",
    },
    "metrics_not_scalar": {
        "de": "`{key}` muss eine Zahl pro Bild sein, nicht ein Array der Form {shape} ({case}): summieren Sie über "
              "alle Pixel und Kanäle (und die Stapelachse der Länge 1).",
        "en": "`{key}` must be one number per image, not an array of shape {shape} ({case}): sum over all pixels "
              "and channels (and the batch axis of length 1).",
    },
    "soft_shape": {
        "de": "Das Ergebnis hat die Form {got}, erwartet {expected} ({case}): Soft-Thresholding wirkt elementweise "
              "und behält die Form von `delta`.",
        "en": "The result has shape {got}, expected {expected} ({case}): soft thresholding acts elementwise and "
              "keeps the shape of `delta`.",
    },
    "soft_input_modified": {
        "de": "Ihre Funktion verändert das übergebene Array `delta` ({case}). Geben Sie ein neues Array zurück "
              "(`np.sign(delta) * np.maximum(np.abs(delta) - threshold, 0)`), statt `delta` zu überschreiben.",
        "en": "Your function modifies the array `delta` passed in ({case}). Return a new array "
              "(`np.sign(delta) * np.maximum(np.abs(delta) - threshold, 0)`) instead of overwriting `delta`.",
    },
}
