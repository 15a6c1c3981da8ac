"""One voice (issue 15): every German text addressed to students says "Sie", and one concept has one German name.

The German texts are collected programmatically: the message catalogues and text tables of the modules below
(every dict with a "de" entry, at module level or inside a function), the checks' titles, the cases' labels
(the students read them in the messages), the messages shipped in ``release/<a>/public_checks.npz``, the
student README of the kit, the README's "For students" section and the German markdown of the source notebooks.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder.config import PROJECT_ROOT
from autograder.exercises import assignments

PRESENT = assignments()  # every registered exercise (tests/test_exercises.py: each has all its files)

MODULES = ["xaikit.selfcheck.messages", "autograder.messages", "xaikit.selfcheck", "xaikit.selfcheck.core",
           "xaikit.student", "autograder.feedback", "autograder.overview", "autograder.exports",
           "autograder.collect", "autograder.parallel", "autograder.safe_outputs", "autograder.grading",
           "autograder.secret", "autograder.cli", "autograder.student_kit", "autograder.batch",
           "autograder.report", "autograder.runner.scan", "autograder.runner.sandbox", "autograder.figures"]
MODULES += [f"xaikit.selfcheck.exercises.{a}" for a in PRESENT] + [f"autograder.checks.{a}" for a in PRESENT]

# Informal address: pronouns, and the informal imperatives the messages used (singular "du" form). Words that
# only look alike do not match: Dirichlet, dunkel, Produkt, Durchschnitt, Ihre, Suche (noun), achte (eighth).
INFORMAL = re.compile(
    r"(?<![-/.])\b(du|dich|dir|dein|deine|deinem|deinen|deiner|deines|euch|euer|eure|euren|eurem|eurer|eures"
    r"|arbeite|setze|nimm|verwende|addiere|starte|mittle|merke|prüfe|beachte|gib|lass|lies|sieh|schau"
    r"|normiere|berechne|ersetze|entferne|speichere|führe|füge|ändere|wähle|probiere|teile\s+\w+\s+durch"
    r"|denk|denke|schreibe|skaliere|sortiere|optimierst|mittelst|verwendest|nimmst|gibst|startest|bildest"
    r"|berechnest|brichst|gehst|summierst|begrenzt\s+du|leitest|skalierst|bestimmst|erklärst|leite|begrenze|bestimme|suche\s+(das|die|den|im|in)|stelle\s+(sie|den|die|das))\b(?![-/.])",
    re.IGNORECASE)

# One German name per concept (issue 15): the lecture's technical terms as the notebooks use them – English where
# the lecture keeps them (Counterfactual, Heatmap, Saliency-Map, Attention, Embedding, Feature Map), German for
# the rest (Merkmal for an input feature). Each pattern finds the competing names.
TERMS = {
    "Counterfactual": re.compile(r"\bKontrafakt(um|a|en)\b|\bkontrafaktische[sn]?\s+Bild\w*", re.IGNORECASE),
    "Heatmap": re.compile(r"\bWärmebild\w*|\bWärmekarte\w*|\bHitzekarte\w*", re.IGNORECASE),
    "Saliency-Map": re.compile(r"\bSalienzkarte\w*|\bSaliency\s+Map\b", re.IGNORECASE),
    "Merkmal": re.compile(r"\bFeatures?\b(?![-_]|\s+Maps?\b)"),
    "Embedding": re.compile(r"\bMerkmalsvektor\w*|\bEinbettung\w*", re.IGNORECASE),
}


def _german_of(value, found: list, where: str) -> None:
    """Every "de" text in ``value``: message dicts, nested tables, checks' titles."""
    if isinstance(value, dict):
        if isinstance(value.get("de"), str):
            found.append((where, value["de"]))
        for key, item in value.items():
            if isinstance(item, (dict, list, tuple)):
                _german_of(item, found, f"{where}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            if hasattr(item, "title") and isinstance(getattr(item, "title"), dict):  # a Check
                _german_of(item.title, found, f"{where}[{index}].title")
            elif isinstance(item, (dict, list, tuple)):
                _german_of(item, found, f"{where}[{index}]")


GERMANISH = re.compile(r"[äöüÄÖÜß]|\b(und|nicht|oder|der|das|ist|wird|Sie|Ihre?|kein|keine|Punkte)\b")


def _german_in_source(module, found: list) -> None:
    """Texts inside functions: dicts with a "de" key, the labels of ``Case(...)`` (4th argument), and other
    German string constants (not docstrings)."""
    tree = ast.parse(inspect.getsource(module))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)}
    name = module.__name__
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and key.value == "de":
                    found.append((f"{name}:{node.lineno}", _constant_text(value)))
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Case" and len(node.args) >= 4:
            found.append((f"{name}:{node.lineno} (case label)", _constant_text(node.args[3])))
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
              and GERMANISH.search(node.value)):
            found.append((f"{name}:{node.lineno}", node.value))


def _constant_text(node) -> str:
    """The literal parts of a str constant, f-string or concatenation ({…} for the rest)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else " {…} " for v in node.values)
    if isinstance(node, ast.BinOp):
        return _constant_text(node.left) + _constant_text(node.right)
    return ""


def german_messages(unique: bool = True) -> list[tuple[str, str]]:
    """(where, text) of every German message; ``unique``: each text once (a catalogue is read both at run
    time and in the source, and the grader's modules repeat the student side's)."""
    found: list[tuple[str, str]] = []
    for name in MODULES:
        module = importlib.import_module(name)
        for attribute, value in vars(module).items():
            if isinstance(value, (dict, list, tuple)) and not attribute.startswith("__"):
                _german_of(value, found, f"{name}.{attribute}")
        _german_in_source(module, found)
    for assignment in PRESENT:
        path = PROJECT_ROOT / "release" / assignment / "public_checks.npz"
        if path.exists():
            with np.load(path, allow_pickle=False) as data:
                found += [(f"release/{assignment}/public_checks.npz:{key}", str(data[key]))
                          for key in data.files if key.startswith("message|") and key.endswith("|de")]
    if not unique:
        return [(where, text) for where, text in found if text]
    first: dict[str, str] = {}
    for where, text in found:
        if text and text not in first:
            first[text] = where
    return [(where, text) for text, where in first.items()]


def readme_for_students() -> str:
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^## For students\n(.*?)(?=^## )", text, re.DOTALL | re.MULTILINE)
    assert match, "README has no 'For students' section"
    return match.group(1)


def readme_german_quotes() -> list[tuple[str, str]]:
    """The German examples the (English) README quotes, e.g. a feedback message."""
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    return [("README.md (quoted)", quote) for quote in re.findall(r'"([^"\n]{8,})"', text) if GERMANISH.search(quote)]


def _prose(markdown: str) -> str:
    """Markdown without code blocks, inline code and maths (names like `dir` or `X_features` are code)."""
    markdown = re.sub(r"```.*?```", " ", markdown, flags=re.DOTALL)
    markdown = re.sub(r"`[^`]*`", " ", markdown)
    markdown = re.sub(r"\$\$.*?\$\$|\$[^$]*\$", " ", markdown, flags=re.DOTALL)
    return markdown


def notebook_markdown(assignment: str) -> list[tuple[str, str]]:
    cells = nbformat.read(PROJECT_ROOT / "source" / assignment / f"{assignment}.ipynb", as_version=4).cells
    return [(f"source/{assignment}/{assignment}.ipynb cell {index}", _prose(cell.source))
            for index, cell in enumerate(cells) if cell.cell_type == "markdown"]


def _informal(texts) -> list[str]:
    return [f"{where}: {match.group(0)!r} in {text[:120]!r}" for where, text in texts
            for match in [INFORMAL.search(_prose(text))] if match]


def test_the_collection_finds_the_catalogues():
    texts = german_messages(unique=False)
    places = {where.split("[")[0].split(":")[0] for where, _ in texts}
    for expected in ("autograder.messages.GENERIC", "autograder.messages.NOTES", "autograder.messages.OUTCOMES",
                     "autograder.messages.PAGE", "autograder.messages.FIGURES", "autograder.messages.OVERVIEW",
                     "autograder.messages.EXPORTS", "autograder.messages.COLLECT", "autograder.messages.FLAGS"):
        assert any(place.startswith(expected) for place in places), expected
    for assignment in PRESENT:
        assert any(place.startswith(f"autograder.checks.{assignment}.MESSAGES") for place in places)
        assert any(place.startswith(f"autograder.checks.{assignment}.CHECKS") for place in places)
    assert len(german_messages()) > 200


def test_the_pattern_finds_informal_address_and_nothing_else():
    for informal in ("Du mittelst über", "Deine Funktion", "Arbeite auf einer Kopie", "Prüfe die Reihenfolge",
                     "Merke dir den Modus", "steht auf deiner Seite", "Nimm `dim=1`", "Optimierst du wirklich",
                     "Suche das Modul", "stelle sie wieder her", "Leite den Score ab", "Begrenze das Bild"):
        assert INFORMAL.search(informal), informal
    for formal in ("Sie mitteln über", "Ihre Funktion", "Arbeiten Sie auf einer Kopie", "Dirichlet", "--course-dir", "dunkel",
                   "Produkt", "Durchschnitt", "die achte Schicht", "die Suche", "Teile des Bildes", "Prüfen Sie",
                   "an dieser Stelle", "Suchen Sie das Modul"):
        assert not INFORMAL.search(formal), formal


def test_no_german_message_addresses_students_informally():
    bad = _informal(german_messages())
    assert not bad, f"{len(bad)} German messages say du/dein:\n" + "\n".join(bad)


def test_the_readme_and_the_student_kit_readme_say_sie():
    from autograder.student_kit import README

    bad = _informal([("README.md, For students", readme_for_students()), ("student_kit.README", README)]
                    + readme_german_quotes())
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("assignment", PRESENT)
def test_the_notebooks_say_sie(assignment):
    bad = _informal(notebook_markdown(assignment))
    assert not bad, "\n".join(bad)


def _other_terms(texts) -> list[str]:
    return [f"{where}: {match.group(0)!r} (use {term!r}) in {text[:100]!r}" for where, text in texts
            for term, pattern in TERMS.items() for match in [pattern.search(_prose(text))] if match]


def test_one_german_term_per_concept_in_messages_and_readme():
    from autograder.student_kit import README

    german_readme = README.split("## English")[0] if "## English" in README else README
    bad = _other_terms(german_messages() + readme_german_quotes() + [("student_kit.README", german_readme)])
    assert not bad, f"{len(bad)} places:\n" + "\n".join(bad)


@pytest.mark.parametrize("assignment", PRESENT)
def test_one_german_term_per_concept_in_the_notebooks(assignment):
    bad = _other_terms(notebook_markdown(assignment))
    assert not bad, f"{len(bad)} places:\n" + "\n".join(bad)


# --- task titles: pages and `xaigrade check` name the task as the notebook's heading does, not its test cell ---

@pytest.mark.parametrize("assignment", PRESENT)
def test_every_test_cell_has_the_title_of_its_notebook_heading(assignment):
    from autograder.checks import Exercise
    from xaikit.selfcheck.core import task_titles

    exercise = Exercise(assignment)
    release = task_titles(PROJECT_ROOT / "release" / assignment / f"{assignment}.ipynb")
    assert set(exercise.tasks) <= set(release)
    for task in exercise.tasks:
        title = exercise.task_title(task, "de")
        assert title == release[task] and "test_" not in title and task not in title
        assert title.startswith("Aufgabe") or " – " in title, title
        assert not exercise.task_title(task, "en").startswith("Aufgabe ")


def test_task_titles_follow_the_headings():
    from xaikit.selfcheck.core import task_titles

    def md(text):
        return {"cell_type": "markdown", "source": text, "metadata": {}}

    def test_cell(grade_id):
        return {"cell_type": "code", "source": "run_public_checks(...)",
                "metadata": {"nbgrader": {"grade": True, "grade_id": grade_id, "points": 1}}}

    notebook = {"cells": [
        md("# Übung"), md("## Aufgabe 1: Die Gewichte $\\alpha_k$"), test_cell("test_a"),
        md("### Zum Ausprobieren"), md("## Aufgabe 2: Die **Heatmap**\n\n### Teil (a)"), test_cell("test_b"),
        md("## Aufgaben von den Folien\n### (d) Saliency-Map"), test_cell("test_c"),
        {"cell_type": "markdown", "source": "### BEGIN SOLUTION\nx\n### END SOLUTION",
         "metadata": {"nbgrader": {"grade": True, "grade_id": "answer", "points": 2}}},
        md("```\n## kein Titel\n```"), test_cell("test_d")]}
    assert task_titles(notebook) == {"test_a": "Aufgabe 1: Die Gewichte α_k", "test_b": "Aufgabe 2: Die Heatmap",
                                     "test_c": "Aufgaben von den Folien – (d) Saliency-Map",
                                     "test_d": "Aufgaben von den Folien – (d) Saliency-Map"}


@pytest.mark.parametrize("language, word", [("de", "Aufgabe"), ("en", "Task")])
def test_the_feedback_page_of_a_graded_example_names_tasks_not_test_cells(language, word):
    from bs4 import BeautifulSoup

    from autograder import feedback
    from autograder.checks import Exercise
    from autograder.grading import SubmissionResult
    from helpers import grade_namespace, variant_overrides

    exercise = Exercise("pdp")
    verdicts = grade_namespace("pdp", variant_overrides("pdp", "transposed_2d"), language=language)
    page = BeautifulSoup(feedback.render_page(SubmissionResult("s", "pdp", list(verdicts.values())), exercise,
                                              language), "html.parser")
    headings = [h.text for h in page.select("h2.task")]
    assert len(headings) == len(exercise.tasks) >= 2
    assert all(h.split(":")[0].split()[0] == word and h.split(":")[0].split()[1].isdigit() for h in headings), headings
    assert headings == [exercise.task_title(task, language) for task in exercise.tasks]
    assert "test_" not in page.text


@pytest.mark.parametrize("language, total, foreign", [("de", "Punkte in den öffentlichen Prüfungen", "points"),
                                                      ("en", "points in the public checks", "Punkte")])
def test_xaigrade_check_prints_the_task_titles(capsys, tmp_path, language, total, foreign):
    import shutil

    from autograder.checks import Exercise
    from autograder.cli import main

    notebook = tmp_path / "pdp.ipynb"
    shutil.copy(PROJECT_ROOT / "examples" / "submissions" / "buggy_axis" / "pdp" / "pdp.ipynb", notebook)
    shutil.copy(PROJECT_ROOT / "release" / "pdp" / "public_checks.npz", tmp_path)
    assert main(["--language", language, "check", str(notebook), "--no-daemon"]) == 1
    out = capsys.readouterr().out
    exercise = Exercise("pdp")
    for task in exercise.tasks:
        assert exercise.task_title(task, language) in out.splitlines()
    assert "test_pdp" not in out
    last = out.splitlines()[-1]
    assert last.startswith("✘ ") and last.endswith(total) and foreign not in last  # (the total was German only)
