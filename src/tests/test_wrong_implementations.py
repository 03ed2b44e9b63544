"""The grader still catches what it caught when it ran the submission in its own process:
wrong implementations, two at a time (one in flow_network.py, one in gan.py), fail exactly the
tests that the grader of commit 9d17883 failed them on (found by running it on each), and
more where a test's verdict now rests on a value the judge computes instead of on records of
the sandbox alone: 2b-3 for the two wrong losses (records of G's calls decide nothing; the
loss's value is checked against equations 10 and 11), and 1a-1 for the two wrong forwards (the
masks and layer types are records; MADE.forward's x is checked against x_i = mu_i + z_i
exp(alpha_i)); 5e-0 for the penalty without create_graph, since the basic test also checks a
linear critic's gradient (caught before the hand-in); and 5e-3 for it too, since the gradients
a loss sends are compared with those of its equation."""

import json
import unittest

from course import manifest
from tests.submissions import SRC, files, grade, reference, replace_block, with_blocks

POINTS = json.loads((SRC / manifest.POINTS).read_text())

WRONG = {
    "forward: x = mu - z exp(alpha)": ("forward", """
x = torch.zeros_like(z)
for _ in range(self.input_size):
    mu, alpha = self.net(x).chunk(2, dim=1)
    x = mu - z * torch.exp(alpha)
return x, alpha.sum(dim=1)
"""),
    "forward: one pass at z": ("forward", """
mu, alpha = self.net(z).chunk(2, dim=1)
return mu + z * torch.exp(alpha), alpha.sum(dim=1)
"""),
    "inverse: log_det = +sum alpha": ("inverse", """
mu, alpha = self.net(x).chunk(2, dim=1)
return (x - mu) * torch.exp(-alpha), alpha.sum(dim=1)
"""),
    "log_prob: log-dets subtracted": ("log_prob", """
z, log_det_sum = x, x.new_zeros(x.shape[0])
for flow in self.nf:
    z, log_det = flow.inverse(z)
    log_det_sum = log_det_sum + log_det
return self.base_dist.log_prob(z).sum(dim=1) - log_det_sum
"""),
    "D loss without the reals": ("loss_nonsaturating_d", "return -F.logsigmoid(-d(g(z))).mean()"),
    "G loss: minimax": ("loss_nonsaturating_g", "return F.logsigmoid(-d(g(z))).mean()"),
    "conditional D: fakes scored with label 0": ("conditional_loss_nonsaturating_d", """
x_fake = g(z, y_real)
return (-F.logsigmoid(d(x_real, y_real)).mean()
        - F.logsigmoid(-d(x_fake, torch.zeros_like(y_real))).mean())
"""),
    "critic: penalty without create_graph": ("loss_wasserstein_gp_d", """
alpha = torch.rand(batch_size, 1, 1, 1, device=device)
x_fake = g(z)
x_hat = (alpha * x_fake + (1 - alpha) * x_real).detach().requires_grad_(True)
(grad,) = torch.autograd.grad(d(x_hat).sum(), x_hat)
norm = grad.reshape(batch_size, -1).norm(2, dim=1)
return d(x_fake).mean() - d(x_real).mean() + 10 * ((norm - 1) ** 2).mean()
"""),
    "critic: alpha drawn before z": ("loss_wasserstein_gp_d", """
alpha = torch.rand(batch_size, 1, 1, 1, device=device)
z = torch.randn(batch_size, g.dim_z, device=device)
x_fake = g(z)
x_hat = alpha * x_fake + (1 - alpha) * x_real
(grad,) = torch.autograd.grad(d(x_hat).sum(), x_hat, create_graph=True)
norm = grad.reshape(batch_size, -1).norm(2, dim=1)
return d(x_fake).mean() - d(x_real).mean() + 10 * ((norm - 1) ** 2).mean()
"""),
}

CONDITIONAL_G_MINIMAX = ("conditional_loss_nonsaturating_g",
                         "return F.logsigmoid(-d(g(z, y_real), y_real)).mean()")

# The tests each wrong implementation fails (the 0-point checks of written answers aside).
FAILS = {
    "forward: x = mu - z exp(alpha)": ["1a-0-basic", "1a-1-hidden", "1a-2-hidden", "1a-4-hidden",
                                       "1c-4-hidden"],
    "forward: one pass at z": ["1a-0-basic", "1a-1-hidden", "1a-2-hidden", "1a-3-hidden",
                               "1a-4-hidden"],
    "inverse: log_det = +sum alpha": ["1b-0-basic", "1b-1-hidden", "1b-2-hidden", "1c-0-basic",
                                      "1c-1-hidden", "1c-2-hidden", "1c-3-hidden"],
    "log_prob: log-dets subtracted": ["1c-0-basic", "1c-1-hidden", "1c-2-hidden", "1c-3-hidden"],
    "D loss without the reals": ["2b-0-basic", "2b-1-hidden", "2b-2-hidden", "2b-3-hidden"],
    "G loss: minimax": ["2b-0-basic", "2b-1-hidden", "2b-2-hidden", "2b-3-hidden"],
    "conditional D: fakes scored with label 0": ["4b-0-basic", "4b-1-hidden", "4b-2-hidden",
                                                 "4b-3-hidden"],
    "critic: penalty without create_graph": ["5e-0-basic", "5e-2-hidden", "5e-3-hidden"],
    "critic: alpha drawn before z": ["5e-0-basic", "5e-1-hidden", "5e-2-hidden", "5e-3-hidden"],
}

PAIRS = [  # (a wrong flow_network.py, a wrong gan.py), graded together
    ("forward: x = mu - z exp(alpha)", "D loss without the reals"),
    ("forward: one pass at z", "G loss: minimax"),
    ("inverse: log_det = +sum alpha", "conditional D: fakes scored with label 0"),
    ("log_prob: log-dets subtracted", "critic: penalty without create_graph"),
    (None, "critic: alpha drawn before z"),
]


def wrong(module: str, name: str | None) -> str:
    """``module``'s reference source, with the wrong implementation ``name`` in it."""
    source = reference(f"{module}.py")
    if name is None:
        return source
    function, body = WRONG[name]
    return replace_block(source, function, body.strip())


class WrongImplementationsTest(unittest.TestCase):
    def test_each_fails_the_tests_it_failed_before(self):
        for flow, gan in PAIRS:
            with self.subTest(flow_network=flow, gan=gan):
                upload = files(flow_network=wrong("flow_network", flow), gan=wrong("gan", gan))
                status, _, results = grade(upload)
                failed = sorted(test["number"] for test in results["tests"]
                                if test["score"] < test["max_score"])
                self.assertEqual(failed, sorted(FAILS.get(flow, []) + FAILS[gan]))
                self.assertEqual(status, 1)

    def test_a_wrong_loss_costs_the_loss_beside_it_nothing(self):
        # A wrong D loss beside a right G loss (2b), a right D loss beside a wrong G loss (4b):
        # every test of the pair judges each loss alone, and the right one earns its half.
        gan = with_blocks("gan", dict((WRONG["D loss without the reals"], CONDITIONAL_G_MINIMAX)))
        tests = sorted(test for test, value in POINTS.items() if test[:2] in ("2b", "4b") and value)
        _, _, results = grade(files(gan=gan), *tests)
        found = {test["number"]: test for test in results["tests"]}
        self.assertEqual({test: found[test]["score"] for test in tests},
                         {test: POINTS[test] / 2 for test in tests})
        for test in tests:
            wrong_loss = ("loss_nonsaturating_d" if test.startswith("2b")
                          else "conditional_loss_nonsaturating_g")
            self.assertTrue(found[test]["output"].startswith(f"[{wrong_loss}"),
                            found[test]["output"])


if __name__ == "__main__":
    unittest.main()
