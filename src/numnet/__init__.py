"""numnet: deep learning from first principles, in NumPy.

Define-by-run autograd with PyTorch's API: ``numnet.tensor``, ``numnet.nn``,
``numnet.optim``; every op proven against PyTorch and finite differences.
"""

import numpy

from numnet import accelerator, backend, cuda, data, devices, models, nn, optim, viz
from numnet.autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from numnet.backend import get_default_dtype, get_num_threads, set_default_dtype, set_num_threads
from numnet.creation import (
    arange,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from numnet.devices import device
from numnet.gradcheck import gradcheck
from numnet.ops import tensor_methods  # noqa: F401 - imported for its effect: Tensor's operators
from numnet.ops.activation import sigmoid, softmax, tanh
from numnet.ops.arithmetic import matmul
from numnet.ops.elementwise import abs, clamp, clip, exp, log, maximum, minimum, sqrt, where
from numnet.ops.reduction import amax, amin, argmax, argmin, max, mean, min, std, sum, var
from numnet.ops.shape import cat, flatten, permute, reshape, squeeze, stack, transpose, unsqueeze
from numnet.random import Generator, get_rng_state, manual_seed, set_rng_state
from numnet.serialization import load, save
from numnet.tensor import Tensor

float32 = numpy.dtype("float32")
float64 = numpy.dtype("float64")
int64 = numpy.dtype("int64")

__version__ = "0.1.0"

__all__ = [
    # subpackages and modules
    "accelerator", "backend", "cuda", "data", "devices", "models", "nn", "optim", "viz",
    # devices
    "device",
    # tensors and their creation
    "Tensor", "tensor", "from_numpy", "zeros", "ones", "full", "zeros_like", "ones_like",
    "full_like", "arange", "linspace", "eye", "rand", "randn", "randint", "randperm",
    "float32", "float64", "int64",
    # autograd
    "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "gradcheck",
    # settings
    "get_default_dtype", "set_default_dtype", "get_num_threads", "set_num_threads",
    # random numbers
    "Generator", "manual_seed", "get_rng_state", "set_rng_state",
    # ops (also ``numnet.nn.functional.<name>`` and Tensor methods)
    "matmul", "abs", "clamp", "clip", "exp", "log", "sqrt", "maximum", "minimum", "where",
    "sum", "mean", "var", "std", "max", "min", "amax", "amin", "argmax", "argmin",
    "reshape", "flatten", "squeeze", "unsqueeze", "permute", "transpose", "cat", "stack",
    "sigmoid", "softmax", "tanh",
    # saving and loading
    "save", "load",
]
