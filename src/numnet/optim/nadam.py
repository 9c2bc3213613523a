"""``NAdam`` (Dozat, 2016) and ``RAdam`` (Liu et al., 2020), PyTorch's rules."""

from __future__ import annotations

import numpy

from numnet.optim.optimizer import Optimizer, _lerp_


def _check_adam_arguments(lr, betas, eps, weight_decay) -> None:
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


def _decay(param, grad, lr: float, weight_decay: float, decoupled: bool):
    """Weight decay, as in AdamW (``p *= 1 - lr * lambda``) or as an L2 term in ``g``."""
    if weight_decay != 0:
        if decoupled:
            param *= 1 - lr * weight_decay
        else:
            grad = grad + weight_decay * param
    return grad


class NAdam(Optimizer):
    r"""NAdam: Adam with Nesterov momentum, the momentum warmed up by ``momentum_decay``.

    For each parameter ``p`` with gradient ``g``, at step ``t = 1, 2, ...`` (``gamma`` lr,
    ``psi`` momentum_decay, ``lambda`` weight decay)::

        p <- p * (1 - gamma * lambda)        if decoupled_weight_decay, else
        g <- g + lambda * p                  (if weight_decay != 0)
        mu_t = beta1 * (1 - 0.96**(t * psi) / 2);  mu_{t+1} likewise
        m <- beta1 * m + (1 - beta1) * g;   v <- beta2 * v + (1 - beta2) * g**2
        d = sqrt(v / (1 - beta2**t)) + eps
        p <- p - gamma * (1 - mu_t) / (1 - prod_{i<=t} mu_i) * g / d
               - gamma * mu_{t+1} / (1 - prod_{i<=t+1} mu_i) * m / d

    Args:
        params: iterable of parameters, or of param-group dicts.
        lr: learning rate ``gamma`` (default 2e-3).
        betas: ``(beta1, beta2)`` (default (0.9, 0.999)).
        eps: added to the denominator (default 1e-8).
        weight_decay: ``lambda`` (default 0).
        momentum_decay: ``psi`` (default 4e-3).
        decoupled_weight_decay: decay the weights directly, as AdamW does (NAdamW).
        maximize: ascend the objective instead of descending it.

    State per parameter: ``step`` (int), ``mu_product`` (float), ``exp_avg`` (m),
    ``exp_avg_sq`` (v).

    Example:
        >>> import numnet
        >>> from numnet.nn.parameter import Parameter
        >>> w = Parameter(numnet.tensor([1.0]))
        >>> opt = NAdam([w], lr=0.1)
        >>> w.grad = numnet.tensor([3.0])
        >>> opt.step()  # about lr, and a little more: the Nesterov look-ahead
        >>> w
        Parameter containing:
        tensor([0.8944], requires_grad=True)
    """

    def __init__(self, params, lr: float = 2e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False) -> None:
        _check_adam_arguments(lr, betas, eps, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = {"lr": lr, "betas": (float(betas[0]), float(betas[1])), "eps": eps,
                    "weight_decay": weight_decay, "momentum_decay": momentum_decay,
                    "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize}
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
            lr = float(group["lr"])
            beta1, beta2 = (float(b) for b in group["betas"])
            psi = float(group["momentum_decay"])
            hyper = {"lr": lr, "beta1": beta1, "beta2": beta2, "eps": float(group["eps"]),
                     "weight_decay": float(group["weight_decay"]),
                     "decoupled": group["decoupled_weight_decay"],
                     "maximize": group["maximize"]}
            for param, grad, state in self._params_with_grad(group):
                if not state:
                    state["step"] = 0
                    state["mu_product"] = 1.0
                    state["exp_avg"] = numpy.zeros_like(param)
                    state["exp_avg_sq"] = numpy.zeros_like(param)
                state["step"] += 1
                t = state["step"]
                mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
                mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
                state["mu_product"] *= mu
                mu_product = state["mu_product"]
                self._in_pieces(_nadam_update, param, grad, state["exp_avg"],
                                state["exp_avg_sq"], bias_correction2=1 - beta2 ** t,
                                grad_scale=-lr * (1.0 - mu) / (1.0 - mu_product),
                                avg_scale=-lr * mu_next / (1.0 - mu_product * mu_next),
                                **hyper)
        return loss


def _nadam_update(param, grad, exp_avg, exp_avg_sq, *, lr, beta1, beta2, eps, weight_decay,
                  decoupled, maximize, bias_correction2, grad_scale, avg_scale) -> None:
    """One NAdam step on (a piece of) one parameter, in place (formulas in ``NAdam``)."""
    if maximize:
        grad = -grad
    grad = _decay(param, grad, lr, weight_decay, decoupled)
    _lerp_(exp_avg, grad, 1 - beta1)
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * grad * grad
    denom = exp_avg_sq / bias_correction2
    numpy.sqrt(denom, out=denom)
    denom += eps
    param += grad_scale * grad / denom
    param += avg_scale * exp_avg / denom


class RAdam(Optimizer):
    r"""RAdam: Adam with the variance of its adaptive step rectified; while too few steps
    make that variance unreliable (``rho_t <= 5``) it takes plain momentum steps.

    For each parameter ``p`` with gradient ``g``, at step ``t = 1, 2, ...``::

        p <- p * (1 - gamma * lambda)        if decoupled_weight_decay, else
        g <- g + lambda * p                  (if weight_decay != 0)
        m <- beta1 * m + (1 - beta1) * g;   v <- beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)
        rho_inf = 2 / (1 - beta2) - 1;   rho_t = rho_inf - 2 t beta2**t / (1 - beta2**t)
        if rho_t > 5:
            r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
            p <- p - gamma * m_hat * r_t * sqrt(1 - beta2**t) / (sqrt(v) + eps)
        else:
            p <- p - gamma * m_hat

    Args:
        params: iterable of parameters, or of param-group dicts.
        lr: learning rate ``gamma`` (default 1e-3).
        betas: ``(beta1, beta2)`` (default (0.9, 0.999)).
        eps: added to the denominator (default 1e-8).
        weight_decay: ``lambda`` (default 0).
        decoupled_weight_decay: decay the weights directly, as AdamW does.
        maximize: ascend the objective instead of descending it.

    State per parameter: ``step`` (int), ``exp_avg`` (m), ``exp_avg_sq`` (v).

    Example:
        >>> import numnet
        >>> from numnet.nn.parameter import Parameter
        >>> w = Parameter(numnet.tensor([1.0]))
        >>> opt = RAdam([w], lr=0.1)
        >>> w.grad = numnet.tensor([3.0])
        >>> opt.step()  # rho_1 = 1 <= 5: a momentum step, m_hat = g
        >>> w
        Parameter containing:
        tensor([0.7000], requires_grad=True)
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False) -> None:
        _check_adam_arguments(lr, betas, eps, weight_decay)
        defaults = {"lr": lr, "betas": (float(betas[0]), float(betas[1])), "eps": eps,
                    "weight_decay": weight_decay,
                    "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize}
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
            lr = float(group["lr"])
            beta1, beta2 = (float(b) for b in group["betas"])
            hyper = {"lr": lr, "beta1": beta1, "beta2": beta2, "eps": float(group["eps"]),
                     "weight_decay": float(group["weight_decay"]),
                     "decoupled": group["decoupled_weight_decay"],
                     "maximize": group["maximize"]}
            rho_inf = 2 / (1 - beta2) - 1
            for param, grad, state in self._params_with_grad(group):
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = numpy.zeros_like(param)
                    state["exp_avg_sq"] = numpy.zeros_like(param)
                state["step"] += 1
                t = state["step"]
                bias_correction2 = 1 - beta2 ** t
                rho_t = rho_inf - 2 * t * (beta2 ** t) / bias_correction2
                rect = None
                if rho_t > 5.0:
                    rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                            / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                self._in_pieces(_radam_update, param, grad, state["exp_avg"],
                                state["exp_avg_sq"], bias_correction1=1 - beta1 ** t,
                                bias_correction2=bias_correction2, rect=rect, **hyper)
        return loss


def _radam_update(param, grad, exp_avg, exp_avg_sq, *, lr, beta1, beta2, eps, weight_decay,
                  decoupled, maximize, bias_correction1, bias_correction2, rect) -> None:
    """One RAdam step on (a piece of) one parameter, in place (formulas in ``RAdam``)."""
    if maximize:
        grad = -grad
    grad = _decay(param, grad, lr, weight_decay, decoupled)
    _lerp_(exp_avg, grad, 1 - beta1)
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * grad * grad
    change = exp_avg / bias_correction1
    change *= lr
    if rect is not None:
        adaptive = numpy.sqrt(exp_avg_sq)
        adaptive += eps
        numpy.divide(bias_correction2 ** 0.5, adaptive, out=adaptive)
        change *= adaptive
        change *= rect
    param -= change
