"""``numnet.cuda``: numnet has no GPU backend, so no CUDA device is ever available.

It lets the usual PyTorch line run unchanged::

    >>> import numnet
    >>> "cuda" if numnet.cuda.is_available() else "cpu"
    'cpu'
"""

from __future__ import annotations


def is_available() -> bool:
    """False: numnet runs on the CPU only."""
    return False


def device_count() -> int:
    """0: numnet sees no CUDA device."""
    return 0
