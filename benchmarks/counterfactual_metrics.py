"""Standard counterfactual metrics of the reference on the embedded Mini-VGG.

    python benchmarks/counterfactual_metrics.py [--n 100] [--steps 40 --lr 0.1 --distance-weight 0.05]

Pairs: scenes with seeds 50000.. (never used by the notebook or the checks); the target class is drawn
(seeded) among the classes the model does not predict for the scene. Reported:
- validity (flip rate): share of pairs where the model predicts the target for the counterfactual,
- mean L1 and L2 distance to the original (pixels in [0, 1], sums over all pixels and channels),
- sparsity: share of pixels (H x W positions) whose change exceeds 1/255 in some channel,
- time per counterfactual (reference implementation, compiled step, this machine).
"""

from __future__ import annotations

import xaikit  # noqa: F401  (torch/triton before TensorFlow)

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100, help="number of (scene, target) pairs")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--distance-weight", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=50000)
    args = parser.parse_args(argv)

    from xaikit.keras_models import load_model
    from reference_solutions.counterfactual import generate_counterfactual
    from xaikit.scenes import make_scene

    model, names = load_model("embedded")
    rng = np.random.default_rng(args.seed)
    valid, l1, l2, sparsity, seconds = [], [], [], [], []
    generate_counterfactual(model, make_scene(args.seed).image[None] / np.float32(255), 0, steps=2)  # warm-up
    for i in range(args.n):
        image = make_scene(args.seed + i).image[None].astype(np.float32) / 255.0
        predicted = int(np.argmax(model(image, training=False).numpy()[0]))
        target = int(rng.choice([c for c in range(len(names)) if c != predicted]))
        started = time.perf_counter()
        cf, _ = generate_counterfactual(model, image, target, steps=args.steps, lr=args.lr,
                                        distance_weight=args.distance_weight)
        seconds.append(time.perf_counter() - started)
        change = cf.astype(np.float64) - image
        valid.append(int(np.argmax(model(cf, training=False).numpy()[0])) == target)
        l1.append(np.abs(change).sum())
        l2.append(np.sqrt((change ** 2).sum()))
        sparsity.append(float((np.abs(change).max(axis=-1) > 1 / 255).mean()))
    valid = np.array(valid)
    print(f"pairs: {args.n}  (steps={args.steps}, lr={args.lr}, distance_weight={args.distance_weight})")
    print(f"validity (flip rate):        {valid.mean():.3f}")
    print(f"mean L1 distance:            {np.mean(l1):.2f}   (valid only: {np.mean(np.array(l1)[valid]) if valid.any() else float('nan'):.2f})")
    print(f"mean L2 distance:            {np.mean(l2):.3f}  (valid only: {np.mean(np.array(l2)[valid]) if valid.any() else float('nan'):.3f})")
    print(f"sparsity (pixels > 1/255):   {np.mean(sparsity):.3f}")
    print(f"time per counterfactual:     {np.mean(seconds) * 1000:.0f} ms (median {np.median(seconds) * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
