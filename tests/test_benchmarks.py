"""The benchmark scripts run on tiny sizes and print their figures (no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from autograder.config import PROJECT_ROOT

BENCHMARKS = PROJECT_ROOT / "benchmarks"


@pytest.mark.parametrize("script, args, expected", [
    ("pdp_reference.py", ["--quick"], "ratio"),
    ("gradcam_reference.py", ["--quick"], "reference / grad-cam package"),
    ("grading_throughput.py", ["--assignments", "pdp", "--quick"], "speed-up of xaigrade over nbgrader"),
    ("check_latency.py", ["--assignments", "pdp", "--repeat", "0"], "pdp: cold"),
    ("cpu_isolation.py", ["--quick"], "hog, a cpu weight per job"),
    ("runner_overheads.py", ["--quick"], "kernel ready, QuickReadyClient"),
    ("probe_costs.py", ["--assignments", "pdp", "--repeat", "1"], "hidden cases; probe cell"),
])
def test_benchmark_script_runs_and_prints_figures(script, args, expected):
    result = subprocess.run([sys.executable, str(BENCHMARKS / script), *args], capture_output=True, text=True,
                            cwd=BENCHMARKS, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert expected in result.stdout
    assert "# machine:" in result.stdout


def test_hidden_sets_benchmark_runs_and_prints_figures():
    """benchmarks/hidden_sets.py on one set of pdp (--quick): its table row and the ratio line (it prints no
    machine line)."""
    result = subprocess.run([sys.executable, str(BENCHMARKS / "hidden_sets.py"), "--quick"], capture_output=True,
                            text=True, cwd=BENCHMARKS, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "candidates/set" in result.stdout
    row = next(line for line in result.stdout.splitlines() if line.startswith("pdp "))
    one_set, candidates, total = (float(value) for value in row.split()[1:4])
    assert one_set > 0 and candidates >= 1 and total > 0
    assert "ratio: K sets cost" in result.stdout


def test_throughput_results_compare_without_running(tmp_path):
    """--compare OLD NEW reads two results and prints each figure both have, old and new, and the change."""
    import json

    figures = {"rerun: s per submission, all": 2.0, "rerun: x faster than nbgrader, all": 4.0}
    meta = {"date": "2026-12-07 12:00", "git": "abc", "load_before": [0.1, 0.1, 0.1]}
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps({"meta": meta, "figures": figures}))
    new.write_text(json.dumps({"meta": meta, "figures": {k: v * (0.5 if "s per" in k else 2) for k, v in figures.items()}}))
    result = subprocess.run([sys.executable, str(BENCHMARKS / "grading_throughput.py"), "--compare", str(old), str(new)],
                            capture_output=True, text=True, cwd=BENCHMARKS, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = {line.split("  ")[0].strip(): line for line in result.stdout.splitlines()}
    assert "2.00x faster" in lines["rerun: s per submission, all"]  # seconds: old / new
    assert "2.00x" in lines["rerun: x faster than nbgrader, all"]  # a ratio: new / old

