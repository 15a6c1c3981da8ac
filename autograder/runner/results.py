"""Validate what came out of the sandbox before anything uses it.

Everything here reads the job's work folder, which the submission could write: through
``JobFiles`` only — opened relative to a directory descriptor, never following a link, regular
files only, sizes capped before reading (a FIFO, a symlink to a host file or to another student's
notebook, a 10 GiB file all become "unreadable", never a hang or a leak). Only ``.npz`` files
loaded with ``allow_pickle=False`` and small JSON files are parsed; object arrays, oversized files,
wrong types and malformed status become ``ProbeError`` or a note — that student's problem, never
the batch's.
"""

from __future__ import annotations

import errno
import io
import json
import math
import os
import stat
import zipfile
from pathlib import Path

import numpy as np

from xaikit.selfcheck.messages import Message, fits

from ..checks import ProbeError

ALLOWED_KINDS = "biufU"  # bool, int, uint, float, unicode
KNOWN_ERRORS = {"missing_function", "not_implemented", "exception", "timeout"}
MAX_STATUS_BYTES = 20_000
MAX_JOB_STATUS_BYTES = 1 << 20
MAX_LISTED = 10_000


class UnsafeFile(Exception):
    """A job file that is missing, not a regular file, reached through a link, or too large.

    Why, as data: ``kind`` + ``params`` (the file's ``name`` and what the message needs), shown as the
    catalogue's ``file.<kind>`` (``message``) in the report's language."""

    def __init__(self, kind: str, params: dict):
        super().__init__(kind, params)
        self.kind, self.params = kind, params

    @property
    def message(self) -> Message:
        return Message(f"file.{self.kind}", **self.params)

    def __str__(self) -> str:  # (for logs; students read ``message``)
        return f"{self.kind} {self.params}"


_OPEN_ERRORS = {errno.ENOENT: "missing", errno.ELOOP: "link"}  # (O_NOFOLLOW on a link: ELOOP)


class JobFiles:
    """A folder of the job, read without following links (``O_NOFOLLOW`` relative to a directory
    descriptor, ``fstat`` of what was opened, sizes capped)."""

    def __init__(self, fd: int):
        self.fd = fd

    @classmethod
    def open(cls, folder: Path | str) -> "JobFiles":
        return cls(os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC))

    def folder(self, name: str) -> "JobFiles | None":
        """A subfolder (not a link to one), or None."""
        try:
            return JobFiles(os.open(_plain(name), os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                                    dir_fd=self.fd))
        except OSError:
            return None

    def exists(self, name: str) -> bool:
        try:
            os.stat(_plain(name), dir_fd=self.fd, follow_symlinks=False)
            return True
        except OSError:
            return False

    def names(self, limit: int = MAX_LISTED) -> list[str]:
        found = []
        with os.scandir(self.fd) as entries:
            for entry in entries:
                found.append(entry.name)
                if len(found) >= limit:
                    break
        return found

    def read(self, name: str, max_bytes: int) -> bytes:
        try:
            fd = os.open(_plain(name), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=self.fd)
        except OSError as error:
            kind = _OPEN_ERRORS.get(error.errno, "not_opened")
            raise UnsafeFile(kind, {"name": name, **({} if kind != "not_opened" else
                                                      {"error": errno.errorcode.get(error.errno, "?")})}) from None
        too_large = {"name": name, "mb": max_bytes // 2**20 or 1}
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise UnsafeFile("not_regular", {"name": name})
            if info.st_size > max_bytes:
                raise UnsafeFile("too_large", too_large)
            chunks, size = [], 0
            while chunk := os.read(fd, min(1 << 20, max_bytes + 1 - size)):
                chunks.append(chunk)
                size += len(chunk)
                if size > max_bytes:  # (it grew while we read)
                    raise UnsafeFile("too_large", too_large)
            return b"".join(chunks)
        finally:
            os.close(fd)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _plain(name: str) -> str:
    if not name or "/" in name or name in (".", ".."):
        raise UnsafeFile("bad_name", {"name": repr(name)[:80]})
    return name


# --- the probe's results ---------------------------------------------------------------------------

def load_results(results: JobFiles | None, case_ids: list[str], max_bytes: int,
                 interrupted: Message | None = None) -> dict:
    """Each case's arrays or ProbeError; ``interrupted``: how the job ended early (None: it ran to its end).
    Reasons are messages (rendered later in the report's language)."""
    return {case_id: _load_one(results, case_id, max_bytes, interrupted) for case_id in case_ids}


def _load_one(results: JobFiles | None, case_id: str, max_bytes: int, interrupted: Message | None):
    if results is None or not results.exists(f"{case_id}.json"):
        if results is not None and results.exists(f"{case_id}.started"):
            reason = interrupted or Message("outcome.kernel_died_in_call")
            return ProbeError("exception", {"error": reason})
        return ProbeError("not_run", {"reason": interrupted or Message("outcome.notebook_not_finished")})
    try:
        status = json.loads(results.read(f"{case_id}.json", MAX_STATUS_BYTES))
        if not isinstance(status, dict):
            return ProbeError("invalid_result", {"reason": Message(
                "result.status_invalid", error=Message("file.not_object", name=f"{case_id}.json"))})
    except UnsafeFile as error:
        return ProbeError("invalid_result", {"reason": Message("result.status_invalid", error=error.message)})
    except ValueError:
        return ProbeError("invalid_result", {"reason": Message("result.status_invalid",
                                                               error=Message("file.not_json", name=f"{case_id}.json"))})
    if status.get("ok") is not True:
        kind = status.get("kind")
        params = status.get("params") if isinstance(status.get("params"), dict) else {}
        params = {str(k)[:40]: v if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)[:400]
                  for k, v in list(params.items())[:10]}
        kind, params = (kind if kind in KNOWN_ERRORS else "invalid_result"), params or {"reason": "?"}
        if not fits(kind, {"case": "", **params}):  # (the probe always sends what its message needs)
            return ProbeError("invalid_result", {"reason": Message("result.status_invalid", error=str(kind)[:40])})
        return ProbeError(kind, params)
    try:
        data = results.read(f"{case_id}.npz", max_bytes)
    except UnsafeFile as error:
        return ProbeError("invalid_result", {"reason": Message("result.file_unreadable", error=error.message)})
    return load_arrays(data, max_bytes)


def load_arrays(data: bytes, max_bytes: int):
    """The arrays of one npz file's bytes, or ProbeError; never unpickles."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if len(members) > 1000 or sum(info.file_size for info in members) > max_bytes:
                return ProbeError("invalid_result", {"reason": Message("result.too_large", mb=max_bytes // 2**20)})
        arrays = {}
        with np.load(io.BytesIO(data), allow_pickle=False) as loaded:
            for key in loaded.files:
                array = loaded[key]
                if array.dtype.kind not in ALLOWED_KINDS:
                    return ProbeError("invalid_result", {"reason": Message("result.wrong_type", key=key[:40],
                                                                            dtype=str(array.dtype))})
                arrays[key] = array
        return arrays
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, KeyError) as error:
        return ProbeError("invalid_result", {"reason": Message("result.unreadable",
                                                                      error=type(error).__name__)})


# --- the executor's status.json ---------------------------------------------------------------------

def _index(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 100_000 else None


def _seconds(value) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and 0 <= value < 1e7:
        return float(value)
    return None


def _entries(raw, fields: dict, limit: int = 50) -> list[dict]:
    """Entries of a list of objects whose fields all validate; anything else is dropped."""
    found = []
    for item in raw[:limit] if isinstance(raw, list) else []:
        if not isinstance(item, dict):
            continue
        entry = {name: check(item.get(name)) for name, check in fields.items()}
        if all(value is not None for value in entry.values()):
            found.append(entry)
    return found


def _strings(value, count: int, length: int) -> list[str]:
    return [item[:length] for item in value[:count] if isinstance(item, str)] if isinstance(value, list) else []


def _text(limit: int):
    return lambda value: value[:limit] if isinstance(value, str) else None


STATUS_FIELDS = {
    "cell_errors": {"index": _index, "error": _text(300)},
    "cell_timeouts": {"index": _index, "seconds": _seconds},
    "kernel_deaths": {"index": _index, "reason": _text(200)},
}
TIMING_KEYS = ("kernel_start", "student_cells", "probe", "setup", "wrap_up")  # (seconds; the executor's own: setup
# before the first kernel, wrap_up after the last one)


def validate_status(data: bytes) -> tuple[dict, list[Message]]:
    """The executor's status with every value checked by type and size, and what was wrong with it
    (messages, rendered in the report's language).

    The executor runs in the sandbox beside the submission, so its status file is the submission's
    to forge: a malformed field is dropped (and reported), never trusted or allowed to raise."""
    problems: list[Message] = []
    try:
        raw = json.loads(data)
    except ValueError:
        return {}, [Message("file.not_json", name="status.json")]
    if not isinstance(raw, dict):
        return {}, [Message("file.not_object", name="status.json")]
    status: dict = {}
    for key, fields in STATUS_FIELDS.items():
        given = raw.get(key)
        status[key] = _entries(given, fields)
        if (given is not None and not isinstance(given, list)) or \
                (isinstance(given, list) and len(status[key]) < min(len(given), 50)):
            problems.append(Message("file.bad_field", name="status.json", field=key))
    timings = raw.get("timings") if isinstance(raw.get("timings"), dict) else {}
    status["timings"] = {}
    for key in TIMING_KEYS:
        value = _seconds(timings.get(key, 0.0))
        if value is None:
            problems.append(Message("file.bad_field", name="status.json", field=f"timings.{key}"))
        status["timings"][key] = value or 0.0
    status["warm_kernel"] = raw.get("warm_kernel") is True
    status["kernel_start_failures"] = _strings(raw.get("kernel_start_failures"), 5, 200)
    status["skipped_cells"] = [i for i in (raw.get("skipped_cells") or [])[:1000] if _index(i) is not None] \
        if isinstance(raw.get("skipped_cells"), list) else []
    return status, problems
