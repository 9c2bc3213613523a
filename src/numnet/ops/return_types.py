"""The named tuples that ops returning several tensors give back, like ``torch.return_types``.

Each unpacks like a plain tuple (``values, indices = x.max(1)``) and names its fields as
PyTorch does (``x.sort().indices``, ``numnet.aminmax(x).max``).

Example:
    >>> import numnet
    >>> result = numnet.tensor([[3.0, 1.0, 2.0]]).max(1)
    >>> type(result).__name__, result.indices.tolist()
    ('max', [0])
"""

from __future__ import annotations

import collections

max = collections.namedtuple("max", ["values", "indices"])  # noqa: A001 - PyTorch's name
min = collections.namedtuple("min", ["values", "indices"])  # noqa: A001 - PyTorch's name
sort = collections.namedtuple("sort", ["values", "indices"])
topk = collections.namedtuple("topk", ["values", "indices"])
kthvalue = collections.namedtuple("kthvalue", ["values", "indices"])
median = collections.namedtuple("median", ["values", "indices"])
cummax = collections.namedtuple("cummax", ["values", "indices"])
cummin = collections.namedtuple("cummin", ["values", "indices"])
aminmax = collections.namedtuple("aminmax", ["min", "max"])

__all__ = ["max", "min", "sort", "topk", "kthvalue", "median", "cummax", "cummin", "aminmax"]
