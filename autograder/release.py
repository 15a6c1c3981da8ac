"""`xaigrade release`: nbgrader generate_assignment plus the public check data."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np

from .checks import Exercise
from .config import XaiGrade
from .grading import PUBLIC_DATA, compute_reference, pack_public
from .nbgrader_bridge import generate_assignment


def release_assignment(name: str, course_root: Path, release_root: Path, settings: XaiGrade) -> Path:
    """Write ``release_root/<name>/``: the student notebook and ``public_checks.npz``.

    The public data holds the reference's results (and the known-wrong variants' results) on
    the public inputs only, so `xaigrade check` can explain mistakes without reference code.
    """
    source_root = Path(course_root) / "source"
    target = Path(release_root) / name
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        generate_assignment(name, source_root, scratch / "release", f"sqlite:///{scratch / 'gradebook.db'}")
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(scratch / "release" / name, target)
    exercise = Exercise(name)
    cases = exercise.build_cases(settings.public_seed, public=True)
    expected, variants = compute_reference(exercise, cases)
    np.savez_compressed(target / PUBLIC_DATA, **pack_public(exercise, settings.public_seed, cases, expected, variants))
    _normalise_zip_timestamps(target / PUBLIC_DATA)
    return target


def _normalise_zip_timestamps(path: Path) -> None:
    """numpy writes the current time into the npz (a zip): rewrite with a fixed one so that
    releasing twice gives identical bytes and the 'release is up to date' test is exact."""
    import zipfile

    entries = []
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            entries.append((info.filename, archive.read(info.filename)))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
