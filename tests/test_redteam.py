"""Red team: hostile and broken PDP submissions graded in one sandboxed batch, once on the warm path
(jobs forked from the zygote, the default) and once on the cold path.

Every case states its exact outcome: the points (only honest work counts), the note or flag the
report must carry, and that the batch finishes. After the batch the machine must be clean.

(Over 400 lines on purpose: the attack table and the two module-scoped batches it runs in — the expensive
part — belong together; split files would each grade the batch again.)
Grader-side attacks (pictures, huge notebooks, zip bombs, script in pages) are in
``test_redteam_grader.py``; hidden inputs and the course secret in ``test_hidden_inputs.py``.
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
STOLEN_MARKER = "xaigrade-redteam-stolen-notebook-7777"
REDTEAM_SETTINGS = dict(cell_timeout=15.0, probe_timeout=20.0, total_timeout=240.0, memory_mb=3072, max_processes=64,
                        job_disk_mb=256)

# Lists the kernel's descriptors and attacks every one that is not its own: accepts on a listener of
# the grader's, sends forged answers on its connections, looks for an epoll set watching foreign files.
DESCRIPTOR_ATTACK = r"""
import os, socket, sys
_here = os.getcwd()
FOREIGN = []
_fds = {}
for _name in os.listdir("/proc/self/fd"):
    try:
        _fds[int(_name)] = os.readlink("/proc/self/fd/" + _name)
    except OSError:
        pass
for _fd, _target in sorted(_fds.items()):
    if _fd <= 2:
        continue  # its own standard streams (the job's log)
    if _target.startswith("socket:"):
        try:
            _s = socket.socket(fileno=os.dup(_fd))
        except OSError:
            continue
        try:
            _addr = _s.getsockname() if _s.family == socket.AF_UNIX else ""
            _addr = _addr.decode("utf-8", "replace") if isinstance(_addr, bytes) else _addr
            if _addr and not _addr.startswith(_here):
                FOREIGN.append([_fd, "socket", _addr])
                _s.setblocking(False)
                try:
                    if _s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
                        _c, _ = _s.accept()
                        _c.sendall(b'{"pid": 999999}\n{"returncode": 0}\n')
                    else:
                        _s.sendall(b'{"pid": 999999}\n{"returncode": 0}\n')
                except OSError:
                    pass
        finally:
            _s.close()
    elif _target == "anon_inode:[eventpoll]":
        for _line in open(f"/proc/self/fdinfo/{_fd}"):
            if _line.startswith("tfd:"):
                _tfd, _ino = int(_line.split()[1]), int(_line.split("ino:")[1].split()[0], 16)
                try:
                    _mine = os.fstat(_tfd).st_ino == _ino
                except OSError:
                    _mine = False
                if not _mine:
                    FOREIGN.append([_fd, "epoll", _tfd])
    elif _target == os.path.join(os.path.dirname(_here), "sandbox.log"):
        pass  # its own log (ipykernel keeps copies of the standard streams it redirects)
    elif _target.startswith("/") and not _target.startswith((_here, "/dev/", "/proc/", sys.prefix, sys.base_prefix)):
        FOREIGN.append([_fd, "file", _target])
print("FOREIGN", FOREIGN)
print("UIDMAP", open("/proc/self/uid_map").read().split())
if FOREIGN:
    def partial_dependence_1d(model, X, feature, grid):
        return np.zeros(len(grid))
"""


def _swap_after_probe(name: str, make: str) -> str:
    """The student's function, on its next call after the probe wrote ``results/linear_1d``'s status,
    puts ``make`` (code that creates ``results/.swap``) in place of ``results/<name>`` first."""
    return ("import os\n"
            "_honest_pd_1d = partial_dependence_1d\n"
            "def partial_dependence_1d(model, X, feature, grid):\n"
            "    if os.path.exists('results/linear_1d.json') and not os.path.exists('results/.swapped'):\n"
            f"        {make}\n"
            f"        os.replace('results/.swap', 'results/{name}')\n"
            "        open('results/.swapped', 'w').close()\n"
            "    return _honest_pd_1d(model, X, feature, grid)\n")


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


def _cases(listener_port, submissions, output, bait=None):
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

    bait = bait or {"stolen": "/dev/shm/x", "npz": "/dev/shm/x.npz", "target": "/x", "log_target": "/y"}
    library_pd = ("from sklearn.inspection import partial_dependence as _pd\n"
                  "def partial_dependence_1d(model, X, feature, grid):\n"
                  "    result = _pd(model, X.astype(float), [feature], kind='average', method='brute',\n"
                  "                 custom_values={feature: np.asarray(grid, dtype=float)})\n"
                  "    return result['average'][0]\n")
    import base64
    hidden_patch = base64.b64encode(b"import numpy as np\nnp.allclose = lambda *a, **k: True\n").decode()
    return {
        # --- descriptors (class 1) and the uid of a job
        "inherited_descriptors": (_with(DESCRIPTOR_ATTACK), 8, None),
        # (kill(-1) reaches every process the job's uid may signal but itself and PID 1 of its
        # namespace: nothing else of the job, nothing of the grader or of other jobs)
        "kill_everything_it_can": (_with("import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\n"
                                         "except OSError as e:\n    print(e)"), 8, "os.kill (-1, 9)"),
        # --- paths the grader reads or changes (class 2) and forged sandbox data (class 3)
        "executed_notebook_is_a_link": (_with(f"import os\nos.symlink({bait['stolen']!r}, 'executed.ipynb')"),
                                        8, "executed.ipynb"),
        "result_swapped_for_a_link": (_with(_swap_after_probe("linear_1d.npz", f"os.symlink({bait['npz']!r}, 'results/.swap')")),
                                      6, None),
        "result_swapped_for_a_fifo": (_with(_swap_after_probe("linear_1d.json", "os.mkfifo('results/.swap')")),
                                      6, None),
        "retry_with_links": (_with(f"import os\nos.symlink({bait['target']!r}, 'grab')\n"
                                   f"os.symlink({bait['log_target']!r}, 'sandbox.log')\n"
                                   "open('results', 'w').close()\nos.mkdir('executed.ipynb')"), 0, "Code 1"),
        "forged_status": (_with("import json, os\njson.dump({'timings': {'student_cells': 'boom', 'probe': -1}, "
                                "'cell_errors': [{'index': 'x', 'error': 5}], 'kernel_deaths': 'many', "
                                "'warm_kernel': 'yes', 'cell_timeouts': [{'index': 3, 'seconds': 1e308}]}, "
                                "open('status.json', 'w'))\nos.mkdir('executed.ipynb')"), 8, "ungültig"),
        "fill_the_disk": (_with("import glob, os\nchunk = b'x' * (32 * 2**20)\ntry:\n    for i in range(80):\n"
                                "        with open(f'fill{i}.bin', 'wb') as handle:\n            handle.write(chunk)\n"
                                "finally:\n    for name in glob.glob('fill*.bin'):\n        os.remove(name)"),
                          8, "No space left on device"),
        # --- flags from what ran (class 6)
        "exec_hidden_patch": (_with(f"import base64\nexec(base64.b64decode({hidden_patch!r}))",
                                    replace={"partial_dependence_1d": ZERO_1D}), 5, "np.allclose"),
        "hidden_subprocess": (_with("getattr(__import__('subpro' + 'cess'), 'run')(['true'])"), 8, "subprocess.Popen"),
        "hidden_socket": (_with("_s = __import__('so' + 'cket').socket()\n_s.settimeout(1)\ntry:\n"
                                f"    _s.connect(('127.0.0.1', {listener_port}))\nexcept OSError:\n    pass"),
                          8, "socket.connect"),
        "hidden_ctypes": (_with("__import__('ctyp' + 'es').CDLL(None).getpid()\n"
                                "print('UIDMAP', open('/proc/self/uid_map').read().split())\n"
                                "print('OOMADJ', open('/proc/self/oom_score_adj').read().strip())"), 8, "ctypes.dlopen"),
        "library_partial_dependence": (_with(replace={"partial_dependence_1d": library_pd}), 8,
                                       "sklearn.inspection.partial_dependence"),
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
                                           8, "autograder"),  # (the probe it patched is not the one that runs)
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


@pytest.fixture(scope="module", params=["warm", "cold"])
def redteam(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"redteam-{request.param}")
    submissions, output = root / "submitted", root / "out"
    bait = _bait(root)
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
    cases = _cases(listener.getsockname()[1], submissions, output, bait)
    if request.param == "cold":
        cases = {name: case for name, case in cases.items() if name in COLD_CASES}
    for name, (content, _, _) in cases.items():
        target = submissions / name / "pdp" / "pdp.ipynb"
        target.parent.mkdir(parents=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            nbformat.write(content, str(target))
    settings = load_settings(PROJECT_ROOT, warm_start=request.param == "warm", **REDTEAM_SETTINGS)
    layout = Layout(PROJECT_ROOT, submissions, output)
    job_dirs_before = set(Path("/tmp").glob(_own_job_folders()))
    cgroups_before = _job_cgroups(os.getpid())
    mounts_before = _job_mounts()
    started = time.monotonic()
    try:
        report = grade_batch(["pdp"], layout, settings)
    finally:
        stop.set()
        thread.join()
        listener.close()
    yield {"report": report, "cases": cases, "accepted": accepted, "layout": layout, "path": request.param,
           "bait": bait, "seconds": time.monotonic() - started,
           "job_dirs_left": set(Path("/tmp").glob(_own_job_folders())) - job_dirs_before,
           "cgroups_left": _job_cgroups(os.getpid()) - cgroups_before,
           "mounts_left": _job_mounts() - mounts_before}
    for path in (bait["stolen"], bait["npz"]):
        Path(path).unlink(missing_ok=True)


def _bait(root: Path) -> dict:
    """Host files a submission's links point at: another 'student's' notebook and a results file in
    /dev/shm (the jail has its own /dev/shm, the grader sees the host's), files the grader must not
    change (owner, content)."""
    stolen = Path(f"/dev/shm/xaigrade-redteam-{os.getpid()}-{root.name}.ipynb")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(STOLEN_MARKER)])
    nbformat.write(notebook, str(stolen))
    npz = stolen.with_suffix(".npz")
    with open(npz, "wb") as handle:
        np.savez(handle, pd=np.zeros(5), x_unchanged=np.array(True))
    target, log_target = root / "host_file.txt", root / "host_log.txt"
    target.write_text("grader's file\n")
    log_target.write_text("grader's log\n")
    return {"stolen": str(stolen), "npz": str(npz), "target": str(target), "log_target": str(log_target)}


def _own_job_folders(grader_pid: int | None = None) -> str:
    """The glob of one grader's job folders (other runs on the machine have their own)."""
    from autograder.runner.sandbox import _pid_namespace

    return f"xaigrade-job-{_pid_namespace()}-{grader_pid or os.getpid()}-*"


def _job_mounts() -> set:
    prefix = _own_job_folders()[:-1]
    with open("/proc/self/mountinfo") as handle:
        return {line.split()[4] for line in handle if Path(line.split()[4]).name.startswith(prefix)}


def _job_cgroups(grader_pid: int) -> set:
    """The job cgroups of one grader process (graders of other runs may share the cgroup roots)."""
    from autograder.runner.sandbox import _pid_namespace

    prefix = f"xaigrade-{_pid_namespace()}-{grader_pid}-"
    return {path for root in cgroup_roots().values() for path in root.glob(prefix + "*")}


CASE_NAMES = sorted(_cases(0, Path("/x"), Path("/y")))
STATUS_FORGED = {"forged_status", "retry_with_links"}  # no status of the executor's to say which path ran
# The cold path (a fresh process tree per job, ~3x slower) runs the attacks on the sandbox itself;
# what only concerns the notebook or the checks runs on the warm path alone.
COLD_CASES = {"inherited_descriptors", "kill_everything_it_can", "executed_notebook_is_a_link",
              "result_swapped_for_a_link", "result_swapped_for_a_fifo", "retry_with_links", "forged_status",
              "fill_the_disk", "exec_hidden_patch", "hidden_subprocess", "hidden_socket", "hidden_ctypes",
              "library_partial_dependence", "fork_bomb", "background_process", "os_exit_in_cell", "endless_loop",
              "allocate_50_gb", "network_socket", "read_reference_by_path", "read_other_submission",
              "write_gradebook", "fake_results_and_disable_probe", "print_1_gb", "returns_nan",
              "patch_numpy_allclose"}


@pytest.mark.parametrize("name", CASE_NAMES)
def test_attack_earns_only_honest_points_and_is_reported(redteam, name):
    if name not in redteam["cases"]:
        pytest.skip("warm path only (not an attack on the sandbox itself)")
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
    """The default path under attack is the warm one (zygote fork), not a silent cold fallback; and
    the cold batch really ran cold. (Each job has a uid of its own: a fork bomb beside it cannot
    starve its kernel start, which made the warm path fall back under load.)"""
    ran = {name: entry["pdp"]["_timings"] for name, entry in redteam["report"].items()
           if "kernel_start" in entry["pdp"].get("_timings", {}) and name not in STATUS_FORGED}
    unreadable = {"not_json", "empty_file", "other_assignment"} & set(redteam["cases"])
    assert len(ran) == len(redteam["cases"]) - len(unreadable) - len(STATUS_FORGED)  # all other notebooks ran
    expected = 1.0 if redteam["path"] == "warm" else 0.0
    fell_back = {name: redteam["report"][name]["pdp"].get("_warm_fallback") for name, timings in ran.items()
                 if timings.get("warm_start") != expected}
    assert fell_back == {}  # (each with the reason it gave)


def _printed(redteam, name: str, word: str) -> str:
    """What the submission ``name`` printed after ``word`` (from its autograded notebook)."""
    autograded = redteam["layout"].output / "autograded" / name / "pdp" / "pdp.ipynb"
    for cell in nbformat.read(autograded, as_version=4).cells:
        for output in cell.get("outputs", []):
            for line in output.get("text", "").splitlines():
                if line.startswith(word + " "):
                    return line[len(word) + 1:]
    raise AssertionError(f"{name} printed no {word}")


def test_a_submission_finds_only_its_own_descriptors(redteam):
    """No listener, connection, epoll set or file of the zygote or grader is open in the kernel."""
    assert _printed(redteam, "inherited_descriptors", "FOREIGN") == "[]"


def test_each_job_runs_under_a_uid_of_its_own(redteam):
    """Two jobs of one batch, under two outer uids (neither root nor the shared "nobody")."""
    if os.geteuid() != 0:
        pytest.skip("only a root grader switches uids")
    outer = {name: int(_printed(redteam, name, "UIDMAP").strip("[]").split(",")[1].strip(" '"))
             for name in ("inherited_descriptors", "hidden_ctypes")}
    assert len(set(outer.values())) == 2, outer
    assert not set(outer.values()) & {0, 65534}, outer


def test_a_kernel_is_no_preferred_victim_of_the_machines_oom_killer(redteam):
    """Inside its cgroup the kernel goes before the executor; on the machine it is like any process."""
    assert int(_printed(redteam, "hidden_ctypes", "OOMADJ")) <= 0


def test_links_and_fifos_in_the_job_folder_reach_no_host_file(redteam):
    bait = redteam["bait"]
    for path, content in ((bait["target"], "grader's file\n"), (bait["log_target"], "grader's log\n")):
        assert Path(path).read_text() == content  # not truncated, not appended to
        assert Path(path).stat().st_uid == os.geteuid()  # not handed to the job's uid
    autograded = redteam["layout"].output / "autograded" / "executed_notebook_is_a_link" / "pdp" / "pdp.ipynb"
    assert STOLEN_MARKER not in autograded.read_text()
    report = redteam["report"]
    for name in ("result_swapped_for_a_link", "result_swapped_for_a_fifo"):
        assert report[name]["pdp"]["pdp_1d.linear_exact"]["message_key"] == "invalid_result", report[name]["pdp"]


def test_forged_status_is_validated_not_trusted(redteam):
    entry = redteam["report"]["forged_status"]["pdp"]
    assert all(isinstance(v, float) for v in entry["_timings"].values())
    assert entry["_timings"]["warm_start"] == 0.0


def test_no_connection_reached_the_host(redteam):
    assert redteam["accepted"] == []


def test_gradebook_holds_only_the_graders_scores(redteam):
    from nbgrader.api import Gradebook

    with Gradebook(redteam["layout"].db_url) as gradebook:
        for submission in gradebook.assignment_submissions("pdp"):
            assert submission.score <= 8
        assert gradebook.find_submission("pdp", "write_gradebook").score == 8


def test_machine_is_left_clean(redteam):
    """No process of this grader's jobs is left (found by the uids it gave its jobs, so another grading run on
    the same machine does not count), nor a sleeper of the background_process case, a job folder, a cgroup or a
    job mount."""
    from autograder.runner.sandbox import uids_handed_out

    ours = uids_handed_out()
    leftovers = [p.info for p in psutil.process_iter(["pid", "name", "cmdline", "uids"])
                 if (p.info["uids"] and p.info["uids"].real in ours)
                 or (not ours and p.info["name"] in ("xaigrade-job", "xaigrade-kernel"))
                 or p.info["cmdline"] and MARKER in " ".join(p.info["cmdline"])]
    assert leftovers == []
    assert not redteam["job_dirs_left"]
    assert not redteam["cgroups_left"]
    assert not redteam["mounts_left"]


def test_same_submission_graded_twice_gives_identical_results(redteam, tmp_path):
    layout = redteam["layout"]
    again = Layout(PROJECT_ROOT, layout.submissions, tmp_path)
    settings = load_settings(PROJECT_ROOT, warm_start=redteam["path"] == "warm", **REDTEAM_SETTINGS)
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
    # Ctrl-C as in a terminal: a pytest-xdist worker ignores SIGINT, and an ignored SIGINT is inherited
    # (Python then installs no KeyboardInterrupt handler), so the grader would never see it
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
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
    """Ctrl-C while two sandboxes run: the grader ends without waiting for its jobs, kills them, keeps
    what was stored; the next run grades the rest. (No clock: the jobs sleep an hour, so a grader that
    waited for them would hit the hang guard.)"""
    submissions = tmp_path / "submitted"
    slow = _with("import time\ntime.sleep(3600)")  # without the kill, Ctrl-C would wait for it
    for index in range(5):
        target = submissions / f"student{index}" / "pdp"
        target.mkdir(parents=True)
        if index == 0:
            shutil.copy(FULL, target / "pdp.ipynb")
        else:
            nbformat.write(slow, str(target / "pdp.ipynb"))
    output = tmp_path / "out"
    command, process, state_dir = _grading_with_a_first_result(submissions, output)
    jobs_before = _job_processes(process.pid)
    guard = time.monotonic() + 600  # (a hang guard, not a speed bound)
    while not jobs_before and time.monotonic() < guard:  # the slow ones are in their sandboxes
        time.sleep(0.2)
        jobs_before = _job_processes(process.pid)
    assert jobs_before
    process.send_signal(signal.SIGINT)
    process.wait(timeout=600)
    gone = time.monotonic() + 120
    while _job_processes(process.pid) and time.monotonic() < gone:  # (killed processes take a moment to go)
        time.sleep(0.1)
    assert not _job_processes(process.pid)
    finished = {p.parent.name for p in state_dir.rglob("*.json")}
    assert finished == {"student0"}
    for index in range(1, 5):
        shutil.copy(FULL, submissions / f"student{index}" / "pdp" / "pdp.ipynb")
    subprocess.run(command, check=True, capture_output=True, timeout=600)
    assert {p.parent.name for p in state_dir.rglob("*.json")} == {f"student{i}" for i in range(5)}


def _job_processes(grader_pid: int) -> set:
    """Jobs and kernels of one grader: their working folder is one of its job folders."""
    prefix = _own_job_folders(grader_pid)[:-1]
    found = set()
    for process in psutil.process_iter(["name"]):
        if process.info["name"] in ("xaigrade-job", "xaigrade-kernel"):
            try:
                if prefix in process.cwd():
                    found.add(process.pid)
            except psutil.Error:
                pass
    return found


# --- the warm zygote's protocol: it trusts no connection, the grader trusts no answer ----------------

def test_the_descriptor_probe_finds_a_foreign_listener(tmp_path):
    """The attack above is not blind: given a listener of someone else's, it reports (and uses) it."""
    foreign = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    foreign.bind(str(tmp_path / "grader.sock"))
    foreign.listen(1)
    work = tmp_path / "work"
    work.mkdir()
    code = "import numpy as np\n" + DESCRIPTOR_ATTACK
    run = subprocess.run([sys.executable, "-c", code], cwd=work, pass_fds=[foreign.fileno()],
                         capture_output=True, text=True, timeout=60)
    foreign.close()
    assert "grader.sock" in run.stdout, run.stdout + run.stderr


@pytest.fixture(scope="module")
def owned_zygote():
    from autograder.runner import zygote

    process = zygote.for_notebook(PROJECT_ROOT / "release" / "pdp" / "pdp.ipynb")
    process.wait_ready()
    return process


def _children(pid: int) -> set:
    return {child.pid for child in psutil.Process(pid).children()}


def test_the_zygote_ignores_requests_without_its_key(owned_zygote, tmp_path):
    """Before the key, any process that reached the socket could ask for a job spec of its own choosing
    (no jail, as root). Now an unsigned or wrongly signed request gets no answer and forks nothing."""
    from autograder.runner import zygote

    before = _children(owned_zygote.process.pid)
    spec = {"job_dir": str(tmp_path), "env": {}, "cgroups": [], "namespaces": None, "jail": None, "limits": {}}
    for line in (json.dumps(spec).encode() + b"\n",  # the old protocol
                 zygote.envelope(b"x" * 32, {"job": spec, "nonce": "n"}),  # another key
                 b"{" + b"x" * (zygote.MAX_REQUEST_BYTES + 10)):  # no end of line, ever
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(10)
            conn.connect(owned_zygote.socket_path)
            try:
                conn.sendall(line)
                answer = conn.recv(1000)
            except (ConnectionResetError, BrokenPipeError):
                answer = b""
            assert answer == b""  # closed without an answer
    assert _children(owned_zygote.process.pid) == before
    assert owned_zygote.alive()  # and it still serves the grader


def test_the_grader_kills_only_a_pid_the_zygote_forked_for_this_request(tmp_path, monkeypatch):
    """A forged answer (pid 0, 1, the grader's own, a process that is no child of the zygote) starts
    nothing and kills nothing: the job falls back to a cold start."""
    from autograder.runner import sandbox, zygote

    key = os.urandom(32)
    path = str(tmp_path / "fake.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(4)
    victim = subprocess.Popen(["sleep", "600"])  # (killed below; must outlive the test on a loaded machine)
    forged = [0, 1, os.getpid(), victim.pid]
    killed = []
    monkeypatch.setattr(sandbox, "kill_group", lambda pid: killed.append(pid))

    def answer():
        for pid in forged:
            conn, _ = server.accept()
            request = conn.makefile("rb").readline()
            nonce = zygote.open_envelope(key, request)["nonce"]
            conn.sendall(zygote.envelope(key, {"pid": pid, "zygote": os.getpid() + 12345, "nonce": nonce}))
            conn.sendall(zygote.envelope(key, {"returncode": 0, "nonce": nonce}))
            conn.close()

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    fake = zygote.Zygote(path, key=key)
    try:
        for _ in forged:
            with open(tmp_path / "log", "wb") as log:
                with pytest.raises(zygote.ZygoteUnavailable):
                    fake.run({"job": 1}, log.fileno(), 30)
    finally:
        thread.join(10)
        server.close()
        assert victim.poll() is None  # still alive
        victim.kill()
    assert killed == []


def test_kill_group_refuses_what_is_no_job(monkeypatch):
    from autograder.runner import sandbox

    sent = []
    monkeypatch.setattr(os, "killpg", lambda pid, sig: sent.append(pid))
    for pid in (0, 1, -1, os.getpid(), os.getpgid(0), True):
        sandbox.kill_group(pid)
    assert sent == []
    sandbox.kill_group(999_999)
    assert sent == [999_999]


def test_a_neighbours_fork_bomb_does_not_push_a_job_to_a_cold_kernel(tmp_path):
    """The load fallback, reproduced: a submission holds nearly all the processes its limit allows
    while the next submission starts its kernel beside it. With one shared uid (RLIMIT_NPROC counts
    per uid) that kernel could not start its threads, died, and was started again cold."""
    hog = _with("import subprocess, time\nkids = []\ntry:\n    for _ in range(60):\n"
                "        kids.append(subprocess.Popen(['sleep', '40']))\nexcept OSError as e:\n    print(e)\n"
                "time.sleep(25)")
    submissions = tmp_path / "submitted"
    for name, nb in (("a_hog", hog), ("b_quick", _with()), ("c_beside_the_hog", _with())):
        target = submissions / name / "pdp"
        target.mkdir(parents=True)
        nbformat.write(nb, str(target / "pdp.ipynb"))
    settings = load_settings(PROJECT_ROOT, **{**REDTEAM_SETTINGS, "cell_timeout": 60.0, "max_processes": 64})
    settings.sandboxes_at_once = 2
    report = grade_batch(["pdp"], Layout(PROJECT_ROOT, submissions, tmp_path / "out"), settings)
    entry = report["c_beside_the_hog"]["pdp"]
    assert entry_score(entry) == 8, entry
    assert entry["_timings"]["warm_start"] == 1.0, entry["_timings"]


def test_a_zygote_request_that_failed_is_asked_again_before_starting_cold(tmp_path, monkeypatch):
    """One refused request (e.g. a connection that timed out on a loaded machine) costs a second
    request, not the warm start; and when a job does start cold, the report says why."""
    from autograder.runner import zygote

    real_run, calls = zygote.Zygote.run, []

    def flaky(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise zygote.ZygoteUnavailable("refused once for the test")
        return real_run(self, *args, **kwargs)

    monkeypatch.setattr(zygote.Zygote, "run", flaky)
    submissions = tmp_path / "submitted" / "student" / "pdp"
    submissions.mkdir(parents=True)
    shutil.copy(FULL, submissions / "pdp.ipynb")
    settings = load_settings(PROJECT_ROOT, **REDTEAM_SETTINGS)
    entry = grade_batch(["pdp"], Layout(PROJECT_ROOT, tmp_path / "submitted", tmp_path / "out"), settings)["student"]["pdp"]
    assert entry_score(entry) == 8
    assert entry["_timings"]["warm_start"] == 1.0 and len(calls) == 2
    assert "_warm_fallback" not in entry
