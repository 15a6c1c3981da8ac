"""A warm process that forks one sandboxed job per submission.

(Over 400 lines on purpose: the server, the job child and the grader's client of one protocol stay in one
file, so the signed message format, the nonce binding and the descriptor passing are defined once.)

Starting every submission's executor and kernel as fresh Pythons costs the imports of
torch/TensorFlow/transformers each time (5–7 s). The zygote imports them once (the modules the
assignment's *release* notebook imports, never anything of the grader: it holds no reference code,
hidden inputs or other submissions) and then, per job, forks a child that builds exactly the
sandbox of ``sandbox.run_job``'s cold path, in-process instead of via ``unshare`` and ``jail.py``:

  job (new session, cgroups, rlimits, scrubbed environment, output to sandbox.log)
   └ unshare(mount, net, pid [, user]) → fork → PID 1 of the new namespaces:
        private mounts, fresh /proc, the file jail, the unprivileged uid, then the executor,
        whose kernel is forked from this warm process too (``warm.prefork_kernel``).

Protocol (one Unix-socket connection per request, JSON lines): every message carries an HMAC under
a key the zygote's starter gave it on stdin (``key`` file beside a daemon's socket), so only the
grader can ask for a job. A job request carries the job spec, a fresh nonce and, as ancillary data
(SCM_RIGHTS), the descriptor of the job's log; the zygote answers ``{"pid": N}`` and, when the job
has ended, ``{"returncode": R}`` (Popen's convention: negative = killed by that signal), each bound to
the nonce by its own HMAC. A client that disconnects early has its job killed. The zygote exits when
its owner process is gone or, as a daemon, after an idle period.

What a job inherits of the zygote: its memory (the key is wiped in the child at once) and nothing
else — the child closes every descriptor but the log before anything of the submission runs.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import hmac
import json
import os
import secrets
import selectors
import signal
import socket
import sys
import threading
import time
import traceback

from . import jail, sandbox

JOB_NAME = b"xaigrade-job"  # process name of forked jobs (their command line is the zygote's)
MAX_REQUEST_BYTES = 1 << 20  # a job spec is a few KiB
REQUEST_SECONDS = 30.0  # a connection must have sent its whole request by then
CONNECT_SECONDS = 10.0
_KEY = bytearray()  # the zygote's request key; wiped in every forked job


def sign(key: bytes | bytearray, text: str) -> str:
    return hmac.new(bytes(key), text.encode(), hashlib.sha256).hexdigest()


def envelope(key: bytes | bytearray, message: dict) -> bytes:
    """A message as one signed JSON line."""
    body = json.dumps(message)
    return json.dumps({"body": body, "mac": sign(key, body)}).encode() + b"\n"


def open_envelope(key: bytes | bytearray, line: bytes) -> dict | None:
    """The message of a signed line; None when it is malformed or not signed with ``key``."""
    try:
        outer = json.loads(line)
        body, mac = outer["body"], outer["mac"]
        if not (isinstance(body, str) and isinstance(mac, str)) or not hmac.compare_digest(sign(key, body), mac):
            return None
        message = json.loads(body)
    except (ValueError, KeyError, TypeError):
        return None
    return message if isinstance(message, dict) else None


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


def close_inherited_descriptors() -> None:
    """Close everything but stdin/stdout/stderr: the zygote's listener and its epoll instance, the
    connections of jobs running beside this one, its log. (Python objects that still name these
    numbers belong to frames of the zygote that this process never returns to.)"""
    os.closerange(3, max(3, os.sysconf("SC_OPEN_MAX")))


def _run_job(spec: dict, log_fd: int) -> None:
    """Body of the forked job process; never returns."""
    code = 1
    try:
        _KEY[:] = bytes(len(_KEY))  # nothing of the zygote's key reaches the submission
        os.setsid()
        from .warm import set_oom_score_adj

        set_oom_score_adj(-500)  # the executor (inherited); its kernel goes back to 0 (warm._become_kernel)
        jail.libc.prctl(jail.PR_SET_PDEATHSIG, signal.SIGKILL)  # the zygote gone (grader gone) = the job gone
        jail.libc.prctl(jail.PR_SET_NAME, JOB_NAME)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        stdin = os.open(os.devnull, os.O_RDONLY)
        os.dup2(stdin, 0)
        close_inherited_descriptors()
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
        conn.sendall(envelope(_KEY, message))
    except OSError:
        pass


class _Connection:
    """What the server knows of one client connection."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buffer = b""
        self.fds: list[int] = []
        self.opened = time.monotonic()
        self.nonce: str | None = None  # of its job, once it asked for one

    def drop_fds(self) -> None:
        for fd in self.fds:
            os.close(fd)
        self.fds = []


def serve(listener: socket.socket, owner: int | None, idle_seconds: float | None) -> None:
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    clients: dict[socket.socket, _Connection] = {}
    jobs: dict[int, _Connection] = {}  # pid (forked here) -> connection waiting for its end
    last_active = time.monotonic()

    def close(client: _Connection) -> None:
        for pid, waiting in list(jobs.items()):
            if waiting is client:  # client gone: its job goes too
                sandbox.kill_group(pid)
        selector.unregister(client.sock)
        clients.pop(client.sock, None)
        client.drop_fds()
        client.sock.close()

    try:
        while True:
            for key, _ in selector.select(timeout=0.05):
                if key.fileobj is listener:
                    try:
                        sock, _ = listener.accept()
                    except OSError:
                        continue
                    sock.setblocking(False)
                    clients[sock] = _Connection(sock)
                    selector.register(sock, selectors.EVENT_READ)
                    continue
                client = clients[key.fileobj]
                try:
                    data, fds, _, _ = socket.recv_fds(client.sock, 1 << 16, 4)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data, fds = b"", []
                client.fds += fds
                if not data or len(client.buffer) + len(data) > MAX_REQUEST_BYTES or len(client.fds) > 1:
                    close(client)
                    continue
                client.buffer += data
                if b"\n" not in client.buffer:
                    continue
                line, client.buffer = client.buffer.split(b"\n", 1)
                if _answer(client, open_envelope(_KEY, line), jobs) == "stop":
                    return
                if client.nonce is None:
                    close(client)  # one request per connection; a job's stays open until it ends
            now = time.monotonic()
            for client in [c for c in clients.values() if c.nonce is None and now - c.opened > REQUEST_SECONDS]:
                close(client)  # (a connection that never finishes its request)
            for pid, status in jail.ended_children() if jobs else ():  # reap ended jobs
                client = jobs.pop(pid, None)
                if client is not None:
                    code = os.waitstatus_to_exitcode(status)
                    _send(client.sock, {"returncode": code, "nonce": client.nonce})
            if jobs:
                last_active = time.monotonic()
            if owner is not None and os.getppid() != owner:
                return
            if idle_seconds is not None and not jobs and time.monotonic() - last_active > idle_seconds:
                return
    finally:
        for pid in jobs:
            sandbox.kill_group(pid)


def _answer(client: _Connection, request: dict | None, jobs: dict) -> str | None:
    """Act on one verified request; an unsigned or malformed one gets no answer."""
    if request is None:
        return None
    if request.get("ping"):
        _send(client.sock, {"pong": os.getpid()})
    elif request.get("stop"):
        _send(client.sock, {"stopping": os.getpid()})
        return "stop"
    elif isinstance(request.get("job"), dict) and isinstance(request.get("nonce"), str) and len(client.fds) == 1:
        log_fd = client.fds.pop()
        try:
            pid = _fork_job(request["job"], log_fd)
        finally:
            os.close(log_fd)
        client.nonce = request["nonce"]
        jobs[pid] = client
        _send(client.sock, {"pid": pid, "zygote": os.getpid(), "nonce": client.nonce})
    return None


def _fork_job(spec: dict, log_fd: int) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        _run_job(spec, log_fd)  # never returns
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

    # The imports take minutes on a loaded machine and serve() checks the owner only afterwards: watch
    # it meanwhile, so a grader killed during them does not leave this process importing for nobody.
    imported = threading.Event()
    watcher = threading.Thread(target=_exit_if_owner_gone, args=(args.owner, imported), daemon=True)
    if args.owner is not None:
        watcher.start()
    warm.preload([(module, tuple(names)) for module, names in json.loads(args.modules)])
    from . import execute  # noqa: F401  (imported once here, used by every job)
    imported.set()
    if watcher.is_alive():
        watcher.join()  # before the first fork: the watcher must not run (or hold a lock) when a job forks

    _KEY[:] = bytes.fromhex(sys.stdin.readline().strip())  # the starter's key (never in argv or env)
    if len(_KEY) < 16:
        print("xaigrade zygote: no key on stdin", file=sys.stderr)
        return 2

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(args.socket_path):
        os.unlink(args.socket_path)
    old_umask = os.umask(0o177)  # only our own uid may connect
    try:
        with _addressable(args.socket_path) as address:
            listener.bind(address)
    finally:
        os.umask(old_umask)
    listener.listen(16)
    try:
        try:
            print("ready", flush=True)
        except OSError:  # the starter is gone already (its pipe is closed): nobody to serve
            return 0
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)  # the client stopped reading; nothing may write into a closed pipe
        os.close(devnull)
        serve(listener, args.owner, args.idle)
    finally:
        listener.close()
        for path in (args.socket_path, _key_file(args.socket_path)):
            try:
                os.unlink(path)
            except OSError:
                pass
        _remove_own_scratch_folder()
    return 0


def _remove_own_scratch_folder() -> None:
    """The folder its starter made for it (cwd): a daemon's has no other owner, and an owned one's
    starter may have been killed before its atexit ran."""
    folder = os.getcwd()
    if os.path.basename(folder).startswith("xaigrade-zygote-"):
        import shutil

        gone = folder + ".removing"  # renamed first: an import still running in the main thread (the owner
        try:                         # watcher's case) cannot write new files into it while it is removed
            os.rename(folder, gone)
        except OSError:
            gone = folder
        shutil.rmtree(gone, ignore_errors=True)


def _exit_if_owner_gone(owner: int, imported: threading.Event) -> None:
    while not imported.wait(0.2):
        if os.getppid() != owner:
            _remove_own_scratch_folder()
            os._exit(0)  # (no job exists yet, nothing to clean up but the folder)


# --- the client (grader side) ----------------------------------------------------------------------

class ZygoteUnavailable(RuntimeError):
    """The warm process could not be started or died; the caller falls back to a cold start."""


def _key_file(socket_path: str) -> str:
    return socket_path + ".key"


@contextlib.contextmanager
def _addressable(socket_path: str):
    """A Unix socket address is at most 107 bytes: a longer path (a deep XDG_RUNTIME_DIR, a test's
    tmp folder) is reached through a descriptor of its folder, /proc/self/fd/N/name, instead of the
    bind failing and the check silently starting cold."""
    if len(os.fsencode(socket_path)) < 100:
        yield socket_path
        return
    folder = os.open(os.path.dirname(socket_path) or ".", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        yield f"/proc/self/fd/{folder}/{os.path.basename(socket_path)}"
    finally:
        os.close(folder)


def _parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return int(handle.read().rsplit(b")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


class Zygote:
    """A running zygote for one set of preloaded modules, owned by this process or shared as a daemon."""

    def __init__(self, socket_path: str, process=None, starting=None, workdir: str | None = None,
                 key: bytes | None = None):
        self.socket_path = socket_path
        self.process = process  # owned: ended by close()
        self._starting = starting  # still importing: its stdout says "ready" when it listens
        self.workdir = workdir
        self.failed = False
        self._ready_lock = threading.Lock()
        if key is None:  # a daemon's: its key lies beside its socket, readable by this user only
            try:
                with open(_key_file(socket_path), "rb") as handle:
                    key = bytes.fromhex(handle.read(200).decode().strip())
            except (OSError, ValueError):
                key = b""
        self.key = key

    @classmethod
    def start(cls, modules: list, env: dict, workdir: str, *, daemon_idle: float | None = None,
              socket_path: str | None = None, wait: bool = True) -> "Zygote":
        """Launch it; with ``wait=False`` return at once (its imports overlap with the caller's work,
        the first ``run`` waits for them)."""
        import subprocess

        socket_path = socket_path or os.path.join(workdir, "zygote.sock")
        key = secrets.token_bytes(32)
        if daemon_idle:
            fd = os.open(_key_file(socket_path) + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(key.hex())
            os.replace(_key_file(socket_path) + ".tmp", _key_file(socket_path))
        command = [sys.executable, "-m", "autograder.runner.zygote", socket_path, "--modules", json.dumps(modules)]
        command += ["--idle", str(daemon_idle)] if daemon_idle else ["--owner", str(os.getpid())]
        log = open(os.path.join(workdir, "zygote.log"), "ab")
        try:
            process = subprocess.Popen(command, cwd=workdir, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=log, start_new_session=True)
        finally:
            log.close()
        try:
            process.stdin.write(key.hex().encode() + b"\n")
            process.stdin.close()
        except OSError:
            pass
        zygote = cls(socket_path, None if daemon_idle else process, process, workdir, key)
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

    def _connect(self) -> socket.socket:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.settimeout(CONNECT_SECONDS)
        try:
            with _addressable(self.socket_path) as address:
                conn.connect(address)
        except OSError:
            conn.close()
            raise
        return conn

    def _ask(self, message: dict) -> dict | None:
        """One request on a connection of its own; None when nobody answers (or not the zygote)."""
        try:
            with self._connect() as conn:
                conn.sendall(envelope(self.key, message))
                return open_envelope(self.key, conn.makefile("rb").readline(MAX_REQUEST_BYTES))
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

    def run(self, spec: dict, log_fd: int, timeout: float, started=None) -> tuple[int | None, bool]:
        """Run one job writing to ``log_fd``; returns (returncode, timed_out). Kills the job at
        ``timeout`` seconds. ``started(pid)`` is told the job's pid (its process group) once it runs:
        only a pid the zygote answered for this request (nonce, key) and that is its child."""
        self.wait_ready()
        deadline = time.monotonic() + timeout
        nonce = secrets.token_hex(16)
        try:
            conn = self._connect()
        except OSError as error:
            raise ZygoteUnavailable(str(error)) from None
        with conn:
            conn.settimeout(30)
            reader = conn.makefile("rb")
            try:
                request = envelope(self.key, {"job": spec, "nonce": nonce})
                sent = socket.send_fds(conn, [request], [log_fd])
                conn.sendall(request[sent:])
                answer = open_envelope(self.key, reader.readline(MAX_REQUEST_BYTES)) or {}
            except OSError as error:
                raise ZygoteUnavailable(f"no job started: {error}") from None
            pid = answer.get("pid")
            if answer.get("nonce") != nonce or not isinstance(pid, int) or isinstance(pid, bool) or pid <= 1 \
                    or _parent_of(pid) != answer.get("zygote"):
                raise ZygoteUnavailable(f"no job started: unexpected answer {str(answer)[:100]}")
            if started is not None:
                started(pid)
            timed_out = False
            while True:
                conn.settimeout(max(0.01, deadline - time.monotonic()) if not timed_out else 30)
                try:
                    line = reader.readline(MAX_REQUEST_BYTES)
                except TimeoutError:
                    if timed_out:
                        return None, True
                    timed_out = True
                    sandbox.kill_group(pid)
                    continue
                if not line:  # the zygote died; the job died with it (parent-death signal)
                    sandbox.kill_group(pid)
                    raise ZygoteUnavailable("warm process ended during a job")
                message = open_envelope(self.key, line) or {}
                code = message.get("returncode")
                if message.get("nonce") != nonce or not isinstance(code, int) or isinstance(code, bool):
                    sandbox.kill_group(pid)
                    raise ZygoteUnavailable(f"unexpected answer {line[:100]!r}")
                return code, timed_out

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


if __name__ == "__main__":  # (last: main() uses the client-side helpers defined above, e.g. _key_file)
    sys.exit(main())
