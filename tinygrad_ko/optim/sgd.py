"""Stochastic gradient descent, optionally with momentum (heavy-ball or Nesterov) and L2 decay."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..api.creation import from_numpy
from .optimizer import Optimizer, _add_scaled_, _check_nonneg, _params_with_grads


class SGD(Optimizer):
    """PyTorch's SGD. For each parameter with a gradient ``g``::

        g = g + weight_decay * p                      (if weight_decay)
        b = g (first step) or momentum * b + (1 - dampening) * g   (if momentum)
        g = g + momentum * b (nesterov) or b
        p = p - lr * g

    With ``maximize`` the gradient is negated first.
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: Any = None,
        differentiable: bool = False,
        fused: Any = None,
    ) -> None:
        _check_nonneg("lr", lr, "learning rate")
        _check_nonneg("momentum", momentum)
        _check_nonneg("weight_decay", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr = float(group["lr"])
            momentum = float(group["momentum"])
            dampening = float(group["dampening"])
            wd = float(group["weight_decay"])
            nesterov = group["nesterov"]
            maximize = group.get("maximize", False)
            for p, d, g in _params_with_grads(group):
                if maximize:
                    g = -g
                if wd:
                    g = g + wd * d
                if momentum:
                    state = self.state[p]
                    buf_t = state.get("momentum_buffer")
                    if buf_t is None:
                        buf = np.array(g, copy=True)
                        state["momentum_buffer"] = from_numpy(buf)
                    else:
                        buf = buf_t._data
                        buf *= momentum
                        if dampening:
                            buf += np.multiply(g, 1.0 - dampening, out=self._scratch(d))
                        else:
                            buf += g
                    g = g + momentum * buf if nesterov else buf
                _add_scaled_(self, d, g, -lr)
                p._version.value += 1
        return loss
