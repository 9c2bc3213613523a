"""Datasets: ``Dataset IterableDataset TensorDataset Subset ConcatDataset ChainDataset
StackDataset`` and ``random_split`` (PyTorch's ``torch.utils.data`` API).

A map-style dataset has ``len(dataset)`` samples and ``dataset[i]``; an iterable-style one is
only iterated. Array-backed datasets also implement ``get_batch(indices)``, a numnet
extension returning a whole batch, one array per field, by fancy indexing (one NumPy call per
field, no Python loop over samples); ``DataLoader`` uses it whenever a dataset has it and the
default collation is asked for, and gets the same values as collating ``dataset[i]`` one by
one.
"""

from __future__ import annotations

import bisect
import math
import warnings

import numpy

from numnet import random as nn_random
from numnet.tensor import Tensor


class Dataset:
    """A map-style dataset: ``len(dataset)`` samples, ``dataset[i]`` the i-th one.

    Subclasses implement ``__getitem__`` (and usually ``__len__``); ``ds1 + ds2`` is their
    ``ConcatDataset``. Array-backed ones may also implement ``get_batch(indices) -> tuple of
    arrays`` so the ``DataLoader`` builds batches without a per-sample loop.
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    # NOTE: no default __len__, as in PyTorch: len() of a dataset without one is a TypeError

    def __add__(self, other) -> "ConcatDataset":
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """An iterable-style dataset: subclasses implement ``__iter__`` (a stream of samples).

    With ``num_workers > 0`` every worker iterates its own copy; split the stream with
    ``get_worker_info()`` inside ``__iter__`` or each sample comes once per worker (as in
    PyTorch). ``ds1 + ds2`` is their ``ChainDataset``.
    """

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    def __add__(self, other) -> "ChainDataset":
        return ChainDataset([self, other])


def _as_array(value) -> numpy.ndarray:
    return value.data if isinstance(value, Tensor) else numpy.asarray(value)


class TensorDataset(Dataset):
    """Samples are rows of arrays that share their first dimension (like
    ``torch.utils.data.TensorDataset``).

    Args:
        *tensors: Tensors or NumPy arrays with the same size along dim 0, e.g. images
            ``(N, C, H, W)`` and labels ``(N,)``. Arrays are kept without copying.

    Attributes:
        tensors: the fields, as Tensors sharing the arrays.
        info: optional ``DatasetInfo`` (classes, input shape, mean/std) set by
            ``numnet.data.load_dataset``; None otherwise.

    Example:
        >>> import numpy
        >>> ds = TensorDataset(numpy.zeros((5, 1, 2, 2), numpy.float32), numpy.arange(5))
        >>> len(ds), ds[3][1].item()
        (5, 3)
        >>> [a.shape for a in ds.get_batch(numpy.array([4, 0]))]
        [(2, 1, 2, 2), (2,)]
    """

    info = None

    def __init__(self, *tensors) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        self.arrays = tuple(_as_array(t) for t in tensors)
        for i, array in enumerate(self.arrays):
            if array.ndim == 0:
                raise ValueError(f"TensorDataset: tensor {i} is 0-d; each needs a first "
                                 "(sample) dimension")
        sizes = [array.shape[0] for array in self.arrays]
        if len(set(sizes)) != 1:
            shapes = ", ".join(str(array.shape) for array in self.arrays)
            raise ValueError(f"Size mismatch between tensors: first dimensions {sizes} "
                             f"differ (shapes {shapes})")
        self.tensors = tuple(Tensor(array, _raw=True) for array in self.arrays)

    def __getitem__(self, index):
        return tuple(Tensor(numpy.asarray(array[index]), _raw=True) for array in self.arrays)

    def get_batch(self, indices) -> tuple:
        """The samples at ``indices`` (an int array), one new array per field."""
        return tuple(array[indices] for array in self.arrays)

    def __len__(self) -> int:
        return self.arrays[0].shape[0]

    def __repr__(self) -> str:
        shapes = ", ".join(f"{tuple(a.shape)} {a.dtype}" for a in self.arrays)
        return f"TensorDataset({shapes})"


class _BatchAccess:
    """``get_batch`` only where every underlying dataset has one (checked on access)."""

    def __getattr__(self, name):
        if name == "get_batch" and self._parts_batchable():
            return self._get_batch
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")


class Subset(_BatchAccess, Dataset):
    """The samples of ``dataset`` at ``indices``, in that order.

    Args:
        dataset: the dataset to take samples from.
        indices: sequence of ints, each in ``[0, len(dataset))`` (kept as an int64 array).
    """

    def __init__(self, dataset, indices) -> None:
        indices = numpy.asarray(indices, dtype=numpy.int64).reshape(-1)
        n = len(dataset)
        if indices.size and (indices.min() < 0 or indices.max() >= n):
            raise IndexError(f"Subset: indices must lie in [0, {n}), got "
                             f"{indices.min()}..{indices.max()}")
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index):
        if isinstance(index, list):
            return self.dataset[[int(self.indices[i]) for i in index]]
        return self.dataset[int(self.indices[index])]

    def __len__(self) -> int:
        return self.indices.shape[0]

    def _parts_batchable(self) -> bool:
        return hasattr(self.__dict__.get("dataset"), "get_batch")

    def _get_batch(self, indices) -> tuple:
        return self.dataset.get_batch(self.indices[indices])


class ConcatDataset(_BatchAccess, Dataset):
    """The datasets one after another (``ds1 + ds2``): sample ``i`` comes from the first
    dataset whose running total of lengths (``cumulative_sizes``) exceeds ``i``.

    Args:
        datasets: an iterable of map-style datasets (not empty, no ``IterableDataset``).

    Example:
        >>> import numpy
        >>> both = TensorDataset(numpy.arange(3)) + TensorDataset(numpy.arange(10, 12))
        >>> len(both), both.cumulative_sizes, both[3][0].item()
        (5, [3, 5], 10)
    """

    def __init__(self, datasets) -> None:
        self.datasets = list(datasets)
        if len(self.datasets) == 0:
            raise AssertionError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = numpy.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        if index < 0:
            if -index > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            index = len(self) + index
        dataset_index = bisect.bisect_right(self.cumulative_sizes, index)
        start = 0 if dataset_index == 0 else self.cumulative_sizes[dataset_index - 1]
        return self.datasets[dataset_index][index - start]

    def _parts_batchable(self) -> bool:
        return all(hasattr(d, "get_batch") for d in self.__dict__.get("datasets", [None]))

    def _get_batch(self, indices) -> tuple:
        """One ``get_batch`` per dataset the indices fall in, put back in order."""
        indices = numpy.asarray(indices, dtype=numpy.int64)
        bounds = numpy.asarray([0] + self.cumulative_sizes)
        which = numpy.searchsorted(bounds, indices, side="right") - 1
        pieces, positions = [], []
        for d in numpy.unique(which):
            at = numpy.flatnonzero(which == d)
            pieces.append(self.datasets[d].get_batch(indices[at] - bounds[d]))
            positions.append(at)
        inverse = numpy.argsort(numpy.concatenate(positions), kind="stable")
        return tuple(numpy.concatenate(fields)[inverse] for fields in zip(*pieces))


class ChainDataset(IterableDataset):
    """Iterable datasets one after another (``ids1 + ids2``), chained lazily.

    Args:
        datasets: iterable datasets.
    """

    def __init__(self, datasets) -> None:
        self.datasets = datasets

    def __iter__(self):
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self) -> int:
        total = 0
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            total += len(d)
        return total


class StackDataset(Dataset):
    """Sample ``i`` is the tuple (or, with keyword datasets, the dict) of every dataset's
    sample ``i``; the datasets must have the same length.

    Example:
        >>> import numpy
        >>> ds = StackDataset(image=TensorDataset(numpy.zeros((2, 3))), label=[7, 8])
        >>> ds[1]["label"], len(ds)
        (8, 2)
    """

    def __init__(self, *args, **kwargs) -> None:
        if args and kwargs:
            raise ValueError("Supported either ``tuple``- (via ``args``) or``dict``- (via "
                             "``kwargs``) like input/output, but both types are given.")
        self.datasets = args or kwargs
        lengths = [len(d) for d in (args or kwargs.values())]
        if not lengths:
            raise ValueError("At least one dataset should be passed")
        if any(n != lengths[0] for n in lengths):
            raise ValueError("Size mismatch between datasets")
        self._length = lengths[0]

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {key: d[index] for key, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self) -> int:
        return self._length


def _split_lengths(n: int, lengths) -> list:
    """Absolute lengths; fractions summing to 1 become counts, the remainder handed out
    one by one from the first split (PyTorch's rule)."""
    lengths = list(lengths)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
        counts = [int(math.floor(n * frac)) for frac in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        for i, count in enumerate(counts):
            if count == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an "
                              "empty dataset.", stacklevel=3)
        return counts
    if any(int(x) != x or x < 0 for x in lengths):
        raise ValueError(f"random_split: lengths must be non-negative ints or fractions "
                         f"summing to 1, got {lengths}")
    counts = [int(x) for x in lengths]
    if sum(counts) != n:
        raise ValueError(f"Sum of input lengths {sum(counts)} does not equal the length of "
                         f"the input dataset {n}")
    return counts


def random_split(dataset, lengths, generator: nn_random.Generator | None = None) -> list:
    """Split ``dataset`` into non-overlapping random ``Subset``s of the given lengths.

    Args:
        dataset: the dataset to split.
        lengths: ints summing to ``len(dataset)``, or fractions summing to 1 (each split
            gets ``floor(n * fraction)``, the remainder going one by one to the first ones).
        generator: the ``numnet.Generator`` drawing the permutation (numnet's default one
            when None); seed it for a reproducible split.

    Returns:
        A list of ``Subset``, one per length.

    Example:
        >>> import numpy, numnet
        >>> ds = TensorDataset(numpy.arange(10))
        >>> a, b = random_split(ds, [0.8, 0.2], generator=numnet.Generator(0))
        >>> len(a), len(b), sorted(a.indices.tolist() + b.indices.tolist()) == list(range(10))
        (8, 2, True)
    """
    n = len(dataset)
    counts = _split_lengths(n, lengths)
    permutation = nn_random.numpy_generator(generator).permutation(n)
    bounds = numpy.cumsum([0] + counts)
    return [Subset(dataset, permutation[start:stop])
            for start, stop in zip(bounds[:-1], bounds[1:])]
