"""A small CNN classifier of Fashion-MNIST: the feature space of ``evaluate.py``'s FD-FMNIST.

    python evaluate.py --train-classifier     # trains it, writes fmnist_classifier.pt and .json

The weights are stored in float16 (half the size; the rounding is measured: the accuracy in
``fmnist_classifier.json`` is that of the stored weights) and read with
``torch.load(weights_only=True)``.
"""

import hashlib
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn
from tqdm import tqdm

from training.data import shuffled_batches
from training.utils import UserError, load_checkpoint, save_checkpoint

WEIGHTS = Path(__file__).resolve().parent / "fmnist_classifier.pt"
FEATURES = 128  # size of the penultimate layer, the space of FD-FMNIST
EPOCHS = 8
BATCH_SIZE = 128
LR = 3e-3
WEIGHT_DECAY = 5e-4
EVAL_BATCH = 1000  # images per forward pass when classifying: bounds the memory


def _conv(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]


class FashionClassifier(nn.Module):
    """Images ``(B, 1, 28, 28)`` in [-1, 1] -> logits ``(B, 10)``.

    Three 3 x 3 convolutions with batch norm, each followed by 2 x 2 max pooling (28 -> 14
    -> 7 -> 3 pixels), a dense layer to ``FEATURES`` numbers (``embed``, the features of
    FD-FMNIST), and a linear layer to the classes. Small on purpose: an epoch takes about half
    a minute on 2 CPU cores.
    """

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Sequential(
            *_conv(1, 24), nn.MaxPool2d(2),  # (24, 14, 14)
            *_conv(24, 48), nn.MaxPool2d(2),  # (48, 7, 7)
            *_conv(48, 96), nn.MaxPool2d(2),  # (96, 3, 3)
            nn.Flatten(), nn.Linear(96 * 3 * 3, FEATURES), nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(FEATURES, 10))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.embed(x))


def train_classifier(images: Tensor, labels: Tensor, seed: int,
                     device: torch.device) -> FashionClassifier:
    """Trains a fresh classifier on ``images`` ``(N, 1, 28, 28)`` and ``labels`` ``(N,)``.

    AdamW with a one-cycle schedule (warm-up, then cosine annealing to ~0) for ``EPOCHS``
    epochs of ``BATCH_SIZE``; ``seed`` fixes the weights, the dropout and the batch order.
    """
    torch.manual_seed(seed)
    model = FashionClassifier().to(device)
    steps_per_epoch = len(images) // BATCH_SIZE
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, LR,
                                                    total_steps=EPOCHS * steps_per_epoch)
    order = torch.Generator().manual_seed(seed)
    model.train()
    for epoch in range(1, EPOCHS + 1):
        batches = shuffled_batches(images, labels, BATCH_SIZE, generator=order)
        progress = tqdm(batches, total=steps_per_epoch, desc=f"classifier epoch {epoch}/{EPOCHS}",
                        unit="step", leave=False)
        correct = 0
        for x, y in progress:
            x, y = x.to(device), y.to(device)
            logits = model(x)
            loss = nn.functional.cross_entropy(logits, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            correct += (logits.argmax(1) == y).sum().item()
        tqdm.write(f"epoch {epoch}: train accuracy {correct / (steps_per_epoch * BATCH_SIZE):.4f}")
    return model.eval()


def save_classifier(model: FashionClassifier, path: Path) -> None:
    """Writes the state dict with float16 tensors (integers, e.g. BatchNorm's counter, kept)."""
    state = {name: value.half() if value.is_floating_point() else value
             for name, value in model.state_dict().items()}
    save_checkpoint(state, path)


def load_classifier(path: Path, device: torch.device) -> FashionClassifier:
    """The classifier stored at ``path``, in float32 and evaluation mode."""
    if not path.is_file():
        raise UserError(f"the classifier weights {path} are missing; make them with "
                        "`python evaluate.py --train-classifier` (a few minutes on 2 cores)")
    model = FashionClassifier().to(device)
    model.load_state_dict(load_checkpoint(path, device))  # copies float16 into float32
    return model.eval()


@torch.no_grad()
def classify(model: FashionClassifier, images: Tensor) -> tuple[np.ndarray, Tensor]:
    """Penultimate features ``(N, FEATURES)`` (float64) and predicted classes ``(N,)`` of
    ``images`` ``(N, 1, 28, 28)``, computed ``EVAL_BATCH`` images at a time."""
    device = next(model.parameters()).device
    features, predictions = [], []
    for chunk in images.split(EVAL_BATCH):
        embedded = model.embed(chunk.to(device))
        features.append(embedded.double().cpu())
        predictions.append(model.head(embedded).argmax(1).cpu())
    return torch.cat(features).numpy(), torch.cat(predictions)


def file_sha256(path: Path) -> str:
    """The sha256 of a file: ties a measurement to the classifier weights that made it."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
