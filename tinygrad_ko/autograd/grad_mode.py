"""Grad mode: whether new operations are recorded for backward.

``no_grad``, ``enable_grad`` and ``set_grad_enabled`` work as context managers and as decorators
(``@no_grad()`` or ``@no_grad``), like PyTorch's.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class _GradState:
    __slots__ = ("enabled",)

    def __init__(self) -> None:
        self.enabled = True


state = _GradState()


def is_grad_enabled() -> bool:
    return state.enabled


class _GradModeContext:
    """Base for the grad-mode context managers; also usable as a decorator."""

    _target: bool = True

    def __new__(cls, fn: Any = None, *args: Any) -> Any:
        if callable(fn):  # @no_grad without parentheses: decorate fn right away
            return cls()(fn)
        return super().__new__(cls)

    def __enter__(self) -> None:
        self._prev = state.enabled
        state.enabled = self._target

    def __exit__(self, *exc: object) -> None:
        state.enabled = self._prev

    def __call__(self, fn: F) -> F:
        target = self._target

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            prev = state.enabled
            state.enabled = target
            try:
                return fn(*args, **kwargs)
            finally:
                state.enabled = prev

        return wrapper  # type: ignore[return-value]


class no_grad(_GradModeContext):
    """Disable recording: tensors computed inside have ``requires_grad=False`` and no ``grad_fn``."""

    _target = False


class enable_grad(_GradModeContext):
    """Enable recording inside a ``no_grad`` block."""

    _target = True


class set_grad_enabled(_GradModeContext):
    """``set_grad_enabled(False)`` acts like ``no_grad()``; it also takes effect when called bare."""

    def __init__(self, mode: bool) -> None:
        self._target = bool(mode)
        self._prev = state.enabled
        state.enabled = self._target  # PyTorch applies it immediately, so a bare call works too

    def __enter__(self) -> None:
        state.enabled = self._target

    def __exit__(self, *exc: object) -> None:
        state.enabled = self._prev

    def __call__(self, fn: F) -> F:
        state.enabled = self._prev  # as a decorator it must not change the caller's mode
        return super().__call__(fn)
