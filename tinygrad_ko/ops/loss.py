"""Fused loss functions: each loss is one node, its reduction included, and numerically stable.

- ``CrossEntropy``: log-softmax + negative log-likelihood on (M, C) logits and class indices, with
  ``weight``, ``ignore_index`` and ``label_smoothing`` as PyTorch defines them. The forward uses
  the log-sum-exp shift, so logits of +-1000 give finite losses. The backward is
  ``(softmax - smoothed one-hot) * scale`` in Tensor operations (twice differentiable).
- ``NLLLoss``: the negative log-likelihood alone (its input is already log-probabilities).
- ``BinaryCrossEntropy``: on probabilities, logs clamped to >= -100 as PyTorch does.
- ``BinaryCrossEntropyWithLogits``: on logits via softplus, stable for any logit; ``pos_weight``.
- ``Softplus``: log(1 + exp(x)) without overflow (``F.softplus``; also used by the logit loss's
  backward).

The reduction (``'mean'``, ``'sum'``, ``'none'``) happens inside the node; the wrappers in
``nn.functional`` validate shapes and dtypes before calling ``apply``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..tensor import wrap


def _reduce(per: np.ndarray, reduction: str, denom: Any = None) -> np.ndarray:
    """Reduce per-element losses; 'mean' divides by ``denom`` (a scalar of per's dtype) or the count."""
    if reduction == "none":
        return per
    total = np.add.reduce(per, axis=None)  # the ufunc itself: per.sum() adds a Python layer
    if reduction == "sum":
        return np.asarray(total, dtype=per.dtype)
    n = per.dtype.type(per.size) if denom is None else denom
    return np.asarray(total / n if n else _divide_by_zero(total, n), dtype=per.dtype)


def _divide_by_zero(a: Any, zero: Any) -> Any:
    """a / 0 for an empty or all-ignored batch: nan or inf without a warning, as in PyTorch.
    (Only this case needs np.errstate, which costs more than the division.)"""
    with np.errstate(invalid="ignore", divide="ignore"):
        return a / zero


class CrossEntropy(Function):
    """cross_entropy(logits (M, C), class indices (M,)): log-softmax and NLL in one node.

    Row n's loss is ``-sum_c d[n, c] * log p[n, c]`` with ``p = softmax(x[n])`` and ``d`` the
    target distribution: ``(1 - e) * onehot(t[n]) + e / C`` (label smoothing ``e``), times the
    class weights, 0 for an ignored row. Its gradient is ``p * sum_c d[n, c] - d[n]``: what the
    model predicts minus what it should have, scaled by the row's total weight. ``all_valid`` (set
    by the wrapper after its bounds check) says no target equals ``ignore_index``.
    """

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, label_smoothing, reduction, all_valid=False):
        m_rows, n_cls = x.shape
        dt = x.dtype
        valid = None if all_valid else target != ignore_index
        t = target if valid is None else np.where(valid, target, 0)
        rows = np.arange(m_rows)
        # log-softmax with the log-sum-exp shift, so logits of +-1000 give finite losses
        shifted = x - x.max(axis=1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        w_t = np.ones(m_rows, dtype=dt) if weight is None else weight[t]
        if valid is not None:
            w_t = np.where(valid, w_t, dt.type(0))
        eps = label_smoothing
        dist = np.zeros((m_rows, n_cls), dtype=dt)  # the target distribution d, row by row
        dist[rows, t] = (1.0 - eps) * w_t
        if eps > 0.0:
            smooth = (eps / n_cls) * (np.ones(n_cls, dtype=dt) if weight is None else weight)
            dist += smooth if valid is None else valid[:, None] * smooth
            per = -(dist * logp).sum(axis=1)
        else:  # only the target's entry, so a logit of -inf elsewhere cannot make 0 * -inf
            per = -logp[rows, t] if weight is None else -logp[rows, t] * w_t
        if valid is not None:
            per = np.where(valid, per, dt.type(0))
        # 'mean' divides by the (weighted) number of rows that count, as PyTorch does
        denom = w_t.sum(dtype=dt) if reduction == "mean" else None
        if ctx.needs_input_grad[0]:
            scale = np.ones(m_rows, dtype=dt)
            if denom is not None:
                scale = scale / denom if denom else _divide_by_zero(scale, denom)
            if valid is not None:  # ignored rows get 0, even when every row is ignored
                scale = np.where(valid, scale, dt.type(0))
            # backward's constants, each row already times d(result)/d(row's loss) per unit of grad
            row_weight = dist.sum(axis=1) if eps > 0.0 else w_t  # sum_c d[n, c]
            ctx.row_weight = (row_weight * scale)[:, None]
            ctx.target = dist * scale[:, None]
            ctx.log_probs = logp  # for the tuned backward (ops/tuned.py), which has no graph to build
            ctx.save_for_backward(x)
        return _reduce(per.astype(dt, copy=False), reduction, denom)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return (x.softmax(1) * wrap(ctx.row_weight) - wrap(ctx.target)) * grad.reshape(-1, 1)


class NLLLoss(Function):
    """nll_loss(log-probabilities (M, C), class indices (M,)): ``-w[t] * input[n, t]``, reduced."""

    @staticmethod
    def forward(ctx, logp, target, weight, ignore_index, reduction):
        m_rows, n_cls = logp.shape
        dt = logp.dtype
        valid = target != ignore_index
        t = np.where(valid, target, 0)
        w_t = weight[t] if weight is not None else np.ones(m_rows, dtype=dt)
        w_t = np.where(valid, w_t, dt.type(0))
        per = -logp[np.arange(m_rows), t] * w_t
        denom = w_t.sum(dtype=dt) if reduction == "mean" else None
        ctx.t, ctx.w_t, ctx.denom, ctx.reduction, ctx.n_cls = t, w_t, denom, reduction, n_cls
        ctx.valid = valid
        return _reduce(per, reduction, denom)

    @staticmethod
    def backward(ctx, grad):
        # the loss is linear in its input: the gradient is a constant scatter times the upstream grad
        m_rows = ctx.t.shape[0]
        dt = ctx.w_t.dtype
        scatter = np.zeros((m_rows, ctx.n_cls), dtype=dt)
        w = -ctx.w_t
        if ctx.reduction == "mean":
            n = ctx.denom
            w = w / n if n else _divide_by_zero(w, n)
            w = np.where(ctx.valid, w, dt.type(0))  # ignored rows: 0 even when all are (0 / 0)
        scatter[np.arange(m_rows), ctx.t] = w
        g = grad.reshape(m_rows, 1) if grad.ndim == 1 else grad
        return g * wrap(scatter)


def _elementwise_scale(grad: Any, reduction: str, n: int) -> Any:
    """The upstream gradient of a reduced elementwise loss, as a factor for each element."""
    if reduction == "mean":
        return grad * (1.0 / n if n else float("nan"))
    return grad


class BinaryCrossEntropy(Function):
    """-w * (t * log(x) + (1 - t) * log(1 - x)) with both logs clamped to >= -100 (PyTorch's rule)."""

    @staticmethod
    def forward(ctx, x, t, weight, reduction):
        with np.errstate(divide="ignore"):
            log_x = np.maximum(np.log(x), -100.0)
            log_1mx = np.maximum(np.log1p(-x), -100.0)
        per = (t - 1.0) * log_1mx - t * log_x
        if weight is not None:
            per = per * weight
        ctx.weight, ctx.reduction = weight, reduction
        ctx.save_for_backward(x, t)
        return _reduce(per.astype(x.dtype, copy=False), reduction)

    @staticmethod
    def backward(ctx, grad):
        x, t = ctx.saved_tensors
        g = _elementwise_scale(grad, ctx.reduction, x.numel())
        if ctx.weight is not None:
            g = g * wrap(ctx.weight)
        need_x, need_t = ctx.needs_input_grad
        gx = gt = None
        if need_x:
            # PyTorch's formula: (x - t) / max(x * (1 - x), 1e-12)
            gx = g * (x - t) / (x * (1.0 - x)).clamp(min=1e-12)
        if need_t:
            with np.errstate(divide="ignore"):
                gt = g * ((1.0 - x).log().clamp(min=-100.0) - x.log().clamp(min=-100.0))
        return gx, gt


class BinaryCrossEntropyWithLogits(Function):
    """w * ((1 - t) * x + (1 + (pw - 1) * t) * softplus(-x)), softplus computed without overflow."""

    @staticmethod
    def forward(ctx, x, t, weight, pos_weight, reduction):
        # softplus(-x) = max(-x, 0) + log1p(exp(-|x|)): exp only ever sees non-positive numbers
        sp_neg = np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x)))
        if pos_weight is None:
            per = (1.0 - t) * x + sp_neg
        else:
            per = (1.0 - t) * x + (1.0 + (pos_weight - 1.0) * t) * sp_neg
        if weight is not None:
            per = per * weight
        ctx.weight, ctx.pos_weight, ctx.reduction = weight, pos_weight, reduction
        ctx.save_for_backward(x, t)
        return _reduce(per.astype(x.dtype, copy=False), reduction)

    @staticmethod
    def backward(ctx, grad):
        x, t = ctx.saved_tensors
        make = wrap
        g = _elementwise_scale(grad, ctx.reduction, x.numel())
        if ctx.weight is not None:
            g = g * make(ctx.weight)
        pw = ctx.pos_weight
        need_x, need_t = ctx.needs_input_grad
        gx = gt = None
        if need_x:
            if pw is None:
                gx = g * (x.sigmoid() - t)
            else:
                pw_t = make(pw)
                gx = g * ((t * (pw_t - 1.0) + 1.0) * x.sigmoid() - pw_t * t)
        if need_t:
            if pw is None:
                gt = g * -x
            else:
                gt = g * (Softplus.apply(-x, beta=1.0, threshold=float("inf")) * (make(pw) - 1.0) - x)
        return gx, gt


class Softplus(Function):
    """softplus(x) = log(1 + exp(beta * x)) / beta, linear (= x) where beta * x > threshold.

    Computed as (max(z, 0) + log1p(exp(-|z|))) / beta with z = beta * x, so exp never overflows;
    the derivative sigmoid(beta * x) is smooth everywhere (no kink at 0 to confuse double backward).
    """

    @staticmethod
    def forward(ctx, x, beta, threshold):
        z = x * beta
        out = (np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))) / beta
        linear = z > threshold
        if linear.any():
            out = np.where(linear, x, out)
        ctx.beta, ctx.linear = beta, linear
        ctx.save_for_backward(x)
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        slope = (x * ctx.beta).sigmoid()
        linear = ctx.linear
        if linear.any():
            make = wrap
            slope = slope * make((~linear).astype(x._data.dtype)) + make(linear.astype(x._data.dtype))
        return grad * slope
