#!/usr/bin/env python3
"""Autograder of the problem set: problem 1, the Masked Autoregressive Flow, and the GAN
losses of problems 2b (non-saturating), 4b (conditional) and 5e (WGAN-GP).

Run from src/:  ``python grader.py`` (all tests), ``python grader.py 1a-0-basic`` (one test),
``python grader.py --submission PATH`` (grade another copy of the submission folder),
``python grader.py --gradescope FILE`` (also write Gradescope's results JSON; run_autograder
in the bundle that ``make autograder`` builds does this). The tests reach the graded code as
the course's autograder does: ``import submission``, then ``submission.flow_network.MADE``.

The submission's code runs only in child processes (graderUtil.collect): each test draws its
inputs here, the child makes the graded calls and sends back their outputs (and the weights
of the student's MADEs), and the verdict is decided here. Every expected value is computed
here, independently of the code under test. For the flow:
from the outputs of ``MADE.net`` (the network that gives mu and alpha), from masks built from
the degree rules, or from Jacobians found by autograd. For the GANs: from the equations in
float64, for the same random draws as the losses (z, then alpha), with small stand-in
networks defined here or the networks of network.py; the gradient penalty is checked against
autograd run on one sample at a time and against the closed form of a linear critic.
"""

import contextlib
import copy
import operator
import sys
import unittest
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import torch
from torch import Tensor, nn
from torch.autograd.functional import jacobian
from torch.distributions import Normal

import graderUtil
import network
from grader_common import (CONDITIONAL, DIM_Z, FLOAT32_TOL, HIDDEN_SIZE, IMAGE_SHAPE, N_PIXELS,
                           NONSATURATING, NUM_CLASSES, SEED, SUBMISSION, WGAN_GP,
                           LinearConditionalGenerator, LinearGenerator,
                           TinyConditionalDiscriminator, TinyDiscriminator, assert_close,
                           assert_pair_close, call_loss, check_loss, check_pair, check_tensor)
from graderUtil import graded


BATCH = 8
LARGE_BATCH = 10_000
MADE_CONFIGS = [(D, n_hidden) for D in (1, 2, 3, 5) for n_hidden in (0, 1, 2)]
FLOAT64_TOL = 1e-10

# The GAN losses: a batch for the stand-in networks, and one for network.py's
GAN_BATCH = 6
REAL_NET_BATCH = 4  # network.py's networks on 28 x 28 images
LAMBDA = 10.0  # the weight of the gradient penalty (problem 5e)


# ----------------------------------------------------------------------------------------
# Checks of what the submission's calls sent back


def gradients(module: nn.Module, loss: object) -> dict[str, object]:
    """(In the child) back-propagates ``loss`` if it can be: whether it requires grad, and the
    gradient of every parameter of ``module`` (None where none arrived)."""
    module.zero_grad()
    trainable = isinstance(loss, Tensor) and loss.requires_grad
    if trainable:
        loss.backward()
    return {"requires_grad": trainable,
            "grads": {name: parameter.grad for name, parameter in module.named_parameters()}}


@graderUtil.assertion_helper
def assert_gradients_reach(sent: dict) -> None:
    """Checks that the loss behind ``sent`` (from ``gradients``) back-propagated finite, not
    all zero gradients to every parameter."""
    if not sent["requires_grad"]:
        raise AssertionError("the result does not require grad: it cannot be trained")
    for name, grad in sent["grads"].items():
        if grad is None or not torch.isfinite(grad).all() or not grad.any():
            raise AssertionError(f"no finite, non-zero gradient reaches parameter {name}")


@contextlib.contextmanager
def net_batch_sizes(blocks: list[nn.Module]) -> Iterator[list[int]]:
    """(In the child) records the batch size of every call of ``block.net`` for the given
    MADE blocks."""
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


def net_record(made: nn.Module) -> list[dict[str, object]]:
    """(In the child) every layer of ``made.net``: its type and, for a linear layer, its
    weight, bias and mask, from which the grader rebuilds the net (``Net``)."""
    return [
        {"type": type(layer).__name__, "weight": layer.weight, "bias": layer.bias,
         "mask": getattr(layer, "mask", None)}
        if isinstance(layer, nn.Linear) else {"type": type(layer).__name__}
        for layer in made.net
    ]


def flow_record(maf: nn.Module) -> list[dict[str, object]]:
    """(In the child) every block of ``maf.nf``: its type and, for a MADE, its net."""
    return [
        {"type": type(block).__name__, "net": net_record(block)}
        if isinstance(getattr(block, "net", None), nn.Sequential)
        else {"type": type(block).__name__}
        for block in maf.nf
    ]


class Net:
    """A MADE's net rebuilt here from ``net_record``: masked linear layers
    ``x (W * M)^T + b`` with ReLUs between them, the network the problem set gives."""

    def __init__(self, record: list[dict[str, object]]) -> None:
        for index, layer in enumerate(record):
            expected = "ReLU" if index % 2 else "MaskedLinear"
            if layer["type"] != expected or (index % 2 == 0 and layer["mask"] is None):
                raise AssertionError(
                    f"MADE.net[{index}] should be a {expected}, as given, not a {layer['type']}"
                )
        self.layers = record

    def __call__(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            if layer["type"] == "ReLU":
                x = torch.relu(x)
            else:
                x = x @ (layer["weight"] * layer["mask"]).T + layer["bias"]
        return x


def net_mu_alpha(net: Net, x: Tensor) -> tuple[Tensor, Tensor]:
    """mu and alpha (log std) of every dimension: the two halves of ``net(x)``."""
    out = net(x)
    return out[:, : x.shape[1]], out[:, x.shape[1] :]


def reference_inverse(net: Net, x: Tensor) -> tuple[Tensor, Tensor]:
    """z = (x - mu) * exp(-alpha) and log|det dz/dx| = -sum(alpha), in one pass of the net."""
    mu, alpha = net_mu_alpha(net, x)
    return (x - mu) * torch.exp(-alpha), -alpha.sum(dim=1)


@torch.no_grad()
def reference_forward(net: Net, z: Tensor) -> tuple[Tensor, Tensor]:
    """x_i = mu_i + z_i * exp(alpha_i) and sum(alpha), one dimension at a time.

    mu_i and alpha_i come from the net applied to the entries x_<i found so far. The entries
    not found yet hold noise: they must not matter, as mu_i and alpha_i depend on x_<i only.
    """
    x = torch.randn_like(z)
    log_det = torch.zeros_like(z[:, 0])
    for i in range(z.shape[1]):
        mu, alpha = net_mu_alpha(net, x)
        x[:, i] = mu[:, i] + z[:, i] * torch.exp(alpha[:, i])
        log_det += alpha[:, i]
    return x, log_det


def flow_blocks(record: list[dict[str, object]]) -> list[Net | None]:
    """The blocks of a MAF from ``flow_record``: a Net for each MADE, None for a reversal."""
    return [Net(block["net"]) if "net" in block else None for block in record]


def reference_flow_inverse(blocks: list[Net | None], x: Tensor) -> tuple[Tensor, Tensor]:
    """The noise z = f^-1(x) of the whole flow and the sum of the blocks' log-dets."""
    z, log_det = x, torch.zeros_like(x[:, 0])
    for block in blocks:
        if block is None:
            z = z.flip(1)
        else:
            z, block_log_det = reference_inverse(block, z)
            log_det = log_det + block_log_det
    return z, log_det


def standard_normal_log_density(z: Tensor) -> Tensor:
    """log N(z; 0, I) of every row of ``z``."""
    return Normal(0.0, 1.0).log_prob(z).sum(dim=1)


def reference_log_prob(blocks: list[Net | None], x: Tensor) -> Tensor:
    """log p(x) of every row of ``x`` by the change of variables (equation 2)."""
    z, log_det = reference_flow_inverse(blocks, x)
    return standard_normal_log_density(z) + log_det


def row_jacobians(function: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """Jacobians (B, K, D) of a batched map (B, D) -> (B, K), by autograd one row at a time."""
    return torch.stack([jacobian(lambda row: function(row[None])[0], row) for row in x])


def log_abs_det(jacobians: Tensor) -> Tensor:
    return torch.linalg.slogdet(jacobians).logabsdet


# ----------------------------------------------------------------------------------------
# Tests
#
# Every test first draws its inputs here, then runs the submission's calls in a child
# process (``self.collect``; each call yields what the judgement needs: outputs, the inputs
# after the call, the weights used) and judges what comes back here, against values computed
# here from those weights and its own inputs.


class FlowTestCase(unittest.TestCase):
    """Seeds torch, so that every run is the same, and runs calls of submission/flow_network.py
    in a child process."""

    def setUp(self) -> None:
        torch.manual_seed(0)

    def collect(self, calls: Callable[[ModuleType], Iterator[object]]) -> graderUtil.Collected:
        """The items that ``calls(flow_network)`` yields in a child process."""
        return graderUtil.collect(lambda: calls(SUBMISSION.load("flow_network")))

    def each_made(self, method: str, check: Callable[[Net, Tensor, object, object], None]) -> None:
        """``check(net, input, result, jacobians)`` for MADE.<method> of float64 MADEs of every
        size in MADE_CONFIGS; ``jacobians``: autograd's Jacobians of the method's first output,
        row by row, for the inverse (None for the forward, which need not be differentiable)."""
        inputs = [torch.randn(BATCH, D, dtype=torch.float64) for D, _ in MADE_CONFIGS]

        def calls(fn: ModuleType) -> Iterator[object]:
            for (D, n_hidden), x in zip(MADE_CONFIGS, inputs):
                made = fn.MADE(D, HIDDEN_SIZE, n_hidden).double()
                yield net_record(made), getattr(made, method)(x)
                if method == "inverse":
                    yield row_jacobians(lambda rows: made.inverse(rows)[0], x)

        got = self.collect(calls)
        step = 2 if method == "inverse" else 1
        for index, ((D, n_hidden), x) in enumerate(zip(MADE_CONFIGS, inputs)):
            with self.subTest(D=D, n_hidden=n_hidden):
                record, result = got[step * index]
                check_pair(result, f"MADE.{method}", BATCH, D, torch.float64)
                jacobians = got[step * index + 1] if step == 2 else None
                check(Net(record), x, result, jacobians)

    def check_values(self, method: str, expected: Callable, names: str) -> None:
        """MADE.<method> on float32 batches (D = 2, 4) against ``expected(net, input)``."""
        inputs = {D: torch.randn(BATCH, D) for D in (2, 4)}

        def calls(fn: ModuleType) -> Iterator[object]:
            for D, x in inputs.items():
                made = fn.MADE(D, HIDDEN_SIZE, 1)
                yield net_record(made), getattr(made, method)(x)

        got = self.collect(calls)
        for index, (D, x) in enumerate(inputs.items()):
            with self.subTest(D=D):
                record, result = got[index]
                check_pair(result, f"MADE.{method}", BATCH, D, torch.float32)
                assert_pair_close(result, expected(Net(record), x), names, FLOAT32_TOL)

    def check_edge_cases(self, method: str, expected: Callable, one_pass: bool) -> None:
        """MADE.<method> on batches of 1 and 10,000 rows and on float64 input.

        ``expected(net, input)`` gives the right (output, log_det); the input must be left
        unchanged and every call of self.net must see the whole batch (exactly one call if
        ``one_pass``).
        """
        cases = ((1, torch.float32), (LARGE_BATCH, torch.float32), (BATCH, torch.float64))
        inputs = [torch.randn(batch, 3, dtype=dtype) for batch, dtype in cases]

        def calls(fn: ModuleType) -> Iterator[object]:
            made = fn.MADE(3, HIDDEN_SIZE, 1)
            for (_, dtype), x in zip(cases, inputs):
                made = made.to(dtype)
                with net_batch_sizes([made]) as sizes:
                    result = getattr(made, method)(x)
                yield net_record(made), result, sizes, x  # x as the call left it

        got = self.collect(calls)
        what = f"MADE.{method}"
        for index, ((batch, dtype), x) in enumerate(zip(cases, inputs)):
            with self.subTest(batch=batch, dtype=dtype):
                record, result, sizes, after = got[index]
                result = check_pair(result, what, batch, 3, dtype)
                assert_whole_batch(sizes, batch)
                if one_pass and len(sizes) != 1:
                    raise AssertionError(f"self.net should be called once, not {len(sizes)} times")
                if not torch.equal(after, x):
                    raise AssertionError(f"{what} changed its input in place")
                assert_pair_close(result, expected(Net(record), x), "output, log_det", FLOAT32_TOL)

    def check_one_dimension(self, method: str, expected: Callable) -> None:
        """MADE.<method> with D = 1, where mu and alpha are the biases of the last layer.

        ``expected(input, mu, alpha)`` gives the right (output, log_det).
        """
        inputs = torch.randn(BATCH, 1)

        def calls(fn: ModuleType) -> Iterator[object]:
            made = fn.MADE(1, HIDDEN_SIZE, 2)
            yield net_record(made), getattr(made, method)(inputs)

        record, result = self.collect(calls)[0]
        mu, alpha = record[-1]["bias"]
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
        "from the degree rules, so mu_i, alpha_i depend on x_<i only, and MADE.forward's x_i "
        "depends on z_<=i only (D = 1, 2, 3, 5; n_hidden = 0, 1, 2)",
    )
    def test_net_structure(self) -> None:
        mask = (torch.rand(4, 3) < 0.5).float()
        inputs = torch.randn(BATCH, 3)
        noise = [torch.randn(BATCH, D) for D, _ in MADE_CONFIGS]

        def calls(fn: ModuleType) -> Iterator[object]:
            torch.manual_seed(1)
            layer = fn.MaskedLinear(3, 4, mask)
            yield (issubclass(fn.MaskedLinear, nn.Linear), sorted(dict(layer.named_buffers())),
                   layer.weight, layer.bias, layer(inputs))
            for (D, n_hidden), z in zip(MADE_CONFIGS, noise):
                made = fn.MADE(D, HIDDEN_SIZE, n_hidden)
                nudged = [z + torch.eye(D)[j] for j in range(D)]  # z_j changed alone
                yield net_record(made), made.forward(z), [made.forward(n) for n in nudged]

        got = self.collect(calls)
        is_linear, buffers, weight, _, output = got[0]
        torch.manual_seed(1)
        plain = nn.Linear(3, 4)
        self.assertTrue(is_linear, "MaskedLinear should subclass nn.Linear")
        self.assertIn("mask", buffers, "MaskedLinear should register a `mask` buffer")
        assert_close(weight, plain.weight, "MaskedLinear's initial weight", 0)
        expected = inputs @ (plain.weight * mask).T + plain.bias
        assert_close(output, expected, "MaskedLinear output (weight * mask)", FLOAT32_TOL)

        for index, (D, n_hidden) in enumerate(MADE_CONFIGS, start=1):
            with self.subTest(D=D, n_hidden=n_hidden):
                record, result, nudged = got[index]
                masks = degree_masks(D, HIDDEN_SIZE, n_hidden)
                self.assertEqual(len(record), 2 * len(masks) - 1, "number of layers in MADE.net")
                net = Net(record)
                for position, layer in enumerate(record[::2]):
                    what = f"mask of MADE.net[{2 * position}]"
                    assert_close(layer["mask"], masks[position], what, 0)
                jacobians = row_jacobians(net, torch.randn(BATCH, D))  # (B, 2D, D)
                for name, part in (("mu", jacobians[:, :D]), ("alpha", jacobians[:, D:])):
                    # entry (i, j) on or above the diagonal: output i depends on x_j with j >= i
                    on_or_above = part.triu()
                    assert_close(on_or_above, 0 * on_or_above, f"d{name}_i/dx_j for j >= i", 0)
                x, _ = check_pair(result, "MADE.forward", BATCH, D, torch.float32)
                for j, changed in enumerate(nudged):  # changing z_j leaves every x_<j as it was
                    x_nudged, _ = check_pair(changed, "MADE.forward", BATCH, D, torch.float32)
                    what = f"MADE.forward's x_<{j} after a change of z_{j} alone"
                    assert_close(x_nudged[:, :j], x[:, :j], what, FLOAT32_TOL)

    @graded(
        "1a-2-hidden",
        "MADE.forward inverts z = (x - mu(x))*exp(-alpha(x)) computed from MADE.net "
        "(float64, D = 1, 2, 3, 5; n_hidden = 0, 1, 2)",
    )
    def test_forward_inverts(self) -> None:
        def check(net: Net, z: Tensor, result: tuple, _) -> None:
            assert_close(reference_inverse(net, result[0])[0], z, "z recovered from x", FLOAT64_TOL)

        self.each_made("forward", check)

    @graded(
        "1a-3-hidden",
        "MADE.forward's log_det equals log|det dx/dz| = -log|det dz/dx|, the Jacobian taken "
        "by autograd at the returned x (float64, D = 1, 2, 3, 5; n_hidden = 0, 1, 2)",
    )
    def test_forward_log_det(self) -> None:
        # Found through the inverse map: forward itself need not be differentiable.
        def check(net: Net, z: Tensor, result: tuple, _) -> None:
            x, log_det = result
            jacobians = row_jacobians(lambda rows: reference_inverse(net, rows)[0], x)
            assert_close(log_det, -log_abs_det(jacobians), "log_det", FLOAT64_TOL)

        self.each_made("forward", check)

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
        def check(net: Net, x: Tensor, result: tuple, jacobians: Tensor) -> None:
            z, log_det = result
            upper = jacobians.triu(1)
            assert_close(upper, torch.zeros_like(upper), "dz_i/dx_j for j > i", 0)
            assert_close(log_det, log_abs_det(jacobians), "log_det", FLOAT64_TOL)
            assert_close(reference_forward(net, z)[0], x, "x recovered from z", FLOAT64_TOL)

        self.each_made("inverse", check)

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
        inputs = torch.randn(BATCH, 3)

        def calls(fn: ModuleType) -> Iterator[object]:
            made = fn.MADE(3, HIDDEN_SIZE, 1)
            z, log_det = made.inverse(inputs)
            yield gradients(made, z.sum() + log_det.sum())

        assert_gradients_reach(self.collect(calls)[0])


class MAFTest(FlowTestCase):
    """Problem 1c: MAF.log_probs, and the rest of the MAF that uses it."""

    @graded(
        "1c-0-basic",
        "MAF.log_probs returns a 0-dim float32 tensor: the batch mean of log N(z; 0, I) plus "
        "every block's log-det, found from the MADE nets and feature reversals (D = 2, 3 flows)",
    )
    def test_log_probs_values(self) -> None:
        x = torch.randn(BATCH, 2)

        def calls(fn: ModuleType) -> Iterator[object]:
            maf = fn.MAF(2, HIDDEN_SIZE, 1, 3)
            yield flow_record(maf), maf.log_probs(x)

        record, value = self.collect(calls)[0]
        value = check_tensor(value, "MAF.log_probs(x)", (), torch.float32)
        expected = reference_log_prob(flow_blocks(record), x).mean()
        assert_close(value, expected, "log_probs", FLOAT32_TOL)

    @graded(
        "1c-1-hidden",
        "MAF.log_probs is the batch mean of log N(f^-1(x); 0, I) + log|det df^-1/dx| with the "
        "whole flow's Jacobian from autograd; loss = -log_probs; log_prob gives each row's "
        "value (float64, D = 1, 2, 3, 5)",
    )
    def test_log_probs_jacobian(self) -> None:
        sizes = (1, 2, 3, 5)
        inputs = [torch.randn(BATCH, D, dtype=torch.float64) for D in sizes]

        def calls(fn: ModuleType) -> Iterator[object]:
            for D, x in zip(sizes, inputs):
                maf = fn.MAF(D, HIDDEN_SIZE, 1, 3).double()
                yield flow_record(maf), maf.log_probs(x), maf.loss(x), maf.log_prob(x)

        got = self.collect(calls)
        for index, (D, x) in enumerate(zip(sizes, inputs)):
            with self.subTest(D=D):
                record, value, loss, per_row = got[index]
                blocks = flow_blocks(record)

                def flow_inverse(rows: Tensor) -> Tensor:
                    return reference_flow_inverse(blocks, rows)[0]

                jacobians = row_jacobians(flow_inverse, x)
                expected = standard_normal_log_density(flow_inverse(x)) + log_abs_det(jacobians)
                value = check_tensor(value, "MAF.log_probs(x)", (), torch.float64)
                assert_close(value, expected.mean(), "log_probs", FLOAT64_TOL)
                loss = check_tensor(loss, "MAF.loss(x)", (), torch.float64)
                assert_close(loss, -expected.mean(), "loss", FLOAT64_TOL)
                per_row = check_tensor(per_row, "MAF.log_prob(x)", (BATCH,), torch.float64)
                assert_close(per_row, expected, "log_prob", FLOAT64_TOL)

    @graded(
        "1c-2-hidden",
        "the density exp(MAF.log_prob) of a random 2-D MAF integrates to 1 over the plane "
        "(midpoint rule on [-10, 10]^2), and MAF.log_probs of the grid is the mean of log_prob",
    )
    def test_density_integrates_to_one(self) -> None:
        # An untrained MAF is close to a standard normal: the midpoint rule on [-10, 10]^2
        # with a step of 0.1 finds its total mass to about 1e-5 (1e-4 on [-8, 8]^2).
        half_width, step = 10, 0.1
        centers = torch.arange(-half_width + step / 2, half_width, step, dtype=torch.float64)
        grid = torch.cartesian_prod(centers, centers)

        def calls(fn: ModuleType) -> Iterator[object]:
            maf = fn.MAF(2, HIDDEN_SIZE, 1, 3).double()
            with torch.no_grad():
                yield maf.log_prob(grid), maf.log_probs(grid)

        log_density, value = self.collect(calls)[0]
        check_tensor(log_density, "MAF.log_prob", (len(grid),), torch.float64)
        mass = log_density.exp().sum() * step**2
        assert_close(mass, torch.tensor(1.0), "the total probability", 1e-3)
        value = check_tensor(value, "MAF.log_probs", (), torch.float64)
        assert_close(value, log_density.mean(), "log_probs of the grid", FLOAT64_TOL)

    @graded(
        "1c-3-hidden",
        "MAF.nf is [MADE, PermuteLayer] x n_flows with a standard normal base_dist; log_probs "
        "works on batches of 1 and 10,000 rows (every net sees the whole batch) and trains "
        "every parameter",
    )
    def test_log_probs_edge_cases(self) -> None:
        n_flows = 5
        points = torch.tensor([-1.5, 0.0, 2.0])
        batches = (1, LARGE_BATCH)
        inputs = [torch.randn(batch, 2) for batch in batches]

        def calls(fn: ModuleType) -> Iterator[object]:
            maf = fn.MAF(2, HIDDEN_SIZE, 1, n_flows)
            yield flow_record(maf), maf.base_dist.log_prob(points)
            for x in inputs:
                with net_batch_sizes(list(maf.nf)[::2]) as sizes:
                    value = maf.log_probs(x)
                yield sizes, value, gradients(maf, maf.loss(x))

        got = self.collect(calls)
        record, base_log_prob = got[0]
        types = [block["type"] for block in record]
        self.assertEqual(types, ["MADE", "PermuteLayer"] * n_flows, "the blocks of MAF.nf")
        standard = Normal(0.0, 1.0).log_prob(points)
        assert_close(base_log_prob, standard, "base_dist.log_prob", 0)
        blocks = flow_blocks(record)
        for index, (batch, x) in enumerate(zip(batches, inputs), start=1):
            with self.subTest(batch=batch):
                sizes, value, sent = got[index]
                value = check_tensor(value, "MAF.log_probs(x)", (), torch.float32)
                assert_whole_batch(sizes, batch)
                assert_close(value, reference_log_prob(blocks, x).mean(), "log_probs", FLOAT32_TOL)
                assert_gradients_reach(sent)

    @graded(
        "1c-4-hidden",
        "MAF.sample returns a numpy array (n, D) of rows that the flow's inverse (from the "
        "MADE nets) maps to standard normal noise; PermuteLayer reverses the features with "
        "zero log-dets (D = 2, 3)",
    )
    def test_sample_and_permute(self) -> None:
        n = 20_000  # the mean and covariance of the noise are then within 0.01 or so
        sizes = (2, 3)
        inputs = [torch.randn(BATCH, D) for D in sizes]

        def calls(fn: ModuleType) -> Iterator[object]:
            for D, x in zip(sizes, inputs):
                layer = fn.PermuteLayer(D)
                yield layer.forward(x), layer.inverse(x)
                maf = fn.MAF(D, HIDDEN_SIZE, 1, 3)
                samples = maf.sample(torch.device("cpu"), n)
                is_array = isinstance(samples, np.ndarray)
                yield (flow_record(maf), is_array, getattr(samples, "shape", None),
                       torch.as_tensor(samples) if is_array else None)

        got = self.collect(calls)
        for index, (D, x) in enumerate(zip(sizes, inputs)):
            with self.subTest(D=D):
                for method, result in zip(("forward", "inverse"), got[2 * index]):
                    what = f"PermuteLayer.{method}"
                    values, log_det = check_pair(result, what, BATCH, D, torch.float32)
                    assert_close(values, x.flip(1), f"{what}'s output", 0)
                    assert_close(log_det, torch.zeros(BATCH), f"{what}'s log_det", 0)

                record, is_array, shape, samples = got[2 * index + 1]
                if not is_array or tuple(shape) != (n, D):
                    raise AssertionError(
                        f"MAF.sample should return a numpy array of shape {(n, D)}, got "
                        f"{'an array' if is_array else 'another type'} of shape {shape}"
                    )
                with torch.no_grad():
                    z, _ = reference_flow_inverse(flow_blocks(record), samples.float())
                assert_close(z.mean(dim=0), torch.zeros(D), "mean of the samples' noise", 0.05)
                assert_close(torch.cov(z.T), torch.eye(D), "covariance of the samples' noise", 0.05)


# ----------------------------------------------------------------------------------------
# GAN losses (problems 2b, 4b and 5e): stand-in networks

# A generator, a discriminator, a batch of real images and its labels (None: unconditional)
Setup = tuple[nn.Module, nn.Module, Tensor, Tensor | None]


class LinearCritic(nn.Module):
    """d(x) = <w, x> + b with ||w|| = ``norm``: its gradient is w at every x."""

    def __init__(self, norm: float = 3.0) -> None:
        super().__init__()
        self.linear = nn.Linear(N_PIXELS, 1)
        with torch.no_grad():
            self.linear.weight.mul_(norm / self.linear.weight.norm())

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x.flatten(1)).squeeze(1)


def stand_ins(conditional: bool) -> Setup:
    """Stand-in networks with GAN_BATCH real images (and labels, if conditional)."""
    x_real = torch.randn(GAN_BATCH, *IMAGE_SHAPE)
    if conditional:
        labels = torch.randint(NUM_CLASSES, (GAN_BATCH,))
        return LinearConditionalGenerator(), TinyConditionalDiscriminator(), x_real, labels
    return LinearGenerator(), TinyDiscriminator(), x_real, None


def real_networks(conditional: bool) -> Setup:
    """network.py's networks with REAL_NET_BATCH 28 x 28 images (and labels, if conditional)."""
    x_real = torch.randn(REAL_NET_BATCH, 1, 28, 28)
    if conditional:
        labels = torch.randint(10, (REAL_NET_BATCH,))
        return network.ConditionalGenerator(), network.ConditionalDiscriminator(), x_real, labels
    return network.Generator(), network.Discriminator(), x_real, None


def trained_layer(name: str, g: nn.Module, d: nn.Module) -> nn.Module:
    """The stand-in layer that the loss ``name`` must train, named for the messages: G's linear
    map for a G loss, D's hidden layer for a D loss (not its output bias, which cancels out of
    equation 24)."""
    if name.endswith("_d"):
        return nn.ModuleDict({"D_hidden": d.hidden})
    return nn.ModuleDict({"G": g.linear})


@contextlib.contextmanager
def recorded_calls(module: nn.Module) -> Iterator[list[tuple[Tensor, ...]]]:
    """Records detached copies of the inputs of every call of ``module``."""
    calls: list[tuple[Tensor, ...]] = []

    def record(module: nn.Module, args: tuple, kwargs: dict) -> None:
        calls.append(tuple(value.detach().clone() for value in (*args, *kwargs.values())))

    handle = module.register_forward_pre_hook(record, with_kwargs=True)
    try:
        yield calls
    finally:
        handle.remove()


# ----------------------------------------------------------------------------------------
# GAN losses: independent computations


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


def input_gradient_norms(d: nn.Module, x: Tensor) -> Tensor:
    """||grad_x D(x_i)||_2 of every sample, by autograd on one sample at a time."""
    norms = []
    for sample in x:
        sample = sample[None].detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(d(sample).sum(), sample)
        norms.append(grad.norm())
    return torch.stack(norms)


def reference_losses(
    g: nn.Module, d: nn.Module, x_real: Tensor, y_real: Tensor | None
) -> dict[str, Tensor]:
    """Every loss that applies to (g, d) from its equation, in float64, for the same draws.

    Conditional (``y_real`` given): equations 17-18 and the conditional equation 11; otherwise
    equations 10, 11, 24 and 25. Float64 copies of the networks see the float32 draws.
    """
    z, alpha = seeded_draws(len(x_real), g.dim_z)
    g64, d64 = copy.deepcopy(g).double(), copy.deepcopy(d).double()
    labels = () if y_real is None else (y_real,)
    real = x_real.double()
    fake = g64(z.double(), *labels).detach()
    h_real, h_fake = d64(real, *labels).detach(), d64(fake, *labels).detach()
    prefix = "" if y_real is None else "conditional_"
    losses = {  # with -log(1 - sigma(h)) = -log sigma(-h)
        f"{prefix}loss_nonsaturating_d": neg_log_sigmoid(h_real).mean()
        + neg_log_sigmoid(-h_fake).mean(),
        f"{prefix}loss_nonsaturating_g": neg_log_sigmoid(h_fake).mean(),
    }
    if y_real is None:
        norms = input_gradient_norms(d64, alpha * fake + (1 - alpha) * real)
        penalty = LAMBDA * ((norms - 1) ** 2).mean()
        losses["loss_wasserstein_gp_d"] = h_fake.mean() - h_real.mean() + penalty
        losses["loss_wasserstein_gp_g"] = -h_fake.mean()
    return losses


# ----------------------------------------------------------------------------------------
# GAN losses: checks that fail with a one-line message


@graderUtil.assertion_helper
def assert_finite_gradients(sent: dict) -> None:
    """Checks that the loss behind ``sent`` (from ``gradients``) back-propagated finite
    gradients to the parameters."""
    if not sent["requires_grad"]:
        raise AssertionError("the result does not require grad: it cannot be trained")
    for name, grad in sent["grads"].items():
        if grad is not None and not torch.isfinite(grad).all():
            raise AssertionError(f"the gradient of parameter {name} is not finite")


@graderUtil.assertion_helper
def assert_generator_inputs(calls: list, batch: int, y_real: Tensor | None) -> None:
    """Checks that G was called, each time on z = torch.randn(batch, DIM_Z) drawn first after
    seeding, and on the real labels if ``y_real`` is given."""
    z, _ = seeded_draws(batch, DIM_Z)
    if not calls:
        raise AssertionError("the generator was never called")
    for args in calls:
        if not torch.equal(args[0], z):
            raise AssertionError(
                f"G should receive z = torch.randn({batch}, g.dim_z), the loss's first random "
                f"draw; it got a tensor of shape {tuple(args[0].shape)} with other values"
            )
        if y_real is not None and not (len(args) == 2 and torch.equal(args[1], y_real)):
            raise AssertionError("G should receive the real labels y_real")


@graderUtil.assertion_helper
def assert_scored(calls: list, images: Tensor, what: str, labels: Tensor | None = None) -> None:
    """Checks that D was given every one of ``images`` (with its own label, if given)."""
    if not calls:
        raise AssertionError("the discriminator was never called")
    if labels is not None and any(len(args) != 2 for args in calls):
        raise AssertionError("the conditional discriminator should be called as d(x, y)")
    inputs = torch.cat([args[0].flatten(1) for args in calls])
    # found[n, i]: input n of all D's calls is image i
    found = torch.isclose(inputs[:, None], images.flatten(1)[None], rtol=1e-5, atol=1e-5).all(2)
    for i in range(len(images)):
        if not found[:, i].any():
            raise AssertionError(f"D was never given {what} (sample {i})")
        if labels is not None:
            given = torch.cat([args[1] for args in calls])[found[:, i]]
            if not (given == labels[i]).all():
                raise AssertionError(
                    f"D scored {what} (sample {i}) with label(s) {given.tolist()}, "
                    f"not y_real[{i}] = {labels[i].item()}"
                )


def check_labels(name: str, setup: Setup, calls: list) -> None:
    """Checks that D scored the fakes G(z, y_real), and for a D loss the reals, with y_real."""
    g, _, x_real, y_real = setup
    z, _ = seeded_draws(len(x_real), DIM_Z)
    with torch.no_grad():
        fakes = g(z, y_real)
    assert_scored(calls, fakes, "the fake G(z, y_real)", y_real)
    if name.endswith("_d"):
        assert_scored(calls, x_real, "the real image", y_real)


def check_interpolates(name: str, setup: Setup, calls: list) -> None:
    """Checks that the critic saw whole batches, and for the D loss the interpolates
    alpha * G(z) + (1 - alpha) * x with alpha = torch.rand(B, 1, 1, 1) drawn right after z."""
    g, _, x_real, _ = setup
    sizes = sorted({len(args[0]) for args in calls})
    if not sizes or sizes[0] < len(x_real):
        raise AssertionError(
            f"the critic should see whole batches of {len(x_real)} (no loop over samples), "
            f"got batches of {sizes}"
        )
    if name.endswith("_d"):
        z, alpha = seeded_draws(len(x_real), DIM_Z)
        with torch.no_grad():
            x_hat = alpha * g(z) + (1 - alpha) * x_real
        what = "x_hat = alpha G(z) + (1 - alpha) x with alpha = torch.rand(B, 1, 1, 1) drawn second"
        assert_scored(calls, x_hat, what)


# ----------------------------------------------------------------------------------------
# GAN losses: tests


class GANTestCase(unittest.TestCase):
    """Seeds torch, so that every run is the same, and runs calls of submission/gan.py in a
    child process. The networks and images are made here before the child starts, so that
    the child works on copies of them and the references are computed from the originals."""

    def setUp(self) -> None:
        # One thread: on batches this small, a second thread costs far more in
        # synchronisation than it saves, many times more when other processes load the cores.
        self.addCleanup(torch.set_num_threads, torch.get_num_threads())
        torch.set_num_threads(1)
        torch.manual_seed(0)

    def collect(self, calls: Callable[[ModuleType], Iterator[object]]) -> graderUtil.Collected:
        """The items that ``calls(gan)`` yields in a child process."""
        return graderUtil.collect(lambda: calls(SUBMISSION.load("gan")))

    def check_values(self, names: tuple[str, ...], setup: Setup) -> None:
        """Every loss in ``names`` on ``setup`` against its equation (reference_losses)."""

        def calls(gan: ModuleType) -> Iterator[object]:
            for name in names:
                yield call_loss(gan, name, *setup)

        got = self.collect(calls)
        expected = reference_losses(*setup)
        for index, name in enumerate(names):
            with self.subTest(loss=name):
                assert_close(check_loss(got[index], name), expected[name], name, FLOAT32_TOL)

    def check_extreme_logits(self, names: tuple[str, ...]) -> None:
        """The losses with D's logits shifted to +-100 and +-1000 against their equations, and
        their gradients to both networks: finite."""
        cases = [(offset, name) for offset in (-1000.0, -100.0, 100.0, 1000.0) for name in names]
        setups = [stand_ins(conditional=name in CONDITIONAL) for _, name in cases]
        for (offset, _), setup in zip(cases, setups):
            with torch.no_grad():
                setup[1].head.bias.fill_(offset)

        def calls(gan: ModuleType) -> Iterator[object]:
            for (_, name), setup in zip(cases, setups):
                loss = call_loss(gan, name, *setup)
                yield loss, gradients(nn.ModuleDict({"G": setup[0], "D": setup[1]}), loss)

        got = self.collect(calls)
        for index, ((offset, name), setup) in enumerate(zip(cases, setups)):
            with self.subTest(loss=name, logits=f"{offset:+g} + O(1)"):
                loss, sent = got[index]
                expected = reference_losses(*setup)[name]
                assert_close(check_loss(loss, name), expected, name, FLOAT32_TOL)
                assert_finite_gradients(sent)

    def check_calls(
        self, names: tuple[str, ...], check_d_calls: Callable[[str, Setup, list], None] | None
    ) -> None:
        """Each loss on stand-ins, with the networks' inputs recorded: G gets z, the first draw
        (and y_real); ``check_d_calls(name, setup, calls)`` checks D's inputs; the loss trains
        trained_layer; and it is a mean over the batch: with a generator whose output ignores
        z, every sample adds the same term to a mean (a linear critic gives the same penalty
        at every interpolate), so the batch repeated twice keeps the value."""
        setups = {name: stand_ins(conditional=name in CONDITIONAL) for name in names}
        repeated = {name: self.batch_repeated(name) for name in names}

        def calls(gan: ModuleType) -> Iterator[object]:
            for name, setup in setups.items():
                g, d = setup[:2]
                with recorded_calls(g) as g_calls, recorded_calls(d) as d_calls:
                    loss = call_loss(gan, name, *setup)
                sent = gradients(trained_layer(name, g, d), loss)
                once, twice = (call_loss(gan, name, *each) for each in repeated[name])
                yield g_calls, d_calls, loss, sent, once, twice

        got = self.collect(calls)
        for index, (name, setup) in enumerate(setups.items()):
            with self.subTest(loss=name):
                g_calls, d_calls, loss, sent, once, twice = got[index]
                check_loss(loss, name)
                assert_generator_inputs(g_calls, len(setup[2]), setup[3])
                if check_d_calls is not None:
                    check_d_calls(name, setup, d_calls)
                assert_gradients_reach(sent)
                what = f"{name} of the batch repeated twice (should be a mean over the batch)"
                assert_close(check_loss(twice, name), check_loss(once, name), what, FLOAT32_TOL)

    @staticmethod
    def batch_repeated(name: str) -> tuple[Setup, Setup]:
        """Stand-ins whose generator ignores z, with a batch, and with the batch twice over."""
        conditional = name in CONDITIONAL
        g, d, x_real, y_real = stand_ins(conditional)
        if not conditional:
            d = LinearCritic()
        with torch.no_grad():
            g.linear.weight.zero_()
        twice = [None if t is None else torch.cat([t, t]) for t in (x_real, y_real)]
        return (g, d, x_real, y_real), (g, d, *twice)


class NonSaturatingLossTest(GANTestCase):
    """Problem 2b: the non-saturating GAN losses, equations 10 and 11."""

    @graded(
        "2b-0-basic",
        "loss_nonsaturating_d and loss_nonsaturating_g return 0-dim float32 tensors equal to "
        "equations 10 and 11 computed in float64 for the same z (stand-in networks, batch of 6, "
        "device=torch.device('cpu'))",
    )
    def test_values(self) -> None:
        self.check_values(NONSATURATING, stand_ins(conditional=False))

    @graded(
        "2b-1-hidden",
        "the non-saturating losses equal equations 10 and 11 in float64 with "
        "network.Generator and network.Discriminator (4 images 28 x 28)",
    )
    def test_real_networks(self) -> None:
        self.check_values(NONSATURATING, real_networks(conditional=False))

    @graded(
        "2b-2-hidden",
        "at logits near -1000, -100, 100, 1000 the non-saturating losses are finite, equal the "
        "stable closed form -log sigma(h) = max(-h, 0) + log1p(exp(-|h|)), and give finite "
        "gradients",
    )
    def test_extreme_logits(self) -> None:
        self.check_extreme_logits(NONSATURATING)

    @graded(
        "2b-3-hidden",
        "the non-saturating losses give G z = torch.randn(B, g.dim_z), the first random draw, "
        "train D (d loss) and G (g loss), and are batch means (the batch repeated twice keeps "
        "the value)",
    )
    def test_draws_gradients_mean(self) -> None:
        self.check_calls(NONSATURATING, None)


class ConditionalLossTest(GANTestCase):
    """Problem 4b: the conditional non-saturating losses, equations 17-18 and 11."""

    @graded(
        "4b-0-basic",
        "conditional_loss_nonsaturating_d and _g return 0-dim float32 tensors equal to "
        "equation 18 and -E log D(G(z, y), y) computed in float64 for the same z "
        "(stand-in networks, batch of 6)",
    )
    def test_values(self) -> None:
        self.check_values(CONDITIONAL, stand_ins(conditional=True))

    @graded(
        "4b-1-hidden",
        "the conditional losses equal their equations in float64 with "
        "network.ConditionalGenerator and network.ConditionalDiscriminator "
        "(4 labelled images 28 x 28)",
    )
    def test_real_networks(self) -> None:
        self.check_values(CONDITIONAL, real_networks(conditional=True))

    @graded(
        "4b-2-hidden",
        "the conditional losses give G z (the first draw) and y_real, score the fakes "
        "G(z, y_real) and the reals with y_real, train D (d loss) and G (g loss), and are "
        "batch means",
    )
    def test_labels(self) -> None:
        self.check_calls(CONDITIONAL, check_labels)

    @graded(
        "4b-3-hidden",
        "at logits near -1000, -100, 100, 1000 the conditional losses are finite, equal the "
        "stable closed form of -log sigma(h), and give finite gradients",
    )
    def test_extreme_logits(self) -> None:
        self.check_extreme_logits(CONDITIONAL)


class WassersteinGPLossTest(GANTestCase):
    """Problem 5e: the WGAN-GP losses, equations 24 and 25."""

    @graded(
        "5e-0-basic",
        "loss_wasserstein_gp_d and _g return 0-dim float32 tensors equal to equations 24 "
        "(lambda = 10, z then alpha drawn, the gradient norms by autograd one sample at a "
        "time) and 25 in float64 (stand-in networks, batch of 6)",
    )
    def test_values(self) -> None:
        self.check_values(WGAN_GP, stand_ins(conditional=False))

    @graded(
        "5e-1-hidden",
        "the WGAN-GP losses equal equations 24 (penalty from per-sample autograd) and 25 in "
        "float64 with network.Generator and network.Discriminator (4 images 28 x 28)",
    )
    def test_real_networks(self) -> None:
        self.check_values(WGAN_GP, real_networks(conditional=False))

    @graded(
        "5e-2-hidden",
        "with a linear critic <w, x> + b (||w|| = 0.5, 3) the critic loss is "
        "E<w, G(z) - x> + 10 (||w|| - 1)^2 and its gradient in w is "
        "E[G(z) - x] + 20 (||w|| - 1) w / ||w||: the penalty trains D (create_graph=True)",
    )
    def test_linear_critic(self) -> None:
        norms = (0.5, 3.0)
        setups = [(LinearGenerator(), LinearCritic(norm), torch.randn(GAN_BATCH, *IMAGE_SHAPE))
                  for norm in norms]

        def calls(gan: ModuleType) -> Iterator[object]:
            for g, critic, x_real in setups:
                loss = call_loss(gan, "loss_wasserstein_gp_d", g, critic, x_real, None)
                yield loss, gradients(critic, loss)

        got = self.collect(calls)
        for index, (norm, (g, critic, x_real)) in enumerate(zip(norms, setups)):
            with self.subTest(norm_w=norm):
                loss, sent = got[index]
                loss = check_loss(loss, "loss_wasserstein_gp_d")
                z, _ = seeded_draws(GAN_BATCH, DIM_Z)
                gap = (g(z) - x_real).detach().double().flatten(1).mean(dim=0)  # E[G(z) - x]
                w = critic.linear.weight.detach().double()[0]
                expected = gap @ w + LAMBDA * (w.norm() - 1) ** 2
                assert_close(loss, expected, "the critic loss", FLOAT32_TOL)
                grad = sent["grads"]["linear.weight"]
                self.assertIsNotNone(grad, "no gradient reaches the critic's weight w")
                expected_grad = gap + 2 * LAMBDA * (w.norm() - 1) * w / w.norm()
                what = "the gradient in w (the penalty needs create_graph=True)"
                assert_close(grad[0], expected_grad, what, FLOAT32_TOL)

    @graded(
        "5e-3-hidden",
        "the WGAN-GP losses give G z (the first draw), call the critic on whole batches (no "
        "loop), penalise at alpha G(z) + (1 - alpha) x with alpha = torch.rand(B, 1, 1, 1) "
        "drawn second, train D and G, and are batch means",
    )
    def test_draws_interpolates_mean(self) -> None:
        self.check_calls(WGAN_GP, check_interpolates)


if __name__ == "__main__":
    points_file = Path(__file__).resolve().parent / "points.json"
    # written_checks: the numerical checks of the written answers (2a-0-basic ... 5d-0-basic,
    # 0 points), run beside the graded tests.
    graderUtil.main([sys.modules[__name__]], SUBMISSION, points_file, checks="written_checks")
