"""Op-table rows for convolution, pooling and batch norm, with the straightforward NumPy
references (loops over output pixels are fine here: they are the readable definition).

Sizes stay tiny: gradcheck costs one forward per input element.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st
from optable import OpRow, array, layout

from tinygrad_ko.nn import functional as F
from tinygrad_ko.nn._conv_functional import avg_pool2d_with, conv2d_with, max_pool2d_with
from tinygrad_ko.ops.conv import AvgPool2d, Conv2d, MaxPool2d, batch_norm_train

S = st.composite


# ---- references ---------------------------------------------------------------------------------
def conv_pads(padding, kernel, dilation):
    """(top, bottom, left, right) for an int / pair / 'same' / 'valid' padding."""
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        th, tw = dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)
        return (th // 2, th - th // 2, tw // 2, tw - tw // 2)
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    return (ph, ph, pw, pw)


def _two(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def ref_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """out[n, o, i, j] = b[o] + sum over the window of x * w[o], the window of group o // (O/G)."""
    sh, sw = _two(stride)
    dh, dw = _two(dilation)
    o_ch, cg, kh, kw = w.shape
    pt, pb, pl, pr = conv_pads(padding, (kh, kw), (dh, dw))
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    n, _, hp, wp = xp.shape
    ho = (hp - dh * (kh - 1) - 1) // sh + 1
    wo = (wp - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, o_ch, ho, wo), dtype=np.result_type(x, w))
    og = o_ch // groups
    for b_i in range(n):
        for o in range(o_ch):
            g = o // og
            for i in range(ho):
                for j in range(wo):
                    patch = xp[
                        b_i,
                        g * cg : (g + 1) * cg,
                        i * sh : i * sh + dh * (kh - 1) + 1 : dh,
                        j * sw : j * sw + dw * (kw - 1) + 1 : dw,
                    ]
                    out[b_i, o, i, j] = np.sum(patch * w[o])
    if b is not None:
        out += b.reshape(-1, 1, 1)
    return out


def _pool_out(size, k, s, p, d, ceil_mode):
    span = size + 2 * p - d * (k - 1) - 1
    out = (math.ceil(span / s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def ref_max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Max over each window's taps that fall inside the input (padding is -inf)."""
    kh, kw = _two(kernel_size)
    sh, sw = _two(stride if stride is not None else kernel_size)
    ph, pw = _two(padding)
    dh, dw = _two(dilation)
    n, c, h, w = x.shape
    ho, wo = _pool_out(h, kh, sh, ph, dh, ceil_mode), _pool_out(w, kw, sw, pw, dw, ceil_mode)
    out = np.full((n, c, ho, wo), -np.inf, dtype=x.dtype)
    for i in range(ho):
        for j in range(wo):
            for a in range(kh):
                for b in range(kw):
                    r, q = i * sh - ph + a * dh, j * sw - pw + b * dw
                    if 0 <= r < h and 0 <= q < w:
                        out[:, :, i, j] = np.maximum(out[:, :, i, j], x[:, :, r, q])
    return out


def ref_avg_pool2d(
    x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None
):
    """PyTorch's definition: windows clipped to input + padding; the divisor is that window's size
    (count_include_pad) or the number of input elements in it."""
    kh, kw = _two(kernel_size)
    sh, sw = _two(stride if stride is not None else kernel_size)
    ph, pw = _two(padding)
    n, c, h, w = x.shape
    ho, wo = _pool_out(h, kh, sh, ph, 1, ceil_mode), _pool_out(w, kw, sw, pw, 1, ceil_mode)
    out = np.zeros((n, c, ho, wo), dtype=x.dtype)
    for i in range(ho):
        for j in range(wo):
            h0, w0 = i * sh - ph, j * sw - pw
            h1, w1 = min(h0 + kh, h + ph), min(w0 + kw, w + pw)
            size = (h1 - h0) * (w1 - w0)
            h0, w0, h1, w1 = max(h0, 0), max(w0, 0), min(h1, h), min(w1, w)
            total = x[:, :, h0:h1, w0:w1].sum(axis=(2, 3))
            div = divisor_override or (size if count_include_pad else (h1 - h0) * (w1 - w0))
            out[:, :, i, j] = total / div
    return out


def ref_adaptive_avg_pool2d(x, output_size):
    oh, ow = _two(output_size)
    n, c, h, w = x.shape
    out = np.zeros((n, c, oh, ow), dtype=x.dtype)
    for i in range(oh):
        for j in range(ow):
            h0, h1 = (i * h) // oh, math.ceil((i + 1) * h / oh)
            w0, w1 = (j * w) // ow, math.ceil((j + 1) * w / ow)
            out[:, :, i, j] = x[:, :, h0:h1, w0:w1].mean(axis=(2, 3))
    return out


def ref_batch_norm_train(x, w=None, b=None, eps=1e-5):
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    out = (x - mean) / np.sqrt(var + eps)
    if w is not None:
        out = out * w.reshape(shape)
    if b is not None:
        out = out + b.reshape(shape)
    return out


def ref_batch_norm_eval(x, w, b, rm, rv, eps=1e-5):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return (x - rm.reshape(shape)) / np.sqrt(rv.reshape(shape) + eps) * w.reshape(shape) + b.reshape(shape)


# ---- strategies ---------------------------------------------------------------------------------
@S
def conv_case(draw):
    """x, w, bias-or-None and hyper-parameters for conv2d, valid by construction."""
    groups = draw(st.sampled_from([1, 1, 2]))
    cg, og, n = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    kind = draw(st.sampled_from(["int", "pair", "same", "valid"]))
    if kind == "same":
        stride, padding = (1, 1), "same"
    else:
        stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
        padding = {
            "int": draw(st.integers(0, 2)),
            "pair": (draw(st.integers(0, 1)), draw(st.integers(0, 2))),
            "valid": "valid",
        }[kind]
    pt, pb, pl, pr = conv_pads(padding, (kh, kw), dilation)
    min_h = max(1, dilation[0] * (kh - 1) + 1 - pt - pb)
    min_w = max(1, dilation[1] * (kw - 1) + 1 - pl - pr)
    h, w = draw(st.integers(min_h, min_h + 2)), draw(st.integers(min_w, min_w + 2))
    x = draw(array((n, cg * groups, h, w)))
    weight = draw(array((og * groups, cg, kh, kw)))
    bias = draw(st.one_of(st.none(), array((og * groups,))))
    return x, weight, bias, stride, padding, dilation, groups


@S
def distinct_images(draw, min_side=1, max_side=5, max_channels=2):
    """(N, C, H, W) values without ties (max-pool gradients are defined only away from ties)."""
    shape = (
        draw(st.integers(1, 2)),
        draw(st.integers(1, max_channels)),
        draw(st.integers(min_side, max_side)),
        draw(st.integers(min_side, max_side)),
    )
    size = int(np.prod(shape))
    order = draw(st.permutations(list(range(size))))
    return draw(layout((np.array(order, dtype=np.float64) * 0.37 - size * 0.1).reshape(shape)))


@S
def max_pool_case(draw):
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    ceil_mode = draw(st.booleans())
    # at least the effective kernel: every window then holds a real (non -inf) element
    side = max(d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1)
    x = draw(distinct_images(min_side=side, max_side=side + 2))
    return x, k, s, p, d, ceil_mode


@S
def avg_pool_case(draw):
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = draw(st.sampled_from([None, (1, 1), (2, 1), (2, 3)]))
    p = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
    ceil_mode, include = draw(st.booleans()), draw(st.booleans())
    divisor = draw(st.sampled_from([None, None, 3]))
    h = draw(st.integers(max(1, k[0] - 2 * p[0]), k[0] + 2))
    w = draw(st.integers(max(1, k[1] - 2 * p[1]), k[1] + 2))
    x = draw(array((draw(st.integers(1, 2)), draw(st.integers(1, 2)), h, w)))
    return x, k, s, p, ceil_mode, include, divisor


@S
def adaptive_case(draw, general_only=False):
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    x = draw(array((draw(st.integers(1, 2)), draw(st.integers(1, 2)), h, w)))
    if general_only:  # sizes that do not divide the input: the matrix-product path
        size = (
            draw(st.sampled_from([o for o in range(1, 6) if h % o] or [h])),
            draw(st.sampled_from([o for o in range(1, 6) if w % o] or [w])),
        )
    else:
        size = draw(st.sampled_from([1, (1, 1), (2, 3), (3, 2), 4]))
    return x, size


@S
def batch_norm_case(draw, affine=None):
    rank = draw(st.sampled_from([2, 3, 4]))
    c = draw(st.integers(1, 3))
    n = draw(st.integers(2, 3)) if rank == 2 else draw(st.integers(1, 2))
    spatial = tuple(draw(st.integers(2, 3)) for _ in range(rank - 2))
    # values spread out enough that the variance is not tiny (keeps finite differences sane)
    x = draw(array((n, c) + spatial, lo=-3.0, hi=3.0))
    x = x + np.linspace(-1.0, 1.0, x.size).reshape(x.shape)
    with_w = draw(st.booleans()) if affine is None else affine
    w = draw(array((c,), lo=0.5, hi=2.0)) if with_w else None
    b = draw(array((c,))) if with_w else None
    return x, w, b


@S
def batch_norm_eval_case(draw):
    x, w, b = draw(batch_norm_case(affine=True))
    c = x.shape[1]
    rm = draw(array((c,)))
    rv = draw(array((c,), lo=0.5, hi=2.0))
    return x, w, b, rm, rv


def _tg_bn_eval(x, w, b, rm, rv):
    return F.batch_norm(x, rm, rv, w, b, training=False)


ROWS = [
    OpRow(
        "conv2d",
        lambda x, w, b, s, p, d, g: F.conv2d(x, w, b, s, p, d, g),
        conv_case(),
        ref_conv2d,
        covers=("TunedConv2d",),
        gradgrad=False,
    ),
    OpRow(
        "conv2d_weight_only",
        lambda x, w, b, s, p, d, g: F.conv2d(x, w, b, s, p, d, g),
        conv_case(),
        ref_conv2d,
        covers=("TunedConv2d",),
        differentiable=(1,),
        gradgrad=False,
    ),
    OpRow(
        "conv2d_input_only",
        lambda x, w, b, s, p, d, g: F.conv2d(x, w, b, s, p, d, g),
        conv_case(),
        ref_conv2d,
        covers=("TunedConv2d",),
        differentiable=(0,),
        gradgrad=False,
    ),
    OpRow(
        "max_pool2d",
        lambda x, k, s, p, d, c: F.max_pool2d(x, k, s, p, d, c),
        max_pool_case(),
        ref_max_pool2d,
        covers=("TunedMaxPool2d",),
        gradgrad=False,
    ),
    OpRow(
        "avg_pool2d",
        lambda x, k, s, p, c, i, d: F.avg_pool2d(x, k, s, p, c, i, d),
        avg_pool_case(),
        ref_avg_pool2d,
        covers=("TunedAvgPool2d",),
        gradgrad=False,
    ),
    OpRow(
        "adaptive_avg_pool2d",
        F.adaptive_avg_pool2d,
        adaptive_case(),
        ref_adaptive_avg_pool2d,
        covers=("TunedAvgPool2d",),
        gradgrad=False,
    ),
    # sizes that do not divide the input go through Tensor matmuls: twice differentiable
    OpRow(
        "adaptive_avg_pool2d_general", F.adaptive_avg_pool2d, adaptive_case(general_only=True), ref_adaptive_avg_pool2d
    ),
    OpRow(
        "batch_norm_train",
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        batch_norm_case(),
        ref_batch_norm_train,
        covers=("TunedBatchNorm",),
        gradgrad=False,
        atol=1e-4,
    ),
    # the reading path's reference ops, behind the same argument handling
    OpRow(
        "conv2d_reference",
        lambda x, w, b, s, p, d, g: conv2d_with(Conv2d, x, w, b, s, p, d, g),
        conv_case(),
        ref_conv2d,
        covers=("Conv2d",),
        gradgrad=False,
    ),
    OpRow(
        "max_pool2d_reference",
        lambda x, k, s, p, d, c: max_pool2d_with(MaxPool2d, x, k, s, p, d, c),
        max_pool_case(),
        ref_max_pool2d,
        covers=("MaxPool2d",),
        gradgrad=False,
    ),
    OpRow(
        "avg_pool2d_reference",
        lambda x, k, s, p, c, i, d: avg_pool2d_with(AvgPool2d, x, k, s, p, c, i, d),
        avg_pool_case(),
        ref_avg_pool2d,
        covers=("AvgPool2d",),
        gradgrad=False,
    ),
    # Tensor ops: twice differentiable
    OpRow("batch_norm_train_reference", batch_norm_train, batch_norm_case(), ref_batch_norm_train, atol=1e-4),
    OpRow(
        "batch_norm_eval",
        _tg_bn_eval,
        batch_norm_eval_case(),
        ref_batch_norm_eval,
        differentiable=(0, 1, 2),
    ),
]
