"""xaikit: scenes, photos and small models for the explainable-AI course.

The first lines make the process safe against a measured crash: importing
TensorFlow before triton (loaded by torchvision/transformers) segfaults inside
triton/knobs.py. Loading torch and triton first avoids it for every later import
order. They are loaded when TensorFlow is about to be imported (an import hook),
not at once: torch costs ~1.5 s, which processes that never touch TensorFlow
(PDP, `xaigrade check`) need not pay.

Two sources of noise in every notebook are quietened here too (issue 23). TensorFlow's
extension modules log through absl while they load, before absl is initialised, and
TF_CPP_MIN_LOG_LEVEL does not reach those lines ("WARNING: All log messages before
absl::InitializeLog() ..." and "oneDNN custom operations are on", twice, on stderr and so
in the notebook). While `import tensorflow` runs, file descriptor 2 goes through a small
filter process that drops absl's records below TF_CPP_MIN_LOG_LEVEL (the setting as
TensorFlow documents it: 1 INFO, 2 also WARNING, 3 also ERROR) and that notice, and passes
everything else on at once. A separate process, because a crash during the import (absl's
FATAL lines, e.g. a CPU without the instructions TensorFlow needs, end in abort()) must not
take its last words with it: the filter reads to the end of the pipe and writes them out.
Without TF_CPP_MIN_LOG_LEVEL, on Windows, or where no process can be started, nothing is
filtered. oneDNN itself stays as it is (TF_ENABLE_ONEDNN_OPTS would change the numbers).
And tqdm's "IProgress not found" warning (transformers imports tqdm.auto in a kernel without
ipywidgets; nothing here shows a progress bar) is ignored.
"""
import contextlib as _contextlib
import importlib.abc as _abc
import importlib.machinery as _machinery
import os as _os
import sys as _sys
import warnings as _warnings


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
    """Looks at the name `tensorflow` only: loads torch and triton first, then lets the path finder find it, or
    finds it itself to import it with stderr through the filter (below). It stays in sys.meta_path: a finder
    that removes itself while the import system walks the list makes it skip the finder behind it."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        _load_torch_and_triton()
        return _quiet_tensorflow_spec(name, path, target)


# --- TensorFlow's load-time log lines --------------------------------------------------------------

# The filter, run as `python -I -S -c _STDERR_FILTER LEVEL READY_FD` (standard library only); its `keep` is also
# what the tests call (`stderr_filter()`). stdin: the pipe that is file descriptor 2 of the importing process.
_STDERR_FILTER = r"""
import os, re, signal, sys

# "I0000 00:00:1796665192.576406   16307 port.cc:153] ..." before absl is initialised (seconds since 1970 in
# place of the time of day), "W1207 10:11:12.345678   16307 file.cc:12] ..." after
RECORD = re.compile(rb"^([IWEF])\d{4} \d\d:\d\d:\d\d+\.\d+ +\d+ [^\]\n]*\] ")
PREAMBLE = b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
SEVERITY = {b"I": 0, b"W": 1, b"E": 2, b"F": 3}


def keep(line, level):
    # one line (bytes): dropped only if it is absl's notice or an absl record below `level`; a record's own
    # continuation lines are kept (nothing tells them apart from other output)
    if level < 1:
        return True
    if line.rstrip(b"\r\n") == PREAMBLE:
        return False
    record = RECORD.match(line)
    return record is None or SEVERITY[record.group(1)] >= level


def write(data):
    while data:
        data = data[os.write(1, data):]


def main(level, ready):
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # (Ctrl-C is for the importing process; this one ends at EOF)
    os.write(ready, b"r")
    os.close(ready)
    pending = b""
    while True:
        chunk = os.read(0, 65536)
        if not chunk:
            break
        *lines, pending = (pending + chunk).split(b"\n")
        write(b"".join(line + b"\n" for line in lines if keep(line + b"\n", level)))
    if pending and keep(pending, level):
        write(pending)


if __name__ == "__main__":
    try:
        main(int(sys.argv[1]), int(sys.argv[2]))
    except OSError:  # (the reader of stderr is gone)
        pass
"""
_lingering = []  # filter processes still reading when the import ended (a process the import started holds the
#                  pipe): left to finish on their own


def stderr_filter() -> dict:
    """The filter's functions (``keep(line, level)``), for the tests."""
    namespace = {"__name__": "xaikit._stderr_filter"}
    exec(_STDERR_FILTER, namespace)  # noqa: S102 - our own constant
    return namespace


def _min_log_level() -> int:
    try:
        return int(_os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0"))
    except ValueError:
        return 0


def _start_filter(level: int, stderr: int):
    """(the filter process, the write end of its pipe), or None when it cannot be started or does not report ready
    within 10 s (then nothing is filtered)."""
    import select
    import subprocess

    if not _sys.executable:
        return None
    read_end, write_end = _os.pipe()
    ready_read, ready_write = _os.pipe()
    try:
        try:
            child = subprocess.Popen([_sys.executable, "-I", "-S", "-c", _STDERR_FILTER, str(level), str(ready_write)],
                                     stdin=read_end, stdout=stderr, stderr=stderr, pass_fds=(ready_write,))
        except (OSError, ValueError, subprocess.SubprocessError):
            _os.close(write_end)
            return None
        _os.close(ready_write)
        ready_write = -1
        if select.select([ready_read], [], [], 10.0)[0] and _os.read(ready_read, 1) == b"r":
            return child, write_end
        child.kill()
        child.wait()
        _os.close(write_end)
        return None
    finally:
        for fd in (read_end, ready_read, ready_write):
            if fd >= 0:
                _os.close(fd)


@_contextlib.contextmanager
def _filtered_stderr(level: int):
    """File descriptor 2 through the filter process meanwhile (see above); as it was if that cannot be."""
    if level < 1 or _os.name != "posix":
        yield
        return
    try:
        _sys.stderr.flush()
        saved = _os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    try:
        started = _start_filter(level, saved)
    except OSError:  # (no pipe, no select: too few descriptors)
        started = None
    if started is None:
        _os.close(saved)
        yield
        return
    child, write_end = started
    try:
        _os.dup2(write_end, 2)
        yield
    finally:
        try:
            _sys.stderr.flush()
        except (OSError, ValueError, AttributeError):
            pass
        _os.dup2(saved, 2)
        _os.close(saved)
        _os.close(write_end)  # the filter reads to the end and exits: its output comes before what follows
        try:
            child.wait(timeout=10)
        except Exception:  # noqa: BLE001 - subprocess.TimeoutExpired
            _lingering.append(child)


class _QuietTensorFlowLoader(_machinery.SourceFileLoader):
    """Runs tensorflow/__init__.py as usual, with stderr through the filter."""

    def exec_module(self, module):
        with _filtered_stderr(_min_log_level()):
            super().exec_module(module)


def _quiet_tensorflow_spec(name, path, target):
    """tensorflow's spec with the filtering loader, or None (the path finder then finds it as usual)."""
    if _min_log_level() < 1 or _os.name != "posix":
        return None
    spec = _machinery.PathFinder.find_spec(name, path, target)
    if spec is None or type(spec.loader) is not _machinery.SourceFileLoader:
        return None
    spec.loader = _QuietTensorFlowLoader(spec.loader.name, spec.loader.path)
    return spec


# tqdm.auto in a kernel without ipywidgets (transformers imports it): a warning about progress bars nobody shows
_warnings.filterwarnings("ignore", message=r"IProgress not found")

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
