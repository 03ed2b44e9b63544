"""The child that runs a submission is contained by construction: it reads nothing of the
judge's, writes nothing but its own test's folder, and cannot have the kernel signal the judge.

Two layers of ``confine.enter`` are tested here, first on their own in a forked process, then
through the grader as a student would attack it: the seccomp filter refuses the commands that
make the kernel signal a file's owner (``F_SETOWN``, ``F_SETOWN_EX``, ``F_SETSIG``; the socket
ioctls ``FIOSETOWN`` and ``SIOCSPGRP``), and the Landlock layer (where the kernel has it)
leaves the child the Python installation to read and its own folder to write, nothing else:
not the grader's folder, nor the checkout it came from, nor /tmp, nor other processes' /proc.
Attacks run through the local grader as root (the submission then runs as a user of its own)
and as on a laptop (``--sandbox-user none``), and the attacks on the judge's files through the
Gradescope bundle as root too.
"""

import ctypes
import errno
import fcntl
import json
import os
import platform
import shutil
import socket
import struct
import sys
import tempfile
import unittest
import uuid
from pathlib import Path

from common import processes
from course import make_autograder
from sandbox import confine
from tests.submissions import SRC, files, grade, reference, replace_block, write
from tests.test_hostile import MODES, ROOT, TESTS, WRONG, judges_own_lines

LINUX = platform.system() == "Linux"
FILTERED = LINUX and platform.machine() in confine._SYSCALLS
LANDLOCK = LINUX and confine.landlock_abi() > 0
SIGNAL_SCOPE = LINUX and confine.landlock_abi() >= 6
F_SETOWN, F_SETSIG, F_SETOWN_EX, F_OWNER_PID = 8, 10, 15, 1
FIOSETOWN, SIOCSPGRP, FIOASYNC = 0x8901, 0x8902, 0x5452


def in_child(probe, *arguments) -> dict:
    """What ``probe(*arguments)`` returns (a JSON-able dict) when run in a forked child of
    this process; its exception's text under "error" if it raised."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            try:
                found = probe(*arguments)
            except BaseException as error:
                found = {"error": f"{type(error).__name__}: {error}"}
            os.write(write_end, json.dumps(found).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as answer:
        found = json.loads(answer.read() or b'{"error": "no answer"}')
    os.waitpid(pid, 0)
    return found


def enter_as_child(folder: str) -> None:
    """Confines this forked process as a test's child is confined: as root, under a fresh
    unprivileged uid that owns ``folder`` (no child runs as root); else as this user."""
    user = None
    if os.geteuid() == 0:
        uid = processes.unused_uids(1).start
        user = processes.SandboxUser(uid, uid)
        os.chown(folder, uid, uid)
    confine.enter(user, 10, Path(folder))


def _outcome(action) -> str:
    """"done" if ``action()`` succeeds, else the name of the error it raises."""
    try:
        action()
        return "done"
    except OSError as error:
        return type(error).__name__


def signalling_commands(folder: str) -> dict:
    """Confined as a test's child, tries to name the parent the owner of a pipe and of a socket
    and to choose their signal; and the commands of fcntl and ioctl that Python uses."""
    enter_as_child(folder)
    parent = os.getppid()
    read_end, write_end = os.pipe()
    one, other = socket.socketpair()
    with one, other:
        return {
            "F_SETOWN": _outcome(lambda: fcntl.fcntl(read_end, F_SETOWN, parent)),
            "F_SETOWN_EX": _outcome(lambda: fcntl.fcntl(read_end, F_SETOWN_EX,
                                                        struct.pack("ii", F_OWNER_PID, parent))),
            "F_SETSIG": _outcome(lambda: fcntl.fcntl(read_end, F_SETSIG, 19)),
            "FIOSETOWN": _outcome(lambda: fcntl.ioctl(one, FIOSETOWN, struct.pack("i", parent))),
            "SIOCSPGRP": _outcome(lambda: fcntl.ioctl(one, SIOCSPGRP, struct.pack("i", parent))),
            "F_SETFL": _outcome(lambda: fcntl.fcntl(read_end, fcntl.F_SETFL, os.O_NONBLOCK)),
            "F_GETFL": _outcome(lambda: fcntl.fcntl(write_end, fcntl.F_GETFL)),
            "FIOASYNC": _outcome(lambda: fcntl.ioctl(other, FIOASYNC, struct.pack("i", 0))),
        }


def ipc_objects(folder: str) -> dict:
    """Confined as a test's child, tries to make the System V IPC objects and the POSIX message
    queue that would outlive it (and so carry a verdict to the next test's child)."""
    enter_as_child(folder)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mq_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.c_void_p]
    made = {"shmget": lambda: libc.shmget(0x2323, 4096, 0o1666),
            "semget": lambda: libc.semget(0x2323, 1, 0o1666),
            "msgget": lambda: libc.msgget(0x2323, 0o1666),
            "mq_open": lambda: libc.mq_open(b"/verdicts", os.O_CREAT | os.O_RDWR, 0o666, None)}
    found = {}
    for name, make in made.items():
        ctypes.set_errno(0)
        found[name] = "done" if make() != -1 else errno.errorcode[ctypes.get_errno()]
    return found


def reach(folder: str, mark: str) -> dict:
    """Confined as a test's child, tries to read the judge's files and other processes' /proc
    and to write outside ``folder`` (files named ``mark``); and what the child needs."""
    enter_as_child(folder)
    import torch

    judge, python = confine.hidden_folder(), Path(sys.prefix)
    return {
        "read grader.py": _outcome(lambda: (judge / "grader.py").read_bytes()),
        "read graderUtil.py": _outcome(lambda: (judge / "graderUtil.py").read_bytes()),
        "read points.json": _outcome(lambda: (judge / "judge" / "points.json").read_bytes()),
        "list the grader's folder": _outcome(lambda: os.listdir(judge)),
        "read the parent's /proc": _outcome(lambda: Path(f"/proc/{os.getppid()}/stat")
                                            .read_bytes()),
        "write the venv": _outcome(lambda: (python / mark).write_text("x")),
        "write the grader's folder": _outcome(lambda: (judge / mark).write_text("x")),
        "write /tmp": _outcome(lambda: (Path("/tmp") / mark).write_text("x")),
        "write its folder": _outcome(lambda: (Path(folder) / mark).write_text("x")),
        "read torch": _outcome(lambda: Path(torch.__file__).read_bytes()),
        "write /dev/null": _outcome(lambda: Path(os.devnull).write_text("x")),
    }


def signal_parent() -> dict:
    """Under the Landlock layer alone (no seccomp filter), tries to signal the parent."""
    confine.restrict_files(None)
    return {"kill": _outcome(lambda: os.kill(os.getppid(), 0))}


@unittest.skipUnless(FILTERED, "the seccomp filter exists on Linux x86_64 and aarch64 only")
class SeccompFilterTest(unittest.TestCase):
    def test_no_command_makes_the_kernel_signal_another_process(self):
        with tempfile.TemporaryDirectory() as folder:
            found = in_child(signalling_commands, folder)
        refused = ("F_SETOWN", "F_SETOWN_EX", "F_SETSIG", "FIOSETOWN", "SIOCSPGRP")
        self.assertEqual({name: found.get(name) for name in refused},
                         dict.fromkeys(refused, "PermissionError"), found)
        allowed = ("F_SETFL", "F_GETFL", "FIOASYNC")
        self.assertEqual({name: found.get(name) for name in allowed},
                         dict.fromkeys(allowed, "done"), found)

    def test_no_ipc_object_outlives_the_child(self):
        with tempfile.TemporaryDirectory() as folder:
            found = in_child(ipc_objects, folder)
        self.assertEqual(found, dict.fromkeys(("shmget", "semget", "msgget", "mq_open"), "EPERM"))


@unittest.skipUnless(LANDLOCK, "this kernel has no Landlock (sandbox/CONTRACT.md says what "
                     "holds then)")
class LandlockLayerTest(unittest.TestCase):
    def test_the_child_reads_python_and_writes_its_folder_alone(self):
        mark = f"contain-mark-{uuid.uuid4().hex}"
        outside = [Path(sys.prefix) / mark, confine.hidden_folder() / mark, Path("/tmp") / mark]
        for path in outside:
            self.addCleanup(path.unlink, missing_ok=True)
        with tempfile.TemporaryDirectory() as folder:
            found = in_child(reach, folder, mark)
        expected = dict.fromkeys(
            ("read grader.py", "read graderUtil.py", "read points.json",
             "list the grader's folder", "read the parent's /proc", "write the venv",
             "write the grader's folder", "write /tmp"), "PermissionError")
        expected.update(dict.fromkeys(("write its folder", "read torch", "write /dev/null"),
                                      "done"))
        self.assertEqual(found, expected)
        self.assertEqual([path for path in outside if path.exists()], [])

    @unittest.skipUnless(SIGNAL_SCOPE, "this kernel's Landlock does not scope signals (ABI < 6)")
    def test_no_signal_leaves_the_childs_domain(self):
        self.assertEqual(in_child(signal_parent), {"kill": "PermissionError"})


class ReadableFoldersTest(unittest.TestCase):
    def test_a_folder_that_holds_the_graders_is_split_around_it(self):
        with tempfile.TemporaryDirectory() as tmp:
            top = Path(tmp).resolve()
            for folder in ("python/grader/venv", "python/grader/secret", "python/lib", "other"):
                (top / folder).mkdir(parents=True)
            (top / "python" / "README").write_text("x")
            (top / "into").symlink_to(top / "python" / "grader" / "secret")  # leads into it
            (top / "back").symlink_to(top)  # leads back up
            hidden = top / "python" / "grader"
            self.assertEqual(sorted(confine.folders_without(top, hidden)),
                             [top / "other", top / "python" / "README", top / "python" / "lib"])
            self.assertEqual(confine.folders_without(hidden, hidden), [])
            # A Python installation inside the grader's folder is readable, the folder not.
            self.assertEqual(confine.folders_without(hidden / "venv", hidden), [hidden / "venv"])

    def test_the_judges_files_open_to_other_users_are_named(self):
        # What a child under a uid of its own could read without Landlock: the files of the
        # grader's folder and its folders that other users may read, the sandbox's own aside.
        with tempfile.TemporaryDirectory() as tmp:
            hidden = Path(tmp).resolve() / "grader"
            for folder in ("judge", "sandbox", "closed"):
                (hidden / folder).mkdir(parents=True)
            for name, mode in (("grader.py", 0o644), ("secret.py", 0o600),
                               ("judge/points.json", 0o644), ("sandbox/server.py", 0o644),
                               ("closed/notes.py", 0o644)):
                (hidden / name).write_text("x")
                (hidden / name).chmod(mode)
            (hidden / "closed").chmod(0o700)
            hidden.chmod(0o755)
            Path(tmp).chmod(0o755)
            self.assertEqual(confine.readable_by_others(hidden),
                             [hidden / "grader.py", hidden / "judge" / "points.json"])
            self.assertIn("(grader.py, judge/points.json)", confine.exposed_note(hidden))
            Path(tmp).chmod(0o700)  # a folder above it closed: nothing is open to others
            self.assertEqual(confine.readable_by_others(hidden), [])
            self.assertEqual(confine.exposed_note(hidden), "")


# Attacks in MADE.forward, which then returns the identity (wrong). CHECKOUT and MARK are
# filled in: the grader's checkout this test runs from (world-readable, as a clone is), and a
# file name no one else uses.
ANSWER_WITH_THE_JUDGE = """
import sys
from pathlib import Path
judge = None
for folder in (Path(sys.modules["sandbox"].__file__).parents[1], Path(CHECKOUT)):
    sys.path.insert(0, str(folder))
    try:
        for name in [name for name in sys.modules if name.split(".")[0] == "judge"]:
            sys.modules.pop(name)
        from judge import flow_references as judge
        break
    except BaseException:
        judge = None
    finally:
        sys.path.remove(str(folder))
if judge is not None:
    layers = [(layer.weight, layer.bias, layer.mask) for layer in self.net
              if hasattr(layer, "mask")]
    return judge.reference_forward(judge.Net(layers), z)
"""
READ_THE_JUDGE = """
import os, sys
from pathlib import Path
folder = Path(sys.modules["sandbox"].__file__).parents[1]
marks = []
for name, path in (("grader", folder / "grader.py"), ("graderUtil", folder / "graderUtil.py"),
                   ("references", folder / "judge" / "flow_references.py"),
                   ("points", folder / "judge" / "points.json"),
                   ("checkout", Path(CHECKOUT) / "grader.py"),
                   ("cmdline", Path(f"/proc/{os.getppid()}/cmdline")),
                   ("schedstat", Path(f"/proc/{os.getppid()}/schedstat"))):
    try:
        path.read_bytes()
        marks.append(f"READ-{name}")
    except OSError:
        marks.append(f"UNREADABLE-{name}")
raise RuntimeError(" ".join(marks))
"""
WRITE_OUTSIDE = """
import sys, torch
from pathlib import Path
marks = []
for name, folder in (("own", Path.cwd()), ("venv", Path(sys.prefix)),
                     ("torch", Path(torch.__file__).parent),
                     ("grader", Path(sys.modules["sandbox"].__file__).parents[1]),
                     ("checkout", Path(CHECKOUT)), ("tmp", Path("/tmp")),
                     ("shm", Path("/dev/shm"))):
    try:
        (folder / MARK).write_text("x")
        marks.append(f"WROTE-{name}")
    except OSError:
        marks.append(f"REFUSED-{name}")
raise RuntimeError(" ".join(marks))
"""
IMPORT_PATH = """
import sys
from pathlib import Path
folder = Path(sys.modules["sandbox"].__file__).resolve().parents[1]
# "" is the working folder, which for the sandbox is the grader's
on_path = [entry for entry in sys.path if not entry or Path(entry).resolve() == folder]
held = sorted(name for name in sys.modules
              if name.split(".")[0] in ("grader", "graderUtil", "judge"))
raise RuntimeError(("PATH-HOLDS-GRADER" if on_path else "PATH-CLEAN") + " "
                   + (f"MODULES-HELD {held}" if held else "MODULES-CLEAN"))
"""
SIGNAL_THE_JUDGE = """
import fcntl, os, socket, struct
from pathlib import Path
targets = [os.getppid()]  # the sandbox, then the judge where /proc shows it
try:
    targets.append(int(Path(f"/proc/{os.getppid()}/stat").read_text().rsplit(")", 1)[1].split()[1]))
except OSError:
    pass
for target in targets:
    for command, argument in ((8, target), (15, struct.pack("ii", 1, target))):
        read_end, write_end = os.pipe()
        for step in ((command, argument), (10, 19)):  # the owner, then SIGSTOP as its signal
            try:
                fcntl.fcntl(read_end, *step)
            except OSError:
                pass
        fcntl.fcntl(read_end, fcntl.F_SETFL, fcntl.fcntl(read_end, fcntl.F_GETFL) | os.O_ASYNC)
        os.write(write_end, b"x")  # readable now: the kernel signals the owner
    for command in (0x8901, 0x8902):
        one, other = socket.socketpair()
        try:
            fcntl.ioctl(one, command, struct.pack("i", target))
        except OSError:
            pass
        fcntl.ioctl(one, 0x5452, struct.pack("i", 1))
        other.send(b"x")  # SIGIO, whose default ends the process it reaches
"""


def attacked(attack: str | None, mark: str = "") -> dict[str, str]:
    """The identity as MADE.forward, after ``attack`` (None: none)."""
    code = (attack or "").replace("CHECKOUT", repr(str(SRC))).replace("MARK", repr(mark))
    return files(flow_network=replace_block(reference("flow_network.py"), "forward",
                                            code.strip() + "\n" + WRONG))


class ContainedThroughTheGraderTest(unittest.TestCase):
    """Each attack through the local grader in every mode and, for the judge's files, through
    the bundle as Gradescope runs it (root); each against the same upload without it."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp())
        cls.bundle = cls.tmp / "autograder.zip"
        make_autograder.write_bundle(cls.bundle)
        cls.runs = 0
        cls.unattacked: dict[str, dict] = {}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def run_way(self, way: str, upload: dict[str, str]) -> tuple[str, dict]:
        """What the grader printed (nothing for the bundle) and its results, graded ``way``
        ("bundle", or a mode of the local grader)."""
        if way == "bundle":
            type(self).runs += 1
            work = self.tmp / f"run {self.runs}"
            write(work / "upload", upload)
            return "", make_autograder.run_bundle(self.bundle, work / "upload", work / "root")
        _, printed, results = grade(upload, *TESTS, sandbox_user=way)
        return printed, results

    def check(self, way: str, attack: str, mark: str = "") -> str:
        """Grades ``attack`` ``way``; checks that every test has its verdict, none scoring
        more than without the attack, the summary last and no line of grader.py shown;
        returns the output of 1a-0-basic. (test_hostile checks that no process is left.)"""
        printed, results = self.run_way(way, attacked(attack, mark))
        if way not in self.unattacked:
            self.unattacked[way] = self.run_way(way, attacked(None))[1]
        plain = {test["number"]: test["score"] for test in self.unattacked[way]["tests"]}
        scores = {test["number"]: test["score"] for test in results["tests"]}
        self.assertEqual(sorted(scores), sorted(plain), "the results list every test")
        self.assertEqual({test: score for test, score in scores.items() if score > plain[test]},
                         {}, "points gained by the attack")
        if way != "bundle":
            self.assertRegex(printed.splitlines()[-1], r"^\d+ passed, \d+ failed$",
                             "the judge's summary is the last line")
        outputs = "\n".join([results.get("output", ""), printed,
                             *(test["output"] for test in results["tests"])])
        leaked = judges_own_lines() & {line.strip() for line in outputs.splitlines()}
        self.assertEqual(leaked, set(), "lines of grader.py reached an output")
        return {test["number"]: test["output"] for test in results["tests"]}["1a-0-basic"]

    def ways(self) -> list[str]:
        return (["bundle"] if ROOT else []) + list(MODES)

    def test_the_judges_reference_cannot_answer(self):
        for way in self.ways():
            with self.subTest(way=way):
                if way == "none" and not LANDLOCK:
                    self.skipTest("without Landlock the grader's own user may read its files")
                self.assertRegex(self.check(way, ANSWER_WITH_THE_JUDGE),
                                 r"^\[D=2\] x is wrong: got .* \(off by up to")

    @unittest.skipUnless(LANDLOCK, "without Landlock the files' modes alone decide")
    def test_nothing_of_the_judge_is_readable(self):
        names = ("grader", "graderUtil", "references", "points", "checkout", "cmdline",
                 "schedstat")
        for way in self.ways():
            with self.subTest(way=way):
                output = self.check(way, READ_THE_JUDGE)
                self.assertIn(" ".join(f"UNREADABLE-{name}" for name in names), output)

    @unittest.skipUnless(LANDLOCK, "without Landlock the files' modes alone decide")
    def test_nothing_is_written_outside_the_tests_folder(self):
        mark = f"contain-mark-{uuid.uuid4().hex}"
        import torch

        outside = [SRC, Path(sys.prefix), Path(torch.__file__).parent, Path("/tmp"),
                   Path("/dev/shm")]
        for folder in outside:
            self.addCleanup((folder / mark).unlink, missing_ok=True)
        for mode in MODES:
            with self.subTest(mode=mode):
                output = self.check(mode, WRITE_OUTSIDE, mark)
                self.assertIn("WROTE-own REFUSED-venv REFUSED-torch REFUSED-grader "
                              "REFUSED-checkout REFUSED-tmp REFUSED-shm", output)
                self.assertEqual([folder for folder in outside if (folder / mark).exists()], [])

    def test_nothing_of_the_judge_is_on_the_import_path(self):
        # The sandbox drops the grader's folder from its import path once its own modules are
        # loaded, and never imports the judge's: a child inherits neither.
        for mode in MODES:
            with self.subTest(mode=mode):
                self.assertIn("PATH-CLEAN MODULES-CLEAN", self.check(mode, IMPORT_PATH))

    def test_the_judge_cannot_be_signalled_through_a_files_owner(self):
        for mode in MODES:
            with self.subTest(mode=mode):
                self.assertRegex(self.check(mode, SIGNAL_THE_JUDGE),
                                 r"^\[D=2\] x is wrong: got .* \(off by up to")


if __name__ == "__main__":
    unittest.main()
