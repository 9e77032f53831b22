"""Reductions and the softmax family. A reduction's gradient goes back to the elements it read:
copied to each (sum), shared (mean), to the winners (max). ``axes`` is a normalized tuple of dims
(or None for all); backward reshapes the gradient to keepdim form and broadcasts it back."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import state as grad_mode


def keepdim_shape(shape: tuple[int, ...], axes: tuple[int, ...] | None) -> tuple[int, ...]:
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _expand_back(grad: Any, shape: tuple[int, ...], axes: tuple[int, ...] | None) -> Any:
    """Undo a reduction's shape: (reduced) -> keepdim shape -> broadcast to ``shape``."""
    kshape = keepdim_shape(shape, axes)
    if grad.shape != kshape:
        grad = grad.reshape(kshape)
    return grad.expand(shape)


class Sum(Function):
    @staticmethod
    def forward(ctx, a, axes, keepdim):
        ctx.shape, ctx.axes = a.shape, axes
        return np.asarray(a.sum(axis=axes, keepdims=keepdim))

    @staticmethod
    def backward(ctx, grad):
        return _expand_back(grad, ctx.shape, ctx.axes)


class Mean(Function):
    @staticmethod
    def forward(ctx, a, axes, keepdim):
        ctx.shape, ctx.axes = a.shape, axes
        n = a.size if axes is None else int(np.prod([a.shape[i] for i in axes]))
        ctx.n = n
        # sum then scale keeps float32 (np.mean would accumulate in float32 too, but this is explicit)
        return np.asarray(a.sum(axis=axes, keepdims=keepdim) / np.asarray(n, dtype=a.dtype))

    @staticmethod
    def backward(ctx, grad):
        return _expand_back(grad * (1.0 / ctx.n), ctx.shape, ctx.axes)


class Prod(Function):
    @staticmethod
    def forward(ctx, a, axes, keepdim):
        ctx.shape, ctx.axes = a.shape, axes
        out = np.asarray(a.prod(axis=axes, keepdims=keepdim))
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        g = _expand_back(grad, ctx.shape, ctx.axes)
        if not (a._data == 0).any():
            return g * _expand_back(out, ctx.shape, ctx.axes) / a
        if grad_mode.enabled:
            raise RuntimeError("prod: double backward with zeros in the input is not supported")
        # product of all *other* elements = exclusive prefix product * exclusive suffix product
        x = a._data
        axes = ctx.axes if ctx.axes is not None else tuple(range(x.ndim))
        moved = np.moveaxis(x, axes, tuple(range(x.ndim - len(axes), x.ndim)))
        flat = moved.reshape(moved.shape[: x.ndim - len(axes)] + (-1,))
        ones = np.ones(flat.shape[:-1] + (1,), dtype=x.dtype)
        left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
        right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
        others = (left * right).reshape(moved.shape)
        others = np.moveaxis(others, tuple(range(x.ndim - len(axes), x.ndim)), axes)
        return g * others


class Amax(Function):
    """amax/amin and full max()/min(): the gradient is shared evenly among tied maxima."""

    @staticmethod
    def forward(ctx, a, axes, keepdim, is_min):
        ctx.shape, ctx.axes = a.shape, axes
        out = np.asarray(a.min(axis=axes, keepdims=True) if is_min else a.max(axis=axes, keepdims=True))
        if ctx.needs_input_grad[0]:  # (never for integers, whose share would not be a whole number)
            mask = (a == out).astype(a.dtype)
            mask /= mask.sum(axis=axes, keepdims=True)
            ctx.save_for_backward(mask)
        if not keepdim:
            out = np.squeeze(out, axis=axes) if axes is not None else out.reshape(())
        return out

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        return _expand_back(grad, ctx.shape, ctx.axes) * mask


class MaxDim(Function):
    """max(dim)/min(dim) values: the gradient goes to the index PyTorch returns (the first)."""

    @staticmethod
    def forward(ctx, a, dim, keepdim, is_min):
        idx = np.argmin(a, axis=dim) if is_min else np.argmax(a, axis=dim)
        idx_k = np.expand_dims(idx, dim)
        ctx.shape, ctx.axes = a.shape, (dim,)
        ctx.indices = idx if not keepdim else idx_k
        if ctx.needs_input_grad[0]:
            onehot = np.arange(a.shape[dim]).reshape([-1 if i == dim else 1 for i in range(a.ndim)]) == idx_k
            ctx.save_for_backward(onehot.astype(a.dtype))
        out = np.take_along_axis(a, idx_k, axis=dim)
        return out if keepdim else np.squeeze(out, dim)

    @staticmethod
    def backward(ctx, grad):
        (onehot,) = ctx.saved_tensors
        return _expand_back(grad, ctx.shape, ctx.axes) * onehot


def _logsumexp(a: np.ndarray, axes: Any) -> np.ndarray:
    m = a.max(axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, 0).astype(a.dtype, copy=False)
    return np.log(np.exp(a - m).sum(axis=axes, keepdims=True)) + m


class LogSumExp(Function):
    @staticmethod
    def forward(ctx, a, axes, keepdim):
        ctx.shape, ctx.axes = a.shape, axes
        out_k = _logsumexp(a, axes)
        if not keepdim:
            out_k = np.squeeze(out_k, axis=axes) if axes is not None else out_k.reshape(())
        ctx.save_for_backward(a, out_k)
        return out_k

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        # the saved output (not a constant) keeps create_graph exact: d/da exp(a - lse(a))
        lse = _expand_back(out, ctx.shape, ctx.axes)
        return _expand_back(grad, ctx.shape, ctx.axes) * (a - lse).exp()


class Softmax(Function):
    @staticmethod
    def forward(ctx, a, dim):
        e = np.exp(a - a.max(axis=dim, keepdims=True))
        e /= e.sum(axis=dim, keepdims=True)
        ctx.dim = dim
        ctx.save_for_backward(e)
        return e

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return out * (grad - (grad * out).sum(ctx.dim, keepdim=True))


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, a, dim):
        shifted = a - a.max(axis=dim, keepdims=True)
        out = shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))
        ctx.dim = dim
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad - out.exp() * grad.sum(ctx.dim, keepdim=True)
