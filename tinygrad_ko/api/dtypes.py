"""dtype objects shaped like PyTorch's (``tinygrad_ko.float32`` ...), each backed by a NumPy dtype."""

from __future__ import annotations

import numpy as np


class dtype:
    """A tensor element type. Compares equal to itself and to the matching NumPy dtype."""

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize")

    def __init__(self, name: str, np_dtype: np.dtype) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = self.np.kind == "f"
        self.is_signed = self.np.kind in "fi"
        self.itemsize = self.np.itemsize

    def __repr__(self) -> str:
        return f"tinygrad_ko.{self.name}"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, dtype):
            return self is other
        try:
            return self.np == np.dtype(other)  # type: ignore[arg-type]
        except TypeError:
            return False

    def __hash__(self) -> int:
        return hash(self.np)


float16 = half = dtype("float16", np.float16)
float32 = float = dtype("float32", np.float32)
float64 = double = dtype("float64", np.float64)
int8 = dtype("int8", np.int8)
int16 = short = dtype("int16", np.int16)
int32 = int = dtype("int32", np.int32)
int64 = long = dtype("int64", np.int64)
uint8 = dtype("uint8", np.uint8)
bool_ = dtype("bool", np.bool_)

_ALL = (float16, float32, float64, int8, int16, int32, int64, uint8, bool_)
_FROM_NP: dict[np.dtype, dtype] = {d.np: d for d in _ALL}


def from_numpy_dtype(np_dtype: np.dtype) -> dtype:
    """The dtype object for a NumPy dtype (clear error for unsupported ones)."""
    try:
        return _FROM_NP[np_dtype]
    except KeyError:
        raise TypeError(f"unsupported dtype {np_dtype}; supported: {', '.join(d.name for d in _ALL)}") from None


def to_numpy_dtype(d: object) -> np.dtype:
    """Accept our dtype objects, NumPy dtypes/types, Python types or names; return a NumPy dtype."""
    if isinstance(d, dtype):
        return d.np
    if d is builtins_float:  # Python's float is a double: torch.float64, as in PyTorch
        return float64.np
    if d is builtins_int:
        return int64.np
    if d is builtins_bool:
        return bool_.np
    nd = np.dtype(d)  # type: ignore[call-overload]
    if nd not in _FROM_NP:
        raise TypeError(f"unsupported dtype {nd}; supported: {', '.join(x.name for x in _ALL)}")
    return nd


import builtins as _builtins  # noqa: E402

builtins_float, builtins_int, builtins_bool = _builtins.float, _builtins.int, _builtins.bool
