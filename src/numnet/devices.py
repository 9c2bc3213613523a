"""``numnet.device``: where a tensor lives. numnet runs on the CPU only.

A ``device`` is made like PyTorch's (``device("cpu")``, ``device("cpu:0")``,
``device("cuda", 1)``) and compares, prints and hashes like it; every tensor is on
``device(type='cpu')``. Naming a device of another type is allowed (a script may build
``device("cuda")``), but *using* one (``x.to("cuda")``, ``zeros(2, device="mps")``) raises
``DeviceUnavailableError`` at once, saying that numnet runs on the CPU only.

Example:
    >>> device("cpu:0")
    device(type='cpu', index=0)
    >>> device("cpu") == device("cpu:0")
    False
"""

from __future__ import annotations

# the device types PyTorch's parser accepts (any other is "Invalid device string" there too)
_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve",
          "fpga", "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia",
          "privateuseone")


class DeviceUnavailableError(NotImplementedError, AssertionError):
    """A device other than the CPU was asked for.

    A RuntimeError (``NotImplementedError`` is one), and also an ``AssertionError``, the type
    PyTorch built without CUDA raises for ``"cuda"``, so a script's ``except`` works the same.
    """


class device:  # noqa: N801 - PyTorch's name
    """A device: ``type`` (``"cpu"``, ``"cuda"``, ...) and an optional ``index``.

    Args:
        type: ``"cpu"``, ``"cpu:0"``, ``"cuda:1"``, ... or a ``device`` (returned as is).
        index: the device's index (not with a ``"type:index"`` string).
    """

    __slots__ = ("_type", "_index")

    def __new__(cls, type, index=None):  # noqa: A002 - PyTorch's argument name
        if isinstance(type, device) and index is None:
            return type
        if not isinstance(type, str):
            raise TypeError(f"device() expects a device string such as 'cpu', got "
                            f"{type!r}")
        name, colon, number = type.partition(":")
        if name not in _TYPES or (colon and not number.isdigit()):
            raise RuntimeError(f"Invalid device string: {type!r}")
        if colon and index is not None:
            raise RuntimeError(f"type (string) must not include an index because index was "
                               f"passed explicitly: {type}")
        if colon:
            index = int(number)
        if index is not None:
            if isinstance(index, bool) or not isinstance(index, int):
                raise TypeError(f"device index must be an int, got {index!r}")
            if index < 0:
                raise RuntimeError(f"Device index must not be negative, got {index}")
        self = super().__new__(cls)
        self._type = name
        self._index = index
        return self

    @property
    def type(self) -> str:
        return self._type

    @property
    def index(self) -> int | None:
        return self._index

    def __eq__(self, other) -> bool:
        if not isinstance(other, device):
            return NotImplemented
        return (self._type, self._index) == (other._type, other._index)

    def __hash__(self) -> int:
        return hash((self._type, self._index))

    def __str__(self) -> str:
        return self._type if self._index is None else f"{self._type}:{self._index}"

    def __repr__(self) -> str:
        if self._index is None:
            return f"device(type={self._type!r})"
        return f"device(type={self._type!r}, index={self._index})"

    def __reduce__(self):
        return (device, (self._type, self._index))


CPU = device("cpu")


def is_device_string(text: str) -> bool:
    """Whether ``text`` starts with a device type (``"cpu"``, ``"cuda:1"``, ``"mps"``, ...)."""
    return text.partition(":")[0] in _TYPES


def unavailable(what) -> DeviceUnavailableError:
    """The error for a request of device ``what`` other than the CPU."""
    return DeviceUnavailableError(f"device {str(what)!r} is not available: numnet runs on the "
                                  "CPU only (use 'cpu', or check numnet.cuda.is_available())")


def check(where) -> None:
    """Accept ``None``, ``"cpu"``, ``"cpu:N"`` or a CPU ``device``; raise for any other.

    It is what the ``device=`` argument of the creation functions and ``to(device)`` call.
    An int (PyTorch: an index of the accelerator) is a device numnet does not have either.
    """
    if where is None:
        return
    if isinstance(where, int) and not isinstance(where, bool):
        raise unavailable(f"accelerator:{where}")
    if device(where).type != "cpu":
        raise unavailable(where)
