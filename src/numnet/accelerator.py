"""``numnet.accelerator``: like ``torch.accelerator``; numnet runs on the CPU only.

    >>> import numnet
    >>> numnet.accelerator.is_available()
    False
"""

from __future__ import annotations


def is_available() -> bool:
    """False: numnet has no accelerator backend."""
    return False


def device_count() -> int:
    """0: numnet sees no accelerator."""
    return 0


def current_accelerator():
    """None, as in PyTorch when no accelerator is available."""
    return None
