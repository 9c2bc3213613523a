"""More of ``EXPORTERS`` (see ``_export_ops``): the activations of
``ops.activation_piecewise`` and ``ops.activation_smooth``, ``embedding``, the transposed
convolution, the reflect/replicate/circular paddings, group and instance normalization,
``normalize``, local response normalization, ``index_select repeat flip tril triu prod``."""

from __future__ import annotations

import numpy

from numnet.onnx._export_ops import _unbatched
from numnet.onnx._graph import INT64_MAX, ExportError
from numnet.ops import (
    activation_piecewise,
    activation_smooth,
    conv_transpose,
    embedding,
    indexing,
    layout,
    normalization,
    reduction,
)
from numnet.ops import padding as padding_ops


def _hardtanh(b, fn, xs, outs):
    x = xs[0]
    b.node("Clip", [x.name, b.scalar(fn.min_val, x.dtype), b.scalar(fn.max_val, x.dtype)],
           outs)


def _hardsigmoid(b, fn, xs, outs):
    b.node("HardSigmoid", [xs[0].name], outs, alpha=1 / 6, beta=0.5)


def _hardswish(b, fn, xs, outs):
    b.node("HardSwish", [xs[0].name], outs)


def _prelu(b, fn, xs, outs):
    x, w = xs
    shape = [] if int(numpy.prod(w.shape)) == 1 else [-1] + [1] * (x.ndim - 2)
    b.node("PRelu", [x.name, b.node("Reshape", [w.name, b.ints(shape)])], outs)


def _threshold(b, fn, xs, outs):
    x = xs[0]
    above = b.node("Greater", [x.name, b.scalar(fn.threshold, x.dtype)])
    b.node("Where", [above, x.name, b.scalar(fn.value, x.dtype)], outs)


def _shrink(b, fn, xs, outs):
    b.node("Shrink", [xs[0].name], outs, lambd=float(fn.lambd),
           bias=float(fn.lambd) if fn.soft else 0.0)


def _silu(b, fn, xs, outs):
    b.node("Mul", [xs[0].name, b.node("Sigmoid", [xs[0].name])], outs)


def _elu(b, fn, xs, outs):
    x = xs[0]
    alpha, scale, input_scale = float(fn.alpha), float(fn.scale), float(fn.input_scale)
    if scale == 1 and input_scale == 1:
        b.node("Elu", [x.name], outs, alpha=alpha)
    elif input_scale == 1:
        b.node("Selu", [x.name], outs, alpha=alpha, gamma=scale)
    elif scale == 1 and abs(alpha * input_scale - 1) < 1e-12:
        b.node("Celu", [x.name], outs, alpha=alpha)
    else:
        inner = b.node("Mul", [x.name, b.scalar(input_scale, x.dtype)])
        negative = b.node("Mul", [b.node("Elu", [inner], alpha=1.0),
                                  b.scalar(scale * alpha, x.dtype)])
        positive = b.node("Mul", [x.name, b.scalar(scale, x.dtype)])
        above = b.node("Greater", [x.name, b.scalar(0, x.dtype)])
        b.node("Where", [above, positive, negative], outs)


def _softplus(b, fn, xs, outs):
    x = xs[0]
    z = b.node("Mul", [x.name, b.scalar(fn.beta, x.dtype)])
    smooth = b.node("Div", [b.node("Softplus", [z]), b.scalar(fn.beta, x.dtype)])
    linear = b.node("Greater", [z, b.scalar(fn.threshold, x.dtype)])
    b.node("Where", [linear, x.name, smooth], outs)


def _mish(b, fn, xs, outs):
    x = xs[0].name
    b.node("Mul", [x, b.node("Tanh", [b.node("Softplus", [x])])], outs)


def _logsigmoid(b, fn, xs, outs):
    b.node("Neg", [b.node("Softplus", [b.node("Neg", [xs[0].name])])], outs)


def _glu(b, fn, xs, outs):
    x = xs[0]
    axis = fn.axis % x.ndim
    half = x.shape[axis] // 2
    first, second = b.node("Split", [x.name, b.ints([half, half])], 2, axis=axis)
    b.node("Mul", [first, b.node("Sigmoid", [second])], outs)


def _embedding(b, fn, xs, outs):
    if fn.indices.dtype.kind not in "iu":
        raise ExportError("Embedding: indices must be integers")
    indices = b.input_of(fn.indices)
    if indices is None:
        b.check_fixed("Embedding", fn.indices, getattr(b.twin, "indices", None))
        indices = b.const(fn.indices.astype(numpy.int64))
    b.node("Gather", [xs[0].name, indices], outs, axis=0)


def _conv_transpose(b, fn, xs, outs):
    x, weight = xs[0], xs[1]
    attributes = dict(kernel_shape=list(weight.shape[2:]), strides=list(fn.stride),
                      pads=list(fn.padding) * 2, output_padding=list(fn.output_padding),
                      dilations=list(fn.dilation), group=int(fn.groups))
    inputs = [weight.name] + ([xs[2].name] if len(xs) > 2 else [])

    def run(name, out):
        return b.node("ConvTranspose", [name] + inputs, out, **attributes)

    _unbatched(b, x, run, outs)


def _group_norm(b, fn, xs, outs):
    """``GroupNorm`` (and instance norm, G = C) as its formula: ONNX's GroupNormalization
    changed its meaning between opsets 18 and 21."""
    x = xs[0]
    grouped = b.node("Reshape", [x.name, b.ints([0, fn.groups, -1])])
    mean = b.reduce("ReduceMean", grouped, [2], True)
    centered = b.node("Sub", [grouped, mean])
    var = b.reduce("ReduceMean", b.node("Mul", [centered, centered]), [2], True)
    std = b.node("Sqrt", [b.node("Add", [var, b.scalar(fn.eps, x.dtype)])])
    last = None if fn.has_weight or fn.has_bias else outs
    y = b.node("Reshape", [b.node("Div", [centered, std]), b.ints([0] + list(x.shape[1:]))],
               last)
    channel = b.ints([-1] + [1] * (x.ndim - 2))
    if fn.has_weight:
        scale = b.node("Reshape", [xs[1].name, channel])
        y = b.node("Mul", [y, scale], None if fn.has_bias else outs)
    if fn.has_bias:
        b.node("Add", [y, b.node("Reshape", [xs[-1].name, channel])], outs)


def _normalize(b, fn, xs, outs):
    x = xs[0]
    axes = [fn.dim % x.ndim]
    if fn.p == 2:
        norm = b.node("Sqrt", [b.reduce("ReduceSum", b.node("Mul", [x.name, x.name]), axes,
                                        True)])
    elif fn.p == 1:
        norm = b.reduce("ReduceSum", b.node("Abs", [x.name]), axes, True)
    elif fn.p == numpy.inf:
        norm = b.reduce("ReduceMax", b.node("Abs", [x.name]), axes, True)
    else:
        powers = b.node("Pow", [b.node("Abs", [x.name]), b.scalar(fn.p, x.dtype)])
        norm = b.node("Pow", [b.reduce("ReduceSum", powers, axes, True),
                              b.scalar(1 / fn.p, x.dtype)])
    divisor = b.node("Max", [norm, b.scalar(fn.eps, x.dtype)])
    b.node("Div", [x.name, divisor], outs)


def _local_response_norm(b, fn, xs, outs):
    if fn.size % 2 == 0:
        raise ExportError(f"LocalResponseNorm of even size {fn.size}: ONNX's LRN centres an "
                          "even window one channel later than PyTorch's")
    b.node("LRN", [xs[0].name], outs, size=int(fn.size), alpha=float(fn.alpha),
           beta=float(fn.beta), bias=float(fn.k))


def _index_select(b, fn, xs, outs):
    indices = b.input_of(fn.index)
    if indices is None:
        b.check_fixed("IndexSelect", fn.index, getattr(b.twin, "index", None))
        indices = b.const(numpy.asarray(fn.index, numpy.int64))
    b.node("Gather", [xs[0].name, indices], outs, axis=fn.axis % xs[0].ndim)


def _repeat(b, fn, xs, outs):
    x = xs[0].name
    lead = len(fn.sizes) - xs[0].ndim
    if lead:
        x = b.node("Unsqueeze", [x, b.ints(range(lead))])
    b.node("Tile", [x, b.ints(fn.sizes)], outs)


def _flip(b, fn, xs, outs):
    x = xs[0]
    axes = [d % x.ndim for d in fn.dims]
    if not axes:
        b.node("Identity", [x.name], outs)
        return
    minimum = -INT64_MAX - 1
    b.node("Slice", [x.name, b.ints([-1] * len(axes)), b.ints([minimum] * len(axes)),
                     b.ints(axes), b.ints([-1] * len(axes))], outs)


def _triangle(upper: int):
    def export(b, fn, xs, outs):
        k = b.const(numpy.asarray(fn.k, numpy.int64))
        b.node("Trilu", [xs[0].name, k], outs, upper=upper)
    return export


def _prod(b, fn, xs, outs):
    b.reduce("ReduceProd", xs[0].name, fn.axes, fn.keepdim, outs)


_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _pad_edges(b, fn, xs, outs):
    x = xs[0]
    if fn.mode == "circular" and b.opset < 19:
        raise ExportError("circular padding needs ONNX opset 19 or later (Pad mode 'wrap')")
    widths = [(0, 0)] * x.ndim
    for axis, left, right in padding_ops._pairs(fn.pad, x.ndim):
        if left < 0 or right < 0:
            raise ExportError(f"{fn.mode} padding with negative amounts (cropping) has no "
                              "ONNX mapping in numnet")
        widths[axis] = (left, right)
    pads = [a for a, _ in widths] + [c for _, c in widths]
    b.node("Pad", [x.name, b.ints(pads)], outs, mode=_PAD_MODES[fn.mode])


EXPORTERS = {
    activation_piecewise.Hardtanh: _hardtanh,
    activation_piecewise.Hardsigmoid: _hardsigmoid,
    activation_piecewise.Hardswish: _hardswish,
    activation_piecewise.PReLU: _prelu,
    activation_piecewise.Threshold: _threshold,
    activation_piecewise.Shrink: _shrink,
    activation_smooth.SiLU: _silu,
    activation_smooth.ELU: _elu,
    activation_smooth.Softplus: _softplus,
    activation_smooth.Mish: _mish,
    activation_smooth.LogSigmoid: _logsigmoid,
    activation_smooth.GLU: _glu,
    embedding.Embedding: _embedding,
    conv_transpose.ConvTranspose2d: _conv_transpose,
    padding_ops.PadEdges: _pad_edges,
    normalization.GroupNorm: _group_norm,
    normalization.Normalize: _normalize,
    normalization.LocalResponseNorm: _local_response_norm,
    indexing.IndexSelect: _index_select,
    layout.Repeat: _repeat,
    layout.Flip: _flip,
    layout.Tril: _triangle(0),
    layout.Triu: _triangle(1),
    reduction.Prod: _prod,
}
