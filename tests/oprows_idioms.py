"""Op-table rows for the piecewise ops (sign, remainder, rounded division) and gather with an
index smaller than its input. Inputs keep clear of the jumps, where finite differences mean nothing."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from optable import OpRow, array, away_from, layout

S = st.composite


@S
def _quotient_pair(draw):
    """(a, b) of broadcastable shapes, b of either sign and away from 0."""
    shape_a, shape_b = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3)).input_shapes
    a = draw(array(shape_a))
    b = draw(hnp.arrays(np.float64, shape_b, elements=st.sampled_from([-2.0, -1.5, -0.75, 0.75, 1.5, 2.0])))
    return a, draw(layout(b))


def _smooth_quotient(a, b):
    """a / b keeps clear of whole numbers, where remainder and rounded division jump."""
    q = a / b
    return bool(np.all(np.abs(q - np.round(q)) > 1e-3))


@S
def _gather_case(draw):
    """An input, a dim, and an index no larger than the input in the other dims (PyTorch's rule)."""
    x = draw(array(min_dims=1, max_dims=3, min_side=1))
    dim = draw(st.integers(0, x.ndim - 1))
    shape = [draw(st.integers(0 if i == dim else 1, n + 1 if i == dim else n)) for i, n in enumerate(x.shape)]
    index = draw(hnp.arrays(np.int64, tuple(shape), elements=st.integers(0, x.shape[dim] - 1)))
    return x, dim, index


def _gather_ref(x, dim, index):
    covered = tuple(slice(None) if i == dim else slice(0, n) for i, n in enumerate(index.shape))
    return np.take_along_axis(x[covered], index, axis=dim)


def _tensor(a):
    import tinygrad_ko as tg

    return tg.from_numpy(a)


ROWS = [
    OpRow(
        "sign",
        lambda a: a.sign() * 3.0 + a,
        array().map(away_from),
        lambda a: np.sign(a) * 3.0 + a,
        covers=("Sign",),
    ),
    OpRow(
        "remainder",
        lambda a, b: a % b,
        _quotient_pair().filter(lambda ab: _smooth_quotient(*ab)),
        np.mod,
        covers=("Remainder",),
    ),
    OpRow(
        "remainder_scalar",
        lambda a: a % 1.5,
        array().filter(lambda a: _smooth_quotient(a, 1.5)),
        lambda a: np.mod(a, 1.5),
        covers=("Remainder",),
    ),
    OpRow(
        "div_floor_trunc",
        lambda a, b: a.div(b, rounding_mode="floor") + a.div(b, rounding_mode="trunc") + a,
        _quotient_pair().filter(lambda ab: _smooth_quotient(*ab)),
        lambda a, b: np.floor_divide(a, b) + np.trunc(a / b) + a,
        covers=("DivRounding",),
    ),
    OpRow(
        "gather_smaller_index",
        lambda x, d, i: x.gather(d, _tensor(i)),
        _gather_case(),
        _gather_ref,
        covers=("Gather",),
        gradgrad=False,
    ),
]
