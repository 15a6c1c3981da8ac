"""Grading throughput: `xaigrade grade` against plain `nbgrader autograde` on the same submissions,
in the same run. Submissions: the example submissions of each assignment (full, blank, buggy),
copied ``--copies`` times. Prints seconds per submission for both, the ratio, and where
xaigrade's time goes per submission (kernel start incl. imports of the first cell, student cells,
probe on hidden inputs, comparison).
Run: python benchmarks/grading_throughput.py [--assignments pdp clip] [--copies 1] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, header, row

BIN = Path(sys.executable).parent


def _submissions(assignments, copies, target: Path, quick: bool) -> int:
    count = 0
    for assignment in assignments:
        students = sorted(p.name for p in (ROOT / "examples" / "submissions").iterdir()
                          if (p / assignment).is_dir())
        if quick:
            students = students[:1]
        for copy in range(copies):
            for student in students:
                folder = target / f"{student}-{copy}" / assignment
                folder.mkdir(parents=True, exist_ok=True)
                shutil.copy(ROOT / "examples" / "submissions" / student / assignment / f"{assignment}.ipynb", folder)
                count += 1
    return count


def _nbgrader(assignments, work: Path) -> float:
    """Plain nbgrader: generate_assignment into a scratch course, then `nbgrader autograde`."""
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    shutil.copytree(ROOT / "source", work / "source", ignore=shutil.ignore_patterns("*.npz"))
    (work / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.root = '.'\nc.Execute.timeout = 600\n")
    for assignment in assignments:
        subprocess.run([str(BIN / "nbgrader"), "generate_assignment", assignment, "--force"], cwd=work, env=env,
                       check=True, capture_output=True)
    started = time.monotonic()
    for assignment in assignments:
        subprocess.run([str(BIN / "nbgrader"), "autograde", assignment, "--force"], cwd=work, env=env,
                       capture_output=True)
    return time.monotonic() - started


def _xaigrade(assignments, work: Path) -> tuple[float, dict]:
    report_file = work / "report.json"
    started = time.monotonic()
    subprocess.run([str(BIN / "xaigrade"), "grade", *assignments, "--submissions", str(work / "submitted"),
                    "--output", str(work / "out"), "--json", str(report_file), "--force"],
                   check=True, capture_output=True)
    return time.monotonic() - started, json.loads(report_file.read_text())


def main(assignments, copies: int, quick: bool) -> None:
    header("Grading throughput: xaigrade grade vs plain nbgrader autograde (same submissions)")
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        n = _submissions(assignments, copies, scratch / "nbgrader" / "submitted", quick)
        shutil.copytree(scratch / "nbgrader" / "submitted", scratch / "xaigrade" / "submitted")
        plain = _nbgrader(assignments, scratch / "nbgrader")
        ours, report = _xaigrade(assignments, scratch / "xaigrade")
    print(f"{n} submissions of {', '.join(assignments)}")
    row("plain nbgrader autograde: seconds per submission", plain / n)
    row("xaigrade grade: seconds per submission", ours / n, plain / n)
    parts: dict[str, float] = {}
    for per_student in report.values():
        for entry in per_student.values():
            for key, value in entry.get("_timings", {}).items():
                parts[key] = parts.get(key, 0.0) + value / n
    for key in ("kernel_start", "student_cells", "probe", "checks"):
        if key in parts:
            row(f"xaigrade per submission: {key}", parts[key])
    print(f"speed-up of xaigrade over nbgrader: {plain / ours:.2f}x (target ≥ 3x)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--assignments", nargs="*", default=["pdp", "gradcam", "counterfactual", "clip"])
    parser.add_argument("--copies", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="one submission per assignment")
    args = parser.parse_args()
    main(args.assignments, args.copies, args.quick)
