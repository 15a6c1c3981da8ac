"""nbgrader's convention for the course directory: `xaigrade` works on the course in the current
directory (the folder holding `nbgrader_config.py`) or on `--course-dir DIR`, never silently on the
folder the package is installed in; without a course it stops and names the folder it looked in."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.config import PROJECT_ROOT

XAIGRADE = str(Path(sys.executable).parent / "xaigrade")
WRITTEN = ("gradebook.db", "feedback", "autograded", "submitted", ".xaigrade", "overview.html")


def _listing(root: Path) -> set[str]:
    """What grading writes in a course folder, as it is there now."""
    found = set()
    for name in WRITTEN:
        path = root / name
        if path.exists():
            found.add(name)
            if path.is_dir():
                found.update(str(p.relative_to(root)) for p in path.rglob("*"))
    return found


def _course_copy(folder: Path) -> Path:
    """What an instructor copies to grade elsewhere: sources, releases, the configuration, and one
    submission in submitted/. The course secret is left behind: the first grade creates the copy's own."""
    folder.mkdir(parents=True)
    shutil.copytree(PROJECT_ROOT / "source" / "pdp", folder / "source" / "pdp")
    shutil.copytree(PROJECT_ROOT / "release" / "pdp", folder / "release" / "pdp")
    shutil.copy(PROJECT_ROOT / "nbgrader_config.py", folder)
    shutil.copytree(PROJECT_ROOT / "examples" / "submissions" / "full_solution" / "pdp",
                    folder / "submitted" / "anna" / "pdp")
    return folder


def _xaigrade(*args, cwd: Path, timeout: float = 900):
    return subprocess.run([XAIGRADE, "--language", "en", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.parametrize("how", ["cwd", "course-dir"])
def test_grade_writes_into_the_course_it_is_run_in_not_the_installed_project(tmp_path, how):
    course = _course_copy(tmp_path / "course")
    before = _listing(PROJECT_ROOT)
    if how == "cwd":
        done = _xaigrade("grade", "pdp", "--json", "report.json", cwd=course)
    else:
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        done = _xaigrade("grade", "pdp", "--json", "report.json", "--course-dir", str(course), cwd=elsewhere)
    new_in_project = _listing(PROJECT_ROOT) - before
    assert not new_in_project, f"written into the installed project {PROJECT_ROOT}: {sorted(new_in_project)}"
    assert done.returncode == 0, done.stdout + done.stderr
    assert (course / "gradebook.db").is_file()
    assert (course / "feedback" / "anna" / "pdp" / "xaigrade.html").is_file()
    assert (course / "autograded" / "anna" / "pdp" / "pdp.ipynb").is_file()
    assert (course / ".xaigrade" / "secret").is_file()  # the copy's own secret
    report_file = (course if how == "cwd" else tmp_path / "elsewhere") / "report.json"
    report = json.loads(report_file.read_text())
    assert set(report) == {"anna"} and report["anna"]["pdp"]


@pytest.mark.parametrize("command", [["grade", "pdp"], ["release", "pdp"], ["collect", "pdp", "x.zip"],
                                     ["overview"], ["export", "--csv", "grades.csv"], ["student-kit"]])
def test_a_folder_without_nbgrader_config_is_no_course(tmp_path, command):
    before = _listing(PROJECT_ROOT)
    done = _xaigrade(*command, cwd=tmp_path, timeout=120)
    assert done.returncode != 0
    assert str(tmp_path) in done.stderr and "nbgrader_config.py" in done.stderr, done.stdout + done.stderr
    assert "--course-dir" in done.stderr
    assert "Traceback" not in done.stderr
    assert _listing(PROJECT_ROOT) == before
    assert not list(tmp_path.iterdir())  # nothing written where it was started


def test_course_dir_without_nbgrader_config_is_named_in_german(tmp_path):
    empty = tmp_path / "kein_kurs"
    empty.mkdir()
    done = subprocess.run([XAIGRADE, "--language", "de", "grade", "--course-dir", str(empty)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert str(empty) in done.stderr and "kein Kursverzeichnis" in done.stderr and "Sie" in done.stderr
