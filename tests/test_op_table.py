"""Gradient tests driven by the op table (tests/oprows_*.py): forward vs NumPy, gradcheck and
gradgradcheck in float64 on hypothesis-drawn shapes, and a check that no op is missing a row."""

from __future__ import annotations

import importlib
import pathlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_ko as tg
from tinygrad_ko.autograd import Function, gradcheck, gradgradcheck

ROW_MODULES = sorted(p.stem for p in pathlib.Path(__file__).parent.glob("oprows_*.py"))
ROWS = [row for m in ROW_MODULES for row in importlib.import_module(m).ROWS]

# Functions that are not ops a user calls but pieces of other ops' backward, each exercised by
# the rows named here (gradgradcheck runs them).
INTERNAL = {
    "IndexAdd": "getitem rows (double backward of indexing)",
    "OnceDifferentiableError": "stands in for double backward of NumPy kernels",
}


def _is_expanded(a):
    return any(st_ == 0 and n > 1 for st_, n in zip(a.strides, a.shape))


def _tensors(row, arrays):
    """Leaves for gradcheck, and how each reaches the op: as itself, or expanded from a compact
    leaf when hypothesis drew an expanded (stride-0) layout."""
    leaves, shapes = [], []
    for i, a in enumerate(arrays):
        if isinstance(a, np.ndarray) and a.dtype == np.float64:
            expanded = _is_expanded(a)
            if expanded:
                a_leaf = np.array(a[..., :1])  # a writeable copy (ascontiguousarray may return the view)
            else:  # a slice of an expanded draw is still read-only: gradcheck perturbs in place
                a_leaf = a if a.flags.writeable else a.copy()
            t = tg.from_numpy(a_leaf)
            if row.differentiable is None or i in row.differentiable:
                t.requires_grad_(True)
            leaves.append(t)
            shapes.append(a.shape if expanded else None)
        else:
            leaves.append(a)
            shapes.append(None)

    def call(*xs):
        return row.fn(*[x.expand(*s) if s is not None else x for x, s in zip(xs, shapes)])

    return leaves, call


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.name)
@given(data=st.data())
def test_op(row, data):
    arrays = data.draw(row.inputs)
    arrays = arrays if isinstance(arrays, tuple) else (arrays,)
    inputs, fn = _tensors(row, arrays)
    out = fn(*inputs)
    if row.ref is not None:
        expected = row.ref(*[a.copy() if isinstance(a, np.ndarray) else a for a in arrays])
        np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-7, atol=1e-9)
        assert out.shape == np.shape(expected)
    assert out.dtype == tg.float64
    if not any(isinstance(t, tg.Tensor) and t.requires_grad for t in inputs):
        return
    if out.numel() == 0:
        return
    assert gradcheck(fn, inputs, eps=row.eps, atol=row.atol, rtol=row.rtol)
    if row.gradgrad:
        assert gradgradcheck(fn, inputs, eps=row.eps, atol=row.atol, rtol=row.rtol)


def _all_functions():
    """Every Function subclass defined anywhere in the package (all modules imported first)."""
    import pkgutil

    for info in pkgutil.walk_packages(tg.__path__, "tinygrad_ko."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
    seen = {}
    stack = list(Function.__subclasses__())
    while stack:
        cls = stack.pop()
        if cls.__module__.startswith("tinygrad_ko"):
            seen[cls.__name__] = cls
        stack.extend(cls.__subclasses__())
    return seen


def test_every_function_has_a_row():
    covered = {name for row in ROWS for name in row.covers}
    missing = sorted(set(_all_functions()) - covered - set(INTERNAL))
    assert not missing, f"differentiable ops with no row in the op table: {missing}"
