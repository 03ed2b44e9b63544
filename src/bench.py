"""Times the trainers on this machine and writes the numbers to a JSON file.

    python bench.py flow [--repeats 3]    # the default MAF run, a plain DataLoader loop, sampling
    python bench.py gan [--repeats 3]     # one epoch of each GAN model and loss

Every timing is the median of ``--repeats`` runs of the full command (``python main.py ...``
in a fresh process: imports, data, training, plots and checkpoints included). The flow
benchmark also runs a plain training loop over the same model (a DataLoader, the default
Adam, no annealing) in the same session, so the two are compared side by side.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parent
GAN_RUNS = [("gan", "nonsaturating"), ("gan", "minimax"), ("gan", "wasserstein_gp"),
            ("cgan", "nonsaturating")]

# A training loop as a first implementation would write it: the reference point.
PLAIN_FLOW_LOOP = """
import torch
from torch.utils.data import DataLoader, TensorDataset
from data import moons_splits
from submission.flow_network import MAF

data = moons_splits(777)
torch.manual_seed(777)
model = MAF(2, 100, 1, 5)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
loader = DataLoader(TensorDataset(data["train"]), batch_size=100, shuffle=True)
for epoch in range(50):
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


def timed(command: list[str]) -> tuple[float, str]:
    """Runs ``command`` in ``src/``; returns its wall time and its stdout."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=SRC, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{done.stderr[-2000:]}")
    return seconds, done.stdout


def bench_flow(repeats: int) -> dict:
    results = {"trainer_seconds": [], "plain_loop_seconds": [], "test_log_likelihood": [],
               "plain_loop_test_log_likelihood": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):  # alternate the two, so both see the same machine
            out = Path(tmp) / f"maf{i}"
            seconds, _ = timed([sys.executable, "main.py", "--model", "flow", "--out_dir", str(out)])
            results["trainer_seconds"].append(seconds)
            metrics = json.loads((out / "metrics.json").read_text())
            results["test_log_likelihood"].append(metrics["test_log_likelihood"])
            seconds, stdout = timed([sys.executable, "-c", PLAIN_FLOW_LOOP])
            results["plain_loop_seconds"].append(seconds)
            results["plain_loop_test_log_likelihood"].append(float(stdout.split()[-1]))
        seconds, stdout = timed([sys.executable, "-c", f"""
import time, torch
from submission.flow_network import MAF
from utils import load_checkpoint
model = MAF(2, 100, 1, 5)
model.load_state_dict(load_checkpoint({str(Path(tmp) / 'maf0' / 'checkpoint_best.pt')!r}, 'cpu')['model'])
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


def bench_gan(repeats: int) -> dict:
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for model, loss_type in GAN_RUNS:
            name = f"{model}/{loss_type}"
            runs = []
            for i in range(repeats):
                out = Path(tmp) / f"{model}_{loss_type}_{i}"
                seconds, _ = timed([sys.executable, "main.py", "--model", model, "--loss_type",
                                    loss_type, "--out_dir", str(out)])
                runs.append(seconds)
            results[name] = {"epoch_seconds": runs, "median_seconds": statistics.median(runs)}
            print(f"{name}: {statistics.median(runs):.1f} s per epoch (runs: "
                  f"{', '.join(f'{s:.1f}' for s in runs)})", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=["flow", "gan"])
    parser.add_argument("--repeats", type=int, default=3, help="runs per timing (default: 3)")
    parser.add_argument("--out", type=Path, help="JSON file (default: bench_<what>.json)")
    args = parser.parse_args()
    results = bench_flow(args.repeats) if args.what == "flow" else bench_gan(args.repeats)
    out = args.out or Path(f"bench_{args.what}.json")
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
