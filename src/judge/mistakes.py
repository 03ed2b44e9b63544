"""What known wrong implementations of the graded functions give, by description, so that a
failing value can name its mistake: the judge computes each from the same weights, inputs and
draws as the right value (judge/flow_references.py, judge/gan_references.py).

Only the full grader imports this module: it is in the Gradescope bundle, never in the
students' copy (course/manifest.py's JUDGE_ONLY).
"""

import itertools
from typing import NamedTuple

import torch
from torch import Tensor, nn

from judge.common import SEED
from judge.flow_references import (
    Net,
    net_mu_alpha,
    reference_flow_inverse,
    reference_forward,
    standard_normal_log_density,
)
from judge.gan_references import LAMBDA, Scored, input_gradients, neg_log_sigmoid, scored

# ----------------------------------------------------------------------------------------
# The flow


def made_mistakes(method: str, net: Net, inputs: Tensor
                  ) -> dict[str, tuple[Tensor, Tensor | None]]:
    """(output, log_det) of common wrong versions of MADE.<method>, by description (a NaN
    stands for any value: judge.common.Mistakes)."""
    mu, alpha = net_mu_alpha(net, inputs)
    if method == "forward":
        output, log_det = reference_forward(net, inputs)
        mistakes = {
            "one pass of self.net on z (mu_i and alpha_i must come from x_<i, found one "
            "dimension at a time)": (mu + inputs * torch.exp(alpha), alpha.sum(dim=1)),
            "the inverse's sign, -sum(alpha) (the forward's log_det is log|det dx/dz| = "
            "+sum(alpha))": (output, -log_det),
        }
        last_pass = "each of the D dimensions needs a pass, range(D)"
    else:
        output = (inputs - mu) * torch.exp(-alpha)
        mistakes = {
            "exp(+alpha) in place of exp(-alpha) (z = (x - mu) * exp(-alpha), equation 3)":
                ((inputs - mu) * torch.exp(alpha), -alpha.sum(dim=1)),
            "the forward's sign, +sum(alpha) (the inverse's log_det is log|det dz/dx| = "
            "-sum(alpha), equation 3)": (output, alpha.sum(dim=1)),
        }
        last_pass = "z_i = (x_i - mu_i) * exp(-alpha_i) for every i, all at once"
    # Checked last: with D > 1 it matches whatever the last dimension holds; with D = 1 the
    # loop makes no pass, and the output holds what it started from, 0 or the input. It says
    # nothing of log_det (None), which the output's check precedes.
    D, name = inputs.shape[1], "x" if method == "forward" else "z"
    unfilled = [output.clone()] if D > 1 else [torch.zeros_like(inputs), inputs]
    unfilled[0][:, -1] = float("nan") if D > 1 else 0.0
    for start, value in zip(("0", "the input"), unfilled):
        left = (f"{name}[:, :{D - 1}] is right" if D > 1
                else f"{name} is still {start}, where the loop began")
        mistakes[f"the last dimension {name}[:, {D - 1}] left unfilled ({left}; does a loop over "
                 f"range(D - 1) stop one short? {last_pass})"] = (value, None)
    return mistakes


def maf_mistakes(blocks: list[Net | None], x: Tensor) -> dict[str, Tensor]:
    """log p(x) of every row as common wrong versions of MAF.log_prob give it."""
    z, log_det = reference_flow_inverse(blocks, x)
    base = standard_normal_log_density(z)
    reversed_z, reversed_log_det = reference_flow_inverse(blocks[::-1], x)
    return {
        "the log-dets subtracted (log p(x) = log N(z) + the sum of the inverses' log-dets, "
        "equation 2)": base - log_det,
        "the log-dets left out (equation 2 adds them)": base,
        "the blocks taken in reversed order (x goes through self.nf from first to last)":
            standard_normal_log_density(reversed_z) + reversed_log_det,
        "log N(z_d) averaged over the dimensions, not summed (log_prob is one value per "
        "row, shape (B,))": base / x.shape[1] + log_det,
    }


def batch_means(per_row: dict[str, Tensor]) -> dict[str, Tensor]:
    """The batch mean of each of these values per row: what MAF.log_probs gives."""
    return {description: values.mean() for description, values in per_row.items()}


# ----------------------------------------------------------------------------------------
# The GAN losses


class Term(NamedTuple):
    """One term of a loss as its equation writes it: its name for the messages (``the fakes'
    term -E log(1 - D(G(z)))``), its value, and the values of its known wrong forms, each
    named by what follows the term's name (``written as ...``)."""

    name: str
    value: Tensor
    forms: dict[str, Tensor]


SIGN, SUMMED = "with the wrong sign", "summed over the batch, not averaged"


def term_mistakes(terms: list[Term], batch: int) -> dict[str, Tensor]:
    """The values of a loss, the sum of ``terms``, with one or more of them wrong, each named
    by the terms that differ and how (fewest first): a term with the wrong sign, left out,
    summed over the ``batch``, or in one of its wrong forms. Every term wrong in the same way
    by a sign or a sum is the whole loss scaled, which assert_close's ratio names."""
    choices = [[(None, term.value), (SIGN, -term.value), ("left out", torch.zeros_like(term.value)),
                (SUMMED, batch * term.value), *term.forms.items()] for term in terms]
    found = []
    for choice in itertools.product(*choices):
        wrong = [(term.name, form) for term, (form, _) in zip(terms, choice) if form is not None]
        scaled = len(wrong) == len(terms) and len({form for _, form in wrong}) == 1 \
            and wrong[0][1] in (SIGN, SUMMED)
        if wrong and not scaled:
            description = ", and ".join(f"{name} {form}" for name, form in wrong)
            found.append((len(wrong), description, sum(value for _, value in choice)))
    return {description: value for _, description, value in sorted(found, key=lambda f: f[0])}


def loss_mistakes(
    name: str, g: nn.Module, d: nn.Module, x_real: Tensor, y_real: Tensor | None,
    scores: Scored | None = None
) -> dict[str, Tensor]:
    """The values of common wrong versions of the loss ``name`` on (g, d), by description,
    computed as loss_equation computes the right ones: whole-loss mistakes first, then
    (term_mistakes) those of one or more of its terms. ``scores``: the Scored of (g, d), where
    the caller has it already."""
    batch = len(x_real)
    alpha, g64, d64, real, fake, h_real, h_fake = (scored(g, d, x_real, y_real) if scores is None
                                                   else scores)
    fake, h_real, h_fake = fake.detach(), h_real.detach(), h_fake.detach()
    real_of, fake_of = ("x", "G(z)") if y_real is None else ("x, y", "G(z, y), y")
    if name.endswith("loss_nonsaturating_d"):
        return term_mistakes([
            Term(f"the reals' term -E log D({real_of})", neg_log_sigmoid(h_real).mean(), {
                f"written as -E log(1 - D({real_of})), the fakes' form":
                    neg_log_sigmoid(-h_real).mean()}),
            Term(f"the fakes' term -E log(1 - D({fake_of}))", neg_log_sigmoid(-h_fake).mean(), {
                f"written as -E log D({fake_of}), the generator's form":
                    neg_log_sigmoid(h_fake).mean(),
                "written as logsigmoid(1 - h) (1 - sigma(h) = sigma(-h), so log(1 - D) = "
                "logsigmoid(-h))": neg_log_sigmoid(1 - h_fake).mean()}),
        ], batch)
    if name.endswith("loss_nonsaturating_g"):
        return {
            f"the minimax form E log(1 - D({fake_of})) (the non-saturating loss is "
            f"-E log D({fake_of}))": -neg_log_sigmoid(-h_fake).mean(),
            f"-E log(1 - D({fake_of})), the discriminator's term for the fakes (the "
            f"non-saturating loss is -E log D({fake_of}))": neg_log_sigmoid(-h_fake).mean(),
        }
    if name != "loss_wasserstein_gp_d":
        return {}

    def critic_loss(h_fakes: Tensor, norms: Tensor) -> Tensor:
        """Equation 24 with the penalty on these gradient norms."""
        return h_fakes.mean() - h_real.mean() + LAMBDA * ((norms - 1) ** 2).mean()

    def norms_at(weights: Tensor, fakes: Tensor = fake) -> Tensor:
        """One gradient norm per sample at the interpolates with these weights."""
        return input_gradients(d64, weights * fakes + (1 - weights) * real).flatten(1).norm(dim=1)

    # The draws of the wrong orders and shapes, each after seeding as the loss is called:
    # alpha then z, without the given z or after it (z drawn again)
    before_z = {}
    for given_z in (False, True):
        torch.manual_seed(SEED)
        if given_z:
            torch.randn(batch, g.dim_z)
        alpha_first, z_second = torch.rand(batch, 1, 1, 1), torch.randn(batch, g.dim_z)
        fake_second = g64(z_second.double()).detach()
        before_z[given_z] = critic_loss(d64(fake_second).detach(),
                                        norms_at(alpha_first, fake_second))
    drawn_after_z = {}
    for shape in ((1,), tuple(x_real.shape)):
        torch.manual_seed(SEED)
        torch.randn(batch, g.dim_z)
        drawn_after_z[shape] = torch.rand(shape)
    grads = input_gradients(d64, alpha * fake + (1 - alpha) * real)  # at the right x_hat
    penalty = LAMBDA * ((grads.flatten(1).norm(dim=1) - 1) ** 2).mean()
    return {
        "alpha drawn before z (z = torch.randn(...) is the first draw, alpha the second)":
            before_z[False],
        "alpha drawn before z, and z drawn again after it (the given z is the first draw, "
        "alpha the second; draw no other z)": before_z[True],
        "one alpha for the whole batch (draw one per sample: torch.rand(B, 1, 1, 1))":
            critic_loss(h_fake, norms_at(drawn_after_z[(1,)])),
        "alpha drawn per pixel (draw one per sample: torch.rand(B, 1, 1, 1))":
            critic_loss(h_fake, norms_at(drawn_after_z[tuple(x_real.shape)])),
        "the norm of the whole batch's gradient (take one norm per sample: "
        "grad.reshape(B, -1).norm(dim=1))": critic_loss(h_fake, grads.norm()),
        "per-channel gradient norms (one norm per sample over all its channels and pixels: "
        "grad.reshape(B, -1).norm(dim=1))": critic_loss(h_fake, grads.flatten(2).norm(dim=2)),
        "the norm over the last axis only (one norm per sample over all its channels and "
        "pixels: grad.reshape(B, -1).norm(dim=1))": critic_loss(h_fake, grads.norm(dim=-1)),
        "the gradient of the batch mean d(x_hat).mean(), 1/B of each sample's gradient "
        "(take the gradient of the sum)":
            critic_loss(h_fake, grads.flatten(1).norm(dim=1) / batch),
        **term_mistakes([
            Term("the fakes' term E D(G(z))", h_fake.mean(), {}),
            Term("the reals' term -E D(x)", -h_real.mean(), {}),
            Term(f"the penalty {LAMBDA:g} E(||grad D(x_hat)|| - 1)^2", penalty, {
                f"with lambda = 1 (lambda = {LAMBDA:g})": penalty / LAMBDA}),
        ], batch),
    }
