#!/usr/bin/env python3
"""Autograder of the problem set: problem 1, the Masked Autoregressive Flow.

Run from src/:  ``python grader.py`` (all tests), ``python grader.py 1a-0-basic`` (one test),
``python grader.py --submission PATH`` (grade another copy of the submission folder).

Every expected value is computed here, independently of the code under test: from the
outputs of ``MADE.net`` (the network that gives mu and alpha), from masks built from the
degree rules, or from Jacobians found by autograd.
"""

import contextlib
import operator
import sys
import unittest
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn
from torch.autograd.functional import jacobian
from torch.distributions import Normal

import graderUtil
from graderUtil import graded

SUBMISSION = graderUtil.Submission(Path(__file__).resolve().parent / "submission")

HIDDEN_SIZE = 16
BATCH = 8
LARGE_BATCH = 10_000
MADE_CONFIGS = [(D, n_hidden) for D in (1, 2, 3, 5) for n_hidden in (0, 1, 2)]
FLOAT32_TOL = 1e-5
FLOAT64_TOL = 1e-10


# ----------------------------------------------------------------------------------------
# Checks that fail with a one-line message


@graderUtil.assertion_helper
def check_tensor(value: object, what: str, shape: tuple[int, ...], dtype: torch.dtype) -> Tensor:
    """``value`` itself, after checking that it is a tensor of this shape and dtype."""
    if not isinstance(value, Tensor):
        raise AssertionError(f"{what} should be a torch.Tensor, got {type(value).__name__}")
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
        got = f"a tuple of {len(result)}" if isinstance(result, tuple) else type(result).__name__
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


@graderUtil.assertion_helper
def assert_gradients_reach(module: nn.Module, loss: Tensor) -> None:
    """Checks that ``loss`` back-propagates finite, not all zero gradients to every parameter."""
    module.zero_grad()
    if not loss.requires_grad:
        raise AssertionError("the result does not require grad: it cannot be trained")
    loss.backward()
    for name, parameter in module.named_parameters():
        grad = parameter.grad
        if grad is None or not torch.isfinite(grad).all() or not grad.any():
            raise AssertionError(f"no finite, non-zero gradient reaches parameter {name}")


@contextlib.contextmanager
def net_batch_sizes(blocks: list[nn.Module]) -> Iterator[list[int]]:
    """Records the batch size of every call of ``block.net`` for the given MADE blocks."""
    sizes: list[int] = []
    handles = [
        block.net.register_forward_hook(lambda module, args, output: sizes.append(len(args[0])))
        for block in blocks
    ]
    try:
        yield sizes
    finally:
        for handle in handles:
            handle.remove()


@graderUtil.assertion_helper
def assert_whole_batch(sizes: list[int], batch: int) -> None:
    """Checks that self.net was called, each time on the whole batch (no loop over rows)."""
    if not sizes or set(sizes) != {batch}:
        raise AssertionError(
            f"self.net should be called on the whole batch of {batch} rows at once, "
            f"was called on batches of {sorted(set(sizes))}"
        )


# ----------------------------------------------------------------------------------------
# Independent computations


def degree_masks(D: int, H: int, n_hidden: int) -> list[Tensor]:
    """The MADE masks (out, in) of every layer for the sequential ordering, from the rules.

    Input i has degree i and hidden unit k degree k mod (D - 1) (0 when D = 1). A hidden unit
    sees the units below it of degree <= its own; both outputs of dimension i (mu_i and
    alpha_i) see the hidden units of degree < i.
    """
    hidden = [k % (D - 1) if D > 1 else 0 for k in range(H)]

    def mask(out_degrees: list[int], in_degrees: list[int], sees: Callable) -> Tensor:
        return torch.tensor([[float(sees(o, i)) for i in in_degrees] for o in out_degrees])

    first = mask(hidden, list(range(D)), operator.ge)
    last = mask(list(range(D)) * 2, hidden, operator.gt)
    return [first] + [mask(hidden, hidden, operator.ge)] * n_hidden + [last]


def net_mu_alpha(made: nn.Module, x: Tensor) -> tuple[Tensor, Tensor]:
    """mu and alpha (log std) of every dimension: the two halves of ``made.net(x)``."""
    out = made.net(x)
    return out[:, : x.shape[1]], out[:, x.shape[1] :]


def reference_inverse(made: nn.Module, x: Tensor) -> tuple[Tensor, Tensor]:
    """z = (x - mu) * exp(-alpha) and log|det dz/dx| = -sum(alpha), in one pass of the net."""
    mu, alpha = net_mu_alpha(made, x)
    return (x - mu) * torch.exp(-alpha), -alpha.sum(dim=1)


@torch.no_grad()
def reference_forward(made: nn.Module, z: Tensor) -> tuple[Tensor, Tensor]:
    """x_i = mu_i + z_i * exp(alpha_i) and sum(alpha), one dimension at a time.

    mu_i and alpha_i come from the net applied to the entries x_<i found so far. The entries
    not found yet hold noise: they must not matter, as mu_i and alpha_i depend on x_<i only.
    """
    x = torch.randn_like(z)
    log_det = torch.zeros_like(z[:, 0])
    for i in range(z.shape[1]):
        mu, alpha = net_mu_alpha(made, x)
        x[:, i] = mu[:, i] + z[:, i] * torch.exp(alpha[:, i])
        log_det += alpha[:, i]
    return x, log_det


def reference_flow_inverse(maf: nn.Module, x: Tensor) -> tuple[Tensor, Tensor]:
    """The noise z = f^-1(x) of the whole flow and the sum of the blocks' log-dets.

    Blocks with a ``net`` are MADE blocks; the others reverse the features.
    """
    z, log_det = x, torch.zeros_like(x[:, 0])
    for block in maf.nf:
        if hasattr(block, "net"):
            z, block_log_det = reference_inverse(block, z)
            log_det = log_det + block_log_det
        else:
            z = z.flip(1)
    return z, log_det


def standard_normal_log_density(z: Tensor) -> Tensor:
    """log N(z; 0, I) of every row of ``z``."""
    return Normal(0.0, 1.0).log_prob(z).sum(dim=1)


def reference_log_prob(maf: nn.Module, x: Tensor) -> Tensor:
    """log p(x) of every row of ``x`` by the change of variables (equation 2)."""
    z, log_det = reference_flow_inverse(maf, x)
    return standard_normal_log_density(z) + log_det


def row_jacobians(function: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """Jacobians (B, K, D) of a batched map (B, D) -> (B, K), by autograd one row at a time."""
    return torch.stack([jacobian(lambda row: function(row[None])[0], row) for row in x])


def log_abs_det(jacobians: Tensor) -> Tensor:
    return torch.linalg.slogdet(jacobians).logabsdet


# ----------------------------------------------------------------------------------------
# Tests


class FlowTestCase(unittest.TestCase):
    """Loads submission/flow_network.py and seeds torch, so that every run is the same."""

    def setUp(self) -> None:
        torch.manual_seed(0)
        self.fn = SUBMISSION.load("flow_network")

    def each_made(self, check: Callable[[nn.Module, Tensor], None]) -> None:
        """Runs ``check(made, x)`` for float64 MADEs of every size in MADE_CONFIGS."""
        for D, n_hidden in MADE_CONFIGS:
            with self.subTest(D=D, n_hidden=n_hidden):
                made = self.fn.MADE(D, HIDDEN_SIZE, n_hidden).double()
                check(made, torch.randn(BATCH, D, dtype=torch.float64))

    def check_values(self, method: str, expected: Callable, names: str) -> None:
        """MADE.<method> on float32 batches (D = 2, 4) against ``expected(made, input)``."""
        for D in (2, 4):
            with self.subTest(D=D):
                made = self.fn.MADE(D, HIDDEN_SIZE, 1)
                inputs = torch.randn(BATCH, D)
                result = getattr(made, method)(inputs)
                check_pair(result, f"MADE.{method}", BATCH, D, torch.float32)
                assert_pair_close(result, expected(made, inputs), names, FLOAT32_TOL)

    def check_edge_cases(self, method: str, expected: Callable, one_pass: bool) -> None:
        """MADE.<method> on batches of 1 and 10,000 rows and on float64 input.

        ``expected(made, input)`` gives the right (output, log_det); the input must be left
        unchanged and every call of self.net must see the whole batch (exactly one call if
        ``one_pass``).
        """
        made = self.fn.MADE(3, HIDDEN_SIZE, 1)
        what = f"MADE.{method}"
        cases = ((1, torch.float32), (LARGE_BATCH, torch.float32), (BATCH, torch.float64))
        for batch, dtype in cases:
            with self.subTest(batch=batch, dtype=dtype):
                made = made.to(dtype)
                inputs = torch.randn(batch, 3, dtype=dtype)
                original = inputs.clone()
                with net_batch_sizes([made]) as sizes:
                    result = check_pair(getattr(made, method)(inputs), what, batch, 3, dtype)
                assert_whole_batch(sizes, batch)
                if one_pass and len(sizes) != 1:
                    raise AssertionError(f"self.net should be called once, not {len(sizes)} times")
                if not torch.equal(inputs, original):
                    raise AssertionError(f"{what} changed its input in place")
                assert_pair_close(result, expected(made, inputs), "output, log_det", FLOAT32_TOL)

    def check_one_dimension(self, method: str, expected: Callable) -> None:
        """MADE.<method> with D = 1, where mu and alpha are the biases of the last layer.

        ``expected(input, mu, alpha)`` gives the right (output, log_det).
        """
        made = self.fn.MADE(1, HIDDEN_SIZE, 2)
        inputs = torch.randn(BATCH, 1)
        mu, alpha = made.net[-1].bias.detach()
        result = getattr(made, method)(inputs)
        check_pair(result, f"MADE.{method}", BATCH, 1, torch.float32)
        assert_pair_close(result, expected(inputs, mu, alpha), "output, log_det", FLOAT32_TOL)


class MADEForwardTest(FlowTestCase):
    """Problem 1a: MADE.forward, the sampling direction x = f(z)."""

    @graded(
        "1a-0-basic",
        "MADE.forward returns a tuple (x, log_det) of float32 tensors shaped (B, D), (B,) "
        "equal to x_i = mu_i + z_i*exp(alpha_i), log_det = sum alpha_i found one dimension "
        "at a time (D = 2, 4)",
    )
    def test_forward_values(self) -> None:
        self.check_values("forward", reference_forward, "x, log_det")

    @graded(
        "1a-1-hidden",
        "MADE.net is MaskedLinear/ReLU layers (nn.Linear's init, a `mask` buffer) with masks "
        "from the degree rules, so mu_i, alpha_i depend on x_<i only "
        "(D = 1, 2, 3, 5; n_hidden = 0, 1, 2)",
    )
    def test_net_structure(self) -> None:
        mask = (torch.rand(4, 3) < 0.5).float()
        torch.manual_seed(1)
        layer = self.fn.MaskedLinear(3, 4, mask)
        torch.manual_seed(1)
        plain = nn.Linear(3, 4)
        self.assertIsInstance(layer, nn.Linear, "MaskedLinear should subclass nn.Linear")
        buffers = dict(layer.named_buffers())
        self.assertIn("mask", buffers, "MaskedLinear should register a `mask` buffer")
        assert_close(layer.weight, plain.weight, "MaskedLinear's initial weight", 0)
        inputs = torch.randn(BATCH, 3)
        expected = inputs @ (plain.weight * mask).T + plain.bias
        assert_close(layer(inputs), expected, "MaskedLinear output (weight * mask)", FLOAT32_TOL)

        for D, n_hidden in MADE_CONFIGS:
            with self.subTest(D=D, n_hidden=n_hidden):
                made = self.fn.MADE(D, HIDDEN_SIZE, n_hidden)
                masks = degree_masks(D, HIDDEN_SIZE, n_hidden)
                layers = list(made.net)
                self.assertEqual(len(layers), 2 * len(masks) - 1, "number of layers in MADE.net")
                for index, layer in enumerate(layers):
                    if index % 2:
                        self.assertIsInstance(layer, nn.ReLU, f"MADE.net[{index}]")
                        continue
                    self.assertIsInstance(layer, self.fn.MaskedLinear, f"MADE.net[{index}]")
                    assert_close(layer.mask, masks[index // 2], f"mask of MADE.net[{index}]", 0)
                jacobians = row_jacobians(made.net, torch.randn(BATCH, D))  # (B, 2D, D)
                for name, part in (("mu", jacobians[:, :D]), ("alpha", jacobians[:, D:])):
                    # entry (i, j) on or above the diagonal: output i depends on x_j with j >= i
                    on_or_above = part.triu()
                    assert_close(on_or_above, 0 * on_or_above, f"d{name}_i/dx_j for j >= i", 0)

    @graded(
        "1a-2-hidden",
        "MADE.forward inverts z = (x - mu(x))*exp(-alpha(x)) computed from MADE.net "
        "(float64, D = 1, 2, 3, 5; n_hidden = 0, 1, 2)",
    )
    def test_forward_inverts(self) -> None:
        def check(made: nn.Module, z: Tensor) -> None:
            x, _ = check_pair(made.forward(z), "MADE.forward", BATCH, z.shape[1], torch.float64)
            assert_close(reference_inverse(made, x)[0], z, "z recovered from x", FLOAT64_TOL)

        self.each_made(check)

    @graded(
        "1a-3-hidden",
        "MADE.forward's log_det equals log|det dx/dz| = -log|det dz/dx|, the Jacobian taken "
        "by autograd at the returned x (float64, D = 1, 2, 3, 5; n_hidden = 0, 1, 2)",
    )
    def test_forward_log_det(self) -> None:
        # Found through the inverse map: forward itself need not be differentiable.
        def check(made: nn.Module, z: Tensor) -> None:
            D = z.shape[1]
            x, log_det = check_pair(made.forward(z), "MADE.forward", BATCH, D, torch.float64)
            jacobians = row_jacobians(lambda rows: reference_inverse(made, rows)[0], x.detach())
            assert_close(log_det, -log_abs_det(jacobians), "log_det", FLOAT64_TOL)

        self.each_made(check)

    @graded(
        "1a-4-hidden",
        "MADE.forward on batches of 1 and 10,000 rows (self.net sees the whole batch) and "
        "float64, leaves z unchanged, and takes mu, alpha from the output biases for D = 1",
    )
    def test_forward_edge_cases(self) -> None:
        self.check_edge_cases("forward", reference_forward, one_pass=False)
        self.check_one_dimension(
            "forward", lambda z, mu, alpha: (mu + z * torch.exp(alpha), alpha.expand(len(z)))
        )


class MADEInverseTest(FlowTestCase):
    """Problem 1b: MADE.inverse, the density direction z = f^-1(x)."""

    @graded(
        "1b-0-basic",
        "MADE.inverse returns a tuple (z, log_det) of float32 tensors shaped (B, D), (B,) "
        "equal to (x - mu)*exp(-alpha) and -sum alpha_i with mu, alpha from MADE.net(x) "
        "(D = 2, 4)",
    )
    def test_inverse_values(self) -> None:
        self.check_values("inverse", reference_inverse, "z, log_det")

    @graded(
        "1b-1-hidden",
        "MADE.inverse: autograd's dz/dx is lower triangular with log|det| equal to log_det, "
        "and sampling one dimension at a time maps z back to x "
        "(float64, D = 1, 2, 3, 5; n_hidden = 0, 1, 2)",
    )
    def test_inverse_jacobian(self) -> None:
        def check(made: nn.Module, x: Tensor) -> None:
            D = x.shape[1]
            z, log_det = check_pair(made.inverse(x), "MADE.inverse", BATCH, D, torch.float64)
            jacobians = row_jacobians(lambda rows: made.inverse(rows)[0], x)
            upper = jacobians.triu(1)
            assert_close(upper, torch.zeros_like(upper), "dz_i/dx_j for j > i", 0)
            assert_close(log_det, log_abs_det(jacobians), "log_det", FLOAT64_TOL)
            assert_close(reference_forward(made, z)[0], x, "x recovered from z", FLOAT64_TOL)

        self.each_made(check)

    @graded(
        "1b-2-hidden",
        "MADE.inverse calls self.net once on the whole batch (1 and 10,000 rows), handles "
        "float64, leaves x unchanged, is differentiable, and takes mu, alpha from the output "
        "biases for D = 1",
    )
    def test_inverse_edge_cases(self) -> None:
        self.check_edge_cases("inverse", reference_inverse, one_pass=True)
        self.check_one_dimension(
            "inverse", lambda x, mu, alpha: ((x - mu) * torch.exp(-alpha), -alpha.expand(len(x)))
        )
        made = self.fn.MADE(3, HIDDEN_SIZE, 1)
        z, log_det = made.inverse(torch.randn(BATCH, 3))
        assert_gradients_reach(made, z.sum() + log_det.sum())


class MAFTest(FlowTestCase):
    """Problem 1c: MAF.log_probs, and the rest of the MAF that uses it."""

    @graded(
        "1c-0-basic",
        "MAF.log_probs returns a 0-dim float32 tensor: the batch mean of log N(z; 0, I) plus "
        "every block's log-det, found from the MADE nets and feature reversals (D = 2, 3 flows)",
    )
    def test_log_probs_values(self) -> None:
        maf = self.fn.MAF(2, HIDDEN_SIZE, 1, 3)
        x = torch.randn(BATCH, 2)
        value = check_tensor(maf.log_probs(x), "MAF.log_probs(x)", (), torch.float32)
        assert_close(value, reference_log_prob(maf, x).mean(), "log_probs", FLOAT32_TOL)

    @graded(
        "1c-1-hidden",
        "MAF.log_probs is the batch mean of log N(f^-1(x); 0, I) + log|det df^-1/dx| with the "
        "whole flow's Jacobian from autograd; loss = -log_probs; log_prob gives each row's "
        "value (float64, D = 1, 2, 3, 5)",
    )
    def test_log_probs_jacobian(self) -> None:
        for D in (1, 2, 3, 5):
            with self.subTest(D=D):
                maf = self.fn.MAF(D, HIDDEN_SIZE, 1, 3).double()
                x = torch.randn(BATCH, D, dtype=torch.float64)

                def flow_inverse(rows: Tensor) -> Tensor:
                    return reference_flow_inverse(maf, rows)[0]

                jacobians = row_jacobians(flow_inverse, x)
                expected = standard_normal_log_density(flow_inverse(x)) + log_abs_det(jacobians)
                value = check_tensor(maf.log_probs(x), "MAF.log_probs(x)", (), torch.float64)
                assert_close(value, expected.mean(), "log_probs", FLOAT64_TOL)
                loss = check_tensor(maf.loss(x), "MAF.loss(x)", (), torch.float64)
                assert_close(loss, -expected.mean(), "loss", FLOAT64_TOL)
                per_row = check_tensor(maf.log_prob(x), "MAF.log_prob(x)", (BATCH,), torch.float64)
                assert_close(per_row, expected, "log_prob", FLOAT64_TOL)

    @graded(
        "1c-2-hidden",
        "the density exp(MAF.log_prob) of a random 2-D MAF integrates to 1 over the plane "
        "(midpoint rule on [-10, 10]^2), and MAF.log_probs of the grid is the mean of log_prob",
    )
    def test_density_integrates_to_one(self) -> None:
        # An untrained MAF is close to a standard normal: the midpoint rule on [-10, 10]^2
        # with a step of 0.1 finds its total mass to about 1e-5 (1e-4 on [-8, 8]^2).
        maf = self.fn.MAF(2, HIDDEN_SIZE, 1, 3).double()
        half_width, step = 10, 0.1
        centers = torch.arange(-half_width + step / 2, half_width, step, dtype=torch.float64)
        grid = torch.cartesian_prod(centers, centers)
        with torch.no_grad():
            log_density = maf.log_prob(grid)
            check_tensor(log_density, "MAF.log_prob", (len(grid),), torch.float64)
            mass = log_density.exp().sum() * step**2
            assert_close(mass, torch.tensor(1.0), "the total probability", 1e-3)
            value = check_tensor(maf.log_probs(grid), "MAF.log_probs", (), torch.float64)
            assert_close(value, log_density.mean(), "log_probs of the grid", FLOAT64_TOL)

    @graded(
        "1c-3-hidden",
        "MAF.nf is [MADE, PermuteLayer] x n_flows with a standard normal base_dist; log_probs "
        "works on batches of 1 and 10,000 rows (every net sees the whole batch) and trains "
        "every parameter",
    )
    def test_log_probs_edge_cases(self) -> None:
        n_flows = 5
        maf = self.fn.MAF(2, HIDDEN_SIZE, 1, n_flows)
        blocks = list(maf.nf)
        expected_types = [self.fn.MADE, self.fn.PermuteLayer] * n_flows
        self.assertEqual(len(blocks), len(expected_types), "number of blocks in MAF.nf")
        for index, (block, expected_type) in enumerate(zip(blocks, expected_types)):
            self.assertIsInstance(block, expected_type, f"MAF.nf[{index}]")
        points = torch.tensor([-1.5, 0.0, 2.0])
        standard = Normal(0.0, 1.0).log_prob(points)
        assert_close(maf.base_dist.log_prob(points), standard, "base_dist.log_prob", 0)

        for batch in (1, LARGE_BATCH):
            with self.subTest(batch=batch):
                x = torch.randn(batch, 2)
                with net_batch_sizes(blocks[::2]) as sizes:
                    value = check_tensor(maf.log_probs(x), "MAF.log_probs(x)", (), torch.float32)
                assert_whole_batch(sizes, batch)
                assert_close(value, reference_log_prob(maf, x).mean(), "log_probs", FLOAT32_TOL)
                assert_gradients_reach(maf, maf.loss(x))

    @graded(
        "1c-4-hidden",
        "MAF.sample returns a numpy array (n, D) of rows that the flow's inverse (from the "
        "MADE nets) maps to standard normal noise; PermuteLayer reverses the features with "
        "zero log-dets (D = 2, 3)",
    )
    def test_sample_and_permute(self) -> None:
        n = 20_000  # the mean and covariance of the noise are then within 0.01 or so
        for D in (2, 3):
            with self.subTest(D=D):
                layer = self.fn.PermuteLayer(D)
                x = torch.randn(BATCH, D)
                for method in ("forward", "inverse"):
                    what = f"PermuteLayer.{method}"
                    result = getattr(layer, method)(x)
                    values, log_det = check_pair(result, what, BATCH, D, torch.float32)
                    assert_close(values, x.flip(1), f"{what}'s output", 0)
                    assert_close(log_det, torch.zeros(BATCH), f"{what}'s log_det", 0)

                maf = self.fn.MAF(D, HIDDEN_SIZE, 1, 3)
                samples = maf.sample(torch.device("cpu"), n)
                if not isinstance(samples, np.ndarray) or samples.shape != (n, D):
                    raise AssertionError(
                        f"MAF.sample should return a numpy array of shape {(n, D)}, got "
                        f"{type(samples).__name__} of shape {getattr(samples, 'shape', None)}"
                    )
                with torch.no_grad():
                    z, _ = reference_flow_inverse(maf, torch.as_tensor(samples).float())
                assert_close(z.mean(dim=0), torch.zeros(D), "mean of the samples' noise", 0.05)
                assert_close(torch.cov(z.T), torch.eye(D), "covariance of the samples' noise", 0.05)


if __name__ == "__main__":
    points_file = Path(__file__).resolve().parent / "points.json"
    graderUtil.main(sys.modules[__name__], SUBMISSION, points_file)
