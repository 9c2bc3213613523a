"""NumPy's argument names that PyTorch accepts beside its own: ``axis`` for ``dim`` and
``keepdims`` for ``keepdim`` (``torch.sum(x, axis=1, keepdims=True)``)."""

from __future__ import annotations

import functools

_ALIASES = {"axis": "dim", "keepdims": "keepdim"}


def dim_aliases(function):
    """Let ``function`` (which takes ``dim``/``keepdim``) also be called with ``axis``/
    ``keepdims``; giving both names of one argument is a TypeError, as in PyTorch.

    Example:
        >>> @dim_aliases
        ... def f(x, dim=None, keepdim=False):
        ...     return dim, keepdim
        >>> f(0, axis=1, keepdims=True)
        (1, True)
    """

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        for alias, name in _ALIASES.items():
            if alias in kwargs:
                if name in kwargs:
                    raise TypeError(f"{function.__name__}() got both '{name}' and its alias "
                                    f"'{alias}'")
                kwargs[name] = kwargs.pop(alias)
        return function(*args, **kwargs)

    return wrapper
