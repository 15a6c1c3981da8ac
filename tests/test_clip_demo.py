"""End to end through the sandbox: the six CLIP example submissions, graded as `xaigrade demo` grades them."""

from __future__ import annotations

import pytest

from helpers import assert_example_totals, assert_example_verdicts, grade_examples


POINTS = {"similarity.cosine": 2, "similarity.softmax": 1, "similarity.softmax_sums_to_one": 1,
          "ranking.order": 2, "ranking.ties": 1, "tokens.tokens": 1, "tokens.scores": 3,
          "general.other_config": 2, "occlusion.words": 1, "occlusion.values": 1, "occlusion.image": 1,
          "zeroshot.single": 1, "zeroshot.ensemble": 1}
# student -> {check that fails: message key}; every other check gets full points with "passed".
EXPECTED = {
    "full_solution": {},
    "blank_release": {check: "not_implemented" for check in POINTS},
    "buggy_axis_ascending": {"similarity.softmax": "softmax_wrong_axis",
                             "similarity.softmax_sums_to_one": "softmax_wrong_axis",
                             "ranking.order": "ascending_ranking", "ranking.ties": "ascending_ranking",
                             "general.other_config": "other_config"},  # two mistakes at once: no single variant
    "buggy_dot_maxheads": {"similarity.cosine": "dot_without_normalisation",
                           "ranking.order": "dot_without_normalisation",
                           "ranking.ties": "dot_without_normalisation",
                           "tokens.scores": "max_over_heads",
                           "general.other_config": "other_config",
                           # the solution's word_occlusion calls the student's clip_similarity: its dot product
                           "occlusion.values": "occlusion_unnormalised_dot",
                           "occlusion.image": "occlusion_unnormalised_dot"},
    "buggy_occlusion_logits": {"occlusion.values": "occlusion_from_logits", "occlusion.image": "occlusion_from_logits"},
    # raw text features averaged over the templates: right with one template, wrong with several; the zero-shot
    # task needs no clip_similarity, so buggy_dot_maxheads keeps its points there
    "buggy_zeroshot_unnormalised": {"zeroshot.ensemble": "zeroshot_unnormalised_mean"},
}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    return grade_examples("clip", EXPECTED, tmp_path_factory.mktemp("course"))


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_example_gets_exactly_its_scores_and_messages(report, student):
    assert_example_verdicts(report[student]["clip"], POINTS, EXPECTED[student])


def test_total_scores(report):
    assert_example_totals(report, "clip", POINTS, EXPECTED)
