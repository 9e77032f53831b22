"""Gradient clipping, between ``loss.backward()`` and ``optimizer.step()``.

``clip_grad_norm_`` rescales all gradients together so that their joint norm (the norm of the
vector of every gradient's norm) is at most ``max_norm``; ``clip_grad_value_`` clamps each
element to ``[-clip_value, clip_value]``. Both change ``p.grad`` in place, as PyTorch's do.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ...api.creation import tensor
from ...tensor import Tensor


def _grads(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p.grad for p in params if p.grad is not None]


def _norm(values: np.ndarray, norm_type: float) -> Any:
    """The vector norm of all of ``values`` (PyTorch's ``vector_norm``)."""
    flat = values.reshape(-1)
    if norm_type == math.inf:
        return np.abs(flat).max() if flat.size else flat.dtype.type(0)
    if norm_type == -math.inf:
        return np.abs(flat).min() if flat.size else flat.dtype.type(math.inf)
    if norm_type == 0:
        return flat.dtype.type(np.count_nonzero(flat))
    if norm_type == 2:
        return np.sqrt(np.dot(flat, flat))
    return (np.abs(flat) ** norm_type).sum() ** (1.0 / norm_type)


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float | str = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Scale the gradients in place so that their total ``norm_type``-norm is at most ``max_norm``
    (by ``max_norm / (total + 1e-6)`` when it is larger); return the total norm before clipping."""
    grads = _grads(parameters)
    norm_type = float(norm_type)  # "inf" as well as math.inf
    if not grads:
        return tensor(0.0)
    dtype = grads[0]._data.dtype
    with np.errstate(all="ignore"):
        norms = np.array([_norm(g._data, norm_type) for g in grads], dtype=dtype)
        total = np.asarray(_norm(norms, norm_type), dtype=dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it cannot "
            "be clipped. To disable this error and scale the gradients by the non-finite norm anyway, set "
            "`error_if_nonfinite=False`"
        )
    coef = float(max_norm) / (float(total) + 1e-6)
    if not coef >= 1.0:  # a nan norm makes the gradients nan, as in PyTorch
        for g in grads:
            with np.errstate(all="ignore"):
                g._data *= g._data.dtype.type(coef)
            g._version.value += 1
    return tensor(total, dtype=dtype)


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float, foreach: bool | None = None) -> None:
    """Clamp every gradient element into ``[-clip_value, clip_value]``, in place."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        np.clip(g._data, -clip_value, clip_value, out=g._data)
        g._version.value += 1
