"""``Module``: the base class of every layer and model, with PyTorch's API.

Assigning a ``Parameter`` or a ``Module`` to an attribute registers it (``__setattr__``) in
the ordered dicts ``_parameters`` and ``_modules``; running statistics are buffers
(``register_buffer``), saved in ``state_dict`` but not trained. Registration order is
assignment order, so ``parameters()`` and ``state_dict()`` are deterministic.

Example:
    >>> import numnet
    >>> from numnet import nn
    >>> class TwoLayer(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.hidden = nn.Linear(2, 2)
    ...         self.out = nn.Linear(2, 2)
    ...     def forward(self, x):
    ...         return self.out(self.hidden(x).sigmoid()).sigmoid()
    >>> net = TwoLayer()
    >>> list(net.state_dict())
    ['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
    >>> net.num_parameters()
    12
"""

from __future__ import annotations

import collections
import itertools
import sys

import numpy

from numnet import backend, devices
from numnet.autograd import no_grad
from numnet.nn.parameter import Parameter
from numnet.ops.arithmetic import to_arguments
from numnet.tensor import Tensor

IncompatibleKeys = collections.namedtuple("IncompatibleKeys", ["missing_keys",
                                                               "unexpected_keys"])


class RemovableHandle:
    """Returned by ``register_forward_hook``; ``remove()`` unregisters the hook."""

    _next_id = itertools.count()

    def __init__(self, hooks: dict) -> None:
        self.hooks = hooks
        self.id = next(RemovableHandle._next_id)

    def remove(self) -> None:
        self.hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


class Module:
    """Base class for layers and models: override ``forward``, call the module itself.

    Subclasses call ``super().__init__()`` first, then assign Parameters, sub-Modules and
    buffers as attributes. ``module(x)`` runs the forward pre-hooks, ``forward(x)`` and the
    forward hooks.
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", collections.OrderedDict())
        object.__setattr__(self, "_buffers", collections.OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", collections.OrderedDict())
        object.__setattr__(self, "_forward_hooks", collections.OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", collections.OrderedDict())

    # ------------------------------------------------------------------ forward
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required '
                                  '"forward" function')

    def __call__(self, *args, **kwargs):
        for hook in list(self._forward_pre_hooks.values()):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        output = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    def register_forward_hook(self, hook) -> RemovableHandle:
        """Call ``hook(module, inputs, output)`` after every forward.

        The hook may return a replacement output. Returns a handle whose ``remove()``
        unregisters the hook.
        """
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    def has_hooks(self) -> bool:
        """True when a forward hook or forward pre-hook is registered on this module."""
        return bool(self._forward_hooks or self._forward_pre_hooks)

    def register_forward_pre_hook(self, hook) -> RemovableHandle:
        """Call ``hook(module, inputs)`` before every forward (it may return new inputs)."""
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    # ------------------------------------------------------------------ registration
    def __setattr__(self, name: str, value) -> None:
        if "_parameters" not in self.__dict__:
            if isinstance(value, (Parameter, Module)):
                raise AttributeError("cannot assign parameters or modules before "
                                     "Module.__init__() call")
            object.__setattr__(self, name, value)
            return
        params = self.__dict__["_parameters"]
        modules = self.__dict__["_modules"]
        buffers = self.__dict__["_buffers"]
        if isinstance(value, Parameter):
            self._forget(name, keep="_parameters")
            self.register_parameter(name, value)
        elif name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter "
                                f"'{name}' (numnet.nn.Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            self._forget(name, keep="_modules")
            modules[name] = value
        elif name in modules:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module "
                                f"'{name}' (numnet.nn.Module or None expected)")
            modules[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                "(numnet.Tensor or None expected)")
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str, keep: str) -> None:
        """Drop ``name`` from the plain attributes and the registries other than ``keep``
        (a re-assigned parameter or child keeps its place in the order, as in PyTorch)."""
        self.__dict__.pop(name, None)
        for key in ("_parameters", "_modules", "_buffers"):
            if key != keep:
                self.__dict__[key].pop(name, None)
        self.__dict__["_non_persistent_buffers"].discard(name)

    def __getattr__(self, name: str):
        # only called when normal lookup fails: look in the registries
        registries = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            if key in registries and name in registries[key]:
                return registries[key][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for key in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__[key]:
                del self.__dict__[key][name]
                self.__dict__["_non_persistent_buffers"].discard(name)
                return
        object.__delattr__(self, name)

    def _check_name(self, name, kind: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {kind} before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if name == "" or "." in name:
            raise KeyError(f'{kind} name can\'t be empty or contain ".", got: {name!r}')

    def register_parameter(self, name: str, param) -> None:
        """Register ``param`` (a Parameter, or None for an absent optional one) as ``name``."""
        self._check_name(name, "parameter")
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter "
                            f"'{name}' (numnet.nn.Parameter or None required)")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor, persistent: bool = True) -> None:
        """Register a Tensor that is state but not a parameter (e.g. ``running_mean``).

        Persistent buffers are part of ``state_dict``; non-persistent ones are not.
        """
        self._check_name(name, "buffer")
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer "
                            f"'{name}' (numnet.Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module) -> None:
        """Register ``module`` (or None) as the child ``name``."""
        self._check_name(name, "module")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target: str) -> "Module":
        """The submodule at the dotted path ``target`` (``''`` is the module itself).

        Raises:
            AttributeError: a step of the path is no attribute (``"Linear has no attribute
                `x`"``) or not a Module (``"`weight` is not an nn.Module"``), as in PyTorch.

        Example:
            >>> from numnet import nn
            >>> net = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU()))
            >>> net.get_submodule('1.0')
            ReLU()
        """
        if target == "":
            return self
        module = self
        for item in target.split("."):
            if not hasattr(module, item):
                raise AttributeError(f"{module._get_name()} has no attribute `{item}`")
            module = getattr(module, item)
            if not isinstance(module, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return module

    def set_submodule(self, target: str, module: "Module", strict: bool = False) -> None:
        """Put ``module`` at the dotted path ``target``, replacing what is there.

        The parent (the path without its last name) must exist; with ``strict`` the last name
        must exist too. ValueError for an empty ``target`` or a ``module`` that is not a
        Module; AttributeError for a missing parent or a target that is not a Module.
        """
        if target == "":
            raise ValueError("Cannot set the submodule without a target name!")
        if not isinstance(module, Module):
            raise ValueError(f"`module` is not an nn.Module, found {type(module)}")
        parent_path, _, name = target.rpartition(".")
        parent = self.get_submodule(parent_path)
        if strict and not hasattr(parent, name):
            raise AttributeError(f"{parent._get_name()} has no attribute `{name}`")
        if hasattr(parent, name) and not isinstance(getattr(parent, name), Module):
            raise AttributeError(f"`{name}` is not an nn.Module")
        setattr(parent, name, module)

    def get_parameter(self, target: str) -> Parameter:
        """The Parameter at the dotted path ``target`` (``'0.weight'``); AttributeError if the
        path does not exist or does not end at a Parameter."""
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if not hasattr(module, name):
            raise AttributeError(f"{module._get_name()} has no attribute `{name}`")
        param = getattr(module, name)
        if not isinstance(param, Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return param

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at the dotted path ``target`` (``'1.running_mean'``); AttributeError if
        the path does not exist or does not end at a buffer."""
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if not hasattr(module, name):
            raise AttributeError(f"{module._get_name()} has no attribute `{name}`")
        if name not in module._buffers:
            raise AttributeError(f"`{name}` is not a buffer")
        return getattr(module, name)

    # ------------------------------------------------------------------ iteration
    def named_modules(self, memo=None, prefix: str = "", remove_duplicate: bool = True):
        """Yield ``(dotted name, module)`` for self and every descendant, depth first (a
        module reached twice appears once, unless ``remove_duplicate=False``).

        Args:
            memo: a set of modules to skip; the modules yielded are added to it.
            prefix: prepended to every name (``prefix='model'`` gives ``'model.0'``).
            remove_duplicate: skip a module already yielded (default True).

        Example:
            >>> from numnet import nn
            >>> shared = nn.Linear(2, 2)
            >>> net = nn.Sequential(shared, nn.Sequential(shared, nn.ReLU()))
            >>> [name for name, _ in net.named_modules(prefix='net')]
            ['net', 'net.0', 'net.1', 'net.1.1']
        """
        if memo is None:
            memo = set()
        if self in memo:
            return
        if remove_duplicate:
            memo.add(self)
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, sub, remove_duplicate)

    def modules(self):
        """Yield self and every descendant module once, depth first."""
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        """Yield ``(name, module)`` for the direct children."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self):
        for _, module in self.named_children():
            yield module

    def _named_members(self, registry: str, prefix: str, recurse: bool,
                       remove_duplicate: bool = True):
        seen = set()
        modules = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                   if recurse else [(prefix, self)])
        for module_prefix, module in modules:
            for name, value in module.__dict__[registry].items():
                if value is None:
                    continue
                if remove_duplicate:
                    if id(value) in seen:
                        continue
                    seen.add(id(value))
                yield module_prefix + ("." if module_prefix else "") + name, value

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True):
        """Yield ``(dotted name, Parameter)``; a shared parameter appears once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True):
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True):
        """Yield ``(dotted name, buffer Tensor)``."""
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True):
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def num_parameters(self, trainable_only: bool = False) -> int:
        """The number of scalar parameters (only those requiring grad if ``trainable_only``)."""
        return int(sum(p.data.size for p in self.parameters()
                       if p.requires_grad or not trainable_only))

    # ------------------------------------------------------------------ modes and grads
    def train(self, mode: bool = True) -> "Module":
        """Set training mode (Dropout drops, BatchNorm uses batch statistics) recursively."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        object.__setattr__(self, "training", mode)
        for module in self.children():
            module.train(mode)
        return self

    def eval(self) -> "Module":
        """Set evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Set ``requires_grad`` of every parameter (freeze with False)."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's ``.grad``: to None (default) or to zeros in place."""
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                param.grad.data[...] = 0

    def apply(self, fn) -> "Module":
        """Call ``fn(module)`` on every child (recursively), then on self; return self.

        Example:
            >>> from numnet import nn
            >>> net = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 1))
            >>> def zero_bias(m):
            ...     if isinstance(m, nn.Linear):
            ...         nn.init.zeros_(m.bias)
            >>> float(net.apply(zero_bias)[2].bias.data.sum())
            0.0
        """
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------------ device and dtype
    def to(self, *args, device=None, dtype=None, non_blocking: bool = False) -> "Module":
        """Cast every floating parameter and buffer (and gradient) to ``dtype`` in place.

        PyTorch's forms: ``to(dtype)``, ``to(device, dtype=None)``, ``to(tensor)`` (its
        dtype), also with keywords. The device must be the CPU (``"cpu"``, ``None``, ...):
        any other raises ``numnet.devices.DeviceUnavailableError``. The Parameter objects
        stay the same (an optimizer holding them keeps working); integer buffers such as
        ``num_batches_tracked`` keep their dtype. ``non_blocking`` has no effect on the CPU.
        Returns the module itself.
        """
        dtype = to_arguments(args, device, dtype)[1]
        if dtype is None:
            return self
        if not backend.is_floating(dtype):
            raise TypeError(f"Module.to expects a floating dtype, got {dtype}")
        for tensor in itertools.chain(self.parameters(), self.buffers()):
            if backend.is_floating(tensor.data.dtype) and tensor.data.dtype != dtype:
                tensor.data = tensor.data.astype(dtype)
                if tensor.grad is not None:
                    tensor.grad.data = tensor.grad.data.astype(dtype)
        return self

    def cpu(self) -> "Module":
        """The module itself: its parameters and buffers are on the CPU already."""
        return self

    def cuda(self, device=None) -> "Module":
        """Raise ``DeviceUnavailableError``: numnet runs on the CPU only."""
        if isinstance(device, int):
            device = f"cuda:{device}"
        raise devices.unavailable(device or "cuda")

    def float(self) -> "Module":
        """Cast floating parameters and buffers to float32."""
        return self.to(numpy.float32)

    def double(self) -> "Module":
        """Cast floating parameters and buffers to float64."""
        return self.to(numpy.float64)

    # ------------------------------------------------------------------ state
    def state_dict(self, *, prefix: str = "", keep_vars: bool = False
                   ) -> "collections.OrderedDict":
        """Every parameter and persistent buffer by dotted name, as NumPy array copies.

        ``prefix`` is prepended to every key (``prefix='model.'`` gives ``'model.0.weight'``);
        ``keep_vars=True`` gives the Parameters and buffer Tensors themselves instead.

        Example:
            >>> from numnet import nn
            >>> sd = nn.BatchNorm1d(3).state_dict()
            >>> list(sd)
            ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
        """
        tensors = self._state_tensors(prefix)
        if keep_vars:
            return tensors
        return collections.OrderedDict(
            (key, numpy.array(tensor.data, copy=True)) for key, tensor in tensors.items())

    def _state_tensors(self, prefix: str = "") -> "collections.OrderedDict":
        out = collections.OrderedDict()
        for name, module in self.named_modules(remove_duplicate=False):
            dot = prefix + (name + "." if name else "")
            for key, param in module._parameters.items():
                if param is not None:
                    out[dot + key] = param
            for key, buffer in module._buffers.items():
                if buffer is not None and key not in module._non_persistent_buffers:
                    out[dot + key] = buffer
        return out

    def load_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        """Copy arrays from ``state_dict`` into the parameters and buffers, in place.

        Values may be NumPy arrays or Tensors; each is cast to the dtype of the tensor it
        is copied into. Nothing is copied unless every shape matches.

        Args:
            state_dict: mapping from dotted names to arrays.
            strict: if True, a missing or unexpected key is an error.

        Returns:
            ``IncompatibleKeys(missing_keys, unexpected_keys)``.

        Raises:
            RuntimeError: naming every size mismatch (always) and every missing and
                unexpected key (when strict), in PyTorch's wording.
        """
        if not hasattr(state_dict, "keys"):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        own = self._state_tensors()
        missing = [key for key in own if key not in state_dict]
        unexpected = [key for key in state_dict if key not in own]
        errors = []
        if strict:
            if unexpected:
                names = ", ".join(f'"{k}"' for k in unexpected)
                errors.append(f"Unexpected key(s) in state_dict: {names}. ")
            if missing:
                names = ", ".join(f'"{k}"' for k in missing)
                errors.insert(0, f"Missing key(s) in state_dict: {names}. ")
        arrays = {}
        for key, tensor in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            array = numpy.asarray(value.data if isinstance(value, Tensor) else value)
            if array.shape != tensor.data.shape:
                errors.append(f"size mismatch for {key}: copying a param with shape "
                              f"{array.shape} from checkpoint, the shape in current model is "
                              f"{tensor.data.shape}.")
                continue
            arrays[key] = array
        if errors:
            body = "\n\t".join(errors)
            raise RuntimeError(f"Error(s) in loading state_dict for {self._get_name()}:"
                               f"\n\t{body}")
        with no_grad():
            for key, array in arrays.items():
                own[key].data[...] = array
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ printing
    def _get_name(self) -> str:
        return type(self).__name__

    def extra_repr(self) -> str:
        """The layer's own settings, shown in ``repr`` inside the parentheses."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        for name, module in self._modules.items():
            text = repr(module).replace("\n", "\n  ")
            lines.append(f"({name}): {text}")
        main = self._get_name() + "("
        if lines:
            if len(lines) == 1 and not self._modules:
                main += lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"

    def summary(self, input_shape, file=None, dtype=None) -> list:
        """Print, per leaf layer, its kind, output shape and parameter count; return the rows.

        A batch of one zero input of ``input_shape`` (the shape of ONE sample, without the
        batch dim, e.g. ``(1, 28, 28)``) runs through the model in eval mode without
        recording a graph. Conv2d and pooling rows give the lecture's K (filters),
        F (filter size), S (stride) and P (padding).

        Args:
            input_shape: shape of one sample.
            file: where to print (stdout by default); ``False`` prints nothing.
            dtype: input dtype (default: the dtype of the first parameter).

        Returns:
            A list of dicts ``{'name', 'kind', 'details', 'output_shape', 'params'}`` (output
            shapes without the batch dim), then a last dict ``{'name': 'total', 'params':
            total, 'trainable': trainable}``.

        Example:
            >>> from numnet import nn
            >>> net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
            ...                     nn.Linear(4 * 8 * 8, 10))
            >>> rows = net.summary((1, 8, 8), file=False)
            >>> [(r['kind'], r['output_shape'], r['params']) for r in rows[:-1]]
            [('Conv2d', (4, 8, 8), 40), ('ReLU', (4, 8, 8), 0), ('Flatten', (256,), 0), \
('Linear', (10,), 2570)]
            >>> rows[-1]['params']
            2610
        """
        if dtype is None:
            first = next(self.parameters(), None)
            dtype = first.dtype if first is not None else backend.get_default_dtype()
        rows = []
        handles = []

        def record(name):
            def hook(module, inputs, output):
                out = output[0] if isinstance(output, tuple) else output
                rows.append({"name": name, "kind": module._get_name(),
                             "details": module.summary_details(),
                             "output_shape": tuple(out.shape[1:]),
                             "params": module.num_parameters()})
            return hook

        for name, module in self.named_modules():
            if not module._modules:
                handles.append(module.register_forward_hook(record(name or module._get_name())))
        modes = [(module, module.training) for module in self.modules()]
        try:
            self.eval()
            with no_grad():
                self(Tensor(numpy.zeros((1,) + tuple(input_shape), dtype=dtype), _raw=True))
        finally:
            for handle in handles:
                handle.remove()
            for module, mode in modes:
                object.__setattr__(module, "training", mode)
        total = self.num_parameters()
        trainable = self.num_parameters(trainable_only=True)
        rows.append({"name": "total", "params": total, "trainable": trainable})
        if file is not False:
            _print_summary(self._get_name(), input_shape, rows, file or sys.stdout)
        return rows

    def summary_details(self) -> str:
        """A short description for ``summary`` (Conv2d: ``K=6 F=5 S=1 P=2``)."""
        return ""


def _print_summary(title, input_shape, rows, file) -> None:
    table = [("Layer", "Kind", "Details", "Output shape", "Params")]
    for row in rows[:-1]:
        table.append((row["name"], row["kind"], row["details"], str(row["output_shape"]),
                      f"{row['params']:,}"))
    widths = [max(len(line[i]) for line in table) for i in range(5)]
    rule = "-" * (sum(widths) + 8)
    print(f"{title} on input {tuple(input_shape)} (per sample)", file=file)
    print(rule, file=file)
    for i, line in enumerate(table):
        cells = [line[j].ljust(widths[j]) for j in range(4)] + [line[4].rjust(widths[4])]
        print("  ".join(cells), file=file)
        if i == 0:
            print(rule, file=file)
    print(rule, file=file)
    total = rows[-1]
    print(f"Total params: {total['params']:,}  (trainable: {total['trainable']:,})",
          file=file)
