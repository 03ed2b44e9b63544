"""The GAN trainer and sampler end to end on a small synthetic Fashion-MNIST, and the minimax
generator loss that the trainer offers."""

import json
import math
import os
import shutil
import tempfile
import unittest
from pathlib import Path
from unittest import mock

import numpy as np
import torch
from torch import nn

import main
from submission import gan
from tests.test_fashion_mnist import write_split
from tests.test_flow_trainer import SMALL, run_main
from training import gan_trainer
from training.bench import course_step
from training.data import load_fashion_mnist, shuffled_batches

N_IMAGES = 256  # four steps an epoch at the default batch of 64


class GanTrainerTest(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.tmp)
        write_split(self.tmp / "data", n=N_IMAGES)
        self.out = self.tmp / "runs" / "gan"
        patcher = mock.patch.object(gan_trainer, "GRID_EVERY", 2)
        patcher.start()  # start/stop rather than enterContext: Python 3.10 has none
        self.addCleanup(patcher.stop)

    def train(self, *argv: str) -> tuple[int, str]:
        return run_main("--data_dir", str(self.tmp / "data"), "--out_dir", str(self.out), *argv)

    def test_short_runs_write_grids_losses_and_a_checkpoint(self):
        for model, loss_type in gan_trainer.LOSSES:
            with self.subTest(model=model, loss_type=loss_type):
                status, stderr = self.train("--model", model, "--loss_type", loss_type,
                                            "--overwrite")
                self.assertEqual(status, 0, stderr)
                names = {p.name for p in self.out.iterdir()}
                self.assertLessEqual({"real.png", "fake_0002.png", "fake_0004.png",
                                      "losses.csv", "losses.png", "checkpoint.pt",
                                      "metrics.json"}, names)
                rows = (self.out / "losses.csv").read_text().splitlines()
                self.assertEqual(rows[0], "step,d_loss,g_loss")
                self.assertEqual([r.split(",")[0] for r in rows[1:]], ["1", "2", "3", "4"])
                checkpoint = torch.load(self.out / "checkpoint.pt", weights_only=True)
                self.assertEqual(checkpoint["step"], 4)
                self.assertEqual(checkpoint["args"]["loss_type"], loss_type)
                self.assertTrue(all(isinstance(v, torch.Tensor) for v in checkpoint["g"].values()))
                metrics = json.loads((self.out / "metrics.json").read_text())
                self.assertEqual(metrics["steps"], 4)

    def test_the_fast_step_trains_like_a_plain_loop(self):
        """Per-network backward passes, channels-last networks and fused Adam change nothing
        beyond rounding: the first three steps' losses match, to 2e-3, a loop with full
        backward passes, the default layout and the default Adam. (Later steps drift apart
        from rounding, as any two GAN runs do.)"""
        images, labels = load_fashion_mnist("train", self.tmp / "data")
        for model, loss_type in gan_trainer.LOSSES:
            with self.subTest(model=model, loss_type=loss_type):
                status, stderr = self.train("--model", model, "--loss_type", loss_type,
                                            "--seed", "5", "--overwrite")
                self.assertEqual(status, 0, stderr)
                rows = (self.out / "losses.csv").read_text().splitlines()[1:4]
                trained = torch.tensor([[float(v) for v in row.split(",")[1:]] for row in rows])

                defaults = main.MODEL_DEFAULTS[model]
                torch.manual_seed(5)
                g, d = gan_trainer.build_networks(model, torch.device("cpu"))
                g_optimizer = torch.optim.Adam(g.parameters(), lr=defaults["lr"],
                                               betas=gan_trainer.ADAM_BETAS)
                d_optimizer = torch.optim.Adam(d.parameters(), lr=defaults["lr"],
                                               betas=gan_trainer.ADAM_BETAS)
                order = torch.Generator().manual_seed(5)
                batches = shuffled_batches(images, labels, defaults["batch_size"], generator=order)
                plain = []
                for x, y in list(batches)[:3]:
                    losses = course_step(g, d, g_optimizer, d_optimizer,
                                         gan_trainer.LOSSES[(model, loss_type)], x,
                                         *((y,) if model == "cgan" else ()))
                    plain.append([loss.item() for loss in losses])
                # Rounding alone moves the third step's losses by up to 5e-4, as the thread
                # count changes the kernels' order of sums (1 to 16 threads measured). A gradient
                # skipped moves them by over 1e-2; gradients left to pile up, by 1e-3 to 9e-3.
                torch.testing.assert_close(trained, torch.tensor(plain), rtol=0, atol=2e-3)

    def test_a_loss_may_differentiate_at_the_generators_output(self):
        """A critic loss that takes gradients at ``g(z)`` itself (as WGAN-GP solutions that
        interpolate without ``requires_grad_`` do) needs g's graph in d's step: it is kept."""
        def critic_loss(g, d, x_real, *, device):
            x_fake = g(torch.randn(len(x_real), g.dim_z, device=device))
            (grad,) = torch.autograd.grad(d(x_fake).sum(), x_fake, create_graph=True)
            return d(x_fake).mean() - d(x_real).mean() + grad.square().mean()

        losses = {("gan", "wasserstein_gp"): (critic_loss, gan.loss_wasserstein_gp_g)}
        with mock.patch.object(gan_trainer, "LOSSES", losses):
            status, stderr = self.train("--model", "gan", "--loss_type", "wasserstein_gp")
        self.assertEqual(status, 0, stderr)

    def test_bfloat16_computes_every_loss_under_autocast_and_is_recorded(self):
        """With --precision bfloat16 every loss of every model runs under bfloat16 autocast (a
        matrix product made inside it comes out in bfloat16; with float32, in float32), the
        setting is recorded and the weights stay float32."""
        def probed(loss_fn, seen: list):
            def loss(*args, **kwargs):
                seen.append((torch.ones(1, 1) @ torch.ones(1, 1)).dtype)
                return loss_fn(*args, **kwargs)
            return loss

        cases = [(key, "bfloat16") for key in gan_trainer.LOSSES]
        cases.append((("gan", "nonsaturating"), "float32"))
        for (model, loss_type), precision in cases:
            with self.subTest(model=model, loss_type=loss_type, precision=precision):
                seen = []
                losses = {(model, loss_type): tuple(probed(loss_fn, seen) for loss_fn
                                                    in gan_trainer.LOSSES[(model, loss_type)])}
                with mock.patch.object(gan_trainer, "LOSSES", losses):
                    status, stderr = self.train("--model", model, "--loss_type", loss_type,
                                                "--precision", precision, "--overwrite")
                self.assertEqual(status, 0, stderr)
                self.assertEqual(seen, [getattr(torch, precision)] * 8)  # 4 steps of d and g
                checkpoint = torch.load(self.out / "checkpoint.pt", weights_only=True)
                self.assertEqual(checkpoint["args"]["precision"], precision)
                self.assertEqual({v.dtype for v in checkpoint["g"].values()
                                  if v.is_floating_point()}, {torch.float32})

    def test_the_cgan_grid_shows_class_j_in_column_j(self):
        """The grid's 100 inputs, laid out ten a row, have the labels 0..9 along every row."""
        _, labels = gan_trainer.fixed_inputs("cgan", 64, 0, torch.device("cpu"))
        self.assertEqual(labels.reshape(10, 10).tolist(), [list(range(10))] * 10)

    def test_cgan_refuses_wasserstein_gp(self):
        status, stderr = self.train("--model", "cgan", "--loss_type", "wasserstein_gp")
        self.assertEqual(status, 2)
        self.assertIn("nonsaturating only", stderr)

    def test_resume_continues_exactly(self):
        straight = self.out.with_name("straight")
        status, _ = run_main("--data_dir", str(self.tmp / "data"), "--out_dir", str(straight),
                             "--model", "cgan", "--n_epochs", "2")
        self.assertEqual(status, 0)

        calls = []
        real_loss = gan.conditional_loss_nonsaturating_g

        def interrupted_in_step_five(*args, **kwargs):
            calls.append(1)
            if len(calls) == 5:
                raise KeyboardInterrupt
            return real_loss(*args, **kwargs)

        losses = dict(gan_trainer.LOSSES)
        losses[("cgan", "nonsaturating")] = (gan.conditional_loss_nonsaturating_d,
                                             interrupted_in_step_five)
        with mock.patch.object(gan_trainer, "LOSSES", losses):
            status, stderr = self.train("--model", "cgan", "--n_epochs", "2")
        self.assertEqual(status, 130)
        self.assertIn("--resume", stderr)
        self.assertEqual(torch.load(self.out / "checkpoint.pt", weights_only=True)["step"], 4)

        status, stderr = self.train("--model", "cgan", "--resume")
        self.assertEqual(status, 0, stderr)
        resumed = torch.load(self.out / "checkpoint.pt", weights_only=True)
        expected = torch.load(straight / "checkpoint.pt", weights_only=True)
        self.assertEqual(resumed["step"], 8)
        for network in ("g", "d"):
            for name, tensor in expected[network].items():
                torch.testing.assert_close(resumed[network][name], tensor, rtol=0, atol=0)
        self.assertEqual(resumed["history"], expected["history"])

    def test_an_existing_run_is_kept(self):
        self.assertEqual(self.train("--model", "gan")[0], 0)
        before = (self.out / "checkpoint.pt").read_bytes()
        status, stderr = self.train("--model", "gan")
        self.assertEqual(status, 2)
        self.assertIn("already holds a run", stderr)
        self.assertEqual((self.out / "checkpoint.pt").read_bytes(), before)

    def test_a_folder_of_the_other_trainer_is_refused(self):
        flow_dir = self.tmp / "runs" / "flow"
        self.assertEqual(self.train("--model", "gan")[0], 0)
        self.assertEqual(run_main(*SMALL, "--out_dir", str(flow_dir))[0], 0)
        folders = (self.out, flow_dir)
        before = {path: path.read_bytes() for folder in folders for path in folder.iterdir()}
        attempts = [  # a flow run into the GAN's folder, a GAN run into the flow's folder
            (SMALL + ["--out_dir", str(self.out)],
             "already holds a run (checkpoint.pt, metrics.json)"),
            (SMALL + ["--out_dir", str(self.out), "--resume"], "a run of another model"),
            (["--data_dir", str(self.tmp / "data"), "--out_dir", str(flow_dir), "--model", "gan"],
             "already holds a run (checkpoint_best.pt, checkpoint_last.pt, metrics.json)"),
            (["--data_dir", str(self.tmp / "data"), "--out_dir", str(flow_dir), "--model", "cgan",
              "--resume"], "a run of another model"),
        ]
        for argv, message in attempts:
            with self.subTest(argv=argv):
                status, stderr = run_main(*argv)
                self.assertEqual(status, 2)
                self.assertIn(message, stderr)
        after = {path: path.read_bytes() for folder in folders for path in folder.iterdir()}
        self.assertEqual(after, before)
        status, stderr = run_main(*SMALL, "--out_dir", str(self.out), "--overwrite")
        self.assertEqual(status, 0, stderr)

    def test_nan_loss_at_a_save_step_stops_before_the_save(self):
        """A NaN at step 4, where a checkpoint is due, stops the run before that save: the
        checkpoint and losses.csv still hold step 2, every value finite."""
        calls = []
        real_loss = gan.loss_nonsaturating_d

        def nan_in_step_four(*args, **kwargs):
            calls.append(1)
            loss = real_loss(*args, **kwargs)
            return loss * float("nan") if len(calls) == 4 else loss

        losses = dict(gan_trainer.LOSSES)
        losses[("gan", "nonsaturating")] = (nan_in_step_four, gan.loss_nonsaturating_g)
        with mock.patch.object(gan_trainer, "LOSSES", losses):
            status, stderr = self.train("--model", "gan")
        self.assertEqual(status, 1)
        self.assertIn("diverged at step 4", stderr)
        self.assertIn("keeps the last good state (step 2)", stderr)
        checkpoint = torch.load(self.out / "checkpoint.pt", weights_only=True)
        self.assertEqual(checkpoint["step"], 2)
        values = checkpoint["history"]["d_loss"] + checkpoint["history"]["g_loss"]
        self.assertTrue(len(values) == 4 and all(map(math.isfinite, values)), values)
        rows = (self.out / "losses.csv").read_text().splitlines()[1:]
        self.assertEqual([row.split(",")[0] for row in rows], ["1", "2"])

    def test_without_out_dir_a_run_goes_to_its_model_and_loss_types_folder(self):
        """The problem set's folder names (gan_wass_gp for WGAN-GP, not gan_nonsat), and
        MODEL_LOSSTYPE for a pairing it does not name; relative to the working folder."""
        runs = self.tmp / "cwd"
        runs.mkdir()
        cwd = os.getcwd()
        os.chdir(runs)
        self.addCleanup(os.chdir, cwd)
        for argv, folder in [(["--model", "gan", "--loss_type", "wasserstein_gp"], "gan_wass_gp"),
                             (["--model", "gan", "--loss_type", "minimax"], "gan_minimax"),
                             (["--model", "gan"], "gan_nonsat")]:
            with self.subTest(argv=argv):
                status, stderr = run_main(*argv, "--data_dir", str(self.tmp / "data"))
                self.assertEqual(status, 0, stderr)
                self.assertTrue((runs / folder / "checkpoint.pt").is_file())
        self.assertEqual(sorted(path.name for path in runs.iterdir()),
                         ["gan_minimax", "gan_nonsat", "gan_wass_gp"])

    def test_missing_data_is_one_clear_message(self):
        status, stderr = run_main("--model", "gan", "--out_dir", str(self.out),
                                  "--data_dir", str(self.tmp / "nowhere"))
        self.assertEqual(status, 2)
        self.assertEqual(len(stderr.strip().splitlines()), 1, stderr)
        self.assertIn("--data_dir", stderr)
        self.assertIn("FASHION_MNIST_DIR", stderr)
        self.assertNotIn("Traceback", stderr)
        self.assertFalse(self.out.parent.exists())  # no run folder was made

    def test_sampler_writes_images_and_labels(self):
        self.assertEqual(self.train("--model", "cgan")[0], 0)
        npz = self.tmp / "samples.npz"
        status, stderr = run_main("--sample", str(self.out), "--n", "1234", "--out", str(npz))
        self.assertEqual(status, 0, stderr)
        with np.load(npz) as arrays:
            images, labels = arrays["images"], arrays["labels"]
        self.assertEqual(images.shape, (1234, 1, 28, 28))
        self.assertEqual(images.dtype, np.float32)
        self.assertTrue(-1 <= images.min() and images.max() <= 1)
        self.assertEqual(labels.tolist(), [i % 10 for i in range(1234)])

        status, stderr = run_main("--sample", str(self.out), "--n", "5", "--out", str(npz))
        self.assertEqual(status, 2)
        self.assertIn("exists", stderr)
        status, _ = run_main("--sample", str(self.out), "--n", "5", "--out", str(npz),
                             "--class", "7", "--overwrite")
        self.assertEqual(status, 0)
        with np.load(npz) as arrays:
            self.assertEqual(arrays["labels"].tolist(), [7] * 5)

    def test_sampler_refusals(self):
        cases = [(["--sample", str(self.tmp / "none"), "--out", str(self.tmp / "a.npz")],
                  "does not exist"),
                 (["--sample", str(self.out), "--out", str(self.tmp / "a.txt")],
                  "must end in .npz"),
                 (["--sample", str(self.out), "--class", "10"], "from 0 to 9")]
        for argv, message in cases:
            with self.subTest(argv=argv):
                status, stderr = run_main(*argv)
                self.assertEqual(status, 2)
                self.assertIn(message, stderr)


class FixedOutputs(nn.Module):
    """A generator whose outputs are its parameter ``(B, 1, 1, 1)``, whatever the noise."""

    dim_z = 1

    def __init__(self, outputs: torch.Tensor):
        super().__init__()
        self.outputs = nn.Parameter(outputs)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.outputs


class MinimaxLossTest(unittest.TestCase):
    def test_value_and_gradient_are_those_of_equation_8(self):
        """On a hand-made G and D (G outputs the numbers h, D passes each on as its logit),
        ``loss_minimax_g`` is the mean of log(1 - sigma(h)) and its gradient in each h is
        -sigma(h) / B, both written out here with ``math``: at h = -12, where D rejects the
        fake, it vanishes (under 1e-5), where the non-saturating loss's is about -1 / B."""
        logits = [-12.0, -3.0, -0.5, 0.0, 2.0]
        g = FixedOutputs(torch.tensor(logits).reshape(5, 1, 1, 1))
        loss = gan.loss_minimax_g(g, nn.Flatten(0), torch.zeros(5, 1, 28, 28), device="cpu")
        loss.backward()
        sigma = [1 / (1 + math.exp(-h)) for h in logits]
        self.assertAlmostEqual(loss.item(), sum(math.log(1 - s) for s in sigma) / 5, places=6)
        torch.testing.assert_close(g.outputs.grad.flatten(),
                                   torch.tensor([-s / 5 for s in sigma]), rtol=1e-5, atol=0)
        self.assertLess(abs(g.outputs.grad[0].item()), 1e-5)

    def test_the_trainer_pairs_it_with_the_usual_discriminator_loss(self):
        """``--loss_type minimax`` trains D as every GAN does and G with the minimax loss."""
        self.assertEqual(gan_trainer.LOSSES[("gan", "minimax")],
                         (gan.loss_nonsaturating_d, gan.loss_minimax_g))


if __name__ == "__main__":
    unittest.main()
