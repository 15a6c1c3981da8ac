"""The counterfactual checks' own messages (German and English), by message key; the known mistakes'
messages are the grader's (``autograder/checks/counterfactual.py``). Beside the checks
(``counterfactual.py``) so that module stays readable."""

COUNTERFACTUAL_MESSAGES = {
    # --- own messages of the counterfactual checks
    "cf_shape": {
        "de": "Das Counterfactual hat nicht die Form der Eingabe ({case}): erwartet {expected}, erhalten {got} "
              "(dtype {dtype}). Geben Sie ein float-Array derselben Form wie `image` zurück, z. B. `x.numpy()`.",
        "en": "The counterfactual does not have the input's shape ({case}): expected {expected}, got {got} "
              "(dtype {dtype}). Return a float array of the same shape as `image`, e.g. `x.numpy()`.",
    },
    "cf_dtype": {
        "de": "Das Counterfactual hat den dtype {got}, die Eingabe aber {expected} ({case}). "
              "Geben Sie das Ergebnis im dtype der Eingabe zurück (`.astype(image.dtype)`).",
        "en": "The counterfactual has dtype {got}, but the input has {expected} ({case}). "
              "Return the result in the input's dtype (`.astype(image.dtype)`).",
    },
    "out_of_range": {
        "de": "Pixelwerte außerhalb von [0, 1] ({case}: min {min:.3g}, max {max:.3g}). Begrenzen Sie das Bild nach "
              "jedem Schritt mit `tf.clip_by_value(..., 0.0, 1.0)`.",
        "en": "Pixel values outside [0, 1] ({case}: min {min:.3g}, max {max:.3g}). Clip the image after every "
              "step with `tf.clip_by_value(..., 0.0, 1.0)`.",
    },
    "not_flipped": {
        "de": "Das Modell sagt für Ihr Counterfactual Klasse {predicted} vorher, nicht die Zielklasse {target} "
              "(Wahrscheinlichkeit der Zielklasse {prob:.3f}; {case}); die Referenz erreicht die Zielklasse mit "
              "demselben Budget.",
        "en": "The model predicts class {predicted} for your counterfactual, not the target class {target} "
              "(target probability {prob:.3f}; {case}); the reference reaches the target with the same budget.",
    },
    "too_far": {
        "de": "Das Counterfactual ist zu weit vom Original entfernt ({case}): L2 {l2:.3g} (Referenz {ref_l2:.3g}), "
              "L1 {l1:.4g} (Referenz {ref_l1:.4g}); erlaubt ist das {factor}-Fache. Prüfen Sie den Abstandsterm "
              "`distance_weight * sum((x - original)**2)`.",
        "en": "The counterfactual is too far from the original ({case}): L2 {l2:.3g} (reference {ref_l2:.3g}), "
              "L1 {l1:.4g} (reference {ref_l1:.4g}); at most {factor}× is allowed. Check the distance term "
              "`distance_weight * sum((x - original)**2)`.",
    },
    "cf_differs": {
        "de": "Ihr Counterfactual weicht von dem des vorgegebenen Verfahrens ab ({case}: mittlere Pixelabweichung "
              "{mean:.3g}, erlaubt {tol:g}). Prüfen Sie den Verlust (Kreuzentropie ohne Epsilon im Logarithmus + "
              "distance_weight · Summe der quadrierten Differenzen), die Schrittregel `x - lr * gradient`, das "
              "Clipping und das Startbild.",
        "en": "Your counterfactual differs from the prescribed procedure's ({case}: mean pixel deviation {mean:.3g}, "
              "allowed {tol:g}). Check the loss (cross-entropy without an epsilon inside the log + distance_weight · "
              "sum of squared differences), the update `x - lr * gradient`, clipping and the starting image.",
    },
    "input_modified": {
        "de": "Ihre Funktion verändert das übergebene Bild ({case}). Arbeiten Sie auf einer Kopie "
              "(`tf.Variable(image)` kopiert), nicht mit `image -= ...` oder `out=image`.",
        "en": "Your function modifies the image passed in ({case}). Work on a copy (`tf.Variable(image)` copies), "
              "not with `image -= ...` or `out=image`.",
    },
    "not_reproducible": {
        "de": "Zwei Aufrufe mit denselben Argumenten liefern verschiedene Counterfactuals (größte Abweichung "
              "{difference:.3g}; {case}). Das Verfahren ist deterministisch: Starten Sie beim Originalbild, ohne Zufall.",
        "en": "Two calls with the same arguments give different counterfactuals (largest deviation {difference:.3g}; "
              "{case}). The procedure is deterministic: start at the original image, without randomness.",
    },
    "history_format": {
        "de": "Der Verlauf hat nicht das vorgegebene Format ({case}): ein dict mit den Listen "
              "`loss`, `target_prob` und `distance` (je eine Zahl pro Schritt).",
        "en": "The history does not have the prescribed format ({case}): a dict with the lists "
              "`loss`, `target_prob` and `distance` (one number per step each).",
    },
    "history_length": {
        "de": "Der Verlauf hat nicht genau einen Eintrag pro Schritt ({case}; erwartet {steps}, erhalten {got}). "
              "Es werden immer alle `steps` Schritte ausgeführt, ohne vorzeitigen Abbruch.",
        "en": "The history does not have exactly one entry per step ({case}; expected {steps}, got {got}). "
              "Always run all `steps` steps, without stopping early.",
    },
    "history_not_improving": {
        "de": "Die Wahrscheinlichkeit der Zielklasse steigt im Verlauf nicht ({case}: Anfang {first:.3g}, "
              "Ende {last:.3g}). Optimieren Sie wirklich in Richtung `target_class`, mit `x - lr * gradient`?",
        "en": "The target probability does not rise over the history ({case}: start {first:.3g}, end {last:.3g}). "
              "Do you really optimise towards `target_class`, with `x - lr * gradient`?",
    },
    "diffmap_shape": {
        "de": "Die Differenzkarte hat die Form {got}, erwartet {expected} ({case}): eine (H, W)-Karte, auch wenn "
              "die Bilder als Stapel (1, H, W, C) kommen.",
        "en": "The difference map has shape {got}, expected {expected} ({case}): one (H, W) map, also when "
              "the images come as a batch (1, H, W, C).",
    },
    "answers_missing": {
        "de": "Die Antwortvariablen fehlen: {missing}. Führen Sie die Zellen der Aufgabe 3 aus und setzen Sie "
              "`flipped` und `new_class_name`.",
        "en": "The answer variables are missing: {missing}. Run the cells of task 3 and set `flipped` and "
              "`new_class_name`.",
    },
    "answers_shapes": {
        "de": "`x_original` und `x_counterfactual` haben verschiedene Formen; `x_counterfactual` muss das "
              "Ergebnis von `generate_counterfactual(model, x_original, ...)` sein.",
        "en": "`x_original` and `x_counterfactual` have different shapes; `x_counterfactual` must be the result "
              "of `generate_counterfactual(model, x_original, ...)`.",
    },
    "answers_no_change": {
        "de": "`x_counterfactual` ist (bis auf 1/255) gleich `x_original`, und `x_original` ist nicht mehr das Bild "
              "der ersten Code-Zelle: `generate_counterfactual` hat das übergebene Bild überschrieben (Änderung am "
              "Eingabebild), so lassen sich Ihre Antworten nicht mit dem Original vergleichen.",
        "en": "`x_counterfactual` equals `x_original` (up to 1/255), and `x_original` is no longer the image of the "
              "first code cell: `generate_counterfactual` overwrote the image passed in (it modifies its input), so "
              "your answers cannot be compared with the original.",
    },
    "flipped_not_bool": {
        "de": "`flipped` muss `True` oder `False` sein.",
        "en": "`flipped` must be `True` or `False`.",
    },
    "flipped_wrong": {
        "de": "`flipped` passt nicht zu Ihrem eigenen Lauf: das Modell sagt für `x_original` '{before}' und für "
              "`x_counterfactual` '{after}' vorher. Berechnen Sie die Antwort aus den Vorhersagen.",
        "en": "`flipped` does not agree with your own run: the model predicts '{before}' for `x_original` and "
              "'{after}' for `x_counterfactual`. Compute the answer from the predictions.",
    },
    "class_name_wrong": {
        "de": "`new_class_name` ist '{got}', das Modell sagt für Ihr `x_counterfactual` aber '{after}' vorher. "
              "Geben Sie den Klassennamen der Vorhersage auf dem Counterfactual an (nicht ungeprüft die Zielklasse).",
        "en": "`new_class_name` is '{got}', but the model predicts '{after}' for your `x_counterfactual`. "
              "Give the class name predicted for the counterfactual (not the target class unchecked).",
    },
}
