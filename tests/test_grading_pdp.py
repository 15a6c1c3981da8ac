"""End to end through the sandbox: the PDP examples, broken notebooks in the same batch,
nbgrader's gradebook and export, resuming, and the student-side `xaigrade check`."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.batch import Layout, grade_batch
from autograder.config import PROJECT_ROOT, load_settings

EXAMPLES = PROJECT_ROOT / "examples" / "submissions"
ALL_PDP = {"pdp_1d.linear_exact": 1, "pdp_1d.values": 2, "pdp_1d.input_unchanged": 1,
           "pdp_2d.shape": 1, "pdp_2d.values": 2, "pdp_2d.input_unchanged": 1,
           "ice.values": 1, "ice.centered": 1, "ice.input_unchanged": 1,
           "ale.edges": 1, "ale.differences": 1, "ale.centred": 1}
AUTO = sum(ALL_PDP.values())  # 14 automatic points
MANUAL = 13  # four written answers: 3 + 3 + 4 + 3
EXPECTED = {
    "full_solution": {},
    "buggy_axis": {"pdp_1d.linear_exact": "mean_over_wrong_axis", "pdp_1d.values": "mean_over_wrong_axis"},
    "buggy_transposed": {"pdp_1d.input_unchanged": "input_mutated", "pdp_2d.shape": "transposed_2d",
                         "pdp_2d.values": "transposed_2d"},
    "buggy_ale_all_rows": {"ale.differences": "ale_all_rows", "ale.centred": "ale_all_rows"},
}


def _copy_example(student, target_root, name=None):
    target = target_root / (name or student) / "pdp"
    target.mkdir(parents=True)
    shutil.copy(EXAMPLES / student / "pdp" / "pdp.ipynb", target / "pdp.ipynb")
    return target / "pdp.ipynb"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """One batch: the examples plus broken submissions, graded once for all tests here."""
    root = tmp_path_factory.mktemp("course")
    submissions = root / "submitted"
    for student in ["full_solution", "blank_release", "buggy_axis", "buggy_transposed", "buggy_ale_all_rows"]:
        _copy_example(student, submissions)
    (submissions / "corrupt" / "pdp").mkdir(parents=True)
    (submissions / "corrupt" / "pdp" / "pdp.ipynb").write_text('{"cells": [ this is not json')
    path = _copy_example("full_solution", submissions, "deleted_test_cell")
    nb = nbformat.read(path, as_version=4)
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "test_pdp_1d"]
    nbformat.write(nb, path)
    path = _copy_example("full_solution", submissions, "raises_at_import")
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].source = "import numpy_does_not_exist\n" + nb.cells[1].source
    nbformat.write(nb, path)
    layout = Layout(PROJECT_ROOT, submissions, root / "out")
    seen = []
    report = grade_batch(["pdp"], layout, load_settings(PROJECT_ROOT), progress=lambda r: seen.append(r.student))
    return report, layout, seen


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_examples_lose_exactly_the_points_of_the_checks_they_break(graded, student):
    report = graded[0][student]["pdp"]
    for check_id, points in ALL_PDP.items():
        verdict = report[check_id]
        assert verdict["max_score"] == points
        if check_id in EXPECTED[student]:
            assert verdict["score"] == 0
            assert verdict["message_key"] == EXPECTED[student][check_id]
        else:
            assert verdict["score"] == points, verdict["message"]


def test_blank_release_gets_zero_with_a_readable_message_per_check(graded):
    report = graded[0]["blank_release"]["pdp"]
    for check_id in ALL_PDP:
        assert report[check_id]["score"] == 0
        assert report[check_id]["message_key"] == "not_implemented"
        assert "noch nicht implementiert" in report[check_id]["message"]


def test_corrupt_notebook_is_reported_and_the_batch_goes_on(graded):
    report, _, seen = graded
    entry = report["corrupt"]["pdp"]
    assert all(entry[c]["score"] == 0 for c in ALL_PDP)
    assert "kann nicht gelesen werden" in entry["_notes"][0]
    assert {"full_solution", "deleted_test_cell", "raises_at_import"} <= set(seen)


def test_deleted_test_cell_is_restored_flagged_and_graded(graded):
    entry = graded[0]["deleted_test_cell"]["pdp"]
    assert sum(entry[c]["score"] for c in ALL_PDP) == AUTO
    assert any("test_pdp_1d" in note and "ersetzt" in note for note in entry["_notes"])


def test_code_raising_at_import_gets_a_clear_message(graded):
    entry = graded[0]["raises_at_import"]["pdp"]
    assert any("ModuleNotFoundError" in note and "numpy_does_not_exist" in note for note in entry["_notes"])
    # np is never imported, so every function fails, each with the error named:
    assert all(entry[c]["score"] == 0 for c in ALL_PDP)
    assert "NameError" in entry["pdp_1d.values"]["message"]


def test_scores_are_in_nbgraders_gradebook_and_export(graded):
    from nbgrader.api import Gradebook

    _, layout, _ = graded
    with Gradebook(layout.db_url) as gradebook:
        assert gradebook.find_submission("pdp", "full_solution").score == AUTO == 14
        assert gradebook.find_submission("pdp", "buggy_transposed").score == AUTO - 4
        assert gradebook.find_submission("pdp", "buggy_ale_all_rows").score == AUTO - 2
        assert gradebook.find_submission("pdp", "full_solution").max_score == AUTO + MANUAL == 27
    out = layout.output / "grades.csv"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "export", f"--db={layout.db_url}",
                    f"--to={out}"], check=True, cwd=layout.output, env=env, capture_output=True)
    rows = {(r["assignment"], r["student_id"]): r for r in csv.DictReader(out.open())}
    assert float(rows[("pdp", "buggy_axis")]["raw_score"]) == AUTO - 3


def test_manual_scores_survive_regrading_and_finished_work_is_not_regraded(graded):
    from nbgrader.api import Gradebook

    _, layout, _ = graded
    with Gradebook(layout.db_url) as gradebook:
        grade = gradebook.find_grade("answer_regions", "pdp", "pdp", "full_solution")
        grade.manual_score = 1.5
        gradebook.db.commit()
    seen = []
    grade_batch(["pdp"], layout, load_settings(PROJECT_ROOT), progress=lambda r: seen.append(r.student))
    assert seen == []  # everything was finished: nothing regraded
    grade_batch(["pdp"], layout, load_settings(PROJECT_ROOT), force=True,
                progress=lambda r: seen.append(r.student))
    assert "full_solution" in seen
    with Gradebook(layout.db_url) as gradebook:
        assert gradebook.find_grade("answer_regions", "pdp", "pdp", "full_solution").manual_score == 1.5
        assert gradebook.find_submission("pdp", "full_solution").score == AUTO + 1.5


def test_autograded_notebook_and_feedback_page_are_written(graded):
    _, layout, _ = graded
    nb = nbformat.read(layout.output / "autograded" / "buggy_axis" / "pdp" / "pdp.ipynb", as_version=4)
    test_cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_pdp_1d")
    assert "falsche Achse" in test_cell.outputs[0]["text"]
    page = (layout.output / "feedback" / "buggy_axis" / "pdp" / "xaigrade.html").read_text()
    assert "pdp_1d.values" in page and "falsche Achse" in page


def _check(notebook):
    return subprocess.run([str(Path(sys.executable).parent / "xaigrade"), "check", str(notebook)],
                          capture_output=True, text=True, timeout=300)


def test_xaigrade_check_passes_a_correct_notebook_and_explains_a_wrong_one(tmp_path):
    good = tmp_path / "good" / "pdp.ipynb"
    good.parent.mkdir()
    shutil.copy(EXAMPLES / "full_solution" / "pdp" / "pdp.ipynb", good)
    shutil.copy(PROJECT_ROOT / "release" / "pdp" / "public_checks.npz", good.parent)
    result = _check(good)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("✔") >= len(ALL_PDP)
    bad = tmp_path / "bad" / "pdp.ipynb"
    bad.parent.mkdir()
    shutil.copy(EXAMPLES / "buggy_axis" / "pdp" / "pdp.ipynb", bad)
    result = _check(bad)
    assert result.returncode == 1
    assert "falsche Achse" in result.stdout
