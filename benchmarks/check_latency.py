"""Student check latency: `xaigrade check` on each released notebook with the full example solution:
cold (first run: also starts the warm daemon), warm (median of the following runs, served by the
daemon) and with `--no-daemon` (every check starts its kernel from scratch, as before the daemon).
Target: ≤ 5 s warm per notebook.
Run: python benchmarks/check_latency.py [--assignments pdp ...] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, header, row

from autograder.exercises import assignments as registered_exercises  # noqa: E402  (the project root is on sys.path now)

BIN = Path(sys.executable).parent


def main(assignments, repeat: int) -> None:
    header("xaigrade check latency (full example solution, public checks)")
    for assignment in assignments:
        with tempfile.TemporaryDirectory() as scratch:
            notebook = Path(scratch) / f"{assignment}.ipynb"
            shutil.copy(ROOT / "examples" / "submissions" / "full_solution" / assignment / f"{assignment}.ipynb", notebook)
            shutil.copy(ROOT / "release" / assignment / "public_checks.npz", scratch)
            # a daemon folder of this run's own: the first check really is cold
            env = {**os.environ, "XDG_RUNTIME_DIR": str(Path(scratch) / "run")}
            times = []
            try:
                for _ in range(1 + repeat):
                    started = time.monotonic()
                    result = subprocess.run([str(BIN / "xaigrade"), "check", str(notebook)], capture_output=True,
                                            text=True, env=env)
                    times.append(time.monotonic() - started)
            finally:
                subprocess.run([str(BIN / "xaigrade"), "check", "--stop-daemons"], env=env, capture_output=True)
            status = "all passed" if result.returncode == 0 else f"exit {result.returncode}"
            started = time.monotonic()
            subprocess.run([str(BIN / "xaigrade"), "check", "--no-daemon", str(notebook)], capture_output=True, env=env)
            no_daemon = time.monotonic() - started
            row(f"{assignment}: cold (starts the daemon)", times[0])
            warm = statistics.median(times[1:]) if repeat else times[0]
            row(f"{assignment}: warm (median of {repeat}) [{status}]", warm, no_daemon)
            row(f"{assignment}: --no-daemon", no_daemon)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--assignments", nargs="*", default=list(registered_exercises()))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    main(args.assignments, args.repeat)
