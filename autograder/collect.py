"""`xaigrade collect ASSIGNMENT ZIP`: Moodle's "Download all submissions" archive into
``submitted/<student>/<assignment>/<assignment>.ipynb``.

Own extraction instead of nbgrader's ``zip_collect``: zip_collect keeps the file name the student
chose as the notebook name (Moodle passes it through: "Abgabe_final(2).ipynb"), copies every
notebook of a student side by side, takes student ids only from a regular expression on the file
name (no mapping file, no Moodle names), does not open a zip inside a submission and only logs
what it skips. Here each student gets exactly one notebook under the assignment's name or a line
in the report saying why not, and the gradebook learns the student's name and Moodle participant id
(``lms_user_id``), which the Moodle grade export needs for its "Participant <id>" identifiers.

Archive layout (Moodle 3.x/4.x): ``<Full Name>_<participant id>_assignsubmission_file_/<file>`` with
"Download submissions in folders", ``<Full Name>_<participant id>_assignsubmission_file_<file>``
without; online text as ``..._assignsubmission_onlinetext_...``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import nbformat

from .nbgrader_bridge import grade_cells

ENTRY = re.compile(r"^(?P<name>.+?)_(?P<pid>\d+)_(?P<plugin>assignsubmission_[a-z]+|onlinetext)_(?P<rest>.*)$")
MAX_MEMBER_BYTES = 200 * 2**20  # a notebook larger than this is not a submission (zip bombs)
IGNORED = ("__MACOSX/", ".ipynb_checkpoints/", ".DS_Store", "Thumbs.db")

TEXT = {
    "placed": {"de": "{student} ({name}, Teilnehmer {pid}): {source} → {target}",
               "en": "{student} ({name}, participant {pid}): {source} → {target}"},
    "unchanged": {"de": "{student}: unverändert ({source})", "en": "{student}: unchanged ({source})"},
    "not_notebook": {"de": "{source}: keine Notebook-Datei (.ipynb) – nicht übernommen",
                     "en": "{source}: not a notebook (.ipynb) – not placed"},
    "two_notebooks": {"de": "{name} (Teilnehmer {pid}): mehrere Notebooks ({files}) – keines übernommen, bitte von Hand wählen",
                      "en": "{name} (participant {pid}): several notebooks ({files}) – none placed, please choose by hand"},
    "wrong_assignment": {"de": "{source}: gehört nicht zur Aufgabe {assignment} (keine ihrer Zellen gefunden) – nicht übernommen",
                         "en": "{source}: does not belong to assignment {assignment} (none of its cells found) – not placed"},
    "unknown_entry": {"de": "{source}: kein Moodle-Abgabename (<Name>_<ID>_assignsubmission_…) – nicht zuzuordnen",
                      "en": "{source}: not a Moodle submission name (<name>_<id>_assignsubmission_…) – cannot be placed"},
    "unmapped": {"de": "{name} (Teilnehmer {pid}): nicht in der Zuordnungsdatei – nicht übernommen",
                 "en": "{name} (participant {pid}): not in the mapping file – not placed"},
    "bad_zip": {"de": "{source}: beschädigtes ZIP-Archiv ({error})", "en": "{source}: broken zip archive ({error})"},
    "too_large": {"de": "{source}: größer als {mb} MiB – nicht übernommen", "en": "{source}: larger than {mb} MiB – not placed"},
    "summary": {"de": "{placed} Abgaben übernommen, {problems} Dateien/Abgaben nicht zugeordnet",
                "en": "{placed} submissions placed, {problems} files/submissions not placed"},
    "new_students": {"de": "neu im Gradebook: {students}", "en": "new in the gradebook: {students}"},
}


def text(key: str, language: str = "de", **params) -> str:
    entry = TEXT[key]
    return (entry.get(language) or entry["de"]).format(**params)


@dataclass
class Problem:
    key: str
    params: dict

    def render(self, language: str = "de") -> str:
        return text(self.key, language, **self.params)


@dataclass
class CollectReport:
    placed: list = field(default_factory=list)  # (student, name, pid, source, target)
    unchanged: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    new_students: list = field(default_factory=list)

    def lines(self, language: str = "de") -> list[str]:
        lines = [text("placed", language, student=s, name=n, pid=p, source=src, target=t)
                 for s, n, p, src, t in self.placed]
        lines += [text("unchanged", language, student=s, source=src) for s, src in self.unchanged]
        lines += ["✘ " + problem.render(language) for problem in self.problems]
        if self.new_students:
            lines.append(text("new_students", language, students=", ".join(self.new_students)))
        lines.append(text("summary", language, placed=len(self.placed) + len(self.unchanged),
                          problems=len(self.problems)))
        return lines


def slug(name: str) -> str:
    """'Jörg Müller-Lüdenscheidt' -> 'joerg_mueller_luedenscheidt' (a valid nbgrader student id)."""
    for umlaut, plain in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("Ä", "Ae"), ("Ö", "Oe"), ("Ü", "Ue"), ("ß", "ss")):
        name = name.replace(umlaut, plain)
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_") or "student"


def read_mapping(path: Path) -> dict:
    """CSV with a ``student_id`` column and a ``participant`` (Moodle participant id) or ``name`` column."""
    mapping = {}
    with Path(path).open(newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
            student = row.get("student_id")
            if not student:
                continue
            participant = row.get("participant") or row.get("participant_id") or row.get("identifier", "")
            participant = participant.removeprefix("Participant ").strip()
            if participant:
                mapping[("pid", participant)] = student
            if row.get("name"):
                mapping[("name", row["name"].casefold())] = student
    return mapping


def _members(archive: zipfile.ZipFile, prefix: str, report: CollectReport, depth: int = 0):
    """(path in archive, bytes) of every file, with zips inside expanded (one level per depth, at most 3)."""
    for info in archive.infolist():
        if info.is_dir() or any(part in info.filename for part in IGNORED):
            continue
        source = f"{prefix}{info.filename}"
        if info.file_size > MAX_MEMBER_BYTES:
            report.problems.append(Problem("too_large", {"source": source, "mb": MAX_MEMBER_BYTES // 2**20}))
            continue
        data = archive.read(info)
        if info.filename.lower().endswith(".zip") and depth < 3:
            try:
                with zipfile.ZipFile(io.BytesIO(data)) as inner:
                    for name, inner_data in _members(inner, f"{source}!/", report, depth + 1):
                        yield f"{info.filename}!/{name}", inner_data
            except zipfile.BadZipFile as error:
                report.problems.append(Problem("bad_zip", {"source": source, "error": error}))
            continue
        yield info.filename, data


def _belongs(data: bytes, release_cells: set) -> bool | None:
    """Does the notebook have cells of the assignment? None when it cannot be read (the grader explains that)."""
    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception:  # not JSON, not a notebook: the grader's message tells the student
        return None
    return bool(set(grade_cells(nb)) & release_cells)


def collect(assignment: str, archive_path: Path, submissions: Path, release_notebook: Path, db_url: str | None = None,
            mapping: dict | None = None, ids: str = "participant") -> CollectReport:
    """Place every student's notebook. Student ids: from ``mapping`` (participant id or full name) when
    given, else ``ids``: 'participant' -> p<id>, 'name' -> slug of the full name."""
    report = CollectReport()
    release_cells = set(grade_cells(nbformat.read(str(release_notebook), as_version=4)))
    per_student: dict = {}  # (pid, name) -> [(source, bytes)]
    with zipfile.ZipFile(archive_path) as archive:
        for source, data in _members(archive, "", report):
            top = PurePosixPath(source.split("!/")[0]).parts[0]
            match = ENTRY.match(top)
            if not match:
                report.problems.append(Problem("unknown_entry", {"source": source}))
                continue
            # the name the student gave the file: Moodle prefixes it in flat archives
            own = PurePosixPath(source.split("!/")[-1]).name if ("/" in source) else match["rest"]
            per_student.setdefault((match["pid"], match["name"]), []).append((source, own, data))
    students = {}
    for (pid, name), files in sorted(per_student.items(), key=lambda item: item[0][1]):
        student = (mapping or {}).get(("pid", pid)) or (mapping or {}).get(("name", name.casefold()))
        if student is None and mapping:  # a mapping was given: a student missing from it is a question
            report.problems.append(Problem("unmapped", {"name": name, "pid": pid}))
            continue
        student = student or (slug(name) if ids == "name" else f"p{pid}")
        notebooks = []
        for source, own, data in files:
            if not own.lower().endswith(".ipynb"):
                report.problems.append(Problem("not_notebook", {"source": source}))
            elif _belongs(data, release_cells) is False:
                report.problems.append(Problem("wrong_assignment", {"source": source, "assignment": assignment}))
            else:
                notebooks.append((source, own, data))
        if not notebooks:  # each of the student's files already has its line in the report
            continue
        if len(notebooks) > 1:
            exact = [n for n in notebooks if n[1] == f"{assignment}.ipynb"]
            if len(exact) != 1:
                report.problems.append(Problem("two_notebooks", {"name": name, "pid": pid,
                                                                 "files": ", ".join(o for _, o, _ in notebooks)}))
                continue
            notebooks = exact
        source, _, data = notebooks[0]
        target = Path(submissions) / student / assignment / f"{assignment}.ipynb"
        if target.exists() and target.read_bytes() == data:
            report.unchanged.append((student, source))  # same bytes: keep the file, so it is not regraded
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            for other in target.parent.glob("*.ipynb"):
                other.unlink()  # one notebook per folder: the grader must not pick an old one
            target.write_bytes(data)
            report.placed.append((student, name, pid, source, str(target)))
        students[student] = (name, pid)
    if db_url and students:
        report.new_students = _register_students(db_url, students)
    return report


def _register_students(db_url: str, students: dict) -> list[str]:
    from nbgrader.api import Gradebook, MissingEntry

    from .nbgrader_bridge import _venv_on_path

    new = []
    with _venv_on_path(), Gradebook(db_url) as gradebook:
        for student, (name, pid) in sorted(students.items()):
            try:
                gradebook.find_student(student)
            except MissingEntry:
                new.append(student)
            first, _, last = name.rpartition(" ")
            gradebook.update_or_create_student(student, first_name=first or name, last_name=last if first else "",
                                               lms_user_id=pid)
    return new


def report_json(report: CollectReport, language: str = "de") -> str:
    return json.dumps({"placed": [p[0] for p in report.placed], "unchanged": [u[0] for u in report.unchanged],
                       "problems": [p.render(language) for p in report.problems]}, ensure_ascii=False, indent=1)
