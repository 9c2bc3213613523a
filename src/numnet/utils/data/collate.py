"""``default_collate`` and ``default_convert``: samples to batches, PyTorch's rules.

``default_collate(batch)`` turns a list of samples into one batch, by the type of the first
sample, recursively:

==========================  ===============================================================
sample                      batch
==========================  ===============================================================
Tensor                      ``stack`` of them (a new leading dim), dtype kept
NumPy array                 the same, as a Tensor (string and object arrays: TypeError)
NumPy scalar                1-d Tensor of its dtype
``float`` / ``int`` (bool)  1-d float64 / int64 (bool) Tensor
``str`` / ``bytes``         the strings as they come (a list, or a tuple from a field)
dict (Mapping)              a dict of the same type, each key collated
namedtuple                  the same namedtuple, each field collated
tuple / list (Sequence)     a list of collated fields (all samples of equal length)
==========================  ===============================================================

Example:
    >>> import numpy
    >>> x, y = default_collate([(numpy.zeros(2, numpy.float32), 1),
    ...                         (numpy.ones(2, numpy.float32), 0)])
    >>> x.shape, x.dtype, y.dtype
    ((2, 2), dtype('float32'), dtype('int64'))
"""

from __future__ import annotations

import collections.abc
import re

import numpy

from numnet import backend
from numnet.tensor import Tensor

_STRING_OR_OBJECT = re.compile(r"[SaUO]")
_COLLATE_ERROR = ("default_collate: batch must contain tensors, numpy arrays, numbers, "
                  "dicts or lists; found {}")


def _stack(arrays: list) -> Tensor:
    first = arrays[0].shape
    for i, array in enumerate(arrays):
        if array.shape != first:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(first)} at entry 0 and {list(array.shape)} at entry {i}")
    return Tensor(numpy.stack(arrays), _raw=True)


def _is_namedtuple(value) -> bool:
    return isinstance(value, tuple) and hasattr(value, "_fields")


def default_collate(batch):
    """Collate a list of samples into a batch (rules in the module docstring); what
    ``DataLoader`` uses when ``collate_fn`` is None and ``batch_size`` is not."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack([b.data for b in batch])
    if isinstance(elem, numpy.ndarray):
        if _STRING_OR_OBJECT.search(elem.dtype.str) is not None:
            raise TypeError(_COLLATE_ERROR.format(elem.dtype))
        return _stack([numpy.asarray(b) for b in batch])
    if isinstance(elem, numpy.generic) and not isinstance(elem, (numpy.str_, numpy.bytes_)):
        if _STRING_OR_OBJECT.search(elem.dtype.str) is not None:
            raise TypeError(_COLLATE_ERROR.format(elem.dtype))
        return Tensor(numpy.array(batch), _raw=True)
    if isinstance(elem, float):
        return Tensor(numpy.array(batch, dtype=numpy.float64), _raw=True)
    if isinstance(elem, int):
        values = numpy.array(batch)
        if values.dtype.kind == "f":  # ints then floats: torch.tensor gives the default dtype
            values = values.astype(backend.get_default_dtype())
        return Tensor(values, _raw=True)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(collated)
        except TypeError:
            return collated
    if _is_namedtuple(elem):
        return type(elem)(*(default_collate(fields) for fields in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(sample) != size for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        fields = [default_collate(samples) for samples in zip(*batch)]
        if isinstance(elem, tuple):
            return fields
        try:
            return type(elem)(fields)
        except TypeError:
            return fields
    raise TypeError(_COLLATE_ERROR.format(type(elem)))


def default_convert(data):
    """Turn NumPy arrays and scalars inside ``data`` into Tensors, recursively (tuples
    become lists, as in PyTorch); what ``DataLoader`` applies to each sample when
    ``batch_size=None``. Python numbers and strings are left as they are."""
    if isinstance(data, numpy.ndarray):
        if _STRING_OR_OBJECT.search(data.dtype.str) is not None:
            return data
        return Tensor(data, _raw=True)
    if isinstance(data, numpy.generic) and not isinstance(data, (numpy.str_, numpy.bytes_,
                                                                 numpy.object_)):
        return Tensor(numpy.asarray(data), _raw=True)
    if isinstance(data, (Tensor, str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        converted = {key: default_convert(data[key]) for key in data}
        try:
            return type(data)(converted)
        except TypeError:
            return converted
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data
