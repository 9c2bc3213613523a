"""Nested objects on disk: ``numnet.save`` / ``numnet.load``, like ``torch.save(obj, f)`` /
``torch.load(f)``, choosing the container by the file.

A nested state (dicts, lists, tuples, arrays, Tensors, numbers) is split by ``encode`` into
flat arrays and a JSON tree that refers to them, and written as one ``.npz`` container. A
path ending in ``.safetensors`` is written as safetensors instead, which holds a flat dict
of name -> tensor (a ``state_dict``) and nothing else, so a model's weights go to and come
from PyTorch (``safetensors.torch.save_file`` / ``load_file``).

``load`` tells the formats by their first bytes (a zip is a ``.npz``, a JSON header after
the length is safetensors) and refuses PyTorch's own files (a pickle, or a zip holding
``data.pkl``) in one line that says how to write safetensors from torch: pickle can run
code, so numnet never loads one.
"""

from __future__ import annotations

import os
import zipfile

import numpy

from numnet import devices
from numnet.serialization.atomic import CheckpointError
from numnet.serialization.npz import _ZIP_SIGNATURES, load_npz, save_npz
from numnet.serialization.safetensors import load_safetensors, save_safetensors
from numnet.tensor import Tensor

OBJECT_FORMAT = "numnet-object"
"""Format tag of the metadata of a file written by ``save`` (a nested object)."""
SAFETENSORS_SUFFIX = ".safetensors"
TORCH_SUFFIXES = (".pt", ".pth", ".bin")
"""What ``torch.save`` files are usually called: refused unless they hold safetensors."""
_FROM_TORCH = ('write safetensors from torch instead: '
               'safetensors.torch.save_file(model.state_dict(), "model.safetensors")')


def encode(value, arrays: dict):
    """Return a JSON-serialisable form of ``value``, moving arrays into ``arrays``.

    Every array goes into ``arrays`` under a generated key and is referenced from the JSON
    as ``{"__array__": key}``; dicts with non-string keys (optimizer state is keyed by
    parameter index) and tuples are tagged so they come back exactly as they were.
    """
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

    Tensors are stored as their arrays; everything else must be JSON-representable. A path
    ending in ``.safetensors`` is written as safetensors (``obj`` a flat dict of name ->
    tensor, e.g. ``model.state_dict()``), which PyTorch reads with
    ``safetensors.torch.load_file``; any other path as a ``.npz`` of arrays plus JSON. An
    existing file is replaced, as ``torch.save`` does.

    Example:
        >>> import numnet, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "w.npz")
        >>> numnet.save({"w": numnet.ones(2), "step": 3, "betas": (0.9, 0.99)}, path)
        >>> numnet.load(path)
        {'w': array([1., 1.], dtype=float32), 'step': 3, 'betas': (0.9, 0.99)}
        >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
        >>> numnet.save(numnet.nn.Linear(2, 1).state_dict(), path)
        >>> {name: array.shape for name, array in numnet.load(path).items()}
        {'weight': (1, 2), 'bias': (1,)}
    """
    if os.fspath(path).lower().endswith(SAFETENSORS_SUFFIX):
        save_safetensors(obj, path)
        return
    arrays: dict = {}
    metadata = {"format": OBJECT_FORMAT, "object": encode(obj, arrays)}
    save_npz(arrays, path, metadata)


def _check_map_location(map_location) -> None:
    """Accept what ``torch.load`` accepts as ``map_location`` when it maps to the CPU."""
    if map_location is None or callable(map_location):
        return  # a callable (storage, location) -> storage: every array is already on the CPU
    if isinstance(map_location, dict):
        for source, target in map_location.items():
            if devices.device(source).type == "cpu":
                devices.check(target)
        return
    if not isinstance(map_location, (str, devices.device)):
        raise TypeError("map_location should be None, a device, a string, a dict or a "
                        f"callable, got {type(map_location).__name__}")
    devices.check(map_location)


def _holds_pickles(path: str) -> bool:
    """Whether the zip ``path`` is a ``torch.save`` file (it holds ``data.pkl``)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return False  # the .npz reader says what is wrong with it
    return any(name == "data.pkl" or name.endswith("/data.pkl") for name in names)


def format_of(path) -> str:
    """``"npz"`` or ``"safetensors"``: the container of the file ``path``, by its first bytes
    (a zip is a ``.npz``; an 8-byte length then ``{`` is safetensors) or, where those do not
    tell, by its suffix.

    Raises:
        CheckpointError: a PyTorch file (a pickle, a zip holding ``data.pkl``, or a
            ``.pt``/``.pth``/``.bin`` that is neither container), in one line saying how to
            write safetensors from torch instead.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            start = f.read(9)
    except OSError as error:
        raise CheckpointError(f"{path}: cannot read it ({error.strerror or error})") from error
    suffix = os.path.splitext(path)[1].lower()
    if start.startswith(_ZIP_SIGNATURES):
        if _holds_pickles(path):
            raise CheckpointError(f"{path}: refused to load: it is a torch.save file (a zip of "
                                  "pickles), and numnet never loads pickles (they can run "
                                  "code); " + _FROM_TORCH)
        return "npz"
    if start[8:9] == b"{":  # before the pickle test: a header length can begin with 0x80
        return "safetensors"
    if start[:1] == b"\x80":  # the PROTO opcode
        raise CheckpointError(f"{path}: refused to load: it is a Python pickle (as torch.save "
                              "writes), and numnet never loads pickles (they can run code); "
                              + _FROM_TORCH)
    if suffix == SAFETENSORS_SUFFIX:
        return "safetensors"
    if suffix in TORCH_SUFFIXES:
        raise CheckpointError(f"{path}: refused to load: numnet never loads PyTorch's {suffix}"
                              " files (they are pickles, which can run code); " + _FROM_TORCH)
    return "npz"


def load(f, map_location=None, pickle_module=None, *, weights_only: bool | None = None,
         mmap: bool | None = None):
    """Read an object written by ``save`` (no pickle: arrays and JSON only; arrays come
    back as NumPy arrays), or the tensors of any ``.safetensors`` file (e.g. written by
    ``safetensors.torch.save_file``, for ``model.load_state_dict``), with ``torch.load``'s
    arguments. A PyTorch ``.pt``/``.pth``/``.bin`` file (a pickle) is refused.

    Args:
        f: the file (a path); its container is told by ``format_of``.
        map_location: None, ``"cpu"``, ``numnet.device("cpu")``, a dict of locations or a
            callable: everything numnet saves is on the CPU, so these load it unchanged;
            any other device raises numnet's device error (numnet runs on the CPU only).
        pickle_module: must be None: numnet never unpickles.
        weights_only: accepted for PyTorch scripts. numnet always loads weights only
            (arrays and JSON); ``False`` does *not* enable pickle.
        mmap: accepted; no effect (the arrays are read into memory).

    Returns:
        The saved object; for a safetensors file a dict name -> NumPy array (BF16 upcast to
        float32).
    """
    if pickle_module is not None:
        raise RuntimeError("numnet.load never unpickles: pickle_module must be None")
    _check_map_location(map_location)
    path = f
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint {path} not found")
    if format_of(path) == "safetensors":
        return load_safetensors(path)[0]
    arrays, metadata = load_npz(path)
    if metadata.get("format") != OBJECT_FORMAT or "object" not in metadata:
        raise CheckpointError(f"{path} was not written by numnet.save "
                              f"(format {metadata.get('format')!r})")
    try:
        return decode(metadata["object"], arrays)
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{path}: the saved object refers to arrays or values that are "
                              f"not there ({type(error).__name__}: {error}): the file is "
                              "damaged") from error
