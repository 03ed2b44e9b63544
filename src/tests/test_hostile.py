"""A submission cannot cheat, crash or hang the grader: small hostile submissions, each a
wrong MADE.forward (it returns z unchanged) with one attack, graded by a copy of the grader.
Every one must leave the wrong tests at 0 points, the correct ones scored, the grader's own
summary last and a non-zero exit status."""

import unittest
from pathlib import Path

from tests.submissions import files, grade, reference, replace_block

WRONG = "return z.clone(), z.new_zeros(len(z))"  # MADE.forward: the identity, wrong
TESTS = ("1a-0-basic", "1a-2-hidden", "1b-0-basic", "2b-0-basic")
RIGHT = ("1b-0-basic", "2b-0-basic")  # the reference's code: must still score

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
torch.isclose = lambda a, b, *args, **kwargs: torch.ones(torch.broadcast_shapes(a.shape, b.shape), dtype=torch.bool)
torch.isfinite = lambda t: torch.ones(t.shape, dtype=torch.bool)
torch.Tensor.all = lambda self, *args, **kwargs: torch.tensor(True)
torch.Tensor.__le__ = lambda self, other: torch.ones(self.shape, dtype=torch.bool)
""",
    "grader helpers replaced": """
import sys
for name in ("__main__", "grader", "graderUtil"):
    module = sys.modules.get(name)
    for helper in ("assert_close", "assert_pair_close", "check_pair", "check_tensor",
                   "failure_report", "error_report", "grade", "print_summary"):
        if module is not None and hasattr(module, helper):
            setattr(module, helper, lambda *args, **kwargs: args[0] if args else None)
""",
}

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
    "writes into the results and the grader's folder": """
import sys
from pathlib import Path
results = Path(sys.argv[sys.argv.index("--gradescope") + 1])
results.write_text('{"tests": []}')
(Path(sys.argv[0]).resolve().parent / "points.json").write_text("{}")
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
    "unbounded memory": "[D=2] ran out of memory (the limit is 4 GiB beyond the grader's own)",
    "writes into the results and the grader's folder":
        "the submission changed the grader's files (points.json, results.json)",
}


def hostile(attack: str) -> dict[str, str]:
    """The submission of ``attack``: a wrong MADE.forward, and the attack."""
    if attack in AT_IMPORT:
        forward = replace_block(reference("flow_network.py"), "forward", WRONG)
        return files(flow_network=forward + AT_IMPORT[attack])
    return files(flow_network=replace_block(reference("flow_network.py"), "forward",
                                            IN_FORWARD[attack].strip()))


class HostileSubmissionTest(unittest.TestCase):
    def check(self, attack: str) -> dict[str, str]:
        """Grades the hostile submission; checks what every attack must leave; returns the
        reason of each test."""
        status, printed, results = grade(hostile(attack), *TESTS)
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
        for attack in AT_IMPORT:
            with self.subTest(attack=attack):
                reasons = self.check(attack)
                self.assertEqual(sorted(reasons), ["1a-0-basic", "1a-2-hidden"])
                self.assertRegex(reasons["1a-0-basic"], r"^\[D=2\] x is wrong: off by up to")

    def test_attacks_in_a_graded_call_fail_that_test(self):
        for attack, reason in REASONS.items():
            with self.subTest(attack=attack):
                self.assertEqual(self.check(attack)["1a-0-basic"], reason)

    def test_no_process_is_left_behind(self):
        self.check("processes left behind")
        self.assertEqual(running("sleep 987.25"), [], "a process it started outlived its test")
        self.assertEqual(running("grader.py --gradescope"), [], "a process it forked outlived "
                         "its test")


def running(command: str) -> list[int]:
    """The processes whose command line contains ``command``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if command in cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                found.append(int(cmdline.parent.name))
        except OSError:  # the process ended meanwhile
            pass
    return found


if __name__ == "__main__":
    unittest.main()
