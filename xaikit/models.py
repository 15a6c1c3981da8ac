"""Small models shipped with the kit, and loaders for them and for real pretrained ones.

Loaders (all return models ready for inference):

* ``load_image_classifier(name="embedded") -> (torch model in eval mode, class_names, Preprocess)``
  ``"embedded"``: MiniResNet on 64x64 scenes (6 shape classes), trained with a localisation term that pulls
  its layer4 class activation map onto the object (``xaikit/training/train_mini_resnet.py``).
  ``"embedded_plain"``: its plainly trained twin: same architecture, data, seeds and schedule, cross-entropy
  only (``train_mini_resnet --plain``); for comparing what Grad-CAM shows on a model not taught where to look.
  ``"resnet50"``: torchvision ResNet-50 IMAGENET1K_V2 from ``$TORCH_HOME/hub/checkpoints``.
* ``load_keras_classifier(name="embedded") -> (keras model, class_names, KerasPreprocess)``
  ``"embedded"``: MiniVGG, input float32 RGB in [0, 1], shape (N, 64, 64, 3).
  ``"vgg16"``: keras.applications.VGG16 from ``$KERAS_HOME/models`` (caffe preprocessing).
* ``load_clip(name="embedded", attn_implementation="eager") -> (CLIPModel, CLIPProcessor)``
  ``"embedded"``: tiny CLIP trained on scene captions. ``"openai/clip-vit-base-patch32"``
  (or any hub id): from the Hugging Face cache only (``local_files_only=True``).

Real weights are used only when they are already in the cache; otherwise
``ModelNotAvailableError`` is raised at once with instructions how to fetch them.
There is never a silent fallback to another model. Which of them a notebook loads is the course's one
setting, ``course_models()`` (environment variable ``XAI_KURS_MODELS``, default ``"embedded"``).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .scenes import SHAPE_CLASSES

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
MINI_RESNET_PATH = WEIGHTS_DIR / "mini_resnet.pt"
MINI_RESNET_PLAIN_PATH = WEIGHTS_DIR / "mini_resnet_plain.pt"  # the twin trained without the localisation term
MINI_VGG_PATH = WEIGHTS_DIR / "mini_vgg.keras"
TINY_CLIP_DIR = WEIGHTS_DIR / "tiny_clip"

INPUT_SIZE = 64  # all embedded models take 64x64 RGB scenes
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
MINI_RESNET_WIDTHS = (8, 16, 32, 64)  # layer1 runs at 64x64: narrow, so training stays ~15 min on 2 loaded cores
MINI_RESNET_FEATURE_SIDES = (64, 32, 16, 8)  # layer1..layer4 on a 64x64 scene
MINI_VGG_FILTERS = (16, 32, 64)

RESNET50_FILENAME = "resnet50-11ad3fa6.pth"  # basename of ResNet50_Weights.IMAGENET1K_V2.url
VGG16_FILENAME = "vgg16_weights_tf_dim_ordering_tf_kernels.h5"
CLIP_HUB_ID = "openai/clip-vit-base-patch32"


class ModelNotAvailableError(RuntimeError):
    """Real pretrained weights are not in the local cache (and will not be downloaded)."""


# --------------------------------------------------------------------------- the course's choice of models

COURSE_MODELS_VARIABLE = "XAI_KURS_MODELS"
COURSE_MODELS_CHOICES = ("embedded", "real")


def course_models() -> str:
    """Which models the notebooks use: ``"embedded"`` (the default) or ``"real"``. One setting for the course.

    It is the environment variable ``XAI_KURS_MODELS``, read when a notebook starts, and each notebook prints it.
    ``"embedded"``: the models shipped in the kit (MiniResNet, MiniVGG, tiny CLIP) -- what ``xaigrade grade``
    reruns every notebook on (its sandbox passes no such variable and sees no model cache) and what the model
    answers quote. ``"real"``: ResNet-50, VGG16 and OpenAI CLIP from the local caches, for a lecturer who shows
    them; a missing one raises ``ModelNotAvailableError`` (nothing falls back silently), and the model answers'
    figures do not apply. A model that merely lies in a student's cache never switches a notebook.

    A notebook follows it as ``if course_models() == "real": load_...("resnet50") else: load_...("embedded")``
    and prints the setting in its first output.
    """
    value = os.environ.get(COURSE_MODELS_VARIABLE, "").strip().lower() or "embedded"
    if value not in COURSE_MODELS_CHOICES:
        raise ValueError(f"{COURSE_MODELS_VARIABLE}={value!r}: use one of {COURSE_MODELS_CHOICES} "
                         "(unset means 'embedded')")
    return value


# --------------------------------------------------------------------------- cache paths
# Read the env vars at call time so tests (and users) can point them elsewhere.

def torch_hub_checkpoints_dir() -> Path:
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "torch")
    return Path(torch_home) / "hub" / "checkpoints"


def keras_models_dir() -> Path:
    return Path(os.environ.get("KERAS_HOME") or os.path.expanduser("~/.keras")) / "models"


def hf_hub_cache_dir() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    hf_home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "huggingface")
    return Path(hf_home) / "hub"


# --------------------------------------------------------------------------- torch part

def build_mini_resnet(num_classes: int = len(SHAPE_CLASSES), widths=MINI_RESNET_WIDTHS):
    """Narrow ResNet with torchvision's module names and torchvision's BasicBlock.

    torchvision's ``ResNet`` hard-codes the widths 64..512 for BasicBlock (too big
    for the repo), so this class mirrors its attributes: conv1, bn1, relu, maxpool,
    layer1..layer4 (one BasicBlock each), avgpool, fc. As in ResNet, layer2, layer3
    and layer4 each halve the resolution, so Grad-CAM maps get coarser from layer to
    layer; for 64 px input the stem does not downsample (conv1 3x3/1, ``maxpool`` is
    an identity), which keeps layer4 at 8x8: layer1 64x64, layer2 32x32, layer3 16x16,
    layer4 8x8 (MINI_RESNET_FEATURE_SIDES).

    The stride-2 blocks downsample grid-aligned (as in ResNet-D): conv1 is 4x4/2 with
    padding 1 instead of 3x3/2, and the shortcut averages 2x2 before its 1x1 conv
    (downsample = AvgPool2d, conv1x1, BatchNorm2d). Why: a padded 3x3 (or 1x1)
    stride-2 conv centres output cell i on input pixel 2i, while Grad-CAM's bilinear
    upsampling (align_corners=False) puts it at 2i + 0.5; over three such stages
    layer4's map would sit 3.5 px (almost half of an 8 px cell) off the object, enough
    to miss small shapes. A 4x4/2 kernel and 2x2 averaging centre cell i on 2i + 0.5,
    so every layer's map lies where the upsampling puts it. Measured (train_mini_resnet's
    defaults, measure_quality on 500 scenes, one run each): grid-aligned accuracy 1.000,
    layer4 pointing game 0.932; torchvision's 3x3/2 conv and 1x1/2 shortcut 0.982, 0.916.
    """
    import torch.nn as nn
    from torchvision.models.resnet import BasicBlock, conv1x1

    class MiniResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.inplanes = widths[0]
            self.conv1 = nn.Conv2d(3, widths[0], kernel_size=3, stride=1, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(widths[0])
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.Identity()  # the name stays; no downsampling before layer1 at 64 px
            self.layer1 = self._make_layer(widths[0], stride=1)
            self.layer2 = self._make_layer(widths[1], stride=2)
            self.layer3 = self._make_layer(widths[2], stride=2)
            self.layer4 = self._make_layer(widths[3], stride=2)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(widths[3], num_classes)
            for m in self.modules():  # same init as torchvision
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)

        def _make_layer(self, planes, stride):
            downsample = None
            if stride != 1:  # grid-aligned: 2x2 average, then 1x1 (see the docstring)
                downsample = nn.Sequential(nn.AvgPool2d(kernel_size=2, stride=2),
                                           conv1x1(self.inplanes, planes), nn.BatchNorm2d(planes))
            elif self.inplanes != planes:
                downsample = nn.Sequential(conv1x1(self.inplanes, planes), nn.BatchNorm2d(planes))
            block = BasicBlock(self.inplanes, planes, stride, downsample)
            if stride != 1:  # 4x4/2, padding 1: output cell i centred on input 2i + 0.5, size floor(n / 2)
                block.conv1 = nn.Conv2d(self.inplanes, planes, kernel_size=4, stride=2, padding=1, bias=False)
            self.inplanes = planes
            return nn.Sequential(block)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            x = self.avgpool(x).flatten(1)
            return self.fc(x)

    return MiniResNet()


@dataclass(frozen=True)
class Preprocess:
    """uint8 RGB image (H, W, 3) -> float tensor (1, 3, crop, crop), normalised with mean/std.

    Resizes the shorter side to ``resize`` (bilinear, antialiased) and centre-crops
    ``crop`` pixels; a 64x64 scene passes through the embedded model's unresized.
    """
    resize: int
    crop: int
    mean: tuple = IMAGENET_MEAN
    std: tuple = IMAGENET_STD
    input_range: str = "uint8 RGB 0..255 in; divided by 255, then (x - mean) / std"

    def __call__(self, image):
        import torch
        import torch.nn.functional as F

        arr = np.asarray(image)
        if arr.ndim != 3 or arr.shape[2] != 3:
            raise ValueError(f"expected an H x W x 3 RGB image, got shape {arr.shape}")
        x = torch.from_numpy(np.ascontiguousarray(arr)).permute(2, 0, 1)[None].float() / 255.0
        h, w = x.shape[-2:]
        if min(h, w) != self.resize:
            scale = self.resize / min(h, w)
            size = (max(self.resize, round(h * scale)), max(self.resize, round(w * scale)))
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
        h, w = x.shape[-2:]
        top, left = (h - self.crop) // 2, (w - self.crop) // 2
        x = x[..., top:top + self.crop, left:left + self.crop]
        mean = torch.tensor(self.mean).view(1, 3, 1, 1)
        std = torch.tensor(self.std).view(1, 3, 1, 1)
        return (x - mean) / std

    def batch(self, images):
        """Stack several images (e.g. a make_dataset array N x H x W x 3) into N x 3 x H x W."""
        import torch

        return torch.cat([self(im) for im in images])


EMBEDDED_PREPROCESS = Preprocess(resize=INPUT_SIZE, crop=INPUT_SIZE)
RESNET50_PREPROCESS = Preprocess(resize=232, crop=224)  # IMAGENET1K_V2 eval transforms


def preprocess(image_uint8):
    """Preprocess one uint8 RGB image for the embedded MiniResNet -> tensor (1, 3, 64, 64)."""
    return EMBEDDED_PREPROCESS(image_uint8)


def load_image_classifier(name: str = "embedded"):
    """-> (model in eval mode, class_names list, Preprocess callable)."""
    import torch

    if name in ("embedded", "embedded_plain"):
        model = build_mini_resnet()
        path = MINI_RESNET_PATH if name == "embedded" else MINI_RESNET_PLAIN_PATH
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return model.eval(), list(SHAPE_CLASSES), EMBEDDED_PREPROCESS
    if name == "resnet50":
        path = torch_hub_checkpoints_dir() / RESNET50_FILENAME
        if not path.is_file():
            raise ModelNotAvailableError(
                f"ResNet-50 weights not found at {path}. Fetch them once on a machine with "
                "internet access: python -c \"import torchvision; torchvision.models.resnet50("
                "weights='IMAGENET1K_V2')\" (or copy the file resnet50-11ad3fa6.pth from "
                "https://download.pytorch.org/models/resnet50-11ad3fa6.pth into that folder; "
                "TORCH_HOME sets the cache root).")
        import torchvision

        categories = torchvision.models.ResNet50_Weights.IMAGENET1K_V2.meta["categories"]
        model = torchvision.models.resnet50(weights=None)
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return model.eval(), list(categories), RESNET50_PREPROCESS
    raise ValueError(f"unknown image classifier {name!r}; use 'embedded', 'embedded_plain' or 'resnet50'")


# --------------------------------------------------------------------------- Keras part

def build_mini_vgg(num_classes: int = len(SHAPE_CLASSES), filters=MINI_VGG_FILTERS, fc_units: int = 128):
    """Narrow VGG16 (first three blocks) with VGG16's layer names; input float32 RGB in [0, 1], 64x64.

    Layers: block1_conv1/2, block1_pool, block2_conv1/2, block2_pool, block3_conv1/2/3,
    block3_pool, flatten, fc1, fc2, predictions (softmax). Three blocks because the full
    13-conv plain stack (no batch norm) stayed at chance level when trained from scratch here.
    """
    import keras
    from keras import layers

    inputs = keras.Input(shape=(INPUT_SIZE, INPUT_SIZE, 3), name="input_layer")
    x = inputs
    convs_per_block = (2, 2, 3, 3, 3)[:len(filters)]  # as in VGG16
    for b, (f, n) in enumerate(zip(filters, convs_per_block), start=1):
        for c in range(1, n + 1):
            # he_normal: with Keras' default glorot init this 13-conv plain stack did not start learning
            x = layers.Conv2D(f, 3, padding="same", activation="relu", kernel_initializer="he_normal",
                              name=f"block{b}_conv{c}")(x)
        x = layers.MaxPooling2D(2, strides=2, name=f"block{b}_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(fc_units, activation="relu", kernel_initializer="he_normal", name="fc1")(x)
    x = layers.Dense(fc_units, activation="relu", kernel_initializer="he_normal", name="fc2")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="mini_vgg")


@dataclass(frozen=True)
class KerasPreprocess:
    """uint8 RGB image(s) (H,W,3) or (N,H,W,3) -> float32 batch (N,H,W,3) for the Keras model."""
    size: int
    mode: str  # "unit": x / 255 (embedded MiniVGG); "caffe": keras vgg16.preprocess_input
    input_range: str = field(default="")

    def __call__(self, images):
        arr = np.asarray(images)
        if arr.ndim == 3:
            arr = arr[None]
        if arr.shape[1:3] != (self.size, self.size):
            import tensorflow as tf

            arr = tf.image.resize(arr.astype("float32"), (self.size, self.size), antialias=True).numpy()
        arr = arr.astype("float32")
        if self.mode == "unit":
            return arr / 255.0
        from keras.applications.vgg16 import preprocess_input

        return preprocess_input(arr)


EMBEDDED_KERAS_PREPROCESS = KerasPreprocess(
    INPUT_SIZE, "unit", "float32 RGB in [0, 1] (image / 255), shape (N, 64, 64, 3)")
VGG16_KERAS_PREPROCESS = KerasPreprocess(
    224, "caffe", "float32 BGR 0..255 minus ImageNet channel means (vgg16.preprocess_input), (N, 224, 224, 3)")


def load_keras_classifier(name: str = "embedded"):
    """-> (keras model, class_names list, KerasPreprocess callable)."""
    if name == "embedded":
        import keras

        model = keras.models.load_model(MINI_VGG_PATH, compile=False)
        return model, list(SHAPE_CLASSES), EMBEDDED_KERAS_PREPROCESS
    if name == "vgg16":
        path = keras_models_dir() / VGG16_FILENAME
        if not path.is_file():
            raise ModelNotAvailableError(
                f"VGG16 weights not found at {path}. Fetch them once on a machine with internet "
                "access: python -c \"import keras; keras.applications.VGG16(weights='imagenet')\" "
                "(KERAS_HOME sets the cache root; the file is "
                "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"
                f"{VGG16_FILENAME}).")
        import keras

        model = keras.applications.VGG16(weights=str(path))
        import torchvision  # ImageNet class names, same index order as Keras' ImageNet models

        categories = torchvision.models.ResNet50_Weights.IMAGENET1K_V2.meta["categories"]
        return model, list(categories), VGG16_KERAS_PREPROCESS
    raise ValueError(f"unknown Keras classifier {name!r}; use 'embedded' or 'vgg16'")


# --------------------------------------------------------------------------- CLIP part

def load_clip(name: str = "embedded", attn_implementation: str = "eager"):
    """-> (CLIPModel in eval mode, CLIPProcessor).

    ``attn_implementation="eager"`` by default because transformers' default sdpa
    returns no attention maps with ``output_attentions=True``.
    """
    from transformers import CLIPModel, CLIPProcessor
    from transformers.utils import logging as hf_logging

    # transformers 5 draws a "Loading weights" progress bar on stderr, and nbgrader
    # counts any stderr output in a test cell as a failure: switch it off while loading.
    bar_was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        if name == "embedded":
            model = CLIPModel.from_pretrained(TINY_CLIP_DIR, attn_implementation=attn_implementation)
            processor = CLIPProcessor.from_pretrained(TINY_CLIP_DIR)
            return model.eval(), processor
        cache_dir = hf_hub_cache_dir()
        model = CLIPModel.from_pretrained(name, cache_dir=cache_dir, local_files_only=True,
                                          attn_implementation=attn_implementation)
        processor = CLIPProcessor.from_pretrained(name, cache_dir=cache_dir, local_files_only=True)
    except (OSError, ValueError) as err:  # transformers reports a missing cache entry as OSError
        if name == "embedded":
            raise
        raise ModelNotAvailableError(
            f"{name!r} is not in the Hugging Face cache {cache_dir}. Fetch it once on a machine "
            f"with internet access: hf download {name} (or python -c \"from transformers import "
            f"CLIPModel, CLIPProcessor; CLIPModel.from_pretrained('{name}'); "
            f"CLIPProcessor.from_pretrained('{name}')\"); HF_HOME / HF_HUB_CACHE set the cache root."
        ) from err
    finally:
        if bar_was_on:
            hf_logging.enable_progress_bar()
    return model.eval(), processor


def timed(loader, *args, **kwargs):
    """Call a loader and also return the seconds it took (used by measure_quality)."""
    t0 = time.perf_counter()
    out = loader(*args, **kwargs)
    return out, time.perf_counter() - t0
