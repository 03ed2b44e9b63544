"""A small autograder on top of unittest, in the format of the course autograder.

A grader module defines ``unittest.TestCase`` classes whose graded methods carry the
``@graded(test_id, description, timeout=...)`` decorator, keeps the points of each test id
in a JSON file, and ends with ``graderUtil.main(...)``. Test ids read
``<problem><part>-<n>-basic|hidden`` (``1a-0-basic``); a test worth 0 points is a check of a
written answer and is counted on a line of its own in the summary. A grader without the code of
some tests (the students' copy has no hidden tests) names them with their descriptions, and
they are listed with their points as graded elsewhere, neither passed nor failed.

The submission is read as the course's autograder reads it: ``import submission``, then each
graded module as an attribute of the package (``Submission``). A test runs the submission's
calls through ``collect``: on Linux in a forked child process, which sends back plain data that
this process judges, so that nothing the submission does can change a verdict; elsewhere in
this process. Graded code that raises, runs past the test's time limit, prints, crashes or
ends its process fails that test alone, and the grader always ends with its summary.
``--gradescope FILE`` also writes Gradescope's results JSON, rewritten after every test.
"""

import argparse
import contextlib
import datetime
import importlib
import importlib.util
import io
import json
import linecache
import math
import os
import re
import resource
import select
import signal
import sys
import sysconfig
import tempfile
import time
import traceback
import unittest
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import CodeType, FrameType, ModuleType
from typing import NoReturn

import torch

from utils import write_json
DEFAULT_TIMEOUT = 5  # seconds
TEST_ID = re.compile(r"(\d+)([a-z])-(\d+)-(basic|hidden)")
TRACEBACK_FRAMES = 3  # frames shown for a failure (two lines each)
SEPARATOR = "-----"


class GraderFailure(BaseException):
    """A failure reported by its message alone: one line, or a child's report of an error
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
# Loading the submission


class Submission:
    """The student's package, read the way the course's autograder reads it.

    The package in a chosen folder is imported under the name ``package`` (running its
    ``__init__.py``), and each graded module is taken as an attribute of it
    (``submission.flow_network``). This happens once, on first use. A module that cannot be
    reached fails every test that asks for it with the same one-line reason; a module that
    imports cleanly is graded even when another one is broken or missing. It is loaded inside
    ``collect``, which also catches what it prints.

    Args:
        directory: the package folder.
        modules: the names of the graded modules.
        package: the name the package is imported under.
    """

    def __init__(self, directory: Path, modules: Iterable[str], package: str = "submission"):
        self.directory = directory
        self.modules = tuple(modules)
        self.package = package
        self._loaded: dict[str, ModuleType | GraderFailure] | None = None

    def use(self, path: Path) -> None:
        """Grades the package in ``path``: the package folder or a folder that holds it."""
        nested = path / self.package
        self.directory = nested if nested.is_dir() else path
        self._loaded = None

    def load(self, name: str) -> ModuleType:
        """The module ``<package>.<name>``; raises GraderFailure if it cannot be reached."""
        if self._loaded is None:
            self._loaded = self._import()
        module = self._loaded[name]
        if isinstance(module, GraderFailure):
            raise module
        return module

    def _import(self) -> dict[str, ModuleType | GraderFailure]:
        """Every graded module, or the reason it cannot be reached."""
        if not self.directory.is_dir():
            return self._all(GraderFailure(f"no folder {self.directory} to grade"))
        if not (self.directory / "__init__.py").is_file():
            return self._all(
                GraderFailure(f"{self.package}/__init__.py is missing from the upload")
            )
        loaded: dict[str, ModuleType | GraderFailure] = {
            name: GraderFailure(f"{name}.py is missing from the upload")
            for name in self.modules
            if not (self.directory / f"{name}.py").is_file()
        }
        try:
            package, init_failed = self._import_package(run_init=True), False
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # graded code may raise anything, SystemExit included
            failure = GraderFailure(f"import {self.package} fails: {self._describe(error)}")
            culprit = self._culprit(error)
            for name in self.modules:
                if culprit in (name, None):
                    loaded.setdefault(name, failure)
            # The modules not to blame are still graded, from a package whose __init__.py
            # has not run.
            package, init_failed = self._import_package(run_init=False), True
        for name in self.modules:
            if name not in loaded:
                loaded[name] = self._module(package, name, init_failed)
        return loaded

    def _all(self, failure: GraderFailure) -> dict[str, ModuleType | GraderFailure]:
        return dict.fromkeys(self.modules, failure)

    def _module(
        self, package: ModuleType, name: str, init_failed: bool
    ) -> ModuleType | GraderFailure:
        """``package.<name>``, or why it cannot be had.

        ``init_failed``: ``__init__.py`` failed because of another module, so this one is
        imported on its own.
        """
        qualified = f"{self.package}.{name}"
        if init_failed:
            try:
                importlib.import_module(qualified)
            except KeyboardInterrupt:
                raise
            except BaseException as error:
                return GraderFailure(f"cannot import {qualified}: {self._describe(error)}")
        module = getattr(package, name, None)
        if not isinstance(module, ModuleType):
            return GraderFailure(
                f"{self.package}/__init__.py does not import {name}: "
                f"add the line `from .{name} import *` to it"
            )
        return module

    def _import_package(self, run_init: bool) -> ModuleType:
        """Puts the package of ``self.directory`` in sys.modules under ``self.package``.

        Done by file location, not through sys.path, so that a folder of any name is graded
        and no other package of the same name (src/submission) can stand in for it. With
        ``run_init`` false the package is left empty: its modules can still be imported.
        """
        # Whatever was imported under this name before (another copy) must not be reused.
        for key in [key for key in sys.modules if key.split(".")[0] == self.package]:
            del sys.modules[key]
        spec = importlib.util.spec_from_file_location(
            self.package,
            self.directory / "__init__.py",
            submodule_search_locations=[str(self.directory)],
        )
        package = importlib.util.module_from_spec(spec)
        sys.modules[self.package] = package
        if run_init:
            try:
                spec.loader.exec_module(package)
            except BaseException:
                del sys.modules[self.package]
                raise
        return package

    def _culprit(self, error: BaseException) -> str | None:
        """The graded module that ``error`` came from; None for __init__.py or unknown."""
        if isinstance(error, ModuleNotFoundError) and error.name:
            prefix, _, name = error.name.partition(".")
            if prefix == self.package and name in self.modules:
                return name
        if isinstance(error, SyntaxError) and error.filename:
            where = Path(error.filename)
        elif inside := self._frames_inside(error):
            where = Path(inside[-1].filename)
        else:
            return None
        return where.stem if where.stem in self.modules else None

    def _frames_inside(self, error: BaseException) -> list[traceback.FrameSummary]:
        """The frames of ``error``'s traceback that lie in the submission's files."""
        directory = self.directory.resolve()
        return [
            frame
            for frame in traceback.extract_tb(error.__traceback__)
            if Path(frame.filename).resolve().is_relative_to(directory)
        ]

    def _describe(self, error: BaseException) -> str:
        """One line: the error and, where it is in the submission, the file and line."""
        first_line = str(error).splitlines()[:1]
        message = f"{type(error).__name__}: {''.join(first_line)}"
        if isinstance(error, SyntaxError):  # its message already names the file and line
            return message
        if inside := self._frames_inside(error):
            message += f" ({Path(inside[-1].filename).name}, line {inside[-1].lineno})"
        return message


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


_running: tuple[float, float] = (math.inf, math.inf)  # (deadline, time limit) of the test


def run_test(test: GradedTest) -> tuple[_Result, datetime.timedelta]:
    """Runs one test; the submission's calls in it (``collect``) share its time limit."""
    global _running
    result = _Result()
    start = time.perf_counter()
    _running = (time.monotonic() + test.timeout, test.timeout)
    try:
        test.case(test.method).run(result)
    finally:
        _running = (math.inf, math.inf)
    return result, datetime.timedelta(seconds=time.perf_counter() - start)


# ----------------------------------------------------------------------------------------
# The submission's code, in a child process

# On Linux the submission runs only in forked children (the parent never imports it); where
# fork is not safe to use with PyTorch (macOS) or missing (Windows), in this process.
ISOLATED = sys.platform.startswith("linux")
MEMORY_LIMIT = 4 * 2**30  # bytes of address space a child may take beyond the grader's own
MAX_ANSWER = 256 * 2**20  # bytes a child may send back
CRASHES = {signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE, signal.SIGABRT}


@dataclass(frozen=True)
class Foreign:
    """A value that is not plain data (tensor, number, string, None, or a list, tuple or
    dict of those), sent back as the name of its type."""

    type_name: str


torch.serialization.add_safe_globals([Foreign])


def type_name(value: object) -> str:
    """The name of ``value``'s type, also for a value sent back as Foreign."""
    return value.type_name if isinstance(value, Foreign) else type(value).__name__


def plain(value: object) -> object:
    """``value`` as plain data: tensors detached and copied, containers converted item by
    item, anything else replaced by Foreign(its type's name)."""
    if isinstance(value, torch.Tensor):
        return value.as_subclass(torch.Tensor).detach().clone()
    if isinstance(value, (bool, int, float, str, type(None))):
        return value
    if isinstance(value, (list, tuple)):
        return type(value)(plain(item) for item in value)
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    return Foreign(type(value).__name__)


class Collected:
    """What the submission's calls gave, one item per call in order, and the failure that
    stopped them (then asking for the first item they did not give raises it). A failure
    before the calls began (the submission could not be loaded) is raised by ``collect``."""

    def __init__(self, items: list, failure: GraderFailure | None) -> None:
        self.items, self.failure = items, failure

    def __getitem__(self, index: int) -> object:
        if index < len(self.items):
            return self.items[index]
        raise self.failure or GraderFailure(
            f"the submission's process gave {len(self.items)} results, not {index + 1}"
        )


def collect(calls: Callable[[], Iterable[object]]) -> Collected:
    """Runs ``calls()``, which calls the submission and yields what the test needs to judge,
    within the running test's time limit; returns those items as plain data.

    On Linux ``calls()`` runs in a forked child process with its own process group, stdout
    captured, stderr discarded, one thread and an address-space limit; the child sends its
    items back through a pipe with torch.save, and this process reads them with
    ``torch.load(weights_only=True)``. What the child does to itself (replacing functions,
    ending itself, crashing, hanging, printing) cannot reach this process, which judges
    the items alone. Elsewhere ``calls()`` runs here, under SIGALRM where there is one.
    """
    deadline, limit = _running
    seconds = deadline - time.monotonic()
    if seconds <= 0:
        raise GraderFailure(f"timed out after {limit:g} seconds")
    if ISOLATED:
        return _collect_in_child(calls, seconds, limit)
    return _collect_here(calls, seconds, limit)


def _call_all(calls: Callable[[], Iterable[object]]) -> tuple[list | None, list[str] | None]:
    """The plain items that ``calls()`` yields (None if ``calls()`` itself failed), and the
    report of the error that stopped it."""
    items: list = []
    try:
        iterator = iter(calls())
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # graded code may raise anything, SystemExit included
        return None, error_report(error)
    try:
        for item in iterator:
            items.append(plain(item))
    except KeyboardInterrupt:
        raise
    except BaseException as error:
        return items, error_report(error)
    return items, None


def _collected(items: list | None, report: list[str] | None, printed: str) -> Collected:
    """What ``collect`` returns, or the failure it raises, for what the calls gave."""
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


def _collect_here(calls: Callable, seconds: float, limit: float) -> Collected:
    printed = io.StringIO()
    with time_limit(seconds, limit), contextlib.redirect_stdout(printed):
        items, report = _call_all(calls)
    return _collected(items, report, printed.getvalue())


@contextlib.contextmanager
def time_limit(seconds: float, limit: float) -> Iterator[None]:
    """Raises GraderFailure in the main thread once ``seconds`` of wall time have passed."""
    if not hasattr(signal, "setitimer"):  # Windows has no SIGALRM: run without a limit
        yield
        return

    def expire(signum: int, frame) -> NoReturn:
        raise GraderFailure(f"timed out after {limit:g} seconds")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _collect_in_child(calls: Callable, seconds: float, limit: float) -> Collected:
    deadline = time.monotonic() + seconds
    sys.stdout.flush()  # else the child would inherit, and print, what is still buffered
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    with tempfile.TemporaryFile() as printed:
        pid = os.fork()
        if pid == 0:
            try:
                os.close(read_end)
                _child(calls, write_end, printed.fileno())
            finally:
                os._exit(0)
        os.close(write_end)
        try:
            os.setpgid(pid, pid)  # also done by the child: whichever runs first
        except OSError:
            pass
        try:
            answer, why = _read_answer(read_end, deadline)
        except BaseException:  # Ctrl-C here: the child must not outlive the grader
            _end_child(pid, deadline=0)
            raise
        finally:
            os.close(read_end)
        status = _end_child(pid, deadline)
        printed.seek(0)
        stdout = printed.read(4096).decode(errors="replace")
    if why == "timeout":
        raise GraderFailure(f"timed out after {limit:g} seconds")
    if why == "too much":
        raise GraderFailure(f"the submission's process sent more than {MAX_ANSWER >> 20} MiB")
    if not answer:
        raise GraderFailure(_ended(status))
    return _collected(*_load_answer(answer), stdout)


def _child(calls: Callable, write_end: int, printed: int) -> None:
    """The child's side of ``collect``: runs ``calls()``, writes the answer, returns."""
    os.setpgid(0, 0)
    os.dup2(printed, 1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    sys.stdout = open(1, "w", closefd=False)
    sys.dont_write_bytecode = True
    torch.set_num_threads(1)  # the parent's thread pool does not survive the fork
    used = int(re.search(r"VmSize:\s+(\d+) kB", Path("/proc/self/status").read_text())[1])
    address_space = used * 1024 + MEMORY_LIMIT
    resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    items, report = _call_all(calls)
    sys.stdout.flush()
    buffer = io.BytesIO()
    try:
        torch.save({"items": items, "error": report}, buffer)
    except BaseException as error:
        buffer = io.BytesIO()
        torch.save({"items": None, "error": error_report(error)}, buffer)
    view = memoryview(buffer.getbuffer())
    while view:
        view = view[os.write(write_end, view):]


def _read_answer(read_end: int, deadline: float) -> tuple[bytes, str]:
    """Everything the child writes until it closes the pipe, and why reading stopped:
    ``"end"``, ``"timeout"`` or ``"too much"``."""
    chunks, size = [], 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return b"", "timeout"
        if not select.select([read_end], [], [], left)[0]:
            continue
        chunk = os.read(read_end, 1 << 20)
        if not chunk:
            return b"".join(chunks), "end"
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_ANSWER:
            return b"", "too much"


def _end_child(pid: int, deadline: float) -> int:
    """Waits for the child until ``deadline``, then kills its process group (whatever it
    started too); returns its wait status."""
    status = None
    while status is None and time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == 0:
            status = None
            time.sleep(0.001)
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if status is None:
        status = os.waitpid(pid, 0)[1]
    return status


def _ended(status: int) -> str:
    """Why a child that sent nothing back ended, from its wait status."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        crash = " (a crash)" if number in CRASHES else ""
        return f"the submission's process was killed by {name}{crash} before the test finished"
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else status
    return f"the submission ended its process (exit status {code}) before the test finished"


def _load_answer(answer: bytes) -> tuple[list | None, list[str] | None]:
    """The items and error report in a child's answer, read with weights_only=True."""
    try:
        loaded = torch.load(io.BytesIO(answer), weights_only=True)
    except Exception:
        loaded = None
    if not (isinstance(loaded, dict) and isinstance(loaded.get("items"), (list, type(None)))
            and (loaded.get("error") is None
                 or (isinstance(loaded["error"], list)
                     and all(isinstance(line, str) for line in loaded["error"])))):
        return None, ["the submission's process sent back an answer that cannot be read"]
    return loaded["items"], loaded["error"]


# ----------------------------------------------------------------------------------------
# Reporting


# Tracebacks leave out the frames of the Python installation (unittest, torch, ...), of
# this file and of assertion helpers: what is left points into the test and the graded code.
_HIDDEN_FRAME_DIRS = {
    Path(sysconfig.get_paths()[key]).resolve() for key in ("stdlib", "purelib", "platlib")
}
_HIDDEN_CODE: set[CodeType] = set()


def assertion_helper(function: Callable) -> Callable:
    """Leaves ``function``'s own frame out of tracebacks, as unittest does with its asserts."""
    _HIDDEN_CODE.add(function.__code__)
    return function


def _shown_frame(frame: FrameType) -> bool:
    path = Path(frame.f_code.co_filename).resolve()
    return (
        frame.f_code not in _HIDDEN_CODE
        and path != Path(__file__).resolve()
        and not any(path.is_relative_to(directory) for directory in _HIDDEN_FRAME_DIRS)
    )


def error_report(error: BaseException) -> list[str]:
    """A failure's message, then a short traceback (of the test and the graded code)."""
    if isinstance(error, GraderFailure):
        return str(error).splitlines()
    if isinstance(error, MemoryError) or "can't allocate memory" in str(error):
        limit = f"{MEMORY_LIMIT >> 30} GiB beyond the grader's own"
        return [f"ran out of memory (the limit is {limit})"]
    if isinstance(error, NotImplementedError):  # a placeholder of the starter code says it all
        return [f"NotImplementedError: {error}"]
    if isinstance(error, AssertionError):
        message = str(error)
    else:
        message = f"{type(error).__name__}: {error}"
    lines = [message]
    frames = [(f, n) for f, n in traceback.walk_tb(error.__traceback__) if _shown_frame(f)]
    for frame, lineno in frames[-TRACEBACK_FRAMES:]:
        code = frame.f_code
        lines.append(f'  File "{code.co_filename}", line {lineno}, in {code.co_name}')
        if source := linecache.getline(code.co_filename, lineno).strip():
            lines.append(f"    {source}")
    return lines


def failure_report(result: _Result) -> list[str]:
    """The lines printed for a failed test: where (its subTest), the message, a traceback."""
    first, *rest = error_report(result.error) or [""]
    return [result.where + first, *rest]


@dataclass(frozen=True)
class Verdict:
    """How one test went: the lines that say why it failed (none if it passed), its time."""

    test: GradedTest
    report: list[str]
    took: datetime.timedelta

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


def grade(tests: list[GradedTest], folder: Path, gradescope: Path | None = None) -> bool:
    """Runs ``tests``, prints each result and the summary; True if all passed.

    A test during which a file in ``folder`` (the grader's) or the results file changed
    fails. With ``gradescope``, Gradescope's results JSON is written there before the first
    test and again after each one, so that it is complete even if this process dies midway.
    A test that does not run here is listed, with its points, as graded elsewhere.
    """
    start = time.perf_counter()
    verdicts: list[Verdict] = []
    here = [test for test in tests if test.runs_here]
    elsewhere = [test for test in tests if not test.runs_here]

    def report() -> None:
        if gradescope is not None:
            results = gradescope_results(here, verdicts, time.perf_counter() - start)
            write_json(results, gradescope)

    if gradescope is not None:
        gradescope.parent.mkdir(parents=True, exist_ok=True)
    report()
    for test in tests:
        if not test.runs_here:
            print(f"{SEPARATOR} {test.test_id} ({_points(test.points)} points): "
                  f"{test.description}\n{ELSEWHERE}", flush=True)
            continue
        print(f"{SEPARATOR} START {test.test_id}: {test.description}", flush=True)
        before = fingerprint(folder, gradescope)
        result, took = run_test(test)
        verdict = Verdict(test, [] if result.error is None else failure_report(result), took)
        after = fingerprint(folder, gradescope)
        if changed := sorted(path for path in before.keys() | after.keys()
                             if before.get(path) != after.get(path)):
            names = ", ".join(Path(path).name for path in changed)
            verdict = Verdict(test, [f"the submission changed the grader's files ({names})"], took)
        if verdict.report:
            print("\n".join(verdict.report))
        print(
            f"{SEPARATOR} END {test.test_id} [took {took} (max allowed {test.timeout:g} seconds), "
            f"{_points(verdict.score)}/{_points(test.points)} points]",
            flush=True,
        )
        verdicts.append(verdict)
        report()
    print_summary(verdicts, elsewhere)
    return all(verdict.passed for verdict in verdicts)


def print_summary(verdicts: list[Verdict], elsewhere: list[GradedTest] = ()) -> None:
    """Points of the basic and hidden tests, those of the tests graded elsewhere, the
    written-answer checks, and last the line ``N passed, N failed`` (of the tests run here)."""
    print("========== SUMMARY")
    for hidden, kind in ((False, "basic"), (True, "hidden")):
        mine = [verdict for verdict in verdicts if verdict.test.hidden == hidden]
        if mine or not elsewhere:
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


NOT_RUN = (
    "not run: grading stopped before this test finished (the submission ended the grading "
    "process, or it ran out of time)"
)


def gradescope_results(
    tests: list[GradedTest], verdicts: list[Verdict], seconds: float
) -> dict[str, object]:
    """Gradescope's results of ``tests`` (a test without a verdict scores 0 as not run).

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
            "output": "\n".join(verdict.report) if verdict else NOT_RUN,
            "visibility": "after_published" if test.hidden else "visible",
        })
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
            f"Grading stopped during test {tests[len(verdicts)].test_id}: the submission ended "
            "the grading process or ran out of time; that test and those after it score 0.\n"
            + summary
        )
    return {
        "execution_time": round(seconds, 2),
        "output": summary,
        "stdout_visibility": "hidden",
        "tests": entries,
    }


# ----------------------------------------------------------------------------------------
# The command line


def main(
    modules: list[ModuleType],
    submission: Submission,
    points_file: Path,
    checks: str | None = None,
    elsewhere: dict[str, str] | None = None,
) -> NoReturn:
    """The command line: ``grader.py [TEST_ID ...] [--submission PATH] [--gradescope FILE]``.

    ``checks`` names a module of tests worth 0 points (checks of written answers), imported
    only where they run: not in Gradescope mode, which grades points alone. ``elsewhere``:
    the tests graded elsewhere (test id: description), listed but not run.
    """
    parser = argparse.ArgumentParser(description="Runs the graded tests (all of them by default).")
    parser.add_argument("test_ids", nargs="*", metavar="TEST_ID", help="e.g. 1a-0-basic")
    parser.add_argument(
        "--submission",
        type=Path,
        metavar="PATH",
        help=f"the {submission.package}/ folder to grade, or a folder that contains it "
        f"(default: {submission.directory})",
    )
    parser.add_argument(
        "--gradescope",
        type=Path,
        metavar="FILE",
        help="also write Gradescope's results JSON to FILE; the tests worth 0 points (checks "
        "of written answers) are then left out",
    )
    args = parser.parse_args()

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
    if args.submission is not None:
        submission.use(args.submission)
    chosen = [by_id[test_id] for test_id in args.test_ids] or tests

    try:
        all_passed = grade(chosen, points_file.parent, args.gradescope)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(0 if all_passed else 1)
