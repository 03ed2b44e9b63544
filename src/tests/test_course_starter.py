"""The grader judges the student's functions, not the given code around them.

A correct hand-in written into the course's own starter (``tests/course_starter.py``: no
MADE with D = 1, log-dets of PermuteLayer shaped (B, 1), ``log_probs`` as the block) earns
every point through the grader, in both sandbox modes, and through the Gradescope bundle; the
cases its given code cannot build are left out with a one-line note. Wrong functions written
there still fail, and calling a network as ``net.forward(x)`` is as good as ``net(x)``.
"""

import os
import tempfile
import unittest
from pathlib import Path

from course import make_autograder
from tests.course_starter import BODIES, course_flow_network, course_hand_in
from tests.submissions import files, grade, reference, replace_block, with_blocks, write

MODES = ("auto", "none") if os.geteuid() == 0 else ("none",)
NOTE = ("D = 1 left out, no points lost: the given code cannot build it (ZeroDivisionError: "
        "integer modulo by zero, in create_masks, line 53)")
# The tests with D = 1 cases, which the course's starter cannot build
WITH_D_1 = ["1a-1-hidden", "1a-2-hidden", "1a-3-hidden", "1a-4-hidden", "1b-1-hidden",
            "1b-2-hidden", "1c-1-hidden"]


# The hand-in's given code differs from this starter's throughout: said once, not line by line
ANOTHER_STARTER = ("submission/flow_network.py was written on another starter: 79% of the "
                   "given code (outside the START/END blocks) differs from this one's; your "
                   "functions are judged with your own given code")


def given_code_lines(results: dict) -> list[str]:
    """The lines of the results' summary about the given code."""
    return [line for line in results["output"].splitlines() if "given code" in line]


def outputs(results: dict) -> dict[str, str]:
    """The reports of the graded tests (not the bundle's 0-point entry for staff)."""
    return {test["number"]: test["output"] for test in results["tests"]
            if test["output"] and test["max_score"] > 0}


def short(results: dict) -> dict[str, str]:
    return {test["number"]: test["output"] for test in results["tests"]
            if test["score"] < test["max_score"]}


class CourseStarterTest(unittest.TestCase):
    def test_a_correct_hand_in_earns_every_point_through_the_grader(self):
        for mode in MODES:
            with self.subTest(mode=mode):
                status, printed, results = grade(course_hand_in(), sandbox_user=mode)
                self.assertEqual(short(results), {})
                self.assertEqual(status, 0, printed)
                self.assertEqual(outputs(results), dict.fromkeys(WITH_D_1, NOTE))
                self.assertEqual(given_code_lines(results), [ANOTHER_STARTER])

    def test_a_correct_hand_in_earns_every_point_through_the_bundle(self):
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            make_autograder.write_bundle(work / "autograder.zip")
            write(work / "upload", course_hand_in())
            results = make_autograder.run_bundle(work / "autograder.zip", work / "upload",
                                                 work / "root")
        self.assertEqual(short(results), {})
        self.assertEqual(outputs(results), dict.fromkeys(WITH_D_1, NOTE))
        self.assertEqual(given_code_lines(results), [ANOTHER_STARTER])

    def test_wrong_functions_in_it_still_fail(self):
        wrong = dict(BODIES, FORWARD=BODIES["FORWARD"].replace("log_det = alpha.sum(dim=1)",
                                                               "log_det = -alpha.sum(dim=1)"),
                     LOG_PROBS=BODIES["LOG_PROBS"].replace(".mean()", ".sum()"))
        upload = files(flow_network=course_flow_network(wrong), gan=reference("gan.py"))
        _, _, results = grade(upload, "1a-0-basic", "1a-3-hidden", "1c-0-basic", "1c-1-hidden",
                              sandbox_user=MODES[-1])
        self.assertEqual(sorted(short(results)), ["1a-0-basic", "1a-3-hidden", "1c-0-basic",
                                                  "1c-1-hidden"])
        contract = "log_det (the contract: log|det dx/dz| = +sum(alpha)) is wrong"
        self.assertIn(contract, short(results)["1a-0-basic"])
        self.assertIn(contract, short(results)["1a-3-hidden"])

    def test_a_forged_report_that_d_1_cannot_be_built_gains_nothing(self):
        # On this repository's starter, whose create_masks builds D = 1: the sandbox's
        # report is the submission's to forge, so the judge reads create_masks itself.
        forged = """
if self.input_size == 1:
    import sys
    raise sys.modules["sandbox.protocol"].GivenCodeCannot("MADE(1)", "forged")
x = torch.zeros_like(z)
for _ in range(self.input_size):
    mu, alpha = self.net(x).chunk(2, dim=1)
    x = mu + z * torch.exp(alpha)
return x, alpha.sum(dim=1)
"""
        flow = replace_block(reference("flow_network.py"), "forward", forged.strip())
        _, _, results = grade(files(flow_network=flow), "1a-2-hidden", "1a-4-hidden",
                              sandbox_user=MODES[-1])
        self.assertEqual(short(results), {
            "1a-2-hidden": "[D=1, n_hidden=0] the given code cannot build MADE(1) (forged)",
            "1a-4-hidden": "the given code cannot build MADE(1) (forged)"})

    def test_networks_called_through_forward_are_recorded_as_any_call(self):
        flow = replace_block(reference("flow_network.py"), "inverse", """
mu, alpha = self.net.forward(x).chunk(2, dim=1)
return (x - mu) * torch.exp(-alpha), -alpha.sum(dim=1)""".strip())
        gan = with_blocks("gan", {
            "loss_nonsaturating_g": "return -F.logsigmoid(d.forward(g.forward(z))).mean()",
            "conditional_loss_nonsaturating_g":
                "return -F.logsigmoid(d.forward(g.forward(z, y_real), y_real)).mean()",
        })
        _, _, results = grade(files(flow_network=flow, gan=gan), "1b-2-hidden", "2b-3-hidden",
                              "4b-2-hidden", sandbox_user=MODES[-1])
        self.assertEqual(short(results), {})


if __name__ == "__main__":
    unittest.main()
