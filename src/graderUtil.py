"""A small autograder on top of unittest, in the format of the course autograder: the judge.

A grader module defines ``unittest.TestCase`` classes whose graded methods carry the
``@graded(test_id, description, timeout=...)`` decorator, keeps the points of each test id
in a JSON file, and ends with ``graderUtil.main(...)``. Test ids read
``<problem><part>-<n>-basic|hidden`` (``1a-0-basic``); a test worth 0 points is a check of a
written answer and is counted on a line of its own in the summary. A grader without the code of
some tests (the students' copy has no hidden tests) names them with their descriptions, and
they are listed with their points as graded elsewhere, neither passed nor failed.

This process is the judge: it never imports the submission. A test chooses every input here
and has the sandbox (sandbox.py, a process started fresh; on Linux one child per test, as
another user where the grader is root) make the graded calls on them with ``ask``; what comes
back is plain data, checked, and judged here against what the test computes itself. Graded
code that raises, runs past the test's time limit, prints, crashes or ends its process fails
that test alone, and the grader always ends with its summary. ``--gradescope FILE`` also
writes Gradescope's results JSON, rewritten after every test.
"""

import argparse
import contextlib
import functools
import importlib
import io
import json
import math
import os
import re
import select
import signal
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import unittest
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import torch

from sandbox import confine
from judge import given_code
from common import safe_text
from sandbox import server
from sandbox import calls as sandbox_calls
from common.exit_status import SETUP_PROBLEM
from common.files import write_json

DEFAULT_TIMEOUT = 5  # seconds
TEST_ID = re.compile(r"(\d+)([a-z])-(\d+)-(basic|hidden)")
SEPARATOR = "-----"
ISOLATED = sys.platform.startswith("linux")  # where the sandbox confines its children
SETUP_LINE = "grader set-up problem: "  # how its one line on standard error starts then


def setup_problem_line(stderr: str) -> str:
    """The line of a grader's standard error ``stderr`` that names its set-up problem (the
    last such), or its last line where none does."""
    lines = stderr.strip().splitlines() or ["(the grader printed nothing)"]
    return next((line for line in reversed(lines) if line.startswith(SETUP_LINE)), lines[-1])


class GraderFailure(BaseException):
    """A failure reported by its message alone: one line, or the sandbox's report of an error
    in the submission (a line and a short traceback).

    A BaseException, so that ``except Exception`` in graded code cannot swallow a time-out.
    """


# ----------------------------------------------------------------------------------------
# Declaring tests


ELSEWHERE = "hidden: graded on Gradescope"  # what a test that does not run here says


@dataclass(frozen=True)
class GradedTest:
    """One graded test method and what the grader knows about it (``case`` None: a test
    whose code this grader does not have)."""

    test_id: str
    description: str
    timeout: float
    case: type[unittest.TestCase] | None
    method: str
    points: float = 0.0

    @property
    def hidden(self) -> bool:
        return self.test_id.endswith("-hidden")

    @property
    def runs_here(self) -> bool:
        return self.case is not None

    def sort_key(self) -> tuple[int, str, int]:
        problem, part, number, _ = TEST_ID.fullmatch(self.test_id).groups()
        return int(problem), part, int(number)


def graded(test_id: str, description: str, timeout: float = DEFAULT_TIMEOUT) -> Callable:
    """Marks a TestCase method as the graded test ``test_id`` with a time limit in seconds."""
    if not TEST_ID.fullmatch(test_id):
        raise ValueError(f"test id {test_id!r} does not read <problem><part>-<n>-basic|hidden")

    def mark(method: Callable) -> Callable:
        method.graded = (test_id, description, timeout)
        return method

    return mark


def collect_tests(
    modules: list[ModuleType], points: dict[str, float], elsewhere: dict[str, str] | None = None
) -> list[GradedTest]:
    """The graded tests of ``modules`` and those of ``elsewhere`` (test id: description; run
    elsewhere) in id order, each with its points from ``points``."""
    tests: dict[str, GradedTest] = {}
    for test_id, description in (elsewhere or {}).items():
        if test_id not in points:
            raise SystemExit(f"grader error: points file has no entry for {test_id}")
        tests[test_id] = GradedTest(test_id, description, 0, None, "", float(points[test_id]))
    cases = [case for module in modules for case in vars(module).values()
             if isinstance(case, type) and issubclass(case, unittest.TestCase)]
    for case in dict.fromkeys(cases):  # once each, even if two modules hold it
        for name, attribute in vars(case).items():
            if not hasattr(attribute, "graded"):
                continue
            test_id, description, timeout = attribute.graded
            if test_id in tests:
                raise SystemExit(f"grader error: test id {test_id} is used twice")
            if test_id not in points:
                raise SystemExit(f"grader error: points file has no entry for {test_id}")
            tests[test_id] = GradedTest(
                test_id, description, timeout, case, name, float(points[test_id])
            )
    if unknown := sorted(set(points) - set(tests)):
        raise SystemExit(f"grader error: points file names tests that do not exist: {unknown}")
    return sorted(tests.values(), key=GradedTest.sort_key)


# ----------------------------------------------------------------------------------------
# Running tests


class _Result(unittest.TestResult):
    """Keeps the first error of a test as an exception (TestResult keeps only text)."""

    def __init__(self) -> None:
        super().__init__()
        self.failfast = True  # a test stops at its first failing subTest
        self.error: BaseException | None = None
        self.where = ""  # the parameters of the failed subTest, if any

    def record(self, error: BaseException, where: str = "") -> None:
        if self.error is None:
            self.error, self.where = error, where

    def addError(self, test: unittest.TestCase, err: tuple) -> None:
        self.record(err[1])

    def addFailure(self, test: unittest.TestCase, err: tuple) -> None:
        self.record(err[1])

    def addSkip(self, test: unittest.TestCase, reason: str) -> None:
        self.record(GraderFailure(f"the test was skipped ({reason}); a skipped test earns nothing"))

    def addSubTest(self, test: unittest.TestCase, subtest: unittest.TestCase, err) -> None:
        if err is not None:
            params = ", ".join(f"{key}={value}" for key, value in subtest.params.items())
            self.record(err[1], f"[{params}] " if params else "")


@dataclass
class Clock:
    """A test's time: its limit, and the seconds its children have run so far (as the sandbox
    measured them). The judge's own work between asks is not on it."""

    limit: float
    child: float = 0.0

    @property
    def left(self) -> float:
        return self.limit - self.child


_running = Clock(math.inf)  # the running test's clock
_notes: list[str] = []  # the running test's notes


def note(line: str) -> None:
    """Adds a line to the running test's report, shown whether it passes or not: a case left
    out, and why."""
    if line not in _notes:
        _notes.append(line)


def run_test(test: GradedTest) -> tuple[_Result, tuple[str, ...], float, float]:
    """Runs one test; the submission's calls in it (``ask``) share its time limit, which
    counts the time they run alone. Returns its result, its notes, the seconds the calls ran
    and the seconds the judge worked (the rest of the test's time, which fails nothing: the
    checks of every answer's size bound it)."""
    global _running
    result = _Result()
    _notes.clear()
    start = time.perf_counter()
    _running = clock = Clock(test.timeout)
    try:
        test.case(test.method).run(result)
    finally:
        _running = Clock(math.inf)
    return result, tuple(_notes), clock.child, time.perf_counter() - start - clock.child


# ----------------------------------------------------------------------------------------
# The sandbox: where the submission's calls are made

GRACE = 10  # seconds the sandbox may take beyond a test's limit to end and clean up a child
OUTPUT_LIMIT = 3000  # characters of a test's report (its visible output on Gradescope)
CRASHES = {signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE, signal.SIGABRT}


def type_name(value: object) -> str:
    """The name of ``value``'s type, also for a value sent back as Foreign."""
    return value.type_name if isinstance(value, server.Foreign) else type(value).__name__


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


def submitted_file(name: str) -> bytes | None:
    """The bytes of the file ``name`` of the package under grading (``flow_network.py``), as
    the judge read it: data to look at, never to run. None if there is no such file."""
    files = _sandbox.hello["files"] if _sandbox is not None else None
    return (files or {}).get(name)


def call(recipe: Callable, **arguments: object) -> tuple[str, dict]:
    """One call for ``ask``: a recipe of sandbox_calls and its plain arguments."""
    if sandbox_calls.RECIPES.get(recipe.__name__, (None, None))[1] is not recipe:
        raise ValueError(f"{recipe.__name__} is not a recipe of sandbox_calls")
    return recipe.__name__, arguments


def ask(calls: list[tuple[str, dict]]) -> Collected:
    """Has the sandbox make ``calls`` (from ``call``) on the submission, within what is left
    of the running test's time limit (the time its earlier calls ran); returns their results
    as plain data, checked to be only that."""
    clock = _running
    if clock.left <= 0:
        raise GraderFailure(f"timed out after {clock.limit:g} seconds")
    if _sandbox is None:
        raise RuntimeError("no sandbox is running: ask() is for tests run by grade()")
    try:
        return _sandbox.ask(calls, clock.left, clock.limit)
    finally:
        clock.child += _sandbox.ran


class Sandbox:
    """The sandbox process (sandbox.py) as the judge sees it: started fresh, told once which
    files to grade, then asked one question per ``ask``, each run as a uid of its own.

    Args:
        package: the package folder to grade (named in messages).
        files: its files (path in the package: bytes; package_files), read by the judge and
            sent, so that the sandbox never reads the judge's folders; None: no such folder.
        modules: the graded modules.
        users: the uids the submission runs as, one per question (as root; None: the grader's
            own user), shared by every sandbox of the grading run so that no two questions
            share a uid.
    """

    def __init__(self, package: Path, files: dict[str, bytes] | None, modules: Iterable[str],
                 users: confine.UserPool | None) -> None:
        self.users = users
        self.hello = {
            "files": files, "package": PACKAGE, "modules": list(modules),
            "origin": str(package), "user": None,
            "folders": [] if users is None else confine.writable_folders(),
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
        self.process = confine.take_early_sandbox() or confine.start_sandbox()
        self.ready = False
        # Where the tests' folders go: root's where the grader is root, so that no child can
        # list it, and reached by each child to its own folder.
        self.base = Path(tempfile.mkdtemp(prefix="grader-sandbox-"))
        self.base.chmod(0o711)
        hello = {**self.hello, "user": self._next_user(), "base": str(self.base)}  # a probe's
        server.write_message(self.process.stdin, server.saved(hello))

    def wait_until_ready(self) -> None:
        """Waits for the sandbox's answer to the hello (its imports take a second or two);
        raises confine.SetupError with its reason if it cannot run."""
        if self.process is None:
            self.start()
        if not self.ready:
            answer = self._receive(time.monotonic() + 600)
            reply = json.loads(answer) if answer is not None else {"problem": (
                "the sandbox process ended before it was ready (see its error above)")}
            if not reply.get("ready"):
                raise confine.SetupError(reply["problem"])
            self.ready = True

    def ask(self, calls: list[tuple[str, dict]], seconds: float, limit: float) -> Collected:
        """The results of ``calls``, made by a child that may run ``seconds``; sets ``ran`` to
        the seconds it ran (all of them where it did not answer)."""
        self.ran = seconds
        if not self.ready:  # started again after a time-out: not on the test's time
            raise GraderFailure(f"timed out after {limit:g} seconds")
        try:
            server.write_message(self.process.stdin, server.saved(
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
        if header["why"] == "timeout":
            raise GraderFailure(f"timed out after {limit:g} seconds")
        if header["why"] == "too much":
            raise GraderFailure(
                f"the submission's process sent more than {server.MAX_ANSWER >> 20} MiB")
        if header["why"] == "ended":
            raise GraderFailure(_ended(header["status"]))
        return _collected(*_load_answer(answer), header["printed"])

    def _receive(self, deadline: float) -> bytes | None:
        """The sandbox's next message, or None if it did not send it whole before
        ``deadline`` (read from the pipe itself: a buffered stream would hide what is already
        read from select)."""
        head = self._read(server.LENGTH.size, deadline)
        if head is None:
            return None
        (length,) = server.LENGTH.unpack(head)
        if length > server.MAX_ANSWER + 2**20:
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
            confine.end_processes(None if self.users is None else self.users.uids, os.getpid())
            confine.remove_path(self.base)
        else:
            shutil.rmtree(self.base, ignore_errors=True)
        if self.users is not None:
            confine.remove_files_of(self.users.uids, self.hello["folders"])


MAX_FILE = 2**20  # bytes of one file of the package (run_autograder's intake takes no more)
MAX_PACKAGE = 16 * 2**20  # bytes of the package's files in all
MAX_ENTRIES = 1000  # files and folders of the package looked at (the reference has 3 files)


def package_files(package: Path) -> tuple[dict[str, bytes] | None, list[str]]:
    """The files of the package folder (path in it: contents; None if there is no folder),
    each read once, and a line for each one left out: a link or anything else that is not a
    plain file, a file over MAX_FILE bytes, and what lies past MAX_PACKAGE bytes or
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
            elif (length := entry.stat(follow_symlinks=False).st_size) > MAX_FILE:
                left_out.append(f"{name} is left out: it is larger than {MAX_FILE >> 20} MiB")
            elif size + length > MAX_PACKAGE:
                left_out.append(f"{name} is left out: the package's files pass "
                                f"{MAX_PACKAGE >> 20} MiB in all")
            else:
                with open(entry.path, "rb") as file:
                    files[relative] = file.read(MAX_FILE)
                size += len(files[relative])
    return files, left_out


_sandbox: Sandbox | None = None  # the sandbox of the grading run, for ask()


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


# What one answer may hold, checked before the judge computes anything with it. The largest
# answer of the reference upload (all 35 tests; each answer's zip and values counted) is
# 0.39 MiB on the wire (server.MAX_ANSWER) in 179 zip records, with 173 tensors of 100,112
# values (60,000 in the largest), 573 values in all, nested 5 levels, holding strings of 20
# characters and integers under 2**15. Each cap is many times that, and bounds the judge's
# memory and time whatever the child sends.
MAX_RECORDS = 2000  # records of the answer's zip: one per tensor, and 6 more
# Bytes of its pickle (the reference's largest: 14.6 kB): torch.load's unpickler, in Python,
# takes up to a microsecond of the judge's time a byte.
MAX_PICKLE = 2**19
MAX_ELEMENTS = 2**21  # tensor values in one answer (the judge may hold several float64 copies)
MAX_DIMS = 8  # dimensions of one tensor (images have 4)
# Values in one answer: a record of self.net's batch sizes holds one int per call, 30,000
# for a MADE that loops over the rows of a 10,000-row batch, a mistake the judge must read to
# name.
MAX_ITEMS = 100_000
MAX_DEPTH = 16  # levels of lists, tuples and dicts
MAX_STRING = 2**16  # characters of one string (a report of an error shows OUTPUT_LIMIT)
MAX_CHARS = 2**20  # characters of all strings, each counted wherever the answer holds it
MAX_INT = 2**63  # an integer is an int64 (a batch size, a count, a seed)
ANSWER_DTYPES = {torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.bool,
                 torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64}
CENTRAL_RECORD = b"PK\x01\x02"  # how each record of a zip's directory begins


class Refused(ValueError):
    """An answer past what the judge reads (its message says what)."""


@dataclass
class Allowance:
    """What is left of one answer's caps while its values are checked."""

    items: int = MAX_ITEMS
    elements: int = MAX_ELEMENTS
    chars: int = MAX_CHARS
    storages: set[int] = field(default_factory=set)  # addresses of the tensors' storage


def _check_records(answer: bytes) -> None:
    """Refuses an answer that is not a zip as torch.save writes it, read from its directory
    before torch.load reads a record: at most MAX_RECORDS records, each stored as it is (a
    compressed one would be inflated by torch.load to any size), none overlapping another,
    the pickle (``data.pkl``, a name torch finds whatever its case) within MAX_PICKLE."""
    if not answer.startswith(b"PK\x03\x04"):
        raise Refused("it is not the zip that torch.save writes")
    # Each record of the directory begins with CENTRAL_RECORD: counted in the raw bytes, the
    # records are bounded before zipfile builds an object for each.
    if answer.count(CENTRAL_RECORD) > MAX_RECORDS:
        raise Refused(f"its zip holds more than {MAX_RECORDS} records")
    with zipfile.ZipFile(io.BytesIO(answer)) as archive:
        records = archive.infolist()
    if any(record.compress_type != zipfile.ZIP_STORED or record.compress_size != record.file_size
           for record in records):
        raise Refused("its zip holds compressed records")
    if sum(record.file_size for record in records) > len(answer):
        raise Refused("its zip's records overlap")
    if any(record.filename.lower().endswith("data.pkl") and record.file_size > MAX_PICKLE
           for record in records):
        raise Refused(f"its pickle is larger than {MAX_PICKLE >> 10} KiB")


def _checked_tensor(value: torch.Tensor, left: Allowance) -> torch.Tensor:
    """``value`` as a plain, detached Tensor, if it is a dense real CPU tensor of at most
    MAX_DIMS dimensions whose values are its own storage, each stored once (no expanded,
    stride-0 or overlapping view, no offset, no storage shared with another tensor), within
    what is left of MAX_ELEMENTS; Refused otherwise."""
    if (value.layout != torch.strided or value.device.type != "cpu" or value.is_quantized
            or value.is_complex() or value.dtype not in ANSWER_DTYPES):
        raise Refused("it holds a tensor that is not a dense real CPU tensor")
    if value.dim() > MAX_DIMS:
        raise Refused(f"it holds a tensor of more than {MAX_DIMS} dimensions")
    count = value.numel()
    left.elements -= count
    if left.elements < 0:
        raise Refused(f"its tensors hold more than {MAX_ELEMENTS:,} values")
    storage = value.untyped_storage()
    if (value.storage_offset() != 0 or storage.nbytes() != count * value.element_size()
            or not _each_value_once(value.shape, value.stride())):
        raise Refused("it holds a tensor whose values are not its own storage (a view)")
    if count:
        if storage.data_ptr() in left.storages:
            raise Refused("it holds tensors that share their storage")
        left.storages.add(storage.data_ptr())
    return value.as_subclass(torch.Tensor).detach()


def _each_value_once(shape: tuple[int, ...], strides: tuple[int, ...]) -> bool:
    """Whether a tensor of ``shape`` and ``strides`` reaches each of its values once, with no
    gap: its strides, smallest first, are those of a contiguous tensor of its dimensions in
    some order (a transposed result is one)."""
    expected = 1
    for stride, size in sorted((stride, size) for size, stride in zip(shape, strides) if size != 1):
        if stride != expected:
            return False
        expected *= size
    return True


def _checked(value: object, left: Allowance, depth: int = 0) -> object:
    """``value`` from an answer, if it is plain data within what is left of the caps: a
    tensor (_checked_tensor), a number, string, None, Foreign, or a list, tuple or dict
    (string keys) of those; Refused otherwise."""
    left.items -= 1
    if left.items < 0:
        raise Refused(f"it holds more than {MAX_ITEMS:,} values")
    if depth > MAX_DEPTH:
        raise Refused(f"it nests values more than {MAX_DEPTH} levels deep")
    if isinstance(value, torch.Tensor):
        return _checked_tensor(value, left)
    if value is None or type(value) in (bool, float):
        return value
    if type(value) is int:
        if not -MAX_INT <= value < MAX_INT:
            raise Refused("it holds an integer past 64 bits")
        return value
    if type(value) is str:
        return _checked_string(value, left)
    if type(value) is server.Foreign:  # its fields come from the pickle, like any value
        if set(vars(value)) != {"type_name"} or type(value.type_name) is not str:
            raise Refused("it holds a malformed Foreign")
        _checked_string(value.type_name, left)
        return value
    if type(value) in (list, tuple):
        return type(value)(_checked(item, left, depth + 1) for item in value)
    if isinstance(value, dict) and all(type(key) is str for key in value):
        return {_checked_string(key, left): _checked(item, left, depth + 1)
                for key, item in value.items()}
    raise Refused(f"it holds a {type(value).__name__}")


def _checked_string(text: str, left: Allowance) -> str:
    """``text``, within MAX_STRING and what is left of MAX_CHARS; Refused otherwise."""
    left.chars -= len(text)
    if len(text) > MAX_STRING:
        raise Refused(f"it holds a string of more than {MAX_STRING:,} characters")
    if left.chars < 0:
        raise Refused(f"its strings hold more than {MAX_CHARS:,} characters")
    return text


def _load_answer(answer: bytes) -> tuple[list | None, list[str] | None]:
    """The items and error report in a child's answer: its size checked (_check_records),
    read with weights_only=True, and checked to be plain data within the caps."""
    unreadable = None, ["the submission's process sent back an answer that cannot be read"]
    try:
        _check_records(answer)
        loaded = _checked(torch.load(io.BytesIO(answer), weights_only=True), Allowance())
    except Refused as refused:
        return None, [f"the submission's process sent back an answer the grader does not "
                      f"read: {refused}"]
    except Exception:
        return unreadable
    if not (isinstance(loaded, dict) and sorted(loaded) == ["error", "items"]
            and isinstance(loaded["items"], (list, type(None)))
            and (loaded["error"] is None or (isinstance(loaded["error"], list) and all(
                isinstance(line, str) for line in loaded["error"])))):
        return unreadable
    return loaded["items"], loaded["error"]


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
# Reporting


def failure_report(result: _Result) -> list[str]:
    """The lines that say why a test failed: where (its subTest) and why. A report of the
    sandbox (GraderFailure) is shown as it came, an assertion of the judge by its message;
    any other error of the judge in one line (its traceback goes to stderr only): no line of
    the judge's code reaches a report. Verdict.output makes them safe to show."""
    error = result.error
    if isinstance(error, GraderFailure):
        lines = str(error).splitlines() or [""]
    elif isinstance(error, AssertionError):
        lines = str(error).splitlines() or ["AssertionError"]
    else:
        print(safe_text.printable("".join(traceback.format_exception(error)), 20 * OUTPUT_LIMIT),
              file=sys.stderr)
        first = "".join(str(error).splitlines()[:1])
        lines = [f"the grader could not judge what the submission gave "
                 f"({type(error).__name__}: {first})"]
    return [result.where + lines[0], *lines[1:]]


@dataclass(frozen=True)
class Verdict:
    """How one test went: the lines that say why it failed (none if it passed), the seconds
    its calls ran and the judge worked, and its notes (cases left out, and why)."""

    test: GradedTest
    report: list[str]
    took: float = 0.0
    judge: float = 0.0
    notes: tuple[str, ...] = ()

    @functools.cached_property
    def output(self) -> list[str]:
        """What the test shows, as every print and write of it does: why it failed, in at
        most OUTPUT_LIMIT characters, then its notes, one line each; all of it safe text (the
        report and notes quote what the submission sent, which may hold any character)."""
        report = safe_text.printable("\n".join(self.report), OUTPUT_LIMIT).split("\n")
        return [*(report if self.report else []),
                *(safe_text.one_line(note, OUTPUT_LIMIT) for note in self.notes)]

    @property
    def passed(self) -> bool:
        return not self.report

    @property
    def score(self) -> float:
        return self.test.points if self.passed else 0.0


def _points(value: float) -> str:
    return f"{value:g}"


def fingerprint(folder: Path, results: Path | None) -> dict[str, tuple[int, int, int]]:
    """Size, modification time and inode of every file directly in ``folder`` (the grader's)
    and of ``results``: a write shows, without reading the files (a user's 30 MB of samples
    may sit beside the grader)."""
    files = [path for path in folder.iterdir() if path.is_file()]
    if results is not None and results.is_file():
        files.append(results)
    return {str(path): (stat.st_size, stat.st_mtime_ns, stat.st_ino)
            for path in files for stat in [path.stat()]}


# A test's report is printed indented: every line at the margin is the judge's own (START,
# END, the summary), whatever a report quotes.
INDENT = "  "


def grade(tests: list[GradedTest], folder: Path, sandbox: Sandbox,
          gradescope: Path | None = None, preface: list[str] = (),
          starters: dict[str, Verdict] | None = None) -> list[Verdict]:
    """Runs ``tests`` with ``sandbox`` making the submission's calls, prints ``preface``
    (lines about the whole hand-in), each result and the summary; returns the verdicts.
    ``starters``: the verdicts with the starter's given code in place of the hand-in's
    changed one (given_code_report): a test that scores otherwise says so, and a line before
    the summary says whether any does.

    A test during which a file in ``folder`` (the grader's) or the results file changed
    fails. With ``gradescope``, Gradescope's results JSON is written there before the first
    test and again after each one, so that it is complete even if this process dies midway.
    A test that does not run here is listed, with its points, as graded elsewhere. Raises
    confine.SetupError where the sandbox cannot run.
    """
    global _sandbox
    start = time.perf_counter()
    preface = [safe_text.one_line(line, OUTPUT_LIMIT) for line in preface]  # quotes the upload
    verdicts: list[Verdict] = []
    here = [test for test in tests if test.runs_here]
    elsewhere = [test for test in tests if not test.runs_here]

    def report() -> None:
        if gradescope is not None:
            results = gradescope_results(here, verdicts, time.perf_counter() - start, preface,
                                         starters)
            write_json(results, gradescope)

    if gradescope is not None:
        gradescope.parent.mkdir(parents=True, exist_ok=True)
    report()
    if preface:
        print("\n".join(preface), flush=True)
    _sandbox = sandbox
    try:
        for test in tests:
            if not test.runs_here:
                print(f"{SEPARATOR} {test.test_id} ({_points(test.points)} points): "
                      f"{test.description}\n{ELSEWHERE}", flush=True)
                continue
            sandbox.wait_until_ready()  # not on any test's time
            print(f"{SEPARATOR} START {test.test_id}: {test.description}", flush=True)
            before = fingerprint(folder, gradescope)
            result, test_notes, took, judge = run_test(test)
            if starters and test.test_id in starters and (
                    starters[test.test_id].passed != (result.error is None)):
                score = _points(starters[test.test_id].score)
                test_notes += (f"with the starter's given code around your blocks this test "
                               f"scores {score} points",)
            verdict = Verdict(test, [] if result.error is None else failure_report(result), took,
                              judge, test_notes)
            after = fingerprint(folder, gradescope)
            if changed := sorted(path for path in before.keys() | after.keys()
                                 if before.get(path) != after.get(path)):
                names = ", ".join(Path(path).name for path in changed)
                verdict = Verdict(test, [f"the submission changed the grader's files ({names})"],
                                  took, judge)
            for line in verdict.output:
                print(f"{INDENT}{line}")
            print(
                f"{SEPARATOR} END {test.test_id} [took {took:.2f} s of {test.timeout:g} s; "
                f"judge {judge:.2f} s, {_points(verdict.score)}/{_points(test.points)} points]",
                flush=True,
            )
            verdicts.append(verdict)
            report()
    finally:
        sandbox.close()  # before the summary: nothing the submission started outlives grading
        _sandbox = None
    if starters is not None:
        print(depends_on_given_code(verdicts, starters))
        # On Gradescope the summary is shown before the grades are published: of the basic
        # tests only, as the hidden tests' reports are not shown before then.
        basic = [verdict for verdict in verdicts if not verdict.test.hidden]
        preface = [*preface, depends_on_given_code(basic, starters, "basic")]
        report()
    print_summary(verdicts, elsewhere)
    return verdicts


def print_summary(verdicts: list[Verdict], elsewhere: list[GradedTest] = ()) -> None:
    """Points of the basic and of the hidden tests (of a kind that ran), those of the tests
    graded elsewhere, the written-answer checks, and last the line ``N passed, N failed`` (of
    the tests run here)."""
    print("========== SUMMARY")
    for hidden, kind in ((False, "basic"), (True, "hidden")):
        mine = [verdict for verdict in verdicts if verdict.test.hidden == hidden]
        if mine:
            earned, possible = (sum(v.score for v in mine), sum(v.test.points for v in mine))
            print(f"{kind} points: {_points(earned)}/{_points(possible)}")
    if elsewhere:
        print(f"not run here: {len(elsewhere)} hidden tests worth "
              f"{_points(sum(test.points for test in elsewhere))} points ({ELSEWHERE})")
    earned, possible = sum(v.score for v in verdicts), sum(v.test.points for v in verdicts)
    print(f"total points: {_points(earned)}/{_points(possible)}")
    if checks := [verdict for verdict in verdicts if verdict.test.points == 0]:
        passed = sum(verdict.passed for verdict in checks)
        print(f"checks of written answers (0 points): {passed}/{len(checks)} passed")
    passed = sum(verdict.passed for verdict in verdicts)
    print(f"{passed} passed, {len(verdicts) - passed} failed", flush=True)


# ----------------------------------------------------------------------------------------
# Gradescope


NOT_RUN = "not run: grading stopped before this test finished (it ran out of time)"


def gradescope_results(
    tests: list[GradedTest], verdicts: list[Verdict], seconds: float, preface: list[str] = (),
    starters: dict[str, Verdict] | None = None,
) -> dict[str, object]:
    """Gradescope's results of ``tests`` (a test without a verdict scores 0 as not run), with
    the lines of ``preface`` on top. Where ``starters`` (grade's) holds a test, its entry's
    ``extra_data`` gives ``score_with_given_code``, the score with the starter's given code
    around the hand-in's blocks (make_submission.py reads it; Gradescope shows none of it).

    Basic tests are ``visible``, hidden ones ``after_published``. The summary on top speaks
    of the basic tests alone and stdout stays hidden, so that nothing tells a student about
    the hidden tests before the course publishes the grades.
    """
    by_id = {verdict.test.test_id: verdict for verdict in verdicts}
    entries = []
    for test in tests:
        verdict = by_id.get(test.test_id)
        entries.append({
            "number": test.test_id,
            "name": test.description,
            "score": verdict.score if verdict else 0.0,
            "max_score": test.points,
            "output": "\n".join(verdict.output) if verdict else NOT_RUN,
            "visibility": "after_published" if test.hidden else "visible",
        })
        if starters and test.test_id in starters:
            entries[-1]["extra_data"] = {"score_with_given_code": starters[test.test_id].score}
    basic = [test for test in tests if not test.hidden]
    earned = sum(by_id[test.test_id].score for test in basic if test.test_id in by_id)
    passed = sum(by_id[test.test_id].passed for test in basic if test.test_id in by_id)
    summary = (
        f"Basic tests: {_points(earned)}/{_points(sum(test.points for test in basic))} points, "
        f"{passed} of {len(basic)} passed."
    )
    if hidden := [test for test in tests if test.hidden]:
        summary += (
            f" The hidden tests ({_points(sum(test.points for test in hidden))} points) are "
            "shown once the course publishes the grades."
        )
    if len(verdicts) < len(tests):
        summary = (
            f"Grading stopped during test {tests[len(verdicts)].test_id} (it ran out of time); "
            "that test and those after it score 0.\n"
            + summary
        )
    return {
        "execution_time": round(seconds, 2),
        "output": "\n".join([*preface, summary]),
        "stdout_visibility": "hidden",
        "tests": entries,
    }


# ----------------------------------------------------------------------------------------
# Given code changed outside the blocks


def given_code_report(package: Path, files: dict[str, bytes] | None, tests: list[GradedTest],
                      folder: Path, modules: Iterable[str], users: confine.UserPool | None
                      ) -> tuple[list[str], dict[str, Verdict] | None]:
    """The lines that name what the hand-in in ``package`` (its ``files``) changed in the
    starter's given code (given_code.py; the grader's folder ``folder`` holds its text), and,
    where that can be told, the verdicts of ``tests`` with the starter's given code around the
    hand-in's blocks (run here, quietly), by test id: grade compares the hand-in's own with
    them."""
    files = files or {}
    starter = given_code.starter_texts(folder)
    found = given_code.all_changes(files, starter)
    if not found or any(change.another_starter for change in found):
        return given_code.summary(found), None
    moved = given_code.transplanted(files, starter)
    if moved is None:
        return [*given_code.summary(found), "whether the score depends on these changes is "
                "not known: the START/END blocks do not match the starter's"], None
    with contextlib.redirect_stdout(io.StringIO()):
        ours = grade(tests, folder, Sandbox(package, moved, modules, users))
    return given_code.summary(found), {verdict.test.test_id: verdict for verdict in ours}


def depends_on_given_code(verdicts: list[Verdict], starters: dict[str, Verdict],
                          kind: str = "") -> str:
    """Whether the score of ``verdicts`` (of the ``kind`` of tests named, such as "basic")
    depends on the changed given code: the same tests with the starter's given code gave
    ``starters``."""
    tests = f"{kind} tests" if kind else "tests"
    if any(verdict.score != starters[verdict.test.test_id].score for verdict in verdicts
           if verdict.test.test_id in starters):
        return (f"the score depends on these changes: the {tests} that say so score otherwise "
                "with the starter's given code around your blocks")
    return (f"the score does not depend on these changes: every one of the {tests} scores the "
            "same with the starter's given code around your blocks")


# ----------------------------------------------------------------------------------------
# The command line


PACKAGE = "submission"  # the name the student's package is imported under


def main(
    modules: list[ModuleType],
    graded_modules: Iterable[str],
    points_file: Path,
    checks: str | None = None,
    elsewhere: dict[str, str] | None = None,
) -> NoReturn:
    """The command line: ``grader.py [TEST_ID ...] [--submission PATH] [--gradescope FILE]
    [--sandbox-user USER]``.

    ``graded_modules``: the modules of the package that the tests call. ``checks`` names a
    module of tests worth 0 points (checks of written answers), imported only where they run:
    not in Gradescope mode, which grades points alone. ``elsewhere``: the tests graded
    elsewhere (test id: description), listed but not run. A sandbox that cannot start as
    configured ends the grader with one line and the status SETUP_PROBLEM.
    """
    folder = Path(modules[0].__file__).resolve().parent  # the grader's: src/, or the bundle's
    default = folder / PACKAGE
    parser = argparse.ArgumentParser(description="Runs the graded tests (all of them by default).")
    parser.add_argument("test_ids", nargs="*", metavar="TEST_ID", help="e.g. 1a-0-basic")
    parser.add_argument(
        "--submission",
        type=Path,
        metavar="PATH",
        help=f"the {PACKAGE}/ folder to grade, or a folder that contains it (default: {default})",
    )
    parser.add_argument(
        "--gradescope",
        type=Path,
        metavar="FILE",
        help="also write Gradescope's results JSON to FILE; the tests worth 0 points (checks "
        "of written answers) are then left out",
    )
    parser.add_argument(
        "--sandbox-user",
        default="auto",
        metavar="USER",
        help="who the submission runs as: 'auto' (the default: as root on Linux, a uid of its "
        "own for each test's process, from a range that no user, group or process on this "
        "machine uses; otherwise the grader's own user, as on a laptop), 'none' (the grader's "
        "own user; refused as root), or a range of unused uids FIRST-LAST (as root)",
    )
    args = parser.parse_args()
    # Whatever a report holds, printing it cannot fail (the reports are safe text already).
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")

    points = json.loads(points_file.read_text())
    if args.gradescope is not None:
        points = {test_id: value for test_id, value in points.items() if value > 0}
    elif checks is not None:
        modules = [*modules, importlib.import_module(checks)]
    tests = collect_tests(modules, points, elsewhere)
    by_id = {test.test_id: test for test in tests}
    if unknown := [test_id for test_id in args.test_ids if test_id not in by_id]:
        left_out = " (checks of written answers do not run with --gradescope)" if (
            args.gradescope is not None) else ""
        print(f"unknown test id: {', '.join(unknown)}{left_out}; the test ids are:",
              file=sys.stderr)
        for test in tests:
            print(f"  {test.test_id}  {test.description}", file=sys.stderr)
        sys.exit(2)
    package = default
    if args.submission is not None:  # the package folder, or a folder holding it
        nested = args.submission / PACKAGE
        package = nested if nested.is_dir() else args.submission
    chosen = [by_id[test_id] for test_id in args.test_ids] or tests

    try:
        if ISOLATED:
            confine.protect_self()
        users = confine.choose_users(args.sandbox_user)
        files, left_out = package_files(package)  # read once: compared, and sent to the sandbox
        preface, starters = given_code_report(package, files, chosen, folder,
                                              graded_modules, users)
        verdicts = grade(chosen, folder,
                         Sandbox(package, files, graded_modules, users), args.gradescope,
                         [*left_out, *preface], starters)
    except confine.SetupError as problem:
        if args.gradescope is not None:  # no score at all rather than a score of 0
            args.gradescope.unlink(missing_ok=True)
        print(f"{SETUP_LINE}{problem}", file=sys.stderr)
        sys.exit(SETUP_PROBLEM)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(0 if all(verdict.passed for verdict in verdicts) else 1)
