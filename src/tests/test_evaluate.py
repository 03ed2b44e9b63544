"""evaluate.py: the Frechet distance, the Moons entropy, the committed classifier, and the
evaluation of runs on synthetic data: known cases with stand-in generators and an identity
flow, and tiny trained GAN, cgan and flow runs end to end."""

import contextlib
import io
import json
import math
import shutil
import tempfile
import unittest
from pathlib import Path
from unittest import mock

import numpy as np
import scipy.linalg
import torch
from scipy.spatial import cKDTree
from scipy.special import digamma
from sklearn.datasets import make_moons
from torch import nn

import evaluate
import main
from evaluate import feature_statistics, frechet_distance
from submission.flow_network import MAF
from tests.test_fashion_mnist import official_split, write_idx, write_split
from tests.test_flow_trainer import SMALL, run_main
from training import classifier, flow_trainer, gan_trainer
from training.data import MOONS_SIZES, moons_raw_splits, moons_splits


def run_evaluate(*argv: str) -> tuple[int, str, str]:
    """Runs ``evaluate.main(argv)``; returns its exit status, stdout and stderr."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            status = evaluate.main(list(argv))
        except SystemExit as exit_:  # argparse errors and UserError
            status = exit_.code
    return status, stdout.getvalue(), stderr.getvalue()


def random_covariance(rng: np.random.Generator, dim: int) -> np.ndarray:
    """A well-conditioned symmetric positive definite ``(dim, dim)`` matrix."""
    a = rng.normal(size=(dim, dim))
    return a @ a.T / dim + 0.5 * np.eye(dim)


class ImageBank(nn.Module):
    """A stand-in generator that ignores its noise: ``g(z)`` gives the next ``len(z)`` rows of
    ``images``, ``g(z, y)`` gives ``images[y]``."""

    dim_z = 2

    def __init__(self, images: torch.Tensor):
        super().__init__()
        self.images, self.used = images, 0

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if y is not None:
            return self.images[y]
        self.used += len(z)
        return self.images[self.used - len(z):self.used]


def scaled(images: np.ndarray) -> torch.Tensor:
    """uint8 images ``(N, 28, 28)`` as the loader gives them: ``(N, 1, 28, 28)`` in [-1, 1]."""
    return torch.from_numpy(images).float()[:, None] / 127.5 - 1


class FrechetDistanceTest(unittest.TestCase):
    def test_two_draws_of_one_set_are_close_and_noise_moves_them_apart(self):
        rng = np.random.default_rng(0)
        mean, cov = rng.normal(size=16), random_covariance(rng, 16)
        a, b = rng.multivariate_normal(mean, cov, size=(2, 20_000))
        reference = feature_statistics(a)
        self.assertLess(frechet_distance(*reference, *feature_statistics(b)), 0.02)
        noise = rng.normal(size=b.shape)
        distances = [frechet_distance(*reference, *feature_statistics(b + level * noise))
                     for level in [0.1, 0.3, 1.0, 3.0]]
        self.assertEqual(distances, sorted(distances))
        self.assertGreater(distances[-1], 100 * distances[0])

    def test_the_closed_form_of_diagonal_gaussians(self):
        rng = np.random.default_rng(1)
        mu1, mu2 = rng.normal(size=(2, 10))
        s1, s2 = rng.uniform(0.1, 3.0, size=(2, 10))
        expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(s1) - np.sqrt(s2)) ** 2)
        self.assertAlmostEqual(frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)), expected,
                               places=10)
        # A rotation of both leaves the distance as it is, though the matrices are not diagonal.
        q, _ = np.linalg.qr(rng.normal(size=(10, 10)))
        rotated = frechet_distance(q @ mu1, q @ np.diag(s1) @ q.T, q @ mu2, q @ np.diag(s2) @ q.T)
        self.assertAlmostEqual(rotated, expected, places=10)

    def test_general_covariances_match_a_general_matrix_square_root(self):
        rng = np.random.default_rng(2)
        mu1, mu2 = rng.normal(size=(2, 12))
        s1, s2 = random_covariance(rng, 12), random_covariance(rng, 12)
        expected = (np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2)
                    - 2 * np.trace(scipy.linalg.sqrtm(s1 @ s2)).real)
        self.assertAlmostEqual(frechet_distance(mu1, s1, mu2, s2), expected, places=8)
        self.assertAlmostEqual(frechet_distance(mu1, s1, mu1, s1), 0.0, places=10)


class MoonsEntropyTest(unittest.TestCase):
    def test_the_grid_agrees_with_monte_carlo_and_with_the_1_127_figure(self):
        """The grid's entropy, 1.1312, agrees with -mean log p over the 30,000 points of seed
        777 (1.127, the figure sometimes quoted) to within three standard errors, 0.012: the
        same density formula, integrated another way, confirms it to about 0.01."""
        entropy = evaluate.moons_entropy()
        self.assertAlmostEqual(entropy, 1.1312, places=4)
        # -mean log p over the 30,000 standardised points of seed 777: the figure of 1.127.
        splits = moons_raw_splits(777)
        raw = np.concatenate(list(splits.values()))
        std = splits["train"].std(axis=0)
        log_p = evaluate.moons_log_density(raw) + np.log(std).sum()  # of the standardised points
        self.assertAlmostEqual(-log_p.mean(), 1.127, places=3)
        standard_error = log_p.std() / math.sqrt(len(log_p))
        self.assertLess(abs(-log_p.mean() - entropy), 3 * standard_error)

    def test_the_grid_is_converged(self):
        """Halving the grid's step or doubling the arc points moves the entropy by less than
        1e-5: a bound on the quadrature's error alone, not a check of the density formula."""
        entropy = evaluate.moons_entropy()
        self.assertAlmostEqual(evaluate.moons_entropy(step=0.005), entropy, delta=1e-5)
        with mock.patch.object(evaluate, "ARC_POINTS", 2 * evaluate.ARC_POINTS):
            self.assertAlmostEqual(evaluate.moons_entropy(), entropy, delta=1e-5)

    def test_a_nearest_neighbour_estimate_on_the_data_agrees(self):
        """Kozachenko-Leonenko's estimate, from the data alone, agrees to 0.03."""
        # Nothing of the density formula: psi(N) - psi(1) + log(pi) + 2 mean log (distance to
        # the nearest neighbour), in 2-D.
        points = moons_splits(777)["train"].double().numpy()
        distances, _ = cKDTree(points).query(points, k=2)
        estimate = (digamma(len(points)) - digamma(1) + math.log(math.pi)
                    + 2 * np.log(distances[:, 1]).mean())
        self.assertAlmostEqual(estimate, evaluate.moons_entropy(), delta=0.03)

    def test_the_standardisation_is_that_of_moons_splits(self):
        """``moons_raw_splits`` is make_moons' draw in order, ``moons_splits`` standardises it
        with the training split's statistics, and the true density's NLL on the 3,000 test
        points is the entropy to within 0.05."""
        raw, _ = make_moons(n_samples=sum(MOONS_SIZES.values()), noise=0.05, random_state=3)
        splits = moons_raw_splits(3)
        np.testing.assert_array_equal(np.concatenate(list(splits.values())), raw)
        mean, std = splits["train"].mean(axis=0), splits["train"].std(axis=0)
        np.testing.assert_allclose(moons_splits(3)["test"].double().numpy() * std + mean,
                                   raw[-MOONS_SIZES["test"]:], atol=1e-5)
        # A perfect model's NLL on the 3,000 test points: the entropy, up to their noise.
        self.assertAlmostEqual(evaluate.moons_true_test_nll(3), evaluate.moons_entropy(),
                               delta=0.05)


class CommittedClassifierTest(unittest.TestCase):
    def setUp(self):
        self.info = json.loads(classifier.WEIGHTS.with_suffix(".json").read_text())

    def test_the_weights_are_small_and_the_ones_described(self):
        self.assertLess(classifier.WEIGHTS.stat().st_size, 1 << 20)
        self.assertEqual(classifier.file_sha256(classifier.WEIGHTS), self.info["sha256"])
        self.assertGreaterEqual(self.info["test_accuracy"], 0.92)

    def test_classify_gives_the_penultimate_features_and_the_heads_classes(self):
        """``classify`` returns the 128 features that feed the head, in float64, and the
        classes of the head's largest logits on them."""
        model = classifier.load_classifier(classifier.WEIGHTS, torch.device("cpu"))
        features, predicted = classifier.classify(model, torch.rand(7, 1, 28, 28) * 2 - 1)
        self.assertEqual((features.shape, features.dtype), ((7, 128), np.float64))
        with torch.no_grad():
            logits = model.head(torch.from_numpy(features).float())
        self.assertEqual(predicted.tolist(), logits.argmax(1).tolist())

    def test_the_stored_test_accuracy_is_reproduced(self):
        """The committed weights classify the official test images (wherever the loader finds
        them) with the accuracy their .json records."""
        images, labels = official_split("test")
        model = classifier.load_classifier(classifier.WEIGHTS, torch.device("cpu"))
        _, predicted = classifier.classify(model, images)
        accuracy = (predicted == labels).double().mean().item()
        self.assertAlmostEqual(accuracy, self.info["test_accuracy"], delta=0.001)


class EvaluateRunsTest(unittest.TestCase):
    """Runs on synthetic data, evaluated with the committed classifier (one test reads the
    classes off the pixels instead)."""

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.tmp)
        self.data = self.tmp / "data"
        self.train_images, _ = write_split(self.data, n=256)
        self.test_images, _ = write_split(self.data, n=120, split="test")
        patcher = mock.patch.object(gan_trainer, "GRID_EVERY", 2)
        patcher.start()  # start/stop rather than enterContext: Python 3.10 has none
        self.addCleanup(patcher.stop)

    def train_and_evaluate(self, model: str, *argv: str) -> dict:
        """Trains a tiny ``model`` run, evaluates it; returns its eval.json."""
        run = self.tmp / model
        status, stderr = run_main("--model", model, "--out_dir", str(run), "--data_dir",
                                  str(self.data))
        self.assertEqual(status, 0, stderr)
        status, stdout, stderr = run_evaluate(str(run), "--data_dir", str(self.data), *argv)
        self.assertEqual(status, 0, stderr)
        self.assertIn("FD-FMNIST", stdout)
        return json.loads((run / evaluate.EVAL_FILE).read_text())

    def evaluate_bank(self, model: str, images: torch.Tensor, *argv: str) -> dict:
        """eval.json of a ``model`` run whose generator is ``ImageBank(images)``."""
        run = self.tmp / "bank"
        run.mkdir(exist_ok=True)
        (run / gan_trainer.CHECKPOINT).touch()  # marks the folder as a GAN run's
        checkpoint = {"args": {"model": model, "loss_type": "nonsaturating"}, "step": 0}
        with mock.patch.object(evaluate, "load_generator",
                               return_value=(ImageBank(images), checkpoint)):
            status, _, stderr = run_evaluate(str(run), "--data_dir", str(self.data), *argv)
        self.assertEqual(status, 0, stderr)
        return json.loads((run / evaluate.EVAL_FILE).read_text())

    def test_the_fd_is_taken_against_the_test_images_and_the_floor_the_training_images(self):
        """Known cases: a generator that replays the 120 test images scores an FD-FMNIST of 0,
        and one that replays all 256 training images scores the floor (drawn from those same
        256 images), which is well above 0."""
        as_test = self.evaluate_bank("gan", scaled(self.test_images), "--n", "120")
        self.assertAlmostEqual(as_test["fd_fmnist"], 0, delta=1e-6)
        as_train = self.evaluate_bank("gan", scaled(self.train_images), "--n", "256")
        self.assertEqual(as_train["floor_n_train"], 256)
        self.assertGreater(as_train["fd_fmnist"], 0.01)
        self.assertAlmostEqual(as_train["fd_fmnist"], as_train["fd_fmnist_floor"], delta=1e-6)

    def test_the_class_accuracy_scores_each_sample_against_its_own_class(self):
        """A known case, with a stand-in classifier that reads the class off the pixel values:
        the generator draws classes 0-4 as themselves and 5-9 as the next class, so classes
        0-4 score 1, classes 5-9 score 0, and all 50 samples together 0.5."""
        drawn_as = torch.tensor([0, 1, 2, 3, 4, 6, 7, 8, 9, 0])
        images = (drawn_as / 10).reshape(10, 1, 1, 1).expand(10, 1, 28, 28)

        def read_class(model, images: torch.Tensor) -> tuple[np.ndarray, torch.Tensor]:
            features = images.flatten(1)[:, :8].double().numpy()
            return features, (images[:, 0, 0, 0] * 10).round().long()

        with mock.patch.object(evaluate, "classify", read_class):
            result = self.evaluate_bank("cgan", images, "--n", "50")
        self.assertEqual(result["class_accuracy_per_class"],
                         {name: float(c < 5) for c, name in enumerate(gan_trainer.CLASS_NAMES)})
        self.assertEqual(result["class_accuracy"], 0.5)

    def test_the_real_images_accuracy_scores_the_test_images_against_their_labels(self):
        """The same stand-in classifier on test images whose pixels read as their label for
        classes 5-9 and as 0 for classes 0-4 (labels cycle 0..9): per class 1 for 0 and 5-9, 0 for
        1-4, 0.6 overall, whatever the generator draws."""
        labels = np.arange(120) % 10
        read_as = np.where(labels < 5, 0, labels)
        pixels = np.round((read_as / 10 + 1) * 127.5).astype(np.uint8)  # / 127.5 - 1 = class/10
        write_idx(self.data / "t10k-images-idx3-ubyte.gz",
                  np.broadcast_to(pixels[:, None, None], (120, 28, 28)).copy())

        def read_class(model, images: torch.Tensor) -> tuple[np.ndarray, torch.Tensor]:
            features = images.flatten(1)[:, :8].double().numpy()
            return features, (images[:, 0, 0, 0] * 10).round().long()

        with mock.patch.object(evaluate, "classify", read_class):
            result = self.evaluate_bank("cgan", torch.zeros(10, 1, 28, 28), "--n", "50")
        self.assertEqual(result["real_class_accuracy_per_class"],
                         {name: float(c == 0 or c >= 5)
                          for c, name in enumerate(gan_trainer.CLASS_NAMES)})
        self.assertEqual(result["real_class_accuracy"], 0.6)

    def test_the_identity_flow_scores_the_standard_normals_nll(self):
        """A closed form: a MAF with every weight 0 is the identity, so its test NLL is that of
        N(0, I) on the standardised test points, log 2pi + mean |x|^2 / 2 (about 2.84), and its
        gaps, that NLL minus the entropy 1.1312 and minus the true density's NLL, are
        positive."""
        run = self.tmp / "identity"
        run.mkdir()
        model = MAF(2, 8, 1, 2)
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.zero_()
        args = {"hidden_size": 8, "n_hidden": 1, "n_flows": 2, "seed": 5}
        torch.save({"model": model.state_dict(), "epoch": 3, "args": args},
                   run / flow_trainer.BEST)
        status, _, stderr = run_evaluate(str(run))
        self.assertEqual(status, 0, stderr)
        result = json.loads((run / evaluate.EVAL_FILE).read_text())
        test = moons_splits(5)["test"].double().numpy()
        nll = math.log(2 * math.pi) + 0.5 * np.square(test).sum(axis=1).mean()
        self.assertAlmostEqual(result["test_nll"], nll, places=5)
        self.assertAlmostEqual(result["nll_gap"], nll - 1.1312, places=4)
        self.assertAlmostEqual(result["nll_gap_same_points"],
                               nll - evaluate.moons_true_test_nll(5), places=5)

    def test_a_gan_run(self):
        """A trained tiny GAN run: eval.json's fields and counts, finite distances, the same
        numbers again with the same seed and others with another."""
        result = self.train_and_evaluate("gan", "--n", "100")
        self.assertLessEqual({"model", "steps", "n", "seed", "n_test", "fd_fmnist",
                              "fd_fmnist_floor", "floor_n_train", "classifier"}, set(result))
        self.assertEqual((result["model"], result["steps"], result["n"], result["n_test"],
                          result["floor_n_train"]), ("gan", 4, 100, 120, 100))
        for key in ("fd_fmnist", "fd_fmnist_floor"):
            self.assertTrue(math.isfinite(result[key]) and result[key] >= 0, result)
        self.assertNotIn("class_accuracy", result)
        # Seeded: the same numbers again, other numbers with another seed.
        run = self.tmp / "gan"
        self.assertEqual(run_evaluate(str(run), "--data_dir", str(self.data), "--n", "100")[0], 0)
        self.assertEqual(json.loads((run / evaluate.EVAL_FILE).read_text()), result)
        run_evaluate(str(run), "--data_dir", str(self.data), "--n", "100", "--seed", "1")
        again = json.loads((run / evaluate.EVAL_FILE).read_text())
        self.assertNotEqual(again["fd_fmnist"], result["fd_fmnist"])

    def test_a_cgan_run_gives_the_class_accuracy_per_class(self):
        """A trained tiny cgan run: an accuracy in [0, 1] for each of the ten classes, named in
        order, whose mean is the overall accuracy (five samples a class)."""
        result = self.train_and_evaluate("cgan", "--n", "50")
        per_class = result["class_accuracy_per_class"]
        self.assertEqual(list(per_class), gan_trainer.CLASS_NAMES)
        self.assertTrue(all(0 <= value <= 1 for value in per_class.values()))
        self.assertAlmostEqual(result["class_accuracy"], np.mean(list(per_class.values())))

    def test_a_flow_run_gives_the_nll_gap(self):
        """A trained tiny flow run: its test NLL is the trainer's test log-likelihood negated,
        and its gaps are finite."""
        run = self.tmp / "maf"
        self.assertEqual(run_main(*SMALL, "--out_dir", str(run))[0], 0)
        status, stdout, stderr = run_evaluate(str(run))
        self.assertEqual(status, 0, stderr)
        self.assertIn("gap to the entropy", stdout)
        result = json.loads((run / evaluate.EVAL_FILE).read_text())
        metrics = json.loads((run / "metrics.json").read_text())
        self.assertAlmostEqual(result["test_nll"], -metrics["test_log_likelihood"], places=5)
        self.assertAlmostEqual(result["nll_gap"], result["test_nll"] - result["data_entropy"])
        self.assertTrue(all(math.isfinite(result[key]) for key in
                            ("nll_gap", "true_density_test_nll", "nll_gap_same_points")))

    def test_train_classifier_writes_weights_and_how_they_were_made(self):
        weights = self.tmp / "clf" / "weights.pt"
        argv = ["--train-classifier", "--data_dir", str(self.data), "--classifier", str(weights),
                "--n", "100"]
        with mock.patch.object(classifier, "EPOCHS", 1):
            status, stdout, stderr = run_evaluate(*argv)
        self.assertEqual(status, 0, stderr)
        info = json.loads(weights.with_suffix(".json").read_text())
        self.assertEqual(info["sha256"], classifier.file_sha256(weights))
        self.assertEqual(info["fd_fmnist_floor"]["n_train"], 100)
        self.assertTrue(0 <= info["test_accuracy"] <= 1)
        stored = torch.load(weights, weights_only=True)
        self.assertEqual({t.dtype for t in stored.values() if t.is_floating_point()},
                         {torch.float16})
        status, _, stderr = run_evaluate(*argv)
        self.assertEqual(status, 2)
        self.assertIn("--overwrite", stderr)

    def test_refusals_are_one_line(self):
        (self.tmp / "empty").mkdir()
        cases = [([str(self.tmp / "nowhere")], "does not exist"),
                 ([str(self.tmp / "empty")], "holds no run"),
                 ([], "give either a run folder DIR or --train-classifier"),
                 ([str(self.tmp / "empty"), "--n", "5"], "at least 10")]
        for argv, message in cases:
            with self.subTest(argv=argv):
                status, _, stderr = run_evaluate(*argv)
                self.assertEqual(status, 2)
                self.assertIn(message, stderr)
                self.assertEqual(len(stderr.strip().splitlines()), 1, stderr)

        run = self.tmp / "gan"
        self.assertEqual(run_main("--model", "gan", "--out_dir", str(run), "--data_dir",
                                  str(self.data))[0], 0)
        status, _, stderr = run_evaluate(str(run), "--classifier", str(self.tmp / "none.pt"))
        self.assertEqual(status, 2)
        self.assertIn("are missing; make them with `python evaluate.py --train-classifier`",
                      stderr)
        self.assertNotIn("Traceback", stderr)


class TableTest(unittest.TestCase):
    """What ``evaluate.table`` prints beside each number."""

    def gan_result(self, **changes) -> dict:
        result = {"run": "run", "model": "gan", "loss_type": "nonsaturating",
                  "precision": "float32", "steps": 937, "n": 10_000, "seed": 0, "n_test": 10_000,
                  "fd_fmnist": 150.0, "fd_fmnist_floor": 0.323, "floor_n_train": 10_000,
                  "classifier": {"sha256": evaluate.one_epoch()["classifier"]}}
        return {**result, **changes}

    def test_the_fd_has_its_direction_its_floor_and_the_band_it_lies_in(self):
        band = evaluate.bands("gan")["fd_fmnist"]
        healthy, wrong = band["healthy_below"], band["wrong_above"]
        words = (f"lower is better; one epoch at the defaults: healthy below {healthy:g}, "
                 f"something is wrong above {wrong:g}; ")
        for value, verdict in [(healthy - 1, "this run is healthy"),
                               ((healthy + wrong) / 2, "unusual: train again with another --seed"),
                               (wrong + 1, "this run has gone wrong: check your losses")]:
            with self.subTest(value=value):
                rows = evaluate.table(self.gan_result(fd_fmnist=value)).splitlines()
                self.assertIn(words + verdict, rows[1])
                self.assertIn("0.323   a perfect generator's FD-FMNIST (real images)", rows[2])
                self.assertRegex(rows[-1], r"^  \(the bands: \d+ sound one-epoch runs of gan \(\d+ "
                                 r"seeds, 1 and 2 threads, bfloat16 and float32, \d known "
                                 r"machines?\) and \d+ broken ones?; "
                                 r"training/results/one_epoch.json\)$")
        bfloat16 = evaluate.table(self.gan_result(precision="bfloat16", loss_type="minimax"))
        self.assertIn(words + "this run is healthy", bfloat16)  # one band for every gan

    def test_the_bands_are_shown_only_where_the_run_was_measured_as_they_were(self):
        """Another --n or another classifier gives other FD-FMNIST values: no bands then, and
        a line saying why."""
        for changes in [{"n": 1000}, {"classifier": {"sha256": "0" * 64}}]:
            with self.subTest(changes=changes):
                text = evaluate.table(self.gan_result(**changes))
                self.assertNotIn("one epoch at the defaults", text)
                self.assertIn("lower is better", text)
                self.assertTrue(text.endswith("(the bands of one epoch hold for --n 10000 and the "
                                              "committed classifier only)"), text)

    def test_the_class_accuracy_has_chance_the_real_images_and_its_band(self):
        names = gan_trainer.CLASS_NAMES
        band = evaluate.bands("cgan")["class_accuracy"]
        result = self.gan_result(
            model="cgan", fd_fmnist=60.0, class_accuracy=band["wrong_below"] - 0.01,
            real_class_accuracy=0.9271,
            class_accuracy_per_class={name: 0.8 for name in names},
            real_class_accuracy_per_class={name: 0.75 if name == "Shirt" else 0.95
                                           for name in names})
        rows = evaluate.table(result).splitlines()
        self.assertIn("this run is healthy", rows[1])
        self.assertIn(f"chance 0.100, real test images 0.927; one epoch at the defaults: healthy "
                      f"above {band['healthy_above']:g}, something is wrong below "
                      f"{band['wrong_below']:g}; this run has gone wrong", rows[3])
        self.assertEqual(len(rows), 5 + len(names))
        self.assertTrue(rows[4 + names.index("Shirt")].endswith("0.800   real 0.750"))
        self.assertIn("runs of cgan", rows[-1])

    def test_the_flow_rows_give_the_default_run(self):
        result = {"run": "maf", "model": "flow", "epoch": 49, "test_nll": 1.2,
                  "data_entropy": 1.1312, "nll_gap": 0.0688, "true_density_test_nll": 1.1455,
                  "nll_gap_same_points": 0.0545}
        rows = evaluate.table(result).splitlines()
        self.assertIn("1.2000 nats   lower is better; the default run: 1.1661", rows[1])
        self.assertIn("the lowest NLL a model can expect", rows[2])

    def test_the_flow_rows_quote_the_default_seeds_recorded_run(self):
        """The flow's rows quote, of the runs in flow_default.json, the one at main.py's
        default seed."""
        result = {"run": "maf", "model": "flow", "epoch": 49, "test_nll": 1.2,
                  "data_entropy": 1.1312, "nll_gap": 0.0688, "true_density_test_nll": 1.1455,
                  "nll_gap_same_points": 0.0545}
        runs = [{"seed": 1, "test_nll": 9.5, "nll_gap": 9.25, "nll_gap_same_points": 9.125},
                {"seed": main.DEFAULTS["seed"], "test_nll": 1.5, "nll_gap": 0.25,
                 "nll_gap_same_points": 0.125}]
        with tempfile.TemporaryDirectory() as tmp:
            recorded = Path(tmp) / "flow_default.json"
            recorded.write_text(json.dumps({"runs": runs}))
            self.addCleanup(evaluate.default_flow.cache_clear)
            evaluate.default_flow.cache_clear()
            with mock.patch.object(evaluate, "FLOW_RUNS_FILE", recorded):
                rows = evaluate.table(result).splitlines()
        self.assertIn("lower is better; the default run: 1.5, ", rows[1])
        self.assertIn("the default run: 0.25; ", rows[3])
        self.assertTrue(rows[5].endswith("the default run: 0.125"), rows[5])

    def test_every_recorded_run_lies_on_its_side_of_the_bands(self):
        """Each sound run is healthy and each broken one has gone wrong, by its model's bands,
        with a gap between the two; the runs span seeds, thread counts, precisions and losses,
        and each model has a broken run."""
        reference = evaluate.one_epoch()
        for model in ("gan", "cgan"):
            bands = evaluate.bands(model)
            self.assertEqual(set(bands), {"fd_fmnist", "class_accuracy"} if model == "cgan"
                             else {"fd_fmnist"})
            runs = [run for run in reference["runs"] if run["model"] == model]
            sound = [run for run in runs if run["broken"] is None]
            self.assertGreaterEqual(len({run["seed"] for run in sound}), 5, model)
            self.assertGreaterEqual(len({run["threads"] for run in sound} - {None}), 2, model)
            self.assertEqual({run["precision"] for run in sound}, {"float32", "bfloat16"}, model)
            self.assertGreater(len(runs), len(sound), f"{model}: no broken run")
            for measure, band in bands.items():
                healthy, wrong = (band.get("healthy_below", band.get("healthy_above")),
                                  band.get("wrong_above", band.get("wrong_below")))
                self.assertGreater(abs(wrong - healthy), 0.25 * abs(healthy), (model, measure))
                for run in runs:
                    with self.subTest(model=model, measure=measure, run=run):
                        verdict = evaluate.judged(band, run[measure])
                        expected = "wrong" if run["broken"] else "healthy"
                        self.assertIn(evaluate.VERDICTS[expected], verdict)
        losses = {run["loss_type"] for run in reference["runs"] if run["model"] == "gan"}
        self.assertEqual(losses, {"nonsaturating", "minimax", "wasserstein_gp"})

    def test_the_readmes_quote_the_bands_as_computed(self):
        gan, cgan = evaluate.bands("gan"), evaluate.bands("cgan")
        quoted = [f"below {gan['fd_fmnist']['healthy_below']:g}",
                  f"above {gan['fd_fmnist']['wrong_above']:g}",
                  f"below {cgan['fd_fmnist']['healthy_below']:g}",
                  f"above {cgan['fd_fmnist']['wrong_above']:g}",
                  f"above {cgan['class_accuracy']['healthy_above']:.2f}",
                  f"below {cgan['class_accuracy']['wrong_below']:.2f}"]
        src = Path(evaluate.__file__).parent
        for readme in (src / "training" / "README.md", src / "course" / "starter" / "README.md"):
            text = " ".join(readme.read_text().split())
            for words in quoted:
                with self.subTest(readme=str(readme.relative_to(src)), words=words):
                    self.assertIn(words, text)

    def test_the_training_readme_quotes_the_default_flow_as_measured(self):
        """training/README.md's numbers of the default flow run are flow_default.json's."""
        flow = evaluate.default_flow()
        readme = Path(evaluate.__file__).parent / "training" / "README.md"
        text = " ".join(readme.read_text().split())
        for words in (f"({flow['test_nll']:.4f})", f"the default run: {flow['test_nll']:.4f}, gap "
                      f"{flow['nll_gap']:.3f}", f"({flow['nll_gap_same_points']:.3f} for the "
                      "default run)"):
            with self.subTest(words=words):
                self.assertIn(words, text)

    def test_the_benchmarks_runs_are_recorded_as_measured(self):
        """The benchmark's seeds 777, 1, 2 of every model and precision (bench_gan.json) are
        among the recorded runs, rounded as training/README.md's table; the classifier they were
        measured with is the committed one."""
        reference = evaluate.one_epoch()
        results = Path(evaluate.__file__).parent / "training" / "results"
        bench = json.loads((results / "bench_gan.json")
                           .read_text())
        for name, runs in bench.items():
            model, loss_type = name.split("/")
            for precision in ["float32", "bfloat16"]:
                recorded = {run["seed"]: run for run in reference["runs"]
                            if (run["model"], run["loss_type"], run["precision"], run["source"])
                            == (model, loss_type, precision, "bench.py gan")}
                for measure, places in [("fd_fmnist", 1), ("class_accuracy", 3)]:
                    if measure in runs[precision]:
                        with self.subTest(run=name, precision=precision, measure=measure):
                            self.assertEqual([recorded[seed][measure] for seed in runs["seeds"]],
                                             [round(v, places) for v in runs[precision][measure]])
        info = json.loads(classifier.WEIGHTS.with_suffix(".json").read_text())
        self.assertEqual(reference["classifier"], info["sha256"])
        self.assertEqual(reference["classifier"], classifier.file_sha256(classifier.WEIGHTS))


if __name__ == "__main__":
    unittest.main()
