"""Model presets: ``mlp``, ``lenet5``, ``cifar_cnn``, each rebuilt from a JSON config.

Every preset returns a ``Sequential`` subclass whose ``config`` attribute is a
JSON-serialisable dict (``{"name": "lenet5", "activation": "relu", ...}``);
``build_model(config)`` builds the same architecture again, so a checkpoint that stores
the config next to the ``state_dict`` can rebuild its model.

Example:
    >>> import json
    >>> net = lenet5(activation='tanh')
    >>> config = json.loads(json.dumps(net.config))
    >>> list(build_model(config).state_dict()) == list(net.state_dict())
    True
"""

from __future__ import annotations

import collections
import inspect

from numnet.nn.activations import get_activation
from numnet.nn.containers import Sequential
from numnet.nn.layers import Conv2d, Dropout, Flatten, Identity, Linear, MaxPool2d


class _Preset(Sequential):
    """A Sequential with named layers and the config that rebuilds it."""

    def __init__(self, layers: list, config: dict) -> None:
        super().__init__(collections.OrderedDict(layers))
        self.config = config


class MLP(_Preset):
    """Fully connected network built by ``mlp``."""


class LeNet5(_Preset):
    """LeNet-5 (LeCun et al., 1998) as built by ``lenet5``."""


class CifarCNN(_Preset):
    """The small VGG-style CIFAR-10 network built by ``cifar_cnn``."""


def _check_init(init):
    if init is not None and not isinstance(init, str):
        raise TypeError(f"init must be a scheme name (a config stays JSON-serialisable), "
                        f"got {type(init).__name__}")


def mlp(sizes, activation: str = "relu", init=None, dropout: float = 0.0) -> MLP:
    """A fully connected network: ``sizes = [inputs, hidden..., outputs]``.

    Layers: flatten, then per hidden size ``Linear - activation (- Dropout)``, then a last
    ``Linear`` giving logits (no activation). The leading ``Flatten`` lets image batches
    (N, 1, 28, 28) go in directly; it leaves (N, D) input unchanged.

    Args:
        sizes: layer widths, at least [inputs, outputs].
        activation: 'relu', 'tanh', 'sigmoid', 'leaky_relu' (see ``get_activation``).
        init: weight initialization by name (``numnet.nn.init.INITIALIZERS``); None is
            PyTorch's default.
        dropout: dropout probability after each hidden activation (0: none).

    Example:
        >>> mlp([784, 256, 128, 10]).num_parameters()
        235146
    """
    sizes = [int(n) for n in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"mlp needs at least [inputs, outputs] positive sizes, got {sizes}")
    _check_init(init)
    get_activation(activation)
    layers = [("flatten", Flatten())]
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        layers.append((f"fc{i}", Linear(fan_in, fan_out, init=init)))
        if i < len(sizes) - 1:
            layers.append((f"act{i}", get_activation(activation)))
            if dropout:
                layers.append((f"drop{i}", Dropout(dropout)))
    config = {"name": "mlp", "sizes": sizes, "activation": activation, "init": init,
              "dropout": dropout}
    return MLP(layers, config)


def lenet5_sizes(input_size: int) -> tuple:
    """``(first pooling used, conv2 padding, side of the final feature map)`` for a square
    input of this side.

    conv1 (5x5, padding 2) keeps the side N; pooling halves it (N // 2); conv2 (5x5)
    without padding gives ``N // 2 - 4`` and the second pooling ``(N // 2 - 4) // 2``
    (28 -> 28 -> 14 -> 10 -> 5, so 16 * 5 * 5 = 400 features). When that final side would
    be below 2 (inputs under 16, e.g. the 8x8 digits), the first pooling is skipped and
    conv2 is padded by 2, so only the second pooling shrinks the map:
    8 -> 8 -> 8 -> 4 (16 * 4 * 4 = 256 features). (Keeping the first pooling leaves a 2x2
    map that tested about 1 point less accurate on digits.)
    """
    side = int(input_size) // 2
    if side < 2:
        raise ValueError(f"lenet5 needs inputs of at least 4x4, got input_size={input_size}")
    final = (side - 4) // 2
    if final >= 2:
        return True, 0, final
    return False, 2, int(input_size) // 2


def lenet5(in_channels: int = 1, num_classes: int = 10, activation: str = "relu",
           input_size: int = 28, init=None) -> LeNet5:
    """LeNet-5: conv 6@5x5 pad 2 - act - maxpool 2 - conv 16@5x5 - act - maxpool 2 -
    flatten - fc 120 - act - fc 84 - act - fc ``num_classes``.

    For 28x28 input the feature maps are 6@28x28, 6@14x14, 16@10x10, 16@5x5 (400 features).
    Other square sizes work: the flatten size is computed from ``input_size``, and for
    small inputs (under 16, e.g. the 8x8 digits) the first pooling is an Identity and conv2
    gets padding 2, so the maps stay valid (see ``lenet5_sizes``).

    Args:
        in_channels: image channels (1 for MNIST).
        num_classes: outputs (logits).
        activation: after every conv and hidden fc layer.
        input_size: side of the square input images.
        init: weight initialization by name; None is PyTorch's default.

    Example:
        >>> import numnet
        >>> lenet5()(numnet.zeros(2, 1, 28, 28)).shape
        (2, 10)
        >>> lenet5(input_size=8)(numnet.zeros(2, 1, 8, 8)).shape
        (2, 10)
    """
    _check_init(init)
    get_activation(activation)
    first_pool, pad2, final = lenet5_sizes(input_size)
    layers = [
        ("conv1", Conv2d(in_channels, 6, 5, padding=2, init=init)),
        ("act1", get_activation(activation)),
        ("pool1", MaxPool2d(2) if first_pool else Identity()),
        ("conv2", Conv2d(6, 16, 5, padding=pad2, init=init)),
        ("act2", get_activation(activation)),
        ("pool2", MaxPool2d(2)),
        ("flatten", Flatten()),
        ("fc1", Linear(16 * final * final, 120, init=init)),
        ("act3", get_activation(activation)),
        ("fc2", Linear(120, 84, init=init)),
        ("act4", get_activation(activation)),
        ("fc3", Linear(84, num_classes, init=init)),
    ]
    config = {"name": "lenet5", "in_channels": in_channels, "num_classes": num_classes,
              "activation": activation, "input_size": input_size, "init": init}
    return LeNet5(layers, config)


def cifar_cnn(in_channels: int = 3, num_classes: int = 10, activation: str = "relu",
              input_size: int = 32, init=None) -> CifarCNN:
    """conv32 - act - conv32 - act - pool - conv64 - act - conv64 - act - pool - flatten -
    fc512 - act - fc ``num_classes``; every conv 3x3 with padding 1 (keeps the side), every
    pool 2x2 max pooling: 32x32 -> 16x16 -> 8x8, so 64 * 8 * 8 = 4096 features.

    Args:
        in_channels: image channels (3 for CIFAR-10).
        num_classes: outputs (logits).
        activation: after every conv and the hidden fc layer.
        input_size: side of the square input images (at least 4).
        init: weight initialization by name; None is PyTorch's default.

    Example:
        >>> import numnet
        >>> cifar_cnn(input_size=8)(numnet.zeros(2, 3, 8, 8)).shape
        (2, 10)
    """
    _check_init(init)
    get_activation(activation)
    final = int(input_size) // 4
    if final < 1:
        raise ValueError(f"cifar_cnn needs inputs of at least 4x4, got input_size={input_size}")
    layers = [
        ("conv1", Conv2d(in_channels, 32, 3, padding=1, init=init)),
        ("act1", get_activation(activation)),
        ("conv2", Conv2d(32, 32, 3, padding=1, init=init)),
        ("act2", get_activation(activation)),
        ("pool1", MaxPool2d(2)),
        ("conv3", Conv2d(32, 64, 3, padding=1, init=init)),
        ("act3", get_activation(activation)),
        ("conv4", Conv2d(64, 64, 3, padding=1, init=init)),
        ("act4", get_activation(activation)),
        ("pool2", MaxPool2d(2)),
        ("flatten", Flatten()),
        ("fc1", Linear(64 * final * final, 512, init=init)),
        ("act5", get_activation(activation)),
        ("fc2", Linear(512, num_classes, init=init)),
    ]
    config = {"name": "cifar_cnn", "in_channels": in_channels, "num_classes": num_classes,
              "activation": activation, "input_size": input_size, "init": init}
    return CifarCNN(layers, config)


MODELS = {"mlp": mlp, "lenet5": lenet5, "cifar_cnn": cifar_cnn}
"""Preset builders by config name."""


def build_model(config: dict):
    """Build a preset from its config (``model.config``): ``{"name": ..., **arguments}``.

    Raises:
        ValueError: for an unknown name or an argument the preset does not take.
    """
    if not isinstance(config, dict) or "name" not in config:
        raise ValueError(f"a model config is a dict with a 'name', got {config!r}")
    name = config["name"]
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    arguments = {k: v for k, v in config.items() if k != "name"}
    builder = MODELS[name]
    accepted = list(inspect.signature(builder).parameters)
    unknown = [k for k in arguments if k not in accepted]
    if unknown:
        raise ValueError(f"model {name!r} does not take {', '.join(map(repr, unknown))}; it "
                         f"takes {', '.join(accepted)}")
    return builder(**arguments)
