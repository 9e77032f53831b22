"""Singular values: the op under the spectral and nuclear norms (``matrix_norm`` ord 2, -2, 'nuc').

``A = U diag(s) Vᵀ`` (thin SVD, over the last two dims). Each ``s_i = u_iᵀ A v_i``, so
``ds_i/dA = u_i v_iᵀ`` and the gradient is ``dA = U diag(g) Vᵀ``. It is well defined even where
singular values repeat (the product does not depend on which basis of the repeated block the SVD
picked). The backward is NumPy on the saved U and V: once differentiable (a second derivative would
need the derivatives of U and V themselves).
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..tensor import wrap


class SingularValues(Function):
    once_differentiable = True

    @staticmethod
    def forward(ctx, a):
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        ctx.u, ctx.vh = u, vh
        return s

    @staticmethod
    def backward(ctx, grad):
        return wrap(np.matmul(ctx.u * grad._data[..., None, :], ctx.vh))
