"""The op table: one row per differentiable op, shared by the gradient tests.

A row says how to draw inputs (a hypothesis strategy of NumPy float64 arrays, with broadcast
pairs, size-1/empty dims and non-contiguous layouts), how to call the op on Tensors, and a NumPy
reference for the forward. ``covers`` names the ``Function`` classes the row exercises;
``test_every_function_has_a_row`` fails when a differentiable op has no row.

Rows live in ``tests/oprows_<family>.py`` modules as a list named ``ROWS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


@dataclass
class OpRow:
    name: str
    fn: Callable[..., Any]  # Tensors -> Tensor (the op under test)
    inputs: Any  # hypothesis strategy -> tuple of np.ndarray / values
    ref: Callable[..., Any] | None = None  # NumPy forward reference: same args as arrays
    covers: tuple[str, ...] = ()
    differentiable: tuple[int, ...] | None = None  # indices of inputs that require grad (None: all float arrays)
    gradgrad: bool = True  # also run gradgradcheck
    atol: float = 1e-5
    rtol: float = 1e-3
    eps: float = 1e-6
    extra: dict = field(default_factory=dict)


# ---- strategies ------------------------------------------------------------------------------
def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 0, max_side: int = 4) -> Any:
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def floats_array(shape: Any, lo: float = -3.0, hi: float = 3.0) -> Any:
    elements = st.floats(lo, hi, allow_nan=False, allow_infinity=False, width=64)
    return hnp.arrays(np.float64, shape, elements=elements)


@st.composite
def layout(draw: Any, arr: np.ndarray) -> np.ndarray:
    """The same values, maybe in a non-contiguous layout (transposed copy / strided slice), or
    replaced by an expanded (stride-0, read-only) array: the op table passes those to the op as
    ``leaf.expand(shape)``, so ops see broadcast views too."""
    kind = draw(st.sampled_from(["contiguous", "transposed", "strided", "expanded"]))
    if kind == "expanded" and arr.ndim >= 1 and arr.shape[-1] > 1:
        return np.broadcast_to(arr[..., :1], arr.shape)
    if kind == "transposed" and arr.ndim >= 2:
        return np.ascontiguousarray(arr.swapaxes(-1, -2)).swapaxes(-1, -2)
    if kind == "strided" and arr.ndim >= 1:
        big = np.zeros(arr.shape[:-1] + (arr.shape[-1] * 2,), dtype=arr.dtype)
        big[..., ::2] = arr
        return big[..., ::2]
    return arr


@st.composite
def array(draw: Any, shape: Any = None, lo: float = -3.0, hi: float = 3.0, **shape_kw: Any) -> np.ndarray:
    if shape is None:
        shape = draw(shapes(**shape_kw))
    arr = draw(floats_array(shape, lo, hi))
    return draw(layout(arr))


@st.composite
def broadcast_pair(draw: Any, lo: float = -3.0, hi: float = 3.0, min_side: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two arrays whose shapes broadcast together (either may be the smaller)."""
    shape_a, shape_b = draw(
        hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, min_side=min_side, max_side=4)
    ).input_shapes
    return draw(array(shape_a, lo, hi)), draw(array(shape_b, lo, hi))


def positive(**kw: Any) -> Any:
    return array(lo=0.2, hi=3.0, **kw)


def away_from(values: np.ndarray, points: tuple[float, ...] = (0.0,), margin: float = 1e-2) -> np.ndarray:
    """Nudge values off kinks (relu at 0, abs at 0...) where finite differences are meaningless."""
    out = values.copy()
    for p in points:
        near = np.abs(out - p) < margin
        out[near] = p + 2 * margin
    return out
