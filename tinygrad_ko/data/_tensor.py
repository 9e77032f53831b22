"""Lazy access to the Tensor engine, so the pure-NumPy parts of tinygrad_ko.data never need it.

The package and the Tensor class are looked up once and kept: these helpers run for every batch.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

_package: Any = None  # tinygrad_ko, once imported
_tensor_class: Any = None  # tinygrad_ko.Tensor, once that module is loaded


def tg() -> Any:
    """The ``tinygrad_ko`` package (imported on first use)."""
    global _package
    if _package is None:
        import tinygrad_ko

        _package = tinygrad_ko
    return _package


def is_tensor(x: object) -> bool:
    """True for a tinygrad_ko Tensor (without importing the engine if it isn't loaded yet)."""
    global _tensor_class
    if _tensor_class is None:
        mod = sys.modules.get("tinygrad_ko.tensor")
        if mod is None:
            return False
        _tensor_class = mod.Tensor
    return isinstance(x, _tensor_class)


def to_tensor(arr: np.ndarray) -> Any:
    """Wrap a NumPy array as a Tensor without copying."""
    return tg().from_numpy(arr)
