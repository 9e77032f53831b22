"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from .optimizer import Optimizer, _check_nonneg, _elementwise, _params_with_grads


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
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
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
            kernel = partial(_rmsprop_update, lr=lr, alpha=alpha, eps=eps, centered=centered, momentum=momentum)
            for p, d, g in _params_with_grads(group):
                state = self.state[p]
                state["step"] = state.get("step", 0) + 1
                if maximize:
                    g = -g
                if wd:
                    g = g + wd * d
                arrays = [d, g, self._state_array(p, "square_avg"), self._scratch(d)]
                if centered:
                    arrays.append(self._state_array(p, "grad_avg"))
                if momentum > 0:
                    arrays.append(self._state_array(p, "momentum_buffer"))
                _elementwise(kernel, arrays)
                p._version.value += 1
        return loss


def _rmsprop_update(
    d: np.ndarray,
    g: np.ndarray,
    v: np.ndarray,
    tmp: np.ndarray,
    *state: np.ndarray,
    lr: float,
    alpha: float,
    eps: float,
    centered: bool,
    momentum: float,
) -> None:
    """One RMSprop update of the weights ``d`` in place (``tmp`` is scratch space); ``state``
    holds ``grad_avg`` when centered, then ``momentum_buffer`` when momentum > 0."""
    v *= alpha
    np.multiply(g, g, out=tmp)
    tmp *= 1.0 - alpha
    v += tmp
    if centered:
        g_avg = state[0]
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
        buf = state[-1]
        buf *= momentum
        np.divide(g, tmp, out=tmp)
        buf += tmp
        np.multiply(buf, lr, out=tmp)
    else:
        np.divide(g, tmp, out=tmp)
        tmp *= lr
    d -= tmp
