"""The GAN networks of problems 2, 4 and 5, for 28 x 28 images such as Fashion-MNIST.

The generators map noise ``z`` of shape ``(B, dim_z)`` to images ``(B, C, 28, 28)`` (no output
activation); the discriminators map images to logits of shape ``(B,)``, i.e. ``h`` with
``D = sigmoid(h)``. Every layer keeps PyTorch's default initialisation, so
``torch.manual_seed`` fixes the weights.

References:
    Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014.
    Miyato and Koyama, "cGANs with Projection Discriminator", ICLR 2018.
"""

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _generator_body(dim_in: int, num_channels: int) -> nn.Sequential:
    """``(B, dim_in)`` -> ``(B, num_channels, 28, 28)``: two dense layers, two upsamplings."""
    return nn.Sequential(
        nn.Linear(dim_in, 512), nn.BatchNorm1d(512), nn.ReLU(),
        nn.Linear(512, 64 * 7 * 7), nn.BatchNorm1d(64 * 7 * 7), nn.ReLU(),
        nn.Unflatten(1, (64, 7, 7)),
        nn.PixelShuffle(2),  # (16, 14, 14)
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.PixelShuffle(2),  # (8, 28, 28)
        nn.Conv2d(8, num_channels, 3, padding=1),
    )


def _discriminator_trunk(num_channels: int) -> nn.Sequential:
    """The features ``phi``: ``(B, num_channels, 28, 28)`` -> ``(B, 512)``.

    No normalisation layers: the WGAN-GP penalty needs each output to depend on its own
    input alone, which batch statistics would break.
    """
    return nn.Sequential(
        nn.Conv2d(num_channels, 32, 4, stride=2, padding=1), nn.LeakyReLU(0.1),  # (32, 14, 14)
        nn.Conv2d(32, 64, 4, stride=2, padding=1), nn.LeakyReLU(0.1),  # (64, 7, 7)
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 512), nn.LeakyReLU(0.1),
    )


def _float_logits(logits: Tensor) -> Tensor:
    """Half-precision logits (from bfloat16 autocast) as float32, so that the losses built on
    them (log-sigmoids, means, critic values) keep full precision; others pass unchanged."""
    return logits.float() if logits.dtype in (torch.bfloat16, torch.float16) else logits


class Generator(nn.Module):
    """``G(z)``: noise ``(B, dim_z)`` -> images ``(B, num_channels, 28, 28)``."""

    def __init__(self, dim_z: int = 64, num_channels: int = 1) -> None:
        super().__init__()
        self.dim_z = dim_z
        self.net = _generator_body(dim_z, num_channels)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


class ConditionalGenerator(nn.Module):
    """``G(z, y)``: the generator fed ``[z, one_hot(y)]``, shape ``(B, dim_z + num_classes)``."""

    def __init__(self, dim_z: int = 64, num_channels: int = 1, num_classes: int = 10) -> None:
        super().__init__()
        self.dim_z = dim_z
        self.num_classes = num_classes
        self.net = _generator_body(dim_z + num_classes, num_channels)

    def forward(self, z: Tensor, y: Tensor) -> Tensor:
        """``z``: ``(B, dim_z)``; ``y``: integer labels ``(B,)``."""
        return self.net(torch.cat([z, F.one_hot(y, self.num_classes).to(z.dtype)], dim=1))


class Discriminator(nn.Module):
    """``h(x)``: images ``(B, num_channels, 28, 28)`` -> logits ``(B,)``."""

    def __init__(self, num_channels: int = 1) -> None:
        super().__init__()
        self.phi = _discriminator_trunk(num_channels)
        self.head = nn.Linear(512, 1)

    def forward(self, x: Tensor) -> Tensor:
        return _float_logits(self.head(self.phi(x)).squeeze(1))


class ConditionalDiscriminator(nn.Module):
    """The projection discriminator ``h(x, y) = y^T (A phi(x) + b)`` (Miyato and Koyama).

    ``head`` holds ``A`` (its weight) and ``b`` (its bias), one row per class; the one-hot
    product picks the row of the label, so ``h`` is the head's output column ``y``.
    """

    def __init__(self, num_classes: int = 10, num_channels: int = 1) -> None:
        super().__init__()
        self.phi = _discriminator_trunk(num_channels)
        self.head = nn.Linear(512, num_classes)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """``x``: ``(B, num_channels, 28, 28)``; ``y``: integer labels ``(B,)`` -> ``(B,)``."""
        return _float_logits(self.head(self.phi(x)).gather(1, y[:, None]).squeeze(1))
