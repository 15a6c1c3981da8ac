"""formgrader's Autograde button (⚡, ``NbGraderAPI.autograde``) and ``nbgrader autograde`` grade with xaigrade.

nbgrader's own autograde runs the submission in the instructor's process, outside any sandbox: here the public
self-tests fail (their data file is not beside the notebook), every check scores 0, our pages are deleted and
every hand grade is re-flagged. nbgrader lets the course configure its ``Autograde`` converter from
``nbgrader_config.py``; the course sets::

    c.Autograde.exporter_class = "autograder.nbgrader_autograde.XaiGradeExporter"
    c.Autograde.sanitize_preprocessors = []
    c.Autograde.autograde_preprocessors = []

nbgrader's converter still does its own part (the student and the submission with its ``timestamp.txt`` in the
gradebook, the autograded folder), but where it would read and execute the notebook it asks this exporter, which
grades the one submission with ``xaigrade grade ASSIGNMENT --student ID`` in a process of its own: the same sandbox,
the student's hidden set, the same scores, pages and hand-grade rules as ``xaigrade grade``, and the notebook nbgrader
writes is xaigrade's autograded notebook. The submitted file is never opened here (xaigrade reads it within its
limits). When xaigrade cannot grade, the button and the command fail with xaigrade's reason; nothing is zeroed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
from nbconvert.exporters import NotebookExporter

CONFIG_LINES = ('c.Autograde.exporter_class = "autograder.nbgrader_autograde.XaiGradeExporter"',
                "c.Autograde.sanitize_preprocessors = []", "c.Autograde.autograde_preprocessors = []")


class XaiGradeRefused(RuntimeError):
    """xaigrade did not grade this submission; the message says why (nbgrader shows it as the error)."""


def configured(course_root: Path) -> bool:
    """Does the course's ``nbgrader_config.py`` send nbgrader's autograde to xaigrade?"""
    from .nbgrader_bridge import course_config

    config = course_config(course_root)
    if config is None:
        return False
    autograde = config.get("Autograde", {})
    exporter = autograde.get("exporter_class")
    name = exporter if isinstance(exporter, str) else f"{getattr(exporter, '__module__', '')}." \
                                                      f"{getattr(exporter, '__name__', '')}"
    return name == f"{__name__}.XaiGradeExporter" and list(autograde.get("sanitize_preprocessors", [None])) == [] \
        and list(autograde.get("autograde_preprocessors", [None])) == []


class XaiGradeExporter(NotebookExporter):
    """nbgrader's Autograde asks its exporter twice per notebook: for the submitted file (nbgrader's "sanitize"
    step) and for the autograded one (its "autograde" step). The first grades with xaigrade and answers with
    xaigrade's autograded notebook; the second passes that notebook on as it is."""

    def from_filename(self, filename, resources=None, **kw):
        converter = self.parent
        coursedir = converter.coursedir
        root = Path(os.path.abspath(coursedir.root))
        autograded_root = (root / coursedir.autograded_directory).resolve()
        path = Path(os.path.abspath(filename))
        if path.resolve().is_relative_to(autograded_root):  # nbgrader's second step: the notebook xaigrade wrote
            return self.from_notebook_node(nbformat.read(str(path), as_version=4), resources, **kw)
        info = (resources or {}).get("nbgrader", {})
        assignment, student, notebook = info.get("assignment"), info.get("student"), info.get("notebook")
        output = _output_folder(coursedir, root)
        log = getattr(converter, "log", None)
        run = grade_one(root, output, (root / coursedir.submitted_directory).resolve(), assignment, student)
        for line in (run.stdout + run.stderr).splitlines()[-60:]:
            if log is not None and line.strip():
                log.info("xaigrade: %s", line)
        if run.returncode != 0:
            raise XaiGradeRefused(f"xaigrade could not grade {student}/{assignment} (exit {run.returncode}): "
                                  f"{_last_words(run)}")
        graded = output / "autograded" / student / assignment / f"{notebook}.ipynb"
        if not graded.is_file():
            raise XaiGradeRefused(f"xaigrade graded {student}/{assignment} but could not run the notebook (see "
                                  f"{output / 'feedback' / student / assignment / 'xaigrade.html'}); its points are "
                                  "in the gradebook, there is no autograded notebook to show")
        return self.from_notebook_node(nbformat.read(str(graded), as_version=4), resources, **kw)


def after_feedback(assignment=None, student=None, notebooks=()) -> None:
    """``c.GenerateFeedback.post_convert_hook``: after nbgrader's ``generate_feedback`` made one student's feedback
    (``nbgrader generate_feedback``, formgrader's "Generate feedback"), our page beside it gets the gradebook's
    current total, hand points and comments (as ``xaigrade feedback`` does: one total on both pages), and every page
    in the folder our Content-Security-Policy (no script runs in them). Student, assignment and course come from the
    student's autograded notebooks: ``<course>/autograded/<student>/<assignment>/<notebook>.ipynb``."""
    from .safe_outputs import RefusedFile, add_csp_to_file

    for notebook in notebooks:
        path = Path(os.path.abspath(notebook))
        course, student_id, assignment_id = path.parents[3], path.parent.parent.name, path.parent.name
        folder = course / "feedback" / student_id / assignment_id
        try:
            _refresh_our_pages(course, student_id, assignment_id, [path.parent, folder])
        except Exception:  # noqa: BLE001 - nbgrader's page is made; ours keeps what it had, the log says why
            import logging

            logging.getLogger(__name__).exception("xaigrade.html of %s/%s not refreshed", student_id, assignment_id)
        for page in sorted(folder.glob("*.htm*")):
            try:
                add_csp_to_file(page)
            except (OSError, RefusedFile):
                continue


def _refresh_our_pages(course: Path, student: str, assignment: str, folders: list[Path]) -> None:
    from .checks import Exercise
    from .config import load_settings
    from .exercises import assignments
    from .feedback import PAGE_NAME, refresh_page
    from .nbgrader_bridge import hand_grades

    database = course / "gradebook.db"
    if assignment not in assignments() or not database.exists():
        return
    hand = hand_grades(f"sqlite:///{database}", assignment, student)
    if hand is None:
        return
    try:
        release = nbformat.read(str(course / "release" / assignment / f"{assignment}.ipynb"), as_version=4)
    except (OSError, ValueError):
        release = None
    exercise, language = Exercise(assignment), load_settings(course).language
    for folder in folders:
        if (folder / PAGE_NAME).exists():
            refresh_page(folder / PAGE_NAME, hand, exercise, release, language)


def _output_folder(coursedir, root: Path) -> Path:
    """Where xaigrade writes: the folder of nbgrader's gradebook, which must be the course root (that is where
    nbgrader, formgrader and xaigrade all look for autograded/ and feedback/)."""
    url = coursedir.db_url
    if not url.startswith("sqlite:///"):
        raise XaiGradeRefused(f"xaigrade grades into a SQLite gradebook (sqlite:///...), not {url}")
    database = Path(url[len("sqlite:///"):])
    database = (root / database).resolve() if not database.is_absolute() else database.resolve()
    layout = (coursedir.autograded_directory, coursedir.feedback_directory, coursedir.directory_structure)
    if database.parent != root.resolve() or layout != ("autograded", "feedback",
                                                        os.path.join("{nbgrader_step}", "{student_id}",
                                                                     "{assignment_id}")):
        raise XaiGradeRefused("xaigrade's layout is nbgrader's default: gradebook.db, autograded/ and feedback/ in "
                              f"the course directory {root} (found {database}, {layout})")
    return root.resolve()


def grade_one(course: Path, output: Path, submissions: Path, assignment: str, student: str,
              timeout: float | None = None) -> subprocess.CompletedProcess:
    """``xaigrade grade ASSIGNMENT --student STUDENT`` for the course, in a process of its own (the sandbox,
    zygotes and threads of a grading never live in the Jupyter server that pressed the button)."""
    from .config import load_settings

    if timeout is None:  # one submission, and perhaps a hidden set's reference computed first
        settings = load_settings(course)
        timeout = 2 * settings.total_timeout + 900
    command = [sys.executable, "-m", "autograder.cli", "grade", assignment, "--student", student,
               "--course-dir", str(course), "--submissions", str(submissions), "--output", str(output)]
    environment = {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")}
    try:
        return subprocess.run(command, cwd=course, capture_output=True, text=True, timeout=timeout, env=environment,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as expired:
        raise XaiGradeRefused(f"xaigrade did not finish grading {student}/{assignment} within {timeout:.0f} s") \
            from expired


def _last_words(run: subprocess.CompletedProcess) -> str:
    lines = [line.strip() for line in (run.stderr or run.stdout or "").splitlines() if line.strip()]
    return " / ".join(lines[-3:])[:600] or "no output"
