"""The Tensor: a NumPy array plus what autograd needs (requires_grad, grad, grad_fn, a version
counter shared with its views). Methods and operators are thin wrappers around ``Fn.apply``."""

from __future__ import annotations

import builtins
import weakref
from collections import namedtuple
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from . import _printing
from . import dtypes as _dt
from .autograd import api as _api
from .autograd import function as _function
from .autograd.function import Function, Version
from .autograd.grad_mode import state as _grad_state
from .ops import elementwise as E
from .ops import linalg as L
from .ops import movement as M
from .ops import reduce as R
from .random import default_generator

_py_int, _py_float, _py_bool = builtins.int, builtins.float, builtins.bool
_SCALAR_TYPES = (_py_int, _py_float, _py_bool)
_FLOAT32 = np.dtype(np.float32)
_INT64 = np.dtype(np.int64)
_BOOL = np.dtype(np.bool_)

return_types_max = namedtuple("max", ["values", "indices"])
return_types_min = namedtuple("min", ["values", "indices"])
return_types_sort = namedtuple("sort", ["values", "indices"])
return_types_topk = namedtuple("topk", ["values", "indices"])


class Size(tuple):
    """A shape, printed like PyTorch's ``torch.Size([2, 3])``."""

    def __repr__(self) -> str:
        return f"tinygrad_ko.Size({list(self)})"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n


class Storage:
    """What ``untyped_storage()`` returns: enough to prove two tensors share memory."""

    def __init__(self, root: np.ndarray) -> None:
        self._root = root

    def data_ptr(self) -> int:
        return self._root.__array_interface__["data"][0]

    def nbytes(self) -> int:
        return self._root.nbytes

    def size(self) -> int:
        return self._root.nbytes

    def __len__(self) -> int:
        return self._root.nbytes


_new = object.__new__


def _make(arr: np.ndarray, requires_grad: bool = False, grad_fn: Any = None) -> Tensor:
    """Wrap an ndarray without copying (the internal constructor; hot path)."""
    t = _new(Tensor)
    t._data = arr
    t.requires_grad = requires_grad
    t.grad_fn = grad_fn
    t._grad = None
    t._version = Version()
    t._base = None
    t._hooks = None
    return t


def _check_dim(dim: int, ndim: int) -> int:
    n = ndim if ndim > 0 else 1
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim + n if dim < 0 else dim


def _axes(dim: Any, ndim: int) -> tuple[int, ...] | None:
    if dim is None:
        return None
    if isinstance(dim, (list, tuple)):
        axes = tuple(sorted(_check_dim(d, ndim) for d in dim))
        if len(set(axes)) != len(axes):
            raise RuntimeError(f"dim {tuple(dim)} appears multiple times in the list of dims")
        return axes if axes else None
    return (_check_dim(dim, ndim),) if ndim else None


def _shape_args(args: Sequence[Any]) -> tuple[int, ...]:
    if len(args) == 1 and isinstance(args[0], (tuple, list, Size)):
        args = args[0]
    return tuple(_py_int(a) for a in args)


def _result_dtype(a: np.dtype, b: np.dtype, a_dim: int, b_dim: int) -> np.dtype:
    """PyTorch's promotion: a higher category (bool < int < float) wins; within a category a
    dimensioned tensor beats a zero-dim one; otherwise the wider type."""

    def cat(d: np.dtype) -> int:
        return 2 if d.kind == "f" else 0 if d.kind == "b" else 1

    ca, cb = cat(a), cat(b)
    if ca != cb:
        return a if ca > cb else b
    if a_dim and not b_dim:
        return a
    if b_dim and not a_dim:
        return b
    return np.promote_types(a, b)


def _to_index(index: Any) -> tuple[Any, bool]:
    """Convert a Python/Tensor index for NumPy; returns (index, is_basic)."""
    items = index if type(index) is tuple else (index,)
    basic = True
    out = []
    for i in items:
        ti = type(i)
        if isinstance(i, Tensor):
            i = i._data
            if i.ndim == 0 and i.dtype.kind in "iu":  # a 0-d integer tensor selects, like an int
                i = _py_int(i)
            else:
                basic = False
        elif ti is int or ti is slice or i is None or i is Ellipsis:
            pass
        elif isinstance(i, np.integer):
            i = _py_int(i)
        else:
            if ti is list:
                i = np.asarray(i)
            basic = False
        out.append(i)
    if basic and Ellipsis not in out:
        out.append(Ellipsis)  # a trailing ... makes NumPy return a view even for a full index
    return tuple(out), basic


def _split_int_selects(idx: tuple) -> tuple[tuple, tuple] | None:
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


class Tensor:
    """A multi-dimensional array with reverse-mode autograd, shaped like ``torch.Tensor``."""

    __slots__ = ("_data", "requires_grad", "grad_fn", "_grad", "_version", "_base", "_hooks", "__weakref__")
    __array_ufunc__ = None  # ndarray (op) Tensor defers to Tensor's reflected operator

    _data: np.ndarray
    requires_grad: bool
    grad_fn: Any

    def __init__(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> None:
        t = tensor(data, dtype=dtype if dtype is not None else _dt.float32, requires_grad=requires_grad)
        self._data, self.requires_grad, self.grad_fn = t._data, t.requires_grad, None
        self._grad, self._version, self._base, self._hooks = None, Version(), None, None

    # ---- basic attributes -------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None) -> Any:
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_check_dim(dim, self._data.ndim)]

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return self._data.size

    nelement = numel

    @property
    def dtype(self) -> _dt.dtype:
        return _dt.from_numpy_dtype(self._data.dtype)

    @property
    def device(self) -> str:
        return "cpu"

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def element_size(self) -> int:
        return self._data.itemsize

    @property
    def T(self) -> Tensor:  # noqa: N802
        return self.permute(*range(self._data.ndim - 1, -1, -1))

    @property
    def mT(self) -> Tensor:  # noqa: N802
        n = self._data.ndim
        if n < 2:
            raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. Got {n}-D tensor.")
        return self.transpose(-2, -1)

    def item(self) -> Any:
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.reshape(()).item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def numpy(self, force: bool = False) -> np.ndarray:
        if self.requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        return self._data

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = self._data
        if dtype is not None and arr.dtype != dtype:
            return arr.astype(dtype)
        return arr.copy() if copy else arr

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return _py_bool(self._data.reshape(()))

    def __float__(self) -> float:
        return _py_float(self.item())

    def __int__(self) -> int:
        return _py_int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iu" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return _py_int(self.item())

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        arr = self._data
        body = _printing.tensor_body(arr, len("tensor("))
        suffixes = []
        default = _FLOAT32 if arr.dtype.kind == "f" else _INT64 if arr.dtype.kind in "iu" else _BOOL
        if arr.size == 0 and arr.ndim > 1:
            suffixes.append(f"size={tuple(arr.shape)}")
        # an empty tensor has no values to tell int64 or bool from float: its dtype is shown
        if arr.dtype != default or (arr.size == 0 and arr.dtype != _FLOAT32):
            suffixes.append(f"dtype={self.dtype!r}")
        if self.grad_fn is not None:
            suffixes.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self.requires_grad:
            suffixes.append("requires_grad=True")
        return _printing.with_suffixes("tensor(" + body, suffixes, len("tensor("))

    __str__ = __repr__

    # ---- storage model ------------------------------------------------------------------------
    def stride(self, dim: int | None = None) -> Any:
        arr = self._data
        strides = tuple(s // arr.itemsize for s in arr.strides)
        return strides if dim is None else strides[_check_dim(dim, arr.ndim)]

    def storage_offset(self) -> int:
        return M.storage_offset(self._data)

    def is_contiguous(self) -> bool:
        return self._data.flags.c_contiguous

    def contiguous(self) -> Tensor:
        return self if self._data.flags.c_contiguous else E.Copy.apply(self)

    def data_ptr(self) -> int:
        return self._data.__array_interface__["data"][0]

    def untyped_storage(self) -> Storage:
        return Storage(M.storage_root(self._data))

    storage = untyped_storage

    def as_strided(self, size: Sequence[int], stride: Sequence[int], storage_offset: int | None = None) -> Tensor:
        offset = self.storage_offset() if storage_offset is None else storage_offset
        return M.AsStrided.apply(self, size=tuple(size), stride=tuple(stride), offset=offset)

    # ---- autograd surface ---------------------------------------------------------------------
    @property
    def data(self) -> Tensor:
        """A detached Tensor on the same storage; changes through it are not tracked."""
        return _make(self._data)

    @data.setter
    def data(self, value: Tensor) -> None:
        self._data = value._data if isinstance(value, Tensor) else np.asarray(value)

    @property
    def grad(self) -> Tensor | None:
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type {type(value).__name__}")
            if value._data.shape != self._data.shape:
                raise RuntimeError(
                    f"assigned grad has data of a different size: {list(value._data.shape)} vs the "
                    f"tensor's {list(self._data.shape)}"
                )
            if value._data.dtype != self._data.dtype:
                raise RuntimeError(f"assigned grad has data of dtype {value.dtype} but the tensor is {self.dtype}")
        self._grad = value

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and self._data.dtype.kind != "f":
            raise RuntimeError(
                f"only Tensors of floating point dtype can require gradients (got {self.dtype})"
            )
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a "
                "computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is not None:
            self.grad_fn._retain = weakref.ref(self)

    @property
    def retains_grad(self) -> bool:
        return self.grad_fn is not None and self.grad_fn._retain is not None

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> Any:
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            return self.grad_fn.register_hook(hook)
        if self._hooks is None:
            self._hooks = []
        return _function._HookHandle(self._hooks, hook)

    def detach(self) -> Tensor:
        t = _make(self._data)
        t._version = self._version
        return t

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self.requires_grad = False
        return self

    def backward(self, gradient: Any = None, retain_graph: bool | None = None, create_graph: bool = False) -> None:
        _api.backward(self, gradient, retain_graph, create_graph)

    # ---- dtype conversion -----------------------------------------------------------------------
    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        target = kwargs.get("dtype")
        for a in args:
            if isinstance(a, (_dt.dtype, np.dtype, type)):
                target = a
            elif isinstance(a, Tensor):
                target = a._data.dtype
            elif isinstance(a, str) and a not in ("cpu",):
                raise RuntimeError(f"tinygrad_ko runs on the CPU only; cannot move a tensor to {a!r}")
        if target is None:
            return self
        return self._cast(_dt.to_numpy_dtype(target))

    def _cast(self, np_dtype: np.dtype) -> Tensor:
        if self._data.dtype == np_dtype:
            return self
        if np_dtype.kind == "f" and self._data.dtype.kind == "f":
            return E.Cast.apply(self, dtype=np_dtype)
        return _make(self._data.astype(np_dtype))

    def type(self, dtype: Any = None) -> Any:
        if dtype is None:
            return f"tinygrad_ko.{self.dtype.name}"
        return self.to(dtype)

    def float(self) -> Tensor:
        return self._cast(_FLOAT32)

    def double(self) -> Tensor:
        return self._cast(np.dtype(np.float64))

    def half(self) -> Tensor:
        return self._cast(np.dtype(np.float16))

    def long(self) -> Tensor:
        return self._cast(_INT64)

    def int(self) -> Tensor:
        return self._cast(np.dtype(np.int32))

    def bool(self) -> Tensor:
        return self._cast(_BOOL)

    def byte(self) -> Tensor:
        return self._cast(np.dtype(np.uint8))

    def cpu(self) -> Tensor:
        return self

    def clone(self) -> Tensor:
        return E.Copy.apply(self)

    def _as_float(self) -> Tensor:
        """Ops such as exp/log/sigmoid work in floating point; integers become float32."""
        return self if self._data.dtype.kind == "f" else _make(self._data.astype(_FLOAT32))

    # ---- binary arithmetic ----------------------------------------------------------------------
    def _operands(self, other: Any) -> tuple[Tensor, Tensor]:
        if not isinstance(other, Tensor):
            other = _const_like(other, self)
        a, b = self, other
        da, db = a._data.dtype, b._data.dtype
        if da != db:
            rd = _result_dtype(da, db, a._data.ndim, b._data.ndim)
            a, b = a._cast(rd), b._cast(rd)
        return a, b

    def __add__(self, other: Any) -> Tensor:
        if type(other) in _SCALAR_TYPES:
            return E.AddScalar.apply(self._scalar_base(other), c=other)
        return E.Add.apply(*self._operands(other))

    __radd__ = __add__

    def __sub__(self, other: Any) -> Tensor:
        if type(other) in _SCALAR_TYPES:
            return E.AddScalar.apply(self._scalar_base(other), c=-other)
        return E.Sub.apply(*self._operands(other))

    def __rsub__(self, other: Any) -> Tensor:
        if type(other) in _SCALAR_TYPES:
            return E.RSubScalar.apply(self._scalar_base(other), c=other)
        b, a = self._operands(other)
        return E.Sub.apply(a, b)

    def __mul__(self, other: Any) -> Tensor:
        if type(other) in _SCALAR_TYPES:
            return E.MulScalar.apply(self._scalar_base(other), c=other)
        return E.Mul.apply(*self._operands(other))

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Tensor:
        if type(other) in _SCALAR_TYPES:
            base = self._as_float()
            if other != 0:
                return E.MulScalar.apply(base, c=1.0 / other)
            return E.Div.apply(base, _const_like(other, base))  # x / 0: inf, -inf or nan, as in PyTorch
        a, b = self._operands(other)
        if a._data.dtype.kind != "f":
            a, b = a._as_float(), b._as_float()
        return E.Div.apply(a, b)

    def __rtruediv__(self, other: Any) -> Tensor:
        if type(other) in _SCALAR_TYPES:
            return E.RDivScalar.apply(self._as_float(), c=other)
        b, a = self._operands(other)
        if a._data.dtype.kind != "f":
            a, b = a._as_float(), b._as_float()
        return E.Div.apply(a, b)

    def _promoted_arrays(self, other: Any) -> tuple[Any, Any]:
        """The two operands of a non-differentiable binary op as arrays (or the Python scalar),
        with PyTorch's type promotion (NumPy's would make ``int_tensor // 2.5`` float64)."""
        if type(other) in _SCALAR_TYPES:
            return self._scalar_base(other)._data, other
        a, b = self._operands(other)
        return a._data, b._data

    def __floordiv__(self, other: Any) -> Tensor:
        a, b = self._promoted_arrays(other)
        return _make(np.asarray(np.floor_divide(a, b)))

    def __rfloordiv__(self, other: Any) -> Tensor:
        b, a = self._promoted_arrays(other)
        return _make(np.asarray(np.floor_divide(a, b)))

    def __mod__(self, other: Any) -> Tensor:
        a, b = self._promoted_arrays(other)
        return _make(np.asarray(np.mod(a, b)))

    def __rmod__(self, other: Any) -> Tensor:
        b, a = self._promoted_arrays(other)
        return _make(np.asarray(np.mod(a, b)))

    def __pow__(self, other: Any) -> Tensor:
        if type(other) in _SCALAR_TYPES:
            kind = self._data.dtype.kind
            if kind == "f" or type(other) is _py_bool:
                base = self
            elif type(other) is _py_float:
                base = self._as_float()
            else:  # an int power of an int or bool tensor: integers (bool counts as int64)
                if other < 0:
                    raise RuntimeError("Integers to negative integer powers are not allowed.")
                return _make(np.asarray(np.power(self._data if kind != "b" else self._data.astype(_INT64), other)))
            return E.PowScalar.apply(base, c=other)
        a, b = self._operands(other)
        if a._data.dtype.kind in "iu":  # integer tensors (never differentiable): PyTorch's integer pow
            return _make(_int_power(a._data, b._data))
        return E.Pow.apply(a, b)

    def __rpow__(self, other: Any) -> Tensor:
        if type(other) in _SCALAR_TYPES:
            kind = self._data.dtype.kind
            if (kind in "iu" and type(other) is not _py_float) or (kind == "b" and type(other) is _py_int):
                # int ** int tensor: integers, as in PyTorch
                exps = self._data if kind != "b" else self._data.astype(_INT64)
                return _make(_int_power(np.asarray(other, dtype=exps.dtype), exps))
            return E.RPowScalar.apply(self._as_float(), c=other)
        b, a = self._operands(other)
        if a._data.dtype.kind in "iu":
            return _make(_int_power(a._data, b._data))
        return E.Pow.apply(a, b)

    def __matmul__(self, other: Any) -> Tensor:
        return self.matmul(other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return _const_like(other, self).matmul(self)

    def __neg__(self) -> Tensor:
        return E.Neg.apply(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return self.abs()

    def _scalar_base(self, c: Any) -> Tensor:
        # int tensor (op) float scalar is float32 in PyTorch (NumPy would say float64)
        if type(c) is _py_float and self._data.dtype.kind != "f":
            return self._as_float()
        return self

    add = __add__
    sub = subtract = __sub__
    mul = multiply = __mul__
    div = divide = true_divide = __truediv__
    pow = __pow__

    # ---- comparisons and logic (not differentiable) ----------------------------------------------
    def _compare(self, other: Any, ufunc: Any) -> Tensor:
        o = other._data if isinstance(other, Tensor) else other
        return _make(np.asarray(ufunc(self._data, o)))

    def __eq__(self, other: Any) -> Any:  # type: ignore[override]
        if other is None:
            return False
        return self._compare(other, np.equal)

    def __ne__(self, other: Any) -> Any:  # type: ignore[override]
        if other is None:
            return True
        return self._compare(other, np.not_equal)

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(other, np.less)

    def __le__(self, other: Any) -> Tensor:
        return self._compare(other, np.less_equal)

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater)

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater_equal)

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    def __and__(self, other: Any) -> Tensor:
        return self._compare(other, np.logical_and if self._data.dtype == _BOOL else np.bitwise_and)

    def __or__(self, other: Any) -> Tensor:
        return self._compare(other, np.logical_or if self._data.dtype == _BOOL else np.bitwise_or)

    def __xor__(self, other: Any) -> Tensor:
        return self._compare(other, np.logical_xor if self._data.dtype == _BOOL else np.bitwise_xor)

    def __invert__(self) -> Tensor:
        return _make(np.asarray(~self._data))

    def logical_not(self) -> Tensor:
        return _make(np.asarray(np.logical_not(self._data)))

    def equal(self, other: Tensor) -> bool:
        return self._data.shape == other._data.shape and _py_bool(np.array_equal(self._data, other._data))

    def allclose(self, other: Tensor, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
        return _py_bool(np.allclose(self._data, other._data, rtol=rtol, atol=atol))

    def isnan(self) -> Tensor:
        return _make(np.asarray(np.isnan(self._data)))

    def isfinite(self) -> Tensor:
        return _make(np.asarray(np.isfinite(self._data)))

    def isinf(self) -> Tensor:
        return _make(np.asarray(np.isinf(self._data)))

    def any(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return _make(np.asarray(self._data.any(axis=_axes(dim, self._data.ndim), keepdims=keepdim)))

    def all(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return _make(np.asarray(self._data.all(axis=_axes(dim, self._data.ndim), keepdims=keepdim)))

    def sign(self) -> Tensor:
        return _make(np.sign(self._data))

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        if dim is None:
            return _make(np.asarray(np.argmax(self._data)))
        d = _check_dim(dim, self._data.ndim)
        return _make(np.asarray(np.argmax(self._data, axis=d, keepdims=keepdim)))

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        if dim is None:
            return _make(np.asarray(np.argmin(self._data)))
        d = _check_dim(dim, self._data.ndim)
        return _make(np.asarray(np.argmin(self._data, axis=d, keepdims=keepdim)))

    # ---- unary math -----------------------------------------------------------------------------
    def neg(self) -> Tensor:
        return E.Neg.apply(self)

    negative = neg

    def abs(self) -> Tensor:
        return E.Abs.apply(self)

    def exp(self) -> Tensor:
        return E.Exp.apply(self._as_float())

    def log(self) -> Tensor:
        return E.Log.apply(self._as_float())

    def sqrt(self) -> Tensor:
        return E.Sqrt.apply(self._as_float())

    def rsqrt(self) -> Tensor:
        return E.Rsqrt.apply(self._as_float())

    def sin(self) -> Tensor:
        return E.Sin.apply(self._as_float())

    def cos(self) -> Tensor:
        return E.Cos.apply(self._as_float())

    def tanh(self) -> Tensor:
        return E.Tanh.apply(self._as_float())

    def sigmoid(self) -> Tensor:
        return E.Sigmoid.apply(self._as_float())

    def relu(self) -> Tensor:
        return E.Relu.apply(self)

    def square(self) -> Tensor:
        return E.PowScalar.apply(self, c=2)

    def reciprocal(self) -> Tensor:
        return E.RDivScalar.apply(self._as_float(), c=1.0)

    def log1p(self) -> Tensor:
        return (self._as_float() + 1.0).log()

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        if min is None and max is None:
            raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
        if isinstance(min, Tensor) or isinstance(max, Tensor):
            out = self
            if min is not None:
                out = out.maximum(min if isinstance(min, Tensor) else _const_like(min, self))
            if max is not None:
                out = out.minimum(max if isinstance(max, Tensor) else _const_like(max, self))
            return out
        return E.Clamp.apply(self, lo=min, hi=max)

    clip = clamp

    def clamp_min(self, min: Any) -> Tensor:  # noqa: A002
        return self.clamp(min=min)

    def clamp_max(self, max: Any) -> Tensor:  # noqa: A002
        return self.clamp(max=max)

    def maximum(self, other: Any) -> Tensor:
        return E.Maximum.apply(*self._operands(other))

    def minimum(self, other: Any) -> Tensor:
        return E.Minimum.apply(*self._operands(other))

    def where(self, condition: Any, other: Any) -> Tensor:
        """``x.where(cond, y)`` is ``where(cond, x, y)``, as in PyTorch."""
        return where(condition, self, other)

    def masked_fill(self, mask: Any, value: Any) -> Tensor:
        return where(mask, _const_like(value, self), self)

    def lerp(self, end: Tensor, weight: Any) -> Tensor:
        return self + (end - self) * weight

    # ---- reductions -----------------------------------------------------------------------------
    def sum(self, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
        x = self if dtype is None else self.to(dtype)
        if x._data.dtype.kind in "biu":
            return _make(np.asarray(x._data.sum(axis=_axes(dim, x._data.ndim), keepdims=keepdim, dtype=np.int64)))
        return R.Sum.apply(x, axes=_axes(dim, x._data.ndim), keepdim=keepdim)

    def mean(self, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
        x = self if dtype is None else self.to(dtype)
        if x._data.dtype.kind != "f":
            raise RuntimeError(
                "mean(): could not infer output dtype. Input dtype must be either a floating point "
                f"or complex dtype. Got: {x.dtype.name}"
            )
        return R.Mean.apply(x, axes=_axes(dim, x._data.ndim), keepdim=keepdim)

    def var(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, correction: Any = None) -> Tensor:
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        axes = _axes(dim, self._data.ndim)
        n = self._data.size if axes is None else int(np.prod([self._data.shape[i] for i in axes]))
        centered = self - self.mean(dim=axes, keepdim=True)
        return (centered * centered).sum(dim=axes, keepdim=keepdim) / builtins.max(n - correction, 0)

    def std(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, correction: Any = None) -> Tensor:
        v = self.var(dim, unbiased=unbiased, keepdim=keepdim, correction=correction)
        flat = v._data == 0
        if not flat.any():
            return v.sqrt()
        # zero variance (constant data): std 0 with gradient 0, as PyTorch's std backward gives,
        # not sqrt's 1/(2*0) = inf times a zero derivative of var = nan
        zero = _make(np.asarray(flat))
        return where(zero, 0.0, where(zero, 1.0, v).sqrt())

    def prod(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return R.Prod.apply(self, axes=_axes(dim, self._data.ndim), keepdim=keepdim)

    def _extreme(self, dim: Any, keepdim: bool, is_min: bool) -> Any:
        if isinstance(dim, Tensor):  # x.max(other) is the elementwise maximum (fastai's simple_net)
            return self.minimum(dim) if is_min else self.maximum(dim)
        if self._data.size == 0:
            raise RuntimeError(
                f"{'min' if is_min else 'max'}(): Expected reduction dim to be specified for input.numel() == 0."
            )
        if dim is None:
            return R.Amax.apply(self, axes=None, keepdim=False, is_min=is_min)
        d = _check_dim(dim, self._data.ndim) if self._data.ndim else None
        if d is None:
            return (self, _make(np.zeros((), dtype=np.int64)))
        values = R.MaxDim.apply(self, dim=d, keepdim=keepdim, is_min=is_min)
        idx = values.grad_fn.indices if values.grad_fn is not None else (
            np.argmin(self._data, axis=d, keepdims=keepdim) if is_min else np.argmax(self._data, axis=d, keepdims=keepdim)
        )
        rt = return_types_min if is_min else return_types_max
        return rt(values, _make(np.asarray(idx, dtype=np.int64)))

    def max(self, dim: Any = None, keepdim: bool = False) -> Any:
        return self._extreme(dim, keepdim, False)

    def min(self, dim: Any = None, keepdim: bool = False) -> Any:
        return self._extreme(dim, keepdim, True)

    def amax(self, dim: Any = (), keepdim: bool = False) -> Tensor:
        axes = _axes(dim if dim != () else None, self._data.ndim)
        return R.Amax.apply(self, axes=axes, keepdim=keepdim, is_min=False)

    def amin(self, dim: Any = (), keepdim: bool = False) -> Tensor:
        axes = _axes(dim if dim != () else None, self._data.ndim)
        return R.Amax.apply(self, axes=axes, keepdim=keepdim, is_min=True)

    def logsumexp(self, dim: Any, keepdim: bool = False) -> Tensor:
        return R.LogSumExp.apply(self._as_float(), axes=_axes(dim, self._data.ndim), keepdim=keepdim)

    def softmax(self, dim: int) -> Tensor:
        return R.Softmax.apply(self._as_float(), dim=_check_dim(dim, self._data.ndim))

    def log_softmax(self, dim: int) -> Tensor:
        return R.LogSoftmax.apply(self._as_float(), dim=_check_dim(dim, self._data.ndim))

    def sort(self, dim: int = -1, descending: bool = False) -> Any:
        d = _check_dim(dim, self._data.ndim)
        idx = np.argsort(-self._data if descending else self._data, axis=d, kind="stable")
        return return_types_sort(self.gather(d, _make(idx)), _make(idx))

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:  # noqa: A002
        d = _check_dim(dim, self._data.ndim)
        idx = np.argsort(-self._data if largest else self._data, axis=d, kind="stable")
        idx = np.take(idx, np.arange(k), axis=d)
        return return_types_topk(self.gather(d, _make(idx)), _make(idx))

    def gather(self, dim: int, index: Tensor) -> Tensor:
        d = _check_dim(dim, self._data.ndim)
        return Gather.apply(self, dim=d, index=index._data)

    # ---- linear algebra -------------------------------------------------------------------------
    def matmul(self, other: Any) -> Tensor:
        a, b = self._operands(other)
        da, db = a._data.ndim, b._data.ndim
        if da == 0 or db == 0:
            raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {da}D and {db}D")
        ka = a._data.shape[-1]
        kb = b._data.shape[-2] if db > 1 else b._data.shape[0]
        if ka != kb:
            sa = "x".join(map(str, a._data.shape if da > 1 else (1,) + a._data.shape))
            sb = "x".join(map(str, b._data.shape if db > 1 else b._data.shape + (1,)))
            raise RuntimeError(
                f"mat1 and mat2 shapes cannot be multiplied ({sa} and {sb})"
                if da <= 2 and db <= 2
                else f"matmul: inner dimensions do not match: {tuple(a._data.shape)} @ {tuple(b._data.shape)}"
            )
        if da >= 2 and db >= 2:
            return L.Matmul.apply(a, b)
        a2 = a.unsqueeze(0) if da == 1 else a
        b2 = b.unsqueeze(-1) if db == 1 else b
        out = L.Matmul.apply(a2, b2)
        if da == 1 and db == 1:
            return out.reshape(())
        return out.squeeze(-1) if db == 1 else out.squeeze(-2)

    def mm(self, other: Tensor) -> Tensor:
        if self._data.ndim != 2 or other._data.ndim != 2:
            raise RuntimeError(f"mm: expected 2-D tensors, got {self._data.ndim}-D and {other._data.ndim}-D")
        return self.matmul(other)

    def bmm(self, other: Tensor) -> Tensor:
        if self._data.ndim != 3 or other._data.ndim != 3:
            raise RuntimeError(f"bmm: expected 3-D tensors, got {self._data.ndim}-D and {other._data.ndim}-D")
        if self._data.shape[0] != other._data.shape[0]:
            raise RuntimeError(f"bmm: batch sizes differ: {tuple(self.shape)} and {tuple(other.shape)}")
        return self.matmul(other)

    def dot(self, other: Tensor) -> Tensor:
        if self._data.ndim != 1 or other._data.ndim != 1:
            raise RuntimeError(f"1D tensors expected, but got {self._data.ndim}D and {other._data.ndim}D tensors")
        if self._data.shape != other._data.shape:
            raise RuntimeError(
                f"inconsistent tensor size, expected tensor [{self._data.shape[0]}] and src "
                f"[{other._data.shape[0]}] to have the same number of elements, but got "
                f"{self._data.shape[0]} and {other._data.shape[0]} elements respectively"
            )
        return self.matmul(other)

    def outer(self, other: Tensor) -> Tensor:
        return self.reshape(-1, 1) * other.reshape(1, -1)

    # ---- shape and views ------------------------------------------------------------------------
    def reshape(self, *shape: Any) -> Tensor:
        shape = _shape_args(shape)
        if shape == self._data.shape:
            return self
        arr = self._data
        known = 1
        infer = -1
        for i, s in enumerate(shape):
            if s == -1:
                if infer >= 0:
                    raise RuntimeError("only one dimension can be inferred")
                infer = i
            elif s < 0:
                raise RuntimeError(f"invalid shape dimension {s}")
            else:
                known *= s
        if (infer < 0 and known != arr.size) or (infer >= 0 and (known == 0 or arr.size % known)):
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {arr.size}")
        return M.Reshape.apply(self, shape=shape)

    def view(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (_dt.dtype, np.dtype, type)):
            raise RuntimeError("view(dtype) is not supported; use .to(dtype)")
        out = self.reshape(*shape)
        if out is not self and not np.may_share_memory(out._data, self._data) and self._data.size:
            raise RuntimeError(
                "view size is not compatible with input tensor's size and stride (at least one "
                "dimension spans across two contiguous subspaces). Use .reshape(...) instead."
            )
        return out

    def view_as(self, other: Tensor) -> Tensor:
        return self.view(*other._data.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        return self.reshape(*other._data.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        shape = self._data.shape
        if not shape:
            return self.reshape(1)
        s = _check_dim(start_dim, len(shape))
        e = _check_dim(end_dim, len(shape))
        if s > e:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        n = 1
        for d in shape[s : e + 1]:
            n *= d
        return self.reshape(*shape[:s], n, *shape[e + 1 :])

    def unflatten(self, dim: int, sizes: Sequence[int]) -> Tensor:
        d = _check_dim(dim, self._data.ndim)
        shape = self._data.shape
        return self.reshape(*shape[:d], *sizes, *shape[d + 1 :])

    def unsqueeze(self, dim: int) -> Tensor:
        n = self._data.ndim + 1
        if not -n <= dim < n:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
        d = dim + n if dim < 0 else dim
        shape = self._data.shape
        return M.Reshape.apply(self, shape=shape[:d] + (1,) + shape[d:])

    def squeeze(self, dim: Any = None) -> Tensor:
        shape = self._data.shape
        if dim is None:
            new = tuple(s for s in shape if s != 1)
        else:
            axes = _axes(dim, len(shape)) or ()
            new = tuple(s for i, s in enumerate(shape) if not (i in axes and s == 1))
        return self if new == shape else M.Reshape.apply(self, shape=new)

    def permute(self, *dims: Any) -> Tensor:
        dims = _shape_args(dims)
        n = self._data.ndim
        if len(dims) != n:
            raise RuntimeError(
                f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
                f"length of the desired ordering of dimensions i.e. input.dim() = {n} is not equal to "
                f"len(dims) = {len(dims)}"
            )
        axes = tuple(_check_dim(d, n) for d in dims)
        if len(set(axes)) != n:
            raise RuntimeError(f"permute(): duplicate dims are not allowed: {dims}")
        if axes == tuple(range(n)):
            return self
        return M.Permute.apply(self, axes=axes)

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        n = self._data.ndim
        if n == 0:
            return self
        d0, d1 = _check_dim(dim0, n), _check_dim(dim1, n)
        axes = list(range(n))
        axes[d0], axes[d1] = axes[d1], axes[d0]
        return self.permute(*axes)

    swapaxes = transpose

    def t(self) -> Tensor:
        if self._data.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self._data.ndim}D")
        return self.transpose(0, 1) if self._data.ndim == 2 else self

    def expand(self, *sizes: Any) -> Tensor:
        sizes = _shape_args(sizes)
        shape = self._data.shape
        if len(sizes) < len(shape):
            raise RuntimeError(
                f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to the "
                f"number of dimensions in the tensor ({len(shape)})"
            )
        lead = len(sizes) - len(shape)
        target = []
        for i, s in enumerate(sizes):
            cur = shape[i - lead] if i >= lead else None
            if s == -1:
                if cur is None:
                    raise RuntimeError("expand: -1 is not allowed in a leading, non-existing dimension")
                s = cur
            elif cur is not None and cur != s and cur != 1:
                raise RuntimeError(
                    f"The expanded size of the tensor ({s}) must match the existing size ({cur}) at "
                    f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: {list(shape)}"
                )
            target.append(s)
        target_t = tuple(target)
        return self if target_t == shape else M.Expand.apply(self, shape=target_t)

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(*other._data.shape)

    def broadcast_to(self, *shape: Any) -> Tensor:
        return self.expand(*shape)

    def split(self, split_size: Any, dim: int = 0) -> tuple[Tensor, ...]:
        d = _check_dim(dim, self._data.ndim)
        n = self._data.shape[d]
        if isinstance(split_size, (list, tuple)):
            if builtins.sum(split_size) != n:
                raise RuntimeError(
                    f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size "
                    f"at dimension {d}), but got split_sizes={list(split_size)}"
                )
            sizes = list(split_size)
        else:
            if split_size <= 0:
                raise RuntimeError(f"split expects split_size be positive, but got split_size={split_size}")
            sizes = [split_size] * (n // split_size) + ([n % split_size] if n % split_size else [])
        out = []
        start = 0
        pre = (slice(None),) * d
        for s in sizes:
            out.append(self[pre + (slice(start, start + s),)])
            start += s
        return tuple(out)

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        d = _check_dim(dim, self._data.ndim)
        n = self._data.shape[d]
        size = -(-n // chunks) if n else 1
        return self.split(builtins.max(size, 1), d)

    def unbind(self, dim: int = 0) -> tuple[Tensor, ...]:
        d = _check_dim(dim, self._data.ndim)
        pre = (slice(None),) * d
        return tuple(self[pre + (i,)] for i in range(self._data.shape[d]))

    def narrow(self, dim: int, start: int, length: int) -> Tensor:
        d = _check_dim(dim, self._data.ndim)
        return self[(slice(None),) * d + (slice(start, start + length),)]

    def select(self, dim: int, index: int) -> Tensor:
        d = _check_dim(dim, self._data.ndim)
        return self[(slice(None),) * d + (index,)]

    def __getitem__(self, index: Any) -> Tensor:
        idx, basic = _to_index(index)
        try:
            if basic:
                return M.GetItem.apply(self, index=idx)
            split = _split_int_selects(idx)
            if split is not None:
                return M.GetItemCopy.apply(M.GetItem.apply(self, index=split[0]), index=split[1])
            return M.GetItemCopy.apply(self, index=idx)
        except IndexError as e:
            raise IndexError(f"index {index!r} is invalid for a tensor of shape {list(self._data.shape)}: {e}") from None

    # ---- in-place ops ---------------------------------------------------------------------------
    def _check_inplace(self, other: Any) -> bool:
        """Whether autograd must record this in-place op; raise for the cases PyTorch rejects."""
        if not _grad_state.enabled:
            return False
        other_rg = isinstance(other, Tensor) and other.requires_grad
        if not (self.requires_grad or other_rg):
            return False
        if self.requires_grad and self.grad_fn is None:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        base = self._base
        if base is not None and base.requires_grad and base.grad_fn is None:
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place operation.")
        if base is not None and (base.requires_grad or other_rg):
            raise RuntimeError(
                "in-place operation on a view of a tensor that is part of the autograd graph is not "
                "supported by tinygrad_ko; use an out-of-place op (x = x + y) or wrap it in no_grad()"
            )
        return True

    def _inplace(self, other: Any, method: Callable[[Tensor, Any], Tensor], ufunc: Any) -> Tensor:
        if self._check_inplace(other):
            # record out-of-place on an alias holding the old value, then write the result back
            alias = _make(self._data.copy(), self.requires_grad, self.grad_fn)
            result = method(alias, other)
            self._write(result._data)
            self.grad_fn, self.requires_grad = result.grad_fn, result.requires_grad
            return self
        o = other._data if isinstance(other, Tensor) else other
        try:
            ufunc(self._data, o, out=self._data, casting="same_kind")
        except (TypeError, ValueError) as e:
            raise RuntimeError(f"in-place {ufunc.__name__} on a {self.dtype} tensor of shape {list(self._data.shape)}: {e}") from None
        self._version.value += 1
        return self

    def _write(self, values: np.ndarray) -> None:
        try:
            np.copyto(self._data, values, casting="same_kind")
        except (TypeError, ValueError) as e:
            raise RuntimeError(f"in-place op on a {self.dtype} tensor of shape {list(self._data.shape)}: {e}") from None
        self._version.value += 1

    def add_(self, other: Any, alpha: Any = 1) -> Tensor:
        if alpha != 1:
            other = other * alpha
        return self._inplace(other, Tensor.__add__, np.add)

    def sub_(self, other: Any, alpha: Any = 1) -> Tensor:
        if alpha != 1:
            other = other * alpha
        return self._inplace(other, Tensor.__sub__, np.subtract)

    def mul_(self, other: Any) -> Tensor:
        return self._inplace(other, Tensor.__mul__, np.multiply)

    def div_(self, other: Any) -> Tensor:
        return self._inplace(other, Tensor.__truediv__, np.true_divide)

    def pow_(self, other: Any) -> Tensor:
        return self._inplace(other, Tensor.__pow__, np.power)

    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        if self._check_inplace(None):
            result = _make(self._data.copy(), self.requires_grad, self.grad_fn).clamp(min, max)
            self._write(result._data)
            self.grad_fn = result.grad_fn
            return self
        np.clip(self._data, min, max, out=self._data)
        self._version.value += 1
        return self

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def fill_(self, value: Any) -> Tensor:
        if self._check_inplace(value):
            return self._inplace(value, lambda a, v: a * 0 + v, None)
        self._data[...] = value._data if isinstance(value, Tensor) else value
        self._version.value += 1
        return self

    def copy_(self, src: Any) -> Tensor:
        src_t = src if isinstance(src, Tensor) else _const_like(src, self)
        if self._check_inplace(src_t):
            return self._inplace(src_t, lambda a, s: a * 0 + s._cast(a._data.dtype), None)
        np.copyto(self._data, np.broadcast_to(src_t._data, self._data.shape), casting="unsafe")
        self._version.value += 1
        return self

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> Tensor:
        self._data[...] = default_generator().normal(mean, std, self._data.shape)
        self._version.value += 1
        return self

    def uniform_(self, a: float = 0.0, b: float = 1.0) -> Tensor:
        self._data[...] = default_generator().uniform(a, b, self._data.shape)
        self._version.value += 1
        return self

    def __setitem__(self, index: Any, value: Any) -> None:
        idx, basic = _to_index(index)
        split = None if basic else _split_int_selects(idx)
        if split is not None:
            # PyTorch's order (see _split_int_selects): the same elements as x[ints][rest] = value
            flat = np.arange(self._data.size).reshape(self._data.shape)
            idx = np.unravel_index(flat[split[0]][split[1]], self._data.shape)
        if self._check_inplace(value):
            v = value if isinstance(value, Tensor) else _const_like(value, self)
            alias = _make(self._data.copy(), self.requires_grad, self.grad_fn)
            result = M.SetItem.apply(alias, v._cast(self._data.dtype), index=idx)
            self._data[...] = result._data
            self._version.value += 1
            self.grad_fn, self.requires_grad = result.grad_fn, True
            return
        self._data[idx] = value._data if isinstance(value, Tensor) else value
        self._version.value += 1

    # ---- a few more PyTorch conveniences ----------------------------------------------------------
    def new_zeros(self, *size: Any) -> Tensor:
        return _make(np.zeros(_shape_args(size), dtype=self._data.dtype))

    def new_ones(self, *size: Any) -> Tensor:
        return _make(np.ones(_shape_args(size), dtype=self._data.dtype))

    def new_tensor(self, data: Any) -> Tensor:
        return tensor(data, dtype=self._data.dtype)

    def zero_grad_(self) -> None:
        self._grad = None


class Gather(Function):
    """take_along_axis; backward scatters (adds) the gradient back to the gathered positions."""

    once_differentiable = True

    @staticmethod
    def forward(ctx, a, dim, index):
        ctx.shape, ctx.dim, ctx.index = a.shape, dim, index
        return np.take_along_axis(a, index, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        full = list(np.indices(ctx.index.shape, sparse=True))
        full[ctx.dim] = ctx.index
        out = np.zeros(ctx.shape, dtype=grad._data.dtype)
        np.add.at(out, tuple(full), grad._data)
        return _make(out)


_function.Tensor = Tensor
_function._make = _make


def _const_like(value: Any, like: Tensor) -> Tensor:
    """A non-grad Tensor for a scalar/array/list operand; Python floats follow ``like``'s float dtype."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.generic):
        value = value.item()
    if type(value) in _SCALAR_TYPES:
        kind = like._data.dtype.kind
        if type(value) is _py_float:
            dt = like._data.dtype if kind == "f" else _FLOAT32
        elif type(value) is _py_bool:
            dt = _BOOL if kind == "b" else like._data.dtype
        else:
            dt = like._data.dtype if kind in "fiu" else _INT64
        return _make(np.asarray(value, dtype=dt))
    if isinstance(value, np.ndarray):
        return _make(value)
    return tensor(value)


# ---- creation --------------------------------------------------------------------------------
def _infer_dtype(arr: np.ndarray) -> np.dtype:
    kind = arr.dtype.kind
    if kind == "f":
        return arr.dtype if arr.dtype in (np.float32, np.float64, np.float16) else _FLOAT32
    if kind == "b":
        return _BOOL
    if kind in "iu":
        return arr.dtype
    raise TypeError(f"can't convert a value of dtype {arr.dtype} to a tensor")


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """Build a Tensor from data (lists, scalars, ndarrays, Tensors), always copying, like PyTorch.

    Python floats become float32, ints int64, bools bool; NumPy arrays keep their dtype.
    """
    if isinstance(data, Tensor):
        arr = np.array(data._data, copy=True)
    elif isinstance(data, np.ndarray):
        arr = np.array(data, copy=True)
    else:
        if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in _flat_iter(data)):
            data = _tensors_to_lists(data)
        try:
            arr = np.array(data)
        except ValueError as e:
            raise ValueError(f"tensor(): could not build a tensor from the given data: {e}") from None
        if arr.dtype.kind == "f":
            # Python floats are float32 (the default dtype); NumPy float scalars keep their own
            # type, and in a list they promote with it, as in PyTorch (np.float64 -> float64)
            if arr.dtype != _FLOAT32 and not isinstance(data, np.generic):
                arr = arr.astype(_list_float_dtype(data))
        elif arr.dtype.kind in "iu" and not isinstance(data, np.generic):
            arr = arr.astype(_INT64)
        elif arr.dtype.kind not in "fiub":
            raise TypeError(f"tensor(): could not convert data of type {type(data).__name__} to a tensor")
    if dtype is not None:
        arr = arr.astype(_dt.to_numpy_dtype(dtype), copy=False)
    else:
        nd = _infer_dtype(arr)
        if nd != arr.dtype:
            arr = arr.astype(nd)
    t = _make(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _int_power(base: Any, exp: Any) -> np.ndarray:
    """Integer ``base ** exp`` with PyTorch's answer for negative exponents, which NumPy refuses:
    the integer part of ``1 / base**-exp``: 1 for base 1, +-1 for base -1, 0 otherwise."""
    base, exp = np.asarray(base), np.asarray(exp)
    neg = exp < 0
    if not neg.any():
        return np.asarray(np.power(base, exp))
    out = np.asarray(np.power(base, np.where(neg, 0, exp)))
    special = np.where(base == 1, 1, np.where(base == -1, np.where(exp % 2 == 0, 1, -1), 0))
    return np.where(neg, special, out).astype(out.dtype, copy=False)


def _list_float_dtype(data: Any) -> np.dtype:
    """The float dtype PyTorch gives a nested list of numbers: float32 for Python numbers,
    promoted with the dtype of any NumPy float scalar in it."""
    out = _FLOAT32
    for x in _flat_iter(data) if isinstance(data, (list, tuple)) else (data,):
        if isinstance(x, np.floating):
            out = np.promote_types(out, x.dtype)
    return out


def _flat_iter(data: Any) -> Iterator[Any]:
    for x in data:
        if isinstance(x, (list, tuple)):
            yield from _flat_iter(x)
        else:
            yield x


def _tensors_to_lists(data: Any) -> Any:
    if isinstance(data, Tensor):
        return data._data
    if isinstance(data, (list, tuple)):
        return [_tensors_to_lists(x) for x in data]
    return data


def from_numpy(arr: np.ndarray) -> Tensor:
    """Wrap an ndarray without copying: the Tensor and the array share memory."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(arr).__name__})")
    _dt.from_numpy_dtype(arr.dtype)
    return _make(arr)


def as_tensor(data: Any, dtype: Any = None) -> Tensor:
    if isinstance(data, Tensor) and dtype is None:
        return data
    if isinstance(data, np.ndarray) and dtype is None:
        return from_numpy(data)
    return tensor(data, dtype=dtype)


def _creation(arr: np.ndarray, requires_grad: bool) -> Tensor:
    t = _make(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _np_dtype(dtype: Any, default: np.dtype = _FLOAT32) -> np.dtype:
    return default if dtype is None else _dt.to_numpy_dtype(dtype)


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    return _creation(np.zeros(_shape_args(size), dtype=_np_dtype(dtype)), requires_grad)


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    return _creation(np.ones(_shape_args(size), dtype=_np_dtype(dtype)), requires_grad)


def empty(*size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    return _creation(np.empty(_shape_args(size), dtype=_np_dtype(dtype)), requires_grad)


def full(size: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    if dtype is None:
        dtype = _FLOAT32 if isinstance(fill_value, _py_float) else _BOOL if isinstance(fill_value, _py_bool) else _INT64
    return _creation(np.full(_shape_args((size,)), fill_value, dtype=_np_dtype(dtype)), requires_grad)


def _like(t: Tensor, dtype: Any) -> tuple[tuple[int, ...], np.dtype]:
    return t._data.shape, (t._data.dtype if dtype is None else _dt.to_numpy_dtype(dtype))


def zeros_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dt = _like(t, dtype)
    return _creation(np.zeros(shape, dtype=dt), requires_grad)


def ones_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dt = _like(t, dtype)
    return _creation(np.ones(shape, dtype=dt), requires_grad)


def empty_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dt = _like(t, dtype)
    return _creation(np.empty(shape, dtype=dt), requires_grad)


def full_like(t: Tensor, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dt = _like(t, dtype)
    return _creation(np.full(shape, fill_value, dtype=dt), requires_grad)


def rand(*size: Any, dtype: Any = None, requires_grad: bool = False, generator: Any = None) -> Tensor:
    g = generator or default_generator()
    dt = _np_dtype(dtype)
    return _creation(g.random(_shape_args(size), dtype=dt if dt in (np.float32, np.float64) else np.float64).astype(dt, copy=False), requires_grad)


def randn(*size: Any, dtype: Any = None, requires_grad: bool = False, generator: Any = None) -> Tensor:
    g = generator or default_generator()
    dt = _np_dtype(dtype)
    return _creation(g.standard_normal(_shape_args(size), dtype=dt if dt in (np.float32, np.float64) else np.float64).astype(dt, copy=False), requires_grad)


def randint(low: int, high: int | None = None, size: Any = (), dtype: Any = None, generator: Any = None) -> Tensor:
    if high is None:
        low, high = 0, low
    g = generator or default_generator()
    return _make(np.asarray(g.integers(low, high, size=_shape_args((size,)))).astype(_np_dtype(dtype, _INT64)))


def randperm(n: int, dtype: Any = None, generator: Any = None) -> Tensor:
    g = generator or default_generator()
    return _make(g.permutation(n).astype(_np_dtype(dtype, _INT64)))


def rand_like(t: Tensor, dtype: Any = None) -> Tensor:
    return rand(*t._data.shape, dtype=dtype or t._data.dtype)


def randn_like(t: Tensor, dtype: Any = None) -> Tensor:
    return randn(*t._data.shape, dtype=dtype or t._data.dtype)


def arange(start: Any, end: Any = None, step: Any = 1, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    if end is None:
        start, end = 0, start
    is_float = any(isinstance(v, _py_float) for v in (start, end, step))
    default = _FLOAT32 if is_float else _INT64
    dt = _np_dtype(dtype, default)
    return _creation(np.arange(start, end, step, dtype=np.float64 if is_float else None).astype(dt), requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _creation(np.linspace(start, end, steps).astype(_np_dtype(dtype)), requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _creation(np.eye(n, m, dtype=_np_dtype(dtype)), requires_grad)


# ---- functions over several tensors -------------------------------------------------------------
def _as_tensors(tensors: Sequence[Any], op: str) -> list[Tensor]:
    ts = [t if isinstance(t, Tensor) else tensor(t) for t in tensors]
    if not ts:
        raise RuntimeError(f"{op}(): expected a non-empty list of Tensors")
    dts = {t._data.dtype for t in ts}
    if len(dts) > 1:
        rd = ts[0]._data.dtype
        for t in ts[1:]:
            rd = _result_dtype(rd, t._data.dtype, 1, 1)
        ts = [t._cast(rd) for t in ts]
    return ts


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    ts = [t for t in _as_tensors(tensors, "cat") if not (t._data.ndim == 1 and t._data.size == 0)] or list(tensors)[:1]
    ndim = ts[0]._data.ndim
    d = _check_dim(dim, ndim)
    ref = ts[0]._data.shape
    for i, t in enumerate(ts):
        s = t._data.shape
        if len(s) != ndim or any(a != b for j, (a, b) in enumerate(zip(s, ref)) if j != d):
            raise RuntimeError(
                f"Sizes of tensors must match except in dimension {d}. Expected size "
                f"{list(ref)} but got size {list(s)} for tensor number {i} in the list."
            )
    return M.Cat.apply(*ts, dim=d)


concat = concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    ts = _as_tensors(tensors, "stack")
    ref = ts[0]._data.shape
    for i, t in enumerate(ts):
        if t._data.shape != ref:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(ref)} at entry 0 and "
                f"{list(t._data.shape)} at entry {i}"
            )
    n = len(ref) + 1
    d = _check_dim(dim, n)
    return M.Cat.apply(*[t.unsqueeze(d) for t in ts], dim=d)


def where(condition: Any, input: Any = None, other: Any = None) -> Any:  # noqa: A002
    """where(cond, a, b): elementwise choice; where(cond) alone gives the indices (nonzero)."""
    cond = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
    if input is None and other is None:
        return tuple(_make(i) for i in np.nonzero(cond))
    if cond.dtype != np.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype {cond.dtype}")
    a = input if isinstance(input, Tensor) else None
    b = other if isinstance(other, Tensor) else None
    if a is None and b is None:
        a = tensor(input)
    if a is None:
        a = _const_like(input, b)
    if b is None:
        b = _const_like(other, a)
    a, b = a._operands(b)
    return E.Where.apply(a, b, cond=cond)


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float = 0.0) -> Tensor:  # noqa: A002
    """PyTorch's F.pad for mode='constant': ``pad`` lists (left, right) pairs from the last dim."""
    if mode != "constant":
        raise NotImplementedError(f"pad: mode {mode!r} is not supported (only 'constant')")
    if len(pad) % 2 or len(pad) // 2 > input._data.ndim:
        raise RuntimeError(f"Padding length must be divisible by 2 and at most twice the tensor's rank; got {len(pad)}")
    widths = [[0, 0] for _ in range(input._data.ndim)]
    for i in range(len(pad) // 2):
        widths[-1 - i] = [pad[2 * i], pad[2 * i + 1]]
    if any(w < 0 for pair in widths for w in pair):
        out = input
        index = tuple(slice(-b if b < 0 else None, a if a < 0 else None) for b, a in widths)
        out = out[index]
        widths = [[builtins.max(b, 0), builtins.max(a, 0)] for b, a in widths]
        return M.Pad.apply(out, widths=tuple(map(tuple, widths)), value=value)
    return M.Pad.apply(input, widths=tuple(map(tuple, widths)), value=value)
