"""The on-disk cache of hidden cases and reference results: reused while nothing it depends on
changes, rebuilt as soon as something does (code, models, seed), never trusted when damaged."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import autograder.references as references
from autograder.checks import Exercise
from autograder.config import PROJECT_ROOT


@pytest.fixture
def counted(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    calls = []

    def build():
        calls.append(1)
        return {"built": len(calls)}

    return build, calls


def test_a_second_call_reads_the_disk_instead_of_building(counted):
    build, calls = counted
    exercise = Exercise("pdp")
    assert references.disk_cached(exercise, 1, "test", build) == {"built": 1}
    assert references.disk_cached(exercise, 1, "test", build) == {"built": 1}
    assert len(calls) == 1
    assert references.disk_cached(exercise, 2, "test", build) == {"built": 2}  # another seed: another entry
    assert references.disk_cached(exercise, 1, "other-kind", build) == {"built": 3}


def test_changed_reference_code_or_model_files_mean_a_rebuild(counted, tmp_path, monkeypatch):
    build, calls = counted
    root = tmp_path / "project"
    (root / "reference_solutions").mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / "reference_solutions" / "pdp.py", root / "reference_solutions" / "pdp.py")
    (root / "xaikit" / "weights").mkdir(parents=True)
    (root / "xaikit" / "weights" / "model.bin").write_bytes(b"weights v1")
    monkeypatch.setattr(references, "PROJECT_ROOT", root)
    exercise = Exercise("pdp")
    references.disk_cached(exercise, 1, "test", build)
    references.disk_cached(exercise, 1, "test", build)
    assert len(calls) == 1
    with open(root / "reference_solutions" / "pdp.py", "a") as handle:
        handle.write("\n# a changed reference\n")
    references.disk_cached(exercise, 1, "test", build)
    assert len(calls) == 2
    (root / "xaikit" / "weights" / "model.bin").write_bytes(b"weights v2 (retrained)")
    references.disk_cached(exercise, 1, "test", build)
    assert len(calls) == 3


def test_a_damaged_cache_file_is_rebuilt_not_trusted(counted):
    build, calls = counted
    exercise = Exercise("pdp")
    references.disk_cached(exercise, 1, "test", build)
    for path in references.cache_dir().glob("test-pdp-*.pkl"):
        path.write_bytes(b"not a pickle")
    assert references.disk_cached(exercise, 1, "test", build) == {"built": 2}


def test_cached_hidden_context_equals_a_fresh_computation(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    exercise = Exercise("pdp")
    references.hidden_context(exercise, 123)  # fills the cache
    cached_cases, cached_expected, _ = references.hidden_context(exercise, 123)
    fresh_cases, fresh_expected, _ = references.hidden_context(exercise, 123, use_cache=False)
    assert [c.id for c in cached_cases] == [c.id for c in fresh_cases]
    for case_id, result in fresh_expected.items():
        for key, value in result.items():
            np.testing.assert_array_equal(cached_expected[case_id][key], value)


def test_the_cache_folder_is_hidden_from_submissions(tmp_path, monkeypatch):
    from autograder.runner.sandbox import hidden_paths

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "elsewhere"))
    assert str(tmp_path / "elsewhere" / "xaigrade") in hidden_paths([])


def test_a_grader_exercise_and_its_name_have_the_same_cache_entries():
    """`xaigrade grade` asks which hidden sets are missing by name, before it imports the checks modules."""
    from autograder.exercises import assignments

    for name in assignments():
        for kind in ("hidden-context", references.CHOICE):
            assert references.cache_path(name, 7, kind) == references.cache_path(Exercise(name), 7, kind), (name, kind)
