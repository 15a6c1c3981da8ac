"""The public self-test that the notebooks' test cells run, inside the student's kernel.

It uses only public inputs and the released ``public_checks.npz`` (no reference code), and
prints the same lines `xaigrade check` prints. Grading never relies on it: the grader skips
these cells and runs the hidden checks outside the student's process.
"""

from __future__ import annotations

from pathlib import Path

from .checks import Exercise, ProbeError, evaluate
from .config import PROJECT_ROOT, load_settings


def _public_data(assignment: str) -> Path:
    from .grading import PUBLIC_DATA

    for candidate in (Path.cwd() / PUBLIC_DATA, PROJECT_ROOT / "release" / assignment / PUBLIC_DATA):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"{PUBLIC_DATA} fehlt neben dem Notebook / missing beside the notebook")


def run_public_checks(assignment: str, task: str, namespace: dict, language: str | None = None) -> None:
    """Run the public checks of one test cell (``task``) on the functions in ``namespace``."""
    from .grading import call_probe, format_line, unpack_public

    language = language or load_settings(PROJECT_ROOT).language
    exercise = Exercise(assignment)
    seed, expected, variants = unpack_public(_public_data(assignment))
    cases = exercise.build_cases(seed, public=True)
    wanted = {c.probe for c in exercise.checks if c.task == task and c.public}
    results = {}
    for case in cases:
        if case.probe not in wanted:
            continue
        try:
            results[case.id] = call_probe(exercise, case, namespace)
        except NotImplementedError:
            results[case.id] = ProbeError("not_implemented", {"name": getattr(exercise.module, "PROBE_FUNCTIONS", {}).get(case.probe, "?")})
        except Exception as error:  # show the student's error as feedback, not as a traceback
            from .runner.probe import MissingFunction

            if isinstance(error, MissingFunction):
                results[case.id] = ProbeError("missing_function", {"name": error.name})
            else:
                results[case.id] = ProbeError("exception", {"error": f"{type(error).__name__}: {error}"[:400]})
    verdicts = [v for v in evaluate(exercise, cases, results, expected, variants, language, public_only=True)
                if v.task == task]
    titles = {c.id: c.title.get(language, c.title["de"]) for c in exercise.checks}
    for verdict in verdicts:
        print(format_line(verdict, titles[verdict.check_id]))
    failed = [v.check_id for v in verdicts if not v.passed]
    if failed:
        raise AssertionError("Öffentliche Prüfungen nicht bestanden: " + ", ".join(failed))
