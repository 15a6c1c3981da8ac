"""The grader's message catalogue: every text the grader shows, in German (course language) and English.

One catalogue, one formatting function: the entries below are added to the student side's
``xaikit.selfcheck.messages.CATALOGUE`` (whose generic check messages the grader shares; the kit
ships without this module) and rendered by its ``text(key, language, **params)`` / ``render``,
which also say how a missing parameter behaves. Exercise modules keep their own ``MESSAGES``.
Keys of texts that are not verdicts or notes carry the place they are shown in as a prefix
(``page.``, ``overview.``, ``export.``, ``collect.``, ``outputs.``, ``batch.``, ``fig.``, ``outcome.``).
"""

from __future__ import annotations

from xaikit.selfcheck.messages import GENERIC, LANGUAGES, Message, register, render, text  # noqa: F401
# (the checks' generic messages live on the student side, for the public self-check)

NOTES = {
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
    "sandbox_files_invalid": {
        "de": "Einige Dateien, die die Ausführung hinterlassen hat, waren ungültig und wurden nicht verwendet ({detail}).",
        "en": "Some files left by the run were invalid and were not used ({detail}).",
    },
    "hidden_set": {
        "de": "Geprüft auf den verborgenen Eingaben von Satz {name} (jede Person erhält einen der Sätze; "
              "eine erneute Bewertung verwendet denselben).",
        "en": "Checked on the hidden inputs of set {name} (everyone gets one of the sets; regrading uses the same one).",
    },
    "manual": {
        "de": "Wird von Hand bewertet.",
        "en": "Graded by hand.",
    },
}

# How a sandboxed job ended (``JobOutcome.kind`` + ``params``), shown inside "sandbox_killed" and in the
# messages of the checks it stopped.
OUTCOMES = {
    "outcome.timeout": {"de": "Zeitlimit von {seconds:.0f} s überschritten", "en": "time limit of {seconds:.0f} s exceeded"},
    "outcome.memory": {"de": "Speicherlimit von {mb} MiB überschritten", "en": "memory limit of {mb} MiB exceeded"},
    "outcome.cpu": {"de": "CPU-Zeitlimit überschritten", "en": "CPU time limit exceeded"},
    "outcome.signal": {"de": "Prozess durch {signal} beendet", "en": "process ended by {signal}"},
    "outcome.exit": {"de": "Ausführung mit Code {code} beendet", "en": "run ended with code {code}"},
    "outcome.jail": {"de": "Sandbox konnte nicht eingerichtet werden: {detail}",
                     "en": "the sandbox could not be set up: {detail}"},
    "outcome.with_detail": {"de": "{outcome} ({detail})", "en": "{outcome} ({detail})"},
    # a probe call without a result file, and why (runner/results.py)
    "outcome.kernel_died_in_call": {"de": "der Kernel wurde während dieses Aufrufs beendet",
                                    "en": "the kernel died during this call"},
    "outcome.notebook_not_finished": {"de": "Notebook nicht bis zum Ende ausgeführt",
                                      "en": "the notebook did not run to its end"},
    # a result file the grader does not use, and why (runner/results.py)
    "result.status_invalid": {"de": "Statusdatei ungültig ({error})", "en": "status file invalid ({error})"},
    "result.file_unreadable": {"de": "Ergebnisdatei nicht lesbar ({error})", "en": "result file not readable ({error})"},
    "result.too_large": {"de": "Ergebnis größer als {mb} MiB", "en": "result larger than {mb} MiB"},
    "result.wrong_type": {"de": "`{key}` hat den Typ {dtype}", "en": "`{key}` has the type {dtype}"},
    "result.unreadable": {"de": "Ergebnis nicht lesbar ({error})", "en": "result not readable ({error})"},
}


def outcome_message(kind: str | None, params: dict) -> Message | None:
    """How a job ended, as a message to render in the report's language; None when it ran to its end."""
    if kind is None:
        return None
    shown = {name: value for name, value in params.items() if name != "detail"}
    if kind == "jail":
        return Message("outcome.jail", detail=params.get("detail", ""))
    message = Message(f"outcome.{kind}", **shown)
    return Message("outcome.with_detail", outcome=message, detail=params["detail"]) if params.get("detail") else message


register(NOTES)
register(OUTCOMES)
