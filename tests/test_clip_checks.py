"""The CLIP checks: the expectations table (tests/test_exercises.py runs it: every known mistake loses exactly
its checks) and the reference's correctness."""

from __future__ import annotations

import xaikit  # noqa: F401  (torch + triton first)

import numpy as np
import torch

from helpers import grade_namespace, hidden_setup
from autograder.checks import Exercise
from autograder.checks import clip as clip_checks
from xaikit.selfcheck.exercises import clip as clip_student
from reference_solutions import clip as reference

GENERAL = "general.other_config"
# variant -> the checks it must fail (and nothing else); the message must be the variant's own.
EXPECTED_LOSSES = {
    "dot_without_normalisation": {"similarity.cosine", "ranking.order", "ranking.ties", GENERAL},
    "softmax_wrong_axis": {"similarity.softmax", "similarity.softmax_sums_to_one", GENERAL},
    "softmax_of_cosine": {"similarity.softmax", GENERAL},
    "ascending_ranking": {"ranking.order", "ranking.ties", GENERAL},
    "ties_broken_by_text": {"ranking.ties"},  # sorted over (cosine, text) pairs: right wherever no two cosines tie
    "start_token_row": {"tokens.scores", GENERAL},
    "includes_special_tokens": {"tokens.tokens", "tokens.scores", GENERAL},
    "first_layer": {"tokens.scores", GENERAL},
    "hardcoded_layer_index": {GENERAL},  # right on the 2-layer tiny CLIP, wrong on 3 layers
    "max_over_heads": {"tokens.scores", GENERAL},
    "mean_over_layers": {"tokens.scores", GENERAL},
    "eos_by_argmax": {"tokens.tokens", "tokens.scores", GENERAL},
    "eos_row_by_argmax": {"tokens.scores", GENERAL},  # the tokens right, the row at argmax(ids)
    "keeps_unknown_token": {"tokens.tokens", "tokens.scores"},  # right on every text without an unknown character
    "not_normalised": {"tokens.scores", GENERAL},
    "occlusion_sign_flipped": {"occlusion.values", "occlusion.image"},
    "occlusion_from_logits": {"occlusion.values", "occlusion.image"},
    "occlusion_unnormalised_dot": {"occlusion.values", "occlusion.image"},
    "occlusion_image_ignored": {"occlusion.values", "occlusion.image"},
    # one value per token: the wrong length where a word has several tokens (the split case), right elsewhere
    "occlusion_of_tokens": {"occlusion.words", "occlusion.values"},
    # the ensemble's mistakes: with one template the mean of one unit vector is that vector (zeroshot.single right)
    "zeroshot_unnormalised_mean": {"zeroshot.ensemble"},
    "zeroshot_not_renormalised": {"zeroshot.ensemble"},
    "zeroshot_first_template_only": {"zeroshot.ensemble"},
    # wrong with any number of templates (the class names are never in alphabetical order)
    "zeroshot_classes_sorted": {"zeroshot.single", "zeroshot.ensemble"},
    "zeroshot_transposed": {"zeroshot.single", "zeroshot.ensemble"},
    "zeroshot_normalised_over_classes": {"zeroshot.single", "zeroshot.ensemble"},
}
REQUIRED_BY_THE_ISSUE = {"dot_without_normalisation", "softmax_wrong_axis", "start_token_row",
                         "includes_special_tokens", "first_layer", "max_over_heads", "ascending_ranking"}


def test_every_variant_is_tested_and_the_required_mistakes_are_there():
    assert set(EXPECTED_LOSSES) == set(reference.VARIANTS) == set(Exercise("clip").variant_ids())
    assert REQUIRED_BY_THE_ISSUE <= set(EXPECTED_LOSSES)


def test_messages_exist_in_both_languages_for_every_variant_and_own_key():
    keys = set(reference.VARIANTS) | {"probs_sum", "ranking", "ranking_ties", "tokens", "other_config",
                                          "occlusion_image"}
    for key in keys:
        assert set(clip_checks.MESSAGES[key]) == {"de", "en"}, key
        assert "{case}" in clip_checks.MESSAGES[key]["de"] and "{case}" in clip_checks.MESSAGES[key]["en"], key


# --- the reference against independent computations -------------------------------------------

def _cases(probe):
    _, cases, expected, _ = hidden_setup("clip")
    return [(c, expected[c.id]) for c in cases if c.probe == probe]


def test_reference_similarity_is_the_cosine_of_the_projected_features_and_softmax_of_scaled_cosine():
    for case, expected in _cases("probe_similarity"):
        model, processor = clip_checks.load_model(case.inputs["model"])
        inputs = processor(text=case.inputs["texts"], images=case.inputs["image"], return_tensors="pt", padding=True)
        with torch.no_grad():
            image = model.get_image_features(pixel_values=inputs["pixel_values"]).pooler_output
            text = model.get_text_features(input_ids=inputs["input_ids"],
                                           attention_mask=inputs["attention_mask"]).pooler_output
        image = image / image.norm(dim=-1, keepdim=True)
        text = text / text.norm(dim=-1, keepdim=True)
        cosine = (image @ text.T)[0].double().numpy()
        np.testing.assert_allclose(expected["cosine"], cosine, atol=1e-5)
        scaled = np.exp(model.logit_scale.item()) * cosine
        softmax = np.exp(scaled - scaled.max()) / np.exp(scaled - scaled.max()).sum()
        np.testing.assert_allclose(expected["probs"], softmax, atol=1e-5)
        assert abs(expected["probs"].sum() - 1) < 1e-5
        assert len(case.inputs["texts"]) >= 2  # with one text softmax over either axis is [1.0]


def test_reference_token_importance_matches_the_full_models_text_attentions():
    for case, expected in _cases("probe_tokens"):
        model, processor = clip_checks.load_model(case.inputs["model"])
        image = np.zeros((64, 64, 3), np.uint8)
        inputs = processor(text=[case.inputs["text"]], images=image, return_tensors="pt", padding="max_length")
        with torch.no_grad():
            outputs = model(**inputs, output_attentions=True)
        attention = outputs.text_model_output.attentions[-1][0]  # heads x L x L
        ids = inputs["input_ids"][0].tolist()
        eos = ids.index(processor.tokenizer.eos_token_id)
        words = [i for i in range(1, eos) if ids[i] != processor.tokenizer.unk_token_id]  # between start and end
        row = attention[:, eos, words].mean(dim=0).double().numpy()
        np.testing.assert_allclose(expected["scores"], row / row.sum(), atol=1e-6)
        assert list(expected["tokens"]) == processor.tokenizer.convert_ids_to_tokens([ids[i] for i in words])
        assert not {"<|startoftext|>", "<|endoftext|>", "<|unk|>"} & set(expected["tokens"])
        assert model.config.text_config.num_hidden_layers >= 2  # first != last layer


def test_the_tie_case_really_ties_and_the_reference_keeps_the_input_order():
    for case, expected in _cases("probe_ranking"):
        if "ties" not in case.tags:
            continue
        model, processor = clip_checks.load_model(case.inputs["model"])
        texts = case.inputs["texts"]
        cosine, _ = reference.clip_similarity(model, processor, case.inputs["image"], texts)
        lowered = [t.lower() for t in texts]
        tied = [i for i, t in enumerate(lowered) if lowered.count(t) > 1]
        assert len(tied) == 3 and len({float(cosine[i]) for i in tied}) == 1
        ranking = list(expected["ranking"])
        in_ranking = [texts[i] for i in sorted(tied, key=lambda i: ranking.index(texts[i]))]
        assert in_ranking == [texts[i] for i in tied]  # the input order
        # ... which is neither the order of the texts nor its reverse (then ordering ties by the texts and
        # reversing them give two other rankings)
        assert in_ranking != sorted(in_ranking, reverse=True) and in_ranking[::-1] != sorted(in_ranking, reverse=True)


def test_distinct_rankings_have_clear_gaps_so_equivalent_computations_agree():
    for case, expected in _cases("probe_ranking"):
        model, processor = clip_checks.load_model(case.inputs["model"])
        cosine, _ = reference.clip_similarity(model, processor, case.inputs["image"], case.inputs["texts"])
        gaps = np.diff(np.sort(cosine))
        if "distinct" in case.tags:
            assert gaps.min() > 1e-3, (case.id, cosine)
        else:  # the three casings of one description tie exactly, every other gap is clear
            assert np.sum(gaps == 0) == 2 and np.sort(gaps)[2] > 1e-3, (case.id, cosine)
    _, cases, expected, _ = hidden_setup("clip")
    general = next(c for c in cases if c.probe == "probe_general")
    assert np.diff(np.sort(expected[general.id]["cosine"])).min() > 1e-3


def test_other_configuration_is_deterministic_different_and_leaves_the_global_rng_alone():
    _, cases, _, _ = hidden_setup("clip")
    spec = next(c for c in cases if c.probe == "probe_general").inputs["model"]
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    first = clip_student._build(spec)[0]
    assert torch.equal(torch.rand(3), before)
    second = clip_student._build(spec)[0]
    for (name, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items()):
        assert torch.equal(a, b), name
    tiny, _ = clip_checks.load_model("embedded")
    assert first.config.text_config.num_hidden_layers == 3 != tiny.config.text_config.num_hidden_layers
    assert first.config.text_config.hidden_size != tiny.config.text_config.hidden_size
    assert first.config.text_config.num_attention_heads != tiny.config.text_config.num_attention_heads
    assert first.config.vision_config.image_size != tiny.config.vision_config.image_size
    assert first.config.vision_config.patch_size != tiny.config.vision_config.patch_size


def test_a_function_that_changes_the_model_does_not_change_the_next_case():
    model, _ = clip_checks.load_model("embedded")
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()
    model, _ = clip_checks.load_model("embedded")
    assert any(bool(p.abs().sum() > 0) for p in model.parameters())


def test_tensor_results_and_row_vectors_are_accepted():
    def clip_similarity(model, processor, image, texts):
        inputs = processor(text=texts, images=image, return_tensors="pt", padding=True)
        outputs = model(**inputs)  # no torch.no_grad: the probe must detach
        return outputs.image_embeds @ outputs.text_embeds.T, outputs.logits_per_image.softmax(dim=1)

    def token_importance(model, processor, text):
        return [(t, torch.tensor(s)) for t, s in reference.token_importance(model, processor, text)]

    verdicts = grade_namespace("clip", {"clip_similarity": clip_similarity, "token_importance": token_importance})
    assert all(v.passed for v in verdicts.values()), {k: v.message for k, v in verdicts.items() if not v.passed}


def test_reversed_ties_get_their_own_message():
    def rank_descriptions(model, processor, image, texts):
        cosine, _ = reference.clip_similarity(model, processor, image, texts)
        return [texts[i] for i in np.argsort(cosine, kind="stable")[::-1]]

    verdicts = grade_namespace("clip", {"rank_descriptions": rank_descriptions})
    assert {k for k, v in verdicts.items() if not v.passed} == {"ranking.ties"}
    assert verdicts["ranking.ties"].message_key == "ranking_ties"


def test_hidden_inputs_differ_from_public_ones():
    exercise = Exercise("clip")
    public = exercise.build_cases(7, public=True)
    hidden = exercise.build_cases(20261125, public=False)
    images = lambda cases: [c.inputs["image"] for c in cases if "image" in c.inputs]  # noqa: E731
    assert not any(a.shape == b.shape and np.array_equal(a, b) for a in images(public) for b in images(hidden))
    token_texts = lambda cases: {c.inputs["text"] for c in cases if "text" in c.inputs}  # noqa: E731
    assert not token_texts(public) & token_texts(hidden)
    general = [c.inputs["model"] for c in public + hidden if c.probe == "probe_general"]
    assert general[0]["config"] != general[1]["config"] and general[0]["seed"] != general[1]["seed"]
    assert len(hidden) > len(public)


def test_token_texts_fit_the_text_encoder_without_truncation():
    """Task 3 does not ask for truncation=True: every text token_importance gets must fit the text encoder as it is
    (a correct solution that tokenises without truncation would crash on a longer one)."""
    exercise = Exercise("clip")
    _, hidden, _, _ = hidden_setup("clip")
    _, processor = clip_checks.load_model("embedded")
    tokenizer = processor.tokenizer
    for case in exercise.build_cases(7, public=True) + list(hidden):
        if "text" in case.inputs:
            assert len(tokenizer(case.inputs["text"])["input_ids"]) <= tokenizer.model_max_length, case.id


def test_the_softmax_sum_check_records_its_share_of_the_tolerance():
    from xaikit.selfcheck.compare import recording

    check = next(c for c in clip_checks.CHECKS if c.id == "similarity.softmax_sums_to_one")
    expected = {"probs": np.array([0.25, 0.75])}
    with recording() as records:
        assert check.criterion({"probs": np.array([0.25, 0.75 + 0.5 * clip_student.TOLERANCE.atol])}, expected, None) is None
        assert check.criterion({"probs": np.array([1.0, 1.0])}, expected, None).key == "probs_sum"
    assert [name for name, _ in records] == ["probs_sum", "probs_sum"]
    assert abs(records[0][1] - 0.5) < 1e-6 and records[1][1] > 1e3


# --- the self-check on the public cases (what students see in Jupyter) ---------------------------------------

def _public_self_check(overrides: dict) -> dict:
    """check id -> verdict of the self-check (the released public_checks.npz, the student side's evaluation) for
    the reference with ``overrides`` swapped in."""
    from autograder.config import PROJECT_ROOT
    from xaikit.selfcheck.core import call_probe, evaluate, load_public

    data = load_public(PROJECT_ROOT / "release" / "clip" / "public_checks.npz")
    exercise = data.exercise("clip")
    cases = exercise.build_cases(data.seed)
    namespace = {**vars(reference), **overrides}
    results = {case.id: call_probe(exercise, case, namespace) for case in cases}
    return {v.check_id: v for v in evaluate(exercise, cases, results, data.expected, data.variants, "de",
                                            public_only=True)}


def test_the_self_check_names_every_known_mistake_by_its_own_message_on_the_public_cases():
    """Issue 23: on the public cases no variant gets another variant's message (a wrong name is worse than none),
    and each is named by its own message in every public check it fails (`eos_by_argmax`'s row with the right tokens
    got only "Werte weichen ab"; ties ordered by their texts and a kept <|unk|> passed the public checks)."""
    for variant_id, overrides in reference.VARIANTS.items():
        verdicts = _public_self_check(overrides)
        failed = {check_id: v for check_id, v in verdicts.items() if not v.passed}
        assert failed, variant_id
        own = clip_checks.MESSAGES[variant_id]["de"].split("({case})")[0]
        for check_id, verdict in failed.items():
            assert verdict.message.startswith(own), (variant_id, check_id, verdict.message)


def test_the_public_cases_hold_an_unknown_character_and_a_three_way_tie_that_tells_orders_apart():
    cases = Exercise("clip").build_cases(7, public=True)
    _, processor = clip_checks.load_model("embedded")
    tokenizer = processor.tokenizer
    assert any(tokenizer.unk_token_id in tokenizer(c.inputs["text"])["input_ids"] for c in cases if "text" in c.inputs)
    tie = next(c for c in cases if "ties" in c.tags)
    lowered = [t.lower() for t in tie.inputs["texts"]]
    tied = [t for t in tie.inputs["texts"] if lowered.count(t.lower()) == 3]
    assert tied != sorted(tied, reverse=True) and tied[::-1] != sorted(tied, reverse=True)
    model, _ = clip_checks.load_model("embedded")
    cosine, _ = reference.clip_similarity(model, processor, tie.inputs["image"], tie.inputs["texts"])
    gaps = np.diff(np.sort(cosine))
    assert np.sum(gaps == 0) == 2 and np.sort(gaps)[2] > 1e-3, cosine  # an exact tie, every other gap clear


def test_every_hidden_set_holds_a_text_with_an_unknown_character():
    from helpers import HIDDEN_SETS, all_hidden_sets

    _, processor = clip_checks.load_model("embedded")
    tokenizer = processor.tokenizer
    for index in range(HIDDEN_SETS):
        cases = all_hidden_sets("clip")[index][1]
        texts = [c.inputs["text"] for c in cases if c.probe == "probe_tokens"]
        assert any(tokenizer.unk_token_id in tokenizer(text)["input_ids"] for text in texts), (index, texts)


def test_a_student_who_takes_the_argmax_row_and_keeps_every_word_is_told_so_in_the_self_check():
    """The way the issue's student wrote it (OpenAI's pooling index, special tokens filtered over the whole text)."""
    def token_importance(model, processor, text):
        tokenizer = processor.tokenizer
        encoded = tokenizer(text, return_tensors="pt")
        with torch.no_grad():
            attentions = model.text_model(**encoded, output_attentions=True).attentions
        ids = encoded["input_ids"][0]
        row = attentions[-1][0, :, ids.argmax(), :].mean(dim=0)
        keep = [i for i, token in enumerate(ids.tolist()) if token not in tokenizer.all_special_ids]
        return list(zip(tokenizer.convert_ids_to_tokens(ids[keep].tolist()), (row[keep] / row[keep].sum()).tolist()))

    verdicts = _public_self_check({"token_importance": token_importance})
    assert verdicts["tokens.tokens"].passed
    assert verdicts["tokens.scores"].message.startswith(
        clip_checks.MESSAGES["eos_row_by_argmax"]["de"].split("({case})")[0])


# --- word_occlusion (task 5) ---------------------------------------------------------------------------------

def _independent_occlusion(model, processor, image, text):
    """Each text encoded on its own, cosines in float64 numpy from get_*_features: no batch, no padding."""
    pixel_values = processor(images=image, return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        image_features = model.get_image_features(pixel_values=pixel_values).pooler_output[0].double().numpy()

    def cosine(t):
        with torch.no_grad():
            features = model.get_text_features(**processor.tokenizer([t], return_tensors="pt")).pooler_output
        features = features[0].double().numpy()
        return features @ image_features / (np.linalg.norm(features) * np.linalg.norm(image_features))

    words = text.split()
    full = cosine(text)
    remaining = [[w for j, w in enumerate(words) if j != i] for i in range(len(words))]
    return np.array([full - cosine(" ".join(r)) for r in remaining])


def _cases_of(public: bool, *probes: str):
    """(case, reference result) of the public cases or of the tests' first hidden set, for these probes."""
    if public:
        exercise = Exercise("clip")
        from helpers import compute_reference

        cases = exercise.build_cases(7, public=True)
        expected, _ = compute_reference(exercise, cases)
    else:
        _, cases, expected, _ = hidden_setup("clip")
    return [(c, expected[c.id]) for c in cases if c.probe in probes]


def _occlusion_cases(public: bool):
    return _cases_of(public, "probe_occlusion", "probe_occlusion_images")


def test_reference_word_occlusion_matches_an_independent_computation_on_public_and_hidden_cases():
    for public in (True, False):
        cases = _occlusion_cases(public)
        assert {c.probe for c, _ in cases} == {"probe_occlusion", "probe_occlusion_images"}
        for case, expected in cases:
            model, processor = clip_checks.load_model(case.inputs["model"])
            np.testing.assert_allclose(expected["deltas"], _independent_occlusion(
                model, processor, case.inputs["image"], case.inputs["text"]), atol=1e-5)
            assert expected["deltas"].shape == (len(case.inputs["text"].split()),)
            if "other_image" in case.inputs:
                np.testing.assert_allclose(expected["deltas_other"], _independent_occlusion(
                    model, processor, case.inputs["other_image"], case.inputs["text"]), atol=1e-5)


def test_occlusion_cases_show_their_mistakes_clearly():
    """Every set holds a text with a word of several tokens (one value per word tells words from tokens); the text
    of the two-image case has one token per word (occluding tokens is right there), and its values change between
    the images by far more than the tolerance (so a function that ignores the image is caught)."""
    _, processor = clip_checks.load_model("embedded")
    tokenizer = processor.tokenizer
    for public in (True, False):
        cases = _occlusion_cases(public)
        texts = [c.inputs["text"] for c, _ in cases if c.probe == "probe_occlusion"]
        assert any(len(tokenizer.tokenize(t)) > len(t.split()) for t in texts), texts
        for case, expected in cases:
            if case.probe == "probe_occlusion_images":
                text = case.inputs["text"]
                assert len(tokenizer.tokenize(text)) == len(text.split())
                assert np.abs(expected["deltas"] - expected["deltas_other"]).max() > 0.05
                assert np.abs(expected["deltas"]).min() > 100 * clip_student.TOLERANCE.atol


def test_occlusion_accepts_a_pair_of_words_and_values_and_a_column():
    def word_occlusion(model, processor, image, text):
        values = reference.word_occlusion(model, processor, image, text)
        return text.split(), torch.tensor(values).reshape(-1, 1)

    verdicts = grade_namespace("clip", {"word_occlusion": word_occlusion})
    assert all(v.passed for v in verdicts.values()), {k: v.message for k, v in verdicts.items() if not v.passed}


# --- zero_shot_classifier (task 6) ----------------------------------------------------------------------------

def _independent_zero_shot(model, processor, class_names, templates):
    """Each filled template encoded on its own (no batch, no padding), float64 numpy, loops only."""
    rows = []
    for name in class_names:
        units = []
        for template in templates:
            with torch.no_grad():
                features = model.get_text_features(**processor.tokenizer([template.format(name)],
                                                                         return_tensors="pt")).pooler_output
            vector = features[0].double().numpy()
            units.append(vector / np.sqrt(np.sum(vector ** 2)))
        mean = np.sum(units, axis=0) / len(units)
        rows.append(mean / np.sqrt(np.sum(mean ** 2)))
    return np.array(rows)


def _zero_shot_cases(public: bool):
    return _cases_of(public, "probe_zeroshot")


def test_reference_zero_shot_classifier_matches_an_independent_computation_on_public_and_hidden_cases():
    for public in (True, False):
        cases = _zero_shot_cases(public)
        assert {c.id for c, _ in cases} == {"zeroshot_single", "zeroshot_ensemble"}
        for case, expected in cases:
            model, processor = clip_checks.load_model(case.inputs["model"])
            names, templates = case.inputs["class_names"], case.inputs["templates"]
            want = _independent_zero_shot(model, processor, names, templates)
            np.testing.assert_allclose(expected["weights"], want, atol=1e-6)
            assert expected["weights"].shape == (len(names), model.config.projection_dim)
            np.testing.assert_allclose(np.linalg.norm(expected["weights"], axis=1), 1.0, atol=1e-6)


def test_zero_shot_cases_tell_the_mistakes_apart_on_every_hidden_set():
    """On the public cases and on all K hidden sets: one template in the single case and three or more distinct ones
    in the ensemble case; class names never in alphabetical order and unique; every filled template fits the text
    encoder's 16 positions (so truncation plays no part); each known mistake moves the matrix by ten tolerances."""
    from helpers import all_hidden_sets, compute_reference

    _, processor = clip_checks.load_model("embedded")
    tokenizer = processor.tokenizer
    exercise = Exercise("clip")
    public = exercise.build_cases(7, public=True)
    sets = [(public, compute_reference(exercise, public)[0])]
    sets += [(cases, expected) for _, cases, expected, *_ in all_hidden_sets("clip")]
    named = {check.id: check.variants for check in clip_checks.CHECKS}
    for cases, expected in sets:
        for case in (c for c in cases if c.probe == "probe_zeroshot"):
            names, templates = case.inputs["class_names"], case.inputs["templates"]
            assert names != sorted(names) and len(set(names)) == len(names), names
            if case.id == "zeroshot_single":
                assert len(templates) == 1
            else:
                assert len(set(templates)) == len(templates) >= 3
            assert all(len(tokenizer(t.format(n))["input_ids"]) <= tokenizer.model_max_length
                       for n in names for t in templates)
            model, processor = clip_checks.load_model(case.inputs["model"])
            want = expected[case.id]["weights"]
            for variant in named["zeroshot.single" if case.id == "zeroshot_single" else "zeroshot.ensemble"]:
                got = reference.VARIANTS[variant]["zero_shot_classifier"](model, processor, names, templates)
                assert got.shape != want.shape or np.abs(got - want).max() >= 1e-3, (case.label, variant)


def test_zero_shot_accepts_a_tensor_and_a_list_of_rows():
    def as_tensor(model, processor, class_names, templates):
        return torch.from_numpy(reference.zero_shot_classifier(model, processor, class_names, templates))

    def as_rows(model, processor, class_names, templates):
        return list(torch.from_numpy(reference.zero_shot_classifier(model, processor, class_names, templates)))

    for function in (as_tensor, as_rows):
        verdicts = grade_namespace("clip", {"zero_shot_classifier": function})
        assert verdicts["zeroshot.single"].passed and verdicts["zeroshot.ensemble"].passed, function.__name__


def test_zero_shot_does_not_depend_on_the_students_clip_similarity():
    """A wrong clip_similarity costs its own points, not those of the zero-shot task (unlike word_occlusion, whose
    solution may call it): the reference's classifier beside the unnormalised dot product keeps both points."""
    overrides = {**reference.VARIANTS["dot_without_normalisation"],
                 "zero_shot_classifier": reference.zero_shot_classifier}
    verdicts = grade_namespace("clip", overrides)
    assert not verdicts["similarity.cosine"].passed
    assert verdicts["zeroshot.single"].passed and verdicts["zeroshot.ensemble"].passed
