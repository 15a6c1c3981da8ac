"""The warm check server (``autograder/check_server.py``): a later `xaigrade check` is run by a server that has
imported the grader and the exercise already, with the output and exit code of a check run in its own process;
a server of other code is not used, `--stop-daemons` ends it, a killed client leaves no check behind, and
another user's process is not served."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from autograder import check_server
from autograder.config import PROJECT_ROOT
from autograder.runner import zygote

EXAMPLES = PROJECT_ROOT / "examples" / "submissions"
XAIGRADE = str(Path(sys.executable).parent / "xaigrade")
HANG_GUARD_SECONDS = 300  # (never a speed bound: only how long a broken test may hang)


@pytest.fixture
def runtime(tmp_path, monkeypatch):
    """A daemon folder of this test's own (inherited by the checks it runs); its servers are stopped after it."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    yield tmp_path / "run" / "xaigrade"
    check_server.stop_servers()
    zygote.stop_daemons()


def _notebook(folder: Path, example: str, sleep_first: bool = False) -> Path:
    """An example's pdp notebook with the release's public check data beside it (as a student has it)."""
    folder.mkdir(parents=True, exist_ok=True)
    notebook = folder / "pdp.ipynb"
    shutil.copy(EXAMPLES / example / "pdp" / "pdp.ipynb", notebook)
    shutil.copy(PROJECT_ROOT / "release" / "pdp" / "public_checks.npz", folder)
    if sleep_first:  # a check that stays in its sandbox until it is ended
        nb = nbformat.read(notebook, as_version=4)
        nb.cells.insert(0, nbformat.v4.new_code_cell("import time\ntime.sleep(3600)"))
        nbformat.write(nb, notebook)
        (folder / "nbgrader_config.py").write_text("c.XaiGrade.cell_timeout = 7200.0\n")
    return notebook


def _check(*arguments, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([XAIGRADE, "check", *map(str, arguments)], capture_output=True, cwd=cwd,
                          timeout=HANG_GUARD_SECONDS)


def _ping(path=None) -> dict | None:
    return check_server.ask(path or check_server.socket_path("pdp"), {"ping": 1})


def _started_server() -> int:
    """Start the pdp server as a check does (from a process that ends: not this one's child) and wait until it
    answers; its pid."""
    subprocess.run([sys.executable, "-c", "from autograder.check_server import start_server; "
                    "start_server('pdp', 600)"], check=True, timeout=HANG_GUARD_SECONDS)
    deadline = time.monotonic() + HANG_GUARD_SECONDS
    while (answer := _ping()) is None:
        assert time.monotonic() < deadline, "the check server did not start"
        time.sleep(0.1)
    return answer["pong"]


def _gone(pid: int) -> bool:
    """Whether the process ends (a zombie has ended: pid 1, its parent now, reaps it when it likes)."""
    deadline = time.monotonic() + HANG_GUARD_SECONDS
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("example, code", [("full_solution", 0), ("buggy_axis", 1)])
def test_a_later_check_is_served_with_the_output_of_an_in_process_check(tmp_path, runtime, example, code):
    notebook = _notebook(tmp_path / "nb", example)
    first = _check(notebook, cwd=tmp_path)  # no server yet: runs here and starts one
    server = _started_server()
    before = _ping()["request"]
    served = _check(notebook, cwd=tmp_path)
    after = _ping()
    assert after["pong"] == server and after["request"] == before + 2  # the check was the server's request
    alone = _check("--no-daemon", notebook, cwd=tmp_path)
    assert _ping()["request"] == after["request"] + 1  # (--no-daemon: not the server's)
    assert (served.returncode, served.stdout, served.stderr) == (alone.returncode, alone.stdout, alone.stderr)
    assert (first.returncode, first.stdout, first.stderr) == (alone.returncode, alone.stdout, alone.stderr)
    assert alone.returncode == code, alone.stdout.decode() + alone.stderr.decode()


def test_a_server_of_other_code_is_not_used(tmp_path, runtime):
    """A server importing other code than the client's (here: a copy of the project with a changed cli.py),
    even at the socket of the client's version, does not run its check."""
    copy = tmp_path / "copy"
    for package in ("autograder", "xaikit"):
        shutil.copytree(PROJECT_ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__"))
    with open(copy / "autograder" / "cli.py", "a") as cli:
        cli.write("\n_cmd_check = cmd_check\n\n\ndef cmd_check(args, forward=True):\n"
                  "    print('OTHER CODE')\n    return _cmd_check(args, forward)\n")
    env = {**os.environ, "PYTHONPATH": str(copy)}
    version = subprocess.run([sys.executable, "-c", "from autograder.check_server import code_version as v; "
                              "print(v())"], env=env, cwd=tmp_path, capture_output=True, text=True, check=True).stdout.strip()
    assert version != check_server.code_version()
    path = check_server.socket_path("pdp")  # the client's version's socket
    runtime.mkdir(parents=True, mode=0o700)
    other = subprocess.Popen([sys.executable, "-m", "autograder.check_server", str(path), "--assignment", "pdp",
                              "--idle", "600", "--version", version], env=env, cwd=runtime, start_new_session=True)
    try:
        deadline = time.monotonic() + HANG_GUARD_SECONDS
        while _ping() is None:
            assert other.poll() is None and time.monotonic() < deadline, "the other server did not start"
            time.sleep(0.1)
        assert _ping()["version"] == version
        result = _check(_notebook(tmp_path / "nb", "full_solution"), cwd=tmp_path)
        assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
        assert b"OTHER CODE" not in result.stdout
    finally:
        other.terminate()
        other.wait(HANG_GUARD_SECONDS)


def test_stop_daemons_stops_the_check_server(tmp_path, runtime):
    notebook = _notebook(tmp_path / "nb", "full_solution")
    server = _started_server()
    path = check_server.socket_path("pdp")
    assert (stat.S_IMODE(runtime.stat().st_mode), stat.S_IMODE(path.stat().st_mode)) == (0o700, 0o600)
    assert _check(notebook, cwd=tmp_path).returncode == 0  # (served; it started the zygote)
    stopped = _check("--stop-daemons", cwd=tmp_path)
    assert stopped.stdout.decode().strip() == "stopped 2 warm check process(es)"  # the server and the zygote
    assert _gone(server)
    assert not list(runtime.glob("check-*"))  # socket, lock and log removed


def test_a_killed_client_leaves_no_check_behind(tmp_path, runtime):
    notebook = _notebook(tmp_path / "nb", "full_solution", sleep_first=True)
    server = psutil.Process(_started_server())
    client = subprocess.Popen([XAIGRADE, "check", str(notebook)], cwd=tmp_path, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + HANG_GUARD_SECONDS
        jobs = []
        while not jobs:  # the check is in its sandbox: a job forked by the zygote the server's child asked
            assert client.poll() is None and time.monotonic() < deadline, "the check did not reach its sandbox"
            time.sleep(0.2)
            zygotes = [p for p in psutil.process_iter(["cmdline"])
                       if "autograder.runner.zygote_server" in (p.info["cmdline"] or [])
                       and str(runtime) in " ".join(p.info["cmdline"])]
            jobs = [job for z in zygotes for job in z.children()]
        checks = server.children()
        assert len(checks) == 1
    finally:
        client.send_signal(signal.SIGKILL)
        client.wait()
    assert _gone(checks[0].pid)
    assert all(_gone(job.pid) for job in jobs)
    assert server.is_running() and all(_gone(child.pid) for child in server.children())


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to connect as another user")
def test_another_users_process_is_not_served(runtime, monkeypatch):
    """Even when the folders and the socket let it connect (they do not: 0700 and 0600), a process of another
    uid gets no answer."""
    reachable = Path(tempfile.mkdtemp(prefix="xaigrade-peer-"))  # (pytest's folders are 0700: nobody cannot reach)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(reachable))
    try:
        _served_nobody(reachable)
    finally:
        check_server.stop_servers()
        shutil.rmtree(reachable)


def _served_nobody(reachable: Path) -> None:
    _started_server()
    path = check_server.socket_path("pdp")
    for opened, mode in ((reachable, 0o711), (path.parent, 0o711), (path, 0o666)):
        os.chmod(opened, mode)
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # (a child of its own: setuid changes the whole process)
        try:
            os.close(reader)
            os.setgid(65534)
            os.setuid(65534)
            os.write(writer, json.dumps(_ping(path)).encode())
        finally:
            os._exit(0)
    os.close(writer)
    with os.fdopen(reader, "rb") as answer:
        assert json.loads(answer.read()) is None
    os.waitpid(pid, 0)
    assert _ping()["request"] == 2  # (the refused connection never reached a child: only this ping did)


def test_stop_daemons_stops_a_server_still_importing(tmp_path, runtime):
    """A check right after the first one may have started a server that does not listen yet: it is stopped too
    (it would otherwise serve for ten idle minutes after `--stop-daemons`)."""
    check_server.start_server("pdp", 600)
    lock = Path(f"{check_server.socket_path('pdp')}.lock")
    deadline = time.monotonic() + HANG_GUARD_SECONDS
    while not (lock.exists() and lock.read_text().isdigit()):  # it holds its lock (before its imports)
        assert time.monotonic() < deadline, "the check server did not start"
        time.sleep(0.05)
    server = int(lock.read_text())
    stopped = _check("--stop-daemons", cwd=tmp_path)
    assert stopped.stdout.decode().strip() == "stopped 1 warm check process(es)"
    assert _gone(server)
    assert not list(runtime.glob("check-*"))
