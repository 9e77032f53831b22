"""``nn.functional``'s convolution, pooling, batch norm and channel dropout: argument handling.

These wrappers parse PyTorch's arguments (ints or pairs, ``padding='same'``/``'valid'``, unbatched
input, ceil mode), check shapes and dtypes with errors that name them, and work out the
geometry (padding as (top, bottom, left, right), output size, average-pool divisors) that the ops
take. The ops are the tuned ones of ``tinygrad_ko.ops.tuned``; the ``*_with`` forms take the op as
an argument, so the reading path's reference ops (``tinygrad_ko.ops.conv``) run behind the same
argument handling. conv1d is conv2d on a one-pixel-high image; conv_transpose2d is conv2d's input
gradient (``tinygrad_ko.ops.conv_transpose``).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import state as grad_mode
from ..ops.conv_transpose import ConvTranspose2d, transposed_output_size
from ..ops.tuned import TunedAvgPool2d, TunedBatchNorm, TunedConv2d, TunedMaxPool2d
from ..random import default_generator
from ..tensor import Tensor, wrap

__all__ = [
    "conv1d",
    "conv2d",
    "conv_transpose2d",
    "conv2d_with",
    "max_pool2d",
    "max_pool2d_with",
    "avg_pool2d",
    "avg_pool2d_with",
    "adaptive_avg_pool2d",
    "batch_norm",
    "dropout2d",
]


def _pair(value: Any, what: str, op: str) -> tuple[int, int]:
    """An int or a pair of ints -> a pair of ints (PyTorch's ``_pair``)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{op}: {what} must be an int or a pair of ints, got {tuple(value)}")
        return int(value[0]), int(value[1])
    return int(value), int(value)


def _shape(a: np.ndarray) -> list[int]:
    return list(a.shape)


def _check_float(x: Any, op: str) -> None:
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating point input, got {x.dtype} of shape {_shape(x._data)}")


def _is_unbatched(x: Any, op: str, spatial: int = 2) -> bool:
    """True when ``x`` is an unbatched (C, *spatial) input; raises on any rank but spatial + 1 or + 2."""
    nd = x._data.ndim
    if nd == spatial + 2:
        return False
    if nd == spatial + 1:
        return True
    raise RuntimeError(
        f"Expected {spatial + 1}D (unbatched) or {spatial + 2}D (batched) input to {op}, "
        f"but got input of size: {_shape(x._data)}"
    )


def _ntuple(value: Any, n: int, what: str) -> tuple[int, ...]:
    """An int or a sequence of ``n`` ints -> ``n`` ints, with PyTorch's error for other lengths."""
    if isinstance(value, (tuple, list)):
        if len(value) != n:
            raise RuntimeError(
                f"expected {what} to be a single integer value or a list of {n} values to match the "
                f"convolution dimensions, but got {what}={list(value)}"
            )
        return tuple(int(v) for v in value)
    return (int(value),) * n


def _conv_padding(
    padding: Any, kernel: tuple[int, int], dilation: tuple[int, int], stride: tuple[int, int], op: str = "conv2d"
) -> tuple[int, int, int, int]:
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise ValueError(f"{op}: padding='same' is not supported for strided convolutions")
            # total padding d*(k-1); the odd one out goes to the bottom/right, like PyTorch
            th, tw = dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)
            return (th // 2, th - th // 2, tw // 2, tw - tw // 2)
        raise ValueError(f"{op}: invalid padding string {padding!r}, expected 'valid' or 'same'")
    ph, pw = _pair(padding, "padding", op)
    if ph < 0 or pw < 0:
        raise ValueError(f"{op}: negative padding is not supported, got {(ph, pw)}")
    return (ph, ph, pw, pw)


def _check_conv_operands(op: str, input: Any, weight: Any, bias: Any, groups: int, transposed: bool = False) -> None:
    """Ranks, dtypes, groups, channels and bias of a convolution of the batched ``input``, in
    PyTorch's words. The weight is (out, in/groups, *kernel), or (in, out/groups, *kernel)
    when ``transposed``."""
    x, w = input._data, weight._data
    spatial = x.ndim - 2
    if w.ndim != x.ndim:
        layout = "in_channels, out_channels/groups" if transposed else "out_channels, in_channels/groups"
        kernel = {1: "kW", 2: "kH, kW"}.get(spatial, "*kernel")
        raise RuntimeError(f"{op}: expected a {x.ndim}-D weight ({layout}, {kernel}), got weight of size {_shape(w)}")
    if x.dtype != w.dtype or (bias is not None and bias._data.dtype != x.dtype):
        bdt = f", bias {bias.dtype}" if bias is not None else ""
        raise RuntimeError(f"{op}: input ({input.dtype}), weight ({weight.dtype}){bdt} must have the same dtype")
    _check_float(input, op)
    if groups < 1 or w.shape[0] % groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
            f"but got weight of size {_shape(w)} instead"
        )
    given = "transposed=1" if transposed else f"groups={groups}"
    in_channels = w.shape[0] if transposed else w.shape[1] * groups
    if x.shape[1] != in_channels:
        raise RuntimeError(
            f"Given {given}, weight of size {_shape(w)}, expected input{_shape(x)} to have "
            f"{in_channels} channels, but got {x.shape[1]} channels instead"
        )
    out_channels = w.shape[1] * groups if transposed else w.shape[0]
    if bias is not None and bias._data.shape != (out_channels,):
        raise RuntimeError(
            f"Given {'transposed=1, ' if transposed else ''}weight of size {_shape(w)}, expected bias to be "
            f"1-dimensional with {out_channels} elements, but got bias of size {_shape(bias._data)} instead"
        )


def _check_kernel_fits(op: str, x: np.ndarray, w: np.ndarray, pads: tuple, dilation: tuple) -> None:
    """The dilated kernel must fit in the padded input (pads: (before, after) per spatial dim)."""
    spatial = x.ndim - 2
    padded = [x.shape[2 + i] + pads[2 * i] + pads[2 * i + 1] for i in range(spatial)]
    extent = [dilation[i] * (w.shape[2 + i] - 1) + 1 for i in range(spatial)]
    if any(p < e for p, e in zip(padded, extent)):
        raise RuntimeError(
            f"{op}: calculated padded input size per channel: ({' x '.join(map(str, padded))}). Kernel size: "
            f"({' x '.join(map(str, extent))}). Kernel size can't be greater than actual input size "
            f"(input {_shape(x)}, weight {_shape(w)}, padding {pads[::2]}, dilation {dilation})"
        )


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """2-D convolution over an NCHW (or unbatched CHW) input, like ``torch.nn.functional.conv2d``."""
    return conv2d_with(TunedConv2d, input, weight, bias, stride, padding, dilation, groups)


def conv2d_with(
    op: type[Function],
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: int,
) -> Tensor:
    """:func:`conv2d` computed by ``op``: the tuned op, or the reading path's ``Conv2d``."""
    unbatched = _is_unbatched(input, "conv2d")
    if unbatched:
        input = input.unsqueeze(0)
    _check_conv_operands("conv2d", input, weight, bias, groups)
    st = _pair(stride, "stride", "conv2d")
    dl = _pair(dilation, "dilation", "conv2d")
    if min(st) < 1 or min(dl) < 1:
        raise ValueError(f"conv2d: stride {st} and dilation {dl} must be positive")
    pads = _conv_padding(padding, weight._data.shape[2:], dl, st)
    _check_kernel_fits("conv2d", input._data, weight._data, pads, dl)
    args = (input, weight) if bias is None else (input, weight, bias)
    out = op.apply(*args, stride=st, padding=pads, dilation=dl, groups=groups)
    return out.squeeze(0) if unbatched else out


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """1-D convolution over an (N, C, L) (or unbatched (C, L)) input, like ``torch.nn.functional.conv1d``.

    It is the 2-D convolution of a one-pixel-high image: input (N, C, 1, L), weight (O, C/G, 1, k).
    ``padding`` is an int, a 1-element sequence, ``"valid"`` or ``"same"`` (stride 1 only).
    """
    unbatched = _is_unbatched(input, "conv1d", spatial=1)
    if unbatched:
        input = input.unsqueeze(0)
    _check_conv_operands("conv1d", input, weight, bias, groups)
    (st,), (dl,) = _ntuple(stride, 1, "stride"), _ntuple(dilation, 1, "dilation")
    if st < 1 or dl < 1:
        raise ValueError(f"conv1d: stride ({st}) and dilation ({dl}) must be positive")
    if isinstance(padding, str):
        pads = _conv_padding(padding, (1, weight._data.shape[2]), (1, dl), (1, st), "conv1d")
    else:
        (p,) = _ntuple(padding, 1, "padding")
        if p < 0:
            raise ValueError(f"conv1d: negative padding is not supported, got {p}")
        pads = (0, 0, p, p)
    _check_kernel_fits("conv1d", input._data, weight._data, pads[2:], (dl,))
    args = (input.unsqueeze(2), weight.unsqueeze(2)) + (() if bias is None else (bias,))
    out = TunedConv2d.apply(*args, stride=(1, st), padding=pads, dilation=(1, dl), groups=groups).squeeze(2)
    return out.squeeze(0) if unbatched else out


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """2-D transposed convolution ("deconvolution"), like ``torch.nn.functional.conv_transpose2d``.

    weight is (in_channels, out_channels/groups, kH, kW); the output size is
    ``(H - 1) * stride - 2 * padding + dilation * (kH - 1) + output_padding + 1`` (and so for W).
    It computes the gradient of ``conv2d(y, weight, None, stride, padding, dilation, groups)``
    with respect to y (see ``tinygrad_ko.ops.conv_transpose``).
    """
    op = "conv_transpose2d"
    unbatched = _is_unbatched(input, op)
    if unbatched:
        input = input.unsqueeze(0)
    if isinstance(padding, str):
        raise TypeError(f"{op}(): argument 'padding' must be tuple of ints, not str")
    _check_conv_operands(op, input, weight, bias, groups, transposed=True)
    st, pd = _pair(stride, "stride", op), _pair(padding, "padding", op)
    opad, dl = _pair(output_padding, "output_padding", op), _pair(dilation, "dilation", op)
    if min(st) < 1:
        raise RuntimeError(f"{op}: non-positive stride is not supported, got stride={st}")
    if min(dl) < 1:
        raise RuntimeError(f"{op}: dilation should be greater than zero, got dilation={dl}")
    if min(pd) < 0:
        raise RuntimeError(f"{op}: negative padding is not supported, got padding={pd}")
    if min(opad) < 0 or any(p >= max(s, d) for p, s, d in zip(opad, st, dl)):
        raise RuntimeError(
            "output padding must be smaller than either stride or dilation, but got "
            f"output_padding_height: {opad[0]} output_padding_width: {opad[1]} stride_height: {st[0]} "
            f"stride_width: {st[1]} dilation_height: {dl[0]} dilation_width: {dl[1]}"
        )
    x, w = input._data, weight._data
    if x.shape[2] == 0 or x.shape[3] == 0:
        raise RuntimeError(
            f"{op}: Only zero batch or zero channel inputs are supported, but got input shape: {_shape(x)}"
        )
    out_hw = tuple(transposed_output_size(x.shape[2 + i], w.shape[2 + i], st[i], pd[i], dl[i], opad[i]) for i in (0, 1))
    if min(out_hw) < 1:
        raise RuntimeError(
            f"{op}: the output size ({out_hw[0]} x {out_hw[1]}) is too small: input {_shape(x)}, weight "
            f"{_shape(w)}, stride {st}, padding {pd}, dilation {dl}, output_padding {opad}"
        )
    args = (input, weight) if bias is None else (input, weight, bias)
    out = ConvTranspose2d.apply(*args, stride=st, padding=pd, dilation=dl, groups=groups, out_hw=out_hw)
    return out.squeeze(0) if unbatched else out


def _pool_geometry(
    op: str,
    shape: tuple[int, ...],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    ceil_mode: bool,
) -> tuple[tuple[int, int, int, int], int, int]:
    """(top, bottom, left, right) padding and the output size of a pooling window sweep.

    In ceil mode the last window may start inside the right/bottom padding (never beyond it); the
    extra room it needs is added to the bottom/right padding.
    """
    pads = []
    outs = []
    for size, k, s, p, d in zip(shape[2:], kernel, stride, padding, dilation):
        eff = d * (k - 1) + 1
        if k < 1 or s < 1 or d < 1 or p < 0:
            raise ValueError(
                f"{op}: kernel_size, stride and dilation must be positive and padding >= 0, got kernel {kernel}, stride {stride}, padding {padding}, dilation {dilation}"
            )
        if 2 * p > eff:
            raise RuntimeError(
                f"{op}: pad should be at most half of effective kernel size, but got pad={p}, "
                f"kernel_size={k} and dilation={d}"
            )
        span = size + 2 * p - eff
        out = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (out - 1) * s >= size + p:
            out -= 1  # the last window must start inside the input or the left padding
        if out < 1:  # (in ceil mode a kernel wider than the padded input still gives one window)
            raise RuntimeError(
                f"{op}: input of size {list(shape)} with padding {padding} is smaller than the "
                f"kernel {kernel} (dilation {dilation}): output size would be empty"
            )
        pads.append((p, max(p, (out - 1) * s + eff - size - p)))
        outs.append(out)
    return (pads[0][0], pads[0][1], pads[1][0], pads[1][1]), outs[0], outs[1]


def _pool_args(op: str, input: Any, kernel_size: Any, stride: Any, padding: Any, dilation: Any = 1) -> tuple:
    _check_float(input, op)
    k = _pair(kernel_size, "kernel_size", op)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) else _pair(stride, "stride", op)
    return k, s, _pair(padding, "padding", op), _pair(dilation, "dilation", op)


def max_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor:
    """2-D max pooling like ``torch.nn.functional.max_pool2d``; padding pads with -inf."""
    return max_pool2d_with(TunedMaxPool2d, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d_with(
    op: type[Function],
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor:
    """:func:`max_pool2d` computed by ``op``: the tuned op, or the reading path's ``MaxPool2d``."""
    if return_indices:
        raise NotImplementedError("max_pool2d: return_indices=True is not supported")
    unbatched = _is_unbatched(input, "max_pool2d")
    if unbatched:
        input = input.unsqueeze(0)
    k, s, p, d = _pool_args("max_pool2d", input, kernel_size, stride, padding, dilation)
    pads, ho, wo = _pool_geometry("max_pool2d", input._data.shape, k, s, p, d, ceil_mode)
    out = op.apply(input, kernel=k, stride=s, dilation=d, padding=pads, out_size=(ho, wo))
    return out.squeeze(0) if unbatched else out


def _avg_divisor(
    shape: tuple[int, ...],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    out_hw: tuple[int, int],
    count_include_pad: bool,
    dtype: np.dtype,
) -> Any:
    """The window sizes PyTorch divides by: windows are clipped to input + padding (ceil mode),
    and also to the input itself when ``count_include_pad`` is False."""
    counts = []
    for size, k, s, p, o in zip(shape[2:], kernel, stride, padding, out_hw):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, size + p)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, size)
        counts.append((end - start).astype(dtype))
    div = np.multiply.outer(counts[0], counts[1])
    if np.all(div == div.flat[0]):
        return dtype.type(div.flat[0])  # one number: the common case, cheaper to divide by
    return div


def avg_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """2-D average pooling like ``torch.nn.functional.avg_pool2d`` (zero padding)."""
    return avg_pool2d_with(
        TunedAvgPool2d, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )


def avg_pool2d_with(
    op: type[Function],
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """:func:`avg_pool2d` computed by ``op``: the tuned op, or the reading path's ``AvgPool2d``."""
    unbatched = _is_unbatched(input, "avg_pool2d")
    if unbatched:
        input = input.unsqueeze(0)
    k, s, p, _ = _pool_args("avg_pool2d", input, kernel_size, stride, padding)
    shape = input._data.shape
    pads, ho, wo = _pool_geometry("avg_pool2d", shape, k, s, p, (1, 1), ceil_mode)
    dtype = input._data.dtype
    if divisor_override is not None:
        if divisor_override == 0:
            raise RuntimeError("avg_pool2d: divisor must be not zero")
        divisor = dtype.type(divisor_override)
    else:
        divisor = _avg_divisor(shape, k, s, p, (ho, wo), count_include_pad, dtype)
    out = op.apply(input, kernel=k, stride=s, padding=pads, out_size=(ho, wo), divisor=divisor)
    return out.squeeze(0) if unbatched else out


def _adaptive_matrix(size: int, out: int, dtype: np.dtype) -> np.ndarray:
    """(out, size) averaging matrix over PyTorch's windows [floor(i*size/out), ceil((i+1)*size/out))."""
    i = np.arange(out)
    start = (i * size) // out
    end = -((-(i + 1) * size) // out)
    pos = np.arange(size)
    inside = (pos >= start[:, None]) & (pos < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def adaptive_avg_pool2d(input: Any, output_size: Any) -> Any:
    """Average pooling to a fixed output size, like ``torch.nn.functional.adaptive_avg_pool2d``.

    Output (1, 1) is a mean; sizes that divide the input are a plain avg_pool2d; any other size
    averages over PyTorch's overlapping windows, written as two small matrix products (the
    windows are rectangles, so the average is separable), which keeps it twice differentiable.
    """
    unbatched = _is_unbatched(input, "adaptive_avg_pool2d")
    if unbatched:
        input = input.unsqueeze(0)
    _check_float(input, "adaptive_avg_pool2d")
    n, c, h, w = input._data.shape
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != 2:
            raise ValueError(f"adaptive_avg_pool2d: output_size must be an int or a pair, got {tuple(output_size)}")
        oh = h if output_size[0] is None else int(output_size[0])
        ow = w if output_size[1] is None else int(output_size[1])
    else:
        oh = ow = int(output_size)
    if oh < 1 or ow < 1:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be positive, got {(oh, ow)}")
    if h == 0 or w == 0:
        raise RuntimeError(f"adaptive_avg_pool2d: expected non-empty spatial dims, got input of size {[n, c, h, w]}")
    if (oh, ow) == (h, w):
        out = input
    elif (oh, ow) == (1, 1):
        out = input.mean((2, 3), keepdim=True)
    elif h % oh == 0 and w % ow == 0:
        out = avg_pool2d(input, (h // oh, w // ow))
    else:
        dt = input._data.dtype
        rows = wrap(_adaptive_matrix(h, oh, dt))  # (oh, H)
        cols = wrap(_adaptive_matrix(w, ow, dt).T)  # (W, ow)
        out = rows @ input @ cols
    return out.squeeze(0) if unbatched else out


def batch_norm(
    input: Any,
    running_mean: Any,
    running_var: Any,
    weight: Any = None,
    bias: Any = None,
    training: bool = False,
    momentum: float | None = 0.1,
    eps: float = 1e-5,
) -> Any:
    """Batch normalisation like ``torch.nn.functional.batch_norm`` (channels on dim 1).

    Training normalises with the batch mean and biased variance, and updates the running buffers
    (when given) with ``momentum`` and the unbiased variance; otherwise the running statistics
    are used.
    """
    x = input._data
    if x.ndim < 2:
        raise RuntimeError(
            f"batch_norm: expected an input of at least 2 dims (N, C, ...), got input of size {_shape(x)}"
        )
    _check_float(input, "batch_norm")
    c = x.shape[1]
    for what, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)):
        if t is not None and t._data.shape != (c,):
            raise RuntimeError(
                f"batch_norm: {what} should contain {c} elements (the input's channels, input of "
                f"size {_shape(x)}), not {t._data.size} (shape {_shape(t._data)})"
            )
    if training:
        if x.size // c <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size {_shape(x)}")
        params = [t for t in (weight, bias) if t is not None]
        running = None
        if running_mean is not None or running_var is not None:
            running = (running_mean, running_var, 0.0 if momentum is None else momentum)
        return TunedBatchNorm.apply(
            input, *params, affine=(weight is not None, bias is not None), eps=eps, running=running
        )
    if running_mean is None or running_var is None:
        raise RuntimeError("batch_norm: running_mean and running_var must be given when training=False")
    # eval: a per-channel affine map, with Tensor ops (so it is differentiable any number of times)
    dt = x.dtype
    bshape = (1, c) + (1,) * (x.ndim - 2)
    invstd = (1 / np.sqrt(running_var._data + eps)).astype(dt, copy=False)
    rm = running_mean._data.astype(dt, copy=False)
    if weight is None:
        scale: Any = wrap(invstd)
        shift: Any = wrap(-rm * invstd)
    else:
        scale = weight * wrap(invstd)
        shift = scale * wrap(-rm)
    if bias is not None:
        shift = shift + bias
    return input * scale.reshape(bshape) + shift.reshape(bshape)


def dropout2d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Any:
    """Zero whole channels with probability ``p`` (scaling the rest by 1/(1-p)) in training.

    Input (N, C, H, W); a 3-D input is taken as (N, C, L), as PyTorch does (with a warning).
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    x = input._data
    if x.ndim not in (3, 4):
        raise RuntimeError(
            f"dropout2d: expected a 3D (N, C, L) or 4D (N, C, H, W) input, got input of size {_shape(x)}"
        )
    if x.ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
            "behavior is desired - input is interpreted as shape (N, C, L). Use dropout1d for 3D input.",
            stacklevel=2,
        )
    if not training or p == 0.0:
        return input
    mask_shape = x.shape[:2] + (1,) * (x.ndim - 2)
    if p == 1.0:
        mask = np.zeros(mask_shape, dtype=x.dtype)
    else:
        keep = default_generator().random(mask_shape) >= p
        mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - p))
    if inplace and not (grad_mode.enabled and input.requires_grad):
        x *= mask
        input._version.value += 1
        return input
    return input * wrap(mask)
