"""Shared comparison helpers: validation first (type, shape, finiteness), then closeness.

Each helper returns ``None`` when the student's result is acceptable, or a ``Failure``
naming a message key and its parameters. The checks of all exercises build on these,
so tolerances and their messages are stated once.
"""

from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass, field

import numpy as np

from .messages import Message


@dataclass(frozen=True)
class Failure:
    key: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Tolerance:
    """``|student - reference| <= atol + rtol * |reference|`` elementwise (numpy.allclose)."""

    rtol: float
    atol: float

    def __str__(self):
        return f"rtol={self.rtol:g}, atol={self.atol:g}"


# --- how close a comparison came to its limit (read by the fairness figures, never by a verdict) -----------
# Each tolerance comparison below reports its deviation as a share of what it allows: 1.0 is the limit, a result
# passes at <= 1. ``recording()`` collects these shares while criteria run, so the grader can state per check the
# largest share a correct solution reached and the smallest a caught mistake did (``autograder/fairness.py``).

_RECORDS: contextvars.ContextVar = contextvars.ContextVar("xaikit_comparison_records", default=None)


@contextlib.contextmanager
def recording():
    """Collect ``(what, share of the limit)`` of every tolerance comparison made inside the block (this thread)."""
    records: list = []
    token = _RECORDS.set(records)
    try:
        yield records
    finally:
        _RECORDS.reset(token)


def record(what: str, share: float) -> None:
    records = _RECORDS.get()
    if records is not None:
        records.append((what, float(share)))


def within_limit(what: str, value: float, limit: float) -> bool:
    """``value <= limit`` for a scalar bound (a mean difference, a distance ratio), recorded for the figures."""
    share = float(value) / limit if limit > 0 else (0.0 if value <= 0 else float("inf"))
    record(what, share if np.isfinite(share) else float("inf"))
    return bool(value <= limit)


CLEAR_MARGIN = 2.0  # a known mistake counts as caught by a tolerance comparison only at twice the tolerance or more


def fails_clearly(criterion, result: dict, expected: dict, case, margin: float = CLEAR_MARGIN) -> bool:
    """Does ``result`` fail ``criterion`` by a margin? A failure of a tolerance comparison counts only at ``margin``
    times the tolerance or more (just past it, a correct solution written a little differently could land there
    too); any other failure (a shape, a flag, a class) counts as it is. The hidden case builders choose cases on
    which every known mistake fails clearly."""
    with recording() as records:
        failure = criterion(result, expected, case)
    if failure is None:
        return False
    past = [share for _, share in records if share > 1.0]
    return not past or max(past) >= margin


def numeric_array(result: dict, key: str) -> tuple[np.ndarray | None, Failure | None]:
    """The result ``key`` as a float array, or the failure that prevents it."""
    if key not in result:
        return None, Failure("invalid_result", {"reason": Message("result_key_missing", key=key)})
    value = np.asarray(result[key])
    if value.dtype.kind == "U" and value.size == 1 and str(value.ravel()[0]).startswith("__invalid__"):
        return None, Failure("invalid_result", {"reason": f"`{key}`: {str(value.ravel()[0])[12:]}"})
    if value.dtype.kind not in "biuf":
        return None, Failure("not_numeric", {"key": key, "got": str(value.dtype)})
    return value.astype(np.float64), None


def shaped_array(student: dict, expected: dict, key: str, message: str) -> tuple[np.ndarray | None, Failure | None]:
    """``student[key]`` as a float array of the reference's shape, or the failure that prevents it: missing,
    invalid or not numeric (``numeric_array``), or ``message`` with the expected and the actual shape."""
    got, failure = numeric_array(student, key)
    if failure:
        return None, failure
    want = tuple(np.shape(expected[key]))
    if got.shape != want:
        return None, Failure(message, {"expected": want, "got": tuple(got.shape)})
    return got, None


def array_close(student: dict, expected: dict, key: str, tol: Tolerance) -> Failure | None:
    """Shape, finiteness and values of ``student[key]`` against ``expected[key]``."""
    got, failure = numeric_array(student, key)
    if failure:
        return failure
    want = np.asarray(expected[key], dtype=np.float64)
    if got.shape != want.shape:
        record(key, float("inf"))
        return Failure("shape", {"key": key, "expected": tuple(want.shape), "got": tuple(got.shape)})
    if not np.all(np.isfinite(got)) and np.all(np.isfinite(want)):
        record(key, float("inf"))
        return Failure("not_finite", {"key": key})
    if _RECORDS.get() is not None:
        record(key, _share_of_tolerance(got, want, tol))
    if np.allclose(got, want, rtol=tol.rtol, atol=tol.atol, equal_nan=True):
        return None
    differences = np.abs(got - want)
    differences = differences[~np.isnan(differences)]  # (NaN where either is NaN: no number, no warning)
    error = float(differences.max()) if differences.size else float("nan")
    return Failure("values", {"key": key, "max_error": error, "rtol": tol.rtol, "atol": tol.atol})


def _share_of_tolerance(got: np.ndarray, want: np.ndarray, tol: Tolerance) -> float:
    """max |got - want| / (atol + rtol |want|): numpy.allclose passes exactly when this is <= 1."""
    if got.size == 0:
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = np.abs(got - want) / (tol.atol + tol.rtol * np.abs(want))
    both_nan = np.isnan(got) & np.isnan(want)
    shares = np.where(both_nan, 0.0, shares)
    shares = np.where(np.isnan(shares), np.inf, shares)  # NaN on one side only: as far as it gets
    return float(np.max(shares))


def flag_true(student: dict, key: str, message: str) -> Failure | None:
    """A boolean flag the probe recorded (e.g. 'input unchanged') must be true."""
    if key not in student:
        return Failure("invalid_result", {"reason": Message("result_key_missing", key=key)})
    return None if bool(np.asarray(student[key]).all()) else Failure(message)


def same_sequence(student: dict, expected: dict, key: str) -> Failure | None:
    """Equal sequences (rankings, token lists); compared as strings, order matters."""
    if key not in student:
        return Failure("invalid_result", {"reason": Message("result_key_missing", key=key)})
    got = [str(x) for x in np.asarray(student[key]).ravel()]
    want = [str(x) for x in np.asarray(expected[key]).ravel()]
    if got == want:
        return None
    return Failure("sequence", {"key": key, "expected": want, "got": got})


def in_range(student: dict, key: str, low: float, high: float, message: str = "range") -> Failure | None:
    got, failure = numeric_array(student, key)
    if failure:
        return failure
    if got.size and (np.nanmin(got) < low or np.nanmax(got) > high):
        return Failure(message, {"key": key, "low": low, "high": high,
                                 "min": float(np.nanmin(got)), "max": float(np.nanmax(got))})
    return None


def first_failure(*failures: Failure | None) -> Failure | None:
    for failure in failures:
        if failure is not None:
            return failure
    return None


# --- criteria built from the helpers above: a check states them as data ---------------------------
# A criterion is ``criterion(student, expected, case) -> Failure | None`` (``core.Check.criterion``).

def close(key: str, tol: Tolerance):
    """``student[key]`` within ``tol`` of the reference's (shape, finiteness, values: ``array_close``)."""
    def criterion(student, expected, case=None):
        return array_close(student, expected, key, tol)
    return criterion


_ANY = Tolerance(rtol=0.0, atol=0.0)


def same_shape(key: str):
    """Only the shape of ``student[key]``: where it differs from the reference's, what ``array_close`` says
    (the result is missing, not numeric, or has the wrong shape); the values are another check's."""
    def criterion(student, expected, case=None):
        if np.shape(student.get(key)) == np.shape(expected[key]):
            return None
        return array_close(student, expected, key, _ANY)  # (shapes differ: its values part never runs)
    return criterion


def flag(key: str, message: str):
    """A flag the probe recorded (``input_unchanged``, ``hooks_removed``, ...) must be true, else ``message``."""
    def criterion(student, expected=None, case=None):
        return flag_true(student, key, message)
    return criterion


def within(key: str, low: float, high: float, message: str = "range"):
    """Every value of ``student[key]`` in [low, high] (``in_range``)."""
    def criterion(student, expected=None, case=None):
        return in_range(student, key, low, high, message)
    return criterion


def all_of(*criteria):
    """The first failure of ``criteria``, tried in order (later ones are not evaluated once one fails)."""
    def criterion(student, expected, case=None):
        for each in criteria:
            failure = each(student, expected, case)
            if failure is not None:
                return failure
        return None
    return criterion
