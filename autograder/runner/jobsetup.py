"""What both paths into a sandbox share: the namespaces a job gets, its per-process limits, its
environment, how its process group is killed. Below ``sandbox.py`` (cold path, grader side), the
zygote's forked job (``forked_job.py``, warm path) and the zygote client (``zygote.py``); imports
none of them, so the two paths cannot drift apart through a copy of these steps.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
from pathlib import Path

from . import jail

JAIL_FAILED = 97  # exit code of a job whose file jail could not be built

# The namespaces of every job, as clone flags (the warm path's unshare(2)) and as unshare(1) options (the
# cold path). One list for both paths: a job leaves nothing in a namespace it shares with the host. IPC: SysV
# shared memory, message queues and semaphores, and POSIX message queues, live in the IPC namespace and
# outlive their creator (``kernel.shm_rmid_forced`` is 0 by default): in a namespace of the job's own they
# go with its last process. (UTS: a job cannot change the host's name; cgroup, time: nothing to leave.)
NAMESPACES = (("--mount", jail.CLONE_NEWNS), ("--net", jail.CLONE_NEWNET), ("--pid", jail.CLONE_NEWPID),
              ("--ipc", jail.CLONE_NEWIPC))
NAMESPACE_FLAGS = 0
for _option, _flag in NAMESPACES:
    NAMESPACE_FLAGS |= _flag
UNSHARE_OPTIONS = tuple(option for option, _ in NAMESPACES)


def apply_limits(values: dict) -> None:
    """Set the job's per-process limits (``sandbox.limits()``) on this process; inherited by all it starts."""
    mb = 2**20
    resource.setrlimit(resource.RLIMIT_CPU, (values["cpu_seconds"], values["cpu_seconds"]))
    resource.setrlimit(resource.RLIMIT_FSIZE, (values["max_file_mb"] * mb, values["max_file_mb"] * mb))
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # RLIMIT_AS would count address space that torch/TensorFlow reserve but never touch;
    # RLIMIT_DATA caps what a process really allocates (heap and private mappings).
    resource.setrlimit(resource.RLIMIT_DATA, (values["memory_mb"] * mb, values["memory_mb"] * mb))
    if values.get("nproc"):
        resource.setrlimit(resource.RLIMIT_NPROC, (values["nproc"], values["nproc"]))


_KEYCTL = {"x86_64": 250, "aarch64": 219}.get(os.uname().machine)  # (no libc wrapper: libkeyutils has one)
KEYCTL_JOIN_SESSION_KEYRING = 1


def join_new_session_keyring() -> bool:
    """Give this process (and all it starts) a new, empty session keyring of its own.

    Kernel keyrings are no namespace: a job inherits the grader's session keyring and *possesses* it, so
    ``add_key(..., KEY_SPEC_SESSION_KEYRING)`` in a cell linked the key into the grader's keyring (where it
    outlived the job) and the job could read what the grader kept there. An anonymous keyring joined here
    goes with the job's last process; the user keyrings of the job's uid belong to its user namespace."""
    if _KEYCTL is None:
        return False
    return jail.libc.syscall(ctypes.c_long(_KEYCTL), ctypes.c_long(KEYCTL_JOIN_SESSION_KEYRING), None) >= 0


def kill_group(pid: int) -> None:
    """SIGKILL the process group (job session) led by ``pid``; nothing if it is gone already.
    Never 0, 1 or this process's own group, whatever a caller was told."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 1 or pid in (os.getpid(), os.getpgid(0)):
        return
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def scrubbed_environment(job_dir: Path) -> dict:
    """Only what the kernel needs; nothing of the grader's environment leaks in."""
    import sys

    venv_bin = str(Path(sys.executable).parent)
    (job_dir / "tmp").mkdir(exist_ok=True)
    return {
        "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(job_dir),
        "LANG": "C.UTF-8",
        "USER": "sandbox",  # (the job's uid has no passwd entry; getpass and friends read these first)
        "LOGNAME": "sandbox",
        "PYTHONHASHSEED": "0",
        "MPLCONFIGDIR": str(job_dir / ".matplotlib"),
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "TF_NUM_INTRAOP_THREADS": "1",
        "TF_NUM_INTEROP_THREADS": "1",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "JUPYTER_PLATFORM_DIRS": "1",
        "JUPYTER_RUNTIME_DIR": str(job_dir / ".jupyter_runtime"),
        "IPYTHONDIR": str(job_dir / ".ipython"),
        "TMPDIR": str(job_dir / "tmp"),
    }
