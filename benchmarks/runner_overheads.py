"""What the runner's start-up changes of issue 24 save per submission, each measured before/after in the same run:

  kernel ready   a kernel started and waited for with jupyter_client's own client (it waits 0.2 s for IOPub to
                 stay quiet after kernel_info) against ``execute.QuickReadyClient`` (alternating, outside the sandbox:
                 the client's wait is the same inside it)
  debugger       importing ipykernel's debugger (debugpy) in a fresh Python that has ipykernel loaded: what every
                 kernel forked from a warm process paid before it was preloaded there
  scan           the static scan of a Grad-CAM submission: each cell parsed and scanned anew (before) against the caches
                 (after: a later submission finds the cells it shares with others parsed and scanned)
  cases.pkl      what the probe reads, for the public cases of each assignment (models, images): pickled per
                 submission (before) against once per hidden set (``submission_run._pickled_cases``, after)
  exit           the end of a grading process that imported the four checks modules (torch, TensorFlow,
                 transformers): the interpreter's own teardown (before) against ``batch.end_process`` (after)

    ../.venv/bin/python runner_overheads.py [--repeat 5] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, header, row


async def _kernel_ready(client_factory, kernel_name: str) -> float:
    from jupyter_client.manager import AsyncKernelManager

    with tempfile.TemporaryDirectory(prefix="xaigrade-ready-") as folder:
        manager = AsyncKernelManager(kernel_name=kernel_name, transport="ipc", ip=str(Path(folder) / "kernel"))
        if client_factory is not None:
            manager.client_factory = client_factory
        started = time.perf_counter()
        await manager.start_kernel()
        client = manager.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=120)
            return time.perf_counter() - started
        finally:
            client.stop_channels()
            await manager.shutdown_kernel(now=True)


def kernel_ready(repeat: int) -> tuple[list[float], list[float]]:
    from autograder.runner.execute import QuickReadyClient

    stock, quick = [], []
    for _ in range(repeat):  # alternating, so both see the same load
        stock.append(asyncio.run(_kernel_ready(None, "python3")))
        quick.append(asyncio.run(_kernel_ready(QuickReadyClient, "python3")))
    return stock, quick


def debugger_import(repeat: int) -> list[float]:
    code = ("import time, ipykernel.ipkernel, IPython.core.interactiveshell; t = time.perf_counter(); "
            "import ipykernel.debugger; print(time.perf_counter() - t)")
    return [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
                  .stdout.split()[-1]) for _ in range(repeat)]


def scan_times(repeat: int) -> tuple[float, float]:
    import nbformat

    from autograder.runner import scan

    nb = nbformat.read(ROOT / "examples" / "submissions" / "full_solution" / "gradcam" / "gradcam.ipynb", 4)

    def once() -> float:
        started = time.perf_counter()
        scan.scan_notebook(nb, lambda cell: False)
        return time.perf_counter() - started

    cold, warm = [], []
    for _ in range(repeat):
        for kept in (scan._parse_kept, scan._scan_source_kept, scan._cell_aliases_kept,
                     scan._cell_library_uses_kept):
            kept.cache_clear()
        cold.append(once())  # every cell parsed (twice: per cell and for the library aliases), as before
        warm.append(once())  # a later submission: the same cells found in the cache
    return statistics.median(cold), statistics.median(warm)


def cases_pickling(repeat: int) -> dict:
    from autograder.checks import Exercise
    from autograder.exercises import assignments
    from autograder.references import public_cases
    from autograder.submission_run import _pickled, _pickled_cases
    from xaikit.selfcheck.core import PUBLIC_DATA, load_public

    found = {}
    for name in assignments():
        exercise = Exercise(name)
        cases = public_cases(exercise, load_public(ROOT / "release" / name / PUBLIC_DATA).seed)
        each, kept = [], []
        for _ in range(repeat):
            _pickled.clear()
            started = time.perf_counter()
            _pickled_cases(exercise, cases, 64)  # (the first submission of a set: pickled, as every one before)
            each.append(time.perf_counter() - started)
            started = time.perf_counter()
            _pickled_cases(exercise, cases, 64)  # every later one
            kept.append(time.perf_counter() - started)
        found[name] = (statistics.median(each), statistics.median(kept))
    return found


def process_exit(repeat: int) -> tuple[float, float]:
    """Seconds from the last line of a process that imported every checks module to its end, as seen by its parent."""
    code = ("import sys, time; from autograder.exercises import assignments; from autograder.checks import Exercise\n"
            "[Exercise(a).module for a in assignments()]\n"
            "print(time.time(), flush=True)\n"
            "if sys.argv[1] == 'end_process':\n"
            "    from autograder.batch import end_process; end_process(0)\n")

    def once(how: str) -> float:
        done = subprocess.run([sys.executable, "-c", code, how], capture_output=True, text=True, check=True, cwd=ROOT)
        return time.time() - float(done.stdout.split()[-1])

    before, after = [], []
    for _ in range(repeat):  # alternating, so both see the same load
        before.append(once("teardown"))
        after.append(once("end_process"))
    return statistics.median(before), statistics.median(after)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2 repetitions")
    args = parser.parse_args()
    repeat = 2 if args.quick else args.repeat
    header("Runner start-up per submission: before / after (issue 24), same run")
    stock, quick = kernel_ready(repeat)
    row("kernel ready, jupyter_client's wait_for_ready (median)", statistics.median(stock))
    row("kernel ready, QuickReadyClient (median)", statistics.median(quick), statistics.median(stock))
    debugger = debugger_import(repeat)
    row("import ipykernel.debugger in a fresh kernel (median; saved when preloaded)", statistics.median(debugger))
    cold, warm = scan_times(repeat)
    row("static scan of a Grad-CAM submission, cells anew (median)", cold)
    row("static scan of a Grad-CAM submission, cells kept (median)", warm, cold)
    for name, (each, kept) in cases_pickling(repeat).items():
        row(f"cases.pkl of {name}'s public cases, pickled per submission (median)", each, unit="ms")
        row(f"cases.pkl of {name}'s public cases, pickled once per set (median)", kept, each, unit="ms")
    teardown, ended = process_exit(repeat)
    row("grader's exit after its last line, interpreter teardown (median)", teardown)
    row("grader's exit after its last line, batch.end_process (median)", ended, teardown)


if __name__ == "__main__":
    sys.exit(main())
