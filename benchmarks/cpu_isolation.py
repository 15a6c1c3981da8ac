"""CPU isolation between jobs: how much slower an honest submission runs while the submission beside it keeps
many processes busy, with and without a cpu cgroup of each job's own (``cpu_shares``, ``job_cpus``).

One run grades, two sandboxes at once as by default, an honest PDP solution with a fixed CPU-bound cell (it
prints its own wall time; it starts a few seconds after the hog, and the hog outlasts it) — alone, then beside a hog (a cell that keeps ``--processes`` busy processes running
for ``--hog-seconds``) with the job cpu cgroups switched off (``cpu_shares = 0``, as before issue 21), with each
job's own weight (the default), and with a weight and a quota of one CPU per job. Each busy process opens a session
of its own, as in the report: with the kernel's autogroups (``kernel.sched_autogroup_enabled``) processes in the root
cpu cgroup share the CPUs per *session*, so 40 processes in one session would cost the neighbour little, 40 sessions
a lot. It prints the honest cell's time as a ratio to the run alone. (Not the probe's: it runs after the hog has
ended when the hog slowed the cells down.) Needs root (cgroups); nothing is asserted.

    cd benchmarks && ../.venv/bin/python cpu_isolation.py [--quick] [--processes 40] [--hog-seconds 40]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from _common import ROOT, header, row

import nbformat

from autograder.batch import Layout, grade_batch
from autograder.config import load_settings
from autograder.runner.cgroups import cgroup_roots

FULL = ROOT / "examples" / "submissions" / "full_solution" / "pdp" / "pdp.ipynb"

HONEST_CELL = """
import time
time.sleep({delay})  # (the hog's processes are running by then)
_started = time.perf_counter()
_total = 0
for _i in range({loops}):
    _total += _i * _i
print("WORK", time.perf_counter() - _started)
"""

HOG_CELL = """
import os, time
_end = time.monotonic() + {seconds}
_kids = []
for _ in range({processes}):
    _pid = os.fork()
    if _pid == 0:
        os.setsid()  # (a session each, as in the report: the scheduler's autogroups share CPU per session)
        while time.monotonic() < _end:
            pass
        os._exit(0)
    _kids.append(_pid)
for _pid in _kids:
    os.waitpid(_pid, 0)
"""


def _notebook(cell: str):
    nb = nbformat.read(FULL, as_version=4)
    setup = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells.insert(setup + 1, nbformat.v4.new_code_cell(cell))
    return nb


def _work_seconds(output: Path, student: str) -> float:
    graded = nbformat.read(output / "autograded" / student / "pdp" / "pdp.ipynb", as_version=4)
    for cell in graded.cells:
        for out in cell.get("outputs", []):
            for line in out.get("text", "").splitlines():
                if line.startswith("WORK "):
                    return float(line.split()[1])
    raise RuntimeError(f"{student} printed no WORK line (see {output})")


def grade(scratch: Path, label: str, with_hog: bool, args, **settings) -> float:
    """The honest cell's seconds in one batch."""
    submissions, output = scratch / label / "submitted", scratch / label / "out"
    students = {"b_honest": _notebook(HONEST_CELL.format(delay=args.delay, loops=args.loops))}
    if with_hog:
        students["a_hog"] = _notebook(HOG_CELL.format(seconds=args.hog_seconds, processes=args.processes))
    for student, nb in students.items():
        target = submissions / student / "pdp" / "pdp.ipynb"
        target.parent.mkdir(parents=True)
        nbformat.write(nb, str(target))
    config = load_settings(ROOT, cell_timeout=args.hog_seconds + 120.0, total_timeout=args.hog_seconds + 600.0,
                           max_processes=max(64, 2 * args.processes + 32), **settings)
    config.sandboxes_at_once = 2
    grade_batch(["pdp"], Layout(ROOT, submissions, output), config)
    return _work_seconds(output, "b_honest")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", type=int, default=40, help="busy processes of the hog (the report: 40)")
    parser.add_argument("--hog-seconds", type=float, default=40.0)
    parser.add_argument("--loops", type=int, default=20_000_000, help="size of the honest cell's work")
    parser.add_argument("--delay", type=float, default=4.0, help="seconds the honest cell waits for the hog")
    parser.add_argument("--quick", action="store_true", help="a tiny run (4 processes, 8 s; for the test)")
    args = parser.parse_args()
    if args.quick:
        args.processes, args.hog_seconds, args.loops, args.delay = 4, 8.0, 2_000_000, 2.0
    header(f"CPU isolation: an honest job beside one running {args.processes} busy processes for "
           f"{args.hog_seconds:g} s (2 sandboxes at once)")
    if "cpu" not in cgroup_roots():
        print("no writable cpu cgroup (needs root and cgroup v1 cpu): the isolated rows equal the shared one")
    scratch = Path(tempfile.mkdtemp(prefix="xaigrade-cpu-isolation-"))
    figures = {}
    try:
        figures["alone"] = grade(scratch, "alone", False, args)
        figures["hog, cpu cgroups off (before)"] = grade(scratch, "off", True, args, cpu_shares=0)
        figures["hog, a cpu weight per job (default)"] = grade(scratch, "weight", True, args)
        figures["hog, weight + quota of 1 CPU per job"] = grade(scratch, "quota", True, args, job_cpus=1.0)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    alone = figures["alone"]
    print("honest job's CPU-bound cell (wall time; ratio: to the run alone)")
    for label, work in figures.items():
        row(f"  {label}", work, alone)
    print("slowdown " + json.dumps({label: round(work / alone, 2) for label, work in figures.items()}))


if __name__ == "__main__":
    main()
