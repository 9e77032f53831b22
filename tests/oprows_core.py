"""Op-table rows for the core ops (elementwise, reductions, views, linear algebra)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from optable import OpRow, array, away_from, broadcast_pair, layout, positive, shapes

import tinygrad_ko as tg
from tinygrad_ko.ops.elementwise import Relu

S = st.composite


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _logsumexp(x, axis, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


@S
def _with_dim(draw, min_dims=1, lo=-3.0, hi=3.0, min_side=1):
    x = draw(array(min_dims=min_dims, min_side=min_side, lo=lo, hi=hi))
    dim = draw(st.integers(-x.ndim, x.ndim - 1))
    return x, dim


@S
def _with_dims(draw, min_side=1):
    """An array and a reduction spec: None, an int or a tuple of dims; plus keepdim."""
    x = draw(array(min_dims=1, min_side=min_side))
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        dim = None
    elif kind == "int":
        dim = draw(st.integers(-x.ndim, x.ndim - 1))
    else:
        dim = tuple(draw(st.sets(st.integers(0, x.ndim - 1), min_size=1)))
    return x, dim, draw(st.booleans())


@S
def _distinct(draw, **kw):
    """Values without ties (max/min/sort gradients are only defined away from ties)."""
    shape = draw(shapes(min_dims=1, min_side=1, **kw))
    n = int(np.prod(shape))
    vals = draw(st.permutations(list(range(n))))
    arr = (np.array(vals, dtype=np.float64) * 0.37 - n * 0.1).reshape(shape)
    return draw(layout(arr))


@S
def _matmul_pair(draw):
    kind = draw(st.sampled_from(["1x1", "1x2", "2x1", "2x2", "batched", "broadcast"]))
    n, k, m, b = (draw(st.integers(1, 3)) for _ in range(4))
    shapes_ = {
        "1x1": ((k,), (k,)),
        "1x2": ((k,), (k, m)),
        "2x1": ((n, k), (k,)),
        "2x2": ((n, k), (k, m)),
        "batched": ((b, n, k), (b, k, m)),
        "broadcast": ((b, 1, n, k), (2, k, m)),
    }[kind]
    return draw(array(shapes_[0])), draw(array(shapes_[1]))


def _d(x):
    return x.ndim


def _amax_ref(x, dim, keepdim):
    return np.max(x, axis=dim, keepdims=keepdim)


def _dims(x, dim):
    return None if dim is None else tuple(d % x.ndim for d in (dim if isinstance(dim, tuple) else (dim,)))


@S
def _index_case(draw):
    x = draw(array(min_dims=2, max_dims=3, min_side=2))
    kind = draw(st.sampled_from(["int", "slice", "step", "ellipsis", "none", "neg"]))
    idx = {
        "int": (1,),
        "slice": (slice(0, 2),),
        "step": (slice(None), slice(None, None, 2)),
        "ellipsis": (Ellipsis, 0),
        "none": (None, slice(1, None)),
        "neg": (-1, slice(None, -1)),
    }[kind]
    return x, idx


@S
def _advanced_index(draw):
    x = draw(array(min_dims=1, max_dims=3, min_side=2))
    n = x.shape[0]
    idx = np.array(draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=5)))  # repeats accumulate
    return x, idx


@S
def _mask_index(draw):
    x = draw(array(min_dims=1, max_dims=2, min_side=1))
    mask = draw(hnp.arrays(np.bool_, x.shape))
    return x, mask


@S
def _cat_case(draw):
    base = draw(shapes(min_dims=1, max_dims=3, min_side=1, max_side=3))
    dim = draw(st.integers(0, len(base) - 1))
    arrs = []
    for _ in range(draw(st.integers(1, 3))):
        shp = list(base)
        shp[dim] = draw(st.integers(0, 3))
        arrs.append(draw(array(tuple(shp))))
    return tuple(arrs) + (dim,)


@S
def _expand_case(draw):
    x = draw(array(min_dims=1, max_dims=3, min_side=1, max_side=3))
    target = [s if s != 1 else draw(st.integers(1, 3)) for s in x.shape]
    lead = draw(st.lists(st.integers(1, 3), max_size=1))
    return x, tuple(lead + target)


@S
def _permute_case(draw):
    x = draw(array(min_dims=1, max_dims=4, min_side=1, max_side=3))
    return x, tuple(draw(st.permutations(range(x.ndim))))


@S
def _reshape_case(draw):
    x = draw(array(min_dims=1, max_dims=3, min_side=1, max_side=4))
    shape = (-1,) if draw(st.booleans()) else (x.size // x.shape[-1], x.shape[-1])
    return x, shape


@S
def _as_strided_case(draw):
    x = np.ascontiguousarray(draw(floats_1d(draw(st.integers(4, 9)))))
    return x, (2, 2), (1, 2), draw(st.integers(0, x.size - 4))


def floats_1d(n):
    return hnp.arrays(np.float64, (n,), elements=st.floats(-3, 3, width=64))


@S
def _pad_case(draw):
    x = draw(array(min_dims=1, max_dims=3, min_side=1, max_side=3))
    p = tuple(draw(st.integers(0, 2)) for _ in range(2 * draw(st.integers(1, x.ndim))))
    return x, p, draw(st.sampled_from([0.0, 1.5]))


def _np_pad(x, p, value):
    widths = [(0, 0)] * x.ndim
    for i in range(len(p) // 2):
        widths[-1 - i] = (p[2 * i], p[2 * i + 1])
    return np.pad(x, widths, constant_values=value)


@S
def _where_case(draw):
    a, b = draw(broadcast_pair())
    cond = draw(hnp.arrays(np.bool_, np.broadcast_shapes(a.shape, b.shape)))
    return a, b, cond


@S
def _clamp_case(draw):
    x = draw(array())
    lo = draw(st.sampled_from([None, -1.0]))
    hi = draw(st.sampled_from([None, 1.0])) if lo is not None else 1.0
    pts = tuple(p for p in (lo, hi) if p is not None)
    return away_from(x, pts), lo, hi


def _clamp_ref(x, lo, hi):
    return np.clip(x, lo, hi)


def _no_ties(pair):
    """a on the half-integers, b a quarter off them: a != b everywhere (max/min kinks)."""
    a, b = pair
    return np.asarray(np.round(a * 2) / 2), np.asarray(np.round(b * 2) / 2 + 0.25)


def _pow_pair():
    return broadcast_pair(lo=0.3, hi=2.0)


@S
def _prod_case(draw):
    x = draw(array(min_dims=1, max_dims=2, min_side=1, max_side=3, lo=0.5, hi=1.5))
    dim = draw(st.sampled_from([None, 0, -1]))
    return x, dim


@S
def _var_case(draw):
    x = draw(array(min_dims=1, max_dims=3, min_side=2))
    dim = draw(st.sampled_from([None, 0, -1]))
    return x, dim, draw(st.booleans())


def _spread(case):
    """Make every slice have nonzero variance (std is not differentiable at 0): values lie in
    [-3, 3], so adding 7 * flat index keeps any two elements at least 1 apart (a step of 0.5 let
    CI's profile draw a slice of two zeros)."""
    x = case[0]
    return (x + np.arange(x.size, dtype=np.float64).reshape(x.shape) * 7.0,) + case[1:]


@S
def _split_case(draw):
    x = draw(array(min_dims=1, max_dims=2, min_side=2, max_side=5))
    return x, draw(st.integers(1, x.shape[0]))


ROWS = [
    # ---- arithmetic (broadcast pairs, size-1 and empty dims, non-contiguous layouts) ----
    OpRow("add", lambda a, b: a + b, broadcast_pair(), lambda a, b: a + b, covers=("Add",)),
    OpRow("sub", lambda a, b: a - b, broadcast_pair(), lambda a, b: a - b, covers=("Sub",)),
    OpRow("mul", lambda a, b: a * b, broadcast_pair(), lambda a, b: a * b, covers=("Mul",)),
    OpRow("div", lambda a, b: a / b, broadcast_pair(lo=0.5, hi=2.0), lambda a, b: a / b, covers=("Div",)),
    OpRow("pow_tensor", lambda a, b: a**b, _pow_pair(), lambda a, b: a**b, covers=("Pow",)),
    OpRow("maximum", lambda a, b: a.maximum(b), broadcast_pair().map(_no_ties), np.maximum, covers=("Maximum",)),
    OpRow("minimum", lambda a, b: tg.minimum(a, b), broadcast_pair().map(_no_ties), np.minimum, covers=("Minimum",)),
    OpRow("max_other", lambda a, b: a.max(b), broadcast_pair().map(_no_ties), np.maximum, covers=("Maximum",)),
    OpRow(
        "where",
        lambda a, b, c: tg.where(tg.from_numpy(c), a, b),
        _where_case(),
        lambda a, b, c: np.where(c, a, b),
        covers=("Where",),
    ),
    OpRow("add_scalar", lambda a: 2.5 + a - 1.0, array(), lambda a: 2.5 + a - 1.0, covers=("AddScalar",)),
    OpRow("mul_scalar", lambda a: 3.0 * a / 2.0, array(), lambda a: 3.0 * a / 2.0, covers=("MulScalar",)),
    OpRow("rsub_scalar", lambda a: 1.0 - a, array(), lambda a: 1.0 - a, covers=("RSubScalar",)),
    OpRow("rdiv_scalar", lambda a: 2.0 / a, positive(), lambda a: 2.0 / a, covers=("RDivScalar",)),
    OpRow(
        "pow_scalar", lambda a: a**3 + a**2 + a**0.5, positive(), lambda a: a**3 + a**2 + a**0.5, covers=("PowScalar",)
    ),
    OpRow("rpow_scalar", lambda a: 2.0**a, array(), lambda a: 2.0**a, covers=("RPowScalar",)),
    # ---- unary ----
    OpRow("neg", lambda a: -a, array(), lambda a: -a, covers=("Neg",)),
    OpRow("abs", lambda a: a.abs(), array().map(away_from), np.abs, covers=("Abs",)),
    OpRow("exp", lambda a: a.exp(), array(), np.exp, covers=("Exp",)),
    OpRow("log", lambda a: a.log(), positive(), np.log, covers=("Log",)),
    OpRow("sqrt", lambda a: a.sqrt(), positive(), np.sqrt, covers=("Sqrt",)),
    OpRow("rsqrt", lambda a: a.rsqrt(), positive(), lambda a: 1 / np.sqrt(a), covers=("Rsqrt",)),
    OpRow("sin", lambda a: a.sin(), array(), np.sin, covers=("Sin",)),
    OpRow("cos", lambda a: a.cos(), array(), np.cos, covers=("Cos",)),
    OpRow("tanh", lambda a: a.tanh(), array(), np.tanh, covers=("Tanh",)),
    OpRow("sigmoid", lambda a: a.sigmoid(), array(), _sigmoid, covers=("Sigmoid",)),
    OpRow("relu", lambda a: a.relu(), array().map(away_from), lambda a: np.maximum(a, 0), covers=("TunedRelu",)),
    OpRow(
        "relu (reference)",
        lambda a: Relu.apply(a),
        array().map(away_from),
        lambda a: np.maximum(a, 0),
        covers=("Relu",),
    ),
    OpRow("clamp", lambda a, lo, hi: a.clamp(lo, hi), _clamp_case(), _clamp_ref, covers=("Clamp",)),
    OpRow(
        "cast",
        lambda a: a.float().double() * 1.0,
        array(),
        lambda a: a.astype(np.float32).astype(np.float64),
        covers=("Cast",),
        atol=1e-3,
        rtol=1e-2,
        eps=1e-3,
    ),
    OpRow("clone", lambda a: a.clone() * 2.0, array(), lambda a: a * 2.0, covers=("Copy",)),
    # ---- reductions ----
    OpRow(
        "sum",
        lambda a, d, k: a.sum(d, keepdim=k),
        _with_dims(min_side=0),
        lambda a, d, k: np.sum(a, axis=_dims(a, d), keepdims=k),
        covers=("Sum",),
    ),
    OpRow(
        "mean",
        lambda a, d, k: a.mean(d, keepdim=k),
        _with_dims(),
        lambda a, d, k: np.mean(a, axis=_dims(a, d), keepdims=k),
        covers=("Mean",),
    ),
    OpRow("var", lambda a, d, u: a.var(d, unbiased=u), _var_case(), lambda a, d, u: np.var(a, axis=d, ddof=int(u))),
    OpRow(
        "std",
        lambda a, d, u: a.std(d, unbiased=u),
        _var_case().map(_spread),
        lambda a, d, u: np.std(a, axis=d, ddof=int(u)),
    ),
    OpRow("prod", lambda a, d: a.prod(d), _prod_case(), lambda a, d: np.prod(a, axis=d), covers=("Prod",)),
    OpRow(
        "amax",
        lambda a: a.amax(-1) + a.amin(0).sum(),
        _distinct(),
        lambda a: a.max(-1) + a.min(0).sum(),
        covers=("Amax",),
    ),
    OpRow("max_full", lambda a: a.max() + a.min(), _distinct(), lambda a: a.max() + a.min(), covers=("Amax",)),
    OpRow(
        "max_dim",
        lambda a: a.max(0).values + a.min(-1, keepdim=True).values.sum(),
        _distinct(),
        lambda a: a.max(0) + a.min(-1, keepdims=True).sum(),
        covers=("MaxDim",),
    ),
    OpRow("logsumexp", lambda a, d: a.logsumexp(d), _with_dim(), lambda a, d: _logsumexp(a, d), covers=("LogSumExp",)),
    OpRow(
        "softmax",
        lambda a, d: a.softmax(d),
        _with_dim(),
        lambda a, d: np.exp(a - _logsumexp(a, d, True)),
        covers=("Softmax",),
    ),
    OpRow(
        "log_softmax",
        lambda a, d: a.log_softmax(d),
        _with_dim(),
        lambda a, d: a - _logsumexp(a, d, True),
        covers=("LogSoftmax",),
    ),
    OpRow(
        "sort_topk",
        lambda a: a.sort(-1).values * 2.0 + a.topk(1, dim=-1).values.sum(),
        _distinct(),
        lambda a: np.sort(a, -1) * 2.0 + np.sort(a, -1)[..., -1:].sum(),
        covers=("Gather",),
        gradgrad=False,
    ),
    # ---- linear algebra ----
    OpRow("matmul", lambda a, b: a @ b, _matmul_pair(), np.matmul, covers=("Matmul",)),
    # ---- views and shape ops ----
    OpRow("reshape", lambda a, s: a.reshape(*s), _reshape_case(), lambda a, s: a.reshape(s), covers=("Reshape",)),
    OpRow(
        "flatten_unsqueeze",
        lambda a: a.flatten().unsqueeze(0).squeeze(0),
        array(min_dims=1),
        lambda a: a.reshape(-1),
        covers=("Reshape",),
    ),
    OpRow("expand", lambda a, s: a.expand(*s), _expand_case(), lambda a, s: np.broadcast_to(a, s), covers=("Expand",)),
    OpRow("permute", lambda a, p: a.permute(*p), _permute_case(), lambda a, p: a.transpose(p), covers=("Permute",)),
    OpRow(
        "transpose_T",
        lambda a: a.transpose(0, -1) + a.T,
        array(min_dims=2, max_dims=2),
        lambda a: a.swapaxes(0, -1) + a.T,
        covers=("Permute",),
    ),
    OpRow("getitem_basic", lambda a, i: a[i], _index_case(), lambda a, i: a[i], covers=("GetItem",)),
    OpRow(
        "getitem_int_array",
        lambda a, i: a[tg.from_numpy(i)],
        _advanced_index(),
        lambda a, i: a[i],
        covers=("GetItemCopy",),
    ),
    OpRow("getitem_mask", lambda a, m: a[tg.from_numpy(m)], _mask_index(), lambda a, m: a[m], covers=("GetItemCopy",)),
    OpRow(
        "cat",
        lambda *a: tg.cat(list(a[:-1]), dim=a[-1]),
        _cat_case(),
        lambda *a: np.concatenate(a[:-1], axis=a[-1]),
        covers=("Cat",),
    ),
    OpRow(
        "stack",
        lambda a, b: tg.stack([a, b * 2.0], dim=-1),
        broadcast_pair().map(lambda p: (p[0], p[0].copy())),
        lambda a, b: np.stack([a, b * 2.0], -1),
        covers=("Cat",),
    ),
    OpRow(
        "split_chunk",
        lambda a, n: sum(p.sum() for p in a.split(n)) + a.chunk(2)[0].sum(),
        _split_case(),
        lambda a, n: (
            a.sum() + np.array_split(a, 2)[0].sum() if a.shape[0] % 2 == 0 else a.sum() + a[: -(-a.shape[0] // 2)].sum()
        ),
    ),
    OpRow("pad", lambda a, p, v: tg.pad(a, p, value=v), _pad_case(), _np_pad, covers=("Pad",)),
    OpRow(
        "as_strided",
        lambda a, s, st_, o: a.as_strided(s, st_, o),
        _as_strided_case(),
        lambda a, s, st_, o: np.lib.stride_tricks.as_strided(a[o:], s, tuple(x * 8 for x in st_)),
        covers=("AsStrided",),
        gradgrad=False,
    ),
    OpRow(
        "setitem",
        lambda a, v: _setitem(a, v),
        st.tuples(array((3, 4)), array((4,))),
        lambda a, v: _np_setitem(a, v),
        covers=("SetItem",),
    ),
]


def _setitem(a, v):
    x = a * 1.0
    x[1] = v
    return x


def _np_setitem(a, v):
    x = a.copy()
    x[1] = v
    return x
