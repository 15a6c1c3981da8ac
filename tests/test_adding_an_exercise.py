"""docs/adding_an_exercise.md is complete: a throwaway exercise written as exactly the files it lists is found by the
registry, released, turned into example submissions and graded through the real CLI and sandbox, passes the core
tests of tests/test_exercises.py, and leaving out any one of those files is an error naming it.

The exercise lives in a temporary course: the project's framework (autograder/, xaikit/, the tests' helpers)
without the four real exercises, plus the throwaway's seven files. The grader, the warm process and the sandboxed
kernel must all import that copy's packages, so they run on an overlay environment: a venv whose site-packages
holds links to the copy's ``autograder`` and ``xaikit`` and, as a plain path, this environment's libraries
(not its editable install, which points at the real project). Small on purpose: numpy only, one function, one
check, one known mistake, a notebook with one test cell.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.config import PROJECT_ROOT
from autograder.exercises import EXERCISE_FILES, assignments
from helpers import HIDDEN_SETS, expectations

NAME = "throwaway"
GUIDE = PROJECT_ROOT / "docs" / "adding_an_exercise.md"
FRAMEWORK = ("autograder", "xaikit", "reference_solutions/__init__.py", "reference_solutions/hidden/__init__.py",
             "reference_solutions/alternatives/__init__.py", "nbgrader_config.py", "examples/build_examples.py",
             "tests/conftest.py", "tests/helpers.py", "tests/test_exercises.py", "tests/test_fairness.py")


def _notebook() -> str:
    def code(source, grade_id, **flags):
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["nbgrader"] = {"grade": False, "grade_id": grade_id, "locked": False, "schema_version": 3,
                                     "solution": False, "task": False, **flags}
        return cell

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Wegwerf-Übung: Spaltenmittel"),
        code("import numpy as np", "setup", locked=True),
        nbformat.v4.new_markdown_cell("## Aufgabe 1: Spaltenmittel\n\nImplementieren Sie `column_means(X)`: "
                                      "den Mittelwert jeder Spalte von `X`."),
        code("def column_means(X):\n    ### BEGIN SOLUTION\n    return np.asarray(X, dtype=float).mean(axis=0)\n"
             "    ### END SOLUTION", "column_means", solution=True),
        code("from xaikit.selfcheck import run_public_checks\n"
             f"run_public_checks({NAME!r}, 'test_column_means', globals())", "test_column_means",
             grade=True, locked=True, points=1),
    ])
    nb.metadata["kernelspec"] = {"display_name": "XAI Vorlesung 5 (Python 3)", "language": "python",
                                 "name": "xai-course"}
    return nbformat.writes(nb)


# The throwaway's files, keyed as the guide's table names them (<ex> = the exercise).
THROWAWAY = {
    "source/<ex>/<ex>.ipynb": _notebook(),
    "xaikit/selfcheck/exercises/<ex>.py": '''"""Self-check of the throwaway exercise: the mean of every column."""
import numpy as np

from ..compare import Tolerance, array_close
from ..core import Case, Check
from ..probe import require

NOTEBOOK = "throwaway"
PROBE_FUNCTIONS = {"probe_means": "column_means"}


def probe_means(namespace, inputs):
    return {"means": require(namespace, "column_means")(np.array(inputs["X"]))}


def matrix_case(rng, rows, columns):
    return Case(f"matrix_{rows}x{columns}", "probe_means", {"X": rng.normal(size=(rows, columns))},
                f"Matrix {rows} × {columns}")


def build_public_cases(seed):
    return [matrix_case(np.random.default_rng(seed), 3, 5)]


def _values(student, expected, case):
    return array_close(student, expected, "means", Tolerance(rtol=1e-6, atol=1e-6))  # float32 work: ~1e-7


CHECKS = [Check("means.values", "test_column_means", 1, {"de": "Spaltenmittel", "en": "column means"},
                "probe_means", _values)]
MESSAGES = {}
''',
    "reference_solutions/<ex>.py": '''import numpy as np


def column_means(X):
    return np.asarray(X, dtype=np.float64).mean(axis=0)


def mean_over_rows(X):
    return np.asarray(X, dtype=np.float64).mean(axis=1)


VARIANTS = {"mean_over_rows": {"column_means": mean_over_rows}}
''',
    "reference_solutions/hidden/<ex>.py": '''import numpy as np

from xaikit.selfcheck.exercises.throwaway import matrix_case


def build_hidden_cases(seed):
    rng = np.random.default_rng(seed)
    return [matrix_case(rng, 4, 7), matrix_case(rng, 6, 2)]
''',
    "reference_solutions/alternatives/<ex>.py": '''import numpy as np


def with_a_loop(X):
    X = np.asarray(X, dtype=float)
    return np.array([X[:, j].mean() for j in range(X.shape[1])])


def sum_over_count(X):
    return np.sum(X, axis=0) / len(X)


def in_float32(X):
    return np.asarray(X, dtype=np.float32).mean(axis=0)


def transposed(X):
    return np.asarray(X).T.mean(axis=1)


ALTERNATIVES = {name: {"column_means": function} for name, function in
                [("with_a_loop", with_a_loop), ("sum_over_count", sum_over_count), ("in_float32", in_float32),
                 ("transposed", transposed)]}
''',
    "autograder/checks/<ex>.py": '''from xaikit.selfcheck.exercises import throwaway as _public
from xaikit.selfcheck.exercises.throwaway import *  # noqa: F401,F403

from . import hidden_builders, with_diagnoses

ORDER = 5
DIAGNOSES = {"means.values": ("mean_over_rows",)}
CHECKS = with_diagnoses(_public.CHECKS, DIAGNOSES)
MESSAGES = {**_public.MESSAGES, "mean_over_rows": {
    "de": "Sie mitteln über die Spalten jeder Zeile statt über die Zeilen jeder Spalte ({case}).",
    "en": "You average across each row instead of down each column ({case})."}}


def build_cases(seed, public):
    return _public.build_public_cases(seed) if public else hidden_builders("throwaway").build_hidden_cases(seed)
''',
    "examples/buggy/<ex>.py": '''BUGGY = {"buggy_rows": {"column_means": "def column_means(X):\\n    return np.asarray(X, dtype=float).mean(axis=1)"}}
''',
    "tests/test_<ex>_checks.py": '''EXPECTED_LOSSES = {"mean_over_rows": {"means.values"}}
''',
}


def _path(pattern: str, name: str = NAME) -> str:
    return pattern.replace("<ex>", name)


def listed_in_the_guide() -> list[str]:
    """The files of the guide's first table ("Every file a new exercise ... touches"), as `<ex>` patterns."""
    text = GUIDE.read_text(encoding="utf-8")
    section = text.split("## Every file a new exercise", 1)[1].split("\n\n|", 1)[1]
    table = section.split("\n\n", 1)[0]
    return [match for line in table.splitlines() for match in re.findall(r"^\| `([^`]+)` \|", line)]


def test_the_guide_lists_exactly_the_files_the_registry_knows_and_the_throwaway_writes():
    listed = listed_in_the_guide()
    assert len(listed) == len(set(listed)) == 8, listed
    assert set(listed) == {pattern.replace("{name}", "<ex>") for pattern in EXERCISE_FILES}
    assert set(listed) == set(THROWAWAY)


# --- the temporary course with the throwaway exercise --------------------------------------------------------

def _framework_copy(root: Path) -> None:
    """The project's framework without any real exercise (so the registry has exactly the throwaway)."""
    real = {(PROJECT_ROOT / pattern.format(name=name)).resolve()
            for name in assignments() for pattern in EXERCISE_FILES}
    helpers = tuple(f"_{name}_" for name in assignments())  # an exercise's private modules, e.g. _gradcam_models.py

    def ignore(folder, names):
        return {n for n in names if n in ("__pycache__", "training", ".ipynb_checkpoints")
                or (Path(folder) / n).resolve() in real or n.startswith(helpers)}

    _benchmarks_common().copy_items(FRAMEWORK, PROJECT_ROOT, root, ignore)


def _benchmarks_common():
    """benchmarks/_common.py (the throughput benchmark builds its snapshot with the same helpers)."""
    sys.path.insert(0, str(PROJECT_ROOT / "benchmarks"))
    try:
        import _common
    finally:
        sys.path.remove(str(PROJECT_ROOT / "benchmarks"))
    return _common


def _overlay_environment(root: Path) -> Path:
    """A venv whose Python imports the copy's autograder and xaikit and this environment's libraries."""
    return _benchmarks_common().overlay_environment(root)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course") / "kit"
    _framework_copy(root)
    for pattern, content in THROWAWAY.items():
        (root / _path(pattern)).parent.mkdir(parents=True, exist_ok=True)
        (root / _path(pattern)).write_text(content, encoding="utf-8")
    python = _overlay_environment(root)
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(PATH=f"{python.parent}:{Path(sys.executable).parent}:{env.get('PATH', '/usr/bin:/bin')}",
               XDG_CACHE_HOME=str(root.parent / "cache"))

    def run(*args, timeout=600):
        return subprocess.run([str(python), *args], cwd=root, env=env, capture_output=True, text=True,
                              timeout=timeout)

    return root, run


def xaigrade(run, *args):
    return run("-m", "autograder.cli", "--language", "en", *args)


def test_the_throwaway_exercise_is_registered_released_graded_and_passes_the_core_tests(course):
    root, run = course
    found = run("-c", "import autograder, xaikit; from pathlib import Path; from autograder.exercises import assignments; "
                      "print(Path(autograder.__file__).resolve(), Path(xaikit.__file__).resolve(), list(assignments()))")
    assert found.returncode == 0, found.stderr
    assert found.stdout.split()[:2] == [str((root / package / "__init__.py").resolve()) for package in ("autograder", "xaikit")]
    assert found.stdout.split(maxsplit=2)[2].strip() == str([NAME])

    released = xaigrade(run, "release", NAME)
    assert released.returncode == 0, released.stderr[-3000:]
    assert {p.name for p in (root / "release" / NAME).iterdir()} == {f"{NAME}.ipynb", "public_checks.npz"}
    built = run("examples/build_examples.py", NAME)
    assert built.returncode == 0, built.stderr[-3000:]
    students = {"full_solution", "blank_release", "buggy_rows"}
    assert {p.name for p in (root / "examples" / "submissions").iterdir()} == students

    graded = xaigrade(run, "grade", NAME, "--submissions", "examples/submissions", "--json", "report.json")
    assert graded.returncode == 0, graded.stdout[-2000:] + graded.stderr[-3000:]
    report = json.loads((root / "report.json").read_text())
    verdicts = {student: report[student][NAME]["means.values"] for student in students}
    assert (verdicts["full_solution"]["score"], verdicts["full_solution"]["message_key"]) == (1, "passed"), \
        json.dumps(report["full_solution"][NAME], ensure_ascii=False)[:3000]  # (the notes say why it did not run)
    assert (verdicts["buggy_rows"]["score"], verdicts["buggy_rows"]["message_key"]) == (0, "mean_over_rows")
    assert "average across each row" in verdicts["buggy_rows"]["message"]
    assert verdicts["blank_release"]["score"] == 0 and verdicts["blank_release"]["message_key"] != "passed"

    core = run("-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_exercises.py", "tests/test_fairness.py")
    assert core.returncode == 0, core.stdout[-3000:]
    # test_exercises: 5 properties + 1 variant; test_fairness: 3 + one per hidden set: all ran
    assert re.search(rf"\b{6 + 3 + HIDDEN_SETS} passed\b", core.stdout), core.stdout[-1000:]


def _without(root: Path, relative: str):
    """Move one file out of the course for the block (and back)."""
    class Moved:
        def __enter__(self):
            self.path, self.aside = root / relative, root.parent / (relative.replace("/", "__") + ".aside")
            self.path.rename(self.aside)

        def __exit__(self, *exc):
            self.aside.rename(self.path)

    return Moved()


@pytest.mark.parametrize("pattern", list(THROWAWAY))
def test_leaving_out_any_listed_file_is_an_error_naming_it(course, pattern):
    root, run = course
    relative = _path(pattern)
    with _without(root, relative):
        if pattern.startswith("tests/"):
            with pytest.raises(LookupError, match=re.escape(relative)):
                expectations(NAME, root / "tests")
            return
        if pattern.startswith("examples/"):
            done = run("examples/build_examples.py", NAME)
        else:
            done = xaigrade(run, "release", NAME)
    assert done.returncode != 0
    assert relative in done.stderr, done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-2000:]


@pytest.mark.parametrize("order_line,named", [
    ("", "declares no ORDER"),
    ("ORDER = 5\nimport a_module_that_is_not_there\n", "cannot be imported: ModuleNotFoundError"),
])
def test_a_checks_module_without_order_or_that_fails_to_import_is_an_error_naming_it(course, order_line, named):
    root, run = course
    checks = root / _path("autograder/checks/<ex>.py")
    original = checks.read_text()
    checks.write_text(original.replace("ORDER = 5\n", order_line))
    try:
        done = xaigrade(run, "release", NAME)
    finally:
        checks.write_text(original)
    assert done.returncode != 0
    assert f"autograder/checks/{NAME}.py" in done.stderr and named in done.stderr, done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-2000:]


def _fake_exercises(root: Path, orders: dict) -> None:
    for name, order in orders.items():
        for folder in ("autograder/checks", "xaikit/selfcheck/exercises", "reference_solutions", "reference_solutions/hidden",
                       "reference_solutions/alternatives"):
            (root / folder).mkdir(parents=True, exist_ok=True)
            (root / folder / f"{name}.py").write_text(f"ORDER = {order}\n" if folder == "autograder/checks" else "")


def test_the_registry_sorts_by_order_and_refuses_a_shared_one(tmp_path):
    from autograder.exercises import ExerciseError, _registry

    _fake_exercises(tmp_path / "sorted", {"zeta": 1, "alpha": 3, "mid": 2})
    assert _registry(tmp_path / "sorted") == ("zeta", "mid", "alpha")
    _fake_exercises(tmp_path / "shared", {"one": 1, "other": 1})
    with pytest.raises(ExerciseError, match=r"one\.py and .*other\.py both declare ORDER = 1"):
        _registry(tmp_path / "shared")
    _fake_exercises(tmp_path / "broken", {"ok": 1, "typo": 2})
    (tmp_path / "broken" / "autograder" / "checks" / "typo.py").write_text("ORDER = 2\ndef (:\n")
    with pytest.raises(ExerciseError, match=r"typo\.py cannot be read as Python"):
        _registry(tmp_path / "broken")
