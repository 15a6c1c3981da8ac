"""The course secret and the hidden case sets it chooses (grader side).

The hidden inputs come from seeds nobody outside the grader knows: ``<course>/.xaigrade/secret``
(32 random bytes, hex; created on the first ``xaigrade release`` or ``grade``; gitignored, hidden from
submissions by the sandbox). Each assignment has K hidden case sets (``c.XaiGrade.hidden_sets``,
default 8); set k's seed is a keyed hash (HMAC-SHA256) of the secret, the assignment and k, and a
student's set is a keyed hash of the secret, the assignment and the student id. So the same student
always gets the same set (regrading), two students share a set with probability 1/K, and without
the secret neither the seeds nor the assignment of sets can be computed.

A seed written into a configuration file (``c.XaiGrade.hidden_seed``) or a secret committed to the
repository is public: grading refuses both unless ``c.XaiGrade.allow_public_seed`` is set (demo,
tests). Rotate per semester by moving the secret to the semester's archive (a new one is created on next
use); ``xaigrade grade --secret FILE`` grades with an archived one. Every report and state file records the
secret's fingerprint (``fingerprint``: a keyed hash that names the secret without revealing it), so a regrade
under another secret is noticed and the students whose hidden inputs would change are named.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import subprocess
from pathlib import Path

SECRET_DIR = ".xaigrade"
SECRET_FILE = "secret"


class PublicSeedRefused(RuntimeError):
    """Grading would use hidden inputs anyone with the repository can rebuild."""


def secret_path(course_root: Path) -> Path:
    return Path(course_root) / SECRET_DIR / SECRET_FILE


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_hex(32) + "\n")


def tracked_by_git(path: Path) -> bool:
    """Is ``path`` committed (or staged) in the git repository around it?"""
    try:
        done = subprocess.run(["git", "-C", str(path.parent), "ls-files", "--error-unmatch", path.name],
                              capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def course_secret(course_root: Path, settings, create: bool = True, secret_file: Path | None = None) -> bytes:
    """The key the hidden sets derive from; refuses a public one unless ``settings.allow_public_seed``.

    ``secret_file``: an archived secret (``xaigrade grade --secret FILE``, e.g. last semester's) instead of
    the course's; it must exist (an archive is never created here) and must not be committed either."""
    if secret_file is not None:
        path = Path(secret_file).resolve()
        if not path.is_file():
            raise FileNotFoundError(f"secret file {path} not found (xaigrade grade --secret FILE takes an archived "
                                    f"course secret, e.g. a copy of {secret_path(course_root)})")
        if not settings.allow_public_seed and tracked_by_git(path):
            raise PublicSeedRefused(f"{path} is committed to a repository: the hidden inputs it seeds are public.")
        secret = path.read_bytes().strip()
        if not secret:
            raise PublicSeedRefused(f"{path} is empty: no secret to grade with.")
        return secret
    if settings.hidden_seed:
        if not settings.allow_public_seed:
            raise PublicSeedRefused(
                f"c.XaiGrade.hidden_seed = {settings.hidden_seed} is written in a configuration file, so anyone with "
                "the course repository can rebuild the hidden inputs. Remove it (the hidden seeds then come from "
                f"{secret_path(course_root)}, created on first use), or set c.XaiGrade.allow_public_seed = True "
                "for a demo or tests.")
        return f"public seed {settings.hidden_seed}".encode()
    path = secret_path(course_root)
    if not path.exists():
        if not create:
            raise FileNotFoundError(path)
        _create(path)
    if not settings.allow_public_seed and tracked_by_git(path):
        raise PublicSeedRefused(f"{path} is committed to the repository: the hidden inputs are public. Remove it "
                                "from git (git rm --cached), delete it and grade again (a new secret is created).")
    return path.read_bytes().strip()


def fingerprint(secret: bytes) -> str:
    """What reports record of the secret that graded them: 16 hex digits of a keyed hash (HMAC-SHA256 of a fixed
    label under the secret). It tells two secrets apart and names the archive to regrade with; the secret
    cannot be recovered from it, nor any hidden input computed."""
    return hmac.new(secret, b"xaigrade secret fingerprint", hashlib.sha256).hexdigest()[:16]


def _keyed(secret: bytes, *parts) -> int:
    message = "|".join(str(part) for part in parts).encode()
    return int.from_bytes(hmac.new(secret, message, hashlib.sha256).digest()[:8], "big")


def set_seed(secret: bytes, assignment: str, index: int, attempt: int = 0) -> int:
    """Candidate ``attempt`` for the seed of hidden case set ``index`` of ``assignment`` (31 bits: numpy and the
    builders take it). The set uses the first candidate on which every known mistake shows in every check that
    names it (``grading.hidden_set``)."""
    return _keyed(secret, "hidden-set-seed", assignment, index, attempt) % (2**31 - 1) + 1


def set_for(secret: bytes, assignment: str, student: str, sets: int) -> int:
    """The hidden case set (0 .. sets-1) of ``student`` in ``assignment``."""
    return _keyed(secret, "student-set", assignment, student) % max(1, sets)


def set_name(index: int, sets: int) -> str:
    """How the feedback and the report name a set: 1-based."""
    return f"{index + 1}/{sets}"
