"""Train the embedded MiniVGG (Keras) on synthetic scenes -> xaikit/weights/mini_vgg.keras.

    python -m xaikit.training.train_mini_vgg [--n-train 10000] [--epochs 4]

Input: float32 RGB in [0, 1] (image / 255), 64x64. Seeded; a few minutes on 2 CPU cores.
"""
import xaikit  # noqa: F401  (triton-before-TensorFlow guard, must precede TensorFlow)

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from xaikit.models import MINI_VGG_PATH, build_mini_vgg  # noqa: E402
from xaikit.scenes import make_dataset  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--n-train", type=int, default=10000)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(MINI_VGG_PATH))
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)

    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(args.seed)
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    t0 = time.time()
    data = make_dataset(args.n_train, seed=2)
    x = data["images"].astype("float32") / 255.0
    y = data["labels"]
    # mirrored copies as cheap augmentation (class is mirror-invariant)
    x = np.concatenate([x, x[:, :, ::-1]])
    y = np.concatenate([y, y])
    print(f"data {time.time() - t0:.1f}s", flush=True)

    model = build_mini_vgg()
    steps = args.epochs * int(np.ceil(len(x) / args.batch))
    lr = keras.optimizers.schedules.CosineDecay(args.lr, decay_steps=steps)
    model.compile(optimizer=keras.optimizers.Adam(lr),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=args.batch, epochs=args.epochs, shuffle=True, verbose=2)

    test = make_dataset(1000, seed=998)
    pred = model.predict(test["images"].astype("float32") / 255.0, verbose=0).argmax(1)
    print(f"held-out accuracy {(pred == test['labels']).mean():.3f}")
    # save an uncompiled copy: the Adam slots would triple the file size (7.9 MB instead of 2.6)
    clean = build_mini_vgg()
    clean.set_weights(model.get_weights())
    clean.save(args.out)
    print(f"saved {args.out} ({time.time() - t0:.0f}s total)")


if __name__ == "__main__":
    main()
