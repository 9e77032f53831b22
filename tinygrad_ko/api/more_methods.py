"""More Tensor methods, by PyTorch's rules: rounding and the log/exp family, scans, tril/triu,
flip/roll/repeat/diag/sum_to_size, norms, scatter and multinomial.

Installed on Tensor next to methods.py's (``methods.install(MoreMethods)`` in api/__init__.py);
each checks its arguments as PyTorch does, then calls one op of ops/pointwise.py, scan.py,
shaping.py, scatter.py or norm.py.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd.grad_mode import state as grad_mode
from ..ops import pointwise, scan, scatter, shaping
from ..ops.elementwise import unbroadcast
from ..random import default_generator
from ..tensor import Tensor, wrap
from .norms import tensor_norm
from .rules import INT64, SCALAR_TYPES, check_dim, py_int, reduce_axes, shape_args, torch_type_name


def _step(x: Tensor, op: Any, name: str, **attrs: Any) -> Tensor:
    """floor/ceil/trunc/round: integers are already whole (a copy, same dtype), bools are refused."""
    kind = x._data.dtype.kind
    if kind == "b":
        raise NotImplementedError(f"\"{name}\" not implemented for 'Bool'")
    if kind in "iu":
        return wrap(x._data.copy())
    return op.apply(x, **attrs)


def _int_args(args: tuple, name: str) -> tuple[int, ...]:
    """f(0, 1), f([0, 1]) and f((0, 1)) alike, as PyTorch's int-list arguments take them."""
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        args = tuple(args[0])
    for a in args:
        if not isinstance(a, (py_int, np.integer)) or isinstance(a, builtins.bool):
            raise TypeError(f"{name}(): expected a sequence of ints, got {type(a).__name__}")
    return tuple(py_int(a) for a in args)


def _scan(x: Tensor, dim: int, dtype: Any, op: Any) -> Tensor:
    if dtype is not None:
        x = x.to(dtype)
    d = check_dim(dim, x._data.ndim)
    if x._data.dtype.kind in "biu" and dtype is None:  # integers accumulate in int64, like sum
        x = x._cast(INT64)
    if x._data.ndim == 0:
        return op.apply(x.reshape(1), dim=0).reshape(())
    return op.apply(x, dim=d)


class MoreMethods:
    """Installed on Tensor by ``methods.install(MoreMethods)``."""

    # ---- rounding: zero gradient, integers kept ----------------------------------------------------
    def floor(self) -> Tensor:
        return _step(self, pointwise.Floor, "floor")

    def ceil(self) -> Tensor:
        return _step(self, pointwise.Ceil, "ceil")

    def trunc(self) -> Tensor:
        return _step(self, pointwise.Trunc, "trunc")

    fix = trunc

    def round(self, decimals: int = 0) -> Tensor:
        """Round half to even (``tensor(2.5).round() == 2``), to ``decimals`` places."""
        if decimals != 0 and self._data.dtype.kind in "iu":
            raise NotImplementedError(
                f"\"round\" with decimals={decimals} not implemented for '{torch_type_name(self._data.dtype)}'"
            )
        return _step(self, pointwise.Round, "round", decimals=py_int(decimals))

    def __round__(self, ndigits: int | None = None) -> Tensor:
        return self.round(ndigits or 0)

    def frac(self) -> Tensor:
        if self._data.dtype.kind != "f":
            raise NotImplementedError(f"\"frac\" not implemented for '{torch_type_name(self._data.dtype)}'")
        return pointwise.Frac.apply(self)

    # ---- more of the exp/log family (integers become float32) ----------------------------------------
    def log2(self) -> Tensor:
        return pointwise.Log2.apply(self._as_float())

    def exp2(self) -> Tensor:
        return pointwise.Exp2.apply(self._as_float())

    def log1p(self) -> Tensor:
        """log(1 + x), accurate for tiny x (where 1 + x rounds to 1)."""
        return pointwise.Log1p.apply(self._as_float())

    def expm1(self) -> Tensor:
        """exp(x) - 1, accurate for tiny x."""
        return pointwise.Expm1.apply(self._as_float())

    def tan(self) -> Tensor:
        return pointwise.Tan.apply(self._as_float())

    # ---- scans -------------------------------------------------------------------------------------
    def cumsum(self, dim: int, dtype: Any = None) -> Tensor:
        return _scan(self, dim, dtype, scan.Cumsum)

    def cumprod(self, dim: int, dtype: Any = None) -> Tensor:
        return _scan(self, dim, dtype, scan.Cumprod)

    # ---- masks, flips, tiling ------------------------------------------------------------------------
    def tril(self, diagonal: int = 0) -> Tensor:
        if self._data.ndim < 2:
            raise RuntimeError("tril: input tensor must have at least 2 dimensions")
        return shaping.Tril.apply(self, diagonal=py_int(diagonal))

    def triu(self, diagonal: int = 0) -> Tensor:
        if self._data.ndim < 2:
            raise RuntimeError("triu: input tensor must have at least 2 dimensions")
        return shaping.Triu.apply(self, diagonal=py_int(diagonal))

    def flip(self, dims: Any, *more_dims: int) -> Tensor:
        """``x.flip(0)``, ``x.flip(0, 1)``, ``x.flip([0, 1])``, ``x.flip(dims=(0,))``."""
        axes = reduce_axes(list(_int_args((dims, *more_dims), "flip")), self._data.ndim)
        if axes is None or self._data.ndim == 0:
            return self.clone()
        return shaping.Flip.apply(self, dims=axes)

    def movedim(self, source: Any, destination: Any) -> Tensor:
        """Move dims ``source`` to positions ``destination``; the others keep their order (a permute view)."""
        n = self._data.ndim
        src = [check_dim(d, n) for d in (source if isinstance(source, (list, tuple)) else [source])]
        dst = [check_dim(d, n) for d in (destination if isinstance(destination, (list, tuple)) else [destination])]
        if len(src) != len(dst):
            raise RuntimeError(
                f"movedim: Invalid source or destination dims: source ({src} dims) should contain the same "
                f"number of dims as destination ({dst} dims)"
            )
        for name, dims in (("source", src), ("destination", dst)):
            if len(set(dims)) != len(dims):
                raise RuntimeError(f"movedim: repeated dim in `{name}` ({dims})")
        rest = iter(d for d in range(n) if d not in src)
        placed = dict(zip(dst, src))
        return self.permute(*[placed[i] if i in placed else next(rest) for i in range(n)])

    moveaxis = movedim

    def roll(self, shifts: Any, dims: Any = None) -> Tensor:
        shift_t = _int_args((shifts,), "roll")
        n = self._data.ndim
        if dims is None:
            if len(shift_t) != 1:
                raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shift_t)}, dims:0")
            return shaping.Roll.apply(self, shifts=shift_t[0], dims=None)
        dim_t = _int_args((dims,), "roll")
        if len(shift_t) != len(dim_t):
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shift_t)}, dims:{len(dim_t)}")
        if n == 0:
            raise IndexError(f"Dimension specified as {dim_t[0]} but tensor has no dimensions")
        return shaping.Roll.apply(self, shifts=shift_t, dims=tuple(check_dim(d, n) for d in dim_t))

    def repeat(self, repeats: Any, *more: int) -> Tensor:
        """Tile the tensor: ``x.repeat(2, 3)`` or ``x.repeat([2, 3])``, one count per dim (and any new leading dims)."""
        sizes = shape_args((repeats, *more))
        shape = self._data.shape
        if len(sizes) < len(shape):
            raise RuntimeError(
                "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor"
            )
        padded = (1,) * (len(sizes) - len(shape)) + shape
        out_shape = [r * s for r, s in zip(sizes, padded)]
        for r, s in zip(sizes, out_shape):
            if r < 0:
                raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {out_shape}")
        return shaping.Repeat.apply(self, sizes=sizes)

    def diag(self, diagonal: int = 0) -> Tensor:
        """A 1-D tensor -> the matrix with it on the ``diagonal``-th diagonal; a 2-D one -> that diagonal."""
        n = self._data.ndim
        if n == 1:
            return shaping.Diag.apply(self, diagonal=py_int(diagonal))
        if n == 2:
            return shaping.Diagonal.apply(self, diagonal=py_int(diagonal))
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {n}D")

    def sum_to_size(self, size: Any, *more: int) -> Tensor:
        """Sum the dims that broadcasting would have stretched from ``size`` (the gradient's unbroadcast)."""
        target = shape_args((size, *more))
        shape = self._data.shape
        lead = len(shape) - len(target)
        if lead < 0 or any(t != 1 and t != shape[lead + i] for i, t in enumerate(target)):
            raise RuntimeError(f"size {{{list(target)}}} is not expandable to size {{{list(shape)}}}.")
        if self._data.dtype.kind in "biu" and target != shape:
            return unbroadcast(self._cast(INT64), target)  # integer sums are int64
        return unbroadcast(self, target)

    # ---- norms -------------------------------------------------------------------------------------
    def norm(self, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
        """``torch.norm``: 'fro' is the 2-norm (of the matrix's elements over two dims); a number p
        the vector p-norm over ``dim`` (all elements when None). See torch.linalg for the newer API."""
        return tensor_norm(self, p, dim, keepdim, dtype)

    # ---- scatter -----------------------------------------------------------------------------------
    def scatter(
        self, dim: int, index: Tensor, src: Any = None, value: Any = None, *, reduce: str | None = None
    ) -> Tensor:
        """Copy of self with ``src[p]`` (or ``value``) written at ``p`` with ``p[dim] = index[p]``,
        for every position p of index; ``reduce='add'``/``'multiply'`` combines instead of overwriting."""
        if src is not None and not isinstance(src, Tensor):
            if value is not None:
                raise TypeError("scatter(): give either src or value, not both")
            src, value = None, src  # scatter(dim, index, 1.0): the number is the value
        if (src is None) == (value is None):
            raise TypeError("scatter(): expected either a src tensor or a value (number)")
        return _scatter(self, dim, index, src, value, reduce, "scatter")

    def scatter_(
        self, dim: int, index: Tensor, src: Any = None, value: Any = None, *, reduce: str | None = None
    ) -> Tensor:
        """In-place scatter (``truth.scatter_(dim=1, index=labels, value=1.0)`` makes one-hot rows)."""
        other = src if isinstance(src, Tensor) else None
        return _in_place(self, other, lambda t: t.scatter(dim, index, src, value, reduce=reduce))

    def scatter_add(self, dim: int, index: Tensor, src: Tensor) -> Tensor:
        """Copy of self with ``src[p]`` added at ``p`` with ``p[dim] = index[p]`` (repeats accumulate)."""
        return _scatter(self, dim, index, src, None, "add", "scatter_add")

    def scatter_add_(self, dim: int, index: Tensor, src: Tensor) -> Tensor:
        return _in_place(self, src, lambda t: t.scatter_add(dim, index, src))

    # ---- sampling ------------------------------------------------------------------------------------
    def multinomial(self, num_samples: int, replacement: bool = False, generator: Any = None) -> Tensor:
        return multinomial(self, num_samples, replacement, generator)


def _in_place(self: Tensor, other: Tensor | None, compute: Callable[[Tensor], Tensor]) -> Tensor:
    """Run an out-of-place op and write its result into self, as methods.py's in-place ops do:
    when autograd records it, the op runs on an alias holding the old value and self takes over
    the result's node; either way the write bumps the version counter."""
    if self._check_inplace(other):
        alias = wrap(self._data.copy(), self.requires_grad, self.grad_fn)
        result = compute(alias)
        self._write(result._data)
        self.grad_fn, self.requires_grad = result.grad_fn, result.requires_grad
        return self
    self._write(compute(self)._data)
    return self


def _scatter(
    self: Tensor, dim: int, index: Any, src: Tensor | None, value: Any, reduce: str | None, name: str
) -> Tensor:
    if reduce not in (None, "add", "multiply"):
        raise RuntimeError("reduce argument must be either add or multiply.")
    if not isinstance(index, Tensor):
        raise TypeError(f"{name}(): index must be a Tensor, not {type(index).__name__}")
    x = self
    if x._data.ndim == 0:  # a 0-d tensor scatters like a 1-element vector
        out = _scatter(
            x.reshape(1), dim, index.reshape(-1), None if src is None else src.reshape(-1), value, reduce, name
        )
        return out.reshape(())
    idx = index._data
    if idx.ndim == 0 and x._data.ndim == 1:  # a 0-d index (and src) counts as one element
        idx = idx.reshape(1)
        src = None if src is None or src._data.ndim else src.reshape(1)
    if idx.dtype not in (np.int64, np.int32):
        raise RuntimeError(f"{name}(): Expected dtype int32/int64 for index")
    n = x._data.ndim
    d = check_dim(dim, n)
    if idx.ndim != n:
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    if src is None:
        if type(value) not in SCALAR_TYPES and not isinstance(value, np.generic):
            raise TypeError(f"{name}(): value must be a number, not {type(value).__name__}")
        src = wrap(np.full(idx.shape, value, dtype=x._data.dtype))
    elif src._data.ndim != n:
        raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
    elif src._data.dtype != x._data.dtype:
        raise RuntimeError(f"{name}(): Expected self.dtype to be equal to src.dtype")
    shape, sshape = x._data.shape, src._data.shape
    if any(k > s or (i != d and k > t) for i, (k, s, t) in enumerate(zip(idx.shape, sshape, shape))):
        raise RuntimeError(
            f"Expected index {list(idx.shape)} to be no larger than self {list(shape)} apart from dimension "
            f"{d} and to be no larger size than src {list(sshape)}"
        )
    if idx.size:
        lo, hi = py_int(idx.min()), py_int(idx.max())
        if lo < 0 or hi >= shape[d]:
            raise RuntimeError(f"index {lo if lo < 0 else hi} is out of bounds for dimension {d} with size {shape[d]}")
    idx = idx.astype(np.int64)  # a copy: a later change to the index tensor must not change backward
    if reduce == "multiply":
        if grad_mode.enabled and (x.requires_grad or src.requires_grad):
            raise RuntimeError(f"{name}(): the derivative for reduce='multiply' is not implemented")
        out = x._data.copy()
        np.multiply.at(out, scatter.scatter_positions(idx, d), src._data[tuple(slice(0, k) for k in idx.shape)])
        return wrap(out)
    op = scatter.ScatterAdd if reduce == "add" else scatter.Scatter
    return op.apply(x, src, dim=d, index=idx)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, generator: Any = None) -> Tensor:
    """Draw ``num_samples`` category indices from each row of (unnormalized) probabilities ``input``
    (1-D: one distribution, 2-D: one per row), with or without replacement; int64."""
    p = input._data
    if p.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if p.dtype.kind != "f":
        raise RuntimeError(
            f"multinomial only supports floating-point dtypes for input, got: {torch_type_name(p.dtype)}"
        )
    k = py_int(num_samples)
    if k <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    rows = (p if p.ndim == 2 else p[None]).astype(np.float64)
    n = rows.shape[1]
    if not replacement and k > n:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    if not np.isfinite(rows).all() or (rows < 0).any():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if rows.shape[0] and (n == 0 or (rows.sum(1) <= 0).any()):
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    g = generator or default_generator()
    if replacement:
        cdf = np.cumsum(rows, axis=1)
        cdf /= cdf[:, -1:]  # the last entry is exactly 1
        out = _first_above(cdf, g.random((rows.shape[0], k)))
    else:
        # an exponential race: category i finishes at time E_i / p_i; the first k to finish are a
        # draw without replacement in proportion to p (zero-probability ones never finish)
        with np.errstate(divide="ignore"):
            finish = g.standard_exponential(rows.shape) / rows
        out = np.argsort(finish, axis=1, kind="stable")[:, :k]
    out = out.astype(np.int64, copy=False)
    return wrap(out.reshape(k) if p.ndim == 1 else out)


def _first_above(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Per row r, for each u[r, j] the first index i with cdf[r, i] > u[r, j]: a binary search run
    on all rows and draws at once (log2(n) steps). Zero-probability categories repeat the previous
    cdf value, so they are never the first above."""
    row = np.arange(cdf.shape[0])[:, None]
    lo = np.zeros(u.shape, dtype=np.int64)
    hi = np.full(u.shape, cdf.shape[1] - 1, dtype=np.int64)
    while (lo < hi).any():
        mid = (lo + hi) // 2
        right = cdf[row, mid] <= u
        lo = np.where(right, mid + 1, lo)
        hi = np.where(right, hi, mid)
    return lo
