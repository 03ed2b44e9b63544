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
the data, the seeds. The sandbox (GradedCase.ask) builds the student's objects, loads these
weights into them and makes the graded calls (the recipes of sandbox/calls.py); the outputs
come back as plain data and are judged here against values computed here from the same
weights and inputs. For the flow: from the masked network those weights define, from the
degree rules, or from Jacobians found by autograd. For the GANs: from the equations in
float64, for the same random draws as the losses (z, then alpha), with the stand-in networks
or the networks of network.py; the gradient penalty is checked against autograd run on one
sample at a time and against the closed form of a linear critic.

No point rests on the submission's word. Gradients that the sandbox sends back are compared
with the gradients of the reference computations at the same draws and weights (to forge them
is to compute them). Records that only the sandbox can make (the batch sizes self.net saw,
what G and D were given, the input as a call left it) decide nothing: they are notes with no
points at stake, or hints that explain a value that failed. A basic test also runs its
function with the inputs on PyTorch's meta device (on_another_device): where the sandbox
reports a tensor made on the CPU there, the test fails, as it does where the code raises; the
report passes nothing. The D = 1 cases are left out only where the uploaded
MADE.create_masks is the course starter's own, read here as text, never on the sandbox's
report. Each test computes all it compares with (known mistakes included) and then asks
(ask_and_judge: a slow call in an ask of its own, after the quick ones): the questions and
the judge's work do not depend on any verdict.
"""

if __name__ == "__main__":  # before the imports below: the sandbox imports torch beside them
    from judge import launch

    early = launch.start_sandbox_early()

import sys
from collections.abc import Callable, Hashable
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.distributions import Normal

import graderUtil
import network
from common.jacobians import autograd_jacobians
from common.stand_ins import IMAGE_SHAPE, LinearGenerator
from course import manifest
from graderUtil import GradedCase, call, graded
from judge.answers import type_name
from judge.client import GraderFailure
from judge.common import (
    CONDITIONAL,
    FLOAT32_TOL,
    GRADED_NAMES,
    HIDDEN_SIZE,
    LOG_DET,
    MADE_PARTS,
    NONSATURATING,
    ON_ANOTHER_DEVICE,
    OVERFLOW,
    SEED,
    WGAN_GP,
    Mismatch,
    assert_close,
    assert_finite_gradients,
    assert_gradients,
    assert_one_device,
    assert_pair_close,
    check_critic_gradient,
    check_finite_loss,
    check_loss,
    check_pair,
    check_tensor,
    network_spec,
    on_meta_runs,
    trained_layer,
)
from judge.course_masks import course_masks_line
from judge.flow_references import (
    Net,
    flow_gradients,
    log_abs_det,
    made_weights,
    maf_weights,
    reference_flow_inverse,
    reference_forward,
    reference_inverse,
    reference_log_prob,
    standard_normal_log_density,
)
from judge.gan_references import (
    GAN_BATCH,
    Setup,
    linear_critic,
    linear_critic_expectations,
    loss_equation,
    scored,
    stand_ins,
)
from judge.loss_cases import assert_loss, assert_trains, loss_case, trained_network
from judge.mistakes import batch_means, made_mistakes, maf_mistakes
from judge.notes import (
    batch_sizes,
    note_critic_batches,
    note_made_layers,
    note_masked_linear,
    note_net_batches,
)
from judge.run import Answers, Calls
from sandbox.protocol import GIVEN_CODE_CANNOT, Recipe

BATCH = 8
LARGE_BATCH = 10_000
MADE_CONFIGS = [(D, n_hidden) for D in (1, 2, 3, 5) for n_hidden in (0, 1, 2)]
FLOAT64_TOL = 1e-10
# What an answer to float64 inputs may be: float64, or float32. The problem set asks for no
# dtype: float64 is the judge's means to tight tolerances, not the student's duty, so each
# answer is compared at the tolerance of its own dtype (tolerance).
FLOAT64_ANSWER = (torch.float64, torch.float32)
# 1c-2's limit: where MAF has no log_prob (the course's starter) and vmap cannot batch
# log_probs, the sandbox takes each of the grid's 10,000 rows alone (sandbox.calls.log_prob_of):
# about 3 s on a loaded 2-core machine (median of 5: 2.9 s, at most 3.9 s).
ROW_BY_ROW_TIMEOUT = 20

# The GAN losses: the stand-in networks' batch is gan_references.GAN_BATCH
REAL_NET_BATCH = 4  # network.py's networks on 28 x 28 images
BASIC_LOGITS = (-100.0, 100.0)  # where the basic tests also check the losses: log(sigmoid(h))
                                # written out is infinite there


# ----------------------------------------------------------------------------------------
# Asking the sandbox


class PartAnswers:
    """The answers of one part of an ask (Part), by the names its calls were given. Reading one
    where the sandbox reports that the given code cannot build what the call needs fails the
    case with that reason: the report can only fail a case (left_out decides what is left
    out)."""

    def __init__(self, got: Answers, part: int) -> None:
        self.got, self.part = got, part

    def __getitem__(self, name: Hashable) -> object:
        answer = self.got[self.part, name]
        if isinstance(answer, dict) and set(answer) == {GIVEN_CODE_CANNOT}:
            reason = answer[GIVEN_CODE_CANNOT]
            what, why = (str(reason.get(key, ""))[:200] if isinstance(reason, dict) else ""
                         for key in ("what", "why"))
            raise AssertionError(f"the given code cannot build {what} ({why})")
        return answer

    def raw(self, name: Hashable) -> object:
        """The answer as it came (Answers.raw)."""
        return self.got.raw((self.part, name))


# A part of a test: its calls by name, and what judges their answers
Part = tuple[Calls, Callable[[PartAnswers], None]]


# ----------------------------------------------------------------------------------------
# The flow: tests
#
# Every test draws its weights and inputs here, computes all that it compares with, has the
# sandbox make the calls on them in one ask (ask_and_judge), and judges what comes back.


def made_args(D: int, n_hidden: int) -> tuple[int, int, int]:
    """The arguments of ``MADE(D, HIDDEN_SIZE, n_hidden)``, as a call sends them."""
    return D, HIDDEN_SIZE, n_hidden


def tolerance(*values: Tensor) -> float:
    """The tolerance fit for the least precise of ``values`` (answers to float64 inputs):
    FLOAT64_TOL where all are float64, else FLOAT32_TOL."""
    return FLOAT64_TOL if all(value.dtype == torch.float64 for value in values) else FLOAT32_TOL


def shaped(value: object, shape: tuple[int, ...],
           dtype: torch.dtype | tuple[torch.dtype, ...]) -> Tensor:
    """``value`` where it is a tensor of this shape and dtype (one of ``dtype``, then made the
    first), else zeros: what the judge computes at an answer is computed whatever the
    answer, before any is judged."""
    dtypes = dtype if isinstance(dtype, tuple) else (dtype,)
    if isinstance(value, Tensor) and tuple(value.shape) == shape and value.dtype in dtypes:
        return value.detach().to(dtypes[0])
    return torch.zeros(shape, dtype=dtypes[0])


def first_output(answer: object, shape: tuple[int, ...],
                 dtype: torch.dtype | tuple[torch.dtype, ...]) -> Tensor:
    """The output (the pair's first part) of a made_call answer's first call, ``shaped``."""
    try:
        value = answer[0]["result"][0]
    except Exception:  # not an answer of that form: judged (and failed) later
        value = None
    return shaped(value, shape, dtype)


class SeededTestCase(GradedCase):
    """Seeds torch, so that every run is the same, and computes on one thread: on tensors
    this small, a second thread costs far more in synchronisation than it saves, many times
    more when other processes load the cores."""

    def setUp(self) -> None:
        self.addCleanup(torch.set_num_threads, torch.get_num_threads())
        torch.set_num_threads(1)
        torch.manual_seed(0)

    def ask_and_judge(self, *asks: list[Part]) -> None:
        """Has the sandbox answer the calls of each list of parts in one ask, every ask in turn
        whatever the answers, then has each part judge its answers in turn; a failure of an ask
        itself (a time-out) is raised where its first part is judged. Every test has computed
        beforehand all that it compares with: which questions it asks, and the judge's work for
        them, depend on no verdict. A slow call goes in a later ask, so that a failure of the
        quick ones is reported even where the slow one runs out of time."""
        answered: list[tuple[Answers | None, GraderFailure | None]] = []
        for parts in asks:
            try:
                answered.append((self.ask({(part, name): each
                                           for part, (calls, _) in enumerate(parts)
                                           for name, each in calls.items()}), None))
            except GraderFailure as failure:
                answered.append((None, failure))
        for parts, (got, failure) in zip(asks, answered):
            if failure is not None:
                raise failure
            for part, (_, judge) in enumerate(parts):
                judge(PartAnswers(got, part))

    def on_another_device(self) -> Part:
        """The runs of this basic test's graded functions (the one this run judges, where it
        judges several) with their inputs on the meta device (judge.common.ON_META): each
        fails where its code makes a tensor on the CPU."""
        function = self.graded_function
        runs = on_meta_runs(self.test_id, function)

        def judge(got: PartAnswers) -> None:
            for what, _ in runs:
                assert_one_device(got[what], what)

        return dict(runs), judge


class FlowTestCase(SeededTestCase):
    """The checks that the tests of the flow share."""

    def left_out(self, D: int) -> bool:
        """Whether the cases of dimension ``D`` are left out, with a note: D = 1 alone, and only
        where the uploaded create_masks is the course starter's own, which cannot build it (no
        student is charged for given code). Decided here from the upload's text alone: what the
        sandbox reports (given_code_cannot) never leaves a case out."""
        line = course_masks_line(self.submitted_file("flow_network.py")) if D == 1 else None
        if line is None:
            return False
        self.note("D = 1 left out, no points lost: the given code cannot build it "
                  f"(ZeroDivisionError: integer modulo by zero, in create_masks, line {line})")
        return True

    def each_made(self, method: str, derive: Callable[[Net, Tensor, Tensor], object],
                  check: Callable[[Net, Tensor, tuple, Tensor | None, object], None]) -> None:
        """``check(net, input, result, jacobians, derived)`` for MADE.<method> of float64 MADEs
        of every size in MADE_CONFIGS; ``jacobians``: autograd's Jacobians of the method's first
        output, row by row, for the inverse (None for the forward, which need not be
        differentiable); ``derived``: ``derive(net, input, output)`` with the output in
        float64, computed for every case before any is judged. The result and Jacobians may be
        float64 or float32 (FLOAT64_ANSWER)."""
        weights = [made_weights(D, n_hidden, torch.float64) for D, n_hidden in MADE_CONFIGS]
        inputs = [torch.randn(BATCH, D, dtype=torch.float64) for D, _ in MADE_CONFIGS]
        calls = {}
        for (D, n_hidden), (state, _), x in zip(MADE_CONFIGS, weights, inputs):
            arguments = dict(args=made_args(D, n_hidden), state=state, method=method,
                             dtype="float64")
            calls["result", D, n_hidden] = call(Recipe.MADE_CALL, inputs=[x], **arguments)
            if method == "inverse":
                calls["jacobians", D, n_hidden] = call(Recipe.MADE_JACOBIANS, x=x, **arguments)

        def judge(got: PartAnswers) -> None:
            derived = [derive(net, x, first_output(got.raw(("result", D, n_hidden)), (BATCH, D),
                                                   FLOAT64_ANSWER))
                       for (D, n_hidden), (_, net), x in zip(MADE_CONFIGS, weights, inputs)]
            for index, ((D, n_hidden), (_, net), x) in enumerate(
                    zip(MADE_CONFIGS, weights, inputs)):
                with self.subTest(D=D, n_hidden=n_hidden):
                    if self.left_out(D):
                        continue
                    (answer,) = got["result", D, n_hidden]
                    result = check_pair(answer["result"], f"MADE.{method}", BATCH, D,
                                        FLOAT64_ANSWER)
                    jacobians = None
                    if method == "inverse":
                        jacobians = check_tensor(got["jacobians", D, n_hidden],
                                                 "the Jacobians of dz/dx", (BATCH, D, D),
                                                 FLOAT64_ANSWER)
                    check(net, x, result, jacobians, derived[index])

        self.ask_and_judge([(calls, judge)])

    def check_values(self, method: str, expected: Callable) -> None:
        """MADE.<method> on float32 batches (D = 2, 4) against ``expected(net, input)``, and
        the basic test's run on another device (on_another_device)."""
        cases = [(D, *made_weights(D, 1), torch.randn(BATCH, D)) for D in (2, 4)]
        references = [(expected(net, x), made_mistakes(method, net, x)) for _, _, net, x in cases]
        calls = {D: call(Recipe.MADE_CALL, args=made_args(D, 1), state=state, method=method,
                         inputs=[x])
                 for D, state, _, x in cases}

        def judge(got: PartAnswers) -> None:
            for index, (D, _, _, _) in enumerate(cases):
                with self.subTest(D=D):
                    (answer,) = got[D]
                    result = check_pair(answer["result"], f"MADE.{method}", BATCH, D,
                                        torch.float32)
                    expected_pair, mistakes = references[index]
                    assert_pair_close(result, expected_pair, MADE_PARTS[method], FLOAT32_TOL,
                                      mistakes)

        self.ask_and_judge([(calls, judge), self.on_another_device()])

    def edge_cases(self, method: str, expected_pair: Callable, one_pass: bool
                   ) -> tuple[Part, Part]:
        """MADE.<method> on batches of 1 and 10,000 rows and on float64 input, against
        ``expected_pair(net, input)``, the right (output, log_det): the quick cases, and the
        batch of 10,000 rows (for an ask of its own, after theirs: a loop over the rows fails
        on the quick ones, before it takes 10,000 passes). Notes, not graded (records of the
        sandbox): whether every call of self.net saw the whole batch (and, with ``one_pass``,
        whether there was one call), and whether the input was left unchanged."""
        state, net = made_weights(3, 1)
        state64 = {key: value.double() for key, value in state.items()}
        net64 = Net([tuple(part.double() for part in layer) for layer in net.layers])
        cases = [(1, torch.float32, net, state), (BATCH, torch.float64, net64, state64),
                 (LARGE_BATCH, torch.float32, net, state)]
        inputs = [torch.randn(batch, 3, dtype=dtype) for batch, dtype, _, _ in cases]
        references = [(expected_pair(reference_net, x), made_mistakes(method, reference_net, x))
                      for (_, _, reference_net, _), x in zip(cases, inputs)]

        def part(indices: tuple[int, ...]) -> Part:
            calls = {cases[index][0]: call(Recipe.MADE_CALL, args=made_args(3, 1),
                                           state=cases[index][3], method=method,
                                           inputs=[inputs[index]],
                                           dtype=str(cases[index][1]).removeprefix("torch."))
                     for index in indices}  # by batch size

            def judge(got: PartAnswers) -> None:
                for index in indices:
                    batch, dtype, _, _ = cases[index]
                    try:
                        self.check_edge_case(method, one_pass, inputs[index], got[batch][0],
                                             *references[index])
                    except AssertionError as error:  # labelled as a subTest's failure would be
                        raise AssertionError(f"[batch={batch}, dtype={dtype}] {error}") from None

            return calls, judge

        return part((0, 1)), part((2,))

    def check_edge_case(self, method: str, one_pass: bool, x: Tensor, answer: dict,
                        expected: tuple[Tensor, Tensor], mistakes: dict) -> None:
        """One call of MADE.<method> on ``x`` (``answer``, from made_call) for edge_cases."""
        batch, what = len(x), f"MADE.{method}"
        sizes = batch_sizes(answer["net_batches"])
        note_net_batches(self.note, what, sizes, batch, one_pass)
        after = answer["input"]
        if isinstance(after, Tensor) and after.shape == x.shape and not torch.equal(after, x):
            self.note(f"not graded: {what} seems to change its input in place (by the "
                      "sandbox's record); a caller may still need it")
        result = check_pair(answer["result"], what, batch, 3,
                            FLOAT64_ANSWER if x.dtype == torch.float64 else x.dtype)
        try:
            assert_pair_close(result, expected, MADE_PARTS[method], FLOAT32_TOL,
                              mistakes)
        except Mismatch as error:
            if method == "forward" and sizes and len(sizes) == batch != 3 \
                    and error.mistake is None:  # the sandbox's record as a hint
                raise AssertionError(
                    f"{error}; self.net was called {batch} time(s) for a batch of {batch} "
                    "row(s) of D = 3: the loop should run over the D dimensions, not the "
                    "rows") from None
            raise

    def one_dimension(self, method: str, expected: Callable) -> Part:
        """MADE.<method> with D = 1, where mu and alpha are the biases of the last layer.

        ``expected(input, mu, alpha)`` gives the right (output, log_det).
        """
        state, net = made_weights(1, 2)
        inputs = torch.randn(BATCH, 1)
        mu, alpha = net.layers[-1][1]
        reference = expected(inputs, mu, alpha)
        calls = {"D = 1": call(Recipe.MADE_CALL, args=made_args(1, 2), state=state, method=method,
                               inputs=[inputs])}

        def judge(got: PartAnswers) -> None:
            if self.left_out(1):
                return
            (answer,) = got["D = 1"]
            result = check_pair(answer["result"], f"MADE.{method}", BATCH, 1, torch.float32)
            assert_pair_close(result, reference, MADE_PARTS[method], FLOAT32_TOL)

        return calls, judge


class MADEForwardTest(FlowTestCase):
    """Problem 1a: MADE.forward, the sampling direction x = f(z)."""

    @graded(
        "1a-0-basic",
        "MADE.forward returns a tuple (x, log_det) of float32 tensors shaped (B, D), (B,) "
        "equal to x_i = mu_i + z_i*exp(alpha_i), log_det = sum alpha_i found one dimension "
        f"at a time (D = 2, 4); {ON_ANOTHER_DEVICE}",
    )
    def test_forward_values(self) -> None:
        self.check_values("forward", reference_forward)

    @graded(
        "1a-1-hidden",
        "MaskedLinear starts from nn.Linear's init and computes x (W * mask)^T + b, and "
        "MADE.forward's x (its values checked) has x_i depend on z_<=i only, on z_i always "
        "(D = 1, 2, 3, 5; n_hidden = 0, 1, 2; notes, not graded: whether MaskedLinear is an "
        "nn.Linear with a `mask` buffer, and MADE.net MaskedLinear/ReLU layers with the masks "
        "of the degree rules)",
    )
    def test_net_structure(self) -> None:
        mask = (torch.rand(4, 3) < 0.5).float()
        layer_state = {"weight": torch.randn(4, 3), "bias": torch.randn(4), "mask": mask}
        inputs = torch.randn(BATCH, 3)
        weights = [made_weights(D, n_hidden) for D, n_hidden in MADE_CONFIGS]
        noise = [torch.randn(BATCH, D) for D, _ in MADE_CONFIGS]
        torch.manual_seed(1)
        plain = nn.Linear(3, 4)  # what nn.Linear's initialisation gives after this seed
        expected = inputs @ (layer_state["weight"] * mask).T + layer_state["bias"]
        references = [(reference_forward(net, z)[0],
                       {mistake: pair[0] for mistake, pair in
                        made_mistakes("forward", net, z).items()})
                      for (_, net), z in zip(weights, noise)]
        calls = {"masked linear": call(Recipe.MASKED_LINEAR, args=(3, 4, mask), seed=1,
                                       state=layer_state, x=inputs)}
        for (D, n_hidden), (state, _), z in zip(MADE_CONFIGS, weights, noise):
            nudged = [z + torch.eye(D)[j] for j in range(D)]  # z_j changed alone
            calls["layers", D, n_hidden] = call(Recipe.MADE_LAYERS, args=made_args(D, n_hidden))
            calls["forward", D, n_hidden] = call(Recipe.MADE_CALL, args=made_args(D, n_hidden),
                                                 state=state, method="forward",
                                                 inputs=[z, *nudged])

        def judge(got: PartAnswers) -> None:
            found = got["masked linear"]
            note_masked_linear(self.note, found)
            initial = check_tensor(found["initial_weight"], "MaskedLinear's initial weight",
                                   (4, 3), torch.float32)
            assert_close(initial, plain.weight, "MaskedLinear's initial weight", 0)
            output = check_tensor(found["output"], "MaskedLinear's output", (BATCH, 4),
                                  torch.float32)
            assert_close(output, expected, "MaskedLinear output (weight * mask)", FLOAT32_TOL)
            for index, (D, n_hidden) in enumerate(MADE_CONFIGS):
                with self.subTest(D=D, n_hidden=n_hidden):
                    if not self.left_out(D):
                        self.check_made(D, n_hidden, got["layers", D, n_hidden],
                                        got["forward", D, n_hidden], *references[index])

        self.ask_and_judge([(calls, judge)])

    def check_made(self, D: int, n_hidden: int, layers: object, answers: list, x_expected: Tensor,
                   mistakes: dict) -> None:
        """One MADE of test_net_structure: its forward's x, and notes on its layers and
        masks."""
        note_made_layers(self.note, D, n_hidden, layers)
        x, _ = check_pair(answers[0]["result"], "MADE.forward", BATCH, D, torch.float32)
        # The ground of the verdict: the layers and masks are records only the sandbox makes,
        # and the identity is autoregressive too.
        assert_close(x, x_expected, "x", FLOAT32_TOL, mistakes)
        for j, answer in enumerate(answers[1:]):
            x_nudged, _ = check_pair(answer["result"], "MADE.forward", BATCH, D, torch.float32)
            what = f"MADE.forward's x_<{j} after a change of z_{j} alone"
            assert_close(x_nudged[:, :j], x[:, :j], what, FLOAT32_TOL)
            if (x_nudged[:, j] == x[:, j]).any():
                raise AssertionError(f"MADE.forward's x_{j} should change when z_{j} does "
                                     f"(x_{j} = mu_{j} + z_{j} * exp(alpha_{j}))")

    @graded(
        "1a-2-hidden",
        "MADE.forward inverts z = (x - mu(x))*exp(-alpha(x)) computed from MADE.net "
        "(float64, D = 1, 2, 3, 5; n_hidden = 0, 1, 2)",
    )
    def test_forward_inverts(self) -> None:
        def derive(net: Net, _, x: Tensor) -> Tensor:
            return reference_inverse(net, x)[0]

        def check(net: Net, z: Tensor, result: tuple, _, recovered: Tensor) -> None:
            assert_close(recovered, z, "z recovered from x", tolerance(result[0]))

        self.each_made("forward", derive, check)

    @graded(
        "1a-3-hidden",
        "MADE.forward's log_det equals log|det dx/dz| = -log|det dz/dx|, the Jacobian taken "
        "by autograd at the returned x (float64, D = 1, 2, 3, 5; n_hidden = 0, 1, 2)",
    )
    def test_forward_log_det(self) -> None:
        # Found through the inverse map: forward itself need not be differentiable.
        def derive(net: Net, _, x: Tensor) -> Tensor:
            return -log_abs_det(autograd_jacobians(lambda rows: reference_inverse(net, rows)[0],
                                                   x))

        def check(net: Net, z: Tensor, result: tuple, _, expected: Tensor) -> None:
            sign = {"the inverse's sign, -log|det dx/dz|": -expected}
            assert_close(result[1], expected, LOG_DET["forward"], tolerance(*result), sign)

        self.each_made("forward", derive, check)

    @graded(
        "1a-4-hidden",
        "MADE.forward on batches of 1 and 10,000 rows and float64, and for D = 1 with mu, "
        "alpha from the output biases (notes, not graded: whether self.net saw whole batches "
        "and z was left unchanged)",
    )
    def test_forward_edge_cases(self) -> None:
        quick, large = self.edge_cases("forward", reference_forward, one_pass=False)
        self.ask_and_judge([quick, self.one_dimension("forward", lambda z, mu, alpha: (
            mu + z * torch.exp(alpha), alpha.expand(len(z))))], [large])


class MADEInverseTest(FlowTestCase):
    """Problem 1b: MADE.inverse, the density direction z = f^-1(x)."""

    @graded(
        "1b-0-basic",
        "MADE.inverse returns a tuple (z, log_det) of float32 tensors shaped (B, D), (B,) "
        "equal to (x - mu)*exp(-alpha) and -sum alpha_i with mu, alpha from MADE.net(x) "
        f"(D = 2, 4); {ON_ANOTHER_DEVICE}",
    )
    def test_inverse_values(self) -> None:
        self.check_values("inverse", reference_inverse)

    @graded(
        "1b-1-hidden",
        "MADE.inverse: autograd's dz/dx is lower triangular with log|det| equal to log_det, "
        "and sampling one dimension at a time maps z back to x "
        "(float64, D = 1, 2, 3, 5; n_hidden = 0, 1, 2)",
    )
    def test_inverse_jacobian(self) -> None:
        def derive(net: Net, x: Tensor, z: Tensor) -> tuple[Tensor, Tensor]:
            return reference_inverse(net, x)[1], reference_forward(net, z)[0]

        def check(net: Net, x: Tensor, result: tuple, jacobians: Tensor,
                  derived: tuple[Tensor, Tensor]) -> None:
            log_det_expected, x_recovered = derived
            upper = jacobians.triu(1)
            assert_close(upper, torch.zeros_like(upper), "dz_i/dx_j for j > i", 0)
            expected = log_abs_det(jacobians)
            sign = {"the forward's sign, +sum(alpha) (equation 3: -sum(alpha))": -expected}
            assert_close(result[1], expected, "log_det", tolerance(result[1], jacobians), sign)
            assert_close(result[1], log_det_expected, "log_det", tolerance(result[1]))
            assert_close(x_recovered, x, "x recovered from z", tolerance(result[0]))

        self.each_made("inverse", derive, check)

    @graded(
        "1b-2-hidden",
        "MADE.inverse on batches of 1 and 10,000 rows and float64, for D = 1 with mu, alpha "
        "from the output biases, and its gradients in every parameter are those of "
        "(x - mu)*exp(-alpha), -sum alpha (notes, not graded: one pass of self.net on the "
        "whole batch, x left unchanged)",
    )
    def test_inverse_edge_cases(self) -> None:
        state, _ = made_weights(3, 1)
        x = torch.randn(BATCH, 3)
        expected = flow_gradients(state, lambda nets: sum(
            part.sum() for part in reference_inverse(nets[""], x.double())))

        def judge(got: PartAnswers) -> None:
            assert_gradients(got["gradients"], expected)

        quick, large = self.edge_cases("inverse", reference_inverse, one_pass=True)
        self.ask_and_judge([quick, self.one_dimension("inverse", lambda x, mu, alpha: (
            (x - mu) * torch.exp(-alpha), -alpha.expand(len(x)))),
            ({"gradients": call(Recipe.MADE_GRADIENTS, args=made_args(3, 1), state=state,
                                method="inverse", x=x)},
             judge)], [large])


class MAFTest(FlowTestCase):
    """Problem 1c: MAF.log_probs, and the rest of the MAF that uses it."""

    @graded(
        "1c-0-basic",
        "MAF.log_probs returns a 0-dim float32 tensor: the batch mean of log N(z; 0, I) plus "
        "every block's log-det, found from the MADE nets and feature reversals (D = 2, 3 flows); "
        f"{ON_ANOTHER_DEVICE}",
    )
    def test_log_probs_values(self) -> None:
        state, blocks = maf_weights(2, 3)
        x = torch.randn(BATCH, 2)
        expected = reference_log_prob(blocks, x).mean()
        mistakes = batch_means(maf_mistakes(blocks, x))

        def judge(got: PartAnswers) -> None:
            (value,) = got["MAF"]
            value = check_tensor(value, "MAF.log_probs(x)", (), torch.float32)
            assert_close(value, expected, "log_probs", FLOAT32_TOL, mistakes, BATCH)

        self.ask_and_judge([({"MAF": call(Recipe.MAF_CALL, args=(2, HIDDEN_SIZE, 1, 3),
                                          state=state, methods=["log_probs"], x=x)}, judge),
                            self.on_another_device()])

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
        references = []
        for (_, blocks), x in zip(weights, inputs):
            def flow_inverse(rows: Tensor, blocks: list = blocks) -> Tensor:
                return reference_flow_inverse(blocks, rows)[0]

            jacobians = autograd_jacobians(flow_inverse, x)
            references.append((standard_normal_log_density(flow_inverse(x))
                               + log_abs_det(jacobians), batch_means(maf_mistakes(blocks, x))))
        calls = {D: call(Recipe.MAF_CALL, args=(D, HIDDEN_SIZE, 1, 3), state=state,
                         methods=["log_probs", "loss", "log_prob"], x=x, dtype="float64")
                 for D, (state, _), x in zip(sizes, weights, inputs)}

        def judge(got: PartAnswers) -> None:
            for index, D in enumerate(sizes):
                with self.subTest(D=D):
                    if not self.left_out(D):
                        self.check_log_probs(D, got[D], *references[index])

        self.ask_and_judge([(calls, judge)])

    @staticmethod
    def check_log_probs(D: int, answer: list, expected: Tensor, mistakes: dict) -> None:
        """log_probs, loss and log_prob of one MAF of test_log_probs_jacobian, each float64 or
        float32 (FLOAT64_ANSWER)."""
        value, loss, per_row = answer
        value = check_tensor(value, "MAF.log_probs(x)", (), FLOAT64_ANSWER)
        assert_close(value, expected.mean(), "log_probs", tolerance(value), mistakes, BATCH)
        loss = check_tensor(loss, "MAF.loss(x)", (), FLOAT64_ANSWER)
        assert_close(loss, -expected.mean(), "loss", tolerance(loss), batch=BATCH)
        if isinstance(per_row, Tensor) and tuple(per_row.shape) == (BATCH, D):
            raise AssertionError(
                f"MAF.log_prob(x) should have shape ({BATCH},), one value per row, got "
                f"({BATCH}, {D}): log N(z; 0, I) is the sum of log N(z_d) over the dimensions")
        per_row = check_tensor(per_row, "MAF.log_prob(x)", (BATCH,), FLOAT64_ANSWER)
        assert_close(per_row, expected, "log_prob", tolerance(per_row))

    @graded(
        "1c-2-hidden",
        "the density exp(MAF.log_prob) of a random 2-D MAF integrates to 1 over the plane "
        "(midpoint rule on [-10, 10]^2), and MAF.log_probs of the grid is the mean of log_prob",
        timeout=ROW_BY_ROW_TIMEOUT,
    )
    def test_density_integrates_to_one(self) -> None:
        # An untrained MAF is close to a standard normal: the midpoint rule on [-10, 10]^2
        # with a step of 0.2 finds its total mass to about 1e-4 (measured on 5 seeds: at most
        # 9.7e-5; 1.1e-5 with a step of 0.1).
        half_width, step = 10, 0.2
        centers = torch.arange(-half_width + step / 2, half_width, step, dtype=torch.float64)
        grid = torch.cartesian_prod(centers, centers)
        state, blocks = maf_weights(2, 3, torch.float64)
        expected = reference_log_prob(blocks, grid)

        def judge(got: PartAnswers) -> None:
            log_density, value = got["grid"]
            log_density = check_tensor(log_density, "MAF.log_prob", (len(grid),),
                                       FLOAT64_ANSWER)
            assert_close(log_density, expected, "log_prob on the grid", tolerance(log_density))
            mass = log_density.exp().sum() * step**2
            assert_close(mass, torch.tensor(1.0), "the total probability", 1e-3)
            value = check_tensor(value, "MAF.log_probs", (), FLOAT64_ANSWER)
            assert_close(value, log_density.double().mean(), "log_probs of the grid",
                         tolerance(value, log_density), batch=len(grid))

        self.ask_and_judge([({"grid": call(Recipe.MAF_CALL, args=(2, HIDDEN_SIZE, 1, 3),
                                           state=state, methods=["log_prob", "log_probs"],
                                           x=grid, dtype="float64", no_grad=True)}, judge)])

    @graded(
        "1c-3-hidden",
        "MAF's base_dist is a standard normal; log_probs works on batches of 1 and 10,000 rows, "
        "and MAF.loss's gradients in every parameter are those of the change of variables "
        "(notes, not graded: whether MAF.nf is [MADE, PermuteLayer] x n_flows, and whether "
        "every net saw the whole batch)",
    )
    def test_log_probs_edge_cases(self) -> None:
        n_flows = 5
        args = (2, HIDDEN_SIZE, 1, n_flows)
        points = torch.tensor([-1.5, 0.0, 2.0])
        state, blocks = maf_weights(2, n_flows)
        batches = (1, LARGE_BATCH)
        inputs = [torch.randn(batch, 2) for batch in batches]
        references = [(reference_log_prob(blocks, x).mean(), batch_means(maf_mistakes(blocks, x)),
                       flow_gradients(state, lambda nets, x=x: -reference_log_prob(
                           [nets.get(f"nf.{index}.") for index in range(2 * n_flows)],
                           x.double()).mean()))
                      for x in inputs]
        calls = {"layers": call(Recipe.MAF_LAYERS, args=args, points=points),
                 **{batch: call(Recipe.MAF_TRAINING, args=args, state=state, x=x)
                    for batch, x in zip(batches, inputs)}}

        def judge(got: PartAnswers) -> None:
            layers = got["layers"]
            blocks = ["MADE", "PermuteLayer"] * n_flows
            if not (isinstance(layers, dict) and layers.get("types") == blocks):
                self.note(f"not graded: MAF.nf should be the blocks {', '.join(blocks)}, "
                          "as the given code builds it")
            base = check_tensor(layers["base_log_prob"], "base_dist.log_prob", (3,),
                                torch.float32)
            assert_close(base, Normal(0.0, 1.0).log_prob(points), "base_dist.log_prob", 0)
            for batch, (expected, mistakes, gradients) in zip(batches, references):
                with self.subTest(batch=batch):
                    answer = got[batch]
                    note_net_batches(self.note, "MAF.log_probs",
                                     batch_sizes(answer["net_batches"]), batch, one_pass=False)
                    value = check_tensor(answer["log_probs"], "MAF.log_probs(x)", (),
                                         torch.float32)
                    assert_close(value, expected, "log_probs", FLOAT32_TOL, mistakes, batch)
                    assert_gradients(answer["gradients"], gradients)

        self.ask_and_judge([(calls, judge)])

    @graded(
        "1c-4-hidden",
        "MAF.sample gives (n, D) rows that the flow's inverse (from the MADE nets) maps to "
        "standard normal noise; PermuteLayer reverses the features with zero log-dets "
        "(D = 2, 3; a note, not graded: whether MAF.sample returns a numpy array)",
    )
    def test_sample_and_permute(self) -> None:
        n = 20_000  # the mean and covariance of the noise are then within 0.01 or so
        sizes = (2, 3)
        weights = [maf_weights(D, 3) for D in sizes]
        inputs = [torch.randn(BATCH, D) for D in sizes]
        calls = {}
        for D, (state, _), x in zip(sizes, weights, inputs):
            calls["permute", D] = call(Recipe.PERMUTE_CALL, size=D, x=x)
            calls["sample", D] = call(Recipe.MAF_SAMPLE, args=(D, HIDDEN_SIZE, 1, 3), state=state,
                                      n=n, seed=SEED)

        def judge(got: PartAnswers) -> None:
            noise = []  # the noise of every answer's samples, before any is judged
            for D, (_, blocks) in zip(sizes, weights):
                sampled = got.raw(("sample", D))
                samples = sampled.get("samples") if isinstance(sampled, dict) else None
                if isinstance(samples, Tensor) and samples.is_floating_point():
                    samples = samples.float()
                with torch.no_grad():
                    noise.append(reference_flow_inverse(blocks, shaped(samples, (n, D),
                                                                       torch.float32))[0])
            for index, (D, x) in enumerate(zip(sizes, inputs)):
                with self.subTest(D=D):
                    self.check_permute(D, x, got["permute", D])
                    self.check_sample(D, n, got["sample", D], noise[index])

        self.ask_and_judge([(calls, judge)])

    @staticmethod
    def check_permute(D: int, x: Tensor, results: list) -> None:
        """PermuteLayer(D).forward(x) and .inverse(x) (permute_call)."""
        for method, result in zip(("forward", "inverse"), results):
            what = f"PermuteLayer.{method}"
            if not (isinstance(result, (tuple, list)) and len(result) == 2):
                raise AssertionError(f"{what} should return (output, log_det)")
            values = check_tensor(result[0], f"{what}'s output", (BATCH, D), torch.float32)
            assert_close(values, x.flip(1), f"{what}'s output", 0)
            # Given code: our starter's log-dets are shaped (B,), the course's (B, 1).
            log_det = result[1]
            if isinstance(log_det, Tensor) and tuple(log_det.shape) == (BATCH, 1):
                log_det = log_det[:, 0]
            log_det = check_tensor(log_det, f"{what}'s log_det", (BATCH,), torch.float32)
            assert_close(log_det, torch.zeros(BATCH), f"{what}'s log_det", 0)

    def check_sample(self, D: int, n: int, sampled: dict, z: Tensor) -> None:
        """MAF.sample's answer (maf_sample): its samples, judged by ``z``, the flow's inverse
        of them; a note (not graded: the sandbox's record) where it is not a numpy array."""
        if sampled["is_array"] is not True:
            self.note("not graded: MAF.sample should return a numpy array, as the given "
                      "code's does (the trainer and the plots use one)")
        samples = sampled["samples"]
        if not isinstance(samples, Tensor):
            raise AssertionError("MAF.sample should return a numpy array of shape "
                                 f"{(n, D)}, got {type_name(samples)}")
        if not (samples.is_floating_point() and tuple(samples.shape) == (n, D)):
            raise AssertionError(f"MAF.sample should return {n} rows of {D} floats, shape "
                                 f"{(n, D)}, got {tuple(samples.shape)} of {samples.dtype}")
        assert_close(z.mean(dim=0), torch.zeros(D), "mean of the samples' noise", 0.05)
        assert_close(torch.cov(z.T), torch.eye(D), "covariance of the samples' noise", 0.05)


# ----------------------------------------------------------------------------------------
# GAN losses (problems 2b, 4b and 5e): the networks and calls of the tests


def real_networks(conditional: bool) -> Setup:
    """network.py's networks with REAL_NET_BATCH 28 x 28 images (and labels, if conditional)."""
    x_real = torch.randn(REAL_NET_BATCH, 1, 28, 28)
    if conditional:
        labels = torch.randint(10, (REAL_NET_BATCH,))
        return network.ConditionalGenerator(), network.ConditionalDiscriminator(), x_real, labels
    return network.Generator(), network.Discriminator(), x_real, None


def loss_of(name: str, setup: Setup, **options: object) -> tuple[str, dict]:
    """The call of the loss ``name`` on ``setup`` (sandbox.calls.loss_call), seeded with
    SEED."""
    g, d, x_real, y_real = setup
    return call(Recipe.LOSS_CALL, name=name, g=network_spec(g), d=network_spec(d), x_real=x_real,
                y_real=y_real, seed=SEED, **options)


# ----------------------------------------------------------------------------------------
# GAN losses: tests


class GANTestCase(SeededTestCase):
    """The checks that the tests of the GAN losses share. Each test judges one loss at a
    time (``graded(functions=...)``: the loss is ``self.graded_function``), so that a mistake
    in one loss costs the other nothing. The networks and images are made here; the sandbox
    gets copies of their weights, and the references are computed from the originals."""

    def values(self, name: str, setup: Setup) -> Part:
        """The loss ``name`` on ``setup`` against its equation; on the stand-ins, also the
        gradients it sends trained_layer against the equation's (a sample detached from G
        sends none)."""
        stand_in = isinstance(setup[0], LinearGenerator)
        train = trained_layer(name) if stand_in else None
        case = loss_case(name, setup, train)

        def judge(got: PartAnswers) -> None:
            assert_loss(got["loss"], case)
            if stand_in:
                assert_trains(got["loss"], case)

        return {"loss": loss_of(name, setup, record=True, train=train)}, judge

    def extreme_logits(self, name: str,
                       offsets: tuple[float, ...] = (-1000.0, -100.0, 100.0, 1000.0),
                       gradients: bool = True) -> Part:
        """The loss ``name`` with D's logits shifted by ``offsets`` against its equation, and
        (``gradients``) the gradients it sends the network it trains: finite, and the
        equation's."""
        train = trained_network(name) if gradients else None
        setups = [stand_ins(conditional=name in CONDITIONAL, logits=offset) for offset in offsets]
        cases = [loss_case(name, setup, train) for setup in setups]
        calls = {offset: loss_of(name, setup, train=train)
                 for offset, setup in zip(offsets, setups)}

        def judge(got: PartAnswers) -> None:
            for offset, case in zip(offsets, cases):
                with self.subTest(logits=f"{offset:+g} + O(1)"):
                    answer = got[offset]
                    loss = check_finite_loss(answer["loss"], name, offset)
                    assert_close(loss, case.expected, name, FLOAT32_TOL, case.mistakes,
                                 GAN_BATCH)
                    if gradients:
                        try:
                            assert_finite_gradients(answer["gradients"])
                        except AssertionError as error:
                            raise AssertionError(
                                f"{error} at logits near {offset:+g}: {OVERFLOW}") from None
                        assert_trains(answer, case)

        return calls, judge

    def check_calls(self, name: str) -> None:
        """The loss ``name`` on stand-ins: its value against its equation, at the loss's draws
        (G must get z, the first draw, and y_real; the records of G's and D's calls may explain
        a failing value); the gradients it sends trained_layer against the equation's; and
        that it is a mean over the batch: with a generator whose output ignores z, every sample
        adds the same term to a mean (a linear critic gives the same penalty at every
        interpolate), so the batch and the batch repeated twice both give the equation's
        value. A note, not graded: whether the critic saw whole batches."""
        setup = stand_ins(conditional=name in CONDITIONAL)
        repeated = self.batch_repeated(name)
        case = loss_case(name, setup, trained_layer(name))
        means = [loss_equation(name, scored(*each)).detach() for each in repeated]
        calls = {"loss": loss_of(name, setup, record=True, train=trained_layer(name)),
                 **{times: loss_of(name, each)
                    for times, each in zip(("once", "repeated twice"), repeated)}}

        def judge(got: PartAnswers) -> None:
            answer, once, twice = got["loss"], got["once"], got["repeated twice"]
            if name in WGAN_GP:
                note_critic_batches(self.note, answer["d_calls"], GAN_BATCH)
            assert_loss(answer, case)
            assert_trains(answer, case)
            for times, repeat in (("once", once), ("repeated twice", twice)):
                what = (f"{name} of a batch {times} (should be a mean over the batch; G ignores "
                        "z here)")
                assert_close(check_loss(repeat["loss"], name), means[times != "once"], what,
                             FLOAT32_TOL)

        self.ask_and_judge([(calls, judge)])

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
        "device=torch.device('cpu')), also at logits near -100 and 100, and send D and G the "
        f"gradients of those equations; {ON_ANOTHER_DEVICE}"
        "; each loss earns half the points",
        functions=NONSATURATING,
    )
    def test_values(self) -> None:
        self.ask_and_judge([
            self.values(self.graded_function, stand_ins(conditional=False)),
            self.extreme_logits(self.graded_function, BASIC_LOGITS, gradients=False),
            self.on_another_device()])

    @graded(
        "2b-1-hidden",
        "the non-saturating losses equal equations 10 and 11 in float64 with "
        "network.Generator and network.Discriminator (4 images 28 x 28)"
        "; each loss earns half the points",
        functions=NONSATURATING,
    )
    def test_real_networks(self) -> None:
        self.ask_and_judge([self.values(self.graded_function, real_networks(conditional=False))])

    @graded(
        "2b-2-hidden",
        "at logits near -1000, -100, 100, 1000 the non-saturating losses are finite, equal the "
        "stable closed form -log sigma(h) = max(-h, 0) + log1p(exp(-|h|)), and send the network "
        "they train finite gradients, those of the closed form"
        "; each loss earns half the points",
        functions=NONSATURATING,
    )
    def test_extreme_logits(self) -> None:
        self.ask_and_judge([self.extreme_logits(self.graded_function)])

    @graded(
        "2b-3-hidden",
        "the non-saturating losses give G z = torch.randn(B, g.dim_z), the first random draw "
        "(their values at that draw), send D (d loss) and G (g loss) the gradients of their "
        "equations, and are batch means (a batch and the batch repeated twice)"
        "; each loss earns half the points",
        functions=NONSATURATING,
    )
    def test_draws_gradients_mean(self) -> None:
        self.check_calls(self.graded_function)


class ConditionalLossTest(GANTestCase):
    """Problem 4b: the conditional non-saturating losses, equations 17-18 and 11."""

    @graded(
        "4b-0-basic",
        "conditional_loss_nonsaturating_d and _g return 0-dim float32 tensors equal to "
        "equation 18 and -E log D(G(z, y), y) computed in float64 for the same z "
        "(stand-in networks, batch of 6), also at logits near -100 and 100, and send D and G "
        f"the gradients of those equations; {ON_ANOTHER_DEVICE}"
        "; each loss earns half the points",
        functions=CONDITIONAL,
    )
    def test_values(self) -> None:
        self.ask_and_judge([
            self.values(self.graded_function, stand_ins(conditional=True)),
            self.extreme_logits(self.graded_function, BASIC_LOGITS, gradients=False),
            self.on_another_device()])

    @graded(
        "4b-1-hidden",
        "the conditional losses equal their equations in float64 with "
        "network.ConditionalGenerator and network.ConditionalDiscriminator "
        "(4 labelled images 28 x 28)"
        "; each loss earns half the points",
        functions=CONDITIONAL,
    )
    def test_real_networks(self) -> None:
        self.ask_and_judge([self.values(self.graded_function, real_networks(conditional=True))])

    @graded(
        "4b-2-hidden",
        "the conditional losses give G z (the first draw) and y_real and score the fakes "
        "G(z, y_real) and the reals with y_real (their values at those), send D (d loss) and "
        "G (g loss) the gradients of their equations, and are batch means"
        "; each loss earns half the points",
        functions=CONDITIONAL,
    )
    def test_labels(self) -> None:
        self.check_calls(self.graded_function)

    @graded(
        "4b-3-hidden",
        "at logits near -1000, -100, 100, 1000 the conditional losses are finite, equal the "
        "stable closed form of -log sigma(h), and send the network they train finite "
        "gradients, those of the closed form"
        "; each loss earns half the points",
        functions=CONDITIONAL,
    )
    def test_extreme_logits(self) -> None:
        self.ask_and_judge([self.extreme_logits(self.graded_function)])


class WassersteinGPLossTest(GANTestCase):
    """Problem 5e: the WGAN-GP losses, equations 24 and 25."""

    @staticmethod
    def linear_critic_case(norm: float) -> Part:
        """The critic loss of a linear critic with ||w|| = ``norm`` and its gradient in w,
        against their closed forms."""
        setup = (LinearGenerator(), linear_critic(norm), torch.randn(GAN_BATCH, *IMAGE_SHAPE))
        expected = linear_critic_expectations(*setup)

        def judge(got: PartAnswers) -> None:
            check_critic_gradient(got["critic"], *expected)

        return {"critic": loss_of("loss_wasserstein_gp_d", (*setup, None),
                                  train={"critic": "d"})}, judge

    @graded(
        "5e-0-basic",
        "loss_wasserstein_gp_d and _g return 0-dim float32 tensors equal to equations 24 "
        "(lambda = 10, z then alpha drawn, the gradient norms by autograd one sample at a "
        "time) and 25 in float64 (stand-in networks, batch of 6), send D and G the gradients of "
        "those equations, and the penalty trains D (a linear critic's gradient in w, "
        f"||w|| = 3); {ON_ANOTHER_DEVICE}"
        "; each loss earns half the points",
        functions=WGAN_GP,
    )
    def test_values(self) -> None:
        name = self.graded_function
        parts = [self.values(name, stand_ins(conditional=False))]
        if name == "loss_wasserstein_gp_d":
            parts.append(self.linear_critic_case(3.0))
        self.ask_and_judge([*parts, self.on_another_device()])

    @graded(
        "5e-1-hidden",
        "the WGAN-GP losses equal equations 24 (penalty from per-sample autograd) and 25 in "
        "float64 with network.Generator and network.Discriminator (4 images 28 x 28)"
        "; each loss earns half the points",
        functions=WGAN_GP,
    )
    def test_real_networks(self) -> None:
        self.ask_and_judge([self.values(self.graded_function, real_networks(conditional=False))])

    @graded(
        "5e-2-hidden",
        "with a linear critic <w, x> + b (||w|| = 0.5, 3) the critic loss is "
        "E<w, G(z) - x> + 10 (||w|| - 1)^2 and its gradient in w is "
        "E[G(z) - x] + 20 (||w|| - 1) w / ||w||, and with the stand-in critic its gradients "
        "in D's hidden layer are those of equation 24: the penalty trains D "
        "(create_graph=True)",
    )
    def test_linear_critic(self) -> None:
        # The stand-in too: a critic whose gradient has no closed form that code could
        # recognise and send back in place of its own.
        self.ask_and_judge([
            *(self.linear_critic_case(norm) for norm in (0.5, 3.0)),
            self.values("loss_wasserstein_gp_d", stand_ins(conditional=False))])

    @graded(
        "5e-3-hidden",
        "the WGAN-GP losses give G z (the first draw) and penalise at alpha G(z) + "
        "(1 - alpha) x with alpha = torch.rand(B, 1, 1, 1) drawn second (their values at "
        "those), send D and G the gradients of their equations, and are batch means (a note, "
        "not graded: whether the critic saw whole batches)"
        "; each loss earns half the points",
        functions=WGAN_GP,
    )
    def test_draws_interpolates_mean(self) -> None:
        self.check_calls(self.graded_function)


if __name__ == "__main__":
    points_file = Path(__file__).resolve().parent / manifest.POINTS
    # written_checks: the numerical checks of the written answers (2a-0-basic ... 5d-0-basic,
    # 0 points), run beside the graded tests.
    graderUtil.main([sys.modules[__name__]], GRADED_NAMES, points_file,
                    checks="judge.written_checks", early=early)
