"""Convolution and pooling layers: Conv1d, Conv2d, ConvTranspose2d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d.

The functions are in ``nn.functional``; these Modules hold the hyper-parameters and the learnable
weight and bias, with PyTorch's names, defaults, initialisation and reprs.
"""

from __future__ import annotations

from typing import Any

from ..api import dtypes
from ..api.creation import empty
from ..ops.conv_transpose import transposed_output_size
from ..tensor import Tensor
from . import functional
from .layers import reset_fan_in_uniform
from .module import Module
from .parameter import Parameter

__all__ = ["Conv1d", "Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d"]


def _ntuple(value: Any, n: int, what: str, layer: str) -> tuple[int, ...]:
    """An int or a sequence of ``n`` ints -> a tuple of ``n`` ints (PyTorch's ``_single``/``_pair``)."""
    if isinstance(value, (tuple, list)):
        if len(value) != n:
            raise ValueError(f"{layer}: {what} must be an int or {n} ints, got {tuple(value)}")
        return tuple(int(v) for v in value)
    return (int(value),) * n


class _ConvNd(Module):
    """What Conv1d, Conv2d and ConvTranspose2d share (its signature is Conv1d's and Conv2d's, with
    PyTorch's defaults): arguments as tuples of ``_dims`` ints,
    groups, the weight and bias, PyTorch's default init and repr.

    The weight is (out_channels, in_channels // groups, *kernel_size), or for a transposed
    convolution (in_channels, out_channels // groups, *kernel_size). PyTorch's default init:
    kaiming_uniform_(a=sqrt(5)) for the weight, i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with
    fan_in = weight.shape[1] * kernel elements, and the same bound for the bias.
    """

    _dims = 2
    _transposed = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
        output_padding: Any = 0,
    ) -> None:
        super().__init__()
        name, n = type(self).__name__, self._dims
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError(f"in_channels must be divisible by groups (in_channels={in_channels}, groups={groups})")
        if out_channels % groups != 0:
            raise ValueError(f"out_channels must be divisible by groups (out_channels={out_channels}, groups={groups})")
        if padding_mode != "zeros":
            if padding_mode not in ("reflect", "replicate", "circular"):
                raise ValueError(
                    f"padding_mode must be one of ['zeros', 'reflect', 'replicate', 'circular'], but got padding_mode='{padding_mode}'"
                )
            if self._transposed:
                raise ValueError(f'Only "zeros" padding mode is supported for {name}')
            raise NotImplementedError(f"{name}: padding_mode={padding_mode!r} is not supported (only 'zeros')")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _ntuple(kernel_size, n, "kernel_size", name)
        self.stride = _ntuple(stride, n, "stride", name)
        self.dilation = _ntuple(dilation, n, "dilation", name)
        if isinstance(padding, str):
            if self._transposed:
                raise ValueError(f"{name}: padding must be an int or {n} ints; 'same' and 'valid' are for Conv layers")
            if padding not in ("valid", "same"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
            if padding == "same" and self.stride != (1,) * n:
                raise ValueError("padding='same' is not supported for strided convolutions")
            self.padding: Any = padding
        else:
            self.padding = _ntuple(padding, n, "padding", name)
        self.output_padding = _ntuple(output_padding, n, "output_padding", name)
        self.groups = groups
        self.padding_mode = padding_mode
        np_dtype = dtypes.float32 if dtype is None else dtype
        shape = (in_channels, out_channels // groups) if self._transposed else (out_channels, in_channels // groups)
        self.weight = Parameter(empty(*shape, *self.kernel_size, dtype=np_dtype))
        if bias:
            self.bias = Parameter(empty(out_channels, dtype=np_dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        reset_fan_in_uniform(self.weight, self.bias, bias_without_fan_in=False)

    def extra_repr(self) -> str:
        n = self._dims
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if isinstance(self.padding, str):
            s += f", padding={self.padding}"
        elif self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Conv2d(_ConvNd):
    """2-D convolution: ``out[n, o] = bias[o] + sum_c weight[o, c] (cross-correlated with) x[n, c]``.

    weight has shape (out_channels, in_channels // groups, kH, kW); init as in ``_ConvNd``.
    ``padding`` is an int, a pair, ``"valid"`` (no padding) or ``"same"`` (stride 1 only).
    """

    def forward(self, input: Tensor) -> Tensor:
        return functional.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv1d(_ConvNd):
    """1-D convolution over (N, C, L) or unbatched (C, L) input: weight (out_channels,
    in_channels // groups, kernel_size); ``padding`` an int, ``"valid"`` or ``"same"``."""

    _dims = 1

    def forward(self, input: Tensor) -> Tensor:
        return functional.conv1d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class ConvTranspose2d(_ConvNd):
    """2-D transposed convolution ("deconvolution"): the gradient of a Conv2d with respect to its
    input, used to upsample. weight has shape (in_channels, out_channels // groups, kH, kW).

    Output size: ``(H - 1) * stride - 2 * padding + dilation * (kH - 1) + output_padding + 1``;
    ``forward(input, output_size)`` picks the output_padding that gives ``output_size``.
    """

    _transposed = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Any = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            device,
            dtype,
            output_padding,
        )

    def _output_padding(self, input: Tensor, output_size: Any) -> tuple[int, ...]:
        """The output_padding that gives ``output_size`` (spatial dims, or with N and C in front)."""
        if output_size is None:
            return self.output_padding
        size = [int(s) for s in output_size]
        spatial = list(input.shape[-2:])
        if input.dim() in (3, 4) and len(size) == input.dim():
            size = size[-2:]
        if len(size) != 2:
            raise ValueError(
                f"ConvTranspose2D: for {input.dim()}D input, output_size must have 2 or {input.dim()} elements "
                f"(got {len(output_size)})"
            )
        smallest = [
            transposed_output_size(
                spatial[d], self.kernel_size[d], self.stride[d], self.padding[d], self.dilation[d], 0
            )
            for d in range(2)
        ]
        largest = [smallest[d] + self.stride[d] - 1 for d in range(2)]
        if any(not lo <= s <= hi for s, lo, hi in zip(size, smallest, largest)):
            raise ValueError(
                f"requested an output size of {size}, but valid sizes range from {smallest} to {largest} "
                f"(for an input of {spatial})"
            )
        return tuple(s - lo for s, lo in zip(size, smallest))

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:
        return functional.conv_transpose2d(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self._output_padding(input, output_size),
            self.groups,
            self.dilation,
        )


class MaxPool2d(Module):
    """Max over kernel_size windows (stride defaults to kernel_size; padding pads with -inf).

    The gradient of each window goes to its first maximum, as in PyTorch.
    """

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        dilation: Any = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        if return_indices:
            raise NotImplementedError("MaxPool2d: return_indices=True is not supported")
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input: Tensor) -> Tensor:
        return functional.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode)

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class AvgPool2d(Module):
    """Mean over kernel_size windows; zero padding counts in the mean unless count_include_pad=False."""

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return functional.avg_pool2d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average-pools any H x W input to ``output_size`` (an int, a pair, None keeps that dim)."""

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return functional.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
