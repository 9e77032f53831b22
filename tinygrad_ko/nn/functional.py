"""``nn.functional`` (``import tinygrad_ko.nn.functional as F``): layers and losses as functions.

The hot ones are single fused nodes: ``linear`` (``x @ W.T + b``) and ``cross_entropy``
(log-softmax + NLL). Convolution, pooling, batch norm and channel dropout are in
``_conv_functional``, imported here. The others are thin wrappers over Tensor methods. Wrappers validate their
arguments and raise errors that name the shapes and dtypes involved.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ..api.creation import as_tensor, where
from ..api.creation import pad as pad  # F.pad, the same function as tinygrad_ko.pad
from ..api.rules import not_implemented, reduce_axes
from ..ops import activation as _act_ops
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
    if input._data.dtype.kind != "f":
        raise not_implemented("leaky_relu_cpu", input._data.dtype)
    return where(input > 0, input, input * negative_slope)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta * x)) / beta, stable for large |x|; the identity where beta * x > threshold."""
    if input._data.dtype.kind != "f":
        raise not_implemented("softplus_cpu", input._data.dtype)
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
    if arr.dtype != _INT64:
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


# ---- more activations ----------------------------------------------------------------------------
def _float_input(input: Any, op: str) -> Tensor:
    """The checks PyTorch's activation kernels make: a Tensor, of a floating point dtype."""
    _check_tensor(input, "input", op)
    if input._data.dtype.kind != "f":
        raise NotImplementedError(
            f'"{op}" not implemented for {input.dtype}: it needs a floating point input (convert with .float())'
        )
    return input


def _apply(input: Tensor, fn: Any, inplace: bool) -> Tensor:
    """``fn(input)``, or with ``inplace=True`` written into ``input``, which then carries the op's
    grad_fn (as PyTorch's ``F.elu(x, inplace=True)``: a leaf that requires grad is refused)."""
    if not inplace:
        return fn(input)
    if input._check_inplace(None):  # recorded: the op runs on an alias holding the old values
        result = fn(wrap(input._data.copy(), input.requires_grad, input.grad_fn))
        input._write(result._data)
        input.grad_fn = result.grad_fn
        return input
    input._write(fn(input)._data)
    return input


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """GELU(x) = x * Phi(x), Phi the standard normal CDF; ``approximate='tanh'`` uses
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x**3)))."""
    if not isinstance(approximate, str):
        raise TypeError(f"gelu(): argument 'approximate' must be str, not {type(approximate).__name__}")
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"approximate argument must be either none or tanh. (gelu got {approximate!r})")
    x = _float_input(input, "gelu")
    return (_act_ops.Gelu if approximate == "none" else _act_ops.GeluTanh).apply(x)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """SiLU (swish): x * sigmoid(x)."""
    return _apply(_float_input(input, "silu"), _act_ops.Silu.apply, inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """Mish: x * tanh(softplus(x))."""
    return _apply(_float_input(input, "mish"), _act_ops.Mish.apply, inplace)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """ELU: x for x > 0, alpha * (exp(x) - 1) otherwise."""
    a = float(alpha)
    return _apply(_float_input(input, "elu"), lambda x: _act_ops.Elu.apply(x, alpha=a), inplace)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return elu(input, alpha, inplace=True)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """CELU: max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""
    a = float(alpha)
    if a == 0.0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return _apply(_float_input(input, "celu"), lambda x: _act_ops.Celu.apply(x, alpha=a, input_scale=1.0 / a), inplace)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return celu(input, alpha, inplace=True)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """clamp(x, min_val, max_val) with slope 0 at the ends; integer tensors stay integer."""
    _check_tensor(input, "input", "hardtanh")
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    kind = input._data.dtype.kind
    if kind == "b":
        raise NotImplementedError('"hardtanh" not implemented for torch.bool')
    if kind != "f":  # PyTorch casts the bounds to the integer type (truncating)
        min_val, max_val = int(min_val), int(max_val)
    return _apply(input, lambda x: _act_ops.Hardtanh.apply(x, min_val=min_val, max_val=max_val), inplace)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(0, x), 6): ``hardtanh(x, 0, 6)``, as in PyTorch (slope 0 at 0 and at 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * relu6(x + 3) / 6."""
    return _apply(_float_input(input, "hardswish"), _act_ops.Hardswish.apply, inplace)


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|); integer tensors give float32, as in PyTorch."""
    _check_tensor(input, "input", "softsign")
    return _act_ops.Softsign.apply(input._as_float())


# ---- normalize -----------------------------------------------------------------------------------
def _vector_norm(x: Tensor, p: float, axes: tuple[int, ...] | None) -> Tensor:
    """The p-norm over ``axes`` (kept as size-1 dims). Where it is 0 the gradient is 0, not the
    0 * inf = NaN that the power's slope would give there (PyTorch's norm gives 0 too)."""
    a = x.abs()
    if p == math.inf:
        return a.amax(axes, keepdim=True)
    if p == -math.inf:
        return a.amin(axes, keepdim=True)
    if p == 0:  # the number of nonzero elements: piecewise constant, no gradient
        return wrap(np.asarray((x._data != 0).sum(axis=axes, keepdims=True), dtype=x._data.dtype))
    if p == 2:
        s = x * x
    elif p < 1 and (a._data == 0).any():  # |x|**p has an infinite slope at 0 for p < 1
        zero = a._data == 0
        s = where(zero, 0.0, where(zero, 1.0, a) ** p)
    else:
        s = a**p
    s = s.sum(axes, keepdim=True)
    zero = s._data == 0
    if zero.any():
        return where(zero, 0.0, where(zero, 1.0, s) ** (1.0 / p))
    return s.sqrt() if p == 2 else s ** (1.0 / p)


def normalize(input: Tensor, p: float = 2.0, dim: Any = 1, eps: float = 1e-12, out: Tensor | None = None) -> Tensor:
    """``input / max(||input||_p, eps)``, the norm taken over ``dim`` (an int or a tuple of ints)."""
    _check_tensor(input, "input", "normalize")
    if input._data.dtype.kind != "f":
        raise RuntimeError(
            f"normalize: expected a floating point input, got {input.dtype} (linalg.vector_norm needs floats)"
        )
    axes = reduce_axes(dim, input._data.ndim)
    result = input / _vector_norm(input, float(p), axes).clamp(min=eps)
    if out is not None:
        out.copy_(result.detach())
        return out
    return result


# ---- smooth L1 and KL divergence -----------------------------------------------------------------
def _float_loss_inputs(input: Any, target: Any, op: str) -> Tensor:
    _check_tensor(input, "input", op)
    target = _as_target(target, input)
    if input._data.dtype.kind != "f" or target._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected floating point input and target, got {input.dtype} and {target.dtype}")
    return target


def smooth_l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """0.5 d**2 / beta where |d| < beta, |d| - 0.5 beta elsewhere (d = input - target): squared
    near 0, absolute beyond ``beta``; ``beta=0`` is ``l1_loss``."""
    op = "smooth_l1_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    target = _float_loss_inputs(input, target, op)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    _warn_shape(input, target, op)
    if beta == 0:
        return _reduce((input - target).abs(), reduction)
    d = input - target
    ad = d.abs()
    return _reduce(where(ad < beta, d * d * (0.5 / beta), ad - 0.5 * beta), reduction)


_KL_REDUCTIONS = ("mean", "batchmean", "sum", "none")
_KL_MEAN_WARNING = (
    "reduction: 'mean' divides the total loss by both the batch size and the support size."
    "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
    "'mean' will be changed to behave the same as 'batchmean' in the next major release."
)


def kl_div(
    input: Tensor,
    target: Tensor,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """KL(target || input) pointwise: target * (log(target) - input), ``input`` being
    log-probabilities, with 0 where target is 0 (0 log 0 = 0); ``log_target=True`` takes
    log-probabilities as target: exp(target) * (target - input).

    'batchmean' divides the sum by the batch size (input.size(0)), the KL divergence of the
    distributions; 'mean' divides by the number of elements and warns, as PyTorch does.
    """
    op = "kl_div"
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, reduction)
    elif reduction == "mean":
        warnings.warn(_KL_MEAN_WARNING, stacklevel=2)
    if reduction not in _KL_REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    _check_tensor(input, "input", op)
    _check_tensor(target, "target", op)
    if input._data.dtype.kind != "f" or target._data.dtype.kind != "f":
        raise RuntimeError(
            f"kl_div: Integral inputs not supported. (got {input.dtype} input and {target.dtype} target)"
        )
    if log_target:
        loss = target.exp() * (target - input)
    else:
        # 0 * log(0) = 0: where the target is 0 take log(1) instead, which also sends no gradient
        # through the log there
        zero = target._data == 0
        safe = where(zero, 1.0, target) if zero.any() else target
        with np.errstate(invalid="ignore"):  # a negative target gives NaN, silently, as in PyTorch
            t_log_t = safe * safe.log()
        loss = t_log_t - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input._data.shape[0] if input._data.ndim else total
    return _reduce(loss, reduction)
