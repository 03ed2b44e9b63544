"""A fixture: the course's own starter of problem 1, written here from what is known of its
given code, with correct bodies in its blocks.

Its given code differs from ours where it matters to a grader:
- ``MADE.create_masks`` gives hidden unit k the degree ``k % (D - 1)``, so ``MADE(1, ...)``
  raises ZeroDivisionError;
- ``PermuteLayer.forward`` and ``inverse`` return log-dets shaped ``(B, 1)``;
- ``MAF`` has no ``log_prob``: the student's block is ``log_probs`` itself, the batch mean.
Otherwise the contract is ours: ``MaskedLinear(in, out, mask)`` with a ``mask`` buffer,
``MADE.net`` a Sequential of MaskedLinear and ``ReLU(inplace=True)`` layers ending in
``MaskedLinear(hidden, 2 * D, masks[-1].repeat(2, 1))``, ``MAF.nf`` of MADE and PermuteLayer
in turn, a standard normal ``base_dist``, ``sample`` and ``loss`` given. Its ``gan.py`` gives
the line ``z = torch.randn(batch_size, g.dim_z, device=device)`` before each block, as ours.
"""

import textwrap

from judge.course_masks import COURSE_CREATE_MASKS
from tests.submissions import files, reference

FLOW_NETWORK = '''\
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class MaskedLinear(nn.Linear):
    def __init__(self, input_size, output_size, mask):
        super().__init__(input_size, output_size)
        self.register_buffer("mask", mask)

    def forward(self, x):
        return F.linear(x, self.mask * self.weight, self.bias)


class PermuteLayer(nn.Module):
    """Reverses the features."""

    def __init__(self, num_inputs):
        super().__init__()
        self.perm = np.array(np.arange(0, num_inputs)[::-1])

    def forward(self, inputs):
        return inputs[:, self.perm], torch.zeros(inputs.size(0), 1, device=inputs.device)

    def inverse(self, inputs):
        return inputs[:, self.perm], torch.zeros(inputs.size(0), 1, device=inputs.device)


class MADE(nn.Module):
    def __init__(self, input_size, hidden_size, n_hidden):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.n_hidden = n_hidden
        masks = self.create_masks()
        self.net = []
        self.net += [MaskedLinear(self.input_size, self.hidden_size, masks[0])]
        self.net += [nn.ReLU(inplace=True)]
        for i in range(self.n_hidden):
            self.net += [MaskedLinear(self.hidden_size, self.hidden_size, masks[i + 1])]
            self.net += [nn.ReLU(inplace=True)]
        self.net += [MaskedLinear(self.hidden_size, self.input_size * 2,
                                  masks[-1].repeat(2, 1))]
        self.net = nn.Sequential(*self.net)

CREATE_MASKS

    def forward(self, z):
        # START CODE HERE
FORWARD
        # END CODE HERE

    def inverse(self, x):
        # START CODE HERE
INVERSE
        # END CODE HERE


class MAF(nn.Module):
    def __init__(self, input_size, hidden_size, n_hidden, n_flows):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.n_hidden = n_hidden
        self.n_flows = n_flows
        self.base_dist = torch.distributions.normal.Normal(0, 1)
        nf_blocks = []
        for i in range(self.n_flows):
            nf_blocks.append(MADE(self.input_size, self.hidden_size, self.n_hidden))
            nf_blocks.append(PermuteLayer(self.input_size))
        self.nf = nn.Sequential(*nf_blocks)

    def log_probs(self, x):
        # START CODE HERE
LOG_PROBS
        # END CODE HERE

    def loss(self, x):
        return -self.log_probs(x)

    def sample(self, device, n):
        with torch.no_grad():
            x_sample = torch.randn(n, self.input_size).to(device)
            for flow in self.nf[::-1]:
                x_sample, log_det = flow.forward(x_sample)
            x_sample = x_sample.view(n, self.input_size)
            x_sample = x_sample.cpu().data.numpy()
        return x_sample
'''

# Correct bodies, written against that given code (its (B, 1) log-dets included).
BODIES = {
    "FORWARD": """\
x = torch.zeros_like(z)
for i in range(self.input_size):
    mu, alpha = self.net(x).chunk(2, dim=1)
    x[:, i] = mu[:, i] + z[:, i] * torch.exp(alpha[:, i])
log_det = alpha.sum(dim=1)
return x, log_det""",
    "INVERSE": """\
mu, alpha = self.net(x).chunk(2, dim=1)
z = (x - mu) * torch.exp(-alpha)
return z, -alpha.sum(dim=1)""",
    "LOG_PROBS": """\
log_det_sum = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
z = x
for flow in self.nf:
    z, log_det = flow.inverse(z)
    log_det_sum = log_det_sum + log_det.view(-1)
return (self.base_dist.log_prob(z).sum(dim=1) + log_det_sum).mean()""",
}


def course_flow_network(bodies: dict[str, str] = BODIES) -> str:
    """The course starter's flow_network.py with these bodies in its blocks. Its
    ``create_masks`` is the text the judge holds as the course's (judge/course_masks.py),
    the one source of it."""
    source = FLOW_NETWORK.replace("CREATE_MASKS\n", textwrap.indent(COURSE_CREATE_MASKS, "    "))
    for marker, body in bodies.items():
        source = source.replace(f"{marker}\n", "".join(f"        {line}\n"
                                                      for line in body.splitlines()))
    return source


def course_hand_in() -> dict[str, str]:
    """A correct hand-in written into the course's starter (its gan.py's given code is ours)."""
    return files(flow_network=course_flow_network(), gan=reference("gan.py"))
