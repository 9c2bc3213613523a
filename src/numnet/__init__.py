"""numnet: deep learning from first principles, in NumPy.

Define-by-run autograd with PyTorch's API: ``numnet.tensor``, ``numnet.nn``,
``numnet.optim``; every op proven against PyTorch and finite differences.
"""

import numpy

# utils.data, optimizers, schedules
from numnet import accelerator, backend, cuda, data, devices, models, nn, onnx, optim, utils, viz
from numnet.autograd import enable_grad, functional, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401, E501 - numnet.autograd.functional as in torch
from numnet.backend import get_default_dtype, get_num_threads, set_default_dtype, set_num_threads

# shape, layout, copies, creation and in-place ops
from numnet.creation import (
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    is_tensor,
    linspace,
    logspace,
    numel,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from numnet.devices import device
from numnet.gradcheck import gradcheck, gradgradcheck

# reductions, scans, sorting, selecting and scattering
from numnet.ops import (
    return_types,
    tensor_methods,  # noqa: F401 - imported for its effect: Tensor's operators
)
from numnet.ops.activation import sigmoid, softmax, tanh

# activations
from numnet.ops.activation_piecewise import (
    hardshrink,
    prelu,
    relu,
    relu_,
    rrelu,
    rrelu_,
    threshold,
    threshold_,
)
from numnet.ops.activation_smooth import celu, celu_, selu, selu_

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
    rsub,
    sub,
    subtract,
    true_divide,
)
from numnet.ops.binary import arctan2, atan2, copysign, float_power, hypot, lerp, xlogy
from numnet.ops.conv import conv2d  # convolution options
from numnet.ops.conv1d import conv1d
from numnet.ops.conv_transpose import conv_transpose1d, conv_transpose2d
from numnet.ops.einsum import einsum
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
from numnet.ops.indexing import (
    gather,
    index_add,
    index_select,
    masked_fill,
    masked_select,
    nonzero,
    scatter,
    scatter_add,
    scatter_reduce,
    take,
    take_along_dim,
)
from numnet.ops.layout import (
    atleast_1d,
    atleast_2d,
    atleast_3d,
    chunk,
    clone,
    column_stack,
    diag,
    diagonal,
    dstack,
    flip,
    hstack,
    meshgrid,
    moveaxis,
    movedim,
    narrow,
    repeat_interleave,
    roll,
    split,
    swapaxes,
    swapdims,
    t,
    tile,
    tril,
    triu,
    unflatten,
    vstack,
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

# normalization
from numnet.ops.normalization import group_norm, instance_norm, layer_norm
from numnet.ops.pool import max_pool2d  # pooling
from numnet.ops.pool1d import avg_pool1d, max_pool1d
from numnet.ops.reduction import (
    all,
    amax,
    amin,
    aminmax,
    any,
    argmax,
    argmin,
    count_nonzero,
    logsumexp,
    max,
    mean,
    min,
    nanmean,
    nansum,
    prod,
    std,
    std_mean,
    sum,
    var,
    var_mean,
)
from numnet.ops.rounding import ceil, fix, floor, floor_divide, fmod, frac, remainder, round, trunc
from numnet.ops.scan import cummax, cummin, cumprod, cumsum, logcumsumexp
from numnet.ops.shape import cat, flatten, permute, reshape, squeeze, stack, transpose, unsqueeze
from numnet.ops.sorting import argsort, kthvalue, median, msort, sort, topk
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
from numnet.random import Generator, get_rng_state, manual_seed, set_rng_state
from numnet.serialization import load, save
from numnet.tensor import Tensor

# dtypes, with PyTorch's names and aliases (numnet's dtypes are NumPy's)
float16 = half = numpy.dtype("float16")
float32 = float = numpy.dtype("float32")  # noqa: A001 - PyTorch's name
float64 = double = numpy.dtype("float64")
uint8 = numpy.dtype("uint8")
int8 = numpy.dtype("int8")
int16 = short = numpy.dtype("int16")
int32 = int = numpy.dtype("int32")  # noqa: A001 - PyTorch's name
int64 = long = numpy.dtype("int64")
bool = numpy.dtype("bool")  # noqa: A001 - PyTorch's name

__version__ = "0.1.0"

__all__ = [
    # subpackages and modules
    "accelerator", "backend", "cuda", "data", "devices", "models", "nn", "onnx", "optim", "viz",
    # utils.data
    "utils",
    # devices
    "device",
    # tensors and their creation
    "Tensor", "tensor", "from_numpy", "zeros", "ones", "full", "zeros_like", "ones_like",
    "full_like", "arange", "linspace", "eye", "rand", "randn", "randint", "randperm",
    "float16", "half", "float32", "float", "float64", "double", "uint8", "int8", "int16",
    "short", "int32", "int", "int64", "long", "bool",
    # autograd
    "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "gradcheck",
    "gradgradcheck",
    # settings
    "get_default_dtype", "set_default_dtype", "get_num_threads", "set_num_threads",
    # random numbers
    "Generator", "manual_seed", "get_rng_state", "set_rng_state",
    # ops (also ``numnet.nn.functional.<name>`` and Tensor methods)
    "matmul", "abs", "clamp", "clip", "exp", "log", "sqrt", "maximum", "minimum", "where",
    "sum", "mean", "var", "std", "max", "min", "amax", "amin", "argmax", "argmin",
    "reshape", "flatten", "squeeze", "unsqueeze", "permute", "transpose", "cat", "stack",
    "sigmoid", "softmax", "tanh",
    # activations
    "relu", "relu_", "selu", "selu_", "celu", "celu_", "prelu", "threshold", "threshold_",
    "hardshrink", "rrelu", "rrelu_",
    # element-wise math, logical, bitwise, rounding
    "add", "sub", "subtract", "rsub", "mul", "multiply", "div", "divide", "true_divide",
    "neg", "negative", "pow", "float_power", "absolute", "clamp_min", "clamp_max",
    "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "arcsin", "arccos", "arctan",
    "arctan2", "sinh", "cosh", "asinh", "acosh", "atanh", "arcsinh", "arccosh", "arctanh",
    "exp2", "expm1", "log2", "log10", "log1p", "rsqrt", "reciprocal", "square", "erf",
    "erfc", "erfinv", "sign", "sgn", "positive", "hypot", "copysign", "xlogy", "lerp",
    "floor", "ceil", "round", "trunc", "fix", "frac", "remainder", "fmod", "floor_divide",
    "eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less", "less_equal",
    "not_equal", "equal", "isclose", "allclose", "isnan", "isinf", "isfinite", "isposinf",
    "isneginf", "nan_to_num", "logical_and", "logical_or", "logical_xor", "logical_not",
    "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift",
    "bitwise_right_shift",
    # shape, layout, copies, creation and in-place ops
    "as_tensor", "is_tensor", "numel", "empty", "empty_like", "rand_like", "randn_like",
    "randint_like", "logspace", "einsum", "flip", "roll", "tril", "triu", "diag",
    "diagonal", "repeat_interleave", "tile", "split", "chunk", "unflatten", "narrow",
    "movedim", "moveaxis", "swapaxes", "swapdims", "t", "meshgrid", "clone", "atleast_1d",
    "atleast_2d", "atleast_3d", "hstack", "vstack", "dstack", "column_stack",
    # reductions, scans, sorting, selecting and scattering
    "return_types", "prod", "logsumexp", "any", "all", "aminmax", "nansum", "nanmean",
    "count_nonzero", "var_mean", "std_mean", "cumsum", "cumprod", "cummax", "cummin",
    "logcumsumexp", "sort", "argsort", "msort", "topk", "kthvalue", "median", "gather",
    "scatter", "scatter_add", "scatter_reduce", "index_select", "index_add", "masked_fill",
    "masked_select", "nonzero", "take", "take_along_dim",
    # normalization
    "layer_norm", "group_norm", "instance_norm",
    # pooling
    "max_pool1d", "max_pool2d", "avg_pool1d",
    # convolution
    "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d",
    # saving and loading
    "save", "load",
]
