"""Neural-network building blocks: ``numnet.nn.functional`` (as ``F``), modules, init."""

from numnet.nn import functional  # noqa: F401
from numnet.nn import init  # noqa: F401
from numnet.nn.activations import (LeakyReLU, LogSoftmax, ReLU, Sigmoid,  # noqa: F401
                                   Softmax, Tanh)
from numnet.nn.containers import ModuleDict, ModuleList, Sequential  # noqa: F401
from numnet.nn.layers import (AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d,  # noqa: F401
                              Dropout, Flatten, Identity, Linear, MaxPool2d)
from numnet.nn.module import Module  # noqa: F401
from numnet.nn.parameter import Parameter  # noqa: F401
from numnet.nn.recurrent import RNN  # noqa: F401
from numnet.nn import utils  # noqa: F401
