"""Grader side: run one job (``execute.py``) in a sandboxed process tree and wait for it.

Layers, each used where the system allows it (``describe_isolation`` says which are active):
- namespaces (``unshare``): PID (every process of the submission dies with it; background processes
  cannot outlive the job), network (no network at all; the kernel talks to nbclient over Unix
  sockets), mount (``jail.py`` hides the project, reference solutions, submissions, gradebook, $HOME
  and /tmp, makes everything else read-only and locks it in a nested user namespace);
- cgroups when running as root (pids.max against fork bombs, memory limit for the whole tree);
  otherwise RLIMIT_NPROC;
- resource limits per process: CPU seconds, data segment (memory), file size, open files, no core dumps;
- a scrubbed environment and a fresh working directory;
- a wall-clock limit enforced here by killing the process group (and the cgroup's processes).
"""

from __future__ import annotations

import atexit
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..config import PROJECT_ROOT, XaiGrade, cache_dir
from .jail import PR_SET_PDEATHSIG, libc

JAIL_FAILED = 97
SANDBOX_UID = 65534  # "nobody": what a submission runs as when the grader is root


@dataclass
class JobOutcome:
    returncode: int | None
    killed_reason: str | None
    seconds: float
    log_tail: str


@lru_cache(maxsize=None)
def namespace_command() -> tuple[str, ...]:
    """The unshare prefix that works here: as root directly, otherwise inside a user namespace."""
    unshare = shutil.which("unshare")
    if not unshare:
        return ()
    base = ["--mount", "--net", "--pid", "--fork", "--kill-child", "--mount-proc"]
    candidates = [base] if os.geteuid() == 0 else []
    candidates.append(["--user", "--map-root-user", *base])
    for flags in candidates:
        if subprocess.run([unshare, *flags, "true"], capture_output=True).returncode == 0:
            return (unshare, *flags)
    return ()


def exposed_paths() -> list[str]:
    """What the kernel may read: our two packages and the Python installation."""
    return [str(PROJECT_ROOT / "autograder"), str(PROJECT_ROOT / "xaikit"), sys.prefix, sys.base_prefix,
            str(Path(os.path.realpath(sys.executable)).parent.parent)]


def hidden_paths(extra: list[str]) -> list[str]:
    """What the jail covers; the grader's cache holds the hidden cases' reference results."""
    home = os.path.expanduser("~")
    return [str(PROJECT_ROOT), home, "/tmp", "/var/tmp", str(cache_dir()), *extra]


@lru_cache(maxsize=None)
def jail_works() -> bool:
    prefix = namespace_command()
    if not prefix:
        return False
    probe_dir = Path(os.environ.get("TMPDIR", "/tmp")) / f"xaigrade-jailcheck-{uuid.uuid4().hex}"
    probe_dir.mkdir()
    try:
        command = [*prefix, sys.executable, "-m", "autograder.runner.jail", str(probe_dir), "--check",
                   *_jail_args([]), *_identity_args(probe_dir, 64)]
        return subprocess.run(command, capture_output=True, cwd=probe_dir).returncode == 0
    finally:
        shutil.rmtree(probe_dir, ignore_errors=True)


def _identity_args(job_dir: Path, max_processes: int) -> list[str]:
    """Run as an unprivileged uid when we are root (the job dir is handed over to it)."""
    if os.geteuid() != 0:
        return []
    for folder, dirs, files in os.walk(job_dir):
        os.chown(folder, SANDBOX_UID, SANDBOX_UID)
        for name in files:
            os.chown(os.path.join(folder, name), SANDBOX_UID, SANDBOX_UID)
    return ["--uid", str(SANDBOX_UID), "--nproc", str(max_processes)]


def _jail_args(extra_hidden: list[str]) -> list[str]:
    args = []
    for path in hidden_paths(extra_hidden):
        args += ["--hide", path]
    for path in exposed_paths():
        args += ["--expose", path]
    return args


@lru_cache(maxsize=None)
def cgroup_roots() -> dict[str, Path]:
    """Writable cgroup v1 controllers (pids, memory) when we are root; empty otherwise."""
    roots = {}
    if os.geteuid() != 0:
        return roots
    for controller in ("pids", "memory"):
        base = Path("/sys/fs/cgroup") / controller
        try:
            own = next(line.split(":", 2)[2].strip() for line in open("/proc/self/cgroup")
                       if line.split(":")[1] == controller)
        except (StopIteration, OSError, IndexError):
            continue
        root = base / own.lstrip("/")
        probe = root / f"xaigrade-probe-{uuid.uuid4().hex[:12]}"  # (several threads may ask at once)
        try:
            probe.mkdir()
            probe.rmdir()
            roots[controller] = root
        except OSError:
            continue
    return roots


def describe_isolation(settings: XaiGrade) -> dict:
    return {
        "namespaces": " ".join(namespace_command()[1:]) if settings.isolate_network and namespace_command() else "none",
        "file_jail": bool(settings.isolate_files and jail_works()),
        "cgroups": sorted(cgroup_roots()),
        "rlimits": ["CPU", "DATA", "FSIZE", "NOFILE", "CORE", "NPROC"],
        "runs_as": f"uid {SANDBOX_UID} (nobody)" if os.geteuid() == 0 else f"uid {os.geteuid()}",
    }


def scrubbed_environment(job_dir: Path) -> dict:
    """Only what the kernel needs; nothing of the grader's environment leaks in."""
    venv_bin = str(Path(sys.executable).parent)
    (job_dir / "tmp").mkdir(exist_ok=True)
    return {
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


def _pid_namespace() -> int:
    return os.stat("/proc/self/ns/pid").st_ino


class _Cgroups:
    """One pids + memory cgroup per job (root only); its processes are killed and it is removed after.

    The name carries the grader's pid and pid namespace, so the next grader removes what a killed one
    left behind (several machines' graders may share one cgroup root, hence the namespace)."""

    def __init__(self, settings: XaiGrade):
        self.paths = []
        _retry_undestroyed()
        name = f"xaigrade-{_pid_namespace()}-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        for controller, root in cgroup_roots().items():
            remove_stale_cgroups(root)
            path = root / name
            try:
                path.mkdir()
                if controller == "pids":
                    (path / "pids.max").write_text(str(settings.max_processes))
                else:
                    (path / "memory.limit_in_bytes").write_text(str(settings.memory_mb * 2**20))
                    swap = path / "memory.memsw.limit_in_bytes"
                    if swap.exists():
                        swap.write_text(str(settings.memory_mb * 2**20))
                self.paths.append(path)
            except OSError:
                _remove_cgroup(path, wait=0)
                continue

    def join(self):  # runs in the child before exec
        for path in self.paths:
            with open(path / "cgroup.procs", "w") as handle:
                handle.write(str(os.getpid()))

    def oom_killed(self) -> bool:
        for path in self.paths:
            control = path / "memory.oom_control"
            if control.exists() and "oom_kill 0" not in control.read_text() and "oom_kill" in control.read_text():
                return True
            failcnt = path / "memory.failcnt"
            if failcnt.exists() and failcnt.read_text().strip() not in ("", "0"):
                return True
        return False

    def destroy(self):
        for path in self.paths:
            if not _remove_cgroup(path, wait=20.0):
                _undestroyed.add(path)  # tried again before the next job and when the grader exits
        self.paths = []


_undestroyed: set[Path] = set()


def _remove_cgroup(path: Path, wait: float) -> bool:
    """Kill what is left in ``path`` and remove it; True when it is gone."""
    deadline = time.monotonic() + wait
    while True:
        try:
            pids = [int(p) for p in (path / "cgroup.procs").read_text().split()]
        except OSError:
            pids = []
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            path.rmdir()
            return True
        except FileNotFoundError:
            return True
        except OSError as error:
            if time.monotonic() >= deadline:  # killed processes take a moment to leave the cgroup
                print(f"xaigrade: cgroup {path} not removed yet ({error.strerror}; processes {pids[:5]})",
                      file=sys.stderr)
                return False
            time.sleep(0.05)


def _retry_undestroyed() -> None:
    for path in list(_undestroyed):
        if _remove_cgroup(path, wait=0):
            _undestroyed.discard(path)


atexit.register(_retry_undestroyed)


def remove_stale_cgroups(root: Path, age: float = 120.0) -> None:
    """Remove job cgroups left by a grader that was killed before it could clean up: at once when
    that grader (same pid namespace) is gone, else when empty and older than ``age`` seconds."""
    namespace = str(_pid_namespace())
    for path in root.glob("xaigrade-*"):
        parts = path.name.split("-")
        try:
            if (len(parts) == 4 and parts[1] == namespace and parts[2] != str(os.getpid())
                    and not _alive(int(parts[2]))):
                _remove_cgroup(path, wait=1.0)
            elif time.time() - path.stat().st_mtime > age and not (path / "cgroup.procs").read_text().strip():
                path.rmdir()
        except (OSError, ValueError):
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _preexec(settings: XaiGrade, cgroups: _Cgroups):
    def apply():
        os.setsid()
        # If the grader dies (even by SIGKILL), the sandbox dies with it: unshare gets SIGKILL
        # and its --kill-child takes the whole PID namespace down. No orphaned kernels.
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        cgroups.join()
        apply_limits(limits(settings, cgroups))

    return apply


def limits(settings: XaiGrade, cgroups: _Cgroups) -> dict:
    """The per-process limits of a job (plain values: they also travel to the zygote as JSON)."""
    return {"cpu_seconds": settings.cpu_seconds, "max_file_mb": settings.max_file_mb, "memory_mb": settings.memory_mb,
            "nproc": settings.max_processes if not cgroups.paths and os.geteuid() != 0 else None}


def apply_limits(values: dict) -> None:
    """Set ``limits()`` on this process (inherited by everything it starts)."""
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


def run_job(job_dir: Path, settings: XaiGrade, extra_hidden: list[str] | None = None,
            warm=None) -> JobOutcome:
    """Run ``execute.py`` on ``job_dir`` under the limits; never raises for the submission's sake.

    ``warm``: a ``zygote.Zygote`` to fork the job from (same sandbox, libraries already imported);
    without one, or if it fails, the job starts cold through ``unshare`` and ``jail.py``."""
    job_dir = Path(job_dir)
    prefix = namespace_command() if settings.isolate_network else ()
    jailed = bool(prefix and settings.isolate_files and jail_works())
    started = time.monotonic()
    killed = None
    job_key = object()
    cgroups = _Cgroups(settings)
    returncode = None
    try:
        env = scrubbed_environment(job_dir)
        identity = _identity_args(job_dir, settings.max_processes) if jailed else []
        ran_warm = False
        if warm is not None:
            from .zygote import ZygoteUnavailable

            spec = {"job_dir": str(job_dir), "env": env, "cgroups": [str(p) for p in cgroups.paths],
                    "namespaces": ("user" if "--user" in prefix else "root") if prefix else None,
                    "jail": {"hide": hidden_paths(list(extra_hidden or [])), "expose": exposed_paths(),
                             "uid": int(identity[1]) if identity else None,
                             "nproc": int(identity[3]) if identity else None} if jailed else None,
                    "limits": limits(settings, cgroups)}
            try:
                returncode, timed_out = warm.run(spec, settings.total_timeout,
                                                 started=lambda pid: _running.__setitem__(job_key, pid))
                ran_warm = True
                if timed_out:
                    killed = f"Zeitlimit von {settings.total_timeout:.0f} s überschritten"
            except ZygoteUnavailable as error:
                with open(job_dir / "sandbox.log", "ab") as log:
                    log.write(f"xaigrade: warm start failed ({error}); starting cold\n".encode())
        if not ran_warm:
            command = [sys.executable, "-m", "autograder.runner.execute", str(job_dir)]
            if jailed:
                command = [*prefix, sys.executable, "-m", "autograder.runner.jail", str(job_dir),
                           *_jail_args(list(extra_hidden or [])), *identity]
            elif prefix:
                command = [*prefix, *command]
            with open(job_dir / "sandbox.log", "ab") as log:
                process = subprocess.Popen(command, cwd=job_dir, env=env,
                                           stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                           preexec_fn=_preexec(settings, cgroups))
                _running[job_key] = process.pid
                try:
                    process.wait(timeout=settings.total_timeout)
                except subprocess.TimeoutExpired:
                    killed = f"Zeitlimit von {settings.total_timeout:.0f} s überschritten"
                finally:
                    _kill_group(process)
            returncode = process.returncode
        if killed is None and cgroups.oom_killed() and returncode != 0:
            killed = f"Speicherlimit von {settings.memory_mb} MiB überschritten"
    finally:
        _running.pop(job_key, None)
        cgroups.destroy()
    tail = (job_dir / "sandbox.log").read_bytes()[-2000:].decode("utf-8", "replace")
    if killed is None and returncode == JAIL_FAILED:
        killed = "Sandbox konnte nicht eingerichtet werden: " + tail.strip().splitlines()[-1][:200]
    elif killed is None and returncode not in (0, None):
        last = [line for line in tail.strip().splitlines() if line.strip()][-1:] or [""]
        killed = _describe_exit(returncode) + (f" ({last[0][:160]})" if last[0] else "")
    return JobOutcome(returncode, killed, time.monotonic() - started, tail)


_running: dict = {}  # job -> the pid of its process group (both paths start one session per job)


def stop_running_jobs() -> None:
    """Kill every job this grader is waiting for (a batch stopped by Ctrl-C or one of our errors);
    their ``run_job`` calls return at once with the job killed."""
    for pid in list(_running.values()):
        kill_group(pid)


def kill_group(pid: int) -> None:
    """SIGKILL the process group (job session) led by ``pid``; nothing if it is gone already."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def _kill_group(process: subprocess.Popen) -> None:
    kill_group(process.pid)
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
