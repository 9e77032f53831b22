"""The tuned pooling kernels on NCHW arrays: max pool and average pool, arrays in and arrays out.

The textbook versions are ``tinygrad_ko.ops.conv.MaxPool2d`` and ``AvgPool2d``; these compute
the same values and gradients faster. Every loop is over kernel offsets: each offset is one
strided slice of the input covering every window at once. Max pooling has three paths:

- 2x2 windows with stride 2 tiling a float32 input: a forward of long 1-D passes and a
  single-pass backward that moves the gradient's bits into place (:func:`_max_pool_2x2`);
- other windows tiling the input: per-axis maxima over long strided views (:func:`_tiled_max_pool`);
- the general kernel (padding, overlap, dilation, and any window holding NaN): a knockout
  tournament over the taps for the first maximum, then PyTorch's NaN and -inf rules.

:func:`max_pool2d_forward` and :func:`avg_pool2d_forward` return the output, the arrays the
backward needs and a tuple of plain values; the ``*_backward`` functions take them back.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from ._windows import crop, offsets, padded

__all__ = ["max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward", "avg_pool2d_backward"]

Pads = tuple[int, int, int, int]  # (top, bottom, left, right)
Pair = tuple[int, int]


def max_pool2d_forward(
    x: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair, padding: Pads, out_size: Pair, need_grad: bool
) -> tuple[np.ndarray, tuple[np.ndarray, ...], tuple[Any, ...]]:
    """Max over each window of x (N, C, H, W), ``padding`` filled with -inf.

    Returns ``(out, saved, geom)`` for :func:`max_pool2d_backward` (both empty when not
    ``need_grad``). The gradient goes to the first maximum of its window (row-major), or, in a
    window holding NaN (the maximum is then NaN), to its last NaN, as PyTorch's does.
    """
    ho, wo = out_size
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    if (
        (kh, kw) == (sh, sw)
        and (kh == 1 or dh == 1)
        and (kw == 1 or dw == 1)
        and not any(padding)
        and x.shape[2] == ho * kh
        and x.shape[3] == wo * kw
        and x.flags.c_contiguous
    ):
        # the common case (e.g. 2x2 windows, stride 2): the windows tile the input
        # (a window holding NaN sends its gradient to the NaN: the general kernel below does that)
        if (kh, kw) == (2, 2) and need_grad and x.dtype == np.float32 and _LITTLE_ENDIAN:
            out, right, lower = _max_pool_2x2(x)
            if not _has_nan(out):
                return out, (right, lower), ("2x2", x.shape, kernel)
        else:
            out, ih, iw = _tiled_max_pool(x, kh, kw, need_grad)
            if ih is None:
                return out, (), ()
            if not _has_nan(out):
                return out, (ih, iw), ("tiled", x.shape, kernel)
    xp = padded(x, padding, -np.inf)
    taps = offsets(*kernel, *dilation, *stride, ho, wo)
    if not need_grad:
        rows, cols = taps[0]
        out = xp[:, :, rows, cols].copy()
        for rows, cols in taps[1:]:
            np.maximum(out, xp[:, :, rows, cols], out=out)
        return out, (), ()
    windows = [xp[:, :, rows, cols] for rows, cols in taps]
    out, idx = _max_and_first_argmax(windows)
    if _has_nan(out):
        _last_nan_wins(windows, idx)
    if any(padding) and out.size and np.fmin.reduce(out, axis=None) == -np.inf:
        _first_real_tap_wins(out, idx, x.shape[2:], kernel, stride, dilation, padding)
    disjoint = sh >= dh * (kh - 1) + 1 and sw >= dw * (kw - 1) + 1  # windows share no input
    # the windows cover the input exactly: every input position receives a gradient (maybe 0)
    covered = (
        disjoint
        and not any(padding)
        and (kh == 1 or dh == 1)
        and (kw == 1 or dw == 1)
        and ho * sh == xp.shape[2]
        and wo * sw == xp.shape[3]
        and sh == kh
        and sw == kw
    )
    return out, (idx,), ("general", x.shape, xp.shape, padding, taps, disjoint, covered)


def max_pool2d_backward(grad: np.ndarray, saved: tuple[np.ndarray, ...], geom: tuple[Any, ...]) -> np.ndarray:
    """The input gradient of :func:`max_pool2d_forward` for the output gradient ``grad``."""
    g = grad
    kind = geom[0]
    if kind == "2x2":
        right, lower = saved
        return _max_pool_2x2_backward(g, right, lower, geom[1])
    if kind == "tiled":  # the fast path's indices
        _, shape, (kh, kw) = geom
        ih, iw = saved
        return _tiled_max_pool_backward(g, ih, iw, kh, kw, shape)
    _, shape, pshape, padding, taps, disjoint, covered = geom
    (idx,) = saved
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
    return crop(gxp, padding, shape[2], shape[3])


def avg_pool2d_forward(
    x: np.ndarray, kernel: Pair, stride: Pair, padding: Pads, out_size: Pair, divisor: Any
) -> tuple[np.ndarray, tuple[Any, ...]]:
    """Sum over each window of x, zero-padded, divided by ``divisor`` (a number or an (Ho, Wo)
    array of window sizes). Returns the output and the geometry for :func:`avg_pool2d_backward`."""
    ho, wo = out_size
    xp = padded(x, padding, 0)
    taps = offsets(*kernel, 1, 1, *stride, ho, wo)
    rows, cols = taps[0]
    out = xp[:, :, rows, cols].copy()
    for rows, cols in taps[1:]:
        out += xp[:, :, rows, cols]
    out /= divisor
    return out, (x.shape, xp.shape, padding, taps, divisor)


def avg_pool2d_backward(grad: np.ndarray, geom: tuple[Any, ...]) -> np.ndarray:
    """The input gradient of :func:`avg_pool2d_forward`: each window's share, added back."""
    shape, pshape, padding, taps, divisor = geom
    g = grad / divisor
    gxp = np.zeros(pshape, dtype=g.dtype)
    for rows, cols in taps:
        view = gxp[:, :, rows, cols]
        view += g
    return crop(gxp, padding, shape[2], shape[3])


# the 2x2 max-pool kernel reads pairs of float32 as one uint64, the left element in the low half
_LITTLE_ENDIAN = sys.byteorder == "little"


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
        g.view(np.uint32).reshape(m, 1, wo),
        shift.reshape(m, 2, wo),
        out=gx.view(np.uint64).reshape(m, 2, wo),
        dtype=np.uint64,
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
