"""Lazy access to the Tensor engine, so the pure-NumPy parts of tinygrad_ko.data never need it."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np


def tg() -> Any:
    """The ``tinygrad_ko`` package (imported on first use)."""
    import tinygrad_ko

    return tinygrad_ko


def is_tensor(x: object) -> bool:
    """True for a tinygrad_ko Tensor (without importing the engine if it isn't loaded yet)."""
    mod = sys.modules.get("tinygrad_ko.tensor")
    return mod is not None and isinstance(x, mod.Tensor)


def to_tensor(arr: np.ndarray) -> Any:
    """Wrap a NumPy array as a Tensor without copying."""
    return tg().from_numpy(arr)
