"""Embedding lookup: row ``index`` of a weight matrix for every index, and its gradient.

The forward is indexing, ``weight[index]``. The backward adds each looked-up row's gradient into
the weight row it was read from: an index that occurs k times collects k gradients (their sum),
the ``padding_idx`` row collects none, and with ``scale_grad_by_freq`` each gradient is divided
by how often its index occurs in the batch. That backward is an op of its own whose backward is
the lookup again, so double backward works. Indices arrive checked by ``nn.functional.embedding``.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..tensor import wrap

__all__ = ["Embedding", "EmbeddingDenseBackward"]


class Embedding(Function):
    """out[..., :] = weight[index[...], :] for an integer array ``index`` of any shape."""

    @staticmethod
    def forward(ctx, weight, index, padding_idx, scale_grad_by_freq):
        ctx.lookup = (index, weight.shape[0], padding_idx, scale_grad_by_freq)
        return np.take(weight, index, axis=0)

    @staticmethod
    def backward(ctx, grad):
        index, num_weights, padding_idx, scale = ctx.lookup
        return EmbeddingDenseBackward.apply(
            grad, index=index, num_weights=num_weights, padding_idx=padding_idx, scale_grad_by_freq=scale
        )


def _row_factors(index: np.ndarray, num_weights: int, padding_idx: int | None, scale: bool) -> np.ndarray | None:
    """Per looked-up row, what its gradient is multiplied by on the way to the weight: 0 for
    padding_idx, 1/count of its index with scale_grad_by_freq, else 1 (None: all ones)."""
    if padding_idx is None and not scale:
        return None
    factor = np.ones(index.shape, dtype=np.float64)
    if scale:
        factor /= np.bincount(index.reshape(-1), minlength=num_weights)[index]
    if padding_idx is not None:
        factor[index == padding_idx] = 0.0
    return factor


class EmbeddingDenseBackward(Function):
    """zeros(num_weights, D) with row g[..., :] (times its factor) added at row index[...]."""

    @staticmethod
    def forward(ctx, grad, index, num_weights, padding_idx, scale_grad_by_freq):
        factor = _row_factors(index, num_weights, padding_idx, scale_grad_by_freq)
        ctx.lookup = (index, factor)
        rows = grad.reshape(index.size, -1)
        if factor is not None:
            rows = rows * factor.reshape(-1, 1).astype(grad.dtype)
        out = np.zeros((num_weights, rows.shape[1]), dtype=grad.dtype)
        np.add.at(out, index.reshape(-1), rows)  # repeated indices add up
        return out

    @staticmethod
    def backward(ctx, grad):
        index, factor = ctx.lookup
        looked_up = Embedding.apply(grad, index=index, padding_idx=None, scale_grad_by_freq=False)
        if factor is None:
            return looked_up
        return looked_up * wrap(factor[..., None].astype(grad._data.dtype))
