"""``nn.functional``'s embedding, layer norm and scaled dot-product attention.

``embedding`` checks its indices and calls the Embedding op (``tinygrad_ko.ops.embedding``).
``layer_norm`` and ``scaled_dot_product_attention`` are compositions of Tensor ops, written as
PyTorch's documentation defines them, so autograd differentiates them any number of times.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..ops.embedding import Embedding
from ..random import default_generator
from ..tensor import Tensor, wrap

__all__ = ["embedding", "layer_norm", "scaled_dot_product_attention"]

_INDEX_DTYPES = (np.dtype(np.int64), np.dtype(np.int32))


def _shape(a: Any) -> list[int]:
    return list(np.shape(a._data if isinstance(a, Tensor) else a))


# ---- embedding -----------------------------------------------------------------------------------
def _padding_idx(padding_idx: int | None, num_embeddings: int) -> int | None:
    """A padding_idx in [-num_embeddings, num_embeddings) as a row number (PyTorch's rule)."""
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise AssertionError(
            f"Padding_idx must be within num_embeddings (padding_idx={padding_idx}, num_embeddings={num_embeddings})"
        )
    return padding_idx + num_embeddings if padding_idx < 0 else padding_idx


def _renorm_rows(weight: Tensor, index: np.ndarray, max_norm: float, norm_type: float) -> None:
    """Scale the looked-up rows whose ``norm_type`` norm exceeds ``max_norm`` down to it, in place
    and outside autograd (PyTorch's embedding_renorm_)."""
    rows = np.unique(index)
    w = weight._data
    norms = (np.abs(w[rows].astype(np.float64)) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    big = norms > max_norm
    if big.any():
        w[rows[big]] *= (max_norm / (norms[big] + 1e-7)).astype(w.dtype)[:, None]
        weight._version.value += 1


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Rows of ``weight`` (num_embeddings, embedding_dim) picked by the integer ``input``:
    output shape ``input.shape + (embedding_dim,)``, like ``torch.nn.functional.embedding``.

    Gradients of repeated indices add up in their row; the ``padding_idx`` row gets none.
    ``max_norm`` renormalises the looked-up rows of ``weight`` in place first.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"embedding(): argument 'indices' (position 2) must be Tensor, not {type(input).__name__}")
    index = input._data
    if index.dtype not in _INDEX_DTYPES:
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; "
            f"but got {input.dtype} instead (while checking arguments for embedding)"
        )
    if weight._data.ndim != 2:
        raise RuntimeError(f"'weight' must be 2-D (num_embeddings, embedding_dim), got weight of size {_shape(weight)}")
    if sparse:
        raise NotImplementedError("embedding: sparse=True (sparse gradients) is not supported; use sparse=False")
    num = weight._data.shape[0]
    if index.size:
        lo, hi = int(index.min()), int(index.max())
        if lo < 0 or hi >= num:
            bad = lo if lo < 0 else hi
            raise IndexError(
                f"index out of range in self: embedding got index {bad}, but the weight has {num} rows "
                f"(valid indices are 0 to {num - 1})"
            )
    padding_idx = _padding_idx(padding_idx, num)
    if max_norm is not None:
        _renorm_rows(weight, index, max_norm, norm_type)
    return Embedding.apply(
        weight, index=index.astype(np.intp, copy=False), padding_idx=padding_idx, scale_grad_by_freq=scale_grad_by_freq
    )


# ---- layer norm ----------------------------------------------------------------------------------
def _normalized_shape(normalized_shape: Any) -> tuple[int, ...]:
    if isinstance(normalized_shape, (int, np.integer)):
        return (int(normalized_shape),)
    return tuple(int(n) for n in normalized_shape)


def layer_norm(
    input: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise over the last ``len(normalized_shape)`` dims: ``(x - mean) / sqrt(var + eps)``
    with the *biased* variance, then ``* weight + bias`` (elementwise, of shape normalized_shape),
    like ``torch.nn.functional.layer_norm``."""
    shape = _normalized_shape(normalized_shape)
    x = input._data
    if not shape:
        raise RuntimeError(
            "Expected normalized_shape to be at least 1-dimensional, i.e., containing at least one element, "
            "but got normalized_shape = []"
        )
    if x.shape[x.ndim - len(shape) :] != shape or x.ndim < len(shape):
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape [*, {', '.join(map(str, shape))}], "
            f"but got input of size{list(x.shape)}"
        )
    if x.dtype.kind != "f":
        raise RuntimeError(f"layer_norm: expected a floating point input, got {input.dtype}")
    for what, t in (("weight", weight), ("bias", bias)):
        if t is None:
            continue
        if t._data.shape != shape:
            raise RuntimeError(
                f"Expected {what} to be of same shape as normalized_shape, but got {what} of shape "
                f"{_shape(t)} and normalized_shape = {list(shape)}"
            )
        if t._data.dtype != x.dtype:
            raise RuntimeError(f"layer_norm: {what} ({t.dtype}) must have the input's dtype ({input.dtype})")
    dims = tuple(range(x.ndim - len(shape), x.ndim))
    if math.prod(shape) == 0:  # nothing to normalise over (and no mean of an empty slice)
        out = input * 1.0
    else:
        centred = input - input.mean(dims, keepdim=True)
        out = centred * ((centred * centred).mean(dims, keepdim=True) + eps).rsqrt()
    if weight is not None:
        out = out * weight
    return out if bias is None else out + bias


# ---- attention -----------------------------------------------------------------------------------
def _repeat_heads(t: Tensor, times: int) -> Tensor:
    """Each head (dim -3) ``times`` times in a row: PyTorch's repeat_interleave(times, dim=-3)."""
    if times == 1:
        return t
    *batch, heads, s, e = t.shape
    return t.unsqueeze(-3).expand(*batch, heads, times, s, e).reshape(*batch, heads * times, s, e)


def _check_attention(query: Any, key: Any, value: Any, attn_mask: Any, is_causal: bool, dropout_p: float) -> None:
    op = "scaled_dot_product_attention"
    q, k, v = query._data, key._data, value._data
    if min(q.ndim, k.ndim, v.ndim) < 2:
        raise RuntimeError(
            "Expected query, key, and value to all be  at least 2 dimensional, but got "
            f"query.dim: {q.ndim} key.dim: {k.ndim} and value.dim: {v.ndim} instead."
        )
    if not q.dtype == k.dtype == v.dtype:
        raise RuntimeError(
            "Expected query, key, and value to have the same dtype, but got "
            f"query.dtype: {query.dtype} key.dtype: {key.dtype} and value.dtype: {value.dtype} instead."
        )
    if q.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected floating point query, key and value, got {query.dtype}")
    if q.shape[-1] != k.shape[-1]:
        raise RuntimeError(
            f"{op}: query {list(q.shape)} and key {list(k.shape)} must have the same embedding size (last dim)"
        )
    if k.shape[-2] != v.shape[-2]:
        raise RuntimeError(
            f"{op}: key {list(k.shape)} and value {list(v.shape)} must have the same sequence length (dim -2)"
        )
    if attn_mask is not None:
        if is_causal:
            raise RuntimeError(
                "_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True"
            )
        m = attn_mask._data.dtype
        if m.kind != "b" and m != q.dtype and m != np.float32:
            raise RuntimeError(
                "Expected attn_mask dtype to be bool or float or to match query dtype, but got "
                f"attn_mask.dtype: {attn_mask.dtype} and  query.dtype: {query.dtype} instead."
            )
    if not 0.0 <= dropout_p <= 1.0:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """``softmax(query @ key^T * scale + bias) @ value``, like
    ``torch.nn.functional.scaled_dot_product_attention``.

    query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev); scale defaults to
    1/sqrt(E). A bool ``attn_mask`` (broadcast to (..., L, S)) says which keys each query may
    attend to (True: attend); a float one is added to the scores. ``is_causal`` lets query i
    attend to keys 0..i (the top-left lower triangle). A query that may attend to nothing gets
    zeros (and zero gradients), as PyTorch's gives. ``dropout_p`` applies dropout to the
    attention weights whenever it is > 0 (pass 0 in eval). ``enable_gqa`` repeats key and value
    heads (dim -3) to match the query's.
    """
    _check_attention(query, key, value, attn_mask, is_causal, dropout_p)
    if enable_gqa:
        hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
        if hq % hk or hq % hv:
            raise RuntimeError(
                f"Number of heads in key and value must divide the number of heads in query "
                f"(query {hq}, key {hk}, value {hv} heads)"
            )
        key, value = _repeat_heads(key, hq // hk), _repeat_heads(value, hq // hv)
    length, source = query.shape[-2], key.shape[-2]
    factor = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = query @ key.transpose(-2, -1) * factor
    if source == 0:  # no keys: (..., L, 0) @ (..., 0, Ev) is zeros, as PyTorch gives
        return scores @ value
    if is_causal:
        scores = scores.masked_fill(wrap(~np.tri(length, source, dtype=bool)), -math.inf)
    if attn_mask is not None:
        if attn_mask._data.dtype.kind == "b":
            scores = scores.masked_fill(wrap(~attn_mask._data), -math.inf)
        else:
            scores = scores + attn_mask
    dead = np.isneginf(scores._data).all(axis=-1, keepdims=True)  # rows that attend to nothing
    if dead.any():
        blocked = wrap(dead)
        weights = scores.masked_fill(blocked, 0.0).softmax(-1).masked_fill(blocked, 0.0)
    else:
        weights = scores.softmax(-1)
    if dropout_p > 0.0:
        dt = weights._data.dtype
        keep = default_generator().random(weights.shape, dtype=dt) >= dropout_p
        kept = 0.0 if dropout_p == 1.0 else 1.0 / (1.0 - dropout_p)
        weights = weights * wrap(keep.astype(dt) * dt.type(kept))
    return weights @ value
