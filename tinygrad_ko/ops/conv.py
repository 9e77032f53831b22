"""Convolution, pooling and batch normalisation on NCHW arrays, and their functional forms.

The kernels are vectorised the classic way:

- ``conv2d`` is im2col + BLAS: an ``as_strided`` view exposes every window of the (padded) input,
  one copy turns it into the column matrix, and one product with the weight matrix per block of
  images gives the output (see :class:`Convolution` for the two layouts). The backward rebuilds
  the columns for the weight gradient (one product per block) and scatters the column gradient
  back to the input with one whole-array add per kernel offset (col2im). The only Python loops
  are over kernel offsets and over a few blocks of images sized for the cache (see
  ``_BLOCK_BYTES``), never over pixels, single images or channels.
- The pools loop over the kernel offsets too: each offset is one strided slice of the input covering
  every window at once; 2x2 max-pooling, the common case, has its own kernel whose backward is a
  single pass.
- ``batch_norm`` in training mode is one fused kernel whose backward differentiates through the
  batch statistics; in eval mode it is a per-channel affine map written with Tensor ops.

The heavy kernels are *once differentiable*: their backward is NumPy, so double backward through
them raises a clear error.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..tensor import wrap
from ..autograd.function import Function
from ..autograd.grad_mode import state as grad_mode
from ..random import default_generator

__all__ = [
    "Convolution",
    "MaxPool2D",
    "AvgPool2D",
    "NativeBatchNorm",
    "conv2d",
    "max_pool2d",
    "avg_pool2d",
    "adaptive_avg_pool2d",
    "batch_norm",
    "dropout2d",
]


# ---- argument helpers ---------------------------------------------------------------------------
def _pair(value: Any, what: str, op: str) -> tuple[int, int]:
    """An int or a pair of ints -> a pair of ints (PyTorch's ``_pair``)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{op}: {what} must be an int or a pair of ints, got {tuple(value)}")
        return int(value[0]), int(value[1])
    return int(value), int(value)


def _shape(a: np.ndarray) -> list[int]:
    return list(a.shape)


def _offsets(kh: int, kw: int, dh: int, dw: int, sh: int, sw: int, ho: int, wo: int) -> list[tuple[slice, slice]]:
    """For each kernel offset (i, j), the strided slices that pick that tap of every window."""
    return [
        (slice(i * dh, i * dh + sh * (ho - 1) + 1, sh), slice(j * dw, j * dw + sw * (wo - 1) + 1, sw))
        for i in range(kh)
        for j in range(kw)
    ]


def _padded(x: np.ndarray, pads: tuple[int, int, int, int], value: float) -> np.ndarray:
    """``x`` with (top, bottom, left, right) padding filled with ``value`` (no copy when all zero)."""
    pt, pb, pl, pr = pads
    if not (pt or pb or pl or pr):
        return x
    n, c, h, w = x.shape
    xp = np.full((n, c, h + pt + pb, w + pl + pr), value, dtype=x.dtype)
    xp[:, :, pt : pt + h, pl : pl + w] = x
    return xp


def _crop(xp: np.ndarray, pads: tuple[int, int, int, int], h: int, w: int) -> np.ndarray:
    pt, _, pl, _ = pads
    if xp.shape[2] == h and xp.shape[3] == w:
        return xp
    return xp[:, :, pt : pt + h, pl : pl + w]


def _check_float(x: Any, op: str) -> None:
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating point input, got {x.dtype} of shape {_shape(x._data)}")


def _is_unbatched(x: Any, op: str) -> bool:
    """True when ``x`` is a 3-D unbatched (C, H, W) input; raises on any rank other than 3 or 4."""
    nd = x._data.ndim
    if nd == 4:
        return False
    if nd == 3:
        return True
    raise RuntimeError(
        f"Expected 3D (unbatched) or 4D (batched) input to {op}, but got input of size: {_shape(x._data)}"
    )


# ---- convolution --------------------------------------------------------------------------------
# A convolution with at least this many columns (C/groups * kh * kw) per output pixel, or with small
# images, runs pixel-major (channels-last); below it, with large images, channel-major per image.
_PIXEL_MAJOR_MIN_K = 32
_PER_IMAGE_MIN_PIXELS = 256


class Convolution(Function):
    """2-D cross-correlation (PyTorch's conv2d) on NCHW input by im2col and BLAS.

    Inputs: x (N, C, H, W), w (O, C // groups, kh, kw) and optionally a bias (O,).
    ``padding`` is (top, bottom, left, right); stride and dilation are pairs.

    Two layouts of the column matrix, both with a row (or column) of ones when there is a bias,
    so that the product adds the bias and the weight-gradient product yields its gradient:

    - pixel-major (the common case, :func:`_conv_forward_pm`): the input is copied once into a
      padded channels-last (N, Hp, Wp, C) buffer, whose windows ``(N, Ho, Wo, kh, kw, C)`` are
      read in runs of C channels into the column matrix ``(N*Ho*Wo, K)``; one product with the
      transpose of the (O, K) weight matrix gives channels-last output, copied to NCHW. This runs
      over blocks of images, and the backward rebuilds the columns from the saved padded input.
      Kernel rows or columns that meet only padding for every output pixel (a 3x3 kernel on a
      1x1 feature map) are left out: see :func:`_live_kernel`.
    - channel-major per image (grouped convolutions, and few columns on large images, such as a
      first layer with one input channel): the column matrix is ``(G, K, N, Ho*Wo)`` and one
      product per image lands directly in NCHW, which saves the output copy when the product
      itself is cheap.
    """

    once_differentiable = True

    @staticmethod
    def forward(ctx, x, w, *bias, stride, padding, dilation, groups):
        o, cg, kh, kw = w.shape
        sh, sw = stride
        dh, dw = dilation
        pt, pb, pl, pr = padding
        n, c, h, wd = x.shape
        hp, wp = h + pt + pb, wd + pl + pr
        ho = (hp - dh * (kh - 1) - 1) // sh + 1
        wo = (wp - dw * (kw - 1) - 1) // sw + 1
        k = cg * kh * kw
        pixel_major = groups == 1 and (k >= _PIXEL_MAJOR_MIN_K or ho * wo < _PER_IMAGE_MIN_PIXELS)
        # kernel rows/columns that only ever meet padding (e.g. a 3x3 kernel on a 1x1 image) are
        # dropped: the same convolution by the live part of the kernel, with less padding
        live = _live_kernel((kh, kw), padding, stride, (h, wd), (ho, wo)) \
            if pixel_major and dilation == (1, 1) else None
        ctx.live = live
        ctx.geom = (x.shape, padding if live is None else live[1], stride, dilation, groups, ho, wo, pixel_major)
        needs = ctx.needs_input_grad
        if pixel_major:
            # the padded input is needed only for the weight's gradient (the columns are rebuilt
            # from it); the small weight matrix always (its last column is the bias, if any)
            w_live = w if live is None else w[:, :, live[0][0] : live[0][1], live[0][2] : live[0][3]]
            out, xp, wm = _conv_forward_pm(x, w_live, bias, ctx.geom[1], stride, dilation, ho, wo)
            ctx.save_for_backward(w, xp if needs[1] else None, wm)
        else:
            # the column matrix is needed only for the weight's gradient
            out, col = _conv_forward_cm(x, w, bias, padding, stride, dilation, groups, ho, wo)
            ctx.save_for_backward(w, col if needs[1] else None, None)
        return out

    @staticmethod
    def backward(ctx, grad):
        # cols: the padded input (pixel-major) or the column matrix (channel-major)
        w, cols, wm = ctx.saved_arrays()
        needs = ctx.needs_input_grad
        needs_b = len(needs) > 2 and needs[2]
        if ctx.geom[-1]:
            live = ctx.live
            if live is None:
                gx, gw, gb = _conv_backward_pm(grad._data, w, cols, wm, ctx.geom, needs[0], needs[1], needs_b)
            else:
                i0, i1, j0, j1 = live[0]
                gx, gw_live, gb = _conv_backward_pm(
                    grad._data, w[:, :, i0:i1, j0:j1], cols, wm, ctx.geom, needs[0], needs[1], needs_b
                )
                gw = None
                if gw_live is not None:  # the dropped taps only ever multiplied padding: zero
                    gw = np.zeros(w.shape, dtype=gw_live.dtype)
                    gw[:, :, i0:i1, j0:j1] = gw_live
        else:
            gx, gw, gb = _conv_backward_cm(grad._data, w, cols, ctx.geom, needs[0], needs[1], needs_b)
        gx = None if gx is None else wrap(gx)
        gw = None if gw is None else wrap(gw)
        gb = None if gb is None else wrap(gb)
        if len(needs) > 2:
            return gx, gw, gb
        return gx, gw


# The pixel-major kernels work through the batch in blocks of whole images, each block's column
# matrix about this many bytes: its columns, product and output copy then stay in the CPU cache
# instead of streaming a whole-batch column matrix (15 MB for the MNIST CNN's second layer)
# through memory and back. A handful of blocks, each one BLAS product of thousands of rows.
_BLOCK_BYTES = 4 << 20

# Weights with at least this many elements (K [+1]) * O get their gradient as the (O, K [+1])
# product: turning a (K, O) product into PyTorch's (O, C, kh, kw) layout is a whole-matrix
# transpose, 16 ms for a 512x512x3x3 weight against 1 ms per output-channel row. Below it the
# (K, O) product is used, which OpenBLAS computes faster for the MNIST CNN's second layer
# (1.98 vs 2.38 ms for its 289x64 weight matrix), and the transpose costs microseconds.
_GW_BY_CHANNEL_MIN = 1 << 17

# The grid input gradient (:class:`_GridInputGrad`) multiplies over a grid one padding row and
# column larger than the output: 15x15 for 14x14 (1.15x the pixels), but 3x3 for 2x2 (2.25x).
# Above this ratio the per-offset kernel (:func:`_input_grad_taps`) is used instead; measured
# with 3x3 kernels, padding 1, batch 64: 14x14 grid 3.5 / taps 4.5 ms, 7x7 2.0 / 2.1,
# 4x4 (1.56x) 2.5 / 1.7, 2x2 2.6 / 1.6.
_GRID_MAX_WASTE = 1.4


def _live_range(k: int, pad: int, stride: int, size: int, out: int) -> tuple[int, int, int, int]:
    """Along one axis (dilation 1): the kernel taps [a, b) that meet the input for some output
    position, and the (before, after) padding of the same convolution by those taps only."""
    live = [
        i for i in range(k)
        # output positions y with 0 <= y*stride + i - pad < size exist
        if max(0, -((i - pad) // stride)) <= min(out - 1, (size - 1 + pad - i) // stride)
    ]
    if not live:  # every tap reads padding only: keep one, the output is the bias anyway
        live = [0]
    a, b = live[0], live[-1] + 1
    return a, b, pad - a, (out - 1) * stride + (b - a) - size - (pad - a)


def _live_kernel(kernel, padding, stride, in_hw, out_hw):
    """``((i0, i1, j0, j1), padding')`` when kernel rows outside [i0, i1) or columns outside
    [j0, j1) only ever meet padding, for every output pixel: the convolution by
    ``w[:, :, i0:i1, j0:j1]`` with ``padding'`` gives the same output, and those taps' weight
    gradient is 0. None when every tap is live, or when the equivalent would need negative padding.
    """
    a0, a1, pt, pb = _live_range(kernel[0], padding[0], stride[0], in_hw[0], out_hw[0])
    b0, b1, pl, pr = _live_range(kernel[1], padding[2], stride[1], in_hw[1], out_hw[1])
    if (a1 - a0, b1 - b0) == tuple(kernel) or min(pt, pb, pl, pr) < 0:
        return None
    return (a0, a1, b0, b1), (pt, pb, pl, pr)


def _blocks(n: int, per_image: int) -> list[tuple[int, int]]:
    """``[start, stop)`` ranges cutting ``n`` images into equal blocks of about _BLOCK_BYTES
    (one empty block for an empty batch)."""
    count = max(1, min(n, -(-n * per_image // _BLOCK_BYTES)))
    size = max(1, -(-n // count))
    return [(b, min(n, b + size)) for b in range(0, n, size)] or [(0, 0)]


def _pm_windows(xp, kernel, stride, dilation, ho, wo):
    """Every window of a padded channels-last (N, Hp, Wp, C) input: an (N, Ho, Wo, kh, kw, C) view."""
    n, _, _, c = xp.shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    s_n, s_h, s_w, s_c = xp.strides
    return as_strided(xp, (n, ho, wo, kh, kw, c), (s_n, sh * s_h, sw * s_w, dh * s_h, dw * s_w, s_c))


def _pm_columns(rows: int, k: int, kb: int, dt) -> np.ndarray:
    """A (rows, kb) column buffer; a last column of ones when kb == k + 1 (the bias)."""
    col = np.empty((rows, kb), dtype=dt)
    if kb > k:
        col[:, k] = 1
    return col


def _conv_forward_pm(x, w, bias, padding, stride, dilation, ho, wo):
    """Pixel-major im2col convolution (groups == 1).

    Returns the NCHW output, the padded channels-last input ``xp`` (N, Hp, Wp, C) and the
    (O, K [+1]) weight matrix: each output channel's row holds its weights in (kh, kw, C) order,
    then its bias. For each block of images (:func:`_blocks`): the block's windows are copied into
    the (rows, K [+1]) column matrix, one product with the weight matrix's transpose gives the
    block's (rows, O) channels-last output, copied to its NCHW place. The column and product
    buffers are reused block after block.
    """
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    pt, pb, pl, pr = padding
    dt = x.dtype
    # our own channels-last copy of the input, zero-padded (its border only is zeroed)
    xp = np.empty((n, h + pt + pb, wd + pl + pr, c), dtype=dt)
    _zero_border(xp, padding)
    np.copyto(xp[:, pt : pt + h, pl : pl + wd, :], x.transpose(0, 2, 3, 1))
    k = c * kh * kw
    kb = k + 1 if bias else k
    # (O, K [+1]): row o holds output channel o's weights in (kh, kw, C) order, then its bias.
    # Built per output channel, a reordering within each channel's own contiguous weights: a
    # (K, O) matrix would need a whole-matrix transpose, 9 ms for a 512x512x3x3 weight.
    wm = np.empty((o, kb), dtype=dt)
    np.copyto(wm[:, :k].reshape(o, kh, kw, c), w.transpose(0, 2, 3, 1))
    if bias:
        wm[:, k] = bias[0]
    win = _pm_windows(xp, (kh, kw), stride, dilation, ho, wo)
    blocks = _blocks(n, ho * wo * kb * dt.itemsize)
    rows = (blocks[0][1] - blocks[0][0]) * ho * wo
    col = _pm_columns(rows, k, kb, dt)
    prod = np.empty((rows, o), dtype=dt)
    out = np.empty((n, o, ho, wo), dtype=dt)
    for b0, b1 in blocks:
        m = (b1 - b0) * ho * wo
        np.copyto(col[:m, :k].reshape(b1 - b0, ho, wo, kh, kw, c), win[b0:b1])
        np.matmul(col[:m], wm.T, out=prod[:m])
        np.copyto(out[b0:b1], prod[:m].reshape(b1 - b0, ho, wo, o).transpose(0, 3, 1, 2))
    return out, xp, wm


def _conv_backward_pm(g, w, xp, wm, geom, need_x, need_w, need_b):
    """Backward of :func:`_conv_forward_pm`, over the same blocks of images.

    Weight (and bias) gradient: the block's columns are rebuilt from the padded input ``xp``,
    the block's output gradient is copied channels-last, ``g_cl`` (rows, O), and their product is
    summed over the blocks: ``g_cl.T @ col`` (O, K [+1]) for large weights, so that reordering it
    into (O, C, kh, kw) stays within each output channel's row, and ``col.T @ g_cl`` (K [+1], O)
    for small ones (see ``_GW_BY_CHANNEL_MIN``). The bias gradient is the product's ones part.
    Input gradient: :class:`_GridInputGrad` for stride 1 on images its grid does not inflate much
    (``_GRID_MAX_WASTE``), else :func:`_input_grad_taps`, block by block.
    """
    (n, c, h, wd), padding, stride, dilation, _, ho, wo, _ = geom
    o, _, kh, kw = w.shape
    k = c * kh * kw
    kb = wm.shape[1]
    dt = wm.dtype
    gx = gw = gb = None
    if need_b and not need_w:
        gb = np.einsum("nchw->c", g)
    if not (need_x or need_w):
        return gx, gw, gb
    blocks = _blocks(n, ho * wo * kb * dt.itemsize)
    nb = blocks[0][1] - blocks[0][0]
    if need_w:
        win = _pm_windows(xp, (kh, kw), stride, dilation, ho, wo)
        col = _pm_columns(nb * ho * wo, k, kb, dt)
        g_cl = np.empty((nb * ho * wo, o), dtype=dt)
        by_channel = kb * o >= _GW_BY_CHANNEL_MIN
        gwb = np.empty((o, kb) if by_channel else (kb, o), dtype=dt)
        part = np.empty_like(gwb) if len(blocks) > 1 else gwb
    if need_x:
        gx = np.empty((n, c, h, wd), dtype=dt)
        pt, pb, pl, pr = padding
        grid_pixels = max(h + max(pt, pb), ho) * max(wd + max(pl, pr), wo)  # see _GridInputGrad
        use_grid = stride == (1, 1) and grid_pixels <= _GRID_MAX_WASTE * ho * wo
        if use_grid:
            grid = _GridInputGrad(nb, c, o, (h, wd), padding, (kh, kw), dilation, (ho, wo), dt)
        wt = wm[:, :k].T  # (K, O), rows in (kh, kw, C) order (a transposed view: BLAS reads it as is)
    for b0, b1 in blocks:
        g_block = g[b0:b1]
        if need_w:
            m = (b1 - b0) * ho * wo
            np.copyto(col[:m, :k].reshape(b1 - b0, ho, wo, kh, kw, c), win[b0:b1])
            np.copyto(g_cl[:m].reshape(b1 - b0, ho, wo, o), g_block.transpose(0, 2, 3, 1))
            target = gwb if b0 == 0 else part
            if by_channel:
                np.matmul(g_cl[:m].T, col[:m], out=target)
            else:
                np.matmul(col[:m].T, g_cl[:m], out=target)
            if b0 != 0:
                gwb += part
        if need_x:
            if use_grid:
                grid(g_block, wt, gx[b0:b1])
            else:
                _input_grad_taps(g_block, wt, padding, (kh, kw), stride, dilation, gx[b0:b1])
    if need_w:
        gw = np.empty(w.shape, dtype=dt)
        if by_channel:
            np.copyto(gw, gwb[:, :k].reshape(o, kh, kw, c).transpose(0, 3, 1, 2))
            if need_b:
                gb = gwb[:, k].copy()
        else:
            np.copyto(gw, gwb[:k].reshape(kh, kw, c, o).transpose(3, 2, 0, 1))
            if need_b:
                gb = gwb[k].copy()
    return gx, gw, gb


class _GridInputGrad:
    """The input gradient of a stride-1 convolution, col2im done as whole-array shifted adds.

    Input and output live on one channel-major grid ``(C, B, Hg, Wg)`` for a block of B images,
    flattened per channel: pixel (y, x) of image b is element ``b*Hg*Wg + y*Wg + x``. Output pixel
    (y, x) feeds padded input pixel (y + i*dh, x + j*dw) through kernel offset (i, j), which is
    the constant shift ``i*dh*Wg + j*dw`` on the grid. So, for each block:

    - the output gradient is copied onto the grid, ``(O, B*Hg*Wg)``, zero off the (Ho, Wo) corner
      (the zeros are written once, the buffer is reused);
    - one product with the (kh*kw*C, O) weight matrix gives the column gradient of every
      offset: ``(kh*kw, C, B*Hg*Wg)``;
    - col2im is one add of a whole ``(C, B*Hg*Wg)`` slab per offset, at its shift, into the
      padded input gradient: long contiguous rows, no strided windows;
    - the real input sits at rows [pt, pt+H) and columns [pl, pl+W) of each image's grid.

    The grid is smaller than the padded input: Wg = W + max(pl, pr) (and at least Wo). A padded
    column X >= Wg wraps to column X - Wg < min(pl, pr) of the next row, a padding column that is
    thrown away; rows wrap the same way into the next image's top padding, and past the last
    image into a tail. So no real pixel ever receives another's gradient.
    """

    def __init__(self, nb, c, o, hw, padding, kernel, dilation, out_hw, dt):
        (h, wd), (kh, kw), (dh, dw), (ho, wo) = hw, kernel, dilation, out_hw
        pt, pb, pl, pr = padding
        hg = max(h + max(pt, pb), ho)
        wg = max(wd + max(pl, pr), wo)
        self.geom = (c, o, h, wd, pt, pl, hg, wg, ho, wo)
        self.shifts = [i * dh * wg + j * dw for i in range(kh) for j in range(kw)]
        r = nb * hg * wg
        self.gg = np.empty((o, nb, hg, wg), dtype=dt)
        if hg > ho:
            self.gg[:, :, ho:] = 0
        if wg > wo:
            self.gg[:, :, :ho, wo:] = 0
        self.gcol = np.empty((kh * kw * c, r), dtype=dt)
        self.gxg = np.empty((c, r + self.shifts[-1]), dtype=dt)  # a tail for the last image's overflow

    def __call__(self, g, wt, out):
        """Write the input gradient of the NCHW output gradient ``g`` (B' <= B images) to ``out``."""
        c, o, h, wd, pt, pl, hg, wg, ho, wo = self.geom
        bn = g.shape[0]
        r = bn * hg * wg
        gg, gxg, shifts = self.gg, self.gxg, self.shifts
        np.copyto(gg[:, :bn, :ho, :wo], g.transpose(1, 0, 2, 3))
        gcol = self.gcol[:, :r]
        np.matmul(wt, gg.reshape(o, -1)[:, :r], out=gcol)
        gcol = gcol.reshape(len(shifts), c, r)
        gxg[:, r : r + shifts[-1]] = 0
        np.copyto(gxg[:, :r], gcol[0])  # shift 0 covers the grid: copy instead of zero + add
        for t in range(1, len(shifts)):
            view = gxg[:, shifts[t] : shifts[t] + r]
            view += gcol[t]
        np.copyto(out, gxg[:, :r].reshape(c, bn, hg, wg)[:, :, pt : pt + h, pl : pl + wd].transpose(1, 0, 2, 3))


def _input_grad_taps(g, wt, padding, kernel, stride, dilation, out):
    """The input gradient of a strided convolution for the NCHW output gradient ``g``, to ``out``.

    The column gradient one kernel offset at a time, ``(kh*kw, N*Ho*Wo, C)``, from the (K, O)
    weight matrix seen as kh*kw (C, O) blocks (BLAS reads them in place), then col2im: one
    strided add of a contiguous (N, Ho, Wo, C) slab per kernel offset into a padded
    channels-last buffer.
    """
    n, o, ho, wo = g.shape
    _, c, h, wd = out.shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    pt, pb, pl, pr = padding
    g_cl = np.ascontiguousarray(g.transpose(0, 2, 3, 1), dtype=wt.dtype).reshape(n * ho * wo, o)
    w_taps = wt.reshape(kh * kw, c, o).transpose(0, 2, 1)
    gcol = np.matmul(g_cl, w_taps).reshape(kh * kw, n, ho, wo, c)
    gxp = np.zeros((n, h + pt + pb, wd + pl + pr, c), dtype=gcol.dtype)
    for t, (rows, cols) in enumerate(_offsets(kh, kw, dh, dw, sh, sw, ho, wo)):
        view = gxp[:, rows, cols, :]
        view += gcol[t]
    np.copyto(out, gxp[:, pt : pt + h, pl : pl + wd, :].transpose(0, 3, 1, 2))


def _zero_border(xp: np.ndarray, padding: tuple[int, int, int, int]) -> None:
    """Zero the (top, bottom, left, right) border of a channels-last (N, H, W, C) buffer."""
    pt, pb, pl, pr = padding
    hp, wp = xp.shape[1], xp.shape[2]
    if pt:
        xp[:, :pt] = 0
    if pb:
        xp[:, hp - pb :] = 0
    if pl:
        xp[:, :, :pl] = 0
    if pr:
        xp[:, :, wp - pr :] = 0


def _conv_forward_cm(x, w, bias, padding, stride, dilation, groups, ho, wo):
    """Channel-major per-image im2col convolution: NCHW output and the (G, K [+1], N, Ho, Wo) columns."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    (sh, sw), (dh, dw) = stride, dilation
    xp = _padded(x, padding, 0)
    k = cg * kh * kw
    og = o // groups
    kb = k + 1 if bias else k
    s_n, s_c, s_h, s_w = xp.strides
    # every window of every image as a view, channel-major: (C, kh, kw, N, Ho, Wo)
    win = as_strided(xp, (c, kh, kw, n, ho, wo), (s_c, dh * s_h, dw * s_w, s_n, sh * s_h, sw * s_w))
    col = np.empty((groups, kb, n, ho, wo), dtype=x.dtype)
    np.copyto(col[:, :k].reshape(groups, cg, kh, kw, n, ho, wo), win.reshape(groups, cg, kh, kw, n, ho, wo))
    wmat = w.reshape(groups, og, k)
    if bias:
        col[:, k] = 1
        wmat = np.concatenate([wmat, bias[0].reshape(groups, og, 1)], axis=2)
    # one BLAS product per image, straight into NCHW order: (G, O/G, K) @ (N, G, K, Ho*Wo)
    out = np.matmul(wmat, col.reshape(groups, kb, n, ho * wo).transpose(2, 0, 1, 3))
    return out.reshape(n, o, ho, wo), col


def _conv_backward_cm(g, w, col, geom, need_x, need_w, need_b):
    (n, c, h, wd), padding, (sh, sw), (dh, dw), groups, ho, wo, _ = geom
    o, cg, kh, kw = w.shape
    og, k, npix = o // groups, cg * kh * kw, n * ho * wo
    gx = gw = gb = None
    g_cm = None
    if need_x or (need_w and k >= 64):
        # the output gradient channel-major, like the column matrix: (G, O/G, N*Ho*Wo)
        g_cm = np.ascontiguousarray(g.transpose(1, 0, 2, 3)).reshape(groups, og, npix)
    if need_w:
        kb = col.shape[1]
        if g_cm is not None:  # one long product over all pixels of the batch
            gwb = np.matmul(g_cm, col.reshape(groups, kb, npix).transpose(0, 2, 1))
        else:  # few columns (a first layer): per-image products beat one long thin one
            per_image = np.matmul(
                g.reshape(n, groups, og, ho * wo), col.reshape(groups, kb, n, ho * wo).transpose(2, 0, 3, 1)
            )
            gwb = per_image.sum(axis=0)
        # gwb is (G, O/G, K [+1]); the bias column (the row of ones) is the sum of the grads
        gw = np.ascontiguousarray(gwb[:, :, :k]).reshape(w.shape)
        if need_b:
            gb = gwb[:, :, k].reshape(o)
    elif need_b:
        gb = np.einsum("nchw->c", g)
    if need_x:
        gcol = np.matmul(w.reshape(groups, og, k).transpose(0, 2, 1), g_cm)  # (G, K, N*Ho*Wo)
        gcol = gcol.reshape(c, kh * kw, n, ho, wo)
        pt, pb, pl, pr = padding
        gxp = np.zeros((n, c, h + pt + pb, wd + pl + pr), dtype=gcol.dtype)
        # col2im: one strided add per kernel offset
        for t, (rows, cols) in enumerate(_offsets(kh, kw, dh, dw, sh, sw, ho, wo)):
            view = gxp[:, :, rows, cols]
            view += gcol[:, t].transpose(1, 0, 2, 3)
        gx = _crop(gxp, padding, h, wd)
    return gx, gw, gb


def _conv_padding(padding: Any, kernel: tuple[int, int], dilation: tuple[int, int], stride: tuple[int, int]) -> tuple[int, int, int, int]:
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise ValueError("conv2d: padding='same' is not supported for strided convolutions")
            # total padding d*(k-1); the odd one out goes to the bottom/right, like PyTorch
            th, tw = dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)
            return (th // 2, th - th // 2, tw // 2, tw - tw // 2)
        raise ValueError(f"conv2d: invalid padding string {padding!r}, expected 'valid' or 'same'")
    ph, pw = _pair(padding, "padding", "conv2d")
    if ph < 0 or pw < 0:
        raise ValueError(f"conv2d: negative padding is not supported, got {(ph, pw)}")
    return (ph, ph, pw, pw)


def conv2d(
    input: Any,  # noqa: A002
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Any:
    """2-D convolution over an NCHW (or unbatched CHW) input, like ``torch.nn.functional.conv2d``."""
    unbatched = _is_unbatched(input, "conv2d")
    if unbatched:
        input = input.unsqueeze(0)  # noqa: A001
    x, w = input._data, weight._data
    if w.ndim != 4:
        raise RuntimeError(f"conv2d: expected a 4-D weight (out_channels, in_channels/groups, kH, kW), got weight of size {_shape(w)}")
    if x.dtype != w.dtype or (bias is not None and bias._data.dtype != x.dtype):
        bdt = f", bias {bias.dtype}" if bias is not None else ""
        raise RuntimeError(f"conv2d: input ({input.dtype}), weight ({weight.dtype}){bdt} must have the same dtype")
    _check_float(input, "conv2d")
    o, cg, kh, kw = w.shape
    if groups < 1 or o % groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
            f"but got weight of size {_shape(w)} instead"
        )
    if x.shape[1] != cg * groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {_shape(w)}, expected input{_shape(x)} to have "
            f"{cg * groups} channels, but got {x.shape[1]} channels instead"
        )
    if bias is not None and bias._data.shape != (o,):
        raise RuntimeError(f"conv2d: expected bias of shape [{o}] for weight of size {_shape(w)}, got {_shape(bias._data)}")
    st = _pair(stride, "stride", "conv2d")
    dl = _pair(dilation, "dilation", "conv2d")
    if min(st) < 1 or min(dl) < 1:
        raise ValueError(f"conv2d: stride {st} and dilation {dl} must be positive")
    pads = _conv_padding(padding, (kh, kw), dl, st)
    hp, wp = x.shape[2] + pads[0] + pads[1], x.shape[3] + pads[2] + pads[3]
    eh, ew = dl[0] * (kh - 1) + 1, dl[1] * (kw - 1) + 1
    if hp < eh or wp < ew:
        raise RuntimeError(
            f"conv2d: calculated padded input size per channel: ({hp} x {wp}). Kernel size: "
            f"({eh} x {ew}). Kernel size can't be greater than actual input size "
            f"(input {_shape(x)}, weight {_shape(w)}, padding {pads[::2]}, dilation {dl})"
        )
    args = (input, weight) if bias is None else (input, weight, bias)
    out = Convolution.apply(*args, stride=st, padding=pads, dilation=dl, groups=groups)
    return out.squeeze(0) if unbatched else out


# ---- pooling ------------------------------------------------------------------------------------
def _pool_geometry(
    op: str, shape: tuple[int, ...], kernel: tuple[int, int], stride: tuple[int, int],
    padding: tuple[int, int], dilation: tuple[int, int], ceil_mode: bool,
) -> tuple[tuple[int, int, int, int], int, int]:
    """(top, bottom, left, right) padding and the output size of a pooling window sweep.

    In ceil mode the last window may start inside the right/bottom padding (never beyond it); the
    extra room it needs is added to the bottom/right padding.
    """
    pads = []
    outs = []
    for size, k, s, p, d in zip(shape[2:], kernel, stride, padding, dilation):
        eff = d * (k - 1) + 1
        if k < 1 or s < 1 or d < 1 or p < 0:
            raise ValueError(f"{op}: kernel_size, stride and dilation must be positive and padding >= 0, got kernel {kernel}, stride {stride}, padding {padding}, dilation {dilation}")
        if 2 * p > eff:
            raise RuntimeError(
                f"{op}: pad should be at most half of effective kernel size, but got pad={p}, "
                f"kernel_size={k} and dilation={d}"
            )
        span = size + 2 * p - eff
        out = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (out - 1) * s >= size + p:
            out -= 1  # the last window must start inside the input or the left padding
        if out < 1:  # (in ceil mode a kernel wider than the padded input still gives one window)
            raise RuntimeError(
                f"{op}: input of size {list(shape)} with padding {padding} is smaller than the "
                f"kernel {kernel} (dilation {dilation}): output size would be empty"
            )
        pads.append((p, max(p, (out - 1) * s + eff - size - p)))
        outs.append(out)
    return (pads[0][0], pads[0][1], pads[1][0], pads[1][1]), outs[0], outs[1]


# the 2x2 max-pool kernel reads pairs of float32 as one uint64, the left element in the low half
_LITTLE_ENDIAN = sys.byteorder == "little"


class MaxPool2D(Function):
    """Max over each window; the gradient goes to the first maximum of its window (row-major), or,
    in a window holding NaN (the maximum is then NaN), to its last NaN, as PyTorch's does."""

    once_differentiable = True
    display_name = "MaxPool2DWithIndicesBackward"

    @staticmethod
    def forward(ctx, x, kernel, stride, dilation, padding, out_size):
        ho, wo = out_size
        (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
        if (
            (kh, kw) == (sh, sw) and (kh == 1 or dh == 1) and (kw == 1 or dw == 1) and not any(padding)
            and x.shape[2] == ho * kh and x.shape[3] == wo * kw and x.flags.c_contiguous
        ):
            # the common case (e.g. 2x2 windows, stride 2): the windows tile the input
            # (a window holding NaN sends its gradient to the NaN: the general kernel below does that)
            if (kh, kw) == (2, 2) and ctx.needs_input_grad[0] and x.dtype == np.float32 and _LITTLE_ENDIAN:
                out, right, lower = _max_pool_2x2(x)
                if not _has_nan(out):
                    ctx.geom = ("2x2", x.shape, kernel)
                    ctx.save_for_backward(right, lower)
                    return out
            else:
                out, ih, iw = _tiled_max_pool(x, kh, kw, ctx.needs_input_grad[0])
                if ih is None:
                    return out
                if not _has_nan(out):
                    ctx.geom = ("tiled", x.shape, kernel)
                    ctx.save_for_backward(ih, iw)
                    return out
        xp = _padded(x, padding, -np.inf)
        taps = _offsets(*kernel, *dilation, *stride, ho, wo)
        if not ctx.needs_input_grad[0]:
            rows, cols = taps[0]
            out = xp[:, :, rows, cols].copy()
            for rows, cols in taps[1:]:
                np.maximum(out, xp[:, :, rows, cols], out=out)
            return out
        windows = [xp[:, :, rows, cols] for rows, cols in taps]
        out, idx = _max_and_first_argmax(windows)
        if _has_nan(out):
            _last_nan_wins(windows, idx)
        if any(padding) and out.size and np.fmin.reduce(out, axis=None) == -np.inf:
            _first_real_tap_wins(out, idx, x.shape[2:], kernel, stride, dilation, padding)
        disjoint = sh >= dh * (kh - 1) + 1 and sw >= dw * (kw - 1) + 1  # windows share no input
        # the windows cover the input exactly: every input position receives a gradient (maybe 0)
        covered = disjoint and not any(padding) and (kh == 1 or dh == 1) and (kw == 1 or dw == 1) \
            and ho * sh == xp.shape[2] and wo * sw == xp.shape[3] and sh == kh and sw == kw
        ctx.geom = (x.shape, xp.shape, padding, taps, disjoint, covered)
        ctx.save_for_backward(idx)
        return out

    @staticmethod
    def backward(ctx, grad):
        g = grad._data
        kind = ctx.geom[0]
        if kind == "2x2":
            right, lower = ctx.saved_arrays()
            return wrap(_max_pool_2x2_backward(g, right, lower, ctx.geom[1]))
        if kind == "tiled":  # the fast path's indices
            _, shape, (kh, kw) = ctx.geom
            ih, iw = ctx.saved_arrays()
            return wrap(_tiled_max_pool_backward(g, ih, iw, kh, kw, shape))
        shape, pshape, padding, taps, disjoint, covered = ctx.geom
        (idx,) = ctx.saved_arrays()
        gxp = np.empty(pshape, dtype=g.dtype) if covered else np.zeros(pshape, dtype=g.dtype)
        hit = np.empty(idx.shape, dtype=bool)
        hit8 = hit.view(np.uint8)  # multiplies in a vectorised loop (a bool operand is cast slowly)
        scratch = None if disjoint else np.empty(idx.shape, dtype=g.dtype)
        for t, (rows, cols) in enumerate(taps):
            view = gxp[:, :, rows, cols]
            np.equal(idx, t, out=hit)
            if disjoint:
                np.multiply(g, hit8, out=view)  # each input position belongs to one window at most
            else:
                np.multiply(g, hit8, out=scratch)
                view += scratch
        return wrap(_crop(gxp, padding, shape[2], shape[3]))


def _has_nan(a: np.ndarray) -> bool:
    """Whether ``a`` holds a NaN, from one cheap reduction (NumPy's maximum propagates NaN)."""
    return a.size > 0 and bool(np.isnan(np.maximum.reduce(a, axis=None)))


def _last_nan_wins(taps: list[np.ndarray], idx: np.ndarray) -> None:
    """Point ``idx`` at the last NaN tap of every window holding one: where PyTorch's max-pool
    sends the gradient of a NaN maximum (its scan replaces the maximum by every NaN it meets)."""
    for t, v in enumerate(taps):
        np.copyto(idx, t, casting="unsafe", where=np.isnan(v))


def _first_real_tap_wins(out, idx, hw, kernel, stride, dilation, padding) -> None:
    """Point ``idx`` of every window whose maximum is -inf at its first tap inside the input.

    The padding is -inf too, and ties go to the first tap, so such a window (every real element
    -inf) would pick a padding tap and its gradient would be lost; PyTorch's scan starts at the
    window's first element inside the input, which keeps the gradient there. A window with no
    element inside the input at all keeps its padding tap (its gradient goes nowhere).
    """
    (h, w), (kh, kw), (sh, sw), (dh, dw) = hw, kernel, stride, dilation
    pt, _, pl, _ = padding
    ho, wo = out.shape[2:]

    def first_inside(n_out: int, k: int, s: int, d: int, pad: int, size: int) -> np.ndarray:
        pos = np.arange(n_out)[:, None] * s + np.arange(k)[None, :] * d - pad  # input row of each tap
        inside = (pos >= 0) & (pos < size)
        return np.where(inside.any(axis=1), inside.argmax(axis=1), -1)

    rows = first_inside(ho, kh, sh, dh, pt, h)
    cols = first_inside(wo, kw, sw, dw, pl, w)
    tap = rows[:, None] * kw + cols[None, :]
    ok = (rows[:, None] >= 0) & (cols[None, :] >= 0)
    np.copyto(idx, tap.astype(idx.dtype), where=(out == -np.inf) & ok)


def _max_pool_2x2(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """2x2 max-pooling, stride 2, of a C-contiguous NCHW input the windows tile exactly, with
    what the backward needs to find each window's first maximum (row-major, as PyTorch).

    Seen flat, the input is a sequence of horizontal pairs (even, odd element); a window is two
    such pairs, one per window row, ``Wo`` pairs apart. The pair maximum ``mw`` and ``right``
    (the odd element strictly greater, so ties go left) are two long 1-D passes. The vertical
    step compares every pair-row with the next in one contiguous 1-D pass over ``mw`` shifted by
    one row, ``lower[r + Wo] = mw[r + Wo] > mw[r]``: for r a window's upper row, "the lower row
    is strictly greater" (ties go up). The entries for r a window's lower row compare two
    different windows and are never read. The maximum itself needs the windows' upper rows only
    (one 2-D pass). NaN propagates to the maximum; the comparisons are False with NaN, so the
    index would stay left/up, not on the NaN where PyTorch sends the gradient: a NaN in the
    output makes the forward use the general kernel instead.

    Returns the (N, C, Ho, Wo) output, ``right`` (N*C*H*Wo) and ``lower`` (N*C*H*Wo + Wo),
    both bool.
    """
    n, c, h, w = x.shape
    ho, wo = h // 2, w // 2
    m = n * c * ho
    n2 = 2 * m * wo  # the number of horizontal pairs
    flat = x.reshape(-1)
    left, rgt = flat[0::2], flat[1::2]
    right = np.greater(rgt, left)
    mw = np.maximum(left, rgt)
    lower = np.empty(n2 + wo, dtype=bool)  # lower[r + Wo] compares pair-rows r + 1 and r
    lower[:wo] = False
    lower[n2:] = False
    np.greater(mw[wo:], mw[:-wo], out=lower[wo:n2])
    rows = mw.reshape(m, 2, wo)
    out = np.maximum(rows[:, 0], rows[:, 1])
    return out.reshape(n, c, ho, wo), right, lower


_ODD_ROWS: dict[tuple[int, int], np.ndarray] = {}


def _odd_rows(m: int, wo: int) -> np.ndarray:
    """0xFF on the odd rows of an (m, 2, wo) uint8 array, 0 on the even rows (cached: constant)."""
    mask = _ODD_ROWS.get((m, wo))
    if mask is None:
        if len(_ODD_ROWS) >= 8:
            _ODD_ROWS.clear()
        mask = np.zeros((m, 2, wo), dtype=np.uint8)
        mask[:, 1] = 0xFF
        mask = mask.reshape(-1)
        mask.flags.writeable = False
        _ODD_ROWS[(m, wo)] = mask
    return mask


def _max_pool_2x2_backward(g: np.ndarray, right: np.ndarray, lower: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The gradient of :func:`_max_pool_2x2`: one pass writing every element of the input gradient.

    Each horizontal pair of the input gradient is one uint64 whose two 32-bit halves are the two
    float32 elements (little-endian: the left one is the low half). A window's gradient bits
    shifted left by 0 land on the left element, by 32 on the right one, and by 64 or more give 0
    (NumPy defines over-wide shifts as 0). So with ``shift = 64*lost + 32*right`` for each
    pair-row, where ``lost`` says the other row of the window holds its first maximum, the whole
    gradient is ``g << shift`` broadcast over the two rows of each window. Zeros are +0.0 and the
    gradient bits are moved, never multiplied, so an infinite or NaN gradient does not leak.
    """
    n, c, h, w = shape
    ho, wo = h // 2, w // 2
    m = n * c * ho
    n2 = 2 * m * wo
    lo = lower.view(np.uint8)
    here = lo[wo:]  # at a window's upper row: 1 if the lower row wins, i.e. this row lost
    above = lo[:n2]  # at a window's lower row: the same comparison, 1 if this row wins
    # lost = here on upper rows, 1 - above on lower rows: a select by the odd-row mask, in uint8
    shift = np.bitwise_xor(here, above)
    shift ^= 1
    shift &= _odd_rows(m, wo)
    shift ^= here
    shift *= 64
    shift += np.multiply(right.view(np.uint8).reshape(n2), 32, dtype=np.uint8)
    g = g.astype(np.float32, copy=False)
    gx = np.empty(shape, dtype=np.float32)
    np.left_shift(
        g.view(np.uint32).reshape(m, 1, wo), shift.reshape(m, 2, wo),
        out=gx.view(np.uint64).reshape(m, 2, wo), dtype=np.uint64,
    )
    return gx


def _tiled_max_pool(x: np.ndarray, kh: int, kw: int, with_index: bool) -> tuple[np.ndarray, Any, Any]:
    """Max-pooling with kh x kw windows and stride (kh, kw) over a C-contiguous NCHW input that the
    windows tile exactly: the output and, when ``with_index``, the argmax as two index arrays.

    Each window row's kw elements are consecutive in memory, so the maximum along W runs over
    long 1-D strided views of the whole input (``x.reshape(-1, kw)[:, j]``), not over short
    window-shaped slices; the maximum along H then compares whole rows of that result. Taking the
    first maximum within each row, then the first row holding the overall maximum, gives the first
    maximum of the window in row-major order, as PyTorch does. The indices are ``iw`` (the column
    of each window row's maximum, for every row of the input) and ``ih`` (the winning row).
    """
    n, c, h, w = x.shape
    ho, wo = h // kh, w // kw
    rows = x.reshape(n * c * h * wo, kw)
    if not with_index:
        mw = rows[:, 0].copy()
        for j in range(1, kw):
            np.maximum(mw, rows[:, j], out=mw)
        cols = mw.reshape(n * c * ho, kh, wo)
        out = cols[:, 0].copy()
        for i in range(1, kh):
            np.maximum(out, cols[:, i], out=out)
        return out.reshape(n, c, ho, wo), None, None
    mw, iw = _max_and_first_argmax([rows[:, j] for j in range(kw)])
    cols = mw.reshape(n * c * ho, kh, wo)
    out, ih = _max_and_first_argmax([cols[:, i] for i in range(kh)])
    return out.reshape(n, c, ho, wo), ih, iw


def _tiled_max_pool_backward(
    g: np.ndarray, ih: np.ndarray, iw: np.ndarray, kh: int, kw: int, shape: tuple[int, ...]
) -> np.ndarray:
    """The gradient of :func:`_tiled_max_pool`: back through the H step, then the W step."""
    n, c, h, w = shape
    ho, wo = h // kh, w // kw
    g2 = g.reshape(n * c * ho, wo)
    gy = np.empty((n * c * ho, kh, wo), dtype=g.dtype)  # the gradient of each window row's maximum
    hit = np.empty(ih.shape, dtype=bool)
    for i in range(kh):
        np.equal(ih, i, out=hit)
        np.multiply(g2, hit.view(np.uint8), out=gy[:, i])
    gx = np.empty((n * c * h * wo, kw), dtype=g.dtype)
    gyf = gy.reshape(-1)
    hit = np.empty(iw.shape, dtype=bool)
    for j in range(kw):
        np.equal(iw, j, out=hit)
        np.multiply(gyf, hit.view(np.uint8), out=gx[:, j])
    return gx.reshape(n, c, h, w)


def _max_and_first_argmax(taps: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The elementwise maximum of same-shape arrays and the index of the first one reaching it.

    A knockout tournament: neighbours are compared in pairs, then the winners' pairs, and so on.
    The right contender of a pair wins only when strictly greater, and every index on its side is
    larger, so ties go to the lower index (PyTorch's first maximum in row-major window order);
    NaN propagates to the maximum. Each tap is read by one comparison and one maximum, and the
    indices are small unsigned integers, so this takes about half the passes over memory of a
    running maximum with a running index.
    """
    itype = np.uint8 if len(taps) <= 256 else np.int32
    level: list[tuple[np.ndarray, Any]] = [(v, t) for t, v in enumerate(taps)]  # (values, index)
    while len(level) > 1:
        winners = []
        for i in range(0, len(level) - 1, 2):
            (a, ia), (b, ib) = level[i], level[i + 1]
            right = np.greater(b, a)
            right_i = right.view(np.uint8) if itype is np.uint8 else right.astype(itype)
            if isinstance(ia, int) and isinstance(ib, int):  # two single taps: ib == ia + 1
                idx = right_i if ia == 0 else np.add(right_i, ia, dtype=itype)
            else:  # ia + right * (ib - ia); every index on the right exceeds every one on the left
                idx = np.subtract(ib, ia, dtype=itype)
                idx *= right_i
                idx += ia
            winners.append((np.maximum(a, b), idx))
        if len(level) % 2:
            winners.append(level[-1])
        level = winners
    out, idx = level[0]
    if isinstance(idx, int):  # a single tap
        return np.array(out, order="C"), np.zeros(out.shape, dtype=itype)
    return np.ascontiguousarray(out), idx


class AvgPool2D(Function):
    """Mean over each window; ``divisor`` is a number or an (Ho, Wo) array of window sizes."""

    once_differentiable = True

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, out_size, divisor):
        ho, wo = out_size
        xp = _padded(x, padding, 0)
        taps = _offsets(*kernel, 1, 1, *stride, ho, wo)
        rows, cols = taps[0]
        out = xp[:, :, rows, cols].copy()
        for rows, cols in taps[1:]:
            out += xp[:, :, rows, cols]
        out /= divisor
        ctx.geom = (x.shape, xp.shape, padding, taps, divisor)
        return out

    @staticmethod
    def backward(ctx, grad):
        shape, pshape, padding, taps, divisor = ctx.geom
        g = grad._data / divisor
        gxp = np.zeros(pshape, dtype=g.dtype)
        for rows, cols in taps:
            view = gxp[:, :, rows, cols]
            view += g
        return wrap(_crop(gxp, padding, shape[2], shape[3]))


def _pool_args(op: str, input: Any, kernel_size: Any, stride: Any, padding: Any, dilation: Any = 1) -> tuple:  # noqa: A002
    _check_float(input, op)
    k = _pair(kernel_size, "kernel_size", op)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) else _pair(stride, "stride", op)
    return k, s, _pair(padding, "padding", op), _pair(dilation, "dilation", op)


def max_pool2d(
    input: Any,  # noqa: A002
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """2-D max pooling like ``torch.nn.functional.max_pool2d``; padding pads with -inf."""
    if return_indices:
        raise NotImplementedError("max_pool2d: return_indices=True is not supported")
    unbatched = _is_unbatched(input, "max_pool2d")
    if unbatched:
        input = input.unsqueeze(0)  # noqa: A001
    k, s, p, d = _pool_args("max_pool2d", input, kernel_size, stride, padding, dilation)
    pads, ho, wo = _pool_geometry("max_pool2d", input._data.shape, k, s, p, d, ceil_mode)
    out = MaxPool2D.apply(input, kernel=k, stride=s, dilation=d, padding=pads, out_size=(ho, wo))
    return out.squeeze(0) if unbatched else out


def _avg_divisor(
    shape: tuple[int, ...], kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int],
    out_hw: tuple[int, int], count_include_pad: bool, dtype: np.dtype,
) -> Any:
    """The window sizes PyTorch divides by: windows are clipped to input + padding (ceil mode),
    and also to the input itself when ``count_include_pad`` is False."""
    counts = []
    for size, k, s, p, o in zip(shape[2:], kernel, stride, padding, out_hw):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, size + p)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, size)
        counts.append((end - start).astype(dtype))
    div = np.multiply.outer(counts[0], counts[1])
    if np.all(div == div.flat[0]):
        return dtype.type(div.flat[0])  # one number: the common case, cheaper to divide by
    return div


def avg_pool2d(
    input: Any,  # noqa: A002
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Any:
    """2-D average pooling like ``torch.nn.functional.avg_pool2d`` (zero padding)."""
    unbatched = _is_unbatched(input, "avg_pool2d")
    if unbatched:
        input = input.unsqueeze(0)  # noqa: A001
    k, s, p, _ = _pool_args("avg_pool2d", input, kernel_size, stride, padding)
    shape = input._data.shape
    pads, ho, wo = _pool_geometry("avg_pool2d", shape, k, s, p, (1, 1), ceil_mode)
    dtype = input._data.dtype
    if divisor_override is not None:
        if divisor_override == 0:
            raise RuntimeError("avg_pool2d: divisor must be not zero")
        divisor = dtype.type(divisor_override)
    else:
        divisor = _avg_divisor(shape, k, s, p, (ho, wo), count_include_pad, dtype)
    out = AvgPool2D.apply(input, kernel=k, stride=s, padding=pads, out_size=(ho, wo), divisor=divisor)
    return out.squeeze(0) if unbatched else out


def _adaptive_matrix(size: int, out: int, dtype: np.dtype) -> np.ndarray:
    """(out, size) averaging matrix over PyTorch's windows [floor(i*size/out), ceil((i+1)*size/out))."""
    i = np.arange(out)
    start = (i * size) // out
    end = -((-(i + 1) * size) // out)
    pos = np.arange(size)
    inside = (pos >= start[:, None]) & (pos < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def adaptive_avg_pool2d(input: Any, output_size: Any) -> Any:  # noqa: A002
    """Average pooling to a fixed output size, like ``torch.nn.functional.adaptive_avg_pool2d``.

    Output (1, 1) is a mean; sizes that divide the input are a plain avg_pool2d; any other size
    averages over PyTorch's overlapping windows, written as two small matrix products (the
    windows are rectangles, so the average is separable), which keeps it twice differentiable.
    """
    unbatched = _is_unbatched(input, "adaptive_avg_pool2d")
    if unbatched:
        input = input.unsqueeze(0)  # noqa: A001
    _check_float(input, "adaptive_avg_pool2d")
    n, c, h, w = input._data.shape
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != 2:
            raise ValueError(f"adaptive_avg_pool2d: output_size must be an int or a pair, got {tuple(output_size)}")
        oh = h if output_size[0] is None else int(output_size[0])
        ow = w if output_size[1] is None else int(output_size[1])
    else:
        oh = ow = int(output_size)
    if oh < 1 or ow < 1:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be positive, got {(oh, ow)}")
    if h == 0 or w == 0:
        raise RuntimeError(f"adaptive_avg_pool2d: expected non-empty spatial dims, got input of size {[n, c, h, w]}")
    if (oh, ow) == (h, w):
        out = input
    elif (oh, ow) == (1, 1):
        out = input.mean((2, 3), keepdim=True)
    elif h % oh == 0 and w % ow == 0:
        out = avg_pool2d(input, (h // oh, w // ow))
    else:
        dt = input._data.dtype
        rows = wrap(_adaptive_matrix(h, oh, dt))  # (oh, H)
        cols = wrap(_adaptive_matrix(w, ow, dt).T)  # (W, ow)
        out = rows @ input @ cols
    return out.squeeze(0) if unbatched else out


# ---- batch normalisation ------------------------------------------------------------------------
class NativeBatchNorm(Function):
    """Training-mode batch norm over dims (0, 2, 3, ...) with the batch statistics, fused.

    Inputs: x (N, C, *), then the weight (C,) and the bias (C,) when ``affine`` says they are
    given. When ``running`` is (running_mean, running_var, momentum) the running buffers (Tensors)
    are updated in place with the batch mean and the *unbiased* batch variance, like PyTorch.
    """

    once_differentiable = True

    @staticmethod
    def forward(ctx, x, *params, affine, eps, running):
        n, c = x.shape[0], x.shape[1]
        x3 = x.reshape(n, c, -1)
        m = n * x3.shape[2]
        mean = np.einsum("ncl->c", x3) / m
        xhat = x3 - mean[:, None]
        var = np.einsum("ncl,ncl->c", xhat, xhat) / m  # biased: what normalises
        invstd = 1 / np.sqrt(var + eps)
        xhat *= invstd[:, None]
        has_w, has_b = affine
        w = params[0] if has_w else None
        b = params[-1] if has_b else None
        if w is not None:
            out = xhat * w[:, None]
            if b is not None:
                out += b[:, None]
        elif b is not None:
            out = xhat + b[:, None]
        else:
            out = xhat.copy() if ctx.needs_input_grad[0] else xhat
        if running is not None:
            rm, rv, momentum = running
            unbiased = var * (m / (m - 1))
            for buf, stat in ((rm, mean), (rv, unbiased)):
                if buf is not None:
                    arr = buf._data
                    arr *= 1 - momentum
                    arr += momentum * stat.astype(arr.dtype, copy=False)
                    buf._version.value += 1
        ctx.affine = affine
        ctx.save_for_backward(xhat, invstd, w)
        return out.reshape(x.shape)

    @staticmethod
    def backward(ctx, grad):
        xhat, invstd, w = ctx.saved_arrays()
        n, c, length = xhat.shape
        m = n * length
        g3 = grad._data.reshape(n, c, length)
        sum_g = np.einsum("ncl->c", g3)
        sum_gx = np.einsum("ncl,ncl->c", g3, xhat)
        needs = ctx.needs_input_grad
        grads: list[Any] = [None]
        if needs[0]:
            # d/dx of w*(x-mean)*invstd through mean and var: w*invstd*(g - mean(g) - xhat*mean(g*xhat))
            scale = invstd if w is None else w * invstd
            gx = xhat * (-sum_gx / m)[:, None]
            gx += g3
            gx -= (sum_g / m)[:, None]
            gx *= scale[:, None]
            grads[0] = wrap(gx.reshape(grad._data.shape))
        has_w, has_b = ctx.affine
        if has_w:
            grads.append(wrap(sum_gx) if needs[1] else None)
        if has_b:
            grads.append(wrap(sum_g) if needs[-1] else None)
        return tuple(grads) if len(grads) > 1 else grads[0]


def batch_norm(
    input: Any,  # noqa: A002
    running_mean: Any,
    running_var: Any,
    weight: Any = None,
    bias: Any = None,
    training: bool = False,
    momentum: float | None = 0.1,
    eps: float = 1e-5,
) -> Any:
    """Batch normalisation like ``torch.nn.functional.batch_norm`` (channels on dim 1).

    Training normalises with the batch mean and biased variance, and updates the running buffers
    (when given) with ``momentum`` and the unbiased variance; otherwise the running statistics
    are used.
    """
    x = input._data
    if x.ndim < 2:
        raise RuntimeError(f"batch_norm: expected an input of at least 2 dims (N, C, ...), got input of size {_shape(x)}")
    _check_float(input, "batch_norm")
    c = x.shape[1]
    for what, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)):
        if t is not None and t._data.shape != (c,):
            raise RuntimeError(
                f"batch_norm: {what} should contain {c} elements (the input's channels, input of "
                f"size {_shape(x)}), not {t._data.size} (shape {_shape(t._data)})"
            )
    if training:
        if x.size // c <= 1:
            raise ValueError(
                f"Expected more than 1 value per channel when training, got input size {_shape(x)}"
            )
        params = [t for t in (weight, bias) if t is not None]
        running = None
        if running_mean is not None or running_var is not None:
            running = (running_mean, running_var, 0.0 if momentum is None else momentum)
        return NativeBatchNorm.apply(
            input, *params, affine=(weight is not None, bias is not None), eps=eps, running=running
        )
    if running_mean is None or running_var is None:
        raise RuntimeError("batch_norm: running_mean and running_var must be given when training=False")
    # eval: a per-channel affine map, with Tensor ops (so it is differentiable any number of times)
    dt = x.dtype
    bshape = (1, c) + (1,) * (x.ndim - 2)
    invstd = (1 / np.sqrt(running_var._data + eps)).astype(dt, copy=False)
    rm = running_mean._data.astype(dt, copy=False)
    if weight is None:
        scale: Any = wrap(invstd)
        shift: Any = wrap(-rm * invstd)
    else:
        scale = weight * wrap(invstd)
        shift = scale * wrap(-rm)
    if bias is not None:
        shift = shift + bias
    return input * scale.reshape(bshape) + shift.reshape(bshape)


# ---- dropout ------------------------------------------------------------------------------------
def dropout2d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Any:  # noqa: A002
    """Zero whole channels with probability ``p`` (scaling the rest by 1/(1-p)) in training.

    Input (N, C, H, W); a 3-D input is taken as (N, C, L), as PyTorch does (with a warning).
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    x = input._data
    if x.ndim not in (3, 4):
        raise RuntimeError(f"dropout2d: expected a 3D (N, C, L) or 4D (N, C, H, W) input, got input of size {_shape(x)}")
    if x.ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
            "behavior is desired - input is interpreted as shape (N, C, L). Use dropout1d for 3D input.",
            stacklevel=2,
        )
    if not training or p == 0.0:
        return input
    mask_shape = x.shape[:2] + (1,) * (x.ndim - 2)
    if p == 1.0:
        mask = np.zeros(mask_shape, dtype=x.dtype)
    else:
        keep = default_generator().random(mask_shape) >= p
        mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - p))
    if inplace and not (grad_mode.enabled and input.requires_grad):
        x *= mask
        input._version.value += 1
        return input
    return input * wrap(mask)
