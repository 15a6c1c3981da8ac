"""The grader's message catalogue: every text the grader shows, in German (course language) and English.

(Over 400 lines on purpose: it is data, one entry per text; one file is the one place to look up and to
review the wording of a concept, which several files would split again.)

One catalogue, one formatting function: the entries below are added to the student side's
``xaikit.selfcheck.messages.CATALOGUE`` (whose generic check messages the grader shares; the kit
ships without this module) and rendered by its ``text(key, language, **params)`` / ``render``,
which also say how a missing parameter behaves. Exercise modules keep their own ``MESSAGES``.
Keys of texts that are not verdicts or notes carry the place they are shown in as a prefix
(``page.``, ``overview.``, ``export.``, ``collect.``, ``outputs.``, ``batch.``, ``fig.``, ``outcome.``,
``result.``, ``file.``, ``flag.``, ``report.``).
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
    "metadata_restored": {
        "de": "Die nbgrader-Metadaten der Zelle `{cell}` waren verändert ({what}); für die Bewertung gelten die der "
              "Vorlage. Ihr Inhalt bleibt Ihrer.",
        "en": "The nbgrader metadata of cell `{cell}` had been changed ({what}); the release's apply for grading. Its "
              "content stays yours.",
    },
    "metadata_removed": {
        "de": "Zelle {index} trug nbgrader-Metadaten, die es in der Vorlage nicht gibt (grade_id „{grade_id}“); sie "
              "wurden entfernt, die Zelle zählt als gewöhnliche Zelle.",
        "en": "Cell {index} carried nbgrader metadata the release does not have (grade_id “{grade_id}”); they were "
              "removed, the cell counts as an ordinary cell.",
    },
    "metadata_copied": {
        "de": "Zelle {index} trug die nbgrader-Metadaten einer anderen Zelle (grade_id `{grade_id}`, z. B. kopiert); "
              "sie wurden entfernt, die Zelle zählt als gewöhnliche Zelle.",
        "en": "Cell {index} carried the nbgrader metadata of another cell (grade_id `{grade_id}`, e.g. copied); they "
              "were removed, the cell counts as an ordinary cell.",
    },
    "metadata_removed_more": {
        "de": "Bei {count} weiteren Zellen wurden ebenso nbgrader-Metadaten entfernt.",
        "en": "The nbgrader metadata of {count} more cells were removed as well.",
    },
    "graded_cell_added": {
        "de": "Die bewertete Zelle `{cell}` fehlte in der Abgabe; sie wurde im bewerteten Notebook so eingefügt, wie "
              "sie ausgegeben wurde (leer), damit sie bewertet werden kann.",
        "en": "The graded cell `{cell}` was missing from the submission; it was added to the graded notebook as "
              "released (empty), so that it can be graded.",
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

# a file the sandbox left that the grader does not read, and why (runner/results.py: ``UnsafeFile``,
# ``validate_status``), shown in "sandbox_files_invalid" and the "result." messages
FILES = {
    "file.missing": {"de": "{name}: fehlt", "en": "{name}: missing"},
    "file.link": {"de": "{name}: ist ein symbolischer Link (nicht gelesen)",
                  "en": "{name}: is a symbolic link (not read)"},
    "file.not_opened": {"de": "{name}: kann nicht geöffnet werden ({error})",
                        "en": "{name}: cannot be opened ({error})"},
    "file.not_regular": {"de": "{name}: keine normale Datei", "en": "{name}: not a regular file"},
    "file.too_large": {"de": "{name}: größer als {mb} MiB", "en": "{name}: larger than {mb} MiB"},
    "file.bad_name": {"de": "kein einfacher Dateiname: {name}", "en": "not a plain file name: {name}"},
    "file.not_json": {"de": "{name}: kein gültiges JSON", "en": "{name}: not valid JSON"},
    "file.not_object": {"de": "{name}: kein JSON-Objekt", "en": "{name}: not a JSON object"},
    "file.bad_field": {"de": "{name}: Feld `{field}` ungültig", "en": "{name}: field `{field}` invalid"},
    "file.not_notebook": {"de": "{name}: kein lesbares Notebook ({error})",
                          "en": "{name}: not a readable notebook ({error})"},
}


# CSV, Gradescope and Moodle exports (exports.py)
EXPORTS = {
    "export.status_submitted": {"de": "Zur Bewertung abgegeben",
                                "en": "Submitted for grading"},
    "export.yes": {"de": "Ja",
                   "en": "Yes"},
    "export.moodle_summary": {"de": "{assignment}: {score} von {max_score} Punkten (davon automatisch {auto} von "
                                    "{auto_max}).",
                              "en": "{assignment}: {score} of {max_score} points (autograded: {auto} of {auto_max})."},
    "export.moodle_all_passed": {"de": "Alle automatischen Prüfungen bestanden.",
                                 "en": "All automatic checks passed."},
    "export.moodle_page": {"de": "Die ausführliche Rückmeldung mit Bildern steht auf Ihrer Rückmeldungsseite.",
                           "en": "The detailed feedback with pictures is on your feedback page."},
    "export.no_participant": {"de": "{student}: keine Moodle-Teilnehmer-ID im Gradebook (nicht mit `xaigrade "
                                    "collect` eingelesen) – nicht im Moodle-Export",
                              "en": "{student}: no Moodle participant id in the gradebook (not imported with "
                                    "`xaigrade collect`) – left out of the Moodle export"},
    # hand grades that still wait (nbgrader_bridge.pending_hand_grades), in exports and their refusal
    "export.incomplete": {"de": "{assignment}: {answers} Antwort(en) von {students} Studierenden warten noch auf eine "
                                "Bewertung von Hand: {who}",
                          "en": "{assignment}: {answers} answer(s) of {students} student(s) still wait for a hand "
                                "grade: {who}"},
    "export.incomplete_refused": {"de": "Nicht exportiert: die Summen wären nicht endgültig. Bewerten Sie die Antworten "
                                        "im formgrader (siehe README, „Die schriftlichen Antworten bewerten“) oder "
                                        "exportieren Sie mit --allow-incomplete; die Summen sind dann als vorläufig "
                                        "markiert.",
                                  "en": "Not exported: the totals would not be final. Grade the answers in formgrader "
                                        "(README, “Grading the written answers”) or export with --allow-incomplete; "
                                        "the totals are then marked as provisional."},
    "export.incomplete_marked": {"de": "Exportiert mit vorläufigen Summen (--allow-incomplete); markiert in der Spalte "
                                       "hand_grades_pending bzw. in der ersten Zeile des Feedbacks.",
                                 "en": "Exported with provisional totals (--allow-incomplete); marked in the column "
                                       "hand_grades_pending and in the first line of the feedback."},
    "export.provisional": {"de": "Vorläufige Bewertung: {count} Bewertung(en) von Hand stehen noch aus.",
                           "en": "Provisional grade: {count} hand grade(s) still to come."},
    "export.moodle_override": {"de": "{cell}: {score} von {max_score} Punkten, von Hand festgelegt.",
                               "en": "{cell}: {score} of {max_score} points, set by hand."},
    "export.moodle_points": {"de": "{score} von {max_score} Punkten",
                             "en": "{score} of {max_score} points"},
    "export.moodle_hand_pending": {"de": "noch nicht bewertet",
                                   "en": "not graded yet"},
    "export.gradescope_pending": {"de": "{count} Antwort(en) werden noch von Hand bewertet; diese Punkte sind hier "
                                        "nicht enthalten.",
                                  "en": "{count} answer(s) are still to be graded by hand; those points are not "
                                        "included here."},
    "export.no_page": {"de": "{student}: keine Rückmeldungsseite ({page}) – nicht im ZIP-Archiv",
                       "en": "{student}: no feedback page ({page}) – left out of the zip archive"},
}

# what a grading run tells the instructor beside the scores (cli.py, batch.RunNotes)
RUN = {
    "gradebook.no_response": {"de": "Keine Antwort abgegeben.",
                              "en": "No response."},
    "run.review_title": {"de": "Von Hand neu zu prüfen (Abgabe oder automatisches Ergebnis geändert; im formgrader "
                               "als „needs manual grade“ markiert):",
                         "en": "To look at again by hand (submission or autograded result changed; flagged as "
                               "“needs manual grade” in formgrader):"},
    "run.review_line": {"de": "{student} ({assignment}): {items}",
                        "en": "{student} ({assignment}): {items}"},
    "run.answer_changed": {"de": "{cell} (Antwort geändert; Ihre Bewertung {manual} ist zur Prüfung markiert)",
                           "en": "{cell} (answer changed; your grade {manual} is flagged for review)"},
    "run.override_changed": {"de": "{cell} (automatisch jetzt {now} statt {before}; Ihre Punkte {manual} sind zur "
                                   "Prüfung markiert)",
                             "en": "{cell} (autograded now {now} instead of {before}; your points {manual} are flagged "
                                   "for review)"},
    "run.comment_changed": {"de": "{cell} (Code geändert; Ihr Kommentar dazu passt vielleicht nicht mehr)",
                            "en": "{cell} (code changed; your comment on it may no longer fit)"},
    "run.pending": {"de": "Bewertung von Hand: {lines}",
                    "en": "Hand grading: {lines}"},
    "run.pending_assignment": {"de": "{assignment} {answers} Antwort(en) von {students} Studierenden offen",
                               "en": "{assignment} {answers} answer(s) of {students} student(s) open"},
    "run.pending_none": {"de": "Bewertung von Hand: nichts offen.",
                         "en": "Hand grading: nothing open."},
    "run.formgrader": {"de": "Die offenen Antworten bewerten Sie im formgrader: {command} (im Kursverzeichnis), dann "
                             "Menü Nbgrader → Formgrader; danach `xaigrade feedback`.",
                       "en": "Grade the open answers in formgrader: {command} (in the course directory), then menu "
                             "Nbgrader → Formgrader; afterwards `xaigrade feedback`."},
    "run.secret": {"de": "Kursgeheimnis: Fingerabdruck {fingerprint} ({source})",
                   "en": "course secret: fingerprint {fingerprint} ({source})"},
    "run.secret_moves": {"de": "ACHTUNG: {count} Abgabe(n) wurden zuletzt mit einem anderen Kursgeheimnis bewertet "
                               "(Fingerabdruck {old}). Unter diesem ({new}) bekommen sie andere verborgene Eingaben:",
                         "en": "WARNING: {count} submission(s) were last graded with another course secret "
                               "(fingerprint {old}). Under this one ({new}) they get other hidden inputs:"},
    "run.secret_move": {"de": "{student} ({assignment}): Satz {old_set} → Satz {new_set}",
                        "en": "{student} ({assignment}): set {old_set} → set {new_set}"},
    "run.secret_hint": {"de": "Mit dem Geheimnis jenes Semesters bewerten: xaigrade grade --secret ARCHIV/secret",
                        "en": "To grade with that semester's secret: xaigrade grade --secret ARCHIVE/secret"},
    "run.other_secret": {"de": "{count} frühere Bewertung(en) stammen von einem anderen Kursgeheimnis (Fingerabdruck "
                               "{old}) und wurden nicht neu bewertet: {students}",
                         "en": "{count} earlier grading(s) come from another course secret (fingerprint {old}) and "
                               "were not regraded: {students}"},
    "run.autograde_config": {"de": "Hinweis: {config} leitet formgraders Autograde-Knopf (⚡) und `nbgrader autograde` "
                                   "nicht an xaigrade weiter; nbgrader führte die Abgaben dann ohne Sandbox aus und "
                                   "bewertete jede Prüfung mit 0 Punkten. Nehmen Sie diese Zeilen auf: {lines}",
                             "en": "Note: {config} does not send formgrader's Autograde button (⚡) and `nbgrader "
                                   "autograde` to xaigrade; nbgrader would then run the submissions without a sandbox "
                                   "and give every check 0 points. Add these lines: {lines}"},
    "run.feedback_renewed": {"de": "{assignment}: {count} Rückmeldungsseite(n) mit Punkten und Kommentaren von Hand "
                                   "erneuert",
                             "en": "{assignment}: {count} feedback page(s) renewed with hand points and comments"},
    "run.no_such_student": {"de": "keine Abgabe von {students} zu {assignments} in {folder}",
                            "en": "no submission of {students} for {assignments} in {folder}"},
}

# student outputs shown as text or removed (safe_outputs.py)
OUTPUTS = {
    "outputs.as_text": {"de": "[{mimetype}-Ausgabe der Abgabe, aus Sicherheitsgründen als Text gezeigt]",
                        "en": "[{mimetype} output of the submission, shown as text for safety]"},
    "outputs.removed": {"de": "[{mimetypes}-Ausgabe der Abgabe aus Sicherheitsgründen entfernt]",
                        "en": "[{mimetypes} output of the submission removed for safety]"},
    "outputs.cut": {"de": "… (gekürzt, {chars} Zeichen)",
                    "en": "… (cut, {chars} characters)"},
    # the label of a demo cell's output kept as submitted (grading.annotate; runner/execute.py does not re-run it)
    "outputs.demo_kept": {"de": "[xaigrade: Demonstrationszelle, bei der Bewertung nicht erneut ausgeführt – Ausgabe "
                                "wie abgegeben]",
                          "en": "[xaigrade: demo cell, not re-run for grading – output as submitted]"},
}

# the terminal tables of `xaigrade grade` and `xaigrade demo` (report.py)
REPORT = {
    "report.summary": {"de": "Punkte je Student und Aufgabe",
                       "en": "Points per student and assignment"},
    "report.student": {"de": "Student",
                       "en": "Student"},
    "report.checks": {"de": "{assignment}: Prüfungen",
                      "en": "{assignment}: checks"},
    "report.check": {"de": "Prüfung",
                     "en": "Check"},
    "report.points": {"de": "Punkte",
                      "en": "Points"},
    "report.feedback": {"de": "Rückmeldung",
                        "en": "Feedback"},
    "report.note": {"de": "(Hinweis)",
                    "en": "(note)"},
    # the last line of `xaigrade check`
    "report.public_total": {"de": "{mark} {score:g}/{max_score:g} Punkte in den öffentlichen Prüfungen",
                            "en": "{mark} {score:g}/{max_score:g} points in the public checks"},
}

# `xaigrade collect`'s report (collect.py)
COLLECT = {
    "collect.placed": {"de": "{student} ({name}, Teilnehmer {pid}): {source} → {target}",
                       "en": "{student} ({name}, participant {pid}): {source} → {target}"},
    "collect.unchanged": {"de": "{student}: unverändert ({source})",
                          "en": "{student}: unchanged ({source})"},
    "collect.not_notebook": {"de": "{source}: keine Notebook-Datei (.ipynb) – nicht übernommen",
                             "en": "{source}: not a notebook (.ipynb) – not placed"},
    "collect.two_notebooks": {"de": "{name} (Teilnehmer {pid}): mehrere Notebooks ({files}) – keines übernommen, "
                                    "bitte von Hand wählen",
                              "en": "{name} (participant {pid}): several notebooks ({files}) – none placed, please "
                                    "choose by hand"},
    "collect.not_chosen": {"de": "{name} (Teilnehmer {pid}): {source} nicht übernommen – übernommen wurde {chosen} "
                                 "(trägt den Namen der Aufgabe); bitte prüfen Sie, ob das die gewollte Abgabe ist",
                           "en": "{name} (participant {pid}): {source} not placed – {chosen} was placed (it has the "
                                 "assignment's name); please check that it is the intended submission"},
    "collect.same_student": {"de": "{name} (Teilnehmer {pid}): {source} nicht übernommen – dieselbe Kennung "
                                   "{student} wie {other}; bitte ordnen Sie die Abgabe von Hand zu",
                             "en": "{name} (participant {pid}): {source} not placed – same student id {student} as "
                                   "{other}; please assign it by hand"},
    "collect.wrong_assignment": {"de": "{source}: gehört nicht zur Aufgabe {assignment} (keine ihrer Zellen "
                                       "gefunden) – nicht übernommen",
                                 "en": "{source}: does not belong to assignment {assignment} (none of its cells "
                                       "found) – not placed"},
    "collect.unknown_entry": {"de": "{source}: kein Moodle-Abgabename (<Name>_<ID>_assignsubmission_…) – nicht "
                                    "zuzuordnen",
                              "en": "{source}: not a Moodle submission name (<name>_<id>_assignsubmission_…) – "
                                    "cannot be placed"},
    "collect.unmapped": {"de": "{name} (Teilnehmer {pid}): nicht in der Zuordnungsdatei – nicht übernommen",
                         "en": "{name} (participant {pid}): not in the mapping file – not placed"},
    "collect.bad_zip": {"de": "{source}: beschädigtes ZIP-Archiv ({error})",
                        "en": "{source}: broken zip archive ({error})"},
    "collect.too_large": {"de": "{source}: größer als {mb} MiB – nicht übernommen",
                          "en": "{source}: larger than {mb} MiB – not placed"},
    "collect.too_deep": {"de": "{source}: ZIP-Archiv in mehr als {depth} verschachtelten ZIP-Archiven – nicht "
                               "geöffnet",
                         "en": "{source}: zip archive nested in more than {depth} zip archives – not opened"},
    "collect.too_many_members": {"de": "{source}: {entries} Einträge (höchstens {count} im ganzen Archiv) – nicht "
                                       "gelesen",
                                 "en": "{source}: {entries} entries (at most {count} in the whole archive) – not read"},
    "collect.members_stop": {"de": "{source}: mehr als {count} Einträge (ZIP-Archive darin mitgezählt) – der Rest "
                                   "wurde nicht gelesen",
                             "en": "{source}: more than {count} entries (zip archives inside counted) – the rest was "
                                   "not read"},
    "collect.archive_too_large": {"de": "{source}: entpackt größer als {mb} MiB – der Rest des Archivs wurde nicht "
                                        "gelesen",
                                  "en": "{source}: larger than {mb} MiB unpacked – the rest of the archive was not "
                                        "read"},
    "collect.unsafe_name": {"de": "{source}: unzulässiger Name (absoluter Pfad oder „..“) – nicht übernommen",
                            "en": "{source}: name not allowed (absolute path or “..”) – not placed"},
    "collect.summary": {"de": "{placed} Abgaben übernommen, {problems} Dateien/Abgaben nicht zugeordnet",
                        "en": "{placed} submissions placed, {problems} files/submissions not placed"},
    "collect.new_students": {"de": "neu im Gradebook: {students}",
                             "en": "new in the gradebook: {students}"},
    "collect.ignored": {"de": "{count} Systemdatei(en) übergangen (__MACOSX, .ipynb_checkpoints, .DS_Store, "
                              "Thumbs.db): {files}",
                        "en": "{count} system file(s) skipped (__MACOSX, .ipynb_checkpoints, .DS_Store, Thumbs.db): "
                              "{files}"},
}

# the feedback page (feedback.py)
PAGE = {
    "page.title": {"de": "Rückmeldung {assignment}",
                   "en": "Feedback {assignment}"},
    "page.student": {"de": "Abgabe von {student}",
                     "en": "Submission of {student}"},
    "page.total": {"de": "Automatisch bewertet: {score} von {max_score} Punkten",
                   "en": "Autograded: {score} of {max_score} points"},
    "page.manual": {"de": "Die Antworten auf die Diskussionsfragen werden von Hand bewertet; ihre Punkte kommen "
                          "hinzu.",
                    "en": "The answers to the discussion questions are graded by hand; their points are added."},
    "page.notes": {"de": "Hinweise zur Abgabe",
                   "en": "Notes on the submission"},
    "page.task": {"de": "Aufgabe {task}",
                  "en": "Task {task}"},
    "page.points": {"de": "{score} / {max_score} Punkte",
                    "en": "{score} / {max_score} points"},
    "page.passed": {"de": "bestanden",
                    "en": "passed"},
    "page.failed": {"de": "nicht bestanden",
                    "en": "failed"},
    "page.see_picture": {"de": "Bild zu diesem Fall: siehe Prüfung „{check}“ oben.",
                         "en": "Picture of this case: see check “{check}” above."},
    "page.example": {"de": "Beispiel eines bestandenen Falls: {caption}",
                     "en": "Example of a passed case: {caption}"},
    "page.nbgrader_link": {"de": "Das bewertete Notebook (nbgrader-Rückmeldung)",
                           "en": "The graded notebook (nbgrader feedback)"},
    "page.nbgrader_missing": {"de": "Die Ansicht des bewerteten Notebooks (nbgrader) konnte für Ihre Abgabe nicht "
                                    "erzeugt werden. Ihre Bewertung mit allen Prüfungen und Hinweisen steht auf",
                              "en": "The view of the graded notebook (nbgrader) could not be generated for your "
                                    "submission. Your grade with every check and note is on"},
    "page.link_cell": {"de": "**Ausführliche Rückmeldung mit Bildern:** [{page}]({page}) (liegt neben dieser Seite)",
                       "en": "**Detailed feedback with pictures:** [{page}]({page}) (next to this page)"},
    "page.picture_skipped": {"de": "Kein Bild zu dieser Prüfung: es wäre zu aufwendig zu zeichnen.",
                             "en": "No picture for this check: it would take too long to draw."},
    # the total from nbgrader's gradebook: automatic and hand points (render_page with the gradebook's state)
    "page.total_all": {"de": "Gesamt: {score} von {max_score} Punkten",
                       "en": "Total: {score} of {max_score} points"},
    "page.total_provisional": {"de": "Vorläufig: {score} von {max_score} Punkten (noch nicht alles bewertet)",
                               "en": "Provisional: {score} of {max_score} points (not everything graded yet)"},
    "page.total_auto": {"de": "automatisch bewertet: {score} von {max_score}",
                        "en": "autograded: {score} of {max_score}"},
    "page.total_hand": {"de": "von Hand bewertet: {score} von {max_score}",
                        "en": "graded by hand: {score} of {max_score}"},
    "page.total_pending": {"de": "{count} Antwort(en) noch nicht von Hand bewertet",
                           "en": "{count} answer(s) not yet graded by hand"},
    "page.total_penalty": {"de": "Abzug für verspätete Abgabe: {points} Punkte",
                           "en": "late submission penalty: {points} points"},
    "page.hand_title": {"de": "Von Hand bewertete Antworten",
                        "en": "Answers graded by hand"},
    "page.hand_pending": {"de": "noch nicht bewertet (höchstens {max_score} Punkte)",
                          "en": "not graded yet (at most {max_score} points)"},
    "page.answer_cell": {"de": "Antwortzelle {cell}",
                         "en": "Answer cell {cell}"},
    "page.override_title": {"de": "Von Hand angepasste Punkte",
                            "en": "Points set by hand"},
    "page.override": {"de": "{task}: {score} von {max_score} Punkten, von Hand festgelegt (automatisch: {auto})",
                      "en": "{task}: {score} of {max_score} points, set by hand (autograded: {auto})"},
    "page.code_comments": {"de": "Kommentare zu Ihrem Code",
                           "en": "Comments on your code"},
    "page.picture_failed": {"de": "Kein Bild zu dieser Prüfung: es konnte nicht gezeichnet werden.",
                            "en": "No picture for this check: it could not be drawn."},
}

# figure captions and panel titles of the exercises' ``figures`` hooks (autograder/checks/*.py)
FIGURES = {
    "fig.student": {"de": "Ihre Abgabe",
                    "en": "your submission"},
    "fig.reference": {"de": "Referenz",
                      "en": "reference"},
    "fig.difference": {"de": "Differenz (Ihre − Referenz)",
                       "en": "difference (yours − reference)"},
    "fig.original": {"de": "Original",
                     "en": "original"},
    "fig.ice": {"de": "Ihre Kurven (eine pro Zeile)",
                "en": "your curves (one per row)"},
    "fig.pd": {"de": "partielle Abhängigkeit",
               "en": "partial dependence"},
    "fig.own_x": {"de": "Ihre {n} Werte (erwartet: {m}, einer je Gitterpunkt), gleichmäßig aufgetragen",
                  "en": "your {n} values (expected: {m}, one per grid point), spread evenly"},
    "fig.pd_1d": {"de": "{case}: Ihre Kurve über der Referenz auf dem Gitter",
                  "en": "{case}: your curve over the reference on the grid"},
    "fig.pd_2d": {"de": "{case}: Ihre 2-D-PDP neben der Referenz (gleiche Farbskala)",
                  "en": "{case}: your 2-D PDP next to the reference (same colour scale)"},
    "fig.shape": {"de": "Form {shape}",
                  "en": "shape {shape}"},
    "fig.heatmaps": {"de": "{case}: Ihre Heatmap, die Referenz und die Differenz",
                     "en": "{case}: your heatmap, the reference and the difference"},
    "fig.counterfactuals": {"de": "{case}: Original, Ihr Counterfactual und die Referenz, darunter die Änderungen",
                            "en": "{case}: original, your counterfactual and the reference, below them the changes"},
    "fig.token_importance": {"de": "{case}: Ihre Token-Wichtigkeit neben der Referenz",
                             "en": "{case}: your token importance next to the reference"},
}

# what a picture leaves out, added to its caption (autograder/figures.py)
FIGURE_CUTS = {
    "fig.cut_curves": {"de": "nur {shown} von {total} Kurven gezeigt, gleichmäßig ausgewählt",
                       "en": "only {shown} of {total} curves shown, chosen evenly"},
    "fig.cut_points": {"de": "nur {shown} von {total} Punkten gezeigt, gleichmäßig ausgewählt",
                       "en": "only {shown} of {total} points shown, chosen evenly"},
    "fig.cut_image": {"de": "Bild {shape} verkleinert auf {small} (Blockmittel)",
                      "en": "image {shape} reduced to {small} (block means)"},
    "fig.cut_bars": {"de": "nur die ersten {shown} von {total} Balken gezeigt",
                     "en": "only the first {shown} of {total} bars shown"},
    "fig.too_big_to_draw": {"de": "Ihr Ergebnis ist zu groß zum Zeichnen ({size} Werte), gezeigt ist nur die Referenz",
                            "en": "your result is too large to draw ({size} values); only the reference is shown"},
}

# the class overview (overview.py)
OVERVIEW = {
    "overview.title": {"de": "Klassenübersicht",
                       "en": "Class overview"},
    "overview.scores": {"de": "Punkteverteilung (automatisch bewertet)",
                        "en": "Score distribution (autograded)"},
    "overview.assignment": {"de": "Aufgabe",
                            "en": "Assignment"},
    "overview.submissions": {"de": "Abgaben",
                             "en": "Submissions"},
    "overview.mean": {"de": "Mittel",
                      "en": "Mean"},
    "overview.median": {"de": "Median",
                        "en": "Median"},
    "overview.full_marks": {"de": "volle Punktzahl",
                            "en": "full marks"},
    "overview.hand_pending": {"de": "offen von Hand: Antworten (Studierende)",
                              "en": "open by hand: answers (students)"},
    "overview.mistakes": {"de": "Häufigste Fehler",
                          "en": "Most frequent mistakes"},
    "overview.check": {"de": "Prüfung",
                       "en": "Check"},
    "overview.message_key": {"de": "Fehler",
                             "en": "Mistake"},
    "overview.students": {"de": "Studierende",
                          "en": "Students"},
    "overview.example": {"de": "Rückmeldung (Beispiel)",
                         "en": "Feedback (example)"},
    "overview.points": {"de": "Punkte",
                        "en": "Points"},
    "overview.count": {"de": "Anzahl",
                       "en": "Count"},
    "overview.pass_rate": {"de": "Anteil bestanden je Prüfung",
                           "en": "Share passed per check"},
    "overview.none": {"de": "Noch nichts bewertet.",
                      "en": "Nothing graded yet."},
    "overview.no_mistakes": {"de": "Keine Fehler – alle Prüfungen bestanden.",
                             "en": "No mistakes – all checks passed."},
}

# progress bar and infrastructure failures of a batch (parallel.py)
BATCH = {
    "batch.grading": {"de": "Bewertung",
                      "en": "Grading"},
    "batch.failures": {"de": "nicht ausführbar: {count}",
                       "en": "could not run: {count}"},
    "batch.no_notebook": {"de": "keine .ipynb-Datei abgegeben",
                          "en": "no .ipynb file handed in"},
    "batch.grader_error": {"de": "interner Fehler des Graders",
                           "en": "internal error of the grader"},
    "batch.nbgrader_feedback_failed": {
        "de": "{student}: nbgraders Rückmeldung zu {assignment} konnte nicht erzeugt werden ({reason}); die "
              "Bewertung und die Rückmeldungsseite xaigrade.html sind vollständig, an Stelle von nbgraders Seite "
              "steht ein Hinweis.",
        "en": "{student}: nbgrader's feedback on {assignment} could not be generated ({reason}); the grade and the "
              "feedback page xaigrade.html are complete, a note stands in place of nbgrader's page."},
    "batch.id_not_plain": {"de": "die Kennung enthält Zeichen, die nbgrader als Suchmuster liest",
                           "en": "the id holds characters nbgrader reads as a search pattern"},
    "batch.worker_lost": {"de": "Der Bewertungsprozess ist abgebrochen ({error}); die Abgabe wird beim nächsten "
                                "`xaigrade grade` erneut bewertet.",
                          "en": "The grading process died ({error}); the submission is graded again by the next "
                                "`xaigrade grade`."},
}

# code flagged for review (runner/scan.py; "ran_*" and library_method: seen while it ran, runner/runtime.py)
FLAGS = {
    "flag.patch_checker": {"de": "überschreibt eine Bibliotheksfunktion ({detail})",
                           "en": "overwrites a library function ({detail})"},
    "flag.builtins": {"de": "verändert eingebaute Namen ({detail})",
                      "en": "changes built-in names ({detail})"},
    "flag.grader_access": {"de": "greift auf Grader-Dateien oder -Namen zu ({detail})",
                           "en": "touches grader files or names ({detail})"},
    "flag.absolute_path": {"de": "liest/schreibt Dateien außerhalb des Notebook-Ordners ({detail})",
                           "en": "reads/writes files outside the notebook folder ({detail})"},
    "flag.exit": {"de": "beendet den Prozess ({detail})",
                  "en": "exits the process ({detail})"},
    "flag.processes": {"de": "startet Prozesse oder Signale ({detail})",
                       "en": "starts processes or signals ({detail})"},
    "flag.network": {"de": "öffnet Netzwerkverbindungen ({detail})",
                     "en": "opens network connections ({detail})"},
    "flag.library_method": {"de": "ruft eine Bibliotheksimplementierung des bewerteten Verfahrens auf ({detail})",
                            "en": "calls a library implementation of the graded method ({detail})"},
    "flag.ran_processes": {"de": "startete Prozesse oder sendete Signale ({detail})",
                           "en": "started processes or sent signals ({detail})"},
    "flag.ran_network": {"de": "benutzte Netzwerk-Sockets ({detail})",
                         "en": "used network sockets ({detail})"},
    "flag.ran_native": {"de": "rief nativen Code über ctypes auf ({detail})",
                        "en": "called native code through ctypes ({detail})"},
    "flag.ran_files": {"de": "öffnete Dateien außerhalb des Notebook-Ordners ({detail})",
                       "en": "opened files outside the notebook folder ({detail})"},
    "flag.ran_imports": {"de": "importierte {detail}",
                         "en": "imported {detail}"},
    "flag.hidden_code": {"de": "führte zur Laufzeit erzeugten Code aus (exec/eval/compile), darin: {detail}",
                         "en": "ran code built at run time (exec/eval/compile), containing: {detail}"},
    "flag.sys_modules": {"de": "verändert sys.modules ({detail})",
                         "en": "changes sys.modules ({detail})"},
    "flag.decoded_code": {"de": "führt dekodierte Daten als Code aus ({detail})",
                          "en": "runs decoded data as code ({detail})"},
    "flag.watcher": {"de": "greift in die Beobachtung des Programmlaufs ein ({detail})",
                     "en": "interferes with the watch on the run ({detail})"},
    "flag.library_import": {"de": "benutzt in einer Funktion eine Bibliotheksimplementierung des bewerteten "
                                  "Verfahrens ({detail})",
                            "en": "uses a library implementation of the graded method in a function ({detail})"},
    "flag.runtime_missing": {"de": "Der Ausführungsbericht Ihrer Abgabe fehlt: er wurde möglicherweise "
                                   "abgeschaltet ({detail})",
                             "en": "the submission's run record is missing: it may have been switched off "
                                   "({detail})"},
    "flag.runtime_cut_short": {"de": "Der Ausführungsbericht Ihrer Abgabe bricht vor dem Ende ab: er wurde "
                                     "möglicherweise abgeschaltet ({detail})",
                               "en": "the submission's run record is cut short: it may have been switched off "
                                     "({detail})"},
    "flag.runtime_overflow": {"de": "mehr beobachtet, als der Ausführungsbericht festhält ({detail})",
                              "en": "more was observed than the run record keeps ({detail})"},
    "flag.observed": {"de": "Beim Ausführen beobachtet: {text} – ohne Einfluss auf die Bewertung, zur Prüfung "
                            "markiert.",
                      "en": "Observed while running: {text} – no effect on the grade, flagged for review."},
    "flag.in_cell": {"de": "Verdächtiger Code in Zelle {cell}: {text} – ohne Einfluss auf die Bewertung, zur Prüfung "
                           "markiert.",
                     "en": "Suspicious code in cell {cell}: {text} – no effect on the grade, flagged for review."},
}

# the similarity report (autograder/similarity.py): never a grade, never shown to students
SIMILARITY = {
    "similarity.title": {"de": "Ähnliche Abgaben: {assignment}", "en": "Similar submissions: {assignment}"},
    "similarity.never_a_grade": {
        "de": "Dieser Bericht ist keine Bewertung und kein Beweis: Er zeigt Paare, deren Arbeit sich ungewöhnlich "
              "ähnelt, damit Sie sie ansehen. Er geht an keine Studentin und keinen Studenten und in keinen Export.",
        "en": "This report is not a grade and no proof: it shows pairs whose work is unusually alike, for you to look "
              "at. It reaches no student and no export."},
    "similarity.summary": {
        "de": "{students} Abgaben (und {others} weitere Vergleichsdokumente), {pairs} Paare verglichen; {above} über "
              "der Linie (Wert ≥ {line:g}).",
        "en": "{students} submissions (and {others} further documents to compare with), {pairs} pairs compared; "
              "{above} above the line (score ≥ {line:g})."},
    "similarity.method_title": {"de": "Wie verglichen und bewertet wird", "en": "How it compares and scores"},
    "similarity.method": {
        "de": "Verglichen wird, was die Person selbst geschrieben hat: der Code der Lösungs- und freien Code-Zellen "
              "und die schriftlichen Antworten, ohne alles, was schon in der Vorlage stand; Ausgaben nicht. Code "
              "auf Token (copydetect: Namen, Literale, Kommentare und Layout zählen nicht, die Reihenfolge der "
              "Funktionen auch nicht), Antworten als normalisierter Text (TF-IDF über Zeichen-n-Gramme). Jedes "
              "gemeinsame Fragment wiegt umso mehr, je seltener es im Jahrgang ist; was jede zweite Abgabe enthält, "
              "wiegt nichts. Jedes Paar wird an allen Paaren gemessen (robuster z-Wert: Abstand vom Median in "
              "MAD-Einheiten), getrennt für Code und Text; der Wert ist der größere der beiden. Gleiche falsche "
              "Ergebnisse im Bericht des Graders und gleiche seltene Zahlen in den Antworten, die sonst niemand hat, "
              "geben je {bonus:g} dazu. Über der Linie: Wert ≥ {line:g} und Code-Ähnlichkeit ≥ {code_floor:g} oder Text-Ähnlichkeit "
              "≥ {text_floor:g}.",
        "en": "What is compared is what the person wrote: the code of the solution and free code cells and the "
              "written answers, without anything the release already held; not the outputs. Code on tokens "
              "(copydetect: names, literals, comments and layout do not count, nor does the order of the "
              "functions), answers as normalised text (TF-IDF over character n-grams). Each shared fragment weighs "
              "the more the rarer it is in the cohort; what every second submission holds weighs nothing. Each pair "
              "is measured against all pairs (robust z-score: distance from the median in MAD units), code and text "
              "apart; the score is the larger of the two. Identical wrong results in the grader's report and the same "
              "rare numbers in the answers that nobody else has add {bonus:g} each. Above the line: score ≥ {line:g} and "
              "code similarity ≥ {code_floor:g} or text similarity ≥ {text_floor:g}."},
    "similarity.hist_below": {"de": "Paare unter der Linie", "en": "pairs below the line"},
    "similarity.hist_above": {"de": "Paare über der Linie", "en": "pairs above the line"},
    "similarity.hist_line": {"de": "Linie {line:g}", "en": "line {line:g}"},
    "similarity.hist_x": {"de": "Wert (wie ungewöhnlich das Paar im Jahrgang ist)",
                          "en": "score (how unusual the pair is in the cohort)"},
    "similarity.hist_y": {"de": "Paare", "en": "pairs"},
    "similarity.hist_alt": {"de": "Histogramm der Werte aller Paare", "en": "Histogram of all pairs' scores"},
    "similarity.hist_caption": {"de": "Alle Paare nach Wert (logarithmische Achse); gestrichelt die Linie bei {line:g}.",
                                "en": "All pairs by score (logarithmic axis); dashed: the line at {line:g}."},
    "similarity.problems_title": {"de": "Nicht oder nur teilweise verglichen",
                                  "en": "Not or only partly compared"},
    "similarity.clusters_title": {"de": "Gruppen (drei oder mehr Abgaben teilen Arbeit)",
                                  "en": "Clusters (three or more submissions share work)"},
    "similarity.cluster": {"de": "Gruppe {number}: {count} Dokumente", "en": "Cluster {number}: {count} documents"},
    "similarity.pairs_title": {"de": "Paare über der Linie", "en": "Pairs above the line"},
    "similarity.none_above": {"de": "Kein Paar über der Linie.", "en": "No pair above the line."},
    "similarity.score": {"de": "Wert", "en": "score"},
    "similarity.evidence": {"de": "Hinweise", "en": "evidence"},
    "similarity.evidence_code": {"de": "Code", "en": "code"},
    "similarity.evidence_text": {"de": "Text", "en": "text"},
    "similarity.evidence_wrong_results": {"de": "gleiche falsche Ergebnisse", "en": "identical wrong results"},
    "similarity.evidence_numbers": {"de": "gleiche seltene Zahlen", "en": "the same rare numbers"},
    "similarity.code_similarity": {"de": "Code", "en": "code"},
    "similarity.text_similarity": {"de": "Antworten", "en": "answers"},
    "similarity.similarity": {"de": "Ähnlichkeit", "en": "similarity"},
    "similarity.unusual": {"de": "ungewöhnlich (robuster z-Wert)", "en": "unusual (robust z-score)"},
    "similarity.rare_share": {"de": "gemeinsame Fragmente, die kein Dritter hat",
                              "en": "shared fragments no third document has"},
    "similarity.wrong_title": {
        "de": "Starker Hinweis: gleiche falsche Ergebnisse (gleiche Prüfung, gleiche Werte), die keine dritte Abgabe "
              "hat ({count}):",
        "en": "Strong evidence: identical wrong results (same check, same values) no third submission has ({count}):"},
    "similarity.numbers_title": {
        "de": "Starker Hinweis: dieselben seltenen Zahlen in den Antworten, die weder eine dritte Abgabe noch die "
              "Musterlösung hat: {numbers}",
        "en": "Strong evidence: the same rare numbers in the answers, in no third submission and not in the "
              "reference answers: {numbers}"},
    "similarity.code": {"de": "Code (gemeinsame Fragmente markiert)", "en": "Code (shared fragments marked)"},
    "similarity.answers": {"de": "Antworten (ähnliche Sätze markiert und nummeriert)",
                           "en": "Answers (similar sentences marked and numbered)"},
    "similarity.reference": {"de": "[Musterlösung der Lehrenden]", "en": "[instructor's reference solution]"},
    "similarity.published": {"de": "[veröffentlichte Lösung: {path}]", "en": "[published solution: {path}]"},
    "similarity.earlier": {"de": "[früherer Jahrgang {cohort}: {student}]", "en": "[earlier cohort {cohort}: {student}]"},
    "similarity.cli_line": {
        "de": "{assignment}: {students} Abgaben, {pairs} Paare, {above} über der Linie ({clusters} Gruppen) in "
              "{seconds:.1f} s → {page}",
        "en": "{assignment}: {students} submissions, {pairs} pairs, {above} above the line ({clusters} clusters) in "
              "{seconds:.1f} s → {page}"},
    "similarity.cli_problem": {"de": "  {who}: {problem}", "en": "  {who}: {problem}"},
    "similarity.small_cohort": {
        "de": "Nur {students} Abgaben: Der Wert misst, wie ungewöhnlich ein Paar im Jahrgang ist, und braucht dafür "
              "mindestens {minimum}. Hier kann auch eine wörtliche Kopie unter der Linie bleiben; vergleichen Sie "
              "so wenige Abgaben selbst.",
        "en": "Only {students} submissions: the score measures how unusual a pair is in the cohort and needs at "
              "least {minimum} for that. Here even a verbatim copy may stay below the line; compare so few "
              "submissions yourself."},
    "similarity.cli_never_a_grade": {
        "de": "Ähnlichkeit ist keine Bewertung: Sehen Sie sich die Paare an, bevor Sie etwas schließen.",
        "en": "Similarity is not a grade: look at the pairs before concluding anything."},
    "similarity.problem.missing": {"de": "Datei fehlt", "en": "file missing"},
    "similarity.problem.not_regular": {"de": "keine reguläre Datei (Link, FIFO …), nicht gelesen",
                                       "en": "not a regular file (link, FIFO …), not read"},
    "similarity.problem.too_large": {"de": "zu groß ({mib:.1f} MiB, höchstens {limit:g} MiB), nicht gelesen",
                                     "en": "too large ({mib:.1f} MiB, at most {limit:g} MiB), not read"},
    "similarity.problem.empty_file": {"de": "leere Datei", "en": "empty file"},
    "similarity.problem.too_complex": {"de": "zu viele JSON-Werte, nicht gelesen",
                                       "en": "too many JSON values, not read"},
    "similarity.problem.not_json": {"de": "kein gültiges Notebook (kein JSON)", "en": "not a valid notebook (no JSON)"},
    "similarity.problem.no_cells": {"de": "Notebook ohne Zellen", "en": "notebook without cells"},
    "similarity.problem.no_notebook": {"de": "keine .ipynb-Datei abgegeben", "en": "no .ipynb file handed in"},
    "similarity.problem.cell_unreadable": {"de": "Zelle {cell}: Inhalt unlesbar, übergangen",
                                           "en": "cell {cell}: content unreadable, skipped"},
    "similarity.problem.cell_cut": {"de": "Zelle {cell}: {chars:,} Zeichen, nur die ersten {kept:,} verglichen",
                                    "en": "cell {cell}: {chars:,} characters, only the first {kept:,} compared"},
    "similarity.problem.cell_binary": {"de": "Zelle {cell}: Binärdaten ({chars:,} Steuerzeichen), nicht verglichen",
                                       "en": "cell {cell}: binary data ({chars:,} control characters), not compared"},
    "similarity.problem.document_cut": {"de": "sehr lang: nur die ersten {kept:,} Zeichen verglichen",
                                        "en": "very long: only the first {kept:,} characters compared"},
    "similarity.problem.too_little": {"de": "zu wenig eigene Arbeit zum Vergleichen",
                                      "en": "too little own work to compare"},
    "similarity.problem.no_own_work": {
        "de": "keine eigene Arbeit (nichts über die Vorlage hinaus); mit nichts verglichen",
        "en": "no own work (nothing beyond the release); compared with nothing"},
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


for _entries in (NOTES, OUTCOMES, FILES, FLAGS, REPORT, PAGE, FIGURES, FIGURE_CUTS, OVERVIEW, EXPORTS, COLLECT,
                 OUTPUTS, BATCH, RUN, SIMILARITY):
    register(_entries)
