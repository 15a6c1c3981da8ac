"""Job cgroups (root only): one pids + memory + cpu cgroup per job, its processes killed and the cgroup
removed after the job; what a killed grader left behind is removed by the next one.

cpu: every job gets a cgroup of its own with the same weight (``cpu.shares``, optionally a quota), so the
scheduler shares the CPUs between *jobs*, not between processes: 40 busy processes in one job no longer
take 40/41 of a core from a neighbour running one (``benchmarks/cpu_isolation.py``)."""

from __future__ import annotations

import atexit
import os
import signal
import sys
import time
import uuid
from functools import lru_cache
from pathlib import Path

from ..config import XaiGrade


@lru_cache(maxsize=None)
def cgroup_roots() -> dict[str, Path]:
    """Writable cgroup v1 controllers (pids, memory, cpu) when we are root; empty otherwise."""
    roots = {}
    if os.geteuid() != 0:
        return roots
    for controller in ("pids", "memory", "cpu"):
        base = Path("/sys/fs/cgroup") / controller
        try:
            own = next(line.split(":", 2)[2].strip() for line in open("/proc/self/cgroup")
                       if controller in line.split(":")[1].split(","))
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


def _pid_namespace() -> int:
    return os.stat("/proc/self/ns/pid").st_ino


class _Cgroups:
    """One pids + memory + cpu cgroup per job (root only); its processes are killed and it is removed after.

    The name carries the grader's pid and pid namespace, so the next grader removes what a killed one
    left behind (several machines' graders may share one cgroup root, hence the namespace)."""

    def __init__(self, settings: XaiGrade):
        self.paths = []
        _retry_undestroyed()
        name = f"xaigrade-{_pid_namespace()}-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        for controller, root in cgroup_roots().items():
            remove_stale_cgroups(root)
            if controller == "cpu" and settings.cpu_shares <= 0:
                continue
            path = root / name
            try:
                path.mkdir()
                if controller == "pids":
                    (path / "pids.max").write_text(str(settings.max_processes))
                elif controller == "cpu":
                    (path / "cpu.shares").write_text(str(settings.cpu_shares))
                    if settings.job_cpus > 0:
                        period = int((path / "cpu.cfs_period_us").read_text())
                        (path / "cpu.cfs_quota_us").write_text(str(max(1000, int(settings.job_cpus * period))))
                else:
                    (path / "memory.limit_in_bytes").write_text(str(settings.memory_mb * 2**20))
                    swap = path / "memory.memsw.limit_in_bytes"
                    if swap.exists():
                        swap.write_text(str(settings.memory_mb * 2**20))
                self.paths.append(path)
            except OSError:
                _remove_cgroup(path, wait=0)
                continue

    def weigh(self, shares: int) -> None:
        """Set the job's cpu weight (a job started ahead weighs less until its go: ``sandbox.prestart_job``)."""
        for path in self.paths:
            if (path / "cpu.shares").exists():
                (path / "cpu.shares").write_text(str(shares))

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
