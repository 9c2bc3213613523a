"""``SGD``: stochastic gradient descent, with momentum, dampening, Nesterov and weight decay.

The lecture's rule ``w <- w - eta * dE/dw`` is ``SGD(params, lr=eta)``.
"""

from __future__ import annotations

import numpy

from numnet.optim.optimizer import Optimizer


class SGD(Optimizer):
    r"""Stochastic gradient descent (optionally with momentum), PyTorch's update rule.

    For each parameter ``p`` with gradient ``g`` (``mu`` momentum, ``tau`` dampening,
    ``lambda`` weight decay, ``gamma`` lr)::

        g <- -g                             if maximize
        g <- g + lambda * p                 if weight_decay != 0
        b <- g                              at the first step (if momentum != 0)
        b <- mu * b + (1 - tau) * g         after it
        g <- g + mu * b  (Nesterov)  or  g <- b
        p <- p - gamma * g

    Note the momentum form (Sutskever et al., 2013) is PyTorch's: the learning rate scales the
    whole buffer, ``v = mu v + g; p -= lr v``, not ``v = mu v + lr g; p -= v``.

    Args:
        params: iterable of parameters, or of param-group dicts.
        lr: learning rate ``gamma`` (default 1e-3).
        momentum: momentum factor ``mu`` (default 0).
        dampening: dampening ``tau`` of the momentum (default 0).
        weight_decay: L2 penalty ``lambda`` (default 0).
        nesterov: Nesterov momentum (needs momentum > 0 and dampening 0).
        maximize: ascend the objective instead of descending it.

    Example:
        >>> import numnet
        >>> from numnet.nn.parameter import Parameter
        >>> w = Parameter(numnet.tensor([1.0, 2.0]))
        >>> opt = SGD([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w
        Parameter containing:
        tensor([0.8000, 1.6000], requires_grad=True)
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize}
        super().__init__(params, defaults)

    def step(self, closure=None):
        """Perform one update of every parameter that has a gradient (see the class doc).

        Args:
            closure: optional callable that re-evaluates the model and returns the loss.

        Returns:
            The closure's loss, or None.
        """
        loss = self._evaluate(closure)
        for group in self.param_groups:
            hyper = {"lr": float(group["lr"]), "momentum": float(group["momentum"]),
                     "dampening": float(group["dampening"]),
                     "weight_decay": float(group["weight_decay"]),
                     "nesterov": group["nesterov"], "maximize": group["maximize"]}
            for param, grad, state in self._params_with_grad(group):
                buf = state.get("momentum_buffer") if hyper["momentum"] != 0 else None
                first = hyper["momentum"] != 0 and buf is None
                if first:
                    buf = state["momentum_buffer"] = numpy.empty(param.shape, param.dtype)
                buffers = () if buf is None else (buf,)
                self._in_pieces(_sgd_update, param, grad, *buffers, first=first, **hyper)
        return loss


def _sgd_update(param, grad, buf=None, *, first, lr, momentum, dampening, weight_decay,
                nesterov, maximize) -> None:
    """One SGD step on (a piece of) one parameter, in place (formulas in ``SGD``)."""
    d_p = -grad if maximize else grad
    if weight_decay != 0:
        d_p = d_p + weight_decay * param
    if momentum != 0:
        if first:
            buf[...] = d_p
        else:
            buf *= momentum
            buf += d_p if dampening == 0 else (1 - dampening) * d_p
        d_p = d_p + momentum * buf if nesterov else buf
    param -= lr * d_p
