"""The Tensor: a NumPy array plus the state reverse-mode autograd needs. Read this file first.

A Tensor holds its values in ``_data`` (a NumPy array) and four pieces of autograd state:
``requires_grad`` (do gradients flow to it?), ``grad_fn`` (the graph node that computed it, a
``Function`` from autograd/function.py; None for a leaf the user made), ``grad`` (where
``backward()`` accumulates d(output)/d(this tensor) for a leaf) and ``_version``, a counter
shared by a storage and all its views. Views (reshape, transpose, slicing, ``detach()``) are NumPy
views of the same buffer, as in PyTorch, and ``_base`` is the tensor they look into; an in-place
change bumps the shared counter, so backward can tell that a value it saved has changed since.

``backward()`` hands the graph to the engine (autograd/engine.py). Everything else a PyTorch user
calls on a tensor (``x + y``, ``x.sum(1)``, ``x[0]``) is one line over an op's ``Function.apply``,
behind PyTorch's argument rules: those methods are added to this class by tinygrad_ko/api/methods.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # for the type hints only: function.py is built on this file
    from .autograd.function import Function


class Version:
    """A counter shared by a storage and all its views; in-place ops bump it."""

    # The class attribute is the starting value, so a new counter (every Tensor has one) runs no
    # __init__; the first bump gives the instance a value of its own.
    value = 0


class Tensor:
    """A multi-dimensional array with reverse-mode autograd, shaped like ``torch.Tensor``."""

    __slots__ = ("_data", "requires_grad", "grad_fn", "_grad", "_version", "_base", "_hooks", "__weakref__")
    __array_ufunc__ = None  # ndarray (op) Tensor defers to Tensor's reflected operator

    _data: np.ndarray
    requires_grad: bool
    grad_fn: Function | None  # the node that computed it (autograd/function.py); None for a leaf
    _grad: Tensor | None
    _version: Version
    _base: Tensor | None
    _hooks: list | None

    # ---- autograd state -----------------------------------------------------------------------
    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def grad(self) -> Tensor | None:
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(
                    f"assigned grad expected to be a Tensor or None but got grad of type {type(value).__name__}"
                )
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
            raise RuntimeError(f"only Tensors of floating point dtype can require gradients (got {self.dtype})")
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a "
                "computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        self.requires_grad = requires_grad
        return self

    def backward(
        self, gradient: Tensor | None = None, retain_graph: bool | None = None, create_graph: bool = False
    ) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (see autograd/engine.py)."""
        # imported here, not at the top: the engine is built on Tensor, so it comes after this file
        from .autograd import engine

        engine.backward(self, gradient, retain_graph, create_graph)

    def detach(self) -> Tensor:
        """The same values and storage (and version counter), cut off from the graph."""
        t = wrap(self._data)
        t._version = self._version
        return t

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self.requires_grad = False
        return self

    @property
    def data(self) -> Tensor:
        """A detached Tensor on the same storage; changes through it are not tracked."""
        return wrap(self._data)

    @data.setter
    def data(self, value: Tensor | np.ndarray) -> None:
        self._data = value._data if isinstance(value, Tensor) else np.asarray(value)

    def retain_grad(self) -> None:
        """Keep the gradient of this non-leaf tensor in ``.grad`` during backward."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is not None:
            self.grad_fn.retain_output_grad(self)

    @property
    def retains_grad(self) -> bool:
        return self.grad_fn is not None and self.grad_fn._retain is not None

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> HookHandle:
        """Call ``hook(grad)`` with this tensor's gradient during backward; it may return a new one."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            return self.grad_fn.register_hook(hook)
        if self._hooks is None:
            self._hooks = []
        return HookHandle(self._hooks, hook)

    # ---- storage model ------------------------------------------------------------------------
    def storage_offset(self) -> int:
        """Where this view starts in its storage, in elements."""
        delta = self._data.__array_interface__["data"][0] - storage_root(self._data).__array_interface__["data"][0]
        return delta // self._data.itemsize

    def is_contiguous(self) -> bool:
        return self._data.flags.c_contiguous

    def data_ptr(self) -> int:
        return self._data.__array_interface__["data"][0]


class HookHandle:
    """Returned by ``register_hook``; ``remove()`` takes the hook out again."""

    __slots__ = ("_hooks", "_fn")

    def __init__(self, hooks: list, fn: Callable) -> None:
        hooks.append(fn)
        self._hooks = hooks
        self._fn = fn

    def remove(self) -> None:
        if self._fn in self._hooks:
            self._hooks.remove(self._fn)


def storage_root(arr: np.ndarray) -> np.ndarray:
    """The ndarray that owns the buffer ``arr`` looks into (PyTorch's storage)."""
    while isinstance(arr.base, np.ndarray):
        arr = arr.base
    return arr


def wrap(
    array: np.ndarray, requires_grad: bool = False, grad_fn: Function | None = None, cls: type[Tensor] = Tensor
) -> Any:
    """The one place that builds a Tensor: ``array`` as it is (no copy), with fresh autograd state."""
    t = object.__new__(cls)
    t._data = array
    t.requires_grad = requires_grad
    t.grad_fn = grad_fn
    t._grad = None
    t._version = Version()
    t._base = None
    t._hooks = None
    return t
