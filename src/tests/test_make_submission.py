"""make_submission.py: the zip holds exactly the three files, and is written only after its
unzipped copy imports as the course's autograder needs and passes the basic tests with its
given code unchanged; with --partial, the work as it is; never over a zip that earned more."""

import subprocess
import sys
import tempfile
import unittest
import zipfile
from pathlib import Path

from judge import given_code
from course import make_submission
from tests.submissions import GRADER_FILES, blanked, copy_grader, files, reference, replace_block, write

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
    done = subprocess.run([sys.executable, "-m", "course.make_submission", "--out", str(out), *flags],
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
            done = subprocess.run([sys.executable, "-m", "course.make_submission", "--out", str(out)],
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

    def test_changed_given_code_is_named_and_needs_the_flag(self):
        """A line changed outside the blocks (a sed over the given MAF.sample) is named with
        its line number and what it was; the zip waits for --partial."""
        changed = reference("flow_network.py").replace("        return x.cpu().numpy()",
                                                       "        return x.cpu().numpy()[::-1]")
        with tempfile.TemporaryDirectory() as tmp:
            done, out = make_submission_of(Path(tmp), files(flow_network=changed))
            self.assertEqual(done.returncode, 1)
            self.assertFalse(out.exists())
            number = changed.splitlines().index("        return x.cpu().numpy()[::-1]") + 1
            self.assertIn(f"submission/flow_network.py: given code changed outside the "
                          f"START/END blocks: line {number}: `return x.cpu().numpy()[::-1]` "
                          "(was `return x.cpu().numpy()`)", done.stdout)
            self.assertIn("it changes the given code outside the START/END blocks", done.stderr)
            done, out = make_submission_of(Path(tmp), files(flow_network=changed), "--partial")
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertTrue(out.is_file())

    def test_graded_ids_are_the_basic_tests_with_points(self):
        ids = make_submission.basic_test_ids()
        self.assertIn("1a-0-basic", ids)
        self.assertNotIn("1a-1-hidden", ids)
        self.assertNotIn("3a-0-basic", ids)  # a written answer's check, 0 points


if __name__ == "__main__":
    unittest.main()
