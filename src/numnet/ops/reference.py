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
``x_pad[:, :, i::S_h, j::S_w]`` (its first ``OH x OW`` entries); with dilation D the taps are
D apart, ``x_pad[:, :, i D_h::S_h, j D_w::S_w]``, and ``OH = (H + 2P - D (F - 1) - 1) / S + 1``.
With G groups each group of C/G channels is convolved with its own K/G filters: here one
product per group, in a loop (``ops/conv.py`` does them in one batched matmul).
"""

from __future__ import annotations

import numpy

from numnet.ops._grid import int_pair


def im2col(x_pad, f_h: int, f_w: int, stride, out_size, dilation=(1, 1)):
    """The columns ``X_col`` ``(C F_h F_w, N OH OW)`` of the padded input (N, C, Hp, Wp):
    one column per output pixel, holding the window that pixel sees."""
    n, c = x_pad.shape[:2]
    (s_h, s_w), (oh, ow), (d_h, d_w) = stride, out_size, dilation
    cols = numpy.empty((c, f_h, f_w, n, oh, ow), x_pad.dtype)
    for i in range(f_h):
        for j in range(f_w):  # kernel offset (i, j): one strided slice, in every window
            seen = x_pad[:, :, i * d_h:i * d_h + s_h * oh:s_h, j * d_w:j * d_w + s_w * ow:s_w]
            cols[:, i, j] = seen.transpose(1, 0, 2, 3)
    return cols.reshape(c * f_h * f_w, n * oh * ow)


def col2im(cols, padded_shape, f_h: int, f_w: int, stride, out_size, dilation=(1, 1)):
    """The reverse of ``im2col``: every entry of the columns added back to the pixel of the
    padded input (N, C, Hp, Wp) it was copied from (pixels in several windows add up)."""
    n, c = padded_shape[:2]
    (s_h, s_w), (oh, ow), (d_h, d_w) = stride, out_size, dilation
    cols = cols.reshape(c, f_h, f_w, n, oh, ow)
    padded = numpy.zeros(padded_shape, cols.dtype)
    for i in range(f_h):
        for j in range(f_w):
            back = cols[:, i, j].transpose(1, 0, 2, 3)  # (N, C, OH, OW)
            padded[:, :, i * d_h:i * d_h + s_h * oh:s_h, j * d_w:j * d_w + s_w * ow:s_w] += back
    return padded


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """A 2-D convolution and its gradients, on NumPy arrays (no autograd).

    Args:
        x: input (N, C, H, W).
        weight: the K filters (K, C / groups, F_h, F_w).
        bias: (K,) or None.
        stride: S, an int or a pair (S_h, S_w).
        padding: P, an int or a pair (P_h, P_w).
        dilation: D, an int or a pair (D_h, D_w).
        groups: G, dividing C and K.

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
    dilation = int_pair(dilation, "dilation")
    p_h, p_w = int_pair(padding, "padding")
    n, c, h, w = x.shape
    k, _, f_h, f_w = weight.shape
    oh = (h + 2 * p_h - dilation[0] * (f_h - 1) - 1) // stride[0] + 1
    ow = (w + 2 * p_w - dilation[1] * (f_w - 1) - 1) // stride[1] + 1
    x_pad = numpy.pad(x, ((0, 0), (0, 0), (p_h, p_h), (p_w, p_w)))
    x_col = im2col(x_pad, f_h, f_w, stride, (oh, ow), dilation)
    x_groups = x_col.reshape(groups, -1, n * oh * ow)  # group g: its channels' rows
    w_groups = weight.reshape(groups, k // groups, -1)  # group g: its K/G filters
    # the one matrix product (one per group): (K/G, C/G F_h F_w) by (C/G F_h F_w, N OH OW)
    y_mat = numpy.concatenate([w_groups[g] @ x_groups[g] for g in range(groups)])
    if bias is not None:
        y_mat += bias[:, None]
    y = y_mat.reshape(k, n, oh, ow).transpose(1, 0, 2, 3)

    def backward(gy):
        gy_mat = gy.transpose(1, 0, 2, 3).reshape(k, n * oh * ow)
        gy_groups = gy_mat.reshape(groups, k // groups, -1)
        gw = numpy.stack([gy_groups[g] @ x_groups[g].T for g in range(groups)])
        gx_col = numpy.concatenate([w_groups[g].T @ gy_groups[g] for g in range(groups)])
        gb = None if bias is None else gy_mat.sum(axis=1)
        gx_pad = col2im(gx_col, x_pad.shape, f_h, f_w, stride, (oh, ow), dilation)
        return gx_pad[:, :, p_h:p_h + h, p_w:p_w + w], gw.reshape(weight.shape), gb

    return y, backward
