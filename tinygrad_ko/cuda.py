"""``torch.cuda`` on a CPU-only engine: there is no GPU, so scripts take their CPU branch.

``device = "cuda" if torch.cuda.is_available() else "cpu"`` picks the CPU; seeding the GPUs and
emptying their cache do nothing, as in PyTorch on a machine without one. Anything else of
``torch.cuda`` raises an AttributeError that says why.
"""

from __future__ import annotations

from typing import Any

from .api.device import CPU_ONLY


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def is_initialized() -> bool:
    return False


def manual_seed(seed: int) -> None:
    """Seeds the GPU generators in PyTorch; there are none here (seed the CPU with torch.manual_seed)."""


def manual_seed_all(seed: int) -> None:
    """See ``manual_seed``."""


def empty_cache() -> None:
    """Frees PyTorch's cached GPU memory; there is none here."""


def __getattr__(name: str) -> Any:
    raise AttributeError(f"module 'tinygrad_ko.cuda' has no attribute {name!r}: " + CPU_ONLY.format("cuda"))
