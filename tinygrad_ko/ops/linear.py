"""The fused affine layer ``y = x @ W.T + b`` (``F.linear`` / ``nn.Linear``).

One node instead of three (transpose, matmul, add): the forward is one BLAS call plus an in-place
bias add. The backward is the chain rule of the three, written twice: with NumPy when nothing is
recorded (a plain ``backward()``, the training hot path) and with Tensor operations when grad mode
is on (``create_graph=True``), so higher-order gradients still work.
"""

from __future__ import annotations

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
        x, w = ctx.saved_tensors
        needs = ctx.needs_input_grad
        x_shape = ctx.x_shape
        n_out = grad.shape[-1]
        if not _grad_state.enabled:
            # plain backward: NumPy kernels, nothing is recorded
            make = _fn._make
            g = grad._data
            g2 = g if g.ndim == 2 else g.reshape(-1, n_out)
            gx = gw = gb = None
            if needs[0]:
                gx = make((g2 @ w._data).reshape(x_shape))
            if needs[1]:
                xd = x._data
                gw = make(g2.T @ (xd if xd.ndim == 2 else xd.reshape(-1, x_shape[-1])))
            if len(needs) > 2 and needs[2]:
                gb = make(g2.sum(axis=0))
            return (gx, gw, gb) if len(needs) > 2 else (gx, gw)
        # create_graph: the same formulas as Tensor ops, recorded for double backward
        g2 = grad if grad.ndim == 2 else grad.reshape(-1, n_out)
        gx = (g2 @ w).reshape(x_shape) if needs[0] else None
        gw = None
        if needs[1]:
            x2 = x if x.ndim == 2 else x.reshape(-1, x_shape[-1])
            gw = g2.T @ x2
        if len(needs) > 2:
            return gx, gw, (g2.sum(0) if needs[2] else None)
        return gx, gw
