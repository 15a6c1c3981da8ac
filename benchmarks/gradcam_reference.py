"""Reference Grad-CAM against the grad-cam package (pytorch-grad-cam), Captum's LayerGradCam and the
bare cost of one forward + one backward pass, on the embedded mini-ResNet (64 px) and on a ResNet-50
with random weights at 224 px, one CPU thread. Ratios are to the bare forward+backward
(target: reference ≤ 1.1x, and not slower than the grad-cam package).
Run: python benchmarks/gradcam_reference.py [--quick]
"""

from __future__ import annotations

import argparse

import numpy as np

from _common import best_of, header, row


def bare_forward_backward(model, x, class_idx):
    x = x.clone().requires_grad_(True)
    model(x)[0, class_idx].backward()


def main(quick: bool = False) -> None:
    import torch
    import torch.nn.functional as F
    import torchvision
    from captum.attr import LayerGradCam
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    import xaikit
    from reference_solutions.gradcam import grad_cam

    torch.set_num_threads(1)
    model, _, preprocess = xaikit.load_image_classifier("embedded")
    scene = xaikit.make_scene(3)
    setups = [("embedded mini-ResNet 64 px", model, preprocess(scene.image))]
    if not quick:
        torch.manual_seed(0)
        resnet50 = torchvision.models.resnet50(weights=None).eval()
        setups.append(("ResNet-50 random weights 224 px", resnet50, torch.randn(1, 3, 224, 224)))
    repeat = 2 if quick else 7
    header("Grad-CAM: reference vs grad-cam package vs Captum vs bare forward+backward (1 thread)")
    for name, net, x in setups:
        class_idx = int(net(x).argmax())
        layer = net.layer4
        bare = best_of(lambda: bare_forward_backward(net, x, class_idx), repeat)
        ours = best_of(lambda: grad_cam(net, x, "layer4", class_idx), repeat)
        cam = GradCAM(model=net, target_layers=[layer])
        package = best_of(lambda: cam(input_tensor=x, targets=[ClassifierOutputTarget(class_idx)]), repeat)
        captum = LayerGradCam(net, layer)

        def captum_call():
            attribution = captum.attribute(x, target=class_idx, relu_attributions=True)
            F.interpolate(attribution, size=x.shape[-2:], mode="bilinear", align_corners=False)

        captum_time = best_of(captum_call, repeat)
        row(f"{name}: bare forward+backward", bare)
        row(f"{name}: reference grad_cam", ours, bare)
        row(f"{name}: grad-cam package GradCAM", package, bare)
        row(f"{name}: Captum LayerGradCam + upsampling", captum_time, bare)
        print(f"{name}: reference / grad-cam package = {ours / package:.2f}x")
        reference_map = grad_cam(net, x, "layer4", class_idx)
        package_map = cam(input_tensor=x, targets=[ClassifierOutputTarget(class_idx)])[0]
        print(f"{name}: max |reference - grad-cam package| = {np.abs(reference_map - package_map).max():.2e}")
        cam.activations_and_grads.release()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="embedded model only, few repeats")
    main(parser.parse_args().quick)
