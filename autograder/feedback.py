"""Feedback pages: one self-contained HTML file per student and assignment."""

from __future__ import annotations

import html
from pathlib import Path


def write_feedback_page(result, exercise, target: Path, language: str = "de") -> Path:
    titles = {c.id: c.title.get(language, c.title["de"]) for c in exercise.checks}
    rows = []
    for verdict in result.verdicts:
        status = "✔" if verdict.passed else "✘"
        rows.append(
            f"<tr class='{'pass' if verdict.passed else 'fail'}' data-check='{html.escape(verdict.check_id)}'>"
            f"<td>{status}</td><td>{html.escape(titles.get(verdict.check_id, verdict.check_id))}</td>"
            f"<td>{verdict.score:g} / {verdict.max_score:g}</td><td>{html.escape(verdict.message)}</td></tr>")
    notes = "".join(f"<li>{html.escape(note)}</li>" for note in result.notes)
    page = f"""<!DOCTYPE html>
<html lang="{language}"><head><meta charset="utf-8"><title>{html.escape(result.assignment)} – {html.escape(result.student)}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}td{{padding:.3em .6em;vertical-align:top}}
tr.pass td:first-child{{color:#080}}tr.fail td:first-child{{color:#b00}}</style></head>
<body><h1>{html.escape(result.assignment)}: {result.score:g} / {result.max_score:g}</h1>
<p>{html.escape(result.student)}</p>{f'<ul class="notes">{notes}</ul>' if notes else ''}
<table><thead><tr><th></th><th>Prüfung</th><th>Punkte</th><th>Rückmeldung</th></tr></thead>
<tbody>{''.join(rows)}</tbody></table></body></html>
"""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page, encoding="utf-8")
    return target
