"""What the two judges of the problem set share: the graded names, the checks that fail with
a one-line message, how a network under test is described to the sandbox, and the run of each
graded function on the meta device that its basic test makes.

``grader.py`` judges against values it computes itself; the students' grader of the release
(``make release``) judges its basic tests against values stored in ``basic_tests.pt``. Both
have the sandbox make the same calls (``sandbox/calls.py``) on inputs they send.
"""

from collections.abc import Mapping

import torch
from torch import Tensor, nn

from judge.answers import type_name
from judge.run import call
from sandbox.protocol import Recipe

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


# How the messages name the parts of what MADE.forward and MADE.inverse return. The problem
# set's equation 3 gives only the inverse's log-det; the forward's sign is this starter's
# documented contract, so its message says it.
LOG_DET = {"forward": "log_det (the contract: log|det dx/dz| = +sum(alpha))",
           "inverse": "log_det"}
MADE_PARTS = {"forward": f"x, {LOG_DET['forward']}", "inverse": f"z, {LOG_DET['inverse']}"}


def network_spec(network: nn.Module) -> dict[str, object]:
    """A network of the judge as the sandbox rebuilds it (sandbox.calls.loss_call): the
    name of its class and its state. The state's tensors share the network's storage, so that
    a request naming a network in several calls carries its weights once."""
    return {"type": type(network).__name__, "state": network.state_dict()}


# ----------------------------------------------------------------------------------------
# Checks that fail with a one-line message


# A dtype a result must have, or several it may have
DTypes = torch.dtype | tuple[torch.dtype, ...]


def check_tensor(value: object, what: str, shape: tuple[int, ...], dtype: DTypes) -> Tensor:
    """``value`` itself, after checking that it is a tensor of this shape and dtype (one of
    ``dtype``, where it is a tuple)."""
    if not isinstance(value, Tensor):
        raise AssertionError(
            f"{what} should be a torch.Tensor, got {type_name(value)}")
    if tuple(value.shape) != shape:
        raise AssertionError(f"{what} should have shape {shape}, got {tuple(value.shape)}")
    dtypes = dtype if isinstance(dtype, tuple) else (dtype,)
    if value.dtype not in dtypes:
        raise AssertionError(f"{what} should have dtype {' or '.join(map(str, dtypes))}, got "
                             f"{value.dtype}")
    return value


def check_pair(
    result: object, what: str, batch: int, dim: int, dtype: DTypes
) -> tuple[Tensor, Tensor]:
    """Checks that ``result`` is a tuple (values (batch, dim), log_det (batch,)) of tensors
    of ``dtype`` (check_tensor)."""
    if not (isinstance(result, tuple) and len(result) == 2):
        got = type_name(result)
        if isinstance(result, tuple):
            got = f"a tuple of {len(result)}"
        raise AssertionError(f"{what} should return a tuple of two tensors, got {got}")
    values = check_tensor(result[0], f"{what}[0]", (batch, dim), dtype)
    log_det = check_tensor(result[1], f"{what}[1] (log_det)", (batch,), dtype)
    return values, log_det


# What known wrong implementations give on a test's inputs (description: value), computed
# whatever the verdict: the judge's work must not tell a later child how a test went. A NaN
# in a value stands for any value there (a last dimension left unfilled holds anything).
Mistakes = Mapping[str, Tensor] | None


class Mismatch(AssertionError):
    """A failed assert_close; ``mistake``: the known mistake it names, or None."""

    def __init__(self, message: str, mistake: str | None = None) -> None:
        super().__init__(message)
        self.mistake = mistake


def assert_close(actual: Tensor, expected: Tensor, what: str, tol: float,
                 mistakes: Mistakes = None, batch: int | None = None) -> None:
    """Passes where ``|actual - expected| <= tol * (1 + |expected|)`` everywhere; raises
    Mismatch otherwise.

    A failure shows a few entries against the expected ones (rows of a matrix as rows, see
    shown_rows) and names the likely mistake:
    one of ``mistakes`` that ``actual`` equals, else a constant ratio (see ``ratio_hint``;
    ``batch``: the size of the batch that ``expected`` is a mean or a sum over, if it is one).
    """
    actual, expected = torch.as_tensor(actual).detach(), torch.as_tensor(expected).detach()
    if actual.shape != expected.shape:
        raise Mismatch(
            f"{what} should have shape {tuple(expected.shape)}, got {tuple(actual.shape)}"
        )
    if not torch.isfinite(actual).all():
        raise Mismatch(f"{what} contains NaN or inf: {entries(actual)}")
    if is_close(actual, expected, tol):
        return
    error = (actual.double() - expected.double()).abs().max().item()
    rows = shown_rows(actual, expected, tol) if actual.dim() == 2 else []
    got = (f"the rows below{wrong_columns(actual, expected, tol)}" if rows
           else f"{entries(actual)}, expected {entries(expected)}")
    message = f"{what} is wrong: got {got} (off by up to {error:.3g}; tolerance {tol:g})"
    known = matching_mistake(actual, mistakes or {}, tol)
    hint = f"this is what {known} gives" if known else ratio_hint(actual, expected, tol, batch)
    raise Mismatch("\n".join([f"{message}: {hint}" if hint else message, *rows]), known)


def matching_mistake(actual: Tensor, mistakes: Mapping[str, Tensor], tol: float) -> str | None:
    """The description of the first of ``mistakes`` whose value ``actual`` equals (where the
    value is not NaN), or None."""
    for description, value in mistakes.items():
        known = ~torch.isnan(value)
        if tuple(value.shape) == tuple(actual.shape) and is_close(actual[known], value[known],
                                                                  tol):
            return description
    return None


def is_close(actual: Tensor, expected: Tensor, tol: float) -> bool:
    """Whether every entry of ``actual`` is close to ``expected`` (is_close_each)."""
    return bool(is_close_each(actual, expected, tol).all())


def is_close_each(actual: Tensor, expected: Tensor, tol: float) -> Tensor:
    """Whether each entry of ``actual`` is within ``tol * (1 + |expected|)`` of ``expected``."""
    error = (actual.double() - expected.double()).abs()
    return error <= tol * (1 + expected.double().abs())


def entries(values: Tensor, count: int = 3) -> str:
    """The first ``count`` entries of ``values``, for a message: ``0.6931`` or
    ``[0.1, -2.3, 4.05, ...]``."""
    flat = values.detach().double().flatten()
    shown = ", ".join(f"{value:.4g}" for value in flat[:count].tolist())
    return shown if values.dim() == 0 else f"[{shown}{', ...' if len(flat) > count else ''}]"


def shown_rows(actual: Tensor, expected: Tensor, tol: float, count: int = 3) -> list[str]:
    """The first ``count`` rows of a matrix that differ from the expected ones, a line each:
    ``  row 0: got [...], expected [...]``."""
    wrong = ~(is_close_each(actual, expected, tol).all(dim=1))
    return [f"  row {row}: got {entries(actual[row], 6)}, expected {entries(expected[row], 6)}"
            for row in wrong.nonzero().flatten()[:count].tolist()]


def wrong_columns(actual: Tensor, expected: Tensor, tol: float) -> str:
    """``, wrong in column 3 alone`` where some columns of a matrix are right throughout and
    others not; else ""."""
    wrong = (~is_close_each(actual, expected, tol).all(dim=0)).nonzero().flatten().tolist()
    if not 0 < len(wrong) < actual.shape[1]:
        return ""
    return f", wrong in column{'s' * (len(wrong) > 1)} {', '.join(map(str, wrong))} alone"


def ratio_hint(actual: Tensor, expected: Tensor, tol: float, batch: int | None = None) -> str:
    """What a constant ratio ``actual / expected`` says, or "": the negated value, or the
    ``batch`` size or its inverse (a sum over the batch instead of a mean, or the reverse).
    Other ratios say nothing (for a scalar, any two values have one)."""
    actual, expected = actual.double().flatten(), expected.double().flatten()
    if not (expected.abs() > 1e-6).all():
        return ""
    ratio = (actual / expected)
    k = ratio.median().item()
    if not is_close(actual, k * expected, tol) or abs(k) < 1e-6:
        return ""
    if abs(k + 1) < 1e-3:
        return "it is the negated value: check the sign"
    if batch is not None and batch > 1 and abs(abs(k if k >= 1 else 1 / k) - batch) < 1e-3:
        where = ("a sum where a mean is asked for" if k > 1
                 else "a mean where a sum is asked for")
        return f"it is {k:.4g} times the expected value: {where} (over the batch of {batch})?"
    return ""


def assert_pair_close(
    actual: tuple[Tensor, Tensor], expected: tuple[Tensor, Tensor], names: str, tol: float,
    mistakes: Mapping[str, tuple[Tensor | None, Tensor | None]] | None = None
) -> None:
    """assert_close for both parts of an (output, log_det) pair; ``names`` like "x, log_det";
    ``mistakes``: known wrong pairs, by description (None: a part this mistake says nothing
    of)."""
    for part, (value, reference, name) in enumerate(zip(actual, expected, names.split(", "))):
        known = {description: pair[part] for description, pair in (mistakes or {}).items()
                 if pair[part] is not None}
        assert_close(value, reference, name, tol, known)


def check_loss(value: object, name: str) -> Tensor:
    """A loss sent back by the sandbox, checked to be a 0-dim float32 tensor."""
    return check_tensor(value, f"{name}(...)", (), torch.float32)


# Why a loss, or its gradient, is infinite where D's logits are large
OVERFLOW = ("log(sigmoid(h)) and log(1 - sigmoid(h)) written out overflow there (sigmoid(h) "
            "rounds to 0 or 1); write them as F.logsigmoid(h) and F.logsigmoid(-h)")


def check_finite_loss(value: object, name: str, logits: float) -> Tensor:
    """A loss computed with D's logits near ``logits``, checked to be finite (check_loss)."""
    loss = check_loss(value, name)
    if not torch.isfinite(loss):
        raise AssertionError(f"{name} is {loss.item()} at logits near {logits:+g}: {OVERFLOW}")
    return loss


# ----------------------------------------------------------------------------------------
# Checks of what the sandbox recorded (sandbox.calls.recording, sandbox.calls.gradients)


def check_records(value: object, what: str) -> list[list[Tensor | None]]:
    """A record of calls (sandbox.calls.recording) checked to be a list of argument lists of
    tensors (None for an argument that is not one)."""
    if not (isinstance(value, list) and all(
            isinstance(args, list) and all(arg is None or isinstance(arg, Tensor) for arg in args)
            for args in value)):
        raise AssertionError(f"the record of {what}'s calls is not a list of tensors")
    return value


def check_gradients(sent: object) -> dict[str, Tensor | None]:
    """The gradients sent back (sandbox.calls.gradients), checked to be tensors or None."""
    if not (isinstance(sent, dict) and isinstance(sent.get("requires_grad"), bool)
            and isinstance(sent.get("grads"), dict)
            and all(grad is None or isinstance(grad, Tensor) for grad in sent["grads"].values())):
        raise AssertionError("the record of the gradients is not a dict of tensors")
    if not sent["requires_grad"]:
        raise AssertionError("the result does not require grad: it cannot be trained")
    return sent["grads"]


GRADIENT_TOL = 1e-4  # a float32 gradient against the judge's float64 one
# Why a gradient is missing
NOT_TRAINED = ("the loss does not train it (is its input detached, e.g. g(z).detach(), or made "
               "under no_grad?)")
# How a critic loss whose penalty sends D no gradient is named
NO_PENALTY_GRADIENT = ("a penalty whose gradient never reaches the critic (it needs "
                       "torch.autograd.grad(..., create_graph=True), on x_hat not detached "
                       "from d)")


def assert_gradients(sent: object, expected: Mapping[str, Tensor],
                     mistakes: Mapping[str, Mapping[str, Tensor]] | None = None) -> None:
    """Checks the gradients sent back (sandbox.calls.gradients) against ``expected``, those
    the judge computed for the same loss, draws and weights (parameter name: gradient): to
    forge them is the work of computing them. ``mistakes``: the gradients of known wrong
    versions, by description. Gradients of other parameters are not judged."""
    grads = check_gradients(sent)
    for name, reference in expected.items():
        grad = grads.get(name)
        if grad is None:
            if not reference.any():
                continue
            raise AssertionError(f"no gradient reaches parameter {name}: {NOT_TRAINED}")
        grad = check_tensor(grad, f"the gradient of {name}", tuple(reference.shape),
                            torch.float32)
        known = {description: wrong[name] for description, wrong in (mistakes or {}).items()}
        assert_close(grad, reference, f"the gradient of {name}", GRADIENT_TOL, known)


def assert_gradients_reach(sent: object) -> None:
    """Checks that the loss behind ``sent`` back-propagated finite, not all zero gradients to
    every parameter."""
    for name, grad in check_gradients(sent).items():
        if grad is None or not torch.isfinite(grad).all() or not grad.any():
            raise AssertionError(
                f"no finite, non-zero gradient reaches parameter {name}: {NOT_TRAINED}")


def assert_finite_gradients(sent: object) -> None:
    """Checks that the loss behind ``sent`` back-propagated finite gradients."""
    for name, grad in check_gradients(sent).items():
        if grad is not None and not torch.isfinite(grad).all():
            raise AssertionError(f"the gradient of parameter {name} is not finite")


def check_critic_gradient(answer: dict, loss: Tensor, grad: Tensor,
                          grad_without_penalty: Tensor) -> None:
    """The critic loss of a linear critic d(x) = <w, x> + b and its gradient in w, sent back
    by the sandbox (``train={"critic": "d"}``), against their closed forms."""
    value = check_loss(answer["loss"], "loss_wasserstein_gp_d")
    assert_close(value, loss, "the critic loss", FLOAT32_TOL)
    sent = check_gradients(answer["gradients"]).get("critic.linear.weight")
    if sent is None:
        raise AssertionError("no gradient reaches the critic's weight w")
    sent = check_tensor(sent, "the gradient in w", (1, len(grad)), torch.float32)
    assert_close(sent[0], grad, "the gradient in w", FLOAT32_TOL,
                 {NO_PENALTY_GRADIENT: grad_without_penalty})


# ----------------------------------------------------------------------------------------
# The GAN losses: what each must train, and what G and D must be given


def trained_layer(name: str) -> dict[str, str]:
    """The stand-in layer that the loss ``name`` must train, named for the messages: G's linear
    map for a G loss, D's hidden layer for a D loss (not its output bias, which cancels out of
    equation 24)."""
    return {"D_hidden": "d.hidden"} if name.endswith("_d") else {"G": "g.linear"}


def assert_generator_inputs(calls: object, z: Tensor, y_real: Tensor | None) -> None:
    """Checks that G was called, each time on ``z``, the loss's first draw after seeding, and
    on the real labels if ``y_real`` is given."""
    calls = check_records(calls, "G")
    batch = len(z)
    if not calls:
        raise AssertionError("the generator was never called")
    for args in calls:
        if not (args and args[0] is not None and torch.equal(args[0], z)):
            shape = tuple(args[0].shape) if args and args[0] is not None else None
            raise AssertionError(
                f"G should receive z = torch.randn({batch}, g.dim_z), the loss's first random "
                f"draw; it got a tensor of shape {shape} with other values"
            )
        if y_real is not None and not (len(args) == 2 and args[1] is not None
                                       and torch.equal(args[1], y_real)):
            given = args[1].tolist() if len(args) == 2 and args[1] is not None else None
            fewer = given and len(set(given)) < len(set(y_real.tolist()))
            classes = f" (classes {sorted(set(given))} only)" if fewer else ""
            raise AssertionError(
                f"G was given the labels {given}{classes}, not the real labels y_real = "
                f"{y_real.tolist()}: generate each fake for its real label, g(z, y_real), and "
                "score it with the same label")


def assert_scored(calls: object, images: Tensor, what: str, labels: Tensor | None = None) -> None:
    """Checks that D was given every one of ``images`` (with its own label, if given)."""
    calls = check_records(calls, "D")
    if not calls:
        raise AssertionError("the discriminator was never called")
    if labels is not None and any(len(args) != 2 or None in args for args in calls):
        raise AssertionError("the conditional discriminator should be called as d(x, y)")
    shape = tuple(images.shape[1:])
    if any(not args or args[0] is None or tuple(args[0].shape[1:]) != shape for args in calls):
        raise AssertionError(f"D should be given batches of images shaped (B, {shape})")
    inputs = torch.cat([args[0].flatten(1).double() for args in calls])
    # found[n, i]: input n of all D's calls is image i
    found = torch.isclose(inputs[:, None], images.flatten(1)[None].double(), rtol=1e-5,
                          atol=1e-5).all(2)
    for i in range(len(images)):
        if not found[:, i].any():
            raise AssertionError(f"D was never given {what} (sample {i})")
        if labels is not None:
            given = torch.cat([args[1].flatten() for args in calls])
            if len(given) != len(inputs):
                raise AssertionError("D should be given one label per image")
            given = given[found[:, i]]
            if not (given == labels[i]).all():
                raise AssertionError(
                    f"D scored {what} (sample {i}) with label(s) {given.tolist()}, "
                    f"not y_real[{i}] = {labels[i].item()}: score each image with the label "
                    "it was made for, d(x, y_real)"
                )


def assert_labels(name: str, calls: object, fakes: Tensor, x_real: Tensor, y_real: Tensor
                  ) -> None:
    """Checks that D scored the ``fakes`` G(z, y_real), and for a D loss the reals, with
    y_real."""
    assert_scored(calls, fakes, "the fake G(z, y_real)", y_real)
    if name.endswith("_d"):
        assert_scored(calls, x_real, "the real image", y_real)


def assert_loss(answer: dict, name: str, expected: Tensor, mistakes: Mistakes,
                z: Tensor, x_real: Tensor, y_real: Tensor | None, fakes: Tensor | None) -> None:
    """Checks the loss in ``answer`` (sandbox.calls.loss_call with ``record=True``) against
    ``expected``. Where it differs and matches none of ``mistakes``, what G and D were given
    may say why (G should get ``z``, the loss's first draw; for a conditional loss, y_real,
    and D should score the ``fakes`` G(z, y_real) with it): a record names a failure, it never
    passes a test."""
    loss = check_loss(answer["loss"], name)
    try:
        assert_close(loss, expected, name, FLOAT32_TOL, mistakes, len(x_real))
    except Mismatch as error:
        if error.mistake is None:
            assert_generator_inputs(answer["g_calls"], z, y_real)
            if y_real is not None:
                assert_labels(name, answer["d_calls"], fakes, x_real, y_real)
        raise


# ----------------------------------------------------------------------------------------
# Every graded function on another device (sandbox.calls.mixed_devices): a part of its basic
# test. Only the sandbox sees how the code ran there; its report can fail the test, as an
# error of the code can, and nothing else rests on it.

ON_META_BATCH = 6
# By basic test: what each run is called in the messages, and its call
ON_META = {
    "1a-0-basic": [("MADE.forward", call(Recipe.MADE_ON_META, args=(2, HIDDEN_SIZE, 1),
                                         method="forward", batch=ON_META_BATCH))],
    "1b-0-basic": [("MADE.inverse", call(Recipe.MADE_ON_META, args=(2, HIDDEN_SIZE, 1),
                                         method="inverse", batch=ON_META_BATCH))],
    "1c-0-basic": [("MAF.log_probs", call(Recipe.MAF_ON_META, args=(2, HIDDEN_SIZE, 1, 3),
                                          batch=ON_META_BATCH))],
    **{test_id: [(name, call(Recipe.LOSS_ON_META, name=name, g=g, d=d, batch=ON_META_BATCH))
                 for name in names]
       for test_id, names, g, d in (
           ("2b-0-basic", NONSATURATING, "LinearGenerator", "TinyDiscriminator"),
           ("4b-0-basic", CONDITIONAL, "LinearConditionalGenerator",
            "TinyConditionalDiscriminator"),
           ("5e-0-basic", WGAN_GP, "LinearGenerator", "TinyDiscriminator"))},
}


def on_meta_runs(test_id: str, function: str | None = None) -> list[tuple[str, tuple]]:
    """The runs of ON_META of the basic test ``test_id``: all of them, or those of
    ``function`` where a run of the test judges one of its functions."""
    return [run for run in ON_META[test_id] if function in (None, run[0])]
# What the basic tests' descriptions say of it
ON_ANOTHER_DEVICE = ("with the inputs on another device (PyTorch's meta device, as on a GPU) no "
                     "tensor is made on the CPU")


def assert_one_device(found: object, what: str) -> None:
    """Fails where the run of ``what`` on the meta device (an answer to an ON_META call) met a
    tensor made on the CPU, naming the line."""
    if found is None:
        return
    keys = {"error": str, "file": str, "line": int, "function": str, "code": str}
    if not (isinstance(found, dict) and set(found) == set(keys)
            and all(type(found[key]) is kind for key, kind in keys.items())):
        raise AssertionError(f"the record of {what}'s run on another device is not a report")
    where = (f"{found['file']}, line {found['line']}, in {found['function']}: "
             f"`{found['code']}`" if found["file"] else "a line outside your files")
    raise AssertionError(
        f"{what} mixes devices: run with its inputs on another device (PyTorch's meta device, "
        f"as on a GPU with --device gpu), it fails at {where} ({found['error']}). A tensor "
        "made without device= is on the CPU: make each new tensor where the inputs are, "
        "torch.zeros(B, device=x.device), x.new_zeros(B), torch.zeros_like(x), or in a loss "
        "device=device")
