"""Reference Grad-CAM, overlay and vanilla-gradient saliency map, and the known-wrong variants.

Grad-CAM (Selvaraju et al. 2017) for one image (batch of size 1):
  A^k   = activation of ``target_layer`` (a name from ``model.named_modules()``), channel k,
  y^c   = logit of class c (before softmax); ``class_idx=None`` -> the predicted (top) class,
  alpha_k = 1/Z * sum_ij dy^c / dA^k_ij                    (global average of the gradient),
  L     = ReLU(sum_k alpha_k A^k),
  heatmap = min-max normalised bilinear upsampling of L to the input's H x W
            (``align_corners=False``; an all-zero L gives zeros, not NaN).

Cost: one forward pass with a forward hook that keeps the layer's output, and one
``torch.autograd.grad`` of the logit with respect to that output (no backward into the
parameters, no second pass). The model's hooks, parameters, ``requires_grad`` flags and
train/eval modes are as before, and the caller's input tensor is not touched.
"""

from __future__ import annotations

import xaikit  # noqa: F401  (torch/triton before anything can import TensorFlow)

import numpy as np
import torch
import torch.nn.functional as F


def _as_batch(input_tensor):
    x = torch.as_tensor(input_tensor)
    if x.dim() == 3:
        x = x.unsqueeze(0)
    if x.dim() != 4 or x.shape[0] != 1:
        raise ValueError(f"expected an input of shape (1, C, H, W), got {tuple(x.shape)}")
    return x.detach()


def _find_layer(model, target_layer):
    modules = dict(model.named_modules())
    if target_layer not in modules:
        names = [name for name in modules if name][:12]
        raise KeyError(f"no layer {target_layer!r} in the model; names are e.g. {names}")
    return modules[target_layer]


def _to_eval(model):
    """Switch to eval mode; return the modules that were in training mode (to restore them).

    Touches no module when the model is already in eval mode: setting ``training`` goes through
    ``nn.Module.__setattr__`` and costs a few milliseconds on a small model."""
    training = [module for module in model.modules() if module.training]
    if training:
        model.eval()
    return training


def _restore(training):
    for module in training:
        module.training = True


def _cam_pass(model, input_tensor, target_layer, class_idx, *, softmax=False, keep_hook=False,
              restore_mode=True, freeze=False, mutate_input=False):
    """One forward (hook on the layer) + autograd.grad of the class score w.r.t. the activation.

    Returns (activation (K, h, w), gradient (K, h, w), class index). The keyword options exist
    only to build the known-wrong variants below.
    """
    layer = _find_layer(model, target_layer)
    captured = []
    handle = layer.register_forward_hook(lambda module, inputs, output: captured.append(output))
    if mutate_input:
        x = input_tensor.requires_grad_(True)  # variant: changes the caller's tensor
    else:
        x = _as_batch(input_tensor).requires_grad_(True)  # a graph even if all parameters are frozen
    if freeze:
        for parameter in model.parameters():
            parameter.requires_grad_(False)
    training = _to_eval(model)
    try:
        with torch.enable_grad():
            logits = model(x)
    finally:
        if not keep_hook:
            handle.remove()
        if restore_mode:
            _restore(training)
    if not captured:
        raise RuntimeError(f"layer {target_layer!r} was not used in the forward pass")
    activation = captured[-1]
    if not torch.is_tensor(activation):
        raise TypeError(f"layer {target_layer!r} does not output a tensor")
    if class_idx is None:
        class_idx = int(logits[0].argmax())
    score = torch.softmax(logits, dim=1)[0, class_idx] if softmax else logits[0, int(class_idx)]
    (gradient,) = torch.autograd.grad(score, activation)
    return activation[0].detach(), gradient[0].detach(), int(class_idx)


def _pool(activation, gradient, pooling):
    if pooling == "mean":
        return gradient.mean(dim=(1, 2))
    if pooling == "max":
        return gradient.amax(dim=(1, 2))
    if pooling == "abs":
        return gradient.abs().mean(dim=(1, 2))
    if pooling == "activation":
        return activation.mean(dim=(1, 2))
    raise ValueError(pooling)


def _minmax(cam):
    low, high = cam.min(), cam.max()
    return (cam - low) / (high - low) if high > low else torch.zeros_like(cam)


def _heatmap(activation, weights, size, *, relu=True, mode="bilinear", normalise=True, transpose=False,
             normalise_first=False):
    cam = torch.einsum("k,khw->hw", weights, activation)
    if relu:
        cam = torch.relu(cam)
    if normalise_first:  # variant: min-max on the small map, then upsampling (the notebook asks the other order)
        cam, normalise = _minmax(cam), False
    if mode == "bilinear":
        cam = F.interpolate(cam[None, None], size=size, mode="bilinear", align_corners=False)[0, 0]
    else:
        cam = F.interpolate(cam[None, None], size=size, mode="nearest")[0, 0]
    if normalise:
        cam = _minmax(cam)
    heatmap = cam.cpu().numpy().astype(np.float32)
    return heatmap.T if transpose else heatmap


def grad_cam_weights(model, input_tensor, target_layer, class_idx=None):
    """alpha_k = mean over (i, j) of d logit_c / d A^k_ij: a 1-D tensor, one weight per channel."""
    activation, gradient, _ = _cam_pass(model, input_tensor, target_layer, class_idx)
    return gradient.mean(dim=(1, 2))


def grad_cam(model, input_tensor, target_layer="layer4", class_idx=None):
    """Grad-CAM heatmap (H, W) at the input's resolution, float32 in [0, 1]."""
    activation, gradient, _ = _cam_pass(model, input_tensor, target_layer, class_idx)
    return _heatmap(activation, gradient.mean(dim=(1, 2)), tuple(input_tensor.shape[-2:]))


def overlay_heatmap(original_image, heatmap, alpha=0.4):
    """(1 - alpha) * image + alpha * jet(heatmap), as RGB uint8 (H, W, 3)."""
    from matplotlib import colormaps

    image = np.asarray(original_image, dtype=np.float64)
    if image.max() <= 1.0 and np.asarray(original_image).dtype.kind == "f":
        image = image * 255.0  # a float image in [0, 1]
    coloured = colormaps["jet"](np.clip(np.asarray(heatmap, dtype=np.float64), 0.0, 1.0))[..., :3] * 255.0
    blended = (1.0 - alpha) * image[..., :3] + alpha * coloured
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def saliency_map(model, input_tensor, class_idx=None, *, _abs=True, _reduce="max", _mutate=False):
    """Vanilla-gradient saliency: max over colour channels of |d logit_c / d x|, min-max normalised to [0, 1]."""
    x = input_tensor.requires_grad_(True) if _mutate else _as_batch(input_tensor).requires_grad_(True)
    training = _to_eval(model)
    try:
        with torch.enable_grad():
            logits = model(x)
    finally:
        _restore(training)
    if class_idx is None:
        class_idx = int(logits[0].argmax())
    (gradient,) = torch.autograd.grad(logits[0, int(class_idx)], x)
    gradient = gradient[0].detach()
    if _abs:
        gradient = gradient.abs()
    saliency = gradient.amax(dim=0) if _reduce == "max" else gradient.mean(dim=0)
    low, high = saliency.min(), saliency.max()
    saliency = (saliency - low) / (high - low) if high > low else torch.zeros_like(saliency)
    return saliency.cpu().numpy().astype(np.float32)


def _spearman(a, b) -> float:
    """Spearman's rank correlation of two flattened maps: Pearson's r of their ranks (ties: average ranks)."""
    from scipy.stats import spearmanr

    return float(spearmanr(np.ravel(a), np.ravel(b)).statistic)


def randomisation_check(model, input_tensor, layers, explain, seed=0, *, _cumulative=True, _from_top=True,
                        _rank=True, _copy=True):
    """Cascading model randomisation (Adebayo et al. 2018) on a deep copy of ``model``: the map ``explain(copy, x)``
    before, then ``torch.manual_seed(seed)`` once, and for each name of ``layers`` in the given order (from the top)
    ``reset_parameters()`` of every submodule of that module that has it (order of ``module.modules()``), keeping
    the earlier layers re-initialised, and the map after each step. Returns ``{"maps": (len(layers), H, W),
    "correlations": (len(layers),)}``: each map's Spearman correlation with the original map. The keyword options
    exist only to build the known-wrong variants below."""
    import copy

    work = copy.deepcopy(model) if _copy else model
    original = np.asarray(explain(work, input_tensor), dtype=np.float64)
    order = list(layers) if _from_top else list(layers)[::-1]
    torch.manual_seed(seed)
    maps, correlations = [], []
    for name in order:
        if not _cumulative:  # variant: each layer alone, on a fresh copy
            work = copy.deepcopy(model)
            torch.manual_seed(seed)
        for module in work.get_submodule(name).modules():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
        explanation = np.asarray(explain(work, input_tensor), dtype=np.float64)
        maps.append(explanation)
        correlations.append(_spearman(original, explanation) if _rank
                            else float(np.corrcoef(original.ravel(), explanation.ravel())[0, 1]))
    return {"maps": np.stack(maps), "correlations": np.asarray(correlations)}


# ---------------------------------------------------------------------------------------------
# Known-wrong variants: each a complete implementation with one typical mistake.

def _variant(pooling="mean", relu=True, mode="bilinear", normalise=True, transpose=False, normalise_first=False,
             **cam_options):
    def weights(model, input_tensor, target_layer, class_idx=None):
        activation, gradient, _ = _cam_pass(model, input_tensor, target_layer, class_idx, **cam_options)
        return _pool(activation, gradient, pooling)

    def cam(model, input_tensor, target_layer="layer4", class_idx=None):
        activation, gradient, _ = _cam_pass(model, input_tensor, target_layer, class_idx, **cam_options)
        return _heatmap(activation, _pool(activation, gradient, pooling), tuple(input_tensor.shape[-2:]),
                        relu=relu, mode=mode, normalise=normalise, transpose=transpose,
                        normalise_first=normalise_first)

    return {"grad_cam_weights": weights, "grad_cam": cam}


def _wrong_layer_cam(model, input_tensor, target_layer="layer4", class_idx=None):
    return grad_cam(model, input_tensor, "layer4", class_idx)  # ignores target_layer


def _none_is_class_zero(model, input_tensor, target_layer="layer4", class_idx=None):
    return grad_cam(model, input_tensor, target_layer, 0 if class_idx is None else class_idx)


def _overlay_alpha_swapped(original_image, heatmap, alpha=0.4):
    return overlay_heatmap(original_image, heatmap, 1.0 - alpha)


def _overlay_bgr(original_image, heatmap, alpha=0.4):
    from matplotlib import colormaps

    coloured = colormaps["jet"](np.asarray(heatmap, dtype=np.float64))[..., 2::-1] * 255.0  # BGR, as cv2 gives
    blended = (1.0 - alpha) * np.asarray(original_image, dtype=np.float64) + alpha * coloured
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def _saliency(**options):
    def saliency(model, input_tensor, class_idx=None):
        return saliency_map(model, input_tensor, class_idx, **options)
    return saliency


def _randomisation(**options):
    def check(model, input_tensor, layers, explain, seed=0):
        return randomisation_check(model, input_tensor, layers, explain, seed, **options)
    return check


VARIANTS = {
    "no_relu": _variant(relu=False),
    "max_pooled_gradients": _variant(pooling="max"),
    "activations_averaged": _variant(pooling="activation"),
    "softmax_instead_of_logit": _variant(softmax=True),
    "absolute_gradients": _variant(pooling="abs"),
    "no_normalisation": _variant(normalise=False),
    "nearest_upsampling": _variant(mode="nearest"),
    "normalised_before_upsampling": _variant(normalise_first=True),
    "heatmap_transposed": _variant(transpose=True),
    "hooks_left_registered": _variant(keep_hook=True),
    "wrong_layer": {"grad_cam": _wrong_layer_cam},
    "mode_not_restored": _variant(restore_mode=False),
    "requires_grad_changed": _variant(freeze=True),
    "input_mutated": _variant(mutate_input=True),
    "none_not_top_class": {"grad_cam": _none_is_class_zero},
    "overlay_alpha_swapped": {"overlay_heatmap": _overlay_alpha_swapped},
    "overlay_bgr": {"overlay_heatmap": _overlay_bgr},
    "saliency_no_abs": {"saliency_map": _saliency(_abs=False)},
    "saliency_mean_over_channels": {"saliency_map": _saliency(_reduce="mean")},
    "saliency_mutates_input": {"saliency_map": _saliency(_mutate=True)},
    "randomisation_not_cumulative": {"randomisation_check": _randomisation(_cumulative=False)},
    "randomisation_from_bottom": {"randomisation_check": _randomisation(_from_top=False)},
    "randomisation_pearson": {"randomisation_check": _randomisation(_rank=False)},
    "randomisation_caller_model": {"randomisation_check": _randomisation(_copy=False)},
}
