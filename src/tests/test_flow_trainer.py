"""The Moons splits, and the flow trainer end to end on a small model: outputs, the best
epoch, resume, interrupted writes, refusals, divergence; main.py's help states its defaults."""

import contextlib
import copy
import io
import json
import math
import os
import re
import shutil
import tempfile
import unittest
from pathlib import Path
from unittest import mock

import torch

import main
from submission.flow_network import MAF
from tests.test_utils import REAL_SAVE, REAL_WRITE_TEXT, torn_save, torn_write_text
from training import flow_trainer
from training.data import MOONS_SIZES, moons_splits

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


class WarmupCosineTest(unittest.TestCase):
    def test_a_linear_warm_up_then_a_cosine_to_zero(self):
        """Written out for a warm-up of 4 steps in 20: 1/4, 2/4, 3/4, 1, then
        (1 + cos(pi t / 20)) / 2, which is 1/2 half-way and 0 at the end."""
        factor = flow_trainer.warmup_cosine(4, 20)
        self.assertEqual([factor(t) for t in range(4)], [0.25, 0.5, 0.75, 1.0])
        self.assertAlmostEqual(factor(5), (1 + math.cos(math.pi / 4)) / 2)
        self.assertAlmostEqual(factor(10), 0.5)
        self.assertAlmostEqual(factor(20), 0.0)


class TrainEpochTest(unittest.TestCase):
    def test_the_average_weighs_each_batch_by_its_size(self):
        """250 points in batches of 100 make batches of 100, 100 and 50; the average is their
        mean log-likelihoods weighted 2 : 2 : 1, each taken before its batch's step (the first
        is the untouched model's)."""
        torch.manual_seed(0)
        model = MAF(2, 8, 1, 2)
        x = moons_splits(777)["train"][:250]
        order = torch.randperm(250, generator=torch.Generator().manual_seed(3))
        with torch.no_grad():
            first = model.log_probs(x[order[:100]]).item()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
        average, batch_lls = flow_trainer.train_epoch(model, optimizer, scheduler, x, 100,
                                                      torch.Generator().manual_seed(3))
        self.assertEqual(batch_lls.shape, (3,))
        self.assertAlmostEqual(batch_lls[0].item(), first, places=5)
        self.assertAlmostEqual(average, (batch_lls @ torch.tensor([2.0, 2, 1])).item() / 5,
                               places=5)


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

    def test_the_test_log_likelihood_and_best_checkpoint_are_the_best_validation_epochs(self):
        """When epoch 2 validates worse than epoch 1 (its weights are zeroed, which makes the
        flow the identity), the best checkpoint keeps epoch 1's weights and the test
        log-likelihood is theirs, recomputed here from a copy taken after epoch 1."""
        real_train_epoch = flow_trainer.train_epoch
        after_epoch_one = {}

        def worse_in_epoch_two(model, *args):
            train_ll = real_train_epoch(model, *args)
            if not after_epoch_one:
                after_epoch_one.update(copy.deepcopy(model.state_dict()))
            else:
                with torch.no_grad():
                    for parameter in model.parameters():
                        parameter.zero_()
            return train_ll

        with mock.patch.object(flow_trainer, "train_epoch", worse_in_epoch_two):
            self.assertEqual(run_main(*SMALL, "--out_dir", str(self.out))[0], 0)
        metrics = json.loads((self.out / "metrics.json").read_text())
        first, second = (e["val_log_likelihood"] for e in metrics["epochs"])
        self.assertGreater(first, second)
        self.assertEqual(metrics["best_epoch"], 1)

        best = torch.load(self.out / "checkpoint_best.pt", weights_only=True)
        self.assertEqual(best["epoch"], 1)
        for name, tensor in after_epoch_one.items():
            torch.testing.assert_close(best["model"][name], tensor, rtol=0, atol=0)
        model = MAF(2, 8, 1, 2)
        model.load_state_dict(after_epoch_one)
        test = moons_splits(777)["test"]
        with torch.no_grad():
            expected = model.log_prob(test).double().mean().item()
        self.assertAlmostEqual(metrics["test_log_likelihood"], expected, places=5)
        # The last epoch's weights (the identity) would score the standard normal's value.
        identity = -(math.log(2 * math.pi) + 0.5 * test.double().square().sum(1).mean().item())
        self.assertGreater(abs(metrics["test_log_likelihood"] - identity), 0.01)

    def test_a_write_that_fails_in_epoch_two_leaves_epoch_ones_file(self):
        """A write of ``checkpoint_last.pt`` or of ``metrics.json`` that fails halfway in
        epoch 2 (a full disk) leaves epoch 1's file, whole, under the real name, and
        ``--resume`` then finishes the run."""
        def save(state, path):
            torn = state.get("epoch") == 2 and "optimizer" in state  # epoch 2's last checkpoint
            (torn_save if torn else REAL_SAVE)(state, path)

        def write_text(path, text, *args, **kwargs):
            torn = '"epoch": 2' in text  # epoch 2's metrics
            return (torn_write_text if torn else REAL_WRITE_TEXT)(path, text, *args, **kwargs)

        cases = {"checkpoint_last.pt": (torch, "save", save),
                 "metrics.json": (Path, "write_text", write_text)}
        for name, (owner, attribute, torn) in cases.items():
            with self.subTest(file=name):
                out = self.tmp / name
                with mock.patch.object(owner, attribute, torn), self.assertRaises(OSError):
                    run_main(*SMALL, "--out_dir", str(out))
                if name == "metrics.json":
                    self.assertEqual(len(json.loads((out / name).read_text())["epochs"]), 1)
                else:
                    self.assertEqual(torch.load(out / name, weights_only=True)["epoch"], 1)
                status, stderr = run_main("--out_dir", str(out), "--resume")
                self.assertEqual(status, 0, stderr)

    def test_an_epoch_pulled_down_by_one_batch_is_explained(self):
        """Epoch 2 made to look like the default run's: one of its batches at -500,000 pulls
        its average far below the median batch. The run says so under that epoch's line,
        records the median batch, and the learning-curve plot gets a note naming epoch 2;
        epoch 1, unchanged, gets none."""
        real_train_epoch = flow_trainer.train_epoch

        def one_wild_batch_in_epoch_two(*args):
            average, batch_lls = real_train_epoch(*args)
            if len(epochs_seen) == 1:
                batch_lls = batch_lls.clone()
                batch_lls[0] = -500_000.0
                average = batch_lls.mean().item()
            epochs_seen.append(average)
            return average, batch_lls

        epochs_seen, plots_seen = [], []
        stdout = io.StringIO()
        with mock.patch.object(flow_trainer, "train_epoch", one_wild_batch_in_epoch_two), \
                mock.patch.object(flow_trainer, "plot_curves",
                                  side_effect=lambda *args: plots_seen.append(args)), \
                contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(io.StringIO()):
            self.assertEqual(main.main([*SMALL, "--out_dir", str(self.out)]), 0)
        lines = stdout.getvalue().splitlines()
        notes = [i for i, line in enumerate(lines) if "note:" in line]
        self.assertEqual(len(notes), 1, lines)
        self.assertTrue(lines[notes[0] - 1].startswith("Epoch 2:"), lines)
        self.assertIn("epoch 2's train average is far below its median batch", lines[notes[0]])
        self.assertIn("-500000.0000", lines[notes[0]])
        metrics = json.loads((self.out / "metrics.json").read_text())
        second = metrics["epochs"][1]
        self.assertLess(second["train_log_likelihood"], -1000)
        self.assertGreater(second["train_median_batch_log_likelihood"], -10)
        (curves, *_, note), = plots_seen
        self.assertEqual(curves["train"][1], second["train_log_likelihood"])
        self.assertTrue(note.startswith("train, epoch 2: a few points far in a tail"), note)

    def test_divergence_stops_and_keeps_the_last_good_checkpoint(self):
        real_train_epoch = flow_trainer.train_epoch
        calls = []

        def nan_in_epoch_two(*args):
            calls.append(1)
            return (real_train_epoch(*args) if len(calls) == 1
                    else (float("nan"), torch.tensor([float("nan")])))

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
                 (["--lr", "0"], "positive number"),
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


class DefaultsTest(unittest.TestCase):
    def test_the_help_states_the_defaults_each_model_runs_with(self):
        """Every plain "(default: ...)" of ``python main.py --help`` is the value that a run
        without options gets; "flow 50, gan and cgan 1" is what a run of each model gets."""
        with mock.patch.dict(os.environ, {"COLUMNS": "1000"}):  # no help text wrapped
            text = main.build_parser().format_help()
        text = re.sub(r"\n {20,}", "  ", text)  # a long option's help: on the option's line
        stated = dict(re.findall(r"^  --(\w+)(?: \S+)?  +.*\(default: ([^()]*)\)$", text, re.M))
        in_words = {"out_dir", "data_dir", "class"}  # folders and classes, said in words
        per_model = stated.keys() & main.MODEL_DEFAULTS["flow"].keys()
        # Each default is stated: all of MODEL_DEFAULTS, all of DEFAULTS but --device's (its
        # help says in words what happens without CUDA).
        self.assertEqual(per_model, main.MODEL_DEFAULTS["flow"].keys(), text)
        self.assertEqual(stated.keys() - in_words - per_model, main.DEFAULTS.keys() - {"device"},
                         text)
        for argv in ([], *(["--model", model] for model in main.MODEL_DEFAULTS)):
            with self.subTest(argv=argv), mock.patch.object(main, "run") as run:
                self.assertEqual(main.main(argv), 0)
                args = vars(run.call_args.args[0])
                for option in stated.keys() - in_words - per_model if not argv else ():
                    self.assertEqual(stated[option], str(args[option]), option)
                for option in per_model:
                    values = {name: float(words.split()[-1]) for words in stated[option].split(", ")
                              for name in words.split()[:-1] if name != "and"}
                    self.assertEqual(values[args["model"]], args[option], option)


if __name__ == "__main__":
    unittest.main()
