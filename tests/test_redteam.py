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

import base64
import ctypes
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
from helpers import auto_points, entry_score

PDP_POINTS = auto_points("pdp")  # full marks (8 before the ICE/ALE task)

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


# --- attacks of the second red team (issue 21) -------------------------------------------------------------

# Leaves an object of every kind of IPC and a key in every keyring it can reach, and says what it made. The names
# carry the batch's tag: the host is searched for exactly these after the batch.
IPC_ATTACK = r"""
import ctypes, json, os
_libc = ctypes.CDLL(None, use_errno=True)
_tag, _key, _made = {tag!r}, {key}, {{}}
def _result(value):
    return value if value >= 0 else -ctypes.get_errno()
_made["shm"] = _result(_libc.shmget(_key, 256 << 20, 0o1000 | 0o600))  # IPC_CREAT; 256 MiB as in the report
if _made["shm"] >= 0:
    _libc.shmat.restype = ctypes.c_void_p
    _at = _libc.shmat(_made["shm"], None, 0)
    if _at not in (None, 2**64 - 1):
        ctypes.memset(_at, 1, 1 << 20)
_made["msg"] = _result(_libc.msgget(_key, 0o1000 | 0o600))
_made["sem"] = _result(_libc.semget(_key, 1, 0o1000 | 0o600))
_made["mqueue"] = _result(_libc.mq_open(("/" + _tag).encode(), os.O_CREAT | os.O_RDWR, ctypes.c_int(0o600), None))
_fd = os.open("/dev/shm/" + _tag, os.O_CREAT | os.O_RDWR, 0o600)
_made["posix_shm"] = os.write(_fd, b"left behind")
_add_key = {{"x86_64": 248, "aarch64": 217}}[os.uname().machine]
for _ring, _name in ((-3, "session"), (-4, "user"), (-5, "user_session")):
    _made["key_" + _name] = _result(_libc.syscall(_add_key, b"user", f"{{_tag}}-{{_name}}".encode(), b"left behind",
                                                  11, _ring))
print("IPC", json.dumps(_made))
print("UIDMAP", open("/proc/self/uid_map").read().split())
"""

# Scans its own memory (every writable mapping, through /proc/self/mem) for the zygote's request key, as 32 raw
# bytes and as 64 hex digits. The cell holds the key only masked and searches for its first half, comparing the
# second half masked: the whole key never exists here. A control key of the same kind, planted in this memory, is
# found (the scan is not blind).
KEY_ATTACK = r"""
import json
_MASK = 0x5A
def _masked(data):
    return bytes(b ^ _MASK for b in data)
_key, _control = bytes.fromhex({key_masked!r}), bytes.fromhex({control_masked!r})
_planted = bytearray(_control)
for _i in range(len(_planted)):
    _planted[_i] ^= _MASK
_planted_hex = bytearray(_planted.hex().encode())
def _scan(*keys):
    needles = []
    for key in keys:
        needles.append((_masked(key[:16]), key[16:], False))
        needles.append((_masked(key[:16]).hex().encode(), key[16:], True))
    counts, scanned = [0] * len(needles), 0
    with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", buffering=0) as mem:
        regions = [line.split() for line in maps]
        for fields in regions:
            if not fields[1].startswith("rw"):
                continue
            start, end = (int(x, 16) for x in fields[0].split("-"))
            at = start
            while at < end:
                try:
                    mem.seek(at)
                    chunk = mem.read(min(end - at, (64 << 20) + 63))
                except (OSError, ValueError, OverflowError):
                    break
                scanned += len(chunk)
                for number, (first, rest, as_hex) in enumerate(needles):
                    pos = chunk.find(first)
                    while pos >= 0:
                        tail = chunk[pos + len(first):pos + len(first) + (32 if as_hex else 16)]
                        try:
                            tail = bytes.fromhex(tail.decode()) if as_hex else tail
                        except (UnicodeDecodeError, ValueError):
                            tail = b""
                        counts[number] += len(tail) == 16 and _masked(tail) == rest
                        pos = chunk.find(first, pos + 1)
                at += 64 << 20
    return counts, scanned
(_raw, _hex, _control_raw, _control_hex), _scanned = _scan(_key, _control)
print("KEYSCAN", json.dumps({{"raw": _raw, "hex": _hex, "control_raw": _control_raw, "control_hex": _control_hex,
                             "mib": _scanned >> 20}}))
"""

# 8 busy processes for 2 s, each in a session of its own (the scheduler's autogroups share per session), and which
# cpu cgroup (with which weight) the kernel and each of them runs in.
CPU_ATTACK = r"""
import json, os, time
def _cpu_cgroup(pid="self"):
    for line in open(f"/proc/{pid}/cgroup"):
        _, controllers, path = line.strip().split(":", 2)
        if "cpu" in controllers.split(","):
            return path
_kids = []
for _ in range(8):
    _pid = os.fork()
    if _pid == 0:
        os.setsid()
        _end = time.monotonic() + 2
        while time.monotonic() < _end:
            pass
        os._exit(0)
    _kids.append(_pid)
_paths = sorted({_cpu_cgroup() or ""} | {_cpu_cgroup(kid) or "" for kid in _kids})
for _kid in _kids:
    os.waitpid(_kid, 0)
try:
    _shares = int(open(f"/sys/fs/cgroup/cpu{_cpu_cgroup()}/cpu.shares").read())
except (OSError, ValueError):
    _shares = None
print("CPUCG", json.dumps({"paths": _paths, "shares": _shares}))
"""

# A child of the kernel tries to ptrace the executor (PID 1 of the job), which keeps the run record.
PTRACE_ATTACK = r"""
import ctypes, os
_r, _w = os.pipe()
_pid = os.fork()
if _pid == 0:
    _libc = ctypes.CDLL(None, use_errno=True)
    _done = _libc.ptrace(0x4206, 1, None, None)  # PTRACE_SEIZE (the tracee keeps running)
    os.write(_w, str(0 if _done == 0 else ctypes.get_errno()).encode())
    os._exit(0)  # (a tracer that exits lets go of its tracee)
os.waitpid(_pid, 0)
print("PTRACE_EXECUTOR", os.read(_r, 20).decode())
"""

# Switches the run record off as the report did, then runs hidden code; the solution is scikit-learn's.
SWITCH_OFF_PAYLOAD = """
import ctypes, socket, subprocess
subprocess.run(['true'])
_s = socket.socket()
_s.settimeout(1)
try:
    _s.connect(('127.0.0.1', {port}))
except OSError:
    pass
ctypes.CDLL(None).getpid()
open('/etc/passwd').read()
"""

# Closes the kernel's end of the record's channel (any SOCK_SEQPACKET socket it holds), then runs a process.
CLOSE_RECORD = r"""
import os, socket
for _name in os.listdir("/proc/self/fd"):
    try:
        _s = socket.socket(fileno=os.dup(int(_name)))
    except (OSError, ValueError):
        continue
    try:
        if _s.family == socket.AF_UNIX and _s.type == socket.SOCK_SEQPACKET:
            os.close(int(_name))
    finally:
        _s.close()
getattr(__import__('subpro' + 'cess'), 'run')(['true'])
"""

# Right after the probe (its end is an audit event, and a cell may add a hook of its own), fills the job's disk:
# the executor can write no record after it. (atexit would not do: a warm kernel ends through os._exit.)
FILL_AFTER_PROBE = r"""
import sys
def _fill(event, args):
    if event == "xaigrade.probe" and args and args[0] == "end":
        try:
            with open("fill.bin", "wb") as handle:
                while True:
                    handle.write(b"x" * (1 << 24))
        except OSError:
            pass
sys.addaudithook(_fill)
"""


# scikit-learn's partial_dependence as the solution, called in another thread; imported without an import
# statement (the static scan does not see it: only the watch on the run can).
_LIBRARY_CALL = ("_pd = getattr(__import__('sklearn.inspection', fromlist=['partial_dependence']), 'partial_dependence')\n"
                 "def _library_pd(model, X, feature, grid):\n"
                 "    return _pd(model, X.astype(float), [feature], kind='average', method='brute',\n"
                 "               custom_values={feature: np.asarray(grid, dtype=float)})['average'][0]\n")
LIBRARY_IN_A_THREAD = _LIBRARY_CALL + (
    "import threading\n"
    "def partial_dependence_1d(model, X, feature, grid):\n"
    "    out = {}\n"
    "    worker = threading.Thread(target=lambda: out.update(r=_library_pd(model, X, feature, grid)))\n"
    "    worker.start()\n"
    "    worker.join()\n"
    "    return out['r']\n")
LIBRARY_IN_A_RAW_THREAD = _LIBRARY_CALL + (
    "import _thread\n"
    "def partial_dependence_1d(model, X, feature, grid):\n"
    "    out, done = {}, _thread.allocate_lock()\n"
    "    done.acquire()\n"
    "    def work():\n"
    "        try:\n"
    "            out['r'] = _library_pd(model, X, feature, grid)\n"
    "        finally:\n"
    "            done.release()\n"
    "    _thread.start_new_thread(work, ())\n"
    "    done.acquire()\n"
    "    return out['r']\n")

# Correct values, but the caller's X is overwritten (each loses 'input unchanged': 6/8); the report's patch of the
# probe's Snapshot, and one that hands back a made-up fingerprint.
MUTATING = {
    "partial_dependence_1d": "def partial_dependence_1d(model, X, feature, grid):\n"
                             "    values = []\n"
                             "    for v in grid:\n"
                             "        X[feature] = v\n"
                             "        values.append(model.predict(X).mean())\n"
                             "    return np.array(values)\n",
    "partial_dependence_2d": "def partial_dependence_2d(model, X, features, grid_a, grid_b):\n"
                             "    a, b = features\n"
                             "    out = np.zeros((len(grid_a), len(grid_b)))\n"
                             "    for i, va in enumerate(grid_a):\n"
                             "        for j, vb in enumerate(grid_b):\n"
                             "            X[a], X[b] = va, vb\n"
                             "            out[i, j] = model.predict(X).mean()\n"
                             "    return out\n"}
PATCH_SNAPSHOT = ("import xaikit.selfcheck.probe as _probe\n"
                  "_probe.Snapshot.unchanged = lambda self: True\n"
                  "_probe.Snapshot.after = lambda self: '0' * 64\n")


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

    bait = bait or {"stolen": "/dev/shm/x", "npz": "/dev/shm/x.npz", "target": "/x", "log_target": "/y",
                    "tag": "xaigrade-rt-x", "key": "00" * 32, "control": "11" * 32}
    library_pd = ("from sklearn.inspection import partial_dependence as _pd\n"
                  "def partial_dependence_1d(model, X, feature, grid):\n"
                  "    result = _pd(model, X.astype(float), [feature], kind='average', method='brute',\n"
                  "                 custom_values={feature: np.asarray(grid, dtype=float)})\n"
                  "    return result['average'][0]\n")
    hidden_patch = base64.b64encode(b"import numpy as np\nnp.allclose = lambda *a, **k: True\n").decode()
    return {
        # --- descriptors (class 1) and the uid of a job
        "inherited_descriptors": (_with(DESCRIPTOR_ATTACK), PDP_POINTS, None),
        # (kill(-1) reaches every process the job's uid may signal but itself and PID 1 of its
        # namespace: nothing else of the job, nothing of the grader or of other jobs)
        "kill_everything_it_can": (_with("import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\n"
                                         "except OSError as e:\n    print(e)"), PDP_POINTS, "os.kill (-1, 9)"),
        # --- paths the grader reads or changes (class 2) and forged sandbox data (class 3)
        "executed_notebook_is_a_link": (_with(f"import os\nos.symlink({bait['stolen']!r}, 'executed.ipynb')"),
                                        PDP_POINTS, "executed.ipynb"),
        "result_swapped_for_a_link": (_with(_swap_after_probe("linear_1d.npz", f"os.symlink({bait['npz']!r}, 'results/.swap')")),
                                      PDP_POINTS - 2, None),
        "result_swapped_for_a_fifo": (_with(_swap_after_probe("linear_1d.json", "os.mkfifo('results/.swap')")),
                                      PDP_POINTS - 2, None),
        "retry_with_links": (_with(f"import os\nos.symlink({bait['target']!r}, 'grab')\n"
                                   f"os.symlink({bait['log_target']!r}, 'sandbox.log')\n"
                                   "open('results', 'w').close()\nos.mkdir('executed.ipynb')"), 0, "Code 1"),
        "forged_status": (_with("import json, os\njson.dump({'timings': {'student_cells': 'boom', 'probe': -1}, "
                                "'cell_errors': [{'index': 'x', 'error': 5}], 'kernel_deaths': 'many', "
                                "'warm_kernel': 'yes', 'cell_timeouts': [{'index': 3, 'seconds': 1e308}]}, "
                                "open('status.json', 'w'))\nos.mkdir('executed.ipynb')"), PDP_POINTS, "ungültig"),
        "fill_the_disk": (_with("import glob, os\nchunk = b'x' * (32 * 2**20)\ntry:\n    for i in range(80):\n"
                                "        with open(f'fill{i}.bin', 'wb') as handle:\n            handle.write(chunk)\n"
                                "finally:\n    for name in glob.glob('fill*.bin'):\n        os.remove(name)"),
                          PDP_POINTS, "No space left on device"),
        # --- flags from what ran (class 6)
        "exec_hidden_patch": (_with(f"import base64\nexec(base64.b64decode({hidden_patch!r}))",
                                    replace={"partial_dependence_1d": ZERO_1D}), PDP_POINTS - 3, "np.allclose"),
        "hidden_subprocess": (_with("getattr(__import__('subpro' + 'cess'), 'run')(['true'])"), PDP_POINTS, "subprocess.Popen"),
        "hidden_socket": (_with("_s = __import__('so' + 'cket').socket()\n_s.settimeout(1)\ntry:\n"
                                f"    _s.connect(('127.0.0.1', {listener_port}))\nexcept OSError:\n    pass"),
                          PDP_POINTS, "socket.connect"),
        "hidden_ctypes": (_with("__import__('ctyp' + 'es').CDLL(None).getpid()\n"
                                "print('UIDMAP', open('/proc/self/uid_map').read().split())\n"
                                "print('OOMADJ', open('/proc/self/oom_score_adj').read().strip())"), PDP_POINTS, "ctypes.dlopen"),
        "library_partial_dependence": (_with(replace={"partial_dependence_1d": library_pd}), PDP_POINTS,
                                       "sklearn.inspection.partial_dependence"),
        # name: (notebook or raw bytes, expected score out of PDP_POINTS, substring expected in notes/flags or None)
        "patch_numpy_allclose": (_with("np.allclose = lambda *a, **k: True\n"
                                       "np.testing.assert_allclose = lambda *a, **k: None",
                                       replace={"partial_dependence_1d": ZERO_1D}), PDP_POINTS - 3, "np.allclose"),
        "patch_torch_allclose": (_with("import torch\ntorch.allclose = lambda *a, **k: True",
                                       replace={"partial_dependence_2d":
                                                "def partial_dependence_2d(model, X, features, grid_a, grid_b):\n"
                                                "    return np.zeros((len(grid_a), len(grid_b)))"}), PDP_POINTS - 2, "torch.allclose"),
        "redefine_builtins": (_with("import builtins\nbuiltins.AssertionError = Exception\nAssertionError = Exception",
                                    replace={"partial_dependence_1d": ZERO_1D}), PDP_POINTS - 3, "AssertionError"),
        "import_reference": (_with(replace={"partial_dependence_1d":
                                            "try:\n    from reference_solutions.pdp import partial_dependence_1d\n"
                                            "except ImportError:\n" + "    " + ZERO_1D.replace("\n    ", "\n        ")}),
                             PDP_POINTS - 3, "reference_solutions"),
        "read_reference_by_path": (_with(replace={"partial_dependence_1d":
                                                  f"try:\n    exec(open({str(PROJECT_ROOT / 'reference_solutions' / 'pdp.py')!r}).read())\n"
                                                  "except OSError:\n    " + ZERO_1D.replace("\n    ", "\n        ")}),
                                   PDP_POINTS - 3, "reference_solutions"),
        "read_other_submission": (_with("import glob\nstolen = glob.glob(" + repr(str(submissions) + "/*/pdp/*.ipynb") + ")\n"
                                        "assert not stolen, stolen"), PDP_POINTS, "submitted"),
        "write_gradebook": (_with("import sqlite3\ncon = sqlite3.connect(" + repr(str(output / "gradebook.db")) + ")\n"
                                  "con.execute('update grade set auto_score = 100')\ncon.commit()"), PDP_POINTS, "gradebook"),
        "fake_results_and_disable_probe": (_with("import autograder.runner.probe as p, os, json\n"
                                                 "p.run = lambda *a, **k: None\nos.makedirs('results', exist_ok=True)\n"
                                                 "json.dump({'ok': True}, open('results/linear_1d.json', 'w'))\n"
                                                 "np.savez('results/linear_1d.npz', pd=np.zeros(5), x_unchanged=True)"),
                                           PDP_POINTS, "autograder"),  # (the probe it patched is not the one that runs)
        "sys_exit_in_solution": (_with(replace={"partial_dependence_1d": nbformat.read(FULL, as_version=4).cells[
            _solution_index(nbformat.read(FULL, as_version=4), "partial_dependence_1d")].source + "\nimport sys\nsys.exit(0)"}),
                                 PDP_POINTS, "sys.exit"),
        "os_exit_in_cell": (_with("import os\nos._exit(1)"), PDP_POINTS, "Kernel"),
        "endless_loop": (_with("while True:\n    pass"), PDP_POINTS, "Zeitlimit von 15 s"),
        "allocate_50_gb": (_with("big = np.ones(50 * 2**30 // 8)"), PDP_POINTS, "MemoryError"),
        "fork_bomb": (_with("import os\nwhile True:\n    os.fork()"), PDP_POINTS, "os.fork"),
        "print_1_gb": (_with("for _ in range(1000):\n    print('x' * 10**6)"), PDP_POINTS, None),
        "background_process": (_with(f"import subprocess\nsubprocess.Popen(['sleep', '1000', '{MARKER}'], "
                                     "start_new_session=True)"), PDP_POINTS, "subprocess"),
        "network_socket": (_with("import socket\ntry:\n    socket.create_connection(('127.0.0.1', "
                                 f"{listener_port}), timeout=3)\nexcept OSError as e:\n    print('blocked', e)"),
                           PDP_POINTS, "socket"),
        "deleted_test_cell": (_with(edit=drop_test_cell), PDP_POINTS, "test_pdp_2d"),
        "edited_test_cell": (_with(edit=blank_test_cell), PDP_POINTS, "test_pdp_1d"),
        "changed_metadata_and_ids": (_with(edit=unlock_test_cell), PDP_POINTS, "test_pdp_1d"),
        "not_json": (b'{"cells": [}', 0, "kann nicht gelesen werden"),
        "empty_file": (b"", 0, "leere Datei"),
        "other_assignment": (nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
            "x = 1", metadata={"nbgrader": {"grade": True, "grade_id": "test_other", "locked": True, "points": 1,
                                            "schema_version": 3, "solution": False, "task": False}})]),
                             0, "gehört nicht zur Aufgabe"),
        "returns_nan": (_with(replace={"partial_dependence_1d": "def partial_dependence_1d(model, X, feature, grid):\n"
                                       "    return np.full(len(grid), np.nan)"}), PDP_POINTS - 3, None),
        "wrong_shape_2d": (_with(replace={"partial_dependence_2d": "def partial_dependence_2d(model, X, features, grid_a, grid_b):\n"
                                          "    return np.zeros(len(grid_a))"}), PDP_POINTS - 3, None),
        "wrong_dtype": (_with(replace={"partial_dependence_1d": "def partial_dependence_1d(model, X, feature, grid):\n"
                                       "    return ['hoch'] * len(grid)"}), PDP_POINTS - 3, None),
        "huge_array": (_with(replace={"partial_dependence_1d": "def partial_dependence_1d(model, X, feature, grid):\n"
                                      "    return np.ones((len(grid), 3_000_000))"}), PDP_POINTS - 3, None),
        "patch_tensor_backward": (_with("import torch\ntorch.Tensor.backward = lambda self, *a, **k: None"), PDP_POINTS,
                                  "torch.Tensor.backward"),
        # --- the second red team (issue 21): namespaces, tamper-evident flags, checks outside the kernel, the
        # zygote's key, CPU
        "ipc_and_keys_left_behind": (_with(IPC_ATTACK.format(tag=bait["tag"], key=_ipc_key(bait["tag"]))), PDP_POINTS,
                                     "ctypes"),
        "key_in_memory": (_with(KEY_ATTACK.format(key_masked=_mask(bait["key"]), control_masked=_mask(bait["control"]))),
                          PDP_POINTS, None),
        "cpu_hog": (_with(CPU_ATTACK), PDP_POINTS, "os.fork"),
        "take_over_the_executor": (_with(PTRACE_ATTACK), PDP_POINTS, "ctypes"),
        "record_switched_off": (_with("import base64, sys\nsys.modules['_xai' + 'grade_runtime'] = None\n"
                                      "exec(base64.b64decode(" + repr(base64.b64encode(
                                          SWITCH_OFF_PAYLOAD.format(port=listener_port).encode()).decode()) + "))",
                                      replace={"partial_dependence_1d": library_pd}), PDP_POINTS, "sys.modules"),
        "record_channel_closed": (_with(CLOSE_RECORD), PDP_POINTS, "Ausführungsbericht"),
        "record_never_written": (_with(FILL_AFTER_PROBE), PDP_POINTS, "Ausführungsbericht"),
        "library_in_a_thread": (_with(replace={"partial_dependence_1d": LIBRARY_IN_A_THREAD}), PDP_POINTS,
                                "sklearn.inspection.partial_dependence"),
        "library_in_a_raw_thread": (_with(replace={"partial_dependence_1d": LIBRARY_IN_A_RAW_THREAD}), PDP_POINTS,
                                    "sklearn.inspection.partial_dependence"),
        # (the made-up fingerprint fails every input check: the two of the mutating functions and ice.input_unchanged)
        "patched_snapshot": (_with(PATCH_SNAPSHOT, replace=MUTATING), PDP_POINTS - 3, "Snapshot.unchanged"),
        "detects_grader": (_with(replace={"partial_dependence_1d":
                                          "import os\n_real = None\n"
                                          "def partial_dependence_1d(model, X, feature, grid):\n"
                                          "    if 'xaigrade' in os.getcwd() or 'xaigrade' in os.environ.get('HOME', ''):\n"
                                          "        return np.zeros(len(grid))\n"
                                          "    return np.array([model.predict(X.assign(**{feature: v})).mean() for v in grid])"}),
                           PDP_POINTS - 3, "xaigrade"),
    }


def _ipc_key(tag: str) -> int:
    """The SysV key the IPC attack uses for ``tag`` (searched for on the host after the batch)."""
    import zlib

    return zlib.crc32(tag.encode()) & 0x7FFFFFFF or 1


def _mask(key_hex: str) -> str:
    return bytes(b ^ 0x5A for b in bytes.fromhex(key_hex)).hex()


EXPECTED_MESSAGE_KEYS = {
    "patched_snapshot": {"pdp_1d.input_unchanged": "input_mutated", "pdp_2d.input_unchanged": "input_mutated",
                         "pdp_1d.values": "passed", "pdp_2d.values": "passed"},
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
    # The grader has a session keyring (as after a login), and this batch's zygote is started here, with it and
    # with a request key the key_in_memory case knows.
    session = _join_session_keyring(f"xaigrade-redteam-grader-{os.getpid()}-{root.name}")
    from autograder.runner import zygote

    started = time.monotonic()
    try:
        with pytest.MonkeyPatch.context() as patch:
            fresh: dict = {}
            patch.setattr(zygote, "_owned_zygotes", fresh)
            patch.setattr(zygote, "new_key", lambda: bytes.fromhex(bait["key"]))
            try:
                report = grade_batch(["pdp"], layout, settings)
            finally:
                for started_here in fresh.values():
                    if started_here is not None:
                        started_here.close()
    finally:
        stop.set()
        thread.join()
        listener.close()
    yield {"report": report, "cases": cases, "accepted": accepted, "layout": layout, "path": request.param,
           "bait": bait, "seconds": time.monotonic() - started, "session_keyring": session,
           "job_dirs_left": set(Path("/tmp").glob(_own_job_folders())) - job_dirs_before,
           "cgroups_left": _job_cgroups(os.getpid()) - cgroups_before,
           "mounts_left": _job_mounts() - mounts_before}
    for path in (bait["stolen"], bait["npz"]):
        Path(path).unlink(missing_ok=True)
    _remove_ipc_leftovers(bait["tag"])  # (only when a guard failed: a test above then says so)


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
    return {"stolen": str(stolen), "npz": str(npz), "target": str(target), "log_target": str(log_target),
            "tag": f"xaigrade-rt-{os.getpid()}-{root.name}", "key": os.urandom(32).hex(),
            "control": os.urandom(32).hex()}


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
# no status of the executor's to say which path ran (forged, or the disk full when it was to be written)
STATUS_FORGED = {"forged_status", "retry_with_links", "record_never_written"}
# The cold path (a fresh process tree per job, ~3x slower) runs the attacks on the sandbox itself;
# what only concerns the notebook or the checks runs on the warm path alone.
COLD_CASES = {"inherited_descriptors", "kill_everything_it_can", "executed_notebook_is_a_link",
              "result_swapped_for_a_link", "result_swapped_for_a_fifo", "retry_with_links", "forged_status",
              "fill_the_disk", "exec_hidden_patch", "hidden_subprocess", "hidden_socket", "hidden_ctypes",
              "library_partial_dependence", "fork_bomb", "background_process", "os_exit_in_cell", "endless_loop",
              "allocate_50_gb", "network_socket", "read_reference_by_path", "read_other_submission",
              "write_gradebook", "fake_results_and_disable_probe", "print_1_gb", "returns_nan",
              "patch_numpy_allclose", "ipc_and_keys_left_behind", "key_in_memory", "cpu_hog", "take_over_the_executor",
              "record_switched_off", "record_channel_closed", "record_never_written", "library_in_a_thread",
              "library_in_a_raw_thread"}


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


# --- what a job leaves on the host: nothing in any namespace or keyring it could share with it ----------------

_libc = ctypes.CDLL(None, use_errno=True)
_KEYCTL = {"x86_64": 250, "aarch64": 219}.get(os.uname().machine)


def _join_session_keyring(name: str) -> int | None:
    """Give this (the grader's) process a named session keyring of its own, as a login would."""
    if _KEYCTL is None:
        return None
    keyring = _libc.syscall(_KEYCTL, 1, name.encode())  # KEYCTL_JOIN_SESSION_KEYRING
    return keyring if keyring >= 0 else None


def _session_key(description: str) -> int | None:
    """The id of a user key ``description`` reachable from this process's session keyring, or None."""
    if _KEYCTL is None:
        return None
    found = _libc.syscall(_KEYCTL, 10, -3, b"user", description.encode(), 0)  # KEYCTL_SEARCH in @s
    return found if found >= 0 else None


def _sysv_ids(key: int) -> dict[str, list[int]]:
    """The host's SysV segments, queues and semaphore sets with ``key`` (first two columns: key, id)."""
    found = {}
    for kind in ("shm", "msg", "sem"):
        with open(f"/proc/sysvipc/{kind}") as handle:
            rows = [line.split() for line in handle.readlines()[1:]]
        found[kind] = [int(row[1]) for row in rows if row and int(row[0]) == key]
    return found


def _posix_queue_exists(name: str) -> bool:
    fd = _libc.mq_open(name.encode(), os.O_RDONLY)
    if fd >= 0:
        _libc.mq_close(fd)
        return True
    return ctypes.get_errno() != 2  # (ENOENT: none of that name in the host's IPC namespace)


def _key_users() -> set[int]:
    with open("/proc/key-users") as handle:
        return {int(line.split(":")[0]) for line in handle if line.strip()}


def _remove_ipc_leftovers(tag: str) -> None:
    """What a failed guard left on the host: removed, so the machine stays clean (256 MiB of shared memory)."""
    ids = _sysv_ids(_ipc_key(tag))
    for shm in ids["shm"]:
        _libc.shmctl(shm, 0, None)  # IPC_RMID
    for msg in ids["msg"]:
        _libc.msgctl(msg, 0, None)
    for sem in ids["sem"]:
        _libc.semctl(sem, 0, 0)
    _libc.mq_unlink(("/" + tag).encode())
    Path("/dev/shm", tag).unlink(missing_ok=True)
    for kind in ("session", "user", "user_session"):
        key = _session_key(f"{tag}-{kind}")
        if key is not None:
            _libc.syscall(_KEYCTL, 21, key)  # KEYCTL_INVALIDATE


def _ipc_made(redteam) -> dict:
    made = json.loads(_printed(redteam, "ipc_and_keys_left_behind", "IPC"))
    return made


def test_the_ipc_attack_made_every_object_it_names(redteam):
    """The attack is not blind: inside its job every object and key was made."""
    made = _ipc_made(redteam)
    assert all(made[kind] >= 0 for kind in ("shm", "msg", "sem", "mqueue", "posix_shm", "key_session")), made


def test_no_sysv_shared_memory_queue_or_semaphore_of_a_job_outlives_it(redteam):
    """Jobs once shared the host's IPC namespace: a 256 MiB segment made in a cell stayed in `ipcs -m` after the
    batch. Each job has an IPC namespace of its own now (``jobsetup.NAMESPACES``), gone with its last process."""
    assert _sysv_ids(_ipc_key(redteam["bait"]["tag"])) == {"shm": [], "msg": [], "sem": []}


def test_no_posix_message_queue_of_a_job_outlives_it(redteam):
    """POSIX message queues live in the IPC namespace too (the host's ``/dev/mqueue`` would list them)."""
    assert not _posix_queue_exists("/" + redteam["bait"]["tag"])


def test_no_posix_shared_memory_of_a_job_outlives_it(redteam):
    """``shm_open`` objects are files in /dev/shm: the job has a /dev/shm of its own (the jail's tmpfs)."""
    assert not Path("/dev/shm", redteam["bait"]["tag"]).exists()


@pytest.mark.skipif(_KEYCTL is None, reason="keyctl numbers known for x86_64 and aarch64 only")
def test_no_key_of_a_job_outlives_it_nor_reaches_the_graders_keyring(redteam):
    """A job inherited the grader's session keyring, and possessed it: a key it added there stayed after the job
    (and it could read the grader's keys). Each job joins a session keyring of its own now; its user keyrings
    belong to its user namespace. After the job, no key of its uid is left on the host."""
    if redteam["session_keyring"] is None:
        pytest.skip("no session keyring could be joined here")
    tag = redteam["bait"]["tag"]
    assert _session_key(f"{tag}-session") is None
    job_uid = int(_printed(redteam, "ipc_and_keys_left_behind", "UIDMAP").strip("[]").split(",")[1].strip(" '"))
    deadline = time.monotonic() + 120  # (a hang guard: the kernel collects an ended job's keys in the background)
    while job_uid in _key_users() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert job_uid not in _key_users()


def test_the_zygotes_key_is_not_in_a_jobs_memory(redteam):
    """The job's kernel once found the zygote's 64-hex-digit request key in its own memory. The zygote reads it
    raw into a buffer it never copies (``protocol``) and the job zeroes it before any submission code runs; the
    kernel's scan of its writable memory finds neither form, but finds a planted key of the same kind."""
    found = json.loads(_printed(redteam, "key_in_memory", "KEYSCAN"))
    assert found["control_raw"] >= 1 and found["control_hex"] >= 1, found  # (the scan sees such a key)
    assert found["mib"] > 50, found
    assert (found["raw"], found["hex"]) == (0, 0), found


@pytest.mark.skipif(os.geteuid() != 0 or "cpu" not in cgroup_roots(),
                    reason="job cpu cgroups need root and a writable cgroup v1 cpu controller")
def test_a_job_and_all_it_starts_share_one_cpu_weight_of_their_own(redteam):
    """No CPU isolation between jobs: 40 busy processes in one job made an honest neighbour 3.6x slower. Every
    job's processes sit in a cpu cgroup of the job's own, all with the same weight, so a job gets one share
    however many processes it runs (measured: ``benchmarks/cpu_isolation.py``)."""
    from autograder.runner.sandbox import _pid_namespace

    seen = json.loads(_printed(redteam, "cpu_hog", "CPUCG"))
    [path] = seen["paths"]  # the kernel and its 8 busy children: one cgroup
    assert path.lstrip("/").startswith(f"xaigrade-{_pid_namespace()}-{os.getpid()}-"), seen
    assert seen["shares"] == load_settings(PROJECT_ROOT, **REDTEAM_SETTINGS).cpu_shares


def test_the_kernel_cannot_take_over_the_executor_that_keeps_the_record(redteam):
    """The executor (PID 1 of the job, same uid as the kernel) keeps the run record and writes it after the
    kernel has ended: it is not dumpable, so no process of the submission can ptrace it."""
    assert _printed(redteam, "take_over_the_executor", "PTRACE_EXECUTOR") != "0"


# --- flags the grader decides, from a record the kernel cannot take back --------------------------------------

def _flag_rules(redteam, name: str) -> dict[str, list]:
    """rule -> [(cell, detail)] of the flags of submission ``name``."""
    rules: dict = {}
    for flag in redteam["report"][name]["pdp"].get("_flags", []):
        rules.setdefault(flag["rule"], []).append((flag["cell"], flag["detail"]))
    return rules


def test_a_record_switched_off_from_a_cell_still_flags_what_ran(redteam):
    """The report: ``sys.modules['_xai' + 'grade_runtime'] = None`` stopped the watcher and the record, then
    exec(base64...) ran a process, a socket, ctypes, a read of /etc/passwd, and scikit-learn's partial_dependence
    was the solution: 8/8 and no flag. Now nothing of the record can be switched off by name, each record left the
    kernel before the code it describes ran on, and the static scan flags the write to sys.modules, the exec of
    decoded data and the library in the graded function."""
    rules = _flag_rules(redteam, "record_switched_off")
    static = {"sys_modules", "decoded_code", "library_import"}
    seen = {"ran_processes", "ran_network", "ran_native", "ran_files", "hidden_code", "library_method"}
    assert static | seen <= set(rules), rules
    assert any("/etc/passwd" in detail for _, detail in rules["ran_files"])
    assert all(cell is None for rule in seen for cell, _ in rules[rule])  # (seen while it ran)
    assert "runtime_missing" not in rules and "runtime_cut_short" not in rules  # (it was not switched off)


def test_a_closed_record_channel_is_flagged_by_the_grader(redteam):
    """A cell that closes the kernel's end of the record's channel stops what the kernel reports after it; the
    grader sees the probe ran to its end without its start and end marks and says the record is cut short."""
    rules = _flag_rules(redteam, "record_channel_closed")
    assert "runtime_cut_short" in rules, rules


def test_a_record_that_could_not_be_written_is_flagged_by_the_grader(redteam):
    """Right after the probe the kernel fills the job's disk: the executor cannot write the record. The probe
    ran (its results count), so the grader says the record is missing."""
    entry = redteam["report"]["record_never_written"]["pdp"]
    assert "runtime_missing" in _flag_rules(redteam, "record_never_written"), entry.get("_flags")


@pytest.mark.parametrize("name", ["library_in_a_thread", "library_in_a_raw_thread"])
def test_a_library_call_in_another_thread_is_seen(redteam, name):
    """The call watcher was per thread: scikit-learn's partial_dependence called in a threading.Thread was never
    seen. Every thread started in the kernel carries the watch (``threading.setprofile``, and raw
    ``_thread.start_new_thread``). Imported without an import statement, only the watch can see it."""
    rules = _flag_rules(redteam, name)
    assert any(cell is None and "sklearn.inspection.partial_dependence" in detail
               for cell, detail in rules.get("library_method", [])), rules


def test_a_patched_snapshot_no_longer_saves_a_mutating_function(redteam):
    """``Snapshot.unchanged = lambda self: True`` turned a function that overwrites the caller's X (6/8) into
    8/8: 'input unchanged' was a boolean from the kernel. The probe hands back the input as it is after the
    call; the grader compares it with the hidden input it built."""
    if "patched_snapshot" not in redteam["cases"]:
        pytest.skip("warm path only (an attack on the checks, not on the sandbox)")
    entry = redteam["report"]["patched_snapshot"]["pdp"]
    assert entry_score(entry) == PDP_POINTS - 3  # the three checks of the caller's X, one point each
    assert {entry[c]["message_key"] for c in ("pdp_1d.input_unchanged", "pdp_2d.input_unchanged",
                                               "ice.input_unchanged")} == {"input_mutated"}


def test_the_grader_decides_what_the_run_record_says(tmp_path):
    """Whatever a record claims, the grader reads it against what it knows: a probe that started with no (or a
    malformed) record, a job that did not end normally, a kernel without a report, a probe watched other than once
    from start to end — each is a flag; no probe, no record needed."""
    from autograder.runner.results import JobFiles
    from autograder.runner.runtime import RUNTIME_FILE, flags_from_runtime, read_runtime

    def rules(record=None, started=True, ended=True):
        folder = tmp_path / f"results-{len(list(tmp_path.iterdir()))}"
        folder.mkdir()
        if started:
            (folder / "linear_1d.started").touch()
        if record is not None:
            (folder / RUNTIME_FILE).write_text(record if isinstance(record, str) else json.dumps(record))
        with JobFiles.open(folder) as results:
            return sorted({flag["rule"] for flag in flags_from_runtime(read_runtime(results, ended=ended))})

    kernel = {"pid": 7, "hello": True, "ran_probe": True, "probe_marks": ["start", "end"]}
    whole = {"records": [], "sources": [], "calls": [], "kernels": [kernel]}
    assert rules(whole) == []
    assert rules(None, started=False) == []  # (the probe never ran: nothing to record)
    assert rules(None) == ["runtime_missing"]
    assert rules("{not json") == ["runtime_missing"]
    assert rules(whole, ended=False) == ["runtime_missing"]  # (killed: what lies there may be the submission's)
    assert rules({**whole, "kernels": []}) == ["runtime_missing"]
    assert rules({**whole, "kernels": [kernel, {**kernel, "pid": 8, "hello": False}]}) == ["runtime_missing"]
    for marks in ([], ["start"], ["start", "end", "start", "end"], ["end", "start"]):
        assert rules({**whole, "kernels": [{**kernel, "probe_marks": marks}]}) == ["runtime_cut_short"], marks
    assert rules({**whole, "kernels": [{**kernel, "ran_probe": False, "probe_marks": []}]}) == []  # (probe timed out)


# The kernel's runtime in a process of its own (no sandbox): ``before`` runs before the startup file (the zygote's
# imports), ``cell`` after it as a notebook cell; the probe is marked as the probe cell marks it. A worker thread
# started before any library method was loaded runs what a cell hands it.
_CELL_START = ("import queue, sys, threading\nimport numpy as np\nfrom sklearn.linear_model import LinearRegression\n"
               "jobs, done = queue.Queue(), queue.Queue()\n"
               "threading.Thread(target=lambda: [done.put(job()) for job in iter(jobs.get, None)],\n"
               "                 daemon=True).start()\n"
               "X = np.arange(20.0).reshape(10, 2)\nmodel = LinearRegression().fit(X, X[:, 0])\n")
_PROBE_START = "sys.audit('xaigrade.probe', 'start')\nprint('PROFILED', sys.getprofile() is not None)\n"
_PROBE_END = "sys.audit('xaigrade.probe', 'end')\n"
_LOAD_IN_WORKER = ("jobs.put(lambda: __import__('importlib').import_module('sklearn.inspection').partial_dependence)\n"
                   "done.get()(model, X, [0])\n")
_LOAD_WITHOUT_SYS_MODULES = (  # (the module's relative imports fail: its code ran up to them)
    "import importlib.util, os, sklearn\n"
    "path = os.path.join(os.path.dirname(sklearn.__file__), 'inspection', '_partial_dependence.py')\n"
    "spec = importlib.util.spec_from_file_location('copy_of_pd', path)\n"
    "try:\n    spec.loader.exec_module(importlib.util.module_from_spec(spec))\nexcept ImportError:\n    pass\n")
RUNTIME_CASES = {
    # no library method loaded at the probe's start: its thread runs unprofiled (the TF/torch loops' cost), and a
    # library loaded during the probe, in any thread, is recorded before its code runs
    "loaded_in_a_worker_during_the_probe": ("", _CELL_START + _PROBE_START + _LOAD_IN_WORKER + _PROBE_END,
                                            False, ("sklearn.inspection.partial_dependence", "<module>")),
    "loaded_in_the_probe": ("", _CELL_START + _PROBE_START + "from sklearn.inspection import partial_dependence\n"
                            "partial_dependence(model, X, [0])\n" + _PROBE_END,
                            False, ("sklearn.inspection.partial_dependence", "partial_dependence")),
    "loaded_without_sys_modules": ("", _CELL_START + _PROBE_START + _LOAD_WITHOUT_SYS_MODULES + _PROBE_END,
                                   False, ("sklearn.inspection.partial_dependence", "<module>")),
    # loaded before the probe (a later cell; or before the runtime, as the zygote imports): every call is seen, in
    # the probe's thread and in a thread started before the import
    "imported_by_a_cell": ("", _CELL_START + "from sklearn.inspection import partial_dependence\n" + _PROBE_START
                           + "jobs.put(lambda: partial_dependence(model, X, [0]))\ndone.get()\n" + _PROBE_END,
                           True, ("sklearn.inspection.partial_dependence", "partial_dependence")),
    "imported_before_the_runtime": ("import sklearn.inspection", _CELL_START + _PROBE_START
                                    + "sklearn.inspection.partial_dependence(model, X, [0])\n" + _PROBE_END,
                                    True, ("sklearn.inspection.partial_dependence", "partial_dependence")),
}


@pytest.mark.parametrize("name", sorted(RUNTIME_CASES))
def test_the_runtime_profiles_the_probe_only_when_a_library_method_can_run(tmp_path, name):
    """The profile hook on every call of the probe's thread cost TensorFlow's eager loop ~30 % (on every Python and
    C call and return). No function of a library method's files can run before its code is loaded, and every
    loading runs it (``exec``: the audit hook sees its code object, with the file) or was done before the probe
    (``sys.modules`` at the runtime's start and the probe's). So the probe's thread is profiled only when such code
    is loaded; a module run during the probe is a call, sent before its code runs; other threads carry the profile
    from their start as before."""
    before, cell, profiled, call = RUNTIME_CASES[name]
    record, printed = _run_runtime(tmp_path, before, cell)
    assert f"PROFILED {profiled}" in printed, printed
    assert list(call) in record["calls"], record


def test_the_runtime_records_a_cell_switching_the_profile_off(tmp_path):
    """``sys.setprofile`` / ``sys.settrace`` called by the submission (also through ``getattr``, which the static scan
    does not read) is recorded by the audit hook: the flag 'watcher', seen while it ran. The runtime's own calls and
    threading's are not the submission's."""
    from autograder.runner.runtime import flags_from_runtime

    cell = ("import sys, threading\ngetattr(sys, 'set' + 'profile')(None)\nsys.settrace(None)\n"
            "threading.Thread(target=print).start()\n")
    record, _ = _run_runtime(tmp_path, "", cell)
    assert sorted(record["records"]) == [["watcher", "sys.setprofile"], ["watcher", "sys.settrace"]], record
    flags = flags_from_runtime({"records": record["records"]})
    assert [(flag["cell"], flag["detail"]) for flag in flags if flag["rule"] == "watcher"] == [
        (None, "sys.setprofile"), (None, "sys.settrace")], flags


def _run_runtime(job: Path, before: str, cell: str) -> tuple[dict, str]:
    from autograder.runner.runtime import RuntimeRecorder, startup_source

    recorder = RuntimeRecorder(job)
    script = f"{before}\n{startup_source()}exec(compile({cell!r}, '<string>', 'exec'))\n"
    ran = subprocess.run([sys.executable, "-c", script], cwd=job, capture_output=True, text=True, timeout=300)
    record = recorder.finish()
    assert ran.returncode == 0, ran.stderr[-2000:]
    return record, ran.stdout


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
            assert submission.score <= PDP_POINTS
        assert gradebook.find_submission("pdp", "write_gradebook").score == PDP_POINTS


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
        assert all(s.score == PDP_POINTS for s in submissions_in_db)


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
    from autograder.runner import zygote

    key = os.urandom(32)
    path = str(tmp_path / "fake.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(4)
    victim = subprocess.Popen(["sleep", "600"])  # (killed below; must outlive the test on a loaded machine)
    forged = [0, 1, os.getpid(), victim.pid]
    killed = []
    monkeypatch.setattr(zygote, "kill_group", lambda pid: killed.append(pid))  # (the client's: jobsetup's)

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
    assert entry_score(entry) == PDP_POINTS, entry
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
    assert entry_score(entry) == PDP_POINTS
    assert entry["_timings"]["warm_start"] == 1.0 and len(calls) == 2
    assert "_warm_fallback" not in entry
