"""`xai-kurs`: the student kit's command (student side; needs nothing of the grader).

    xai-kurs setup [ORDNER]          copy the exercise notebooks into ORDNER (default: ./xai-kurs) and
                                     register this environment as the Jupyter kernel `xai-course`
                                     (shown as "XAI Vorlesung 5 (Python 3)")
    xai-kurs check NOTEBOOK [--save] run the notebook top to bottom and print the public self-check with its
                                     points (exit 0 only when every public check passes); --save writes the
                                     run's outputs into the notebook (the file to hand in)

Messages in German; XAI_COURSE_LANGUAGE=en for English (as the notebooks' test cells).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

KERNEL_NAME = "xai-course"
KERNEL_DISPLAY_NAME = "XAI Vorlesung 5 (Python 3)"  # what Jupyter's and VS Code's kernel pickers show
COURSE = Path(__file__).resolve().parent / "course"  # the release notebooks, put here by `xaigrade student-kit`

TEXTS = {
    "exists": {"de": "{path} gibt es schon: nicht überschrieben",
               "en": "{path} exists already: not overwritten"},
    "kernel": {"de": "Jupyter-Kernel „{display}“ (`{name}`) eingerichtet: {python}",
               "en": "Jupyter kernel \"{display}\" (`{name}`) registered: {python}"},
    "cell_error": {"de": "✘ {title}: {error}", "en": "✘ {title}: {error}"},
    "not_run": {"de": "✘ {title}: nicht ausgeführt (das Notebook wurde vorher abgebrochen)",
                "en": "✘ {title}: not run (the notebook stopped before it)"},
    "total": {"de": "{mark} {score:g}/{max_score:g} Punkte in den öffentlichen Prüfungen",
              "en": "{mark} {score:g}/{max_score:g} points in the public checks"},
    "hand": {"de": "  Dazu kommen bis zu {points:g} Punkte für Ihre Antworten auf die Fragen; sie werden von Hand "
                   "bewertet. Die Bewertung prüft mit anderen, verborgenen Eingaben.",
             "en": "  Your answers to the questions (up to {points:g} points) are graded by hand. Grading checks "
                   "with other, hidden inputs."},
    "saved": {"de": "Notebook mit den Ausgaben dieses Laufs gespeichert: {path}",
              "en": "Notebook saved with the outputs of this run: {path}"},
    "not_saved": {"de": "Ohne --save bleibt das Notebook unverändert (ohne neue Ausgaben).",
                  "en": "Without --save the notebook stays as it was (no new outputs)."},
    "kernel_died": {"de": "✘ Das Notebook wurde abgebrochen: {error}",
                    "en": "✘ The notebook was stopped: {error}"},
}


def language() -> str:
    chosen = os.environ.get("XAI_COURSE_LANGUAGE", "de")
    return chosen if chosen in ("de", "en") else "de"


def say(key: str, **params) -> str:
    return TEXTS[key][language()].format(**params)


def assignments() -> list[str]:
    return sorted(p.name for p in COURSE.iterdir() if p.is_dir()) if COURSE.is_dir() else []


def install_kernel(user: bool = False) -> None:
    """Register this Python as the kernel the notebooks ask for (``xai-course``)."""
    where = ["--user"] if user else ["--sys-prefix"]
    subprocess.run([sys.executable, "-m", "ipykernel", "install", *where, "--name", KERNEL_NAME,
                    "--display-name", KERNEL_DISPLAY_NAME], check=True, stdout=subprocess.DEVNULL)


def setup(target: Path, user_kernel: bool = False) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in assignments():
        destination = target / name
        if destination.exists():
            print(say("exists", path=destination))
            continue
        shutil.copytree(COURSE / name, destination)
        print(f"{destination}")
    install_kernel(user_kernel)
    print(say("kernel", display=KERNEL_DISPLAY_NAME, name=KERNEL_NAME, python=sys.executable))
    return target


def _kernel_manager(folder: Path):
    """The course kernel over Unix sockets where there are (as the grader runs it: no TCP port, and no "Kernel is
    running over TCP without encryption" warning), over TCP on Windows."""
    from jupyter_client.manager import AsyncKernelManager

    if os.name == "nt":
        return AsyncKernelManager(kernel_name=KERNEL_NAME)
    return AsyncKernelManager(kernel_name=KERNEL_NAME, transport="ipc", ip=str(folder / "kernel"))


def run(notebook: Path, timeout: float = 600.0):
    """The notebook executed top to bottom in its folder with the course kernel (errors kept as outputs), and the
    kernel's death if it died (else None)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    from jupyter_core.utils import run_sync

    nb = nbformat.read(str(notebook), as_version=4)
    with tempfile.TemporaryDirectory(prefix="xai-kurs-") as folder:
        km = _kernel_manager(Path(folder))
        client = NotebookClient(nb, km=km, timeout=timeout, kernel_name=KERNEL_NAME, allow_errors=True,
                                resources={"metadata": {"path": str(notebook.parent)}})
        try:
            client.execute()
        except (DeadKernelError, CellTimeoutError) as error:  # (the cells after it stay unrun: "nicht ausgeführt")
            return nb, f"{type(error).__name__}: {error}"[:300]
        finally:  # (nbclient shuts down only a kernel manager it made; left running, the kernel complains later)
            try:
                if run_sync(km.is_alive)():
                    run_sync(km.shutdown_kernel)(now=False)
            except Exception:  # noqa: BLE001 - a kernel that is gone already
                pass
    return nb, None


def summary(nb, lines: list[str] | None = None) -> tuple[float, float, float]:
    """Print (into ``lines``, else stdout) each test cell's task title and its check lines, then the points:
    (score, max_score of the public checks, points of the answers graded by hand)."""
    from .selfcheck.core import parse_line, task_titles

    out = lines.append if lines is not None else print
    titles = task_titles(nb)  # the tasks as the notebook's headings name them, not the test cells' ids
    score = max_score = hand = 0.0
    for cell in nb.cells:
        grade = cell.get("metadata", {}).get("nbgrader", {})
        points = float(grade.get("points") or 0.0)
        if grade.get("task") or (grade.get("grade") and grade.get("solution")):
            hand += points  # answers to the questions, graded by hand
            continue
        if cell.cell_type != "code" or not grade.get("grade"):
            continue
        title = titles.get(grade.get("grade_id"), "") or grade.get("grade_id", "")
        out(title)
        got = shown = 0.0
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                for line in output.get("text", "").splitlines():
                    if not line.strip():
                        continue
                    out(line)
                    parsed = parse_line(line)
                    if parsed:
                        got, shown = got + parsed[1], shown + parsed[2]
            elif output.get("output_type") == "error" and output.get("ename") != "AssertionError":
                out(say("cell_error", title=title, error=f"{output.get('ename')}: {output.get('evalue')}"))
        if not cell.get("outputs") and cell.get("execution_count") is None:
            out(say("not_run", title=title))
        cell_max = points or shown
        score += min(got, cell_max)
        max_score += cell_max
    passed = max_score > 0 and score >= max_score
    out(say("total", mark="✔" if passed else "✘", score=score, max_score=max_score))
    if hand:
        out(say("hand", points=hand))
    return score, max_score, hand


def check(notebook: Path, timeout: float = 600.0, save: bool = False) -> int:
    """Run the notebook (in its folder, with the course kernel) and report its self-check cells with points."""
    import nbformat

    nb, died = run(notebook, timeout)
    score, max_score, _ = summary(nb)
    if died:
        print(say("kernel_died", error=died))
    if save:
        scratch = notebook.with_name(f".{notebook.name}.xai-kurs.tmp")
        nbformat.write(nb, str(scratch))
        os.replace(scratch, notebook)
        print(say("saved", path=notebook))
    else:
        print(say("not_saved"))
    return 0 if max_score > 0 and score >= max_score and not died else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="xai-kurs", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_setup = sub.add_parser("setup", help="Notebooks kopieren, Kernel einrichten / copy notebooks, register kernel")
    p_setup.add_argument("folder", nargs="?", default="xai-kurs")
    p_setup.add_argument("--user", action="store_true", help="kernel for this user instead of this environment")
    p_check = sub.add_parser("check", help="Notebook ausführen und selbst prüfen / run and self-check a notebook")
    p_check.add_argument("notebook")
    p_check.add_argument("--save", action="store_true",
                         help="Ausgaben ins Notebook schreiben (Abgabe) / write the outputs into the notebook")
    args = parser.parse_args(argv)
    if args.command == "setup":
        setup(Path(args.folder), args.user)
        return 0
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return check(Path(args.notebook).resolve(), save=args.save)


if __name__ == "__main__":
    sys.exit(main())
