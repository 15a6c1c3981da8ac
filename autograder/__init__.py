"""xaigrade: grades the lecture's exercise notebooks against reference solutions on hidden inputs.

Flow: source notebook -> nbgrader release -> student submission -> sandboxed kernel runs the
student's cells and a probe that calls the student's functions on hidden inputs and writes
plain data -> the grading process validates that data, compares it with the reference,
names the mistake, and records scores in nbgrader's gradebook.
"""

__version__ = "0.1.0"
