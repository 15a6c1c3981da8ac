"""The warm check server: `xaigrade check` served by a process that has imported the grader and the
assignment's exercise module already (``python -m autograder.check_server SOCKET --assignment A``).

A check's own process otherwise spends 1–1.5 s importing scikit-learn/SciPy or torch (the exercise
module) and the grader before its sandbox even starts. The first check of an assignment runs in its own
process and starts this server in the background; later checks connect to it, hand over their arguments,
working folder, environment and stdout/stderr (``socket.send_fds``) and exit with the code it sends back.

The server only imports (never runs torch/TensorFlow ops: forking after OpenMP use is unsafe). Per
request it forks a child that takes over the client's folder, environment and descriptors, runs the same
function as an in-process check (``cli.cmd_check(args, forward=False)``) and ends; it also ends when its
client goes away (Ctrl-C). Only peers of the server's own uid are served (``SO_PEERCRED``; the socket
lies in the zygotes' 0700 ``daemon_folder()``). Its socket's name holds the assignment and a version of
the code (every .py of ``autograder/`` and ``xaikit/``), so a server never serves stale code; it ends after
``settings.check_daemon_seconds`` idle seconds or when `xaigrade check --stop-daemons` asks it to.
"""

from __future__ import annotations

import argparse
import fcntl
import functools
import hashlib
import io
import json
import os
import select
import signal
import socket
import struct
import sys
import threading
import time
from pathlib import Path

from .runner.protocol import MAX_REQUEST_BYTES, REQUEST_SECONDS, connected_socket, listening_socket
from .runner.zygote import daemon_folder

LOCK_PATTERN = "check-*.sock.lock"  # one beside each server's socket, held while it lives
CLIENT_GONE_GRACE_SECONDS = 5.0  # the check's own Ctrl-C clean-up (its sandbox) may take this long
SERVER_FAILED = ("xaigrade check: der Prüfprozess im Hintergrund ist während der Prüfung ausgefallen; bitte "
                 "starten Sie die Prüfung noch einmal (oder mit --no-daemon). / the warm check server failed "
                 "during the check; run it again (or with --no-daemon).")


@functools.lru_cache(maxsize=None)
def code_version() -> str:
    """Changes whenever any .py of the grader or the kit (or the Python running them) changes."""
    root = Path(__file__).resolve().parent.parent
    hasher = hashlib.sha256(sys.executable.encode())
    for path in sorted(p for folder in ("autograder", "xaikit") for p in (root / folder).rglob("*.py")):
        hasher.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return hasher.hexdigest()[:12]


def socket_path(assignment: str) -> Path:
    return daemon_folder() / f"check-{assignment}-{code_version()}.sock"


def _send_line(conn: socket.socket, message: dict, fds: list[int] = ()) -> None:
    line = json.dumps(message).encode() + b"\n"
    sent = socket.send_fds(conn, [line], list(fds)) if fds else 0
    conn.sendall(line[sent:])


def ask(path, message: dict) -> dict | None:
    """One small request (``ping``, ``stop``); None when no server answers there."""
    try:
        with connected_socket(str(path)) as conn:
            _send_line(conn, message)
            answer = json.loads(conn.makefile("rb").readline(MAX_REQUEST_BYTES) or b"null")
    except (OSError, ValueError):
        return None
    return answer if isinstance(answer, dict) else None


def stop_servers() -> int:
    """Stop this user's check servers now, also those still importing (they also end by themselves when idle);
    how many were stopped."""
    stopped = 0
    for lock in sorted(daemon_folder().glob(LOCK_PATTERN)):
        if ask(str(lock)[:-len(".lock")], {"stop": 1}) is not None:
            stopped += 1
        elif (pid := _importing_server(lock)) is not None:
            os.kill(pid, signal.SIGTERM)  # (its clean-up runs: the handler is set before its imports)
            stopped += 1
    return stopped


def _importing_server(lock: Path) -> int | None:
    """The pid in a lock file that a server holds (one that does not listen yet), else None."""
    try:
        fd = os.open(lock, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return None  # nobody holds it
    except BlockingIOError:
        text = os.read(fd, 32).decode(errors="replace").strip()
        return int(text) if text.isdigit() else None
    except OSError:
        return None
    finally:
        os.close(fd)


def forward(assignment: str, args: argparse.Namespace) -> int | None:
    """Run this check in the assignment's warm server: its exit code, or None when no server took the check
    (then nothing was printed and the caller runs it itself)."""
    try:
        fds = [sys.stdout.fileno(), sys.stderr.fileno()]
        streams = {name: {"encoding": stream.encoding, "errors": stream.errors,
                          "line_buffering": stream.line_buffering, "write_through": stream.write_through}
                   for name, stream in (("stdout", sys.stdout), ("stderr", sys.stderr))}
    except (AttributeError, ValueError, OSError):
        return None  # the output does not go to descriptors (a caller captures it in memory): only we can write it
    try:
        conn = connected_socket(str(socket_path(assignment)))
    except OSError:
        return None
    request = {"check": {key: value for key, value in vars(args).items() if key != "func"}, "cwd": os.getcwd(),
               "env": dict(os.environ), "streams": streams, "version": code_version()}
    with conn:
        reader = conn.makefile("rb")
        try:
            sys.stdout.flush()
            sys.stderr.flush()
            _send_line(conn, request, fds)
            conn.settimeout(None)  # (a check may run for minutes)
            started = reader.readline(MAX_REQUEST_BYTES)
        except OSError:
            return None
        try:
            running = json.loads(started or b"null")
        except ValueError:
            running = None
        if not (isinstance(running, dict) and "running" in running):
            return None  # it went away or refused before the check began: nothing was printed
        try:
            answer = json.loads(reader.readline(MAX_REQUEST_BYTES) or b"null")
        except (OSError, ValueError):
            answer = None
    code = answer.get("exit") if isinstance(answer, dict) else None
    if not isinstance(code, int) or isinstance(code, bool):
        print(SERVER_FAILED, file=sys.stderr)  # (its output so far stays; the check is not run a second time)
        return 1
    return code


def start_server(assignment: str, idle_seconds: float) -> None:
    """Start the assignment's server in the background for the next check (a second one started at the same
    time ends at once: the lock beside the socket is taken)."""
    import subprocess

    folder = daemon_folder()
    path = socket_path(assignment)
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(f"{path}.log", "ab") as log:  # (its imports' errors, if it fails; removed when it ends normally)
            subprocess.Popen([sys.executable, "-m", "autograder.check_server", str(path), "--assignment", assignment,
                              "--idle", str(idle_seconds), "--version", code_version()],
                             cwd=folder, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                             start_new_session=True)
    except OSError:
        pass  # (no server then: every check runs in its own process, as with --no-daemon)


# --- the server ----------------------------------------------------------------------------------------------


def _take_lock(path: str) -> int | None:
    """The lock file beside the socket, held while the server lives; None when another server holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if os.fstat(fd).st_ino == os.stat(path).st_ino:  # (not a file the server before us just removed)
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())  # (for --stop-daemons while it still imports)
            return fd
    except OSError:
        pass
    os.close(fd)
    return None


def _peer_uid(conn: socket.socket) -> int:
    _, uid, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
    return uid


def serve(listener: socket.socket, lock: int, idle_seconds: float, version: str) -> None:
    children: set[int] = set()
    requests = 0  # (a ping answers with it: the tests see which checks the server took)
    last_active = time.monotonic()
    while True:
        readable, _, _ = select.select([listener], [], [], 0.5)
        while children:  # reap ended checks
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                children.clear()
                break
            if pid == 0:
                break
            children.discard(pid)
        if readable:
            try:
                conn, _ = listener.accept()
            except OSError:
                conn = None
            if conn is not None:
                with conn:
                    if _peer_uid(conn) == os.getuid():  # another user's process is never served
                        requests += 1
                        children.add(_fork_child(conn, (listener.fileno(), lock), version, requests))
        if children or readable:
            last_active = time.monotonic()
        elif time.monotonic() - last_active > idle_seconds:
            return


def _fork_child(conn: socket.socket, servers_fds: tuple[int, ...], version: str, request_number: int) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    # A stop (SIGTERM) arriving in fork's own hooks would be swallowed there (logging's _releaseLock: "Exception
    # ignored") and leave the server running: it waits until the fork is done.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    pid = os.fork()
    if pid:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
        return pid
    code = 1
    try:
        for fd in servers_fds:  # (the lock must not outlive the server in a check still running)
            os.close(fd)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
        code = _serve_request(conn, version, request_number)
    finally:
        os._exit(code)


def _read_request(conn: socket.socket) -> tuple[dict | None, list[int]]:
    conn.settimeout(REQUEST_SECONDS)
    buffer, fds = b"", []
    while b"\n" not in buffer and len(buffer) <= MAX_REQUEST_BYTES and len(fds) <= 2:
        data, received, _, _ = socket.recv_fds(conn, 1 << 16, 2)
        fds += received
        if not data:
            break
        buffer += data
    try:
        request = json.loads(buffer.split(b"\n", 1)[0]) if b"\n" in buffer and len(fds) <= 2 else None
    except ValueError:
        request = None
    return (request if isinstance(request, dict) else None), fds


def _serve_request(conn: socket.socket, version: str, request_number: int) -> int:
    """In the forked child: answer one request; a check runs here with the client's folder, environment and
    descriptors. The exit code of this child does not matter: the client gets the check's over the socket."""
    try:
        request, fds = _read_request(conn)
    except OSError:
        return 1
    if request is None:
        return 1
    if request.get("ping"):
        _send_line(conn, {"pong": os.getppid(), "version": version, "request": request_number})
        return 0
    if request.get("stop"):
        _send_line(conn, {"stopping": os.getppid()})
        os.kill(os.getppid(), signal.SIGTERM)
        return 0
    check, cwd, env, streams = (request.get(key) for key in ("check", "cwd", "env", "streams"))
    if request.get("version") != version or len(fds) != 2 or not isinstance(check, dict) \
            or not isinstance(cwd, str) or not isinstance(env, dict) or not isinstance(streams, dict):
        return 1  # (a client of other code: it runs the check itself)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    sys.stdout.flush()
    sys.stderr.flush()
    for fd, target in zip(fds, (1, 2)):
        os.dup2(fd, target)
        os.close(fd)
    # new streams on them, encoded and buffered as the client's own (the server's were on /dev/null)
    sys.stdout, sys.stderr = (io.TextIOWrapper(open(target, "wb", closefd=False), **streams[name])
                              for target, name in ((1, "stdout"), (2, "stderr")))
    conn.settimeout(None)
    _send_line(conn, {"running": os.getpid()})
    threading.Thread(target=_end_when_client_gone, args=(conn,), daemon=True).start()
    code = _run_check(argparse.Namespace(**check))
    sys.stdout.flush()
    sys.stderr.flush()
    _send_line(conn, {"exit": code})
    return 0


def _run_check(args: argparse.Namespace) -> int:
    """The check as the `xaigrade` program would end it: its exit code, SystemExit's message on stderr."""
    from .cli import cmd_check

    try:
        return cmd_check(args, forward=False)
    except SystemExit as exit:
        if exit.code is None or isinstance(exit.code, int):
            return exit.code or 0
        print(exit.code, file=sys.stderr)
        return 1
    except BaseException:  # noqa: BLE001 - as an uncaught exception ends a program: its traceback, exit 1
        import traceback

        traceback.print_exc()
        return 1


def _end_when_client_gone(conn: socket.socket) -> None:
    """The client went away (Ctrl-C, killed): interrupt the check as Ctrl-C would (its sandbox is cleaned up),
    and end the child in any case."""
    try:
        while conn.recv(1 << 12):
            pass
    except OSError:
        pass
    signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
    threading.Event().wait(CLIENT_GONE_GRACE_SECONDS)
    os._exit(130)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("socket_path")
    parser.add_argument("--assignment", required=True)
    parser.add_argument("--idle", type=float, required=True, help="exit after this many idle seconds")
    parser.add_argument("--version", required=True, help="the code version its starter saw")
    args = parser.parse_args()
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]  # (`-m` put the daemon folder first)
    lock_path = args.socket_path + ".lock"
    lock = _take_lock(lock_path)
    if lock is None:
        return 0  # another server of this assignment and version runs or starts
    version = code_version()  # before the imports: the code they load is this version at the latest
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # `--stop-daemons`: the clean-up below runs
    try:
        if version != args.version:
            _remove(args.socket_path + ".log")
            return 0  # the code changed since the starter looked: the next check starts the right one
        import autograder.cli  # noqa: F401
        import autograder.grading  # noqa: F401
        from xaikit.selfcheck.core import Exercise

        Exercise(args.assignment)  # the exercise module: scikit-learn, torch, ... (only imported, nothing run)
        _remove(args.socket_path)  # (a socket of a server killed before it could remove it: we hold the lock)
        listener = listening_socket(args.socket_path)  # (only our own uid may connect)
        try:
            serve(listener, lock, args.idle, version)
        finally:
            listener.close()
            _remove(args.socket_path)
        _remove(args.socket_path + ".log")  # (idle: nothing to keep; a failed start keeps its traceback there)
    except SystemExit:
        _remove(args.socket_path + ".log")  # stopped, also while importing
        raise
    finally:
        _remove(lock_path)  # (while still holding it: a server starting now takes a new file)
        os.close(lock)
    return 0


def _remove(*paths: str) -> None:
    for path in paths:
        try:
            os.unlink(path)
        except OSError:
            pass


if __name__ == "__main__":
    try:
        exit_code = main()
    except SystemExit as stop:  # (stopped: SIGTERM, after main's clean-up)
        exit_code = stop.code if isinstance(stop.code, int) else 0
    from autograder.batch import end_process

    end_process(exit_code)  # now, not after the seconds torch/transformers take to unload
