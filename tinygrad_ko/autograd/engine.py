"""The backward engine: the chain rule over the recorded DAG, in reverse topological order.

Every node is numbered when forward records it (``Function._seq``, increasing), and an op is
always recorded after the ops that made its inputs. So running the nodes latest-first is a
reverse topological order (DeZero orders by "generation" the same way):

1. Start from the roots with their seed gradients, in a heap ordered by ``_seq``, latest first.
2. Pop the latest node. Every node that feeds it a gradient was recorded later, so it already
   ran: the gradients into the node are complete (and summed). Run its backward and hand one
   gradient per input to the nodes it points at; a node met for the first time joins the heap.
   One pass, no separate walk to count dependencies, and iterative (a chain 100,000 ops deep
   works).
3. Leaves (tensors created by the user with requires_grad=True) collect their gradients the same
   way and accumulate them into ``.grad`` once every node has run.

Under ``create_graph=False`` the backward formulas run with grad mode off, so they record nothing;
with ``create_graph=True`` they are recorded and the gradients are differentiable.
"""

from __future__ import annotations

from collections.abc import Sequence
from heapq import heappop, heappush
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
    # pending[id(node)]: the sum of the gradients delivered so far to a node that has not run yet
    pending: dict[int, Any] = {}
    heap: list[tuple[int, int, Any]] = []  # (-seq, id, node): the latest-recorded node pops first
    leaves: list[Any] = []  # in the order they were met
    # arrays already owned by some .grad or by the caller (never share one between two)
    stolen: set[int] = set()
    for seed in seeds:
        stolen.add(id(seed._data))
    for root, seed in zip(roots, seeds):
        node = root.grad_fn or root
        nid = id(node)
        if nid in pending:  # the same root twice
            pending[nid] = pending[nid] + seed
        else:
            pending[nid] = seed
            if isinstance(node, Tensor):
                leaves.append(node)
            else:
                heappush(heap, (-node._seq, nid, node))

    captured: dict[int, Any] | None = None
    if capture is not None:
        captured = {id(t.grad_fn or t): None for t in capture}

    check_nan = anomaly_state.enabled
    prev_mode = _grad_state.enabled
    _grad_state.enabled = create_graph
    try:
        while heap:
            _, nid, node = heappop(heap)
            grad = pending.pop(nid)
            if node._pre_hooks is not None or node._retain is not None or captured is not None:
                grad = _before_node(node, grad, create_graph, captured)
            if create_graph and node.once_differentiable:
                grads = _once_differentiable_backward(node, grad)
            else:
                grads = node.backward(node, grad)
                if type(grads) is not tuple:
                    grads = (grads,)
            if not retain_graph:
                node._saved = None
            if check_nan:
                _check_nan(node, grads)
            edges = node._edges
            for e, g in zip(edges, grads):
                if e is None or g is None:  # no input there, or no gradient for it
                    continue
                eid = id(e)
                leaf = isinstance(e, Tensor)  # a leaf (Tensor or a subclass such as nn.Parameter)
                if g._data.shape != (e._data.shape if leaf else e._out_shape):
                    _bad_gradient(node, edges, e, g)
                if eid in pending:  # a later gradient for e: sum it
                    pending[eid] = pending[eid] + g
                else:  # e's first gradient (for most nodes the only one)
                    pending[eid] = g
                    if leaf:
                        leaves.append(e)
                    else:
                        heappush(heap, (-e._seq, eid, e))
        # every node has run, so the leaves' gradients are complete
        for leaf in leaves:
            grad = pending.pop(id(leaf))
            if leaf._hooks:
                grad = _run_hooks(leaf._hooks, grad)
                if grad._data.shape != leaf._data.shape:
                    raise RuntimeError(
                        f"gradient of shape {list(grad._data.shape)} does not match the leaf's shape "
                        f"{list(leaf._data.shape)}"
                    )
            if captured is None:
                _accumulate(leaf, grad, create_graph, stolen)
            elif id(leaf) in captured:
                captured[id(leaf)] = grad
    finally:
        _grad_state.enabled = prev_mode

    if captured is None:
        return None
    return [captured[id(t.grad_fn or t)] for t in capture]  # type: ignore[union-attr]


def _bad_gradient(node: Function, edges: Sequence[Any], edge: Any, g: Any) -> None:
    i = next(k for k, e in enumerate(edges) if e is edge)
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
        err._seq = _fn.next_seq()
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


def _before_node(node: Function, grad: Any, create_graph: bool, captured: dict[int, Any] | None) -> Any:
    """What happens to the gradient flowing into a node before its backward runs, when anything
    does: the hooks on its output (which may replace the gradient), retain_grad, autograd.grad's
    capture."""
    if node._pre_hooks is not None:
        grad = _run_hooks(node._pre_hooks, grad)
    if node._retain is not None:
        _retain(node._retain, grad, create_graph)
    if captured is not None and id(node) in captured:
        captured[id(node)] = grad
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
    """Add ``grad`` into ``leaf.grad``: take the gradient over the first time, add in place after.

    The gradient has the leaf's shape (checked when it was delivered, and after the leaf's hooks).
    """
    arr = grad._data
    dtype = leaf._data.dtype
    if arr.dtype is not dtype and arr.dtype != dtype:
        arr = arr.astype(dtype)
        grad = _fn._make(arr, grad.requires_grad, grad.grad_fn) if create_graph else _fn._make(arr)
    current = leaf._grad
    if current is None:
        if create_graph:
            leaf._grad = grad
            return
        aid = id(arr)
        if arr.base is None and aid not in stolen and not leaf._hooks and arr.flags.writeable:
            # A fresh array that no other .grad holds (the common case): it becomes .grad as it
            # is, and so does its Tensor when that is a plain one (no graph, not a view).
            stolen.add(aid)
            leaf._grad = grad if not grad.requires_grad and grad._base is None else _fn._make(arr)
        else:
            arr = arr.copy()
            stolen.add(id(arr))
            leaf._grad = _fn._make(arr)
    elif create_graph or current.requires_grad:
        leaf._grad = current + grad
    else:
        current._data += arr
        current._version.value += 1
