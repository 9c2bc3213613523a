"""``numnet.save`` / ``numnet.load``: nested state (dicts, lists, arrays, Tensors, numbers)
<-> one ``.npz`` file, like ``torch.save`` / ``torch.load`` but without pickle.

``numnet.io.save`` stores arrays and JSON metadata; this module maps a nested state onto
that: every array goes into the ``.npz`` under a generated key and is referenced from the
JSON as ``{"__array__": key}``; dicts with non-string keys (optimizer state is keyed by
parameter index) and tuples are tagged so they come back exactly as they were.
"""

from __future__ import annotations

import numpy

from numnet import io
from numnet.tensor import Tensor

FORMAT = "numnet-object"


def encode(value, arrays: dict):
    """Return a JSON-serialisable form of ``value``, moving arrays into ``arrays``."""
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, numpy.ndarray):
        key = f"a{len(arrays)}"
        arrays[key] = value
        return {"__array__": key}
    if isinstance(value, numpy.generic):
        return value.item()
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in value):
            return {k: encode(v, arrays) for k, v in value.items()}
        return {"__items__": [[encode(k, arrays), encode(v, arrays)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, arrays) for v in value]}
    if isinstance(value, list):
        return [encode(v, arrays) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} in a checkpoint")


def decode(value, arrays: dict):
    """Inverse of ``encode``."""
    if isinstance(value, dict):
        if "__array__" in value:
            return arrays[value["__array__"]]
        if "__items__" in value:
            return {_hashable(decode(k, arrays)): decode(v, arrays)
                    for k, v in value["__items__"]}
        if "__tuple__" in value:
            return tuple(decode(v, arrays) for v in value["__tuple__"])
        return {k: decode(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v, arrays) for v in value]
    return value


def _hashable(key):
    return tuple(key) if isinstance(key, list) else key


def save(obj, path) -> None:
    """Atomically write ``obj`` (e.g. a ``state_dict`` or a whole training state) to ``path``.

    Tensors are stored as their arrays; everything else must be JSON-representable.

    Example:
        >>> import numnet, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "w.npz")
        >>> numnet.save({"w": numnet.ones(2), "step": 3, "betas": (0.9, 0.99)}, path)
        >>> numnet.load(path)
        {'w': array([1., 1.], dtype=float32), 'step': 3, 'betas': (0.9, 0.99)}
    """
    arrays: dict = {}
    metadata = {"format": FORMAT, "object": encode(obj, arrays)}
    io.save(path, arrays, metadata)


def load(path):
    """Read an object written by ``save`` (no pickle: arrays and JSON only; arrays come
    back as NumPy arrays)."""
    arrays, metadata = io.load(path)
    if metadata.get("format") != FORMAT:
        raise io.CheckpointError(f"{path} was not written by numnet.save "
                                 f"(format {metadata.get('format')!r})")
    return decode(metadata["object"], arrays)
