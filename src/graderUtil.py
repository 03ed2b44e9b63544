"""A small autograder on top of unittest, in the format of the course autograder: the judge's
command line, and what the course's grader modules import.

A grader module defines test classes (``GradedCase``) whose graded methods carry the
``@graded(test_id, description, timeout=..., functions=...)`` decorator (``judge/declare.py``:
the test ids, a test of several functions, the checks of written answers at 0 points), keeps
the points of each test id in a JSON file, and ends with ``graderUtil.main(...)``. A grader
without the code of some tests (the students' copy has no hidden tests) names them in
``main``'s ``elsewhere``.

This process is the judge: it never imports the submission. A test chooses every input here
and has the sandbox make the graded calls on them with ``self.ask`` (``call`` names each one);
what comes back is plain data, checked, and judged here against what the test computes
itself. The machinery is in ``judge/``: declaring tests (declare.py), running one (run.py),
a grading run (grading.py), reports (report.py), Gradescope's results (gradescope.py), the
sandbox's client (client.py); what the sandbox sends and receives is ``sandbox/CONTRACT.md``.
Graded code that raises, runs past the test's time limit, prints, crashes or ends its process
fails that test alone, and the grader always ends with its summary. ``--gradescope FILE`` also
writes Gradescope's results JSON, rewritten after every test.
"""

import argparse
import importlib
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import NoReturn

from common import processes
from common.exit_status import INTERRUPTED, SETUP_PROBLEM, USAGE
from judge import launch
from judge.client import ISOLATED, PACKAGE, Sandbox, package_files
from judge.declare import collect_tests, graded, is_written_check
from judge.grading import given_code_report, grade
from judge.run import GradedCase, call

__all__ = ["GradedCase", "call", "graded", "main", "setup_problem_line"]

SETUP_LINE = "grader set-up problem: "  # how its one line on standard error starts then


def setup_problem_line(stderr: str) -> str:
    """The line of a grader's standard error ``stderr`` that names its set-up problem (the
    last such), or its last line where none does."""
    lines = stderr.strip().splitlines() or ["(the grader printed nothing)"]
    return next((line for line in reversed(lines) if line.startswith(SETUP_LINE)), lines[-1])


def main(
    modules: list[ModuleType],
    graded_modules: Iterable[str],
    points_file: Path,
    checks: str | None = None,
    elsewhere: dict[str, str] | None = None,
    early: launch.EarlySandbox | None = None,
) -> NoReturn:
    """The command line: ``grader.py [TEST_ID ...] [--submission PATH] [--gradescope FILE]
    [--sandbox-user USER]``.

    ``graded_modules``: the modules of the package that the tests call. ``checks`` names a
    module of tests worth 0 points (checks of written answers), imported only where they run:
    not in Gradescope mode, which grades points alone. ``elsewhere``: the tests graded
    elsewhere (test id: description), listed but not run. ``early``: the sandbox the grader
    script started first (launch.start_sandbox_early), for the first sandbox of the run. A
    sandbox that cannot start as configured ends the grader with one line and the status
    SETUP_PROBLEM.
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
        points = {test_id: value for test_id, value in points.items()
                  if not is_written_check(value)}
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
        sys.exit(USAGE)
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
                                              graded_modules, users, early)
        verdicts = grade(chosen, folder,
                         Sandbox(package, files, graded_modules, users, early), args.gradescope,
                         [*left_out, *preface], starters)
    except processes.SetupError as problem:
        if args.gradescope is not None:  # no score at all rather than a score of 0
            args.gradescope.unlink(missing_ok=True)
        print(f"{SETUP_LINE}{problem}", file=sys.stderr)
        sys.exit(SETUP_PROBLEM)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        sys.exit(INTERRUPTED)
    sys.exit(0 if all(verdict.passed for verdict in verdicts) else 1)
