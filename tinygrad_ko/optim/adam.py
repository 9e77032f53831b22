"""Adam and AdamW: per-parameter step sizes from bias-corrected moment estimates."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from .optimizer import Optimizer, _check_nonneg, _elementwise, _params_with_grads


class Adam(Optimizer):
    """PyTorch's Adam. For each parameter with a gradient ``g`` at step ``t``::

        g = g + weight_decay * p                  (Adam's L2 penalty; AdamW decays p instead)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        v_max = max(v_max, v)                     (amsgrad; v_max replaces v below)
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    (amsgrad keeps the running maximum of the raw second moment ``v`` and bias-corrects it
    afterwards, as PyTorch's implementation does.)
    """

    _decoupled = False

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach: Any = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: Any = None,
    ) -> None:
        _check_nonneg("lr", lr, "learning rate")
        _check_nonneg("eps", eps, "epsilon")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        _check_nonneg("weight_decay", weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize)
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._closure_loss(closure)
        decoupled = self._decoupled
        for group in self.param_groups:
            lr = float(group["lr"])
            beta1, beta2 = (float(b) for b in group["betas"])
            eps = float(group["eps"])
            wd = float(group["weight_decay"])
            amsgrad = group["amsgrad"]
            maximize = group.get("maximize", False)
            for p, d, g in _params_with_grads(group):
                state = self.state[p]
                t = state.get("step", 0) + 1
                state["step"] = t
                if maximize:
                    g = -g
                if wd:
                    if decoupled:
                        d *= 1.0 - lr * wd
                    else:
                        g = g + wd * d
                arrays = [d, g, self._state_array(p, "exp_avg"), self._state_array(p, "exp_avg_sq"), self._scratch(d)]
                if amsgrad:
                    arrays.append(self._state_array(p, "max_exp_avg_sq"))
                kernel = partial(
                    _adam_update,
                    beta1=beta1,
                    beta2=beta2,
                    eps=eps,
                    inv_sqrt_bc2=1.0 / math.sqrt(1.0 - beta2**t),  # 1 / sqrt(bias correction 2)
                    step_size=lr / (1.0 - beta1**t),  # lr / bias correction 1
                )
                _elementwise(kernel, arrays)
                p._version.value += 1
        return loss


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): ``p = p * (1 - lr * weight_decay)``
    before the Adam step, instead of adding ``weight_decay * p`` to the gradient."""

    _decoupled = True

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: Any = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: Any = None,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)


def _adam_update(
    d: np.ndarray,
    g: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    tmp: np.ndarray,
    *v_max: np.ndarray,
    beta1: float,
    beta2: float,
    eps: float,
    inv_sqrt_bc2: float,
    step_size: float,
) -> None:
    """One Adam update of the weights ``d`` in place (``tmp`` is scratch space; ``v_max`` holds
    ``max_exp_avg_sq`` with amsgrad)::

        m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
        d -= step_size * m / (sqrt(v) * inv_sqrt_bc2 + eps)
    """
    np.multiply(g, 1.0 - beta1, out=tmp)
    m *= beta1
    m += tmp
    np.multiply(g, g, out=tmp)
    tmp *= 1.0 - beta2
    v *= beta2
    v += tmp
    if v_max:
        np.maximum(v_max[0], v, out=v_max[0])
        np.sqrt(v_max[0], out=tmp)
    else:
        np.sqrt(v, out=tmp)
    tmp *= inv_sqrt_bc2
    tmp += eps  # tmp is now the denominator
    np.divide(m, tmp, out=tmp)
    tmp *= step_size
    d -= tmp
