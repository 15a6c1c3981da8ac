"""Messages of the public self-check, German ("Sie") and English; every key exists in both.

Student side: the checks' own messages (each exercise's ``MESSAGES``) and the generic ones below,
which the grader shares. The grader's own texts (notebooks, sandbox, pages, exports) are added to
``CATALOGUE`` by ``autograder/messages.py``, which the kit does not ship.

One formatting function for all of them, ``format_message``: ``text(key, language, **params)`` looks
the key up in ``CATALOGUE``, ``render(key, params, language, catalog)`` in an exercise's ``MESSAGES``
first. A message with a parameter missing (or of the wrong type for its format) raises
``MessageError`` when strict (``XAIKIT_STRICT_MESSAGES=1``, set by the tests); otherwise it is
logged and the placeholder stays visible as ``{name}``, so one bad message never stops a batch.
An unknown key or language always raises: that is a mistake in the code, not in a submission.
"""

from __future__ import annotations

import logging
import os
import string

LANGUAGES = ("de", "en")
STRICT_ENV = "XAIKIT_STRICT_MESSAGES"

log = logging.getLogger(__name__)


class MessageError(ValueError):
    """A message that cannot be formatted with the parameters given (strict mode)."""


class _Missing:
    """Stands for a missing parameter: shows ``{name}`` whatever its format spec."""

    def __init__(self, name: str):
        self.name = name

    def __format__(self, spec: str) -> str:
        return "{" + self.name + "}"


class _Params(dict):
    def __init__(self, params: dict, missing: list):
        super().__init__(params)
        self.missing = missing

    def __missing__(self, name: str):
        self.missing.append(name)
        return _Missing(name)


def strict() -> bool:
    return os.environ.get(STRICT_ENV, "") not in ("", "0")


def placeholders(template: str) -> set[str]:
    """The parameter names a message uses: ``"{n} of {total:.0f}"`` -> {"n", "total"}."""
    return {field.split(".")[0].split("[")[0] for _, field, _, _ in string.Formatter().parse(template) if field}


def format_message(key: str, entry: dict, language: str, params: dict | None = None) -> str:
    """The one formatting function: ``entry[language]`` with ``params`` filled in (see the module's doc)."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r} (known: {', '.join(LANGUAGES)})")
    template = entry[language]
    params = {name: render_nested(value, language) for name, value in (params or {}).items()}
    missing: list = []
    try:
        result = template.format_map(_Params(params, missing))
    except (ValueError, TypeError, IndexError, AttributeError) as error:  # e.g. "{seconds:.0f}" given a str
        if strict():
            raise MessageError(f"message {key!r} ({language}) cannot be formatted with {sorted(params)}: {error}") from error
        log.error("message %r (%s) cannot be formatted with %s: %s", key, language, sorted(params), error)
        return template
    if missing:
        if strict():
            raise MessageError(f"message {key!r} ({language}) is missing parameter(s) {', '.join(missing)}")
        log.error("message %r (%s) is missing parameter(s) %s", key, language, ", ".join(missing))
    return result


class Message:
    """A message not yet rendered (key + params), for a parameter of another message: rendered in the
    language of the message it is part of (a sandbox's end inside "Not checked: ..."). Picklable."""

    __slots__ = ("key", "params")

    def __init__(self, key: str, /, **params):
        self.key, self.params = key, params

    def __eq__(self, other):
        return isinstance(other, Message) and (self.key, self.params) == (other.key, other.params)

    def __repr__(self):
        return f"Message({self.key!r}, **{self.params!r})"

    def __reduce__(self):
        return _message, (self.key, self.params)

    def render(self, language: str) -> str:
        return text(self.key, language, **self.params)


def _message(key, params):
    return Message(key, **params)


def render_nested(value, language: str):
    return value.render(language) if isinstance(value, Message) else value


def text(key: str, language: str, /, **params) -> str:
    """The message ``key`` of ``CATALOGUE`` in ``language``."""
    try:
        entry = CATALOGUE[key]
    except KeyError:
        raise KeyError(f"no message {key!r}") from None
    return format_message(key, entry, language, params)


def render(key: str, params: dict | None = None, language: str = "de", catalog: dict | None = None) -> str:
    """The message ``key`` in ``language``, looked up in ``catalog`` (an exercise's ``MESSAGES``) first,
    then in ``CATALOGUE``."""
    entry = (catalog or {}).get(key) or CATALOGUE.get(key)
    if entry is None:
        raise KeyError(f"no message {key!r}")
    return format_message(key, entry, language, params)


def fits(key: str, params: dict, catalog: dict | None = None) -> bool:
    """Whether message ``key`` formats with ``params`` in every language (for parameters that come from
    a submission: such a message is replaced by one that fits, never shown half-formatted)."""
    entry = (catalog or {}).get(key) or CATALOGUE.get(key)
    if entry is None:
        return False
    for language in LANGUAGES:
        missing: list = []
        try:
            entry[language].format_map(_Params(params, missing))
        except (ValueError, TypeError, IndexError, AttributeError, KeyError):
            return False
        if missing:
            return False
    return True


def register(entries: dict) -> None:
    """Add messages to ``CATALOGUE``; a key that is there already with another text is a mistake."""
    for key, entry in entries.items():
        if key in CATALOGUE and CATALOGUE[key] != entry:
            raise ValueError(f"message {key!r} registered twice with different texts")
        CATALOGUE[key] = entry


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
    "exception_public": {  # the same on a public input (the self-check: test cells, `xaigrade check`)
        "de": "Beim Aufruf auf einer öffentlichen Eingabe ({case}) trat ein Fehler auf: {error}",
        "en": "Calling it on a public input ({case}) raised an error: {error}",
    },
    "timeout_public": {
        "de": "Der Aufruf auf einer öffentlichen Eingabe ({case}) hat das Zeitlimit von {seconds:.0f} s überschritten.",
        "en": "The call on a public input ({case}) exceeded the time limit of {seconds:.0f} s.",
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
GENERIC["no_result"] = {  # core.evaluate: a case the probe left no result for, inside "not_run"
    "de": "kein Ergebnis",
    "en": "no result",
}
GENERIC["result_key_missing"] = {  # a probe's result lacks a value a check needs (compare.py, criteria)
    "de": "`{key}` fehlt",
    "en": "`{key}` missing",
}
GENERIC["public_checks_failed"] = {  # the self-check's test cell fails with this (xaikit.selfcheck)
    "de": "Öffentliche Prüfungen nicht bestanden: {checks}",
    "en": "Public checks failed: {checks}",
}

CATALOGUE: dict = {}  # every message by key: GENERIC here, the grader's added by autograder/messages.py
register(GENERIC)
