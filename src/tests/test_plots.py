"""plots.py: the image grids of the GAN runs."""

import shutil
import tempfile
import unittest
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from plots import save_image_grid


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


if __name__ == "__main__":
    unittest.main()
