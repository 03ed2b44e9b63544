"""Times the trainers on this machine and writes the numbers to a JSON file.

    python -m training.bench flow [--repeats 3]   # the default MAF run, a plain loop, sampling
    python -m training.bench gan [--repeats 3]    # one epoch of each GAN model and loss, quality
    python -m training.bench gan --runs cgan/nonsaturating --precision bfloat16 \
        --grids training/results
    python -m training.bench gan-step [--repeats 10]   # ms per step as each speed-up is added
    python -m training.bench calibrate --runs gan/nonsaturating --seeds 3 4 --threads 1 [--broken]

Every timing is the median of ``--repeats`` runs of the full command (``python main.py ...``
in a fresh process: imports, data, training, plots and checkpoints included). Each benchmark
also runs a plain training loop in the same session, alternating with the trainer so that
both see the same machine: for the flow a DataLoader loop with the default Adam and no
annealing, for the GANs the course's loop (torchvision's dataset through a DataLoader, full
backward passes, the default Adam). GAN run ``i`` uses seed ``SEEDS[i]``, and every trained
run is scored with ``evaluate.py`` (FD-FMNIST, and class accuracy for cgan).

``calibrate`` adds one-epoch runs at the defaults, at a chosen seed and thread count, to the
runs that evaluate.py's guidance is drawn from (``training/results/one_epoch.json``): their
scores and the machine they ran on. ``--broken`` trains with the generator's loss negated, a
sign mistake, to show what a run that has gone wrong scores.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1]
GAN_RUNS = ["gan/nonsaturating", "gan/minimax", "gan/wasserstein_gp", "cgan/nonsaturating"]
SEEDS = [777, 1, 2]  # the default seed first; more repeats take 3, 4, ...
# The broken run of ``calibrate --broken``: the generator's loss with its sign flipped.
BROKEN = "generator loss negated"
# One training run of ``calibrate``: main.py's command line after the thread count and whether
# the generator's loss is negated.
CALIBRATION_RUN = """
import sys
import torch
from training import gan_trainer
import main

threads, broken = int(sys.argv[1]), sys.argv[2] == "broken"
torch.set_num_threads(threads)
if broken:
    for key, (d_loss, g_loss) in list(gan_trainer.LOSSES.items()):
        gan_trainer.LOSSES[key] = (d_loss, lambda *a, g_loss=g_loss, **k: -g_loss(*a, **k))
sys.exit(main.main(sys.argv[3:]))
"""

# A training loop as a first implementation would write it: the reference point. Its seed,
# model, batch size and epochs are those of the trainer's default run, main.py's defaults
# (``str.format`` fills them in); its Adam keeps torch's default step size, with no schedule.
PLAIN_FLOW_LOOP = """
import torch
from torch.utils.data import DataLoader, TensorDataset
from training.data import moons_splits
from submission.flow_network import MAF

data = moons_splits({seed})
torch.manual_seed({seed})
model = MAF(2, {hidden_size}, {n_hidden}, {n_flows})
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
loader = DataLoader(TensorDataset(data["train"]), batch_size={batch_size}, shuffle=True)
for epoch in range({n_epochs}):
    for (x,) in loader:
        loss = model.loss(x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        val = model.log_probs(data["val"]).item()
with torch.no_grad():
    print(model.log_probs(data["test"]).item())
"""


# The course's GAN loop, as the problem set's starter code trains: torchvision's dataset
# decoded image by image, course_step's full backward passes, the default Adam; the batch size
# and step size of main.py's defaults.
COURSE_GAN_LOOP = """
import sys
import torch
from torch.utils.data import DataLoader
from torchvision import datasets, transforms
from torchvision.utils import save_image
from main import MODEL_DEFAULTS
from training.bench import course_step
from training.gan_trainer import ADAM_BETAS, LOSSES, build_networks

model, loss_type, root, out, seed = sys.argv[1:6]
defaults = MODEL_DEFAULTS[model]
torch.manual_seed(int(seed))
transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
dataset = datasets.FashionMNIST(root, train=True, transform=transform)
loader = DataLoader(dataset, batch_size=defaults["batch_size"], shuffle=True, drop_last=True)
g, d = build_networks(model, torch.device("cpu"))
g_optimizer = torch.optim.Adam(g.parameters(), lr=defaults["lr"], betas=ADAM_BETAS)
d_optimizer = torch.optim.Adam(d.parameters(), lr=defaults["lr"], betas=ADAM_BETAS)
losses = LOSSES[(model, loss_type)]
fixed = (torch.randn(100, g.dim_z),) + ((torch.arange(10).repeat(10),) if model == "cgan" else ())
for step, (x, y) in enumerate(loader, 1):
    course_step(g, d, g_optimizer, d_optimizer, losses, x, *((y,) if model == "cgan" else ()))
    if step % 50 == 0:
        with torch.no_grad():
            save_image(g(*fixed), f"{out}/fake_{step:04d}.png", nrow=10, normalize=True)
        torch.save({"g": g.state_dict(), "d": d.state_dict()}, f"{out}/model.pt")
"""


def course_step(g, d, g_optimizer, d_optimizer, losses: tuple, x, *cond) -> tuple:
    """One step of the course's GAN loop on the CPU, the reference that the trainer's step is
    timed (``COURSE_GAN_LOOP``) and tested (tests/test_gan_trainer.py) against: a step of the
    discriminator, then one of the generator, each ``backward()`` filling the gradients of
    both networks. ``losses`` is a pair of ``gan_trainer.LOSSES``, ``cond`` a cgan's labels;
    returns the two losses."""
    d_loss_fn, g_loss_fn = losses
    d_loss = d_loss_fn(g, d, x, *cond, device="cpu")
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    g_loss = g_loss_fn(g, d, x, *cond, device="cpu")
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    return d_loss, g_loss


def write_torchvision_fashion_mnist(root: Path) -> None:
    """Writes the data that ``data.py`` finds as the uncompressed IDX files torchvision's
    ``FashionMNIST(root)`` reads, so that the course loop needs no download."""
    import torch

    from training.data import FASHION_MNIST_FILES, load_fashion_mnist

    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for split, names in FASHION_MNIST_FILES.items():
        images, labels = load_fashion_mnist(split)
        pixels = images.add(1).mul(127.5).round().to(dtype=torch.uint8).squeeze(1).numpy()
        for name, array, magic in zip(names, (pixels, labels.numpy()), (0x803, 0x801)):
            header = struct.pack(f">{array.ndim + 1}I", magic, *array.shape)
            (raw / name.removesuffix(".gz")).write_bytes(header + array.astype("uint8").tobytes())


def timed(command: list[str], env: dict[str, str] | None = None,
          allowed: tuple[int, ...] = (0,)) -> tuple[float, str]:
    """Runs ``command`` in ``src/`` (with ``env``, if given); returns its wall time and its
    stdout. An exit status not in ``allowed`` ends the benchmark."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=SRC, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if done.returncode not in allowed:
        sys.exit(f"failed: {' '.join(command)}\n{done.stderr[-2000:]}")
    return seconds, done.stdout


def bench_flow(repeats: int) -> dict:
    """The default flow run and the plain loop, ``repeats`` times each in turn: their seconds
    and test log-likelihoods, the trainer's speed-up, and the seconds ``MAF.sample`` takes
    for 10,000 points (the median of 7)."""
    from main import DEFAULTS, MODEL_DEFAULTS

    flow = {**DEFAULTS, **MODEL_DEFAULTS["flow"]}  # the trainer's default run
    results = {"trainer_seconds": [], "plain_loop_seconds": [], "test_log_likelihood": [],
               "plain_loop_test_log_likelihood": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):  # alternate the two, so both see the same machine
            out = Path(tmp) / f"maf{i}"
            seconds, _ = timed([sys.executable, "main.py", "--model", "flow",
                                "--out_dir", str(out)])
            results["trainer_seconds"].append(seconds)
            metrics = json.loads((out / "metrics.json").read_text())
            results["test_log_likelihood"].append(metrics["test_log_likelihood"])
            seconds, stdout = timed([sys.executable, "-c", PLAIN_FLOW_LOOP.format(**flow)])
            results["plain_loop_seconds"].append(seconds)
            results["plain_loop_test_log_likelihood"].append(float(stdout.split()[-1]))
        seconds, stdout = timed([sys.executable, "-c", f"""
import time, torch
from submission.flow_network import MAF
from training.utils import load_checkpoint
model = MAF(2, {flow['hidden_size']}, {flow['n_hidden']}, {flow['n_flows']})
checkpoint = {str(Path(tmp) / 'maf0' / 'checkpoint_best.pt')!r}
model.load_state_dict(load_checkpoint(checkpoint, 'cpu')['model'])
times = []
for _ in range(7):
    start = time.perf_counter()
    model.sample('cpu', 10_000)
    times.append(time.perf_counter() - start)
print(sorted(times)[3])
"""])
        results["sample_10000_seconds"] = float(stdout.split()[-1])
    for key in ("trainer_seconds", "plain_loop_seconds"):
        results[key.replace("seconds", "median_seconds")] = statistics.median(results[key])
    results["speedup"] = results["plain_loop_median_seconds"] / results["trainer_median_seconds"]
    return results


def bench_gan(repeats: int, runs: list[str], precisions: list[str], grids: Path | None,
              out: Path) -> dict:
    """One epoch of each of ``runs`` at each of ``precisions`` and in the course loop, at
    ``repeats`` seeds (SEEDS, then 3, 4, ...), in turn: seconds, speed-ups and evaluate.py's
    scores, written to ``out`` after each run; with ``grids``, each first-seed run's final
    grid is copied there."""
    results = {}
    seeds = (SEEDS + list(range(len(SEEDS), repeats)))[:repeats]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "torchvision"
        write_torchvision_fashion_mnist(root)
        for run in runs:
            model, loss_type = run.split("/")
            result = results[run] = {"seeds": seeds, "course_loop_seconds": []}
            result.update({precision: {"epoch_seconds": [], "fd_fmnist": []}
                           for precision in precisions})
            for seed in seeds:  # alternate the loops, so that all see the same machine
                course_out = Path(tmp) / f"course_{model}_{loss_type}_{seed}"
                course_out.mkdir()
                seconds, _ = timed([sys.executable, "-c", COURSE_GAN_LOOP, model, loss_type,
                                    str(root), str(course_out), str(seed)])
                result["course_loop_seconds"].append(seconds)
                for precision in precisions:
                    run_dir = Path(tmp) / f"{model}_{loss_type}_{precision}_{seed}"
                    seconds, _ = timed([sys.executable, "main.py", "--model", model,
                                        "--loss_type", loss_type, "--precision", precision,
                                        "--seed", str(seed), "--out_dir", str(run_dir)])
                    timed([sys.executable, "evaluate.py", str(run_dir)])
                    scores = json.loads((run_dir / "eval.json").read_text())
                    numbers = result[precision]
                    numbers["epoch_seconds"].append(seconds)
                    numbers["fd_fmnist"].append(scores["fd_fmnist"])
                    if "class_accuracy" in scores:
                        numbers.setdefault("class_accuracy", []).append(scores["class_accuracy"])
                    if grids is not None and seed == seeds[0]:
                        grids.mkdir(parents=True, exist_ok=True)
                        final = sorted(run_dir.glob("fake_*.png"))[-1]
                        shutil.copy(final, grids / f"{model}_{loss_type}_{precision}.png")
            course = statistics.median(result["course_loop_seconds"])
            result["course_loop_median_seconds"] = course
            for precision in precisions:
                numbers = result[precision]
                numbers["median_seconds"] = statistics.median(numbers["epoch_seconds"])
                numbers["speedup"] = course / numbers["median_seconds"]
                quality = ", ".join(f"{key} {' '.join(f'{v:.3g}' for v in numbers[key])}"
                                    for key in ("fd_fmnist", "class_accuracy") if key in numbers)
                print(f"{run} {precision}: {numbers['median_seconds']:.1f} s per epoch (runs "
                      f"{', '.join(f'{s:.1f}' for s in numbers['epoch_seconds'])}), "
                      f"{numbers['speedup']:.2f}x the course loop's {course:.1f} s; {quality}",
                      flush=True)
            out.write_text(json.dumps(results, indent=2) + "\n")  # kept if a later run fails
    return results


def machine() -> str:
    """The CPU's model name (Linux), else what ``platform`` knows of the processor."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def write_one_epoch(recorded: dict, out: Path) -> None:
    """Writes ``recorded`` (one_epoch.json's contents) to ``out``: each key on a line of its
    own, and each run."""
    lines = [f" {json.dumps(key)}: {json.dumps(value)}," for key, value in recorded.items()
             if key != "runs"]
    runs = ",\n".join(f"  {json.dumps(run)}" for run in recorded["runs"])
    out.write_text("{\n" + "\n".join(lines) + f'\n "runs": [\n{runs}\n ]\n}}\n')


def calibrate(runs: list[str], seeds: list[int], threads: int, broken: bool, out: Path) -> dict:
    """Trains one epoch of each of ``runs`` at each of ``seeds`` on ``threads`` threads (with
    ``broken``: the generator's loss negated), scores it with evaluate.py and adds it to the
    ``runs`` of ``out``, written after each one."""
    import torch

    recorded = json.loads(out.read_text()) if out.is_file() else {}
    recorded.setdefault("runs", [])
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}  # evaluate.py's threads too
    with tempfile.TemporaryDirectory() as tmp:
        for run in runs:
            model, loss_type = run.split("/")
            for seed in seeds:
                run_dir = Path(tmp) / f"{model}_{loss_type}_{seed}"
                seconds, _ = timed([sys.executable, "-c", CALIBRATION_RUN, str(threads),
                                    "broken" if broken else "sound", "--model", model,
                                    "--loss_type", loss_type, "--seed", str(seed),
                                    "--out_dir", str(run_dir)],
                                   env, allowed=(0, 1) if broken else (0,))  # 1: diverged
                timed([sys.executable, "evaluate.py", str(run_dir)], env)
                scores = json.loads((run_dir / "eval.json").read_text())
                measured = {"n": scores["n"], "classifier": scores["classifier"]["sha256"]}
                for key, value in measured.items():
                    if recorded.setdefault(key, value) != value:  # not comparable: not added
                        sys.exit(f"{out} holds runs scored with {key} {recorded[key]}, this one "
                                 f"with {value}")
                entry = {"model": model, "loss_type": loss_type, "precision": "float32",
                         "seed": seed, "threads": threads, "broken": BROKEN if broken else None,
                         "steps": scores["steps"], "fd_fmnist": round(scores["fd_fmnist"], 1)}
                if "class_accuracy" in scores:
                    entry["class_accuracy"] = round(scores["class_accuracy"], 3)
                entry.update({"epoch_seconds": round(seconds, 1), "machine": machine(),
                              "torch": torch.__version__,
                              "source": "python -m training.bench calibrate",
                              "date": time.strftime("%Y-%m-%d", time.gmtime())})
                recorded["runs"].append(entry)
                print(json.dumps(entry), flush=True)
                write_one_epoch(recorded, out)
    return recorded


# What the trainer changes in the course loop's step, added one at a time.
STEP_VARIANTS = {
    "course loop": {},
    "backward(inputs=...) per network": {"inputs": True},
    "and fused Adam": {"inputs": True, "fused": True},
    "and channels-last networks": {"inputs": True, "fused": True, "channels_last": True},
    "and bfloat16 autocast": {"inputs": True, "fused": True, "channels_last": True,
                              "bfloat16": True},
}


def bench_gan_step(repeats: int, steps: int = 25) -> dict:
    """Milliseconds per gan/nonsaturating training step of each of ``STEP_VARIANTS``: the
    median of ``repeats`` rounds of ``steps`` steps, the variants interleaved round by round in
    this process so that all see the same machine. The batch is random: data loading is not
    part of the step."""
    import torch

    from main import MODEL_DEFAULTS
    from training.gan_trainer import ADAM_BETAS, LOSSES, build_networks

    d_loss_fn, g_loss_fn = LOSSES[("gan", "nonsaturating")]
    batch_size, lr = MODEL_DEFAULTS["gan"]["batch_size"], MODEL_DEFAULTS["gan"]["lr"]
    x = torch.rand(batch_size, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1

    def make_step(inputs=False, fused=False, channels_last=False, bfloat16=False):
        torch.manual_seed(0)
        g, d = build_networks("gan", torch.device("cpu"))
        if channels_last:
            g, d = g.to(memory_format=torch.channels_last), d.to(memory_format=torch.channels_last)
        g_params, d_params = list(g.parameters()), list(d.parameters())
        g_optimizer = torch.optim.Adam(g_params, lr=lr, betas=ADAM_BETAS, fused=fused)
        d_optimizer = torch.optim.Adam(d_params, lr=lr, betas=ADAM_BETAS, fused=fused)

        def step() -> None:
            for loss_fn, optimizer, params in ((d_loss_fn, d_optimizer, d_params),
                                               (g_loss_fn, g_optimizer, g_params)):
                with torch.autocast("cpu", torch.bfloat16, enabled=bfloat16):
                    loss = loss_fn(g, d, x, device="cpu")
                optimizer.zero_grad()
                loss.backward(inputs=params if inputs else None)
                optimizer.step()
        return step

    steps_of = {name: make_step(**flags) for name, flags in STEP_VARIANTS.items()}
    for step in steps_of.values():  # warm-up: oneDNN's kernels, the optimisers' state
        for _ in range(10):
            step()
    rounds = {name: [] for name in steps_of}
    for _ in range(repeats):
        for name, step in steps_of.items():
            start = time.perf_counter()
            for _ in range(steps):
                step()
            rounds[name].append((time.perf_counter() - start) / steps * 1000)
    results = {name: {"ms_per_step": statistics.median(times), "rounds": times}
               for name, times in rounds.items()}
    for name, result in results.items():
        print(f"{name}: {result['ms_per_step']:.1f} ms per step")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=["flow", "gan", "gan-step", "calibrate"])
    parser.add_argument("--repeats", type=int, help="runs per timing (default: 3; gan-step: "
                        "10 rounds)")
    parser.add_argument("--out", type=Path, help="JSON file (default: bench_<what>.json)")
    gan = parser.add_argument_group("gan")
    gan.add_argument("--runs", nargs="+", choices=GAN_RUNS, default=GAN_RUNS,
                     help="which model/loss pairs (default: all four)")
    gan.add_argument("--precision", nargs="+", choices=["float32", "bfloat16"],
                     default=["float32", "bfloat16"], help="trainer precisions to compare "
                     "(default: both)")
    gan.add_argument("--grids", type=Path, help="copy the final grid of each first-seed run "
                     "here, as MODEL_LOSS_PRECISION.png")
    calibration = parser.add_argument_group("calibrate (--runs as for gan)")
    calibration.add_argument("--seeds", nargs="+", type=int, default=[3, 4],
                             help="one run per seed (default: 3 4)")
    calibration.add_argument("--threads", type=int, default=1,
                             help="torch's threads (default: 1)")
    calibration.add_argument("--broken", action="store_true",
                             help=f"train with the {BROKEN}")
    args = parser.parse_args()
    if args.what == "calibrate":
        from evaluate import ONE_EPOCH_FILE  # the runs that evaluate.py's bands are drawn from

        out = args.out or ONE_EPOCH_FILE
        calibrate(args.runs, args.seeds, args.threads, args.broken, out)
        print(f"added to {out}")
        return
    out = args.out or Path(f"bench_{args.what}.json")
    if args.what == "gan-step":
        results = bench_gan_step(args.repeats or 10)
    elif args.what == "flow":
        results = bench_flow(args.repeats or 3)
    else:
        results = bench_gan(args.repeats or 3, args.runs, args.precision, args.grids, out)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
