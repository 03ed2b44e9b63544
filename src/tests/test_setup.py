"""The set-up: check_env.py on environments made up here, environment.yml against
requirements.txt, and what the Makefile (ours and the students') runs with USE_PYTHON,
TORCH_INDEX, PYTHON and SANDBOX_USER; as root, the check that stops make venv before it
installs from a Python the sandbox's user cannot run."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path
from unittest import mock

from course import check_env
from course.make_release import students_makefile
from tests.submissions import SRC, unreachable_python

ROOT = SRC.parent
# What course/check_env.py needs beside it (paths under src/): it runs before any venv exists
CHECK_ENV_FILES = ("requirements.txt", "course/__init__.py", "course/check_env.py",
                   "common/__init__.py", "common/processes.py", "judge/__init__.py",
                   "judge/launch.py")
REQUIREMENTS = check_env.requirements((SRC / "requirements.txt").read_text())
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
AS_ROOT = sys.platform.startswith("linux") and os.geteuid() == 0


def system_python() -> str | None:
    """The system's /usr/bin/python3 where it is 3.10 or newer, which every user can run."""
    try:
        done = subprocess.run(["/usr/bin/python3", "-c", "import sys; print(sys.version_info "
                               ">= (3, 10))"], capture_output=True, text=True, timeout=60)
    except OSError:
        return None
    return "/usr/bin/python3" if done.stdout.strip() == "True" else None


def which_python(python: str) -> str:
    """What the venv's stamp names for a venv made from ``python``: its real path."""
    return subprocess.run([python, "-c", "import os, sys; print(os.path.realpath(sys.executable))"],
                          capture_output=True, text=True, check=True).stdout.strip()


def fake_environment(folder: Path, versions: dict[str, str]) -> Path:
    """The Python of a new venv in ``folder`` that holds only the metadata of ``versions``
    (name -> version), none of the packages themselves."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    site = folder / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    for name, version in versions.items():
        info = site / "site-packages" / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    return folder / "bin" / "python"


class CheckEnvTest(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.tmp = Path(tmp.name)
        self.tmp.chmod(0o755)  # as root, the sandbox's user must reach the environments here

    def check(self, versions: dict[str, str]) -> subprocess.CompletedProcess:
        python = fake_environment(self.tmp / "env", versions)
        return subprocess.run([str(python), "-m", "course.check_env"], cwd=SRC,
                              capture_output=True, text=True, timeout=60)

    def test_requirements_hold_the_packages_and_the_lowest_versions_the_code_needs(self):
        self.assertEqual(REQUIREMENTS, [
            ("torch", "2.5"), ("torchvision", "0.20"), ("numpy", None), ("matplotlib", None),
            ("scikit-learn", None), ("tqdm", None)])

    def test_a_line_it_cannot_check_is_an_error(self):
        for line in ("torch==2.5", "torch>=2.5,<3", "numpy; python_version < '3.12'"):
            with self.subTest(line), self.assertRaisesRegex(ValueError, "line 2"):
                check_env.requirements(f"tqdm\n{line}\n")

    def test_versions_at_or_above_the_lowest_pass_and_are_named(self):
        done = self.check({"torch": "2.14.1+cu128", "torchvision": "0.20.0", "numpy": "1.26.4",
                           "matplotlib": "3.9.0", "scikit-learn": "1.5.1", "tqdm": "4.66.0"})
        self.assertEqual((done.returncode, done.stderr), (0, ""))
        self.assertRegex(done.stdout, r"^check_env: \S+/env/bin/python \(Python 3\.\d+\.\d+\) has "
                         r"torch 2\.14\.1\+cu128, torchvision 0\.20\.0, numpy 1\.26\.4, "
                         r"matplotlib 3\.9\.0, scikit-learn 1\.5\.1, tqdm 4\.66\.0\n$")

    def test_what_is_missing_or_too_old_is_named_with_how_to_install_it(self):
        done = self.check({"torchvision": "0.19.1", "numpy": "2.0", "matplotlib": "3.9.0",
                           "scikit-learn": "1.5.1"})
        self.assertEqual(done.returncode, 1)
        python = self.tmp / "env" / "bin" / "python"
        self.assertEqual(done.stderr.splitlines(), [
            f"check_env: {python} (Python {sys.version.split()[0]}) lacks what this code needs:",
            "  torch: not installed (needs >=2.5)",
            "  torchvision 0.19.1: too old, needs >=0.20",
            "  tqdm: not installed",
            f"Install them into it: {python} -m pip install -r {SRC / 'requirements.txt'}; or "
            "leave out USE_PYTHON, and make builds its own environment, .venv."])

    @unittest.skipUnless(AS_ROOT, "only root runs the submission as another user")
    def test_as_root_a_python_the_sandbox_user_cannot_run_is_named_with_the_fix(self):
        self.tmp.chmod(0o700)
        done = self.check({name: "99" for name, _ in REQUIREMENTS})
        self.assertEqual(done.returncode, 1)
        python = self.tmp / "env" / "bin" / "python"
        self.assertRegex(done.stderr, rf"^check_env: as root, the grader runs the submission as "
                         rf"another user \(uid \d+\), who cannot run {re.escape(str(python))} "
                         r"\(Permission denied\): give make a Python 3\.10 or newer that every "
                         r"user can run, .* or run make as an ordinary user\n$")

    def test_a_conda_environment_is_told_the_conda_command(self):
        (self.tmp / "env" / "conda-meta").mkdir(parents=True)
        done = self.check({})
        self.assertEqual(done.returncode, 1)
        self.assertIn(f"Install them into it: conda env update --prefix {self.tmp / 'env'} "
                      f"--file {SRC / 'environment.yml'}; or leave out USE_PYTHON",
                      done.stderr)

    def test_a_python_older_than_3_10_is_told_so(self):
        with mock.patch.object(sys, "version_info", (3, 9, 18)), \
                mock.patch.object(sys, "version", "3.9.18 (main)"):
            lacking, _ = check_env.problems([])
            self.assertEqual(lacking, ["Python 3.9.18: too old, needs 3.10 or newer"])
            self.assertTrue(check_env.fix(True).startswith("Use a newer Python;"))

    def test_environment_yml_holds_the_packages_of_requirements_txt(self):
        text = (SRC / "environment.yml").read_text()
        dependencies = re.findall(r"^  - (\S+)$", text.split("\ndependencies:\n", 1)[1], re.M)
        self.assertEqual(dependencies[0], "python>=3.10")
        # conda-forge names torch "pytorch"
        conda = [re.sub(r"^pytorch\b", "torch", line) for line in dependencies[1:]]
        self.assertEqual(check_env.requirements("\n".join(conda)), REQUIREMENTS)


# What would change what make runs: the Makefile's variables, set by CI (PYTHON, VENV) or by a
# make that runs these tests (MAKEFLAGS passes its command line's variables on).
MAKE_VARIABLES = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "PYTHON", "VENV", "USE_PYTHON",
                  "TORCH_INDEX", "PARTIAL", "ARGS", "SANDBOX_USER")
# The Python a venv is made from where PYTHON is not given: as root the system's, where it is
# 3.10 or newer
DEFAULT_PYTHON = (system_python() if AS_ROOT else None) or "python3"


def clean_environment() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key not in MAKE_VARIABLES}


class MakefileTest(unittest.TestCase):
    """What ``make -n`` would run (nothing of it runs), in a folder with our Makefile or the
    students' one and the files of the set-up."""

    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.tmp = Path(tmp.name)
        for name in (*CHECK_ENV_FILES, "environment.yml"):
            (self.tmp / "src" / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(SRC / name, self.tmp / "src" / name)

    def make(self, students: bool, *args: str, dry_run: bool = True) -> subprocess.CompletedProcess:
        makefile = (ROOT / "Makefile").read_text()
        (self.tmp / "Makefile").write_text(students_makefile(makefile) if students else makefile)
        return subprocess.run(["make", "--no-print-directory", *(["-n"] if dry_run else []),
                               *args], cwd=self.tmp, capture_output=True, text=True, timeout=60,
                              env=clean_environment())

    def test_use_python_runs_the_check_and_then_that_python_with_no_venv(self):
        for students in (False, True):
            with self.subTest(students=students):
                done = self.make(students, "test", "USE_PYTHON=/opt/env/bin/python")
                self.assertEqual(done.stdout.splitlines()[:3], [
                    "cd src && /opt/env/bin/python -m course.check_env", "cd src && status=0; \\",
                    "  /opt/env/bin/python grader.py || status=1; \\"])
                self.assertNotIn("venv", done.stdout)
                done = self.make(students, "train", "USE_PYTHON=env/bin/python")
                self.assertIn(f"cd src && {self.tmp}/env/bin/python main.py", done.stdout)

    def test_use_python_lacking_packages_stops_with_the_check_s_message(self):
        python = fake_environment(self.tmp / "env", {})
        done = self.make(True, "submission", f"USE_PYTHON={python}", dry_run=False)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("  torch: not installed (needs >=2.5)\n", done.stderr)
        self.assertNotIn("course.make_submission", done.stdout)
        self.assertFalse((self.tmp / ".venv").exists())

    def test_venv_says_what_it_installs_then_installs_from_pypi(self):
        for students in (False, True):
            with self.subTest(students=students):
                venv = self.tmp / "new"
                lines = self.make(students, "venv", f"VENV={venv}").stdout.splitlines()
                self.assertEqual(lines[0],
                                 f"cd src && {DEFAULT_PYTHON} -m course.check_env --venv {venv}")
                self.assertRegex(lines[1], r"^echo \"make venv: installing src/requirements.txt "
                                 rf"into {venv}, made from {DEFAULT_PYTHON}; .*CUDA build: about "
                                 rf"3 GB to download, 6 GB on disk .*TORCH_INDEX={CPU_INDEX}, see "
                                 r"README\)\"$")
                self.assertEqual(lines[2:], [
                    f"{DEFAULT_PYTHON} -m venv --clear {venv}",
                    f"{venv}/bin/python -m pip install -r src/requirements.txt",
                    f"{DEFAULT_PYTHON} -c 'import os, sys; print(os.path.realpath(sys.executable))'"
                    f" >{venv}/installed"])

    def test_torch_index_installs_torch_and_torchvision_from_it_first(self):
        for students in (False, True):
            with self.subTest(students=students):
                venv = self.tmp / "new"
                lines = self.make(students, "venv", f"VENV={venv}",
                                  f"TORCH_INDEX={CPU_INDEX}").stdout.splitlines()
                self.assertEqual(lines[1], f'echo "make venv: installing src/requirements.txt '
                                 f'into {venv}, made from {DEFAULT_PYTHON}; torch and torchvision '
                                 f'from {CPU_INDEX}"')
                self.assertEqual(lines[3:5], [
                    f"{venv}/bin/python -m pip install --index-url {CPU_INDEX} "
                    "$(grep '^torch' src/requirements.txt)",
                    f"{venv}/bin/python -m pip install -r src/requirements.txt"])
        picked = subprocess.run(["grep", "^torch", "src/requirements.txt"], cwd=self.tmp,
                                capture_output=True, text=True, check=True).stdout
        self.assertEqual(check_env.requirements(picked), REQUIREMENTS[:2])

    def stamped_venv(self, made_from: str) -> Path:
        """A venv folder whose stamp says it was made from ``made_from``, newer than
        requirements.txt."""
        venv = self.tmp / "venv"
        venv.mkdir()
        (venv / "pyvenv.cfg").write_text("home = /nowhere\n")
        (venv / "installed").write_text(f"{made_from}\n")
        return venv

    def test_a_python_given_that_made_another_venv_makes_it_again(self):
        python = sys.executable
        venv = self.stamped_venv("/opt/another/bin/python3.9")
        for students in (False, True):
            with self.subTest(students=students):
                lines = self.make(students, "venv", f"VENV={venv}",
                                  f"PYTHON={python}").stdout.splitlines()
                self.assertEqual(lines[0], f"cd src && {python} -m course.check_env --venv {venv}")
                self.assertIn(f"{python} -m venv --clear {venv}", lines)
                # without PYTHON, the venv there is kept, whatever it was made from
                self.assertEqual(self.make(students, "venv", f"VENV={venv}").stdout,
                                 "make: Nothing to be done for 'venv'.\n")

    def test_the_python_that_made_the_venv_keeps_it(self):
        venv = self.stamped_venv(which_python(sys.executable))
        done = self.make(False, "venv", f"VENV={venv}", f"PYTHON={sys.executable}")
        self.assertEqual((done.returncode, done.stdout),
                         (0, "make: Nothing to be done for 'venv'.\n"))

    def test_sandbox_user_reaches_every_grader_call_and_the_checks(self):
        for students in (False, True):
            with self.subTest(students=students):
                made = self.make(students, "test", "venv", "submission", "VENV=new",
                                 "SANDBOX_USER=none").stdout
                self.assertIn(f"--venv {self.tmp}/new --sandbox-user none\n", made)
                self.assertIn(" grader.py --sandbox-user none || status=1;", made)
                self.assertIn("course.make_submission --sandbox-user none\n", made)
                used = self.make(students, "test", "USE_PYTHON=/opt/env/bin/python",
                                 "SANDBOX_USER=20000-20009").stdout
                self.assertTrue(used.startswith("cd src && /opt/env/bin/python -m course.check_env "
                                                "--sandbox-user 20000-20009\n"), used)
        staff = self.make(False, "release", "VENV=new", "SANDBOX_USER=none").stdout
        self.assertIn("course.make_release --sandbox-user none\n", staff)

    def test_the_venv_and_a_training_run_are_removed_apart(self):
        (self.tmp / ".venv").mkdir()
        (self.tmp / "src" / "maf").mkdir()
        done = self.make(True, "clean-venv", dry_run=False)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual([(self.tmp / ".venv").exists(), (self.tmp / "src/maf").exists()],
                         [False, True])
        self.make(True, "clean-train", dry_run=False)
        self.assertFalse((self.tmp / "src/maf").exists())


@unittest.skipUnless(AS_ROOT, "only root runs the submission as another user")
class BeforeTheVenvTest(unittest.TestCase):
    """make venv as root, for real: a Python or a folder that the sandbox's user cannot reach
    stops it at once, in one line naming the fix, before anything is made or installed."""

    def setUp(self):
        tmp = tempfile.TemporaryDirectory()  # root's alone
        self.addCleanup(tmp.cleanup)
        self.tmp = Path(tmp.name)
        for name in CHECK_ENV_FILES:
            (self.tmp / "repo" / "src" / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(SRC / name, self.tmp / "repo" / "src" / name)
        shutil.copy(ROOT / "Makefile", self.tmp / "repo" / "Makefile")

    def make_venv(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["make", "--no-print-directory", "venv", *args],
                              cwd=self.tmp / "repo", capture_output=True, text=True, timeout=60,
                              env=clean_environment())

    def test_a_python_in_a_private_folder_stops_it_with_the_fix(self):
        python = unreachable_python(self.tmp)
        done = self.make_venv(f"PYTHON={python}", f"VENV={self.tmp / 'venv-new'}")
        self.assertNotEqual(done.returncode, 0)
        (line,) = done.stderr.splitlines()[:1]
        self.assertRegex(line, rf"^make venv: as root, the grader runs the submission as "
                         rf"another user \(uid \d+\), who cannot run {re.escape(str(python))} "
                         r"\(Permission denied\): give make a Python 3\.10 or newer that every "
                         r"user can run, .*\(PYTHON=/usr/bin/python3 on Debian and Ubuntu\)")
        self.assertNotIn("make venv: installing", done.stdout)
        self.assertFalse((self.tmp / "venv-new").exists())

    def test_a_venv_in_a_private_folder_stops_it_with_the_fix(self):
        python = system_python()
        if python is None:
            self.skipTest("no /usr/bin/python3 of 3.10 or newer")
        venv = self.tmp / "private" / "venv"
        done = self.make_venv(f"PYTHON={python}", f"VENV={venv}")
        self.assertNotEqual(done.returncode, 0)
        self.assertTrue(done.stderr.startswith(
            "make venv: as root, the grader runs the submission as another user"), done.stderr)
        self.assertIn(f"who cannot reach {self.tmp}, where {venv} goes: make the venv where "
                      "every user can reach it (VENV=/var/tmp/maf-gan-venv)", done.stderr)
        self.assertFalse(venv.parent.exists())

    def test_a_folder_that_is_not_a_venv_is_never_cleared(self):
        python = system_python()
        if python is None:
            self.skipTest("no /usr/bin/python3 of 3.10 or newer")
        mine = self.tmp / "repo" / "mine"
        mine.mkdir()
        (mine / "notes.txt").write_text("keep me")
        done = self.make_venv(f"PYTHON={python}", "VENV=mine")
        self.assertIn(f"make venv: {self.tmp}/repo/mine holds files and no virtual environment",
                      done.stderr)
        self.assertEqual([path.name for path in mine.iterdir()], ["notes.txt"])


if __name__ == "__main__":
    unittest.main()
