"""make_release.py: the students' starter holds our files with every answer taken out, and its
grader, which holds no reference computation, judges the basic tests as ours does."""

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import zipfile
from collections.abc import Iterator
from pathlib import Path

import torch

from common.blocks import BLOCK, block
from course import make_release, manifest
from tests.submissions import (
    SRC,
    files,
    reference,
    unreachable_python,
    with_blocks,
    write,
)
from tests.test_mistake_messages import MISTAKES, each_fragment, uploads
from tests.test_wrong_implementations import FAILS, PAIRS, wrong

ROOT = SRC.parent
# What a student gets: the manifest's files and what the release builder writes
RELEASE_FILES = sorted([
    "Makefile", "submission.tex", *manifest.release_copied(),
    *manifest.STARTER, *manifest.BLANKED, *(f"src/{name}" for name in manifest.RELEASE_DATA)])
BLANKED = {
    "flow_network.py": ["MADE.forward", "MADE.inverse", "MAF.log_prob"],
    "gan.py": ["loss_nonsaturating_d", "loss_nonsaturating_g", "conditional_loss_nonsaturating_d",
               "conditional_loss_nonsaturating_g", "loss_wasserstein_gp_d",
               "loss_wasserstein_gp_g"],
}
BASIC = ["1a-0-basic", "1b-0-basic", "1c-0-basic", "2b-0-basic", "4b-0-basic", "5e-0-basic"]
HIDDEN = 19  # hidden tests with points in points.json
# Names of the judge's reference computations (manifest.JUDGE_ONLY), none of which may reach a
# student
REFERENCE_NAMES = ["reference_", "neg_log_sigmoid", "input_gradient_norms", "degree_masks",
                   "seeded_draws", "made_weights", "maf_weights"]
# Two generator losses that test_wrong_implementations.py has no wrong version of
WRONG_GENERATORS = {
    "conditional_loss_nonsaturating_g":
        "return -F.logsigmoid(d(g(z, y_real), torch.zeros_like(y_real))).mean()",
    "loss_wasserstein_gp_g": "return d(g(z)).mean()",
}
END = re.compile(r"^----- END (\S+) \[.*, ([\d.]+)/([\d.]+) points\]$", re.M)


def failed_tests(printed: str) -> list[str]:
    """The tests that a grader's output shows with fewer points than they carry."""
    return sorted(test for test, got, of in END.findall(printed) if float(got) < float(of))


class ReleaseTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        """Builds the release twice, the second time over the first with a stale file added:
        the tests see the second build."""
        cls.tmp = tempfile.TemporaryDirectory()
        cls.release = Path(cls.tmp.name) / "release"
        for build in range(2):
            if build == 1:
                (cls.release / "src/stale.txt").write_text("from an earlier build")
            done = subprocess.run([sys.executable, "-m", "course.make_release",
                                   "--out", str(cls.release)],
                                  cwd=SRC, capture_output=True, text=True)
            if done.returncode != 0:
                raise AssertionError(f"make_release.py failed:\n{done.stdout}\n{done.stderr}")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    @contextlib.contextmanager
    def copy_of_release(self, upload: dict[str, str] | None = None) -> Iterator[Path]:
        """A temporary copy of the release, with ``upload`` (from ``files``) in place of its
        submission, so that no test changes the release the others read."""
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "release"
            shutil.copytree(self.release, copy)
            write(copy / "src", upload or {})
            yield copy

    def run_grader(self, upload: dict[str, str] | None = None) -> tuple[int, str]:
        """The release's grader on a copy of the release with ``upload``: exit status and
        output."""
        with self.copy_of_release(upload) as copy:
            done = subprocess.run([sys.executable, "grader.py"], cwd=copy / "src",
                                  capture_output=True, text=True, timeout=300)
        return done.returncode, done.stdout

    def test_the_release_holds_the_students_files_and_the_zip_the_same(self):
        self.assertEqual(sorted(path.name for path in self.release.parent.iterdir()),
                         ["release", "release.zip"])  # no temporary folder left behind
        found = sorted(str(path.relative_to(self.release)) for path in self.release.rglob("*")
                       if path.is_file())
        self.assertEqual(found, RELEASE_FILES)
        with zipfile.ZipFile(self.release.with_suffix(".zip")) as archive:
            self.assertEqual(sorted(archive.namelist()),
                             [f"release/{name}" for name in RELEASE_FILES])
            for name in RELEASE_FILES:
                self.assertEqual(archive.read(f"release/{name}"),
                                 (self.release / name).read_bytes(), name)

    def test_blocks_raise_not_implemented_and_every_other_byte_is_ours(self):
        for name, functions in BLANKED.items():
            ours, theirs = reference(name), (self.release / "src/submission" / name).read_text()
            self.assertEqual(BLOCK.sub("###", theirs), BLOCK.sub("###", ours), name)
            placeholders = [match[0] for match in BLOCK.finditer(theirs)]
            self.assertEqual(placeholders, [
                block(match[1], f'raise NotImplementedError("{function}: not implemented yet")')
                for match, function in zip(BLOCK.finditer(ours), functions, strict=True)])
        for name in ("src/main.py", "src/network.py", "src/submission/__init__.py",
                     "src/graderUtil.py", "src/course/make_submission.py",
                     "src/training/fmnist_classifier.pt"):
            self.assertEqual((self.release / name).read_bytes(), (ROOT / name).read_bytes())

    def test_make_test_on_the_blank_starter_fails_each_basic_test_in_one_line(self):
        with self.copy_of_release() as copy:
            # This Python, which the students' Makefile checks first (and builds no venv);
            # --no-print-directory: under `make test` the inner make would print its folder last
            done = subprocess.run(["make", "--no-print-directory", "test",
                                   f"USE_PYTHON={sys.executable}"],
                                  cwd=copy, capture_output=True, text=True, timeout=300)
            self.assertFalse((copy / ".venv").exists())
        self.assertNotEqual(done.returncode, 0)
        printed = done.stdout
        self.assertRegex(printed, r"^check_env: \S+ \(Python [\d.]+\) has torch ")
        self.assertEqual(failed_tests(printed), BASIC)
        for test in BASIC:  # the test's START line, a line per graded function, its END line
            report = re.search(rf"START {test}: .*\n((?:.*\n)*?)----- END {test} ", printed)
            lines = report[1].splitlines()
            functions = 1 if test.startswith("1") else 2  # a GAN test judges D's and G's loss
            self.assertEqual(len(lines), functions, f"{test}: one line per function: {lines}")
            for line in lines:
                self.assertRegex(line, r"NotImplementedError: [\w.]+: not implemented yet$")
        self.assertEqual(printed.count("\nhidden: graded on Gradescope\n"), HIDDEN)
        self.assertIn("basic points: 0/12\n", printed)
        self.assertTrue(printed.endswith("0 passed, 6 failed\n"), printed[-300:])

    def test_our_submission_earns_every_basic_point_and_zips(self):
        """make_submission.py in the release grades our submission with the release's grader
        (its basic tests), then writes the zip."""
        with self.copy_of_release(files()) as copy:
            archive = copy / "submission.zip"
            done = subprocess.run([sys.executable, "-m", "course.make_submission",
                                   "--out", str(archive)],
                                  cwd=copy / "src", capture_output=True, text=True)
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertIn("basic points: 12/12\n", done.stdout)
            self.assertIn("\n6 passed, 0 failed\n", done.stdout)
            self.assertTrue(archive.is_file())

    def test_basic_verdicts_agree_with_ours_on_wrong_implementations(self):
        for flow, gan in PAIRS:
            with self.subTest(flow_network=flow, gan=gan):
                upload = files(flow_network=wrong("flow_network", flow), gan=wrong("gan", gan))
                _, printed = self.run_grader(upload)
                ours = FAILS.get(flow, []) + FAILS[gan]  # what grader.py fails them on
                self.assertEqual(failed_tests(printed),
                                 sorted(test for test in ours if test.endswith("-basic")))

    def test_basic_messages_name_the_mistakes_as_ours_do(self):
        for names, upload in uploads():
            _, printed = self.run_grader(upload)
            for name in names:
                for test, fragments in MISTAKES[name][3].items():
                    if test.endswith("-basic"):
                        with self.subTest(mistake=name, test=test):
                            self.assertIn(test, failed_tests(printed))
                            for fragment in each_fragment(fragments):
                                self.assertIn(fragment, printed)

    def test_wrong_generator_losses_fail_their_basic_tests(self):
        _, printed = self.run_grader(files(gan=with_blocks("gan", WRONG_GENERATORS)))
        self.assertEqual(failed_tests(printed), ["4b-0-basic", "5e-0-basic"])

    def test_no_reference_code_reaches_the_release(self):
        our_lines = {line.strip() for name in BLANKED for match in BLOCK.finditer(reference(name))
                     for line in match[0].splitlines()[1:-1] if line.strip()}
        for path in self.release.rglob("*"):
            if not path.is_file() or path.suffix == ".pt":
                continue
            text = path.read_text()
            with self.subTest(file=str(path.relative_to(self.release))):
                lines = {line.strip() for line in text.splitlines()}
                self.assertEqual(sorted(our_lines & lines), [])
                self.assertEqual([name for name in REFERENCE_NAMES if name in text], [])
        # The names looked for are the judge's own, in the modules the release leaves out
        judge_only = "".join((SRC / path).read_text() for path in manifest.JUDGE_ONLY)
        self.assertEqual([name for name in REFERENCE_NAMES if name not in judge_only], [])
        self.assertEqual([path for path in manifest.JUDGE_ONLY
                          if (self.release / "src" / path).exists()], [])
        # The stored cases hold plain tensors, names and numbers: nothing runs on loading.
        cases = torch.load(self.release / "src/basic_tests.pt", weights_only=True)
        self.assertEqual(sorted(cases), BASIC)

    def test_written_answers_keep_the_sections_without_answers_and_build(self):
        ours, theirs = (ROOT / "submission.tex").read_text(), (
            self.release / "submission.tex").read_text()
        headings = re.compile(r"^\\section\*\{(\w+)\}$", re.M)
        self.assertEqual(headings.findall(theirs), headings.findall(ours))
        answers = theirs[theirs.index("\\maketitle"):]
        for line in answers.splitlines()[1:]:
            self.assertRegex(line, r"^(|%.*|\\section\*\{\w+\}|\\end\{document\})$")
        if shutil.which("pdflatex") is None:
            self.skipTest("pdflatex is not installed")
        with self.copy_of_release() as copy:
            done = subprocess.run(["make", "pdf"], cwd=copy, capture_output=True, text=True)
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertTrue((copy / "submission.pdf").is_file())

    def test_makefile_offers_the_students_targets_only(self):
        makefile = (self.release / "Makefile").read_text()
        targets = set(re.findall(r"^([a-z-]+):", makefile, re.M))
        self.assertEqual(targets, {"venv", "train", "test", "clean-venv", "clean-train", "pdf",
                                   "submission"})

    def test_a_folder_that_is_not_a_release_is_left_alone(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "mine"
            out.mkdir()
            (out / "notes.txt").write_text("keep me")
            done = subprocess.run([sys.executable, "-m", "course.make_release", "--out", str(out)],
                                  cwd=SRC, capture_output=True, text=True)
            self.assertEqual(done.returncode, 1)
            self.assertIn("is not a release", done.stderr)
            self.assertEqual([path.name for path in out.iterdir()], ["notes.txt"])
            self.assertFalse(out.with_suffix(".zip").exists())


@unittest.skipUnless(sys.platform.startswith("linux") and os.geteuid() == 0,
                     "only root runs the submission as another user")
class SetupProblemTest(unittest.TestCase):
    def test_a_grader_that_cannot_start_its_sandbox_is_named_in_one_line(self):
        """make_release.py run by a Python the sandbox's user cannot read: the grader's set-up
        problem, in one line, not the reference missing points."""
        with tempfile.TemporaryDirectory() as tmp:  # root's alone
            python = unreachable_python(Path(tmp))
            out = Path(tmp) / "release"
            done = subprocess.run([str(python), "-m", "course.make_release", "--out", str(out)],
                                  cwd=SRC,
                                  capture_output=True, text=True, timeout=600)
            self.assertEqual(done.returncode, 1)
            self.assertRegex(done.stderr, rf"^{re.escape(str(out))} not written: grader set-up "
                             r"problem: the sandbox user, .* cannot read [^\n]*\n$")
            self.assertFalse(out.exists())


class ReferenceAnswersTest(unittest.TestCase):
    def test_the_written_answers_ask_for_name_and_collaborators_and_the_release_keeps_them(self):
        """The honor code asks each student to write down whom they worked with: the title
        shows both fields, left empty for the student, in ours and in the students' copy."""
        tex = (ROOT / "submission.tex").read_text()
        fields = ["\\newcommand{\\studentname}{}", "\\newcommand{\\collaborators}{}",
                  "\\author{Name: \\studentname \\\\ Collaborators: \\collaborators}"]
        for text in (tex, make_release.without_answers(tex)):
            preamble = text[:text.index("\\begin{document}")]
            for field in fields:
                self.assertIn(field, preamble)

    def test_our_written_answers_name_no_file_or_test_of_this_repository(self):
        tex = (ROOT / "submission.tex").read_text()
        body = tex[tex.index("\\maketitle"):]
        for pattern in (r"\\texttt", r"\btests?\b", r"\.py\b", r"\bsrc/", r"\d[a-e]-\d-basic"):
            self.assertNotRegex(body, pattern)


if __name__ == "__main__":
    unittest.main()
