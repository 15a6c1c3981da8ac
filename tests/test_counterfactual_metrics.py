"""Tasks 5 and 6 of the counterfactual exercise (issue 26, task 3): ``counterfactual_metrics`` and ``soft_threshold``.

The reference against independent computations (hand-made arrays whose metrics are known, and soft thresholding as
the minimiser of ½(z - v)² + τ|z| found by brute force); the known mistakes lose exactly their checks with their own
message and the correct alternatives get full marks, on the public cases and on every hidden set of the tests' key;
the hidden metrics cases are what the builder promises (every kind, clear classes, no pixel near the threshold), and
building them runs no optimisation."""

from __future__ import annotations

import xaikit  # noqa: F401  (torch/triton before TensorFlow)

import functools

import numpy as np
import pytest

from autograder.checks import Exercise, evaluate
from autograder.fairness import correct_alternatives
from autograder.references import compute_reference, reference_module
from helpers import HIDDEN_SETS, all_hidden_sets, expectations, probe_all
from reference_solutions import counterfactual as reference

NAME = "counterfactual"
PROBES = ("probe_metrics", "probe_soft_threshold")
FUNCTIONS = ("counterfactual_metrics", "soft_threshold")


class FixedModel:
    """A 'model' that predicts the given probabilities for any input (the reference only reads its argmax)."""

    def __init__(self, probs):
        self.probs = np.asarray([probs], dtype=np.float32)
        self.calls = []

    def __call__(self, x, training=False):
        self.calls.append(np.array(x))
        return self.probs


# --- the reference against independent computations -------------------------------------------------------

def test_the_metrics_of_a_hand_made_counterfactual():
    original = np.zeros((1, 4, 5, 3), dtype=np.float32)
    counterfactual = original.copy()
    counterfactual[0, 0, 0] = [0.3, 0.3, 0.3]        # mean 0.3: changed
    counterfactual[0, 1, 1] = [0.009, 0.0, 0.0]      # one channel 0.009 > 1/255, mean 0.003 < 1/255: not changed
    counterfactual[0, 2, 2] = [0.001, 0.001, 0.001]  # mean 0.001: not changed
    counterfactual[0, 3, 4] = [0.0, 0.0, 0.6]        # mean 0.2: changed
    values = [0.3] * 3 + [0.009] + [0.001] * 3 + [0.6]
    metrics = reference.counterfactual_metrics(FixedModel([0.1, 0.7, 0.2]), original, counterfactual, 1)
    assert metrics["valid"] is True
    assert metrics["l1"] == pytest.approx(sum(values), rel=1e-6)
    assert metrics["l2"] == pytest.approx(sum(v * v for v in values) ** 0.5, rel=1e-6)
    assert metrics["sparsity"] == pytest.approx(2 / 20)
    assert set(metrics) == {"valid", "l1", "l2", "sparsity"}
    # a class change to another class than the target is not valid; no change at all gives zeros
    assert reference.counterfactual_metrics(FixedModel([0.1, 0.2, 0.7]), original, counterfactual, 1)["valid"] is False
    same = reference.counterfactual_metrics(FixedModel([0.1, 0.7, 0.2]), original, original, 2)
    assert same == {"valid": False, "l1": 0.0, "l2": 0.0, "sparsity": 0.0}


def test_the_metrics_leave_their_inputs_as_they_are():
    rng = np.random.default_rng(3)
    original = rng.uniform(0, 1, (1, 6, 6, 3)).astype(np.float32)
    counterfactual = np.clip(original + rng.normal(0, 0.05, original.shape), 0, 1).astype(np.float32)
    kept = original.copy(), counterfactual.copy()
    reference.counterfactual_metrics(FixedModel([0.5, 0.5]), original, counterfactual, 0)
    assert np.array_equal(original, kept[0]) and np.array_equal(counterfactual, kept[1])


def test_soft_thresholding_is_the_proximal_operator_of_the_l1_norm():
    """S_τ(v) minimises ½(z - v)² + τ|z| (checked on a fine grid of z for each v)."""
    rng = np.random.default_rng(7)
    threshold = 0.3
    values = np.concatenate([rng.normal(0, 0.5, 40), [0.0, 0.3, -0.3, 1.0, -1.0]])
    grid = np.linspace(-2, 2, 400_001)
    for v in values:
        brute = grid[np.argmin(0.5 * (grid - v) ** 2 + threshold * np.abs(grid))]
        assert float(reference.soft_threshold(np.array([v]), threshold)[0]) == pytest.approx(brute, abs=2e-5)
    delta = rng.normal(0, 1, (2, 3, 4)).astype(np.float32)
    kept = delta.copy()
    out = reference.soft_threshold(delta, 0.5)
    assert out.shape == delta.shape and np.array_equal(delta, kept)
    assert np.all(out[np.abs(delta) <= 0.5] == 0) and np.all(np.abs(out) <= np.abs(delta))


# --- the hidden metrics cases: built without optimisation, every kind, clear classes, nothing near the threshold ----

def test_the_hidden_metrics_cases_are_what_the_builder_promises(monkeypatch):
    from reference_solutions import counterfactual as module
    from reference_solutions.hidden.counterfactual import metrics_hidden_cases
    from xaikit.keras_models import load_model
    from xaikit.selfcheck.exercises._counterfactual_metrics import CHANGE_THRESHOLD, CLASS_MARGIN, THRESHOLD_MARGIN

    def no_optimisation(*args, **kwargs):
        raise AssertionError("the metrics cases must not run an optimisation")

    monkeypatch.setattr(module, "_run", no_optimisation)
    for seed in (11, 12):
        cases = metrics_hidden_cases(seed)
        metrics = [c for c in cases if c.probe == "probe_metrics"]
        assert {c.id for c in metrics} >= {"metrics_reached", "metrics_flipped", "metrics_unchanged",
                                           "metrics_small_unchanged"}
        assert len([c for c in cases if c.probe == "probe_soft_threshold"]) == 2
        for case in metrics:
            model, _ = load_model(case.inputs["model"])
            original, counterfactual = case.inputs["original"], case.inputs["counterfactual"]
            per_pixel = np.abs(counterfactual.astype(np.float64) - original.astype(np.float64)).mean(axis=-1)
            assert np.min(np.abs(per_pixel - CHANGE_THRESHOLD)) >= THRESHOLD_MARGIN * 0.99
            assert 0 <= counterfactual.min() and counterfactual.max() <= 1
            before, after = (np.sort(np.asarray(model(x.astype(np.float32), training=False))[0])[::-1]
                             for x in (original, counterfactual))
            assert before[0] - before[1] >= CLASS_MARGIN and after[0] - after[1] >= CLASS_MARGIN
            predicted = [int(np.argmax(np.asarray(model(x.astype(np.float32), training=False))[0]))
                         for x in (original, counterfactual)]
            kind = case.id.rsplit("_", 1)[1]
            target = case.inputs["target"]
            assert {"reached": predicted[1] == target != predicted[0],
                    "flipped": predicted[1] != predicted[0] and target not in predicted,
                    "unchanged": predicted[1] == predicted[0] != target}[kind], case.label


# --- variants and alternatives: public cases and every hidden set ---------------------------------------------

def _ours(checks):
    return [check for check in checks if check.probe in PROBES]


class _OurChecks:
    """The exercise with only the checks of tasks 5 and 6 (the others select cases these tests do not run)."""

    def __init__(self, exercise):
        self._exercise = exercise
        self.checks = _ours(exercise.checks)

    def __getattr__(self, name):
        return getattr(self._exercise, name)


def _verdicts(exercise, cases, expected, variants, namespace):
    results = probe_all(exercise, cases, namespace)
    return {v.check_id: v for v in evaluate(_OurChecks(exercise), cases, results, expected, variants, "de")}


@functools.lru_cache(maxsize=None)
def public_setup():
    from autograder.config import XaiGrade

    exercise = Exercise(NAME)
    cases = [c for c in exercise.build_cases(XaiGrade().public_seed, public=True) if c.probe in PROBES]
    expected, variants = compute_reference(exercise, cases)
    return exercise, cases, expected, variants


def _our_variants():
    return sorted(v for v, overrides in reference.VARIANTS.items() if set(overrides) & set(FUNCTIONS))


def _our_alternatives():
    return {a: o for a, o in correct_alternatives(Exercise(NAME)).items() if set(o) & set(FUNCTIONS)}


def test_each_function_has_three_mistakes_and_four_alternatives():
    for function in FUNCTIONS:
        assert len([v for v in _our_variants() if function in reference.VARIANTS[v]]) >= 3, function
        assert len([a for a, o in _our_alternatives().items() if function in o]) >= 4, function


def _assert_mistakes_named(exercise, cases, expected, variants, where):
    table = expectations(NAME)
    wrong = []
    namespace = dict(vars(reference_module(exercise)))
    for variant_id in _our_variants():
        verdicts = _verdicts(exercise, cases, expected, variants, {**namespace, **reference.VARIANTS[variant_id]})
        failed = {check_id for check_id, v in verdicts.items() if not v.passed}
        if failed != table.losses[variant_id]:
            wrong.append(f"{where}: {variant_id} loses {sorted(failed)}")
        for check_id in failed:
            if verdicts[check_id].message_key != variant_id or verdicts[check_id].score != 0:
                wrong.append(f"{where}: {variant_id} in {check_id} gets {verdicts[check_id].message_key}")
    reference_verdicts = _verdicts(exercise, cases, expected, variants, namespace)
    wrong += [f"{where}: the reference loses {k}" for k, v in reference_verdicts.items() if not v.passed]
    assert wrong == []


def _assert_alternatives_pass(exercise, cases, expected, variants, where):
    namespace = dict(vars(reference_module(exercise)))
    wrong = []
    for alternative_id, overrides in _our_alternatives().items():
        verdicts = _verdicts(exercise, cases, expected, variants, {**namespace, **overrides})
        wrong += [f"{where}: {alternative_id} loses {k} ({v.message})" for k, v in verdicts.items() if not v.passed]
    assert wrong == []


def test_each_mistake_loses_exactly_its_checks_with_its_message_on_the_public_cases():
    _assert_mistakes_named(*public_setup(), "public")


def test_every_alternative_gets_full_marks_on_the_public_cases():
    _assert_alternatives_pass(*public_setup(), "public")


def _hidden(index):
    exercise, cases, expected, variants = all_hidden_sets(NAME)[index]
    ours = [c for c in cases if c.probe in PROBES]
    return exercise, ours, {c.id: expected[c.id] for c in ours}, variants


@pytest.mark.parametrize("index", range(HIDDEN_SETS), ids=lambda i: f"set{i + 1}")
def test_each_mistake_loses_exactly_its_checks_with_its_message_on_every_hidden_set(index):
    _assert_mistakes_named(*_hidden(index), f"set {index + 1}")


@pytest.mark.parametrize("index", range(HIDDEN_SETS), ids=lambda i: f"set{i + 1}")
def test_every_alternative_gets_full_marks_on_every_hidden_set(index):
    _assert_alternatives_pass(*_hidden(index), f"set {index + 1}")
