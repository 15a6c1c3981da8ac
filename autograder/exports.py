"""Exports from nbgrader's gradebook (the source of truth for scores, manual ones included) and
our per-submission state files (``<output>/.xaigrade/graded/<student>/<assignment>.json``, the
per-check report): a grade CSV, a per-mistake CSV, Gradescope ``results.json`` files and
Moodle's grading worksheet."""

from __future__ import annotations

import csv
import json
import time
from dataclasses import dataclass
from pathlib import Path

from .exercises import lecture_position
from .messages import text


def _fmt(value: float) -> str:
    return f"{value:g}"


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def as_text(value) -> str:
    """A text cell no spreadsheet reads as a formula (CSV injection, OWASP's rule): text that starts with
    ``= + - @``, a tab or a carriage return gets a single quote before it. For every cell whose text may come
    from a student (ids, names, e-mail addresses, messages); numbers the grader formats are left as they are."""
    value = "" if value is None else str(value)
    return "'" + value if value.startswith(FORMULA_START) else value


# --- reading ---------------------------------------------------------------------------------

def load_states(output: Path) -> dict:
    """``{student: {assignment: state}}`` from the state files the grader writes after each submission."""
    states: dict = {}
    root = Path(output) / ".xaigrade" / "graded"
    for path in sorted(root.glob("*/*.json")):
        try:
            states.setdefault(path.parent.name, {})[path.stem] = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue  # a half-written file cannot exist (atomic replace); anything else is not ours
    return states


def checks_of(report: dict) -> dict:
    return {key: value for key, value in report.items() if not key.startswith("_")}


@dataclass
class StudentRow:
    student: str
    first_name: str
    last_name: str
    email: str
    lms_user_id: str
    scores: dict  # assignment -> (score, max_score, auto_score) for submitted work


def gradebook_rows(db_url: str) -> tuple[list[str], list[StudentRow]]:
    """Assignments and one row per student from nbgrader's gradebook (manual scores included)."""
    from nbgrader.api import Gradebook, MissingEntry

    from .nbgrader_bridge import _venv_on_path

    with _venv_on_path(), Gradebook(db_url) as gradebook:
        assignments = sorted((a.name for a in gradebook.assignments),
                             key=lecture_position)
        rows = []
        for student in sorted(gradebook.students, key=lambda s: s.id):
            scores = {}
            for assignment in assignments:
                try:
                    submission = gradebook.find_submission(assignment, student.id)
                except MissingEntry:
                    continue
                scores[assignment] = (submission.score, submission.max_score, submission.code_score)
            rows.append(StudentRow(student.id, student.first_name or "", student.last_name or "",
                                   student.email or "", student.lms_user_id or "", scores))
    return assignments, rows


# --- CSV -------------------------------------------------------------------------------------

def write_grades_csv(db_url: str, target: Path) -> Path:
    """One row per student, one column per assignment (gradebook score incl. manual points), total."""
    assignments, rows = gradebook_rows(db_url)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student_id", "last_name", "first_name", *assignments, "total", "max_total"])
        for row in rows:
            cells = [_fmt(row.scores[a][0]) if a in row.scores else "" for a in assignments]
            total = sum(score for score, _, _ in row.scores.values())
            max_total = sum(max_score for _, max_score, _ in row.scores.values())
            writer.writerow([as_text(row.student), as_text(row.last_name), as_text(row.first_name), *cells, _fmt(total),
                             _fmt(max_total)])
    return target


def mistake_counts(states: dict) -> list[dict]:
    """How many students got each (assignment, check, message key); most frequent first."""
    counts: dict = {}
    graded: dict = {}
    for student, per_assignment in states.items():
        for assignment, state in per_assignment.items():
            graded[assignment] = graded.get(assignment, 0) + 1
            for check_id, verdict in checks_of(state["report"]).items():
                key = (assignment, check_id, verdict["message_key"])
                entry = counts.setdefault(key, {"assignment": assignment, "check": check_id,
                                                "task": verdict.get("task", ""), "message_key": verdict["message_key"],
                                                "passed": verdict["score"] >= verdict["max_score"],
                                                "students": [], "example_message": verdict["message"]})
                entry["students"].append(student)
    rows = []
    for entry in counts.values():
        entry["count"] = len(entry["students"])
        entry["share"] = entry["count"] / graded[entry["assignment"]]
        rows.append(entry)
    return sorted(rows, key=lambda r: (r["passed"], -r["count"], r["assignment"], r["check"], r["message_key"]))


def write_checks_csv(states: dict, target: Path) -> Path:
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["assignment", "check", "task", "message_key", "passed", "students", "share",
                         "student_ids", "example_message"])
        for row in mistake_counts(states):
            writer.writerow([as_text(row["assignment"]), as_text(row["check"]), as_text(row["task"]),
                             as_text(row["message_key"]), "yes" if row["passed"] else "no", row["count"],
                             f"{row['share']:.3f}", as_text(" ".join(sorted(row["students"]))),
                             as_text(row["example_message"])])
    return target


# --- Gradescope ------------------------------------------------------------------------------

def gradescope_results(state: dict, exercise=None, language: str = "de") -> dict:
    """Gradescope's autograder ``results.json`` for one submission (fields as in Gradescope's
    autograder specification: top-level score/execution_time/output/visibility/stdout_visibility,
    tests with score/max_score/status/name/number/output/tags/visibility)."""
    titles = {c.id: c.title_for(language) for c in exercise.checks} if exercise else {}
    tests = []
    for number, (check_id, verdict) in enumerate(checks_of(state["report"]).items(), start=1):
        passed = verdict["score"] >= verdict["max_score"]
        tests.append({
            "score": float(verdict["score"]),
            "max_score": float(verdict["max_score"]),
            "status": "passed" if passed else "failed",
            "name": f"{titles.get(check_id, check_id)} ({check_id})",
            "number": str(number),
            "output": verdict["message"],
            "output_format": "text",
            "tags": [verdict.get("task", "")] if verdict.get("task") else [],
            "visibility": "visible",
        })
    notes = list(state["report"].get("_notes", []))
    return {
        "score": float(sum(t["score"] for t in tests)),
        "execution_time": int(round(state.get("seconds", 0))),
        "output": "\n".join(notes),
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",  # the notebook's own output stays with the instructor
        "extra_data": {"max_score": float(sum(t["max_score"] for t in tests))},
        "tests": tests,
    }


def write_gradescope(output: Path, directory: Path, language: str = "de", assignments=None) -> list[Path]:
    """``DIR/<assignment>/<student>/results.json`` for every graded submission."""
    from .checks import Exercise
    from .exercises import assignments as registered  # (the parameter ``assignments`` hides the module's name)

    written = []
    exercises: dict = {}
    for student, per_assignment in load_states(output).items():
        for assignment, state in per_assignment.items():
            if assignments and assignment not in assignments:
                continue
            if assignment not in exercises:
                exercises[assignment] = Exercise(assignment) if assignment in registered() else None
            target = Path(directory) / assignment / student / "results.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(gradescope_results(state, exercises[assignment], language),
                                         indent=1, ensure_ascii=False), encoding="utf-8")
            written.append(target)
    return written


# --- Moodle ----------------------------------------------------------------------------------

MOODLE_COLUMNS = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                  "Grade can be changed", "Last modified (submission)", "Last modified (grade)", "Feedback comments"]


def moodle_time(seconds: float | None = None) -> str:
    """Moodle's worksheet date format (strftimedatetime in English), e.g. 'Tuesday, 25 November 2025, 9:30 AM'."""
    moment = time.localtime(seconds)
    return time.strftime("%A, %d %B %Y, ", moment) + time.strftime("%I:%M %p", moment).lstrip("0")


def write_moodle(output: Path, db_url: str, assignment: str, target: Path, language: str = "de") -> tuple[Path, list[str]]:
    """Moodle's grading worksheet for one assignment (upload via "Upload grading worksheet").

    "Identifier" is "Participant <id>", the participant id of Moodle's submission archive, kept in the
    gradebook's ``lms_user_id`` by ``xaigrade collect``. Grades are the gradebook totals (manual scores
    included); the Moodle assignment's maximum grade should equal the nbgrader maximum.
    """
    _, rows = gradebook_rows(db_url)
    states = load_states(output)
    skipped = []
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    now = moodle_time()
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(MOODLE_COLUMNS)
        for row in rows:
            if assignment not in row.scores:
                continue
            if not row.lms_user_id:
                skipped.append(text("export.no_participant", language, student=row.student))
                continue
            score, max_score, _ = row.scores[assignment]
            state = states.get(row.student, {}).get(assignment)
            writer.writerow([as_text(f"Participant {row.lms_user_id}"),
                             as_text(f"{row.first_name} {row.last_name}".strip() or row.student), as_text(row.email),
                             text("export.status_submitted", language), f"{score:.2f}", f"{max_score:.2f}",
                             text("export.yes", language), "-", now,
                             as_text(_moodle_comment(assignment, score, max_score, state, language))])
    return target, skipped


def _moodle_comment(assignment, score, max_score, state, language) -> str:
    checks = checks_of(state["report"]) if state else {}
    auto = sum(v["score"] for v in checks.values())
    auto_max = sum(v["max_score"] for v in checks.values())
    lines = [text("export.moodle_summary", language, assignment=assignment, score=_fmt(score), max_score=_fmt(max_score),
                  auto=_fmt(auto), auto_max=_fmt(auto_max))]
    failed = [(check_id, v) for check_id, v in checks.items() if v["score"] < v["max_score"]]
    lines += [f"✘ {check_id}: {v['message']}" for check_id, v in failed]
    if checks and not failed:
        lines.append(text("export.moodle_all_passed", language))
    lines.append(text("export.moodle_page", language))
    return "\n".join(lines)
