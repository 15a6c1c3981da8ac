"""Grading throughput, like with like: plain `nbgrader autograde` against `xaigrade grade` on the same notebooks, in
the same run, on a scratch copy of the course with a secret and a reference cache of its own.

What runs (each a fresh process, timed from outside):
  nbgrader       `nbgrader autograde A` per assignment: every cell runs (demo cells, public self-tests)
  cold           one `xaigrade grade` of all assignments on an EMPTY reference cache: the hidden sets the
                 students need are computed on the way (in worker processes, beside the sandboxes)
  prepare        `xaigrade prepare` on an empty cache: the K hidden sets of every assignment (the reference
                 computation, on its own line; afterwards the cache is warm)
  rerun          one `xaigrade grade` of all assignments, cache warm, demo cells re-run: every cell run by both
                 (c.XaiGrade.rerun_demo_cells = True) -- the like-for-like figure
  kept           the same with the default: unchanged demo cells keep their submitted output
  per-call       one `xaigrade grade` per assignment (each pays its own start-up), demo cells re-run
  at-once-1      one call of all, demo cells kept, one sandbox at a time (not with --quick)
Every ratio is "x faster" = nbgrader's seconds / xaigrade's seconds. Per submission (from the report's timings):
start = the submission's time in its sandbox slot minus its cells, probe and checks (job set-up, kernel start,
reading back), cells, probe, checks, writing (pictures, gradebook, pages: the writer thread, beside the sandboxes);
overhead = wall time per submission - (cells + probe) / sandboxes at once.

    ../.venv/bin/python grading_throughput.py [--assignments pdp clip] [--copies 1] [--quick] [--json OUT.json]
    ../.venv/bin/python grading_throughput.py --compare OLD.json [NEW.json]   # NEW given: compare without running
Class-size runs (the "200 x 4" target): --copies 50 --skip-nbgrader --class-size (prepare, then one call, kept).
The overhead alone, repeatable in minutes: --skip-nbgrader --modes rerun kept --hidden-sets 2 --keep DIR (the first
run computes DIR's 2 sets per assignment; later runs reuse DIR's course secret and reference cache, so `prepare` finds
them there and each run costs the two grading calls).

Everything runs on a snapshot of the project taken at the start (autograder, xaikit, reference_solutions, source,
release, the example submissions; a venv beside it that imports the snapshot and this environment's libraries, and
the course kernel pointed at it): edits made to the working tree while the benchmark runs (another engineer's) change
neither the code measured nor the reference cache's keys. --live runs the working tree instead.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, copy_items, overlay_environment

from autograder.exercises import assignments as registered_exercises  # noqa: E402  (the project root is on sys.path now)

BIN = Path(sys.executable).parent
PARTS = ("start", "kernel_start", "student_cells", "probe", "checks", "pictures", "writing",
         # the slot besides cells and probe, in detail: the grader's steps before and after the sandbox, the job
         # folder filled, the sandbox's wall time (minus the executor's parts: fork, jail, messages, teardown =
         # job_other), the executor's set-up and wrap-up, reading back, removing the job folder
         "step_validate", "step_restore_test_cells", "step_scan_code", "step_annotate_notebook", "fill", "zygote_wait",
         "job_other", "setup", "wrap_up", "read_back", "cleanup",
         # the writer thread's CPU (pictures: the hooks' threads)
         "pictures_cpu", "writing_cpu")
SNAPSHOT = ("autograder", "xaikit", "reference_solutions", "source", "release", "examples/submissions",
            "nbgrader_config.py")


class Tools:
    """How the runs are started: `xaigrade` (a module run by a Python) and `nbgrader`, and where the project is."""

    def __init__(self, root: Path, python: Path):
        self.root, self.python = root, python

    def xaigrade(self) -> list:
        return [self.python, "-m", "autograder.cli"]

    def nbgrader(self) -> list:
        return [self.python, "-m", "nbgrader"]

    def path(self) -> str:
        return f"{self.python.parent}:{BIN}:{os.environ['PATH']}"


def live_tools() -> Tools:
    return Tools(ROOT, Path(sys.executable))


def snapshot(target: Path) -> Tools:
    """A copy of the project's code and course files, and a venv that imports the copy's autograder and xaikit
    (reference_solutions is found beside them, from the copy's root) with this environment's libraries; the course
    kernel (`xai-course`) of that venv starts its Python, so the sandboxed kernels import the copy too."""
    copy_items(SNAPSHOT, ROOT, target, shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    python = overlay_environment(target)
    found = subprocess.run([str(python), "-c", "import autograder, xaikit; print(autograder.__file__, xaikit.__file__)"],
                           check=True, capture_output=True, text=True, cwd=target).stdout.split()
    if not all(Path(f).resolve().is_relative_to(target.resolve()) for f in found):
        raise SystemExit(f"the snapshot's Python imports {found}, not the snapshot in {target}")
    return Tools(target, python)


def _load() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def _submissions(assignments, copies, target: Path, quick: bool, root: Path = ROOT) -> dict:
    """Example submissions (full, blank, buggy) copied ``copies`` times; returns {assignment: count}."""
    counts = {}
    for assignment in assignments:
        students = sorted(p.name for p in (root / "examples" / "submissions").iterdir() if (p / assignment).is_dir())
        if quick:
            students = [s for s in students if s == "full_solution"] or students[:1]
        for copy in range(copies):
            for student in students:
                folder = target / f"{student}-{copy}" / assignment
                folder.mkdir(parents=True, exist_ok=True)
                shutil.copy(root / "examples" / "submissions" / student / assignment / f"{assignment}.ipynb", folder)
        counts[assignment] = len(students) * copies
    return counts


def _run(command: list, cwd: Path, env: dict) -> float:
    started = time.monotonic()
    done = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, command))} failed ({done.returncode}):\n{done.stdout[-2000:]}\n"
                         f"{done.stderr[-4000:]}")
    return seconds


def _nbgrader(assignments, work: Path, submitted: Path, tools: Tools) -> dict:
    """Plain nbgrader: generate_assignment into a scratch course, then `nbgrader autograde` per assignment."""
    env = {**os.environ, "PATH": tools.path()}
    shutil.copytree(tools.root / "source", work / "source", ignore=shutil.ignore_patterns("*.npz"))
    shutil.copytree(submitted, work / "submitted")
    (work / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.root = '.'\nc.Execute.timeout = 600\n")
    for assignment in assignments:
        _run([*tools.nbgrader(), "generate_assignment", assignment, "--force"], work, env)
    return {assignment: _run([*tools.nbgrader(), "autograde", assignment, "--force"], work, env)
            for assignment in assignments}


class Course:
    """A scratch copy of the course (source, release, config) with a secret of its own; its reference cache is
    chosen per run (``XDG_CACHE_HOME``)."""

    def __init__(self, folder: Path, hidden_sets: int | None, tools: Tools, secret: Path | None = None):
        self.folder, self.tools = folder, tools
        folder.mkdir(parents=True)
        if secret is not None:  # (--keep: the same course secret in every run, so the kept reference cache fits)
            if not secret.exists():
                secret.parent.mkdir(parents=True, exist_ok=True)
                secret.write_bytes(os.urandom(32).hex().encode())
            (folder / ".xaigrade").mkdir()
            shutil.copy(secret, folder / ".xaigrade" / "secret")
        shutil.copytree(tools.root / "source", folder / "source")
        shutil.copytree(tools.root / "release", folder / "release")
        self.config = (tools.root / "nbgrader_config.py").read_text()
        self.hidden_sets = hidden_sets
        self.configure(rerun_demo_cells=False)

    def configure(self, rerun_demo_cells: bool) -> None:
        extra = f"\nc.XaiGrade.rerun_demo_cells = {rerun_demo_cells}\n"
        if self.hidden_sets:
            extra += f"c.XaiGrade.hidden_sets = {self.hidden_sets}\n"
        (self.folder / "nbgrader_config.py").write_text(self.config + extra)

    def env(self, cache: Path) -> dict:
        env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
        env.update(XDG_CACHE_HOME=str(cache), PATH=self.tools.path())
        matplotlib_cache = Path.home() / ".cache" / "matplotlib"
        if matplotlib_cache.is_dir():  # (its font cache is no reference; rebuilding it is no grading cost)
            env.setdefault("MPLCONFIGDIR", str(matplotlib_cache))
        return env

    def prepare(self, assignments, cache: Path) -> float:
        return _run([*self.tools.xaigrade(), "prepare", *assignments], self.folder, self.env(cache))

    def grade(self, assignments, submitted: Path, output: Path, cache: Path, rerun_demo_cells: bool,
              at_once: int | None = None) -> tuple[float, dict]:
        self.configure(rerun_demo_cells)
        report = output.with_suffix(".json")
        extra = ["--at-once", str(at_once)] if at_once else []
        seconds = _run([*self.tools.xaigrade(), "grade", *assignments, "--submissions", submitted, "--output", output,
                        "--json", report, "--force", *extra], self.folder, self.env(cache))
        return seconds, json.loads(report.read_text())


def _scores(report: dict) -> dict:
    return {f"{student}/{assignment}": sum(v["score"] for k, v in entry.items() if not k.startswith("_"))
            for student, entries in report.items() for assignment, entry in entries.items()}


def _split(report: dict) -> dict:
    """Mean seconds per submission of each part, the warm kernels, and the counts."""
    entries = [entry for per in report.values() for entry in per.values()]
    timed = [entry["_timings"] for entry in entries if "_timings" in entry]
    parts = {}
    for timings in timed:
        checks = timings.get("checks", 0.0)
        executor = sum(timings.get(k, 0.0) for k in ("setup", "kernel_start", "student_cells", "probe", "wrap_up"))
        timings = {**timings, "start": max(0.0, timings.get("slot", 0.0) - timings.get("student_cells", 0.0)
                                           - timings.get("probe", 0.0) - checks),
                   "job_other": max(0.0, timings.get("sandbox", 0.0) - timings.get("zygote_wait", 0.0) - executor) if "sandbox" in timings else 0.0}
        for key in PARTS:
            parts[key] = parts.get(key, 0.0) + timings.get(key, 0.0) / max(1, len(entries))
    parts["warm"] = sum(t.get("warm_start", 0.0) for t in timed)
    parts["timed"] = len(timed)
    return parts


def _run_account(report: dict, seconds: float, at_once: int) -> dict:
    """Where the run's wall time went besides the slots (from the ``*_at`` timings, seconds since the grader
    started): start-up until the first slot, sandbox capacity left idle between the first slot's start and the
    last one's end, the writer's tail after the last slot, and the process's end after the last write."""
    timed = [entry["_timings"] for per in report.values() for entry in per.values()
             if "slot_began_at" in entry.get("_timings", {})]
    if not timed:
        return {}
    first = min(t["slot_began_at"] for t in timed)
    last = max(t["slot_ended_at"] for t in timed)
    written = max([t.get("written_at", 0.0) for t in timed] + [last])
    busy = sum(t["slot_ended_at"] - t["slot_began_at"] for t in timed)
    return {"startup": round(first, 3), "idle_slots": round((at_once * (last - first) - busy) / at_once, 3),
            "writer_tail": round(written - last, 3), "exit": round(max(0.0, seconds - written), 3)}


def _one_call(label: str, seconds: float, report: dict, n: int, at_once: int, scores: dict | None) -> dict:
    split = _split(report)
    per_submission = seconds / n
    own = (split.get("student_cells", 0.0) + split.get("probe", 0.0)) / at_once
    overhead = per_submission - own
    return {"label": label, "seconds": round(seconds, 2), "per_submission": round(per_submission, 3),
            "at_once": at_once, "split": {k: round(v, 3) for k, v in split.items()},
            "run": _run_account(report, seconds, at_once),
            "overhead": round(overhead, 3), "overhead_share": round(overhead / per_submission, 3),
            "same_scores": scores is None or _scores(report) == scores, "load_after": _load()}


def main(args) -> dict:
    assignments = list(args.assignments)
    at_once = args.at_once or min(2, os.cpu_count() or 1)
    hidden_sets = args.hidden_sets or (2 if args.quick else None)
    started = datetime.datetime.now()
    result = {"meta": {"date": started.strftime("%Y-%m-%d %H:%M"), "load_before": _load(),
                       "machine": f"{os.uname().machine}, {os.cpu_count()} cores", "git": _git(),
                       "assignments": assignments, "copies": args.copies, "quick": args.quick,
                       "hidden_sets": hidden_sets, "at_once": at_once,
                       "class_size": args.class_size}, "runs": {}}
    print(f"# Grading throughput: plain nbgrader autograde vs xaigrade grade (same notebooks, same run)\n"
          f"# machine: {result['meta']['machine']}, {result['meta']['date']}, load average (1/5/15 min) "
          f"{' / '.join(map(str, result['meta']['load_before']))}, git {result['meta']['git']}", flush=True)
    runs = result["runs"]
    with tempfile.TemporaryDirectory(prefix="xaigrade-throughput-") as scratch:
        scratch = Path(scratch)
        tools = live_tools() if args.live else snapshot(scratch / "kit")
        result["meta"]["code"] = "working tree (live)" if args.live else "snapshot taken at the start"
        submitted = scratch / "submitted"
        counts = _submissions(assignments, args.copies, submitted, args.quick, tools.root)
        n = sum(counts.values())
        result["meta"]["submissions"] = counts
        print(f"# {n} submissions ({', '.join(f'{a} {c}' for a, c in counts.items())}); xaigrade with {at_once} "
              f"sandbox(es) at once; a course copy with a secret and reference caches of its own", flush=True)
        keep = Path(args.keep).resolve() if args.keep else None
        course = Course(scratch / "course", hidden_sets, tools, keep / "secret" if keep else None)
        modes = set(args.modes or ("cold", "rerun", "kept", "per-call", "at-once-1"))
        if not args.skip_nbgrader:
            plain = _nbgrader(assignments, scratch / "nbgrader", submitted, tools)
            runs["nbgrader"] = {"seconds": {a: round(s, 2) for a, s in plain.items()}, "load_after": _load()}
            _progress("nbgrader autograde", sum(plain.values()))
        if not args.class_size and "cold" in modes:
            seconds, report = course.grade(assignments, submitted, scratch / "out-cold", scratch / "cache-cold",
                                           rerun_demo_cells=False, at_once=args.at_once)
            runs["cold"] = _one_call("one call, cache cold, demo cells kept", seconds, report, n, at_once, None)
            _progress("xaigrade grade, cache cold", seconds)
        cache = keep / "cache" if keep else scratch / "cache"
        warm_before = keep is not None and cache.is_dir()
        runs["prepare"] = {"seconds": round(course.prepare(assignments, cache), 2),
                           "sets": (hidden_sets or _hidden_sets()) * len(assignments), "load_after": _load(),
                           "cache_was_kept": warm_before}
        _progress(f"xaigrade prepare (cache {'kept from an earlier run' if warm_before else 'empty'})",
                  runs["prepare"]["seconds"])
        baseline = None
        calls = [("kept", False)] if args.class_size else [(m, r) for m, r in (("rerun", True), ("kept", False))
                                                            if m in modes]
        for repeat in range(args.repeat):
            for mode, rerun in calls:
                name = mode if repeat == 0 else f"{mode}_{repeat + 1}"
                seconds, report = course.grade(assignments, submitted, scratch / f"out-{name}", cache, rerun,
                                               args.at_once)
                runs[name] = _one_call(f"one call, cache warm, demo cells {'re-run' if rerun else 'kept'}", seconds,
                                       report, n, at_once, baseline)
                baseline = baseline or _scores(report)
                _progress(f"xaigrade grade, {name} (overhead {runs[name]['overhead']:.3f} s, "
                          f"{100 * runs[name]['overhead_share']:.0f} %)", seconds)
        if not args.class_size and len(assignments) > 1 and "per-call" in modes:
            per_call = {}
            for assignment in assignments:
                seconds, report = course.grade([assignment], submitted, scratch / f"out-{assignment}", cache, True,
                                               args.at_once)
                per_call[assignment] = {"seconds": round(seconds, 2), "split": _split(report),
                                        "same_scores": None if baseline is None  # (per-call alone: nothing to compare)
                                        else all(baseline.get(k) == v for k, v in _scores(report).items())}
            runs["per_call"] = per_call
            _progress("xaigrade grade per assignment", sum(v["seconds"] for v in per_call.values()))
        if not args.class_size and not args.quick and at_once > 1 and "at-once-1" in modes:
            seconds, report = course.grade(assignments, submitted, scratch / "out-1", cache, False, at_once=1)
            runs["at_once_1"] = _one_call("one call, cache warm, demo cells kept, 1 sandbox at a time", seconds,
                                          report, n, 1, baseline)
            _progress("xaigrade grade --at-once 1", seconds)
    result["meta"]["load_after"] = _load()
    result["figures"] = figures(result)
    print_table(result)
    return result


def _hidden_sets() -> int:
    from autograder.config import XaiGrade

    return XaiGrade().hidden_sets


def _progress(what: str, seconds: float) -> None:
    print(f"  ... {what}: {seconds:.1f} s (load {os.getloadavg()[0]:.1f})", flush=True)


def _git() -> str:
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return f"{head}{' (uncommitted changes)' if dirty else ''}"
    except OSError:
        return "?"


def figures(result: dict) -> dict:
    """The flat figures two runs are compared by: seconds per submission (s), x faster than nbgrader (x),
    shares (share)."""
    meta, runs = result["meta"], result["runs"]
    counts = meta["submissions"]
    n = sum(counts.values())
    out = {}
    plain = runs.get("nbgrader", {}).get("seconds")
    if plain:
        out["nbgrader: s per submission, all"] = sum(plain.values()) / n
        for a, s in plain.items():
            out[f"nbgrader: s per submission, {a}"] = s / counts[a]
    for mode in _modes(runs, ("rerun", "kept", "cold", "at_once_1")):
        if mode in runs:
            run = runs[mode]
            for key, value in run.get("run", {}).items():
                out[f"{mode}: run's {key}, s"] = value
            out[f"{mode}: s per submission, all"] = run["per_submission"]
            out[f"{mode}: overhead, s per submission"] = run["overhead"]
            out[f"{mode}: overhead share"] = run["overhead_share"]
            for part in PARTS:
                out[f"{mode}: {part}, s per submission"] = run["split"].get(part, 0.0)
            if plain:
                out[f"{mode}: x faster than nbgrader, all"] = sum(plain.values()) / run["seconds"]
    if "per_call" in runs:
        total = sum(v["seconds"] for v in runs["per_call"].values())
        out["per-call: s per submission, all"] = total / n
        if plain:
            out["per-call: x faster than nbgrader, all"] = sum(plain.values()) / total
        for a, v in runs["per_call"].items():
            out[f"per-call: s per submission, {a}"] = v["seconds"] / counts[a]
            if plain:
                out[f"per-call: x faster than nbgrader, {a}"] = plain[a] / v["seconds"]
                out[f"per-call: probe, s per submission, {a}"] = v["split"].get("probe", 0.0)
    if "prepare" in runs:
        out["prepare: s for all hidden sets"] = runs["prepare"]["seconds"]
        out["prepare: s per hidden set (wall)"] = runs["prepare"]["seconds"] / runs["prepare"]["sets"]
    return {k: round(v, 3) for k, v in out.items()}


def _modes(runs: dict, modes: tuple) -> list:
    """The runs of these modes, repeats (``rerun_2``, ...) after the first."""
    return [name for mode in modes for name in runs if name == mode or name.startswith(f"{mode}_") and
            name[len(mode) + 1:].isdigit()]


def print_table(result: dict) -> None:
    meta, runs, fig = result["meta"], result["runs"], result["figures"]
    counts = meta["submissions"]
    n = sum(counts.values())
    plain = runs.get("nbgrader", {}).get("seconds")
    print(f"\n{'':<58} {'s/submission':>12} {'x faster':>9}")

    def line(name, seconds, faster=None):
        print(f"{name:<58} {seconds:>12.2f} {('%.2fx' % faster) if faster else '':>9}")

    if plain:
        line("plain nbgrader autograde (every cell), all", sum(plain.values()) / n)
    for mode in ("rerun", "kept", "cold", "at_once_1"):
        if mode in runs:
            run = runs[mode]
            line(f"xaigrade {run['label']}", run["per_submission"], fig.get(f"{mode}: x faster than nbgrader, all"))
    if "per_call" in runs:
        line("xaigrade one call per assignment, demo cells re-run", fig["per-call: s per submission, all"],
             fig.get("per-call: x faster than nbgrader, all"))
    for a in counts:
        if plain:
            line(f"  {a}: nbgrader autograde", plain[a] / counts[a])
        if "per_call" in runs:
            line(f"  {a}: xaigrade grade {a} (own call, demo cells re-run)", fig[f"per-call: s per submission, {a}"],
                 fig.get(f"per-call: x faster than nbgrader, {a}"))
    if "prepare" in runs:
        prepare = runs["prepare"]
        print(f"hidden-set reference computation (`xaigrade prepare`, {prepare['sets']} sets, cache empty, "
              f"{meta['at_once']} processes): {prepare['seconds']:.1f} s, {fig['prepare: s per hidden set (wall)']:.2f} s "
              "per set")
    if "cold" in runs:
        print(f"one `xaigrade grade` on an empty cache (computes the sets its students need): "
              f"{runs['cold']['seconds']:.1f} s; cache warm (demo cells kept): "
              f"{runs.get('kept', {}).get('seconds', float('nan')):.1f} s")
    for mode in _modes(runs, ("rerun", "kept")):
        if mode in runs:
            run = runs[mode]
            split = run["split"]
            print(f"per submission ({mode}): wall {run['per_submission']:.3f} s = (cells {split.get('student_cells', 0):.3f}"
                  f" + probe {split.get('probe', 0):.3f}) / {run['at_once']} + overhead {run['overhead']:.3f} s "
                  f"({100 * run['overhead_share']:.0f} %); in the slot: start {split.get('start', 0):.3f} (kernel "
                  f"{split.get('kernel_start', 0):.3f}), checks {split.get('checks', 0):.3f}; beside it: pictures "
                  f"{split.get('pictures', 0):.3f}, writing {split.get('writing', 0):.3f}; "
                  f"{split.get('warm', 0):.0f} of {split.get('timed', 0)} kernels warm")
            if "fill" in split:
                detail = ", ".join(f"{k} {split.get(k, 0):.3f}" for k in PARTS[7:])
                print(f"  the slot besides cells and probe, per submission: {detail}")
            if run.get("run"):
                account = run["run"]
                print(f"  the run ({run['seconds']:.1f} s): start-up until the first slot {account['startup']:.1f} s, "
                      f"idle sandbox time {account['idle_slots']:.1f} s (per sandbox), writer after the last slot "
                      f"{account['writer_tail']:.1f} s, exit {account['exit']:.1f} s")
    same = all(run.get("same_scores", True) for run in runs.values() if isinstance(run, dict)) and \
        all(v.get("same_scores") is not False for v in runs.get("per_call", {}).values())
    print(f"same scores in every xaigrade run: {same}")
    if plain and "rerun" in runs:
        print(f"speed-up of xaigrade over nbgrader, every cell run by both, one call: "
              f"{fig['rerun: x faster than nbgrader, all']:.2f}x (target >= 5x)")
    print(f"load average before / after: {meta['load_before'][0]} / {meta['load_after'][0]}")


def compare(old: dict, new: dict) -> None:
    """Every figure both runs have: old, new and how it changed (seconds: old/new = x faster)."""
    print(f"# compare: old {old['meta']['date']} (git {old['meta'].get('git')}, load {old['meta']['load_before'][0]}) "
          f"-> new {new['meta']['date']} (git {new['meta'].get('git')}, load {new['meta']['load_before'][0]})")
    print(f"{'figure':<58} {'old':>9} {'new':>9}  change")
    for name in [k for k in new["figures"] if k in old["figures"]]:
        a, b = old["figures"][name], new["figures"][name]
        if "x faster" in name or "share" in name:
            change = f"{b / a:.2f}x" if a else ""
        else:
            change = f"{a / b:.2f}x faster" if b else ""
        print(f"{name:<58} {a:>9.3f} {b:>9.3f}  {change}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assignments", nargs="*", default=list(registered_exercises()))
    parser.add_argument("--copies", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="the full solution per assignment only, 2 hidden sets")
    parser.add_argument("--at-once", type=int, default=None, help="xaigrade grade --at-once (default: the setting)")
    parser.add_argument("--skip-nbgrader", action="store_true", help="only xaigrade (class-size runs)")
    parser.add_argument("--class-size", action="store_true",
                        help="only prepare and one call of all assignments, the default way (class-size runs)")
    parser.add_argument("--modes", nargs="+", choices=("cold", "rerun", "kept", "per-call", "at-once-1"),
                        help="only these xaigrade runs (default: all; prepare always runs)")
    parser.add_argument("--repeat", type=int, default=1, help="run rerun/kept this many times (the spread)")
    parser.add_argument("--hidden-sets", type=int, default=None, help="K hidden sets per assignment (default: the "
                        "setting's; 2 with --quick)")
    parser.add_argument("--keep", default=None, metavar="DIR", help="keep the course secret and the reference cache "
                        "in DIR across runs (prepare then finds the sets computed by an earlier run)")
    parser.add_argument("--json", default=None, metavar="FILE", help="write the result here (for --compare)")
    parser.add_argument("--live", action="store_true",
                        help="run the working tree as it is (default: a snapshot taken at the start)")
    parser.add_argument("--compare", nargs="+", metavar="JSON",
                        help="OLD [NEW]: compare a run with an earlier one (NEW given: no run, compare the files)")
    args = parser.parse_args()
    if args.compare and len(args.compare) > 1:
        compare(*(json.loads(Path(p).read_text()) for p in args.compare[:2]))
        sys.exit(0)
    outcome = main(args)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(outcome, indent=1))
        print(f"result: {args.json}")
    if args.compare:
        print()
        compare(json.loads(Path(args.compare[0]).read_text()), outcome)
