"""Window geometry shared by the conv and pool kernels: strided tap slices, padding, cropping."""

from __future__ import annotations

import numpy as np


def offsets(kh: int, kw: int, dh: int, dw: int, sh: int, sw: int, ho: int, wo: int) -> list[tuple[slice, slice]]:
    """For each kernel offset (i, j), the strided slices that pick that tap of every window."""
    return [
        (slice(i * dh, i * dh + sh * (ho - 1) + 1, sh), slice(j * dw, j * dw + sw * (wo - 1) + 1, sw))
        for i in range(kh)
        for j in range(kw)
    ]


def padded(x: np.ndarray, pads: tuple[int, int, int, int], value: float) -> np.ndarray:
    """``x`` with (top, bottom, left, right) padding filled with ``value`` (no copy when all zero)."""
    pt, pb, pl, pr = pads
    if not (pt or pb or pl or pr):
        return x
    n, c, h, w = x.shape
    xp = np.full((n, c, h + pt + pb, w + pl + pr), value, dtype=x.dtype)
    xp[:, :, pt : pt + h, pl : pl + w] = x
    return xp


def crop(xp: np.ndarray, pads: tuple[int, int, int, int], h: int, w: int) -> np.ndarray:
    pt, _, pl, _ = pads
    if xp.shape[2] == h and xp.shape[3] == w:
        return xp
    return xp[:, :, pt : pt + h, pl : pl + w]
