"""grader.py reads the submission as the course's autograder does (``import submission``, then
``submission.flow_network.MADE``), says in one line what a package lacks, and writes
Gradescope's results JSON."""

import contextlib
import datetime
import io
import json
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

from common.exit_status import SETUP_PROBLEM
from course import manifest
from judge import given_code
from judge.declare import GradedTest
from judge.gradescope import NOT_RUN, gradescope_results
from judge.report import Verdict, print_summary
from tests.submissions import SRC, copy_grader, files, grade, reference, unreachable_python, write

POINTS = json.loads((SRC / manifest.POINTS).read_text())


class GraderTest(unittest.TestCase):
    def reasons(self, results: dict) -> dict[str, str]:
        return {test["number"]: test["output"] for test in results["tests"]}

    def test_given_code_changed_outside_the_blocks_is_named(self):
        """Each changed line, with what it was, and whether the score depends on it: with
        the starter's given code around the same blocks, a test that would score otherwise
        says so; the summary's line speaks of the basic tests, as the hidden ones are not
        shown before the grades are."""
        sample = reference("flow_network.py").replace("        return x.cpu().numpy()",
                                                      "        return x.cpu().numpy() * 2")
        harmless = reference("gan.py").replace("import torch\n", "import math\nimport torch\n")
        for upload, test, depends in ((files(flow_network=sample), "1c-4-hidden", True),
                                      (files(gan=harmless), "2b-0-basic", False)):
            with self.subTest(depends=depends):
                _, printed, results = grade(upload, test)
                top = results["output"].splitlines()
                number = (sample if depends else harmless).splitlines().index(
                    "        return x.cpu().numpy() * 2" if depends else "import math") + 1
                changed = ("flow_network.py: given code changed outside the START/END blocks: "
                           f"line {number}: `return x.cpu().numpy() * 2` (was `return "
                           "x.cpu().numpy()`)" if depends else "gan.py: given code changed "
                           f"outside the START/END blocks: line {number}: `import math`")
                self.assertEqual(top[0], f"submission/{changed}")
                self.assertIn(top[0], printed)
                if depends:
                    self.assertIn("the score depends on these changes", printed)
                    self.assertIn("with the starter's given code around your blocks this test "
                                  "scores 0.5 points", self.reasons(results)[test])
                    # only a hidden test depends on it: the summary, shown early, says nothing
                    self.assertIn("the score does not depend on these changes: every one of "
                                  "the basic tests", top[1])
                else:
                    self.assertIn("the score does not depend on these changes", top[1])

    def test_gradescope_results_of_the_reference(self):
        _, printed, results = grade(files())
        graded = sorted(test for test, value in POINTS.items() if value > 0)
        self.assertEqual(sorted(test["number"] for test in results["tests"]), graded)
        for test in results["tests"]:
            self.assertEqual(test["score"], POINTS[test["number"]])
            self.assertEqual(test["max_score"], POINTS[test["number"]])
            self.assertEqual(test["output"], "")
            hidden = test["number"].endswith("-hidden")
            self.assertEqual(test["visibility"], "after_published" if hidden else "visible")
            self.assertIn(f"START {test['number']}: {test['name']}", printed)
        self.assertEqual(results["stdout_visibility"], "hidden")
        self.assertGreater(results["execution_time"], 0)
        basic = sum(value for test, value in POINTS.items() if test.endswith("-basic"))
        hidden = sum(value for test, value in POINTS.items() if test.endswith("-hidden"))
        self.assertEqual(results["output"], f"Basic tests: {basic:g}/{basic:g} points, 6 of 6 "
                         f"passed. The hidden tests ({hidden:g} points) are shown once the "
                         "course publishes the grades.")
        self.assertTrue(printed.rstrip().endswith(f"{len(graded)} passed, 0 failed"))
        self.assertNotIn("checks of written answers", printed)  # 0 points: not run

    @unittest.skipUnless(sys.platform.startswith("linux") and os.geteuid() == 0,
                         "only root runs the submission as another user")
    def test_an_environment_the_sandbox_user_cannot_read_is_a_set_up_problem(self):
        with tempfile.TemporaryDirectory() as tmp:  # root's alone
            folder = Path(tmp)
            python = unreachable_python(folder)
            copy_grader(folder)
            write(folder, files())
            results = folder / "results.json"
            done = subprocess.run([str(python), "grader.py", "--gradescope", str(results)],
                                  cwd=folder, capture_output=True, text=True, timeout=120)
            self.assertEqual(done.returncode, SETUP_PROBLEM, done.stderr)
            self.assertEqual(len(done.stderr.splitlines()), 1, done.stderr)
            self.assertRegex(done.stderr, r"^grader set-up problem: the sandbox user, uid \d+, "
                             r"cannot read .*run the grader as an ordinary user")
            self.assertNotIn("passed", done.stdout)
            self.assertFalse(results.exists(), "no results: 0 points would blame the student")

    def test_package_must_import_its_modules(self):
        _, printed, results = grade(files(__init__=""))
        for test, reason in self.reasons(results).items():
            module = "flow_network" if test.startswith("1") else "gan"
            self.assertEqual(reason, f"submission/__init__.py does not import {module}: "
                                     f"add the line `from .{module} import *` to it")
        self.assertEqual(sum(test["score"] for test in results["tests"]), 0)
        self.assertIn("0 passed, 25 failed", printed)

    def test_one_module_imported_is_graded(self):
        only_gan = files(__init__="from .gan import *\n")
        _, _, results = grade(only_gan, "1a-0-basic", "2b-0-basic")
        self.assertEqual(self.reasons(results), {
            "1a-0-basic": "submission/__init__.py does not import flow_network: add the line "
                          "`from .flow_network import *` to it",
            "2b-0-basic": "",
        })

    def test_a_missing_function_fails_its_tests_alone(self):
        renamed = reference("gan.py").replace("def loss_wasserstein_gp_g(", "def renamed(")
        _, _, results = grade(files(gan=renamed), "5e-0-basic", "4b-0-basic")
        reasons = self.reasons(results)
        self.assertEqual(reasons.pop("4b-0-basic"), "")
        for reason in reasons.values():  # the first line, then a short traceback
            self.assertEqual(reason.splitlines()[0],
                             "[loss_wasserstein_gp_g] AttributeError: module "
                             "'submission.gan' has no attribute 'loss_wasserstein_gp_g'")
        # The critic loss beside it earns its half of 5e-0.
        self.assertEqual({test["number"]: test["score"] for test in results["tests"]},
                         {"5e-0-basic": 1.0, "4b-0-basic": 2.0})

    def test_error_at_import_fails_that_module_alone(self):
        broken = reference("gan.py") + "\nraise RuntimeError('half done')\n"
        line = len(broken.splitlines())
        _, _, results = grade(files(gan=broken), "1a-0-basic", "2b-0-basic")
        self.assertEqual(self.reasons(results), {
            "1a-0-basic": "",
            "2b-0-basic": "import submission fails: RuntimeError: half done "
                          f"(gan.py, line {line})\nwith the starter's given code around your "
                          "blocks this test scores 2 points",  # the raise is given code
        })

    def test_results_list_every_test_when_grading_stops_midway(self):
        tests = [GradedTest(f"1a-{n}-{kind}", f"test {n}", 5, unittest.TestCase, "run",
                                       points)
                 for n, kind, points in ((0, "basic", 2.0), (1, "hidden", 1.0), (2, "hidden", 3.0))]
        passed = Verdict(tests[0], [], datetime.timedelta(seconds=1))
        results = gradescope_results(tests, [passed], 1.5)
        entries = [(test["number"], test["score"], test["output"]) for test in results["tests"]]
        not_run = NOT_RUN
        self.assertEqual(entries, [("1a-0-basic", 2.0, ""), ("1a-1-hidden", 0.0, not_run),
                                   ("1a-2-hidden", 0.0, not_run)])
        self.assertTrue(results["output"].startswith("Grading stopped during test 1a-1-hidden"))
        json.dumps(results)  # plain JSON


    def test_the_summary_speaks_of_the_kinds_of_tests_that_ran(self):
        """A run of basic tests alone gives no line of hidden points (``0/0``), and the
        other way round."""
        basic, hidden = (GradedTest(test_id, "test", 5, unittest.TestCase, "run", 2.0)
                         for test_id in ("1a-0-basic", "1a-1-hidden"))
        for verdict, shown, absent in [(Verdict(basic, []), "basic", "hidden"),
                                       (Verdict(hidden, ["wrong"]), "hidden", "basic")]:
            with self.subTest(shown=shown):
                printed = io.StringIO()
                with contextlib.redirect_stdout(printed):
                    print_summary([verdict])
                score = "2/2" if shown == "basic" else "0/2"
                self.assertIn(f"\n{shown} points: {score}\ntotal points: {score}\n",
                              printed.getvalue())
                self.assertNotIn(f"{absent} points", printed.getvalue())


class GivenCodeTest(unittest.TestCase):
    """given_code.py reads an upload's text, nothing run; what it reports of odd ones."""

    def setUp(self):
        self.starter = given_code.starter_texts(SRC)["flow_network.py"]

    def test_a_start_without_an_end_is_no_block(self):
        source = reference("flow_network.py").replace("### END CODE HERE ###", "", 1)
        change = given_code.changes("flow_network.py", source, self.starter)
        self.assertFalse(change.another_starter)
        self.assertTrue(any("`x = torch.zeros_like(z)`" in line for line in change.lines))

    def test_a_file_too_long_to_compare_is_said_so_once(self):
        # comments alone would change nothing, but the judge does not read on that far
        source = reference("flow_network.py") + "#" * given_code.MAX_CHARS
        found = given_code.all_changes({"flow_network.py": source.encode()},
                                       {"flow_network.py": self.starter})
        self.assertEqual(given_code.summary(found), [
            f"submission/flow_network.py is too long to compare with the starter "
            f"({len(source):,} characters); your functions are judged with your own given code"])

    def test_the_blocks_of_a_hand_in_go_into_the_starter_unchanged(self):
        ours = {name: (SRC / "submission" / name).read_bytes() for name in manifest.HAND_IN}
        self.assertEqual(given_code.transplanted(ours, given_code.starter_texts(SRC)), ours)


if __name__ == "__main__":
    unittest.main()
