"""The tuned ops that tinygrad_ko runs: reading-path ops whose forward and/or backward are
computed by the kernels of ``tinygrad_ko.kernels``.

Each class computes what its base in the reading path computes (``tests/test_kernels.py`` checks
that), and keeps the node name users see in ``grad_fn``. Convolution, pooling and batch norm run
their kernels always (they are once differentiable, like their references). Linear, relu and
cross-entropy run their backward kernel under a plain ``backward()`` and their base's backward
(Tensor operations) under ``create_graph=True``, so higher-order gradients still work.
"""

from __future__ import annotations

from typing import Any

from ..autograd.function import Function
from ..autograd.grad_mode import state as grad_mode
from ..kernels import batchnorm as batchnorm_kernels
from ..kernels import conv as conv_kernels
from ..kernels import dense as dense_kernels
from ..kernels import pool as pool_kernels
from ..tensor import wrap
from .conv import AvgPool2d, Conv2d, MaxPool2d
from .elementwise import Relu
from .linalg import Linear
from .loss import CrossEntropy

__all__ = [
    "TunedConv2d",
    "TunedMaxPool2d",
    "TunedAvgPool2d",
    "TunedBatchNorm",
    "TunedLinear",
    "TunedRelu",
    "TunedCrossEntropy",
]


def _tensor_or_none(array: Any) -> Any:
    return None if array is None else wrap(array)


class TunedConv2d(Conv2d):
    """:class:`Conv2d` by im2col + BLAS in cache-sized blocks (see ``tinygrad_ko.kernels.conv``)."""

    display_name = "ConvolutionBackward"

    @staticmethod
    def forward(ctx, x, w, *bias, stride, padding, dilation, groups):
        out, saved, ctx.geom = conv_kernels.conv2d_forward(
            x, w, bias[0] if bias else None, stride, padding, dilation, groups, ctx.needs_input_grad[1]
        )
        ctx.save_for_backward(*saved)
        return out

    @staticmethod
    def backward(ctx, grad):
        needs = ctx.needs_input_grad
        with_bias = len(needs) > 2
        grads = conv_kernels.conv2d_backward(
            grad._data, ctx.saved_arrays(), ctx.geom, needs[0], needs[1], with_bias and needs[2]
        )
        return tuple(_tensor_or_none(g) for g in grads[: 3 if with_bias else 2])


class TunedMaxPool2d(MaxPool2d):
    """:class:`MaxPool2d` with fast paths for windows that tile the input (see ``kernels.pool``)."""

    display_name = "MaxPool2DWithIndicesBackward"

    @staticmethod
    def forward(ctx, x, kernel, stride, dilation, padding, out_size):
        out, saved, geom = pool_kernels.max_pool2d_forward(
            x, kernel, stride, dilation, padding, out_size, ctx.needs_input_grad[0]
        )
        if saved:
            ctx.geom = geom
            ctx.save_for_backward(*saved)
        return out

    @staticmethod
    def backward(ctx, grad):
        return wrap(pool_kernels.max_pool2d_backward(grad._data, ctx.saved_arrays(), ctx.geom))


class TunedAvgPool2d(AvgPool2d):
    """:class:`AvgPool2d` as one strided add per kernel offset (see ``kernels.pool``)."""

    display_name = "AvgPool2DBackward"

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, out_size, divisor):
        out, ctx.geom = pool_kernels.avg_pool2d_forward(x, kernel, stride, padding, out_size, divisor)
        return out

    @staticmethod
    def backward(ctx, grad):
        return wrap(pool_kernels.avg_pool2d_backward(grad._data, ctx.geom))


class TunedBatchNorm(Function):
    """Training-mode batch norm over dims (0, 2, 3, ...) with the batch statistics, fused: computes
    what ``tinygrad_ko.ops.conv.batch_norm_train`` computes, as one node.

    Inputs: x (N, C, *), then the weight (C,) and the bias (C,) when ``affine`` says they are
    given. When ``running`` is (running_mean, running_var, momentum) the running buffers (Tensors)
    are updated in place with the batch mean and the *unbiased* batch variance, like PyTorch.
    """

    once_differentiable = True
    display_name = "NativeBatchNormBackward"

    @staticmethod
    def forward(ctx, x, *params, affine, eps, running):
        has_w, has_b = affine
        w = params[0] if has_w else None
        b = params[-1] if has_b else None
        out, mean, var, xhat, invstd = batchnorm_kernels.batch_norm_forward(x, w, b, eps, ctx.needs_input_grad[0])
        if running is not None:
            rm, rv, momentum = running
            m = xhat.shape[0] * xhat.shape[2]
            unbiased = var * (m / (m - 1))
            for buf, stat in ((rm, mean), (rv, unbiased)):
                if buf is not None:
                    arr = buf._data
                    arr *= 1 - momentum
                    arr += momentum * stat.astype(arr.dtype, copy=False)
                    buf._version.value += 1
        ctx.affine = affine
        ctx.save_for_backward(xhat, invstd, w)
        return out

    @staticmethod
    def backward(ctx, grad):
        xhat, invstd, w = ctx.saved_arrays()
        needs = ctx.needs_input_grad
        gx, sum_gx, sum_g = batchnorm_kernels.batch_norm_backward(grad._data, xhat, invstd, w, needs[0])
        grads: list[Any] = [_tensor_or_none(gx)]
        has_w, has_b = ctx.affine
        if has_w:
            grads.append(wrap(sum_gx) if needs[1] else None)
        if has_b:
            grads.append(wrap(sum_g) if needs[-1] else None)
        return tuple(grads) if len(grads) > 1 else grads[0]


class TunedLinear(Linear):
    """:class:`Linear` with its backward's three products straight on the arrays (``kernels.dense``)."""

    display_name = "LinearBackward"

    @staticmethod
    def backward(ctx, grad):
        if grad_mode.enabled:  # create_graph: the reading path's formula, recorded
            return Linear.backward(ctx, grad)
        x, w = ctx.saved_arrays()
        grads = dense_kernels.linear_backward(grad._data, x, w, ctx.x_shape, ctx.needs_input_grad)
        return tuple(_tensor_or_none(g) for g in grads)


class TunedRelu(Relu):
    """:class:`Relu` whose backward writes ``grad * (out > 0)`` in one buffer (``kernels.dense``)."""

    display_name = "ReluBackward"

    @staticmethod
    def backward(ctx, grad):
        if grad_mode.enabled:
            return Relu.backward(ctx, grad)
        (out,) = ctx.saved_arrays()
        return wrap(dense_kernels.relu_backward(grad._data, out))


class TunedCrossEntropy(CrossEntropy):
    """:class:`CrossEntropy` whose backward is one NumPy expression (``kernels.dense``)."""

    display_name = "CrossEntropyBackward"

    @staticmethod
    def backward(ctx, grad):
        if grad_mode.enabled:
            return CrossEntropy.backward(ctx, grad)
        ctx.saved_arrays()  # checks the logits were not changed in place since forward
        return wrap(dense_kernels.cross_entropy_backward(grad._data, ctx.log_probs, ctx.row_weight, ctx.target))
