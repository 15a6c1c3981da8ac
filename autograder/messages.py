"""Feedback messages in German (course language) and English; every key exists in both.

Exercise modules keep their own ``MESSAGES`` dict; the generic ones below are shared.
Text is formatted with ``str.format(**params)``.
"""

from __future__ import annotations

LANGUAGES = ("de", "en")

GENERIC = {
    "passed": {"de": "Bestanden.", "en": "Passed."},
    "missing_function": {
        "de": "Die Funktion `{name}` ist nicht definiert (oder ihre Zelle ist mit einem Fehler abgebrochen).",
        "en": "The function `{name}` is not defined (or its cell stopped with an error).",
    },
    "not_implemented": {
        "de": "`{name}` ist noch nicht implementiert (NotImplementedError).",
        "en": "`{name}` is not implemented yet (NotImplementedError).",
    },
    "exception": {
        "de": "Beim Aufruf auf einer verborgenen Eingabe ({case}) trat ein Fehler auf: {error}",
        "en": "Calling it on a hidden input ({case}) raised an error: {error}",
    },
    "timeout": {
        "de": "Der Aufruf auf einer verborgenen Eingabe ({case}) hat das Zeitlimit von {seconds:.0f} s überschritten.",
        "en": "The call on a hidden input ({case}) exceeded the time limit of {seconds:.0f} s.",
    },
    "not_run": {
        "de": "Nicht geprüft: das Notebook wurde vorher abgebrochen ({reason}).",
        "en": "Not checked: the notebook was stopped before ({reason}).",
    },
    "invalid_result": {
        "de": "Das Ergebnis ist kein gültiger Wert: {reason}",
        "en": "The result is not a valid value: {reason}",
    },
    "shape": {
        "de": "Falsche Form des Ergebnisses `{key}`: erwartet {expected}, erhalten {got}.",
        "en": "Wrong shape of result `{key}`: expected {expected}, got {got}.",
    },
    "not_finite": {
        "de": "Das Ergebnis `{key}` enthält NaN oder unendliche Werte.",
        "en": "The result `{key}` contains NaN or infinite values.",
    },
    "not_numeric": {
        "de": "Das Ergebnis `{key}` ist nicht numerisch (Typ {got}).",
        "en": "The result `{key}` is not numeric (type {got}).",
    },
    "values": {
        "de": "Die Werte von `{key}` weichen von der Referenz ab (größte Abweichung {max_error:.3g}, erlaubt: rtol={rtol:g}, atol={atol:g}).",
        "en": "The values of `{key}` differ from the reference (largest deviation {max_error:.3g}, allowed: rtol={rtol:g}, atol={atol:g}).",
    },
    "notebook_unreadable": {
        "de": "Das Notebook kann nicht gelesen werden ({reason}). Bitte eine gültige .ipynb-Datei abgeben.",
        "en": "The notebook cannot be read ({reason}). Please hand in a valid .ipynb file.",
    },
    "notebook_too_large": {
        "de": "Das Notebook ist zu groß, um bewertet zu werden ({size:.1f} MiB; erlaubt sind höchstens {limit} MiB). "
              "Bitte entfernen Sie große Ausgaben (z. B. „Kernel → Restart & Clear Output“) und geben Sie es erneut ab.",
        "en": "The notebook is too large to be graded ({size:.1f} MiB; at most {limit} MiB are allowed). Please remove "
              "large outputs (e.g. “Kernel → Restart & Clear Output”) and hand it in again.",
    },
    "notebook_too_complex": {
        "de": "Das Notebook enthält zu viele Einträge, um bewertet zu werden (mehr als {limit} JSON-Werte, meist "
              "Metadaten oder Ausgaben). Bitte geben Sie eine in Jupyter gespeicherte Fassung ohne Ausgaben ab.",
        "en": "The notebook holds too many entries to be graded (more than {limit} JSON values, mostly metadata or "
              "outputs). Please hand in a version saved in Jupyter without outputs.",
    },
    "notebook_wrong_assignment": {
        "de": "Das Notebook gehört nicht zur Aufgabe `{assignment}` (keine ihrer Testzellen gefunden).",
        "en": "The notebook does not belong to assignment `{assignment}` (none of its test cells found).",
    },
    "test_cell_restored": {
        "de": "Die Testzelle `{cell}` wurde gelöscht oder verändert; sie wurde für die Bewertung durch das Original ersetzt.",
        "en": "The test cell `{cell}` was deleted or changed; it was replaced by the original for grading.",
    },
    "cell_error": {
        "de": "Zelle {index} bricht mit einem Fehler ab: {error}",
        "en": "Cell {index} stops with an error: {error}",
    },
    "cell_timeout": {
        "de": "Zelle {index} hat das Zeitlimit von {seconds:.0f} s überschritten und wurde unterbrochen.",
        "en": "Cell {index} exceeded the time limit of {seconds:.0f} s and was interrupted.",
    },
    "kernel_died": {
        "de": "Der Kernel ist in Zelle {index} beendet worden ({reason}); die Zelle wurde übersprungen.",
        "en": "The kernel died in cell {index} ({reason}); the cell was skipped.",
    },
    "sandbox_killed": {
        "de": "Die Abgabe wurde abgebrochen: {reason}. Punkte gibt es für die bis dahin abgeschlossenen Prüfungen.",
        "en": "The submission was stopped: {reason}. Points are given for the checks completed until then.",
    },
    "manual": {
        "de": "Wird von Hand bewertet.",
        "en": "Graded by hand.",
    },
}


def render(key: str, params: dict | None = None, language: str = "de", catalog: dict | None = None) -> str:
    """The message ``key`` in ``language``, looked up in ``catalog`` first, then in the generic ones."""
    entry = (catalog or {}).get(key) or GENERIC.get(key)
    if entry is None:
        raise KeyError(f"no message {key!r}")
    text = entry.get(language) or entry["de"]
    try:
        return text.format(**(params or {}))
    except (KeyError, ValueError, IndexError):
        return text

GENERIC["sequence"] = {
    "de": "Die Reihenfolge von `{key}` stimmt nicht: erwartet {expected}, erhalten {got}.",
    "en": "The order of `{key}` is wrong: expected {expected}, got {got}.",
}
GENERIC["range"] = {
    "de": "Die Werte von `{key}` liegen außerhalb von [{low}, {high}] (min {min:.3g}, max {max:.3g}).",
    "en": "The values of `{key}` lie outside [{low}, {high}] (min {min:.3g}, max {max:.3g}).",
}
