"""Shared helpers of the benchmark scripts: timing and printing figures with ratios."""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # reference_solutions is not installed on purpose


def best_of(function, repeat: int = 5, warmup: int = 1) -> float:
    """Best wall time of ``repeat`` calls after ``warmup`` calls (the least disturbed run)."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def median_of(function, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def header(title: str) -> None:
    print(f"# {title}")
    print(f"# machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}, {time.strftime('%Y-%m-%d %H:%M')}")


def row(name: str, seconds: float, baseline: float | None = None, unit: str = "s") -> None:
    ratio = f"  ratio {seconds / baseline:6.2f}x" if baseline else ""
    value = seconds * 1000 if unit == "ms" else seconds
    print(f"{name:<55} {value:10.3f} {unit}{ratio}")
