"""What a student's notebook no longer shows (issue 23), and what it still must.

TensorFlow's load-time absl lines ("WARNING: All log messages before absl::InitializeLog() ...", "oneDNN custom
operations are on", twice) ignore TF_CPP_MIN_LOG_LEVEL; `import xaikit` sends stderr through a filter process
while tensorflow is imported (xaikit/__init__.py). It must drop only those lines: FATAL lines, a crash's last
words, exceptions and every line that is not absl's arrive, in order; without TF_CPP_MIN_LOG_LEVEL, or where the
filter cannot start, nothing is dropped. And tqdm's "IProgress not found" warning is ignored, no other warning.

The crash, exception and fallback cases import a stand-in `tensorflow` (and `torch`/`triton`, which xaikit's
guard loads first) from a temporary folder that writes what TensorFlow writes; one test imports the real one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from autograder.config import PROJECT_ROOT
from xaikit import stderr_filter

PREAMBLE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
INFO = "I0000 00:00:1796665192.576406   16307 port.cc:153] oneDNN custom operations are on."
WARNING = "W1207 10:11:12.345678   16307 loader.cc:12] a warning after absl is initialised"
ERROR = "E0000 00:00:1796665192.600000   16307 op.cc:7] an error record"
FATAL = ("F0000 00:00:1796665192.576406   16307 cpu_feature_guard.cc:42] The TensorFlow library was compiled to "
         "use AVX instructions, but these aren't available on your machine.")
OWN = "a line that is not absl's"


def test_the_filter_drops_absl_records_below_the_level_and_its_notice_only():
    keep = stderr_filter()["keep"]
    lines = [PREAMBLE, INFO, WARNING, ERROR, FATAL, OWN, "Traceback (most recent call last):",
             "terminate called after throwing an instance of 'std::runtime_error'", "  continuation of a record"]
    kept = {level: [line for line in lines if keep((line + "\n").encode(), level)] for level in range(4)}
    assert kept[0] == lines
    assert kept[1] == [WARNING, ERROR, *lines[4:]]
    assert kept[2] == [ERROR, *lines[4:]]
    assert kept[3] == lines[4:]  # FATAL and everything that is not an absl record stay


def _stand_in(folder, body: str) -> None:
    """A `tensorflow` package in ``folder`` whose import runs ``body``; empty `torch` and `triton` beside it."""
    for name in ("torch", "triton"):
        (folder / name).mkdir()
        (folder / name / "__init__.py").write_text("")
    (folder / "tensorflow").mkdir()
    (folder / "tensorflow" / "__init__.py").write_text(
        "import os\n"
        f"for line in {[PREAMBLE, INFO, FATAL, OWN]!r}:\n"
        "    os.write(2, (line + '\\n').encode())\n" + body)


def _run(folder, code: str, level: str | None = "3"):
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    if level is not None:
        env["TF_CPP_MIN_LOG_LEVEL"] = level
    prelude = f"import sys\nsys.path.insert(0, {str(folder)!r})\n"
    return subprocess.run([sys.executable, "-c", prelude + code], capture_output=True, text=True, env=env,
                          cwd=PROJECT_ROOT, timeout=120)


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_a_crash_during_the_import_keeps_its_last_words(tmp_path):
    """absl's FATAL line ends in abort(): the lines written before it reach stderr all the same."""
    _stand_in(tmp_path, "os.write(2, b'the last words, no newline')\nos.abort()\n")
    done = _run(tmp_path, "import xaikit\nimport tensorflow\nprint('not reached')")
    assert done.returncode == -signal.SIGABRT, (done.returncode, done.stderr[-2000:])
    assert _lines(done.stderr)[-3:] == [FATAL, OWN, "the last words, no newline"], done.stderr[-2000:]
    assert INFO not in done.stderr and PREAMBLE not in done.stderr and "not reached" not in done.stdout


def test_an_exception_during_the_import_arrives_with_everything_written_and_stderr_is_restored(tmp_path):
    _stand_in(tmp_path, "raise ImportError('a broken build')\n")
    done = _run(tmp_path, "import os, xaikit\ntry:\n    import tensorflow\nexcept ImportError as error:\n"
                          "    os.write(2, f'after the import: {error}\\n'.encode())\n"
                          "import tensorflow\n")
    assert done.returncode == 1
    lines = _lines(done.stderr)
    assert lines[:3] == [FATAL, OWN, "after the import: a broken build"], done.stderr[-2000:]
    assert lines[-1] == "ImportError: a broken build" and "Traceback (most recent call last):" in lines
    assert INFO not in done.stderr and PREAMBLE not in done.stderr  # (the second import is filtered again)


@pytest.mark.parametrize("how", ["no level set", "level 0", "no filter process"])
def test_nothing_is_dropped_without_a_level_or_without_the_filter_process(tmp_path, how):
    _stand_in(tmp_path, "")
    code = "import xaikit\nimport tensorflow\nprint('imported')"
    if how == "no filter process":  # (Popen fails: what a sandbox without process creation gives)
        code = f"sys.executable = {str(tmp_path / 'no-python')!r}\n" + code
    done = _run(tmp_path, code, level={"no level set": None, "level 0": "0", "no filter process": "3"}[how])
    assert done.returncode == 0 and done.stdout.strip() == "imported", done.stderr[-2000:]
    assert _lines(done.stderr) == [PREAMBLE, INFO, FATAL, OWN]


def test_the_real_tensorflow_loads_quietly_after_xaikit_and_not_without_it():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    code = ("import os, sys\n{first}import tensorflow as tf\nos.write(2, b'after\\n')\n"
            "print(int(tf.constant(1) + 1), 'torch' in sys.modules)")
    runs = {first: subprocess.run([sys.executable, "-c", code.format(first=first)], capture_output=True, text=True,
                                  env=env, cwd=PROJECT_ROOT, timeout=300)
            for first in ("import xaikit\n", "")}
    quiet, control = runs["import xaikit\n"], runs[""]
    assert quiet.returncode == 0 and quiet.stdout.split() == ["2", "True"], quiet.stderr[-2000:]
    assert _lines(quiet.stderr) == ["after"], quiet.stderr[-2000:]
    # the control: without xaikit, TensorFlow prints them (else this test proves nothing: drop the filter)
    assert control.returncode == 0 and PREAMBLE in control.stderr and "oneDNN custom operations" in control.stderr


def test_tqdms_iprogress_warning_is_ignored_and_no_other_warning():
    """tqdm.autonotebook in a Jupyter kernel without ipywidgets (transformers imports it): the warning itself."""
    code = ("import sys, warnings\n{first}"
            "import ipykernel.zmqshell\nsys.modules['ipywidgets'] = None  # (not installed)\n"
            "import tqdm.autonotebook\nfrom tqdm import TqdmWarning\n"
            "warnings.warn('another tqdm warning', TqdmWarning)\n")
    runs = {first: subprocess.run([sys.executable, "-c", code.format(first=first)], capture_output=True, text=True,
                                  cwd=PROJECT_ROOT, timeout=120) for first in ("import xaikit\n", "")}
    assert runs[""].returncode == 0 and "IProgress not found" in runs[""].stderr, runs[""].stderr[-2000:]  # control
    quiet = runs["import xaikit\n"]
    assert quiet.returncode == 0 and "IProgress" not in quiet.stderr, quiet.stderr[-2000:]
    assert "TqdmWarning: another tqdm warning" in quiet.stderr
