"""The ``Function`` base: one differentiable op = its forward and its backward, side by side.

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

``Exp.apply(t)`` runs the forward and, when grad mode is on and an input requires grad, records
the call as a node of the graph: the instance *is* the node (PyTorch's ``grad_fn``). A node holds
the nodes of its inputs (``_edges``) and what forward saved, never its output tensor, so dropping
the output frees the whole graph by reference counting.

``save_for_backward`` takes arrays. An array that *is* one of the inputs comes back in backward
as that input Tensor (so ``create_graph=True`` differentiates through it, and in-place changes to
it are detected by its version counter); the output array comes back as a Tensor connected to this
node; any other array comes back as a constant. A backward written in NumPy (the hot ops' plain
backward) reads them with ``ctx.saved_arrays()`` instead: the same checks, plain arrays, no Tensors.
"""

from __future__ import annotations

import itertools
import traceback
from typing import Any

import numpy as np

from .grad_mode import state as _grad_state

Tensor: Any = None  # set by tinygrad_ko.tensor once the Tensor class exists (avoids an import cycle)
_make: Any = None  # tinygrad_ko.tensor._make(array, requires_grad=False, grad_fn=None)


class _Anomaly:
    __slots__ = ("enabled",)

    def __init__(self) -> None:
        self.enabled = False


anomaly_state = _Anomaly()

SECOND_BACKWARD_MSG = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward."
)


class _SavedOutput:
    """Marks the op's own output among the saved values (kept as an array: no cycle).

    Made with ``_new(_SavedOutput)`` and ``.array = ...`` (no __init__ to run on the hot path)."""

    __slots__ = ("array",)


_new = object.__new__
# Numbers the recorded nodes in the order they are created (see ``Function._seq``).
next_seq = itertools.count(1).__next__
_NEEDS_1 = {False: (False,), True: (True,)}
_NEEDS_2_FALSE = (False, False)
_NEEDS_3_FALSE = (False, False, False)


class Version:
    """A counter shared by a storage and all its views; in-place ops bump it."""

    # The class attribute is the starting value, so creating one (every Tensor does) runs no
    # __init__; the first bump gives the instance its own value.
    value = 0


class Function:
    """Base class of every differentiable op; an instance is a node of the autograd graph."""

    # Heavy kernels whose backward is written in NumPy set this: double backward through them
    # raises a clear error instead of silently giving a wrong higher-order gradient.
    once_differentiable = False
    # Ops whose output is a NumPy view of input 0 set this so the output shares its version counter
    # ("maybe": the op returns a view only when NumPy can, e.g. reshape; apply() checks).
    is_view: bool | str = False

    needs_input_grad: tuple[bool, ...]
    _edges: tuple[Any, ...] = ()
    _out_shape: tuple[int, ...] = ()
    # When the node was recorded: a node's inputs are always recorded before it, so the engine runs
    # nodes in decreasing _seq (a reverse topological order).
    _seq = 0
    # defaults on the class, so recording a node sets only what differs
    _saved: Any = None
    _versions: Any = None
    _pre_hooks: Any = None
    _retain: Any = None
    _trace: Any = None

    # ---- to be written by subclasses -------------------------------------------------------
    @staticmethod
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:
        raise NotImplementedError

    # ---- ctx API ---------------------------------------------------------------------------
    def save_for_backward(self, *arrays: Any) -> None:
        self._saved = arrays

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        saved = self._checked_saved()
        out = []
        for item in saved:
            if isinstance(item, np.ndarray):
                out.append(_make(item))
            elif type(item) is _SavedOutput:
                # The output, reconnected to this node so create_graph differentiates through it.
                if _grad_state.enabled:
                    out.append(_make(item.array, True, self))
                else:
                    out.append(_make(item.array))
            else:
                out.append(item)
        return tuple(out)

    def saved_arrays(self) -> tuple[Any, ...]:
        """The saved values as NumPy arrays (None stays None), checked like ``saved_tensors``.

        For backward formulas written in NumPy (the plain-backward fast path of the hot ops): no
        Tensor is built for them, and nothing can be recorded through them.
        """
        saved = self._checked_saved()
        out = []
        for item in saved:
            if isinstance(item, Tensor):  # an input
                out.append(item._data)
            elif type(item) is _SavedOutput:
                out.append(item.array)
            else:  # an array saved as a constant, None, or any other value
                out.append(item)
        return tuple(out)

    def _checked_saved(self) -> tuple[Any, ...]:
        """The saved values, after checking they are still there (not released by a backward)
        and unchanged since forward saved them (version counters)."""
        saved = self._saved
        if saved is None:
            raise RuntimeError(SECOND_BACKWARD_MSG)
        for counter, expected, _ in self._versions or ():
            if counter.value != expected:
                self._raise_modified()
        return saved

    def _raise_modified(self) -> None:
        """The error for a saved tensor modified in place after forward saved it."""
        for counter, expected, tensor in self._versions:
            if counter.value != expected:
                what = _describe(tensor, self)
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by "
                    f"an inplace operation: {what}, is at version {counter.value}; expected "
                    f"version {expected} instead. Hint: the value was saved by {self.name()}; "
                    "make the in-place change (x += ..., x.add_(...), x[...] = ...) out-of-place, "
                    "or enable anomaly detection with tinygrad_ko.autograd.detect_anomaly() to "
                    "see where that op was created."
                )

    def mark_saved_released(self) -> None:
        self._saved = None

    # ---- graph API -------------------------------------------------------------------------
    # the node's name in reprs and graphs (scalar variants show as their op: MulBackward)
    display_name: str | None = None

    @classmethod
    def name(cls) -> str:
        return cls.display_name or cls.__name__ + "Backward"

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        """PyTorch-shaped: ``((node, 0), ...)``; a leaf appears as an ``AccumulateGrad``."""
        out: list[tuple[Any, int]] = []
        for edge in self._edges:
            if edge is None:
                out.append((None, 0))
            elif isinstance(edge, Function):
                out.append((edge, 0))
            else:
                out.append((AccumulateGrad(edge), 0))
        return tuple(out)

    def register_hook(self, fn: Any) -> Any:
        """Hook on the gradient flowing *into* this node (its output's gradient)."""
        if self._pre_hooks is None:
            self._pre_hooks = []
        return _HookHandle(self._pre_hooks, fn)

    # ---- recording -------------------------------------------------------------------------
    @classmethod
    def apply(cls, *inputs: Any, **attrs: Any) -> Any:
        """Run ``forward`` on the inputs' arrays and record the node when grad is needed.

        This is the hot path of every op, so the common one- to three-input cases are spelled out
        and the output Tensor is built inline (see ``tinygrad_ko.tensor._make``).
        """
        ctx = _new(cls)
        n = len(inputs)
        enabled = _grad_state.enabled
        if n == 1:
            t0 = inputs[0]
            arrays: Any = (t0._data,)
            record = enabled and t0.requires_grad
            needs: tuple[bool, ...] = _NEEDS_1[record]
        elif n == 2:
            t0, t1 = inputs
            arrays = (t0._data, t1._data)
            if enabled:
                needs = (t0.requires_grad, t1.requires_grad)
                record = needs[0] or needs[1]
            else:
                needs, record = _NEEDS_2_FALSE, False
        elif n == 3:  # e.g. linear(x, weight, bias)
            t0, t1, t2 = inputs
            arrays = (t0._data, t1._data, t2._data)
            if enabled:
                needs = (t0.requires_grad, t1.requires_grad, t2.requires_grad)
                record = needs[0] or needs[1] or needs[2]
            else:
                needs, record = _NEEDS_3_FALSE, False
        else:
            arrays = tuple([t._data for t in inputs])
            needs = tuple([enabled and t.requires_grad for t in inputs])
            record = True in needs
        ctx.needs_input_grad = needs
        try:
            raw = cls.forward(ctx, *arrays, **attrs)
        except ValueError as e:  # NumPy's shape errors, reworded to name the op and the shapes
            raise RuntimeError(_shape_error(cls, arrays, e)) from None
        # NumPy returns scalars for 0-d results; the Tensor always holds an ndarray
        out_array = raw if type(raw) is np.ndarray else np.asarray(raw)
        out = _new(Tensor)
        out._data = out_array
        out._grad = None
        out._base = None
        out._hooks = None
        out._version = Version()
        if record:
            out.requires_grad = True
            out.grad_fn = ctx
            ctx._seq = next_seq()
            if n == 1:
                ctx._edges = (t0.grad_fn or t0,)
            elif n == 2:
                ctx._edges = (
                    (t0.grad_fn or t0) if needs[0] else None,
                    (t1.grad_fn or t1) if needs[1] else None,
                )
            elif n == 3:
                ctx._edges = (
                    (t0.grad_fn or t0) if needs[0] else None,
                    (t1.grad_fn or t1) if needs[1] else None,
                    (t2.grad_fn or t2) if needs[2] else None,
                )
            else:
                ctx._edges = tuple([(t.grad_fn or t) if t.requires_grad else None for t in inputs])
            ctx._out_shape = out_array.shape
            if ctx._saved is not None:
                ctx._resolve_saved(inputs, arrays, raw, out)
            if anomaly_state.enabled:
                ctx._trace = _user_stack()
        else:
            out.requires_grad = False
            out.grad_fn = None
        if cls.is_view and (cls.is_view is True or np.may_share_memory(out_array, arrays[0])):
            src = inputs[0]
            out._version = src._version
            out._base = src if src._base is None else src._base
        return out

    def _resolve_saved(self, inputs: Any, arrays: Any, raw_out: Any, out: Any) -> None:
        resolved: list[Any] = []
        # (counter, version at save time, tensor) - the message is built only if a check fails
        versions: list[tuple[Version, int, Any]] = []
        for item in self._saved:
            if item is None:
                resolved.append(None)
                continue
            if item is raw_out:
                saved = _new(_SavedOutput)
                saved.array = out._data
                counter = out._version
                versions.append((counter, counter.value, None))
            else:
                for saved, arr in zip(inputs, arrays):
                    if item is arr:
                        counter = saved._version
                        versions.append((counter, counter.value, saved))
                        break
                else:  # not an input: a constant
                    saved = np.asarray(item) if isinstance(item, np.generic) else item
            resolved.append(saved)
        self._saved = tuple(resolved)
        self._versions = versions


def _user_stack() -> str:
    """The forward's call stack without the library's own frames and the interpreter's/Jupyter's
    machinery, so detect_anomaly points at the user's line."""
    import os

    pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frames = [
        f for f in traceback.extract_stack()[:-2]
        if not f.filename.startswith(pkg) and "site-packages" not in f.filename and "/lib/python" not in f.filename
    ]
    return "".join(traceback.format_list(frames[-8:] if frames else traceback.extract_stack()[-4:-2]))


def _shape_error(cls: type, arrays: list, err: Exception) -> str:
    shapes = [list(a.shape) for a in arrays]
    op = cls.__name__
    if len(arrays) == 2:
        sa, sb = arrays[0].shape, arrays[1].shape
        for i in range(1, max(len(sa), len(sb)) + 1):
            da = sa[-i] if i <= len(sa) else 1
            db = sb[-i] if i <= len(sb) else 1
            if da != db and da != 1 and db != 1:
                dim = max(len(sa), len(sb)) - i
                return (
                    f"{op}: the size of tensor a ({da}) must match the size of tensor b ({db}) at "
                    f"non-singleton dimension {dim} (shapes {shapes[0]} and {shapes[1]})"
                )
    return f"{op}: invalid input shapes {shapes}: {err}"


def _describe(tensor: Any, node: Function) -> str:
    """PyTorch's '[torch.FloatTensor [3]], which is output 0 of ExpBackward' for a saved value."""
    if tensor is None:  # the op's own output
        shape, dtype, producer = node._out_shape, _saved_output_dtype(node), node
    else:
        shape, dtype, producer = tensor._data.shape, tensor._data.dtype, tensor.grad_fn
    desc = f"[tinygrad_ko.{dtype} [{', '.join(str(s) for s in shape)}]]"
    if producer is not None:
        desc += f", which is output 0 of {producer.name()}"
    return desc


def _saved_output_dtype(node: Function) -> Any:
    for item in node._saved or ():
        if type(item) is _SavedOutput:
            return item.array.dtype
    return "float32"


class AccumulateGrad:
    """What a leaf looks like in ``next_functions`` (PyTorch's name); ``.variable`` is the leaf."""

    __slots__ = ("variable",)

    def __init__(self, variable: Any) -> None:
        self.variable = variable

    @staticmethod
    def name() -> str:
        return "AccumulateGrad"

    @property
    def next_functions(self) -> tuple:
        return ()

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {hex(id(self))}>"


class _HookHandle:
    """Returned by ``register_hook``; ``remove()`` takes the hook out again."""

    __slots__ = ("_hooks", "_fn")

    def __init__(self, hooks: list, fn: Any) -> None:
        hooks.append(fn)
        self._hooks = hooks
        self._fn = fn

    def remove(self) -> None:
        try:
            self._hooks.remove(self._fn)
        except ValueError:
            pass


class OnceDifferentiableError(Function):
    """Stands behind gradients computed by a once-differentiable backward under create_graph."""

    op_name = ""

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:
        raise RuntimeError(
            f"{ctx.op_name} is not differentiable twice: its backward is a NumPy kernel "
            "(once differentiable), so create_graph=True cannot build a graph through it"
        )

    def name(self) -> str:  # type: ignore[override]
        return f"{self.op_name}(double backward not supported)"
