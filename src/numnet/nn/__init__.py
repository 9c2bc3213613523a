"""Neural-network building blocks: ``numnet.nn.functional`` (as ``F``), modules, init."""

from numnet.nn import (
                                   functional,  # noqa: F401
                                   init,  # noqa: F401
                                   parallel,  # noqa: F401
                                   utils,  # noqa: F401
)

# activations, dropout variants, containers
from numnet.nn.activations import (  # noqa: F401
                                   CELU,
                                   ELU,
                                   GELU,
                                   GLU,
                                   SELU,
                                   Hardshrink,
                                   Hardsigmoid,
                                   Hardswish,
                                   Hardtanh,
                                   LeakyReLU,
                                   LogSigmoid,
                                   LogSoftmax,
                                   Mish,
                                   PReLU,
                                   ReLU,
                                   ReLU6,
                                   RReLU,
                                   Sigmoid,
                                   SiLU,
                                   Softmax,
                                   Softmax2d,
                                   Softmin,
                                   Softplus,
                                   Softshrink,
                                   Softsign,
                                   Tanh,
                                   Tanhshrink,
                                   Threshold,
)

# normalization and attention
from numnet.nn.attention import (  # noqa: F401
                                   MultiheadAttention,
                                   TransformerEncoder,
                                   TransformerEncoderLayer,
)
from numnet.nn.containers import (  # noqa: F401
                                   ModuleDict,
                                   ModuleList,
                                   ParameterDict,
                                   ParameterList,
                                   Sequential,
                                   Unflatten,
)

# transposed convolution and upsampling
from numnet.nn.conv_transpose import ConvTranspose1d, ConvTranspose2d  # noqa: F401
from numnet.nn.dropout import (  # noqa: F401
                                   AlphaDropout,
                                   Dropout,
                                   Dropout1d,
                                   Dropout2d,
                                   Dropout3d,
                                   FeatureAlphaDropout,
)
from numnet.nn.layers import (  # noqa: F401
                                   AvgPool2d,
                                   BatchNorm1d,
                                   BatchNorm2d,
                                   Conv1d,
                                   Conv2d,
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
from numnet.nn.padding import (  # noqa: F401
                                   CircularPad1d,
                                   CircularPad2d,
                                   CircularPad3d,
                                   ConstantPad1d,
                                   ConstantPad2d,
                                   ConstantPad3d,
                                   ReflectionPad1d,
                                   ReflectionPad2d,
                                   ReflectionPad3d,
                                   ReplicationPad1d,
                                   ReplicationPad2d,
                                   ReplicationPad3d,
                                   ZeroPad1d,
                                   ZeroPad2d,
                                   ZeroPad3d,
)
from numnet.nn.parameter import Parameter  # noqa: F401
from numnet.nn.pooling import (  # noqa: F401
                                   AdaptiveAvgPool1d,
                                   AdaptiveAvgPool2d,
                                   AdaptiveMaxPool1d,
                                   AdaptiveMaxPool2d,
                                   AvgPool1d,
                                   MaxPool1d,
                                   MaxUnpool1d,
                                   MaxUnpool2d,
)
from numnet.nn.recurrent import GRU, LSTM, RNN, RNNBase  # noqa: F401
from numnet.nn.rnn_cells import GRUCell, LSTMCell, RNNCell, RNNCellBase  # noqa: F401
from numnet.nn.sparse import Embedding  # noqa: F401
from numnet.nn.sync_batchnorm import SyncBatchNorm  # noqa: F401
from numnet.nn.upsampling import (  # noqa: F401
                                   Upsample,
                                   UpsamplingBilinear2d,
                                   UpsamplingNearest2d,
)
