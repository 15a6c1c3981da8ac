"""Every exercise's feedback pictures: a known mistake on a hidden case yields a PNG in both languages."""

from __future__ import annotations

import pytest

from helpers import hidden_setup

MISTAKE = {"pdp": "mean_over_wrong_axis", "gradcam": "no_relu", "clip": "max_over_heads",
           "counterfactual": "no_distance_term"}


@pytest.mark.parametrize("name", sorted(MISTAKE))
@pytest.mark.parametrize("language", ["de", "en"])
def test_a_known_mistake_gets_a_picture_next_to_the_reference(name, language):
    exercise, cases, expected, variants = hidden_setup(name)
    pictures = []
    for case in cases:
        student = variants[MISTAKE[name]].get(case.id)
        if isinstance(student, dict):
            pictures += exercise.module.figures(case, student, expected[case.id], language)
    assert pictures
    for caption, data in pictures:
        assert caption.strip() and data[:8] == b"\x89PNG\r\n\x1a\n"
