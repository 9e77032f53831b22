"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .optimizer import Optimizer, _check_nonneg, _params_with_grads


class RMSprop(Optimizer):
    """PyTorch's RMSprop. For each parameter with a gradient ``g``::

        g = g + weight_decay * p                             (if weight_decay)
        v = alpha * v + (1 - alpha) * g**2
        v~ = v - g_avg**2, g_avg = alpha * g_avg + (1 - alpha) * g    (if centered; else v~ = v)
        b = momentum * b + g / (sqrt(v~) + eps); p = p - lr * b      (if momentum > 0)
        p = p - lr * g / (sqrt(v~) + eps)                            (otherwise)
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: Any = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_nonneg("lr", lr, "learning rate")
        _check_nonneg("eps", eps, "epsilon")
        _check_nonneg("momentum", momentum)
        _check_nonneg("weight_decay", weight_decay)
        _check_nonneg("alpha", alpha)
        defaults = dict(
            lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum, centered=centered,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr = float(group["lr"])
            alpha = float(group["alpha"])
            eps = float(group["eps"])
            wd = float(group["weight_decay"])
            momentum = float(group["momentum"])
            centered = group["centered"]
            maximize = group.get("maximize", False)
            for p, d, g in _params_with_grads(group):
                state = self.state[p]
                state["step"] = state.get("step", 0) + 1
                if maximize:
                    g = -g
                if wd:
                    g = g + wd * d
                v = self._state_array(p, "square_avg")
                v *= alpha
                tmp = np.multiply(g, g, out=self._scratch(d))
                tmp *= 1.0 - alpha
                v += tmp
                if centered:
                    g_avg = self._state_array(p, "grad_avg")
                    g_avg *= alpha
                    np.multiply(g, 1.0 - alpha, out=tmp)
                    g_avg += tmp
                    np.multiply(g_avg, g_avg, out=tmp)
                    np.subtract(v, tmp, out=tmp)
                    np.sqrt(tmp, out=tmp)
                else:
                    np.sqrt(v, out=tmp)
                tmp += eps  # tmp is now the denominator
                if momentum > 0:
                    buf = self._state_array(p, "momentum_buffer")
                    buf *= momentum
                    np.divide(g, tmp, out=tmp)
                    buf += tmp
                    np.multiply(buf, lr, out=tmp)
                else:
                    np.divide(g, tmp, out=tmp)
                    tmp *= lr
                d -= tmp
                p._version.value += 1
        return loss
