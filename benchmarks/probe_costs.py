"""What the hidden cases cost: per exercise and hidden case, the probe's time in the sandbox (the full example
solution, graded through the warm sandbox as `xaigrade grade` does; per case from the probe's own marks) beside the
reference's time on the same case in this process, and the fixed part of the probe (loading the cases, the
watch, writing the results). For the counterfactual, also seconds per optimisation step of the student's loop.

    ../.venv/bin/python probe_costs.py [--assignments pdp gradcam clip counterfactual] [--repeat 2] [--json OUT]
    ../.venv/bin/python probe_costs.py --watch [--steps 20]

The cases are those of hidden set 1 of a benchmark key (the sizes are what matters, not the draw).
``--watch``: what the kernel's run record (runner/runtime.py) costs the probe: CPU seconds per step of the
counterfactual's eager TensorFlow loop (the full solution's, on the Mini-VGG; and a torch backward of the Grad-CAM
model) in a process of its own, before and inside the probe marks: without the runtime, with it while no library
method's code is loaded (the probe's thread runs unprofiled), and with scikit-learn's partial_dependence loaded
before it (the profile on, as in pdp's kernels). CPU time, so that other work on the machine hardly moves it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from _common import ROOT, header

from autograder.exercises import assignments as registered_exercises  # noqa: E402

SECRET = b"probe cost benchmark"


def sandbox_case_seconds(exercise, notebook: Path, cases, expected, variants, settings, repeat: int) -> dict:
    """case id -> [seconds] of the probe's call in the sandbox, from the marks it leaves (``<case>.started`` before
    the call, ``<case>.json`` after it), and 'probe' -> [seconds] of the whole probe cell."""
    from autograder import submission_run
    from autograder.grading import grade_notebook

    seen: dict = {}
    real_read = submission_run._read_run

    def read_run(job, *args, **kwargs):
        marks = {}
        results = job.work / "results"
        for path in results.iterdir() if results.is_dir() else ():
            case_id, _, kind = path.name.rpartition(".")
            marks.setdefault(case_id, {})[kind] = path.stat().st_mtime_ns / 1e9
        for case_id, at in marks.items():
            if "started" in at and "json" in at:
                seen.setdefault(case_id, []).append(at["json"] - at["started"])
        return real_read(job, *args, **kwargs)

    submission_run._read_run = read_run
    try:
        release = ROOT / "release" / exercise.name
        zygote = submission_run.warm_process(exercise, release, settings)
        if zygote is not None:
            zygote.wait_ready()  # (its imports are no probe cost)
        for _ in range(repeat):
            result = grade_notebook(exercise, notebook, "full_solution", release, cases, expected, variants, settings,
                                    private_paths=[])
            seen.setdefault("probe", []).append(result.timings.get("probe", 0.0))
            seen.setdefault("student_cells", []).append(result.timings.get("student_cells", 0.0))
            seen.setdefault("score", []).append(result.score)
    finally:
        submission_run._read_run = real_read
    return seen


def reference_case_seconds(exercise, cases) -> dict:
    from autograder.references import call_probe, pin_threads, reference_module

    pin_threads()
    namespace = dict(vars(reference_module(exercise)))
    seconds = {}
    for case in cases:
        call_probe(exercise, case, namespace)  # (warm: models loaded, functions traced)
        started = time.perf_counter()
        call_probe(exercise, case, namespace)
        seconds[case.id] = time.perf_counter() - started
    return seconds


WATCH_SCRIPT = r"""
import json, os, statistics, sys, time
for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
    os.environ[name] = "1"  # (as in the sandbox)
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
mode, steps = sys.argv[1], int(sys.argv[2])
sys.path.insert(0, sys.argv[3])  # (this checkout's runtime)
import numpy as np, xaikit, torch  # (torch and triton before TensorFlow)
torch.set_num_threads(1)
import tensorflow as tf, keras
from xaikit.keras_models import load_model
from xaikit.models import load_image_classifier
from xaikit.scenes import make_scene
model, _ = load_model("embedded")
image = make_scene(3).image[None].astype(np.float32) / 255.0
net, _, preprocess = load_image_classifier("embedded")
batch = torch.from_numpy(image.transpose(0, 3, 1, 2).copy())  # (the values do not matter for the cost)

def counterfactual_steps(count, target_class=1, lr=0.002, distance_weight=0.5):
    original = tf.constant(image)
    x = tf.Variable(original)
    target = tf.constant([target_class])
    for _ in range(count):
        with tf.GradientTape() as tape:
            probs = model(x, training=False)
            cross_entropy = keras.losses.sparse_categorical_crossentropy(target, probs)[0]
            distance = tf.reduce_sum(tf.square(x - original))
            loss = cross_entropy + distance_weight * distance
        gradient = tape.gradient(loss, x)
        x.assign(tf.clip_by_value(x - lr * gradient, 0.0, 1.0))
        float(loss), float(probs[0, target_class]), float(distance)

def backward_steps(count):
    for _ in range(count):
        x = batch.clone().requires_grad_(True)
        torch.autograd.grad(net(x)[0, 1], x)

def cpu_ms(function):
    function(2)  # (warm: traced, allocated)
    runs = []
    for _ in range(3):
        started = time.process_time()
        function(steps)
        runs.append(1000 * (time.process_time() - started) / steps)
    return statistics.median(runs)

if mode == "armed":
    import sklearn.inspection  # noqa: F401  (as the pdp zygote does)
if mode != "none":
    from autograder.runner.runtime import startup_source
    assert sys.modules["autograder"].__file__.startswith(sys.argv[3]), sys.modules["autograder"].__file__
    exec(startup_source())
result = {"before": [cpu_ms(counterfactual_steps), cpu_ms(backward_steps)]}
sys.audit("xaigrade.probe", "start")
profiled = sys.getprofile() is not None
result["probe"] = [cpu_ms(counterfactual_steps), cpu_ms(backward_steps)]
sys.audit("xaigrade.probe", "end")
result["profiled"] = profiled
print("WATCH " + json.dumps(result))
"""


def watch_cost(steps: int) -> dict:
    """CPU ms per eager step, before and inside the probe marks, without the runtime / unarmed / armed."""
    import subprocess

    print(f"\nThe run record's cost: CPU ms per step (median of 3 x {steps}), each mode in a process of its own")
    print(f"  {'mode':<34} {'TF counterfactual step':>24} {'torch backward (Grad-CAM model)':>34}")
    found = {}
    for mode, label in (("none", "no runtime"), ("unarmed", "runtime, no library method loaded"),
                        ("armed", "runtime, sklearn.inspection loaded")):
        ran = subprocess.run([sys.executable, "-c", WATCH_SCRIPT, mode, str(steps), str(ROOT)], capture_output=True,
                             text=True, timeout=900, cwd=ROOT)
        line = next((text for text in ran.stdout.splitlines() if text.startswith("WATCH ")), None)
        if line is None:
            raise SystemExit(f"{mode}: {ran.stderr[-2000:]}")
        result = found[mode] = json.loads(line[6:])
        (tf_before, torch_before), (tf_probe, torch_probe) = result["before"], result["probe"]
        print(f"  {label:<34} {tf_before:>8.1f} -> {tf_probe:6.1f} in the probe {torch_before:>10.2f} -> "
              f"{torch_probe:6.2f} in the probe  (probe thread profiled: {result['profiled']})")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assignments", nargs="*", default=list(registered_exercises()))
    parser.add_argument("--repeat", type=int, default=2, help="sandbox runs per assignment (median)")
    parser.add_argument("--json", default=None, metavar="FILE")
    parser.add_argument("--watch", action="store_true", help="only the run record's cost per eager step (CPU time)")
    parser.add_argument("--steps", type=int, default=20, help="steps per timed run of --watch")
    args = parser.parse_args()
    if args.watch:
        header("The run record's cost per eager step (CPU time)")
        found = watch_cost(args.steps)
        if args.json:
            Path(args.json).write_text(json.dumps({"date": time.strftime("%Y-%m-%d %H:%M"), "load": os.getloadavg()[0],
                                                   "watch": found}, indent=1))
        return
    header("Probe cost per hidden case: in the sandbox (full example solution) and the reference in this process")
    import xaikit  # noqa: F401  (torch and triton before TensorFlow)
    from autograder.checks import Exercise
    from autograder.config import load_settings
    from autograder.references import choose_hidden_set, pin_threads

    settings = load_settings(ROOT)
    out = {"date": time.strftime("%Y-%m-%d %H:%M"), "load": os.getloadavg()[0], "exercises": {}}
    for name in args.assignments:
        exercise = Exercise(name)
        pin_threads()
        seed, (cases, expected, variants) = choose_hidden_set(exercise, SECRET, 0)
        notebook = ROOT / "examples" / "submissions" / "full_solution" / name / f"{name}.ipynb"
        sandbox = sandbox_case_seconds(exercise, notebook, cases, expected, variants, settings, args.repeat)
        reference = reference_case_seconds(exercise, cases)
        median = {key: statistics.median(values) for key, values in sandbox.items()}
        probe = median.get("probe", 0.0)
        per_case = sum(median.get(case.id, 0.0) for case in cases)
        print(f"\n{name}: {len(cases)} hidden cases; probe cell {probe:.3f} s in the sandbox (cases {per_case:.3f} s, "
              f"fixed part {probe - per_case:.3f} s: loading the cases, the watch, writing); student cells "
              f"{median.get('student_cells', 0.0):.3f} s; score {median.get('score', 0):g}")
        print(f"  {'case':<28} {'probe':<22} {'sandbox ms':>10} {'reference ms':>12} {'ratio':>6}")
        rows = {}
        for case in cases:
            in_sandbox, ours = median.get(case.id, float("nan")), reference[case.id]
            rows[case.id] = {"probe": case.probe, "sandbox": round(in_sandbox, 4), "reference": round(ours, 4),
                             "label": case.label}
            print(f"  {case.id:<28} {case.probe:<22} {1000 * in_sandbox:>10.1f} {1000 * ours:>12.1f} "
                  f"{in_sandbox / ours if ours else float('nan'):>6.1f}")
        steps = {case.id: case.inputs.get("steps") for case in cases if isinstance(case.inputs, dict)
                 and case.inputs.get("steps")}
        if steps:
            print("  per optimisation step (sandbox): " + ", ".join(
                f"{case_id} {1000 * median.get(case_id, 0.0) / (count * (2 if 'repeat' in case_id else 1)):.1f} ms "
                f"x {count}{' x 2 calls' if 'repeat' in case_id else ''}" for case_id, count in steps.items()))
        # the reference's history entry k belongs to the image after k updates: the first k with p_t > 0.5
        flips = {case.id: next((k for k, p in enumerate(expected[case.id]["history_target_prob"]) if p > 0.5), None)
                 for case in cases if "history_target_prob" in expected.get(case.id, {})}
        if flips:
            print("  reference: p_t > 0.5 after update " + ", ".join(
                f"{case_id} {k if k is not None else 'only at the end'}" for case_id, k in flips.items()))
        out["exercises"][name] = {"probe": round(probe, 3), "cases_total": round(per_case, 3),
                                  "student_cells": round(median.get("student_cells", 0.0), 3), "cases": rows,
                                  "steps": steps, "reference_p_above_half_after": flips}
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
        print(f"\nresult: {args.json}")


if __name__ == "__main__":
    sys.exit(main())
