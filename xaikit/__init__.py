"""xaikit: scenes, photos and small models for the explainable-AI course.

The first lines make the process safe against a measured crash: importing
TensorFlow before triton (loaded by torchvision/transformers) segfaults inside
triton/knobs.py. Loading torch and triton first avoids it for every later import
order. They are loaded when TensorFlow is about to be imported (an import hook),
not at once: torch costs ~1.5 s, which processes that never touch TensorFlow
(PDP, `xaigrade check`) need not pay.
"""
import importlib.abc as _abc
import sys as _sys


def _load_torch_and_triton() -> None:
    try:  # noqa: SIM105 - torch is optional for users who only need scenes
        import torch as _torch  # noqa: F401

        try:
            import triton as _triton  # noqa: F401
        except ImportError:  # CPU-only torch builds ship no triton: nothing to guard
            pass
    except ImportError:
        pass


class _TritonBeforeTensorFlow(_abc.MetaPathFinder):
    """Finds nothing itself; on the first import of tensorflow it loads torch and triton first."""

    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow":
            _sys.meta_path[:] = [finder for finder in _sys.meta_path if not isinstance(finder, _TritonBeforeTensorFlow)]
            _load_torch_and_triton()
        return None


if "tensorflow" in _sys.modules:  # too late for the hook: do what can still be done
    _load_torch_and_triton()
elif not any(isinstance(finder, _TritonBeforeTensorFlow) for finder in _sys.meta_path):
    _sys.meta_path.insert(0, _TritonBeforeTensorFlow())

from . import scenes  # noqa: E402  (after the guard on purpose)
from .scenes import SHAPE_CLASSES, Scene, make_dataset, make_scene  # noqa: E402

__all__ = [
    "SHAPE_CLASSES",
    "Scene",
    "make_scene",
    "make_dataset",
    "scenes",
    "load_photo",
    "list_photos",
    "load_image_classifier",
    "load_keras_classifier",
    "load_clip",
    "ModelNotAvailableError",
]


def __getattr__(name):
    # Lazy attributes keep `import xaikit` light (no sklearn/skimage/matplotlib/TF).
    import importlib  # (`from . import x` here would recurse into __getattr__)

    if name in ("load_photo", "list_photos", "photos"):
        photos = importlib.import_module(".photos", __name__)
        return photos if name == "photos" else getattr(photos, name)
    if name in ("load_image_classifier", "load_keras_classifier", "load_clip",
                "ModelNotAvailableError", "models", "preprocess"):
        models = importlib.import_module(".models", __name__)
        return models if name == "models" else getattr(models, name)
    raise AttributeError(f"module 'xaikit' has no attribute {name!r}")
