"""``DistributedSampler``: each rank's share of a dataset, PyTorch's
``torch.utils.data.distributed.DistributedSampler``.

With K ranks (``num_replicas``) and N samples, every rank gets ``num_samples`` indices:
``ceil(N / K)``, or, with ``drop_last``, ``ceil((N - K) / K)`` (= ``floor(N / K)``). The
epoch's order (a permutation seeded with ``seed + epoch`` when ``shuffle``, else
``0 .. N-1``) is padded to ``total_size = K * num_samples`` by repeating its first indices
(or cut to it with ``drop_last``), and rank r takes every K-th index from position r:
``order[r : total_size : K]``. So each epoch every sample is in exactly one rank's share
(plus the few repeats of the padding), and step j's batches on the ranks together are
batch j of the whole order.

``set_epoch(epoch)`` before each epoch gives a new order, the same on every rank. The
padding and striding rule is PyTorch's; the permutation is drawn by NumPy (``numnet.Generator(
seed + epoch)``), so the indices differ from PyTorch's ``torch.randperm``.

Example:
    >>> sampler = DistributedSampler(range(10), num_replicas=3, rank=0, shuffle=False)
    >>> list(sampler), len(sampler)
    ([0, 3, 6, 9], 4)
    >>> list(DistributedSampler(range(10), num_replicas=3, rank=2, shuffle=False))
    [2, 5, 8, 1]
"""

from __future__ import annotations

import math

import numpy

from numnet import distributed as dist
from numnet import random as nn_random
from numnet.utils.data.sampler import Sampler


class DistributedSampler(Sampler):
    """The indices of ``dataset`` for rank ``rank`` of ``num_replicas`` (rule above).

    Args:
        dataset: a map-style dataset (only its length is used).
        num_replicas: K, the number of ranks (default: the process group's world size).
        rank: this rank (default: the process group's rank).
        shuffle: a new permutation each epoch (``set_epoch``), else dataset order.
        seed: the permutation's seed, the same on every rank.
        drop_last: drop the tail so that every rank gets the same number of distinct
            samples, instead of padding with repeats.
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None:
            num_replicas = dist.get_world_size()
        if rank is None:
            rank = dist.get_rank()
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def _index_array(self) -> numpy.ndarray:
        n = len(self.dataset)
        if self.shuffle:
            generator = nn_random.Generator(self.seed + self.epoch)
            order = nn_random.numpy_generator(generator).permutation(n).astype(numpy.int64)
        else:
            order = numpy.arange(n, dtype=numpy.int64)
        if self.drop_last:
            order = order[:self.total_size]
        elif self.total_size > n:
            order = numpy.resize(order, self.total_size)  # repeats the order from its start
        return order[self.rank:self.total_size:self.num_replicas]

    def __iter__(self):
        return iter(self._index_array().tolist())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """The epoch (seeding the next permutation with ``seed + epoch``); call it before
        each epoch's iteration, with the same value on every rank."""
        self.epoch = epoch
