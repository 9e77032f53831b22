"""Op-table rows for conv1d, conv_transpose2d, embedding, layer_norm and scaled dot-product
attention, with NumPy references written from PyTorch's documented definitions (loops over
positions are fine here: they are the readable definition). Sizes stay tiny: gradcheck costs one
forward per input element, gradgradcheck one backward per output element.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st
from optable import OpRow, array

import tinygrad_ko as tg
from tinygrad_ko.nn import functional as F

S = st.composite


# ---- references ---------------------------------------------------------------------------------
def ref_conv1d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """out[n, o, i] = b[o] + sum over c, j of x_padded[n, g*C/G + c, i*stride + j*dilation] * w[o, c, j]."""
    o_ch, cg, k = w.shape
    if padding == "valid":
        left = right = 0
    elif padding == "same":
        total = dilation * (k - 1)
        left, right = total // 2, total - total // 2
    else:
        left = right = padding
    xp = np.pad(x, ((0, 0), (0, 0), (left, right)))
    length = (xp.shape[2] - dilation * (k - 1) - 1) // stride + 1
    out = np.zeros((x.shape[0], o_ch, length))
    og = o_ch // groups
    for o in range(o_ch):
        g = o // og
        for i in range(length):
            taps = xp[:, g * cg : (g + 1) * cg, i * stride : i * stride + dilation * (k - 1) + 1 : dilation]
            out[:, o, i] = (taps * w[o]).sum(axis=(1, 2))
    return out if b is None else out + b.reshape(1, -1, 1)


def ref_conv_transpose2d(x, w, b=None, stride=(1, 1), padding=(0, 0), output_padding=(0, 0), groups=1, dilation=(1, 1)):
    """Each input pixel (y, x) of channel c adds x * w[c, o] to the output at
    (y*sh + i*dh - ph, x*sw + j*dw - pw) for every tap (i, j); output size as PyTorch documents."""
    n, c, h, wd = x.shape
    _, og, kh, kw = w.shape
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = stride, padding, output_padding, dilation
    ho = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    wo = (wd - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    out = np.zeros((n, og * groups, ho, wo))
    cg = c // groups
    for ci in range(c):
        g = ci // cg
        for y in range(h):
            for xx in range(wd):
                for i in range(kh):
                    for j in range(kw):
                        oy, ox = y * sh + i * dh - ph, xx * sw + j * dw - pw
                        if 0 <= oy < ho and 0 <= ox < wo:
                            out[:, g * og : (g + 1) * og, oy, ox] += x[:, ci, y, xx, None] * w[ci, :, i, j]
    return out if b is None else out + b.reshape(1, -1, 1, 1)


def ref_layer_norm(x, shape, w=None, b=None, eps=1e-5):
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    out = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    if w is not None:
        out = out * w
    return out if b is None else out + b


def ref_attention(q, k, v, mask=None, is_causal=False, scale=None):
    """softmax(q k^T * scale + bias) v; a bool mask's False and the causal mask's upper triangle
    are -inf in the bias; a query row with nothing to attend to gives zeros."""
    scores = q @ np.swapaxes(k, -1, -2) * (1 / math.sqrt(q.shape[-1]) if scale is None else scale)
    allowed = np.ones(scores.shape, dtype=bool)
    if is_causal:
        allowed &= np.tri(q.shape[-2], k.shape[-2], dtype=bool)
    if mask is not None and mask.dtype == bool:
        allowed = allowed & mask
    elif mask is not None:
        scores = scores + mask
    scores = np.where(allowed, scores, -np.inf)
    out = np.zeros(scores.shape)
    for idx in np.ndindex(scores.shape[:-1]):
        row = scores[idx]
        if np.isfinite(row).any():
            e = np.exp(row - row[np.isfinite(row)].max())
            out[idx] = e / e.sum()
    return out @ v


def ref_embedding(w, idx):
    return w[idx]


# ---- strategies ---------------------------------------------------------------------------------
@S
def conv1d_case(draw):
    groups = draw(st.sampled_from([1, 1, 2]))
    cg, og, n, k = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 3))
    dilation = draw(st.integers(1, 2))
    padding = draw(st.sampled_from([0, 1, 2, "same", "valid"]))
    stride = 1 if padding == "same" else draw(st.integers(1, 2))
    pad = dilation * (k - 1) if padding == "same" else 0 if padding == "valid" else 2 * padding
    length = draw(st.integers(max(1, dilation * (k - 1) + 1 - pad), dilation * (k - 1) + 3))
    x = draw(array((n, cg * groups, length)))
    w = draw(array((og * groups, cg, k)))
    b = draw(st.one_of(st.none(), array((og * groups,))))
    return x, w, b, stride, padding, dilation, groups


@S
def conv_transpose_case(draw):
    groups = draw(st.sampled_from([1, 1, 2]))
    cg, og, n = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 2)))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 1)), draw(st.integers(0, 1)))
    out_pad = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    # at least one output pixel: (size-1)*s - 2p + d*(k-1) + op + 1 >= 1
    sizes = []
    for k, s, d, p, op in zip(kernel, stride, dilation, padding, out_pad):
        smallest = next(size for size in range(1, 8) if (size - 1) * s - 2 * p + d * (k - 1) + op + 1 >= 1)
        sizes.append(draw(st.integers(smallest, smallest + 1)))
    x = draw(array((n, cg * groups, *sizes)))
    w = draw(array((cg * groups, og, *kernel)))
    b = draw(st.one_of(st.none(), array((og * groups,))))
    return x, w, b, stride, padding, out_pad, groups, dilation


@S
def embedding_case(draw):
    num, dim = draw(st.integers(1, 5)), draw(st.integers(1, 3))
    w = draw(array((num, dim)))
    idx_shape = draw(st.sampled_from([(), (3,), (2, 3), (0,)]))
    idx = np.array(
        draw(st.lists(st.integers(0, num - 1), min_size=math.prod(idx_shape), max_size=math.prod(idx_shape)))
    )
    return w, idx.reshape(idx_shape).astype(np.int64)


@S
def layer_norm_case(draw):
    rank = draw(st.integers(1, 3))
    shape = tuple(draw(st.integers(1, 3)) for _ in range(rank - 1)) + (draw(st.integers(2, 4)),)
    k = draw(st.integers(1, rank))
    normalized = shape[rank - k :]
    # spread-out values keep the variance away from zero (finite differences stay sane)
    x = draw(array(shape)) + np.linspace(-2.0, 2.0, math.prod(shape)).reshape(shape)
    affine = draw(st.sampled_from(["none", "weight", "both"]))
    w = draw(array(normalized, lo=0.5, hi=2.0)) if affine != "none" else None
    b = draw(array(normalized)) if affine == "both" else None
    return x, normalized, w, b


@S
def attention_case(draw):
    batch = draw(st.sampled_from([(), (2,), (1, 2)]))
    length, source, e, ev = (draw(st.integers(1, 3)) for _ in range(4))
    q = draw(array((*batch, length, e), lo=-1.0, hi=1.0))
    k = draw(array((*batch, source, e), lo=-1.0, hi=1.0))
    v = draw(array((*batch, source, ev)))
    kind = draw(st.sampled_from(["none", "causal", "bool", "float"]))
    mask = None
    if kind == "bool":  # may leave a query with nothing to attend to
        mask = np.array(draw(st.lists(st.booleans(), min_size=length * source, max_size=length * source)))
        mask = mask.reshape(length, source)
    elif kind == "float":
        mask = draw(array((length, source), lo=-1.0, hi=1.0))
    scale = draw(st.sampled_from([None, 0.5]))
    return q, k, v, mask, kind == "causal", scale


def _embedding(w, idx):
    # padding_idx and scale_grad_by_freq change the gradient on purpose (it is then no longer the
    # derivative finite differences measure): tests/test_nn_layers_more.py checks those
    return F.embedding(tg.from_numpy(idx), w)


def _attention(q, k, v, mask, is_causal, scale):
    if isinstance(mask, np.ndarray):  # a bool mask (float masks arrive as Tensors)
        mask = tg.from_numpy(mask)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal, scale=scale)


ROWS = [
    OpRow(
        "conv1d",
        lambda x, w, b, s, p, d, g: F.conv1d(x, w, b, s, p, d, g),
        conv1d_case(),
        ref_conv1d,
        gradgrad=False,  # conv2d's backward is a NumPy kernel
    ),
    OpRow(
        "conv_transpose2d",
        lambda x, w, b, s, p, op, g, d: F.conv_transpose2d(x, w, b, s, p, op, g, d),
        conv_transpose_case(),
        ref_conv_transpose2d,
        covers=("ConvTranspose2d",),
    ),
    OpRow("embedding", _embedding, embedding_case(), ref_embedding, covers=("Embedding", "EmbeddingDenseBackward")),
    OpRow("layer_norm", F.layer_norm, layer_norm_case(), ref_layer_norm, atol=1e-4),
    OpRow("scaled_dot_product_attention", _attention, attention_case(), ref_attention, atol=1e-4),
]
