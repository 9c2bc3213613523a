"""F.interpolate (nearest, nearest-exact, linear, bilinear, trilinear), the deprecated
F.upsample*, and nn.Upsample / UpsamplingNearest2d / UpsamplingBilinear2d against PyTorch
(ops/interpolate.py, nn/upsampling.py)."""

from __future__ import annotations

import numpy
import pytest
import torch
import torch.nn.functional as TF

import numnet
import numnet.nn.functional as F
from numnet import nn

MODES = [("nearest", None), ("nearest-exact", None), ("linear", False), ("linear", True)]
SPATIAL_MODES = [("nearest", None), ("nearest-exact", None), ("bilinear", False),
                 ("bilinear", True), ("bicubic", False), ("bicubic", True)]

# size / scale arguments: up- and down-scaling, given as a size or as a scale factor
RESIZES_1D = [dict(size=11), dict(size=3), dict(size=1), dict(scale_factor=2),
              dict(scale_factor=0.6), dict(scale_factor=2.5, recompute_scale_factor=True),
              dict(scale_factor=1.7)]
RESIZES_2D = [dict(size=(9, 4)), dict(size=3), dict(scale_factor=2), dict(scale_factor=(1.5, 0.6)),
              dict(scale_factor=(2.3, 1.7), recompute_scale_factor=True), dict(size=(5, 7))]


def _fns(mode, align_corners, resize):
    def numnet_fn(x):
        return F.interpolate(x, mode=mode, align_corners=align_corners, **resize)

    def torch_fn(x):
        return TF.interpolate(x, mode=mode, align_corners=align_corners, **resize)

    return numnet_fn, torch_fn


@pytest.mark.parametrize("mode, align_corners", MODES)
@pytest.mark.parametrize("resize", RESIZES_1D)
def test_interpolate_1d_matches_torch(mode, align_corners, resize, check_op):
    check_op(*_fns(mode, align_corners, resize), (2, 3, 5))


@pytest.mark.parametrize("mode, align_corners", SPATIAL_MODES)
@pytest.mark.parametrize("resize", RESIZES_2D)
def test_interpolate_2d_matches_torch(mode, align_corners, resize, check_op):
    check_op(*_fns(mode, align_corners, resize), (2, 2, 5, 7))


@pytest.mark.parametrize("mode, align_corners", [("nearest", None), ("trilinear", False),
                                                 ("trilinear", True)])
def test_interpolate_3d_matches_torch(mode, align_corners, check_op):
    check_op(*_fns(mode, align_corners, dict(size=(3, 5, 2))), (1, 2, 2, 3, 4))
    check_op(*_fns(mode, align_corners, dict(scale_factor=(1.5, 2, 0.7))), (1, 2, 2, 3, 4))


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
@pytest.mark.parametrize("image", [False, True])  # PyTorch's 1-D and 2-D kernels differ
def test_interpolate_picks_torchs_source_pixels(dtype, image):
    # input / output sizes given as a size and as a scale factor (2 -> 41, 14 -> 46 and
    # 26 -> 22 need float32 and the fused multiply-add where torch has them): the nearest
    # modes copy exactly the pixels torch copies, the linear ones mix the same two
    x = numpy.random.default_rng(0).standard_normal((1, 2, 1, 26)).astype(dtype)
    modes = SPATIAL_MODES if image else MODES
    for n_in in (1, 2, 3, 5, 7, 12, 14, 26):
        for n_out in (1, 2, 3, 4, 6, 13, 22, 41, 46):
            for resize in (dict(size=n_out), dict(scale_factor=n_out / n_in + 1e-3)):
                if image:
                    resize = {key: (1, value) for key, value in resize.items()}
                for mode, align_corners in modes:
                    part = x[..., :n_in] if image else x[:, :, 0, :n_in]
                    expected = TF.interpolate(torch.tensor(part), mode=mode,
                                              align_corners=align_corners, **resize).numpy()
                    got = F.interpolate(numnet.tensor(part), mode=mode,
                                        align_corners=align_corners, **resize).data
                    assert got.shape == expected.shape
                    if mode.startswith("nearest"):
                        numpy.testing.assert_array_equal(got, expected)
                    else:
                        numpy.testing.assert_allclose(got, expected, rtol=0,
                                                      atol=4e-6 if dtype == numpy.float32
                                                      else 1e-12)


def test_interpolate_gradient_adds_every_output_pixel_back():
    # nearest upsampling by 2: each input pixel is copied 4 times, so its gradient is 4
    x = numnet.ones(1, 1, 3, 3, requires_grad=True)
    F.interpolate(x, scale_factor=2).sum().backward()
    numpy.testing.assert_array_equal(x.grad.data, numpy.full((1, 1, 3, 3), 4.0))


def test_interpolate_keeps_float32_and_takes_a_non_contiguous_input(check_op):
    y = F.interpolate(numnet.zeros(1, 1, 2, 2), scale_factor=1.5, mode="bilinear")
    assert y.dtype == numpy.float32 and y.shape == (1, 1, 3, 3)
    check_op(lambda x: F.interpolate(x.permute(0, 1, 3, 2), size=(4, 6), mode="bilinear"),
             lambda x: TF.interpolate(x.permute(0, 1, 3, 2), size=(4, 6), mode="bilinear"),
             (2, 3, 5, 3))


@pytest.mark.parametrize("shape, kwargs", [
    ((1, 2, 5, 5), dict(size=0)),
    ((1, 2, 5, 5), dict(scale_factor=0.1)),
    ((1, 2, 0, 5), dict(size=3)),
    ((1, 2, 5), dict(size=0)),
    ((1, 2, 2, 5, 5), dict(size=(2, 0, 3))),
    ((1, 2, 5, 5), dict(size=3, mode="foo")),
    ((1, 2, 5, 5), dict(size=3, mode="linear")),
    ((2, 5, 5), dict(size=3, mode="bilinear")),
    ((5, 5), dict(size=3)),
    ((1, 2, 5, 5), dict(size=3, align_corners=True)),
    ((1, 2, 5, 5), dict(size=3, scale_factor=2)),
    ((1, 2, 5, 5), {}),
    ((1, 2, 5, 5), dict(size=(3,))),
    ((1, 2, 5, 5), dict(size=(3.0, 2))),
    ((1, 2, 5, 5), dict(scale_factor=(2,))),
    ((1, 2, 5, 5), dict(size=3, recompute_scale_factor=True)),
    ((1, 2, 5, 5), dict(size=3, antialias=True)),
    ((1, 2, 5), dict(size=3, mode="linear", antialias=True)),
    ((1, 2, 5), dict(size=3, mode="bicubic")),
    ((1, 2, 5, 5), dict(size=3, mode="trilinear")),
])
def test_interpolate_raises_torchs_errors(shape, kwargs):
    with pytest.raises(Exception) as expected:
        TF.interpolate(torch.zeros(shape), **kwargs)
    with pytest.raises(type(expected.value)) as caught:
        F.interpolate(numnet.zeros(*shape), **kwargs)
    assert str(caught.value) == str(expected.value)


@pytest.mark.parametrize("shape, resize", [((2, 3, 7), dict(size=3)),
                                           ((2, 3, 6, 9), dict(size=(4, 4))),
                                           ((2, 3, 6, 9), dict(scale_factor=0.5)),
                                           ((2, 3, 7), dict(scale_factor=0.4))])
def test_interpolate_area_is_adaptive_average_pooling(shape, resize, check_op):
    check_op(*_fns("area", None, resize), shape)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("resize", [dict(size=(3, 4)), dict(scale_factor=(0.3, 1.7)),
                                    dict(size=(1, 2)), dict(size=(11, 13))])
def test_interpolate_antialias_matches_torch(mode, align_corners, resize, check_op):
    def numnet_fn(x):
        return F.interpolate(x, mode=mode, align_corners=align_corners, antialias=True,
                             **resize)

    def torch_fn(x):
        return TF.interpolate(x, mode=mode, align_corners=align_corners, antialias=True,
                              **resize)

    check_op(numnet_fn, torch_fn, (2, 2, 8, 9))


def test_interpolate_options_not_implemented_say_so():
    with pytest.raises(NotImplementedError, match="lanczos"):
        F.interpolate(numnet.zeros(1, 1, 4, 4), size=2, mode="lanczos")
    with pytest.raises(NotImplementedError, match="area"):
        F.interpolate(numnet.zeros(1, 1, 2, 4, 4), size=2, mode="area")


@pytest.mark.parametrize("name, kwargs", [("upsample", dict(mode="bilinear")),
                                          ("upsample_nearest", {}),
                                          ("upsample_bilinear", {})])
def test_deprecated_upsample_functions_warn_and_match_torch(name, kwargs):
    x = numpy.random.default_rng(0).standard_normal((1, 2, 3, 4)).astype(numpy.float32)
    with pytest.warns(UserWarning, match=f"`nn.functional.{name}` is deprecated"):
        expected = getattr(TF, name)(torch.tensor(x), scale_factor=2, **kwargs).numpy()
    with pytest.warns(UserWarning, match=f"`nn.functional.{name}` is deprecated"):
        got = getattr(F, name)(numnet.tensor(x), scale_factor=2, **kwargs).data
    numpy.testing.assert_allclose(got, expected, atol=1e-6)


@pytest.mark.parametrize("layer, args, kwargs", [
    ("Upsample", (), dict(scale_factor=2)),
    ("Upsample", (), dict(size=(3, 7), mode="bilinear")),
    ("Upsample", (), dict(scale_factor=(1.5, 2), mode="bilinear", align_corners=True)),
    ("Upsample", (), dict(scale_factor=1.5, mode="nearest-exact", recompute_scale_factor=True)),
    ("UpsamplingNearest2d", (), dict(scale_factor=3)),
    ("UpsamplingBilinear2d", ((4, 9),), {}),
])
def test_upsampling_layers_match_torch(layer, args, kwargs):
    torch_layer = getattr(torch.nn, layer)(*args, **kwargs)
    numnet_layer = getattr(nn, layer)(*args, **kwargs)
    assert repr(numnet_layer) == repr(torch_layer)
    x = numpy.random.default_rng(0).standard_normal((2, 3, 4, 5)).astype(numpy.float32)
    tx = torch.tensor(x, requires_grad=True)
    nx = numnet.tensor(x, requires_grad=True)
    ty, ny = torch_layer(tx), numnet_layer(nx)
    numpy.testing.assert_allclose(ny.data, ty.detach().numpy(), atol=1e-5)
    ty.square().sum().backward()
    (ny * ny).sum().backward()
    numpy.testing.assert_allclose(nx.grad.data, tx.grad.numpy(), atol=1e-4)


@pytest.mark.parametrize("shape, kwargs", [((2, 3, 5), dict(scale_factor=1.6, mode="linear")),
                                           ((1, 2, 2, 3, 4), dict(size=(3, 2, 5),
                                                                  mode="trilinear")),
                                           ((1, 2, 2, 3, 4), dict(scale_factor=2))])
def test_upsample_takes_1d_and_3d_input(shape, kwargs):
    x = numpy.random.default_rng(0).standard_normal(shape)
    expected = torch.nn.Upsample(**kwargs)(torch.tensor(x)).numpy()
    numpy.testing.assert_allclose(nn.Upsample(**kwargs)(numnet.tensor(x)).data, expected,
                                  atol=1e-12)
