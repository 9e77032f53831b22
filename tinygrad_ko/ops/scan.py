"""Scans along one dim: cumulative sum and cumulative product.

``y_j = x_0 + ... + x_j``: every x_k feeds every y_j with j >= k, so ``dx_k = g_k + ... + g_last``,
the cumulative sum of the gradient taken from the other end. For ``y_j = x_0 * ... * x_j``,
``dy_j/dx_k = y_j / x_k`` (j >= k), so ``dx = reverse_cumsum(g * y) / x`` -- except where x has
zeros, whose quotient is 0/0: there the products of the *other* factors are built explicitly
(PyTorch does the same).
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import state as grad_mode
from ..tensor import wrap
from .elementwise import Where


def _cumsum(a: np.ndarray, dim: int, reverse: bool) -> np.ndarray:
    # dtype: NumPy would widen int32 to int64
    if not reverse:
        return np.cumsum(a, axis=dim, dtype=a.dtype)
    return np.flip(np.cumsum(np.flip(a, dim), axis=dim, dtype=a.dtype), dim)


class Cumsum(Function):
    """Cumulative sum along ``dim``; ``reverse=True`` sums from the last element back (its own backward)."""

    @staticmethod
    def forward(ctx, a, dim, reverse=False):
        ctx.dim, ctx.reverse = dim, reverse
        return _cumsum(a, dim, reverse)

    @staticmethod
    def backward(ctx, grad):
        return Cumsum.apply(grad, dim=ctx.dim, reverse=not ctx.reverse)


class Cumprod(Function):
    @staticmethod
    def forward(ctx, a, dim):
        ctx.dim = dim
        out = np.cumprod(a, axis=dim, dtype=a.dtype)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        dim = ctx.dim
        zeros = a._data == 0
        if not zeros.any():
            return Cumsum.apply(grad * out, dim=dim, reverse=True) / a
        if not grad_mode.enabled:  # a plain backward: the O(n) formula, in NumPy
            return wrap(_cumprod_grad_with_zeros(a._data, grad._data, dim))
        return _cumprod_grad_recorded(a, grad, dim)


def _cumprod_grad_with_zeros(x: np.ndarray, g: np.ndarray, dim: int) -> np.ndarray:
    """dx for y = cumprod(x) when x has zeros. Along each slice let z be the first zero: for k < z
    the usual ``sum_{k<=j<z} g_j y_j / x_k`` (y_j = 0 from z on); for k = z,
    ``y_{z-1} * sum_{j>=z} g_j * x_{z+1}...x_j``; for k > z, zero (x_z is a factor of every term)."""
    x, g = np.moveaxis(x, dim, -1), np.moveaxis(g, dim, -1)
    n = x.shape[-1]
    pos = np.arange(n)
    is_zero = x == 0
    z = np.where(is_zero.any(-1), is_zero.argmax(-1), n)[..., None]  # first zero (n: none)
    y = np.cumprod(x, axis=-1)
    before = pos < z
    with np.errstate(divide="ignore", invalid="ignore"):
        dx = np.where(before, _cumsum(np.where(before, g * y, 0), -1, True) / np.where(before, x, 1), 0)
    # k = z: the prefix product y_{z-1} times sum_{j>=z} g_j * (product of x_{z+1..j})
    after = np.cumprod(np.where(pos <= z, 1, x), axis=-1)
    prefix = np.take_along_axis(np.concatenate([np.ones_like(y[..., :1]), y], -1), np.minimum(z, n), -1)
    at_z = prefix * np.sum(np.where(pos >= z, g * after, 0), -1, keepdims=True)
    dx = np.where(pos == z, at_z, dx)
    return np.moveaxis(dx.astype(x.dtype, copy=False), -1, dim)


def _cumprod_grad_recorded(a, grad, dim):
    """dx with Tensor ops, so double backward works: dx_k = sum_{j>=k} g_j * prod_{i<=j, i!=k} x_i,
    the products read off the cumprod of n copies of x, copy k with x_k set to one: O(n**2)."""
    x = a.transpose(dim, -1)
    g = grad.transpose(dim, -1)
    n = x.shape[-1]
    eye = np.eye(n, dtype=bool)
    copies = x.unsqueeze(-2).expand(*x.shape[:-1], n, n)  # [..., k, i] = x_i
    others = Where.apply(wrap(np.ones((), dtype=x._data.dtype)), copies, cond=eye).cumprod(-1)
    later = wrap(np.triu(np.ones((n, n), dtype=x._data.dtype)))  # j >= k
    dx = (others * later * g.unsqueeze(-2)).sum(-1)
    return dx.transpose(dim, -1)
