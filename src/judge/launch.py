"""How the judge starts its sandbox, and chooses the uids the submission runs as (standard
library only, so that the grader scripts can start the sandbox before they import torch).

The sandbox is a fresh process of this interpreter, ``python -B -c SERVE`` in the grader's
folder, its stdin and stdout the judge's channel to it (``sandbox/CONTRACT.md``).
"""

import os
import platform
import subprocess
import sys
from pathlib import Path

from common.processes import (
    SetupError,
    UserPool,
    is_root,
    search_writable_folders,
    unused_uids,
    used_ids,
)

GRADER_FOLDER = Path(__file__).resolve().parents[1]  # src/, or the bundle's: where it starts
# What the sandbox's environment keeps of the grader's on Linux: nothing else reaches it
KEPT_ENVIRONMENT = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR")


# ----------------------------------------------------------------------------------------
# Starting the sandbox


# The sandbox's command line: what start_sandbox runs, and how a process of it is recognised
SERVE = "from sandbox import server; server.serve()"


def start_sandbox() -> subprocess.Popen:
    """The sandbox process (sandbox/server.py), started fresh with this interpreter in src/,
    its stdin and stdout the judge's channel to it. It writes no bytecode into the grader's
    folder; on Linux its environment keeps only KEPT_ENVIRONMENT of this one's. One thread
    for torch."""
    environment = dict(os.environ)
    if platform.system() == "Linux":
        environment = {key: value for key, value in environment.items()
                       if key in KEPT_ENVIRONMENT}
    environment.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-B", "-c", SERVE],
                            cwd=GRADER_FOLDER, env=environment,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)


class EarlySandbox:
    """A sandbox process started before the grader script imports torch, so that the two
    processes import it side by side (about a second and a half saved): the first Sandbox of
    the run to start takes it, any other starts its own."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.process: subprocess.Popen | None = process

    def take(self) -> subprocess.Popen | None:
        """The process, once; None after that."""
        process, self.process = self.process, None
        return process


def start_sandbox_early() -> EarlySandbox:
    """Starts the sandbox now, for graderUtil.main to hand to the first Sandbox; as root it
    starts the search of ``writable_folders`` too. The grader scripts call this first, and only
    when run as scripts."""
    early = EarlySandbox(start_sandbox())
    search_writable_folders()
    return early


# ----------------------------------------------------------------------------------------
# Choosing the user


def choose_users(requested: str) -> UserPool | None:
    """The uids the submission runs as, or None for the grader's own user (a grader that is
    not root: a laptop).

    ``requested``: ``auto`` (as root on Linux, a range of uids chosen for this run; otherwise
    the grader's own user), ``none`` (the grader's own user: refused as root, where that user
    is uid 0), or ``FIRST-LAST``, a range of unused uids (as root on Linux only;
    run_autograder chooses one, to remove what is left of it after grading).
    """
    if requested == "auto":
        return UserPool(unused_uids()) if is_root() else None
    if requested == "none":
        if is_root():
            raise SetupError("--sandbox-user none: as root, the submission always runs as an "
                             "unprivileged uid of its own, never as root; leave the option out "
                             "(to grade as one user, as on a laptop, run the grader as that user)")
        return None
    first, dash, last = requested.partition("-")
    if not (dash and first.isdigit() and last.isdigit() and 0 < int(first) <= int(last)):
        raise SetupError(f"--sandbox-user {requested}: give auto, none, or a range of unused "
                         "uids FIRST-LAST")
    if not is_root():
        raise SetupError(f"--sandbox-user {requested}: only root, on Linux, can run the "
                         "submission as other users; leave the option out")
    uids = range(int(first), int(last) + 1)
    if used := sorted(uid for uid in used_ids() if uid in uids):
        raise SetupError(f"--sandbox-user {requested}: uid {used[0]} is a user's or a group's, "
                         "or runs a process; give a range of unused uids")
    return UserPool(uids)
