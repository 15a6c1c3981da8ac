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


def _draw_bounded(hook, args, seconds: float):
    """``hook(*args)`` in a thread of its own: (pictures, notes), or None when it is not done within
    ``seconds`` (it is left to finish in the background; the drawing helpers bound its work). A
    hook that raises raises here."""
    outcome: dict = {}

    def run():
        figures.start_notes()
        try:
            outcome["drawn"] = [(str(caption), bytes(data)) for caption, data in hook(*args)]
        except BaseException as error:  # noqa: BLE001 - handed to the caller
            outcome["error"] = error
        outcome["notes"] = figures.taken_notes()

    thread = threading.Thread(target=run, name="xaigrade-picture", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        return None
    if "error" in outcome:
        raise outcome["error"]
    return outcome["drawn"], outcome["notes"]


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
        drawn, notes = outcome
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
figcaption{font-size:.9em;color:#555}code{background:#eee;padding:0 .2em}"""


def _fmt(value: float) -> str:
    return f"{value:g}"


def _task_title(exercise, task: str, language: str) -> str:
    """The task's title from the notebook's heading ("Aufgabe 2: Die Heatmap"), not the test cell's grade_id."""
    title = getattr(exercise, "task_title", None)
    return title(task, language) if title else text("page.task", language, task=list(exercise.tasks).index(task) + 1)


def render_page(result, exercise, language: str = "de", pictures: Pictures | None = None,
                nbgrader_page: str | None = None) -> str:
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
        body = [f"<h3>{esc(titles.get(verdict.check_id, verdict.check_id))} <code>{esc(verdict.check_id)}</code></h3>",
                f"<p><span class='status'>{mark} {esc(status)}</span> · <span class='points'>"
                f"{esc(text('page.points', language, score=_fmt(verdict.score), max_score=_fmt(verdict.max_score)))}"
                f"</span></p>"]
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
    share = 100 * result.score / result.max_score if result.max_score else 0
    link = (f"<p><a class='nbgrader' href='{esc(nbgrader_page)}'>{esc(text('page.nbgrader_link', language))}</a></p>"
            if nbgrader_page else "")
    title = text("page.title", language, assignment=result.assignment)
    return f"""<!DOCTYPE html>
<html lang="{language}"><head><meta charset="utf-8">{CSP_META}<title>{esc(title)} – {esc(result.student)}</title>
<style>{STYLE}</style></head>
<body><h1>{esc(title)}</h1><p class="student">{esc(text('page.student', language, student=result.student))}</p>
<p class="total" data-score="{_fmt(result.score)}" data-max-score="{_fmt(result.max_score)}">{esc(text('page.total', language, score=_fmt(result.score), max_score=_fmt(result.max_score)))}</p>
<div class="bar"><span style="width:{share:.0f}%"></span></div><p>{esc(text('page.manual', language))}</p>{link}
{notes_html}
{''.join(parts)}
</body></html>
"""


def write_feedback_page(result, exercise, target: Path, language: str = "de", pictures: Pictures | None = None,
                        nbgrader_page: str | None = None) -> Path:
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_page(result, exercise, language, pictures, nbgrader_page), encoding="utf-8")
    return target


def link_cell(language: str = "de"):
    """Markdown cell put at the top of the autograded notebook: nbgrader's feedback HTML then links our page."""
    import nbformat

    cell = nbformat.v4.new_markdown_cell(text("page.link_cell", language, page=PAGE_NAME))
    cell.metadata["xaigrade_link"] = True
    return cell


def generate_nbgrader_feedback(output: Path, assignment: str, language: str = "de") -> dict[str, str]:
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
