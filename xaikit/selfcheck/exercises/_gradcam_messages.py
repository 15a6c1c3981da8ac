"""The Grad-CAM checks' own messages (German and English), by message key; the known mistakes' messages are
the grader's (``autograder/checks/gradcam.py``). Beside the checks (``gradcam.py``) so that module stays readable."""

GRADCAM_MESSAGES = {
    "hooks_left_registered": {
        "de": "Nach dem Aufruf sind noch Hooks am Modell registriert ({case}). Entfernen Sie jeden Hook mit "
              "`handle.remove()` (am besten in einem `finally`-Block); sonst sammeln sie sich bei jedem Aufruf an.",
        "en": "Hooks are still registered on the model after the call ({case}). Remove every hook with "
              "`handle.remove()` (best in a `finally` block); otherwise they pile up with every call.",
    },
    "layer_not_used": {
        "de": "Die Heatmap gehört nicht zur Schicht `target_layer` ({case}) bzw. der Standard ist nicht layer4. "
              "Suchen Sie das Modul über `dict(model.named_modules())[target_layer]`.",
        "en": "The heatmap does not belong to the layer `target_layer` ({case}), or the default is not layer4. "
              "Look the module up with `dict(model.named_modules())[target_layer]`.",
    },
    "class_ignored": {
        "de": "Die Heatmaps zweier Klassen passen nicht zu ihren Klassen ({case}): `class_idx` wird ignoriert "
              "oder die Heatmap hängt nicht von der Klasse ab. Leiten Sie den Score genau dieser Klasse ab.",
        "en": "The heatmaps of two classes do not match their classes ({case}): `class_idx` is ignored or the "
              "heatmap does not depend on the class. Differentiate the score of exactly that class.",
    },
    "none_not_top_class": {
        "de": "Mit `class_idx=None` erklären Sie nicht die vorhergesagte Klasse ({case}). Nehmen Sie dann "
              "`logits[0].argmax()`.",
        "en": "With `class_idx=None` you do not explain the predicted class ({case}). Use `logits[0].argmax()` then.",
    },
    "heatmap_shape": {
        "de": "Die Heatmap hat die Form {got}, erwartet ist die Größe der Eingabe {expected} ({case}). "
              "Skalieren Sie auf (H, W) des Eingabetensors hoch.",
        "en": "The heatmap has shape {got}; expected is the input's size {expected} ({case}). "
              "Upsample to the input tensor's (H, W).",
    },
    "heatmap_range": {
        "de": "Die Werte liegen außerhalb von [0, 1] (min {min:.3g}, max {max:.3g}; {case}). Normieren Sie mit "
              "(L − min) / (max − min).",
        "en": "The values lie outside [0, 1] (min {min:.3g}, max {max:.3g}; {case}). Normalise with "
              "(L − min) / (max − min).",
    },
    "all_negative_nan": {
        "de": "Bei einer überall negativen CAM liefert Ihre Heatmap NaN ({case}): nach der ReLU ist alles null, "
              "und (L − min) / (max − min) teilt durch null. Geben Sie dann eine Heatmap aus Nullen zurück.",
        "en": "For a CAM that is negative everywhere your heatmap is NaN ({case}): after the ReLU everything is "
              "zero and (L − min) / (max − min) divides by zero. Return a heatmap of zeros then.",
    },
    "all_negative_not_zero": {
        "de": "Hier ist die CAM überall negativ – alle Kanäle sprechen gegen die Klasse –, Ihre Heatmap ist aber "
              "nicht null (Maximum {max:.3g}; {case}). Prüfen Sie die ReLU und ob α die gemittelten Gradienten *mit* "
              "Vorzeichen sind (keine Beträge, keine Aktivierungen).",
        "en": "Here the CAM is negative everywhere – every channel speaks against the class – but your heatmap is "
              "not zero (maximum {max:.3g}; {case}). Check the ReLU and that α are the averaged gradients *with* "
              "their sign (no absolute values, no activations).",
    },
    "parameters_changed": {
        "de": "Ihre Funktion verändert die Parameter des Modells ({case}). Grad-CAM liest nur Gradienten; "
              "kein Optimierer-Schritt, keine Änderung der Gewichte.",
        "en": "Your function changes the model's parameters ({case}). Grad-CAM only reads gradients; "
              "no optimiser step, no change of the weights.",
    },
    "requires_grad_changed": {
        "de": "Nach dem Aufruf sind die `requires_grad`-Flags der Parameter verändert ({case}). Ändern Sie sie nicht "
              "(oder stellen Sie sie wieder her); für die Gradienten reicht eine Eingabe-Kopie mit `requires_grad_()`.",
        "en": "After the call the parameters' `requires_grad` flags are changed ({case}). Do not change them "
              "(or restore them); for the gradients a copy of the input with `requires_grad_()` is enough.",
    },
    "mode_not_restored": {
        "de": "Der train()/eval()-Modus des Modells ist nach dem Aufruf anders als vorher ({case}). Merken Sie sich "
              "`model.training` und stellen Sie den Modus am Ende wieder her.",
        "en": "The model's train()/eval() mode differs after the call ({case}). Remember `model.training` and "
              "restore the mode at the end.",
    },
    "input_mutated": {
        "de": "Ihre Funktion verändert den übergebenen Eingabetensor ({case}) – seine Werte, `requires_grad` "
              "oder `.grad`. Arbeiten Sie auf `input_tensor.detach().clone()`.",
        "en": "Your function changes the input tensor passed in ({case}) – its values, `requires_grad` or "
              "`.grad`. Work on `input_tensor.detach().clone()`.",
    },
    "overlay_not_uint8": {
        "de": "Die Überlagerung hat den Typ {got}, erwartet ist uint8 mit Werten 0…255 ({case}).",
        "en": "The overlay has type {got}; expected is uint8 with values 0…255 ({case}).",
    },
    "overlay_shape": {
        "de": "Die Überlagerung hat die Form {got}, erwartet {expected} (H, W, 3) ({case}).",
        "en": "The overlay has shape {got}, expected {expected} (H, W, 3) ({case}).",
    },
    "image_mutated": {
        "de": "overlay_heatmap verändert das übergebene Bild ({case}). Arbeiten Sie auf einer Kopie.",
        "en": "overlay_heatmap changes the image passed in ({case}). Work on a copy.",
    },
    "saliency_mutates_input": {
        "de": "saliency_map verändert den übergebenen Eingabetensor ({case}), z. B. mit "
              "`input_tensor.requires_grad_()`. Arbeiten Sie auf `input_tensor.detach().clone().requires_grad_(True)`.",
        "en": "saliency_map changes the input tensor passed in ({case}), e.g. with `input_tensor.requires_grad_()`. "
              "Work on `input_tensor.detach().clone().requires_grad_(True)`.",
    },
}
