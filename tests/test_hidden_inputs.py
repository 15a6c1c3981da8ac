"""Hidden inputs stay hidden: a submission that tries to import a hidden case builder, read the course
secret, read the reference or find grader modules preloaded in its kernel gets nothing; the hidden seed
comes from a course secret, never from a value committed to the repository; each student gets one of
K hidden case sets, the same one on every regrade.

Every attack is the full PDP solution plus a cell that tries to get something; if it gets it, the cell
replaces ``partial_dependence_1d`` by a wrong one, so a leak costs 3 of the 8 points and the test names it.
"""

from __future__ import annotations

import subprocess

import nbformat
import pytest

from autograder.batch import Layout, grade_batch
from autograder.config import PROJECT_ROOT, XaiGrade, cache_dir, load_settings
from autograder.secret import PublicSeedRefused, course_secret, secret_path, set_for, set_name, set_seed
from helpers import entry_score
from test_redteam import FULL, _with

LEAKED = "partial_dependence_1d = lambda model, X, feature, grid: np.zeros(len(grid))  # leaked: lose its points\n"
SECRET = secret_path(PROJECT_ROOT)


def _attack(code: str) -> nbformat.NotebookNode:
    """``code`` sets ``got`` to what it obtained (None: nothing)."""
    guarded = "got = None\ntry:\n" + "".join(f"    {line}\n" for line in code.splitlines()) + \
              "except Exception as error:\n    print('nothing:', type(error).__name__)\nif got:\n    " + LEAKED
    return _with(guarded)


ATTACKS = {
    "import_hidden_builder": "from reference_solutions.hidden.pdp import build_hidden_cases\n"
                             "got = build_hidden_cases(20261125)",
    "import_hidden_via_checks": "from autograder.checks import hidden_builders\ngot = hidden_builders('pdp')",
    "grader_exercise_hidden_cases": "from autograder.checks import Exercise\n"
                                    "got = Exercise('pdp').build_cases(12345, public=False)",
    "read_secret": f"got = open({str(SECRET)!r}).read()",
    "read_reference": f"got = open({str(PROJECT_ROOT / 'reference_solutions' / 'pdp.py')!r}).read()",
    "read_hidden_builder_file": f"got = open({str(PROJECT_ROOT / 'reference_solutions' / 'hidden' / 'pdp.py')!r}).read()",
    "import_reference": "import reference_solutions.pdp as ref\ngot = ref.VARIANTS",
    "preloaded_grader_modules": "import sys\ngot = [m for m in sys.modules if m.startswith(('reference_solutions', "
                                "'autograder.checks', 'autograder.secret', 'autograder.grading', 'autograder.batch'))]",
    "grader_cache": f"import os\ngot = os.listdir({str(cache_dir())!r})",
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("hidden")
    for name, code in ATTACKS.items():
        folder = root / "submitted" / name / "pdp"
        folder.mkdir(parents=True)
        nbformat.write(_attack(code), str(folder / "pdp.ipynb"))
    folder = root / "submitted" / "honest" / "pdp"
    folder.mkdir(parents=True)
    folder.joinpath("pdp.ipynb").write_bytes(FULL.read_bytes())
    layout = Layout(PROJECT_ROOT, root / "submitted", root / "out")
    settings = load_settings(PROJECT_ROOT, cell_timeout=60.0, total_timeout=300.0)
    assert not settings.hidden_seed  # the real path: the course secret, no public seed
    first = grade_batch(["pdp"], layout, settings)
    again = grade_batch(["pdp"], layout, settings, force=True)  # regrading
    return first, again, settings


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_a_submission_gets_nothing_of_the_grader_side(graded, attack):
    report, _, _ = graded
    entry = report[attack]["pdp"]
    full = sum(v["max_score"] for k, v in entry.items() if not k.startswith("_"))
    assert entry_score(entry) == entry_score(report["honest"]["pdp"]) == full, \
        (attack, {k: v["message"] for k, v in entry.items() if not k.startswith("_") and v["score"] < v["max_score"]})


def test_each_student_is_graded_on_one_named_set_and_regrading_keeps_it(graded):
    first, again, settings = graded
    secret = course_secret(PROJECT_ROOT, settings)
    for student, per in first.items():
        expected = set_name(set_for(secret, "pdp", student, settings.hidden_sets), settings.hidden_sets)
        assert per["pdp"]["_hidden_set"] == again[student]["pdp"]["_hidden_set"] == expected
        assert any(expected in note for note in per["pdp"]["_notes"])  # named on the feedback page too


def test_the_hidden_seed_comes_from_a_secret_and_public_seeds_are_refused(tmp_path):
    with pytest.raises(PublicSeedRefused):
        course_secret(tmp_path, XaiGrade(hidden_seed=20261125))
    assert course_secret(tmp_path, XaiGrade(hidden_seed=20261125, allow_public_seed=True))  # demo and tests
    secret = course_secret(tmp_path, XaiGrade())
    assert len(secret) == 64 and secret_path(tmp_path).stat().st_mode & 0o077 == 0  # created, private
    assert course_secret(tmp_path, XaiGrade()) == secret  # the same on every use
    assert course_secret(tmp_path / "other", XaiGrade()) != secret


def test_a_secret_committed_to_git_is_refused(tmp_path):
    course_secret(tmp_path, XaiGrade())
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "add", "-f", ".xaigrade/secret"], check=True)
    with pytest.raises(PublicSeedRefused):
        course_secret(tmp_path, XaiGrade())
    assert course_secret(tmp_path, XaiGrade(allow_public_seed=True))


def test_the_project_ignores_the_secret():
    probe = subprocess.run(["git", "-C", str(PROJECT_ROOT), "check-ignore", "-q", ".xaigrade/secret"])
    assert probe.returncode == 0


def test_sets_spread_students_and_seeds_depend_on_the_secret():
    a, b = b"one secret", b"another secret"
    sets = [set_for(a, "pdp", f"student{i}", 8) for i in range(400)]
    assert set(sets) == set(range(8)) and max(sets.count(k) for k in range(8)) < 80  # about 50 each
    assert sum(set_for(a, "pdp", f"s{i}", 8) == set_for(b, "pdp", f"s{i}", 8) for i in range(400)) < 100
    seeds = {set_seed(a, "pdp", k) for k in range(8)}
    assert len(seeds) == 8 and seeds.isdisjoint({set_seed(b, "pdp", k) for k in range(8)})
    assert set_seed(a, "pdp", 0) != set_seed(a, "gradcam", 0)
