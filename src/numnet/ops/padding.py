"""Padding, ``pad``, with PyTorch's four modes: ``constant reflect replicate circular``.

``pad = (left_last, right_last, left_second_last, right_second_last, ...)`` lists the amounts
added before and after each dim, from the last dim backwards (``(1, 1, 2, 2)`` pads W by 1
and H by 2 on each side); a negative amount crops. Along a padded axis of size n, output
position ``p`` (counted in the input's coordinates, ``-left <= p < n + right``) reads:

- ``constant``: ``x[p]`` inside, ``value`` outside (any number of dims);
- ``reflect``: the mirror image without repeating the edge, ``x[-p]`` for ``p < 0`` and
  ``x[2(n-1) - p]`` for ``p >= n`` (each amount must be < n);
- ``replicate``: the edge value, ``x[clip(p, 0, n-1)]``;
- ``circular``: the axis wrapped around, ``x[p mod n]`` (amounts at most n). As in PyTorch,
  a negative amount crops first and the wrapping then repeats the cropped axis (amounts at
  most its size).

The last three pad 1, 2 or 3 trailing dims (``len(pad)`` 2, 4 or 6) of a batch of inputs
with or without the batch dim, as PyTorch does. They are gathers, ``y = take(x, idx)`` along
each padded axis, so ``gx`` adds every ``gy`` entry back to the position it was read from
(``PadEdgesGrad``, whose own gradient is the padding again). The gradient of a constant
padding is a constant padding by the opposite amounts, so both are differentiable to any
order.
"""

from __future__ import annotations

import numbers

import numpy

from numnet.autograd import Function
from numnet.ops import dual
from numnet.ops._util import as_tensor
from numnet.tensor import Tensor

MODES = ("constant", "reflect", "replicate", "circular")


def _check_pad(pad, ndim: int) -> tuple:
    """``pad`` as a tuple of ints, with PyTorch's checks of its length and element types."""
    pad = tuple(pad)
    for position, amount in enumerate(pad):
        if not isinstance(amount, numbers.Integral) or isinstance(amount, bool):
            raise TypeError(f"pad(): argument 'pad' (position 2) must be tuple of ints, but "
                            f"found element of type {type(amount).__name__} at pos {position}")
    if len(pad) % 2:
        raise RuntimeError(f"Padding length must be divisible by 2, got {len(pad)}")
    if len(pad) > 2 * ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the "
                           f"input dimension but got padding length {len(pad)} and input of "
                           f"dimension {ndim}")
    return tuple(int(amount) for amount in pad)


def _pairs(pad, ndim: int) -> list:
    """``[(axis, left, right), ...]`` of the padded axes, the last dim first."""
    return [(ndim - 1 - i, pad[2 * i], pad[2 * i + 1]) for i in range(len(pad) // 2)]


class Pad(Function):
    """Constant padding: ``y[p] = x[p]`` inside, ``value`` outside; negative amounts crop.

    ``gx`` is the un-padded (cropped) part of ``gy``, with zeros where ``x`` was cropped:
    ``Pad(-pad, 0)(gy)``, and so it is recorded.
    """

    saved_inputs = (None,)

    def __init__(self, pad, value: float = 0.0):
        self.pad, self.value = tuple(pad), value

    def forward(self, x):
        self.widths = [(0, 0)] * x.ndim
        for axis, left, right in _pairs(self.pad, x.ndim):
            self.widths[axis] = (left, right)
            if x.shape[axis] + left + right < 0:
                raise RuntimeError(f"The input size {x.shape[axis]}, plus negative padding "
                                   f"{left} and {right} resulted in a negative output size, "
                                   f"which is invalid. Check dimension {axis} of your input.")
        grow = [(max(a, 0), max(b, 0)) for a, b in self.widths]
        y = numpy.pad(x, grow, mode="constant", constant_values=self.value)
        crop = tuple(slice(-min(a, 0), y.shape[i] + min(b, 0))
                     for i, (a, b) in enumerate(self.widths))
        return y[crop]

    def backward(self, gy):
        if dual.is_graph(gy):
            return dual.apply(Pad(tuple(-amount for amount in self.pad)), gy)
        # crop what was added, pad back with zeros what was cropped
        shrink = tuple(slice(max(a, 0), gy.shape[i] - max(b, 0))
                       for i, (a, b) in enumerate(self.widths))
        g = gy[shrink]
        regrow = [(-min(a, 0), -min(b, 0)) for a, b in self.widths]
        return numpy.pad(g, regrow) if any(a or b for a, b in regrow) else g


def _source_index(mode: str, n: int, left: int, right: int):
    """The input position each output position of a padded axis reads (module docstring)."""
    if mode == "circular":
        start = max(-left, 0)
        kept = n - start - max(-right, 0)  # the axis after cropping
        positions = numpy.arange(-max(left, 0), kept + max(right, 0))
        return start + positions % kept
    positions = numpy.arange(-left, n + right)
    if mode == "replicate":
        return numpy.clip(positions, 0, n - 1)
    reflected = numpy.abs(positions)
    return numpy.where(reflected >= n, 2 * (n - 1) - reflected, reflected)


def _add_back(gy, index, axis: int, n: int):
    """The gradient of ``take(x, index, axis)`` for an axis of length n: the entries of
    ``gy`` read from one position summed there (one sort, one ``add.reduceat``)."""
    shape = list(gy.shape)
    shape[axis] = n
    gx = numpy.zeros(shape, gy.dtype)
    if index.size == 0:
        return gx
    order = numpy.argsort(index, kind="stable")
    sources, starts = numpy.unique(index[order], return_index=True)
    sums = numpy.add.reduceat(numpy.take(gy, order, axis), starts, axis)
    where = [slice(None)] * gy.ndim
    where[axis] = sources
    gx[tuple(where)] = sums
    return gx


class PadEdges(Function):
    """``reflect``, ``replicate`` or ``circular`` padding: ``y = take(x, idx)`` along each
    padded axis, ``idx`` the mode's source positions (module docstring);
    ``gx[i] = sum of gy[p] over the p with idx[p] = i`` (``PadEdgesGrad``)."""

    saved_inputs = (None,)

    def __init__(self, pad, mode: str):
        self.pad, self.mode = tuple(pad), mode
        if mode in ("reflect", "replicate"):  # PyTorch's own kernels keep this edge
            self.masks_from = (("input", 0),)

    def forward(self, x):
        self._check(x)
        self.steps = []
        y = x
        for axis, left, right in _pairs(self.pad, x.ndim):
            n = x.shape[axis]
            index = _source_index(self.mode, n, left, right)
            y = numpy.take(y, index, axis)
            self.steps.append((axis, index, n))
        return y

    def backward(self, gy):
        return dual.apply(PadEdgesGrad(self.pad, self.mode, self.steps), gy)

    def _check(self, x) -> None:
        dims = len(self.pad) // 2
        if x.ndim not in (dims + 1, dims + 2):
            raise NotImplementedError(
                f"Padding size {len(self.pad)} is not supported for {x.ndim}D input tensor.\n"
                "Supported combinations for non-constant padding:\n"
                "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
                "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
                "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
        shape = list(x.shape)
        if self.mode != "circular" and 0 in shape[x.ndim - dims - 1:]:
            raise RuntimeError(f"Expected {dims + 1}D or {dims + 2}D (batch mode) tensor with "
                               "possibly 0 batch size and other non-zero dimensions for "
                               f"input, but got: {shape}")
        for i, (axis, left, right) in enumerate(_pairs(self.pad, x.ndim)):
            n = shape[axis]
            if self.mode == "reflect" and (left >= n or right >= n):
                raise RuntimeError(f"Argument #{4 + 2 * i}: Padding size should be less than "
                                   "the corresponding input dimension, but got: padding "
                                   f"({left}, {right}) at dimension {axis} of input {shape}")
            # (PyTorch checks n, and reads past its buffer when cropping leaves fewer)
            kept = n - max(-left, 0) - max(-right, 0)
            if self.mode == "circular" and (left > n or right > n or max(left, right) > kept):
                raise RuntimeError("Padding value causes wrapping around more than once.")


class PadEdgesGrad(Function):
    """The gradient of ``PadEdges`` as an op: ``y[i] = sum of x[p] over the p with
    idx[p] = i``, axis by axis (``steps``: PadEdges' ``(axis, idx, n)``);  ``gx`` is
    ``PadEdges(pad, mode)(gy)``, the padding again."""

    saved_inputs = (None,)

    def __init__(self, pad, mode: str, steps):
        self.pad, self.mode, self.steps = pad, mode, steps

    def forward(self, g):
        for axis, index, n in reversed(self.steps):
            g = _add_back(g, index, axis, n)
        return g

    def backward(self, gy):
        return dual.apply(PadEdges(self.pad, self.mode), gy)


def pad(input, pad, mode: str = "constant", value: float | None = None) -> Tensor:  # noqa: A002
    """Pad ``input`` by ``pad`` (``(left, right)`` amounts from the last dim backwards).

    Args:
        input: a tensor; ``reflect``, ``replicate`` and ``circular`` take 2-D or 3-D input
            for ``len(pad) == 2``, 3-D or 4-D for 4, 4-D or 5-D for 6.
        pad: ``(left_last, right_last, left_second_last, ...)``, at most two per dim;
            negative amounts crop.
        mode: ``'constant'``, ``'reflect'``, ``'replicate'`` or ``'circular'`` (module
            docstring).
        value: the fill of ``'constant'`` (default 0); the other modes take none.

    Returns:
        Tensor of the input's dtype, each padded dim ``n`` grown to ``n + left + right``.

    Raises:
        NotImplementedError: an unknown mode, or a non-constant mode for a ``pad`` length
            that does not fit ``input``'s dims (PyTorch's table).
        RuntimeError: an odd ``pad`` length, too many amounts, a ``value`` with a mode other
            than ``'constant'``, ``reflect`` amounts >= the dim, ``circular`` ones > the dim.

    Example:
        >>> import numnet
        >>> import numnet.nn.functional as F
        >>> x = numnet.tensor([[[0.0, 1.0, 2.0]]])
        >>> F.pad(x, (2, 1), mode="reflect")
        tensor([[[2., 1., 0., 1., 2., 1.]]])
        >>> F.pad(x, (2, 1), mode="replicate")
        tensor([[[0., 0., 0., 1., 2., 2.]]])
        >>> F.pad(x, (2, 1), mode="circular")
        tensor([[[1., 2., 0., 1., 2., 0.]]])
        >>> F.pad(x, (1, -1), value=9.0)
        tensor([[[9., 0., 1.]]])
    """
    x = as_tensor(input)
    amounts = _check_pad(pad, x.ndim)
    if mode not in MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if mode == "constant":
        return Pad(amounts, 0.0 if value is None else value)(x)
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    return PadEdges(amounts, mode)(x)
