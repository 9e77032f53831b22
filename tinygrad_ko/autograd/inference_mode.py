"""``torch.inference_mode()``: no_grad for evaluation code, as a context manager or a decorator.

PyTorch's inference mode also marks the tensors made inside as "inference tensors", which autograd
refuses later; tinygrad_ko has no such tensors: inside the block it is exactly ``no_grad`` (the
results are plain tensors without ``grad_fn``), and ``inference_mode(False)`` turns recording on,
as PyTorch's does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from .grad_mode import state as grad_mode

_inference = {"enabled": False}


def is_inference_mode_enabled() -> bool:
    return _inference["enabled"]


class inference_mode:
    """``with inference_mode():``, ``@inference_mode()``, ``@inference_mode`` and ``inference_mode(False)``."""

    def __new__(cls, mode: Any = True) -> Any:
        if callable(mode):  # @inference_mode without parentheses: decorate with the default mode
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True) -> None:
        self.mode = bool(mode)

    def __enter__(self) -> None:
        self._saved = (grad_mode.enabled, _inference["enabled"])
        grad_mode.enabled = not self.mode
        _inference["enabled"] = self.mode

    def __exit__(self, *exc: object) -> None:
        grad_mode.enabled, _inference["enabled"] = self._saved

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with inference_mode(mode):
                return fn(*args, **kwargs)

        return wrapper
