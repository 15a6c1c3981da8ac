"""Terminal tables of a grading report, headed in the report's language (``XaiGrade.language``)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .exercises import lecture_position
from .messages import text


def print_table(report: dict, details: bool = False, *, language: str, console: Console | None = None) -> None:
    """The points per student and assignment; with ``details`` each assignment's checks and notes too.
    ``language``: of the headings (the report's own texts are in it already)."""
    console = console or Console(width=160)
    summary = Table(title=text("report.summary", language))
    assignments = sorted({a for per_student in report.values() for a in per_student}, key=lecture_position)
    summary.add_column(text("report.student", language))
    for assignment in assignments:
        summary.add_column(assignment, justify="right")
    for student in sorted(report):
        cells = []
        for assignment in assignments:
            checks = {k: v for k, v in report[student].get(assignment, {}).items() if not k.startswith("_")}
            if not checks:
                cells.append("–")
                continue
            cells.append(f"{sum(c['score'] for c in checks.values()):g}/{sum(c['max_score'] for c in checks.values()):g}")
        summary.add_row(student, *cells)
    console.print(summary)
    if not details:
        return
    for assignment in assignments:
        table = Table(title=text("report.checks", language, assignment=assignment))
        table.add_column(text("report.student", language))
        table.add_column(text("report.check", language))
        table.add_column(text("report.points", language), justify="right")
        table.add_column(text("report.feedback", language), overflow="fold")
        for student in sorted(report):
            entry = report[student].get(assignment, {})
            for check_id, verdict in entry.items():
                if check_id.startswith("_"):
                    continue
                mark = "✔" if verdict["score"] >= verdict["max_score"] else "✘"
                message = "" if mark == "✔" else verdict["message"]
                table.add_row(student, check_id, f"{mark} {verdict['score']:g}/{verdict['max_score']:g}", escape(message))
            for note in entry.get("_notes", []):
                table.add_row(student, text("report.note", language), "", escape(note))
        console.print(table)
