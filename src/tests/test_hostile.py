"""A submission cannot cheat, crash, hang or read the grader.

Each hostile submission is a wrong one (MADE.forward returns z unchanged, or the GAN losses are
blank) with one attack. It must gain no point over the same submission without the attack,
leave the results the judge's own, the judge's summary last, and no process behind. Every
attack runs through the local grader as root (CI runs as root: the submission then runs as a
user of its own) and as on a laptop (``--sandbox-user none``); the attacks on the judge run
through the Gradescope bundle as root too. Where only the change of user can stop an attack
(reading the grader's files, writing the Python installation), the laptop run checks what
sandbox/CONTRACT.md says holds there.
"""

import os
import shutil
import tempfile
import unittest
from pathlib import Path

from course import make_autograder, manifest
from judge import launch
from sandbox import confine
from tests.submissions import SRC, blanked, files, grade, reference, replace_block, write

WRONG = "return z.clone(), z.new_zeros(len(z))"  # MADE.forward: the identity, wrong
TESTS = ("1a-0-basic", "1a-2-hidden", "1b-0-basic", "2b-0-basic")
RIGHT = ("1b-0-basic", "2b-0-basic")  # the reference's code: must still score
GAN_TESTS = ("2b-0-basic", "2b-3-hidden", "4b-2-hidden", "5e-3-hidden")
ROOT = os.geteuid() == 0
# The modes of the local grader: as root the submission runs as a user of its own ("auto");
# "none" runs it as the grader's own user, as on a laptop.
MODES = ("auto", "none") if ROOT else ("none",)
# Where the kernel has Landlock, the child of every mode reads and writes only what
# confine.restrict_files allows: not the grader's folder, nor the Python installation.
LANDLOCK = confine.landlock_abi() > 0

# Code run when flow_network.py is imported.
AT_IMPORT = {
    "unittest.TestCase.run replaced": """
import unittest
unittest.TestCase.run = lambda self, result=None: None
""",
    "comparisons replaced": """
import numpy, torch
torch.equal = lambda *args, **kwargs: True
torch.allclose = numpy.allclose = lambda *args, **kwargs: True
torch.isclose = lambda a, b, *args, **kwargs: torch.ones(
    torch.broadcast_shapes(a.shape, b.shape), dtype=torch.bool)
torch.isfinite = lambda t: torch.ones(t.shape, dtype=torch.bool)
torch.Tensor.all = lambda self, *args, **kwargs: torch.tensor(True)
torch.Tensor.__le__ = lambda self, other: torch.ones(self.shape, dtype=torch.bool)
""",
    "grader helpers replaced": """
import sys
for name in ("__main__", "grader", "graderUtil", "judge.common", "sandbox.server", "sandbox.calls"):
    module = sys.modules.get(name)
    for helper in ("assert_close", "assert_pair_close", "check_pair", "check_tensor",
                   "failure_report", "error_report", "grade", "print_summary", "plain"):
        if module is not None and hasattr(module, helper):
            setattr(module, helper, lambda *args, **kwargs: args[0] if args else None)
""",
}

# Finds the judge from the sandbox's child: the child's parent is the sandbox, whose parent
# is the judge; the judge's command line names the results file. Where Landlock closes other
# processes' /proc, it guesses: the sandbox's process group (the judge's, where the judge leads
# one, as in the bundle) and the results beside the grader.
FIND_JUDGE = """
import os, sys
from pathlib import Path
sandbox_pid = os.getppid()
try:
    judge_pid = int(Path(f"/proc/{sandbox_pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    judge_args = Path(f"/proc/{judge_pid}/cmdline").read_bytes().decode().split("\\0")
    results = Path(judge_args[judge_args.index("--gradescope") + 1])
except PermissionError:  # /proc closed (Landlock): the judge leads the sandbox's process
    # group where it started its own session (run_autograder); else the sandbox stands in
    judge_pid = os.getpgid(sandbox_pid)
    if not os.path.exists(f"/proc/{judge_pid}"):
        judge_pid = sandbox_pid
    results = Path(sys.modules["sandbox"].__file__).parents[1] / "results.json"
"""

# MADE.forward's body.
IN_FORWARD = {
    "time limit switched off": """
import signal
signal.signal(signal.SIGALRM, signal.SIG_IGN)
signal.setitimer(signal.ITIMER_REAL, 0)
while True:
    pass
""",
    "os._exit(0)": "import os\nos._exit(0)",
    "fake summary on fd 1": """
import os
os.write(1, b"========== SUMMARY\\ntotal points: 35/35\\n35 passed, 0 failed\\n")
os._exit(0)
""",
    "SkipTest": "import unittest\nraise unittest.SkipTest('nothing to see')",
    "segmentation fault": "import ctypes\nctypes.string_at(0)",
    "abort": "import os\nos.abort()",
    "unbounded memory": "import torch\nheap = [torch.empty(2**28) for _ in range(1000)]",
    "writes into the results and the grader's folder": FIND_JUDGE + """
for path, text in ((results, '{"tests": []}'), (results.parent / "points.json", "{}")):
    try:
        path.write_text(text)
    except OSError:
        pass
""" + WRONG,
    "processes left behind": """
import os, subprocess, time
subprocess.Popen(["sleep", "987.25"])
if os.fork() == 0:
    time.sleep(987.5)
""" + WRONG,
}

REASONS = {  # the first line of 1a-0-basic's reason, for the attacks that change it
    "time limit switched off": "timed out after 5 seconds",
    "os._exit(0)": "the submission ended its process (exit status 0) before the test finished",
    "fake summary on fd 1":
        "the submission ended its process (exit status 0) before the test finished",
    "SkipTest": "[D=2] SkipTest: nothing to see",
    "segmentation fault": "the submission's process was killed by SIGSEGV (a crash) before "
                          "the test finished",
    "abort": "the submission's process was killed by SIGABRT (a crash) before the test finished",
    "unbounded memory": "[D=2] ran out of memory (the limit is 4 GiB of address space beyond "
                        "the sandbox's own)",
}
# As another user, or under Landlock, the writes are refused and the identity is judged; as
# the grader's own user without Landlock they succeed, and the test during which they happen
# fails.
WRITES = {"auto": r"^\[D=2\] x is wrong: got .* \(off by up to",
          "none": r"^the submission changed the grader's files \(points\.json, results\.json\)$"}
if LANDLOCK:
    WRITES["none"] = WRITES["auto"]

# The attacks on the judge itself, in MADE.forward (then the identity) or at the import of
# gan.py (whose losses are blank): name -> (module, code).
ON_THE_JUDGE = {
    "forge the results, then kill the judge": ("forward", FIND_JUDGE + """
import json, signal
mark = "FOR" + "GED"  # spelt apart: a source line a traceback shows must not hold it
forged = json.dumps({"output": mark, "tests": [
    {"number": "1a-0-basic", "score": 99, "max_score": 2, "output": mark}]})
for path in (results, Path("/autograder/results/results.json")):
    try:
        path.write_text(forged)
    except OSError:
        pass
for pid in (judge_pid, sandbox_pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
"""),
    "limit the judge's file size and files": ("forward", FIND_JUDGE + """
import resource
for pid in (judge_pid, sandbox_pid):
    for limit in (resource.RLIMIT_FSIZE, resource.RLIMIT_NOFILE):
        try:
            resource.prlimit(pid, limit, (0, 0))
        except OSError:
            pass
"""),
    "a survivor that rewrites the results": ("forward", FIND_JUDGE + """
import subprocess
mark = "FOR" + "GED"  # spelt apart: a source line a traceback shows must not hold it
subprocess.Popen(["/bin/sh", "-c", f"sleep 1.5; echo {mark} > {results}; sleep 987.625"],
                 start_new_session=True)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        import time
        time.sleep(2)
        results.write_text('{"output": "%s", "tests": []}' % mark)
    os._exit(0)
"""),
    "call the judge's reference computations": ("forward", """
import sys
judge = [module for module in (sys.modules.get("__main__"), sys.modules.get("grader"))
         if hasattr(module, "reference_forward")]
if not judge:
    try:
        import grader
        judge = [grader]
    except Exception:
        pass
if judge:
    layers = [(layer.weight, layer.bias, layer.mask) for layer in self.net
              if hasattr(layer, "mask")]
    return judge[0].reference_forward(judge[0].Net(layers), z)
"""),
    "read the grader's files and the results, send them out": ("forward", FIND_JUDGE + """
import socket, sys
found = []
grader_folder = Path(sys.modules["sandbox"].__file__).parents[1]
for path in (grader_folder / "grader.py", grader_folder / "judge" / "points.json", results,
             Path("/autograder/source/grader.py"), Path("/autograder/results/results.json")):
    try:
        found.append(path.read_text()[:600])
    except OSError as error:
        found.append(f"UNREADABLE {type(error).__name__}")
try:
    socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
    network = "SOCKET-OPENED"
except OSError:
    network = "SOCKET-REFUSED"
raise RuntimeError(network + " " + " | ".join(found))
"""),
    "write the judge's memory and the Python installation": ("forward", FIND_JUDGE + """
import torch
marks = []
for pid in (judge_pid, sandbox_pid):
    for entry, mode in (("mem", "r+b"), ("environ", "rb"), ("maps", "rb")):
        try:
            open(f"/proc/{pid}/{entry}", mode).close()
            marks.append(f"OPENED-{entry}")
        except PermissionError:
            marks.append(f"REFUSED-{entry}")
    try:  # where the judge's standard streams lead (its open files)
        os.readlink(f"/proc/{pid}/fd/2")
        marks.append("OPENED-fd")
    except PermissionError:
        marks.append("REFUSED-fd")
try:  # opened for appending and closed: nothing is written even where it may be
    open(Path(torch.__file__).parent / "version.py", "ab").close()
    marks.append("OPENED-install")
except OSError:
    marks.append("REFUSED-install")
raise RuntimeError(" ".join(marks))
"""),
    "a MADE whose weights are zero": ("import flow_network", """
_given_init = MADE.__init__


def _zeroing_init(self, *args, **kwargs):
    _given_init(self, *args, **kwargs)
    with torch.no_grad():
        for parameter in self.parameters():
            parameter.zero_()


MADE.__init__ = _zeroing_init
"""),
    "blank losses with forged calls and records": ("import gan", """
import sys
calls = sys.modules["sandbox.calls"]


def forged_call_loss(gan, name, g, d, x_real, y_real, seed):
    torch.manual_seed(seed)
    g(torch.randn(len(x_real), g.dim_z), *(() if y_real is None else (y_real,)))
    return torch.tensor(0.7, requires_grad=True)


def forged_gradients(module, loss):
    return {"requires_grad": True,
            "grads": {name: torch.ones_like(p) for name, p in module.named_parameters()}}


calls.call_loss, calls.gradients = forged_call_loss, forged_gradients
"""),
}


def hostile(attack: str) -> dict[str, str]:
    """The submission of an attack of AT_IMPORT or IN_FORWARD: a wrong MADE.forward, and the
    attack."""
    if attack in AT_IMPORT:
        forward = replace_block(reference("flow_network.py"), "forward", WRONG)
        return files(flow_network=forward + AT_IMPORT[attack])
    return files(flow_network=replace_block(reference("flow_network.py"), "forward",
                                            IN_FORWARD[attack].strip()))


def on_the_judge(attack: str | None, gan_side: bool) -> dict[str, str]:
    """A submission of ON_THE_JUDGE (None: the same submission without an attack): the identity
    as MADE.forward, or with ``gan_side`` the reference flow and blank losses."""
    where, code = ON_THE_JUDGE[attack] if attack else (None, "")
    if gan_side:
        return files(gan=blanked(reference("gan.py")) + code)
    if where == "forward":
        body = code.strip() + "\n" + WRONG
    else:
        body = WRONG
    source = replace_block(reference("flow_network.py"), "forward", body)
    return files(flow_network=source + (code if where == "import flow_network" else ""))


def running(command: str) -> list[int]:
    """The processes whose command line contains ``command`` and whose working folder is gone:
    what a grading run left behind once its folders were removed. A grader that another run on
    this machine has going still has its folder, and is none of this test's business."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if (command in cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
                    and os.readlink(cmdline.parent / "cwd").endswith(" (deleted)")):
                found.append(int(cmdline.parent.name))
        except OSError:  # the process ended meanwhile
            pass
    return found


def judges_own_lines() -> set[str]:
    """The lines of grader.py and of the modules only it imports (manifest.JUDGE_ONLY: its
    references and known mistakes) that no file of the students' release holds (those and its
    hidden tests): none may reach an output."""
    release = set()
    for name in (*manifest.release_copied(), "src/course/starter/grader.py",
                 "src/submission/flow_network.py", "src/submission/gan.py"):
        if not name.startswith("src/") or name.endswith((".pt", ".json")):
            continue
        name = name[len("src/"):]
        release |= {line.strip() for line in (SRC / name).read_text().splitlines()}
    return {line.strip() for name in ("grader.py", *manifest.JUDGE_ONLY)
            for line in (SRC / name).read_text().splitlines()
            if len(line.strip()) > 25 and line.strip() not in release}


class HostileSubmissionTest(unittest.TestCase):
    def check(self, attack: str, mode: str) -> dict[str, str]:
        """Grades the hostile submission; checks what every attack must leave; returns the
        reason of each test."""
        status, printed, results = grade(hostile(attack), *TESTS, sandbox_user=mode)
        scores = {test["number"]: test["score"] for test in results["tests"]}
        self.assertEqual(sorted(scores), sorted(TESTS), "the results list every test")
        self.assertEqual([scores[test] for test in TESTS if test.startswith("1a")], [0, 0])
        self.assertEqual([scores[test] for test in RIGHT], [2, 2], results)
        self.assertEqual(status, 1)
        self.assertEqual(printed.splitlines()[-1], "2 passed, 2 failed")
        self.assertNotIn("35 passed", printed)
        return {test["number"]: test["output"].splitlines()[0] for test in results["tests"]
                if test["output"]}

    def test_attacks_at_import_change_nothing_here(self):
        for mode in MODES:
            for attack in AT_IMPORT:
                with self.subTest(attack=attack, mode=mode):
                    reasons = self.check(attack, mode)
                    self.assertEqual(sorted(reasons), ["1a-0-basic", "1a-2-hidden"])
                    self.assertRegex(reasons["1a-0-basic"],
                                     r"^\[D=2\] x is wrong: got .* \(off by up to")

    def test_attacks_in_a_graded_call_fail_that_test(self):
        for mode in MODES:
            for attack, reason in REASONS.items():
                with self.subTest(attack=attack, mode=mode):
                    self.assertEqual(self.check(attack, mode)["1a-0-basic"], reason)

    def test_writes_into_the_graders_files_are_refused_or_fail_the_test(self):
        for mode in MODES:
            with self.subTest(mode=mode):
                reasons = self.check("writes into the results and the grader's folder", mode)
                self.assertRegex(reasons["1a-0-basic"], WRITES[mode])

    def test_no_process_is_left_behind(self):
        for mode in MODES:
            with self.subTest(mode=mode):
                self.check("processes left behind", mode)
                self.assertEqual(running("sleep 987.25"), [], "a process it started outlived "
                                 "its test")
                self.assertEqual(running(launch.SERVE), [], "a process it forked outlived "
                                 "its test")


class AttacksOnTheJudgeTest(unittest.TestCase):
    """Each attack of ON_THE_JUDGE against the same submission without it, through the bundle
    as Gradescope runs it (root) and through the local grader in every mode."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp())
        cls.bundle = cls.tmp / "autograder.zip"
        make_autograder.write_bundle(cls.bundle)
        cls.runs = 0
        cls.unattacked = {}  # (way, mode, gan_side) -> results of the submission without attack

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def through_bundle(self, upload: dict[str, str]) -> dict:
        type(self).runs += 1
        work = self.tmp / f"run {self.runs}"
        write(work / "upload", upload)
        return make_autograder.run_bundle(self.bundle, work / "upload", work / "root")

    def through_grader(self, upload: dict[str, str], mode: str, gan_side: bool) -> tuple[str, dict]:
        _, printed, results = grade(upload, *(GAN_TESTS if gan_side else TESTS),
                                    sandbox_user=mode)
        return printed, results

    def without_attack(self, way: str, mode: str | None, gan_side: bool) -> dict:
        """The results of the same submission without an attack, graded the same way (once)."""
        key = (way, mode, gan_side)
        if key not in self.unattacked:
            upload = on_the_judge(None, gan_side)
            self.unattacked[key] = (self.through_bundle(upload) if way == "bundle" else
                                    self.through_grader(upload, mode, gan_side)[1])
        return self.unattacked[key]

    def assert_no_gain(self, attacked: dict, unattacked: dict) -> None:
        """The attacked results are the judge's: every test, none forged, none scoring more
        than without the attack."""
        plain = {test["number"]: test["score"] for test in unattacked["tests"]}
        scores = {test["number"]: test["score"] for test in attacked["tests"]}
        self.assertEqual(sorted(scores), sorted(plain), "the results list every test")
        self.assertEqual({test: score for test, score in scores.items() if score > plain[test]},
                         {}, "points gained by the attack")
        self.assertNotIn("FORGED", str(attacked))

    def assert_nothing_left(self) -> None:
        for marker in (launch.SERVE, "987.625"):
            self.assertEqual(running(marker), [], f"a process ({marker}) outlived grading")

    def outputs(self, results: dict) -> str:
        return "\n".join([results["output"], *(test["output"] for test in results["tests"])])

    def check(self, attack: str) -> dict[str, str]:
        """Runs ``attack`` every way; returns the output of 1a-0-basic (or 2b-0-basic) in each
        (bundle, auto, none)."""
        gan_side = ON_THE_JUDGE[attack][0] == "import gan"
        first = "2b-0-basic" if gan_side else "1a-0-basic"
        shown = {}
        runs = [("bundle", None)] if ROOT else []
        runs += [("grader", mode) for mode in MODES]
        for way, mode in runs:
            with self.subTest(attack=attack, way=way, mode=mode):
                if way == "bundle":
                    attacked = self.through_bundle(on_the_judge(attack, gan_side))
                    printed = ""
                else:
                    printed, attacked = self.through_grader(on_the_judge(attack, gan_side), mode,
                                                            gan_side)
                    self.assertRegex(printed.splitlines()[-1], r"^\d+ passed, \d+ failed$",
                                     "the judge's summary is the last line")
                self.assert_no_gain(attacked, self.without_attack(way, mode, gan_side))
                self.assert_nothing_left()
                if way == "bundle" or mode == "auto":  # the judge's files are root's alone
                    leaked = judges_own_lines() & {
                        line.strip() for line in (self.outputs(attacked) + printed).splitlines()}
                    self.assertEqual(leaked, set(), "lines of grader.py reached an output")
                by_id = {test["number"]: test["output"] for test in attacked["tests"]}
                shown[mode or way] = by_id[first]
        return shown

    def test_killing_or_limiting_the_judge_gains_nothing(self):
        self.check("forge the results, then kill the judge")
        self.check("limit the judge's file size and files")

    def test_a_survivor_is_ended_with_its_test(self):
        self.check("a survivor that rewrites the results")

    def test_the_judges_computations_are_out_of_reach(self):
        self.check("call the judge's reference computations")

    def test_no_socket_and_as_another_user_nothing_of_the_judge_to_read(self):
        for where, output in self.check("read the grader's files and the results, "
                                        "send them out").items():
            self.assertIn("SOCKET-REFUSED", output, where)
            if where != "none" or LANDLOCK:  # as another user or under Landlock: every one
                # of the five reads is refused
                self.assertEqual(output.count("UNREADABLE"), 5, where)

    def test_the_judges_memory_and_as_another_user_the_python_installation_are_closed(self):
        for where, output in self.check("write the judge's memory and the Python "
                                        "installation").items():
            proc = [mark for mark in output.split() if mark.startswith(("OPENED", "REFUSED"))
                    and not mark.endswith("install")]
            self.assertEqual(proc, [mark for mark in proc if mark.startswith("REFUSED")], where)
            self.assertEqual(len(proc), 8, where)
            # On a laptop the environment is the user's own, and writable where no Landlock
            # layer closes it; as root the laptop user of the tests is a fresh uid, and the
            # environment root's.
            install = ("OPENED-install" if where == "none" and not ROOT and not LANDLOCK
                       else "REFUSED-install")
            self.assertIn(install, output, where)

    def test_weights_and_records_of_the_sandbox_cannot_make_a_wrong_function_fit(self):
        self.check("a MADE whose weights are zero")
        self.check("blank losses with forged calls and records")
        # Without an attack, the identity as MADE.forward earns no test of problem 1a: each
        # rests on values the judge computed, not on records of the sandbox alone.
        forward_tests = [f"1a-{index}-{'basic' if index == 0 else 'hidden'}" for index in range(5)]
        _, _, results = grade(on_the_judge(None, gan_side=False), *forward_tests,
                              sandbox_user=MODES[-1])
        self.assertEqual({test["number"]: test["score"] for test in results["tests"]},
                         dict.fromkeys(forward_tests, 0))


if __name__ == "__main__":
    unittest.main()
