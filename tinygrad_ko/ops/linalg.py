"""Matrix products: ``Matmul`` and the affine layer ``Linear`` (``x @ W.T + b``).

``Matmul`` takes operands of rank >= 2 (the Tensor method lifts 1-D operands as PyTorch does);
batch dims broadcast, and the backward sums them away with ``unbroadcast``. For ``C = A @ B`` the
textbook gradients are ``dA = dC @ B.T`` and ``dB = A.T @ dC``. ``Linear`` is the same rule for
``y = x @ W.T + b`` as one node instead of three (transpose, matmul, add): one BLAS call and an
in-place bias add forward, three products backward.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from .elementwise import unbroadcast


class Matmul(Function):
    @staticmethod
    def forward(ctx, a, b):
        na, nb = ctx.needs_input_grad
        ctx.save_for_backward(a if nb else None, b if na else None)
        ctx.shapes = (a.shape, b.shape)
        return np.matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        sa, sb = ctx.shapes
        na, nb = ctx.needs_input_grad
        ga = unbroadcast(grad @ b.mT, sa) if na else None
        gb = unbroadcast(a.mT @ grad, sb) if nb else None
        return ga, gb


class Linear(Function):
    """``x @ w.T + b`` for ``x`` of shape (..., in), ``w`` (out, in), ``b`` (out,) or absent."""

    @staticmethod
    def forward(ctx, x, w, b=None):
        needs = ctx.needs_input_grad
        ctx.save_for_backward(x if needs[1] else None, w if needs[0] else None)
        ctx.x_shape = x.shape
        # leading dims fold into one batch dim: one GEMM instead of one per matrix
        out = x.reshape(-1, x.shape[-1]) @ w.T if x.ndim != 2 else x @ w.T
        if b is not None:
            out += b
        return out.reshape(x.shape[:-1] + (w.shape[0],))

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        needs = ctx.needs_input_grad
        g = grad.reshape(-1, grad.shape[-1])  # (rows, out)
        gx = (g @ w).reshape(ctx.x_shape) if needs[0] else None
        gw = g.T @ x.reshape(-1, ctx.x_shape[-1]) if needs[1] else None
        if len(needs) == 2:
            return gx, gw
        return gx, gw, (g.sum(0) if needs[2] else None)
