"""The whole grade through the real formgrader (issue 22): a course folder as an instructor has it, a Jupyter
server started here on 127.0.0.1 (a free port, a token) with nbgrader's formgrader extension, and the HTTP calls
formgrader's page makes (``PUT /formgrader/api/grade/<id>`` and ``/comment/<id>`` with the ``_xsrf`` cookie in the
``X-CSRFToken`` header, ``POST /formgrader/api/submission/<a>/<student>/autograde`` for the ⚡ button).

The walk-through: Moodle archive in (submission times, a due date) → ``xaigrade grade`` → hand grades in formgrader
→ ``xaigrade feedback`` → a resubmission with a changed and an unchanged answer and one with fixed code →
regrade (re-flagged in formgrader, named by the run) → ``nbgrader generate_feedback`` without --force → the ⚡
button → resolving the flags → one total in gradebook, formgrader, pages, nbgrader's feedback, the grade CSV and the
Moodle worksheet in German and English (parsed back), and the feedback zip as Moodle's importer reads it; then
``--student`` and ``--secret``. Then a headless-Chromium screenshot of formgrader's submission page, and the
⚡ path (``NbGraderAPI.autograde``) against ``xaigrade grade`` on a full and a buggy submission.

Every wait is bounded (server start, requests, subprocesses); nothing is timed; the server is always stopped.
"""

from __future__ import annotations

import csv
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

from autograder.config import PROJECT_ROOT

EXAMPLES = PROJECT_ROOT / "examples" / "submissions"
XAIGRADE = str(Path(sys.executable).parent / "xaigrade")
NBGRADER = str(Path(sys.executable).parent / "nbgrader")
JUPYTER = str(Path(sys.executable).parent / "jupyter")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SECRET = "5e" * 32  # this course's secret (a fixed one: its hidden sets' references stay in the cache)
FOLDER = "_assignsubmission_file_"
START_SECONDS = 180  # hang guard: the server must answer within this
REQUEST_SECONDS = 60  # hang guard per HTTP call (the ⚡ call: AUTOGRADE_SECONDS)
AUTOGRADE_SECONDS = 900


def make_course(folder: Path) -> Path:
    """What an instructor has: sources, releases, the course's nbgrader_config.py (with the lines that send
    nbgrader's autograde to xaigrade), and the course secret."""
    folder.mkdir(parents=True)
    shutil.copytree(PROJECT_ROOT / "source" / "pdp", folder / "source" / "pdp")
    shutil.copytree(PROJECT_ROOT / "release" / "pdp", folder / "release" / "pdp")
    shutil.copy(PROJECT_ROOT / "nbgrader_config.py", folder)
    (folder / ".xaigrade").mkdir(mode=0o700)
    (folder / ".xaigrade" / "secret").write_text(SECRET + "\n")
    os.chmod(folder / ".xaigrade" / "secret", 0o600)
    return folder


def notebook(student: str):
    return nbformat.read(EXAMPLES / student / "pdp" / "pdp.ipynb", as_version=4)


def cell(nb, grade_id: str):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def archive(path: Path, entries: dict) -> Path:
    """Moodle's "Download all submissions" zip ("in folders"); each entry's date is the upload time."""
    with zipfile.ZipFile(path, "w") as handle:
        for name, (when, nb) in entries.items():
            handle.writestr(zipfile.ZipInfo(f"{name}{FOLDER}/pdp.ipynb", when), nbformat.writes(nb))
    return path


def xaigrade(course: Path, *args, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess:
    done = subprocess.run([XAIGRADE, *args], cwd=course, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    if check:
        assert done.returncode == 0, (args, done.stdout[-3000:], done.stderr[-3000:])
    return done


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Formgrader:
    """The calls formgrader's page makes, with its session (login cookie, ``_xsrf``)."""

    def __init__(self, base: str, token: str):
        import requests

        self.base, self.token = base, token
        self.session = requests.Session()
        # (formgrader's own handlers set the login cookie without a path; the login handler sets it for "/")
        self.get(f"/login?token={token}&next=%2Fformgrader")
        assert self.session.cookies.get("_xsrf")

    def get(self, path: str, **kw):
        response = self.session.get(self.base + path, timeout=REQUEST_SECONDS, **kw)
        response.raise_for_status()
        return response

    def _send(self, method: str, path: str, body=None, timeout=REQUEST_SECONDS):
        response = self.session.request(method, self.base + path, data=None if body is None else json.dumps(body),
                                        headers={"X-CSRFToken": self.session.cookies.get("_xsrf")}, timeout=timeout)
        response.raise_for_status()
        return response.json()

    def submissions(self) -> dict:
        return {n["student"]: n for n in self.get("/formgrader/api/submitted_notebooks/pdp/pdp").json()}

    def grades(self, student: str) -> dict:
        sid = self.submissions()[student]["id"]
        return {g["name"]: g for g in self.get("/formgrader/api/grades", params={"submission_id": sid}).json()}

    def comments(self, student: str) -> dict:
        sid = self.submissions()[student]["id"]
        return {c["name"]: c for c in self.get("/formgrader/api/comments", params={"submission_id": sid}).json()}

    def grade(self, student: str, name: str, manual, extra=None) -> dict:
        """The score box (or "Full credit"/"No credit", or "Resolve", which saves the score as it is)."""
        return self._send("PUT", f"/formgrader/api/grade/{self.grades(student)[name]['id']}",
                          {"manual_score": manual, "extra_credit": extra})

    def comment(self, student: str, name: str, words: str) -> dict:
        return self._send("PUT", f"/formgrader/api/comment/{self.comments(student)[name]['id']}",
                          {"manual_comment": words})

    def autograde(self, student: str) -> dict:
        """The ⚡ button on formgrader's "Manage submissions" page."""
        return self._send("POST", f"/formgrader/api/submission/pdp/{student}/autograde", timeout=AUTOGRADE_SECONDS)

    def state(self, student: str) -> dict:
        return {name: (g["auto_score"], g["manual_score"], g["needs_manual_grade"])
                for name, g in self.grades(student).items()}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """Three students from a Moodle archive, graded; Jörg handed in after the due date."""
    root = tmp_path_factory.mktemp("semester")
    course = make_course(root / "course")
    first = archive(root / "moodle-1.zip", {"Anna Schmidt_1001": ((2026, 1, 15, 22, 30, 0), notebook("full_solution")),
                                            "Jörg Müller_1002": ((2026, 1, 16, 9, 5, 0), notebook("buggy_axis")),
                                            "Eva Leer_1003": ((2026, 1, 14, 8, 0, 0), notebook("blank_release"))})
    collected = xaigrade(course, "collect", "pdp", str(first), "--timezone", "Europe/Berlin")
    assert "3 Abgaben übernommen, 0 Dateien/Abgaben nicht zugeordnet" in collected.stdout
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:  # (nbgrader db assignment add --duedate)
        gradebook.update_or_create_assignment("pdp", duedate="2026-01-16 00:00:00 Europe/Berlin")
    graded = xaigrade(course, "grade", "pdp")
    return {"root": root, "course": course, "first_grading": graded}


@pytest.fixture(scope="module")
def formgrader(course):
    """``jupyter server`` in the course folder (formgrader is its extension), on a free port with a token;
    stopped (its whole process group) whatever happens."""
    port, token = free_port(), secrets.token_hex(16)
    log = (course["root"] / "server.log").open("w")
    command = [JUPYTER, "server", "--no-browser", "--ip", "127.0.0.1", f"--port={port}",
               f"--ServerApp.token={token}", "--ServerApp.port_retries=0"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    server = subprocess.Popen(command, cwd=course["course"], stdout=log, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        import requests

        deadline = time.monotonic() + START_SECONDS
        while True:
            assert server.poll() is None, (course["root"] / "server.log").read_text()[-3000:]
            try:
                if requests.get(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=5).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "the Jupyter server did not answer within " \
                f"{START_SECONDS} s:\n{(course['root'] / 'server.log').read_text()[-3000:]}"
            time.sleep(0.2)  # (polling, not an assertion)
        yield {"base": f"http://127.0.0.1:{port}", "token": token, "client": Formgrader(f"http://127.0.0.1:{port}",
                                                                                           token)}
    finally:
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(server.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            server.wait(timeout=20)
        log.close()


def gradebook_totals(course: Path) -> dict:
    from autograder.nbgrader_bridge import hand_grades

    return {s: hand_grades(f"sqlite:///{course / 'gradebook.db'}", "pdp", s)["score"] for s in ("p1001", "p1002",
                                                                                                 "p1003")}


def page_total(path: Path) -> float:
    return float(BeautifulSoup(path.read_text(), "html.parser").select_one(".total")["data-score"])


def nbgrader_total(path: Path) -> float:
    """The total on nbgrader's feedback page: its first "Score: X / Y"."""
    return float(re.search(r"Score: ([0-9.]+) / ([0-9.]+)", path.read_text()).group(1))


def updated_by_nbgrader(output: str) -> set[str]:
    return set(re.findall(r"Updating existing assignment: \S+/feedback/(\w+)/pdp", output)) | \
        set(re.findall(r"Writing \d+ bytes to \S+/feedback/(\w+)/pdp/pdp.html", output))


def test_hand_grading_resubmission_regrade_and_the_moodle_round_trip(course, formgrader):
    folder, client = course["course"], formgrader["client"]

    # --- after the first grading: what waits for a hand grade is shown, blank answers are 0 already -------------
    first = course["first_grading"].stdout
    assert "Bewertung von Hand: pdp 8 Antwort(en) von 2 Studierenden offen" in first
    assert "jupyter lab --no-browser --ip 127.0.0.1 --port 8899" in first
    assert client.state("p1003")["answer_lstat"] == (0.0, None, False)  # Eva left the stub: 0, no hand grade
    assert client.comments("p1003")["answer_lstat"]["auto_comment"] == "Keine Antwort abgegeben."
    assert client.state("p1001")["answer_regions"] == (None, None, True)
    assert "offen von Hand" in xaigrade(folder, "overview").stdout
    listed = {s["student"]: s for s in client.get("/formgrader/api/submissions/pdp").json()}
    assert listed["p1002"]["timestamp"] == "2026-01-16T08:05:00"  # 9:05 in Berlin, from the archive
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{folder / 'gradebook.db'}") as gradebook:  # nbgrader's late handling
        assert gradebook.find_submission("pdp", "p1002").total_seconds_late == 8 * 3600 + 5 * 60 + 3600
        assert gradebook.find_submission("pdp", "p1001").total_seconds_late == 0
    refused = xaigrade(folder, "export", "pdp", "--moodle", "moodle.csv", check=False)
    assert refused.returncode != 0 and "--allow-incomplete" in refused.stderr and not (folder / "moodle.csv").exists()
    assert "p1001 (answer_lstat, answer_models, answer_pdp_lies, answer_regions)" in refused.stderr

    # plain nbgrader generate_feedback after xaigrade: made (no --force needed), then current
    made = subprocess.run([NBGRADER, "generate_feedback", "pdp"], cwd=folder, capture_output=True, text=True,
                          timeout=600)
    assert made.returncode == 0 and updated_by_nbgrader(made.stderr + made.stdout) == {"p1001", "p1002", "p1003"}
    again = subprocess.run([NBGRADER, "generate_feedback", "pdp"], cwd=folder, capture_output=True, text=True,
                           timeout=600)
    assert updated_by_nbgrader(again.stderr + again.stdout) == set() and "Skipping existing" in again.stderr
    page = (folder / "feedback" / "p1001" / "pdp" / "pdp.html").read_text()
    assert "Content-Security-Policy" in page  # (the configured post_convert_hook: our policy on nbgrader's pages)

    # --- hand grading in formgrader -------------------------------------------------------------------------------
    for student, scores in {"p1001": {"answer_lstat": 3, "answer_regions": 0, "answer_models": 4, "answer_pdp_lies": 3},
                            "p1002": {"answer_lstat": 1, "answer_regions": 1.5, "answer_models": 2,
                                      "answer_pdp_lies": 1}}.items():
        for name, score in scores.items():
            assert client.grade(student, name, score)["needs_manual_grade"] is False
    client.comment("p1001", "answer_regions", "Keine Antwort auf die Frage nach den Grenzen.")
    client.comment("p1002", "answer_lstat", "Ohne Zahlen.")
    client.grade("p1002", "test_pdp_1d", 2)  # an override of the autograded 1 of 4
    assert xaigrade(folder, "feedback").returncode == 0
    pages = {s: page_total(folder / "feedback" / s / "pdp" / "xaigrade.html") for s in ("p1001", "p1002", "p1003")}
    assert pages == gradebook_totals(folder) == {"p1001": 24.0, "p1002": 17.5, "p1003": 0.0}
    soup = BeautifulSoup((folder / "feedback" / "p1002" / "pdp" / "xaigrade.html").read_text(), "html.parser")
    assert "Ohne Zahlen." in soup.select_one("section.answer[data-cell=answer_lstat]").text
    assert soup.select_one("li.override[data-cell=test_pdp_1d]")
    assert nbgrader_total(folder / "feedback" / "p1002" / "pdp" / "pdp.html") == 17.5

    # --- resubmissions: Anna changes one answer and keeps the others; Jörg fixes his code, keeps his answers --------
    anna = notebook("full_solution")
    cell(anna, "answer_regions").source += "\n\nGrenzen: keine Kausalität, keine Aussage über Regionen ohne Daten."
    joerg = notebook("buggy_axis")
    full = notebook("full_solution")
    for name in ("partial_dependence_1d", "partial_dependence_2d"):
        cell(joerg, name).source = cell(full, name).source
    second = archive(course["root"] / "moodle-2.zip", {"Anna Schmidt_1001": ((2026, 1, 17, 10, 0, 0), anna),
                                                       "Jörg Müller_1002": ((2026, 1, 17, 11, 0, 0), joerg),
                                                       "Eva Leer_1003": ((2026, 1, 14, 8, 0, 0),
                                                                         notebook("blank_release"))})
    xaigrade(folder, "collect", "pdp", str(second), "--timezone", "Europe/Berlin")
    regrade = xaigrade(folder, "grade", "pdp").stdout
    assert "graded 2 submission(s)" in regrade  # Eva's notebook is the same: not graded again
    assert re.search(r"p1001 \(pdp\): answer_regions \(Antwort geändert; Ihre Bewertung 0 ist zur Prüfung", regrade)
    assert re.search(r"p1002 \(pdp\): test_pdp_1d \(automatisch jetzt 4 statt 1; Ihre Punkte 2 sind zur", regrade)
    anna_state, joerg_state = client.state("p1001"), client.state("p1002")
    assert anna_state["answer_regions"] == (None, 0.0, True)  # changed: flagged in formgrader, the grade still shown
    assert anna_state["answer_lstat"] == (None, 3.0, False) and anna_state["answer_models"] == (None, 4.0, False)
    assert joerg_state["test_pdp_1d"] == (4.0, 2.0, True)  # the override of a result that changed: flagged
    assert joerg_state["answer_lstat"] == (None, 1.0, False)  # his answers did not change: kept
    assert client.comments("p1002")["answer_lstat"]["manual_comment"] == "Ohne Zahlen."
    regenerated = subprocess.run([NBGRADER, "generate_feedback", "pdp"], cwd=folder, capture_output=True, text=True,
                                 timeout=600)
    assert updated_by_nbgrader(regenerated.stderr + regenerated.stdout) == {"p1001", "p1002"}  # current again

    # --- formgrader's ⚡ button grades with xaigrade: same scores, hand grades and pages kept ------------------------
    before = json.loads((folder / ".xaigrade" / "graded" / "p1002" / "pdp.json").read_text())["report"]
    pressed = client.autograde("p1002")
    assert pressed["success"], pressed.get("error")
    after = json.loads((folder / ".xaigrade" / "graded" / "p1002" / "pdp.json").read_text())["report"]
    strip = lambda report: {k: v for k, v in report.items()  # noqa: E731 - the checks, the set, the secret
                            if not k.startswith("_") or k in ("_hidden_set", "_secret")}
    assert strip(after) == strip(before) and after["_timings"]["warm_start"] in (0.0, 1.0)  # (ran in the sandbox)
    assert client.state("p1002") == joerg_state
    assert (folder / "autograded" / "p1002" / "pdp" / "xaigrade.html").exists()
    assert "graded 0 submission(s)" in xaigrade(folder, "grade", "pdp").stdout  # the button's grading counts

    # --- resolving the flags in formgrader: Anna's new answer graded, Jörg's override dropped ------------------------
    client.grade("p1001", "answer_regions", 3)
    client.comment("p1001", "answer_regions", "Jetzt vollständig.")
    client.grade("p1002", "test_pdp_1d", None)  # the autograded 4 of 4 counts again
    assert all(not flagged for student in ("p1001", "p1002", "p1003")
               for _, _, flagged in client.state(student).values())
    # formgrader's "Generate feedback" (nbgrader's generate_feedback): our page beside nbgrader's is renewed too
    made = client._send("POST", "/formgrader/api/assignment/pdp/p1002/generate_feedback", timeout=AUTOGRADE_SECONDS)
    assert made["success"], made.get("error")
    for page in (folder / "feedback" / "p1002" / "pdp" / "xaigrade.html",
                 folder / "autograded" / "p1002" / "pdp" / "xaigrade.html"):
        assert page_total(page) == 19.5
    assert nbgrader_total(folder / "feedback" / "p1002" / "pdp" / "pdp.html") == 19.5
    xaigrade(folder, "feedback")

    # --- one total everywhere ----------------------------------------------------------------------------------------
    totals = gradebook_totals(folder)
    assert totals == {"p1001": 27.0, "p1002": 19.5, "p1003": 0.0}
    formgrader_scores = {s: client.submissions()[s]["score"] for s in totals}
    exported = xaigrade(folder, "export", "pdp", "--csv", "grades.csv", "--moodle", "moodle-de.csv",
                        "--moodle-zip", "feedback.zip")
    assert "Antwort(en)" not in exported.stderr and "vorläufig" not in exported.stderr  # nothing provisional
    xaigrade(folder, "export", "pdp", "--moodle", "moodle-en.csv", "--moodle-language", "en")
    from autograder.exports import MOODLE_STRINGS, moodle_columns, parse_moodle_number

    grades_csv = {row["student_id"]: row for row in csv.DictReader((folder / "grades.csv").open(encoding="utf-8"))}
    worksheets = {}
    for language in ("de", "en"):
        with (folder / f"moodle-{language}.csv").open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            assert reader.fieldnames == moodle_columns(language)
            worksheets[language] = {row[MOODLE_STRINGS[language]["recordid"]]: row for row in reader}
    participant = {"p1001": "1001", "p1002": "1002", "p1003": "1003"}
    for student, total in totals.items():
        assert formgrader_scores[student] == total
        assert float(grades_csv[student]["pdp"]) == total and grades_csv[student]["hand_grades_pending"] == ""
        for language, rows in worksheets.items():
            strings = MOODLE_STRINGS[language]
            row = rows[strings["hiddenuser"] + participant[student]]
            assert parse_moodle_number(row[strings["gradenoun"]], language) == total
            assert not row[strings["feedbackcomments"]].startswith(("<p>Vorläufig", "<p>Provisional"))
        assert page_total(folder / "feedback" / student / "pdp" / "xaigrade.html") == total
        assert nbgrader_total(folder / "feedback" / student / "pdp" / "pdp.html") == total
    anna_de = worksheets["de"]["Teilnehmer/in1001"]
    assert "Frage 2 (3 Punkte): Regionen des 2-D-PDP: 3 von 3 Punkten – Jetzt vollständig." in \
        anna_de["Feedback als Kommentar"]
    assert anna_de["Zuletzt geändert (Abgabe)"].startswith("Samstag, 17. Januar 2026")
    assert worksheets["en"]["Participant1002"]["Last modified (submission)"].startswith("Saturday, 17 January 2026")

    # the feedback zip, read as Moodle's importer reads it (tests/test_hand_grades.py: the importer's rule in Python)
    from test_hand_grades import moodle_participant

    with zipfile.ZipFile(folder / "feedback.zip") as handle:
        names = handle.namelist()
        by_student = {}
        for name in names:
            found = moodle_participant(name, set(participant.values()))
            assert found is not None and found[1] == "assignfeedback_file", name
            by_student.setdefault(found[0], set()).add(found[2])
        assert by_student == {pid: {"/xaigrade.html", "/pdp.html"} for pid in participant.values()}
        zipped = handle.read("Anna Schmidt_1001_assignfeedback_file_/xaigrade.html").decode()
    assert float(BeautifulSoup(zipped, "html.parser").select_one(".total")["data-score"]) == 27.0

    # --- one student regraded (nbgrader's --student), and the next plain run grades nobody again -------------------
    single = xaigrade(folder, "grade", "pdp", "--student", "p1003").stdout
    assert "graded 1 submission(s)" in single and "p1003" in single and "p1001" not in single
    assert "graded 0 submission(s)" in xaigrade(folder, "grade", "pdp").stdout

    # --- semesters: an archived secret, its fingerprint in every report, a warning naming who moves -----------------
    archived = course["root"] / "archive-ws2025" / "secret"
    archived.parent.mkdir()
    archived.write_text("77" * 32 + "\n")
    moved = xaigrade(folder, "grade", "pdp", "--student", "p1001", "--secret", str(archived))
    from autograder.secret import fingerprint

    new, old = fingerprint(("77" * 32).encode()), fingerprint(SECRET.encode())
    assert f"ACHTUNG: 1 Abgabe(n) wurden zuletzt mit einem anderen Kursgeheimnis bewertet (Fingerabdruck {old})" \
        in moved.stderr and re.search(r"p1001 \(pdp\): Satz \d/8 → Satz \d/8", moved.stderr)
    state = json.loads((folder / ".xaigrade" / "graded" / "p1001" / "pdp.json").read_text())
    assert state["secret"] == state["report"]["_secret"] == new and SECRET not in json.dumps(state)
    kept = xaigrade(folder, "grade", "pdp")  # the course secret again: p1001 is not regraded, but named
    assert f"stammen von einem anderen Kursgeheimnis (Fingerabdruck {new})" in kept.stderr and "p1001 (pdp)" in \
        kept.stderr


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (.ci/run installs it)")
def test_formgraders_submission_page_after_xaigrade_in_headless_chromium(course, formgrader, tmp_path):
    """formgrader's page of Jörg's autograded notebook, loaded by Chromium as the instructor's browser would (logged
    in, formgrader's scripts fetching the grades): xaigrade's link cell on top, the test cells' verdict lines, the
    score boxes of the answer cells, a flagged cell marked by formgrader's script."""
    client = formgrader["client"]
    client.grade("p1002", "answer_models", None)  # waits for a hand grade again: formgrader marks its box
    submission = client.submissions()["p1002"]["id"]
    target = f"/formgrader/submissions/{submission}/"
    url = f"{formgrader['base']}/login?token={formgrader['token']}&next={target.replace('/', '%2F')}"
    common = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--virtual-time-budget=10000"]
    shot = tmp_path / "formgrader.png"
    done = subprocess.run([*common, f"--user-data-dir={tmp_path / 'profile-1'}", "--window-size=1300,4200",
                           f"--screenshot={shot}", url], capture_output=True, text=True, timeout=180)
    assert shot.exists() and shot.stat().st_size > 50_000, done.stderr[-2000:]
    dom = subprocess.run([*common, f"--user-data-dir={tmp_path / 'profile-2'}", "--dump-dom", url],
                         capture_output=True, text=True, timeout=180).stdout
    page = BeautifulSoup(dom, "html.parser")
    assert page.find("a", href="xaigrade.html")  # the link cell xaigrade puts first
    assert "pdp_1d.linear_exact" in page.text and "✔ 2/2  pdp_2d.values" in page.text  # xaigrade's verdicts
    boxes = {box["id"]: box for box in page.select("input.score")}
    assert set(boxes) == {"test_pdp_1d", "test_pdp_2d", "test_ice", "test_ale", "answer_lstat", "answer_regions",
                          "answer_models", "answer_pdp_lies"}
    assert "needs_manual_grade" in boxes["answer_models"]["class"]  # set by formgrader's script from the API
    assert "needs_manual_grade" not in boxes["answer_lstat"]["class"]
    assert not re.search(r"Traceback|FileNotFoundError|public_checks.npz fehlt", page.text)
    keep = os.environ.get("XAIGRADE_KEEP_SCREENSHOT")  # (to look at it: the path to copy it to)
    if keep:
        shutil.copy(shot, keep)
    from PIL import Image

    pixels = Image.open(shot).convert("L")
    assert pixels.size == (1300, 4200) and len(set(pixels.resize((65, 210)).getdata())) > 20  # not blank


# --- the ⚡ path without a server: NbGraderAPI.autograde gives xaigrade's scores -------------------------------------

def _nbgrader_api(course: Path, config=None):
    from nbgrader.apps import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader

    config = config or PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    config.CourseDirectory.root = str(course)
    return NbGraderAPI(config=config)


def test_the_autograde_button_path_gives_xaigrades_scores_on_a_full_and_a_buggy_submission(tmp_path, monkeypatch):
    course = make_course(tmp_path / "course")
    for student in ("full_solution", "buggy_transposed"):
        shutil.copytree(EXAMPLES / student / "pdp", course / "submitted" / student / "pdp")
    xaigrade(course, "grade", "pdp")
    db = f"sqlite:///{course / 'gradebook.db'}"
    from autograder.nbgrader_bridge import hand_grades

    graded = {s: json.loads((course / ".xaigrade" / "graded" / s / "pdp.json").read_text())["report"]
              for s in ("full_solution", "buggy_transposed")}
    scores = {s: {n: g["score"] for n, g in hand_grades(db, "pdp", s)["grades"].items()} for s in graded}
    assert scores["full_solution"]["test_pdp_2d"] == 4 and scores["buggy_transposed"]["test_pdp_2d"] < 4
    monkeypatch.chdir(course)  # (formgrader runs in the course folder)
    for student in graded:
        outcome = _nbgrader_api(course).autograde("pdp", student)
        assert outcome["success"], outcome.get("error") or outcome.get("log")
        again = json.loads((course / ".xaigrade" / "graded" / student / "pdp.json").read_text())["report"]
        assert {k: v for k, v in again.items() if not k.startswith("_")} == \
            {k: v for k, v in graded[student].items() if not k.startswith("_")}
        assert again["_hidden_set"] == graded[student]["_hidden_set"]  # the student's hidden set, in the sandbox
        assert {n: g["score"] for n, g in hand_grades(db, "pdp", student)["grades"].items()} == scores[student]
        autograded = nbformat.read(course / "autograded" / student / "pdp" / "pdp.ipynb", as_version=4)
        lines = "".join(o.get("text", "") for o in cell(autograded, "test_pdp_2d").outputs)
        assert ("✘" in lines) == (student == "buggy_transposed") and "public_checks.npz" not in lines
        assert (course / "autograded" / student / "pdp" / "xaigrade.html").exists()


def test_without_the_configuration_nbgraders_own_autograde_zeroes_a_full_solution(tmp_path, monkeypatch):
    """Control: the same button with nbgrader's default autograde (the lines in nbgrader_config.py removed) runs the
    notebook in this process, unsandboxed, and the full solution scores 0 (its self-check data is not beside the
    notebook). This is what the configuration prevents."""
    from nbgrader.api import Gradebook
    from traitlets.config.loader import PyFileConfigLoader

    course = make_course(tmp_path / "course")
    shutil.copytree(EXAMPLES / "full_solution" / "pdp", course / "submitted" / "full_solution" / "pdp")
    xaigrade(course, "grade", "pdp")
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    config.pop("Autograde")  # nbgrader's own sanitize/execute pipeline
    config.Execute.timeout = 120
    monkeypatch.chdir(course)
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    outcome = _nbgrader_api(course, config).autograde("pdp", "full_solution")
    assert outcome["success"]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission("pdp", "full_solution")
        assert submission.code_score == 0  # every test cell failed
    assert not (course / "autograded" / "full_solution" / "pdp" / "xaigrade.html").exists()  # our page deleted


@pytest.mark.skipif(not os.access("/var/lib", os.W_OK), reason="needs a folder outside those the sandbox always covers")
def test_an_archived_secret_is_hidden_from_the_submission_like_the_course_secret(tmp_path, monkeypatch):
    """``--secret FILE``: the sandbox covers the archive's folder as it covers ``.xaigrade/``. The file is even
    world-readable here, in a folder the sandbox does not cover by itself (not /tmp, $HOME, the project or
    /dev/shm: below /var/lib, removed afterwards). A submission that tries to print it gets an error; the control
    (the folder not covered) shows the test would see a leak."""
    from autograder import batch
    from autograder.batch import Layout, grade_batch
    from autograder.config import load_settings

    course = make_course(tmp_path / "course")
    spy = notebook("full_solution")
    archive_dir = Path(f"/var/lib/xaigrade-test-archive-{secrets.token_hex(4)}")
    archive_dir.mkdir()
    try:
        secret_file = archive_dir / "secret"
        secret_file.write_text("99" * 32 + "\n")
        os.chmod(secret_file, 0o644)
        probe = nbformat.v4.new_code_cell(f"try:\n    print('READ:', open({str(secret_file)!r}).read())\n"
                                          "except Exception as error:\n    print('REFUSED:', type(error).__name__)")
        spy.cells.insert(1, probe)
        (course / "submitted" / "spy" / "pdp").mkdir(parents=True)
        nbformat.write(spy, str(course / "submitted" / "spy" / "pdp" / "pdp.ipynb"))
        layout = Layout(course, course / "submitted", course)
        settings = load_settings(course)

        def printed() -> str:
            autograded = nbformat.read(course / "autograded" / "spy" / "pdp" / "pdp.ipynb", as_version=4)
            return "".join(o.get("text", "") for c in autograded.cells if c.cell_type == "code"
                           for o in c.get("outputs", []))

        grade_batch(["pdp"], layout, settings, students=["spy"], secret_file=secret_file)
        assert "REFUSED:" in printed() and "99" * 32 not in printed()
        monkeypatch.setattr(batch, "archive_folder", lambda _: tmp_path / "not-the-archive")  # (control)
        grade_batch(["pdp"], layout, settings, students=["spy"], secret_file=secret_file)
        assert "READ: " + "99" * 32 in printed()
    finally:
        shutil.rmtree(archive_dir, ignore_errors=True)
