"""Checks of the CLIP exercise (Hugging Face transformers 5.x, embedded tiny CLIP).

Models travel into the sandbox as small specs, not pickles: ``"embedded"`` (the tiny CLIP,
``xaikit.load_clip``) or ``{"config": {...}, "seed": n}`` — a randomly initialised
``CLIPModel`` of another configuration (other widths, 3 layers, other head counts, other
image size and patch) with the tiny tokenizer and an image processor of matching size,
built deterministically (``torch.manual_seed``) inside the probe and cached per process.
Before every call the model's original weights are restored, so a student's function cannot
change the next case's model.

Hidden inputs: other scenes (seeded from the hidden seed), a downsampled non-square photo,
a scene at 96 px (resized by the processor), other descriptions and texts with words the
tiny vocabulary splits into several tokens, and another random configuration than the
public one. Tolerance: atol 1e-4 (float32 CLIP, different but equivalent computations).
"""

from __future__ import annotations

import xaikit  # noqa: F401  (torch + triton before anything that could import TensorFlow)

import copy
import json

import numpy as np

from ..compare import Failure, Tolerance, array_close, first_failure, numeric_array
from ..runner.probe import as_numpy, require
from . import Case, Check

NOTEBOOK = "clip"

# Imported by the zygote before forking submissions (autograder/runner/zygote.py): what the
# notebook's helpers import lazily (xaikit.load_clip), besides the notebook's own imports.
WARM_IMPORTS = [("transformers", ("CLIPModel", "CLIPProcessor")), ("transformers.utils.logging", ())]
TOLERANCE = Tolerance(rtol=1e-4, atol=1e-4)
PROBE_FUNCTIONS = {"probe_similarity": "clip_similarity", "probe_ranking": "rank_descriptions",
                   "probe_tokens": "token_importance", "probe_general": "clip_similarity"}

# Random configurations for the interface check (public != hidden); all with >= 3 layers.
PUBLIC_CONFIG = {"text": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 3, "num_attention_heads": 2},
                 "vision": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 3,
                            "num_attention_heads": 2, "image_size": 32, "patch_size": 8},
                 "projection_dim": 24}
HIDDEN_CONFIG = {"text": {"hidden_size": 48, "intermediate_size": 96, "num_hidden_layers": 3, "num_attention_heads": 3},
                 "vision": {"hidden_size": 40, "intermediate_size": 80, "num_hidden_layers": 3,
                            "num_attention_heads": 5, "image_size": 48, "patch_size": 12},
                 "projection_dim": 32}

# --- models: built from a spec inside whichever process runs the probe ----------------------

_MODELS: dict = {}


def _build(spec):
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

    from xaikit.models import load_clip

    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # no "Loading weights" bar on stderr in the self-test's output
    try:
        tiny_model, tiny_processor = load_clip("embedded", attn_implementation="eager")
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    if spec == "embedded":
        return tiny_model.eval(), tiny_processor
    tokenizer = tiny_processor.tokenizer
    text = dict(spec["config"]["text"], vocab_size=len(tokenizer), max_position_embeddings=tokenizer.model_max_length,
                bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                pad_token_id=tokenizer.pad_token_id)
    vision = dict(spec["config"]["vision"], num_channels=3)
    config = CLIPConfig(text_config=text, vision_config=vision, projection_dim=spec["config"]["projection_dim"])
    with torch.random.fork_rng():  # deterministic weights, the caller's random state untouched
        torch.manual_seed(spec["seed"])
        model = CLIPModel(config)
    model.set_attn_implementation("eager")
    size = vision["image_size"]
    old = tiny_processor.image_processor
    image_processor = CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size},
                                         do_resize=True, do_center_crop=True,
                                         image_mean=list(old.image_mean), image_std=list(old.image_std))
    return model.eval(), CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer)


def load_model(spec):
    """(model, processor) for a spec, with its original weights restored before every call
    (cheaper than a deep copy), so one call cannot change the model of the next."""
    key = json.dumps(spec, sort_keys=True)
    if key not in _MODELS:
        model, processor = _build(spec)
        _MODELS[key] = (model, processor, copy.deepcopy(model.state_dict()))
    model, processor, weights = _MODELS[key]
    model.load_state_dict(weights)
    model.set_attn_implementation("eager")
    return model.eval(), processor


# --- probes: run in the student's kernel (and in the grader on the reference) ---------------

def _vector(value, n):
    array = as_numpy(value, np.float64)
    if array.size == n and array.ndim > 1:  # (1, n) from logits_per_image or (n, 1) is still one value per text
        array = array.reshape(n)
    return array


def _similarity(namespace, model, processor, image, texts):
    result = require(namespace, "clip_similarity")(model, processor, image, list(texts))
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise TypeError("clip_similarity muss ein Paar (Kosinus-Ähnlichkeiten, Softmax) zurückgeben / "
                        "must return a pair (cosine similarities, softmax)")
    return {"cosine": _vector(result[0], len(texts)), "probs": _vector(result[1], len(texts))}


def _ranking(namespace, model, processor, image, texts):
    ranked = require(namespace, "rank_descriptions")(model, processor, image, list(texts))
    return {"ranking": np.array([str(t) for t in ranked], dtype=str)}


def _tokens(namespace, model, processor, text):
    result = require(namespace, "token_importance")(model, processor, text)
    if isinstance(result, dict):
        result = list(result.items())
    tokens, scores = [], []
    for pair in result:
        token, score = pair
        tokens.append(str(token))
        scores.append(float(as_numpy(score, np.float64).reshape(-1)[0]))
    return {"tokens": np.array(tokens, dtype=str), "scores": np.array(scores, dtype=np.float64)}


def probe_similarity(namespace, inputs):
    model, processor = load_model(inputs["model"])
    return _similarity(namespace, model, processor, inputs["image"], inputs["texts"])


def probe_ranking(namespace, inputs):
    model, processor = load_model(inputs["model"])
    return _ranking(namespace, model, processor, inputs["image"], inputs["texts"])


def probe_tokens(namespace, inputs):
    model, processor = load_model(inputs["model"])
    return _tokens(namespace, model, processor, inputs["text"])


def probe_general(namespace, inputs):
    """All three functions, unchanged, on a model of another configuration."""
    model, processor = load_model(inputs["model"])
    result = _similarity(namespace, model, processor, inputs["image"], inputs["texts"])
    model, processor = load_model(inputs["model"])
    result.update(_ranking(namespace, model, processor, inputs["image"], inputs["texts"]))
    model, processor = load_model(inputs["model"])
    result.update(_tokens(namespace, model, processor, inputs["text"]))
    return result


# --- hidden and public inputs -----------------------------------------------------------------

def _swap(scene, attribute, rng):
    from xaikit.scenes import COLOURS, POSITION_WORDS, SHAPE_CLASSES, SIZE_WORDS, make_caption

    values = {"class_name": SHAPE_CLASSES, "colour": COLOURS, "size_word": SIZE_WORDS,
              "position_word": POSITION_WORDS}[attribute]
    words = {k: getattr(scene, k) for k in ("class_name", "colour", "size_word", "position_word")}
    others = [v for v in values if v != words[attribute]]
    words[attribute] = others[int(rng.integers(len(others)))]
    return make_caption(words["class_name"], words["colour"], words["size_word"], words["position_word"])


def _scene_label(scene, n_texts):
    return f"Szene „{scene.caption}“, {n_texts} Beschreibungen"


def build_cases(seed: int, public: bool) -> list[Case]:
    from xaikit.photos import load_photo
    from xaikit.scenes import make_scene

    rng = np.random.default_rng(seed)
    scenes = [make_scene(int(rng.integers(10**6)), size=64) for _ in range(5)]
    cases = []

    # clip_similarity: the true caption among captions with one attribute changed, and a generic text
    a = scenes[0]
    texts = [a.caption, _swap(a, "colour", rng), _swap(a, "class_name", rng), _swap(a, "position_word", rng)]
    if not public:
        texts.append("a photo of a dog")
    cases.append(Case("sim_scene", "probe_similarity", {"model": "embedded", "image": a.image, "texts": texts},
                      _scene_label(a, len(texts)), frozenset({"embedded"})))
    if public:
        photo, photo_name = load_photo("chelsea")[::6, ::6], "Foto Katze (verkleinert)"
        photo_texts = ["a photo of a cat", "a photo of a dog"]
    else:
        photo, photo_name = load_photo("coffee")[::5, ::4], "Foto Kaffeetasse (verkleinert, nicht quadratisch)"
        photo_texts = ["an image of the coffee", "a large orange circle in the centre", "a small green cross"]
    cases.append(Case("sim_photo", "probe_similarity", {"model": "embedded", "image": np.ascontiguousarray(photo),
                                                         "texts": photo_texts},
                      f"{photo_name}, {len(photo_texts)} Beschreibungen", frozenset({"embedded"})))
    if not public:
        big = make_scene(int(rng.integers(10**6)), size=96)
        big_texts = [_swap(big, "size_word", rng), big.caption]
        cases.append(Case("sim_large_image", "probe_similarity",
                          {"model": "embedded", "image": big.image, "texts": big_texts},
                          f"Szene mit 96 px „{big.caption}“, 2 Beschreibungen", frozenset({"embedded"})))

    # rank_descriptions: distinct texts, and one set with a tie (same tokens: the tokenizer lower-cases)
    b = scenes[1]
    texts = [_swap(b, "colour", rng), b.caption, _swap(b, "size_word", rng), _swap(b, "class_name", rng),
             "a photo of a bird" if public else "an image of the car"]
    cases.append(Case("rank_scene", "probe_ranking", {"model": "embedded", "image": b.image, "texts": texts},
                      _scene_label(b, len(texts)), frozenset({"embedded", "distinct"})))
    if not public:
        c = scenes[2]
        texts = [_swap(c, "position_word", rng), _swap(c, "colour", rng), c.caption, _swap(c, "class_name", rng),
                 f"a {c.size_word} {c.class_name}"]  # vaguer: its text embedding has another norm
        cases.append(Case("rank_scene_2", "probe_ranking", {"model": "embedded", "image": c.image, "texts": texts},
                          _scene_label(c, len(texts)), frozenset({"embedded", "distinct"})))
    d = scenes[3]
    tie = d.caption.upper() if public else d.caption.title()
    texts = [_swap(d, "class_name", rng), d.caption, _swap(d, "colour", rng), tie]
    cases.append(Case("rank_tie", "probe_ranking", {"model": "embedded", "image": d.image, "texts": texts},
                      f"Szene „{d.caption}“, Beschreibungen mit Gleichstand („{d.caption}“ und „{tie}“)",
                      frozenset({"embedded", "ties"})))

    # token_importance: a caption, a longer sentence, words the tiny vocabulary splits up
    token_texts = ([scenes[4].caption, "a photo of a small dog"] if public else
                   [scenes[4].caption, "an image of the large purple cross in the centre",
                    "a kitten on a chair"])
    for i, text in enumerate(token_texts):
        cases.append(Case(f"tokens_{i}", "probe_tokens", {"model": "embedded", "text": text},
                          f"Text „{text}“", frozenset({"embedded"})))

    # the same functions on a randomly initialised CLIPModel of another configuration
    config = PUBLIC_CONFIG if public else HIDDEN_CONFIG
    e = scenes[2]
    general_texts = [e.caption, _swap(e, "colour", rng), "a photo of a cat" if public else "a photo of a dog"]
    t, v = config["text"], config["vision"]
    cases.append(Case("other_config", "probe_general",
                      {"model": {"config": config, "seed": int(rng.integers(10**6))}, "image": e.image,
                       "texts": general_texts,
                       "text": "a small blue star on the right" if public else "an image of a large yellow triangle"},
                      f"zufällig initialisiertes CLIPModel (Text: {t['num_hidden_layers']} Schichten, "
                      f"{t['num_attention_heads']} Köpfe, Breite {t['hidden_size']}; Bild: {v['image_size']} px, "
                      f"Patch {v['patch_size']})", frozenset({"other_config"})))
    return cases


# --- checks ----------------------------------------------------------------------------------

def _strip(token: str) -> str:
    return token[:-4] if token.endswith("</w>") else token


def _same_tokens(student, expected):
    if "tokens" not in student:
        return Failure("invalid_result", {"reason": "`tokens` fehlt / missing"})
    got = [_strip(str(t)) for t in np.asarray(student["tokens"]).ravel()]
    want = [_strip(str(t)) for t in np.asarray(expected["tokens"]).ravel()]
    if got != want:
        return Failure("tokens", {"expected": want, "got": got})
    return None


def _same_ranking(student, expected):
    if "ranking" not in student:
        return Failure("invalid_result", {"reason": "`ranking` fehlt / missing"})
    got = [str(t) for t in np.asarray(student["ranking"]).ravel()]
    want = [str(t) for t in np.asarray(expected["ranking"]).ravel()]
    if got == want:
        return None
    if [t.lower() for t in got] == [t.lower() for t in want]:
        return Failure("ranking_ties", {"expected": want, "got": got})
    return Failure("ranking", {"expected": want, "got": got})


def _cosine(student, expected, case):
    return array_close(student, expected, "cosine", TOLERANCE)


def _probs(student, expected, case):
    return array_close(student, expected, "probs", TOLERANCE)


def _probs_sum(student, expected, case):
    got, failure = numeric_array(student, "probs")
    if failure:
        return failure
    want = np.asarray(expected["probs"], dtype=np.float64)
    if got.shape != want.shape:
        return Failure("shape", {"key": "probs", "expected": tuple(want.shape), "got": tuple(got.shape)})
    total = float(np.sum(got))
    if abs(total - float(np.sum(want))) <= TOLERANCE.atol:  # the reference's sum is 1
        return None
    return Failure("probs_sum", {"sum": total})


def _ranking_criterion(student, expected, case):
    return _same_ranking(student, expected)


def _tokens_criterion(student, expected, case):
    return _same_tokens(student, expected)


def _scores(student, expected, case):
    return first_failure(_same_tokens(student, expected), array_close(student, expected, "scores", TOLERANCE))


def _general(student, expected, case):
    failure = first_failure(_cosine(student, expected, case), _probs(student, expected, case),
                            _same_ranking(student, expected), _scores(student, expected, case))
    if failure is None:
        return None
    part = {"cosine": "clip_similarity (Kosinus)", "probs": "clip_similarity (Softmax)"}.get(
        failure.params.get("key"), {"ranking": "rank_descriptions", "ranking_ties": "rank_descriptions",
                                    "tokens": "token_importance"}.get(failure.key, "token_importance"))
    return Failure("other_config", {"part": part})


SIMILARITY_TASK, RANKING_TASK, TOKENS_TASK, GENERAL_TASK = (
    "test_clip_similarity", "test_rank_descriptions", "test_token_importance", "test_clip_general")
TOKEN_VARIANTS = ("start_token_row", "includes_special_tokens", "first_layer", "max_over_heads",
                  "eos_by_argmax", "not_normalised")
ALL_VARIANTS = ("dot_without_normalisation", "softmax_wrong_axis", "softmax_of_cosine", "ascending_ranking",
                *TOKEN_VARIANTS, "hardcoded_layer_index")

CHECKS = [
    Check("similarity.cosine", SIMILARITY_TASK, 2,
          {"de": "Kosinus-Ähnlichkeit von Bild und Texten", "en": "cosine similarity of image and texts"},
          "probe_similarity", _cosine, ("dot_without_normalisation",), tags=frozenset({"embedded"})),
    Check("similarity.softmax", SIMILARITY_TASK, 1,
          {"de": "Softmax von logits_per_image über die Texte", "en": "softmax of logits_per_image over the texts"},
          "probe_similarity", _probs, ("softmax_wrong_axis", "softmax_of_cosine"), tags=frozenset({"embedded"})),
    Check("similarity.softmax_sums_to_one", SIMILARITY_TASK, 1,
          {"de": "Die Softmax summiert sich über die Texte zu 1", "en": "the softmax sums to 1 over the texts"},
          "probe_similarity", _probs_sum, ("softmax_wrong_axis",), tags=frozenset({"embedded"})),
    Check("ranking.order", RANKING_TASK, 2,
          {"de": "Rangfolge der Beschreibungen (absteigend nach Ähnlichkeit)",
           "en": "ranking of the descriptions (descending by similarity)"},
          "probe_ranking", _ranking_criterion, ("ascending_ranking", "dot_without_normalisation"),
          tags=frozenset({"embedded", "distinct"})),
    Check("ranking.ties", RANKING_TASK, 1,
          {"de": "Gleichstand: ursprüngliche Reihenfolge bleibt erhalten", "en": "ties keep the input order"},
          "probe_ranking", _ranking_criterion, ("ascending_ranking", "dot_without_normalisation"),
          tags=frozenset({"embedded", "ties"})),
    Check("tokens.tokens", TOKENS_TASK, 1,
          {"de": "Token-Wichtigkeit: dieselben Token in derselben Reihenfolge (ohne Sondertoken)",
           "en": "token importance: same tokens in the same order (no special tokens)"},
          "probe_tokens", _tokens_criterion, ("includes_special_tokens", "eos_by_argmax"),
          tags=frozenset({"embedded"})),
    Check("tokens.scores", TOKENS_TASK, 3,
          {"de": "Token-Wichtigkeit: Attention des EOS-Tokens, letzte Schicht, Mittel über Köpfe, Summe 1",
           "en": "token importance: EOS token's attention, last layer, mean over heads, sum 1"},
          "probe_tokens", _scores, TOKEN_VARIANTS, tags=frozenset({"embedded"})),
    Check("general.other_config", GENERAL_TASK, 2,
          {"de": "Alle drei Funktionen unverändert auf einem CLIPModel anderer Konfiguration",
           "en": "all three functions unchanged on a CLIPModel of another configuration"},
          "probe_general", _general, ALL_VARIANTS, tags=frozenset({"other_config"})),
]

MESSAGES = {
    "dot_without_normalisation": {
        "de": "Du berechnest das Skalarprodukt der Merkmalsvektoren ohne sie auf Länge 1 zu normieren ({case}). "
              "Die Kosinus-Ähnlichkeit ist ⟨a, b⟩ / (‖a‖·‖b‖): teile beide Vektoren erst durch ihre Norm "
              "(oder verwende `image_embeds`/`text_embeds` der Modellausgabe, die schon normiert sind).",
        "en": "You take the dot product of the feature vectors without normalising them to length 1 ({case}). "
              "Cosine similarity is ⟨a, b⟩ / (‖a‖·‖b‖): divide both vectors by their norm first "
              "(or use the model output's `image_embeds`/`text_embeds`, which are normalised already).",
    },
    "softmax_wrong_axis": {
        "de": "Du bildest die Softmax über die falsche Achse ({case}): `logits_per_image` hat die Form "
              "(Bilder, Texte); mit einem Bild ergibt die Softmax über die Bilder lauter Einsen. "
              "Nimm `softmax(dim=-1)` bzw. `dim=1` (über die Texte).",
        "en": "You take the softmax over the wrong axis ({case}): `logits_per_image` has shape (images, texts); "
              "with one image the softmax over images is all ones. Use `softmax(dim=-1)` or `dim=1` (over the texts).",
    },
    "softmax_of_cosine": {
        "de": "Du bildest die Softmax über die Kosinus-Ähnlichkeiten statt über `logits_per_image` ({case}). "
              "CLIP skaliert die Kosinus-Werte mit `exp(logit_scale)` (≈ 100 beim echten CLIP); ohne diesen "
              "Faktor ist die Verteilung viel zu flach.",
        "en": "You take the softmax of the cosine similarities instead of `logits_per_image` ({case}). "
              "CLIP scales the cosines by `exp(logit_scale)` (≈ 100 for the real CLIP); without it the "
              "distribution is far too flat.",
    },
    "probs_sum": {
        "de": "Deine Softmax-Werte summieren sich über die Texte zu {sum:.4g} statt zu 1 ({case}). Die Softmax "
              "muss über die Texte gebildet werden (eine Wahrscheinlichkeitsverteilung je Bild).",
        "en": "Your softmax values sum to {sum:.4g} over the texts instead of 1 ({case}). The softmax must be "
              "taken over the texts (one probability distribution per image).",
    },
    "ascending_ranking": {
        "de": "Deine Rangfolge ist aufsteigend sortiert ({case}): die ähnlichste Beschreibung muss zuerst "
              "kommen (absteigend, z. B. `np.argsort(-sim, kind=\"stable\")`).",
        "en": "Your ranking is sorted in ascending order ({case}): the most similar description must come "
              "first (descending, e.g. `np.argsort(-sim, kind=\"stable\")`).",
    },
    "ranking": {
        "de": "Die Rangfolge stimmt nicht ({case}): erwartet {expected}, erhalten {got}.",
        "en": "The ranking is wrong ({case}): expected {expected}, got {got}.",
    },
    "ranking_ties": {
        "de": "Bei Gleichstand ist die Reihenfolge falsch ({case}): Texte mit gleicher Ähnlichkeit müssen in "
              "ihrer ursprünglichen Reihenfolge bleiben (stabil sortieren; `np.argsort(sim)[::-1]` kehrt sie "
              "um). Erwartet {expected}, erhalten {got}.",
        "en": "Ties are in the wrong order ({case}): texts with equal similarity must keep their input order "
              "(sort stably; `np.argsort(sim)[::-1]` reverses them). Expected {expected}, got {got}.",
    },
    "tokens": {
        "de": "Die Token stimmen nicht ({case}): erwartet {expected}, erhalten {got}. Verwende "
              "`processor.tokenizer.convert_ids_to_tokens` und lass Sondertoken (Start, Ende, Padding) weg.",
        "en": "The tokens are wrong ({case}): expected {expected}, got {got}. Use "
              "`processor.tokenizer.convert_ids_to_tokens` and leave out special tokens (start, end, padding).",
    },
    "start_token_row": {
        "de": "Du nimmst die Attention-Zeile des Start-Tokens (Position 0) statt der des End-of-Text-Tokens ({case}). "
              "Wegen der kausalen Maske sieht das Start-Token nur sich selbst; die Textrepräsentation von CLIP "
              "ist das EOS-Token, also dessen Zeile.",
        "en": "You take the attention row of the start token (position 0) instead of the end-of-text token's ({case}). "
              "Because of the causal mask the start token only sees itself; CLIP's text representation is the "
              "EOS token, so use its row.",
    },
    "includes_special_tokens": {
        "de": "Deine Liste enthält Sondertoken (<|startoftext|>, <|endoftext|>) ({case}). Lass sie weg und "
              "normiere die übrigen Werte auf Summe 1.",
        "en": "Your list contains special tokens (<|startoftext|>, <|endoftext|>) ({case}). Leave them out and "
              "normalise the remaining scores to sum 1.",
    },
    "first_layer": {
        "de": "Du verwendest die Attention der ersten Schicht (`attentions[0]`) statt der letzten "
              "(`attentions[-1]`) ({case}).",
        "en": "You use the first layer's attention (`attentions[0]`) instead of the last one's "
              "(`attentions[-1]`) ({case}).",
    },
    "hardcoded_layer_index": {
        "de": "Du verwendest eine feste Schichtnummer (`attentions[1]`) ({case}): beim kleinen CLIP ist das die "
              "letzte Schicht, bei einem Modell mit mehr Schichten nicht. Nimm `attentions[-1]`.",
        "en": "You use a fixed layer index (`attentions[1]`) ({case}): for the tiny CLIP that is the last layer, "
              "for a model with more layers it is not. Use `attentions[-1]`.",
    },
    "max_over_heads": {
        "de": "Du nimmst das Maximum über die Attention-Köpfe statt des Mittelwerts ({case}). "
              "Gefordert ist `.mean(dim=…)` über die Köpfe.",
        "en": "You take the maximum over the attention heads instead of the mean ({case}). "
              "Required is `.mean(dim=…)` over the heads.",
    },
    "eos_by_argmax": {
        "de": "Du bestimmst die Position des End-of-Text-Tokens mit `argmax` der Token-IDs ({case}). Das stimmt "
              "nur, wenn EOS die größte ID hat (wie beim OpenAI-Vokabular); beim kleinen CLIP hat EOS die ID 1. "
              "Suche die erste Position mit `tokenizer.eos_token_id`.",
        "en": "You find the end-of-text position with `argmax` of the token ids ({case}). That is right only "
              "when EOS has the largest id (as in OpenAI's vocabulary); in the tiny CLIP EOS has id 1. "
              "Look for the first position holding `tokenizer.eos_token_id`.",
    },
    "not_normalised": {
        "de": "Deine Wichtigkeiten summieren sich nicht zu 1 ({case}): nach dem Weglassen der Sondertoken "
              "müssen die Werte durch ihre Summe geteilt werden.",
        "en": "Your importances do not sum to 1 ({case}): after dropping the special tokens divide the "
              "scores by their sum.",
    },
    "other_config": {
        "de": "Auf einem CLIPModel anderer Konfiguration ({case}) weicht {part} von der Referenz ab. Beachte "
              "die Meldungen der anderen Prüfungen dieser Funktion; bestehen diese, sind meist Größen fest "
              "einprogrammiert (Schicht- oder Kopfanzahl, Bildgröße, Position des EOS-Tokens): lies sie aus dem "
              "Modell, dem Prozessor und den Token-IDs.",
        "en": "On a CLIPModel of another configuration ({case}) {part} differs from the reference. See the "
              "messages of this function's other checks; if those pass, sizes are usually hard-coded (number of "
              "layers or heads, image size, position of the EOS token): read them from the model, the processor "
              "and the token ids.",
    },
}


# --- pictures for the feedback page ---------------------------------------------------------

_CAPTION = {"de": "{case}: deine Token-Wichtigkeit neben der Referenz",
            "en": "{case}: your token importance next to the reference"}


def figures(case, student_result, expected_result, language):
    """Token-importance bars of the student next to the reference's (token-importance checks only)."""
    from ..feedback import bars_to_draw, drawable, new_figure, png, text

    if "scores" not in expected_result:
        return []
    panels = [(text("fig_reference", language), expected_result["tokens"], expected_result["scores"])]
    tokens, scores = student_result.get("tokens"), drawable(student_result.get("scores"))
    if tokens is not None and scores is not None and np.asarray(tokens).size == scores.size:
        panels.insert(0, (text("fig_student", language), tokens, scores))
    figure = new_figure(3.6 * len(panels), 3.0)
    for index, (title, names, values) in enumerate(panels):
        axes = figure.add_subplot(1, len(panels), index + 1)
        labels, values = bars_to_draw(np.asarray(names).ravel(), np.nan_to_num(np.asarray(values, dtype=np.float64).ravel()))
        axes.barh(range(values.size), values, color="#c22" if index == 0 and len(panels) == 2 else "#333")
        axes.set_yticks(range(values.size), labels, fontsize=8)
        axes.invert_yaxis()
        axes.set_title(title, fontsize=9)
    return [(_CAPTION[language].format(case=case.label), png(figure))]
