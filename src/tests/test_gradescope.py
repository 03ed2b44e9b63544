"""The Gradescope bundle end to end: autograder.zip from make_autograder.py, run as Gradescope
runs it (run_autograder in a temporary root, the upload in root/submission), on uploads made
from src/submission/: whole, loose, nested, blanked, incomplete, broken, hanging, crashing,
printing; the command of the course staff's README (course/README.md) that runs it by hand,
and the bundle's files and size as it gives them; what setup.sh installs (the versions the
bundle pins), and the versions that graded, in the results for staff."""

import importlib.machinery
import importlib.util
import json
import os
import platform
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest
import zipfile
from importlib import metadata
from pathlib import Path

from course import check_env, make_autograder, make_submission, manifest
from tests.submissions import blanked, files, reference, replace_block, unreachable_python, write

README = (make_autograder.SRC / "course" / "README.md").read_text()  # the course staff's
POINTS = json.loads((make_autograder.SRC / manifest.POINTS).read_text())
GRADED = sorted(test for test, value in POINTS.items() if value > 0)
FLOW = [test for test in GRADED if test.startswith("1")]
GAN = [test for test in GRADED if not test.startswith("1")]
PACKAGES = [name for name, _ in check_env.requirements(check_env.REQUIREMENTS.read_text())]
ENVIRONMENT = "environment"  # the number of the entry for staff that names the versions
AS_ROOT = sys.platform.startswith("linux") and os.geteuid() == 0


def run_autograder_module():
    """course/gradescope/run_autograder, imported as a module (it has no .py suffix)."""
    path = str(make_autograder.SRC / manifest.GRADESCOPE["run_autograder"])
    loader = importlib.machinery.SourceFileLoader("run_autograder", path)
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module


def readme_section(heading: str) -> str:
    """The text of course/README.md from the line holding ``heading`` to the next section."""
    start = README.index(heading)
    end = README.find("\n## ", start)
    return README[start:end if end >= 0 else len(README)]


def readme_block(after: str) -> str:
    """The first fenced block of course/README.md after the text ``after``."""
    match = re.compile(r"^```\n(.*?)^```$", re.S | re.M).search(README, README.index(after))
    return match[1]


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
        tests = [test for test in results["tests"] if test["number"] != ENVIRONMENT]
        self.assertEqual(len(results["tests"]) - len(tests), 1, "no entry naming the versions")
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
                             sorted([*make_autograder.BUNDLE, *make_autograder.WRITTEN]))
            for script in ("setup.sh", "run_autograder"):
                text = bundle.read(script)
                self.assertTrue(text.startswith(b"#!"), f"{script} has no shebang")
                self.assertNotIn(b"\r\n", text, f"{script} has Windows line endings")
                self.assertEqual(bundle.getinfo(script).external_attr >> 16 & 0o111, 0o111)
        self.assertFalse(any(name.startswith("submission") for name in make_autograder.BUNDLE))
        # the size the README gives
        (kilobytes,) = re.findall(r"autograder\.zip \(under (\d+) KB\)", README)
        self.assertLess(self.bundle.stat().st_size, int(kilobytes) * 1000)

    def test_the_readme_lists_the_bundle_s_files(self):
        """The README's list of what the bundle holds (each item's names before its colon;
        `GRADER` standing for the manifest's list) is what the zip holds."""
        section = readme_section("## The Gradescope bundle")
        items = section[re.search(r"It holds,\s+at its root:", section).end():]
        items = items[:items.index("\n\n", items.index("\n- "))]
        listed = [name for line in items.splitlines() if line.startswith("- ")
                  for name in re.findall(r"`([^`]+)`", line.partition(":")[0])]
        listed = [path for name in listed
                  for path in (manifest.GRADER if name == "GRADER" else [name])]
        with zipfile.ZipFile(self.bundle) as bundle:
            self.assertEqual(sorted(listed), sorted(bundle.namelist()))

    def test_the_bundle_pins_the_students_packages_at_this_environment_s_versions(self):
        with zipfile.ZipFile(self.bundle) as bundle:
            lock = bundle.read("requirements.lock").decode()
        comments = [line for line in lock.splitlines() if line.startswith("#")]
        self.assertIn(f"(Python {platform.python_version()})", "\n".join(comments))
        # without a local label such as +cu128, so that the CPU build of the version matches
        self.assertEqual([line for line in lock.splitlines() if not line.startswith("#")],
                         [f"{name}=={metadata.version(name).split('+')[0]}"
                          for name in PACKAGES])

    def test_setup_sh_installs_the_pinned_versions_torch_from_the_cpu_index(self):
        """setup.sh run for real, in a root of its own, with apt-get, the venv and pip stood in
        for (no network): what it asks pip to install."""
        work = self.tmp / "setup"
        stubs, root = work / "stubs", work / "root"
        stubs.mkdir(parents=True)
        with zipfile.ZipFile(self.bundle) as bundle:
            bundle.extractall(root / "source")
        pip_log = work / "pip.log"
        scripts = {
            "apt-get": "exit 0",
            # `python3 -m venv DIR`: a venv whose pip notes its arguments and whose python is
            # this one; anything else goes to this Python
            "python3": f'if [ "$1 $2" = "-m venv" ]; then mkdir -p "$3/bin"\n'
                       f'  printf \'#!/bin/sh\\necho "$*" >>{pip_log}\\n\' >"$3/bin/pip"\n'
                       f'  printf \'#!/bin/sh\\nexec {sys.executable} "$@"\\n\' >"$3/bin/python"\n'
                       f'  chmod +x "$3/bin/pip" "$3/bin/python"; exit 0; fi\n'
                       f'exec {sys.executable} "$@"',
        }
        for name, body in scripts.items():
            (stubs / name).write_text(f"#!/bin/sh\n{body}\n")
            (stubs / name).chmod(0o755)
        env = {**os.environ, "PATH": f"{stubs}:{os.environ['PATH']}",
               "AUTOGRADER_ROOT": str(root)}
        done = subprocess.run(["bash", str(root / "source" / "setup.sh")], env=env,
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        lock = root / "source" / "requirements.lock"
        pins = [line for line in lock.read_text().splitlines() if not line.startswith("#")]
        self.assertEqual(pip_log.read_text().splitlines(), [
            "install --quiet --upgrade pip",
            "install --quiet --index-url https://download.pytorch.org/whl/cpu "
            f"{pins[0]} {pins[1]}",
            f"install --quiet -r {lock}"])
        self.assertEqual([pin.split("==")[0] for pin in pins[:2]], ["torch", "torchvision"])
        self.assertIn("made the bundle", done.stdout)

    def test_results_name_the_versions_that_graded_for_staff_alone(self):
        (entry,) = [test for test in self.results["zip"]["tests"]
                    if test["number"] == ENVIRONMENT]
        self.assertEqual((entry["visibility"], entry["score"], entry["max_score"]),
                         ("hidden", 0, 0))
        versions = ", ".join(f"{name} {metadata.version(name)}" for name in PACKAGES)
        self.assertEqual(entry["output"], f"Graded with Python {platform.python_version()}: "
                         f"{versions}.\nThe versions that requirements.lock pins.")

    def test_versions_other_than_the_pins_are_named(self):
        run_autograder = run_autograder_module()
        run_autograder.PYTHON = sys.executable
        source = self.tmp / "other pins"
        source.mkdir()
        (source / "requirements.lock").write_text("# made elsewhere\nnumpy==0.0.1\n"
                                                  "tqdm==" + metadata.version("tqdm") + "\n"
                                                  "no-such-package==1.0\n")
        output = run_autograder.environment_entry(source)["output"]
        self.assertEqual(output.splitlines()[1], "requirements.lock pins otherwise: numpy 0.0.1, "
                         "no-such-package 1.0.")
        self.assertIn(f"numpy {metadata.version('numpy')}, tqdm ", output)
        self.assertIn("no-such-package (not installed).", output)

    def test_the_readme_s_command_runs_the_bundle_from_the_top_folder(self):
        """The README's lines, as written, in a folder laid out as the repository's top folder
        is after make autograder and make submission, with .venv this Python's environment."""
        top = self.tmp / "top folder"
        top.mkdir()
        top.chmod(0o755)  # as root, the sandbox's user must reach .venv through it
        self.tmp.chmod(0o755)
        shutil.copy(self.bundle, top / "autograder.zip")
        make_submission.write_zip(top / "submission.zip")
        if sys.prefix != sys.base_prefix:  # a venv: the whole of it, so that it finds its packages
            (top / ".venv").symlink_to(sys.prefix)
        else:
            (top / ".venv" / "bin").mkdir(parents=True)
            (top / ".venv" / "bin" / "python").symlink_to(sys.executable)
        env = {key: value for key, value in os.environ.items()
               if not key.startswith("AUTOGRADER_") and key != "PYTHONPATH"}
        done = subprocess.run(["bash", "-euo", "pipefail", "-c",
                               readme_block("To run the bundle by hand")],
                              cwd=top, env=env, capture_output=True, text=True, timeout=300)
        self.assertEqual(done.returncode, 0, done.stderr[-3000:])
        results = json.loads((top / "autograder-root" / "results" / "results.json").read_text())
        self.check_listed(results)
        self.assert_full(results, GRADED)

    def test_submission_zip_gets_full_points(self):
        results = self.grade("zip")
        self.assert_full(results, GRADED)
        self.assertIn("Graded the files found in submission/ of submission.zip.",
                      results["output"])

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
            self.assertEqual(run.returncode, 3)
            self.assertRegex(run.stderr, r"(?m)^grader set-up problem: the sandbox user, "
                             r".* cannot read ")
            self.assertIn("run_autograder: the grader could not start its sandbox", run.stderr)
            self.assertFalse((work / "root" / "results" / "results.json").exists())
        finally:
            shutil.rmtree(work)


@unittest.skipUnless(AS_ROOT, "only root runs the submission as another user")
class SetupProblemTest(unittest.TestCase):
    def test_make_autograder_names_a_set_up_problem_in_one_line(self):
        with tempfile.TemporaryDirectory() as tmp:  # root's alone
            python = unreachable_python(Path(tmp))
            out = Path(tmp) / "autograder.zip"
            done = subprocess.run([str(python), "-m", "course.make_autograder", "--out", str(out)],
                                  cwd=make_autograder.SRC, capture_output=True, text=True,
                                  timeout=300)
            self.assertEqual(done.returncode, 1)
            self.assertRegex(done.stderr, rf"^{re.escape(str(out))} not written: grader set-up "
                             r"problem: the sandbox user, .* cannot read [^\n]*\n$")
            self.assertFalse(out.exists())


if __name__ == "__main__":
    unittest.main()
