"""`xaigrade`: release, check, grade, demo. Thin: parse arguments, call the layers."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from .config import ASSIGNMENTS, PROJECT_ROOT, load_settings


def _available(names) -> list[str]:
    present = [a for a in ASSIGNMENTS if (PROJECT_ROOT / "source" / a / f"{a}.ipynb").exists()]
    if not names:
        return present
    unknown = [n for n in names if n not in present]
    if unknown:
        raise SystemExit(f"unknown assignment(s): {', '.join(unknown)}; available: {', '.join(present)}")
    return list(names)


def cmd_release(args) -> int:
    from .release import release_assignment

    settings = load_settings(args.course_dir)
    for name in _available(args.assignments):
        target = release_assignment(name, Path(args.course_dir), Path(args.course_dir) / "release", settings)
        print(f"released {name} -> {target}")
    return 0


def cmd_check(args) -> int:
    """Student side: run the notebook and the public checks; no reference code needed."""
    from .checks import Exercise
    from .grading import PUBLIC_DATA, format_line, grade_notebook, unpack_public

    notebook = Path(args.notebook).resolve()
    name = args.assignment or notebook.stem
    if name not in ASSIGNMENTS:
        raise SystemExit(f"cannot tell the assignment of {notebook.name}; use --assignment ({', '.join(ASSIGNMENTS)})")
    data = notebook.parent / PUBLIC_DATA
    if not data.exists():
        data = PROJECT_ROOT / "release" / name / PUBLIC_DATA
    if not data.exists():
        raise SystemExit(f"{PUBLIC_DATA} not found beside the notebook: keep the released folder together")
    settings = load_settings(PROJECT_ROOT, language=args.language)
    exercise = Exercise(name)
    seed, expected, variants = unpack_public(data)
    cases = exercise.build_cases(seed, public=True)
    release_nb = PROJECT_ROOT / "release" / name / f"{name}.ipynb"
    result = grade_notebook(exercise, notebook, "you", data.parent, cases, expected, variants, settings,
                            public_only=True, release_notebook=release_nb if release_nb.exists() else notebook)
    titles = {c.id: c.title.get(settings.language, c.title["de"]) for c in exercise.checks}
    for note in result.notes:
        print(f"! {note}")
    for verdict in result.verdicts:
        print(format_line(verdict, titles[verdict.check_id]))
    passed = all(v.passed for v in result.verdicts)
    print(f"{'✔' if passed else '✘'} {result.score:g}/{result.max_score:g} Punkte in den öffentlichen Prüfungen")
    return 0 if passed else 1


def cmd_grade(args) -> int:
    from .batch import Layout, grade_batch
    from .report import print_table

    settings = load_settings(args.course_dir, language=args.language)
    course = Path(args.course_dir).resolve()
    layout = Layout(course, Path(args.submissions or course / "submitted").resolve(),
                    Path(args.output or course).resolve())
    started = time.monotonic()
    report = grade_batch(_available(args.assignments), layout, settings, force=args.force,
                         progress=lambda r: print(f"  {r.student}/{r.assignment}: {r.score:g}/{r.max_score:g}"
                                                  f" ({r.seconds:.1f} s)", file=sys.stderr))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, ensure_ascii=False))
    print_table(report)
    print(f"graded in {time.monotonic() - started:.1f} s; gradebook: {layout.db_url}")
    return 0


def cmd_demo(args) -> int:
    from .batch import Layout, grade_batch
    from .release import release_assignment
    from .report import print_table

    started = time.monotonic()
    settings = load_settings(PROJECT_ROOT, language=args.language)
    assignments = _available(args.assignments)
    for name in assignments:
        release_assignment(name, PROJECT_ROOT, PROJECT_ROOT / "release", settings)
        print(f"released {name}")
    output = Path(args.output).resolve()
    if output.exists():
        shutil.rmtree(output)
    layout = Layout(PROJECT_ROOT, PROJECT_ROOT / "examples" / "submissions", output)
    report = grade_batch(assignments, layout, settings, force=True,
                         progress=lambda r: print(f"  graded {r.student}/{r.assignment} in {r.seconds:.1f} s",
                                                  file=sys.stderr))
    (output / "report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False))
    print_table(report, details=True)
    print(f"demo finished in {time.monotonic() - started:.1f} s; gradebook, autograded notebooks and "
          f"feedback pages in {output}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xaigrade", description=__doc__)
    parser.add_argument("--language", choices=("de", "en"), default=None, help="feedback language")
    sub = parser.add_subparsers(dest="command", required=True)

    release = sub.add_parser("release", help="nbgrader generate_assignment into release/ plus public check data")
    release.add_argument("assignments", nargs="*")
    release.add_argument("--course-dir", default=str(PROJECT_ROOT))
    release.set_defaults(func=cmd_release)

    check = sub.add_parser("check", help="students: run your notebook against the public checks")
    check.add_argument("notebook")
    check.add_argument("--assignment", default=None)
    check.set_defaults(func=cmd_check)

    grade = sub.add_parser("grade", help="grade submitted/<student>/<assignment>/ into nbgrader's gradebook")
    grade.add_argument("assignments", nargs="*")
    grade.add_argument("--submissions", default=None, help="folder with <student>/<assignment>/ (default: submitted/)")
    grade.add_argument("--course-dir", default=str(PROJECT_ROOT))
    grade.add_argument("--output", default=None, help="where gradebook.db, autograded/ and feedback/ go")
    grade.add_argument("--json", default=None, help="write {student: {assignment: {check: ...}}} here")
    grade.add_argument("--force", action="store_true", help="regrade submissions already graded")
    grade.set_defaults(func=cmd_grade)

    demo = sub.add_parser("demo", help="release everything and grade the example submissions")
    demo.add_argument("assignments", nargs="*")
    demo.add_argument("--output", default=str(PROJECT_ROOT / "demo_output"))
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.language is None:
        args.language = load_settings(PROJECT_ROOT).language
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
