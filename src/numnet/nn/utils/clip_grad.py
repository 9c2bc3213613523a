"""Gradient clipping: ``clip_grad_norm_`` and ``clip_grad_value_``, like ``torch.nn.utils``.

Both change the parameters' ``.grad`` arrays in place, between ``backward()`` and
``optimizer.step()``; parameters whose ``.grad`` is None are skipped.

Example:
    >>> import numnet
    >>> from numnet.nn.parameter import Parameter
    >>> w = Parameter(numnet.zeros(2))
    >>> w.grad = numnet.tensor([3.0, 4.0])
    >>> clip_grad_norm_([w], max_norm=1.0)  # the norm before clipping
    tensor(5.)
    >>> w.grad
    tensor([0.6000, 0.8000])
"""

from __future__ import annotations

import numpy

from numnet import backend
from numnet.tensor import Tensor

__all__ = ["get_total_norm", "clip_grads_with_norm_", "clip_grad_norm_", "clip_grad_value_"]


def _as_list(tensors) -> list:
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _vector_norm(array: numpy.ndarray, norm_type: float) -> numpy.ndarray:
    """The ``norm_type``-norm of ``array`` seen as one vector, as a 0-d array of its dtype."""
    dtype = array.dtype
    if array.size == 0:
        return numpy.zeros((), dtype=dtype)
    if norm_type == 2.0:
        flat = array.ravel()
        total = numpy.sqrt(numpy.dot(flat, flat))
    elif norm_type == numpy.inf:
        total = numpy.max(numpy.abs(array))
    elif norm_type == -numpy.inf:
        total = numpy.min(numpy.abs(array))
    elif norm_type == 0.0:
        total = numpy.count_nonzero(array)
    elif norm_type == 1.0:
        total = numpy.sum(numpy.abs(array))
    else:
        total = numpy.sum(numpy.abs(array) ** norm_type) ** (1.0 / norm_type)
    return numpy.asarray(total, dtype=dtype)


def get_total_norm(tensors, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False) -> Tensor:
    """The norm of several tensors taken together, as if concatenated into one vector.

    ``||(t_1, ..., t_n)||_p = (sum_i ||t_i||_p ** p) ** (1/p)``: the norm of the vector of
    per-tensor norms.

    Args:
        tensors: a Tensor or an iterable of Tensors (e.g. the gradients).
        norm_type: ``p``: any float, ``inf`` (max of absolute values), ``-inf`` or 0.
        error_if_nonfinite: raise if the total norm is nan or inf.

    Returns:
        A 0-d Tensor (dtype of the tensors; the default dtype when there are none).
    """
    arrays = [t.data if isinstance(t, Tensor) else numpy.asarray(t) for t in _as_list(tensors)]
    norm_type = float(norm_type)
    if not arrays:
        return Tensor(numpy.zeros((), dtype=backend.get_default_dtype()), _raw=True)
    norms = numpy.stack([_vector_norm(a, norm_type) for a in arrays])
    total = _vector_norm(norms, norm_type)
    if error_if_nonfinite and not numpy.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                           "`parameters` is non-finite, so it cannot be clipped. To disable "
                           "this error and scale the gradients by the non-finite norm anyway, "
                           "set `error_if_nonfinite=False`")
    return Tensor(total, _raw=True)


def clip_grads_with_norm_(parameters, max_norm: float, total_norm) -> None:
    """Scale every gradient by ``min(max_norm / (total_norm + 1e-6), 1)`` in place.

    Args:
        parameters: a Tensor or an iterable of Tensors whose ``.grad`` to scale.
        max_norm: the largest norm the gradients may have.
        total_norm: their total norm (a 0-d Tensor or a number), e.g. from
            ``get_total_norm``.
    """
    grads = [p.grad.data for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    total = total_norm.data if isinstance(total_norm, Tensor) else numpy.asarray(total_norm)
    clip_coef = float(max_norm) / (total + total.dtype.type(1e-6))
    # float(): a Python number scales a float32 gradient in float32 (and a nan stays nan)
    clip_coef_clamped = float(numpy.minimum(clip_coef, 1.0))
    for grad in grads:
        grad *= clip_coef_clamped


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Rescale the gradients so that their total norm is at most ``max_norm``.

    ``g <- g * min(max_norm / (||g||_p + 1e-6), 1)`` for every gradient ``g``, where
    ``||g||_p`` is the norm of all gradients together (``get_total_norm``).

    Args:
        parameters: a Tensor or an iterable of Tensors (e.g. ``model.parameters()``).
        max_norm: the largest total norm allowed.
        norm_type: ``p`` of the norm (default 2); ``float("inf")`` for the max norm.
        error_if_nonfinite: raise RuntimeError if the total norm is nan or inf, instead of
            scaling the gradients by it (which makes them nan).

    Returns:
        The total norm of the gradients before clipping, a 0-d Tensor.
    """
    parameters = _as_list(parameters)
    grads = [p.grad for p in parameters if p.grad is not None]
    total_norm = get_total_norm(grads, norm_type, error_if_nonfinite)
    clip_grads_with_norm_(parameters, max_norm, total_norm)
    return total_norm


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clamp every gradient element into ``[-clip_value, clip_value]`` in place.

    Args:
        parameters: a Tensor or an iterable of Tensors (e.g. ``model.parameters()``).
        clip_value: the largest absolute value a gradient element may keep.
    """
    clip_value = float(clip_value)
    for p in _as_list(parameters):
        if p.grad is not None:
            numpy.clip(p.grad.data, -clip_value, clip_value, out=p.grad.data)
