"""The grader's view of the CLIP exercise: the student side's probes, public cases, criteria
and messages (``xaikit/selfcheck/exercises/clip.py``), plus which known mistakes each check names
(their messages) and the hidden cases (``reference_solutions/hidden/clip.py``)."""

from __future__ import annotations

import numpy as np

from xaikit.selfcheck.exercises import clip as _public
from xaikit.selfcheck.exercises.clip import *  # noqa: F401,F403  (probes, constants, public cases)

from . import hidden_builders, with_diagnoses

TOKEN_VARIANTS = ("start_token_row", "includes_special_tokens", "first_layer", "max_over_heads",
                  "eos_by_argmax", "eos_row_by_argmax", "not_normalised", "mean_over_layers")
# general.other_config's texts are distinct and hold no unknown character: the variants that are wrong only on
# ties or on <|unk|> tokens (ties_broken_by_text, keeps_unknown_token) are right there, so it does not name them
ALL_VARIANTS = ("dot_without_normalisation", "softmax_wrong_axis", "softmax_of_cosine", "ascending_ranking",
                *TOKEN_VARIANTS, "hardcoded_layer_index")

ORDER = 4  # place in the lecture: sorts the exercises everywhere (autograder/exercises.py)

# check id -> the known-wrong variants (reference_solutions/clip.py) it names, in the order tried
DIAGNOSES = {
    "similarity.cosine": ("dot_without_normalisation",),
    "similarity.softmax": ("softmax_wrong_axis", "softmax_of_cosine"),
    "similarity.softmax_sums_to_one": ("softmax_wrong_axis",),
    "ranking.order": ("ascending_ranking", "dot_without_normalisation"),
    "ranking.ties": ("ascending_ranking", "dot_without_normalisation", "ties_broken_by_text"),
    "tokens.tokens": ("includes_special_tokens", "eos_by_argmax", "keeps_unknown_token"),
    "tokens.scores": (*TOKEN_VARIANTS, "keeps_unknown_token"),
    "general.other_config": ALL_VARIANTS,
    "occlusion.words": ("occlusion_of_tokens",),
    "occlusion.values": ("occlusion_of_tokens", "occlusion_sign_flipped", "occlusion_from_logits",
                         "occlusion_unnormalised_dot", "occlusion_image_ignored"),
    "occlusion.image": ("occlusion_sign_flipped", "occlusion_from_logits", "occlusion_unnormalised_dot",
                        "occlusion_image_ignored"),
    # one template: the ensemble's mistakes give the reference's matrix there (mean of one vector)
    "zeroshot.single": ("zeroshot_transposed", "zeroshot_classes_sorted", "zeroshot_normalised_over_classes"),
    "zeroshot.ensemble": ("zeroshot_transposed", "zeroshot_classes_sorted", "zeroshot_normalised_over_classes",
                          "zeroshot_unnormalised_mean", "zeroshot_not_renormalised", "zeroshot_first_template_only"),
}

CHECKS = with_diagnoses(_public.CHECKS, DIAGNOSES)

# the checks' own messages and those of the known mistakes
MESSAGES = {**_public.MESSAGES,
    "dot_without_normalisation": {
        "de": "Sie berechnen das Skalarprodukt der Embeddings, ohne sie auf Länge 1 zu normieren ({case}). "
              "Die Kosinus-Ähnlichkeit ist ⟨a, b⟩ / (‖a‖·‖b‖): Teilen Sie beide Vektoren erst durch ihre Norm "
              "(oder verwenden Sie `image_embeds`/`text_embeds` der Modellausgabe, die schon normiert sind).",
        "en": "You take the dot product of the feature vectors without normalising them to length 1 ({case}). "
              "Cosine similarity is ⟨a, b⟩ / (‖a‖·‖b‖): divide both vectors by their norm first "
              "(or use the model output's `image_embeds`/`text_embeds`, which are normalised already).",
    },
    "softmax_wrong_axis": {
        "de": "Sie bilden die Softmax über die falsche Achse ({case}): `logits_per_image` hat die Form "
              "(Bilder, Texte); mit einem Bild ergibt die Softmax über die Bilder lauter Einsen. "
              "Nehmen Sie `softmax(dim=-1)` bzw. `dim=1` (über die Texte).",
        "en": "You take the softmax over the wrong axis ({case}): `logits_per_image` has shape (images, texts); "
              "with one image the softmax over images is all ones. Use `softmax(dim=-1)` or `dim=1` (over the texts).",
    },
    "softmax_of_cosine": {
        "de": "Sie bilden die Softmax über die Kosinus-Ähnlichkeiten statt über `logits_per_image` ({case}). "
              "CLIP skaliert die Kosinus-Werte mit `exp(logit_scale)` (≈ 100 beim echten CLIP); ohne diesen "
              "Faktor ist die Verteilung viel zu flach.",
        "en": "You take the softmax of the cosine similarities instead of `logits_per_image` ({case}). "
              "CLIP scales the cosines by `exp(logit_scale)` (≈ 100 for the real CLIP); without it the "
              "distribution is far too flat.",
    },
    "ascending_ranking": {
        "de": "Ihre Rangfolge ist aufsteigend sortiert ({case}): die ähnlichste Beschreibung muss zuerst "
              "kommen (absteigend, z. B. `np.argsort(-sim, kind=\"stable\")`).",
        "en": "Your ranking is sorted in ascending order ({case}): the most similar description must come "
              "first (descending, e.g. `np.argsort(-sim, kind=\"stable\")`).",
    },
    "ties_broken_by_text": {
        "de": "Bei Gleichstand ordnen Sie die Texte nach ihrem Wortlaut statt nach ihrer ursprünglichen Reihenfolge "
              "({case}): `sorted` über Paare (Kosinus, Text) vergleicht bei gleichem Kosinus die Texte. Sortieren "
              "Sie nur nach dem Kosinus, stabil (`key=lambda pair: pair[0]` oder `np.argsort(-sim, kind=\"stable\")`).",
        "en": "On ties you order the texts by their wording instead of their input order ({case}): `sorted` over "
              "(cosine, text) pairs compares the texts when the cosines are equal. Sort by the cosine only, stably "
              "(`key=lambda pair: pair[0]` or `np.argsort(-sim, kind=\"stable\")`).",
    },
    "start_token_row": {
        "de": "Sie nehmen die Attention-Zeile des Start-Tokens (Position 0) statt der des End-of-Text-Tokens ({case}). "
              "Wegen der kausalen Maske sieht das Start-Token nur sich selbst; die Textrepräsentation von CLIP "
              "ist das EOS-Token, also dessen Zeile.",
        "en": "You take the attention row of the start token (position 0) instead of the end-of-text token's ({case}). "
              "Because of the causal mask the start token only sees itself; CLIP's text representation is the "
              "EOS token, so use its row.",
    },
    "includes_special_tokens": {
        "de": "Ihre Liste enthält Sondertoken (<|startoftext|>, <|endoftext|>) ({case}). Lassen Sie sie weg und "
              "normieren Sie die übrigen Werte auf Summe 1.",
        "en": "Your list contains special tokens (<|startoftext|>, <|endoftext|>) ({case}). Leave them out and "
              "normalise the remaining scores to sum 1.",
    },
    "first_layer": {
        "de": "Sie verwenden die Attention der ersten Schicht (`attentions[0]`) statt der letzten "
              "(`attentions[-1]`) ({case}).",
        "en": "You use the first layer's attention (`attentions[0]`) instead of the last one's "
              "(`attentions[-1]`) ({case}).",
    },
    "hardcoded_layer_index": {
        "de": "Sie verwenden eine feste Schichtnummer (`attentions[1]`) ({case}): beim kleinen CLIP ist das die "
              "letzte Schicht, bei einem Modell mit mehr Schichten nicht. Nehmen Sie `attentions[-1]`.",
        "en": "You use a fixed layer index (`attentions[1]`) ({case}): for the tiny CLIP that is the last layer, "
              "for a model with more layers it is not. Use `attentions[-1]`.",
    },
    "mean_over_layers": {
        "de": "Sie mitteln die Attention über alle Schichten ({case}). Gefordert ist nur die letzte Schicht "
              "(`attentions[-1]`): dort ist die Repräsentation des EOS-Tokens fertig.",
        "en": "You average the attention over all layers ({case}). Required is the last layer only "
              "(`attentions[-1]`): that is where the EOS token's representation is complete.",
    },
    "max_over_heads": {
        "de": "Sie nehmen das Maximum über die Attention-Köpfe statt des Mittelwerts ({case}). "
              "Gefordert ist `.mean(dim=…)` über die Köpfe.",
        "en": "You take the maximum over the attention heads instead of the mean ({case}). "
              "Required is `.mean(dim=…)` over the heads.",
    },
    "eos_by_argmax": {
        "de": "Sie bestimmen die Position des End-of-Text-Tokens mit `argmax` der Token-IDs ({case}). Das stimmt "
              "nur, wenn EOS die größte ID hat (wie beim OpenAI-Vokabular); beim kleinen CLIP hat EOS die ID 1. "
              "Suchen Sie die erste Position mit `tokenizer.eos_token_id`.",
        "en": "You find the end-of-text position with `argmax` of the token ids ({case}). That is right only "
              "when EOS has the largest id (as in OpenAI's vocabulary); in the tiny CLIP EOS has id 1. "
              "Look for the first position holding `tokenizer.eos_token_id`.",
    },
    "eos_row_by_argmax": {
        "de": "Sie nehmen die Attention-Zeile an der Position `argmax` der Token-IDs ({case}). Das ist nur dann "
              "das End-of-Text-Token, wenn EOS die größte ID hat (wie beim OpenAI-Vokabular); beim kleinen CLIP hat "
              "EOS die ID 1, `argmax` findet ein Wort. Nehmen Sie die Zeile der ersten Position mit "
              "`tokenizer.eos_token_id`.",
        "en": "You take the attention row at the position `argmax` of the token ids ({case}). That is the "
              "end-of-text token only when EOS has the largest id (as in OpenAI's vocabulary); in the tiny CLIP EOS "
              "has id 1 and `argmax` finds a word. Take the row of the first position holding "
              "`tokenizer.eos_token_id`.",
    },
    "keeps_unknown_token": {
        "de": "Ihre Liste enthält das Sondertoken `<|unk|>` ({case}): Ein Zeichen, das der Tokenizer nicht kennt "
              "(„ß“, „é“, ein Emoji), wird zu `<|unk|>`-Token, und die fallen wie Start- und "
              "End-of-Text-Token weg. Die Token zwischen Start und Ende (`[1:eos]`) genügen dafür nicht: Lassen "
              "Sie alle IDs aus `processor.tokenizer.all_special_ids` weg.",
        "en": "Your list contains the special token `<|unk|>` ({case}): a character the tokenizer does not know "
              "(\"ß\", \"é\", an emoji) becomes `<|unk|>` tokens, which are dropped like the start and end-of-text "
              "tokens. The tokens between start and end (`[1:eos]`) are not enough for that: leave out every id "
              "in `processor.tokenizer.all_special_ids`.",
    },
    "occlusion_sign_flipped": {
        "de": "Ihre Wortverdeckung hat das falsche Vorzeichen ({case}): Gefordert ist die Kosinus-Ähnlichkeit mit dem "
              "ganzen Text **minus** die ohne das Wort, damit ein Wort, das zum Bild passt, einen positiven Wert bekommt.",
        "en": "Your word occlusion has the wrong sign ({case}): required is the cosine similarity with the full text "
              "**minus** that without the word, so that a word that fits the image gets a positive value.",
    },
    "occlusion_from_logits": {
        "de": "Sie nehmen die Differenzen von `logits_per_image` ({case}): das ist die Kosinus-Ähnlichkeit mal "
              "`exp(logit_scale)`. Gefordert ist die Differenz der Kosinus-Ähnlichkeiten selbst (wie in "
              "`clip_similarity`).",
        "en": "You take differences of `logits_per_image` ({case}): that is the cosine similarity times "
              "`exp(logit_scale)`. Required is the difference of the cosine similarities themselves (as in "
              "`clip_similarity`).",
    },
    "occlusion_unnormalised_dot": {
        "de": "Sie bilden die Differenzen von Skalarprodukten nicht normierter Embeddings ({case}). Gefordert ist "
              "die Kosinus-Ähnlichkeit: Teilen Sie beide Vektoren erst durch ihre Norm (oder verwenden Sie Ihre "
              "`clip_similarity`).",
        "en": "You take differences of dot products of unnormalised embeddings ({case}). Required is the cosine "
              "similarity: divide both vectors by their norm first (or use your `clip_similarity`).",
    },
    "occlusion_image_ignored": {
        "de": "Ihre Wortverdeckung hängt nicht vom Bild ab ({case}): Sie vergleichen die Texte nur miteinander "
              "(wie weit sich das Text-Embedding ohne das Wort verschiebt). Gefordert ist die Kosinus-Ähnlichkeit "
              "des **Bildes** mit dem ganzen Text minus die mit dem Text ohne das Wort.",
        "en": "Your word occlusion does not depend on the image ({case}): you compare the texts with each other "
              "only (how far the text embedding moves without the word). Required is the cosine similarity of the "
              "**image** with the full text minus that with the text without the word.",
    },
    "occlusion_of_tokens": {
        "de": "Sie lassen einzelne Token statt ganzer Wörter weg ({case}): ein Wort, das der Tokenizer in mehrere "
              "Token zerlegt (z. B. „kitten“), ergibt bei Ihnen mehrere Werte. Gefordert ist ein Wert je Wort von "
              "`text.split()`, das Wort ganz weggelassen, die übrigen mit einem Leerzeichen verbunden.",
        "en": "You leave out single tokens instead of whole words ({case}): a word the tokenizer splits into several "
              "tokens (e.g. \"kitten\") gives you several values. Required is one value per word of `text.split()`, "
              "the word left out entirely, the others joined with one space.",
    },
    "zeroshot_unnormalised_mean": {
        "de": "Sie mitteln die Text-Embeddings, bevor Sie sie normieren ({case}): Dann zählt eine Vorlage mit "
              "längerem Embedding mehr. Gefordert ist (wie im CLIP-Paper) erst jedes Embedding L2-normieren, dann "
              "über die Vorlagen mitteln, dann den Mittelwert erneut normieren.",
        "en": "You average the text embeddings before normalising them ({case}): a template with a longer embedding "
              "then counts more. Required (as in the CLIP paper) is to L2-normalise each embedding first, then "
              "average over the templates, then normalise the mean again.",
    },
    "zeroshot_not_renormalised": {
        "de": "Ihre Klassen-Embeddings haben nicht die Länge 1 ({case}): Der Mittelwert normierter Vektoren ist "
              "kürzer als 1, sobald die Vorlagen verschiedene Richtungen haben. Normieren Sie den Mittelwert über "
              "die Vorlagen erneut.",
        "en": "Your class embeddings do not have length 1 ({case}): the mean of normalised vectors is shorter than "
              "1 as soon as the templates point in different directions. Normalise the mean over the templates "
              "again.",
    },
    "zeroshot_first_template_only": {
        "de": "Ihr Ergebnis hängt nur von der ersten Vorlage ab ({case}): Gefordert ist das Ensemble, der "
              "Mittelwert über **alle** Vorlagen (`templates`), jede mit dem Klassennamen gefüllt.",
        "en": "Your result depends on the first template only ({case}): required is the ensemble, the mean over "
              "**all** templates (`templates`), each filled with the class name.",
    },
    "zeroshot_classes_sorted": {
        "de": "Ihre Zeilen stehen in alphabetischer Reihenfolge der Klassennamen ({case}): Zeile c muss zu "
              "`class_names[c]` gehören, in der gegebenen Reihenfolge (kein `sorted` oder `set`), sonst zeigen "
              "die Vorhersagen auf falsche Klassen.",
        "en": "Your rows are in alphabetical order of the class names ({case}): row c must belong to "
              "`class_names[c]`, in the given order (no `sorted` or `set`), or the predictions point to the "
              "wrong classes.",
    },
    "zeroshot_transposed": {
        "de": "Ihre Matrix ist transponiert ({case}): Sie hat die Form (Embedding-Dimension, Klassen) wie im "
              "Notebook des CLIP-Papers (`torch.stack(..., dim=1)`). Gefordert ist die Form "
              "(`len(class_names)`, Embedding-Dimension), eine Zeile je Klasse.",
        "en": "Your matrix is transposed ({case}): it has the shape (embedding dim, classes) as in the CLIP "
              "paper's notebook (`torch.stack(..., dim=1)`). Required is the shape (`len(class_names)`, embedding "
              "dim), one row per class.",
    },
    "zeroshot_normalised_over_classes": {
        "de": "Sie normieren über die falsche Achse ({case}): über die Klassen (`dim=0`) statt jedes Embedding "
              "für sich. Normieren Sie entlang der Embedding-Dimension (`dim=-1`), sodass jedes Text-Embedding und "
              "jede Zeile des Ergebnisses die Länge 1 hat.",
        "en": "You normalise over the wrong axis ({case}): across the classes (`dim=0`) instead of each embedding "
              "on its own. Normalise along the embedding dimension (`dim=-1`), so that each text embedding and each "
              "row of the result has length 1.",
    },
    "not_normalised": {
        "de": "Ihre Wichtigkeiten summieren sich nicht zu 1 ({case}): nach dem Weglassen der Sondertoken "
              "müssen die Werte durch ihre Summe geteilt werden.",
        "en": "Your importances do not sum to 1 ({case}): after dropping the special tokens divide the "
              "scores by their sum.",
    },
}


def build_cases(seed: int, public: bool) -> list:
    """The public cases (student side), or those of the hidden case set with this seed (grader side)."""
    return _public.build_public_cases(seed) if public else hidden_builders("clip").build_hidden_cases(seed, CHECKS)


# --- pictures for the feedback page ---------------------------------------------------------

def figures(case, student_result, expected_result, language):
    """Token-importance bars of the student next to the reference's (token-importance checks only)."""
    from ..figures import bars_to_draw, drawable, new_figure, png
    from ..messages import text

    if "scores" not in expected_result:
        return []
    panels = [(text("fig.reference", language), expected_result["tokens"], expected_result["scores"])]
    tokens, scores = student_result.get("tokens"), drawable(student_result.get("scores"))
    if tokens is not None and scores is not None and np.asarray(tokens).size == scores.size:
        panels.insert(0, (text("fig.student", language), tokens, scores))
    figure = new_figure(3.6 * len(panels), 3.0)
    for index, (title, names, values) in enumerate(panels):
        axes = figure.add_subplot(1, len(panels), index + 1)
        labels, values = bars_to_draw(np.asarray(names).ravel(), np.nan_to_num(np.asarray(values, dtype=np.float64).ravel()))
        axes.barh(range(values.size), values, color="#c22" if index == 0 and len(panels) == 2 else "#333")
        axes.set_yticks(range(values.size), labels, fontsize=8)
        axes.invert_yaxis()
        axes.set_title(title, fontsize=9)
    return [(text("fig.token_importance", language, case=case.label), png(figure))]
