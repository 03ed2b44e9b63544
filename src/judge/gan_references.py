"""The judge's reference computations of the GAN losses (problems 2b, 4b and 5e): its stand-in
networks and batches, the random draws of a loss, and every loss and the gradients it sends
from its equation, in float64 (never from the student's code).

Only the full grader imports this module: it is in the Gradescope bundle, never in the
students' copy (course/manifest.py's JUDGE_ONLY).
"""

import copy
from typing import NamedTuple

import torch
from torch import Tensor, nn

from common.stand_ins import (
    IMAGE_SHAPE,
    NUM_CLASSES,
    LinearConditionalGenerator,
    LinearCritic,
    LinearGenerator,
    TinyConditionalDiscriminator,
    TinyDiscriminator,
)
from judge.common import NO_PENALTY_GRADIENT, SEED

GAN_BATCH = 6  # the real images of the stand-in networks
LAMBDA = 10.0  # the weight of the gradient penalty (problem 5e)

# A generator, a discriminator, a batch of real images and its labels (None: unconditional)
Setup = tuple[nn.Module, nn.Module, Tensor, Tensor | None]


def stand_ins(conditional: bool, logits: float = 0.0) -> Setup:
    """Stand-in networks with GAN_BATCH real images (and labels, if conditional); D's logits
    shifted by ``logits`` (the bias of its head)."""
    x_real = torch.randn(GAN_BATCH, *IMAGE_SHAPE)
    if conditional:
        g, d = LinearConditionalGenerator(), TinyConditionalDiscriminator()
        labels = torch.randint(NUM_CLASSES, (GAN_BATCH,))
    else:
        (g, d), labels = (LinearGenerator(), TinyDiscriminator()), None
    with torch.no_grad():
        d.head.bias.add_(logits)
    return g, d, x_real, labels


def linear_critic_expectations(g: nn.Module, critic: LinearCritic, x_real: Tensor
                               ) -> tuple[Tensor, Tensor, Tensor]:
    """For a linear critic d(x) = <w, x> + b, in closed form: the critic loss
    E<w, G(z) - x> + 10 (||w|| - 1)^2 (equation 24), its gradient in w
    E[G(z) - x] + 20 (||w|| - 1) w / ||w||, and the gradient without the penalty's part."""
    z, _ = seeded_draws(len(x_real), g.dim_z)
    gap = (g(z) - x_real).detach().double().flatten(1).mean(dim=0)  # E[G(z) - x]
    w = critic.linear.weight.detach().double()[0]
    loss = gap @ w + LAMBDA * (w.norm() - 1) ** 2
    return loss, gap + 2 * LAMBDA * (w.norm() - 1) * w / w.norm(), gap


def linear_critic(norm: float) -> LinearCritic:
    """d(x) = <w, x> + b with ||w|| = ``norm``: its gradient is w at every x."""
    critic = LinearCritic()
    with torch.no_grad():
        critic.linear.weight.mul_(norm / critic.linear.weight.norm())
    return critic


def seeded_draws(batch: int, dim_z: int) -> tuple[Tensor, Tensor]:
    """A loss's random draws after torch.manual_seed(SEED).

    z (batch, dim_z) comes first, then alpha (batch, 1, 1, 1) for the gradient penalty.
    """
    torch.manual_seed(SEED)
    z = torch.randn(batch, dim_z)
    return z, torch.rand(batch, 1, 1, 1)


def neg_log_sigmoid(h: Tensor) -> Tensor:
    """-log sigma(h) = log(1 + exp(-h)), written so that it is exact at any logit h."""
    return torch.clamp(-h, min=0) + torch.log1p(torch.exp(-h.abs()))


def input_gradients(d: nn.Module, x: Tensor, create_graph: bool = False) -> Tensor:
    """grad_x D(x_i) of every sample (shaped as ``x``), by autograd on one sample at a time;
    with ``create_graph``, differentiable in D's parameters."""
    grads = []
    for sample in x:
        sample = sample[None].detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(d(sample).sum(), sample, create_graph=create_graph)
        grads.append(grad[0])
    return torch.stack(grads)


def input_gradient_norms(d: nn.Module, x: Tensor, create_graph: bool = False) -> Tensor:
    """||grad_x D(x_i)||_2 of every sample."""
    return input_gradients(d, x, create_graph).flatten(1).norm(dim=1)


class Scored(NamedTuple):
    """What the losses on (g, d) are computed from, in float64: the second draw alpha, copies
    of the networks, the real and fake images, and D's logits of both (the fakes and logits
    differentiable in the copies' parameters)."""

    alpha: Tensor
    g64: nn.Module
    d64: nn.Module
    real: Tensor
    fake: Tensor
    h_real: Tensor
    h_fake: Tensor


def scored(g: nn.Module, d: nn.Module, x_real: Tensor, y_real: Tensor | None) -> Scored:
    """The Scored of a loss's draws (z, then alpha) on (g, d): float64 copies of the networks
    see the float32 draws."""
    z, alpha = seeded_draws(len(x_real), g.dim_z)
    g64, d64 = copy.deepcopy(g).double(), copy.deepcopy(d).double()
    labels = () if y_real is None else (y_real,)
    real = x_real.double()
    fake = g64(z.double(), *labels)
    return Scored(alpha, g64, d64, real, fake, d64(real, *labels), d64(fake, *labels))


def loss_equation(name: str, scores: Scored, create_graph: bool = False) -> Tensor:
    """The loss ``name`` from its equation (10, 11, 24, 25; 17-18 and the conditional 11), in
    float64, on ``scores``; with ``create_graph``, the penalty too is differentiable in D's
    parameters."""
    alpha, _, d64, real, fake, h_real, h_fake = scores
    if name.endswith("loss_nonsaturating_d"):  # with -log(1 - sigma(h)) = -log sigma(-h)
        return neg_log_sigmoid(h_real).mean() + neg_log_sigmoid(-h_fake).mean()
    if name.endswith("loss_nonsaturating_g"):
        return neg_log_sigmoid(h_fake).mean()
    if name == "loss_wasserstein_gp_g":
        return -h_fake.mean()
    norms = input_gradient_norms(d64, alpha * fake.detach() + (1 - alpha) * real, create_graph)
    return h_fake.mean() - h_real.mean() + LAMBDA * ((norms - 1) ** 2).mean()


def reference_gradients(name: str, setup: Setup, train: dict[str, str],
                        scores: Scored | None = None
                        ) -> tuple[dict[str, Tensor], dict[str, dict[str, Tensor]]]:
    """The gradients that the loss ``name`` of its equation sends, at the loss's draws, to the
    modules of ``train`` (named as loss_call names them: ``{"G": "g.linear"}`` gives
    ``G.weight``, ``G.bias``), in float64; and those of known wrong versions, by description
    (a critic loss whose penalty sends D none). ``scores``: the setup's Scored, where the
    caller has it already."""
    scores = scored(*setup) if scores is None else scores
    networks = {"g": scores.g64, "d": scores.d64}
    named = [(f"{label}.{key}", parameter) for label, where in train.items()
             for key, parameter in networks[where.partition(".")[0]].get_submodule(
                 where.partition(".")[2]).named_parameters()]

    def gradients_of(loss: Tensor) -> dict[str, Tensor]:
        grads = torch.autograd.grad(loss, [parameter for _, parameter in named],
                                    allow_unused=True, retain_graph=True)
        return {key: torch.zeros_like(parameter) if grad is None else grad.detach()
                for (key, parameter), grad in zip(named, grads)}

    mistakes = {}
    if name == "loss_wasserstein_gp_d":
        mistakes[NO_PENALTY_GRADIENT] = gradients_of(scores.h_fake.mean() - scores.h_real.mean())
    return gradients_of(loss_equation(name, scores, create_graph=True)), mistakes


def noise_and_fakes(setup: Setup) -> tuple[Tensor, Tensor | None]:
    """The z that G of ``setup`` must be given (the loss's first draw) and, for a conditional
    setup, the fakes G(z, y_real) that D must score with y_real."""
    g, _, x_real, y_real = setup
    z, _ = seeded_draws(len(x_real), g.dim_z)
    with torch.no_grad():
        return z, None if y_real is None else g(z, y_real)
