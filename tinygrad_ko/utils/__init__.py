"""Utilities; ``tinygrad_ko.utils.data`` mirrors ``torch.utils.data``."""

from __future__ import annotations

from . import data

__all__ = ["data"]
