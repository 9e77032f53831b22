"""PyTorch's argument rules, apart from the ops: dims and shapes as arguments, dtype promotion
between operands, and how an index selects (PyTorch's order, which is not always NumPy's)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..tensor import Tensor

py_int, py_float, py_bool = builtins.int, builtins.float, builtins.bool
SCALAR_TYPES = (py_int, py_float, py_bool)
FLOAT32 = np.dtype(np.float32)
INT64 = np.dtype(np.int64)
BOOL = np.dtype(np.bool_)


def check_dim(dim: int, ndim: int) -> int:
    n = ndim if ndim > 0 else 1
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim + n if dim < 0 else dim


def reduce_axes(dim: Any, ndim: int) -> tuple[int, ...] | None:
    if dim is None:
        return None
    if isinstance(dim, (list, tuple)):
        axes = tuple(sorted(check_dim(d, ndim) for d in dim))
        repeated = [a for a, b in zip(axes, axes[1:]) if a == b]
        if repeated:
            raise RuntimeError(f"dim {repeated[0]} appears multiple times in the list of dims")
        return axes if axes else None
    return (check_dim(dim, ndim),) if ndim else None


def shape_args(args: Sequence[Any]) -> tuple[int, ...]:
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = args[0]
    return tuple(py_int(a) for a in args)


def category(d: np.dtype) -> int:
    """PyTorch's type categories, in promotion order: bool 0 < integer 1 < floating point 2."""
    return 2 if d.kind == "f" else 0 if d.kind == "b" else 1


def result_dtype(a: np.dtype, b: np.dtype, a_dim: int, b_dim: int) -> np.dtype:
    """PyTorch's promotion: a higher category (bool < int < float) wins; within a category a
    dimensioned tensor beats a zero-dim one; otherwise the wider type."""
    ca, cb = category(a), category(b)
    if ca != cb:
        return a if ca > cb else b
    if a_dim and not b_dim:
        return a
    if b_dim and not a_dim:
        return b
    return np.promote_types(a, b)


def to_index(index: Any) -> tuple[Any, bool]:
    """Convert a Python/Tensor index for NumPy; returns (index, is_basic)."""
    items = index if type(index) is tuple else (index,)
    basic = True
    out = []
    for i in items:
        ti = type(i)
        if isinstance(i, Tensor):
            i = i._data
            if i.ndim == 0 and i.dtype.kind in "iu":  # a 0-d integer tensor selects, like an int
                i = py_int(i)
            else:
                basic = False
        elif ti is int or ti is slice or i is None or i is Ellipsis:
            pass
        elif isinstance(i, np.integer):
            i = py_int(i)
        else:
            if ti is list:
                i = np.asarray(i)
            basic = False
        out.append(i)
    if basic and Ellipsis not in out:
        out.append(Ellipsis)  # a trailing ... makes NumPy return a view even for a full index
    return tuple(out), basic


def split_int_selects(idx: tuple) -> tuple[tuple, tuple] | None:
    """PyTorch applies integer indices as selects *before* advanced (array) indexing; NumPy treats
    them as advanced indices too, which moves the result's dimensions when a slice separates them
    (``x[0, :, [1]]``: PyTorch (C, 1), NumPy (1, C)). For an index with both, the two steps:
    (the ints, with full slices elsewhere) and (the rest). None when one NumPy index is right."""
    if not any(type(i) is int for i in idx) or not any(isinstance(i, np.ndarray) for i in idx):
        return None
    first: list[Any] = []
    for i in idx:
        if i is None:
            continue
        if type(i) is int or i is Ellipsis:
            first.append(i)
        elif isinstance(i, np.ndarray) and i.dtype == np.bool_:
            first.extend([slice(None)] * max(i.ndim, 1))  # a mask spans as many dims as it has
        else:
            first.append(slice(None))
    if Ellipsis not in first:
        first.append(Ellipsis)  # a view, even when every dim is selected
    return tuple(first), tuple(i for i in idx if type(i) is not int)


def int_power(base: Any, exp: Any) -> np.ndarray:
    """Integer ``base ** exp`` with PyTorch's answer for negative exponents, which NumPy refuses:
    the integer part of ``1 / base**-exp``: 1 for base 1, +-1 for base -1, 0 otherwise."""
    base, exp = np.asarray(base), np.asarray(exp)
    neg = exp < 0
    if not neg.any():
        return np.asarray(np.power(base, exp))
    out = np.asarray(np.power(base, np.where(neg, 0, exp)))
    special = np.where(base == 1, 1, np.where(base == -1, np.where(exp % 2 == 0, 1, -1), 0))
    return np.where(neg, special, out).astype(out.dtype, copy=False)


# PyTorch's names for the dtypes, as its kernels' error messages spell them
TORCH_NAMES = {
    np.dtype(np.float16): "Half",
    FLOAT32: "Float",
    np.dtype(np.float64): "Double",
    np.dtype(np.int8): "Char",
    np.dtype(np.int16): "Short",
    np.dtype(np.int32): "Int",
    INT64: "Long",
    np.dtype(np.uint8): "Byte",
    BOOL: "Bool",
}


def not_implemented(kernel: str, dtype: np.dtype) -> NotImplementedError:
    """PyTorch's error for an op that has no kernel for a dtype (softmax of int64, abs of bool)."""
    return NotImplementedError(f"\"{kernel}\" not implemented for '{TORCH_NAMES[dtype]}'")


def wrap_int_scalar(c: Any, dtype: np.dtype) -> Any:
    """A Python int operand of an integer tensor, wrapped into the tensor's range the way
    PyTorch's integer arithmetic wraps (``uint8_tensor - 2`` adds 254 modulo 256); NumPy raises
    OverflowError for an int outside the dtype's range. Other scalars pass through."""
    if type(c) is py_int and dtype.kind in "iu":
        info = np.iinfo(dtype)
        if not info.min <= c <= info.max and -(2**63) <= c < 2**63:  # beyond int64 PyTorch raises too
            return py_int(np.asarray(c % (1 << (8 * dtype.itemsize))).astype(dtype))
    return c


def check_inplace_result(out: np.dtype, other: Any, always_float: bool = False) -> None:
    """An in-place op keeps its tensor's dtype: PyTorch refuses one whose result is of a higher
    category (a float result into an int tensor, an int one into a bool tensor)."""
    if isinstance(other, Tensor):
        res = result_dtype(out, other._data.dtype, 1, other._data.ndim)
    else:  # a Python scalar: its category's default dtype
        res = FLOAT32 if type(other) is py_float else INT64 if type(other) is py_int else BOOL
    if always_float and res.kind != "f":
        res = FLOAT32
    if category(res) > category(out):
        raise RuntimeError(
            f"result type {TORCH_NAMES[res]} can't be cast to the desired output type {TORCH_NAMES[out]} "
            f"(an in-place op keeps the tensor's dtype: a {res} result cannot go into a {out} tensor)"
        )


def check_int_divisor(divisor: Any) -> None:
    """Integer floor division and remainder by zero: PyTorch raises (NumPy gives 0 with a warning)."""
    arr = np.asarray(divisor)
    if arr.dtype.kind in "iub" and not arr.all():
        raise RuntimeError("ZeroDivisionError")


BOOL_SUB = (
    "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to "
    "invert a mask, use the `~` or `logical_not()` operator instead."
)
BOOL_SUB_BOTH = (
    "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
    "`logical_xor()` operator instead."
)
BOOL_NEG = (
    "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to invert "
    "a mask, use the `~` or `logical_not()` operator instead."
)


def check_sub(a: Any, b: Any) -> None:
    """PyTorch has no subtraction with a bool operand (a tensor or a Python bool)."""
    a_bool = a._data.dtype == BOOL if isinstance(a, Tensor) else type(a) is py_bool
    b_bool = b._data.dtype == BOOL if isinstance(b, Tensor) else type(b) is py_bool
    if a_bool or b_bool:
        raise NotImplementedError(BOOL_SUB_BOTH if a_bool and b_bool else BOOL_SUB)


def torch_type_name(np_dtype: np.dtype) -> str:
    """PyTorch's name of a scalar type, as its error messages spell it (Float, Long, ...)."""
    return TORCH_NAMES.get(np.dtype(np_dtype), str(np_dtype))
