"""Parallel grading: worker processes on this machine and a Dask cluster (LocalCluster, 2 worker
processes) give the serial grader's verdicts, and everything is written by the main process."""

from __future__ import annotations

import json
import shutil

import pytest
from bs4 import BeautifulSoup

from autograder.batch import Layout, grade_batch
from autograder.config import PROJECT_ROOT, load_settings
from autograder.parallel import Graded, ProgressBar, Task
from test_grading_pdp import ALL_PDP, EXAMPLES, EXPECTED


def _course(root, students):
    for student in students:
        target = root / "submitted" / student / "pdp"
        target.mkdir(parents=True)
        shutil.copy(EXAMPLES / student / "pdp" / "pdp.ipynb", target / "pdp.ipynb")
    return Layout(PROJECT_ROOT, root / "submitted", root / "out")


def _assert_graded_like_the_serial_grader(report, layout, students):
    from nbgrader.api import Gradebook

    for student in students:
        entry = report[student]["pdp"]
        for check_id, points in ALL_PDP.items():
            if check_id in EXPECTED[student]:
                assert (entry[check_id]["score"], entry[check_id]["message_key"]) == (0, EXPECTED[student][check_id])
            else:
                assert entry[check_id]["score"] == points
        state = json.loads(layout.state_file(student, "pdp").read_text())
        assert state["report"] == entry
        page = BeautifulSoup((layout.output / "feedback" / student / "pdp" / "xaigrade.html").read_text(),
                             "html.parser")
        assert page.select("section.check figure img")  # pictures drawn in the worker, page written here
        assert (layout.output / "autograded" / student / "pdp" / "pdp.ipynb").exists()
    with Gradebook(layout.db_url) as gradebook:
        for student in students:
            expected = sum(p for c, p in ALL_PDP.items() if c not in EXPECTED[student])
            assert gradebook.find_submission("pdp", student).score == expected


def test_worker_processes_grade_like_the_serial_grader(tmp_path):
    students = ("full_solution", "buggy_transposed")
    layout = _course(tmp_path, students)
    seen = []
    report = grade_batch(["pdp"], layout, load_settings(PROJECT_ROOT), workers=2, progress_bar=True,
                         progress=lambda r: seen.append(r.student))
    assert sorted(seen) == sorted(students)
    _assert_graded_like_the_serial_grader(report, layout, students)
    again = []
    grade_batch(["pdp"], layout, load_settings(PROJECT_ROOT), workers=2, progress=lambda r: again.append(r))
    assert again == []  # resumable as before: finished submissions are not sent to workers again


def test_dask_cluster_grades_with_notebooks_shipped_as_bytes(tmp_path):
    distributed = pytest.importorskip("distributed")
    students = ("buggy_axis", "buggy_transposed")
    layout = _course(tmp_path, students)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  local_directory=str(tmp_path / "dask")) as cluster:
        report = grade_batch(["pdp"], layout, load_settings(PROJECT_ROOT), dask=cluster.scheduler_address)
        with distributed.Client(cluster.scheduler_address) as client:
            cached = client.run(lambda: len(__import__("autograder.parallel").parallel._contexts))
    assert len(cached) == 2 and sum(cached.values()) >= 1  # the grading ran in the cluster's worker processes
    _assert_graded_like_the_serial_grader(report, layout, students)


def test_shipped_task_carries_bytes_not_a_path(tmp_path):
    notebook = tmp_path / "pdp.ipynb"
    notebook.write_bytes(b'{"cells": []}')
    shipped = Task("pdp", "s", "fp", str(notebook)).shipped()
    assert shipped.path is None and shipped.data == b'{"cells": []}' and shipped.filename == "pdp.ipynb"
    assert Task("pdp", "s", "missing").shipped().data is None


def test_progress_bar_counts_done_and_failures():
    from autograder.grading import SubmissionResult

    bar = ProgressBar(3, "en")
    with bar:
        bar.advance(Graded(Task("pdp", "a", "x"), SubmissionResult("a", "pdp", [], executed={"cells": []})))
        bar.advance(Graded(Task("pdp", "b", "x"), SubmissionResult("b", "pdp", [])))  # never ran
    task = bar.progress.tasks[0]
    assert task.completed == 2 and task.total == 3
    assert bar.failures == 1 and task.fields["failures"] == "could not run: 1"


def test_in_this_process_two_sandboxes_run_at_once_and_one_thread_writes(tmp_path, monkeypatch):
    """Grading here (no --workers): two submissions in their sandboxes at the same time, the same
    verdicts as one at a time, and everything written by a single thread, never two at once."""
    import threading
    import time

    from autograder import batch
    from autograder.runner import sandbox

    students = ("full_solution", "buggy_transposed", "buggy_axis")
    intervals, writers, busy = [], set(), threading.Lock()
    real_run_job, real_store = sandbox.run_job, batch._store

    def timed_run_job(*args, **kwargs):
        started = time.monotonic()
        try:
            return real_run_job(*args, **kwargs)
        finally:
            intervals.append((started, time.monotonic()))

    def single_store(*args, **kwargs):
        assert busy.acquire(blocking=False), "two threads stored results at once"
        try:
            writers.add(threading.get_ident())
            return real_store(*args, **kwargs)
        finally:
            busy.release()

    monkeypatch.setattr(sandbox, "run_job", timed_run_job)
    monkeypatch.setattr(batch, "_store", single_store)
    layout = _course(tmp_path, students)
    report = grade_batch(["pdp"], layout, load_settings(PROJECT_ROOT, sandboxes_at_once=2))
    _assert_graded_like_the_serial_grader(report, layout, students)
    assert len(writers) == 1 and threading.get_ident() not in writers
    intervals.sort()
    assert any(later[0] < earlier[1] for earlier, later in zip(intervals, intervals[1:]))  # they overlapped

    intervals.clear()
    one_at_a_time = grade_batch(["pdp"], Layout(PROJECT_ROOT, layout.submissions, tmp_path / "serial"),
                                load_settings(PROJECT_ROOT, sandboxes_at_once=1))
    intervals.sort()
    assert all(later[0] >= earlier[1] for earlier, later in zip(intervals, intervals[1:]))
    for student in students:
        ours, theirs = dict(report[student]["pdp"]), dict(one_at_a_time[student]["pdp"])
        ours.pop("_timings"), theirs.pop("_timings")
        assert ours == theirs


def test_a_gradebook_that_cannot_learn_the_assignment_stops_the_batch(tmp_path, monkeypatch):
    from autograder import batch

    def broken(*args, **kwargs):
        raise RuntimeError("nbgrader generate_assignment pdp failed")

    monkeypatch.setattr(batch, "register_assignment", broken)
    layout = _course(tmp_path, ("full_solution",))
    with pytest.raises(RuntimeError, match="generate_assignment pdp failed"):
        grade_batch(["pdp"], layout, load_settings(PROJECT_ROOT))
    assert not layout.state_file("full_solution", "pdp").exists()  # nothing counted as graded
