"""Hand grades around the autograder (issue 22), without a sandbox (fast): what the gradebook holds after
``record_scores`` for unanswered and answered cells, a resubmission with a changed and an unchanged answer, an
override whose autograded result changed; what waits for a hand grade; the page with hand points and comments;
Moodle's worksheet and feedback zip as Moodle's importers read them; the secret's fingerprint.

The real formgrader, the sandbox and the CLI walk-through are in ``tests/test_formgrader_e2e.py``."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

from autograder.config import PROJECT_ROOT
from autograder.nbgrader_bridge import (graded_cells, hand_grades, pending_hand_grades, record_scores,
                                        register_assignment)

RELEASE_NB = PROJECT_ROOT / "release" / "pdp" / "pdp.ipynb"
FULL = PROJECT_ROOT / "examples" / "submissions" / "full_solution" / "pdp" / "pdp.ipynb"
def _full_auto_scores() -> dict[str, float]:
    """Each test cell of the release at its full points (the notebook decides which there are)."""
    nb = nbformat.read(PROJECT_ROOT / "release" / "pdp" / "pdp.ipynb", as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"]) for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata["nbgrader"].get("solution")}


AUTO = _full_auto_scores()
AUTO_TOTAL = sum(AUTO.values())


@pytest.fixture(scope="module")
def blank_db(tmp_path_factory):
    """A gradebook that knows pdp (generate_assignment's ~1 s, once); each test copies it."""
    root = tmp_path_factory.mktemp("gradebook")
    register_assignment("pdp", PROJECT_ROOT / "source", f"sqlite:///{root / 'gradebook.db'}")
    return root / "gradebook.db"


@pytest.fixture
def db(blank_db, tmp_path):
    import shutil

    target = tmp_path / "gradebook.db"
    shutil.copy(blank_db, target)
    return f"sqlite:///{target}"


def submission(answers: dict[str, str] | None = None):
    """The release with the given answer cells' sources (grade id -> text): the autograded notebook as xaigrade
    writes it carries the release's nbgrader metadata (checksums included) and the student's sources."""
    nb = nbformat.read(RELEASE_NB, as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in (answers or {}):
            cell.source = answers[grade_id]
    return nb


def state(nb, auto=AUTO) -> dict:
    return {"cells": {name: info["digest"] for name, info in graded_cells(nb).items()}, "auto": dict(auto)}


def hand(db_url, student="s", **scores):
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gradebook:  # as formgrader's PUT /formgrader/api/grade/<id> does
        for name, score in scores.items():
            grade = gradebook.find_grade(name, "pdp", "pdp", student)
            grade.manual_score = score
            grade.needs_manual_grade = score is None and grade.auto_score is None
        gradebook.db.commit()


def comment(db_url, name, words, student="s"):
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gradebook:
        gradebook.find_comment(name, "pdp", "pdp", student).manual_comment = words
        gradebook.db.commit()


def flags(db_url, student="s") -> dict:
    grades = hand_grades(db_url, "pdp", student)["grades"]
    return {name: (grade["auto"], grade["manual"], grade["pending"]) for name, grade in grades.items()}


# --- unanswered cells: 0 points without a hand grade (nbgrader's checksum rule) ---------------------------

def test_an_unchanged_or_empty_answer_gets_0_points_and_a_comment_without_waiting_for_a_hand_grade(db):
    nb = submission({"answer_regions": "", "answer_models": "Die Modelle unterscheiden sich im Verlauf."})
    cells = graded_cells(nb)
    assert cells["answer_lstat"]["blank"] and cells["answer_regions"]["blank"]  # stub as released; emptied
    assert not cells["answer_models"]["blank"]
    record_scores(db, "pdp", "pdp", "s", AUTO, cells, None, "de")
    assert flags(db) == {**{task: (points, None, False) for task, points in AUTO.items()},
                         "answer_lstat": (0.0, None, False), "answer_regions": (0.0, None, False),
                         "answer_pdp_lies": (0.0, None, False), "answer_models": (None, None, True)}
    comments = hand_grades(db, "pdp", "s")["comments"]
    assert comments["answer_lstat"]["auto"] == "Keine Antwort abgegeben." and comments["answer_models"]["auto"] is None
    assert pending_hand_grades(db) == {"pdp": {"s": ["answer_models"]}}


# --- resubmissions: a changed cell's hand grade is looked at again, an unchanged one stays ---------------

def test_a_resubmission_flags_the_hand_grade_of_the_changed_answer_and_keeps_the_unchanged_one(db):
    first = submission({name: f"Erste Antwort zu {name}." for name in ("answer_lstat", "answer_regions",
                                                                       "answer_models")})
    record_scores(db, "pdp", "pdp", "s", AUTO, graded_cells(first), None, "de")
    hand(db, answer_lstat=3.0, answer_regions=0.0, answer_models=2.0)
    comment(db, "answer_regions", "Keine Antwort.")
    assert pending_hand_grades(db) == {}
    again = copy.deepcopy(first)
    for cell in again.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "answer_regions":
            cell.source = "Jetzt eine echte Antwort: rechts unten die höchsten Werte."
    review = record_scores(db, "pdp", "pdp", "s", AUTO, graded_cells(again), state(first), "de")
    assert review == [{"cell": "answer_regions", "why": "answer_changed", "manual": 0.0, "blank": False}]
    assert flags(db) == {**{task: (points, None, False) for task, points in AUTO.items()},
                         "answer_lstat": (None, 3.0, False), "answer_regions": (None, 0.0, True),
                         "answer_pdp_lies": (0.0, None, False), "answer_models": (None, 2.0, False)}
    assert pending_hand_grades(db) == {"pdp": {"s": ["answer_regions"]}}
    # regrading the same notebook once more changes nothing (the flag stays until formgrader resolves it)
    assert record_scores(db, "pdp", "pdp", "s", AUTO, graded_cells(again), state(again), "de") == []
    assert flags(db)["answer_regions"] == (None, 0.0, True) and flags(db)["answer_lstat"] == (None, 3.0, False)


def test_an_override_is_looked_at_again_only_when_the_autograded_result_changed(db):
    nb = submission()
    record_scores(db, "pdp", "pdp", "s", {"test_pdp_1d": 1.0, "test_pdp_2d": 4.0}, graded_cells(nb), None, "de")
    hand(db, test_pdp_1d=2.0)  # the instructor's override of an autograded cell
    before = state(nb, {"test_pdp_1d": 1.0, "test_pdp_2d": 4.0})
    assert record_scores(db, "pdp", "pdp", "s", {"test_pdp_1d": 1.0, "test_pdp_2d": 4.0}, graded_cells(nb),
                         before, "de") == []
    assert flags(db)["test_pdp_1d"] == (1.0, 2.0, False)  # same result: the override stands
    review = record_scores(db, "pdp", "pdp", "s", AUTO, graded_cells(nb), before, "de")  # the student fixed it
    assert review == [{"cell": "test_pdp_1d", "why": "override_changed", "manual": 2.0, "before": 1.0, "now": 4.0}]
    assert flags(db)["test_pdp_1d"] == (4.0, 2.0, True)


def test_a_hand_comment_on_changed_code_is_named_and_a_first_grading_flags_what_is_there(db):
    nb = submission()
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "partial_dependence_1d":
            cell.source = "def partial_dependence_1d(model, X, feature, grid):\n    return grid"
    record_scores(db, "pdp", "pdp", "s", AUTO, graded_cells(nb), None, "de")
    comment(db, "partial_dependence_1d", "Bitte ohne Schleife.")
    fixed = copy.deepcopy(nb)
    fixed.cells[[c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells].index("partial_dependence_1d")] \
        .source = "def partial_dependence_1d(model, X, feature, grid):\n    return grid * 1"
    assert record_scores(db, "pdp", "pdp", "s", AUTO, graded_cells(fixed), state(nb), "de") == \
        [{"cell": "partial_dependence_1d", "why": "comment_changed"}]
    # without the last grading's state (graded before, or the state is gone) a hand grade is looked at again,
    # as nbgrader's own autograde does
    hand(db, answer_models=1.0)
    review = record_scores(db, "pdp", "pdp", "s", AUTO, graded_cells(fixed), None, "de")
    assert {item["cell"] for item in review} >= {"answer_models"}


def test_the_old_record_scores_kept_stale_hand_grades(db, monkeypatch):
    """Control for the tests above: before issue 22 a resubmitted answer kept its hand grade unflagged, an
    unchanged answer was waiting for a hand grade, and a changed autograded result left the override standing."""
    from nbgrader.api import Gradebook

    def old_record_scores(db_url, assignment, notebook, student, task_scores):  # (the code as it was)
        with Gradebook(db_url) as gradebook:
            gradebook.update_or_create_student(student)
            gradebook.update_or_create_submission(assignment, student)
            submitted = gradebook.find_submission_notebook(notebook, assignment, student)
            for grade in submitted.grades:
                if grade.cell.name in task_scores:
                    grade.auto_score = float(task_scores[grade.cell.name])
                    grade.needs_manual_grade = False
            gradebook.db.commit()

    old_record_scores(db, "pdp", "pdp", "s", {"test_pdp_1d": 1.0, "test_pdp_2d": 4.0})
    hand(db, test_pdp_1d=2.0, answer_regions=0.0)
    old_record_scores(db, "pdp", "pdp", "s", AUTO)
    stale = flags(db)
    assert stale["test_pdp_1d"] == (4.0, 2.0, False) and stale["answer_regions"] == (None, 0.0, False)
    assert stale["answer_lstat"] == (None, None, True)  # the unanswered stub waits for a hand grade


# --- the page: the gradebook's total, hand points and comments; refreshed after hand grading ----------------

def _result(score: float = 8.0):
    from autograder.grading import SubmissionResult
    from helpers import grade_namespace

    verdicts = grade_namespace("pdp", {})
    return SubmissionResult("s", "pdp", list(verdicts.values()))


def test_the_page_shows_hand_points_and_comments_next_to_the_automatic_ones_and_is_refreshed(db, tmp_path):
    from autograder import feedback
    from autograder.checks import Exercise

    exercise, release = Exercise("pdp"), nbformat.read(RELEASE_NB, as_version=4)
    nb = submission({"answer_lstat": "LSTAT senkt den Wert.", "answer_models": "Der Wald springt."})
    record_scores(db, "pdp", "pdp", "s", AUTO, graded_cells(nb), None, "de")
    page = feedback.write_feedback_page(_result(), exercise, tmp_path / "xaigrade.html", "de",
                                        hand=hand_grades(db, "pdp", "s"), release=release)
    soup = BeautifulSoup(page.read_text(), "html.parser")
    total = soup.select_one(".total")
    assert (total["data-score"], total["data-max-score"], total["data-pending"]) == (f"{AUTO_TOTAL:g}", "27", "2")
    assert total.text.startswith(f"Vorläufig: {AUTO_TOTAL:g} von 27 Punkten")
    answers = {s["data-cell"]: s for s in soup.select("section.answer")}
    assert answers["answer_regions"].select_one("h3").text == "Frage 2 (3 Punkte): Regionen des 2-D-PDP"
    assert "Keine Antwort abgegeben." in answers["answer_regions"].text  # unanswered: 0 points, said so
    assert "noch nicht bewertet" in answers["answer_lstat"].select_one(".points").text
    hand(db, answer_lstat=2.5, answer_models=4.0)
    comment(db, "answer_lstat", "Zahlen fehlen <script>alert(1)</script>")
    assert feedback.refresh_page(page, hand_grades(db, "pdp", "s"), exercise, release, "de")
    soup = BeautifulSoup(page.read_text(), "html.parser")
    total = soup.select_one(".total")
    assert (total["data-score"], total["data-hand-score"], total["data-pending"]) == (f"{AUTO_TOTAL + 6.5:g}", "6.5", "0")
    assert total.text == f"Gesamt: {AUTO_TOTAL + 6.5:g} von 27 Punkten".replace(".", ",") and "von Hand bewertet: 6,5 von 13" in soup.text
    lstat = soup.select_one("section.answer[data-cell=answer_lstat]")
    assert lstat.select_one(".points").text == "2,5 / 3 Punkte"
    assert lstat.select_one(".comment").text == "Zahlen fehlen <script>alert(1)</script>" and not soup.select("script")
    assert len(soup.select("section.check")) == len(exercise.checks)  # the automatic part as graded
    english = feedback.render_page(_result(), exercise, "en", hand=hand_grades(db, "pdp", "s"), release=release)
    assert f"Total: {AUTO_TOTAL + 6.5:g} of 27 points" in english and "graded by hand: 6.5 of 13" in english


# --- Moodle: the worksheet and the feedback zip as Moodle's importers read them -------------------------------

def moodle_participant(path_in_zip: str, participants: set[str]) -> tuple[str, str, str] | None:
    """Moodle's ``assignfeedback_file_zip_importer::is_valid_filename_for_import`` (mod/assign/feedback/file/
    importziplib.php), in Python: each path part split at '_' into at most 5 pieces; the first part with at least 4
    pieces whose 2nd is a participant id and 3rd/4th a plugin gives (participant, plugin, file name)."""
    parts = path_in_zip.split("/")
    if parts[-1].startswith((".", "~")):
        return None
    while parts:
        info = parts.pop(0).split("_", 4)
        if len(info) < 4 or not info[1].isdigit() or info[1] not in participants:
            continue
        if f"{info[2]}_{info[3]}" not in ("assignfeedback_file", "assignsubmission_file"):
            continue
        rest = info[4] if len(info) == 5 else ""
        return info[1], f"{info[2]}_{info[3]}", "/".join([rest, *parts])
    return None


def test_moodles_importer_logic_as_ported_accepts_moodles_own_names():
    """The port against the cases of Moodle's own test (importziplib_test.php)."""
    ids = {"7"}
    assert moodle_participant("Student Name_7_assignsubmission_file_My_cool_filename.txt", ids) == \
        ("7", "assignsubmission_file", "My_cool_filename.txt")
    assert moodle_participant("some_path_here/Student Name_7_assignsubmission_file_/some_path/My File.txt", ids) == \
        ("7", "assignsubmission_file", "/some_path/My File.txt")
    for bad in ("Student Name_StringID_assignsubmission_file_x.txt", "Student Name_107_assignsubmission_file_x.txt",
                "Student Name_7_assignsubmission_noplugin_x.txt", ".hiddenfile", "~hiddenfile", "RandomFile.txt"):
        assert moodle_participant(bad, ids) is None, bad


def test_a_name_with_underscores_still_reaches_its_participant():
    from autograder.exports import moodle_folder

    folder = moodle_folder("Anna_Lena Schmidt", "1001")
    assert folder == "Anna Lena Schmidt_1001_assignfeedback_file_"
    assert moodle_participant(f"{folder}/xaigrade.html", {"1001"}) == ("1001", "assignfeedback_file", "/xaigrade.html")
    # (left as it is, the first "_" would end the name: piece 2 is "Lena Schmidt", no participant id)
    assert moodle_participant("Anna_Lena Schmidt_1001_assignfeedback_file_/x.html", {"1001"}) is None


def test_the_secret_is_recorded_by_a_fingerprint_that_tells_secrets_apart(tmp_path):
    from autograder.config import XaiGrade
    from autograder.secret import PublicSeedRefused, course_secret, fingerprint

    one, other = b"a" * 64, b"b" * 64
    assert fingerprint(one) == fingerprint(one) != fingerprint(other)
    assert len(fingerprint(one)) == 16 and one.decode() not in fingerprint(one)
    archived = tmp_path / "ws2025" / "secret"
    archived.parent.mkdir()
    archived.write_bytes(other + b"\n")
    assert course_secret(tmp_path, XaiGrade(), secret_file=archived) == other
    with pytest.raises(FileNotFoundError):
        course_secret(tmp_path, XaiGrade(), secret_file=tmp_path / "missing")
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(PublicSeedRefused):
        course_secret(tmp_path, XaiGrade(), secret_file=tmp_path / "empty")


def test_an_archived_secret_must_sit_in_a_folder_the_sandbox_can_hide():
    from autograder.batch import archive_folder

    with pytest.raises(SystemExit, match="folder of its own"):
        archive_folder(PROJECT_ROOT / "secret-ws2025")  # (covering the project would cover the kit the job runs)
    with pytest.raises(SystemExit):
        archive_folder(Path("/secret"))
    assert archive_folder(Path("/srv/archive/ws2025/secret")) == Path("/srv/archive/ws2025")


def test_the_worksheet_headers_are_moodles_strings_in_both_languages():
    """Spot checks against the language packs quoted in exports.py (AMOS, Moodle 4.5): the three columns Moodle's
    importer looks for, and the Identifier prefix whose length it strips."""
    from autograder.exports import MOODLE_STRINGS, moodle_columns

    de, en = moodle_columns("de"), moodle_columns("en")
    assert {"ID", "Bewertung", "Zuletzt geändert (Bewertung)", "Feedback als Kommentar"} <= set(de)
    assert {"Identifier", "Grade", "Last modified (grade)", "Feedback comments"} <= set(en)
    assert MOODLE_STRINGS["de"]["hiddenuser"] == "Teilnehmer/in" and MOODLE_STRINGS["en"]["hiddenuser"] == "Participant"
    identifier = MOODLE_STRINGS["de"]["hiddenuser"] + "1001"
    assert identifier[len(MOODLE_STRINGS["de"]["hiddenuser"]):] == "1001"  # importgradeslib.php next(): substr


def test_a_library_warning_during_the_public_self_check_stays_off_stderr():
    """A correct pdp solution that predicts on ``X.to_numpy()`` makes scikit-learn warn "X does not have valid
    feature names" on stderr; in the notebook's test cell that alarmed students and made plain nbgrader score the
    cell 0. The self-check judges the result only: the warning stays off stderr, the check passes. (In a fresh
    Python, as in the kernel: pytest would catch the warning itself.)"""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import numpy as np
        from xaikit.selfcheck import run_public_checks

        def partial_dependence_1d(model, X, feature, grid):
            modified = X.copy()
            values = []
            for value in np.asarray(grid, dtype=float):
                modified[feature] = value
                values.append(float(np.mean(model.predict(modified.to_numpy()))))
            return np.array(values)

        run_public_checks("pdp", "test_pdp_1d", {"partial_dependence_1d": partial_dependence_1d})
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=RELEASE_NB.parent, capture_output=True, text=True,
                          timeout=300, env={"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "3",
                                            "HOME": str(Path.home())})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "✔" in done.stdout and "✘" not in done.stdout
    assert "feature names" not in done.stderr and done.stderr.strip() == "", done.stderr[-2000:]


def test_nbgraders_generate_feedback_without_force_renews_what_xaigrade_graded_and_skipped_it_before(tmp_path):
    """nbgrader's ``generate_feedback`` (without --force) renews a student's feedback folder only when the autograded
    folder's timestamp.txt is later than the feedback folder's (``BaseConverter.init_destination``). xaigrade writes
    its page into the feedback folder; with the timestamps it writes (``batch._timestamps``) nbgrader makes its page;
    without them (as before issue 22) nbgrader skipped every student ("Skipping existing assignment")."""
    import shutil
    import subprocess
    import sys

    from autograder.batch import Layout, _timestamps

    course = tmp_path / "course"
    (course / "source").mkdir(parents=True)
    shutil.copytree(PROJECT_ROOT / "source" / "pdp", course / "source" / "pdp")
    shutil.copy(PROJECT_ROOT / "nbgrader_config.py", course)
    layout = Layout(course, course / "submitted", course)
    register_assignment("pdp", course / "source", layout.db_url)
    nb = submission({"answer_lstat": "Eine Antwort."})
    for student in ("a", "b"):
        (course / "autograded" / student / "pdp").mkdir(parents=True)
        nbformat.write(nb, str(course / "autograded" / student / "pdp" / "pdp.ipynb"))
        record_scores(layout.db_url, "pdp", "pdp", student, AUTO, graded_cells(nb), None, "de")
        (course / "feedback" / student / "pdp").mkdir(parents=True)
        (course / "feedback" / student / "pdp" / "xaigrade.html").write_text("<html></html>")  # our page
    _timestamps(layout, "a", "pdp")  # graded by xaigrade now; "b" as before issue 22: no timestamps
    run = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "generate_feedback", "pdp"], cwd=course,
                         capture_output=True, text=True, timeout=300)
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-2000:]
    assert (course / "feedback" / "a" / "pdp" / "pdp.html").exists()
    assert f"Skipping existing assignment: {course}/feedback/b/pdp" in log
    assert not (course / "feedback" / "b" / "pdp" / "pdp.html").exists()
