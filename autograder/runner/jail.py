"""The file jail, built by the first process inside the submission's namespaces: hide files, make the rest
read-only, lock it. (Cold path: ``cold_start.py``, started by ``sandbox.run_job`` as ``unshare --mount --net --pid
--ipc --fork ... python -m autograder.runner.cold_start``; warm path: ``forked_job.py``.)
There we are root of a fresh mount namespace (real root, or root of a user namespace). We
1. cover the project, the submissions, the grader's output, $HOME and /tmp with empty tmpfs mounts,
2. bind back read-only only what the kernel needs (the autograder and xaikit packages, the Python
   environment) and the job directory read-write,
3. remount every other mount read-only,
4. enter a nested user + mount namespace: mounts copied into a less privileged namespace are locked,
   so the student's code (root only in that namespace) can neither unmount the covers nor make
   anything writable again,
then the executor runs (in that same process: see ``cold_start.main``).
"""

from __future__ import annotations

import ctypes
import os
import resource

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x10000000, 0x20000000, 0x40000000
CLONE_NEWIPC = 0x08000000
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_NAME = 1, 4, 15
libc = ctypes.CDLL(None, use_errno=True)


class JailError(RuntimeError):
    pass


def mount(source, target, fstype, flags, data=None):
    """mount(2); raises JailError."""
    args = [None if x is None else x.encode() for x in (source, target, fstype, data)]
    if libc.mount(args[0], args[1], args[2], ctypes.c_ulong(flags), args[3]) != 0:
        error = ctypes.get_errno()
        raise JailError(f"mount {source} -> {target} ({flags:#x}): {os.strerror(error)}")


def unshare(flags):
    if libc.unshare(flags) != 0:
        raise JailError(f"unshare({flags:#x}): {os.strerror(ctypes.get_errno())}")


def _mount_points():
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            fields = line.split()
            yield fields[4].replace("\\040", " "), fields[5].split(",")


def _inside(path, parents):
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in parents)


def build_jail(job_dir: str, hide: list[str], expose: list[str], outer_uid: int | None = None,
               max_processes: int | None = None) -> None:
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    expose = sorted({os.path.realpath(p) for p in expose if os.path.exists(p)}, key=len)
    hide = sorted({os.path.realpath(p) for p in hide if os.path.isdir(p)}, key=len)
    job_dir = os.path.realpath(job_dir)
    handles = {path: os.open(path, os.O_PATH | os.O_DIRECTORY) for path in expose + [job_dir]}
    for path in hide:
        if not _inside(path, [h for h in hide if h != path]):
            mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=755")
    for path in expose + [job_dir]:
        if _inside(path, hide):
            os.makedirs(path, exist_ok=True)
            mount(f"/proc/self/fd/{handles[path]}", path, None, MS_BIND | MS_REC)
    mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=256m,mode=1777")
    writable = {job_dir, "/dev/shm", "/proc", "/dev/pts"}
    for point, options in list(_mount_points()):
        if point in writable or point.startswith("/proc/") or point.startswith("/sys"):
            continue
        if _inside(point, hide) and not _inside(point, expose + [job_dir]):
            continue  # lies under a cover (e.g. the job folder's own tmpfs below /tmp): unreachable
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY
        flags |= MS_NOSUID if "nosuid" in options else 0
        flags |= MS_NODEV if "nodev" in options else 0
        flags |= MS_NOEXEC if "noexec" in options else 0
        try:
            mount(None, point, None, flags)
        except JailError:
            if _inside(job_dir, [point]) or point == "/":
                raise
    for fd in handles.values():
        os.close(fd)
    # Lock it: a nested user namespace owns the new mount namespace, so every mount above is
    # MNT_LOCKED (cannot be unmounted) and its read-only flag cannot be cleared.
    # As real root we first become an unprivileged uid: the submission then owns no file outside
    # its job dir, and RLIMIT_NPROC applies (the kernel exempts real root from it), which stops
    # fork bombs even where no pids cgroup exists. Then the nested namespace maps its root to us.
    if max_processes:
        resource.setrlimit(resource.RLIMIT_NPROC, (max_processes, max_processes))
    if outer_uid is not None:
        os.setgroups([])
        os.setresgid(outer_uid, outer_uid, outer_uid)
        os.setresuid(outer_uid, outer_uid, outer_uid)
        libc.prctl(PR_SET_DUMPABLE, 1)  # a uid change clears it, and /proc/self/*_map would turn root-owned
    enter_user_namespace(CLONE_NEWNS)


def ended_children():
    """(pid, wait status) of every child that has ended by now; waits for none of the others."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if not pid:
            return
        yield pid, status


def enter_user_namespace(flags: int = 0) -> None:
    """unshare a user namespace (plus ``flags``) whose root is the calling uid, as ``unshare --map-root-user``."""
    uid, gid = os.geteuid(), os.getegid()
    unshare(CLONE_NEWUSER | flags)
    with open("/proc/self/setgroups", "w") as handle:
        handle.write("deny")
    with open("/proc/self/uid_map", "w") as handle:
        handle.write(f"0 {uid} 1")
    with open("/proc/self/gid_map", "w") as handle:
        handle.write(f"0 {gid} 1")
