"""Build the example submissions the demo grades: examples/submissions/<student>/<assignment>/.

For every registered assignment (autograder/exercises.py), after its release:
- ``full_solution``: the release with each solution cell replaced by the instructor's solution,
- ``blank_release``: the release as students get it,
- one student per entry of ``examples/buggy/<assignment>.py`` (``BUGGY = {student: {grade_id: code}}``):
  the full solution with those cells replaced by realistic mistakes.
Run: ``python examples/build_examples.py`` (after `xaigrade release`).
"""

from __future__ import annotations

import copy
import importlib.util
import re
import shutil
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "examples" / "submissions"
MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.MULTILINE)


def solution_sources(source_nb) -> dict[str, str]:
    return {cell.metadata["nbgrader"]["grade_id"]: MARKERS.sub("", cell.source).strip("\n")
            for cell in source_nb.cells if cell.metadata.get("nbgrader", {}).get("solution")}


def build(assignment: str) -> list[str]:
    release_file = ROOT / "release" / assignment / f"{assignment}.ipynb"
    buggy_file = ROOT / "examples" / "buggy" / f"{assignment}.py"
    if not buggy_file.exists():  # (an exercise without them would have no wrong submission in the demo)
        raise SystemExit(f"examples/buggy/{assignment}.py is missing: every exercise has realistic wrong submissions "
                         "for the demo, BUGGY = {student: {grade_id: code}} (docs/adding_an_exercise.md)")
    if not release_file.exists():
        raise SystemExit(f"release/{assignment}/{assignment}.ipynb not found: run `xaigrade release {assignment}` first")
    release_nb = nbformat.read(release_file, as_version=4)
    solutions = solution_sources(nbformat.read(ROOT / "source" / assignment / f"{assignment}.ipynb", as_version=4))
    variants = {"full_solution": {}, "blank_release": None}
    spec = importlib.util.spec_from_file_location(f"buggy_{assignment}", buggy_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    variants.update(module.BUGGY)
    written = []
    for student, replacements in variants.items():
        nb = copy.deepcopy(release_nb)
        if replacements is not None:
            for cell in nb.cells:
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                if grade_id in replacements:
                    cell.source = replacements[grade_id].strip("\n")
                elif grade_id in solutions:
                    cell.source = solutions[grade_id]
        target = SUBMISSIONS / student / assignment / f"{assignment}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
        written.append(str(target.relative_to(ROOT)))
    return written


def main(assignments: list[str]) -> None:
    from autograder.exercises import assignments as registered

    names = assignments or registered()
    for name in names:
        for path in build(name):
            print(path)


if __name__ == "__main__":
    main(sys.argv[1:])
