"""The engine: the chain rule over the recorded graph, in reverse topological order. Read third.

Every node is numbered when forward records it (``Function._seq``, increasing), and an op is
always recorded after the ops that made its inputs. So running the nodes latest-first is a
reverse topological order (DeZero orders by "generation" the same way):

1. Start from the roots with their seed gradients, in a heap ordered by ``_seq``, latest first.
2. Pop the latest node. Every node that feeds it a gradient was recorded later, so it already ran:
   the gradients into the node are complete (and summed). Run its backward and hand one gradient
   per input to the nodes it points at; a node met for the first time joins the heap. One pass,
   iterative (a chain 100,000 ops deep works), each node runs once.
3. Leaves (tensors the user made with requires_grad=True) collect their gradients the same way
   and add them into ``.grad`` once every node has run.

Every op in the reading path has exactly one backward. Most are written with Tensor operations:
under a plain ``backward()`` the engine runs them with grad mode off, so they record nothing; under
``create_graph=True`` they are recorded like any forward, so the gradients can be differentiated
again. The heavy reference ops (convolution, pooling) have a backward written in NumPy: they are
``once_differentiable``, and under ``create_graph`` their gradients stand behind a node that raises
a clear error if anyone differentiates through them. Speed lives elsewhere: the ops that
tinygrad_ko runs for linear, relu, cross-entropy, convolution, pooling and batch norm are the
subclasses in ops/tuned.py, whose kernels (tinygrad_ko/kernels, checked against these backwards by
tests/test_kernels.py) replace the backward under a plain ``backward()``; under ``create_graph``
the linear/relu/cross-entropy ones fall back to the reading path's backward.
"""

from __future__ import annotations

from collections.abc import Sequence
from heapq import heappop, heappush
from typing import Any

import numpy as np

from ..tensor import Tensor, wrap
from . import graph_hooks
from .anomaly import state as anomaly_mode
from .function import Function
from .grad_mode import state as grad_mode


def backward(
    tensors: Tensor | Sequence[Tensor],
    grad_tensors: Tensor | Sequence[Tensor] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
) -> None:
    """Accumulate d(tensors)/d(leaf) into every leaf's ``.grad`` (PyTorch's autograd.backward)."""
    outputs = [tensors] if isinstance(tensors, Tensor) else _as_list(tensors)
    seeds = _seeds(outputs, _as_list(grad_tensors))
    run_backward(outputs, seeds, create_graph if retain_graph is None else retain_graph, create_graph)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Tensor | Sequence[Tensor] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """Return d(outputs)/d(inputs) without touching any ``.grad`` (PyTorch's autograd.grad)."""
    outs, ins = _as_list(outputs), _as_list(inputs)
    for i, t in enumerate(ins):
        if not t.requires_grad:
            raise RuntimeError(f"One of the differentiated Tensors (input {i}) does not require grad")
    seeds = _seeds(outs, _as_list(grad_outputs))
    retain = create_graph if retain_graph is None else retain_graph
    result = run_backward(outs, seeds, retain, create_graph, capture=ins)
    for i, g in enumerate(result):
        if g is None and not allow_unused:
            raise RuntimeError(
                f"One of the differentiated Tensors (input {i}) appears to not have been used in the "
                "graph. Set allow_unused=True if this is the desired behavior."
            )
    return tuple(result)


def run_backward(
    roots: list[Tensor],
    seeds: list[Tensor],
    retain_graph: bool,
    create_graph: bool,
    capture: list | None = None,
    observer: Any = None,
) -> list[Tensor | None] | None:
    """Propagate ``seeds`` (one gradient per root) back through the graph. With ``capture`` (a
    list of tensors) their gradients are returned instead of added into the leaves' ``.grad``.
    An ``observer`` (viz.trace_backward's recorder) is told what each node received and sent."""
    pending: dict[int, Tensor] = {}  # id(node) -> sum of the gradients delivered to it so far
    heap: list[tuple[int, int, Function]] = []  # (-seq, id, node): the latest-recorded node pops first
    leaves: list[Tensor] = []  # in the order they were met
    owned = {id(seed._data) for seed in seeds}  # arrays some .grad or the caller holds: never share
    captured = None if capture is None else {id(t.grad_fn or t): None for t in capture}

    def deliver(target: Function | Tensor, g: Tensor) -> None:
        tid = id(target)
        if tid in pending:  # a later gradient for the same node: sum them
            pending[tid] = pending[tid] + g
        else:
            pending[tid] = g
            if isinstance(target, Tensor):
                leaves.append(target)
            else:
                heappush(heap, (-target._seq, tid, target))

    for root, seed in zip(roots, seeds):
        deliver(root.grad_fn or root, seed)
    saved_mode, grad_mode.enabled = grad_mode.enabled, create_graph
    try:
        while heap:
            _, nid, node = heappop(heap)
            grad = pending.pop(nid)
            if node._pre_hooks is not None or node._retain is not None or captured is not None:
                grad = graph_hooks.before_node(node, grad, create_graph, captured)
            if create_graph and node.once_differentiable:
                grads = graph_hooks.once_differentiable_backward(node, grad)
            else:
                grads = node.backward(node, grad)
            if type(grads) is not tuple:
                grads = (grads,)
            if not retain_graph:
                node._saved = None  # release what forward saved
            if anomaly_mode.enabled:
                graph_hooks.check_nan(node, grads)
            if observer is not None:
                observer.ran(node, grad, grads)
            for edge, g in zip(node._edges, grads):
                if edge is None or g is None:  # no input there, or no gradient for it
                    continue
                if g._data.shape != (edge._data.shape if isinstance(edge, Tensor) else edge._out_shape):
                    graph_hooks.raise_bad_gradient(node, edge, g)
                deliver(edge, g)
        # every node has run, so the leaves' gradients are complete
        for leaf in leaves:
            g = pending.pop(id(leaf))
            if leaf._hooks:
                g = graph_hooks.run_leaf_hooks(leaf, g)
            if observer is not None:
                observer.reached_leaf(leaf, g)
            if captured is None:
                accumulate(leaf, g, create_graph, owned)
            elif id(leaf) in captured:
                captured[id(leaf)] = g
    finally:
        grad_mode.enabled = saved_mode
    return None if captured is None else [captured[id(t.grad_fn or t)] for t in capture]


def accumulate(leaf: Tensor, grad: Tensor, create_graph: bool, owned: set[int]) -> None:
    """``leaf.grad += grad``: the first gradient becomes ``.grad`` (no copy when nobody else holds
    its array), later ones are added in place, or as a Tensor op under create_graph."""
    if grad._data.dtype != leaf._data.dtype:
        grad = wrap(grad._data.astype(leaf._data.dtype), grad.requires_grad, grad.grad_fn)
    current = leaf._grad
    if current is None:
        if create_graph:
            leaf._grad = grad
            return
        arr = grad._data
        if id(arr) in owned or arr.base is not None or not arr.flags.writeable or leaf._hooks:
            grad = wrap(arr.copy())  # its array is shared with another .grad, or a view of another
        owned.add(id(grad._data))
        leaf._grad = grad
    elif create_graph or current.requires_grad:
        leaf._grad = current + grad
    else:
        current._data += grad._data
        current._version.value += 1


def _as_list(x: Any) -> list[Any]:
    return [] if x is None else list(x) if isinstance(x, (list, tuple)) else [x]


def _seeds(outputs: list[Tensor], grad_outputs: list[Any]) -> list[Tensor]:
    """The gradient each output starts with: ones for a scalar, else the one the caller gave."""
    seeds = []
    for i, out in enumerate(outputs):
        g = grad_outputs[i] if i < len(grad_outputs) else None
        if not out.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        if g is None:
            if out._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            g = wrap(np.ones(out._data.shape, dtype=out._data.dtype))
        else:
            if not isinstance(g, Tensor):
                g = wrap(np.asarray(g, dtype=out._data.dtype))
            if g._data.shape != out._data.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and output[{i}] "
                    f"has a shape of {out.shape}."
                )
            if g._data.dtype != out._data.dtype:
                g = g.to(out._data.dtype)
        seeds.append(g)
    return seeds
