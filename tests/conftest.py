"""Test-wide set-up. `import xaikit` first: its import hook loads torch and triton before
TensorFlow, which otherwise segfaults when torchvision/transformers load triton later."""

import os
import sys
from pathlib import Path

import pytest

import xaikit  # noqa: F401  (import order guard, see above)

try:  # one thread: the suite runs on 2 shared cores, where more threads are much slower
    import torch

    torch.set_num_threads(1)
except ImportError:
    pass

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("XAIKIT_STRICT_MESSAGES", "1")  # a message missing a parameter raises (messages.py)
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # reference_solutions is not an installed package on purpose
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))


@pytest.fixture(scope="session", autouse=True)
def _own_check_daemons(tmp_path_factory):
    """`xaigrade check` leaves warm processes for the next check (a check server and a zygote); the suite's go
    to a folder of its own (XDG_RUNTIME_DIR, inherited by subprocesses) and are stopped at the end."""
    os.environ["XDG_RUNTIME_DIR"] = str(tmp_path_factory.mktemp("runtime"))
    yield
    import contextlib

    import psutil

    from autograder.check_server import stop_servers
    from autograder.runner.zygote import stop_daemons

    stop_servers()
    stop_daemons()
    # a check run with a test's own XDG_RUNTIME_DIR (tests/test_warm.py) left its check server there
    ours = str(tmp_path_factory.getbasetemp())
    for process in psutil.process_iter(["cmdline"]):
        command = process.info["cmdline"] or []
        if "autograder.check_server" in command and any(part.startswith(ours) for part in command):
            with contextlib.suppress(psutil.NoSuchProcess):  # (it may have ended by itself meanwhile)
                process.terminate()
