"""Declaring graded tests: the ``graded`` decorator of a TestCase method, and the tests of the
grader's modules collected with their points (``judge/points.json``).

Test ids read ``<problem><part>-<n>-basic|hidden`` (``1a-0-basic``). A test worth 0 points is
a check of a written answer (``GradedTest.written_check``): every part of the grader that
treats those otherwise asks that property.
"""

import re
import unittest
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

DEFAULT_TIMEOUT = 5  # seconds
TEST_ID = re.compile(r"(\d+)([a-z])-(\d+)-(basic|hidden)")


ELSEWHERE = "hidden: graded on Gradescope"  # what a test that does not run here says


def is_written_check(points: float) -> bool:
    """Whether a test worth ``points`` is a check of a written answer. Those carry no points
    (the written answers are graded by hand): the summary counts them on a line of their own,
    and Gradescope mode, which grades points alone, leaves them out."""
    return points == 0


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
    def written_check(self) -> bool:
        return is_written_check(self.points)

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
