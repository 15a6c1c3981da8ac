"""Class overview after grading: score distribution per assignment and the most frequent mistakes,
as a terminal table and as one HTML page with embedded plots."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from .exports import checks_of, load_states, mistake_counts
from .figures import new_figure, png
from .messages import text
from .safe_outputs import CSP_META

def summarize(states: dict) -> dict:
    """Per assignment: totals per student, max score, and the pass rate of each check."""
    summary: dict = {}
    for student, per_assignment in states.items():
        for assignment, state in per_assignment.items():
            checks = checks_of(state["report"])
            entry = summary.setdefault(assignment, {"scores": {}, "max_score": 0.0, "checks": {}})
            entry["scores"][student] = sum(v["score"] for v in checks.values())
            entry["max_score"] = max(entry["max_score"], sum(v["max_score"] for v in checks.values()))
            for check_id, verdict in checks.items():
                passed, total = entry["checks"].get(check_id, (0, 0))
                entry["checks"][check_id] = (passed + (verdict["score"] >= verdict["max_score"]), total + 1)
    return dict(sorted(summary.items()))


def _pending(output: Path) -> dict:
    """``pending_hand_grades`` of the gradebook beside the state files ({} without one)."""
    database = Path(output) / "gradebook.db"
    if not database.exists():
        return {}
    from .nbgrader_bridge import pending_hand_grades

    return pending_hand_grades(f"sqlite:///{database.resolve()}")


def _waiting(pending: dict, assignment: str) -> str:
    students = pending.get(assignment, {})
    return f"{sum(len(c) for c in students.values())} ({len(students)})" if students else "0"


def print_overview(output: Path, language: str = "de", top: int = 10, console=None) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console(width=160)
    states = load_states(output)
    summary = summarize(states)
    if not summary:
        console.print(text("overview.none", language))
        return
    pending = _pending(output)
    table = Table(title=text("overview.scores", language))
    for key in ("assignment", "submissions", "mean", "median", "full_marks", "hand_pending"):
        table.add_column(text(f"overview.{key}", language), justify="left" if key == "assignment" else "right")
    table.add_column(text("overview.points", language))
    for assignment, entry in summary.items():
        scores = sorted(entry["scores"].values())
        histogram = _histogram(scores, entry["max_score"])
        table.add_row(assignment, str(len(scores)), f"{sum(scores) / len(scores):.1f}/{entry['max_score']:g}",
                      f"{_median(scores):g}", str(sum(s >= entry["max_score"] for s in scores)),
                      _waiting(pending, assignment),
                      " ".join(f"{points:g}:{'█' * count}" for points, count in histogram if count))
    console.print(table)
    mistakes = [row for row in mistake_counts(states) if not row["passed"]][:top]
    table = Table(title=text("overview.mistakes", language))
    for key in ("assignment", "check", "message_key", "students", "example"):
        table.add_column(text(f"overview.{key}", language), overflow="fold",
                         justify="right" if key == "students" else "left")
    for row in mistakes:
        table.add_row(row["assignment"], row["check"], row["message_key"], f"{row['count']} ({row['share']:.0%})",
                      escape(row["example_message"][:140]))
    console.print(table if mistakes else text("overview.no_mistakes", language))


def _median(values):
    values = sorted(values)
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def _histogram(scores, max_score):
    """(points, students) for every score 0, 1, ... max (scores here are whole or half points)."""
    steps = sorted({float(s) for s in scores} | {float(p) for p in range(int(max_score) + 1)})
    return [(points, sum(1 for s in scores if s == points)) for points in steps]


def _plots(summary: dict, language: str) -> list[tuple[str, bytes]]:
    pictures = []
    for assignment, entry in summary.items():
        scores = list(entry["scores"].values())
        figure = new_figure(9.0, 3.2)
        left, right = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
        points, counts = zip(*_histogram(scores, entry["max_score"]))
        left.bar(points, counts, width=0.4, color="#2a7")
        left.set_xlabel(text("overview.points", language))
        left.set_ylabel(text("overview.count", language))
        left.set_title(f"{assignment}: {text('overview.scores', language)}", fontsize=9)
        left.yaxis.get_major_locator().set_params(integer=True)
        names = list(entry["checks"])
        rates = [entry["checks"][n][0] / entry["checks"][n][1] for n in names]
        right.barh(range(len(names)), rates, color=["#2a7" if r == 1 else "#c55" for r in rates])
        right.set_yticks(range(len(names)), names, fontsize=7)
        right.set_xlim(0, 1)
        right.invert_yaxis()
        right.set_title(text("overview.pass_rate", language), fontsize=9)
        pictures.append((assignment, png(figure)))
    return pictures


def write_overview(output: Path, target: Path | None = None, language: str = "de", top: int = 15) -> Path:
    esc = html.escape
    states = load_states(output)
    summary = summarize(states)
    pending = _pending(output)
    target = Path(target or Path(output) / "overview.html")
    body = []
    if not summary:
        body.append(f"<p>{esc(text('overview.none', language))}</p>")
    else:
        rows = "".join(
            f"<tr><td>{esc(a)}</td><td>{len(e['scores'])}</td>"
            f"<td>{sum(e['scores'].values()) / len(e['scores']):.1f} / {e['max_score']:g}</td>"
            f"<td>{_median(list(e['scores'].values())):g}</td>"
            f"<td>{sum(s >= e['max_score'] for s in e['scores'].values())}</td>"
            f"<td class='hand-pending' data-answers='{sum(len(c) for c in pending.get(a, {}).values())}'>"
            f"{esc(_waiting(pending, a))}</td></tr>" for a, e in summary.items())
        heads = "".join(f"<th>{esc(text('overview.' + k, language))}</th>" for k in ("assignment", "submissions", "mean", "median",
                                                                       "full_marks", "hand_pending"))
        body.append(f"<h2>{esc(text('overview.scores', language))}</h2><table class='scores'><tr>{heads}</tr>{rows}</table>")
        for assignment, data in _plots(summary, language):
            encoded = base64.b64encode(data).decode("ascii")
            body.append(f"<figure data-assignment='{esc(assignment)}'><img src='data:image/png;base64,{encoded}' "
                        f"alt='{esc(assignment)}'><figcaption>{esc(assignment)}</figcaption></figure>")
        mistakes = [row for row in mistake_counts(states) if not row["passed"]][:top]
        heads = "".join(f"<th>{esc(text('overview.' + k, language))}</th>" for k in ("assignment", "check", "message_key",
                                                                       "students", "example"))
        rows = "".join(
            f"<tr data-key='{esc(r['message_key'])}'><td>{esc(r['assignment'])}</td><td><code>{esc(r['check'])}</code></td>"
            f"<td>{esc(r['message_key'])}</td><td>{r['count']} ({r['share']:.0%})</td>"
            f"<td>{esc(r['example_message'])}</td></tr>" for r in mistakes)
        body.append(f"<h2>{esc(text('overview.mistakes', language))}</h2>" +
                    (f"<table class='mistakes'><tr>{heads}</tr>{rows}</table>" if mistakes
                     else f"<p>{esc(text('overview.no_mistakes', language))}</p>"))
    page = f"""<!DOCTYPE html>
<html lang="{language}"><head><meta charset="utf-8">{CSP_META}<title>{esc(text('overview.title', language))}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:70em;margin:2em auto;padding:0 1em}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border-bottom:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}}
figure{{margin:1em 0}}img{{max-width:100%}}</style></head>
<body><h1>{esc(text('overview.title', language))}</h1>{''.join(body)}</body></html>
"""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page, encoding="utf-8")
    return target
