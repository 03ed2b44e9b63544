"""Mistakes seen in students' code, each with the tests it must fail and what their messages
must say: the failure names the mistake in the student's terms, not only that a value is off.

Each mistake is graded in a copy of the reference with its block changed; an upload holds
several mistakes, in functions whose tests do not overlap, so that no test sees two."""

import unittest

from tests.submissions import files, grade, reference, replace_block
from tests.test_wrong_implementations import WRONG

FORWARD_LOOP = """
x = torch.zeros_like(z)
for _ in range({passes}):
    mu, alpha = self.net(x).chunk(2, dim=1)
    x = mu + z * torch.exp(alpha)
return x, {log_det}
"""
LOG_PROB = """
z, log_det_sum = x, x.new_zeros(x.shape[0])
for flow in {blocks}:
    z, log_det = flow.inverse(z)
    log_det_sum = log_det_sum + log_det
return {value}
"""
CONDITIONAL_D = """
{labels}x_fake = g(z, {g_labels})
return (-F.logsigmoid(d(x_real, y_real)).mean()
        - F.logsigmoid(-d(x_fake, {d_labels})).mean())
"""
CRITIC = """
{before}alpha = {alpha}
{after}x_fake = g(z)
x_hat = alpha * x_fake + (1 - alpha) * x_real
(grad,) = torch.autograd.grad(d(x_hat).{reduce}(), x_hat, create_graph=True)
norm = {norm}
return d(x_fake).mean() - d(x_real).mean() + 10 * ((norm - 1) ** 2).mean()
"""
PER_SAMPLE_NORM = "grad.reshape(batch_size, -1).norm(2, dim=1)"
ALPHA = "torch.rand(batch_size, 1, 1, 1, device=device)"

# A ratio without its reason: any two scalars have one, so only a batch size or -1 is named
BARE_RATIO = (r"times the expected value"
              r"(?!: a (sum|mean) where a (mean|sum) is asked for \(over the batch of)")


def critic(before: str = "", alpha: str = ALPHA, after: str = "", reduce: str = "sum",
           norm: str = PER_SAMPLE_NORM) -> str:
    return CRITIC.format(before=before, alpha=alpha, after=after, reduce=reduce, norm=norm)


# name: (module, function, body, {test: a fragment its message must hold, or a tuple of them
# (fragments): a line's number is not written here, the code that the message quotes from it
# is; nor are the values of a basic test, which the students' grader draws otherwise})
MISTAKES = {
    "forward: log_det with the inverse's sign": ("flow_network", "forward", FORWARD_LOOP.format(
        passes="self.input_size", log_det="-alpha.sum(dim=1)"), {
            "1a-0-basic": "the inverse's sign, -sum(alpha)",
            "1a-3-hidden": "this is what the inverse's sign"}),
    "forward: log_det None": ("flow_network", "forward", FORWARD_LOOP.format(
        passes="self.input_size", log_det="None"), {
            "1a-0-basic": "[1] (log_det) should be a torch.Tensor, got NoneType"}),
    "forward: one pass on z": ("flow_network", "forward", """
mu, alpha = self.net(z).chunk(2, dim=1)
return mu + z * torch.exp(alpha), alpha.sum(dim=1)
""", {"1a-0-basic": "this is what one pass of self.net on z",
      "1a-1-hidden": "this is what one pass of self.net on z"}),
    "forward: range(D - 1), the last column left at 0": ("flow_network", "forward", """
x = torch.zeros_like(z)
log_det = torch.zeros_like(z[:, 0])
for i in range(self.input_size - 1):
    mu, alpha = self.net(x).chunk(2, dim=1)
    x[:, i] = mu[:, i] + z[:, i] * torch.exp(alpha[:, i])
    log_det += alpha[:, i]
return x, log_det
""", {"1a-0-basic": "x is wrong: got the rows below, wrong in column 1 alone (off by up to ",
      "1a-1-hidden": "[D=1, n_hidden=0] x is wrong: got the rows below (off by up to 1.49; "
                     "tolerance 1e-05): this is what the last dimension x[:, 0] left unfilled "
                     "(x is still 0, where the loop began; does a loop over range(D - 1) stop "
                     "one short?"}),
    "forward: range(D - 1) passes of the whole x": ("flow_network", "forward", FORWARD_LOOP.format(
        passes="self.input_size - 1", log_det="alpha.sum(dim=1)"), {
            "1a-0-basic": ("this is what the last dimension x[:, 1] left unfilled (x[:, :1] "
                           "is right; does a loop over range(D - 1) stop one short? each of "
                           "the D dimensions needs a pass, range(D)) gives\n", "  row 0: got ["),
            "1a-4-hidden": "this is what the last dimension x[:, 2] left unfilled"}),
    "forward: a loop over the rows": ("flow_network", "forward", FORWARD_LOOP.format(
        passes="z.shape[0]", log_det="alpha.sum(dim=1)"), {
            "1a-4-hidden": "the loop should run over the D dimensions, not the rows"}),
    "inverse: log_det = +sum alpha": ("flow_network", "inverse", """
mu, alpha = self.net(x).chunk(2, dim=1)
return (x - mu) * torch.exp(-alpha), alpha.sum(dim=1)
""", {"1b-0-basic": "this is what the forward's sign, +sum(alpha)",
      "1b-1-hidden": "this is what the forward's sign"}),
    "inverse: a loop over range(D - 1)": ("flow_network", "inverse", """
mu, alpha = self.net(x).chunk(2, dim=1)
z = torch.zeros_like(x)
for i in range(self.input_size - 1):
    z[:, i] = (x[:, i] - mu[:, i]) * torch.exp(-alpha[:, i])
return z, -alpha[:, :-1].sum(dim=1)
""", {"1b-0-basic": ("z is wrong: got the rows below, wrong in column 1 alone (off by up to ",
                     "this is what the last dimension z[:, 1] left unfilled (z[:, :1] is "
                     "right;")}),
    "inverse: exp(+alpha)": ("flow_network", "inverse", """
mu, alpha = self.net(x).chunk(2, dim=1)
return (x - mu) * torch.exp(alpha), -alpha.sum(dim=1)
""", {"1b-0-basic": "exp(+alpha) in place of exp(-alpha)"}),
    "log_prob: log-dets subtracted": ("flow_network", "log_prob", LOG_PROB.format(
        blocks="self.nf", value="self.base_dist.log_prob(z).sum(dim=1) - log_det_sum"), {
            "1c-0-basic": "this is what the log-dets subtracted"}),
    "log_prob: blocks in reversed order": ("flow_network", "log_prob", LOG_PROB.format(
        blocks="reversed(self.nf)", value="self.base_dist.log_prob(z).sum(dim=1) + log_det_sum"),
        {"1c-0-basic": "this is what the blocks taken in reversed order"}),
    "log_prob: (B, D), not summed over D": ("flow_network", "log_prob", LOG_PROB.format(
        blocks="self.nf", value="self.base_dist.log_prob(z) + log_det_sum[:, None]"), {
            "1c-0-basic": "log N(z_d) averaged over the dimensions, not summed",
            "1c-1-hidden": "one value per row, got (8, 1): log N(z; 0, I) is the sum"}),
    "log_prob: torch.zeros(B) without device, added": ("flow_network", "log_prob", """
z, log_det_sum = x, torch.zeros(x.shape[0])
for flow in self.nf:
    z, log_det = flow.inverse(z)
    log_det_sum = log_det_sum + log_det
return self.base_dist.log_prob(z).sum(dim=1) + log_det_sum
""", {"1c-0-basic": ("MAF.log_probs mixes devices: run with its inputs on another device "
                     "(PyTorch's meta device, as on a GPU with --device gpu), it fails at "
                     "submission/flow_network.py, line ",
                     ", in log_prob: `log_det_sum = log_det_sum + log_det` (Tensor on device "
                     "meta is not on the expected device cpu!). A tensor made without device= "
                     "is on the CPU: make each new tensor where the inputs are, torch.zeros(B, "
                     "device=x.device), x.new_zeros(B)")}),
    "log_prob: torch.zeros(B) without device, added in place": ("flow_network", "log_prob", """
z, log_det_sum = x, torch.zeros(x.shape[0])
for flow in self.nf:
    z, log_det = flow.inverse(z)
    log_det_sum += log_det
return self.base_dist.log_prob(z).sum(dim=1) + log_det_sum
""", {"1c-0-basic": ("it fails at submission/flow_network.py, line ",
                     ", in log_prob: `return self.base_dist.log_prob(z).sum(dim=1) + "
                     "log_det_sum` (Tensor on device cpu is not on the expected device meta!)")}),

    "G loss: a sum, not a mean": ("gan", "loss_nonsaturating_g",
                                  "return -F.logsigmoid(d(g(z))).sum()", {
        "2b-0-basic": "it is 6 times the expected value: a sum where a mean is asked for"}),
    "G loss: halved (no hint: a ratio that is not the batch size says nothing)": (
        "gan", "loss_nonsaturating_g", "return -F.logsigmoid(d(g(z))).mean() / 2", {
            "2b-0-basic": "loss_nonsaturating_g is wrong: got "}),
    "G loss: targets of ones without device": ("gan", "loss_nonsaturating_g", """
fake = d(g(z))
return F.binary_cross_entropy_with_logits(fake, torch.ones(batch_size))
""", {"2b-0-basic": ("loss_nonsaturating_g mixes devices: run with its inputs on another "
                     "device (PyTorch's meta device, as on a GPU with --device gpu), it fails "
                     "at submission/gan.py, line ",
                     ", in loss_nonsaturating_g: `return F.binary_cross_entropy_with_logits("
                     "fake, torch.ones(batch_size))`")}),
    "G loss: log(sigmoid(h)) written out": ("gan", "loss_nonsaturating_g",
                                            "return -torch.log(torch.sigmoid(d(g(z)))).mean()", {
        "2b-0-basic": "log(sigmoid(h)) and log(1 - sigmoid(h)) written out overflow",
        "2b-2-hidden": "write them as F.logsigmoid(h) and F.logsigmoid(-h)"}),
    "G loss: through a detached sample": ("gan", "loss_nonsaturating_g",
                                          "return -F.logsigmoid(d(g(z).detach())).mean()", {
        "2b-0-basic": "is its input detached, e.g. g(z).detach()"}),
    "D loss: log(1 - sigmoid(h)) written out": ("gan", "loss_nonsaturating_d", """
return (-torch.log(torch.sigmoid(d(x_real))).mean()
        - torch.log(1 - torch.sigmoid(d(g(z)))).mean())
""", {"2b-0-basic": "is inf at logits near -100: log(sigmoid(h))",
      "2b-2-hidden": "write them as F.logsigmoid(h) and F.logsigmoid(-h)"}),
    "D loss: logsigmoid(1 - h)": ("gan", "loss_nonsaturating_d", """
return -F.logsigmoid(d(x_real)).mean() - F.logsigmoid(1 - d(g(z))).mean()
""", {"2b-0-basic": "this is what the fakes' term -E log(1 - D(G(z))) written as "
                  "logsigmoid(1 - h)"}),
    "D loss: + on the fakes' term": ("gan", "loss_nonsaturating_d", """
return -F.logsigmoid(d(x_real)).mean() + F.logsigmoid(-d(g(z))).mean()
""", {"2b-0-basic": "this is what the fakes' term -E log(1 - D(G(z))) with the wrong sign"}),
    "D loss: the fakes' term as -log D(G(z))": ("gan", "loss_nonsaturating_d", """
return -F.logsigmoid(d(x_real)).mean() - F.logsigmoid(d(g(z))).mean()
""", {"2b-0-basic": "this is what the fakes' term -E log(1 - D(G(z))) written as "
                    "-E log D(G(z)), the generator's form"}),
    "conditional G loss: minimax": ("gan", "conditional_loss_nonsaturating_g",
                                    "return F.logsigmoid(-d(g(z, y_real), y_real)).mean()", {
        "4b-0-basic": "this is what the minimax form E log(1 - D(G(z, y), y))"}),
    "conditional D: fake labels from two classes": ("gan", "conditional_loss_nonsaturating_d",
                                                    CONDITIONAL_D.format(
        labels="y_fake = torch.randint(0, 2, (batch_size,), device=device)\n",
        g_labels="y_fake", d_labels="y_fake"), {
            "4b-0-basic": "not the real labels y_real",
            "4b-2-hidden": "only), not the real labels y_real"}),
    "conditional D: fake labels from torch.randint(10)": (
        "gan", "conditional_loss_nonsaturating_d", CONDITIONAL_D.format(
            labels="y_fake = torch.randint(0, 10, (batch_size,), device=device)\n",
            g_labels="y_fake", d_labels="y_fake"), {
            "4b-0-basic": "the test's batch has 4 classes (0 to 3): the fakes' labels should "
                          "be the real ones"}),
    "conditional D: fake labels from torch.randint(g.num_classes)": (
        "gan", "conditional_loss_nonsaturating_d", CONDITIONAL_D.format(
            labels="y_fake = torch.randint(g.num_classes, (batch_size,), device=device)\n",
            g_labels="y_fake", d_labels="y_fake"), {
            "4b-0-basic": "not the real labels y_real = "}),
    "conditional D: G and D given different labels": (
        "gan", "conditional_loss_nonsaturating_d", CONDITIONAL_D.format(
            labels="", g_labels="y_real", d_labels="y_real.roll(1)"), {
            "4b-0-basic": "score each image with the label it was made for",
            "4b-2-hidden": "score each image with the label it was made for"}),
    "critic: the norm of the whole batch's gradient": ("gan", "loss_wasserstein_gp_d", critic(
        norm="grad.norm(2)"), {"5e-0-basic": "this is what the norm of the whole batch's"}),
    "critic: per-channel gradient norms": ("gan", "loss_wasserstein_gp_d", critic(
        norm="grad.norm(2, dim=(2, 3))"), {"5e-0-basic": "this is what per-channel gradient"}),
    "critic: alpha per pixel": ("gan", "loss_wasserstein_gp_d", critic(
        alpha="torch.rand_like(x_real)"), {"5e-0-basic": "this is what alpha drawn per pixel"}),
    "critic: one alpha for the batch": ("gan", "loss_wasserstein_gp_d", critic(
        alpha="torch.rand(1, device=device)"), {
            "5e-0-basic": "this is what one alpha for the whole batch"}),
    "critic: alpha drawn before z": ("gan", "loss_wasserstein_gp_d", critic(
        after="z = torch.randn(batch_size, g.dim_z, device=device)\n"), {
            "5e-0-basic": "this is what alpha drawn before z"}),
    "critic: alpha drawn without device": ("gan", "loss_wasserstein_gp_d", critic(
        alpha="torch.rand(batch_size, 1, 1, 1)"), {
            "5e-0-basic": ("loss_wasserstein_gp_d mixes devices: run with its inputs on "
                           "another device (PyTorch's meta device, as on a GPU with --device "
                           "gpu), it fails at submission/gan.py, line ",
                           ", in loss_wasserstein_gp_d: `x_hat = alpha * x_fake + (1 - alpha) "
                           "* x_real`")}),
    "critic: the norm over the last axis": ("gan", "loss_wasserstein_gp_d", critic(
        norm="grad.norm(2, dim=-1)"), {"5e-0-basic": "this is what the norm over the last axis"}),
    "critic: the gradient of the batch mean": ("gan", "loss_wasserstein_gp_d", critic(
        reduce="mean"), {"5e-0-basic": "this is what the gradient of the batch mean"}),
    "critic: + on the reals' term": ("gan", "loss_wasserstein_gp_d", critic().replace(
        "- d(x_real).mean()", "+ d(x_real).mean()"), {
            "5e-0-basic": "this is what the reals' term -E D(x) with the wrong sign"}),
    "conditional D: the reals' term summed": ("gan", "conditional_loss_nonsaturating_d", """
x_fake = g(z, y_real)
return (-F.logsigmoid(d(x_real, y_real)).sum()
        - F.logsigmoid(-d(x_fake, y_real)).mean())
""", {"4b-0-basic": "this is what the reals' term -E log D(x, y) summed over the batch, not "
                    "averaged"}),
    "critic: penalty without create_graph": (
        "gan", "loss_wasserstein_gp_d", WRONG["critic: penalty without create_graph"][1], {
            "5e-0-basic": "this is what a penalty whose gradient never reaches the critic",
            "5e-2-hidden": "this is what a penalty whose gradient never reaches the critic"}),
}


def each_fragment(fragments: str | tuple[str, ...]) -> tuple[str, ...]:
    """The fragments that a message must hold, from the entry of a test in MISTAKES."""
    return (fragments,) if isinstance(fragments, str) else fragments


def family(function: str) -> str:
    """The functions whose tests overlap: an upload holds one mistake of each family."""
    if function in ("inverse", "log_prob"):  # MAF.log_prob calls MADE.inverse
        return "density"
    for kind in ("conditional", "wasserstein"):
        if kind in function:
            return kind
    return function if function == "forward" else "nonsaturating"


def uploads() -> list[tuple[list[str], dict[str, str]]]:
    """The mistakes in as few uploads as can hold them, one of each family in each, every
    upload with the names of its mistakes."""
    by_family: dict[str, list[str]] = {}
    for name, (_, function, _, _) in MISTAKES.items():
        by_family.setdefault(family(function), []).append(name)
    found = []
    for index in range(max(map(len, by_family.values()))):
        names = [members[index] for members in by_family.values() if index < len(members)]
        sources: dict[str, str] = {}
        for name in names:
            module, function, body, _ = MISTAKES[name]
            source = sources.get(module, reference(f"{module}.py"))
            sources[module] = replace_block(source, function, body.strip())
        found.append((names, files(**sources)))
    return found


class MistakeMessagesTest(unittest.TestCase):
    def test_each_mistake_is_named(self):
        for names, upload in uploads():
            tests = sorted({test for name in names for test in MISTAKES[name][3]})
            _, _, results = grade(upload, *tests)
            outputs = {test["number"]: test for test in results["tests"]}
            for name in names:
                for test, fragments in MISTAKES[name][3].items():
                    with self.subTest(mistake=name, test=test):
                        found = outputs[test]
                        self.assertLess(found["score"], found["max_score"])
                        for fragment in each_fragment(fragments):
                            self.assertIn(fragment, found["output"])
                        self.assertNotRegex(found["output"], BARE_RATIO)


if __name__ == "__main__":
    unittest.main()
