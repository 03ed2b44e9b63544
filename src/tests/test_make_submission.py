"""make_submission.py: the zip holds exactly the three files, and is written only after its
unzipped copy imports as the course's autograder needs and passes the basic tests, also with
the starter's given code around its blocks where it changed that code (each change named);
with --partial, the work as it is; never over a zip that earned more."""

import subprocess
import sys
import tempfile
import unittest
import zipfile
from pathlib import Path

from course import make_submission
from judge import given_code
from tests.submissions import (
    GRADER_FILES,
    blanked,
    copy_grader,
    files,
    reference,
    replace_block,
    write,
)

SRC = make_submission.SRC
# What make_submission.py needs beside it: the grader and what the grader imports.
NEEDED = ("course/make_submission.py", *GRADER_FILES)
# The paths the problem set asks for, written out here rather than read from the module.
ZIPPED = ["submission/__init__.py", "submission/flow_network.py", "submission/gan.py"]


def make_submission_of(folder: Path, upload: dict[str, str], *flags: str
                       ) -> tuple[subprocess.CompletedProcess, Path]:
    """Runs make_submission.py (with ``flags``) in ``folder``/src, holding the grader, the
    starter's given code as a release has it, and ``upload`` (from ``files``); returns the
    finished process and where the zip goes."""
    src = folder / "src"
    src.mkdir(exist_ok=True)
    copy_grader(src, NEEDED)
    given_code.write_starter_texts(SRC, src / "given_code.json")
    write(src, upload)
    out = folder / "submission.zip"
    done = subprocess.run([sys.executable, "-m", "course.make_submission", "--out", str(out),
                           *flags],
                          cwd=src, capture_output=True, text=True)
    return done, out


def zipped_gan(out: Path) -> str:
    with zipfile.ZipFile(out) as written:
        return written.read("submission/gan.py").decode()


class MakeSubmissionTest(unittest.TestCase):
    def test_zip_holds_exactly_the_three_files(self):
        """The zip holds the three paths the problem set names, byte for byte src/submission's."""
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "submission.zip"
            done = subprocess.run([sys.executable, "-m", "course.make_submission",
                                   "--out", str(out)],
                                  cwd=SRC, capture_output=True, text=True)
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertIn("0 failed", done.stdout)
            with zipfile.ZipFile(out) as written:
                self.assertEqual(sorted(written.namelist()), ZIPPED)
                for name in ZIPPED:
                    self.assertEqual(written.read(name), (SRC / name).read_bytes())

    def test_no_zip_when_the_package_does_not_import_its_modules(self):
        """An ``__init__.py`` that imports neither module: each missing module named with its
        fix, and no zip."""
        with tempfile.TemporaryDirectory() as tmp:
            done, out = make_submission_of(Path(tmp), files(__init__='"""Only a docstring."""\n'))
            self.assertEqual(done.returncode, 1)
            self.assertFalse(out.exists())
            self.assertEqual(done.stderr.splitlines(), [
                "submission.flow_network is missing: add the line `from .flow_network import *` "
                "to submission/__init__.py",
                "submission.gan is missing: add the line `from .gan import *` to "
                "submission/__init__.py",
                f"{out} not written: the course's autograder could not read the package (above)",
            ])

    def test_no_zip_when_the_basic_tests_fail(self):
        """A package that imports but whose GAN losses are blanked fails the basic tests: exit
        status 1, the tests and the flag named, and no zip at --out."""
        with tempfile.TemporaryDirectory() as tmp:
            done, out = make_submission_of(Path(tmp), files(gan=blanked(reference("gan.py"))))
            self.assertEqual(done.returncode, 1)
            self.assertFalse(out.exists())
            self.assertIn("not written: the zipped copy fails the basic tests 2b-0-basic, "
                          "4b-0-basic, 5e-0-basic (above)", done.stderr)
            self.assertIn("make submission PARTIAL=1", done.stderr)

    def test_partial_work_is_handed_in_but_never_over_a_better_zip(self):
        """--partial writes the zip of work that fails basic tests, its points in the zip's
        comment; a later copy that earns fewer points keeps the earlier zip, one that earns
        as many replaces it."""
        three_losses = blanked(reference("gan.py"))
        one_loss = replace_block(three_losses, "loss_nonsaturating_d", "return x_real.sum()")
        with tempfile.TemporaryDirectory() as tmp:
            done, out = make_submission_of(Path(tmp), files(), "--partial")
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertIn(f"wrote {out}:", done.stdout)
            best = zipped_gan(out)
            done, _ = make_submission_of(Path(tmp), files(gan=three_losses), "--partial")
            self.assertEqual(done.returncode, 1)
            self.assertIn(f"{out} kept: it earned 12/12 basic points, this copy 6/12",
                          done.stderr)
            self.assertEqual(zipped_gan(out), best)
            out.unlink()
            done, _ = make_submission_of(Path(tmp), files(gan=three_losses), "--partial")
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertIn("(as it is: 6/12 basic points)", done.stdout)
            done, _ = make_submission_of(Path(tmp), files(gan=one_loss), "--partial")
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertEqual(zipped_gan(out), one_loss)
            done, _ = make_submission_of(Path(tmp), files(__init__=""), "--partial")
            self.assertEqual(done.returncode, 1)  # the import check stays mandatory
            self.assertIn("could not read the package", done.stderr)

    def test_a_change_outside_the_blocks_that_no_score_depends_on_is_handed_in(self):
        """An added ``import math``, used nowhere: the zip is written without the flag, the
        added line named, and a note beside the zip's name says the given code changed."""
        added = reference("gan.py").replace("import torch\n", "import math\nimport torch\n", 1)
        number = added.splitlines().index("import math") + 1
        with tempfile.TemporaryDirectory() as tmp:
            done, out = make_submission_of(Path(tmp), files(gan=added))
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertEqual(zipped_gan(out), added)
            self.assertIn(f"submission/gan.py: given code changed outside the START/END "
                          f"blocks: line {number}: `import math`", done.stdout)
            self.assertIn("the score does not depend on these changes", done.stdout)
            self.assertIn("note: it changes the given code outside the START/END blocks of "
                          "submission/gan.py", done.stdout)
            self.assertNotIn("PARTIAL", done.stdout + done.stderr)

    def test_a_test_that_passes_only_with_the_changed_given_code_needs_the_flag(self):
        """``import math`` added outside the blocks and used inside one: with the starter's
        given code that loss fails, so the hand-in waits for --partial, whose message says it
        is for failing basic tests."""
        added = reference("gan.py").replace("import torch\n", "import math\nimport torch\n", 1)
        uses = replace_block(added, "loss_nonsaturating_g",
                             "return -F.logsigmoid(d(g(z))).mean() * math.exp(0)")
        with tempfile.TemporaryDirectory() as tmp:
            done, out = make_submission_of(Path(tmp), files(gan=uses))
            self.assertEqual(done.returncode, 1)
            self.assertFalse(out.exists())
            self.assertIn(f"{out} not written: the basic tests 2b-0-basic pass only with your "
                          "changes to the given code: with the starter's around your blocks "
                          "they fail (above). To hand in work that fails basic tests as it is: "
                          "make submission PARTIAL=1", done.stderr)
            done, out = make_submission_of(Path(tmp), files(gan=uses), "--partial")
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertEqual(zipped_gan(out), uses)

    def test_changes_whose_effect_cannot_be_told_need_the_flag(self):
        """The markers of one block taken out (its code kept): the blocks no longer match the
        starter's, so whether the basic tests pass with its given code is not known."""
        source = reference("gan.py")
        start = source.index("    ### START CODE HERE ###\n")
        unmarked = (source[:start] + source[start:].replace("    ### START CODE HERE ###\n", "", 1)
                    .replace("    ### END CODE HERE ###\n", "", 1))
        with tempfile.TemporaryDirectory() as tmp:
            done, out = make_submission_of(Path(tmp), files(gan=unmarked))
            self.assertEqual(done.returncode, 1)
            self.assertFalse(out.exists())
            self.assertIn("not written: whether the basic tests pass with the starter's given "
                          "code around your blocks is not known (above). To hand in work that "
                          "fails basic tests as it is: make submission PARTIAL=1", done.stderr)

    def test_a_replaced_given_line_is_named_with_what_it_was(self):
        """A line changed outside the blocks (a sed over the given MAF.sample, which no basic
        test's score depends on) is named with its line number and what it was."""
        changed = reference("flow_network.py").replace("        return x.cpu().numpy()",
                                                       "        return x.cpu().numpy()[::-1]")
        with tempfile.TemporaryDirectory() as tmp:
            done, out = make_submission_of(Path(tmp), files(flow_network=changed))
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertTrue(out.is_file())
            number = changed.splitlines().index("        return x.cpu().numpy()[::-1]") + 1
            self.assertIn(f"submission/flow_network.py: given code changed outside the "
                          f"START/END blocks: line {number}: `return x.cpu().numpy()[::-1]` "
                          "(was `return x.cpu().numpy()`)", done.stdout)

    def test_graded_ids_are_the_basic_tests_with_points(self):
        ids = make_submission.basic_test_ids()
        self.assertIn("1a-0-basic", ids)
        self.assertNotIn("1a-1-hidden", ids)
        self.assertNotIn("3a-0-basic", ids)  # a written answer's check, 0 points


if __name__ == "__main__":
    unittest.main()
