"""Old name of the public self-check, kept for notebooks released before it moved to the student side
(``xaikit.selfcheck``: the kit students install has no ``autograder``)."""

from xaikit.selfcheck import run_public_checks  # noqa: F401
