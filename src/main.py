"""Trains the problem set's models, or samples from a trained GAN.

    python main.py --model flow --out_dir maf                                       # 1
    python main.py --model gan --out_dir gan_nonsat                                 # 2b
    python main.py --model cgan --out_dir gan_nonsat_conditional                    # 4b
    python main.py --model gan --out_dir gan_wass_gp --loss_type wasserstein_gp     # 5e
    python main.py --sample gan_nonsat --n 1000 --out samples.npz

Run ``python main.py --help`` for every option. Problems that a user can fix (bad arguments,
an occupied output folder, missing data) end with a one-line message and exit status 2; a
diverged run ends with exit status 1 and keeps its last good checkpoint.
"""

import argparse
import sys
from pathlib import Path

from common.exit_status import INTERRUPTED
from training.utils import DivergedError, UserError

# Every default of the command line, here alone: the help texts quote them.
# The problem set's settings where the models differ:
MODEL_DEFAULTS = {
    "flow": {"n_epochs": 50, "batch_size": 100, "lr": 2e-3},
    "gan": {"n_epochs": 1, "batch_size": 64, "lr": 1e-3},
    "cgan": {"n_epochs": 1, "batch_size": 64, "lr": 1e-3},
}
# The others:
DEFAULTS = {
    "model": "flow", "device": "cpu", "seed": 777,
    "n_flows": 5, "hidden_size": 100, "n_hidden": 1, "n_samples": 1000,  # the flow
    "loss_type": "nonsaturating", "critic_steps": 1, "precision": "float32",  # gan and cgan
    "n": 1000, "out": Path("samples.npz"),  # sampling
}
# The run folder when --out_dir is not given: the problem set's name for the model and loss
# type (the flow's whatever --loss_type says), else MODEL_LOSSTYPE.
DEFAULT_OUT_DIRS = {("gan", "nonsaturating"): "gan_nonsat",
                    ("gan", "wasserstein_gp"): "gan_wass_gp",
                    ("cgan", "nonsaturating"): "gan_nonsat_conditional"}


def default_out_dir(model: str, loss_type: str) -> str:
    """Where a run of ``model`` with ``loss_type`` goes when --out_dir is not given."""
    if model == "flow":
        return "maf"
    return DEFAULT_OUT_DIRS.get((model, loss_type), f"{model}_{loss_type}")


def per_model(option: str) -> str:
    """The MODEL_DEFAULTS of ``option`` in words, e.g. "flow 50, gan and cgan 1"."""
    models: dict[float, list[str]] = {}
    for model, defaults in MODEL_DEFAULTS.items():
        models.setdefault(defaults[option], []).append(model)
    return ", ".join(f"{' and '.join(names)} {value:g}" for value, names in models.items())


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be zero or a positive integer, got {text}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def class_label(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 9:
        raise argparse.ArgumentTypeError(f"must be a class label from 0 to 9, got {text}")
    return value


class OneLineErrorParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, without the long usage text."""

    def error(self, message: str) -> None:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(description=__doc__.split("\n")[0])
    parser.set_defaults(**DEFAULTS)  # each option's default, which its help shows as %(default)s
    parser.add_argument("--model", choices=list(MODEL_DEFAULTS),
                        help="which model to train (default: %(default)s)")
    named = ", ".join(f"{model} {loss_type}: {folder}"
                      for (model, loss_type), folder in DEFAULT_OUT_DIRS.items())
    parser.add_argument("--out_dir", help="folder for plots, checkpoints and metrics, any path "
                        f"(default: flow: {default_out_dir('flow', '')}, {named}, otherwise "
                        "MODEL_LOSSTYPE)")
    parser.add_argument("--device", choices=["cpu", "gpu"],
                        help="gpu means CUDA; without it the run falls back to the CPU")
    parser.add_argument("--seed", type=int, help="seeds the data, the weights and the batch "
                        "order (default: %(default)s)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out_dir from its checkpoint")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a run that --out_dir already holds (or the --out file)")
    parser.add_argument("--n_epochs", type=positive_int,
                        help=f"(default: {per_model('n_epochs')})")
    parser.add_argument("--batch_size", type=positive_int,
                        help=f"(default: {per_model('batch_size')})")
    parser.add_argument("--lr", type=positive_float,
                        help="Adam's step size; the flow's warms up over 2 epochs, then decays "
                        f"to 0 on a cosine (default: {per_model('lr')})")

    flow = parser.add_argument_group("flow (problem 1)")
    flow.add_argument("--n_flows", type=positive_int, help="MADE blocks (default: %(default)s)")
    flow.add_argument("--hidden_size", type=positive_int,
                      help="width of the MADE hidden layers (default: %(default)s)")
    flow.add_argument("--n_hidden", type=non_negative_int,
                      help="hidden-to-hidden layers per MADE (default: %(default)s)")
    flow.add_argument("--n_samples", type=positive_int,
                      help="samples in each samples_epochN.png (default: %(default)s)")

    gan = parser.add_argument_group("gan and cgan (problems 2, 4, 5)")
    gan.add_argument("--loss_type", choices=["nonsaturating", "wasserstein_gp", "minimax"],
                     help="gan: any; cgan: nonsaturating (default: %(default)s)")
    gan.add_argument("--critic_steps", type=positive_int,
                     help="discriminator steps per generator step (default: %(default)s)")
    gan.add_argument("--precision", choices=["float32", "bfloat16"],
                     help="bfloat16: matrix products and convolutions in bfloat16 (autocast), "
                     "faster on CPUs with native bfloat16 (AVX512-BF16, AMX), possibly slower "
                     "on others; parameters stay float32 (default: %(default)s)")
    gan.add_argument("--data_dir", help="a folder with the four Fashion-MNIST .gz files "
                     "(default: $FASHION_MNIST_DIR, then the usual places)")

    sample = parser.add_argument_group("sampling from a trained gan or cgan")
    sample.add_argument("--sample", metavar="DIR", type=Path,
                        help="write images of the run in DIR instead of training")
    sample.add_argument("--n", type=positive_int, help="images (default: %(default)s)")
    sample.add_argument("--out", type=Path, help="the .npz file to write (default: %(default)s)")
    sample.add_argument("--class", dest="label", type=class_label,
                        help="cgan: generate this class only (default: all, in turn)")
    return parser


def run(args: argparse.Namespace) -> None:
    """Trains, or samples, as ``args`` say."""
    if args.sample is not None:
        from training.gan_trainer import sample_gan  # imports stay here so --help answers at once

        if args.out.suffix != ".npz":
            raise UserError(f"--out {args.out} must end in .npz")
        if args.out.exists() and not args.overwrite:
            raise UserError(f"--out {args.out} exists; pass --overwrite or choose another file")
        sample_gan(args.sample, args.n, args.out, args.label, args.device)
    elif args.model == "flow":
        from training.flow_trainer import train_flow

        train_flow(args)
    else:
        from training.gan_trainer import train_gan

        train_gan(args)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.out_dir = args.out_dir or default_out_dir(args.model, args.loss_type)
    for name, value in MODEL_DEFAULTS[args.model].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    try:
        run(args)
    except UserError as error:
        parser.error(str(error))
    except DivergedError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\ninterrupted; continue with: python main.py --model {args.model} "
              f"--out_dir {args.out_dir} --resume", file=sys.stderr)
        return INTERRUPTED
    return 0


if __name__ == "__main__":
    sys.exit(main())
