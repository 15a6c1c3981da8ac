"""The zygote's protocol, shared by its server (``zygote_server.py``) and the grader's client (``zygote.py``).

One Unix-socket connection per request, JSON lines. Every message is signed: an HMAC-SHA256 under a key
the zygote's starter hands it on stdin (raw bytes, never in argv or the environment; a daemon's key also
lies beside its socket, readable by its user only), so only the grader can ask for a job. A job request
carries the job spec, a fresh nonce and, as ancillary data (SCM_RIGHTS), the descriptor of the job's log;
the answers ``{"pid": N}`` and, when the job has ended, ``{"returncode": R}`` are bound to that nonce.

The key lives in a ``bytearray`` wherever the zygote holds it: it is read into that buffer in place and
handed to ``hmac`` as it is, never copied into an immutable ``bytes`` or ``str`` (those cannot be wiped,
and a forked job would find them in its memory); the job zeroes the buffer before anything of the
submission runs (``jobsetup.run_forked_job``).
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os

MAX_REQUEST_BYTES = 1 << 20  # a job spec is a few KiB
REQUEST_SECONDS = 30.0  # a connection must have sent its whole request by then
CONNECT_SECONDS = 10.0
KEY_BYTES = 32
# A job started ahead of its submission (``sandbox.prestart_job``) waits with its executor and kernel ready until
# the grader, having put the submission into its work folder, creates this file there (``execute.wait_for_go``).
GO_FILE = ".xaigrade-go"
READY_FILE = ".xaigrade-ready"  # (the executor made it when its kernel was ready: the grader only looks whether it is there)


def sign(key: bytes | bytearray, text: str) -> str:
    # (the buffer itself: ``bytes(key)`` would leave a copy in memory that nobody can wipe)
    return hmac.new(key, text.encode(), "sha256").hexdigest()


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


def read_key_into(buffer: bytearray, fd: int = 0) -> bool:
    """Fill ``buffer`` (its length: the key's) from ``fd`` in place; True when the whole key came."""
    view = memoryview(buffer)
    got = 0
    try:
        while got < len(buffer):
            count = os.readv(fd, [view[got:]])
            if count <= 0:
                break
            got += count
    finally:
        view.release()
    return got == len(buffer)


def wipe(buffer: bytearray) -> None:
    """Overwrite the key in place (the buffer keeps its length and its place in memory)."""
    buffer[:] = bytes(len(buffer))


def key_file(socket_path: str) -> str:
    """Where a daemon's key lies (hex, mode 0600) for later `xaigrade check` runs of the same user."""
    return socket_path + ".key"


@contextlib.contextmanager
def addressable(socket_path: str):
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


def listening_socket(socket_path: str, backlog: int = 16):
    """A Unix socket listening at ``socket_path`` that only this uid may connect to (mode 0600, made so: no
    moment in which it is open to others)."""
    import socket

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        with addressable(socket_path) as address:
            listener.bind(address)
    except OSError:
        listener.close()
        raise
    finally:
        os.umask(old_umask)
    listener.listen(backlog)
    return listener


def connected_socket(socket_path: str, timeout: float = CONNECT_SECONDS):
    """A connection to the Unix socket at ``socket_path`` (``OSError`` when nobody listens there)."""
    import socket

    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(timeout)
    try:
        with addressable(socket_path) as address:
            conn.connect(address)
    except OSError:
        conn.close()
        raise
    return conn
