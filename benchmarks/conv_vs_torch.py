"""conv2d forward + backward, numnet against PyTorch on this machine.

Each library runs in its own subprocess (so neither one's thread pools or allocator state
affect the other), alternating numnet, torch, numnet, torch, ... for ``--rounds`` rounds.
Every subprocess warms up, then times ``--reps`` repetitions of

    y = conv2d(x, weight, bias, padding=P); y.backward(gy)

with a fixed upstream gradient ``gy``, float32 throughout. torch gets as many threads as
numnet's BLAS uses (``torch.set_num_threads``); ``--threads N`` sets both. Printed: the
median over all timed repetitions of every round, in ms, and the ratio numnet / torch (and
the fastest repetition of each, less sensitive to other processes on a shared machine).

Usage:
    python benchmarks/conv_vs_torch.py [--rounds 3] [--reps 20] [--warmup 3] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

# (name, x shape, weight shape, padding, whether x needs its gradient)
CASES = [
    ("LeNet conv1, first layer", (64, 1, 28, 28), (6, 1, 5, 5), 2, False),
    ("LeNet conv1, input grad too", (64, 1, 28, 28), (6, 1, 5, 5), 2, True),
    ("3x3 hidden layer", (128, 32, 16, 16), (64, 32, 3, 3), 1, True),
]


def _blas_threads() -> int:
    import numpy  # noqa: F401 - loads the BLAS that threadpoolctl reports
    from threadpoolctl import threadpool_info
    counts = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    return counts[0] if counts else 1


def _inputs(case, seed: int = 0):
    import numpy
    _, x_shape, w_shape, padding, _ = case
    rng = numpy.random.default_rng(seed)
    x = rng.standard_normal(x_shape, dtype=numpy.float32)
    w = rng.standard_normal(w_shape, dtype=numpy.float32) * numpy.float32(0.1)
    b = rng.standard_normal(w_shape[:1], dtype=numpy.float32)
    oh = x_shape[2] + 2 * padding - w_shape[2] + 1
    ow = x_shape[3] + 2 * padding - w_shape[3] + 1
    gy = rng.standard_normal((x_shape[0], w_shape[0], oh, ow), dtype=numpy.float32)
    return x, w, b, gy


def _step_numnet(case):
    import numnet
    import numnet.nn.functional as F
    x, w, b, gy = _inputs(case)
    padding, x_grad = case[3], case[4]
    x = numnet.tensor(x, requires_grad=x_grad)
    w = numnet.tensor(w, requires_grad=True)
    b = numnet.tensor(b, requires_grad=True)
    gy = numnet.tensor(gy)

    def step():
        x.grad = w.grad = b.grad = None
        F.conv2d(x, w, b, padding=padding).backward(gy)
    return step


def _step_torch(case, threads: int):
    import torch
    torch.set_num_threads(threads)
    x, w, b, gy = (torch.from_numpy(a) for a in _inputs(case))
    padding, x_grad = case[3], case[4]
    x.requires_grad_(x_grad)
    w.requires_grad_(True)
    b.requires_grad_(True)

    def step():
        x.grad = w.grad = b.grad = None
        torch.nn.functional.conv2d(x, w, b, padding=padding).backward(gy)
    return step


def _worker(args) -> None:
    case = CASES[args.case]
    if args.worker == "numnet":
        from threadpoolctl import threadpool_limits
        threadpool_limits(args.threads, user_api="blas")
        step = _step_numnet(case)
    else:
        step = _step_torch(case, args.threads)
    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.reps):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1e3)
    print(json.dumps(times))


def _run_worker(lib: str, case_index: int, args, threads: int) -> list:
    command = [sys.executable, os.path.abspath(__file__), "--worker", lib,
               "--case", str(case_index), "--reps", str(args.reps),
               "--warmup", str(args.warmup), "--threads", str(threads)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--worker", choices=("numnet", "torch"), help=argparse.SUPPRESS)
    parser.add_argument("--case", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=0,
                        help="BLAS threads for numnet and torch (default: numnet's BLAS's)")
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args)
        return 0
    threads = args.threads or _blas_threads()
    blas_env = {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS")}
    print(f"numnet BLAS threads: {threads}; torch.set_num_threads({threads}); "
          f"OPENBLAS env: {blas_env or 'none set'}; load average "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())} on {os.cpu_count()} CPUs")
    print(f"{args.rounds} rounds alternating numnet/torch subprocesses, {args.warmup} warm-up "
          f"+ {args.reps} timed reps each; median ms of conv2d forward + backward, float32")
    for index, case in enumerate(CASES):
        name, x_shape, w_shape, padding, x_grad = case
        times = {"numnet": [], "torch": []}
        for _ in range(args.rounds):
            for lib in ("numnet", "torch"):
                times[lib] += _run_worker(lib, index, args, threads)
        numnet_ms = statistics.median(times["numnet"])
        torch_ms = statistics.median(times["torch"])
        print(f"{name}: x {x_shape} * w {w_shape}, padding {padding}, "
              f"x.requires_grad={x_grad}\n"
              f"    median: numnet {numnet_ms:8.2f} ms   torch {torch_ms:8.2f} ms   "
              f"ratio numnet/torch {numnet_ms / torch_ms:5.2f}\n"
              f"    (fastest: numnet {min(times['numnet']):.2f} ms, torch "
              f"{min(times['torch']):.2f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
