"""Op-table rows for issue 15's tensor ops: rounding and the log/exp family, scans, tril/triu,
flip/roll/repeat/diag/sum_to_size, einsum, norms and scatter."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from optable import OpRow, array, layout, positive, shapes

import tinygrad_ko as tg

S = st.composite


def _off_steps(x: np.ndarray, period: float = 1.0, phase: float = 0.0) -> np.ndarray:
    """Move values off the jumps of a step function (at phase + k * period), where finite
    differences see the jump instead of the zero slope."""
    pos = (x - phase) / period
    near = np.abs(pos - np.round(pos)) * period < 1e-3
    out = x.copy()
    out[near] += period / 4
    return out


@S
def _with_dim(draw, min_dims=1, max_dims=3, lo=-3.0, hi=3.0):
    x = draw(array(min_dims=min_dims, max_dims=max_dims, min_side=0, max_side=4, lo=lo, hi=hi))
    return x, draw(st.integers(-x.ndim, x.ndim - 1))


@S
def _with_zeros(draw):
    """A cumprod input with exact zeros in it (one or two per slice, anywhere)."""
    x, dim = draw(_with_dim(max_dims=2, lo=0.5, hi=2.0))
    zeros = draw(hnp.arrays(np.bool_, x.shape, elements=st.booleans()))
    x = np.where(zeros, 0.0, x * np.where(np.arange(x.size).reshape(x.shape) % 2, 1.0, -1.0))
    return x, dim


@S
def _tri_case(draw):
    return draw(array(min_dims=2, max_dims=3, min_side=0)), draw(st.integers(-3, 3))


@S
def _flip_case(draw):
    x = draw(array(min_dims=1, max_dims=3))
    dims = draw(st.lists(st.integers(-x.ndim, x.ndim - 1), min_size=1, max_size=x.ndim, unique_by=lambda d: d % x.ndim))
    return x, tuple(dims)


@S
def _roll_case(draw):
    x = draw(array(min_dims=1, max_dims=3))
    if draw(st.booleans()):
        return x, draw(st.integers(-7, 7)), None
    dims = draw(st.lists(st.integers(0, x.ndim - 1), min_size=1, max_size=x.ndim, unique=True))
    return x, tuple(draw(st.integers(-5, 5)) for _ in dims), tuple(dims)


@S
def _repeat_case(draw):
    x = draw(array(max_dims=3, max_side=3))
    extra = draw(st.integers(0, 1))
    return x, tuple(draw(st.integers(0, 3)) for _ in range(x.ndim + extra))


@S
def _diag_case(draw):
    x = draw(array(min_dims=1, max_dims=2, min_side=0))
    return x, draw(st.integers(-3, 3))


@S
def _sum_to_size_case(draw):
    x = draw(array(min_dims=1, max_dims=3, min_side=1))
    lead = draw(st.integers(0, x.ndim))
    return x, tuple(s if draw(st.booleans()) else 1 for s in x.shape[lead:])


def _np_sum_to_size(x, size):
    lead = x.ndim - len(size)
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(size) if s == 1 and x.shape[lead + i] != 1)
    return x.sum(axis=axes).reshape(size)


# ---- einsum: equations with their operand shapes drawn from letter sizes ---------------------
EINSUM_EQUATIONS = [
    "ij,jk->ik",  # matmul
    "ij,jk",  # implicit output
    "bij,bjk->bik",  # batched
    "i,j->ij",  # outer
    "i,i",  # dot
    "ij->ji",
    "ij->",
    "ii->i",  # a diagonal (repeated index)
    "ii",  # the trace
    "iij->j",
    "ijk,jl->il",  # k summed by operand 0 alone
    "ij,ij,ij->i",  # three operands
    "...ij,...jk->...ik",  # ellipsis, broadcast batch
    "b...,...b",
    "i...->...",
]


@S
def _einsum_case(draw):
    eq = draw(st.sampled_from(EINSUM_EQUATIONS))
    sizes = {c: draw(st.integers(1, 3)) for c in "abcdefghijklmnopqrstuvwxyz"}
    lhs = eq.split("->")[0]
    batch = tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2))))
    arrays = []
    for term in lhs.split(","):
        ell = batch
        if "..." in term and draw(st.booleans()):  # an operand may omit or squeeze the batch dims
            ell = tuple(1 if draw(st.booleans()) else b for b in batch[draw(st.integers(0, len(batch))) :])
        arrays.append(draw(array(_term_shape(term, sizes, ell))))
    return (eq, *arrays)


def _term_shape(term, sizes, ell):
    before, dots, after = term.partition("...")
    return tuple([sizes[c] for c in before] + (list(ell) if dots else []) + [sizes[c] for c in after])


# ---- norms ------------------------------------------------------------------------------------
@S
def _norm_case(draw):
    """An input (no two |x| alike, none near 0: the kinks of |x| and of max), an order and dims."""
    shape = draw(shapes(min_dims=1, max_dims=3, min_side=1, max_side=3))
    n = int(np.prod(shape))
    k = np.array(draw(st.permutations(range(n))), dtype=np.float64)
    magnitudes = 0.3 + 0.37 * k + 0.01 * np.sqrt(k)  # the sqrt: no two row/column sums alike either
    signs = np.array(draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=n, max_size=n)))
    x = draw(layout((magnitudes * signs).reshape(shape)))
    ord_ = draw(st.sampled_from([2, 1, math.inf, -math.inf, 0, 3, 1.5, 0.5, -1]))
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        dim = None
    elif kind == "int":
        dim = draw(st.integers(-x.ndim, x.ndim - 1))
    else:
        dim = tuple(draw(st.sets(st.integers(0, x.ndim - 1), min_size=1)))
    return x, ord_, dim, draw(st.booleans())


def _np_vector_norm(x, ord_, dim, keepdim):
    axis = dim if dim is None or isinstance(dim, tuple) else (dim,)
    a = np.abs(x)
    if ord_ == math.inf:
        return a.max(axis=axis, keepdims=keepdim)
    if ord_ == -math.inf:
        return a.min(axis=axis, keepdims=keepdim)
    if ord_ == 0:
        return (a != 0).sum(axis=axis, keepdims=keepdim).astype(np.float64)
    return (a**ord_).sum(axis=axis, keepdims=keepdim) ** (1.0 / ord_)


@S
def _matrix_norm_case(draw):
    x = draw(_norm_case())[0]
    x = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
    return x, draw(st.sampled_from(["fro", 1, -1, math.inf, -math.inf]))


@S
def _spectral_case(draw):
    """A stack of matrices A = Q1 diag(s) Q2 with distinct singular values away from 0 (a tie in the
    max or min is a kink of ord 2 / -2), a spectral order and the two matrix dims."""
    batch = draw(st.sampled_from([(), (2,)]))
    m, n = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    k = min(m, n)
    mats = []
    for _ in range(int(np.prod(batch, dtype=int))):
        q1, _ = np.linalg.qr(rng.standard_normal((m, m)))
        q2, _ = np.linalg.qr(rng.standard_normal((n, n)))
        values = 0.5 + 0.6 * rng.permutation(k)
        mats.append(q1[:, :k] @ np.diag(values) @ q2[:k, :])
    x = np.stack(mats).reshape(*batch, m, n)
    dims = draw(st.sampled_from([(-2, -1), (-1, -2)]))
    if draw(st.booleans()):  # a transposed layout (not layout()'s expanded one: rank 1, tied zeros)
        x = np.ascontiguousarray(x.swapaxes(-1, -2)).swapaxes(-1, -2)
    return x, draw(st.sampled_from([2, -2, "nuc"])), dims


def _np_spectral_norm(x, ord_, dims):
    s = np.linalg.svd(np.moveaxis(x, dims, (-2, -1)), compute_uv=False)
    return {2: s.max(-1), -2: s.min(-1), "nuc": s.sum(-1)}[ord_]


def _np_matrix_norm(x, ord_):
    if ord_ == "fro":
        return np.sqrt((x * x).sum())
    col, row = np.abs(x).sum(0), np.abs(x).sum(1)
    return {1: col.max(), -1: col.min(), math.inf: row.max(), -math.inf: row.min()}[ord_]


# ---- scatter ----------------------------------------------------------------------------------
@S
def _scatter_case(draw, distinct=True):
    """self, src (at least index's size), dim and an index; with ``distinct`` no two index
    entries write the same element (an overwrite's gradient is defined only then)."""
    x = draw(array(min_dims=1, max_dims=3, min_side=1, max_side=4))
    dim = draw(st.integers(0, x.ndim - 1))
    ishape = tuple(draw(st.integers(0, s)) for s in x.shape)
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if distinct:
        # each line along dim gets distinct targets: a random permutation's first entries
        lines = rng.permuted(
            np.broadcast_to(np.arange(x.shape[dim]), ishape[:dim] + ishape[dim + 1 :] + (x.shape[dim],)), axis=-1
        )
        index = np.moveaxis(lines[..., : ishape[dim]], -1, dim)
    else:
        index = rng.integers(0, x.shape[dim], ishape)
    src = draw(array(tuple(i + draw(st.integers(0, 1)) for i in ishape)))
    return x, src, dim, np.ascontiguousarray(index)


def _np_scatter(x, src, dim, index, add=False):
    out = x.copy()
    coords = list(np.indices(index.shape, sparse=True))
    coords[dim] = index
    values = src[tuple(slice(0, n) for n in index.shape)]
    if add:
        np.add.at(out, tuple(coords), values)
    else:
        out[tuple(coords)] = values
    return out


def _scatter_inplace(x, src, dim, index):
    out = x * 1.0  # a non-leaf, so the in-place op is recorded
    out.scatter_(dim, tg.from_numpy(index), src)
    return out


ROWS = [
    # ---- rounding: zero slope away from the steps; frac: slope one ----
    OpRow("floor", lambda a: a.floor(), array().map(_off_steps), np.floor, covers=("Floor",)),
    OpRow("ceil", lambda a: tg.ceil(a), array().map(_off_steps), np.ceil, covers=("Ceil",)),
    OpRow("trunc", lambda a: a.trunc(), array().map(_off_steps), np.trunc, covers=("Trunc",)),
    OpRow("round", lambda a: a.round(), array().map(lambda x: _off_steps(x, 1.0, 0.5)), np.round, covers=("Round",)),
    OpRow(
        "round_decimals",
        lambda a: tg.round(a, decimals=1),
        array().map(lambda x: _off_steps(x, 0.1, 0.05)),
        lambda a: np.round(a, 1),
        covers=("Round",),
    ),
    OpRow("frac", lambda a: a.frac(), array().map(_off_steps), lambda a: a - np.trunc(a), covers=("Frac",)),
    # ---- the log/exp family ----
    OpRow("log2", lambda a: a.log2(), positive(), np.log2, covers=("Log2",)),
    OpRow("exp2", lambda a: tg.exp2(a), array(), np.exp2, covers=("Exp2",)),
    OpRow("log1p", lambda a: a.log1p(), array(lo=-0.7, hi=3.0), np.log1p, covers=("Log1p",)),
    OpRow("expm1", lambda a: a.expm1(), array(), np.expm1, covers=("Expm1",)),
    OpRow("tan", lambda a: a.tan(), array(lo=-1.2, hi=1.2), np.tan, covers=("Tan",)),
    # ---- scans ----
    OpRow("cumsum", lambda a, d: a.cumsum(d), _with_dim(), lambda a, d: np.cumsum(a, d), covers=("Cumsum",)),
    OpRow("cumsum_0d", lambda a: tg.cumsum(a, 0), array(shape=()), lambda a: a, covers=("Cumsum",)),
    OpRow(
        "cumprod",
        lambda a, d: a.cumprod(d),
        _with_dim(lo=0.5, hi=1.5),
        lambda a, d: np.cumprod(a, d),
        covers=("Cumprod",),
    ),
    OpRow(
        "cumprod_with_zeros",
        lambda a, d: a.cumprod(d),
        _with_zeros(),
        lambda a, d: np.cumprod(a, d),
        covers=("Cumprod",),
    ),
    # ---- masks, flips, tiling ----
    OpRow("tril", lambda a, k: a.tril(k), _tri_case(), lambda a, k: np.tril(a, k), covers=("Tril",)),
    OpRow("triu", lambda a, k: tg.triu(a, diagonal=k), _tri_case(), lambda a, k: np.triu(a, k), covers=("Triu",)),
    OpRow("flip", lambda a, d: a.flip(*d), _flip_case(), lambda a, d: np.flip(a, d), covers=("Flip",)),
    OpRow("roll", lambda a, s, d: a.roll(s, d), _roll_case(), lambda a, s, d: np.roll(a, s, d), covers=("Roll",)),
    OpRow("repeat", lambda a, r: a.repeat(list(r)), _repeat_case(), lambda a, r: np.tile(a, r), covers=("Repeat",)),
    OpRow(
        "diag",
        lambda a, k: a.diag(k),
        _diag_case(),
        lambda a, k: np.diag(a, k),
        covers=("Diag", "Diagonal"),
    ),
    OpRow("sum_to_size", lambda a, s: a.sum_to_size(s), _sum_to_size_case(), _np_sum_to_size),
    # ---- einsum ----
    OpRow(
        "einsum",
        lambda eq, *ops: tg.einsum(eq, *ops),
        _einsum_case(),
        lambda eq, *ops: np.asarray(np.einsum(eq, *ops)),
        covers=("Einsum",),
    ),
    # ---- norms (away from 0 and from ties: the kinks) ----
    OpRow(
        "vector_norm",
        lambda a, o, d, k: tg.linalg.vector_norm(a, o, d, k),
        _norm_case(),
        _np_vector_norm,
        covers=("VectorNorm",),
    ),
    OpRow(
        "matrix_norm",
        lambda a, o: tg.linalg.norm(a, o),
        _matrix_norm_case(),
        _np_matrix_norm,
        covers=("VectorNorm",),
    ),
    OpRow(
        "matrix_norm_spectral",
        lambda a, o, d: tg.linalg.matrix_norm(a, o, d),
        _spectral_case(),
        _np_spectral_norm,
        covers=("SingularValues",),
        gradgrad=False,  # once differentiable: a NumPy backward on the saved U and V
    ),
    # ---- scatter (the gather back is its own row's double backward) ----
    OpRow(
        "scatter",
        lambda a, s, d, i: a.scatter(d, tg.from_numpy(i), s),
        _scatter_case(),
        _np_scatter,
        covers=("Scatter", "GatherAlong"),
    ),
    OpRow(
        "scatter_value",
        lambda a, d, i: tg.scatter(a, d, tg.from_numpy(i), 2.5),
        _scatter_case().map(lambda c: (c[0], c[2], c[3])),
        lambda a, d, i: _np_scatter(a, np.full(i.shape, 2.5), d, i),
        covers=("Scatter",),
    ),
    OpRow("scatter_", _scatter_inplace, _scatter_case(), _np_scatter, covers=("Scatter",)),
    OpRow(
        "scatter_add",
        lambda a, s, d, i: a.scatter_add(d, tg.from_numpy(i), s),
        _scatter_case(distinct=False),
        lambda a, s, d, i: _np_scatter(a, s, d, i, add=True),
        covers=("ScatterAdd", "GatherAlong"),
    ),
]
