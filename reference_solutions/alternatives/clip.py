"""Correct alternatives of the CLIP exercise (``ALTERNATIVES``, shaped like ``VARIANTS`` in ``reference_solutions/clip.py``).

Each is a complete solution of one task of ``source/clip/clip.ipynb`` written the way students write it, and
self-contained (no helper of the reference). The task text is the specification:
- ``clip_similarity``: ``processor(text=texts, images=image, return_tensors="pt", padding=True, truncation=True)``,
  ``model(**inputs)``; cosine of the image embedding with each text embedding (``image_embeds``/``text_embeds``,
  or ``get_*_features(...).pooler_output`` normalised by hand), softmax of ``logits_per_image`` over the texts.
- ``rank_descriptions``: texts by descending cosine, ties keep the input order (stable); may use ``clip_similarity``.
- ``token_importance``: tokenise with ``processor.tokenizer``, ``model.text_model(..., output_attentions=True)``,
  ``attentions[-1]``, the row of the first ``eos_token_id`` position, mean over heads, special tokens
  (``all_special_ids``) dropped, normalised to sum 1; tokens as ``convert_ids_to_tokens`` gives them.
- ``zero_shot_classifier``: per class and template ``template.format(name)``, ``get_text_features(...).pooler_output``
  L2-normalised, the mean over the templates normalised again; a ``(classes, dim)`` matrix (array, tensor or rows).
"""

from __future__ import annotations

import xaikit  # noqa: F401  (torch + triton before anything that could import TensorFlow)

import numpy as np
import torch
import torch.nn.functional as F


# --- Aufgabe 1: clip_similarity ------------------------------------------------------------------------------

def similarity_from_features(model, processor, image, texts):
    # get_image_features/get_text_features (.pooler_output, projected but not normalised), normalised by hand
    # with .norm(); the softmax of the model's logits_per_image from a second, full forward pass.
    inputs = processor(text=texts, images=image, return_tensors="pt", padding=True, truncation=True)
    with torch.no_grad():
        image_features = model.get_image_features(pixel_values=inputs["pixel_values"]).pooler_output
        text_features = model.get_text_features(input_ids=inputs["input_ids"],
                                                attention_mask=inputs["attention_mask"]).pooler_output
        logits = model(**inputs).logits_per_image
    image_features = image_features / image_features.norm(dim=-1, keepdim=True)
    text_features = text_features / text_features.norm(dim=-1, keepdim=True)
    cosine = (text_features @ image_features[0]).numpy()
    probs = torch.softmax(logits, dim=1)[0].numpy()
    return cosine, probs


def similarity_from_logits(model, processor, image, texts):
    # the cosine recovered from the logits: logits_per_image = exp(logit_scale) * cos; no torch.no_grad()
    # (detach instead), squeeze instead of [0].
    inputs = processor(text=texts, images=image, return_tensors="pt", padding=True, truncation=True)
    outputs = model(**inputs)
    logits = outputs.logits_per_image
    cosine = logits / model.logit_scale.exp()
    probs = F.softmax(logits, dim=-1)
    return cosine.squeeze(0).detach().numpy(), probs.squeeze(0).detach().numpy()


def similarity_cosine_similarity(model, processor, image, texts):
    # the image handed over as a PIL image; F.cosine_similarity of the image embedding (broadcast) with every
    # text embedding; softmax in numpy (subtracting the maximum) of logits_per_image.
    from PIL import Image

    inputs = processor(text=texts, images=Image.fromarray(image), return_tensors="pt", padding=True, truncation=True)
    with torch.no_grad():
        outputs = model(**inputs)
    cosine = F.cosine_similarity(outputs.image_embeds, outputs.text_embeds, dim=-1).numpy()
    logits = outputs.logits_per_image[0].numpy()
    exps = np.exp(logits - logits.max())
    return cosine, exps / exps.sum()


def similarity_one_text_at_a_time(model, processor, image, texts):
    # one forward pass per text (no padding at all), the logits built by hand from exp(logit_scale) and the
    # cosines, softmax in numpy float64 without subtracting the maximum.
    cosines = []
    with torch.no_grad():
        for text in texts:
            inputs = processor(text=[text], images=image, return_tensors="pt", padding=True, truncation=True)
            outputs = model(**inputs)
            cosines.append(float((outputs.image_embeds[0] * outputs.text_embeds[0]).sum()))
        scale = float(model.logit_scale.exp())
    cosine = np.array(cosines)
    logits = scale * cosine
    probs = np.exp(logits) / np.sum(np.exp(logits))
    return cosine, probs


def similarity_numpy_float64(model, processor, image, texts):
    # everything after the forward pass in numpy float64; the embeddings normalised once more with
    # np.linalg.norm (they already are: harmless); scipy-free softmax over axis=1 of the (1, n) logits.
    inputs = processor(text=list(texts), images=image, return_tensors="pt", padding=True, truncation=True)
    with torch.no_grad():
        outputs = model(**inputs)
    image_embeds = outputs.image_embeds.numpy().astype(np.float64)
    text_embeds = outputs.text_embeds.numpy().astype(np.float64)
    image_embeds /= np.linalg.norm(image_embeds, axis=1, keepdims=True)
    text_embeds /= np.linalg.norm(text_embeds, axis=1, keepdims=True)
    cosine = (image_embeds @ text_embeds.T)[0]
    logits = outputs.logits_per_image.numpy().astype(np.float64)
    logits = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return cosine, probs[0]


def similarity_einsum_logits_per_text(model, processor, image, texts):
    # einsum over the embeddings under torch.inference_mode(); the softmax over dim 0 of logits_per_text
    # (texts × images, the transpose of logits_per_image): the same distribution over the texts; ravel().
    inputs = processor(text=texts, images=image, return_tensors="pt", padding=True, truncation=True)
    with torch.inference_mode():
        outputs = model(**inputs)
    cosine = torch.einsum("id,td->it", outputs.image_embeds, outputs.text_embeds)
    probs = outputs.logits_per_text.softmax(dim=0)
    return cosine.ravel().numpy(), probs.ravel().numpy()


def similarity_float64_model(model, processor, image, texts):
    # "more precise": a float64 copy of the model (the given one left untouched), pixel values in float64 too;
    # cosine from the unnormalised features with F.cosine_similarity, softmax of logits_per_image.
    import copy

    model64 = copy.deepcopy(model).double()
    inputs = processor(text=texts, images=image, return_tensors="pt", padding=True, truncation=True)
    pixel_values = inputs["pixel_values"].double()
    with torch.no_grad():
        image_features = model64.get_image_features(pixel_values=pixel_values).pooler_output
        text_features = model64.get_text_features(input_ids=inputs["input_ids"],
                                                  attention_mask=inputs["attention_mask"]).pooler_output
        outputs = model64(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                          pixel_values=pixel_values)
    cosine = F.cosine_similarity(image_features, text_features, dim=-1)
    probs = outputs.logits_per_image.softmax(dim=-1)[0]
    return cosine.numpy(), probs.numpy()


def similarity_encoders_and_projections(model, processor, image, texts):
    # the two encoders and projections by hand (vision_model/text_model .pooler_output, then visual_projection/
    # text_projection), tokenizer and image processor called separately; logits as exp(logit_scale) * cosine.
    text_inputs = processor.tokenizer(texts, return_tensors="pt", padding=True, truncation=True)
    pixel_values = processor.image_processor(images=image, return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        image_embeds = model.visual_projection(model.vision_model(pixel_values=pixel_values).pooler_output)
        text_embeds = model.text_projection(model.text_model(**text_inputs).pooler_output)
        image_embeds = image_embeds / torch.linalg.vector_norm(image_embeds, dim=-1, keepdim=True)
        text_embeds = text_embeds / torch.linalg.vector_norm(text_embeds, dim=-1, keepdim=True)
        cosine = (image_embeds @ text_embeds.T)[0]
        probs = torch.softmax(model.logit_scale.exp() * cosine, dim=0)
    return cosine.numpy(), probs.numpy()


# --- Aufgabe 2: rank_descriptions ----------------------------------------------------------------------------

def ranking_sorted_with_key(model, processor, image, texts):
    # Python's sorted over (cosine, text) pairs, key on the cosine, reverse=True (which keeps ties in input order).
    inputs = processor(text=texts, images=image, return_tensors="pt", padding=True, truncation=True)
    with torch.no_grad():
        outputs = model(**inputs)
    cosine = (outputs.image_embeds @ outputs.text_embeds.T)[0].tolist()
    pairs = sorted(zip(cosine, texts), key=lambda pair: pair[0], reverse=True)
    return [text for _, text in pairs]


def ranking_torch_argsort(model, processor, image, texts):
    # torch.argsort(descending=True, stable=True) on the cosines from the logits divided by exp(logit_scale).
    inputs = processor(text=texts, images=image, return_tensors="pt", padding=True, truncation=True)
    with torch.no_grad():
        outputs = model(**inputs)
        cosine = outputs.logits_per_image[0] / model.logit_scale.exp()
    order = torch.argsort(cosine, descending=True, stable=True)
    return [texts[int(i)] for i in order]


def ranking_features_mergesort(model, processor, image, texts):
    # own cosines from get_*_features normalised by hand (float64), np.argsort(-cos, kind="mergesort").
    inputs = processor(text=texts, images=image, return_tensors="pt", padding=True, truncation=True)
    with torch.no_grad():
        image_features = model.get_image_features(pixel_values=inputs["pixel_values"]).pooler_output.double()
        text_features = model.get_text_features(input_ids=inputs["input_ids"],
                                                attention_mask=inputs["attention_mask"]).pooler_output.double()
    image_features = F.normalize(image_features, dim=-1)
    text_features = F.normalize(text_features, dim=-1)
    cosine = (image_features @ text_features.T)[0].numpy()
    order = np.argsort(-cosine, kind="mergesort")
    return [texts[i] for i in order]


def ranking_selection_loop(model, processor, image, texts):
    # cosines one text at a time (no padding), then by hand: repeatedly take the remaining text with the largest
    # cosine (np.argmax takes the first on ties).
    cosine = []
    with torch.no_grad():
        for text in texts:
            outputs = model(**processor(text=[text], images=image, return_tensors="pt", padding=True, truncation=True))
            cosine.append(float(outputs.image_embeds[0] @ outputs.text_embeds[0]))
    remaining = list(range(len(texts)))
    ranked = []
    while remaining:
        best = remaining[int(np.argmax([cosine[i] for i in remaining]))]
        ranked.append(texts[best])
        remaining.remove(best)
    return ranked


def ranking_lexsort(model, processor, image, texts):
    # F.cosine_similarity, then np.lexsort with the input position as the tie breaker (the last key is the primary one).
    inputs = processor(text=texts, images=image, return_tensors="pt", padding=True, truncation=True)
    with torch.no_grad():
        outputs = model(**inputs)
    cosine = F.cosine_similarity(outputs.image_embeds, outputs.text_embeds).numpy()
    order = np.lexsort((np.arange(len(texts)), -cosine))
    return [texts[i] for i in order]


def ranking_sort_indices_by_key(model, processor, image, texts):
    # float64 numpy cosines, sorted(range(n), key=lambda i: -cos[i]): the key negated instead of reverse=True.
    inputs = processor(text=list(texts), images=image, return_tensors="pt", padding=True, truncation=True)
    with torch.no_grad():
        outputs = model(**inputs)
    cosine = (outputs.text_embeds.numpy().astype(np.float64) @ outputs.image_embeds.numpy().astype(np.float64)[0]).tolist()
    return [texts[i] for i in sorted(range(len(texts)), key=lambda i: -cosine[i])]


def ranking_float64_model_descending_sort(model, processor, image, texts):
    # cosines of a float64 copy of the model, torch.sort(descending=True, stable=True).
    import copy

    model64 = copy.deepcopy(model).double()
    inputs = processor(text=texts, images=image, return_tensors="pt", padding=True, truncation=True)
    with torch.no_grad():
        outputs = model64(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                          pixel_values=inputs["pixel_values"].double())
    cosine = (outputs.image_embeds @ outputs.text_embeds.T)[0]
    _, order = torch.sort(cosine, descending=True, stable=True)
    return [texts[i] for i in order.tolist()]


def ranking_by_softmax(model, processor, image, texts):
    # sorted by the softmax of logits_per_image (a strictly increasing function of the cosine: the same order),
    # np.argsort(-probs, kind="stable").
    inputs = processor(text=texts, images=image, return_tensors="pt", padding=True, truncation=True)
    with torch.no_grad():
        probs = model(**inputs).logits_per_image.softmax(dim=-1)[0].numpy()
    return [texts[i] for i in np.argsort(-probs, kind="stable")]


# --- Aufgabe 3: token_importance -----------------------------------------------------------------------------

def tokens_head_loop_numpy(model, processor, text):
    # tokenizer without tensors (lists) and without truncation, list.index for the first EOS, a loop over the heads in numpy,
    # normalisation in numpy, no torch.no_grad() (detach).
    tokenizer = processor.tokenizer
    ids = tokenizer(text)["input_ids"]
    outputs = model.text_model(input_ids=torch.tensor([ids]), output_attentions=True)
    last = outputs.attentions[-1][0].detach().numpy()  # (heads, L, L)
    eos = ids.index(tokenizer.eos_token_id)
    row = np.zeros(last.shape[-1])
    for head in range(last.shape[0]):
        row += last[head, eos]
    row /= last.shape[0]
    positions = [i for i in range(eos) if ids[i] not in tokenizer.all_special_ids]
    scores = row[positions] / row[positions].sum()
    tokens = tokenizer.convert_ids_to_tokens([ids[i] for i in positions])
    return [(token, float(score)) for token, score in zip(tokens, scores)]


def tokens_filter_by_token_string(model, processor, text):
    # attentions[len(attentions) - 1]; EOS via torch.nonzero; the tokens of the whole sequence from
    # convert_ids_to_tokens, then special tokens filtered by their strings (all_special_tokens), normalised in torch.
    tokenizer = processor.tokenizer
    encoded = tokenizer(text, return_tensors="pt", truncation=True)
    with torch.no_grad():
        outputs = model.text_model(**encoded, output_attentions=True)
    attentions = outputs.attentions
    last = attentions[len(attentions) - 1]
    ids = encoded["input_ids"][0]
    eos = torch.nonzero(ids == tokenizer.eos_token_id)[0].item()
    row = last[0, :, eos, :].mean(dim=0)
    tokens = tokenizer.convert_ids_to_tokens(ids.tolist())
    keep = [i for i in range(eos) if tokens[i] not in tokenizer.all_special_tokens]
    scores = row[keep] / torch.sum(row[keep])
    return [(tokens[i], score.item()) for i, score in zip(keep, scores)]


def tokens_full_model_with_blank_image(model, processor, text):
    # the full CLIPModel with a blank image of the processor's size (output_attentions=True), the text encoder's
    # attentions from text_model_output; heads averaged with torch.mean over dim 1 of the whole (1, H, L, L) tensor.
    tokenizer = processor.tokenizer
    size = model.config.vision_config.image_size
    blank = np.zeros((size, size, 3), dtype=np.uint8)
    inputs = processor(text=[text], images=blank, return_tensors="pt", truncation=True)
    with torch.no_grad():
        outputs = model(**inputs, output_attentions=True)
    averaged = torch.mean(outputs.text_model_output.attentions[-1], dim=1)[0]  # (L, L)
    ids = inputs["input_ids"][0].tolist()
    eos = ids.index(tokenizer.eos_token_id)
    special = set(tokenizer.all_special_ids)
    keep = [i for i in range(eos) if ids[i] not in special]
    scores = averaged[eos, keep]
    scores = scores / scores.sum()
    return list(zip(tokenizer.convert_ids_to_tokens([ids[i] for i in keep]), scores.tolist()))


def tokens_get_text_features_float64(model, processor, text):
    # model.get_text_features(..., output_attentions=True) (its output object keeps the attentions);
    # float64 from the start of the post-processing; a boolean mask with torch.isin for the special tokens.
    tokenizer = processor.tokenizer
    encoded = tokenizer([text], return_tensors="pt", truncation=True)
    with torch.no_grad():
        outputs = model.get_text_features(input_ids=encoded["input_ids"], attention_mask=encoded["attention_mask"],
                                          output_attentions=True)
    ids = encoded["input_ids"][0]
    eos = int((ids == tokenizer.eos_token_id).int().argmax())  # first True (argmax of a mask, not of the ids)
    row = outputs.attentions[-1][0, :, eos, :].double().mean(dim=0)[:eos]
    keep = ~torch.isin(ids[:eos], torch.tensor(tokenizer.all_special_ids))
    scores = row[keep] / row[keep].sum()
    tokens = tokenizer.convert_ids_to_tokens(ids[:eos][keep].tolist())
    return [(token, float(score)) for token, score in zip(tokens, scores)]


def tokens_float64_model(model, processor, text):
    # the text encoder of a float64 copy of the model (the given one untouched); tokenised without truncation
    # (the task does not ask for it); torch.where for the first EOS.
    import copy

    tokenizer = processor.tokenizer
    text_model = copy.deepcopy(model.text_model).double()
    encoded = tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        attentions = text_model(input_ids=encoded["input_ids"], output_attentions=True).attentions
    ids = encoded["input_ids"][0]
    eos = int(torch.where(ids == tokenizer.eos_token_id)[0][0])
    row = attentions[-1][0, :, eos].mean(0)
    keep = [i for i in range(eos) if int(ids[i]) not in tokenizer.all_special_ids]
    scores = (row[keep] / row[keep].sum()).numpy()
    return [(tokenizer.convert_ids_to_tokens(int(ids[i])), float(v)) for i, v in zip(keep, scores)]


def tokens_padded_to_max_length(model, processor, text):
    # tokenised with padding="max_length" like a batch would be (padding has the EOS id: the first EOS is still the
    # text's end), special tokens via get_special_tokens_mask, the slice [1:eos] then the mask.
    tokenizer = processor.tokenizer
    encoded = tokenizer([text], padding="max_length", truncation=True, return_tensors="pt")
    with torch.no_grad():
        outputs = model.text_model(input_ids=encoded["input_ids"], attention_mask=encoded["attention_mask"],
                                   output_attentions=True)
    ids = encoded["input_ids"][0].tolist()
    eos = ids.index(tokenizer.eos_token_id)
    special = tokenizer.get_special_tokens_mask(ids, already_has_special_tokens=True)
    heads = outputs.attentions[-1][0]  # (heads, L, L)
    row = heads[:, eos, :].sum(dim=0) / heads.shape[0]
    keep = [i for i in range(1, eos) if not special[i]]
    total = sum(float(row[i]) for i in keep)
    return [(tokenizer.convert_ids_to_tokens(ids[i]), float(row[i]) / total) for i in keep]


def tokens_processor_text_only(model, processor, text):
    # the processor itself with text only (it hands the text to its tokenizer), tokens from tokenizer.tokenize
    # lined up with the ids between start and EOS, normalised with a numpy array.
    tokenizer = processor.tokenizer
    encoded = processor(text=[text], return_tensors="pt", truncation=True)
    outputs = model.text_model(input_ids=encoded["input_ids"], attention_mask=encoded["attention_mask"],
                               output_attentions=True)
    ids = encoded["input_ids"][0].tolist()
    eos = ids.index(tokenizer.eos_token_id)
    mean = outputs.attentions[-1].mean(dim=1)[0, eos].detach().numpy()
    pieces = tokenizer.tokenize(text)[: eos - 1]  # the tokens at positions 1 .. eos-1
    pairs = [(piece, mean[position]) for position, piece in enumerate(pieces, start=1)
             if ids[position] not in tokenizer.all_special_ids]
    values = np.array([value for _, value in pairs], dtype=np.float64)
    values = values / values.sum()
    return [(piece, float(value)) for (piece, _), value in zip(pairs, values)]



# --- Aufgabe 5: word_occlusion ------------------------------------------------------------------------------

def occlusion_loop_over_words(model, processor, image, text):
    # one model call per text (no padding), image_embeds/text_embeds of the model output, a plain loop.
    words = text.split()

    def cosine(t):
        with torch.no_grad():
            outputs = model(**processor(text=[t], images=image, return_tensors="pt", padding=True, truncation=True))
        return float(outputs.image_embeds[0] @ outputs.text_embeds[0])

    full = cosine(text)
    deltas = []
    for i in range(len(words)):
        deltas.append(full - cosine(" ".join(words[:i] + words[i + 1:])))
    return np.array(deltas)


def occlusion_features_numpy(model, processor, image, text):
    # get_image_features / get_text_features in a batch, normalised in numpy (float64), list comprehension.
    words = text.split()
    texts = [text] + [" ".join(w for j, w in enumerate(words) if j != i) for i in range(len(words))]
    inputs = processor(text=texts, images=image, return_tensors="pt", padding=True, truncation=True)
    with torch.no_grad():
        image_features = model.get_image_features(pixel_values=inputs["pixel_values"]).pooler_output.numpy()
        text_features = model.get_text_features(input_ids=inputs["input_ids"],
                                                attention_mask=inputs["attention_mask"]).pooler_output.numpy()
    image_features = image_features.astype(np.float64) / np.linalg.norm(image_features, axis=-1, keepdims=True)
    text_features = text_features.astype(np.float64) / np.linalg.norm(text_features, axis=-1, keepdims=True)
    cosine = text_features @ image_features[0]
    return cosine[0] - cosine[1:]


def occlusion_words_and_torch_normalize(model, processor, image, text):
    # the pair (words, deltas); image encoded once, texts through the tokenizer; F.normalize, F.cosine_similarity.
    words = text.split()
    occluded = [" ".join(words[:i] + words[i + 1:]) for i in range(len(words))]
    pixel_values = processor.image_processor(images=image, return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        image_embedding = F.normalize(model.get_image_features(pixel_values=pixel_values).pooler_output, dim=-1)
        tokens = processor.tokenizer([text, *occluded], return_tensors="pt", padding=True, truncation=True)
        text_embeddings = F.normalize(model.get_text_features(**tokens).pooler_output, dim=-1)
    cosine = F.cosine_similarity(image_embedding, text_embeddings)
    return words, (cosine[0] - cosine[1:]).tolist()


def occlusion_text_loop_vector_norm(model, processor, image, text):
    # the image embedding once, each text's embedding in a loop, torch.linalg.vector_norm, float32 result.
    words = text.split()
    pixel_values = processor(images=image, return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        image_embedding = model.get_image_features(pixel_values=pixel_values).pooler_output[0]
        image_embedding = image_embedding / torch.linalg.vector_norm(image_embedding)

        def cosine(t):
            tokens = processor.tokenizer([t], return_tensors="pt")
            embedding = model.get_text_features(**tokens).pooler_output[0]
            return float(image_embedding @ (embedding / torch.linalg.vector_norm(embedding)))

        full = cosine(text)
        return np.array([full - cosine(" ".join(words[:i] + words[i + 1:])) for i in range(len(words))],
                        dtype=np.float32)


def occlusion_logits_divided(model, processor, image, text):
    # logits_per_text divided by exp(logit_scale) (the cosine), a (n, 1) column left as it is.
    words = text.split()
    texts = [text] + [" ".join(words[:i] + words[i + 1:]) for i in range(len(words))]
    inputs = processor(text=texts, images=image, return_tensors="pt", padding=True, truncation=True)
    with torch.no_grad():
        outputs = model(**inputs)
        cosine = outputs.logits_per_text / model.logit_scale.exp()  # (texts, 1)
    return (cosine[:1] - cosine[1:]).numpy()


# --- Aufgabe 6: zero_shot_classifier -------------------------------------------------------------------------

def zeroshot_loop_like_the_paper(model, processor, class_names, templates):
    # the CLIP paper's notebook: a loop over the classes, one processor call per class, /= norm, mean, /= norm;
    # stacked as rows (dim=0), not as its columns
    weights = []
    with torch.no_grad():
        for name in class_names:
            texts = [template.format(name) for template in templates]
            inputs = processor(text=texts, return_tensors="pt", padding=True, truncation=True)
            embeddings = model.get_text_features(**inputs).pooler_output
            embeddings /= embeddings.norm(dim=-1, keepdim=True)
            embedding = embeddings.mean(dim=0)
            embedding /= embedding.norm()
            weights.append(embedding)
    return torch.stack(weights, dim=0)


def zeroshot_one_batch_numpy(model, processor, class_names, templates):
    # every filled template in one tokenizer call (templates outer, classes inner), float64 numpy, np.linalg.norm
    texts = [template.replace("{}", name) for template in templates for name in class_names]
    tokens = processor.tokenizer(texts, return_tensors="pt", padding=True)
    with torch.no_grad():
        features = model.get_text_features(input_ids=tokens["input_ids"],
                                           attention_mask=tokens["attention_mask"]).pooler_output.numpy()
    features = features.astype(np.float64)
    features = features / np.linalg.norm(features, axis=1, keepdims=True)
    mean = features.reshape(len(templates), len(class_names), -1).mean(axis=0)
    return mean / np.linalg.norm(mean, axis=1, keepdims=True)


def zeroshot_per_template_f_normalize(model, processor, class_names, templates):
    # one call per template (all classes at once), F.normalize, the sum over templates normalised (= the mean's
    # direction), a list of rows
    total = None
    with torch.no_grad():
        for template in templates:
            inputs = processor(text=[template.format(name) for name in class_names], return_tensors="pt",
                               padding=True)
            embeddings = F.normalize(model.get_text_features(**inputs).pooler_output, dim=-1)
            total = embeddings if total is None else total + embeddings
    return [row for row in F.normalize(total, dim=-1)]


def zeroshot_text_model_and_projection(model, processor, class_names, templates):
    # get_text_features written out: text_model's pooled output through text_projection; each text on its own
    # (no padding); torch.linalg.vector_norm; float64 rows
    rows = []
    with torch.no_grad():
        for name in class_names:
            embeddings = []
            for template in templates:
                tokens = processor.tokenizer([template.format(name)], return_tensors="pt")
                pooled = model.text_model(**tokens).pooler_output
                embedding = model.text_projection(pooled)[0].double()
                embeddings.append(embedding / torch.linalg.vector_norm(embedding))
            mean = torch.stack(embeddings).mean(dim=0)
            rows.append((mean / torch.linalg.vector_norm(mean)).numpy())
    return np.array(rows)


def zeroshot_einsum_sklearn(model, processor, class_names, templates):
    # a (classes, templates, dim) tensor from one processor call, sklearn's normalize for both steps
    from sklearn.preprocessing import normalize

    texts = [[template.format(name) for template in templates] for name in class_names]
    inputs = processor(text=sum(texts, []), return_tensors="pt", padding=True, truncation=True)
    with torch.no_grad():
        features = model.get_text_features(**inputs).pooler_output.numpy()
    unit = normalize(features).reshape(len(class_names), len(templates), -1)
    return normalize(np.einsum("ctd->cd", unit) / len(templates))


ALTERNATIVES = {
    "similarity_from_features": {"clip_similarity": similarity_from_features},
    "similarity_from_logits": {"clip_similarity": similarity_from_logits},
    "similarity_cosine_similarity": {"clip_similarity": similarity_cosine_similarity},
    "similarity_one_text_at_a_time": {"clip_similarity": similarity_one_text_at_a_time},
    "similarity_numpy_float64": {"clip_similarity": similarity_numpy_float64},
    "similarity_einsum_logits_per_text": {"clip_similarity": similarity_einsum_logits_per_text},
    "similarity_float64_model": {"clip_similarity": similarity_float64_model},
    "similarity_encoders_and_projections": {"clip_similarity": similarity_encoders_and_projections},
    "ranking_sorted_with_key": {"rank_descriptions": ranking_sorted_with_key},
    "ranking_torch_argsort": {"rank_descriptions": ranking_torch_argsort},
    "ranking_features_mergesort": {"rank_descriptions": ranking_features_mergesort},
    "ranking_selection_loop": {"rank_descriptions": ranking_selection_loop},
    "ranking_lexsort": {"rank_descriptions": ranking_lexsort},
    "ranking_sort_indices_by_key": {"rank_descriptions": ranking_sort_indices_by_key},
    "ranking_float64_model_descending_sort": {"rank_descriptions": ranking_float64_model_descending_sort},
    "ranking_by_softmax": {"rank_descriptions": ranking_by_softmax},
    "tokens_head_loop_numpy": {"token_importance": tokens_head_loop_numpy},
    "tokens_filter_by_token_string": {"token_importance": tokens_filter_by_token_string},
    "tokens_full_model_with_blank_image": {"token_importance": tokens_full_model_with_blank_image},
    "tokens_get_text_features_float64": {"token_importance": tokens_get_text_features_float64},
    "tokens_float64_model": {"token_importance": tokens_float64_model},
    "tokens_padded_to_max_length": {"token_importance": tokens_padded_to_max_length},
    "tokens_processor_text_only": {"token_importance": tokens_processor_text_only},
    "occlusion_loop_over_words": {"word_occlusion": occlusion_loop_over_words},
    "occlusion_features_numpy": {"word_occlusion": occlusion_features_numpy},
    "occlusion_words_and_torch_normalize": {"word_occlusion": occlusion_words_and_torch_normalize},
    "occlusion_text_loop_vector_norm": {"word_occlusion": occlusion_text_loop_vector_norm},
    "occlusion_logits_divided": {"word_occlusion": occlusion_logits_divided},
    "zeroshot_loop_like_the_paper": {"zero_shot_classifier": zeroshot_loop_like_the_paper},
    "zeroshot_one_batch_numpy": {"zero_shot_classifier": zeroshot_one_batch_numpy},
    "zeroshot_per_template_f_normalize": {"zero_shot_classifier": zeroshot_per_template_f_normalize},
    "zeroshot_text_model_and_projection": {"zero_shot_classifier": zeroshot_text_model_and_projection},
    "zeroshot_einsum_sklearn": {"zero_shot_classifier": zeroshot_einsum_sklearn},
}
