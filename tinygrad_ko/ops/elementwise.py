"""Elementwise ops: the chain rule one op at a time. For ``y = f(a, b)`` backward multiplies the
incoming gradient by the local derivative (``grad * b`` for ``a * b``, ``grad * y`` for ``exp``),
and where NumPy broadcast an input to the output's shape, ``unbroadcast`` sums the gradient back to
the input's shape. Backwards are Tensor operations, so ``create_graph=True`` differentiates them."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..tensor import wrap


def unbroadcast(grad: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``grad`` over the dims that broadcasting added or stretched, giving it ``shape``."""
    gshape = grad.shape
    if gshape == shape:
        return grad
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape) if s == 1 and gshape[i + lead] != 1)
    if axes:
        grad = grad.sum(axes)
    if grad.shape != shape:
        grad = grad.reshape(shape)
    return grad


# ---- binary tensor-tensor ops --------------------------------------------------------------
class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (a.shape, b.shape)
        return np.add(a, b)

    @staticmethod
    def backward(ctx, grad):
        sa, sb = ctx.shapes
        na, nb = ctx.needs_input_grad
        return (unbroadcast(grad, sa) if na else None, unbroadcast(grad, sb) if nb else None)


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (a.shape, b.shape)
        return np.subtract(a, b)

    @staticmethod
    def backward(ctx, grad):
        sa, sb = ctx.shapes
        na, nb = ctx.needs_input_grad
        return (unbroadcast(grad, sa) if na else None, unbroadcast(-grad, sb) if nb else None)


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        na, nb = ctx.needs_input_grad
        ctx.shapes = (a.shape, b.shape)
        # each gradient needs only the *other* input
        ctx.save_for_backward(b if na else None, a if nb else None)
        return np.multiply(a, b)

    @staticmethod
    def backward(ctx, grad):
        b, a = ctx.saved_tensors
        sa, sb = ctx.shapes
        na, nb = ctx.needs_input_grad
        return (unbroadcast(grad * b, sa) if na else None, unbroadcast(grad * a, sb) if nb else None)


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        out = a / b
        ctx.save_for_backward(a, b)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        return (
            unbroadcast(grad / b, a.shape) if na else None,
            unbroadcast(-grad * a / (b * b), b.shape) if nb else None,
        )


class Pow(Function):
    """a ** b with a tensor exponent."""

    @staticmethod
    def forward(ctx, a, b):
        out = np.power(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        ga = unbroadcast(grad * b * a ** (b - 1), a.shape) if na else None
        gb = None
        if nb:
            # d/db a**b = a**b * log(a); PyTorch defines it as 0 where a == 0 (and b >= 0)
            zero = wrap(np.zeros((), dtype=a._data.dtype))
            log_a = Where.apply(zero, a.log(), cond=a._data == 0)
            gb = unbroadcast(grad * out * log_a, b.shape)
        return ga, gb


class Maximum(Function):
    """Elementwise max; at ties the gradient is split evenly, as in PyTorch."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (a.shape, b.shape)
        ctx.save_for_backward(((a > b) + 0.5 * (a == b)).astype(np.result_type(a, b)))
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx, grad):
        (wa,) = ctx.saved_tensors
        sa, sb = ctx.shapes
        na, nb = ctx.needs_input_grad
        return (
            unbroadcast(grad * wa, sa) if na else None,
            unbroadcast(grad * (1 - wa), sb) if nb else None,
        )


class Minimum(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (a.shape, b.shape)
        ctx.save_for_backward(((a < b) + 0.5 * (a == b)).astype(np.result_type(a, b)))
        return np.minimum(a, b)

    backward = staticmethod(Maximum.backward)


class Where(Function):
    """where(cond, a, b); ``cond`` is a bool array attribute (not differentiable)."""

    @staticmethod
    def forward(ctx, a, b, cond):
        ctx.shapes = (a.shape, b.shape)
        ctx.cond = cond
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, grad):
        sa, sb = ctx.shapes
        na, nb = ctx.needs_input_grad
        zero = wrap(np.zeros((), dtype=grad._data.dtype))
        return (
            unbroadcast(Where.apply(grad, zero, cond=ctx.cond), sa) if na else None,
            unbroadcast(Where.apply(zero, grad, cond=ctx.cond), sb) if nb else None,
        )


# ---- tensor-scalar ops (the scalar is an attribute: no broadcasting, no unbroadcast) --------
class AddScalar(Function):
    display_name = "AddBackward"

    @staticmethod
    def forward(ctx, a, c):
        return np.add(a, c)  # the ufunc call is cheaper than the operator for small arrays

    @staticmethod
    def backward(ctx, grad):
        return grad


class MulScalar(Function):
    display_name = "MulBackward"

    @staticmethod
    def forward(ctx, a, c):
        ctx.c = c
        return np.multiply(a, c)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.c


class RSubScalar(Function):
    """c - a"""

    display_name = "RsubBackward"

    @staticmethod
    def forward(ctx, a, c):
        return c - a

    @staticmethod
    def backward(ctx, grad):
        return -grad


class RDivScalar(Function):
    """c / a"""

    display_name = "DivBackward"

    @staticmethod
    def forward(ctx, a, c):
        out = c / a
        ctx.c = c
        ctx.save_for_backward(a)
        return out

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * (-ctx.c) / (a * a)


class PowScalar(Function):
    """a ** c for a Python number c."""

    display_name = "PowBackward"

    @staticmethod
    def forward(ctx, a, c):
        ctx.c = c
        ctx.save_for_backward(a)
        if c == 2:
            return a * a
        return np.power(a, c)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        c = ctx.c
        if c == 2:
            return grad * 2.0 * a
        if c == 1:
            return grad
        if c == 0:
            return grad * 0.0
        return grad * c * a ** (c - 1)


class RPowScalar(Function):
    """c ** a for a Python number c."""

    display_name = "PowBackward"

    @staticmethod
    def forward(ctx, a, c):
        out = np.power(np.asarray(c, dtype=a.dtype), a)
        ctx.log_c = float(np.log(c)) if c > 0 else float("nan") if c < 0 else float("-inf")
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out * ctx.log_c


# ---- unary ops ------------------------------------------------------------------------------
class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Abs(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * a.sign()


class Exp(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out


class Log(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / a


class Sqrt(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad / (out * 2.0)


class Rsqrt(Function):
    @staticmethod
    def forward(ctx, a):
        out = 1.0 / np.sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out * out * out * -0.5


class Sin(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.sin(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * a.cos()


class Cos(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.cos(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return -grad * a.sin()


class Tanh(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.tanh(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (1.0 - out * out)


def stable_sigmoid(a: np.ndarray) -> np.ndarray:
    """1/(1+exp(-a)) without overflow: exp is only taken of non-positive numbers."""
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(a.dtype, copy=False)


class Sigmoid(Function):
    @staticmethod
    def forward(ctx, a):
        out = stable_sigmoid(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out * (1.0 - out)


class Relu(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.maximum(a, 0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (out > 0)  # the slope: 1 where the input was positive, else 0


class Clamp(Function):
    @staticmethod
    def forward(ctx, a, lo, hi):
        out = np.clip(a, lo, hi)
        if ctx.needs_input_grad[0]:
            inside = np.ones(a.shape, dtype=bool)
            if lo is not None:
                inside &= a >= lo
            if hi is not None:
                inside &= a <= hi
            ctx.save_for_backward(inside)
        return out

    @staticmethod
    def backward(ctx, grad):
        (inside,) = ctx.saved_tensors
        return grad * inside._data


class Cast(Function):
    """Dtype conversion between float types; the gradient is cast back."""

    @staticmethod
    def forward(ctx, a, dtype):
        ctx.src = a.dtype
        return a.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return Cast.apply(grad, dtype=ctx.src)


class Copy(Function):
    """clone() / contiguous(): a fresh contiguous copy with identity gradient."""

    @staticmethod
    def forward(ctx, a):
        return np.array(a, copy=True, order="C")

    @staticmethod
    def backward(ctx, grad):
        return grad
