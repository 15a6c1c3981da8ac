"""Messages of the public self-check, German ("Sie") and English; every key exists in both.

Student side: the checks' own messages (each exercise's ``MESSAGES``) and the generic ones below,
which the grader shares (``autograder/messages.py`` adds its own, about notebooks and the sandbox).
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
GENERIC["ambiguous_mistake"] = {  # core.diagnose: the result fits several known mistakes, none can be named
    "de": "{what} Ihr Ergebnis passt zu mehreren typischen Fehlern, die sich an dieser Eingabe ({case}) nicht "
          "unterscheiden lassen. Wahrscheinliche Ursachen:{causes}",
    "en": "{what} Your result fits several typical mistakes that cannot be told apart on this input ({case}). "
          "Likely causes:{causes}",
}
