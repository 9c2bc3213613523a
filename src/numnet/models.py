"""Model presets: ``mlp``, ``lenet5``, ``cifar_cnn``, ``cnn_bn``, ``resnet``, each rebuilt
from a JSON config.

Every preset returns a module (a ``Sequential`` subclass, or for ``resnet`` a ``Module`` with
residual blocks) whose ``config`` attribute is a JSON-serialisable dict
(``{"name": "lenet5", "activation": "relu", ...}``);
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

from numnet import char_lm, nn
from numnet.nn.activations import get_activation
from numnet.nn.containers import Sequential
from numnet.nn.module import Module


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
    layers = [("flatten", nn.Flatten())]
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        layers.append((f"fc{i}", nn.Linear(fan_in, fan_out, init=init)))
        if i < len(sizes) - 1:
            layers.append((f"act{i}", get_activation(activation)))
            if dropout:
                layers.append((f"drop{i}", nn.Dropout(dropout)))
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
        ("conv1", nn.Conv2d(in_channels, 6, 5, padding=2, init=init)),
        ("act1", get_activation(activation)),
        ("pool1", nn.MaxPool2d(2) if first_pool else nn.Identity()),
        ("conv2", nn.Conv2d(6, 16, 5, padding=pad2, init=init)),
        ("act2", get_activation(activation)),
        ("pool2", nn.MaxPool2d(2)),
        ("flatten", nn.Flatten()),
        ("fc1", nn.Linear(16 * final * final, 120, init=init)),
        ("act3", get_activation(activation)),
        ("fc2", nn.Linear(120, 84, init=init)),
        ("act4", get_activation(activation)),
        ("fc3", nn.Linear(84, num_classes, init=init)),
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
        ("conv1", nn.Conv2d(in_channels, 32, 3, padding=1, init=init)),
        ("act1", get_activation(activation)),
        ("conv2", nn.Conv2d(32, 32, 3, padding=1, init=init)),
        ("act2", get_activation(activation)),
        ("pool1", nn.MaxPool2d(2)),
        ("conv3", nn.Conv2d(32, 64, 3, padding=1, init=init)),
        ("act3", get_activation(activation)),
        ("conv4", nn.Conv2d(64, 64, 3, padding=1, init=init)),
        ("act4", get_activation(activation)),
        ("pool2", nn.MaxPool2d(2)),
        ("flatten", nn.Flatten()),
        ("fc1", nn.Linear(64 * final * final, 512, init=init)),
        ("act5", get_activation(activation)),
        ("fc2", nn.Linear(512, num_classes, init=init)),
    ]
    config = {"name": "cifar_cnn", "in_channels": in_channels, "num_classes": num_classes,
              "activation": activation, "input_size": input_size, "init": init}
    return CifarCNN(layers, config)


class CNNBN(_Preset):
    """The conv-BatchNorm-ReLU-dropout network built by ``cnn_bn``."""


def cnn_bn(in_channels: int = 1, num_classes: int = 10, input_size: int = 28,
           channels=(32, 64), hidden: int = 128, dropout: float = 0.25, init=None) -> CNNBN:
    """A small, fast CNN with batch normalization: per entry ``c`` of ``channels`` a stage
    ``conv c@3x3 pad 1 - BatchNorm - ReLU - maxpool 2`` (halving the side), then ``Dropout(p)
    - flatten - fc hidden - BatchNorm - ReLU - Dropout(2p) - fc num_classes``.

    The convolutions have no bias: the BatchNorm after each subtracts the batch mean, which
    would cancel it (its shift ``beta`` takes the bias's place). For 28x28 input and the
    default ``channels=(32, 64)`` the maps are 32@28x28, 32@14x14, 64@14x14, 64@7x7 (3136
    features).

    Args:
        in_channels: image channels.
        num_classes: outputs (logits).
        input_size: side of the square input images (at least ``2 ** len(channels)``).
        channels: filters of each stage.
        hidden: width of the hidden fully connected layer.
        dropout: p of the dropout after the convolutions; the hidden layer's is ``2p``
            (at most 0.5).
        init: weight initialization by name; None is PyTorch's default.

    Example:
        >>> import numnet
        >>> cnn_bn()(numnet.zeros(2, 1, 28, 28)).shape
        (2, 10)
    """
    _check_init(init)
    channels = [int(c) for c in channels]
    side = int(input_size) // 2 ** len(channels)
    if not channels or side < 1:
        raise ValueError(f"cnn_bn needs at least one stage and inputs of at least "
                         f"{2 ** len(channels)}x{2 ** len(channels)}, got "
                         f"channels={channels}, input_size={input_size}")
    layers, previous = [], in_channels
    for stage, width in enumerate(channels, 1):
        layers += [(f"conv{stage}", nn.Conv2d(previous, width, 3, padding=1, bias=False,
                                              init=init)),
                   (f"bn{stage}", nn.BatchNorm2d(width)),
                   (f"act{stage}", nn.ReLU()),
                   (f"pool{stage}", nn.MaxPool2d(2))]
        previous = width
    layers += [("drop1", nn.Dropout(dropout)),
               ("flatten", nn.Flatten()),
               ("fc1", nn.Linear(previous * side * side, hidden, bias=False, init=init)),
               ("bn_fc", nn.BatchNorm1d(hidden)),
               ("act_fc", nn.ReLU()),
               ("drop2", nn.Dropout(min(0.5, 2 * dropout))),
               ("fc2", nn.Linear(hidden, num_classes, init=init))]
    config = {"name": "cnn_bn", "in_channels": in_channels, "num_classes": num_classes,
              "input_size": input_size, "channels": channels, "hidden": hidden,
              "dropout": dropout, "init": init}
    return CNNBN(layers, config)


class BasicBlock(Module):
    """ResNet's basic block (He et al., 2016): ``y = relu(bn2(conv2(relu(bn1(conv1(x))))) +
    shortcut(x))``, two 3x3 convolutions, the first with stride ``stride``; the shortcut is
    the identity, or ``downsample`` (1x1 convolution with that stride and BatchNorm) where
    the shape changes. Names as torchvision's, so its weights load."""

    def __init__(self, in_channels: int, channels: int, stride: int = 1, init=None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride=stride, padding=1, bias=False,
                               init=init)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False, init=init)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU()
        if stride != 1 or in_channels != channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, channels, 1, stride=stride, bias=False, init=init),
                nn.BatchNorm2d(channels))
        else:
            self.downsample = None

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)


class ResNet(Module):
    """The ResNet-18-style network built by ``resnet``."""

    def __init__(self, in_channels: int, num_classes: int, width: int, blocks,
                 init, config: dict) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 3, padding=1, bias=False, init=init)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU()
        previous = width
        for stage, count in enumerate(blocks):
            channels = width * 2 ** stage
            stride = 1 if stage == 0 else 2
            stage_blocks = []
            for index in range(count):
                stage_blocks.append(BasicBlock(previous, channels, stride if index == 0 else 1,
                                               init=init))
                previous = channels
            setattr(self, f"layer{stage + 1}", nn.Sequential(*stage_blocks))
        self.fc = nn.Linear(previous, num_classes, init=init)
        self.stages = len(blocks)
        self.config = config

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        for stage in range(1, self.stages + 1):
            x = getattr(self, f"layer{stage}")(x)
        return self.fc(x.mean(dim=(2, 3)))


def resnet(in_channels: int = 3, num_classes: int = 10, input_size: int = 32,
           width: int = 16, blocks=(2, 2, 2, 2), init=None) -> ResNet:
    """A ResNet-18-style network for small images (He et al., 2016, the CIFAR variant):
    a 3x3 stem ``conv width - BatchNorm - ReLU`` (no 7x7 convolution, no max pooling: 28x28
    and 32x32 inputs are small already), then stages of ``BasicBlock``s with
    ``width * 2**i`` channels, the first block of every stage after the first with stride
    2, global average pooling and a linear head. ``blocks=(2, 2, 2, 2)`` is ResNet-18's 8
    blocks (16 convolutions plus the head); torchvision's ResNet-18 has ``width=64``; the
    default 16 gives 0.7 M parameters, which trains on a CPU.

    For 32x32 input the stages see 32x32, 16x16, 8x8 and 4x4 maps (28x28: 28, 14, 7, 4).

    Args:
        in_channels: image channels.
        num_classes: outputs (logits).
        input_size: side of the square input images (at least ``2 ** (len(blocks) - 1)``).
        width: channels of the stem and the first stage.
        blocks: basic blocks per stage.
        init: weight initialization by name; None is PyTorch's default.

    Example:
        >>> import numnet
        >>> resnet(width=4)(numnet.zeros(2, 3, 32, 32)).shape
        (2, 10)
    """
    _check_init(init)
    blocks = [int(b) for b in blocks]
    if not blocks or min(blocks) < 1 or int(input_size) < 2 ** (len(blocks) - 1):
        raise ValueError(f"resnet needs at least one block per stage and inputs of at least "
                         f"{2 ** (len(blocks) - 1)} pixels a side, got blocks={blocks}, "
                         f"input_size={input_size}")
    config = {"name": "resnet", "in_channels": in_channels, "num_classes": num_classes,
              "input_size": input_size, "width": width, "blocks": blocks, "init": init}
    return ResNet(in_channels, num_classes, int(width), blocks, init, config)


MODELS = {"mlp": mlp, "lenet5": lenet5, "cifar_cnn": cifar_cnn, "cnn_bn": cnn_bn,
          "resnet": resnet, **char_lm.PRESETS}
"""Preset builders by config name (``lstm``, ``gru``, ``rnn``: the character language models
of ``numnet.char_lm``)."""


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
