"""The tuned conv2d kernels: im2col + BLAS on NCHW arrays, arrays in and arrays out.

The textbook version of the same op is ``tinygrad_ko.ops.conv.Conv2d``; this module computes the
same values and gradients faster:

- two layouts of the column matrix: pixel-major (channels-last) for most convolutions, and
  channel-major per image for grouped ones and few columns on large images (a first layer);
- no column matrix at all for a 1x1 convolution without padding on images that are not tiny
  (ResNet's Bottleneck and shortcut convs): one product per image, straight on the NCHW arrays;
- the pixel-major kernels run over blocks of images sized for the CPU cache (``_BLOCK_BYTES``);
- kernel rows or columns that only ever meet padding (a 3x3 kernel on a 1x1 map) are dropped;
- the input gradient's col2im is either whole-array shifted adds on a grid (stride 1) or one
  strided add per kernel offset.

The only Python loops are over kernel offsets and a few blocks of images, never over pixels,
single images or channels. :func:`conv2d_forward` returns the output, the arrays the backward
needs and a tuple of plain values; :func:`conv2d_backward` takes them back.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ._windows import crop, offsets, padded

__all__ = ["conv2d_forward", "conv2d_backward"]

Pads = tuple[int, int, int, int]  # (top, bottom, left, right)
Pair = tuple[int, int]


class ConvGeometry(NamedTuple):
    """What :func:`conv2d_backward` needs besides arrays; ``padding`` is the live kernel's."""

    x_shape: tuple[int, ...]
    padding: Pads
    stride: Pair
    dilation: Pair
    groups: int
    ho: int
    wo: int
    pixel_major: bool
    # ((i0, i1, j0, j1), padding) when only w[:, :, i0:i1, j0:j1] meets the input (_live_kernel)
    live: tuple[tuple[int, int, int, int], Pads] | None
    direct: bool = False  # a 1x1 convolution as plain products (_conv1x1_forward)


def conv2d_forward(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None,
    stride: Pair,
    padding: Pads,
    dilation: Pair,
    groups: int,
    keep_for_weight_grad: bool = True,
) -> tuple[np.ndarray, tuple[Any, ...], ConvGeometry]:
    """2-D cross-correlation of x (N, C, H, W) with w (O, C // groups, kh, kw), plus ``bias`` (O,).

    Returns ``(out, saved, geom)``: ``saved`` holds the arrays :func:`conv2d_backward` needs
    (the weight, then the padded input or the column matrix -- None unless
    ``keep_for_weight_grad`` -- then the weight matrix), ``geom`` the plain values.
    """
    o, cg, kh, kw = w.shape
    sh, sw = stride
    dh, dw = dilation
    pt, pb, pl, pr = padding
    n, c, h, wd = x.shape
    hp, wp = h + pt + pb, wd + pl + pr
    ho = (hp - dh * (kh - 1) - 1) // sh + 1
    wo = (wp - dw * (kw - 1) - 1) // sw + 1
    k = cg * kh * kw
    bias_args = () if bias is None else (bias,)
    if (kh, kw) == (1, 1) and groups == 1 and padding == (0, 0, 0, 0) and ho * wo >= _DIRECT_1X1_MIN_PIXELS:
        geom = ConvGeometry(x.shape, padding, stride, dilation, groups, ho, wo, False, None, True)
        out, xs = _conv1x1_forward(x, w, bias_args, stride)
        return out, (w, xs if keep_for_weight_grad else None, None), geom
    pixel_major = groups == 1 and (k >= _PIXEL_MAJOR_MIN_K or ho * wo < _PER_IMAGE_MIN_PIXELS)
    # kernel rows/columns that only ever meet padding (e.g. a 3x3 kernel on a 1x1 image) are
    # dropped: the same convolution by the live part of the kernel, with less padding
    live = None
    if pixel_major and dilation == (1, 1):
        live = _live_kernel((kh, kw), padding, stride, (h, wd), (ho, wo))
    geom = ConvGeometry(
        x.shape, padding if live is None else live[1], stride, dilation, groups, ho, wo, pixel_major, live
    )
    if pixel_major:
        # the padded input is needed only for the weight's gradient (the columns are rebuilt
        # from it); the small weight matrix always (its last column is the bias, if any)
        w_live = w if live is None else w[:, :, live[0][0] : live[0][1], live[0][2] : live[0][3]]
        out, xp, wm = _conv_forward_pm(x, w_live, bias_args, geom[1], stride, dilation, ho, wo)
        return out, (w, xp if keep_for_weight_grad else None, wm), geom
    # the column matrix is needed only for the weight's gradient
    out, col = _conv_forward_cm(x, w, bias_args, padding, stride, dilation, groups, ho, wo)
    return out, (w, col if keep_for_weight_grad else None, None), geom


def conv2d_backward(
    grad: np.ndarray, saved: tuple[Any, ...], geom: ConvGeometry, need_x: bool, need_w: bool, need_b: bool
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """The gradients (input, weight, bias) of :func:`conv2d_forward`, None where not needed."""
    # cols: the padded input (pixel-major) or the column matrix (channel-major)
    w, cols, wm = saved
    live = geom.live
    if geom.direct:
        return _conv1x1_backward(grad, w, cols, geom, need_x, need_w, need_b)
    if not geom.pixel_major:
        return _conv_backward_cm(grad, w, cols, geom, need_x, need_w, need_b)
    if live is None:
        return _conv_backward_pm(grad, w, cols, wm, geom, need_x, need_w, need_b)
    i0, i1, j0, j1 = live[0]
    gx, gw_live, gb = _conv_backward_pm(grad, w[:, :, i0:i1, j0:j1], cols, wm, geom, need_x, need_w, need_b)
    gw = None
    if gw_live is not None:  # the dropped taps only ever multiplied padding: zero
        gw = np.zeros(w.shape, dtype=gw_live.dtype)
        gw[:, :, i0:i1, j0:j1] = gw_live
    return gx, gw, gb


# A 1x1 convolution without padding whose output has at least this many pixels per image runs as
# one (O, C) @ (C, Ho*Wo) product per image on the NCHW arrays (no column matrix, no layout
# copies). Measured on ResNet-50's 1x1 convs, one thread: 56x56 and 28x28 maps 1.4-2.7x faster
# forward than pixel-major, 7x7 about even; a 4x4 map (batch 32) 1.3x slower, so small maps stay.
_DIRECT_1X1_MIN_PIXELS = 49

# A convolution with at least this many columns (C/groups * kh * kw) per output pixel, or with small
# images, runs pixel-major (channels-last); below it, with large images, channel-major per image.
_PIXEL_MAJOR_MIN_K = 32
_PER_IMAGE_MIN_PIXELS = 256

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
        i
        for i in range(k)
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


def _conv1x1_forward(x, w, bias, stride):
    """A 1x1 convolution without padding: ``out[n] = W @ x[n]`` with W the (O, C) weight and
    x[n] the image's (C, Ho*Wo) pixels (every stride-th row and column; a copy only when strided).

    Returns the NCHW output and the input the weight's gradient needs: ``x`` itself when it is
    already those pixels (so autograd still sees in-place changes to it), else their copy.
    """
    n, c = x.shape[:2]
    o = w.shape[0]
    sh, sw = stride
    if (sh, sw) == (1, 1) and x.flags.c_contiguous:
        kept = x
    else:
        kept = np.ascontiguousarray(x[:, :, ::sh, ::sw])
    ho, wo = kept.shape[2:]
    out = np.matmul(w.reshape(o, c), kept.reshape(n, c, ho * wo))
    if bias:
        out += bias[0].reshape(o, 1)
    return out.reshape(n, o, ho, wo), kept


def _conv1x1_backward(g, w, kept, geom, need_x, need_w, need_b):
    """Backward of :func:`_conv1x1_forward`: ``gx[n] = W.T @ g[n]`` (scattered back to every
    stride-th pixel), ``gW = sum_n g[n] @ x[n].T`` as one product over all images' pixels."""
    (n, c, h, wd), (sh, sw), ho, wo = geom.x_shape, geom.stride, geom.ho, geom.wo
    o = w.shape[0]
    gr = g.reshape(n, o, ho * wo)
    gx = gw = gb = None
    if need_x:
        gxs = np.matmul(w.reshape(o, c).T, gr).reshape(n, c, ho, wo)
        if (sh, sw) == (1, 1):
            gx = gxs
        else:
            gx = np.zeros((n, c, h, wd), dtype=gxs.dtype)
            gx[:, :, ::sh, ::sw] = gxs
    if need_w:
        gw = np.tensordot(gr, kept.reshape(n, c, ho * wo), axes=([0, 2], [0, 2])).reshape(w.shape)
    if need_b:
        gb = np.einsum("nop->o", gr)
    return gx, gw, gb


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
    (n, c, h, wd), padding, stride, dilation, _, ho, wo = geom[:7]
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
    for t, (rows, cols) in enumerate(offsets(kh, kw, dh, dw, sh, sw, ho, wo)):
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
    xp = padded(x, padding, 0)
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
    (n, c, h, wd), padding, (sh, sw), (dh, dw), groups, ho, wo = geom[:7]
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
        for t, (rows, cols) in enumerate(offsets(kh, kw, dh, dw, sh, sw, ho, wo)):
            view = gxp[:, :, rows, cols]
            view += gcol[:, t].transpose(1, 0, 2, 3)
        gx = crop(gxp, padding, h, wd)
    return gx, gw, gb
