"""How each ONNX operator runs as numnet ops: ``IMPORTERS[op_type](xs, a) -> outputs``.

``xs`` are the node's inputs as Tensors (None for an optional input left out), ``a`` its
attributes as Python values (ints, floats, strings, lists, arrays). Float data goes
through numnet's differentiable ops, so an imported model can be fine-tuned; integer
inputs that only describe shapes, axes or pads (``Reshape``'s shape, ``Slice``'s starts)
are read as plain numbers. The set is what ``numnet.onnx.export`` writes plus the
operators a PyTorch export of the same layers uses (``Flatten``, ``Shape``, ``Gather``,
``Dropout``, ...).
"""

from __future__ import annotations

import numpy

import numnet.nn.functional as F
from numnet.ops import elementwise, layout, reduction, scan, unary
from numnet.tensor import Tensor


class UnsupportedError(NotImplementedError):
    """An ONNX operator, or an attribute value of one, that numnet cannot run."""


def _ints(x) -> list:
    """An integer input (shape, axes, pads) as a list of Python ints."""
    return [int(v) for v in numpy.asarray(x.data).reshape(-1)]


def _constant(array) -> Tensor:
    return Tensor(numpy.array(array), _raw=True)


def _single(function):
    return lambda xs, a: function(xs[0])


def _binary(function):
    return lambda xs, a: function(xs[0], xs[1])


def _variadic(function):
    def run(xs, a):
        y = xs[0]
        for x in xs[1:]:
            y = function(y, x)
        return y
    return run


def _constant_node(xs, a):
    for key in ("value", "value_float", "value_int", "value_floats", "value_ints"):
        if key in a:
            value = a[key]
            if key in ("value_float", "value_floats"):
                value = numpy.asarray(value, numpy.float32)
            elif key in ("value_int", "value_ints"):
                value = numpy.asarray(value, numpy.int64)
            return _constant(value)
    raise UnsupportedError(f"Constant with attributes {sorted(a)}")


def _dropout(xs, a):
    if len(xs) > 2 and xs[2] is not None and bool(xs[2].data):
        raise UnsupportedError("Dropout with training_mode=True")
    return xs[0]


def _gemm(xs, a):
    x, w = xs[0], xs[1]
    c = xs[2] if len(xs) > 2 else None
    alpha, beta = a.get("alpha", 1.0), a.get("beta", 1.0)
    if a.get("transA", 0):
        x = x.transpose(0, 1)
    if a.get("transB", 0) and alpha == 1.0 and (c is None or beta == 1.0):
        return F.linear(x, w, c)
    if a.get("transB", 0):
        w = w.transpose(0, 1)
    y = x @ w
    if alpha != 1.0:
        y = y * alpha
    if c is not None:
        y = y + (c if beta == 1.0 else c * beta)
    return y


def _no_auto_pad(op: str, a: dict) -> None:
    if a.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        raise UnsupportedError(f"{op} with auto_pad={a['auto_pad']}")


def _symmetric(op: str, x, pads: list, value: float = 0.0):
    """``x`` and the (P_h, P_w) of a 2-D window op: ONNX pads are
    ``[h_begin, w_begin, h_end, w_end]``; what one end has more is padded first."""
    pads = list(pads or [0, 0, 0, 0])
    if len(pads) != 4:
        raise UnsupportedError(f"{op} with {len(pads) // 2} spatial dims (numnet has 2-D)")
    (top, left, bottom, right) = pads
    common = (min(top, bottom), min(left, right))
    if (top, left) == (bottom, right):
        return x, common
    extra = (left - common[1], right - common[1], top - common[0], bottom - common[0])
    return F.pad(x, extra, value=value), common


def _conv(xs, a):
    x, w = xs[0], xs[1]
    b = xs[2] if len(xs) > 2 else None
    _no_auto_pad("Conv", a)
    if w.ndim != 4:
        raise UnsupportedError(f"Conv with {w.ndim - 2} spatial dims (numnet has 2-D)")
    x, padding = _symmetric("Conv", x, a.get("pads"))
    return F.conv2d(x, w, b, stride=tuple(a.get("strides", (1, 1))), padding=padding,
                    dilation=tuple(a.get("dilations", (1, 1))), groups=a.get("group", 1))


def _conv_transpose(xs, a):
    x, w = xs[0], xs[1]
    b = xs[2] if len(xs) > 2 else None
    _no_auto_pad("ConvTranspose", a)
    pads = a.get("pads", [0, 0, 0, 0])
    if "output_shape" in a or pads[:2] != pads[2:]:
        raise UnsupportedError("ConvTranspose with output_shape or unequal pads")
    return F.conv_transpose2d(x, w, b, stride=tuple(a.get("strides", (1, 1))),
                              padding=tuple(pads[:2]),
                              output_padding=tuple(a.get("output_padding", (0, 0))),
                              groups=a.get("group", 1),
                              dilation=tuple(a.get("dilations", (1, 1))))


def _max_pool(xs, a):
    _no_auto_pad("MaxPool", a)
    if a.get("storage_order", 0):
        raise UnsupportedError("MaxPool with storage_order=1")
    x, padding = _symmetric("MaxPool", xs[0], a.get("pads"), value=-numpy.inf)
    return F.max_pool2d(x, tuple(a["kernel_shape"]), tuple(a.get("strides", (1, 1))), padding,
                        dilation=tuple(a.get("dilations", (1, 1))),
                        ceil_mode=bool(a.get("ceil_mode", 0)))


def _average_pool(xs, a):
    _no_auto_pad("AveragePool", a)
    pads = a.get("pads") or [0, 0, 0, 0]
    if pads[:2] != pads[2:]:
        raise UnsupportedError("AveragePool with unequal begin and end pads")
    if tuple(a.get("dilations", (1, 1))) != (1, 1):
        raise UnsupportedError("AveragePool with dilations")
    return F.avg_pool2d(xs[0], tuple(a["kernel_shape"]), tuple(a.get("strides", (1, 1))),
                        tuple(pads[:2]), ceil_mode=bool(a.get("ceil_mode", 0)),
                        count_include_pad=bool(a.get("count_include_pad", 0)))


def _global_average_pool(xs, a):
    return F.mean(xs[0], dim=tuple(range(2, xs[0].ndim)), keepdim=True)


def _flatten(xs, a):
    x = xs[0]
    axis = a.get("axis", 1) % max(x.ndim, 1)
    return F.reshape(x, (int(numpy.prod(x.shape[:axis])), -1))


def _reshape(xs, a):
    x, target = xs[0], _ints(xs[1])
    if not a.get("allowzero", 0):
        target = [x.shape[i] if n == 0 else n for i, n in enumerate(target)]
    return F.reshape(x, tuple(target))


def _transpose(xs, a):
    perm = a.get("perm", list(range(xs[0].ndim))[::-1])
    return F.permute(xs[0], tuple(perm))


def _expand(xs, a):
    x = xs[0]
    return F.broadcast_to(x, numpy.broadcast_shapes(tuple(x.shape), tuple(_ints(xs[1]))))


def _slice(xs, a):
    x = xs[0]
    starts, ends = _ints(xs[1]), _ints(xs[2])
    axes = _ints(xs[3]) if len(xs) > 3 and xs[3] is not None else list(range(len(starts)))
    steps = _ints(xs[4]) if len(xs) > 4 and xs[4] is not None else [1] * len(starts)
    index = [slice(None)] * x.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps):
        axis %= x.ndim
        if step == 0:
            raise UnsupportedError("Slice with step 0")
        if step > 0:
            index[axis] = slice(start, end, step)
            continue
        # a negative step: the same elements, counted from the end of the flipped axis
        n = x.shape[axis]
        start = min(max(start + n if start < 0 else start, 0), n - 1)
        end = min(max(end + n if end < 0 else end, -1), n - 1)
        x = layout.flip(x, (axis,))
        index[axis] = slice(n - 1 - start, n - 1 - end, -step)
    return F.getitem(x, tuple(index))


def _gather(xs, a):
    x, indices = xs[0], numpy.asarray(xs[1].data)
    axis = a.get("axis", 0) % x.ndim
    index = (slice(None),) * axis + (int(indices) if indices.ndim == 0 else indices,)
    return F.getitem(x, index)


def _shape(xs, a):
    dims = list(xs[0].shape)[a.get("start", 0):a.get("end", None)]
    return _constant(numpy.asarray(dims, numpy.int64))


def _unsqueeze(xs, a):
    axes = _ints(xs[1]) if len(xs) > 1 else list(a["axes"])
    x = xs[0]
    ndim = x.ndim + len(axes)
    for axis in sorted(axis % ndim for axis in axes):
        x = F.unsqueeze(x, axis)
    return x


def _squeeze(xs, a):
    x = xs[0]
    if len(xs) > 1 and xs[1] is not None:
        axes = _ints(xs[1])
    else:
        axes = list(a.get("axes", [i for i, n in enumerate(x.shape) if n == 1]))
    return F.reshape(x, tuple(n for i, n in enumerate(x.shape)
                              if i not in {axis % x.ndim for axis in axes}))


def _concat(xs, a):
    return F.cat([x for x in xs if x is not None], dim=a["axis"])


def _split(xs, a, count: int):
    x = xs[0]
    axis = a.get("axis", 0) % x.ndim
    if len(xs) > 1 and xs[1] is not None:
        sizes = _ints(xs[1])
    else:
        pieces = a.get("num_outputs", count)
        size = -(-x.shape[axis] // pieces)
        sizes = [size] * (pieces - 1) + [x.shape[axis] - size * (pieces - 1)]
    return list(layout.split(x, sizes, axis))


_PAD_MODES = {"constant": "constant", "reflect": "reflect", "edge": "replicate",
              "wrap": "circular"}


def _pad(xs, a):
    x = xs[0]
    mode = a.get("mode", "constant")
    if mode not in _PAD_MODES:
        raise UnsupportedError(f"Pad with mode={mode}")
    pads = _ints(xs[1])
    axes = _ints(xs[3]) if len(xs) > 3 and xs[3] is not None else list(range(x.ndim))
    axes = [axis % x.ndim for axis in axes]
    widths = {axis: (pads[i], pads[i + len(axes)]) for i, axis in enumerate(axes)}
    last = max((axis for axis, w in widths.items() if w != (0, 0)), default=None)
    if last is None:
        return x
    first = min(axis for axis, w in widths.items() if w != (0, 0))
    torch_pad = []
    for axis in range(x.ndim - 1, first - 1, -1):
        torch_pad.extend(widths.get(axis, (0, 0)))
    if mode != "constant":
        return F.pad(x, torch_pad, mode=_PAD_MODES[mode])
    value = float(xs[2].data) if len(xs) > 2 and xs[2] is not None else 0.0
    return F.pad(x, torch_pad, value=value)


def _reduce(function):
    def run(xs, a):
        x = xs[0]
        if len(xs) > 1 and xs[1] is not None:
            axes = _ints(xs[1])
        else:
            axes = list(a.get("axes", []))
        if not axes and a.get("noop_with_empty_axes", 0):
            return x
        dims = tuple(axes) if axes else tuple(range(x.ndim))
        return function(x, dims, bool(a.get("keepdims", 1)))
    return run


def _arg(function):
    def run(xs, a):
        if a.get("select_last_index", 0):
            raise UnsupportedError("ArgMax/ArgMin with select_last_index=1")
        return function(xs[0], dim=a.get("axis", 0), keepdim=bool(a.get("keepdims", 1)))
    return run


def _cumsum(xs, a):
    if a.get("exclusive", 0) or a.get("reverse", 0):
        raise UnsupportedError("CumSum with exclusive=1 or reverse=1")
    return scan.cumsum(xs[0], int(xs[1].data))


def _trilu(xs, a):
    k = int(xs[1].data) if len(xs) > 1 and xs[1] is not None else 0
    return (layout.triu if a.get("upper", 1) else layout.tril)(xs[0], k)


def _batch_norm(xs, a):
    if a.get("training_mode", 0):
        raise UnsupportedError("BatchNormalization with training_mode=1")
    x, scale, bias, mean, var = xs[:5]
    return F.batch_norm(x, mean, var, scale, bias, training=False,
                        eps=a.get("epsilon", 1e-5))


def _layer_norm(xs, a):
    x, scale = xs[0], xs[1]
    bias = xs[2] if len(xs) > 2 else None
    axis = a.get("axis", -1) % x.ndim
    normalized = tuple(x.shape[axis:])
    eps = a.get("epsilon", 1e-5)
    if tuple(scale.shape) == normalized and (bias is None or tuple(bias.shape) == normalized):
        return F.layer_norm(x, normalized, scale, bias, eps)
    y = F.layer_norm(x, normalized, None, None, eps) * scale
    return y if bias is None else y + bias


def _instance_norm(xs, a):
    x, scale, bias = xs
    return F.group_norm(x, x.shape[1], scale, bias, a.get("epsilon", 1e-5))


def _lrn(xs, a):
    if a["size"] % 2 == 0:
        raise UnsupportedError("LRN of even size (PyTorch centres the window differently)")
    return F.local_response_norm(xs[0], a["size"], a.get("alpha", 1e-4), a.get("beta", 0.75),
                                 a.get("bias", 1.0))


def _softmax(function):
    return lambda xs, a: function(xs[0], dim=a.get("axis", -1))


def _gelu(xs, a):
    return F.gelu(xs[0], approximate=a.get("approximate", "none"))


def _clip(xs, a):
    low = xs[1] if len(xs) > 1 else None
    high = xs[2] if len(xs) > 2 else None
    return F.clamp(xs[0], None if low is None else float(low.data),
                   None if high is None else float(high.data))


def _cast(xs, a):
    from numnet.onnx._graph import require_onnx

    dtype = require_onnx().helper.tensor_dtype_to_np_dtype(a["to"])
    return xs[0].to(dtype)


def _where(xs, a):
    return F.where(numpy.asarray(xs[0].data, bool), xs[1], xs[2])


def _leaky_relu(xs, a):
    return F.leaky_relu(xs[0], a.get("alpha", 0.01))


def _elu(xs, a):
    return F.elu(xs[0], a.get("alpha", 1.0))


def _selu(xs, a):
    alpha, gamma = a.get("alpha", 1.67326319217681884765625), a.get("gamma",
                                                                     1.05070102214813232421875)
    if abs(alpha - 1.6732632423543772) > 1e-6 or abs(gamma - 1.0507009873554805) > 1e-6:
        return F.where(xs[0].data > 0, xs[0] * gamma, F.elu(xs[0], alpha) * gamma)
    return F.selu(xs[0])


def _shrink(xs, a):
    lambd, bias = a.get("lambd", 0.5), a.get("bias", 0.0)
    if bias == lambd:
        return F.softshrink(xs[0], lambd)
    if bias == 0:
        return F.hardshrink(xs[0], lambd)
    raise UnsupportedError(f"Shrink with bias {bias} (numnet has bias 0 or lambd)")


def _compare(function):
    return lambda xs, a: function(xs[0], xs[1])


def _hard_sigmoid(xs, a):
    alpha, beta = a.get("alpha", 0.2), a.get("beta", 0.5)
    if abs(alpha - 1 / 6) < 1e-7 and beta == 0.5:
        return F.hardsigmoid(xs[0])
    return F.clamp(xs[0] * alpha + beta, 0.0, 1.0)


IMPORTERS = {
    "Constant": _constant_node,
    "Identity": _single(lambda x: x),
    "Dropout": _dropout,
    "Add": _binary(F.add),
    "Sub": _binary(F.sub),
    "Mul": _binary(F.mul),
    "Div": _binary(F.div),
    "Pow": _binary(F.pow),
    "MatMul": _binary(F.matmul),
    "Neg": _single(F.neg),
    "Max": _variadic(elementwise.maximum),
    "Min": _variadic(elementwise.minimum),
    "Sum": _variadic(F.add),
    "Gemm": _gemm,
    "Conv": _conv,
    "ConvTranspose": _conv_transpose,
    "MaxPool": _max_pool,
    "AveragePool": _average_pool,
    "GlobalAveragePool": _global_average_pool,
    "Relu": _single(F.relu),
    "Sigmoid": _single(F.sigmoid),
    "Tanh": _single(F.tanh),
    "LeakyRelu": _leaky_relu,
    "Elu": _elu,
    "HardSigmoid": _hard_sigmoid,
    "HardSwish": _single(lambda x: F.hardswish(x)),
    "PRelu": _binary(lambda x, slope: F.prelu(x, slope.reshape(-1) if slope.ndim > 1 and
                                              x.ndim > 1 else slope)),
    "Softplus": _single(lambda x: F.softplus(x)),
    "Selu": _selu,
    "Celu": lambda xs, a: F.celu(xs[0], a.get("alpha", 1.0)),
    "Shrink": _shrink,
    "Mish": _single(lambda x: F.mish(x)),
    "Greater": _compare(F.gt),
    "Less": _compare(F.lt),
    "Equal": _compare(F.eq),
    "GreaterOrEqual": _compare(F.ge),
    "LessOrEqual": _compare(F.le),
    "Softmax": _softmax(F.softmax),
    "LogSoftmax": _softmax(F.log_softmax),
    "Gelu": _gelu,
    "Erf": _single(unary.erf),
    "Exp": _single(F.exp),
    "Log": _single(F.log),
    "Sqrt": _single(F.sqrt),
    "Abs": _single(F.abs),
    "Reciprocal": _single(unary.reciprocal),
    "Sign": _single(unary.sign),
    "Sin": _single(unary.sin),
    "Cos": _single(unary.cos),
    "Tan": _single(unary.tan),
    "Asin": _single(unary.asin),
    "Acos": _single(unary.acos),
    "Atan": _single(unary.atan),
    "Sinh": _single(unary.sinh),
    "Cosh": _single(unary.cosh),
    "Asinh": _single(unary.asinh),
    "Acosh": _single(unary.acosh),
    "Atanh": _single(unary.atanh),
    "Clip": _clip,
    "Cast": _cast,
    "Where": _where,
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Transpose": _transpose,
    "Expand": _expand,
    "Slice": _slice,
    "Gather": _gather,
    "Shape": _shape,
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Concat": _concat,
    "Pad": _pad,
    "ReduceSum": _reduce(lambda x, dims, keep: F.sum(x, dim=dims, keepdim=keep)),
    "ReduceMean": _reduce(lambda x, dims, keep: F.mean(x, dim=dims, keepdim=keep)),
    "ReduceMax": _reduce(lambda x, dims, keep: F.amax(x, dim=dims, keepdim=keep)),
    "ReduceMin": _reduce(lambda x, dims, keep: F.amin(x, dim=dims, keepdim=keep)),
    "ReduceLogSumExp": _reduce(lambda x, dims, keep: reduction.logsumexp(x, dims, keep)),
    "ArgMax": _arg(F.argmax),
    "ArgMin": _arg(F.argmin),
    "CumSum": _cumsum,
    "Tile": lambda xs, a: layout.tile(xs[0], tuple(_ints(xs[1]))),
    "Trilu": _trilu,
    "ReduceProd": _reduce(lambda x, dims, keep: reduction.Prod(
        tuple(sorted(d % x.ndim for d in dims)), keep)(x)),
    "BatchNormalization": _batch_norm,
    "LayerNormalization": _layer_norm,
    "InstanceNormalization": _instance_norm,
    "LRN": _lrn,
}

MULTI_OUTPUT = {"Split": _split}
"""Operators whose output count comes from the node: ``run(xs, a, count)``."""
