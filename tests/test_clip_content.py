"""The CLIP notebook's texts and model answers quote numbers of the embedded tiny CLIP: recompute each one.

Every figure a rubric (manually graded answer cell) or a text of ``source/clip/clip.ipynb`` quotes is printed by a
cell of the notebook and recomputed here with the reference functions (``reference_solutions/clip.py``, what the
notebook's solution computes) on the inputs the notebook's cells use. The expected text fragments are built from the
recomputed values: when the weights, the scenes or the definitions change, a fragment no longer appears and the test
fails, naming the cell to update (re-run the notebook and copy the printed figures). Besides the numbers: every rubric
has a point breakdown that adds up to its points, the introduction's point totals match the notebook's, the setup cell
follows the course setting, and the notebook and the CLIP messages keep one German term per concept.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from fractions import Fraction

import nbformat
import numpy as np
import pytest

from autograder.config import PROJECT_ROOT

NOTEBOOK = PROJECT_ROOT / "source" / "clip" / "clip.ipynb"
RUBRICS = {"answer_similarity": 2, "answer_own_image": 1, "answer_ranking": 2, "answer_token_relevance": 2,
           "answer_attention": 2, "answer_uses": 1, "answer_word_occlusion": 2, "answer_zero_shot": 1}
EXAMPLE_SCENE = 5  # cell "example_image": make_scene(5)
OWN_IMAGE = ("coffee", ["a cup of coffee", "a photo of a cat", "a large red circle in the centre",
                        "a small green star on the left"])  # the solution of cell "own_image"
WRONG = "a large blue circle on the right"
OTHER_SCENE = 9  # the word-occlusion example cell's other image: make_scene(9)  # cells "own_descriptions" and the one defining `three`


def de(value: float, digits: int = 2) -> str:
    """A number as the German texts write it: decimal comma, typographic minus."""
    return f"{value:.{digits}f}".replace(".", ",").replace("-", "−")


def signed(value: float, digits: int = 2) -> str:
    text = de(value, digits)
    return text if text.startswith("−") else "+" + text


def flat(text: str) -> str:
    """Whitespace collapsed: a fragment may wrap across lines in the cell."""
    return re.sub(r"\s+", " ", text)


@pytest.fixture(scope="module")
def notebook():
    return nbformat.read(NOTEBOOK, as_version=4)


@pytest.fixture(scope="module")
def rubric(notebook):
    texts = {cell.metadata["nbgrader"]["grade_id"]: flat(cell.source) for cell in notebook.cells
             if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "markdown"}
    assert set(texts) == set(RUBRICS)
    return texts


def markdown_after(notebook, grade_id: str) -> str:
    """The first markdown cell after the cell with this grade id (the notebook's example texts are placed there)."""
    index = next(i for i, cell in enumerate(notebook.cells)
                 if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    return flat(next(cell.source for cell in notebook.cells[index + 1:] if cell.cell_type == "markdown"))


@pytest.fixture(scope="module")
def clip():
    import torch

    torch.set_num_threads(1)
    from reference_solutions import clip as reference
    from xaikit.models import load_clip

    model, processor = load_clip("embedded", attn_implementation="eager")
    return model, processor, reference


@pytest.fixture(scope="module")
def example(clip):
    """Cells "own_descriptions" and "rank_three" on scene 5: true, without position, only the shape, wrong."""
    from xaikit.scenes import make_scene

    model, processor, reference = clip
    scene = make_scene(EXAMPLE_SCENE)
    words = scene.caption.split()
    texts = {"true": scene.caption, "vaguer": " ".join(words[:4]), "shape": f"a {words[3]}", "wrong": WRONG}
    cosine, probs = reference.clip_similarity(model, processor, scene.image, list(texts.values()))
    three = [WRONG, scene.caption, texts["vaguer"]]
    cosine3, probs3 = reference.clip_similarity(model, processor, scene.image, three)
    return {"caption": scene.caption, "texts": texts, "cosine": dict(zip(texts, cosine.tolist())),
            "probs": dict(zip(texts, probs.tolist())),
            "three": dict(zip(three, zip(cosine3.tolist(), probs3.tolist()))),
            "scale": model.logit_scale.exp().item()}


@pytest.fixture(scope="module")
def thirty_scenes(clip):
    """The example cell over 30 scenes (seeds 1000-1029, other captions from 2000-2029, swaps drawn from seed 0)."""
    from xaikit.scenes import COLOURS, POSITION_WORDS, SHAPE_CLASSES, SIZE_WORDS, make_caption, make_scene

    model, processor, reference = clip

    def swap(s, attribute, values, rng):
        words = {"class_name": s.class_name, "colour": s.colour, "size_word": s.size_word,
                 "position_word": s.position_word}
        words[attribute] = rng.choice([v for v in values if v != words[attribute]])
        return make_caption(words["class_name"], words["colour"], words["size_word"], words["position_word"])

    rng = np.random.default_rng(0)
    rows, hits = [], 0
    for i in range(30):
        s = make_scene(1000 + i)
        other = make_scene(2000 + i).caption
        texts = [s.caption] + [swap(s, a, v, rng) for a, v in [("colour", COLOURS), ("class_name", SHAPE_CLASSES),
                                                                ("size_word", SIZE_WORDS),
                                                                ("position_word", POSITION_WORDS)]]
        cosine, _ = reference.clip_similarity(model, processor, s.image, texts + [other])
        rows.append(cosine)
        hits += int(np.argmax(cosine[:5]) == 0)
    means = np.array(rows).mean(axis=0)
    return {"means": dict(zip(["true", "colour", "shape", "size", "position", "other"], means.tolist())), "hits": hits}


def test_the_introduction_states_the_notebooks_points_and_the_tiny_clips_scale(notebook, example):
    graded = [cell.metadata["nbgrader"] for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("grade")]
    automatic = sum(m["points"] for m in graded if m["grade_id"].startswith("test_"))
    by_hand = sum(m["points"] for m in graded if not m["grade_id"].startswith("test_"))
    intro = flat(notebook.cells[0].source)
    assert f"automatisch ({automatic:g} Punkte)" in intro
    assert f"von Hand bewertet ({by_hand:g} Punkte). Insgesamt {automatic + by_hand:g} Punkte." in intro
    assert f"beim kleinen CLIP etwa {round(example['scale'])})" in intro  # the setup cell prints it


def test_every_rubric_has_a_point_breakdown_that_adds_up(notebook):
    """Each rubric opens with "**Punkte (n):** ½ – ...; 1 – ...": its parts add up to its points."""
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not (meta.get("grade") and cell.cell_type == "markdown"):
            continue
        assert RUBRICS[meta["grade_id"]] == meta["points"]
        match = re.search(r"\*\*Punkte \((\d+)\):\*\*(.*?)(?:\n\s*\n|$)", cell.source, re.DOTALL)
        assert match, f"{meta['grade_id']}: no '**Punkte (n):**' breakdown"
        assert int(match.group(1)) == meta["points"], meta["grade_id"]
        parts = re.findall(r"(?:^|;)\s*(½|1) –", match.group(2))
        assert sum(Fraction(1, 2) if part == "½" else Fraction(1) for part in parts) == meta["points"], (
            meta["grade_id"], parts)


def test_question_1_quotes_scene_5_and_the_thirty_scenes(rubric, example, thirty_scenes):
    text = rubric["answer_similarity"]
    cos, probs, means = example["cosine"], example["probs"], thirty_scenes["means"]
    assert f"Szene {EXAMPLE_SCENE} („{example['caption']}“)" in text
    assert f"den höchsten Kosinus ({signed(cos['true'])}; Softmax-Wahrscheinlichkeit {de(probs['true'], 3)})" in text
    assert f"„{example['texts']['vaguer']}“ ohne Position {signed(cos['vaguer'])} ({de(probs['vaguer'], 3)})" in text
    assert f"„{example['texts']['shape']}“ nur noch {signed(cos['shape'])}" in text
    assert f"„{WRONG}“ {signed(cos['wrong'])}" in text
    assert (f"wahr {de(means['true'], 3)}, ein Merkmal vertauscht {de(means['size'], 3)} (Größe) bis "
            f"{de(means['shape'], 3)} (Form), eine ganz andere Szene {de(means['other'], 3)}") in text
    swapped = [means[k] for k in ("colour", "shape", "size", "position")]
    assert min(swapped) == means["size"] and max(swapped) == means["shape"]
    # the lesson: the shape alone lies below every caption with one attribute swapped (and above the wrong one)
    assert cos["wrong"] < cos["shape"] < min(swapped) < cos["vaguer"] < cos["true"]
    assert (f"({signed(cos['true'])} gegen {signed(cos['vaguer'])} wird {de(probs['true'], 3)} gegen "
            f"{de(probs['vaguer'], 3)})") in text
    assert f"$e^{{s}}$ ≈ {round(example['scale'])}" in text


def test_question_2_quotes_the_own_image_solution(rubric, clip, thirty_scenes):
    from xaikit.photos import load_photo

    model, processor, reference = clip
    name, texts = OWN_IMAGE
    cosine, probs = reference.clip_similarity(model, processor, load_photo(name), texts)
    text = rubric["answer_own_image"]
    assert f"`load_photo(\"{name}\")`" in text
    for t, c in zip(texts, cosine):
        assert f"„{t}“ {signed(c)}" in text, t
    best = int(np.argmax(cosine))
    assert texts[best] == "a large red circle in the centre" and int(np.argmax(probs)) == best
    assert f"„{texts[best]}“ {signed(cosine[best])} (Softmax-Wahrscheinlichkeit {de(probs[best], 3)})" in text
    assert f"Die Softmax-Wahrscheinlichkeit {de(probs[best], 3)} heißt nur" in text
    assert f"({thirty_scenes['hits']} von 30 Szenen" in text


def test_question_3_quotes_the_ranking_of_the_three_descriptions(rubric, example):
    text = rubric["answer_ranking"]
    three, scale = example["three"], example["scale"]
    caption, vaguer = example["caption"], example["texts"]["vaguer"]
    ranked = sorted(three, key=lambda t: -three[t][0])
    assert ranked == [caption, vaguer, WRONG]
    assert (f"(Kosinus ≈ {de(three[caption][0])}, Softmax-Wahrscheinlichkeit ≈ {de(three[caption][1], 3)}), dann die "
            f"vagere „{vaguer}“ (≈ {de(three[vaguer][0])}; ≈ {de(three[vaguer][1], 3)}), zuletzt die falsche "
            f"„{WRONG}“ (≈ {de(three[WRONG][0])}; ≈ {de(three[WRONG][1], 3)})") in text
    difference = three[caption][0] - three[vaguer][0]
    ratio = three[caption][1] / three[vaguer][1]
    assert abs(ratio - np.exp(scale * difference)) / ratio < 1e-3  # the softmax ratio is exp(e^s · Δcos)
    assert f"$e^{{s}}$ ≈ {round(scale)} verstärkt die Differenz von {de(difference)}" in text
    assert f"etwa {round(ratio, -1):.0f} : 1" in text


def test_question_4_and_the_attention_sink_text_quote_the_token_shares(rubric, notebook, clip, example):
    model, processor, reference = clip
    shares = {}
    for key in ("true", "vaguer", "wrong"):
        pairs = reference.token_importance(model, processor, example["texts"][key])
        shares[key] = {token.replace("</w>", ""): score for token, score in pairs}
    text = rubric["answer_token_relevance"]
    true, vaguer, wrong = shares["true"], shares["vaguer"], shares["wrong"]
    assert max(true, key=true.get) == "a"
    others = [v for k, v in true.items() if k != "a"]
    assert (f"das Füllwort „a“ den größten Anteil (≈ {de(true['a'])}), die übrigen Token je ≈ "
            f"{de(min(others))}–{de(max(others))}") in text
    assert de(true["on"]) == de(true["right"])
    assert (f"(„on“, „right“ ≈ {de(true['on'])}, „star“ ≈ {de(true['star'])}, „small“ ≈ {de(true['small'])})") in text
    assert f"„a“ ≈ {de(vaguer['a'])}, „star“ ≈ {de(vaguer['star'])}, „purple“ ≈ {de(vaguer['purple'])}" in text
    assert sorted(wrong, key=wrong.get, reverse=True)[:2] == ["blue", "the"]
    assert (f"„blue“ und „the“ den größten Anteil (≈ {de(wrong['blue'])}/{de(wrong['the'])}), „large“ und "
            f"„circle“ nur ≈ {de(wrong['large'])}/{de(wrong['circle'])}") in text
    sink = markdown_after(notebook, "token_bars")
    assert f"in der wahren Beschreibung von Szene {EXAMPLE_SCENE} bekommt es etwa {de(true['a'])}" in sink


def test_the_attention_sink_count_over_every_template_description(notebook, clip):
    from xaikit.scenes import COLOURS, POSITION_WORDS, SHAPE_CLASSES, SIZE_WORDS, make_caption

    model, processor, reference = clip
    captions = [make_caption(*words) for words in itertools.product(SHAPE_CLASSES, COLOURS, SIZE_WORDS, POSITION_WORDS)]
    largest = Counter(max(reference.token_importance(model, processor, c), key=lambda pair: pair[1])[0]
                      .replace("</w>", "") for c in captions)
    (first, n_first), (second, n_second) = largest.most_common(2)
    assert (first, second) == ("a", "the")
    sink = markdown_after(notebook, "token_bars")
    assert (f"unter allen {len(captions)} Beschreibungen der Vorlage ({len(SHAPE_CLASSES)} Formen × {len(COLOURS)} "
            f"Farben × {len(SIZE_WORDS)} Größen × {len(POSITION_WORDS)} Positionen)") in sink
    assert f"({n_first}-mal, „the“ {n_second}-mal)" in sink
    demo = next(c for c in notebook.cells if c.metadata.get("xaigrade", {}).get("demo"))
    assert "itertools.product(SHAPE_CLASSES, COLOURS, SIZE_WORDS, POSITION_WORDS)" in demo.source  # prints the count


def test_question_6_quotes_the_shape_only_description_and_the_coffee_photo(rubric, clip, example):
    from xaikit.photos import load_photo

    model, processor, reference = clip
    name, texts = OWN_IMAGE
    _, probs = reference.clip_similarity(model, processor, load_photo(name), texts)
    text = rubric["answer_uses"]
    assert f"(„{example['texts']['shape']}“ {signed(example['cosine']['shape'])} liegt unter" in text
    assert f"„a large red circle in the centre“ mit Softmax-Wahrscheinlichkeit {de(probs.max(), 3)}" in text


def test_the_setup_cell_follows_the_course_setting_and_prints_it_first(notebook):
    setup = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "setup").source
    assert "course_models()" in setup and 'REAL_CLIP = MODELS == "real"' in setup
    assert "ModelNotAvailableError" not in setup  # no silent fallback to the embedded CLIP
    before_loading = setup[:setup.index("load_clip(")]
    assert "print(f\"Kurseinstellung {COURSE_MODELS_VARIABLE}={MODELS}" in before_loading
    assert 'load_clip("embedded", attn_implementation="eager")' in setup
    assert "load_clip(CLIP_HUB_ID, attn_implementation=\"eager\")" in setup


# --- one German term per concept ---------------------------------------------------------------------------------
# The cosine is "Kosinus-Ähnlichkeit" (short: "Kosinus"), the softmax's value "Softmax-Wahrscheinlichkeit" (short:
# "Softmax"); neither is a bare "Ähnlichkeit" or "Wahrscheinlichkeit". Grad-CAM's "Heatmap" has no place here.
BARE_SIMILARITY = re.compile(r"(?<!Kosinus-)\bÄhnlichkeit(en)?\b")
BARE_PROBABILITY = re.compile(r"(?<!Softmax-)\bWahrscheinlichkeit(en)?\b")
MAP_WORDS = re.compile(r"\bHeatmap\w*|\bKarte\w*")


def _german_clip_texts(notebook) -> list[tuple[str, str]]:
    from autograder.checks import clip as grader_side
    from xaikit.selfcheck.exercises import clip as student_side

    texts = [(f"cell {i}", cell.source) for i, cell in enumerate(notebook.cells) if cell.cell_type == "markdown"]
    texts += [(f"message {key}", value["de"]) for key, value in grader_side.MESSAGES.items()]
    texts += [(f"title {check.id}", check.title["de"]) for check in student_side.CHECKS]
    return texts


def test_one_german_term_for_the_cosine_and_one_for_the_softmax_probability(notebook):
    wrong = [(where, m.group(0)) for where, text in _german_clip_texts(notebook)
             for pattern in (BARE_SIMILARITY, BARE_PROBABILITY, MAP_WORDS) for m in pattern.finditer(text)]
    assert wrong == []
    intro = flat(notebook.cells[0].source)
    assert "**Kosinus-Ähnlichkeit** (kurz: Kosinus)" in intro
    assert "**Softmax-Wahrscheinlichkeiten** (kurz: Softmax)" in intro


def test_question_7_quotes_word_occlusion_with_two_images_and_the_attention(rubric, notebook, clip):
    """The example cell after task 5 (word_occlusion of scene 5's caption with scene 5 and scene 9, and the
    token importance of the caption) prints these figures; the rubric quotes them."""
    from xaikit.scenes import make_scene

    model, processor, reference = clip
    own, other = make_scene(EXAMPLE_SCENE), make_scene(OTHER_SCENE)
    demo = next(cell for cell in notebook.cells if cell.metadata.get("xaigrade", {}).get("demo")
                and "word_occlusion(model, processor, other_image" in cell.source)
    assert f"make_scene({OTHER_SCENE}).image" in demo.source
    words = own.caption.split()
    on_own = reference.word_occlusion(model, processor, own.image, own.caption)
    on_other = reference.word_occlusion(model, processor, other.image, own.caption)
    cosine_own = reference.clip_similarity(model, processor, own.image, [own.caption])[0][0]
    cosine_other = reference.clip_similarity(model, processor, other.image, [own.caption])[0][0]
    sink, share = max(reference.token_importance(model, processor, own.caption), key=lambda pair: pair[1])
    sink = sink.replace("</w>", "")
    strongest, weakest, most_negative = int(np.argmax(on_own)), int(np.argmin(on_own)), int(np.argmin(on_other))
    assert (on_own > 0).all() and (on_other < 0).all()  # "alle Werte positiv" / "alle Werte negativ"
    text = rubric["answer_word_occlusion"]
    assert f"(„{words[strongest]}“, {de(on_own[strongest])}) und dass alle Werte mit dem Beispielbild positiv" in text
    assert f"z. B. „{words[most_negative]}“ {de(on_other[most_negative])})" in text
    assert f"Füllwort „{sink}“ den größten Anteil, {de(share)})" in text
    assert f"„{own.caption}“ die Kosinus-Ähnlichkeit {de(cosine_own)}." in text
    assert f"Ohne „{words[strongest]}“ sinkt sie um {de(on_own[strongest])}, ohne „{words[weakest]}“ nur um " \
           f"{de(on_own[weakest])}." in text
    assert (f"(„{other.caption}“, Kosinus-Ähnlichkeit {de(cosine_other)}) sind alle Werte negativ, von "
            f"{de(on_other.max())} bis {de(on_other.min())}:") in text


def test_question_8_quotes_the_zero_shot_accuracies_the_example_cell_prints(rubric, notebook, clip):
    """The example cell after task 6 (300 scenes, 50 per shape; four general templates and the 36 templates in the
    format of the training captions, each alone and as an ensemble) prints these accuracies; the rubric quotes them.
    The cell's own code runs here, with the reference's zero_shot_classifier."""
    import contextlib
    import io

    import torch

    from xaikit.scenes import make_scene

    model, processor, reference = clip
    demo = next(cell for cell in notebook.cells if cell.metadata.get("xaigrade", {}).get("demo")
                and "zero_shot_accuracy" in cell.source)
    namespace = {"np": np, "torch": torch, "model": model, "processor": processor, "make_scene": make_scene,
                 "zero_shot_classifier": reference.zero_shot_classifier}
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        exec(compile(demo.source, "example cell", "exec"), namespace)
    accuracy, general, captions = (namespace[k] for k in ("zero_shot_accuracy", "general_templates",
                                                         "caption_templates"))
    assert len(namespace["zero_shot_scenes"]) == 300 and np.bincount(namespace["shape_labels"]).tolist() == [50] * 6
    assert len(captions) == 36 == len(set(captions))
    alone = {t: accuracy([t]) for t in general}
    best = max(alone, key=alone.get)
    others = sorted(v for t, v in alone.items() if t != best)
    single = np.array([accuracy([t]) for t in captions])
    general_ensemble, caption_ensemble = accuracy(general), accuracy(captions)
    # the lesson: an ensemble beats the mean of its templates, not the best one (chosen after measuring)
    assert np.mean(list(alone.values())) < general_ensemble < alone[best]
    assert single.mean() < caption_ensemble < single.max()
    text = rubric["answer_zero_shot"]
    assert f"(„{best}“, {de(alone[best])}) und dass ein Ensemble die beste einzelne Vorlage nicht übertrifft" in text
    assert (f"({de(caption_ensemble)} gegen {de(single.min())} bis {de(single.max())}, Mittel "
            f"{de(single.mean())})") in text
    assert (f"„{best}“ am besten zu ({de(alone[best])}, Zufall {de(1 / 6)}), die übrigen drei liegen zwischen "
            f"{de(others[0])} und {de(others[-1])}; ihr Ensemble erreicht {de(general_ensemble)}.") in text
    assert (f"Die {len(captions)} Vorlagen im Format der Trainingsbeschreibungen liegen einzeln zwischen "
            f"{de(single.min())} und {de(single.max())} (Mittel {de(single.mean())}), ihr Ensemble bei "
            f"{de(caption_ensemble)}:") in text
    lines = printed.getvalue().splitlines()  # what the cell prints holds the quoted figures (decimal point)
    assert f"Vorlage „{best}“: {alone[best]:.2f}" in lines
    assert (f"Ensemble der {len(captions)} Vorlagen im Format der Trainingsbeschreibungen: "
            f"{caption_ensemble:.2f}") in lines
    example = markdown_after(notebook, "test_zero_shot_classifier")
    assert f"ordnet {len(namespace['zero_shot_scenes'])} Szenen (50 je Form)" in example
    assert f"mit den {len(captions)} Vorlagen im Format der Beschreibungen" in example
