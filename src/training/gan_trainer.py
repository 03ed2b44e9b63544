"""Trains the GANs of problems 2, 4 and 5 on Fashion-MNIST, and samples from a trained one.

    python main.py --model gan --out_dir gan_nonsat                                 # 2b
    python main.py --model cgan --out_dir gan_nonsat_conditional                    # 4b
    python main.py --model gan --out_dir gan_wass_gp --loss_type wasserstein_gp     # 5e
    python main.py --sample gan_nonsat --n 1000 --out samples.npz

Every step takes ``critic_steps`` discriminator steps and one generator step on a batch of
real images. Each backward pass computes the gradients of the network being stepped and no
others, both networks use the channels-last layout, Adam is fused and the data is held in
memory: an epoch takes less time than in a plain training loop, with the same training.
``--precision bfloat16`` runs the matrix products and convolutions in bfloat16 (autocast):
faster on CPUs with native bfloat16, but the cgan's samples are measurably worse.

Into DIR go ``real.png`` (the first 100 training images), ``fake_0050.png``,
``fake_0100.png``, ... (the same 100 noise vectors every 50 steps), ``losses.csv`` and
``losses.png``, ``checkpoint.pt`` and ``metrics.json``.
"""

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from common.files import write_json, write_text
from network import ConditionalDiscriminator, ConditionalGenerator, Discriminator, Generator
from submission import gan
from training.data import load_fashion_mnist, shuffled_batches
from training.plots import plot_curves, save_image_grid
from training.utils import (
    DivergedError,
    UserError,
    load_checkpoint,
    save_checkpoint,
    select_device,
    start_run,
)

CHECKPOINT = "checkpoint.pt"
GRID_EVERY = 50  # steps between sample grids and checkpoints
CLASS_NAMES = ["T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
               "Bag", "Boot"]
# (model, loss_type) -> (discriminator loss, generator loss)
LOSSES = {
    ("gan", "nonsaturating"): (gan.loss_nonsaturating_d, gan.loss_nonsaturating_g),
    ("gan", "minimax"): (gan.loss_nonsaturating_d, gan.loss_minimax_g),
    ("gan", "wasserstein_gp"): (gan.loss_wasserstein_gp_d, gan.loss_wasserstein_gp_g),
    ("cgan", "nonsaturating"): (gan.conditional_loss_nonsaturating_d,
                                gan.conditional_loss_nonsaturating_g),
}
ADAM_BETAS = (0.5, 0.999)  # both networks' Adam, as the problem set trains them
RUN_ARGS = ("model", "loss_type", "n_epochs", "batch_size", "lr", "critic_steps", "seed",
            "precision")


def build_networks(model: str, device: torch.device) -> tuple[nn.Module, nn.Module]:
    """The generator and discriminator of ``model`` (``gan`` or ``cgan``), seeded by the caller."""
    if model == "cgan":
        return ConditionalGenerator().to(device), ConditionalDiscriminator().to(device)
    return Generator().to(device), Discriminator().to(device)


def fixed_inputs(model: str, dim_z: int, seed: int, device: torch.device) -> tuple:
    """The 100 noise vectors (and, for cgan, labels 0..9 per row) that every grid shows.

    Drawn from their own generator, so the grids do not shift the training's random stream.
    """
    z = torch.randn(100, dim_z, generator=torch.Generator().manual_seed(seed)).to(device)
    if model == "cgan":
        return z, torch.arange(10, device=device).repeat(10)  # column j shows class j
    return (z,)


@torch.no_grad()
def generate(g: nn.Module, *inputs: torch.Tensor) -> torch.Tensor:
    """``g(*inputs)`` in evaluation mode (BatchNorm's running statistics), then back."""
    was_training = g.training
    g.eval()
    images = g(*inputs)
    g.train(was_training)
    return images


def train_gan(args: argparse.Namespace) -> dict:
    """Runs (or, with ``args.resume``, continues) a GAN training run; returns its summary."""
    if (args.model, args.loss_type) not in LOSSES:
        raise UserError(f"--model {args.model} trains with --loss_type nonsaturating only, "
                        f"not {args.loss_type}")
    started = time.perf_counter()
    # The data first: a run that cannot load it leaves no folder behind.
    images, labels = load_fashion_mnist("train", args.data_dir)
    out_dir, device, checkpoint = start_run(args, CHECKPOINT)
    if checkpoint is not None:
        tqdm.write(f"resuming {out_dir} at step {checkpoint['step']}")

    steps_per_epoch = len(images) // args.batch_size
    if steps_per_epoch == 0:
        raise UserError(f"--batch_size {args.batch_size} is larger than the data set "
                        f"({len(images)} images)")
    images, labels = images.to(device), labels.to(device)

    torch.manual_seed(args.seed)
    g, d = build_networks(args.model, device)
    # oneDNN's convolutions are faster on channels-last tensors.
    g, d = g.to(memory_format=torch.channels_last), d.to(memory_format=torch.channels_last)
    g_params, d_params = list(g.parameters()), list(d.parameters())
    g_optimizer = torch.optim.Adam(g_params, lr=args.lr, betas=ADAM_BETAS, fused=True)
    d_optimizer = torch.optim.Adam(d_params, lr=args.lr, betas=ADAM_BETAS, fused=True)
    low_precision = args.precision == "bfloat16"
    d_loss_fn, g_loss_fn = LOSSES[(args.model, args.loss_type)]
    run_args = {name: getattr(args, name) for name in RUN_ARGS}
    conditional = args.model == "cgan"
    grid_inputs = fixed_inputs(args.model, g.dim_z, args.seed, device)
    grid_labels = CLASS_NAMES if conditional else None
    history = {"step": [], "d_loss": [], "g_loss": []}
    step = saved_step = 0
    if checkpoint is not None:
        g.load_state_dict(checkpoint["g"])
        d.load_state_dict(checkpoint["d"])
        g_optimizer.load_state_dict(checkpoint["g_optimizer"])
        d_optimizer.load_state_dict(checkpoint["d_optimizer"])
        torch.set_rng_state(checkpoint["torch_rng"].cpu())
        if device.type == "cuda" and checkpoint["cuda_rng"] is not None:  # the losses' noise
            torch.cuda.set_rng_state(checkpoint["cuda_rng"].cpu(), device)
        history, step = checkpoint["history"], checkpoint["step"]
        saved_step = step
        started -= checkpoint["wall_seconds"]

    def save() -> None:
        nonlocal saved_step
        save_checkpoint({"g": g.state_dict(), "d": d.state_dict(),
                         "g_optimizer": g_optimizer.state_dict(),
                         "d_optimizer": d_optimizer.state_dict(),
                         "torch_rng": torch.get_rng_state(),
                         "cuda_rng": (torch.cuda.get_rng_state(device) if device.type == "cuda"
                                      else None),
                         "step": step, "args": run_args,
                         "history": history, "wall_seconds": time.perf_counter() - started},
                        out_dir / CHECKPOINT)
        saved_step = step
        # Rewritten whole, so that it always matches the checkpoint.
        rows = [f"{s},{d_value:.6f},{g_value:.6f}"
                for s, d_value, g_value in zip(*history.values())]
        write_text("\n".join(["step,d_loss,g_loss", *rows]) + "\n", out_dir / "losses.csv")

    total_steps = args.n_epochs * steps_per_epoch
    progress = tqdm(total=total_steps, initial=step, desc=f"{args.model} {args.loss_type}",
                    unit="step")
    if step == 0:
        save_image_grid(images[:100], out_dir / "real.png")
    while step < total_steps:
        # Each epoch's order follows from the seed and the epoch alone, so a resumed run
        # replays it and skips the batches it already used.
        epoch = step // steps_per_epoch
        order = torch.Generator().manual_seed(args.seed + epoch)
        batches = shuffled_batches(images, labels, args.batch_size, generator=order)
        for _ in range(step % steps_per_epoch):
            next(batches)
        for x_real, y_real in batches:
            cond = (y_real,) if conditional else ()
            # backward(inputs=...) skips what the step does not use: g's gradients in d's
            # step, d's parameter gradients in g's step (its input gradients still reach g).
            # The graph through g stays built, so a loss may take gradients at g's outputs.
            for _ in range(args.critic_steps):
                with torch.autocast(device.type, torch.bfloat16, enabled=low_precision):
                    d_loss = d_loss_fn(g, d, x_real, *cond, device=device)
                d_optimizer.zero_grad(set_to_none=True)
                d_loss.backward(inputs=d_params)
                d_optimizer.step()
            with torch.autocast(device.type, torch.bfloat16, enabled=low_precision):
                g_loss = g_loss_fn(g, d, x_real, *cond, device=device)
            g_optimizer.zero_grad(set_to_none=True)
            g_loss.backward(inputs=g_params)
            g_optimizer.step()

            step += 1
            d_value, g_value = d_loss.item(), g_loss.item()
            if not (math.isfinite(d_value) and math.isfinite(g_value)):
                kept = (f"{out_dir / CHECKPOINT} keeps the last good state (step {saved_step})"
                        if saved_step else "no checkpoint had been written yet")
                raise DivergedError(
                    f"training diverged at step {step} (discriminator loss {d_value}, generator "
                    f"loss {g_value}); {kept}. Lower --lr and start again with --overwrite")
            for key, value in zip(history, (step, d_value, g_value)):
                history[key].append(value)
            progress.update()
            progress.set_postfix(d_loss=f"{d_value:.3f}", g_loss=f"{g_value:.3f}")
            if step % GRID_EVERY == 0 or step == total_steps:
                save_image_grid(generate(g, *grid_inputs), out_dir / f"fake_{step:04d}.png",
                                grid_labels)
                save()
    progress.close()

    plot_curves({"discriminator": history["d_loss"], "generator": history["g_loss"]},
                "step", f"{args.loss_type} loss", out_dir / "losses.png")
    summary = {"args": run_args, "steps": step,
               "wall_seconds": time.perf_counter() - started}
    write_json(summary, out_dir / "metrics.json")
    print(f"{step} steps in {summary['wall_seconds']:.1f} s; samples in {out_dir}")
    return summary


def load_generator(run_dir: Path, device: torch.device) -> tuple[nn.Module, dict]:
    """The trained generator of the GAN run in ``run_dir`` (in eval mode use), and its
    checkpoint."""
    if not (run_dir / CHECKPOINT).is_file():
        raise UserError(f"{run_dir / CHECKPOINT} does not exist; train a GAN there first")
    checkpoint = load_checkpoint(run_dir / CHECKPOINT, device)
    g, _ = build_networks(checkpoint["args"]["model"], device)
    g.load_state_dict(checkpoint["g"])
    return g, checkpoint


def sample_images(g: nn.Module, n: int, labels: torch.Tensor | None, noise: torch.Generator,
                  device: torch.device) -> torch.Tensor:
    """``n`` images ``(n, 1, 28, 28)`` of ``g``, clamped to the data's range [-1, 1].

    ``labels`` ``(n,)`` are the classes for a conditional ``g`` (None otherwise); the noise
    comes from ``noise``, so the images depend on its seed alone. Made 1,000 at a time.
    """
    chunks = []
    for start in range(0, n, 1000):
        z = torch.randn(min(1000, n - start), g.dim_z, generator=noise).to(device)
        cond = () if labels is None else (labels[start:start + len(z)].to(device),)
        chunks.append(generate(g, z, *cond).clamp(-1, 1).cpu())
    return torch.cat(chunks)


def sample_gan(run_dir: Path, n: int, out: Path, label: int | None, device_name: str) -> None:
    """Writes ``n`` images of a trained run to ``out`` (.npz): ``images`` float32 in [-1, 1]
    of shape ``(n, 1, 28, 28)``, and for cgan ``labels`` int64 ``(n,)`` (all ``label`` if
    given, else cycling through the classes)."""
    device = select_device(device_name)
    g, checkpoint = load_generator(run_dir, device)
    model = checkpoint["args"]["model"]
    if label is not None and model != "cgan":
        raise UserError(f"--class needs a cgan run; {run_dir} holds a {model} run")
    labels = None
    if model == "cgan":
        labels = torch.full((n,), label) if label is not None else torch.arange(n) % 10
    noise = torch.Generator().manual_seed(checkpoint["args"]["seed"])
    arrays = {"images": sample_images(g, n, labels, noise, device).numpy().astype(np.float32)}
    if labels is not None:
        arrays["labels"] = labels.numpy()
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, **arrays)
    print(f"wrote {n} images of {run_dir} to {out}")
