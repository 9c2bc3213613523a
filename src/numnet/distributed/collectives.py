"""The default process group and its collectives, with ``torch.distributed``'s names.

``init_process_group(backend="mpi")`` joins the processes that ``mpirun -n K`` started
(rank ``0 .. K-1``); ``"local"`` is a group of one process with the same API (what a script
gets outside ``mpirun``). Collectives work in place on a Tensor's ``.data``:

``all_reduce(t, op)``: every rank ends with ``op`` over the ranks' ``t`` (SUM, AVG = SUM / K,
MAX, MIN, PRODUCT); ``broadcast(t, src)``: every rank gets rank ``src``'s ``t``;
``all_gather(list, t)``: ``list[r]`` gets rank r's ``t``; ``reduce(t, dst, op)``: only rank
``dst`` gets the result. With ``async_op=True`` a collective returns a ``Work`` whose
``wait()`` finishes it (MPI's non-blocking ``Iallreduce``, ``Ibcast``, ...), so computation
can go on meanwhile; the tensor must not be touched before ``wait()``.

A failure on one rank must not leave the others waiting forever in a collective: under MPI
``init_process_group`` makes an uncaught exception print its traceback and abort the whole
job (``MPI_Abort``); ``abort_on_exception()`` does the same, exit codes included, around a
block.

Example:
    >>> import numnet, numnet.distributed as dist
    >>> dist.init_process_group("local")
    >>> t = numnet.tensor([1.0, 2.0])
    >>> dist.all_reduce(t, op=dist.ReduceOp.SUM)
    >>> t, dist.get_rank(), dist.get_world_size()
    (tensor([1., 2.]), 0, 1)
    >>> dist.destroy_process_group()
"""

from __future__ import annotations

import contextlib
import enum
import json
import sys
import traceback

import numpy

from numnet.distributed import backends
from numnet.tensor import Tensor

_backend = None
_NOT_INITIALIZED = ("Default process group has not been initialized, please make sure to "
                    "call init_process_group.")


class ReduceOp(enum.Enum):
    """The reductions of ``all_reduce`` and ``reduce`` (``dist.ReduceOp.SUM``, ...)."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"


class Work:
    """A collective started with ``async_op=True``; ``wait()`` finishes it.

    After ``wait()`` the tensor holds the result (for AVG the sum divided by the world
    size; a non-contiguous tensor gets its result copied back from the contiguous buffer
    the backend worked on).
    """

    def __init__(self, request, finish=None) -> None:
        self._request = request
        self._finish = finish
        self._done = False

    def wait(self, timeout=None) -> bool:
        """Block until the collective is complete; True."""
        if timeout is not None:
            raise NotImplementedError("Work.wait(timeout=...) is not implemented in numnet")
        if not self._done:
            self._request.wait()
            if self._finish is not None:
                self._finish()
            self._done = True
        return True

    def is_completed(self) -> bool:
        """Whether the collective has finished (without blocking; True after ``wait()``)."""
        if not self._done and self._request.test():
            self.wait()
        return self._done


def is_available() -> bool:
    """True: numnet.distributed always works (the "local" backend needs nothing)."""
    return True


def is_mpi_available() -> bool:
    """Whether the "mpi" backend can run: mpi4py is installed (it is not imported here)."""
    return backends.mpi4py_installed()


def is_initialized() -> bool:
    """Whether ``init_process_group`` has been called (and not destroyed since)."""
    return _backend is not None


def _default_backend() -> str:
    return "mpi" if (backends.launched_world_size() or 1) > 1 else "local"


def init_process_group(backend: str | None = None, init_method: str | None = None,
                       timeout=None, world_size: int = -1, rank: int = -1, store=None,
                       group_name: str = "", pg_options=None, device_id=None) -> None:
    """Join the default process group.

    Args:
        backend: ``"mpi"`` (the processes ``mpirun`` started, through mpi4py) or
            ``"local"`` (this process alone, rank 0 of 1); default: ``"mpi"`` when an MPI
            launcher started several processes (``OMPI_COMM_WORLD_SIZE`` or ``PMI_SIZE`` in
            the environment), else ``"local"``.
        world_size, rank: optional checks: MPI decides both; a value that differs from
            MPI's is an error.
        init_method, timeout, store, group_name, pg_options, device_id: PyTorch's
            rendezvous and device options; MPI needs none, so only their defaults are
            accepted (NotImplementedError otherwise).

    Under ``"mpi"`` with more than one process, an uncaught exception on any rank prints
    its traceback (with the rank) and aborts the whole job, instead of leaving the other
    ranks waiting in a collective.
    """
    global _backend
    if _backend is not None:
        raise ValueError("trying to initialize the default process group twice!")
    for name, value, default in (("init_method", init_method, None), ("timeout", timeout, None),
                                 ("store", store, None), ("group_name", group_name, ""),
                                 ("pg_options", pg_options, None),
                                 ("device_id", device_id, None)):
        if value != default:
            raise NotImplementedError(f"init_process_group({name}=...) is not implemented in "
                                      "numnet (MPI sets up the group)")
    backend = _default_backend() if backend is None else str(backend).lower()
    if backend == "local":
        engine = backends.LocalBackend()
    elif backend == "mpi":
        engine = backends.MPIBackend()
    else:
        raise ValueError(f"Invalid backend: '{backend}': numnet has 'mpi' and 'local'")
    if world_size not in (-1, engine.size) or rank not in (-1, engine.rank):
        got = engine.size, engine.rank
        engine.close()
        raise ValueError(f"init_process_group: world_size={world_size}, rank={rank} given, "
                         f"but the {backend} group has world_size={got[0]}, rank={got[1]}")
    _backend = engine
    if engine.size > 1:
        _install_excepthook()


def destroy_process_group(group=None) -> None:
    """Leave the default process group (``init_process_group`` may be called again)."""
    global _backend
    _check_group(group)
    engine = _get_backend()
    _backend = None
    engine.close()


def _get_backend():
    if _backend is None:
        raise ValueError(_NOT_INITIALIZED)
    return _backend


def _check_group(group) -> None:
    if group is not None:
        raise NotImplementedError("numnet.distributed has only the default process group: "
                                  "pass group=None")


def get_backend(group=None) -> str:
    """``"mpi"`` or ``"local"``."""
    _check_group(group)
    return _get_backend().name


def get_rank(group=None) -> int:
    """This process's rank, ``0 .. world_size - 1``."""
    _check_group(group)
    return _get_backend().rank


def get_world_size(group=None) -> int:
    """The number of processes in the group."""
    _check_group(group)
    return _get_backend().size


def _buffer(tensor):
    """(a C-contiguous array the backend can work on, a function copying it back)."""
    if not isinstance(tensor, Tensor):
        raise TypeError("Invalid function argument. Expected parameter `tensor` of type "
                        f"numnet.Tensor but got {type(tensor)} instead.")
    data = tensor.data
    if data.flags.c_contiguous and data.flags.writeable:
        return data, None
    buffer = numpy.ascontiguousarray(data)

    def copy_back():
        tensor.data[...] = buffer
    return buffer, copy_back


def _run(request, finish, async_op: bool):
    work = Work(request, finish)
    if async_op:
        return work
    work.wait()
    return None


def _then(*steps):
    steps = [step for step in steps if step is not None]
    if not steps:
        return None

    def finish():
        for step in steps:
            step()
    return finish


def _check_rank(name: str, rank, group_rank, engine) -> int:
    if rank is not None and group_rank is not None:
        raise ValueError("Can't specify both group_rank and global_rank")
    rank = group_rank if rank is None else rank
    if rank is None:
        raise ValueError("Must specify global_rank or group_rank")
    if not 0 <= rank < engine.size:
        raise ValueError(f"Invalid {name} rank {rank}: the group has ranks 0 to "
                         f"{engine.size - 1}")
    return int(rank)


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce ``tensor`` over all ranks with ``op``, in place: every rank gets the result.

    ``AVG`` is the sum divided by the world size (floating-point tensors only).

    Returns:
        A ``Work`` when ``async_op`` (call ``wait()`` before using the tensor), else None.
    """
    _check_group(group)
    engine = _get_backend()
    op = ReduceOp(op)
    buffer, copy_back = _buffer(tensor)
    average = None
    if op is ReduceOp.AVG:
        if buffer.dtype.kind not in "fc":
            raise TypeError(f"all_reduce: ReduceOp.AVG needs a floating-point tensor, got "
                            f"{buffer.dtype}")

        def average():
            buffer[...] /= engine.size
    request = engine.allreduce(buffer, "sum" if op is ReduceOp.AVG else op.value)
    return _run(request, _then(average, copy_back), async_op)


def reduce(tensor, dst: int | None = None, op=ReduceOp.SUM, group=None,
           async_op: bool = False, group_dst: int | None = None):
    """Reduce ``tensor`` over all ranks into rank ``dst``'s ``tensor`` (the others' are
    left as they were). Returns a ``Work`` when ``async_op``, else None."""
    _check_group(group)
    engine = _get_backend()
    dst = _check_rank("dst", dst, group_dst, engine)
    op = ReduceOp(op)
    if op is ReduceOp.AVG:
        raise NotImplementedError("reduce: ReduceOp.AVG is not implemented: use SUM and "
                                  "divide by the world size")
    buffer, copy_back = _buffer(tensor)
    if engine.rank != dst:
        buffer = buffer.copy()  # MPI reads a non-root's buffer only: keep the tensor as is
        copy_back = None
    request = engine.reduce(buffer, op.value, dst)
    return _run(request, copy_back, async_op)


def broadcast(tensor, src: int | None = None, group=None, async_op: bool = False,
              group_src: int | None = None):
    """Copy rank ``src``'s ``tensor`` into ``tensor`` on every rank (same shape and dtype
    everywhere). Returns a ``Work`` when ``async_op``, else None."""
    _check_group(group)
    engine = _get_backend()
    src = _check_rank("src", src, group_src, engine)
    buffer, copy_back = _buffer(tensor)
    return _run(engine.bcast(buffer, src), copy_back, async_op)


def all_gather(tensor_list, tensor, group=None, async_op: bool = False):
    """``tensor_list[r]`` gets rank r's ``tensor`` (a list of ``world_size`` tensors shaped
    and typed like it). Returns a ``Work`` when ``async_op``, else None."""
    _check_group(group)
    engine = _get_backend()
    send, _ = _buffer(tensor)
    if len(tensor_list) != engine.size:
        raise ValueError(f"all_gather: tensor_list has {len(tensor_list)} tensors, the "
                         f"group {engine.size} ranks")
    for out in tensor_list:
        if not isinstance(out, Tensor) or out.shape != tensor.shape or (
                out.dtype != tensor.dtype):
            raise ValueError("all_gather: every tensor of tensor_list must have the shape "
                             f"{tuple(tensor.shape)} and dtype {tensor.dtype} of the input")
    receive = numpy.empty((engine.size,) + send.shape, send.dtype)

    def scatter():
        for out, row in zip(tensor_list, receive):
            out.data[...] = row
    return _run(engine.allgather(send, receive), scatter, async_op)


def barrier(group=None, async_op: bool = False, device_ids=None, timeout=None):
    """Wait until every rank has reached this call. Returns a ``Work`` when ``async_op``."""
    _check_group(group)
    if device_ids is not None or timeout is not None:
        raise NotImplementedError("barrier(device_ids=..., timeout=...) is not implemented "
                                  "in numnet")
    return _run(_get_backend().barrier(), None, async_op)


def _exchange_bytes(payload: bytes, engine, src: int | None) -> list:
    """Every rank's ``payload`` (``src`` given: rank src's, as a one-element list)."""
    length = numpy.array([len(payload)], numpy.int64)
    if src is None:
        lengths = numpy.empty((engine.size, 1), numpy.int64)
        engine.allgather(length, lengths).wait()
        size = int(lengths.max())
        send = numpy.zeros(size, numpy.uint8)
        send[:len(payload)] = numpy.frombuffer(payload, numpy.uint8)
        receive = numpy.empty((engine.size, size), numpy.uint8)
        engine.allgather(send, receive).wait()
        return [row[:n].tobytes() for row, n in zip(receive, lengths[:, 0])]
    engine.bcast(length, src).wait()
    buffer = numpy.zeros(int(length[0]), numpy.uint8)
    if engine.rank == src:
        buffer[:] = numpy.frombuffer(payload, numpy.uint8)
    engine.bcast(buffer, src).wait()
    return [buffer.tobytes()]


def broadcast_object_list(object_list: list, src: int | None = None, group=None,
                          device=None, group_src: int | None = None) -> None:
    """Replace ``object_list``'s items on every rank with rank ``src``'s, in place.

    numnet sends JSON, never pickle: the objects must be JSON-serialisable (PyTorch's
    version pickles any object).
    """
    _check_group(group)
    if device is not None:
        raise NotImplementedError("broadcast_object_list(device=...) is not implemented")
    engine = _get_backend()
    src = _check_rank("src", src, group_src, engine)
    payload = json.dumps(list(object_list)).encode() if engine.rank == src else b""
    received = json.loads(_exchange_bytes(payload, engine, src)[0])
    if len(received) != len(object_list):
        raise ValueError(f"broadcast_object_list: rank {src} sent {len(received)} objects, "
                         f"this rank's list has {len(object_list)}")
    object_list[:] = received


def all_gather_object(object_list: list, obj, group=None) -> None:
    """``object_list[r]`` gets rank r's ``obj`` (JSON-serialisable: numnet never pickles)."""
    _check_group(group)
    engine = _get_backend()
    if len(object_list) != engine.size:
        raise ValueError(f"all_gather_object: object_list has {len(object_list)} items, "
                         f"the group {engine.size} ranks")
    payloads = _exchange_bytes(json.dumps(obj).encode(), engine, None)
    object_list[:] = [json.loads(p) for p in payloads]


# ---------------------------------------------------------------------- failures
def abort(code: int = 1) -> None:
    """End every process of the job now with exit status ``code`` (``MPI_Abort``); in the
    local group, end this process. Flushes stdout and stderr first."""
    sys.stdout.flush()
    sys.stderr.flush()
    engine = _backend
    if engine is None:
        engine = backends.MPIBackend() if (backends.launched_world_size() or 1) > 1 else (
            backends.LocalBackend())
    engine.abort(int(code))


def _report(error: BaseException) -> None:
    rank = backends.launched_rank() if _backend is None else _backend.rank
    lines = traceback.format_exception(type(error), error, error.__traceback__)
    sys.stderr.write(f"[rank {rank}] " + "".join(lines))


def _install_excepthook() -> None:
    previous = sys.excepthook

    def hook(kind, error, tb):
        previous(kind, error, tb)
        rank = _backend.rank if _backend is not None else backends.launched_rank()
        sys.stderr.write(f"[rank {rank}] uncaught {kind.__name__}: aborting all ranks\n")
        abort(1)
    sys.excepthook = hook


class abort_on_exception(contextlib.ContextDecorator):
    """Abort the whole MPI job when the block raises, or exits with a non-zero status.

    An uncaught exception is already turned into an abort by ``init_process_group``; this
    also covers ``sys.exit(code)`` with ``code != 0`` and ``KeyboardInterrupt`` (status
    130), which Python would otherwise end with ``MPI_Finalize``, where the other ranks
    wait forever. The failing rank's traceback (or message) is printed first, prefixed with
    its rank. Outside an MPI job of several processes the block runs unchanged.

    Example:
        >>> import numnet.distributed as dist
        >>> with dist.abort_on_exception():
        ...     x = 1 + 1
    """

    def __enter__(self):
        return self

    def __exit__(self, kind, error, tb):
        if kind is None or (backends.launched_world_size() or 1) <= 1:
            return False
        if kind is SystemExit:
            code = error.code
            if code in (None, 0):
                return False
            if not isinstance(code, int):
                sys.stderr.write(f"{code}\n")
                code = 1
        elif kind is KeyboardInterrupt:
            code = 130
            _report(error)
        else:
            code = 1
            _report(error)
        abort(code)
        return False
