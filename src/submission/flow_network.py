"""Masked Autoregressive Flow (MAF) built from MADE blocks (problem 1).

References:
    Germain et al., "MADE: Masked Autoencoder for Distribution Estimation", ICML 2015.
    Papamakarios et al., "Masked Autoregressive Flow for Density Estimation", NeurIPS 2017.

Every block maps between data ``x`` and noise ``z`` of shape ``(B, D)`` and returns the
log-determinant of that map's Jacobian with shape ``(B,)``.
"""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor


class MaskedLinear(nn.Linear):
    """A linear layer whose weight is multiplied elementwise by a fixed 0/1 ``mask``.

    Args:
        input_size: number of input features.
        output_size: number of output features.
        mask: tensor of shape ``(output_size, input_size)``.
    """

    def __init__(self, input_size: int, output_size: int, mask: Tensor):
        super().__init__(input_size, output_size)
        self.register_buffer("mask", mask)

    def forward(self, inputs: Tensor) -> Tensor:
        return F.linear(inputs, self.mask * self.weight, self.bias)


class MADE(nn.Module):
    """One Gaussian autoregressive block: ``x_i = mu_i + z_i * exp(alpha_i)``.

    ``mu_i`` and ``alpha_i`` are functions of ``x_<i`` only, computed in one pass by a masked
    MLP (sequential ordering of the ``D`` inputs). The first ``D`` outputs of ``self.net``
    are ``mu``, the last ``D`` are ``alpha`` (log standard deviations).

    Args:
        input_size: data dimension ``D``.
        hidden_size: width ``H`` of each hidden layer.
        n_hidden: number of ``H -> H`` hidden layers after the first ``D -> H`` layer.
    """

    def __init__(self, input_size: int, hidden_size: int, n_hidden: int):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.n_hidden = n_hidden
        masks = self.create_masks()
        layers = [MaskedLinear(input_size, hidden_size, masks[0]), nn.ReLU()]
        for mask in masks[1:-1]:
            layers += [MaskedLinear(hidden_size, hidden_size, mask), nn.ReLU()]
        layers += [MaskedLinear(hidden_size, 2 * input_size, masks[-1])]
        self.net = nn.Sequential(*layers)

    def create_masks(self) -> list[Tensor]:
        """Masks of the sequential ordering, one per layer, shaped ``(out, in)``.

        Input ``i`` has degree ``i``; hidden unit ``k`` has degree ``k mod (D - 1)``. A hidden
        unit sees the units below it of degree ``<=`` its own; the outputs for dimension ``i``
        (``mu_i`` and ``alpha_i``) see hidden units of degree ``< i``. With ``D = 1`` the
        outputs see nothing, so ``mu`` and ``alpha`` are the last layer's biases.
        """
        D, H = self.input_size, self.hidden_size
        input_degrees = torch.arange(D)
        hidden_degrees = torch.arange(H) % max(D - 1, 1)
        output_degrees = input_degrees.repeat(2)  # mu_i and alpha_i both belong to x_i

        masks = [hidden_degrees[:, None] >= input_degrees[None, :]]
        masks += [hidden_degrees[:, None] >= hidden_degrees[None, :]] * self.n_hidden
        masks += [output_degrees[:, None] > hidden_degrees[None, :]]
        return [mask.float() for mask in masks]

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """Sampling direction, ``x = f(z)``: ``D`` sequential passes through ``self.net``.

        Args:
            z: noise of shape ``(B, D)``.

        Returns:
            ``x`` of shape ``(B, D)`` and ``log|det dx/dz| = sum_i alpha_i`` of shape ``(B,)``.
        """
        ### START CODE HERE ###
        # Pass k fixes x_k: mu_k and alpha_k depend on x_<k only, which earlier passes
        # already fixed, and the entries < k come out of the pass unchanged.
        x = torch.zeros_like(z)
        for _ in range(self.input_size):
            mu, alpha = self.net(x).chunk(2, dim=1)
            x = mu + z * torch.exp(alpha)
        log_det = alpha.sum(dim=1)
        return x, log_det
        ### END CODE HERE ###

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Density direction, ``z = f^{-1}(x)``: one pass through ``self.net``.

        Args:
            x: data of shape ``(B, D)``.

        Returns:
            ``z`` of shape ``(B, D)`` and ``log|det dz/dx| = -sum_i alpha_i`` of shape
            ``(B,)`` (the problem set's equation 3).
        """
        ### START CODE HERE ###
        mu, alpha = self.net(x).chunk(2, dim=1)
        z = (x - mu) * torch.exp(-alpha)
        log_det = -alpha.sum(dim=1)
        return z, log_det
        ### END CODE HERE ###


class PermuteLayer(nn.Module):
    """Reverses the order of the features, so the next MADE block sees another ordering.

    Args:
        num_inputs: data dimension ``D``.
    """

    def __init__(self, num_inputs: int):
        super().__init__()
        self.num_inputs = num_inputs

    def forward(self, inputs: Tensor) -> tuple[Tensor, Tensor]:
        return inputs.flip(1), inputs.new_zeros(inputs.shape[0])

    def inverse(self, inputs: Tensor) -> tuple[Tensor, Tensor]:
        return inputs.flip(1), inputs.new_zeros(inputs.shape[0])


class MAF(nn.Module):
    """Masked Autoregressive Flow: ``n_flows`` MADE blocks, each followed by a reversal.

    Args:
        input_size: data dimension ``D``.
        hidden_size: width of the MADE hidden layers.
        n_hidden: number of ``H -> H`` layers in each MADE.
        n_flows: number of MADE blocks.
    """

    def __init__(self, input_size: int, hidden_size: int, n_hidden: int, n_flows: int):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.n_hidden = n_hidden
        self.n_flows = n_flows
        # Far from the data an inverse pass can overflow to inf; its density is then 0 rather
        # than a support error.
        self.base_dist = torch.distributions.normal.Normal(0.0, 1.0, validate_args=False)

        nf_blocks = []
        for _ in range(n_flows):
            nf_blocks.append(MADE(input_size, hidden_size, n_hidden))
            nf_blocks.append(PermuteLayer(input_size))
        self.nf = nn.Sequential(*nf_blocks)

    def log_prob(self, x: Tensor) -> Tensor:
        """Exact log-density of each row of ``x`` (shape ``(B, D)``), shape ``(B,)``.

        Change of variables (equation 2): the base log-density of ``z = f^{-1}(x)`` plus the
        log-determinants of every block's inverse.
        """
        ### START CODE HERE ###
        z = x
        log_det_sum = x.new_zeros(x.shape[0])
        for flow in self.nf:
            z, log_det = flow.inverse(z)
            log_det_sum = log_det_sum + log_det
        return self.base_dist.log_prob(z).sum(dim=1) + log_det_sum
        ### END CODE HERE ###

    def log_probs(self, x: Tensor) -> Tensor:
        """Mean log-likelihood of the batch ``x`` of shape ``(B, D)``, a 0-dim tensor.

        Problem 1c: the mean of ``log_prob``, where the change of variables is written.
        """
        return self.log_prob(x).mean()

    def loss(self, x: Tensor) -> Tensor:
        """Negative mean log-likelihood, the quantity training minimises."""
        return -self.log_probs(x)

    def sample(self, device, n: int) -> np.ndarray:
        """Draws ``n`` samples, returned as a numpy array of shape ``(n, D)``."""
        with torch.no_grad():
            x = torch.randn(n, self.input_size, device=device)
            for flow in reversed(self.nf):
                x, _ = flow.forward(x)
        return x.cpu().numpy()
