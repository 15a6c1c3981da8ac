"""Realistic mistakes in the Grad-CAM exercise (each student = the full solution with these cells replaced)."""

BUGGY = {
    # Forgets to remove the hook, upsamples with F.interpolate's default mode ('nearest'), and
    # takes the signed input gradient for the saliency map; in the sanity check it re-initialises the caller's
    # model itself (no copy) and correlates the raw values (Pearson) instead of their ranks.
    "buggy_hooks_nearest": {
        "grad_cam": '''
def grad_cam(model, input_tensor, target_layer="layer4", class_idx=None):
    layer = dict(model.named_modules())[target_layer]
    store = {}

    def save_activation(module, inputs, output):
        store["A"] = output

    layer.register_forward_hook(save_activation)
    was_training = model.training
    model.eval()
    x = input_tensor.detach().clone().requires_grad_(True)
    logits = model(x)
    model.train(was_training)
    if class_idx is None:
        class_idx = logits[0].argmax().item()
    grads = torch.autograd.grad(logits[0, class_idx], store["A"])[0][0]
    weights = grads.mean(dim=(1, 2))
    cam = F.relu((weights[:, None, None] * store["A"][0]).sum(dim=0)).detach()
    cam = F.interpolate(cam[None, None], size=input_tensor.shape[-2:])[0, 0]
    cam = cam - cam.min()
    if cam.max() > 0:
        cam = cam / cam.max()
    return cam.numpy()
''',
        "saliency_map": '''
def saliency_map(model, input_tensor, class_idx=None):
    x = input_tensor.detach().clone().requires_grad_(True)
    logits = model(x)
    if class_idx is None:
        class_idx = logits[0].argmax().item()
    logits[0, class_idx].backward()
    s = x.grad[0].max(dim=0).values
    return ((s - s.min()) / (s.max() - s.min())).numpy()
''',
        "randomisation_check": '''
def randomisation_check(model, input_tensor, layers, explain, seed=0):
    original = explain(model, input_tensor)
    torch.manual_seed(seed)
    maps, correlations = [], []
    for name in layers:
        for module in model.get_submodule(name).modules():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
        new_map = explain(model, input_tensor)
        maps.append(new_map)
        correlations.append(np.corrcoef(original.flatten(), new_map.flatten())[0, 1])
    return {"maps": np.array(maps), "correlations": np.array(correlations)}
''',
    },
    # Differentiates the softmax probability instead of the logit (in both functions) and leaves the
    # model in eval mode.
    "buggy_softmax_eval": {
        "grad_cam_weights": '''
def _activation_and_grad(model, input_tensor, target_layer, class_idx):
    layer = dict(model.named_modules())[target_layer]
    saved = []
    handle = layer.register_forward_hook(lambda m, i, o: saved.append(o))
    model.eval()
    try:
        probs = torch.softmax(model(input_tensor.detach().clone().requires_grad_(True)), dim=1)
    finally:
        handle.remove()
    if class_idx is None:
        class_idx = int(probs.argmax())
    grad = torch.autograd.grad(probs[0, class_idx], saved[0])[0]
    return saved[0][0].detach(), grad[0]


def grad_cam_weights(model, input_tensor, target_layer, class_idx=None):
    A, grad = _activation_and_grad(model, input_tensor, target_layer, class_idx)
    return grad.mean(dim=(1, 2))
''',
        "grad_cam": '''
def grad_cam(model, input_tensor, target_layer="layer4", class_idx=None):
    A, grad = _activation_and_grad(model, input_tensor, target_layer, class_idx)
    cam = torch.relu((grad.mean(dim=(1, 2))[:, None, None] * A).sum(0))
    cam = F.interpolate(cam[None, None], size=tuple(input_tensor.shape[-2:]), mode="bilinear",
                        align_corners=False)[0, 0]
    if cam.max() == cam.min():
        return torch.zeros_like(cam).numpy()
    return ((cam - cam.min()) / (cam.max() - cam.min())).numpy()
''',
    },
}
