"""Trains the MAF of problem 1 on the Moons data: ``python main.py --model flow --out_dir DIR``.

Each epoch prints the average train and validation log-likelihoods (and a note where a few
batches pulled the train average far below its median batch); the run ends with the test
log-likelihood of the epoch that did best on validation. Into DIR go sample plots every
ten epochs, the learned density, the learning curves, the last and the best checkpoints and
``metrics.json``.
"""

import argparse
import math
import time

import torch
from torch import Tensor
from tqdm import tqdm

from common.files import write_json
from submission.flow_network import MAF
from training.data import moons_splits
from training.plots import plot_curves, plot_flow_density, plot_flow_samples
from training.utils import DivergedError, load_checkpoint, save_checkpoint, start_run, torch_threads

WARMUP_EPOCHS = 2
CLIP_NORM = 5.0
# An epoch whose average train log-likelihood lies more than this below its median batch's
# was pulled down by a few batches (past the first steps its batches differ by tenths of a nat).
SPIKE_NATS = 1.0
LAST = "checkpoint_last.pt"
BEST = "checkpoint_best.pt"
RUN_ARGS = ("n_flows", "hidden_size", "n_hidden", "n_epochs", "n_samples", "batch_size", "lr",
            "seed")


def warmup_cosine(warmup_steps: int, total_steps: int):
    """The step-size factor at each step: a linear warm-up, then a cosine decay to 0.

    The warm-up keeps the first, large gradients of a fresh flow from throwing it far off;
    the decay lets the last epochs settle into a sharp optimum.
    """
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        return 0.5 * (1 + math.cos(math.pi * step / total_steps))

    return factor


def train_epoch(model: MAF, optimizer: torch.optim.Optimizer,
                scheduler: torch.optim.lr_scheduler.LRScheduler, x: Tensor, batch_size: int,
                generator: torch.Generator) -> tuple[float, Tensor]:
    """One pass over ``x`` in shuffled batches.

    Returns the average train log-likelihood and each batch's mean log-likelihood, shape
    ``(n_batches,)`` on the CPU, both taken before the batch's step.
    """
    order = torch.randperm(len(x), generator=generator).to(x.device)
    total = x.new_zeros(())
    batch_losses = []
    for batch in x[order].split(batch_size):
        loss = model.loss(batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        # A point deep in a tail can give one huge gradient; clipping keeps it from
        # wrecking the weights (without it some seeds diverge at this step size).
        torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP_NORM)
        optimizer.step()
        scheduler.step()
        total += loss.detach() * len(batch)
        batch_losses.append(loss.detach())
    return -total.item() / len(x), -torch.stack(batch_losses).cpu()


def pulled_down(epoch: dict) -> bool:
    """Whether a few batches pulled an epoch's average train log-likelihood (a record of
    ``metrics["epochs"]``) far below its median batch's."""
    # A run resumed from an older trainer's checkpoint has epochs without the median.
    median = epoch.get("train_median_batch_log_likelihood", -math.inf)
    return epoch["train_log_likelihood"] < median - SPIKE_NATS


@torch.no_grad()
def mean_log_likelihood(model: MAF, x: Tensor) -> float:
    """Average log-likelihood of the points ``x`` of shape ``(N, 2)``, in one pass."""
    return model.log_probs(x).item()


def train_flow(args: argparse.Namespace) -> dict:
    """Runs (or, with ``args.resume``, continues) a training run; returns its metrics."""
    # The layers hold 100 x 100 matrices: splitting them over threads costs more in
    # synchronisation than it saves (measured: one thread is faster on 2 cores).
    with torch_threads(1):
        return _train_flow(args)


def _train_flow(args: argparse.Namespace) -> dict:
    out_dir, device, checkpoint = start_run(args, LAST)
    started = time.perf_counter()
    if checkpoint is not None:
        tqdm.write(f"resuming {out_dir} after epoch {checkpoint['epoch']} of {args.n_epochs}")

    data = {name: split.to(device) for name, split in moons_splits(args.seed).items()}
    torch.manual_seed(args.seed)
    model = MAF(2, args.hidden_size, args.n_hidden, args.n_flows).to(device)
    # fused: one kernel updates all 30 parameter tensors; the per-tensor loop of the default
    # implementation costs more than the forward pass here.
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, fused=True)
    steps_per_epoch = math.ceil(len(data["train"]) / args.batch_size)
    total_steps = args.n_epochs * steps_per_epoch
    warmup_steps = max(1, min(WARMUP_EPOCHS * steps_per_epoch, total_steps // 2))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer,
                                                  warmup_cosine(warmup_steps, total_steps))
    shuffle = torch.Generator().manual_seed(args.seed)  # apart from sampling, for exact resumes
    metrics = {"args": {name: getattr(args, name) for name in RUN_ARGS}, "epochs": [],
               "best_epoch": None, "wall_seconds": 0.0}
    if checkpoint is not None:
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        shuffle.set_state(checkpoint["shuffle_rng"].cpu())
        metrics = checkpoint["metrics"]
    best_val = max((e["val_log_likelihood"] for e in metrics["epochs"]), default=-math.inf)

    first_epoch = len(metrics["epochs"]) + 1
    progress = tqdm(range(first_epoch, args.n_epochs + 1), desc="MAF", unit="epoch",
                    initial=first_epoch - 1, total=args.n_epochs)
    for epoch in progress:
        train_ll, batch_lls = train_epoch(model, optimizer, scheduler, data["train"],
                                          args.batch_size, shuffle)
        if not math.isfinite(train_ll):
            done = len(metrics["epochs"])
            raise DivergedError(
                f"training diverged in epoch {epoch} (train log-likelihood {train_ll}); "
                f"{out_dir / LAST} keeps the last good state (epoch {done}). "
                "Lower --lr and start again with --overwrite")
        val_ll = mean_log_likelihood(model, data["val"])
        if val_ll > best_val:
            best_val, metrics["best_epoch"] = val_ll, epoch
            save_checkpoint({"model": model.state_dict(), "epoch": epoch, "args": metrics["args"]},
                            out_dir / BEST)
        record = {"epoch": epoch, "train_log_likelihood": train_ll,
                  "train_median_batch_log_likelihood": batch_lls.median().item(),
                  "val_log_likelihood": val_ll}
        metrics["epochs"].append(record)
        metrics["wall_seconds"] += time.perf_counter() - started
        started = time.perf_counter()
        save_checkpoint({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                         "scheduler": scheduler.state_dict(), "shuffle_rng": shuffle.get_state(),
                         "epoch": epoch, "args": metrics["args"], "metrics": metrics},
                        out_dir / LAST)
        write_json(metrics, out_dir / "metrics.json")
        tqdm.write(f"Epoch {epoch}: Average train log-likelihood: {train_ll:.4f} | "
                   f"Average validation log-likelihood: {val_ll:.4f} | "
                   f"best validation epoch: {metrics['best_epoch']}")
        if pulled_down(record):
            tqdm.write(
                f"  note: epoch {epoch}'s train average is far below its median batch "
                f"({record['train_median_batch_log_likelihood']:.4f}): its worst batch scored "
                f"{batch_lls.min():.4f}. Early on, a block of the flow can give a point a tiny "
                "scale exp(alpha) that the next blocks stretch further, and such a point's "
                "hugely negative log-likelihood swamps the average. Its gradient was clipped, "
                "as every batch's is, and the validation value shows no harm; "
                "log_likelihood.png draws such values on the edge of its y-axis.")
        if epoch % 10 == 0 or epoch == args.n_epochs:
            plot_flow_samples(model.sample(device, args.n_samples), data["test"].cpu().numpy(),
                              out_dir / f"samples_epoch{epoch}.png", f"MAF after epoch {epoch}")

    model.load_state_dict(load_checkpoint(out_dir / BEST, device)["model"])
    metrics["test_log_likelihood"] = mean_log_likelihood(model, data["test"])
    print(f"Average test log-likelihood: {metrics['test_log_likelihood']:.4f} "
          f"(weights of epoch {metrics['best_epoch']}, the best on validation)")
    plot_flow_density(model.log_prob, out_dir / "density.png", device)
    spikes = [str(e["epoch"]) for e in metrics["epochs"] if pulled_down(e)]
    note = (f"train, epoch{'s' * (len(spikes) > 1)} {', '.join(spikes)}: a few points far in a "
            "tail pull the average down (the run's output says more)") if spikes else None
    plot_curves({"train": [e["train_log_likelihood"] for e in metrics["epochs"]],
                 "validation": [e["val_log_likelihood"] for e in metrics["epochs"]]},
                "epoch", "average log-likelihood (nats)", out_dir / "log_likelihood.png", note)
    metrics["wall_seconds"] += time.perf_counter() - started
    write_json(metrics, out_dir / "metrics.json")
    return metrics
