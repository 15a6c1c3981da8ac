"""Warm kernels: start a submission's kernel by forking a process that has already imported the
heavy libraries, instead of starting a fresh Python that imports torch/TensorFlow/transformers again.

``prefork_kernel()`` forks a child *before* the executor creates any event loop or ZeroMQ socket,
so the child starts from a clean state. The child waits on a pipe until the kernel manager
"launches" it (``WarmProvisioner.launch_kernel``) with the connection file, environment and working
directory jupyter_client chose; only then it becomes an ipykernel. A restart after the kernel died
has no pre-forked child left and starts a fresh kernel the usual way.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import signal
import sys
import tempfile
from pathlib import Path

from jupyter_client.provisioning import LocalProvisioner

from .scan import parse_cell

# What every warm process needs, whatever the notebook imports (the executor and an ipykernel). The kernel's
# debugger (debugpy, imported by every IPythonKernel when it is created) is ipykernel's own: preloaded, a warm
# kernel starts in 0.1 s instead of 0.35 s (measured; a cold kernel imports it as before).
BASE_MODULES = ("nbformat", "nbclient", "jupyter_client.manager", "jupyter_client.asynchronous", "ipykernel.kernelapp",
                "ipykernel.ipkernel", "ipykernel.debugger", "IPython.core.interactiveshell", "xaikit.selfcheck.probe")


def notebook_imports(nb) -> list[tuple[str, tuple[str, ...]]]:
    """Top-level imports of a notebook's code cells: (module, names imported from it).

    Read from the *release* notebook (the instructor's), never from a submission."""
    found: list[tuple[str, tuple[str, ...]]] = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tree = parse_cell(cell.source)
        if tree is None:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                found += [(alias.name, ()) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.append((node.module, tuple(alias.name for alias in node.names if alias.name != "*")))
    unique: dict[str, set] = {}
    for module, names in found:
        unique.setdefault(module, set()).update(names)
    return [(module, tuple(sorted(names))) for module, names in unique.items()]


def preload(modules: list[tuple[str, tuple[str, ...]]]) -> list[str]:
    """Import what the notebook will import; return what failed (those are imported by the kernel as usual)."""
    failed = []
    # xaikit first: its import hook loads torch and triton before TensorFlow (segfault otherwise).
    ordered = [("xaikit", ())] + [(m, ()) for m in BASE_MODULES] + list(modules)
    for module, names in ordered:
        try:
            imported = importlib.import_module(module)
            for name in names:  # lazy packages (transformers) import on attribute access
                try:
                    getattr(imported, name)
                except AttributeError:
                    importlib.import_module(f"{module}.{name}")
        except Exception:  # noqa: BLE001 - a module missing here is the notebook's problem, not ours
            failed.append(module)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
    return failed


class PreforkedKernel:
    """A forked child waiting to become the kernel; looks like the Popen jupyter_client expects."""

    def __init__(self, pid: int, start_pipe: int):
        self.pid = pid
        self._start_pipe = start_pipe
        self.returncode: int | None = None
        self.stdout = self.stderr = self.stdin = None

    def start(self, connection_file: str, env: dict | None, cwd: str | None) -> None:
        message = json.dumps({"connection_file": connection_file, "env": env, "cwd": cwd}).encode()
        os.write(self._start_pipe, message)
        os.close(self._start_pipe)

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.returncode = -signal.SIGKILL
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            try:
                _, status = os.waitpid(self.pid, 0)
                self.returncode = os.waitstatus_to_exitcode(status)
            except ChildProcessError:
                self.returncode = -signal.SIGKILL
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def set_oom_score_adj(value: int) -> bool:
    try:
        with open("/proc/self/oom_score_adj", "w") as handle:
            handle.write(str(value))
        return True
    except OSError:  # (lowering it needs privileges: then it stays as inherited)
        return False


_waiting: list[PreforkedKernel] = []
_inherited: list = []  # objects of the parent the kernel child must never finalise (its event loop)


def prefork_kernel() -> PreforkedKernel | None:
    """Fork a child that becomes the next kernel this process launches. Call before any event loop."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(write_end)
        _become_kernel(read_end)  # never returns
    os.close(read_end)
    kernel = PreforkedKernel(pid, write_end)
    _waiting.append(kernel)
    return kernel


def take_preforked() -> PreforkedKernel | None:
    return _waiting.pop() if _waiting else None


def _become_kernel(start_pipe: int) -> None:
    code = 1
    try:
        from .jail import PR_SET_NAME, PR_SET_PDEATHSIG, libc

        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # dies with the executor
        libc.prctl(PR_SET_NAME, b"xaigrade-kernel")  # findable: its command line is the zygote's
        os.setsid()  # its own process group: an interrupt (SIGINT to the group) reaches the kernel only
        # Forked, the executor shares the zygote's pages and looks as big as the kernel to the OOM
        # killer; a fork bomb in a cell must cost the kernel (which is restarted), not the executor. The
        # job (still root) lowered its own score (``forked_job.run_forked_job``): back to 0 here, so the
        # kernel is the job's first victim in its cgroup without being the machine's first victim
        # (with +1000 every honest warm kernel was, under memory pressure anywhere on the machine).
        set_oom_score_adj(0)
        chunks = []
        while chunk := os.read(start_pipe, 65536):
            chunks.append(chunk)
        if not chunks:  # the executor never needed us
            os._exit(0)
        request = json.loads(b"".join(chunks))
        # The grader's runner modules are in this process's memory (it was forked from the zygote and
        # the executor); a cold kernel has none of them: forget them, so an import in a cell behaves
        # the same on both paths (the code of this function stays alive while it runs).
        for name in [m for m in sys.modules if m == "autograder" or m.startswith("autograder.")]:
            del sys.modules[name]
        if request["env"] is not None:
            os.environ.clear()
            os.environ.update(request["env"])
        if request["cwd"]:
            os.chdir(request["cwd"])
        tempfile.tempdir = None  # gettempdir() may have cached the parent's TMPDIR
        import asyncio

        # The parent's event loop (if any) shares its epoll instance with ours: keep it referenced
        # and unused, and start on a new loop.
        _inherited.append(asyncio.get_event_loop_policy())
        asyncio.set_event_loop_policy(None)
        asyncio.set_event_loop(asyncio.new_event_loop())
        # The same sys.path as `python -m ipykernel_launcher` in cwd (IPython adds '' itself).
        sys.path[:] = [p for p in sys.path if p not in ("", os.getcwd()) and Path(p).resolve() != Path.cwd()]
        sys.argv = [sys.executable, "-f", request["connection_file"]]
        from ipykernel.kernelapp import IPKernelApp

        app = IPKernelApp.instance()
        # parent_handle as jupyter_client's launcher would pass it (JPY_PARENT_PID was read at import)
        app.initialize(["-f", request["connection_file"], f"--IPKernelApp.parent_handle={os.getppid()}"])
        if "matplotlib_inline.backend_inline" in sys.modules:
            # Imported before this shell existed, so its hook into the shell was never set up:
            # without this, figures would not appear in the executed notebook.
            sys.modules["matplotlib_inline.backend_inline"]._enable_matplotlib_integration()
        app.start()
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 0
    except BaseException:  # noqa: BLE001
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush() if sys.stdout else None
        sys.stderr.flush() if sys.stderr else None
        os._exit(code)


class WarmProvisioner(LocalProvisioner):
    """Launches the pre-forked kernel when there is one, a fresh process otherwise."""

    async def launch_kernel(self, cmd: list[str], **kwargs):
        kernel = take_preforked()
        if kernel is None:
            return await super().launch_kernel(cmd, **kwargs)
        kernel.start(self.parent.connection_file, kwargs.get("env"), str(kwargs.get("cwd") or os.getcwd()))
        self.process = kernel
        self.pid = kernel.pid
        self.pgid = kernel.pid  # it called setsid() right after the fork
        self.cwd = kwargs.get("cwd")
        return self.connection_info


def use_warm_provisioner(km) -> None:
    """Make a (not yet started) kernel manager launch through ``WarmProvisioner``."""
    km.provisioner = WarmProvisioner(kernel_id=km.kernel_id or "", kernel_spec=km.kernel_spec, parent=km)
