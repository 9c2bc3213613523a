"""``Parameter``: a Tensor that a Module registers as trainable."""

from __future__ import annotations

from numnet.tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor with ``requires_grad=True`` that ``Module.__setattr__`` registers.

    Example:
        >>> import numnet
        >>> p = Parameter(numnet.zeros(2))
        >>> p.requires_grad, p.is_leaf
        (True, True)
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad: bool = True):
        if data is None:
            data = Tensor([])
        array = data.data if isinstance(data, Tensor) else Tensor(data).data
        super().__init__(array, requires_grad=requires_grad, _raw=True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
