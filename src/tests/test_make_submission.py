"""make_submission.py: the zip holds exactly the three files, and is written only after its
unzipped copy imports as the course's autograder needs and passes the basic tests."""

import shutil
import subprocess
import sys
import tempfile
import unittest
import zipfile
from pathlib import Path

import make_submission
from tests.submissions import GRADER_FILES, blanked, files, reference, write

SRC = make_submission.SRC
# What make_submission.py needs beside it: the grader and what the grader imports.
NEEDED = ["make_submission.py", *GRADER_FILES]
# The paths the problem set asks for, written out here rather than read from the module.
ZIPPED = ["submission/__init__.py", "submission/flow_network.py", "submission/gan.py"]


def make_submission_of(folder: Path,
                       upload: dict[str, str]) -> tuple[subprocess.CompletedProcess, Path]:
    """Runs make_submission.py in ``folder``/src, holding the grader and ``upload`` (from
    ``files``); returns the finished process and where the zip would go."""
    src = folder / "src"
    src.mkdir()
    for name in NEEDED:
        shutil.copy(SRC / name, src / name)
    write(src, upload)
    out = folder / "submission.zip"
    done = subprocess.run([sys.executable, "make_submission.py", "--out", str(out)], cwd=src,
                          capture_output=True, text=True)
    return done, out


class MakeSubmissionTest(unittest.TestCase):
    def test_zip_holds_exactly_the_three_files(self):
        """The zip holds the three paths the problem set names, byte for byte src/submission's."""
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "submission.zip"
            done = subprocess.run([sys.executable, "make_submission.py", "--out", str(out)],
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
        status 1, the reason, and no zip at --out."""
        with tempfile.TemporaryDirectory() as tmp:
            done, out = make_submission_of(Path(tmp), files(gan=blanked(reference("gan.py"))))
            self.assertEqual(done.returncode, 1)
            self.assertFalse(out.exists())
            self.assertIn("not written: the zipped copy fails the basic tests", done.stderr)

    def test_graded_ids_are_the_basic_tests_with_points(self):
        ids = make_submission.basic_test_ids()
        self.assertIn("1a-0-basic", ids)
        self.assertNotIn("1a-1-hidden", ids)
        self.assertNotIn("3a-0-basic", ids)  # a written answer's check, 0 points


if __name__ == "__main__":
    unittest.main()
