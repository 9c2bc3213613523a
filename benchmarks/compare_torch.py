"""Training-step speed and memory, numnet against PyTorch, on this machine.

The models (``BENCHMARKS``; float32): the presets of ``numnet.models`` -- ``mlp`` 784-256-128-10
ReLU with batch 128, ``lenet5`` on 1x28x28 with batch 64, ``cifar_cnn`` on 3x32x32 with
batch 128, ``resnet`` (ResNet-18-style, width 16) on 3x32x32 with batch 64, ``cnn_bn`` (the
Fashion-MNIST recipe's network: two conv-BatchNorm-ReLU-maxpool stages, 32 and 64 filters)
on 1x28x28 with batch 128 -- and models
written the way PyTorch users write them, the same code run under both libraries:
``mnist_example`` (PyTorch's MNIST example: ``forward`` calling ``F.relu``, ``F.max_pool2d``,
dropout and ``flatten``; batch 64), ``transformer`` (one ``TransformerEncoderLayer``, d_model
128, 4 heads, sequence 64, batch 32), ``depthwise_sep`` (a MobileNet block: depthwise 3x3
with ``groups = 64`` and pointwise 1x1 on 64x28x28, batch 32), ``lstm_lm`` (a character
language model: ``Embedding(100, 64)``, 2-layer ``LSTM(64, 256)``, a ``Linear`` head at
each of 64 steps, batch 32) and ``gru`` (``GRU(32, 64)`` over 32 steps, batch 32). Both
libraries get the SAME weights (the torch model loads numnet's ``state_dict``) and the same
random batch, and time one training step:

    opt.zero_grad(); loss = cross_entropy(model(x), t); loss.backward(); opt.step()

(``nll_loss`` of the log-probabilities for ``mnist_example``)

with SGD (lr 0.01, momentum 0.9). Each library runs in its OWN subprocess (OpenBLAS and
OpenMP worker threads keep spinning after a call and would steal the other library's core),
alternating numnet, torch, numnet, torch, ... over ``--rounds`` rounds; every subprocess
warms up, then times ``--steps`` steps. Everything runs once with 1 thread and once with
``--threads`` N (numnet: ``numnet.set_num_threads(N)`` and N BLAS threads; torch:
``torch.set_num_threads(N)``).

Printed per model: median and fastest ms/step of each library over all rounds, the ratio
numnet / torch, and the peak memory of a step: the high-water mark of the process's resident
memory (``VmHWM``, reset through ``/proc/self/clear_refs``) during the timed steps, minus
the resident memory before the first full-size step (model, batch and libraries already
loaded by a step on 2 samples). It counts gradients, optimizer buffers, intermediates and
whatever the allocator or numnet's workspace keeps. Then a per-op-type forward / backward
breakdown of numnet's step (``numnet.autograd.profile``), and the per-op overhead of each
engine: a tiny op (``a * b`` on 1-element tensors, forward + backward) and a 10x10
``Linear`` training step (forward, MSE loss, backward, SGD-momentum step).

Last, "numnet convolutions against the GEMM floor": for every convolution layer (any
module whose class is ``Conv2d`` or a subclass; its input shape recorded by a forward
pre-hook on one forward pass, after the timed steps), in the same worker and thread
settings as the model's row, numnet's ``F.conv2d`` alone at that input, forward and
backward (median ms; the input gradient only where the layer's input requires grad in the
model, column ``gx``: not for a first layer), against its GEMM floor: the time the same BLAS
needs for the same multiply-adds at the same matrix shapes -- ``numpy.matmul`` (float32) of
the forward (K/G, C/G FH FW) x (C/G FH FW, N OH OW), the weight gradient (K/G, N OH OW) x
(N OH OW, C/G FH FW) and, with ``gx``, the input gradient (C/G FH FW, K/G) x (K/G, N OH OW) on
preallocated random arrays, each the best time on 1 or N BLAS threads (column ``BLAS``;
numnet itself splits its work over its own threads with a 1-thread BLAS), summed, times the
groups G -- with the ratio and the GFLOP/s the floor reached. A ratio near 1 means numnet's
convolution costs what its GEMMs cost; above it, the rest is im2col / col2im copies,
padding, the bias, the layout changes and threading overhead.

Usage:
    python benchmarks/compare_torch.py [--threads N] [--models mlp,lenet5,...]
        [--steps 20] [--warmup 3] [--rounds 3] [--smoke]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import gc
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from contextlib import nullcontext
from typing import Callable

LR, MOMENTUM = 0.01, 0.9


# ---------------------------------------------------------------------------------- models
def _classify(F, output, target):
    """Softmax cross entropy of (N, classes) logits against (N,) labels."""
    return F.cross_entropy(output, target)


def _images(shape: tuple, smoke_shape: tuple | None = None, classes: int = 10) -> Callable:
    """The input maker of an image model: a random float32 batch of ``shape`` samples (of
    ``smoke_shape`` ones under ``--smoke``) and integer labels."""
    def make(batch: int, smoke: bool, seed: int = 0):
        import numpy
        rng = numpy.random.default_rng(seed)
        sample = smoke_shape if smoke and smoke_shape is not None else shape
        x = rng.standard_normal((batch,) + tuple(sample), dtype=numpy.float32)
        t = rng.integers(0, classes, size=batch).astype(numpy.int64)
        return x, t
    return make


@dataclasses.dataclass(frozen=True)
class Benchmark:
    """One benchmark model.

    ``numnet_model(smoke)`` builds the numnet model (after ``numnet.manual_seed(0)``);
    ``torch_twin(net, smoke)`` builds the torch model of the same architecture and parameter
    names, into which the worker loads ``net``'s ``state_dict``, so both libraries start from
    the same weights; ``inputs(batch, smoke)`` makes the NumPy batch ``(x, t)``;
    ``loss(F, output, t)`` is the loss, written once for both libraries' ``functional``.
    """

    numnet_model: Callable
    torch_twin: Callable
    inputs: Callable
    batch: int
    smoke_batch: int
    loss: Callable = _classify


def _preset(name: str, arguments: dict, smoke_arguments: dict | None = None) -> Callable:
    """The builder of the numnet preset ``name`` (``numnet.models``)."""
    def build(smoke: bool):
        from numnet import models
        chosen = smoke_arguments if smoke and smoke_arguments is not None else arguments
        return models.MODELS[name](**chosen)
    return build


_LEAF_TWINS = {
    # numnet layer type name: its torch twin made from the numnet layer's attributes
    "Linear": lambda nn, m: nn.Linear(m.in_features, m.out_features, bias=m.bias is not None),
    "Conv2d": lambda nn, m: nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride,
                                      m.padding, getattr(m, "dilation", 1),
                                      getattr(m, "groups", 1), bias=m.bias is not None),
    "MaxPool2d": lambda nn, m: nn.MaxPool2d(m.kernel_size, m.stride, m.padding),
    "BatchNorm1d": lambda nn, m: nn.BatchNorm1d(m.num_features, m.eps, m.momentum),
    "BatchNorm2d": lambda nn, m: nn.BatchNorm2d(m.num_features, m.eps, m.momentum),
    "Dropout": lambda nn, m: nn.Dropout(m.p),
    "ReLU": lambda nn, m: nn.ReLU(),
    "Flatten": lambda nn, m: nn.Flatten(),
    "Identity": lambda nn, m: nn.Identity(),
}


def torch_twin(module, smoke: bool = False):
    """The torch module of a numnet model: the same tree, names and layer arguments.

    Layers become their torch counterparts (``_LEAF_TWINS``); a ``Sequential`` subclass a
    torch ``Sequential``; any other module (a preset's residual block, the ResNet) a torch
    ``Module`` that runs the numnet class's own ``forward`` -- code written against the torch
    API runs under both libraries -- with the same submodules and plain attributes.
    """
    import collections
    import types

    from torch import nn
    kind = type(module)
    names = [k.__name__ for k in kind.__mro__]
    leaf = next((name for name in names if name in _LEAF_TWINS), None)
    if leaf is not None:
        return _LEAF_TWINS[leaf](nn, module)
    children = [(name, torch_twin(child)) for name, child in module.named_children()]
    if "Sequential" in names:
        return nn.Sequential(collections.OrderedDict(children))
    twin = nn.Module()
    for name, value in vars(module).items():
        if not name.startswith("_") and not callable(value):
            setattr(twin, name, value)
    for name, child in children:
        setattr(twin, name, child)
    for name in module._modules:
        if module._modules[name] is None:
            setattr(twin, name, None)
    twin.forward = types.MethodType(kind.forward, twin)
    return twin


def _written(factory: Callable) -> tuple:
    """``(numnet_model, torch_twin)`` for a model written once, as a user writes it, by
    ``factory(lib, smoke)`` for the library module ``lib`` (numnet or torch): the same code
    runs under both with only the import changed."""
    def numnet_model(smoke: bool):
        import numnet
        return factory(numnet, smoke)

    def torch_twin(net, smoke: bool):
        import torch
        return factory(torch, smoke)
    return numnet_model, torch_twin


def _mnist_example(lib, smoke: bool):
    """PyTorch's MNIST example network (its ``forward`` calls ``F.*``; no Sequential)."""
    nn, F = lib.nn, lib.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, 1)
            self.conv2 = nn.Conv2d(32, 64, 3, 1)
            self.dropout1 = nn.Dropout(0.25)
            self.dropout2 = nn.Dropout(0.5)
            self.fc1 = nn.Linear(9216 if not smoke else 64 * 2 * 2, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.relu(self.conv2(x))
            x = F.max_pool2d(x, 2)
            x = self.dropout1(x)
            x = lib.flatten(x, 1)
            x = self.dropout2(F.relu(self.fc1(x)))
            return F.log_softmax(self.fc2(x), dim=1)
    return Net()


def _nll(F, output, target):
    """Negative log-likelihood of (N, classes) log-probabilities against (N,) labels."""
    return F.nll_loss(output, target)


def _transformer(lib, smoke: bool):
    """One ``TransformerEncoderLayer`` (d_model 128, 4 heads, feed-forward 512, no dropout,
    batch first) over a sequence, its outputs averaged over time, and a linear head."""
    nn = lib.nn
    d_model, heads = (16, 2) if smoke else (128, 4)

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.TransformerEncoderLayer(d_model, heads, 4 * d_model, dropout=0.0,
                                                    batch_first=True)
            self.head = nn.Linear(d_model, 10)

        def forward(self, x):
            return self.head(self.layer(x).mean(dim=1))
    return Encoder()


def _depthwise_separable(lib, smoke: bool):
    """A MobileNet block: depthwise 3x3 (``groups = channels``) - ReLU - pointwise 1x1 -
    ReLU on 64 channels, averaged over the image, and a linear head."""
    nn, F = lib.nn, lib.nn.functional
    channels = 8 if smoke else 64

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.depthwise = nn.Conv2d(channels, channels, 3, padding=1, groups=channels)
            self.pointwise = nn.Conv2d(channels, 2 * channels, 1)
            self.head = nn.Linear(2 * channels, 10)

        def forward(self, x):
            x = F.relu(self.pointwise(F.relu(self.depthwise(x))))
            return self.head(x.mean(dim=(2, 3)))
    return Block()


def _tokens(steps: int, vocab: int, smoke_steps: int, smoke_vocab: int) -> Callable:
    """The input maker of a language model: random int64 tokens (batch, steps) and the
    next-token targets (batch * steps,)."""
    def make(batch: int, smoke: bool, seed: int = 0):
        import numpy
        rng = numpy.random.default_rng(seed)
        length, classes = (smoke_steps, smoke_vocab) if smoke else (steps, vocab)
        x = rng.integers(0, classes, size=(batch, length)).astype(numpy.int64)
        t = rng.integers(0, classes, size=batch * length).astype(numpy.int64)
        return x, t
    return make


def _lstm_language_model(lib, smoke: bool):
    """A character-level language model: ``Embedding(100, 64)``, a 2-layer ``LSTM(64, 256)``
    (batch first; torch runs its fused kernel) and a ``Linear(256, 100)`` at every step."""
    nn = lib.nn
    vocab, width, hidden = (12, 8, 16) if smoke else (100, 64, 256)

    class LanguageModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocab, width)
            self.lstm = nn.LSTM(width, hidden, num_layers=2, batch_first=True)
            self.head = nn.Linear(hidden, vocab)

        def forward(self, x):
            output, _ = self.lstm(self.embedding(x))
            return self.head(output).reshape(-1, vocab)
    return LanguageModel()


def _gru_classifier(lib, smoke: bool):
    """A small GRU: ``GRU(32, 64)`` over 32 steps (batch first), its last hidden state into
    a ``Linear(64, 10)``."""
    nn = lib.nn
    width, hidden = (8, 16) if smoke else (32, 64)

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(width, hidden, batch_first=True)
            self.head = nn.Linear(hidden, 10)

        def forward(self, x):
            _, h_n = self.gru(x)
            return self.head(h_n[-1])
    return Classifier()


BENCHMARKS = {
    "mlp": Benchmark(_preset("mlp", {"sizes": [784, 256, 128, 10]}, {"sizes": [64, 32, 10]}),
                     torch_twin, _images((784,), (64,)), 128, 16),
    "lenet5": Benchmark(_preset("lenet5", {}), torch_twin, _images((1, 28, 28)), 64, 4),
    "cifar_cnn": Benchmark(_preset("cifar_cnn", {}, {"input_size": 8}), torch_twin,
                           _images((3, 32, 32), (3, 8, 8)), 128, 4),
    "resnet": Benchmark(_preset("resnet", {}, {"width": 4, "input_size": 8}), torch_twin,
                        _images((3, 32, 32), (3, 8, 8)), 64, 2),
    "cnn_bn": Benchmark(_preset("cnn_bn", {}, {"input_size": 8}), torch_twin,
                        _images((1, 28, 28), (1, 8, 8)), 128, 4),
    "mnist_example": Benchmark(*_written(_mnist_example), _images((1, 28, 28), (1, 8, 8)), 64,
                               4, _nll),
    "transformer": Benchmark(*_written(_transformer), _images((64, 128), (8, 16)), 32, 2),
    "depthwise_sep": Benchmark(*_written(_depthwise_separable), _images((64, 28, 28),
                                                                        (8, 8, 8)), 32, 2),
    # recurrent
    "lstm_lm": Benchmark(*_written(_lstm_language_model), _tokens(64, 100, 6, 12), 32, 2),
    "gru": Benchmark(*_written(_gru_classifier), _images((32, 32), (6, 8)), 32, 2),
}
"""The models, by name: the presets' rows first, then models written as users write them."""


# ---------------------------------------------------------------------------------- workers
def _models(name: str, smoke: bool, lib: str):
    """The model of benchmark ``name`` in library ``lib``, with numnet's seeded weights."""
    import numnet
    bench = BENCHMARKS[name]
    numnet.manual_seed(0)
    net = bench.numnet_model(smoke)
    if lib == "numnet":
        return net
    import numpy
    import torch
    model = bench.torch_twin(net, smoke)
    state = {key: torch.from_numpy(numpy.array(value, copy=True))
             for key, value in net.state_dict().items()}
    model.load_state_dict(state)
    return model


def _step_maker(lib: str, name: str, smoke: bool):
    """``make(batch) -> step``: one SGD training step of the model on a fixed batch."""
    mod = importlib.import_module(lib)
    bench = BENCHMARKS[name]
    model = _models(name, smoke, lib)
    opt = mod.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)

    def make(batch_size):
        x, t = (mod.from_numpy(a) for a in bench.inputs(batch_size, smoke))

        def step():
            opt.zero_grad()
            loss = bench.loss(mod.nn.functional, model(x), t)
            loss.backward()
            opt.step()
            return loss
        step.x = x
        return step
    make.model = model
    return make


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def _overhead(lib: str, reps: int) -> dict:
    """µs per tiny op (``a * b``, forward + backward) and per 10x10 Linear training step."""
    if lib == "numnet":
        import numnet as mod
        nn, F = mod.nn, mod.nn.functional
        optim = mod.optim
    else:
        import torch as mod
        nn, F = mod.nn, mod.nn.functional
        optim = mod.optim
    a = mod.tensor(1.5, requires_grad=True)
    b = mod.tensor(2.0, requires_grad=True)

    def tiny():
        (a * b).backward()

    mod.manual_seed(0)
    layer = nn.Linear(10, 10)
    opt = optim.SGD(layer.parameters(), lr=LR, momentum=MOMENTUM)
    x, target = mod.ones(10, 10), mod.zeros(10, 10)

    def linear_step():
        opt.zero_grad()
        F.mse_loss(layer(x), target).backward()
        opt.step()

    result = {}
    for key, fn in (("tiny_op_us", tiny), ("linear10_step_us", linear_step)):
        for _ in range(reps // 10):
            fn()
        best = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(reps):
                fn()
            best.append((time.perf_counter() - start) / reps * 1e6)
        result[key] = statistics.median(best)
    return result


def _conv_inputs(model, x) -> list:
    """``(name, layer, input shape, whether the input requires grad)`` of every convolution
    layer of ``model`` (any module whose class, or a base of it, is named ``Conv2d``), in the
    order a training forward pass on ``x`` reaches them, recorded by forward pre-hooks
    (which also turn ``nn.Sequential``'s fusion off for that one pass)."""
    import numnet
    seen, handles = [], []
    for name, module in model.named_modules():
        if "Conv2d" in (kind.__name__ for kind in type(module).__mro__):
            def record(layer, inputs, name=name):
                seen.append((name, layer, tuple(inputs[0].shape), inputs[0].requires_grad))
            handles.append(module.register_forward_pre_hook(record))
    try:
        model(numnet.from_numpy(x) if not isinstance(x, numnet.Tensor) else x)
    finally:
        for handle in handles:
            handle.remove()
    return seen


def _conv_args(layer) -> str:
    """``C->K FHxFW s.. p.. d.. g..``: a convolution layer's arguments, short."""
    def pair(value):
        value = value if isinstance(value, (str, int)) else tuple(value)
        if isinstance(value, tuple) and len(set(value)) == 1:
            value = value[0]
        return "x".join(map(str, value)) if isinstance(value, tuple) else str(value)
    return (f"{layer.in_channels}->{layer.out_channels} {pair(layer.kernel_size)} "
            f"s{pair(layer.stride)} p{pair(layer.padding)} d{pair(layer.dilation)} "
            f"g{layer.groups}")


def _times_ms(fn, budget_s: float, most: int) -> list:
    """The ms of each of as many calls of ``fn()`` (3 to ``most``) as fit in about
    ``budget_s`` seconds, after one warm-up call."""
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    reps = max(3, min(most, int(budget_s / max(first, 1e-6))))
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return times


def _conv_ms(layer, shape: tuple, input_grad: bool, rng, budget: float, most: int) -> tuple:
    """``(median ms, output shape)`` of ``F.conv2d`` forward + backward with ``layer``'s
    weight and arguments on a random input of ``shape`` (which requires grad when
    ``input_grad``: where it does in the model)."""
    import numpy

    import numnet
    F = numnet.nn.functional
    x = numnet.from_numpy(rng.standard_normal(shape, dtype=numpy.float32))
    padding = layer.padding
    if layer.padding_mode != "zeros":  # as the layer does: F.pad, then no padding
        x = F.pad(x, layer._reversed_padding_repeated_twice, mode=layer.padding_mode)
        padding = 0
    w = numnet.from_numpy(layer.weight.detach().numpy().copy())
    b = None if layer.bias is None else numnet.from_numpy(layer.bias.detach().numpy().copy())
    leaves = [t for t in (x if input_grad else None, w, b) if t is not None]
    for leaf in leaves:
        leaf.requires_grad_()
    conv_args = (layer.stride, padding, layer.dilation, layer.groups)
    with numnet.no_grad():
        out_shape = tuple(F.conv2d(x, w, b, *conv_args).shape)
    gy = numnet.from_numpy(rng.standard_normal(out_shape, dtype=numpy.float32))

    def conv_step():
        for leaf in leaves:
            leaf.grad = None
        F.conv2d(x, w, b, *conv_args).backward(gy)

    return statistics.median(_times_ms(conv_step, budget, most)), out_shape


def _matmul_ms(m: int, inner: int, n: int, threads: int, rng, budget: float,
               most: int) -> tuple:
    """``(best ms, BLAS threads)`` of ``numpy.matmul`` of random float32 (m, inner) and
    (inner, n) arrays into a preallocated (m, n) one, on the faster of 1 and ``threads``
    BLAS threads."""
    import numpy

    import numnet
    a = rng.standard_normal((m, inner), dtype=numpy.float32)
    b = rng.standard_normal((inner, n), dtype=numpy.float32)
    c = numpy.empty((m, n), numpy.float32)
    best = {}
    for blas in sorted({1, threads}):
        with numnet.backend.single_threaded_blas() if blas == 1 else nullcontext():
            best[blas] = min(_times_ms(lambda: numpy.matmul(a, b, out=c), budget, most))
    fastest = min(best, key=best.get)
    return best[fastest], fastest


def _conv_floors(model, x, threads: int, smoke: bool) -> list:
    """Per convolution layer of ``model`` (input ``x``): numnet's forward + backward ms of
    ``F.conv2d`` alone at the layer's input shape (``_conv_ms``), and its GEMM floor: the
    best ms of ``numpy.matmul`` (float32) for the convolution's forward, weight-gradient and
    (where the layer's input requires grad in the model: not for a first layer)
    input-gradient products per group, (K/G, C/G FH FW) x (C/G FH FW, N OH OW),
    (K/G, N OH OW) x (N OH OW, C/G FH FW) and (C/G FH FW, K/G) x (K/G, N OH OW), summed,
    times the groups G."""
    import numpy
    rng = numpy.random.default_rng(0)
    budget, most = (0.02, 3) if smoke else (0.3, 20)
    layers = []
    for name, layer, shape, input_grad in _conv_inputs(model, x):
        shape = shape if len(shape) == 4 else (1,) + shape
        numnet_ms, out_shape = _conv_ms(layer, shape, input_grad, rng, budget, most)
        groups = layer.groups
        k, taps = layer.out_channels // groups, int(numpy.prod(layer.weight.shape[1:]))
        columns = out_shape[0] * out_shape[2] * out_shape[3]
        floor_ms, used = 0.0, set()
        products = [(k, taps, columns), (k, columns, taps)] + input_grad * [(taps, k, columns)]
        for m, inner, n in products:
            ms, blas = _matmul_ms(m, inner, n, threads, rng, budget, most)
            floor_ms += groups * ms
            used.add(blas)
        flops = len(products) * 2 * groups * k * taps * columns
        layers.append({"name": name, "shape": list(shape), "args": _conv_args(layer),
                       "input_grad": input_grad,
                       "numnet_ms": numnet_ms, "floor_ms": floor_ms,
                       "gflops": flops / floor_ms / 1e6,
                       "blas_threads": "+".join(map(str, sorted(used)))})
    return layers


def _worker(args) -> None:
    threads = args.threads
    if args.worker == "numnet":
        import numnet
        numnet.set_num_threads(threads)
        _limit_blas(threads)
    else:
        import torch
        torch.set_num_threads(threads)
        torch.set_num_interop_threads(1)
    if args.model == "overhead":
        print(json.dumps(_overhead(args.worker, 200 if args.smoke else 2000)))
        return
    bench = BENCHMARKS[args.model]
    batch = bench.smoke_batch if args.smoke else bench.batch
    maker = _step_maker(args.worker, args.model, args.smoke)
    maker(2)()  # loads the code paths on a tiny batch
    step = maker(batch)
    gc.collect()
    before = _rss_kib("VmRSS")
    can_peak = _reset_peak()
    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.steps):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1e3)
    peak = (_rss_kib("VmHWM") - before) / 1024 if can_peak else None
    result = {"times": times, "peak_mib": peak}
    if args.worker == "numnet":
        from numnet.autograd import profile
        with profile() as prof:
            for _ in range(max(1, args.steps // 4)):
                step()
        calls = max(1, args.steps // 4)
        result["ops"] = [(name, f / calls * 1e3, b / calls * 1e3, n // calls)
                         for name, f, b, n in prof.table()]
        result["blas"] = _blas_info()
        result["convs"] = _conv_floors(maker.model, step.x, threads, args.smoke)
    print(json.dumps(result))


def _limit_blas(threads: int) -> None:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(threads, user_api="blas")


def _blas_info() -> str:
    try:
        import numpy  # noqa: F401 - loads the BLAS that threadpoolctl reports
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    pools = [p for p in threadpool_info() if p["user_api"] == "blas"]
    return "; ".join(f"{p['internal_api']} {p.get('version')} {p.get('architecture')} kernel, "
                     f"{p['num_threads']} threads max" for p in pools) or "none found"


# ---------------------------------------------------------------------------------- driver
def _run(lib: str, model: str, threads: int, args) -> dict:
    command = [sys.executable, os.path.abspath(__file__), "--worker", lib, "--model", model,
               "--threads", str(threads), "--steps", str(args.steps),
               "--warmup", str(args.warmup)]
    if args.smoke:
        command.append("--smoke")
    env = dict(os.environ)
    for key in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[key] = str(threads)
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{lib} {model} worker failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _print_floors(convs: dict) -> None:
    """The section "numnet convolutions against the GEMM floor": one line per (model, layer,
    threads), medians over the rounds."""
    lines = []
    for (model, threads), rounds in convs.items():
        for index, layer in enumerate(rounds[0]):
            numnet_ms = statistics.median(r[index]["numnet_ms"] for r in rounds)
            floor_ms = statistics.median(r[index]["floor_ms"] for r in rounds)
            gflops = statistics.median(r[index]["gflops"] for r in rounds)
            shape = "x".join(map(str, layer["shape"]))
            gx = "yes" if layer["input_grad"] else "no"
            lines.append(f"  {model:<14} {layer['name']:<26} {threads:>3} {shape:>14} "
                         f"{layer['args']:<24} {gx:>3} {numnet_ms:8.3f} {floor_ms:8.3f} "
                         f"{numnet_ms / floor_ms:5.2f} {gflops:7.1f} {layer['blas_threads']:>4}")
    if not lines:
        return
    print("\nnumnet convolutions against the GEMM floor (F.conv2d alone at the layer's input, "
          "forward + backward, median ms, the input gradient where the model needs it (gx); "
          "floor: numpy.matmul at those GEMM shapes, best ms, summed, on the BLAS thread "
          "count(s) in column BLAS):")
    print(f"  {'model':<14} {'layer':<26} {'thr':>3} {'input':>14} {'args':<24} {'gx':>3} "
          f"{'numnet':>8} {'floor':>8} {'ratio':>5} {'GFLOP/s':>7} {'BLAS':>4}")
    print("\n".join(lines))


def _fmt(value, spec: str = "8.2f") -> str:
    return "     n/a" if value is None else format(value, spec)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="threads of the multi-threaded runs (default: all cores)")
    parser.add_argument("--models", default=",".join(BENCHMARKS),
                        help="comma-separated (default: all of %(default)s)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per subprocess")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny models, 1 round, 2 steps: checks that it runs")
    parser.add_argument("--worker", choices=("numnet", "torch"), help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.smoke:
        args.steps, args.warmup, args.rounds = 2, 1, 1
    if args.worker:
        _worker(args)
        return 0
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown model(s) {unknown}; known: {', '.join(BENCHMARKS)}")
    thread_counts = sorted({1, max(1, args.threads)})
    if args.smoke:
        thread_counts = thread_counts[-1:]
    blas_env = {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS")}
    import numpy
    import torch
    print(f"numnet vs PyTorch {torch.__version__}, {datetime.date.today().isoformat()}, "
          f"{platform.python_implementation()} {platform.python_version()}, NumPy "
          f"{numpy.__version__}, {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"OPENBLAS environment: {blas_env or 'none set'}")
    print(f"{args.rounds} round(s), each library in its own subprocess, alternating; "
          f"{args.warmup} warm-up + {args.steps} timed steps per subprocess; float32, "
          f"SGD momentum {MOMENTUM}")
    header = (f"{'model':<14} {'thr':>3} | {'numnet ms':>9} {'(min)':>7} | {'torch ms':>9} "
              f"{'(min)':>7} | {'ratio':>5} {'(min)':>5} | {'peak MiB numnet':>15} "
              f"{'torch':>6}")
    rows, breakdowns, blas, convs = [], {}, None, {}
    for threads in thread_counts:
        for model in models:
            times = {"numnet": [], "torch": []}
            peaks = {"numnet": [], "torch": []}
            for _ in range(args.rounds):
                for lib in ("numnet", "torch"):
                    result = _run(lib, model, threads, args)
                    times[lib] += result["times"]
                    if result["peak_mib"] is not None:
                        peaks[lib].append(result["peak_mib"])
                    if lib == "numnet":
                        breakdowns[(model, threads)] = result["ops"]
                        convs.setdefault((model, threads), []).append(result["convs"])
                        blas = result["blas"]
            med = {lib: statistics.median(v) for lib, v in times.items()}
            low = {lib: min(v) for lib, v in times.items()}
            peak = {lib: (max(v) if v else None) for lib, v in peaks.items()}
            rows.append(f"{model:<14} {threads:>3} | {med['numnet']:9.2f} {low['numnet']:7.2f} "
                        f"| {med['torch']:9.2f} {low['torch']:7.2f} | "
                        f"{med['numnet'] / med['torch']:5.2f} {low['numnet'] / low['torch']:5.2f}"
                        f" | {_fmt(peak['numnet'], '15.1f')} {_fmt(peak['torch'], '6.1f')}")
            print(rows[-1] if len(rows) > 1 else header + "\n" + rows[-1], flush=True)
    print(f"\nnumnet's BLAS: {blas}")
    print("peak MiB: resident-memory high-water mark of the timed steps above the resident "
          "memory before them (largest over the rounds)")
    for (model, threads), ops in breakdowns.items():
        total = sum(f + b for _, f, b, _ in ops)
        print(f"\nnumnet per-op time, {model}, {threads} thread(s) (ms per step; ops total "
              f"{total:.2f} ms):")
        print(f"  {'op':<16} {'forward':>8} {'backward':>8} {'calls':>5}")
        if any(name == "Conv2dReLU" for name, *_ in ops):
            print("  (Conv2dReLU: a convolution, its ReLU and the max pooling after it, where "
                  "there is one, fused by nn.Sequential)")
        if any(name == "ReLUMaxPool2d" for name, *_ in ops):
            print("  (ReLUMaxPool2d: a ReLU and the max pooling after it, fused by "
                  "nn.Sequential)")
        for name, fwd, bwd, calls in ops:
            print(f"  {name:<16} {fwd:8.3f} {bwd:8.3f} {calls:>5}")
    _print_floors(convs)
    print("\nper-op overhead (1 thread, median of 5 runs):")
    over = {lib: [] for lib in ("numnet", "torch")}
    for _ in range(args.rounds):
        for lib in ("numnet", "torch"):
            over[lib].append(_run(lib, "overhead", 1, args))
    for key, label in (("tiny_op_us", "tiny op a*b, forward + backward"),
                       ("linear10_step_us", "10x10 Linear training step")):
        n = statistics.median(r[key] for r in over["numnet"])
        t = statistics.median(r[key] for r in over["torch"])
        print(f"  {label:<34} numnet {n:8.1f} us   torch {t:8.1f} us   ratio {n / t:5.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
