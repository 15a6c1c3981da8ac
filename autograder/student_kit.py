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
# What the notebooks need, pinned as on the course machine (pyproject.toml). torch and torchvision are pinned
# without a local version label, so the CPU builds (2.14.1+cpu, 0.29.1+cpu) installed first satisfy them and pip
# keeps them (PEP 440: `==2.14.1` ignores a candidate's `+cpu`); nothing else here asks for torch or nvidia-*.
TORCH = ["torch==2.14.1", "torchvision==0.29.1"]
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"  # PyTorch's own index of CPU-only builds
REQUIREMENTS = [*TORCH, "tensorflow-cpu==2.21.0", "keras==3.15.1", "transformers==5.23.0", "tokenizers==0.23.3",
                "safetensors==0.8.0", "huggingface_hub==2.4.0", "numpy==2.4.6", "pandas==3.1.1", "scipy==1.17.1",
                "scikit-learn==1.9.1", "scikit-image==0.26.0", "matplotlib==3.11.2", "ipykernel==7.4.0",
                "nbclient==0.11.0", "nbconvert==7.17.2", "nbformat==5.11.1", "jupyter_client==8.10.0"]
JUPYTERLAB = "jupyterlab==4.6.6"  # the version the course machine runs (nbgrader 0.9.6 brings it)
NOT_SHIPPED = ("training", "__pycache__")  # xaikit/training: how the embedded weights were made (not needed)

README = """# XAI-Kurs, Vorlesung 5 — Übungen / exercises

## Deutsch

**Einrichten (Python 3.11; eine GPU brauchen Sie nicht).** Installieren Sie zuerst PyTorch in der CPU-Version,
dann das Kit:

```bash
python3.11 -m venv xai
xai/bin/pip install {torch} --index-url {cpu_index}
xai/bin/pip install {wheel}
xai/bin/xai-kurs setup
```

(Unter Windows: `py -3.11 -m venv xai` und `xai\\Scripts\\pip`, `xai\\Scripts\\xai-kurs`.) Die zweite Zeile holt PyTorch
ohne CUDA; ohne sie installiert `pip` unter Linux die CUDA-Version mit den NVIDIA-Bibliotheken (die Umgebung wird
dann etwa 7,6 GB groß). Das Kit verlangt genau diese Versionen und lässt die CPU-Version stehen. Die dritte Zeile
installiert die übrigen Bibliotheken (TensorFlow, transformers, scikit-learn, ...), `setup` kopiert die Notebooks
nach `./xai-kurs/<aufgabe>/` und richtet den Jupyter-Kernel ein, den die Notebooks verlangen: in der Kernel-Auswahl
heißt er **„{display}“** (intern `{kernel}`).

**Bearbeiten:** in JupyterLab (`xai/bin/pip install {jupyterlab}`, dann `xai/bin/jupyter lab`) oder in VS Code;
wählen Sie dort den Kernel „{display}“, falls er nicht schon gewählt ist.

**Von oben nach unten ausführen:** in JupyterLab mit *Kernel → Restart Kernel and Run All Cells…*; im Terminal mit
`xai/bin/xai-kurs check --save xai-kurs/pdp/pdp.ipynb` (führt das Notebook aus, zeigt die Selbstprüfung und
speichert die Ausgaben in der Datei) oder mit `xai/bin/jupyter nbconvert --to notebook --execute --inplace
xai-kurs/pdp/pdp.ipynb` (nur ausführen und speichern). Schließen Sie das Notebook in Jupyter vorher, damit es die
Datei nicht mit einem älteren Stand überschreibt.

**Selbst prüfen:** Jede Testzelle eines Notebooks führt die öffentlichen Prüfungen ihrer Aufgabe aus und zeigt
eine Zeile pro Prüfung (✔/✘, Punkte, bei ✘ eine Erklärung). `xai/bin/xai-kurs check xai-kurs/pdp/pdp.ipynb` prüft
das ganze Notebook und zählt die Punkte der öffentlichen Prüfungen zusammen (Rückgabewert 0 nur, wenn alle bestanden
sind; ohne `--save` bleibt die Datei unverändert). Die Bewertung verwendet andere, verborgene Eingaben (andere
Modelle, Merkmale, Bilder, Klassen): Bestehen Sie die öffentlichen Prüfungen, ist das ein gutes Zeichen, aber keine
Garantie. Lassen Sie die Datei `public_checks.npz` neben dem Notebook liegen und verändern Sie die Testzellen nicht
(sie werden bei der Bewertung ohnehin ersetzt).

**Abgeben:** Laden Sie genau die eine Datei `<aufgabe>.ipynb` in Moodle hoch, **mit Ausgaben**: Führen Sie das
Notebook vorher einmal von oben nach unten aus und speichern Sie es (oder `xai-kurs check --save`). Ihr Code wird bei
der Bewertung neu ausgeführt; die Demonstrationszellen (Abbildungen, die keine Prüfung braucht) aber nicht – von
ihnen wird die Ausgabe übernommen, die Sie abgeben, und Ihre Antworten auf die Fragen beziehen sich auf Ihre
Abbildungen.

## English

**Set-up (Python 3.11; no GPU needed):** PyTorch's CPU build first, then the kit:
`python3.11 -m venv xai`, `xai/bin/pip install {torch} --index-url {cpu_index}`, `xai/bin/pip install {wheel}`,
`xai/bin/xai-kurs setup`. Without the second command pip installs the CUDA build with NVIDIA's libraries on Linux
(an environment of about 7.6 GB); the kit asks for exactly these versions and keeps the CPU build. `setup` copies the
notebooks to `./xai-kurs/<assignment>/` and registers the Jupyter kernel the notebooks ask for: the kernel picker
shows it as **"{display}"** (its name is `{kernel}`). Open the notebooks in JupyterLab
(`xai/bin/pip install {jupyterlab}`, `xai/bin/jupyter lab`) or VS Code with that kernel.

**Run top to bottom:** JupyterLab's *Kernel → Restart Kernel and Run All Cells…*, or in a terminal
`xai/bin/xai-kurs check --save xai-kurs/pdp/pdp.ipynb` (runs it, prints the self-check, saves the outputs into the
file) or `xai/bin/jupyter nbconvert --to notebook --execute --inplace xai-kurs/pdp/pdp.ipynb` (runs and saves only);
close the notebook in Jupyter first.

**Self-check:** every test cell runs the public checks of its task and prints one line per check;
`xai/bin/xai-kurs check NOTEBOOK` runs a whole notebook and adds up the points of the public checks (exit code 0 only
when all pass; messages in English: `XAI_COURSE_LANGUAGE=en`). Grading uses other, hidden inputs: passing the public
checks is a good sign, not a guarantee. Keep `public_checks.npz` beside the notebook and leave the test cells as
they are.

**Hand-in:** upload that one file (`<assignment>.ipynb`) to Moodle **with its outputs**: run it top to bottom and
save it first (or `xai-kurs check --save`). Grading runs your code again, but not the demo cells (figures no check
needs): their outputs are taken as you hand them in, and your answers to the questions refer to your figures.

## JupyterHub / JupyterLab (for the course's administrators)

Install into the environment the single-user servers run (Python 3.11): torch and torchvision first
(`pip install {torch} --index-url {cpu_index}`, or from a local mirror), then `pip install {wheel}`. Register the
kernel the notebooks name, `{kernel}`, for everyone:
`python -m ipykernel install --sys-prefix --name {kernel} --display-name "{display}"` (what `xai-kurs setup` does).
Hand out the notebooks with `xai-kurs setup <folder>` or nbgitpuller from the release folder. No network access is
needed at run time (`HF_HUB_OFFLINE=1` is fine): every model and data set is in the wheel. Pinned versions:
{requirements}.
"""


def readme(wheel_name: str) -> str:
    """The students' README for the wheel ``wheel_name``."""
    from xaikit.student import KERNEL_DISPLAY_NAME, KERNEL_NAME

    return README.format(wheel=wheel_name, requirements=", ".join(REQUIREMENTS), torch=" ".join(TORCH),
                         cpu_index=TORCH_CPU_INDEX, display=KERNEL_DISPLAY_NAME, kernel=KERNEL_NAME,
                         jupyterlab=JUPYTERLAB)


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
        (stage / "README.md").write_text(readme(wheel_name))
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                        "--wheel-dir", str(target), str(stage)], check=True)
        shutil.copyfile(stage / "README.md", target / "README.md")
    return target / wheel_name
