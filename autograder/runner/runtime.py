"""Flags from what ran, not only from the source text — kept where the submission cannot take them back.

The static scan (``scan.py``) sees nothing behind ``exec(base64...)``. So the kernel gets, before any
cell, a self-contained startup file (``RUNTIME_SOURCE``, imports nothing of ours) that
- installs an audit hook (``sys.addaudithook``: it cannot be removed) recording what code *started by
  the submission* does: processes, sockets, native code (ctypes), code compiled from strings
  (``exec``/``eval``/``compile``: its source is kept and scanned by the grader) or loaded as code objects,
  files opened outside the job folder, imports of watched modules;
- watches the calls of the student's functions on the hidden inputs for calls into library
  implementations of the graded methods (scikit-learn's ``partial_dependence``, pytorch-grad-cam, Captum,
  alibi, DiCE), in *every* thread: the probe cell raises the audit event ``xaigrade.probe`` at its start
  and end, the hook profiles the probe's thread, and every thread started in the kernel carries the same
  profile (``threading.setprofile``, and a wrapper of ``_thread.start_new_thread`` for raw threads).
  The probe's thread is profiled only while code of such a file is loaded ("armed"): no function of it can
  run before, and its code is either in ``sys.modules`` already (the zygote's imports: looked up at the
  runtime's and the probe's start) or run or made later, which the hook sees with its file (``exec`` runs
  every module an import loads; ``compile``, ``code.__new__``; a ``marshal.loads`` by the submission arms
  too). A module run during the probe is recorded as a call before its code runs, in whatever thread. (The
  profile is called on every Python and C call and return: it doubled the CPU time of an eager TensorFlow
  step, ``benchmarks/probe_costs.py --watch``.)
- records ``sys.setprofile``/``sys.settrace`` called by the submission (rule ``watcher``).
Nothing of it is registered anywhere a cell could switch it off by name (``sys.modules``), and nothing is
collected in the kernel: each record is sent at once, before the code it describes runs on, over a Unix
socket to the executor (``RuntimeRecorder``, a separate process; made non-dumpable, so the kernel
cannot ptrace it). What was sent cannot be taken back. After the kernel has ended, the executor writes
``results/_runtime.json``: the records, and per kernel whether its runtime said hello and whether the probe
ran watched from start to end.

The grader, not the kernel, decides what the record says (``read_runtime``, ``flags_from_runtime``): a
probe that ran while the record is missing, a kernel whose runtime never reported, a probe that ran to its
end without its start and end marks — each is a flag ("the run record is missing / cut short: it may have
been switched off"). Flags never change a score. What a flag proves and what not: the README
("The trust boundary").
"""

from __future__ import annotations

import json
import os
import selectors
import socket
import stat
import sys
import threading
from pathlib import Path

from .results import JobFiles, UnsafeFile, _strings

RUNTIME_FILE = "_runtime.json"
CHANNEL = ".xaigrade-runtime.sock"  # in the job folder; kernel and executor both run there
MAX_RUNTIME_BYTES = 400_000
MAX_RECORDS, MAX_SOURCES, MAX_SOURCE_CHARS, MAX_CALLS = 200, 32, 4000, 40
MAX_CONNECTIONS, MAX_MESSAGE_BYTES, MAX_KERNELS = 32, 1 << 16, 16

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
def _xaigrade_install(library_methods, channel_name, limits):
    import _thread, json, os, socket, sys, sysconfig, tempfile, threading

    job = os.getcwd()
    cell_dir = os.path.join(tempfile.gettempdir(), "ipykernel_")
    stdlib = tuple(p for p in {sysconfig.get_paths()["stdlib"], os.path.dirname(os.__file__)} if p)
    events = {"subprocess.Popen": "processes", "os.system": "processes", "os.exec": "processes",
              "os.posix_spawn": "processes", "os.spawn": "processes", "os.fork": "processes",
              "os.forkpty": "processes", "pty.spawn": "processes", "os.kill": "processes",
              "os.killpg": "processes", "socket.connect": "network", "socket.bind": "network",
              "socket.sendto": "network", "ctypes.dlopen": "native", "ctypes.dlsym": "native",
              "ctypes.cdata": "native", "ctypes.call_function": "native",
              "marshal.loads": "code", "code.__new__": "code"}
    watched_imports = {"subprocess", "multiprocessing", "ctypes", "socket", "pty", "cffi",
                       "pytorch_grad_cam", "captum", "alibi", "dice_ml"}
    # code that is run or made (exec also runs every module an import loads): of a library method's file?
    loading = {"exec", "compile", "code.__new__"}
    # the events the hook handles; any other returns at once (torch/TF raise object.__getattr__ and builtins.id
    # hundreds of times per step: the hook's fast exit is on the probe's path)
    handled = set(events) | loading | {"xaigrade.probe", "import", "open", "sys.setprofile", "sys.settrace"}
    sent = set()
    counts = {"records": 0, "sources": 0, "calls": 0}
    watching = [False]
    armed = [False]  # a library method's code is loaded in this process: the probe's thread is profiled
    local = threading.local()
    # (taken now: what a cell later changes in sys, os or json does not change what is recorded)
    setprofile, dumps, getframe, getpid = sys.setprofile, json.dumps, sys._getframe, os.getpid
    modules, code_type = sys.modules, type(getframe(0).f_code)
    get_attribute, dict_get = object.__getattribute__, dict.get
    isabs, basename = os.path.isabs, os.path.basename
    not_outside = (job, "/dev/", "/proc/self/", sys.prefix, sys.base_prefix)
    flags = socket.MSG_DONTWAIT | getattr(socket, "MSG_NOSIGNAL", 0)
    channel = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        channel.connect(channel_name)
    except OSError:
        channel = None  # (the executor's recorder then reports no hello from this kernel: a flag)

    def send(message):
        if channel is not None:
            try:
                channel.send(dumps(message).encode(), flags)
            except OSError:
                pass

    def limited(kind):
        counts[kind] += 1
        if counts[kind] == limits[kind] + 1:
            send({"k": "overflow", "what": kind})
        return counts[kind] > limits[kind]

    # frames that only pass a call on: IPython's ``open`` for a cell wraps io.open (with it, no cell's open of a
    # file outside the folder was ever recorded)
    transparent = {("interactiveshell.py", "_modified_open")}

    def by_user(depth=1):
        # the first frame outside the standard library belongs to a notebook cell or to exec'd code
        frame = getframe(depth + 1)  # (+1: this function's caller is the hook)
        while frame is not None and (frame.f_code.co_filename.startswith(stdlib) or (
                basename(frame.f_code.co_filename), frame.f_code.co_name) in transparent):
            frame = frame.f_back
        if frame is None:
            return False
        name = frame.f_code.co_filename
        return name.startswith(cell_dir) or name in ("<string>", "<stdin>") or name.startswith("<ipython-input")

    def note(rule, detail):
        key = (rule, str(detail)[:160])
        if key not in sent and not limited("records"):
            sent.add(key)
            send({"k": "record", "rule": rule, "detail": key[1]})

    cache = {}

    def library(filename):
        found = cache.get(filename)
        if found is None:
            found = cache[filename] = next((name for part, name in library_methods.items() if part in filename), "")
        return found

    def called(found, function):
        if (found, function) not in sent and not limited("calls"):
            sent.add((found, function))
            send({"k": "call", "library": found, "function": function})

    def profile(frame, event, arg):
        if event != "call" or not watching[0]:
            return
        try:  # (an exception here would surface in the profiled code)
            found = library(frame.f_code.co_filename)
            if found:
                called(found, frame.f_code.co_name)
        except Exception:  # noqa: BLE001
            pass

    def arm_if_loaded():
        # what was imported before this runtime (the zygote's imports) or put into sys.modules without an exec
        for module in list(modules.values()):
            try:
                filename = dict_get(get_attribute(module, "__dict__"), "__file__")
            except Exception:  # noqa: BLE001 - (no module; a lazy module is not loaded by looking)
                continue
            if isinstance(filename, str) and library(filename):
                armed[0] = True
                return

    def loaded(event, args):
        # Code of a library method's file is run (an import of its module, exec, eval) or made (compile, a new
        # code object): from now on the probe's thread is profiled; during the probe at once, and a module run
        # during the probe is a call (before any function of it can be called)
        code = args[0] if args and isinstance(args[0], code_type) else None
        filename = code.co_filename if code is not None else args[1] if event != "exec" and len(args) > 1 else None
        found = library(filename) if isinstance(filename, str) else ""
        if found:
            arm()
            if watching[0] and event == "exec" and code is not None:
                called(found, code.co_name)

    def arm():
        armed[0] = True
        if watching[0]:
            setprofile(profile)

    def hook(event, args):
        if event not in handled and event[:7] not in ("os.exec", "os.spaw"):
            return
        try:  # (an exception leaving an audit hook aborts the audited operation: none may)
            if getattr(local, "busy", False):
                return
            local.busy = True
        except Exception:  # noqa: BLE001 - e.g. at interpreter shutdown
            return
        try:
            if event in loading:
                loaded(event, args)
            if event == "xaigrade.probe" and args and args[0] in ("start", "end"):
                watching[0] = args[0] == "start"
                if watching[0]:
                    arm_if_loaded()
                # (the probe's own thread, when a library method's code is loaded; other threads carry it)
                setprofile(profile if watching[0] and armed[0] else None)
                send({"k": "probe", "what": args[0]})
            elif event in ("sys.setprofile", "sys.settrace"):
                if by_user():
                    note("watcher", event)
            elif event in events or event.startswith(("os.exec", "os.spawn")):
                if by_user():
                    note(events.get(event, "processes"), f"{event} {args[:2]!r}"[:160])
                    if events.get(event) == "code":  # (a code object the submission made: of which file?)
                        arm()
            elif event == "compile" and isinstance(args[0], (str, bytes)) and by_user():
                text = args[0].decode("utf-8", "replace") if isinstance(args[0], bytes) else args[0]
                if text.strip() and not limited("sources"):
                    send({"k": "source", "text": text[:limits["source_chars"]]})
            elif event == "import" and args[0].split(".")[0] in watched_imports and by_user():
                note("imports", args[0])
            elif event == "open" and isinstance(args[0], str) and isabs(args[0]) \
                    and not args[0].startswith(not_outside) and by_user():
                note("files", args[0])
        except Exception:  # noqa: BLE001 - a recorder must never break the submission
            pass
        finally:
            try:
                local.busy = False
            except Exception:  # noqa: BLE001
                pass

    start_new_thread = _thread.start_new_thread

    def start_watched_thread(function, args, kwargs=None):
        def run(*inner_args, **inner_kwargs):
            setprofile(profile)
            return function(*inner_args, **inner_kwargs)
        return start_new_thread(run, args, {} if kwargs is None else kwargs)

    arm_if_loaded()
    threading.setprofile(profile)  # every thread started through threading from now on
    _thread.start_new_thread = _thread.start_new = start_watched_thread  # and raw ones
    send({"k": "hello", "pid": getpid()})
    sys.addaudithook(hook)


_xaigrade_install(LIBRARY_METHODS, CHANNEL, LIMITS)
del _xaigrade_install
'''


def startup_source() -> str:
    """The startup file: IPython runs it in the notebook's namespace, so the runtime is run in a namespace of its
    own (a name a cell defines, ``def str(...)``, is no name the hook's functions see)."""
    limits = {"records": MAX_RECORDS, "sources": MAX_SOURCES, "calls": MAX_CALLS, "source_chars": MAX_SOURCE_CHARS}
    source = f"LIBRARY_METHODS = {LIBRARY_METHODS!r}\nCHANNEL = {CHANNEL!r}\nLIMITS = {limits!r}\n{RUNTIME_SOURCE}"
    return (f"exec(compile({source!r}, '<xaigrade-runtime>', 'exec'), "
            "{'__builtins__': __import__('builtins'), '__name__': '_xaigrade'})\n")


# The probe cell's first and last statements: the hook starts and stops watching (and tells the executor).
PROBE_PREFIX = ("__import__('sys').audit('xaigrade.probe', 'start')\n"
                "try:\n")
PROBE_SUFFIX = ("finally:\n"
                "    __import__('sys').audit('xaigrade.probe', 'end')\n")


# --- the executor's end of the channel ---------------------------------------------------------------

class RuntimeRecorder:
    """Receives the kernels' records as they happen (executor side, a thread of its own) and writes them,
    with what the executor itself knows (which kernels ran, whether the probe cell ran to its end), to
    ``results/_runtime.json`` once no kernel is left. Bounded: connections, message sizes, counts."""

    def __init__(self, job_dir: Path):
        self.job_dir = Path(job_dir)
        self.records: list = []
        self.sources: list = []
        self.calls: list = []
        self.dropped = {"records": 0, "sources": 0, "calls": 0}
        self.connections: list[dict] = []  # per connection: the pid its hello named, the probe marks it sent
        self.kernels: list[dict] = []  # per kernel the executor ran: pid, whether the probe cell ran to its end
        self._lock = threading.Lock()
        self._stop = threading.Event()
        path = self.job_dir / CHANNEL
        _remove(path)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        old = os.getcwd()
        try:
            os.chdir(self.job_dir)  # (bound by its short name: a job folder's path may exceed 107 bytes)
            self.listener.bind(CHANNEL)
            self.listener.listen(MAX_CONNECTIONS)
            self.listener.setblocking(False)
        except OSError as error:  # no channel: no kernel can report, and the grader will say so
            print(f"xaigrade: no run record channel ({error})", file=sys.stderr)
            self.listener.close()
            self.listener = None
        finally:
            os.chdir(old)
        self.thread = threading.Thread(target=self._serve, name="xaigrade-runtime", daemon=True)
        if self.listener is not None:
            self.thread.start()

    # what the executor tells it
    def kernel_started(self, pid) -> None:
        with self._lock:
            if isinstance(pid, int) and len(self.kernels) < MAX_KERNELS:
                self.kernels.append({"pid": pid, "ran_probe": False})

    def probe_ran(self, pid) -> None:
        with self._lock:
            for kernel in self.kernels:
                if kernel["pid"] == pid:
                    kernel["ran_probe"] = True

    # the channel
    def _serve(self) -> None:
        if self.listener is None:
            return
        selector = selectors.DefaultSelector()
        selector.register(self.listener, selectors.EVENT_READ)
        states: dict = {}
        try:
            while True:
                stopping = self._stop.is_set()
                ready = selector.select(timeout=0 if stopping else 0.1)
                for key, _ in ready:
                    if key.fileobj is self.listener:
                        self._accept(selector, states)
                    else:
                        self._read(key.fileobj, selector, states)
                if stopping and not ready:  # after the stop: until what the ended kernels sent is all read
                    return
        finally:
            for conn in list(states):
                conn.close()
            selector.close()

    def _accept(self, selector, states) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            if len(self.connections) >= MAX_CONNECTIONS:
                conn.close()
                continue
            conn.setblocking(False)
            state = {"pid": None, "probe": []}
            with self._lock:
                self.connections.append(state)
            states[conn] = state
            selector.register(conn, selectors.EVENT_READ)

    def _read(self, conn, selector, states) -> None:
        while True:
            try:
                data = conn.recv(MAX_MESSAGE_BYTES)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                selector.unregister(conn)
                states.pop(conn, None)
                conn.close()
                return
            self._take(states[conn], data)

    def _take(self, state: dict, data: bytes) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        kind = message.get("k")
        with self._lock:
            if kind == "hello" and state["pid"] is None and _number(message.get("pid")):
                state["pid"] = message["pid"]
            elif kind == "probe" and message.get("what") in ("start", "end") and len(state["probe"]) < 8:
                state["probe"].append(message["what"])
            elif kind == "record" and _text(message.get("rule"), 40) and _text(message.get("detail"), 160):
                self._keep(self.records, [message["rule"], message["detail"]], "records", MAX_RECORDS)
            elif kind == "source" and isinstance(message.get("text"), str):
                self._keep(self.sources, message["text"][:MAX_SOURCE_CHARS], "sources", MAX_SOURCES)
            elif kind == "call" and _text(message.get("library"), 40) and _text(message.get("function"), 160):
                self._keep(self.calls, [message["library"], message["function"]], "calls", MAX_CALLS)
            elif kind == "overflow" and message.get("what") in self.dropped:
                self.dropped[message["what"]] += 1  # (the kernel stopped sending that kind)

    def _keep(self, kept: list, item, kind: str, limit: int) -> None:
        if item in kept:
            return
        if len(kept) < limit:
            kept.append(item)
        else:
            self.dropped[kind] += 1

    # the end
    def finish(self) -> dict:
        """Stop listening (after every kernel has ended) and return the record."""
        self._stop.set()
        if self.thread.is_alive():
            self.thread.join(30)  # (a hang guard: the last pass reads what is queued and returns)
        if self.listener is not None:
            self.listener.close()
            _remove(self.job_dir / CHANNEL)
        with self._lock:
            kernels = []
            for kernel in self.kernels:
                own = [c for c in self.connections if c["pid"] == kernel["pid"]]
                marks = [mark for c in own for mark in c["probe"]]
                kernels.append({"pid": kernel["pid"], "hello": bool(own), "ran_probe": kernel["ran_probe"],
                                "probe_marks": marks[:8]})
            return {"records": list(self.records), "sources": list(self.sources), "calls": list(self.calls),
                    "dropped": dict(self.dropped), "kernels": kernels}

    def write(self, record: dict) -> bool:
        """``results/_runtime.json``, replacing whatever the submission put there; nothing (not even the
        submission's file) when it cannot be written. Only into a real ``results`` folder: the probe made it."""
        results = self.job_dir / "results"
        try:
            if not stat.S_ISDIR(os.lstat(results).st_mode):
                return False
        except OSError:
            return False
        target = results / RUNTIME_FILE
        _remove(target)
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(record, handle)
            return True
        except (OSError, ValueError, TypeError):
            _remove(target)
            return False


def _remove(path: Path) -> None:
    """Whatever is at ``path`` (a file, link, FIFO, socket or folder), never following a link."""
    try:
        if stat.S_ISDIR(os.lstat(path).st_mode):
            import shutil

            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)
    except OSError:
        pass


def _number(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 1 << 31


def _text(value, limit: int) -> bool:
    return isinstance(value, str) and 0 < len(value) <= limit


# --- the grader's reading ----------------------------------------------------------------------------

def _pairs(value, count: int) -> list[tuple[str, str]]:
    found = []
    for item in value[:count] if isinstance(value, list) else []:
        if isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item):
            found.append((item[0][:40], item[1][:160]))
    return found


def _kernels(value) -> list[dict]:
    found = []
    for item in value[:MAX_KERNELS] if isinstance(value, list) else []:
        if isinstance(item, dict) and _number(item.get("pid")):
            marks = item.get("probe_marks") if isinstance(item.get("probe_marks"), list) else []
            found.append({"pid": item["pid"], "hello": item.get("hello") is True, "ran_probe": item.get("ran_probe") is True,
                          "probe_marks": [mark for mark in marks[:8] if mark in ("start", "end")]})
    return found


def read_runtime(results: JobFiles | None, ended: bool = True) -> dict:
    """The run record, validated by type and size (the submission could have written it); ``{}`` when the
    probe never started (nothing to record). ``ended``: the job ran to its end (the executor wrote the
    record after the kernel had ended); when it did not, or the record is missing or unreadable although
    the probe started, ``{"missing": reason}`` — the grader says so."""
    if results is None:
        return {}
    try:
        probe_started = any(name.endswith(".started") for name in results.names())
    except OSError:
        probe_started = False
    if not probe_started:
        return {}
    if not ended:
        return {"missing": "the job did not end normally"}
    try:
        raw = json.loads(results.read(RUNTIME_FILE, MAX_RUNTIME_BYTES))
    except UnsafeFile as error:
        return {"missing": "absent" if error.kind == "missing" else "unreadable"}
    except ValueError:
        return {"missing": "unreadable"}
    if not isinstance(raw, dict):
        return {"missing": "unreadable"}
    dropped = raw.get("dropped") if isinstance(raw.get("dropped"), dict) else {}
    return {"records": _pairs(raw.get("records"), MAX_RECORDS),
            "sources": _strings(raw.get("sources"), MAX_SOURCES, MAX_SOURCE_CHARS),
            "calls": _pairs(raw.get("calls"), MAX_CALLS),
            "dropped": {key: value for key in ("records", "sources", "calls")
                        if isinstance(value := dropped.get(key), int) and not isinstance(value, bool) and value > 0},
            "kernels": _kernels(raw.get("kernels"))}


RUNTIME_RULES = {"processes": "ran_processes", "network": "ran_network", "native": "ran_native",
                 "files": "ran_files", "imports": "ran_imports", "watcher": "watcher"}


def flags_from_runtime(runtime: dict) -> list[dict]:
    """Flags (``cell`` None: seen while it ran, or decided from the record) for the instructor."""
    from .scan import scan_source

    flags = []
    missing = runtime.get("missing")
    if missing:
        flags.append({"cell": None, "rule": "runtime_missing", "detail": f"_runtime.json: {missing}"})
    kernels = runtime.get("kernels", [])
    if not missing and "kernels" in runtime and not kernels:
        flags.append({"cell": None, "rule": "runtime_missing", "detail": "no kernel"})
    for number, kernel in enumerate(kernels, 1):
        if not kernel["hello"]:
            flags.append({"cell": None, "rule": "runtime_missing", "detail": f"kernel {number}: no report"})
        elif kernel["ran_probe"] and kernel["probe_marks"] != ["start", "end"]:  # (watched once, start to end)
            marks = "+".join(kernel["probe_marks"]) or "none"
            flags.append({"cell": None, "rule": "runtime_cut_short", "detail": f"kernel {number}: probe marks {marks}"})
    for library, function in runtime.get("calls", []):
        flags.append({"cell": None, "rule": "library_method", "detail": f"{library} ({function})"})
    for rule, detail in runtime.get("records", []):
        if rule in RUNTIME_RULES:
            flags.append({"cell": None, "rule": RUNTIME_RULES[rule], "detail": detail})
        elif rule == "code":
            flags.append({"cell": None, "rule": "hidden_code", "detail": detail})
    for source in runtime.get("sources", []):
        for rule, detail in scan_source(source):
            flag = {"cell": None, "rule": "hidden_code", "detail": f"{rule}: {detail}"}
            if flag not in flags:
                flags.append(flag)
    for kind, count in runtime.get("dropped", {}).items():
        flags.append({"cell": None, "rule": "runtime_overflow", "detail": f"{kind}: {count}"})
    return flags
