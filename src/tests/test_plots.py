"""plots.py: the image grids of the GAN runs, the learning curves' y-axis."""

import shutil
import tempfile
import unittest
from pathlib import Path
from unittest import mock

import numpy as np
import torch
from PIL import Image

from training import plots
from training.plots import save_image_grid


class ImageGridTest(unittest.TestCase):
    def test_the_data_range_maps_to_grey_levels_ten_images_a_row(self):
        """[-1, 1] maps onto 0..255 whatever the batch's own range (0 to 128, 0.5 to 191), ten
        images a row between 2 black pixels of padding, all enlarged twice."""
        tmp = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, tmp)
        images = torch.zeros(20, 1, 28, 28)
        images[11] = 0.5
        save_image_grid(images, tmp / "grid.png")
        pixels = np.asarray(Image.open(tmp / "grid.png"))
        self.assertEqual(pixels.shape, (2 * (2 + 2 * 30), 2 * (2 + 10 * 30)))

        def centre(k: int) -> int:  # of image k, at row k // 10 and column k % 10
            row, column = divmod(k, 10)
            return pixels[2 * (2 + 30 * row + 14), 2 * (2 + 30 * column + 14)]

        self.assertEqual([centre(0), centre(11), pixels[0, 0]], [128, 191, 0])


def learning_curves(epochs: int = 50) -> dict[str, np.ndarray]:
    """Train and validation curves that rise from about -2.4 towards -1.13, as the default MAF
    run's do."""
    t = np.arange(1, epochs + 1)
    return {"train": -1.13 - 1.2 * np.exp(-(t - 1) / 2),
            "validation": -1.13 - 0.7 * np.exp(-t / 3)}


def drawn(curves: dict, note: str | None = None):
    """The figure ``plot_curves`` draws for ``curves``: its axes, y-limits and title."""
    tmp = Path(tempfile.mkdtemp())
    with mock.patch.object(plots.plt, "close") as close:
        plots.plot_curves(curves, "epoch", "log-likelihood", tmp / "curves.png", note)
    shutil.rmtree(tmp)
    (fig,), _ = close.call_args
    ax = fig.axes[0]
    plots.plt.close(fig)
    return ax, ax.get_ylim(), ax.get_title(loc="left")


class CurvesTest(unittest.TestCase):
    def test_ordinary_curves_keep_matplotlibs_own_limits_and_no_title(self):
        curves = learning_curves()
        fig, ax = plots.plt.subplots()
        for values in curves.values():
            ax.plot(np.arange(1, 51), values)
        expected = ax.get_ylim()
        plots.plt.close(fig)
        _, limits, title = drawn(curves)
        self.assertEqual(limits, expected)
        self.assertEqual(title, "")

    def test_one_wild_epoch_is_left_off_the_y_axis_marked_and_named(self):
        """Epoch 2's train value of the default run, -2086.6: the y-axis keeps every other
        value in view, from the first epochs to the converged ones, and spans a few nats; the
        wild value is drawn as a triangle on the bottom edge and named above the plot, after
        the caller's note."""
        curves = learning_curves()
        curves["train"][1] = -2086.6
        ax, (bottom, top), title = drawn(curves, "why epoch 2 is low")
        others = np.concatenate([np.delete(curves["train"], 1), curves["validation"]])
        self.assertLess(bottom, others.min())
        self.assertGreater(top, others.max())
        self.assertLess(top - bottom, 3)
        marks = [line for line in ax.lines if line.get_marker() == "v"]
        self.assertEqual([(list(m.get_xdata()), list(m.get_ydata())) for m in marks
                          if len(m.get_xdata())], [([2], [bottom])])
        self.assertTrue(title.startswith("off the y-range"), title)
        self.assertIn("train -2086.6 (epoch 2)", title)
        self.assertTrue(title.endswith("why epoch 2 is low"), title)

    def test_wild_values_at_both_ends_are_left_off_together(self):
        """Two wild epochs, one far below and one as far above the rest: neither hides the
        other, and both are named, the farthest first."""
        curves = learning_curves()
        curves["train"][1], curves["validation"][29] = -1000.0, 1001.0
        ax, (bottom, top), title = drawn(curves)
        others = np.concatenate([np.delete(curves["train"], 1),
                                 np.delete(curves["validation"], 29)])
        self.assertLess(bottom, others.min())
        self.assertGreater(top, others.max())
        self.assertLess(top - bottom, 3)
        self.assertIn("validation 1001 (epoch 30), train -1000 (epoch 2)", title)

    def test_one_wild_value_in_ten_cannot_stretch_the_axis_either_way(self):
        """A short run of 5 epochs: one value far below and, in another run, one far above the
        rest are left off the axis, which still holds the other nine."""
        for wild in (-1e6, 1e6):
            with self.subTest(wild=wild):
                curves = learning_curves(5)
                curves["validation"][3] = wild
                _, (bottom, top), title = drawn(curves)
                others = np.concatenate([curves["train"], np.delete(curves["validation"], 3)])
                self.assertLess(bottom, others.min())
                self.assertGreater(top, others.max())
                self.assertLess(top - bottom, 3)
                self.assertIn(f"validation {wild:.5g} (epoch 4)", title)


if __name__ == "__main__":
    unittest.main()
