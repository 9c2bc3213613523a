"""Neural-network building blocks: ``numnet.nn.functional`` (as ``F``), modules, init."""

from numnet.nn import (
                                   functional,  # noqa: F401
                                   init,  # noqa: F401
                                   utils,  # noqa: F401
)
from numnet.nn.activations import LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh  # noqa: F401

# normalization and attention (issue 14)
from numnet.nn.attention import (  # noqa: F401
                                   GELU,
                                   MultiheadAttention,
                                   TransformerEncoder,
                                   TransformerEncoderLayer,
)
from numnet.nn.containers import ModuleDict, ModuleList, Sequential  # noqa: F401
from numnet.nn.layers import (  # noqa: F401
                                   AvgPool2d,
                                   BatchNorm1d,
                                   BatchNorm2d,
                                   Conv2d,
                                   Dropout,
                                   Flatten,
                                   Identity,
                                   Linear,
                                   MaxPool2d,
)
from numnet.nn.loss import (  # noqa: F401
                                   BCELoss,
                                   BCEWithLogitsLoss,
                                   CrossEntropyLoss,
                                   HuberLoss,
                                   KLDivLoss,
                                   L1Loss,
                                   MSELoss,
                                   NLLLoss,
                                   SmoothL1Loss,
)
from numnet.nn.module import Module  # noqa: F401
from numnet.nn.normalization import (  # noqa: F401
                                   GroupNorm,
                                   InstanceNorm1d,
                                   InstanceNorm2d,
                                   LayerNorm,
                                   LocalResponseNorm,
)
from numnet.nn.parameter import Parameter  # noqa: F401
from numnet.nn.recurrent import RNN  # noqa: F401
