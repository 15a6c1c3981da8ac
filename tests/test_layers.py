"""The layers import one way: xaikit (student side) → reference_solutions (grader side, the reference and
the hidden cases) → autograder. xaikit imports neither of the others (students install it alone), and
reference_solutions imports nothing of autograder. Read from the source (ast), lazy imports inside
functions included."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from autograder.config import PROJECT_ROOT

# package -> the top-level packages of this project it must never import
FORBIDDEN = {"xaikit": {"reference_solutions", "autograder"}, "reference_solutions": {"autograder"}}


def imported_packages(source: str, module: str) -> list[tuple[int, str]]:
    """(line, top-level package) of every import in ``source``; relative imports resolved against ``module``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: stays inside the module's own top-level package
                found.append((node.lineno, module.split(".")[0]))
            elif node.module:
                found.append((node.lineno, node.module.split(".")[0]))
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) in (
                "import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            found.append((node.lineno, node.args[0].value.split(".")[0]))
    return found


def violations(package: str, root: Path = PROJECT_ROOT) -> list[str]:
    wrong = []
    for path in sorted((root / package).rglob("*.py")):
        module = ".".join(path.relative_to(root).with_suffix("").parts)
        for line, imported in imported_packages(path.read_text(encoding="utf-8"), module):
            if imported in FORBIDDEN[package]:
                wrong.append(f"{path.relative_to(root)}:{line} imports {imported}")
    return wrong


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_lower_layers_import_nothing_of_higher_ones(package):
    assert (PROJECT_ROOT / package).is_dir()
    assert violations(package) == []


def test_the_import_reader_sees_every_kind_of_import():
    """The reader must find what the layer test forbids, or the test above could pass on a broken reader."""
    source = ("import autograder.checks\n"
              "from autograder import grading\n"
              "def lazy():\n"
              "    from autograder.checks.gradcam import CHECKS\n"
              "    importlib.import_module('autograder.parallel')\n"
              "from . import sibling\n"
              "import numpy as np\n")
    found = sorted(imported_packages(source, "reference_solutions.hidden.gradcam"))
    assert found == [(1, "autograder"), (2, "autograder"), (4, "autograder"), (5, "autograder"),
                     (6, "reference_solutions"), (7, "numpy")]


def test_a_violation_is_reported_with_its_place(tmp_path):
    """A reference module that imports the grader's checks (as the hidden builders once did) fails the test."""
    (tmp_path / "reference_solutions" / "hidden").mkdir(parents=True)
    (tmp_path / "reference_solutions" / "hidden" / "bad.py").write_text(
        "def f():\n    from autograder.checks import x\n")
    (tmp_path / "xaikit").mkdir()
    (tmp_path / "xaikit" / "bad.py").write_text("from reference_solutions import gradcam\n")
    assert violations("reference_solutions", tmp_path) == ["reference_solutions/hidden/bad.py:2 imports autograder"]
    assert violations("xaikit", tmp_path) == ["xaikit/bad.py:1 imports reference_solutions"]
