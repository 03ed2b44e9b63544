"""make_submission.py: the zip holds exactly the three files, and is written after grading."""

import subprocess
import sys
import tempfile
import unittest
import zipfile
from pathlib import Path

import make_submission


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

    def test_graded_ids_are_the_basic_tests_with_points(self):
        ids = make_submission.basic_test_ids()
        self.assertIn("1a-0-basic", ids)
        self.assertNotIn("1a-1-hidden", ids)
        self.assertNotIn("3a-0-basic", ids)  # a written answer's check, 0 points


if __name__ == "__main__":
    unittest.main()
