"""Reporting: why a test failed in lines safe to show, a test's verdict, and the summary the
grader prints last.
"""

import functools
import sys
import traceback
import unittest
from dataclasses import dataclass

from common import safe_text
from judge.client import GraderFailure
from judge.declare import ELSEWHERE, GradedTest

SEPARATOR = "-----"
# A test's report is printed indented: every line at the margin is the judge's own (START,
# END, the summary), whatever a report quotes.
INDENT = "  "
OUTPUT_LIMIT = 3000  # characters of a test's report (its visible output on Gradescope)


def print_judge_error(result: unittest.TestResult) -> None:
    """Prints the traceback of the test's error to stderr, the only place it goes, where it is
    an error of the judge's own code: neither a report of the sandbox (GraderFailure) nor an
    assertion of the judge (failure_report says it in one line)."""
    error = result.error
    if error is not None and not isinstance(error, (GraderFailure, AssertionError)):
        print(safe_text.printable("".join(traceback.format_exception(error)), 20 * OUTPUT_LIMIT),
              file=sys.stderr)


def failure_report(result: unittest.TestResult, function: str | None = None) -> list[str]:
    """The lines that say why a test failed: where (the graded ``function``, if given, and its
    subTest) and why. A report of the sandbox (GraderFailure) is shown as it came, an
    assertion of the judge by its message; any other error of the judge in one line (its
    traceback goes to stderr only, once: print_judge_error): no line of the judge's code
    reaches a report. Verdict.output makes them safe to show."""
    error = result.error
    if isinstance(error, GraderFailure):
        lines = str(error).splitlines() or [""]
    elif isinstance(error, AssertionError):
        lines = str(error).splitlines() or ["AssertionError"]
    else:
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


def points_text(value: float) -> str:
    """Points as the reports write them (``1.5``, ``12``)."""
    return f"{value:g}"


def print_summary(verdicts: list[Verdict], elsewhere: list[GradedTest] = ()) -> None:
    """Points of the basic and of the hidden tests (of a kind that ran), those of the tests
    graded elsewhere, the written-answer checks, and last the line ``N passed, N failed`` (of
    the tests run here)."""
    print("========== SUMMARY")
    for hidden, kind in ((False, "basic"), (True, "hidden")):
        mine = [verdict for verdict in verdicts if verdict.test.hidden == hidden]
        if mine:
            earned, possible = (sum(v.score for v in mine), sum(v.test.points for v in mine))
            print(f"{kind} points: {points_text(earned)}/{points_text(possible)}")
    if elsewhere:
        print(f"not run here: {len(elsewhere)} hidden tests worth "
              f"{points_text(sum(test.points for test in elsewhere))} points ({ELSEWHERE})")
    earned, possible = sum(v.score for v in verdicts), sum(v.test.points for v in verdicts)
    print(f"total points: {points_text(earned)}/{points_text(possible)}")
    if checks := [verdict for verdict in verdicts if verdict.test.written_check]:
        passed = sum(verdict.passed for verdict in checks)
        print(f"checks of written answers (0 points): {passed}/{len(checks)} passed")
    passed = sum(verdict.passed for verdict in verdicts)
    print(f"{passed} passed, {len(verdicts) - passed} failed", flush=True)
