"""Student check latency: `xaigrade check` on each released notebook with the full example solution,
cold (first run) and warm (median of the following runs). Target: ≤ 5 s warm per notebook.
Run: python benchmarks/check_latency.py [--assignments pdp ...] [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, header, row

BIN = Path(sys.executable).parent


def main(assignments, repeat: int) -> None:
    header("xaigrade check latency (full example solution, public checks)")
    for assignment in assignments:
        with tempfile.TemporaryDirectory() as scratch:
            notebook = Path(scratch) / f"{assignment}.ipynb"
            shutil.copy(ROOT / "examples" / "submissions" / "full_solution" / assignment / f"{assignment}.ipynb", notebook)
            shutil.copy(ROOT / "release" / assignment / "public_checks.npz", scratch)
            times = []
            for _ in range(1 + repeat):
                started = time.monotonic()
                result = subprocess.run([str(BIN / "xaigrade"), "check", str(notebook)], capture_output=True, text=True)
                times.append(time.monotonic() - started)
            status = "all passed" if result.returncode == 0 else f"exit {result.returncode}"
            row(f"{assignment}: cold", times[0])
            row(f"{assignment}: warm (median of {repeat}) [{status}]", statistics.median(times[1:]) if repeat else times[0])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--assignments", nargs="*", default=["pdp", "gradcam", "counterfactual", "clip"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    main(args.assignments, args.repeat)
