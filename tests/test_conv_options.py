"""Convolution options (issue 14.1): ``groups``, ``dilation``, ``padding='same'|'valid'``,
``padding_mode`` and ``bias=False`` of ``F.conv2d`` / ``nn.Conv2d``, and ``F.conv1d`` /
``nn.Conv1d``, against PyTorch (forward, every gradient, gradcheck), against the reference
convolution, and with weights moved over from torch."""

from __future__ import annotations

import warnings

import numpy
import pytest
import torch
import torch.nn.functional as TF

import numnet
import numnet.nn.functional as F
from numnet import nn
from numnet.nn import fusion
from numnet.ops import conv_kernels, reference

# x shape, weight shape, stride, padding, dilation, groups, bias; gradcheck-sized
CONV2D_CASES = [
    ((2, 4, 7, 6), (6, 2, 3, 3), 1, 1, 1, 2, True),
    ((2, 4, 7, 8), (4, 1, 3, 3), 1, 1, 1, 4, False),  # depthwise
    ((2, 3, 9, 7), (6, 1, 3, 2), 2, 1, 1, 3, True),  # depthwise, 2 filters each, stride 2
    ((1, 4, 9, 8), (8, 2, 3, 3), 1, (1, 2), 2, 2, True),
    ((2, 3, 9, 9), (4, 3, 3, 3), 1, 0, 2, 1, False),
    ((2, 3, 11, 10), (4, 3, 3, 2), (2, 3), 2, (2, 3), 1, True),
    ((2, 2, 7, 9), (2, 1, 5, 3), 1, "same", (1, 2), 2, True),
    ((2, 3, 6, 7), (4, 3, 2, 4), 1, "same", 1, 1, False),  # uneven 'same': right / bottom
    ((1, 2, 8, 7), (4, 1, 4, 2), 1, "same", (3, 1), 2, True),
    ((2, 3, 6, 5), (4, 3, 3, 2), 2, "valid", 1, 1, True),
    ((4, 5, 6), (4, 2, 2, 2), 1, 0, 2, 2, True),  # unbatched
    ((2, 4, 5, 6), (4, 2, 3, 1), 1, 1, 1, 2, True),  # P > D (F - 1) along W: col2im
]


def _conv2d_fns(stride, padding, dilation, groups):
    def numnet_fn(x, w, b=None):
        return F.conv2d(x, w, b, stride, padding, dilation, groups)

    def torch_fn(x, w, b=None):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's note on the copy an uneven 'same' needs
            return TF.conv2d(x, w, b, stride, padding, dilation, groups)
    return numnet_fn, torch_fn


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, dilation, groups, bias",
                         CONV2D_CASES)
def test_conv2d_options_match_torch(x_shape, w_shape, stride, padding, dilation, groups, bias,
                                    check_op):
    numnet_fn, torch_fn = _conv2d_fns(stride, padding, dilation, groups)
    specs = (x_shape, w_shape) + (((w_shape[0],),) if bias else ())
    check_op(numnet_fn, torch_fn, *specs)


@pytest.mark.parametrize("threads", [1, 2])
def test_grouped_conv2d_in_chunks_on_threads_matches_torch(threads, monkeypatch, check_op):
    """One sample per chunk, over 1 or 2 threads: the chunked grouped path."""
    monkeypatch.setattr(conv_kernels, "_CHUNK_ELEMENTS", 1)
    monkeypatch.setattr(conv_kernels, "_PARALLEL_MIN_MACS", 0)
    previous = numnet.get_num_threads()
    numnet.set_num_threads(threads)
    try:
        for x_shape, w_shape, *options in [((5, 6, 8, 7), (6, 1, 3, 3), 1, 1, 2, 6),
                                           ((5, 4, 9, 8), (6, 2, 3, 3), 2, 1, 1, 2)]:
            numnet_fn, torch_fn = _conv2d_fns(*options)
            check_op(numnet_fn, torch_fn, x_shape, w_shape, w_shape[:1], gradcheck=False)
    finally:
        numnet.set_num_threads(previous)


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, dilation, groups, bias",
                         [c for c in CONV2D_CASES if not isinstance(c[3], str) and len(c[0]) == 4])
def test_conv2d_options_match_the_reference_convolution(x_shape, w_shape, stride, padding,
                                                        dilation, groups, bias):
    rng = numpy.random.default_rng(1)
    x, w, b = (rng.standard_normal(s) for s in (x_shape, w_shape, w_shape[:1]))
    y_ref, backward = reference.conv2d(x, w, b, stride, padding, dilation, groups)
    xt, wt, bt = (numnet.tensor(a, requires_grad=True) for a in (x, w, b))
    y = F.conv2d(xt, wt, bt, stride, padding, dilation, groups)
    gy = rng.standard_normal(y.shape)
    (y * numnet.tensor(gy)).sum().backward()
    numpy.testing.assert_allclose(y.data, y_ref, atol=1e-12)
    for got, want in zip((xt.grad, wt.grad, bt.grad), backward(gy)):
        numpy.testing.assert_allclose(got.data, want, atol=1e-12)


# x shape, weight shape, stride, padding, dilation, groups
CONV1D_CASES = [
    ((2, 3, 9), (4, 3, 3), 1, 0, 1, 1),
    ((2, 4, 10), (4, 2, 3), 2, 1, 1, 2),
    ((2, 4, 11), (8, 1, 3), 1, 2, 2, 4),
    ((3, 3, 8), (6, 1, 4), 1, "same", 1, 3),
    ((2, 2, 9), (2, 2, 3), 3, "valid", (2,), 1),
    ((3, 7), (4, 3, 2), (2,), (1,), 1, 1),  # unbatched
]


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, dilation, groups", CONV1D_CASES)
def test_conv1d_matches_torch(x_shape, w_shape, stride, padding, dilation, groups, check_op):
    def numnet_fn(x, w, b):
        return F.conv1d(x, w, b, stride, padding, dilation, groups)

    def torch_fn(x, w, b):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return TF.conv1d(x, w, b, stride, padding, dilation, groups)
    check_op(numnet_fn, torch_fn, x_shape, w_shape, w_shape[:1])


MODULE_CASES = [  # numnet / torch constructor arguments, input shape
    (dict(in_channels=4, out_channels=6, kernel_size=3, groups=2), (2, 4, 8, 8)),
    (dict(in_channels=6, out_channels=6, kernel_size=3, padding=1, groups=6, bias=False),
     (2, 6, 7, 9)),
    (dict(in_channels=3, out_channels=4, kernel_size=(2, 3), padding="same", dilation=2),
     (2, 3, 7, 8)),
    (dict(in_channels=3, out_channels=4, kernel_size=3, stride=2, padding=2,
          padding_mode="reflect"), (2, 3, 9, 8)),
    (dict(in_channels=4, out_channels=4, kernel_size=4, padding="same", groups=4,
          padding_mode="replicate"), (2, 4, 6, 7)),
    (dict(in_channels=2, out_channels=4, kernel_size=3, padding=(1, 2), dilation=(1, 2),
          padding_mode="circular"), (2, 2, 6, 6)),
    (dict(in_channels=3, out_channels=3, kernel_size=3, padding="valid", groups=3),
     (3, 7, 7)),
]


def _torch_and_numnet(module, torch_module, kwargs):
    """A torch module and the numnet one with the torch module's weights."""
    torch.manual_seed(0)
    theirs = torch_module(**kwargs)
    ours = module(**kwargs)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("kwargs, x_shape", MODULE_CASES)
def test_conv2d_module_with_torch_weights_matches_torch(kwargs, x_shape):
    ours, theirs = _torch_and_numnet(nn.Conv2d, torch.nn.Conv2d, kwargs)
    assert ours.weight.shape == tuple(theirs.weight.shape)
    assert repr(ours) == repr(theirs)
    assert ours._reversed_padding_repeated_twice == list(theirs._reversed_padding_repeated_twice)
    x = numpy.random.default_rng(0).standard_normal(x_shape).astype(numpy.float32)
    xt, xn = torch.tensor(x, requires_grad=True), numnet.tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = theirs(xt)
    got = ours(xn)
    assert got.dtype == numnet.float32
    numpy.testing.assert_allclose(got.data, want.detach().numpy(), atol=1e-5)
    want.sum().backward()
    got.sum().backward()
    numpy.testing.assert_allclose(xn.grad.data, xt.grad.numpy(), atol=1e-5)
    numpy.testing.assert_allclose(ours.weight.grad.data, theirs.weight.grad.numpy(),
                                  rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("kwargs, x_shape", [
    (dict(in_channels=4, out_channels=6, kernel_size=3, groups=2, padding=1), (2, 4, 9)),
    (dict(in_channels=3, out_channels=3, kernel_size=4, padding="same", groups=3,
          padding_mode="reflect", bias=False), (2, 3, 8)),
    (dict(in_channels=2, out_channels=4, kernel_size=3, stride=2, dilation=2,
          padding_mode="circular", padding=2), (2, 9)),
])
def test_conv1d_module_with_torch_weights_matches_torch(kwargs, x_shape):
    ours, theirs = _torch_and_numnet(nn.Conv1d, torch.nn.Conv1d, kwargs)
    assert repr(ours) == repr(theirs)
    assert (ours.kernel_size, ours.stride, ours.dilation) == (
        theirs.kernel_size, theirs.stride, theirs.dilation)
    x = numpy.random.default_rng(0).standard_normal(x_shape).astype(numpy.float32)
    numpy.testing.assert_allclose(ours(numnet.tensor(x)).data,
                                  theirs(torch.tensor(x)).detach().numpy(), atol=1e-5)


def test_grouped_conv2d_default_init_uses_the_group_fan_in():
    numnet.manual_seed(0)
    conv = nn.Conv2d(16, 32, 3, groups=8)  # fan_in = 16 / 8 * 3 * 3 = 18
    bound = 1 / numpy.sqrt(18)
    assert conv.weight.shape == (32, 2, 3, 3)
    assert numpy.abs(conv.weight.data).max() <= bound
    assert numpy.abs(conv.weight.data).max() > 0.9 * bound
    assert numpy.abs(conv.bias.data).max() <= bound


def test_conv2d_module_output_size_and_summary_follow_the_options():
    conv = nn.Conv2d(3, 4, 3, stride=2, padding=1, dilation=2)
    # (32 + 2 - 2 (3 - 1) - 1) // 2 + 1 = 15
    assert conv.output_size(32, 32) == (15, 15)
    assert conv(numnet.zeros(1, 3, 32, 32)).shape == (1, 4, 15, 15)
    assert nn.Conv2d(3, 4, 4, padding="same").output_size(7, 8) == (7, 8)
    assert conv.summary_details() == "K=4 F=3 S=2 P=1 D=2"
    assert nn.Conv2d(4, 4, 3, groups=4, padding="same").summary_details() == (
        "K=4 F=3 S=1 P=same G=4")


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect"])
@pytest.mark.parametrize("conv_kwargs", [dict(groups=2, padding=1), dict(dilation=2, padding=2),
                                         dict(padding="same", groups=4)])
def test_sequential_fusion_of_conv_options_is_bit_identical(conv_kwargs, padding_mode,
                                                            monkeypatch):
    numnet.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(4, 8, 3, padding_mode=padding_mode, **conv_kwargs),
                        nn.ReLU(), nn.MaxPool2d(2))
    assert fusion._fusable(list(net)) == 3
    x = numpy.random.default_rng(0).standard_normal((2, 4, 8, 8)).astype(numpy.float32)

    def run():
        xt = numnet.tensor(x, requires_grad=True)
        y = net(xt)
        y.backward(numnet.ones_like(y))
        grads = [xt.grad.data.copy()] + [p.grad.data.copy() for p in net.parameters()]
        net.zero_grad()
        return [y.data] + grads

    fused = run()
    monkeypatch.setattr(fusion, "_fusable", lambda modules: 0)
    for a, b in zip(fused, run()):
        numpy.testing.assert_array_equal(a, b)


class _Pool:
    """A pooling layer with MaxPool2d's non-default options."""

    def __init__(self, **options):
        self.__dict__.update(options)

    def tiles(self):
        return (2, 2)


@pytest.mark.parametrize("options", [dict(ceil_mode=True), dict(dilation=2),
                                     dict(return_indices=True)])
def test_pooling_options_are_not_fused(options):
    assert fusion._pool_fuses(_Pool())
    assert not fusion._pool_fuses(_Pool(**options))


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("make", [
    lambda lib: lib.nn.functional.conv2d(lib.ones(2, 3, 8, 8), lib.ones(4, 2, 3, 3)),
    lambda lib: lib.nn.functional.conv2d(lib.ones(2, 3, 8, 8), lib.ones(4, 1, 3, 3), groups=3),
    lambda lib: lib.nn.functional.conv2d(lib.ones(2, 4, 8, 8), lib.ones(4, 2, 3, 3), groups=0),
    lambda lib: lib.nn.functional.conv2d(lib.ones(2, 3, 8, 8), lib.ones(4, 3, 3, 3),
                                         dilation=0),
    lambda lib: lib.nn.functional.conv2d(lib.ones(2, 3, 8, 8), lib.ones(4, 3, 3, 3),
                                         dilation=4),
    lambda lib: lib.nn.functional.conv2d(lib.ones(2, 3, 8, 8), lib.ones(4, 3, 3, 3),
                                         padding="same", stride=2),
    lambda lib: lib.nn.functional.conv2d(lib.ones(2, 3, 8, 8), lib.ones(4, 3, 3, 3),
                                         padding="full"),
    lambda lib: lib.nn.functional.conv1d(lib.ones(2, 3, 8), lib.ones(4, 3, 3, 3)),
    lambda lib: lib.nn.functional.conv1d(lib.ones(2, 3, 8), lib.ones(4, 1, 3), groups=3),
    lambda lib: lib.nn.Conv2d(3, 4, 3, groups=2),
    lambda lib: lib.nn.Conv2d(4, 3, 3, groups=2),
    lambda lib: lib.nn.Conv2d(4, 4, 3, groups=0),
    lambda lib: lib.nn.Conv2d(4, 4, 3, padding="same", stride=2),
    lambda lib: lib.nn.Conv2d(4, 4, 3, padding="full"),
    lambda lib: lib.nn.Conv2d(4, 4, 3, padding_mode="mirror"),
    lambda lib: lib.nn.Conv1d(4, 4, 3, groups=3),
    lambda lib: lib.nn.Conv2d(2, 2, 3, padding=3, padding_mode="reflect")(lib.ones(1, 2, 3, 3)),
], ids=lambda make: "")
def test_conv_errors_have_torchs_exception_types(make):
    with pytest.raises(Exception) as theirs:
        make(torch)
    with pytest.raises(Exception) as ours:
        make(numnet)
    assert type(ours.value) is type(theirs.value), (
        f"{ours.value!r} is not a {type(theirs.value).__name__}")


def test_conv_error_messages_say_what_torch_says():
    with pytest.raises(RuntimeError, match="groups=2.*divisible by 2 at dimension 0"):
        F.conv2d(numnet.ones(2, 4, 8, 8), numnet.ones(3, 2, 3, 3), groups=2)
    with pytest.raises(RuntimeError, match=r"groups=2.*\(4, 1, 3, 3\).*2 channels.*got 4"):
        F.conv2d(numnet.ones(2, 4, 8, 8), numnet.ones(4, 1, 3, 3), groups=2)
    with pytest.raises(RuntimeError, match="padding='same' is not supported for strided"):
        F.conv2d(numnet.ones(1, 1, 8, 8), numnet.ones(1, 1, 3, 3), stride=2, padding="same")
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(3, 4, 3, padding_mode="mirror")
