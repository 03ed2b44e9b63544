"""Figures the trainers write: flow samples and density, learning curves."""

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display is needed or wanted
import matplotlib.pyplot as plt
import numpy as np
import torch


def plot_flow_samples(samples: np.ndarray, test_points: np.ndarray, path: Path, title: str) -> None:
    """Model samples beside the test points, on the same axes limits."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), sharex=True, sharey=True)
    for ax, points, name in [(axes[0], test_points, "test data"), (axes[1], samples, "samples")]:
        ax.scatter(points[:, 0], points[:, 1], s=3, alpha=0.6)
        ax.set_title(f"{name} ({len(points):,} points)")
        ax.set_aspect("equal")
    axes[0].set_xlim(-3, 3)
    axes[0].set_ylim(-3, 3)
    fig.suptitle(title)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_flow_density(log_prob, path: Path, device: torch.device, limit: float = 3.0) -> None:
    """The learned density ``exp(log_prob(x))`` on a 300 x 300 grid over ``[-limit, limit]^2``.

    Far from the data a flow's inverse can overflow (inf - inf gives NaN); the density there
    is drawn as 0, which it is to float precision.
    """
    axis = torch.linspace(-limit, limit, 300)
    grid = torch.cartesian_prod(axis, axis)  # rows (x0, x1), x1 varying fastest
    with torch.no_grad():
        density = log_prob(grid.to(device)).exp().nan_to_num(0.0)
    density = density.reshape(300, 300).T.cpu().numpy()
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    image = ax.imshow(density, origin="lower", extent=(-limit, limit, -limit, limit),
                      cmap="viridis")
    fig.colorbar(image, ax=ax, label="density")
    ax.set_title("learned density")
    fig.savefig(path, dpi=100)
    plt.close(fig)


# A curve plot's y-axis leaves out the few values at either end (at most a tenth) that stand
# apart: parted from the next value by a gap wider than this many times the span from that
# value to the other end's last tenth. One wild epoch then cannot stretch the axis, while an
# ordinary curve, whose values follow each other without such gaps, keeps matplotlib's limits.
OUTLIER_GAP = 3.0


def robust_range(values: np.ndarray) -> tuple[float, float]:
    """The smallest and the largest of ``values`` ``(N,)`` that do not stand apart in the
    sense of ``OUTLIER_GAP``; non-finite values are ignored."""
    v = np.sort(values[np.isfinite(values)])
    n, most = len(v), len(v) // 10
    # The k lowest stand apart if the gap above them is wide; so, mirrored, the highest.
    lo = max((k for k in range(1, most + 1)
              if v[k] - v[k - 1] > OUTLIER_GAP * (v[n - 1 - most] - v[k])), default=0)
    hi = min((k for k in range(n - 1 - most, n - 1)
              if v[k + 1] - v[k] > OUTLIER_GAP * (v[k] - v[most])), default=n - 1)
    return float(v[lo]), float(v[hi])


def plot_curves(curves: dict[str, list[float]], xlabel: str, ylabel: str, path: Path,
                note: str | None = None) -> None:
    """One line per named curve, against 1, 2, ... on the x axis, and ``note`` above it.

    The y-axis spans the values that are not outliers (``robust_range``); an outlier is drawn
    as a triangle on the axis' edge and named above the plot, so that one wild value leaves
    the rest of the curves legible.
    """
    fig, ax = plt.subplots(figsize=(6, 4))
    values = np.concatenate([np.asarray(curve, dtype=float) for curve in curves.values()])
    low, high = robust_range(values) if np.isfinite(values).any() else (0.0, 0.0)
    pad = 0.05 * (high - low)  # matplotlib's own margin
    limited = high > low and bool(((values < low) | (values > high)).any())
    outliers = []  # (how far off the axis, label)
    for name, curve in curves.items():
        x, y = np.arange(1, len(curve) + 1), np.asarray(curve, dtype=float)
        (line,) = ax.plot(x, y, label=name)
        if limited:
            for off, edge, marker in [(y < low, low - pad, "v"), (y > high, high + pad, "^")]:
                ax.plot(x[off], np.full(off.sum(), edge), marker, color=line.get_color(),
                        clip_on=False)
                outliers += [(abs(v - edge), f"{name} {v:.5g} ({xlabel} {i})")
                             for i, v in zip(x[off], y[off])]
    lines = [note] if note else []
    if limited:
        ax.set_ylim(low - pad, high + pad)
        named = ", ".join(label for _, label in sorted(outliers, reverse=True)[:3])
        more = f" and {len(outliers) - 3} more" if len(outliers) > 3 else ""
        lines.insert(0, f"off the y-range (triangles on its edge): {named}{more}")
    if lines:
        ax.set_title("\n".join(textwrap.fill(line, 90) for line in lines), loc="left",
                     fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def save_image_grid(images: torch.Tensor, path: Path, column_labels: list[str] | None = None,
                    scale: int = 2) -> None:
    """Saves images ``(N, 1, H, W)`` in [-1, 1] as a grid of ``len(column_labels)`` (or 10)
    columns, enlarged ``scale`` times, with ``column_labels`` written above the columns."""
    from PIL import Image, ImageDraw
    from torchvision.utils import make_grid

    columns = len(column_labels) if column_labels else 10
    grid = make_grid(images.detach().cpu().clamp(-1, 1), nrow=columns, padding=2,
                     normalize=True, value_range=(-1, 1))
    pixels = grid[0].mul(255).round().to(torch.uint8).numpy()
    image = Image.fromarray(pixels).resize((pixels.shape[1] * scale, pixels.shape[0] * scale),
                                           Image.NEAREST)
    if column_labels:
        header = 14
        labelled = Image.new("L", (image.width, image.height + header), color=0)
        labelled.paste(image, (0, header))
        draw = ImageDraw.Draw(labelled)
        column_width = image.width / columns
        for i, label in enumerate(column_labels):
            draw.text((i * column_width + 3, 2), label, fill=255)
        image = labelled
    image.save(path)
