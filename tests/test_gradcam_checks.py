"""The Grad-CAM checks: the expectations table (tests/test_exercises.py runs it: every known mistake loses
exactly its checks, with its own message) and the reference's correctness (against pytorch-grad-cam and Captum)."""

from __future__ import annotations

import xaikit  # noqa: F401  (torch/triton first)

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from helpers import hidden_setup
from reference_solutions import gradcam as reference

WEIGHTS = {"weights.embedded", "weights.random_cnns"}
# variant -> the checks it must fail (and nothing else); the message must be the variant's own.
EXPECTED_LOSSES = {
    "no_relu": {"grad_cam.values", "grad_cam.all_negative"},
    "max_pooled_gradients": WEIGHTS | {"grad_cam.values", "grad_cam.layer"},
    "activations_averaged": WEIGHTS | {"grad_cam.values", "grad_cam.all_negative", "grad_cam.class_dependence"},
    "softmax_instead_of_logit": WEIGHTS | {"grad_cam.values", "grad_cam.class_dependence"},
    "absolute_gradients": WEIGHTS | {"grad_cam.values", "grad_cam.all_negative", "grad_cam.class_dependence"},
    "no_normalisation": {"grad_cam.values"},
    "nearest_upsampling": {"grad_cam.values"},
    "normalised_before_upsampling": {"grad_cam.values"},
    "heatmap_transposed": {"grad_cam.shape_range", "grad_cam.values"},
    "hooks_left_registered": {"grad_cam.hooks_removed"},
    "wrong_layer": {"grad_cam.layer"},
    "mode_not_restored": {"grad_cam.mode_restored"},
    "requires_grad_changed": {"grad_cam.model_unchanged"},
    "input_mutated": {"grad_cam.input_unchanged"},
    "none_not_top_class": {"grad_cam.values", "grad_cam.class_dependence"},
    "overlay_alpha_swapped": {"overlay.values"},
    "overlay_bgr": {"overlay.values"},
    "saliency_no_abs": {"saliency.values"},
    "saliency_mean_over_channels": {"saliency.values"},
    "saliency_mutates_input": {"saliency.input_unchanged"},
    "randomisation_not_cumulative": {"randomisation.maps", "randomisation.correlations"},
    "randomisation_from_bottom": {"randomisation.maps", "randomisation.correlations"},
    "randomisation_pearson": {"randomisation.correlations"},
    "randomisation_caller_model": {"randomisation.model_unchanged"},
}
# (variant, check) -> message key, where the check names the mistake by its symptom: on the all-negative
# case "activations averaged" and "absolute gradients" give the same (positive) map, so no single variant fits.
MESSAGE_FOR = {("activations_averaged", "grad_cam.all_negative"): "all_negative_not_zero",
               ("absolute_gradients", "grad_cam.all_negative"): "all_negative_not_zero"}
REQUIRED_MISTAKES = {"no_relu", "max_pooled_gradients", "activations_averaged", "softmax_instead_of_logit",
                     "absolute_gradients", "no_normalisation", "nearest_upsampling", "heatmap_transposed",
                     "hooks_left_registered", "wrong_layer"}


def test_every_variant_is_tested_and_the_issue_list_is_covered():
    assert set(EXPECTED_LOSSES) == set(reference.VARIANTS)
    assert REQUIRED_MISTAKES <= set(EXPECTED_LOSSES)


def test_messages_exist_in_both_languages_and_name_the_case():
    exercise, *_ = hidden_setup("gradcam")
    for key in set(exercise.variant_ids()) | {"class_ignored", "layer_not_used", "all_negative_nan",
                                                   "all_negative_not_zero", "randomisation_shape",
                                                   "randomisation_model_changed"}:
        entry = exercise.messages[key]
        assert set(entry) == {"de", "en"}
        assert "{case}" in entry["de"] and "{case}" in entry["en"]


def test_points_per_task():
    from autograder.checks import Exercise

    assert Exercise("gradcam").tasks == {"test_grad_cam_weights": 2, "test_grad_cam": 10, "test_overlay": 1,
                                         "test_saliency": 2, "test_randomisation": 3}


def test_hidden_cases_make_the_mistakes_distinguishable():
    exercise, cases, expected, _ = hidden_setup("gradcam")
    by_id = {c.id: c for c in cases}
    # transposition needs non-square inputs in the value checks, also for the random CNNs
    for case in cases:
        if "values" in case.tags or "random" in case.tags:
            assert case.inputs["x"].shape[-1] != case.inputs["x"].shape[-2], case.id
    # 'no ReLU' needs negative CAM parts: the all-negative case gives zeros
    assert np.all(expected["cam_all_negative"]["heatmap"] == 0)
    # the two classes, and the two layers, give clearly different reference maps
    from xaikit.selfcheck.exercises.gradcam import _differ

    for case_id in ("classes_random_0", "classes_random_1"):
        classes = expected[case_id]
        assert _differ(classes["cam_a"], classes["cam_b"])
        assert by_id[case_id].inputs["class_a"] != by_id[case_id].inputs["class_b"]
    for case in cases:
        if case.probe == "probe_layer":
            assert _differ(expected[case.id]["cam_layer"], expected[case.id]["cam_default"]), case.id


def test_on_every_hidden_set_each_mistake_loses_exactly_its_checks():
    """Not only on the variant tests' set: a check a mistake does not concern must not cost it a point on any
    of the K sets (the layer check did on some sets, when a candidate's two layers' maps came out alike)."""
    from autograder.checks import evaluate
    from helpers import all_hidden_sets, probe_all

    wrong = []
    for index, (exercise, cases, expected, variants) in enumerate(all_hidden_sets("gradcam")):
        for variant_id, overrides in reference.VARIANTS.items():
            results = probe_all(exercise, cases, {**vars(reference), **overrides})
            lost = {v.check_id for v in evaluate(exercise, cases, results, expected, variants) if not v.passed}
            if lost != EXPECTED_LOSSES[variant_id]:
                wrong.append(f"set {index + 1}: {variant_id} loses {sorted(lost)}")
    assert wrong == []


def test_hidden_inputs_differ_from_public_ones():
    from autograder.checks import Exercise

    exercise = Exercise("gradcam")
    public = exercise.build_cases(7, public=True)
    hidden = exercise.build_cases(20261125, public=False)
    assert len(hidden) > len(public)
    public_inputs = [c.inputs["x"] for c in public if "x" in c.inputs]
    for case in hidden:
        if "x" in case.inputs:
            assert not any(p.shape == case.inputs["x"].shape and torch.equal(p, case.inputs["x"])
                           for p in public_inputs), case.id


def _embedded_model_and_input(seed=123, size=(56, 72)):
    from xaikit.selfcheck.exercises.gradcam import _embedded, scene_tensor as _scene_tensor

    x, _ = _scene_tensor(seed, *size)
    return _embedded({}), x


def _minmax(cam):
    cam = np.asarray(cam, dtype=np.float64)
    return (cam - cam.min()) / (cam.max() - cam.min())


@pytest.mark.parametrize("layer,class_rank", [("layer4", 0), ("layer3", 2), ("layer2", 1)])
def test_reference_agrees_with_pytorch_grad_cam(layer, class_rank):
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    model, x = _embedded_model_and_input()
    class_idx = int(torch.argsort(model(x)[0], descending=True)[class_rank])
    ours = reference.grad_cam(model, x, layer, class_idx)
    module = dict(model.named_modules())[layer]
    with GradCAM(model=model, target_layers=[module]) as cam:
        theirs = cam(input_tensor=x.clone(), targets=[ClassifierOutputTarget(class_idx)])[0]
    np.testing.assert_allclose(ours, theirs, atol=2e-5)


@pytest.mark.parametrize("layer,class_rank", [("layer4", 0), ("layer3", 1), ("layer3.0.conv1", 3)])
def test_reference_agrees_with_captum_layer_grad_cam(layer, class_rank):
    from captum.attr import LayerAttribution, LayerGradCam

    model, x = _embedded_model_and_input(seed=77, size=(64, 80))
    class_idx = int(torch.argsort(model(x)[0], descending=True)[class_rank])
    module = dict(model.named_modules())[layer]
    attribution = LayerGradCam(model, module).attribute(x.clone(), target=class_idx, relu_attributions=True)
    upsampled = LayerAttribution.interpolate(attribution, tuple(x.shape[-2:]), interpolate_mode="bilinear")
    theirs = _minmax(upsampled[0, 0].detach().numpy())
    ours = reference.grad_cam(model, x, layer, class_idx)
    np.testing.assert_allclose(ours, theirs, atol=2e-5)
    # weights: Captum's are the spatial mean of the gradient as well
    alpha = reference.grad_cam_weights(model, x, layer, class_idx)
    activation = {}
    handle = module.register_forward_hook(lambda m, i, o: activation.setdefault("a", o))
    try:
        logits = model(x)
    finally:
        handle.remove()
    (gradient,) = torch.autograd.grad(logits[0, class_idx], activation["a"])
    np.testing.assert_allclose(alpha.numpy(), gradient[0].mean(dim=(1, 2)).numpy(), rtol=1e-5, atol=1e-9)


def test_reference_on_random_cnn_agrees_with_pytorch_grad_cam():
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    from autograder.checks.gradcam import RandomCNN

    model = RandomCNN([6, 8, 12, 8], [3, 5, 3, 1], [False, True, False, False], num_classes=4, seed=5).eval()
    x = torch.randn(1, 3, 33, 47, generator=torch.Generator().manual_seed(0))
    for layer in ("layer2", "layer4"):
        ours = reference.grad_cam(model, x, layer, 2)
        with GradCAM(model=model, target_layers=[getattr(model, layer)]) as cam:
            theirs = cam(input_tensor=x.clone(), targets=[ClassifierOutputTarget(2)])[0]
        assert ours.shape == (33, 47)
        np.testing.assert_allclose(ours, theirs, atol=2e-5)


def test_reference_side_effects_none_and_all_negative_gives_zeros():
    from autograder.checks.gradcam import RandomCNN

    model, x = _embedded_model_and_input()
    model.train()
    model.layer1.eval()  # a mixed state must come back exactly
    for p in model.layer1.parameters():
        p.requires_grad_(False)
    flags = [p.requires_grad for p in model.parameters()]
    modes = [m.training for m in model.modules()]
    before = x.clone()
    heatmap = reference.grad_cam(model, x)
    assert heatmap.shape == (56, 72) and heatmap.dtype == np.float32
    assert heatmap.min() == 0.0 and heatmap.max() == 1.0
    assert [p.requires_grad for p in model.parameters()] == flags
    assert [m.training for m in model.modules()] == modes
    assert torch.equal(x, before) and not x.requires_grad and x.grad is None
    assert all(p.grad is None for p in model.parameters())  # autograd.grad: nothing accumulated
    assert all(not m._forward_hooks and not m._backward_hooks and not m._forward_pre_hooks for m in model.modules())
    # a frozen model still works (the graph starts at a copy of the input)
    for p in model.parameters():
        p.requires_grad_(False)
    assert np.isfinite(reference.grad_cam(model, x, "layer3")).all()

    positive = RandomCNN([4, 6, 8, 6], [3, 3, 3, 3], [False] * 4, num_classes=2, seed=3, positive=True).eval()
    u = torch.rand(1, 3, 20, 28, generator=torch.Generator().manual_seed(1))
    assert np.all(reference.grad_cam(positive, u, "layer4", 1) == 0)
    assert (reference.grad_cam_weights(positive, u, "layer4", 1) <= 0).all()


def test_reference_is_one_forward_pass():
    model, x = _embedded_model_and_input()
    calls = []
    handle = model.register_forward_hook(lambda m, i, o: calls.append(1))
    try:
        reference.grad_cam(model, x, "layer3")
        reference.grad_cam_weights(model, x, "layer2", 1)
    finally:
        handle.remove()
    assert len(calls) == 2


def test_saliency_and_overlay_definitions():
    model, x = _embedded_model_and_input()
    xr = x.clone().requires_grad_(True)
    logits = model(xr)
    c = int(logits[0].argmax())
    (gradient,) = torch.autograd.grad(logits[0, c], xr)
    expected = _minmax(gradient[0].abs().amax(dim=0).numpy())
    np.testing.assert_allclose(reference.saliency_map(model, x), expected, atol=1e-6)

    from matplotlib import cm

    image = np.full((4, 5, 3), 100, np.uint8)
    heatmap = np.linspace(0, 1, 20).reshape(4, 5)
    out = reference.overlay_heatmap(image, heatmap, alpha=0.5)
    assert out.dtype == np.uint8 and out.shape == (4, 5, 3)
    np.testing.assert_allclose(out, 0.5 * image + 0.5 * cm.jet(heatmap)[..., :3] * 255, atol=0.51)


def test_amplified_head_keeps_logits_and_maps_and_scales_the_raw_cam():
    """``RandomCNN.amplify_head`` (the random CNNs' raw maps on the scale of real networks', issue 20): the logits for
    its input, and so the prediction, the softmax and every min-max scaled map, stay; raw CAM and gradients grow."""
    from autograder.checks.gradcam import RandomCNN
    from reference_solutions.hidden.gradcam import _raw_cam_max

    model = RandomCNN([6, 8, 12, 8], [3, 5, 3, 1], [False, True, False, False], num_classes=4, seed=5).eval()
    x = torch.randn(1, 3, 33, 47, generator=torch.Generator().manual_seed(0))
    logits, heatmap, saliency = model(x).detach(), reference.grad_cam(model, x, "layer2", 1), reference.saliency_map(model, x)
    raw = _raw_cam_max(model, x, "layer2", 1)
    model.amplify_head(x, 50.0)
    torch.testing.assert_close(model(x).detach(), logits, rtol=0, atol=1e-5)
    np.testing.assert_allclose(reference.grad_cam(model, x, "layer2", 1), heatmap, atol=1e-5)
    np.testing.assert_allclose(reference.saliency_map(model, x), saliency, atol=1e-5)
    assert _raw_cam_max(model, x, "layer2", 1) == pytest.approx(50.0 * raw, rel=1e-4)


def _raw_scales(cases):
    """case id -> the smallest positive raw maximum of the maps a random-CNN case's probe compares."""
    from reference_solutions.hidden.gradcam import _raw_cam_max

    scales = {}
    for case in cases:
        inputs = case.inputs
        if case.id.startswith(("cam_random_", "classes_random_", "layer_random")):
            if case.probe == "probe_classes":
                maps = [(inputs["layer"], inputs[key]) for key in ("class_a", "class_b")] + [(inputs["layer"], None)]
            elif case.probe == "probe_layer":
                maps = [(inputs["layer"], inputs["class_idx"]), ("layer4", inputs["class_idx"])]
            else:
                maps = [(inputs["layer"], inputs["class_idx"])]
            scales[case.id] = min(v for v in (_raw_cam_max(inputs["model"], inputs["x"], *m) for m in maps) if v > 0)
        elif case.id == "saliency_random":
            x = inputs["x"].detach().clone().requires_grad_(True)
            logits = inputs["model"](x)
            (gradient,) = torch.autograd.grad(logits[0, inputs["class_idx"]], x)
            scales[case.id] = float(gradient.abs().max())
    return scales


def test_random_cnn_maps_lie_on_the_scale_of_real_networks_in_public_and_hidden_cases():
    """A student's epsilon in the min-max denominator (pytorch-grad-cam: 1e-7) costs eps / (raw maximum) of the
    tolerance: every compared map of a random CNN has a raw maximum of at least the floor, on the public cases
    (which sit on it: the hardest conditioning the hidden sets use) and on every hidden set."""
    from autograder.checks import Exercise
    from helpers import all_hidden_sets
    from reference_solutions.hidden.gradcam import CAM_FLOOR, SALIENCY_FLOOR

    floor = {"saliency_random": SALIENCY_FLOOR}
    public = _raw_scales(Exercise("gradcam").build_cases(7, public=True))
    assert set(public) == {"cam_random_0", "classes_random_0", "saliency_random"}
    for case_id, scale in public.items():
        assert floor.get(case_id, CAM_FLOOR) * 0.99 <= scale <= floor.get(case_id, CAM_FLOOR) * 3, (case_id, scale)
    for index, (_, cases, _, _) in enumerate(all_hidden_sets("gradcam")):
        for case_id, scale in _raw_scales(cases).items():
            assert scale >= floor.get(case_id, CAM_FLOOR) * (1 - 1e-3), (index + 1, case_id, scale)


def test_range_check_allows_float32_rounding_only():
    from xaikit.selfcheck.exercises.gradcam import _unit_range

    check = _unit_range("heatmap")
    assert check({"heatmap": np.array([[-1e-15, 0.5], [1.0 + 1.2e-7, 1.0]])}) is None  # cv2.normalize, float32
    assert check({"heatmap": np.array([[0.0, 1.01]])}).key == "heatmap_range"
    assert check({"heatmap": np.array([[-0.001, 1.0]])}).key == "heatmap_range"


# ------------------------------------------------------------------------------ task 4: the sanity check

def _independent_randomisation(model, x, layers, explain, seed):
    """Cascading randomisation written from the definition, without reset_parameters: after torch.manual_seed(seed),
    every Conv2d/Linear of the listed modules (in the order of .modules()) gets the parameters of a freshly built
    module of the same shape (PyTorch's default initialisation, the same random draws), every BatchNorm2d weight 1,
    bias 0, running mean 0 and variance 1; Spearman as the Pearson correlation of pandas' average ranks."""
    import copy

    import pandas as pd
    from torch import nn

    work = copy.deepcopy(model)
    original = pd.Series(np.asarray(explain(work, x), np.float64).ravel())
    torch.manual_seed(seed)
    maps, correlations = [], []
    for name in layers:
        for module in work.get_submodule(name).modules():
            if isinstance(module, nn.Conv2d):
                fresh = nn.Conv2d(module.in_channels, module.out_channels, module.kernel_size, module.stride,
                                  module.padding, bias=module.bias is not None)
            elif isinstance(module, nn.Linear):
                fresh = nn.Linear(module.in_features, module.out_features, bias=module.bias is not None)
            elif isinstance(module, nn.BatchNorm2d):
                with torch.no_grad():
                    module.weight.fill_(1.0), module.bias.zero_()
                    module.running_mean.zero_(), module.running_var.fill_(1.0)
                module.num_batches_tracked.zero_()
                continue
            else:
                assert not any(True for _ in module.parameters(recurse=False)), type(module)
                continue
            with torch.no_grad():
                module.weight.copy_(fresh.weight)
                if module.bias is not None:
                    module.bias.copy_(fresh.bias)
        current = np.asarray(explain(work, x), np.float64)
        maps.append(current)
        ranks = pd.Series(current.ravel()).rank(), original.rank()
        correlations.append(float(np.corrcoef(ranks[0], ranks[1])[0, 1]))
    return np.stack(maps), np.array(correlations)


@pytest.mark.parametrize("which", ["embedded", "random"])
def test_randomisation_reference_agrees_with_an_independent_computation(which):
    from xaikit.selfcheck.exercises.gradcam import EMBEDDED, _model, gradient_map, random_cnn, scene_tensor
    from xaikit.selfcheck.exercises.gradcam import state_fingerprint

    if which == "embedded":
        model = _model(EMBEDDED).eval()
        x, _ = scene_tensor(4242, 56, 72)
        layers = ["fc", "layer4", "layer3", "layer2", "layer1", "bn1", "conv1"]
    else:
        model, _, depth = random_cnn(np.random.default_rng(5))
        x = torch.tensor(np.random.default_rng(6).normal(size=(1, 3, 30, 26)), dtype=torch.float32)
        layers = ["fc"] + [f"layer{k}" for k in range(depth, 0, -1)]
    with torch.no_grad():
        class_idx = int(model(x)[0].argmax())
    explain = gradient_map(class_idx)
    before = state_fingerprint(model)
    result = reference.randomisation_check(model, x, layers, explain, seed=31)
    assert state_fingerprint(model) == before  # the caller's model is untouched
    maps, correlations = _independent_randomisation(model, x, layers, explain, 31)
    assert result["maps"].shape == (len(layers), *x.shape[-2:])
    np.testing.assert_allclose(result["maps"], maps, rtol=0, atol=1e-12 * np.abs(maps).max())
    np.testing.assert_allclose(result["correlations"], correlations, rtol=0, atol=1e-12)
    # the cascade changes the map at every step (each step re-draws weights), and the seed decides the draws
    assert np.all(np.abs(np.diff(np.concatenate([[1.0], correlations]))) > 1e-6)
    again = reference.randomisation_check(model, x, layers, explain, seed=31)
    np.testing.assert_array_equal(again["maps"], result["maps"])
    other = reference.randomisation_check(model, x, layers, explain, seed=32)
    assert np.abs(other["maps"] - result["maps"]).max() > 1e-3 * np.abs(maps).max()


def test_randomisation_of_an_explanation_that_ignores_the_model_correlates_one():
    """A map that does not depend on the weights (the input's largest channel) passes no sanity check: every map
    equals the original and every correlation is 1 (ties of equal values with average ranks, as scipy has it)."""
    from xaikit.selfcheck.exercises.gradcam import EMBEDDED, _model, scene_tensor

    x, _ = scene_tensor(77, 64, 64)
    result = reference.randomisation_check(_model(EMBEDDED).eval(), x, ["fc", "layer4"],
                                           lambda m, t: t[0].amax(dim=0).numpy(), seed=0)
    np.testing.assert_array_equal(result["maps"][0], result["maps"][1])
    np.testing.assert_allclose(result["correlations"], [1.0, 1.0], atol=1e-12)


def test_randomisation_cases_use_cascades_of_at_least_two_layers_from_the_top():
    """The known mistakes need two steps or more (not cumulative, from the bottom), and every cascade starts at fc."""
    for seed, public in ((7, True), (20261125, False)):
        from autograder.checks import Exercise

        cases = [c for c in Exercise("gradcam").build_cases(seed, public=public) if c.probe == "probe_randomisation"]
        assert len(cases) >= (2 if public else 4)
        for case in cases:
            assert len(case.inputs["layers"]) >= 2 and case.inputs["layers"][0] == "fc", case.id
