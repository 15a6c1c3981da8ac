"""Realistic mistakes in the CLIP exercise (each student = the full solution with these cells replaced)."""

BUGGY = {
    # Softmax over dim=0 of logits_per_image (the single image: all ones), and sorts ascending.
    "buggy_axis_ascending": {
        "clip_similarity": '''
def clip_similarity(model, processor, image, texts):
    inputs = processor(text=texts, images=image, return_tensors="pt", padding=True)
    with torch.no_grad():
        outputs = model(**inputs)
    cosine = (outputs.image_embeds @ outputs.text_embeds.T)[0]
    probs = torch.softmax(outputs.logits_per_image, dim=0)[0]
    return cosine.numpy(), probs.numpy()
''',
        "rank_descriptions": '''
def rank_descriptions(model, processor, image, texts):
    cosine, _ = clip_similarity(model, processor, image, texts)
    return sorted(texts, key=lambda t: cosine[texts.index(t)])
''',
    },
    # Dot product of the raw projected features (not normalised), reused for the ranking;
    # token importance: max over the heads, and the "last" layer hard-coded as attentions[1].
    "buggy_dot_maxheads": {
        "clip_similarity": '''
def clip_similarity(model, processor, image, texts):
    inputs = processor(text=texts, images=image, return_tensors="pt", padding=True)
    with torch.no_grad():
        image_features = model.get_image_features(pixel_values=inputs["pixel_values"]).pooler_output
        text_features = model.get_text_features(input_ids=inputs["input_ids"],
                                                attention_mask=inputs["attention_mask"]).pooler_output
        logits = model(**inputs).logits_per_image
    similarity = (image_features @ text_features.T)[0]
    return similarity.numpy(), logits.softmax(dim=-1)[0].numpy()
''',
        "token_importance": '''
def token_importance(model, processor, text):
    tokenizer = processor.tokenizer
    encoded = tokenizer([text], return_tensors="pt")
    with torch.no_grad():
        outputs = model.text_model(**encoded, output_attentions=True)
    ids = encoded["input_ids"][0].tolist()
    eos = ids.index(tokenizer.eos_token_id)
    attention = outputs.attentions[1][0]          # the last of the two layers
    row = attention[:, eos, :].max(dim=0).values  # strongest head
    keep = [i for i in range(eos) if ids[i] not in tokenizer.all_special_ids]
    scores = row[keep] / row[keep].sum()
    return list(zip(tokenizer.convert_ids_to_tokens([ids[i] for i in keep]), scores.tolist()))
''',
    },
    # Word occlusion from logits_per_image (the cosine times exp(logit_scale)) instead of the cosine.
    "buggy_occlusion_logits": {
        "word_occlusion": '''
def word_occlusion(model, processor, image, text):
    words = text.split()
    texts = [text] + [" ".join(words[:i] + words[i + 1:]) for i in range(len(words))]
    inputs = processor(text=texts, images=image, return_tensors="pt", padding=True)
    with torch.no_grad():
        logits = model(**inputs).logits_per_image[0]
    return (logits[0] - logits[1:]).numpy()
''',
    },
    # Zero-shot prompt ensemble: the raw text features averaged over the templates, normalised only once at the end.
    "buggy_zeroshot_unnormalised": {
        "zero_shot_classifier": '''
def zero_shot_classifier(model, processor, class_names, templates):
    weights = []
    for name in class_names:
        inputs = processor(text=[t.format(name) for t in templates], return_tensors="pt", padding=True,
                           truncation=True)
        with torch.no_grad():
            features = model.get_text_features(**inputs).pooler_output
        mean = features.mean(dim=0)
        weights.append(mean / mean.norm())
    return torch.stack(weights).numpy()
''',
    },
}
