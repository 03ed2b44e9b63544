"""Data sets of the problem set: 2-D Moons for the flow (Fashion-MNIST follows with the GANs)."""

import numpy as np
import torch
from sklearn.datasets import make_moons
from torch import Tensor

MOONS_SIZES = {"train": 24_000, "val": 3_000, "test": 3_000}


def moons_splits(seed: int) -> dict[str, Tensor]:
    """The problem set's Moons data: ``make_moons(n_samples=30000, noise=0.05)``.

    The points are split 24,000 / 3,000 / 3,000 into ``train``, ``val`` and ``test`` (float32
    tensors of shape ``(N, 2)``) and standardised with the mean and standard deviation of the
    training split alone, so nothing about the held-out points leaks into training.
    """
    points, _ = make_moons(n_samples=sum(MOONS_SIZES.values()), noise=0.05, random_state=seed)
    bounds = np.cumsum(list(MOONS_SIZES.values()))[:-1]
    splits = dict(zip(MOONS_SIZES, np.split(points, bounds)))
    mean, std = splits["train"].mean(axis=0), splits["train"].std(axis=0)
    return {name: torch.from_numpy((x - mean) / std).float() for name, x in splits.items()}
