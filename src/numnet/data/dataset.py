"""Datasets: ``Dataset``, ``TensorDataset``, ``Subset`` and ``random_split`` (PyTorch's API).

Array-backed datasets also implement ``get_batch(indices)``, which returns whole batches by
fancy indexing (one NumPy call per field, no Python loop over samples); ``DataLoader`` uses it
whenever a dataset has it.
"""

from __future__ import annotations

import math

import numpy

from numnet import random as nn_random
from numnet.tensor import Tensor


class Dataset:
    """A map-style dataset: ``len(dataset)`` samples, ``dataset[i]`` the i-th one.

    Subclasses implement ``__getitem__`` and ``__len__``; array-backed ones should also
    implement ``get_batch(indices) -> tuple of arrays`` so batches are built without a
    per-sample loop.
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")


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


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order.

    Args:
        dataset: the dataset to take samples from.
        indices: sequence of ints, each in ``[0, len(dataset))``.
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
        return self.dataset[int(self.indices[index])]

    def __len__(self) -> int:
        return self.indices.shape[0]

    def __getattr__(self, name):
        if name == "get_batch" and hasattr(self.__dict__.get("dataset"), "get_batch"):
            return self._get_batch
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def _get_batch(self, indices) -> tuple:
        return self.dataset.get_batch(self.indices[indices])


def _split_lengths(n: int, lengths) -> list:
    """Absolute lengths; fractions summing to 1 become counts, the remainder handed out
    one by one from the first split (PyTorch's rule)."""
    lengths = list(lengths)
    if all(isinstance(x, float) for x in lengths) and math.isclose(sum(lengths), 1.0):
        if any(x < 0 or x > 1 for x in lengths):
            raise ValueError(f"random_split: fractions must lie in [0, 1], got {lengths}")
        counts = [int(math.floor(n * frac)) for frac in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
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
        lengths: ints summing to ``len(dataset)``, or fractions summing to 1.
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
