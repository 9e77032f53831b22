"""Batch normalisation (BatchNorm1d, BatchNorm2d) and LayerNorm; Dropout2d, re-exported here, is in ``layers``.

BatchNorm follows PyTorch: in training it normalises with the batch mean and the *biased* batch
variance and updates ``running_mean``/``running_var`` with ``momentum`` and the *unbiased*
variance (``momentum=None`` gives a cumulative average over ``num_batches_tracked`` batches); in
eval it uses the running statistics. The function is ``nn.functional.batch_norm``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..api import dtypes
from ..api.creation import empty
from ..tensor import Tensor, wrap
from . import functional, init
from .layers import Dropout2d as Dropout2d
from .module import Module
from .parameter import Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm", "Dropout2d"]


class _BatchNorm(Module):
    """Shared by BatchNorm1d/2d: weight (gamma) and bias (beta) of shape (num_features,), buffers
    running_mean, running_var and num_batches_tracked."""

    _expected_dims: tuple[int, ...] = ()

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        np_dtype = dtypes.float32 if dtype is None else dtype
        if affine:
            self.weight = Parameter(empty(num_features, dtype=np_dtype))
            self.bias = Parameter(empty(num_features, dtype=np_dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", empty(num_features, dtype=np_dtype))
            self.register_buffer("running_var", empty(num_features, dtype=np_dtype))
            self.register_buffer("num_batches_tracked", wrap(np.zeros((), dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def _check_input_dim(self, input: Tensor) -> None:
        nd = input.dim()
        if nd not in self._expected_dims:
            want = " or ".join(f"{d}D" for d in self._expected_dims)
            raise ValueError(
                f"{type(self).__name__}: expected {want} input (got {nd}D input of size {list(input.shape)})"
            )

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            counter = self.num_batches_tracked
            counter._data += 1
            counter._version.value += 1
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(counter._data)
        # batch statistics while training, or in eval when there are no running statistics
        use_batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        return functional.batch_norm(
            input,
            self.running_mean if track else None,
            self.running_var if track else None,
            self.weight,
            self.bias,
            use_batch_stats,
            factor,
            self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L) input, per channel C."""

    _expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W) input, per channel C."""

    _expected_dims = (4,)


class LayerNorm(Module):
    """Layer normalisation over the last dims, ``normalized_shape`` (an int or a shape): each
    sample normalised by its own mean and *biased* variance over those dims, then scaled by
    ``weight`` (ones) and shifted by ``bias`` (zeros), both of shape normalized_shape, when
    ``elementwise_affine`` (``bias=False`` leaves out the shift). The same in training and eval.
    The function is ``nn.functional.layer_norm``.
    """

    def __init__(
        self,
        normalized_shape: Any,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if isinstance(normalized_shape, (int, np.integer)):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(n) for n in normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        np_dtype = dtypes.float32 if dtype is None else dtype
        if elementwise_affine:
            self.weight = Parameter(empty(*self.normalized_shape, dtype=np_dtype))
            if bias:
                self.bias = Parameter(empty(*self.normalized_shape, dtype=np_dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.elementwise_affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return functional.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
            f"bias={self.bias is not None}"
        )
