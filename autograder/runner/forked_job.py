"""The warm path's job set-up: what a child forked from the zygote does before the submission runs.

It builds exactly the sandbox of ``sandbox.run_job``'s cold path, in-process instead of via ``unshare``
and ``jail.py``:

  job (zygote's key wiped, new session and session keyring, descriptors closed, cgroups, rlimits, scrubbed environment,
       output to sandbox.log)
   └ unshare(jobsetup.NAMESPACE_FLAGS [+ user]) → fork → PID 1 of the new namespaces:
        private mounts, fresh /proc, the file jail, the unprivileged uid, then the executor,
        whose kernel is forked from this warm process too (``warm.prefork_kernel``).

What a job inherits of the zygote: its memory (the request key is zeroed here first, and it never
existed anywhere else in the zygote's memory: ``protocol``) and nothing else — every descriptor but the
log is closed before anything of the submission runs.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback

from . import jail, jobsetup
from .protocol import wipe

JOB_NAME = b"xaigrade-job"  # process name of forked jobs (their command line is the zygote's)


def enter_namespaces(mode: str) -> None:
    """As ``unshare --mount --net --pid ... [--user --map-root-user]``; the caller forks PID 1 next."""
    if mode == "user":
        jail.enter_user_namespace(jobsetup.NAMESPACE_FLAGS)
    else:
        jail.unshare(jobsetup.NAMESPACE_FLAGS)


def first_in_namespace(spec: dict) -> int:
    """PID 1 of the job's namespaces: mounts, jail, then the executor. Returns its exit code."""
    if spec["namespaces"]:
        # Nothing mounted here may reach the host's mount namespace (unshare(1) does the same).
        jail.mount(None, "/", None, jail.MS_REC | jail.MS_PRIVATE)
        jail.mount("proc", "/proc", "proc", jail.MS_NOSUID | jail.MS_NODEV | jail.MS_NOEXEC)
    if spec.get("jail"):
        try:
            jail.build_jail(spec["job_dir"], spec["jail"]["hide"], spec["jail"]["expose"],
                            spec["jail"].get("uid"), spec["jail"].get("nproc"))
        except (jail.JailError, OSError) as error:
            print(f"xaigrade jail: {error}", file=sys.stderr)
            return jobsetup.JAIL_FAILED
    os.chdir(spec["job_dir"])
    from . import execute

    # (a job started ahead of its submission waits for its go with its kernel ready: ``execute.wait_for_go``)
    return execute.main(spec["job_dir"], warm=True, prestart=spec.get("prestart") is True)


def close_inherited_descriptors() -> None:
    """Close everything but stdin/stdout/stderr: the zygote's listener and its epoll instance, the
    connections of jobs running beside this one, its log. (Python objects that still name these
    numbers belong to frames of the zygote that this process never returns to.)"""
    os.closerange(3, max(3, os.sysconf("SC_OPEN_MAX")))


def run_forked_job(spec: dict, log_fd: int, key: bytearray) -> None:
    """Body of the forked job process; never returns. ``key``: the zygote's request key, zeroed first."""
    code = 1
    try:
        wipe(key)  # nothing of the zygote's key reaches the submission
        os.setsid()
        jobsetup.join_new_session_keyring()
        from .warm import set_oom_score_adj

        set_oom_score_adj(-500)  # the executor (inherited); its kernel goes back to 0 (warm._become_kernel)
        jail.libc.prctl(jail.PR_SET_PDEATHSIG, signal.SIGKILL)  # the zygote gone (grader gone) = the job gone
        jail.libc.prctl(jail.PR_SET_NAME, JOB_NAME)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        stdin = os.open(os.devnull, os.O_RDONLY)
        os.dup2(stdin, 0)
        close_inherited_descriptors()
        for path in spec.get("cgroups", []):
            with open(os.path.join(path, "cgroup.procs"), "w") as handle:
                handle.write(str(os.getpid()))
        jobsetup.apply_limits(spec["limits"])
        os.environ.clear()
        os.environ.update(spec["env"])
        import tempfile

        tempfile.tempdir = None  # re-read TMPDIR
        os.chdir(spec["job_dir"])
        if not spec["namespaces"]:
            code = first_in_namespace(spec)
        else:
            enter_namespaces(spec["namespaces"])
            child = os.fork()
            if child == 0:
                inner = 1
                try:
                    jail.libc.prctl(jail.PR_SET_PDEATHSIG, signal.SIGKILL)  # as unshare --kill-child
                    inner = first_in_namespace(spec)
                except BaseException:  # noqa: BLE001
                    traceback.print_exc()
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(inner)
            _, status = os.waitpid(child, 0)
            if os.WIFSIGNALED(status):  # report it as unshare does: die of the same signal
                sys.stdout.flush()
                number = os.WTERMSIG(status)
                if number not in (signal.SIGKILL, signal.SIGSTOP):  # (those two cannot be handled anyway)
                    signal.signal(number, signal.SIG_DFL)
                os.kill(os.getpid(), number)
            code = os.waitstatus_to_exitcode(status)
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)
