"""Writing elements by position: ``scatter`` (overwrite) and ``scatter_add`` (accumulate), and the
gather that is their backward.

``out = a.scatter(dim, index, src)`` copies ``a`` and, for every position p of ``index``, writes
``src[p]`` to ``out[p with p[dim] replaced by index[p]]``. So the gradient of ``src`` is the
output's gradient read back at those positions (a gather), and the gradient of ``a`` is the
output's gradient with the overwritten positions zeroed. ``scatter_add`` adds instead of
overwriting: ``a`` gets the whole gradient. Gather and scatter_add are each other's backward, so
double backward works. The API (api/more_methods.py) has checked the index already.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..tensor import wrap


def scatter_positions(index: np.ndarray, dim: int) -> tuple[np.ndarray, ...]:
    """The NumPy index of the positions ``index`` addresses: its own coordinates, with dim replaced."""
    coords = list(np.indices(index.shape, sparse=True))
    coords[dim] = index
    return tuple(coords)


def _leading(index_shape: tuple[int, ...]) -> tuple[slice, ...]:
    """The block of src that index covers (index may be smaller than src in any dim)."""
    return tuple(slice(0, n) for n in index_shape)


class Scatter(Function):
    """a with ``src`` written at the positions ``index`` addresses along ``dim``."""

    @staticmethod
    def forward(ctx, a, src, dim, index):
        ctx.dim, ctx.index, ctx.src_shape = dim, index, src.shape
        at = scatter_positions(index, dim)
        out = a.copy()
        out[at] = src[_leading(index.shape)]
        if ctx.needs_input_grad[0]:
            keep = np.ones(a.shape, dtype=a.dtype)
            keep[at] = 0
            ctx.keep = keep
        return out

    @staticmethod
    def backward(ctx, grad):
        na, ns = ctx.needs_input_grad
        ga = grad * wrap(ctx.keep) if na else None
        gs = GatherAlong.apply(grad, dim=ctx.dim, index=ctx.index, shape=ctx.src_shape) if ns else None
        return ga, gs


class ScatterAdd(Function):
    """a with ``src`` added at the positions ``index`` addresses along ``dim`` (repeats accumulate)."""

    @staticmethod
    def forward(ctx, a, src, dim, index):
        ctx.dim, ctx.index, ctx.src_shape = dim, index, src.shape
        out = a.copy()
        np.add.at(out, scatter_positions(index, dim), src[_leading(index.shape)])
        return out

    @staticmethod
    def backward(ctx, grad):
        na, ns = ctx.needs_input_grad
        gs = GatherAlong.apply(grad, dim=ctx.dim, index=ctx.index, shape=ctx.src_shape) if ns else None
        return grad if na else None, gs


class GatherAlong(Function):
    """``a`` read at the positions ``index`` addresses along ``dim``, laid into zeros of ``shape``
    (the shape of the src being differentiated, which may be larger than index)."""

    @staticmethod
    def forward(ctx, a, dim, index, shape):
        ctx.dim, ctx.index, ctx.a_shape = dim, index, a.shape
        values = a[scatter_positions(index, dim)]
        if values.shape == shape:
            return values
        out = np.zeros(shape, dtype=a.dtype)
        out[_leading(index.shape)] = values
        return out

    @staticmethod
    def backward(ctx, grad):
        zeros = wrap(np.zeros(ctx.a_shape, dtype=grad._data.dtype))
        return ScatterAdd.apply(zeros, grad, dim=ctx.dim, index=ctx.index)
