"""``numnet.distributed``: data-parallel training on MPI, with ``torch.distributed``'s API.

Start K processes with ``mpirun -n K python script.py`` (or ``mpirun -n K numnet train``);
each calls ``init_process_group("mpi")`` and gets its ``get_rank()`` of ``get_world_size()``.
``nn.parallel.DistributedDataParallel`` averages the gradients over the ranks during
backward, ``utils.data.DistributedSampler`` gives each rank its share of the data and
``nn.SyncBatchNorm`` normalises with the statistics of the global batch. The engine is MPI
through mpi4py (``pip install 'numnet[mpi]'``), which runs the same from two processes on a
laptop to a cluster's scheduler; without it numnet runs as before and the ``"local"``
backend (one process) keeps scripts working unchanged.

Example:
    >>> import numnet, numnet.distributed as dist
    >>> dist.init_process_group("local")
    >>> dist.get_world_size()
    1
    >>> dist.destroy_process_group()
"""

from numnet.distributed.backends import launched_rank, launched_world_size
from numnet.distributed.collectives import (
    ReduceOp,
    Work,
    abort,
    abort_on_exception,
    all_gather,
    all_gather_object,
    all_reduce,
    barrier,
    broadcast,
    broadcast_object_list,
    destroy_process_group,
    get_backend,
    get_rank,
    get_world_size,
    init_process_group,
    is_available,
    is_initialized,
    is_mpi_available,
    reduce,
)

__all__ = ["ReduceOp", "Work", "abort", "abort_on_exception", "all_gather",
           "all_gather_object", "all_reduce", "barrier", "broadcast", "broadcast_object_list",
           "destroy_process_group", "get_backend", "get_rank", "get_world_size",
           "init_process_group", "is_available", "is_initialized", "is_mpi_available",
           "launched_rank", "launched_world_size", "reduce"]
