"""torchvision-style transforms for NumPy images (we have no PIL): Compose, ToTensor, Normalize, Lambda.

Images are NumPy arrays: ``HxW`` (grayscale) or ``HxWxC``, usually uint8, as the datasets in
:mod:`tinygrad_ko.data.datasets` return them.

Besides ``__call__`` (one sample), each built-in transform has ``apply_batch(xb)``, which
applies the same operation to a whole NumPy batch at once (leading batch axis) and returns a
NumPy array. The DataLoader uses it to build batches without a Python loop over samples;
a transform that cannot work in bulk (e.g. ``Lambda``) returns ``NotImplemented``, and the
DataLoader then falls back to calling the transform sample by sample.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from ._tensor import is_tensor, to_tensor

_F32 = np.dtype(np.float32)


class Transform:
    """Base class: subclasses implement ``__call__`` and may implement ``apply_batch``."""

    def __call__(self, x: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def apply_batch(self, xb: np.ndarray) -> Any:
        """Apply to a NumPy batch (leading batch axis); ``NotImplemented`` if not vectorizable."""
        return NotImplemented

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def apply_batch(transform: Callable[[Any], Any] | None, xb: np.ndarray) -> Any:
    """Apply ``transform`` to a whole batch if it supports that, else return ``NotImplemented``."""
    if transform is None:
        return xb
    fn = getattr(transform, "apply_batch", None)
    if fn is None:
        return NotImplemented
    return fn(xb)


class Compose(Transform):
    """Chain transforms: ``Compose([ToTensor(), Normalize((0.1307,), (0.3081,))])``."""

    def __init__(self, transforms: Iterable[Callable[[Any], Any]]) -> None:
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise TypeError(f"Compose: every transform must be callable, got {type(t).__name__}")

    def __call__(self, x: Any) -> Any:
        for t in self.transforms:
            x = t(x)
        return x

    def apply_batch(self, xb: np.ndarray) -> Any:
        for t in self.transforms:
            xb = apply_batch(t, xb)
            if xb is NotImplemented:
                return NotImplemented
        return xb

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])" if inner else "Compose([])"


def _to_chw(x: np.ndarray, batched: bool) -> np.ndarray:
    """HxW -> 1xHxW, HxWxC -> CxHxW (with a leading batch axis when ``batched``); uint8 scaled to [0, 1]."""
    nd = x.ndim - (1 if batched else 0)
    if nd == 2:
        x = x[..., None, :, :]
    elif nd == 3:
        x = x.transpose((0, 3, 1, 2) if batched else (2, 0, 1))  # a view; np.moveaxis costs 7 us more
    else:
        shape = "NxHxW or NxHxWxC" if batched else "HxW or HxWxC"
        raise ValueError(f"ToTensor: expected an image of shape {shape}, got shape {tuple(x.shape)}")
    if x.dtype == np.uint8:
        out = x.astype(np.float32, order="C")  # the layout change and the cast in one pass
        np.divide(out, _255, out=out)  # a division, like torchvision (x * (1/255) rounds differently)
        return out
    if x.dtype == np.bool_:
        return x.astype(np.float32, order="C")
    return np.ascontiguousarray(x)


_255 = np.float32(255)


class ToTensor(Transform):
    """NumPy image -> Tensor, like torchvision's ToTensor.

    ``HxWxC`` -> ``CxHxW`` and ``HxW`` -> ``1xHxW``; uint8 values are scaled to float32 in
    [0, 1], other dtypes keep their dtype (float32 stays float32). A 4-D array is taken as a
    batch ``NxHxWxC`` and gives ``NxCxHxW``.
    """

    def __call__(self, pic: Any) -> Any:
        if is_tensor(pic):
            raise TypeError("ToTensor: input is already a Tensor; ToTensor converts NumPy images (HxW or HxWxC)")
        arr = np.asarray(pic)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"ToTensor: expected a numeric image array, got dtype {arr.dtype}")
        out = _to_chw(arr, batched=arr.ndim == 4)
        return to_tensor(out)

    def apply_batch(self, xb: np.ndarray) -> Any:
        return _to_chw(np.asarray(xb), batched=True)


class Normalize(Transform):
    """``(x - mean[c]) / std[c]`` per channel, on ``CxHxW`` (or ``NxCxHxW``) Tensors or arrays.

    Returns the same kind as its input (Tensor in, Tensor out). The result is float32
    unless the input is already another floating type; ``mean``/``std`` never promote
    float32 to float64.
    """

    def __init__(self, mean: Sequence[float] | float, std: Sequence[float] | float, inplace: bool = False) -> None:
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float64))
        if self.mean.ndim != 1 or self.std.ndim != 1:
            raise ValueError("Normalize: mean and std must be numbers or 1-D sequences (one value per channel)")
        if np.any(self.std == 0):
            raise ValueError(f"Normalize: std evaluated to zero ({list(self.std)}), leading to division by zero")
        self.inplace = inplace
        self._cache: dict[tuple[np.dtype, int], tuple[np.ndarray, ...]] = {}

    def _apply(self, x: np.ndarray, per_item_ndim: int) -> np.ndarray:
        if per_item_ndim < 3:
            raise ValueError(f"Normalize: expected a CxHxW image (apply ToTensor first), got shape {tuple(x.shape)}")
        c = x.shape[-3]
        dt = x.dtype if x.dtype.kind == "f" else _F32
        key = (dt, c)
        cached = self._cache.get(key)
        # checked and converted once per dtype and channel count, not per image (again if the
        # mean or std attribute was replaced)
        if cached is None or cached[2] is not self.mean or cached[3] is not self.std:
            for name, v in (("mean", self.mean), ("std", self.std)):
                if len(v) not in (1, c):
                    raise ValueError(f"Normalize: {name} has {len(v)} values but the image has {c} channels")
            m, s = self.mean.astype(dt).reshape(-1, 1, 1), self.std.astype(dt).reshape(-1, 1, 1)
            cached = self._cache[key] = (m, s, self.mean, self.std)
        mean, std = cached[0], cached[1]
        if self.inplace and x.dtype == dt and x.flags.writeable:
            np.subtract(x, mean, out=x)
            np.divide(x, std, out=x)
            return x
        out = np.subtract(x, mean, dtype=dt)
        np.divide(out, std, out=out)
        return out

    def __call__(self, x: Any) -> Any:
        if is_tensor(x):
            arr = x.numpy()
            return to_tensor(self._apply(arr, arr.ndim))
        arr = np.asarray(x)
        return self._apply(arr, arr.ndim)

    def apply_batch(self, xb: np.ndarray) -> Any:
        xb = np.asarray(xb)
        return self._apply(xb, xb.ndim - 1)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class Lambda(Transform):
    """Wrap any function as a transform (applied sample by sample)."""

    def __init__(self, lambd: Callable[[Any], Any]) -> None:
        if not callable(lambd):
            raise TypeError(f"Lambda: argument should be callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, x: Any) -> Any:
        return self.lambd(x)

    def __repr__(self) -> str:
        return f"Lambda({getattr(self.lambd, '__name__', repr(self.lambd))})"


__all__ = ["Compose", "Lambda", "Normalize", "ToTensor", "Transform", "apply_batch"]
