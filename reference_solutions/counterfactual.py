"""Reference counterfactual explanation (Wachter et al. style, plain gradient descent on the pixels),
and the known-wrong variants.

Definition graded (as stated in the notebook):
    loss(x') = -log p_target(x') + distance_weight * sum((x' - x)**2)
    x' <- clip(x' - lr * grad loss(x'), 0, 1), for exactly ``steps`` steps (no early stop);
    history entry i = loss, target probability and distance of the image *before* update i.
"""

from __future__ import annotations

import xaikit  # noqa: F401  (torch/triton before TensorFlow, see PLATFORM-NOTES)

import collections
import functools

import numpy as np

from xaikit.selfcheck.exercises.counterfactual import NOTEBOOK_SCENE

HISTORY_KEYS = ("loss", "target_prob", "distance")


_STEPS: dict = {}


def _step_function(model, mean_distance=False, softmax_again=False, log_epsilon=0.0):
    """One compiled forward/backward pass per model (3x faster than eager on the Mini-VGG).

    Returns (loss, probabilities, distance, gradient) for the image ``x``. ``softmax_again``: the
    cross-entropy treats the model's probabilities as logits (softmax applied a second time);
    ``log_epsilon``: the cross-entropy is ``-log(p_t + log_epsilon)`` of the model's probability."""
    import keras
    import tensorflow as tf

    key = (id(model), mean_distance, softmax_again, float(log_epsilon))
    if key not in _STEPS:
        @tf.function(reduce_retracing=True)
        def step(x, original, label, weight):
            with tf.GradientTape() as tape:
                tape.watch(x)
                probs = model(x, training=False)
                if softmax_again:  # (keras' from_logits=True would quietly use the model's logits instead)
                    cross_entropy = tf.nn.sparse_softmax_cross_entropy_with_logits(label, probs)[0]
                elif log_epsilon:
                    cross_entropy = -tf.math.log(tf.gather(probs[0], label[0]) + log_epsilon)
                else:
                    cross_entropy = keras.losses.sparse_categorical_crossentropy(label, probs)[0]
                squared = tf.square(x - original)
                distance = tf.reduce_mean(squared) if mean_distance else tf.reduce_sum(squared)
                loss = cross_entropy + weight * distance
            return loss, probs, distance, tape.gradient(loss, x)

        _STEPS[key] = (model, step)  # keeps the model alive, so its id is not reused
    return _STEPS[key][1]


_RUNS: collections.OrderedDict = collections.OrderedDict()
_RUNS_KEPT = 256


def _descent(model, image, target_class, steps, lr, distance_weight, *, in_place=False, start_noise=0.0, **switches):
    """The reference loop; the keyword switches reproduce the known mistakes (variants below).

    Deterministic runs are remembered per (model, image, arguments, switches): the hidden case builder
    runs the reference and the variants to choose its cases, and the reference computation then reuses
    those runs instead of repeating them."""
    image_array = np.asarray(image)
    if start_noise:
        result, history = _run(model, image_array, target_class, steps, lr, distance_weight, start_noise=start_noise,
                               **switches)
    else:
        key = (id(model), image_array.shape, str(image_array.dtype), image_array.tobytes(), int(target_class),
               int(steps), float(lr), float(distance_weight), tuple(sorted(switches.items())))
        if key not in _RUNS:
            _RUNS[key] = (model, _run(model, image_array, target_class, steps, lr, distance_weight, **switches))
            while len(_RUNS) > _RUNS_KEPT:
                _RUNS.popitem(last=False)
        _RUNS.move_to_end(key)
        result, history = _RUNS[key][1]  # (the entry keeps the model alive, so its id is not reused)
        result, history = result.copy(), {name: list(values) for name, values in history.items()}
    if in_place:
        image[...] = result
        return image, history
    return result, history


_START_NOISE = np.random.default_rng(20261129)


def _run(model, image_array, target_class, steps, lr, distance_weight, *, sign=1.0, use_distance=True,
         clip=True, towards=None, stop_when_left=False, start_noise=0.0, mean_distance=False,
         softmax_again=False, record_after=False, log_epsilon=0.0):
    import tensorflow as tf

    original = tf.constant(image_array, dtype=tf.float32)  # a copy: the caller's array is never written
    x = original
    if start_noise:
        # every call draws new noise (two calls differ, as for a student's unseeded start), from one seeded
        # stream: fresh entropy made the variant's distance to the reference random and its test flaky
        noise = _START_NOISE.uniform(-start_noise, start_noise, image_array.shape).astype("float32")
        x = tf.clip_by_value(original + noise, 0.0, 1.0)
    original_class = int(np.argmax(model(original, training=False).numpy()[0]))
    goal = original_class if towards == "predicted" else int(target_class)
    label = tf.constant([goal])
    weight = tf.constant(float(distance_weight) if use_distance else 0.0)
    step = _step_function(model, mean_distance, softmax_again, log_epsilon)
    history = {key: [] for key in HISTORY_KEYS}
    for _ in range(int(steps)):
        loss, probs, distance, gradient = step(x, original, label, weight)
        if stop_when_left and int(np.argmax(probs.numpy()[0])) != original_class:
            break
        x = x - sign * lr * gradient
        if clip:
            x = tf.clip_by_value(x, 0.0, 1.0)
        history["loss"].append(float(loss))
        history["target_prob"].append(float(probs[0, int(target_class)]))
        history["distance"].append(float(distance))
    if record_after and history["loss"]:  # entry i = the image after update i: shift by one, evaluate the last
        loss, probs, distance, _ = step(x, original, label, weight)
        for key, value in zip(HISTORY_KEYS, (float(loss), float(probs[0, int(target_class)]), float(distance))):
            history[key] = history[key][1:] + [value]
    return x.numpy().astype(image_array.dtype), history


def generate_counterfactual(model, image, target_class, steps=50, lr=0.1, distance_weight=0.05):
    """Counterfactual image for ``target_class`` and the per-step history.

    ``image``: array (1, H, W, C) with values in [0, 1]; the result has the same shape and dtype.
    Returns ``(counterfactual, {"loss": [...], "target_prob": [...], "distance": [...]})`` with
    ``steps`` entries per list; entry i belongs to the image before update i:
        loss = -log p_target(x) + distance_weight * sum((x - image)**2)
        x <- clip(x - lr * d loss / d x, 0, 1)
    """
    return _descent(model, image, target_class, steps, lr, distance_weight)


def difference_map(original, counterfactual):
    """Mean absolute difference over the colour channels: (H, W) float array.

    Accepts (H, W, C) or a batch of one (1, H, W, C)."""
    original = np.asarray(original, dtype=np.float64)
    counterfactual = np.asarray(counterfactual, dtype=np.float64)
    difference = np.abs(counterfactual - original).mean(axis=-1)
    return difference[0] if difference.ndim == 3 else difference


# --- what the notebook's answer cells leave in the namespace -------------------------------------
# The answer probe reads x_original, x_counterfactual, flipped, new_class_name and MODEL_NAME from the
# student's namespace; for the reference (which has no notebook) it calls this hook instead.

NOTEBOOK_SCENE_SEED = NOTEBOOK_SCENE  # the scene the notebook explains on the embedded model (the answers probe's too)
NOTEBOOK_TARGET = "star"
NOTEBOOK_SETTINGS = {"steps": 9, "lr": 0.008, "distance_weight": 0.5}


@functools.lru_cache(maxsize=1)
def _notebook_run():
    from xaikit.keras_models import load_model
    from xaikit.scenes import SHAPE_CLASSES, make_scene

    model, class_names = load_model("embedded")
    x_original = make_scene(NOTEBOOK_SCENE_SEED).image[None].astype(np.float32) / 255.0
    x_counterfactual, _ = generate_counterfactual(model, x_original, SHAPE_CLASSES.index(NOTEBOOK_TARGET),
                                                  **NOTEBOOK_SETTINGS)
    before = int(np.argmax(model(x_original, training=False).numpy()[0]))
    after = int(np.argmax(model(x_counterfactual, training=False).numpy()[0]))
    return {"MODEL_NAME": "embedded", "x_original": x_original, "x_counterfactual": x_counterfactual,
            "flipped": after != before, "new_class_name": class_names[after]}


def _xaigrade_notebook_state():
    return dict(_notebook_run())


# ---------------------------------------------------------------------------------------------
# Known-wrong variants.

def wrong_sign(model, image, target_class, steps=50, lr=0.1, distance_weight=0.05):
    # x + lr * grad: gradient ascent, moves away from the target (and from the original)
    return _descent(model, image, target_class, steps, lr, distance_weight, sign=-1.0)


def no_distance_term(model, image, target_class, steps=50, lr=0.1, distance_weight=0.05):
    # only the cross-entropy: reaches the target, but changes the image far more than needed
    return _descent(model, image, target_class, steps, lr, distance_weight, use_distance=False)


def no_clipping(model, image, target_class, steps=50, lr=0.1, distance_weight=0.05):
    return _descent(model, image, target_class, steps, lr, distance_weight, clip=False)


def towards_predicted_class(model, image, target_class, steps=50, lr=0.1, distance_weight=0.05):
    # cross-entropy towards the class the model already predicts instead of target_class
    return _descent(model, image, target_class, steps, lr, distance_weight, towards="predicted")


def stops_before_flip(model, image, target_class, steps=50, lr=0.1, distance_weight=0.05):
    # breaks as soon as the original class is no longer predicted, not after all steps
    return _descent(model, image, target_class, steps, lr, distance_weight, stop_when_left=True)


def modifies_input(model, image, target_class, steps=50, lr=0.1, distance_weight=0.05):
    # writes the result into the caller's array
    return _descent(model, image, target_class, steps, lr, distance_weight, in_place=True)


def random_start(model, image, target_class, steps=50, lr=0.1, distance_weight=0.05):
    # starts from the image plus unseeded noise: two calls give different results
    # (±0.005: far enough from the reference for cf.matches_reference (mean |Δ| ≈ 0.004–0.005 vs 1e-3), close
    # enough that cf.proximity never fails on it (L1 ratio ≤ 1.04 vs 1.5; ±0.02 reached 1.29 and failed now and then))
    return _descent(model, image, target_class, steps, lr, distance_weight, start_noise=0.005)


def softmax_twice(model, image, target_class, steps=50, lr=0.1, distance_weight=0.05):
    # cross-entropy with from_logits=True (or tf.nn.softmax) on the model's probabilities: the softmax of
    # values in [0, 1] is nearly uniform, the gradient almost vanishes and the image barely changes
    return _descent(model, image, target_class, steps, lr, distance_weight, softmax_again=True)


LOG_EPSILON = 1e-7  # the common "safe" epsilon (and Keras' own): caught clearly on every set; 1e-10 is correct work


def epsilon_in_log(model, image, target_class, steps=50, lr=0.1, distance_weight=0.05):
    # -log(p_t + 1e-7) "so the log never sees 0": the gradient shrinks by p/(p + eps), by 9 % at p_t = 1e-6; on the
    # Mini-VGG, whose first steps are large and sensitive, that moves the counterfactual by several tolerances
    # (on the notebook's own image, p_t = 1.9e-23, the gradient is zero and the image never changes)
    return _descent(model, image, target_class, steps, lr, distance_weight, log_epsilon=LOG_EPSILON)


def history_after_update(model, image, target_class, steps=50, lr=0.1, distance_weight=0.05):
    # the same image, but history entry i holds the values of the image after update i (not before)
    return _descent(model, image, target_class, steps, lr, distance_weight, record_after=True)


def signed_difference(original, counterfactual):
    original = np.asarray(original, dtype=np.float64)
    difference = (np.asarray(counterfactual, dtype=np.float64) - original).mean(axis=-1)
    return difference[0] if difference.ndim == 3 else difference


def sum_over_channels(original, counterfactual):
    return difference_map(original, counterfactual) * np.asarray(original).shape[-1]


def max_over_channels(original, counterfactual):
    difference = np.abs(np.asarray(counterfactual, dtype=np.float64) - np.asarray(original, dtype=np.float64)).max(axis=-1)
    return difference[0] if difference.ndim == 3 else difference


def keeps_batch_axis(original, counterfactual):
    return np.abs(np.asarray(counterfactual, dtype=np.float64) - np.asarray(original, dtype=np.float64)).mean(axis=-1)


def _answers_not_flipped():
    state = _xaigrade_notebook_state()
    return {**state, "flipped": not state["flipped"]}


def _answers_original_class():
    from xaikit.keras_models import load_model

    state = _xaigrade_notebook_state()
    model, class_names = load_model("embedded")
    before = int(np.argmax(model(state["x_original"], training=False).numpy()[0]))
    return {**state, "new_class_name": class_names[before]}


VARIANTS = {
    "wrong_sign": {"generate_counterfactual": wrong_sign},
    "no_distance_term": {"generate_counterfactual": no_distance_term},
    "no_clipping": {"generate_counterfactual": no_clipping},
    "towards_predicted_class": {"generate_counterfactual": towards_predicted_class},
    "stops_before_flip": {"generate_counterfactual": stops_before_flip},
    "modifies_input": {"generate_counterfactual": modifies_input},
    "random_start": {"generate_counterfactual": random_start},
    "softmax_twice": {"generate_counterfactual": softmax_twice},
    "history_after_update": {"generate_counterfactual": history_after_update},
    "epsilon_in_log": {"generate_counterfactual": epsilon_in_log},
    "signed_difference": {"difference_map": signed_difference},
    "sum_over_channels": {"difference_map": sum_over_channels},
    "max_over_channels": {"difference_map": max_over_channels},
    "keeps_batch_axis": {"difference_map": keeps_batch_axis},
    "answer_flipped_wrong": {"_xaigrade_notebook_state": _answers_not_flipped},
    "answer_original_class": {"_xaigrade_notebook_state": _answers_original_class},
}


# ---------------------------------------------------------------------------------------------
# Tasks 5 and 6: the desiderata measured, and the proximal step of the L1 counterfactual.

CHANGE_THRESHOLD = 1 / 255


def counterfactual_metrics(model, original, counterfactual, target):
    """Validity, proximity and sparsity of ``counterfactual`` (1, H, W, C) against ``original``:
    valid = the model predicts ``target`` for the counterfactual; l1 = Σ|Δ|, l2 = √(ΣΔ²) over all values;
    sparsity = share of the H·W pixels whose mean |Δ| over the channels exceeds 1/255."""
    change = np.asarray(counterfactual, dtype=np.float64) - np.asarray(original, dtype=np.float64)
    probs = np.asarray(model(np.asarray(counterfactual, dtype=np.float32), training=False))[0]
    per_pixel = np.abs(change).mean(axis=-1)
    return {"valid": bool(int(np.argmax(probs)) == int(target)),
            "l1": float(np.abs(change).sum()), "l2": float(np.sqrt((change ** 2).sum())),
            "sparsity": float((per_pixel > CHANGE_THRESHOLD).mean())}


def soft_threshold(delta, threshold):
    """The proximal operator of threshold·|·|: sign(δ) · max(|δ| - τ, 0), elementwise; ``delta`` stays as it is."""
    delta = np.asarray(delta)
    return np.sign(delta) * np.maximum(np.abs(delta) - threshold, 0)


def metrics_flipped_not_target(model, original, counterfactual, target):
    # "valid" as a mere class change: the prediction differs from the original's (not: it is the target)
    result = counterfactual_metrics(model, original, counterfactual, target)
    before = int(np.argmax(np.asarray(model(np.asarray(original, dtype=np.float32), training=False))[0]))
    after = int(np.argmax(np.asarray(model(np.asarray(counterfactual, dtype=np.float32), training=False))[0]))
    return {**result, "valid": bool(after != before)}


def metrics_l2_squared(model, original, counterfactual, target):
    # the squared distance of the loss, without the square root
    result = counterfactual_metrics(model, original, counterfactual, target)
    return {**result, "l2": result["l2"] ** 2}


def metrics_mean_not_sum(model, original, counterfactual, target):
    # np.mean instead of np.sum: the mean absolute change and the root mean square
    change = np.asarray(counterfactual, dtype=np.float64) - np.asarray(original, dtype=np.float64)
    result = counterfactual_metrics(model, original, counterfactual, target)
    return {**result, "l1": float(np.abs(change).mean()), "l2": float(np.sqrt((change ** 2).mean()))}


def metrics_l1_of_difference_map(model, original, counterfactual, target):
    # L1 as the sum of the difference map (the mean over the channels): C times too small
    result = counterfactual_metrics(model, original, counterfactual, target)
    return {**result, "l1": float(difference_map(original, counterfactual).sum())}


def _sparsity_variant(how):
    def metrics(model, original, counterfactual, target):
        change = np.abs(np.asarray(counterfactual, dtype=np.float64) - np.asarray(original, dtype=np.float64))
        result = counterfactual_metrics(model, original, counterfactual, target)
        if how == "per_value":
            sparsity = (change > CHANGE_THRESHOLD).mean()
        elif how == "any_channel":
            sparsity = (change.max(axis=-1) > CHANGE_THRESHOLD).mean()
        else:  # "any_change"
            sparsity = (change.mean(axis=-1) > 0).mean()
        return {**result, "sparsity": float(sparsity)}
    metrics.__name__ = f"metrics_sparsity_{how}"
    return metrics


# the share of changed values (pixel and channel), not of pixels
metrics_sparsity_per_value = _sparsity_variant("per_value")
# a pixel counted as changed when any one channel changes by more than 1/255 (max, not the mean over the channels)
metrics_sparsity_any_channel = _sparsity_variant("any_channel")
# every change counted, however small (threshold 0 instead of 1/255)
metrics_sparsity_any_change = _sparsity_variant("any_change")


def soft_hard_threshold(delta, threshold):
    # hard thresholding: zeroes the small values, but leaves the large ones as they are (no shrinking)
    delta = np.asarray(delta)
    return np.where(np.abs(delta) > threshold, delta, 0.0)


def soft_clip(delta, threshold):
    # clips to [-τ, τ] instead of shrinking towards 0
    return np.clip(np.asarray(delta), -threshold, threshold)


def soft_one_sided(delta, threshold):
    # max(δ - τ, 0): shrinks only the positive side, every negative change is lost
    return np.maximum(np.asarray(delta) - threshold, 0)


def soft_no_zeroing(delta, threshold):
    # sign(δ) · (|δ| - τ) without the max(·, 0): small values flip their sign instead of becoming 0
    delta = np.asarray(delta)
    return np.sign(delta) * (np.abs(delta) - threshold)


def soft_in_place(delta, threshold):
    # the right values, written into the caller's array
    delta[np.abs(delta) <= threshold] = 0
    delta -= np.sign(delta) * threshold
    return delta


VARIANTS.update({
    "metrics_flipped_not_target": {"counterfactual_metrics": metrics_flipped_not_target},
    "metrics_l2_squared": {"counterfactual_metrics": metrics_l2_squared},
    "metrics_mean_not_sum": {"counterfactual_metrics": metrics_mean_not_sum},
    "metrics_l1_of_difference_map": {"counterfactual_metrics": metrics_l1_of_difference_map},
    "metrics_sparsity_per_value": {"counterfactual_metrics": metrics_sparsity_per_value},
    "metrics_sparsity_any_channel": {"counterfactual_metrics": metrics_sparsity_any_channel},
    "metrics_sparsity_any_change": {"counterfactual_metrics": metrics_sparsity_any_change},
    "soft_hard_threshold": {"soft_threshold": soft_hard_threshold},
    "soft_clip": {"soft_threshold": soft_clip},
    "soft_one_sided": {"soft_threshold": soft_one_sided},
    "soft_no_zeroing": {"soft_threshold": soft_no_zeroing},
    "soft_in_place": {"soft_threshold": soft_in_place},
})
