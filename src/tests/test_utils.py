"""training/utils.py and common/files.py: checkpoints, JSON files and zips are replaced atomically;
zips are the same for the same bytes; thread counts come back."""

import io
import json
import os
import shutil
import tempfile
import time
import unittest
import zipfile
from pathlib import Path
from unittest import mock

import torch

from common.files import ZIP_DATE, write_json, write_zip
from training.utils import load_checkpoint, save_checkpoint, torch_threads

REAL_SAVE, REAL_WRITE_TEXT = torch.save, Path.write_text


def torn_save(state: dict, path: Path) -> None:
    """``torch.save`` that writes half of the file and then fails, as a full disk would."""
    buffer = io.BytesIO()
    REAL_SAVE(state, buffer)
    Path(path).write_bytes(buffer.getvalue()[:len(buffer.getvalue()) // 2])
    raise OSError("No space left on device")


def torn_write_text(path: Path, text: str, *args, **kwargs) -> None:
    """``Path.write_text`` that writes half of the text and then fails."""
    REAL_WRITE_TEXT(path, text[:len(text) // 2], *args, **kwargs)
    raise OSError("No space left on device")


class AtomicWriteTest(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.tmp)

    def test_an_interrupted_checkpoint_save_leaves_the_previous_checkpoint(self):
        """A ``torch.save`` that fails halfway leaves the earlier checkpoint, whole and
        loadable, under the real name, and no partial file beside it."""
        path = self.tmp / "checkpoint.pt"
        save_checkpoint({"step": 1, "weights": torch.zeros(3)}, path)
        with mock.patch.object(torch, "save", torn_save), self.assertRaises(OSError):
            save_checkpoint({"step": 2, "weights": torch.ones(1000)}, path)
        previous = load_checkpoint(path, torch.device("cpu"))
        self.assertEqual(previous["step"], 1)
        torch.testing.assert_close(previous["weights"], torch.zeros(3))
        self.assertEqual([file.name for file in self.tmp.iterdir()], ["checkpoint.pt"])

    def test_an_interrupted_json_write_leaves_the_previous_file(self):
        """A text write that fails halfway leaves the earlier JSON whole under the real name,
        and no partial file beside it."""
        path = self.tmp / "metrics.json"
        write_json({"epoch": 1}, path)
        with mock.patch.object(Path, "write_text", torn_write_text), \
                self.assertRaises(OSError):
            write_json({"epoch": 2, "values": list(range(100))}, path)
        self.assertEqual(json.loads(path.read_text()), {"epoch": 1})
        self.assertEqual([file.name for file in self.tmp.iterdir()], ["metrics.json"])


class WriteZipTest(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.tmp)

    def test_bytes_get_a_fixed_date_and_mode_files_keep_their_own(self):
        """Entries from bytes are dated ZIP_DATE, 0o755 where named executable, else 0o644, so
        the same bytes make the same zip; an entry from a file keeps its time and mode; the
        entries keep their order."""
        file = self.tmp / "data.txt"
        file.write_text("kept")
        file.chmod(0o640)
        when = time.mktime((2001, 2, 3, 4, 5, 6, 0, 0, -1))
        os.utime(file, (when, when))
        entries = {"run": b"#!/bin/sh\n", "b/data.txt": file, "a.txt": b"text"}
        first, second = self.tmp / "first.zip", self.tmp / "second.zip"
        write_zip(first, entries, executable={"run"})
        write_zip(second, entries, executable={"run"})
        self.assertEqual(first.read_bytes(), second.read_bytes())
        with zipfile.ZipFile(first) as archive:
            self.assertEqual(archive.namelist(), ["run", "b/data.txt", "a.txt"])
            found = {info.filename: (info.date_time, info.external_attr >> 16)
                     for info in archive.infolist()}
            self.assertEqual(archive.read("b/data.txt"), b"kept")
        self.assertEqual(found, {"run": (ZIP_DATE, 0o100755),
                                 "b/data.txt": ((2001, 2, 3, 4, 5, 6), 0o100640),
                                 "a.txt": (ZIP_DATE, 0o100644)})

    def test_a_failed_write_leaves_the_previous_zip(self):
        """An entry that cannot be read fails the write: the earlier zip stays whole under
        its name, with no partial file beside it."""
        archive = self.tmp / "out.zip"
        write_zip(archive, {"a.txt": b"first"})
        with self.assertRaises(FileNotFoundError):
            write_zip(archive, {"a.txt": b"second", "b.txt": self.tmp / "missing"})
        with zipfile.ZipFile(archive) as written:
            self.assertEqual(written.read("a.txt"), b"first")
        self.assertEqual([path.name for path in self.tmp.iterdir()], ["out.zip"])


class TorchThreadsTest(unittest.TestCase):
    def test_the_previous_count_comes_back_even_after_an_interrupt(self):
        """The body runs with the count asked for; the earlier count is back afterwards, also
        when the body is interrupted."""
        previous = torch.get_num_threads()
        with self.assertRaises(KeyboardInterrupt), torch_threads(previous + 1):
            self.assertEqual(torch.get_num_threads(), previous + 1)
            raise KeyboardInterrupt
        self.assertEqual(torch.get_num_threads(), previous)


if __name__ == "__main__":
    unittest.main()
