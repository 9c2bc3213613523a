"""Samplers: the order in which a ``DataLoader`` visits a map-style dataset.

``SequentialSampler`` (0, 1, 2, ...), ``RandomSampler`` (a fresh permutation, or draws with
replacement, each pass), ``SubsetRandomSampler`` (a permutation of given indices),
``WeightedRandomSampler`` (draws with probabilities proportional to weights) and
``BatchSampler`` (groups another sampler's indices into lists of ``batch_size``), with
PyTorch's arguments and checks. Random ones draw from their ``generator`` (a
``numnet.Generator``), or from numnet's default generator when it is None, each time they
are iterated.

Example:
    >>> import numnet
    >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
    [[0, 1], [2, 3], [4]]
    >>> sorted(RandomSampler(range(4), generator=numnet.Generator(0)))
    [0, 1, 2, 3]
"""

from __future__ import annotations

import numpy

from numnet import random as nn_random
from numnet.tensor import Tensor


class Sampler:
    """Base class: an iterable over indices (or lists of indices) of a dataset.

    Subclasses implement ``__iter__`` and, where the count is known, ``__len__``.
    """

    def __init__(self, data_source=None) -> None:
        pass

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``, always in that order."""

    def __init__(self, data_source) -> None:
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def _index_array(self) -> numpy.ndarray:
        return numpy.arange(len(self.data_source), dtype=numpy.int64)

    def __len__(self) -> int:
        return len(self.data_source)


def _check_num_samples(num_samples) -> None:
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples <= 0:
        raise ValueError("num_samples should be a positive integer value, but got "
                         f"num_samples={num_samples}")


def _check_replacement(replacement) -> None:
    if not isinstance(replacement, bool):
        raise TypeError("replacement should be a boolean value, but got "
                        f"replacement={replacement}")


class RandomSampler(Sampler):
    """Random indices of ``data_source``: a new permutation each pass, or, with
    ``replacement``, ``num_samples`` independent uniform draws.

    Args:
        data_source: the dataset (only its length is used).
        replacement: draw with replacement (default False).
        num_samples: how many indices per pass (default ``len(data_source)``); without
            replacement more than the length chains several permutations, as in PyTorch.
        generator: the ``numnet.Generator`` to draw from (numnet's default one when None).
    """

    def __init__(self, data_source, replacement: bool = False, num_samples: int | None = None,
                 generator: nn_random.Generator | None = None) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        _check_replacement(replacement)
        _check_num_samples(self.num_samples)

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _index_array(self) -> numpy.ndarray:
        n = len(self.data_source)
        rng = nn_random.numpy_generator(self.generator)
        if self.replacement:
            return rng.integers(0, n, size=self.num_samples, dtype=numpy.int64)
        if self._num_samples is None:
            return rng.permutation(n)
        rounds = [rng.permutation(n) for _ in range(self.num_samples // n)]
        rounds.append(rng.permutation(n)[:self.num_samples % n])
        return numpy.concatenate(rounds)

    def __iter__(self):
        return iter(self._index_array().tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a new random order each pass, without replacement.

    Args:
        indices: a sequence of indices.
        generator: the ``numnet.Generator`` to draw from (numnet's default one when None).
    """

    def __init__(self, indices, generator: nn_random.Generator | None = None) -> None:
        self.indices = indices
        self.generator = generator

    def _index_array(self) -> numpy.ndarray:
        order = nn_random.numpy_generator(self.generator).permutation(len(self.indices))
        return numpy.asarray(self.indices, dtype=numpy.int64)[order]

    def __iter__(self):
        order = nn_random.numpy_generator(self.generator).permutation(len(self.indices))
        return (self.indices[i] for i in order.tolist())

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices in ``[0, len(weights))``, index ``i`` drawn with probability
    ``weights[i] / sum(weights)`` (with or without replacement).

    Args:
        weights: a 1-D sequence of non-negative weights (need not sum to 1).
        num_samples: how many indices per pass.
        replacement: draw with replacement (default True); without it ``num_samples`` may
            not exceed the number of non-zero weights.
        generator: the ``numnet.Generator`` to draw from (numnet's default one when None).
    """

    def __init__(self, weights, num_samples: int, replacement: bool = True,
                 generator: nn_random.Generator | None = None) -> None:
        _check_num_samples(num_samples)
        _check_replacement(replacement)
        weights = weights.data if isinstance(weights, Tensor) else weights
        self.weights = numpy.asarray(weights, dtype=numpy.float64)
        if self.weights.ndim != 1:
            raise ValueError("weights should be a 1d sequence but given weights have shape "
                             f"{tuple(self.weights.shape)}")
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def _index_array(self) -> numpy.ndarray:
        w = self.weights
        if (w < 0).any() or not numpy.isfinite(w).all() or w.sum() <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0, "
                               "or a weight negative, inf or nan)")
        if not self.replacement and self.num_samples > numpy.count_nonzero(w):
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                               "replacement")
        rng = nn_random.numpy_generator(self.generator)
        return rng.choice(w.shape[0], size=self.num_samples, replace=self.replacement,
                          p=w / w.sum()).astype(numpy.int64)

    def __iter__(self):
        return iter(self._index_array().tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Group the indices of ``sampler`` into lists of ``batch_size``.

    Args:
        sampler: a sampler or any iterable of indices.
        batch_size: indices per batch (a positive int).
        drop_last: drop the last batch when it is shorter than ``batch_size``.
    """

    def __init__(self, sampler, batch_size: int, drop_last: bool) -> None:
        if (isinstance(batch_size, bool) or not isinstance(batch_size, int)
                or batch_size <= 0):
            raise ValueError("batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got "
                             f"drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self):
        for batch in self._index_batches():
            yield batch.tolist() if isinstance(batch, numpy.ndarray) else batch

    def _index_batches(self):
        """This pass's batches: int64 arrays, one slice of the whole order each, when the
        sampler is one of numnet's own (its ``_index_array`` gives the pass's order at once;
        the numnet fast path), else lists of whatever the sampler yields."""
        size = self.batch_size
        if type(self.sampler) in _ARRAY_SAMPLERS:
            order = self.sampler._index_array()
            stop = (order.shape[0] // size) * size if self.drop_last else order.shape[0]
            yield from (order[start:start + size] for start in range(0, stop, size))
            return
        batch = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return -(-len(self.sampler) // self.batch_size)


_ARRAY_SAMPLERS = (SequentialSampler, RandomSampler, SubsetRandomSampler, WeightedRandomSampler)
