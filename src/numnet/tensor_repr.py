"""``repr`` of a Tensor in PyTorch's style: ``tensor([1., 2.], requires_grad=True)``."""

from __future__ import annotations

import numpy

from numnet import backend


def _format_float(value: float, integral: bool, precision: int) -> str:
    if not numpy.isfinite(value):
        return str(float(value))  # nan, inf, -inf, as torch prints them
    if integral:
        return f"{value:.0f}."
    return f"{value:.{precision}f}"


def tensor_repr(t) -> str:
    data = t.data
    prefix = "tensor("
    if data.dtype.kind == "f":
        finite = data[numpy.isfinite(data)]
        integral = finite.size == 0 or bool(numpy.all(finite == numpy.round(finite)))
        large = finite.size > 0 and (numpy.abs(finite).max() >= 1e8 or
                                     (numpy.abs(finite[finite != 0]).min(initial=1) < 1e-4))
        if large and not integral:
            def fmt(v):
                return f"{v:.4e}"
        else:
            def fmt(v):
                return _format_float(v, integral, 4)
        shown = data if data.size <= 1000 else numpy.concatenate(
            [data.reshape(-1)[:3], data.reshape(-1)[-3:]])
        # like torch, the column width comes from the finite values (nan, inf may stick out)
        width = max((len(fmt(v)) for v in shown.reshape(-1) if numpy.isfinite(v)), default=0)
        formatter = {"float_kind": lambda v: fmt(v).rjust(width)}
        body = numpy.array2string(data, separator=", ", prefix=prefix, formatter=formatter,
                                  threshold=1000, edgeitems=3, max_line_width=80)
    else:
        body = numpy.array2string(data, separator=", ", prefix=prefix, threshold=1000,
                                  edgeitems=3, max_line_width=80)
    extras = []
    default_float = data.dtype == backend.get_default_dtype()
    if not (default_float or data.dtype == numpy.int64 or data.dtype == numpy.bool_):
        extras.append(f"dtype=numnet.{data.dtype}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{t.grad_fn.name}>")
    elif t.requires_grad:
        extras.append("requires_grad=True")
    return prefix + body + "".join(", " + e for e in extras) + ")"
