"""The judge's reference computations of the flow (problem 1): the weights and masks of every
MADE and MAF the tests build, and the values the graded methods must give on them, computed
here from the masked network those weights define (never from the student's code).

Only the full grader imports this module: it is in the Gradescope bundle, never in the
students' copy (course/manifest.py's JUDGE_ONLY).
"""

import operator
from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.distributions import Normal

from judge.common import HIDDEN_SIZE


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


def flow_gradients(state: dict[str, Tensor], loss: Callable[[dict[str, Net]], Tensor]
                   ) -> dict[str, Tensor]:
    """The gradient in every weight and bias of ``state`` (laid out as made_weights lays it
    out) of ``loss(nets)``, where ``nets`` holds the Net of each MADE by its key's prefix
    ("", "nf.0.", ...), in float64: what sandbox.calls.gradients must send back for the
    student's model with this state."""
    leaves = {key: value.detach().double().requires_grad_(not key.endswith(".mask"))
              for key, value in state.items()}
    layers: dict[str, list] = {}
    for key in leaves:
        if key.endswith(".weight"):
            base = key.removesuffix("weight")
            layers.setdefault(key[:key.rindex("net.")], []).append(
                (leaves[key], leaves[base + "bias"], leaves[base + "mask"]))
    trained = [key for key in leaves if not key.endswith(".mask")]
    grads = torch.autograd.grad(loss({prefix: Net(each) for prefix, each in layers.items()}),
                                [leaves[key] for key in trained], allow_unused=True)
    return {key: torch.zeros_like(leaves[key]) if grad is None else grad
            for key, grad in zip(trained, grads)}


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
    """log|det J| of each of a batch of Jacobians (B, D, D)."""
    return torch.linalg.slogdet(jacobians).logabsdet
