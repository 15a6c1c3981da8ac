"""Feedback pages: one self-contained HTML file per student and assignment (pictures as base64 PNG).

Pictures come from an optional hook of the exercise's checks module::

    def figures(case, student_result, expected_result, language) -> list[tuple[str, bytes]]

called with what the probe returned for the student and for the reference on the same hidden
case. It is called for the failing case of each failed check and for one case of every task
whose checks all pass. A hook that raises costs the page its picture, never the grade.
"""

from __future__ import annotations

import base64
import html
import logging
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import figures
from .exercises import assignments
from .messages import text
from .safe_outputs import CSP_META, RefusedFile, add_csp_to_file, open_regular

log = logging.getLogger(__name__)
PAGE_NAME = "xaigrade.html"

PICTURE_SECONDS = 20.0  # one hook; past it the picture is skipped (and the submission's other pictures)


@dataclass
class Pictures:
    """Pictures per check id; ``see`` points a check to the earlier check that shows its case."""

    by_check: dict = field(default_factory=dict)  # check id -> [(caption, png bytes)]
    see: dict = field(default_factory=dict)  # check id -> check id
    example: set = field(default_factory=set)  # check ids whose pictures show a passed case
    skipped: dict = field(default_factory=dict)  # check id -> why it has no picture (too slow, failed)
    cpu: float = 0.0  # CPU seconds the hooks took (their threads'), for the run's timings


def _draw_bounded(hook, args, seconds: float):
    """``hook(*args)`` in a thread of its own: (pictures, notes), or None when it is not done within
    ``seconds`` (it is left to finish in the background; the drawing helpers bound its work). A
    hook that raises raises here."""
    outcome: dict = {}

    def run():
        cpu = time.thread_time()
        figures.start_notes()
        try:
            outcome["drawn"] = [(str(caption), bytes(data)) for caption, data in hook(*args)]
        except BaseException as error:  # noqa: BLE001 - handed to the caller
            outcome["error"] = error
        outcome["notes"] = figures.taken_notes()
        outcome["cpu"] = time.thread_time() - cpu

    thread = threading.Thread(target=run, name="xaigrade-picture", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        return None
    if "error" in outcome:
        raise outcome["error"]
    return outcome["drawn"], outcome["notes"], outcome["cpu"]


def collect_pictures(exercise, cases, result, expected: dict, language: str = "de",
                     seconds: float = PICTURE_SECONDS) -> Pictures:
    """Call the exercise's ``figures`` hook for each failed check's failing case and one passed case per task.

    Each picture may take ``seconds``; one that takes longer is skipped with a note, and so are the
    submission's pictures after it. What the drawing helpers left out is added to the caption."""
    pictures = Pictures()
    slow = []  # set once a picture took too long
    hook = getattr(exercise.module, "figures", None)
    student = getattr(result, "case_results", None) or {}
    if hook is None or not student:
        return pictures
    by_id = {case.id: case for case in cases}
    shown: dict[str, str] = {}  # case id -> check id that shows it

    def draw(check_id, case_id):
        if case_id in shown:
            pictures.see[check_id] = shown[case_id]
            return False
        got, want = student.get(case_id), expected.get(case_id)
        if case_id not in by_id or not isinstance(got, dict) or not isinstance(want, dict):
            return False  # nothing to draw: the probe gave no data (error, timeout, not run)
        if slow:
            pictures.skipped[check_id] = text("page.picture_skipped", language)
            return False
        started = time.monotonic()
        try:
            outcome = _draw_bounded(hook, (by_id[case_id], got, want, language), seconds)
        except Exception:  # a broken picture must not cost the page
            log.exception("figures hook of %s failed on case %s", exercise.name, case_id)
            pictures.skipped[check_id] = text("page.picture_failed", language)
            return False
        if outcome is None:
            log.warning("figures hook of %s took more than %.0f s on case %s: skipped", exercise.name,
                        time.monotonic() - started, case_id)
            slow.append(case_id)
            pictures.skipped[check_id] = text("page.picture_skipped", language)
            return False
        drawn, notes, cpu = outcome
        pictures.cpu += cpu
        if notes:
            cut = figures.cut_note(notes, language)
            drawn = [(f"{caption} ({cut})", data) for caption, data in drawn]
        if drawn:
            pictures.by_check[check_id] = drawn
            shown[case_id] = check_id
        return bool(drawn)

    for verdict in result.verdicts:
        if not verdict.passed and verdict.case_id:
            draw(verdict.check_id, verdict.case_id)
    checks = {check.id: check for check in exercise.checks}
    tasks: dict[str, list] = {}
    for verdict in result.verdicts:
        tasks.setdefault(verdict.task, []).append(verdict)
    for verdicts in tasks.values():
        if not all(v.passed for v in verdicts):
            continue
        check = checks.get(verdicts[0].check_id)
        for case in cases:
            if check is not None and check.selects(case) and isinstance(student.get(case.id), dict):
                if draw(check.id, case.id):
                    pictures.example.add(check.id)
                break
    return pictures


# --- the page -------------------------------------------------------------------------------

STYLE = """body{font-family:system-ui,sans-serif;max-width:64em;margin:2em auto;padding:0 1em;color:#222}
h1{margin-bottom:.2em}.total{font-size:1.3em;font-weight:bold}
.bar{background:#eee;height:.8em;border-radius:.4em;overflow:hidden;max-width:30em}.bar span{display:block;height:100%;background:#2a7}
section.check{border-left:.4em solid #2a7;padding:.4em 1em;margin:1em 0;background:#f8fbf9}
section.check.fail{border-color:#c33;background:#fdf6f6}
.status{font-weight:bold}.pass .status{color:#180}.fail .status{color:#b00}
figure{display:inline-block;margin:.5em 1em .5em 0;max-width:100%}figure img{max-width:100%;border:1px solid #ddd}
figcaption{font-size:.9em;color:#555}code{background:#eee;padding:0 .2em}
.breakdown{color:#444}section.answer{border-left:.4em solid #27a;padding:.4em 1em;margin:1em 0;background:#f5f8fc}
section.answer.pending{border-color:#c90;background:#fdf9f0}.comment{white-space:pre-wrap}"""


def _fmt(value: float) -> str:
    return f"{value:g}"


def _task_title(exercise, task: str, language: str) -> str:
    """The task's title from the notebook's heading ("Aufgabe 2: Die Heatmap"), not the test cell's grade_id."""
    title = getattr(exercise, "task_title", None)
    return title(task, language) if title else text("page.task", language, task=list(exercise.tasks).index(task) + 1)


def render_page(result, exercise, language: str = "de", pictures: Pictures | None = None,
                nbgrader_page: str | None = None, hand: dict | None = None, release=None) -> str:
    """The page. ``hand``: what the gradebook holds for this submission (``nbgrader_bridge.hand_grades``): the
    total then is the gradebook's (automatic and hand points, one number on every page and export), and the hand
    grades and comments get their section; without it (no gradebook) the automatic total alone, with a note
    that hand points are added. ``release``: the release notebook, whose questions name the answer cells."""
    pictures = pictures or Pictures()
    esc = html.escape
    titles = {c.id: c.title_for(language) for c in exercise.checks}
    parts = []
    current_task = None
    for verdict in result.verdicts:
        if verdict.task != current_task:
            current_task = verdict.task
            parts.append(f"<h2 class='task'>{esc(_task_title(exercise, verdict.task, language))}</h2>")
        state = "pass" if verdict.passed else "fail"
        mark = "✔" if verdict.passed else "✘"
        status = text("page.passed" if verdict.passed else "page.failed", language)
        points = text("page.points", language, score=shown_number(verdict.score, language),
                      max_score=shown_number(verdict.max_score, language))
        body = [f"<h3>{esc(titles.get(verdict.check_id, verdict.check_id))} <code>{esc(verdict.check_id)}</code></h3>",
                f"<p><span class='status'>{mark} {esc(status)}</span> · <span class='points'>{esc(points)}</span></p>"]
        if not verdict.passed:
            body.append(f"<p class='message' data-key='{esc(verdict.message_key)}'>{esc(verdict.message)}</p>")
        for caption, data in pictures.by_check.get(verdict.check_id, []):
            if verdict.check_id in pictures.example:
                caption = text("page.example", language, caption=caption)
            encoded = base64.b64encode(data).decode("ascii")
            body.append(f"<figure><img src='data:image/png;base64,{encoded}' alt='{esc(caption)}'>"
                        f"<figcaption>{esc(caption)}</figcaption></figure>")
        if verdict.check_id in pictures.skipped:
            body.append(f"<p class='picture-note'>{esc(pictures.skipped[verdict.check_id])}</p>")
        if verdict.check_id in pictures.see:
            other = pictures.see[verdict.check_id]
            body.append(f"<p class='see'>{esc(text('page.see_picture', language, check=titles.get(other, other)))}</p>")
        parts.append(f"<section class='check {state}' data-check='{esc(verdict.check_id)}'>{''.join(body)}</section>")
    notes = "".join(f"<li>{esc(note)}</li>" for note in result.notes)
    notes_html = f"<h2>{esc(text('page.notes', language))}</h2><ul class='notes'>{notes}</ul>" if notes else ""
    link = (f"<p><a class='nbgrader' href='{esc(nbgrader_page)}'>{esc(text('page.nbgrader_link', language))}</a></p>"
            if nbgrader_page else "")
    title = text("page.title", language, assignment=result.assignment)
    auto = {"score": result.score, "max_score": result.max_score, "tasks": set(exercise.tasks)}
    return f"""<!DOCTYPE html>
<html lang="{language}"><head><meta charset="utf-8">{CSP_META}<title>{esc(title)} – {esc(result.student)}</title>
<style>{STYLE}</style></head>
<body><h1>{esc(title)}</h1><p class="student">{esc(text('page.student', language, student=result.student))}</p>
{_marked('total', total_html(auto, hand, language))}{link}
{notes_html}
{_marked('hand', hand_html(hand, exercise, release, language))}
{''.join(parts)}
</body></html>
"""


# The parts of a page the gradebook decides (total, hand grades) stand between these markers, so that
# ``refresh_page`` can put the gradebook's current state into a page after hand grading without grading again
# (the pictures came from the probe's data, which is gone). Student text inside is escaped: it cannot hold them.
_MARK = "<!--xaigrade:{name}-->", "<!--/xaigrade:{name}-->"


def _marked(name: str, content: str) -> str:
    return f"{_MARK[0].format(name=name)}{content}{_MARK[1].format(name=name)}"


def _pts(value) -> str:
    """A number for a data attribute (a dot, always)."""
    return _fmt(round(float(value), 4))


def shown_number(value, language: str) -> str:
    """A number as the page's text shows it: 10.5 in English, 10,5 in German."""
    written = _pts(value)
    return written.replace(".", ",") if language == "de" else written


def total_html(auto: dict, hand: dict | None, language: str) -> str:
    """The total: the gradebook's when it is known (automatic and hand points), with its parts; else the
    automatic points with the note that hand points are added."""
    esc = html.escape
    if hand is None:
        share = 100 * auto["score"] / auto["max_score"] if auto["max_score"] else 0
        return (f"<p class=\"total\" data-score=\"{_fmt(auto['score'])}\" data-max-score=\"{_fmt(auto['max_score'])}\" "
                f"data-auto-score=\"{_fmt(auto['score'])}\" data-auto-max-score=\"{_fmt(auto['max_score'])}\">"
                f"{esc(text('page.total', language, score=_fmt(auto['score']), max_score=_fmt(auto['max_score'])))}</p>"
                f"<div class=\"bar\"><span style=\"width:{share:.0f}%\"></span></div>"
                f"<p>{esc(text('page.manual', language))}</p>")
    parts = split_points(hand, auto["tasks"])
    share = 100 * hand["score"] / hand["max_score"] if hand["max_score"] else 0
    num = lambda value: shown_number(value, language)  # noqa: E731
    lines = [text("page.total_auto", language, score=num(parts["auto"]), max_score=num(parts["auto_max"])),
             text("page.total_hand", language, score=num(parts["hand"]), max_score=num(parts["hand_max"]))]
    if parts["pending"]:
        lines.append(text("page.total_pending", language, count=parts["pending"]))
    if hand.get("penalty"):
        lines.append(text("page.total_penalty", language, points=num(hand["penalty"])))
    headline = "page.total_provisional" if parts["pending"] else "page.total_all"
    return (f"<p class=\"total\" data-score=\"{_pts(hand['score'])}\" data-max-score=\"{_pts(hand['max_score'])}\" "
            f"data-auto-score=\"{_pts(parts['auto'])}\" data-auto-max-score=\"{_pts(parts['auto_max'])}\" "
            f"data-hand-score=\"{_pts(parts['hand'])}\" data-hand-max-score=\"{_pts(parts['hand_max'])}\" "
            f"data-pending=\"{parts['pending']}\">"
            f"{esc(text(headline, language, score=num(hand['score']), max_score=num(hand['max_score'])))}</p>"
            f"<div class=\"bar\"><span style=\"width:{share:.0f}%\"></span></div>"
            f"<p class=\"breakdown\">{esc(' · '.join(lines))}</p>")


def split_points(hand: dict, auto_tasks) -> dict:
    """The gradebook's points of one submission in two parts: those of the autograded test cells (``auto_tasks``,
    their grade ids; an instructor's override counts here, as the cell's score) and those of the cells graded by
    hand (answer cells); how many grades wait for a hand grade."""
    auto = hand_part = auto_max = hand_max = 0.0
    for name, grade in hand["grades"].items():
        if name in auto_tasks:
            auto, auto_max = auto + grade["score"], auto_max + grade["max"]
        else:
            hand_part, hand_max = hand_part + grade["score"], hand_max + grade["max"]
    return {"auto": auto, "auto_max": auto_max, "hand": hand_part, "hand_max": hand_max,
            "pending": sum(1 for grade in hand["grades"].values() if grade["pending"])}


def question_title(release, grade_id: str, language: str) -> str:
    """The question an answer cell answers, from the release notebook: the last line naming a question
    ("Frage 2 (3 Punkte): Regionen des 2-D-PDP") in the Markdown above the cell; else the grade id."""
    if release is not None:
        cells = release.cells
        index = next((i for i, cell in enumerate(cells)
                      if (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id") == grade_id), None)
        for cell in reversed(cells[:index] if index is not None else []):
            if cell.get("cell_type") != "markdown":
                continue
            lines = [re.sub(r"[#*`]", "", line).strip() for line in cell.get("source", "").splitlines()]
            asked = [line for line in lines if re.match(r"(Frage|Question)\s+\d+", line)]
            if asked:  # "Frage 2 (2 Punkte), zu (b). Wie unterscheiden ..." -> up to the end of the label
                return re.split(r"(?<=\))\.\s", asked[-1], maxsplit=1)[0][:140]
            break
    return text("page.answer_cell", language, cell=grade_id)


def hand_html(hand: dict | None, exercise, release, language: str) -> str:
    """The hand grades: each answer cell with its points (or that it waits for a grade) and the instructor's
    comment; points an instructor set for an autograded task; comments on code; a late penalty."""
    if hand is None:
        return ""
    esc = html.escape
    num = lambda value: shown_number(value, language)  # noqa: E731
    tasks = set(exercise.tasks)
    answers, overrides, code = [], [], []
    for name, grade in hand["grades"].items():
        comment = (hand["comments"].get(name) or {})
        words = comment.get("manual") or comment.get("auto") or ""
        said = f"<p class='comment'>{esc(words)}</p>" if words else ""
        if name in tasks:
            if grade["manual"] is not None:
                said_here = text("page.override", language, task=_task_title(exercise, name, language),
                                 score=num(grade["score"]), max_score=num(grade["max"]), auto=num(grade["auto"] or 0))
                overrides.append(f"<li class='override' data-cell='{esc(name)}'>{esc(said_here)}</li>")
            continue
        if grade["pending"]:
            points = text("page.hand_pending", language, max_score=num(grade["max"]))
        else:
            points = text("page.points", language, score=num(grade["score"]), max_score=num(grade["max"]))
        answers.append(f"<section class='answer{' pending' if grade['pending'] else ''}' data-cell='{esc(name)}' "
                       f"data-score='{_pts(grade['score'])}' data-max-score='{_pts(grade['max'])}' "
                       f"data-pending='{int(grade['pending'])}'><h3>{esc(question_title(release, name, language))}</h3>"
                       f"<p class='points'>{esc(points)}</p>{said}</section>")
    for name, comment in hand["comments"].items():
        if name not in hand["grades"] and comment.get("manual"):
            code.append(f"<li class='code-comment' data-cell='{esc(name)}'><code>{esc(name)}</code>: "
                        f"<span class='comment'>{esc(comment['manual'])}</span></li>")
    parts = []
    if answers:
        parts.append(f"<h2>{esc(text('page.hand_title', language))}</h2>{''.join(answers)}")
    if overrides:
        parts.append(f"<h2>{esc(text('page.override_title', language))}</h2><ul>{''.join(overrides)}</ul>")
    if code:
        parts.append(f"<h2>{esc(text('page.code_comments', language))}</h2><ul>{''.join(code)}</ul>")
    if hand.get("penalty"):
        parts.append(f"<p class='penalty'>{esc(text('page.total_penalty', language, points=num(hand['penalty'])))}</p>")
    return f"<div class='hand'>{''.join(parts)}</div>" if parts else ""


def refresh_page(path: Path, hand: dict, exercise, release, language: str) -> bool:
    """Put the gradebook's current total and hand grades into an existing page of ours (after hand grading);
    False when ``path`` is no page with our markers (then it is left alone)."""
    try:
        fd = open_regular(path)
    except RefusedFile:
        return False
    with os.fdopen(fd, "rb") as handle:
        page = handle.read().decode("utf-8", "replace")
    auto = _auto_from_page(page)
    if auto is None:
        return False
    auto["tasks"] = set(exercise.tasks)
    for name, content in (("total", total_html(auto, hand, language)), ("hand", hand_html(hand, exercise, release,
                                                                                          language))):
        start, end = (mark.format(name=name) for mark in _MARK)
        if start not in page or end not in page:
            return False
        page = page[:page.index(start) + len(start)] + content + page[page.index(end):]
    temporary = Path(path).with_name(f".{Path(path).name}.xaigrade-tmp")
    temporary.write_text(page, encoding="utf-8")
    os.replace(temporary, path)
    return True


def _auto_from_page(page: str) -> dict | None:
    match = re.search(r'class="total"[^>]*data-auto-score="([0-9.eE+-]+)" data-auto-max-score="([0-9.eE+-]+)"', page)
    if not match:
        return None
    return {"score": float(match.group(1)), "max_score": float(match.group(2))}


def write_feedback_page(result, exercise, target: Path, language: str = "de", pictures: Pictures | None = None,
                        nbgrader_page: str | None = None, hand: dict | None = None, release=None) -> Path:
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.xaigrade-tmp")
    temporary.write_text(render_page(result, exercise, language, pictures, nbgrader_page, hand, release),
                         encoding="utf-8")
    os.replace(temporary, target)  # (replaced, not written through: nbgrader leaves its copies read-only)
    return target


def refresh_feedback(output: Path, exercise, release_notebook: Path | None, language: str = "de",
                     students: list[str] | None = None) -> list[str]:
    """After hand grading: every graded student's pages of ``assignment`` (``feedback/<student>/<a>/xaigrade.html``
    and its copy beside the autograded notebook, which nbgrader's ``generate_feedback`` copies) get the gradebook's
    current total, hand grades and comments. Returns the students whose page was renewed."""
    import nbformat

    from .nbgrader_bridge import hand_grades

    output = Path(output)
    assignment = exercise.name
    try:
        release = nbformat.read(str(release_notebook), as_version=4) if release_notebook else None
    except (OSError, ValueError):
        release = None
    db_url = f"sqlite:///{(output / 'gradebook.db').resolve()}"
    renewed = []
    graded = sorted(p.parent.name for p in (output / ".xaigrade" / "graded").glob(f"*/{assignment}.json"))
    for student in graded:
        if students is not None and student not in students:
            continue
        hand = hand_grades(db_url, assignment, student)
        if hand is None:
            continue
        pages = [output / "autograded" / student / assignment / PAGE_NAME,
                 output / "feedback" / student / assignment / PAGE_NAME]
        done = [refresh_page(page, hand, exercise, release, language) for page in pages if page.exists()]
        if any(done):
            renewed.append(student)
    return renewed


def link_cell(language: str = "de"):
    """Markdown cell put at the top of the autograded notebook: nbgrader's feedback HTML then links our page."""
    import nbformat

    cell = nbformat.v4.new_markdown_cell(text("page.link_cell", language, page=PAGE_NAME))
    cell.metadata["xaigrade_link"] = True
    return cell


def generate_nbgrader_feedback(output: Path, assignment: str, language: str = "de",
                               only: list[str] | None = None) -> dict[str, str]:
    """nbgrader's own ``generate_feedback`` for ``output``/autograded into ``output``/feedback, one student
    at a time; returns ``{student: note}`` for the students whose nbgrader feedback could not be made.

    A batch's pages never depend on one student's notebook: nbgrader runs per student, and one that
    fails costs only that student nbgrader's HTML (nbgrader wipes the student's folder then: our page
    is put back, with a page in place of nbgrader's that says why). Every page in the feedback folders
    gets the Content-Security-Policy, also when nbgrader stops half-way. nbgrader wipes
    feedback/<student>/<assignment>/ first and copies the non-notebook files of the autograded folder;
    our page lies there too, so it ends up beside nbgrader's HTML again.
    """
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config

    from .nbgrader_bridge import _venv_on_path

    if assignment not in assignments():
        raise ValueError(assignment)
    output = Path(output)
    config = Config()
    config.CourseDirectory.root = str(output)
    config.CourseDirectory.db_url = f"sqlite:///{(output / 'gradebook.db').resolve()}"
    config.Exchange.course_id = "xai_vl5"
    autograded = output / "autograded"
    students = sorted(p.name for p in autograded.iterdir() if (p / assignment).is_dir()) if autograded.is_dir() else []
    students = [student for student in students if only is None or student in only]
    failed: dict[str, str] = {}
    try:
        with _venv_on_path():
            api = NbGraderAPI(config=config)
            for student in students:
                if _GLOB.search(student):  # nbgrader takes the id as a glob pattern
                    failed[student] = text("batch.nbgrader_feedback_failed", language, student=student,
                                           assignment=assignment, reason=text("batch.id_not_plain", language))
                    continue
                try:
                    outcome = api.generate_feedback(assignment, student_id=student, force=True)
                except Exception as error:  # noqa: BLE001 - one student's failure, never the batch's
                    outcome = {"success": False, "error": f"{type(error).__name__}: {error}"}
                if not outcome.get("success"):
                    reason = _why(outcome)
                    log.warning("nbgrader generate_feedback %s for %s failed:\n%s", assignment, student,
                                outcome.get("error") or outcome.get("log"))
                    failed[student] = text("batch.nbgrader_feedback_failed", language, student=student,
                                           assignment=assignment, reason=reason)
                    _keep_our_page(output, student, assignment, language)
    finally:
        # its pages run no script, whatever is in them (the outputs were made safe in grading.annotate)
        for page in sorted((output / "feedback").glob(f"*/{assignment}/**/*.htm*")):
            try:
                add_csp_to_file(page)
            except (OSError, RefusedFile):
                log.warning("no Content-Security-Policy added to %s (not a regular file?)", page)
    return failed


_GLOB = re.compile(r"[*?\[\]]")


def _why(outcome: dict) -> str:
    """What went wrong, from nbgrader's log and error: the last exception line that is not nbgrader's
    summary ("see the above traceback"), else the last line; short and printable."""
    lines = [line.strip() for key in ("log", "error") for line in str(outcome.get(key) or "").splitlines()]
    errors = [line for line in lines if re.match(r"^[\w.]+(Error|Exception|Entry)\b", line)
              and "NbGraderException" not in line]
    reason = (errors or [line for line in lines if line] or ["?"])[-1]
    return "".join(c if c.isprintable() else "?" for c in reason)[:200]


def _keep_our_page(output: Path, student: str, assignment: str, language: str) -> None:
    """After nbgrader failed for ``student``: our page back in the feedback folder (nbgrader removed the
    folder), and in place of nbgrader's page one that says there is none."""
    folder = output / "feedback" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    ours = output / "autograded" / student / assignment / PAGE_NAME
    try:
        fd = open_regular(ours)
    except RefusedFile:
        pass
    else:
        with os.fdopen(fd, "rb") as source:
            (folder / PAGE_NAME).write_bytes(source.read())
    title = text("page.title", language, assignment=assignment)
    for notebook in sorted((output / "autograded" / student / assignment).glob("*.ipynb")):
        (folder / f"{notebook.stem}.html").write_text(
            f"<!DOCTYPE html>\n<html lang='{language}'><head><meta charset='utf-8'>{CSP_META}<title>"
            f"{html.escape(title)}</title></head><body><p class='nbgrader-missing'>"
            f"{html.escape(text('page.nbgrader_missing', language))} <a href='{PAGE_NAME}'>{PAGE_NAME}</a></p>"
            f"</body></html>\n", encoding="utf-8")
