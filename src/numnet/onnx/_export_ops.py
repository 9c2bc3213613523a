"""How each numnet ``Function`` becomes ONNX nodes: ``EXPORTERS[type(fn)](b, fn, xs, outs)``.

``b`` is the ``Builder``, ``fn`` the recorded Function (its attributes are the op's
arguments: ``stride``, ``dim``, ...), ``xs`` its inputs as ``Value``s (name, traced shape,
dtype, array) and ``outs`` the names its outputs must have. An exporter appends the nodes
that compute exactly what the Function's ``forward`` did. Lookup is by the exact class (a
subclass such as ``NanSum`` may compute something else than its base), so an op that is not
in ``EXPORTERS`` stops the export with its name instead of being written wrongly.

Shapes are written so a dynamic batch axis keeps working: a reshape keeps the leading dims
it does not change as ``0`` (copy) and writes ``-1`` for the first one it does change;
broadcasts and slices name only the axes they act on.
"""

from __future__ import annotations

import math

import numpy

from numnet.onnx._graph import INT64_MAX, ExportError
from numnet.ops import (
    activation,
    arithmetic,
    attention,
    conv,
    conv_relu,
    elementwise,
    gelu,
    layout,
    normalization,
    padding,
    pool,
    promotion,
    reduction,
    scan,
    shape,
    unary,
)


def _single(name):
    def export(b, fn, xs, outs):
        b.node(name, [xs[0].name], outs)
    return export


def _binary(name):
    def export(b, fn, xs, outs):
        b.node(name, [xs[0].name, xs[1].name], outs)
    return export


def _scaled_binary(name):
    """``Add``/``Sub`` with ``alpha``: ``a op alpha b``."""
    def export(b, fn, xs, outs):
        other = xs[1].name
        if fn.alpha != 1:
            other = b.node("Mul", [other, b.scalar(fn.alpha, xs[1].dtype)])
        b.node(name, [xs[0].name, other], outs)
    return export


def _linear(b, fn, xs, outs):
    x, weight = xs[0], xs[1]
    bias = [xs[2].name] if len(xs) > 2 else []
    if x.ndim == 2:
        b.node("Gemm", [x.name, weight.name] + bias, outs, transB=1)
        return
    weight_t = b.node("Transpose", [weight.name], perm=[1, 0])
    if not bias:
        b.node("MatMul", [x.name, weight_t], outs)
        return
    b.node("Add", [b.node("MatMul", [x.name, weight_t]), bias[0]], outs)


def _unbatched(b, x, run, outs, spatial: int = 2):
    """Run ``run(input_name, output_names)`` on ``x`` with a batch axis added when it has
    none (a (C, H, W) image), removing the axis again from the result."""
    if x.ndim == spatial + 2:
        run(x.name, outs)
        return
    batched = b.node("Unsqueeze", [x.name, b.ints([0])])
    b.node("Squeeze", [run(batched, None), b.ints([0])], outs)


def _conv(b, fn, xs, outs):
    x, weight = xs[0], xs[1]
    pads = list(fn.padding) * 2
    attributes = dict(kernel_shape=list(weight.shape[2:]), strides=list(fn.stride), pads=pads,
                      dilations=list(fn.dilation), group=int(fn.groups))
    inputs = [weight.name] + ([xs[2].name] if len(xs) > 2 else [])
    pool_size = getattr(fn, "pool", None)
    fused = type(fn) is conv_relu.Conv2dReLU

    def run(name, out):
        last = None if fused else out
        y = b.node("Conv", [name] + inputs, last, **attributes)
        if not fused:
            return y
        if pool_size is None:
            return b.node("Relu", [y], out)
        y = b.node("Relu", [y])
        return b.node("MaxPool", [y], out, kernel_shape=list(pool_size),
                      strides=list(pool_size))

    _unbatched(b, x, run, outs)


def _pool(name):
    def export(b, fn, xs, outs):
        attributes = dict(kernel_shape=list(fn.kernel), strides=list(fn.stride),
                          pads=list(fn.padding) * 2, ceil_mode=int(fn.ceil_mode))
        if tuple(fn.dilation) != (1, 1):
            attributes["dilations"] = list(fn.dilation)
        divisor = getattr(fn, "divisor_override", None)
        if name == "AveragePool":
            attributes["count_include_pad"] = int(fn.count_include_pad or divisor is not None)
            if divisor is not None and fn.ceil_mode:
                raise ExportError("avg_pool2d with divisor_override and ceil_mode has no ONNX "
                                  "mapping in numnet")

        def run(x, out):
            if divisor is None:
                return b.node(name, [x], out, **attributes)
            # the window's sum divided by divisor: the mean over the padded window times k/d
            mean = b.node(name, [x], **attributes)
            factor = fn.kernel[0] * fn.kernel[1] / divisor
            return b.node("Mul", [mean, b.scalar(factor, xs[0].dtype)], out)

        _unbatched(b, xs[0], run, outs)
    return export


def _relu_max_pool(b, fn, xs, outs):
    """``relu_max_pool2d`` (windows side by side): ``Relu``, then ``MaxPool``."""
    def run(x, out):
        y = b.node("Relu", [x])
        return b.node("MaxPool", [y], out, kernel_shape=list(fn.kernel),
                      strides=list(fn.stride), pads=list(fn.padding) * 2)

    _unbatched(b, xs[0], run, outs)


def _leaky_relu(b, fn, xs, outs):
    b.node("LeakyRelu", [xs[0].name], outs, alpha=float(fn.negative_slope))


def _softmax(name):
    def export(b, fn, xs, outs):
        b.node(name, [xs[0].name], outs, axis=int(fn.dim))
    return export


def _gelu(b, fn, xs, outs):
    x = xs[0]
    if b.opset >= 20:
        b.node("Gelu", [x.name], outs, approximate=fn.approximate)
        return
    half_x = b.node("Mul", [x.name, b.scalar(0.5, x.dtype)])
    if fn.approximate == "tanh":
        cube = b.node("Mul", [b.node("Mul", [x.name, x.name]), x.name])
        inner = b.node("Add", [x.name, b.node("Mul", [cube, b.scalar(0.044715, x.dtype)])])
        u = b.node("Mul", [inner, b.scalar(math.sqrt(2 / math.pi), x.dtype)])
        t = b.node("Tanh", [u])
    else:
        t = b.node("Erf", [b.node("Mul", [x.name, b.scalar(1 / math.sqrt(2), x.dtype)])])
    b.node("Mul", [half_x, b.node("Add", [t, b.scalar(1, x.dtype)])], outs)


def reshape_target(in_shape: tuple, out_shape: tuple, in_other=None, out_other=None) -> list:
    """The ``Reshape`` shape input for ``in_shape -> out_shape`` that works for any batch
    size.

    With the shapes of a second trace with larger dynamic axes (``in_other``,
    ``out_other``), the dims that differ between the traces are the dynamic ones: each is
    0 (copy the input's dim) where the input has it at the same place, the one left (at
    most one) is -1, every other dim its size. Without them: 0 for each leading dim the
    reshape keeps, -1 for the first dim after them, the traced sizes for the rest.

    Example:
        >>> reshape_target((8, 16, 5, 5), (8, 400)), reshape_target((6, 4), (2, 3, 4))
        ([0, -1], [-1, 3, 4])
        >>> reshape_target((14, 20), (7, 2, 20), (21, 20), (7, 3, 20))
        [7, -1, 20]
    """
    if out_other is None:
        target = []
        for i, n in enumerate(out_shape):
            if i < len(in_shape) and in_shape[i] == n and len(target) == i and n != 0:
                target.append(0)
            else:
                break
        rest = list(out_shape[len(target):])
        if rest and 0 not in rest:
            rest[0] = -1
        return target + rest
    target = list(out_shape)
    left = []
    for i, (n, m) in enumerate(zip(out_shape, out_other)):
        if n == m:
            continue
        if i < len(in_shape) and (in_shape[i], in_other[i]) == (n, m):
            target[i] = 0
        else:
            left.append(i)
    if len(left) > 1:
        raise ExportError(f"Reshape {tuple(in_shape)} -> {tuple(out_shape)}: more than one "
                          "dim depends on the dynamic axes")
    if left:
        target[left[0]] = -1
    return target


def _reshape(b, fn, xs, outs):
    out_other = b.other_shapes.get(outs[0])
    target = reshape_target(xs[0].shape, b.output_shape(outs[0]), xs[0].other_shape,
                            out_other)
    b.node("Reshape", [xs[0].name, b.ints(target)], outs)


def _permute(b, fn, xs, outs):
    ndim = xs[0].ndim
    b.node("Transpose", [xs[0].name], outs, perm=[d % ndim for d in fn.dims])


def _expand(b, fn, xs, outs):
    x = xs[0]
    out_shape = b.output_shape(outs[0])
    lead = len(out_shape) - x.ndim
    target = [n if i < lead or x.shape[i - lead] != n else 1 for i, n in enumerate(out_shape)]
    b.node("Expand", [x.name, b.ints(target)], outs)


def _getitem(b, fn, xs, outs):
    x = xs[0]
    starts, ends, axes, steps, squeezed, inserted = [], [], [], [], [], []
    axis = out_axis = 0
    for part in fn.basic:
        if part is None:
            inserted.append(out_axis)
            out_axis += 1
        elif isinstance(part, int):
            starts.append(part)
            ends.append(INT64_MAX if part == -1 else part + 1)
            axes.append(axis)
            steps.append(1)
            squeezed.append(axis)
            axis += 1
        else:
            step = 1 if part.step is None else part.step
            if step <= 0:
                raise ExportError(f"GetItem: slice step {step} has no ONNX mapping (steps "
                                  "must be positive)")
            if part != slice(None):
                starts.append(0 if part.start is None else part.start)
                ends.append(INT64_MAX if part.stop is None else part.stop)
                axes.append(axis)
                steps.append(step)
            axis += 1
            out_axis += 1
    y = x.name
    if axes:
        y = b.node("Slice", [y, b.ints(starts), b.ints(ends), b.ints(axes), b.ints(steps)])
    if squeezed:
        y = b.node("Squeeze", [y, b.ints(squeezed)])
    if inserted:
        y = b.node("Unsqueeze", [y, b.ints(inserted)])
    if fn.advanced is not None:
        twin = getattr(b.twin, "advanced", None)
        y = _gather(b, fn.advanced, twin, y)
    b.node("Identity", [y], outs)


def _gather(b, advanced: tuple, twin, y: str) -> str:
    """``y[advanced]`` for one integer index array among full slices: ``Gather`` (the
    array from the graph input it is, else a constant)."""
    arrays = [(i, part) for i, part in enumerate(advanced) if isinstance(part, numpy.ndarray)]
    if len(arrays) != 1 or arrays[0][1].dtype == numpy.bool_:
        raise ExportError("GetItem: indexing with several index arrays or a boolean mask has "
                          "no ONNX mapping in numnet (one integer index array is mapped)")
    axis, index = arrays[0]
    indices = b.input_of(index)
    if indices is None:
        b.check_fixed("GetItem", index, None if twin is None else twin[axis])
        indices = b.const(index.astype(numpy.int64))
    return b.node("Gather", [y, indices], axis=axis)


def _cat(b, fn, xs, outs):
    b.node("Concat", [x.name for x in xs], outs, axis=fn.dim % xs[0].ndim)


def _stack(b, fn, xs, outs):
    axis = fn.dim % (xs[0].ndim + 1)
    parts = [b.node("Unsqueeze", [x.name, b.ints([axis])]) for x in xs]
    b.node("Concat", parts, outs, axis=axis)


def _split_pieces(b, x: str, sizes, axis: int, outs):
    if len(outs) == 1:
        b.node("Identity", [x], outs)
        return
    b.node("Split", [x, b.ints(sizes)], list(outs), axis=axis)


def _unbind(b, fn, xs, outs):
    x = xs[0]
    axis = fn.dim % x.ndim
    pieces = [b.fresh("Split") for _ in outs]
    _split_pieces(b, x.name, [1] * len(outs), axis, pieces)
    for piece, out in zip(pieces, outs):
        b.node("Squeeze", [piece, b.ints([axis])], out)


def _split(b, fn, xs, outs):
    _split_pieces(b, xs[0].name, fn.sizes, fn.axis % xs[0].ndim, outs)


def _pad(b, fn, xs, outs):
    x = xs[0]
    if any(a < 0 or c < 0 for a, c in fn.widths):
        raise ExportError("Pad: negative padding (cropping) has no ONNX mapping in numnet")
    pads = [a for a, _ in fn.widths] + [c for _, c in fn.widths]
    b.node("Pad", [x.name, b.ints(pads), b.scalar(fn.value, x.dtype)], outs, mode="constant")


def _reduce(name):
    def export(b, fn, xs, outs):
        b.reduce(name, xs[0].name, fn.axes, fn.keepdim, outs)
    return export


def _max(b, fn, xs, outs):
    axis = fn.axis % xs[0].ndim
    op = "ReduceMax" if type(fn) is reduction.Max else "ReduceMin"
    b.reduce(op, xs[0].name, [axis], fn.keepdim, outs[0])
    if len(outs) > 1:
        arg = "ArgMax" if op == "ReduceMax" else "ArgMin"
        b.node(arg, [xs[0].name], outs[1], axis=axis, keepdims=int(fn.keepdim))


def _var(b, fn, xs, outs):
    x = xs[0]
    mean = b.reduce("ReduceMean", x.name, fn.axes, True)
    centered = b.node("Sub", [x.name, mean])
    total = b.reduce("ReduceSum", b.node("Mul", [centered, centered]), fn.axes, fn.keepdim)
    b.node("Div", [total, b.scalar(fn.denominator, x.dtype)], outs)


def _batch_norm(b, fn, xs, outs):
    x = xs[0]
    channels = x.shape[1]
    if len(xs) > 1:
        scale, bias = xs[1].name, xs[2].name
    else:
        scale = b.const(numpy.ones(channels, x.dtype))
        bias = b.const(numpy.zeros(channels, x.dtype))
    if fn.training:
        _batch_norm_batch_stats(b, fn, x, scale, bias, outs)
        return
    mean, var = b.buffer(fn.running_mean), b.buffer(fn.running_var)
    b.node("BatchNormalization", [x.name, scale, bias, mean, var], outs,
           epsilon=float(fn.eps))


def _batch_norm_batch_stats(b, fn, x, scale, bias, outs):
    """Batch normalization with the batch's own statistics (no running statistics)."""
    axes = [0] + list(range(2, x.ndim))
    shape = [1, -1] + [1] * (x.ndim - 2)
    mean = b.reduce("ReduceMean", x.name, axes, True)
    centered = b.node("Sub", [x.name, mean])
    var = b.reduce("ReduceMean", b.node("Mul", [centered, centered]), axes, True)
    std = b.node("Sqrt", [b.node("Add", [var, b.scalar(fn.eps, x.dtype)])])
    xhat = b.node("Div", [centered, std])
    scaled = b.node("Mul", [xhat, b.node("Reshape", [scale, b.ints(shape)])])
    b.node("Add", [scaled, b.node("Reshape", [bias, b.ints(shape)])], outs)


def _layer_norm(b, fn, xs, outs):
    x = xs[0]
    normalized = x.shape[x.ndim - fn.k:]
    scale = xs[1].name if fn.has_weight else b.const(numpy.ones(normalized, x.dtype))
    bias = [xs[-1].name] if fn.has_bias else []
    b.node("LayerNormalization", [x.name, scale] + bias, outs, axis=-fn.k,
           epsilon=float(fn.eps))


def _clamp(b, fn, xs, outs):
    x = xs[0]
    low = "" if fn.low is None else b.scalar(fn.low, x.dtype)
    high = "" if fn.high is None else b.scalar(fn.high, x.dtype)
    b.node("Clip", [x.name, low, high], outs)


def _clamp_tensor(b, fn, xs, outs):
    y = xs[0].name
    if fn.has_low:
        y = b.node("Max", [y, xs[1].name], None if fn.has_high else outs)
    if fn.has_high:
        b.node("Min", [y, xs[-1].name], outs)


def _cast(b, fn, xs, outs):
    b.node("Cast", [xs[0].name], outs, to=b.onnx.helper.np_dtype_to_tensor_dtype(fn.dtype))


def _composite(build):
    """An exporter from ``build(b, x, dtype) -> name`` for one-input ops written as several
    ONNX nodes; the last node is renamed to the op's output with an Identity."""
    def export(b, fn, xs, outs):
        b.node("Identity", [build(b, xs[0].name, xs[0].dtype)], outs)
    return export


def _log_base(base):
    return _composite(lambda b, x, t: b.node("Div", [b.node("Log", [x]),
                                                     b.scalar(math.log(base), t)]))


def _cumsum(b, fn, xs, outs):
    b.node("CumSum", [xs[0].name, b.const(numpy.asarray(fn.axis, numpy.int64))], outs)


def _attention(b, fn, xs, outs):
    q, k, v = xs[0], xs[1], xs[2]
    if fn.dropout_p > 0:
        raise ExportError("ScaledDotProductAttention with dropout_p > 0 (training) has no "
                          "ONNX mapping: export the model in eval mode")
    perm = list(range(k.ndim))
    perm[-2:] = perm[-1], perm[-2]
    scores = b.node("MatMul", [q.name, b.node("Transpose", [k.name], perm=perm)])
    scores = b.node("Mul", [scores, b.scalar(fn.scale, q.dtype)])
    if len(xs) > 3:
        scores = b.node("Add", [scores, xs[3].name])
    L, S = q.shape[-2], k.shape[-2]
    if fn.keep is not None:
        scores = b.node("Where", [b.const(numpy.asarray(fn.keep, bool)), scores,
                                  b.scalar(-numpy.inf, q.dtype)])
    if fn.is_causal:
        causal = numpy.where(numpy.triu(numpy.ones((L, S), bool), 1), -numpy.inf, 0)
        scores = b.node("Add", [scores, b.const(causal, q.dtype)])
    weights = b.node("Softmax", [scores], outs[1] if len(outs) > 1 else None, axis=-1)
    b.node("MatMul", [weights, v.name], outs[0])


EXPORTERS = {
    arithmetic.Add: _scaled_binary("Add"),
    arithmetic.Sub: _scaled_binary("Sub"),
    arithmetic.Mul: _binary("Mul"),
    arithmetic.Div: _binary("Div"),
    arithmetic.Pow: _binary("Pow"),
    arithmetic.MatMul: _binary("MatMul"),
    arithmetic.Neg: _single("Neg"),
    arithmetic.Linear: _linear,
    conv.Conv2d: _conv,
    conv_relu.Conv2dReLU: _conv,
    pool.MaxPool2d: _pool("MaxPool"),
    pool.ReLUMaxPool2d: _relu_max_pool,
    pool.AvgPool2d: _pool("AveragePool"),
    activation.ReLU: _single("Relu"),
    activation.Sigmoid: _single("Sigmoid"),
    activation.Tanh: _single("Tanh"),
    activation.LeakyReLU: _leaky_relu,
    activation.Softmax: _softmax("Softmax"),
    activation.LogSoftmax: _softmax("LogSoftmax"),
    gelu.GELU: _gelu,
    shape.Reshape: _reshape,
    shape.Permute: _permute,
    shape.Expand: _expand,
    shape.GetItem: _getitem,
    shape.Cat: _cat,
    shape.Stack: _stack,
    shape.Unbind: _unbind,
    padding.Pad: _pad,
    layout.Split: _split,
    layout.Clone: _single("Identity"),
    layout.Contiguous: _single("Identity"),
    reduction.Sum: _reduce("ReduceSum"),
    reduction.Mean: _reduce("ReduceMean"),
    reduction.Amax: _reduce("ReduceMax"),
    reduction.Amin: _reduce("ReduceMin"),
    reduction.LogSumExp: _reduce("ReduceLogSumExp"),
    reduction.Max: _max,
    reduction.Min: _max,
    reduction.Var: _var,
    scan.CumSum: _cumsum,
    normalization.BatchNorm: _batch_norm,
    normalization.LayerNorm: _layer_norm,
    elementwise.Exp: _single("Exp"),
    elementwise.Log: _single("Log"),
    elementwise.Sqrt: _single("Sqrt"),
    elementwise.Abs: _single("Abs"),
    elementwise.Clamp: _clamp,
    elementwise.ClampTensor: _clamp_tensor,
    elementwise.Maximum: _binary("Max"),
    elementwise.Minimum: _binary("Min"),
    promotion.Cast: _cast,
    unary.Sin: _single("Sin"),
    unary.Cos: _single("Cos"),
    unary.Tan: _single("Tan"),
    unary.Asin: _single("Asin"),
    unary.Acos: _single("Acos"),
    unary.Atan: _single("Atan"),
    unary.Sinh: _single("Sinh"),
    unary.Cosh: _single("Cosh"),
    unary.Asinh: _single("Asinh"),
    unary.Acosh: _single("Acosh"),
    unary.Atanh: _single("Atanh"),
    unary.Erf: _single("Erf"),
    unary.Reciprocal: _single("Reciprocal"),
    unary.Sign: _single("Sign"),
    unary.Rsqrt: _composite(lambda b, x, t: b.node("Reciprocal", [b.node("Sqrt", [x])])),
    unary.Square: _composite(lambda b, x, t: b.node("Mul", [x, x])),
    unary.Exp2: _composite(lambda b, x, t: b.node("Pow", [b.scalar(2, t), x])),
    unary.Expm1: _composite(lambda b, x, t: b.node("Sub", [b.node("Exp", [x]),
                                                             b.scalar(1, t)])),
    unary.Log1p: _composite(lambda b, x, t: b.node("Log", [b.node("Add", [x,
                                                                           b.scalar(1, t)])])),
    unary.Erfc: _composite(lambda b, x, t: b.node("Sub", [b.scalar(1, t),
                                                            b.node("Erf", [x])])),
    unary.Log2: _log_base(2),
    unary.Log10: _log_base(10),
    attention.ScaledDotProductAttention: _attention,
}
