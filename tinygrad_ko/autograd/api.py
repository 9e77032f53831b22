"""``backward`` and ``grad``: the two ways into the engine."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import function as _fn
from .engine import run_backward


def _seq(x: Any) -> list[Any]:
    if x is None:
        return []
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


def _seeds(outputs: list[Any], grad_outputs: list[Any]) -> list[Any]:
    Tensor = _fn.Tensor
    seeds = []
    for i, out in enumerate(outputs):
        g = grad_outputs[i] if i < len(grad_outputs) else None
        if not out.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        if g is None:
            arr = out._data
            if arr.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            g = _fn._make(np.ones(arr.shape, dtype=arr.dtype))
        else:
            if not isinstance(g, Tensor):
                g = _fn._make(np.asarray(g, dtype=out._data.dtype))
            if g._data.shape != out._data.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and output[{i}] "
                    f"has a shape of {out.shape}."
                )
            if g._data.dtype != out._data.dtype:
                g = g._cast(out._data.dtype)
        seeds.append(g)
    return seeds


def backward(
    tensors: Any,
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
) -> None:
    """Accumulate d(tensors)/d(leaf) into every leaf's ``.grad`` (PyTorch's autograd.backward)."""
    if retain_graph is None:
        retain_graph = create_graph
    outputs = [tensors] if isinstance(tensors, _fn.Tensor) else _seq(tensors)
    seeds = _seeds(outputs, [] if grad_tensors is None else _seq(grad_tensors))
    run_backward(outputs, seeds, retain_graph, create_graph)


def grad(
    outputs: Any,
    inputs: Any,
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Any, ...]:
    """Return d(outputs)/d(inputs) without touching any ``.grad`` (PyTorch's autograd.grad)."""
    outs = _seq(outputs)
    ins = _seq(inputs)
    for i, t in enumerate(ins):
        if not t.requires_grad:
            raise RuntimeError(f"One of the differentiated Tensors (input {i}) does not require grad")
    seeds = _seeds(outs, _seq(grad_outputs))
    if retain_graph is None:
        retain_graph = create_graph
    result = run_backward(outs, seeds, retain_graph, create_graph, capture=ins)
    assert result is not None
    for i, g in enumerate(result):
        if g is None and not allow_unused:
            raise RuntimeError(
                f"One of the differentiated Tensors (input {i}) appears to not have been used in the "
                "graph. Set allow_unused=True if this is the desired behavior."
            )
    return tuple(result)


