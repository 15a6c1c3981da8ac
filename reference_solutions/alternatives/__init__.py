"""Grader side: correct alternatives, one module per exercise (``ALTERNATIVES``, shaped like ``VARIANTS``).

Each alternative is a complete, correct solution of the notebook's task written differently from the reference,
the way students write it: the task's formula literally, a library call the task allows, loops instead of
vectorised code, float32 or float64, other autodiff idioms. The notebook's task text is the specification: what
follows it literally is correct, and must get full marks on the public cases and on every hidden set
(``autograder/fairness.py``; the hidden sets are chosen so, ``references.hidden_set``). Never shipped, not
importable in the sandbox (like the reference and the variants beside it).
"""
