"""Grader side: builders of the hidden cases, one module per exercise, one function per probe.

Never shipped and not importable in the sandbox (the jail covers the whole project folder and binds
back only ``xaikit/`` and ``autograder/``). Each module's ``build_hidden_cases(seed)`` is called with
the seed of one hidden case set (``autograder/secret.py``: K sets per assignment, derived from the
course secret); the cases reuse the student side's probes, models and helpers, with other inputs.
Builders that choose cases to show known mistakes (Grad-CAM, counterfactual) also get the grader's checks
(``build_hidden_cases(seed, checks)``): this package imports nothing of ``autograder/``.
"""
