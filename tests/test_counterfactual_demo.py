"""End to end through the sandbox: the four counterfactual example submissions, graded as `xaigrade demo`
grades them (hidden cases, sandboxed kernel, probe, diagnosis)."""

from __future__ import annotations

import pytest

from helpers import assert_example_totals, assert_example_verdicts, auto_points, grade_examples


NAME = "counterfactual"
POINTS = {"cf.validity": 2, "cf.proximity": 2, "cf.range_dtype": 1, "cf.input_unchanged": 1, "cf.reproducible": 1,
          "cf.history": 1, "cf.matches_reference": 2, "diffmap.shape": 1, "diffmap.values": 2,
          "answers.flipped": 1, "answers.new_class_name": 1, "metrics.validity": 1, "metrics.proximity": 2,
          "metrics.sparsity": 1, "soft_threshold.values": 2, "soft_threshold.input_unchanged": 1}
# student -> {check that fails: message key}; every other check gets full points with "passed".
EXPECTED = {
    "full_solution": {},
    "blank_release": {**{check: "not_implemented" for check in POINTS if not check.startswith("answers.")},
                      "answers.flipped": "answers_missing", "answers.new_class_name": "answers_missing"},
    "buggy_no_distance": {"cf.proximity": "no_distance_term", "cf.matches_reference": "no_distance_term",
                          "diffmap.values": "signed_difference", "answers.flipped": "flipped_wrong"},
    "buggy_in_place": {"cf.range_dtype": "no_clipping", "cf.input_unchanged": "modifies_input",
                       "cf.matches_reference": "no_clipping",  # writing in place does not change the result itself
                       "answers.flipped": "answers_no_change", "answers.new_class_name": "answers_no_change"},
    "buggy_metrics_flip": {"metrics.validity": "metrics_flipped_not_target",
                           "metrics.sparsity": "metrics_sparsity_per_value",
                           "soft_threshold.values": "soft_hard_threshold"},
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
