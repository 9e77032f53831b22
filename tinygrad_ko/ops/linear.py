"""The fused affine layer ``y = x @ W.T + b`` (``F.linear`` / ``nn.Linear``).

One node instead of three (transpose, matmul, add): the forward is one BLAS call plus an in-place
bias add. The backward is the chain rule of the three, written twice: with NumPy when nothing is
recorded (a plain ``backward()``, the training hot path) and with Tensor operations when grad mode
is on (``create_graph=True``), so higher-order gradients still work.
"""

from __future__ import annotations

import numpy as np

from ..autograd import function as _fn
from ..autograd.function import Function
from ..autograd.grad_mode import state as _grad_state


class Linear(Function):
    """``x @ w.T + b`` for ``x`` of shape (..., in), ``w`` (out, in), ``b`` (out,) or absent."""

    @staticmethod
    def forward(ctx, x, w, b=None):
        need_x, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        ctx.save_for_backward(x if need_w else None, w if need_x else None)
        ctx.x_shape = x.shape
        if x.ndim == 2:
            out = x @ w.T
        else:
            # fold leading dims into one batch dim: one GEMM instead of a loop over matrices
            out = (x.reshape(-1, x.shape[-1]) @ w.T).reshape(x.shape[:-1] + (w.shape[0],))
        if b is not None:
            out += b
        return out

    @staticmethod
    def backward(ctx, grad):
        needs = ctx.needs_input_grad
        x_shape = ctx.x_shape
        if not _grad_state.enabled:
            # plain backward: NumPy kernels on the saved arrays, nothing is recorded
            x, w = ctx.saved_arrays()
            make = _fn._make
            g = grad._data
            if g.ndim != 2:
                g = g.reshape(-1, g.shape[-1])
            gx = gw = gb = None
            if needs[0]:
                gx = g @ w
                if len(x_shape) != 2:
                    gx = gx.reshape(x_shape)
                gx = make(gx)
            if needs[1]:
                gw = make(g.T @ (x if x.ndim == 2 else x.reshape(-1, x_shape[-1])))
            if len(needs) == 2:
                return gx, gw
            if needs[2]:
                gb = make(np.add.reduce(g, axis=0))  # the ufunc itself: g.sum(0) adds a Python layer
            return gx, gw, gb
        # create_graph: the same formulas as Tensor ops, recorded for double backward
        x, w = ctx.saved_tensors
        n_out = grad._data.shape[-1]
        g2 = grad if grad.ndim == 2 else grad.reshape(-1, n_out)
        gx = (g2 @ w).reshape(x_shape) if needs[0] else None
        gw = None
        if needs[1]:
            x2 = x if x.ndim == 2 else x.reshape(-1, x_shape[-1])
            gw = g2.T @ x2
        if len(needs) > 2:
            return gx, gw, (g2.sum(0) if needs[2] else None)
        return gx, gw
