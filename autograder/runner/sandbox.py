"""Grader side: run one job (``execute.py``) in a sandboxed process tree and wait for it.

Isolation used where the system allows it (checked once, reported by ``describe_isolation``):
- a new PID namespace (every process of the submission dies with it) and network namespace
  (no network; the kernel talks to nbclient over Unix sockets),
- resource limits (CPU seconds, address space, file size, open files),
- a scrubbed environment and a fresh working directory,
- a wall-clock limit enforced here by killing the whole process group.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..config import PROJECT_ROOT, XaiGrade


@dataclass
class JobOutcome:
    returncode: int | None
    killed_reason: str | None
    seconds: float
    stderr_tail: str


@lru_cache(maxsize=None)
def namespace_flags() -> tuple[str, ...]:
    """The unshare flags that work here (as root directly, otherwise inside a user namespace)."""
    unshare = shutil.which("unshare")
    if not unshare:
        return ()
    base = ["--net", "--pid", "--fork", "--kill-child"]
    candidates = [base] if os.geteuid() == 0 else []
    candidates.append(["--user", "--map-root-user"] + base)
    for flags in candidates:
        probe = subprocess.run([unshare, *flags, "true"], capture_output=True)
        if probe.returncode == 0:
            return (unshare, *flags)
    return ()


def describe_isolation(settings: XaiGrade) -> str:
    flags = namespace_flags()
    if settings.isolate_network and flags:
        return "PID+network namespace via " + " ".join(flags)
    return "no namespaces available: resource limits and process group only"


def scrubbed_environment(job_dir: Path) -> dict:
    """Only what the kernel needs; nothing of the grader's environment leaks in."""
    venv_bin = str(Path(sys.executable).parent)
    env = {
        "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(job_dir),
        "LANG": "C.UTF-8",
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
    (job_dir / "tmp").mkdir(exist_ok=True)
    return env


def _limit(settings: XaiGrade):
    def apply():
        os.setsid()
        mb = 1024 * 1024
        resource.setrlimit(resource.RLIMIT_CPU, (settings.cpu_seconds, settings.cpu_seconds))
        resource.setrlimit(resource.RLIMIT_FSIZE, (settings.max_file_mb * mb, settings.max_file_mb * mb))
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        # RLIMIT_AS counts reserved address space; torch/TF reserve far more than they touch,
        # so the address-space cap is generous and the real memory cap is RLIMIT_DATA.
        resource.setrlimit(resource.RLIMIT_DATA, (settings.memory_mb * mb, settings.memory_mb * mb))
        if os.geteuid() != 0:
            resource.setrlimit(resource.RLIMIT_NPROC, (settings.max_processes, settings.max_processes))

    return apply


def run_job(job_dir: Path, settings: XaiGrade) -> JobOutcome:
    """Run ``execute.py`` on ``job_dir`` under the limits; never raises for the submission's sake."""
    job_dir = Path(job_dir)
    command = [sys.executable, "-m", "autograder.runner.execute", str(job_dir)]
    if settings.isolate_network and namespace_flags():
        command = [*namespace_flags(), *command]
    started = time.monotonic()
    killed = None
    with open(job_dir / "sandbox.log", "wb") as log:
        process = subprocess.Popen(command, cwd=job_dir, env=scrubbed_environment(job_dir),
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   preexec_fn=_limit(settings))
        try:
            process.wait(timeout=settings.total_timeout)
        except subprocess.TimeoutExpired:
            killed = f"Zeitlimit von {settings.total_timeout:.0f} s überschritten"
        finally:
            _kill_group(process)
    tail = (job_dir / "sandbox.log").read_bytes()[-2000:].decode("utf-8", "replace")
    if killed is None and process.returncode not in (0, None):
        killed = _describe_exit(process.returncode)
    return JobOutcome(process.returncode, killed, time.monotonic() - started, tail)


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def _describe_exit(returncode: int) -> str:
    if returncode < 0:
        name = signal.Signals(-returncode).name
        if name == "SIGXCPU":
            return "CPU-Zeitlimit überschritten"
        return f"Prozess durch {name} beendet"
    return f"Ausführung mit Code {returncode} beendet"


def write_job(job_dir: Path, settings: XaiGrade) -> None:
    (job_dir / "job.json").write_text(json.dumps({
        "kernel_name": settings.kernel_name,
        "cell_timeout": settings.cell_timeout,
        "probe_timeout": settings.probe_timeout,
        "max_output_chars": settings.max_output_chars,
    }))
