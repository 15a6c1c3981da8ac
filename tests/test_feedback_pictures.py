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


@pytest.mark.parametrize("name", sorted(MISTAKE))
@pytest.mark.parametrize("junk", ["hoch", "__invalid__ 114 MiB (> 32 MiB), shape (5, 3000000)", float("nan")])
def test_a_result_that_is_no_number_still_gets_the_reference_picture(name, junk):
    """Text, NaN or the marker of a result too big to keep: the hook draws the reference, never raises."""
    import numpy as np

    exercise, cases, expected, variants = hidden_setup(name)
    for case in cases[:3]:
        student = variants[MISTAKE[name]].get(case.id)
        if isinstance(student, dict):
            broken = {key: np.full(np.shape(value), junk, dtype=object if isinstance(junk, str) else float)
                      .astype(str if isinstance(junk, str) else float) for key, value in student.items()}
            for caption, data in exercise.module.figures(case, broken, expected[case.id], "de"):
                assert caption.strip() and data[:8] == b"\x89PNG\r\n\x1a\n"
