"""Functional autograd helpers (PyTorch's torch.autograd.functional): vjp, jacobian, hessian, hvp."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..ops.movement import Cat
from ..tensor import wrap
from .engine import grad


def _prep(inputs: Any) -> tuple[tuple[Any, ...], bool]:
    single = not isinstance(inputs, (tuple, list))
    xs = (inputs,) if single else tuple(inputs)
    return tuple(x.detach().requires_grad_(True) for x in xs), single


def vjp(func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False) -> tuple[Any, Any]:
    """(func(inputs), v^T J)."""
    xs, single = _prep(inputs)
    out = func(*xs)
    gs = grad(out, xs, grad_outputs=v, create_graph=create_graph, allow_unused=True)
    gs = tuple(g if g is not None else wrap(np.zeros_like(x._data)) for g, x in zip(gs, xs))
    return (out if create_graph else out.detach()), (gs[0] if single else gs)


def jacobian(func: Callable[..., Any], inputs: Any, create_graph: bool = False) -> Any:
    """Full Jacobian of a single-output function: shape out.shape + input.shape."""
    xs, single = _prep(inputs)
    out = func(*xs)
    rows: list[list[Any]] = [[] for _ in xs]
    for k in range(out._data.size):
        seed = np.zeros(out._data.shape, dtype=out._data.dtype)
        seed.reshape(-1)[k] = 1
        gs = grad(out, xs, grad_outputs=wrap(seed), retain_graph=True, create_graph=create_graph, allow_unused=True)
        for i, (g, x) in enumerate(zip(gs, xs)):
            rows[i].append(g if g is not None else wrap(np.zeros_like(x._data)))
    jacs = tuple(
        Cat.apply(*[g.reshape(1, *x._data.shape) for g in r], dim=0).reshape(*out._data.shape, *x._data.shape)
        for r, x in zip(rows, xs)
    )
    return jacs[0] if single else jacs


def hessian(func: Callable[..., Any], inputs: Any) -> Any:
    """Hessian of a scalar function of one tensor."""

    def gradient(x: Any) -> Any:
        (g,) = grad(func(x), x, create_graph=True)
        return g

    return jacobian(gradient, inputs)


def hvp(func: Callable[..., Any], inputs: Any, v: Any) -> tuple[Any, Any]:
    """(func(inputs), H v) by double backward, never forming H."""
    xs, single = _prep(inputs)
    vs = (v,) if single else tuple(v)
    out = func(*xs)
    gs = grad(out, xs, create_graph=True)
    dot = sum(((g * vi).sum() for g, vi in zip(gs, vs)), start=wrap(np.zeros((), dtype=out._data.dtype)))
    hv = grad(dot, xs, allow_unused=True)
    hv = tuple(h if h is not None else wrap(np.zeros_like(x._data)) for h, x in zip(hv, xs))
    return out.detach(), (hv[0] if single else hv)
