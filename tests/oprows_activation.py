"""Op-table rows for the activations of ops/activation.py (GELU, SiLU, Mish, ELU/CELU, Hardtanh,
ReLU6, Hardswish, Softsign, erf) and for F.normalize, F.smooth_l1_loss and F.kl_div. References
are NumPy written from PyTorch's documented formulas (erf from Python's ``math.erf``). Inputs are
kept off the kinks, where finite differences cannot see a one-sided slope."""

from __future__ import annotations

import math
import warnings

import numpy as np
from hypothesis import strategies as st
from optable import OpRow, array, away_from, floats_array, shapes

import tinygrad_ko.nn.functional as F
from tinygrad_ko.ops.activation import Erf

S = st.composite

_erf = np.vectorize(math.erf, otypes=[np.float64])
K = math.sqrt(2 / math.pi)


def _sigmoid(x):
    return np.exp(-np.logaddexp(0, -x))


def _reduce(per, reduction):
    return per if reduction == "none" else per.sum() if reduction == "sum" else per.mean()


def _off(points, lo=-3.0, hi=3.0, **kw):
    """Arrays with no element within 0.01 of ``points``."""
    return array(lo=lo, hi=hi, **kw).map(lambda a: away_from(a, points))


# ---- activations -----------------------------------------------------------------------------------
def _elu_ref(x, alpha, scale=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0) * scale))


_alphas = st.sampled_from([1.0, 0.5, 2.0])


@S
def _hardtanh_case(draw):
    lo, hi = draw(st.sampled_from([(-1.0, 1.0), (-0.5, 2.0), (0.0, 6.0)]))
    return draw(_off((lo, hi), lo=lo - 2, hi=hi + 2)), lo, hi


ACTIVATIONS = [
    OpRow(
        "F.gelu",
        F.gelu,
        array(lo=-7.0, hi=7.0),
        lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2))),
        covers=("Gelu",),
    ),
    OpRow(
        "F.gelu_tanh",
        lambda x: F.gelu(x, approximate="tanh"),
        array(lo=-12.0, hi=12.0),
        lambda x: 0.5 * x * (1 + np.tanh(K * (x + 0.044715 * x**3))),
        covers=("GeluTanh",),
    ),
    OpRow("erf", Erf.apply, array(lo=-7.0, hi=7.0), _erf, covers=("Erf",)),
    OpRow("F.silu", F.silu, array(lo=-20.0, hi=20.0), lambda x: x * _sigmoid(x), covers=("Silu",)),
    OpRow(
        "F.mish",
        F.mish,
        array(lo=-20.0, hi=20.0),
        lambda x: x * np.tanh(np.logaddexp(0, x)),
        covers=("Mish",),
    ),
    OpRow(
        "F.elu",
        lambda x, a: F.elu(x, alpha=a),
        st.tuples(_off((0.0,)), _alphas),
        _elu_ref,
        covers=("Elu",),
    ),
    OpRow(
        "F.celu",
        lambda x, a: F.celu(x, alpha=a),
        st.tuples(_off((0.0,)), _alphas),
        lambda x, a: _elu_ref(x, a, 1 / a),
        covers=("Celu",),
    ),
    OpRow(
        "F.hardtanh",
        lambda x, lo, hi: F.hardtanh(x, lo, hi),
        _hardtanh_case(),
        lambda x, lo, hi: np.clip(x, lo, hi),
        covers=("Hardtanh",),
    ),
    OpRow("F.relu6", F.relu6, _off((0.0, 6.0), lo=-2.0, hi=8.0), lambda x: np.clip(x, 0, 6), covers=("Hardtanh",)),
    OpRow(
        "F.hardswish",
        F.hardswish,
        _off((-3.0, 3.0), lo=-5.0, hi=5.0),
        lambda x: x * np.clip(x + 3, 0, 6) / 6,
        covers=("Hardswish",),
    ),
    OpRow("F.softsign", F.softsign, _off((0.0,)), lambda x: x / (1 + np.abs(x)), covers=("Softsign",)),
]


# ---- normalize -----------------------------------------------------------------------------------
def _norm_ref(x, p, axes):
    a = np.abs(x)
    if p == math.inf:
        return a.max(axis=axes, keepdims=True)
    return (a**p).sum(axis=axes, keepdims=True) ** (1 / p)


@S
def _normalize_case(draw):
    """An array whose vectors all have norm well above eps; for the max norm the |values| are
    distinct (at a tie the max's gradient is split, which finite differences do not see)."""
    p = draw(st.sampled_from([2.0, 1.0, 3.0, math.inf]))
    shape = draw(shapes(min_dims=1, min_side=1))
    if p == math.inf:
        n = int(np.prod(shape))
        ranks = np.array(draw(st.permutations(range(n))), dtype=np.float64)
        signs = np.array(draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=n, max_size=n)))
        x = (signs * (0.2 + 0.13 * ranks)).reshape(shape)
    else:
        x = away_from(draw(floats_array(shape)), (0.0,), margin=0.05)  # |x| has a kink at 0 for p = 1
    if draw(st.booleans()):
        dim = draw(st.integers(-x.ndim, x.ndim - 1))
        axes = (dim % x.ndim,)
    else:
        dim = tuple(sorted(draw(st.sets(st.integers(0, x.ndim - 1), min_size=1))))
        axes = dim
    return x, p, dim, axes


NORMALIZE = [
    OpRow(
        "F.normalize",
        lambda x, p, dim, axes: F.normalize(x, p=p, dim=dim),
        _normalize_case(),
        lambda x, p, dim, axes: x / np.maximum(_norm_ref(x, p, axes), 1e-12),
    ),
]


# ---- smooth L1 and KL ------------------------------------------------------------------------------
@S
def _smooth_l1_case(draw):
    shape = draw(shapes(min_dims=1, min_side=1))
    beta = draw(st.sampled_from([1.0, 0.5, 0.0]))
    target = draw(array(shape))
    d = away_from(draw(floats_array(shape)), (-beta, 0.0, beta) if beta else (0.0,))
    return target + d, target, beta, draw(st.sampled_from(["mean", "sum", "none"]))


def _smooth_l1_ref(x, t, beta, reduction):
    d = np.abs(x - t)
    per = d if beta == 0 else np.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta)
    return _reduce(per, reduction)


@S
def _kl_case(draw, log_target=False, zeros=False):
    shape = draw(shapes(min_dims=1, min_side=1))
    logp = draw(array(shape, lo=-4.0, hi=0.0))
    if log_target:
        target = draw(array(shape, lo=-4.0, hi=0.0))
    else:
        target = draw(array(shape, lo=0.05, hi=1.0))
        if zeros:  # some targets exactly 0: 0 * log(0) counts as 0
            mask = np.array(draw(st.lists(st.booleans(), min_size=target.size, max_size=target.size)))
            target = np.where(mask.reshape(shape), 0.0, target)
    return logp, target, draw(st.sampled_from(["mean", "batchmean", "sum", "none"]))


def _kl(x, t, reduction, log_target=False):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 'mean' warns that it is not 'batchmean'
        return F.kl_div(x, t, reduction=reduction, log_target=log_target)


def _kl_ref(x, t, reduction, log_target=False):
    if log_target:
        per = np.exp(t) * (t - x)
    else:
        per = np.where(t > 0, t * np.log(np.where(t > 0, t, 1.0)), 0.0) - t * x
    if reduction == "batchmean":
        return per.sum() / x.shape[0]
    return _reduce(per, reduction)


LOSSES = [
    OpRow(
        "F.smooth_l1_loss",
        lambda x, t, beta, r: F.smooth_l1_loss(x, t, reduction=r, beta=beta),
        _smooth_l1_case(),
        _smooth_l1_ref,
    ),
    OpRow("F.kl_div", _kl, _kl_case(), _kl_ref),
    OpRow(
        "F.kl_div_log_target",
        lambda x, t, r: _kl(x, t, r, log_target=True),
        _kl_case(log_target=True),
        lambda x, t, r: _kl_ref(x, t, r, log_target=True),
    ),
    # t log t has no finite slope at t = 0: the gradient is checked for the input only
    OpRow("F.kl_div_zero_targets", _kl, _kl_case(zeros=True), _kl_ref, differentiable=(0,)),
]

ROWS = ACTIVATIONS + NORMALIZE + LOSSES
