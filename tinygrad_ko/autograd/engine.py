"""The backward engine: the chain rule over the recorded DAG, in reverse topological order.

1. Walk the graph from the roots (iteratively: a chain 100,000 ops deep works) and count, for each
   node, how many edges point at it.
2. Start from the roots with their seed gradients. A node runs once, when every edge into it has
   delivered its gradient (the contributions are summed first); it hands one gradient per input to
   the nodes it points at.
3. Leaves (tensors created by the user with requires_grad=True) accumulate into ``.grad``.

Under ``create_graph=False`` the backward formulas run with grad mode off, so they record nothing;
with ``create_graph=True`` they are recorded and the gradients are differentiable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import function as _fn
from .function import Function, OnceDifferentiableError, anomaly_state
from .grad_mode import state as _grad_state


def _check_nan(node: Function, grads: Sequence[Any]) -> None:
    for i, g in enumerate(grads):
        if g is not None and g._data.dtype.kind == "f" and np.isnan(g._data).any():
            trace = getattr(node, "_trace", None)
            where = f"\nThe op was created here (forward pass):\n{trace}" if trace else ""
            raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th output.{where}")


def run_backward(
    roots: Sequence[Any],
    seeds: Sequence[Any],
    retain_graph: bool,
    create_graph: bool,
    capture: Sequence[Any] | None = None,
) -> list[Any] | None:
    """Propagate ``seeds`` (one gradient Tensor per root) back through the graph.

    With ``capture`` (a list of tensors), gradients w.r.t. those tensors are returned instead of
    accumulated into leaves' ``.grad`` (this is ``autograd.grad``).
    """
    Tensor = _fn.Tensor
    # ---- 1. dependency counts -------------------------------------------------------------
    deps: dict[int, int] = {}
    seen: set[int] = set()
    stack: list[Any] = []
    start: list[Any] = []
    for r in roots:
        node = r.grad_fn if r.grad_fn is not None else r
        start.append(node)
        stack.append(node)
    while stack:
        node = stack.pop()
        nid = id(node)
        if nid in seen:
            continue
        seen.add(nid)
        if isinstance(node, Tensor):  # a leaf (Tensor or a subclass such as nn.Parameter)
            continue
        for e in node._edges:
            if e is not None:
                eid = id(e)
                deps[eid] = deps.get(eid, 0) + 1
                if eid not in seen:
                    stack.append(e)

    captured: dict[int, Any] | None = None
    if capture is not None:
        captured = {id(t.grad_fn if t.grad_fn is not None else t): None for t in capture}

    # ---- 2. seed gradients ----------------------------------------------------------------
    buffers: dict[int, Any] = {}
    stolen: set[int] = set()  # arrays already owned by some .grad (never share one between two)
    for node, g in zip(start, seeds):
        stolen.add(id(g._data))
        nid = id(node)
        buffers[nid] = g if nid not in buffers else buffers[nid] + g
    ready = []
    queued: set[int] = set()
    for node in start:
        nid = id(node)
        if deps.get(nid, 0) == 0 and nid not in queued:
            queued.add(nid)
            ready.append(node)

    # ---- 3. run nodes in topological order ------------------------------------------------
    prev_mode = _grad_state.enabled
    _grad_state.enabled = create_graph
    try:
        while ready:
            node = ready.pop()
            nid = id(node)
            grad = buffers.pop(nid, None)
            if isinstance(node, Tensor):
                if grad is not None:
                    if node._hooks:
                        grad = _run_hooks(node._hooks, grad)
                    if captured is not None:
                        if nid in captured:
                            captured[nid] = grad
                    else:
                        _accumulate(node, grad, create_graph, stolen)
                continue
            edges = node._edges
            if grad is None:
                grads: Sequence[Any] = (None,) * len(edges)
            else:
                if node._pre_hooks:
                    grad = _run_hooks(node._pre_hooks, grad)
                if node._retain is not None:
                    _retain(node._retain, grad, create_graph)
                if captured is not None and nid in captured:
                    captured[nid] = grad
                if create_graph and node.once_differentiable:
                    grads = _once_differentiable_backward(node, grad)
                else:
                    grads = node.backward(node, grad)
                    if type(grads) is not tuple:
                        grads = (grads,)
                if not retain_graph:
                    node._saved = None
                if anomaly_state.enabled:
                    _check_nan(node, grads)
            for e, g in zip(edges, grads):
                if e is None:
                    continue
                eid = id(e)
                if g is not None:
                    gshape = g._data.shape
                    if gshape != (e._data.shape if isinstance(e, Tensor) else e._out_shape):
                        _bad_gradient(node, edges, e, g)
                    prev = buffers.get(eid)
                    buffers[eid] = g if prev is None else prev + g
                left = deps[eid] - 1
                deps[eid] = left
                if left == 0:
                    ready.append(e)
    finally:
        _grad_state.enabled = prev_mode

    if captured is None:
        return None
    return [captured[id(t.grad_fn if t.grad_fn is not None else t)] for t in capture]  # type: ignore[union-attr]


def _bad_gradient(node: Function, edges: Sequence[Any], edge: Any, g: Any) -> None:
    i = list(edges).index(edge)
    expected = edge._data.shape if isinstance(edge, _fn.Tensor) else edge._out_shape
    raise RuntimeError(
        f"Function {node.name()} returned an invalid gradient at index {i} - got "
        f"{list(g._data.shape)} but expected shape compatible with {list(expected)}"
    )


def _once_differentiable_backward(node: Function, grad: Any) -> Sequence[Any]:
    """Run a NumPy-kernel backward under create_graph: its results cannot be differentiated
    again, so they stand behind a node that raises a clear error if anyone tries."""
    _grad_state.enabled = False
    try:
        grads = _as_tuple(node.backward(node, grad))
    finally:
        _grad_state.enabled = True
    out = []
    for g in grads:
        if g is None:
            out.append(None)
            continue
        err = OnceDifferentiableError.__new__(OnceDifferentiableError)
        err.op_name = node.name()
        err._out_shape = g._data.shape
        out.append(_fn._make(g._data, True, err))
    return out


def _as_tuple(grads: Any) -> Sequence[Any]:
    return grads if type(grads) is tuple else (grads,)


def _run_hooks(hooks: list, grad: Any) -> Any:
    for hook in list(hooks):
        result = hook(grad)
        if result is not None:
            grad = result
    return grad


def _retain(ref: Any, grad: Any, create_graph: bool) -> None:
    t = ref()
    if t is None:
        return
    if t._grad is None:
        t._grad = grad if create_graph else _fn._make(grad._data.copy())
    elif create_graph:
        t._grad = t._grad + grad
    else:
        t._grad._data += grad._data


def _accumulate(leaf: Any, grad: Any, create_graph: bool, stolen: set[int]) -> None:
    """Add ``grad`` into ``leaf.grad``: steal the buffer the first time, add in place after."""
    arr = grad._data
    if arr.shape != leaf._data.shape:
        raise RuntimeError(
            f"gradient of shape {list(arr.shape)} does not match the leaf's shape {list(leaf._data.shape)}"
        )
    if arr.dtype != leaf._data.dtype:
        arr = arr.astype(leaf._data.dtype)
        grad = _fn._make(arr, grad.requires_grad, grad.grad_fn) if create_graph else _fn._make(arr)
    current = leaf._grad
    if current is None:
        if create_graph:
            leaf._grad = grad
            return
        if arr.base is not None or not arr.flags.writeable or id(arr) in stolen or leaf._hooks:
            arr = arr.copy()
        stolen.add(id(arr))
        leaf._grad = _fn._make(arr)
    elif create_graph or current.requires_grad:
        leaf._grad = current + grad
    else:
        current._data += arr
        current._version.value += 1
