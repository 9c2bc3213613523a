"""``Optimizer``: the base class of every optimizer — param groups, per-parameter state,
``zero_grad`` and a checkpointable ``state_dict``.

An optimizer holds ``param_groups``, a list of dicts each with a ``"params"`` list and its own
hyperparameters (anything missing is filled from ``defaults``), and ``state``, a dict from a
parameter to that parameter's running buffers (``{"momentum_buffer": array}``, ...).
``step()`` reads the hyperparameters from the groups every time, so a learning-rate scheduler
can change ``group["lr"]`` between steps.

``state_dict()`` names parameters by their index (counted across the groups in order), never
by ``id()``, so a checkpoint written by one process loads in another. Its arrays are NumPy
arrays (for an ``.npz``) and everything else is ``int``/``float``/``bool``/``str``/``None``/
lists (for JSON).

Example:
    >>> import numnet
    >>> from numnet.nn.parameter import Parameter
    >>> w = Parameter(numnet.ones(2))
    >>> opt = numnet.optim.SGD([w], lr=0.5, momentum=0.9)
    >>> w.grad = numnet.tensor([1.0, -2.0])
    >>> opt.step()
    >>> w
    Parameter containing:
    tensor([0.5000, 2.0000], requires_grad=True)
    >>> opt.state_dict()["state"][0]["momentum_buffer"]
    array([ 1., -2.], dtype=float32)
"""

from __future__ import annotations

import copy
import warnings
from collections import defaultdict

import numpy

from numnet import autograd, backend
from numnet.tensor import Tensor


class _RequiredParameter:
    """Marks a hyperparameter that every param group must give (``lr`` of some optimizers)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _plain(value):
    """``value`` as JSON-friendly Python data: NumPy scalars and 0-d arrays become numbers."""
    if isinstance(value, numpy.ndarray) and value.ndim == 0:
        return value.item()
    if isinstance(value, numpy.generic):
        return value.item()
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _lerp_(start: numpy.ndarray, end: numpy.ndarray, weight: float) -> None:
    """``start <- start + weight * (end - start)`` in place, rounded as ``torch.lerp`` does.

    NOTE: torch switches to ``end - (end - start) * (1 - weight)`` for weight >= 0.5; the
    same branch here keeps running averages bit-compatible with PyTorch's.
    """
    diff = end - start
    if weight < 0.5:
        diff *= weight
        start += diff
    else:
        diff *= 1 - weight
        numpy.subtract(end, diff, out=start)


class Optimizer:
    """Base class: holds ``param_groups`` and ``state``; subclasses implement ``step``.

    Args:
        params: an iterable of Tensors (``model.parameters()``), or of dicts, each a param
            group: ``{"params": [...], "lr": 0.1, ...}``; options a group leaves out come
            from ``defaults``. A parameter may appear in only one group.
        defaults: the default hyperparameters of this optimizer.

    Attributes:
        param_groups: list of dicts, ``"params"`` plus every hyperparameter.
        state: ``{parameter: {name: array or number}}``, filled lazily by ``step``.
    """

    def __init__(self, params, defaults: dict) -> None:
        self.defaults = defaults
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {type(params).__name__}")
        # Keyed by the parameter itself: Tensor hashes by identity, like torch.
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own options (e.g. unfreezing a layer).

        Args:
            param_group: ``{"params": tensor or iterable of tensors (or of (name, tensor)
                pairs), option: value, ...}``; missing options come from ``defaults``.

        Raises:
            TypeError: not a dict, params given as a set, or a param that is not a Tensor.
            ValueError: a non-leaf tensor, a required option missing, or a parameter that is
                already in another group.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        param_group = dict(param_group)
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        if names:
            if len(names) != len(params):
                raise ValueError("all optimizer params should be with/without names. "
                                 "Some param names are missing")
            param_group["param_names"] = names
        for i, param in enumerate(params):
            if not isinstance(param, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but param "
                                f"{i} of the group is {type(param).__name__}")
            if not (param.is_leaf or param._retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        param_group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)
        if len(params) != len(set(params)):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; "
                          "in future, this will cause an error", stacklevel=3)
        seen = set()
        for group in self.param_groups:
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError(f"all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
            seen.update(group["params"])
        if not seen.isdisjoint(params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ------------------------------------------------------------------ steps
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized parameters.

        Args:
            set_to_none: set ``.grad`` to None (default; the next ``step`` then skips
                parameters that received no gradient) instead of filling it with zeros.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.requires_grad = False
                    p.grad._creator = None
                    p.grad.data[...] = 0

    def step(self, closure=None):
        """Update every parameter that has a gradient; returns ``closure()``'s loss if given.

        Args:
            closure: optional callable that re-evaluates the model and returns the loss.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement step()")

    @staticmethod
    def _evaluate(closure):
        """Run ``closure`` (with grad enabled) when one is given, returning its loss."""
        if closure is None:
            return None
        with autograd.enable_grad():
            return closure()

    def _params_with_grad(self, group: dict):
        """The parameters of ``group`` that have a gradient, with their arrays and state."""
        for p in group["params"]:
            if p.grad is not None:
                yield p.data, p.grad.data, self.state[p]

    @staticmethod
    def _in_pieces(update, *arrays, **hyper) -> None:
        """``update(*arrays, **hyper)`` on cache-sized pieces of the flattened arrays, spread
        over numnet's threads (``backend.map_batch``); on the whole arrays when one of them
        is not contiguous. An elementwise update gives the same bits either way, and reads
        each number from memory once instead of once per operation.
        """
        size = arrays[0].size
        if size <= backend._PIECE_ELEMENTS:
            update(*arrays, **hyper)
        elif all(a.size == size and a.flags.c_contiguous for a in arrays):
            flat = [a.reshape(-1) for a in arrays]

            def update_piece(start, stop):
                update(*(f[start:stop] for f in flat), **hyper)

            backend.map_batch(update_piece, size)
        else:
            update(*arrays, **hyper)

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        """The optimizer's state as a dict of NumPy arrays and JSON-serialisable values.

        Returns:
            ``{"state": {index: {name: array or number}}, "param_groups": [group, ...]}``
            where ``index`` counts the parameters across the groups in order (each group's
            ``"params"`` becomes the list of its indices). Arrays are copies, so the dict is
            a snapshot that later steps do not change.
        """
        index_of = {}
        param_groups = []
        start = 0
        for group in self.param_groups:
            packed = {k: copy.deepcopy(_plain(v)) for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                index_of.setdefault(id(p), i)
            packed["params"] = [index_of[id(p)] for p in group["params"]]
            start += len(packed["params"])
            param_groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                param_state = self.state.get(p)
                if param_state:
                    state[index_of[id(p)]] = {
                        k: v.copy() if isinstance(v, numpy.ndarray) and v.ndim else _plain(v)
                        for k, v in param_state.items()}
        return {"state": state, "param_groups": param_groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a dict made by ``state_dict`` (possibly after a JSON round trip).

        The saved groups must match this optimizer's: same number, same sizes; parameter
        ``i`` of the checkpoint is the ``i``-th parameter here. Index keys may be ``int`` or
        ``str`` (as JSON writes them). Floating arrays are copied and cast to their
        parameter's dtype; 0-d arrays become Python numbers.

        Raises:
            ValueError: the groups do not match, or a saved array's shape is not its
                parameter's shape.
        """
        groups = self.param_groups
        saved_groups = copy.deepcopy(list(state_dict["param_groups"]))
        if len(groups) != len(saved_groups):
            raise ValueError(f"loaded state dict has a different number of parameter groups "
                             f"({len(saved_groups)}) than the optimizer ({len(groups)})")
        for i, (group, saved) in enumerate(zip(groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(f"loaded state dict contains a parameter group that doesn't "
                                 f"match the size of optimizer's group: group {i} has "
                                 f"{len(saved['params'])} params saved, "
                                 f"{len(group['params'])} here")
        param_of = {}
        for group, saved in zip(groups, saved_groups):
            for index, p in zip(saved["params"], group["params"]):
                param_of[int(index)] = p
        state = defaultdict(dict)
        for key, saved_state in state_dict["state"].items():
            index = int(key)
            if index not in param_of:
                raise ValueError(f"loaded state dict has state for parameter {index}, which "
                                 "is in none of its parameter groups")
            param = param_of[index]
            state[param] = {name: self._cast_state(param, index, name, value)
                            for name, value in saved_state.items()}
        new_groups = []
        for group, saved in zip(groups, saved_groups):
            for name, value in saved.items():
                if isinstance(group.get(name), tuple) and isinstance(value, list):
                    saved[name] = tuple(value)
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
            new_groups.append(saved)
        self.state = state
        self.param_groups = new_groups

    @staticmethod
    def _cast_state(param: Tensor, index: int, name: str, value):
        """A private copy of one saved state entry, floating arrays cast to the param dtype."""
        if isinstance(value, Tensor):
            value = value.data
        if isinstance(value, numpy.generic) or (isinstance(value, numpy.ndarray)
                                                and value.ndim == 0):
            return value.item()
        if not isinstance(value, numpy.ndarray):
            return copy.deepcopy(value)
        if value.shape != param.data.shape:
            raise ValueError(f"loaded state {name!r} of parameter {index} has shape "
                             f"{value.shape}, but the parameter has shape {param.data.shape}")
        dtype = param.data.dtype if value.dtype.kind == "f" else value.dtype
        return numpy.array(value, dtype=dtype, copy=True)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)
