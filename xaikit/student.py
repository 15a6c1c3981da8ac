"""`xai-kurs`: the student kit's command (student side; needs nothing of the grader).

    xai-kurs setup [ORDNER]      copy the exercise notebooks into ORDNER (default: ./xai-kurs) and
                                 register this environment as the Jupyter kernel `xai-course`
    xai-kurs check NOTEBOOK      run the notebook top to bottom and print the public self-check
                                 (exit 0 only when every public check passes)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

KERNEL_NAME = "xai-course"
COURSE = Path(__file__).resolve().parent / "course"  # the release notebooks, put here by `xaigrade student-kit`


def assignments() -> list[str]:
    return sorted(p.name for p in COURSE.iterdir() if p.is_dir()) if COURSE.is_dir() else []


def install_kernel(user: bool = False) -> None:
    """Register this Python as the kernel the notebooks ask for (``xai-course``)."""
    where = ["--user"] if user else ["--sys-prefix"]
    subprocess.run([sys.executable, "-m", "ipykernel", "install", *where, "--name", KERNEL_NAME,
                    "--display-name", "XAI Vorlesung 5 (Python 3)"], check=True, stdout=subprocess.DEVNULL)


def setup(target: Path, user_kernel: bool = False) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in assignments():
        destination = target / name
        if destination.exists():
            print(f"{destination} gibt es schon / exists already: nicht überschrieben / not overwritten")
            continue
        shutil.copytree(COURSE / name, destination)
        print(f"{destination}")
    install_kernel(user_kernel)
    print(f"Jupyter-Kernel `{KERNEL_NAME}` eingerichtet / kernel registered: {sys.executable}")
    return target


def check(notebook: Path, timeout: float = 600.0) -> int:
    """Run the notebook (in its folder, with the course kernel) and report its self-check cells."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(str(notebook), as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name=KERNEL_NAME, allow_errors=True,
                            resources={"metadata": {"path": str(notebook.parent)}})
    client.execute()
    from .selfcheck.core import task_titles

    titles = task_titles(nb)  # the tasks as the notebook's headings name them, not the test cells' ids
    passed = failed = 0
    for cell in nb.cells:
        grade = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or not grade.get("grade") or grade.get("solution"):
            continue
        title = titles.get(grade.get("grade_id"), "")
        if title:
            print(title)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                for line in output.get("text", "").splitlines():
                    if line.strip():
                        print(line)
                        passed += line.startswith("✔")
                        failed += line.startswith("✘")
            elif output.get("output_type") == "error" and output.get("ename") != "AssertionError":
                print(f"✘ {title or grade.get('grade_id')}: {output.get('ename')}: {output.get('evalue')}")
                failed += 1
    print(f"{'✔' if not failed and passed else '✘'} {passed} bestanden / passed, {failed} nicht / failed")
    return 0 if passed and not failed else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="xai-kurs", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_setup = sub.add_parser("setup", help="Notebooks kopieren, Kernel einrichten / copy notebooks, register kernel")
    p_setup.add_argument("folder", nargs="?", default="xai-kurs")
    p_setup.add_argument("--user", action="store_true", help="kernel for this user instead of this environment")
    p_check = sub.add_parser("check", help="Notebook ausführen und selbst prüfen / run and self-check a notebook")
    p_check.add_argument("notebook")
    args = parser.parse_args(argv)
    if args.command == "setup":
        setup(Path(args.folder), args.user)
        return 0
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return check(Path(args.notebook).resolve())


if __name__ == "__main__":
    sys.exit(main())
