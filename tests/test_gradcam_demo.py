"""End to end through the sandbox: the four Grad-CAM example submissions, graded as `xaigrade demo` grades them."""

from __future__ import annotations

import pytest

from helpers import assert_example_totals, assert_example_verdicts, auto_points, grade_examples


NAME = "gradcam"
POINTS = {"weights.embedded": 1, "weights.random_cnns": 1, "grad_cam.shape_range": 1, "grad_cam.values": 2,
          "grad_cam.all_negative": 1, "grad_cam.class_dependence": 1, "grad_cam.layer": 1,
          "grad_cam.hooks_removed": 1, "grad_cam.model_unchanged": 1, "grad_cam.mode_restored": 1,
          "grad_cam.input_unchanged": 1, "overlay.values": 1, "saliency.values": 1, "saliency.input_unchanged": 1,
          "randomisation.maps": 1, "randomisation.correlations": 1, "randomisation.model_unchanged": 1}
# student -> {check that fails: message key}; every other check gets full points with "passed".
EXPECTED = {
    "full_solution": {},
    "blank_release": {check: "not_implemented" for check in POINTS},
    "buggy_hooks_nearest": {"grad_cam.values": "nearest_upsampling",
                            "grad_cam.hooks_removed": "hooks_left_registered",
                            "saliency.values": "saliency_no_abs",
                            "randomisation.correlations": "randomisation_pearson",
                            "randomisation.model_unchanged": "randomisation_caller_model"},
    "buggy_softmax_eval": {"weights.embedded": "softmax_instead_of_logit",
                           "weights.random_cnns": "softmax_instead_of_logit",
                           "grad_cam.values": "softmax_instead_of_logit",
                           "grad_cam.class_dependence": "softmax_instead_of_logit",
                           "grad_cam.mode_restored": "mode_not_restored"},
}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    return grade_examples(NAME, EXPECTED, tmp_path_factory.mktemp("course"))


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_example_gets_exactly_its_scores_and_messages(report, student):
    assert_example_verdicts(report[student][NAME], POINTS, EXPECTED[student])


def test_total_scores(report):
    assert sum(POINTS.values()) == auto_points(NAME)
    assert_example_totals(report, NAME, POINTS, EXPECTED)


def test_full_solution_runs_without_cell_errors(report):
    assert not [note for note in report["full_solution"][NAME].get("_notes", []) if "Fehler" in note]
