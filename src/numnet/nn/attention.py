"""Attention layers: ``MultiheadAttention TransformerEncoderLayer TransformerEncoder``,
with PyTorch's arguments, parameter names, initialization and semantics, so a
torch ``state_dict`` loads with ``load_state_dict`` and gives the same outputs.

Multi-head attention (Vaswani et al., 2017) projects queries, keys and values with one
packed ``in_proj_weight`` (3E, E), splits E into ``num_heads`` heads of ``E / num_heads``,
runs ``F.scaled_dot_product_attention`` per head (one fused op; the (L, S) weights are made
once per head) and maps the joined heads back with ``out_proj``.
"""

from __future__ import annotations

import copy

import numpy

from numnet.nn import functional as F
from numnet.nn import init as nn_init
from numnet.nn.containers import ModuleList
from numnet.nn.dropout import Dropout
from numnet.nn.layers import Linear, _check_dtype, _dtype
from numnet.nn.module import Module
from numnet.nn.normalization import LayerNorm
from numnet.nn.parameter import Parameter
from numnet.ops.shape import broadcast_to, cat
from numnet.tensor import Tensor


def _mask_4d(mask, kind: str, batch: int, heads: int, L: int, S: int, dtype):
    """A MultiheadAttention mask as an array broadcasting to (N, H, L, S): boolean
    (True = masked) or float (added to the scores), cast to ``dtype``."""
    array = mask.data if isinstance(mask, Tensor) else numpy.asarray(mask)
    if array.dtype != numpy.bool_:
        array = array.astype(dtype, copy=False)
    if kind == "key_padding_mask":
        if array.shape != (batch, S):
            raise RuntimeError(f"key_padding_mask of shape {array.shape}, expected "
                               f"({batch}, {S})")
        return array.reshape(batch, 1, 1, S)
    if array.shape == (L, S):
        return array.reshape(1, 1, L, S)
    if array.shape == (batch * heads, L, S):
        return array.reshape(batch, heads, L, S)
    raise RuntimeError(f"attn_mask of shape {array.shape}, expected ({L}, {S}) or "
                       f"({batch * heads}, {L}, {S})")


def _combine_masks(masks: list, dtype):
    """Several masks (True = masked, or additive float) as one ``attn_mask`` for
    ``scaled_dot_product_attention``: a boolean ``keep`` when all are boolean, else the
    additive sum with ``-inf`` at the masked places."""
    if not masks:
        return None
    if all(m.dtype == numpy.bool_ for m in masks):
        masked = masks[0]
        for m in masks[1:]:
            masked = masked | m
        return Tensor(~masked, _raw=True)
    total = None
    for m in masks:
        if m.dtype == numpy.bool_:
            m = numpy.where(m, dtype.type(-numpy.inf), dtype.type(0))
        total = m if total is None else total + m
    return Tensor(numpy.ascontiguousarray(total), _raw=True)


class MultiheadAttention(Module):
    """``MultiHead(Q, K, V) = concat(head_1, ..., head_h) W_O^T + b_O`` with
    ``head_i = softmax(Q_i K_i^T / sqrt(E/h) + mask) V_i`` and ``Q_i, K_i, V_i`` the i-th
    ``E/h`` columns of ``query W_q^T + b_q``, ``key W_k^T + b_k``, ``value W_v^T + b_v``.

    Parameters as PyTorch's: ``in_proj_weight`` (3E, E) stacks ``W_q, W_k, W_v`` (or,
    when ``kdim`` or ``vdim`` differ from E, ``q_proj_weight`` (E, E), ``k_proj_weight``
    (E, kdim), ``v_proj_weight`` (E, vdim)); ``in_proj_bias`` (3E,); ``out_proj`` a
    Linear(E, E); ``bias_k``, ``bias_v`` (1, 1, E) with ``add_bias_kv``. Initialization
    (PyTorch's): ``xavier_uniform_`` on the input projections, zero biases,
    ``xavier_normal_`` on ``bias_k``/``bias_v``; ``out_proj.weight`` as a Linear's.

    Args:
        embed_dim: E.
        num_heads: h, which must divide E.
        dropout: dropout on the attention weights (training mode).
        bias: learn the projection biases.
        add_bias_kv: append a learned key and value (one more source position).
        add_zero_attn: append a zero key and value (one more source position).
        kdim, vdim: feature sizes of key and value (default E).
        batch_first: inputs and output are (N, L, E) instead of (L, N, E).

    Shape:
        - query (L, N, E), key (S, N, kdim), value (S, N, vdim); (N, L, E) etc. with
          ``batch_first``; (L, E), (S, kdim), (S, vdim) unbatched
        - key_padding_mask (N, S) (or (S,) unbatched): True or ``-inf`` = ignore that key
        - attn_mask (L, S) or (N h, L, S): True = not allowed, or added to the scores
        - output (L, N, E); weights (N, L, S) averaged over heads, else (N, h, L, S)

    Example:
        >>> import numnet
        >>> attention = MultiheadAttention(8, 2, batch_first=True)
        >>> x = numnet.zeros(3, 5, 8)
        >>> out, weights = attention(x, x, x)
        >>> out.shape, weights.shape
        ((3, 5, 8), (3, 5, 5))
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0,
                 bias: bool = True, add_bias_kv: bool = False, add_zero_attn: bool = False,
                 kdim: int | None = None, vdim: int | None = None, batch_first: bool = False,
                 *, dtype=None) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        self.embed_dim = int(embed_dim)
        self.kdim = self.embed_dim if kdim is None else int(kdim)
        self.vdim = self.embed_dim if vdim is None else int(vdim)
        self._qkv_same_embed_dim = self.kdim == self.embed_dim and self.vdim == self.embed_dim
        self.num_heads = int(num_heads)
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = self.embed_dim // self.num_heads
        if self.head_dim * self.num_heads != self.embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        self.add_zero_attn = add_zero_attn
        dtype = _dtype(dtype)
        E = self.embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(numpy.empty((3 * E, E), dtype))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.q_proj_weight = Parameter(numpy.empty((E, E), dtype))
            self.k_proj_weight = Parameter(numpy.empty((E, self.kdim), dtype))
            self.v_proj_weight = Parameter(numpy.empty((E, self.vdim), dtype))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(numpy.empty(3 * E, dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(E, E, bias=bias, dtype=dtype)
        if add_bias_kv:
            self.bias_k = Parameter(numpy.empty((1, 1, E), dtype))
            self.bias_v = Parameter(numpy.empty((1, 1, E), dtype))
        else:
            self.bias_k = self.bias_v = None
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            nn_init.xavier_uniform_(self.in_proj_weight)
        else:
            nn_init.xavier_uniform_(self.q_proj_weight)
            nn_init.xavier_uniform_(self.k_proj_weight)
            nn_init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            nn_init.zeros_(self.in_proj_bias)
            nn_init.zeros_(self.out_proj.bias)
        if self.bias_k is not None:
            nn_init.xavier_normal_(self.bias_k)
            nn_init.xavier_normal_(self.bias_v)

    def _project(self, x, index: int, width: int):
        E = self.embed_dim
        if self._qkv_same_embed_dim:
            weight = self.in_proj_weight[index * E:(index + 1) * E]
        else:
            weight = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)[index]
        bias = None
        if self.in_proj_bias is not None:
            bias = self.in_proj_bias[index * E:(index + 1) * E]
        if x.shape[-1] != width:
            name = ("query", "key", "value")[index]
            raise AssertionError(f"was expecting {name} feature size {width}, got shape "
                                 f"{tuple(x.shape)}")
        return F.linear(x, weight, bias)

    def forward(self, query, key, value, key_padding_mask=None, need_weights: bool = True,
                attn_mask=None, average_attn_weights: bool = True, is_causal: bool = False):
        """Attention of ``query`` over ``key``/``value``; returns ``(output, weights)``
        (``weights`` None unless ``need_weights``). ``is_causal`` is only a hint that
        ``attn_mask`` is the causal mask (as in PyTorch, which requires the mask with it).
        """
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise AssertionError(f"query, key and value should be all 2-D (unbatched) or all "
                                 f"3-D (batched), got {query.ndim}-D, {key.ndim}-D and "
                                 f"{value.ndim}-D")
        if is_causal and attn_mask is None:
            raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use "
                               "the Transformer module method `generate_square_subsequent_mask`"
                               " to create this mask.")
        _check_dtype(self, query, self.out_proj.weight)
        batched = query.ndim == 3
        if not batched:  # (L, E) -> (1, L, E)
            query, key, value = (t.unsqueeze(0) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = numpy.asarray(getattr(key_padding_mask, "data",
                                                         key_padding_mask))[None]
        elif not self.batch_first:  # (L, N, E) -> (N, L, E)
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        if query.shape[-1] != self.embed_dim:
            raise AssertionError(f"was expecting embedding dimension of {self.embed_dim}, "
                                 f"but got {query.shape[-1]}")
        N, L = query.shape[0], query.shape[1]
        H, D = self.num_heads, self.head_dim
        q = self._project(query, 0, self.embed_dim)
        k = self._project(key, 1, self.kdim)
        v = self._project(value, 2, self.vdim)
        if self.bias_k is not None:
            k = cat([k, broadcast_to(self.bias_k, (N, 1, self.embed_dim))], dim=1)
            v = cat([v, broadcast_to(self.bias_v, (N, 1, self.embed_dim))], dim=1)
        q, k, v = (t.reshape(N, t.shape[1], H, D).permute(0, 2, 1, 3) for t in (q, k, v))
        if self.add_zero_attn:
            zeros = Tensor(numpy.zeros((N, H, 1, D), k.dtype), _raw=True)
            k, v = cat([k, zeros], dim=2), cat([v, zeros], dim=2)
        S = k.shape[2]
        extra = S - key.shape[1]  # positions appended by add_bias_kv / add_zero_attn
        masks = []
        for kind, mask in (("attn_mask", attn_mask), ("key_padding_mask", key_padding_mask)):
            if mask is None:
                continue
            array = _mask_4d(mask, kind, N, H, L, S - extra, q.dtype)
            if extra:
                array = numpy.pad(array, [(0, 0)] * 3 + [(0, extra)])
            masks.append(array)
        mask = _combine_masks(masks, q.dtype)
        dropout_p = self.dropout if self.training else 0.0
        result = F.scaled_dot_product_attention(q, k, v, mask, dropout_p,
                                                need_weights=need_weights)
        out, weights = result if need_weights else (result, None)
        out = self.out_proj(out.permute(0, 2, 1, 3).reshape(N, L, self.embed_dim))
        if weights is not None and average_attn_weights:
            weights = weights.mean(dim=1)
        if not batched:
            out = out.squeeze(0)
            weights = None if weights is None else weights.squeeze(0)
        elif not self.batch_first:
            out = out.transpose(0, 1)
        return out, weights

    def extra_repr(self) -> str:
        text = f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.batch_first:
            text += ", batch_first=True"
        return text


_ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


class TransformerEncoderLayer(Module):
    """Self-attention and a feed-forward block, each with a residual connection and layer
    normalization (Vaswani et al., 2017), PyTorch's ``TransformerEncoderLayer``::

        post-norm (default):  x = norm1(x + sa(x));         x = norm2(x + ff(x))
        norm_first=True:      x = x + sa(norm1(x));         x = x + ff(norm2(x))

    with ``sa(x) = dropout1(self_attn(x, x, x))`` and
    ``ff(x) = dropout2(linear2(dropout(activation(linear1(x)))))``.

    Args:
        d_model: E, the feature size.
        nhead: attention heads.
        dim_feedforward: the hidden size of the feed-forward block.
        dropout: dropout after attention, inside and after the feed-forward block.
        activation: ``"relu"``, ``"gelu"`` or a callable (a Module is registered).
        layer_norm_eps: the layer norms' eps.
        batch_first: (N, L, E) input instead of (L, N, E).
        norm_first: normalise before each block instead of after.
        bias: biases in the linear layers and layer norms.

    Example:
        >>> import numnet
        >>> layer = TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=True)
        >>> layer(numnet.zeros(3, 5, 8)).shape
        (3, 5, 8)
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation="relu", layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True,
                 *, dtype=None) -> None:
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        if isinstance(activation, str):
            if activation not in _ACTIVATIONS:
                raise RuntimeError(f"activation should be relu/gelu, not {activation}")
            activation = _ACTIVATIONS[activation]
        self.activation = activation

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal: bool = False):
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal: bool):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout2(x)


class TransformerEncoder(Module):
    """A stack of ``num_layers`` deep copies of ``encoder_layer``, then ``norm`` if given
    (PyTorch's ``TransformerEncoder``; its parameters are ``layers.0.*``, ``layers.1.*``,
    ..., ``norm.*``).

    Args:
        encoder_layer: a ``TransformerEncoderLayer`` (copied, not shared).
        num_layers: how many copies.
        norm: an optional final layer (a ``LayerNorm``).

    Example:
        >>> import numnet
        >>> layer = TransformerEncoderLayer(8, 2, dim_feedforward=16)
        >>> TransformerEncoder(layer, num_layers=2)(numnet.zeros(5, 3, 8)).shape
        (5, 3, 8)
    """

    def __init__(self, encoder_layer: Module, num_layers: int, norm: Module | None = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True) -> None:
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        """``src`` through every layer (same masks for each), then ``norm``."""
        output = src
        for layer in self.layers:
            output = layer(output, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                           is_causal=bool(is_causal))
        if self.norm is not None:
            output = self.norm(output)
        return output


__all__ = ["MultiheadAttention", "TransformerEncoderLayer", "TransformerEncoder"]
