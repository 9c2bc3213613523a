"""Containers: ``Sequential``, ``ModuleList``, ``ModuleDict`` (PyTorch's semantics)."""

from __future__ import annotations

import collections
import operator

from numnet.nn import fusion
from numnet.nn.module import Module


class Sequential(Module):
    """Modules applied one after another: ``forward(x) = m_n(...m_2(m_1(x)))``.

    Built from modules (named ``'0'``, ``'1'``, ...) or from one ordered dict of named
    modules. Supports indexing (an int gives the module, a slice a new Sequential), ``len``,
    iteration and ``append``. ``forward`` runs ``Conv2d, ReLU(, MaxPool2d)`` without hooks as
    one op (``numnet.nn.fusion``): the same numbers, less memory traffic.

    Example:
        >>> from numnet import nn
        >>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
        >>> len(net), type(net[-1]).__name__, len(net[:2])
        (3, 'Linear', 2)
        >>> net
        Sequential(
          (0): Linear(in_features=4, out_features=8)
          (1): ReLU()
          (2): Linear(in_features=8, out_features=2)
        )
    """

    def __init__(self, *args) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], collections.OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for index, module in enumerate(args):
                self.add_module(str(index), module)

    def _index(self, idx: int) -> int:
        idx = operator.index(idx)
        size = len(self)
        if not -size <= idx < size:
            raise IndexError(f"index {idx} is out of range for {self._get_name()} of length "
                             f"{size}")
        return idx % size

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return Sequential(collections.OrderedDict(list(self._modules.items())[idx]))
        return list(self._modules.values())[self._index(idx)]

    def __setitem__(self, idx: int, module: Module) -> None:
        key = list(self._modules.keys())[self._index(idx)]
        self.add_module(key, module)

    def __delitem__(self, idx) -> None:
        keys = list(self._modules.keys())
        targets = keys[idx] if isinstance(idx, slice) else [keys[self._index(idx)]]
        for key in targets:
            del self._modules[key]
        # keep the names 0, 1, 2, ... contiguous, as PyTorch does
        items = list(self._modules.items())
        self._modules.clear()
        for i, (key, module) in enumerate(items):
            self._modules[str(i) if key.isdigit() else key] = module

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module: Module) -> "Sequential":
        """Add ``module`` at the end."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules) -> "Sequential":
        for module in modules:
            self.append(module)
        return self

    def forward(self, x):
        # runs of layers that fuse into one op (Conv2d, ReLU(, MaxPool2d)) are one step
        for step in fusion.fused_steps(self._modules.values()):
            x = step(x)
        return x


class ModuleList(Module):
    """A list of modules, registered (so their parameters are found) but not called.

    Example:
        >>> from numnet import nn
        >>> layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
        >>> len(list(layers.parameters()))
        6
    """

    def __init__(self, modules=None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _index(self, idx: int) -> int:
        idx = operator.index(idx)
        size = len(self)
        if not -size <= idx < size:
            raise IndexError(f"index {idx} is out of range for ModuleList of length {size}")
        return idx % size

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(list(self._modules.values())[idx])
        return self._modules[str(self._index(idx))]

    def __setitem__(self, idx: int, module: Module) -> None:
        self.add_module(str(self._index(idx)), module)

    def __delitem__(self, idx) -> None:
        modules = list(self._modules.values())
        del modules[idx if isinstance(idx, slice) else self._index(idx)]
        self._modules.clear()
        for i, module in enumerate(modules):
            self.add_module(str(i), module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __iadd__(self, modules) -> "ModuleList":
        return self.extend(modules)

    def append(self, module: Module) -> "ModuleList":
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules) -> "ModuleList":
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._modules.clear()
        for i, item in enumerate(modules):
            self.add_module(str(i), item)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList is not callable; iterate over it in forward")


class ModuleDict(Module):
    """A dict of modules (insertion-ordered), registered but not called.

    Example:
        >>> from numnet import nn
        >>> heads = nn.ModuleDict({'a': nn.Linear(2, 1), 'b': nn.Linear(2, 3)})
        >>> list(heads.keys()), 'a' in heads
        (['a', 'b'], True)
    """

    def __init__(self, modules=None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key: str) -> bool:
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def pop(self, key: str) -> Module:
        module = self[key]
        del self[key]
        return module

    def clear(self) -> None:
        self._modules.clear()

    def update(self, modules) -> None:
        items = modules.items() if hasattr(modules, "items") else modules
        for key, module in items:
            self[key] = module

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleDict is not callable; index it in forward")
