"""`xaigrade grade`: every submission of every assignment, resumable, one failure never stops the batch."""

from __future__ import annotations

import json
import os
import traceback
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .checks import Exercise, ProbeError, evaluate
from .config import XaiGrade
from .grading import SubmissionResult, compute_reference, grade_notebook
from .messages import render
from .nbgrader_bridge import record_scores, register_assignment


@dataclass
class Layout:
    """Where a batch reads and writes (nbgrader's course-directory names)."""

    course_root: Path
    submissions: Path
    output: Path

    @property
    def db_url(self) -> str:
        return f"sqlite:///{(self.output / 'gradebook.db').resolve()}"

    @property
    def release(self) -> Path:
        return self.course_root / "release"

    def state_file(self, student: str, assignment: str) -> Path:
        return self.output / ".xaigrade" / "graded" / student / f"{assignment}.json"


def find_submissions(layout: Layout, assignment: str) -> list[tuple[str, Path | None]]:
    """(student, notebook path) for ``submitted/<student>/<assignment>/``; None when no notebook is there."""
    found = []
    if not layout.submissions.exists():
        return found
    for student_dir in sorted(p for p in layout.submissions.iterdir() if p.is_dir()):
        folder = student_dir / assignment
        if not folder.is_dir():
            continue
        exercise_nb = folder / f"{assignment}.ipynb"
        notebooks = [exercise_nb] if exercise_nb.exists() else sorted(folder.glob("*.ipynb"))
        found.append((student_dir.name, notebooks[0] if notebooks else None))
    return found


def _fingerprint(path: Path | None) -> str:
    if path is None or not path.exists():
        return "missing"
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def grade_batch(assignments: list[str], layout: Layout, settings: XaiGrade, force: bool = False,
                progress=None) -> dict:
    """Grade all submissions; returns ``{student: {assignment: {check_id: {...}}}}``.

    A finished submission leaves a state file written after its gradebook commit; a rerun
    skips it (unless the notebook changed or ``force``), so a killed batch resumes.
    """
    report: dict = {}
    layout.output.mkdir(parents=True, exist_ok=True)
    for assignment in assignments:
        exercise = Exercise(assignment)
        register_assignment(assignment, layout.course_root / "source", layout.db_url)
        submissions = find_submissions(layout, assignment)
        todo = []
        for student, path in submissions:
            state = layout.state_file(student, assignment)
            if not force and state.exists():
                saved = json.loads(state.read_text())
                if saved.get("fingerprint") == _fingerprint(path):
                    report.setdefault(student, {})[assignment] = saved["report"]
                    continue
            todo.append((student, path))
        if not todo:
            continue
        cases = exercise.build_cases(settings.hidden_seed, public=False)
        expected, variants = compute_reference(exercise, cases)  # once per assignment, not per student
        for student, path in todo:
            result = _grade_safely(exercise, student, path, layout, cases, expected, variants, settings)
            _store(result, exercise, layout, path)
            report.setdefault(student, {})[assignment] = result.report()
            if progress:
                progress(result)
    return report


def _grade_safely(exercise, student, path, layout, cases, expected, variants, settings) -> SubmissionResult:
    if path is None:
        note = render("notebook_unreadable", {"reason": "keine .ipynb-Datei abgegeben"}, settings.language)
        failed = {c.id: ProbeError("not_run", {"reason": note}) for c in cases}
        return SubmissionResult(student, exercise.name, evaluate(exercise, cases, failed, expected, variants,
                                                                settings.language), [note])
    try:
        return grade_notebook(exercise, path, student, layout.release / exercise.name, cases, expected,
                              variants, settings)
    except Exception:  # a bug of ours must not cost the other students their grades
        detail = traceback.format_exc(limit=3)
        failed = {c.id: ProbeError("not_run", {"reason": "interner Fehler des Graders"}) for c in cases}
        return SubmissionResult(student, exercise.name, evaluate(exercise, cases, failed, expected, variants,
                                                                settings.language), [f"grader error: {detail}"])


def _store(result: SubmissionResult, exercise: Exercise, layout: Layout, path: Path | None) -> None:
    assignment, student = exercise.name, result.student
    if result.executed is not None:
        target = layout.output / "autograded" / student / assignment / f"{exercise.notebook}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(result.executed, str(target))
    record_scores(layout.db_url, assignment, exercise.notebook, student, result.task_scores())
    from .feedback import write_feedback_page

    write_feedback_page(result, exercise, layout.output / "feedback" / student / assignment / "xaigrade.html")
    state = layout.state_file(student, assignment)
    state.parent.mkdir(parents=True, exist_ok=True)
    temporary = state.with_suffix(".tmp")
    temporary.write_text(json.dumps({"fingerprint": _fingerprint(path), "report": result.report()}, indent=1))
    os.replace(temporary, state)  # atomic: a kill leaves either no state or a whole one
