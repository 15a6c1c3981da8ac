"""Exports read from nbgrader's gradebook and our state files: the Moodle round trip (archive in,
grading worksheet out), the grade and per-mistake CSVs, and Gradescope's results.json."""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from autograder.batch import Layout, grade_batch
from autograder.cli import main
from autograder.collect import collect
from autograder.config import PROJECT_ROOT, load_settings
from autograder.exports import MOODLE_COLUMNS, gradescope_results
from test_collect import RELEASE_NB, moodle_archive

# Gradescope autograder specification ("Output format", results.json): the documented fields.
GRADESCOPE_TOP = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
                  "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
GRADESCOPE_TEST = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format",
                   "tags", "visibility", "extra_data"}
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}
FORMATS = {"text", "html", "simple_format", "md", "ansi"}


def validate_gradescope(results: dict) -> None:
    assert set(results) <= GRADESCOPE_TOP, set(results) - GRADESCOPE_TOP
    assert "score" in results or all("score" in t for t in results["tests"])  # one of them is required
    assert isinstance(results["score"], float)
    assert isinstance(results["execution_time"], int) and results["execution_time"] >= 0
    assert isinstance(results["output"], str)
    assert results["visibility"] in VISIBILITY and results["stdout_visibility"] in VISIBILITY
    assert results.get("output_format", "text") in FORMATS
    assert isinstance(results["tests"], list) and results["tests"]
    for test in results["tests"]:
        assert set(test) <= GRADESCOPE_TEST, set(test) - GRADESCOPE_TEST
        assert isinstance(test["score"], float) and isinstance(test["max_score"], float)
        assert 0 <= test["score"] <= test["max_score"]
        assert test["status"] in {"passed", "failed"}
        assert (test["status"] == "passed") == (test["score"] == test["max_score"])
        assert isinstance(test["name"], str) and test["name"] and isinstance(test["output"], str)
        assert test["visibility"] in VISIBILITY and test.get("output_format", "text") in FORMATS
        assert isinstance(test.get("tags", []), list) and isinstance(test["number"], str)
    assert results["score"] == sum(t["score"] for t in results["tests"])  # top-level score overrides: keep equal


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """Moodle archive in (Anna: full solution; Jörg: buggy_axis in a nested zip), graded once."""
    root = tmp_path_factory.mktemp("moodle")
    layout = Layout(PROJECT_ROOT, root / "submitted", root / "out")
    layout.output.mkdir()
    from autograder.nbgrader_bridge import register_assignment

    register_assignment("pdp", PROJECT_ROOT / "source", layout.db_url)
    collect("pdp", moodle_archive(root / "moodle.zip"), layout.submissions, RELEASE_NB, layout.db_url)
    shutil.rmtree(layout.submissions / "p1006")  # two students are enough to grade here
    grade_batch(["pdp"], layout, load_settings(PROJECT_ROOT))
    from nbgrader.api import Gradebook

    with Gradebook(layout.db_url) as gradebook:  # the instructor grades a discussion answer by hand
        gradebook.find_grade("answer_regions", "pdp", "pdp", "p1002").manual_score = 1.5
        gradebook.db.commit()
    return layout


def test_moodle_round_trip_archive_in_grading_worksheet_out(course, tmp_path):
    target = tmp_path / "moodle.csv"
    assert main(["export", "pdp", "--output", str(course.output), "--moodle", str(target)]) == 0
    with target.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == MOODLE_COLUMNS
        rows = {row["Identifier"]: row for row in reader}
    assert set(rows) == {"Participant 1001", "Participant 1002"}  # p1006 was collected but not graded
    anna, joerg = rows["Participant 1001"], rows["Participant 1002"]
    assert anna["Full name"] == "Anna Schmidt" and joerg["Full name"] == "Jörg Müller"
    assert float(anna["Grade"]) == 8.0 and float(anna["Maximum Grade"]) == 18.0  # (8 automatic + 10 by hand)
    assert float(joerg["Grade"]) == 6.5  # 5 autograded + 1.5 by hand: the gradebook's total
    assert "falsche Achse" in joerg["Feedback comments"] and "pdp_1d.values" in joerg["Feedback comments"]
    assert "Alle automatischen Prüfungen bestanden" in anna["Feedback comments"]
    assert joerg["Last modified (grade)"] and joerg["Grade can be changed"] == "Ja"


def test_grades_csv_and_mistakes_csv(course, tmp_path):
    target = tmp_path / "grades.csv"
    assert main(["export", "--output", str(course.output), "--csv", str(target)]) == 0
    rows = {r["student_id"]: r for r in csv.DictReader(target.open(encoding="utf-8"))}
    assert set(rows) >= {"p1001", "p1002"}
    assert float(rows["p1002"]["pdp"]) == 6.5 and float(rows["p1002"]["total"]) == 6.5
    assert float(rows["p1001"]["pdp"]) == 8.0 and rows["p1001"]["last_name"] == "Schmidt"
    assert rows.get("p1006", {}).get("pdp", "") == ""  # collected but not graded: no score, not zero
    checks = list(csv.DictReader((tmp_path / "grades_checks.csv").open(encoding="utf-8")))
    wrong_axis = [r for r in checks if r["message_key"] == "mean_over_wrong_axis"]
    assert {r["check"] for r in wrong_axis} == {"pdp_1d.linear_exact", "pdp_1d.values"}
    assert all(r["students"] == "1" and r["student_ids"] == "p1002" and r["passed"] == "no" for r in wrong_axis)
    assert checks[0]["passed"] == "no"  # mistakes first
    passed = [r for r in checks if r["check"] == "pdp_2d.values" and r["message_key"] == "passed"]
    assert passed[0]["students"] == "2" and float(passed[0]["share"]) == 1.0


def test_gradescope_results_follow_the_documented_format(course, tmp_path):
    assert main(["--language", "en", "export", "--output", str(course.output), "--gradescope", str(tmp_path)]) == 0
    files = sorted(tmp_path.glob("pdp/*/results.json"))
    assert [f.parent.name for f in files] == ["p1001", "p1002"]
    for path in files:
        validate_gradescope(json.loads(path.read_text()))
    joerg = json.loads((tmp_path / "pdp" / "p1002" / "results.json").read_text())
    assert joerg["score"] == 5.0 and joerg["extra_data"]["max_score"] == 8.0
    failed = {t["name"]: t for t in joerg["tests"] if t["status"] == "failed"}
    assert set(failed) == {"1-D PDP of a linear model (known exactly) (pdp_1d.linear_exact)",
                           "1-D PDP of random forest, gradient boosting and a model with an interaction (pdp_1d.values)"}
    assert all("falsche Achse" in t["output"] for t in failed.values())  # graded in German: the student's message


def test_gradescope_validation_rejects_what_the_format_does_not_allow():
    state = {"report": {"c": {"score": 1, "max_score": 1, "message": "ok", "message_key": "passed", "task": "t"}}}
    good = gradescope_results(state)
    validate_gradescope(good)
    for broken in ({**good, "visibility": "public"}, {**good, "grade": 1.0},
                   {**good, "tests": [{**good["tests"][0], "status": "ok"}]},
                   {**good, "score": good["score"] + 1}):
        with pytest.raises(AssertionError):
            validate_gradescope(broken)
