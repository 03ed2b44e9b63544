"""Runs the engineering tests in this folder: ``python -m tests`` from ``src/``.

Two tiers:

- ``python -m tests`` (``make test``, after ``python grader.py``; what CI runs): every test.
- ``python -m tests --fast`` (``make check``, after ``python grader.py``, which alone runs the
  checks of the written answers): every test but those named in ``SLOW``, a few minutes on 2
  cores. Each module under ``src/`` that the tests reach is still exercised by its quick
  tests; left out are the tests that grade whole submissions many times over (the attacks,
  the correct variants, the catalogues of mistakes, the bundle's uploads) or train for
  several epochs. Run the full suite before a merge.

unittest's own report, then a last line ``N passed, N failed`` for CI.
"""

import argparse
import sys
import unittest
from collections.abc import Iterator
from pathlib import Path

# The tests that --fast leaves out: a module, a class or one test, as ``python -m unittest``
# names them (less the ``tests.`` prefix), each with what makes it slow. Measured one module
# at a time on the 2-core machine.
SLOW = {
    # Attacks, each graded through the sandbox or the bundle (the quick tests of the sandbox's
    # parts, its caps, its clock, its uids, seccomp and Landlock stay in the fast tier)
    "test_hostile": "grades each attack as root and as on a laptop, some through the bundle",
    "test_hostile_intake": "grades each hostile upload through the Gradescope bundle",
    "test_hostile_contain.ContainedThroughTheGraderTest": "grades attacks on the judge",
    "test_hostile_output.HostileOutputTest": "grades answers at and past the size caps",
    "test_hostile_sandbox.NothingOutlivesATestTest": "grades attacks that leave things behind",
    "test_hostile_words.ForgedReportsTest": "grades submissions that forge their reports",
    # Whole submissions graded many times over, or catalogues of mistakes graded whole
    # (test_grader, test_course_starter and the release's basic tests grade end to end, and
    # wrong functions, in the fast tier). A name too long for a line stays whole, so that a
    # search for it finds it.
    "test_gradescope.AutograderBundleTest": "builds the bundle and grades each of its uploads",
    "test_correct_variants":
        "grades each variant with a copy of the grader, as root and as on a laptop",
    "test_make_submission.MakeSubmissionTest.test_partial_work_is_handed_in_but_never_over_a_better_zip":  # noqa: E501
        "runs make_submission, and with it the basic tests, five times",
    "test_make_submission.MakeSubmissionTest.test_a_test_that_passes_only_with_the_changed_given_code_needs_the_flag":  # noqa: E501
        "runs make_submission twice, each grading with its given code and the starter's",
    "test_mistake_messages": "grades every mistake of its catalogue, several to an upload",
    "test_wrong_implementations.WrongImplementationsTest.test_each_fails_the_tests_it_failed_before":  # noqa: E501
        "grades every wrong implementation, two to an upload",
    "test_release.ReleaseTest.test_basic_messages_name_the_mistakes_as_ours_do":
        "grades every known mistake with the students' grader and ours",
    "test_release.ReleaseTest.test_basic_verdicts_agree_with_ours_on_wrong_implementations":
        "grades every wrong implementation with the students' grader and ours",
    # Training for several epochs (each trainer's short run stays in the fast tier)
    "test_gan_trainer.GanTrainerTest.test_the_fast_step_trains_like_a_plain_loop":
        "trains every model and loss, then repeats their first steps in a plain loop",
    "test_gan_trainer.GanTrainerTest.test_resume_continues_exactly":
        "trains the cGAN for two epochs twice: straight, and interrupted then resumed",
    "test_gan_trainer.GanTrainerTest.test_bfloat16_computes_every_loss_under_autocast_and_is_recorded":  # noqa: E501
        "trains every model and loss under autocast",
}


def tests_in(suite: unittest.TestSuite) -> Iterator[unittest.TestCase]:
    """Every test case in ``suite``, nested suites opened."""
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            yield from tests_in(test)
        else:
            yield test


def name_of(test: unittest.TestCase) -> str:
    """``test``'s name as ``SLOW`` writes it: ``module.Class.test_method``."""
    return test.id().removeprefix("tests.")


def within(name: str, entry: str) -> bool:
    """Whether the test ``name`` is the test, or lies in the module or class, ``entry``."""
    return name == entry or name.startswith(entry + ".")


def is_slow(test: unittest.TestCase) -> bool:
    """Whether ``test`` is, or lies in a module or class, named in ``SLOW``."""
    return any(within(name_of(test), entry) for entry in SLOW)


def unmatched(names: list[str]) -> list[str]:
    """The entries of ``SLOW`` that match none of the tests ``names`` (renamed or removed)."""
    return [entry for entry in SLOW if not any(within(name, entry) for name in names)]


def without_slow(suite: unittest.TestSuite) -> unittest.TestSuite:
    """``suite`` less the tests named in ``SLOW``, nested as it was (so that each class's and
    module's set-up still runs once, and only where one of its tests is left)."""
    kept = unittest.TestSuite()
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            inner = without_slow(test)
            if inner.countTestCases():
                kept.addTest(inner)
        elif not is_slow(test):
            kept.addTest(test)
    return kept


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests",
                                     description="Runs every engineering test in src/tests/.")
    parser.add_argument("--fast", action="store_true",
                        help="the fast tier: leave out the slow tests that tests/__main__.py's "
                        "SLOW names")
    args = parser.parse_args()
    here = Path(__file__).parent
    suite = unittest.defaultTestLoader.discover(str(here), top_level_dir=str(here.parent))
    if stale := unmatched([name_of(test) for test in tests_in(suite)]):
        print(f"tests/__main__.py: SLOW names {', '.join(stale)}, which no test here has "
              "(renamed or removed? correct SLOW)", file=sys.stderr)
        return 2
    if args.fast:
        suite = without_slow(suite)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = result.testsRun - failed - len(result.skipped)
    skipped = f", {len(result.skipped)} skipped" if result.skipped else ""
    print(f"{passed} passed, {failed} failed{skipped}")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
