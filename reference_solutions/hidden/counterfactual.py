"""Hidden cases of the counterfactual exercise.

Per hidden set (seed): two scenes with target classes on the embedded Mini-VGG (64x64, the second one
float64 so the dtype contract bites), and two on a small CNN whose random weights come from the seed
(40x40 input, 5 classes: another size and number of classes, which the notebook never shows); difference
maps of other shapes, one without the batch axis.

The pairs are drawn from seeded candidates and each one is verified here, by running the reference and
the known-wrong variants on it (their runs are remembered by the reference module, so the reference
computation that follows reuses them):
  * the reference flips the pair within its budget, with a margin (target probability at least
    FLIP_MARGIN above every other class), and the target is not already predicted;
  * every known mistake a check names loses that check on some case of the set (no blind spot), and on
    the first case where it loses, its result is told apart by the check's matcher from every other
    mistake the check names and from an unchanged image: there it can be named, and nothing else is;
  * every known mistake a check does not name passes it on every case (but GENERIC_ALLOWED), so each
    mistake loses the same checks, with its own message, on every set;
  * the case stays where the task's formula is numerically sane: the target probability never falls below
    P_FLOOR along the reference's run, and every correct alternative (``reference_solutions/alternatives``:
    ``-log p`` by hand, Keras' loss object and functional loss, an epsilon of 1e-10 in the log, ...) passes every check
    on it (the literal one here, on each candidate; all of them on the chosen set, ``references.hidden_set``).
    A correct solution never loses a point for a case the public ones do not prepare it for.
The cases are taken in order, each the first candidate that keeps these properties; a set that still has a
blind spot after the last candidate is returned as it is (``grading.hidden_set`` then tries the next seed).
"""

from __future__ import annotations

import numpy as np

from xaikit.selfcheck.compare import fails_clearly
from xaikit.selfcheck.core import Case, Check
from xaikit.selfcheck.exercises.counterfactual import ANSWERS_CASE, cf_cases, diffmap_cases

# Budgets (steps, lr, distance_weight): every step is one of the student's eager steps in the probe (80-100 ms in
# the sandbox), so as few as keep the guarantees above. Measured on the tests' 8 sets and seed 20261125 (issue 24):
# the reference has p_t > 0.5 after 1-3 updates on every chosen pair, the Mini-VGG slots take the same scenes
# with 3, 4, 6, 8 or 12 steps; the small CNN's need 5: at 4, stopping before the flip and the missing distance term no
# longer lose cf.proximity on set 1 (the reference's later steps pull the image back towards the original, and a
# history recorded after the updates shows only once p_t falls back), 27 candidates tried. One step of margin each.
EMBEDDED_BUDGET = (4, 0.1, 0.05)  # steps, lr, distance_weight (was 40)
EMBEDDED_DTYPES = (np.float32, np.float64)
SMALL_SIZE, SMALL_CLASSES = 40, 5
SMALL_BUDGET = (6, 0.5, 0.2)  # (was 30)
FLIP_MARGIN = 0.2
CANDIDATES_PER_CASE = 6  # scenes tried per case before the best clean one is taken without every mistake shown
SLOT_ORDER = (2, 3, 0, 1)  # small CNN, small CNN, Mini-VGG float32, Mini-VGG float64 (see choose_pairs)
LAST_SLOT_PATIENCE = 4  # the last slot must show what the others left out: it may try 4x as many
MAX_CANDIDATES_PER_CASE = 40  # never a case that is not clean (unfair or misnaming): past this, the set is refused
# (check, mistake) pairs exempt from "a mistake the check does not name passes it": softmax applied twice leaves
# the target probability flat or falling on about half the Mini-VGG pairs; the history check's own message
# (the probability does not rise) says what is off, and requiring either outcome would reject half the scenes
GENERIC_ALLOWED = {("cf.history", "softmax_twice")}
FIRST_TRIED = ("no_distance_term", "no_clipping", "towards_predicted_class")  # see _verify
PUBLIC_SCENES = (11, 1, 515374)  # the notebook's and the public cases' scenes are never hidden ones
# The lowest target probability a case may reach along the reference's run. Below it the correct ways of writing
# the loss part: float32 softmax outputs underflow to 0 (-log p by hand gives inf/NaN, seen from p_t ~ 1e-30 on),
# Keras' cross-entropy without the logits behind the softmax clips p at 1e-7 (no gradient below), an epsilon in
# the log flattens the loss. At and above it they agree within the checks' tolerances (tests/test_fairness.py;
# an epsilon of 1e-10 is correct work there, ``alternatives.log_with_epsilon``), while the common 1e-7 is a known
# mistake (``epsilon_in_log``): it shows only on Mini-VGG pairs that start near the floor (measured on 36
# candidates: caught at 2-68x the image tolerance on 7 of the 25 that stay above the floor, all starting below
# 3e-5; 1e-10 used at most 0.06 of it), so the Mini-VGG slots, chosen last, look for one. The public Mini-VGG case
# starts just above the floor (PUBLIC_EMBEDDED), so the self-check meets the hardest conditioning the hidden sets use.
P_FLOOR = 1e-6
DIFFMAP_SHAPES = [((1, 48, 40, 3), np.float32), ((36, 52, 3), np.float64)]

# what the builder tried for the last seed (read by the tests and the benchmark's report)
LAST_BUILD: dict = {}


def build_hidden_cases(seed: int, checks: list[Check]) -> list[Case]:
    """``checks``: the grader's checks with the known mistakes each names (the pairs must show them)."""
    embedded, small = choose_pairs(seed, checks)
    return [*cf_cases(embedded, small), *diffmap_cases(np.random.default_rng(seed), DIFFMAP_SHAPES), ANSWERS_CASE,
            *metrics_hidden_cases(seed)]


def _candidates(rng, model_name: str, size: int):
    """Endless seeded (scene, target) candidates whose target the model does not already predict."""
    from xaikit.keras_models import load_model
    from xaikit.selfcheck.exercises.counterfactual import _scene_image

    model, names = load_model(model_name)
    while True:
        scene = int(rng.integers(100, 1_000_000))
        if scene in PUBLIC_SCENES:
            continue
        probs = np.asarray(model(_scene_image(scene, size), training=False))[0]
        others = [c for c in range(len(names)) if c != int(np.argmax(probs))]
        target = int(rng.choice(others))
        if probs[target] >= P_FLOOR:  # (cheap: most Mini-VGG scenes give the other classes far less)
            yield scene, target


def choose_pairs(seed: int, checks: list[Check]):
    """(embedded pairs, (small model, small pairs)) for ``seed``, verified as the module docstring says
    against ``checks`` (the grader's, with their diagnoses and matchers)."""

    rng = np.random.default_rng([int(seed), 14])
    small_model = f"small_cnn:{1000 + int(rng.integers(1_000_000))}:{SMALL_SIZE}:{SMALL_CLASSES}"
    slots = [("embedded", 64, EMBEDDED_BUDGET, dtype) for dtype in EMBEDDED_DTYPES] + \
            [(small_model, SMALL_SIZE, SMALL_BUDGET, np.float32)] * 2
    streams = {"embedded": _candidates(np.random.default_rng([int(seed), 14, 1]), "embedded", 64),
               small_model: _candidates(np.random.default_rng([int(seed), 14, 2]), small_model, SMALL_SIZE)}
    cf_checks = [check for check in checks if check.probe == "probe_cf"]
    named = {check.id: set(check.variants) for check in cf_checks}
    lost = {check.id: set() for check in cf_checks}  # the variants already caught (and named) by an earlier case
    chosen, tried = [None] * len(slots), 0
    # the small CNN's slots first: whether they show a mistake depends on the seed's random model (stopping before
    # the flip misses the target on 0 of 25 usable pairs of some models, 10 of 25 of others); the Mini-VGG's, where
    # every mistake shows on some pairs (stopping before the flip: 5 of 21), come last and complete the set
    for position, index in enumerate(SLOT_ORDER):
        model_name, size, (steps, lr, weight), dtype = slots[index]
        last, pick, fallback = position == len(slots) - 1, None, None
        for attempt in range(MAX_CANDIDATES_PER_CASE):
            if attempt >= CANDIDATES_PER_CASE * (LAST_SLOT_PATIENCE if last else 1) and fallback is not None:
                break
            scene, target = next(streams[model_name])
            tried += 1
            verdict = _verify(_case(model_name, size, scene, target, steps, lr, weight, dtype), cf_checks, lost)
            if verdict is None:
                continue  # the reference does not flip it, leaves the sane range, or correct work fails it
            newly, clean = verdict
            complete = all(lost[c] | newly[c] == named[c] for c in lost)
            if clean and (complete or not last):
                pick = (scene, target, newly)
                break
            gain = sum(map(len, newly.values()))
            if clean and (fallback is None or gain > fallback[3]):
                fallback = (scene, target, newly, gain)
        if pick is None:  # no candidate had everything: the best clean one (the tests report what it lacks)
            if fallback is None:
                raise RuntimeError(f"counterfactual hidden set {seed}: no fair candidate for slot {index} in "
                                   f"{MAX_CANDIDATES_PER_CASE} tries")
            pick = fallback[:3]
        scene, target, newly = pick
        for check_id, variants in newly.items():
            lost[check_id] |= variants
        chosen[index] = (scene, target, steps, lr, weight, dtype)
    LAST_BUILD.clear()
    LAST_BUILD.update(seed=seed, tried=tried, small_model=small_model,
                      blind=sorted(f"{v} in {c}" for c in lost for v in named[c] - lost[c]))
    embedded = [(s, t, n, lr, w) + ((d,) if d is not np.float32 else ()) for s, t, n, lr, w, d in chosen[:2]]
    small = [(s, t, n, lr, w) for s, t, n, lr, w, _ in chosen[2:]]
    return embedded, (small_model, small)


def _case(model_name, size, scene, target, steps, lr, weight, dtype) -> Case:
    from xaikit.selfcheck.exercises.counterfactual import _cf_case

    label = " (float64)" if dtype == np.float64 else ""
    return _cf_case("candidate", model_name, scene, size, target, steps, lr, weight, label, dtype)


def _verify(case, cf_checks, lost):
    """None if the reference does not flip the pair with a margin; else ({check: variants that lose it here
    for the first time}, whether each of them is told apart there from the check's other candidates)."""
    from reference_solutions import counterfactual as reference
    from xaikit.selfcheck.exercises.counterfactual import probe_cf

    namespace = dict(vars(reference))
    expected = probe_cf(namespace, case.inputs)
    if not _flips(expected, case) or np.min(expected["history_target_prob"]) < P_FLOOR:
        return None
    # every variant the checks name (the reference computation runs them all on every case anyway), the ones
    # that most often pass a check they must not fail first: a candidate is dropped at its first violation
    names = sorted({v for check in cf_checks for v in check.variants}, key=lambda v: (v not in FIRST_TRIED, v))
    results = {}
    for variant_id in names:
        result = results[variant_id] = probe_cf({**namespace, **reference.VARIANTS[variant_id]}, case.inputs)
        # a mistake the check does not name passes it (else it would get the check's generic message)
        if any(variant_id not in check.variants and (check.id, variant_id) not in GENERIC_ALLOWED
               and check.criterion(result, expected, case) is not None for check in cf_checks):
            return {check.id: set() for check in cf_checks}, False
    if not _fair(case, cf_checks, namespace, expected):
        return None
    unchanged = _unchanged_result(expected, case)
    newly, clean = {}, True
    for check in cf_checks:
        newly[check.id] = set()
        for variant_id in check.variants:
            if variant_id in lost[check.id] or not fails_clearly(check.criterion, results[variant_id], expected, case):
                continue  # (just past a tolerance does not count: correct work written otherwise may land there)
            newly[check.id].add(variant_id)
            student = results[variant_id]
            others = [results[u] for u in check.variants if u != variant_id]
            clean &= check.shows_variant(student, student, case)
            clean &= not any(check.shows_variant(student, other, case) for other in [*others, unchanged])
    return newly, clean


def _fair(case, cf_checks, namespace, expected) -> bool:
    """The task's formula written literally (-log p by hand on the softmax output) passes every check on the case.
    (Every other correct alternative is run on the chosen set by ``references.hidden_set``, which refuses a set
    where one loses a point; this one, the most fragile, is run on each candidate, at 0.8 s a Mini-VGG case.)"""
    from reference_solutions.alternatives.counterfactual import ALTERNATIVES, TASK_FORMULA
    from xaikit.selfcheck.exercises.counterfactual import probe_cf

    for overrides in (ALTERNATIVES[TASK_FORMULA],):
        try:
            result = probe_cf({**namespace, **overrides}, case.inputs)
        except Exception:  # noqa: BLE001 - correct work that crashes on the case: the case is unfair
            return False
        if any(check.criterion(result, expected, case) is not None for check in cf_checks):
            return False
    return True


def _flips(expected, case) -> bool:
    from xaikit.keras_models import load_model

    if int(expected.get("pred_class", -1)) != case.inputs["target"]:
        return False
    model, _ = load_model(case.inputs["model"])
    probs = np.asarray(model(np.asarray(expected["cf"], np.float32), training=False))[0]
    target = case.inputs["target"]
    return float(probs[target] - np.max(np.delete(probs, target))) >= FLIP_MARGIN


def _unchanged_result(expected, case) -> dict:
    """What a function that returns the image unchanged gives (history: the start values at every step)."""
    image = np.asarray(case.inputs["image"])
    steps = case.inputs["steps"]
    result = {**expected, "cf": image.astype(np.float32), "l1": 0.0, "l2": 0.0, "sparsity": 0.0,
              "min": float(image.min()), "max": float(image.max())}
    for key in ("loss", "target_prob", "distance"):
        result[f"history_{key}"] = np.full(steps, float(np.atleast_1d(expected[f"history_{key}"])[0]))
    return result


# --- tasks 5 and 6: counterfactual_metrics and soft_threshold (no optimisation: triples and arrays built directly)
METRICS_SMALL = (40, 5)  # size and classes of the set's own small CNN for the metrics (seeded apart from the pairs')
SOFT_SHAPES = [((1, 40, 48, 3), np.float32), ((36, 52, 3), np.float64)]


def metrics_hidden_cases(seed: int) -> list[Case]:
    """Per set: on the Mini-VGG (float32) and on a small CNN with the set's random weights (float64), a
    counterfactual that reaches its target, one flipped to another class, one whose class stays (each verified by
    the model, with clear classes and every pixel's mean change away from 1/255: ``metrics_cases``); and
    soft thresholding on two arrays of other shapes and dtypes."""
    from xaikit.selfcheck.exercises.counterfactual import metrics_cases, soft_threshold_cases

    rng = np.random.default_rng([int(seed), 26, 3])
    size, classes = METRICS_SMALL
    small = f"small_cnn:{1000 + int(rng.integers(1_000_000))}:{size}:{classes}"
    return [*metrics_cases(rng, "embedded", 64, 6, prefix="metrics"),
            *metrics_cases(rng, small, size, classes, dtype=np.float64, prefix="metrics_small"),
            *soft_threshold_cases(rng, SOFT_SHAPES)]
