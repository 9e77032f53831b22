"""``nn.functional`` (``import tinygrad_ko.nn.functional as F``): layers and losses as functions.

The hot ones are single fused nodes: ``linear`` (``x @ W.T + b``) and ``cross_entropy``
(log-softmax + NLL). Convolution, pooling, batch norm and channel dropout are in
``_conv_functional``, imported here. The others are thin wrappers over Tensor methods. Wrappers validate their
arguments and raise errors that name the shapes and dtypes involved.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..api.creation import as_tensor, where
from ..api.creation import pad as pad  # F.pad, the same function as tinygrad_ko.pad
from ..ops import loss as _loss_ops
from ..ops.tuned import TunedCrossEntropy, TunedLinear
from ..random import default_generator
from ..tensor import Tensor, wrap
from ._conv_functional import (
    adaptive_avg_pool2d,
    avg_pool2d,
    batch_norm,
    conv1d,
    conv2d,
    conv_transpose2d,
    dropout2d,
    max_pool2d,
)
from ._more_functional import embedding, layer_norm, scaled_dot_product_attention

_REDUCTIONS = ("mean", "sum", "none")
_INT64 = np.dtype(np.int64)
_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}  # by itemsize


def _check_tensor(x: Any, name: str, op: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be a Tensor, not {type(x).__name__}")
    return x


def _check_reduction(reduction: str, op: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: {reduction} is not a valid value for reduction (expected 'mean', 'sum' or 'none')")


def _legacy_reduction(size_average: Any, reduce: Any, reduction: str) -> str:
    """PyTorch's deprecated size_average/reduce arguments, mapped to ``reduction``."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


# ---- linear --------------------------------------------------------------------------------------
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` in one node; ``input`` may have any number of leading dims."""
    x = input if isinstance(input, Tensor) else _check_tensor(input, "input", "linear")
    xd, wd = x._data, weight._data
    w_shape = wd.shape
    if len(w_shape) != 2:
        raise RuntimeError(f"linear: weight must be 2-D (out_features, in_features), got shape {tuple(wd.shape)}")
    if xd.ndim == 0 or xd.shape[-1] != w_shape[1]:
        rows = int(np.prod(xd.shape[:-1])) if xd.ndim > 1 else 1
        cols = xd.shape[-1] if xd.ndim else 1
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({rows}x{cols} and {wd.shape[1]}x{wd.shape[0]}): "
            f"input of shape {tuple(xd.shape)} into a linear layer with in_features={wd.shape[1]}"
        )
    dtype = wd.dtype
    if xd.dtype is not dtype and xd.dtype != dtype:  # (the same dtype is usually the same object)
        raise RuntimeError(
            f"mat1 and mat2 must have the same dtype, but got {x.dtype} input and {weight.dtype} weight "
            "(convert the input with .float(), or the model with .double())"
        )
    if bias is None:
        return TunedLinear.apply(x, weight)
    bd = bias._data
    if bd.shape != w_shape[:1] or (bd.dtype is not dtype and bd.dtype != dtype):
        raise RuntimeError(
            f"linear: bias must have shape ({wd.shape[0]},) and dtype {weight.dtype}, got shape "
            f"{tuple(bias._data.shape)} and dtype {bias.dtype}"
        )
    return TunedLinear.apply(x, weight, bias)


# ---- activations ---------------------------------------------------------------------------------
def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0). ``inplace`` is accepted for compatibility; the result is always a new tensor."""
    return input.relu()


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    return where(input > 0, input, input * negative_slope)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta * x)) / beta, stable for large |x|; the identity where beta * x > threshold."""
    return _loss_ops.Softplus.apply(input, beta=float(beta), threshold=float(threshold))


def sigmoid(input: Tensor) -> Tensor:
    return input.sigmoid()


def tanh(input: Tensor) -> Tensor:
    return input.tanh()


def _softmax_dim(ndim: int) -> int:
    warnings.warn(
        "Implicit dimension choice for softmax has been deprecated. Change the call to include dim=X as an argument.",
        stacklevel=3,
    )
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    x = input if dtype is None else input.to(dtype)
    return x.softmax(_softmax_dim(x.ndim) if dim is None else dim)


def log_softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    x = input if dtype is None else input.to(dtype)
    return x.log_softmax(_softmax_dim(x.ndim) if dim is None else dim)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Inverted dropout: zero each element with probability ``p`` and scale the rest by 1/(1-p),
    so the expected value is unchanged; the identity when not training."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    arr = input._data
    if p == 1.0:
        return input * wrap(np.zeros((), dtype=arr.dtype))
    dt = arr.dtype if arr.dtype in (np.float32, np.float64) else np.float32
    keep = default_generator().random(arr.shape, dtype=dt) >= p
    mask = keep.astype(arr.dtype) * arr.dtype.type(1.0 / (1.0 - p))
    return input * wrap(mask)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Class indices (any shape) -> int64 one-hot of shape ``tensor.shape + (num_classes,)``."""
    arr = tensor._data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if arr.dtype.kind not in "iu":
        raise RuntimeError(f"one_hot is only applicable to index tensor of type LongTensor (got dtype {arr.dtype}).")
    if arr.size and arr.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if num_classes == -1:
        if arr.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(arr.max()) + 1
    elif arr.size and arr.max() >= num_classes:
        raise RuntimeError(
            f"Class values must be smaller than num_classes (got class {int(arr.max())} with num_classes={num_classes})."
        )
    out = np.zeros(arr.shape + (num_classes,), dtype=np.int64)
    np.put_along_axis(out, arr[..., None].astype(np.int64), 1, axis=-1)
    return wrap(out)


# ---- regression losses ---------------------------------------------------------------------------
def _warn_shape(input: Tensor, target: Tensor, op: str) -> None:
    if input._data.shape != target._data.shape:
        warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size ({input.shape}). "
            "This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.",
            stacklevel=3,
        )


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _as_target(target: Any, like: Tensor) -> Tensor:
    if isinstance(target, Tensor):
        return target
    return as_tensor(np.asarray(target, dtype=like._data.dtype))


def mse_loss(
    input: Tensor,
    target: Tensor,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """mean((input - target) ** 2) (or sum / none); warns when the shapes differ (broadcasting)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, "mse_loss")
    target = _as_target(target, input)
    _warn_shape(input, target, "mse_loss")
    diff = input - target
    return _reduce(diff * diff, reduction)


def l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """mean(|input - target|) (or sum / none)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, "l1_loss")
    target = _as_target(target, input)
    _warn_shape(input, target, "l1_loss")
    return _reduce((input - target).abs(), reduction)


# ---- classification losses ------------------------------------------------------------------------
def _class_weight(weight: Any, n_cls: int, dtype: np.dtype, op: str) -> np.ndarray | None:
    if weight is None:
        return None
    w = weight._data if isinstance(weight, Tensor) else np.asarray(weight)
    if w.shape != (n_cls,):
        raise RuntimeError(
            f"{op}: weight tensor should be defined either for all {n_cls} classes or no classes but got weight tensor of shape: {list(w.shape)}"
        )
    return w.astype(dtype, copy=False)


def _to_rows(input: Tensor, op: str) -> tuple[Tensor, int]:
    """(N, C, d1, ...) / (C,) inputs as (M, C) rows with the class dim last; returns (rows, C)."""
    x = input
    shape = x._data.shape
    if len(shape) == 2:  # the common case
        return x, shape[1]
    if len(shape) == 0:
        raise ValueError(f"{op}: expected the input to have at least 1 dimension (classes), got a 0-dim tensor")
    if len(shape) == 1:
        return x.reshape(1, -1), shape[0]
    n_cls = shape[1]
    perm = (0,) + tuple(range(2, len(shape))) + (1,)
    return x.permute(*perm).reshape(-1, n_cls), n_cls


def _check_class_target(
    input: Tensor,
    target: Tensor,
    n_cls: int,
    ignore_index: int,
    op: str,
) -> tuple[np.ndarray, bool]:
    """Validate class-index targets against the input; returns them as a flat int64 array and
    whether none of them is ``ignore_index``."""
    t = target._data
    in_shape = input._data.shape
    if t.dtype.kind not in "iu":
        raise RuntimeError(
            f"{op}: expected class-index targets of an integer dtype (int64), got {target.dtype} "
            f"of shape {tuple(t.shape)} for input of shape {in_shape}"
        )
    expected = () if len(in_shape) == 1 else (in_shape[0],) + in_shape[2:]
    if t.shape != expected:
        if len(in_shape) >= 2 and (t.ndim == 0 or t.shape[0] != in_shape[0]):
            raise ValueError(
                f"Expected input batch_size ({in_shape[0]}) to match target batch_size "
                f"({t.shape[0] if t.ndim else 'none: 0-dim target'}): input shape {in_shape}, target shape {tuple(t.shape)}"
            )
        raise RuntimeError(
            f"{op}: expected target of shape {expected} for input of shape {in_shape}, got target shape {tuple(t.shape)}"
        )
    flat = t if t.ndim == 1 else t.reshape(-1)
    all_valid = True
    if flat.size:
        # One max over the indices read as unsigned finds both kinds of bad target: a negative
        # one reads as a huge number (cheaper than a min and a max).
        unsigned = flat if t.dtype.kind == "u" else flat.view(_UNSIGNED[t.dtype.itemsize])
        if np.maximum.reduce(unsigned) >= n_cls:
            ignored = flat == ignore_index
            bad = ~ignored & ((flat < 0) | (flat >= n_cls))
            if bad.any():
                value = int(flat[np.argmax(bad)])
                raise IndexError(
                    f"{op}: target {value} is out of bounds: the input has {n_cls} classes, so targets must be "
                    f"in [0, {n_cls - 1}] (or equal ignore_index={ignore_index})"
                )
            all_valid = not ignored.any()
        elif 0 <= ignore_index < n_cls:
            all_valid = not (flat == ignore_index).any()
    return (flat if flat.dtype == _INT64 else flat.astype(np.int64)), all_valid


def _restore_none(loss: Tensor, input: Tensor) -> Tensor:
    """'none' losses come out per row; give them the target's shape (N, d1, ...)."""
    shape = input._data.shape
    if len(shape) == 1:
        return loss.reshape(())
    return loss.reshape(shape[0], *shape[2:]) if len(shape) > 2 else loss


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: Any = None,
    ignore_index: int = -100,
    reduce: Any = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy between logits ``input`` (N, C) / (N, C, d1, ...) / (C,) and ``target``.

    ``target`` holds class indices (int64, shape (N,) / (N, d1, ...)) or class probabilities
    (float, the input's shape). Class-index targets run as one fused, stable node; 'mean' divides
    by the (weighted) number of targets that are not ``ignore_index``. ``label_smoothing`` mixes
    the one-hot target with the uniform distribution, as PyTorch does.
    """
    op = "cross_entropy"
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, reduction)
    if reduction not in _REDUCTIONS:
        _check_reduction(reduction, op)
    if not (isinstance(input, Tensor) and isinstance(target, Tensor)):
        _check_tensor(input, "input", op)
        _check_tensor(target, "target", op)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected floating point logits, got {input.dtype}")
    rows, n_cls = _to_rows(input, op)
    if n_cls == 0:
        raise ValueError(f"{op}: the input has no classes (shape {tuple(input.shape)})")
    w = None if weight is None else _class_weight(weight, n_cls, input._data.dtype, op)
    t = target._data
    if t.dtype.kind == "f":
        return _soft_cross_entropy(input, target, rows, n_cls, w, reduction, label_smoothing)
    t, all_valid = _check_class_target(input, target, n_cls, ignore_index, op)
    loss = TunedCrossEntropy.apply(
        rows,
        target=t,
        weight=w,
        ignore_index=ignore_index,
        label_smoothing=float(label_smoothing),
        reduction=reduction,
        all_valid=all_valid,
    )
    return _restore_none(loss, input) if reduction == "none" else loss


def _soft_cross_entropy(
    input: Tensor,
    target: Tensor,
    rows: Tensor,
    n_cls: int,
    w: np.ndarray | None,
    reduction: str,
    eps: float,
) -> Tensor:
    """Cross-entropy against class probabilities (PyTorch: the target has the input's shape)."""
    if target._data.shape != input._data.shape:
        raise RuntimeError(
            f"cross_entropy: float targets are read as class probabilities and must have the input's shape "
            f"{tuple(input.shape)}, got {tuple(target.shape)}. For class indices pass an integer (int64) "
            "tensor, e.g. target.long()"
        )
    t_rows, _ = _to_rows(target, "cross_entropy")
    t_rows = t_rows.to(input._data.dtype)
    if eps > 0.0:
        t_rows = t_rows * (1.0 - eps) + eps / n_cls
    logp = rows.log_softmax(1)
    prod = logp * t_rows
    if w is not None:
        prod = prod * wrap(w)
    per = -prod.sum(1)
    if reduction == "none":
        return _restore_none(per, input)
    if reduction == "sum":
        return per.sum()
    return per.mean()


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: Any = None,
    ignore_index: int = -100,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of class indices under log-probabilities ``input`` (N, C, ...)."""
    op = "nll_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    _check_tensor(input, "input", op)
    _check_tensor(target, "target", op)
    rows, n_cls = _to_rows(input, op)
    w = _class_weight(weight, n_cls, input._data.dtype, op)
    t, _ = _check_class_target(input, target, n_cls, ignore_index, op)
    loss = _loss_ops.NLLLoss.apply(rows, target=t, weight=w, ignore_index=ignore_index, reduction=reduction)
    return _restore_none(loss, input) if reduction == "none" else loss


def _binary_args(input: Tensor, target: Any, weight: Any, op: str, what: str) -> tuple[Tensor, np.ndarray | None]:
    _check_tensor(input, "input", op)
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating point input, got {input.dtype}")
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Using a target size ({target.shape}) that is different to the input size ({input.shape}) is "
            f"deprecated. Please ensure they have the same size. ({op}: {what})"
        )
    w = None
    if weight is not None:
        w = weight._data if isinstance(weight, Tensor) else np.asarray(weight)
        if np.broadcast_shapes(w.shape, input._data.shape) != input._data.shape:
            raise RuntimeError(
                f"{op}: weight of shape {tuple(w.shape)} does not broadcast to the input's shape {tuple(input.shape)}"
            )
        w = w.astype(input._data.dtype, copy=False)
    return target, w


def _float_target(target: Any, input: Tensor) -> Tensor:
    t = target if isinstance(target, Tensor) else as_tensor(np.asarray(target))
    if t._data.dtype != input._data.dtype:
        t = t.to(input._data.dtype)
    return t


def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """-w (t log x + (1 - t) log(1 - x)) for probabilities ``x`` in [0, 1]; logs clamped at -100."""
    op = "binary_cross_entropy"
    _check_tensor(input, "input", op)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    target = _float_target(target, input)
    target, w = _binary_args(input, target, weight, op, "input holds probabilities")
    x = input._data
    if x.size and not ((x >= 0) & (x <= 1)).all():
        raise RuntimeError(
            "all elements of input should be between 0 and 1 (binary_cross_entropy takes probabilities; "
            "for logits use binary_cross_entropy_with_logits)"
        )
    tt = target._data
    if tt.size and not ((tt >= 0) & (tt <= 1)).all():
        raise RuntimeError("all elements of target should be between 0 and 1")
    return _loss_ops.BinaryCrossEntropy.apply(input, target, weight=w, reduction=reduction)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """Sigmoid + binary cross-entropy in one stable node (finite for logits of any size).

    ``pos_weight`` (broadcast along the last dim) weighs the positive term of each class.
    """
    op = "binary_cross_entropy_with_logits"
    _check_tensor(input, "input", op)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    target = _float_target(target, input)
    target, w = _binary_args(input, target, weight, op, "input holds logits")
    pw = None
    if pos_weight is not None:
        pw = pos_weight._data if isinstance(pos_weight, Tensor) else np.asarray(pos_weight)
        if np.broadcast_shapes(pw.shape, input._data.shape) != input._data.shape:
            raise RuntimeError(
                f"{op}: pos_weight of shape {tuple(pw.shape)} does not broadcast to the input's shape {tuple(input.shape)}"
            )
        pw = pw.astype(input._data.dtype, copy=False)
    return _loss_ops.BinaryCrossEntropyWithLogits.apply(input, target, weight=w, pos_weight=pw, reduction=reduction)
