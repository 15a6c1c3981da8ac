"""The student kit: built by `xaigrade student-kit`, installed alone into a fresh environment.

The fresh venv sees the pinned libraries of this project's environment through a .pth file (installing
torch and TensorFlow again would take minutes), but not this project: the editable install of
``autograder``/``xaikit`` is not in that path (its finder is a .pth file of the project's site-packages,
which Python does not run for a path added by another .pth) and the working directory is elsewhere.
Then: ``import autograder`` and ``import reference_solutions`` fail there; every release notebook runs
top to bottom with the kit's kernel; the self-check passes on the full example solutions and fails with
its messages on a buggy one; and nothing of the grader side is in the installed kit.
"""

from __future__ import annotations

import ast
import io
import os
import re
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.config import PROJECT_ROOT
from autograder.exercises import assignments
from autograder.secret import secret_path

EXAMPLES = PROJECT_ROOT / "examples" / "submissions"


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    root = tmp_path_factory.mktemp("kit")
    built = subprocess.run([str(Path(sys.executable).parent / "xaigrade"), "student-kit", str(root / "dist"),
                            "--course-dir", str(PROJECT_ROOT)], capture_output=True, text=True, cwd=root)
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next((root / "dist").glob("*.whl"))
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "pinned_libraries.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # torch, TF, ... of ours
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(root / "home"), "LANG": "C.UTF-8",
           "TF_CPP_MIN_LOG_LEVEL": "3", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    (root / "home").mkdir()
    install = subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel)],
                             capture_output=True, text=True, cwd=root, env=env)
    assert install.returncode == 0, install.stderr[-2000:]
    work = root / "work"
    setup = subprocess.run([str(venv / "bin" / "xai-kurs"), "setup", str(work)], capture_output=True, text=True,
                           cwd=root, env=env)
    assert setup.returncode == 0, setup.stderr[-2000:]
    return {"root": root, "python": python, "env": env, "work": work, "site": site, "wheel": wheel, "venv": venv}


def _run(kit, *args, cwd=None):
    return subprocess.run([str(kit["python"]), *args], capture_output=True, text=True, cwd=cwd or kit["root"],
                          env=kit["env"])


def test_the_grader_is_not_importable_and_the_kit_is(kit):
    for module in ("autograder", "autograder.checks", "reference_solutions", "reference_solutions.hidden"):
        done = _run(kit, "-c", f"import {module}")
        assert done.returncode != 0 and "ModuleNotFoundError" in done.stderr, module
    done = _run(kit, "-c", "import xaikit, xaikit.selfcheck, torch, sklearn; print(xaikit.__file__)")
    assert done.returncode == 0, done.stderr[-1000:]
    assert done.stdout.strip().startswith(str(kit["site"]))  # the kit's own copy, not the project's


def _check(kit, folder: Path, name: str, *options: str):
    return subprocess.run([str(kit["venv"] / "bin" / "xai-kurs"), "check", str(folder / f"{name}.ipynb"), *options],
                          capture_output=True, text=True, cwd=kit["root"], env=kit["env"], timeout=900)


# what issue 23's student saw in every run, in the terminal or in the notebook's outputs
NOISE = ("absl::InitializeLog", "oneDNN custom operations", "without encryption", "IProgress not found")


@pytest.mark.parametrize("name", assignments())
def test_the_full_solution_runs_top_to_bottom_and_passes_its_self_check(kit, name):
    """`xai-kurs check --save`: every public check passes, the summary counts points (the notebook's test cells'
    points, in German only), the file keeps the run's outputs (what is handed in) and neither holds the noise."""
    folder = kit["work"] / f"full_{name}"
    folder.mkdir()
    for item in (kit["work"] / name).iterdir():
        if item.suffix != ".ipynb":
            (folder / item.name).write_bytes(item.read_bytes())
    (folder / f"{name}.ipynb").write_bytes((EXAMPLES / "full_solution" / name / f"{name}.ipynb").read_bytes())
    done = _check(kit, folder, name, "--save")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "✘" not in done.stdout and done.stdout.count("✔") >= 3
    release = nbformat.read(str(kit["work"] / name / f"{name}.ipynb"), as_version=4)
    points = sum(float(c.metadata["nbgrader"].get("points") or 0) for c in release.cells
                 if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata["nbgrader"].get("solution"))
    assert f"✔ {points:g}/{points:g} Punkte in den öffentlichen Prüfungen" in done.stdout, done.stdout[-1500:]
    assert not re.search(r"\b(passed|failed|points)\b", done.stdout), done.stdout[-1500:]  # one language
    saved = nbformat.read(str(folder / f"{name}.ipynb"), as_version=4)
    code = [c for c in saved.cells if c.cell_type == "code"]
    assert code and all(c.execution_count for c in code)  # the run's outputs are in the file
    shown = done.stdout + done.stderr + "".join(str(o.get("text", "")) for c in code for o in c.get("outputs", []))
    assert [n for n in NOISE if n in shown] == [], [line for line in shown.splitlines() if any(n in line for n in NOISE)]


def test_every_release_notebook_runs_top_to_bottom(kit):
    """Blank solutions raise NotImplementedError; everything else (imports, data, models, demo cells) runs."""
    for name in assignments():
        notebook = kit["work"] / name / f"{name}.ipynb"
        before = notebook.read_bytes()
        done = _check(kit, kit["work"] / name, name)
        assert done.returncode == 1, done.stderr[-2000:]
        assert notebook.read_bytes() == before  # (without --save the file stays as it was)
        assert re.search(r"^✘ 0/[1-9]\d* Punkte in den öffentlichen Prüfungen$", done.stdout, re.M), done.stdout[-1500:]
        errors = re.findall(r"✘ \S+: (\w+Error)", done.stdout)
        assert set(errors) <= {"NotImplementedError"}, (name, done.stdout[-3000:])
        assert "noch nicht implementiert" in done.stdout, (name, done.stdout[-2000:])


def test_the_self_check_fails_with_its_messages_on_a_buggy_solution(kit):
    folder = kit["work"] / "buggy_axis"
    folder.mkdir()
    (folder / "public_checks.npz").write_bytes((kit["work"] / "pdp" / "public_checks.npz").read_bytes())
    (folder / "pdp.ipynb").write_bytes((EXAMPLES / "buggy_axis" / "pdp" / "pdp.ipynb").read_bytes())
    done = _check(kit, folder, "pdp")
    assert done.returncode == 1
    assert "✘" in done.stdout and "falsche Achse" in done.stdout, done.stdout[-3000:]  # the mistake, named


def _kit_texts(kit) -> dict[str, str]:
    """Every file of the installed kit as text; npz archives as their entry names and string values."""
    import numpy as np

    texts = {}
    roots = [kit["site"] / "xaikit", *kit["site"].glob("xai_kurs-*.dist-info")]
    for root in roots:
        for path in root.rglob("*"):
            if not path.is_file():
                continue
            data = path.read_bytes()
            if path.suffix == ".npz":
                with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                    texts[str(path)] = "\n".join(archive.files) + "\n".join(
                        str(archive[f]) for f in archive.files if archive[f].dtype.kind == "U")
            else:
                texts[str(path)] = data.decode("utf-8", "replace")
    with zipfile.ZipFile(kit["wheel"]) as wheel:  # (the wheel itself: the same files)
        assert not [n for n in wheel.namelist() if n.startswith(("autograder", "reference_solutions"))]
    return texts


def test_the_installed_kit_holds_nothing_of_the_grader_side(kit):
    texts = _kit_texts(kit)
    assert len(texts) > 40
    sys.path.insert(0, str(PROJECT_ROOT))
    import importlib

    forbidden = {"build_hidden_cases", "reference_solutions", "HIDDEN_CONFIG", "HIDDEN_EMBEDDED", "HIDDEN_SMALL",
                 "HIDDEN_FEATURES", "DIAGNOSES", "20261125"}
    secret = secret_path(PROJECT_ROOT)
    if secret.exists():
        forbidden.add(secret.read_text().strip())
    for name in assignments():
        reference = importlib.import_module(f"reference_solutions.{name}")
        own_keys = set(importlib.import_module(f"xaikit.selfcheck.exercises.{name}").MESSAGES)
        forbidden |= set(reference.VARIANTS) - own_keys  # (a flag check's own message may share a variant's name)
        source = Path(reference.__file__).read_text()
        for node in ast.walk(ast.parse(source)):  # every reference and variant function, by its body
            if isinstance(node, ast.FunctionDef) and len(node.body) > 1:
                body = ast.get_source_segment(source, node.body[-1])
                if body and len(body) > 30:
                    forbidden.add(body)
        alternatives = importlib.import_module(f"reference_solutions.alternatives.{name}")
        forbidden |= set(alternatives.ALTERNATIVES)  # correct solutions written otherwise: their names and bodies
        source = Path(alternatives.__file__).read_text()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef) and len(node.body) > 3:
                body = ast.get_source_segment(source, node.body[-2])  # (the last is often a plain return)
                if body and len(body) > 30:
                    forbidden.add(body)
        hidden = importlib.import_module(f"reference_solutions.hidden.{name}")
        forbidden |= {n for n, v in vars(hidden).items() if callable(v) and getattr(v, "__module__", "") == hidden.__name__
                      and not n.startswith("_")}  # (private helpers have generic names such as `_case`)
    found = {(needle[:60], Path(path).name) for path, text in texts.items() for needle in forbidden if needle in text}
    assert not found, sorted(found)
