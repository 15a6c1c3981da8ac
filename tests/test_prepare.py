"""The hidden sets are computed ahead of grading (`xaigrade prepare`, `xaigrade release`): in worker processes, each
once, and cached; grading then only loads them. A submission whose set nobody computed yet waits for that set only
(computed once, beside the sandboxes), while the others are graded."""

from __future__ import annotations

import shutil
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import pytest

from autograder import batch, parallel, references
from autograder.batch import Layout, grade_batch
from autograder.checks import Exercise
from autograder.config import PROJECT_ROOT, load_settings
from autograder.references import choose_hidden_set, hidden_set_ready, prepare_hidden_sets
from autograder.secret import set_for
from helpers import TEST_SECRET, TEST_SETTINGS

EXAMPLES = PROJECT_ROOT / "examples" / "submissions"
SETS = 3  # hidden sets of the course in these tests (pdp: a set costs a few seconds)


def _submit(tmp_path, students) -> Layout:
    for student in students:
        (tmp_path / "submitted" / student / "pdp").mkdir(parents=True)
        shutil.copy(EXAMPLES / student / "pdp" / "pdp.ipynb", tmp_path / "submitted" / student / "pdp")
    return Layout(PROJECT_ROOT, tmp_path / "submitted", tmp_path / "out")


def _verdicts(report):
    return {student: {k: (v["score"], v["message_key"]) for k, v in entry["pdp"].items() if not k.startswith("_")}
            for student, entry in report.items()}


def _full_marks(verdicts: dict) -> bool:
    """Every check passed, with points (pdp's checks all give points)."""
    return bool(verdicts) and all(key == "passed" and score > 0 for score, key in verdicts.values())


def _count_searches(monkeypatch) -> list:
    """Every hidden-set search (candidate seeds, reference and alternatives) in this process, as (name, index)."""
    searched = []
    real = references._search_hidden_set

    def search(exercise, secret, index, use_cache):
        searched.append((exercise.name, index))
        return real(exercise, secret, index, use_cache)

    monkeypatch.setattr(references, "_search_hidden_set", search)
    return searched


def _two_students_on_different_sets() -> tuple[str, str]:
    """The full solution and a buggy example submission whose hidden set (under the tests' secret) is another."""
    own = set_for(TEST_SECRET, "pdp", "full_solution", SETS)
    other = next(s.name for s in sorted(EXAMPLES.iterdir()) if s.name.startswith("buggy") and (s / "pdp").is_dir()
                 and set_for(TEST_SECRET, "pdp", s.name, SETS) != own)
    return "full_solution", other


def test_prepared_sets_are_computed_once_in_workers_and_grading_only_loads_them(tmp_path, monkeypatch):
    """``prepare_hidden_sets`` computes the sets not cached yet in worker processes (the cache folder is the
    caller's, whatever the workers' environment), a second call finds nothing to do, what is loaded is the set a
    fresh search here chooses, and a batch graded afterwards computes no hidden set at all (neither here nor in a
    worker: both are made to fail)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    exercise = Exercise("pdp")
    reported = []
    computed = prepare_hidden_sets({"pdp": range(SETS)}, TEST_SECRET, processes=2,
                                   report=lambda name, index, seconds: reported.append((name, index)))
    assert set(computed) == {("pdp", index) for index in range(SETS)} == set(reported)
    assert all(hidden_set_ready(exercise, TEST_SECRET, index) for index in range(SETS))
    assert not hidden_set_ready(exercise, TEST_SECRET, SETS)
    assert prepare_hidden_sets({"pdp": range(SETS)}, TEST_SECRET) == {}  # nothing left to compute

    for index in range(SETS):
        loaded_seed, (cases, expected, _) = choose_hidden_set(exercise, TEST_SECRET, index)
        fresh_seed, (fresh_cases, fresh_expected, _) = choose_hidden_set(exercise, TEST_SECRET, index,
                                                                         use_cache=False)
        assert loaded_seed == fresh_seed and [c.id for c in cases] == [c.id for c in fresh_cases]
        for case_id, result in fresh_expected.items():
            for key, value in result.items():
                np.testing.assert_array_equal(expected[case_id][key], value)

    def computing(*_args, **_kwargs):
        raise AssertionError("grading computed a hidden set after prepare")

    monkeypatch.setattr(references, "_search_hidden_set", computing)
    monkeypatch.setattr(references, "compute_reference", computing)
    monkeypatch.setattr(batch, "HiddenSetPool", computing)
    students = _two_students_on_different_sets()
    settings = load_settings(PROJECT_ROOT, **TEST_SETTINGS, hidden_sets=SETS)
    report = grade_batch(["pdp"], _submit(tmp_path, students), settings)
    verdicts = _verdicts(report)
    assert _full_marks(verdicts["full_solution"])
    assert any(key != "passed" for _, key in verdicts[students[1]].values())


class _HeldPool:
    """Stands in for ``HiddenSetPool``: records what it is asked for and hands out futures the test completes (a set
    the test does not hold is computed here at once, so that a wrong request fails the test instead of hanging it)."""

    made: list = []
    held: set = set()

    def __init__(self, secret, processes=None):
        self.secret, self.futures = secret, {}
        _HeldPool.made.append(self)

    def submit(self, name, index):
        future = self.futures[(name, index)] = Future()
        if (name, index) not in _HeldPool.held:
            choose_hidden_set(Exercise(name), self.secret, index)
            future.set_result((name, index, 0.0))
        return future

    def close(self, cancel=False):
        pass


def test_a_submission_whose_set_is_missing_waits_for_that_set_only_and_it_is_computed_once(tmp_path, monkeypatch):
    """One student's set is ready, the other's is not: the grader asks the pool for the missing set only; the ready
    student is graded while that set is still being computed (its future is completed only after that student's
    grading ended: no timing involved), the other one after it; the missing set is searched once in all."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    exercise = Exercise("pdp")
    ready_student, waiting_student = _two_students_on_different_sets()
    ready_set = set_for(TEST_SECRET, "pdp", ready_student, SETS)
    missing_set = set_for(TEST_SECRET, "pdp", waiting_student, SETS)
    choose_hidden_set(exercise, TEST_SECRET, ready_set)  # (as an earlier prepare would have)
    searched = _count_searches(monkeypatch)
    _HeldPool.made, _HeldPool.held = [], {("pdp", missing_set)}
    monkeypatch.setattr(batch, "HiddenSetPool", _HeldPool)
    events = []
    real_grade_task = parallel.grade_task

    def grade_task(task, *args, **kwargs):
        events.append(("grading", task.student))
        try:
            return real_grade_task(task, *args, **kwargs)
        finally:
            if task.student == ready_student:  # only now is the missing set computed (here: in this thread)
                future = _HeldPool.made[0].futures[("pdp", missing_set)]
                try:
                    choose_hidden_set(exercise, TEST_SECRET, missing_set)
                    events.append(("set ready", missing_set))
                    future.set_result(("pdp", missing_set, 0.0))
                except BaseException as error:  # (the batch then fails with it instead of waiting for ever)
                    future.set_exception(error)
                    raise

    monkeypatch.setattr(parallel, "grade_task", grade_task)
    settings = load_settings(PROJECT_ROOT, **TEST_SETTINGS, hidden_sets=SETS)
    report = grade_batch(["pdp"], _submit(tmp_path, [ready_student, waiting_student]), settings)

    assert len(_HeldPool.made) == 1 and list(_HeldPool.made[0].futures) == [("pdp", missing_set)]
    assert events == [("grading", ready_student), ("set ready", missing_set), ("grading", waiting_student)]
    assert searched == [("pdp", missing_set)]  # once: loading it for grading did not search again
    assert hidden_set_ready(exercise, TEST_SECRET, missing_set)
    verdicts = _verdicts(report)
    assert _full_marks(verdicts[ready_student])
    assert any(key != "passed" for _, key in verdicts[waiting_student].values())


def test_grading_on_an_empty_cache_computes_the_missing_sets_in_worker_processes(tmp_path, monkeypatch):
    """With no set prepared, the real pool computes each needed set once in its workers (none is searched in the
    grader's process), and the verdicts are those of a second run on the now warm cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    students = _two_students_on_different_sets()
    settings = load_settings(PROJECT_ROOT, **TEST_SETTINGS, hidden_sets=SETS)
    searched = _count_searches(monkeypatch)
    layout = _submit(tmp_path, students)
    cold = grade_batch(["pdp"], layout, settings)
    assert searched == []  # (in the workers, not here)
    sets = {set_for(TEST_SECRET, "pdp", student, SETS) for student in students}
    assert all(hidden_set_ready(Exercise("pdp"), TEST_SECRET, index) for index in sets)
    warm = grade_batch(["pdp"], layout, settings, force=True)
    assert searched == []
    assert _verdicts(cold) == _verdicts(warm)
    assert _full_marks(_verdicts(cold)["full_solution"])


def _pdp_course(tmp_path, monkeypatch) -> Path:
    """A course folder with pdp's source and SETS hidden sets, and a cache of its own."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    course = tmp_path / "course"
    shutil.copytree(PROJECT_ROOT / "source" / "pdp", course / "source" / "pdp")
    (course / "nbgrader_config.py").write_text((PROJECT_ROOT / "nbgrader_config.py").read_text()
                                               + f"\nc.XaiGrade.hidden_sets = {SETS}\n")
    return course


def test_xaigrade_prepare_computes_the_courses_sets_and_says_so(tmp_path, monkeypatch, capsys):
    """`xaigrade prepare pdp` in a course: the course's K sets under the course's own secret, then nothing left."""
    from autograder.cli import main
    from autograder.secret import course_secret

    course = _pdp_course(tmp_path, monkeypatch)
    assert main(["prepare", "pdp", "--course-dir", str(course), "--processes", "2"]) == 0
    first = capsys.readouterr().out
    assert f"{SETS} computed" in first and "0 already there" in first, first
    secret = course_secret(course, load_settings(course))
    assert all(hidden_set_ready(Exercise("pdp"), secret, index) for index in range(SETS))
    assert main(["prepare", "pdp", "--course-dir", str(course)]) == 0
    assert "nothing to compute" in capsys.readouterr().out


@pytest.mark.parametrize("flag", [[], ["--no-prepare"]])
def test_release_prepares_the_sets_unless_told_not_to(tmp_path, monkeypatch, flag):
    """`xaigrade release pdp` computes the hidden sets after releasing; with --no-prepare it leaves them to grading."""
    from autograder.cli import main
    from autograder.secret import course_secret

    course = _pdp_course(tmp_path, monkeypatch)
    assert main(["release", "pdp", "--course-dir", str(course), *flag]) == 0
    assert (course / "release" / "pdp" / "pdp.ipynb").is_file()
    secret = course_secret(course, load_settings(course))
    ready = [hidden_set_ready(Exercise("pdp"), secret, index) for index in range(SETS)]
    assert ready == [not flag] * SETS
