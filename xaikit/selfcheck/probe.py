"""Runs inside the student's kernel, after the student's cells: calls the student's functions
on the cases the grader prepared and writes plain data (npz without pickle, json) — nothing else.

Whatever the student's code patched in this process can only change what is written here;
the comparison with the reference happens in the grading process, on validated data.
"""

from __future__ import annotations

import copy
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


class Snapshot:
    """A probe's input as it was before the student's call (``before``); ``unchanged()`` after the call says
    whether the caller's object is still the same: values and shape, and for a tensor also ``requires_grad``
    and no ``.grad`` left behind. The 'input unchanged' checks read it. DataFrames, tensors, arrays."""

    def __init__(self, value):
        self.value = value
        if hasattr(value, "detach"):  # torch tensor
            self.before, self.requires_grad = value.detach().clone(), value.requires_grad
        elif hasattr(value, "equals"):  # pandas
            self.before = value.copy(deep=True)
        else:
            self.before = np.array(value, copy=True)

    def unchanged(self) -> bool:
        value = self.value
        if hasattr(value, "detach"):
            import torch

            return bool(torch.equal(value.detach(), self.before) and value.requires_grad == self.requires_grad
                        and value.grad is None)
        if hasattr(value, "equals"):
            return bool(value.equals(self.before))
        return bool(value.shape == self.before.shape and np.array_equal(value, self.before))


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
