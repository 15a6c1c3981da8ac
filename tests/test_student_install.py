"""The kit installs CPU-only (issue 23): a student who installs PyTorch's CPU build first keeps it.

`pip install` of the kit alone pulled the CUDA build of torch with the nvidia-* wheels (a 7.6 GB environment on a
CPU-only laptop). The students' README now installs torch and torchvision from PyTorch's CPU index first, with the
kit's pinned versions, and the kit's pins (``torch==2.14.1``, no local label) accept those builds (``2.14.1+cpu``).

What can be tested on this machine (its registries reach PyPI, not PyTorch's CPU index, whose host does not
resolve here): ``pip install --dry-run --report`` of the kit's wheel into a fresh environment that holds
distributions named and versioned as the CPU builds (``torch 2.14.1+cpu``, ``torchvision 0.29.1+cpu``; their
metadata as in PyTorch's CPU wheels: no nvidia-*, no triton) plans no second torch, no torchvision, no nvidia-*,
cuda-* or triton; the same without them plans the CUDA build (the control). And the kit's notebooks run on a real
CPU-only build of torch (``2.13.0+cpu``, the one lying on this machine's disk; torchvision is left out: its partner on this
machine's disk, 0.28.0, is a CUDA build and fails beside it with "operator torchvision::nms does not exist", so
Grad-CAM, whose MiniResNet uses torchvision's BasicBlock, is not run there).
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from autograder.config import PROJECT_ROOT
from autograder.student_kit import REQUIREMENTS, TORCH, TORCH_CPU_INDEX, readme

EXAMPLES = PROJECT_ROOT / "examples" / "submissions"
# torch's requirements as its CPU wheels state them (torch-2.13.0+cpu's METADATA; 2.14.1's CUDA wheel has the same
# and adds cuda-toolkit, nvidia-* and triton)
TORCH_CPU_REQUIRES = ["filelock", "typing-extensions>=4.10.0", "setuptools>=77.0.3", "sympy>=1.13.3",
                      "networkx>=2.5.1", "jinja2", "fsspec>=0.8.5"]
CUDA_PARTS = ("nvidia-", "nvidia_", "cuda-", "cuda_", "triton")


def _metadata_wheel(folder: Path, name: str, version: str, requires: list[str]) -> Path:
    """A wheel holding only a distribution's metadata: what pip's resolver reads of an installed torch."""
    dist = f"{name}-{version}.dist-info"
    files = {f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nRequires-Python: >=3.10\n"
                                 + "".join(f"Requires-Dist: {r}\n" for r in requires),
             f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}

    def digest(text):
        return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()

    files[f"{dist}/RECORD"] = "".join(f"{path},sha256={digest(text)},{len(text.encode())}\n"
                                      for path, text in files.items()) + f"{dist}/RECORD,,\n"
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    target = tmp_path_factory.mktemp("kit")
    built = subprocess.run([str(Path(sys.executable).parent / "xaigrade"), "student-kit", str(target),
                            "--course-dir", str(PROJECT_ROOT)], capture_output=True, text=True, cwd=target)
    assert built.returncode == 0, built.stderr[-2000:]
    return next(target.glob("*.whl"))


def _planned(venv: Path, wheel: Path, tmp_path: Path) -> dict[str, str]:
    """name -> version of everything `pip install WHEEL` would install into ``venv`` (a dry run: nothing is)."""
    report = tmp_path / f"{venv.name}-report.json"
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--dry-run", "--quiet",
                           "--report", str(report), str(wheel)], capture_output=True, text=True, timeout=420)
    assert done.returncode == 0, done.stderr[-3000:]
    return {item["metadata"]["name"].lower().replace("_", "-"): item["metadata"]["version"]
            for item in json.loads(report.read_text())["install"]}


def test_the_kit_keeps_a_cpu_build_of_torch_installed_first_and_brings_no_cuda(wheel, tmp_path):
    cpu, plain = tmp_path / "cpu", tmp_path / "plain"
    for venv in (cpu, plain):
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    torch_version, vision_version = (requirement.split("==")[1] for requirement in TORCH)
    stubs = [_metadata_wheel(tmp_path, "torch", f"{torch_version}+cpu", TORCH_CPU_REQUIRES),
             _metadata_wheel(tmp_path, "torchvision", f"{vision_version}+cpu",
                             ["numpy", f"torch=={torch_version}", "pillow!=8.3.*,>=5.3.0"])]
    subprocess.run([str(cpu / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    *map(str, stubs)], check=True)
    planned = _planned(cpu, wheel, tmp_path)
    assert planned.get("xai-kurs") == "0.1.0" and planned.get("tensorflow-cpu") == "2.21.0", sorted(planned)
    assert "torch" not in planned and "torchvision" not in planned, planned
    assert [name for name in planned if name.startswith(CUDA_PARTS)] == []
    # the control: without the CPU build installed first, the same install brings torch with CUDA
    planned = _planned(plain, wheel, tmp_path)
    assert planned.get("torch") == torch_version
    assert [name for name in planned if name.startswith(("nvidia-", "nvidia_"))], sorted(planned)


def test_the_students_readme_installs_the_cpu_build_first_with_the_kits_pins(wheel):
    text = readme(wheel.name)
    command = f"pip install {' '.join(TORCH)} --index-url {TORCH_CPU_INDEX}"
    assert command in text and text.index(command) < text.index(f"pip install {wheel.name}")
    assert set(TORCH) <= set(REQUIREMENTS)
    assert "nbconvert==" in " ".join(REQUIREMENTS)  # `jupyter nbconvert --execute`, as the README says
    assert "jupyter nbconvert --to notebook --execute" in text and "check --save" in text


def test_the_readme_names_the_kernel_as_the_kernel_picker_shows_it(wheel):
    """The name students pick in Jupyter or VS Code is the display name the notebooks ask for, not `xai-course`."""
    import json

    from xaikit.student import KERNEL_DISPLAY_NAME, KERNEL_NAME

    text = readme(wheel.name)
    for notebook in sorted((PROJECT_ROOT / "release").glob("*/*.ipynb")):
        spec = json.loads(notebook.read_text())["metadata"]["kernelspec"]
        assert (spec["name"], spec["display_name"]) == (KERNEL_NAME, KERNEL_DISPLAY_NAME), notebook
    german, english = text.split("## English")
    assert f"„{KERNEL_DISPLAY_NAME}“" in german.split("## JupyterHub")[0]
    assert f'"{KERNEL_DISPLAY_NAME}"' in english


CPU_TORCH = Path("/opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl")  # see PLATFORM-NOTES.md


@pytest.mark.skipif(not CPU_TORCH.exists(), reason="no CPU-only torch wheel on this machine's disk")
def test_the_notebooks_run_on_a_cpu_only_torch_without_triton(wheel, tmp_path):
    """torch 2.13.0+cpu (no CUDA, no triton) in a fresh venv; the other libraries are this project's, seen through a
    folder of links that leaves out torch, torchvision, triton and nvidia-*; then the kit (no deps) and its check of
    the full CLIP and counterfactual solutions (torch and TensorFlow in one kernel: xaikit's guard without triton)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(CPU_TORCH)],
                   check=True, timeout=300)
    libraries = tmp_path / "libraries"
    libraries.mkdir()
    ours = Path(sysconfig.get_paths()["purelib"])
    for entry in ours.iterdir():
        if entry.suffix == ".pth" or entry.name.lower().startswith(
                ("torch", "functorch", "triton", "nvidia", "cuda", "xaikit", "xai_course", "__editable__")):
            continue
        (libraries / entry.name).symlink_to(entry)
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "libraries.pth").write_text(f"{libraries}\n")
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path / "home"), "LANG": "C.UTF-8",
           "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    (tmp_path / "home").mkdir()
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
                   check=True, env=env)
    probe = subprocess.run([str(python), "-c", "import importlib.util, torch; print(torch.__version__, "
                            "torch.version.cuda, importlib.util.find_spec('triton'))"],
                           capture_output=True, text=True, env=env)
    assert probe.stdout.split() == ["2.13.0+cpu", "None", "None"], probe.stdout + probe.stderr[-1000:]
    work = tmp_path / "work"
    subprocess.run([str(venv / "bin" / "xai-kurs"), "setup", str(work)], check=True, env=env, capture_output=True)
    for name in ("counterfactual", "clip"):
        notebook = work / name / f"{name}.ipynb"
        notebook.write_bytes((EXAMPLES / "full_solution" / name / f"{name}.ipynb").read_bytes())
        done = subprocess.run([str(venv / "bin" / "xai-kurs"), "check", str(notebook)], capture_output=True,
                              text=True, env={**env, "XAI_COURSE_LANGUAGE": "en"}, timeout=600, cwd=tmp_path)
        assert done.returncode == 0, (name, done.stdout[-3000:], done.stderr[-2000:])
        assert "✘" not in done.stdout and "points in the public checks" in done.stdout, done.stdout[-2000:]
