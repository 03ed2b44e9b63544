"""What the two graders of the problem set share: the graded names and the submission they
read, the checks that fail with a one-line message, and the stand-in networks on which the GAN
losses are called.

``grader.py`` judges against values it computes itself; the students' grader of the release
(``make release``) judges its basic tests against values stored in ``basic_tests.pt``. Both
call the submission the same way, through the helpers here.
"""

from pathlib import Path
from types import ModuleType

import torch
from torch import Tensor, nn

import graderUtil

HIDDEN_SIZE = 16  # the width of every MADE that the tests build
FLOAT32_TOL = 1e-5

# The GAN losses: stand-in networks on small "images"
SEED = 1234  # torch.manual_seed before each call of a loss and before redrawing its draws
CPU = torch.device("cpu")
IMAGE_SHAPE = (2, 3, 4)  # (C, H, W): two channels, so that the penalty's norm spans them all
N_PIXELS = 2 * 3 * 4
DIM_Z = 5
NUM_CLASSES = 4
NONSATURATING = ("loss_nonsaturating_d", "loss_nonsaturating_g")
CONDITIONAL = ("conditional_loss_nonsaturating_d", "conditional_loss_nonsaturating_g")
WGAN_GP = ("loss_wasserstein_gp_d", "loss_wasserstein_gp_g")

# What the tests read through the package, as the course's autograder does
# (``submission.flow_network.MADE``): every module and its names.
GRADED_NAMES = {
    "flow_network": ("MaskedLinear", "MADE", "PermuteLayer", "MAF"),
    "gan": NONSATURATING + CONDITIONAL + WGAN_GP,
}
SUBMISSION = graderUtil.Submission(Path(__file__).resolve().parent / "submission", GRADED_NAMES)


# ----------------------------------------------------------------------------------------
# Checks that fail with a one-line message


@graderUtil.assertion_helper
def check_tensor(value: object, what: str, shape: tuple[int, ...], dtype: torch.dtype) -> Tensor:
    """``value`` itself, after checking that it is a tensor of this shape and dtype."""
    if not isinstance(value, Tensor):
        got = graderUtil.type_name(value)
        raise AssertionError(f"{what} should be a torch.Tensor, got {got}")
    if tuple(value.shape) != shape:
        raise AssertionError(f"{what} should have shape {shape}, got {tuple(value.shape)}")
    if value.dtype != dtype:
        raise AssertionError(f"{what} should have dtype {dtype}, got {value.dtype}")
    return value


@graderUtil.assertion_helper
def check_pair(
    result: object, what: str, batch: int, dim: int, dtype: torch.dtype
) -> tuple[Tensor, Tensor]:
    """Checks that ``result`` is a tuple (values (batch, dim), log_det (batch,)) of tensors."""
    if not (isinstance(result, tuple) and len(result) == 2):
        got = graderUtil.type_name(result)
        if isinstance(result, tuple):
            got = f"a tuple of {len(result)}"
        raise AssertionError(f"{what} should return a tuple of two tensors, got {got}")
    values = check_tensor(result[0], f"{what}[0]", (batch, dim), dtype)
    log_det = check_tensor(result[1], f"{what}[1] (log_det)", (batch,), dtype)
    return values, log_det


@graderUtil.assertion_helper
def assert_close(actual: Tensor, expected: Tensor, what: str, tol: float) -> None:
    """Passes where ``|actual - expected| <= tol * (1 + |expected|)`` everywhere."""
    actual, expected = torch.as_tensor(actual).detach(), torch.as_tensor(expected).detach()
    if actual.shape != expected.shape:
        raise AssertionError(
            f"{what} should have shape {tuple(expected.shape)}, got {tuple(actual.shape)}"
        )
    if not torch.isfinite(actual).all():
        raise AssertionError(f"{what} contains NaN or inf")
    error = (actual - expected).abs()
    if not (error <= tol * (1 + expected.abs())).all():
        raise AssertionError(
            f"{what} is wrong: off by up to {error.max().item():.3g} (tolerance {tol:g})"
        )


@graderUtil.assertion_helper
def assert_pair_close(
    actual: tuple[Tensor, Tensor], expected: tuple[Tensor, Tensor], names: str, tol: float
) -> None:
    """assert_close for both parts of an (output, log_det) pair; ``names`` like "x, log_det"."""
    for value, reference, name in zip(actual, expected, names.split(", ")):
        assert_close(value, reference, name, tol)


# ----------------------------------------------------------------------------------------
# GAN losses: the stand-in networks, and how a loss is called


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
        self.label_images = nn.Parameter(torch.randn(NUM_CLASSES, N_PIXELS))

    def forward(self, z: Tensor, y: Tensor) -> Tensor:
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
        return self.outputs(x).gather(1, y[:, None]).squeeze(1)


def call_loss(
    gan: ModuleType, name: str, g: nn.Module, d: nn.Module, x_real: Tensor, y_real: Tensor | None
) -> object:
    """(In the child) the loss ``name`` called with device=CPU right after
    torch.manual_seed(SEED)."""
    labels = () if y_real is None else (y_real,)
    torch.manual_seed(SEED)
    return getattr(gan, name)(g, d, x_real, *labels, device=CPU)


def check_loss(value: object, name: str) -> Tensor:
    """A loss sent back by the child, checked to be a 0-dim float32 tensor."""
    return check_tensor(value, f"{name}(...)", (), torch.float32)
