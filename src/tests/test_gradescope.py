"""The Gradescope bundle end to end: autograder.zip from make_autograder.py, run as Gradescope
runs it (run_autograder in a temporary root, the upload in root/submission), on uploads made
from src/submission/: whole, loose, nested, blanked, incomplete, broken, hanging, crashing,
printing."""

import json
import os
import shutil
import stat
import sys
import tempfile
import unittest
import zipfile
from pathlib import Path

import make_autograder
import make_submission
from tests.submissions import blanked, files, reference, replace_block, unreachable_python, write

POINTS = json.loads((make_autograder.SRC / "points.json").read_text())
GRADED = sorted(test for test, value in POINTS.items() if value > 0)
FLOW = [test for test in GRADED if test.startswith("1")]
GAN = [test for test in GRADED if not test.startswith("1")]


def uploads() -> dict[str, dict[str, str | bytes]]:
    """Each upload that the tests grade: its name, and its files (path: contents)."""
    with tempfile.TemporaryDirectory() as tmp:
        make_submission.write_zip(Path(tmp) / "submission.zip")
        archive = (Path(tmp) / "submission.zip").read_bytes()
    syntax_error = reference("gan.py").replace("    g_loss = -d(g(z)).mean()",
                                               "    g_loss = -d(g(z).mean(")
    return {
        "zip": {"submission.zip": archive},
        "loose": {Path(path).name: text for path, text in files().items()},
        "nested": {f"jane_doe/src/{path}": text for path, text in files().items()},
        "blank": files(flow_network=blanked(reference("flow_network.py")),
                       gan=blanked(reference("gan.py"))),
        "no gan": files(gan=None),
        "syntax error": files(gan=syntax_error),
        "hang": files(gan=replace_block(reference("gan.py"), "loss_wasserstein_gp_g",
                                        "while True: pass")),
        "crash and print": files(
            flow_network=replace_block(reference("flow_network.py"), "log_prob",
                                       "print('hello'); return x.new_zeros(len(x))"),
            gan=replace_block(reference("gan.py"), "loss_wasserstein_gp_d",
                              "import os; os._exit(3)")),
        "no files": {"notes.txt": "nothing here"},
    }


def run(bundle: Path, work: Path, upload: dict[str, str | bytes]) -> dict:
    """results.json of ``bundle`` run in ``work`` on an upload of these files."""
    write(work / "upload", upload)
    return make_autograder.run_bundle(bundle, work / "upload", work / "root")


class AutograderBundleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        """Builds the bundle and grades every upload once."""
        cls.tmp = Path(tempfile.mkdtemp())
        cls.bundle = cls.tmp / "autograder.zip"
        make_autograder.write_bundle(cls.bundle)
        cls.results = {name: run(cls.bundle, cls.tmp / f"upload {index}", upload)
                       for index, (name, upload) in enumerate(uploads().items())}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def grade(self, name: str) -> dict:
        """The results of the upload ``name``, checked to list every graded test."""
        results = self.results[name]
        self.check_listed(results)
        return results

    def check_listed(self, results: dict) -> None:
        """Every graded test once, in Gradescope's form; no 0-point check among them."""
        self.assertEqual(results["stdout_visibility"], "hidden")
        self.assertIsInstance(results["output"], str)
        tests = results["tests"]
        self.assertEqual(sorted(test["number"] for test in tests), GRADED)
        for test in tests:
            self.assertEqual(test["max_score"], POINTS[test["number"]])
            self.assertEqual(test["visibility"],
                             "after_published" if test["number"].endswith("hidden") else "visible")
            self.assertTrue(test["name"])
            if test["score"] < test["max_score"]:
                self.assertTrue(test["output"].strip(), f"{test['number']} failed with no reason")

    def scores(self, results: dict) -> dict[str, float]:
        return {test["number"]: test["score"] for test in results["tests"]}

    def outputs(self, results: dict, ids: list[str]) -> set[str]:
        """The first line of the output of each test in ``ids``."""
        by_id = {test["number"]: test["output"] for test in results["tests"]}
        return {by_id[test].splitlines()[0] if by_id[test] else "" for test in ids}

    def assert_full(self, results: dict, ids: list[str]) -> None:
        scores = self.scores(results)
        short = [test for test in ids if scores[test] != POINTS[test]]
        self.assertEqual(short, [], results["output"])

    def test_bundle_holds_the_grader_and_no_submission(self):
        with zipfile.ZipFile(self.bundle) as bundle:
            self.assertEqual(sorted(bundle.namelist()),
                             sorted([*make_autograder.BUNDLE, "given_code.json"]))
            for script in ("setup.sh", "run_autograder"):
                text = bundle.read(script)
                self.assertTrue(text.startswith(b"#!"), f"{script} has no shebang")
                self.assertNotIn(b"\r\n", text, f"{script} has Windows line endings")
                self.assertEqual(bundle.getinfo(script).external_attr >> 16 & 0o111, 0o111)
        self.assertFalse(any(name.startswith("submission") for name in make_autograder.BUNDLE))
        self.assertLess(self.bundle.stat().st_size, 1_000_000)

    def test_submission_zip_gets_full_points(self):
        results = self.grade("zip")
        self.assert_full(results, GRADED)
        self.assertIn("submission of submission.zip", results["output"])

    def test_loose_files_and_nested_folders_get_full_points(self):
        self.assert_full(self.grade("loose"), GRADED)
        results = self.grade("nested")
        self.assert_full(results, GRADED)
        self.assertIn("jane_doe/src/submission/ of the upload", results["output"])

    def test_blanked_code_scores_nothing(self):
        results = self.grade("blank")
        self.assertEqual(sum(self.scores(results).values()), 0)
        self.assertNotIn("", self.outputs(results, GRADED))
        basic = [test for test in GRADED if test.endswith("basic")]
        # "... should be a torch.Tensor, got NoneType", or for 1c, where the given log_probs
        # takes the mean of the blank log_prob: "AttributeError: 'NoneType' object has ..."
        for reason in self.outputs(results, basic):
            self.assertRegex(reason, r"should (be|return) a .*, got NoneType|'NoneType' object")

    def test_missing_gan_fails_its_tests_alone(self):
        results = self.grade("no gan")
        self.assertEqual(self.outputs(results, GAN), {"gan.py is missing from the upload"})
        self.assert_full(results, FLOW)
        self.assertIn("missing there: gan.py", results["output"])

    def test_syntax_error_names_file_and_line(self):
        results = self.grade("syntax error")
        line = reference("gan.py").splitlines().index("    g_loss = -d(g(z)).mean()") + 1
        (reason,) = self.outputs(results, GAN)
        self.assertIn("SyntaxError", reason)
        self.assertIn(f"gan.py, line {line}", reason)
        self.assert_full(results, FLOW)

    def test_hanging_function_fails_on_its_time_limit(self):
        results = self.grade("hang")
        uses_it = ["5e-0-basic", "5e-1-hidden", "5e-3-hidden"]
        for reason in self.outputs(results, uses_it):
            self.assertIn("timed out after 5 seconds", reason)
        self.assert_full(results, [test for test in GRADED if test not in uses_it])

    def test_crash_and_print_fail_their_tests_alone(self):
        results = self.grade("crash and print")
        uses_it = ["5e-0-basic", "5e-1-hidden", "5e-2-hidden", "5e-3-hidden"]
        ended = "the submission ended its process (exit status 3) before the test finished"
        # 5e-2 judges the critic loss alone; the other tests judge each loss on its own
        self.assertEqual(self.outputs(results, uses_it),
                         {ended, f"[loss_wasserstein_gp_d] {ended}"})
        printed = ["1c-0-basic", "1c-1-hidden", "1c-2-hidden", "1c-3-hidden"]  # call log_prob
        self.assertEqual(self.outputs(results, printed), {
            "submission printed to stdout; remove print statements (first line: 'hello')"})
        self.assert_full(results, [test for test in GRADED if test not in uses_it + printed])

    def test_upload_without_the_files_says_so(self):
        results = self.grade("no files")
        self.assertEqual(sum(self.scores(results).values()), 0)
        self.assertIn("The upload holds none of __init__.py, flow_network.py, gan.py",
                      results["output"])
        self.assertEqual(self.outputs(results, GRADED),
                         {"submission/__init__.py is missing from the upload"})

    def test_results_are_published_for_gradescope_alone(self):
        results = self.tmp / "upload 0" / "root" / "results"
        self.assertEqual(stat.S_IMODE(results.stat().st_mode), 0o755)
        for folder in ("source", "submission"):  # root's alone
            self.assertEqual(stat.S_IMODE((results.parent / folder).stat().st_mode), 0o700)
        self.assertFalse((results.parent / "grading").exists(), "the upload's copy is left")

    @unittest.skipUnless(sys.platform.startswith("linux") and os.geteuid() == 0,
                         "only root runs the submission as another user")
    def test_a_grader_that_cannot_start_its_sandbox_scores_no_one(self):
        work = Path(tempfile.mkdtemp())  # root's alone
        try:
            write(work / "upload", files())
            run = make_autograder.run_autograder(self.bundle, work / "upload", work / "root",
                                                 str(unreachable_python(work)))
            self.assertEqual(run.returncode, 1)
            self.assertRegex(run.stderr, r"(?m)^grader set-up problem: the sandbox user, "
                             r".* cannot read ")
            self.assertIn("run_autograder: the grader could not start its sandbox", run.stderr)
            self.assertFalse((work / "root" / "results" / "results.json").exists())
        finally:
            shutil.rmtree(work)


if __name__ == "__main__":
    unittest.main()
