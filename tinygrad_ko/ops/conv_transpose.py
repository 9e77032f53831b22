"""Transposed convolution: the input gradient of conv2d, used as an op of its own.

conv2d reads each output pixel from a kernel-sized window of its input. Its input gradient goes
the other way: each pixel of the gradient is spread over a kernel-sized patch, weighted by the
kernel, and overlapping patches add up -- ``w^T @ x`` per pixel, then col2im (the adjoint of
im2col, see ``ops.conv``). ``conv_transpose2d(x, w)`` is exactly that map, which is why it
"upsamples": stride s puts the patches s pixels apart. ``kernels.conv_transpose`` computes it.

Because it is conv2d's adjoint, its own gradients are conv2ds: for out = conv_transpose2d(x, w),
``<out, g> = <x, conv2d(g, w)>``, so the input's gradient is ``conv2d(g, w)`` and the weight's is
conv2d's weight gradient with ``g`` as the image and ``x`` as the output gradient -- itself a
conv2d of ``g`` with ``x`` as the kernel (stride and dilation trade places). Backward calls the
tuned conv2d op on Tensors, so ``create_graph=True`` records it and double backward works (the
third derivative would go through conv2d's NumPy backward, which raises the clear
once-differentiable error).
"""

from __future__ import annotations

from ..autograd.function import Function
from ..kernels import conv_transpose as conv_transpose_kernels
from .tuned import TunedConv2d

__all__ = ["ConvTranspose2d", "transposed_output_size"]

Pair = tuple[int, int]


def transposed_output_size(
    size: int, kernel: int, stride: int, padding: int, dilation: int, output_padding: int
) -> int:
    """PyTorch's H_out = (H_in - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


class ConvTranspose2d(Function):
    """out[n, g*O/G + o] = bias + sum over the group's input channels c of the patches
    ``x[n, c, y, x] * w[c, o]`` placed at (y*sh - ph, x*sw - pw) with taps dilation apart.

    Inputs x (N, C, H, W), w (C, O/G, kh, kw) -- PyTorch's layout: input channels first -- and an
    optional bias (O,). ``padding`` crops the full output by (ph, pw) on each side;
    ``output_padding`` adds rows/columns at the bottom/right that only the bias reaches.
    """

    display_name = "ConvolutionBackward"

    @staticmethod
    def forward(ctx, x, w, *bias, stride, padding, dilation, groups, out_hw):
        out = conv_transpose_kernels.conv_transpose2d_forward(
            x, w, bias[0] if bias else None, stride, padding, dilation, groups, out_hw
        )
        ctx.geom = (stride, padding, dilation, groups, x.shape[2:])
        ctx.save_for_backward(x, w)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        stride, (ph, pw), dilation, groups, (h, wd) = ctx.geom
        needs = ctx.needs_input_grad
        pads = (ph, ph, pw, pw)
        grad_x = grad_w = grad_b = None
        if needs[0]:
            # conv2d(g, w) covers every input pixel; with output_padding >= stride it has a row or
            # column more (read only from the output padding), which is not an input pixel
            grad_x = TunedConv2d.apply(grad, w, stride=stride, padding=pads, dilation=dilation, groups=groups)
            if grad_x.shape[2:] != (h, wd):
                grad_x = grad_x[:, :, :h, :wd]
        if needs[1]:
            grad_w = _weight_grad(x, grad, w.shape, stride, pads, dilation, groups)
        if len(needs) > 2 and needs[2]:
            grad_b = grad.sum((0, 2, 3))
        return (grad_x, grad_w) if len(needs) == 2 else (grad_x, grad_w, grad_b)


def _weight_grad(x, g, w_shape, stride, pads, dilation, groups):
    """grad_w[c, o, i, j] = sum over n, y, x of x[n, c, y, x] * g_padded[n, o', y*sh + i*dh, x*sw + j*dw]
    (o' = o in c's group): a conv2d of g, images and channels swapped, with x as the kernel.

    The "image" is g as (O/G, G*N, H', W') and the kernel x as (C, N, H, W) with ``groups``
    groups, so image n of group g meets kernel channel n of output c; the kernel's step over
    the image is the transposed convolution's stride, so stride and dilation trade places.
    """
    c, og, kh, kw = w_shape
    n = x.shape[0]
    if n == 0:
        return g.new_zeros(w_shape)
    image = g.reshape(n, groups, og, *g.shape[2:]).permute(2, 1, 0, 3, 4).reshape(og, groups * n, *g.shape[2:])
    kernel = x.permute(1, 0, 2, 3)
    out = TunedConv2d.apply(image, kernel, stride=dilation, padding=pads, dilation=stride, groups=groups)
    if out.shape[2:] != (kh, kw):  # output_padding >= dilation gives taps that only meet it
        out = out[:, :, :kh, :kw]
    return out.permute(1, 0, 2, 3)
