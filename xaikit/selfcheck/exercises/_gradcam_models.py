"""Models and inputs of the Grad-CAM checks (student side, beside ``gradcam.py``): ``RandomCNN``, small seeded
CNNs (defined in the kit so that the cases' models unpickle in the student's kernel); the embedded MiniResNet
from a picklable description; scenes as normalised tensors; the seeded random CNNs the case builders draw."""

from __future__ import annotations

import xaikit  # noqa: F401  (torch/triton before anything can import TensorFlow)

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..probe import cached_model

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406])
IMAGENET_STD = np.array([0.229, 0.224, 0.225])
EMBEDDED = {"kind": "embedded"}


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

    def features(self, x):
        """What ``fc`` sees: the last feature map, averaged over the positions."""
        for index in range(1, self.depth + 1):
            x = F.relu(getattr(self, f"layer{index}")(x))
            if self.pools[index - 1]:
                x = F.max_pool2d(x, 2)
        return x.mean(dim=(2, 3))

    def forward(self, x):
        return self.fc(self.features(x))

    def amplify_head(self, x, gain: float) -> "RandomCNN":
        """``fc`` weights times ``gain``, its bias moved so that the logits for ``x`` stay what they were.

        The prediction, the softmax and every min-max scaled map for ``x`` stay as they were; the raw maps (a CAM
        value is about the logit's share per position, ~ logit / (h·w)) grow by ``gain``. Small random CNNs on
        inputs of a thousand positions give raw CAMs of 1e-5 to 1e-3, far below real networks' (MiniResNet,
        ResNet-50: 0.01 to 0.5), where an epsilon in a student's min-max denominator, ``/(max - min + 1e-7)``
        as in pytorch-grad-cam, already costs a share of the tolerance; amplified, they lie on the real scale."""
        with torch.no_grad():
            features = self.features(x)
            logits = self.fc(features)[0]
            self.fc.weight.mul_(float(gain))
            self.fc.bias.copy_(logits - features[0] @ self.fc.weight.T)
        return self


# --- models and inputs --------------------------------------------------------------------------

def _embedded(spec: dict):
    """The embedded MiniResNet from a picklable description (its class is local to xaikit): a fresh model
    each call (a student's call may change it), its weights read once per process."""
    from xaikit.models import MINI_RESNET_PATH, build_mini_resnet

    state = cached_model(("mini_resnet", str(MINI_RESNET_PATH)),
                         lambda: torch.load(MINI_RESNET_PATH, map_location="cpu", weights_only=True))
    model = build_mini_resnet()
    model.load_state_dict(state)
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
