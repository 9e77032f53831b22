"""Op-table rows for the nn kernels: the fused Linear, the fused losses, and the nn.functional
wrappers built from core ops. References are plain NumPy, written from PyTorch's documented
definitions (reductions, ignore_index, label_smoothing, class weights, pos_weight)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from optable import OpRow, array, away_from, shapes

import tinygrad_ko as tg
import tinygrad_ko.nn.functional as F
from tinygrad_ko.ops.linalg import Linear
from tinygrad_ko.ops.loss import CrossEntropy

S = st.composite


# ---- references -------------------------------------------------------------------------------
def _log_softmax(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def _rows(x):
    """(N, C, d...) -> (N*d..., C) with the class dim last."""
    if x.ndim == 1:
        return x[None, :]
    return np.moveaxis(x, 1, -1).reshape(-1, x.shape[1])


def ce_ref(x, t, w=None, ignore_index=-100, eps=0.0, reduction="mean"):
    """PyTorch's cross_entropy with class-index targets (weight, ignore_index, label_smoothing)."""
    n_cls = x.shape[1] if x.ndim > 1 else x.shape[0]
    lp = _rows(_log_softmax(x, 1 if x.ndim > 1 else 0))
    tt = t.reshape(-1)
    ww = np.ones(n_cls) if w is None else w
    valid = tt != ignore_index
    ts = np.where(valid, tt, 0)
    nll = -lp[np.arange(len(ts)), ts] * ww[ts] * valid
    smooth = -(lp * ww).sum(1) * valid
    if reduction == "none":
        return ((1 - eps) * nll + eps / n_cls * smooth).reshape(t.shape)
    if reduction == "sum":
        return (1 - eps) * nll.sum() + eps / n_cls * smooth.sum()
    denom = (ww[ts] * valid).sum()
    return (1 - eps) * nll.sum() / denom + eps / n_cls * smooth.sum() / denom


def ce_prob_ref(x, p, w=None, eps=0.0, reduction="mean"):
    n_cls = x.shape[1] if x.ndim > 1 else x.shape[0]
    lp = _rows(_log_softmax(x, 1 if x.ndim > 1 else 0))
    q = _rows(p) * (1 - eps) + eps / n_cls
    ww = np.ones(n_cls) if w is None else w
    per = -(lp * q * ww).sum(1)
    if reduction == "none":
        return per.reshape(x.shape[:1] + x.shape[2:]) if x.ndim > 1 else per.reshape(())
    return per.sum() if reduction == "sum" else per.mean()


def nll_ref(lp, t, w=None, ignore_index=-100, reduction="mean"):
    n_cls = lp.shape[1]
    rows = _rows(lp)
    tt = t.reshape(-1)
    ww = np.ones(n_cls) if w is None else w
    valid = tt != ignore_index
    ts = np.where(valid, tt, 0)
    per = -rows[np.arange(len(ts)), ts] * ww[ts] * valid
    if reduction == "none":
        return per.reshape(t.shape)
    if reduction == "sum":
        return per.sum()
    return per.sum() / (ww[ts] * valid).sum()


def _reduce(per, reduction):
    return per if reduction == "none" else per.sum() if reduction == "sum" else per.mean()


def bce_ref(x, t, w=None, reduction="mean"):
    with np.errstate(divide="ignore"):
        per = -(t * np.maximum(np.log(x), -100) + (1 - t) * np.maximum(np.log(1 - x), -100))
    if w is not None:
        per = per * w
    return _reduce(per, reduction)


def bce_logits_ref(x, t, w=None, pw=None, reduction="mean"):
    log_sig = -np.logaddexp(0, -x)  # log(sigmoid(x))
    log_1msig = -np.logaddexp(0, x)  # log(1 - sigmoid(x))
    pos = t * log_sig * (1.0 if pw is None else pw)
    per = -(pos + (1 - t) * log_1msig)
    if w is not None:
        per = per * w
    return _reduce(per, reduction)


# ---- strategies -------------------------------------------------------------------------------
@S
def _linear_case(draw):
    n_in, n_out = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    lead = draw(st.sampled_from([(), (3,), (2, 3), (0,)]))
    x = draw(array(lead + (n_in,)))
    w = draw(array((n_out, n_in)))
    b = draw(array((n_out,)))
    return x, w, b


@S
def _ce_case(draw, kdim=False):
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    extra = (draw(st.integers(1, 3)),) if kdim else ()
    x = draw(array((n, c) + extra, lo=-4.0, hi=4.0))
    t = draw(hnp.arrays(np.int64, (n,) + extra, elements=st.integers(0, c - 1)))
    reduction = draw(st.sampled_from(["mean", "sum", "none"]))
    ignore_index = draw(st.sampled_from([-100, 0, c - 1]))
    if reduction == "mean" and (t == ignore_index).all():
        ignore_index = -100  # PyTorch's mean over zero targets is nan; not a gradient case
    eps = draw(st.sampled_from([0.0, 0.1, 0.5]))
    w = draw(st.one_of(st.none(), hnp.arrays(np.float64, (c,), elements=st.floats(0.25, 2.0))))
    return x, t, w, ignore_index, eps, reduction


def _array(value):
    """The table hands every input over as a Tensor; the reference op takes these as arrays."""
    return value._data if isinstance(value, tg.Tensor) else value


def _ce(x, t, w, ignore_index, eps, reduction):
    return F.cross_entropy(
        x, tg.from_numpy(t), weight=w, ignore_index=ignore_index, label_smoothing=eps, reduction=reduction
    )


@S
def _ce_prob_case(draw):
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    x = draw(array((n, c), lo=-4.0, hi=4.0))
    raw = draw(hnp.arrays(np.float64, (n, c), elements=st.floats(0.05, 1.0)))
    p = raw / raw.sum(1, keepdims=True)
    reduction = draw(st.sampled_from(["mean", "sum", "none"]))
    eps = draw(st.sampled_from([0.0, 0.2]))
    return x, p, eps, reduction


@S
def _nll_case(draw):
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    extra = draw(st.sampled_from([(), (2,)]))
    lp = draw(array((n, c) + extra, lo=-4.0, hi=0.0))
    t = draw(hnp.arrays(np.int64, (n,) + extra, elements=st.integers(0, c - 1)))
    reduction = draw(st.sampled_from(["mean", "sum", "none"]))
    ignore_index = draw(st.sampled_from([-100, 0]))
    if reduction == "mean" and (t == ignore_index).all():
        ignore_index = -100
    w = draw(st.one_of(st.none(), hnp.arrays(np.float64, (c,), elements=st.floats(0.25, 2.0))))
    return lp, t, w, ignore_index, reduction


@S
def _bce_case(draw):
    shape = draw(shapes(min_dims=1, max_dims=2, min_side=1, max_side=4))
    x = draw(array(shape, lo=0.05, hi=0.95))
    t = draw(array(shape, lo=0.02, hi=0.98))  # finite differences must stay inside [0, 1]
    w = draw(st.one_of(st.none(), hnp.arrays(np.float64, shape[-1:], elements=st.floats(0.5, 2.0))))
    return x, t, w, draw(st.sampled_from(["mean", "sum", "none"]))


@S
def _bce_logits_case(draw):
    shape = draw(shapes(min_dims=1, max_dims=2, min_side=1, max_side=4))
    x = draw(array(shape, lo=-6.0, hi=6.0))
    t = draw(array(shape, lo=0.0, hi=1.0))
    w = draw(st.one_of(st.none(), hnp.arrays(np.float64, shape[-1:], elements=st.floats(0.5, 2.0))))
    pw = draw(st.one_of(st.none(), hnp.arrays(np.float64, shape[-1:], elements=st.floats(0.5, 3.0))))
    return x, t, w, pw, draw(st.sampled_from(["mean", "sum", "none"]))


@S
def _pair(draw, lo=-3.0, hi=3.0):
    shape = draw(shapes(min_dims=1, max_dims=3, min_side=1))
    return draw(array(shape, lo, hi)), draw(array(shape, lo, hi)), draw(st.sampled_from(["mean", "sum", "none"]))


@S
def _l1_pair(draw):
    a, b, r = draw(_pair())
    d = away_from(a - b)  # |.| has a kink at 0
    return b + d, b, r


def _dropout(x):
    tg.manual_seed(1234)  # the same mask on every call (gradcheck calls fn many times)
    return F.dropout(x, 0.4, training=True)


def _dropout_ref(x):
    g = np.random.default_rng(1234)
    keep = g.random(x.shape, dtype=np.float64) >= 0.4
    return x * keep / 0.6


ROWS = [
    OpRow(
        "F.linear",
        lambda x, w, b: F.linear(x, w, b),
        _linear_case(),
        lambda x, w, b: x @ w.T + b,
        covers=("TunedLinear",),
    ),
    OpRow(
        "F.linear_no_bias",
        lambda x, w, b: F.linear(x, w),
        _linear_case(),
        lambda x, w, b: x @ w.T,
        covers=("TunedLinear",),
        differentiable=(0, 1),
    ),
    OpRow(
        "F.linear_input_only",
        lambda x, w, b: F.linear(x, w, b),
        _linear_case(),
        lambda x, w, b: x @ w.T + b,
        covers=("TunedLinear",),
        differentiable=(0,),
    ),
    OpRow("F.cross_entropy", _ce, _ce_case(), ce_ref, covers=("TunedCrossEntropy",), differentiable=(0,)),
    # the reading path's ops themselves (nn.functional runs the tuned ones above)
    OpRow(
        "Linear (reference)",
        lambda x, w, b: Linear.apply(x, w, b),
        _linear_case(),
        lambda x, w, b: x @ w.T + b,
        covers=("Linear",),
    ),
    OpRow(
        "CrossEntropy (reference)",
        lambda x, t, w, ii, eps, red: CrossEntropy.apply(
            x, target=_array(t), weight=_array(w), ignore_index=ii, label_smoothing=eps, reduction=red
        ),
        _ce_case(),
        ce_ref,
        covers=("CrossEntropy",),
        differentiable=(0,),
    ),
    OpRow("F.cross_entropy_kdim", _ce, _ce_case(kdim=True), ce_ref, covers=("TunedCrossEntropy",), differentiable=(0,)),
    OpRow(
        "F.cross_entropy_probs",
        lambda x, p, e, r: F.cross_entropy(x, p, label_smoothing=e, reduction=r),
        _ce_prob_case(),
        lambda x, p, e, r: ce_prob_ref(x, p, eps=e, reduction=r),
    ),
    OpRow(
        "F.nll_loss",
        lambda lp, t, w, ii, r: F.nll_loss(lp, tg.from_numpy(t), weight=w, ignore_index=ii, reduction=r),
        _nll_case(),
        nll_ref,
        covers=("NLLLoss",),
        differentiable=(0,),
    ),
    OpRow(
        "F.binary_cross_entropy",
        lambda x, t, w, r: F.binary_cross_entropy(x, t, weight=w, reduction=r),
        _bce_case(),
        bce_ref,
        covers=("BinaryCrossEntropy",),
        differentiable=(0, 1),
    ),
    OpRow(
        "F.binary_cross_entropy_with_logits",
        lambda x, t, w, pw, r: F.binary_cross_entropy_with_logits(x, t, weight=w, pos_weight=pw, reduction=r),
        _bce_logits_case(),
        bce_logits_ref,
        covers=("BinaryCrossEntropyWithLogits",),
        differentiable=(0, 1),
    ),
    OpRow(
        "F.mse_loss", lambda a, b, r: F.mse_loss(a, b, reduction=r), _pair(), lambda a, b, r: _reduce((a - b) ** 2, r)
    ),
    OpRow(
        "F.l1_loss", lambda a, b, r: F.l1_loss(a, b, reduction=r), _l1_pair(), lambda a, b, r: _reduce(np.abs(a - b), r)
    ),
    OpRow("F.dropout", _dropout, array(min_dims=1, min_side=1), _dropout_ref),
    OpRow(
        "F.leaky_relu",
        lambda x: F.leaky_relu(x, 0.2),
        array().map(away_from),
        lambda x: np.where(x > 0, x, 0.2 * x),
    ),
    OpRow(
        "F.softplus",
        lambda x, b: F.softplus(x, beta=b, threshold=4.0),
        st.tuples(array(lo=-8.0, hi=8.0).map(lambda a: away_from(a, (4.0, 2.0))), st.sampled_from([1.0, 2.0])),
        lambda x, b: np.where(b * x > 4.0, x, np.logaddexp(0, b * x) / b),
        covers=("Softplus",),
    ),
    OpRow(
        "F.log_softmax_softmax",
        lambda x: F.log_softmax(x, dim=-1) + F.softmax(x, dim=-1),
        array(min_dims=1, min_side=1),
        lambda x: _log_softmax(x, -1) + np.exp(_log_softmax(x, -1)),
    ),
]
