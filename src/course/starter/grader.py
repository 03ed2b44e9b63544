#!/usr/bin/env python3
"""Basic tests of your code: problem 1 (the Masked Autoregressive Flow) and the GAN losses of
problems 2b, 4b and 5e.

Run from src/:  ``python grader.py`` (every test), ``python grader.py 1a-0-basic`` (one test),
``python grader.py --submission PATH`` (grade another copy of the submission folder).

Each basic test has your classes built with stored weights, calls your code on stored inputs
and compares what it returns with the values stored in ``basic_tests.pt``, which the course
computed at a fixed seed. Each also runs your functions once with their inputs on PyTorch's
meta device (judge/common.py's ON_META), as a GPU would hold them: a tensor your code makes
without device= is on the CPU, which fails there as on a GPU, and the line is named. Your code
runs in another process, the sandbox (sandbox/), never in this one: on Linux a child process
per test, so that a crash, a print or an endless loop fails that test alone. The hidden tests,
listed with their points, run on Gradescope.

``basic_tests.pt`` maps each test id to a list of cases (dicts of tensors and names):
  - a flow case: ``model`` ("MADE" or "MAF"), its constructor ``args`` and ``state``, the
    ``method`` to call on ``input``;
  - a loss case: the ``loss`` to call, the stand-in ``networks`` (of common/stand_ins.py, by
    name) and their ``states``, ``x_real`` and ``y_real`` (None for an unconditional loss);
    the ``z`` that G must be given and, for a conditional loss, the ``fakes`` G(z, y_real); the
    ``logits`` D's are shifted to (None: not shifted); the modules whose gradients must be
    finite and not zero (``train``, or None); for a linear critic, its ``critic_gradient``
    (the loss, the gradient in w, and that gradient without the penalty's part);
  - both: ``what`` (shown where the case fails), ``expected``: the result, a tensor or an
    (output, log_det) pair, whose shape and dtype the result must have, and ``mistakes``:
    what known wrong implementations give, by description, so that a failure can name one
    (a NaN in a value stands for any value; None for a part of a pair: nothing said of it).
"""

if __name__ == "__main__":  # before the imports below: the sandbox imports torch beside them
    from judge import launch

    early = launch.start_sandbox_early()

import json
import sys
from pathlib import Path

import torch

import graderUtil
from course import manifest
from graderUtil import GradedCase, call, graded
from judge.common import (
    CONDITIONAL,
    FLOAT32_TOL,
    GRADED_NAMES,
    MADE_PARTS,
    NONSATURATING,
    ON_ANOTHER_DEVICE,
    SEED,
    WGAN_GP,
    assert_close,
    assert_gradients_reach,
    assert_loss,
    assert_one_device,
    assert_pair_close,
    check_critic_gradient,
    check_finite_loss,
    check_pair,
    check_tensor,
    on_meta_runs,
)
from sandbox.protocol import Recipe

HERE = Path(__file__).resolve().parent
CASES: dict[str, list[dict]] = torch.load(HERE / manifest.BASIC_TESTS_FILE, weights_only=True)
HIDDEN_TESTS: dict[str, str] = json.loads((HERE / manifest.HIDDEN_TESTS_FILE).read_text())


def flow_call(case: dict) -> tuple[str, dict]:
    """The sandbox's call of a flow case: its MADE or MAF, built with the stored weights,
    called on its input."""
    arguments = dict(args=case["args"], state=case["state"])
    if case["model"] == "MADE":
        return call(Recipe.MADE_CALL, method=case["method"], inputs=[case["input"]], **arguments)
    return call(Recipe.MAF_CALL, methods=[case["method"]], x=case["input"], **arguments)


def loss_case_call(case: dict) -> tuple[str, dict]:
    """The sandbox's call of a loss case: the loss on the stand-in networks with the stored
    weights."""
    g, d = ({"type": name, "state": state}
            for name, state in zip(case["networks"], case["states"]))
    return call(Recipe.LOSS_CALL, name=case["loss"], g=g, d=d, x_real=case["x_real"],
                y_real=case["y_real"], seed=SEED, record=True, train=case["train"])


def judge_flow(case: dict, answer: list) -> None:
    """Checks the result in the sandbox's answer to ``flow_call(case)`` against the case's
    expected value: its type, shape, dtype and values."""
    expected, what, mistakes = case["expected"], case["what"], case["mistakes"]
    if case["model"] == "MADE":
        batch, dim = expected[0].shape
        result = check_pair(answer[0]["result"], what, batch, dim, expected[0].dtype)
        assert_pair_close(result, expected, MADE_PARTS[case["method"]], FLOAT32_TOL,
                          mistakes)
    else:
        result = check_tensor(answer[0], what, tuple(expected.shape), expected.dtype)
        assert_close(result, expected, what, FLOAT32_TOL, mistakes, len(case["input"]))


def judge_loss(case: dict, answer: dict) -> None:
    """Checks the loss in the sandbox's answer to ``loss_case_call(case)``: its value (finite
    where D's logits are large) and the gradients it sends."""
    if "critic_gradient" in case:
        check_critic_gradient(answer, *case["critic_gradient"])
        return
    if case["logits"] is not None:
        check_finite_loss(answer["loss"], case["loss"], case["logits"])
    assert_loss(answer, case["loss"], case["expected"], case["mistakes"], case["z"],
                case["x_real"], case["y_real"], case["fakes"])
    if case["train"]:
        assert_gradients_reach(answer["gradients"])


class BasicTest(GradedCase):
    def check(self, kind: str) -> None:
        """Every case of this basic test (``kind``: "flow" or "loss") made by the sandbox, its
        result judged here, then the runs of its functions with their inputs on another device
        (ON_META); of a test of several losses, those of the loss this run judges (each loss
        earns its share of the points alone)."""
        judged = self.graded_function
        cases = [case for case in CASES[self.test_id] if judged is None or case["loss"] == judged]
        runs = on_meta_runs(self.test_id, judged)
        make, judge = (flow_call, judge_flow) if kind == "flow" else (loss_case_call, judge_loss)
        got = self.ask({**{("case", index): make(case) for index, case in enumerate(cases)},
                        **{("on another device", what): run for what, run in runs}})
        for index, case in enumerate(cases):
            with self.subTest(case=case["what"]):
                judge(case, got["case", index])
        for what, _ in runs:
            assert_one_device(got["on another device", what], what)

    @graded(
        "1a-0-basic",
        "MADE.forward returns a tuple (x, log_det) of float32 tensors shaped (B, D), (B,) with "
        f"the values of the solution (D = 2, 4); {ON_ANOTHER_DEVICE}",
    )
    def test_forward(self) -> None:
        self.check("flow")

    @graded(
        "1b-0-basic",
        "MADE.inverse returns a tuple (z, log_det) of float32 tensors shaped (B, D), (B,) with "
        f"the values of the solution (D = 2, 4); {ON_ANOTHER_DEVICE}",
    )
    def test_inverse(self) -> None:
        self.check("flow")

    @graded(
        "1c-0-basic",
        "MAF.log_probs returns a 0-dim float32 tensor with the value of the solution "
        f"(a 2-D MAF of 3 MADE blocks); {ON_ANOTHER_DEVICE}",
    )
    def test_log_probs(self) -> None:
        self.check("flow")

    @graded(
        "2b-0-basic",
        "loss_nonsaturating_d and loss_nonsaturating_g return 0-dim float32 tensors with the "
        "values of equations 10 and 11 (stand-in networks, batch of 6), also at logits near "
        f"-100 and 100, and train D and G; {ON_ANOTHER_DEVICE}"
        "; each loss earns half the points",
        functions=NONSATURATING,
    )
    def test_nonsaturating_losses(self) -> None:
        self.check("loss")

    @graded(
        "4b-0-basic",
        "conditional_loss_nonsaturating_d and _g return 0-dim float32 tensors with the values "
        "of equation 18 and -E log D(G(z, y), y) (stand-in networks, batch of 6), also at "
        f"logits near -100 and 100, and train D and G; {ON_ANOTHER_DEVICE}"
        "; each loss earns half the points",
        functions=CONDITIONAL,
    )
    def test_conditional_losses(self) -> None:
        self.check("loss")

    @graded(
        "5e-0-basic",
        "loss_wasserstein_gp_d and _g return 0-dim float32 tensors with the values of "
        "equations 24 (lambda = 10) and 25 (stand-in networks, batch of 6), train D and G, "
        f"and the penalty trains D (a linear critic's gradient in w); {ON_ANOTHER_DEVICE}"
        "; each loss earns half the points",
        functions=WGAN_GP,
    )
    def test_wasserstein_gp_losses(self) -> None:
        self.check("loss")


if __name__ == "__main__":
    graderUtil.main([sys.modules[__name__]], GRADED_NAMES, HERE / manifest.POINTS,
                    elsewhere=HIDDEN_TESTS, early=early)
