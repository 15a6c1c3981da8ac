"""One message catalogue (issue 16): every text in German and English with the same placeholders, one
formatting function whose missing parameters raise in tests, sandbox outcomes as data rendered in the
report's language, and the layers' import directions (checks and feedback do not import each other)."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import logging
import pickle
import re
from pathlib import Path

import pytest

import autograder.messages  # noqa: F401  (registers the grader's entries)
from autograder.config import PROJECT_ROOT
from autograder.exercises import assignments
from autograder.messages import outcome_message
from xaikit.selfcheck import messages
from xaikit.selfcheck.messages import CATALOGUE, LANGUAGES, Message, MessageError, placeholders, render, text

PRESENT = assignments()
GERMAN = re.compile(r"[äöüÄÖÜß]|\b(und|nicht|oder|der|die|das|ist|wird|von|mit|Sie|Ihre?|kein|keine|Punkte|"
                    r"Zeitlimit|Speicherlimit|beendet|überschritten|Prozess|Ausführung)\b")


def _catalogues() -> list[tuple[str, dict]]:
    """(name, catalogue) of every message table: the shared one and each exercise's, student and grader side."""
    found = [("CATALOGUE", CATALOGUE)]
    for assignment in PRESENT:
        found.append((f"autograder.checks.{assignment}.MESSAGES",
                      importlib.import_module(f"autograder.checks.{assignment}").MESSAGES))
        student = importlib.import_module(f"xaikit.selfcheck.exercises.{assignment}")
        if hasattr(student, "MESSAGES"):
            found.append((f"xaikit.selfcheck.exercises.{assignment}.MESSAGES", student.MESSAGES))
    return found


def test_every_message_has_german_and_english_with_the_same_placeholders():
    checked = 0
    for name, catalogue in _catalogues():
        for key, entry in catalogue.items():
            assert set(entry) == set(LANGUAGES), f"{name}[{key!r}]: languages {sorted(entry)}"
            assert all(entry[language].strip() for language in LANGUAGES), f"{name}[{key!r}] is empty"
            assert placeholders(entry["de"]) == placeholders(entry["en"]), f"{name}[{key!r}]: placeholders differ"
            checked += 1
    assert len(CATALOGUE) > 100 and checked > len(CATALOGUE) + 10 * len(PRESENT)  # (all tables were read)


def test_the_grader_catalogue_holds_the_texts_of_pages_exports_collect_batch_and_pictures():
    prefixes = {key.split(".")[0] for key in CATALOGUE if "." in key}
    assert {"page", "fig", "overview", "export", "collect", "outputs", "batch", "outcome", "result"} <= prefixes


def test_a_missing_parameter_raises_in_tests():
    assert messages.strict()  # tests/conftest.py sets XAIKIT_STRICT_MESSAGES
    with pytest.raises(MessageError, match="seconds"):
        text("outcome.timeout", "en")
    with pytest.raises(MessageError, match="seconds"):
        text("outcome.timeout", "de", seconds="soon")  # the wrong type for "{seconds:.0f}"
    with pytest.raises(MessageError, match="name"):
        render("missing_function", {}, "de")


def test_outside_tests_a_missing_parameter_stays_visible_and_is_logged(monkeypatch, caplog):
    monkeypatch.setenv(messages.STRICT_ENV, "0")
    with caplog.at_level(logging.ERROR, logger=messages.__name__):
        shown = text("page.total", "en", score=3)
        wrong_type = text("outcome.timeout", "en", seconds="soon")
    assert shown == "Autograded: 3 of {max_score} points"
    assert wrong_type == "time limit of {seconds:.0f} s exceeded"
    assert "max_score" in caplog.text and "seconds" in caplog.text


def test_an_unknown_key_or_language_raises():
    with pytest.raises(KeyError, match="no_such_message"):
        text("no_such_message", "de")
    with pytest.raises(KeyError, match="no_such_message"):
        render("no_such_message", {}, "en", {"other": {"de": "x", "en": "x"}})
    with pytest.raises(ValueError, match="fr"):
        text("page.passed", "fr")


def test_a_key_cannot_be_registered_twice_with_another_text():
    with pytest.raises(ValueError, match="page.passed"):
        messages.register({"page.passed": {"de": "ok", "en": "ok"}})


def test_a_parameter_may_be_called_key():
    assert text("shape", "en", key="pd", expected=(3,), got=(4,)) == "Wrong shape of result `pd`: expected (3,), got (4,)."
    assert Message("shape", key="pd", expected=1, got=2).render("de").startswith("Falsche Form des Ergebnisses `pd`")


def test_an_exercise_message_wins_over_the_shared_one():
    assert render("passed", {}, "en", {"passed": {"de": "Gut.", "en": "Good."}}) == "Good."
    assert render("passed", {}, "en") == "Passed."


# --- sandbox outcomes: kind + params, rendered in the report's language ------------------------------

OUTCOMES = [("timeout", {"seconds": 15.0}), ("memory", {"mb": 3072}), ("cpu", {}),
            ("cpu", {"detail": "CPU time limit exceeded"}), ("signal", {"signal": "SIGKILL", "detail": ""}),
            ("exit", {"code": 1, "detail": "Traceback"}), ("jail", {"detail": "mount failed"})]


def test_a_job_outcome_is_data_without_text():
    from autograder.runner.sandbox import JobOutcome

    fields = {field.name for field in dataclasses.fields(JobOutcome)}
    assert {"kind", "params"} <= fields and "killed_reason" not in fields


@pytest.mark.parametrize("kind, params", OUTCOMES)
def test_every_outcome_renders_in_both_languages_and_english_has_no_german(kind, params):
    message = outcome_message(kind, params)
    german, english = message.render("de"), message.render("en")
    assert german != english and not GERMAN.search(english), english
    note = render("sandbox_killed", {"reason": message}, "en")
    assert english in note and not GERMAN.search(note)
    assert pickle.loads(pickle.dumps(message)) == message  # (verdicts travel from worker processes)
    assert outcome_message(None, {}) is None


def test_the_german_outcomes_read_as_before():
    assert outcome_message("timeout", {"seconds": 15.0}).render("de") == "Zeitlimit von 15 s überschritten"
    assert outcome_message("memory", {"mb": 512}).render("de") == "Speicherlimit von 512 MiB überschritten"
    assert (outcome_message("signal", {"signal": "SIGKILL", "detail": "x"}).render("de")
            == "Prozess durch SIGKILL beendet (x)")
    assert outcome_message("exit", {"code": 3, "detail": ""}).render("de") == "Ausführung mit Code 3 beendet"


def test_a_forged_probe_status_with_parameters_its_message_cannot_use_becomes_an_invalid_result(tmp_path):
    """The probe's status file is written inside the sandbox: a "timeout" without seconds (or with text
    for them) must neither crash the grader nor show a half-formatted message."""
    import json

    from autograder.runner.results import JobFiles, load_results

    (tmp_path / "a.json").write_text(json.dumps({"ok": False, "kind": "timeout", "params": {"seconds": "never"}}))
    (tmp_path / "b.json").write_text(json.dumps({"ok": False, "kind": "timeout", "params": {"seconds": 60}}))
    (tmp_path / "c.json").write_text(json.dumps({"ok": False, "kind": "exception"}))
    with JobFiles.open(tmp_path) as folder:
        results = load_results(folder, ["a", "b", "c"], 1 << 20)
    assert results["a"].kind == "invalid_result" and results["c"].kind == "invalid_result"
    assert results["b"].kind == "timeout"
    for result in results.values():
        for language in LANGUAGES:
            shown = render(result.kind, {"case": "Fall 1", **result.params}, language)
            assert "{" not in shown, shown


def _english_grading_of_an_outcome(monkeypatch, tmp_path, kind, params):
    """Grade the complete example submission in English while the sandbox reports ``kind`` (the job ran
    nothing, so every check is not run): what the student reads about it."""
    from autograder.checks import Exercise
    from autograder.config import load_settings
    from autograder.grading import grade_notebook
    from autograder.runner import sandbox
    from helpers import TEST_SETTINGS, hidden_setup

    def ended(job, settings, private_paths=None, warm=None):
        return sandbox.JobOutcome(None if kind == "timeout" else -9, 1.0, "", kind, dict(params))

    monkeypatch.setattr(sandbox, "run_job", ended)
    exercise, cases, expected, variants = hidden_setup("pdp")
    settings = load_settings(PROJECT_ROOT, language="en", warm_start=False, **TEST_SETTINGS)
    notebook = PROJECT_ROOT / "examples" / "submissions" / "full_solution" / "pdp" / "pdp.ipynb"
    return grade_notebook(Exercise("pdp"), notebook, "s", PROJECT_ROOT / "release" / "pdp", cases, expected,
                          variants, settings)


@pytest.mark.parametrize("kind, params", OUTCOMES)
def test_an_english_grading_of_a_stopped_submission_says_why_in_english(monkeypatch, tmp_path, kind, params):
    result = _english_grading_of_an_outcome(monkeypatch, tmp_path, kind, params)
    reason = outcome_message(kind, params).render("en")
    assert any(note.startswith("The submission was stopped: " + reason) for note in result.notes), result.notes
    assert result.score == 0 and all(v.message_key == "not_run" for v in result.verdicts)
    for verdict in result.verdicts:
        assert reason in verdict.message and not GERMAN.search(verdict.message), verdict.message
    for note in result.notes:
        assert not GERMAN.search(note), note


def _graded_in_english_with_a_last_cell(tmp_path, source: str, **limits):
    """Grade the complete example submission with one more cell at its end, in English, in the real sandbox."""
    import nbformat

    from autograder.checks import Exercise
    from autograder.config import load_settings
    from autograder.grading import grade_notebook
    from helpers import TEST_SETTINGS, hidden_setup

    notebook = nbformat.read(PROJECT_ROOT / "examples" / "submissions" / "full_solution" / "pdp" / "pdp.ipynb",
                             as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(source))
    path = tmp_path / "pdp.ipynb"
    nbformat.write(notebook, str(path))
    exercise, cases, expected, variants = hidden_setup("pdp")
    settings = load_settings(PROJECT_ROOT, language="en", warm_start=False, **{**TEST_SETTINGS, **limits})
    return grade_notebook(Exercise("pdp"), path, "s", PROJECT_ROOT / "release" / "pdp", cases, expected,
                          variants, settings)


# What the catalogue says in German about a stopped job (none of it may appear in an English report).
GERMAN_OUTCOME_WORDS = re.compile(r"Zeitlimit|Speicherlimit|Prozess durch|Ausführung mit Code|abgebrochen|"
                                  r"Nicht geprüft|Notebook nicht bis|Kernel wurde")


def test_a_submission_out_of_time_in_the_real_sandbox_is_reported_in_english(tmp_path):
    """Through the real sandbox (the other ends - memory, signal, exit - need a machine-specific way to
    provoke them; their rendering is tested above with the sandbox's outcome given)."""
    result = _graded_in_english_with_a_last_cell(tmp_path, "while True:\n    pass", cell_timeout=600.0,
                                                 total_timeout=40.0)
    assert "The submission was stopped: time limit of 40 s exceeded." in " ".join(result.notes), result.notes
    assert not result.score
    for shown in result.notes + [v.message for v in result.verdicts]:
        assert not GERMAN_OUTCOME_WORDS.search(shown), shown


def _branches_on_german(source: str) -> list[tuple[int, str]]:
    """(line, text) of comparisons and string searches whose operand is a German text constant."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in (
                "startswith", "endswith", "find", "index", "count", "match", "search", "fullmatch"):
            operands = node.args[:1]
        else:
            continue
        found += [(node.lineno, constant.value) for operand in operands for constant in ast.walk(operand)
                  if isinstance(constant, ast.Constant) and isinstance(constant.value, str)
                  and GERMAN.search(constant.value)]
    return found


def test_no_code_branches_on_german_text():
    assert _branches_on_german('if outcome.killed_reason.startswith("Zeitlimit"):\n    pass') == [(1, "Zeitlimit")]
    assert _branches_on_german('done = note == "Prozess durch SIGKILL beendet"')
    wrong = [f"{path.relative_to(PROJECT_ROOT)}:{line}: {value!r}" for folder in ("autograder", "xaikit")
             for path, _ in _module_files(folder) for line, value in _branches_on_german(path.read_text("utf-8"))]
    assert not wrong, "\n".join(wrong)


# --- layers: who imports whom ------------------------------------------------------------------------

def _imports(path: Path, package: str) -> set[str]:
    """Absolute names of the modules ``path`` imports (relative imports resolved against ``package``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}  # ``from . import feedback``
    return found


def _module_files(folder: str) -> list[tuple[Path, str]]:
    root = PROJECT_ROOT / folder
    files = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
        package = ".".join(parts if path.name == "__init__.py" else parts[:-1])
        files.append((path, package.removesuffix(".__init__")))
    return files


def _offending(files, forbidden: tuple[str, ...]) -> list[str]:
    return [f"{path.relative_to(PROJECT_ROOT)} imports {name}" for path, package in files
            for name in sorted(_imports(path, package)) if name.startswith(forbidden)]


def test_the_import_reader_resolves_relative_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("from ..feedback import png\nfrom . import figures\nimport autograder.checks.pdp\n")
    assert {"autograder.feedback", "autograder.checks.figures", "autograder.checks.pdp"} <= \
        _imports(module, "autograder.checks")


def test_checks_do_not_import_feedback_and_feedback_does_not_import_checks():
    checks = [(p, pkg) for p, pkg in _module_files("autograder") if pkg.startswith("autograder.checks")]
    assert len(checks) >= len(PRESENT) + 1
    assert not _offending(checks, ("autograder.feedback",))
    feedback = [(p, pkg) for p, pkg in _module_files("autograder") if p.stem == "feedback" or pkg.endswith("feedback")]
    assert feedback and not _offending(feedback, ("autograder.checks",))


def test_the_figure_helpers_and_the_catalogue_sit_below_checks_and_feedback():
    below = [(PROJECT_ROOT / "autograder" / f"{name}.py", "autograder") for name in ("figures", "messages")]
    assert not _offending(below, ("autograder.checks", "autograder.feedback", "autograder.grading"))
    # (that xaikit imports nothing of the grader is tests/test_layers.py's)
