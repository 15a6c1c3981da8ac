"""Real photos that ship inside installed packages (no downloads), as uint8 RGB arrays."""
from __future__ import annotations

import numpy as np

_SOURCES = {
    "chelsea": "scikit-image data.chelsea() - a cat",
    "astronaut": "scikit-image data.astronaut() - Eileen Collins",
    "coffee": "scikit-image data.coffee() - a cup of coffee",
    "rocket": "scikit-image data.rocket() - a rocket on the launch pad",
    "grace_hopper": "matplotlib cbook.get_sample_data('grace_hopper.jpg')",
    "china": "scikit-learn load_sample_images() - a Chinese temple",
    "flower": "scikit-learn load_sample_images() - a flower",
}


def list_photos() -> list[str]:
    """Names accepted by load_photo."""
    return list(_SOURCES)


def describe_photos() -> dict[str, str]:
    return dict(_SOURCES)


def _to_rgb_uint8(arr) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.dtype != np.uint8:  # e.g. matplotlib may hand back floats in [0, 1]
        arr = np.clip(np.rint(arr * 255 if arr.max() <= 1.0 else arr), 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    return np.ascontiguousarray(arr[..., :3])


def load_photo(name: str) -> np.ndarray:
    """H x W x 3 uint8 RGB array of one of list_photos()."""
    if name in ("chelsea", "astronaut", "coffee", "rocket"):
        from skimage import data

        return _to_rgb_uint8(getattr(data, name)())
    if name == "grace_hopper":
        import matplotlib.image as mpimg
        from matplotlib import cbook

        with cbook.get_sample_data("grace_hopper.jpg") as f:
            return _to_rgb_uint8(mpimg.imread(f, format="jpg"))
    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_images

        bunch = load_sample_images()
        files = [f.rsplit("/", 1)[-1] for f in bunch.filenames]
        return _to_rgb_uint8(bunch.images[files.index(f"{name}.jpg")])
    raise ValueError(f"unknown photo {name!r}; choose from {list_photos()}")
