"""Runs inside the student's kernel, after the student's cells: calls the student's functions
on the cases the grader prepared and writes plain data (npz without pickle, json) — nothing else.

Whatever the student's code patched in this process can only change what is written here;
the comparison with the reference happens in the grading process, on validated data.
"""

from __future__ import annotations

import copy
import hashlib
import importlib
import json
import os
import pickle
import signal
import traceback

import numpy as np


class MissingFunction(Exception):
    def __init__(self, name):
        super().__init__(name)
        self.name = name


class ProbeTimeout(BaseException):
    """BaseException so a student's bare ``except Exception`` cannot swallow it."""


def require(namespace: dict, name: str):
    """The student's function ``name`` from the notebook's namespace."""
    function = namespace.get(name)
    if not callable(function):
        raise MissingFunction(name)
    return function


def as_numpy(value, dtype=None) -> np.ndarray:
    """A torch/TensorFlow tensor, list or scalar as a numpy array (no object arrays)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    elif hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        value = value.numpy()
    array = np.asarray(value) if dtype is None else np.asarray(value, dtype=dtype)
    if array.dtype == object:
        raise TypeError(f"cannot convert {type(value).__name__} to a numeric array")
    return array


def fingerprint(value) -> str:
    """A digest of an input's whole state as the 'input unchanged' checks see it: for an array its dtype, shape
    and values; for a DataFrame its columns, index, dtypes and values; for a tensor also ``requires_grad`` and
    whether a ``.grad`` hangs on it. Equal inputs give equal digests in any process (the kernel's probe, the
    grader's hidden case); -0.0 counts as 0.0, as ``==`` has it."""
    digest = hashlib.sha256()

    def add(tag: str, data) -> None:
        if isinstance(data, np.ndarray):
            if data.dtype.kind in "fc":
                data = data + 0  # (-0.0 -> 0.0)
            data = repr(data.tolist()).encode() if data.dtype.kind == "O" else \
                f"{data.dtype.str}{data.shape}".encode() + np.ascontiguousarray(data).tobytes()
        elif not isinstance(data, bytes):
            data = repr(data).encode()
        digest.update(tag.encode() + b"\0" + len(data).to_bytes(8, "little") + data)

    if hasattr(value, "detach"):  # torch tensor
        tensor = value.detach().cpu()
        if tensor.is_floating_point() or tensor.is_complex():
            tensor = tensor + 0
        add("tensor", (str(tensor.dtype), tuple(tensor.shape), bool(value.requires_grad), value.grad is None))
        add("values", tensor.contiguous().reshape(-1).view(__import__("torch").uint8).numpy().tobytes())
    elif hasattr(value, "columns") and hasattr(value, "index"):  # pandas DataFrame
        add("frame", ([repr(c) for c in value.columns], [str(t) for t in value.dtypes]))
        add("index", np.asarray(value.index.to_numpy()))
        for position in range(value.shape[1]):
            add("column", np.asarray(value.iloc[:, position].to_numpy()))
    else:
        add("array", np.asarray(value))
    return digest.hexdigest()


class Snapshot:
    """A probe's input, and what the probe hands back about it after the student's call: ``after()``, the
    fingerprint of the caller's object as it is then.

    The 'input unchanged' checks compare ``after()`` with the fingerprint of the input the *grader* built
    (``unchanged_input``): nothing is decided in the student's kernel. (Before, the kernel handed back a
    boolean ``unchanged()``, and ``Snapshot.unchanged = lambda self: True`` in a cell turned an overwritten
    ``X`` into a passed check.) On purpose it keeps no copy or digest of the object from before the call: a
    patched ``after`` has nothing here to hand back instead. DataFrames, tensors, arrays."""

    def __init__(self, value):
        self.value = value

    def after(self) -> str:
        """The caller's object as it is now (after the student's call), as its fingerprint."""
        return fingerprint(self.value)


def unchanged_input(after_key: str, input_key: str, message: str):
    """Criterion: the input as the probe handed it back after the call (``Snapshot.after()`` under ``after_key``)
    is the case's input ``input_key`` as built on this side (the grader's hidden case, the self-check's public
    one); else ``message``. Without the case (a test's direct call) the reference's handed-back input counts."""
    from .compare import Failure
    from .messages import Message

    def criterion(student, expected=None, case=None):
        if after_key not in student:
            return Failure("invalid_result", {"reason": Message("result_key_missing", key=after_key)})
        got = np.asarray(student[after_key])
        if case is not None:
            want = fingerprint(case.inputs[input_key])
        else:
            want = str(np.asarray((expected or {}).get(after_key, "")).ravel()[0])
        return None if got.dtype.kind == "U" and got.size == 1 and str(got.ravel()[0]) == want else Failure(message)
    return criterion


_MODELS: dict = {}


def cached_model(key, build):
    """``build()``'s result (a model, its weights, a processor) for ``key``, built once per process: every
    case a probe runs in the same kernel (or grader process) shares it. The probes restore or rebuild what
    a student's call could change before handing it out."""
    if key not in _MODELS:
        _MODELS[key] = build()
    return _MODELS[key]


INVALID = "__invalid__"


def plain_result(value, max_bytes: int = 32 * 2**20) -> np.ndarray:
    """One result as an array; a value that cannot be one is recorded as invalid, key by key,
    so the other results of the same call (e.g. 'input unchanged') still count."""
    try:
        array = as_numpy(value)
    except Exception as error:  # noqa: BLE001 - any conversion failure is the student's result
        return np.array(f"{INVALID} {type(error).__name__}: {error}"[:300])
    if array.nbytes > max_bytes:
        return np.array(f"{INVALID} {array.nbytes / 2**20:.0f} MiB (> {max_bytes / 2**20:.0f} MiB), shape {array.shape}")
    return array


def _on_alarm(signum, frame):
    raise ProbeTimeout()


def run(cases_path: str, out_dir: str, namespace: dict, timeout: float = 60.0) -> None:
    with open(cases_path, "rb") as handle:
        cases = pickle.load(handle)
    os.makedirs(out_dir, exist_ok=True)
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    try:
        for case in cases:
            _run_case(case, out_dir, namespace, timeout)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _run_case(case: dict, out_dir: str, namespace: dict, timeout: float) -> None:
    module_name, function_name = case["probe"].split(":")
    probe = getattr(importlib.import_module(module_name), function_name)
    status: dict = {"case": case["id"]}
    # A marker first: if the call kills the kernel, the grader can tell which call did it.
    open(os.path.join(out_dir, case["id"] + ".started"), "w").close()
    try:
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            result = probe(namespace, copy.deepcopy(case["inputs"]))
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        arrays = {key: plain_result(value, case.get("max_bytes", 32 * 2**20)) for key, value in result.items()}
        np.savez(os.path.join(out_dir, case["id"] + ".npz"), **arrays)
        status["ok"] = True
    except ProbeTimeout:
        status.update(kind="timeout", params={"seconds": timeout})
    except MissingFunction as error:
        status.update(kind="missing_function", params={"name": error.name})
    except NotImplementedError:
        status.update(kind="not_implemented", params={"name": case.get("function", "?")})
    except BaseException as error:  # the student's code may raise anything, SystemExit included
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()
        status.update(kind="exception", params={"error": detail[:400]})
    with open(os.path.join(out_dir, case["id"] + ".json"), "w") as handle:
        json.dump(status, handle)
