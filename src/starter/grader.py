#!/usr/bin/env python3
"""Basic tests of your code: problem 1 (the Masked Autoregressive Flow) and the GAN losses of
problems 2b, 4b and 5e.

Run from src/:  ``python grader.py`` (every test), ``python grader.py 1a-0-basic`` (one test),
``python grader.py --submission PATH`` (grade another copy of the submission folder).

Each basic test rebuilds models from stored weights, calls your code on stored inputs and
compares what it returns with the values stored in ``basic_tests.pt``, which the course
computed at a fixed seed. Your code runs in a child process (on Linux), so that a crash, a
print or an endless loop fails that test alone. The hidden tests, listed with their points,
run on Gradescope.

``basic_tests.pt`` maps each test id to a list of cases (dicts of tensors and names):
  - a flow case: ``model`` ("MADE" or "MAF"), its constructor ``args`` and ``state``, the
    ``method`` to call on ``input``;
  - a loss case: the ``loss`` to call, the stand-in ``networks`` of grader_common (names) and
    their ``states``, ``x_real`` and ``y_real`` (None for an unconditional loss);
  - both: ``what`` (shown where the case fails) and ``expected``: the result, a tensor or an
    (output, log_det) pair, whose shape and dtype the result must have.
"""

import json
import sys
import unittest
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import torch

import grader_common
import graderUtil
from grader_common import (FLOAT32_TOL, SUBMISSION, assert_close, assert_pair_close, call_loss,
                           check_pair, check_tensor)
from graderUtil import graded

HERE = Path(__file__).resolve().parent
CASES: dict[str, list[dict]] = torch.load(HERE / "basic_tests.pt", weights_only=True)
HIDDEN_TESTS: dict[str, str] = json.loads((HERE / "hidden_tests.json").read_text())


def flow_call(flow_network: ModuleType, case: dict) -> object:
    """(In the child) the case's MADE or MAF, built with the stored weights, called on its
    input."""
    model = getattr(flow_network, case["model"])(*case["args"])
    model.load_state_dict(case["state"])
    return getattr(model, case["method"])(case["input"])


def loss_call(gan: ModuleType, case: dict) -> object:
    """(In the child) the case's loss on the stand-in networks with the stored weights."""
    g, d = (getattr(grader_common, name)() for name in case["networks"])
    for network, state in zip((g, d), case["states"]):
        network.load_state_dict(state)
    return call_loss(gan, case["loss"], g, d, case["x_real"], case["y_real"])


def judge(result: object, case: dict) -> None:
    """Checks ``result`` against the case's expected value: its type, shape, dtype and values."""
    expected, what = case["expected"], case["what"]
    if isinstance(expected, tuple):
        batch, dim = expected[0].shape
        result = check_pair(result, what, batch, dim, expected[0].dtype)
        assert_pair_close(result, expected, "output, log_det", FLOAT32_TOL)
    else:
        result = check_tensor(result, what, tuple(expected.shape), expected.dtype)
        assert_close(result, expected, what, FLOAT32_TOL)


class BasicTest(unittest.TestCase):
    def check(
        self, test_id: str, module: str, call: Callable[[ModuleType, dict], object]
    ) -> None:
        """Every case of ``test_id``: ``call(<submission module>, case)`` in a child process,
        its result judged here."""
        cases = CASES[test_id]
        got = graderUtil.collect(
            lambda: (call(SUBMISSION.load(module), case) for case in cases)
        )
        for index, case in enumerate(cases):
            with self.subTest(case=case["what"]):
                judge(got[index], case)

    @graded(
        "1a-0-basic",
        "MADE.forward returns a tuple (x, log_det) of float32 tensors shaped (B, D), (B,) with "
        "the values of the solution (D = 2, 4)",
    )
    def test_forward(self) -> None:
        self.check("1a-0-basic", "flow_network", flow_call)

    @graded(
        "1b-0-basic",
        "MADE.inverse returns a tuple (z, log_det) of float32 tensors shaped (B, D), (B,) with "
        "the values of the solution (D = 2, 4)",
    )
    def test_inverse(self) -> None:
        self.check("1b-0-basic", "flow_network", flow_call)

    @graded(
        "1c-0-basic",
        "MAF.log_probs returns a 0-dim float32 tensor with the value of the solution "
        "(a 2-D MAF of 3 MADE blocks)",
    )
    def test_log_probs(self) -> None:
        self.check("1c-0-basic", "flow_network", flow_call)

    @graded(
        "2b-0-basic",
        "loss_nonsaturating_d and loss_nonsaturating_g return 0-dim float32 tensors with the "
        "values of equations 10 and 11 (stand-in networks, batch of 6)",
    )
    def test_nonsaturating_losses(self) -> None:
        self.check("2b-0-basic", "gan", loss_call)

    @graded(
        "4b-0-basic",
        "conditional_loss_nonsaturating_d and _g return 0-dim float32 tensors with the values "
        "of equation 18 and -E log D(G(z, y), y) (stand-in networks, batch of 6)",
    )
    def test_conditional_losses(self) -> None:
        self.check("4b-0-basic", "gan", loss_call)

    @graded(
        "5e-0-basic",
        "loss_wasserstein_gp_d and _g return 0-dim float32 tensors with the values of "
        "equations 24 (lambda = 10) and 25 (stand-in networks, batch of 6)",
    )
    def test_wasserstein_gp_losses(self) -> None:
        self.check("5e-0-basic", "gan", loss_call)


if __name__ == "__main__":
    graderUtil.main([sys.modules[__name__]], SUBMISSION, HERE / "points.json",
                    elsewhere=HIDDEN_TESTS)
