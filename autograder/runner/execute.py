"""Sandbox side: execute a submission's notebook with nbclient, then the probe.

Run as ``python -m autograder.runner.execute JOBDIR`` by ``sandbox.run_job``. The job dir holds
``notebook.ipynb``, ``cases.pkl`` and ``job.json``; this writes ``executed.ipynb``,
``results/`` (one npz/json pair per case) and ``status.json``.
A cell that kills the kernel (``os._exit``, a crash) is skipped and the notebook re-run
without it, so the rest of the work still counts.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

PROBE_SOURCE = (
    "import autograder.runner.probe as _xaigrade_probe\n"
    "_xaigrade_probe.run({cases!r}, {out!r}, globals(), timeout={timeout!r})"
)
MAX_RESTARTS = 3


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


def _run(nb, job: dict, job_dir: Path, skip: set[int], status: dict) -> int | None:
    """Execute all code cells but ``skip``; return the index of a cell that killed the kernel."""
    km = KernelManager(kernel_name=job["kernel_name"], transport="ipc", ip=str(job_dir / "kernel"))
    client = NotebookClient(nb, km=km, timeout=job["cell_timeout"], allow_errors=True,
                            interrupt_on_timeout=True, record_timing=False, kernel_name=job["kernel_name"],
                            resources={"metadata": {"path": str(job_dir)}})
    with client.setup_kernel(cwd=str(job_dir)):
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or index in skip:
                continue
            if cell.get("metadata", {}).get("xaigrade_skip"):
                continue
            try:
                client.execute_cell(cell, index)
            except CellTimeoutError:
                status["cell_errors"].append({"index": index, "error": f"timeout after {job['cell_timeout']} s"})
            except DeadKernelError as error:
                status["kernel_deaths"].append({"index": index, "reason": str(error)[:200]})
                return index
            finally:
                _truncate_outputs(cell, job["max_output_chars"])
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error" and not cell.get("metadata", {}).get("xaigrade_probe"):
                    status["cell_errors"].append({"index": index,
                                                  "error": f"{output.get('ename')}: {output.get('evalue')}"[:300]})
    return None


def main(job_dir: str) -> int:
    job_dir = Path(job_dir)
    job = json.loads((job_dir / "job.json").read_text())
    nb = nbformat.read(job_dir / "notebook.ipynb", as_version=4)
    probe_cell = nbformat.v4.new_code_cell(PROBE_SOURCE.format(
        cases=str(job_dir / "cases.pkl"), out=str(job_dir / "results"), timeout=job["probe_timeout"]))
    probe_cell.metadata["xaigrade_probe"] = True
    nb.cells.append(probe_cell)
    status = {"cell_errors": [], "kernel_deaths": [], "started": time.time()}
    skip: set[int] = set()
    for _ in range(MAX_RESTARTS + 1):
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = []
        died_at = _run(nb, job, job_dir, skip, status)
        if died_at is None or died_at == len(nb.cells) - 1:
            break  # finished, or the kernel died inside the probe: its per-case files tell which call
        skip.add(died_at)
        # Partial results of a run that died are discarded: the re-run redoes every case.
    status["skipped_cells"] = sorted(skip)
    status["finished"] = time.time()
    nb.cells.pop()  # the probe cell is ours, not the student's
    nbformat.write(nb, job_dir / "executed.ipynb")
    (job_dir / "status.json").write_text(json.dumps(status))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
