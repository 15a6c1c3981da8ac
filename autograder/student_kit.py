"""`xaigrade student-kit [DIR]`: the wheel students install — the student side only.

It holds ``xaikit`` (embedded models and data, the public self-check: probes, public cases, criteria,
messages, the probe runner), the release notebooks with their ``public_checks.npz`` (as
``xaikit/course/<assignment>/``), the student command ``xai-kurs`` and a README for students (German
and English). Nothing of the grader: no ``autograder``, no ``reference_solutions`` (reference,
variants, hidden case builders), no course secret. ``tests/test_student_kit.py`` installs it into a
fresh environment and searches it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .config import PROJECT_ROOT

KIT_NAME = "xai-kurs"
VERSION = "0.1.0"
# What the notebooks need, pinned as on the course machine (pyproject.toml); torch/torchvision first.
REQUIREMENTS = ["torch==2.14.1", "torchvision==0.29.1", "tensorflow-cpu==2.21.0", "keras==3.15.1",
                "transformers==5.23.0", "tokenizers==0.23.3", "safetensors==0.8.0", "numpy==2.4.6", "pandas==3.1.1",
                "scipy==1.17.1", "scikit-learn==1.9.1", "scikit-image==0.26.0", "matplotlib==3.11.2",
                "ipykernel==7.4.0", "nbclient==0.11.0", "nbformat==5.11.1", "jupyter_client==8.10.0"]
NOT_SHIPPED = ("training", "__pycache__")  # xaikit/training: how the embedded weights were made (not needed)

README = """# XAI-Kurs, Vorlesung 5 — Übungen / exercises

## Deutsch

**Einrichten (ein Befehl, Python 3.11):**

```bash
python3.11 -m venv xai && xai/bin/pip install {wheel} && xai/bin/xai-kurs setup
```

Das installiert die Bibliotheken der Übungen (PyTorch, TensorFlow, transformers, scikit-learn, ...; einige GB),
kopiert die Notebooks nach `./xai-kurs/<aufgabe>/` und richtet den Jupyter-Kernel **`xai-course`** ein, den die
Notebooks verlangen. Öffnen Sie die Notebooks dann in JupyterLab (`xai/bin/pip install jupyterlab`,
`xai/bin/jupyter lab`) oder in VS Code und wählen Sie den Kernel „XAI Vorlesung 5“.

**Selbst prüfen:** Jede Testzelle eines Notebooks führt die öffentlichen Prüfungen ihrer Aufgabe aus und zeigt
eine Zeile pro Prüfung (✔/✘, Punkte, bei ✘ eine Erklärung). Das ganze Notebook prüfen Sie mit
`xai/bin/xai-kurs check xai-kurs/pdp/pdp.ipynb` (Rückgabewert 0 nur, wenn alles bestanden ist). Die Bewertung
verwendet andere, verborgene Eingaben (andere Modelle, Merkmale, Bilder, Klassen): Bestehen Sie die öffentlichen
Prüfungen, ist das ein gutes Zeichen, aber keine Garantie. Lassen Sie die Datei `public_checks.npz` neben dem
Notebook liegen und verändern Sie die Testzellen nicht (sie werden bei der Bewertung ohnehin ersetzt).

**Abgeben:** Speichern Sie das Notebook und laden Sie genau diese eine Datei (`<aufgabe>.ipynb`) in Moodle hoch.

## English

**Set-up (one command, Python 3.11):** as above: `python3.11 -m venv xai && xai/bin/pip install {wheel} &&
xai/bin/xai-kurs setup` installs the libraries, copies the notebooks to `./xai-kurs/<assignment>/` and registers the
Jupyter kernel **`xai-course`** the notebooks ask for. Open them in JupyterLab or VS Code with that kernel.

**Self-check:** every test cell runs the public checks of its task and prints one line per check; for a whole
notebook run `xai/bin/xai-kurs check xai-kurs/pdp/pdp.ipynb` (exit code 0 only when all pass; messages in English:
`XAI_COURSE_LANGUAGE=en`). Grading uses other, hidden inputs: passing the public checks is a good sign, not a
guarantee. Keep `public_checks.npz` beside the notebook and leave the test cells as they are.

**Hand-in:** save the notebook and upload that one file (`<assignment>.ipynb`) to Moodle.

## JupyterHub / JupyterLab (for the course's administrators)

Install this wheel into the environment the single-user servers run (Python 3.11; `pip install {wheel}`; torch and
torchvision first where they come from a local mirror), then register the kernel the notebooks name, `xai-course`,
for everyone: `python -m ipykernel install --sys-prefix --name xai-course --display-name "XAI Vorlesung 5 (Python 3)"`
(what `xai-kurs setup` does). Hand out the notebooks with `xai-kurs setup <folder>` or nbgitpuller from the release
folder. No network access is needed at run time (`HF_HUB_OFFLINE=1` is fine): every model and data set is in the
wheel. Pinned versions: {requirements}.
"""


def _pyproject() -> str:
    requirements = ",\n    ".join(f'"{r}"' for r in REQUIREMENTS)
    return f"""[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{KIT_NAME}"
version = "{VERSION}"
description = "XAI-Kurs, Vorlesung 5: Übungsnotebooks, eingebettete Modelle und öffentliche Selbstprüfung"
requires-python = ">=3.11,<3.12"
readme = "README.md"
dependencies = [
    {requirements},
]

[project.scripts]
xai-kurs = "xaikit.student:main"

[tool.setuptools.packages.find]
include = ["xaikit*"]

[tool.setuptools.package-data]
xaikit = ["data/*", "weights/*", "weights/**/*", "course/*/*"]
"""


def build_student_kit(target: Path, release_root: Path | None = None) -> Path:
    """Build the wheel into ``target``; returns its path."""
    release_root = Path(release_root or PROJECT_ROOT / "release")
    target = Path(target).resolve()
    target.mkdir(parents=True, exist_ok=True)
    wheel_name = f"{KIT_NAME.replace('-', '_')}-{VERSION}-py3-none-any.whl"
    with tempfile.TemporaryDirectory(prefix="xaigrade-kit-") as scratch:
        stage = Path(scratch) / "kit"
        shutil.copytree(PROJECT_ROOT / "xaikit", stage / "xaikit", ignore=shutil.ignore_patterns(*NOT_SHIPPED, "course"))
        for folder in sorted(p for p in release_root.iterdir() if p.is_dir()):
            shutil.copytree(folder, stage / "xaikit" / "course" / folder.name,
                            ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        (stage / "pyproject.toml").write_text(_pyproject())
        (stage / "README.md").write_text(README.format(wheel=wheel_name, requirements=", ".join(REQUIREMENTS)))
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                        "--wheel-dir", str(target), str(stage)], check=True)
        shutil.copyfile(stage / "README.md", target / "README.md")
    return target / wheel_name
