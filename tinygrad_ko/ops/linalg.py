"""Matrix products. ``Matmul`` takes operands of rank >= 2 (the Tensor wrapper lifts 1-D operands
as PyTorch does); batch dims broadcast and the backward sums them away with ``unbroadcast``."""

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
