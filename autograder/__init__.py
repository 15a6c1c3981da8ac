"""xaigrade: grades the lecture's exercise notebooks against reference solutions on hidden inputs.

Flow: source notebook -> nbgrader release -> student submission -> sandboxed kernel runs the
student's cells and a probe that calls the student's functions on hidden inputs and writes
plain data -> the grading process validates that data, compares it with the reference,
names the mistake, and records scores in nbgrader's gradebook.
"""

import sys as _sys

__version__ = "0.1.0"

# jsonschema (under nbformat) imports rfc3987_syntax when installed, which builds a grammar at
# import time (0.8 s here) for an "iri" string format no notebook schema uses. Every xaigrade
# start imports nbformat, so skip it unless something else already loaded it.
_sys.modules.setdefault("rfc3987_syntax", None)
