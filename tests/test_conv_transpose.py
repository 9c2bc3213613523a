"""conv_transpose2d / conv_transpose1d and ConvTranspose2d / ConvTranspose1d against PyTorch
(forward, every gradient, gradcheck), torch's errors, initialization and weight loading
(ops/conv_transpose.py, nn/conv_transpose.py)."""

from __future__ import annotations

import math

import numpy
import pytest
import torch
import torch.nn.functional as TF

import numnet
import numnet.nn.functional as F
from numnet import nn
from numnet.ops import conv_transpose

# (x shape, weight shape, stride, padding, output_padding, groups, dilation)
CASES_2D = [
    ((2, 3, 4, 5), (3, 2, 3, 3), 1, 0, 0, 1, 1),
    ((2, 3, 5, 4), (3, 4, 3, 2), 2, 1, 1, 1, 1),            # stride 2, output_padding
    ((1, 2, 3, 5), (2, 3, 2, 3), 3, (1, 0), (2, 1), 1, 1),  # stride 3, odd sizes
    ((2, 4, 3, 3), (4, 3, 3, 3), (2, 3), (0, 2), (1, 2), 2, 1),  # groups 2
    ((2, 4, 4, 3), (4, 1, 3, 3), 2, 1, 1, 4, 1),            # groups = C (depthwise)
    ((2, 2, 4, 4), (2, 3, 3, 2), 1, 1, 1, 1, 2),            # dilation 2: output_padding < D
    ((1, 6, 3, 4), (6, 2, 2, 3), 2, (1, 2), 1, 3, (2, 1)),  # everything at once
    ((3, 2, 1, 1), (2, 5, 4, 4), 2, 0, 0, 1, 1),            # a 1 x 1 input
    ((2, 1, 3, 3), (1, 1, 5, 5), 1, 3, 0, 1, 1),            # padding crops to a 1 x 1 output
]


def _fns(stride, padding, output_padding, groups, dilation):
    def numnet_fn(x, w, b=None):
        return F.conv_transpose2d(x, w, b, stride, padding, output_padding, groups, dilation)

    def torch_fn(x, w, b=None):
        return TF.conv_transpose2d(x, w, b, stride, padding, output_padding, groups, dilation)

    return numnet_fn, torch_fn


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, output_padding, groups, dilation",
                         CASES_2D)
@pytest.mark.parametrize("bias", [True, False])
def test_conv_transpose2d_matches_torch(x_shape, w_shape, stride, padding, output_padding,
                                        groups, dilation, bias, check_op):
    numnet_fn, torch_fn = _fns(stride, padding, output_padding, groups, dilation)
    shapes = (x_shape, w_shape) + (((w_shape[1] * groups,),) if bias else ())
    check_op(numnet_fn, torch_fn, *shapes)


def test_conv_transpose2d_unbatched_and_non_contiguous_input(check_op):
    numnet_fn, torch_fn = _fns(2, 1, 1, 1, 1)
    check_op(numnet_fn, torch_fn, (3, 4, 5), (3, 2, 3, 3), (2,))
    check_op(lambda x, w: numnet_fn(x.permute(0, 1, 3, 2), w),
             lambda x, w: torch_fn(x.permute(0, 1, 3, 2), w), (2, 3, 5, 4), (3, 2, 2, 2))


def test_conv_transpose2d_only_some_inputs_need_grad(check_op):
    numnet_fn, torch_fn = _fns(2, 0, 1, 1, 1)
    for grad in ([True, False, False], [False, True, False], [False, False, True]):
        check_op(numnet_fn, torch_fn, (2, 3, 3, 3), (3, 2, 3, 3), (2,), grad=grad)


def test_conv_transpose2d_many_chunks_and_threads(monkeypatch, check_op):
    # chunks of 2 samples (columns of 3 x 3 x 3 x 5 x 5 = 675 entries per sample), threaded
    monkeypatch.setattr(conv_transpose, "_CHUNK_ELEMENTS", 1400)
    monkeypatch.setattr(conv_transpose, "_PARALLEL_MIN_MACS", 0)
    numnet_fn, torch_fn = _fns(2, 1, 1, 1, 1)
    check_op(numnet_fn, torch_fn, (7, 2, 5, 5), (2, 3, 3, 3), (3,))


def test_conv_transpose2d_is_the_input_gradient_of_conv2d():
    rng = numpy.random.default_rng(1)
    x = numnet.tensor(rng.standard_normal((2, 3, 9, 9)), requires_grad=True)
    w = numnet.tensor(rng.standard_normal((4, 3, 3, 3)))
    gy = numnet.tensor(rng.standard_normal((2, 4, 5, 5)))
    (F.conv2d(x, w, stride=2, padding=1) * gy).sum().backward()
    gx = F.conv_transpose2d(gy, w, stride=2, padding=1, output_padding=0)
    numpy.testing.assert_allclose(gx.data, x.grad.data, atol=1e-12)


def test_conv_transpose2d_empty_batch():
    y = F.conv_transpose2d(numnet.zeros(0, 2, 3, 3), numnet.zeros(2, 3, 2, 2), stride=2)
    assert y.shape == (0, 3, 6, 6)


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, output_padding, groups, dilation",
                         [((2, 3, 5), (3, 2, 3), 1, 0, 0, 1, 1),
                          ((2, 4, 6), (4, 3, 4), 2, 1, 1, 2, 1),
                          ((1, 3, 4), (3, 1, 3), 3, 2, 2, 3, 2),
                          ((3, 5), (3, 2, 2), 2, 0, 1, 1, 1)])   # unbatched
def test_conv_transpose1d_matches_torch(x_shape, w_shape, stride, padding, output_padding,
                                        groups, dilation, check_op):
    def numnet_fn(x, w, b):
        return F.conv_transpose1d(x, w, b, stride, padding, output_padding, groups, dilation)

    def torch_fn(x, w, b):
        return TF.conv_transpose1d(x, w, b, stride, padding, output_padding, groups, dilation)

    check_op(numnet_fn, torch_fn, x_shape, w_shape, (w_shape[1] * groups,))


def _torch_error(fn, *args, **kwargs):
    with pytest.raises(Exception) as caught:
        fn(*args, **kwargs)
    return caught.value


@pytest.mark.parametrize("x_shape, w_shape, b_shape, kwargs", [
    ((1, 4, 5, 5), (4, 2, 3, 3), None, dict(output_padding=1)),
    ((1, 4, 5, 5), (4, 2, 3, 3), None, dict(stride=(2, 1), output_padding=(1, 1))),
    ((1, 4, 5, 5), (4, 2, 3, 3), None, dict(output_padding=-1)),
    ((1, 3, 5, 5), (4, 2, 3, 3), None, {}),
    ((1, 4, 5, 5), (4, 2, 3, 3), None, dict(groups=3)),
    ((1, 4, 5, 5), (4, 2, 3, 3), None, dict(groups=0)),
    ((1, 4, 5, 5), (4, 2, 3, 3), None, dict(padding=-1)),
    ((1, 4, 5, 5), (4, 2, 3, 3), None, dict(stride=0)),
    ((1, 4, 5, 5), (4, 2, 3, 3), None, dict(dilation=(1, 0))),
    ((1, 4, 5, 5), (4, 2, 3, 3), None, dict(padding=4)),
    ((1, 4, 5, 5), (4, 2, 3, 3), (3,), {}),
    ((4, 5), (4, 2, 3, 3), None, {}),
    ((2, 4, 0, 5), (4, 2, 3, 3), None, {}),
    ((1, 4, 5, 5), (4, 2, 3, 3), None, dict(stride=(1, 2, 3))),
    ((1, 4, 5, 5), (4, 2, 3, 3), None, dict(stride=1.5)),
    ((1, 4, 5, 5), (4, 2, 3, 3), None, dict(padding="same")),
])
def test_conv_transpose2d_raises_torchs_errors(x_shape, w_shape, b_shape, kwargs):
    arrays = [numpy.zeros(x_shape), numpy.zeros(w_shape)]
    arrays.append(None if b_shape is None else numpy.zeros(b_shape))
    expected = _torch_error(TF.conv_transpose2d,
                            *[None if a is None else torch.tensor(a) for a in arrays], **kwargs)
    with pytest.raises(type(expected)) as caught:
        F.conv_transpose2d(*[None if a is None else numnet.tensor(a) for a in arrays], **kwargs)
    if isinstance(expected, RuntimeError) and "must be tuple" not in str(expected):
        assert str(caught.value).split(",")[0] == str(expected).split(",")[0]


def test_conv_transpose_dtype_and_dimension_errors():
    x = numnet.zeros(1, 4, 5, 5)
    with pytest.raises(RuntimeError, match="expected scalar type float32 but found float64"):
        F.conv_transpose2d(x, numnet.zeros(4, 2, 3, 3, dtype="float64"))
    with pytest.raises(RuntimeError, match="4-D weight"):
        F.conv_transpose2d(x, numnet.zeros(4, 2, 3))
    with pytest.raises(RuntimeError, match="Expected 2D .unbatched. or 3D .batched. input"):
        F.conv_transpose1d(x, numnet.zeros(4, 2, 3))
    with pytest.raises(RuntimeError, match="3-D weight"):
        F.conv_transpose1d(numnet.zeros(1, 4, 5), numnet.zeros(4, 2, 3, 3))


def _copy_weights(layer, torch_layer):
    layer.weight.data[...] = torch_layer.weight.detach().numpy()
    if torch_layer.bias is not None:
        layer.bias.data[...] = torch_layer.bias.detach().numpy()


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=3),
    dict(kernel_size=(3, 2), stride=2, padding=1, output_padding=1, bias=False),
    dict(kernel_size=3, stride=(2, 3), padding=(1, 0), groups=2, dilation=2),
])
def test_conv_transpose2d_layer_with_torch_weights_matches_torch(kwargs):
    torch.manual_seed(0)
    torch_layer = torch.nn.ConvTranspose2d(4, 6, **kwargs)
    layer = nn.ConvTranspose2d(4, 6, **kwargs)
    assert layer.weight.shape == tuple(torch_layer.weight.shape)
    assert list(layer.state_dict()) == list(torch_layer.state_dict())
    _copy_weights(layer, torch_layer)
    x = numpy.random.default_rng(0).standard_normal((2, 4, 5, 6)).astype(numpy.float32)
    tx = torch.tensor(x, requires_grad=True)
    nx = numnet.tensor(x, requires_grad=True)
    ty, ny = torch_layer(tx), layer(nx)
    numpy.testing.assert_allclose(ny.data, ty.detach().numpy(), atol=1e-5)
    ty.square().sum().backward()
    (ny * ny).sum().backward()
    numpy.testing.assert_allclose(nx.grad.data, tx.grad.numpy(), atol=1e-4, rtol=1e-5)
    numpy.testing.assert_allclose(layer.weight.grad.data, torch_layer.weight.grad.numpy(),
                                  atol=1e-3, rtol=1e-5)
    assert repr(layer) == repr(torch_layer)


def test_conv_transpose1d_layer_matches_torch():
    torch.manual_seed(0)
    torch_layer = torch.nn.ConvTranspose1d(3, 4, 4, stride=2, padding=1, groups=1)
    layer = nn.ConvTranspose1d(3, 4, 4, stride=2, padding=1)
    assert layer.weight.shape == (3, 4, 4) and repr(layer) == repr(torch_layer)
    _copy_weights(layer, torch_layer)
    x = numpy.random.default_rng(0).standard_normal((2, 3, 7)).astype(numpy.float32)
    expected = torch_layer(torch.tensor(x)).detach().numpy()
    numpy.testing.assert_allclose(layer(numnet.tensor(x)).data, expected, atol=1e-5)
    expected = torch_layer(torch.tensor(x), output_size=[15]).detach().numpy()
    numpy.testing.assert_allclose(layer(numnet.tensor(x), output_size=[15]).data, expected,
                                  atol=1e-5)


@pytest.mark.parametrize("output_size", [[11, 12], (1, 2, 12, 11), [11, 11]])
def test_conv_transpose2d_output_size_picks_output_padding(output_size):
    torch_layer = torch.nn.ConvTranspose2d(4, 2, 3, stride=2, bias=False)
    layer = nn.ConvTranspose2d(4, 2, 3, stride=2, bias=False)
    _copy_weights(layer, torch_layer)
    x = numpy.random.default_rng(0).standard_normal((1, 4, 5, 5)).astype(numpy.float32)
    expected = torch_layer(torch.tensor(x), output_size=output_size).detach().numpy()
    y = layer(numnet.tensor(x), output_size=output_size)
    assert y.shape == expected.shape
    numpy.testing.assert_allclose(y.data, expected, atol=1e-5)


@pytest.mark.parametrize("output_size", [[10, 12], [13, 11], [11]])
def test_conv_transpose2d_output_size_errors_like_torch(output_size):
    x = numpy.zeros((1, 4, 5, 5), numpy.float32)
    expected = _torch_error(torch.nn.ConvTranspose2d(4, 2, 3, stride=2), torch.tensor(x),
                            output_size=output_size)
    with pytest.raises(ValueError) as caught:
        nn.ConvTranspose2d(4, 2, 3, stride=2)(numnet.tensor(x), output_size=output_size)
    assert type(expected) is ValueError
    assert str(caught.value).split("(for")[0] == str(expected).split("(for")[0]


@pytest.mark.parametrize("kwargs", [dict(groups=0), dict(groups=3), dict(out_channels=3, groups=2),
                                    dict(padding_mode="reflect")])
def test_conv_transpose2d_layer_argument_errors_like_torch(kwargs):
    arguments = dict(in_channels=4, out_channels=2, kernel_size=3) | kwargs
    expected = _torch_error(torch.nn.ConvTranspose2d, **arguments)
    with pytest.raises(type(expected), match=str(expected).replace("(", r"\(")[:30]):
        nn.ConvTranspose2d(**arguments)


def test_conv_transpose2d_default_init_is_torchs():
    numnet.manual_seed(0)
    layer = nn.ConvTranspose2d(8, 32, kernel_size=(3, 5), groups=2)
    fan_in = 16 * 3 * 5  # weight (C_in, C_out / groups, F_h, F_w): dim 1 times F_h F_w
    bound = 1 / math.sqrt(fan_in)
    weight, bias = layer.weight.data, layer.bias.data
    assert weight.shape == (8, 16, 3, 5) and weight.dtype == numpy.float32
    assert numpy.abs(weight).max() <= bound and numpy.abs(weight).max() > 0.9 * bound
    assert abs(weight.std() - bound / math.sqrt(3)) < 0.1 * bound
    assert numpy.abs(bias).max() <= bound and bias.shape == (32,)
    assert nn.ConvTranspose2d(2, 2, 3, dtype=numnet.float64).weight.dtype == numpy.float64


def test_conv_transpose_layers_take_unbatched_float64_input():
    torch_layer = torch.nn.ConvTranspose2d(3, 2, 3, stride=2, dtype=torch.float64)
    layer = nn.ConvTranspose2d(3, 2, 3, stride=2, dtype=numnet.float64)
    _copy_weights(layer, torch_layer)
    x = numpy.random.default_rng(0).standard_normal((3, 4, 5))
    y = layer(numnet.tensor(x), output_size=(10, 11))
    assert y.dtype == numpy.float64 and y.shape == (2, 10, 11)
    expected = torch_layer(torch.tensor(x), output_size=(10, 11)).detach().numpy()
    numpy.testing.assert_allclose(y.data, expected, atol=1e-12)
    y = nn.ConvTranspose1d(3, 2, 3, stride=2)(numnet.zeros(3, 5))
    assert y.shape == (2, 11) and y.dtype == numpy.float32


def test_a_small_decoder_with_torch_weights_matches_torch():
    torch.manual_seed(0)
    torch_net = torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 3, stride=2, padding=1), torch.nn.ReLU(),
        torch.nn.ConvTranspose2d(4, 4, 3, stride=2, padding=1, output_padding=1, groups=2),
        torch.nn.Upsample(scale_factor=2, mode="bilinear"),
        torch.nn.ConvTranspose2d(4, 1, 2, bias=False))
    net = nn.Sequential(
        nn.Conv2d(2, 4, 3, stride=2, padding=1), nn.ReLU(),
        nn.ConvTranspose2d(4, 4, 3, stride=2, padding=1, output_padding=1, groups=2),
        nn.Upsample(scale_factor=2, mode="bilinear"),
        nn.ConvTranspose2d(4, 1, 2, bias=False))
    net.load_state_dict({k: v.detach().numpy() for k, v in torch_net.state_dict().items()})
    x = numpy.random.default_rng(0).standard_normal((3, 2, 8, 6)).astype(numpy.float32)
    ty, y = torch_net(torch.tensor(x)), net(numnet.tensor(x))
    assert y.shape == tuple(ty.shape) == (3, 1, 17, 13)
    numpy.testing.assert_allclose(y.data, ty.detach().numpy(), atol=1e-5)
    ty.square().mean().backward()
    (y * y).mean().backward()
    for (name, p), tp in zip(net.named_parameters(), torch_net.parameters()):
        numpy.testing.assert_allclose(p.grad.data, tp.grad.numpy(), atol=1e-5, err_msg=name)
    assert net[2].summary_details() == "K=4 F=3 S=2 P=1 G=2"


def test_top_level_names_are_torchs():
    assert numnet.conv_transpose2d is F.conv_transpose2d
    assert numnet.conv_transpose1d is F.conv_transpose1d
    assert hasattr(torch, "conv_transpose2d") and hasattr(torch, "conv_transpose1d")
