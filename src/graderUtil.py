"""A small autograder on top of unittest, in the format of the course autograder: the judge.

A grader module defines ``unittest.TestCase`` classes whose graded methods carry the
``@graded(test_id, description, timeout=..., functions=...)`` decorator, keeps the points of
each test id in a JSON file, and ends with ``graderUtil.main(...)``. A test that judges
several graded functions (``functions``) runs once for each, and each earns an equal share of
its points: one function's mistake costs no other function's points. Test ids read
``<problem><part>-<n>-basic|hidden`` (``1a-0-basic``); a test worth 0 points is a check of a
written answer and is counted on a line of its own in the summary. A grader without the code of
some tests (the students' copy has no hidden tests) names them with their descriptions, and
they are listed with their points as graded elsewhere, neither passed nor failed.

This process is the judge: it never imports the submission. A test chooses every input here
and has the sandbox make the graded calls on them with ``ask`` (``call`` names each one);
what comes back is plain data, checked, and judged here against what the test computes
itself. The sandbox's client is ``judge/client.py``, and what it sends and receives is
``sandbox/CONTRACT.md``. Graded code that raises, runs past the test's time limit, prints,
crashes or ends its process fails that test alone, and the grader always ends with its
summary. ``--gradescope FILE`` also writes Gradescope's results JSON, rewritten after every
test.
"""

import argparse
import contextlib
import dataclasses
import functools
import importlib
import io
import json
import math
import re
import sys
import time
import traceback
import unittest
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import NoReturn

from common import processes
from judge import given_code, launch
from common import safe_text
from judge.client import (ISOLATED, PACKAGE, Collected, GraderFailure, Sandbox,
                          package_files)
from sandbox.protocol import Recipe
from common.exit_status import SETUP_PROBLEM
from common.files import write_json

DEFAULT_TIMEOUT = 5  # seconds
TEST_ID = re.compile(r"(\d+)([a-z])-(\d+)-(basic|hidden)")
SEPARATOR = "-----"
SETUP_LINE = "grader set-up problem: "  # how its one line on standard error starts then


def setup_problem_line(stderr: str) -> str:
    """The line of a grader's standard error ``stderr`` that names its set-up problem (the
    last such), or its last line where none does."""
    lines = stderr.strip().splitlines() or ["(the grader printed nothing)"]
    return next((line for line in reversed(lines) if line.startswith(SETUP_LINE)), lines[-1])


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
    functions: tuple[str, ...] = ()  # the graded functions it judges one at a time (graded)

    @property
    def hidden(self) -> bool:
        return self.test_id.endswith("-hidden")

    @property
    def runs_here(self) -> bool:
        return self.case is not None

    def sort_key(self) -> tuple[int, str, int]:
        problem, part, number, _ = TEST_ID.fullmatch(self.test_id).groups()
        return int(problem), part, int(number)


def graded(test_id: str, description: str, timeout: float = DEFAULT_TIMEOUT,
           functions: tuple[str, ...] = ()) -> Callable:
    """Marks a TestCase method as the graded test ``test_id`` with a time limit in seconds.

    ``functions``: the graded functions it judges, where there are several. The method then
    runs once for each, which its ``graded_function`` attribute names, as a test of its own
    (its own asks, subTests and time limit), and each that passes earns an equal share of the
    points.
    """
    if not TEST_ID.fullmatch(test_id):
        raise ValueError(f"test id {test_id!r} does not read <problem><part>-<n>-basic|hidden")

    def mark(method: Callable) -> Callable:
        method.graded = (test_id, description, timeout, tuple(functions))
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
            test_id, description, timeout, functions = attribute.graded
            if test_id in tests:
                raise SystemExit(f"grader error: test id {test_id} is used twice")
            if test_id not in points:
                raise SystemExit(f"grader error: points file has no entry for {test_id}")
            tests[test_id] = GradedTest(
                test_id, description, timeout, case, name, float(points[test_id]), functions
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


def run_test(test: GradedTest, function: str | None = None
             ) -> tuple[_Result, tuple[str, ...], float, float]:
    """Runs one test, for the graded ``function`` of its ``functions`` where it has several
    (the TestCase's ``graded_function``); the submission's calls in it (``ask``) share its
    time limit, which counts the time they run alone. Returns its result, its notes, the
    seconds the calls ran and the seconds the judge worked (the rest of the test's time, which
    fails nothing: the checks of every answer's size bound it)."""
    global _running
    result = _Result()
    _notes.clear()
    start = time.perf_counter()
    _running = clock = Clock(test.timeout)
    case = test.case(test.method)
    case.graded_function = function
    try:
        case.run(result)
    finally:
        _running = Clock(math.inf)
    return result, tuple(_notes), clock.child, time.perf_counter() - start - clock.child


def judged(test: GradedTest) -> "Verdict":
    """Runs ``test`` (run_test), once for each of its graded functions where it has several,
    and gives its verdict: the failures of each function labelled with its name, a failure of
    every function alike (the module does not import) said once."""
    runs = [(function, *run_test(test, function)) for function in test.functions or (None,)]
    failed = [(function, result) for function, result, *_ in runs if result.error is not None]
    if len(failed) == len(runs) and len({tuple(failure_report(result))
                                         for _, result in failed}) == 1:
        report = failure_report(failed[0][1])
    else:
        report = [line for function, result in failed
                  for line in failure_report(result, function)]
    return Verdict(test, report, sum(run[3] for run in runs), sum(run[4] for run in runs),
                   tuple(dict.fromkeys(note for run in runs for note in run[2])),
                   tuple(function for function, result, *_ in runs
                         if function is not None and result.error is None))


# ----------------------------------------------------------------------------------------
# The sandbox (judge/client.py): where the submission's calls are made

_sandbox: Sandbox | None = None  # the sandbox of the grading run, for ask()


def submitted_file(name: str) -> bytes | None:
    """The bytes of the file ``name`` of the package under grading (``flow_network.py``), as
    the judge read it: data to look at, never to run. None if there is no such file."""
    files = _sandbox.hello["files"] if _sandbox is not None else None
    return (files or {}).get(name)


def call(recipe: Recipe | str, **arguments: object) -> tuple[str, dict]:
    """One call for ``ask``: a recipe the sandbox makes (protocol.Recipe, or its value) and
    its plain arguments."""
    try:
        return Recipe(recipe).value, arguments  # its value: a question holds plain data alone
    except ValueError:
        raise ValueError(f"{recipe!r} is not a recipe of the sandbox (protocol.Recipe)") from None


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


# ----------------------------------------------------------------------------------------
# Reporting

OUTPUT_LIMIT = 3000  # characters of a test's report (its visible output on Gradescope)


def failure_report(result: _Result, function: str | None = None) -> list[str]:
    """The lines that say why a test failed: where (the graded ``function``, if given, and its
    subTest) and why. A report of the sandbox (GraderFailure) is shown as it came, an
    assertion of the judge by its message; any other error of the judge in one line (its
    traceback goes to stderr only): no line of the judge's code reaches a report.
    Verdict.output makes them safe to show."""
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
    where = result.where
    if function is not None:
        where = f"[{function}, {where[1:]}" if where else f"[{function}] "
    return [where + lines[0], *lines[1:]]


@dataclass(frozen=True)
class Verdict:
    """How one test went: the lines that say why it failed (none if it passed), the seconds
    its calls ran and the judge worked, its notes (cases left out, and why), and, where it
    judges several graded functions and did not pass, those that passed."""

    test: GradedTest
    report: list[str]
    took: float = 0.0
    judge: float = 0.0
    notes: tuple[str, ...] = ()
    passed_functions: tuple[str, ...] = ()

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
        """Its points; where it failed, the shares of the functions that passed."""
        if self.passed:
            return self.test.points
        if not self.test.functions:
            return 0.0
        return self.test.points * len(self.passed_functions) / len(self.test.functions)


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
    processes.SetupError where the sandbox cannot run.
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
            verdict = judged(test)
            if starters and test.test_id in starters and (
                    starters[test.test_id].score != verdict.score):
                score = _points(starters[test.test_id].score)
                verdict = dataclasses.replace(verdict, notes=(
                    *verdict.notes, f"with the starter's given code around your blocks this "
                    f"test scores {score} points"))
            after = fingerprint(folder, gradescope)
            if changed := sorted(path for path in before.keys() | after.keys()
                                 if before.get(path) != after.get(path)):
                names = ", ".join(Path(path).name for path in changed)
                verdict = Verdict(test, [f"the submission changed the grader's files ({names})"],
                                  verdict.took, verdict.judge)
            for line in verdict.output:
                print(f"{INDENT}{line}")
            limit = f"{test.timeout:g} s{' per function' if test.functions else ''}"
            print(
                f"{SEPARATOR} END {test.test_id} [took {verdict.took:.2f} s of {limit}; judge "
                f"{verdict.judge:.2f} s, {_points(verdict.score)}/{_points(test.points)} points]",
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
                      folder: Path, modules: Iterable[str], users: processes.UserPool | None
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
            processes.protect_self()
        users = launch.choose_users(args.sandbox_user)
        files, left_out = package_files(package)  # read once: compared, and sent to the sandbox
        preface, starters = given_code_report(package, files, chosen, folder,
                                              graded_modules, users)
        verdicts = grade(chosen, folder,
                         Sandbox(package, files, graded_modules, users), args.gradescope,
                         [*left_out, *preface], starters)
    except processes.SetupError as problem:
        if args.gradescope is not None:  # no score at all rather than a score of 0
            args.gradescope.unlink(missing_ok=True)
        print(f"{SETUP_LINE}{problem}", file=sys.stderr)
        sys.exit(SETUP_PROBLEM)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(0 if all(verdict.passed for verdict in verdicts) else 1)
