"""The transposed convolution's forward (conv2d's input gradient) on NCHW arrays.

The op is ``tinygrad_ko.ops.conv_transpose.ConvTranspose2d``; this computes its output:

- one BLAS product per group gives every input pixel's patch, channel-major:
  ``(kh*kw*O/G, C/G) @ (C/G, N*H*W)``, the weight reordered once so BLAS reads it contiguously
  (a transposed view of it made the product twice as slow);
- col2im is one strided add of a contiguous (O, N, H, W) slab per kernel tap into a
  channel-major padded image;
- one copy crops the padding and transposes to NCHW, adding the bias on the way.
"""

from __future__ import annotations

import numpy as np

from ._windows import offsets

__all__ = ["conv_transpose2d_forward"]

Pair = tuple[int, int]


def conv_transpose2d_forward(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None,
    stride: Pair,
    padding: Pair,
    dilation: Pair,
    groups: int,
    out_hw: Pair,
) -> np.ndarray:
    """Transposed convolution of x (N, C, H, W) with w (C, O/G, kh, kw), plus ``bias`` (O,),
    cropped by ``padding`` on each side to ``out_hw`` (which includes any output padding)."""
    n, c, h, wd = x.shape
    _, og, kh, kw = w.shape
    cg = c // groups
    (sh, sw), (ph, pw), (dh, dw), (ho, wo) = stride, padding, dilation, out_hw
    x_cm = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).reshape(groups, cg, n * h * wd)
    w_taps = np.ascontiguousarray(w.reshape(groups, cg, og, kh, kw).transpose(0, 3, 4, 2, 1))
    patches = np.matmul(w_taps.reshape(groups, kh * kw * og, cg), x_cm)
    patches = patches.reshape(groups, kh * kw, og, n, h, wd)
    image = np.zeros((groups, og, n, ho + 2 * ph, wo + 2 * pw), dtype=patches.dtype)
    for t, (rows, cols) in enumerate(offsets(kh, kw, dh, dw, sh, sw, h, wd)):
        view = image[:, :, :, rows, cols]
        view += patches[:, t]
    cropped = image.reshape(groups * og, n, ho + 2 * ph, wo + 2 * pw)[:, :, ph : ph + ho, pw : pw + wo]
    out = np.empty((n, groups * og, ho, wo), dtype=patches.dtype)
    if bias is None:
        np.copyto(out, cropped.transpose(1, 0, 2, 3))
    else:
        np.add(cropped.transpose(1, 0, 2, 3), bias.reshape(1, -1, 1, 1), out=out)
    return out
