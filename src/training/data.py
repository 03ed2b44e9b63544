"""Data sets of the problem set: 2-D Moons for the flow, Fashion-MNIST for the GANs.

Fashion-MNIST is read from the official gzipped IDX files, decoded whole into tensors held in
memory, and served in shuffled batches by ``shuffled_batches``: no per-sample transforms.
"""

import gzip
import hashlib
import math
import os
import shutil
import struct
import sys
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import make_moons
from torch import Tensor

from training.utils import UserError

MOONS_SIZES = {"train": 24_000, "val": 3_000, "test": 3_000}
MOONS_NOISE = 0.05


def moons_raw_splits(seed: int) -> dict[str, np.ndarray]:
    """The problem set's Moons data, ``make_moons(n_samples=30000, noise=0.05)``, as drawn.

    The points are split 24,000 / 3,000 / 3,000 into ``train``, ``val`` and ``test`` (float64
    arrays of shape ``(N, 2)``), in the order drawn.
    """
    points, _ = make_moons(n_samples=sum(MOONS_SIZES.values()), noise=MOONS_NOISE,
                           random_state=seed)
    bounds = np.cumsum(list(MOONS_SIZES.values()))[:-1]
    return dict(zip(MOONS_SIZES, np.split(points, bounds)))


def moons_splits(seed: int) -> dict[str, Tensor]:
    """``moons_raw_splits`` standardised, as float32 tensors of shape ``(N, 2)``.

    The mean and standard deviation are those of the training split alone, so nothing about
    the held-out points leaks into training.
    """
    splits = moons_raw_splits(seed)
    mean, std = splits["train"].mean(axis=0), splits["train"].std(axis=0)
    return {name: torch.from_numpy((x - mean) / std).float() for name, x in splits.items()}


# Fashion-MNIST (problems 2, 4 and 5) --------------------------------------------------------

# split: (images file, labels file), the names of the official release
FASHION_MNIST_FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
                       "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
# file: (samples, sha256 of the decompressed IDX payload) of the official release. The payload
# is hashed, not the .gz file, because Debian's copy rewrites the gzip header.
FASHION_MNIST_OFFICIAL = {
    "train-images-idx3-ubyte.gz":
        (60_000, "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
    "train-labels-idx1-ubyte.gz":
        (60_000, "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
    "t10k-images-idx3-ubyte.gz":
        (10_000, "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
    "t10k-labels-idx1-ubyte.gz":
        (10_000, "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
}
_SRC = Path(__file__).resolve().parents[1]
# Searched in this order when neither data_dir nor $FASHION_MNIST_DIR names a folder: the
# project's data folder (where a download goes), the copy shared with this project's CI, and
# the Debian package dataset-fashion-mnist.
FASHION_MNIST_SEARCH = (_SRC / "data" / "fashion-mnist",
                        _SRC.parent.parent / "shared" / "data" / "fashion-mnist",
                        Path("/usr/share/datasets/fashion-mnist"))
_FIXES = ("pass --data_dir DIR (a folder with the four official .gz files), set "
          "FASHION_MNIST_DIR=DIR, run `apt-get install dataset-fashion-mnist` (Debian), or "
          "connect to the internet so torchvision can download it")


class _Unusable(Exception):
    """A folder that cannot give the requested split; the message says why."""


class _Missing(_Unusable):
    pass


class _Incomplete(_Missing):
    """A folder that exists but lacks files of the split: empty or partial, as a download that
    failed or was cut short leaves it."""

    def __init__(self, folder: Path, message: str):
        super().__init__(message)
        self.folder = folder


class _Corrupt(_Unusable):
    pass


def load_fashion_mnist(split: str, data_dir: str | Path | None = None) -> tuple[Tensor, Tensor]:
    """The ``train`` (60,000) or ``test`` (10,000) split of Fashion-MNIST, held in memory.

    Returns images as float32 of shape ``(N, 1, 28, 28)`` scaled from 0..255 to [-1, 1], and
    labels as int64 of shape ``(N,)``. The files come from ``data_dir`` if given, else from
    ``$FASHION_MNIST_DIR`` if set (either must work: a failure there is an error at once), else
    from the first of ``FASHION_MNIST_SEARCH`` that works, else from a torchvision download.

    Every file is checked: gzip integrity, IDX magic number and dimensions, labels in 0..9.
    Files with the official number of samples must also match the official sha256; a set of
    another size (a subset, or the tests' synthetic files) loads with a note on stderr.
    Raises ``UserError`` naming every location tried, why each failed, and the fixes.
    """
    if split not in FASHION_MNIST_FILES:
        raise ValueError(f"split must be one of {sorted(FASHION_MNIST_FILES)}, got {split!r}")
    where, named = (("--data_dir", data_dir) if data_dir
                    else ("FASHION_MNIST_DIR", os.environ.get("FASHION_MNIST_DIR")))
    if named:  # a folder the user named must work: falling through would hide a typo
        try:
            return _read_split(Path(named), split)
        except _Unusable as error:
            raise _not_loaded(split, [f"{where} {named}: {error}"], [error]) from None

    failures: list[tuple[Path, _Unusable]] = []
    for folder in FASHION_MNIST_SEARCH:
        try:
            data = _read_split(folder, split)
        except _Unusable as error:
            failures.append((folder, error))
            continue
        for bad, error in failures:  # a broken copy should be repaired, not silently skipped
            if isinstance(error, _Corrupt):
                print(f"note: Fashion-MNIST in {bad} is {error}; using {folder}", file=sys.stderr)
        return data

    tried = [f"{folder}: {error}" for folder, error in failures]
    target = FASHION_MNIST_SEARCH[0]
    try:
        download_fashion_mnist(target)
        return _read_split(target, split)
    except Exception as error:  # offline, a proxy's error page, a full disk: all say the same
        reason = " ".join(str(error).split()) or type(error).__name__
        tried.append(f"download into {target}: failed ({reason})")
        raise _not_loaded(split, tried, [failure for _, failure in failures]) from None


def download_fashion_mnist(folder: Path) -> None:
    """Downloads the four official .gz files with torchvision (md5-checked) into a temporary
    folder, then moves them into ``folder``, made only then: a download that fails leaves
    nothing behind and changes nothing that was there."""
    from torchvision.datasets import FashionMNIST  # slow to import; only needed here
    from torchvision.datasets.utils import download_url

    with tempfile.TemporaryDirectory() as tmp:
        for name, md5 in FashionMNIST.resources:  # torchvision lists a single mirror
            download_url(FashionMNIST.mirrors[0] + name, tmp, name, md5)
        folder.mkdir(parents=True, exist_ok=True)
        for name, _ in FashionMNIST.resources:
            shutil.move(Path(tmp) / name, folder / name)


def shuffled_batches(images: Tensor, labels: Tensor, batch_size: int = 64, *,
                     generator: torch.Generator | None = None) -> Iterator[tuple[Tensor, Tensor]]:
    """One epoch of ``(x, y)`` batches in an order drawn from ``generator``.

    Yields ``len(images) // batch_size`` batches of exactly ``batch_size`` samples: the last
    partial batch is dropped, so every step sees a full batch.
    """
    order = torch.randperm(len(images), generator=generator)
    for start in range(0, len(order) - batch_size + 1, batch_size):
        index = order[start:start + batch_size]
        yield images[index], labels[index]


def _not_loaded(split: str, tried: list[str], errors: list[_Unusable]) -> UserError:
    """The error naming every place ``tried``; where the ``errors`` found an empty or partial
    folder, completing the first such is the first fix."""
    incomplete = [error.folder for error in errors if isinstance(error, _Incomplete)]
    fixes = f"put the missing files into {incomplete[0]}, {_FIXES}" if incomplete else _FIXES
    return UserError(f"cannot load the Fashion-MNIST {split} split; tried {'; '.join(tried)}. "
                     f"To fix: {fixes}")


def _listing(names: list[str], at_most: int = 4) -> str:
    """``names`` joined by commas, the ones past ``at_most`` counted rather than named."""
    rest = f" and {len(names) - at_most} more" if len(names) > at_most else ""
    return ", ".join(names[:at_most]) + rest


def _read_split(folder: Path, split: str) -> tuple[Tensor, Tensor]:
    """Reads and checks one split from ``folder``; raises ``_Missing`` (``_Incomplete`` for a
    folder that lacks files of the split) or ``_Corrupt``."""
    if not folder.is_dir():
        raise _Missing("missing (no such folder)")
    names = FASHION_MNIST_FILES[split]
    absent = [name for name in names if not (folder / name).is_file()]
    if absent:
        try:
            present = sorted(entry.name for entry in folder.iterdir())
        except OSError as error:
            raise _Missing(f"an unreadable folder ({error.strerror})") from None
        needed = " and ".join(absent)
        if not present:
            raise _Incomplete(folder, "an empty folder (what a failed download leaves), without "
                              f"{needed}")
        if set(present) & set(FASHION_MNIST_OFFICIAL):
            raise _Incomplete(folder, "a partial folder (what an interrupted download leaves): it "
                              f"has {_listing(present)} but not {needed}")
        raise _Incomplete(folder,
                          f"a folder of other files ({_listing(present)}), without {needed}")
    images = _read_idx(folder / names[0], ndim=3)
    labels = _read_idx(folder / names[1], ndim=1)
    if images.shape[1:] != (28, 28):
        raise _Corrupt(f"corrupt: {names[0]}: images of {images.shape[1]} x {images.shape[2]} "
                       "pixels, expected 28 x 28")
    if len(labels) != len(images):
        raise _Corrupt(f"corrupt: {names[1]} holds {len(labels)} labels for {len(images)} images")
    if labels.max(initial=0) > 9:
        raise _Corrupt(f"corrupt: {names[1]}: label {labels.max()} outside 0..9")
    official = FASHION_MNIST_OFFICIAL[names[0]][0]
    if len(images) != official:
        print(f"note: {folder} holds {len(images)} {split} images, not the official {official}",
              file=sys.stderr)
    x = torch.from_numpy(images.astype(np.float32)).unsqueeze(1)
    return x.div_(127.5).sub_(1.0), torch.from_numpy(labels.astype(np.int64))


def _read_idx(path: Path, ndim: int) -> np.ndarray:
    """The uint8 array of a gzipped IDX file with ``ndim`` dimensions; raises ``_Corrupt``."""
    try:
        payload = gzip.decompress(path.read_bytes())
    except (OSError, EOFError, zlib.error) as error:  # not gzip, truncated, failed CRC
        raise _Corrupt(f"corrupt: {path.name}: not a readable gzip file ({error})") from None
    header = 4 * (1 + ndim)
    magic = int.from_bytes(payload[:4], "big")
    if magic != 0x800 + ndim:  # 0x08: unsigned bytes
        raise _Corrupt(f"corrupt: {path.name}: IDX magic number {magic:#010x}, expected "
                       f"{0x800 + ndim:#010x}")
    if len(payload) < header:
        raise _Corrupt(f"corrupt: {path.name}: {len(payload)} bytes, shorter than its IDX "
                       "header (truncated?)")
    dims = struct.unpack_from(f">{ndim}I", payload, 4)
    if len(payload) != header + math.prod(dims):
        raise _Corrupt(f"corrupt: {path.name}: {len(payload) - header} data bytes, the header's "
                       f"dimensions {' x '.join(map(str, dims))} need {math.prod(dims)} "
                       "(truncated?)")
    count, sha256 = FASHION_MNIST_OFFICIAL[path.name]
    if dims[0] == count and hashlib.sha256(payload).hexdigest() != sha256:
        raise _Corrupt(f"corrupt: {path.name}: the sha256 of its decompressed payload differs "
                       "from the official release's")
    return np.frombuffer(payload, np.uint8, offset=header).reshape(dims)
