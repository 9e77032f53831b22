"""Fused loss functions: each loss is one node, its reduction included, and numerically stable.

- ``CrossEntropy``: log-softmax + negative log-likelihood on (M, C) logits and class indices, with
  ``weight``, ``ignore_index`` and ``label_smoothing`` as PyTorch defines them. The forward uses
  the log-sum-exp shift, so logits of +-1000 give finite losses. The backward is
  ``(softmax - smoothed one-hot) * scale``: one NumPy expression in a plain ``backward()`` and the
  same formula in Tensor operations under ``create_graph=True`` (twice differentiable).
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

from ..autograd import function as _fn
from ..autograd.function import Function
from ..autograd.grad_mode import state as _grad_state


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
    """cross_entropy(logits (M, C), class indices (M,)) fused; returns a scalar or (M,) losses.

    With smoothing ``e`` and class weights ``w`` (``W = sum(w)``), row n's loss is
    ``(1 - e) * w[t] * (lse - x[t]) + e / C * sum_c w[c] * (lse - x[c])`` and its gradient
    ``p * ((1 - e) * w[t] + e * W / C) - ((1 - e) * w[t] * onehot(t) + e / C * w)``, with
    ``p = softmax(x)``. Without weights that is ``p - ((1 - e) * onehot(t) + e / C)``.

    ``all_valid`` (set by the wrapper after its bounds check) says no target equals
    ``ignore_index``, which skips the masking work on the hot path. The target's entries are
    addressed by flat index ``n * C + t[n]`` into the (M, C) arrays (through ``.flat``, whatever
    their memory layout): one integer index is cheaper than the pair ``[rows, t]``.
    """

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, label_smoothing, reduction, all_valid=False):
        m_rows, n_cls = x.shape
        dt = x.dtype
        if all_valid:
            valid, t = None, target
        else:
            valid = target != ignore_index
            t = np.where(valid, target, 0)
        at_t = np.arange(0, m_rows * n_cls, n_cls) + t  # flat index of (n, t[n])
        # the ufuncs' reduce directly: x.max()/e.sum() add a Python layer each
        shifted = x - np.maximum.reduce(x, axis=1, keepdims=True)
        e = np.exp(shifted)
        s = np.add.reduce(e, axis=1, keepdims=True)
        lse = np.log(s).reshape(m_rows)
        per = lse - shifted.take(at_t)  # -log p[target] (take: flat, C order, any layout)
        w_t = None
        if weight is not None:
            w_t = weight[t]
            per *= w_t
        eps = label_smoothing
        if eps > 0.0:
            if weight is None:
                smooth = lse * dt.type(n_cls) - shifted.sum(axis=1)
            else:
                smooth = lse * weight.sum(dtype=dt) - shifted @ weight
            per = per * (1.0 - eps) + smooth * (eps / n_cls)
        if valid is not None:
            per = np.where(valid, per, dt.type(0))
        denom = None
        if reduction == "mean":  # PyTorch divides by the (weighted) number of non-ignored targets
            if w_t is None:
                denom = dt.type(m_rows if valid is None else int(valid.sum()))
            else:
                denom = (w_t if valid is None else w_t * valid).sum(dtype=dt)
        ctx.at_t, ctx.valid, ctx.w_t, ctx.denom = at_t, valid, w_t, denom
        ctx.weight, ctx.eps, ctx.reduction = weight, eps, reduction
        if ctx.needs_input_grad[0]:
            e /= s  # softmax, reused by backward
            ctx.save_for_backward(x, e)
        return _reduce(per, reduction, denom)

    @staticmethod
    def backward(ctx, grad):
        at_t, w_t, weight, eps = ctx.at_t, ctx.w_t, ctx.weight, ctx.eps
        if not _grad_state.enabled:
            # plain backward: (softmax - smoothed one-hot) * scale in NumPy, nothing recorded
            _, p = ctx.saved_arrays()
            n_cls = p.shape[1]
            dt = p.dtype
            # coef = d loss / d (row n's loss): 0-d when it is the same for every row, else (M,)
            coef = grad._data
            if ctx.reduction == "mean":
                n = ctx.denom
                coef = coef / n if n else _divide_by_zero(coef, n)
            if ctx.valid is not None:  # ignored rows get 0, even when every row is ignored (n == 0)
                coef = np.where(ctx.valid, coef, 0)
            if coef.dtype is not dt:
                coef = coef.astype(dt)
            col = coef[:, None] if coef.ndim else coef
            if weight is None:
                out = p * col
                out.flat[at_t] -= coef * (1.0 - eps) if eps else coef
                if eps:
                    out -= col * (eps / n_cls)
            else:
                a = w_t * (1.0 - eps) + weight.sum(dtype=dt) * (eps / n_cls)
                out = p * (col * a[:, None])
                out.flat[at_t] -= coef * (1.0 - eps) * w_t
                if eps:
                    out -= (col * (eps / n_cls)) * weight[None, :]
            return _fn._make(out)
        # create_graph: the same formula with Tensor ops on the saved logits (twice differentiable)
        x, p = ctx.saved_tensors
        m_rows, n_cls = p._data.shape
        dt = p._data.dtype
        make = _fn._make
        scale = np.ones(m_rows, dtype=dt)
        if ctx.reduction == "mean":
            n = ctx.denom
            scale = scale / n if n else _divide_by_zero(scale, n)
        if ctx.valid is not None:
            scale = np.where(ctx.valid, scale, dt.type(0))
        coef_t = (grad * make(scale)).reshape(m_rows, 1)
        onehot = np.zeros((m_rows, n_cls), dtype=dt)
        onehot.flat[at_t] = 1.0
        if weight is None:
            target_dist = onehot * (1.0 - eps) + eps / n_cls
            return x.softmax(1) * coef_t - coef_t * make(target_dist)
        a = (w_t * (1.0 - eps) + weight.sum(dtype=dt) * (eps / n_cls)).reshape(m_rows, 1)
        target_dist = onehot * (w_t * (1.0 - eps))[:, None] + weight[None, :] * (eps / n_cls)
        return x.softmax(1) * (coef_t * make(a)) - coef_t * make(target_dist)


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
        return g * _fn._make(scatter)


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
            g = g * _fn._make(ctx.weight)
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
        make = _fn._make
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
            make = _fn._make
            slope = slope * make((~linear).astype(x._data.dtype)) + make(linear.astype(x._data.dtype))
        return grad * slope
