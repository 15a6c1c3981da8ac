"""Grader-side name of the probe runner. It runs inside the student's kernel, so it lives on the
student side (``xaikit/selfcheck/probe.py``); the probe cell imports it from there."""

from xaikit.selfcheck.probe import *  # noqa: F401,F403
from xaikit.selfcheck.probe import INVALID, MissingFunction, ProbeTimeout, as_numpy, plain_result, require, run  # noqa: F401
