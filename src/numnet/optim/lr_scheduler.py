"""Learning-rate schedules: ``StepLR MultiStepLR ExponentialLR CosineAnnealingLR OneCycleLR``.

A scheduler rewrites ``group["lr"]`` of its optimizer's param groups each time ``step()`` is
called (once per epoch, or per batch for ``OneCycleLR``), after ``optimizer.step()``.
Constructing one sets the initial learning rate (``last_epoch = 0``). Values equal PyTorch's
bit for bit: the chainable schedules multiply the current lr exactly as PyTorch does.

Example:
    >>> import numnet
    >>> from numnet.nn.parameter import Parameter
    >>> w = Parameter(numnet.zeros(1))
    >>> opt = numnet.optim.SGD([w], lr=1.0)
    >>> sched = StepLR(opt, step_size=2, gamma=0.5)
    >>> lrs = []
    >>> for epoch in range(5):
    ...     opt.step()
    ...     sched.step()
    ...     lrs.append(sched.get_last_lr()[0])
    >>> lrs
    [1.0, 0.5, 0.5, 0.25, 0.25]
"""

from __future__ import annotations

import copy
import math
import warnings
from bisect import bisect_right
from collections import Counter

from numnet.optim.optimizer import Optimizer

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
           "OneCycleLR"]


def _per_group(name: str, optimizer: Optimizer, value) -> list:
    """``value`` repeated for every param group, or a list already holding one per group."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(f"{name} must have the same length as optimizer.param_groups. "
                             f"{name} has {len(value)} values, param_groups has "
                             f"{len(optimizer.param_groups)}.")
        return list(value)
    return [value] * len(optimizer.param_groups)


class LRScheduler:
    """Base class: keeps ``last_epoch`` and ``base_lrs``; subclasses implement ``get_lr``.

    Args:
        optimizer: the optimizer whose ``group["lr"]`` values this scheduler sets.
        last_epoch: index of the last epoch seen; -1 (default) starts a new schedule. Any
            other value resumes one and needs ``group["initial_lr"]`` in every group.

    Attributes:
        base_lrs: the learning rates the schedule starts from (``group["initial_lr"]``).
        last_epoch: how many times ``step`` has been called (counting the one made by the
            constructor as 0).
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] "
                                   "when resuming scheduler with last_epoch >= 0: load the "
                                   "optimizer's state_dict first")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self._is_initial = True
        self.step()
        self._is_initial = False

    def get_lr(self) -> list:
        """The learning rates for ``last_epoch`` (called by ``step``; use ``get_last_lr``)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement get_lr()")

    def get_last_lr(self) -> list:
        """The learning rates the last ``step`` set, one per param group."""
        return list(self._last_lr)

    def step(self, epoch: int | None = None) -> None:
        """Advance the schedule one epoch and write the new ``group["lr"]`` values.

        Args:
            epoch: deprecated (as in PyTorch): jump to this epoch, using the closed form of
                the schedule where it has one.
        """
        self._step_count += 1
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            warnings.warn("The epoch parameter in `scheduler.step()` is deprecated; the "
                          "closed form is used instead of the chainable form, where "
                          "available", UserWarning, stacklevel=2)
            self.last_epoch = epoch
            if hasattr(self, "_get_closed_form_lr"):
                values = self._get_closed_form_lr()
            else:
                values = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _current_lrs(self) -> list:
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        """A copy of everything but the optimizer, as JSON-serialisable values."""
        return {key: copy.deepcopy(value) for key, value in self.__dict__.items()
                if key != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what ``state_dict`` returned (possibly after a JSON round trip)."""
        self.__dict__.update(copy.deepcopy(dict(state_dict)))


class StepLR(LRScheduler):
    """Multiply the lr by ``gamma`` every ``step_size`` epochs.

    ``lr_epoch = base_lr * gamma ** (epoch // step_size)``

    Args:
        optimizer: the optimizer to schedule.
        step_size: period of the decay, in epochs.
        gamma: multiplicative factor (default 0.1).
        last_epoch: -1 to start (see ``LRScheduler``).
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list:
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size)
                for base_lr in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the lr by ``gamma`` at each milestone epoch.

    ``lr_epoch = base_lr * gamma ** (number of milestones <= epoch)``; a milestone listed
    twice counts twice.

    Args:
        optimizer: the optimizer to schedule.
        milestones: epoch indices, increasing.
        gamma: multiplicative factor (default 0.1).
        last_epoch: -1 to start (see ``LRScheduler``).
    """

    def __init__(self, optimizer: Optimizer, milestones, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.milestones = Counter(int(m) for m in milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        if self.last_epoch not in self.milestones:
            return self._current_lrs()
        factor = self.gamma ** self.milestones[self.last_epoch]
        return [lr * factor for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list:
        milestones = sorted(self.milestones.elements())
        return [base_lr * self.gamma ** bisect_right(milestones, self.last_epoch)
                for base_lr in self.base_lrs]

    def state_dict(self) -> dict:
        """As the base class, with the milestones as a sorted list (JSON keys are strings)."""
        state = super().state_dict()
        state["milestones"] = sorted(self.milestones.elements())
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state = dict(state_dict)
        milestones = state.pop("milestones")
        if isinstance(milestones, dict):
            milestones = Counter({int(k): int(v) for k, v in milestones.items()}).elements()
        super().load_state_dict(state)
        self.milestones = Counter(int(m) for m in milestones)


class ExponentialLR(LRScheduler):
    """Multiply the lr by ``gamma`` every epoch: ``lr_epoch = base_lr * gamma ** epoch``.

    Args:
        optimizer: the optimizer to schedule.
        gamma: multiplicative factor.
        last_epoch: -1 to start (see ``LRScheduler``).
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        if self._is_initial:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list:
        return [base_lr * self.gamma ** self.last_epoch for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    r"""Anneal the lr from its initial value to ``eta_min`` along half a cosine over
    ``T_max`` epochs (SGDR, Loshchilov & Hutter, 2017, without restarts).

    Closed form: ``lr_t = eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2``.
    Computed, as PyTorch does, by the recursion

        ``lr_t = eta_min + (lr_{t-1} - eta_min) * (1 + cos(pi t / T_max))
        / (1 + cos(pi (t - 1) / T_max))``,

    which also follows changes made to the lr from outside. Past ``T_max`` the lr climbs
    back along the cosine (period ``2 T_max``).

    Args:
        optimizer: the optimizer to schedule.
        T_max: number of epochs of the half cosine.
        eta_min: the minimum lr (default 0).
        last_epoch: -1 to start (see ``LRScheduler``).
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        t = self.last_epoch
        if self._is_initial:
            return self._current_lrs()
        if (t - 1 - self.T_max) % (2 * self.T_max) == 0:
            # at the bottom the ratio below is 0/0: step back up by the closed-form increment
            return [lr + (base_lr - self.eta_min) * (1 - math.cos(math.pi / self.T_max)) / 2
                    for base_lr, lr in zip(self.base_lrs, self._current_lrs())]
        return [(1 + math.cos(math.pi * t / self.T_max))
                / (1 + math.cos(math.pi * (t - 1) / self.T_max))
                * (lr - self.eta_min) + self.eta_min
                for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list:
        return [self.eta_min + (base_lr - self.eta_min)
                * (1 + math.cos(self.last_epoch * math.pi / self.T_max)) / 2
                for base_lr in self.base_lrs]


class OneCycleLR(LRScheduler):
    r"""The 1cycle policy (Smith & Topin, 2018): warm the lr up from ``max_lr / div_factor``
    to ``max_lr``, then anneal it to ``initial_lr / final_div_factor``; step it every batch.

    Phases (``T = total_steps``, ``p = pct_start``), each annealed by ``anneal_strategy``:

    - two phases: steps ``0 .. pT - 1`` initial -> max, then ``.. T - 1`` max -> min;
    - ``three_phase``: ``0 .. pT - 1`` initial -> max, ``.. 2pT - 2`` max -> initial, then
      ``.. T - 1`` initial -> min.

    ``cos``: ``end + (start - end) / 2 * (1 + cos(pi * pct))``; ``linear``:
    ``start + (end - start) * pct``, with ``pct`` the fraction of the phase done.
    With ``cycle_momentum``, the momentum (SGD, RMSprop) or ``beta1`` (Adam) moves the
    opposite way, between ``max_momentum`` and ``base_momentum``.

    Args:
        optimizer: the optimizer to schedule.
        max_lr: peak learning rate (one per group, or one for all).
        total_steps: number of steps in the cycle; or give ``epochs`` and
            ``steps_per_epoch`` and it is their product.
        epochs, steps_per_epoch: see ``total_steps``.
        pct_start: fraction of the cycle spent increasing the lr (default 0.3).
        anneal_strategy: ``"cos"`` (default) or ``"linear"``.
        cycle_momentum: cycle the momentum inversely to the lr (default True).
        base_momentum, max_momentum: momentum bounds (default 0.85 and 0.95).
        div_factor: ``initial_lr = max_lr / div_factor`` (default 25).
        final_div_factor: ``min_lr = initial_lr / final_div_factor`` (default 1e4).
        three_phase: use the three-phase schedule (fast.ai's original) instead of two.
        last_epoch: -1 to start (see ``LRScheduler``).

    Example:
        >>> import numnet
        >>> from numnet.nn.parameter import Parameter
        >>> w = Parameter(numnet.zeros(1))
        >>> opt = numnet.optim.SGD([w], lr=0.1, momentum=0.9)
        >>> sched = OneCycleLR(opt, max_lr=1.0, total_steps=10, anneal_strategy="linear")
        >>> round(opt.param_groups[0]["lr"], 6), opt.param_groups[0]["momentum"]
        (0.04, 0.95)
        >>> for _ in range(2):
        ...     opt.step()
        ...     sched.step()
        >>> round(opt.param_groups[0]["lr"], 6), round(opt.param_groups[0]["momentum"], 6)
        (1.0, 0.85)
    """

    def __init__(self, optimizer: Optimizer, max_lr, total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None,
                 pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool = True, base_momentum=0.85, max_momentum=0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4,
                 three_phase: bool = False, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        if total_steps is not None:
            if not isinstance(total_steps, int) or total_steps <= 0:
                raise ValueError(f"Expected positive integer total_steps, but got {total_steps}")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            if not isinstance(epochs, int) or epochs <= 0:
                raise ValueError(f"Expected positive integer epochs, but got {epochs}")
            if not isinstance(steps_per_epoch, int) or steps_per_epoch <= 0:
                raise ValueError("Expected positive integer steps_per_epoch, but got "
                                 f"{steps_per_epoch}")
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("You must define either total_steps OR (epochs AND "
                             "steps_per_epoch)")
        if three_phase:
            self._schedule_phases = [
                self._phase(float(pct_start * self.total_steps) - 1, "initial_lr", "max_lr",
                            "max_momentum", "base_momentum"),
                self._phase(float(2 * pct_start * self.total_steps) - 2, "max_lr",
                            "initial_lr", "base_momentum", "max_momentum"),
                self._phase(self.total_steps - 1, "initial_lr", "min_lr", "max_momentum",
                            "max_momentum"),
            ]
        else:
            self._schedule_phases = [
                self._phase(float(pct_start * self.total_steps) - 1, "initial_lr", "max_lr",
                            "max_momentum", "base_momentum"),
                self._phase(self.total_steps - 1, "max_lr", "min_lr", "base_momentum",
                            "max_momentum"),
            ]
        if not isinstance(pct_start, float) or pct_start < 0 or pct_start > 1:
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError("anneal_strategy must be one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy}")
        self._anneal_func_type = anneal_strategy

        max_lrs = _per_group("max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for group, group_max_lr in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = group_max_lr / div_factor
                group["max_lr"] = group_max_lr
                group["min_lr"] = group["initial_lr"] / final_div_factor

        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError("optimizer must support momentum or beta1 with "
                                 "`cycle_momentum` option enabled")
            self.use_beta1 = "betas" in optimizer.defaults
            max_momentums = _per_group("max_momentum", optimizer, max_momentum)
            base_momentums = _per_group("base_momentum", optimizer, base_momentum)
            if last_epoch == -1:
                for group, m_max, m_base in zip(optimizer.param_groups, max_momentums,
                                                base_momentums):
                    self._set_momentum(group, m_max)
                    group["max_momentum"] = m_max
                    group["base_momentum"] = m_base
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _phase(end_step, start_lr, end_lr, start_momentum, end_momentum) -> dict:
        return {"end_step": end_step, "start_lr": start_lr, "end_lr": end_lr,
                "start_momentum": start_momentum, "end_momentum": end_momentum}

    def _set_momentum(self, group: dict, momentum: float) -> None:
        if self.use_beta1:
            group["betas"] = (momentum, *group["betas"][1:])
        else:
            group["momentum"] = momentum

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self._anneal_func_type == "cos":
            cos_out = math.cos(math.pi * pct) + 1
            return end + (start - end) / 2.0 * cos_out
        return (end - start) * pct + start

    def get_lr(self) -> list:
        step_num = self.last_epoch
        if step_num > self.total_steps:
            raise ValueError(f"Tried to step {step_num} times. The specified number of total "
                             f"steps is {self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end_step = phase["end_step"]
                if step_num <= end_step or i == len(self._schedule_phases) - 1:
                    pct = (step_num - start_step) / (end_step - start_step)
                    lrs.append(self._anneal(group[phase["start_lr"]], group[phase["end_lr"]],
                                            pct))
                    if self.cycle_momentum:
                        momentum = self._anneal(group[phase["start_momentum"]],
                                                group[phase["end_momentum"]], pct)
                        self._set_momentum(group, momentum)
                    break
                start_step = phase["end_step"]
        return lrs
