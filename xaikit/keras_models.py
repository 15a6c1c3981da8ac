"""Keras models of the counterfactual exercise, by name, loaded once per process: the embedded
Mini-VGG (``"embedded"``), VGG16 behind an input in [0, 1] (``"vgg16"``, needs its weights), and small
CNNs with seeded random weights (``"small_cnn:<seed>:<size>:<classes>"``). Used by the notebook
(``wrap_vgg16``), the self-check's probes and the grader alike."""

from __future__ import annotations

import xaikit  # noqa: F401  (torch/triton before TensorFlow, see PLATFORM-NOTES)

import numpy as np

_MODELS: dict = {}


def _deterministic():
    import tensorflow as tf

    try:
        tf.config.experimental.enable_op_determinism()
    except Exception:  # noqa: BLE001 - older TF or already configured: results are still CPU-deterministic
        pass


def build_small_cnn(seed: int, size: int, n_classes: int):
    """A small CNN with seeded random weights (numpy, so identical in every process)."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(size, size, 3))
    x = layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(12, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(n_classes, activation="softmax")(x)
    model = keras.Model(inputs, outputs, name=f"small_cnn_{seed}")
    rng = np.random.default_rng(seed)
    weights = []
    for w in model.get_weights():
        if w.ndim == 1:
            weights.append(rng.normal(0.0, 0.1, w.shape).astype("float32"))
        else:
            fan_in = int(np.prod(w.shape[:-1]))
            # He init; the classifier 4x larger so the random model is confident (not near-uniform)
            scale = np.sqrt(2.0 / fan_in) * (4.0 if w.ndim == 2 else 1.0)
            weights.append(rng.normal(0.0, scale, w.shape).astype("float32"))
    model.set_weights(weights)
    return model


def wrap_vgg16(vgg16):
    """VGG16 behind an input in [0, 1] RGB (224x224): caffe preprocessing inside the model, so the
    counterfactual lives in the same pixel range as on the embedded model."""
    import keras
    from keras import layers, ops

    inputs = keras.Input(shape=(224, 224, 3))
    mean = np.array([103.939, 116.779, 123.68], dtype="float32")
    bgr = layers.Lambda(lambda t: ops.flip(t, axis=-1) * 255.0 - mean, name="caffe_preprocess")(inputs)
    return keras.Model(inputs, vgg16(bgr), name="vgg16_unit_input")


def load_model(spec: str):
    """-> (keras model taking (N, H, W, 3) in [0, 1], class names)."""
    if spec in _MODELS:
        return _MODELS[spec]
    _deterministic()
    from xaikit.models import load_keras_classifier

    if spec == "embedded":
        model, names, _ = load_keras_classifier("embedded")  # fails loudly when the weights are missing
    elif spec == "vgg16":
        vgg, names, _ = load_keras_classifier("vgg16")
        model = wrap_vgg16(vgg)
    elif spec.startswith("small_cnn:"):
        _, seed, size, n_classes = spec.split(":")
        model = build_small_cnn(int(seed), int(size), int(n_classes))
        names = [f"Klasse {i}" for i in range(int(n_classes))]
    else:
        raise ValueError(f"unknown model {spec!r}")
    _MODELS[spec] = (model, list(names))
    return _MODELS[spec]
