"""Sandbox side: execute a submission's notebook with nbclient, then the probe.

``main(JOBDIR)`` runs inside the job's namespaces, as the job's PID 1: called by ``cold_start.py`` after the jail
(cold path), by ``forked_job.py`` (warm path), or as ``python -m autograder.runner.execute JOBDIR`` (no jail).
The job dir holds ``notebook.ipynb``, ``cases.pkl`` and ``job.json``; this writes ``executed.ipynb``,
``results/`` (one npz/json pair per case, and ``_runtime.json``: the run record its ``RuntimeRecorder``
received from the kernels) and ``status.json``.
A cell that kills the kernel (``os._exit``, a crash) is skipped and the notebook re-run
without it, so the rest of the work still counts.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import nbformat
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from .jail import PR_SET_DUMPABLE, ended_children, libc
from .protocol import GO_FILE, READY_FILE
from .runtime import PROBE_PREFIX, PROBE_SUFFIX, RuntimeRecorder, startup_source
from .warm import PreforkedKernel, prefork_kernel, use_warm_provisioner

PROBE_SOURCE = (
    PROBE_PREFIX
    + "    import xaikit.selfcheck.probe as _xaigrade_probe\n"
    "    _xaigrade_probe.run({cases!r}, {out!r}, globals(), timeout={timeout!r})\n"
    + PROBE_SUFFIX
)
MAX_RESTARTS = 3
# An IPython startup file of the job's own IPYTHONDIR, so it runs in the kernel before any cell and
# is not part of the notebook: caps what print() can send per cell, so a
# loop printing 1 GB neither fills the kernel's memory nor the executor's. Removing the cap only
# hurts the submission itself (the memory limit then kills it).
OUTPUT_CAP_SOURCE = """
import sys as _xaigrade_sys

class _XaigradeCappedStream:
    def __init__(self, stream, limit):
        self._stream, self._limit, self._used = stream, limit, 0

    def reset(self, *args, **kwargs):
        self._used = 0

    def write(self, text):
        if self._used < self._limit:
            room = self._limit - self._used
            self._stream.write(text[:room])
            if len(text) > room:
                self._stream.write("\\n[xaigrade: weitere Ausgabe abgeschnitten / further output cut]\\n")
        self._used += len(text)
        return len(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)

_xaigrade_sys.stdout = _XaigradeCappedStream(_xaigrade_sys.stdout, {limit})
_xaigrade_sys.stderr = _XaigradeCappedStream(_xaigrade_sys.stderr, {limit})
get_ipython().events.register("pre_run_cell", _xaigrade_sys.stdout.reset)
get_ipython().events.register("pre_run_cell", _xaigrade_sys.stderr.reset)
del _xaigrade_sys
"""


class QuickReadyClient(AsyncKernelClient):
    """jupyter_client's kernel client, but ready as soon as the kernel answered ``kernel_info`` on the shell
    channel with IOPub connected: its ``wait_for_ready`` then still waits 0.2 s for IOPub to stay quiet (measured:
    0.2 of a warm kernel's 0.5 s start, paid per submission). Messages left on IOPub belong to the
    ``kernel_info`` request and are ignored by nbclient, which takes only replies to its own requests."""

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        from queue import Empty

        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                message = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                pass
            else:
                if message["msg_type"] == "kernel_info_reply":
                    try:  # IOPub connected? (as jupyter_client: else ask again)
                        await self.iopub_channel.get_msg(timeout=0.2)
                    except Empty:
                        pass
                    else:
                        self._handle_kernel_info_reply(message)
                        break
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
        while True:  # what is already there (no waiting for more)
            try:
                await self.iopub_channel.get_msg(timeout=0.01)
            except Empty:
                break


def _truncate_outputs(cell, limit: int) -> None:
    """Keep the executed notebook small whatever the student printed."""
    used = 0
    kept = []
    for output in cell.get("outputs", []):
        size = len(json.dumps(output))
        if used + size > limit:
            kept.append(nbformat.v4.new_output("stream", name="stderr",
                                               text=f"[xaigrade: output cut after {limit} characters]\n"))
            break
        used += size
        kept.append(output)
    cell["outputs"] = kept


class CappedClient(NotebookClient):
    """Drops output past a budget per cell as it arrives, so printing 1 GB cannot fill memory."""

    output_budget = 200_000

    def output(self, outs, msg, display_id, cell_index):
        used = self._used.get(cell_index, 0)
        size = len(json.dumps(msg.get("content", {})))
        self._used[cell_index] = used + size
        if used + size > self.output_budget:
            if used <= self.output_budget:
                outs.append(nbformat.v4.new_output(
                    "stream", name="stderr", text=f"[xaigrade: output cut after {self.output_budget} characters]\n"))
            return None
        return super().output(outs, msg, display_id, cell_index)


def _kill_strays(client=None) -> None:
    """No process may outlive the cell that started it (background jobs, fork bombs).

    Only when this executor is PID 1 of its own PID namespace: then every other process but the
    kernel belongs to the submission. Killed orphans are ours to reap (they count against the
    process limit until then); the kernel's own dead children wait for the kernel."""
    if os.getpid() != 1:
        return
    kernel_pid = getattr(getattr(getattr(client, "km", None), "provisioner", None), "pid", None)
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        strays = [pid for pid in (int(p) for p in os.listdir("/proc") if p.isdigit())
                  if pid not in (1, kernel_pid) and not _is_zombie(pid)]
        for pid in strays:
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        for _ in ended_children():  # reap what has died (orphans are re-parented to PID 1, i.e. us)
            pass
        if not strays:
            return
        time.sleep(0.01)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return True  # gone already


def _prepare_ipython(job_dir: Path, job: dict) -> None:
    """A fresh IPython folder with only our startup files, before every kernel: what a cell wrote into the
    job's ``.ipython`` (a startup file of its own, a profile config) never reaches the next kernel."""
    folder = job_dir / ".ipython"
    try:
        if folder.is_symlink() or not folder.is_dir():
            folder.unlink(missing_ok=True)
        else:
            shutil.rmtree(folder)
    except OSError:
        pass
    startup = folder / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    (startup / "00-xaigrade-output-cap.py").write_text(OUTPUT_CAP_SOURCE.replace("{limit}", str(job["max_output_chars"])))
    (startup / "01-xaigrade-runtime.py").write_text(startup_source())


def _run(nb, job: dict, job_dir: Path, skip: set[int], status: dict, warm: bool = False,
         recorder: RuntimeRecorder | None = None, before_cells=None) -> int | None:
    """Execute all code cells but ``skip``; return the index of a cell that killed the kernel.
    ``before_cells()``: called once the kernel is ready, before the first cell (a job started ahead
    waits there for its go and only then reads the notebook into ``nb``)."""
    # The async manager matters: with a blocking client nbclient waits on iopub forever when
    # the kernel dies (os._exit) instead of noticing the death.
    km = AsyncKernelManager(kernel_name=job["kernel_name"], transport="ipc", ip=str(job_dir / "kernel"))
    km.client_factory = QuickReadyClient
    if warm:
        use_warm_provisioner(km)
    CappedClient.output_budget = job["max_output_chars"]
    client = CappedClient(nb, km=km, timeout=job["cell_timeout"], allow_errors=True,
                            interrupt_on_timeout=True, record_timing=False, startup_timeout=180, kernel_name=job["kernel_name"],
                            resources={"metadata": {"path": str(job_dir)}})
    client._used = {}
    started = time.monotonic()
    with client.setup_kernel(cwd=str(job_dir)):
        timings = status.setdefault("timings", {"kernel_start": 0.0, "student_cells": 0.0, "probe": 0.0})
        timings["kernel_start"] += time.monotonic() - started
        # whether the first kernel was forked warm (shown in the report's timings)
        status.setdefault("warm_kernel", isinstance(getattr(km.provisioner, "process", None), PreforkedKernel))
        kernel_pid = getattr(km.provisioner, "pid", None)
        if recorder is not None:
            recorder.kernel_started(kernel_pid)
        if before_cells is not None:
            before_cells()
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or index in skip:
                continue
            if cell.get("metadata", {}).get("xaigrade_skip") or cell.get("metadata", {}).get("xaigrade_keep"):
                continue
            cell_started = time.monotonic()
            key = "probe" if cell.get("metadata", {}).get("xaigrade_probe") else "student_cells"
            try:
                client.execute_cell(cell, index)
            except CellTimeoutError:
                status["cell_timeouts"].append({"index": index, "seconds": job["cell_timeout"]})
                continue
            except DeadKernelError as error:
                status["kernel_deaths"].append({"index": index, "reason": str(error)[:200]})
                return index
            finally:
                timings[key] += time.monotonic() - cell_started
                _truncate_outputs(cell, job["max_output_chars"])
                _kill_strays(client)
            if key == "probe" and recorder is not None:
                recorder.probe_ran(kernel_pid)  # (ran to its end: no time-out, no dead kernel)
            took = time.monotonic() - cell_started
            for output in cell.get("outputs", []):
                if output.get("output_type") != "error" or cell.get("metadata", {}).get("xaigrade_probe"):
                    continue
                if output.get("ename") == "KeyboardInterrupt" and took >= 0.95 * job["cell_timeout"]:
                    # nbclient interrupted the cell at the time limit; say so, not "KeyboardInterrupt"
                    status["cell_timeouts"].append({"index": index, "seconds": job["cell_timeout"]})
                else:
                    status["cell_errors"].append({"index": index,
                                                  "error": f"{output.get('ename')}: {output.get('evalue')}"[:300]})
    return None


def _clear_run_outputs(nb) -> None:
    """Empty the outputs of every code cell that runs (the kept demo cells keep the student's)."""
    for cell in nb.cells:
        if cell.cell_type == "code" and not cell.metadata.get("xaigrade_keep"):
            cell.outputs = []


GO_GIVE_UP_SECONDS = 3600.0  # (the grader tears an unused job down; this only bounds a lost one)


def wait_for_go(job_dir: Path, give_up: float = GO_GIVE_UP_SECONDS) -> None:
    """A job started ahead has its executor and kernel ready and nothing of a submission yet: the grader puts
    the submission's files into the job folder when the job is that submission's, then creates ``GO_FILE``
    (only our own code has run in the job until then). Polled: the job holds no descriptor of the grader's."""
    path = job_dir / GO_FILE
    os.close(os.open(job_dir / READY_FILE, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600))
    deadline = time.monotonic() + give_up
    while not os.path.lexists(path):
        if time.monotonic() > deadline:
            raise SystemExit(3)
        time.sleep(0.004)
    for name in (GO_FILE, READY_FILE):  # (neither is the submission's: it never sees them)
        try:
            os.unlink(job_dir / name)
        except OSError:
            pass


def main(job_dir: str, warm: bool = False, prestart: bool = False) -> int:
    """``warm``: this process has the notebook's libraries imported (a zygote's fork); its first
    kernel is forked from it, before any event loop exists. ``prestart``: the job was started ahead of its
    submission; the first kernel starts, then the executor waits for its go (``wait_for_go``) before it
    reads anything of the submission."""
    began = time.monotonic()
    job_dir = Path(job_dir)
    os.chdir(job_dir)
    # (`python -m` put the job folder first on the path: nothing the submission writes there is ever imported here)
    sys.path[:] = [p for p in sys.path if p not in ("", str(job_dir), os.getcwd())]
    job = json.loads((job_dir / "job.json").read_text())
    _prepare_ipython(job_dir, job)
    os.environ["IPYTHONDIR"] = str(job_dir / ".ipython")  # the kernel inherits it
    if warm:
        prefork_kernel()
    # From here on no kernel (nor anything a cell starts) may ptrace this process: it keeps the run record
    # and writes status.json after the kernel. (The warm kernel was forked before and stays dumpable.)
    libc.prctl(PR_SET_DUMPABLE, 0)
    recorder = RuntimeRecorder(job_dir)  # (a thread: only after the fork above)
    status = {"cell_errors": [], "cell_timeouts": [], "kernel_deaths": [], "started": time.time(),
              "timings": {"kernel_start": 0.0, "student_cells": 0.0, "probe": 0.0}}
    nb = nbformat.v4.new_notebook()  # filled by ``load`` (in place: the first run's client holds it)
    loaded = []

    def load() -> None:
        """Read the submission's notebook (after the go of a job started ahead) and add the probe cell."""
        if loaded:
            return
        loaded.append(True)
        since = began
        if prestart:
            wait_for_go(job_dir)
            # what the grader sees of this job runs from its go: the set-up and the kernel before it are hidden
            since = time.monotonic()
            status["timings"]["kernel_start"] = 0.0
            status["started"] = time.time()
        submitted = nbformat.read(job_dir / "notebook.ipynb", as_version=4)
        nb.clear()
        nb.update(submitted)
        probe_cell = nbformat.v4.new_code_cell(PROBE_SOURCE.format(
            cases=str(job_dir / "cases.pkl"), out=str(job_dir / "results"), timeout=job["probe_timeout"]))
        probe_cell.metadata["xaigrade_probe"] = True
        nb.cells.append(probe_cell)
        kept = [cell for cell in nb.cells if cell.cell_type == "code" and cell.metadata.get("xaigrade_keep")]
        for cell in kept:  # a demo cell that is not re-run: its submitted output, capped
            _truncate_outputs(cell, job["max_output_chars"])  # (labelled by the grader: grading.annotate)
        _clear_run_outputs(nb)
        status["timings"]["setup"] = time.monotonic() - since

    if not prestart:
        load()
    skip: set[int] = set()
    for attempt in range(MAX_RESTARTS + 1):
        if attempt:  # (the first run's outputs were cleared by ``load``)
            _prepare_ipython(job_dir, job)  # (a kernel before this one ran cells)
            _clear_run_outputs(nb)
        try:
            died_at = _run(nb, job, job_dir, skip, status, warm, recorder, before_cells=load)
        except RuntimeError as error:  # the kernel died while starting (e.g. a cell's processes still dying)
            status.setdefault("kernel_start_failures", []).append(str(error)[:200])
            _kill_strays()
            continue
        _kill_strays()  # nothing of this run may be left when the next kernel starts
        if died_at is None or died_at == len(nb.cells) - 1:
            break  # finished, or the kernel died inside the probe: its per-case files tell which call
        skip.add(died_at)
        # Partial results of a run that died are discarded: the re-run redoes every case.
    load()  # (no kernel ever started: the notebook is still read, after the go, for the executed copy)
    ended = time.monotonic()
    recorder.write(recorder.finish())  # first: nothing the submission left can stop it (no kernel is left)
    status["skipped_cells"] = sorted(skip)
    status["finished"] = time.time()
    nb.cells.pop()  # the probe cell is ours, not the student's
    nbformat.write(nb, job_dir / "executed.ipynb")
    status["timings"]["wrap_up"] = time.monotonic() - ended
    (job_dir / "status.json").write_text(json.dumps(status))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
