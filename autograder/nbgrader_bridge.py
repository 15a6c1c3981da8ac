"""Everything that talks to nbgrader: generate_assignment, the gradebook, cell metadata."""

from __future__ import annotations

import contextlib
import copy
import difflib
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import nbformat
from traitlets.config import Config

# nbgrader itself is imported where it is used: importing it costs ~0.6 s (its server
# extensions), which `xaigrade check` would pay for nothing.


@contextlib.contextmanager
def _venv_on_path():
    """nbgrader runs `alembic` from PATH when it creates a gradebook: make it the venv's."""
    old = os.environ.get("PATH", "")
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + old
    try:
        yield
    finally:
        os.environ["PATH"] = old


def generate_assignment(assignment: str, source_root: Path, release_root: Path, db_url: str) -> None:
    """Run nbgrader's generate_assignment for ``source_root/<assignment>`` into ``release_root``."""
    config = Config()
    config.CourseDirectory.root = str(source_root.parent)
    config.CourseDirectory.source_directory = source_root.name
    config.CourseDirectory.release_directory = str(release_root)
    config.CourseDirectory.db_url = db_url
    config.ClearSolutions.code_stub = {"python": "# IHR CODE HIER / YOUR CODE HERE\nraise NotImplementedError()"}
    config.ClearSolutions.text_stub = "IHRE ANTWORT HIER / YOUR ANSWER HERE"
    config.GenerateAssignment.preprocessors  # noqa: B018 (default pipeline)
    config.Exchange.course_id = "xai_vl5"
    with _venv_on_path():
        from nbgrader.apps import NbGraderAPI

        api = NbGraderAPI(config=config)
        result = api.generate_assignment(assignment, force=True, create=True)
    if not result.get("success"):
        raise RuntimeError(f"nbgrader generate_assignment {assignment} failed:\n{result.get('error') or result.get('log')}")


def register_assignment(assignment: str, source_root: Path, db_url: str) -> None:
    """Make sure the gradebook knows the assignment, its notebooks and grade cells."""
    from nbgrader.api import Gradebook, MissingEntry

    with _venv_on_path(), Gradebook(db_url) as gradebook:
        try:
            found = gradebook.find_assignment(assignment)
            if found.notebooks:
                return
        except MissingEntry:
            pass
    with tempfile.TemporaryDirectory() as scratch:
        generate_assignment(assignment, source_root, Path(scratch) / "release", db_url)


def _nbgrader(cell) -> dict:
    """The cell's nbgrader metadata, or {} when it has none (or none that is a JSON object)."""
    metadata = cell.get("metadata") if isinstance(cell, dict) else None
    meta = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    return meta if isinstance(meta, dict) else {}


def grade_cells(nb) -> dict[str, dict]:
    """grade_id -> nbgrader metadata for every graded cell of a notebook (the first cell of an id; an id
    that is not a string is no grade id: a submission's metadata may hold anything)."""
    cells = {}
    for index, cell in enumerate(nb.cells):
        meta = _nbgrader(cell)
        grade_id = meta.get("grade_id")
        if (meta.get("grade") or meta.get("solution") or meta.get("task")) and isinstance(grade_id, str) \
                and grade_id not in cells:
            cells[grade_id] = {"index": index, "cell": cell, **meta}
    return cells


def is_test_cell(cell) -> bool:
    meta = _nbgrader(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


# --- the release's nbgrader metadata on the submission's cells (as nbgrader's OverwriteCells) -------

# what the release decides about a graded cell: its nbgrader metadata, and these keys beside it
RELEASE_CELL_KEYS = ("deletable", "editable")
COMPARED = ("grade_id", "grade", "solution", "task", "locked", "points")
MAX_REMOVED_NOTES = 5  # notes on cells whose nbgrader metadata was removed; the rest are counted


def _text(cell) -> str:
    source = cell.get("source", "")
    return "".join(str(s) for s in source) if isinstance(source, list) else str(source)


def shown_id(value, limit: int = 40) -> str:
    """A grade id from a submission as a note may show it: printable, short (still to be escaped)."""
    shown = value if isinstance(value, str) else repr(value)
    shown = "".join(c if c.isprintable() else "?" for c in shown[:limit + 1])
    return shown[:limit] + "…" if len(shown) > limit else shown


def _release_number(cell, order: dict):
    """The index of the release cell whose grade id ``cell`` carries, or None."""
    grade_id = _nbgrader(cell).get("grade_id")
    return order.get(grade_id) if isinstance(grade_id, str) else None


def _key(cell) -> tuple:
    return cell.get("cell_type"), hash(_text(cell).strip())


def _match(cells: list, release: list, order: dict) -> tuple[dict[int, int], dict[int, int]]:
    """Submitted cell index -> release cell index, for the submission's cells with nbgrader metadata; and
    release cell index -> submitted cell index for the cells the student left as they were.

    First by grade id, where it is one of the release's (of several cells with the same id: for a locked
    cell the first that is unchanged, else the first that was edited, else the first). The rest by
    position, from a diff of the two notebooks' cells (type and source): the cells the student did not
    touch (headings, questions, demo code) align the rest, so a cell whose grade id was changed is
    matched with the release cell in its place: between two aligned cells, the one with the release
    cell's source; if as many changed cells as release cells are left, in order; else, in order, the
    one most like the release cell (``_likeness``). A cell the release has nothing in place of stays
    unmatched."""
    marked = {i for i, cell in enumerate(cells) if "nbgrader" in cell.get("metadata", {})}
    claims: dict[int, list[int]] = {}
    for i in sorted(marked):
        if _release_number(cells[i], order) is not None:
            claims.setdefault(_release_number(cells[i], order), []).append(i)
    pairs: dict[int, int] = {}
    for number, claimants in claims.items():
        wanted = release[number]
        unchanged = [i for i in claimants if _key(cells[i]) == _key(wanted)]
        edited = [i for i in claimants if i not in unchanged]
        preferred = unchanged if _nbgrader(wanted).get("locked") else edited
        pairs[(preferred or claimants)[0]] = number
    graded = set(order.values())
    diff = difflib.SequenceMatcher(None, [_key(c) for c in release], [_key(c) for c in cells])
    kept: dict[int, int] = {}
    for tag, r1, r2, s1, s2 in diff.get_opcodes():
        if tag == "equal":
            kept.update((n, s1 + n - r1) for n in range(r1, r2))
        if tag not in ("equal", "replace"):
            continue  # cells only the release or only the submission has
        free = [n for n in range(r1, r2) if n in graded and n not in pairs.values()]
        left = [i for i in range(s1, s2) if i in marked and i not in pairs]
        if tag == "equal":
            pairs.update((s1 + n - r1, n) for n in free if s1 + n - r1 in left)
        elif len(left) == len(free):
            pairs.update(zip(left, free))
        else:
            after = -1
            for n in free:
                later = [i for i in left if i > after]
                if later:
                    best = max(later, key=lambda i: (_likeness(cells[i], release[n]), -i))
                    pairs[best], after = n, best
    return pairs, kept


def _likeness(cell, wanted) -> int:
    """How many of the cell type and the nbgrader fields (but the grade id) ``cell`` has as ``wanted``."""
    mine, theirs = _nbgrader(cell), _nbgrader(wanted)
    return (cell.get("cell_type") == wanted.get("cell_type")) + sum(mine.get(key) == theirs.get(key)
                                                                     for key in COMPARED[1:])


def _as_type(cell, kind: str):
    """``cell`` as a cell of type ``kind`` (its source, metadata and id kept; outputs dropped)."""
    made = nbformat.v4.new_code_cell() if kind == "code" else nbformat.v4.new_markdown_cell()
    made["source"] = _text(cell)
    made["metadata"] = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
    if isinstance(cell.get("id"), str):
        made["id"] = cell["id"]
    return made


def impose_release_metadata(nb, release_nb, add_missing: bool = False) -> tuple[int, list[tuple[str, dict]]]:
    """Give ``nb``'s cells the release's nbgrader metadata, in place, as nbgrader's ``OverwriteCells`` does:
    each cell matched to a release cell (``_match``) gets that cell's nbgrader metadata (grade id,
    points, grade/solution/task/locked, checksum), its ``deletable``/``editable`` and its cell type; its
    source stays the student's. nbgrader metadata on a cell the release does not have is removed. With
    ``add_missing``, graded cells of the release that no cell matches are added back as released, after
    the cell in place of the release cell before them (for the autograded notebook: formgrader can grade
    them there).

    Returns how many cells were matched by a grade id of the release (none: another assignment's
    notebook) and notes ``(key, params)`` on what was changed, for the instructor."""
    release = release_nb.cells
    cells = nb.cells = [cell for cell in nb.cells if isinstance(cell, dict)]  # (the sandbox's notebook: anything)
    for cell in cells:
        if not isinstance(cell.get("metadata"), dict):
            cell["metadata"] = {}
    order = {_nbgrader(cell)["grade_id"]: number for number, cell in enumerate(release)
             if isinstance(_nbgrader(cell).get("grade_id"), str)}
    pairs, kept = _match(cells, release, order)
    by_id = sum(1 for i, n in pairs.items() if _release_number(cells[i], order) == n)
    notes: list[tuple[str, dict]] = []
    removed: list[tuple[str, dict]] = []
    for i, cell in enumerate(cells):
        if "nbgrader" not in cell["metadata"]:
            continue
        if i not in pairs:
            meta = _nbgrader(cell)
            if meta.get("grade_id") or any(meta.get(flag) for flag in ("grade", "solution", "task", "locked")):
                copied = _release_number(cell, order) is not None  # (of a cell matched otherwise)
                removed.append(("metadata_copied" if copied else "metadata_removed",
                                {"index": i, "grade_id": shown_id(meta.get("grade_id", ""))}))
            del cell["metadata"]["nbgrader"]  # (empty metadata goes without a note)
            continue
        wanted = release[pairs[i]]
        mine, theirs = _nbgrader(cell), _nbgrader(wanted)
        changed = [key for key in COMPARED if mine.get(key) != theirs.get(key)]
        if cell.get("cell_type") != wanted.get("cell_type"):
            changed.append("cell_type")
            cell = cells[i] = _as_type(cell, wanted["cell_type"])
        cell["metadata"]["nbgrader"] = copy.deepcopy(dict(theirs))
        for key in RELEASE_CELL_KEYS:
            cell["metadata"].pop(key, None)
            if key in wanted.get("metadata", {}):
                cell["metadata"][key] = wanted["metadata"][key]
        if changed:
            notes.append(("metadata_restored", {"cell": theirs["grade_id"], "what": ", ".join(changed)}))
    notes += removed[:MAX_REMOVED_NOTES]
    if len(removed) > MAX_REMOVED_NOTES:
        notes.append(("metadata_removed_more", {"count": len(removed) - MAX_REMOVED_NOTES}))
    if add_missing:  # after the cell in place of the release cell before it (its question, say)
        placed = {**kept, **{number: i for i, number in pairs.items()}}
        for number in sorted(order.values()):
            wanted, meta = release[number], _nbgrader(release[number])
            if number in pairs.values() or not (meta.get("grade") or meta.get("task")):
                continue
            before = max((n for n in placed if n < number), default=None)
            at = placed[before] + 1 if before is not None else 0
            cells.insert(at, copy.deepcopy(wanted))
            placed = {n: (i + 1 if i >= at else i) for n, i in placed.items()}
            placed[number] = at
            notes.append(("graded_cell_added", {"cell": meta["grade_id"]}))
    return by_id, notes


# --- scores into the gradebook: automatic ones, and what that means for the hand grades -------------

TEXT_STUB = "IHRE ANTWORT HIER / YOUR ANSWER HERE"  # (generate_assignment's ClearSolutions.text_stub)
CODE_STUB = "# IHR CODE HIER / YOUR CODE HERE\nraise NotImplementedError()"
SCORE_EPSILON = 1e-9


def cell_digest(cell) -> str:
    """What "the cell changed" compares: a hash of the cell's type and source (the student's content)."""
    import hashlib

    return hashlib.sha256(f"{cell.get('cell_type')}\0{_text(cell)}".encode("utf-8", "replace")).hexdigest()[:20]


def unanswered(cell) -> bool:
    """nbgrader's checksum rule (``utils.determine_grade``): a solution cell whose checksum is still the
    release's was not answered; so is one left empty or holding only the stub. ``cell`` carries the
    release's nbgrader metadata (``impose_release_metadata``), so the checksum is the release's."""
    from nbgrader import utils

    meta = _nbgrader(cell)
    source = _text(cell).strip()
    if not source or source in (TEXT_STUB, CODE_STUB.strip()):
        return True
    try:
        return bool(meta.get("checksum")) and meta["checksum"] == utils.compute_checksum(nbformat.from_dict(cell))
    except Exception:  # noqa: BLE001 - metadata nbgrader cannot hash: then it counts as answered
        return False


def graded_cells(nb) -> dict[str, dict]:
    """For the autograded notebook: every cell a hand grade or hand comment can belong to (answer cells: graded
    solution cells; solution code cells; task cells), with its digest and whether it is unanswered."""
    cells = {}
    for grade_id, info in grade_cells(nb).items():
        if not (info.get("solution") or info.get("task")):
            continue
        cell = info["cell"]
        kind = "answer" if info.get("grade") else ("task" if info.get("task") else "code")
        cells[grade_id] = {"kind": kind, "digest": cell_digest(cell), "blank": unanswered(cell)}
    return cells


def _timestamp_of(folder: Path | None):
    """nbgrader's submission time of ``folder`` (its ``timestamp.txt``), or None."""
    if folder is None:
        return None
    from nbgrader.utils import parse_utc

    path = Path(folder) / "timestamp.txt"
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > 200:
            return None  # (a submission folder holds what the student put there too)
        return parse_utc(path.read_text(encoding="utf-8").strip())
    except (OSError, ValueError, OverflowError, UnicodeDecodeError):
        return None


def _late_penalty(submission, submitted_notebook, course_config) -> None:
    """nbgrader's ``AssignLatePenalties``: the configured ``LateSubmissionPlugin`` (``c.AssignLatePenalties.
    plugin_class``; default penalty_method 'none') decides the penalty of a late notebook, capped as nbgrader's."""
    from nbgrader.plugins import LateSubmissionPlugin

    submitted_notebook.late_submission_penalty = None
    seconds = submission.total_seconds_late
    if not seconds:
        return
    plugin_class = LateSubmissionPlugin
    wanted = (course_config or {}).get("AssignLatePenalties", {}).get("plugin_class") if course_config else None
    if wanted:
        from traitlets.utils.importstring import import_item

        plugin_class = import_item(wanted) if isinstance(wanted, str) else wanted
    plugin = plugin_class(config=course_config)
    penalty = plugin.late_submission_penalty(submission.student.id, submitted_notebook.score, seconds)
    if penalty is not None:
        submitted_notebook.late_submission_penalty = min(max(0.0, float(penalty)), float(submitted_notebook.score))


def record_scores(db_url: str, assignment: str, notebook: str, student: str, task_scores: dict[str, float],
                  cells: dict | None = None, previous: dict | None = None, language: str = "de",
                  submission_folder: Path | None = None, course_config=None) -> list[dict]:
    """Write the autograded score of each test cell, and settle the hand grades around it.

    - A test cell without a hand override gets its automatic score. An override (a manual score on a test cell)
      whose automatic result changed since the last grading is flagged for manual grading (as nbgrader's
      ``SaveAutoGrades`` does, but only when the result changed): the instructor decides again.
    - Answer cells (``cells``: ``graded_cells`` of the autograded notebook): an unanswered one (nbgrader's checksum
      rule, or empty) gets 0 points and the comment that there is no answer, without a hand grade; an answered one
      waits for a hand grade. A hand grade or hand comment on a cell whose content changed since it was given (a
      resubmission) is flagged for manual grading; on an unchanged cell it stays as it is.
    - ``previous``: the state of the last grading (``{"cells": {grade_id: digest}, "auto": {task: score}}``);
      without it (first grading) a hand grade already there is flagged, as nbgrader does.
    - The submission's time from ``submission_folder``/timestamp.txt (``xaigrade collect`` writes it from the
      Moodle archive) goes into the gradebook, and the late penalty nbgrader's configuration asks for.

    Returns what needs the instructor's look: ``[{"cell", "why", ...}]``, why one of ``answer_changed``,
    ``override_changed``, ``comment_changed`` (a hand comment on changed code: nbgrader has no flag for comments)."""
    from nbgrader.api import Gradebook

    from .messages import text

    cells = cells or {}
    before_cells = (previous or {}).get("cells") or {}
    before_auto = (previous or {}).get("auto") or {}
    first = previous is None
    review: list[dict] = []
    with _venv_on_path(), Gradebook(db_url) as gradebook, warnings.catch_warnings():
        # nbgrader's own submission code triggers SQLAlchemy autoflush warnings; they are harmless.
        warnings.simplefilter("ignore")
        gradebook.update_or_create_student(student)
        timestamp = _timestamp_of(submission_folder)
        submission = gradebook.update_or_create_submission(assignment, student,
                                                           **({"timestamp": timestamp} if timestamp else {}))
        submitted = gradebook.find_submission_notebook(notebook, assignment, student)
        for grade in submitted.grades:
            name = grade.cell.name
            if name in task_scores:
                new = float(task_scores[name])
                old = before_auto.get(name, grade.auto_score)
                grade.auto_score = new
                if grade.manual_score is None:
                    grade.needs_manual_grade = False
                elif first or old is None or abs(float(old) - new) > SCORE_EPSILON:
                    grade.needs_manual_grade = True
                    review.append({"cell": name, "why": "override_changed", "manual": grade.manual_score,
                                   "before": None if old is None else float(old), "now": new})
            elif name in cells:
                info = cells[name]
                changed = first or before_cells.get(name) != info["digest"]
                grade.auto_score = 0.0 if info["blank"] else None
                if grade.manual_score is None:
                    grade.needs_manual_grade = not info["blank"]
                elif changed:
                    grade.needs_manual_grade = True
                    review.append({"cell": name, "why": "answer_changed", "manual": grade.manual_score,
                                   "blank": info["blank"]})
        for comment in submitted.comments:
            name = comment.cell.name
            info = cells.get(name)
            if info is None:
                continue
            comment.auto_comment = text("gradebook.no_response", language) if info["blank"] else None
            changed = first or before_cells.get(name) != info["digest"]
            if comment.manual_comment and changed and not any(r["cell"] == name for r in review):
                review.append({"cell": name, "why": "comment_changed"})
        gradebook.db.commit()
        _late_penalty(submission, submitted, course_config)
        gradebook.db.commit()
    return review


def course_config(course_root: Path):
    """The course's ``nbgrader_config.py`` as a traitlets Config (None without one)."""
    from traitlets.config.loader import PyFileConfigLoader

    path = Path(course_root) / "nbgrader_config.py"
    if not path.is_file():
        return None
    return PyFileConfigLoader(path.name, path=str(path.parent)).load_config()


# --- reading the hand grades back: what waits, and what each student got -------------------------------

def pending_hand_grades(db_url: str, assignments=None) -> dict[str, dict[str, list[str]]]:
    """``{assignment: {student: [grade ids that wait for a hand grade]}}`` (nbgrader's ``needs_manual_grade``);
    assignments without any left out."""
    from nbgrader.api import Gradebook

    found: dict[str, dict[str, list[str]]] = {}
    with _venv_on_path(), Gradebook(db_url) as gradebook:
        for assignment in gradebook.assignments:
            if assignments is not None and assignment.name not in assignments:
                continue
            for submission in assignment.submissions:
                for notebook in submission.notebooks:
                    waiting = sorted(grade.name for grade in notebook.grades if grade.needs_manual_grade)
                    if waiting:
                        found.setdefault(assignment.name, {}).setdefault(submission.student.id, []).extend(waiting)
    return found


def hand_grades(db_url: str, assignment: str, student: str) -> dict | None:
    """What formgrader holds for one submission: per graded cell its automatic and hand score, extra credit,
    maximum and whether it waits for a hand grade; per cell the hand and automatic comments; the total as nbgrader
    computes it (hand score before automatic, plus extra credit, minus the late penalty). None without a
    submission."""
    from nbgrader.api import Gradebook, MissingEntry

    with _venv_on_path(), Gradebook(db_url) as gradebook:
        try:
            submission = gradebook.find_submission(assignment, student)
        except MissingEntry:
            return None
        grades, comments = {}, {}
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                grades[grade.name] = {"auto": grade.auto_score, "manual": grade.manual_score,
                                      "extra": grade.extra_credit, "max": float(grade.max_score),
                                      "score": float(grade.score), "pending": bool(grade.needs_manual_grade),
                                      "code": grade.cell.cell_type == "code"}
            for comment in notebook.comments:
                comments[comment.name] = {"manual": comment.manual_comment, "auto": comment.auto_comment}
        penalty = float(submission.late_submission_penalty or 0.0)
        return {"grades": grades, "comments": comments, "score": float(submission.score) - penalty,
                "max_score": float(submission.max_score), "penalty": penalty,
                "timestamp": submission.timestamp, "seconds_late": float(submission.total_seconds_late or 0.0)}


def read_notebook(path: Path):
    return nbformat.read(str(path), as_version=4)


def copy_tree(source: Path, target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
