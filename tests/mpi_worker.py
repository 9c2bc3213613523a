"""Scenarios that tests/test_distributed.py runs under ``mpirun -n 2``:
``python tests/mpi_worker.py SCENARIO OUT_DIR [options]``. Each rank writes what the test
compares into OUT_DIR (``rank{r}.npz``, arrays only)."""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

import numpy

import numnet
import numnet.distributed as dist
from numnet import nn

STEPS = 3
GLOBAL_BATCH = 8


def make_model(batch_norm: bool, seed: int, dtype: str = "float64"):
    """A small CNN (float64 unless ``dtype``): conv, (batch norm), ReLU, linear."""
    numnet.manual_seed(seed)
    layers = [nn.Conv2d(1, 4, 3)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(4))
    layers += [nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3)]
    model = nn.Sequential(*layers)
    return model.double() if dtype == "float64" else model


def global_data(dtype: str = "float64"):
    rng = numpy.random.default_rng(1)
    x = rng.standard_normal((STEPS, GLOBAL_BATCH, 1, 6, 6)).astype(dtype)
    y = rng.integers(0, 3, size=(STEPS, GLOBAL_BATCH))
    return x, y


def train(model, batches, accumulate: bool, ddp=None):
    """SGD with momentum over ``batches`` [(x, y)]; with ``accumulate`` each batch is two
    halves whose gradients add up (the first one under ``ddp.no_sync()``)."""
    optimizer = numnet.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for x, y in batches:
        optimizer.zero_grad()
        if accumulate:
            half = x.shape[0] // 2
            with ddp.no_sync() if ddp is not None else _nothing():
                loss = nn.functional.cross_entropy(model(numnet.tensor(x[:half])),
                                                   numnet.tensor(y[:half]))
                loss.backward()
            x, y = x[half:], y[half:]
        loss = nn.functional.cross_entropy(model(numnet.tensor(x)), numnet.tensor(y))
        loss.backward()
        optimizer.step()


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def local_share(array, rank: int, size: int, accumulate: bool):
    """Rank ``rank``'s rows of each global batch: contiguous shares (two halves' shares
    when accumulating, so that each half's rows over the ranks are the global half)."""
    if not accumulate:
        n = array.shape[1] // size
        return array[:, rank * n:(rank + 1) * n]
    half = array.shape[1] // 2
    n = half // size
    first = array[:, rank * n:(rank + 1) * n]
    second = array[:, half + rank * n:half + (rank + 1) * n]
    return numpy.concatenate([first, second], axis=1)


VARIANTS = ("plain", "sync_bn", "accumulate", "sync_bn+accumulate", "sync_bn+float32")


def ddp(out: Path, variant: str) -> None:
    """Train ``variant`` with DDP on 2 ranks; write the weights to ``rank{r}-{variant}.npz``."""
    sync_bn, accumulate = "sync_bn" in variant, "accumulate" in variant
    dtype = "float32" if "float32" in variant else "float64"
    if not dist.is_initialized():
        dist.init_process_group("mpi")
    rank, size = dist.get_rank(), dist.get_world_size()
    model = make_model(sync_bn, 100 + rank, dtype)  # different: DDP broadcasts rank 0's
    if sync_bn:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    numnet.manual_seed(0)
    reference = make_model(sync_bn, 0, dtype)
    if rank == 0:
        model.load_state_dict(reference.state_dict())
    wrapped = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=0.0005)
    x, y = global_data(dtype)
    x, y = local_share(x, rank, size, accumulate), local_share(y, rank, size, accumulate)
    train(wrapped, list(zip(x, y)), accumulate, ddp=wrapped)
    state = {k: numpy.asarray(v) for k, v in model.state_dict().items()}
    state["buckets"] = numpy.array(len(wrapped._buckets))
    state["host"] = numpy.array(socket.gethostname())
    numpy.savez(out / f"rank{rank}-{variant}.npz", **state)


def sampler(out: Path, n: int) -> None:
    dist.init_process_group("mpi")
    from numnet.utils.data import DistributedSampler
    s = DistributedSampler(range(n), shuffle=True, seed=3)
    epochs = []
    for epoch in range(2):
        s.set_epoch(epoch)
        epochs.append(numpy.array(list(s)))
    numpy.savez(out / f"rank{dist.get_rank()}.npz", *epochs)


def collectives(out: Path) -> None:
    dist.init_process_group()
    rank, size = dist.get_rank(), dist.get_world_size()
    t = numnet.tensor([1.0, 2.0]) * (rank + 1)
    dist.all_reduce(t)
    avg = numnet.tensor([float(rank)])
    work = dist.all_reduce(avg, op=dist.ReduceOp.AVG, async_op=True)
    work.wait()
    high = numnet.tensor([rank], dtype=numnet.int64)
    dist.all_reduce(high, op=dist.ReduceOp.MAX)
    strided = numnet.tensor(numpy.arange(6.0).reshape(2, 3) * (rank + 1)).T  # non-contiguous
    dist.all_reduce(strided)
    b = numnet.tensor([float(rank) + 5])
    dist.broadcast(b, src=1)
    gathered = [numnet.zeros(2) for _ in range(size)]
    dist.all_gather(gathered, numnet.tensor([rank, -rank], dtype=numnet.float32))
    r = numnet.tensor([float(rank + 1)])
    dist.reduce(r, dst=0)
    objects = [None] * size
    dist.all_gather_object(objects, {"rank": rank})
    sent = [f"from {rank}", rank]
    dist.broadcast_object_list(sent, src=1)
    dist.barrier()
    numpy.savez(out / f"rank{rank}.npz", sum=t.numpy(), avg=avg.numpy(), max=high.numpy(),
                strided=strided.numpy(), bcast=b.numpy(),
                gathered=numpy.stack([g.numpy() for g in gathered]), reduce=r.numpy(),
                objects=numpy.array([o["rank"] for o in objects]),
                sent=numpy.array(sent[0]), size=numpy.array(size))


def fail(out: Path, how: str) -> None:
    dist.init_process_group("mpi")
    rank = dist.get_rank()
    t = numnet.ones(3)
    for step in range(1000):
        if rank == 1 and step == 3:
            if how == "raise":
                raise ValueError("rank 1 failed on purpose at step 3")
            if how == "exit":
                with dist.abort_on_exception():
                    sys.exit(3)
        dist.all_reduce(t)
        time.sleep(0.01)


def cli_fail(out: Path, how: str) -> None:
    """``numnet train`` with rank 1 failing at its 4th step (``how``: raise or kill)."""
    import os
    import signal

    from numnet import cli
    from numnet.train import Trainer

    original = Trainer.train_step

    def train_step(self, inputs, labels):
        if self.rank == 1 and self.global_step == 3:
            (out / "failed_at").write_text(repr(time.time()))
            if how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            raise RuntimeError("rank 1 broke down on purpose at step 4")
        return original(self, inputs, labels)
    Trainer.train_step = train_step
    sys.exit(cli.main(["train", "--model", "mlp", "--epochs", "2", "--limit-train", "300",
                       "--no-progress", "--out", str(out / "run")]))


if __name__ == "__main__":
    numnet.set_num_threads(1)
    scenario, folder = sys.argv[1], Path(sys.argv[2])
    options = sys.argv[3:]
    if scenario == "ddp":
        for variant in VARIANTS:
            ddp(folder, variant)
    elif scenario == "sampler":
        sampler(folder, int(options[0]))
    elif scenario == "collectives":
        collectives(folder)
    elif scenario == "fail":
        fail(folder, options[0])
    elif scenario == "cli_fail":
        cli_fail(folder, options[0])
    else:
        raise SystemExit(f"unknown scenario {scenario}")
