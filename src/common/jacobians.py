"""Jacobians by autograd, one row of a batch at a time: how the judge computes the flow's
reference log-determinants, and how the sandbox has the student's MADE give its own. Torch
alone."""

from collections.abc import Callable

import torch
from torch import Tensor
from torch.autograd.functional import jacobian


def autograd_jacobians(function: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """Jacobians of a batched map, by autograd one row at a time.

    Args:
        function: a map of a batch (B, D) to a batch (B, K), row by row.
        x: the rows (B, D) to take the Jacobians at.

    Returns:
        The Jacobians (B, K, D).
    """
    return torch.stack([jacobian(lambda row: function(row[None])[0], row) for row in x])
