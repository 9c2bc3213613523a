"""Pooling options against PyTorch (ops/pool.py, ops/adaptive_pool.py, ops/unpool.py,
nn/pooling.py): ceil_mode, dilation, return_indices, count_include_pad, divisor_override,
the 1-D forms, adaptive pooling, max unpooling, and the layers."""

from __future__ import annotations

import numpy
import pytest
import torch
import torch.nn.functional as TF

import numnet
import numnet.nn.functional as F
from numnet import nn

# (x shape, kernel, stride, padding, dilation, ceil_mode)
MAX_CASES = [
    ((2, 3, 7, 7), 3, 2, 1, 1, True),
    ((2, 2, 6, 5), 2, None, 0, 1, True),
    ((1, 2, 9, 8), 3, 2, 1, 2, False),
    ((2, 1, 9, 9), 2, 1, 1, 2, True),
    ((1, 2, 8, 7), (3, 2), (2, 1), (1, 0), (1, 2), True),
    ((2, 6, 7), 3, 2, 0, 1, True),
    ((2, 2, 5, 5), 2, 2, 1, 1, True),
    ((1, 1, 3, 3), 4, 2, 0, 1, True),  # a window larger than the input, allowed by ceil_mode
]


@pytest.mark.parametrize("x_shape, kernel, stride, padding, dilation, ceil_mode", MAX_CASES)
def test_max_pool2d_options_match_torch(x_shape, kernel, stride, padding, dilation, ceil_mode,
                                        check_op):
    options = dict(stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode)
    check_op(lambda x: F.max_pool2d(x, kernel, **options),
             lambda x: TF.max_pool2d(x, kernel, **options), x_shape)
    check_op(lambda x: F.max_pool2d(x, kernel, **options, return_indices=True),
             lambda x: TF.max_pool2d(x, kernel, **options, return_indices=True), x_shape,
             gradcheck=False)


def test_max_pool2d_indices_are_torchs_exactly():
    rng = numpy.random.default_rng(5)
    x = rng.integers(0, 3, (2, 3, 9, 8)).astype(numpy.float32)  # many ties
    for options in (dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                    dict(kernel_size=3, stride=1, padding=1, dilation=2, ceil_mode=True)):
        y, index = F.max_pool2d(numnet.tensor(x), **options, return_indices=True)
        ty, tindex = TF.max_pool2d(torch.tensor(x), **options, return_indices=True)
        assert index.dtype == numpy.int64
        numpy.testing.assert_array_equal(index.numpy(), tindex.numpy())
        numpy.testing.assert_array_equal(y.numpy(), ty.numpy())


@pytest.mark.parametrize("options", [dict(kernel_size=2, padding=1),
                                     dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)])
def test_max_pool2d_nan_and_all_minus_inf_windows(options, check_op):
    x = numpy.random.default_rng(3).standard_normal((1, 2, 5, 5))
    x[0, 0, 1, 1] = x[0, 0, 1, 2] = numpy.nan  # two NaN in one window: the last one wins
    x[0, 1, :2, :2] = -numpy.inf  # with padding the window holds only -inf
    check_op(lambda t: F.max_pool2d(t, **options, return_indices=True),
             lambda t: TF.max_pool2d(t, **options, return_indices=True), x, gradcheck=False)


# (x shape, kernel, stride, padding, ceil_mode)
AVG_CASES = [
    ((2, 3, 7, 7), 3, 2, 1, True),
    ((2, 2, 6, 5), 2, None, 0, True),
    ((1, 2, 8, 7), (3, 2), (2, 1), (1, 1), False),
    ((2, 1, 5, 6), 3, 2, 1, False),
    ((2, 6, 7), 2, 2, 1, True),
    ((1, 1, 3, 3), 4, 2, 0, True),
]


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("x_shape, kernel, stride, padding, ceil_mode", AVG_CASES)
def test_avg_pool2d_options_match_torch(x_shape, kernel, stride, padding, ceil_mode,
                                        count_include_pad, check_op):
    options = dict(stride=stride, padding=padding, ceil_mode=ceil_mode,
                   count_include_pad=count_include_pad)
    check_op(lambda x: F.avg_pool2d(x, kernel, **options),
             lambda x: TF.avg_pool2d(x, kernel, **options), x_shape)


@pytest.mark.parametrize("divisor", [1, 5, -3])
def test_avg_pool2d_divisor_override(divisor, check_op):
    options = dict(stride=2, padding=1, ceil_mode=True, divisor_override=divisor)
    check_op(lambda x: F.avg_pool2d(x, 3, **options),
             lambda x: TF.avg_pool2d(x, 3, **options), (2, 2, 6, 7))


def test_default_options_give_the_plain_pooling():
    x = numnet.randn(2, 3, 8, 8)
    for fn, extra in ((F.max_pool2d, dict(dilation=1, ceil_mode=True)),
                      (F.avg_pool2d, dict(ceil_mode=True, count_include_pad=False))):
        numpy.testing.assert_array_equal(fn(x, 2).numpy(), fn(x, 2, **extra).numpy())


@pytest.mark.parametrize("x_shape, kernel, stride, padding, dilation, ceil_mode", [
    ((2, 3, 9), 3, 2, 1, 1, True),
    ((2, 2, 8), 2, None, 0, 2, False),
    ((3, 10), 3, 1, 1, 2, True),
])
def test_pool1d_matches_torch(x_shape, kernel, stride, padding, dilation, ceil_mode,
                              check_op):
    options = dict(stride=stride, padding=padding, ceil_mode=ceil_mode)
    check_op(lambda x: F.max_pool1d(x, kernel, dilation=dilation, **options,
                                    return_indices=True),
             lambda x: TF.max_pool1d(x, kernel, dilation=dilation, **options,
                                     return_indices=True), x_shape, gradcheck=False)
    check_op(lambda x: F.max_pool1d(x, (kernel,), dilation=dilation, **options),
             lambda x: TF.max_pool1d(x, (kernel,), dilation=dilation, **options), x_shape)
    check_op(lambda x: F.avg_pool1d(x, kernel, count_include_pad=False, **options),
             lambda x: TF.avg_pool1d(x, kernel, count_include_pad=False, **options), x_shape)
    check_op(lambda x: F.avg_pool1d(x, kernel, **options),
             lambda x: TF.avg_pool1d(x, kernel, **options), x_shape)


ADAPTIVE_CASES = [
    ((2, 3, 7, 5), (3, 2)),  # windows that do not divide: overlapping, of two sizes
    ((2, 2, 5, 5), 3),
    ((1, 2, 3, 4), (5, 7)),  # more outputs than inputs
    ((2, 2, 6, 8), (3, 4)),  # windows side by side: the plain pooling
    ((2, 2, 6, 5), (None, 2)),
    ((2, 3, 5, 4), 1),  # a mean / max over the plane
    ((3, 7, 6), (2, 4)),
]


@pytest.mark.parametrize("x_shape, output_size", ADAPTIVE_CASES)
def test_adaptive_pool2d_matches_torch(x_shape, output_size, check_op):
    check_op(lambda x: F.adaptive_avg_pool2d(x, output_size),
             lambda x: TF.adaptive_avg_pool2d(x, output_size), x_shape)
    check_op(lambda x: F.adaptive_max_pool2d(x, output_size),
             lambda x: TF.adaptive_max_pool2d(x, output_size), x_shape)
    check_op(lambda x: F.adaptive_max_pool2d(x, output_size, return_indices=True),
             lambda x: TF.adaptive_max_pool2d(x, output_size, return_indices=True), x_shape,
             gradcheck=False)


@pytest.mark.parametrize("output_size", [(3, 2), 1, (2, 4), (4, 3)])
def test_adaptive_max_pool2d_ties_and_nan_pick_torchs_element(output_size, check_op):
    x = numpy.random.default_rng(4).integers(0, 2, (2, 2, 6, 7)).astype(numpy.float64)
    x[0, 0, 2, 3] = x[0, 0, 3, 1] = x[1, 1, 0, 0] = numpy.nan
    check_op(lambda t: F.adaptive_max_pool2d(t, output_size, return_indices=True),
             lambda t: TF.adaptive_max_pool2d(t, output_size, return_indices=True), x,
             gradcheck=False)


@pytest.mark.parametrize("x_shape, size", [((2, 3, 7), 3), ((2, 3, 8), 4), ((3, 5), 1),
                                           ((2, 2, 3), (5,))])
def test_adaptive_pool1d_matches_torch(x_shape, size, check_op):
    check_op(lambda x: F.adaptive_avg_pool1d(x, size),
             lambda x: TF.adaptive_avg_pool1d(x, size), x_shape)
    check_op(lambda x: F.adaptive_max_pool1d(x, size, return_indices=True),
             lambda x: TF.adaptive_max_pool1d(x, size, return_indices=True), x_shape,
             gradcheck=False)
    check_op(lambda x: F.adaptive_max_pool1d(x, size),
             lambda x: TF.adaptive_max_pool1d(x, size), x_shape)


@pytest.mark.parametrize("output_size", [0, (0, 2)])
def test_adaptive_pool2d_empty_output(output_size):
    for numnet_fn, torch_fn in ((F.adaptive_avg_pool2d, TF.adaptive_avg_pool2d),
                                (F.adaptive_max_pool2d, TF.adaptive_max_pool2d)):
        x = numnet.randn(2, 3, 4, 4, requires_grad=True)
        y = numnet_fn(x, output_size)
        assert tuple(y.shape) == tuple(torch_fn(torch.zeros(2, 3, 4, 4), output_size).shape)
        y.sum().backward()  # torch refuses this backward; numnet gives zeros
        assert x.grad.shape == x.shape and not x.grad.numpy().any()


@pytest.mark.parametrize("x_shape, kernel, stride, padding, output_size", [
    ((2, 3, 6, 6), 2, None, 0, None),
    ((2, 2, 7, 7), 3, 2, 1, None),
    ((2, 2, 7, 7), 3, 3, 1, None),
    ((2, 2, 7, 5), 2, 2, 0, (7, 5)),
    ((2, 2, 7, 5), 2, 2, 0, (2, 2, 7, 5)),
    ((3, 6, 6), 2, None, 0, None),
])
def test_max_unpool2d_round_trip_matches_torch(x_shape, kernel, stride, padding, output_size,
                                               check_op):
    x = numpy.random.default_rng(6).standard_normal(x_shape)
    _, index = TF.max_pool2d(torch.tensor(x), kernel, stride, padding, return_indices=True)
    y = TF.max_pool2d(torch.tensor(x), kernel, stride, padding).numpy()
    indices = index.numpy()
    # where windows overlap, one element can be the maximum of two: both outputs write to
    # it (the same value) and the gradient reads it back to both, as in torch, which finite
    # differences do not see
    overlap = stride is not None and stride < kernel
    check_op(lambda t, i: F.max_unpool2d(t, i, kernel, stride, padding, output_size),
             lambda t, i: TF.max_unpool2d(t, i, kernel, stride, padding, output_size),
             y, indices, gradcheck=not overlap)
    pooled, mine = F.max_pool2d(numnet.tensor(x), kernel, stride, padding, return_indices=True)
    size = x_shape[-2:] if output_size is None else output_size
    restored = F.max_unpool2d(pooled, mine, kernel, stride, padding, size)
    assert tuple(restored.shape) == x_shape
    kept = restored.numpy() != 0
    numpy.testing.assert_array_equal(restored.numpy()[kept], x[kept])


@pytest.mark.parametrize("size", [None, (10,), (2, 3, 11)])
def test_max_unpool1d_matches_torch(size, check_op):
    x = numpy.random.default_rng(7).standard_normal((2, 3, 9))
    y, index = TF.max_pool1d(torch.tensor(x), 3, return_indices=True)
    check_op(lambda t, i: F.max_unpool1d(t, i, 3, output_size=size),
             lambda t, i: TF.max_unpool1d(t, i, 3, output_size=size), y.numpy(),
             index.numpy())


def _error(fn, *args, **kwargs):
    with pytest.raises(Exception) as info:
        fn(*args, **kwargs)
    return info.type, str(info.value)


@pytest.mark.parametrize("call", [
    lambda f, m: f.max_pool2d(m.zeros(2, 3, 8, 8), 3, padding=2),
    lambda f, m: f.max_pool2d(m.zeros(2, 3, 8, 8), 3, padding=2, dilation=2),
    lambda f, m: f.avg_pool2d(m.zeros(2, 3, 8, 8), 3, padding=2),
    lambda f, m: f.max_pool2d(m.zeros(2, 3, 8, 8), 2, stride=0),
    lambda f, m: f.max_pool2d(m.zeros(2, 3, 8, 8), 2, padding=-1),
    lambda f, m: f.max_pool2d(m.zeros(2, 3, 8, 8), 2, dilation=0),
    lambda f, m: f.max_pool2d(m.zeros(1, 1, 3, 3), 3, dilation=2),
    lambda f, m: f.avg_pool2d(m.zeros(2, 3, 8, 8), 3, divisor_override=0),
    lambda f, m: f.max_pool1d(m.zeros(8), 2),
    lambda f, m: f.avg_pool1d(m.zeros(2, 3, 8), (2, 2)),
    lambda f, m: f.adaptive_avg_pool2d(m.zeros(8, 8), 2),
    lambda f, m: f.adaptive_max_pool2d(m.zeros(1, 3, 0, 4), 2),
    lambda f, m: f.adaptive_avg_pool2d(m.zeros(2, 3, 8, 8), -1),
    lambda f, m: f.adaptive_avg_pool2d(m.zeros(2, 3, 8, 8), (2, 3, 4)),
    lambda f, m: f.adaptive_avg_pool2d(m.zeros(2, 3, 8, 8), (2.5, 2)),
    lambda f, m: f.max_unpool2d(m.zeros(1, 1, 2, 2), m.zeros(1, 1, 2, 2).long(), 2,
                             output_size=(6, 6)),
    lambda f, m: f.max_unpool2d(m.zeros(1, 1, 2, 2), m.zeros(1, 1, 2, 2).long(), 2,
                             output_size=(5,)),
    lambda f, m: f.max_unpool2d(m.zeros(1, 1, 2, 2), m.zeros(1, 1, 2, 2).long() + 16, 2),
    lambda f, m: f.max_unpool2d(m.zeros(1, 1, 2, 2), m.zeros(1, 1, 2, 2), 2),
    lambda f, m: f.max_unpool2d(m.zeros(1, 1, 2, 2), m.zeros(1, 1, 1, 2).long(), 2),
])
def test_errors_have_torchs_types_and_words(call):
    n_type, n_text = _error(call, F, numnet)
    t_type, t_text = _error(call, TF, torch)
    assert n_type is t_type, (n_text, t_text)
    assert t_text.split(",")[0].split("(")[0].split(":")[-1].strip()[:25].lower() in \
        n_text.lower(), (n_text, t_text)


# ------------------------------------------------------------------------------ layers
LAYERS = [
    ("MaxPool2d", (3, 2, 1, 2, True, True), (2, 3, 9, 8)),
    ("MaxPool2d", (3,), (3, 7, 7)),
    ("AvgPool2d", (3, 2, 1, True, False, None), (2, 3, 7, 8)),
    ("AvgPool2d", (2, 1, 1, False, True, 3), (2, 3, 5, 5)),
    ("MaxPool1d", (3, 2, 1, 1, True, True), (2, 3, 9)),
    ("AvgPool1d", (3, 2, 1, True, False), (2, 3, 9)),
    ("AdaptiveAvgPool2d", ((3, None),), (2, 3, 7, 5)),
    ("AdaptiveMaxPool2d", ((3, 2), True), (2, 3, 7, 5)),
    ("AdaptiveAvgPool1d", (4,), (2, 3, 7)),
    ("AdaptiveMaxPool1d", (4, True), (3, 7)),
]


@pytest.mark.parametrize("name, args, x_shape", LAYERS)
def test_layers_match_torch(name, args, x_shape, check_op):
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    for attr in ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "output_size",
                 "return_indices", "count_include_pad", "divisor_override"):
        assert getattr(ours, attr, None) == getattr(theirs, attr, None), attr
    check_op(ours, theirs, x_shape, gradcheck="Max" not in name or "Adaptive" in name)


@pytest.mark.parametrize("dims", [1, 2])
def test_max_unpool_layers_match_torch(dims, check_op):
    pool = getattr(torch.nn, f"MaxPool{dims}d")(2, return_indices=True)
    x = torch.tensor(numpy.random.default_rng(8).standard_normal((2, 3) + (5,) * dims))
    y, index = pool(x)
    ours = getattr(nn, f"MaxUnpool{dims}d")(2)
    theirs = getattr(torch.nn, f"MaxUnpool{dims}d")(2)
    assert repr(ours) == repr(theirs)
    size = tuple(x.shape)
    check_op(lambda t, i: ours(t, i, size), lambda t, i: theirs(t, i, size), y.numpy(),
             index.numpy())


def test_pool_layers_are_fused_only_in_the_plain_case():
    assert nn.MaxPool2d(2).tiles() == (2, 2)
    for layer in (nn.MaxPool2d(2, ceil_mode=True), nn.MaxPool2d(2, dilation=2),
                  nn.MaxPool2d(2, return_indices=True), nn.MaxPool2d(2, padding=1)):
        assert layer.tiles() is None
    numnet.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True))
    x = numnet.randn(2, 1, 8, 8)
    assert net(x).shape == (2, 2, 3, 3)
    separate = nn.MaxPool2d(2, ceil_mode=True)(F.relu(net[0](x)))
    numpy.testing.assert_array_equal(net(x).detach().numpy(), separate.detach().numpy())


def test_summary_details_and_old_import():
    from numnet.nn.layers import AvgPool2d, MaxPool2d

    assert MaxPool2d is nn.MaxPool2d and AvgPool2d is nn.AvgPool2d
    assert nn.MaxPool2d(3, 2, 1, dilation=2).summary_details() == "F=3 S=2 P=1 D=2"
    assert nn.MaxPool1d((3,), 1).summary_details() == "F=3 S=1"
    assert nn.AvgPool1d(2).summary_details() == "F=2 S=2"
