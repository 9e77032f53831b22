"""Piecewise ops: their output jumps, so their derivative is zero or a constant between the jumps.

PyTorch keeps them in the graph: ``x.sign()`` of a tensor that requires grad requires grad too,
and ``x.sign().sum().backward()`` gives ``x.grad`` zeros (not "does not require grad"). The same
for division with ``rounding_mode``; ``a % b`` passes the gradient through to ``a`` and gives
``-floor(a / b)`` to ``b`` (``a % b == a - b * floor(a / b)``).
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..tensor import wrap
from .elementwise import unbroadcast


def _zeros(shape: tuple[int, ...], grad) -> object:
    """A zero gradient of ``shape`` (a constant: its own derivative is zero too)."""
    return wrap(np.zeros(shape, dtype=grad._data.dtype))


class Sign(Function):
    """-1, 0 or 1; the derivative is zero everywhere it exists, and PyTorch takes it as zero."""

    @staticmethod
    def forward(ctx, a):
        ctx.shape = a.shape
        return np.sign(a)

    @staticmethod
    def backward(ctx, grad):
        return _zeros(ctx.shape, grad)


class DivRounding(Function):
    """``div(a, b, rounding_mode="trunc" | "floor")``: a quotient rounded to a whole number,
    whose gradient is zero for both inputs."""

    display_name = "DivBackward"

    @staticmethod
    def forward(ctx, a, b, mode):
        ctx.shapes = (a.shape, b.shape)
        if mode == "floor":
            return np.floor_divide(a, b)
        if a.dtype.kind == "f":
            return np.trunc(a / b)
        return (np.trunc(a / b)).astype(np.result_type(a, b))  # integers: exact for |q| < 2**53

    @staticmethod
    def backward(ctx, grad):
        sa, sb = ctx.shapes
        na, nb = ctx.needs_input_grad
        return (_zeros(sa, grad) if na else None, _zeros(sb, grad) if nb else None)


class Remainder(Function):
    """``a % b`` with the sign of ``b`` (Python's and PyTorch's ``remainder``)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (a.shape, b.shape)
        if ctx.needs_input_grad[1]:
            ctx.quotient = np.floor_divide(a, b)
        return np.mod(a, b)

    @staticmethod
    def backward(ctx, grad):
        sa, sb = ctx.shapes
        na, nb = ctx.needs_input_grad
        return (
            unbroadcast(grad, sa) if na else None,
            unbroadcast(-grad * wrap(ctx.quotient), sb) if nb else None,
        )
