"""Everything that talks to nbgrader: generate_assignment, the gradebook, cell metadata."""

from __future__ import annotations

import contextlib
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


def grade_cells(nb) -> dict[str, dict]:
    """grade_id -> nbgrader metadata for every graded cell of a notebook."""
    cells = {}
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") or meta.get("solution") or meta.get("task"):
            cells[meta.get("grade_id")] = {"index": index, "cell": cell, **meta}
    return cells


def is_test_cell(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def record_scores(db_url: str, assignment: str, notebook: str, student: str,
                  task_scores: dict[str, float]) -> None:
    """Write the autograded score of each test cell; manual scores and comments are left alone."""
    from nbgrader.api import Gradebook

    with _venv_on_path(), Gradebook(db_url) as gradebook, warnings.catch_warnings():
        # nbgrader's own submission code triggers SQLAlchemy autoflush warnings; they are harmless.
        warnings.simplefilter("ignore")
        gradebook.update_or_create_student(student)
        gradebook.update_or_create_submission(assignment, student)
        submitted = gradebook.find_submission_notebook(notebook, assignment, student)
        for grade in submitted.grades:
            name = grade.cell.name
            if name in task_scores:
                grade.auto_score = float(task_scores[name])
                grade.needs_manual_grade = False
        gradebook.db.commit()


def read_notebook(path: Path):
    return nbformat.read(str(path), as_version=4)


def copy_tree(source: Path, target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
