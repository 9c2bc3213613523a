"""``numnet.nn.parallel``: ``DistributedDataParallel`` (data parallelism over
``numnet.distributed``'s process group)."""

from numnet.nn.parallel.distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
