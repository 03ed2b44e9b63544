"""training/utils.py and common/files.py: checkpoints and JSON files are replaced atomically; thread counts come back."""

import io
import json
import shutil
import tempfile
import unittest
from pathlib import Path
from unittest import mock

import torch

from common.files import write_json
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
