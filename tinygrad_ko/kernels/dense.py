"""The MLP's hot backwards as NumPy kernels: linear, relu and cross-entropy.

The reading path writes these backwards with Tensor operations (``ops/linalg.py``,
``ops/elementwise.py``, ``ops/loss.py``), which is what makes ``create_graph=True`` work; run with
grad mode off, those cost a Python dispatch per operation and an extra pass or two over the data.
These kernels compute the same gradients straight on the arrays, writing into the result's buffer
where they can; ``ops/tuned.py`` runs them under a plain ``backward()``, and ``tests/test_kernels.py``
checks them against the reading path's formulas.
"""

from __future__ import annotations

import numpy as np

__all__ = ["linear_backward", "relu_backward", "cross_entropy_backward"]


def linear_backward(
    g: np.ndarray, x: np.ndarray | None, w: np.ndarray | None, x_shape: tuple[int, ...], needs: tuple[bool, ...]
) -> tuple[np.ndarray | None, ...]:
    """Gradients of ``x @ w.T + b`` for the output gradient ``g``: ``g @ w``, ``g.T @ x``, ``g.sum(0)``
    (leading dims of ``x`` folded into rows); one per input, None where ``needs`` says no."""
    g2 = g if g.ndim == 2 else g.reshape(-1, g.shape[-1])
    gx = gw = gb = None
    if needs[0]:
        gx = g2 @ w
        if len(x_shape) != 2:
            gx = gx.reshape(x_shape)
    if needs[1]:
        x2 = x if x.ndim == 2 else x.reshape(-1, x_shape[-1])
        # one row (batch 1): the outer product as a broadcast multiply. BLAS's GEMM with an inner
        # dimension of 1 is ~15x slower (2.3 ms instead of 0.15 ms for 512x3072 in OpenBLAS), and
        # with a single term per element there is no sum whose rounding could differ.
        gw = np.multiply(g2.T, x2) if g2.shape[0] == 1 else g2.T @ x2
    if len(needs) == 2:
        return gx, gw
    if needs[2]:
        gb = np.add.reduce(g2, axis=0)  # the ufunc itself: g2.sum(0) adds a Python layer
    return gx, gw, gb


def relu_backward(g: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``g * (out > 0)``, the 0/1 mask written straight into the result's buffer (no bool temporary)."""
    result = np.greater(out, 0, out=np.empty(g.shape, dtype=g.dtype))
    result *= g
    return result


def cross_entropy_backward(
    g: np.ndarray, log_probs: np.ndarray, row_weight: np.ndarray, target: np.ndarray
) -> np.ndarray:
    """``(softmax * row_weight - target) * g`` from the forward's log-probabilities (M, C), with
    ``g`` 0-d or (M,): softmax is ``exp(log_probs)``, no reductions to redo."""
    out = np.exp(log_probs)
    out *= row_weight
    out -= target
    out *= g if g.ndim == 0 else g[:, None]
    return out
