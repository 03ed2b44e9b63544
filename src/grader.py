#!/usr/bin/env python3
"""Autograder of the problem set, the judge: problem 1, the Masked Autoregressive Flow, and the
GAN losses of problems 2b (non-saturating), 4b (conditional) and 5e (WGAN-GP).

Run from src/:  ``python grader.py`` (all tests), ``python grader.py 1a-0-basic`` (one test),
``python grader.py --submission PATH`` (grade another copy of the submission folder),
``python grader.py --gradescope FILE`` (also write Gradescope's results JSON; run_autograder
in the bundle that ``make autograder`` builds does this). The tests reach the graded code as
the course's autograder does: ``import submission``, then ``submission.flow_network.MADE``.

This process never imports the submission. Each test chooses every input here: the weights
and masks of every MADE and MAF (``made_weights``, ``maf_weights``), the stand-in networks,
the data, the seeds. The sandbox (graderUtil.ask) builds the student's objects, loads these
weights into them and makes the graded calls (the recipes of sandbox_calls.py); the outputs
come back as plain data and are judged here against values computed here from the same
weights and inputs. For the flow: from the masked network those weights define, from the
degree rules, or from Jacobians found by autograd. For the GANs: from the equations in
float64, for the same random draws as the losses (z, then alpha), with the stand-in networks
or the networks of network.py; the gradient penalty is checked against autograd run on one
sample at a time and against the closed form of a linear critic. Records that only the
sandbox can make (the batch sizes self.net saw, what G and D were given, gradients) can fail
a test, never pass one alone: every test also compares an output with a value computed here.
"""

if __name__ == "__main__":  # before the imports below: the sandbox imports torch beside them
    import confine

    confine.start_sandbox_early()

import ast
import copy
import operator
import sys
import unittest
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import torch
from torch import Tensor, nn
from torch.distributions import Normal

import grader_common
import graderUtil
import network
from grader_common import (CONDITIONAL, FLOAT32_TOL, GRADED_NAMES, HIDDEN_SIZE, NONSATURATING,
                           OVERFLOW, SEED, WGAN_GP, Mismatch, Mistakes, assert_close,
                           assert_finite_gradients, assert_generator_inputs,
                           assert_gradients_reach, assert_labels, assert_pair_close,
                           assert_scored, check_critic_gradient, check_finite_loss, check_loss,
                           check_pair, check_records, check_tensor, network_spec, trained_layer)
from graderUtil import ask, call, graded
from sandbox_calls import (DIM_Z, IMAGE_SHAPE, NUM_CLASSES, LinearConditionalGenerator,
                           LinearCritic, LinearGenerator, TinyConditionalDiscriminator,
                           TinyDiscriminator, autograd_jacobians, loss_call, made_call,
                           made_gradients, made_jacobians, made_layers, maf_call, maf_layers,
                           maf_sample, maf_training, masked_linear, permute_call)

BATCH = 8
LARGE_BATCH = 10_000
MADE_CONFIGS = [(D, n_hidden) for D in (1, 2, 3, 5) for n_hidden in (0, 1, 2)]
FLOAT64_TOL = 1e-10
# How the messages name each method's log-det. The problem set's equation 3 gives only the
# inverse's; the forward's sign is this starter's documented contract, so its message says it.
LOG_DET = {"forward": "log_det (the contract: log|det dx/dz| = +sum(alpha))",
           "inverse": "log_det"}

# The GAN losses: a batch for the stand-in networks, and one for network.py's
GAN_BATCH = 6
REAL_NET_BATCH = 4  # network.py's networks on 28 x 28 images
LAMBDA = 10.0  # the weight of the gradient penalty (problem 5e)
BASIC_LOGITS = (-100.0, 100.0)  # where the basic tests also check the losses: log(sigmoid(h))
                                # written out is infinite there


# ----------------------------------------------------------------------------------------
# Checks of what the sandbox sent back


def check_sizes(value: object) -> list[int]:
    """Batch sizes sent back (sandbox_calls.net_batches), checked to be a list of ints."""
    if not (isinstance(value, list) and all(type(size) is int for size in value)):
        raise AssertionError("the record of self.net's batch sizes is not a list of ints")
    return value


def assert_whole_batch(sizes: object, batch: int) -> None:
    """Checks that self.net was called, each time on the whole batch (no loop over rows)."""
    sizes = check_sizes(sizes)
    if not sizes or set(sizes) != {batch}:
        raise AssertionError(
            f"self.net should be called on the whole batch of {batch} rows at once, "
            f"was called on batches of {sorted(set(sizes))}"
        )


def left_out(answer: object, D: int) -> bool:
    """Whether the sandbox reports that the given code of the student's module cannot build
    this case. Only D = 1 may be left out, with a note, and only where the uploaded
    create_masks, read here, takes a remainder by D - 1 as the course's own starter does (its
    hidden degrees are k % (D - 1)): no student is charged for given code, and the report of
    the sandbox, which the submission could forge, is not enough. Otherwise the case fails
    with the reason."""
    if not (isinstance(answer, dict) and set(answer) == {"given_code_cannot"}):
        return False
    reason = answer["given_code_cannot"]
    what, why = (str(reason.get(key, ""))[:200] if isinstance(reason, dict) else "" for key in
                 ("what", "why"))
    if D != 1 or not masks_divide_by_d_minus_1(graderUtil.submitted_file("flow_network.py")):
        raise AssertionError(f"the given code cannot build {what} ({why})")
    graderUtil.note(f"D = 1 left out, no points lost: the given code cannot build it ({why})")
    return True


def masks_divide_by_d_minus_1(source: bytes | None) -> bool:
    """Whether ``MADE.create_masks`` in this source takes a remainder by ``D - 1`` (any name
    minus 1), which no D = 1 survives: found in the syntax tree, nothing run."""
    try:
        tree = ast.parse(source or b"")
    except (SyntaxError, ValueError):
        return False
    methods = [method for made in tree.body if isinstance(made, ast.ClassDef)
               and made.name == "MADE" for method in made.body
               if isinstance(method, ast.FunctionDef) and method.name == "create_masks"]
    return any(_is_remainder_by_minus_one(node) for method in methods
               for node in ast.walk(method))


def _is_remainder_by_minus_one(node: ast.AST) -> bool:
    """Whether ``node`` is ``a % (b - 1)``."""
    if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod)):
        return False
    divisor = node.right
    return (isinstance(divisor, ast.BinOp) and isinstance(divisor.op, ast.Sub)
            and isinstance(divisor.right, ast.Constant) and divisor.right.value == 1)


# ----------------------------------------------------------------------------------------
# The flow: the judge's weights, and independent computations


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


class Net:
    """A MADE's net as the judge computes it: masked linear layers ``x (W * M)^T + b`` with
    ReLUs between them, the network the problem set gives. ``layers``: (W, b, M) each."""

    def __init__(self, layers: list[tuple[Tensor, Tensor, Tensor]]) -> None:
        self.layers = layers

    def __call__(self, x: Tensor) -> Tensor:
        for index, (weight, bias, mask) in enumerate(self.layers):
            if index:
                x = torch.relu(x)
            x = x @ (weight * mask).T + bias
        return x


def made_weights(D: int, n_hidden: int, dtype: torch.dtype = torch.float32,
                 prefix: str = "") -> tuple[dict[str, Tensor], Net]:
    """Weights for ``MADE(D, HIDDEN_SIZE, n_hidden)`` chosen here: nn.Linear's initialisation
    and the masks of the degree rules. Returned as a state dict laid out as the given code
    lays out its layers (``net.0.weight``, ``net.0.bias``, ``net.0.mask``, ``net.2.weight``,
    ..., each key after ``prefix``) and as the Net that computes with them."""
    state, layers = {}, []
    for index, mask in enumerate(degree_masks(D, HIDDEN_SIZE, n_hidden)):
        linear = nn.Linear(mask.shape[1], mask.shape[0]).to(dtype)
        layer = (linear.weight.detach(), linear.bias.detach(), mask.to(dtype))
        key = f"{prefix}net.{2 * index}."
        state.update(zip((key + "weight", key + "bias", key + "mask"), layer))
        layers.append(layer)
    return state, Net(layers)


def maf_weights(D: int, n_flows: int, dtype: torch.dtype = torch.float32
                ) -> tuple[dict[str, Tensor], list[Net | None]]:
    """Weights for ``MAF(D, HIDDEN_SIZE, 1, n_flows)``: a state dict (``nf.0.net.0.weight``,
    ...: the MADE blocks at even places of ``nf``, the reversals between them hold none) and
    the blocks as ``reference_flow_inverse`` takes them (a Net per MADE, None per reversal)."""
    state, blocks = {}, []
    for flow in range(n_flows):
        block_state, net = made_weights(D, 1, dtype, prefix=f"nf.{2 * flow}.")
        state.update(block_state)
        blocks += [net, None]
    return state, blocks


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


def log_abs_det(jacobians: Tensor) -> Tensor:
    return torch.linalg.slogdet(jacobians).logabsdet


# ----------------------------------------------------------------------------------------
# The flow: what known wrong implementations give, so that a failure can name its mistake


def made_mistakes(method: str, net: Net, inputs: Tensor) -> dict[str, tuple[Tensor, Tensor]]:
    """(output, log_det) of common wrong versions of MADE.<method>, by description."""
    mu, alpha = net_mu_alpha(net, inputs)
    if method == "forward":
        x, log_det = reference_forward(net, inputs)
        return {
            "one pass of self.net on z (mu_i and alpha_i must come from x_<i, found one "
            "dimension at a time)": (mu + inputs * torch.exp(alpha), alpha.sum(dim=1)),
            "the inverse's sign, -sum(alpha) (the forward's log_det is log|det dx/dz| = "
            "+sum(alpha))": (x, -log_det),
        }
    return {
        "exp(+alpha) in place of exp(-alpha) (z = (x - mu) * exp(-alpha), equation 3)":
            ((inputs - mu) * torch.exp(alpha), -alpha.sum(dim=1)),
        "the forward's sign, +sum(alpha) (the inverse's log_det is log|det dz/dx| = "
        "-sum(alpha), equation 3)": ((inputs - mu) * torch.exp(-alpha), alpha.sum(dim=1)),
    }


def maf_mistakes(blocks: list[Net | None], x: Tensor) -> dict[str, Tensor]:
    """log p(x) of every row as common wrong versions of MAF.log_prob give it."""
    z, log_det = reference_flow_inverse(blocks, x)
    base = standard_normal_log_density(z)
    reversed_z, reversed_log_det = reference_flow_inverse(blocks[::-1], x)
    return {
        "the log-dets subtracted (log p(x) = log N(z) + the sum of the inverses' log-dets, "
        "equation 2)": base - log_det,
        "the log-dets left out (equation 2 adds them)": base,
        "the blocks taken in reversed order (x goes through self.nf from first to last)":
            standard_normal_log_density(reversed_z) + reversed_log_det,
        "log N(z_d) averaged over the dimensions, not summed (log_prob is one value per "
        "row, shape (B,))": base / x.shape[1] + log_det,
    }


def batch_means(per_row: dict[str, Tensor]) -> dict[str, Tensor]:
    """The batch mean of each of these values per row: what MAF.log_probs gives."""
    return {description: values.mean() for description, values in per_row.items()}


# ----------------------------------------------------------------------------------------
# The flow: tests
#
# Every test draws its weights and inputs here, has the sandbox make the calls on them
# (``ask``), and judges what comes back against values computed here from the same weights.


def made_args(D: int, n_hidden: int) -> tuple[int, int, int]:
    return D, HIDDEN_SIZE, n_hidden


class FlowTestCase(unittest.TestCase):
    """Seeds torch, so that every run is the same."""

    def setUp(self) -> None:
        torch.manual_seed(0)

    def each_made(self, method: str, check: Callable[[Net, Tensor, object, object], None]) -> None:
        """``check(net, input, result, jacobians)`` for MADE.<method> of float64 MADEs of every
        size in MADE_CONFIGS; ``jacobians``: autograd's Jacobians of the method's first output,
        row by row, for the inverse (None for the forward, which need not be differentiable)."""
        weights = [made_weights(D, n_hidden, torch.float64) for D, n_hidden in MADE_CONFIGS]
        inputs = [torch.randn(BATCH, D, dtype=torch.float64) for D, _ in MADE_CONFIGS]
        calls = []
        for (D, n_hidden), (state, _), x in zip(MADE_CONFIGS, weights, inputs):
            arguments = dict(args=made_args(D, n_hidden), state=state, method=method,
                             dtype="float64")
            calls.append(call(made_call, inputs=[x], **arguments))
            if method == "inverse":
                calls.append(call(made_jacobians, x=x, **arguments))
        got = ask(calls)
        step = 2 if method == "inverse" else 1
        for index, ((D, n_hidden), (_, net), x) in enumerate(zip(MADE_CONFIGS, weights, inputs)):
            with self.subTest(D=D, n_hidden=n_hidden):
                if left_out(got[step * index], D):
                    continue
                (answer,) = got[step * index]
                result = check_pair(answer["result"], f"MADE.{method}", BATCH, D, torch.float64)
                jacobians = None
                if step == 2:
                    jacobians = check_tensor(got[step * index + 1], "the Jacobians of dz/dx",
                                             (BATCH, D, D), torch.float64)
                check(net, x, result, jacobians)

    def check_values(self, method: str, expected: Callable, names: str) -> None:
        """MADE.<method> on float32 batches (D = 2, 4) against ``expected(net, input)``."""
        cases = [(D, *made_weights(D, 1), torch.randn(BATCH, D)) for D in (2, 4)]
        got = ask([call(made_call, args=made_args(D, 1), state=state, method=method, inputs=[x])
                   for D, state, _, x in cases])
        for index, (D, _, net, x) in enumerate(cases):
            with self.subTest(D=D):
                (answer,) = got[index]
                result = check_pair(answer["result"], f"MADE.{method}", BATCH, D, torch.float32)
                assert_pair_close(result, expected(net, x), names, FLOAT32_TOL,
                                  lambda: made_mistakes(method, net, x))

    def check_edge_cases(self, method: str, expected_pair: Callable, one_pass: bool) -> None:
        """MADE.<method> on batches of 1 and 10,000 rows and on float64 input.

        ``expected_pair(net, input)`` gives the right (output, log_det); the input must be left
        unchanged and every call of self.net must see the whole batch (exactly one call if
        ``one_pass``).
        """
        state, net = made_weights(3, 1)
        state64 = {key: value.double() for key, value in state.items()}
        net64 = Net([tuple(part.double() for part in layer) for layer in net.layers])
        # The small batches are asked first, apart: a loop over the rows fails there, before
        # it takes 10,000 passes.
        cases = [(1, torch.float32, net, state), (BATCH, torch.float64, net64, state64),
                 (LARGE_BATCH, torch.float32, net, state)]
        inputs = [torch.randn(batch, 3, dtype=dtype) for batch, dtype, _, _ in cases]
        for group in ((0, 1), (2,)):
            got = ask([call(made_call, args=made_args(3, 1), state=cases[index][3],
                            method=method, inputs=[inputs[index]],
                            dtype=str(cases[index][1]).removeprefix("torch."))
                       for index in group])
            for position, index in enumerate(group):
                batch, dtype, reference_net, _ = cases[index]
                try:
                    self.check_edge_case(method, expected_pair, one_pass, reference_net,
                                         inputs[index], got[position][0])
                except AssertionError as error:  # labelled as a subTest's failure would be
                    raise AssertionError(f"[batch={batch}, dtype={dtype}] {error}") from None

    @staticmethod
    def check_edge_case(method: str, expected_pair: Callable, one_pass: bool, net: Net,
                        x: Tensor, answer: dict) -> None:
        """One call of MADE.<method> on ``x`` (``answer``, from made_call) for
        check_edge_cases."""
        batch, what = len(x), f"MADE.{method}"
        result = check_pair(answer["result"], what, batch, 3, x.dtype)
        assert_whole_batch(answer["net_batches"], batch)
        passes = len(answer["net_batches"])
        if one_pass and passes != 1:
            raise AssertionError(
                f"self.net should be called once, not {passes} times: x is known, so one pass "
                "on the whole batch gives mu and alpha of every dimension (what makes the "
                "MAF's density fast)")
        after = check_tensor(answer["input"], f"the input of {what}", (batch, 3), x.dtype)
        if not torch.equal(after, x):
            raise AssertionError(f"{what} changed its input in place")
        try:
            assert_pair_close(result, expected_pair(net, x), f"output, {LOG_DET[method]}",
                              FLOAT32_TOL, lambda: made_mistakes(method, net, x))
        except Mismatch as error:
            if method == "forward" and passes == batch != 3 and error.mistake is None:
                raise AssertionError(
                    f"{error}; self.net was called {passes} time(s) for a batch of {batch} "
                    "row(s) of D = 3: the loop should run over the D dimensions, not the "
                    "rows") from None
            raise

    def check_one_dimension(self, method: str, expected: Callable) -> None:
        """MADE.<method> with D = 1, where mu and alpha are the biases of the last layer.

        ``expected(input, mu, alpha)`` gives the right (output, log_det).
        """
        state, net = made_weights(1, 2)
        inputs = torch.randn(BATCH, 1)
        got = ask([call(made_call, args=made_args(1, 2), state=state, method=method,
                        inputs=[inputs])])[0]
        if left_out(got, 1):
            return
        (answer,) = got
        mu, alpha = net.layers[-1][1]
        result = check_pair(answer["result"], f"MADE.{method}", BATCH, 1, torch.float32)
        assert_pair_close(result, expected(inputs, mu, alpha), f"output, {LOG_DET[method]}",
                          FLOAT32_TOL)


class MADEForwardTest(FlowTestCase):
    """Problem 1a: MADE.forward, the sampling direction x = f(z)."""

    @graded(
        "1a-0-basic",
        "MADE.forward returns a tuple (x, log_det) of float32 tensors shaped (B, D), (B,) "
        "equal to x_i = mu_i + z_i*exp(alpha_i), log_det = sum alpha_i found one dimension "
        "at a time (D = 2, 4)",
    )
    def test_forward_values(self) -> None:
        self.check_values("forward", reference_forward, f"x, {LOG_DET['forward']}")

    @graded(
        "1a-1-hidden",
        "MADE.net is MaskedLinear/ReLU layers (nn.Linear's init, a `mask` buffer) with masks "
        "from the degree rules, so mu_i, alpha_i depend on x_<i only, and MADE.forward's x "
        "(its values checked) has x_i depend on z_<=i only, on z_i always "
        "(D = 1, 2, 3, 5; n_hidden = 0, 1, 2)",
    )
    def test_net_structure(self) -> None:
        mask = (torch.rand(4, 3) < 0.5).float()
        layer_state = {"weight": torch.randn(4, 3), "bias": torch.randn(4), "mask": mask}
        inputs = torch.randn(BATCH, 3)
        weights = [made_weights(D, n_hidden) for D, n_hidden in MADE_CONFIGS]
        noise = [torch.randn(BATCH, D) for D, _ in MADE_CONFIGS]
        calls = [call(masked_linear, args=(3, 4, mask), seed=1, state=layer_state, x=inputs)]
        for (D, n_hidden), (state, _), z in zip(MADE_CONFIGS, weights, noise):
            nudged = [z + torch.eye(D)[j] for j in range(D)]  # z_j changed alone
            calls += [call(made_layers, args=made_args(D, n_hidden)),
                      call(made_call, args=made_args(D, n_hidden), state=state,
                           method="forward", inputs=[z, *nudged])]
        got = ask(calls)

        found = got[0]
        torch.manual_seed(1)
        plain = nn.Linear(3, 4)  # what nn.Linear's initialisation gives after this seed
        self.assertTrue(found["is_linear"] is True, "MaskedLinear should subclass nn.Linear")
        self.assertIn("mask", found["buffers"], "MaskedLinear should register a `mask` buffer")
        initial = check_tensor(found["initial_weight"], "MaskedLinear's initial weight", (4, 3),
                               torch.float32)
        assert_close(initial, plain.weight, "MaskedLinear's initial weight", 0)
        output = check_tensor(found["output"], "MaskedLinear's output", (BATCH, 4), torch.float32)
        expected = inputs @ (layer_state["weight"] * mask).T + layer_state["bias"]
        assert_close(output, expected, "MaskedLinear output (weight * mask)", FLOAT32_TOL)

        for index, ((D, n_hidden), (_, net), z) in enumerate(zip(MADE_CONFIGS, weights, noise)):
            with self.subTest(D=D, n_hidden=n_hidden):
                if left_out(got[1 + 2 * index], D):
                    continue
                layers, answers = got[1 + 2 * index], got[2 + 2 * index]
                masks = degree_masks(D, HIDDEN_SIZE, n_hidden)
                types = ["MaskedLinear", "ReLU"] * (len(masks) - 1) + ["MaskedLinear"]
                self.assertEqual(layers["types"], types, "the layers of MADE.net")
                self.assertEqual(len(layers["masks"]), len(masks), "the masks of MADE.net")
                for position, made_mask in enumerate(layers["masks"]):
                    what = f"mask of MADE.net[{2 * position}]"
                    made_mask = check_tensor(made_mask, what, tuple(masks[position].shape),
                                             torch.float32)
                    assert_close(made_mask, masks[position], what, 0)
                x, _ = check_pair(answers[0]["result"], "MADE.forward", BATCH, D, torch.float32)
                # The ground of the verdict: the layers and masks above are records only the
                # sandbox makes, and the identity is autoregressive too.
                assert_close(x, reference_forward(net, z)[0], "x", FLOAT32_TOL,
                             lambda: {mistake: pair[0] for mistake, pair in
                                      made_mistakes("forward", net, z).items()})
                for j, answer in enumerate(answers[1:]):
                    x_nudged, _ = check_pair(answer["result"], "MADE.forward", BATCH, D,
                                             torch.float32)
                    what = f"MADE.forward's x_<{j} after a change of z_{j} alone"
                    assert_close(x_nudged[:, :j], x[:, :j], what, FLOAT32_TOL)
                    if (x_nudged[:, j] == x[:, j]).any():
                        raise AssertionError(
                            f"MADE.forward's x_{j} should change when z_{j} does "
                            f"(x_{j} = mu_{j} + z_{j} * exp(alpha_{j}))")

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
            jacobians = autograd_jacobians(lambda rows: reference_inverse(net, rows)[0], x)
            expected = -log_abs_det(jacobians)
            sign = {"the inverse's sign, -log|det dx/dz|": -expected}
            assert_close(log_det, expected, LOG_DET["forward"], FLOAT64_TOL, sign)

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
            expected = log_abs_det(jacobians)
            sign = {"the forward's sign, +sum(alpha) (equation 3: -sum(alpha))": -expected}
            assert_close(log_det, expected, "log_det", FLOAT64_TOL, sign)
            assert_close(log_det, reference_inverse(net, x)[1], "log_det", FLOAT64_TOL)
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
        state, _ = made_weights(3, 1)
        sent = ask([call(made_gradients, args=made_args(3, 1), state=state, method="inverse",
                         x=torch.randn(BATCH, 3))])[0]
        assert_gradients_reach(sent)


class MAFTest(FlowTestCase):
    """Problem 1c: MAF.log_probs, and the rest of the MAF that uses it."""

    @graded(
        "1c-0-basic",
        "MAF.log_probs returns a 0-dim float32 tensor: the batch mean of log N(z; 0, I) plus "
        "every block's log-det, found from the MADE nets and feature reversals (D = 2, 3 flows)",
    )
    def test_log_probs_values(self) -> None:
        state, blocks = maf_weights(2, 3)
        x = torch.randn(BATCH, 2)
        (value,) = ask([call(maf_call, args=(2, HIDDEN_SIZE, 1, 3), state=state,
                             methods=["log_probs"], x=x)])[0]
        value = check_tensor(value, "MAF.log_probs(x)", (), torch.float32)
        assert_close(value, reference_log_prob(blocks, x).mean(), "log_probs", FLOAT32_TOL,
                     lambda: batch_means(maf_mistakes(blocks, x)))

    @graded(
        "1c-1-hidden",
        "MAF.log_probs is the batch mean of log N(f^-1(x); 0, I) + log|det df^-1/dx| with the "
        "whole flow's Jacobian from autograd; loss = -log_probs; log_prob gives each row's "
        "value (float64, D = 1, 2, 3, 5)",
    )
    def test_log_probs_jacobian(self) -> None:
        sizes = (1, 2, 3, 5)
        weights = [maf_weights(D, 3, torch.float64) for D in sizes]
        inputs = [torch.randn(BATCH, D, dtype=torch.float64) for D in sizes]
        got = ask([call(maf_call, args=(D, HIDDEN_SIZE, 1, 3), state=state,
                        methods=["log_probs", "loss", "log_prob"], x=x, dtype="float64")
                   for D, (state, _), x in zip(sizes, weights, inputs)])
        for index, (D, (_, blocks), x) in enumerate(zip(sizes, weights, inputs)):
            with self.subTest(D=D):
                if left_out(got[index], D):
                    continue
                value, loss, per_row = got[index]

                def flow_inverse(rows: Tensor) -> Tensor:
                    return reference_flow_inverse(blocks, rows)[0]

                jacobians = autograd_jacobians(flow_inverse, x)
                expected = standard_normal_log_density(flow_inverse(x)) + log_abs_det(jacobians)
                value = check_tensor(value, "MAF.log_probs(x)", (), torch.float64)
                assert_close(value, expected.mean(), "log_probs", FLOAT64_TOL,
                             lambda: batch_means(maf_mistakes(blocks, x)))
                loss = check_tensor(loss, "MAF.loss(x)", (), torch.float64)
                assert_close(loss, -expected.mean(), "loss", FLOAT64_TOL)
                if isinstance(per_row, Tensor) and tuple(per_row.shape) == (BATCH, D):
                    raise AssertionError(
                        f"MAF.log_prob(x) should have shape ({BATCH},), one value per row, got "
                        f"({BATCH}, {D}): log N(z; 0, I) is the sum of log N(z_d) over the "
                        "dimensions")
                per_row = check_tensor(per_row, "MAF.log_prob(x)", (BATCH,), torch.float64)
                assert_close(per_row, expected, "log_prob", FLOAT64_TOL)

    @graded(
        "1c-2-hidden",
        "the density exp(MAF.log_prob) of a random 2-D MAF integrates to 1 over the plane "
        "(midpoint rule on [-10, 10]^2), and MAF.log_probs of the grid is the mean of log_prob",
    )
    def test_density_integrates_to_one(self) -> None:
        # An untrained MAF is close to a standard normal: the midpoint rule on [-10, 10]^2
        # with a step of 0.2 finds its total mass to about 1e-4 (measured on 5 seeds: at most
        # 9.7e-5; 1.1e-5 with a step of 0.1). 10,000 points: few enough to take a log_prob
        # row by row where the code has only log_probs (the course's starter).
        half_width, step = 10, 0.2
        centers = torch.arange(-half_width + step / 2, half_width, step, dtype=torch.float64)
        grid = torch.cartesian_prod(centers, centers)
        state, blocks = maf_weights(2, 3, torch.float64)
        log_density, value = ask([call(maf_call, args=(2, HIDDEN_SIZE, 1, 3), state=state,
                                       methods=["log_prob", "log_probs"], x=grid,
                                       dtype="float64", no_grad=True)])[0]
        log_density = check_tensor(log_density, "MAF.log_prob", (len(grid),), torch.float64)
        assert_close(log_density, reference_log_prob(blocks, grid), "log_prob on the grid",
                     FLOAT64_TOL)
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
        args = (2, HIDDEN_SIZE, 1, n_flows)
        points = torch.tensor([-1.5, 0.0, 2.0])
        state, blocks = maf_weights(2, n_flows)
        batches = (1, LARGE_BATCH)
        inputs = [torch.randn(batch, 2) for batch in batches]
        got = ask([call(maf_layers, args=args, points=points),
                   *(call(maf_training, args=args, state=state, x=x) for x in inputs)])
        layers = got[0]
        self.assertEqual(layers["types"], ["MADE", "PermuteLayer"] * n_flows,
                         "the blocks of MAF.nf")
        base = check_tensor(layers["base_log_prob"], "base_dist.log_prob", (3,), torch.float32)
        assert_close(base, Normal(0.0, 1.0).log_prob(points), "base_dist.log_prob", 0)
        for index, (batch, x) in enumerate(zip(batches, inputs), start=1):
            with self.subTest(batch=batch):
                answer = got[index]
                value = check_tensor(answer["log_probs"], "MAF.log_probs(x)", (), torch.float32)
                assert_close(value, reference_log_prob(blocks, x).mean(), "log_probs", FLOAT32_TOL,
                             lambda: batch_means(maf_mistakes(blocks, x)))
                assert_whole_batch(answer["net_batches"], batch)
                assert_gradients_reach(answer["gradients"])

    @graded(
        "1c-4-hidden",
        "MAF.sample returns a numpy array (n, D) of rows that the flow's inverse (from the "
        "MADE nets) maps to standard normal noise; PermuteLayer reverses the features with "
        "zero log-dets (D = 2, 3)",
    )
    def test_sample_and_permute(self) -> None:
        n = 20_000  # the mean and covariance of the noise are then within 0.01 or so
        sizes = (2, 3)
        weights = [maf_weights(D, 3) for D in sizes]
        inputs = [torch.randn(BATCH, D) for D in sizes]
        calls = []
        for D, (state, _), x in zip(sizes, weights, inputs):
            calls += [call(permute_call, size=D, x=x),
                      call(maf_sample, args=(D, HIDDEN_SIZE, 1, 3), state=state, n=n, seed=SEED)]
        got = ask(calls)
        for index, (D, (_, blocks), x) in enumerate(zip(sizes, weights, inputs)):
            with self.subTest(D=D):
                for method, result in zip(("forward", "inverse"), got[2 * index]):
                    what = f"PermuteLayer.{method}"
                    if not (isinstance(result, (tuple, list)) and len(result) == 2):
                        raise AssertionError(f"{what} should return (output, log_det)")
                    values = check_tensor(result[0], f"{what}'s output", (BATCH, D),
                                          torch.float32)
                    assert_close(values, x.flip(1), f"{what}'s output", 0)
                    # Given code: our starter's log-dets are shaped (B,), the course's (B, 1).
                    log_det = result[1]
                    if isinstance(log_det, Tensor) and tuple(log_det.shape) == (BATCH, 1):
                        log_det = log_det[:, 0]
                    log_det = check_tensor(log_det, f"{what}'s log_det", (BATCH,), torch.float32)
                    assert_close(log_det, torch.zeros(BATCH), f"{what}'s log_det", 0)

                sampled = got[2 * index + 1]
                if sampled["is_array"] is not True or sampled["shape"] != [n, D]:
                    raise AssertionError(
                        f"MAF.sample should return a numpy array of shape {(n, D)}, got "
                        f"{'an array' if sampled['is_array'] else 'another type'} of shape "
                        f"{sampled['shape']}")
                samples = sampled["samples"]
                if not (isinstance(samples, Tensor) and samples.is_floating_point()
                        and tuple(samples.shape) == (n, D)):
                    raise AssertionError(f"MAF.sample's rows should be {n} rows of {D} floats")
                with torch.no_grad():
                    z, _ = reference_flow_inverse(blocks, samples.float())
                assert_close(z.mean(dim=0), torch.zeros(D), "mean of the samples' noise", 0.05)
                assert_close(torch.cov(z.T), torch.eye(D), "covariance of the samples' noise", 0.05)


# ----------------------------------------------------------------------------------------
# GAN losses (problems 2b, 4b and 5e): the judge's networks

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


def real_networks(conditional: bool) -> Setup:
    """network.py's networks with REAL_NET_BATCH 28 x 28 images (and labels, if conditional)."""
    x_real = torch.randn(REAL_NET_BATCH, 1, 28, 28)
    if conditional:
        labels = torch.randint(10, (REAL_NET_BATCH,))
        return network.ConditionalGenerator(), network.ConditionalDiscriminator(), x_real, labels
    return network.Generator(), network.Discriminator(), x_real, None


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


def loss_of(name: str, setup: Setup, **options: object) -> tuple[str, dict]:
    """The call of the loss ``name`` on ``setup`` (sandbox_calls.loss_call), seeded with
    SEED."""
    g, d, x_real, y_real = setup
    return call(loss_call, name=name, g=network_spec(g), d=network_spec(d), x_real=x_real,
                y_real=y_real, seed=SEED, **options)


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


def input_gradients(d: nn.Module, x: Tensor) -> Tensor:
    """grad_x D(x_i) of every sample (shaped as ``x``), by autograd on one sample at a time."""
    grads = []
    for sample in x:
        sample = sample[None].detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(d(sample).sum(), sample)
        grads.append(grad[0])
    return torch.stack(grads)


def input_gradient_norms(d: nn.Module, x: Tensor) -> Tensor:
    """||grad_x D(x_i)||_2 of every sample."""
    return input_gradients(d, x).flatten(1).norm(dim=1)


class Scored(NamedTuple):
    """What the losses on (g, d) are computed from, in float64: the second draw alpha, copies
    of the networks, the real and fake images, and D's logits of both."""

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
    fake = g64(z.double(), *labels).detach()
    return Scored(alpha, g64, d64, real, fake, d64(real, *labels).detach(),
                  d64(fake, *labels).detach())


def reference_losses(
    g: nn.Module, d: nn.Module, x_real: Tensor, y_real: Tensor | None
) -> dict[str, Tensor]:
    """Every loss that applies to (g, d) from its equation, in float64, for the same draws.

    Conditional (``y_real`` given): equations 17-18 and the conditional equation 11; otherwise
    equations 10, 11, 24 and 25, from ``scored``.
    """
    alpha, _, d64, real, fake, h_real, h_fake = scored(g, d, x_real, y_real)
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


def loss_mistakes(
    name: str, g: nn.Module, d: nn.Module, x_real: Tensor, y_real: Tensor | None
) -> dict[str, Tensor]:
    """The values of common wrong versions of the loss ``name`` on (g, d), by description,
    computed as reference_losses computes the right ones."""
    batch = len(x_real)
    alpha, g64, d64, real, fake, h_real, h_fake = scored(g, d, x_real, y_real)
    prefix = "" if y_real is None else "conditional_"
    mistakes = {
        f"{prefix}loss_nonsaturating_d": {
            "log(1 - D(G(z))) written as logsigmoid(1 - h) (1 - sigma(h) = sigma(-h), so "
            "log(1 - D) = logsigmoid(-h))":
                neg_log_sigmoid(h_real).mean() + neg_log_sigmoid(1 - h_fake).mean(),
            "the reals' term -E log D(x) left out": neg_log_sigmoid(-h_fake).mean(),
        },
        f"{prefix}loss_nonsaturating_g": {
            "the minimax form E log(1 - D(G(z))) (the non-saturating loss is "
            "-E log D(G(z)))": -neg_log_sigmoid(-h_fake).mean(),
        },
    }
    if name != "loss_wasserstein_gp_d":
        return mistakes.get(name, {})

    def critic_loss(h_fakes: Tensor, norms: Tensor) -> Tensor:
        """Equation 24 with the penalty on these gradient norms."""
        return h_fakes.mean() - h_real.mean() + LAMBDA * ((norms - 1) ** 2).mean()

    def norms_at(weights: Tensor, fakes: Tensor = fake) -> Tensor:
        """One gradient norm per sample at the interpolates with these weights."""
        return input_gradients(d64, weights * fakes + (1 - weights) * real).flatten(1).norm(dim=1)

    # The draws of the wrong orders and shapes, each after seeding as the loss is called:
    # alpha then z, without the given z or after it (z drawn again)
    before_z = {}
    for given_z in (False, True):
        torch.manual_seed(SEED)
        if given_z:
            torch.randn(batch, g.dim_z)
        alpha_first, z_second = torch.rand(batch, 1, 1, 1), torch.randn(batch, g.dim_z)
        fake_second = g64(z_second.double()).detach()
        before_z[given_z] = critic_loss(d64(fake_second).detach(),
                                        norms_at(alpha_first, fake_second))
    drawn_after_z = {}
    for shape in ((1,), tuple(x_real.shape)):
        torch.manual_seed(SEED)
        torch.randn(batch, g.dim_z)
        drawn_after_z[shape] = torch.rand(shape)
    grads = input_gradients(d64, alpha * fake + (1 - alpha) * real)  # at the right x_hat
    return {
        "alpha drawn before z (z = torch.randn(...) is the first draw, alpha the second)":
            before_z[False],
        "alpha drawn before z, and z drawn again after it (the given z is the first draw, "
        "alpha the second; draw no other z)": before_z[True],
        "one alpha for the whole batch (draw one per sample: torch.rand(B, 1, 1, 1))":
            critic_loss(h_fake, norms_at(drawn_after_z[(1,)])),
        "alpha drawn per pixel (draw one per sample: torch.rand(B, 1, 1, 1))":
            critic_loss(h_fake, norms_at(drawn_after_z[tuple(x_real.shape)])),
        "the norm of the whole batch's gradient (take one norm per sample: "
        "grad.reshape(B, -1).norm(dim=1))": critic_loss(h_fake, grads.norm()),
        "per-channel gradient norms (one norm per sample over all its channels and pixels: "
        "grad.reshape(B, -1).norm(dim=1))": critic_loss(h_fake, grads.flatten(2).norm(dim=2)),
        "the norm over the last axis only (one norm per sample over all its channels and "
        "pixels: grad.reshape(B, -1).norm(dim=1))": critic_loss(h_fake, grads.norm(dim=-1)),
        "the gradient of the batch mean d(x_hat).mean(), 1/B of each sample's gradient "
        "(take the gradient of the sum)":
            critic_loss(h_fake, grads.flatten(1).norm(dim=1) / batch),
        "the penalty left out (lambda = 10)": h_fake.mean() - h_real.mean(),
    }


# ----------------------------------------------------------------------------------------
# GAN losses: checks of the records of G's and D's calls


def noise_and_fakes(setup: Setup) -> tuple[Tensor, Tensor | None]:
    """The z that G of ``setup`` must be given (the loss's first draw) and, for a conditional
    setup, the fakes G(z, y_real) that D must score with y_real."""
    g, _, x_real, y_real = setup
    z, _ = seeded_draws(len(x_real), g.dim_z)
    with torch.no_grad():
        return z, None if y_real is None else g(z, y_real)


def check_labels(name: str, setup: Setup, calls: object) -> None:
    """Checks that D scored the fakes G(z, y_real), and for a D loss the reals, with y_real."""
    _, fakes = noise_and_fakes(setup)
    assert_labels(name, calls, fakes, setup[2], setup[3])


def check_interpolates(name: str, setup: Setup, calls: object) -> None:
    """Checks that the critic saw whole batches, and for the D loss the interpolates
    alpha * G(z) + (1 - alpha) * x with alpha = torch.rand(B, 1, 1, 1) drawn right after z."""
    g, _, x_real, _ = setup
    calls = check_records(calls, "D")
    sizes = sorted({len(args[0]) for args in calls if args and args[0] is not None})
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


def assert_loss(answer: dict, name: str, setup: Setup, expected: Tensor,
                mistakes: Mistakes) -> None:
    """grader_common.assert_loss with the draws and fakes of ``setup``."""
    z, fakes = noise_and_fakes(setup)
    grader_common.assert_loss(answer, name, expected, mistakes, z, setup[2], setup[3], fakes)


class GANTestCase(unittest.TestCase):
    """Seeds torch, so that every run is the same. The networks and images are made here;
    the sandbox gets copies of their weights, and the references are computed from the
    originals."""

    def setUp(self) -> None:
        # One thread: on batches this small, a second thread costs far more in
        # synchronisation than it saves, many times more when other processes load the cores.
        self.addCleanup(torch.set_num_threads, torch.get_num_threads())
        torch.set_num_threads(1)
        torch.manual_seed(0)

    def check_values(self, names: tuple[str, ...], setup: Setup) -> None:
        """Every loss in ``names`` on ``setup`` against its equation (reference_losses); on
        the stand-ins, also that it trains trained_layer (a sample detached from G does not)."""
        stand_in = isinstance(setup[0], LinearGenerator)
        got = ask([loss_of(name, setup, record=True,
                           train=trained_layer(name) if stand_in else None) for name in names])
        expected = reference_losses(*setup)
        for index, name in enumerate(names):
            with self.subTest(loss=name):
                assert_loss(got[index], name, setup, expected[name],
                            lambda: loss_mistakes(name, *setup))
                if stand_in:
                    assert_gradients_reach(got[index]["gradients"])

    def check_extreme_logits(self, names: tuple[str, ...],
                             offsets: tuple[float, ...] = (-1000.0, -100.0, 100.0, 1000.0),
                             gradients: bool = True) -> None:
        """The losses with D's logits shifted by ``offsets`` against their equations, and
        (``gradients``) their gradients to both networks: finite."""
        cases = [(offset, name) for offset in offsets for name in names]
        setups = [stand_ins(conditional=name in CONDITIONAL, logits=offset)
                  for offset, name in cases]
        got = ask([loss_of(name, setup, train={"G": "g", "D": "d"} if gradients else None)
                   for (_, name), setup in zip(cases, setups)])
        for index, ((offset, name), setup) in enumerate(zip(cases, setups)):
            with self.subTest(loss=name, logits=f"{offset:+g} + O(1)"):
                answer = got[index]
                loss = check_finite_loss(answer["loss"], name, offset)
                assert_close(loss, reference_losses(*setup)[name], name, FLOAT32_TOL,
                             lambda: loss_mistakes(name, *setup))
                if gradients:
                    try:
                        assert_finite_gradients(answer["gradients"])
                    except AssertionError as error:
                        raise AssertionError(f"{error} at logits near {offset:+g}: {OVERFLOW}")

    def check_calls(
        self, names: tuple[str, ...], check_d_calls: Callable[[str, Setup, list], None] | None
    ) -> None:
        """Each loss on stand-ins, with the networks' inputs recorded: its value (against its
        equation, checked last); G gets z, the first draw (and y_real);
        ``check_d_calls(name, setup, calls)`` checks D's inputs; the loss trains trained_layer;
        and it is a mean over the batch:
        with a generator whose output ignores z, every sample adds the same term to a mean (a
        linear critic gives the same penalty at every interpolate), so the batch repeated
        twice keeps the value."""
        setups = {name: stand_ins(conditional=name in CONDITIONAL) for name in names}
        repeated = {name: self.batch_repeated(name) for name in names}
        calls = []
        for name, setup in setups.items():
            calls += [loss_of(name, setup, record=True, train=trained_layer(name)),
                      *(loss_of(name, each) for each in repeated[name])]
        got = ask(calls)
        for index, (name, setup) in enumerate(setups.items()):
            with self.subTest(loss=name):
                answer, once, twice = (got[3 * index + step] for step in range(3))
                loss = check_loss(answer["loss"], name)
                assert_generator_inputs(answer["g_calls"], noise_and_fakes(setup)[0], setup[3])
                if check_d_calls is not None:
                    check_d_calls(name, setup, answer["d_calls"])
                assert_gradients_reach(answer["gradients"])
                what = f"{name} of the batch repeated twice (should be a mean over the batch)"
                assert_close(check_loss(twice["loss"], name), check_loss(once["loss"], name),
                             what, FLOAT32_TOL)
                # The ground of the verdict: the records above can only fail the test.
                assert_close(loss, reference_losses(*setup)[name], name, FLOAT32_TOL,
                             lambda: loss_mistakes(name, *setup))

    @staticmethod
    def batch_repeated(name: str) -> tuple[Setup, Setup]:
        """Stand-ins whose generator ignores z, with a batch, and with the batch twice over."""
        conditional = name in CONDITIONAL
        g, d, x_real, y_real = stand_ins(conditional)
        if not conditional:
            d = linear_critic(3.0)
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
        "device=torch.device('cpu')), also at logits near -100 and 100, and train D and G",
    )
    def test_values(self) -> None:
        self.check_values(NONSATURATING, stand_ins(conditional=False))
        self.check_extreme_logits(NONSATURATING, BASIC_LOGITS, gradients=False)

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
        "(stand-in networks, batch of 6), also at logits near -100 and 100, and train D and G",
    )
    def test_values(self) -> None:
        self.check_values(CONDITIONAL, stand_ins(conditional=True))
        self.check_extreme_logits(CONDITIONAL, BASIC_LOGITS, gradients=False)

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
        "time) and 25 in float64 (stand-in networks, batch of 6), train D and G, and the "
        "penalty trains D (a linear critic's gradient in w, ||w|| = 3)",
    )
    def test_values(self) -> None:
        self.check_values(WGAN_GP, stand_ins(conditional=False))
        setup = (LinearGenerator(), linear_critic(3.0), torch.randn(GAN_BATCH, *IMAGE_SHAPE))
        answer = ask([loss_of("loss_wasserstein_gp_d", (*setup, None), train={"critic": "d"})])[0]
        check_critic_gradient(answer, *linear_critic_expectations(*setup))

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
        setups = [(LinearGenerator(), linear_critic(norm), torch.randn(GAN_BATCH, *IMAGE_SHAPE))
                  for norm in norms]
        got = ask([loss_of("loss_wasserstein_gp_d", (g, critic, x_real, None),
                           train={"critic": "d"}) for g, critic, x_real in setups])
        for index, (norm, setup) in enumerate(zip(norms, setups)):
            with self.subTest(norm_w=norm):
                check_critic_gradient(got[index], *linear_critic_expectations(*setup))

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
    graderUtil.main([sys.modules[__name__]], GRADED_NAMES, points_file, checks="written_checks")
