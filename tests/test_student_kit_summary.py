"""`xai-kurs check`'s summary (issue 23): points, not counted lines, in one language.

The notebook here is built in the test (no kernel runs): test cells with the outputs `run_public_checks` prints
(``format_line``), a cell that raised, one the kernel never reached, and answers graded by hand.
"""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from xaikit import student
from xaikit.selfcheck.core import Verdict, format_line, parse_line


def _test_cell(grade_id: str, points: float, verdicts: list[Verdict] | None, error: str | None = None):
    cell = new_code_cell(f"run_public_checks('demo', {grade_id!r}, globals())",
                         metadata={"nbgrader": {"grade": True, "solution": False, "grade_id": grade_id,
                                                "points": points}})
    if verdicts is not None:
        cell.execution_count = 1
        text = "".join(format_line(v, f"title of {v.check_id}") + "\n" for v in verdicts)
        cell.outputs = [new_output("stream", name="stdout", text=text)]
        if any(not v.passed for v in verdicts):
            cell.outputs.append(new_output("error", ename="AssertionError", evalue="…", traceback=[]))
    if error:
        cell.execution_count = 1
        cell.outputs = [new_output("error", ename="NameError", evalue=error, traceback=[])]
    return cell


def _verdict(check_id, score, max_score):
    return Verdict(check_id, "t", score, max_score, "passed" if score == max_score else "m0",
                   "Bestanden." if score == max_score else "Sie mitteln über die falsche Achse (Fall 1).")


def _notebook():
    return new_notebook(cells=[
        new_markdown_cell("## Aufgabe 1: Mittelwerte"),
        _test_cell("test_a", 3, [_verdict("a.values", 2, 2), _verdict("a.shape", 0, 1)]),
        new_markdown_cell("## Aufgabe 2: Kurven"),
        _test_cell("test_b", 2, None, error="name 'np' is not defined"),
        new_markdown_cell("## Aufgabe 3: Noch eine"),
        _test_cell("test_c", 4, None),  # never run (the kernel died before)
        new_markdown_cell("Ihre Antwort", metadata={"nbgrader": {"grade": True, "solution": True,
                                                                  "grade_id": "answer", "points": 5}}),
        new_markdown_cell("Aufgabe", metadata={"nbgrader": {"task": True, "grade_id": "task", "points": 1}}),
    ])


def test_the_summary_adds_up_points_and_counts_every_cell_at_its_points(monkeypatch):
    monkeypatch.delenv("XAI_COURSE_LANGUAGE", raising=False)
    lines: list[str] = []
    assert student.summary(_notebook(), lines) == (2.0, 9.0, 6.0)
    assert lines[-2:] == ["✘ 2/9 Punkte in den öffentlichen Prüfungen",
                          "  Dazu kommen bis zu 6 Punkte für Ihre Antworten auf die Fragen; sie werden von Hand "
                          "bewertet. Die Bewertung prüft mit anderen, verborgenen Eingaben."]
    assert "✘ Aufgabe 2: Kurven: NameError: name 'np' is not defined" in lines
    assert "✘ Aufgabe 3: Noch eine: nicht ausgeführt (das Notebook wurde vorher abgebrochen)" in lines
    assert "      → Sie mitteln über die falsche Achse (Fall 1)." in lines  # the check's own lines, as printed
    assert not any(word in line for line in lines for word in ("passed", "failed", "points", "bestanden /"))


def test_the_summary_speaks_english_when_asked_and_passes_only_at_full_points(monkeypatch):
    monkeypatch.setenv("XAI_COURSE_LANGUAGE", "en")
    full = new_notebook(cells=[_test_cell("test_a", 3, [_verdict("a.values", 2, 2), _verdict("a.shape", 1, 1)])])
    lines: list[str] = []
    assert student.summary(full, lines) == (3.0, 3.0, 0.0)
    assert lines[-1] == "✔ 3/3 points in the public checks"
    assert not any("Punkte" in line for line in lines)


def test_parse_line_reads_what_format_line_writes_and_nothing_else():
    for verdict in (_verdict("x.y", 0.5, 1.5), _verdict("x.z", 2, 2)):
        assert parse_line(format_line(verdict, "a title: with a colon").splitlines()[0]) == (
            verdict.passed, verdict.score, verdict.max_score)
    for other in ("✔ Bestanden.", "      → Sie mitteln (Fall 1).", "Aufgabe 1: Mittelwerte", "✘ 2/9 Punkte in x"):
        assert parse_line(other) is None


def test_a_saved_check_writes_the_outputs_into_the_notebook(tmp_path, monkeypatch):
    """`check --save` writes the executed notebook over the file (atomically); without it the file stays."""
    notebook = tmp_path / "demo.ipynb"
    nbformat.write(new_notebook(cells=[_test_cell("test_a", 2, None)]), str(notebook))
    before = notebook.read_bytes()
    ran = _notebook()
    monkeypatch.setattr(student, "run", lambda path, timeout=600.0: (ran, None))
    assert student.check(notebook) == 1 and notebook.read_bytes() == before
    assert student.check(notebook, save=True) == 1
    assert nbformat.read(str(notebook), as_version=4) == ran and not list(tmp_path.glob(".*.tmp"))


def test_an_error_on_a_public_input_is_called_public_and_on_a_hidden_one_hidden():
    """The self-check runs on public inputs: its message must not speak of a hidden one (the grader's still does)."""
    from autograder.config import PROJECT_ROOT
    from xaikit.selfcheck import public_verdicts
    from xaikit.selfcheck.core import ProbeError, evaluate, load_public

    def partial_dependence_1d(*args, **kwargs):
        raise ValueError("kaputt")

    data = load_public(PROJECT_ROOT / "release" / "pdp" / "public_checks.npz")
    verdicts = [v for v in public_verdicts("pdp", {"partial_dependence_1d": partial_dependence_1d}, data=data)
                if v.message_key == "exception"]
    assert verdicts and all(v.message.startswith("Beim Aufruf auf einer öffentlichen Eingabe (") and
                            "ValueError: kaputt" in v.message for v in verdicts), [v.message for v in verdicts]
    english = public_verdicts("pdp", {"partial_dependence_1d": partial_dependence_1d}, language="en", data=data)
    assert any(v.message.startswith("Calling it on a public input (") for v in english)
    exercise = data.exercise("pdp")
    cases = exercise.build_cases(data.seed)
    failed = {case.id: ProbeError("exception", {"error": "ValueError: kaputt"}) for case in cases}
    hidden = [v for v in evaluate(exercise, cases, failed, data.expected, {}, "de") if v.message_key == "exception"]
    assert hidden and all(v.message.startswith("Beim Aufruf auf einer verborgenen Eingabe (") for v in hidden)


def test_a_real_run_over_unix_sockets_reports_a_cell_that_runs_too_long_and_leaves_the_rest_unrun(tmp_path, capfd):
    """`run` with the course kernel (ipc transport: no "Kernel is running over TCP without encryption" from it)."""
    from jupyter_client.kernelspec import KernelSpecManager

    if student.KERNEL_NAME not in KernelSpecManager().find_kernel_specs():
        import pytest

        pytest.skip(f"the kernel {student.KERNEL_NAME} is not registered here (setup.sh registers it)")
    notebook = tmp_path / "slow.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("print('first')"), new_code_cell("import time; time.sleep(60)"),
                                       _test_cell("test_a", 2, None)]), str(notebook))
    ran, stopped = student.run(notebook, timeout=5)
    assert stopped and stopped.startswith("CellTimeoutError"), stopped
    assert ran.cells[0].outputs[0]["text"] == "first\n"
    lines: list[str] = []
    student.summary(ran, lines)
    assert lines[-2:] == ["✘ test_a: nicht ausgeführt (das Notebook wurde vorher abgebrochen)",
                          "✘ 0/2 Punkte in den öffentlichen Prüfungen"]
    captured = capfd.readouterr()
    assert "without encryption" not in captured.out + captured.err
