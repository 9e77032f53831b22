"""Vector p-norms, ``||x||_p = (sum |x_i|**p) ** (1/p)``, over some dims.

The gradient is ``sign(x) * |x|**(p-1) / ||x||**(p-1)``: ``x / ||x||`` for p = 2, ``sign(x)``
for p = 1, the sign at the largest |x_i| (shared among ties) for p = inf, zero for p = 0 (a
count). Where that quotient is 0/0 -- the 2-norm of the zero vector -- the gradient is 0, the
subgradient PyTorch picks, not NaN: the division goes through a safe denominator and a
``Where`` that keeps NaN out of double backward as well.
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd.function import Function
from ..tensor import wrap
from .elementwise import Where


def vector_norm_array(a: np.ndarray, ord: float, axes: tuple[int, ...] | None, keepdim: bool) -> np.ndarray:
    if ord == 2:
        return np.sqrt(np.sum(a * a, axis=axes, keepdims=keepdim))
    absa = np.abs(a)
    if ord == 1:
        return np.sum(absa, axis=axes, keepdims=keepdim)
    if ord == math.inf:
        return np.max(absa, axis=axes, keepdims=keepdim)
    if ord == -math.inf:
        return np.min(absa, axis=axes, keepdims=keepdim)
    if ord == 0:
        return np.sum(absa != 0, axis=axes, keepdims=keepdim).astype(a.dtype)
    with np.errstate(divide="ignore", over="ignore"):  # a negative p at a zero: 0**p = inf, and the norm 0
        return np.sum(absa**ord, axis=axes, keepdims=keepdim) ** (1.0 / ord)


class VectorNorm(Function):
    @staticmethod
    def forward(ctx, a, ord, axes, keepdim):
        ctx.ord, ctx.axes = ord, axes
        out = np.asarray(vector_norm_array(a, ord, axes, keepdim))
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        x = a._data
        kshape = tuple(1 if ctx.axes is None or d in ctx.axes else n for d, n in enumerate(x.shape))
        g = grad.reshape(*kshape)
        norm = out.reshape(*kshape)
        p = ctx.ord
        if p == 0:
            return wrap(np.zeros(x.shape, dtype=x.dtype))
        if p == 1:
            return g * wrap(np.sign(x))
        if p in (math.inf, -math.inf):
            # the gradient goes to the elements that attain the max (min) |x|, shared evenly
            hit = np.abs(x) == norm._data
            share = hit / np.sum(hit, axis=ctx.axes, keepdims=True)
            return g * wrap((np.sign(x) * share).astype(x.dtype, copy=False))
        one = wrap(np.ones((), dtype=x.dtype))
        zero_norm = norm._data == 0
        safe_norm = Where.apply(one, norm, cond=zero_norm) if zero_norm.any() else norm
        if p == 2:
            return g * a / safe_norm  # where the norm is 0, x is 0 too: the gradient is 0
        # sign(x) |x|**(p-1) ||x||**(1-p), set to 0 where x = 0 or the norm is 0 (p < 1 at a zero)
        zero = (x == 0) | zero_norm
        safe_abs = Where.apply(one, a.abs(), cond=zero) if zero.any() else a.abs()
        slope = wrap(np.sign(x)) * safe_abs ** (p - 1) * safe_norm ** (1 - p)
        if zero.any():
            slope = Where.apply(wrap(np.zeros((), dtype=x.dtype)), slope, cond=zero)
        return g * slope
