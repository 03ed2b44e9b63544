"""The stand-in networks of the GAN tests: small networks of small "images" whose weights the
judge chooses.

Both sides build them: the judge computes its reference values on them, and the sandbox
rebuilds them from the judge's weights for the student's losses to call (``sandbox/calls.py``
names them in a question's ``loss_call``). Torch alone.
"""

import math

import torch
from torch import Tensor, nn

import network

IMAGE_SHAPE = (2, 3, 4)  # (C, H, W): two channels, so that the penalty's norm spans them all
N_PIXELS = math.prod(IMAGE_SHAPE)
DIM_Z = 5
NUM_CLASSES = 4


class LabelsOutside(BaseException):
    """Labels given to a conditional stand-in that are not classes of the test's batch. A
    BaseException, so that ``except Exception`` in graded code cannot swallow it; the sandbox
    reports its message alone."""


def check_labels(network: str, y: object) -> None:
    """Raises LabelsOutside, in place of an IndexError inside the stand-in, where the labels
    given to it are not classes of the test's batch."""
    if isinstance(y, Tensor) and not y.is_floating_point() and y.numel() and not y.is_meta and (
            y.min() < 0 or y.max() >= NUM_CLASSES):
        outside = sorted({label for label in y.flatten().tolist()
                          if not 0 <= label < NUM_CLASSES})
        raise LabelsOutside(f"{network} was given the labels {outside}; the test's batch has "
                            f"{NUM_CLASSES} classes (0 to {NUM_CLASSES - 1}): the fakes' labels "
                            "should be the real ones, y_real")


class LinearGenerator(nn.Module):
    """G(z) = W z + c, reshaped to IMAGE_SHAPE."""

    def __init__(self) -> None:
        super().__init__()
        self.dim_z = DIM_Z
        self.linear = nn.Linear(DIM_Z, N_PIXELS)

    def forward(self, z: Tensor) -> Tensor:
        return self.linear(z).view(-1, *IMAGE_SHAPE)


class LinearConditionalGenerator(LinearGenerator):
    """G(z, y) = W z + c + e_y: every label adds an image of its own."""

    def __init__(self) -> None:
        super().__init__()
        self.num_classes = NUM_CLASSES
        self.label_images = nn.Parameter(torch.randn(NUM_CLASSES, N_PIXELS))

    def forward(self, z: Tensor, y: Tensor) -> Tensor:
        check_labels("G", y)
        return (self.linear(z) + self.label_images[y]).view(-1, *IMAGE_SHAPE)


class TinyDiscriminator(nn.Module):
    """Logits h(x) = v . tanh(W x + c) + b: smooth, so that its input gradient varies with x."""

    def __init__(self, num_outputs: int = 1) -> None:
        super().__init__()
        self.hidden = nn.Linear(N_PIXELS, 3)
        self.head = nn.Linear(3, num_outputs)

    def outputs(self, x: Tensor) -> Tensor:
        return self.head(torch.tanh(self.hidden(x.flatten(1))))

    def forward(self, x: Tensor) -> Tensor:
        return self.outputs(x).squeeze(1)


class TinyConditionalDiscriminator(TinyDiscriminator):
    """h(x, y) = v_y . tanh(W x + c) + b_y: the projection form of equation 20."""

    def __init__(self) -> None:
        super().__init__(NUM_CLASSES)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        check_labels("D", y)
        return self.outputs(x).gather(1, y[:, None]).squeeze(1)


class LinearCritic(nn.Module):
    """d(x) = <w, x> + b: its gradient is w at every x."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(N_PIXELS, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x.flatten(1)).squeeze(1)


# The network of network.py that each stand-in stands in for. A stand-in has every public
# attribute of its network (tests/test_networks.py checks it), so that a loss may read them
# as it would there (g.dim_z, g.num_classes).
STANDS_IN_FOR: dict[type[nn.Module], type[nn.Module]] = {
    LinearGenerator: network.Generator,
    LinearConditionalGenerator: network.ConditionalGenerator,
    TinyDiscriminator: network.Discriminator,
    TinyConditionalDiscriminator: network.ConditionalDiscriminator,
    LinearCritic: network.Discriminator,
}
