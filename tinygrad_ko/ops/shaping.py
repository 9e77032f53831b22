"""Ops that move or mask elements without arithmetic: tril/triu, flip, roll, repeat, diag.

Each output element is one input element (or a zero), so each backward sends the gradient back
along the same map, reversed: the mask again (tril), the flip again, the roll by minus the shift,
the sum over the copies (repeat), the diagonal read back out (diag). Every backward is one of
these ops again, so double backward works. Unlike movement.py's views these return copies,
as PyTorch's do.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function


class Tril(Function):
    """Zero above the ``diagonal``-th diagonal of the last two dims."""

    @staticmethod
    def forward(ctx, a, diagonal):
        ctx.diagonal = diagonal
        return np.tril(a, diagonal)

    @staticmethod
    def backward(ctx, grad):
        return Tril.apply(grad, diagonal=ctx.diagonal)


class Triu(Function):
    """Zero below the ``diagonal``-th diagonal of the last two dims."""

    @staticmethod
    def forward(ctx, a, diagonal):
        ctx.diagonal = diagonal
        return np.triu(a, diagonal)

    @staticmethod
    def backward(ctx, grad):
        return Triu.apply(grad, diagonal=ctx.diagonal)


class Flip(Function):
    """Reverse the order along ``dims`` (a copy: NumPy's flip would be a view with negative strides)."""

    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        return np.ascontiguousarray(np.flip(a, dims))

    @staticmethod
    def backward(ctx, grad):
        return Flip.apply(grad, dims=ctx.dims)


class Roll(Function):
    """Shift elements along ``dims`` by ``shifts``, wrapping around (dims None: over the flattened tensor)."""

    @staticmethod
    def forward(ctx, a, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return np.roll(a, shifts, dims)

    @staticmethod
    def backward(ctx, grad):
        back = -ctx.shifts if ctx.dims is None else tuple(-s for s in ctx.shifts)
        return Roll.apply(grad, shifts=back, dims=ctx.dims)


class Repeat(Function):
    """Tile the tensor ``sizes[d]`` times along each dim d (leading new dims when sizes is longer)."""

    @staticmethod
    def forward(ctx, a, sizes):
        shape = (1,) * (len(sizes) - a.ndim) + a.shape
        ctx.shape, ctx.in_shape = a.shape, shape
        ctx.sizes = sizes
        return np.tile(a.reshape(shape), sizes)

    @staticmethod
    def backward(ctx, grad):
        # the output's dim d is (copy, element) interleaved: split it and sum over the copies
        split = tuple(n for pair in zip(ctx.sizes, ctx.in_shape) for n in pair)
        copies = tuple(range(0, len(split), 2))
        return grad.reshape(*split).sum(copies).reshape(*ctx.shape)


class Diag(Function):
    """A vector laid on the ``diagonal``-th diagonal of a matrix of zeros (square unless ``shape`` says)."""

    @staticmethod
    def forward(ctx, v, diagonal, shape=None):
        n = v.shape[0]
        ctx.diagonal = diagonal
        if shape is None:
            shape = (n + abs(diagonal),) * 2
        out = np.zeros(shape, dtype=v.dtype)
        out[_diagonal_positions(n, diagonal)] = v
        return out

    @staticmethod
    def backward(ctx, grad):
        return Diagonal.apply(grad, diagonal=ctx.diagonal)


class Diagonal(Function):
    """The ``diagonal``-th diagonal of a matrix, as a vector (a copy)."""

    @staticmethod
    def forward(ctx, a, diagonal):
        ctx.diagonal, ctx.shape = diagonal, a.shape
        return np.diagonal(a, diagonal).copy()

    @staticmethod
    def backward(ctx, grad):
        return Diag.apply(grad, diagonal=ctx.diagonal, shape=ctx.shape)


def _diagonal_positions(n: int, diagonal: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of the first n elements of the ``diagonal``-th diagonal."""
    i = np.arange(n)
    return i + max(-diagonal, 0), i + max(diagonal, 0)
