"""Exports from nbgrader's gradebook (the source of truth for scores, manual ones included) and
our per-submission state files (``<output>/.xaigrade/graded/<student>/<assignment>.json``, the
per-check report): a grade CSV, a per-mistake CSV, Gradescope ``results.json`` files and
Moodle's grading worksheet."""

from __future__ import annotations

import csv
import json
import os
import re
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
    scores: dict  # assignment -> (score, max_score, auto_score) for submitted work (score: nbgrader's total, late
    #               penalty taken off, as every page and export shows it)
    submitted_at: dict = None  # assignment -> submission time (naive UTC, nbgrader's) or None


def gradebook_rows(db_url: str) -> tuple[list[str], list[StudentRow]]:
    """Assignments and one row per student from nbgrader's gradebook (manual scores included)."""
    from nbgrader.api import Gradebook, MissingEntry

    from .nbgrader_bridge import _venv_on_path

    with _venv_on_path(), Gradebook(db_url) as gradebook:
        assignments = sorted((a.name for a in gradebook.assignments),
                             key=lecture_position)
        rows = []
        for student in sorted(gradebook.students, key=lambda s: s.id):
            scores, times = {}, {}
            for assignment in assignments:
                try:
                    submission = gradebook.find_submission(assignment, student.id)
                except MissingEntry:
                    continue
                penalty = float(submission.late_submission_penalty or 0.0)
                scores[assignment] = (float(submission.score) - penalty, submission.max_score, submission.code_score)
                times[assignment] = submission.timestamp
            rows.append(StudentRow(student.id, student.first_name or "", student.last_name or "",
                                   student.email or "", student.lms_user_id or "", scores, times))
    return assignments, rows


# --- CSV -------------------------------------------------------------------------------------

def write_grades_csv(db_url: str, target: Path, pending: dict | None = None) -> Path:
    """One row per student, one column per assignment (gradebook score incl. manual points), total, and
    ``hand_grades_pending``: per assignment how many of the student's answers still wait for a hand grade
    (``pdp:2 gradcam:1``; empty when the row's total is complete). ``pending``: ``pending_hand_grades``."""
    from .nbgrader_bridge import pending_hand_grades

    assignments, rows = gradebook_rows(db_url)
    pending = pending_hand_grades(db_url) if pending is None else pending
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student_id", "last_name", "first_name", *assignments, "total", "max_total",
                         "hand_grades_pending"])
        for row in rows:
            cells = [_fmt(row.scores[a][0]) if a in row.scores else "" for a in assignments]
            total = sum(score for score, _, _ in row.scores.values())
            max_total = sum(max_score for _, max_score, _ in row.scores.values())
            waiting = " ".join(f"{a}:{len(pending[a][row.student])}" for a in assignments
                               if row.student in pending.get(a, {}))
            writer.writerow([as_text(row.student), as_text(row.last_name), as_text(row.first_name), *cells, _fmt(total),
                             _fmt(max_total), waiting])
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

def gradescope_results(state: dict, exercise=None, language: str = "de", pending: int = 0) -> dict:
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
    if pending:  # (Gradescope's results.json carries the autograded part; its own manual questions add the rest)
        notes.insert(0, text("export.gradescope_pending", language, count=pending))
    return {
        "score": float(sum(t["score"] for t in tests)),
        "execution_time": int(round(state.get("seconds", 0))),
        "output": "\n".join(notes),
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",  # the notebook's own output stays with the instructor
        "extra_data": {"max_score": float(sum(t["max_score"] for t in tests)), "hand_grades_pending": pending},
        "tests": tests,
    }


def write_gradescope(output: Path, directory: Path, language: str = "de", assignments=None,
                     pending: dict | None = None) -> list[Path]:
    """``DIR/<assignment>/<student>/results.json`` for every graded submission (``pending``: the hand grades that
    wait, ``pending_hand_grades``; counted in each file's ``extra_data`` and output)."""
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
            waiting = len((pending or {}).get(assignment, {}).get(student, []))
            target.write_text(json.dumps(gradescope_results(state, exercises[assignment], language, waiting),
                                         indent=1, ensure_ascii=False), encoding="utf-8")
            written.append(target)
    return written


# --- Moodle ----------------------------------------------------------------------------------

# Moodle's grading worksheet ("Offline grading worksheet", assignfeedback_offline) in the Moodle's own words. Its
# importer (mod/assign/feedback/offline/importgradeslib.php, ``init``) finds the columns by their headers in the
# importing user's language: get_string('recordid', 'assign'), get_string('gradenoun') (get_string('grade') before
# Moodle 4.1) and get_string('lastmodifiedgrade', 'assign'); a comments column by its editor field's description,
# get_string('pluginname', 'assignfeedback_comments'). It reads a participant's id as the Identifier minus the first
# strlen(get_string('hiddenuser', 'assign')) characters (``next``), and the worksheet Moodle writes
# (mod/assign/gradingtable.php, ``col_recordid``) is get_string('hiddenuser', 'assign') . <participant id>, without a
# space. The other headers and values are those of gradingtable.php's download columns. Every string below is from
# Moodle's language packs as distributed by AMOS (download.moodle.org/langpack, Moodle 4.5), read in the copy of
# github.com/projectestac/moodle-langpacks (commit 9f605206, "Updated langpacks on 2026.06.18"), files <lang>/<file>:
MOODLE_STRINGS = {
    "en": {
        "recordid": "Identifier",                     # en/assign.php $string['recordid']
        "hiddenuser": "Participant",                  # en/assign.php $string['hiddenuser']
        "fullname": "Full name",                      # en/moodle.php $string['fullname']
        "email": "Email address",                     # en/moodle.php $string['email']
        "status": "Status",                           # en/moodle.php $string['status']
        "gradenoun": "Grade",                         # en/moodle.php $string['gradenoun'] (= en/grades.php 'grade')
        "maxgrade": "Maximum grade",                  # en/assign.php $string['maxgrade']
        "gradecanbechanged": "Grade can be changed",  # en/assign.php $string['gradecanbechanged']
        "lastmodifiedsubmission": "Last modified (submission)",  # en/assign.php
        "lastmodifiedgrade": "Last modified (grade)",  # en/assign.php $string['lastmodifiedgrade']
        "feedbackcomments": "Feedback comments",      # en/assignfeedback_comments.php $string['pluginname']
        "submissionstatus_submitted": "Submitted for grading",  # en/assign.php
        "submissionstatus_": "No submission",         # en/assign.php $string['submissionstatus_']
        "yes": "Yes",                                 # en/moodle.php $string['yes']
        "decsep": ".",                                # en/langconfig.php $string['decsep']
    },
    "de": {
        "recordid": "ID",                             # de/assign.php $string['recordid']
        "hiddenuser": "Teilnehmer/in",                # de/assign.php $string['hiddenuser']
        "fullname": "Vollständiger Name",             # de/moodle.php $string['fullname']
        "email": "E-Mail-Adresse",                    # de/moodle.php $string['email']
        "status": "Status",                           # de/moodle.php $string['status']
        "gradenoun": "Bewertung",                     # de/moodle.php $string['gradenoun'] (= de/grades.php 'grade')
        "maxgrade": "Bestwertung",                    # de/assign.php $string['maxgrade']
        "gradecanbechanged": "Bewertung kann geändert werden",  # de/assign.php $string['gradecanbechanged']
        "lastmodifiedsubmission": "Zuletzt geändert (Abgabe)",  # de/assign.php
        "lastmodifiedgrade": "Zuletzt geändert (Bewertung)",    # de/assign.php $string['lastmodifiedgrade']
        "feedbackcomments": "Feedback als Kommentar",  # de/assignfeedback_comments.php $string['pluginname']
        "submissionstatus_submitted": "Zur Bewertung abgegeben",  # de/assign.php
        "submissionstatus_": "Keine Abgabe",          # de/assign.php $string['submissionstatus_']
        "yes": "Ja",                                  # de/moodle.php $string['yes']
        "decsep": ",",                                # de/langconfig.php $string['decsep']
    },
}
MOODLE_COLUMN_KEYS = ["recordid", "fullname", "email", "status", "gradenoun", "maxgrade", "gradecanbechanged",
                      "lastmodifiedsubmission", "lastmodifiedgrade", "feedbackcomments"]


def moodle_columns(language: str = "de") -> list[str]:
    strings = MOODLE_STRINGS[language]
    return [strings[key] for key in MOODLE_COLUMN_KEYS]


MOODLE_COLUMNS = moodle_columns("en")  # (the English Moodle's, as before)

# Day and month names as PHP's de_DE / en locale prints them in Moodle's userdate (strftimedaydatetime).
_DAYS = {"de": ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"],
         "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]}
_MONTHS = {"de": ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
                  "November", "Dezember"],
           "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                  "November", "December"]}


def moodle_time(seconds: float | None = None, language: str = "en") -> str:
    """A time as Moodle's userdate writes it in the worksheet: langconfig's strftimedaydatetime, de
    '%A, %d. %B %Y, %H:%M', en '%A, %d %B %Y, %I:%M %p', the day without a leading zero (userdate's fixday)
    and, in English, the hour too (fixhour); local time."""
    moment = time.localtime(seconds)
    day, month = _DAYS[language][moment.tm_wday], _MONTHS[language][moment.tm_mon - 1]
    if language == "de":
        return f"{day}, {moment.tm_mday}. {month} {moment.tm_year}, {moment.tm_hour:02d}:{moment.tm_min:02d}"
    return f"{day}, {moment.tm_mday} {month} {moment.tm_year}, " + time.strftime("%I:%M %p", moment).lstrip("0")


def moodle_grade_modified(seconds: float | None = None) -> str:
    """The "Last modified (grade)" value: ISO 8601 with the UTC offset. Moodle's importer reads this column with
    PHP's strtotime (importgradeslib.php ``next``) and skips a row whose grade in Moodle is newer
    (offline/locallib.php ``process_import_grades``); strtotime reads ISO 8601 in every language, but not the
    German date Moodle itself writes ("Dienstag, 25. November 2025, 09:30" gives false, i.e. 1970, and the row
    would be skipped whenever Moodle already holds a grade)."""
    moment = time.localtime(seconds)
    return time.strftime("%Y-%m-%dT%H:%M:%S", moment) + time.strftime("%z", moment)[:3] + ":" + \
        time.strftime("%z", moment)[3:]


def moodle_number(value: float, language: str) -> str:
    """A grade as Moodle writes it (two decimals, the language's decimal separator, langconfig 'decsep'); its
    importer reads it back with unformat_float, which takes that separator."""
    return f"{value:.2f}".replace(".", MOODLE_STRINGS[language]["decsep"])


def parse_moodle_number(value: str, language: str) -> float:
    return float(value.replace(MOODLE_STRINGS[language]["decsep"], "."))


class IncompleteGrades(Exception):
    """Answers still wait for a hand grade: the export would carry totals that are not final."""

    def __init__(self, pending: dict):
        super().__init__(pending)
        self.pending = pending


def pending_lines(pending: dict, language: str, key: str = "export.incomplete") -> list[str]:
    """One line per assignment: how many answers of how many students wait for a hand grade, and whose."""
    lines = []
    for assignment, students in sorted(pending.items(), key=lambda item: lecture_position(item[0])):
        who = ", ".join(f"{student} ({', '.join(cells)})" for student, cells in sorted(students.items()))
        lines.append(text(key, language, assignment=assignment, answers=sum(len(c) for c in students.values()),
                          students=len(students), who=who))
    return lines


def write_moodle(output: Path, db_url: str, assignment: str, target: Path, language: str = "de",
                 release_notebook: Path | None = None) -> tuple[Path, list[str]]:
    """Moodle's grading worksheet for one assignment ("Upload grading worksheet"), headers and values in the
    Moodle's language (``MOODLE_STRINGS``, from Moodle's language packs; German by default, as this course's Moodle).

    "Identifier" is hiddenuser + the participant id of Moodle's submission archive, kept in the gradebook's
    ``lms_user_id`` by ``xaigrade collect``. Grades are the gradebook totals (manual scores included, a late
    penalty taken off); the Moodle assignment's maximum grade should equal the nbgrader maximum. "Feedback
    comments" holds the total with its parts, the failed checks' messages and the instructor's hand comments;
    a total that still waits for hand grades says so in its first line (``xaigrade export --allow-incomplete``).
    """
    from .nbgrader_bridge import hand_grades, pending_hand_grades

    _, rows = gradebook_rows(db_url)
    states = load_states(output)
    waiting = pending_hand_grades(db_url, [assignment]).get(assignment, {})
    release = _release(release_notebook)
    strings = MOODLE_STRINGS[language]
    skipped = []
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    now = moodle_grade_modified()
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(moodle_columns(language))
        for row in rows:
            if assignment not in row.scores:
                continue
            if not row.lms_user_id:
                skipped.append(text("export.no_participant", language, student=row.student))
                continue
            score, max_score, _ = row.scores[assignment]
            state = states.get(row.student, {}).get(assignment)
            hand = hand_grades(db_url, assignment, row.student)
            submitted = row.submitted_at.get(assignment) if row.submitted_at else None
            writer.writerow([as_text(f"{strings['hiddenuser']}{row.lms_user_id}"),
                             as_text(f"{row.first_name} {row.last_name}".strip() or row.student), as_text(row.email),
                             strings["submissionstatus_submitted"], moodle_number(score, language),
                             moodle_number(max_score, language), strings["yes"],
                             moodle_time(_epoch(submitted), language) if submitted else "-", now,
                             as_text(moodle_comment(assignment, score, max_score, state, hand, release, language,
                                                    len(waiting.get(row.student, []))))])
    return target, skipped


def _epoch(naive_utc) -> float:
    import calendar

    return calendar.timegm(naive_utc.timetuple()) + naive_utc.microsecond / 1e6


def _release(path: Path | None):
    if path is None:
        return None
    import nbformat

    try:
        return nbformat.read(str(path), as_version=4)
    except (OSError, ValueError):
        return None


def moodle_comment(assignment, score, max_score, state, hand, release, language, pending: int = 0) -> str:
    """The "Feedback comments" cell: Moodle shows it as HTML (the editor field's text), so each line is an escaped
    paragraph: a provisional mark while hand grades wait, the total with its automatic part, the failed checks'
    messages, each hand-graded answer with its points and the instructor's comment, comments on code, the page."""
    import html

    from .feedback import question_title, shown_number, split_points

    _fmt = lambda value: shown_number(value, language)  # noqa: E731,N806 - numbers as the language writes them
    checks = checks_of(state["report"]) if state else {}
    auto = sum(v["score"] for v in checks.values())
    auto_max = sum(v["max_score"] for v in checks.values())
    tasks = {v.get("task") for v in checks.values()}
    if hand is not None:
        parts = split_points(hand, tasks)
        auto, auto_max = parts["auto"], parts["auto_max"]
    lines = []
    if pending:
        lines.append(text("export.provisional", language, count=pending))
    lines.append(text("export.moodle_summary", language, assignment=assignment, score=_fmt(score),
                      max_score=_fmt(max_score), auto=_fmt(auto), auto_max=_fmt(auto_max)))
    failed = [(check_id, v) for check_id, v in checks.items() if v["score"] < v["max_score"]]
    lines += [f"✘ {check_id}: {v['message']}" for check_id, v in failed]
    if checks and not failed:
        lines.append(text("export.moodle_all_passed", language))
    if hand is not None:
        for name, grade in hand["grades"].items():
            if name in tasks:
                if grade["manual"] is not None:
                    lines.append(text("export.moodle_override", language, cell=name, score=_fmt(grade["score"]),
                                      max_score=_fmt(grade["max"])))
                continue
            comment = (hand["comments"].get(name) or {})
            said = comment.get("manual") or comment.get("auto") or ""
            points = text("export.moodle_hand_pending", language) if grade["pending"] else \
                text("export.moodle_points", language, score=_fmt(grade["score"]), max_score=_fmt(grade["max"]))
            lines.append(f"{question_title(release, name, language)}: {points}" + (f" – {said}" if said else ""))
        for name, comment in hand["comments"].items():
            if name not in hand["grades"] and comment.get("manual"):
                lines.append(f"{name}: {comment['manual']}")
        if hand.get("penalty"):
            lines.append(text("page.total_penalty", language, points=_fmt(hand["penalty"])))
    lines.append(text("export.moodle_page", language))
    return "".join(f"<p>{html.escape(line)}</p>" for line in lines)


def moodle_folder(full_name: str, participant: str, plugin: str = "assignfeedback_file") -> str:
    """A student's folder in an upload zip, as Moodle names it in its download (mod/assign/locallib.php,
    ``download_submissions``: str_replace('_', ' ', fullname) . '_' . participant id . '_' . plugin type . '_' .
    plugin name . '_', then clean_filename). The importer (mod/assign/feedback/file/importziplib.php,
    ``is_valid_filename_for_import``) splits each path part at '_' (at most 5 pieces) and needs piece 2 to be the
    participant id and pieces 3-4 a plugin of the assignment: so no '_' may stay in the name, and characters
    clean_filename removes are left out here too."""
    name = re.sub(r'[\x00-\x1f\x7f<>:"/\\|?*]', "", full_name.replace("_", " ")).strip() or "Participant"
    return f"{name}_{participant}_{plugin}_"


def write_feedback_zip(output: Path, db_url: str, assignment: str, target: Path,
                       language: str = "de") -> tuple[Path, list[str], list[str]]:
    """The zip for Moodle's "Upload multiple feedback files in a zip" (Feedback files must be enabled in the
    assignment): per student with a participant id ``<Full name>_<participant id>_assignfeedback_file_/`` holding the
    feedback page ``xaigrade.html`` (self-contained, pictures embedded) and nbgrader's page of the graded notebook
    when there is one. Moodle stores each file as the student's feedback file. Returns the zip, the students
    put in, and lines for the students left out."""
    import zipfile

    from .feedback import PAGE_NAME
    from .safe_outputs import RefusedFile, open_regular

    _, rows = gradebook_rows(db_url)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    placed, skipped = [], []
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for row in rows:
            if assignment not in row.scores:
                continue
            if not row.lms_user_id:
                skipped.append(text("export.no_participant", language, student=row.student))
                continue
            folder = moodle_folder(f"{row.first_name} {row.last_name}".strip() or row.student, row.lms_user_id)
            pages = Path(output) / "feedback" / row.student / assignment
            files = [PAGE_NAME] + sorted(p.name for p in pages.glob("*.html") if p.name != PAGE_NAME)
            wrote = False
            for name in files:
                try:
                    fd = open_regular(pages / name)
                except RefusedFile:
                    continue
                with os.fdopen(fd, "rb") as handle:
                    archive.writestr(f"{folder}/{name}", handle.read())
                wrote = True
            if wrote:
                placed.append(row.student)
            else:
                skipped.append(text("export.no_page", language, student=row.student, page=str(pages / PAGE_NAME)))
    return target, placed, skipped
