"""Reference CLIP functions (Hugging Face transformers 5.x), and the known-wrong variants.

Definitions (stated in the notebook, graded as such):
- ``clip_similarity``: cosine similarity of the image embedding with each text embedding
  (the model's projected, L2-normalised embeddings), and ``softmax(logits_per_image)`` over
  the texts. Both 1-D arrays of length ``len(texts)``.
- ``rank_descriptions``: the texts by descending cosine similarity; ties keep the input
  order (stable sort).
- ``token_importance``: last layer's attention of the text encoder, row of the end-of-text
  token (first position holding ``tokenizer.eos_token_id``), mean over heads, special tokens
  (``tokenizer.all_special_ids``: start, end-of-text = padding, and the tiny CLIP's own unknown token
  ``<|unk|>``, which has its own id so that it never passes for the end of the text) dropped, normalised
  to sum 1. Tokens as ``tokenizer.convert_ids_to_tokens`` gives them.
- ``word_occlusion``: words = ``text.split()``; for each word i the text without it (the other words joined
  with single spaces); the cosine similarity (as in ``clip_similarity``) of the image with ``text`` minus that
  with the text without word i. A 1-D array of length ``len(words)``; positive = the word supports the match.
- ``zero_shot_classifier``: the CLIP paper's prompt ensemble. For each class name (in the given order) and each
  template the text ``template.format(class_name)``; its text embedding (``get_text_features``, projected),
  L2-normalised; the mean over the templates, L2-normalised again. A ``(len(class_names), embedding dim)``
  matrix, row c for ``class_names[c]``. Independent of ``clip_similarity`` (no image involved).
"""

from __future__ import annotations

import xaikit  # noqa: F401  (torch + triton before anything that could import TensorFlow)

import numpy as np
import torch


def _encode(processor, image, texts):
    return processor(text=list(texts), images=image, return_tensors="pt", padding=True, truncation=True)


def clip_similarity(model, processor, image, texts):
    inputs = _encode(processor, image, texts)
    with torch.no_grad():
        outputs = model(**inputs)
    cosine = (outputs.image_embeds @ outputs.text_embeds.T)[0]  # both embeddings are L2-normalised
    probabilities = outputs.logits_per_image.softmax(dim=-1)[0]  # over the texts
    return cosine.numpy(), probabilities.numpy()


def rank_descriptions(model, processor, image, texts):
    similarity, _ = clip_similarity(model, processor, image, texts)
    order = np.argsort(-similarity, kind="stable")  # descending; ties keep the input order
    return [texts[i] for i in order]


def _text_attentions(model, processor, text):
    tokenizer = processor.tokenizer
    encoded = tokenizer([text], return_tensors="pt", truncation=True)
    with torch.no_grad():
        outputs = model.text_model(input_ids=encoded["input_ids"], attention_mask=encoded["attention_mask"],
                                   output_attentions=True)
    if not outputs.attentions:
        raise RuntimeError("no attention maps: load the model with attn_implementation='eager'")
    return encoded["input_ids"][0], outputs.attentions


def _eos_position(tokenizer, ids):
    # the first end-of-text token (padding may repeat it); not argmax(ids): the tiny CLIP's EOS id is 1
    return int(torch.nonzero(ids == tokenizer.eos_token_id)[0, 0])


def _importance(tokenizer, ids, row):
    special = set(tokenizer.all_special_ids)
    eos = _eos_position(tokenizer, ids)
    keep = [i for i in range(eos) if int(ids[i]) not in special]
    scores = row[keep]
    scores = scores / scores.sum()
    tokens = tokenizer.convert_ids_to_tokens([int(ids[i]) for i in keep])
    return list(zip(tokens, scores.tolist()))


def token_importance(model, processor, text):
    ids, attentions = _text_attentions(model, processor, text)
    eos = _eos_position(processor.tokenizer, ids)
    row = attentions[-1][0, :, eos, :].mean(dim=0)  # last layer, EOS row, mean over heads
    return _importance(processor.tokenizer, ids, row)


def _without_each_word(text):
    words = text.split()
    return [" ".join(words[:i] + words[i + 1:]) for i in range(len(words))]


def word_occlusion(model, processor, image, text):
    cosine, _ = clip_similarity(model, processor, image, [text, *_without_each_word(text)])
    return cosine[0] - cosine[1:]


def _text_features(model, processor, texts):
    tokens = processor.tokenizer(list(texts), return_tensors="pt", padding=True, truncation=True)
    with torch.no_grad():
        return model.get_text_features(**tokens).pooler_output  # projected, not normalised


def _normalised(features, dim=-1):
    return features / features.norm(dim=dim, keepdim=True)


def _filled(class_names, templates):
    """(classes, templates) texts, flattened row by row: class c, template t at c * len(templates) + t."""
    return [template.format(name) for name in class_names for template in templates]


def zero_shot_classifier(model, processor, class_names, templates):
    features = _text_features(model, processor, _filled(class_names, templates))
    features = _normalised(features).reshape(len(class_names), len(templates), -1)
    return _normalised(features.mean(dim=1)).numpy()  # mean over the templates, normalised again


# ---------------------------------------------------------------------------------------------
# Known-wrong variants. Each replaces one (or, where the mistake propagates, two) functions.

def _unnormalised_dot(model, processor, image, texts):
    inputs = _encode(processor, image, texts)
    with torch.no_grad():
        image_features = model.get_image_features(pixel_values=inputs["pixel_values"]).pooler_output
        text_features = model.get_text_features(input_ids=inputs["input_ids"],
                                                attention_mask=inputs["attention_mask"]).pooler_output
    return (image_features @ text_features.T)[0].numpy()


def dot_without_normalisation(model, processor, image, texts):
    _, probabilities = clip_similarity(model, processor, image, texts)
    return _unnormalised_dot(model, processor, image, texts), probabilities


def rank_by_unnormalised_dot(model, processor, image, texts):
    order = np.argsort(-_unnormalised_dot(model, processor, image, texts), kind="stable")
    return [texts[i] for i in order]


def softmax_wrong_axis(model, processor, image, texts):
    inputs = _encode(processor, image, texts)
    with torch.no_grad():
        outputs = model(**inputs)
    cosine = (outputs.image_embeds @ outputs.text_embeds.T)[0]
    return cosine.numpy(), outputs.logits_per_image.softmax(dim=0)[0].numpy()  # over the single image


def softmax_of_cosine(model, processor, image, texts):
    cosine, _ = clip_similarity(model, processor, image, texts)
    return cosine, torch.from_numpy(cosine).softmax(dim=-1).numpy()  # without logit_scale


def ascending_ranking(model, processor, image, texts):
    similarity, _ = clip_similarity(model, processor, image, texts)
    return [texts[i] for i in np.argsort(similarity, kind="stable")]


def ties_broken_by_text(model, processor, image, texts):
    similarity, _ = clip_similarity(model, processor, image, texts)
    # sorted over (cosine, text) pairs without a key: equal cosines are ordered by the texts (descending), not
    # by their input position
    return [text for _, text in sorted(zip(similarity.tolist(), texts), reverse=True)]


def start_token_row(model, processor, text):
    ids, attentions = _text_attentions(model, processor, text)
    row = attentions[-1][0, :, 0, :].mean(dim=0)  # the start token sees only itself (causal mask)
    return _importance(processor.tokenizer, ids, row)


def includes_special_tokens(model, processor, text):
    ids, attentions = _text_attentions(model, processor, text)
    eos = _eos_position(processor.tokenizer, ids)
    row = attentions[-1][0, :, eos, :].mean(dim=0)[: eos + 1]
    scores = row / row.sum()
    tokens = processor.tokenizer.convert_ids_to_tokens([int(i) for i in ids[: eos + 1]])
    return list(zip(tokens, scores.tolist()))


def first_layer(model, processor, text):
    ids, attentions = _text_attentions(model, processor, text)
    eos = _eos_position(processor.tokenizer, ids)
    return _importance(processor.tokenizer, ids, attentions[0][0, :, eos, :].mean(dim=0))


def hardcoded_layer_index(model, processor, text):
    ids, attentions = _text_attentions(model, processor, text)
    eos = _eos_position(processor.tokenizer, ids)
    return _importance(processor.tokenizer, ids, attentions[1][0, :, eos, :].mean(dim=0))  # "last" of 2 layers


def mean_over_layers(model, processor, text):
    ids, attentions = _text_attentions(model, processor, text)
    eos = _eos_position(processor.tokenizer, ids)
    row = torch.stack(attentions)[:, 0, :, eos, :].mean(dim=(0, 1))  # all layers averaged, not the last one
    return _importance(processor.tokenizer, ids, row)


def max_over_heads(model, processor, text):
    ids, attentions = _text_attentions(model, processor, text)
    eos = _eos_position(processor.tokenizer, ids)
    return _importance(processor.tokenizer, ids, attentions[-1][0, :, eos, :].max(dim=0).values)


def eos_by_argmax(model, processor, text):
    ids, attentions = _text_attentions(model, processor, text)
    position = int(ids.argmax())  # right for OpenAI's vocabulary (EOS = largest id), wrong for the tiny CLIP
    tokenizer = processor.tokenizer
    row = attentions[-1][0, :, position, :].mean(dim=0)
    special = set(tokenizer.all_special_ids)
    keep = [i for i in range(position) if int(ids[i]) not in special]
    scores = row[keep] / row[keep].sum()
    return list(zip(tokenizer.convert_ids_to_tokens([int(ids[i]) for i in keep]), scores.tolist()))


def eos_row_by_argmax(model, processor, text):
    # the row at argmax(ids) (OpenAI's pooling), but the tokens right: every non-special token of the text
    ids, attentions = _text_attentions(model, processor, text)
    tokenizer = processor.tokenizer
    row = attentions[-1][0, :, int(ids.argmax()), :].mean(dim=0)
    special = set(tokenizer.all_special_ids)
    keep = [i for i in range(len(ids)) if int(ids[i]) not in special]
    scores = row[keep] / row[keep].sum()
    return list(zip(tokenizer.convert_ids_to_tokens([int(ids[i]) for i in keep]), scores.tolist()))


def keeps_unknown_token(model, processor, text):
    # the text's tokens as the slice [1:eos] (between start and end of text): right until a character the
    # tokenizer does not know makes <|unk|> tokens, which the slice keeps
    ids, attentions = _text_attentions(model, processor, text)
    tokenizer = processor.tokenizer
    eos = _eos_position(tokenizer, ids)
    row = attentions[-1][0, :, eos, 1:eos].mean(dim=0)
    return list(zip(tokenizer.convert_ids_to_tokens([int(i) for i in ids[1:eos]]), (row / row.sum()).tolist()))


def not_normalised(model, processor, text):
    ids, attentions = _text_attentions(model, processor, text)
    tokenizer = processor.tokenizer
    eos = _eos_position(tokenizer, ids)
    row = attentions[-1][0, :, eos, :].mean(dim=0)
    special = set(tokenizer.all_special_ids)
    keep = [i for i in range(eos) if int(ids[i]) not in special]
    return list(zip(tokenizer.convert_ids_to_tokens([int(ids[i]) for i in keep]), row[keep].tolist()))


def occlusion_sign_flipped(model, processor, image, text):
    cosine, _ = clip_similarity(model, processor, image, [text, *_without_each_word(text)])
    return cosine[1:] - cosine[0]  # occluded minus full: a supporting word comes out negative


def occlusion_from_logits(model, processor, image, text):
    inputs = _encode(processor, image, [text, *_without_each_word(text)])
    with torch.no_grad():
        logits = model(**inputs).logits_per_image[0]  # exp(logit_scale) * cosine
    return (logits[0] - logits[1:]).numpy()


def occlusion_unnormalised_dot(model, processor, image, text):
    dot = _unnormalised_dot(model, processor, image, [text, *_without_each_word(text)])
    return dot[0] - dot[1:]


def occlusion_image_ignored(model, processor, image, text):
    # how far each occluded text moves from the full text in the text embedding: the image plays no part
    inputs = processor.tokenizer([text, *_without_each_word(text)], return_tensors="pt", padding=True,
                                 truncation=True)
    with torch.no_grad():
        features = model.get_text_features(**inputs).pooler_output
    features = features / features.norm(dim=-1, keepdim=True)
    cosine = features[1:] @ features[0]
    return (1 - cosine).numpy()


def occlusion_of_tokens(model, processor, image, text):
    # one token left out at a time (special tokens kept): differs from words where a word has several tokens
    tokenizer = processor.tokenizer
    ids = tokenizer(text)["input_ids"]
    inner = ids[1:-1]
    texts = [text] + [tokenizer.decode(inner[:i] + inner[i + 1:]) for i in range(len(inner))]
    cosine, _ = clip_similarity(model, processor, image, texts)
    return cosine[0] - cosine[1:]


def zeroshot_unnormalised_mean(model, processor, class_names, templates):
    # the raw text features averaged (longer vectors weigh more), normalised only at the end
    features = _text_features(model, processor, _filled(class_names, templates))
    return _normalised(features.reshape(len(class_names), len(templates), -1).mean(dim=1)).numpy()


def zeroshot_not_renormalised(model, processor, class_names, templates):
    # the mean of unit vectors, left as it is: shorter than 1 wherever the templates disagree
    features = _normalised(_text_features(model, processor, _filled(class_names, templates)))
    return features.reshape(len(class_names), len(templates), -1).mean(dim=1).numpy()


def zeroshot_first_template_only(model, processor, class_names, templates):
    # the ensemble left out: only templates[0]
    return zero_shot_classifier(model, processor, class_names, templates[:1])


def zeroshot_classes_sorted(model, processor, class_names, templates):
    # rows in alphabetical order of the class names (e.g. from a set or sorted()), not in the given order
    return zero_shot_classifier(model, processor, sorted(class_names), templates)


def zeroshot_transposed(model, processor, class_names, templates):
    # (embedding dim, classes) as in the CLIP paper's notebook (torch.stack(weights, dim=1))
    return zero_shot_classifier(model, processor, class_names, templates).T


def zeroshot_normalised_over_classes(model, processor, class_names, templates):
    # every normalisation over the wrong axis (dim=0: across the classes) instead of each embedding
    features = _text_features(model, processor, _filled(class_names, templates))
    features = features.reshape(len(class_names), len(templates), -1)
    features = features / features.norm(dim=0, keepdim=True)
    return _normalised(features.mean(dim=1), dim=0).numpy()


VARIANTS = {
    "dot_without_normalisation": {"clip_similarity": dot_without_normalisation,
                                  "rank_descriptions": rank_by_unnormalised_dot},
    "softmax_wrong_axis": {"clip_similarity": softmax_wrong_axis},
    "softmax_of_cosine": {"clip_similarity": softmax_of_cosine},
    "ascending_ranking": {"rank_descriptions": ascending_ranking},
    "ties_broken_by_text": {"rank_descriptions": ties_broken_by_text},
    "start_token_row": {"token_importance": start_token_row},
    "includes_special_tokens": {"token_importance": includes_special_tokens},
    "first_layer": {"token_importance": first_layer},
    "hardcoded_layer_index": {"token_importance": hardcoded_layer_index},
    "max_over_heads": {"token_importance": max_over_heads},
    "mean_over_layers": {"token_importance": mean_over_layers},
    "eos_by_argmax": {"token_importance": eos_by_argmax},
    "eos_row_by_argmax": {"token_importance": eos_row_by_argmax},
    "keeps_unknown_token": {"token_importance": keeps_unknown_token},
    "not_normalised": {"token_importance": not_normalised},
    "occlusion_sign_flipped": {"word_occlusion": occlusion_sign_flipped},
    "occlusion_from_logits": {"word_occlusion": occlusion_from_logits},
    "occlusion_unnormalised_dot": {"word_occlusion": occlusion_unnormalised_dot},
    "occlusion_image_ignored": {"word_occlusion": occlusion_image_ignored},
    "occlusion_of_tokens": {"word_occlusion": occlusion_of_tokens},
    "zeroshot_unnormalised_mean": {"zero_shot_classifier": zeroshot_unnormalised_mean},
    "zeroshot_not_renormalised": {"zero_shot_classifier": zeroshot_not_renormalised},
    "zeroshot_first_template_only": {"zero_shot_classifier": zeroshot_first_template_only},
    "zeroshot_classes_sorted": {"zero_shot_classifier": zeroshot_classes_sorted},
    "zeroshot_transposed": {"zero_shot_classifier": zeroshot_transposed},
    "zeroshot_normalised_over_classes": {"zero_shot_classifier": zeroshot_normalised_over_classes},
}
