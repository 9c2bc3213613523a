"""``RMSprop`` (Hinton, Coursera lecture 6e, 2012), PyTorch's rule."""

from __future__ import annotations

import numpy

from numnet.optim.optimizer import Optimizer, _lerp_


class RMSprop(Optimizer):
    r"""RMSprop: divide the gradient by a running root-mean-square of recent gradients.

    For each parameter ``p`` with gradient ``g`` (``gamma`` lr, ``lambda`` weight decay,
    ``mu`` momentum)::

        g <- -g                                     if maximize
        g <- g + lambda * p                         if weight_decay != 0
        v <- alpha * v + (1 - alpha) * g**2         running mean square
        avg <- sqrt(v) + eps
        gbar <- alpha * gbar + (1 - alpha) * g      if centered, and then
        avg <- sqrt(v - gbar**2) + eps              (a running variance; Graves, 2013)
        b <- mu * b + g / avg;  p <- p - gamma * b  if momentum > 0
        p <- p - gamma * g / avg                    otherwise

    Note ``eps`` is added outside the square root, as in PyTorch (TensorFlow adds it inside).

    Args:
        params: iterable of parameters, or of param-group dicts.
        lr: learning rate ``gamma`` (default 1e-2).
        alpha: smoothing constant of the running averages (default 0.99).
        eps: added to the denominator for stability (default 1e-8).
        weight_decay: L2 penalty ``lambda`` (default 0).
        momentum: momentum factor ``mu`` (default 0).
        centered: normalize by the running variance instead of the mean square.
        maximize: ascend the objective instead of descending it.

    State per parameter: ``step`` (int), ``square_avg`` (v), ``momentum_buffer`` (b, when
    momentum > 0), ``grad_avg`` (gbar, when centered).

    Example:
        >>> import numnet
        >>> from numnet.nn.parameter import Parameter
        >>> w = Parameter(numnet.tensor([3.0]))
        >>> opt = RMSprop([w], lr=0.01, alpha=0.75)
        >>> w.grad = numnet.tensor([2.0])
        >>> opt.step()  # v = 0.25 * 4 = 1, so p = 3 - 0.01 * 2 / (1 + 1e-8)
        >>> w
        Parameter containing:
        tensor([2.9800], requires_grad=True)
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, *,
                 maximize: bool = False) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps,
                    "centered": centered, "weight_decay": weight_decay, "maximize": maximize}
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
            momentum = float(group["momentum"])
            centered = group["centered"]
            hyper = {"lr": float(group["lr"]), "alpha": float(group["alpha"]),
                     "eps": float(group["eps"]), "weight_decay": float(group["weight_decay"]),
                     "momentum": momentum, "centered": centered,
                     "maximize": group["maximize"]}
            for param, grad, state in self._params_with_grad(group):
                if not state:
                    state["step"] = 0
                    state["square_avg"] = numpy.zeros_like(param)
                    if momentum > 0:
                        state["momentum_buffer"] = numpy.zeros_like(param)
                    if centered:
                        state["grad_avg"] = numpy.zeros_like(param)
                state["step"] += 1
                if momentum > 0 and state.get("momentum_buffer") is None:
                    # momentum was switched on after the first step (e.g. by OneCycleLR)
                    state["momentum_buffer"] = numpy.zeros_like(param)
                buffers = [state["square_avg"]]
                if centered:
                    buffers.append(state["grad_avg"])
                if momentum > 0:
                    buffers.append(state["momentum_buffer"])
                self._in_pieces(_rmsprop_update, param, grad, *buffers, **hyper)
        return loss


def _rmsprop_update(param, grad, square_avg, *buffers, lr, alpha, eps, weight_decay, momentum,
                    centered, maximize) -> None:
    """One RMSprop step on (a piece of) one parameter, in place (formulas in ``RMSprop``).

    ``buffers`` holds ``grad_avg`` when centered, then ``momentum_buffer`` when momentum > 0.
    """
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad + weight_decay * param
    square_avg *= alpha
    square_avg += (1 - alpha) * grad * grad
    if centered:
        grad_avg = buffers[0]
        _lerp_(grad_avg, grad, 1 - alpha)
        avg = square_avg - grad_avg * grad_avg
        numpy.sqrt(avg, out=avg)
    else:
        avg = numpy.sqrt(square_avg)
    avg += eps
    if momentum > 0:
        buf = buffers[-1]
        buf *= momentum
        buf += grad / avg
        param -= lr * buf
    else:
        change = -lr * grad
        change /= avg
        param += change
