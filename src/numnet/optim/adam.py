"""``Adam`` (Kingma & Ba, 2015) and ``AdamW`` (Loshchilov & Hutter, 2019), PyTorch's rules."""

from __future__ import annotations

import numpy

from numnet.optim.optimizer import Optimizer, _lerp_


class Adam(Optimizer):
    r"""Adam: steps scaled by running averages of the gradient and of its square.

    For each parameter ``p`` with gradient ``g``, at step ``t = 1, 2, ...``
    (``gamma`` lr, ``lambda`` weight decay)::

        g <- -g                                 if maximize
        p <- p * (1 - gamma * lambda)           if decoupled_weight_decay (AdamW)
        g <- g + lambda * p                     otherwise, if weight_decay != 0
        m <- beta1 * m + (1 - beta1) * g        first moment
        v <- beta2 * v + (1 - beta2) * g**2     second moment
        v_max <- max(v_max, v)                  if amsgrad (then v_max replaces v below)
        p <- p - gamma / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    Args:
        params: iterable of parameters, or of param-group dicts.
        lr: learning rate ``gamma`` (default 1e-3).
        betas: ``(beta1, beta2)``, decay rates of the two running averages
            (default (0.9, 0.999)).
        eps: added to the denominator for stability (default 1e-8).
        weight_decay: ``lambda`` (default 0): an L2 penalty added to the gradient, or with
            ``decoupled_weight_decay`` a decay of the weights themselves (AdamW).
        amsgrad: use the maximum of all second moments so far (Reddi et al., 2018).
        maximize: ascend the objective instead of descending it.
        decoupled_weight_decay: decay the weights directly, as AdamW does.

    State per parameter: ``step`` (int), ``exp_avg`` (m), ``exp_avg_sq`` (v) and, with
    amsgrad, ``max_exp_avg_sq``; arrays have the parameter's dtype.

    Example:
        >>> import numnet
        >>> from numnet.nn.parameter import Parameter
        >>> w = Parameter(numnet.tensor([1.0, 2.0]))
        >>> opt = Adam([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w  # the first Adam step moves every weight by about lr
        Parameter containing:
        tensor([0.9000, 1.9000], requires_grad=True)
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 maximize: bool = False, decoupled_weight_decay: bool = False) -> None:
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
        defaults = {"lr": lr, "betas": (float(betas[0]), float(betas[1])), "eps": eps,
                    "weight_decay": weight_decay, "amsgrad": amsgrad, "maximize": maximize,
                    "decoupled_weight_decay": decoupled_weight_decay}
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
            for param, grad, state in self._params_with_grad(group):
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = numpy.zeros_like(param)
                    state["exp_avg_sq"] = numpy.zeros_like(param)
                    if group["amsgrad"]:
                        state["max_exp_avg_sq"] = numpy.zeros_like(param)
                state["step"] += 1
                step = state["step"]
                bias_correction1 = 1 - beta1 ** step
                bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
                buffers = [state["exp_avg"], state["exp_avg_sq"]]
                if group["amsgrad"]:
                    buffers.append(state["max_exp_avg_sq"])
                self._in_pieces(_adam_update, param, grad, *buffers,
                                step_size=lr / bias_correction1,
                                bias_correction2_sqrt=bias_correction2_sqrt, **hyper)
        return loss


class AdamW(Adam):
    r"""AdamW: Adam with decoupled weight decay, ``p <- p * (1 - lr * weight_decay)`` each
    step, kept out of the running averages (Loshchilov & Hutter, 2019).

    Same arguments as ``Adam`` (without ``decoupled_weight_decay``, always on); the default
    ``weight_decay`` is 1e-2.

    Example:
        >>> import numnet
        >>> from numnet.nn.parameter import Parameter
        >>> w = Parameter(numnet.tensor([2.0]))
        >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
        >>> w.grad = numnet.zeros(1)
        >>> opt.step()  # a zero gradient: only the decay, 2 * (1 - 0.1 * 0.5)
        >>> w
        Parameter containing:
        tensor([1.9000], requires_grad=True)
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True


def _adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq=None, *, lr, beta1, beta2,
                 eps, weight_decay, decoupled, maximize, step_size,
                 bias_correction2_sqrt) -> None:
    """One Adam/AdamW step on (a piece of) one parameter, in place (formulas in ``Adam``)."""
    if maximize:
        grad = -grad
    if weight_decay != 0:
        if decoupled:
            param *= 1 - lr * weight_decay
        else:
            grad = grad + weight_decay * param
    _lerp_(exp_avg, grad, 1 - beta1)
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * grad * grad
    if max_exp_avg_sq is not None:
        numpy.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        denom = numpy.sqrt(max_exp_avg_sq)
    else:
        denom = numpy.sqrt(exp_avg_sq)
    denom /= bias_correction2_sqrt
    denom += eps
    change = step_size * exp_avg
    change /= denom
    param -= change
