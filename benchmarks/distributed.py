"""Data-parallel training: measured on this machine, projected to many machines.

Measured (float32, SGD with momentum, a global batch of 64: LeNet-5 on 1x28x28, the CIFAR
CNN on 3x32x32; random data):

- ``1 rank x 2 threads``: one process, ``numnet.set_num_threads(2)``, a step on the batch;
- ``2 ranks x 1 thread``: ``mpirun -n 2``, ``DistributedDataParallel``, 32 images per rank,
  one thread each (the same two cores);
- the allreduce of each model's gradient (float32, 2 ranks, Open MPI over shared memory):
  the median of repeated ``all_reduce`` calls;
- the step's parts on one machine (forward, backward, optimizer), and when, during
  backward, the gradients of each DDP bucket (25 MiB, the first 1 MiB, in reverse
  parameter order) are ready.

Projected: K machines, each one of this machine (1 rank x 2 threads, 64 images per step:
weak scaling, the global batch grows with K), joined by 10, 25 or 100 Gbit/s links. A ring
allreduce of n bytes over K machines takes (the alpha-beta model)

    T(n) = 2 (K - 1) / K * n / bandwidth + 2 (K - 1) * alpha,    alpha = 20 us

(alpha: the latency of one message step over TCP/Ethernet; a few us with RDMA). Bucket b's
allreduce starts when its gradients are ready (the measured offset in backward) and after
bucket b-1's has finished; the step is forward + max(backward, end of the last allreduce) +
optimizer. Assumed: the allreduce advances while backward computes (an MPI progress thread
or an offloading NIC; numnet's DDP also pokes MPI from every gradient hook), the links
run at full bandwidth, no rank straggles. Scaling efficiency = (step on one machine) /
(step on K machines); the overlap column is the share of backward still to run when the
first bucket is ready: the most communication that can hide behind it. Last, per model,
how much faster the compute would have to be (a faster BLAS, a GPU) for the allreduce on 64
machines to outlast that window, where the overlap no longer hides it.

Run: ``python benchmarks/distributed.py`` (a few minutes; prints markdown tables). Needs
mpi4py and mpirun (``pip install 'numnet[mpi]'``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy

import numnet
import numnet.distributed as dist
from numnet import models, nn
from numnet.nn.parallel.distributed import _FIRST_BUCKET_BYTES, _assign_buckets

MODELS = {"lenet5": (1, 28), "cifar_cnn": (3, 32)}
BATCH = 64
ALPHA = 20e-6
LINKS_GBIT = (10, 25, 100)
MACHINES = (2, 4, 8, 16, 32, 64)


def build(name: str):
    channels, side = MODELS[name]
    numnet.manual_seed(0)
    model = models.build_model({"name": name, "in_channels": channels, "num_classes": 10,
                                "activation": "relu", "input_size": side, "init": None})
    rng = numpy.random.default_rng(0)
    x = numnet.tensor(rng.standard_normal((BATCH, channels, side, side)).astype("float32"))
    y = numnet.tensor(rng.integers(0, 10, BATCH))
    return model, x, y


def step_parts(model, optimizer, x, y) -> tuple:
    """(forward s, backward s, optimizer s) of one training step."""
    t0 = time.perf_counter()
    loss = nn.functional.cross_entropy(model(x), y)
    t1 = time.perf_counter()
    optimizer.zero_grad()
    loss.backward()
    t2 = time.perf_counter()
    optimizer.step()
    return t1 - t0, t2 - t1, time.perf_counter() - t2


def measure_one_machine(name: str, steps: int) -> dict:
    """1 rank x 2 threads: the step's parts and the buckets' ready times in backward."""
    numnet.set_num_threads(2)
    model, x, y = build(name)
    optimizer = numnet.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    params = list(model.parameters())
    ready = {}
    clock = {"start": 0.0}
    for i, p in enumerate(params):
        p.register_post_accumulate_grad_hook(
            lambda _, i=i: ready.__setitem__(i, time.perf_counter() - clock["start"]))
    for _ in range(2):
        step_parts(model, optimizer, x, y)
    parts, offsets, backwards = [], [], []
    for _ in range(steps):
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        clock["start"] = time.perf_counter()
        loss.backward()
        backwards.append(time.perf_counter() - clock["start"])
        offsets.append(dict(ready))
        parts.append(step_parts(model, optimizer, x, y))
    forward, update = (statistics.median(p[k] for p in parts) for k in (0, 2))
    backward = statistics.median(backwards)
    buckets = _assign_buckets(params, 25 * 1024 * 1024, _FIRST_BUCKET_BYTES)
    bucket_ready = [statistics.median(max(o[i] for i in b) for o in offsets) for b in buckets]
    bucket_bytes = [sum(params[i].data.nbytes for i in b) for b in buckets]
    return {"forward": forward, "backward": backward, "optimizer": update,
            "step": forward + backward + update, "bucket_ready": bucket_ready,
            "bucket_bytes": bucket_bytes, "params": sum(p.data.size for p in params)}


def worker(steps: int) -> None:
    """Under ``mpirun -n 2``: DDP images/s and allreduce times; rank 0 prints JSON."""
    dist.init_process_group("mpi")
    numnet.set_num_threads(1)
    rank, world = dist.get_rank(), dist.get_world_size()
    results = {}
    for name in MODELS:
        model, x, y = build(name)
        share = BATCH // world
        x, y = x[rank * share:(rank + 1) * share], y[rank * share:(rank + 1) * share]
        ddp = nn.parallel.DistributedDataParallel(model)
        optimizer = numnet.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        for _ in range(2):
            step_parts(ddp, optimizer, x, y)
        dist.barrier()
        start = time.perf_counter()
        for _ in range(steps):
            step_parts(ddp, optimizer, x, y)
        dist.barrier()
        seconds = (time.perf_counter() - start) / steps
        buffer = numnet.zeros(model.num_parameters())
        times = []
        for _ in range(20):
            dist.barrier()
            t = time.perf_counter()
            dist.all_reduce(buffer)
            times.append(time.perf_counter() - t)
        results[name] = {"images_per_second": BATCH / seconds,
                         "allreduce": statistics.median(times)}
    if rank == 0:
        print("RESULT " + json.dumps(results), flush=True)
    dist.destroy_process_group()


def run_two_ranks(steps: int) -> dict:
    mpirun = shutil.which("mpirun", path=str(Path(sys.executable).parent)) or "mpirun"
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    done = subprocess.run([mpirun, "-n", "2", sys.executable, __file__, "--worker",
                           "--steps", str(steps)], env=env, capture_output=True, text=True,
                          timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"mpirun failed:\n{done.stdout}\n{done.stderr}")
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def ring_allreduce(nbytes: float, machines: int, gbit: float) -> float:
    """Seconds of a ring allreduce of ``nbytes`` (the alpha-beta model)."""
    k = machines
    return 2 * (k - 1) / k * nbytes / (gbit * 1e9 / 8) + 2 * (k - 1) * ALPHA


def projected_step(local: dict, machines: int, gbit: float) -> float:
    """Seconds of a step on ``machines`` machines: buckets' allreduces in order, each from
    when its gradients are ready, overlapping the rest of backward."""
    done = 0.0
    for ready, nbytes in zip(local["bucket_ready"], local["bucket_bytes"]):
        done = max(done, ready) + ring_allreduce(nbytes, machines, gbit)
    return local["forward"] + max(local["backward"], done) + local["optimizer"]


def overlap_share(local: dict) -> float:
    """The share of backward left to run when the first bucket is ready."""
    return max(0.0, 1 - local["bucket_ready"][0] / local["backward"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=10, help="timed steps per measurement")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.steps)
        return
    two = run_two_ranks(args.steps)
    local = {name: measure_one_machine(name, args.steps) for name in MODELS}
    load = os.getloadavg()[0]
    print(f"## Measured on this machine ({os.cpu_count()} cores, load average {load:.1f}; "
          f"global batch {BATCH}, float32)\n")
    print("| model | parameters | gradient MiB | 1 rank x 2 threads img/s | 2 ranks x 1 thread "
          "img/s | 2 ranks / 1 rank | allreduce ms (2 ranks) | backward ms | overlap |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, measured in local.items():
        one = BATCH / measured["step"]
        ranks = two[name]["images_per_second"]
        print(f"| {name} | {measured['params']:,} | {measured['params'] * 4 / 2**20:.2f} | "
              f"{one:.0f} | {ranks:.0f} | {ranks / one:.2f} | "
              f"{two[name]['allreduce'] * 1e3:.2f} | {measured['backward'] * 1e3:.1f} | "
              f"{overlap_share(measured):.0%} |")
    print(f"\n## Projected: K machines like this one, {BATCH} images per machine per step, "
          f"ring allreduce with alpha = {ALPHA * 1e6:.0f} us\n")
    header = " | ".join(f"{g} Gbit/s ms / eff." for g in LINKS_GBIT)
    for name, measured in local.items():
        print(f"\n{name} (one machine: {measured['step'] * 1e3:.1f} ms/step, gradient "
              f"{sum(measured['bucket_bytes']) / 2**20:.2f} MiB in "
              f"{len(measured['bucket_bytes'])} bucket(s))\n")
        print(f"| K | {header} |")
        print("|---|" + "---|" * len(LINKS_GBIT))
        for k in MACHINES:
            cells = []
            for gbit in LINKS_GBIT:
                step = projected_step(measured, k, gbit)
                cells.append(f"{step * 1e3:.1f} / {measured['step'] / step:.0%}")
            print(f"| {k} | " + " | ".join(cells) + " |")
        window = max(0.0, measured["backward"] - measured["bucket_ready"][0])
        comm = [sum(ring_allreduce(n, MACHINES[-1], g) for n in measured["bucket_bytes"])
                for g in LINKS_GBIT]
        times = " / ".join(f"{c * 1e3:.1f}" for c in comm)
        links = " / ".join(map(str, LINKS_GBIT))
        if window <= min(comm):
            verdict = ("they do not hide, " + (
                "as the whole gradient is one bucket, whose allreduce starts when backward "
                "is done" if len(comm) and len(measured["bucket_bytes"]) == 1 else
                "as the window is shorter"))
        else:
            factors = ", ".join(f"{window / c:.0f}x" for c in comm)
            verdict = (f"they would stop hiding behind backward once the compute is "
                       f"{factors} faster than here")
        print(f"\nOn {MACHINES[-1]} machines the allreduces take {times} ms on {links} "
              f"Gbit/s against an overlap window of {window * 1e3:.1f} ms: {verdict}.")


if __name__ == "__main__":
    main()
