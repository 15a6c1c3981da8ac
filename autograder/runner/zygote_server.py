"""The zygote: a warm process that forks one sandboxed job per submission (``python -m
autograder.runner.zygote_server SOCKET``, started by ``zygote.Zygote.start``).

Starting every submission's executor and kernel as fresh Pythons costs the imports of
torch/TensorFlow/transformers each time (5–7 s). The zygote imports them once (the modules the
assignment's *release* notebook imports, never anything of the grader: it holds no reference code,
hidden inputs or other submissions), reads its request key from stdin into a buffer of its own, then
serves signed requests (``protocol``) on a Unix socket only its user may connect to; per job it forks
a child that builds the sandbox (``forked_job``). A client that disconnects early has its job killed.
The zygote exits when its owner process is gone or, as a daemon, after an idle period.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import socket
import sys
import threading
import time

from . import jail
from .forked_job import run_forked_job
from .jobsetup import kill_group
from .protocol import (KEY_BYTES, MAX_REQUEST_BYTES, REQUEST_SECONDS, envelope, key_file, listening_socket,
                       open_envelope, read_key_into)

_KEY = bytearray(KEY_BYTES)  # the request key: filled in place from stdin, zeroed in every forked job


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
                kill_group(pid)
        selector.unregister(client.sock)
        clients.pop(client.sock, None)
        client.drop_fds()
        client.sock.close()

    try:
        while True:
            # (while jobs run, an ended one is reaped and reported within 10 ms: its sandbox slot waits for it)
            for key, _ in selector.select(timeout=0.01 if jobs else 0.05):
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
            kill_group(pid)


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
        run_forked_job(spec, log_fd, _KEY)  # never returns
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

    if not read_key_into(_KEY):  # the starter's key, raw, into the buffer itself (never in argv or env)
        print("xaigrade zygote: no key on stdin", file=sys.stderr)
        return 2

    if os.path.exists(args.socket_path):
        os.unlink(args.socket_path)
    listener = listening_socket(args.socket_path)  # (only our own uid may connect)
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
        for path in (args.socket_path, key_file(args.socket_path)):
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


if __name__ == "__main__":
    sys.exit(main())
