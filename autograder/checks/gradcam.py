"""The grader's view of the Grad-CAM exercise: the student side's probes, public cases, criteria
and messages (``xaikit/selfcheck/exercises/gradcam.py``), plus which known mistakes each check names
(their messages) and the hidden cases (``reference_solutions/hidden/gradcam.py``)."""

from __future__ import annotations

import numpy as np

from xaikit.selfcheck.exercises import gradcam as _public
from xaikit.selfcheck.exercises.gradcam import *  # noqa: F401,F403  (probes, constants, public cases)

from . import hidden_builders, with_diagnoses

WEIGHT_MISTAKES = ("activations_averaged", "max_pooled_gradients", "absolute_gradients", "softmax_instead_of_logit")
HEATMAP_MISTAKES = ("no_relu", "nearest_upsampling", "heatmap_transposed", "no_normalisation",
                    "normalised_before_upsampling") + WEIGHT_MISTAKES

ORDER = 2  # place in the lecture: sorts the exercises everywhere (autograder/exercises.py)

# check id -> the known-wrong variants (reference_solutions/gradcam.py) it names, in the order tried
DIAGNOSES = {
    "weights.embedded": WEIGHT_MISTAKES,
    "weights.random_cnns": WEIGHT_MISTAKES,
    "grad_cam.shape_range": ("heatmap_transposed",),
    "grad_cam.values": ("no_relu", "nearest_upsampling", "heatmap_transposed", "no_normalisation", "normalised_before_upsampling", "activations_averaged", "max_pooled_gradients", "absolute_gradients", "softmax_instead_of_logit", "none_not_top_class"),
    "grad_cam.all_negative": ("no_relu",),
    "grad_cam.class_dependence": ("activations_averaged", "absolute_gradients", "softmax_instead_of_logit", "none_not_top_class"),
    "grad_cam.layer": ("wrong_layer", "max_pooled_gradients"),
    "grad_cam.hooks_removed": ("hooks_left_registered",),
    "grad_cam.model_unchanged": ("requires_grad_changed",),
    "grad_cam.mode_restored": ("mode_not_restored",),
    "grad_cam.input_unchanged": ("input_mutated",),
    "overlay.values": ("overlay_alpha_swapped", "overlay_bgr"),
    "saliency.values": ("saliency_no_abs", "saliency_mean_over_channels"),
    "saliency.input_unchanged": ("saliency_mutates_input",),
    "randomisation.maps": ("randomisation_not_cumulative", "randomisation_from_bottom"),
    "randomisation.correlations": ("randomisation_pearson", "randomisation_not_cumulative",
                                   "randomisation_from_bottom"),
    "randomisation.model_unchanged": ("randomisation_caller_model",),
}

CHECKS = with_diagnoses(_public.CHECKS, DIAGNOSES)

# the checks' own messages and those of the known mistakes
MESSAGES = {**_public.MESSAGES,
    "activations_averaged": {
        "de": "Sie mitteln die Aktivierungen statt der Gradienten ({case}). α_k ist der Mittelwert von ∂y^c/∂A^k "
              "über alle Positionen (i, j) – so hängt die Heatmap von der Klasse ab.",
        "en": "You average the activations instead of the gradients ({case}). α_k is the mean of ∂y^c/∂A^k "
              "over all positions (i, j) – that is what makes the heatmap depend on the class.",
    },
    "max_pooled_gradients": {
        "de": "Sie nehmen das Maximum der Gradienten statt ihres Mittelwerts ({case}). Grad-CAM verwendet "
              "Global Average Pooling: α_k = (1/Z) Σ_ij ∂y^c/∂A^k_ij.",
        "en": "You take the maximum of the gradients instead of their mean ({case}). Grad-CAM uses "
              "global average pooling: α_k = (1/Z) Σ_ij ∂y^c/∂A^k_ij.",
    },
    "absolute_gradients": {
        "de": "Sie mitteln die Beträge der Gradienten ({case}). Das Vorzeichen zählt: negative Gradienten "
              "sprechen gegen die Klasse. Mitteln Sie ∂y^c/∂A^k ohne abs().",
        "en": "You average the absolute values of the gradients ({case}). The sign matters: negative gradients "
              "speak against the class. Average ∂y^c/∂A^k without abs().",
    },
    "softmax_instead_of_logit": {
        "de": "Sie leiten die Softmax-Wahrscheinlichkeit ab statt des Logits ({case}). y^c ist der Klassenscore "
              "vor der Softmax: `logits[0, class_idx]`.",
        "en": "You differentiate the softmax probability instead of the logit ({case}). y^c is the class score "
              "before the softmax: `logits[0, class_idx]`.",
    },
    "no_relu": {
        "de": "Die ReLU fehlt ({case}): L = ReLU(Σ_k α_k A^k). Ohne sie werden Bereiche, die gegen die Klasse "
              "sprechen, nach der Normierung nicht null.",
        "en": "The ReLU is missing ({case}): L = ReLU(Σ_k α_k A^k). Without it regions that speak against the "
              "class do not become zero after normalisation.",
    },
    "no_normalisation": {
        "de": "Die Heatmap ist nicht auf [0, 1] normiert ({case}). Nach dem Hochskalieren: "
              "(L − min) / (max − min), bei max = min Nullen.",
        "en": "The heatmap is not normalised to [0, 1] ({case}). After upsampling: "
              "(L − min) / (max − min), zeros when max = min.",
    },
    "normalised_before_upsampling": {
        "de": "Sie normieren die CAM vor dem Hochskalieren ({case}). Gefordert ist die umgekehrte Reihenfolge: erst "
              "bilinear auf (H, W) hochskalieren, dann min-max-normieren – sonst erreicht die Heatmap 0 und 1 "
              "meist nicht.",
        "en": "You normalise the CAM before upsampling it ({case}). The required order is the other one: first "
              "upsample bilinearly to (H, W), then min-max normalise – otherwise the heatmap mostly does not reach "
              "0 and 1.",
    },
    "nearest_upsampling": {
        "de": "Sie skalieren mit 'nearest' statt bilinear hoch ({case}). Verwenden Sie "
              "`F.interpolate(..., mode='bilinear', align_corners=False)`.",
        "en": "You upsample with 'nearest' instead of bilinearly ({case}). Use "
              "`F.interpolate(..., mode='bilinear', align_corners=False)`.",
    },
    "heatmap_transposed": {
        "de": "Die Heatmap ist transponiert ({case}): sie muss die Form (H, W) der Eingabe haben, "
              "Zeilen = Bildhöhe. Prüfen Sie die Reihenfolge der Größenangabe (cv2.resize erwartet (W, H)!).",
        "en": "The heatmap is transposed ({case}): it must have the input's shape (H, W), rows = image height. "
              "Check the order of the size (cv2.resize expects (W, H)!).",
    },
    "wrong_layer": {
        "de": "Sie verwenden nicht die Schicht `target_layer` ({case}), sondern immer layer4. Suchen Sie das Modul "
              "über `dict(model.named_modules())[target_layer]`.",
        "en": "You do not use the layer `target_layer` ({case}) but always layer4. Look the module up with "
              "`dict(model.named_modules())[target_layer]`.",
    },
    "overlay_alpha_swapped": {
        "de": "Bei Ihnen gewichtet alpha das Bild statt der Heatmap ({case}): Ergebnis = (1 − alpha) · Bild + "
              "alpha · jet(Heatmap).",
        "en": "Your alpha weights the image instead of the heatmap ({case}): result = (1 − alpha) · image + "
              "alpha · jet(heatmap).",
    },
    "overlay_bgr": {
        "de": "Die Farben der Überlagerung sind in BGR-Reihenfolge ({case}) – so liefert sie cv2. Geben Sie RGB zurück "
              "(z. B. matplotlib `colormaps['jet']`, oder `cv2.cvtColor(..., cv2.COLOR_BGR2RGB)`).",
        "en": "The overlay's colours are in BGR order ({case}) – as cv2 returns them. Return RGB "
              "(e.g. matplotlib `colormaps['jet']`, or `cv2.cvtColor(..., cv2.COLOR_BGR2RGB)`).",
    },
    "saliency_no_abs": {
        "de": "Ihre Saliency-Map verwendet die Gradienten mit Vorzeichen ({case}). Definition: "
              "max über die Farbkanäle von |∂y^c/∂x|.",
        "en": "Your saliency map uses the signed gradients ({case}). Definition: max over the colour channels "
              "of |∂y^c/∂x|.",
    },
    "saliency_mean_over_channels": {
        "de": "Sie mitteln über die Farbkanäle, statt das Maximum zu nehmen ({case}).",
        "en": "You average over the colour channels instead of taking the maximum ({case}).",
    },
    "randomisation_not_cumulative": {
        "de": "Sie initialisieren jede Schicht einzeln neu, nicht kumulativ ({case}): Schritt i hat alle Schichten "
              "layers[0] … layers[i] neu initialisiert, die früheren bleiben zufällig (eine Kopie für alle Schritte, "
              "`torch.manual_seed(seed)` einmal vor dem ersten).",
        "en": "You re-initialise each layer on its own, not cumulatively ({case}): step i has all layers "
              "layers[0] … layers[i] re-initialised, the earlier ones stay random (one copy for all steps, "
              "`torch.manual_seed(seed)` once before the first).",
    },
    "randomisation_from_bottom": {
        "de": "Sie randomisieren von unten nach oben ({case}). Die Kaskade beginnt oben: in der Reihenfolge von "
              "`layers` (z. B. fc, layer4, layer3, …), die Karte i gehört zu layers[0] … layers[i].",
        "en": "You randomise from the bottom up ({case}). The cascade starts at the top: in the order of "
              "`layers` (e.g. fc, layer4, layer3, …); map i belongs to layers[0] … layers[i].",
    },
    "randomisation_pearson": {
        "de": "Ihre Korrelationen sind Pearson-Korrelationen der Werte, nicht Spearman-Rangkorrelationen ({case}). "
              "Korrelieren Sie die Ränge (`scipy.stats.spearmanr` auf den flachgemachten Karten).",
        "en": "Your correlations are Pearson correlations of the values, not Spearman rank correlations ({case}). "
              "Correlate the ranks (`scipy.stats.spearmanr` on the flattened maps).",
    },
    "randomisation_caller_model": {
        "de": "Sie initialisieren das übergebene Modell selbst neu ({case}): danach ist das Modell des Aufrufers "
              "zerstört. Arbeiten Sie auf `copy.deepcopy(model)`.",
        "en": "You re-initialise the model passed in ({case}): afterwards the caller's model is destroyed. "
              "Work on `copy.deepcopy(model)`.",
    },
}


def build_cases(seed: int, public: bool) -> list:
    """The public cases (student side), or those of the hidden case set with this seed (grader side)."""
    return _public.build_public_cases(seed) if public else hidden_builders("gradcam").build_hidden_cases(seed, CHECKS)


# --- pictures for the feedback page ---------------------------------------------------------

def figures(case, student_result, expected_result, language):
    """Heatmaps (Grad-CAM, saliency) of the student next to the reference's on the same hidden input."""
    from ..figures import comparison_panels, drawable, image_to_draw, new_figure, png
    from ..messages import text

    key = next((k for k in ("heatmap", "saliency", "cam_a") if k in expected_result), None)
    if key is None:
        return []
    want = np.asarray(expected_result[key], dtype=np.float64)
    got = drawable(student_result.get(key))
    panels = comparison_panels(got, want, language)
    figure = new_figure(3.2 * len(panels), 3.0)
    for index, (title, values) in enumerate(panels):
        axes = figure.add_subplot(1, len(panels), index + 1)
        difference = index == 2
        image = axes.imshow(image_to_draw(values), cmap="RdBu_r" if difference else "jet",
                            vmin=-1 if difference else 0, vmax=1)
        axes.set_title(f"{title} {tuple(values.shape)}", fontsize=9)
        axes.axis("off")
        figure.colorbar(image, ax=axes, shrink=0.8)
    return [(text("fig.heatmaps", language, case=case.label), png(figure))]
