"""The Tensor's PyTorch methods and operators: PyTorch's argument rules, then one ``Fn.apply``.

The core Tensor (tinygrad_ko/tensor.py) holds only the autograd state; ``install()`` gives it the
methods below when tinygrad_ko is imported, the way early tinygrad registered its ops on Tensor.
"""

from __future__ import annotations

import builtins
from collections import namedtuple
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ..autograd.grad_mode import state as grad_mode
from ..ops import elementwise, linalg, movement, reduce
from ..ops.gather import AsStrided, Gather
from ..ops.piecewise import DivRounding, Remainder, Sign
from ..ops.tuned import TunedRelu
from ..random import default_generator
from ..tensor import Tensor, storage_root, wrap
from . import dtypes, printing
from .creation import const_like, tensor, where
from .device import CPU, CPU_ONLY, is_device_like, require_cpu
from .fperrors import silent
from .rules import (
    BOOL,
    BOOL_NEG,
    FLOAT32,
    INT64,
    SCALAR_TYPES,
    TORCH_NAMES,
    check_dim,
    check_inplace_result,
    check_int_divisor,
    check_sub,
    int_power,
    not_implemented,
    py_bool,
    py_float,
    py_int,
    reduce_axes,
    result_dtype,
    shape_args,
    split_int_selects,
    to_index,
    wrap_int_scalar,
)
from .spellings import accept_numpy_spellings

return_types_max = namedtuple("max", ["values", "indices"])
return_types_min = namedtuple("min", ["values", "indices"])
return_types_sort = namedtuple("sort", ["values", "indices"])
return_types_topk = namedtuple("topk", ["values", "indices"])


def _only_keyword(op: str, kwargs: dict[str, Any], name: str) -> Any:
    """The value of keyword ``name``, the only keyword ``op`` takes besides its varargs."""
    if set(kwargs) != {name}:
        bad = next(k for k in kwargs if k != name)
        raise TypeError(f"{op}() got an unexpected keyword argument '{bad}'")
    return kwargs[name]


def _check_integer_divisor(a: Any, b: Any) -> None:
    """Integer division by zero raises in PyTorch (NumPy gives 0 and a RuntimeWarning)."""
    if np.result_type(a, b).kind in "iub" and np.size(a) and np.size(b) and not np.all(b):  # empty: nothing divides
        raise RuntimeError("ZeroDivisionError")


@silent
def quiet(fn: Any, *inputs: Tensor, **attrs: Any) -> Tensor:
    """``fn.apply(...)`` without NumPy's floating-point RuntimeWarnings: PyTorch gives inf and nan
    for log(0), 0/0, sqrt(-1) or 1/0 silently. Only the ops that can warn pay for it (see
    fperrors.py), and the user's own NumPy settings (``np.geterr()``) are left as they were."""
    return fn.apply(*inputs, **attrs)


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


def _check_matmul_dtypes(a: np.ndarray, b: np.ndarray) -> None:
    """PyTorch multiplies matrices of one dtype only, and has no bool matmul."""
    vectors = a.ndim == 1 and b.ndim == 1
    if a.dtype != b.dtype:
        na, nb = TORCH_NAMES[a.dtype], TORCH_NAMES[b.dtype]
        raise RuntimeError(
            f"dot : expected both vectors to have same dtype, but found {na} and {nb}"
            if vectors
            else f"expected m1 and m2 to have the same dtype, but got: {na} != {nb}"
        )
    if a.dtype == BOOL:
        raise not_implemented("dot" if vectors else "addmm_impl_cpu_", BOOL)


class TensorMethods:
    """The methods PyTorch's Tensor has beyond the autograd state (installed on Tensor)."""

    def __init__(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> None:
        t = tensor(data, dtype=dtype if dtype is not None else dtypes.float32, requires_grad=requires_grad)
        self._data, self.requires_grad, self.grad_fn = t._data, t.requires_grad, None
        self._grad, self._version, self._base, self._hooks = None, t._version, None, None

    # ---- basic attributes -------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None) -> Any:
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[check_dim(dim, self._data.ndim)]

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
    def dtype(self) -> dtypes.dtype:
        return dtypes.from_numpy_dtype(self._data.dtype)

    @property
    def device(self) -> Any:
        return CPU

    is_cuda = False
    is_cpu = True

    def get_device(self) -> int:
        return -1  # PyTorch's answer for a CPU tensor

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def element_size(self) -> int:
        return self._data.itemsize

    @property
    def T(self) -> Tensor:
        n = self._data.ndim
        return self if n < 2 else movement.Permute.apply(self, axes=tuple(range(n - 1, -1, -1)))

    @property
    def mT(self) -> Tensor:
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
        return py_bool(self._data.reshape(()))

    def __float__(self) -> float:
        return py_float(self.item())

    def __int__(self) -> int:
        return py_int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iu" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return py_int(self.item())

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        arr = self._data
        body = printing.tensor_body(arr, len("tensor("))
        suffixes = []
        default = FLOAT32 if arr.dtype.kind == "f" else INT64 if arr.dtype.kind in "iu" else BOOL
        if (arr.size == 0 and arr.ndim > 1) or (arr.size and not printing.OPTIONS.edgeitems):
            suffixes.append(f"size={tuple(arr.shape)}")  # no values shown: the shape is
        # an empty tensor has no values to tell int64 or bool from float: its dtype is shown
        if arr.dtype != default or (arr.size == 0 and arr.dtype != FLOAT32):
            suffixes.append(f"dtype={self.dtype!r}")
        if self.grad_fn is not None:
            suffixes.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self.requires_grad:
            suffixes.append("requires_grad=True")
        return printing.with_suffixes("tensor(" + body, suffixes, len("tensor("))

    __str__ = __repr__

    # ---- storage model ------------------------------------------------------------------------
    def stride(self, dim: int | None = None) -> Any:
        arr = self._data
        strides = tuple(s // arr.itemsize for s in arr.strides)
        return strides if dim is None else strides[check_dim(dim, arr.ndim)]

    def contiguous(self) -> Tensor:
        return self if self._data.flags.c_contiguous else elementwise.Copy.apply(self)

    def untyped_storage(self) -> Storage:
        return Storage(storage_root(self._data))

    storage = untyped_storage

    def as_strided(self, size: Sequence[int], stride: Sequence[int], storage_offset: int | None = None) -> Tensor:
        offset = self.storage_offset() if storage_offset is None else storage_offset
        return AsStrided.apply(self, size=tuple(size), stride=tuple(stride), offset=offset)

    # ---- dtype conversion -----------------------------------------------------------------------
    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """``x.to(dtype)``, ``x.to(device)``, ``x.to(device, dtype)``, ``x.to(other_tensor)``,
        ``x.to(dtype=..., device=...)``; ``non_blocking=`` is accepted, ``copy=True`` copies. The
        only device is the CPU: any other raises."""
        if not kwargs and len(args) == 1 and isinstance(args[0], dtypes.dtype):  # x.to(torch.float64)
            return self._cast(args[0].np)
        target, dev, copy = kwargs.pop("dtype", None), kwargs.pop("device", None), kwargs.pop("copy", False)
        kwargs.pop("non_blocking", None)
        kwargs.pop("memory_format", None)
        if kwargs:
            raise TypeError(f"to() got an unexpected keyword argument '{next(iter(kwargs))}'")
        flags = []  # to(dtype, non_blocking, copy): positional bools
        for a in args:
            if isinstance(a, Tensor):
                target = a._data.dtype
            elif type(a) is py_bool:
                flags.append(a)
            elif is_device_like(a):
                dev = a
            elif a is not None:
                target = a
        if dev is not None:
            require_cpu(dev)
        if len(flags) > 1:
            copy = copy or flags[1]
        out = self if target is None else self._cast(dtypes.to_numpy_dtype(target))
        return elementwise.Copy.apply(self) if copy and out is self else out

    def _cast(self, np_dtype: np.dtype) -> Tensor:
        if self._data.dtype == np_dtype:
            return self
        if np_dtype.kind == "f" and self._data.dtype.kind == "f":
            return elementwise.Cast.apply(self, dtype=np_dtype)
        return wrap(self._data.astype(np_dtype))

    def type(self, dtype: Any = None) -> Any:
        if dtype is None:
            return f"tinygrad_ko.{self.dtype.name}"
        return self.to(dtype)

    def float(self) -> Tensor:
        return self._cast(FLOAT32)

    def double(self) -> Tensor:
        return self._cast(np.dtype(np.float64))

    def half(self) -> Tensor:
        return self._cast(np.dtype(np.float16))

    def long(self) -> Tensor:
        return self._cast(INT64)

    def int(self) -> Tensor:
        return self._cast(np.dtype(np.int32))

    def bool(self) -> Tensor:
        return self._cast(BOOL)

    def byte(self) -> Tensor:
        return self._cast(np.dtype(np.uint8))

    def cpu(self, memory_format: Any = None) -> Tensor:
        return self

    def cuda(self, device: Any = None, non_blocking: bool = False, memory_format: Any = None) -> Tensor:
        raise RuntimeError(CPU_ONLY.format("cuda" if device is None else str(device)))

    def clone(self) -> Tensor:
        return elementwise.Copy.apply(self)

    def _as_float(self) -> Tensor:
        """Ops such as exp/log/sigmoid work in floating point; integers become float32."""
        return self if self._data.dtype.kind == "f" else wrap(self._data.astype(FLOAT32))

    # ---- binary arithmetic ----------------------------------------------------------------------
    def _operands(self, other: Any) -> tuple[Tensor, Tensor]:
        if not isinstance(other, Tensor):
            other = const_like(other, self)
        a, b = self, other
        da, db = a._data.dtype, b._data.dtype
        if da != db:
            rd = result_dtype(da, db, a._data.ndim, b._data.ndim)
            # a bool operand of a float op stays bool: NumPy's ufuncs promote it on the fly, with no
            # copy (x * mask); other mixes are cast, since NumPy's promotion is not PyTorch's
            if not (da == BOOL and rd.kind == "f"):
                a = a._cast(rd)
            if not (db == BOOL and rd.kind == "f"):
                b = b._cast(rd)
        return a, b

    def __add__(self, other: Any) -> Tensor:
        if type(other) in SCALAR_TYPES:
            base, c = self._scalar_operands(other)
            return elementwise.AddScalar.apply(base, c=c)
        return elementwise.Add.apply(*self._operands(other))

    __radd__ = __add__

    def __sub__(self, other: Any) -> Tensor:
        if (
            self._data.dtype is BOOL
            or type(other) is py_bool
            or (isinstance(other, Tensor) and other._data.dtype is BOOL)
        ):
            check_sub(self, other)
        if type(other) in SCALAR_TYPES:
            base, c = self._scalar_operands(-other)
            return elementwise.AddScalar.apply(base, c=c)
        return elementwise.Sub.apply(*self._operands(other))

    def __rsub__(self, other: Any) -> Tensor:
        if self._data.dtype is BOOL or type(other) is py_bool:
            check_sub(other, self)
        if type(other) in SCALAR_TYPES:
            base, c = self._scalar_operands(other)
            return elementwise.RSubScalar.apply(base, c=c)
        b, a = self._operands(other)
        return elementwise.Sub.apply(a, b)

    def __mul__(self, other: Any) -> Tensor:
        if type(other) in SCALAR_TYPES:
            base, c = self._scalar_operands(other)
            return elementwise.MulScalar.apply(base, c=c)
        return elementwise.Mul.apply(*self._operands(other))

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Tensor:
        if type(other) in SCALAR_TYPES:
            base = self._as_float()
            if other != 0:
                return elementwise.MulScalar.apply(base, c=1.0 / other)
            return quiet(elementwise.Div, base, const_like(other, base))  # x / 0: inf, -inf or nan, as in PyTorch
        a, b = self._operands(other)
        if a._data.dtype.kind != "f":  # each int straight to float32: a common int type first could wrap
            a, b = self._as_float(), const_like(other, self)._as_float()
        return quiet(elementwise.Div, a, b)

    def __rtruediv__(self, other: Any) -> Tensor:
        if type(other) in SCALAR_TYPES:
            return quiet(elementwise.RDivScalar, self._as_float(), c=other)
        b, a = self._operands(other)
        if a._data.dtype.kind != "f":
            b, a = self._as_float(), const_like(other, self)._as_float()
        return quiet(elementwise.Div, a, b)

    def _promoted_arrays(self, other: Any) -> tuple[Any, Any]:
        """The two operands of a non-differentiable binary op as arrays (or the Python scalar),
        with PyTorch's type promotion (NumPy's would make ``int_tensor // 2.5`` float64)."""
        if type(other) in SCALAR_TYPES:
            base, c = self._scalar_operands(other)
            return base._data, c
        a, b = self._operands(other)
        return a._data, b._data

    @staticmethod
    def _floor_op(a: Any, b: Any, ufunc: Any, kernel: str) -> Tensor:
        """``a // b`` or ``a % b`` of promoted operands, with PyTorch's errors where NumPy differs:
        none for bools, and integer division by zero raises (NumPy gives 0 and a warning)."""
        kinds = {np.asarray(a).dtype.kind, np.asarray(b).dtype.kind}
        if kinds == {"b"}:
            raise not_implemented(kernel, BOOL)
        if "f" not in kinds and np.size(a) and np.size(b):
            check_int_divisor(b)
        with np.errstate(all="ignore"):  # float x // 0: inf or nan, silently, as in PyTorch
            return wrap(np.asarray(ufunc(a, b)))

    def __floordiv__(self, other: Any) -> Tensor:
        a, b = self._promoted_arrays(other)
        return self._floor_op(a, b, np.floor_divide, "div_floor_cpu")

    def __rfloordiv__(self, other: Any) -> Tensor:
        b, a = self._promoted_arrays(other)
        return self._floor_op(a, b, np.floor_divide, "div_floor_cpu")

    def _binary_operands(self, other: Any) -> tuple[Tensor, Tensor]:
        """Both operands as Tensors with PyTorch's type promotion (a Python scalar included)."""
        if type(other) in SCALAR_TYPES:
            a, c = self._scalar_operands(other)
            return a, const_like(c, a)
        return self._operands(other)

    def __mod__(self, other: Any) -> Tensor:
        a, b = self._binary_operands(other)
        if a._data.dtype is BOOL and b._data.dtype is BOOL:
            raise not_implemented("remainder_cpu", BOOL)
        _check_integer_divisor(a._data, b._data)
        return quiet(Remainder, a, b)

    def __rmod__(self, other: Any) -> Tensor:
        b, a = self._promoted_arrays(other)  # scalar % tensor: not differentiable, as in PyTorch
        return self._floor_op(a, b, np.mod, "remainder_cpu")

    remainder = __mod__

    def div(self, other: Any, rounding_mode: str | None = None) -> Tensor:
        """``a / b``; with ``rounding_mode="trunc"`` or ``"floor"`` the quotient rounded (its
        gradient is zero)."""
        if rounding_mode is None:
            return self / other
        if rounding_mode not in ("trunc", "floor"):
            raise RuntimeError(
                f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found {rounding_mode!r}"
            )
        a, b = self._binary_operands(other)
        _check_integer_divisor(a._data, b._data)
        return quiet(DivRounding, a, b, mode=rounding_mode)

    divide = true_divide = div

    def __pow__(self, other: Any) -> Tensor:
        if type(other) in SCALAR_TYPES:
            kind = self._data.dtype.kind
            if kind == "b" and type(other) is py_bool:  # bool ** bool stays bool: x ** True is x, x ** False all True
                return wrap(np.asarray(np.logical_or(self._data, not other)))
            if kind == "f" or type(other) is py_bool:
                base = self
            elif type(other) is py_float:
                base = self._as_float()
            else:  # an int power of an int or bool tensor: integers (bool counts as int64)
                if other < 0:
                    raise RuntimeError("Integers to negative integer powers are not allowed.")
                if kind != "b" and wrap_int_scalar(other, self._data.dtype) != other:
                    raise RuntimeError(f"value cannot be converted to type {self.dtype} without overflow")
                return wrap(np.asarray(np.power(self._data if kind != "b" else self._data.astype(INT64), other)))
            return quiet(elementwise.PowScalar, base, c=other)
        a, b = self._operands(other)
        if a._data.dtype.kind in "iu":  # integer tensors (never differentiable): PyTorch's integer pow
            return wrap(int_power(a._data, b._data))
        if a._data.dtype is BOOL and b._data.dtype is BOOL:
            raise not_implemented("pow", BOOL)
        return quiet(elementwise.Pow, a, b)

    def __rpow__(self, other: Any) -> Tensor:
        if type(other) in SCALAR_TYPES:
            kind = self._data.dtype.kind
            if (kind in "iu" and type(other) is not py_float) or (kind == "b" and type(other) is py_int):
                # int ** int tensor: integers, as in PyTorch
                exps = self._data if kind != "b" else self._data.astype(INT64)
                return wrap(int_power(np.asarray(wrap_int_scalar(other, exps.dtype), dtype=exps.dtype), exps))
            if kind == "b" and type(other) is py_bool:
                raise not_implemented("pow", BOOL)
            return quiet(elementwise.RPowScalar, self._as_float(), c=other)
        b, a = self._operands(other)
        if a._data.dtype.kind in "iu":
            return wrap(int_power(a._data, b._data))
        if a._data.dtype is BOOL and b._data.dtype is BOOL:
            raise not_implemented("pow", BOOL)
        return quiet(elementwise.Pow, a, b)

    def __matmul__(self, other: Any) -> Tensor:
        return self.matmul(other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return const_like(other, self).matmul(self)

    def __neg__(self) -> Tensor:
        if self._data.dtype is BOOL:
            raise NotImplementedError(BOOL_NEG)
        return elementwise.Neg.apply(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return self.abs()

    def _scalar_operands(self, c: Any) -> tuple[Tensor, Any]:
        """The operands of ``tensor (op) Python scalar`` with PyTorch's rules: an int tensor with
        a float is float32 (NumPy would say float64); an int outside an int tensor's range wraps."""
        if self._data.dtype.kind == "f":
            return self, c
        if type(c) is py_float:
            return self._as_float(), c
        return self, wrap_int_scalar(c, self._data.dtype)

    def add(self, other: Any, alpha: Any = 1) -> Tensor:
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, other: Any, alpha: Any = 1) -> Tensor:
        return self - (other if alpha == 1 else other * alpha)

    subtract = sub
    mul = multiply = __mul__
    pow = __pow__

    # ---- comparisons and logic (not differentiable) ----------------------------------------------
    def _compare(self, other: Any, ufunc: Any) -> Tensor:
        o = other._data if isinstance(other, Tensor) else other
        return wrap(np.asarray(ufunc(self._data, o)))

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

    def _bitwise(self, other: Any, ufunc: Any) -> Tensor:
        a, b = self._promoted_arrays(other)  # PyTorch's promotion: bool & int tensor is int
        for d in (a.dtype, np.asarray(b).dtype):
            if d.kind == "f":
                raise not_implemented(f"{ufunc.__name__}_cpu", d)
        return wrap(np.asarray(ufunc(a, b)))

    def __and__(self, other: Any) -> Tensor:
        return self._bitwise(other, np.bitwise_and)

    def __or__(self, other: Any) -> Tensor:
        return self._bitwise(other, np.bitwise_or)

    def __xor__(self, other: Any) -> Tensor:
        return self._bitwise(other, np.bitwise_xor)

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def __invert__(self) -> Tensor:
        if self._data.dtype.kind == "f":
            raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
        return wrap(np.asarray(~self._data))

    def logical_not(self) -> Tensor:
        return wrap(np.asarray(np.logical_not(self._data)))

    def equal(self, other: Tensor) -> bool:
        return self._data.shape == other._data.shape and py_bool(np.array_equal(self._data, other._data))

    def allclose(self, other: Tensor, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
        return py_bool(np.allclose(self._data, other._data, rtol=rtol, atol=atol))

    def isnan(self) -> Tensor:
        return wrap(np.asarray(np.isnan(self._data)))

    def isfinite(self) -> Tensor:
        return wrap(np.asarray(np.isfinite(self._data)))

    def isinf(self) -> Tensor:
        return wrap(np.asarray(np.isinf(self._data)))

    def any(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        out = np.asarray(self._data.any(axis=reduce_axes(dim, self._data.ndim), keepdims=keepdim))
        return wrap(out if self._data.dtype != np.uint8 else out.astype(np.uint8))  # PyTorch: uint8 in, uint8 out

    def all(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        out = np.asarray(self._data.all(axis=reduce_axes(dim, self._data.ndim), keepdims=keepdim))
        return wrap(out if self._data.dtype != np.uint8 else out.astype(np.uint8))

    def sign(self) -> Tensor:
        if self._data.dtype == BOOL:
            return wrap(self._data.copy())
        return Sign.apply(self)

    sgn = sign

    def _arg_extreme(self, dim: int | None, keepdim: bool, fn: Any) -> Tensor:
        name = fn.__name__
        if self._data.dtype is BOOL:
            raise RuntimeError(f"{name}(): does not support bool input")
        d = None if dim is None else check_dim(dim, self._data.ndim)
        if self._data.size == 0 and (d is None or self._data.shape[d] == 0):
            raise IndexError(
                f"{name}(): Expected reduction dim to be specified for input.numel() == 0."
                if d is None
                else f"{name}(): Expected reduction dim {d} to have non-zero size."
            )
        if d is None or not self._data.ndim:
            return wrap(np.asarray(fn(self._data), dtype=np.int64))
        return wrap(np.asarray(fn(self._data, axis=d, keepdims=keepdim), dtype=np.int64))

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return self._arg_extreme(dim, keepdim, np.argmax)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return self._arg_extreme(dim, keepdim, np.argmin)

    # ---- unary math -----------------------------------------------------------------------------
    def neg(self) -> Tensor:
        return self.__neg__()

    negative = neg

    def abs(self) -> Tensor:
        if self._data.dtype is BOOL:
            raise not_implemented("abs_cpu", BOOL)
        return elementwise.Abs.apply(self)

    def exp(self) -> Tensor:
        return quiet(elementwise.Exp, self._as_float())

    def log(self) -> Tensor:
        return quiet(elementwise.Log, self._as_float())

    def sqrt(self) -> Tensor:
        return quiet(elementwise.Sqrt, self._as_float())

    def rsqrt(self) -> Tensor:
        return quiet(elementwise.Rsqrt, self._as_float())

    def sin(self) -> Tensor:
        return quiet(elementwise.Sin, self._as_float())

    def cos(self) -> Tensor:
        return quiet(elementwise.Cos, self._as_float())

    def tanh(self) -> Tensor:
        return elementwise.Tanh.apply(self._as_float())

    def sigmoid(self) -> Tensor:
        return elementwise.Sigmoid.apply(self._as_float())

    def relu(self) -> Tensor:
        if self._data.dtype is BOOL:
            raise NotImplementedError("Boolean inputs not supported for relu")
        return TunedRelu.apply(self)

    def square(self) -> Tensor:
        if self._data.dtype is BOOL:  # PyTorch squares a bool tensor as int64
            return quiet(elementwise.PowScalar, self._cast(INT64), c=2)
        return quiet(elementwise.PowScalar, self, c=2)

    def reciprocal(self) -> Tensor:
        return quiet(elementwise.RDivScalar, self._as_float(), c=1.0)

    def log1p(self) -> Tensor:
        return (self._as_float() + 1.0).log()

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:
        if min is None and max is None:
            raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
        if isinstance(min, Tensor) or isinstance(max, Tensor):
            out = self
            if min is not None:
                out = out.maximum(min if isinstance(min, Tensor) else const_like(min, self))
            if max is not None:
                out = out.minimum(max if isinstance(max, Tensor) else const_like(max, self))
            return out
        if self._data.dtype.kind != "f" and py_float in (type(min), type(max)):
            return elementwise.Clamp.apply(self._as_float(), lo=min, hi=max)  # float32, as in PyTorch
        return elementwise.Clamp.apply(self, lo=min, hi=max)

    clip = clamp

    def clamp_min(self, min: Any) -> Tensor:
        return self.clamp(min=min)

    def clamp_max(self, max: Any) -> Tensor:
        return self.clamp(max=max)

    def maximum(self, other: Any) -> Tensor:
        return elementwise.Maximum.apply(*self._operands(other))

    def minimum(self, other: Any) -> Tensor:
        return elementwise.Minimum.apply(*self._operands(other))

    def where(self, condition: Any, other: Any) -> Tensor:
        """``x.where(cond, y)`` is ``where(cond, x, y)``, as in PyTorch."""
        return where(condition, self, other)

    def masked_fill(self, mask: Any, value: Any) -> Tensor:
        m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
        if m.dtype != BOOL:
            raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype {m.dtype}")
        # the result keeps the tensor's dtype: the value is cast to it (int tensor, 2.5 -> 2)
        return where(mask, const_like(value, self)._cast(self._data.dtype), self)

    def lerp(self, end: Tensor, weight: Any) -> Tensor:
        if end._data.dtype != self._data.dtype:
            raise RuntimeError(f"expected dtype {self.dtype} for `end` but got dtype {end.dtype}")
        if self._data.dtype.kind != "f":
            raise not_implemented("lerp_kernel_scalar", self._data.dtype)
        return self + (end - self) * weight

    # ---- reductions -----------------------------------------------------------------------------
    def sum(self, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
        x = self if dtype is None else self.to(dtype)
        if x._data.dtype.kind in "biu":  # integers sum as int64, unless a dtype is asked for
            out_dtype = np.int64 if dtype is None else x._data.dtype
            return wrap(np.asarray(x._data.sum(axis=reduce_axes(dim, x._data.ndim), keepdims=keepdim, dtype=out_dtype)))
        return reduce.Sum.apply(x, axes=reduce_axes(dim, x._data.ndim), keepdim=keepdim)

    def mean(self, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
        x = self if dtype is None else self.to(dtype)
        if x._data.dtype.kind != "f":
            raise RuntimeError(
                "mean(): could not infer output dtype. Input dtype must be either a floating point "
                f"or complex dtype. Got: {x.dtype.name}"
            )
        axes = reduce_axes(dim, x._data.ndim)
        if x._data.size == 0:  # the mean of nothing: nan, without NumPy's 0/0 warning
            return quiet(reduce.Mean, x, axes=axes, keepdim=keepdim)
        return reduce.Mean.apply(x, axes=axes, keepdim=keepdim)

    def var(
        self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, correction: Any = None
    ) -> Tensor:
        if self._data.dtype.kind != "f":
            raise RuntimeError("std and var only support floating point and complex dtypes")
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        axes = reduce_axes(dim, self._data.ndim)
        n = self._data.size if axes is None else int(np.prod([self._data.shape[i] for i in axes]))
        centered = self - self.mean(dim=axes, keepdim=True)
        return (centered * centered).sum(dim=axes, keepdim=keepdim) / builtins.max(n - correction, 0)

    def std(
        self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, correction: Any = None
    ) -> Tensor:
        v = self.var(dim, unbiased=unbiased, keepdim=keepdim, correction=correction)
        flat = v._data == 0
        if not flat.any():
            return v.sqrt()
        # zero variance (constant data): std 0 with gradient 0, as PyTorch's std backward gives,
        # not sqrt's 1/(2*0) = inf times a zero derivative of var = nan
        zero = wrap(np.asarray(flat))
        return where(zero, 0.0, where(zero, 1.0, v).sqrt())

    def prod(self, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
        x = self if dtype is None else self.to(dtype)
        if x._data.dtype.kind in "biu":  # integers multiply as int64, like sum (NumPy: uint64 for uint8)
            out_dtype = np.int64 if dtype is None else x._data.dtype
            return wrap(
                np.asarray(x._data.prod(axis=reduce_axes(dim, x._data.ndim), keepdims=keepdim, dtype=out_dtype))
            )
        return reduce.Prod.apply(x, axes=reduce_axes(dim, x._data.ndim), keepdim=keepdim)

    def _check_nonempty(self, name: str, axes: tuple[int, ...] | None) -> None:
        """max/min/amax/amin of nothing has no value: PyTorch's errors (NumPy's name its internals)."""
        if self._data.size:
            return
        if axes is None:
            raise RuntimeError(
                f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                "Specify the reduction dim with the 'dim' argument."
            )
        for d in axes:
            if self._data.shape[d] == 0:
                raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")

    def _extreme(self, dim: Any, keepdim: bool, is_min: bool) -> Any:
        if isinstance(dim, Tensor):  # x.max(other) is the elementwise maximum (fastai's simple_net)
            return self.minimum(dim) if is_min else self.maximum(dim)
        self._check_nonempty("min" if is_min else "max", reduce_axes(dim, self._data.ndim))
        if dim is None:
            return reduce.Amax.apply(self, axes=None, keepdim=False, is_min=is_min)
        d = check_dim(dim, self._data.ndim) if self._data.ndim else None
        rt = return_types_min if is_min else return_types_max
        if d is None:
            return rt(self, wrap(np.zeros((), dtype=np.int64)))
        values = reduce.MaxDim.apply(self, dim=d, keepdim=keepdim, is_min=is_min)
        idx = (
            values.grad_fn.indices
            if values.grad_fn is not None
            else (
                np.argmin(self._data, axis=d, keepdims=keepdim)
                if is_min
                else np.argmax(self._data, axis=d, keepdims=keepdim)
            )
        )
        return rt(values, wrap(np.asarray(idx, dtype=np.int64)))

    def max(self, dim: Any = None, keepdim: bool = False) -> Any:
        return self._extreme(dim, keepdim, False)

    def min(self, dim: Any = None, keepdim: bool = False) -> Any:
        return self._extreme(dim, keepdim, True)

    def amax(self, dim: Any = (), keepdim: bool = False) -> Tensor:
        axes = reduce_axes(dim if dim != () else None, self._data.ndim)
        self._check_nonempty("amax", axes)
        return reduce.Amax.apply(self, axes=axes, keepdim=keepdim, is_min=False)

    def amin(self, dim: Any = (), keepdim: bool = False) -> Tensor:
        axes = reduce_axes(dim if dim != () else None, self._data.ndim)
        self._check_nonempty("amin", axes)
        return reduce.Amax.apply(self, axes=axes, keepdim=keepdim, is_min=True)

    def logsumexp(self, dim: Any, keepdim: bool = False) -> Tensor:
        if self._data.size == 0:  # the log of an empty sum is -inf
            return self._as_float().sum(dim, keepdim=keepdim) + float("-inf")
        return reduce.LogSumExp.apply(self._as_float(), axes=reduce_axes(dim, self._data.ndim), keepdim=keepdim)

    def _softmax_input(self, dim: int, kernel: str) -> tuple[int, bool]:
        """The checked dim, and whether the input is empty (its softmax is itself)."""
        d = check_dim(dim, self._data.ndim)
        # PyTorch has no integer softmax (F.softmax(x, dtype=...) casts first); an empty input is returned
        if self._data.dtype.kind != "f" and self._data.size:
            raise not_implemented(
                f"{kernel}{'_lastdim' if d >= self._data.ndim - 1 else ''}_kernel_impl", self._data.dtype
            )
        return d, self._data.size == 0

    def softmax(self, dim: int) -> Tensor:
        d, empty = self._softmax_input(dim, "softmax")
        return self.clone() if empty else reduce.Softmax.apply(self, dim=d)

    def log_softmax(self, dim: int) -> Tensor:
        d, empty = self._softmax_input(dim, "log_softmax")
        return self.clone() if empty else reduce.LogSoftmax.apply(self, dim=d)

    def _sort_indices(self, d: int, descending: bool) -> np.ndarray:
        """Stable argsort along ``d``; descending sorts the negated values (bool and uint8 widened
        first, since NumPy cannot negate a bool and a negated uint8 wraps around)."""
        arr = self._data
        if descending:
            arr = -(arr.astype(np.int16) if arr.dtype.kind in "bu" else arr)
        return np.argsort(arr, axis=d, kind="stable")

    def sort(self, dim: int = -1, descending: bool = False) -> Any:
        d = check_dim(dim, self._data.ndim)
        if self._data.ndim == 0:
            return return_types_sort(self.clone(), wrap(np.zeros((), dtype=np.int64)))
        idx = self._sort_indices(d, descending)
        return return_types_sort(self.gather(d, wrap(idx)), wrap(idx))

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:
        d = check_dim(dim, self._data.ndim)
        if self._data.dtype is BOOL:
            raise RuntimeError("topk does not support bool dtypes on CPU")
        if not 0 <= k <= (self._data.shape[d] if self._data.ndim else 1):
            raise RuntimeError("selected index k out of range")
        if self._data.ndim == 0:
            return return_types_topk(self.clone(), wrap(np.zeros((), dtype=np.int64)))
        idx = np.take(self._sort_indices(d, largest), np.arange(k), axis=d)
        return return_types_topk(self.gather(d, wrap(idx)), wrap(idx))

    def gather(self, dim: int, index: Tensor, sparse_grad: bool = False) -> Tensor:
        """``out[i][j] = self[index[i][j]][j]`` for dim 0 (and likewise for other dims): the index
        has the input's number of dims and is no larger in the dims other than ``dim``."""
        shape, idx = self._data.shape, index._data
        d = check_dim(dim, len(shape))
        if idx.dtype.kind != "i" or idx.itemsize < 4:
            raise RuntimeError("gather(): Expected dtype int32/int64 for index")
        if not shape:  # a 0-d input acts as one element along dim 0
            if idx.ndim > 1:
                raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
            return self.reshape(1).gather(0, index.reshape(-1)).reshape(idx.shape)
        if idx.ndim != len(shape):
            raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
        if idx.shape[:d] + idx.shape[d + 1 :] != shape[:d] + shape[d + 1 :]:
            for i, (n_idx, n_self) in enumerate(zip(idx.shape, shape)):
                if i != d and n_idx > n_self:
                    raise RuntimeError(
                        f"Size does not match at dimension {i} expected index {list(idx.shape)} to be no larger "
                        f"than self {list(shape)} apart from dimension {d}"
                    )
        # one reduction checks both bounds: seen as unsigned, a negative index is huge
        if idx.size and idx.view(np.uint64 if idx.itemsize == 8 else np.uint32).max() >= shape[d]:
            bad = idx[(idx < 0) | (idx >= shape[d])][0]
            raise RuntimeError(f"index {bad} is out of bounds for dimension {d} with size {shape[d]}")
        return Gather.apply(self, dim=d, index=idx)

    # ---- linear algebra -------------------------------------------------------------------------
    def matmul(self, other: Any) -> Tensor:
        a, b = self, other if isinstance(other, Tensor) else const_like(other, self)
        da, db = a._data.ndim, b._data.ndim
        if da == 0 or db == 0:
            raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {da}D and {db}D")
        if a._data.dtype != b._data.dtype or a._data.dtype is BOOL:
            _check_matmul_dtypes(a._data, b._data)
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
            return linalg.Matmul.apply(a, b)
        a2 = a.unsqueeze(0) if da == 1 else a
        b2 = b.unsqueeze(-1) if db == 1 else b
        out = linalg.Matmul.apply(a2, b2)
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
        for name, t in (("self", self), ("vec2", other)):
            if t._data.ndim != 1:
                raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t._data.ndim}-D")
        return self.reshape(-1, 1) * other.reshape(1, -1)

    # ---- shape and views ------------------------------------------------------------------------
    def reshape(self, *shape: Any, **kwargs: Any) -> Tensor:
        if kwargs:  # x.reshape(shape=(2, 3))
            if shape:
                raise TypeError("reshape() got multiple values for argument 'shape'")
            shape = (_only_keyword("reshape", kwargs, "shape"),)
        shape = shape_args(shape)
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
        if infer >= 0:  # the -1 resolved: x.reshape(-1, n) of an (m, n) tensor is x itself
            shape = shape[:infer] + (arr.size // known,) + shape[infer + 1 :]
            if shape == arr.shape:
                return self
        return movement.Reshape.apply(self, shape=shape)

    def view(self, *shape: Any, **kwargs: Any) -> Tensor:
        if kwargs:  # x.view(size=(2, 3))
            if shape:
                raise TypeError("view() got multiple values for argument 'size'")
            shape = (_only_keyword("view", kwargs, "size"),)
        if len(shape) == 1 and isinstance(shape[0], (dtypes.dtype, np.dtype, type)):
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
        s = check_dim(start_dim, len(shape))
        e = check_dim(end_dim, len(shape))
        if s > e:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        n = 1
        for d in shape[s : e + 1]:
            n *= d
        return self.reshape(*shape[:s], n, *shape[e + 1 :])

    def unflatten(self, dim: int, sizes: Sequence[int]) -> Tensor:
        d = check_dim(dim, self._data.ndim)
        shape = self._data.shape
        return self.reshape(*shape[:d], *sizes, *shape[d + 1 :])

    def unsqueeze(self, dim: int) -> Tensor:
        n = self._data.ndim + 1
        if not -n <= dim < n:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
        d = dim + n if dim < 0 else dim
        shape = self._data.shape
        return movement.Reshape.apply(self, shape=shape[:d] + (1,) + shape[d:])

    def squeeze(self, dim: Any = None) -> Tensor:
        shape = self._data.shape
        if dim is None:
            new = tuple(s for s in shape if s != 1)
        elif not shape:  # a 0-d tensor has nothing to squeeze, but dim is still checked
            dims = dim if isinstance(dim, (list, tuple)) else (dim,)
            if len({check_dim(x, 0) for x in dims}) != len(dims):
                raise RuntimeError("dim 0 appears multiple times in the list of dims")
            return self
        else:
            axes = reduce_axes(dim, len(shape)) or ()
            new = tuple(s for i, s in enumerate(shape) if not (i in axes and s == 1))
        return self if new == shape else movement.Reshape.apply(self, shape=new)

    def permute(self, *dims: Any) -> Tensor:
        dims = shape_args(dims)
        n = self._data.ndim
        if len(dims) != n:
            raise RuntimeError(
                f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
                f"length of the desired ordering of dimensions i.e. input.dim() = {n} is not equal to "
                f"len(dims) = {len(dims)}"
            )
        axes = tuple(check_dim(d, n) for d in dims)
        if len(set(axes)) != n:
            raise RuntimeError(f"permute(): duplicate dims are not allowed: {dims}")
        if axes == tuple(range(n)):
            return self
        return movement.Permute.apply(self, axes=axes)

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        n = self._data.ndim
        if n == 0:
            return self
        d0, d1 = check_dim(dim0, n), check_dim(dim1, n)
        axes = list(range(n))
        axes[d0], axes[d1] = axes[d1], axes[d0]
        return self.permute(*axes)

    swapaxes = transpose

    def t(self) -> Tensor:
        if self._data.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self._data.ndim}D")
        return self.transpose(0, 1) if self._data.ndim == 2 else self

    def expand(self, *sizes: Any) -> Tensor:
        sizes = shape_args(sizes)
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
        return self if target_t == shape else movement.Expand.apply(self, shape=target_t)

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(*other._data.shape)

    def broadcast_to(self, *shape: Any) -> Tensor:
        return self.expand(*shape)

    def split(self, split_size: Any, dim: int = 0) -> tuple[Tensor, ...]:
        if self._data.ndim == 0:
            raise RuntimeError("split expects at least a 1-dimensional tensor")
        d = check_dim(dim, self._data.ndim)
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
            sizes = sizes or [0]  # an empty dim splits into one empty piece, as in PyTorch
        out = []
        start = 0
        pre = (slice(None),) * d
        for s in sizes:
            out.append(self[pre + (slice(start, start + s),)])
            start += s
        return tuple(out)

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        if self._data.ndim == 0:
            raise RuntimeError("chunk expects at least a 1-dimensional tensor")
        d = check_dim(dim, self._data.ndim)
        n = self._data.shape[d]
        if n == 0:  # PyTorch: as many empty chunks as asked for
            return self.split([0] * chunks, d)
        return self.split(-(-n // chunks), d)

    def unbind(self, dim: int = 0) -> tuple[Tensor, ...]:
        d = check_dim(dim, self._data.ndim)
        pre = (slice(None),) * d
        return tuple(self[pre + (i,)] for i in range(self._data.shape[d]))

    def narrow(self, dim: int, start: int, length: int) -> Tensor:
        if self._data.ndim == 0:
            raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
        d = check_dim(dim, self._data.ndim)
        n = self._data.shape[d]
        if not -n <= start <= n:
            raise IndexError(f"start out of range (expected to be in range of [{-n}, {n}], but got {start})")
        start = start + n if start < 0 else start
        if length < 0:
            raise RuntimeError("narrow(): length must be non-negative.")
        if start + length > n:
            raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
        return self[(slice(None),) * d + (slice(start, start + length),)]

    def select(self, dim: int, index: int) -> Tensor:
        d = check_dim(dim, self._data.ndim)
        return self[(slice(None),) * d + (index,)]

    def __getitem__(self, index: Any) -> Tensor:
        idx, basic = to_index(index)
        try:
            if basic:
                return movement.GetItem.apply(self, index=idx)
            split = split_int_selects(idx)
            if split is not None:
                return movement.GetItemCopy.apply(movement.GetItem.apply(self, index=split[0]), index=split[1])
            return movement.GetItemCopy.apply(self, index=idx)
        except IndexError as e:
            raise IndexError(
                f"index {index!r} is invalid for a tensor of shape {list(self._data.shape)}: {e}"
            ) from None

    # ---- in-place ops ---------------------------------------------------------------------------
    def _check_inplace(self, other: Any) -> bool:
        """Whether autograd must record this in-place op; raise for the cases PyTorch rejects."""
        if not grad_mode.enabled:
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
            alias = wrap(self._data.copy(), self.requires_grad, self.grad_fn)
            result = method(alias, other)
            self._write(result._data)
            self.grad_fn, self.requires_grad = result.grad_fn, result.requires_grad
            return self
        o = other._data if isinstance(other, Tensor) else other
        casting = "same_kind"
        if self._data.dtype.kind != "f":  # PyTorch casts a result of the tensor's category (or lower) to its dtype
            check_inplace_result(self._data.dtype, other, always_float=ufunc is np.true_divide)
            o, casting = wrap_int_scalar(o, self._data.dtype), "unsafe"
        try:
            ufunc(self._data, o, out=self._data, casting=casting)
        except (TypeError, ValueError) as e:
            raise RuntimeError(
                f"in-place {ufunc.__name__} on a {self.dtype} tensor of shape {list(self._data.shape)}: {e}"
            ) from None
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
        check_sub(self, other)
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

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
        if self._check_inplace(None):
            result = wrap(self._data.copy(), self.requires_grad, self.grad_fn).clamp(min, max)
            self._write(result._data)
            self.grad_fn = result.grad_fn
            return self
        for bound in (min, max):
            if bound is not None and self._data.dtype.kind != "f":
                check_inplace_result(self._data.dtype, bound)
        np.clip(self._data, min, max, out=self._data)
        self._version.value += 1
        return self

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def fill_(self, value: Any) -> Tensor:
        if self._check_inplace(value):
            return self._inplace(value, lambda a, v: a * 0 + v, None)
        self._data[...] = value._data if isinstance(value, Tensor) else wrap_int_scalar(value, self._data.dtype)
        self._version.value += 1
        return self

    def copy_(self, src: Any) -> Tensor:
        src_t = src if isinstance(src, Tensor) else const_like(src, self)
        if self._check_inplace(src_t):
            return self._inplace(src_t, lambda a, s: a * 0 + s._cast(a._data.dtype), None)
        np.copyto(self._data, np.broadcast_to(src_t._data, self._data.shape), casting="unsafe")
        self._version.value += 1
        return self

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> Tensor:
        if self._data.dtype.kind != "f":
            raise not_implemented("normal_kernel_cpu", self._data.dtype)
        self._data[...] = default_generator().normal(mean, std, self._data.shape)
        self._version.value += 1
        return self

    def uniform_(self, a: float = 0.0, b: float = 1.0) -> Tensor:
        if self._data.dtype.kind != "f":
            raise not_implemented("check_uniform_bounds", self._data.dtype)
        self._data[...] = default_generator().uniform(a, b, self._data.shape)
        self._version.value += 1
        return self

    def __setitem__(self, index: Any, value: Any) -> None:
        idx, basic = to_index(index)
        split = None if basic else split_int_selects(idx)
        if split is not None:
            # PyTorch's order (see split_int_selects): the same elements as x[ints][rest] = value
            flat = np.arange(self._data.size).reshape(self._data.shape)
            idx = np.unravel_index(flat[split[0]][split[1]], self._data.shape)
        if self._check_inplace(value):
            v = value if isinstance(value, Tensor) else const_like(value, self)
            alias = wrap(self._data.copy(), self.requires_grad, self.grad_fn)
            result = movement.SetItem.apply(alias, v._cast(self._data.dtype), index=idx)
            self._data[...] = result._data
            self._version.value += 1
            self.grad_fn, self.requires_grad = result.grad_fn, True
            return
        self._data[idx] = value._data if isinstance(value, Tensor) else wrap_int_scalar(value, self._data.dtype)
        self._version.value += 1

    # ---- a few more PyTorch conveniences ----------------------------------------------------------
    def _new(self, array: np.ndarray, device: Any, requires_grad: bool) -> Tensor:
        require_cpu(device)
        out = wrap(array)
        return out.requires_grad_() if requires_grad else out

    def new_zeros(self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        dt = self._data.dtype if dtype is None else dtypes.to_numpy_dtype(dtype)
        return self._new(np.zeros(shape_args(size), dtype=dt), device, requires_grad)

    def new_ones(self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        dt = self._data.dtype if dtype is None else dtypes.to_numpy_dtype(dtype)
        return self._new(np.ones(shape_args(size), dtype=dt), device, requires_grad)

    def new_empty(self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        dt = self._data.dtype if dtype is None else dtypes.to_numpy_dtype(dtype)
        return self._new(np.empty(shape_args(size), dtype=dt), device, requires_grad)

    def new_full(
        self, size: Any, fill_value: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False
    ) -> Tensor:
        dt = self._data.dtype if dtype is None else dtypes.to_numpy_dtype(dtype)
        return self._new(np.full(shape_args((size,)), fill_value, dtype=dt), device, requires_grad)

    def new_tensor(self, data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        t = tensor(data, dtype=self._data.dtype if dtype is None else dtype)
        return self._new(t._data, device, requires_grad)

    def zero_grad_(self) -> None:
        self._grad = None


# what Python puts in every class body; everything else in TensorMethods becomes a Tensor method
_CLASS_MACHINERY = {
    "__module__",
    "__qualname__",
    "__doc__",
    "__dict__",
    "__weakref__",
    "__annotations__",
    "__firstlineno__",
    "__static_attributes__",
}


def install(*method_classes: type) -> None:
    """Give the core Tensor class its PyTorch methods (called once, by tinygrad_ko/api/__init__.py),
    from TensorMethods and any further classes of methods (one per family of ops). A method with a
    ``dim`` or ``keepdim`` parameter also takes NumPy's ``axis=``/``keepdims=`` (spellings.py)."""
    for cls in (TensorMethods, *method_classes):
        for name, value in vars(cls).items():
            if name not in _CLASS_MACHINERY:
                setattr(Tensor, name, accept_numpy_spellings(value))
