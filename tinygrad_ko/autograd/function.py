"""``Function``: one differentiable op, its forward and its backward side by side. Read second.

A subclass writes::

    class Exp(Function):
        @staticmethod
        def forward(ctx, x):                 # NumPy arrays in, one NumPy array out
            y = np.exp(x)
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad):             # a Tensor in, one gradient per input out
            (y,) = ctx.saved_tensors         # Tensors again
            return grad * y

``Exp.apply(t)`` runs forward on the inputs' arrays and, when grad mode is on and an input
requires grad, records the call as a node of the graph: the instance (``ctx``) *is* the node,
PyTorch's ``grad_fn``. A node holds the nodes of its inputs (``_edges``) and what forward saved,
never its output tensor, so dropping the output frees the whole graph by reference counting.

What ``save_for_backward`` keeps comes back in backward as Tensors: an input as that input (so
``create_graph=True`` differentiates through it, and an in-place change to it is caught by its
version counter), the output connected to this node, any other array as a constant. A backward
written in NumPy (a once-differentiable kernel) reads them as arrays with ``ctx.saved_arrays()``.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ..tensor import Tensor, Version, wrap
from . import errors
from .anomaly import state as anomaly_mode
from .grad_mode import state as grad_mode
from .node import Node

# Numbers the nodes in the order they are recorded: a node's inputs are always recorded before it,
# so the engine runs nodes from the highest number down (a reverse topological order).
next_seq = itertools.count(1).__next__


class SavedOutput:
    """Marks the op's own output among the saved values (kept as an array: a Tensor would be a cycle)."""

    __slots__ = ("array",)

    def __init__(self, array: np.ndarray) -> None:
        self.array = array


class Function(Node):
    """Base class of every differentiable op; an instance is a node of the autograd graph."""

    # A backward written in NumPy sets this: double backward through it raises a clear error
    # instead of silently giving a wrong higher-order gradient.
    once_differentiable = False
    # An op whose output is a NumPy view of input 0 sets this, so the output shares the input's
    # version counter ("maybe": only when NumPy could make a view, as for reshape).
    is_view: bool | str = False

    needs_input_grad: tuple[bool, ...]
    _seq = 0
    _out_shape: tuple[int, ...] = ()
    _saved: tuple | None = None  # what forward saved; None once backward released it
    _versions: list[tuple[Version, int, Tensor | None]] | None = None  # (counter, version saved, tensor)
    _trace: str | None = None  # the forward's stack, under detect_anomaly()

    @staticmethod
    def forward(ctx: Function, *arrays: np.ndarray, **attrs: Any) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Function, grad: Tensor) -> Tensor | None | tuple[Tensor | None, ...]:
        raise NotImplementedError

    # ---- what forward leaves for backward ------------------------------------------------------
    def save_for_backward(self, *arrays: np.ndarray | None) -> None:
        self._saved = arrays

    @property
    def saved_tensors(self) -> tuple[Tensor | None, ...]:
        out = []
        for item in self._checked_saved():
            if isinstance(item, np.ndarray):  # a constant
                out.append(wrap(item))
            elif type(item) is SavedOutput:  # the output, connected to this node for create_graph
                out.append(wrap(item.array, True, self) if grad_mode.enabled else wrap(item.array))
            else:  # an input Tensor, or None
                out.append(item)
        return tuple(out)

    def saved_arrays(self) -> tuple[np.ndarray | None, ...]:
        """The saved values as NumPy arrays (None stays None), checked like ``saved_tensors``."""
        out = []
        for item in self._checked_saved():
            if isinstance(item, Tensor):
                out.append(item._data)
            elif type(item) is SavedOutput:
                out.append(item.array)
            else:
                out.append(item)
        return tuple(out)

    def _checked_saved(self) -> tuple:
        """The saved values, once backward has not released them nor anyone changed them in place."""
        if self._saved is None:
            raise RuntimeError(errors.SECOND_BACKWARD)
        for counter, version, _ in self._versions or ():
            if counter.value != version:
                raise RuntimeError(errors.modified_in_place(self))
        return self._saved

    # ---- running an op ---------------------------------------------------------------------------
    @classmethod
    def apply(cls, *inputs: Tensor, **attrs: Any) -> Tensor:
        """Run ``forward`` on the inputs' arrays; record the node when a gradient will be needed."""
        ctx = cls()
        recording = grad_mode.enabled
        arrays, needs, edges = [], [], []  # per input: its array, whether it needs a gradient, its node
        for t in inputs:
            need = recording and t.requires_grad
            arrays.append(t._data)
            needs.append(need)
            edges.append((t.grad_fn or t) if need else None)  # a leaf is its own edge
        ctx.needs_input_grad = needs = tuple(needs)
        try:
            raw = cls.forward(ctx, *arrays, **attrs)
        except ValueError as e:  # NumPy's shape errors, reworded to name the op and the shapes
            raise RuntimeError(errors.shape_error(cls, arrays, e)) from None
        out = wrap(raw if type(raw) is np.ndarray else np.asarray(raw))  # NumPy gives scalars for 0-d
        if True in needs:
            # the node: the output points at it, it points at the inputs that need a gradient
            out.requires_grad, out.grad_fn = True, ctx
            ctx._seq = next_seq()
            ctx._edges = tuple(edges)
            ctx._out_shape = out._data.shape
            if ctx._saved is not None:
                ctx._resolve_saved(inputs, arrays, raw, out)
            if anomaly_mode.enabled:
                ctx._trace = errors.user_stack()
        if cls.is_view and (cls.is_view is True or np.may_share_memory(out._data, arrays[0])):
            source = inputs[0]
            out._version = source._version
            out._base = source if source._base is None else source._base
        return out

    def _resolve_saved(
        self, inputs: tuple[Tensor, ...], arrays: list[np.ndarray], raw_out: object, out: Tensor
    ) -> None:
        """Swap each saved input array for its Tensor and the output for a SavedOutput, and note
        the version of each, so backward can check that nobody changed them in place."""
        resolved: list[Any] = []
        versions: list[tuple[Version, int, Tensor | None]] = []
        for item in self._saved:
            if item is raw_out:
                item = SavedOutput(out._data)
                versions.append((out._version, out._version.value, None))  # None: the output
            elif isinstance(item, np.ndarray):
                for tensor, array in zip(inputs, arrays):
                    if item is array:
                        item = tensor
                        versions.append((tensor._version, tensor._version.value, tensor))
                        break
            elif isinstance(item, np.generic):
                item = np.asarray(item)
            resolved.append(item)
        self._saved = tuple(resolved)
        self._versions = versions
