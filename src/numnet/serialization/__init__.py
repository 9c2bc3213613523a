"""Saving and loading without pickle: ``numnet.save`` / ``numnet.load``, the ``.npz`` and
safetensors containers under them, and atomic writes.

Three layers, each built on the one below, one module each:

1. **Atomic writes** (``atomic``: ``atomic_write``, ``atomic_write_bytes``,
   ``atomic_write_text``, ``remove_temporaries``): a temporary file, fsynced and renamed
   over the destination, so a crash leaves the old file or the new one, never half of one.
2. **Containers: flat arrays + metadata in one file**, a ``save_<format>(arrays, path,
   metadata)`` / ``load_<format>(path) -> (arrays, metadata)`` pair per format:
   ``npz`` (``save_npz`` / ``load_npz``: a zip of ``.npy`` entries plus JSON metadata) and
   ``safetensors`` (``save_safetensors`` / ``load_safetensors``, and
   ``safetensors.save_file`` / ``load_file`` / ``save`` / ``load`` with the names of
   ``safetensors.numpy``: the format PyTorch weights travel in). Both readers check every
   size against the file before they allocate, and raise ``CheckpointError`` naming the
   file and what is wrong.
3. **Nested objects** (``objects``: ``save`` / ``load``, exported as ``numnet.save`` /
   ``numnet.load``, like ``torch.save(obj, f)`` / ``torch.load(f)``): a nested state is
   split by ``encode`` into flat arrays and a JSON tree that refers to them; the container
   is chosen by the file (``.safetensors`` for a flat ``state_dict``, else ``.npz``), and
   PyTorch's pickles are refused.

What is saved comes first and the path second, as in ``torch.save(obj, f)``:
``save(obj, path)`` and ``save_npz(arrays, path, metadata)``. The atomic writers of layer 1
are file primitives and take the path first, as ``open`` and ``Path.write_text`` do.

Example:
    >>> import numpy, os, tempfile
    >>> from numnet import serialization
    >>> folder = tempfile.mkdtemp()
    >>> state = {"fc.weight": numpy.eye(2, dtype=numpy.float32)}
    >>> serialization.save_npz(state, os.path.join(folder, "model.npz"), {"epoch": 3})
    >>> serialization.load_npz(os.path.join(folder, "model.npz"))[1]
    {'epoch': 3}
    >>> serialization.save_safetensors(state, os.path.join(folder, "m.safetensors"),
    ...                                {"epoch": "3"})
    >>> serialization.load_safetensors(os.path.join(folder, "m.safetensors"))[1]
    {'epoch': '3'}
"""

from numnet.serialization import atomic, npz, objects, safetensors
from numnet.serialization.atomic import (
    TEMP_SUFFIX,
    CheckpointError,
    atomic_write,
    atomic_write_bytes,
    atomic_write_text,
    remove_temporaries,
)
from numnet.serialization.npz import FORMAT, FORMAT_VERSION, METADATA_KEY, load_npz, save_npz
from numnet.serialization.objects import (
    OBJECT_FORMAT,
    SAFETENSORS_SUFFIX,
    decode,
    encode,
    format_of,
    load,
    save,
)
from numnet.serialization.safetensors import load_safetensors, save_safetensors

__all__ = [
    "CheckpointError", "TEMP_SUFFIX", "atomic_write", "atomic_write_bytes",
    "atomic_write_text", "remove_temporaries",
    "FORMAT", "FORMAT_VERSION", "METADATA_KEY", "save_npz", "load_npz",
    "save_safetensors", "load_safetensors",
    "OBJECT_FORMAT", "SAFETENSORS_SUFFIX", "encode", "decode", "format_of", "save", "load",
    "atomic", "npz", "safetensors", "objects",
]
