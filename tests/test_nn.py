"""numnet.nn: every layer against torch with the same weights; Module, containers, errors."""

from __future__ import annotations

import collections
import copy
import io
import math

import numpy
import pytest
import torch
import torch.nn.functional as TF

import numnet
import numnet.nn.functional as F
from numnet import nn

TOL = dict(rtol=1e-7, atol=1e-9)


def _copy_weights(numnet_module, torch_module) -> None:
    """Load numnet's state_dict (same key names) into the torch module, as float64."""
    state = {k: torch.tensor(v) for k, v in numnet_module.state_dict().items()}
    torch_module.load_state_dict(state)


def _randomize(module, seed=0) -> None:
    """Non-trivial values everywhere (BatchNorm's gamma/beta start at 1/0)."""
    rng = numpy.random.default_rng(seed)
    for _, param in module.named_parameters():
        param.data[...] = rng.standard_normal(param.shape) * 0.5


def _compare(n_layer, t_layer, *inputs, seed=1, grad_inputs=None):
    """Run both layers on the same float64 inputs; compare outputs and every gradient."""
    rng = numpy.random.default_rng(seed)
    arrays = [rng.standard_normal(s) if isinstance(s, tuple) else s for s in inputs]
    if grad_inputs is None:
        grad_inputs = [True] * len(arrays)
    n_in = [numnet.tensor(a, requires_grad=g) for a, g in zip(arrays, grad_inputs)]
    t_in = [torch.tensor(a, requires_grad=g) for a, g in zip(arrays, grad_inputs)]
    n_out = n_layer(*n_in)
    t_out = t_layer(*t_in)
    n_outs = n_out if isinstance(n_out, tuple) else (n_out,)
    t_outs = t_out if isinstance(t_out, tuple) else (t_out,)
    assert len(n_outs) == len(t_outs)
    n_total, t_total = None, None
    for n, t in zip(n_outs, t_outs):
        assert tuple(n.shape) == tuple(t.shape)
        assert n.dtype == numpy.float64
        numpy.testing.assert_allclose(n.data, t.detach().numpy(), **TOL,
                                      err_msg="forward differs")
        upstream = rng.standard_normal(t.shape)
        n_term = (n * numnet.tensor(upstream)).sum()
        t_term = (t * torch.tensor(upstream)).sum()
        n_total = n_term if n_total is None else n_total + n_term
        t_total = t_term if t_total is None else t_total + t_term
    n_total.backward()
    t_total.backward()
    for i, (n, t) in enumerate(zip(n_in, t_in)):
        if t.requires_grad:
            numpy.testing.assert_allclose(n.grad.data, t.grad.numpy(), **TOL,
                                          err_msg=f"gradient of input {i} differs")
    t_params = dict(t_layer.named_parameters())
    n_params = dict(n_layer.named_parameters())
    assert list(n_params) == list(t_params)
    for name, param in n_params.items():
        numpy.testing.assert_allclose(param.grad.data, t_params[name].grad.numpy(), **TOL,
                                      err_msg=f"gradient of {name} differs")
    return n_outs, t_outs


def _pair(n_layer, t_layer, randomize=False):
    n_layer.double()
    if randomize:
        _randomize(n_layer)
    t_layer.double()
    _copy_weights(n_layer, t_layer)
    return n_layer, t_layer



# ---------------------------------------------------------------------- layers vs torch
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 5), (5,)])
def test_linear(bias, shape):
    _compare(*_pair(nn.Linear(5, 3, bias=bias), torch.nn.Linear(5, 3, bias=bias)), shape)


@pytest.mark.parametrize("kwargs", [dict(), dict(stride=2), dict(padding=1),
                                    dict(stride=2, padding=2, bias=False),
                                    dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0))])
def test_conv2d(kwargs):
    kwargs = dict(kwargs)
    kernel = kwargs.pop("kernel_size", 3)
    n_layer = nn.Conv2d(2, 4, kernel, **kwargs)
    t_layer = torch.nn.Conv2d(2, 4, kernel, **kwargs)
    _compare(*_pair(n_layer, t_layer), (3, 2, 7, 6))


def test_conv2d_unbatched():
    _compare(*_pair(nn.Conv2d(2, 3, 3, padding=1), torch.nn.Conv2d(2, 3, 3, padding=1)),
             (2, 5, 5))


def test_conv2d_output_size_formula():
    conv = nn.Conv2d(3, 8, kernel_size=5, stride=2, padding=1)
    # (N - F + 2P) / S + 1 = (32 - 5 + 2) // 2 + 1 = 15
    assert conv.output_size(32, 32) == (15, 15)
    assert nn.Conv2d(1, 6, 5, padding=2).output_size(28, 28) == (28, 28)


@pytest.mark.parametrize("cls", ["MaxPool2d", "AvgPool2d"])
@pytest.mark.parametrize("args", [(2,), (3, 2), (3, 2, 1), (2, 1)])
def test_pooling(cls, args):
    _compare(getattr(nn, cls)(*args), getattr(torch.nn, cls)(*args), (2, 3, 7, 6))


@pytest.mark.parametrize("start,end", [(1, -1), (0, -1), (1, 2), (2, 3)])
def test_flatten(start, end):
    _compare(nn.Flatten(start, end), torch.nn.Flatten(start, end), (2, 3, 4, 5))


def test_identity():
    _compare(nn.Identity(5, anything=1), torch.nn.Identity(), (3, 4))


@pytest.mark.parametrize("n_cls,t_cls,args", [
    ("Sigmoid", "Sigmoid", ()), ("Tanh", "Tanh", ()), ("ReLU", "ReLU", ()),
    ("LeakyReLU", "LeakyReLU", ()), ("LeakyReLU", "LeakyReLU", (0.2,)),
    ("Softmax", "Softmax", (1,)), ("Softmax", "Softmax", (-1,)),
    ("LogSoftmax", "LogSoftmax", (1,)), ("LogSoftmax", "LogSoftmax", (0,)),
])
def test_activations(n_cls, t_cls, args):
    _compare(getattr(nn, n_cls)(*args), getattr(torch.nn, t_cls)(*args), (4, 5, 3))


def test_activation_reprs():
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
    assert repr(nn.Softmax(dim=1)) == "Softmax(dim=1)"
    assert repr(nn.ReLU()) == "ReLU()"


# ---------------------------------------------------------------------- dropout
def test_dropout_train_mask_statistics():
    p = 0.3
    layer = nn.Dropout(p, generator=numnet.Generator(0))
    x = numnet.ones(200, 500, dtype="float64", requires_grad=True)
    y = layer(x)
    zeroed = (y.data == 0).mean()
    assert abs(zeroed - p) < 0.01
    survivors = y.data[y.data != 0]
    numpy.testing.assert_allclose(survivors, 1 / (1 - p), rtol=1e-12)
    y.sum().backward()
    # gradient is the same mask, scaled
    numpy.testing.assert_allclose(x.grad.data, y.data, rtol=1e-12)
    assert abs(y.data.mean() - 1) < 0.01  # expectation kept


def test_dropout_eval_is_identity_and_seeded():
    layer = nn.Dropout(0.5)
    x = numnet.randn(10, 10)
    layer.eval()
    assert layer(x) is x
    layer.train()
    numnet.manual_seed(3)
    a = layer(x)
    numnet.manual_seed(3)
    b = layer(x)
    numpy.testing.assert_array_equal(a.data, b.data)
    assert a.dtype == numpy.float32
    assert repr(layer) == "Dropout(p=0.5)"
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


# ---------------------------------------------------------------------- batch norm
@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (6, 3)), ("BatchNorm1d", (4, 3, 5)),
                                       ("BatchNorm2d", (4, 3, 5, 2))])
@pytest.mark.parametrize("kwargs", [dict(), dict(momentum=0.3, eps=1e-3),
                                    dict(momentum=None), dict(affine=False),
                                    dict(track_running_stats=False)])
def test_batchnorm_train_then_eval(cls, shape, kwargs):
    n_layer, t_layer = _pair(getattr(nn, cls)(3, **kwargs), getattr(torch.nn, cls)(3, **kwargs),
                             randomize=True)
    for step in range(4):
        n_layer.zero_grad()
        t_layer.zero_grad()
        _compare(n_layer, t_layer, (shape[0] + step,) + shape[1:], seed=step)
        for name, buffer in t_layer.named_buffers():
            numpy.testing.assert_allclose(getattr(n_layer, name).data, buffer.numpy(),
                                          rtol=1e-12, atol=1e-14,
                                          err_msg=f"{name} after step {step}")
    n_layer.eval()
    t_layer.eval()
    n_layer.zero_grad()
    t_layer.zero_grad()
    before = {k: v.copy() for k, v in n_layer.state_dict().items()}
    _compare(n_layer, t_layer, shape, seed=9)
    for key, value in n_layer.state_dict().items():
        numpy.testing.assert_array_equal(value, before[key], err_msg=f"{key} changed in eval")


def test_batchnorm_running_stats_use_unbiased_variance():
    bn = nn.BatchNorm1d(2, momentum=1.0).double()
    x = numpy.array([[1.0, 2.0], [3.0, 6.0], [5.0, 7.0]])
    y = bn(numnet.tensor(x))
    numpy.testing.assert_allclose(bn.running_var.data, x.var(axis=0, ddof=1), rtol=1e-12)
    numpy.testing.assert_allclose(bn.running_mean.data, x.mean(axis=0), rtol=1e-12)
    # normalised with the biased variance
    expected = (x - x.mean(axis=0)) / numpy.sqrt(x.var(axis=0) + 1e-5)
    numpy.testing.assert_allclose(y.data, expected, rtol=1e-12)
    assert int(bn.num_batches_tracked.data) == 1
    assert bn.num_batches_tracked.dtype == numpy.int64


def test_batchnorm_float32_stays_float32():
    bn = nn.BatchNorm2d(3)
    x = numnet.randn(4, 3, 2, 2, requires_grad=True)
    y = bn(x)
    y.sum().backward()
    assert y.dtype == numpy.float32 and x.grad.dtype == numpy.float32
    assert bn.running_var.dtype == numpy.float32 and bn.weight.grad.dtype == numpy.float32


def test_batchnorm_errors_name_layer():
    with pytest.raises(RuntimeError, match=r"BatchNorm1d\(3\): expected 3 channels.*\(4, 5\)"):
        nn.BatchNorm1d(3)(numnet.zeros(4, 5))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\): expected 4-D.*\(4, 3\)"):
        nn.BatchNorm2d(3)(numnet.zeros(4, 3))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(numnet.zeros(1, 3))
    bn = nn.BatchNorm1d(3).eval()
    assert bn(numnet.zeros(1, 3)).shape == (1, 3)


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 2), (2, 3, 2, 3)])
def test_functional_batch_norm_op(shape, check_op):
    check_op(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True, eps=1e-3),
             lambda x, w, b: TF.batch_norm(x, None, None, w, b, training=True, eps=1e-3),
             shape, (3,), (3,))
    check_op(lambda x: F.batch_norm(x, None, None, training=True),
             lambda x: TF.batch_norm(x, None, None, training=True), shape)
    rng = numpy.random.default_rng(5)
    mean, var = rng.standard_normal(3), rng.uniform(0.5, 2.0, 3)

    def numnet_eval(x, w, b):
        stats = [numnet.tensor(a.astype(x.dtype)) for a in (mean, var)]
        return F.batch_norm(x, *stats, w, b, training=False)

    def torch_eval(x, w, b):
        stats = [torch.tensor(a, dtype=x.dtype) for a in (mean, var)]
        return TF.batch_norm(x, *stats, w, b, training=False)

    check_op(numnet_eval, torch_eval, shape, (3,), (3,))


def test_batchnorm_gradcheck():
    bn = nn.BatchNorm2d(2).double()
    _randomize(bn)
    x = numnet.randn(3, 2, 2, 2, dtype="float64", requires_grad=True)
    assert numnet.gradcheck(lambda t: bn(t), [x])
    bn.eval()
    assert numnet.gradcheck(lambda t: bn(t), [x])


# ---------------------------------------------------------------------- RNN
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("with_h0", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_rnn(num_layers, batch_first, nonlinearity, with_h0, bias):
    kwargs = dict(num_layers=num_layers, nonlinearity=nonlinearity, bias=bias,
                  batch_first=batch_first)
    n_layer, t_layer = _pair(nn.RNN(3, 4, **kwargs), torch.nn.RNN(3, 4, **kwargs))
    length, batch = 5, 2
    x_shape = (batch, length, 3) if batch_first else (length, batch, 3)
    inputs = [x_shape] + ([(num_layers, batch, 4)] if with_h0 else [])
    _compare(n_layer, t_layer, *inputs)


@pytest.mark.parametrize("with_h0", [False, True])
def test_rnn_unbatched(with_h0):
    n_layer, t_layer = _pair(nn.RNN(3, 4, num_layers=2), torch.nn.RNN(3, 4, num_layers=2))
    inputs = [(6, 3)] + ([(2, 4)] if with_h0 else [])
    n_outs, _ = _compare(n_layer, t_layer, *inputs)
    assert n_outs[0].shape == (6, 4) and n_outs[1].shape == (2, 4)


def test_rnn_parameter_names_and_shapes_match_torch():
    n_layer = nn.RNN(3, 5, num_layers=3)
    t_layer = torch.nn.RNN(3, 5, num_layers=3)
    assert [(k, tuple(p.shape)) for k, p in n_layer.named_parameters()] == \
        [(k, tuple(p.shape)) for k, p in t_layer.named_parameters()]
    assert repr(n_layer) == "RNN(3, 5, num_layers=3)"


def test_rnn_500_steps_backprop():
    n_layer, t_layer = _pair(nn.RNN(2, 3), torch.nn.RNN(2, 3))
    n_outs, _ = _compare(n_layer, t_layer, (500, 2, 2))
    assert n_outs[0].shape == (500, 2, 3)


def test_rnn_dropout_between_layers_only_in_training():
    rnn = nn.RNN(3, 8, num_layers=2, dropout=0.5)
    x = numnet.randn(4, 2, 3)
    rnn.eval()
    a, _ = rnn(x)
    b, _ = rnn(x)
    numpy.testing.assert_array_equal(a.data, b.data)
    no_dropout = nn.RNN(3, 8, num_layers=2)
    no_dropout.load_state_dict(rnn.state_dict())
    numpy.testing.assert_allclose(no_dropout(x)[0].data, a.data)
    rnn.train()
    c, _ = rnn(x)
    assert not numpy.allclose(c.data, a.data)


def test_rnn_errors_name_layer():
    rnn = nn.RNN(3, 4, num_layers=2)
    with pytest.raises(RuntimeError, match=r"RNN\(3, 4, num_layers=2\): expected input with "
                                           r"last dimension 3, got shape \(5, 2, 7\)"):
        rnn(numnet.zeros(5, 2, 7))
    with pytest.raises(RuntimeError, match=r"expected h0 of shape \(2, 2, 4\).*got \(1, 2, 4\)"):
        rnn(numnet.zeros(5, 2, 3), numnet.zeros(1, 2, 4))
    with pytest.raises(ValueError, match="expected input of 3 dims"):
        rnn(numnet.zeros(5, 2, 1, 3))
    with pytest.raises(ValueError, match="Unknown nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")


# ---------------------------------------------------------------------- layer errors
def test_linear_error_names_layer_and_shapes():
    message = ("Linear(in_features=784, out_features=256): expected input with last "
               "dimension 784, got shape (64, 100)")
    with pytest.raises(RuntimeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        nn.Linear(784, 256)(numnet.zeros(64, 100))
    with pytest.raises(RuntimeError, match="dtype float64 does not match"):
        nn.Linear(3, 2)(numnet.zeros(1, 3, dtype="float64"))


def test_conv_errors_name_layer_and_shapes():
    conv = nn.Conv2d(3, 8, 5)
    with pytest.raises(RuntimeError, match=r"Conv2d\(3, 8, kernel_size=\(5, 5\), stride="
                                           r"\(1, 1\)\): expected 4-D.*got shape \(32, 32\)"):
        conv(numnet.zeros(32, 32))
    with pytest.raises(RuntimeError, match=r"expected input with 3 channels.*\(2, 1, 32, 32\)"):
        conv(numnet.zeros(2, 1, 32, 32))
    with pytest.raises(RuntimeError, match=r"\(2, 3, 4, 4\).*smaller than the kernel"):
        conv(numnet.zeros(2, 3, 4, 4))
    with pytest.raises(RuntimeError, match=r"MaxPool2d.*expected 4-D.*\(4, 4\)"):
        nn.MaxPool2d(2)(numnet.zeros(4, 4))


# ---------------------------------------------------------------------- Module
class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.bn = nn.BatchNorm1d(4)
        self.register_buffer("scale", numnet.ones(1))
        self.register_buffer("cache", numnet.zeros(2), persistent=False)
        self.register_parameter("extra", None)

    def forward(self, x):
        return self.bn(self.fc(x)).relu() * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.head = nn.Sequential(nn.Linear(4, 2), nn.Dropout(0.1))
        self.alpha = nn.Parameter(numnet.ones(2))

    def forward(self, x):
        return self.head(self.block(x)) * self.alpha


def test_registration_order_and_names():
    net = Net()
    assert list(net._parameters) == ["alpha"]
    assert list(net._modules) == ["block", "head"]
    assert [k for k, _ in net.named_parameters()] == [
        "alpha", "block.fc.weight", "block.fc.bias", "block.bn.weight", "block.bn.bias",
        "head.0.weight", "head.0.bias"]
    assert [k for k, _ in net.named_buffers()] == [
        "block.scale", "block.cache", "block.bn.running_mean", "block.bn.running_var",
        "block.bn.num_batches_tracked"]
    assert [k for k, _ in net.named_modules()] == [
        "", "block", "block.fc", "block.bn", "head", "head.0", "head.1"]
    assert [k for k, _ in net.named_children()] == ["block", "head"]
    assert len(list(net.children())) == 2 and len(list(net.modules())) == 7
    assert net.num_parameters() == 2 + 12 + 4 + 4 + 4 + 8 + 2
    assert net.get_submodule("block.bn") is net.block.bn
    assert net.block.extra is None


def test_state_dict_keys_copies_and_round_trip():
    net = Net()
    sd = net.state_dict()
    # PyTorch's order: a module's own parameters and buffers, then its children's
    assert list(sd) == ["alpha", "block.scale", "block.fc.weight", "block.fc.bias",
                        "block.bn.weight", "block.bn.bias", "block.bn.running_mean",
                        "block.bn.running_var", "block.bn.num_batches_tracked",
                        "head.0.weight", "head.0.bias"]
    assert all(isinstance(v, numpy.ndarray) for v in sd.values())
    sd["alpha"][...] = 7
    assert (net.alpha.data == 1).all(), "state_dict must hold copies"
    other = Net()
    weight = other.block.fc.weight
    result = other.load_state_dict(net.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert other.block.fc.weight is weight, "load_state_dict copies in place"
    for key, value in net.state_dict().items():
        numpy.testing.assert_array_equal(other.state_dict()[key], value)
    x = numnet.randn(5, 3)
    net.eval()
    other.eval()
    numpy.testing.assert_array_equal(net(x).data, other(x).data)


def test_load_state_dict_errors_name_keys():
    net = Net()
    sd = net.state_dict()
    del sd["block.fc.bias"]
    sd["block.fc.gamma"] = numpy.zeros(3)
    with pytest.raises(RuntimeError) as error:
        Net().load_state_dict(sd)
    text = str(error.value)
    assert text.startswith("Error(s) in loading state_dict for Net:")
    assert 'Missing key(s) in state_dict: "block.fc.bias".' in text
    assert 'Unexpected key(s) in state_dict: "block.fc.gamma".' in text
    result = Net().load_state_dict(sd, strict=False)
    assert result == (["block.fc.bias"], ["block.fc.gamma"])
    assert result.missing_keys == ["block.fc.bias"]
    bad = net.state_dict()
    bad["head.0.weight"] = numpy.zeros((3, 4))
    target = Net()
    before = target.state_dict()
    with pytest.raises(RuntimeError, match=r"size mismatch for head.0.weight: copying a param "
                                           r"with shape \(3, 4\) from checkpoint, the shape "
                                           r"in current model is \(2, 4\)"):
        target.load_state_dict(bad, strict=False)
    for key, value in target.state_dict().items():
        numpy.testing.assert_array_equal(value, before[key], err_msg="partial load")


def test_state_dict_prefix_keep_vars_and_deepcopy():
    net = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    assert list(net.state_dict(prefix="model."))[:2] == ["model.0.weight", "model.0.bias"]
    live = net.state_dict(keep_vars=True)
    assert live["0.weight"] is net[0].weight and live["1.running_mean"] is net[1].running_mean
    twin = copy.deepcopy(net)
    assert twin[0].weight is not net[0].weight
    numpy.testing.assert_array_equal(twin[0].weight.data, net[0].weight.data)
    twin[0].weight.data[...] = 0
    assert net[0].weight.data.any()


def test_load_state_dict_accepts_tensors_and_casts():
    src = nn.Linear(3, 2).double()
    dst = nn.Linear(3, 2)
    dst.load_state_dict({k: numnet.tensor(v) for k, v in src.state_dict().items()})
    assert dst.weight.dtype == numpy.float32
    numpy.testing.assert_allclose(dst.weight.data, src.weight.data, rtol=1e-6)


def test_train_eval_zero_grad_apply():
    net = Net()
    assert net.training and net.block.bn.training
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net(numnet.randn(4, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all((p.grad.data == 0).all() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Linear", "BatchNorm1d", "Block", "Linear", "Dropout", "Sequential", "Net"]


def test_dtype_conversion_in_place():
    net = Net()
    weight = net.block.fc.weight
    net.double()
    assert net.block.fc.weight is weight
    assert all(p.dtype == numpy.float64 for p in net.parameters())
    assert net.block.bn.running_mean.dtype == numpy.float64
    assert net.block.bn.num_batches_tracked.dtype == numpy.int64
    net.float()
    assert all(p.dtype == numpy.float32 for p in net.parameters())
    net.to("float64")
    assert net.alpha.dtype == numpy.float64
    assert net(numnet.randn(3, 3, dtype="float64")).dtype == numpy.float64


def test_setattr_rules():
    net = Net()
    with pytest.raises(TypeError, match="cannot assign 'ndarray' as parameter 'alpha'"):
        net.alpha = numpy.zeros(2)
    net.alpha = None
    assert "alpha" in net._parameters and net.alpha is None
    assert [k for k, _ in net.named_parameters()][0] == "block.fc.weight"
    net.head = nn.Identity()
    assert isinstance(net._modules["head"], nn.Identity)
    del net.head
    assert "head" not in net._modules
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        net.nothing  # noqa: B018
    with pytest.raises(KeyError, match="contain"):
        net.register_buffer("a.b", numnet.zeros(1))

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(numnet.zeros(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()


def test_shared_parameter_listed_once():
    fc = nn.Linear(2, 2)
    net = nn.Sequential(fc, nn.ReLU(), fc)
    assert len(list(net.parameters())) == 2
    assert list(net.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_forward_hooks_and_removal():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    seen = []
    handle = net[0].register_forward_hook(
        lambda m, inputs, out: seen.append((type(m).__name__, inputs[0].shape, out.shape)))
    net(numnet.zeros(2, 3))
    assert seen == [("Linear", (2, 3), (2, 4))]
    handle.remove()
    net(numnet.zeros(2, 3))
    assert len(seen) == 1
    replace = net.register_forward_hook(lambda m, inputs, out: out * 0 + 5)
    assert (net(numnet.zeros(1, 3)).data == 5).all()
    replace.remove()
    pre = net.register_forward_pre_hook(lambda m, inputs: (inputs[0] + 1,))
    numpy.testing.assert_allclose(net(numnet.zeros(1, 3)).data,
                                  net[1](net[0](numnet.ones(1, 3))).data)
    pre.remove()


def test_repr_tree():
    net = Net()
    assert repr(net) == (
        "Net(\n"
        "  (block): Block(\n"
        "    (fc): Linear(in_features=3, out_features=4)\n"
        "    (bn): BatchNorm1d(4)\n"
        "  )\n"
        "  (head): Sequential(\n"
        "    (0): Linear(in_features=4, out_features=2)\n"
        "    (1): Dropout(p=0.1)\n"
        "  )\n"
        ")")
    assert repr(nn.Linear(2, 3, bias=False)) == "Linear(in_features=2, out_features=3, bias=False)"
    assert repr(nn.Conv2d(1, 6, 5, padding=2)) == \
        "Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))"
    assert repr(nn.BatchNorm2d(8, momentum=0.2, affine=False)) == \
        "BatchNorm2d(8, momentum=0.2, affine=False)"


def test_summary_rows_and_print():
    net = nn.Sequential(collections.OrderedDict([
        ("conv", nn.Conv2d(1, 6, 5, padding=2)), ("act", nn.ReLU()), ("pool", nn.MaxPool2d(2)),
        ("flat", nn.Flatten()), ("fc", nn.Linear(6 * 4 * 4, 10)), ("drop", nn.Dropout(0.5))]))
    net.train()
    out = io.StringIO()
    rows = net.summary((1, 8, 8), file=out)
    assert [(r["name"], r["kind"], r["output_shape"], r["params"]) for r in rows[:-1]] == [
        ("conv", "Conv2d", (6, 8, 8), 156), ("act", "ReLU", (6, 8, 8), 0),
        ("pool", "MaxPool2d", (6, 4, 4), 0), ("flat", "Flatten", (96,), 0),
        ("fc", "Linear", (10,), 970), ("drop", "Dropout", (10,), 0)]
    assert rows[0]["details"] == "K=6 F=5 S=1 P=2"
    assert rows[2]["details"] == "F=2 S=2"
    assert rows[-1] == {"name": "total", "params": 1126, "trainable": 1126}
    text = out.getvalue()
    assert "K=6 F=5 S=1 P=2" in text and "Total params: 1,126" in text
    assert "(6, 8, 8)" in text
    assert net.training and net.conv.training, "summary restores the training mode"
    assert all(not m._forward_hooks for m in net.modules()), "summary removes its hooks"


def test_summary_without_conv():
    net = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.BatchNorm1d(3))
    net[0].weight.requires_grad_(False)
    rows = net.summary((4,), file=False)
    assert [r["output_shape"] for r in rows[:-1]] == [(3,), (3,), (3,)]
    assert rows[-1]["params"] == 15 + 6 and rows[-1]["trainable"] == 3 + 6
    assert int(net[2].num_batches_tracked.data) == 0, "summary runs in eval mode"


# ---------------------------------------------------------------------- containers
def test_sequential():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    net = nn.Sequential(a, b)
    assert len(net) == 2 and net[0] is a and net[-1] is b
    assert list(net) == [a, b]
    net.append(c)
    assert len(net) == 3 and net[2] is c
    assert list(net[1:]._modules) == ["1", "2"] and isinstance(net[1:], nn.Sequential)
    x = numnet.randn(4, 2)
    numpy.testing.assert_allclose(net(x).data, c(b(a(x))).data)
    with pytest.raises(IndexError, match="out of range"):
        net[3]  # noqa: B018
    del net[1]
    assert list(net._modules) == ["0", "1"] and net[1] is c
    named = nn.Sequential(collections.OrderedDict([("first", a), ("second", c)]))
    assert named.first is a and [k for k, _ in named.named_parameters()][0] == "first.weight"
    net[0] = nn.Identity()
    assert isinstance(net[0], nn.Identity)


def test_module_list_and_dict():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(layers) == 3 and len(list(layers.parameters())) == 6
    layers.append(nn.ReLU())
    layers.insert(0, nn.Tanh())
    assert isinstance(layers[0], nn.Tanh) and isinstance(layers[-1], nn.ReLU)
    assert list(layers._modules) == ["0", "1", "2", "3", "4"]
    del layers[0]
    assert isinstance(layers[0], nn.Linear) and len(layers) == 4
    layers += [nn.Sigmoid()]
    assert len(layers) == 5

    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])
            self.heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.Linear(2, 3)})

    holder = Holder()
    assert [k for k, _ in holder.named_parameters()] == [
        "blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias",
        "heads.a.weight", "heads.a.bias", "heads.b.weight", "heads.b.bias"]
    heads = holder.heads
    assert list(heads) == ["a", "b"] and "a" in heads and len(heads) == 2
    heads["c"] = nn.Identity()
    assert list(heads.keys()) == ["a", "b", "c"]
    assert isinstance(heads.pop("c"), nn.Identity) and "c" not in heads
    assert [type(v).__name__ for v in heads.values()] == ["Linear", "Linear"]


def test_float32_default_layers_keep_float32():
    net = nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 2))
    x = numnet.randn(5, 3)
    y = net(x)
    y.sum().backward()
    assert y.dtype == numpy.float32
    assert all(p.grad.dtype == numpy.float32 for p in net.parameters())


def test_rnn_float32():
    rnn = nn.RNN(3, 4, num_layers=2)
    out, h = rnn(numnet.randn(5, 2, 3))
    (out.sum() + h.sum()).backward()
    assert out.dtype == numpy.float32 and h.dtype == numpy.float32
    assert all(p.grad.dtype == numpy.float32 for p in rnn.parameters())


def test_softmax_module_lecture_numbers():
    y = nn.Softmax(dim=0)(numnet.tensor([-5.0, -1.0, 1.0, 5.0], dtype="float64"))
    e = numpy.exp([-5.0, -1.0, 1.0, 5.0])
    numpy.testing.assert_allclose(y.data, e / e.sum(), rtol=1e-12)
    assert math.isclose(float(y.data.sum()), 1.0)
