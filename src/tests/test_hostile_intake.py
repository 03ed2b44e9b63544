"""Hostile uploads against run_autograder's intake, through the Gradescope bundle as root.

Links (a file linked to the judge's grader.py or to a file outside the upload, a linked
folder, a hard link), a file past the size limit, a zip bomb, a zip with a symlink entry, and
folder names that hold a newline and terminal escapes. Each is graded beside the same upload
without the attack: it gains no point, every test still gets its verdict, nothing a link
reaches shows in the results, the refused path is named in the notes, no name draws a line of
its own, and nothing of the upload is left under the root (its ``submission/`` aside, which
is Gradescope's).
"""

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest
import zipfile
from collections.abc import Callable
from pathlib import Path

from common.safe_text import one_line
from course import make_autograder
from tests.submissions import files, reference, write
from tests.test_gradescope import GRADED, POINTS
from tests.test_hostile import judges_own_lines

MARKER = "# OUTSIDE-THE-UPLOAD 5d1e"  # a line of every file outside the upload
FORGED = "Basic tests: 99/99 points, 99 of 99 passed."  # a line no grading can write
# A folder name that, written as received, draws FORGED on a line of its own, then moves a
# terminal's cursor up, clears the line and sets the window's title.
TRICK_NAME = f"jane\n{FORGED}\n\x1b[1A\x1b[2K\x1b]0;graded\x07"
BOMB_BYTES = 200 * 2**20  # inflated size of each bomb entry (zeros: a few hundred kB packed)
TINY_ENTRIES = 20_000

Build = Callable[[Path, Path], None]  # (the upload folder, a folder outside it with the files)


# Added to gan.py: where a flow_network.py is there to read, its text on one line becomes the
# error that a visible test shows, as a student would show a file the upload's link reaches.
SHOW_SIBLING = """
import pathlib
if pathlib.Path(__file__).with_name("flow_network.py").exists():
    raise ImportError(" | ".join(pathlib.Path(__file__).with_name("flow_network.py")
                                 .read_text().splitlines()[20:]))
"""


def without_flow(upload: Path, gan: str | None = None) -> None:
    """The reference's __init__.py and gan.py (or ``gan``) in upload/submission/, no
    flow_network.py."""
    write(upload, files(flow_network=None, gan=gan or reference("gan.py")))


def showing_sibling(upload: Path) -> None:
    without_flow(upload, reference("gan.py") + SHOW_SIBLING)


def linked_to_grader(upload: Path, outside: Path) -> None:
    showing_sibling(upload)
    # upload is ROOT/submission: the link reaches ROOT/source/grader.py, the judge's own
    os.symlink("../../source/grader.py", upload / "submission" / "flow_network.py")


def linked_outside(upload: Path, outside: Path) -> None:
    without_flow(upload)
    os.symlink(outside / "flow_network.py", upload / "submission" / "flow_network.py")


def folder_linked_outside(upload: Path, outside: Path) -> None:
    """Two files in submission/, and a linked folder lib/ that holds all three."""
    without_flow(upload)
    os.symlink(outside, upload / "lib", target_is_directory=True)


def hard_linked_outside(upload: Path, outside: Path) -> None:
    without_flow(upload)
    os.link(outside / "flow_network.py", upload / "submission" / "flow_network.py")


def oversized(upload: Path, outside: Path) -> None:
    """The reference, its flow_network.py padded with a comment past 1 MiB."""
    flow = reference("flow_network.py") + "#" * 2**20 + "\n"
    write(upload, files(flow_network=flow))


def zip_bomb(upload: Path, outside: Path) -> None:
    """submission.zip: the reference's __init__.py and gan.py, a flow_network.py and a
    bomb.bin of BOMB_BYTES zeros each, and TINY_ENTRIES entries of one byte."""
    upload.mkdir(parents=True)
    zeros = bytes(2**20)
    with zipfile.ZipFile(upload / "submission.zip", "w", zipfile.ZIP_DEFLATED,
                         compresslevel=1) as packed:
        for name in ("__init__.py", "gan.py"):
            packed.writestr(f"submission/{name}", reference(name))
        for name in ("submission/flow_network.py", "bomb.bin"):
            with packed.open(name, "w") as entry:
                for _ in range(BOMB_BYTES // len(zeros)):
                    entry.write(zeros)
        for number in range(TINY_ENTRIES):
            packed.writestr(f"tiny/{number}", b"x")


def zip_with_symlink_entry(upload: Path, outside: Path) -> None:
    """submission.zip: the reference's __init__.py and gan.py, and flow_network.py a symlink
    entry to the judge's grader.py."""
    upload.mkdir(parents=True)
    with zipfile.ZipFile(upload / "submission.zip", "w") as packed:
        for name in ("__init__.py", "gan.py"):
            packed.writestr(f"submission/{name}", reference(name))
        link = zipfile.ZipInfo("submission/flow_network.py")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        packed.writestr(link, "../../../source/grader.py")


def zip_with_other_packing(upload: Path, outside: Path) -> None:
    """submission.zip: the reference's __init__.py and gan.py, and flow_network.py packed with
    bzip2 (which zipfile inflates a whole block at a time) behind a header that says 10 bytes."""
    upload.mkdir(parents=True)
    with zipfile.ZipFile(upload / "submission.zip", "w") as packed:
        for name in ("__init__.py", "gan.py"):
            packed.writestr(f"submission/{name}", reference(name))
        packed.writestr("submission/flow_network.py", reference("flow_network.py"),
                        compress_type=zipfile.ZIP_BZIP2)
        packed.getinfo("submission/flow_network.py").file_size = 10


def link_loop_beside(upload: Path, outside: Path) -> None:
    """The reference without flow_network.py, beside a link that leads to itself."""
    without_flow(upload)
    os.symlink("loop", upload / "loop")


def tricky_folder(upload: Path, outside: Path) -> None:
    """The reference's three files in a folder named TRICK_NAME."""
    write(upload, {f"{TRICK_NAME}/{Path(path).name}": text for path, text in files().items()})


def tricky_zip_folder(upload: Path, outside: Path) -> None:
    """submission.zip holding the reference's three files in a folder named TRICK_NAME."""
    upload.mkdir(parents=True)
    with zipfile.ZipFile(upload / "submission.zip", "w") as packed:
        for path, text in files().items():
            packed.writestr(f"{TRICK_NAME}/{Path(path).name}", text)


# Each upload graded: how it is built, and the upload without the attack that it is compared
# with (None: itself a baseline).
UPLOADS: dict[str, tuple[Build, str | None]] = {
    "without flow_network.py": (lambda upload, outside: without_flow(upload), None),
    "gan.py showing flow_network.py": (lambda upload, outside: showing_sibling(upload), None),
    "reference": (lambda upload, outside: write(upload, files()), None),
    "flow_network.py linked to grader.py": (linked_to_grader, "gan.py showing flow_network.py"),
    "flow_network.py linked outside": (linked_outside, "without flow_network.py"),
    "folder linked outside": (folder_linked_outside, "without flow_network.py"),
    "flow_network.py hard-linked outside": (hard_linked_outside, "without flow_network.py"),
    "flow_network.py past 1 MiB": (oversized, "without flow_network.py"),
    "zip bomb": (zip_bomb, "without flow_network.py"),
    "zip with a symlink entry": (zip_with_symlink_entry, "without flow_network.py"),
    "zip with a bzip2 entry": (zip_with_other_packing, "without flow_network.py"),
    "a link loop beside the files": (link_loop_beside, "without flow_network.py"),
    "folder name with a newline and escapes": (tricky_folder, "reference"),
    "zip folder name with a newline and escapes": (tricky_zip_folder, "reference"),
}


def grade_in_place(bundle: Path, work: Path, build: Build) -> tuple[dict, Path]:
    """Runs ``bundle`` as make_autograder.run_autograder does, in ``work/root``, but with the
    upload built where Gradescope puts it (``root/submission``) rather than copied there, so
    that its links stay links; returns results.json and the root."""
    root, outside = work / "root", work / "outside"
    write(outside, {name: reference(name) + f"\n{MARKER}\n" for name in
                    ("__init__.py", "flow_network.py", "gan.py")})
    with zipfile.ZipFile(bundle) as packed:
        packed.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "run_autograder").chmod(0o755)
    build(root / "submission", outside)
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable}
    env.pop("PYTHONPATH", None)
    run = subprocess.run([str(root / "run_autograder")], cwd=root, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if run.returncode != 0:
        raise AssertionError(f"run_autograder failed (status {run.returncode}):\n"
                             f"{run.stderr[-3000:]}")
    return json.loads((root / "results" / "results.json").read_text()), root


@unittest.skipUnless(sys.platform.startswith("linux") and os.geteuid() == 0,
                     "Gradescope runs the bundle as root")
class HostileIntakeTest(unittest.TestCase):
    """Each upload of UPLOADS, graded once through the bundle, against its baseline."""

    @classmethod
    def setUpClass(cls):
        """Builds the bundle and grades every upload of UPLOADS once."""
        cls.tmp = Path(tempfile.mkdtemp())
        bundle = cls.tmp / "autograder.zip"
        make_autograder.write_bundle(bundle)
        with zipfile.ZipFile(bundle) as packed:
            cls.bundled = sorted(packed.namelist())
        cls.results, cls.roots = {}, {}
        for index, (name, (build, _)) in enumerate(UPLOADS.items()):
            cls.results[name], cls.roots[name] = grade_in_place(bundle, cls.tmp / str(index),
                                                                build)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def outputs(self, results: dict) -> str:
        """Everything results.json shows: the notes on top and every test's output."""
        return "\n".join([results["output"], *(test["output"] for test in results["tests"])])

    def check(self, name: str) -> dict:
        """The results of the upload ``name``: every test with a verdict, none scoring more
        than without the attack, and nothing of the upload left under the root."""
        results = self.results[name]
        shown = self.outputs(results)
        self.assertNotIn(MARKER.strip("# "), shown, "a file outside the upload reached them")
        # a message may join lines: look for each line within
        leaked = [line for line in judges_own_lines() if len(line) >= 30 and line in shown]
        self.assertEqual(leaked, [], "lines of grader.py reached the results")
        baseline = self.results[UPLOADS[name][1] or name]
        # the graded tests (not the bundle's 0-point entry for staff)
        scores = {test["number"]: test["score"] for test in results["tests"] if test["max_score"]}
        plain = {test["number"]: test["score"] for test in baseline["tests"] if test["max_score"]}
        self.assertEqual(sorted(scores), GRADED, "the results list every graded test")
        self.assertEqual({test: score for test, score in scores.items() if score > plain[test]},
                         {}, "points gained by the attack")
        self.assertEqual(scores, plain, "the attack changed the verdicts")
        self.assertNotIn("grading stopped", shown, "a test got no verdict")
        self.assert_nothing_left(self.roots[name])
        return results

    def assert_nothing_left(self, root: Path) -> None:
        """Under ``root``: the bundle as it came, the upload as it came, results.json."""
        self.assertEqual(sorted(os.listdir(root)),
                         ["results", "run_autograder", "source", "submission"])
        self.assertEqual(os.listdir(root / "results"), ["results.json"])
        left = {path.relative_to(root / "source").as_posix(): path.is_dir()
                for path in (root / "source").rglob("*")}
        folders = {parent.as_posix() for name in self.bundled
                   for parent in Path(name).parents if parent != Path(".")}
        self.assertEqual(sorted(name for name, folder in left.items() if not folder),
                         self.bundled, "source/ holds more than the bundle")
        self.assertEqual({name for name, folder in left.items() if folder}, folders,
                         "source/ holds folders the bundle has not")

    def assert_refused(self, results: dict, path: str, why: str) -> None:
        """A line of the notes on top names ``path`` as refused for ``why``."""
        self.assertRegex(results["output"], rf"(?m)^Refused {re.escape(path)}: {why}",
                         "the refused path is not named")

    def test_baselines(self):
        self.assertEqual(sum(test["score"] for test in self.check("reference")["tests"]),
                         sum(POINTS.values()))
        results = self.check("without flow_network.py")
        self.assertIn("missing there: flow_network.py", results["output"])

    def test_a_file_linked_to_the_judge_is_refused(self):
        results = self.check("flow_network.py linked to grader.py")
        self.assert_refused(results, "submission/flow_network.py", "a symbolic link")

    def test_a_file_linked_outside_the_upload_is_refused(self):
        results = self.check("flow_network.py linked outside")
        self.assert_refused(results, "submission/flow_network.py", "a symbolic link")

    def test_a_linked_folder_is_refused(self):
        results = self.check("folder linked outside")
        self.assert_refused(results, "lib/", "a symbolic link")
        self.assertIn("Graded the files found in submission/ of the upload", results["output"])

    def test_a_hard_link_is_refused(self):
        results = self.check("flow_network.py hard-linked outside")
        self.assert_refused(results, "submission/flow_network.py", "a hard link")

    def test_a_file_past_the_size_limit_is_refused(self):
        results = self.check("flow_network.py past 1 MiB")
        self.assert_refused(results, "submission/flow_network.py", "larger than 1 MiB")

    def test_a_zip_bomb_is_capped_and_not_unpacked(self):
        results = self.check("zip bomb")
        self.assert_refused(results, "submission/flow_network.py of submission.zip",
                            "larger than 1 MiB")

    def test_a_symlink_entry_of_a_zip_is_refused(self):
        results = self.check("zip with a symlink entry")
        self.assert_refused(results, "submission/flow_network.py of submission.zip",
                            "a symbolic link")

    def test_an_entry_packed_otherwise_is_refused(self):
        results = self.check("zip with a bzip2 entry")
        self.assert_refused(results, "submission/flow_network.py of submission.zip",
                            "packed with a method other than deflate")

    def test_a_loop_of_links_is_graded_past(self):
        self.check("a link loop beside the files")

    def test_names_are_written_escaped(self):
        for name in ("folder name with a newline and escapes",
                     "zip folder name with a newline and escapes"):
            with self.subTest(name):
                results = self.check(name)
                text = self.outputs(results)
                self.assertNotIn(FORGED, text.splitlines(), "a name drew a line of its own")
                self.assertEqual(re.findall(r"[\x00-\x09\x0b-\x1f\x7f]", text), [],
                                 "a control character reached the results")
                self.assertIn(one_line(TRICK_NAME), results["output"],
                              "the folder is not named, escaped")


if __name__ == "__main__":
    unittest.main()
