"""Activation functions beyond relu/sigmoid/tanh: GELU, SiLU, Mish, ELU/CELU, Hardtanh (ReLU6),
Hardswish, Softsign, and the error function GELU is built on.

Each op is ``y = f(x)`` elementwise, so its backward is ``grad * f'(x)``: the slope, written next to
the forward as the formula a textbook gives. Two rules every op here follows:

* The slope is written in Tensor operations, so ``create_graph=True`` differentiates it again. Where
  it reuses a value forward computed (the sigmoid in SiLU, Phi in GELU, the tanh in Mish), that value
  comes back from ``save_for_backward`` as a constant; under ``create_graph`` (grad mode on during
  backward) it is recomputed as a recorded op of ``x`` instead, so its own derivative is not lost.
* At a kink the slope is PyTorch's: Hardtanh's is 0 at both ends (clamp's is 1), Hardswish's is
  0 at -3 and 1 at +3, ELU's at 0 is ``alpha`` (the left branch), CELU's is 1.

Nothing overflows for large |x|: exponentials only see non-positive arguments, and cubes and
squares only see |x| capped where the result no longer changes.
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import state as grad_mode
from ..kernels.special import erf
from ..tensor import Tensor, wrap
from .elementwise import Where
from .loss import Softplus

SQRT1_2 = math.sqrt(0.5)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
GELU_K = math.sqrt(2.0 / math.pi)  # the tanh approximation: tanh(K * (x + C * x**3))
GELU_C = 0.044715
# |x| beyond which the tanh approximation's tanh is exactly +-1 (K * (10 + C * 1000) = 43.6) and
# exp(-x**2 / 2) is exactly 0 (exp(-800)): capping |x| there changes no result, and keeps x**3 and
# x**2 from overflowing.
GELU_TANH_CAP = 10.0
PDF_CAP = 40.0


def normal_cdf(x: np.ndarray) -> np.ndarray:
    """Phi(x) = (1 + erf(x / sqrt 2)) / 2, the standard normal CDF (as PyTorch computes it)."""
    out = erf(x * x.dtype.type(SQRT1_2))
    out += 1.0
    out *= 0.5
    return out


def normal_pdf(x: Tensor) -> Tensor:
    """phi(x) = exp(-x**2 / 2) / sqrt(2 pi), in Tensor ops."""
    xc = x.clamp(-PDF_CAP, PDF_CAP)
    return (xc * xc * -0.5).exp() * INV_SQRT_2PI


class Erf(Function):
    """erf(x) = 2/sqrt(pi) * integral of exp(-t**2) from 0 to x; slope 2/sqrt(pi) * exp(-x**2)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return erf(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        xc = x.clamp(-PDF_CAP, PDF_CAP)
        return grad * (xc * xc * -1.0).exp() * TWO_OVER_SQRT_PI


class Gelu(Function):
    """GELU(x) = x * Phi(x); slope Phi(x) + x * phi(x) (the CDF and the density of N(0, 1))."""

    @staticmethod
    def forward(ctx, x):
        cdf = normal_cdf(x)
        ctx.save_for_backward(x, cdf)
        return x * cdf

    @staticmethod
    def backward(ctx, grad):
        x, cdf = ctx.saved_tensors
        if grad_mode.enabled:  # create_graph: Phi as a recorded op of x
            cdf = (Erf.apply(x * SQRT1_2) + 1.0) * 0.5
        return grad * (cdf + x * normal_pdf(x))


class GeluTanh(Function):
    """GELU's tanh approximation: x/2 * (1 + t) with t = tanh(K (x + C x**3)), K = sqrt(2/pi);
    slope (1 + t)/2 + x/2 * (1 - t**2) * K * (1 + 3 C x**2)."""

    display_name = "GeluBackward"

    @staticmethod
    def forward(ctx, x):
        xc = np.clip(x, -GELU_TANH_CAP, GELU_TANH_CAP)
        t = np.tanh(GELU_K * (xc + GELU_C * xc * xc * xc))
        ctx.save_for_backward(x, t)
        return 0.5 * x * (1.0 + t)

    @staticmethod
    def backward(ctx, grad):
        x, t = ctx.saved_tensors
        xc = x.clamp(-GELU_TANH_CAP, GELU_TANH_CAP)  # past the cap 1 - t**2 is 0, and x**2 may overflow
        if grad_mode.enabled:
            t = ((xc + xc * xc * xc * GELU_C) * GELU_K).tanh()
        slope = (t + 1.0) * 0.5 + xc * (1.0 - t * t) * (xc * xc * (3.0 * GELU_C) + 1.0) * (0.5 * GELU_K)
        return grad * slope


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)), accurate at both ends; for x < -88 (float32) exp(-x) overflows to inf and
    the result is the right 0, so that overflow is not worth a warning. (Faster than the reading
    path's ``stable_sigmoid``, whose np.where over a random mask costs more than the exp.)"""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


class Silu(Function):
    """SiLU (swish): x * sigmoid(x); slope s * (1 + x * (1 - s)) with s = sigmoid(x)."""

    @staticmethod
    def forward(ctx, x):
        s = sigmoid(x)
        ctx.save_for_backward(x, s)
        return x * s

    @staticmethod
    def backward(ctx, grad):
        x, s = ctx.saved_tensors
        if grad_mode.enabled:
            s = x.sigmoid()
        return grad * s * (x * (1.0 - s) + 1.0)


class Mish(Function):
    """Mish: x * tanh(softplus(x)); slope t + x * sigmoid(x) * (1 - t**2) with t = tanh(softplus(x)).

    With u = exp(x), t = tanh(log(1 + u)) = ((1 + u)**2 - 1) / ((1 + u)**2 + 1) = n / (n + 2) for
    n = u (u + 2): no log1p, no tanh, and accurate for very negative x (t ~ u). Past x = 20, t is 1
    in float64 already (past 5 in float16), so x is capped there and u * u cannot overflow."""

    @staticmethod
    def forward(ctx, x):
        u = np.exp(np.minimum(x, 5.0 if x.dtype == np.float16 else 20.0))
        n = u * (u + 2.0)
        t = n / (n + 2.0)
        ctx.save_for_backward(x, t, u / (u + 1.0))  # t and sigmoid(x) = u / (1 + u)
        return x * t

    @staticmethod
    def backward(ctx, grad):
        x, t, s = ctx.saved_tensors
        if grad_mode.enabled:
            t = Softplus.apply(x, beta=1.0, threshold=math.inf).tanh()
            s = x.sigmoid()
        return grad * (t + x * s * (1.0 - t * t))


class Elu(Function):
    """ELU: x where x > 0, else alpha * (exp(x * s) - 1) (s = 1; CELU has s = 1/alpha); slope 1
    where x > 0, else alpha * s * exp(x * s). (Not s * (y + alpha) from the output y: near -alpha
    that sum cancels, and float32 would keep only a few digits of the slope.)"""

    @staticmethod
    def forward(ctx, x, alpha, input_scale=1.0):
        # max(x, 0) + alpha * (exp(min(x, 0) s) - 1): each term is 0 where the other applies
        out = np.maximum(x, 0) + alpha * np.expm1(np.minimum(x, 0) * input_scale)
        ctx.alpha, ctx.input_scale, ctx.positive = alpha, input_scale, x > 0
        ctx.save_for_backward(x)
        return out

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        s = ctx.input_scale
        left = (x.clamp(max=0.0) * s).exp() * (ctx.alpha * s)  # exp only of non-positive numbers
        return Where.apply(grad, grad * left, cond=ctx.positive)


class Celu(Elu):
    """CELU(x) = max(0, x) + min(0, alpha * (exp(x / alpha) - 1)): ELU with input scale 1/alpha,
    so its slope is 1 at 0 from both sides (continuously differentiable, hence the C)."""


class Hardtanh(Function):
    """clamp(x, min_val, max_val), with slope 1 strictly inside and 0 elsewhere (at the ends too,
    as in PyTorch; ``clamp``'s slope at the ends is 1)."""

    @staticmethod
    def forward(ctx, x, min_val, max_val):
        if ctx.needs_input_grad[0]:
            ctx.inside = (x > min_val) & (x < max_val)
        return np.clip(x, min_val, max_val)

    @staticmethod
    def backward(ctx, grad):
        return grad * wrap(ctx.inside)


class Hardswish(Function):
    """x * relu6(x + 3) / 6: 0 for x <= -3, x for x >= 3, x (x + 3) / 6 between; slope x/3 + 1/2
    strictly between, 0 at and below -3, 1 at and above 3 (PyTorch's values at the kinks)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * (np.clip(x + 3.0, 0.0, 6.0) / 6.0)  # x * (...) / 6 would overflow near the max float

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        xa = x._data
        between = (xa > -3.0) & (xa < 3.0)
        outside = wrap((xa >= 3.0).astype(xa.dtype))  # 1 above, 0 below
        return grad * Where.apply(x * (1.0 / 3.0) + 0.5, outside, cond=between)


class Softsign(Function):
    """x / (1 + |x|); slope 1 / (1 + |x|)**2."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x / (1.0 + np.abs(x))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        r = 1.0 / (x.abs() + 1.0)
        return grad * r * r  # not grad / (1 + |x|)**2: the square overflows for |x| > 1e19 in float32
