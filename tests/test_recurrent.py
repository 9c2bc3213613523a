"""RNN, LSTM, GRU and their cells against torch: torch's weights loaded into numnet, then
outputs, final states and every parameter and input gradient compared, float64 and float32;
the recurrence op itself through ``check_op``; gradcheck; a 2,000-step sequence."""

from __future__ import annotations

import math

import numpy
import pytest
import torch

import numnet
import numnet.nn.functional as F
from numnet import nn
from numnet.ops.recurrent import recurrence

MODES = [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}), ("GRU", {})]
MODE_IDS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]
TOLERANCE = {numpy.float64: dict(rtol=1e-9, atol=1e-10), numpy.float32: dict(rtol=2e-4,
                                                                            atol=2e-5)}


def _layers(name, dtype, *args, **kwargs):
    """The same layer in numnet and torch, torch's random weights copied into numnet."""
    t_layer = getattr(torch.nn, name)(*args, **kwargs).to(getattr(torch, dtype.__name__))
    n_layer = getattr(nn, name)(*args, dtype=dtype, **kwargs)
    state = {k: numnet.tensor(v.detach().numpy()) for k, v in t_layer.state_dict().items()}
    n_layer.load_state_dict(state)
    return n_layer, t_layer


def _flat(out) -> list:
    if isinstance(out, (tuple, list)):
        return [t for item in out for t in _flat(item)]
    if isinstance(out, (torch.nn.utils.rnn.PackedSequence, nn.utils.rnn.PackedSequence)):
        return [out.data]
    return [out]


def _compare(n_layer, t_layer, arrays, dtype, structure=None, call=None):
    """Run both layers on the same inputs; compare outputs, then the gradients of every
    input and parameter for a random upstream gradient on every output."""
    tol = TOLERANCE[dtype]
    call = call or (lambda layer, lib, xs: layer(*xs) if structure is None else
                    layer(*structure(lib, xs)))
    n_inputs = [numnet.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    t_inputs = [torch.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    n_out = _flat(call(n_layer, numnet, n_inputs))
    t_out = _flat(call(t_layer, torch, t_inputs))
    assert len(n_out) == len(t_out)
    rng = numpy.random.default_rng(7)
    total_n = total_t = 0
    for n, t in zip(n_out, t_out):
        assert tuple(n.shape) == tuple(t.shape)
        assert n.dtype == dtype
        numpy.testing.assert_allclose(n.data, t.detach().numpy(), **tol)
        upstream = rng.standard_normal(t.shape).astype(dtype)
        total_n = total_n + (n * numnet.tensor(upstream)).sum()
        total_t = total_t + (t * torch.tensor(upstream)).sum()
    total_n.backward()
    total_t.backward()
    for i, (n, t) in enumerate(zip(n_inputs, t_inputs)):
        numpy.testing.assert_allclose(n.grad.data, t.grad.numpy(), err_msg=f"input {i}", **tol)
    t_params = dict(t_layer.named_parameters())
    for name, param in n_layer.named_parameters():
        assert param.grad.dtype == dtype
        numpy.testing.assert_allclose(param.grad.data, t_params[name].grad.numpy(),
                                      err_msg=name, **tol)


def _with_states(name):
    """Call ``layer(x, hx)`` with ``hx`` the pair (h0, c0) for the LSTM."""
    if name == "LSTM":
        return lambda lib, xs: (xs[0], tuple(xs[1:]))
    return None


@pytest.mark.parametrize("dtype", [numpy.float64, numpy.float32])
@pytest.mark.parametrize("with_states", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_layer_matches_torch(mode, num_layers, bidirectional, batch_first, with_states,
                             dtype):
    name, extra = mode
    kwargs = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first,
                  **extra)
    n_layer, t_layer = _layers(name, dtype, 3, 4, **kwargs)
    rng = numpy.random.default_rng(0)
    length, batch, rows = 5, 2, num_layers * (2 if bidirectional else 1)
    arrays = [rng.standard_normal((batch, length, 3) if batch_first else (length, batch, 3))]
    structure = None
    if with_states:
        count = 2 if name == "LSTM" else 1
        arrays += [rng.standard_normal((rows, batch, 4)) for _ in range(count)]
        structure = _with_states(name)
    _compare(n_layer, t_layer, arrays, dtype, structure)


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_layer_without_bias_and_unbatched(mode):
    name, extra = mode
    n_layer, t_layer = _layers(name, numpy.float64, 3, 4, num_layers=2, bias=False,
                               bidirectional=True, **extra)
    rng = numpy.random.default_rng(1)
    count = 2 if name == "LSTM" else 1
    _compare(n_layer, t_layer, [rng.standard_normal((5, 2, 3))], numpy.float64)
    arrays = [rng.standard_normal((6, 3))] + [rng.standard_normal((4, 4))
                                              for _ in range(count)]
    _compare(n_layer, t_layer, arrays, numpy.float64, _with_states(name))
    out, _ = n_layer(numnet.tensor(arrays[0]))
    assert out.shape == (6, 8)


def _packed_call(lengths, enforce_sorted, with_states):
    def call(layer, lib, xs):
        rnn_utils = lib.nn.utils.rnn
        packed = rnn_utils.pack_padded_sequence(xs[0], lengths, enforce_sorted=enforce_sorted)
        if not with_states:
            out, states = layer(packed)
        else:
            out, states = layer(packed, xs[1] if len(xs) == 2 else tuple(xs[1:]))
        padded, out_lengths = rnn_utils.pad_packed_sequence(out)
        assert list(out_lengths.tolist()) == list(lengths)
        return padded, states
    return call


@pytest.mark.parametrize("dtype", [numpy.float64, numpy.float32])
@pytest.mark.parametrize("enforce_sorted", [True, False])
@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_packed_mixed_lengths_match_torch(mode, enforce_sorted, dtype):
    name, extra = mode
    n_layer, t_layer = _layers(name, dtype, 3, 4, num_layers=2, bidirectional=True, **extra)
    lengths = [6, 4, 4, 1] if enforce_sorted else [2, 6, 1, 4]
    rng = numpy.random.default_rng(2)
    count = 2 if name == "LSTM" else 1
    arrays = [rng.standard_normal((6, 4, 3))] + [rng.standard_normal((4, 4, 4))
                                                 for _ in range(count)]
    for with_states in (False, True):
        _compare(n_layer, t_layer, arrays if with_states else arrays[:1], dtype,
                 call=_packed_call(lengths, enforce_sorted, with_states))
        n_layer.zero_grad()
        t_layer.zero_grad()


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
@pytest.mark.parametrize("dtype", [numpy.float64, numpy.float32])
@pytest.mark.parametrize("batch_first", [False, True])
def test_lstm_projection_matches_torch(batch_first, dtype):
    n_layer, t_layer = _layers("LSTM", dtype, 3, 5, num_layers=2, bidirectional=True,
                               proj_size=2, batch_first=batch_first)
    rng = numpy.random.default_rng(9)
    x = rng.standard_normal((2, 4, 3) if batch_first else (4, 2, 3))
    _compare(n_layer, t_layer, [x], dtype)
    n_layer.zero_grad()
    t_layer.zero_grad()
    states = [rng.standard_normal((4, 2, 2)), rng.standard_normal((4, 2, 5))]
    _compare(n_layer, t_layer, [x] + states, dtype, _with_states("LSTM"))
    n_layer.zero_grad()
    t_layer.zero_grad()
    if not batch_first:
        _compare(n_layer, t_layer, [x] + states, dtype,
                 call=_packed_call([2, 4], False, True))
    if dtype == numpy.float64:
        inputs = [numnet.tensor(a, requires_grad=True) for a in [x] + states]
        assert numnet.gradcheck(lambda x, h, c: n_layer(x, (h, c))[0], inputs)


def test_packed_final_state_is_each_sequence_last_step():
    lstm = nn.LSTM(2, 3, dtype="float64")
    x = numnet.randn(5, 2, 2, dtype="float64")
    packed = nn.utils.rnn.pack_padded_sequence(x, [5, 2])
    _, (h_n, _) = lstm(packed)
    _, (h_short, _) = lstm(x[:2, 1:2])
    numpy.testing.assert_allclose(h_n.data[0, 1], h_short.data[0, 0], rtol=1e-12)


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_gradcheck_bidirectional_packed(mode):
    name, extra = mode
    layer = getattr(nn, name)(2, 3, num_layers=2, bidirectional=True, dtype="float64", **extra)
    x = numnet.randn(4, 3, 2, dtype="float64", requires_grad=True)

    def run(x):
        packed = nn.utils.rnn.pack_padded_sequence(x, [2, 4, 3], enforce_sorted=False)
        out, states = layer(packed)
        h_n = states[0] if name == "LSTM" else states
        return nn.utils.rnn.pad_packed_sequence(out)[0], h_n

    assert numnet.gradcheck(run, [x])


@pytest.mark.parametrize("mode", ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"])
def test_recurrence_op(check_op, mode):
    """The op of one layer and direction with every input differentiable (xw, W_hh, b_hh,
    the states), as torch's cell applied step by step."""
    gates = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}[mode]
    hidden, length, batch = 3, 4, 2

    def torch_fn(xw, w_hh, b_hh, *state):
        hidden_state = tuple(state) if mode == "LSTM" else state[0]
        ys = []
        for step in xw:
            hh = step @ torch.eye(step.shape[1], dtype=step.dtype)  # xw_t as W_ih = I
            if mode == "LSTM":
                hidden_state = torch._VF.lstm_cell(hh, hidden_state, torch.eye(
                    4 * hidden, dtype=step.dtype), w_hh, None, b_hh)
                ys.append(hidden_state[0])
            else:
                cell = {"RNN_TANH": torch._VF.rnn_tanh_cell, "RNN_RELU": torch._VF.rnn_relu_cell,
                        "GRU": torch._VF.gru_cell}[mode]
                hidden_state = cell(hh, hidden_state, torch.eye(gates * hidden,
                                                                dtype=step.dtype),
                                    w_hh, None, b_hh)
                ys.append(hidden_state)
        states = hidden_state if mode == "LSTM" else (hidden_state,)
        return (torch.stack(ys), *states)

    def numnet_fn(xw, w_hh, b_hh, *state):
        return recurrence(mode, xw, w_hh, b_hh, state)

    rng = numpy.random.default_rng(3)
    xw = rng.standard_normal((length, batch, gates * hidden))
    if mode == "RNN_RELU":  # away from the kink at 0
        xw += numpy.sign(xw) * 0.1
    specs = [xw, (gates * hidden, hidden), (gates * hidden,), (batch, hidden)]
    if mode == "LSTM":
        specs.append((batch, hidden))
    check_op(numnet_fn, torch_fn, *specs)


@pytest.mark.parametrize("cell", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("dtype", [numpy.float64, numpy.float32])
def test_cells_match_torch(cell, dtype):
    for bias, shape in ((True, (3, 5)), (False, (5,))):
        n_cell, t_cell = _layers(cell, dtype, 5, 4, bias=bias)
        rng = numpy.random.default_rng(4)
        state_shape = shape[:-1] + (4,)
        count = 2 if cell == "LSTMCell" else 1
        _compare(n_cell, t_cell, [rng.standard_normal(shape)], dtype)
        n_cell.zero_grad()
        t_cell.zero_grad()
        arrays = [rng.standard_normal(shape)] + [rng.standard_normal(state_shape)
                                                 for _ in range(count)]
        structure = (lambda lib, xs: (xs[0], tuple(xs[1:]))) if count == 2 else None
        _compare(n_cell, t_cell, arrays, dtype, structure)


def test_relu_cell_and_gradcheck():
    n_cell, t_cell = _layers("RNNCell", numpy.float64, 3, 4, nonlinearity="relu")
    rng = numpy.random.default_rng(5)
    _compare(n_cell, t_cell, [rng.standard_normal((2, 3)), rng.standard_normal((2, 4))],
             numpy.float64)
    lstm = nn.LSTMCell(3, 2, dtype="float64")
    x = numnet.randn(2, 3, dtype="float64", requires_grad=True)
    h = numnet.randn(2, 2, dtype="float64", requires_grad=True)
    c = numnet.randn(2, 2, dtype="float64", requires_grad=True)
    assert numnet.gradcheck(lambda x, h, c: lstm(x, (h, c)), [x, h, c])


@pytest.mark.parametrize("name", ["LSTM", "GRU", "RNN"])
def test_long_sequence_backward_is_iterative_and_matches_torch(name):
    n_layer, t_layer = _layers(name, numpy.float64, 2, 3)
    rng = numpy.random.default_rng(6)
    x = rng.standard_normal((2000, 1, 2))
    n_x = numnet.tensor(x, requires_grad=True)
    t_x = torch.tensor(x, requires_grad=True)
    n_out, _ = n_layer(n_x)
    t_out, _ = t_layer(t_x)
    n_out[-1].sum().backward()
    t_out[-1].sum().backward()
    numpy.testing.assert_allclose(n_x.grad.data, t_x.grad.numpy(), rtol=1e-8, atol=1e-12)
    assert n_layer.weight_hh_l0.grad is not None


def test_float32_is_the_default_and_stays_float32():
    for layer in (nn.LSTM(3, 4, 2), nn.GRU(3, 4, bidirectional=True), nn.RNN(3, 4)):
        out, states = layer(numnet.randn(5, 2, 3))
        h_n = states[0] if isinstance(states, tuple) else states
        (out.sum() + h_n.sum()).backward()
        assert out.dtype == numpy.float32 and h_n.dtype == numpy.float32
        assert all(p.grad.dtype == numpy.float32 for p in layer.parameters())


@pytest.mark.parametrize("name, args, kwargs", [
    ("LSTM", (3, 16), dict(num_layers=2, bidirectional=True)),
    ("LSTM", (3, 16), dict(num_layers=2, proj_size=5, bidirectional=True)),
    ("GRU", (3, 16), dict(bias=False, batch_first=True)),
    ("RNN", (3, 16), dict(nonlinearity="relu", num_layers=3, dropout=0.5)),
    ("LSTMCell", (3, 16), dict(bias=False)),
    ("GRUCell", (3, 16), {}),
    ("RNNCell", (3, 16), dict(nonlinearity="relu")),
])
def test_parameters_state_dict_init_and_repr_as_torch(name, args, kwargs):
    n_layer = getattr(nn, name)(*args, **kwargs)
    t_layer = getattr(torch.nn, name)(*args, **kwargs)
    assert [(k, tuple(p.shape)) for k, p in n_layer.named_parameters()] == \
        [(k, tuple(p.shape)) for k, p in t_layer.named_parameters()]
    assert repr(n_layer) == repr(t_layer)
    bound = 1 / math.sqrt(args[1])
    values = numpy.concatenate([p.data.ravel() for p in n_layer.parameters()])
    assert numpy.abs(values).max() <= bound
    assert abs(values.std() / (bound / math.sqrt(3)) - 1) < 0.15  # U(-b, b): std b / sqrt(3)
    state = {k: numnet.tensor(v.numpy()) for k, v in t_layer.state_dict().items()}
    n_layer.load_state_dict(state)


def test_dropout_between_layers_only_in_training():
    gru = nn.GRU(3, 8, num_layers=2, dropout=0.5)
    x = numnet.randn(4, 2, 3)
    gru.eval()
    a, _ = gru(x)
    plain = nn.GRU(3, 8, num_layers=2)
    plain.load_state_dict(gru.state_dict())
    numpy.testing.assert_allclose(plain(x)[0].data, a.data)
    gru.train()
    assert not numpy.allclose(gru(x)[0].data, a.data)
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.LSTM(3, 4, dropout=0.2)


def test_errors_as_torch():
    lstm = nn.LSTM(3, 4, num_layers=2)
    with pytest.raises(RuntimeError, match=r"expected input with last dimension 3"):
        lstm(numnet.zeros(5, 2, 7))
    with pytest.raises(RuntimeError, match=r"expected h0 of shape \(2, 2, 4\), got \(1, 2, 4\)"):
        lstm(numnet.zeros(5, 2, 3), (numnet.zeros(1, 2, 4), numnet.zeros(2, 2, 4)))
    with pytest.raises(RuntimeError, match="hx should also be 2-D"):
        lstm(numnet.zeros(5, 3), (numnet.zeros(2, 1, 4), numnet.zeros(2, 1, 4)))
    with pytest.raises(ValueError, match="expected input of 3 dims"):
        nn.GRU(3, 4)(numnet.zeros(5, 2, 1, 3))
    for lib in (torch, numnet):
        with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
            lib.nn.LSTM(3, 4, proj_size=4)
        with pytest.raises(ValueError, match="dropout should be a number in range"):
            lib.nn.GRU(3, 4, dropout=1.5)
        with pytest.raises(ValueError, match="hidden_size must be greater than zero"):
            lib.nn.RNN(3, 0)
        with pytest.raises(RuntimeError, match="input has inconsistent input_size"):
            lib.nn.GRUCell(3, 4)(lib.zeros(2, 5))
        with pytest.raises(ValueError, match="Expected input to be 1D or 2D"):
            lib.nn.LSTMCell(3, 4)(lib.zeros(1, 2, 3))
        with pytest.raises(RuntimeError, match="Input batch size 2 doesn't match hidden0 batch"):
            lib.nn.LSTMCell(3, 4)(lib.zeros(2, 3), (lib.zeros(3, 4), lib.zeros(3, 4)))
        with pytest.raises(RuntimeError, match="hidden0 has inconsistent hidden_size: got 5"):
            lib.nn.RNNCell(3, 4)(lib.zeros(2, 3), lib.zeros(2, 5))
        with pytest.raises(RuntimeError, match="Unknown nonlinearity: sig"):
            lib.nn.RNNCell(3, 4, nonlinearity="sig")(lib.zeros(2, 3))


def test_functional_rnn_layer_composes_with_embedding_and_linear():
    torch.manual_seed(0)
    t_model = torch.nn.ModuleDict(dict(emb=torch.nn.Embedding(11, 4), lstm=torch.nn.LSTM(
        4, 6, batch_first=True), head=torch.nn.Linear(6, 11))).double()
    n_model = nn.ModuleDict(dict(emb=nn.Embedding(11, 4), lstm=nn.LSTM(4, 6, batch_first=True),
                                 head=nn.Linear(6, 11))).double()
    n_model.load_state_dict({k: numnet.tensor(v.numpy())
                             for k, v in t_model.state_dict().items()})
    tokens = numpy.random.default_rng(8).integers(0, 11, (3, 7))

    def loss(model, lib, functional):
        out, _ = model["lstm"](model["emb"](lib.tensor(tokens)))
        logits = model["head"](out)
        return functional.cross_entropy(logits.reshape(21, 11), lib.tensor(tokens).reshape(21))

    n_loss = loss(n_model, numnet, F)
    t_loss = loss(t_model, torch, torch.nn.functional)
    n_loss.backward()
    t_loss.backward()
    numpy.testing.assert_allclose(n_loss.item(), t_loss.item(), rtol=1e-10)
    t_params = dict(t_model.named_parameters())
    for key, param in n_model.named_parameters():
        numpy.testing.assert_allclose(param.grad.data, t_params[key].grad.numpy(),
                                      rtol=1e-8, atol=1e-12, err_msg=key)


# ---------------------------------------------------------------------- the lecture's step
def test_vanishing_gradient_table_rnn_vs_lstm():
    from numnet.lecture import rnn as lecture_rnn

    table = lecture_rnn.vanishing_gradients(lengths=(10, 50, 200), repeats=2)
    plain, lstm = table["RNN (tanh)"], table["LSTM"]
    gated = table["LSTM, forget bias 3"]
    assert plain[0] > plain[1] > plain[2] and plain[2] < 1e-25  # geometric decay
    assert lstm[2] < 1e-20  # an untrained LSTM, f near 0.5, vanishes too
    assert table["LSTM, forget bias 1"][2] > 1e3 * lstm[2]
    assert min(gated) > 1e-2  # f near 0.95: the gradient survives 200 steps
    # the same ratio from torch, on the same weights and inputs
    numnet.manual_seed(0)
    model = lecture_rnn._forget_bias(nn.LSTM(1, 8, dtype="float64"), 1.0)
    t_model = torch.nn.LSTM(1, 8).double()
    t_model.load_state_dict({k: torch.tensor(numpy.asarray(v))
                             for k, v in model.state_dict().items()})
    x = numpy.random.default_rng(3).standard_normal((30, 4, 1))
    t_x = torch.tensor(x, requires_grad=True)
    t_model(t_x)[0][-1].sum().backward()
    per_step = t_x.grad.abs().mean(dim=(1, 2)).numpy()
    assert lecture_rnn.gradient_ratio(model, 30, 4, 3) == pytest.approx(
        per_step[0] / per_step[-1], rel=1e-9)
