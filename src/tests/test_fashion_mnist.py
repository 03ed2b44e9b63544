"""Fashion-MNIST loading on small synthetic IDX files: sources, checks, messages, batches.

Every test of ``FashionMnistTest`` hides the real sources (the search folders and the
download) behind temporary ones. ``RealDataTest`` reads the official files wherever the loader
finds them (``official_split``).
"""

import contextlib
import gzip
import io
import os
import shutil
import struct
import tempfile
import unittest
from pathlib import Path
from unittest import mock
from urllib.error import URLError

import numpy as np
import torch

from training import data
from training.data import FASHION_MNIST_FILES, load_fashion_mnist, shuffled_batches
from training.utils import UserError

# .ci/run sets it: CI has the official files in ../shared, so there a real-data test that
# skipped would have lost sight of them, and what only those tests can catch would pass unseen.
REQUIRED = "FASHION_MNIST_REQUIRED"
FIXES = ["--data_dir DIR", "FASHION_MNIST_DIR", "apt-get install dataset-fashion-mnist",
         "internet"]


def write_idx(path: Path, array: np.ndarray, magic: int | None = None) -> None:
    """Writes a uint8 ``array`` as a gzipped IDX file (magic ``0x0800 + ndim`` by default)."""
    header = struct.pack(f">I{array.ndim}I", 0x800 + array.ndim if magic is None else magic,
                         *array.shape)
    path.write_bytes(gzip.compress(header + array.tobytes(), compresslevel=1))


def write_split(folder: Path, n: int = 100, split: str = "train") -> tuple[np.ndarray, ...]:
    """Writes ``n`` random images (the first black, the second white) and labels 0..9."""
    folder.mkdir(parents=True, exist_ok=True)
    images = np.random.default_rng(n).integers(0, 256, (n, 28, 28), dtype=np.uint8)
    images[0], images[1] = 0, 255
    labels = (np.arange(n) % 10).astype(np.uint8)
    images_name, labels_name = FASHION_MNIST_FILES[split]
    write_idx(folder / images_name, images)
    write_idx(folder / labels_name, labels)
    return images, labels


def official_split(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The official ``split``, found as the trainers find it: ``load_fashion_mnist`` without
    ``data_dir`` (``$FASHION_MNIST_DIR``, else the folders of ``FASHION_MNIST_SEARCH``) and with
    no download.

    Skips the calling test where no copy is found, or where the copy found is not the official
    set; fails instead where ``$FASHION_MNIST_REQUIRED`` is set. A corrupt copy is an error.
    """
    try:
        with mock.patch.object(data, "download_fashion_mnist",
                               side_effect=OSError("the tests do not download")), \
                contextlib.redirect_stderr(io.StringIO()):
            images, labels = load_fashion_mnist(split)
    except UserError as error:
        if "corrupt" in str(error):
            raise
        reason = str(error)
    else:
        official = data.FASHION_MNIST_OFFICIAL[FASHION_MNIST_FILES[split][0]][0]
        if len(images) == official:
            return images, labels
        reason = f"the Fashion-MNIST found holds {len(images)} {split} images, not {official}"
    if os.environ.get(REQUIRED):
        raise AssertionError(f"${REQUIRED} is set, but {reason}")
    raise unittest.SkipTest(reason)


class FashionMnistTest(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.tmp)
        self.search = tuple(self.tmp / name for name in ["project", "shared", "debian"])
        patchers = [mock.patch.object(data, "FASHION_MNIST_SEARCH", self.search),
                    mock.patch.object(data, "download_fashion_mnist",
                                      side_effect=URLError("[Errno -2] Name or service not known")),
                    mock.patch.dict(os.environ)]
        for patcher in patchers:  # start/stop rather than enterContext: Python 3.10 has none
            patcher.start()
            self.addCleanup(patcher.stop)
        self.download = data.download_fashion_mnist
        os.environ.pop("FASHION_MNIST_DIR", None)

    def load(self, split: str = "train", data_dir: Path | None = None) -> tuple:
        """``load_fashion_mnist``'s images and labels, and what it wrote to stderr."""
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            images, labels = load_fashion_mnist(split, data_dir)
        return images, labels, stderr.getvalue()

    def failure(self, split: str = "train", data_dir: Path | None = None) -> str:
        """The message of the ``UserError`` that loading raises; checks that it names the fixes."""
        with self.assertRaises(UserError) as caught, \
                contextlib.redirect_stderr(io.StringIO()):
            load_fashion_mnist(split, data_dir)
        message = str(caught.exception)
        self.assertNotIn("\n", message)
        for fix in FIXES:
            self.assertIn(fix, message)
        return message

    def test_loads_scaled_images_and_labels_from_data_dir(self):
        for split in FASHION_MNIST_FILES:
            with self.subTest(split=split):
                folder = self.tmp / split
                raw_images, raw_labels = write_split(folder, split=split)
                images, labels, stderr = self.load(split, folder)
                self.assertEqual((images.shape, images.dtype), ((100, 1, 28, 28), torch.float32))
                self.assertEqual((labels.shape, labels.dtype), ((100,), torch.int64))
                self.assertTrue((images[0] == -1).all())  # 0 -> -1
                self.assertTrue((images[1] == 1).all())  # 255 -> 1
                expected = torch.from_numpy(raw_images).float()[:, None] / 127.5 - 1
                torch.testing.assert_close(images, expected)
                self.assertEqual(labels.tolist(), raw_labels.tolist())
                self.assertIn("not the official", stderr)  # a small set is named as such
        self.download.assert_not_called()

    def test_loads_from_the_environment_variable(self):
        write_split(self.tmp / "env", n=70)
        os.environ["FASHION_MNIST_DIR"] = str(self.tmp / "env")
        self.assertEqual(len(self.load()[0]), 70)

    def test_sources_are_tried_in_order_and_the_download_last(self):
        explicit, env = self.tmp / "explicit", self.tmp / "env"
        folders = [explicit, env, *self.search]
        for n, folder in enumerate(folders, start=1):
            write_split(folder, n=10 * n)
        os.environ["FASHION_MNIST_DIR"] = str(env)
        self.assertEqual(len(self.load(data_dir=explicit)[0]), 10)
        self.assertEqual(len(self.load()[0]), 20)
        del os.environ["FASHION_MNIST_DIR"]
        for n, folder in enumerate(self.search, start=3):
            self.assertEqual(len(self.load()[0]), 10 * n)
            shutil.rmtree(folder)
        self.download.assert_not_called()

        self.download.side_effect = lambda folder: write_split(folder, n=60)
        self.assertEqual(len(self.load()[0]), 60)
        self.download.assert_called_once_with(self.search[0])  # into the project's folder

    def test_a_corrupt_search_folder_is_skipped_with_a_note(self):
        write_split(self.search[0])
        (self.search[0] / "train-labels-idx1-ubyte.gz").write_bytes(b"not gzip")
        write_split(self.search[1], n=30)
        images, _, stderr = self.load()
        self.assertEqual(len(images), 30)
        self.assertIn(f"{self.search[0]} is corrupt: train-labels-idx1-ubyte.gz", stderr)

    def test_nothing_found_names_every_place_tried(self):
        (self.search[1]).mkdir()
        write_split(self.search[2], split="test")  # the other split only
        message = self.failure("train")
        self.assertIn("cannot load the Fashion-MNIST train split", message)
        self.assertIn(f"{self.search[0]}: missing (no such folder)", message)
        self.assertIn(f"{self.search[1]}: an empty folder", message)
        self.assertIn(f"{self.search[2]}: a partial folder", message)
        self.assertIn(f"download into {self.search[0]}: failed (<urlopen error [Errno -2] Name "
                      "or service not known>)", message)
        self.download.assert_called_once()

    def test_an_empty_or_partial_folder_is_named_as_such(self):
        """What a failed download leaves in the project's folder, the first place searched: an
        empty folder, then one with a single file. The message says which, lists the files
        there and the ones missing, names every other place tried, and puts filling that
        folder first among the fixes. A folder of unrelated files is not called partial."""
        project = self.search[0]
        project.mkdir()
        empty = self.failure("train")
        (project / "train-images-idx3-ubyte.gz").touch()
        partial = self.failure("train")
        cases = {"empty": (empty, "an empty folder (what a failed download leaves), without "
                                  "train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz"),
                 "partial": (partial, "a partial folder (what an interrupted download leaves): "
                                      "it has train-images-idx3-ubyte.gz but not "
                                      "train-labels-idx1-ubyte.gz")}
        for case, (message, text) in cases.items():
            with self.subTest(folder=case):
                self.assertIn(f"tried {project}: {text}; ", message)
                for folder in self.search[1:]:
                    self.assertIn(f"{folder}: missing (no such folder)", message)
                self.assertIn(f"download into {project}: failed", message)
                self.assertIn(f"To fix: put the missing files into {project}, pass --data_dir",
                              message)
                self.assertNotIn("missing train-", message)

        others = self.tmp / "others"
        others.mkdir()
        for name in ["a.txt", "b.txt", "c.txt", "d.txt", "e.txt"]:
            (others / name).touch()
        self.assertIn(f"--data_dir {others}: a folder of other files (a.txt, b.txt, c.txt, d.txt "
                      "and 1 more), without train-images", self.failure(data_dir=others))

    def test_a_named_folder_must_work(self):
        # Even with a good copy in the search folders, a broken named folder is an error.
        write_split(self.search[0])
        missing = self.tmp / "typo"
        self.assertIn(f"--data_dir {missing}: missing (no such folder)",
                      self.failure(data_dir=missing))
        write_split(self.tmp / "env")
        (self.tmp / "env" / "train-labels-idx1-ubyte.gz").unlink()
        os.environ["FASHION_MNIST_DIR"] = str(self.tmp / "env")
        self.assertIn(f"FASHION_MNIST_DIR {self.tmp / 'env'}: a partial folder (what an "
                      "interrupted download leaves): it has train-images-idx3-ubyte.gz but not "
                      "train-labels-idx1-ubyte.gz", self.failure())
        self.download.assert_not_called()

    def test_corrupt_files_are_named_with_the_failed_check(self):
        labels_ok = (np.arange(100) % 10).astype(np.uint8)
        images_ok = np.zeros((100, 28, 28), np.uint8)
        truncated_gzip = gzip.compress(struct.pack(">4I", 0x803, 100, 28, 28) + images_ok.tobytes())
        cases = {
            "bad magic": ("train-images-idx3-ubyte.gz", lambda p: write_idx(p, images_ok, 0x801),
                          "train-images-idx3-ubyte.gz: IDX magic number 0x00000801, expected "
                          "0x00000803"),
            "truncated gzip": ("train-images-idx3-ubyte.gz",
                               lambda p: p.write_bytes(truncated_gzip[:-100]),
                               "train-images-idx3-ubyte.gz: not a readable gzip file"),
            "truncated payload": ("train-images-idx3-ubyte.gz",
                                  lambda p: p.write_bytes(gzip.compress(
                                      struct.pack(">4I", 0x803, 100, 28, 28) + bytes(5000))),
                                  "train-images-idx3-ubyte.gz: 5000 data bytes, the header's "
                                  "dimensions 100 x 28 x 28 need 78400 (truncated?)"),
            "truncated header": ("train-labels-idx1-ubyte.gz",
                                 lambda p: p.write_bytes(gzip.compress(struct.pack(">I", 0x801))),
                                 "train-labels-idx1-ubyte.gz: 4 bytes, shorter than its IDX "
                                 "header (truncated?)"),
            "wrong image size": ("train-images-idx3-ubyte.gz",
                                 lambda p: write_idx(p, np.zeros((100, 27, 27), np.uint8)),
                                 "images of 27 x 27 pixels, expected 28 x 28"),
            "wrong label": ("train-labels-idx1-ubyte.gz",
                            lambda p: write_idx(p, np.where(labels_ok == 3, 10, labels_ok)),
                            "train-labels-idx1-ubyte.gz: label 10 outside 0..9"),
            "label count": ("train-labels-idx1-ubyte.gz", lambda p: write_idx(p, labels_ok[:99]),
                            "train-labels-idx1-ubyte.gz holds 99 labels for 100 images"),
        }
        for case, (name, corrupt, expected) in cases.items():
            with self.subTest(case=case):
                folder = self.tmp / case
                write_split(folder)
                corrupt(folder / name)
                message = self.failure(data_dir=folder)
                self.assertIn(f"--data_dir {folder}: corrupt: ", message)
                self.assertIn(expected, message)

    def test_a_file_of_the_official_size_must_match_the_official_checksum(self):
        """10,000 blank images are refused by the sha256 check; that the official files pass it
        is RealDataTest's to show."""
        folder = self.tmp / "unofficial"
        folder.mkdir()
        write_idx(folder / "t10k-images-idx3-ubyte.gz", np.zeros((10_000, 28, 28), np.uint8))
        write_idx(folder / "t10k-labels-idx1-ubyte.gz", (np.arange(10_000) % 10).astype(np.uint8))
        self.assertIn("t10k-images-idx3-ubyte.gz: the sha256 of its decompressed payload differs "
                      "from the official release's", self.failure("test", folder))

    def test_unknown_split(self):
        with self.assertRaises(ValueError):
            load_fashion_mnist("val")


class DownloadTest(unittest.TestCase):
    """``download_fashion_mnist`` with torchvision's ``download_url`` stood in for: files
    "arrive" (written with the official names) or the network fails after the second."""

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.tmp)
        self.arrived = []

    def fetch(self, fail_after: int | None):
        """A stand-in for ``download_url(url, root, filename, md5)``, which makes ``root``
        first, as torchvision's does."""
        def download_url(url: str, root: str, filename: str, md5: str) -> None:
            Path(root).mkdir(parents=True, exist_ok=True)
            if fail_after is not None and len(self.arrived) == fail_after:
                raise URLError("[Errno -2] Name or service not known")
            (Path(root) / filename).write_bytes(b"payload")
            self.arrived.append(filename)
        return mock.patch("torchvision.datasets.utils.download_url", download_url)

    def test_a_failed_load_makes_no_folder_and_keeps_what_was_there(self):
        """Nothing found and the download failing midway: neither the project's data folder
        nor its parent is made; a folder that was there keeps its files and gains none."""
        project = self.tmp / "data" / "fashion-mnist"
        search = (project, self.tmp / "shared")
        with self.fetch(fail_after=2), mock.patch.object(data, "FASHION_MNIST_SEARCH", search), \
                mock.patch.dict(os.environ), contextlib.redirect_stderr(io.StringIO()):
            os.environ.pop("FASHION_MNIST_DIR", None)
            with self.assertRaises(UserError):
                load_fashion_mnist("train")
            self.assertEqual(len(self.arrived), 2)
            self.assertEqual(list(self.tmp.iterdir()), [])
            project.mkdir(parents=True)
            (project / "notes.txt").write_text("mine")
            with self.assertRaises(UserError):
                load_fashion_mnist("train")
        self.assertEqual([path.name for path in project.iterdir()], ["notes.txt"])

    def test_a_download_that_succeeds_fills_the_folder(self):
        project = self.tmp / "data" / "fashion-mnist"
        with self.fetch(fail_after=None):
            data.download_fashion_mnist(project)
        self.assertEqual(sorted(path.name for path in project.iterdir()),
                         sorted(data.FASHION_MNIST_OFFICIAL))


class SearchFoldersTest(unittest.TestCase):
    def test_the_folders_searched_and_their_order(self):
        """After --data_dir and $FASHION_MNIST_DIR: src/data/fashion-mnist, then
        ../shared/data/fashion-mnist beside the repository, then the Debian package's folder
        (the tests above show that the loader keeps this order)."""
        src = Path(__file__).resolve().parent.parent
        self.assertEqual(data.FASHION_MNIST_SEARCH,
                         (src / "data" / "fashion-mnist",
                          src.parent.parent / "shared" / "data" / "fashion-mnist",
                          Path("/usr/share/datasets/fashion-mnist")))


class ShuffledBatchesTest(unittest.TestCase):
    def setUp(self):
        self.labels = torch.arange(200)
        self.images = self.labels.float().reshape(200, 1, 1, 1).expand(200, 1, 28, 28)

    def batches(self, seed: int, **kwargs) -> list[tuple[torch.Tensor, torch.Tensor]]:
        generator = torch.Generator().manual_seed(seed)
        return list(shuffled_batches(self.images, self.labels, generator=generator, **kwargs))

    def test_full_shuffled_batches_of_64_and_the_rest_dropped(self):
        batches = self.batches(0)
        self.assertEqual([(x.shape, y.shape) for x, y in batches],
                         [((64, 1, 28, 28), (64,))] * 3)  # 200 = 3 x 64 + 8 dropped
        seen = torch.cat([y for _, y in batches])
        self.assertEqual(len(set(seen.tolist())), 192)  # no sample twice
        self.assertFalse(torch.equal(seen, torch.arange(192)))  # shuffled
        for x, y in batches:  # each image stays with its label
            self.assertTrue(torch.equal(x[:, 0, 0, 0].long(), y))

    def test_the_generator_fixes_the_order(self):
        first, again, other = self.batches(1), self.batches(1), self.batches(2)
        self.assertTrue(all(torch.equal(a[1], b[1]) for a, b in zip(first, again)))
        self.assertFalse(torch.equal(first[0][1], other[0][1]))

    def test_batch_size(self):
        self.assertEqual([len(y) for _, y in self.batches(0, batch_size=50)], [50] * 4)
        self.assertEqual(self.batches(0, batch_size=201), [])


class RealDataTest(unittest.TestCase):
    def test_official_statistics(self):
        """The official files (sha256-checked by the loader) give the published pixel mean and
        standard deviation on the 0..255 scale, 6,000 or 1,000 images a class, and [-1, 1]."""
        expected = {"train": (60_000, 72.9404, 90.0212), "test": (10_000, 73.1466, 89.8733)}
        splits = {split: official_split(split) for split in expected}  # skips outside a subtest
        for split, (n, mean, std) in expected.items():
            with self.subTest(split=split):
                images, labels = splits[split]
                self.assertEqual(images.shape, (n, 1, 28, 28))
                self.assertAlmostEqual((images.mean().item() + 1) * 127.5, mean, delta=0.001)
                self.assertAlmostEqual(images.std().item() * 127.5, std, delta=0.001)
                self.assertEqual(labels.bincount().tolist(), [n // 10] * 10)
                self.assertEqual((images.min().item(), images.max().item()), (-1.0, 1.0))


if __name__ == "__main__":
    unittest.main()
