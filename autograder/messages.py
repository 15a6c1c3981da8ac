"""Feedback messages in German (course language) and English; every key exists in both.

Exercise modules keep their own ``MESSAGES`` dict; the generic ones below are shared.
Text is formatted with ``str.format(**params)``.
"""

from __future__ import annotations

from xaikit.selfcheck.messages import GENERIC, LANGUAGES, render  # noqa: F401  (one catalogue:
# the checks' generic messages live on the student side, for the public self-check; the grader adds its own)

GENERIC.update({
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
})
