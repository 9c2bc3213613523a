"""Training-step speed and memory, numnet against PyTorch, on this machine.

For each model preset (``numnet.models``: ``mlp`` 784-256-128-10 ReLU with batch 128,
``lenet5`` on 1x28x28 with batch 64, ``cifar_cnn`` on 3x32x32 with batch 128; float32) both
libraries get the SAME weights (the torch model copies numnet's ``state_dict``) and the same
random batch, and time one training step:

    opt.zero_grad(); loss = cross_entropy(model(x), t); loss.backward(); opt.step()

with SGD (lr 0.01, momentum 0.9). Each library runs in its OWN subprocess (OpenBLAS and
OpenMP worker threads keep spinning after a call and would steal the other library's core),
alternating numnet, torch, numnet, torch, ... over ``--rounds`` rounds; every subprocess
warms up, then times ``--steps`` steps. Everything runs once with 1 thread and once with
``--threads`` N (numnet: ``numnet.set_num_threads(N)`` and N BLAS threads; torch:
``torch.set_num_threads(N)``).

Printed per model: median and fastest ms/step of each library over all rounds, the ratio
numnet / torch, and the peak memory of a step: the high-water mark of the process's resident
memory (``VmHWM``, reset through ``/proc/self/clear_refs``) during the timed steps, minus
the resident memory before the first full-size step (model, batch and libraries already
loaded by a step on 2 samples). It counts gradients, optimizer buffers, intermediates and
whatever the allocator or numnet's workspace keeps. Then a per-op-type forward / backward
breakdown of numnet's step (``numnet.autograd.profile``), and the per-op overhead of each
engine: a tiny op (``a * b`` on 1-element tensors, forward + backward) and a 10x10
``Linear`` training step (forward, MSE loss, backward, SGD-momentum step).

Usage:
    python benchmarks/compare_torch.py [--threads N] [--models mlp,lenet5,cifar_cnn]
        [--steps 20] [--warmup 3] [--rounds 3] [--smoke]
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time

MODELS = {
    # name: (preset arguments, input shape of one sample, batch)
    "mlp": ({"sizes": [784, 256, 128, 10]}, (784,), 128),
    "lenet5": ({}, (1, 28, 28), 64),
    "cifar_cnn": ({}, (3, 32, 32), 128),
}
SMOKE = {
    "mlp": ({"sizes": [64, 32, 10]}, (64,), 16),
    "lenet5": ({}, (1, 28, 28), 4),
    "cifar_cnn": ({"input_size": 8}, (3, 8, 8), 4),
}
LR, MOMENTUM = 0.01, 0.9


# ---------------------------------------------------------------------------------- workers
def _batch(shape, batch: int, seed: int = 0):
    import numpy
    rng = numpy.random.default_rng(seed)
    x = rng.standard_normal((batch,) + tuple(shape), dtype=numpy.float32)
    t = rng.integers(0, 10, size=batch).astype(numpy.int64)
    return x, t


def _numnet_model(name: str, arguments: dict):
    import numnet
    from numnet import models
    numnet.manual_seed(0)
    return models.MODELS[name](**arguments)


def _torch_model(name: str, arguments: dict):
    """The torch twin of the numnet preset, with numnet's weights copied in."""
    import collections

    import numpy
    import torch
    from torch import nn
    net = _numnet_model(name, arguments)
    layers = []
    for layer_name, layer in net.named_children():
        kind = type(layer).__name__
        if kind == "Linear":
            layers.append((layer_name, nn.Linear(layer.in_features, layer.out_features)))
        elif kind == "Conv2d":
            layers.append((layer_name, nn.Conv2d(layer.in_channels, layer.out_channels,
                                                 layer.kernel_size, layer.stride,
                                                 layer.padding)))
        elif kind == "MaxPool2d":
            layers.append((layer_name, nn.MaxPool2d(layer.kernel_size, layer.stride,
                                                    layer.padding)))
        elif kind == "ReLU":
            layers.append((layer_name, nn.ReLU()))
        elif kind == "Flatten":
            layers.append((layer_name, nn.Flatten()))
        elif kind == "Identity":
            layers.append((layer_name, nn.Identity()))
        else:
            raise ValueError(f"no torch twin for layer {layer_name} ({kind})")
    model = nn.Sequential(collections.OrderedDict(layers))
    state = {k: torch.from_numpy(numpy.array(v.data if hasattr(v, 'data') else v, copy=True))
             for k, v in net.state_dict().items()}
    model.load_state_dict(state)
    return model


def _numnet_step(name, arguments, shape, batch):
    import numnet
    import numnet.nn.functional as F
    model = _numnet_model(name, arguments)
    opt = numnet.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)

    def make(batch_size):
        x, t = _batch(shape, batch_size)
        x, t = numnet.tensor(x), numnet.tensor(t)

        def step():
            opt.zero_grad()
            loss = F.cross_entropy(model(x), t)
            loss.backward()
            opt.step()
            return loss
        return step
    return make


def _torch_step(name, arguments, shape, batch):
    import torch
    model = _torch_model(name, arguments)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)

    def make(batch_size):
        x, t = (torch.from_numpy(a) for a in _batch(shape, batch_size))

        def step():
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), t)
            loss.backward()
            opt.step()
            return loss
        return step
    return make


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def _overhead(lib: str, reps: int) -> dict:
    """µs per tiny op (``a * b``, forward + backward) and per 10x10 Linear training step."""
    if lib == "numnet":
        import numnet as mod
        nn, F = mod.nn, mod.nn.functional
        optim = mod.optim
    else:
        import torch as mod
        nn, F = mod.nn, mod.nn.functional
        optim = mod.optim
    a = mod.tensor(1.5, requires_grad=True)
    b = mod.tensor(2.0, requires_grad=True)

    def tiny():
        (a * b).backward()

    mod.manual_seed(0)
    layer = nn.Linear(10, 10)
    opt = optim.SGD(layer.parameters(), lr=LR, momentum=MOMENTUM)
    x, target = mod.ones(10, 10), mod.zeros(10, 10)

    def linear_step():
        opt.zero_grad()
        F.mse_loss(layer(x), target).backward()
        opt.step()

    result = {}
    for key, fn in (("tiny_op_us", tiny), ("linear10_step_us", linear_step)):
        for _ in range(reps // 10):
            fn()
        best = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(reps):
                fn()
            best.append((time.perf_counter() - start) / reps * 1e6)
        result[key] = statistics.median(best)
    return result


def _worker(args) -> None:
    threads = args.threads
    table = SMOKE if args.smoke else MODELS
    if args.worker == "numnet":
        import numnet
        numnet.set_num_threads(threads)
        _limit_blas(threads)
    else:
        import torch
        torch.set_num_threads(threads)
        torch.set_num_interop_threads(1)
    if args.model == "overhead":
        print(json.dumps(_overhead(args.worker, 200 if args.smoke else 2000)))
        return
    arguments, shape, batch = table[args.model]
    maker = (_numnet_step if args.worker == "numnet" else _torch_step)(
        args.model, arguments, shape, batch)
    maker(2)()  # loads the code paths on a tiny batch
    step = maker(batch)
    gc.collect()
    before = _rss_kib("VmRSS")
    can_peak = _reset_peak()
    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.steps):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1e3)
    peak = (_rss_kib("VmHWM") - before) / 1024 if can_peak else None
    result = {"times": times, "peak_mib": peak}
    if args.worker == "numnet":
        from numnet.autograd import profile
        with profile() as prof:
            for _ in range(max(1, args.steps // 4)):
                step()
        calls = max(1, args.steps // 4)
        result["ops"] = [(name, f / calls * 1e3, b / calls * 1e3, n // calls)
                         for name, f, b, n in prof.table()]
        result["blas"] = _blas_info()
    print(json.dumps(result))


def _limit_blas(threads: int) -> None:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(threads, user_api="blas")


def _blas_info() -> str:
    try:
        import numpy  # noqa: F401 - loads the BLAS that threadpoolctl reports
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    pools = [p for p in threadpool_info() if p["user_api"] == "blas"]
    return "; ".join(f"{p['internal_api']} {p.get('version')} {p.get('architecture')} kernel, "
                     f"{p['num_threads']} threads max" for p in pools) or "none found"


# ---------------------------------------------------------------------------------- driver
def _run(lib: str, model: str, threads: int, args) -> dict:
    command = [sys.executable, os.path.abspath(__file__), "--worker", lib, "--model", model,
               "--threads", str(threads), "--steps", str(args.steps),
               "--warmup", str(args.warmup)]
    if args.smoke:
        command.append("--smoke")
    env = dict(os.environ)
    for key in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[key] = str(threads)
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{lib} {model} worker failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _fmt(value, spec: str = "8.2f") -> str:
    return "     n/a" if value is None else format(value, spec)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="threads of the multi-threaded runs (default: all cores)")
    parser.add_argument("--models", default="mlp,lenet5,cifar_cnn")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per subprocess")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny models, 1 round, 2 steps: checks that it runs")
    parser.add_argument("--worker", choices=("numnet", "torch"), help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.smoke:
        args.steps, args.warmup, args.rounds = 2, 1, 1
    if args.worker:
        _worker(args)
        return 0
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        parser.error(f"unknown model(s) {unknown}; known: {', '.join(MODELS)}")
    thread_counts = sorted({1, max(1, args.threads)})
    if args.smoke:
        thread_counts = thread_counts[-1:]
    blas_env = {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS")}
    import numpy
    import torch
    print(f"numnet vs PyTorch {torch.__version__}, {datetime.date.today().isoformat()}, "
          f"{platform.python_implementation()} {platform.python_version()}, NumPy "
          f"{numpy.__version__}, {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"OPENBLAS environment: {blas_env or 'none set'}")
    print(f"{args.rounds} round(s), each library in its own subprocess, alternating; "
          f"{args.warmup} warm-up + {args.steps} timed steps per subprocess; float32, "
          f"SGD momentum {MOMENTUM}")
    header = (f"{'model':<10} {'thr':>3} | {'numnet ms':>9} {'(min)':>7} | {'torch ms':>9} "
              f"{'(min)':>7} | {'ratio':>5} {'(min)':>5} | {'peak MiB numnet':>15} "
              f"{'torch':>6}")
    rows, breakdowns, blas = [], {}, None
    for threads in thread_counts:
        for model in models:
            times = {"numnet": [], "torch": []}
            peaks = {"numnet": [], "torch": []}
            for _ in range(args.rounds):
                for lib in ("numnet", "torch"):
                    result = _run(lib, model, threads, args)
                    times[lib] += result["times"]
                    if result["peak_mib"] is not None:
                        peaks[lib].append(result["peak_mib"])
                    if lib == "numnet":
                        breakdowns[(model, threads)] = result["ops"]
                        blas = result["blas"]
            med = {lib: statistics.median(v) for lib, v in times.items()}
            low = {lib: min(v) for lib, v in times.items()}
            peak = {lib: (max(v) if v else None) for lib, v in peaks.items()}
            rows.append(f"{model:<10} {threads:>3} | {med['numnet']:9.2f} {low['numnet']:7.2f} "
                        f"| {med['torch']:9.2f} {low['torch']:7.2f} | "
                        f"{med['numnet'] / med['torch']:5.2f} {low['numnet'] / low['torch']:5.2f}"
                        f" | {_fmt(peak['numnet'], '15.1f')} {_fmt(peak['torch'], '6.1f')}")
            print(rows[-1] if len(rows) > 1 else header + "\n" + rows[-1], flush=True)
    print(f"\nnumnet's BLAS: {blas}")
    print("peak MiB: resident-memory high-water mark of the timed steps above the resident "
          "memory before them (largest over the rounds)")
    for (model, threads), ops in breakdowns.items():
        total = sum(f + b for _, f, b, _ in ops)
        print(f"\nnumnet per-op time, {model}, {threads} thread(s) (ms per step; ops total "
              f"{total:.2f} ms):")
        print(f"  {'op':<16} {'forward':>8} {'backward':>8} {'calls':>5}")
        if any(name == "Conv2dReLU" for name, *_ in ops):
            print("  (Conv2dReLU: a convolution, its ReLU and the max pooling after it, where "
                  "there is one, fused by nn.Sequential)")
        for name, fwd, bwd, calls in ops:
            print(f"  {name:<16} {fwd:8.3f} {bwd:8.3f} {calls:>5}")
    print("\nper-op overhead (1 thread, median of 5 runs):")
    over = {lib: [] for lib in ("numnet", "torch")}
    for _ in range(args.rounds):
        for lib in ("numnet", "torch"):
            over[lib].append(_run(lib, "overhead", 1, args))
    for key, label in (("tiny_op_us", "tiny op a*b, forward + backward"),
                       ("linear10_step_us", "10x10 Linear training step")):
        n = statistics.median(r[key] for r in over["numnet"])
        t = statistics.median(r[key] for r in over["torch"])
        print(f"  {label:<34} numnet {n:8.1f} us   torch {t:8.1f} us   ratio {n / t:5.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
