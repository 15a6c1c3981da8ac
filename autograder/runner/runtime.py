"""Flags from what ran, not only from the source text.

The static scan (``scan.py``) sees nothing behind ``exec(base64...)``. So the kernel gets, before any
cell, a self-contained startup file (``RUNTIME_SOURCE``, imports nothing of ours) that
- installs an audit hook (``sys.addaudithook``: it cannot be removed) recording what code *started by
  the submission* does: processes, sockets, native code (ctypes), code compiled from strings
  (``exec``/``eval``/``compile``: its source is kept and scanned by the grader), files opened
  outside the job folder, imports of watched modules;
- offers a call watcher that the probe cell switches on around the calls of the student's functions
  on the hidden inputs: it records calls into library implementations of the graded methods
  (scikit-learn's ``partial_dependence``, pytorch-grad-cam, Captum, alibi, DiCE).
The probe cell writes the records to ``results/_runtime.json``; the grader validates them and turns
them into flags for the instructor. Flags never change a score.
"""

from __future__ import annotations

import json

from .results import JobFiles, UnsafeFile, _strings

RUNTIME_FILE = "_runtime.json"
MAX_RUNTIME_BYTES = 200_000

# What counts as a library implementation of an exercise's method (path fragments of its source files).
LIBRARY_METHODS = {
    "sklearn/inspection/_partial_dependence.py": "sklearn.inspection.partial_dependence",
    "sklearn/inspection/_plot/partial_dependence.py": "sklearn.inspection.PartialDependenceDisplay",
    "pytorch_grad_cam/": "pytorch-grad-cam",
    "captum/attr/": "Captum",
    "alibi/explainers/": "alibi",
    "dice_ml/": "DiCE",
}

RUNTIME_SOURCE = r'''
def _xaigrade_install(library_methods):
    import json, os, sys, sysconfig, tempfile, types

    records, sources, calls = [], [], []
    limits = {"records": 60, "sources": 8, "source_chars": 4000, "calls": 20}
    job = os.getcwd()
    cell_dir = os.path.join(tempfile.gettempdir(), "ipykernel_")
    stdlib = tuple(p for p in {sysconfig.get_paths()["stdlib"], os.path.dirname(os.__file__)} if p)
    events = {"subprocess.Popen": "processes", "os.system": "processes", "os.exec": "processes",
              "os.posix_spawn": "processes", "os.spawn": "processes", "os.fork": "processes",
              "os.forkpty": "processes", "pty.spawn": "processes", "os.kill": "processes",
              "os.killpg": "processes", "socket.connect": "network", "socket.bind": "network",
              "socket.sendto": "network", "ctypes.dlopen": "native", "ctypes.dlsym": "native",
              "ctypes.cdata": "native", "ctypes.call_function": "native"}
    watched_imports = {"subprocess", "multiprocessing", "ctypes", "socket", "pty", "cffi",
                       "pytorch_grad_cam", "captum", "alibi", "dice_ml"}

    def by_user(depth=1):
        # the first frame outside the standard library belongs to a notebook cell or to exec'd code
        frame = sys._getframe(depth + 1)  # (+1: this function's caller is the hook)
        while frame is not None and frame.f_code.co_filename.startswith(stdlib):
            frame = frame.f_back
        if frame is None:
            return False
        name = frame.f_code.co_filename
        return name.startswith(cell_dir) or name in ("<string>", "<stdin>") or name.startswith("<ipython-input")

    def note(rule, detail):
        entry = [rule, str(detail)[:160]]
        if entry not in records and len(records) < limits["records"]:
            records.append(entry)

    def hook(event, args):
        try:
            if event in events or event.startswith(("os.exec", "os.spawn")):
                if by_user():
                    note(events.get(event, "processes"), f"{event} {args[:2]!r}"[:160])
            elif event == "compile" and isinstance(args[0], (str, bytes)) and by_user():
                text = args[0].decode("utf-8", "replace") if isinstance(args[0], bytes) else args[0]
                if len(sources) < limits["sources"] and text.strip():
                    sources.append(text[:limits["source_chars"]])
            elif event == "import" and args[0].split(".")[0] in watched_imports and by_user():
                note("imports", args[0])
            elif event == "open" and isinstance(args[0], str) and os.path.isabs(args[0]) \
                    and not args[0].startswith((job, "/dev/", "/proc/self/", sys.prefix, sys.base_prefix)) and by_user():
                note("files", args[0])
        except Exception:  # noqa: BLE001 - a recorder must never break the submission
            pass

    cache = {}

    def profile(frame, event, arg):
        if event != "call":
            return
        filename = frame.f_code.co_filename
        found = cache.get(filename)
        if found is None:
            found = cache[filename] = next((name for part, name in library_methods.items() if part in filename), "")
        if found and len(calls) < limits["calls"]:
            entry = [found, frame.f_code.co_name]
            if entry not in calls:
                calls.append(entry)

    def start_watch():
        sys.setprofile(profile)

    def stop_watch():
        sys.setprofile(None)

    def dump(out_dir):
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, "_runtime.json"), "w") as handle:
            json.dump({"records": records, "sources": sources, "calls": calls}, handle)

    module = types.ModuleType("_xaigrade_runtime")
    module.start_watch, module.stop_watch, module.dump = start_watch, stop_watch, dump
    sys.modules["_xaigrade_runtime"] = module
    sys.addaudithook(hook)


_xaigrade_install(LIBRARY_METHODS)
del _xaigrade_install
'''


def startup_source() -> str:
    return f"LIBRARY_METHODS = {LIBRARY_METHODS!r}\n{RUNTIME_SOURCE}\ndel LIBRARY_METHODS\n"


PROBE_PREFIX = ("_xaigrade_rt = __import__('sys').modules.get('_xaigrade_runtime')\n"
                "_xaigrade_rt and _xaigrade_rt.start_watch()\n"
                "try:\n")
PROBE_SUFFIX = ("finally:\n"
                "    _xaigrade_rt and _xaigrade_rt.stop_watch()\n"
                "    _xaigrade_rt and _xaigrade_rt.dump({out!r})\n")


def _pairs(value, count: int) -> list[tuple[str, str]]:
    found = []
    for item in value[:count] if isinstance(value, list) else []:
        if isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item):
            found.append((item[0][:40], item[1][:160]))
    return found


def read_runtime(results: JobFiles) -> dict:
    """``_runtime.json`` validated by type and size (the submission could have written it)."""
    try:
        raw = json.loads(results.read(RUNTIME_FILE, MAX_RUNTIME_BYTES))
    except (UnsafeFile, ValueError):
        return {}
    if not isinstance(raw, dict):
        return {}
    return {"records": _pairs(raw.get("records"), 60), "sources": _strings(raw.get("sources"), 8, 4000),
            "calls": _pairs(raw.get("calls"), 20)}


RUNTIME_RULES = {"processes": "ran_processes", "network": "ran_network", "native": "ran_native",
                 "files": "ran_files", "imports": "ran_imports"}


def flags_from_runtime(runtime: dict) -> list[dict]:
    """Flags (``cell`` None: seen while it ran) for the instructor."""
    from .scan import scan_source

    flags = []
    for library, function in runtime.get("calls", []):
        flags.append({"cell": None, "rule": "library_method", "detail": f"{library} ({function})"})
    for rule, detail in runtime.get("records", []):
        if rule in RUNTIME_RULES:
            flags.append({"cell": None, "rule": RUNTIME_RULES[rule], "detail": detail})
    for source in runtime.get("sources", []):
        for rule, detail in scan_source(source):
            flag = {"cell": None, "rule": "hidden_code", "detail": f"{rule}: {detail}"}
            if flag not in flags:
                flags.append(flag)
    return flags
