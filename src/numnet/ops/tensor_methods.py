"""Tensor's operators and op methods, attached to the class one line each.

``numnet.tensor`` cannot import the ops (they import it), so this module, which sits on top
of the ops, gives ``Tensor`` its operators (``a * b`` is ``Tensor.__mul__ = mul``, from
``numnet.ops.arithmetic``) and the methods that run an op (``x.sum()``, ``x.reshape(...)``,
``x.to(dtype)``, ...). ``numnet/__init__.py`` imports it, so every Tensor has them.

Example:
    >>> import numnet
    >>> x = numnet.tensor([1.0, 2.0, 3.0])
    >>> (2 - x).sum()
    tensor(0.)
"""

from __future__ import annotations

# shape, layout, copies, creation and in-place ops
from numnet import creation

# reductions, scans, sorting, selecting and scattering
from numnet.ops import indexing, inplace, reduction, scan, sorting
from numnet.ops.activation import log_softmax, relu, sigmoid, softmax, tanh

# activations
from numnet.ops.activation_piecewise import hardshrink, prelu

# element-wise math, logical, bitwise, rounding
from numnet.ops.arithmetic import (
    add,
    div,
    divide,
    matmul,
    mul,
    multiply,
    neg,
    negative,
    pow,
    sub,
    subtract,
    to,
    true_divide,
)
from numnet.ops.binary import arctan2, atan2, copysign, float_power, hypot, lerp, xlogy
from numnet.ops.elementwise import (
    abs,
    absolute,
    clamp,
    clamp_max,
    clamp_min,
    clip,
    eq,
    exp,
    ge,
    greater,
    greater_equal,
    gt,
    le,
    less,
    less_equal,
    log,
    lt,
    maximum,
    minimum,
    ne,
    not_equal,
    sqrt,
    where,
)
from numnet.ops.layout import (
    chunk,
    clone,
    contiguous,
    diag,
    diagonal,
    flip_method,
    is_contiguous,
    matrix_transpose,
    movedim,
    narrow,
    repeat,
    repeat_interleave,
    roll,
    split,
    swapaxes,
    swapdims,
    t,
    tile_method,
    tril,
    triu,
    unflatten,
    unfold,
)
from numnet.ops.logical import (
    allclose,
    bitwise_and,
    bitwise_left_shift,
    bitwise_not,
    bitwise_or,
    bitwise_right_shift,
    bitwise_xor,
    equal,
    isclose,
    isfinite,
    isinf,
    isnan,
    isneginf,
    isposinf,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    nan_to_num,
)
from numnet.ops.reduction import amax, amin, argmax, argmin, max, mean, min, std, sum, var
from numnet.ops.rounding import ceil, fix, floor, floor_divide, fmod, frac, remainder, round, trunc
from numnet.ops.shape import (
    broadcast_to,
    expand,
    flatten,
    getitem,
    permute,
    reshape,
    squeeze,
    transpose,
    unsqueeze,
    view,
)
from numnet.ops.unary import (
    acos,
    acosh,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctanh,
    asin,
    asinh,
    atan,
    atanh,
    cos,
    cosh,
    erf,
    erfc,
    erfinv,
    exp2,
    expm1,
    log1p,
    log2,
    log10,
    positive,
    reciprocal,
    rsqrt,
    sgn,
    sign,
    sin,
    sinh,
    square,
    tan,
)
from numnet.tensor import Tensor


def _rsub(self, other) -> Tensor:
    return sub(other, self)


def _rtruediv(self, other) -> Tensor:
    return div(other, self)


def _rpow(self, other) -> Tensor:
    return pow(other, self)


def _rmatmul(self, other) -> Tensor:
    return matmul(other, self)


def _equal_operator(self, other):
    """``self == other``; with None, Python's own answer (``x == None`` is False, as in
    PyTorch; ``numnet.eq(x, None)`` is a TypeError, as ``torch.eq``)."""
    return NotImplemented if other is None else eq(self, other)


def _not_equal_operator(self, other):
    """``self != other``; ``x != None`` is True."""
    return NotImplemented if other is None else ne(self, other)


def _expand_as(self, other) -> Tensor:
    """``expand(self, other.shape)``."""
    return expand(self, other.shape)


def _view_as(self, other) -> Tensor:
    """``reshape(self, other.shape)``."""
    return reshape(self, other.shape)


# operators
Tensor.__add__ = add
Tensor.__radd__ = add
Tensor.__sub__ = sub
Tensor.__rsub__ = _rsub
Tensor.__mul__ = mul
Tensor.__rmul__ = mul
Tensor.__truediv__ = div
Tensor.__rtruediv__ = _rtruediv
Tensor.__pow__ = pow
Tensor.__rpow__ = _rpow
Tensor.__matmul__ = matmul
Tensor.__rmatmul__ = _rmatmul
Tensor.__neg__ = neg
Tensor.__getitem__ = getitem
Tensor.__lt__ = lt
Tensor.__le__ = le
Tensor.__gt__ = gt
Tensor.__ge__ = ge
Tensor.__eq__ = _equal_operator
Tensor.__ne__ = _not_equal_operator

# arithmetic and element-wise
Tensor.add = add
Tensor.sub = sub
Tensor.mul = mul
Tensor.div = div
Tensor.neg = neg
Tensor.pow = pow
Tensor.matmul = matmul
Tensor.to = to
Tensor.exp = exp
Tensor.log = log
Tensor.sqrt = sqrt
Tensor.abs = abs
Tensor.clamp = clamp
Tensor.clip = clip
Tensor.maximum = maximum
Tensor.minimum = minimum

# reductions
Tensor.sum = sum
Tensor.mean = mean
Tensor.var = var
Tensor.std = std
Tensor.max = max
Tensor.min = min
Tensor.amax = amax
Tensor.amin = amin
Tensor.argmax = argmax
Tensor.argmin = argmin

# shape
Tensor.reshape = reshape
Tensor.view = view
Tensor.view_as = _view_as
Tensor.flatten = flatten
Tensor.squeeze = squeeze
Tensor.unsqueeze = unsqueeze
Tensor.transpose = transpose
Tensor.permute = permute
Tensor.expand = expand
Tensor.expand_as = _expand_as
Tensor.broadcast_to = broadcast_to

# activations
Tensor.sigmoid = sigmoid
Tensor.tanh = tanh
Tensor.relu = relu
Tensor.softmax = softmax
Tensor.log_softmax = log_softmax
Tensor.hardshrink = hardshrink
Tensor.prelu = prelu

# element-wise math, logical, bitwise, rounding
def _rfloordiv(self, other) -> Tensor:
    return floor_divide(other, self)


def _rmod(self, other) -> Tensor:
    return remainder(other, self)


def _rlshift(self, other) -> Tensor:
    return bitwise_left_shift(other, self)


def _rrshift(self, other) -> Tensor:
    return bitwise_right_shift(other, self)


def _invert(self) -> Tensor:
    """``~x``; a floating tensor is a TypeError, as in PyTorch's operator."""
    if self.data.dtype.kind == "f":
        raise TypeError("~ (operator.invert) is only for integer and bool tensors, not "
                        f"{self.data.dtype}")
    return bitwise_not(self)


def _where(self, condition, other) -> Tensor:
    """``x.where(condition, other)``: ``where(condition, x, other)``."""
    return where(condition, self, other)


Tensor.__floordiv__ = floor_divide
Tensor.__rfloordiv__ = _rfloordiv
Tensor.__mod__ = remainder
Tensor.__rmod__ = _rmod
Tensor.__and__ = bitwise_and
Tensor.__rand__ = bitwise_and
Tensor.__or__ = bitwise_or
Tensor.__ror__ = bitwise_or
Tensor.__xor__ = bitwise_xor
Tensor.__rxor__ = bitwise_xor
Tensor.__invert__ = _invert
Tensor.__lshift__ = bitwise_left_shift
Tensor.__rlshift__ = _rlshift
Tensor.__rshift__ = bitwise_right_shift
Tensor.__rrshift__ = _rrshift
Tensor.__abs__ = abs
Tensor.__pos__ = positive
Tensor.subtract = subtract
Tensor.multiply = multiply
Tensor.divide = divide
Tensor.true_divide = true_divide
Tensor.negative = negative
Tensor.absolute = absolute
Tensor.floor_divide = floor_divide
Tensor.remainder = remainder
Tensor.fmod = fmod
Tensor.floor = floor
Tensor.ceil = ceil
Tensor.round = round
Tensor.trunc = trunc
Tensor.fix = fix
Tensor.frac = frac
Tensor.sin = sin
Tensor.cos = cos
Tensor.tan = tan
Tensor.asin = asin
Tensor.acos = acos
Tensor.atan = atan
Tensor.arcsin = arcsin
Tensor.arccos = arccos
Tensor.arctan = arctan
Tensor.sinh = sinh
Tensor.cosh = cosh
Tensor.asinh = asinh
Tensor.acosh = acosh
Tensor.atanh = atanh
Tensor.arcsinh = arcsinh
Tensor.arccosh = arccosh
Tensor.arctanh = arctanh
Tensor.atan2 = atan2
Tensor.arctan2 = arctan2
Tensor.hypot = hypot
Tensor.copysign = copysign
Tensor.xlogy = xlogy
Tensor.lerp = lerp
Tensor.float_power = float_power
Tensor.exp2 = exp2
Tensor.expm1 = expm1
Tensor.log2 = log2
Tensor.log10 = log10
Tensor.log1p = log1p
Tensor.rsqrt = rsqrt
Tensor.reciprocal = reciprocal
Tensor.square = square
Tensor.erf = erf
Tensor.erfc = erfc
Tensor.erfinv = erfinv
Tensor.sign = sign
Tensor.sgn = sgn
Tensor.positive = positive
Tensor.clamp_min = clamp_min
Tensor.clamp_max = clamp_max
Tensor.where = _where
Tensor.eq = eq
Tensor.ne = ne
Tensor.lt = lt
Tensor.le = le
Tensor.gt = gt
Tensor.ge = ge
Tensor.greater = greater
Tensor.greater_equal = greater_equal
Tensor.less = less
Tensor.less_equal = less_equal
Tensor.not_equal = not_equal
Tensor.isclose = isclose
Tensor.allclose = allclose
Tensor.equal = equal
Tensor.isnan = isnan
Tensor.isinf = isinf
Tensor.isfinite = isfinite
Tensor.isposinf = isposinf
Tensor.isneginf = isneginf
Tensor.nan_to_num = nan_to_num
Tensor.logical_and = logical_and
Tensor.logical_or = logical_or
Tensor.logical_xor = logical_xor
Tensor.logical_not = logical_not
Tensor.bitwise_and = bitwise_and
Tensor.bitwise_or = bitwise_or
Tensor.bitwise_xor = bitwise_xor
Tensor.bitwise_not = bitwise_not
Tensor.bitwise_left_shift = bitwise_left_shift
Tensor.bitwise_right_shift = bitwise_right_shift

# shape, layout, copies, creation and in-place ops
Tensor.t = t  # 0-d and 1-d as they are, like PyTorch
Tensor.mT = property(matrix_transpose)
Tensor.flip = flip_method
Tensor.roll = roll
Tensor.tril = tril
Tensor.triu = triu
Tensor.diag = diag
Tensor.diagonal = diagonal
Tensor.repeat = repeat
Tensor.repeat_interleave = repeat_interleave
Tensor.tile = tile_method
Tensor.split = split
Tensor.chunk = chunk
Tensor.unflatten = unflatten
Tensor.unfold = unfold
Tensor.narrow = narrow
Tensor.movedim = movedim
Tensor.moveaxis = movedim
Tensor.swapaxes = swapaxes
Tensor.swapdims = swapdims
Tensor.clone = clone
Tensor.contiguous = contiguous
Tensor.is_contiguous = is_contiguous
Tensor.new_tensor = creation.new_tensor
Tensor.new_zeros = creation.new_zeros
Tensor.new_ones = creation.new_ones
Tensor.new_full = creation.new_full
Tensor.new_empty = creation.new_empty
Tensor.add_ = inplace.add_
Tensor.sub_ = inplace.sub_
Tensor.mul_ = inplace.mul_
Tensor.div_ = inplace.div_
Tensor.pow_ = inplace.pow_
Tensor.neg_ = inplace.neg_
Tensor.abs_ = inplace.abs_
Tensor.sqrt_ = inplace.sqrt_
Tensor.exp_ = inplace.exp_
Tensor.log_ = inplace.log_
Tensor.clamp_ = inplace.clamp_
Tensor.clip_ = inplace.clip_
Tensor.clamp_min_ = inplace.clamp_min_
Tensor.clamp_max_ = inplace.clamp_max_
Tensor.sigmoid_ = inplace.sigmoid_
Tensor.tanh_ = inplace.tanh_
Tensor.relu_ = inplace.relu_
Tensor.zero_ = inplace.zero_
Tensor.fill_ = inplace.fill_
Tensor.copy_ = inplace.copy_
Tensor.masked_fill_ = inplace.masked_fill_
Tensor.uniform_ = inplace.uniform_
Tensor.normal_ = inplace.normal_

# reductions, scans, sorting, selecting and scattering
Tensor.prod = reduction.prod
Tensor.logsumexp = reduction.logsumexp
Tensor.any = reduction.any
Tensor.all = reduction.all
Tensor.aminmax = reduction.aminmax
Tensor.nansum = reduction.nansum
Tensor.nanmean = reduction.nanmean
Tensor.count_nonzero = reduction.count_nonzero
Tensor.cumsum = scan.cumsum
Tensor.cumprod = scan.cumprod
Tensor.cummax = scan.cummax
Tensor.cummin = scan.cummin
Tensor.logcumsumexp = scan.logcumsumexp
Tensor.sort = sorting.sort
Tensor.argsort = sorting.argsort
Tensor.msort = sorting.msort
Tensor.topk = sorting.topk
Tensor.kthvalue = sorting.kthvalue
Tensor.median = sorting.median
Tensor.gather = indexing.gather
Tensor.scatter = indexing.scatter
Tensor.scatter_add = indexing.scatter_add
Tensor.scatter_reduce = indexing.scatter_reduce
Tensor.index_select = indexing.index_select
Tensor.index_add = indexing.index_add
Tensor.masked_fill = indexing.masked_fill
Tensor.masked_select = indexing.masked_select
Tensor.nonzero = indexing.nonzero
Tensor.take = indexing.take
Tensor.take_along_dim = indexing.take_along_dim
Tensor.scatter_ = inplace.inplace(indexing.scatter, "scatter_")
Tensor.scatter_add_ = inplace.inplace(indexing.scatter_add, "scatter_add_")
Tensor.scatter_reduce_ = inplace.inplace(indexing.scatter_reduce, "scatter_reduce_")
Tensor.index_add_ = inplace.inplace(indexing.index_add, "index_add_")
