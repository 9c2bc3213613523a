"""numnet: deep learning from first principles, in NumPy.

Define-by-run autograd with PyTorch's API: ``numnet.tensor``, ``numnet.nn``,
``numnet.optim``; every op proven against PyTorch and finite differences.
"""

import numpy

from numnet import backend
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
from numnet.random import Generator, get_rng_state, manual_seed, set_rng_state
from numnet.tensor import Tensor, _install_methods

_install_methods()

from numnet import (
                            data,  # noqa: E402
                            models,  # noqa: E402
                            nn,  # noqa: E402
                            optim,  # noqa: E402
                            viz,  # noqa: E402
)
from numnet.serialization import load, save  # noqa: E402
from numnet.gradcheck import gradcheck  # noqa: E402
from numnet.nn.functional import (  # noqa: E402,A004
                            abs,
                            argmax,
                            argmin,
                            cat,
                            clamp,
                            clip,
                            exp,
                            flatten,
                            log,
                            matmul,
                            max,
                            maximum,
                            mean,
                            min,
                            minimum,
                            permute,
                            reshape,
                            sigmoid,
                            softmax,
                            sqrt,
                            squeeze,
                            stack,
                            std,
                            sum,
                            tanh,
                            transpose,
                            unsqueeze,
                            var,
                            where,
)

float32 = numpy.dtype("float32")
float64 = numpy.dtype("float64")
int64 = numpy.dtype("int64")

__version__ = "0.1.0"
