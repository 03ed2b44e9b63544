"""Measures the quality of a trained run offline and reproducibly; writes ``eval.json`` into it.

    python evaluate.py gan_nonsat                  # a GAN: FD-FMNIST and its floor
    python evaluate.py gan_nonsat_conditional      # a cgan: also the class accuracy, per class
    python evaluate.py maf                         # a flow: the test NLL and its gap to the entropy
    python evaluate.py --train-classifier          # makes fmnist_classifier.pt and .json (once)

FD-FMNIST is the Frechet distance between Gaussians fitted to the features of generated images
and of the test images, the features being the penultimate layer of the small Fashion-MNIST
classifier of ``training/classifier.py``. It follows the recipe of the FID (Heusel et al.,
2017) in another feature space: it is not the Inception FID and cannot be compared with
published FIDs, only with other FD-FMNIST values of the same classifier (``eval.json`` records
its sha256) and the same number of samples (the estimate is biased upwards by a finite sample).
Its floor, the FD-FMNIST of as many real training images, is what a perfect generator would get.

Beside each number the table says what it means: which way is better, the floor (for a cgan's
class accuracy: chance and the classifier's accuracy on the real test images) and, where the
run was measured as they were, the bands of one epoch of its model at the defaults (a healthy
run, one gone wrong) and which band it lies in.
"""

import argparse
import functools
import json
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from common.files import write_json
from main import DEFAULTS, OneLineErrorParser, positive_int
from submission.flow_network import MAF
from training import flow_trainer, gan_trainer
from training.classifier import (
    WEIGHTS,
    FashionClassifier,
    classify,
    file_sha256,
    load_classifier,
    save_classifier,
    train_classifier,
)
from training.data import MOONS_NOISE, load_fashion_mnist, moons_raw_splits, moons_splits
from training.gan_trainer import CLASS_NAMES, load_generator, sample_images
from training.utils import UserError, load_checkpoint, select_device

EVAL_FILE = "eval.json"
MIN_SAMPLES = 10  # fewer leave classes of a cgan without samples

# What one epoch at the problem set's defaults gives: bands that hold across seeds, thread counts,
# precisions and machines, drawn from the runs of training/results/one_epoch.json (`python -m
# training.bench calibrate` adds runs to it). Each run records its model, loss type, precision,
# seed, threads and machine, whether it was deliberately broken (the generator's loss negated), and
# its FD-FMNIST of "n" samples with the classifier whose sha256 is "classifier" (a cgan's, its class
# accuracy too); other classifiers or sample sizes give other values, so the bands are
# shown only for the same. One band per model (gan: its three losses, whose few runs each
# overlap the others'; cgan), from its sound runs:
# - healthy: beyond the most extreme sound run by one standard deviation of the sound runs,
#   rounded outward (to 10 for FD-FMNIST, 0.05 for the class accuracy). The same seed on 1
#   and on 2 threads differs as much as two seeds do, so no single machine's range will do;
# - gone wrong: twice the sound runs' median FD-FMNIST (rounded up to 50), half their median
#   class accuracy (rounded down to 0.05). Between the two a run is unusual, not proven wrong.
# tests/test_evaluate.py checks that every broken run recorded lies beyond the second.
ROUNDING = {"fd_fmnist": (10, 50), "class_accuracy": (0.05, 0.05)}  # (healthy, wrong)
SRC = Path(__file__).resolve().parent
ONE_EPOCH_FILE = SRC / "training" / "results" / "one_epoch.json"
# Runs of `python main.py --model flow` at the defaults, by seed (the table quotes the default
# seed's)
FLOW_RUNS_FILE = SRC / "training" / "results" / "flow_default.json"


# The Frechet distance --------------------------------------------------------------------------

def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(D,)`` and covariance ``(D, D)``, in float64, of ``features`` ``(N, D)``."""
    features = np.asarray(features, dtype=np.float64)
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray,
                     sigma2: np.ndarray) -> float:
    """``||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))`` between two Gaussians, in float64.

    ``S1 S2`` is similar to the symmetric ``S1^(1/2) S2 S1^(1/2)``, so the trace of its square
    root is the sum of the square roots of that matrix's eigenvalues: two symmetric eigen-
    decompositions, stable and free of the complex round-off of a general matrix square root.
    Eigenvalues that round-off leaves slightly negative are taken as 0.
    """
    mu1, mu2, sigma1, sigma2 = (np.asarray(a, dtype=np.float64) for a in (mu1, mu2, sigma1, sigma2))
    values, vectors = np.linalg.eigh(sigma1)
    root1 = (vectors * np.sqrt(values.clip(min=0))) @ vectors.T
    cross = np.linalg.eigvalsh(root1 @ sigma2 @ root1).clip(min=0)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2)
                 - 2 * np.sqrt(cross).sum())


def fd_floor(model: FashionClassifier, train_images: Tensor,
             test_statistics: tuple[np.ndarray, np.ndarray], n: int,
             seed: int) -> tuple[float, int]:
    """FD-FMNIST of ``n`` training images drawn with ``seed`` (all, if fewer): the floor.

    Returns the distance and the number of images used.
    """
    order = torch.randperm(len(train_images), generator=torch.Generator().manual_seed(seed))
    real = train_images[order[:n]]
    real_statistics = feature_statistics(classify(model, real)[0])
    return frechet_distance(*real_statistics, *test_statistics), len(real)


# GAN runs ---------------------------------------------------------------------------------------

def generate_samples(run_dir: Path, n: int, seed: int,
                     device: torch.device) -> tuple[Tensor, Tensor | None, dict]:
    """``n`` images ``(n, 1, 28, 28)`` in [-1, 1] of the GAN run in ``run_dir``.

    Returns the images, the classes they were generated for (a cgan's: 0..9 in turn, so every
    class has its share; ``None`` for a gan) and the run's checkpoint. The noise comes from its
    own generator seeded with ``seed``, so the images do not depend on the device's stream.
    """
    g, checkpoint = load_generator(run_dir, device)
    labels = torch.arange(n) % 10 if checkpoint["args"]["model"] == "cgan" else None
    images = sample_images(g, n, labels, torch.Generator().manual_seed(seed), device)
    return images, labels, checkpoint


def evaluate_gan(run_dir: Path, args: argparse.Namespace) -> dict:
    """FD-FMNIST of ``args.n`` samples of the run against the test images, its floor, and for
    a cgan the share of samples the classifier assigns to the class they were generated for."""
    device = select_device(args.device)
    model = load_classifier(args.classifier, device)
    test_images, test_labels = load_fashion_mnist("test", args.data_dir)
    train_images, _ = load_fashion_mnist("train", args.data_dir)
    test_features, test_predicted = classify(model, test_images)
    test_statistics = feature_statistics(test_features)

    images, labels, checkpoint = generate_samples(run_dir, args.n, args.seed, device)
    features, predicted = classify(model, images)
    floor, n_floor = fd_floor(model, train_images, test_statistics, args.n, args.seed)
    run = checkpoint["args"]
    result = {"run": str(run_dir), "model": run["model"], "loss_type": run["loss_type"],
              "precision": run.get("precision", "float32"),  # runs before the flag: float32
              "steps": checkpoint["step"], "n": args.n, "seed": args.seed,
              "n_test": len(test_images),
              "fd_fmnist": frechet_distance(*feature_statistics(features), *test_statistics),
              "fd_fmnist_floor": floor, "floor_n_train": n_floor,
              "classifier": {"weights": str(args.classifier),
                             "sha256": file_sha256(args.classifier)}}
    if labels is not None:
        hits = (predicted == labels).double()
        result["class_accuracy"] = hits.mean().item()
        result["class_accuracy_per_class"] = {name: hits[labels == c].mean().item()
                                              for c, name in enumerate(CLASS_NAMES)}
        # The same classifier on the real test images: what a perfect generator would score.
        real = (test_predicted == test_labels).double()
        result["real_class_accuracy"] = real.mean().item()
        result["real_class_accuracy_per_class"] = {name: real[test_labels == c].mean().item()
                                                   for c, name in enumerate(CLASS_NAMES)}
    return result


# Flow runs: the entropy of the Moons data ------------------------------------------------------

ARC_POINTS = 1000  # per half-circle: steps of pi/1000 rad, a 16th of the noise


def _arc_kernels(u: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """``N(u_i; centre_k, noise^2)`` of shape ``(len(u), len(centres))``."""
    return (np.exp(-0.5 * ((u[:, None] - centres[None]) / MOONS_NOISE) ** 2)
            / (MOONS_NOISE * np.sqrt(2 * np.pi)))


def _arc_points() -> tuple[np.ndarray, np.ndarray]:
    """The x and y coordinates ``(2 * ARC_POINTS,)`` of midpoints of equal steps along the
    upper half-circle (cos t, sin t) and the lower one (1 - cos t, 0.5 - sin t), t in [0, pi]."""
    t = (np.arange(ARC_POINTS) + 0.5) * np.pi / ARC_POINTS
    return (np.concatenate([np.cos(t), 1 - np.cos(t)]),
            np.concatenate([np.sin(t), 0.5 - np.sin(t)]))


def moons_log_density(points: np.ndarray) -> np.ndarray:
    """``log p(x)`` ``(N,)`` of the raw (not standardised) Moons data at ``points`` ``(N, 2)``."""
    cx, cy = _arc_points()
    density = [(_arc_kernels(chunk[:, 0], cx) * _arc_kernels(chunk[:, 1], cy)).mean(axis=1)
               for chunk in np.array_split(points, max(1, len(points) // 1000))]  # bounds memory
    return np.log(np.concatenate(density))


def moons_entropy(step: float = 0.01) -> float:
    """The differential entropy, in nats, of the standardised Moons data: 1.1312.

    ``make_moons`` puts half of the points evenly along the upper half-circle (cos t, sin t)
    and half along the lower one (1 - cos t, 0.5 - sin t), t in [0, pi], and adds N(0, 0.05^2)
    noise to each coordinate. With uniform t (15,000 evenly spaced values per arc are that, for
    every purpose here) the density is p(x) = (1 / 2pi) sum over arcs of int_0^pi N(x; c(t),
    0.05^2 I) dt. Each Gaussian factorises, so on a grid of points (x_i, y_j) the integral over
    t (a midpoint rule, ``ARC_POINTS`` per arc) is the matrix product of the x and the y factors.
    h = -int p log p is then a Riemann sum on a grid of ``step`` (a fifth of the noise) covering
    the arcs and eight noise widths around them; halving the step or doubling the arc points
    changes it by less than 1e-5. Standardising divides each coordinate by its standard
    deviation s_i (taken from the same grid: 0.8675 and 0.4967), which lowers the entropy by
    log s_x + log s_y: 0.2892 -> 1.1312.

    A thin tube around the arcs (length 2pi, Gaussian across) would give log 2pi +
    0.5 log(2 pi e 0.05^2) - log(s_x s_y) = 1.1031; the rest is the blur beyond the four ends.
    The figure of 1.127 sometimes quoted is a Monte Carlo estimate, -mean log p over the 30,000
    points of seed 777 (1.1265, with a standard error of 0.004). The test set's 3,000 points
    alone estimate it with a standard error of 0.013 (the standard deviation of log p is 0.73):
    hence ``moons_true_test_nll``.
    """
    cx, cy = _arc_points()
    margin = 8 * MOONS_NOISE
    x = np.arange(cx.min() - margin, cx.max() + margin, step)
    y = np.arange(cy.min() - margin, cy.max() + margin, step)
    density = _arc_kernels(x, cx) @ _arc_kernels(y, cy).T / len(cx)  # (len(x), len(y))
    area = step * step
    entropy = -np.sum(density * np.log(np.where(density > 0, density, 1.0))) * area
    variances = []
    for axis, coordinate in ((1, x), (0, y)):
        marginal = density.sum(axis=axis) * area  # weights of the grid lines, summing to 1
        mean = np.sum(marginal * coordinate)
        variances.append(np.sum(marginal * (coordinate - mean) ** 2))
    return float(entropy - 0.5 * np.log(variances[0] * variances[1]))


def moons_true_test_nll(seed: int) -> float:
    """The NLL of the true density on the test points of ``moons_splits(seed)``.

    What a perfect model would score on those very points: compared with it, a flow's gap is
    free of the test set's own sampling noise (0.013 nats), which the entropy is not.
    """
    splits = moons_raw_splits(seed)
    # The density of the standardised points is that of the raw ones times s_x s_y.
    std = splits["train"].std(axis=0)
    return float(-np.mean(moons_log_density(splits["test"])) - np.log(std).sum())


def evaluate_flow(run_dir: Path, args: argparse.Namespace) -> dict:
    """The test NLL of the run's best checkpoint and its gaps to a perfect model's."""
    device = select_device(args.device)
    checkpoint = load_checkpoint(run_dir / flow_trainer.BEST, device)
    run = checkpoint["args"]
    model = MAF(2, run["hidden_size"], run["n_hidden"], run["n_flows"]).to(device)
    model.load_state_dict(checkpoint["model"])
    test_points = moons_splits(run["seed"])["test"].to(device)
    test_nll = -flow_trainer.mean_log_likelihood(model, test_points)
    entropy, true_nll = moons_entropy(), moons_true_test_nll(run["seed"])
    return {"run": str(run_dir), "model": "flow", "epoch": checkpoint["epoch"],
            "test_nll": test_nll, "data_entropy": entropy, "nll_gap": test_nll - entropy,
            "true_density_test_nll": true_nll, "nll_gap_same_points": test_nll - true_nll}


# What one epoch reaches ------------------------------------------------------------------------

@functools.cache
def one_epoch() -> dict:
    """training/results/one_epoch.json: the one-epoch runs that the bands are drawn from."""
    return json.loads(ONE_EPOCH_FILE.read_text())


@functools.cache
def default_flow() -> dict:
    """The measures of the default flow run (main.py's defaults and seed), from FLOW_RUNS_FILE."""
    runs = json.loads(FLOW_RUNS_FILE.read_text())["runs"]
    return next(run for run in runs if run["seed"] == DEFAULTS["seed"])


def rounded(value: float, step: float, up: bool) -> float:
    """``value`` rounded up (or down) to a multiple of ``step``."""
    multiple = math.ceil(value / step - 1e-9) if up else math.floor(value / step + 1e-9)
    return round(multiple * step, 6)


def bands(model: str) -> dict[str, dict[str, float]]:
    """The bands of one epoch of ``model`` (see ONE_EPOCH_FILE), by measure; {} where no
    sound run of it is recorded."""
    sound = [run for run in one_epoch()["runs"] if run["model"] == model and not run["broken"]]
    found = {}
    for measure, (healthy, wrong) in ROUNDING.items():
        values = [run[measure] for run in sound if measure in run]
        if len(values) < 2:
            continue
        spread, middle = statistics.stdev(values), statistics.median(values)
        if measure == "class_accuracy":  # higher is better
            found[measure] = {
                "healthy_above": rounded(min(values) - spread, healthy, up=False),
                "wrong_below": rounded(middle / 2, wrong, up=False)}
        else:
            found[measure] = {
                "healthy_below": rounded(max(values) + spread, healthy, up=True),
                "wrong_above": rounded(2 * middle, wrong, up=True)}
    return found


VERDICTS = {"healthy": "this run is healthy",
            "between": "unusual: train again with another --seed; if that run is here too, "
                       "check your losses",
            "wrong": "this run has gone wrong: check your losses (python grader.py)"}


def judged(band: dict, value: float) -> str:
    """``band`` (one_epoch's, of one measure) in words, and where ``value`` lies in it."""
    if "healthy_below" in band:
        healthy, wrong = band["healthy_below"], band["wrong_above"]
        words = f"healthy below {healthy:g}, something is wrong above {wrong:g}"
        where = "healthy" if value < healthy else "wrong" if value > wrong else "between"
    else:
        healthy, wrong = band["healthy_above"], band["wrong_below"]
        words = f"healthy above {healthy:g}, something is wrong below {wrong:g}"
        where = "healthy" if value > healthy else "wrong" if value < wrong else "between"
    return f"one epoch at the defaults: {words}; {VERDICTS[where]}"


def calibration(model: str) -> str:
    """What the bands of ``model`` were drawn from, in a few words."""
    runs = [run for run in one_epoch()["runs"] if run["model"] == model]
    sound = [run for run in runs if run["broken"] is None]
    seeds = {run["seed"] for run in sound if run["seed"] is not None}
    threads = sorted({run["threads"] for run in sound if run["threads"] is not None})
    precisions = sorted({run["precision"] for run in sound})
    machines = {run["machine"] for run in sound if run["machine"] is not None}
    broken = len(runs) - len(sound)

    def counted(count: int, word: str) -> str:
        return f"{count} {word}{'' if count == 1 else 's'}"

    return (f"the bands: {counted(len(sound), 'sound one-epoch run')} of {model} "
            f"({counted(len(seeds), 'seed')}, {' and '.join(map(str, threads))} threads, "
            f"{' and '.join(precisions)}, {counted(len(machines), 'known machine')}) and "
            f"{counted(broken, 'broken one')}; {ONE_EPOCH_FILE.relative_to(SRC)}")


# The command line ------------------------------------------------------------------------------

def table(result: dict) -> str:
    """The measures of ``result`` (``evaluate_gan``'s or ``evaluate_flow``'s), one a line, each
    with what it means: which way is better, a floor or a ceiling, what training reaches."""
    if result["model"] == "flow":
        title = f"{result['run']}: flow, weights of epoch {result['epoch']}"
        default = default_flow()
        rows = [("test NLL", result["test_nll"],
                 f"lower is better; the default run: {default['test_nll']}, the problem "
                 "set's hint: about 1.2"),
                ("entropy of the data", result["data_entropy"],
                 "the lowest NLL a model can expect"),
                ("gap to the entropy", result["nll_gap"],
                 f"the default run: {default['nll_gap']}; the test set alone is uncertain "
                 "by 0.013"),
                ("true density's NLL, same points", result["true_density_test_nll"],
                 "a perfect model's NLL on these test points"),
                ("gap on the same points", result["nll_gap_same_points"],
                 f"the default run: {default['nll_gap_same_points']}")]
        return "\n".join([title, *(f"  {name:<34} {value:8.4f} nats   {meaning}"
                                   for name, value, meaning in rows)])
    title = (f"{result['run']}: {result['model']} ({result['loss_type']}), {result['steps']} "
             f"steps; {result['n']} samples (seed {result['seed']}) against {result['n_test']} "
             "test images")
    reference = one_epoch()
    found = bands(result["model"])
    comparable = (result["n"] == reference["n"]
                  and result["classifier"]["sha256"] == reference["classifier"])

    def reached(measure: str) -> str:
        """Where the run lies in the bands of one epoch, where they were measured as it was."""
        return f"; {judged(found[measure], result[measure])}" if (
            comparable and measure in found) else ""

    rows = [("FD-FMNIST", result["fd_fmnist"], "lower is better" + reached("fd_fmnist")),
            (f"floor: {result['floor_n_train']} training images", result["fd_fmnist_floor"],
             "a perfect generator's FD-FMNIST (real images)")]
    if "class_accuracy" in result:
        rows.append(("class accuracy", result["class_accuracy"],
                     f"chance 0.100, real test images {result['real_class_accuracy']:.3f}"
                     + reached("class_accuracy")))
        rows += [(f"  {name}", value, f"real {result['real_class_accuracy_per_class'][name]:.3f}")
                 for name, value in result["class_accuracy_per_class"].items()]
    lines = [title, *(f"  {name:<34} {value:8.3f}   {meaning}" for name, value, meaning in rows)]
    if found and comparable:
        lines.append(f"  ({calibration(result['model'])})")
    elif found:
        lines.append(f"  (the bands of one epoch hold for --n {reference['n']} and the committed "
                     "classifier only)")
    return "\n".join(lines)


def evaluate(args: argparse.Namespace) -> dict:
    """Evaluates the run in ``args.run_dir``, prints the table, writes ``eval.json``."""
    run_dir = args.run_dir
    if not run_dir.is_dir():
        raise UserError(f"{run_dir} does not exist or is not a folder")
    started = time.perf_counter()
    if (run_dir / gan_trainer.CHECKPOINT).is_file():
        result = evaluate_gan(run_dir, args)
    elif (run_dir / flow_trainer.BEST).is_file():
        result = evaluate_flow(run_dir, args)
    else:
        raise UserError(f"{run_dir} holds no run: neither {gan_trainer.CHECKPOINT} (gan, cgan) "
                        f"nor {flow_trainer.BEST} (flow)")
    write_json(result, run_dir / EVAL_FILE)
    print(table(result))
    print(f"wrote {run_dir / EVAL_FILE} in {time.perf_counter() - started:.1f} s")
    return result


def make_classifier(args: argparse.Namespace) -> dict:
    """Trains the classifier, stores it in float16 at ``args.classifier`` and, beside it in a
    .json, how it was made, the accuracy of the stored weights and the FD-FMNIST floor."""
    path = args.classifier
    if path.exists() and not args.overwrite:
        raise UserError(f"{path} exists; pass --overwrite to replace it")
    device = select_device(args.device)
    train_images, train_labels = load_fashion_mnist("train", args.data_dir)
    test_images, test_labels = load_fashion_mnist("test", args.data_dir)
    started = time.perf_counter()
    model = train_classifier(train_images, train_labels, args.seed, device)
    train_seconds = time.perf_counter() - started
    path.parent.mkdir(parents=True, exist_ok=True)
    save_classifier(model, path)
    model = load_classifier(path, device)  # measure the stored, float16-rounded weights
    test_features, predicted = classify(model, test_images)
    floor, n_floor = fd_floor(model, train_images, feature_statistics(test_features), args.n,
                              args.seed)
    info = {"command": f"python evaluate.py --train-classifier --seed {args.seed} --device "
                       f"{args.device}",
            "seed": args.seed, "device": str(device), "threads": torch.get_num_threads(),
            "torch": torch.__version__, "date": time.strftime("%Y-%m-%d", time.gmtime()),
            "train_seconds": round(train_seconds, 1),
            "parameters": sum(p.numel() for p in model.parameters()),
            "test_accuracy": (predicted == test_labels).double().mean().item(),
            "fd_fmnist_floor": {"value": floor, "n_train": n_floor, "n_test": len(test_images),
                                "seed": args.seed},
            "sha256": file_sha256(path)}
    write_json(info, path.with_suffix(".json"))
    print(f"test accuracy {info['test_accuracy']:.4f} after {train_seconds:.0f} s of training; "
          f"FD-FMNIST floor {floor:.3f}; wrote {path} and {path.with_suffix('.json').name}")
    return info


def at_least_min_samples(text: str) -> int:
    value = positive_int(text)
    if value < MIN_SAMPLES:
        raise argparse.ArgumentTypeError(f"must be at least {MIN_SAMPLES}, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", nargs="?", type=Path, metavar="DIR",
                        help="a run folder of main.py (gan, cgan or flow)")
    parser.add_argument("--n", type=at_least_min_samples, default=10_000,
                        help="generated images, and training images for the floor "
                        "(default: 10000)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seeds the noise of the samples, the floor's training images and "
                        "the classifier's training (default: 0)")
    parser.add_argument("--data_dir", help="a folder with the four Fashion-MNIST .gz files "
                        "(default: $FASHION_MNIST_DIR, then the usual places)")
    parser.add_argument("--classifier", type=Path, default=WEIGHTS,
                        help=f"the classifier's weights (default: {WEIGHTS.relative_to(SRC)})")
    parser.add_argument("--device", choices=["cpu", "gpu"], default="cpu",
                        help="gpu means CUDA; without it the CPU is used")
    parser.add_argument("--train-classifier", action="store_true",
                        help="train the classifier and write --classifier and its .json")
    parser.add_argument("--overwrite", action="store_true",
                        help="with --train-classifier: replace existing weights")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.train_classifier == (args.run_dir is not None):
        parser.error("give either a run folder DIR or --train-classifier")
    try:
        if args.train_classifier:
            make_classifier(args)
        else:
            evaluate(args)
    except UserError as error:
        parser.error(str(error))
    return 0


if __name__ == "__main__":
    sys.exit(main())
