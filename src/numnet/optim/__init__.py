"""Optimizers and learning-rate schedules, with PyTorch's update rules and API.

``SGD Adam AdamW RMSprop Adagrad Adadelta NAdam RAdam`` update parameters in place from
their ``.grad``; ``numnet.optim.lr_scheduler`` changes their learning rates over training.

Example:
    >>> import numnet
    >>> from numnet.nn.parameter import Parameter
    >>> w = Parameter(numnet.tensor([1.0, 2.0]))
    >>> opt = numnet.optim.SGD([w], lr=0.5)
    >>> loss = (w * w).sum() / 2  # dloss/dw = w, so one step halves w
    >>> opt.zero_grad()
    >>> loss.backward()
    >>> opt.step()
    >>> w
    Parameter containing:
    tensor([0.5000, 1.0000], requires_grad=True)
"""

from numnet.optim import lr_scheduler
from numnet.optim.adagrad import Adadelta, Adagrad
from numnet.optim.adam import Adam, AdamW
from numnet.optim.nadam import NAdam, RAdam
from numnet.optim.optimizer import Optimizer
from numnet.optim.rmsprop import RMSprop
from numnet.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "NAdam",
           "RAdam", "lr_scheduler"]
