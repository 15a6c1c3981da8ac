"""The grader's view of each exercise: the student side's checks plus what only the grader has.

``autograder/checks/<exercise>.py`` takes the probes, public cases, criteria and messages from the
student side (``xaikit/selfcheck/exercises/<exercise>.py``) and adds
- ``DIAGNOSES``: which known mistakes each check names, with their messages (``MESSAGES``);
- ``build_cases(seed, public)``: the public cases, or the hidden ones, which are built by
  ``reference_solutions/hidden/<exercise>.py`` (grader side: never shipped, not importable in the sandbox);
- the optional ``figures`` hook of the feedback page.
The reference and its known-wrong variants are in ``reference_solutions/<exercise>.py``.
"""

from __future__ import annotations

import importlib
import sys

from xaikit.selfcheck.core import Case, Check, ProbeError, Verdict, evaluate, with_diagnoses  # noqa: F401
from xaikit.selfcheck.core import Exercise as _PublicExercise

from ..config import PROJECT_ROOT


def hidden_builders(name: str):
    """The grader-side module that builds an exercise's hidden cases (beside the reference)."""
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    return importlib.import_module(f"reference_solutions.hidden.{name}")


class Exercise(_PublicExercise):
    """One exercise with everything the grader needs: checks with their diagnoses, all messages,
    public and hidden cases."""

    MODULE = "autograder.checks.{name}"

    def build_cases(self, seed: int, public: bool) -> list[Case]:
        return list(self.module.build_cases(seed, public))
