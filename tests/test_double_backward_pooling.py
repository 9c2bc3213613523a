"""Second derivatives (``create_graph=True``) of the pooling family against torch's and
against float64 finite differences of the first derivatives (``check_op`` with
``gradgrad=True``): ``max_pool1d/2d`` (``PoolScatter`` / ``PoolGather``), ``avg_pool1d/2d``
(``AvgPool2dTranspose``), the adaptive poolings, ``max_unpool1d/2d``, ``interpolate`` in
every mode (``InterpolateTranspose``) and the fused ``conv2d_relu`` pooling, over their
options. Each op is squared (or cubed) so that its second derivative is not trivially zero.
The gradient ops are each other's gradients, so the third derivatives match torch too."""

from __future__ import annotations

import numpy
import pytest
import torch
import torch.nn.functional as TF

import numnet
import numnet.nn.functional as F

MAX_POOL = {
    "kernel2": dict(kernel_size=2),
    "overlap_pad": dict(kernel_size=3, stride=1, padding=1),
    "rect_stride": dict(kernel_size=(2, 3), stride=(1, 2)),
    "dilation": dict(kernel_size=2, stride=1, padding=1, dilation=2),
    "ceil_mode": dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
}


@pytest.mark.parametrize("name", sorted(MAX_POOL))
def test_max_pool2d(check_op, name):
    kw = MAX_POOL[name]
    check_op(lambda x: F.max_pool2d(x, **kw) ** 2, lambda x: TF.max_pool2d(x, **kw) ** 2,
             (2, 2, 5, 6), gradgrad=True, float32=False)


def test_max_pool2d_unbatched_return_indices(check_op):
    check_op(lambda x: F.max_pool2d(x, 2, 1, return_indices=True)[0] ** 2,
             lambda x: TF.max_pool2d(x, 2, 1, return_indices=True)[0] ** 2,
             (2, 4, 5), gradgrad=True, float32=False)


AVG_POOL = {
    "kernel2": dict(kernel_size=2),
    "overlap_pad": dict(kernel_size=3, stride=1, padding=1),
    "exclude_pad": dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    "ceil_mode": dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    "divisor": dict(kernel_size=(2, 3), stride=(1, 2), divisor_override=5),
}


@pytest.mark.parametrize("name", sorted(AVG_POOL))
def test_avg_pool2d(check_op, name):
    kw = AVG_POOL[name]
    check_op(lambda x: F.avg_pool2d(x, **kw) ** 2, lambda x: TF.avg_pool2d(x, **kw) ** 2,
             (2, 2, 5, 6), gradgrad=True, float32=False)


def test_avg_pool2d_unbatched(check_op):
    check_op(lambda x: F.avg_pool2d(x, 2, 1) ** 2, lambda x: TF.avg_pool2d(x, 2, 1) ** 2,
             (2, 4, 5), gradgrad=True, float32=False)


def test_pool1d(check_op):
    def numnet_fn(x):
        return (F.max_pool1d(x, 3, 2, 1, ceil_mode=True) ** 2).sum(-1) + (
            F.avg_pool1d(x, 2, 1, count_include_pad=False) ** 2).sum(-1)

    def torch_fn(x):
        return (TF.max_pool1d(x, 3, 2, 1, ceil_mode=True) ** 2).sum(-1) + (
            TF.avg_pool1d(x, 2, 1, count_include_pad=False) ** 2).sum(-1)

    check_op(numnet_fn, torch_fn, (2, 3, 7), gradgrad=True, float32=False)


# output sizes: windows of two sizes (the Adaptive*Pool2d ops), side by side (the plain
# poolings) and 1 x 1 (a mean / a maximum over the plane)
ADAPTIVE_SIZES = [(3, 4), (2, 3), (1, 1), (None, 2)]


@pytest.mark.parametrize("size", ADAPTIVE_SIZES, ids=str)
def test_adaptive_avg_pool2d(check_op, size):
    check_op(lambda x: F.adaptive_avg_pool2d(x, size) ** 2,
             lambda x: TF.adaptive_avg_pool2d(x, size) ** 2,
             (2, 2, 4, 6), gradgrad=True, float32=False)


@pytest.mark.parametrize("size", ADAPTIVE_SIZES, ids=str)
def test_adaptive_max_pool2d(check_op, size):
    check_op(lambda x: F.adaptive_max_pool2d(x, size) ** 2,
             lambda x: TF.adaptive_max_pool2d(x, size) ** 2,
             (2, 2, 4, 6), gradgrad=True, float32=False)


def test_adaptive_pool1d_unbatched(check_op):
    check_op(lambda x: F.adaptive_avg_pool1d(x, 3) ** 2 + F.adaptive_max_pool1d(x, 3) ** 2,
             lambda x: TF.adaptive_avg_pool1d(x, 3) ** 2 + TF.adaptive_max_pool1d(x, 3) ** 2,
             (2, 7), gradgrad=True, float32=False)


def _pool_indices(shape, kernel, stride, padding=0):
    """The int64 indices of a max pooling of random data (distinct within each plane)."""
    x = torch.tensor(numpy.random.default_rng(1).standard_normal(shape))
    pool = TF.max_pool2d if len(shape) == 4 else TF.max_pool1d
    return pool(x, kernel, stride, padding, return_indices=True)[1].numpy()


@pytest.mark.parametrize("options", [(2, 2, 0), (2, 2, 1)], ids=["kernel2", "padding"])
def test_max_unpool2d(check_op, options):
    indices = _pool_indices((2, 2, 5, 6), *options)
    size = (5, 6)

    def numnet_fn(x):
        return F.max_unpool2d(x, numnet.tensor(indices), *options, output_size=size) ** 2

    def torch_fn(x):
        return TF.max_unpool2d(x, torch.tensor(indices), *options, output_size=size) ** 2

    check_op(numnet_fn, torch_fn, indices.shape, gradgrad=True, float32=False)


def test_max_unpool1d_after_max_pool1d(check_op):
    """Unpooling the squared maxima: the second derivatives go through both ops."""
    def numnet_fn(x):
        y, indices = F.max_pool1d(x, 2, return_indices=True)
        return F.max_unpool1d(y * y, indices, 2) ** 2

    def torch_fn(x):
        y, indices = TF.max_pool1d(x, 2, return_indices=True)
        return TF.max_unpool1d(y * y, indices, 2) ** 2

    check_op(numnet_fn, torch_fn, (2, 3, 6), gradgrad=True, float32=False)


INTERPOLATE = {
    "nearest_1d": ((2, 2, 5), dict(size=8)),
    "nearest_2d_scale": ((2, 2, 3, 4), dict(scale_factor=(1.5, 0.75))),
    "nearest_exact_3d": ((1, 2, 2, 3, 3), dict(size=(3, 5, 2), mode="nearest-exact")),
    "linear": ((2, 2, 5), dict(size=7, mode="linear")),
    "linear_align": ((2, 2, 5), dict(size=3, mode="linear", align_corners=True)),
    "bilinear_scale": ((2, 2, 3, 4), dict(scale_factor=1.7, mode="bilinear")),
    "bilinear_align": ((2, 2, 3, 4), dict(size=(5, 3), mode="bilinear", align_corners=True)),
    "bilinear_antialias": ((1, 2, 6, 7), dict(size=(3, 4), mode="bilinear", antialias=True)),
    "bicubic": ((2, 2, 3, 4), dict(size=(5, 6), mode="bicubic")),
    "bicubic_align": ((2, 2, 4, 4), dict(size=(3, 6), mode="bicubic", align_corners=True)),
    "bicubic_antialias": ((1, 2, 6, 7), dict(size=(4, 3), mode="bicubic", antialias=True)),
    "trilinear": ((1, 2, 2, 3, 3), dict(size=(3, 4, 2), mode="trilinear")),
    "area_1d": ((2, 2, 7), dict(size=3, mode="area")),
    "area_2d": ((2, 2, 5, 6), dict(size=(3, 4), mode="area")),
}


@pytest.mark.parametrize("name", sorted(INTERPOLATE))
def test_interpolate(check_op, name):
    shape, kw = INTERPOLATE[name]
    check_op(lambda x: F.interpolate(x, **kw) ** 2, lambda x: TF.interpolate(x, **kw) ** 2,
             shape, gradgrad=True, float32=False)


def test_fused_conv2d_relu_pool_partial_windows(check_op):
    """``conv2d_relu``'s pooling where the windows leave the last row and column of the
    convolution's output out (5 x 5 pooled by 2), against conv2d, relu, max_pool2d."""
    def reference(x, w, b):
        return TF.max_pool2d(torch.relu(TF.conv2d(x, w, b, padding=1)), 2) ** 2

    check_op(lambda x, w, b: F.conv2d_relu(x, w, b, padding=1, pool=2) ** 2, reference,
             (2, 2, 5, 5), (3, 2, 3, 3), (3,), gradgrad=True, float32=False)


def _third_derivatives(module, fn, x, u, v, w):
    """The gradients of ``<w, d/dx <v, d/dx <u, fn(x)>>>`` with respect to ``x`` (a third
    derivative), ``u`` and ``v``, with ``create_graph=True`` at each step, in numnet or
    torch (``module``)."""
    tensor = numnet.tensor if module is numnet else torch.tensor
    x, u, v = (tensor(a, requires_grad=True) for a in (x, u, v))
    (g,) = module.autograd.grad(fn(x), x, u, create_graph=True)
    (h,) = module.autograd.grad((g * v).sum(), x, create_graph=True)
    grads = module.autograd.grad((h * tensor(w)).sum(), (x, u, v), allow_unused=True)
    results = []
    for g, a in zip(grads, (x, u, v)):
        if g is None:
            results.append(numpy.zeros(tuple(a.shape)))
        else:
            results.append(g.detach().numpy() if module is torch else g.data)
    return results


THIRD_ORDER = {
    "max_pool2d": (lambda x: F.max_pool2d(x, 3, 1, 1) ** 3,
                   lambda x: TF.max_pool2d(x, 3, 1, 1) ** 3, (2, 2, 4, 5)),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False) ** 3,
                   lambda x: TF.avg_pool2d(x, 3, 2, 1, count_include_pad=False) ** 3,
                   (2, 2, 5, 6)),
    "adaptive_avg_pool2d": (lambda x: F.adaptive_avg_pool2d(x, (3, 4)) ** 3,
                            lambda x: TF.adaptive_avg_pool2d(x, (3, 4)) ** 3, (2, 2, 5, 6)),
    "bicubic": (lambda x: F.interpolate(x, size=(5, 3), mode="bicubic") ** 3,
                lambda x: TF.interpolate(x, size=(5, 3), mode="bicubic") ** 3, (1, 2, 3, 4)),
}


@pytest.mark.parametrize("name", sorted(THIRD_ORDER))
def test_third_derivatives_equal_torch(name):
    numnet_fn, torch_fn, shape = THIRD_ORDER[name]
    rng = numpy.random.default_rng(0)
    x = rng.standard_normal(shape)
    y_shape = tuple(torch_fn(torch.tensor(x)).shape)
    u, v, w = rng.standard_normal(y_shape), rng.standard_normal(shape), rng.standard_normal(shape)
    got = _third_derivatives(numnet, numnet_fn, x, u, v, w)
    expected = _third_derivatives(torch, torch_fn, x, u, v, w)
    for what, have, want in zip(("x", "u", "v"), got, expected):
        numpy.testing.assert_allclose(have, want, rtol=1e-6, atol=1e-8,
                                      err_msg=f"third derivative through {what} differs")
