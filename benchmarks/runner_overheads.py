"""What the runner's start-up changes of issue 24 save per submission, each measured before/after in the same run:

  kernel ready   a kernel started and waited for with jupyter_client's own client (it waits 0.2 s for IOPub to
                 stay quiet after kernel_info) against ``execute.QuickReadyClient`` (alternating, outside the sandbox:
                 the client's wait is the same inside it)
  debugger       importing ipykernel's debugger (debugpy) in a fresh Python that has ipykernel loaded: what every
                 kernel forked from a warm process paid before it was preloaded there
  scan           the static scan of a Grad-CAM submission: each cell parsed and scanned anew (before) against the caches
                 (after: a later submission finds the cells it shares with others parsed and scanned)

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


if __name__ == "__main__":
    sys.exit(main())
