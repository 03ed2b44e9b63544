"""Running one graded test: the grading run's state (``Grading``: the sandbox, the running
test's clock and notes), the base class of the graded tests, which reach that state through
``self``, and the verdict of a test run once for each graded function it judges.

A test has the sandbox make the graded calls with ``self.ask`` (``call`` names each one); they
share the test's time limit, which counts the time the calls ran alone, not the judge's work.
What the sandbox sends and receives is ``sandbox/CONTRACT.md``.
"""

import math
import time
import unittest
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field

from judge.client import Collected, GraderFailure, Sandbox
from judge.declare import GradedTest
from judge.report import Verdict, failure_report, print_judge_error
from sandbox.protocol import Recipe


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


# The calls of one ask, each under a name of the test's choosing (in the order they are asked)
Calls = Mapping[Hashable, tuple[str, dict]]


class Answers:
    """What the calls of one ask gave, by the name each call was asked under; asking for
    one that the calls did not give raises the failure that stopped them (Collected)."""

    def __init__(self, collected: Collected, names: list[Hashable]) -> None:
        self.collected = collected
        self.places = {name: place for place, name in enumerate(names)}

    def __getitem__(self, name: Hashable) -> object:
        return self.collected[self.places[name]]

    def raw(self, name: Hashable) -> object:
        """The answer as it came, None where the sandbox gave none: for what the judge
        computes at an answer before it judges any."""
        items, place = self.collected.items, self.places[name]
        return items[place] if place < len(items) else None


@dataclass
class Grading:
    """One grading run: the sandbox that makes the submission's calls, and the running test's
    clock and notes (run_test starts them afresh for each test)."""

    sandbox: Sandbox
    clock: Clock = field(default_factory=lambda: Clock(math.inf))
    notes: list[str] = field(default_factory=list)

    def ask(self, calls: Calls) -> Answers:
        """Has the sandbox make ``calls`` (each from ``call``, by name) on the submission, in
        their order, within what is left of the running test's time limit (the time its
        earlier calls ran); returns their results by name, as plain data, checked to be only
        that."""
        clock = self.clock
        if clock.left <= 0:
            raise GraderFailure(f"timed out after {clock.limit:g} seconds")
        try:
            return Answers(self.sandbox.ask(list(calls.values()), clock.left, clock.limit),
                           list(calls))
        finally:
            clock.child += self.sandbox.ran

    def note(self, line: str) -> None:
        """Adds a line to the running test's report, shown whether it passes or not: a case
        left out, and why."""
        if line not in self.notes:
            self.notes.append(line)

    def submitted_file(self, name: str) -> bytes | None:
        """The bytes of the file ``name`` of the package under grading (``flow_network.py``),
        as the judge read it: data to look at, never to run. None if there is no such file."""
        return (self.sandbox.hello["files"] or {}).get(name)


def call(recipe: Recipe | str, **arguments: object) -> tuple[str, dict]:
    """One call for ``ask``: a recipe the sandbox makes (protocol.Recipe, or its value) and
    its plain arguments."""
    try:
        return Recipe(recipe).value, arguments  # its value: a question holds plain data alone
    except ValueError:
        raise ValueError(f"{recipe!r} is not a recipe of the sandbox (protocol.Recipe)") from None


class GradedCase(unittest.TestCase):
    """The base class of the graded tests: ``ask``, ``note`` and ``submitted_file`` reach the
    grading run that runs the test (``grading``, set by run_test)."""

    grading: Grading | None = None  # the run that runs this test
    test_id: str | None = None  # the id it is graded under (graded)
    graded_function: str | None = None  # the one a run judges, of a test's functions (graded)

    def _grading(self) -> Grading:
        if self.grading is None:
            raise RuntimeError("no sandbox is running: ask() is for tests run by grade()")
        return self.grading

    def ask(self, calls: Calls) -> Answers:
        """Grading.ask of the run that runs this test."""
        return self._grading().ask(calls)

    def note(self, line: str) -> None:
        """Grading.note of the run that runs this test."""
        self._grading().note(line)

    def submitted_file(self, name: str) -> bytes | None:
        """Grading.submitted_file of the run that runs this test."""
        return self._grading().submitted_file(name)


def run_test(grading: Grading, test: GradedTest, function: str | None = None
             ) -> tuple[_Result, tuple[str, ...], float, float]:
    """Runs one test in ``grading`` (the TestCase's ``test_id``), for the graded ``function`` of
    its ``functions`` where it has several (its ``graded_function``); the submission's calls in
    it (``ask``) share its time limit, which counts the time they run alone. Returns its result,
    its notes, the seconds the calls ran and the seconds the judge worked (the rest of the
    test's time, which fails nothing: the checks of every answer's size bound it)."""
    result = _Result()
    grading.notes = []
    start = time.perf_counter()
    grading.clock = clock = Clock(test.timeout)
    case = test.case(test.method)
    case.grading = grading
    case.test_id = test.test_id
    case.graded_function = function
    try:
        case.run(result)
    finally:
        grading.clock = Clock(math.inf)
    print_judge_error(result)  # once for the run, however often its report is made
    return result, tuple(grading.notes), clock.child, time.perf_counter() - start - clock.child


def judged(grading: Grading, test: GradedTest) -> Verdict:
    """Runs ``test`` (run_test), once for each of its graded functions where it has several,
    and gives its verdict: the failures of each function labelled with its name, a failure of
    every function alike (the module does not import) said once."""
    runs = [(function, *run_test(grading, test, function))
            for function in test.functions or (None,)]
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
