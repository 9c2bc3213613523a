"""One epoch of Fashion-MNIST: numnet's command line against a plain PyTorch loop.

numnet runs what a user types, ``numnet train --dataset fashion-mnist --epochs 1 --threads N
--no-progress --out TMP``: the dataset's default recipe (``cnn_bn``, batch 128, SGD lr 0.05,
momentum 0.9, weight decay 5e-4, cosine schedule, no augmentation, 10% of the training set
held out for validation), with everything the command does: start-up, reading the IDX
files, the epoch, the validation and test passes, the checkpoints and the plots.

PyTorch runs the loop a PyTorch user writes for the same recipe, over the same arrays
(read by ``numnet.data.load_arrays``, standardised with the dataset's mean and std, a
random 54,000 / 6,000 split): ``TensorDataset`` + ``DataLoader(batch_size=128,
shuffle=True)``, the same network (the torch twin of numnet's ``cnn_bn``, from
``compare_torch.torch_twin``), ``SGD`` + ``CosineAnnealingLR``, one epoch of training, then
the validation and test accuracy under ``torch.no_grad()`` (batch 256) and
``torch.save`` of the weights; no plots.

Each run is its own process, timed from start to exit by this script, alternating numnet,
torch, numnet, torch, ... over ``--rounds`` rounds, once with 1 thread and once with
``--threads`` N (torch: ``torch.set_num_threads``). Printed: the median and fastest wall
time of each and the ratio numnet / torch, plus the time the torch loop spent training
(its own clock) beside the whole process.

Usage:
    python benchmarks/epoch_vs_torch.py [--threads 2] [--rounds 2] [--limit-train N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH, LR, MOMENTUM, WEIGHT_DECAY, VAL_FRACTION = 128, 0.05, 0.9, 5e-4, 0.1


def _numnet_command(threads: int, out: str, limit_train: int | None) -> list:
    command = [sys.executable, "-m", "numnet", "train", "--dataset", "fashion-mnist",
               "--epochs", "1", "--threads", str(threads), "--no-progress", "--out", out]
    if limit_train is not None:
        command += ["--limit-train", str(limit_train)]
    return command


def _torch_worker(threads: int, out: str, limit_train: int | None) -> None:
    """The PyTorch user's loop (see the module docstring); prints its clocks as JSON."""
    start = time.perf_counter()
    import numpy
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    import numnet
    from numnet import data, models

    sys.path.insert(0, HERE)
    from compare_torch import torch_twin

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    info = data.get_info("fashion-mnist")
    mean, std = info.mean[0], info.std[0]

    def tensors(split: str):
        images, labels = data.load_arrays("fashion-mnist", split=split)
        return torch.from_numpy((images - mean) / std), torch.from_numpy(labels)

    x, t = tensors("train")
    if limit_train is not None:
        x, t = x[:limit_train], t[:limit_train]
    n_val = int(round(len(x) * VAL_FRACTION))
    order = torch.randperm(len(x))
    train_set = TensorDataset(x[order[n_val:]], t[order[n_val:]])
    val_set = TensorDataset(x[order[:n_val]], t[order[:n_val]])
    test_set = TensorDataset(*tensors("test"))
    numnet.manual_seed(0)
    model = torch_twin(models.cnn_bn())
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM,
                                weight_decay=WEIGHT_DECAY)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=1)
    loader = DataLoader(train_set, batch_size=BATCH, shuffle=True)
    loss_fn = torch.nn.CrossEntropyLoss()
    train_start = time.perf_counter()
    model.train()
    for images, labels in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
    scheduler.step()
    train_seconds = time.perf_counter() - train_start

    def accuracy(dataset) -> float:
        model.eval()
        correct = 0
        with torch.no_grad():
            for images, labels in DataLoader(dataset, batch_size=256):
                correct += int((model(images).argmax(1) == labels).sum())
        return correct / len(dataset)

    val_accuracy, test_accuracy = accuracy(val_set), accuracy(test_set)
    torch.save(model.state_dict(), os.path.join(out, "model.pt"))
    print(json.dumps({"train_s": train_seconds, "in_process_s": time.perf_counter() - start,
                      "val_accuracy": val_accuracy, "test_accuracy": test_accuracy,
                      "numpy": numpy.__version__, "torch": torch.__version__}))


def _timed(command: list) -> tuple:
    """(wall seconds, stdout) of a command run to its end; its failure stops the script."""
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode:
        sys.exit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return seconds, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--limit-train", type=int, default=None,
                        help="train on the first N training images (a quick check)")
    parser.add_argument("--worker", choices=["torch"], help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _torch_worker(args.threads, args.out, args.limit_train)
        return
    print(f"one epoch of Fashion-MNIST, numnet's CLI vs a PyTorch loop; {os.cpu_count()} CPUs, "
          f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}, {args.rounds} "
          f"round(s), alternating; OPENBLAS environment: "
          f"{ {k: v for k, v in os.environ.items() if k.startswith('OPENBLAS')} or 'none set'}")
    print(f"{'threads':>7} | {'numnet s':>8} {'(min)':>7} | {'torch s':>8} {'(min)':>7} | "
          f"{'ratio':>5} {'(min)':>5} | torch training s | test accuracy numnet / torch")
    for threads in sorted({1, args.threads}):
        times = {"numnet": [], "torch": []}
        torch_train, accuracies = [], {}
        for _ in range(args.rounds):
            with tempfile.TemporaryDirectory() as folder:
                seconds, stdout = _timed(_numnet_command(threads, os.path.join(folder, "run"),
                                                         args.limit_train))
                times["numnet"].append(seconds)
                accuracies["numnet"] = next((line.split()[2] for line in stdout.splitlines()
                                             if line.startswith("test accuracy")), "?")
            with tempfile.TemporaryDirectory() as folder:
                command = [sys.executable, os.path.abspath(__file__), "--worker", "torch",
                           "--threads", str(threads), "--out", folder]
                if args.limit_train is not None:
                    command += ["--limit-train", str(args.limit_train)]
                seconds, stdout = _timed(command)
                times["torch"].append(seconds)
                report = json.loads(stdout.strip().splitlines()[-1])
                torch_train.append(report["train_s"])
                accuracies["torch"] = f"{report['test_accuracy']:.4f}"
        median = {k: statistics.median(v) for k, v in times.items()}
        fastest = {k: min(v) for k, v in times.items()}
        print(f"{threads:>7} | {median['numnet']:8.1f} {fastest['numnet']:7.1f} | "
              f"{median['torch']:8.1f} {fastest['torch']:7.1f} | "
              f"{median['numnet'] / median['torch']:5.2f} "
              f"{fastest['numnet'] / fastest['torch']:5.2f} | "
              f"{statistics.median(torch_train):16.1f} | "
              f"{accuracies['numnet']} / {accuracies['torch']}", flush=True)


if __name__ == "__main__":
    main()
