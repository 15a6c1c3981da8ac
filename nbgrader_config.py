# nbgrader configuration of the course "Erklärbare Künstliche Intelligenz, Vorlesung 5".
# nbgrader reads it (generate_assignment, formgrader, export); xaigrade reads the XaiGrade section.
c = get_config()  # noqa: F821

c.CourseDirectory.course_id = "xai_vl5"
c.CourseDirectory.root = "."
c.CourseDirectory.db_url = "sqlite:///gradebook.db"
c.ClearSolutions.code_stub = {"python": "# IHR CODE HIER / YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "IHRE ANTWORT HIER / YOUR ANSWER HERE"
# nbgrader 0.9 ignores c.ExecutePreprocessor.*; its own Execute preprocessor takes the timeout.
c.Execute.timeout = 300

# formgrader's Autograde button (⚡) and `nbgrader autograde` grade with xaigrade: the sandbox, the student's hidden
# set, the same scores and pages as `xaigrade grade` (autograder/nbgrader_autograde.py). Without these lines nbgrader
# runs the submission in your own process, unsandboxed, and every check scores 0.
c.Autograde.exporter_class = "autograder.nbgrader_autograde.XaiGradeExporter"
c.Autograde.sanitize_preprocessors = []
c.Autograde.autograde_preprocessors = []
# After `nbgrader generate_feedback` (and formgrader's "Generate feedback"): xaigrade.html beside nbgrader's page gets the
# gradebook's total, hand points and comments, and both pages the Content-Security-Policy (no script) xaigrade's have.
c.GenerateFeedback.post_convert_hook = "autograder.nbgrader_autograde.after_feedback"

# xaigrade: limits of the sandbox in which each submission runs (defaults shown).
c.XaiGrade.language = "de"  # feedback language: "de" or "en"
c.XaiGrade.kernel_name = "xai-course"
c.XaiGrade.cell_timeout = 120.0  # s per notebook cell
c.XaiGrade.probe_timeout = 60.0  # s per call of a student function on a hidden input
c.XaiGrade.total_timeout = 600.0  # s wall clock per submission
c.XaiGrade.memory_mb = 6144  # per sandbox
# c.XaiGrade.sandboxes_at_once = 2  # submissions graded at the same time (default: 2 on 2 or more cores, else 1)
c.XaiGrade.cpu_seconds = 900
c.XaiGrade.warm_start = True  # fork submissions from a process with the notebook's libraries imported
