"""Grading throughput: `xaigrade grade` against plain `nbgrader autograde` on the same submissions,
in the same run. Submissions: the example submissions of each assignment (full, blank, buggy),
copied ``--copies`` times. Prints seconds per submission for both (overall and per assignment),
the ratio, and where xaigrade's time goes per submission (kernel start, student cells, probe on
hidden inputs, comparison) and how many kernels started warm (forked from the zygote).
xaigrade runs three ways: one `xaigrade grade` per assignment (each pays its own start-up), and one
call for all assignments (how a class's full submissions are graded) with 1 and with the default
number of sandboxes at once (c.XaiGrade.sandboxes_at_once, 2 on 2 cores).
Run: python benchmarks/grading_throughput.py [--assignments pdp clip] [--copies 1] [--quick]
Class-size runs (the "200 x 4" target): --copies 50 --skip-nbgrader --class-size [--workers 2]
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

from autograder.exercises import assignments as registered_exercises  # noqa: E402  (the project root is on sys.path now)

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


def _nbgrader(assignments, work: Path) -> dict:
    """Plain nbgrader: generate_assignment into a scratch course, then `nbgrader autograde`."""
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    shutil.copytree(ROOT / "source", work / "source", ignore=shutil.ignore_patterns("*.npz"))
    (work / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.root = '.'\nc.Execute.timeout = 600\n")
    for assignment in assignments:
        subprocess.run([str(BIN / "nbgrader"), "generate_assignment", assignment, "--force"], cwd=work, env=env,
                       check=True, capture_output=True)
    seconds = {}
    for assignment in assignments:
        started = time.monotonic()
        subprocess.run([str(BIN / "nbgrader"), "autograde", assignment, "--force"], cwd=work, env=env,
                       capture_output=True)
        seconds[assignment] = time.monotonic() - started
    return seconds


def _xaigrade(assignments, work: Path, workers: int) -> tuple[dict, dict]:
    """Seconds per assignment (one `xaigrade grade` each, so each pays its own start-up) and the report."""
    seconds, report = {}, {}
    for assignment in assignments:
        report_file = work / f"report-{assignment}.json"
        started = time.monotonic()
        subprocess.run([str(BIN / "xaigrade"), "grade", assignment, "--course-dir", str(ROOT),
                        "--submissions", str(work / "submitted"),
                        "--output", str(work / "out"), "--json", str(report_file), "--force",
                        "--workers", str(workers)], check=True, capture_output=True)
        seconds[assignment] = time.monotonic() - started
        for student, entries in json.loads(report_file.read_text()).items():
            report.setdefault(student, {}).update(entries)
    return seconds, report


def _xaigrade_one_call(assignments, work: Path, workers: int, at_once: int | None) -> tuple[float, dict]:
    """Seconds for one `xaigrade grade` of all assignments (how a class's full submissions are graded)."""
    report_file = work / f"report-all-{at_once}.json"
    extra = ["--at-once", str(at_once)] if at_once else []
    started = time.monotonic()
    subprocess.run([str(BIN / "xaigrade"), "grade", *assignments, "--course-dir", str(ROOT),
                    "--submissions", str(work / "submitted"),
                    "--output", str(work / f"out-all-{at_once}"), "--json", str(report_file), "--force",
                    "--workers", str(workers), *extra], check=True, capture_output=True)
    return time.monotonic() - started, json.loads(report_file.read_text())


def main(assignments, copies: int, quick: bool, workers: int, skip_nbgrader: bool, class_size: bool) -> None:
    header("Grading throughput: xaigrade grade vs plain nbgrader autograde (same submissions)")
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        n = _submissions(assignments, copies, scratch / "nbgrader" / "submitted", quick)
        per_assignment = n // len(assignments)
        shutil.copytree(scratch / "nbgrader" / "submitted", scratch / "xaigrade" / "submitted")
        plain = None if skip_nbgrader else _nbgrader(assignments, scratch / "nbgrader")
        ours, report = ({}, {}) if class_size else _xaigrade(assignments, scratch / "xaigrade", workers)
        one_call = {}  # sandboxes at once (None: the default) -> (seconds, report)
        if len(assignments) > 1 or class_size:
            for at_once in ((None,) if class_size or workers > 1 else (1, None)):
                one_call[at_once] = _xaigrade_one_call(assignments, scratch / "xaigrade", workers, at_once)
    print(f"{n} submissions of {', '.join(assignments)} ({per_assignment} each); xaigrade with "
          + (f"{workers} worker processes" if workers > 1 else "no worker processes (grading in its own process)"))
    plain_per_submission = sum(plain.values()) / n if plain else None
    for assignment in assignments:
        base = plain[assignment] / per_assignment if plain else None
        if base:
            row(f"{assignment}: nbgrader autograde, seconds per submission", base)
        if ours:
            row(f"{assignment}: xaigrade grade, seconds per submission", ours[assignment] / per_assignment, base)
    if plain:
        row("all: plain nbgrader autograde, seconds per submission", plain_per_submission)
    if ours:
        row("all: one `xaigrade grade` per assignment, seconds per submission", sum(ours.values()) / n,
            plain_per_submission)
        print(f"all {n} submissions with one `xaigrade grade` per assignment: {sum(ours.values()) / 60:.1f} min")
    for at_once, (seconds, one_report) in one_call.items():
        how = f"--at-once {at_once}" if at_once else "default sandboxes at once"
        row(f"all: one `xaigrade grade` of all ({how}), s per submission", seconds / n, plain_per_submission)
        print(f"all {n} submissions in one `xaigrade grade` ({how}): {seconds / 60:.1f} min wall clock")
        if ours:
            print(f"  same scores as one call per assignment: {_scores(one_report) == _scores(report)}")
        report = report or one_report
    parts: dict[str, float] = {}
    timed = 0
    for per_student in report.values():
        for entry in per_student.values():
            timings = entry.get("_timings", {})
            timed += bool(timings)
            for key, value in timings.items():
                parts[key] = parts.get(key, 0.0) + value / n
    for key in ("kernel_start", "student_cells", "probe", "checks"):
        if key in parts:
            row(f"xaigrade per submission: {key}", parts[key])
    print(f"kernels forked warm from the zygote: {round(parts.get('warm_start', 0.0) * n)} of {timed}")
    if plain:
        if ours:
            print(f"speed-up of xaigrade over nbgrader, one call per assignment: "
                  f"{sum(plain.values()) / sum(ours.values()):.2f}x")
        for at_once, (seconds, _) in one_call.items():
            print(f"speed-up of xaigrade over nbgrader, one call for all assignments, "
                  f"{at_once or min(2, os.cpu_count() or 1)} sandbox(es) at once: "
                  f"{sum(plain.values()) / seconds:.2f}x (target ≥ 3x)")


def _scores(report: dict) -> dict:
    return {(student, assignment): sum(v["score"] for k, v in entry.items() if not k.startswith("_"))
            for student, entries in report.items() for assignment, entry in entries.items()}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--assignments", nargs="*", default=list(registered_exercises()))
    parser.add_argument("--copies", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="one submission per assignment")
    parser.add_argument("--workers", type=int, default=1, help="xaigrade grade --workers")
    parser.add_argument("--skip-nbgrader", action="store_true", help="only xaigrade (class-size runs)")
    parser.add_argument("--class-size", action="store_true",
                        help="only one `xaigrade grade` of all assignments, the default way (class-size runs)")
    args = parser.parse_args()
    main(args.assignments, args.copies, args.quick, args.workers, args.skip_nbgrader, args.class_size)
