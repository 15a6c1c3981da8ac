"""The pipeline around the checks: release, public data, points, messages, environment."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder.checks import Exercise
from autograder.config import PROJECT_ROOT, load_settings
from autograder.exercises import assignments
from autograder.grading import PUBLIC_DATA, unpack_public
from autograder.messages import GENERIC, LANGUAGES

PRESENT = assignments()  # every registered exercise (tests/test_exercises.py: each has all its files)
MARKED = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.DOTALL)


def _cells(path):
    return nbformat.read(path, as_version=4).cells


@pytest.mark.parametrize("assignment", PRESENT)
def test_release_is_up_to_date_with_source(assignment, tmp_path):
    from autograder.release import release_assignment

    fresh = release_assignment(assignment, PROJECT_ROOT, tmp_path, load_settings(PROJECT_ROOT))
    committed = PROJECT_ROOT / "release" / assignment
    assert sorted(p.name for p in fresh.iterdir()) == sorted(p.name for p in committed.iterdir())
    for notebook in fresh.glob("*.ipynb"):
        assert json.loads(notebook.read_text()) == json.loads((committed / notebook.name).read_text()), (
            f"release/{assignment}/{notebook.name} is stale: run `xaigrade release {assignment}`")
    seed_a, expected_a, variants_a = unpack_public(fresh / PUBLIC_DATA)
    seed_b, expected_b, variants_b = unpack_public(committed / PUBLIC_DATA)
    assert seed_a == seed_b and expected_a.keys() == expected_b.keys() and variants_a.keys() == variants_b.keys()
    for case_id, result in expected_a.items():
        for key, value in result.items():
            if value.dtype.kind in "biuf":
                np.testing.assert_allclose(value, expected_b[case_id][key], rtol=1e-5, atol=1e-6)
            else:
                assert np.array_equal(value, expected_b[case_id][key])


@pytest.mark.parametrize("assignment", PRESENT)
def test_release_holds_no_solution_code_and_no_hidden_data(assignment):
    source_cells = _cells(PROJECT_ROOT / "source" / assignment / f"{assignment}.ipynb")
    public_text = "\n".join(c.source for c in source_cells if not c.metadata.get("nbgrader", {}).get("solution"))
    released = "\n".join(p.read_text(errors="ignore") for p in (PROJECT_ROOT / "release" / assignment).rglob("*")
                         if p.is_file() and p.suffix != ".npz")
    checked = 0
    for cell in source_cells:
        if not cell.metadata.get("nbgrader", {}).get("solution"):
            continue
        for block in MARKED.findall(cell.source):
            assert block.strip() not in released
            for line in block.splitlines():
                line = line.strip()
                if len(line) >= 16 and line not in public_text:
                    assert line not in released, f"solution line released: {line!r}"
                    checked += 1
    assert checked > 0
    with np.load(PROJECT_ROOT / "release" / assignment / PUBLIC_DATA, allow_pickle=False) as data:
        kinds = {name.split("|")[0] for name in data.files}
        exercise = Exercise(assignment)
        withheld = set(getattr(exercise.module, "PUBLIC_EXPECTED_WITHHELD", ()))
        public_cases = {c.id for c in exercise.build_cases(int(data["meta|seed"]), public=True)
                        if c.probe not in withheld}
        cases_in_data = {name.split("|")[1] for name in data.files if name.startswith("expected|")}
        labels = {name.split("|")[1] for name in data.files if name.startswith(("variant|", "message|"))}
    assert kinds <= {"meta", "expected", "variant", "diagnosis", "message"}
    assert cases_in_data == public_cases
    assert labels and all(label.startswith("m") and label[1:].isdigit() for label in labels)  # no variant's name
    assert not list((PROJECT_ROOT / "release").rglob("reference_solutions*"))


@pytest.mark.parametrize("assignment", PRESENT)
def test_test_cell_points_equal_the_sum_of_their_checks(assignment):
    exercise = Exercise(assignment)
    cells = {c.metadata["nbgrader"]["grade_id"]: c for c in _cells(PROJECT_ROOT / "source" / assignment / f"{assignment}.ipynb")
             if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"}
    assert set(cells) == set(exercise.tasks)
    for task, points in exercise.tasks.items():
        assert cells[task].metadata["nbgrader"]["points"] == points
        assert f"run_public_checks({assignment!r}, {task!r}" in cells[task].source


@pytest.mark.parametrize("assignment", PRESENT)
def test_every_message_and_title_exists_in_german_and_english(assignment):
    exercise = Exercise(assignment)
    catalogue = {**GENERIC, **exercise.messages}
    for key, texts in catalogue.items():
        assert set(LANGUAGES) <= set(texts), f"{key} lacks a translation"
        assert all(texts[lang].strip() for lang in LANGUAGES)
    for check in exercise.checks:
        assert set(LANGUAGES) <= set(check.title)
        for variant_id in check.variants:
            assert variant_id in exercise.messages, f"variant {variant_id} of {check.id} has no message"


def test_torch_tensorflow_and_transformers_import_in_one_process():
    code = ("import xaikit, torch, tensorflow, transformers, torchvision;"
            "print(torch.__version__, tensorflow.__version__, transformers.__version__)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                            env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[0].startswith("2.14.1")


def test_the_project_kernel_is_registered_for_this_environment():
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("xai-course")
    assert Path(spec.resource_dir).is_relative_to(Path(sys.prefix))


# --- demo cells: not re-run when grading, so nothing may depend on them ----------------------------

def _bindings(tree) -> tuple[set, set]:
    """(names a cell binds, names it reads) at any depth; good enough for notebook cells."""
    import ast

    bound, read = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (bound if isinstance(node.ctx, (ast.Store, ast.Del)) else read).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return bound, read


def names_left_by_demo_cells(nb, needed_at_end=()) -> list[str]:
    """Names a later cell (or the probe, ``needed_at_end``) reads whose last binding was a demo cell."""
    from autograder.grading import is_demo_cell
    from autograder.runner.scan import parse_cell

    last_bound_in_demo: dict[str, bool] = {}
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        tree = parse_cell(cell.source)
        if tree is None:
            continue
        bound, read = _bindings(tree)
        if not is_demo_cell(cell):
            problems += [f"cell {index} reads {name}" for name in sorted(read - bound) if last_bound_in_demo.get(name)]
        for name in bound:
            last_bound_in_demo[name] = is_demo_cell(cell)
    problems += [f"the probe reads {name}" for name in needed_at_end if last_bound_in_demo.get(name)]
    return problems


@pytest.mark.parametrize("assignment", PRESENT)
def test_no_later_cell_and_no_check_needs_what_a_demo_cell_defines(assignment):
    nb = nbformat.read(PROJECT_ROOT / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    needed = getattr(Exercise(assignment).module, "ANSWER_NAMES", ())
    assert names_left_by_demo_cells(nb, needed) == []


def test_the_demo_cell_dependency_check_catches_a_dependency():
    demo = nbformat.v4.new_code_cell("fitted = train()\nplot(fitted)")
    demo.metadata["xaigrade"] = {"demo": True}
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import numpy as np"), demo,
                                         nbformat.v4.new_code_cell("score = evaluate(fitted)")])
    assert names_left_by_demo_cells(nb) == ["cell 2 reads fitted"]
    assert names_left_by_demo_cells(nb, ["fitted"]) == ["cell 2 reads fitted", "the probe reads fitted"]
    nb.cells.insert(2, nbformat.v4.new_code_cell("fitted = train()"))  # bound again outside a demo cell: fine
    assert names_left_by_demo_cells(nb, ["fitted"]) == []
