"""Project paths and grading settings (overridable in ``nbgrader_config.py`` as ``c.XaiGrade.*``)."""

from __future__ import annotations

import os
from pathlib import Path

from traitlets import Bool, Float, Int, Unicode
from traitlets.config import Configurable
from traitlets.config.loader import PyFileConfigLoader

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REFERENCE_DIR = PROJECT_ROOT / "reference_solutions"
# The exercises are not listed here: autograder/exercises.py finds them (one per module in autograder/checks/).


def cache_dir() -> Path:
    """The grader's cache (hidden cases, reference results, public cases): hidden from submissions."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "xaigrade"


class XaiGrade(Configurable):
    """Limits and options for grading; every value has a default that works on 2 cores."""

    language = Unicode("de", help="Language of feedback messages: 'de' or 'en'.").tag(config=True)
    kernel_name = Unicode("xai-course", help="Jupyter kernel used to run submissions.").tag(config=True)
    hidden_seed = Int(0, help="0 (default): the hidden inputs derive from the course secret (.xaigrade/secret, "
                      "created on first use, see autograder/secret.py). Any other value is a seed written in a "
                      "configuration file, i.e. public: grading refuses it unless allow_public_seed.").tag(config=True)
    allow_public_seed = Bool(False, help="Accept a public hidden_seed or a secret committed to the repository "
                             "(demo and tests only: anyone with the repository can rebuild those hidden inputs).").tag(config=True)
    hidden_sets = Int(8, help="Hidden case sets per assignment (K); each student gets one, chosen by a keyed hash "
                      "of the course secret and the student id. Each set's reference results are computed once "
                      "(and cached) when a student needs it.").tag(config=True)
    public_seed = Int(7, help="Seed of the public inputs students see in `xaigrade check`.").tag(config=True)
    cell_timeout = Float(120.0, help="Seconds one notebook cell may run.").tag(config=True)
    probe_timeout = Float(60.0, help="Seconds one call of a student function on a hidden input may run.").tag(config=True)
    total_timeout = Float(600.0, help="Wall-clock seconds for one whole submission.").tag(config=True)
    cpu_seconds = Int(900, help="CPU seconds for the submission's process tree (RLIMIT_CPU per process).").tag(config=True)
    memory_mb = Int(6144, help="Memory limit of the submission's processes in MiB.").tag(config=True)
    max_processes = Int(512, help="Cap on processes and threads of the submission (pids cgroup and RLIMIT_NPROC of its uid).").tag(config=True)
    max_file_mb = Int(256, help="Largest file the submission may write, MiB (RLIMIT_FSIZE).").tag(config=True)
    job_disk_mb = Int(768, help="Total size of everything one submission may write (its job folder is a tmpfs of "
                      "this size when grading as root; 0: no total limit, only max_file_mb per file).").tag(config=True)
    job_max_files = Int(20_000, help="Files and folders one submission may create (inodes of its job folder).").tag(config=True)
    cpu_shares = Int(1024, help="CPU weight of each job when grading as root (a cpu cgroup per job, cgroup v1 "
                     "cpu.shares): every job weighs the same, so a job running 40 busy processes gets no more CPU "
                     "than its neighbour running one. 0: no cpu cgroup (jobs compete process by process).").tag(config=True)
    job_cpus = Float(0.0, help="Most CPUs one job may use (cgroup v1 cpu.cfs_quota_us), e.g. 1.0; 0 (default): no "
                     "cap, a job may use CPUs its neighbours leave idle (the weight above still shares them fairly "
                     "under load).").tag(config=True)
    max_output_chars = Int(200_000, help="Notebook output kept per cell; the rest is cut.").tag(config=True)
    max_result_mb = Int(64, help="Largest result file accepted from the sandbox, MiB.").tag(config=True)
    max_notebook_mb = Int(20, help="Largest submitted notebook the grader reads, MiB (checked before parsing; a larger "
                          "file gets the message notebook_too_large and 0 points).").tag(config=True)
    isolate_network = Bool(True, help="Run submissions in a new network namespace where possible.").tag(config=True)
    warm_start = Bool(True, help="Fork each submission from a warm process that has imported the notebook's "
                      "libraries once (much faster); False starts every kernel as a fresh Python.").tag(config=True)
    check_daemon_seconds = Float(600.0, help="`xaigrade check` keeps its warm process this many idle seconds for "
                                 "the next check (0: none, every check starts cold).").tag(config=True)
    cache_reference = Bool(True, help="Keep the hidden cases and the reference's results on disk "
                           "(~/.cache/xaigrade, keyed by the code, models and seed they come from).").tag(config=True)
    rerun_demo_cells = Bool(False, help="Re-run the instructor's demo cells (metadata xaigrade.demo) when grading. "
                            "False: they keep the submitted outputs, marked as not re-run; no check needs "
                            "them and they are the slowest cells (plots, comparisons).").tag(config=True)
    sandboxes_at_once = Int(min(2, os.cpu_count() or 1),
                            help="Submissions running in their sandboxes at the same time when grading in this "
                            "process (no --workers/--dask): each mostly keeps one core busy, the grader waits. "
                            "Default: 2 on a machine with 2 or more cores, else 1.").tag(config=True)
    isolate_files = Bool(True, help="Hide reference solutions, gradebook and other submissions (mount namespace).").tag(config=True)


def load_settings(course_root: Path | None = None, **overrides) -> XaiGrade:
    """Settings from ``<course_root>/nbgrader_config.py`` (if present) with keyword overrides."""
    course_root = Path(course_root or os.getcwd())
    config_file = course_root / "nbgrader_config.py"
    config = None
    if config_file.exists():
        config = PyFileConfigLoader(config_file.name, path=str(course_root)).load_config()
    settings = XaiGrade(config=config) if config is not None else XaiGrade()
    for key, value in overrides.items():
        if value is not None:
            setattr(settings, key, value)
    return settings
