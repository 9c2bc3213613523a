"""Attention against PyTorch: ``F.scaled_dot_product_attention`` (masks of both kinds,
is_causal, scale, grouped-query, dropout), ``nn.MultiheadAttention`` and the transformer
encoder with torch's weights loaded through ``load_state_dict``."""

from __future__ import annotations

import numpy
import pytest
import torch
import torch.nn.functional as TF

import numnet
import numnet.nn.functional as F
from numnet import nn

Q, K, V = (2, 3, 4, 6), (2, 3, 5, 6), (2, 3, 5, 7)


# ---------------------------------------------------------------------- sdpa
def test_sdpa_plain_and_scale(check_op):
    check_op(F.scaled_dot_product_attention, TF.scaled_dot_product_attention, Q, K, V)
    check_op(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, scale=0.7),
             lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, scale=0.7), Q, K, V)


def test_sdpa_unbatched_and_broadcast_batch(check_op):
    check_op(F.scaled_dot_product_attention, TF.scaled_dot_product_attention,
             (4, 6), (5, 6), (5, 3))
    check_op(F.scaled_dot_product_attention, TF.scaled_dot_product_attention,
             (2, 1, 4, 6), (1, 3, 5, 6), (1, 3, 5, 7))


def test_sdpa_is_causal_upper_left(check_op):
    for q in (Q, (2, 3, 6, 6)):  # L < S and L > S
        check_op(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
                 lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, is_causal=True),
                 q, K, V)


def test_sdpa_boolean_mask_with_a_fully_masked_row(check_op):
    keep = numpy.random.default_rng(5).standard_normal((3, 4, 5)) > -0.3
    keep[0, 1] = False  # a query that sees nothing: torch gives 0, not NaN
    keep[:, :, 0] = True
    check_op(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, numnet.tensor(keep)),
             lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, torch.tensor(keep)),
             Q, K, V)


def test_sdpa_additive_mask_gets_a_gradient(check_op):
    check_op(F.scaled_dot_product_attention, TF.scaled_dot_product_attention,
             Q, K, V, (4, 5))
    check_op(F.scaled_dot_product_attention, TF.scaled_dot_product_attention,
             Q, K, V, (2, 1, 1, 5))


def test_sdpa_float32_mask_with_minus_inf():
    mask = numpy.zeros((4, 5), numpy.float32)
    mask[:, 3:] = -numpy.inf
    rng = numpy.random.default_rng(0)
    q, k, v = (rng.standard_normal(s).astype(numpy.float32) for s in (Q, K, V))
    y = F.scaled_dot_product_attention(*map(numnet.tensor, (q, k, v, mask)))
    t = TF.scaled_dot_product_attention(*map(torch.tensor, (q, k, v, mask)))
    assert y.dtype == numpy.float32
    numpy.testing.assert_allclose(y.data, t.numpy(), atol=1e-5)


def test_sdpa_grouped_query_attention(check_op):
    def ours(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, enable_gqa=True)

    def theirs(q, k, v):
        return TF.scaled_dot_product_attention(q, k, v, enable_gqa=True)

    check_op(ours, theirs, (2, 6, 4, 6), K, V)


def test_sdpa_errors():
    q = numnet.zeros(2, 4, 6)
    with pytest.raises(RuntimeError, match="is_causal"):
        F.scaled_dot_product_attention(q, q, q, numnet.zeros(4, 4), is_causal=True)
    with pytest.raises(RuntimeError):
        F.scaled_dot_product_attention(q, numnet.zeros(2, 4, 5), q)


def test_sdpa_dropout_is_inverted_dropout_from_numnet_generator():
    q = k = numnet.zeros(1, 64, 8)
    v = numnet.ones(1, 64, 8)
    g = numnet.random.Generator(0)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.25, generator=g)
    # every weight is 1/64; dropped ones count 0, kept ones 4/3: the mean stays about 1
    assert abs(float(out.data.mean()) - 1.0) < 0.05
    assert out.data.std() > 0.05
    again = F.scaled_dot_product_attention(q, k, v, dropout_p=0.25,
                                           generator=numnet.random.Generator(0))
    numpy.testing.assert_array_equal(out.data, again.data)


# ---------------------------------------------------------------------- modules vs torch
def _load(module, torch_module):
    state = {k: v.detach().numpy() for k, v in torch_module.state_dict().items()}
    assert sorted(module.state_dict()) == sorted(state)
    module.load_state_dict(state)


def _compare_grads(module, torch_module, pairs, atol=1e-5):
    for n_x, t_x in pairs:
        numpy.testing.assert_allclose(n_x.grad.data, t_x.grad.numpy(), atol=atol)
    params = dict(module.named_parameters())
    for name, p in torch_module.named_parameters():
        numpy.testing.assert_allclose(params[name].grad.data, p.grad.numpy(), atol=atol,
                                      err_msg=name)


def _inputs(*shapes, seed=0):
    rng = numpy.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(numpy.float32) for s in shapes]
    return ([numnet.tensor(a, requires_grad=True) for a in arrays],
            [torch.tensor(a, requires_grad=True) for a in arrays])


def _mha_outputs(n_mha, t_mha, shapes, **kwargs):
    (nq, nk, nv), (tq, tk, tv) = _inputs(*shapes)
    n_kwargs = {k: numnet.tensor(v.numpy()) if isinstance(v, torch.Tensor) else v
                for k, v in kwargs.items()}
    n_out, n_w = n_mha(nq, nk, nv, **n_kwargs)
    t_out, t_w = t_mha(tq, tk, tv, **kwargs)
    numpy.testing.assert_allclose(n_out.data, t_out.detach().numpy(), atol=1e-5)
    if t_w is None:
        assert n_w is None
        loss_n, loss_t = n_out.sum(), t_out.sum()
    else:
        numpy.testing.assert_allclose(n_w.data, t_w.detach().numpy(), atol=1e-5)
        loss_n = n_out.sum() + (n_w * n_w).sum()
        loss_t = t_out.sum() + (t_w * t_w).sum()
    loss_n.backward()
    loss_t.backward()
    _compare_grads(n_mha, t_mha, [(nq, tq), (nk, tk), (nv, tv)])


@pytest.mark.parametrize("batch_first", [False, True])
def test_multihead_attention_matches_torch(batch_first):
    torch.manual_seed(0)
    t = torch.nn.MultiheadAttention(8, 2, batch_first=batch_first)
    with torch.no_grad():
        t.in_proj_bias.normal_()
        t.out_proj.bias.normal_()
    n = nn.MultiheadAttention(8, 2, batch_first=batch_first)
    _load(n, t)
    shapes = ((3, 4, 8), (3, 5, 8), (3, 5, 8)) if batch_first else \
        ((4, 3, 8), (5, 3, 8), (5, 3, 8))
    _mha_outputs(n, t, shapes)
    n.zero_grad()
    t.zero_grad()
    _mha_outputs(n, t, shapes, need_weights=True, average_attn_weights=False)


@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")
def test_multihead_attention_masks_of_both_kinds():
    torch.manual_seed(1)
    t = torch.nn.MultiheadAttention(8, 2)
    n = nn.MultiheadAttention(8, 2)
    _load(n, t)
    shapes = ((4, 3, 8), (5, 3, 8), (5, 3, 8))
    padding = torch.tensor([[False] * 5, [False, False, False, True, True], [True] + [False] * 4])
    causal = torch.ones(4, 5, dtype=torch.bool).triu(1)
    for kwargs in (dict(key_padding_mask=padding), dict(attn_mask=causal),
                   dict(attn_mask=torch.randn(6, 4, 5), key_padding_mask=padding),
                   dict(attn_mask=causal, key_padding_mask=padding.float() * -1e4,
                        need_weights=False)):
        n.zero_grad()
        t.zero_grad()
        _mha_outputs(n, t, shapes, **kwargs)


def test_multihead_attention_kdim_vdim_bias_kv_zero_attn_unbatched():
    torch.manual_seed(2)
    t = torch.nn.MultiheadAttention(8, 4, kdim=5, vdim=3, add_bias_kv=True,
                                    add_zero_attn=True)
    n = nn.MultiheadAttention(8, 4, kdim=5, vdim=3, add_bias_kv=True, add_zero_attn=True)
    assert n.in_proj_weight is None and tuple(n.k_proj_weight.shape) == (8, 5)
    _load(n, t)
    padding = torch.tensor([[False, True, False, False, False]] * 2)
    _mha_outputs(n, t, ((4, 2, 8), (5, 2, 5), (5, 2, 3)), key_padding_mask=padding)
    n.zero_grad()
    t.zero_grad()
    _mha_outputs(n, t, ((4, 8), (5, 5), (5, 3)))


def test_multihead_attention_init_and_hint():
    n = nn.MultiheadAttention(16, 4, bias=False)
    assert n.in_proj_bias is None and n.out_proj.bias is None
    bound = numpy.sqrt(6 / (16 + 48))
    assert numpy.abs(n.in_proj_weight.data).max() <= bound
    assert numpy.abs(n.in_proj_weight.data).max() > 0.8 * bound
    x = numnet.zeros(3, 2, 16)
    with pytest.raises(RuntimeError, match="attn_mask"):
        n(x, x, x, is_causal=True)
    with pytest.raises(AssertionError):
        nn.MultiheadAttention(10, 4)


def _encoder_parity(n, t, shape, **kwargs):
    _load(n, t)
    (nx,), (tx,) = _inputs(shape, seed=3)
    n_kwargs = {k: numnet.tensor(v.numpy()) if isinstance(v, torch.Tensor) else v
                for k, v in kwargs.items()}
    yn, yt = n(nx, **n_kwargs), t(tx, **kwargs)
    numpy.testing.assert_allclose(yn.data, yt.detach().numpy(), atol=1e-5)
    g = numpy.random.default_rng(4).standard_normal(yt.shape).astype(numpy.float32)
    (yn * numnet.tensor(g)).sum().backward()
    yt.backward(torch.tensor(g))
    _compare_grads(n, t, [(nx, tx)], atol=2e-5)


@pytest.mark.parametrize("norm_first, activation, batch_first",
                         [(False, "relu", False), (True, "gelu", True)])
def test_transformer_encoder_layer_matches_torch(norm_first, activation, batch_first):
    torch.manual_seed(3)
    args = dict(dim_feedforward=16, dropout=0.0, activation=activation,
                norm_first=norm_first, batch_first=batch_first)
    t = torch.nn.TransformerEncoderLayer(8, 2, **args)
    n = nn.TransformerEncoderLayer(8, 2, **args)
    shape = (3, 5, 8) if batch_first else (5, 3, 8)
    padding = torch.tensor([[False] * 5, [False] * 4 + [True], [False] * 5])
    _encoder_parity(n, t, shape, src_key_padding_mask=padding)


def test_transformer_encoder_matches_torch_with_a_causal_mask():
    torch.manual_seed(4)
    layer = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0,
                                             activation=torch.nn.GELU(approximate="tanh"))
    t = torch.nn.TransformerEncoder(layer, 2, norm=torch.nn.LayerNorm(8),
                                    enable_nested_tensor=False)
    n_layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0,
                                         activation=nn.GELU(approximate="tanh"))
    n = nn.TransformerEncoder(n_layer, 2, norm=nn.LayerNorm(8))
    assert n.layers[0] is not n.layers[1] and n.layers[0].linear1 is not n_layer.linear1
    mask = torch.nn.Transformer.generate_square_subsequent_mask(5)
    _encoder_parity(n, t, (5, 3, 8), mask=mask, is_causal=True)


def test_transformer_encoder_layer_dropout_only_in_training():
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5)
    x = numnet.tensor(numpy.random.default_rng(0).standard_normal((4, 2, 8)))
    layer.float()
    x = x.float()
    layer.eval()
    numpy.testing.assert_array_equal(layer(x).data, layer(x).data)
    layer.train()
    assert not numpy.allclose(layer(x).data, layer(x).data)
    with pytest.raises(RuntimeError, match="relu/gelu"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")
