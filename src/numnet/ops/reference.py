"""The lecture's convolution in plain NumPy, short enough to read in one go: the second
oracle (beside PyTorch) that the tests hold ``conv2d`` to, and the algorithm that
``ops/conv.py`` makes fast.

K filters of size F slide with stride S over the input zero-padded by P; along an axis of
size N there are ``(N - F + 2P) / S + 1`` positions (rounded down). im2col lays every
window out as one column of ``X_col`` ``(C F_h F_w, N OH OW)``, so the forward is ONE
matrix product ``Y = W_mat X_col + b`` with ``W_mat = W.reshape(K, C F_h F_w)``; backward
is ``gW = gY X_col^T``, ``gb = sum(gY)`` and ``gX_col = W_mat^T gY``, which col2im adds back
to the pixels each column came from. Both loop over the ``F_h F_w`` kernel offsets only,
never over samples or pixels: at offset ``(i, j)`` the windows see the strided slice
``x_pad[:, :, i::S_h, j::S_w]`` (its first ``OH x OW`` entries).
"""

from __future__ import annotations

import numpy

from numnet.ops._grid import int_pair


def im2col(x_pad, f_h: int, f_w: int, stride, out_size):
    """The columns ``X_col`` ``(C F_h F_w, N OH OW)`` of the padded input (N, C, Hp, Wp):
    one column per output pixel, holding the window that pixel sees."""
    n, c = x_pad.shape[:2]
    (s_h, s_w), (oh, ow) = stride, out_size
    cols = numpy.empty((c, f_h, f_w, n, oh, ow), x_pad.dtype)
    for i in range(f_h):
        for j in range(f_w):  # kernel offset (i, j): one strided slice, in every window
            seen = x_pad[:, :, i:i + s_h * oh:s_h, j:j + s_w * ow:s_w]
            cols[:, i, j] = seen.transpose(1, 0, 2, 3)
    return cols.reshape(c * f_h * f_w, n * oh * ow)


def col2im(cols, padded_shape, f_h: int, f_w: int, stride, out_size):
    """The reverse of ``im2col``: every entry of the columns added back to the pixel of the
    padded input (N, C, Hp, Wp) it was copied from (pixels in several windows add up)."""
    n, c = padded_shape[:2]
    (s_h, s_w), (oh, ow) = stride, out_size
    cols = cols.reshape(c, f_h, f_w, n, oh, ow)
    padded = numpy.zeros(padded_shape, cols.dtype)
    for i in range(f_h):
        for j in range(f_w):
            back = cols[:, i, j].transpose(1, 0, 2, 3)  # (N, C, OH, OW)
            padded[:, :, i:i + s_h * oh:s_h, j:j + s_w * ow:s_w] += back
    return padded


def conv2d(x, weight, bias=None, stride=1, padding=0):
    """A 2-D convolution and its gradients, on NumPy arrays (no autograd).

    Args:
        x: input (N, C, H, W).
        weight: the K filters (K, C, F_h, F_w).
        bias: (K,) or None.
        stride: S, an int or a pair (S_h, S_w).
        padding: P, an int or a pair (P_h, P_w).

    Returns:
        ``(y, backward)``: the output y (N, K, OH, OW), and ``backward(gy)`` giving
        ``(gx, gW, gb)`` for an upstream gradient gy (gb is None without a bias).

    Example:
        >>> import numpy
        >>> y, backward = conv2d(numpy.ones((1, 1, 4, 4)), numpy.ones((1, 1, 3, 3)), padding=1)
        >>> y[0, 0]
        array([[4., 6., 6., 4.],
               [6., 9., 9., 6.],
               [6., 9., 9., 6.],
               [4., 6., 6., 4.]])
        >>> backward(numpy.ones_like(y))[1][0, 0]
        array([[ 9., 12.,  9.],
               [12., 16., 12.],
               [ 9., 12.,  9.]])
    """
    stride = int_pair(stride, "stride")
    p_h, p_w = int_pair(padding, "padding")
    n, c, h, w = x.shape
    k, _, f_h, f_w = weight.shape
    oh = (h - f_h + 2 * p_h) // stride[0] + 1  # (N - F + 2P) / S + 1
    ow = (w - f_w + 2 * p_w) // stride[1] + 1
    x_pad = numpy.pad(x, ((0, 0), (0, 0), (p_h, p_h), (p_w, p_w)))
    x_col = im2col(x_pad, f_h, f_w, stride, (oh, ow))
    w_mat = weight.reshape(k, c * f_h * f_w)
    y_mat = w_mat @ x_col  # (K, N OH OW): the one matrix product
    if bias is not None:
        y_mat += bias[:, None]
    y = y_mat.reshape(k, n, oh, ow).transpose(1, 0, 2, 3)

    def backward(gy):
        gy_mat = gy.transpose(1, 0, 2, 3).reshape(k, n * oh * ow)
        gw = (gy_mat @ x_col.T).reshape(weight.shape)
        gb = None if bias is None else gy_mat.sum(axis=1)
        gx_pad = col2im(w_mat.T @ gy_mat, x_pad.shape, f_h, f_w, stride, (oh, ow))
        return gx_pad[:, :, p_h:p_h + h, p_w:p_w + w], gw, gb

    return y, backward
