"""Self-check of the CLIP exercise (Hugging Face transformers 5.x, embedded tiny CLIP): probes,
public cases and checks.

Models travel into the kernel as small specs, not pickles: ``"embedded"`` (the tiny CLIP,
``xaikit.load_clip``) or ``{"config": {...}, "seed": n}`` — a randomly initialised
``CLIPModel`` of another configuration with the tiny tokenizer and an image processor of matching
size, built deterministically (``torch.manual_seed``) inside the probe and cached per process.
Before every call the model's original weights are restored, so a student's function cannot
change the next case's model. Tolerance: atol 1e-4 (float32 CLIP, different but equivalent computations).
"""

from __future__ import annotations

import xaikit  # noqa: F401  (torch + triton before anything that could import TensorFlow)

import copy
import json

import numpy as np

from ..compare import Failure, Tolerance, all_of, close, numeric_array, same_shape, within_limit
from ..probe import as_numpy, cached_model, require
from ..core import Case, Check
from ..messages import Message

NOTEBOOK = "clip"

# Imported by the zygote before forking submissions (autograder/runner/zygote.py): what the
# notebook's helpers import lazily (xaikit.load_clip), besides the notebook's own imports.
WARM_IMPORTS = [("transformers", ("CLIPModel", "CLIPProcessor")), ("transformers.utils.logging", ())]
TOLERANCE = Tolerance(rtol=1e-4, atol=1e-4)
PROBE_FUNCTIONS = {"probe_similarity": "clip_similarity", "probe_ranking": "rank_descriptions",
                   "probe_tokens": "token_importance", "probe_general": "clip_similarity",
                   "probe_occlusion": "word_occlusion", "probe_occlusion_images": "word_occlusion",
                   "probe_zeroshot": "zero_shot_classifier"}

# A random configuration for the interface check (the grader's hidden cases use others); >= 3 layers.
PUBLIC_CONFIG = {"text": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 3, "num_attention_heads": 2},
                 "vision": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 3,
                            "num_attention_heads": 2, "image_size": 32, "patch_size": 8},
                 "projection_dim": 24}

# --- models: built from a spec inside whichever process runs the probe ----------------------

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
    def build():
        model, processor = _build(spec)
        return model, processor, copy.deepcopy(model.state_dict())

    model, processor, weights = cached_model(("clip", json.dumps(spec, sort_keys=True)), build)
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
        raise TypeError("clip_similarity muss ein Paar (Kosinus-Ähnlichkeiten, Softmax-Wahrscheinlichkeiten) "
                        "zurückgeben / must return a pair (cosine similarities, softmax probabilities)")
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


def _occlusion(namespace, model, processor, image, text):
    """word_occlusion's result as a float array: the array itself, or the second part of a pair (words, deltas)."""
    result = require(namespace, "word_occlusion")(model, processor, image, text)
    if isinstance(result, tuple) and len(result) == 2 and not np.isscalar(result[0]) \
            and all(isinstance(word, str) for word in result[0]):
        result = result[1]
    array = as_numpy(result, np.float64)
    if array.ndim > 1 and array.size == max(array.shape):  # (1, n) or (n, 1) is still one value per word
        array = array.reshape(-1)
    return array


def probe_occlusion(namespace, inputs):
    model, processor = load_model(inputs["model"])
    return {"deltas": _occlusion(namespace, model, processor, inputs["image"], inputs["text"])}


def probe_occlusion_images(namespace, inputs):
    """The same text with two images."""
    model, processor = load_model(inputs["model"])
    deltas = _occlusion(namespace, model, processor, inputs["image"], inputs["text"])
    model, processor = load_model(inputs["model"])
    return {"deltas": deltas, "deltas_other": _occlusion(namespace, model, processor, inputs["other_image"],
                                                         inputs["text"])}


def probe_zeroshot(namespace, inputs):
    """zero_shot_classifier's class embedding matrix as a float array (a tensor, an array, or a list of rows)."""
    model, processor = load_model(inputs["model"])
    result = require(namespace, "zero_shot_classifier")(model, processor, list(inputs["class_names"]),
                                                        list(inputs["templates"]))
    if isinstance(result, (list, tuple)):
        result = [as_numpy(row, np.float64) for row in result]
    return {"weights": as_numpy(result, np.float64)}


# --- public inputs (the grader's hidden ones are built on its side) -----------------------------------------------------------------

def swap(scene, attribute, rng):
    from xaikit.scenes import COLOURS, POSITION_WORDS, SHAPE_CLASSES, SIZE_WORDS, make_caption

    values = {"class_name": SHAPE_CLASSES, "colour": COLOURS, "size_word": SIZE_WORDS,
              "position_word": POSITION_WORDS}[attribute]
    words = {k: getattr(scene, k) for k in ("class_name", "colour", "size_word", "position_word")}
    others = [v for v in values if v != words[attribute]]
    words[attribute] = others[int(rng.integers(len(others)))]
    return make_caption(words["class_name"], words["colour"], words["size_word"], words["position_word"])


def scene_label(scene, n_texts):
    return f"Szene „{scene.caption}“, {n_texts} Beschreibungen"


def build_public_cases(seed: int) -> list[Case]:
    """One generator for all probes, drawn from in a fixed order (the order fixes the cases)."""
    from xaikit.photos import load_photo

    rng = np.random.default_rng(seed)
    scenes = make_scenes(rng)
    cases = [similarity_scene_case(rng, scenes[0], [])]
    cases.append(Case("sim_photo", "probe_similarity",
                      {"model": "embedded", "image": np.ascontiguousarray(load_photo("chelsea")[::6, ::6]),
                       "texts": ["a photo of a cat", "a photo of a dog"]},
                      "Foto Katze (verkleinert), 2 Beschreibungen", frozenset({"embedded"})))
    cases.append(ranking_scene_case(rng, scenes[1], "rank_scene", "a photo of a bird"))
    cases.append(tie_case(rng, scenes[3]))
    # the third text holds a character the tiny tokenizer does not know (four <|unk|> tokens, one per byte)
    cases += token_cases([scenes[4].caption, "a photo of a small dog", "a small red star \U0001F600"])
    cases.append(other_config_case(rng, scenes[2], PUBLIC_CONFIG, "a photo of a cat", "a small blue star on the right"))
    cases += occlusion_cases(rng, scenes, "a photo of a kitten on the left")
    return cases + zeroshot_cases(["triangle", "star", "circle"], "a {} shape", ["star", "circle", "cross", "triangle"],
                                  ["a {}", "a photo of a {}", "a large {} in the centre"])


# Case builders the grader's hidden cases share (seeded by the generator they are given)

def make_scenes(rng):
    from xaikit.scenes import make_scene

    return [make_scene(int(rng.integers(10**6)), size=64) for _ in range(5)]


def similarity_scene_case(rng, a, extra_texts) -> Case:
    """clip_similarity: the true caption among captions with one attribute changed (and ``extra_texts``)."""
    texts = [a.caption, swap(a, "colour", rng), swap(a, "class_name", rng), swap(a, "position_word", rng),
             *extra_texts]
    return Case("sim_scene", "probe_similarity", {"model": "embedded", "image": a.image, "texts": texts},
                scene_label(a, len(texts)), frozenset({"embedded"}))


def ranking_scene_case(rng, b, case_id, other_text) -> Case:
    """rank_descriptions: distinct texts."""
    texts = [swap(b, "colour", rng), b.caption, swap(b, "size_word", rng), swap(b, "class_name", rng), other_text]
    return Case(case_id, "probe_ranking", {"model": "embedded", "image": b.image, "texts": texts},
                scene_label(b, len(texts)), frozenset({"embedded", "distinct"}))


def tied_casings(caption: str) -> dict[str, str]:
    """One description in three casings: the same tokens (the tokenizer lower-cases), so the same cosine."""
    return {"lower": caption, "title": caption.title(), "upper": caption.upper()}


def tie_label(scene, texts, tied) -> str:
    return (f"Szene „{scene.caption}“, {len(texts)} Beschreibungen mit Gleichstand "
            f"({' / '.join(f'„{t}“' for t in tied)})")


def tie_case(rng, d, order=("title", "lower", "upper")) -> Case:
    """rank_descriptions with a three-way tie: the scene's caption in three casings, in an input order that is
    neither the texts' order nor its reverse (Python compares "a..." > "A Large..." > "A LARGE..."), so keeping
    the input order, ordering ties by the texts (``sorted`` over (cosine, text) pairs) and reversing them
    (``np.argsort(sim)[::-1]``) give three different rankings. None of the tied texts comes last: in a batch the
    text encoder's matrix products may round the last text's rows differently (seen: 1 ulp), and a tie must be
    exact (``tests/test_clip_checks.py`` checks it)."""
    casings = tied_casings(d.caption)
    tied = [casings[name] for name in order]
    other, another = swap(d, "class_name", rng), swap(d, "colour", rng)
    texts = [tied[0], other, tied[1], tied[2], another]
    return Case("rank_tie", "probe_ranking", {"model": "embedded", "image": d.image, "texts": texts},
                tie_label(d, texts, tied), frozenset({"embedded", "ties"}))


def token_cases(texts) -> list[Case]:
    return [Case(f"tokens_{i}", "probe_tokens", {"model": "embedded", "text": text}, f"Text „{text}“",
                 frozenset({"embedded"})) for i, text in enumerate(texts)]


def other_config_case(rng, e, config, generic_text, token_text) -> Case:
    """The same functions on a randomly initialised CLIPModel of another configuration."""
    general_texts = [e.caption, swap(e, "colour", rng), generic_text]
    t, v = config["text"], config["vision"]
    return Case("other_config", "probe_general",
                {"model": {"config": config, "seed": int(rng.integers(10**6))}, "image": e.image,
                 "texts": general_texts, "text": token_text},
                f"zufällig initialisiertes CLIPModel (Text: {t['num_hidden_layers']} Schichten, "
                f"{t['num_attention_heads']} Köpfe, Breite {t['hidden_size']}; Bild: {v['image_size']} px, "
                f"Patch {v['patch_size']})", frozenset({"other_config"}))


def occlusion_cases(rng, scenes, split_text) -> list[Case]:
    """word_occlusion: a scene with its own caption; a scene with ``split_text`` (a word the tiny vocabulary splits
    into several tokens); the caption of one more scene with its own image and with another scene's image."""
    extra = make_scenes(rng)[0]
    first, second, other = scenes[0], scenes[1], scenes[3]
    return [Case("occlusion_scene", "probe_occlusion", {"model": "embedded", "image": first.image,
                                                         "text": first.caption},
                 f"Szene „{first.caption}“ mit ihrer Beschreibung", frozenset({"embedded"})),
            Case("occlusion_split", "probe_occlusion", {"model": "embedded", "image": second.image, "text": split_text},
                 f"Szene „{second.caption}“, Text „{split_text}“", frozenset({"embedded"})),
            Case("occlusion_images", "probe_occlusion_images",
                 {"model": "embedded", "image": extra.image, "other_image": other.image, "text": extra.caption},
                 f"Text „{extra.caption}“ mit seiner Szene und mit der Szene „{other.caption}“",
                 frozenset({"embedded"}))]


def zeroshot_cases(single_classes, template, classes, templates) -> list[Case]:
    """zero_shot_classifier: one template (each row the class text's normalised embedding), and an ensemble of
    several templates; the class names in an order that is not alphabetical (rows follow the given order)."""
    def names(values):
        return ", ".join(values)

    def shown(template):  # the label shows the placeholder as ⟨Klasse⟩ (messages hold no braces)
        return f"„{template.replace('{}', '⟨Klasse⟩')}“"

    return [Case("zeroshot_single", "probe_zeroshot",
                 {"model": "embedded", "class_names": list(single_classes), "templates": [template]},
                 f"{len(single_classes)} Klassen ({names(single_classes)}), eine Vorlage {shown(template)}",
                 frozenset({"single_template"})),
            Case("zeroshot_ensemble", "probe_zeroshot",
                 {"model": "embedded", "class_names": list(classes), "templates": list(templates)},
                 f"{len(classes)} Klassen ({names(classes)}), {len(templates)} Vorlagen "
                 f"({', '.join(shown(t) for t in templates)})", frozenset({"ensemble"}))]


# --- checks ----------------------------------------------------------------------------------

def _strip(token: str) -> str:
    return token[:-4] if token.endswith("</w>") else token


def _same_tokens(student, expected, case=None):
    if "tokens" not in student:
        return Failure("invalid_result", {"reason": Message("result_key_missing", key="tokens")})
    got = [_strip(str(t)) for t in np.asarray(student["tokens"]).ravel()]
    want = [_strip(str(t)) for t in np.asarray(expected["tokens"]).ravel()]
    if got != want:
        return Failure("tokens", {"expected": want, "got": got})
    return None


def _same_ranking(student, expected, case=None):
    if "ranking" not in student:
        return Failure("invalid_result", {"reason": Message("result_key_missing", key="ranking")})
    got = [str(t) for t in np.asarray(student["ranking"]).ravel()]
    want = [str(t) for t in np.asarray(expected["ranking"]).ravel()]
    if got == want:
        return None
    if [t.lower() for t in got] == [t.lower() for t in want]:
        return Failure("ranking_ties", {"expected": want, "got": got})
    return Failure("ranking", {"expected": want, "got": got})


def _probs_sum(student, expected, case):
    got, failure = numeric_array(student, "probs")
    if failure:
        return failure
    want = np.asarray(expected["probs"], dtype=np.float64)
    if got.shape != want.shape:
        return Failure("shape", {"key": "probs", "expected": tuple(want.shape), "got": tuple(got.shape)})
    total = float(np.sum(got))
    if within_limit("probs_sum", abs(total - float(np.sum(want))), TOLERANCE.atol):  # the reference's sum is 1
        return None
    return Failure("probs_sum", {"sum": total})


_scores = all_of(_same_tokens, close("scores", TOLERANCE))


def _general(student, expected, case):
    failure = all_of(close("cosine", TOLERANCE), close("probs", TOLERANCE), _same_ranking, _scores)(
        student, expected, case)
    if failure is None:
        return None
    part = {"cosine": "clip_similarity (`cosine`)", "probs": "clip_similarity (`probs`)"}.get(
        failure.params.get("key"), {"ranking": "rank_descriptions", "ranking_ties": "rank_descriptions",
                                    "tokens": "token_importance"}.get(failure.key, "token_importance"))
    return Failure("other_config", {"part": part})


def _image_change(student, expected, case):
    """How the values change from one image to the other (same text), against the reference's change."""
    for key in ("deltas", "deltas_other"):
        failure = same_shape(key)(student, expected, case)
        if failure:
            return failure
        if not np.all(np.isfinite(np.asarray(student[key], np.float64))):
            return Failure("not_finite", {"key": key})
    got = np.asarray(student["deltas"], np.float64) - np.asarray(student["deltas_other"], np.float64)
    want = np.asarray(expected["deltas"], np.float64) - np.asarray(expected["deltas_other"], np.float64)
    if np.allclose(got, want, rtol=TOLERANCE.rtol, atol=TOLERANCE.atol):
        return None
    return Failure("occlusion_image", {"expected": float(np.abs(want).max()), "got": float(np.abs(got).max())})

SIMILARITY_TASK, RANKING_TASK, TOKENS_TASK, GENERAL_TASK = (
    "test_clip_similarity", "test_rank_descriptions", "test_token_importance", "test_clip_general")
OCCLUSION_TASK = "test_word_occlusion"
ZEROSHOT_TASK = "test_zero_shot_classifier"

CHECKS = [
    Check("similarity.cosine", SIMILARITY_TASK, 2,
          {"de": "Kosinus-Ähnlichkeit von Bild und Texten", "en": "cosine similarity of image and texts"},
          "probe_similarity", close("cosine", TOLERANCE), tags=frozenset({"embedded"})),
    Check("similarity.softmax", SIMILARITY_TASK, 1,
          {"de": "Softmax-Wahrscheinlichkeiten: Softmax von logits_per_image über die Texte",
           "en": "softmax probabilities: softmax of logits_per_image over the texts"},
          "probe_similarity", close("probs", TOLERANCE), tags=frozenset({"embedded"})),
    Check("similarity.softmax_sums_to_one", SIMILARITY_TASK, 1,
          {"de": "Die Softmax-Wahrscheinlichkeiten summieren sich über die Texte zu 1",
           "en": "the softmax probabilities sum to 1 over the texts"},
          "probe_similarity", _probs_sum, tags=frozenset({"embedded"})),
    Check("ranking.order", RANKING_TASK, 2,
          {"de": "Rangfolge der Beschreibungen (absteigend nach Kosinus-Ähnlichkeit)",
           "en": "ranking of the descriptions (descending by cosine similarity)"},
          "probe_ranking", _same_ranking, tags=frozenset({"embedded", "distinct"})),
    Check("ranking.ties", RANKING_TASK, 1,
          {"de": "Gleichstand: ursprüngliche Reihenfolge bleibt erhalten", "en": "ties keep the input order"},
          "probe_ranking", _same_ranking, tags=frozenset({"embedded", "ties"})),
    Check("tokens.tokens", TOKENS_TASK, 1,
          {"de": "Token-Wichtigkeit: dieselben Token in derselben Reihenfolge (ohne Sondertoken)",
           "en": "token importance: same tokens in the same order (no special tokens)"},
          "probe_tokens", _same_tokens, tags=frozenset({"embedded"})),
    Check("tokens.scores", TOKENS_TASK, 3,
          {"de": "Token-Wichtigkeit: Attention des EOS-Tokens, letzte Schicht, Mittel über Köpfe, Summe 1",
           "en": "token importance: EOS token's attention, last layer, mean over heads, sum 1"},
          "probe_tokens", _scores, tags=frozenset({"embedded"})),
    Check("general.other_config", GENERAL_TASK, 2,
          {"de": "Alle drei Funktionen unverändert auf einem CLIPModel anderer Konfiguration",
           "en": "all three functions unchanged on a CLIPModel of another configuration"},
          "probe_general", _general, tags=frozenset({"other_config"})),
    Check("occlusion.words", OCCLUSION_TASK, 1,
          {"de": "Wortverdeckung: ein Wert je Wort von text.split()", "en": "word occlusion: one value per word of text.split()"},
          "probe_occlusion", same_shape("deltas"), tags=frozenset({"embedded"})),
    Check("occlusion.values", OCCLUSION_TASK, 1,
          {"de": "Wortverdeckung: Kosinus-Ähnlichkeit mit dem ganzen Text minus die ohne das Wort",
           "en": "word occlusion: cosine similarity with the full text minus that without the word"},
          "probe_occlusion", close("deltas", TOLERANCE), tags=frozenset({"embedded"})),
    Check("occlusion.image", OCCLUSION_TASK, 1,
          {"de": "Wortverdeckung: hängt vom Bild ab wie die der Referenz (derselbe Text, zwei Bilder)",
           "en": "word occlusion: depends on the image as the reference's does (same text, two images)"},
          "probe_occlusion_images", _image_change, tags=frozenset({"embedded"})),
    Check("zeroshot.single", ZEROSHOT_TASK, 1,
          {"de": "Zero-Shot, eine Vorlage: je Klasse (in der gegebenen Reihenfolge) das L2-normierte Text-Embedding",
           "en": "zero-shot, one template: per class (in the given order) the L2-normalised text embedding"},
          "probe_zeroshot", close("weights", TOLERANCE), tags=frozenset({"single_template"})),
    Check("zeroshot.ensemble", ZEROSHOT_TASK, 1,
          {"de": "Zero-Shot, mehrere Vorlagen: Mittel der L2-normierten Text-Embeddings, erneut L2-normiert",
           "en": "zero-shot, several templates: mean of the L2-normalised text embeddings, normalised again"},
          "probe_zeroshot", close("weights", TOLERANCE), tags=frozenset({"ensemble"})),
]

MESSAGES = {
    "occlusion_image": {
        "de": "Derselbe Text mit zwei Bildern ({case}): Ihre Werte ändern sich zwischen den Bildern anders als die der "
              "Referenz (größte Änderung {got:.3g} statt {expected:.3g}). Die Wortverdeckung misst die "
              "Kosinus-Ähnlichkeit von Bild und Text; sie muss sich mit dem Bild ändern.",
        "en": "The same text with two images ({case}): your values change between the images differently from the "
              "reference's (largest change {got:.3g} instead of {expected:.3g}). Word occlusion measures the cosine "
              "similarity of image and text; it must change with the image.",
    },
    "probs_sum": {
        "de": "Ihre Softmax-Wahrscheinlichkeiten summieren sich über die Texte zu {sum:.4g} statt zu 1 ({case}). "
              "Die Softmax muss über die Texte gebildet werden (eine Wahrscheinlichkeitsverteilung je Bild).",
        "en": "Your softmax probabilities sum to {sum:.4g} over the texts instead of 1 ({case}). The softmax must be "
              "taken over the texts (one probability distribution per image).",
    },
    "ranking": {
        "de": "Die Rangfolge stimmt nicht ({case}): erwartet {expected}, erhalten {got}.",
        "en": "The ranking is wrong ({case}): expected {expected}, got {got}.",
    },
    "ranking_ties": {
        "de": "Bei Gleichstand ist die Reihenfolge falsch ({case}): Texte mit gleicher Kosinus-Ähnlichkeit müssen "
              "in ihrer ursprünglichen Reihenfolge bleiben (stabil sortieren; `np.argsort(sim)[::-1]` kehrt sie "
              "um). Erwartet {expected}, erhalten {got}.",
        "en": "Ties are in the wrong order ({case}): texts with equal cosine similarity must keep their input "
              "order (sort stably; `np.argsort(sim)[::-1]` reverses them). Expected {expected}, got {got}.",
    },
    "tokens": {
        "de": "Die Token stimmen nicht ({case}): erwartet {expected}, erhalten {got}. Verwenden Sie "
              "`processor.tokenizer.convert_ids_to_tokens` und lassen Sie Sondertoken (Start, Ende, Padding, "
              "`<|unk|>`) weg.",
        "en": "The tokens are wrong ({case}): expected {expected}, got {got}. Use "
              "`processor.tokenizer.convert_ids_to_tokens` and leave out special tokens (start, end, padding, "
              "`<|unk|>`).",
    },
    "other_config": {
        "de": "Auf einem CLIPModel anderer Konfiguration ({case}) weicht {part} von der Referenz ab. Beachten Sie "
              "die Meldungen der anderen Prüfungen dieser Funktion; bestehen diese, sind meist Größen fest "
              "einprogrammiert (Schicht- oder Kopfanzahl, Bildgröße, Position des EOS-Tokens): Lesen Sie sie aus dem "
              "Modell, dem Prozessor und den Token-IDs.",
        "en": "On a CLIPModel of another configuration ({case}) {part} differs from the reference. See the "
              "messages of this function's other checks; if those pass, sizes are usually hard-coded (number of "
              "layers or heads, image size, position of the EOS token): read them from the model, the processor "
              "and the token ids.",
    },
}
