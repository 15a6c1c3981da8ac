"""`xaigrade collect`: Moodle's "download all submissions" archive into submitted/, with a report of
what could not be placed, student ids from participant ids, names or a mapping file, and the
gradebook learning names and participant ids (no grading here: fast)."""

from __future__ import annotations

import io
import zipfile

import nbformat
import pytest

from autograder.collect import collect, read_mapping, slug
from autograder.config import PROJECT_ROOT

EXAMPLES = PROJECT_ROOT / "examples" / "submissions"
RELEASE_NB = PROJECT_ROOT / "release" / "pdp" / "pdp.ipynb"
FOLDER = "_assignsubmission_file_"


def other_assignment_notebook() -> bytes:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(1)")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "test_something_else", "points": 1}
    nb.cells.append(cell)
    return nbformat.writes(nb).encode()


def nested_zip(files: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def moodle_archive(path, flat=False):
    """Laid out as Moodle's assignment download ("submissions in folders", or flat when ``flat``)."""
    full = (EXAMPLES / "full_solution" / "pdp" / "pdp.ipynb").read_bytes()
    buggy = (EXAMPLES / "buggy_axis" / "pdp" / "pdp.ipynb").read_bytes()
    sep = "" if flat else "/"
    entries = {
        f"Anna Schmidt_1001{FOLDER}{sep}pdp.ipynb": full,
        f"Jörg Müller_1002{FOLDER}{sep}abgabe.zip": nested_zip({"Abgabe PDP/Abgabe PDP (2).ipynb": buggy,
                                                                "__MACOSX/._x": b"junk"}),
        f"Max Mustermann_1003{FOLDER}{sep}notizen.txt": b"keine Ahnung",
        f"Eva Zwei_1004{FOLDER}{sep}a.ipynb": full,
        f"Eva Zwei_1004{FOLDER}{sep}b.ipynb": buggy,
        f"Karl Falsch_1005{FOLDER}{sep}gradcam.ipynb": other_assignment_notebook(),
        f"Lea Doppelt_1006{FOLDER}{sep}pdp.ipynb": full,
        f"Lea Doppelt_1006{FOLDER}{sep}pdp_alt.ipynb": buggy,
        f"Tim Text_1007_assignsubmission_onlinetext_{sep}onlinetext.html": b"<p>hallo</p>",
        "README.txt": b"not a submission",
    }
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize("flat", [False, True], ids=["folders", "flat"])
def test_moodle_archive_is_placed_and_problems_are_reported(tmp_path, flat):
    archive = moodle_archive(tmp_path / "moodle.zip", flat)
    db = f"sqlite:///{tmp_path / 'gradebook.db'}"
    report = collect("pdp", archive, tmp_path / "submitted", RELEASE_NB, db)
    placed = {student: source for student, _, _, source, _ in report.placed}
    assert set(placed) == {"p1001", "p1002", "p1006"}
    assert "!/Abgabe PDP/Abgabe PDP (2).ipynb" in placed["p1002"]  # from the zip inside the submission
    assert placed["p1006"].endswith("pdp.ipynb")  # two notebooks, one with the assignment's name
    target = tmp_path / "submitted" / "p1002" / "pdp" / "pdp.ipynb"
    assert target.read_bytes() == (EXAMPLES / "buggy_axis" / "pdp" / "pdp.ipynb").read_bytes()
    assert sorted(p.name for p in target.parent.iterdir()) == ["pdp.ipynb", "timestamp.txt"]  # (its Moodle time)
    keys = sorted((p.key, p.params.get("source") or p.params.get("name")) for p in report.problems)
    assert [k for k, _ in keys] == ["not_chosen", "not_notebook", "not_notebook", "two_notebooks", "unknown_entry",
                                    "wrong_assignment"]
    lines = "\n".join(report.lines("de"))
    assert "notizen.txt: keine Notebook-Datei" in lines
    assert "Eva Zwei (Teilnehmer 1004): mehrere Notebooks" in lines
    assert "gehört nicht zur Aufgabe pdp" in lines and "README.txt" in lines
    assert "3 Abgaben übernommen, 6 Dateien/Abgaben nicht zugeordnet" in lines
    assert "several notebooks" in "\n".join(report.lines("en"))
    assert not (tmp_path / "submitted" / "p1004").exists() and not (tmp_path / "submitted" / "p1005").exists()

    from nbgrader.api import Gradebook

    with Gradebook(db) as gradebook:
        student = gradebook.find_student("p1002")
        assert (student.first_name, student.last_name, student.lms_user_id) == ("Jörg", "Müller", "1002")
    assert sorted(report.new_students) == ["p1001", "p1002", "p1006"]


def test_collecting_again_keeps_unchanged_files_so_they_are_not_regraded(tmp_path):
    archive = moodle_archive(tmp_path / "moodle.zip")
    collect("pdp", archive, tmp_path / "submitted", RELEASE_NB)
    target = tmp_path / "submitted" / "p1001" / "pdp" / "pdp.ipynb"
    before = target.stat().st_mtime_ns
    again = collect("pdp", archive, tmp_path / "submitted", RELEASE_NB)
    assert not again.placed and {s for s, _ in again.unchanged} == {"p1001", "p1002", "p1006"}
    assert target.stat().st_mtime_ns == before


def test_mapping_file_and_name_slugs(tmp_path):
    archive = moodle_archive(tmp_path / "moodle.zip")
    mapping_file = tmp_path / "mapping.csv"
    mapping_file.write_text("participant,name,student_id\nParticipant 1001,,anna\n,Jörg Müller,jmueller\n")
    report = collect("pdp", archive, tmp_path / "mapped", RELEASE_NB, mapping=read_mapping(mapping_file))
    assert {s for s, *_ in report.placed} == {"anna", "jmueller"}
    assert any(p.key == "unmapped" and p.params["pid"] == "1006" for p in report.problems)
    by_name = collect("pdp", archive, tmp_path / "named", RELEASE_NB, ids="name")
    assert {s for s, *_ in by_name.placed} == {"anna_schmidt", "joerg_mueller", "lea_doppelt"}
    assert slug("Ça va Ölmann-Straße") == "ca_va_oelmann_strasse"


def test_cli_collect_exits_nonzero_when_something_was_not_placed(tmp_path, capsys):
    from autograder.cli import main

    archive = moodle_archive(tmp_path / "moodle.zip")
    code = main(["--language", "en", "collect", "pdp", str(archive), "--submissions", str(tmp_path / "submitted"),
                 "--output", str(tmp_path / "out"), "--course-dir", str(PROJECT_ROOT)])
    out = capsys.readouterr().out
    assert code == 2
    assert "3 submissions placed, 6 files/submissions not placed" in out
    assert (tmp_path / "out" / "gradebook.db").exists()


@pytest.mark.parametrize("flat", [False, True], ids=["folders", "flat"])
def test_a_second_notebook_beside_the_assignments_one_is_named_in_the_report(tmp_path, flat):
    """Lea hands in pdp.ipynb and pdp_alt.ipynb: pdp.ipynb is placed, and the report says that
    pdp_alt.ipynb was not (both languages); so do the system files skipped and a second
    submission under a student id already used."""
    archive = moodle_archive(tmp_path / "moodle.zip", flat)
    report = collect("pdp", archive, tmp_path / "submitted", RELEASE_NB)
    placed = {student: source for student, _, _, source, _ in report.placed}
    assert placed["p1006"].endswith("pdp.ipynb") and "pdp_alt" not in placed["p1006"]
    [skipped] = [p for p in report.problems if p.key == "not_chosen"]
    assert skipped.params["source"].endswith("pdp_alt.ipynb") and skipped.params["chosen"] == placed["p1006"]
    german = "\n".join(report.lines("de"))
    english = "\n".join(report.lines("en"))
    assert "Lea Doppelt (Teilnehmer 1006): " in german and "pdp_alt.ipynb nicht übernommen" in german
    assert "bitte prüfen Sie" in german
    assert "Lea Doppelt (participant 1006): " in english and "pdp_alt.ipynb not placed" in english
    assert "1 Systemdatei(en) übergangen" in german and "__MACOSX/._x" in german
    assert "1 system file(s) skipped" in english
    assert not (tmp_path / "submitted" / "p1006" / "pdp" / "pdp_alt.ipynb").exists()

    mapping = {("pid", "1001"): "anna", ("pid", "1006"): "anna", ("pid", "1002"): "jmueller"}
    shared = collect("pdp", archive, tmp_path / "shared", RELEASE_NB, mapping=mapping)
    assert {s for s, *_ in shared.placed} == {"anna", "jmueller"}
    [twice] = [p for p in shared.problems if p.key == "same_student"]
    assert twice.params["student"] == "anna" and twice.params["name"] == "Lea Doppelt"
    assert "dieselbe Kennung anna wie Anna Schmidt" in "\n".join(shared.lines("de"))
