"""Validate what came out of the sandbox before anything uses it.

Only ``.npz`` files loaded with ``allow_pickle=False`` and small ``.json`` status files are read;
object arrays, oversized files, wrong types and malformed status are turned into ``ProbeError``.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from ..checks import ProbeError

ALLOWED_KINDS = "biufU"  # bool, int, uint, float, unicode
KNOWN_ERRORS = {"missing_function", "not_implemented", "exception", "timeout"}
MAX_STATUS_BYTES = 20_000


def load_results(results_dir: Path, case_ids: list[str], max_bytes: int, interrupted: str | None = None) -> dict:
    results = {}
    for case_id in case_ids:
        results[case_id] = _load_one(Path(results_dir), case_id, max_bytes, interrupted)
    return results


def _load_one(results_dir: Path, case_id: str, max_bytes: int, interrupted: str | None):
    status_file = results_dir / f"{case_id}.json"
    if not status_file.exists():
        if (results_dir / f"{case_id}.started").exists():
            reason = interrupted or "der Kernel wurde während dieses Aufrufs beendet"
            return ProbeError("exception", {"error": reason})
        return ProbeError("not_run", {"reason": interrupted or "Notebook nicht bis zum Ende ausgeführt"})
    try:
        if status_file.stat().st_size > MAX_STATUS_BYTES:
            raise ValueError("status file too large")
        status = json.loads(status_file.read_text())
        if not isinstance(status, dict):
            raise ValueError("status is not an object")
    except (ValueError, OSError) as error:
        return ProbeError("invalid_result", {"reason": f"Statusdatei ungültig ({error})"})
    if not status.get("ok"):
        kind = status.get("kind")
        params = status.get("params") if isinstance(status.get("params"), dict) else {}
        params = {str(k): str(v)[:400] if not isinstance(v, (int, float)) else v for k, v in params.items()}
        return ProbeError(kind if kind in KNOWN_ERRORS else "invalid_result", params or {"reason": "?"})
    return load_arrays(results_dir / f"{case_id}.npz", max_bytes)


def load_arrays(path: Path, max_bytes: int):
    """The arrays of one npz file, or ProbeError; never unpickles."""
    try:
        if not path.exists():
            return ProbeError("invalid_result", {"reason": "Ergebnisdatei fehlt"})
        if path.stat().st_size > max_bytes:
            return ProbeError("invalid_result", {"reason": f"Ergebnis größer als {max_bytes // 2**20} MiB"})
        with zipfile.ZipFile(path) as archive:
            if sum(info.file_size for info in archive.infolist()) > max_bytes:
                return ProbeError("invalid_result", {"reason": f"Ergebnis größer als {max_bytes // 2**20} MiB"})
        arrays = {}
        with np.load(path, allow_pickle=False) as data:
            for key in data.files:
                array = data[key]
                if array.dtype.kind not in ALLOWED_KINDS:
                    return ProbeError("invalid_result", {"reason": f"`{key}` hat den Typ {array.dtype}"})
                arrays[key] = array
        return arrays
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
        return ProbeError("invalid_result", {"reason": f"Ergebnis nicht lesbar ({type(error).__name__})"})
