"""The grader never fails correct code: implementations written differently from ours, each
graded by a copy of the whole grader on the tests of its problem, earn every point. As root
(CI), each is graded both with the submission as a user of its own and as on a laptop
(``--sandbox-user none``), and one upload gets the same verdicts either way."""

import json
import os
import unittest

from course import manifest
from tests.submissions import SRC, files, grade, reference, replace_block, with_blocks

POINTS = json.loads((SRC / manifest.POINTS).read_text())
FLOW_TESTS = sorted(test for test, value in POINTS.items() if test.startswith("1") and value)
GAN_TESTS = sorted(test for test, value in POINTS.items() if test[:2] in ("2b", "4b", "5e"))
# The local grader's modes: "auto" runs the submission as a user of its own where the grader
# is root; "none" as the grader's own user, as on a laptop.
MODES = ("auto", "none") if os.geteuid() == 0 else ("none",)

FORWARD_IN_PLACE = """
x = torch.zeros_like(z)
log_det = torch.zeros_like(z[:, 0])
for i in range(self.input_size):
    mu, alpha = self.net(x).chunk(2, dim=1)
    x[:, i] = mu[:, i] + z[:, i] * torch.exp(alpha[:, i])
    log_det += alpha[:, i]
return x, log_det
"""
INVERSE_DIVIDES = """
mu, alpha = self.net(x).chunk(2, dim=1)
return (x - mu) / torch.exp(alpha), -torch.sum(alpha, dim=1)
"""
LOG_PROB_BY_HAND = """
log_dets = []
z = x
for flow in self.nf:
    z, log_det = flow.inverse(z)
    log_dets.append(log_det)
log_base = -0.5 * (z**2).sum(dim=1) - 0.5 * z.shape[1] * np.log(2 * np.pi)
return log_base + torch.stack(log_dets).sum(dim=0)
"""
# Tensors made without dtype= (torch.zeros(B, D)): float32 in training, float64 where the
# judge's inputs are float64. The problem set asks for no dtype.
WITHOUT_DTYPE = {
    "forward": """
x = torch.zeros(z.shape[0], z.shape[1], device=z.device)
for i in range(self.input_size):
    mu, alpha = self.net(x).chunk(2, dim=1)
    x[:, i] = mu[:, i] + z[:, i] * torch.exp(alpha[:, i])
return x, alpha.sum(dim=1)
""",
    "log_prob": """
log_prob = torch.zeros(x.shape[0], device=x.device)
z = x
for flow in self.nf:
    z, log_det = flow.inverse(z)
    log_prob += log_det
log_prob += self.base_dist.log_prob(z).sum(dim=1)
return log_prob
""",
}
# Log-dets summed in float32 whatever the inputs: float32 results for float64 inputs, right to
# float32's precision.
IN_FLOAT32 = {
    "forward": """
x = torch.zeros_like(z)
log_det = torch.zeros(z.shape[0], dtype=torch.float32, device=z.device)
for i in range(self.input_size):
    mu, alpha = self.net(x).chunk(2, dim=1)
    x[:, i] = mu[:, i] + z[:, i] * torch.exp(alpha[:, i])
    log_det += alpha[:, i]
return x, log_det
""",
    "inverse": """
mu, alpha = self.net(x).chunk(2, dim=1)
log_det = torch.zeros(x.shape[0], dtype=torch.float32, device=x.device)
log_det -= alpha.sum(dim=1)
return (x - mu) * torch.exp(-alpha), log_det
""",
    "log_prob": """
log_prob = torch.zeros(x.shape[0], dtype=torch.float32, device=x.device)
z = x
for flow in self.nf:
    z, log_det = flow.inverse(z)
    log_prob += log_det
log_prob += self.base_dist.log_prob(z).sum(dim=1)
return log_prob
""",
}
BCE = {
    "loss_nonsaturating_d": """
real, fake = d(x_real), d(g(z))
return (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
        + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
""",
    "loss_nonsaturating_g": """
fake = d(g(z))
return F.binary_cross_entropy_with_logits(fake, torch.ones(batch_size, device=device))
""",
    "conditional_loss_nonsaturating_d": """
real, fake = d(x_real, y_real), d(g(z, y_real), y_real)
return (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
        + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
""",
    "conditional_loss_nonsaturating_g": """
fake = d(g(z, y_real), y_real)
return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))
""",
}
SOFTPLUS = {
    "loss_nonsaturating_d": "return F.softplus(-d(x_real)).mean() + F.softplus(d(g(z))).mean()",
    "loss_nonsaturating_g": "return F.softplus(-d(g(z))).mean()",
    "conditional_loss_nonsaturating_d":
        "return (F.softplus(-d(x_real, y_real)).mean()\n"
        "        + F.softplus(d(g(z, y_real), y_real)).mean())",
    "conditional_loss_nonsaturating_g": "return F.softplus(-d(g(z, y_real), y_real)).mean()",
}
WGAN_GP_DETACHED = """
x_fake = g(z).detach()
alpha = torch.rand(batch_size, 1, 1, 1, device=device)
x_hat = (alpha * x_fake + (1 - alpha) * x_real).requires_grad_(True)
scores = d(x_hat)
(grad,) = torch.autograd.grad(scores, x_hat, grad_outputs=torch.ones_like(scores),
                              create_graph=True)
penalty = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
return d(x_fake).mean() - d(x_real).mean() + 10 * penalty
"""

# Legal beside tensors on any device (a GPU's, or the meta device of the basic tests): a CPU
# index, a 0-dim CPU tensor
FORWARD_CPU_INDEX = """
x = torch.zeros_like(z)
for i in torch.arange(self.input_size):
    mu, alpha = self.net(x).chunk(2, dim=1)
    x[:, i] = mu[:, i] + z[:, i] * torch.exp(alpha[:, i])
return x, alpha.sum(dim=1)
"""
LOG_PROB_CPU_SCALAR = """
z, log_det_sum = x, 0
for flow in self.nf:
    z, log_det = flow.inverse(z)
    log_det_sum = log_det_sum + log_det
log_2pi = torch.log(torch.tensor(2 * np.pi, dtype=z.dtype))
return -0.5 * (z**2 + log_2pi).sum(dim=1) + log_det_sum
"""
CRITIC_CPU_SCALAR = """
lam = torch.tensor(10.0)
alpha = torch.rand(batch_size, 1, 1, 1, device=device)
x_fake = g(z)
x_hat = (alpha * x_fake + (1 - alpha) * x_real).detach().requires_grad_(True)
(grad,) = torch.autograd.grad(d(x_hat).sum(), x_hat, create_graph=True)
penalty = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
return d(x_fake).mean() - d(x_real).mean() + lam * penalty
"""


def upload_with(module: str, bodies: dict[str, str]) -> dict[str, str]:
    """The reference submission with the blocks of these functions of ``module`` replaced."""
    return files(**{module: with_blocks(module, bodies)})


class CorrectVariantsTest(unittest.TestCase):
    def assert_full_points(self, upload: dict[str, str], tests: list[str]) -> None:
        for mode in MODES:
            with self.subTest(mode=mode):
                status, printed, results = grade(upload, *tests, sandbox_user=mode)
                short = {test["number"]: test["output"] for test in results["tests"]
                         if test["score"] < test["max_score"]}
                self.assertEqual(short, {})
                self.assertEqual(status, 0, printed)

    @unittest.skipUnless(len(MODES) == 2, "only root can run the submission as another user")
    def test_one_upload_gets_the_same_verdicts_either_way(self):
        # Right and wrong functions side by side: the identity as MADE.forward, the minimax
        # generator loss, the reference's other functions.
        upload = files(
            flow_network=replace_block(reference("flow_network.py"), "forward",
                                       "return z.clone(), z.new_zeros(len(z))"),
            gan=replace_block(reference("gan.py"), "loss_nonsaturating_g",
                              "return -F.softplus(d(g(z))).mean()"))
        verdicts = {}
        for mode in MODES:
            _, printed, results = grade(upload, sandbox_user=mode)
            verdicts[mode] = ([(test["number"], test["score"], test["output"])
                               for test in results["tests"]], printed.splitlines()[-1])
        self.assertEqual(verdicts["auto"], verdicts["none"])
        failed = [number for number, score, _ in verdicts["auto"][0] if score < POINTS[number]]
        self.assertIn("1a-0-basic", failed)
        self.assertIn("2b-3-hidden", failed)

    def test_forward_that_writes_columns_in_place(self):
        self.assert_full_points(upload_with("flow_network", {"forward": FORWARD_IN_PLACE}),
                                FLOW_TESTS)

    def test_inverse_that_divides_by_exp_alpha(self):
        self.assert_full_points(upload_with("flow_network", {"inverse": INVERSE_DIVIDES}),
                                FLOW_TESTS)

    def test_log_prob_written_out_by_hand(self):
        self.assert_full_points(upload_with("flow_network", {"log_prob": LOG_PROB_BY_HAND}),
                                FLOW_TESTS)

    def test_tensors_made_without_dtype(self):
        self.assert_full_points(upload_with("flow_network", WITHOUT_DTYPE), FLOW_TESTS)

    def test_float32_results_for_float64_inputs(self):
        self.assert_full_points(upload_with("flow_network", IN_FLOAT32), FLOW_TESTS)

    def test_losses_with_binary_cross_entropy(self):
        self.assert_full_points(upload_with("gan", BCE), GAN_TESTS)

    def test_losses_with_softplus(self):
        self.assert_full_points(upload_with("gan", SOFTPLUS), GAN_TESTS)

    def test_cpu_indices_and_scalars_beside_another_device(self):
        self.assert_full_points(
            upload_with("flow_network", {"forward": FORWARD_CPU_INDEX,
                                         "log_prob": LOG_PROB_CPU_SCALAR}), FLOW_TESTS)
        self.assert_full_points(upload_with("gan", {"loss_wasserstein_gp_d": CRITIC_CPU_SCALAR}),
                                GAN_TESTS)

    def test_critic_loss_with_the_fake_batch_detached(self):
        self.assert_full_points(upload_with("gan", {"loss_wasserstein_gp_d": WGAN_GP_DETACHED}),
                                GAN_TESTS)


if __name__ == "__main__":
    unittest.main()
