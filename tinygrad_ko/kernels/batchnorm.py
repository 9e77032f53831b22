"""The fused training-mode batch-norm kernels on arrays: one pass for the statistics, one for the
gradient through them.

The textbook version is ``tinygrad_ko.ops.conv.batch_norm_train``, a composition of Tensor ops
(mean, variance, normalise). Here the forward computes the batch mean and biased variance over
dims (0, 2, 3, ...) with two ``einsum`` reductions, and the backward differentiates through the
statistics in closed form: ``w * invstd * (g - mean(g) - xhat * mean(g * xhat))``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["batch_norm_forward", "batch_norm_backward"]


def batch_norm_forward(
    x: np.ndarray, weight: np.ndarray | None, bias: np.ndarray | None, eps: float, copy_normalised: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Normalise x (N, C, *) per channel with its batch statistics, then scale and shift.

    Returns ``(out, mean, var, xhat, invstd)``: the output, the batch mean and *biased* variance
    (C,), and what :func:`batch_norm_backward` needs, ``xhat`` (N, C, L) and 1/sqrt(var + eps).
    Without weight and bias the output is ``xhat`` itself unless ``copy_normalised``.
    """
    n, c = x.shape[0], x.shape[1]
    x3 = x.reshape(n, c, -1)
    m = n * x3.shape[2]
    mean = np.einsum("ncl->c", x3) / m
    xhat = x3 - mean[:, None]
    var = np.einsum("ncl,ncl->c", xhat, xhat) / m  # biased: what normalises
    invstd = 1 / np.sqrt(var + eps)
    xhat *= invstd[:, None]
    if weight is not None:
        out = xhat * weight[:, None]
        if bias is not None:
            out += bias[:, None]
    elif bias is not None:
        out = xhat + bias[:, None]
    else:
        out = xhat.copy() if copy_normalised else xhat
    return out.reshape(x.shape), mean, var, xhat, invstd


def batch_norm_backward(
    grad: np.ndarray, xhat: np.ndarray, invstd: np.ndarray, weight: np.ndarray | None, need_x: bool
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """The gradients (input or None, weight, bias) of :func:`batch_norm_forward`."""
    n, c, length = xhat.shape
    m = n * length
    g3 = grad.reshape(n, c, length)
    sum_g = np.einsum("ncl->c", g3)
    sum_gx = np.einsum("ncl,ncl->c", g3, xhat)
    gx = None
    if need_x:
        # d/dx of w*(x-mean)*invstd through mean and var: w*invstd*(g - mean(g) - xhat*mean(g*xhat))
        scale = invstd if weight is None else weight * invstd
        gx = xhat * (-sum_gx / m)[:, None]
        gx += g3
        gx -= (sum_g / m)[:, None]
        gx *= scale[:, None]
        gx = gx.reshape(grad.shape)
    return gx, sum_gx, sum_g
