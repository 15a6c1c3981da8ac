"""Feedback pages: checks, messages and pictures in the page (BeautifulSoup), nbgrader's feedback
linking them, rendering in headless Chromium, both languages, and `xaigrade check` = graded feedback."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess

import numpy as np
import pytest
from bs4 import BeautifulSoup

from autograder import collect, exports, feedback, messages, overview, parallel
from autograder.batch import Layout, grade_batch
from autograder.config import PROJECT_ROOT, load_settings

EXAMPLES = PROJECT_ROOT / "examples" / "submissions"
STUDENTS = ("buggy_axis", "buggy_transposed")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("feedback")
    for student in STUDENTS:
        target = root / "submitted" / student / "pdp"
        target.mkdir(parents=True)
        shutil.copy(EXAMPLES / student / "pdp" / "pdp.ipynb", target / "pdp.ipynb")
    layout = Layout(PROJECT_ROOT, root / "submitted", root / "out")
    report = grade_batch(["pdp"], layout, load_settings(PROJECT_ROOT))
    return report, layout


def _page(layout, student):
    return BeautifulSoup((layout.output / "feedback" / student / "pdp" / "xaigrade.html").read_text(), "html.parser")


def _png(img):
    src = img["src"]
    assert src.startswith("data:image/png;base64,")
    data = base64.b64decode(src.split(",", 1)[1])
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    import matplotlib.image

    return matplotlib.image.imread(io.BytesIO(data), format="png")


def test_page_shows_total_every_check_and_the_named_mistake(graded):
    report, layout = graded
    page = _page(layout, "buggy_axis")
    total = page.select_one(".total")  # the gradebook's total: 11 autograded, the 13 points of answers still open
    assert float(total["data-auto-score"]) == 11 and float(total["data-auto-max-score"]) == 14
    assert float(total["data-score"]) == 11 and float(total["data-max-score"]) == 27 and total["data-pending"] == "4"
    sections = {s["data-check"]: s for s in page.select("section.check")}
    assert set(sections) == {k for k in report["buggy_axis"]["pdp"] if not k.startswith("_")}
    for check_id in ("pdp_1d.linear_exact", "pdp_1d.values"):
        assert "fail" in sections[check_id]["class"]
        message = sections[check_id].select_one(".message")
        assert message["data-key"] == "mean_over_wrong_axis"
        assert "falsche Achse" in message.text
        assert "0 / " in sections[check_id].select_one(".points").text
    assert "pass" in sections["pdp_2d.values"]["class"] and sections["pdp_2d.values"].select_one(".message") is None


def test_pictures_show_the_failing_case_and_one_passed_case_per_task(graded):
    _, layout = graded
    page = _page(layout, "buggy_axis")
    sections = {s["data-check"]: s for s in page.select("section.check")}
    # failed 1-D checks: the student's values over the reference curve, each on its own failing case
    for check_id in ("pdp_1d.linear_exact", "pdp_1d.values"):
        images = sections[check_id].select("figure img")
        assert len(images) == 1
        pixels = _png(images[0])
        assert pixels.shape[0] > 200 and pixels.shape[1] > 400 and pixels[..., :3].std() > 0.05
    assert "Referenz" in sections["pdp_1d.values"].select_one("figcaption").text or \
        "Gitter" in sections["pdp_1d.values"].select_one("figcaption").text
    # task test_pdp_2d passes entirely: one example picture, under its first check, marked as such
    example = sections["pdp_2d.shape"].select("figure")
    assert len(example) == 1 and "bestandenen" in example[0].figcaption.text
    assert not sections["pdp_2d.values"].select("figure")


def test_transposed_2d_result_is_drawn_beside_the_reference_and_named_once(graded):
    _, layout = graded
    sections = {s["data-check"]: s for s in _page(layout, "buggy_transposed").select("section.check")}
    image = sections["pdp_2d.shape"].select_one("figure img")
    assert image is not None and "2-D" in sections["pdp_2d.shape"].figcaption.text
    # two panels (student, reference): wider than tall
    pixels = _png(image)
    assert pixels.shape[1] > 1.5 * pixels.shape[0]
    # same failing case in pdp_2d.values: no second copy, a pointer to the picture above
    assert not sections["pdp_2d.values"].select("figure")
    assert "siehe" in sections["pdp_2d.values"].select_one(".see").text


def test_pdp_hook_draws_ice_curves_and_handles_unusable_results():
    from autograder.checks import pdp
    from helpers import hidden_setup

    _, cases, expected, _ = hidden_setup("pdp")
    case = next(c for c in cases if c.id == "forest_1d")
    want = expected[case.id]
    ice = {"pd": np.tile(want["pd"], (7, 1)) + np.arange(7)[:, None]}
    for student in (ice, {"pd": np.array([np.nan, 1.0])}, {"x_unchanged": False}):
        [(caption, data)] = pdp.figures(case, student, want, "en")
        assert data.startswith(b"\x89PNG") and "grid" in caption
    case_2d = next(c for c in cases if c.id == "boosting_2d")
    [(caption, data)] = pdp.figures(case_2d, {"pd": expected[case_2d.id]["pd"] + 1}, expected[case_2d.id], "de")
    assert "2-D" in caption and len(data) > 1000


def test_a_broken_hook_costs_the_picture_not_the_page(monkeypatch):
    from autograder.checks import Exercise
    from autograder.grading import SubmissionResult
    from helpers import hidden_setup

    exercise, cases, expected, variants = hidden_setup("pdp")
    monkeypatch.setattr(exercise.module, "figures", lambda *a: 1 / 0)
    from autograder.checks import evaluate

    results = {c.id: {"pd": np.zeros(3), "x_unchanged": True} for c in cases}
    verdicts = evaluate(exercise, cases, results, expected, variants)
    result = SubmissionResult("s", "pdp", verdicts, case_results=results)
    pictures = feedback.collect_pictures(Exercise("pdp"), cases, result, expected)
    assert pictures.by_check == {}
    assert "section" in feedback.render_page(result, exercise, "de", pictures)


def test_nbgraders_feedback_links_our_page_and_keeps_it_beside(graded):
    _, layout = graded
    feedback.generate_nbgrader_feedback(layout.output, "pdp")
    folder = layout.output / "feedback" / "buggy_axis" / "pdp"
    nbgrader_html = BeautifulSoup((folder / "pdp.html").read_text(), "html.parser")
    assert nbgrader_html.select('a[href="xaigrade.html"]')
    ours = BeautifulSoup((folder / "xaigrade.html").read_text(), "html.parser")
    assert ours.select_one("a.nbgrader")["href"] == "pdp.html"
    assert ours.select("section.check figure img")


def test_page_renders_in_headless_chromium(graded, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium not installed (.ci/run installs it with apt-get)")
    _, layout = graded
    page = layout.output / "feedback" / "buggy_transposed" / "pdp" / "xaigrade.html"
    shot = tmp_path / "page.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1200,1600",
                    page.as_uri()], capture_output=True, timeout=120)
    assert shot.exists()
    import matplotlib.image

    pixels = matplotlib.image.imread(str(shot))[..., :3]
    assert pixels.shape[:2] == (1600, 1200)
    not_white = (pixels < 0.9).any(axis=2).mean()
    assert not_white > 0.02, not_white  # text, coloured boxes and the plots, not an empty page
    red = ((pixels[..., 0] > 0.6) & (pixels[..., 1] < 0.35) & (pixels[..., 2] < 0.35)).sum()
    assert red > 50  # the ✘/"nicht bestanden" marks and the student's red curve are drawn


def test_english_page_has_no_german_strings():
    from autograder.checks import Exercise
    from autograder.grading import SubmissionResult
    from helpers import grade_namespace, variant_overrides

    verdicts = grade_namespace("pdp", variant_overrides("pdp", "transposed_2d"), language="en")
    result = SubmissionResult("s", "pdp", list(verdicts.values()))
    page = feedback.render_page(result, Exercise("pdp"), "en")
    soup = BeautifulSoup(page, "html.parser")
    assert soup.html["lang"] == "en" and "Autograded" in soup.select_one(".total").text
    for word in ("Prüfung", "bestanden", "Punkte", "Aufgabe", "Rückmeldung", "Abgabe"):
        assert word not in soup.text, word


@pytest.mark.parametrize("module", [feedback, parallel, exports, collect, overview])
def test_pages_and_reports_keep_no_text_table_of_their_own(module):
    """Their strings are in the one catalogue (autograder/messages.py), where tests/test_catalogue.py checks
    that every key has German and English with the same placeholders."""
    assert not hasattr(module, "TEXT")
    assert module.text is messages.text


def test_xaigrade_check_shows_the_message_the_graded_feedback_shows(graded, capsys):
    """The public check's line for a failed check is the graded page's message, up to the case label."""
    from autograder.cli import main

    report, layout = graded
    notebook = layout.submissions / "buggy_axis" / "pdp" / "pdp.ipynb"
    assert main(["check", str(notebook)]) == 1
    out = capsys.readouterr().out
    shown = dict(re.findall(r"✘ 0/\d+\s+(\S+): .*\n\s+→ (.*)", out))
    sections = {s["data-check"]: s for s in _page(layout, "buggy_axis").select("section.check")}
    assert {"pdp_1d.linear_exact", "pdp_1d.values"} <= set(shown)
    for check_id, public_message in shown.items():
        graded_message = sections[check_id].select_one(".message").text
        assert report["buggy_axis"]["pdp"][check_id]["message_key"] == "mean_over_wrong_axis"
        strip = lambda m: re.sub(r"\([^)]*\)", "(…)", m, count=1)  # noqa: E731 - the case label differs
        assert strip(public_message) == strip(graded_message)
