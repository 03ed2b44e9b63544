"""The judge's side of the sandbox: the client that sends the hello and the questions and
reads what comes back, and the files of the package it sends.

The sandbox process is started by ``judge/launch.py``; what each message holds and what each
outcome means is ``sandbox/CONTRACT.md``; what an answer may hold is checked by
``judge/answers.py`` before the judge reads a value of it.
"""

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from common import processes, safe_text
from course.manifest import MAX_HAND_IN_FILE
from judge import launch
from judge.answers import load_answer
from sandbox import protocol
from sandbox.protocol import Outcome

ISOLATED = sys.platform.startswith("linux")  # where the sandbox confines its children
PACKAGE = "submission"  # the name the student's package is imported under
GRACE = 10  # seconds the sandbox may take beyond a test's limit to end and clean up a child
CRASHES = {signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE, signal.SIGABRT}


class GraderFailure(BaseException):
    """A failure reported by its message alone: one line, or the sandbox's report of an error
    in the submission (a line and a short traceback).

    A BaseException, so that ``except Exception`` in graded code cannot swallow a time-out.
    """


class Collected:
    """What the submission's calls gave, one item per call in order, and the failure that
    stopped them (then asking for the first item they did not give raises it). A failure
    before the calls began (the submission could not be loaded) is raised by ``ask``."""

    def __init__(self, items: list, failure: GraderFailure | None) -> None:
        self.items, self.failure = items, failure

    def __getitem__(self, index: int) -> object:
        if index < len(self.items):
            return self.items[index]
        raise self.failure or GraderFailure(
            f"the submission's process gave {len(self.items)} results, not {index + 1}"
        )


class Sandbox:
    """The sandbox process (sandbox/server.py) as the judge sees it: started fresh, told once which
    files to grade, then asked one question per ``ask``, each run as a uid of its own.

    Args:
        package: the package folder to grade (named in messages).
        files: its files (path in the package: bytes; package_files), read by the judge and
            sent, so that the sandbox never reads the judge's folders; None: no such folder.
        modules: the graded modules.
        users: the uids the submission runs as, one per question (as root; None: the grader's
            own user), shared by every sandbox of the grading run so that no two questions
            share a uid.
        early: the sandbox process the grader script started first, shared by every sandbox
            of the grading run: the first to start takes it (None: each starts its own).
    """

    def __init__(self, package: Path, files: dict[str, bytes] | None, modules: Iterable[str],
                 users: processes.UserPool | None,
                 early: launch.EarlySandbox | None = None) -> None:
        self.users, self.early = users, early
        self.hello = {
            "files": files, "package": PACKAGE, "modules": list(modules),
            "origin": str(package), "user": None,
            "folders": [] if users is None else processes.writable_folders(),
        }
        self.process: subprocess.Popen | None = None
        self.base: Path | None = None
        self.ready = False
        self.ran = 0.0  # the seconds the child of the last ask ran

    def _next_user(self) -> dict | None:
        """The uid of the next question (or probe), as the sandbox reads it."""
        if self.users is None:
            return None
        user = self.users.take()
        return {"uid": user.uid, "gid": user.gid}

    def start(self) -> None:
        """Starts the sandbox (or takes the one the grader script started first) and sends it
        the hello; its answer is read by ``wait_until_ready``."""
        early = self.early.take() if self.early is not None else None
        self.process = early or launch.start_sandbox()
        self.ready = False
        # Where the tests' folders go: root's where the grader is root, so that no child can
        # list it, and reached by each child to its own folder.
        self.base = Path(tempfile.mkdtemp(prefix="grader-sandbox-"))
        self.base.chmod(0o711)
        hello = {**self.hello, "user": self._next_user(), "base": str(self.base)}  # a probe's
        protocol.write_message(self.process.stdin, protocol.saved(hello))

    def wait_until_ready(self) -> None:
        """Waits for the sandbox's answer to the hello (its imports take a second or two);
        raises processes.SetupError with its reason if it cannot run."""
        if self.process is None:
            self.start()
        if not self.ready:
            answer = self._receive(time.monotonic() + 600)
            reply = json.loads(answer) if answer is not None else {"problem": (
                "the sandbox process ended before it was ready (see its error above)")}
            if not reply.get("ready"):
                raise processes.SetupError(reply["problem"])
            self.ready = True

    def ask(self, calls: list[tuple[str, dict]], seconds: float, limit: float) -> Collected:
        """The results of ``calls``, made by a child that may run ``seconds``; sets ``ran`` to
        the seconds it ran (all of them where it did not answer)."""
        self.ran = seconds
        if not self.ready:  # started again after a time-out: not on the test's time
            raise GraderFailure(f"timed out after {limit:g} seconds")
        try:
            protocol.write_message(self.process.stdin, protocol.saved(
                {"calls": calls, "seconds": seconds, "user": self._next_user()}))
            deadline = time.monotonic() + seconds + GRACE
            header, answer = self._receive(deadline), self._receive(deadline)
        except (OSError, ValueError):
            header = answer = None
        if header is None or answer is None:  # it hung past its grace, or died: start anew
            self.close()
            self.start()
            raise GraderFailure(f"timed out after {limit:g} seconds")
        header = json.loads(header)
        self.ran = min(max(float(header["ran"]), 0.0), seconds)
        if header["why"] == Outcome.TIMEOUT:
            raise GraderFailure(f"timed out after {limit:g} seconds")
        if header["why"] == Outcome.TOO_MUCH:
            raise GraderFailure(
                f"the submission's process sent more than {protocol.MAX_ANSWER >> 20} MiB")
        if header["why"] == Outcome.ENDED:
            raise GraderFailure(_ended(header["status"]))
        return _collected(*load_answer(answer), header["printed"])

    def _receive(self, deadline: float) -> bytes | None:
        """The sandbox's next message, or None if it did not send it whole before
        ``deadline`` (read from the pipe itself: a buffered stream would hide what is already
        read from select)."""
        head = self._read(protocol.LENGTH.size, deadline)
        if head is None:
            return None
        (length,) = protocol.LENGTH.unpack(head)
        if length > protocol.MAX_FROM_SANDBOX:
            raise ValueError(f"a message of {length} bytes")
        return self._read(length, deadline)

    def _read(self, size: int, deadline: float) -> bytes | None:
        pipe, chunks, left = self.process.stdout.fileno(), [], size
        while left:
            if not select.select([pipe], [], [], max(0.0, deadline - time.monotonic()))[0]:
                return None
            chunk = os.read(pipe, min(left, 1 << 20))
            if not chunk:
                return None
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        """Ends the sandbox and everything it left (it ends its children and removes their
        files itself, unless it was killed): every process of the run's uids and every
        descendant of the judge, the tests' folders, every file of those uids in the folders
        every user can write."""
        if self.process is None:
            return
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        try:
            self.process.wait(GRACE)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        self.process = None
        if ISOLATED:
            processes.end_processes(None if self.users is None else self.users.uids, os.getpid())
            processes.remove_path(self.base)
        else:
            shutil.rmtree(self.base, ignore_errors=True)
        if self.users is not None:
            processes.remove_files_of(self.users.uids, self.hello["folders"])


def _ended(status: int) -> str:
    """Why a child that sent nothing back ended, from its wait status."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        crash = " (a crash)" if number in CRASHES else ""
        if number == signal.SIGXCPU:
            crash = " (its CPU time ran out)"
        return f"the submission's process was killed by {name}{crash} before the test finished"
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else status
    return f"the submission ended its process (exit status {code}) before the test finished"


def _collected(items: list | None, report: list[str] | None, printed: str) -> Collected:
    """What ``ask`` returns, or the failure it raises, for what the calls gave."""
    if report is not None:
        failure = GraderFailure("\n".join(report))
        if items is None:
            raise failure
        return Collected(items, failure)
    if printed:
        lines = printed.strip().splitlines()
        first = f" (first line: {lines[0][:60]!r})" if lines else ""
        raise GraderFailure(f"submission printed to stdout; remove print statements{first}")
    return Collected(items, None)


# ----------------------------------------------------------------------------------------
# What the judge sends: the package's files


MAX_PACKAGE = 16 * 2**20  # bytes of the package's files in all
MAX_ENTRIES = 1000  # files and folders of the package looked at (the reference has 3 files)


def package_files(package: Path) -> tuple[dict[str, bytes] | None, list[str]]:
    """The files of the package folder (path in it: contents; None if there is no folder),
    each read once, and a line for each one left out: a link or anything else that is not a
    plain file, a file over MAX_HAND_IN_FILE bytes, and what lies past MAX_PACKAGE bytes or
    MAX_ENTRIES files and folders. Caches and hidden files are skipped. Folders are walked
    without recursion and links never followed, so that no tree or link of the upload can
    make the judge read more, or read another file, as root."""
    if not package.is_dir():
        return None, []
    files: dict[str, bytes] = {}
    left_out: list[str] = []
    size, seen, folders = 0, 0, [package]
    while folders:
        for entry in sorted(os.scandir(folders.pop()), key=lambda entry: entry.name):
            if entry.name.startswith(".") or entry.name == "__pycache__":
                continue
            seen += 1
            if seen > MAX_ENTRIES:
                return files, [*left_out, f"the package holds more than {MAX_ENTRIES} files "
                               "and folders: those past them are left out"]
            relative = Path(entry.path).relative_to(package).as_posix()
            name = f"{PACKAGE}/{safe_text.one_line(relative)}"
            if entry.is_dir(follow_symlinks=False):
                folders.append(Path(entry.path))
            elif not entry.is_file(follow_symlinks=False):
                left_out.append(f"{name} is left out: it is a link or not a plain file")
            elif (length := entry.stat(follow_symlinks=False).st_size) > MAX_HAND_IN_FILE:
                left_out.append(f"{name} is left out: it is larger than "
                                f"{MAX_HAND_IN_FILE >> 20} MiB")
            elif size + length > MAX_PACKAGE:
                left_out.append(f"{name} is left out: the package's files pass "
                                f"{MAX_PACKAGE >> 20} MiB in all")
            else:
                with open(entry.path, "rb") as file:
                    files[relative] = file.read(MAX_HAND_IN_FILE)
                size += len(files[relative])
    return files, left_out
