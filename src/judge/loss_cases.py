"""All that a test of a GAN loss compares the sandbox's answer with, computed before it asks
(the value of the loss's equation and of its known mistakes, the draws and what G and D must be
given, the gradients it must send), and the checks of an answer against it.

Only the full grader imports this module: it is in the Gradescope bundle, never in the
students' copy (course/manifest.py's JUDGE_ONLY).
"""

from typing import NamedTuple

import torch
from torch import Tensor

from judge import common
from judge.common import Mismatch, assert_gradients, assert_scored
from judge.gan_references import (
    Setup,
    loss_equation,
    noise_and_fakes,
    reference_gradients,
    scored,
    seeded_draws,
)
from judge.mistakes import loss_mistakes

X_HAT = "x_hat = alpha G(z) + (1 - alpha) x with alpha = torch.rand(B, 1, 1, 1) drawn second"


class LossCase(NamedTuple):
    """A loss on a setup, and all that the judge compares its answer with: the value of its
    equation and of known mistakes; what the records of G's and D's calls should show (the
    draw z, the conditional fakes, the critic's interpolates x_hat), quoted only to explain a
    failing value; and, where it trains modules, the gradients of its equation and of known
    mistakes."""

    name: str
    setup: Setup
    expected: Tensor
    mistakes: dict[str, Tensor]
    z: Tensor
    fakes: Tensor | None
    x_hat: Tensor | None
    gradients: dict[str, Tensor] | None
    gradient_mistakes: dict[str, dict[str, Tensor]]


def loss_case(name: str, setup: Setup, train: dict[str, str] | None = None) -> LossCase:
    """The LossCase of the loss ``name`` on ``setup``, training the modules of ``train``; the
    equation, its gradients and the known mistakes are computed from one Scored of the setup
    (the same float64 copies and draws that each would make for itself)."""
    g, _, x_real, y_real = setup
    z, fakes = noise_and_fakes(setup)
    x_hat = None
    if name == "loss_wasserstein_gp_d":
        _, alpha = seeded_draws(len(x_real), g.dim_z)
        with torch.no_grad():
            x_hat = alpha * g(z) + (1 - alpha) * x_real
    scores = scored(*setup)
    gradients, gradient_mistakes = (reference_gradients(name, setup, train, scores) if train
                                    else (None, {}))
    return LossCase(name, setup, loss_equation(name, scores).detach(),
                    loss_mistakes(name, *setup, scores), z, fakes, x_hat, gradients,
                    gradient_mistakes)


def assert_loss(answer: dict, case: LossCase) -> None:
    """The loss of ``answer`` (loss_call) against its equation; where it differs and matches
    no known mistake, the records of G's and D's calls may say why (common.assert_loss;
    for the critic loss, the interpolates it scored): a record explains a failure, never
    decides one."""
    _, _, x_real, y_real = case.setup
    try:
        common.assert_loss(answer, case.name, case.expected, case.mistakes, case.z, x_real,
                           y_real, case.fakes)
    except Mismatch as error:
        if error.mistake is None and case.x_hat is not None:
            assert_scored(answer["d_calls"], case.x_hat, X_HAT)
        raise


def assert_trains(answer: dict, case: LossCase) -> None:
    """The gradients of ``answer`` (loss_call with ``train``) against those of the equation."""
    assert_gradients(answer["gradients"], case.gradients, case.gradient_mistakes)


def trained_network(name: str) -> dict[str, str]:
    """The whole network that the loss ``name`` trains: D for a D loss, G for a G loss (what
    a loss sends the other one is its own affair: a D loss may detach G's samples)."""
    return {"D": "d"} if name.endswith("_d") else {"G": "g"}
