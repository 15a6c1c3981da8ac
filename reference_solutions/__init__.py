"""Reference implementations the checks compare against. Never released to students.

Each exercise module holds the correct functions and ``VARIANTS``: known-wrong versions
(one per typical mistake). The grader runs the variants on the same hidden inputs to name
the mistake a student made, and the tests use them as deliberately wrong submissions.
"""
