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
