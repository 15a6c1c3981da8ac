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

Submission times: Moodle packs each stored file with PHP's ``ZipArchive::addFile`` (lib/filestorage/zip_archive.php,
``add_file_from_pathname``), so an entry's date is the modification time of the file's content in Moodle's file
store, i.e. when that content was uploaded, in the Moodle server's local time (zip dates carry no zone:
``--timezone``, default this machine's). Each placed notebook gets it as nbgrader's ``timestamp.txt`` beside it, and
the gradebook's submission its time, so nbgrader's late handling (due date, ``total_seconds_late``, the late
penalty plugin) works for ``xaigrade grade`` and ``nbgrader autograde`` alike. A notebook from a zip inside a
submission takes the date of that zip's entry (the dates inside come from the student's computer).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import tempfile
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import nbformat

from .messages import text
from .nbgrader_bridge import grade_cells

ENTRY = re.compile(r"^(?P<name>.+?)_(?P<pid>\d+)_(?P<plugin>assignsubmission_[a-z]+|onlinetext)_(?P<rest>.*)$")
# The archive's content comes from students: everything read from it is bounded, whatever its
# headers claim (an 8 KiB archive of nested zips used to cost 2.6 GiB). What is not read gets a line.
MAX_MEMBER_BYTES = 64 * 2**20  # an inner zip larger than this, decompressed, is not opened
MAX_TOTAL_BYTES = 2 * 2**30  # decompressed bytes read from the whole archive, inner zips included
MAX_MEMBERS = 5_000  # entries of the whole archive, inner zips included
MAX_DEPTH = 3  # zips inside zips opened
CHUNK = 2**20
IGNORED = ("__MACOSX/", ".ipynb_checkpoints/", ".DS_Store", "Thumbs.db")

@dataclass
class Problem:
    key: str
    params: dict

    def render(self, language: str = "de") -> str:
        return text(f"collect.{self.key}", language, **self.params)


@dataclass
class CollectReport:
    placed: list = field(default_factory=list)  # (student, name, pid, source, target)
    times: dict = field(default_factory=dict)  # student -> submission time (naive UTC) from the archive
    unchanged: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    new_students: list = field(default_factory=list)
    ignored: list = field(default_factory=list)  # system files (IGNORED): not placed, one line for all

    def lines(self, language: str = "de") -> list[str]:
        lines = [text("collect.placed", language, student=s, name=n, pid=p, source=src, target=t)
                 for s, n, p, src, t in self.placed]
        lines += [text("collect.unchanged", language, student=s, source=src) for s, src in self.unchanged]
        lines += ["✘ " + problem.render(language) for problem in self.problems]
        if self.ignored:
            shown = ", ".join(self.ignored[:5]) + (", …" if len(self.ignored) > 5 else "")
            lines.append(text("collect.ignored", language, count=len(self.ignored), files=shown))
        if self.new_students:
            lines.append(text("collect.new_students", language, students=", ".join(self.new_students)))
        lines.append(text("collect.summary", language, placed=len(self.placed) + len(self.unchanged),
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


class _Stop(Exception):
    """Reading the archive ends here (too many entries, too many bytes); the report says why."""


@dataclass
class _Budget:
    members: int = 0
    bytes_read: int = 0
    notebook_bytes: int = 20 * 2**20


def _printable(name: str) -> str:
    """A member name fit for a report line (no terminal control characters)."""
    return "".join(c if c.isprintable() else "?" for c in name)[:300]


def _unsafe(name: str) -> bool:
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return name.startswith(("/", "\\")) or bool(re.match(r"^[A-Za-z]:", name)) or ".." in parts or "\0" in name


def _entry_count(fileobj) -> int | None:
    """Entries the archive's end record announces (read before zipfile builds one object per entry)."""
    try:
        record = zipfile._EndRecData(fileobj)  # noqa: SLF001 - the stdlib's own reader of that record
    except (OSError, ValueError, AttributeError):
        return None
    return None if not record else int(record[zipfile._ECD_ENTRIES_TOTAL])  # noqa: SLF001


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, budget: _Budget, sink) -> bool:
    """Decompress ``info`` in chunks into ``sink`` (a write function); False when it is larger than
    ``cap`` (counted as it is read: the sizes in the headers are not trusted)."""
    size = 0
    with archive.open(info) as handle:
        while True:
            chunk = handle.read(min(CHUNK, cap + 1 - size))
            if not chunk:
                return True
            size += len(chunk)
            budget.bytes_read += len(chunk)
            if budget.bytes_read > MAX_TOTAL_BYTES:
                raise _Stop("archive_too_large")
            if size > cap:
                return False
            sink(chunk)


def _members(archive: zipfile.ZipFile, prefix: str, report: CollectReport, spool: Path, budget: _Budget,
             depth: int = 0, outer_time=None):
    """(path in archive, file on disk or None, the top-level entry's date) of every entry; notebooks are unpacked
    into ``spool``
    (at most ``budget.notebook_bytes`` each), zips inside are opened (at most ``MAX_DEPTH`` deep),
    other files are not read (they only get their line in the report)."""
    for info in archive.infolist():
        budget.members += 1
        if budget.members > MAX_MEMBERS:
            raise _Stop("members_stop")
        if info.is_dir():
            continue
        source = _printable(f"{prefix}{info.filename}")
        when = outer_time if depth else info.date_time
        if any(part in info.filename for part in IGNORED):
            report.ignored.append(source)
            continue
        if _unsafe(info.filename):
            report.problems.append(Problem("unsafe_name", {"source": source}))
            continue
        lower = info.filename.lower()
        try:
            if lower.endswith(".zip"):
                if depth >= MAX_DEPTH:
                    report.problems.append(Problem("too_deep", {"source": source, "depth": MAX_DEPTH}))
                    continue
                buffer = io.BytesIO()
                if not _read_member(archive, info, MAX_MEMBER_BYTES, budget, buffer.write):
                    report.problems.append(Problem("too_large", {"source": source, "mb": MAX_MEMBER_BYTES // 2**20}))
                    continue
                announced = _entry_count(buffer)
                if announced is not None and budget.members + announced > MAX_MEMBERS:  # not opened
                    report.problems.append(Problem("too_many_members", {"source": source, "count": MAX_MEMBERS,
                                                                        "entries": announced}))
                    continue
                with zipfile.ZipFile(buffer) as inner:
                    for name, path, _ in _members(inner, f"{source}!/", report, spool, budget, depth + 1, when):
                        yield f"{info.filename}!/{name}", path, when
                continue
            if not lower.endswith(".ipynb"):
                yield info.filename, None, when  # not read: it is not placed anyway
                continue
            path = spool / f"{budget.members}.ipynb"
            with path.open("wb") as handle:
                complete = _read_member(archive, info, budget.notebook_bytes, budget, handle.write)
            if not complete:
                path.unlink()
                report.problems.append(Problem("too_large", {"source": source, "mb": budget.notebook_bytes // 2**20}))
                continue
            yield info.filename, path, when
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError,
                OSError) as error:  # broken, encrypted or of an unknown compression
            report.problems.append(Problem("bad_zip", {"source": source, "error": str(error)[:200]}))


def _belongs(path: Path, release_cells: set) -> bool | None:
    """Does the notebook have cells of the assignment? None when it cannot be read (the grader explains that)."""
    from .safe_outputs import parse_notebook_json, read_student_file

    try:
        data = read_student_file(path, 2**31)  # (our own spool file, already bounded)
        parse_notebook_json(data)  # junk is refused before nbformat builds it
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception:  # not JSON, not a notebook, too large: the grader's message tells the student
        return None
    return bool(set(grade_cells(nb)) & release_cells)


def collect(assignment: str, archive_path: Path, submissions: Path, release_notebook: Path, db_url: str | None = None,
            mapping: dict | None = None, ids: str = "participant", max_notebook_mb: int | None = None,
            timezone: str | None = None) -> CollectReport:
    """Place every student's notebook. Student ids: from ``mapping`` (participant id or full name) when
    given, else ``ids``: 'participant' -> p<id>, 'name' -> slug of the full name. Notebooks over
    ``max_notebook_mb`` (default: the setting's default) are not placed (and reported). Each placed
    notebook's submission time (its entry's date, read in ``timezone``, an IANA name; default: local time)
    goes into ``timestamp.txt`` beside it and into the gradebook."""
    with tempfile.TemporaryDirectory(prefix="xaigrade-collect-") as spool:
        return _collect(assignment, archive_path, submissions, release_notebook, db_url, mapping, ids, Path(spool),
                        max_notebook_mb, timezone)


def entry_time(date_time, timezone: str | None = None):
    """A zip entry's date (local time of the archive's maker) as naive UTC, nbgrader's convention; None when the
    date is no valid time."""
    import datetime as dt

    try:
        local = dt.datetime(*date_time)
    except (TypeError, ValueError):
        return None
    if timezone:
        from zoneinfo import ZoneInfo

        aware = local.replace(tzinfo=ZoneInfo(timezone))
    else:
        aware = local.astimezone()  # (this machine's zone, daylight saving included)
    return aware.astimezone(dt.timezone.utc).replace(tzinfo=None)


def _write_timestamp(folder: Path, when) -> None:
    """nbgrader's ``timestamp.txt`` (``CourseDirectory.get_existing_timestamp`` reads it with ``parse_utc``)."""
    path = folder / "timestamp.txt"
    if os.path.lexists(path):
        path.unlink()  # (never written through a link)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    with os.fdopen(fd, "w") as handle:
        handle.write(f"{when:%Y-%m-%d %H:%M:%S.%f} UTC\n")


def _collect(assignment, archive_path, submissions, release_notebook, db_url, mapping, ids, spool: Path,
             max_notebook_mb: int | None = None, timezone: str | None = None) -> CollectReport:
    from .config import XaiGrade

    report = CollectReport()
    release_cells = set(grade_cells(nbformat.read(str(release_notebook), as_version=4)))
    per_student: dict = {}  # (pid, name) -> [(source, own name, unpacked notebook or None)]
    limit_mb = max_notebook_mb or XaiGrade.class_traits()["max_notebook_mb"].default_value
    budget = _Budget(notebook_bytes=limit_mb * 2**20)
    with open(archive_path, "rb") as handle:
        announced = _entry_count(handle)
    if announced is not None and announced > MAX_MEMBERS:  # (zipfile would build an object per entry)
        report.problems.append(Problem("too_many_members", {"source": _printable(Path(archive_path).name),
                                                            "count": MAX_MEMBERS, "entries": announced}))
        return report
    with zipfile.ZipFile(archive_path) as archive:
        members = []
        try:
            for member in _members(archive, "", report, spool, budget):
                members.append(member)
        except _Stop as stop:  # one line for all that was not read
            report.problems.append(Problem(stop.args[0], {"source": _printable(Path(archive_path).name),
                                                          "count": MAX_MEMBERS, "mb": MAX_TOTAL_BYTES // 2**20}))
        for source, data, when in members:
            source = _printable(source)
            top = PurePosixPath(source.split("!/")[0]).parts[0]
            match = ENTRY.match(top)
            if not match:
                report.problems.append(Problem("unknown_entry", {"source": source}))
                continue
            # the name the student gave the file: Moodle prefixes it in flat archives
            own = PurePosixPath(source.split("!/")[-1]).name if ("/" in source) else match["rest"]
            per_student.setdefault((match["pid"], match["name"]), []).append((source, own, data,
                                                                              entry_time(when, timezone)))
    students = {}
    for (pid, name), files in sorted(per_student.items(), key=lambda item: item[0][1]):
        student = (mapping or {}).get(("pid", pid)) or (mapping or {}).get(("name", name.casefold()))
        if student is None and mapping:  # a mapping was given: a student missing from it is a question
            report.problems.append(Problem("unmapped", {"name": name, "pid": pid}))
            continue
        student = student or (slug(name) if ids == "name" else f"p{pid}")
        notebooks = []
        for source, own, data, when in files:
            if not own.lower().endswith(".ipynb"):
                report.problems.append(Problem("not_notebook", {"source": source}))
            elif _belongs(data, release_cells) is False:
                report.problems.append(Problem("wrong_assignment", {"source": source, "assignment": assignment}))
            else:
                notebooks.append((source, own, data, when))
        if not notebooks:  # each of the student's files already has its line in the report
            continue
        if len(notebooks) > 1:
            exact = [n for n in notebooks if n[1] == f"{assignment}.ipynb"]
            if len(exact) != 1:
                report.problems.append(Problem("two_notebooks", {"name": name, "pid": pid,
                                                                 "files": ", ".join(n[1] for n in notebooks)}))
                continue
            for other, *_ in notebooks:  # not placed: said, never dropped silently
                if other != exact[0][0]:
                    report.problems.append(Problem("not_chosen", {"name": name, "pid": pid, "source": other,
                                                                  "chosen": exact[0][0]}))
            notebooks = exact
        source, _, unpacked, when = notebooks[0]
        if student in students:  # two submissions, one student id (mapping, or equal name slugs)
            report.problems.append(Problem("same_student", {"name": name, "pid": pid, "source": source,
                                                            "student": student, "other": students[student][0]}))
            continue
        data = unpacked.read_bytes()  # (at most budget.notebook_bytes)
        target = Path(submissions) / student / assignment / f"{assignment}.ipynb"
        if _same_file(target, data):
            report.unchanged.append((student, source))  # same bytes: keep the file, so it is not regraded
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            for other in target.parent.glob("*.ipynb"):
                other.unlink()  # one notebook per folder: the grader must not pick an old one
            if os.path.lexists(target):
                target.unlink()  # (a link or FIFO of that name: replaced, never written through)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            report.placed.append((student, name, pid, source, str(target)))
        if when is not None:
            _write_timestamp(target.parent, when)
            report.times[student] = when
        students[student] = (name, pid)
    if db_url and students:
        report.new_students = _register_students(db_url, students, assignment, report.times)
    return report


def _same_file(target: Path, data: bytes) -> bool:
    """Is ``target`` a regular file with exactly these bytes? (Read without following a link,
    without waiting on a FIFO, and no more than ``data`` is long.)"""
    from .safe_outputs import RefusedFile, read_student_file

    try:
        return read_student_file(target, len(data)) == data
    except RefusedFile:
        return False


def plain_name(name: str) -> str:
    """A name as the gradebook keeps it: printable, without the characters that make markup (nbgrader's
    formgrader prints the names unescaped into its page) and no word starting with what a spreadsheet reads
    as a formula (``nbgrader export`` writes them into its CSV as they are); Moodle's names hold neither."""
    words = "".join(c for c in name if c.isprintable() and c not in '<>&"`').split()
    return " ".join(word.lstrip("=+-@") for word in words if word.lstrip("=+-@"))[:200]


def _register_students(db_url: str, students: dict, assignment: str | None = None, times: dict | None = None) -> list[str]:
    """Names and participant ids into the gradebook; with ``times``, a student's graded submission of ``assignment``
    gets its new time (nbgrader's late handling: due date, ``total_seconds_late``); a submission not graded yet
    gets it from ``timestamp.txt`` when it is graded (``xaigrade grade`` or nbgrader's autograde)."""
    from nbgrader.api import Gradebook, MissingEntry

    from .nbgrader_bridge import _venv_on_path

    import warnings

    new = []
    with _venv_on_path(), Gradebook(db_url) as gradebook, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (nbgrader's submission code: harmless SQLAlchemy autoflush warnings)
        for student, (name, pid) in sorted(students.items()):
            try:
                gradebook.find_student(student)
            except MissingEntry:
                new.append(student)
            shown = plain_name(name)
            first, _, last = shown.rpartition(" ")
            gradebook.update_or_create_student(student, first_name=first or shown, last_name=last if first else "",
                                               lms_user_id=pid)
            if assignment and (times or {}).get(student):
                try:  # a graded submission gets its new time now; a new one gets it when it is graded
                    gradebook.find_submission(assignment, student).timestamp = times[student]
                    gradebook.db.commit()
                except MissingEntry:
                    pass
    return new


def report_json(report: CollectReport, language: str = "de") -> str:
    return json.dumps({"placed": [p[0] for p in report.placed], "unchanged": [u[0] for u in report.unchanged],
                       "problems": [p.render(language) for p in report.problems]}, ensure_ascii=False, indent=1)
