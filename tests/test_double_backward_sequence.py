"""Second derivatives (``create_graph=True``) of the sequence ops against torch's, float64:
scaled dot-product attention (scale, broadcast batch, ``is_causal``, boolean masks with a
fully masked row, additive masks with ``-inf`` or with a gradient, returned weights,
grouped-query, dropout with its mask a constant), the recurrences (tanh, ReLU, LSTM with
and without projection, GRU; reverse; sequences of different lengths), the packed <->
padded reshapes, and the modules built on them with torch's weights: ``nn.RNN``,
``nn.LSTM``, ``nn.GRU`` (layers, bidirectional, batch_first, h0/c0, packed sequences), the
cells, ``nn.MultiheadAttention`` and ``nn.TransformerEncoderLayer``. The derivatives are
taken with respect to the inputs, the upstream gradients and every parameter; the ops also
pass ``gradgradcheck`` (finite differences), and attention and the LSTM match torch's
third derivatives. A recurrence's forward keeps no more memory than without double
backward: not ``xw``, whose values its double backward never reads (NaN in its place gives
the same derivatives)."""

from __future__ import annotations

import numpy
import pytest
import torch
import torch.nn.functional as TF
from torch.nn.attention import SDPBackend, sdpa_kernel

import numnet
import numnet.nn.functional as F
from numnet import nn
from numnet.ops.recurrent import _Recurrence, packed_to_padded, padded_to_packed, recurrence

Q, K, V = (2, 3, 4), (2, 5, 4), (2, 5, 3)


def _torch_sdpa(*xs, **kwargs):
    """torch's attention from its math kernel: its fused CPU (flash) kernel has no double
    backward ("derivative for aten::_scaled_dot_product_flash_attention_for_cpu_backward
    is not implemented")."""
    with sdpa_kernel(SDPBackend.MATH):
        return TF.scaled_dot_product_attention(*xs, **kwargs)


def _sdpa(**kwargs):
    return (lambda *xs: F.scaled_dot_product_attention(*xs, **kwargs),
            lambda *xs: _torch_sdpa(*xs, **kwargs))


SDPA = _sdpa()


def _third_derivatives(numnet_fn, torch_fn, arrays, seed=0):
    """``d/dx sum(w * d/dx sum(v * d/dx sum(u * f)))`` for every input ``x``, in both
    libraries with the same random ``u, v, w``."""
    results = []
    for lib, fn in ((numnet, numnet_fn), (torch, torch_fn)):
        rng = numpy.random.default_rng(seed)
        inputs = [lib.tensor(a, requires_grad=True) for a in arrays]
        grads = fn(*inputs)
        grads = grads if isinstance(grads, tuple) else (grads,)
        for order in range(3):
            vectors = [lib.tensor(rng.standard_normal(tuple(g.shape))) for g in grads]
            total = sum((g * v).sum() for g, v in zip(grads, vectors))
            grads = lib.autograd.grad(total, inputs, create_graph=order < 2)
        results.append([g.detach().numpy() if lib is torch else g.data for g in grads])
    for i, (have, want) in enumerate(zip(*results)):
        numpy.testing.assert_allclose(have, want, rtol=1e-7, atol=1e-9,
                                      err_msg=f"third derivative through input {i}")


def _gradgradcheck(fn, inputs):
    """``gradgradcheck``, and the recorded first derivatives (``create_graph=True``, from
    the op's decomposition) equal to the fast path's: finite differences of the recorded
    derivatives alone would not see a decomposition that is not the op."""
    outputs = fn(*inputs)
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    rng = numpy.random.default_rng(0)
    upstream = [numnet.tensor(rng.standard_normal(tuple(y.shape))) for y in outputs]
    recorded = numnet.autograd.grad(outputs, inputs, upstream, create_graph=True)
    fast = numnet.autograd.grad(outputs, inputs, upstream)
    for have, want in zip(recorded, fast):
        assert have.requires_grad
        numpy.testing.assert_allclose(have.data, want.data, rtol=1e-12, atol=1e-14)
    assert numnet.gradgradcheck(fn, inputs, atol=1e-7, rtol=1e-6)


# ---------------------------------------------------------------------- attention
@pytest.mark.parametrize("kwargs", [{}, {"scale": 0.7}, {"is_causal": True}],
                         ids=["plain", "scale", "causal"])
def test_sdpa(check_op, kwargs):
    check_op(*_sdpa(**kwargs), Q, K, V, gradgrad=True, float32=False)


def test_sdpa_causal_more_queries_than_keys_and_broadcast_batch(check_op):
    check_op(*_sdpa(is_causal=True), (2, 6, 4), (2, 5, 4), (2, 5, 3), gradgrad=True,
             float32=False)
    check_op(*SDPA, (2, 1, 3, 4), (1, 2, 5, 4), (1, 2, 5, 3), gradgrad=True, float32=False)
    check_op(*SDPA, (3, 4), (5, 4), (5, 3), gradgrad=True, float32=False)


def test_sdpa_boolean_mask_with_a_fully_masked_row(check_op):
    keep = numpy.random.default_rng(5).standard_normal((2, 3, 5)) > -0.3
    keep[0, 1] = False  # a query that sees nothing: probabilities 0, gradients 0
    keep[:, :, 0] = True
    check_op(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, numnet.tensor(keep)),
             lambda q, k, v: _torch_sdpa(q, k, v, torch.tensor(keep)), Q, K, V,
             gradgrad=True, float32=False)


def test_sdpa_additive_mask_with_a_gradient_and_with_minus_inf(check_op):
    check_op(*SDPA, Q, K, V, (3, 5), gradgrad=True, float32=False)
    check_op(*SDPA, Q, K, V, (2, 1, 5), gradgrad=True, float32=False)
    mask = numpy.random.default_rng(6).standard_normal((3, 5))
    mask[:, 3:] = -numpy.inf
    mask[2] = -numpy.inf  # a fully masked row through the additive mask
    check_op(*SDPA, Q, K, V, mask, grad=[True, True, True, False], gradgrad=True,
             float32=False)


def _torch_attention(q, k, v, scale=None, drop=None):
    """Attention from torch ops, returning the weights too (and a dropout mask ``drop``)."""
    scale = q.shape[-1] ** -0.5 if scale is None else scale
    weights = torch.softmax(q @ k.transpose(-1, -2) * scale, dim=-1)
    if drop is not None:
        weights = weights * torch.tensor(drop)
    return weights @ v, weights


def test_sdpa_returned_weights(check_op):
    check_op(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, need_weights=True),
             _torch_attention, Q, K, V, gradgrad=True, float32=False)


def test_sdpa_grouped_query_attention(check_op):
    check_op(*_sdpa(enable_gqa=True), (2, 4, 3, 4), (2, 2, 5, 4), (2, 2, 5, 3),
             gradgrad=True, float32=False)


def test_sdpa_dropout_mask_is_a_constant(check_op):
    """Each call draws the same mask (a fresh generator); torch gets that mask, scaled by
    ``1 / (1 - p)``, as a constant factor of the weights."""
    p = 0.4

    def ours(q, k, v, need_weights=False):
        return F.scaled_dot_product_attention(q, k, v, dropout_p=p, need_weights=need_weights,
                                              generator=numnet.random.Generator(3))

    rng = numpy.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in (Q, K, V)]
    _, weights = ours(*map(numnet.tensor, arrays), need_weights=True)
    drop = (weights.data != 0) / (1 - p)
    assert 0 < (weights.data == 0).sum() < weights.data.size
    check_op(ours, lambda q, k, v: _torch_attention(q, k, v, drop=drop)[0], *arrays,
             gradgrad=True, float32=False)


def test_sdpa_third_derivatives_match_torch():
    rng = numpy.random.default_rng(1)
    arrays = [rng.standard_normal(s) for s in (Q, K, V, (3, 5))]
    _third_derivatives(*SDPA, arrays)
    keep = numpy.tril(numpy.ones((3, 5), bool))
    _third_derivatives(lambda q, k, v: F.scaled_dot_product_attention(q, k, v,
                                                                      numnet.tensor(keep)),
                       lambda q, k, v: _torch_sdpa(q, k, v, torch.tensor(keep)),
                       arrays[:3])


# ---------------------------------------------------------------------- recurrence op
GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
TORCH_CELLS = {"RNN_TANH": torch._VF.rnn_tanh_cell, "RNN_RELU": torch._VF.rnn_relu_cell,
               "LSTM": torch._VF.lstm_cell, "GRU": torch._VF.gru_cell}


def _torch_recurrence(mode, reverse, batch_sizes):
    """One layer and direction from torch's own cells (``W_ih = I``, so ``xw_t`` is the
    input): step t updates the first ``batch_sizes[t]`` rows, the others keep their state
    and get ``y_t = 0``."""
    def run(xw, w_hh, b_hh, *state):
        length, batch = xw.shape[:2]
        sizes = batch_sizes or [batch] * length
        eye = torch.eye(xw.shape[2], dtype=xw.dtype)
        state, ys = list(state), [None] * length
        for t in (range(length - 1, -1, -1) if reverse else range(length)):
            rows = sizes[t]
            running = tuple(s[:rows] for s in state)
            new = TORCH_CELLS[mode](xw[t, :rows], running if mode == "LSTM" else running[0],
                                    eye, w_hh, None, b_hh)
            new = list(new) if mode == "LSTM" else [new]
            state = [torch.cat([n, s[rows:]]) for n, s in zip(new, state)]
            ys[t] = torch.cat([new[0], torch.zeros_like(state[0][rows:])])
        return (torch.stack(ys), *state)
    return run


def _recurrence_specs(mode, length, batch, hidden, seed=3):
    rng = numpy.random.default_rng(seed)
    xw = rng.standard_normal((length, batch, GATES[mode] * hidden))
    if mode == "RNN_RELU":  # away from the kink at 0
        xw += numpy.sign(xw) * 0.2
    specs = [xw, (GATES[mode] * hidden, hidden), (GATES[mode] * hidden,), (batch, hidden)]
    return specs + ([(batch, hidden)] if mode == "LSTM" else [])


@pytest.fixture
def nan_xw(monkeypatch):
    """The decompositions get NaN for ``xw`` (not zeros): a derivative that read its values
    would be NaN."""
    def stand_in(self):
        return numpy.broadcast_to(numpy.full((), numpy.nan, self.y.dtype), self.shapes[0])
    monkeypatch.setattr(_Recurrence, "xw_stand_in", property(stand_in))


def _not_leaves(fn):
    """``fn`` with its inputs times 1: results of an op, so the recurrence's double backward
    takes ``xw`` from its stand-in and the initial states from what forward kept."""
    return lambda *xs: fn(*(x * 1 for x in xs))


@pytest.mark.parametrize("mode", sorted(GATES))
@pytest.mark.parametrize("reverse, batch_sizes", [(False, None), (True, [2, 2, 1])],
                         ids=["forward", "reverse_packed"])
def test_recurrence_op(check_op, nan_xw, mode, reverse, batch_sizes):
    @_not_leaves
    def ours(xw, w_hh, b_hh, *state):
        return recurrence(mode, xw, w_hh, b_hh, state, reverse, batch_sizes)

    # finite differences of the create_graph gradient: cheap only for the smallest cells
    cheap = mode.startswith("RNN") or (batch_sizes is None and mode == "GRU")
    check_op(ours, _torch_recurrence(mode, reverse, batch_sizes),
             *_recurrence_specs(mode, 3, 2, 3), gradgrad=True, float32=False,
             gradcheck=cheap)


def test_lstm_op_gradgradcheck_small():
    def ours(xw, w_hh, b_hh, h0, c0):
        return recurrence("LSTM", xw, w_hh, b_hh, (h0, c0), True, [2, 1])

    rng = numpy.random.default_rng(4)
    inputs = [numnet.tensor(s if isinstance(s, numpy.ndarray) else rng.standard_normal(s),
                            requires_grad=True) for s in _recurrence_specs("LSTM", 2, 2, 2)]
    _gradgradcheck(ours, inputs)


def test_lstm_third_derivatives_match_torch(nan_xw):
    rng = numpy.random.default_rng(2)
    arrays = [s if isinstance(s, numpy.ndarray) else rng.standard_normal(s)
              for s in _recurrence_specs("LSTM", 2, 2, 2)]
    ours = _not_leaves(lambda xw, w, b, h, c: recurrence("LSTM", xw, w, b, (h, c)))
    _third_derivatives(ours, _torch_recurrence("LSTM", False, None), arrays)
    _third_derivatives(lambda xw, w, b, h, c: recurrence("LSTM", xw, w, b, (h, c)),
                       _torch_recurrence("LSTM", False, None), arrays)


KEPT = {"RNN_TANH": 2, "RNN_RELU": 2, "LSTM": 8, "GRU": 6}
"""(L, N, H) arrays a recurrence's forward keeps for its backward: h_prev and y, and the
LSTM's four gates, c_prev and tanh_c, the GRU's three gates and hh_n."""


@pytest.mark.parametrize("mode", sorted(GATES))
def test_recurrence_forward_keeps_no_input_projections(mode):
    """What a forward keeps (with gradients on, no create_graph yet) is what its fast
    backward needs: no copy nor view of ``xw``; of the inputs, references only."""
    length, batch, hidden = 5, 3, 4
    rng = numpy.random.default_rng(0)
    inputs = [numnet.tensor(rng.standard_normal(s) if isinstance(s, tuple) else s,
                            requires_grad=True)
              for s in _recurrence_specs(mode, length, batch, hidden)]
    xw = inputs[0] * 1
    y = recurrence(mode, xw, *inputs[1:3], inputs[3:])[0]
    kept = [v for v in vars(y._creator).values() if isinstance(v, numpy.ndarray)]
    assert not any(numpy.shares_memory(v, xw.data) for v in kept)
    owned = [v for v in kept if not any(v is x.data for x in inputs)]
    scale_and_shift = 8 * hidden if mode == "LSTM" else 0
    assert sum(v.size for v in owned) == KEPT[mode] * length * batch * hidden + scale_and_shift


def test_packed_padded_reshapes(check_op):
    sizes = [3, 2, 2, 1]
    check_op(lambda d: packed_to_padded(d, sizes, -1.5, total_length=5) ** 2,
             lambda d: torch.nn.utils.rnn.pad_packed_sequence(
                 torch.nn.utils.rnn.PackedSequence(d, torch.tensor(sizes)),
                 padding_value=-1.5, total_length=5)[0] ** 2,
             (8, 2), gradgrad=True, float32=False)
    check_op(lambda x: padded_to_packed(x, sizes) ** 2,
             lambda x: torch.nn.utils.rnn.pack_padded_sequence(x, [4, 3, 1]).data ** 2,
             (5, 3, 2), gradgrad=True, float32=False)


# ---------------------------------------------------------------------- modules vs torch
def _module_functions(n_module, t_module, call):
    """Both modules as functions of ``(inputs..., parameters...)`` (the parameters in
    torch's order), and torch's parameter values; ``call(run, lib, inputs)`` runs the
    module through ``run`` and returns its differentiable outputs. numnet's module gets
    torch's weights; ``check_op`` then differentiates with respect to every parameter."""
    t_module.double()
    names = [name for name, _ in t_module.named_parameters()]
    n_module.load_state_dict({k: v.detach().numpy() for k, v in t_module.state_dict().items()})

    def numnet_fn(*tensors):
        inputs, params = tensors[:-len(names)], tensors[-len(names):]
        kept = []
        for name, param in zip(names, params):
            *path, leaf = name.split(".")
            owner = n_module.get_submodule(".".join(path))
            kept.append((owner, leaf, owner._parameters[leaf]))
            owner._parameters[leaf] = param
        try:
            return call(n_module, numnet, inputs)
        finally:
            for owner, leaf, param in kept:
                owner._parameters[leaf] = param

    def torch_fn(*tensors):
        inputs, params = tensors[:-len(names)], tensors[-len(names):]

        def run(*args, **kwargs):
            return torch.func.functional_call(t_module, dict(zip(names, params)), args,
                                              kwargs)
        with sdpa_kernel(SDPBackend.MATH):  # see _torch_sdpa
            return call(run, torch, inputs)

    return numnet_fn, torch_fn, [p.detach().numpy() for p in t_module.parameters()]


def _check_module(check_op, name, call, input_shapes, *args, **kwargs):
    """``getattr(nn, name)(*args, **kwargs)`` against torch's, second derivatives with
    respect to the inputs, the upstream gradients and the parameters."""
    torch.manual_seed(0)
    t_module = getattr(torch.nn, name)(*args, **kwargs)
    n_module = getattr(nn, name)(*args, dtype="float64", **kwargs)
    numnet_fn, torch_fn, params = _module_functions(n_module, t_module, call)
    check_op(numnet_fn, torch_fn, *input_shapes, *params, gradgrad=True, float32=False,
             gradcheck=False)


def _states(mode, lib, xs):
    """``hx`` from the inputs after x: ``(h0, c0)`` for the LSTM, ``h0`` otherwise."""
    if len(xs) == 1:
        return None
    return tuple(xs[1:]) if mode == "LSTM" else xs[1]


def _layer_call(mode):
    def call(run, lib, xs):
        output, states = run(xs[0], _states(mode, lib, xs))
        return (output, *states) if mode == "LSTM" else (output, states)
    return call


RNN_LAYERS = [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}),
              ("LSTM", {"proj_size": 2}), ("GRU", {}), ("GRU", {"bias": False})]
RNN_IDS = ["rnn_tanh", "rnn_relu", "lstm", "lstm_proj", "gru", "gru_no_bias"]


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
@pytest.mark.parametrize("layer", RNN_LAYERS, ids=RNN_IDS)
def test_rnn_layers_one_layer_with_initial_states(check_op, layer):
    name, extra = layer
    out = extra.get("proj_size", 3)
    states = [(1, 2, out)] + ([(1, 2, 3)] if name == "LSTM" else [])
    _check_module(check_op, name, _layer_call(name), [(3, 2, 2)] + states, 2, 3, **extra)


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
@pytest.mark.parametrize("layer", RNN_LAYERS, ids=RNN_IDS)
def test_rnn_layers_two_layers_bidirectional_batch_first(check_op, layer):
    name, extra = layer
    _check_module(check_op, name, _layer_call(name), [(2, 3, 2)], 2, 3, num_layers=2,
                  bidirectional=True, batch_first=True, **extra)


def _packed_call(mode, lengths, enforce_sorted):
    """The padded input packed, run with the initial states, the output padded again."""
    def call(run, lib, xs):
        utils = lib.nn.utils.rnn
        packed = utils.pack_padded_sequence(xs[0], lengths, enforce_sorted=enforce_sorted)
        output, states = run(packed, _states(mode, lib, xs))
        padded = utils.pad_packed_sequence(output)[0]
        return (padded, *states) if mode == "LSTM" else (padded, states)
    return call


@pytest.mark.parametrize("layer", [("RNN", {}), ("LSTM", {}), ("GRU", {})],
                         ids=["rnn", "lstm", "gru"])
@pytest.mark.parametrize("lengths, enforce_sorted", [([3, 1], True), ([1, 3], False)],
                         ids=["sorted", "unsorted"])
def test_rnn_layers_packed_bidirectional(check_op, layer, lengths, enforce_sorted):
    name, extra = layer
    states = [(2, 2, 3)] * (2 if name == "LSTM" else 1)
    _check_module(check_op, name, _packed_call(name, lengths, enforce_sorted),
                  [(3, 2, 2)] + states, 2, 3, bidirectional=True, **extra)


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells(check_op, name):
    def call(run, lib, xs):
        out = run(xs[0], tuple(xs[1:]) if name == "LSTMCell" else xs[1])
        return tuple(out) if name == "LSTMCell" else out

    states = [(2, 3)] * (2 if name == "LSTMCell" else 1)
    _check_module(check_op, name, call, [(2, 2)] + states, 2, 3)


@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")
@pytest.mark.parametrize("batch_first", [False, True])
def test_multihead_attention(check_op, batch_first):
    padding = numpy.array([[False, False, True], [False, False, False]])
    causal = numpy.triu(numpy.ones((2, 3), bool), 1)
    masks = [dict(key_padding_mask=padding, need_weights=True),
             dict(attn_mask=causal, need_weights=False),
             dict(attn_mask=numpy.random.default_rng(3).standard_normal((2, 3)),
                  key_padding_mask=padding, need_weights=True, average_attn_weights=False)]
    for kwargs in masks:
        def call(run, lib, xs, kwargs=kwargs):
            given = {k: lib.tensor(v) if isinstance(v, numpy.ndarray) else v
                     for k, v in kwargs.items()}
            out, weights = run(*xs, **given)
            return out if weights is None else (out, weights)

        shapes = [(2, 2, 4), (2, 3, 4), (2, 3, 4)] if batch_first else [
            (2, 2, 4), (3, 2, 4), (3, 2, 4)]
        _check_module(check_op, "MultiheadAttention", call, shapes, 4, 2,
                      batch_first=batch_first)


def test_multihead_attention_dropout_gradgradcheck():
    """In training the dropout mask is drawn once per forward (a fixed seed here, so the
    finite differences see the same mask) and is a constant of the derivatives."""
    mha = nn.MultiheadAttention(4, 2, dropout=0.5, dtype="float64")
    rng = numpy.random.default_rng(1)
    x = [numnet.tensor(rng.standard_normal(s), requires_grad=True)
         for s in ((2, 1, 4), (3, 1, 4))]

    def run(q, kv):
        numnet.manual_seed(0)
        return mha(q, kv, kv)[0]

    _gradgradcheck(run, x)


@pytest.mark.parametrize("norm_first, activation", [(False, "relu"), (True, "gelu")])
def test_transformer_encoder_layer(check_op, norm_first, activation):
    padding = numpy.array([[False, False, True], [False, False, False]])

    def call(run, lib, xs):
        return run(xs[0], src_key_padding_mask=lib.tensor(padding))

    _check_module(check_op, "TransformerEncoderLayer", call, [(3, 2, 4)], 4, 2,
                  dim_feedforward=5, dropout=0.0, activation=activation,
                  norm_first=norm_first)
