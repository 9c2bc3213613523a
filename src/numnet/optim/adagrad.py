"""``Adagrad`` (Duchi, Hazan & Singer, 2011) and ``Adadelta`` (Zeiler, 2012), PyTorch's
rules."""

from __future__ import annotations

import numpy

from numnet.optim.optimizer import Optimizer


class Adagrad(Optimizer):
    r"""Adagrad: each weight's step shrinks with the sum of its squared gradients so far.

    For each parameter ``p`` with gradient ``g``, at step ``t = 1, 2, ...`` (``gamma`` lr,
    ``eta`` lr_decay, ``lambda`` weight decay)::

        g <- -g                                 if maximize
        g <- g + lambda * p                     if weight_decay != 0
        gamma_t = gamma / (1 + (t - 1) * eta)
        s <- s + g**2                           (s starts at initial_accumulator_value)
        p <- p - gamma_t * g / (sqrt(s) + eps)

    Args:
        params: iterable of parameters, or of param-group dicts.
        lr: learning rate ``gamma`` (default 1e-2).
        lr_decay: ``eta`` (default 0).
        weight_decay: L2 penalty ``lambda`` (default 0).
        initial_accumulator_value: the starting value of ``s`` (default 0).
        eps: added to the denominator for stability (default 1e-10).
        maximize: ascend the objective instead of descending it.

    State per parameter (made at construction, as in PyTorch): ``step`` (int) and ``sum``
    (``s``, the parameter's dtype).

    Example:
        >>> import numnet
        >>> from numnet.nn.parameter import Parameter
        >>> w = Parameter(numnet.tensor([1.0]))
        >>> opt = Adagrad([w], lr=0.5)
        >>> w.grad = numnet.tensor([2.0])
        >>> opt.step()  # s = 4, so p = 1 - 0.5 * 2 / 2
        >>> w
        Parameter containing:
        tensor([0.5000], requires_grad=True)
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, *,
                 maximize: bool = False) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError("Invalid initial_accumulator_value value: "
                             f"{initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value,
                    "maximize": maximize}
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(self.state[p], p.data, group)

    @staticmethod
    def _init_state(state: dict, param: numpy.ndarray, group: dict) -> None:
        state["step"] = 0
        state["sum"] = numpy.full_like(param, group["initial_accumulator_value"])

    def step(self, closure=None):
        """Perform one update of every parameter that has a gradient (see the class doc).

        Args:
            closure: optional callable that re-evaluates the model and returns the loss.

        Returns:
            The closure's loss, or None.
        """
        loss = self._evaluate(closure)
        for group in self.param_groups:
            hyper = {"eps": float(group["eps"]), "weight_decay": float(group["weight_decay"]),
                     "maximize": group["maximize"]}
            for param, grad, state in self._params_with_grad(group):
                if not state:  # a param group added after construction
                    self._init_state(state, param, group)
                state["step"] += 1
                clr = float(group["lr"]) / (1 + (state["step"] - 1) * float(group["lr_decay"]))
                self._in_pieces(_adagrad_update, param, grad, state["sum"], clr=clr, **hyper)
        return loss


def _adagrad_update(param, grad, state_sum, *, clr, eps, weight_decay, maximize) -> None:
    """One Adagrad step on (a piece of) one parameter, in place (formulas in ``Adagrad``)."""
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad + weight_decay * param
    state_sum += grad * grad
    std = numpy.sqrt(state_sum)
    std += eps
    change = grad / std
    change *= -clr
    param += change


class Adadelta(Optimizer):
    r"""Adadelta: steps scaled by the ratio of running RMS of past updates to running RMS
    of gradients, so the units of the update match the parameter's.

    For each parameter ``p`` with gradient ``g`` (``gamma`` lr, ``lambda`` weight decay)::

        g <- -g                                          if maximize
        g <- g + lambda * p                              if weight_decay != 0
        v <- rho * v + (1 - rho) * g**2                  running mean square of gradients
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u <- rho * u + (1 - rho) * delta**2              running mean square of updates
        p <- p - gamma * delta

    Args:
        params: iterable of parameters, or of param-group dicts.
        lr: scales ``delta`` (default 1.0, Zeiler's rule has none).
        rho: decay of the running averages (default 0.9).
        eps: added inside the square roots (default 1e-6).
        weight_decay: L2 penalty ``lambda`` (default 0).
        maximize: ascend the objective instead of descending it.

    State per parameter: ``step`` (int), ``square_avg`` (v), ``acc_delta`` (u).

    Example:
        >>> import numnet
        >>> from numnet.nn.parameter import Parameter
        >>> w = Parameter(numnet.tensor([1.0]))
        >>> opt = Adadelta([w], lr=1.0, rho=0.0, eps=1e-6)
        >>> w.grad = numnet.tensor([1.0])
        >>> opt.step()  # delta = sqrt(1e-6) / sqrt(1 + 1e-6) * 1, about 0.001
        >>> w
        Parameter containing:
        tensor([0.9990], requires_grad=True)
    """

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, *, maximize: bool = False) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
                    "maximize": maximize}
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
            hyper = {"lr": float(group["lr"]), "rho": float(group["rho"]),
                     "eps": float(group["eps"]), "weight_decay": float(group["weight_decay"]),
                     "maximize": group["maximize"]}
            for param, grad, state in self._params_with_grad(group):
                if not state:
                    state["step"] = 0
                    state["square_avg"] = numpy.zeros_like(param)
                    state["acc_delta"] = numpy.zeros_like(param)
                state["step"] += 1
                self._in_pieces(_adadelta_update, param, grad, state["square_avg"],
                                state["acc_delta"], **hyper)
        return loss


def _adadelta_update(param, grad, square_avg, acc_delta, *, lr, rho, eps, weight_decay,
                     maximize) -> None:
    """One Adadelta step on (a piece of) one parameter, in place (formulas in ``Adadelta``)."""
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad + weight_decay * param
    square_avg *= rho
    square_avg += (1 - rho) * grad * grad
    std = square_avg + eps
    numpy.sqrt(std, out=std)
    delta = acc_delta + eps
    numpy.sqrt(delta, out=delta)
    delta /= std
    delta *= grad
    acc_delta *= rho
    acc_delta += (1 - rho) * delta * delta
    delta *= -lr
    param += delta
