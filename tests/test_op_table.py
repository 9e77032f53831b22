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


def _tensors(row, arrays):
    out = []
    for i, a in enumerate(arrays):
        if isinstance(a, np.ndarray) and a.dtype == np.float64:
            t = tg.from_numpy(a)
            if row.differentiable is None or i in row.differentiable:
                t.requires_grad_(True)
            out.append(t)
        else:
            out.append(a)
    return out


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.name)
@given(data=st.data())
def test_op(row, data):
    arrays = data.draw(row.inputs)
    arrays = arrays if isinstance(arrays, tuple) else (arrays,)
    inputs = _tensors(row, arrays)
    out = row.fn(*inputs)
    if row.ref is not None:
        expected = row.ref(*[a.copy() if isinstance(a, np.ndarray) else a for a in arrays])
        np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-7, atol=1e-9)
        assert out.shape == np.shape(expected)
    assert out.dtype == tg.float64
    if not any(isinstance(t, tg.Tensor) and t.requires_grad for t in inputs):
        return
    if out.numel() == 0:
        return
    assert gradcheck(row.fn, inputs, eps=row.eps, atol=row.atol, rtol=row.rtol)
    if row.gradgrad:
        assert gradgradcheck(row.fn, inputs, eps=row.eps, atol=row.atol, rtol=row.rtol)


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
