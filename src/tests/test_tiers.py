"""The fast tier, ``python -m tests --fast``: the full suite less the tests ``SLOW`` names, in
the same order, and a name in ``SLOW`` that no test has is refused."""

import unittest
from pathlib import Path
from unittest import mock

from tests.__main__ import SLOW, name_of, tests_in, unmatched, within, without_slow

HERE = Path(__file__).resolve().parent


class FastTierTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        suite = unittest.defaultTestLoader.discover(str(HERE), top_level_dir=str(HERE.parent))
        cls.every = [name_of(test) for test in tests_in(suite)]
        cls.fast = [name_of(test) for test in tests_in(without_slow(suite))]

    def test_every_test_but_the_slow_ones_in_the_full_suites_order(self):
        self.assertEqual(self.fast, [name for name in self.every
                                     if not any(within(name, entry) for entry in SLOW)])
        # A module, a class and a test named in SLOW are left out; the test's class is kept.
        left_out = {name.rsplit(".", 1)[0] for name in self.every if name not in self.fast}
        self.assertLessEqual({"test_gradescope.AutograderBundleTest",
                              "test_hostile_output.HostileOutputTest",
                              "test_gan_trainer.GanTrainerTest"}, left_out)
        self.assertIn("test_hostile_output.AnswerCapsTest.test_each_cap", self.fast)
        self.assertIn("test_gan_trainer.GanTrainerTest.test_short_runs_write_grids_losses_and_a_"
                      "checkpoint", self.fast)

    def test_a_name_in_slow_that_no_test_has_is_refused(self):
        self.assertEqual(unmatched(self.every), [])
        renamed = "test_gan_trainer.GanTrainerTest.test_resume_continues"
        with mock.patch.dict(SLOW, {renamed: "a test since renamed"}):
            self.assertEqual(unmatched(self.every), [renamed])
