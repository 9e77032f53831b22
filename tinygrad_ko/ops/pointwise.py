"""More elementwise ops: rounding (floor, ceil, trunc, round, frac) and the rest of the
exp/log family (log2, exp2, log1p, expm1, tan).

Rounding is a step function: flat between the steps, so its gradient is zero (PyTorch's choice at
the steps too), while ``frac = x - trunc(x)`` has slope one. The log/exp variants follow the
chain rule of elementwise.py: ``d log2(x) = 1 / (x ln 2)``, ``d 2**x = 2**x ln 2``,
``d log1p(x) = 1 / (1 + x)``, ``d expm1(x) = expm1(x) + 1``, ``d tan(x) = 1 + tan(x)**2``.
``log1p``/``expm1`` exist because ``log(1 + x)``/``exp(x) - 1`` lose every digit of a tiny x.
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd.function import Function
from ..tensor import wrap

LN2 = math.log(2.0)


def zero_grad(ctx, grad):
    """The backward of a piecewise-constant op: zero everywhere (a constant: double backward is zero too)."""
    return wrap(np.zeros(grad._data.shape, dtype=grad._data.dtype))


class Floor(Function):
    @staticmethod
    def forward(ctx, a):
        return np.floor(a)

    backward = staticmethod(zero_grad)


class Ceil(Function):
    @staticmethod
    def forward(ctx, a):
        return np.ceil(a)

    backward = staticmethod(zero_grad)


class Trunc(Function):
    @staticmethod
    def forward(ctx, a):
        return np.trunc(a)

    backward = staticmethod(zero_grad)


class Round(Function):
    """Round half to even (``round(2.5) == 2``), like PyTorch; ``decimals`` rounds to a multiple of 10**-decimals."""

    @staticmethod
    def forward(ctx, a, decimals):
        return np.round(a, decimals)

    backward = staticmethod(zero_grad)


class Frac(Function):
    """x - trunc(x): the fractional part, with the sign of x; slope one."""

    @staticmethod
    def forward(ctx, a):
        return a - np.trunc(a)

    @staticmethod
    def backward(ctx, grad):
        return grad


class Log2(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        with np.errstate(divide="ignore", invalid="ignore"):  # log2(0) = -inf, log2(-1) = nan, silently
            return np.log2(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / (a * LN2)


class Exp2(Function):
    @staticmethod
    def forward(ctx, a):
        with np.errstate(over="ignore"):
            out = np.exp2(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out * LN2


class Log1p(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log1p(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / (a + 1.0)


class Expm1(Function):
    @staticmethod
    def forward(ctx, a):
        with np.errstate(over="ignore"):
            out = np.expm1(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (out + 1.0)


class Tan(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.tan(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (out * out + 1.0)
