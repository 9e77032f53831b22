"""Norms by PyTorch's rules: ``torch.linalg.vector_norm``, ``torch.linalg.matrix_norm``,
``torch.linalg.norm`` and the older ``torch.norm`` / ``Tensor.norm``.

All of them end in one op, ops/norm.py's ``VectorNorm`` (the Frobenius norm is the 2-norm of the
matrix's elements), except the matrix 1- and inf-norms, which are a max of absolute column (row)
sums, built from abs, sum and amax, and the norms of the singular values (ord 2, -2, 'nuc': their
max, min and sum), built on ops/svd.py's ``SingularValues``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..ops.norm import VectorNorm
from ..ops.svd import SingularValues
from ..tensor import Tensor
from .rules import SCALAR_TYPES, check_dim, py_bool, py_int, reduce_axes, torch_type_name


def _ord_text(ord: Any) -> str:
    """An order as PyTorch prints it in errors: 2, -1, inf, -inf, 0.5."""
    if isinstance(ord, float) and ord.is_integer():
        return str(py_int(ord))
    return str(ord)


def _floating(x: Tensor, dtype: Any, name: str) -> Tensor:
    if x._data.dtype.kind != "f":
        raise RuntimeError(
            f"{name}: Expected a floating point or complex tensor as input. Got {torch_type_name(x._data.dtype)}"
        )
    return x if dtype is None else x.to(dtype)


def vector_norm(
    x: Tensor, ord: float = 2, dim: int | Sequence[int] | None = None, keepdim: bool = False, *, dtype: Any = None
) -> Tensor:
    """The vector ``ord``-norm of x over ``dim`` (all elements when None), as ``torch.linalg.vector_norm``."""
    if type(ord) not in SCALAR_TYPES or type(ord) is py_bool:
        raise TypeError(f"linalg_vector_norm(): argument 'ord' must be Number, not {type(ord).__name__}")
    x = _floating(x, dtype, "linalg.vector_norm")
    axes = reduce_axes(dim, x._data.ndim)
    if ord < 0 or ord == math.inf:  # max and min have no value for zero elements
        shape = x._data.shape
        if 0 in (shape if axes is None else tuple(shape[d] for d in axes)):
            raise RuntimeError(
                f"linalg.vector_norm cannot compute the {_ord_text(ord)} norm on an empty tensor because "
                "the operation does not have an identity"
            )
    return VectorNorm.apply(x, ord=ord, axes=axes, keepdim=keepdim)


def matrix_norm(
    x: Tensor, ord: Any = "fro", dim: Sequence[int] = (-2, -1), keepdim: bool = False, *, dtype: Any = None
) -> Tensor:
    """The matrix norm of x's ``dim`` dims, as ``torch.linalg.matrix_norm``: 'fro', 'nuc', 1, -1, 2, -2, inf, -inf."""
    n = x._data.ndim
    if n < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    x = _floating(x, dtype, "linalg.matrix_norm")
    dims = tuple(dim) if isinstance(dim, (list, tuple)) else (dim,)
    if len(dims) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(map(str, dims))}")
    rows, cols = check_dim(dims[0], n), check_dim(dims[1], n)
    if rows == cols:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dims[0]}, {dims[1]})")
    if ord == "fro":
        return vector_norm(x, 2, (rows, cols), keepdim)
    if ord in ("nuc", 2, -2):
        values = svdvals(x.movedim((rows, cols), (-2, -1)))
        if ord == "nuc" or values._data.shape[-1] == 0:  # no singular values (an empty matrix): 0
            out = values.sum(-1)
        else:
            out = values.amax(-1) if ord == 2 else values.amin(-1)
        return out.unsqueeze(min(rows, cols)).unsqueeze(max(rows, cols)) if keepdim else out
    if ord in (1, -1, math.inf, -math.inf):
        # 1: the largest absolute column sum (sum over rows); inf: the largest absolute row sum
        summed, over = (rows, cols) if ord in (1, -1) else (cols, rows)
        sums = x.abs().sum(summed, keepdim=True)
        out = sums.amax(over, keepdim=True) if ord > 0 else sums.amin(over, keepdim=True)
        return out if keepdim else out.squeeze((rows, cols))
    raise RuntimeError(f"linalg.matrix_norm: Order {_ord_text(ord)} not supported.")


def svdvals(x: Tensor) -> Tensor:
    """The singular values of the matrices in x's last two dims, largest first (``torch.linalg.svdvals``)."""
    if x._data.ndim < 2:
        raise RuntimeError("linalg.svd: The input tensor A must have at least 2 dimensions.")
    return SingularValues.apply(_floating(x, None, "linalg.svd"))


def linalg_norm(x: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """``torch.linalg.norm``: a vector norm over one dim, a matrix norm over two; with dim None, the
    2-norm of all elements when ord is None, else x must be 1-D (vector) or 2-D (matrix)."""
    dims = None if dim is None else tuple(dim) if isinstance(dim, (list, tuple)) else (dim,)
    if dims is not None and len(dims) not in (1, 2):
        raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {list(dims)}")
    if ord is None:
        return vector_norm(x, 2, dims, keepdim, dtype=dtype)
    if dims is None:
        n = x._data.ndim
        if n not in (1, 2):
            raise RuntimeError(
                f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got {n}D."
            )
        dims = tuple(range(n))
    if len(dims) == 2:
        return matrix_norm(x, ord, dims, keepdim, dtype=dtype)
    if isinstance(ord, str):
        if x._data.ndim < 2:
            raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {dims[0]}")
    return vector_norm(x, ord, dims, keepdim, dtype=dtype)


def tensor_norm(x: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    """``torch.norm`` / ``Tensor.norm``: 'fro' is the 2-norm over ``dim`` (one or two dims, or all);
    a number p is the vector p-norm over ``dim`` (all elements when None, even of a matrix)."""
    if isinstance(p, str):
        if p == "nuc":
            dims = (0, 1) if dim is None else tuple(dim) if isinstance(dim, (list, tuple)) else (dim,)
            if dim is None and x._data.ndim != 2:
                raise RuntimeError(
                    f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(map(str, range(x._data.ndim)))}"
                )
            return matrix_norm(x, "nuc", dims, keepdim, dtype=dtype)
        if p != "fro":
            raise RuntimeError(f"norm(): unknown norm type {p!r}; expected 'fro', 'nuc' or a number")
        dims = None if dim is None else tuple(dim) if isinstance(dim, (list, tuple)) else (dim,)
        if dims is not None and len(dims) > 2:
            raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(map(str, dims))}")
        return vector_norm(x, 2, dims, keepdim, dtype=dtype)
    return vector_norm(x, p, dim, keepdim, dtype=dtype)
