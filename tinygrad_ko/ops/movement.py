"""Shape and view ops: bookkeeping, no arithmetic. A view is a NumPy view of the input's buffer
(shared storage and version counter); its backward routes the gradient back to the input's shape:
reshape back, permute by the inverse, expand by summing, indexing by adding into zeros."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from .elementwise import unbroadcast


class Reshape(Function):
    is_view = "maybe"  # NumPy copies when it must (non-contiguous input)

    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        return a.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape)


class Expand(Function):
    is_view = True

    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        return np.broadcast_to(a, shape)

    @staticmethod
    def backward(ctx, grad):
        return unbroadcast(grad, ctx.shape)


class Permute(Function):
    is_view = True

    @staticmethod
    def forward(ctx, a, axes):
        ctx.inverse = tuple(sorted(range(len(axes)), key=axes.__getitem__))  # the order that undoes axes
        return a.transpose(axes)

    @staticmethod
    def backward(ctx, grad):
        return grad.permute(*ctx.inverse)


class GetItem(Function):
    """Basic indexing (ints, slices, None, Ellipsis): a view."""

    is_view: bool | str = True
    basic = True

    @staticmethod
    def forward(ctx, a, index):
        ctx.shape, ctx.index = a.shape, index
        return a[index]

    @staticmethod
    def backward(ctx, grad):
        return IndexAdd.apply(grad, shape=ctx.shape, index=ctx.index, basic=ctx.basic)


class GetItemCopy(GetItem):
    """Advanced indexing (integer arrays, boolean masks): a copy; repeated indices accumulate."""

    is_view = False
    basic = False


class IndexAdd(Function):
    """zeros(shape) with ``grad`` added at ``index``: the backward of indexing (and its own
    backward is indexing again, so double backward works)."""

    @staticmethod
    def forward(ctx, g, shape, index, basic):
        ctx.index, ctx.basic = index, basic
        out = np.zeros(shape, dtype=g.dtype)
        if basic:
            out[index] = g
        else:
            np.add.at(out, index, g)
        return out

    @staticmethod
    def backward(ctx, grad):
        return (GetItem if ctx.basic else GetItemCopy).apply(grad, index=ctx.index)


class SetItem(Function):
    """Out-of-place ``a[index] = v`` used when autograd must see the assignment."""

    @staticmethod
    def forward(ctx, a, v, index):
        out = a.copy()
        out[index] = v
        ctx.index, ctx.vshape = index, v.shape
        keep = np.ones(a.shape, dtype=a.dtype)
        keep[index] = 0
        ctx.keep = keep
        ctx.basic = _is_basic(index)
        return out

    @staticmethod
    def backward(ctx, grad):
        na, nv = ctx.needs_input_grad
        ga = grad * ctx.keep if na else None
        gv = None
        if nv:
            gv = (GetItem if ctx.basic else GetItemCopy).apply(grad, index=ctx.index)
            gv = unbroadcast(gv, ctx.vshape)
        return ga, gv


def _is_basic(index: Any) -> bool:
    items = index if type(index) is tuple else (index,)
    for i in items:
        if not (i is None or i is Ellipsis or type(i) is slice or type(i) is int):
            return False
    return True


class Cat(Function):
    @staticmethod
    def forward(ctx, *arrays, dim):
        ctx.dim = dim
        ctx.bounds = np.cumsum([a.shape[dim] for a in arrays])
        return np.concatenate(arrays, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        out = []
        start = 0
        pre = (slice(None),) * ctx.dim
        for need, stop in zip(ctx.needs_input_grad, ctx.bounds):
            out.append(grad[pre + (slice(start, int(stop)),)] if need else None)
            start = int(stop)
        return tuple(out)


class Pad(Function):
    """Constant padding; ``widths`` is NumPy's per-dim (before, after), all >= 0."""

    @staticmethod
    def forward(ctx, a, widths, value):
        ctx.index = tuple(slice(b, b + s) for (b, _), s in zip(widths, a.shape))
        return np.pad(a, widths, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, grad):
        return grad[ctx.index]
