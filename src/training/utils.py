"""Helpers every trainer shares: devices, run folders, checkpoints, errors, threads."""

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import torch

from common.files import replace_atomically


class UserError(Exception):
    """A problem the user can fix (bad arguments, an occupied run folder, missing data).

    ``main.py`` prints its message on one line and exits with status 2.
    """


def select_device(name: str) -> torch.device:
    """``"cpu"`` or ``"gpu"``; ``"gpu"`` means CUDA and falls back to the CPU with a note."""
    if name == "gpu":
        if torch.cuda.is_available():
            return torch.device("cuda")
        print("note: --device gpu: no CUDA device is available, training on the CPU",
              file=sys.stderr)
    return torch.device("cpu")


# What any run leaves in its folder (either trainer's): its numbers and its checkpoints.
RUN_FILES = ("metrics.json", "checkpoint*.pt")


def prepare_run_dir(out_dir: Path, checkpoint: str, *, resume: bool, overwrite: bool) -> None:
    """Checks that ``out_dir`` may be used, then creates it.

    A folder that holds any run's files (RUN_FILES, of either trainer) belongs to an earlier
    run: it is continued with ``resume``, which needs this trainer's ``checkpoint`` there, and
    replaced with ``overwrite``, and never touched without either.
    """
    if resume and overwrite:
        raise UserError("--resume and --overwrite exclude each other; pass one of them")
    existing = out_dir / checkpoint
    held = sorted({path.name for pattern in RUN_FILES for path in out_dir.glob(pattern)}
                  if out_dir.is_dir() else [])
    if resume and not existing.is_file():
        other = f" (it holds {', '.join(held)}: a run of another model)" if held else ""
        raise UserError(f"--resume: {existing} does not exist{other}; start a new run without "
                        "--resume")
    if held and not resume and not overwrite:
        raise UserError(f"{out_dir} already holds a run ({', '.join(held)}); pass --resume to "
                        "continue it, --overwrite to replace it, or choose another --out_dir")
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out_dir {out_dir} is a file, not a folder; choose another --out_dir")
    out_dir.mkdir(parents=True, exist_ok=True)


def start_run(args, checkpoint: str) -> tuple[Path, torch.device, dict | None]:
    """Opens the run folder ``args.out_dir`` and picks ``args.device``.

    With ``args.resume`` it also loads ``checkpoint`` from the folder and puts the run's own
    arguments back into ``args``: a resumed run goes on as it was started. Returns the
    folder, the device and the checkpoint (None for a new run).
    """
    out_dir = Path(args.out_dir)
    prepare_run_dir(out_dir, checkpoint, resume=args.resume, overwrite=args.overwrite)
    device = select_device(args.device)
    if not args.resume:
        return out_dir, device, None
    state = load_checkpoint(out_dir / checkpoint, device)
    vars(args).update(state["args"])
    return out_dir, device, state


def save_checkpoint(state: dict, path: Path) -> None:
    """``torch.save`` of ``state`` to ``path``, atomically."""
    replace_atomically(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: Path, device: torch.device) -> dict:
    """Loads a checkpoint written by ``save_checkpoint`` (tensors, numbers, plain containers)."""
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except Exception as error:  # a truncated or foreign file: name it instead of a torch trace
        raise UserError(f"cannot read checkpoint {path}: {error}") from error


class DivergedError(Exception):
    """Training produced a NaN or infinite loss."""


@contextlib.contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Runs the body with ``count`` intra-op threads, then restores the previous number."""
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
