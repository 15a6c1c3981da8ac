"""Hidden cases of the CLIP exercise, one builder per probe.

Other scenes (seeded from the set's seed), a downsampled non-square photo, a scene at 96 px (resized
by the processor), other descriptions and texts with words the tiny vocabulary splits into several
tokens, a text with characters it does not know (``<|unk|>`` tokens, drawn from ``UNKNOWN_CHARACTER_TEXTS``),
and another random configuration than the public one; for word_occlusion other scenes and one of the
``SPLIT_WORD_TEXTS`` (a word of several tokens); for zero_shot_classifier other class names
(``ZERO_SHOT_CLASS_NAMES``, in an order that is not alphabetical) and templates (``ZERO_SHOT_TEMPLATES``), drawn
until each known mistake moves the matrix by at least ``ZERO_SHOT_MIN_DIFFERENCE`` (``zeroshot_hidden_cases``).
Two ranking cases hold descriptions chosen (seeded, verified on the reference and the variant) so that ranking by
the unnormalised dot product gives another order (``norm_sensitive_texts``); the tie case holds the caption in
three casings in one of the ``TIE_ORDERS``.
"""

from __future__ import annotations

import numpy as np

from xaikit.selfcheck.core import Case
from xaikit.selfcheck.exercises.clip import (make_scenes, occlusion_cases, other_config_case, ranking_scene_case,
                                             similarity_scene_case, swap, tie_label, tied_casings, token_cases,
                                             zeroshot_cases)

HIDDEN_CONFIG = {"text": {"hidden_size": 48, "intermediate_size": 96, "num_hidden_layers": 3, "num_attention_heads": 3},
                 "vision": {"hidden_size": 40, "intermediate_size": 80, "num_hidden_layers": 3,
                            "num_attention_heads": 5, "image_size": 48, "patch_size": 12},
                 "projection_dim": 32}


# Texts with characters the tiny tokenizer does not know (each byte of one becomes <|unk|>): at the start, in the
# middle and at the end of the text. All fit the text encoder's 16 positions; none is a public text.
UNKNOWN_CHARACTER_TEXTS = ("a green café on the left", "a large naïve circle", "a größer blue square",
                           "über the small cross", "a crème square in the centre", "the small star \u2713", "a blue circlé")
# word_occlusion: texts with a word the tiny vocabulary splits into several tokens (none is the public text)
SPLIT_WORD_TEXTS = ("a kitten on a chair", "a small red teapot in the centre", "a photo of a giraffe",
                    "the blue bicycle on the right", "a large green octagon")
# zero_shot_classifier: the six shapes and names outside the scenes' vocabulary (some of several tokens), and
# templates (none is the public single template "a {} shape")
ZERO_SHOT_CLASS_NAMES = ("circle", "square", "triangle", "cross", "star", "ellipse", "kitten", "dog", "hexagon")
ZERO_SHOT_TEMPLATES = ("a {}", "a photo of a {}", "a drawing of a {}", "an image of a {}", "a {} in the image",
                       "a small {}", "a large {}", "a {} on the left", "a {} in the centre", "a {} on the right",
                       "a blue {}", "a large green {} on the right", "a small yellow {} in the centre", "the {}",
                       "a picture of the {}")
ZERO_SHOT_MIN_DIFFERENCE = 1e-3  # largest |variant - reference| of a case, for each variant its check names: 10 x atol
ZERO_SHOT_ATTEMPTS = 50
# Input orders of the three tied casings in which keeping the input order, ordering the ties by their texts
# (always lower, title, upper) and reversing the input order give three different rankings.
TIE_ORDERS = (("title", "lower", "upper"), ("title", "upper", "lower"), ("lower", "upper", "title"),
              ("upper", "lower", "title"))


def build_hidden_cases(seed: int, checks) -> list[Case]:
    """One generator, drawn from by the probes' builders in a fixed order (the order fixes the cases)."""
    rng = np.random.default_rng(seed)
    scenes = make_scenes(rng)
    cases = [*similarity_cases(rng, scenes), *ranking_cases(rng, scenes)]
    unknown = UNKNOWN_CHARACTER_TEXTS[int(rng.integers(len(UNKNOWN_CHARACTER_TEXTS)))]
    cases += token_cases([scenes[4].caption, "an image of the large purple cross in the centre", "a kitten on a chair",
                          unknown])
    cases.append(other_config_case(rng, scenes[2], HIDDEN_CONFIG, "a photo of a dog",
                                   "an image of a large yellow triangle"))
    split_text = SPLIT_WORD_TEXTS[int(rng.integers(len(SPLIT_WORD_TEXTS)))]
    cases += occlusion_cases(rng, scenes, split_text)
    return cases + zeroshot_hidden_cases(rng, checks)


def _class_names(rng, low, high) -> list[str]:
    while True:
        names = [str(n) for n in rng.choice(ZERO_SHOT_CLASS_NAMES, size=int(rng.integers(low, high + 1)),
                                            replace=False)]
        if names != sorted(names):
            return names


def zeroshot_hidden_cases(rng, checks) -> list[Case]:
    """probe_zeroshot: 3-5 class names with one template, 4-6 class names with 3-5 templates; redrawn until every
    filled template fits the text encoder (16 positions) and every variant the case's check (in ``checks``) names
    differs from the reference by ``ZERO_SHOT_MIN_DIFFERENCE`` (the matrices are computed grader-side on the tiny
    CLIP's text encoder: milliseconds)."""
    from reference_solutions import clip as reference
    from xaikit.selfcheck.exercises.clip import load_model

    model, processor = load_model("embedded")

    def clear(case, variants) -> bool:
        names, templates = case.inputs["class_names"], case.inputs["templates"]
        tokenizer = processor.tokenizer
        if any(len(tokenizer.tokenize(template.format(name))) + 2 > tokenizer.model_max_length  # + start, end
               for name in names for template in templates):
            return False  # every text fits the text encoder's positions: truncation=True or not, the same texts
        want = reference.zero_shot_classifier(model, processor, names, templates)
        for variant in variants:
            got = reference.VARIANTS[variant]["zero_shot_classifier"](model, processor, names, templates)
            if got.shape == want.shape and np.abs(got - want).max() < ZERO_SHOT_MIN_DIFFERENCE:
                return False
        return True

    named = {check.id: check.variants for check in checks}
    single_variants, ensemble_variants = named["zeroshot.single"], named["zeroshot.ensemble"]
    for _ in range(ZERO_SHOT_ATTEMPTS):
        single_names, names = _class_names(rng, 3, 5), _class_names(rng, 4, 6)
        template = str(ZERO_SHOT_TEMPLATES[int(rng.integers(len(ZERO_SHOT_TEMPLATES)))])
        templates = [str(t) for t in rng.choice(ZERO_SHOT_TEMPLATES, size=int(rng.integers(3, 6)), replace=False)]
        single, ensemble = zeroshot_cases(single_names, template, names, templates)
        if clear(single, single_variants) and clear(ensemble, ensemble_variants):
            return [single, ensemble]
    raise RuntimeError("no zero-shot cases on which every known mistake shows")


def similarity_cases(rng, scenes) -> list[Case]:
    """probe_similarity: a scene with five texts, a non-square photo, a scene at 96 px."""
    from xaikit.photos import load_photo
    from xaikit.scenes import make_scene

    photo_texts = ["an image of the coffee", "a large orange circle in the centre", "a small green cross"]
    cases = [similarity_scene_case(rng, scenes[0], ["a photo of a dog"]),
             Case("sim_photo", "probe_similarity",
                  {"model": "embedded", "image": np.ascontiguousarray(load_photo("coffee")[::5, ::4]),
                   "texts": photo_texts},
                  f"Foto Kaffeetasse (verkleinert, nicht quadratisch), {len(photo_texts)} Beschreibungen",
                  frozenset({"embedded"}))]
    big = make_scene(int(rng.integers(10**6)), size=96)
    big_texts = [swap(big, "size_word", rng), big.caption]
    return cases + [Case("sim_large_image", "probe_similarity", {"model": "embedded", "image": big.image,
                                                                  "texts": big_texts},
                         f"Szene mit 96 px „{big.caption}“, 2 Beschreibungen", frozenset({"embedded"}))]


def ranking_cases(rng, scenes) -> list[Case]:
    """probe_ranking: two scenes with distinct texts, one with a three-way tie (the caption in three casings, in
    one of the ``TIE_ORDERS``). In the second scene and in the tie case the other descriptions are chosen so that
    ranking by the unnormalised dot product gives another order than by the cosine (``norm_sensitive_texts``)."""
    first = ranking_scene_case(rng, scenes[1], "rank_scene", "an image of the car")
    c, d = scenes[2], scenes[3]
    texts = norm_sensitive_texts(rng, c, {2: c.caption}, 5)
    casings = tied_casings(d.caption)
    tied = [casings[name] for name in TIE_ORDERS[int(rng.integers(len(TIE_ORDERS)))]]
    tie_texts = norm_sensitive_texts(rng, d, {0: tied[0], 2: tied[1], 3: tied[2]}, 5)  # not last: see tie_case
    return [first,
            Case("rank_scene_2", "probe_ranking", {"model": "embedded", "image": c.image, "texts": texts},
                 f"Szene „{c.caption}“, {len(texts)} Beschreibungen", frozenset({"embedded", "distinct"})),
            Case("rank_tie", "probe_ranking", {"model": "embedded", "image": d.image, "texts": tie_texts},
                 tie_label(d, tie_texts, tied), frozenset({"embedded", "ties"}))]


MIN_GAP = 2e-3  # between the sorted cosines (and the sorted dot products, scaled to the cosines') of a case
TEXT_ATTEMPTS = 300


def _descriptions(scene) -> list[str]:
    """Every caption of the scenes' vocabulary but the scene's own, and vaguer ones (other norms)."""
    import itertools

    from xaikit.scenes import _POSITION_PHRASE, COLOURS, POSITION_WORDS, SHAPE_CLASSES, SIZE_WORDS, make_caption

    captions = [make_caption(*words) for words in itertools.product(SHAPE_CLASSES, COLOURS, SIZE_WORDS, POSITION_WORDS)]
    k, c, s, p = scene.class_name, scene.colour, scene.size_word, _POSITION_PHRASE[scene.position_word]
    vague = [f"a {s} {k}", f"a {c} {k}", f"a {k} {p}", f"a {s} {c} {k}", f"a {k}"]
    return [t for t in captions + vague if t != scene.caption]


def _clear_gaps(values, tie) -> bool:
    """Gaps above MIN_GAP between the sorted values, but for the positions in ``tie``, which must be equal."""
    values = np.asarray(values, dtype=np.float64)
    gaps = np.diff(np.sort(values))
    if tie is None:
        return bool(gaps.min() > MIN_GAP)
    return bool(np.all(values[list(tie)] == values[tie[0]]) and np.sort(gaps)[len(tie) - 1] > MIN_GAP)


def norm_sensitive_texts(rng, scene, fixed: dict, count: int) -> list[str]:
    """``count`` descriptions of ``scene``: ``fixed`` (position -> text: the caption, or its tied casings)
    and others on which ranking by the unnormalised dot product differs from the reference's ranking.

    CLIP's text features have norms that differ by some 10 % between texts: two texts with close cosines
    swap places when the one with the lower cosine has the larger norm (the image norm scales all texts
    alike). Among all pairs of candidate texts (the caption included) that swap with clear gaps, one is drawn
    (seeded) and the other places are filled with seeded candidates; the first draw is kept on which the
    reference's ranking and the variant's differ, the variant's is not the ascending one (so it is named as
    itself), and both have clear gaps. Computed on the reference and the variant grader-side: the texts are
    hidden inputs."""
    from reference_solutions import clip as reference
    from xaikit.selfcheck.exercises.clip import load_model

    model, processor = load_model("embedded")
    caption = scene.caption
    pool = _descriptions(scene)
    everything = [caption, *pool]
    cosine = reference.clip_similarity(model, processor, scene.image, everything)[0].astype(np.float64)
    dot = reference._unnormalised_dot(model, processor, scene.image, everything).astype(np.float64)
    dot *= np.linalg.norm(cosine) / np.linalg.norm(dot)
    pairs = [(i, j) for i in range(len(everything)) for j in range(i + 1, len(everything))
             if (cosine[i] - cosine[j]) * (dot[i] - dot[j]) < 0
             and min(abs(cosine[i] - cosine[j]), abs(dot[i] - dot[j])) > MIN_GAP]
    free = [position for position in range(count) if position not in fixed]
    tie = tuple(sorted(fixed)) if len(fixed) >= 2 else None
    variant = reference.VARIANTS["dot_without_normalisation"]["rank_descriptions"]
    ascending = reference.VARIANTS["ascending_ranking"]["rank_descriptions"]
    for _ in range(TEXT_ATTEMPTS if pairs else 0):
        chosen = [everything[i] for i in pairs[int(rng.integers(len(pairs)))] if i != 0]
        rest = [t for t in pool if t not in chosen]
        chosen += [rest[int(i)] for i in rng.choice(len(rest), size=len(free) - len(chosen), replace=False)]
        texts = [""] * count
        for position, text in fixed.items():
            texts[position] = text
        for position, text in zip(free, rng.permutation(chosen)):
            texts[position] = str(text)
        cos, _ = reference.clip_similarity(model, processor, scene.image, texts)
        dots = reference._unnormalised_dot(model, processor, scene.image, texts)
        if not (_clear_gaps(cos, tie) and _clear_gaps(dots * np.linalg.norm(cos) / np.linalg.norm(dots), tie)):
            continue
        want = reference.rank_descriptions(model, processor, scene.image, texts)
        got = variant(model, processor, scene.image, texts)
        if got != want and got != ascending(model, processor, scene.image, texts):
            return texts
    raise RuntimeError(f"no descriptions of „{caption}“ rank differently by the unnormalised dot product "
                       f"({len(pairs)} pairs swap)")
