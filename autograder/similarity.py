"""Similar submissions (issue 27): a report per assignment of pairs of students whose work is unusually alike.

What is compared: per submission, the code the student wrote in the graded and free code cells and the written
answers (Markdown and raw cells), each with what the release notebook already contained removed (every line that
is in the release: the starter code, the task text, ``raise NotImplementedError()``, the example cells; and for
code also copydetect's *boilerplate* fingerprints of the release). Outputs are never read.

How it is scored:
- code on tokens with copydetect (k-grams of the filtered token stream, its fingerprints, overlaps, copied slices
  and highlighting): names become ``V``/``F``/``O``, string and number literals ``S``/``N``, comments and layout
  are dropped (``code_tokens``: copydetect's ``filter_code`` with numbers and whole strings as one symbol each), so
  renamed variables, new comments and reordered functions do not hide a copy;
- written answers with scikit-learn: character n-gram TF-IDF of the normalised text (lower case, ``ä``→``ae``, …,
  no punctuation or Markdown), cosine similarity; word 4-grams for the fragments a pair shares;
- each fragment is weighted by how rare it is in the cohort: a fragment that every second document has weighs
  nothing (``fragment_weights``), one that only the pair shares weighs fully. A pair's code similarity is the
  weighted share of the smaller document the other covers;
- each pair is judged against all pairs of the assignment: the robust z-score of its code and of its text similarity
  (distance from the median of all pairs in units of 1.4826 · MAD, the scale at least ``MIN_SCALE_CODE`` /
  ``MIN_SCALE_TEXT``); its score is the larger of the two, plus a fixed amount for each kind of strong evidence
  (identical wrong results in the grader's reports that no third student has; the same rare numbers in the written
  answers). The line: a score of at least ``LINE`` *and* a similarity that is high in absolute terms too
  (``CODE_FLOOR``, ``TEXT_FLOOR``), so a cohort of very different students flags nobody.

It is never a grade: the report goes to ``<output>/similarity/`` only (never under ``feedback/``, never into an
export). Everything in it that comes from a submission is escaped; the page carries the CSP without script.
"""

from __future__ import annotations

import base64
import csv
import html
import json
import math
import os
import re
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .exports import as_text
from .messages import text as _text
from .safe_outputs import CSP_META, RefusedFile, parse_notebook_json, read_student_file

# --- parameters (README, "Similar submissions") -------------------------------------------------------------------

CODE_K = 25  # copydetect's default noise threshold: a fragment is 25 characters of filtered code (≈ 8–12 tokens)
CODE_WINDOW = 1  # winnowing window (copydetect's default guarantee threshold = noise threshold: every k-gram)
TEXT_NGRAMS = (5, 8)  # character n-grams of the written answers (TF-IDF; across word boundaries)
TEXT_SHINGLE = 4  # words per shared text fragment
LINE = 5.5  # score at or above which a pair is shown ("look at this"); README: how it was set
CODE_FLOOR = 0.30  # ... and the rarity-weighted code similarity is at least this,
TEXT_FLOOR = 0.45  # ... or the text similarity at least this
EVIDENCE_BONUS = 2.5  # added to the score per kind of strong evidence
MIN_SCALE_CODE = 0.09  # the robust scale (1.4826 · MAD) is at least this (a cohort of near-zero similarities)
MIN_SCALE_TEXT = 0.05
SMALL_COHORT = 16  # fragment weights are computed as if there were at least this many documents
COMMON_SHARE = 0.5  # a fragment in this share of the documents or more weighs nothing

MIN_CODE_FRAGMENTS = 12  # fewer fingerprints of own code: the code is not compared
MIN_TEXT_CHARS = 80  # fewer normalised characters of own text: the answers are not compared
MAX_CELL_CHARS = 50_000  # of one cell's source
MAX_CODE_CHARS = 100_000  # of one document's code
MAX_ANSWER_CHARS = 100_000  # of one document's written answers
MAX_BINARY_SHARE = 0.02  # a cell with more control characters than this is binary, not compared
SHOWN_CHARS = 12_000  # of one side of a pair on the page
MAX_REPORT_BYTES = 4 * 2**20  # a grader report (state file) larger than this is not read

KINDS = ("student", "earlier", "reference", "published")
READ_PROBLEMS = ("missing", "not_regular", "too_large", "empty_file", "too_complex", "not_json", "no_cells",
                 "no_notebook")


def t(key: str, language: str, **params) -> str:
    return _text(f"similarity.{key}", language, **params)


# --- documents -----------------------------------------------------------------------------------------------------

@dataclass
class Document:
    """One compared document: a student's submission, an earlier cohort's, the reference or a published solution."""

    key: str  # unique in the report: the student id, "reference", "earlier/<cohort>/<id>", "published/<path>"
    kind: str  # one of KINDS
    student: str = ""  # the student id (students and earlier cohorts)
    code: str = ""  # own code (raw, for display), cells separated by a comment line naming the cell
    answers: list = field(default_factory=list)  # [(cell label, own text)]
    problems: list = field(default_factory=list)  # [(message key, params)]
    wrong: frozenset = frozenset()  # failing checks with their messages from the grader's report
    # filled by the scoring
    filtered: str = ""
    hashes: np.ndarray | None = None
    norm_text: str = ""

    @property
    def text(self) -> str:
        return "\n\n".join(answer for _, answer in self.answers)

    def note(self, key: str, **params) -> None:
        self.problems.append((key, params))


def _normalise_line(line: str) -> str:
    return " ".join(line.split())


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")


def _source(cell) -> str | None:
    source = cell.get("source", "")
    if isinstance(source, list):
        if not all(isinstance(part, str) for part in source):
            return None
        source = "".join(source)
    return source if isinstance(source, str) else None


class Template:
    """What the release notebook already contains: its lines (code and text, normalised), its cells, its grade ids
    and copydetect's fingerprints of its code (the boilerplate)."""

    def __init__(self, release: dict | None):
        self.code_lines, self.text_lines, self.cells, self.grade_ids = set(), set(), set(), set()
        code = []
        for cell in (release or {}).get("cells", []):
            source = _source(cell) or ""
            self.cells.add(source.strip())
            grade_id = (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")
            if isinstance(grade_id, str):
                self.grade_ids.add(grade_id)
            if cell.get("cell_type") == "code":
                code.append(source)
                self.code_lines.update(_normalise_line(line) for line in source.splitlines())
            else:
                self.text_lines.update(normalise_text(line) for line in source.splitlines())
        self.code_lines.discard("")
        self.text_lines.discard("")
        filtered, _ = code_tokens("\n".join(code))
        self.boilerplate = np.fromiter(_fingerprints(filtered)[0], dtype=np.int64) if filtered else np.array([], np.int64)


def own_work(notebook: dict, template: Template, document: Document, solution_cells_only: bool = False) -> None:
    """The student-written code and answers of ``notebook`` into ``document`` (lines the release has removed);
    what could not be read becomes a problem of the document, never an exception."""
    cells = notebook.get("cells")
    if not isinstance(cells, list):
        document.note("no_cells")
        return
    code_parts, code_chars, answer_chars = [], 0, 0
    for index, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict):
            continue
        metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        nbgrader = metadata.get("nbgrader") if isinstance(metadata.get("nbgrader"), dict) else {}
        if solution_cells_only and not nbgrader.get("solution"):
            continue
        source = _source(cell)
        if source is None:
            document.note("cell_unreadable", cell=index)
            continue
        if len(source) > MAX_CELL_CHARS:
            document.note("cell_cut", cell=index, chars=len(source), kept=MAX_CELL_CHARS)
            source = source[:MAX_CELL_CHARS]
        control = len(_CONTROL.findall(source))
        if control > MAX_BINARY_SHARE * max(len(source), 1):
            document.note("cell_binary", cell=index, chars=control)
            continue
        source = _CONTROL.sub("", source)
        if source.strip() in template.cells:
            continue
        grade_id = nbgrader.get("grade_id") if nbgrader.get("grade_id") in template.grade_ids else None
        label = f"{index}" + (f" · {grade_id}" if grade_id else "")
        if cell.get("cell_type") == "code":
            lines = [line for line in source.splitlines()
                     if _normalise_line(line) and _normalise_line(line) not in template.code_lines]
            own = "\n".join(lines)
            if own.strip() and code_chars < MAX_CODE_CHARS:
                part = own[:MAX_CODE_CHARS - code_chars]
                code_parts.append(f"# ── {label} ──\n{part}\n")
                code_chars += len(part)
        else:
            lines = [line for line in source.splitlines()
                     if normalise_text(line) and normalise_text(line) not in template.text_lines]
            own = "\n".join(lines).strip()
            if own and answer_chars < MAX_ANSWER_CHARS:
                part = own[:MAX_ANSWER_CHARS - answer_chars]
                document.answers.append((label, part))
                answer_chars += len(part)
    if code_chars >= MAX_CODE_CHARS or answer_chars >= MAX_ANSWER_CHARS:
        document.note("document_cut", kept=MAX_CODE_CHARS)
    document.code = "\n".join(code_parts)


def read_notebook(path: Path, document: Document, max_bytes: int) -> dict | None:
    """The notebook's JSON, read without following a link, size-capped and bounded; None (and a problem of the
    document) when it cannot be read."""
    try:
        data = read_student_file(path, max_bytes)
    except RefusedFile as refused:
        if refused.reason == "too_large":
            document.note("too_large", mib=refused.size / 2**20, limit=max_bytes / 2**20)
        else:
            document.note("not_regular" if refused.reason == "not_regular" else "missing")
        return None
    if not data.strip():
        document.note("empty_file")
        return None
    try:
        notebook = parse_notebook_json(data)
    except RefusedFile:
        document.note("too_complex")
        return None
    except (ValueError, UnicodeDecodeError, RecursionError):
        document.note("not_json")
        return None
    if not isinstance(notebook.get("cells"), list):
        document.note("no_cells")
        return None
    if not notebook["cells"]:
        document.note("no_cells")
        return None
    return notebook


def load_document(path: Path | None, key: str, kind: str, student: str, template: Template, max_bytes: int,
                  solution_cells_only: bool = False, strip_markers: bool = False) -> Document:
    document = Document(key, kind, student)
    if path is None:
        document.note("no_notebook")
        return document
    notebook = read_notebook(path, document, max_bytes)
    if notebook is not None:
        if strip_markers:
            for cell in notebook["cells"]:
                source = _source(cell) if isinstance(cell, dict) else None
                if source is not None:
                    cell["source"] = SOLUTION_MARKERS.sub("", source)
        own_work(notebook, template, document, solution_cells_only)
    return document


SOLUTION_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.MULTILINE)


def plain_file_document(path: Path, key: str, kind: str, template: Template, max_bytes: int) -> Document:
    """A published solution that is a .py file (code) or a .md/.txt file (answers)."""
    document = Document(key, kind)
    try:
        data = read_student_file(path, max_bytes).decode("utf-8", errors="replace")
    except RefusedFile as refused:
        document.note("too_large" if refused.reason == "too_large" else "not_regular",
                      **({"mib": refused.size / 2**20, "limit": max_bytes / 2**20} if refused.reason == "too_large"
                         else {}))
        return document
    cell = {"cell_type": "code" if path.suffix == ".py" else "markdown", "source": data}
    own_work({"cells": [cell]}, template, document)
    return document


# --- code: copydetect's tokens and fingerprints --------------------------------------------------------------------

_LEXER = None


def code_tokens(code: str) -> tuple[str, np.ndarray]:
    """The filtered token stream of Python ``code`` as copydetect's ``filter_code`` makes it (names → ``V``,
    function names → ``F``, class names → ``O``, comments and whitespace dropped), with every number literal as
    ``N`` and every string literal as one ``S``; plus, per filtered character, the (start, end) of its token in
    ``code`` (for highlighting the original)."""
    global _LEXER
    from pygments import token
    from pygments.lexers import PythonLexer

    if _LEXER is None:
        _LEXER = PythonLexer(stripnl=False, ensurenl=False)
    symbols, starts, ends = [], [], []
    in_string = False
    for start, kind, value in _LEXER.get_tokens_unprocessed(code):
        end = start + len(value)
        if kind in token.Literal.String:
            if in_string:  # (one S per literal, f-strings and implicit concatenation included)
                ends[-1] = end
            else:
                symbols.append("S")
                starts.append(start)
                ends.append(end)
                in_string = True
            continue
        if kind in token.Comment or kind in token.Text:
            continue  # (whitespace between the parts of a literal keeps it one literal)
        in_string = False
        if kind in token.Name.Builtin or kind in token.Name.Exception or kind in token.Name.Decorator:
            symbol = value.lstrip("@")
        elif kind in token.Name.Function:
            symbol = "F"
        elif kind in token.Name.Class:
            symbol = "O"
        elif kind in token.Name:
            symbol = "V"
        elif kind in token.Literal.Number:
            symbol = "N"
        else:
            symbol = value.strip()
        if symbol:
            symbols.append(symbol)
            starts.append(start)
            ends.append(end)
    # per filtered character the span of its token; a symbol spelled as in the source: the character itself
    lengths = np.fromiter(map(len, symbols), dtype=np.int64, count=len(symbols))
    token_starts, token_ends = np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)
    exact = lengths == token_ends - token_starts
    first = np.repeat(np.cumsum(lengths) - lengths, lengths)
    offset = np.arange(int(lengths.sum()), dtype=np.int64) - first
    span_start = np.repeat(token_starts, lengths) + np.where(np.repeat(exact, lengths), offset, 0)
    return "".join(symbols), np.stack([span_start, np.repeat(token_ends, lengths)], axis=1).reshape(-1, 2)


def _fingerprints(filtered: str, boilerplate=None):
    from copydetect.utils import get_document_fingerprints

    return get_document_fingerprints(filtered, CODE_K, CODE_WINDOW, boilerplate if boilerplate is not None else [])


def fingerprint(document: Document, template: Template) -> None:
    document.filtered = code_tokens(document.code)[0] if document.code else ""
    if len(document.filtered) >= CODE_K:
        hashes, _ = _fingerprints(document.filtered, template.boilerplate)
        document.hashes = np.fromiter(hashes, dtype=np.int64, count=len(hashes))
    else:
        document.hashes = np.array([], dtype=np.int64)


def fragment_weights(df: np.ndarray, documents: int) -> np.ndarray:
    """How much a fragment that ``df`` of ``documents`` documents contain weighs: 1 when only two share it, falling
    with log(documents / df), 0 once it is in ``COMMON_SHARE`` of them (what every second student writes)."""
    n = max(documents, SMALL_COHORT)
    df = np.maximum(np.asarray(df, dtype=float), 2.0)
    weights = np.log(n * COMMON_SHARE / df) / math.log(n * COMMON_SHARE / 2.0)
    return np.clip(weights, 0.0, 1.0)


# --- written answers -----------------------------------------------------------------------------------------------

_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "ae", "Ö": "oe", "Ü": "ue", "ẞ": "ss"})
_DECIMAL = re.compile(r"(?<=\d),(?=\d)")
_STRAY_DOT = re.compile(r"(?<![0-9])\.|\.(?![0-9])")
_NOT_WORD = re.compile(r"[^a-z0-9.]+")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def normalise_text(value: str) -> str:
    """German text for comparing: lower case, ``ä``→``ae`` (so both spellings match), accents dropped, decimal
    commas as points, everything but letters, digits and decimal points as one space."""
    value = value.translate(_UMLAUTS).lower()
    value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    value = _STRAY_DOT.sub(" ", _DECIMAL.sub(".", value))
    return " ".join(_NOT_WORD.sub(" ", value).split())


def numbers_of(normalised: str) -> set[str]:
    """The numbers of a normalised answer that can tell answers apart (two or more digits, or a decimal)."""
    found = set()
    for match in _NUMBER.finditer(normalised):
        value = match.group(0)
        if "." in value or len(value) >= 2:
            found.add(value.rstrip("0").rstrip(".") if "." in value else value)
    return found


_SENTENCE = re.compile(r"(?<=[.!?:;])\s+|\n+")


def sentences(value: str) -> list[str]:
    return [part for part in _SENTENCE.split(value) if part.strip()]


# --- the grader's reports ------------------------------------------------------------------------------------------

def wrong_results(output: Path, student: str, assignment: str) -> frozenset:
    """The failing checks of the student's graded report with their messages (which carry the wrong values), or
    nothing when the course is not graded."""
    path = Path(output) / ".xaigrade" / "graded" / student / f"{assignment}.json"
    try:
        state = json.loads(read_student_file(path, MAX_REPORT_BYTES))
    except (RefusedFile, ValueError, UnicodeDecodeError, OSError):
        return frozenset()
    report = state.get("report") if isinstance(state, dict) else None
    failing = set()
    for check_id, verdict in (report or {}).items():
        if check_id.startswith("_") or not isinstance(verdict, dict):
            continue
        try:
            if float(verdict.get("score", 0)) < float(verdict.get("max_score", 0)):
                failing.add((str(check_id), str(verdict.get("message", ""))[:2000]))
        except (TypeError, ValueError):
            continue
    return frozenset(failing)


# --- finding the documents -----------------------------------------------------------------------------------------

def submissions_in(folder: Path, assignment: str) -> list[tuple[str, Path | None]]:
    """(student, notebook) for ``folder/<student>/<assignment>/`` (no link followed; a missing notebook: None)."""
    found = []
    folder = Path(folder)
    if (folder / "submitted").is_dir() and not (folder / "submitted").is_symlink():
        folder = folder / "submitted"
    if not folder.is_dir():
        return found
    for student_dir in sorted(p for p in folder.iterdir() if p.is_dir() and not p.is_symlink()):
        place = student_dir / assignment
        if not place.is_dir() or place.is_symlink():
            continue
        named = place / f"{assignment}.ipynb"
        notebooks = [named] if os.path.lexists(named) else sorted(place.glob("*.ipynb"))
        found.append((student_dir.name, notebooks[0] if notebooks else None))
    return found


def published_in(folder: Path, assignment: str) -> list[Path]:
    """Files of a folder of published solutions that belong to ``assignment``: named after it (``pdp.ipynb``,
    ``pdp.py``, ``pdp.md``) or inside a folder named after it; .ipynb, .py, .md and .txt."""
    found = []
    for path in sorted(Path(folder).rglob("*")):
        if path.is_symlink() or not path.is_file() or path.suffix not in (".ipynb", ".py", ".md", ".txt"):
            continue
        relative = path.relative_to(folder)
        if path.stem == assignment or assignment in relative.parts[:-1]:
            found.append(path)
    return found


# --- scoring -------------------------------------------------------------------------------------------------------

@dataclass
class Pair:
    a: int
    b: int
    code: float | None  # rarity-weighted code similarity, None when not compared
    text: float | None
    code_z: float = 0.0
    text_z: float = 0.0
    rare_code: float = 0.0  # share of the shared code fragments no third document has
    rare_text: float = 0.0
    numbers: tuple = ()  # rare numbers both answers have (in no third document, not in the reference's)
    wrong: tuple = ()  # identical failing checks with identical messages no third student has
    score: float = 0.0
    above: bool = False
    cluster: int = 0

    @property
    def evidence(self) -> list[str]:
        kinds = []
        if self.code is not None and self.code_z >= LINE / 2 and self.code >= CODE_FLOOR:
            kinds.append("code")
        if self.text is not None and self.text_z >= LINE / 2 and self.text >= TEXT_FLOOR:
            kinds.append("text")
        if self.wrong:
            kinds.append("wrong_results")
        if self.numbers:
            kinds.append("numbers")
        return kinds


def _robust(values: np.ndarray, min_scale: float) -> tuple[float, float]:
    if values.size == 0:
        return 0.0, min_scale
    median = float(np.median(values))
    scale = 1.4826 * float(np.median(np.abs(values - median)))
    return median, max(scale, min_scale)


def _binary_matrix(rows: list[np.ndarray]):
    """Documents × fragments (sparse, 0/1), each fragment's document frequency and the fragments (sorted)."""
    from scipy import sparse

    sizes = [len(r) for r in rows]
    if not sum(sizes):
        return sparse.csr_matrix((len(rows), 0)), np.zeros(0), np.zeros(0, np.int64)
    values, columns = np.unique(np.concatenate(rows), return_inverse=True)
    row_index = np.repeat(np.arange(len(rows)), sizes)
    matrix = sparse.csr_matrix((np.ones(len(columns), dtype=np.float64), (row_index, columns.ravel())),
                               shape=(len(rows), len(values)))
    matrix.data[:] = 1.0  # (duplicates summed)
    return matrix, np.asarray(matrix.sum(axis=0)).ravel(), values


def _shared(matrix, df: np.ndarray, weights: np.ndarray):
    """Per pair of documents: weighted shared fragments, shared fragments, those shared by no third document."""
    from scipy import sparse

    weighted = (matrix @ sparse.diags(weights) @ matrix.T).toarray()
    count = (matrix @ matrix.T).toarray()
    rare_columns = np.flatnonzero(df == 2)
    rare = matrix[:, rare_columns]
    exclusive = (rare @ rare.T).toarray()
    return weighted, count, exclusive


@dataclass
class Cohort:
    assignment: str
    documents: list
    pairs: list
    seconds: dict
    clusters: list = field(default_factory=list)
    vectorizer: object = None  # the written answers' TF-IDF (for matching sentences of shown pairs)
    template: Template | None = None
    fragments: np.ndarray | None = None  # every code fragment (sorted hashes) ...
    fragment_df: np.ndarray | None = None  # ... and how many documents have it
    code_documents: int = 0
    stats: dict = field(default_factory=dict)  # channel -> (median, robust scale) of the pairs' similarities

    def weight_of(self, hashes) -> np.ndarray:
        hashes = np.fromiter(hashes, dtype=np.int64)
        where = np.clip(np.searchsorted(self.fragments, hashes), 0, max(len(self.fragments) - 1, 0))
        df = np.where(self.fragments[where] == hashes, self.fragment_df[where], 2) if len(self.fragments) else 2
        return fragment_weights(df, self.code_documents)

    def above(self) -> list:
        return sorted((p for p in self.pairs if p.above), key=lambda p: -p.score)

    def label(self, index: int, language: str, names: dict | None = None) -> str:
        return document_label(self.documents[index], language, names)


def document_label(document: Document, language: str, names: dict | None = None) -> str:
    if document.kind == "reference":
        return t("reference", language)
    if document.kind == "published":
        return t("published", language, path=document.key.split("/", 1)[1])
    name = (names or {}).get(document.student) if document.kind == "student" else None
    shown = f"{document.student} ({name})" if name else document.student
    if document.kind == "earlier":
        return t("earlier", language, cohort=document.key.split("/")[1], student=shown)
    return shown


def score_cohort(assignment: str, documents: list[Document], template: Template) -> Cohort:
    """Every pair that involves a current student, scored against all such pairs."""
    seconds = {}
    started = time.perf_counter()
    for document in documents:
        fingerprint(document, template)
        document.norm_text = normalise_text(document.text)
    seconds["tokens"] = time.perf_counter() - started

    started = time.perf_counter()
    n = len(documents)
    comparable = [d.kind == "student" for d in documents]
    has_code = np.array([d.hashes is not None and len(d.hashes) >= MIN_CODE_FRAGMENTS for d in documents])
    has_text = np.array([len(d.norm_text) >= MIN_TEXT_CHARS for d in documents])
    for document, code, answers in zip(documents, has_code, has_text):
        if code or answers or any(key in READ_PROBLEMS for key, _ in document.problems):
            continue
        document.note("too_little" if document.code.strip() or document.answers else "no_own_work")

    matrix, df, fragments = _binary_matrix([d.hashes if ok else np.array([], np.int64)
                                            for d, ok in zip(documents, has_code)])
    code_weights = fragment_weights(df, int(has_code.sum()))
    weighted, count, exclusive = _shared(matrix, df, code_weights) if matrix.shape[1] else (np.zeros((n, n)),) * 3
    mass = np.diag(weighted) if matrix.shape[1] else np.zeros(n)  # each document's own weighted fragments

    text_sim = np.zeros((n, n))
    text_rare = np.zeros((n, n))
    vectorizer = None
    text_docs = [d.norm_text if ok else "" for d, ok in zip(documents, has_text)]
    if has_text.sum() >= 2:
        from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

        many = has_text.sum() >= 10
        vectorizer = TfidfVectorizer(analyzer="char", ngram_range=TEXT_NGRAMS, sublinear_tf=True, lowercase=False,
                                     max_df=COMMON_SHARE if many else 1.0, dtype=np.float32)
        try:
            tfidf = vectorizer.fit_transform(text_docs)
            text_sim = (tfidf @ tfidf.T).toarray()
        except ValueError:  # (nothing left: every n-gram is common)
            vectorizer = None
        shingles = CountVectorizer(analyzer="word", ngram_range=(TEXT_SHINGLE, TEXT_SHINGLE), binary=True,
                                   lowercase=False, token_pattern=r"\S+", dtype=np.float64)
        try:
            words = shingles.fit_transform(text_docs)
            word_df = np.asarray(words.sum(axis=0)).ravel()
            _, shared_words, exclusive_words = _shared(words, word_df, np.ones_like(word_df))
            with np.errstate(invalid="ignore", divide="ignore"):
                text_rare = np.where(shared_words > 0, exclusive_words / np.maximum(shared_words, 1), 0.0)
        except ValueError:
            pass

    # numbers in the answers: rare ones both have, that the reference's answers do not have
    numbers = [numbers_of(text) for text in text_docs]
    expected = set().union(*(numbers[i] for i, d in enumerate(documents) if d.kind == "reference")) if n else set()
    number_df: dict = {}
    for found in numbers:
        for value in found:
            number_df[value] = number_df.get(value, 0) + 1
    wrong_df: dict = {}
    for document in documents:
        for item in document.wrong:
            wrong_df[item] = wrong_df.get(item, 0) + 1

    pairs = []
    for a in range(n):
        for b in range(a + 1, n):
            if not (comparable[a] or comparable[b]):
                continue  # (earlier cohorts, the reference and published solutions are compared with students only)
            code = None
            if has_code[a] and has_code[b]:
                code = float(weighted[a, b] / max(math.sqrt(mass[a] * mass[b]), 1.0))
            answers = float(text_sim[a, b]) if has_text[a] and has_text[b] else None
            pair = Pair(a, b, code, answers)
            if code is not None and count[a, b]:
                pair.rare_code = float(exclusive[a, b] / count[a, b])
            if answers is not None:
                pair.rare_text = float(text_rare[a, b])
                pair.numbers = tuple(sorted(v for v in numbers[a] & numbers[b]
                                            if number_df[v] == 2 and v not in expected))
                if len(pair.numbers) < 2:
                    pair.numbers = ()
            if documents[a].wrong and documents[b].wrong:
                pair.wrong = tuple(sorted(item for item in documents[a].wrong & documents[b].wrong
                                          if wrong_df[item] == 2))
            pairs.append(pair)
    code_values = np.array([p.code for p in pairs if p.code is not None])
    text_values = np.array([p.text for p in pairs if p.text is not None])
    code_centre, code_scale = _robust(code_values, MIN_SCALE_CODE)
    text_centre, text_scale = _robust(text_values, MIN_SCALE_TEXT)
    for pair in pairs:
        if pair.code is not None:
            pair.code_z = (pair.code - code_centre) / code_scale
        if pair.text is not None:
            pair.text_z = (pair.text - text_centre) / text_scale
        pair.score = max(pair.code_z, pair.text_z, 0.0)
        pair.score += EVIDENCE_BONUS * (bool(pair.wrong) + bool(pair.numbers))
        high = ((pair.code is not None and pair.code >= CODE_FLOOR)
                or (pair.text is not None and pair.text >= TEXT_FLOOR))
        pair.above = pair.score >= LINE and high
    seconds["pairs"] = time.perf_counter() - started
    cohort = Cohort(assignment, documents, pairs, seconds, vectorizer=vectorizer, template=template,
                    fragments=fragments, fragment_df=df, code_documents=int(has_code.sum()),
                    stats={"code": (code_centre, code_scale), "text": (text_centre, text_scale)})
    cohort.clusters = clusters_of(cohort)
    return cohort


def clusters_of(cohort: Cohort) -> list[list[int]]:
    """Groups of three or more documents joined by pairs above the line (connected components)."""
    parent = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for pair in cohort.pairs:
        if pair.above:
            parent[find(pair.a)] = find(pair.b)
    groups: dict = {}
    for x in list(parent):
        groups.setdefault(find(x), []).append(x)
    clusters = sorted((sorted(g) for g in groups.values() if len(g) >= 3), key=lambda g: (-len(g), g))
    for number, members in enumerate(clusters, start=1):
        for pair in cohort.pairs:
            if pair.above and pair.a in members:
                pair.cluster = number
    return clusters


# --- running it over a course --------------------------------------------------------------------------------------

@dataclass
class Sources:
    """Where the documents of one run come from."""

    course: Path
    submissions: Path
    output: Path
    earlier: tuple = ()
    published: Path | None = None
    max_notebook_mb: int = 20


def collect_documents(assignment: str, sources: Sources) -> tuple[list[Document], Template]:
    max_bytes = sources.max_notebook_mb * 2**20
    release_path = sources.course / "release" / assignment / f"{assignment}.ipynb"
    release = None
    try:
        release = parse_notebook_json(read_student_file(release_path, max_bytes))
    except (RefusedFile, ValueError):
        pass
    template = Template(release)
    documents = []
    for student, path in submissions_in(sources.submissions, assignment):
        document = load_document(path, student, "student", student, template, max_bytes)
        document.wrong = wrong_results(sources.output, student, assignment)
        documents.append(document)
    source_nb = sources.course / "source" / assignment / f"{assignment}.ipynb"
    if source_nb.exists():
        documents.append(load_document(source_nb, "reference", "reference", "", template, max_bytes,
                                       solution_cells_only=True, strip_markers=True))
    for folder in sources.earlier:
        cohort = Path(folder).resolve().name
        for student, path in submissions_in(Path(folder), assignment):
            documents.append(load_document(path, f"earlier/{cohort}/{student}", "earlier", student, template,
                                           max_bytes))
    if sources.published is not None:
        folder = Path(sources.published)
        for path in published_in(folder, assignment):
            key = f"published/{path.relative_to(folder)}"
            documents.append(load_document(path, key, "published", "", template, max_bytes) if path.suffix == ".ipynb"
                             else plain_file_document(path, key, "published", template, max_bytes))
    return documents, template


def student_names(output: Path) -> dict:
    """{student id: "First Last"} from nbgrader's gradebook, if there is one."""
    database = Path(output) / "gradebook.db"
    if not database.exists():
        return {}
    try:
        from nbgrader.api import Gradebook

        from .nbgrader_bridge import _venv_on_path

        with _venv_on_path(), Gradebook(f"sqlite:///{database.resolve()}") as gradebook:
            return {s.id: " ".join(p for p in (s.first_name, s.last_name) if p) for s in gradebook.students
                    if s.first_name or s.last_name}
    except Exception:  # (a report without names is still a report)
        return {}


def similarity_report(assignment: str, sources: Sources, language: str = "de", names: dict | None = None) -> dict:
    """Score one assignment and write ``<output>/similarity/<assignment>.html`` and ``.csv``; returns a summary."""
    started = time.perf_counter()
    documents, template = collect_documents(assignment, sources)
    read_seconds = time.perf_counter() - started
    cohort = score_cohort(assignment, documents, template)
    cohort.seconds["read"] = read_seconds
    names = student_names(sources.output) if names is None else names
    target = Path(sources.output) / "similarity"
    target.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    page = target / f"{assignment}.html"
    page.write_text(render_page(cohort, language, names), encoding="utf-8")
    table = target / f"{assignment}.csv"
    write_csv(cohort, table, names)
    cohort.seconds["report"] = time.perf_counter() - started
    return {"assignment": assignment, "page": page, "csv": table, "cohort": cohort,
            "students": sum(d.kind == "student" for d in documents), "pairs": len(cohort.pairs),
            "above": len(cohort.above()), "clusters": len(cohort.clusters),
            "problems": [(d, key, params) for d in documents for key, params in d.problems]}


# --- CSV -----------------------------------------------------------------------------------------------------------

CSV_COLUMNS = ["student_a", "student_b", "name_a", "name_b", "kind_b", "score", "evidence", "code_similarity",
               "code_z", "text_similarity", "text_z", "rare_code_share", "rare_text_share", "same_rare_numbers",
               "identical_wrong_results", "cluster"]


def _num(value, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def write_csv(cohort: Cohort, target: Path, names: dict) -> Path:
    """One row per pair above the line; ids as in ``submitted/`` (``reference``, ``earlier/<cohort>/<id>``,
    ``published/<path>`` for the other documents); every text through ``exports.as_text``."""
    with Path(target).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for pair in cohort.above():
            first, second = cohort.documents[pair.a], cohort.documents[pair.b]
            if first.kind != "student":
                first, second = second, first
            writer.writerow([as_text(first.key), as_text(second.key), as_text(names.get(first.student, "")),
                             as_text(names.get(second.student, "") if second.kind == "student" else ""),
                             second.kind, f"{pair.score:.2f}", " ".join(pair.evidence) or "score",
                             _num(pair.code), _num(pair.code_z, 2) if pair.code is not None else "",
                             _num(pair.text), _num(pair.text_z, 2) if pair.text is not None else "",
                             _num(pair.rare_code), _num(pair.rare_text), as_text(" ".join(pair.numbers)),
                             len(pair.wrong), pair.cluster or ""])
    return Path(target)


# --- the page ------------------------------------------------------------------------------------------------------

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:90em;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em}h3{font-size:1.05em;margin:.2em 0}
.note{background:#fff6d6;border-left:4px solid #e0b000;padding:.5em 1em}
table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
section.pair,section.cluster{border:1px solid #ccc;border-radius:6px;margin:1.2em 0;padding:.6em 1em}
.sides{display:grid;grid-template-columns:1fr 1fr;gap:1em}
pre{white-space:pre-wrap;word-break:break-word;background:#f7f7f7;padding:.5em;font-size:.82em;max-height:40em;
overflow:auto;margin:.3em 0}
p.answer{white-space:pre-wrap;background:#f7f7f7;padding:.5em;font-size:.9em;margin:.3em 0}
mark{background:#ffd27a}mark.rare{background:#ff9f80}sup.match{color:#a33;font-size:.7em}
.evidence{font-weight:bold;color:#a33}.muted{color:#777}figure{margin:1em 0}img{max-width:100%}
"""


def _histogram_png(cohort: Cohort, language: str) -> bytes | None:
    from .figures import new_figure, png

    scores = np.array([p.score for p in cohort.pairs])
    if scores.size == 0:
        return None
    figure = new_figure(8.0, 2.8)
    axes = figure.add_subplot(1, 1, 1)
    top = max(float(scores.max()), LINE) * 1.05
    bins = np.linspace(0.0, top, 60)
    below = scores[[not p.above for p in cohort.pairs]]
    above = scores[[p.above for p in cohort.pairs]]
    axes.hist([below, above], bins=bins, stacked=True, color=["#7a9cc6", "#d9534f"],
              label=[t("hist_below", language), t("hist_above", language)])
    axes.axvline(LINE, color="#d9534f", linestyle="--", linewidth=1.2)
    axes.text(LINE, axes.get_ylim()[1] * 0.9, " " + t("hist_line", language, line=LINE), color="#d9534f", fontsize=8)
    axes.set_yscale("log")
    axes.set_xlabel(t("hist_x", language))
    axes.set_ylabel(t("hist_y", language))
    axes.legend(fontsize=8)
    return png(figure)


def _slices_raw(pairs_of_slices: np.ndarray, spans: np.ndarray) -> np.ndarray:
    """Copydetect's slices of the filtered code as merged, sorted slices of the original code."""
    if pairs_of_slices.size == 0 or spans.size == 0:
        return np.zeros((2, 0), dtype=np.int64)
    starts = spans[np.clip(pairs_of_slices[0].astype(int), 0, len(spans) - 1), 0]
    ends = spans[np.clip(pairs_of_slices[1].astype(int) - 1, 0, len(spans) - 1), 1]
    order = np.argsort(starts)
    merged = []
    for start, end in zip(starts[order], ends[order]):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([int(start), int(end)])
    return np.array(merged, dtype=np.int64).T.reshape(2, -1)


def highlighted_code(cohort: Cohort, pair: Pair) -> tuple[str, str]:
    """Both sides' code as escaped HTML with the shared fragments that weigh something marked (copydetect's
    fingerprint overlap, copied slices and highlighting)."""
    from copydetect.utils import find_fingerprint_overlap, get_copied_slices, highlight_overlap

    first, second = cohort.documents[pair.a], cohort.documents[pair.b]
    shown = []
    boilerplate = cohort.template.boilerplate if cohort.template is not None else None
    hashes_a, index_a = _fingerprints(first.filtered, boilerplate)
    hashes_b, index_b = _fingerprints(second.filtered, boilerplate)
    common = list(hashes_a & hashes_b)
    keep = {h for h, w in zip(common, cohort.weight_of(common)) if w > 0} if common else set()
    overlap_a, overlap_b = find_fingerprint_overlap(keep, keep, index_a, index_b)
    for document, overlap in ((first, overlap_a), (second, overlap_b)):
        slices = _slices_raw(get_copied_slices(overlap, CODE_K), code_tokens(document.code)[1])
        code = document.code
        cut = len(code) > SHOWN_CHARS
        if cut:
            code = code[:SHOWN_CHARS]
            slices = slices[:, slices[0] < SHOWN_CHARS]
            slices[1] = np.minimum(slices[1], SHOWN_CHARS)
        if slices.shape[1]:
            marked, _ = highlight_overlap(code, slices, "<mark>", "</mark>", escape_html=True)
        else:
            marked = html.escape(code)
        shown.append(marked + ("\n…" if cut else ""))
    return shown[0], shown[1]


def highlighted_answers(cohort: Cohort, pair: Pair, threshold: float = 0.55) -> tuple[str, str]:
    """Both sides' answers as escaped HTML, sentences with a close match on the other side marked and numbered."""
    first, second = cohort.documents[pair.a], cohort.documents[pair.b]
    if cohort.vectorizer is None:
        return (_plain_answers(first), _plain_answers(second))
    left = [(label, s) for label, answer in first.answers for s in sentences(answer)][:400]
    right = [(label, s) for label, answer in second.answers for s in sentences(answer)][:400]
    if not left or not right:
        return (_plain_answers(first), _plain_answers(second))
    vectors_left = cohort.vectorizer.transform([normalise_text(s) for _, s in left])
    vectors_right = cohort.vectorizer.transform([normalise_text(s) for _, s in right])
    similarity = (vectors_left @ vectors_right.T).toarray()
    match_left, match_right = {}, {}
    number = 0
    for i in np.argsort(-similarity.max(axis=1)):
        j = int(similarity[i].argmax())
        if similarity[i, j] >= threshold and j not in match_right and len(normalise_text(left[i][1])) >= 12:
            number += 1
            match_left[int(i)], match_right[j] = number, number
    return _marked_answers(left, match_left), _marked_answers(right, match_right)


def _plain_answers(document: Document) -> str:
    return "".join(f"<h4>{html.escape(label)}</h4><p class='answer'>{html.escape(answer[:SHOWN_CHARS])}</p>"
                   for label, answer in document.answers)


def _marked_answers(parts: list, matches: dict) -> str:
    out, current = [], None
    for index, (label, sentence) in enumerate(parts):
        if label != current:
            if current is not None:
                out.append("</p>")
            out.append(f"<h4>{html.escape(label)}</h4><p class='answer'>")
            current = label
        escaped = html.escape(sentence)
        if index in matches:
            out.append(f"<mark>{escaped}</mark><sup class='match'>{matches[index]}</sup> ")
        else:
            out.append(escaped + " ")
    if current is not None:
        out.append("</p>")
    return "".join(out)


def _figures_table(pair: Pair, language: str) -> str:
    esc = html.escape
    rows = [(t("code_similarity", language), _num(pair.code, 2) if pair.code is not None else "–",
             f"z = {pair.code_z:.1f}" if pair.code is not None else "", f"{pair.rare_code:.0%}"),
            (t("text_similarity", language), _num(pair.text, 2) if pair.text is not None else "–",
             f"z = {pair.text_z:.1f}" if pair.text is not None else "", f"{pair.rare_text:.0%}")]
    body = "".join(f"<tr><th>{esc(a)}</th><td>{esc(b)}</td><td>{esc(c)}</td><td>{esc(d)}</td></tr>"
                   for a, b, c, d in rows)
    return (f"<table class='figures'><tr><th></th><th>{esc(t('similarity', language))}</th>"
            f"<th>{esc(t('unusual', language))}</th><th>{esc(t('rare_share', language))}</th></tr>{body}</table>")


def _pair_html(cohort: Cohort, pair: Pair, language: str, names: dict, rank: int) -> str:
    esc = html.escape
    first, second = cohort.label(pair.a, language, names), cohort.label(pair.b, language, names)
    evidence = [t(f"evidence_{kind}", language) for kind in pair.evidence]
    parts = [f"<section class='pair' id='pair-{rank}'><h3>{rank}. {esc(first)} ↔ {esc(second)} · "
             f"{esc(t('score', language))} {pair.score:.1f}</h3>",
             f"<p>{esc(t('evidence', language))}: <span class='evidence'>{esc(', '.join(evidence) or '–')}</span></p>",
             _figures_table(pair, language)]
    if pair.wrong:
        items = "".join(f"<li><code>{esc(check)}</code>: {esc(message)}</li>" for check, message in pair.wrong)
        parts.append(f"<p class='evidence'>{esc(t('wrong_title', language, count=len(pair.wrong)))}</p><ul>{items}</ul>")
    if pair.numbers:
        parts.append(f"<p class='evidence'>{esc(t('numbers_title', language, numbers=', '.join(pair.numbers)))}</p>")
    if pair.code is not None:
        left, right = highlighted_code(cohort, pair)
        parts.append(f"<h4>{esc(t('code', language))}</h4><div class='sides'><div><b>{esc(first)}</b>"
                     f"<pre>{left}</pre></div><div><b>{esc(second)}</b><pre>{right}</pre></div></div>")
    if pair.text is not None:
        left, right = highlighted_answers(cohort, pair)
        parts.append(f"<h4>{esc(t('answers', language))}</h4><div class='sides'><div><b>{esc(first)}</b>{left}</div>"
                     f"<div><b>{esc(second)}</b>{right}</div></div>")
    parts.append("</section>")
    return "".join(parts)


def render_page(cohort: Cohort, language: str = "de", names: dict | None = None) -> str:
    esc = html.escape
    names = names or {}
    students = sum(d.kind == "student" for d in cohort.documents)
    others = len(cohort.documents) - students
    above = cohort.above()
    body = [f"<h1>{esc(t('title', language, assignment=cohort.assignment))}</h1>",
            f"<p class='note'>{esc(t('never_a_grade', language))}</p>",
            f"<p>{esc(t('summary', language, students=students, others=others, pairs=len(cohort.pairs), above=len(above), line=LINE))}</p>",
            *([f"<p class='note'>{esc(t('small_cohort', language, students=students, minimum=SMALL_COHORT))}</p>"]
              if students < SMALL_COHORT else []),
            f"<details><summary>{esc(t('method_title', language))}</summary><p>"
            f"{esc(t('method', language, line=LINE, code_floor=CODE_FLOOR, text_floor=TEXT_FLOOR, bonus=EVIDENCE_BONUS))}"
            f"</p></details>"]
    picture = _histogram_png(cohort, language)
    if picture:
        encoded = base64.b64encode(picture).decode("ascii")
        body.append(f"<figure><img src='data:image/png;base64,{encoded}' alt='{esc(t('hist_alt', language))}'>"
                    f"<figcaption>{esc(t('hist_caption', language, line=LINE))}</figcaption></figure>")
    problems = [(d, key, params) for d in cohort.documents for key, params in d.problems]
    if problems:
        items = "".join(f"<li>{esc(document_label(d, language, names))}: {esc(t('problem.' + key, language, **params))}</li>"
                        for d, key, params in problems)
        body.append(f"<h2>{esc(t('problems_title', language))}</h2><ul class='problems'>{items}</ul>")
    rank = 0
    shown_in_cluster = set()
    if cohort.clusters:
        body.append(f"<h2>{esc(t('clusters_title', language))}</h2>")
        for number, members in enumerate(cohort.clusters, start=1):
            inside = [p for p in above if p.cluster == number]
            who = ", ".join(cohort.label(i, language, names) for i in members)
            rows = "".join(f"<tr><td>{esc(cohort.label(p.a, language, names))}</td><td>"
                           f"{esc(cohort.label(p.b, language, names))}</td><td>{p.score:.1f}</td><td>"
                           f"{esc(', '.join(t('evidence_' + k, language) for k in p.evidence))}</td></tr>"
                           for p in inside)
            body.append(f"<section class='cluster' id='cluster-{number}'><h3>"
                        f"{esc(t('cluster', language, number=number, count=len(members)))}</h3><p>{esc(who)}</p>"
                        f"<table><tr><th>A</th><th>B</th><th>{esc(t('score', language))}</th>"
                        f"<th>{esc(t('evidence', language))}</th></tr>{rows}</table>")
            strongest = max(inside, key=lambda p: p.score)
            rank += 1
            body.append(_pair_html(cohort, strongest, language, names, rank))
            body.append("</section>")
            shown_in_cluster.update(id(p) for p in inside)
    body.append(f"<h2>{esc(t('pairs_title', language))}</h2>")
    rest = [p for p in above if id(p) not in shown_in_cluster]
    if not rest and not cohort.clusters:
        body.append(f"<p>{esc(t('none_above', language))}</p>")
    for pair in rest:
        rank += 1
        body.append(_pair_html(cohort, pair, language, names, rank))
    return (f"<!DOCTYPE html>\n<html lang='{esc(language)}'><head><meta charset='utf-8'>{CSP_META}"
            f"<title>{esc(t('title', language, assignment=cohort.assignment))}</title><style>{STYLE}</style></head>"
            f"<body>{''.join(body)}</body></html>\n")
