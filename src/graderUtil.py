"""A small autograder on top of unittest, in the format of the course autograder.

A grader module defines ``unittest.TestCase`` classes whose graded methods carry the
``@graded(test_id, description, timeout=...)`` decorator, keeps the points of each test id
in a JSON file, and ends with ``graderUtil.main(...)``. Test ids read
``<problem><part>-<n>-basic|hidden`` (``1a-0-basic``); a test worth 0 points is a check of a
written answer and is counted on a line of its own in the summary.

Every test runs with a time limit (SIGALRM, where the platform has it) and with stdout
captured: graded code that raises, runs too long or prints fails that test alone, and the
grader always ends with its summary.
"""

import argparse
import contextlib
import datetime
import importlib
import importlib.util
import io
import json
import linecache
import re
import signal
import sys
import sysconfig
import time
import traceback
import unittest
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import CodeType, FrameType, ModuleType
from typing import NoReturn

DEFAULT_TIMEOUT = 5  # seconds
TEST_ID = re.compile(r"(\d+)([a-z])-(\d+)-(basic|hidden)")
TRACEBACK_FRAMES = 3  # frames shown for a failure (two lines each)
SEPARATOR = "-----"


class GraderFailure(BaseException):
    """A failure reported by its one-line message alone, without a traceback.

    A BaseException, so that ``except Exception`` in graded code cannot swallow a time-out.
    """


# ----------------------------------------------------------------------------------------
# Declaring tests


@dataclass(frozen=True)
class GradedTest:
    """One graded test method and what the grader knows about it."""

    test_id: str
    description: str
    timeout: float
    case: type[unittest.TestCase]
    method: str
    points: float = 0.0

    @property
    def hidden(self) -> bool:
        return self.test_id.endswith("-hidden")

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


def collect_tests(module: ModuleType, points: dict[str, float]) -> list[GradedTest]:
    """The graded tests of ``module`` in id order, each with its points from ``points``."""
    tests: dict[str, GradedTest] = {}
    for case in vars(module).values():
        if not (isinstance(case, type) and issubclass(case, unittest.TestCase)):
            continue
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
    """The student's package, imported under the name ``package`` from a chosen folder.

    Each of its modules is imported once, on first use. When that fails, every test that
    asks for the module fails with the same one-line reason.
    """

    def __init__(self, directory: Path, package: str = "submission"):
        self.directory = directory
        self.package = package
        self._root: ModuleType | None = None  # the package, once imported
        self._modules: dict[str, ModuleType | GraderFailure] = {}

    def use(self, path: Path) -> None:
        """Grades the package in ``path``: the package folder or a folder that holds it."""
        nested = path / self.package
        self.directory = nested if nested.is_dir() else path
        self._root = None
        self._modules.clear()

    def load(self, name: str) -> ModuleType:
        """The module ``<package>.<name>``; raises GraderFailure if it cannot be imported."""
        if name not in self._modules:
            self._modules[name] = self._import(name)
        module = self._modules[name]
        if isinstance(module, GraderFailure):
            raise module
        return module

    def _import(self, name: str) -> ModuleType | GraderFailure:
        qualified = f"{self.package}.{name}"
        if not self.directory.is_dir():
            return GraderFailure(f"cannot import {qualified}: no folder {self.directory}")
        if not (self.directory / "__init__.py").is_file():
            return GraderFailure(f"cannot import {qualified}: {self.directory} has no __init__.py")
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed):
                self._import_package()
                module = importlib.import_module(qualified)
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # graded code may raise anything, SystemExit included
            return GraderFailure(f"cannot import {qualified}: {self._describe(error)}")
        if printed.getvalue():
            return GraderFailure(
                f"{qualified} printed to stdout while being imported; remove print statements"
            )
        return module

    def _import_package(self) -> None:
        """Puts the package of ``self.directory`` in sys.modules under ``self.package``.

        Done by file location, not through sys.path, so that a folder of any name is graded
        and no other package of the same name (src/submission) can stand in for it.
        """
        if self._root is not None and sys.modules.get(self.package) is self._root:
            return
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
        try:
            spec.loader.exec_module(package)
        except BaseException:
            del sys.modules[self.package]
            raise
        self._root = package

    def _describe(self, error: BaseException) -> str:
        """One line: the error and, where it is in the submission, the file and line."""
        if isinstance(error, GraderFailure):
            return str(error)
        first_line = str(error).splitlines()[:1]
        message = f"{type(error).__name__}: {''.join(first_line)}"
        if isinstance(error, SyntaxError):  # its message already names the file and line
            return message
        inside = [
            frame
            for frame in traceback.extract_tb(error.__traceback__)
            if Path(frame.filename).resolve().is_relative_to(self.directory.resolve())
        ]
        if inside:
            message += f" ({Path(inside[-1].filename).name}, line {inside[-1].lineno})"
        return message


# ----------------------------------------------------------------------------------------
# Running tests


class _Result(unittest.TestResult):
    """Keeps the first error of a test as an exception (TestResult keeps only text)."""

    def __init__(self) -> None:
        super().__init__()
        # Stop a test at its first failing subTest: after a time-out, the next subTest
        # would otherwise run with no time limit.
        self.failfast = True
        self.error: BaseException | None = None
        self.where = ""  # the parameters of the failed subTest, if any

    def record(self, error: BaseException, where: str = "") -> None:
        # A time-out is what stopped the test, so it outranks errors recorded before it.
        if self.error is None or isinstance(error, GraderFailure):
            self.error, self.where = error, where

    def addError(self, test: unittest.TestCase, err: tuple) -> None:
        self.record(err[1])

    def addFailure(self, test: unittest.TestCase, err: tuple) -> None:
        self.record(err[1])

    def addSubTest(self, test: unittest.TestCase, subtest: unittest.TestCase, err) -> None:
        if err is not None:
            params = ", ".join(f"{key}={value}" for key, value in subtest.params.items())
            self.record(err[1], f"[{params}] " if params else "")


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raises GraderFailure in the main thread once ``seconds`` of wall time have passed."""
    if not hasattr(signal, "setitimer"):  # Windows has no SIGALRM: run without a limit
        yield
        return

    def expire(signum: int, frame) -> NoReturn:
        raise GraderFailure(f"timed out after {seconds:g} seconds")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_test(test: GradedTest) -> tuple[_Result, datetime.timedelta]:
    """Runs one test under its time limit with stdout captured."""
    result = _Result()
    printed = io.StringIO()
    start = time.perf_counter()
    try:
        with time_limit(test.timeout), contextlib.redirect_stdout(printed):
            test.case(test.method).run(result)
    except GraderFailure as error:  # the alarm went off outside the test's own code
        result.record(error)
    took = datetime.timedelta(seconds=time.perf_counter() - start)
    if result.error is None and printed.getvalue():
        lines = printed.getvalue().strip().splitlines()
        first = f" (first line: {lines[0][:60]!r})" if lines else ""
        reason = f"submission printed to stdout; remove print statements{first}"
        result.record(GraderFailure(reason))
    return result, took


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


def failure_report(result: _Result) -> list[str]:
    """The lines printed for a failed test: its message, then a short traceback."""
    error = result.error
    if isinstance(error, GraderFailure):
        return [result.where + str(error)]
    if isinstance(error, AssertionError):
        message = str(error)
    else:
        message = f"{type(error).__name__}: {error}"
    lines = [result.where + message]
    frames = [(f, n) for f, n in traceback.walk_tb(error.__traceback__) if _shown_frame(f)]
    for frame, lineno in frames[-TRACEBACK_FRAMES:]:
        code = frame.f_code
        lines.append(f'  File "{code.co_filename}", line {lineno}, in {code.co_name}')
        if source := linecache.getline(code.co_filename, lineno).strip():
            lines.append(f"    {source}")
    return lines


def _points(value: float) -> str:
    return f"{value:g}"


def grade(tests: list[GradedTest]) -> bool:
    """Runs ``tests``, prints each result and the summary; True if all passed."""
    earned = {"basic": 0.0, "hidden": 0.0}
    possible = {"basic": 0.0, "hidden": 0.0}
    checks_passed = checks = passed = 0
    for test in tests:
        print(f"{SEPARATOR} START {test.test_id}: {test.description}", flush=True)
        result, took = run_test(test)
        ok = result.error is None
        if not ok:
            print("\n".join(failure_report(result)))
        score = test.points if ok else 0.0
        print(
            f"{SEPARATOR} END {test.test_id} [took {took} (max allowed {test.timeout:g} seconds), "
            f"{_points(score)}/{_points(test.points)} points]",
            flush=True,
        )
        passed += ok
        kind = "hidden" if test.hidden else "basic"
        earned[kind] += score
        possible[kind] += test.points
        if test.points == 0:
            checks += 1
            checks_passed += ok

    print("========== SUMMARY")
    for kind in ("basic", "hidden"):
        print(f"{kind} points: {_points(earned[kind])}/{_points(possible[kind])}")
    print(f"total points: {_points(sum(earned.values()))}/{_points(sum(possible.values()))}")
    if checks:
        print(f"checks of written answers (0 points): {checks_passed}/{checks} passed")
    print(f"{passed} passed, {len(tests) - passed} failed", flush=True)
    return passed == len(tests)


def main(module: ModuleType, submission: Submission, points_file: Path) -> NoReturn:
    """The command line: ``grader.py [TEST_ID ...] [--submission PATH]``."""
    parser = argparse.ArgumentParser(description="Runs the graded tests (all of them by default).")
    parser.add_argument("test_ids", nargs="*", metavar="TEST_ID", help="e.g. 1a-0-basic")
    parser.add_argument(
        "--submission",
        type=Path,
        metavar="PATH",
        help=f"the {submission.package}/ folder to grade, or a folder that contains it "
        f"(default: {submission.directory})",
    )
    args = parser.parse_args()

    tests = collect_tests(module, json.loads(points_file.read_text()))
    by_id = {test.test_id: test for test in tests}
    if unknown := [test_id for test_id in args.test_ids if test_id not in by_id]:
        print(f"unknown test id: {', '.join(unknown)}; the test ids are:", file=sys.stderr)
        for test in tests:
            print(f"  {test.test_id}  {test.description}", file=sys.stderr)
        sys.exit(2)
    if args.submission is not None:
        submission.use(args.submission)

    try:
        all_passed = grade([by_id[test_id] for test_id in args.test_ids] or tests)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(0 if all_passed else 1)
