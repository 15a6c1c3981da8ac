"""The cold path's first process inside the submission's namespaces: build the file jail (``jail.py``), then run
the executor (``execute.py``) in this very process.

Started by ``sandbox.run_job`` as ``unshare --mount --net --pid --ipc --fork ... python -m
autograder.runner.cold_start JOBDIR --hide ... --expose ... [--uid U --nproc N]``. The executor is not exec'd:
this process's memory belongs to the namespace it was started in, where nothing of the submission has a
capability. Exec'd inside the nested user namespace, it belonged to that one, where the kernel is root: the
kernel could ptrace the executor (and forge the run record it keeps) although the executor is not dumpable.
(The warm path's executor is a fork of the zygote's: the same.)
"""

from __future__ import annotations

import argparse
import os
import sys

from . import jail
from .jobsetup import JAIL_FAILED


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("job_dir")
    parser.add_argument("--hide", action="append", default=[])
    parser.add_argument("--expose", action="append", default=[])
    parser.add_argument("--check", action="store_true", help="build the jail, then exit 0")
    parser.add_argument("--uid", type=int, default=None, help="unprivileged outer uid to run as (when root)")
    parser.add_argument("--nproc", type=int, default=None, help="RLIMIT_NPROC for the submission's uid")
    parser.add_argument("--command", nargs=argparse.REMAINDER, help="run this instead of the executor (tests)")
    args = parser.parse_args()
    try:
        jail.build_jail(args.job_dir, args.hide, args.expose, args.uid, args.nproc)
    except (jail.JailError, OSError) as error:
        print(f"xaigrade jail: {error}", file=sys.stderr)
        return JAIL_FAILED
    if args.check:
        return 0
    os.chdir(args.job_dir)
    if args.command:
        os.execv(args.command[0], args.command)
    # (the executor runs here, not exec'd: see above)
    sys.path[:] = [p for p in sys.path if p not in ("", args.job_dir, os.getcwd())]  # (`-m` put the job folder first)
    from . import execute

    return execute.main(args.job_dir)


if __name__ == "__main__":
    sys.exit(main())
