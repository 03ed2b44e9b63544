"""What the two judges of the problem set share: the graded names, the checks that fail with
a one-line message, and how a network under test is described to the sandbox.

``grader.py`` judges against values it computes itself; the students' grader of the release
(``make release``) judges its basic tests against values stored in ``basic_tests.pt``. Both
have the sandbox make the same calls (``sandbox_calls``) on inputs they send.
"""

import torch
from torch import Tensor, nn

import graderUtil

HIDDEN_SIZE = 16  # the width of every MADE that the tests build
FLOAT32_TOL = 1e-5
SEED = 1234  # torch.manual_seed before each call of a loss and before redrawing its draws
NONSATURATING = ("loss_nonsaturating_d", "loss_nonsaturating_g")
CONDITIONAL = ("conditional_loss_nonsaturating_d", "conditional_loss_nonsaturating_g")
WGAN_GP = ("loss_wasserstein_gp_d", "loss_wasserstein_gp_g")

# What the tests read through the package, as the course's autograder does
# (``submission.flow_network.MADE``): every module and its names.
GRADED_NAMES = {
    "flow_network": ("MaskedLinear", "MADE", "PermuteLayer", "MAF"),
    "gan": NONSATURATING + CONDITIONAL + WGAN_GP,
}


def network_spec(network: nn.Module) -> dict[str, object]:
    """A network of the judge as the sandbox rebuilds it (sandbox_calls.loss_call): the
    name of its class and its state. The state's tensors share the network's storage, so that
    a request naming a network in several calls carries its weights once."""
    return {"type": type(network).__name__, "state": network.state_dict()}


# ----------------------------------------------------------------------------------------
# Checks that fail with a one-line message


def check_tensor(value: object, what: str, shape: tuple[int, ...], dtype: torch.dtype) -> Tensor:
    """``value`` itself, after checking that it is a tensor of this shape and dtype."""
    if not isinstance(value, Tensor):
        raise AssertionError(
            f"{what} should be a torch.Tensor, got {graderUtil.type_name(value)}")
    if tuple(value.shape) != shape:
        raise AssertionError(f"{what} should have shape {shape}, got {tuple(value.shape)}")
    if value.dtype != dtype:
        raise AssertionError(f"{what} should have dtype {dtype}, got {value.dtype}")
    return value


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


def assert_close(actual: Tensor, expected: Tensor, what: str, tol: float) -> None:
    """Passes where ``|actual - expected| <= tol * (1 + |expected|)`` everywhere."""
    actual, expected = torch.as_tensor(actual).detach(), torch.as_tensor(expected).detach()
    if actual.shape != expected.shape:
        raise AssertionError(
            f"{what} should have shape {tuple(expected.shape)}, got {tuple(actual.shape)}"
        )
    if not torch.isfinite(actual).all():
        raise AssertionError(f"{what} contains NaN or inf")
    error = (actual.double() - expected.double()).abs()
    if not (error <= tol * (1 + expected.double().abs())).all():
        raise AssertionError(
            f"{what} is wrong: off by up to {error.max().item():.3g} (tolerance {tol:g})"
        )


def assert_pair_close(
    actual: tuple[Tensor, Tensor], expected: tuple[Tensor, Tensor], names: str, tol: float
) -> None:
    """assert_close for both parts of an (output, log_det) pair; ``names`` like "x, log_det"."""
    for value, reference, name in zip(actual, expected, names.split(", ")):
        assert_close(value, reference, name, tol)


def check_loss(value: object, name: str) -> Tensor:
    """A loss sent back by the sandbox, checked to be a 0-dim float32 tensor."""
    return check_tensor(value, f"{name}(...)", (), torch.float32)
