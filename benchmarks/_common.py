"""Shared helpers of the benchmark scripts: timing and printing figures with ratios."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import sysconfig
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


def copy_items(items, source_root: Path, target_root: Path, ignore=None) -> None:
    """Copy each of ``items`` (folders and files, relative paths) from ``source_root`` to the same place under
    ``target_root``; ``ignore`` as for ``shutil.copytree``. (The throughput benchmark's snapshot and
    tests/test_adding_an_exercise's framework copy.)"""
    import shutil

    for item in items:
        source, target = source_root / item, target_root / item
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=ignore)
        else:
            shutil.copy(source, target)


def overlay_environment(root: Path) -> Path:
    """A venv in ``root/venv`` whose Python imports ``root``'s autograder and xaikit with this environment's
    libraries, and its own course kernel (`xai-course`) that starts that Python, so sandboxed kernels import the copy
    too. Returns the venv's Python. (Used by the throughput benchmark's snapshot and tests/test_adding_an_exercise.)"""
    from jupyter_client.kernelspec import KernelSpecManager

    venv = root / "venv"
    subprocess.run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", "--without-pip", str(venv)],
                   check=True, capture_output=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    for package in ("autograder", "xaikit"):
        (site / package).symlink_to(root / package, target_is_directory=True)
    (site / "project_libraries.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # a plain path: no editable
    spec = json.loads((Path(KernelSpecManager().get_kernel_spec("xai-course").resource_dir) / "kernel.json")
                      .read_text())
    spec["argv"][0] = str(python)
    kernel = venv / "share" / "jupyter" / "kernels" / "xai-course"
    kernel.mkdir(parents=True)
    (kernel / "kernel.json").write_text(json.dumps(spec))
    return python
