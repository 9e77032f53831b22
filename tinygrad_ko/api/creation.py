"""Making tensors: ``tensor()`` with PyTorch's dtype rules for Python data, the factories
(zeros, rand, arange, ...) and the functions over several tensors (cat, stack, where, pad)."""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..ops import elementwise, movement
from ..random import default_generator
from ..tensor import Tensor, wrap
from . import dtypes
from .device import require_cpu
from .outputs import write
from .rules import (
    BOOL,
    FLOAT32,
    INT64,
    SCALAR_TYPES,
    check_dim,
    not_implemented,
    py_bool,
    py_float,
    result_dtype,
    shape_args,
    wrap_int_scalar,
)
from .spellings import accept_numpy_spellings


def const_like(value: Any, like: Tensor) -> Tensor:
    """A non-grad Tensor for a scalar/array/list operand; Python floats follow ``like``'s float dtype."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.generic):
        value = value.item()
    if type(value) in SCALAR_TYPES:
        kind = like._data.dtype.kind
        if type(value) is py_float:
            dt = like._data.dtype if kind == "f" else FLOAT32
        elif type(value) is py_bool:
            dt = BOOL if kind == "b" else like._data.dtype
        else:
            dt = like._data.dtype if kind in "fiu" else INT64
            value = wrap_int_scalar(value, dt)  # uint8 tensor with -2: 254, as PyTorch wraps
        return wrap(np.asarray(value, dtype=dt))
    if isinstance(value, np.ndarray):
        return wrap(value)
    return tensor(value)


# ---- creation --------------------------------------------------------------------------------
def _infer_dtype(arr: np.ndarray) -> np.dtype:
    kind = arr.dtype.kind
    if kind == "f":
        return arr.dtype if arr.dtype in (np.float32, np.float64, np.float16) else FLOAT32
    if kind == "b":
        return BOOL
    if kind in "iu":
        return arr.dtype
    raise TypeError(f"can't convert a value of dtype {arr.dtype} to a tensor")


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """Build a Tensor from data (lists, scalars, ndarrays, Tensors), always copying, like PyTorch.

    Python floats become float32, ints int64, bools bool; NumPy arrays keep their dtype.
    """
    require_cpu(device)
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
            if dtype is None and arr.dtype != FLOAT32 and not isinstance(data, np.generic):  # (a dtype= casts once)
                arr = arr.astype(_list_float_dtype(data))
        elif arr.dtype.kind in "iu" and not isinstance(data, np.generic):
            arr = arr.astype(INT64)
        elif arr.dtype.kind not in "fiub":
            raise TypeError(f"tensor(): could not convert data of type {type(data).__name__} to a tensor")
    if dtype is not None:
        arr = arr.astype(dtypes.to_numpy_dtype(dtype), copy=False)
    else:
        nd = _infer_dtype(arr)
        if nd != arr.dtype:
            arr = arr.astype(nd)
    t = wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _list_float_dtype(data: Any) -> np.dtype:
    """The float dtype PyTorch gives a nested list of numbers: float32 for Python numbers,
    promoted with the dtype of any NumPy float scalar in it."""
    out = FLOAT32
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
        # a one-element tensor in a list is a number, as in PyTorch: tensor([t0, t1]) has shape (2,)
        return data._data.reshape(()) if data._data.size == 1 else data._data
    if isinstance(data, (list, tuple)):
        return [_tensors_to_lists(x) for x in data]
    return data


def from_numpy(arr: np.ndarray) -> Tensor:
    """Wrap an ndarray without copying: the Tensor and the array share memory."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(arr).__name__})")
    dtypes.from_numpy_dtype(arr.dtype)
    return wrap(arr)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    require_cpu(device)
    if isinstance(data, Tensor) and dtype is None:
        return data
    if isinstance(data, np.ndarray) and dtype is None:
        return from_numpy(data)
    return tensor(data, dtype=dtype)


def _creation(arr: np.ndarray, requires_grad: bool, device: Any = None) -> Tensor:
    if device is not None:
        require_cpu(device)
    t = wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _np_dtype(dtype: Any, default: np.dtype = FLOAT32) -> np.dtype:
    return default if dtype is None else dtypes.to_numpy_dtype(dtype)


def zeros(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _creation(np.zeros(shape_args(size), dtype=_np_dtype(dtype)), requires_grad, device)


def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _creation(np.ones(shape_args(size), dtype=_np_dtype(dtype)), requires_grad, device)


def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _creation(np.empty(shape_args(size), dtype=_np_dtype(dtype)), requires_grad, device)


def full(size: Any, fill_value: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    if dtype is None:
        dtype = FLOAT32 if isinstance(fill_value, py_float) else BOOL if isinstance(fill_value, py_bool) else INT64
    return _creation(np.full(shape_args((size,)), fill_value, dtype=_np_dtype(dtype)), requires_grad, device)


def _like(t: Tensor, dtype: Any) -> tuple[tuple[int, ...], np.dtype]:
    return t._data.shape, (t._data.dtype if dtype is None else dtypes.to_numpy_dtype(dtype))


def zeros_like(t: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dt = _like(t, dtype)
    return _creation(np.zeros(shape, dtype=dt), requires_grad, device)


def ones_like(t: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dt = _like(t, dtype)
    return _creation(np.ones(shape, dtype=dt), requires_grad, device)


def empty_like(t: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dt = _like(t, dtype)
    return _creation(np.empty(shape, dtype=dt), requires_grad, device)


def full_like(t: Tensor, fill_value: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dt = _like(t, dtype)
    return _creation(np.full(shape, fill_value, dtype=dt), requires_grad, device)


def rand(
    *size: Any, generator: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    g = generator or default_generator()
    dt = _np_dtype(dtype)
    if dt.kind != "f":  # PyTorch draws only floats (randint draws integers)
        raise not_implemented("check_uniform_bounds", dt)
    return _creation(
        g.random(shape_args(size), dtype=dt if dt in (np.float32, np.float64) else np.float64).astype(dt, copy=False),
        requires_grad,
        device,
    )


def randn(
    *size: Any, generator: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    g = generator or default_generator()
    dt = _np_dtype(dtype)
    if dt.kind != "f":
        raise not_implemented("normal_kernel_cpu", dt)
    return _creation(
        g.standard_normal(shape_args(size), dtype=dt if dt in (np.float32, np.float64) else np.float64).astype(
            dt, copy=False
        ),
        requires_grad,
        device,
    )


def randint(
    low: int,
    high: Any = None,
    size: Any = (),
    generator: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    if high is None or (size == () and isinstance(high, (tuple, list))):  # randint(10, (3,)): low is 0
        low, high, size = 0, low, (size if high is None else high)
    g = generator or default_generator()
    arr = np.asarray(g.integers(low, high, size=shape_args((size,)))).astype(_np_dtype(dtype, INT64))
    return _creation(arr, requires_grad, device)


def randperm(
    n: int, generator: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    g = generator or default_generator()
    return _creation(g.permutation(n).astype(_np_dtype(dtype, INT64)), requires_grad, device)


def rand_like(t: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return rand(*t._data.shape, dtype=dtype or t._data.dtype, device=device, requires_grad=requires_grad)


def randn_like(t: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return randn(*t._data.shape, dtype=dtype or t._data.dtype, device=device, requires_grad=requires_grad)


def arange(
    start: Any,
    end: Any = None,
    step: Any = 1,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    if end is None:
        start, end = 0, start
    is_float = any(isinstance(v, py_float) for v in (start, end, step))
    default = FLOAT32 if is_float else INT64
    dt = _np_dtype(dtype, default)
    arr = np.arange(start, end, step, dtype=np.float64 if is_float else None).astype(dt)
    return _creation(arr, requires_grad, device)


def linspace(
    start: float, end: float, steps: int, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    return _creation(np.linspace(start, end, steps).astype(_np_dtype(dtype)), requires_grad, device)


def eye(n: int, m: int | None = None, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _creation(np.eye(n, m, dtype=_np_dtype(dtype)), requires_grad, device)


# ---- functions over several tensors -------------------------------------------------------------
def _as_tensors(tensors: Sequence[Any], op: str) -> list[Tensor]:
    ts = [t if isinstance(t, Tensor) else tensor(t) for t in tensors]
    if not ts:
        raise RuntimeError(f"{op}(): expected a non-empty list of Tensors")
    dts = {t._data.dtype for t in ts}
    if len(dts) > 1:
        rd = ts[0]._data.dtype
        for t in ts[1:]:
            rd = result_dtype(rd, t._data.dtype, 1, 1)
        ts = [t._cast(rd) for t in ts]
    return ts


@accept_numpy_spellings
def cat(tensors: Sequence[Tensor], dim: int = 0, out: Tensor | None = None) -> Tensor:
    if out is not None:
        return write("cat", out, tensors, lambda: cat(tensors, dim))
    ts = _as_tensors(tensors, "cat")  # empty tensors count for the result's dtype, as in PyTorch
    for i, t in enumerate(ts):
        if t._data.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    ts = [t for t in ts if not (t._data.ndim == 1 and t._data.size == 0)] or ts[:1]
    ndim = ts[0]._data.ndim
    d = check_dim(dim, ndim)
    ref = ts[0]._data.shape
    for i, t in enumerate(ts):
        s = t._data.shape
        if len(s) != ndim or any(a != b for j, (a, b) in enumerate(zip(s, ref)) if j != d):
            raise RuntimeError(
                f"Sizes of tensors must match except in dimension {d}. Expected size "
                f"{list(ref)} but got size {list(s)} for tensor number {i} in the list."
            )
    return movement.Cat.apply(*ts, dim=d)


concat = concatenate = cat


@accept_numpy_spellings
def stack(tensors: Sequence[Tensor], dim: int = 0, out: Tensor | None = None) -> Tensor:
    if out is not None:
        return write("stack", out, tensors, lambda: stack(tensors, dim))
    ts = _as_tensors(tensors, "stack")
    ref = ts[0]._data.shape
    for i, t in enumerate(ts):
        if t._data.shape != ref:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(ref)} at entry 0 and "
                f"{list(t._data.shape)} at entry {i}"
            )
    n = len(ref) + 1
    d = check_dim(dim, n)
    return movement.Cat.apply(*[t.unsqueeze(d) for t in ts], dim=d)


def where(condition: Any, input: Any = None, other: Any = None) -> Any:
    """where(cond, a, b): elementwise choice; where(cond) alone gives the indices (nonzero)."""
    cond = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
    if input is None and other is None:  # (a 0-d condition counts as one element, as in PyTorch)
        return tuple(wrap(i) for i in np.nonzero(np.atleast_1d(cond)))
    if cond.dtype == np.uint8:  # PyTorch still accepts a uint8 mask (deprecated)
        cond = cond.astype(np.bool_)
    if cond.dtype != np.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype {cond.dtype}")
    a = input if isinstance(input, Tensor) else None
    b = other if isinstance(other, Tensor) else None
    if a is None and b is None:
        a = tensor(input)
    if a is None:
        a = const_like(input, b)
    if b is None:
        b = const_like(other, a)
    a, b = a._operands(b)
    return elementwise.Where.apply(a, b, cond=cond)


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float = 0.0) -> Tensor:
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
        return movement.Pad.apply(out, widths=tuple(map(tuple, widths)), value=value)
    return movement.Pad.apply(input, widths=tuple(map(tuple, widths)), value=value)
