"""Terminal tables of a grading report."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table


def print_table(report: dict, details: bool = False) -> None:
    console = Console(width=160)
    summary = Table(title="Punkte je Student und Aufgabe")
    assignments = sorted({a for per_student in report.values() for a in per_student})
    summary.add_column("Student")
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
        table = Table(title=f"{assignment}: Prüfungen")
        table.add_column("Student")
        table.add_column("Prüfung")
        table.add_column("Punkte", justify="right")
        table.add_column("Rückmeldung", overflow="fold")
        for student in sorted(report):
            entry = report[student].get(assignment, {})
            for check_id, verdict in entry.items():
                if check_id.startswith("_"):
                    continue
                mark = "✔" if verdict["score"] >= verdict["max_score"] else "✘"
                message = "" if mark == "✔" else verdict["message"]
                table.add_row(student, check_id, f"{mark} {verdict['score']:g}/{verdict['max_score']:g}", escape(message))
            for note in entry.get("_notes", []):
                table.add_row(student, "(Hinweis)", "", escape(note))
        console.print(table)
