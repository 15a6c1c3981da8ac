"""Checks declared as data and the evaluation that turns probe results into verdicts (student side).

An exercise's student module ``xaikit/selfcheck/exercises/<exercise>.py`` provides
- probe functions ``probe_*(namespace, inputs) -> dict`` that call the student's functions
  (they run inside the student's kernel, and in the grader on the reference and its variants),
- ``build_public_cases(seed) -> list[Case]``: the public inputs of the self-check,
- ``CHECKS``: a list of ``Check`` (criteria, points, titles); ``MESSAGES``: the checks' own messages.
Nothing here builds a hidden input, and no check names a known mistake: which mistakes a check
diagnoses, and their messages, come with the released data of the public case
(``public_checks.npz``) for the self-check, and from the grader's side when grading.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .compare import Failure
from .messages import Message, render

PUBLIC_DATA = "public_checks.npz"


@dataclass(frozen=True)
class Case:
    id: str
    probe: str  # name of a probe function in the exercise module
    inputs: dict
    label: str  # what the student may be told about the input, e.g. "Random Forest, Merkmal DIS"
    tags: frozenset = frozenset()


@dataclass(frozen=True)
class Check:
    id: str
    task: str  # grade_id of the notebook test cell whose points this check carries
    points: float
    title: dict  # {"de": ..., "en": ...}
    probe: str  # the cases this check looks at are those of this probe ...
    criterion: Callable[[dict, dict, Case], Failure | None]
    variants: tuple = ()  # known-wrong variants to name when the result misses the reference (set by the grader)
    tags: frozenset = frozenset()  # ... having all these tags
    public: bool = True  # also run by the self-check on the public cases
    # Does the student's result show the mistake of a variant? Default: it passes the criterion with
    # the variant's result as the expected one. Bound-type checks ("at most 1.5x the reference's
    # distance") need their own test of sameness, e.g. closeness of the images.
    matches: Callable[[dict, dict, Case], bool] | None = None

    def shows_variant(self, student: dict, variant_result: dict, case: Case) -> bool:
        if self.matches is not None:
            return bool(self.matches(student, variant_result, case))
        return self.criterion(student, variant_result, case) is None

    def selects(self, case: Case) -> bool:
        return case.probe == self.probe and self.tags <= case.tags

    def title_for(self, language: str) -> str:
        """The check's title in ``language`` (every check has one in each language; a test enforces it)."""
        return self.title[language]


@dataclass(frozen=True)
class ProbeError:
    """A probe call that produced no usable data."""

    kind: str  # missing_function | not_implemented | exception | timeout | invalid_result | not_run
    params: dict = field(default_factory=dict)


@dataclass
class Verdict:
    check_id: str
    task: str
    score: float
    max_score: float
    message_key: str
    message: str
    case_id: str | None = None
    params: dict = field(default_factory=dict)
    candidates: tuple = ()  # AMBIGUOUS: the known mistakes the result fits (grader side, never shown by name)

    @property
    def passed(self) -> bool:
        return self.score >= self.max_score

    def as_dict(self) -> dict:
        return {"score": self.score, "max_score": self.max_score, "message": self.message,
                "message_key": self.message_key, "task": self.task, "case": self.case_id}


def with_diagnoses(checks, diagnoses: dict) -> list[Check]:
    """The checks with the known mistakes each one names (check id -> variant ids)."""
    return [dataclasses.replace(check, variants=tuple(diagnoses.get(check.id, ()))) for check in checks]


class Exercise:
    """One exercise as the self-check sees it: the student module's checks, public cases and messages.

    ``diagnoses`` and ``messages`` (from ``public_checks.npz``) add the known mistakes the public
    checks can name. The grader's ``autograder.checks.Exercise`` builds on this class."""

    MODULE = "xaikit.selfcheck.exercises.{name}"

    def __init__(self, name: str, diagnoses: dict | None = None, messages: dict | None = None):
        self.name = name
        self.module = importlib.import_module(self.MODULE.format(name=name))
        self.checks: list[Check] = list(self.module.CHECKS)
        if diagnoses is not None:
            self.checks = with_diagnoses(self.checks, diagnoses)
        self.messages: dict = {**self.module.MESSAGES, **(messages or {})}
        self.notebook: str = getattr(self.module, "NOTEBOOK", name)
        ids = [c.id for c in self.checks]
        if len(ids) != len(set(ids)):
            raise ValueError(f"duplicate check ids in {name}")

    @property
    def tasks(self) -> dict[str, float]:
        """Points per test cell (grade_id), summed over its checks."""
        points: dict[str, float] = {}
        for check in self.checks:
            points[check.task] = points.get(check.task, 0.0) + check.points
        return points

    def build_cases(self, seed: int, public: bool = True) -> list[Case]:
        if not public:
            raise ValueError("the student side builds public cases only")
        return list(self.module.build_public_cases(seed))

    def probe_function(self, case: Case):
        return getattr(self.module, case.probe)

    def probe_path(self, case: Case) -> str:
        """module:function of the probe, importable in the student's kernel (always the student module)."""
        function = self.probe_function(case)
        return f"{function.__module__}:{function.__name__}"

    def variant_ids(self) -> list[str]:
        return sorted({v for check in self.checks for v in check.variants})

    def message(self, key: str, params: dict | None, language: str) -> str:
        return render(key, params, language, self.messages)

    notebook_file: Path | None = None  # the notebook whose headings name the tasks (else the release's)

    def notebook_candidates(self) -> list[Path]:
        """Where the notebook is: the one set, the kit's copy, the project's release, its source."""
        here = Path(__file__).resolve().parent
        name = self.notebook
        return [p for p in (self.notebook_file, here.parent / "course" / name / f"{name}.ipynb",
                            here.parents[1] / "release" / name / f"{name}.ipynb",
                            here.parents[1] / "source" / name / f"{name}.ipynb") if p is not None]

    def task_title(self, task: str, language: str = "de") -> str:
        """What a test cell's task is called, from the notebook's heading ("Aufgabe 2: Die Heatmap"), never
        its grade_id; without the notebook "Aufgabe N" in the order of the tasks."""
        if getattr(self, "_task_titles", None) is None:
            self._task_titles = {}
            for path in self.notebook_candidates():
                try:
                    self._task_titles = task_titles(path)
                    break
                except (OSError, ValueError):
                    continue
        if task in self._task_titles:
            return localise_title(self._task_titles[task], language)
        order = list(self.tasks)
        number = order.index(task) + 1 if task in order else len(order) + 1
        return f"{_TASK_WORD.get(language, _TASK_WORD['de'])} {number}"


def call_probe(exercise: Exercise, case: Case, namespace: dict) -> dict:
    """Run a probe in this process and return plain arrays (as the probe runner writes them)."""
    from .probe import plain_result

    result = exercise.probe_function(case)(namespace, copy.deepcopy(case.inputs))
    return {key: plain_result(value) for key, value in result.items()}


def evaluate(exercise: Exercise, cases: list[Case], student: dict, expected: dict,
             variants: dict, language: str = "de", public_only: bool = False) -> list[Verdict]:
    """Verdicts for every check of ``exercise``.

    ``student`` and ``expected`` map case ids to result dicts (or ``ProbeError``);
    ``variants`` maps variant id -> case id -> result dict. A check passes when every one
    of its cases is within tolerance; otherwise the first failing case decides the message:
    the known-wrong variant the student's result matches, or the comparison's own message.
    """
    verdicts = []
    for check in exercise.checks:
        if public_only and not check.public:
            continue
        selected = [case for case in cases if check.selects(case)]
        verdicts.append(_evaluate_check(exercise, check, selected, student, expected, variants, language,
                                        public_only))
    return verdicts


# A call that failed on a case is told where it ran: the self-check's cases are public (the notebook's own test
# cells, `xaigrade check`), the grader's hidden. The verdict keeps the probe's kind as its key either way.
PUBLIC_WORDING = {"exception": "exception_public", "timeout": "timeout_public"}


def _evaluate_check(exercise, check, cases, student, expected, variants, language, public_only=False) -> Verdict:
    if not cases:
        raise ValueError(f"check {check.id} selects no case")
    for case in cases:
        result = student.get(case.id, ProbeError("not_run", {"reason": Message("no_result")}))
        if isinstance(result, ProbeError):
            params = {"case": case.label, **result.params}
            wording = PUBLIC_WORDING.get(result.kind, result.kind) if public_only else result.kind
            return Verdict(check.id, check.task, 0.0, check.points, result.kind,
                           exercise.message(wording, params, language), case.id, params)
        failure = check.criterion(result, expected.get(case.id, {}), case)
        if failure is None:
            continue
        params = {"case": case.label, **failure.params}
        named, candidates = diagnose(check, cases, student, expected, variants)
        if named is not None:
            params = {"case": case.label}
            return Verdict(check.id, check.task, 0.0, check.points, named,
                           exercise.message(named, params, language), case.id, params)
        if candidates:
            what = exercise.message(failure.key, params, language)
            causes = "".join(f"\n  – {exercise.message(v, {'case': case.label}, language)}" for v in candidates)
            ambiguous = {**params, "what": what, "causes": causes}
            return Verdict(check.id, check.task, 0.0, check.points, AMBIGUOUS,
                           exercise.message(AMBIGUOUS, ambiguous, language), case.id, ambiguous, tuple(candidates))
        return Verdict(check.id, check.task, 0.0, check.points, failure.key,
                       exercise.message(failure.key, params, language), case.id, params)
    return Verdict(check.id, check.task, check.points, check.points, "passed",
                   exercise.message("passed", {}, language))


AMBIGUOUS = "ambiguous_mistake"  # the result fits several known mistakes (or one that cannot be told apart)


def diagnose(check: Check, cases: list[Case], student: dict, expected: dict, variants: dict
             ) -> tuple[str | None, list[str]]:
    """Which known mistake of ``check`` the student's results show: ``(variant id, [it])`` when exactly one
    can be named, ``(None, candidates)`` when several fit (or the one that fits cannot be told apart from
    another on these cases), ``(None, [])`` when none fits.

    The naming rule (a wrong name is worse than none): a variant fits when, on every case of the check
    where both have a result, the student's result shows it where the student fails (``shows_variant``)
    and the variant passes where the student passes. It is named only when it is the only one that fits
    and, for each other variant of the check, some case tells the two apart (neither result shows the
    other). A "do nothing" implementation (input returned unchanged, zeros) is a candidate like any
    other when the exercise lists it as a variant of the check."""
    outcome = {}  # case id -> the student's failure or None, for the cases with a usable result
    for case in cases:
        result = student.get(case.id)
        if isinstance(result, dict):
            outcome[case.id] = check.criterion(result, expected.get(case.id, {}), case)

    def results(variant_id):
        return {case.id: r for case in cases
                if isinstance(r := variants.get(variant_id, {}).get(case.id), dict)}

    def fits(variant_id) -> bool:
        own = results(variant_id)
        compared = False
        for case in cases:
            if case.id not in own or case.id not in outcome:
                continue
            if outcome[case.id] is not None:
                if not check.shows_variant(student[case.id], own[case.id], case):
                    return False
                compared = True
            elif check.criterion(own[case.id], expected.get(case.id, {}), case) is not None:
                return False
        return compared

    fitting = [variant_id for variant_id in check.variants if fits(variant_id)]
    if len(fitting) != 1:
        return None, fitting
    named, own = fitting[0], results(fitting[0])
    alike = []
    for other in check.variants:
        if other == named:
            continue
        theirs = results(other)
        if not theirs or any(
                (case.id in own) != (case.id in theirs)  # one of them crashes there: told apart
                or (case.id in own and not check.shows_variant(own[case.id], theirs[case.id], case)
                    and not check.shows_variant(theirs[case.id], own[case.id], case)) for case in cases):
            continue
        alike.append(other)
    return (None, [named, *alike]) if alike else (named, [named])


def format_line(verdict: Verdict, title: str) -> str:
    mark = "✔" if verdict.passed else "✘"
    line = f"{mark} {verdict.score:g}/{verdict.max_score:g}  {verdict.check_id}: {title}"
    if not verdict.passed:
        line += f"\n      → {verdict.message}"
    return line


_LINE = re.compile(r"^([✔✘]) ([0-9.e+-]+)/([0-9.e+-]+)  \S+: ")


def parse_line(line: str) -> tuple[bool, float, float] | None:
    """(passed, score, max_score) of a check's line as ``format_line`` wrote it (``xai-kurs check`` adds up the
    points of a notebook's test cells from their output); None for any other line."""
    match = _LINE.match(line)
    if not match:
        return None
    try:
        return match.group(1) == "✔", float(match.group(2)), float(match.group(3))
    except ValueError:
        return None


# --- task titles: the notebook's own headings (one source of truth) ---------------------------------

_HEADING = re.compile(r"^(#{2,3})\s+(.+?)\s*#*\s*$")
_GREEK = {r"\alpha": "α", r"\beta": "β", r"\lambda": "λ", r"\sigma": "σ", r"\theta": "θ"}
_TASK_WORD = {"de": "Aufgabe", "en": "Task"}


def _plain_heading(text: str) -> str:
    """A heading as plain text: no Markdown emphasis or code marks, simple LaTeX ($\\alpha_k$ -> α_k)."""
    def maths(match):
        body = match.group(1)
        for command, letter in _GREEK.items():
            body = body.replace(command, letter)
        return body.replace("\\", "").replace("{", "").replace("}", "")

    text = re.sub(r"\$([^$]*)\$", maths, text)
    return re.sub(r"[*`]", "", text).strip()


def task_titles(notebook) -> dict[str, str]:
    """grade_id of each graded code cell (a test cell) -> the task it belongs to, in the notebook's words:
    the "## Aufgabe N: ..." heading before it; under another level-2 heading (e.g. "## Aufgaben von den
    Folien") that heading and the "### ..." heading before the cell. ``notebook``: a path or the parsed JSON."""
    if not isinstance(notebook, dict):
        notebook = json.loads(Path(notebook).read_text(encoding="utf-8"))
    titles: dict[str, str] = {}
    section, subsection = None, None
    for cell in notebook.get("cells", []):
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        nbgrader = (cell.get("metadata") or {}).get("nbgrader") or {}
        if cell.get("cell_type") == "markdown":
            fenced = False
            for line in source.splitlines():
                if line.lstrip().startswith("```"):
                    fenced = not fenced
                match = None if fenced else _HEADING.match(line)
                if not match or match.group(2).strip().upper().startswith(("BEGIN SOLUTION", "END SOLUTION")):
                    continue
                if len(match.group(1)) == 2:
                    section, subsection = _plain_heading(match.group(2)), None
                else:
                    subsection = _plain_heading(match.group(2))
        elif cell.get("cell_type") == "code" and nbgrader.get("grade") and nbgrader.get("grade_id"):
            if section and (re.match(rf"{_TASK_WORD['de']}\s+\d", section) or not subsection):
                titles[nbgrader["grade_id"]] = section
            elif section or subsection:
                titles[nbgrader["grade_id"]] = " – ".join(t for t in (section, subsection) if t)
    return titles


def localise_title(title: str, language: str) -> str:
    """The notebook's (German) title in ``language``: "Aufgabe 2: ..." -> "Task 2: ..." in English."""
    if language == "de":
        return title
    return re.sub(rf"^{_TASK_WORD['de']}(?=\s+\d)", _TASK_WORD.get(language, _TASK_WORD["de"]), title)


# --- the released data of the public case ----------------------------------------------------------

@dataclass
class PublicData:
    """``public_checks.npz``: the reference's results on the public cases, and for the public checks the
    known mistakes they can name — under neutral labels (``m0``, ``m1``, ...) with their messages and
    their results on the public cases. No reference code, no hidden input, no variant's name."""

    seed: int
    expected: dict
    variants: dict  # label -> case id -> result
    diagnoses: dict  # check id -> labels
    messages: dict  # label -> {"de": ..., "en": ...}

    def exercise(self, name: str) -> Exercise:
        return Exercise(name, self.diagnoses, self.messages)


def load_public(path: Path) -> PublicData:
    expected: dict = {}
    variants: dict = {}
    diagnoses: dict = {}
    messages: dict = {}
    with np.load(path, allow_pickle=False) as data:
        seed = int(data["meta|seed"])
        for name in data.files:
            parts = name.split("|")
            if parts[0] == "expected":
                expected.setdefault(parts[1], {})[parts[2]] = data[name]
            elif parts[0] == "variant":
                variants.setdefault(parts[1], {}).setdefault(parts[2], {})[parts[3]] = data[name]
            elif parts[0] == "diagnosis":
                diagnoses[parts[1]] = tuple(str(label) for label in data[name])
            elif parts[0] == "message":
                messages.setdefault(parts[1], {})[parts[2]] = str(data[name])
    return PublicData(seed, expected, variants, diagnoses, messages)
