"""The flow trainer end to end on a small model: outputs, resume, refusals, divergence."""

import contextlib
import io
import json
import math
import shutil
import tempfile
import unittest
from pathlib import Path
from unittest import mock

import torch

import flow_trainer
import main
from data import MOONS_SIZES, moons_splits

SMALL = ["--model", "flow", "--n_flows", "2", "--hidden_size", "8", "--n_epochs", "2",
         "--n_samples", "50", "--batch_size", "500"]


def run_main(*argv: str) -> tuple[int, str]:
    """Runs ``main.main(argv)``; returns its exit status and what it wrote to stderr."""
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        try:
            status = main.main(list(argv))
        except SystemExit as exit_:  # argparse errors
            status = exit_.code
    return status, stderr.getvalue()


class MoonsDataTest(unittest.TestCase):
    def test_split_sizes_and_standardisation(self):
        splits = moons_splits(seed=777)
        self.assertEqual({k: len(v) for k, v in splits.items()}, MOONS_SIZES)
        # Standardised with the training split's statistics alone: exact there, close elsewhere.
        torch.testing.assert_close(splits["train"].mean(0), torch.zeros(2), atol=1e-5, rtol=0)
        torch.testing.assert_close(splits["train"].std(0, unbiased=False), torch.ones(2),
                                   atol=1e-5, rtol=0)
        self.assertFalse(torch.allclose(splits["test"].mean(0), torch.zeros(2), atol=1e-5))
        self.assertLess(splits["test"].mean(0).abs().max().item(), 0.1)

    def test_seed_fixes_the_data(self):
        a, b, c = moons_splits(1), moons_splits(1), moons_splits(2)
        self.assertTrue(torch.equal(a["test"], b["test"]))
        self.assertFalse(torch.equal(a["test"], c["test"]))


class FlowTrainerTest(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.tmp)
        self.out = self.tmp / "nested" / "maf run"  # any path: missing parents, a space

    def test_short_run_writes_every_output(self):
        status, _ = run_main(*SMALL, "--out_dir", str(self.out))
        self.assertEqual(status, 0)
        for name in ["samples_epoch2.png", "density.png", "log_likelihood.png", "metrics.json",
                     "checkpoint_last.pt", "checkpoint_best.pt"]:
            self.assertTrue((self.out / name).is_file(), name)
        metrics = json.loads((self.out / "metrics.json").read_text())
        self.assertEqual([e["epoch"] for e in metrics["epochs"]], [1, 2])
        self.assertTrue(math.isfinite(metrics["test_log_likelihood"]))
        self.assertGreater(metrics["wall_seconds"], 0)
        last = torch.load(self.out / "checkpoint_last.pt", weights_only=True)
        self.assertEqual(last["epoch"], 2)
        self.assertEqual(set(last), {"model", "optimizer", "scheduler", "shuffle_rng", "epoch",
                                     "args", "metrics"})

    def test_an_existing_run_is_kept(self):
        self.assertEqual(run_main(*SMALL, "--out_dir", str(self.out))[0], 0)
        before = (self.out / "checkpoint_last.pt").read_bytes()
        status, stderr = run_main(*SMALL, "--out_dir", str(self.out))
        self.assertEqual(status, 2)
        self.assertIn("already holds a run", stderr)
        self.assertIn("--overwrite", stderr)
        self.assertEqual((self.out / "checkpoint_last.pt").read_bytes(), before)
        self.assertEqual(run_main(*SMALL, "--out_dir", str(self.out), "--overwrite")[0], 0)

    def test_resume_continues_exactly(self):
        straight = self.tmp / "straight"
        self.assertEqual(run_main(*SMALL, "--out_dir", str(straight))[0], 0)

        real_train_epoch = flow_trainer.train_epoch
        calls = []

        def interrupted_in_epoch_two(*args):
            calls.append(1)
            if len(calls) == 2:
                raise KeyboardInterrupt
            return real_train_epoch(*args)

        with mock.patch.object(flow_trainer, "train_epoch", interrupted_in_epoch_two):
            status, stderr = run_main(*SMALL, "--out_dir", str(self.out))
        self.assertEqual(status, 130)
        self.assertIn("--resume", stderr)
        self.assertEqual(run_main("--out_dir", str(self.out), "--resume")[0], 0)

        resumed = torch.load(self.out / "checkpoint_last.pt", weights_only=True)
        expected = torch.load(straight / "checkpoint_last.pt", weights_only=True)
        self.assertEqual(resumed["epoch"], 2)
        for name, tensor in expected["model"].items():
            torch.testing.assert_close(resumed["model"][name], tensor, rtol=0, atol=0)

    def test_divergence_stops_and_keeps_the_last_good_checkpoint(self):
        real_train_epoch = flow_trainer.train_epoch
        calls = []

        def nan_in_epoch_two(*args):
            calls.append(1)
            return real_train_epoch(*args) if len(calls) == 1 else float("nan")

        with mock.patch.object(flow_trainer, "train_epoch", nan_in_epoch_two):
            status, stderr = run_main(*SMALL, "--out_dir", str(self.out))
        self.assertEqual(status, 1)
        self.assertIn("diverged in epoch 2", stderr)
        self.assertIn("Lower --lr", stderr)
        last = torch.load(self.out / "checkpoint_last.pt", weights_only=True)
        self.assertEqual(last["epoch"], 1)

    def test_bad_arguments_get_one_line_errors(self):
        a_file = self.tmp / "a_file"
        a_file.write_text("")
        cases = [(["--n_epochs", "0"], "positive integer"),
                 (["--lr", "-1"], "positive number"),
                 (["--hidden_size", "ten"], "invalid positive_int value"),
                 (["--out_dir", str(a_file)], "is a file"),
                 (["--out_dir", str(self.out), "--resume"], "does not exist")]
        for argv, message in cases:
            with self.subTest(argv=argv):
                status, stderr = run_main(*SMALL, *argv)
                self.assertEqual(status, 2)
                self.assertIn(message, stderr)
                self.assertEqual(len(stderr.strip().splitlines()), 1, stderr)

    @unittest.skipIf(torch.cuda.is_available(), "CUDA is available: there is no fallback")
    def test_gpu_falls_back_to_cpu_with_a_note(self):
        status, stderr = run_main(*SMALL, "--out_dir", str(self.out), "--device", "gpu")
        self.assertEqual(status, 0)
        self.assertIn("no CUDA device is available", stderr)


if __name__ == "__main__":
    unittest.main()
