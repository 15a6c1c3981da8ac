"""Red team, second round (issue 21, classes 1 and 2, and CSV injection): the notebook's own nbgrader
metadata is student data too.

1. A student puts script into the ``grade_id`` of their own solution, answer or test cell (or of an extra
   cell) and still gets full marks. nbgrader's formgrader prints ``grade_id`` raw into its ``formgrade``
   page, in the instructor's logged-in Jupyter. Now the autograded notebook carries the release's
   nbgrader metadata on every graded cell (``nbgrader_bridge.impose_release_metadata``); checked by
   rendering the autograded notebook exactly as formgrader does and loading the page in headless Chromium,
   whose DOM shows whether the payload ran (it adds an element no page source contains).
2. A cell with a grade id the gradebook does not know made nbgrader's ``generate_feedback`` fail for the
   whole batch: exit 1, and every other student's page without the Content-Security-Policy. Now nbgrader
   runs per student and the policy goes onto every page, always.
(Class 3 of that round, formula injection in the CSV exports, is attacked in ``test_exports.py``.)

Nothing is timed.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

from autograder.batch import Layout, grade_batch
from autograder.config import PROJECT_ROOT, load_settings
from autograder.nbgrader_bridge import _nbgrader, impose_release_metadata
from helpers import auto_points, entry_score
from test_redteam import FULL, _solution_index

RELEASE_NB = PROJECT_ROOT / "release" / "pdp" / "pdp.ipynb"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def payload(n: int) -> str:
    """A grade id that breaks out of formgrader's ``<input id="...">`` and ``<textarea id="...">``; when its
    handler runs it adds ``<xss-ran-N>`` to the page (the source only holds ``'xss-ran-' + N``)."""
    return (f'pd{n}"></textarea><img src=x onerror="document.body.appendChild('
            f"document.createElement('xss-ran-' + {n}))\">")


PAYLOADS = {1: "solution cell", 2: "answer cell", 3: "extra cell", 4: "test cell"}


def grade_id_script_notebook():
    """The full solution with script in the grade ids of a solution, an answer and a test cell, the answer
    cell's points raised to 1000, and an extra graded cell the release does not have."""
    nb = nbformat.read(FULL, as_version=4)
    nb.cells[_solution_index(nb, "partial_dependence_1d")].metadata.nbgrader["grade_id"] = payload(1)
    answer = nb.cells[_solution_index(nb, "answer_lstat")].metadata.nbgrader
    answer["grade_id"], answer["points"] = payload(2), 1000
    nb.cells[_solution_index(nb, "test_pdp_2d")].metadata.nbgrader["grade_id"] = payload(4)
    extra = nbformat.v4.new_markdown_cell("Noch eine Antwort.")
    extra.metadata["nbgrader"] = {"grade": True, "solution": True, "task": False, "locked": False, "points": 99,
                                  "grade_id": payload(3), "schema_version": 3}
    nb.cells.insert(_solution_index(nb, "test_pdp_1d") + 1, extra)
    return nb


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("redteam-formgrader")
    submissions = root / "submitted"
    notebooks = {"a_unknown_grade_id": nbformat.read(FULL, as_version=4), "grade_id_script": grade_id_script_notebook(),
                 "honest": nbformat.read(FULL, as_version=4)}
    for student, nb in notebooks.items():
        (submissions / student / "pdp").mkdir(parents=True)
        nbformat.write(nb, str(submissions / student / "pdp" / "pdp.ipynb"))
    settings = load_settings(PROJECT_ROOT, cell_timeout=30.0, probe_timeout=30.0, total_timeout=240.0,
                             memory_mb=3072, max_processes=64)
    layout = Layout(PROJECT_ROOT, submissions, root / "out")
    report = grade_batch(["pdp"], layout, settings)
    from autograder.feedback import generate_nbgrader_feedback

    failed = generate_nbgrader_feedback(layout.output, "pdp")
    return {"report": report, "layout": layout, "root": root, "nbgrader_failed": failed}


# --- rendering as formgrader does, and loading the page in Chromium ---------------------------------------

RENDER = """
import json, os, sys
from pathlib import Path
from types import SimpleNamespace
from nbgrader.server_extensions.formgrader.formgrader import FormgradeExtension

course, notebook, target = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
os.chdir(course)
# as load_jupyter_server_extension: the extension, its tornado settings, their exporter
formgrader = FormgradeExtension()
formgrader.root_dir = str(course)
formgrader.initialize([])
webapp = SimpleNamespace(settings={"base_url": "/"})
formgrader.init_tornado_settings(webapp)
# as SubmissionHandler.get: these resources, exporter.from_filename(autograded notebook)
resources = {"assignment_id": "pdp", "notebook_id": "pdp", "submission_id": "1", "index": 0, "total": 3,
             "base_url": "", "student": "s", "last_name": None, "first_name": None,
             "notebook_path": "autograded/s/pdp/pdp.ipynb"}
page, _ = webapp.settings["nbgrader_exporter"].from_filename(notebook, resources=resources)
target.write_text(page)
"""


def formgrader_page(course: Path, notebook: Path, target: Path) -> str:
    """The page nbgrader's formgrader serves for ``notebook`` (its ``formgrade`` template, its exporter,
    the handler's resources), rendered in a fresh process in the course folder, as the server would."""
    process = subprocess.run([sys.executable, "-c", textwrap.dedent(RENDER), str(course), str(notebook), str(target)],
                             capture_output=True, text=True, timeout=300)
    assert process.returncode == 0, process.stderr[-3000:]
    return target.read_text()


def ran_in_chromium(page: Path, profile: Path) -> set[int]:
    """The payloads whose handlers ran when Chromium loaded ``page`` (from the DOM after loading)."""
    process = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                              "--disable-background-networking", "--disable-component-update", "--disable-sync",
                              f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--dump-dom",
                              page.as_uri()], capture_output=True, text=True, timeout=180)
    dom = process.stdout
    assert "notebook-container" in dom, process.stderr[-2000:]  # the page was loaded and dumped
    return {int(n) for n in re.findall(r"<xss-ran-(\d+)>", dom)}


needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (.ci/run installs it)")


@needs_chromium
def test_the_detector_sees_the_payloads_run_in_the_notebook_as_handed_in(batch, tmp_path):
    """Control: the submission itself, rendered as formgrader renders a notebook, runs every payload
    (so the check below would see one that got through)."""
    raw = tmp_path / "pdp.ipynb"
    nbformat.write(grade_id_script_notebook(), str(raw))
    page = tmp_path / "raw.html"
    formgrader_page(batch["layout"].output, raw, page)
    assert ran_in_chromium(page, tmp_path / "profile") == set(PAYLOADS)


@needs_chromium
def test_the_formgrader_page_of_the_autograded_notebook_runs_no_script(batch, tmp_path):
    """Before: payloads 1-4 ran (in formgrader: as the instructor, with the _xsrf cookie); now none."""
    output = batch["layout"].output
    page = tmp_path / "autograded.html"
    formgrader_page(output, output / "autograded" / "grade_id_script" / "pdp" / "pdp.ipynb", page)
    assert ran_in_chromium(page, tmp_path / "profile") == set()


def test_the_formgrader_page_names_only_the_releases_grade_ids(batch, tmp_path):
    output = batch["layout"].output
    release = nbformat.read(RELEASE_NB, as_version=4)
    graded = {_nbgrader(c)["grade_id"] for c in release.cells if _nbgrader(c).get("grade")}
    answers = {_nbgrader(c)["grade_id"] for c in release.cells if _nbgrader(c).get("solution")}
    page = BeautifulSoup(formgrader_page(output, output / "autograded" / "grade_id_script" / "pdp" / "pdp.ipynb",
                                         tmp_path / "page.html"), "html.parser")
    assert {tag["id"] for tag in page.select("input.score")} == graded
    assert {tag["id"] for tag in page.select("textarea.comment")} == {f"{g}-comment" for g in answers}
    assert not page.find_all("img", src="x")


def test_script_in_grade_ids_keeps_its_marks_and_the_instructor_is_told(batch):
    entry = batch["report"]["grade_id_script"]["pdp"]
    assert entry_score(entry) == auto_points("pdp")  # the student's code is graded as before: the metadata never counted
    notes = " ".join(entry["_notes"])
    for cell in ("partial_dependence_1d", "answer_lstat", "test_pdp_2d"):
        assert f"Zelle `{cell}` waren verändert" in notes, notes
    assert "(grade_id, points)" in notes  # the answer cell's 1000 points
    assert "die es in der Vorlage nicht gibt" in notes and "<img" in notes  # shown as text, escaped on pages


def test_the_autograded_notebook_carries_the_releases_nbgrader_metadata(batch):
    release = nbformat.read(RELEASE_NB, as_version=4)
    released = {_nbgrader(c)["grade_id"]: c for c in release.cells if _nbgrader(c)}
    nb = nbformat.read(batch["layout"].output / "autograded" / "grade_id_script" / "pdp" / "pdp.ipynb", as_version=4)
    marked = [c for c in nb.cells if "nbgrader" in c.metadata]
    assert [_nbgrader(c)["grade_id"] for c in marked] == list(released)  # each once, in the release's order
    for cell in marked:
        want = released[_nbgrader(cell)["grade_id"]]
        assert cell.metadata["nbgrader"] == want.metadata["nbgrader"] and cell.cell_type == want.cell_type
    solution = next(c for c in marked if _nbgrader(c)["grade_id"] == "partial_dependence_1d")
    assert "def partial_dependence_1d" in solution.source and "raise NotImplementedError" not in solution.source


# --- the matching, cell by cell (no sandbox) ---------------------------------------------------------------

def _ids(nb) -> list:
    return [(c.cell_type, _nbgrader(c).get("grade_id")) for c in nb.cells if "nbgrader" in c.metadata]


def _released_ids() -> list:
    return _ids(nbformat.read(RELEASE_NB, as_version=4))


def _edit(edit) -> tuple:
    nb = nbformat.read(FULL, as_version=4)
    edit(nb)
    matched, notes = impose_release_metadata(nb, nbformat.read(RELEASE_NB, as_version=4))
    return nb, matched, notes


def _answer_as_code(nb):
    index = _solution_index(nb, "answer_lstat")
    cell = nb.cells[index]
    cell.metadata.nbgrader["grade_id"] = "mine"
    nb.cells[index] = nbformat.v4.new_code_cell(cell.source, metadata=cell.metadata)
    extra = nbformat.v4.new_markdown_cell("x", metadata={"nbgrader": {"grade": True, "grade_id": "extra", "points": 9}})
    nb.cells.insert(index + 1, extra)


def _copied_solution(nb):
    index = _solution_index(nb, "partial_dependence_2d")
    nb.cells.insert(index + 1, copy.deepcopy(nb.cells[index]))
    nb.cells[index + 1].source = "# my first try\n" + nb.cells[index + 1].source


def _hostile_values(nb):
    nb.cells[_solution_index(nb, "compare_models")].metadata["nbgrader"] = "not an object"
    odd = nbformat.v4.new_markdown_cell("y", metadata={"nbgrader": {"grade": True, "grade_id": ["a", {"b": 1}]}})
    nb.cells.append(odd)


def _swapped_answers(nb):
    a, b = _solution_index(nb, "answer_regions"), _solution_index(nb, "answer_models")
    nb.cells[a], nb.cells[b] = nb.cells[b], nb.cells[a]
    nb.cells[a].metadata.nbgrader["points"] = 50


@pytest.mark.parametrize("edit, notes_have", [
    (_answer_as_code, ["answer_lstat` waren verändert (grade_id, cell_type)", "metadata_removed"]),
    (_copied_solution, ["metadata_copied"]),
    (_hostile_values, ["compare_models` waren verändert", "metadata_removed"]),
    (_swapped_answers, ["answer_models` waren verändert (points)"]),
], ids=["answer_turned_code_plus_extra_cell", "copied_solution_cell", "metadata_not_an_object", "reordered"])
def test_every_graded_cell_carries_the_releases_metadata_whatever_the_student_did(edit, notes_have):
    from autograder.messages import render

    nb, matched, notes = _edit(edit)
    assert matched >= 5
    shown = " ".join(f"{key} {render(key, params, 'de')}" for key, params in notes)
    assert all(words in shown for words in notes_have), shown
    if edit is _swapped_answers:  # matched by grade id, where they are now
        assert sorted(_ids(nb)) == sorted(_released_ids())
    else:
        assert _ids(nb) == _released_ids()
    assert all("nbgrader" not in c.metadata or isinstance(_nbgrader(c).get("grade_id"), str) for c in nb.cells)


def test_the_students_answer_keeps_its_text_and_the_extra_cell_loses_its_metadata():
    nb, _, _ = _edit(_answer_as_code)
    answer = next(c for c in nb.cells if _nbgrader(c).get("grade_id") == "answer_lstat")
    assert answer.cell_type == "markdown" and "outputs" not in answer
    assert answer.source == nbformat.read(FULL, as_version=4).cells[_solution_index(
        nbformat.read(FULL, as_version=4), "answer_lstat")].source
    extra = next(c for c in nb.cells if c.source == "x")
    assert "nbgrader" not in extra.metadata


def test_a_deleted_answer_cell_is_added_back_to_the_autograded_notebook_for_grading():
    nb = nbformat.read(FULL, as_version=4)
    del nb.cells[_solution_index(nb, "answer_regions")]
    release = nbformat.read(RELEASE_NB, as_version=4)
    _, notes = impose_release_metadata(nb, release)
    assert "answer_regions" not in dict(_ids(nb)).values() and not notes  # (before the sandbox: nothing added)
    _, notes = impose_release_metadata(nb, release, add_missing=True)
    assert _ids(nb) == _released_ids() and notes == [("graded_cell_added", {"cell": "answer_regions"})]
    index = _solution_index(nb, "answer_regions")
    assert nb.cells[index - 1].source.startswith("### Frage 2")  # in its place, after its question


def test_thousands_of_extra_graded_cells_give_a_few_notes():
    def many(nb):
        for i in range(3000):
            nb.cells.append(nbformat.v4.new_markdown_cell(f"c{i}", metadata={"nbgrader": {"grade": True,
                                                                                           "grade_id": f"x{i}"}}))

    nb, _, notes = _edit(many)
    assert _ids(nb) == _released_ids() and len(notes) == 6
    assert notes[-1] == ("metadata_removed_more", {"count": 2995})


def test_another_assignments_notebook_is_still_refused():
    from autograder.checks import Exercise
    from autograder.grading import NotebookProblem, restored_test_cells
    from test_collect import other_assignment_notebook

    nb = nbformat.reads(other_assignment_notebook().decode(), as_version=4)
    with pytest.raises(NotebookProblem) as refused:
        restored_test_cells(Exercise("pdp"), nb, nbformat.read(RELEASE_NB, as_version=4))
    assert refused.value.key == "notebook_wrong_assignment"


# --- 2. one student's notebook cannot cost the others their nbgrader feedback -----------------------------

def _with_unknown_grade_id(path: Path) -> None:
    """What an autograded notebook from before the fix held: a cell with a grade id the gradebook lacks."""
    nb = nbformat.read(path, as_version=4)
    cell = nbformat.v4.new_markdown_cell("Extra")
    cell.metadata["nbgrader"] = {"grade": True, "solution": True, "task": False, "locked": False, "points": 1,
                                 "grade_id": "not_in_the_gradebook", "schema_version": 3}
    nb.cells.append(cell)
    nbformat.write(nb, str(path))


def test_the_batchs_feedback_was_made_for_everyone(batch):
    assert batch["nbgrader_failed"] == {}  # (the script in grade ids, too: they are the release's now)


def test_one_unknown_grade_id_costs_only_that_students_nbgrader_page(batch, tmp_path, capsys):
    """Before: `xaigrade grade --nbgrader-feedback` stopped with "nbgrader generate_feedback pdp failed" and
    every other student's nbgrader page had no Content-Security-Policy. Now: exit 0, every other student
    gets nbgrader's page with the policy, the one student our page and a note, the instructor a line."""
    from autograder.cli import main

    output = tmp_path / "out"
    shutil.copytree(batch["layout"].output, output)
    _with_unknown_grade_id(output / "autograded" / "a_unknown_grade_id" / "pdp" / "pdp.ipynb")
    code = main(["--language", "en", "grade", "pdp", "--course-dir", str(PROJECT_ROOT), "--submissions",
                 str(batch["root"] / "submitted"), "--output", str(output), "--nbgrader-feedback"])
    printed = capsys.readouterr().out
    assert code == 0
    assert re.search(r"a_unknown_grade_id: nbgrader's feedback on pdp could not be generated \(.*MissingEntry.*"
                     r"not_in_the_gradebook", printed), printed
    for student in ("grade_id_script", "honest"):
        folder = output / "feedback" / student / "pdp"
        page = BeautifulSoup((folder / "pdp.html").read_text(), "html.parser")
        assert page.select('a[href="xaigrade.html"]') and not page.select(".nbgrader-missing")  # nbgrader's own
        for name in ("pdp.html", "xaigrade.html"):
            policy = BeautifulSoup((folder / name).read_text(), "html.parser").find(
                "meta", attrs={"http-equiv": "Content-Security-Policy"})
            assert policy is not None and "script-src 'none'" in policy["content"], (student, name)
    folder = output / "feedback" / "a_unknown_grade_id" / "pdp"
    ours, note = (BeautifulSoup((folder / name).read_text(), "html.parser") for name in ("xaigrade.html", "pdp.html"))
    assert ours.select("section.check") and float(ours.select_one(".total")["data-score"]) == auto_points("pdp")
    assert "could not be generated" in note.select_one(".nbgrader-missing").text
    assert note.select_one('a[href="xaigrade.html"]')
    for page in (ours, note):
        assert "script-src 'none'" in page.find("meta", attrs={"http-equiv": "Content-Security-Policy"})["content"]


def test_the_policy_goes_onto_every_page_also_when_nbgrader_stops_half_way(batch, tmp_path, monkeypatch):
    from nbgrader.apps import NbGraderAPI

    from autograder.feedback import generate_nbgrader_feedback

    output = tmp_path / "out"
    shutil.copytree(batch["layout"].output, output)
    shutil.rmtree(output / "feedback")
    original = NbGraderAPI.generate_feedback

    def stops_after_the_second_page(self, assignment, student_id=None, force=True):
        outcome = original(self, assignment, student_id=student_id, force=force)
        if student_id != "a_unknown_grade_id":
            raise KeyboardInterrupt  # (Ctrl-C, or anything raised past nbgrader's own handlers)
        return outcome

    monkeypatch.setattr(NbGraderAPI, "generate_feedback", stops_after_the_second_page)
    with pytest.raises(KeyboardInterrupt):
        generate_nbgrader_feedback(output, "pdp")
    pages = sorted((output / "feedback").glob("*/pdp/pdp.html"))  # nbgrader's (ours carry the policy anyway)
    assert [page.parent.parent.name for page in pages] == ["a_unknown_grade_id", "grade_id_script"]
    assert all("script-src 'none'" in page.read_text() for page in pages)
