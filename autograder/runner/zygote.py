"""A warm process that forks one sandboxed job per submission.

Starting every submission's executor and kernel as fresh Pythons costs the imports of
torch/TensorFlow/transformers each time (5–7 s). The zygote imports them once (the modules the
assignment's *release* notebook imports, never anything of the grader: it holds no reference code,
hidden inputs or other submissions) and then, per job, forks a child that builds exactly the
sandbox of ``sandbox.run_job``'s cold path, in-process instead of via ``unshare`` and ``jail.py``:

  job (new session, cgroups, rlimits, scrubbed environment, output to sandbox.log)
   └ unshare(mount, net, pid [, user]) → fork → PID 1 of the new namespaces:
        private mounts, fresh /proc, the file jail, the unprivileged uid, then the executor,
        whose kernel is forked from this warm process too (``warm.prefork_kernel``).

Protocol (one Unix-socket connection per job, JSON lines): the client sends the job spec, the
zygote answers ``{"pid": N}`` and, when the job has ended, ``{"returncode": R}`` (Popen's
convention: negative = killed by that signal). A client that disconnects early has its job killed.
The zygote exits when its owner process is gone or, as a daemon, after an idle period.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import selectors
import signal
import socket
import sys
import threading
import time
import traceback

from . import jail, sandbox

JOB_NAME = b"xaigrade-job"  # process name of forked jobs (their command line is the zygote's)


# --- the job child -------------------------------------------------------------------------------

def _enter_namespaces(mode: str) -> None:
    """As ``unshare --mount --net --pid [--user --map-root-user]``; the caller forks PID 1 next."""
    flags = jail.CLONE_NEWNS | jail.CLONE_NEWNET | jail.CLONE_NEWPID
    if mode == "user":
        jail.enter_user_namespace(flags)
    else:
        jail.unshare(flags)


def _first_in_namespace(spec: dict) -> int:
    """PID 1 of the job's namespaces: mounts, jail, then the executor. Returns its exit code."""
    if spec["namespaces"]:
        # Nothing mounted here may reach the host's mount namespace (unshare(1) does the same).
        jail.mount(None, "/", None, jail.MS_REC | jail.MS_PRIVATE)
        jail.mount("proc", "/proc", "proc", jail.MS_NOSUID | jail.MS_NODEV | jail.MS_NOEXEC)
    if spec.get("jail"):
        try:
            jail.build_jail(spec["job_dir"], spec["jail"]["hide"], spec["jail"]["expose"],
                            spec["jail"].get("uid"), spec["jail"].get("nproc"))
        except (jail.JailError, OSError) as error:
            print(f"xaigrade jail: {error}", file=sys.stderr)
            return sandbox.JAIL_FAILED
    os.chdir(spec["job_dir"])
    from . import execute

    return execute.main(spec["job_dir"], warm=True)


def _run_job(spec: dict, log_fd: int) -> None:
    """Body of the forked job process; never returns."""
    code = 1
    try:
        os.setsid()
        jail.libc.prctl(jail.PR_SET_PDEATHSIG, signal.SIGKILL)  # the zygote gone (grader gone) = the job gone
        jail.libc.prctl(jail.PR_SET_NAME, JOB_NAME)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.close(log_fd)
        for path in spec.get("cgroups", []):
            with open(os.path.join(path, "cgroup.procs"), "w") as handle:
                handle.write(str(os.getpid()))
        sandbox.apply_limits(spec["limits"])
        os.environ.clear()
        os.environ.update(spec["env"])
        import tempfile

        tempfile.tempdir = None  # re-read TMPDIR
        os.chdir(spec["job_dir"])
        if not spec["namespaces"]:
            code = _first_in_namespace(spec)
        else:
            _enter_namespaces(spec["namespaces"])
            child = os.fork()
            if child == 0:
                inner = 1
                try:
                    jail.libc.prctl(jail.PR_SET_PDEATHSIG, signal.SIGKILL)  # as unshare --kill-child
                    inner = _first_in_namespace(spec)
                except BaseException:  # noqa: BLE001
                    traceback.print_exc()
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(inner)
            _, status = os.waitpid(child, 0)
            if os.WIFSIGNALED(status):  # report it as unshare does: die of the same signal
                sys.stdout.flush()
                number = os.WTERMSIG(status)
                if number not in (signal.SIGKILL, signal.SIGSTOP):  # (those two cannot be handled anyway)
                    signal.signal(number, signal.SIG_DFL)
                os.kill(os.getpid(), number)
            code = os.waitstatus_to_exitcode(status)
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


# --- the server --------------------------------------------------------------------------------

def _send(conn: socket.socket, message: dict) -> None:
    try:
        conn.sendall(json.dumps(message).encode() + b"\n")
    except OSError:
        pass


def serve(listener: socket.socket, owner: int | None, idle_seconds: float | None) -> None:
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    buffers: dict[socket.socket, bytes] = {}
    jobs: dict[int, socket.socket] = {}  # pid -> connection waiting for its end
    last_active = time.monotonic()
    try:
        while True:
            for key, _ in selector.select(timeout=0.05):
                if key.fileobj is listener:
                    conn, _ = listener.accept()
                    buffers[conn] = b""
                    selector.register(conn, selectors.EVENT_READ)
                    continue
                conn = key.fileobj
                try:
                    data = conn.recv(1 << 20)
                except OSError:
                    data = b""
                if not data:  # client gone: its job goes too
                    for pid, owner_conn in list(jobs.items()):
                        if owner_conn is conn:
                            sandbox.kill_group(pid)
                    selector.unregister(conn)
                    buffers.pop(conn, None)
                    conn.close()
                    continue
                buffers[conn] += data
                while b"\n" in buffers[conn]:
                    line, buffers[conn] = buffers[conn].split(b"\n", 1)
                    request = json.loads(line)
                    if request.get("ping"):
                        _send(conn, {"pong": os.getpid()})
                        continue
                    if request.get("stop"):
                        _send(conn, {"stopping": os.getpid()})
                        return
                    pid = _fork_job(request)
                    jobs[pid] = conn
                    _send(conn, {"pid": pid})
            for pid, status in jail.ended_children() if jobs else ():  # reap ended jobs
                conn = jobs.pop(pid, None)
                if conn is not None:
                    _send(conn, {"returncode": os.waitstatus_to_exitcode(status)})
            if jobs:
                last_active = time.monotonic()
            if owner is not None and os.getppid() != owner:
                return
            if idle_seconds is not None and not jobs and time.monotonic() - last_active > idle_seconds:
                return
    finally:
        for pid in jobs:
            sandbox.kill_group(pid)


def _fork_job(spec: dict) -> int:
    log_fd = os.open(os.path.join(spec["job_dir"], "sandbox.log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        _run_job(spec, log_fd)  # never returns
    os.close(log_fd)
    return pid


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("socket_path")
    parser.add_argument("--modules", default="[]", help="JSON list of [module, [names]] to import first")
    parser.add_argument("--owner", type=int, default=None, help="exit when this parent process is gone")
    parser.add_argument("--idle", type=float, default=None, help="exit after this many idle seconds (daemon)")
    args = parser.parse_args()
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]  # `-m` put our scratch folder first; the kernels must not see it
    from . import warm

    warm.preload([(module, tuple(names)) for module, names in json.loads(args.modules)])
    from . import execute  # noqa: F401  (imported once here, used by every job)

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(args.socket_path):
        os.unlink(args.socket_path)
    old_umask = os.umask(0o177)  # only our own uid may connect
    try:
        listener.bind(args.socket_path)
    finally:
        os.umask(old_umask)
    listener.listen(16)
    print("ready", flush=True)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # the client stopped reading; nothing may write into a closed pipe
    os.close(devnull)
    try:
        serve(listener, args.owner, args.idle)
    finally:
        listener.close()
        try:
            os.unlink(args.socket_path)
        except OSError:
            pass
        if args.idle and os.path.basename(os.getcwd()).startswith("xaigrade-zygote-"):
            import shutil

            shutil.rmtree(os.getcwd(), ignore_errors=True)  # a daemon's own scratch folder
    return 0


if __name__ == "__main__":
    sys.exit(main())


# --- the client (grader side) ----------------------------------------------------------------------

class ZygoteUnavailable(RuntimeError):
    """The warm process could not be started or died; the caller falls back to a cold start."""


class Zygote:
    """A running zygote for one set of preloaded modules, owned by this process or shared as a daemon."""

    def __init__(self, socket_path: str, process=None, starting=None, workdir: str | None = None):
        self.socket_path = socket_path
        self.process = process  # owned: ended by close()
        self._starting = starting  # still importing: its stdout says "ready" when it listens
        self.workdir = workdir
        self.failed = False
        self._ready_lock = threading.Lock()

    @classmethod
    def start(cls, modules: list, env: dict, workdir: str, *, daemon_idle: float | None = None,
              socket_path: str | None = None, wait: bool = True) -> "Zygote":
        """Launch it; with ``wait=False`` return at once (its imports overlap with the caller's work,
        the first ``run`` waits for them)."""
        import subprocess

        socket_path = socket_path or os.path.join(workdir, "zygote.sock")
        command = [sys.executable, "-m", "autograder.runner.zygote", socket_path, "--modules", json.dumps(modules)]
        command += ["--idle", str(daemon_idle)] if daemon_idle else ["--owner", str(os.getpid())]
        log = open(os.path.join(workdir, "zygote.log"), "ab")
        try:
            process = subprocess.Popen(command, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                       stderr=log, start_new_session=True)
        finally:
            log.close()
        zygote = cls(socket_path, None if daemon_idle else process, process, workdir)
        if wait:
            zygote.wait_ready()
        return zygote

    def wait_ready(self, timeout: float = 300.0) -> None:
        with self._ready_lock:  # several sandboxes of one grader may ask at once; one reads "ready"
            self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        starting, self._starting = self._starting, None
        if starting is None:
            if self.failed:
                raise ZygoteUnavailable("warm process failed to start")
            return
        selector = selectors.DefaultSelector()
        selector.register(starting.stdout, selectors.EVENT_READ)
        ready = selector.select(timeout=timeout) and starting.stdout.readline().strip() == b"ready"
        selector.close()
        starting.stdout.close()
        if not ready:
            self.failed = True
            starting.kill()
            starting.wait()
            raise ZygoteUnavailable(f"warm process did not start (see {self.workdir}/zygote.log)")

    def _ask(self, message: dict) -> dict | None:
        """One request on a connection of its own; None when nobody answers."""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(5)
                conn.connect(self.socket_path)
                conn.sendall(json.dumps(message).encode() + b"\n")
                return json.loads(conn.makefile("rb").readline())
        except (OSError, ValueError):
            return None

    def alive(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            return False
        return bool(self._ask({"ping": 1}))

    def stop(self) -> None:
        """Ask the zygote to end (killing any job it still runs)."""
        self._ask({"stop": 1})
        self.close()

    def run(self, spec: dict, timeout: float, started=None) -> tuple[int | None, bool]:
        """Run one job; returns (returncode, timed_out). Kills the job at ``timeout`` seconds.
        ``started(pid)`` is told the job's pid (its process group) once it runs."""
        self.wait_ready()
        deadline = time.monotonic() + timeout
        try:
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.connect(self.socket_path)
        except OSError as error:
            raise ZygoteUnavailable(str(error)) from None
        with conn:
            conn.sendall(json.dumps(spec).encode() + b"\n")
            reader = conn.makefile("rb")
            conn.settimeout(30)
            try:
                pid = json.loads(reader.readline())["pid"]
            except (OSError, ValueError, KeyError) as error:
                raise ZygoteUnavailable(f"no job started: {error}") from None
            if started is not None:
                started(pid)
            timed_out = False
            while True:
                conn.settimeout(max(0.01, deadline - time.monotonic()) if not timed_out else 30)
                try:
                    line = reader.readline()
                except TimeoutError:
                    if timed_out:
                        return None, True
                    timed_out = True
                    sandbox.kill_group(pid)
                    continue
                if not line:  # the zygote died; the job died with it (parent-death signal)
                    sandbox.kill_group(pid)
                    raise ZygoteUnavailable("warm process ended during a job")
                return json.loads(line)["returncode"], timed_out

    def close(self) -> None:
        if self._starting is not None and self.process is None:  # a daemon still starting: leave it
            self._starting.stdout.close()
            self._starting = None
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


# A grading process owns one zygote per set of imports (per assignment), started once and kept.
_owned_zygotes: dict = {}
_owned_lock = threading.Lock()  # Dask workers grade in threads


def _modules_of(release_notebook) -> list:
    path = os.path.realpath(release_notebook)
    return _modules_of_version(path, os.stat(path).st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _modules_of_version(path: str, mtime_ns: int) -> list:
    """Read and parse the notebook once per version, not once per submission."""
    import nbformat

    from .warm import notebook_imports

    return [[module, list(names)] for module, names in notebook_imports(nbformat.read(path, as_version=4))]


@functools.lru_cache(maxsize=None)
def _code_version() -> str:
    """Changes when the runner's code changes, so a daemon never serves stale code."""
    import hashlib
    from pathlib import Path

    hasher = hashlib.sha256(sys.executable.encode())
    for path in sorted(Path(__file__).parent.glob("*.py")):
        hasher.update(path.read_bytes())
    return hasher.hexdigest()[:12]


def daemon_folder():
    from pathlib import Path

    return Path(os.environ.get("XDG_RUNTIME_DIR") or Path.home() / ".cache") / "xaigrade"


def stop_daemons() -> int:
    """Stop this user's `xaigrade check` daemons now (they also end by themselves when idle)."""
    stopped = 0
    for path in sorted(daemon_folder().glob("zygote-*.sock")):
        zygote = Zygote(str(path))
        if zygote.alive():
            zygote.stop()
            stopped += 1
    return stopped


def for_notebook(release_notebook, daemon_idle: float | None = None, extra: list | None = None) -> Zygote | None:
    """A running zygote with the imports of ``release_notebook``; None if one cannot be started.

    Owned (``daemon_idle`` None): started here, ends with this process. Daemon: shared by later
    `xaigrade check` runs of this user, ends after ``daemon_idle`` idle seconds. ``extra``: more
    [module, names] to import (what the notebook's helper functions import lazily)."""
    import hashlib
    import tempfile
    from pathlib import Path

    from .sandbox import scrubbed_environment

    modules = _modules_of(release_notebook) + [[module, list(names)] for module, names in extra or []]
    key = hashlib.sha256(json.dumps([modules, _code_version()]).encode()).hexdigest()[:16]
    if not daemon_idle:
        with _owned_lock:
            return _owned(modules, key)
    folder = daemon_folder()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    zygote = Zygote(str(folder / f"zygote-{key}.sock"))
    if zygote.alive():
        return zygote
    workdir = tempfile.mkdtemp(prefix="xaigrade-zygote-")
    try:
        return Zygote.start(modules, scrubbed_environment(Path(workdir)), workdir, daemon_idle=daemon_idle,
                            socket_path=zygote.socket_path)
    except ZygoteUnavailable:
        return None


def _owned(modules: list, key: str) -> Zygote | None:
    """This process's zygote for ``key`` (started on first use, kept for later assignments' turns
    and batches; call under the lock). None when it failed for these modules: no retry per submission."""
    import atexit
    import shutil
    import tempfile
    from pathlib import Path

    from .sandbox import scrubbed_environment

    if key in _owned_zygotes:
        current = _owned_zygotes[key]
        if current is None or current.failed:
            return None
        if current.process is not None and current.process.poll() is None:
            return current
        current.close()  # it died: start a new one
    workdir = tempfile.mkdtemp(prefix="xaigrade-zygote-")
    atexit.register(shutil.rmtree, workdir, True)
    try:
        zygote = Zygote.start(modules, scrubbed_environment(Path(workdir)), workdir, wait=False)
        atexit.register(zygote.close)
    except (ZygoteUnavailable, OSError):
        zygote = None
    _owned_zygotes[key] = zygote
    return zygote
