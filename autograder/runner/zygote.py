"""The grader's side of the warm start: starts a zygote (``zygote_server.py``) per set of imports,
asks it for jobs, and trusts none of its answers blindly.

Starting every submission's executor and kernel as fresh Pythons costs the imports of
torch/TensorFlow/transformers each time (5–7 s); a zygote imports them once and forks each job
(``forked_job.py`` builds the same sandbox as a cold start). The client signs every request under the
zygote's key (``protocol.py``), binds each answer to the request's nonce and uses a pid only if it is a
child of the zygote; on any failure the caller falls back to a cold start (``ZygoteUnavailable``).
One zygote per assignment belongs to a grading process (owned, ends with it); `xaigrade check` shares
daemons per user that end when idle.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import select
import selectors
import socket
import sys
import threading
import time

from .jobsetup import kill_group, scrubbed_environment
from .protocol import (CONNECT_SECONDS, KEY_BYTES, MAX_REQUEST_BYTES, addressable, connected_socket,  # noqa: F401
                       envelope, key_file, open_envelope, sign)

def new_key() -> bytes:
    """A fresh request key for a zygote (a function of its own: a test starts a zygote with a key it knows)."""
    return secrets.token_bytes(KEY_BYTES)


class ZygoteUnavailable(RuntimeError):
    """The warm process could not be started or died; the caller falls back to a cold start."""


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
                with open(key_file(socket_path), "rb") as handle:
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
        key = new_key()
        if daemon_idle:
            fd = os.open(key_file(socket_path) + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(key.hex())
            os.replace(key_file(socket_path) + ".tmp", key_file(socket_path))
        command = [sys.executable, "-m", "autograder.runner.zygote_server", socket_path, "--modules",
                   json.dumps(modules)]
        command += ["--idle", str(daemon_idle)] if daemon_idle else ["--owner", str(os.getpid())]
        log = open(os.path.join(workdir, "zygote.log"), "ab")
        try:
            process = subprocess.Popen(command, cwd=workdir, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=log, start_new_session=True)
        finally:
            log.close()
        try:
            process.stdin.write(key)  # raw: the zygote reads it into its key buffer in place
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
        return connected_socket(self.socket_path)

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
        job = self.start_job(spec, log_fd)
        if started is not None:
            started(job.pid)
        return job.wait(timeout)

    def start_job(self, spec: dict, log_fd: int) -> "ZygoteJob":
        """Ask for one job writing to ``log_fd`` and return at once with it running (``ZygoteJob.wait``
        waits for its end). A job started ahead (``spec["prestart"]``) waits in its executor for its go."""
        self.wait_ready()
        nonce = secrets.token_hex(16)
        try:
            conn = self._connect()
        except OSError as error:
            raise ZygoteUnavailable(str(error)) from None
        try:
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
        except BaseException:
            conn.close()
            raise
        return ZygoteJob(self.key, conn, reader, pid, nonce)

    def close(self) -> None:
        if self._starting is not None and self.process is None:  # a daemon still starting: leave it
            self._starting.stdout.close()
            self._starting = None
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


class ZygoteJob:
    """One job the zygote forked for this client: its connection stays open until the job ends (the zygote
    kills a job whose client went away)."""

    def __init__(self, key: bytes, conn: socket.socket, reader, pid: int, nonce: str):
        self.key, self.conn, self.reader, self.pid, self.nonce = key, conn, reader, pid, nonce
        self.done = False  # its end was reported (or its zygote is gone): its pid is no longer ours to signal

    def ended(self) -> bool:
        """Whether the zygote said anything more (the job's end) or went away: then the job is over."""
        try:
            self.conn.settimeout(0)
            if self.reader.peek(1):  # (already read into the buffer, or arriving now)
                return True
            readable, _, _ = select.select([self.conn], [], [], 0)  # (the end of the connection)
            return bool(readable)
        except (OSError, ValueError):
            return True
        finally:
            try:
                self.conn.settimeout(30)
            except OSError:
                pass

    def wait(self, timeout: float) -> tuple[int | None, bool]:
        """(returncode, timed_out): the job is killed ``timeout`` seconds from now."""
        deadline = time.monotonic() + timeout
        pid, conn, reader = self.pid, self.conn, self.reader
        try:
            timed_out = False
            while True:
                conn.settimeout(max(0.01, deadline - time.monotonic()) if not timed_out else 30)
                try:
                    line = reader.readline(MAX_REQUEST_BYTES)
                except TimeoutError:
                    if timed_out:
                        return None, True
                    timed_out = True
                    kill_group(pid)
                    # (a socket file that timed out refuses every later read: the zygote's answer is read anew)
                    reader = self.reader = conn.makefile("rb")
                    continue
                except OSError as error:
                    kill_group(pid)
                    raise ZygoteUnavailable(f"lost the warm process during a job: {error}") from None
                if not line:  # the zygote died; the job died with it (parent-death signal)
                    kill_group(pid)
                    raise ZygoteUnavailable("warm process ended during a job")
                message = open_envelope(self.key, line) or {}
                code = message.get("returncode")
                if message.get("nonce") != self.nonce or not isinstance(code, int) or isinstance(code, bool):
                    kill_group(pid)
                    raise ZygoteUnavailable(f"unexpected answer {line[:100]!r}")
                return code, timed_out
        finally:
            self.done = True
            self.close()

    def stop(self, seconds: float = 10.0) -> None:
        """End a job that waits (one started ahead, unused) and wait until the zygote has reaped it: its PID 1
        (the executor, the outer process's child; its namespace goes with it) is killed first, so the outer
        process reaps it and ends by itself (a SIGKILL to the whole group left the executor a zombie of the
        machine's init for a while). The group is killed at ``seconds`` if that did not end it."""
        if self.done or self.ended():
            self.close()
            return
        try:
            with open(f"/proc/{self.pid}/task/{self.pid}/children") as handle:
                children = [int(child) for child in handle.read().split()]
        except (OSError, ValueError):
            children = []
        for child in children:
            try:
                os.kill(child, 9)
            except OSError:
                pass
        if not children:  # (still setting up, no PID 1 yet)
            kill_group(self.pid)
        try:
            self.wait(seconds)
        except ZygoteUnavailable:
            pass

    def close(self) -> None:
        """Kill the job (unless its end was reported) and drop the connection; the zygote reaps it."""
        if not self.done and self.conn.fileno() >= 0 and not self.ended():
            kill_group(self.pid)
        self.done = True
        try:
            self.reader.close()
        finally:
            self.conn.close()


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

