"""Reading elements by position: ``gather`` (one index per element, along a dim) and
``as_strided`` (a view with any strides over the storage). Both backwards scatter-add the
gradient into zeros with ``np.add.at`` (positions may repeat), in NumPy: once differentiable."""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..tensor import storage_root, wrap


class Gather(Function):
    """``out[i][j] = a[index[i][j]][j]`` (for dim 0): take_along_axis over the part of ``a`` the
    index covers (PyTorch lets the index be smaller than ``a`` in the other dims); backward
    scatters (adds) the gradient back to the gathered positions."""

    once_differentiable = True

    @staticmethod
    def forward(ctx, a, dim, index):
        ctx.shape, ctx.dim, ctx.index = a.shape, dim, index
        if index.shape[:dim] + index.shape[dim + 1 :] != a.shape[:dim] + a.shape[dim + 1 :]:
            a = a[tuple(slice(None) if i == dim else slice(0, n) for i, n in enumerate(index.shape))]
        return np.take_along_axis(a, index, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        full = list(np.indices(ctx.index.shape, sparse=True))
        full[ctx.dim] = ctx.index
        out = np.zeros(ctx.shape, dtype=grad._data.dtype)
        np.add.at(out, tuple(full), grad._data)
        return wrap(out)


def _strided_index(numel: int, size: tuple, stride: tuple, offset: int) -> np.ndarray:
    """Storage positions an as_strided view with this geometry reads."""
    positions = np.arange(numel)
    return np.lib.stride_tricks.as_strided(
        positions[offset:], shape=size, strides=tuple(s * positions.itemsize for s in stride)
    )


class AsStrided(Function):
    """as_strided(size, stride, storage_offset) on the input's storage (element units)."""

    is_view = True
    once_differentiable = True

    @staticmethod
    def forward(ctx, a, size, stride, offset):
        root = storage_root(a)
        if not root.flags.c_contiguous:
            raise RuntimeError("as_strided: the tensor's storage is not a contiguous buffer")
        flat = root.reshape(-1)
        numel = flat.size
        last = offset + sum((n - 1) * s for n, s in zip(size, stride)) if all(size) else offset - 1
        if offset < 0 or any(s < 0 for s in stride) or last >= numel:
            raise RuntimeError(
                f"as_strided: size {list(size)}, stride {list(stride)} and storage_offset {offset} "
                f"reach outside a storage of {numel} elements"
            )
        ctx.numel, ctx.geom = numel, (tuple(size), tuple(stride), offset)
        offset_a = (a.__array_interface__["data"][0] - root.__array_interface__["data"][0]) // a.itemsize
        ctx.in_geom = (a.shape, tuple(s // a.itemsize for s in a.strides), offset_a)
        return np.lib.stride_tricks.as_strided(flat[offset:], shape=size, strides=tuple(s * a.itemsize for s in stride))

    @staticmethod
    def backward(ctx, grad):
        g = grad._data
        storage = np.zeros(ctx.numel, dtype=g.dtype)
        np.add.at(storage, _strided_index(ctx.numel, *ctx.geom), g)
        shape, stride, offset = ctx.in_geom
        return wrap(storage[_strided_index(ctx.numel, shape, stride, offset)])
