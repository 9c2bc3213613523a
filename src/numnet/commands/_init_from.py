"""``numnet train --init-from FILE``: start a run from weights trained elsewhere.

FILE is a ``.safetensors`` file (e.g. a PyTorch model's ``state_dict`` saved with
``safetensors.torch.save_file``), a ``.npz`` written by ``numnet.save(model.state_dict(),
...)``, a numnet checkpoint (``model.npz``, ``best.npz``, ``last.npz``: their ``"model"``
entry), or a run folder (its ``model.npz``). Only the weights are taken: the optimizer, the
schedule and the epoch count start afresh. A file whose names or shapes do not fit the
chosen model is refused in one line before training starts.
"""

from __future__ import annotations

from pathlib import Path

import numpy

from numnet import serialization
from numnet.commands._errors import CommandError

_SHOWN = 3
"""How many names a mismatch message lists of each kind."""


def _names(keys: list) -> str:
    shown = ", ".join(keys[:_SHOWN])
    return shown + (f" (+{len(keys) - _SHOWN} more)" if len(keys) > _SHOWN else "")


def read_weights(path: Path) -> dict:
    """name -> array: the ``state_dict`` held by ``path`` (see the module docstring)."""
    if path.is_dir():
        path = path / "model.npz"
    try:
        loaded = serialization.load(path)
    except (OSError, ValueError) as error:  # CheckpointError is both
        raise CommandError(f"--init-from: {error}") from None
    if isinstance(loaded, dict) and isinstance(loaded.get("model"), dict):
        loaded = loaded["model"]  # a numnet checkpoint
    if not isinstance(loaded, dict) or not all(
            isinstance(value, numpy.ndarray) for value in loaded.values()):
        raise CommandError(f"--init-from {path}: it holds no state_dict (a dict of name -> "
                           "array, or a numnet checkpoint)")
    return loaded


def init_from(model, path, model_name: str) -> None:
    """Copy the weights in ``path`` into ``model`` (cast to its dtype), or refuse in one
    line naming what does not fit.

    Raises:
        CommandError: an unreadable file, or names or shapes that do not match ``model``.
    """
    path = Path(path)
    weights = read_weights(path)
    own = model.state_dict()
    problems = []
    missing = [key for key in own if key not in weights]
    unexpected = [key for key in weights if key not in own]
    if missing:
        problems.append(f"missing {_names(missing)}")
    if unexpected:
        problems.append(f"unexpected {_names(unexpected)}")
    for key, array in own.items():
        if key in weights and weights[key].shape != array.shape:
            problems.append(f"{key} is {weights[key].shape} in the file but {array.shape} in "
                            "the model")
            break
    if problems:
        raise CommandError(f"--init-from {path}: its weights do not fit the {model_name} "
                           f"model ({'; '.join(problems)}): use the --model, --hidden and "
                           "--dataset they were trained for")
    model.load_state_dict(weights)
