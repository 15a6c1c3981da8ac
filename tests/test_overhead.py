"""What the grader does besides the student's cells and probe (issue 24, "overhead to the limit"): the cases a job
reads are pickled once per hidden set, the zygotes start one after the other in grading order, a finished
`xaigrade grade` process ends without the libraries' teardown but with its exit handlers, and the report's timings
name every part of a submission's slot (what `benchmarks/grading_throughput.py` splits the overhead by)."""

from __future__ import annotations

import pickle
import subprocess
import sys
import threading

from autograder import batch
from autograder.checks import Case, Exercise
from autograder.config import PROJECT_ROOT
from autograder.submission_run import _pickled, _pickled_cases


def _cases(seed: int) -> list[Case]:
    return [Case(f"c{seed}-{i}", "probe_pd_1d", {"grid": list(range(i + seed))}, f"case {i}") for i in range(3)]


def test_cases_are_pickled_once_per_set_and_read_back_as_pickled_anew():
    exercise = Exercise("pdp")
    first, second = _cases(1), _cases(2)
    _pickled.clear()
    data = _pickled_cases(exercise, first, 64)
    assert _pickled_cases(exercise, first, 64) is data  # the next submission of the set: no pickling
    loaded = pickle.loads(data)
    assert [entry["id"] for entry in loaded] == [case.id for case in first]
    assert [entry["inputs"] for entry in loaded] == [case.inputs for case in first]
    assert loaded[0]["max_bytes"] == 64 * 2**20 // 2
    other = pickle.loads(_pickled_cases(exercise, second, 64))  # another set: its own cases
    assert [entry["id"] for entry in other] == [case.id for case in second]
    assert pickle.loads(_pickled_cases(exercise, first, 8))[0]["max_bytes"] == 8 * 2**20 // 2  # another limit


def test_zygotes_start_in_grading_order_each_after_the_one_before_is_ready(monkeypatch):
    events = []
    gates = {name: threading.Event() for name in ("gradcam", "clip")}

    class Zygote:
        def __init__(self, name):
            self.name = name

        def wait_ready(self):
            events.append(("waited", self.name))
            assert gates[self.name].wait(10)
            events.append(("ready", self.name))

    def warm_process(exercise, release, settings):
        events.append(("started", exercise))
        return Zygote(exercise)

    monkeypatch.setattr(batch, "warm_process", warm_process)
    thread = threading.Thread(target=batch._start_zygotes, args=([("gradcam", None), ("clip", None)], None))
    thread.start()
    try:
        while ("waited", "gradcam") not in events:
            thread.join(0.01)
        assert ("started", "clip") not in events  # the second waits for the first's imports
        gates["gradcam"].set()
        gates["clip"].set()
    finally:
        gates["gradcam"].set()
        gates["clip"].set()
        thread.join(10)
    assert events == [("started", "gradcam"), ("waited", "gradcam"), ("ready", "gradcam"), ("started", "clip"),
                      ("waited", "clip"), ("ready", "clip")]


def test_the_first_zygote_starts_before_the_grader_imports_the_checks_and_a_broken_one_stores_nothing(
        tmp_path, monkeypatch):
    """The zygote reads what to import from the exercise's files, so it starts while the grader imports the first
    assignment's checks module (not after: that put ~1 s on every call's critical path); the other assignments'
    modules are imported in a thread while the first one's submissions run, and no result is stored before all
    of them imported: a broken one stops the batch naming its file, with nothing stored."""
    import shutil

    from autograder import parallel
    from autograder.config import load_settings
    from autograder.exercises import ExerciseError
    from tests.helpers import TEST_SETTINGS

    events, zygote_started = [], threading.Event()

    def warm_process(exercise, release, settings):
        events.append(("zygote", exercise))
        zygote_started.set()

    def load_exercise(name):
        # the zygote's start must not wait for this import (it did: it asked for the loaded exercise first)
        assert zygote_started.wait(60), "the first zygote waited for the checks modules"
        events.append(("load", name))
        if name == "gradcam":
            raise ExerciseError("autograder/checks/gradcam.py cannot be imported: ModuleNotFoundError: boom")
        return Exercise(name)

    def run_serial(jobs, settings, private, on_done, pictures):
        events.append(("grading",))
        try:
            on_done(None)  # (a finished submission: the writer stores it only after every checks module imported)
        except ExerciseError:
            events.append(("not stored",))
            raise

    monkeypatch.setattr(batch, "warm_process", warm_process)
    monkeypatch.setattr(batch, "load_exercise", load_exercise)
    monkeypatch.setattr(parallel, "run_serial", run_serial)
    for name in ("pdp", "gradcam"):
        folder = tmp_path / "submitted" / "someone" / name
        folder.mkdir(parents=True)
        shutil.copy(PROJECT_ROOT / "examples" / "submissions" / "full_solution" / name / f"{name}.ipynb", folder)
    layout = batch.Layout(PROJECT_ROOT, tmp_path / "submitted", tmp_path / "out")
    try:
        batch.grade_batch(["pdp", "gradcam"], layout, load_settings(PROJECT_ROOT, **TEST_SETTINGS))
    except ExerciseError as error:
        assert "autograder/checks/gradcam.py" in str(error)
    else:
        raise AssertionError("a broken exercise did not stop the batch")
    assert events[0] == ("zygote", "pdp")
    assert events.index(("load", "pdp")) < events.index(("grading",))  # (the first module before its grading)
    assert ("load", "gradcam") in events and ("not stored",) in events
    assert not list((tmp_path / "out").glob("**/*.json"))  # (no state file)


def test_what_a_zygote_imports_is_read_from_the_files_as_the_modules_declare_it(tmp_path, monkeypatch):
    from autograder import exercises
    from autograder.exercises import ExerciseError, assignments, declared_warm_start, load_exercise

    for name in assignments():
        module = load_exercise(name).module
        assert declared_warm_start(name) == (module.NOTEBOOK, [[m, list(names)] for m, names in
                                                               getattr(module, "WARM_IMPORTS", [])]), name
    folder = tmp_path / "xaikit" / "selfcheck" / "exercises"
    folder.mkdir(parents=True)
    monkeypatch.setattr(exercises, "PROJECT_ROOT", tmp_path)
    (folder / "computed.py").write_text("WARM_IMPORTS = [(m, ()) for m in ('torch',)]\n")
    try:
        declared_warm_start("computed")
    except ExerciseError as error:
        assert "xaikit/selfcheck/exercises/computed.py: WARM_IMPORTS must be written out as a literal" in str(error)
    else:
        raise AssertionError("a computed WARM_IMPORTS was taken")
    (folder / "plain.py").write_text("")
    assert declared_warm_start("plain") == ("plain", [])


def test_a_finished_grading_process_ends_with_its_exit_handlers_and_its_output(tmp_path):
    marker = tmp_path / "handler-ran"
    code = ("import atexit, pathlib, sys\n"
            f"atexit.register(pathlib.Path({str(marker)!r}).write_text, 'yes')\n"
            "sys.stdout.write('last line, not flushed')\n"
            "from autograder.batch import end_process\n"
            "end_process(3)\n"
            "print('never reached')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_ROOT)
    assert done.returncode == 3
    assert done.stdout == "last line, not flushed"
    assert marker.read_text() == "yes"


def test_the_report_names_every_part_of_the_slot(tmp_path):
    from autograder.batch import Layout, grade_batch
    from autograder.config import load_settings

    target = tmp_path / "submitted" / "full_solution" / "pdp"
    target.mkdir(parents=True)
    target.joinpath("pdp.ipynb").write_bytes(
        (PROJECT_ROOT / "examples" / "submissions" / "full_solution" / "pdp" / "pdp.ipynb").read_bytes())
    layout = Layout(PROJECT_ROOT, tmp_path / "submitted", tmp_path / "out")
    timings = grade_batch(["pdp"], layout, load_settings(PROJECT_ROOT))["full_solution"]["pdp"]["_timings"]
    parts = {"step_validate", "step_restore_test_cells", "step_scan_code", "step_annotate_notebook", "fill",
             "zygote_wait", "sandbox", "setup", "kernel_start", "student_cells", "probe", "wrap_up", "read_back",
             "cleanup", "checks", "slot", "slot_began_at", "slot_ended_at", "pictures", "pictures_cpu", "writing",
             "writing_cpu", "written_at"}
    assert parts <= set(timings), parts - set(timings)
    # the executor's parts lie inside the sandbox's wall time, the sandbox inside the slot, the slot before the write
    inside = sum(timings[key] for key in ("setup", "kernel_start", "student_cells", "probe", "wrap_up"))
    assert 0 < inside <= timings["sandbox"] + 0.002 <= timings["slot"] + 0.004
    assert timings["slot_began_at"] < timings["slot_ended_at"] <= timings["written_at"]
    assert timings["pictures_cpu"] > 0  # (the full solution passes: one example picture per task)
    assert timings["cleanup"] > 0  # (the job folder's removal, after the run's timings were handed back)
