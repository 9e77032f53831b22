"""Convolution and pooling as a textbook writes them, with batch norm as Tensor ops.

im2col turns every window of an image into a column: a convolution is then one matrix product of
the weights with the columns, and a pool one reduction over each column. Backward runs the same
product transposed, and col2im, the adjoint of im2col, adds each column entry's gradient back to
the input pixel it was read from (a pixel in several windows collects several). These reference
ops favour clarity over speed: ``tinygrad_ko.ops.tuned`` computes the same values and gradients
with the tuned kernels of ``tinygrad_ko.kernels``, and ``nn.functional`` calls those. Arguments
arrive parsed by ``nn.functional``: stride and dilation as pairs, padding as (top, bottom, left,
right). Their backward is NumPy, so they are once differentiable; :func:`batch_norm_train` is a
composition of Tensor ops, which autograd differentiates any number of times.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..autograd.function import Function
from ..tensor import wrap

__all__ = ["im2col", "col2im", "Conv2d", "MaxPool2d", "AvgPool2d", "batch_norm_train"]

Pair = tuple[int, int]
Pads = tuple[int, int, int, int]  # (top, bottom, left, right)


def im2col(
    x: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair, padding: Pads, out_hw: Pair, fill: Any = 0
) -> np.ndarray:
    """Every window of x (N, C, H, W) as a read-only (N, C, kh, kw, Ho, Wo) view of the padded
    input: element [n, c, i, j, y, x] is padded pixel (y*sh + i*dh, x*sw + j*dw) of image n."""
    pt, pb, pl, pr = padding
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=fill)
    s_n, s_c, s_h, s_w = xp.strides
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    shape = (x.shape[0], x.shape[1], kh, kw, *out_hw)
    return as_strided(xp, shape, (s_n, s_c, dh * s_h, dw * s_w, sh * s_h, sw * s_w), writeable=False)


def col2im(columns: np.ndarray, x_shape: tuple[int, ...], stride: Pair, dilation: Pair, padding: Pads) -> np.ndarray:
    """The adjoint of :func:`im2col`: sum (N, C, kh, kw, Ho, Wo) columns into an (N, C, H, W) image."""
    n, c, kh, kw, ho, wo = columns.shape
    (sh, sw), (dh, dw), (pt, pb, pl, pr) = stride, dilation, padding
    h, w = x_shape[2], x_shape[3]
    image = np.zeros((n, c, h + pt + pb, w + pl + pr), dtype=columns.dtype)
    for i in range(kh):
        for j in range(kw):  # kernel offset (i, j) of every window at once: one strided slice
            rows = slice(i * dh, i * dh + sh * (ho - 1) + 1, sh)
            cols = slice(j * dw, j * dw + sw * (wo - 1) + 1, sw)
            image[:, :, rows, cols] += columns[:, :, i, j]
    return image[:, :, pt : pt + h, pl : pl + w]


class Conv2d(Function):
    """2-D cross-correlation: out[n, o, y, x] = bias[o] + sum over (c, i, j) of
    w[o, c, i, j] * x_padded[n, g*C/G + c, y*sh + i*dh, x*sw + j*dw], for o in group g.

    Inputs x (N, C, H, W), w (O, C/G, kh, kw) and an optional bias (O,); G = ``groups``. Per image
    and group the columns are a (K, Ho*Wo) matrix, K = C/G * kh * kw, and the output is the
    group's (O/G, K) weight matrix times it.
    """

    once_differentiable = True

    @staticmethod
    def forward(ctx, x, w, *bias, stride, padding, dilation, groups):
        n, (o, cg, kh, kw) = x.shape[0], w.shape
        ho = (x.shape[2] + padding[0] + padding[1] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
        wo = (x.shape[3] + padding[2] + padding[3] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
        cols = im2col(x, (kh, kw), stride, dilation, padding, (ho, wo)).reshape(n, groups, cg * kh * kw, ho * wo)
        out = w.reshape(groups, o // groups, -1) @ cols  # (G, O/G, K) @ (N, G, K, L) -> (N, G, O/G, L)
        if bias:
            out += bias[0].reshape(1, groups, o // groups, 1)
        ctx.geom = (stride, padding, dilation, groups, (ho, wo))
        ctx.save_for_backward(x, w)
        return out.reshape(n, o, ho, wo)

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_arrays()
        stride, padding, dilation, groups, out_hw = ctx.geom
        (n, c), (o, _, kh, kw) = x.shape[:2], w.shape
        g = grad._data.reshape(n, groups, o // groups, -1)  # (N, G, O/G, L)
        cols = im2col(x, (kh, kw), stride, dilation, padding, out_hw).reshape(n, groups, -1, g.shape[3])
        grad_w = (g @ cols.transpose(0, 1, 3, 2)).sum(axis=0).reshape(w.shape)  # summed over images
        grad_cols = w.reshape(groups, o // groups, -1).transpose(0, 2, 1) @ g  # (N, G, K, L)
        grad_x = col2im(grad_cols.reshape(n, c, kh, kw, *out_hw), x.shape, stride, dilation, padding)
        grads = (wrap(grad_x), wrap(grad_w))
        if len(ctx.needs_input_grad) == 2:  # no bias
            return grads
        return grads + (wrap(g.sum(axis=(0, 3)).reshape(o)),)


class MaxPool2d(Function):
    """Max over each window, the padding filled with -inf. The gradient goes to the window's first
    maximum in row-major order, never to padding when a real element ties with it; in a window
    holding NaN (its maximum is then NaN) it goes to the last NaN, as PyTorch's does."""

    once_differentiable = True

    @staticmethod
    def forward(ctx, x, kernel, stride, dilation, padding, out_size):
        windows = im2col(x, kernel, stride, dilation, padding, out_size, fill=-np.inf)
        taps = windows.reshape(*x.shape[:2], -1, *out_size)  # (N, C, kh*kw, Ho, Wo)
        ones = np.ones((1, 1, *x.shape[2:]), dtype=bool)
        real = im2col(ones, kernel, stride, dilation, padding, out_size, fill=False).reshape(1, 1, -1, *out_size)
        out = taps.max(axis=2)  # NaN propagates
        first_max = np.argmax((taps == out[:, :, None]) & real, axis=2)
        last_nan = taps.shape[2] - 1 - np.argmax(np.isnan(taps[:, :, ::-1]), axis=2)
        ctx.geom = (x.shape, kernel, stride, dilation, padding)
        ctx.save_for_backward(np.where(np.isnan(out), last_nan, first_max))
        return out

    @staticmethod
    def backward(ctx, grad):
        (winner,) = ctx.saved_arrays()
        x_shape, kernel, stride, dilation, padding = ctx.geom
        g = grad._data
        tap = np.arange(kernel[0] * kernel[1]).reshape(1, 1, -1, 1, 1)
        grad_taps = np.where(winner[:, :, None] == tap, g[:, :, None], g.dtype.type(0))
        grad_cols = grad_taps.reshape(*g.shape[:2], *kernel, *g.shape[2:])
        return wrap(col2im(grad_cols, x_shape, stride, dilation, padding))


class AvgPool2d(Function):
    """Mean over each zero-padded window: its sum over ``divisor``, a number or an (Ho, Wo) array
    of window sizes (nn.functional works it out); each output's gradient is shared the same way."""

    once_differentiable = True

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, out_size, divisor):
        windows = im2col(x, kernel, stride, (1, 1), padding, out_size)
        ctx.geom = (x.shape, kernel, stride, padding, divisor)
        return (windows.sum(axis=(2, 3)) / divisor).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x_shape, kernel, stride, padding, divisor = ctx.geom
        share = (grad._data / divisor).astype(grad._data.dtype, copy=False)
        n, c, ho, wo = share.shape
        grad_cols = np.broadcast_to(share[:, :, None, None], (n, c, *kernel, ho, wo))
        return wrap(col2im(grad_cols, x_shape, stride, (1, 1), padding))


def batch_norm_train(x: Any, weight: Any = None, bias: Any = None, eps: float = 1e-5) -> Any:
    """Training-mode batch norm of a Tensor x (N, C, *) as Tensor ops: each channel normalised by
    the batch mean and the *biased* batch variance over every other dim, then scaled and shifted."""
    dims = (0, *range(2, x.dim()))
    channel = (1, -1) + (1,) * (x.dim() - 2)
    centred = x - x.mean(dims, keepdim=True)
    out = centred / ((centred * centred).mean(dims, keepdim=True) + eps).sqrt()
    if weight is not None:
        out = out * weight.reshape(channel)
    return out if bias is None else out + bias.reshape(channel)
