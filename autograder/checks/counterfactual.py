"""The grader's view of the counterfactual-image exercise: the student side's probes, public cases, criteria
and messages (``xaikit/selfcheck/exercises/counterfactual.py``), plus which known mistakes each check names
(their messages) and the hidden cases (``reference_solutions/hidden/counterfactual.py``)."""

from __future__ import annotations

import dataclasses

import numpy as np

from xaikit.selfcheck.exercises import counterfactual as _public
from xaikit.selfcheck.exercises.counterfactual import *  # noqa: F401,F403  (probes, constants, public cases)

from . import hidden_builders, with_diagnoses

ORDER = 3  # place in the lecture: sorts the exercises everywhere (autograder/exercises.py)

# check id -> the known-wrong variants (reference_solutions/counterfactual.py) it names, in the order tried
DIAGNOSES = {
    "cf.validity": ("wrong_sign", "towards_predicted_class", "softmax_twice", "stops_before_flip"),
    "cf.proximity": ("no_distance_term", "wrong_sign", "stops_before_flip"),
    "cf.range_dtype": ("no_clipping",),
    "cf.input_unchanged": ("modifies_input",),
    "cf.reproducible": ("random_start",),
    # a history recorded after the updates starts after the first, largest step: on the small CNN the target
    # probability then falls back as the distance term pulls (softmax applied twice is not named here: its flat
    # target probability shows on only some of the sets, and gets the check's own message there)
    "cf.history": ("stops_before_flip", "wrong_sign", "towards_predicted_class", "history_after_update"),
    # an epsilon in the log only shows where p_t is small: the builder keeps a Mini-VGG case near p_t = 1e-6 in every set
    "cf.matches_reference": ("no_distance_term", "wrong_sign", "towards_predicted_class", "softmax_twice",
                             "stops_before_flip", "no_clipping", "history_after_update", "epsilon_in_log"),
    "diffmap.shape": ("keeps_batch_axis",),
    "diffmap.values": ("signed_difference", "sum_over_channels", "max_over_channels", "keeps_batch_axis"),
    # tasks 5 and 6 (counterfactual_metrics, soft_threshold)
    "metrics.validity": ("metrics_flipped_not_target",),
    "metrics.proximity": ("metrics_l2_squared", "metrics_mean_not_sum", "metrics_l1_of_difference_map"),
    "metrics.sparsity": ("metrics_sparsity_per_value", "metrics_sparsity_any_channel", "metrics_sparsity_any_change"),
    "soft_threshold.values": ("soft_hard_threshold", "soft_clip", "soft_one_sided", "soft_no_zeroing"),
    "soft_threshold.input_unchanged": ("soft_in_place",),
}



def _same_run(student, variant, case=None) -> bool:
    """The student's result is the variant's: same counterfactual (image within MATCH_TOL, same number of
    steps) and same history. The image alone cannot tell apart the mistakes that barely move it on a confident
    model (optimising towards the predicted class, softmax applied twice: both leave the Mini-VGG's image within
    MATCH_TOL of the original), so a variant is named only when the history agrees as well."""
    if not _public._same_counterfactual(student, variant, case):
        return False
    if not (bool(student.get("history_ok")) and bool(variant.get("history_ok"))):
        return False
    return first_failure(*(array_close(student, variant, f"history_{key}", HISTORY_TOL) for key in HISTORY_KEYS)) is None


# the hidden checks name a variant only when image and history are the variant's
CHECKS = [dataclasses.replace(check, matches=_same_run) if check.matches is _public._same_counterfactual else check
          for check in with_diagnoses(_public.CHECKS, DIAGNOSES)]

# The reference's answers on the notebook's own run: no check reads them, so public_checks.npz does not hold them.
PUBLIC_EXPECTED_WITHHELD = ("probe_answers",)

# the checks' own messages and those of the known mistakes
MESSAGES = {**_public.MESSAGES,
    "wrong_sign": {
        "de": "Sie gehen in Richtung des Gradienten statt ihm entgegen ({case}): `x + lr * gradient` maximiert den "
              "Verlust und entfernt das Bild von der Zielklasse. Richtig: `x - lr * gradient`.",
        "en": "You step along the gradient instead of against it ({case}): `x + lr * gradient` maximises the "
              "loss and moves the image away from the target. Correct: `x - lr * gradient`.",
    },
    "no_distance_term": {
        "de": "Ihr Verlust enthält keinen Abstandsterm ({case}): nur die Kreuzentropie verändert das Bild viel "
              "stärker als nötig. Addieren Sie `distance_weight * tf.reduce_sum(tf.square(x - original))` "
              "(Summe, nicht Mittelwert: `reduce_mean` macht den Term H·W·C-mal schwächer und wirkt wie keiner).",
        "en": "Your loss has no distance term ({case}): the cross-entropy alone changes the image far more than "
              "needed. Add `distance_weight * tf.reduce_sum(tf.square(x - original))` (the sum, not the mean: "
              "`reduce_mean` makes the term H·W·C times weaker, as good as none).",
    },
    "no_clipping": {
        "de": "Sie begrenzen die Pixel nicht auf [0, 1] ({case}). Nach jedem Schritt: "
              "`x.assign(tf.clip_by_value(x - lr * gradient, 0.0, 1.0))`.",
        "en": "You do not keep the pixels in [0, 1] ({case}). After every step: "
              "`x.assign(tf.clip_by_value(x - lr * gradient, 0.0, 1.0))`.",
    },
    "towards_predicted_class": {
        "de": "Sie optimieren in Richtung der vorhergesagten Klasse statt der Zielklasse `target_class` ({case}): "
              "die Kreuzentropie muss zur Zielklasse berechnet werden.",
        "en": "You optimise towards the predicted class instead of the target class `target_class` ({case}): "
              "the cross-entropy must be computed towards the target class.",
    },
    "stops_before_flip": {
        "de": "Sie brechen ab, sobald die ursprüngliche Klasse nicht mehr vorhergesagt wird ({case}) – oft bevor "
              "die Zielklasse erreicht ist. Vorgegeben: immer alle `steps` Schritte, ohne Abbruch.",
        "en": "You stop as soon as the original class is no longer predicted ({case}) – often before the target "
              "class is reached. Prescribed: always all `steps` steps, without stopping.",
    },
    "modifies_input": {
        "de": "Ihre Funktion schreibt das Ergebnis in das übergebene Bild ({case}). Arbeiten Sie auf einer Kopie; "
              "das Original wird für den Abstandsterm und zum Vergleich gebraucht.",
        "en": "Your function writes the result into the image passed in ({case}). Work on a copy; the "
              "original is needed for the distance term and for comparison.",
    },
    "random_start": {
        "de": "Sie starten mit zufälligem Rauschen ohne festen Seed ({case}): zwei Aufrufe liefern verschiedene "
              "Counterfactuals. Starten Sie beim Originalbild.",
        "en": "You start with random noise without a fixed seed ({case}): two calls give different "
              "counterfactuals. Start at the original image.",
    },
    "softmax_twice": {
        "de": "Sie wenden Softmax ein zweites Mal an ({case}): das Modell gibt bereits Wahrscheinlichkeiten aus. "
              "Die Softmax von Werten in [0, 1] ist fast gleichverteilt, der Gradient verschwindet fast und das "
              "Counterfactual ändert sich kaum. Berechnen Sie `-tf.math.log(probs[0, target_class])` (bzw. die "
              "Kreuzentropie ohne `from_logits=True` und ohne `tf.nn.softmax`).",
        "en": "You apply softmax a second time ({case}): the model already outputs probabilities. The softmax "
              "of values in [0, 1] is nearly uniform, the gradient almost vanishes and the counterfactual barely "
              "changes. Compute `-tf.math.log(probs[0, target_class])` (or the cross-entropy without "
              "`from_logits=True` and without `tf.nn.softmax`).",
    },
    "history_after_update": {
        "de": "Ihr Verlauf gehört zu den Bildern nach den Updates ({case}): Eintrag i muss Verlust, "
              "Zielwahrscheinlichkeit und Abstand des Bildes vor Update i enthalten (der erste Abstand ist 0). "
              "Hängen Sie die Werte an, mit denen Sie den Gradienten berechnet haben, bevor Sie `x` ändern.",
        "en": "Your history belongs to the images after the updates ({case}): entry i must hold loss, target "
              "probability and distance of the image before update i (the first distance is 0). Append the "
              "values you computed the gradient with, before you change `x`.",
    },
    "epsilon_in_log": {
        "de": "Ihr Verlust hat ein Epsilon im Logarithmus ({case}), etwa `-tf.math.log(p + 1e-7)`. In den geprüften "
              "Fällen ist p_t ≥ 10⁻⁶, dort braucht der Logarithmus keins – aber schon 10⁻⁷ verkleinert den "
              "Gradienten um den Faktor p/(p + ε) (bei p = 10⁻⁶ um 9 %), und die ersten, großen Schritte führen zu "
              "einem anderen Counterfactual. (Beim Bild des Notebooks, p = 1,9·10⁻²³, ist der Gradient dann null: "
              "das Bild ändert sich gar nicht.) Schreiben Sie `-tf.math.log(probs[0, target_class])` oder "
              "`keras.losses.sparse_categorical_crossentropy` auf der ganzen Modellausgabe, ohne Epsilon.",
        "en": "Your loss has an epsilon inside the log ({case}), e.g. `-tf.math.log(p + 1e-7)`. In the graded cases "
              "p_t ≥ 1e-6, where the log needs none – but even 1e-7 shrinks the gradient by the factor "
              "p/(p + eps) (by 9 % at p = 1e-6), and the first, large steps lead to another counterfactual. (On the "
              "notebook's image, p = 1.9e-23, the gradient is then zero: the image does not change at all.) Write "
              "`-tf.math.log(probs[0, target_class])` or `keras.losses.sparse_categorical_crossentropy` on the "
              "whole model output, without an epsilon.",
    },
    "signed_difference": {
        "de": "Ihre Differenzkarte verwendet die vorzeichenbehaftete Differenz ({case}): Aufhellen und Abdunkeln "
              "heben sich auf. Nehmen Sie den Betrag: `np.abs(counterfactual - original).mean(axis=-1)`.",
        "en": "Your difference map uses the signed difference ({case}): brightening and darkening cancel. "
              "Take the absolute value: `np.abs(counterfactual - original).mean(axis=-1)`.",
    },
    "sum_over_channels": {
        "de": "Sie summieren über die Farbkanäle, statt zu mitteln ({case}).",
        "en": "You sum over the colour channels instead of averaging ({case}).",
    },
    "max_over_channels": {
        "de": "Sie nehmen das Maximum über die Farbkanäle statt des Mittelwerts ({case}).",
        "en": "You take the maximum over the colour channels instead of the mean ({case}).",
    },
    "keeps_batch_axis": {
        "de": "Ihre Differenzkarte behält die Stapelachse ({case}): für Eingaben (1, H, W, C) muss das Ergebnis "
              "(H, W) sein, nicht (1, H, W).",
        "en": "Your difference map keeps the batch axis ({case}): for inputs (1, H, W, C) the result must be "
              "(H, W), not (1, H, W).",
    },
}


MESSAGES.update({  # tasks 5 and 6: the known mistakes of counterfactual_metrics and soft_threshold
    "metrics_flipped_not_target": {
        "de": "Ihr `valid` prüft nur, ob sich die Klasse geändert hat ({case}): Gültig ist ein Counterfactual erst, "
              "wenn das Modell die Zielklasse `target` vorhersagt – ein Wechsel zu irgendeiner anderen Klasse reicht "
              "nicht. Richtig: `valid = bool(np.argmax(model(counterfactual)[0]) == target)`.",
        "en": "Your `valid` only checks whether the class changed ({case}): a counterfactual is valid only when the "
              "model predicts the target class `target` – a change to any other class is not enough. Correct: "
              "`valid = bool(np.argmax(model(counterfactual)[0]) == target)`.",
    },
    "metrics_l2_squared": {
        "de": "Ihr `l2` ist der quadrierte Abstand ΣΔ² ohne Wurzel ({case}), wie er im Verlust steht. Der L2-Abstand "
              "ist √(ΣΔ²) (`np.sqrt(np.sum(delta ** 2))` oder `np.linalg.norm(delta)`).",
        "en": "Your `l2` is the squared distance ΣΔ² without the square root ({case}), as it appears in the loss. The "
              "L2 distance is √(ΣΔ²) (`np.sqrt(np.sum(delta ** 2))` or `np.linalg.norm(delta)`).",
    },
    "metrics_mean_not_sum": {
        "de": "Sie mitteln über die Werte, statt zu summieren ({case}): L1 = Σ|Δ| und L2 = √(ΣΔ²) summieren über alle "
              "Pixel und Kanäle (`np.sum`, nicht `np.mean`).",
        "en": "You average over the values instead of summing ({case}): L1 = Σ|Δ| and L2 = √(ΣΔ²) sum over all "
              "pixels and channels (`np.sum`, not `np.mean`).",
    },
    "metrics_l1_of_difference_map": {
        "de": "Ihr `l1` ist die Summe der Differenzkarte ({case}), also der über die Kanäle *gemittelten* |Δ| – C-mal "
              "zu klein. L1 summiert |Δ| über alle Pixel **und** Kanäle.",
        "en": "Your `l1` is the sum of the difference map ({case}), i.e. of |Δ| *averaged* over the channels – C times "
              "too small. L1 sums |Δ| over all pixels **and** channels.",
    },
    "metrics_sparsity_per_value": {
        "de": "Ihre Sparsamkeit zählt veränderte Werte (Pixel × Kanal), nicht Pixel ({case}). Gezählt wird pro Pixel: "
              "die mittlere |Δ| über die Kanäle (die Differenzkarte) größer als 1/255, geteilt durch H·W.",
        "en": "Your sparsity counts changed values (pixel × channel), not pixels ({case}). Count per pixel: the mean "
              "|Δ| over the channels (the difference map) above 1/255, divided by H·W.",
    },
    "metrics_sparsity_any_channel": {
        "de": "Sie zählen ein Pixel als verändert, sobald sich *ein* Kanal um mehr als 1/255 ändert ({case}), also "
              "mit dem Maximum über die Kanäle. Vorgegeben ist der Mittelwert über die Kanäle (die Differenzkarte).",
        "en": "You count a pixel as changed as soon as *one* channel changes by more than 1/255 ({case}), i.e. with "
              "the maximum over the channels. Prescribed is the mean over the channels (the difference map).",
    },
    "metrics_sparsity_any_change": {
        "de": "Sie zählen jede noch so kleine Änderung ({case}), Schwelle 0. Verändert ist ein Pixel erst, wenn seine "
              "mittlere |Δ| über die Kanäle **größer als 1/255** ist (eine Graustufe).",
        "en": "You count every change, however small ({case}), threshold 0. A pixel counts as changed only when its "
              "mean |Δ| over the channels is **above 1/255** (one grey level).",
    },
    "soft_hard_threshold": {
        "de": "Sie setzen kleine Werte auf 0, lassen die großen aber unverändert ({case}): das ist hartes "
              "Thresholding. Soft-Thresholding verkleinert auch die großen um τ: `sign(δ) · max(|δ| − τ, 0)`.",
        "en": "You set small values to 0 but leave the large ones unchanged ({case}): that is hard thresholding. "
              "Soft thresholding also shrinks the large ones by τ: `sign(δ) · max(|δ| − τ, 0)`.",
    },
    "soft_clip": {
        "de": "Sie schneiden auf [−τ, τ] ab, statt zu schrumpfen ({case}): Kleine Werte müssen 0 werden, große um τ "
              "kleiner: `sign(δ) · max(|δ| − τ, 0)`.",
        "en": "You clip to [−τ, τ] instead of shrinking ({case}): small values must become 0, large ones smaller by "
              "τ: `sign(δ) · max(|δ| − τ, 0)`.",
    },
    "soft_one_sided": {
        "de": "Sie schrumpfen nur die positive Seite (`max(δ − τ, 0)`, {case}): Jede negative Änderung geht verloren. "
              "Mit Vorzeichen: `sign(δ) · max(|δ| − τ, 0)`.",
        "en": "You shrink only the positive side (`max(δ − τ, 0)`, {case}): every negative change is lost. With the "
              "sign: `sign(δ) · max(|δ| − τ, 0)`.",
    },
    "soft_no_zeroing": {
        "de": "Ihnen fehlt das `max(…, 0)` ({case}): `sign(δ) · (|δ| − τ)` dreht das Vorzeichen der kleinen Werte um, "
              "statt sie auf 0 zu setzen.",
        "en": "You lack the `max(…, 0)` ({case}): `sign(δ) · (|δ| − τ)` flips the sign of the small values instead of "
              "setting them to 0.",
    },
    "soft_in_place": {
        "de": "Ihre Funktion schreibt das Ergebnis in das übergebene Array `delta` ({case}), z. B. mit "
              "`delta[...] = 0` oder `delta -= ...`. Rechnen Sie auf einem neuen Array.",
        "en": "Your function writes the result into the array `delta` passed in ({case}), e.g. with `delta[...] = 0` "
              "or `delta -= ...`. Compute on a new array.",
    },
})


def build_cases(seed: int, public: bool) -> list:
    """The public cases (student side), or those of the hidden case set with this seed (grader side)."""
    return _public.build_public_cases(seed) if public else hidden_builders("counterfactual").build_hidden_cases(seed, CHECKS)


# --- pictures for the feedback page ---------------------------------------------------------

def figures(case, student_result, expected_result, language):
    """The counterfactual next to the original and the reference's, with the difference maps below."""
    from ..figures import drawable, image_to_draw, new_figure, png
    from ..messages import text

    if "cf" not in expected_result or "image" not in case.inputs:
        return []
    original = np.squeeze(np.asarray(case.inputs["image"], dtype=np.float64))
    columns = [(text("fig.original", language), original),
               (text("fig.reference", language), np.squeeze(np.asarray(expected_result["cf"], dtype=np.float64)))]
    yours = drawable(student_result.get("cf"))
    if yours is not None:
        columns.insert(1, (text("fig.student", language), np.squeeze(yours)))
    if original.ndim != 3 or original.shape[-1] != 3:
        return []
    figure = new_figure(2.6 * len(columns), 5.0)
    for index, (title, image) in enumerate(columns):
        top = figure.add_subplot(2, len(columns), index + 1)
        top.imshow(np.clip(image_to_draw(image), 0, 1))
        top.set_title(title, fontsize=9)
        top.axis("off")
        if index > 0 and image.shape == original.shape:
            bottom = figure.add_subplot(2, len(columns), len(columns) + index + 1)
            bottom.imshow(image_to_draw(np.abs(image - original).mean(axis=-1)), cmap="magma", vmin=0, vmax=0.5)
            bottom.axis("off")
    return [(text("fig.counterfactuals", language, case=case.label), png(figure))]
