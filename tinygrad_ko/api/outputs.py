"""The ``out=`` argument of the function forms: ``torch.matmul(a, b, out=y)``, ``torch.mul(a, b, out=z)``.

The result is computed as usual, then written into ``out``, which is returned. As in PyTorch:
``out`` of another shape is resized (with a UserWarning unless it was empty); its dtype must be
one the result can be cast to (exactly the result's for the matrix products); and an op that
would need a gradient (an input or ``out`` requires grad, outside ``no_grad``) refuses ``out=``,
since the write into ``out`` cannot be differentiated.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..autograd.grad_mode import state as grad_mode
from ..tensor import Tensor

# the matrix products want ``out`` of the result's dtype exactly (PyTorch's check and wording)
EXACT_DTYPE = {"matmul", "mm", "bmm", "dot", "mv", "outer"}
C_NAMES = {
    "f": {2: "c10::Half", 4: "float", 8: "double"},
    "i": {1: "signed char", 2: "short int", 4: "int", 8: "long int"},
}
SCALAR_NAMES = {"f": {2: "Half", 4: "Float", 8: "Double"}, "i": {1: "Char", 2: "Short", 4: "Int", 8: "Long"}}


def _name(dt: np.dtype, table: dict) -> str:
    if dt.kind == "b":
        return "bool" if table is C_NAMES else "Bool"
    if dt.kind == "u":
        return "unsigned char" if table is C_NAMES else "Byte"
    return table[dt.kind][dt.itemsize]


def _can_cast(src: np.dtype, dst: np.dtype) -> bool:
    """PyTorch's rule: no float into an integer or bool, no number into a bool."""
    if src.kind == "f":
        return dst.kind == "f"
    return dst.kind != "b" or src.kind == "b"


def write(op: str, out: Any, inputs: Iterable[Any], compute: Callable[[], Any]) -> Any:
    """Run ``compute()`` and copy its result (a Tensor, or a tuple of them) into ``out``."""
    outs = tuple(out) if isinstance(out, (tuple, list)) else (out,)
    for o in outs:
        if not isinstance(o, Tensor):
            raise TypeError(f"{op}(): argument 'out' must be Tensor, not {type(o).__name__}")
    if grad_mode.enabled and any(isinstance(t, Tensor) and t.requires_grad for t in (*inputs, *outs)):
        raise RuntimeError(
            f"{op}(): functions with out=... arguments don't support automatic differentiation, "
            "but one of the arguments requires grad."
        )
    result = compute()
    results = tuple(result) if isinstance(result, tuple) else (result,)
    if len(results) != len(outs):
        raise TypeError(f"{op}(): out= takes {len(results)} tensor(s) here, got {len(outs)}")
    for o, r in zip(outs, results):
        _copy_into(op, o, r)
    if isinstance(result, tuple):
        return type(result)(*outs) if hasattr(result, "_fields") else tuple(outs)
    return out


def _copy_into(op: str, out: Tensor, result: Tensor) -> None:
    src, dst = result._data.dtype, out._data.dtype
    if op in EXACT_DTYPE and src != dst:
        raise RuntimeError(
            f"Expected out tensor to have dtype {_name(src, C_NAMES)}, but got {_name(dst, C_NAMES)} instead"
        )
    if not _can_cast(src, dst):
        raise RuntimeError(
            f"result type {_name(src, SCALAR_NAMES)} can't be cast to the desired output type {_name(dst, SCALAR_NAMES)}"
        )
    shape = result._data.shape
    if out._data.shape != shape:
        if out._data.size:
            warnings.warn(
                f"An output with one or more elements was resized since it had shape {list(out._data.shape)}, "
                f"which does not match the required output shape {list(shape)}. This behavior is deprecated, "
                "and in a future PyTorch release outputs will not be resized unless they have zero elements.",
                UserWarning,
                stacklevel=4,
            )
        out._data = np.empty(shape, dtype=dst)  # new storage, as a resize in PyTorch may give
        out._base = None
    np.copyto(out._data, result._data, casting="unsafe")
    out._version.value += 1
