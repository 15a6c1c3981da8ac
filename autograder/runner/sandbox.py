"""Grader side: run one job (``execute.py``) in a sandboxed process tree and wait for it.

Layers, each used where the system allows it (``describe_isolation`` says which are active):
- namespaces (``unshare``, the list in ``jobsetup.NAMESPACES``): PID (every process of the submission dies
  with it; background processes cannot outlive the job), network (no network at all; the kernel talks to
  nbclient over Unix sockets), IPC (SysV and POSIX IPC objects go with the job), mount (``jail.py`` hides
  the project, reference solutions, submissions, gradebook, $HOME and /tmp, makes everything else
  read-only and locks it in a nested user namespace);
- cgroups when running as root (pids.max against fork bombs, memory limit for the whole tree, a CPU
  weight of the job's own); otherwise RLIMIT_NPROC;
- resource limits per process: CPU seconds, data segment (memory), file size, open files, no core dumps;
- a session keyring of its own (``jobsetup.join_new_session_keyring``): keys go with the job;
- a scrubbed environment and, for every attempt, a fresh job folder (``JobFolder``): a root-owned
  folder (a size-limited tmpfs when root) holding the log, which the sandbox writes through a
  descriptor it is handed, and ``work/``, the only place the submission can write;
- a uid of its own per job (when root), so concurrent jobs share no process limit and no files;
- a wall-clock limit enforced here by killing the process group (and the cgroup's processes).

The grader never follows a path the submission can write: what it reads from ``work/`` goes through
``results.JobFiles`` (no links, regular files only, sizes capped).

Longer than ~400 lines on purpose: these layers are one trust boundary, and a reviewer checks it best in
one file, in the order a job meets them (folder, uid, environment, limits, start, wait, kill, cleanup);
the parts that stand alone already live beside it (``cgroups.py``, ``jail.py``, ``results.py``).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ..config import PROJECT_ROOT, XaiGrade, cache_dir
from . import jail
from .cgroups import _alive, _Cgroups, _pid_namespace, cgroup_roots  # noqa: F401  (re-exported)
from .jail import PR_SET_PDEATHSIG, libc
from .jobsetup import (JAIL_FAILED, UNSHARE_OPTIONS, apply_limits, join_new_session_keyring,  # noqa: F401
                       kill_group, scrubbed_environment)
from .protocol import GO_FILE, READY_FILE
from .zygote import ZygoteUnavailable
# When the grader is root, every job runs as a uid of its own from this range (no passwd entry is
# needed): RLIMIT_NPROC counts per uid, so with one shared uid ("nobody") a fork bomb in one job
# starved the kernel start of the job running beside it (the warm start then fell back to cold).
SANDBOX_UID_BASE = 1_900_000_000
SANDBOX_UID_SPAN = 100_000_000
LOG_TAIL_BYTES = 2000


@dataclass
class JobOutcome:
    returncode: int | None
    seconds: float
    log_tail: str
    # How it ended: None (ran to its end) | timeout | memory | cpu | signal | exit | jail, with the numbers
    # of it; rendered in the report's language by autograder.messages.outcome_message.
    kind: str | None = None
    params: dict = field(default_factory=dict)
    warm_fallback: str | None = None  # why a job meant to start warm started cold (for the report)
    zygote_wait: float = 0.0  # seconds the job waited for its zygote's imports (the run's first jobs)
    ready_at_go: bool | None = None  # started ahead: whether its kernel was ready when it got its go


# --- job folders ---------------------------------------------------------------------------------

@dataclass
class JobFolder:
    """One attempt's folders. ``root`` is the grader's (root-owned, mode 0711; a tmpfs of
    ``settings.job_disk_mb`` when root) and holds ``sandbox.log``; ``work`` is the submission's.
    A retry gets a new JobFolder: nothing the submission left (links, FIFOs) is ever reused."""

    root: Path
    mounted: bool = False

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def log(self) -> Path:
        return self.root / "sandbox.log"

    def remove(self) -> None:
        if self.mounted:
            _unmount(self.root)
            self.mounted = False
        shutil.rmtree(self.root, ignore_errors=True)  # (rmtree never follows links)


def _unmount(path: Path) -> None:
    libc.umount2(str(path).encode(), 2)  # MNT_DETACH: gone now, freed when no namespace holds it


def _job_prefix() -> str:
    return f"xaigrade-job-{_pid_namespace()}-{os.getpid()}-"


def new_job_folder(settings: XaiGrade) -> JobFolder:
    """A fresh, empty job folder; the work folder is not yet handed to the job's uid."""
    _remove_stale_job_folders()
    root = Path(tempfile.mkdtemp(prefix=_job_prefix()))
    folder = JobFolder(root)
    if os.geteuid() == 0 and settings.job_disk_mb > 0:
        try:  # a total limit for everything the job writes (and it is memory, charged to the job's cgroup)
            jail.mount("tmpfs", str(root), "tmpfs", jail.MS_NOSUID | jail.MS_NODEV,
                       f"size={settings.job_disk_mb}m,nr_inodes={settings.job_max_files},mode=0711")
            folder.mounted = True
        except jail.JailError as error:
            print(f"xaigrade: no size-limited job folder ({error})", file=sys.stderr)
    os.chmod(root, 0o711)
    folder.work.mkdir(mode=0o700)
    return folder


@lru_cache(maxsize=None)
def _remove_stale_job_folders() -> None:
    """Job folders (and their tmpfs mounts) of graders of this pid namespace that were killed."""
    namespace = str(_pid_namespace())
    for path in Path(tempfile.gettempdir()).glob("xaigrade-job-*"):
        parts = path.name.split("-")
        try:
            if len(parts) == 5 and parts[2] == namespace and int(parts[3]) != os.getpid() and not _alive(int(parts[3])):
                if os.path.ismount(path):
                    _unmount(path)
                shutil.rmtree(path, ignore_errors=True)
        except (OSError, ValueError):
            pass


_uids_in_use: set[int] = set()
_uids_lock = threading.Lock()


_uids_ever: set[int] = set()  # (what this grader's jobs ran as: tests find their leftovers by it)


def _take_uid() -> int:
    with _uids_lock:
        while True:
            uid = SANDBOX_UID_BASE + secrets.randbelow(SANDBOX_UID_SPAN)
            if uid not in _uids_in_use:
                _uids_in_use.add(uid)
                _uids_ever.add(uid)
                return uid


def uids_handed_out() -> set[int]:
    with _uids_lock:
        return set(_uids_ever)


def _release_uid(uid: int | None) -> None:
    with _uids_lock:
        _uids_in_use.discard(uid)


def hand_over(folder: Path, uid: int) -> None:
    """Give the job's uid the work folder the grader filled (never following a link)."""
    for parent, dirs, files in os.walk(folder):
        os.chown(parent, uid, uid, follow_symlinks=False)
        for name in dirs + files:
            os.chown(os.path.join(parent, name), uid, uid, follow_symlinks=False)


def read_log_tail(folder: JobFolder, size: int = LOG_TAIL_BYTES) -> str:
    """The end of the job's log (a file of the grader's; still opened without following links)."""
    try:
        fd = os.open(folder.log, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return ""
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return ""
        return os.pread(fd, size, max(0, info.st_size - size)).decode("utf-8", "replace")
    finally:
        os.close(fd)


@lru_cache(maxsize=None)
def namespace_command() -> tuple[str, ...]:
    """The unshare prefix that works here: as root directly, otherwise inside a user namespace."""
    unshare = shutil.which("unshare")
    if not unshare:
        return ()
    base = [*UNSHARE_OPTIONS, "--fork", "--kill-child", "--mount-proc"]
    candidates = [base] if os.geteuid() == 0 else []
    candidates.append(["--user", "--map-root-user", *base])
    for flags in candidates:
        if subprocess.run([unshare, *flags, "true"], capture_output=True).returncode == 0:
            return (unshare, *flags)
    return ()


def exposed_paths() -> list[str]:
    """What the kernel may read: our two packages and the Python installation, with every library folder
    on its path (a venv that reaches another environment's site-packages through a .pth file under /tmp)."""
    libraries = [p for p in sys.path if os.path.basename(p.rstrip("/")) in ("site-packages", "dist-packages")
                 and os.path.isdir(p)]
    return [str(PROJECT_ROOT / "autograder"), str(PROJECT_ROOT / "xaikit"), sys.prefix, sys.base_prefix,
            str(Path(os.path.realpath(sys.executable)).parent.parent), *dict.fromkeys(libraries)]


def hidden_paths(extra: list[str]) -> list[str]:
    """What the jail covers; the grader's cache holds the hidden cases' reference results."""
    home = os.path.expanduser("~")
    return [str(PROJECT_ROOT), home, "/tmp", "/var/tmp", tempfile.gettempdir(), str(cache_dir()), *extra]


@lru_cache(maxsize=None)
def jail_works() -> bool:
    prefix = namespace_command()
    if not prefix:
        return False
    probe_dir = Path(tempfile.mkdtemp(prefix="xaigrade-jailcheck-"))
    uid = _take_uid() if os.geteuid() == 0 else None
    try:
        if uid is not None:
            hand_over(probe_dir, uid)
        command = [*prefix, sys.executable, "-m", "autograder.runner.cold_start", str(probe_dir), "--check",
                   *_jail_args([]), *_identity_args(uid, 64)]
        return subprocess.run(command, capture_output=True, cwd=probe_dir).returncode == 0
    finally:
        _release_uid(uid)
        shutil.rmtree(probe_dir, ignore_errors=True)


def _identity_args(uid: int | None, max_processes: int) -> list[str]:
    """Run as the job's own unprivileged uid when we are root."""
    if uid is None:
        return []
    return ["--uid", str(uid), "--nproc", str(max_processes)]


def _jail_args(extra_hidden: list[str]) -> list[str]:
    args = []
    for path in hidden_paths(extra_hidden):
        args += ["--hide", path]
    for path in exposed_paths():
        args += ["--expose", path]
    return args


def describe_isolation(settings: XaiGrade) -> dict:
    return {
        "namespaces": " ".join(namespace_command()[1:]) if settings.isolate_network and namespace_command() else "none",
        "file_jail": bool(settings.isolate_files and jail_works()),
        "cgroups": sorted(cgroup_roots()),
        "rlimits": ["CPU", "DATA", "FSIZE", "NOFILE", "CORE", "NPROC"],
        "runs_as": "a uid of its own per job" if os.geteuid() == 0 else f"uid {os.geteuid()}",
        "job_folder": f"tmpfs, {settings.job_disk_mb} MiB" if os.geteuid() == 0 and settings.job_disk_mb > 0
        else "plain folder (per-file limit only)",
    }


def _preexec(settings: XaiGrade, cgroups: _Cgroups):
    def apply():
        os.setsid()
        # If the grader dies (even by SIGKILL), the sandbox dies with it: unshare gets SIGKILL
        # and its --kill-child takes the whole PID namespace down. No orphaned kernels.
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        join_new_session_keyring()
        cgroups.join()
        apply_limits(limits(settings, cgroups))

    return apply


def limits(settings: XaiGrade, cgroups: _Cgroups) -> dict:
    """The per-process limits of a job (plain values: they also travel to the zygote as JSON)."""
    return {"cpu_seconds": settings.cpu_seconds, "max_file_mb": settings.max_file_mb, "memory_mb": settings.memory_mb,
            "nproc": settings.max_processes if not cgroups.paths and os.geteuid() != 0 else None}


def _warm_spec(job: JobFolder, settings: XaiGrade, prefix: tuple, jailed: bool, hidden: list[str], uid: int | None,
               cgroups: _Cgroups, env: dict) -> dict:
    """What the zygote's forked job needs to build the sandbox (``forked_job.run_forked_job``)."""
    return {"job_dir": str(job.work), "env": env, "cgroups": [str(p) for p in cgroups.paths],
            "namespaces": ("user" if "--user" in prefix else "root") if prefix else None,
            "jail": {"hide": hidden_paths(hidden), "expose": exposed_paths(),
                     "uid": uid, "nproc": settings.max_processes if uid is not None else None}
            if jailed else None,
            "limits": limits(settings, cgroups)}


def run_job(job: JobFolder, settings: XaiGrade, extra_hidden: list[str] | None = None,
            warm=None, prestarted: "PrestartedJob | None" = None) -> JobOutcome:
    """Run ``execute.py`` on ``job.work`` under the limits; never raises for the submission's sake.

    ``warm``: a ``zygote.Zygote`` to fork the job from (same sandbox, libraries already imported);
    without one, or if it fails, the job starts cold through ``unshare`` and ``jail.py``. The job's
    stdout/stderr go to ``job.log`` through a descriptor opened here: the path is not the job's.
    ``prestarted``: the job was started ahead (``prestart_job``) in ``job``, whose work folder now holds the
    submission; it gets its go here, and every limit counts from the go (``PrestartLost`` if its zygote died)."""
    if prestarted is not None:
        return _run_prestarted(prestarted)
    prefix = namespace_command() if settings.isolate_network else ()
    jailed = bool(prefix and settings.isolate_files and jail_works())
    started = time.monotonic()
    kind, params = None, {}
    fallback = None  # why a warm start became a cold one
    job_key = object()
    cgroups = _Cgroups(settings)
    returncode = None
    uid = _take_uid() if jailed and os.geteuid() == 0 else None
    hidden = [*(extra_hidden or []), str(job.root)]
    log_fd = os.open(job.log, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_APPEND | os.O_CLOEXEC,
                     0o600)
    try:
        env = scrubbed_environment(job.work)
        if uid is not None:
            hand_over(job.work, uid)
        ran_warm = False
        zygote_wait = 0.0
        if warm is not None:
            waited = time.monotonic()
            try:
                warm.wait_ready()
            except ZygoteUnavailable:
                pass  # (``warm.run`` below says so again, and the job starts cold)
            zygote_wait = time.monotonic() - waited
            spec = _warm_spec(job, settings, prefix, jailed, hidden, uid, cgroups, env)
            for attempt in range(2):  # a request that failed before any job started is asked once more
                try:
                    returncode, timed_out = warm.run(spec, log_fd, settings.total_timeout,
                                                     started=lambda pid: _started(job_key, pid, settings,
                                                                                  extra_hidden, warm))
                    ran_warm = True
                    if timed_out:
                        kind, params = "timeout", {"seconds": settings.total_timeout}
                    break
                except ZygoteUnavailable as error:
                    fallback = str(error)[:200]
                    os.write(log_fd, f"xaigrade: warm start failed ({error})\n".encode())
                    if job_key in _running or attempt == 1:  # a job ran (and died with the zygote): no retry
                        os.write(log_fd, b"xaigrade: starting cold\n")
                        break
        if not ran_warm:
            command = [sys.executable, "-m", "autograder.runner.execute", str(job.work)]
            if jailed:
                command = [*prefix, sys.executable, "-m", "autograder.runner.cold_start", str(job.work),
                           *_jail_args(hidden), *_identity_args(uid, settings.max_processes)]
            elif prefix:
                command = [*prefix, *command]
            process = subprocess.Popen(command, cwd=job.work, env=env,
                                       stdin=subprocess.DEVNULL, stdout=log_fd, stderr=log_fd,
                                       preexec_fn=_preexec(settings, cgroups))
            _running[job_key] = process.pid
            try:
                process.wait(timeout=settings.total_timeout)
            except subprocess.TimeoutExpired:
                kind, params = "timeout", {"seconds": settings.total_timeout}
            finally:
                _kill_group(process)
            returncode = process.returncode
        if kind is None and cgroups.oom_killed() and returncode != 0:
            kind, params = "memory", {"mb": settings.memory_mb}
    finally:
        os.close(log_fd)
        _running.pop(job_key, None)
        cgroups.destroy()
        _release_uid(uid)
    return _outcome(job, returncode, kind, params, started, fallback if warm is not None and not ran_warm else None,
                    zygote_wait)


def _outcome(job: JobFolder, returncode: int | None, kind: str | None, params: dict, started: float,
             fallback: str | None, zygote_wait: float) -> JobOutcome:
    tail = read_log_tail(job)
    if kind is None and returncode == JAIL_FAILED:
        kind, params = "jail", {"detail": (tail.strip().splitlines() or [""])[-1][:200]}
    elif kind is None and returncode not in (0, None):
        last = [line for line in tail.strip().splitlines() if line.strip()][-1:] or [""]
        kind, params = _exit_kind(returncode)
        params["detail"] = last[0][:160]
    return JobOutcome(returncode, time.monotonic() - started, tail, kind, params, fallback, zygote_wait)


# --- jobs started ahead of their submission (the warm path of a batch) ----------------------------
#
# A slot's next job is started while its current one runs: the zygote forks it, it builds its namespaces and
# jail, the executor sets up and its kernel starts, with nothing of any submission in its folder (only
# ``job.json``: the settings). When the slot is free, the grader fills the folder with the next submission
# and creates the go file (``execute.GO_FILE``); only then does the executor read the notebook. Its cpu
# weight is half a job's until the go (the running jobs' cells keep most of the CPU; with the least weight, 2,
# a job started ahead on a busy machine was never ready), the full one after; the wall-clock limit counts
# from the go; memory and processes are limited as for any job from its start.
# An unused one is torn down (``discard``); one that ended before its go is discarded and the submission
# gets a fresh start.

def prestart_cpu_shares(settings: XaiGrade) -> int:
    return max(2, settings.cpu_shares // 2)


class PrestartLost(RuntimeError):
    """A job started ahead lost its zygote after its go: the submission is run again from a fresh start."""


@dataclass(eq=False)
class PrestartedJob:
    job: JobFolder
    key: tuple
    settings: XaiGrade
    extra_hidden: list
    warm: object  # the zygote.Zygote it was forked from
    running: object  # its zygote.ZygoteJob
    cgroups: _Cgroups
    uid: int | None
    log_fd: int
    job_key: object
    zygote_wait: float
    ahead: bool = False  # taken from the pool (started while another submission ran)

    def usable(self) -> bool:
        """Still waiting for its go (its executor did not end, its zygote is there)."""
        return self.log_fd >= 0 and not self.running.ended()

    def hand_over(self, names: list[str]) -> None:
        """Give the job's uid what the grader just put into its work folder (never following a link)."""
        if self.uid is None:
            return
        for name in names:
            path = self.job.work / name
            if path.is_dir() and not path.is_symlink():
                hand_over(path, self.uid)
            else:
                os.chown(path, self.uid, self.uid, follow_symlinks=False)

    def release(self) -> None:
        """Its log descriptor, cgroups (every process left in them killed) and uid; the folder stays."""
        if self.log_fd >= 0:
            os.close(self.log_fd)
            self.log_fd = -1
        _running.pop(self.job_key, None)
        self.cgroups.destroy()
        _release_uid(self.uid)
        self.uid = None

    def discard(self) -> None:
        """Tear an unused (or ended) job down: ended and reaped, its cgroups, uid and folder removed."""
        self.running.stop()
        self.release()
        self.job.remove()


def _prestart_key(settings: XaiGrade, extra_hidden: list[str] | None, warm) -> tuple:
    return (id(warm), tuple(extra_hidden or ()),
            tuple((name, repr(getattr(settings, name))) for name in sorted(settings.trait_names(config=True))))


def prestart_job(settings: XaiGrade, extra_hidden: list[str] | None, warm) -> PrestartedJob | None:
    """Start a job from ``warm`` in a fresh job folder that holds nothing of a submission; it waits for its go
    (``run_job(..., prestarted=...)``). None when the zygote cannot start one (the caller starts as before)."""
    prefix = namespace_command() if settings.isolate_network else ()
    jailed = bool(prefix and settings.isolate_files and jail_works())
    job = new_job_folder(settings)
    write_job(job.work, settings)  # (the settings only: the executor reads them before its go)
    cgroups = _Cgroups(settings)
    uid = _take_uid() if jailed and os.geteuid() == 0 else None
    hidden = [*(extra_hidden or []), str(job.root)]
    job_key = object()
    log_fd = -1
    try:
        log_fd = os.open(job.log, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_APPEND | os.O_CLOEXEC,
                         0o600)
        env = scrubbed_environment(job.work)
        if uid is not None:
            hand_over(job.work, uid)
        waited = time.monotonic()
        warm.wait_ready()
        zygote_wait = time.monotonic() - waited
        spec = {**_warm_spec(job, settings, prefix, jailed, hidden, uid, cgroups, env), "prestart": True}
        cgroups.weigh(prestart_cpu_shares(settings))
        running = warm.start_job(spec, log_fd)
        _running[job_key] = running.pid
    except (ZygoteUnavailable, OSError):
        if log_fd >= 0:
            os.close(log_fd)
        cgroups.destroy()
        _release_uid(uid)
        job.remove()
        return None
    return PrestartedJob(job, _prestart_key(settings, extra_hidden, warm), settings, list(extra_hidden or []), warm,
                         running, cgroups, uid, log_fd, job_key, zygote_wait)


def _run_prestarted(pre: PrestartedJob) -> JobOutcome:
    settings = pre.settings
    started = time.monotonic()
    kind, params, returncode = None, {}, None
    try:
        pre.cgroups.weigh(settings.cpu_shares)  # (from the go: the weight of every job)
        ready = os.path.lexists(pre.job.work / READY_FILE)
        go = os.open(pre.job.work / GO_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        os.close(go)
        _started(pre.job_key, pre.running.pid, settings, pre.extra_hidden, pre.warm)  # (the slot's next job)
        try:
            returncode, timed_out = pre.running.wait(settings.total_timeout)  # (counted from the go)
        except ZygoteUnavailable as error:
            os.write(pre.log_fd, f"xaigrade: warm process lost ({error}); starting afresh\n".encode())
            raise PrestartLost(str(error)[:200]) from None
        if timed_out:
            kind, params = "timeout", {"seconds": settings.total_timeout}
        if kind is None and pre.cgroups.oom_killed() and returncode != 0:
            kind, params = "memory", {"mb": settings.memory_mb}
    finally:
        pre.running.close()  # (killed if it still runs)
        pre.release()
    outcome = _outcome(pre.job, returncode, kind, params, started, None, 0.0 if pre.ahead else pre.zygote_wait)
    outcome.ready_at_go = ready
    return outcome


_prestarted: list[PrestartedJob] = []  # the slots' next jobs, oldest first
_prestart_lock = threading.Lock()
_prestart_slots = 0  # how many may wait at once (0: none are started; set by ``prestarting``)


@contextlib.contextmanager
def prestarting(slots: int):
    """Within: after each go, the slot's next job is started ahead (at most ``slots`` wait at once). After:
    every unused one is torn down."""
    global _prestart_slots
    _prestart_slots = max(0, slots)
    try:
        yield
    finally:
        _prestart_slots = 0
        discard_prestarted()


def discard_prestarted() -> None:
    with _prestart_lock:
        waiting = list(_prestarted)
        _prestarted.clear()
    for pre in waiting:
        pre.discard()


def take_prestarted(settings: XaiGrade, extra_hidden: list[str] | None, warm) -> PrestartedJob | None:
    """A job started ahead for these settings and zygote that still waits for its go, or None. One that ended
    before its go (crashed, killed) is torn down here and never gets a submission."""
    if not _prestart_slots or warm is None:
        return None
    key = _prestart_key(settings, extra_hidden, warm)
    with _prestart_lock:
        pre = next((p for p in _prestarted if p.key == key), None)
        if pre is not None:
            _prestarted.remove(pre)
    if pre is None:
        return None
    if not pre.usable():
        pre.discard()
        return None
    pre.ahead = True
    return pre


def prestart_next(settings: XaiGrade, extra_hidden: list[str] | None, warm) -> None:
    """Start one job ahead for the next submission with these settings, unless enough wait already; one
    waiting for another zygote or other settings (an assignment that is done) makes room."""
    if not _prestart_slots or warm is None:
        return
    key = _prestart_key(settings, extra_hidden, warm)
    stale = []
    with _prestart_lock:
        if sum(p.key == key for p in _prestarted) >= _prestart_slots:
            return
        while len(_prestarted) >= _prestart_slots:
            stale.append(_prestarted.pop(0))
    for pre in stale:
        pre.discard()
    pre = prestart_job(settings, extra_hidden, warm)
    if pre is None:
        return
    with _prestart_lock:
        if _prestart_slots:
            _prestarted.append(pre)
            return
    pre.discard()  # (the batch ended meanwhile)


atexit.register(discard_prestarted)


_running: dict = {}  # job -> the pid of its process group (both paths start one session per job)


def _started(job_key, pid: int, settings: XaiGrade, extra_hidden, warm) -> None:
    """A warm job runs: in a batch, the slot's next job starts ahead meanwhile (``prestart_next``)."""
    _running[job_key] = pid
    try:
        prestart_next(settings, extra_hidden, warm)
    except Exception as error:  # noqa: BLE001 - never the running job's problem
        print(f"xaigrade: no job started ahead ({type(error).__name__}: {error})", file=sys.stderr)


def stop_running_jobs() -> None:
    """Kill every job this grader is waiting for (a batch stopped by Ctrl-C or one of our errors);
    their ``run_job`` calls return at once with the job killed."""
    for pid in list(_running.values()):
        kill_group(pid)


def _kill_group(process: subprocess.Popen) -> None:
    kill_group(process.pid)
    process.wait()


def _exit_kind(returncode: int) -> tuple[str, dict]:
    if returncode < 0:
        name = signal.Signals(-returncode).name
        return ("cpu", {}) if name == "SIGXCPU" else ("signal", {"signal": name})
    return "exit", {"code": returncode}


def write_job(job_dir: Path, settings: XaiGrade) -> None:
    (job_dir / "job.json").write_text(json.dumps({
        "kernel_name": settings.kernel_name,
        "cell_timeout": settings.cell_timeout,
        "probe_timeout": settings.probe_timeout,
        "max_output_chars": settings.max_output_chars,
    }))
