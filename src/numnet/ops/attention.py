"""Scaled dot-product attention (Vaswani et al., 2017) as one fused ``Function``.

NOTE: fused rather than composed from matmul, softmax and dropout ops: the (L, S) score
matrix is made once, masked and turned into softmax probabilities in place, and is the only
(L, S) array made for backward (with the dropout mask when ``dropout_p > 0``; an additive
mask input is kept by reference, for the double backward of ``decompose``).
"""

from __future__ import annotations

import math

import numpy

from numnet import backend
from numnet import random as nn_random
from numnet.autograd import Function
from numnet.ops import dual, promotion
from numnet.ops._util import as_tensor, sum_to
from numnet.ops.shape import reshape
from numnet.tensor import Tensor


def _t(a):
    return numpy.swapaxes(a, -1, -2)


class ScaledDotProductAttention(Function):
    """``out = dropout(softmax(q k^T scale + mask)) v`` over the last two axes, batch axes
    broadcast (q: (..., L, E), k: (..., S, E), v: (..., S, Ev); out: (..., L, Ev)).

    A boolean ``keep`` (True = take part) and ``is_causal`` (key ``j <= i``) set the masked
    scores to ``-inf``; a row with every score masked gives probabilities 0 (PyTorch's
    safe softmax), not NaN. With ``P`` the probabilities, ``D`` the dropout mask scaled by
    ``1 / (1 - dropout_p)`` and ``A = P D``::

        gv = A^T gy
        gA = gy v^T (+ the gradient of the returned weights A)
        gs = P (gA D - sum_j (gA D)_j P_j)      (softmax backward, per row)
        gmask = gs,  gq = scale gs k,  gk = scale gs^T q

    Inputs are ``(q, k, v)`` or ``(q, k, v, mask)`` with an additive float ``mask``; with
    ``return_weights`` the outputs are ``(out, A)``.

    With ``create_graph=True`` the gradients are those of ``decompose``, the same attention
    in numnet ops (the masks and the dropout mask ``D`` constants), differentiable again.
    """

    saved_inputs = ("q", "k", "v", "mask")

    def __init__(self, scale: float, keep=None, is_causal: bool = False,
                 dropout_p: float = 0.0, generator=None, return_weights: bool = False):
        self.scale = scale
        self.keep = keep
        self.is_causal = is_causal
        self.dropout_p = dropout_p
        self.generator = generator
        self.return_weights = return_weights

    def forward(self, q, k, v, mask=None):
        dtype = q.dtype
        s = backend.matmul(q, _t(k))
        s *= dtype.type(self.scale)
        shape = s.shape
        for extra in (mask, self.keep):
            if extra is not None:
                shape = numpy.broadcast_shapes(shape, extra.shape)
        if shape != s.shape:
            s = numpy.broadcast_to(s, shape).copy()
        if mask is not None:
            s += mask
        if self.keep is not None:
            numpy.copyto(s, dtype.type(-numpy.inf), where=~self.keep)
        if self.is_causal:
            L, S = shape[-2:]
            numpy.copyto(s, dtype.type(-numpy.inf), where=numpy.triu(
                numpy.ones((L, S), bool), 1))
        top = s.max(axis=-1, keepdims=True)
        top[top == -numpy.inf] = 0
        s -= top
        numpy.exp(s, out=s)
        total = s.sum(axis=-1, keepdims=True)
        total[total == 0] = 1
        s /= total
        self.P = s
        self.drop = None
        weights = s
        if self.dropout_p > 0:
            rng = (self.generator or nn_random.default_generator).numpy_generator
            keep = rng.random(s.shape, dtype=numpy.float64) >= self.dropout_p
            self.drop = keep * dtype.type(1 / (1 - self.dropout_p))
            weights = s * self.drop
        self.A = weights
        self.q, self.k, self.v, self.mask = q, k, v, mask
        self.mask_shape = None if mask is None else mask.shape
        out = backend.matmul(weights, v)
        if self.return_weights:
            return out, weights
        return out

    def backward(self, gy, gweights=None):
        needs = self.needs_input_grad
        q, k, v, P = self.q, self.k, self.v, self.P
        gv = sum_to(backend.matmul(_t(self.A), gy), v.shape) if needs[2] else None
        if not (needs[0] or needs[1] or (len(needs) > 3 and needs[3])):
            return gv if len(needs) == 3 else (None, None, gv, None)
        gA = backend.matmul(gy, _t(v))
        if gweights is not None:
            gA += gweights
        if self.drop is not None:
            gA *= self.drop
        gs = gA
        gs -= (gA * P).sum(axis=-1, keepdims=True)
        gs *= P
        gmask = None
        if len(needs) > 3 and needs[3]:
            gmask = sum_to(gs, self.mask_shape).copy()
        gs *= gs.dtype.type(self.scale)
        gq = sum_to(backend.matmul(gs, k), q.shape) if needs[0] else None
        gk = sum_to(backend.matmul(_t(gs), q), k.shape) if needs[1] else None
        if len(needs) == 3:
            return gq, gk, gv
        return gq, gk, gv, gmask

    def decompose(self, q, k, v, mask=None):
        """``(out[, A])`` recomputed from Tensors: ``s = scale q k^T + mask`` with the
        masked scores ``-inf``, ``P = e / sum(e)`` for ``e = exp(s - m)`` (``m`` the row
        maximum, a constant: softmax does not change), a fully masked row's sum taken as 1
        so its ``P`` is 0, then ``A = P D`` and ``out = A v``."""
        s = q @ dual.swapaxes(k, -1, -2) * self.scale
        if mask is not None:
            s = s + mask
        allowed = self.keep
        if self.is_causal:
            L, S = s.shape[-2:]
            causal = numpy.tril(numpy.ones((L, S), bool))
            allowed = causal if allowed is None else allowed & causal
        if allowed is not None:
            s = dual.where(allowed, s, s.dtype.type(-numpy.inf))
        top = s.data.max(axis=-1, keepdims=True)
        top[top == -numpy.inf] = 0
        e = dual.exp(s - Tensor(top, _raw=True))
        total = e.sum(dim=-1, keepdim=True)
        total = total + Tensor((total.data == 0).astype(total.dtype), _raw=True)
        weights = e / total
        if self.drop is not None:
            weights = weights * Tensor(self.drop, _raw=True)
        out = weights @ v
        return (out, weights) if self.return_weights else out


def _group_heads(x: Tensor, groups: int, heads: int) -> Tensor:
    """Split the head axis for grouped-query attention, ``groups`` query heads per key head:
    (..., Hq, L, E) -> (..., Hq / groups, groups, L, E); a tensor whose head axis is 1
    (or, with ``heads=1``, a key or value) gets a length-1 group axis instead."""
    shape = tuple(x.shape)
    if x.ndim >= 3 and shape[-3] == heads and heads > 1:
        return reshape(x, shape[:-3] + (heads // groups, groups) + shape[-2:])
    if x.ndim >= 3:
        return reshape(x, shape[:-2] + (1,) + shape[-2:])
    return x


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale=None, enable_gqa: bool = False,
                                 *, generator=None, need_weights: bool = False):
    """``softmax(q k^T / sqrt(E) + mask) v``, PyTorch's ``F.scaled_dot_product_attention``.

    Args:
        query, key, value: (..., L, E), (..., S, E), (..., S, Ev); batch axes broadcast.
        attn_mask: boolean (True = the key takes part) or additive float mask,
            broadcastable to (..., L, S).
        dropout_p: dropout on the attention probabilities (numnet's generator).
        is_causal: query ``i`` sees keys ``j <= i`` (upper-left aligned, as PyTorch).
        scale: the factor of ``q k^T``; default ``1 / sqrt(E)``.
        enable_gqa: grouped-query attention: ``Hq`` query heads (axis -3) share
            ``Hk`` key/value heads, ``Hq / Hk`` each.
        generator: a ``numnet.random.Generator`` for the dropout mask (numnet's addition).
        need_weights: also return the attention weights (..., L, S) (numnet's addition,
            used by ``nn.MultiheadAttention``).

    Returns:
        (..., L, Ev), or ``(output, weights)`` with ``need_weights``.

    Example:
        >>> import numnet
        >>> q = k = v = numnet.eye(2)
        >>> scaled_dot_product_attention(q, k, v, scale=0.0)
        tensor([[0.5000, 0.5000],
                [0.5000, 0.5000]])
    """
    q, k, v = as_tensor(query), as_tensor(key), as_tensor(value)
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise RuntimeError("scaled_dot_product_attention: query, key and value need at least "
                           f"2 dims, got {tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")
    if q.dtype != k.dtype or q.dtype != v.dtype:
        raise RuntimeError(f"Expected query, key, and value to have the same dtype, but got "
                           f"query.dtype: {q.dtype}, key.dtype: {k.dtype}, and value.dtype: "
                           f"{v.dtype} instead.")
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise RuntimeError(f"scaled_dot_product_attention: query {tuple(q.shape)}, key "
                           f"{tuple(k.shape)} and value {tuple(v.shape)} do not fit "
                           "(need E of query = E of key and S of key = S of value)")
    if attn_mask is not None and is_causal:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be "
                           "set when is_causal=True")
    if not 0.0 <= dropout_p < 1.0:
        raise ValueError(f"dropout probability has to be in [0, 1), but got {dropout_p}")
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    mask = keep = None
    if attn_mask is not None:
        mask = as_tensor(attn_mask)
        if mask.dtype == numpy.bool_:
            keep, mask = mask, None
        elif mask.dtype != q.dtype:
            mask = promotion.cast(mask, q.dtype)
    out_shape = None
    if enable_gqa and q.ndim >= 3 and k.ndim >= 3 and q.shape[-3] != k.shape[-3]:
        heads_q, heads_k = q.shape[-3], k.shape[-3]
        if heads_q % heads_k or v.shape[-3] != heads_k:
            raise RuntimeError(f"scaled_dot_product_attention: {heads_q} query heads do not "
                               f"divide into {heads_k} key/value heads")
        groups = heads_q // heads_k
        q = _group_heads(q, groups, heads_q)
        k, v = _group_heads(k, 1, 1), _group_heads(v, 1, 1)
        if keep is not None:
            keep = _group_heads(keep, groups, heads_q)
        if mask is not None:
            mask = _group_heads(mask, groups, heads_q)
        out_shape = heads_q
    function = ScaledDotProductAttention(scale, None if keep is None else keep.data, is_causal,
                                         dropout_p, generator, need_weights)
    inputs = (q, k, v) if mask is None else (q, k, v, mask)
    result = function(*inputs)
    if out_shape is None:
        return result
    outputs = result if need_weights else (result,)
    merged = tuple(reshape(t, tuple(t.shape[:-4]) + (out_shape,) + tuple(t.shape[-2:]))
                   for t in outputs)
    return merged if need_weights else merged[0]
