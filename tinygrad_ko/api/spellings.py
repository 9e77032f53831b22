"""NumPy's spellings that PyTorch accepts too: ``x.sum(axis=0)``, ``x.mean(1, keepdims=True)``.

PyTorch's argument parser takes ``axis=`` for ``dim=`` and ``keepdims=`` for ``keepdim=`` on every
op that has them. ``install()`` (methods.py) wraps each Tensor method whose signature has ``dim``
or ``keepdim`` with ``accept_numpy_spellings``, so the methods added by every family of ops get the
aliases without writing them; a call without keywords goes straight through.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable
from typing import Any

ALIASES = (("axis", "dim"), ("keepdims", "keepdim"))


def accept_numpy_spellings(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` when it has neither ``dim`` nor ``keepdim``; else ``fn`` taking ``axis=``/``keepdims=``
    too. Giving both spellings raises PyTorch's TypeError."""
    if not inspect.isfunction(fn):
        return fn
    params = inspect.signature(fn).parameters
    # (alias, name, how many positional arguments it takes to fill the name: never, keyword-only)
    aliases = tuple((alias, name, _position(params, name)) for alias, name in ALIASES if name in params)
    if not aliases:
        return fn
    op = fn.__name__

    @functools.wraps(fn)
    def with_numpy_spellings(*args: Any, **kwargs: Any) -> Any:
        if kwargs:
            for alias, name, position in aliases:
                if alias in kwargs:
                    if name in kwargs or len(args) > position:
                        raise TypeError(f"{op}() got an unexpected keyword argument '{alias}'")
                    kwargs[name] = kwargs.pop(alias)
        return fn(*args, **kwargs)

    return with_numpy_spellings


def _position(params: Any, name: str) -> float:
    for i, p in enumerate(params.values()):
        if p.kind is p.VAR_POSITIONAL:
            break
        if p.name == name:
            return i if p.kind is not p.KEYWORD_ONLY else math.inf
    return math.inf
