"""The public self-check (student side): what the notebooks' test cells run, inside the student's kernel.

It uses only the public cases and the released ``public_checks.npz`` beside the notebook (the
reference's results on those cases; no reference code, no hidden input), and prints one line per
check. Grading never relies on it: the grader skips these cells and runs its hidden checks outside
the student's process, on inputs the student has not seen.

``python -m xaikit.selfcheck NOTEBOOK`` runs a whole notebook and prints the same lines.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

LANGUAGE_VARIABLE = "XAI_COURSE_LANGUAGE"  # "en" for English messages


def public_data(assignment: str, folder: Path | None = None) -> Path:
    """``public_checks.npz`` beside the notebook (the working directory), else the kit's own copy."""
    from .core import PUBLIC_DATA

    candidates = [Path(folder or Path.cwd()) / PUBLIC_DATA, Path(__file__).resolve().parent.parent / "course" /
                  assignment / PUBLIC_DATA]
    for candidate in candidates:
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"{PUBLIC_DATA} fehlt neben dem Notebook / missing beside the notebook")


def public_verdicts(assignment: str, namespace: dict, task: str | None = None, language: str = "de",
                    data=None) -> list:
    """The self-check's verdicts for the functions in ``namespace``: the public checks of test cell ``task`` (all
    public checks when ``task`` is None), on the public cases, judged against ``public_checks.npz`` (``data``: its
    loaded ``PublicData``; default: the file beside the notebook). What ``run_public_checks`` prints."""
    from .core import ProbeError, call_probe, evaluate, load_public
    from .probe import MissingFunction

    data = data if data is not None else load_public(public_data(assignment))
    exercise = data.exercise(assignment)
    cases = exercise.build_cases(data.seed)
    wanted = {c.probe for c in exercise.checks if c.public and (task is None or c.task == task)}
    names = getattr(exercise.module, "PROBE_FUNCTIONS", {})
    results = {}
    for case in cases:
        if case.probe not in wanted:
            continue
        try:
            # a library's warning about the student's call (scikit-learn's "X does not have valid feature names"
            # for a correct `model.predict(X.to_numpy())`) is no failure: the check judges the result. On stderr it
            # would alarm the student, and plain nbgrader scores a test cell with any stderr output 0.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                results[case.id] = call_probe(exercise, case, namespace)
        except NotImplementedError:
            results[case.id] = ProbeError("not_implemented", {"name": names.get(case.probe, "?")})
        except MissingFunction as error:
            results[case.id] = ProbeError("missing_function", {"name": error.name})
        except Exception as error:  # show the student's error as feedback, not as a traceback
            results[case.id] = ProbeError("exception", {"error": f"{type(error).__name__}: {error}"[:400]})
    return [v for v in evaluate(exercise, cases, results, data.expected, data.variants, language, public_only=True)
            if task is None or v.task == task]


def run_public_checks(assignment: str, task: str, namespace: dict, language: str | None = None) -> None:
    """Run the public checks of one test cell (``task``) on the functions in ``namespace``."""
    from .core import format_line, load_public
    from .messages import LANGUAGES, text

    language = language or os.environ.get(LANGUAGE_VARIABLE, "de")
    if language not in LANGUAGES:  # (a stray setting must not stop the student's check)
        language = "de"
    data = load_public(public_data(assignment))
    exercise = data.exercise(assignment)
    verdicts = public_verdicts(assignment, namespace, task, language, data)
    titles = {c.id: c.title_for(language) for c in exercise.checks}
    for verdict in verdicts:
        print(format_line(verdict, titles[verdict.check_id]))
    failed = [v.check_id for v in verdicts if not v.passed]
    if failed:
        raise AssertionError(text("public_checks_failed", language, checks=", ".join(failed)))
