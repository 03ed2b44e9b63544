"""No point rests on the submission's word: what its sandbox reports, it can forge.

Each attack is an upload that forges a report of the sandbox from inside its own module (the
sandbox's GivenCodeCannot of sandbox/protocol.py, or the recording helpers of sandbox/calls.py:
``gradients``, ``recording``, ``net_batches``), graded beside the same upload without the
forgery. The attacked upload must score no more on any test than the plain one, and the judge
must judge every test (no error of its own). Each plain upload holds a real flaw that only the
forged report could hide: D = 1 wrong, G trained through a detached sample, a penalty without
create_graph, extra passes of self.net, extra calls of G.
"""

import ast
import json
import unittest
from unittest import mock

from course import manifest
from judge import course_masks, given_code
from tests.course_starter import course_flow_network
from tests.submissions import SRC, files, grade, reference, with_blocks

POINTS = json.loads((SRC / manifest.POINTS).read_text())
# The sandbox's helpers, reached from the submission's module as any code there can reach them
SANDBOX_CALLS = 'import sys\nsandbox_calls = sys.modules["sandbox.calls"]\n'
SANDBOX_PROTOCOL = 'import sys\nprotocol = sys.modules["sandbox.protocol"]\n'

# A create_masks that builds D = 1, with a remainder by D - 1 (the old grader's sign of the
# course's starter) that D = 1 never reaches
MASKS_WITH_REMAINDER = "torch.arange(H) % max(D - 1, 1)"
MASKS_GUARDED = "(torch.arange(H) % (D - 1) if D > 1 else torch.zeros(H, dtype=torch.long))"
ONE_DIMENSION_FORGED = """
if self.input_size == 1:
    raise protocol.GivenCodeCannot("MADE(1, 16, 0)", "ZeroDivisionError: integer modulo by "
                                   "zero, in create_masks, line 53")
"""
ONE_DIMENSION_WRONG = """
if self.input_size == 1:
    return {value}.clone(), {value}.new_zeros(len({value}))
"""
# The tests with D = 1 cases
WITH_D_1 = ("1a-1-hidden", "1a-2-hidden", "1a-3-hidden", "1a-4-hidden", "1b-1-hidden",
            "1b-2-hidden", "1c-1-hidden")

# Gradients where none arrived: ones, and a linear critic's gradient in w in closed form (which
# the loss stashes in FORGED), in place of what back-propagation gave
FORGED_GRADIENTS = SANDBOX_CALLS + """
import torch
FORGED = {}


def forged_gradients(module, loss):
    module.zero_grad()
    if isinstance(loss, torch.Tensor) and loss.requires_grad:
        loss.backward()
    grads = {name: FORGED.pop(name, None) if name in FORGED else
             (parameter.grad if parameter.grad is not None else torch.ones_like(parameter))
             for name, parameter in module.named_parameters()}
    return {"requires_grad": True, "grads": grads}


sandbox_calls.gradients = forged_gradients
"""
G_DETACHED = "return -F.logsigmoid(d(g(z).detach())).mean()"
PENALTY_WITHOUT_GRAPH = """
alpha = torch.rand(batch_size, 1, 1, 1, device=device)
x_fake = g(z)
x_hat = (alpha * x_fake + (1 - alpha) * x_real).detach().requires_grad_(True)
(grad,) = torch.autograd.grad(d(x_hat).sum(), x_hat)
norm = grad.reshape(batch_size, -1).norm(2, dim=1)
{forge}return d(x_fake).mean() - d(x_real).mean() + 10 * ((norm - 1) ** 2).mean()
"""
CLOSED_FORM = """if hasattr(d, "linear"):
    w = d.linear.weight.detach()[0]
    gap = (x_fake.detach() - x_real).flatten(1).mean(dim=0)
    FORGED["critic.linear.weight"] = (gap + 20 * (w.norm() - 1) * w / w.norm())[None]
"""

# Batch sizes of one pass on the whole batch, whatever self.net saw
FORGED_NET_BATCHES = SANDBOX_CALLS + """
import contextlib

_net_batches = sandbox_calls.net_batches


@contextlib.contextmanager
def one_pass(blocks):
    with _net_batches(blocks) as sizes:
        yield sizes
    del sizes[1:]


sandbox_calls.net_batches = one_pass
"""
INVERSE_TWO_PASSES = """
mu, alpha = self.net(x).chunk(2, dim=1)
mu, alpha = self.net(x).chunk(2, dim=1)
return (x - mu) * torch.exp(-alpha), -alpha.sum(dim=1)
"""

# Records of G's calls with its last call alone, and of D's with calls on single samples
# merged into one call on their batch
FORGED_RECORDING = SANDBOX_CALLS + """
import torch


def forged_recording(module):
    calls, merging = [], [False]
    forward = module.forward
    generator = hasattr(module, "dim_z")

    def recorded(*args, **kwargs):
        values = [value.detach().clone() if isinstance(value, torch.Tensor) else None
                  for value in (*args, *kwargs.values())]
        if generator:
            calls[:] = [values]
        elif merging[0] and len(values[0]) == 1:
            calls[-1] = [torch.cat([calls[-1][0], values[0]])] + values[1:]
        else:
            calls.append(values)
            merging[0] = len(values[0]) == 1
        return forward(*args, **kwargs)

    module.forward = recorded
    return calls


sandbox_calls.recording = forged_recording
"""
G_CALLED_TWICE = """
g(torch.randn(batch_size, g.dim_z, device=device))  # an extra call, its result unused
return -F.logsigmoid(d(g(z))).mean()
"""
CRITIC_PER_SAMPLE = """
alpha = torch.rand(batch_size, 1, 1, 1, device=device)
x_fake = g(z)
x_hat = alpha * x_fake + (1 - alpha) * x_real
grads = [torch.autograd.grad(d(x_hat[i:i + 1]).sum(), x_hat, create_graph=True)[0][i]
         for i in range(batch_size)]
norm = torch.stack(grads).reshape(batch_size, -1).norm(2, dim=1)
return d(x_fake).mean() - d(x_real).mean() + 10 * ((norm - 1) ** 2).mean()
"""


def attacked_source(module: str, bodies: dict[str, str], prefix: str = "",
                    replaced: tuple[str, str] | None = None) -> str:
    """The reference ``module`` with these blocks, ``prefix`` run at the end of its import,
    and the text ``replaced[0]`` replaced by ``replaced[1]``."""
    source = with_blocks(module, bodies)
    if replaced is not None:
        assert replaced[0] in source, replaced[0]
        source = source.replace(*replaced)
    return source + "\n" + prefix


class ForgedReportsTest(unittest.TestCase):
    def assert_no_gain(self, attacked: dict[str, str], plain: dict[str, str],
                       tests: tuple[str, ...]) -> dict[str, dict]:
        """Grades both uploads on ``tests``; checks that every test was judged (no error of
        the judge) and that the attack gained nothing on any; returns both results by test."""
        found = {}
        for name, upload in (("attacked", attacked), ("plain", plain)):
            _, printed, results = grade(files(**upload), *tests)
            found[name] = {test["number"]: test for test in results["tests"]}
            self.assertEqual(sorted(found[name]), sorted(tests), printed)
            judged = [test for test in results["tests"]
                      if "the grader could not judge" in test["output"]]
            self.assertEqual(judged, [], f"the judge failed on the {name} upload")
        gained = {test: (found["plain"][test]["score"], found["attacked"][test]["score"])
                  for test in tests
                  if found["attacked"][test]["score"] > found["plain"][test]["score"]}
        self.assertEqual(gained, {}, "points gained by the attack (plain, attacked)")
        return found

    def test_a_forged_leave_out_of_d_1_gains_nothing(self):
        # create_masks builds D = 1 yet takes a remainder by D - 1; forward and inverse
        # report for D = 1 that the given code cannot build it, or (plain) are wrong there.
        def upload(one_dimension: str) -> dict[str, str]:
            bodies = {
                method: one_dimension.format(value=value).strip() + "\n" + body
                for method, value, body in (
                    ("forward", "z", MADE_FORWARD), ("inverse", "x", MADE_INVERSE))}
            return {"flow_network": attacked_source(
                "flow_network", bodies, SANDBOX_PROTOCOL, (MASKS_WITH_REMAINDER, MASKS_GUARDED))}

        found = self.assert_no_gain(upload(ONE_DIMENSION_FORGED), upload(ONE_DIMENSION_WRONG),
                                    WITH_D_1)
        for test in WITH_D_1:  # every one has a D = 1 case, which both fail
            self.assertEqual(found["attacked"][test]["score"], 0, test)
            self.assertNotIn("left out", found["attacked"][test]["output"], test)

    def test_forged_gradients_gain_nothing(self):
        plain = {"gan": attacked_source("gan", {
            "loss_nonsaturating_g": G_DETACHED,
            "loss_wasserstein_gp_d": PENALTY_WITHOUT_GRAPH.format(forge="")})}
        attacked = {"gan": attacked_source("gan", {
            "loss_nonsaturating_g": G_DETACHED,
            "loss_wasserstein_gp_d": PENALTY_WITHOUT_GRAPH.format(forge=CLOSED_FORM)},
            FORGED_GRADIENTS)}
        tests = ("2b-0-basic", "2b-2-hidden", "2b-3-hidden", "5e-0-basic", "5e-2-hidden",
                 "5e-3-hidden")
        found = self.assert_no_gain(attacked, plain, tests)
        for test in tests:  # the gradients of the equations catch both flaws: each test of a
            # pair of losses keeps only the right loss's half (5e-2 judges the critic alone)
            self.assertEqual(found["attacked"][test]["score"],
                             0 if test == "5e-2-hidden" else POINTS[test] / 2, test)

    def test_forged_batch_sizes_of_self_net_gain_nothing(self):
        # Two passes of self.net with exact values: a note, no points at stake, either way.
        plain = {"flow_network": attacked_source("flow_network", {"inverse": INVERSE_TWO_PASSES})}
        attacked = {"flow_network": attacked_source("flow_network", {"inverse": INVERSE_TWO_PASSES},
                                                    FORGED_NET_BATCHES)}
        found = self.assert_no_gain(attacked, plain, ("1b-2-hidden",))
        self.assertEqual(found["plain"]["1b-2-hidden"]["score"], 1.5)
        self.assertIn("not graded: MADE.inverse called self.net 2 times",
                      found["plain"]["1b-2-hidden"]["output"])

    def test_forged_records_of_g_and_d_gain_nothing(self):
        # An extra call of G and a loop over samples for the penalty, values exact: the
        # records may explain a failing value, they decide nothing.
        bodies = {"loss_nonsaturating_g": G_CALLED_TWICE,
                  "loss_wasserstein_gp_d": CRITIC_PER_SAMPLE}
        plain = {"gan": attacked_source("gan", bodies)}
        attacked = {"gan": attacked_source("gan", bodies, FORGED_RECORDING)}
        found = self.assert_no_gain(attacked, plain, ("2b-3-hidden", "5e-3-hidden"))
        self.assertEqual(found["plain"]["2b-3-hidden"]["score"], 1.5)
        self.assertIn("not graded: the critic saw batches of [1",
                      found["plain"]["5e-3-hidden"]["output"])

    def test_records_of_the_given_codes_structure_decide_nothing(self):
        # Given code built otherwise, its values unchanged: ReLU as LeakyReLU(0), the
        # reversals of a subclass, samples as a tensor. Which classes the layers are and what
        # sample returns are the sandbox's records: notes, no points at stake.
        flow = reference("flow_network.py")
        for old, new in (("nn.ReLU()", "nn.LeakyReLU(0.0)"),
                         ("nf_blocks.append(PermuteLayer(input_size))",
                          "nf_blocks.append(Reversal(input_size))"),
                         ("return x.cpu().numpy()", "return x.cpu()")):
            self.assertIn(old, flow)
            flow = flow.replace(old, new)
        flow += "\n\nclass Reversal(PermuteLayer):\n    pass\n"
        tests = ("1a-1-hidden", "1c-3-hidden", "1c-4-hidden")
        _, printed, results = grade(files(flow_network=flow), *tests)
        found = {test["number"]: test for test in results["tests"]}
        self.assertEqual({test: found[test]["score"] for test in tests},
                         {test: POINTS[test] for test in tests}, printed)
        for test, note in (("1a-1-hidden", "not graded: MADE.net should be the layers "
                                           "MaskedLinear, ReLU, MaskedLinear"),
                           ("1c-3-hidden", "not graded: MAF.nf should be the blocks MADE, "
                                           "PermuteLayer"),
                           ("1c-4-hidden", "not graded: MAF.sample should return a numpy "
                                           "array")):
            self.assertIn(note, found[test]["output"], test)


# The reference's forward and inverse (after a D = 1 branch)
MADE_FORWARD = """
x = torch.zeros_like(z)
for _ in range(self.input_size):
    mu, alpha = self.net(x).chunk(2, dim=1)
    x = mu + z * torch.exp(alpha)
return x, alpha.sum(dim=1)
"""
MADE_INVERSE = """
mu, alpha = self.net(x).chunk(2, dim=1)
return (x - mu) * torch.exp(-alpha), -alpha.sum(dim=1)
"""


class LeaveOutTest(unittest.TestCase):
    """Which uploads may leave D = 1 out: the judge reads create_masks, and nothing else."""

    def test_only_the_course_starters_create_masks_comments_and_layout_aside(self):
        course = course_flow_network()
        annotated = course.replace("        D = self.input_size\n", (
            '        """Masks of the degrees."""\n\n        D = self.input_size  # dimension\n'))
        cases = {
            "the course's starter": (course, 53),
            "with a docstring, a comment and a blank line": (annotated, 55),
            "with the remainder guarded": (course.replace("k % (D - 1)", "k % max(D - 1, 1)"),
                                           None),
            "this repository's starter": (reference("flow_network.py"), None),
            "too long to read": (course + "#" * given_code.MAX_CHARS, None),
            "not Python": (course + "\ndef (", None),
            # The starter's text, and something else that could build D = 1 after all.
            "create_masks replaced after the class": (
                course + "\nMADE.create_masks = lambda self: []\n", None),
            "create_masks replaced through setattr": (
                course + "\nsetattr(MADE, 'create_masks', None)\n", None),
            "MADE bound again": (course + "\nMADE = PermuteLayer\n", None),
            "create_masks decorated": (course.replace(
                "    def create_masks(self):", "    @staticmethod\n    def create_masks(self):"),
                None),
        }
        for case, (source, line) in cases.items():
            with self.subTest(case=case):
                self.assertEqual(course_masks.course_masks_line(source.encode()), line)

    def test_the_upload_is_parsed_once(self):
        source = course_flow_network().encode()
        course_masks.course_masks_line.cache_clear()
        with mock.patch.object(course_masks.ast, "parse", wraps=ast.parse) as parse:
            for _ in range(20):  # as many reports as a grading run may make
                course_masks.course_masks_line(source)
        self.assertEqual(parse.call_count, 1)


if __name__ == "__main__":
    unittest.main()
