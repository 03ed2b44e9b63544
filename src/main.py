"""Trains the problem set's models.

    python main.py --model flow --out_dir maf     # problem 1: MAF on Moons (the default)

Run ``python main.py --help`` for every option. Problems that a user can fix (bad arguments,
an occupied output folder) end with a one-line message and exit status 2; a diverged run
ends with exit status 1 and keeps its last good checkpoint.
"""

import argparse
import sys

from utils import DivergedError, UserError

DEFAULT_OUT_DIRS = {"flow": "maf"}


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=sorted(DEFAULT_OUT_DIRS), default="flow",
                        help="which model to train (default: flow)")
    parser.add_argument("--out_dir", help="folder for plots, checkpoints and metrics "
                        f"(default: {', '.join(f'{k}: {v}' for k, v in DEFAULT_OUT_DIRS.items())})")
    parser.add_argument("--device", choices=["cpu", "gpu"], default="cpu",
                        help="gpu means CUDA; without it the run falls back to the CPU")
    parser.add_argument("--seed", type=int, default=777, help="seeds data, weights and order")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out_dir from its last checkpoint")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a run that --out_dir already holds")

    flow = parser.add_argument_group("flow (problem 1)")
    flow.add_argument("--n_flows", type=positive_int, default=5, help="MADE blocks (default: 5)")
    flow.add_argument("--hidden_size", type=positive_int, default=100,
                      help="width of the MADE hidden layers (default: 100)")
    flow.add_argument("--n_hidden", type=non_negative_int, default=1,
                      help="hidden-to-hidden layers per MADE (default: 1)")
    flow.add_argument("--n_epochs", type=positive_int, default=50, help="(default: 50)")
    flow.add_argument("--n_samples", type=positive_int, default=1000,
                      help="samples in each samples_epochN.png (default: 1000)")
    flow.add_argument("--batch_size", type=positive_int, default=100, help="(default: 100)")
    flow.add_argument("--lr", type=positive_float, default=1e-3,
                      help="Adam's initial step size, annealed to 0 (default: 1e-3)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.out_dir = args.out_dir or DEFAULT_OUT_DIRS[args.model]
    try:
        from flow_trainer import train_flow  # imported here so --help answers at once

        train_flow(args)
    except UserError as error:
        parser.error(str(error))
    except DivergedError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\ninterrupted; continue with: python main.py --model {args.model} "
              f"--out_dir {args.out_dir} --resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
