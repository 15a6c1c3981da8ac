"""Correct Grad-CAM solutions written differently from the reference (``ALTERNATIVES``, shaped like ``VARIANTS``).

Each alternative is one student's complete notebook (all four graded functions, each self-contained: no helper of
the reference module), written the way students write it and following the task cells of
``source/gradcam/gradcam.ipynb`` literally: the layer by its name from ``named_modules()``, a forward hook, one
forward pass, the gradient of the logit ``logits[0, class_idx]`` (``None``: the argmax), alpha = the mean of the
gradient over the positions, ReLU(sum_k alpha_k A^k), bilinear upsampling with ``align_corners=False`` (or a
library resize that is numerically the same: cv2's INTER_LINEAR, torchvision's bilinear resize), min-max
normalisation with zeros when max = min (a student's epsilon is allowed: the task does not forbid it), side effects
undone; overlay ``(1 - alpha) * image + alpha * 255 * jet(heatmap)`` with matplotlib's jet as uint8 (rounded or
truncated, the heatmap maybe brought to 256 levels first: the task allows +-8 levels and names both); saliency the
max over the colour channels of |d logit / d x|, min-max scaled. Epsilons in the min-max denominator: 1e-8 (A, B),
1e-7 (D, E; pytorch-grad-cam's). The sanity check (task 4): prefix tests on ``named_modules`` with float32 maps and
``spearmanr(...)[0]`` (A), a fresh copy per step re-seeded (the same draws) with ``rankdata`` + ``corrcoef`` (B, E),
``Module.apply`` with pandas' Spearman (C), torch ranks by hand and a list of tensors (D), the centred-rank formula
in a while loop (F).

What the task text rules out is not here: scikit-image's ``resize`` with its default ``mode="reflect"`` (differs from
``F.interpolate`` by up to 0.34 at the border), OpenCV's own jet table (the task says it loses the points), no
``model.eval()`` at all, a second forward pass to find the class, running the model piecewise (the layers a case
names and the models' own ``forward``, with pooling and functional ReLUs, are not known to a student's code), an
epsilon of 1e-5 (the heatmap's maximum then falls short of 1 by more than the tolerance on the MiniResNet's own
layer2 maps).
"""

from __future__ import annotations

import xaikit  # noqa: F401  (torch/triton before anything can import TensorFlow)

import copy
import functools

import numpy as np
import torch
import torch.nn.functional as F

try:  # cv2 comes with the dev extras (pytorch-grad-cam); a student may have it, the course kit does not ship it
    import cv2
except ImportError:  # pragma: no cover - then the cv2 student is simply not in the corpus
    cv2 = None


# --- A: forward hook + tensor.register_hook, .backward(); model.train(was_training); torch min-max with eps ------

def _a_capture(model, input_tensor, target_layer, class_idx):
    layer = dict(model.named_modules())[target_layer]
    stored = {}

    def forward_hook(module, inputs, output):
        stored["activations"] = output
        output.register_hook(lambda grad: stored.__setitem__("gradients", grad))

    handle = layer.register_forward_hook(forward_hook)
    was_training = model.training
    model.eval()
    x = input_tensor.detach().clone().requires_grad_(True)
    try:
        logits = model(x)
        if class_idx is None:
            class_idx = logits.argmax(dim=1).item()
        model.zero_grad()
        logits[0, class_idx].backward()
        model.zero_grad()  # leave no .grad behind on the parameters
    finally:
        handle.remove()
        model.train(was_training)
    return stored["activations"].detach(), stored["gradients"].detach()


def a_grad_cam_weights(model, input_tensor, target_layer, class_idx=None):
    # register_hook on the hooked output and logits[0, c].backward(); weights = mean over dims 2, 3
    _, gradients = _a_capture(model, input_tensor, target_layer, class_idx)
    return gradients.mean(dim=(2, 3))[0]


def a_grad_cam(model, input_tensor, target_layer="layer4", class_idx=None):
    # broadcasting weights[:, None, None] * A, F.relu, then pytorch-grad-cam's normalisation:
    # subtract the min, divide by (max + 1e-8)
    activations, gradients = _a_capture(model, input_tensor, target_layer, class_idx)
    weights = gradients.mean(dim=(2, 3))[0]
    cam = F.relu((weights[:, None, None] * activations[0]).sum(dim=0))
    height, width = input_tensor.shape[2], input_tensor.shape[3]
    cam = F.interpolate(cam.unsqueeze(0).unsqueeze(0), size=(height, width), mode="bilinear",
                        align_corners=False).squeeze()
    cam = cam - cam.min()
    cam = cam / (cam.max() + 1e-8)
    return cam.numpy()


def a_overlay_heatmap(original_image, heatmap, alpha=0.4):
    # plt.get_cmap("jet"), float math, then astype(np.uint8) (truncates instead of rounding)
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("jet")
    colored = cmap(heatmap)[:, :, :3] * 255
    result = (1 - alpha) * original_image + alpha * colored
    return result.astype(np.uint8)


def a_saliency_map(model, input_tensor, class_idx=None):
    # .backward() and x.grad; max over channels with .max(dim=1).values; numpy min-max with an if
    was_training = model.training
    model.eval()
    x = input_tensor.detach().clone().requires_grad_(True)
    try:
        logits = model(x)
        if class_idx is None:
            class_idx = logits.argmax(dim=1).item()
        model.zero_grad()
        logits[0, class_idx].backward()
        model.zero_grad()
    finally:
        model.train(was_training)
    saliency = x.grad.abs().max(dim=1).values[0].numpy()
    if saliency.max() == saliency.min():
        return np.zeros_like(saliency)
    return (saliency - saliency.min()) / (saliency.max() - saliency.min())


# --- B: get_submodule, autograd.grad, per-module modes in a dict; numpy for the CAM; adaptive_avg_pool2d ----------

def _b_forward(model, input_tensor, target_layer, class_idx):
    layer = model.get_submodule(target_layer)
    outputs = []
    handle = layer.register_forward_hook(lambda module, inputs, output: outputs.append(output))
    modes = {module: module.training for module in model.modules()}
    model.eval()
    try:
        x = input_tensor.detach().clone().requires_grad_(True)
        logits = model(x)
    finally:
        handle.remove()
        for module, mode in modes.items():
            module.train(mode)
    if class_idx is None:
        class_idx = torch.argmax(logits[0]).item()
    activations = outputs[0]
    gradients = torch.autograd.grad(logits[0, class_idx], activations)[0]
    return activations, gradients


def b_grad_cam_weights(model, input_tensor, target_layer, class_idx=None):
    # global average pooling as F.adaptive_avg_pool2d(grad, 1), flattened
    _, gradients = _b_forward(model, input_tensor, target_layer, class_idx)
    return F.adaptive_avg_pool2d(gradients, 1).flatten()


def b_grad_cam(model, input_tensor, target_layer="layer4", class_idx=None):
    # weights and activations to numpy: np.tensordot, np.maximum; F.interpolate on torch.from_numpy;
    # numpy min-max with an explicit branch for max == min
    activations, gradients = _b_forward(model, input_tensor, target_layer, class_idx)
    weights = F.adaptive_avg_pool2d(gradients, 1).flatten().numpy()
    maps = activations[0].detach().numpy()
    cam = np.maximum(np.tensordot(weights, maps, axes=1), 0)
    height, width = input_tensor.shape[-2:]
    cam = F.interpolate(torch.from_numpy(cam)[None, None], size=(height, width), mode="bilinear",
                        align_corners=False)[0, 0].numpy()
    low, high = cam.min(), cam.max()
    if high - low == 0:
        return np.zeros((height, width), dtype=np.float32)
    return (cam - low) / (high - low)


def b_overlay_heatmap(original_image, heatmap, alpha=0.4):
    # matplotlib.cm.jet, float32 math, np.round and np.clip
    import matplotlib.cm

    colored = matplotlib.cm.jet(heatmap)[..., :3].astype(np.float32) * 255.0
    image = original_image.astype(np.float32)
    result = (1.0 - alpha) * image + alpha * colored
    return np.clip(np.round(result), 0, 255).astype(np.uint8)


def b_saliency_map(model, input_tensor, class_idx=None):
    # torch.autograd.grad w.r.t. the copy; numpy abs and max over the channel axis; epsilon 1e-8
    modes = {module: module.training for module in model.modules()}
    model.eval()
    try:
        x = input_tensor.detach().clone().requires_grad_(True)
        logits = model(x)
    finally:
        for module, mode in modes.items():
            module.train(mode)
    if class_idx is None:
        class_idx = torch.argmax(logits[0]).item()
    (gradient,) = torch.autograd.grad(logits[0, class_idx], x)
    saliency = np.max(np.abs(gradient[0].numpy()), axis=0)
    return (saliency - saliency.min()) / (saliency.max() - saliency.min() + 1e-8)


# --- C: a deep copy of the model in float64 (no hooks or modes to undo on the caller's model); retain_grad -------

def _c_copy(model):
    return copy.deepcopy(model).double().eval()


def _c_capture(model, input_tensor, target_layer, class_idx):
    net = _c_copy(model)
    layer = functools.reduce(getattr, target_layer.split("."), net)  # "layer3.0.conv1" -> net.layer3[0].conv1
    saved = []

    def keep(module, inputs, output):
        output.retain_grad()
        saved.append(output)

    handle = layer.register_forward_hook(keep)
    try:
        x = input_tensor.detach().clone().double().requires_grad_(True)
        scores = net(x)
        if class_idx is None:
            class_idx = int(scores.argmax())
        scores[0, class_idx].backward()
    finally:
        handle.remove()
    activation = saved[-1]
    return activation.detach()[0], activation.grad[0]


def c_grad_cam_weights(model, input_tensor, target_layer, class_idx=None):
    # float64 throughout; alpha as einsum sum over positions divided by Z = h * w
    _, gradient = _c_capture(model, input_tensor, target_layer, class_idx)
    channels, h, w = gradient.shape
    return torch.einsum("khw->k", gradient) / (h * w)


def c_grad_cam(model, input_tensor, target_layer="layer4", class_idx=None):
    # float64: einsum combination, torch.clamp(min=0), interpolate in float64, torch.where for max == min
    activation, gradient = _c_capture(model, input_tensor, target_layer, class_idx)
    alpha = gradient.mean(dim=(1, 2))
    cam = torch.clamp(torch.einsum("k,khw->hw", alpha, activation), min=0)
    cam = F.interpolate(cam[None, None], size=tuple(input_tensor.shape[-2:]), mode="bilinear",
                        align_corners=False)[0, 0]
    span = cam.max() - cam.min()
    cam = torch.where(span > 0, (cam - cam.min()) / torch.where(span > 0, span, torch.ones_like(span)),
                      torch.zeros_like(cam))
    return cam.numpy()


def c_overlay_heatmap(original_image, heatmap, alpha=0.4):
    # image scaled to [0, 1] first, blended, back to 0..255 with np.rint
    from matplotlib import colormaps

    image = np.asarray(original_image) / 255.0
    colours = colormaps["jet"](np.asarray(heatmap))[..., :3]
    blended = (1 - alpha) * image + alpha * colours
    return np.rint(blended * 255).clip(0, 255).astype(np.uint8)


def c_saliency_map(model, input_tensor, class_idx=None):
    # float64 copy of the model; torch amax over the channel dim, torch min-max
    net = _c_copy(model)
    x = input_tensor.detach().clone().double().requires_grad_(True)
    scores = net(x)
    if class_idx is None:
        class_idx = int(scores.argmax())
    scores[0, class_idx].backward()
    s = x.grad[0].abs().amax(dim=0)
    s = s - s.min()
    if s.max() > 0:
        s = s / s.max()
    return s.numpy()


# --- D: register_full_backward_hook (grad_output[0]), getattr lookup; torchvision's bilinear resize --------------

def _d_capture(model, input_tensor, target_layer, class_idx):
    layer = model
    for part in target_layer.split("."):
        layer = getattr(layer, part)
    store = {}
    handles = [
        layer.register_forward_hook(lambda module, inputs, output: store.update(A=output.detach())),
        layer.register_full_backward_hook(lambda module, grad_in, grad_out: store.update(dA=grad_out[0].detach())),
    ]
    training = [(module, module.training) for module in model.modules()]
    try:
        model.eval()
        x = input_tensor.detach().clone()
        x.requires_grad = True
        logits = model(x)
        c = logits[0].argmax().item() if class_idx is None else class_idx
        torch.autograd.grad(logits[0, c], x)  # the backward hook receives dy/dA on the way
    finally:
        for handle in handles:
            handle.remove()
        for module, mode in training:
            module.training = mode
    return store["A"], store["dA"]


def d_grad_cam_weights(model, input_tensor, target_layer, class_idx=None):
    # gradients from a full backward hook; alpha as sum over h, w divided by Z
    _, dA = _d_capture(model, input_tensor, target_layer, class_idx)
    z = dA.shape[2] * dA.shape[3]
    return dA[0].sum(dim=(1, 2)) / z


def d_grad_cam(model, input_tensor, target_layer="layer4", class_idx=None):
    # the combination under torch.no_grad(); torchvision.transforms.functional.resize (bilinear, antialias=False:
    # the same as F.interpolate)
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms.functional import resize

    A, dA = _d_capture(model, input_tensor, target_layer, class_idx)
    with torch.no_grad():
        alpha = dA.mean(dim=(2, 3), keepdim=True)
        cam = torch.relu((alpha * A).sum(dim=1))  # (1, h, w)
    cam = resize(cam, [input_tensor.shape[2], input_tensor.shape[3]], interpolation=InterpolationMode.BILINEAR,
                 antialias=False)[0]
    lo, hi = torch.min(cam), torch.max(cam)
    if hi > lo:
        cam = (cam - lo) / (hi - lo)
    else:
        cam = torch.zeros_like(cam)
    return cam.cpu().numpy()


def d_overlay_heatmap(original_image, heatmap, alpha=0.4):
    # ScalarMappable(cmap="jet").to_rgba(..., bytes=True): the colour table as uint8 (truncated), then rint
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    mapper = ScalarMappable(norm=Normalize(vmin=0.0, vmax=1.0), cmap="jet")
    colours = mapper.to_rgba(heatmap, bytes=True)[..., :3].astype(float)
    out = (1 - alpha) * original_image.astype(float) + alpha * colours
    return np.rint(out).astype(np.uint8)


def d_saliency_map(model, input_tensor, class_idx=None):
    # .backward() into a leaf copy; .abs().amax(dim=1).squeeze(0); epsilon 1e-7 like pytorch-grad-cam
    training = [(module, module.training) for module in model.modules()]
    try:
        model.eval()
        x = input_tensor.detach().clone()
        x.requires_grad = True
        logits = model(x)
        c = logits[0].argmax().item() if class_idx is None else class_idx
        logits[0, c].backward()
    finally:
        for module, mode in training:
            module.training = mode
        model.zero_grad(set_to_none=True)
    saliency = x.grad.abs().amax(dim=1).squeeze(0)
    saliency = (saliency - saliency.min()) / (saliency.max() - saliency.min() + 1e-7)
    return saliency.numpy()


# --- E: numpy and OpenCV (cv2.resize INTER_LINEAR, cv2.addWeighted with matplotlib's jet) --------------------------

def _e_gradients(model, input_tensor, target_layer, class_idx):
    # input_tensor.detach().requires_grad_() without clone: the gradient lands on the new leaf, not the caller's
    modules = dict(model.named_modules())
    target = modules[target_layer]
    feature_maps = []
    hook = target.register_forward_hook(lambda m, i, o: feature_maps.append(o))
    state = [m.training for m in model.modules()]
    model.eval()
    try:
        inp = input_tensor.detach().requires_grad_(True)  # a new leaf on the same data: the caller's stays as it is
        out = model(inp)
        if class_idx is None:
            class_idx = int(np.argmax(out.detach().numpy()[0]))
        grads = torch.autograd.grad(out[0, class_idx], feature_maps[0])[0]
    finally:
        hook.remove()
        for m, s in zip(model.modules(), state):
            m.training = s
    return feature_maps[0][0].detach().numpy(), grads[0].numpy()


def e_grad_cam_weights(model, input_tensor, target_layer, class_idx=None):
    # np.mean over axes (1, 2), back to a tensor
    _, grads = _e_gradients(model, input_tensor, target_layer, class_idx)
    return torch.from_numpy(np.mean(grads, axis=(1, 2)))


def e_grad_cam(model, input_tensor, target_layer="layer4", class_idx=None):
    # numpy weighted sum, np.maximum, cv2.resize(cam, (W, H)) INTER_LINEAR, min then / (max + 1e-7)
    activations, grads = _e_gradients(model, input_tensor, target_layer, class_idx)
    weights = np.mean(grads, axis=(1, 2))
    cam = np.zeros(activations.shape[1:], dtype=np.float32)
    for k, w in enumerate(weights):
        cam += w * activations[k]
    cam = np.maximum(cam, 0)
    height, width = input_tensor.shape[2:]
    cam = cv2.resize(cam, (width, height), interpolation=cv2.INTER_LINEAR)
    cam = cam - np.min(cam)
    cam = cam / (1e-7 + np.max(cam))
    return cam


def e_overlay_heatmap(original_image, heatmap, alpha=0.4):
    # matplotlib's jet as uint8 (np.uint8 truncates), blended by cv2.addWeighted (rounds and saturates)
    from matplotlib import colormaps

    coloured = np.uint8(255 * colormaps["jet"](heatmap)[:, :, :3])
    return cv2.addWeighted(np.ascontiguousarray(original_image), 1 - alpha, coloured, alpha, 0)


def e_saliency_map(model, input_tensor, class_idx=None):
    # numpy everywhere after autograd.grad; np.abs(...).max(axis=0) and cv2.normalize (NORM_MINMAX)
    state = [m.training for m in model.modules()]
    model.eval()
    try:
        inp = input_tensor.detach().clone().requires_grad_(True)
        out = model(inp)
        if class_idx is None:
            class_idx = int(np.argmax(out.detach().numpy()[0]))
        (grad,) = torch.autograd.grad(out[0, class_idx], inp)
    finally:
        for m, s in zip(model.modules(), state):
            m.training = s
    saliency = np.abs(grad[0].numpy()).max(axis=0)
    if saliency.max() == saliency.min():
        return np.zeros_like(saliency)
    return cv2.normalize(saliency, None, 0.0, 1.0, cv2.NORM_MINMAX)


# --- F: a context manager for the eval mode, loops over channels in float64, a 256-entry jet by index ------------

class _EvalMode:
    def __init__(self, model):
        self.model = model

    def __enter__(self):
        self.modes = [m.training for m in self.model.modules()]
        self.model.eval()
        return self.model

    def __exit__(self, *exc):
        for m, mode in zip(self.model.modules(), self.modes):
            m.train(mode)
        return False


def _f_cam_inputs(model, input_tensor, target_layer, class_idx):
    layer = None
    for name, module in model.named_modules():
        if name == target_layer:
            layer = module
    activation = {}
    handle = layer.register_forward_hook(lambda module, inp, out: activation.setdefault("A", out))
    try:
        with _EvalMode(model):
            x = input_tensor.detach().clone().requires_grad_(True)
            with torch.enable_grad():
                logits = model(x)
    finally:
        handle.remove()
    if class_idx is None:
        class_idx = int(torch.max(logits, dim=1)[1])
    score = logits[0][class_idx]
    grads = torch.autograd.grad(score, activation["A"], retain_graph=False)[0]
    return activation["A"][0].detach().double(), grads[0].double()


def f_grad_cam_weights(model, input_tensor, target_layer, class_idx=None):
    # float64 gradients, one channel at a time in a loop
    _, grads = _f_cam_inputs(model, input_tensor, target_layer, class_idx)
    return torch.stack([grads[k].mean() for k in range(grads.shape[0])])


def f_grad_cam(model, input_tensor, target_layer="layer4", class_idx=None):
    # float64 loop over channels, ReLU via np.maximum on the numpy map, F.interpolate in float64
    A, grads = _f_cam_inputs(model, input_tensor, target_layer, class_idx)
    cam = torch.zeros(A.shape[1:], dtype=torch.float64)
    for k in range(A.shape[0]):
        cam += grads[k].mean() * A[k]
    cam = torch.from_numpy(np.maximum(cam.numpy(), 0.0))
    H, W = input_tensor.shape[-2], input_tensor.shape[-1]
    up = F.interpolate(cam.view(1, 1, *cam.shape), size=(H, W), mode="bilinear", align_corners=False).view(H, W)
    up = up.numpy()
    rng = up.max() - up.min()
    return (up - up.min()) / rng if rng > 0 else np.zeros_like(up)


def f_overlay_heatmap(original_image, heatmap, alpha=0.4):
    # the 256 colours of the table, indexed with np.uint8(255 * heatmap) (pytorch-grad-cam's quantisation), and
    # truncated by astype instead of rounded: both deviations the task text allows at once (up to 3.7 levels)
    from matplotlib import colormaps

    lut = colormaps["jet"](np.arange(256))[:, :3] * 255.0
    colours = lut[np.uint8(255 * np.clip(heatmap, 0, 1))]
    return ((1 - alpha) * original_image + alpha * colours).astype(np.uint8)


def f_saliency_map(model, input_tensor, class_idx=None):
    # with-statement for the mode; float64 numpy min-max
    with _EvalMode(model):
        x = input_tensor.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            logits = model(x)
    if class_idx is None:
        class_idx = int(torch.max(logits, dim=1)[1])
    grad = torch.autograd.grad(logits[0][class_idx], x)[0][0].double().numpy()
    s = np.abs(grad).max(axis=0)
    lo, hi = s.min(), s.max()
    return (s - lo) / (hi - lo) if hi > lo else np.zeros_like(s)


# --- the sanity check (task 4), each student's own way --------------------------------------------------------------

def a_randomisation_check(model, input_tensor, layers, explain, seed=0):
    # named_modules with a prefix test, scipy.stats.spearmanr(...)[0], maps kept as float32
    from scipy.stats import spearmanr

    randomised = copy.deepcopy(model)
    original = np.asarray(explain(randomised, input_tensor), dtype=np.float32)
    torch.manual_seed(seed)
    maps, correlations = [], []
    for layer in layers:
        for name, module in randomised.named_modules():
            if (name == layer or name.startswith(layer + ".")) and hasattr(module, "reset_parameters"):
                module.reset_parameters()
        current = np.asarray(explain(randomised, input_tensor), dtype=np.float32)
        maps.append(current)
        correlations.append(spearmanr(original.flatten(), current.flatten())[0])
    return {"maps": np.array(maps), "correlations": np.array(correlations)}


def b_randomisation_check(model, input_tensor, layers, explain, seed=0):
    # a fresh copy per step, layers[:i + 1] reset after the same seed (the same draws); ranks by rankdata
    from scipy.stats import rankdata

    original = np.asarray(explain(copy.deepcopy(model), input_tensor), dtype=np.float64).ravel()
    maps, correlations = [], []
    for step in range(len(layers)):
        randomised = copy.deepcopy(model)
        torch.manual_seed(seed)
        for layer in layers[: step + 1]:
            for module in dict(randomised.named_modules())[layer].modules():
                if hasattr(module, "reset_parameters"):
                    module.reset_parameters()
        current = np.asarray(explain(randomised, input_tensor), dtype=np.float64)
        maps.append(current)
        correlations.append(np.corrcoef(rankdata(original), rankdata(current.ravel()))[0, 1])
    return {"maps": np.stack(maps), "correlations": np.array(correlations)}


def c_randomisation_check(model, input_tensor, layers, explain, seed=0):
    # Module.apply (children before parents: the leaves keep their order), pandas' Spearman
    import pandas as pd

    def reset(module):
        if hasattr(module, "reset_parameters"):
            module.reset_parameters()

    randomised = copy.deepcopy(model)
    original = pd.Series(np.asarray(explain(randomised, input_tensor)).reshape(-1))
    torch.manual_seed(seed)
    result = {"maps": [], "correlations": []}
    for layer in layers:
        randomised.get_submodule(layer).apply(reset)
        current = np.asarray(explain(randomised, input_tensor))
        result["maps"].append(current)
        result["correlations"].append(original.corr(pd.Series(current.reshape(-1)), method="spearman"))
    result["maps"] = np.array(result["maps"])
    result["correlations"] = np.array(result["correlations"])
    return result


def _d_ranks(values):
    # average ranks of a 1-D tensor, ties sharing the mean of their positions
    order = torch.argsort(values)
    ranks = torch.empty_like(values)
    ranks[order] = torch.arange(1, len(values) + 1, dtype=values.dtype)
    unique, inverse = torch.unique(values, return_inverse=True)
    sums = torch.zeros(len(unique), dtype=values.dtype).index_add_(0, inverse, ranks)
    counts = torch.zeros(len(unique), dtype=values.dtype).index_add_(0, inverse, torch.ones_like(ranks))
    return (sums / counts)[inverse]


def d_randomisation_check(model, input_tensor, layers, explain, seed=0):
    # torch throughout: ranks by hand (average ranks for ties), torch.corrcoef; maps as a list of tensors
    model_copy = copy.deepcopy(model)
    original = torch.as_tensor(np.asarray(explain(model_copy, input_tensor)), dtype=torch.float64).flatten()
    original_ranks = _d_ranks(original)
    torch.manual_seed(seed)
    maps, correlations = [], []
    for layer in layers:
        for _, module in model_copy.get_submodule(layer).named_modules():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
        current = torch.as_tensor(np.asarray(explain(model_copy, input_tensor)), dtype=torch.float64)
        maps.append(current)
        correlations.append(float(torch.corrcoef(torch.stack([original_ranks, _d_ranks(current.flatten())]))[0, 1]))
    return {"maps": maps, "correlations": correlations}


def _f_rank_correlation(a, b):
    from scipy.stats import rankdata

    ra, rb = rankdata(a) - (len(a) + 1) / 2, rankdata(b) - (len(b) + 1) / 2
    return float((ra * rb).sum() / np.sqrt((ra ** 2).sum() * (rb ** 2).sum()))


def f_randomisation_check(model, input_tensor, layers, explain, seed=0):
    # the formula: r of the centred ranks, written out; a while loop over the layers
    net = copy.deepcopy(model)
    before = np.asarray(explain(net, input_tensor), dtype=np.float64).ravel()
    torch.manual_seed(seed)
    modules = dict(net.named_modules())
    maps, correlations, index = [], [], 0
    while index < len(layers):
        for part in modules[layers[index]].modules():
            if callable(getattr(part, "reset_parameters", None)):
                part.reset_parameters()
        after = np.asarray(explain(net, input_tensor), dtype=np.float64)
        maps.append(after)
        correlations.append(_f_rank_correlation(before, after.ravel()))
        index += 1
    return {"maps": np.asarray(maps), "correlations": np.asarray(correlations)}


e_randomisation_check = b_randomisation_check  # (E, the cv2 student, only when cv2 is there: written as B's)


def _student(prefix: str) -> dict:
    functions = globals()
    return {name: functions[f"{prefix}_{name}"]
            for name in ("grad_cam_weights", "grad_cam", "overlay_heatmap", "saliency_map", "randomisation_check")}


ALTERNATIVES = {
    "register_hook_backward": _student("a"),
    "autograd_grad_numpy_cam": _student("b"),
    "deepcopy_float64": _student("c"),
    "full_backward_hook_torchvision_resize": _student("d"),
    "loops_float64_lut_index": _student("f"),
}
if cv2 is not None:
    ALTERNATIVES["numpy_cv2"] = _student("e")
