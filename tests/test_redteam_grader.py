"""Red team, the grader's side (issue 13, classes 4 and 5): work on student-controlled sizes is
bounded (feedback pictures, notebook size, submission files that are links or FIFOs, `xaigrade
collect` on zip bombs), and the pages the instructor opens run no student script.

Memory is measured as the growth of maxrss in a fresh subprocess, work as counts; nothing is timed.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from bs4 import BeautifulSoup

from autograder.batch import Layout, grade_batch
from autograder.config import PROJECT_ROOT, load_settings
from helpers import auto_points, entry_score
from test_redteam import FULL, _solution_index, _with

PYTHON = sys.executable
MARKER = "xaigrade-xss-4711"
RELEASE_NB = PROJECT_ROOT / "release" / "pdp" / "pdp.ipynb"


def _run(script: str, timeout: float = 600) -> dict:
    """Run ``script`` in a fresh Python; it prints one JSON line last. ``grown_mib`` is added: how
    much maxrss grew between the script's ``begin()`` and its end."""
    prologue = textwrap.dedent("""
        import json, resource, sys
        sys.path[:0] = [{root!r}, {tests!r}]
        import xaikit  # (import order: torch before TensorFlow)
        def rss():
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        def begin():
            global _start
            _start = rss()
        def done(**facts):
            print(json.dumps(dict(facts, grown_mib=rss() - _start)))
    """).format(root=str(PROJECT_ROOT), tests=str(PROJECT_ROOT / "tests"))
    process = subprocess.run([PYTHON, "-c", prologue + textwrap.dedent(script)], capture_output=True, text=True,
                             timeout=timeout, cwd=PROJECT_ROOT)
    assert process.returncode == 0, process.stderr[-3000:]
    return json.loads(process.stdout.strip().splitlines()[-1])


# --- 4.1 feedback pictures --------------------------------------------------------------------

def test_a_picture_of_40000_ice_curves_draws_50_and_says_so():
    """Before: all 40,000 curves were drawn (30 s, +500 MiB); now 50 of them, and the caption says it."""
    facts = _run("""
        import numpy as np
        from types import SimpleNamespace
        from autograder import feedback, figures as drawing
        from autograder.checks import Exercise
        from autograder.config import XaiGrade
        from autograder.grading import hidden_context

        exercise = Exercise("pdp")
        cases, expected, _ = hidden_context(exercise, XaiGrade().hidden_seed)
        one_d = next(c for c in cases if c.probe == "probe_pd_1d")
        two_d = next(c for c in cases if c.probe == "probe_pd_2d")
        check_1d = next(c for c in exercise.checks if c.selects(one_d))
        check_2d = next(c for c in exercise.checks if c.selects(two_d))
        figures = []
        original = drawing.new_figure
        drawing.new_figure = lambda *a, **k: figures.append(original(*a, **k)) or figures[-1]
        rng = np.random.default_rng(0)
        result = SimpleNamespace(
            case_results={one_d.id: {"pd": rng.normal(size=(40_000, len(one_d.inputs["grid"])))},
                          two_d.id: {"pd": rng.normal(size=(1500, 2000))}},
            verdicts=[SimpleNamespace(passed=False, case_id=one_d.id, check_id=check_1d.id, task="t1"),
                      SimpleNamespace(passed=False, case_id=two_d.id, check_id=check_2d.id, task="t2")])
        begin()
        pictures = feedback.collect_pictures(exercise, cases, result, expected, "de")
        done(lines=[len(axes.lines) for figure in figures for axes in figure.axes],
             pixels=[int(np.prod(image.get_array().shape[:2])) for figure in figures for axes in figure.axes
                     for image in axes.images],
             captions={check: [c for c, _ in drawn] for check, drawn in pictures.by_check.items()},
             skipped=pictures.skipped)
    """)
    captions = " ".join(c for drawn in facts["captions"].values() for c in drawn)
    assert max(facts["lines"]) <= 51  # 50 ICE curves and the reference
    assert "nur 50 von 40000 Kurven gezeigt" in captions
    assert max(facts["pixels"]) <= 256 * 256 and "verkleinert" in captions
    assert not facts["skipped"] and len(facts["captions"]) == 2
    assert facts["grown_mib"] < 250, facts


def test_a_picture_that_takes_too_long_is_skipped_with_a_note_and_the_page_still_renders():
    import threading

    from autograder import feedback
    from autograder.checks import Exercise
    from autograder.config import XaiGrade
    from autograder.grading import hidden_context

    exercise = Exercise("pdp")
    cases, expected, _ = hidden_context(exercise, XaiGrade().hidden_seed)
    release = threading.Event()
    calls = []

    def stuck(case, got, want, language):
        calls.append(case.id)
        release.wait(120)  # (left behind: it ends when the test does)
        return []

    fake = SimpleNamespace(name="pdp", module=SimpleNamespace(figures=stuck), checks=exercise.checks)
    failing = [c for c in cases if any(check.selects(c) for check in exercise.checks)][:2]
    checks = [next(check for check in exercise.checks if check.selects(c)) for c in failing]
    result = SimpleNamespace(case_results={c.id: {"pd": [1.0]} for c in failing},
                             verdicts=[SimpleNamespace(passed=False, case_id=c.id, check_id=check.id, task=check.task)
                                       for c, check in zip(failing, checks)])
    try:
        pictures = feedback.collect_pictures(fake, cases, result, expected, "en", seconds=0.5)
    finally:
        release.set()
    assert calls == [failing[0].id]  # the second picture is not even started
    assert set(pictures.skipped) == {check.id for check in checks} and not pictures.by_check
    assert all("take too long" in note for note in pictures.skipped.values())
    page = feedback.render_page(SimpleNamespace(verdicts=[SimpleNamespace(
        task=check.task, check_id=check.id, passed=False, score=0, max_score=1, message="m", message_key="values")
        for check in checks], notes=[], score=0, max_score=2, assignment="pdp", student="s"), exercise, "en", pictures)
    assert BeautifulSoup(page, "html.parser").select("p.picture-note")


# --- 4.2 notebook size, links and FIFOs ---------------------------------------------------------

def _junk_metadata_notebook(path: Path, mib: float = 13) -> Path:
    """The full solution with ~``mib`` MiB of junk in its metadata (1.7 million small values)."""
    nb = json.loads(FULL.read_text())
    nb["metadata"]["junk"] = [{"k": i} for i in range(int(mib * 66_000))]
    path.write_text(json.dumps(nb))
    return path


def test_13_mib_of_junk_metadata_is_refused_before_nbformat_builds_it(tmp_path):
    """Before: nbformat read it (670 MiB, 9 s; 2 GiB and 22 s until the sandbox started); now refused
    from a count of the separators (+25 MiB)."""
    notebook = _junk_metadata_notebook(tmp_path / "pdp.ipynb")
    assert notebook.stat().st_size > 12 * 2**20
    facts = _run(f"""
        import nbformat
        from pathlib import Path
        from autograder.checks import Exercise
        from autograder.grading import NotebookProblem, prepare_notebook

        release = nbformat.read({str(RELEASE_NB)!r}, as_version=4)
        begin()
        try:
            prepare_notebook(Exercise("pdp"), Path({str(notebook)!r}), release)
            done(key=None)
        except NotebookProblem as problem:
            done(key=problem.key, params=problem.params)
    """)
    assert facts["key"] == "notebook_too_complex", facts
    assert facts["grown_mib"] < 150, facts


def test_a_notebook_over_the_size_limit_is_refused_unread(tmp_path):
    from autograder.checks import Exercise
    from autograder.grading import NotebookProblem, prepare_notebook
    from autograder.messages import render

    big = tmp_path / "pdp.ipynb"
    with big.open("wb") as handle:
        handle.truncate(21 * 2**20)  # sparse: nothing to read, and nothing is
    release = nbformat.read(RELEASE_NB, as_version=4)
    with pytest.raises(NotebookProblem) as refused:
        prepare_notebook(Exercise("pdp"), big, release)
    assert refused.value.key == "notebook_too_large"
    for language, words in (("de", ("21.0 MiB", "höchstens 20 MiB", "Sie")), ("en", ("21.0 MiB", "at most 20 MiB"))):
        message = render("notebook_too_large", refused.value.params, language)
        assert all(word in message for word in words), message


def test_a_fifo_is_never_waited_on_when_a_task_is_shipped(tmp_path):
    """Before: ``Task.shipped`` (Dask) blocked forever reading a FIFO named pdp.ipynb."""
    fifo = tmp_path / "pdp.ipynb"
    os.mkfifo(fifo)
    facts = _run(f"""
        from autograder.parallel import Task
        begin()
        task = Task("pdp", "s", "f", {str(fifo)!r}).shipped()
        done(data=task.data is not None, path=task.path)
    """, timeout=120)
    assert facts["data"] is False and facts["path"] == str(fifo)


# --- the batch: hostile submission files and script in outputs, through the real sandbox -------

def _with_pasted_demo_output(nb):
    """A kept (not re-run) demo cell whose submitted output carries HTML with script."""
    release = nbformat.read(RELEASE_NB, as_version=4)
    demo = next(c for c in release.cells if c.get("metadata", {}).get("xaigrade", {}).get("demo"))
    cell = next(c for c in nb.cells if c.cell_type == "code" and c.source.strip() == demo.source.strip())
    cell.outputs = [nbformat.v4.new_output("display_data", data={
        "text/html": f"<script>window['{MARKER}-demo']=1</script><b>PDP</b>",
        "application/javascript": f"window['{MARKER}-demo-js']=1",
        "text/plain": "<IPython.core.display.HTML object>"})]
    return nb


def _with_markdown_script(nb):
    nb.cells[_solution_index(nb, "answer_regions")].source += (
        f"\n\n<script>window['{MARKER}-md']=1</script><img src=x onerror=\"window['{MARKER}-img']=1\">"
        "\n\nDas Token `</w>` steht am Wortende.")
    return nb


DISPLAY_HTML = (f"from IPython.display import HTML, Javascript, SVG, display\n"
                f"display(HTML(\"<script>window['{MARKER}-html']=1</script><i>hallo</i>\"))\n"
                f"display(Javascript(\"window['{MARKER}-js']=1\"))\n"
                f"display(SVG('<svg xmlns=\"http://www.w3.org/2000/svg\"><script>window[\"{MARKER}-svg\"]=1</script></svg>'))")


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("redteam-grader")
    submissions, output = root / "submitted", root / "out"
    for student, nb in {"display_html": _with(DISPLAY_HTML), "pasted_demo_output": _with_pasted_demo_output(_with()),
                        "markdown_script": _with(edit=_with_markdown_script), "honest": _with()}.items():
        (submissions / student / "pdp").mkdir(parents=True)
        nbformat.write(nb, str(submissions / student / "pdp" / "pdp.ipynb"))
    (submissions / "junk_metadata" / "pdp").mkdir(parents=True)
    _junk_metadata_notebook(submissions / "junk_metadata" / "pdp" / "pdp.ipynb")
    (submissions / "fifo" / "pdp").mkdir(parents=True)
    os.mkfifo(submissions / "fifo" / "pdp" / "pdp.ipynb")
    (submissions / "symlink" / "pdp").mkdir(parents=True)  # someone else's notebook, by a link
    (submissions / "symlink" / "pdp" / "pdp.ipynb").symlink_to(submissions / "honest" / "pdp" / "pdp.ipynb")
    settings = load_settings(PROJECT_ROOT, cell_timeout=30.0, probe_timeout=30.0, total_timeout=240.0,
                             memory_mb=3072, max_processes=64)
    layout = Layout(PROJECT_ROOT, submissions, output)
    report = grade_batch(["pdp"], layout, settings)
    from autograder.feedback import generate_nbgrader_feedback

    generate_nbgrader_feedback(output, "pdp")
    return {"report": report, "output": output}


def _notes(entry: dict) -> str:
    return " ".join(entry.get("_notes", []))


@pytest.mark.parametrize("student, words", [("junk_metadata", "zu viele Einträge"),
                                            ("fifo", "keine reguläre Datei"),
                                            ("symlink", "keine reguläre Datei")])
def test_hostile_submission_files_get_a_message_and_no_points(batch, student, words):
    entry = batch["report"][student]["pdp"]
    assert entry_score(entry) == 0 and words in _notes(entry), entry


def test_the_honest_submission_of_that_batch_gets_full_points(batch):
    assert entry_score(batch["report"]["honest"]["pdp"]) == auto_points("pdp")


SCRIPT_STUDENTS = ["display_html", "pasted_demo_output", "markdown_script"]


@pytest.mark.parametrize("student", SCRIPT_STUDENTS)
def test_no_student_script_in_the_autograded_notebook(batch, student):
    nb = nbformat.read(batch["output"] / "autograded" / student / "pdp" / "pdp.ipynb", as_version=4)
    rich = [(key, output) for cell in nb.cells for output in cell.get("outputs", [])
            for key in output.get("data", {}) if key not in ("text/plain", "image/png", "image/jpeg")]
    assert not rich
    shown = json.dumps([cell.get("outputs", []) for cell in nb.cells])
    if student != "markdown_script":
        assert MARKER in shown  # shown as text, for the instructor to see what was there
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            assert "<script" not in cell.source and "<img" not in cell.source
    if student == "markdown_script":
        assert "`</w>`" in nb.cells[_solution_index(nb, "answer_regions")].source  # code spans stay as written
    assert entry_score(batch["report"][student]["pdp"]) == auto_points("pdp")


def _scripts_and_handlers(page: str) -> list[str]:
    soup = BeautifulSoup(page, "html.parser")
    found = [str(s)[:200] for s in soup.find_all(["script", "iframe", "object", "embed"]) if MARKER in str(s)]
    found += [str(tag)[:200] for tag in soup.find_all(True)
              if any(name.lower().startswith("on") and MARKER in str(value) for name, value in tag.attrs.items())]
    return found


@pytest.mark.parametrize("student", SCRIPT_STUDENTS)
def test_no_student_script_in_the_pages_the_instructor_opens(batch, student):
    folder = batch["output"] / "feedback" / student / "pdp"
    nbgrader_page, our_page = (folder / "pdp.html").read_text(), (folder / "xaigrade.html").read_text()
    for page in (nbgrader_page, our_page):
        assert not _scripts_and_handlers(page)
        policy = BeautifulSoup(page, "html.parser").find("meta", attrs={"http-equiv": "Content-Security-Policy"})
        assert policy is not None and "script-src 'none'" in policy["content"]
    if student != "markdown_script":
        assert MARKER in BeautifulSoup(nbgrader_page, "html.parser").get_text()  # as text


# --- 4.3 xaigrade collect -------------------------------------------------------------------------

def _zip(files: dict, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _bomb() -> bytes:
    """~100 KiB: a Moodle archive with a zip of 4 zips of 4 'notebooks' of 150 MiB of spaces each
    (2.4 GiB unpacked), one zip nested 5 deep, a member named ../, and a normal submission."""
    spaces = b" " * (150 * 2**20)
    level1 = _zip({f"n{i}.ipynb": spaces for i in range(4)})
    level2 = _zip({f"part{i}.zip": level1 for i in range(4)})
    deep = _zip({"x.ipynb": b"{}"})
    for depth in range(5):
        deep = _zip({f"d{depth}.zip": deep})
    return _zip({"Eve Bomb_101_assignsubmission_file_/bomb.zip": level2,
                 "Deep Dora_102_assignsubmission_file_/deep.zip": deep,
                 "Mal Name_103_assignsubmission_file_/../../etc/pdp.ipynb": b"{}",
                 "Ann Honest_104_assignsubmission_file_/pdp.ipynb": FULL.read_bytes()})


def _collect_in_subprocess(archive: Path, submissions: Path) -> dict:
    return _run(f"""
        from pathlib import Path
        from autograder.collect import collect
        begin()
        report = collect("pdp", Path({str(archive)!r}), Path({str(submissions)!r}), Path({str(RELEASE_NB)!r}))
        done(lines=report.lines("en"), placed=[p[0] for p in report.placed])
    """)


def test_a_nested_zip_bomb_is_read_in_bounded_chunks_and_reported(tmp_path):
    """Before: every member was read whole (2.4 GiB here; 2.6 GiB for the issue's 8 KiB archive)."""
    archive = tmp_path / "moodle.zip"
    archive.write_bytes(_bomb())
    assert archive.stat().st_size < 2**20
    facts = _collect_in_subprocess(archive, tmp_path / "submitted")
    lines = "\n".join(facts["lines"])
    assert facts["placed"] == ["p104"], lines
    assert lines.count("larger than 20 MiB") == 16, lines  # each 'notebook' of the bomb, by name
    assert "nested in more than 3 zip archives" in lines and "name not allowed" in lines, lines
    assert facts["grown_mib"] < 300, facts
    assert not (tmp_path / "etc").exists()


def test_an_archive_with_too_many_members_is_reported_not_read(tmp_path):
    many = _zip({f"f{i}.txt": b"" for i in range(6000)}, zipfile.ZIP_STORED)
    archive = tmp_path / "moodle.zip"
    archive.write_bytes(_zip({"Many Files_201_assignsubmission_file_/many.zip": many,
                              "Ann Honest_104_assignsubmission_file_/pdp.ipynb": FULL.read_bytes()}))
    facts = _collect_in_subprocess(archive, tmp_path / "submitted")
    lines = "\n".join(facts["lines"])
    assert "many.zip: 6000 entries (at most 5000 in the whole archive) – not read" in lines, lines
    assert facts["placed"] == ["p104"], lines
    top = tmp_path / "top.zip"
    top.write_bytes(many)
    facts = _collect_in_subprocess(top, tmp_path / "submitted2")
    assert any("top.zip: 6000 entries" in line for line in facts["lines"]) and facts["grown_mib"] < 100, facts
