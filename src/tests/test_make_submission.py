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
from tests.submissions import GRADER_FILES

SRC = make_submission.SRC
# What make_submission.py needs beside it: the grader and what the grader imports.
NEEDED = ["make_submission.py", *GRADER_FILES]


class MakeSubmissionTest(unittest.TestCase):
    def test_zip_holds_exactly_the_submission_files(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "submission.zip"
            done = subprocess.run([sys.executable, "make_submission.py", "--out", str(out)],
                                  cwd=make_submission.SRC, capture_output=True, text=True)
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertIn("0 failed", done.stdout)
            with zipfile.ZipFile(out) as written:
                self.assertEqual(sorted(written.namelist()), sorted(make_submission.FILES))
                for name in make_submission.FILES:
                    self.assertEqual(written.read(name),
                                     (make_submission.SRC / name).read_bytes())

    def test_no_zip_when_the_package_does_not_import_its_modules(self):
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "src"
            src.mkdir()
            for name in NEEDED:
                shutil.copy(SRC / name, src / name)
            shutil.copytree(SRC / "submission", src / "submission",
                            ignore=shutil.ignore_patterns("__pycache__"))
            (src / "submission" / "__init__.py").write_text('"""Only a docstring."""\n')
            out = Path(tmp) / "submission.zip"
            done = subprocess.run([sys.executable, "make_submission.py", "--out", str(out)],
                                  cwd=src, capture_output=True, text=True)
            self.assertEqual(done.returncode, 1)
            self.assertFalse(out.exists())
            self.assertEqual(done.stderr.splitlines(), [
                "submission.flow_network is missing: add the line `from .flow_network import *` "
                "to submission/__init__.py",
                "submission.gan is missing: add the line `from .gan import *` to "
                "submission/__init__.py",
                f"{out} not written: the course's autograder could not read the package (above)",
            ])

    def test_graded_ids_are_the_basic_tests_with_points(self):
        ids = make_submission.basic_test_ids()
        self.assertIn("1a-0-basic", ids)
        self.assertNotIn("1a-1-hidden", ids)
        self.assertNotIn("3a-0-basic", ids)  # a written answer's check, 0 points


if __name__ == "__main__":
    unittest.main()
