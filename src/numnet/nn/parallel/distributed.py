"""``DistributedDataParallel``: one model replica per process, gradients averaged in buckets.

Every rank holds the same model (rank 0's parameters and buffers are broadcast when it is
wrapped) and runs forward and backward on its own share of the global batch. During
backward the gradients are averaged over the K ranks, ``g <- (1/K) sum_r g_r``, so that the
optimizer step is the same on every rank and equals the step of one process on the global
batch (each rank's loss being the mean over its equal share).

The averaging overlaps backward, as PyTorch's reducer does: the parameters, in reverse
order (backward produces the last layers' gradients first), are grouped into buckets of
about ``bucket_cap_mb`` MiB (the first one 1 MiB, so communication starts early), one
contiguous buffer per bucket. A post-accumulate-grad hook on each parameter
(``Tensor.register_post_accumulate_grad_hook``) marks it ready; when every parameter of a
bucket is ready its gradients are copied into the buffer and a non-blocking allreduce
(MPI ``Iallreduce``) starts, while backward goes on computing earlier layers. Buckets are
started in index order only, so every rank issues the same collectives in the same order.
Each hook also tests the oldest allreduce in flight, since most MPI libraries advance a
non-blocking collective only inside MPI calls. A callback queued with
``numnet.autograd.queue_callback`` runs when backward has finished: it waits for the
buckets, divides by K and writes the averages back into ``.grad``, so the gradients are
final when ``backward()`` returns, whatever comes next (clipping, an optimizer step, a
check).
"""

from __future__ import annotations

import contextlib

import numpy

from numnet import autograd
from numnet import distributed as dist
from numnet.nn.module import Module
from numnet.tensor import Tensor

_FIRST_BUCKET_BYTES = 1024 * 1024  # PyTorch's dist._DEFAULT_FIRST_BUCKET_BYTES
_UNUSED_MESSAGE = (
    "Expected to have finished reduction in the prior iteration before starting a new one. "
    "This error indicates that your module has parameters that were not used in producing "
    "loss. You can enable unused parameter detection by passing the keyword argument "
    "`find_unused_parameters=True` to `numnet.nn.parallel.DistributedDataParallel`, and by "
    "making sure all `forward` function outputs participate in calculating loss. "
    "Parameter indices which did not receive grad for rank {rank}: {indices}")


class _Bucket:
    """Parameters (indices into the DDP's list) sharing one contiguous gradient buffer."""

    def __init__(self, indices: list, params: list) -> None:
        self.indices = indices
        self.offsets = []
        total = 0
        for i in indices:
            self.offsets.append(total)
            total += params[i].data.size
        self.buffer = numpy.zeros(total, params[indices[0]].data.dtype)
        self.ready = set()
        self.work = None


def _assign_buckets(params: list, cap_bytes: int, first_cap_bytes: int) -> list:
    """Indices of ``params`` grouped into buckets, in reverse order, by dtype: a bucket is
    closed once it holds ``cap_bytes`` (the first one ``first_cap_bytes``)."""
    buckets, open_by_dtype = [], {}
    for i in reversed(range(len(params))):
        dtype = params[i].data.dtype
        current = open_by_dtype.setdefault(dtype, [[], 0])
        current[0].append(i)
        current[1] += params[i].data.nbytes
        limit = first_cap_bytes if not buckets else cap_bytes
        if current[1] >= limit:
            buckets.append(current[0])
            del open_by_dtype[dtype]
    buckets.extend(indices for indices, _ in open_by_dtype.values())
    return buckets


class DistributedDataParallel(Module):
    """Data parallelism over the default process group (``numnet.distributed``).

    Args:
        module: the model; its parameters and buffers are replaced by rank 0's (``init_sync``).
        device_ids, output_device: for GPU modules in PyTorch; must be None (CPU).
        dim: the batch dimension; 0.
        broadcast_buffers: PyTorch's (deprecated) flag: with True (the default when both it
            and ``forward_sync_buffers`` are None) buffers are broadcast from rank 0 at the
            start of every training forward; False also leaves them out of the initial sync.
        init_sync: broadcast rank 0's parameters (and buffers) now.
        process_group: None (the default group).
        bucket_cap_mb: the size of a gradient bucket in MiB (default 25, with a first
            bucket of 1 MiB as in PyTorch; given, every bucket has this size).
        find_unused_parameters: allow parameters that get no gradient in a backward: they
            count as zero in the average (without it such a parameter is an error).
        forward_sync_buffers: broadcast buffers from rank 0 before every training forward.

    ``no_sync()`` skips the averaging (gradients accumulate locally) until the first
    backward after it. ``state_dict()`` keys carry the ``module.`` prefix, as in PyTorch;
    save ``ddp.module.state_dict()`` for a model that loads without the wrapper.

    Example:
        >>> import numnet, numnet.distributed as dist
        >>> from numnet import nn
        >>> dist.init_process_group("local")
        >>> model = nn.parallel.DistributedDataParallel(nn.Linear(3, 2))
        >>> model(numnet.ones(4, 3)).sum().backward()
        >>> list(model.state_dict())
        ['module.weight', 'module.bias']
        >>> dist.destroy_process_group()
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0,
                 broadcast_buffers: bool | None = None, init_sync: bool = True,
                 process_group=None, bucket_cap_mb: float | None = None,
                 find_unused_parameters: bool = False, check_reduction: bool = False,
                 gradient_as_bucket_view: bool = False, static_graph: bool = False,
                 forward_sync_buffers: bool | None = None) -> None:
        super().__init__()
        if device_ids is not None or output_device is not None:
            raise ValueError("DistributedDataParallel device_ids and output_device arguments "
                             "only work with GPU modules; numnet's modules are on the CPU: "
                             f"got device_ids {device_ids}, output_device {output_device}")
        for name, value in (("dim", dim != 0), ("process_group", process_group is not None),
                            ("check_reduction", check_reduction),
                            ("gradient_as_bucket_view", gradient_as_bucket_view),
                            ("static_graph", static_graph)):
            if value:
                raise NotImplementedError(f"DistributedDataParallel({name}=...) is not "
                                          "implemented in numnet")
        if not dist.is_initialized():
            raise ValueError("Default process group has not been initialized, please make "
                             "sure to call init_process_group.")
        self.module = module
        self.find_unused_parameters = bool(find_unused_parameters)
        self.bucket_cap_mb = 25.0 if bucket_cap_mb is None else float(bucket_cap_mb)
        if forward_sync_buffers is not None:
            self.forward_sync_buffers, init_buffers = bool(forward_sync_buffers), True
        else:
            sync = True if broadcast_buffers is None else bool(broadcast_buffers)
            self.forward_sync_buffers, init_buffers = sync, sync
        self.require_backward_grad_sync = True
        self.world_size = dist.get_world_size()
        params = [p for p in module.parameters() if p.requires_grad]
        if not params:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't "
                               "have any parameter that requires a gradient.")
        object.__setattr__(self, "_params", params)
        if init_sync:
            self._check_same_parameters()
            for tensor in module.parameters():
                dist.broadcast(tensor, src=0)
            if init_buffers:
                self._broadcast_buffers()
        cap = int(self.bucket_cap_mb * 1024 * 1024)
        first_cap = _FIRST_BUCKET_BYTES if bucket_cap_mb is None else cap
        buckets = [_Bucket(indices, params)
                   for indices in _assign_buckets(params, cap, first_cap)]
        object.__setattr__(self, "_buckets", buckets)
        self._bucket_of = {}
        for b, bucket in enumerate(buckets):
            for i in bucket.indices:
                self._bucket_of[i] = b
        self._armed = False
        self._next_bucket = 0
        self._finalizing = False
        self._hooks = [p.register_post_accumulate_grad_hook(self._grad_ready_hook(i))
                       for i, p in enumerate(params)]

    def _check_same_parameters(self) -> None:
        shapes = [list(p.shape) for p in self.module.parameters()]
        everyone = [None] * self.world_size
        dist.all_gather_object(everyone, shapes)
        for rank, theirs in enumerate(everyone):
            if theirs != shapes:
                raise RuntimeError(f"DistributedDataParallel: the parameters of rank "
                                   f"{dist.get_rank()} (shapes {shapes}) differ from those "
                                   f"of rank {rank} ({theirs}): every rank must wrap the "
                                   "same model")

    def _broadcast_buffers(self) -> None:
        for buffer in self.module.buffers():
            if buffer is not None:
                dist.broadcast(buffer, src=0)

    # ------------------------------------------------------------------ forward
    def forward(self, *inputs, **kwargs):
        if self.module.training and self.forward_sync_buffers and self.world_size > 1:
            self._broadcast_buffers()
        self._armed = autograd.is_grad_enabled() and self.require_backward_grad_sync
        if self._armed:
            self._reset_buckets()
        return self.module(*inputs, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Gradients accumulate on each rank, unaveraged, in the backward passes of the
        forwards run inside; the first backward after the block averages the sums."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    # ------------------------------------------------------------------ backward
    def _reset_buckets(self) -> None:
        for bucket in self._buckets:
            bucket.ready.clear()
            bucket.work = None
        self._next_bucket = 0
        self._finalizing = False

    def _grad_ready_hook(self, index: int):
        def hook(param):
            if not self._armed:
                return
            if not self._finalizing:
                self._finalizing = True
                autograd.queue_callback(self._finish_backward)
            bucket = self._buckets[self._bucket_of[index]]
            bucket.ready.add(index)
            self._launch_ready_buckets()
            self._progress()
        return hook

    def _progress(self) -> None:
        """Let MPI advance the allreduces in flight: most MPI libraries move a non-blocking
        collective on only inside MPI calls, so each hook tests the oldest one."""
        for bucket in self._buckets[:self._next_bucket]:
            if not bucket.work.is_completed():
                return

    def _launch_ready_buckets(self) -> None:
        buckets = self._buckets
        while (self._next_bucket < len(buckets)
               and len(buckets[self._next_bucket].ready) == len(
                   buckets[self._next_bucket].indices)):
            self._launch(buckets[self._next_bucket])
            self._next_bucket += 1

    def _launch(self, bucket: _Bucket) -> None:
        for i, offset in zip(bucket.indices, bucket.offsets):
            param = self._params[i]
            part = bucket.buffer[offset:offset + param.data.size]
            if param.grad is None:
                part[...] = 0
            else:
                part[...] = param.grad.data.reshape(-1)
        bucket.work = dist.all_reduce(Tensor(bucket.buffer, _raw=True), async_op=True)

    def _finish_backward(self) -> None:
        self._armed = False
        self._finalizing = False
        missing = [i for bucket in self._buckets for i in bucket.indices
                   if i not in bucket.ready]
        if missing:
            if not self.find_unused_parameters:
                for bucket in self._buckets:
                    if bucket.work is not None:
                        bucket.work.wait()
                raise RuntimeError(_UNUSED_MESSAGE.format(rank=dist.get_rank(),
                                                          indices=sorted(missing)))
            for bucket in self._buckets:
                bucket.ready.update(bucket.indices)
            self._launch_ready_buckets()
        for bucket in self._buckets:
            bucket.work.wait()
            bucket.buffer /= bucket.buffer.dtype.type(self.world_size)
            for i, offset in zip(bucket.indices, bucket.offsets):
                param = self._params[i]
                average = bucket.buffer[offset:offset + param.data.size].reshape(param.shape)
                if param.grad is None:
                    param.grad = Tensor(average.copy(), _raw=True)
                else:
                    param.grad.data[...] = average

    def extra_repr(self) -> str:
        return f"world_size={self.world_size}, buckets={len(self._buckets)}"
