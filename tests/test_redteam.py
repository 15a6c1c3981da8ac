"""Red team: hostile and broken PDP submissions graded in one sandboxed batch.

Every case states its exact outcome: the points (only honest work counts), the note or flag the
report must carry, and that the batch finishes. After the batch the machine must be clean.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import numpy as np
import psutil
import pytest

from autograder.batch import Layout, grade_batch
from autograder.config import PROJECT_ROOT, load_settings
from autograder.runner.sandbox import cgroup_roots
from helpers import entry_score

FULL = PROJECT_ROOT / "examples" / "submissions" / "full_solution" / "pdp" / "pdp.ipynb"
ZERO_1D = "def partial_dependence_1d(model, X, feature, grid):\n    return np.zeros(len(grid))\n"
MARKER = "xaigrade-redteam-sleeper-4242"


def _solution_index(nb, grade_id):
    return next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _with(cell_source=None, replace=None, after="partial_dependence_2d", edit=None):
    """The full solution, optionally with a code cell inserted after a solution cell, solution cells
    replaced ({grade_id: code}), or an arbitrary edit of the notebook."""
    nb = nbformat.read(FULL, as_version=4)
    for grade_id, code in (replace or {}).items():
        nb.cells[_solution_index(nb, grade_id)].source = code
    if cell_source is not None:
        nb.cells.insert(_solution_index(nb, after) + 1, nbformat.v4.new_code_cell(cell_source))
    if edit:
        edit(nb)
    return nb


def _cases(listener_port, submissions, output):
    def drop_test_cell(nb):
        nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "test_pdp_2d"]

    def blank_test_cell(nb):
        nb.cells[_solution_index(nb, "test_pdp_1d")].source = "pass"

    def unlock_test_cell(nb):
        cell = nb.cells[_solution_index(nb, "test_pdp_1d")]
        cell.metadata["nbgrader"].update(solution=True, grade=False, points=100)
        cell.source = "print('alles bestanden')"
        for other in nb.cells:
            other["id"] = "x" + other.get("id", "")[:8]

    return {
        # name: (notebook or raw bytes, expected score out of 8, substring expected in notes/flags or None)
        "patch_numpy_allclose": (_with("np.allclose = lambda *a, **k: True\n"
                                       "np.testing.assert_allclose = lambda *a, **k: None",
                                       replace={"partial_dependence_1d": ZERO_1D}), 5, "np.allclose"),
        "patch_torch_allclose": (_with("import torch\ntorch.allclose = lambda *a, **k: True",
                                       replace={"partial_dependence_2d":
                                                "def partial_dependence_2d(model, X, features, grid_a, grid_b):\n"
                                                "    return np.zeros((len(grid_a), len(grid_b)))"}), 6, "torch.allclose"),
        "redefine_builtins": (_with("import builtins\nbuiltins.AssertionError = Exception\nAssertionError = Exception",
                                    replace={"partial_dependence_1d": ZERO_1D}), 5, "AssertionError"),
        "import_reference": (_with(replace={"partial_dependence_1d":
                                            "try:\n    from reference_solutions.pdp import partial_dependence_1d\n"
                                            "except ImportError:\n" + "    " + ZERO_1D.replace("\n    ", "\n        ")}),
                             5, "reference_solutions"),
        "read_reference_by_path": (_with(replace={"partial_dependence_1d":
                                                  f"try:\n    exec(open({str(PROJECT_ROOT / 'reference_solutions' / 'pdp.py')!r}).read())\n"
                                                  "except OSError:\n    " + ZERO_1D.replace("\n    ", "\n        ")}),
                                   5, "reference_solutions"),
        "read_other_submission": (_with("import glob\nstolen = glob.glob(" + repr(str(submissions) + "/*/pdp/*.ipynb") + ")\n"
                                        "assert not stolen, stolen"), 8, "submitted"),
        "write_gradebook": (_with("import sqlite3\ncon = sqlite3.connect(" + repr(str(output / "gradebook.db")) + ")\n"
                                  "con.execute('update grade set auto_score = 100')\ncon.commit()"), 8, "gradebook"),
        "fake_results_and_disable_probe": (_with("import autograder.runner.probe as p, os, json\n"
                                                 "p.run = lambda *a, **k: None\nos.makedirs('results', exist_ok=True)\n"
                                                 "json.dump({'ok': True}, open('results/linear_1d.json', 'w'))\n"
                                                 "np.savez('results/linear_1d.npz', pd=np.zeros(5), x_unchanged=True)"),
                                           0, "autograder"),
        "sys_exit_in_solution": (_with(replace={"partial_dependence_1d": nbformat.read(FULL, as_version=4).cells[
            _solution_index(nbformat.read(FULL, as_version=4), "partial_dependence_1d")].source + "\nimport sys\nsys.exit(0)"}),
                                 8, "sys.exit"),
        "os_exit_in_cell": (_with("import os\nos._exit(1)"), 8, "Kernel"),
        "endless_loop": (_with("while True:\n    pass"), 8, "Zeitlimit von 15 s"),
        "allocate_50_gb": (_with("big = np.ones(50 * 2**30 // 8)"), 8, "MemoryError"),
        "fork_bomb": (_with("import os\nwhile True:\n    os.fork()"), 8, "os.fork"),
        "print_1_gb": (_with("for _ in range(1000):\n    print('x' * 10**6)"), 8, None),
        "background_process": (_with(f"import subprocess\nsubprocess.Popen(['sleep', '1000', '{MARKER}'], "
                                     "start_new_session=True)"), 8, "subprocess"),
        "network_socket": (_with("import socket\ntry:\n    socket.create_connection(('127.0.0.1', "
                                 f"{listener_port}), timeout=3)\nexcept OSError as e:\n    print('blocked', e)"),
                           8, "socket"),
        "deleted_test_cell": (_with(edit=drop_test_cell), 8, "test_pdp_2d"),
        "edited_test_cell": (_with(edit=blank_test_cell), 8, "test_pdp_1d"),
        "changed_metadata_and_ids": (_with(edit=unlock_test_cell), 8, "test_pdp_1d"),
        "not_json": (b'{"cells": [}', 0, "kann nicht gelesen werden"),
        "empty_file": (b"", 0, "leere Datei"),
        "other_assignment": (nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
            "x = 1", metadata={"nbgrader": {"grade": True, "grade_id": "test_other", "locked": True, "points": 1,
                                            "schema_version": 3, "solution": False, "task": False}})]),
                             0, "gehört nicht zur Aufgabe"),
        "returns_nan": (_with(replace={"partial_dependence_1d": "def partial_dependence_1d(model, X, feature, grid):\n"
                                       "    return np.full(len(grid), np.nan)"}), 5, None),
        "wrong_shape_2d": (_with(replace={"partial_dependence_2d": "def partial_dependence_2d(model, X, features, grid_a, grid_b):\n"
                                          "    return np.zeros(len(grid_a))"}), 5, None),
        "wrong_dtype": (_with(replace={"partial_dependence_1d": "def partial_dependence_1d(model, X, feature, grid):\n"
                                       "    return ['hoch'] * len(grid)"}), 5, None),
        "huge_array": (_with(replace={"partial_dependence_1d": "def partial_dependence_1d(model, X, feature, grid):\n"
                                      "    return np.ones((len(grid), 3_000_000))"}), 5, None),
        "patch_tensor_backward": (_with("import torch\ntorch.Tensor.backward = lambda self, *a, **k: None"), 8,
                                  "torch.Tensor.backward"),
        "detects_grader": (_with(replace={"partial_dependence_1d":
                                          "import os\n_real = None\n"
                                          "def partial_dependence_1d(model, X, feature, grid):\n"
                                          "    if 'xaigrade' in os.getcwd() or 'xaigrade' in os.environ.get('HOME', ''):\n"
                                          "        return np.zeros(len(grid))\n"
                                          "    return np.array([model.predict(X.assign(**{feature: v})).mean() for v in grid])"}),
                           5, "xaigrade"),
    }


EXPECTED_MESSAGE_KEYS = {
    "returns_nan": {"pdp_1d.linear_exact": "not_finite", "pdp_1d.values": "not_finite"},
    "wrong_shape_2d": {"pdp_2d.shape": "shape", "pdp_2d.values": "shape"},
    "wrong_dtype": {"pdp_1d.values": "not_numeric", "pdp_1d.input_unchanged": "passed"},
    "huge_array": {"pdp_1d.values": "invalid_result", "pdp_1d.input_unchanged": "passed"},
}


@pytest.fixture(scope="module")
def redteam(tmp_path_factory):
    root = tmp_path_factory.mktemp("redteam")
    submissions, output = root / "submitted", root / "out"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.2)
    accepted = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                accepted.append(listener.accept())
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    cases = _cases(listener.getsockname()[1], submissions, output)
    for name, (content, _, _) in cases.items():
        target = submissions / name / "pdp" / "pdp.ipynb"
        target.parent.mkdir(parents=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            nbformat.write(content, str(target))
    settings = load_settings(PROJECT_ROOT, cell_timeout=15.0, probe_timeout=20.0, total_timeout=240.0,
                             memory_mb=3072, max_processes=64)
    layout = Layout(PROJECT_ROOT, submissions, output)
    job_dirs_before = set(Path("/tmp").glob("xaigrade-job-*"))
    cgroups_before = _job_cgroups(os.getpid())
    started = time.monotonic()
    report = grade_batch(["pdp"], layout, settings)
    stop.set()
    thread.join()
    listener.close()
    return {"report": report, "cases": cases, "accepted": accepted, "layout": layout,
            "seconds": time.monotonic() - started,
            "job_dirs_left": set(Path("/tmp").glob("xaigrade-job-*")) - job_dirs_before,
            "cgroups_left": _job_cgroups(os.getpid()) - cgroups_before}


def _job_cgroups(grader_pid: int) -> set:
    """The job cgroups of one grader process (graders of other runs may share the cgroup roots)."""
    from autograder.runner.sandbox import _pid_namespace

    prefix = f"xaigrade-{_pid_namespace()}-{grader_pid}-"
    return {path for root in cgroup_roots().values() for path in root.glob(prefix + "*")}


CASE_NAMES = sorted(_cases(0, Path("/x"), Path("/y")))


@pytest.mark.parametrize("name", CASE_NAMES)
def test_attack_earns_only_honest_points_and_is_reported(redteam, name):
    entry = redteam["report"][name]["pdp"]
    _, expected_score, expected_text = redteam["cases"][name]
    score = entry_score(entry)
    notes = json.dumps(entry.get("_notes", []), ensure_ascii=False) + json.dumps(entry.get("_flags", []))
    assert score == expected_score, json.dumps(entry, indent=1, ensure_ascii=False)[:3000]
    if expected_text:
        assert expected_text in notes, notes
    for check_id, key in EXPECTED_MESSAGE_KEYS.get(name, {}).items():
        assert entry[check_id]["message_key"] == key, entry[check_id]


def test_attacks_ran_in_kernels_forked_from_the_warm_zygote(redteam):
    """The default path under attack is the warm one (zygote fork), not a silent cold fallback."""
    ran = {name: entry["pdp"]["_timings"] for name, entry in redteam["report"].items()
           if "kernel_start" in entry["pdp"].get("_timings", {})}
    assert len(ran) >= len(CASE_NAMES) - 4  # all but the unreadable notebooks ran
    assert {name for name, timings in ran.items() if timings.get("warm_start") != 1.0} == set()


def test_no_connection_reached_the_host(redteam):
    assert redteam["accepted"] == []


def test_gradebook_holds_only_the_graders_scores(redteam):
    from nbgrader.api import Gradebook

    with Gradebook(redteam["layout"].db_url) as gradebook:
        for submission in gradebook.assignment_submissions("pdp"):
            assert submission.score <= 8
        assert gradebook.find_submission("pdp", "write_gradebook").score == 8


def test_machine_is_left_clean(redteam):
    # jobs forked from a warm zygote carry its command line, so they are found by process name
    leftovers = [p.info for p in psutil.process_iter(["pid", "name", "cmdline"])
                 if p.info["name"] in ("xaigrade-job", "xaigrade-kernel")
                 or p.info["cmdline"] and (MARKER in " ".join(p.info["cmdline"])
                                           or "autograder.runner.execute" in " ".join(p.info["cmdline"]))]
    assert leftovers == []
    assert not redteam["job_dirs_left"]
    assert not redteam["cgroups_left"]


def test_same_submission_graded_twice_gives_identical_results(redteam, tmp_path):
    layout = redteam["layout"]
    again = Layout(PROJECT_ROOT, layout.submissions, tmp_path)
    settings = load_settings(PROJECT_ROOT, cell_timeout=15.0, probe_timeout=20.0, total_timeout=240.0)
    for name in ("returns_nan", "patch_numpy_allclose"):
        only = tmp_path / "only" / name / "pdp"
        only.mkdir(parents=True)
        shutil.copy(layout.submissions / name / "pdp" / "pdp.ipynb", only)
    report = grade_batch(["pdp"], Layout(PROJECT_ROOT, tmp_path / "only", tmp_path / "out"), settings)
    for name in ("returns_nan", "patch_numpy_allclose"):
        first, second = (dict(r[name]["pdp"]) for r in (report, redteam["report"]))
        first.pop("_timings", None), second.pop("_timings", None)  # only wall times may differ
        assert first == second


def _grading_with_a_first_result(submissions: Path, output: Path):
    """`xaigrade grade pdp` started in the background, once its first submission is stored:
    (its command, the process, the folder of state files)."""
    command = [str(Path(sys.executable).parent / "xaigrade"), "grade", "pdp", "--submissions", str(submissions),
               "--output", str(output)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state_dir = output / ".xaigrade" / "graded"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not list(state_dir.rglob("*.json")):
        time.sleep(0.2)
    return command, process, state_dir


def test_a_killed_batch_resumes_without_regrading_or_duplicates(tmp_path):
    submissions = tmp_path / "submitted"
    for index in range(3):
        target = submissions / f"student{index}" / "pdp"
        target.mkdir(parents=True)
        shutil.copy(FULL, target / "pdp.ipynb")
    output = tmp_path / "out"
    command, process, state_dir = _grading_with_a_first_result(submissions, output)
    process.send_signal(signal.SIGKILL)
    process.wait()
    orphaned = _job_cgroups(process.pid)  # cgroups of jobs it was running, if any (see also the next test)
    finished = {p.parent.name: p.stat().st_mtime_ns for p in state_dir.rglob("*.json")}
    assert 1 <= len(finished) < 3
    subprocess.run(command, check=True, capture_output=True, timeout=600)
    after = {p.parent.name: p.stat().st_mtime_ns for p in state_dir.rglob("*.json")}
    assert set(after) == {"student0", "student1", "student2"}
    assert all(after[s] == finished[s] for s in finished)  # finished work was not regraded
    # the killed grader could not remove its job's cgroups; the next grader did
    assert not any(path.exists() for path in orphaned)
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{output / 'gradebook.db'}") as gradebook:
        submissions_in_db = gradebook.assignment_submissions("pdp")
        assert sorted(s.student.id for s in submissions_in_db) == ["student0", "student1", "student2"]
        assert all(s.score == 8 for s in submissions_in_db)


@pytest.mark.skipif(not cgroup_roots(), reason="job cgroups need root and writable cgroup v1 controllers")
def test_cgroups_of_a_dead_grader_are_removed_and_those_of_a_live_one_kept():
    from autograder.runner.sandbox import _Cgroups, _pid_namespace

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    namespace = _pid_namespace()
    made = []
    for root in cgroup_roots().values():
        for owner in (dead_pid, os.getppid()):
            path = root / f"xaigrade-{namespace}-{owner}-{os.urandom(6).hex()}"
            path.mkdir()
            made.append((owner, path))
    try:
        job = _Cgroups(load_settings(PROJECT_ROOT))  # a new job cleans up before it starts
        job.destroy()
        assert [p for owner, p in made if owner == dead_pid and p.exists()] == []
        assert all(p.exists() for owner, p in made if owner != dead_pid)
    finally:
        for _, path in made:
            if path.exists():
                path.rmdir()


def test_ctrl_c_stops_a_batch_at_once_and_the_rest_is_graded_next_run(tmp_path):
    """Ctrl-C while two sandboxes run: the grader ends within seconds, kills its jobs, keeps what was
    stored; the next run grades the rest."""
    submissions = tmp_path / "submitted"
    slow = _with("import time\ntime.sleep(100)")  # without the kill, Ctrl-C would wait for it
    for index in range(5):
        target = submissions / f"student{index}" / "pdp"
        target.mkdir(parents=True)
        if index == 0:
            shutil.copy(FULL, target / "pdp.ipynb")
        else:
            nbformat.write(slow, str(target / "pdp.ipynb"))
    output = tmp_path / "out"
    command, process, state_dir = _grading_with_a_first_result(submissions, output)
    time.sleep(1.0)  # two slow ones are in their sandboxes now
    jobs_before = _job_processes()
    process.send_signal(signal.SIGINT)
    stopped = time.monotonic()
    process.wait(timeout=60)
    assert time.monotonic() - stopped < 15
    assert jobs_before
    gone = time.monotonic() + 5
    while _job_processes() and time.monotonic() < gone:  # (killed processes take a moment to go)
        time.sleep(0.1)
    assert not _job_processes()
    finished = {p.parent.name for p in state_dir.rglob("*.json")}
    assert finished == {"student0"}
    for index in range(1, 5):
        shutil.copy(FULL, submissions / f"student{index}" / "pdp" / "pdp.ipynb")
    subprocess.run(command, check=True, capture_output=True, timeout=600)
    assert {p.parent.name for p in state_dir.rglob("*.json")} == {f"student{i}" for i in range(5)}


def _job_processes() -> set:
    return {p.pid for p in psutil.process_iter(["name"]) if p.info["name"] in ("xaigrade-job", "xaigrade-kernel")}
