"""Nothing of one test's child outlives its test, and no child can hurt the sandbox that
removes what it left (issue 23, items 2, 6 and 7).

Each hostile upload has the identity as MADE.forward (wrong), with an attack in it: a log
that tells a child whether an earlier child ran (it then answers with the right forward, so
that any leak between children gains points), files and folders wherever every user can
write, a 3,000-level tree with closed folders and odd names, zombies, a process left
running. Graded through the local grader as root and, where the bundle matters, through the
Gradescope bundle, it must gain no point over the same upload without the attack, end with
every verdict and its summary last, and leave no file or process behind. As on a laptop (the
grader itself an ordinary user) grading must still finish.
"""

import os
import re
import secrets
import tempfile
import unittest
from pathlib import Path

from common import processes
from course import make_autograder
from judge import launch
from tests.submissions import body_of, files, grade, reference, replace_block, write

ROOT = os.geteuid() == 0
LINUX = Path("/proc/self").is_dir()
TESTS = ("1a-0-basic", "1a-1-hidden", "1a-2-hidden", "1a-3-hidden", "1b-0-basic",
         "2b-0-basic")
FORWARD = [test for test in TESTS if test.startswith("1a")]  # each calls MADE.forward
WRONG = "return z.clone(), z.new_zeros(len(z))"
# Folders every user can write on any Linux system (the grader also finds the others).
SHARED = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")
MARK = f"leak{secrets.token_hex(4)}"  # in the name of everything the uploads leave
SLEEP = f"{9000 + secrets.randbelow(900)}.25"  # the seconds of the process an upload leaves

# MADE.forward's attacks, before the identity; ``seen`` true makes it answer right instead.
ORACLE = f"""
import os
seen = False
for where in {SHARED!r} + (os.environ.get("HOME", "."),):
    try:
        seen = seen or any(name.startswith("{MARK}") for name in os.listdir(where))
        log = os.path.join(where, "{MARK}-" + str(os.getpid()))
        with open(log, "w") as opened:
            opened.write("a child ran here")
        os.chmod(log, 0o666)
        shared = os.path.join(where, "{MARK}-shared")
        os.makedirs(shared, exist_ok=True)
        os.chmod(shared, 0o1777)
    except OSError:
        pass
"""
LITTER = f"""
import os, subprocess
for where in {SHARED!r}:
    for name in ("{MARK}-file", "{MARK}-odd\\nname\\udcff", "{MARK}-dir"):
        try:
            path = os.path.join(where, name)
            if name.endswith("dir"):
                os.makedirs(os.path.join(path, "inner"), exist_ok=True)
                open(os.path.join(path, "inner", "data"), "wb").write(b"x" * 4096)
                os.chmod(os.path.join(path, "inner"), 0)
            else:
                open(path, "wb").write(b"x" * 4096)
            os.symlink("/etc/hostname", os.path.join(where, "{MARK}-link-" + str(os.getpid())))
            os.mkfifo(os.path.join(where, "{MARK}-fifo-" + str(os.getpid())))
        except OSError:
            pass
subprocess.Popen(["sleep", "{SLEEP}"], start_new_session=True)
"""
# Once per child: a 3,000-level tree in its folder, with odd names and links out, its top
# closed (chmod 000); then it names its parent, the sandbox, which must live on.
DEEP = f"""
import builtins, os
for where in () if hasattr(builtins, "deep_made") else (".",):
    top = os.open(where, os.O_RDONLY)
    try:
        os.mkdir("{MARK}-deep", dir_fd=top)
        folder = os.open("{MARK}-deep", os.O_RDONLY, dir_fd=top)
        for level in range(3000):
            name = "d\\n\\udcfe" if level % 2 else "d"
            os.mkdir(name, dir_fd=folder)
            if level % 100 == 0:
                os.symlink("/", "up", dir_fd=folder)
            inner = os.open(name, os.O_RDONLY, dir_fd=folder)
            os.close(folder)
            folder = inner
        os.close(folder)
        os.chmod("{MARK}-deep", 0, dir_fd=top)
    except OSError:
        pass
    finally:
        os.close(top)
builtins.deep_made = True
raise RuntimeError(f"sandbox {{os.getppid()}}")
"""
# Once per child: 40 zombies, left to the sandbox when the child ends; two children's are more
# than the process limit of one uid.
ZOMBIES = """
import builtins, os
from pathlib import Path
if not hasattr(builtins, "zombies_made"):
    builtins.zombies_made = True
    sandbox = os.getppid()
    zombies = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        zombies += fields[0] == "Z" and int(fields[1]) == sandbox
    if zombies:
        raise RuntimeError(f"{zombies} ZOMBIES of the sandbox met this child")
    for _ in range(40):
        if os.fork() == 0:
            os._exit(0)
"""


def attacked(*attacks: str, given_code_changed: bool = False) -> dict[str, str]:
    """The identity as MADE.forward after ``attacks``; where an attack sets ``seen``, the
    right forward then. ``given_code_changed``: one line of given code changed too, which has
    the grader grade the hand-in quietly with the starter's given code first."""
    code = "\n".join(attack.strip() for attack in attacks)
    if "seen = " in code:
        right = body_of(reference("flow_network.py"), "forward").replace("\n", "\n    ")
        code += f"\nif seen:\n    {right}"
    source = replace_block(reference("flow_network.py"), "forward", f"{code}\n{WRONG}".strip())
    if given_code_changed:
        source += "\nGIVEN_CODE_CHANGED = True\n"
    return files(flow_network=source)


def left_behind() -> list[str]:
    """What of the uploads is still there: files anywhere every user can write, processes."""
    found = []
    folders = {*processes.writable_folders(), *SHARED}
    for folder in folders:
        try:
            found += [os.path.join(folder, name) for name in os.listdir(folder) if MARK in name]
        except OSError:
            pass
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if SLEEP.encode() in cmdline.read_bytes():
                found.append(f"process {cmdline.parent.name}")
        except OSError:
            pass
    return found


@unittest.skipUnless(LINUX, "the sandbox forks a child per test on Linux only")
class NothingOutlivesATestTest(unittest.TestCase):
    """Through the local grader (as root, the children as uids of their own; and as on a
    laptop) and through the Gradescope bundle."""

    baselines: dict = {}

    def setUp(self):
        self.addCleanup(self.assert_nothing_left)

    def assert_nothing_left(self):
        self.assertEqual(left_behind(), [], "the upload left these behind")

    def graded(self, upload: dict[str, str], mode: str) -> tuple[dict, str]:
        """Each test's (score, first line of its reason) and what the grader printed, with
        every verdict and the summary last."""
        errors = []
        _, printed, results = grade(upload, *TESTS, sandbox_user=mode, errors=errors)
        self.assertRegex(printed.splitlines()[-1], r"^\d+ passed, \d+ failed$")
        self.assertNotIn("Traceback", errors[0], "the sandbox or the judge failed")
        verdicts = {test["number"]: (test["score"], test["output"].split("\n")[0])
                    for test in results["tests"]}
        self.assertEqual(sorted(verdicts), sorted(TESTS), "the results list every test")
        return verdicts, printed

    def check(self, upload: dict[str, str], mode: str, deep: bool = False) -> str:
        """Grades ``upload`` in ``mode``: every verdict, the summary last, each the same as
        without the attack (so no point gained); returns what the grader printed. ``deep``:
        DEEP is among the attacks, and each test of MADE.forward fails instead, naming the
        sandbox (or timing out: thousands of folders take seconds on a busy machine), one
        sandbox for all: none died removing a tree."""
        if mode not in self.baselines:
            self.baselines[mode] = self.graded(attacked(), mode)[0]
        verdicts, printed = self.graded(upload, mode)
        baseline = self.baselines[mode]
        if deep:
            sandboxes = set()
            for test in FORWARD:
                score, reason = verdicts.pop(test)
                self.assertEqual(score, 0)
                if reason != "timed out after 5 seconds":
                    sandboxes.add(re.fullmatch(r"\[.*\] RuntimeError: sandbox (\d+)", reason)[1])
            self.assertLessEqual(len(sandboxes), 1, "the sandbox died and was started again")
            self.assertGreater(len(sandboxes), 0, "every test timed out: no sandbox named")
            baseline = {test: verdict for test, verdict in baseline.items() if test in verdicts}
        self.assertEqual({test: score for test, (score, _) in verdicts.items()
                          if score > baseline[test][0]}, {}, "points gained by the attack")
        self.assertEqual(verdicts, baseline, "the attack changed a verdict")
        self.assertEqual([self.baselines[mode][test][0] for test in FORWARD], [0] * len(FORWARD))
        return printed

    @unittest.skipUnless(ROOT, "only root runs each test's child as a uid of its own")
    def test_no_child_learns_of_an_earlier_one(self):
        self.check(attacked(ORACLE), "auto")

    @unittest.skipUnless(ROOT, "only root runs each test's child as a uid of its own")
    def test_the_quiet_run_with_the_given_code_leaks_nothing_to_the_run_that_counts(self):
        printed = self.check(attacked(ORACLE, given_code_changed=True), "auto")
        self.assertIn("with the starter's given code around your blocks", printed,
                      "the changed line of given code has the grader run the hand-in quietly")

    @unittest.skipUnless(ROOT, "only root runs each test's child as a uid of its own")
    def test_files_left_anywhere_are_removed_with_their_test(self):
        self.check(attacked(ORACLE, LITTER), "auto")

    def test_a_3000_level_tree_of_closed_folders_is_removed(self):
        for mode in ("auto", "none") if ROOT else ("none",):
            with self.subTest(mode=mode):
                self.check(attacked(DEEP), mode, deep=True)

    def test_zombies_are_reaped_before_the_next_child_starts(self):
        for mode in ("auto", "none") if ROOT else ("none",):
            with self.subTest(mode=mode):
                self.check(attacked(ZOMBIES), mode)

    def test_as_a_laptop_grading_finishes_whatever_the_child_left(self):
        # Not the log of ORACLE: on a laptop the grader cannot tell the child's files in /tmp
        # from the user's, and a student who grades at home sees every verdict anyway. DEEP
        # as a laptop: test_a_3000_level_tree_of_closed_folders_is_removed.
        self.check(attacked(LITTER, ZOMBIES), "none")

    @unittest.skipUnless(ROOT, "Gradescope runs the bundle as root")
    def test_through_the_bundle_every_attack_gains_nothing_and_leaves_nothing(self):
        tmp = Path(tempfile.mkdtemp())
        self.addCleanup(processes.remove_path, tmp)
        make_autograder.write_bundle(tmp / "autograder.zip")
        scores = {}
        for name, upload in (("plain", attacked()),
                             ("attacked", attacked(ORACLE, LITTER, ZOMBIES,
                                                   given_code_changed=True))):
            write(tmp / name / "upload", upload)
            results = make_autograder.run_bundle(tmp / "autograder.zip", tmp / name / "upload",
                                                 tmp / name / "root")
            scores[name] = {test["number"]: test["score"] for test in results["tests"]}
            self.assertNotIn("ran out of time", results["output"])
        self.assertEqual(sorted(scores["attacked"]), sorted(scores["plain"]))
        self.assertEqual({test: score for test, score in scores["attacked"].items()
                          if score > scores["plain"][test]}, {}, "points gained by the attack")
        self.assertEqual([scores["attacked"][test] for test in FORWARD], [0] * len(FORWARD))


@unittest.skipUnless(LINUX, "the remover works on file descriptors of Linux")
class RemoveTreeTest(unittest.TestCase):
    """processes.remove_tree on its own: any depth, closed folders, odd names, links."""

    def test_deep_closed_and_oddly_named_trees_go_and_links_are_not_followed(self):
        top = Path(f"/tmp/{MARK}-remover")
        top.mkdir()
        self.addCleanup(processes.remove_path, top)
        outside = top / "outside"
        outside.mkdir()
        (outside / "kept").write_text("not the tree's")
        folder = os.open(top, os.O_RDONLY)
        os.mkdir("tree", dir_fd=folder)
        for level in range(3000):
            os.symlink(str(outside), "link", dir_fd=folder)
            name = "tree" if level == 0 else b"\xff\n d".decode(errors="surrogateescape")
            if level:
                os.mkdir(name, dir_fd=folder)
            inner = os.open(name, os.O_RDONLY, dir_fd=folder)
            os.close(folder)
            folder = inner
        os.close(folder)
        for index in range(50):
            (top / "tree" / f"closed {index}").mkdir()
            (top / "tree" / f"closed {index}" / "file").write_text("x")
            (top / "tree" / f"closed {index}").chmod(0)
        (top / "tree").chmod(0)
        self.assertTrue(processes.remove_path(top / "tree"))
        self.assertFalse((top / "tree").exists())
        self.assertEqual((outside / "kept").read_text(), "not the tree's")

    def test_files_of_other_owners_in_shared_folders_stay(self):
        uids = processes.unused_uids(2) if ROOT else None
        if uids is None:
            self.skipTest("only root makes files of other uids")
        paths = {uid: Path(f"/tmp/{MARK}-owner-{uid}") for uid in uids}
        for uid, path in paths.items():
            path.write_text(str(uid))
            os.chown(path, uid, uid)
            self.addCleanup(path.unlink, missing_ok=True)
        self.assertEqual(processes.remove_files_of(range(uids.start, uids.start + 1), ["/tmp"]),
                         [])
        self.assertFalse(paths[uids.start].exists())
        self.assertTrue(paths[uids.start + 1].exists())


@unittest.skipUnless(LINUX and ROOT, "only root runs the submission as other users")
class NoChildRunsAsRootTest(unittest.TestCase):
    def test_sandbox_user_none_is_refused_as_root_in_one_line(self):
        with self.assertRaises(processes.SetupError) as refused:
            launch.choose_users("none")
        self.assertEqual(len(str(refused.exception).splitlines()), 1)

    def test_each_question_has_a_uid_of_its_own_that_no_one_uses(self):
        pool = launch.choose_users("auto")
        users = [pool.take() for _ in range(100)]
        self.assertEqual(len({user.uid for user in users}), 100)
        self.assertNotIn(0, {user.uid for user in users} | {user.gid for user in users})
        used = {uid for _, _, uid, _ in processes.processes()}
        self.assertEqual({user.uid for user in users} & used, set())


if __name__ == "__main__":
    unittest.main()
