"""GAN losses (problems 2b, 4b and 5e).

Every loss takes a generator ``g`` (with attribute ``dim_z``), a discriminator ``d`` that
returns logits of shape ``(B,)``, and a batch of real images ``x_real`` of shape
``(B, C, H, W)``; the conditional losses also take integer labels ``y_real`` of shape ``(B,)``.
Each draws its noise first, ``z = torch.randn(batch_size, g.dim_z, device=device)``, and
returns a 0-dim tensor, a mean over the batch.

The log-sigmoid forms keep every loss finite at any logit: ``log D = logsigmoid(h)`` and
``log(1 - D) = logsigmoid(-h)`` (the problem set's hint ``1 - sigma(h) = sigma(-h)``).

References:
    Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014.
    Miyato and Koyama, "cGANs with Projection Discriminator", ICLR 2018.
    Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017.
"""

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def loss_nonsaturating_d(g: nn.Module, d: nn.Module, x_real: Tensor, *, device) -> Tensor:
    """Discriminator loss ``-E log D(x) - E log(1 - D(G(z)))`` (equations 6 and 10)."""
    batch_size = x_real.shape[0]
    z = torch.randn(batch_size, g.dim_z, device=device)

    ### START CODE HERE ###
    d_loss = -F.logsigmoid(d(x_real)).mean() - F.logsigmoid(-d(g(z))).mean()
    return d_loss
    ### END CODE HERE ###


def loss_nonsaturating_g(g: nn.Module, d: nn.Module, x_real: Tensor, *, device) -> Tensor:
    """Non-saturating generator loss ``-E log D(G(z))`` (equations 9 and 11)."""
    batch_size = x_real.shape[0]
    z = torch.randn(batch_size, g.dim_z, device=device)

    ### START CODE HERE ###
    g_loss = -F.logsigmoid(d(g(z))).mean()
    return g_loss
    ### END CODE HERE ###


def loss_minimax_g(g: nn.Module, d: nn.Module, x_real: Tensor, *, device) -> Tensor:
    """Minimax generator loss ``E log(1 - D(G(z)))`` (equation 7), for comparison runs."""
    batch_size = x_real.shape[0]
    z = torch.randn(batch_size, g.dim_z, device=device)
    return F.logsigmoid(-d(g(z))).mean()


def conditional_loss_nonsaturating_d(
    g: nn.Module, d: nn.Module, x_real: Tensor, y_real: Tensor, *, device
) -> Tensor:
    """Conditional discriminator loss (equations 17 and 18).

    Fakes ``G(z, y)`` are generated for the real labels and scored as ``d(G(z, y), y)``.
    """
    batch_size = x_real.shape[0]
    z = torch.randn(batch_size, g.dim_z, device=device)

    ### START CODE HERE ###
    x_fake = g(z, y_real)
    d_loss = -F.logsigmoid(d(x_real, y_real)).mean() - F.logsigmoid(-d(x_fake, y_real)).mean()
    return d_loss
    ### END CODE HERE ###


def conditional_loss_nonsaturating_g(
    g: nn.Module, d: nn.Module, x_real: Tensor, y_real: Tensor, *, device
) -> Tensor:
    """Conditional non-saturating generator loss ``-E log D(G(z, y), y)``."""
    batch_size = x_real.shape[0]
    z = torch.randn(batch_size, g.dim_z, device=device)

    ### START CODE HERE ###
    g_loss = -F.logsigmoid(d(g(z, y_real), y_real)).mean()
    return g_loss
    ### END CODE HERE ###


def loss_wasserstein_gp_d(g: nn.Module, d: nn.Module, x_real: Tensor, *, device) -> Tensor:
    """WGAN-GP critic loss (equation 24) with ``lambda = 10``.

    The penalty is taken at ``x_hat = alpha * G(z) + (1 - alpha) * x`` with one
    ``alpha ~ U[0, 1]`` per sample, the second random draw. Each critic output depends only on
    its own input, so the gradient of their sum with respect to ``x_hat`` holds every
    per-sample gradient at once; ``create_graph=True`` lets the penalty train ``d``.
    """
    batch_size = x_real.shape[0]
    z = torch.randn(batch_size, g.dim_z, device=device)

    ### START CODE HERE ###
    lam = 10.0
    alpha = torch.rand(batch_size, 1, 1, 1, device=device)
    x_fake = g(z)
    x_hat = alpha * x_fake + (1 - alpha) * x_real
    if not x_hat.requires_grad:  # a batch with no graph yet still needs d D / d x_hat
        x_hat.requires_grad_(True)
    (grad,) = torch.autograd.grad(d(x_hat).sum(), x_hat, create_graph=True)
    grad_norm = grad.reshape(batch_size, -1).norm(2, dim=1)
    d_loss = d(x_fake).mean() - d(x_real).mean() + lam * ((grad_norm - 1) ** 2).mean()
    return d_loss
    ### END CODE HERE ###


def loss_wasserstein_gp_g(g: nn.Module, d: nn.Module, x_real: Tensor, *, device) -> Tensor:
    """WGAN-GP generator loss ``-E D(G(z))`` (equation 25)."""
    batch_size = x_real.shape[0]
    z = torch.randn(batch_size, g.dim_z, device=device)

    ### START CODE HERE ###
    g_loss = -d(g(z)).mean()
    return g_loss
    ### END CODE HERE ###
