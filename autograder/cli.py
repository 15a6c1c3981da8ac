"""`xaigrade`: release, check, grade, demo. Thin: parse arguments, call the layers."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

from .config import PROJECT_ROOT, load_settings
from .exercises import ExerciseError, assignments, load_exercise


NO_COURSE = {
    "de": "xaigrade: {folder} ist kein Kursverzeichnis (dort liegt keine nbgrader_config.py). Starten Sie xaigrade "
          "im Kursverzeichnis oder geben Sie es mit --course-dir VERZEICHNIS an.",
    "en": "xaigrade: {folder} is not a course directory (it holds no nbgrader_config.py). Run xaigrade in the course "
          "directory or give it with --course-dir DIR.",
}


def _course(args, required: bool = True) -> Path | None:
    """nbgrader's convention: the course is ``--course-dir``, else the current directory, and it holds
    ``nbgrader_config.py``; never the folder this package is installed in unless that is the one named."""
    folder = Path(getattr(args, "course_dir", None) or os.getcwd()).resolve()
    if (folder / "nbgrader_config.py").is_file():
        return folder
    if required:
        message = NO_COURSE.get(getattr(args, "language", None) or "de", NO_COURSE["en"])
        raise SystemExit(message.format(folder=folder))
    return None


COURSE_DIR_HELP = "the course: the folder with nbgrader_config.py (default: the current directory)"


def _registered() -> tuple[str, ...]:
    try:
        return assignments()
    except ExerciseError as error:
        raise SystemExit(f"xaigrade: {error}") from None


def _available(names, course: Path, load: bool = True) -> list[str]:
    """The assignments to work on: those named, else every registered one with a source notebook in the course
    (the others are named on stderr). Each is loaded first (``load``), so a broken one stops the command naming
    its file before any work is done."""
    registered = _registered()
    present = [a for a in registered if (course / "source" / a / f"{a}.ipynb").exists()]
    unknown = [n for n in names or () if n not in registered]
    if unknown:
        raise SystemExit(f"unknown assignment(s): {', '.join(unknown)}; registered: {', '.join(registered)} "
                         "(an exercise is registered by autograder/checks/<name>.py)")
    without_notebook = [n for n in names or () if n not in present]
    if without_notebook:
        raise SystemExit("no source notebook in this course for: "
                         + ", ".join(f"{n} (source/{n}/{n}.ipynb)" for n in without_notebook))
    if not names:
        skipped = [a for a in registered if a not in present]
        if skipped:
            print(f"xaigrade: not in this course (no source/<name>/<name>.ipynb): {', '.join(skipped)}", file=sys.stderr)
    chosen = list(names) if names else present
    for name in chosen if load else ():
        try:
            load_exercise(name)
        except ExerciseError as error:
            raise SystemExit(f"xaigrade: {error}") from None
    return chosen


def cmd_release(args) -> int:
    from .release import release_assignment

    course = _course(args)
    settings = load_settings(course)
    _ensure_secret(course, settings)
    names = _available(args.assignments, course)
    for name in names:
        target = release_assignment(name, course, course / "release", settings)
        print(f"released {name} -> {target}")
    if not args.no_prepare:  # the hidden sets now, so that grading never waits for them
        _prepare(course, settings, names, args.processes)
    return 0


def cmd_prepare(args) -> int:
    """The K hidden case sets of each assignment with the reference's results, computed now (in parallel, one
    process per core) and cached, so that `xaigrade grade` only loads them."""
    course = _course(args)
    settings = load_settings(course)
    _ensure_secret(course, settings)
    _prepare(course, settings, _available(args.assignments, course), args.processes)
    return 0


def _prepare(course: Path, settings, names: list[str], processes: int | None) -> None:
    from .references import prepare_hidden_sets
    from .secret import course_secret

    count = max(1, settings.hidden_sets)
    if not settings.cache_reference:
        print("xaigrade: c.XaiGrade.cache_reference = False: hidden sets are computed when grading, not kept")
        return
    started = time.monotonic()

    def report(name, index, seconds):
        print(f"  {name}: hidden set {index + 1}/{count} computed ({seconds:.1f} s)", flush=True)

    try:
        computed = prepare_hidden_sets({name: range(count) for name in names}, course_secret(course, settings),
                                       processes, report)
    except Exception as error:  # noqa: BLE001 - a builder that fails: named, without a traceback
        raise SystemExit(f"xaigrade: preparing the hidden sets failed: {type(error).__name__}: {error}") from None
    cached = len(names) * count - len(computed)
    if not computed:
        print(f"hidden sets of {', '.join(names)}: all {cached} computed before, nothing to compute")
        return
    print(f"hidden sets of {', '.join(names)}: {len(computed)} computed in {time.monotonic() - started:.1f} s "
          f"({sum(computed.values()):.1f} s of work), {cached} already there; `xaigrade grade` only loads them")


def _ensure_secret(course: Path, settings) -> None:
    """The course secret the hidden inputs derive from: created on first use; a public seed is refused."""
    from .secret import PublicSeedRefused, course_secret, secret_path

    try:
        created = not secret_path(course).exists()
        course_secret(course, settings)
        if created and not settings.hidden_seed:
            print(f"created the course secret {secret_path(course)} (keep it out of git; delete it to rotate)")
    except PublicSeedRefused as refused:
        raise SystemExit(f"xaigrade: {refused}") from None


def cmd_check(args, forward: bool = True) -> int:
    """Student side: run the notebook and the public checks; no reference code needed. ``forward``: hand the
    check to this assignment's warm check server if one runs (``check_server``; its child calls this with
    False), else run it here and start that server for the next check."""
    from . import check_server

    if args.stop_daemons:
        from .runner.zygote import stop_daemons

        print(f"stopped {check_server.stop_servers() + stop_daemons()} warm check process(es)")
        return 0
    if not args.notebook:
        raise SystemExit("xaigrade check: which notebook? (xaigrade check NOTEBOOK)")
    notebook = Path(args.notebook).resolve()
    name = args.assignment or notebook.stem
    if name not in _registered():
        raise SystemExit(f"cannot tell the assignment of {notebook.name}; use --assignment ({', '.join(_registered())})")
    course = _course(args, required=False)  # (optional: a student's notebook folder is no course)
    settings = load_settings(course or notebook.parent, language=args.language)
    if args.no_daemon:
        settings.check_daemon_seconds = 0
    if forward and settings.check_daemon_seconds > 0:
        code = check_server.forward(name, args)
        if code is not None:
            return code  # (the server's child printed the result into our stdout)
        check_server.start_server(name, settings.check_daemon_seconds)  # it imports beside this check
    # (only now: the grader and the exercise module import scikit-learn or torch, about a second)
    from .grading import PUBLIC_DATA, format_line, grade_notebook, load_public, public_cases
    from .messages import text

    data = notebook.parent / PUBLIC_DATA
    if not data.exists() and course is not None:
        data = course / "release" / name / PUBLIC_DATA
    if not data.exists():
        raise SystemExit(f"{PUBLIC_DATA} not found beside the notebook: keep the released folder together")
    public = load_public(data)  # the student's view: the public checks and what the release says about them
    exercise = public.exercise(name)
    seed, expected, variants = public.seed, public.expected, public.variants
    cases = public_cases(exercise, seed)
    releases = ([course / "release" / name / f"{name}.ipynb"] if course else []) + [data.parent / f"{name}.ipynb"]
    release_nb = next((r for r in releases if r.exists()), notebook)  # restores deleted test cells
    result = grade_notebook(exercise, notebook, "you", data.parent, cases, expected, variants, settings,
                            public_only=True, release_notebook=release_nb)
    titles = {c.id: c.title_for(settings.language) for c in exercise.checks}
    for note in result.notes:
        print(f"! {note}")
    task = None
    for verdict in result.verdicts:
        if verdict.task != task:  # the task's title from the notebook's heading, not the test cell's id
            task = verdict.task
            print(exercise.task_title(task, settings.language))
        print(format_line(verdict, titles[verdict.check_id]))
    passed = all(v.passed for v in result.verdicts)
    print(text("report.public_total", settings.language, mark="✔" if passed else "✘", score=result.score,
               max_score=result.max_score))
    return 0 if passed else 1


def _layout(args, course_needed: bool = True):
    from .batch import Layout

    if not course_needed and args.output and getattr(args, "course_dir", None) is None:
        course = _course(args, required=False) or Path(args.output)  # (only the output is read)
    else:
        course = _course(args)
    return Layout(course, Path(getattr(args, "submissions", None) or course / "submitted").resolve(),
                  Path(args.output or course).resolve())


def _after_grading(assignments, layout, settings, nbgrader_feedback: bool, students=None) -> None:
    """nbgrader's own feedback (which links our pages) and the class overview."""
    from .feedback import generate_nbgrader_feedback
    from .overview import print_overview, write_overview

    if nbgrader_feedback:
        for assignment in assignments:
            if (layout.output / "autograded").exists():
                # one student's notebook that nbgrader cannot render is that student's note, not the batch's
                for note in generate_nbgrader_feedback(layout.output, assignment, settings.language,
                                                       students).values():
                    print(note)
    print_overview(layout.output, settings.language)
    print(f"class overview: {write_overview(layout.output, language=settings.language)}")


FORMGRADER_COMMAND = "jupyter lab --no-browser --ip 127.0.0.1 --port 8899"


def print_run_notes(notes, layout, assignments, language: str, secret_source: str) -> None:
    """What the instructor should know beside the scores: which secret graded, hand grades to look at again,
    students whose hidden set a regrade under another secret changes, and how many answers wait for a hand grade."""
    from .messages import text
    from .nbgrader_autograde import CONFIG_LINES, configured
    from .nbgrader_bridge import pending_hand_grades

    print(text("run.secret", language, fingerprint=notes.secret, source=secret_source))
    for old in sorted({move[2] for move in notes.secret_moves}):
        moves = [move for move in notes.secret_moves if move[2] == old]
        print(text("run.secret_moves", language, count=len(moves), old=old, new=notes.secret), file=sys.stderr)
        for student, assignment, _, old_set, new_set in moves:
            print("  " + text("run.secret_move", language, student=student, assignment=assignment, old_set=old_set,
                              new_set=new_set), file=sys.stderr)
        print("  " + text("run.secret_hint", language), file=sys.stderr)
    for old in sorted({kept[2] for kept in notes.other_secret}):
        kept = [f"{student} ({assignment})" for student, assignment, fp in notes.other_secret if fp == old]
        print(text("run.other_secret", language, count=len(kept), old=old, students=", ".join(kept)),
              file=sys.stderr)
    if notes.review:
        print(text("run.review_title", language))
        for student, assignment, items in notes.review:
            shown = [text(f"run.{item['why']}", language, cell=item["cell"],
                          **{k: _num(item[k]) for k in ("manual", "before", "now") if k in item})
                     for item in items]
            print("  " + text("run.review_line", language, student=student, assignment=assignment,
                              items="; ".join(shown)))
    pending = pending_hand_grades(layout.db_url, assignments) if (layout.output / "gradebook.db").exists() else {}
    if pending:
        lines = [text("run.pending_assignment", language, assignment=a, answers=sum(len(c) for c in who.values()),
                      students=len(who)) for a, who in pending.items()]
        print(text("run.pending", language, lines="; ".join(lines)))
        print(text("run.formgrader", language, command=FORMGRADER_COMMAND))
    else:
        print(text("run.pending_none", language))
    if not configured(layout.course_root):
        print(text("run.autograde_config", language, config=layout.course_root / "nbgrader_config.py",
                   lines=" / ".join(CONFIG_LINES)), file=sys.stderr)


def _num(value):
    return "–" if value is None else f"{float(value):g}"


def cmd_grade(args) -> int:
    from .batch import RunNotes, find_submissions, grade_batch
    from .messages import text
    from .report import print_table
    from .secret import PublicSeedRefused

    layout = _layout(args)
    settings = load_settings(layout.course_root, language=args.language, sandboxes_at_once=args.at_once)
    secret_file = Path(args.secret).resolve() if args.secret else None
    if secret_file is None:
        _ensure_secret(layout.course_root, settings)
    # (loaded by grade_batch, after it started the first assignment's zygote: a broken one still stops the run)
    assignments = _available(args.assignments, layout.course_root, load=False)
    students = args.student or None
    if students:
        found = {student for a in assignments for student, _ in find_submissions(layout, a)}
        missing = [student for student in students if student not in found]
        if missing:
            raise SystemExit("xaigrade: " + text("run.no_such_student", settings.language, students=", ".join(missing),
                                                 assignments=", ".join(assignments), folder=layout.submissions))
    started = time.monotonic()
    notes = RunNotes()
    try:
        report = grade_batch(assignments, layout, settings, force=args.force, workers=args.workers, dask=args.dask,
                             progress_bar=True, students=students, secret_file=secret_file, notes=notes)
    except (FileNotFoundError, PublicSeedRefused, ExerciseError) as problem:
        raise SystemExit(f"xaigrade: {problem}") from None
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, ensure_ascii=False))
    print_table(report, language=settings.language)
    print(f"graded {len(notes.graded)} submission(s) in {time.monotonic() - started:.1f} s; gradebook: {layout.db_url}")
    print_run_notes(notes, layout, assignments, settings.language, str(secret_file or "course secret"))
    _after_grading(assignments, layout, settings, args.nbgrader_feedback, students)
    return 0


def _how(args, settings) -> str:
    if args.dask:
        return "on a Dask cluster"
    if args.workers > 1:
        return f"{args.workers} worker processes"
    return f"in this process, {max(1, settings.sandboxes_at_once)} sandbox(es) at once"


def cmd_demo(args) -> int:
    from .batch import Layout, grade_batch
    from .release import release_assignment
    from .report import print_table

    started = time.monotonic()
    # the course given or the one in the current directory when it has example submissions, else the
    # kit's own course (the one bundled with this package); said either way
    course = _course(args, required=args.course_dir is not None)
    if course is None or (args.course_dir is None and not (course / "examples" / "submissions").is_dir()):
        course = PROJECT_ROOT
    print(f"demo course: {course}")
    settings = load_settings(course, language=args.language, sandboxes_at_once=args.at_once)
    assignments = _available(args.assignments, course)
    _ensure_secret(course, settings)  # the demo's own secret, created on first use
    for name in assignments:
        release_assignment(name, course, course / "release", settings)
        print(f"released {name}")
    output = Path(args.output or course / "demo_output").resolve()
    if output.exists():
        shutil.rmtree(output)
    layout = Layout(course, course / "examples" / "submissions", output)
    graded_at = time.monotonic()
    report = grade_batch(assignments, layout, settings, force=True, workers=args.workers, dask=args.dask,
                         progress_bar=True)
    grading_seconds = time.monotonic() - graded_at
    (output / "report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False))
    print_table(report, details=True, language=settings.language)
    print(f"graded {sum(len(a) for a in report.values())} submissions in {grading_seconds:.1f} s "
          f"({_how(args, settings)})")
    _after_grading(assignments, layout, settings, nbgrader_feedback=True)
    print(f"demo finished in {time.monotonic() - started:.1f} s; gradebook, autograded notebooks, "
          f"feedback pages (feedback/<student>/<assignment>/xaigrade.html) and overview.html in {output}")
    return 0


def cmd_student_kit(args) -> int:
    """The wheel students install: the student side, the release notebooks, a README for students."""
    from .student_kit import build_student_kit

    wheel = build_student_kit(Path(args.folder), _course(args) / "release")
    print(f"student kit: {wheel} ({wheel.stat().st_size / 2**20:.1f} MiB); README for students: {wheel.parent / 'README.md'}")
    return 0


def cmd_export(args) -> int:
    from .exports import (load_states, pending_lines, write_checks_csv, write_feedback_zip, write_gradescope,
                          write_grades_csv, write_moodle)
    from .messages import text
    from .nbgrader_bridge import pending_hand_grades

    layout = _layout(args, course_needed=False)
    if not (layout.output / "gradebook.db").exists():
        raise SystemExit(f"no gradebook.db in {layout.output}: grade first (or give --output)")
    if not (args.csv or args.gradescope or args.moodle or args.moodle_zip):
        raise SystemExit("nothing to export: give --csv FILE, --gradescope DIR, --moodle FILE and/or --moodle-zip FILE")
    graded = sorted({a for per in load_states(layout.output).values() for a in per})
    assignments = args.assignments or graded
    # the CSV and Moodle exports carry totals from the gradebook: while answers wait for a hand grade they are not
    # final (Gradescope's results.json holds the autograded part only; each file counts what waits)
    pending = pending_hand_grades(layout.db_url, assignments)
    if pending and (args.csv or args.moodle or args.moodle_zip):
        for line in pending_lines(pending, args.language):
            print(f"! {line}", file=sys.stderr)
        if not args.allow_incomplete:
            raise SystemExit("xaigrade: " + text("export.incomplete_refused", args.language))
        print(f"! {text('export.incomplete_marked', args.language)}", file=sys.stderr)
    if args.csv:
        grades = write_grades_csv(layout.db_url, Path(args.csv), pending_hand_grades(layout.db_url))
        checks = write_checks_csv(load_states(layout.output), grades.with_name(f"{grades.stem}_checks.csv"))
        print(f"grades: {grades}\nmistakes per check: {checks}")
    if args.gradescope:
        written = write_gradescope(layout.output, Path(args.gradescope), args.language, args.assignments or None,
                                   pending)
        print(f"Gradescope: {len(written)} results.json in {args.gradescope}")
    moodle_language = args.moodle_language or args.language
    for option, writer in (("moodle", "worksheet"), ("moodle_zip", "zip")):
        if not getattr(args, option):
            continue
        for assignment in assignments:
            target = Path(getattr(args, option))
            if len(assignments) > 1:  # Moodle's worksheet and feedback upload belong to one assignment
                suffix = target.suffix or (".csv" if writer == "worksheet" else ".zip")
                target = target.with_name(f"{target.stem}_{assignment}{suffix}")
            release = _course(args, required=False)
            release_nb = (release / "release" / assignment / f"{assignment}.ipynb") if release else None
            if writer == "worksheet":
                path, skipped = write_moodle(layout.output, layout.db_url, assignment, target, moodle_language,
                                             release_nb)
                print(f"Moodle grading worksheet ({assignment}, {moodle_language}): {path}")
            else:
                path, placed, skipped = write_feedback_zip(layout.output, layout.db_url, assignment, target,
                                                           args.language)
                print(f"Moodle feedback files ({assignment}, {len(placed)} student(s)): {path}")
            for line in skipped:
                print(f"! {line}", file=sys.stderr)
    return 0


def cmd_feedback(args) -> int:
    """After hand grading: every page gets the gradebook's current total, hand points and comments, and nbgrader's
    feedback is made anew beside it (both then agree with the exports)."""
    from .checks import Exercise
    from .feedback import generate_nbgrader_feedback, refresh_feedback
    from .messages import text

    layout = _layout(args, course_needed=False)
    if not (layout.output / "gradebook.db").exists():
        raise SystemExit(f"no gradebook.db in {layout.output}: grade first (or give --output)")
    course = _course(args, required=False)
    graded = sorted({p.stem for p in (layout.output / ".xaigrade" / "graded").glob("*/*.json")})
    assignments = args.assignments or [a for a in graded if a in _registered()]
    for assignment in assignments:
        release_nb = (course / "release" / assignment / f"{assignment}.ipynb") if course else None
        renewed = refresh_feedback(layout.output, Exercise(assignment), release_nb, args.language, args.student or None)
        print(text("run.feedback_renewed", args.language, assignment=assignment, count=len(renewed)))
        if not args.no_nbgrader:
            for note in generate_nbgrader_feedback(layout.output, assignment, args.language,
                                                   args.student or None).values():
                print(note)
    return 0


def cmd_collect(args) -> int:
    from .collect import collect, read_mapping

    layout = _layout(args)
    _available([args.assignment], layout.course_root, load=False)  # (exits naming what is missing)
    release_nb = layout.release / args.assignment / f"{args.assignment}.ipynb"
    if not release_nb.exists():
        raise SystemExit(f"{release_nb} not found: run `xaigrade release {args.assignment}` first")
    from .nbgrader_bridge import register_assignment

    layout.output.mkdir(parents=True, exist_ok=True)
    register_assignment(args.assignment, layout.course_root / "source", layout.db_url)
    report = collect(args.assignment, Path(args.archive), layout.submissions, release_nb, layout.db_url,
                     read_mapping(Path(args.mapping)) if args.mapping else None, args.ids,
                     max_notebook_mb=load_settings(layout.course_root).max_notebook_mb, timezone=args.timezone)
    for line in report.lines(args.language):
        print(line)
    return 0 if not report.problems else 2


def cmd_overview(args) -> int:
    from .overview import print_overview, write_overview

    layout = _layout(args, course_needed=False)
    print_overview(layout.output, args.language)
    print(f"class overview: {write_overview(layout.output, language=args.language)}")
    return 0


def cmd_fairness(args) -> int:
    """Every correct alternative (reference_solutions/alternatives/) on the public cases and on the K hidden sets of
    this course's secret, and each check's tolerance against them and the known mistakes. Exit 1 if correct work
    loses a point anywhere."""
    from .fairness import fairness_report, format_report
    from .references import pin_threads
    from .secret import course_secret

    course = _course(args)
    settings = load_settings(course)
    _ensure_secret(course, settings)
    secret = course_secret(course, settings)
    pin_threads()
    unfair = 0
    for name in _available(args.assignments, course):
        report = fairness_report(load_exercise(name), secret, settings.hidden_sets, settings.public_seed,
                                 settings.cache_reference)
        print(format_report(report), flush=True)
        unfair += len(report.unfair)
    return 1 if unfair else 0


def cmd_similarity(args) -> int:
    """Similar submissions (issue 27): per assignment ``<output>/similarity/<a>.html`` and ``.csv`` of the pairs above
    the line, compared with the cohort, the reference solution, earlier cohorts and published solutions. Never a
    grade: nothing under ``feedback/``, nothing in an export."""
    from .messages import text
    from .similarity import SMALL_COHORT, Sources, document_label, similarity_report, student_names

    layout = _layout(args)
    settings = load_settings(layout.course_root)
    names = args.assignments or [a for a in _available(None, layout.course_root, load=False)
                                 if any(layout.submissions.glob(f"*/{a}"))]
    if not names:
        raise SystemExit(f"xaigrade: no submissions in {layout.submissions} (<student>/<assignment>/)")
    _available(names, layout.course_root, load=False)  # (exits naming an unknown one)
    for folder in [*(args.earlier or ()), *([args.published] if args.published else [])]:
        if not Path(folder).is_dir():
            raise SystemExit(f"xaigrade: {folder} is not a folder")
    sources = Sources(layout.course_root, layout.submissions, layout.output,
                      tuple(Path(f).resolve() for f in args.earlier or ()),
                      Path(args.published).resolve() if args.published else None, settings.max_notebook_mb)
    gradebook_names = student_names(layout.output)
    for assignment in names:
        release_nb = layout.course_root / "release" / assignment / f"{assignment}.ipynb"
        if not release_nb.exists():
            raise SystemExit(f"{release_nb} not found: run `xaigrade release {assignment}` first")
        started = time.monotonic()
        summary = similarity_report(assignment, sources, args.language, gradebook_names)
        print(text("similarity.cli_line", args.language, assignment=assignment, students=summary["students"],
                   pairs=summary["pairs"], above=summary["above"], clusters=summary["clusters"],
                   seconds=time.monotonic() - started, page=summary["page"]))
        if summary["students"] < SMALL_COHORT:  # the cohort cannot tell an unusual pair from a usual one
            print("  " + text("similarity.small_cohort", args.language, students=summary["students"],
                              minimum=SMALL_COHORT))
        for document, key, params in summary["problems"]:
            print(text("similarity.cli_problem", args.language,
                       who=document_label(document, args.language, gradebook_names),
                       problem=text(f"similarity.problem.{key}", args.language, **params)))
    print(text("similarity.cli_never_a_grade", args.language))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xaigrade", description=__doc__)
    parser.add_argument("--language", choices=("de", "en"), default=None, help="feedback language")
    sub = parser.add_subparsers(dest="command", required=True)

    release = sub.add_parser("release", help="nbgrader generate_assignment into release/ plus public check data")
    release.add_argument("assignments", nargs="*")
    release.add_argument("--course-dir", default=None, help=COURSE_DIR_HELP)
    release.add_argument("--no-prepare", action="store_true",
                         help="do not compute the hidden sets now (grading computes those it needs)")
    release.add_argument("--processes", type=int, default=None, metavar="N",
                         help="worker processes for the hidden sets (default: one per core)")
    release.set_defaults(func=cmd_release)

    prepare = sub.add_parser("prepare", help="compute the hidden case sets and their reference results now, "
                             "in parallel, so that grading only loads them")
    prepare.add_argument("assignments", nargs="*")
    prepare.add_argument("--course-dir", default=None, help=COURSE_DIR_HELP)
    prepare.add_argument("--processes", type=int, default=None, metavar="N",
                         help="worker processes, one thread each (default: one per core)")
    prepare.set_defaults(func=cmd_prepare)

    check = sub.add_parser("check", help="students: run your notebook against the public checks")
    check.add_argument("notebook", nargs="?")
    check.add_argument("--assignment", default=None)
    check.add_argument("--course-dir", default=None,
                       help="a course whose release/ has the public check data when it is not beside the notebook "
                       "(default: the current directory when it holds nbgrader_config.py)")
    check.add_argument("--no-daemon", action="store_true",
                       help="run the check in this process and keep no warm processes for the next check (they "
                       "end after 10 idle minutes)")
    check.add_argument("--stop-daemons", action="store_true",
                       help="stop the warm processes of earlier checks now (check servers and sandbox zygotes)")
    check.set_defaults(func=cmd_check)

    grade = sub.add_parser("grade", help="grade submitted/<student>/<assignment>/ into nbgrader's gradebook")
    grade.add_argument("assignments", nargs="*")
    grade.add_argument("--submissions", default=None, help="folder with <student>/<assignment>/ (default: submitted/)")
    grade.add_argument("--course-dir", default=None, help=COURSE_DIR_HELP)
    grade.add_argument("--output", default=None, help="where gradebook.db, autograded/ and feedback/ go")
    grade.add_argument("--json", default=None, help="write {student: {assignment: {check: ...}}} here")
    grade.add_argument("--force", action="store_true", help="regrade submissions already graded")
    grade.add_argument("--workers", type=int, default=1,
                       help="N worker processes, each grading one submission at a time (default 1: grade in this "
                       "process, with --at-once sandboxes at the same time)")
    grade.add_argument("--at-once", type=int, default=None, metavar="N",
                       help="without --workers: N submissions in their sandboxes at the same time "
                       "(default c.XaiGrade.sandboxes_at_once: 2 on 2 or more cores)")
    grade.add_argument("--dask", default=None, metavar="ADDRESS",
                       help="grade on an existing Dask cluster (scheduler address, e.g. tcp://host:8786)")
    grade.add_argument("--nbgrader-feedback", action="store_true",
                       help="also run nbgrader generate_feedback (its pages link ours)")
    grade.add_argument("--student", action="append", default=None, metavar="ID",
                       help="grade (again) only this student's submissions (nbgrader's option; repeatable)")
    grade.add_argument("--secret", default=None, metavar="FILE",
                       help="grade with this archived course secret (e.g. last semester's) instead of .xaigrade/secret")
    grade.set_defaults(func=cmd_grade)

    collect = sub.add_parser("collect", help="import Moodle's 'download all submissions' zip into submitted/")
    collect.add_argument("assignment")
    collect.add_argument("archive")
    collect.add_argument("--course-dir", default=None, help=COURSE_DIR_HELP)
    collect.add_argument("--submissions", default=None, help="target folder (default: submitted/)")
    collect.add_argument("--output", default=None, help="where gradebook.db is (default: the course directory)")
    collect.add_argument("--mapping", default=None,
                         help="CSV with student_id and participant (Moodle participant id) or name columns")
    collect.add_argument("--ids", choices=("participant", "name"), default="participant",
                         help="student ids without a mapping: p<participant id> or a slug of the full name")
    collect.add_argument("--timezone", default=None, metavar="ZONE",
                         help="time zone of the Moodle server, e.g. Europe/Berlin: the archive's dates are its local "
                         "time (default: this machine's)")
    collect.set_defaults(func=cmd_collect)

    export = sub.add_parser("export", help="grades CSV, per-mistake CSV, Gradescope results.json, Moodle worksheet")
    export.add_argument("assignments", nargs="*")
    export.add_argument("--course-dir", default=None, help=COURSE_DIR_HELP)
    export.add_argument("--output", default=None, help="where gradebook.db and .xaigrade/ are")
    export.add_argument("--csv", default=None, metavar="FILE", help="one row per student (+ FILE_checks.csv)")
    export.add_argument("--gradescope", default=None, metavar="DIR", help="DIR/<assignment>/<student>/results.json")
    export.add_argument("--moodle", default=None, metavar="FILE", help="Moodle grading worksheet to upload")
    export.add_argument("--moodle-zip", default=None, metavar="FILE",
                        help="zip for Moodle's 'Upload multiple feedback files in a zip' (each student's pages)")
    export.add_argument("--moodle-language", choices=("de", "en"), default=None,
                        help="language of the Moodle the worksheet goes to (default: --language, i.e. German)")
    export.add_argument("--allow-incomplete", action="store_true",
                        help="export although answers wait for a hand grade (totals marked as provisional)")
    export.set_defaults(func=cmd_export)

    fb = sub.add_parser("feedback", help="after hand grading: pages with hand points and comments, nbgrader's "
                        "feedback made anew")
    fb.add_argument("assignments", nargs="*")
    fb.add_argument("--course-dir", default=None, help=COURSE_DIR_HELP)
    fb.add_argument("--output", default=None, help="where gradebook.db, autograded/ and feedback/ are")
    fb.add_argument("--student", action="append", default=None, metavar="ID", help="only this student (repeatable)")
    fb.add_argument("--no-nbgrader", action="store_true", help="only our pages, not nbgrader's generate_feedback")
    fb.set_defaults(func=cmd_feedback)

    overview = sub.add_parser("overview", help="class overview: score distribution and most frequent mistakes")
    overview.add_argument("--course-dir", default=None, help=COURSE_DIR_HELP)
    overview.add_argument("--output", default=None)
    overview.set_defaults(func=cmd_overview)

    kit = sub.add_parser("student-kit", help="build the wheel students install (student side, release notebooks, README)")
    kit.add_argument("folder", nargs="?", default="dist/student-kit", help="where the wheel goes (default: %(default)s)")
    kit.add_argument("--course-dir", default=None, help=COURSE_DIR_HELP)
    kit.set_defaults(func=cmd_student_kit)

    fairness = sub.add_parser("fairness", help="correct alternatives on the public cases and every hidden set; "
                              "each check's tolerance against correct work and known mistakes")
    fairness.add_argument("assignments", nargs="*")
    fairness.add_argument("--course-dir", default=None, help=COURSE_DIR_HELP)
    fairness.set_defaults(func=cmd_fairness)

    similarity = sub.add_parser("similarity", help="similar submissions: similarity/<assignment>.html and .csv for "
                                "the instructor (never a grade, never shown to students)")
    similarity.add_argument("assignments", nargs="*")
    similarity.add_argument("--course-dir", default=None, help=COURSE_DIR_HELP)
    similarity.add_argument("--submissions", default=None, help="folder with <student>/<assignment>/ (default: "
                            "submitted/)")
    similarity.add_argument("--output", default=None, help="where gradebook.db is; the report goes to "
                            "OUTPUT/similarity/ (default: the course directory)")
    similarity.add_argument("--earlier", action="append", default=None, metavar="DIR",
                            help="an earlier cohort's submitted/ (<student>/<assignment>/; repeatable)")
    similarity.add_argument("--published", default=None, metavar="DIR",
                            help="published solutions: files named <assignment>.ipynb/.py/.md/.txt or inside a "
                            "folder <assignment>/")
    similarity.set_defaults(func=cmd_similarity)

    demo = sub.add_parser("demo", help="release everything and grade the example submissions")
    demo.add_argument("assignments", nargs="*")
    demo.add_argument("--course-dir", default=None,
                      help="default: the current directory when it is a course with examples/submissions/, "
                      "else the course bundled with xaigrade")
    demo.add_argument("--output", default=None, help="default: <course>/demo_output")
    demo.add_argument("--workers", type=int, default=1, help="N worker processes (default: grade in this process)")
    demo.add_argument("--at-once", type=int, default=None, metavar="N",
                      help="without --workers: N submissions in their sandboxes at the same time")
    demo.add_argument("--dask", default=None, metavar="ADDRESS", help="grade on an existing Dask cluster")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.language is None:
        args.language = load_settings(_course(args, required=False) or Path(os.getcwd())).language
    try:
        code = args.func(args)
    except KeyboardInterrupt:
        print("\nabgebrochen: was fertig bewertet ist, bleibt gespeichert; ein neuer Lauf bewertet den Rest. / "
              "stopped: finished grades are kept; run again to grade the rest.", file=sys.stderr)
        return 130
    if argv is None and args.func is cmd_grade:  # (a program, not a caller in this process: tests pass argv)
        from .batch import end_process

        end_process(code)  # without the 3 s teardown of torch/TensorFlow/transformers
    return code


if __name__ == "__main__":
    sys.exit(main())
