"""What the engine does besides the chain rule: hooks, retain_grad, autograd.grad's capture,
anomaly checks, clear errors for bad gradients, and the guard behind once-differentiable ops."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..tensor import Tensor, wrap
from .function import Function, next_seq
from .grad_mode import state as grad_mode


def run_hooks(hooks: list, grad: Tensor) -> Tensor:
    for hook in list(hooks):
        result = hook(grad)
        if result is not None:
            grad = result
    return grad


def run_leaf_hooks(leaf: Tensor, grad: Tensor) -> Tensor:
    grad = run_hooks(leaf._hooks, grad)
    if grad._data.shape != leaf._data.shape:
        raise RuntimeError(
            f"gradient of shape {list(grad._data.shape)} does not match the leaf's shape {list(leaf._data.shape)}"
        )
    return grad


def before_node(node: Function, grad: Tensor, create_graph: bool, captured: dict[int, Any] | None) -> Tensor:
    """What happens to the gradient flowing into a node before its backward runs: the hooks on
    its output (which may replace the gradient), retain_grad, autograd.grad's capture."""
    if node._pre_hooks is not None:
        grad = run_hooks(node._pre_hooks, grad)
    if node._retain is not None:
        output = node._retain()
        if output is not None:
            if output._grad is None:
                output._grad = grad if create_graph else wrap(grad._data.copy())
            elif create_graph:
                output._grad = output._grad + grad
            else:
                output._grad._data += grad._data
    if captured is not None and id(node) in captured:
        captured[id(node)] = grad
    return grad


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


def once_differentiable_backward(node: Function, grad: Tensor) -> tuple[Any, ...]:
    """Run a NumPy-kernel backward under create_graph: its results cannot be differentiated again,
    so each stands behind a node that raises a clear error if anyone tries."""
    grad_mode.enabled = False
    try:
        grads = node.backward(node, grad)
    finally:
        grad_mode.enabled = True
    out = []
    for g in grads if type(grads) is tuple else (grads,):
        if g is None:
            out.append(None)
            continue
        guard = OnceDifferentiableError()
        guard._seq = next_seq()
        guard.op_name = node.name()
        guard._out_shape = g._data.shape
        out.append(wrap(g._data, True, guard))
    return tuple(out)


def check_nan(node: Function, grads: Sequence[Any]) -> None:
    for i, g in enumerate(grads):
        if g is not None and g._data.dtype.kind == "f" and np.isnan(g._data).any():
            where = f"\nThe op was created here (forward pass):\n{node._trace}" if node._trace else ""
            raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th output.{where}")


def raise_bad_gradient(node: Function, edge: Any, g: Tensor) -> None:
    i = next(k for k, e in enumerate(node._edges) if e is edge)
    expected = edge._data.shape if isinstance(edge, Tensor) else edge._out_shape
    raise RuntimeError(
        f"Function {node.name()} returned an invalid gradient at index {i} - got "
        f"{list(g._data.shape)} but expected shape compatible with {list(expected)}"
    )
