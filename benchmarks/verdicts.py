"""Every verdict the grader gives, as sorted JSON, to compare two versions of the code (a refactor keeps
every verdict: same points, message keys and message texts).

Two sources of verdicts:
- ``submission``: the example submissions (``examples/submissions/<student>/<assignment>``) graded through
  the real sandbox by ``grade_batch``, on the hidden set the course secret gives each student;
- ``variant``: every known-wrong variant of the reference evaluated as if a student had handed it in, on
  the public cases (what ``xaigrade check`` says) and on hidden set 0 (no sandbox: the variant's results
  are computed in this process, as for the diagnosis).

    PYTHONPATH=COURSE .venv/bin/python benchmarks/verdicts.py --course-dir COURSE [--assignments pdp ...]
        [--skip-submissions] > verdicts.json

Run it once on the code before a change and once after, then ``diff`` the two files.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import xaikit  # noqa: F401  (torch/triton before TensorFlow)


def verdict_rows(source: str, student: str, assignment: str, report: dict) -> list[dict]:
    rows = []
    for check_id, entry in sorted(report.items()):
        if check_id == "_notes":
            rows.append({"source": source, "student": student, "assignment": assignment, "check": "_notes",
                         "notes": [note for note in entry if not note.startswith("grader error")]})
        elif not check_id.startswith("_"):
            rows.append({"source": source, "student": student, "assignment": assignment, "check": check_id,
                         "score": entry["score"], "max_score": entry["max_score"],
                         "message_key": entry["message_key"], "message": entry["message"], "case": entry["case"]})
    return rows


def submission_verdicts(course: Path, assignments: list[str], settings) -> list[dict]:
    from autograder.batch import Layout, grade_batch

    with tempfile.TemporaryDirectory(prefix="xaigrade-verdicts-") as output:
        layout = Layout(course, course / "examples" / "submissions", Path(output))
        report = grade_batch(assignments, layout, settings, force=True, pictures=False)
    rows = []
    for student, by_assignment in sorted(report.items()):
        for assignment, entries in sorted(by_assignment.items()):
            rows += verdict_rows("submission", student, assignment, entries)
    return rows


def variant_verdicts(course: Path, assignments: list[str], settings) -> list[dict]:
    """Each known-wrong variant's results as a student's, on the public cases and on hidden set 0."""
    from autograder import grading
    from autograder.checks import Exercise, evaluate
    from autograder.secret import course_secret

    secret = course_secret(course, settings)
    rows = []
    for name in assignments:
        exercise = Exercise(name)
        public = exercise.build_cases(0, public=True)
        contexts = {"public": (public, *grading.compute_reference(exercise, public)),
                    "hidden-0": grading.hidden_set(exercise, secret, 0)}
        for where, (cases, expected, variants) in contexts.items():
            for variant_id, results in sorted(variants.items()):
                student = {case.id: results.get(case.id, expected[case.id]) for case in cases}
                for public_only in (False, True):
                    verdicts = evaluate(exercise, cases, student, expected, variants, settings.language,
                                        public_only=public_only)
                    report = {v.check_id: v.as_dict() for v in verdicts}
                    rows += verdict_rows(f"variant:{where}:{'public' if public_only else 'all'}", variant_id,
                                         name, report)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--course-dir", type=Path, required=True)
    parser.add_argument("--assignments", nargs="*", default=["pdp", "counterfactual", "gradcam", "clip"])
    parser.add_argument("--skip-submissions", action="store_true", help="only the variants (no sandbox)")
    args = parser.parse_args()
    course = args.course_dir.resolve()
    from autograder.config import load_settings

    import autograder

    print(f"autograder from {Path(autograder.__file__).parent}", file=sys.stderr)
    settings = load_settings(course)
    rows = variant_verdicts(course, args.assignments, settings)
    if not args.skip_submissions:
        rows += submission_verdicts(course, args.assignments, settings)
    rows.sort(key=lambda row: (row["source"], row["assignment"], row["student"], row["check"]))
    json.dump(rows, sys.stdout, indent=1, ensure_ascii=False, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
