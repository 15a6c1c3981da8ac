"""Grader-side name of the shared comparison helpers, which live on the student side
(``xaikit/selfcheck/compare.py``): the public self-check uses the same criteria."""

from xaikit.selfcheck.compare import *  # noqa: F401,F403
from xaikit.selfcheck.compare import Failure, Tolerance, array_close, first_failure, flag_true, in_range, \
    numeric_array, same_sequence  # noqa: F401
