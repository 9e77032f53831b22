"""What a graph node shows to the outside: its name, ``next_functions``, hooks and retain_grad.

``Function`` (function.py) inherits this; it is kept apart so that function.py reads as the op
protocol alone. PyTorch's graph API, by PyTorch's names: ``grad_fn.next_functions``,
``AccumulateGrad`` for leaves, ``register_hook`` returning a handle with ``remove()``.
"""

from __future__ import annotations

import weakref
from typing import Any

from ..tensor import HookHandle


class AccumulateGrad:
    """What a leaf looks like in ``next_functions`` (PyTorch's name); ``.variable`` is the leaf."""

    __slots__ = ("variable",)

    def __init__(self, variable: Any) -> None:
        self.variable = variable

    @staticmethod
    def name() -> str:
        return "AccumulateGrad"

    @property
    def next_functions(self) -> tuple:
        return ()

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {hex(id(self))}>"


class Node:
    """The graph-facing half of a node; ``_edges`` are the nodes (or leaf Tensors) of its inputs."""

    _edges: tuple[Any, ...] = ()
    # defaults on the class, so recording a node sets only what differs
    _pre_hooks: list | None = None  # hooks on the gradient flowing into the node
    _retain: Any = None  # a weak reference to the output whose .grad is retained
    # the node's name in reprs and graphs (scalar variants show as their op: MulBackward)
    display_name: str | None = None

    @classmethod
    def name(cls) -> str:
        return cls.display_name or cls.__name__ + "Backward"

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        """PyTorch-shaped: ``((node, 0), ...)``; a leaf appears as an ``AccumulateGrad``."""
        return tuple((None if e is None else e if isinstance(e, Node) else AccumulateGrad(e), 0) for e in self._edges)

    def register_hook(self, fn: Any) -> HookHandle:
        """Hook on the gradient flowing *into* this node (its output's gradient)."""
        if self._pre_hooks is None:
            self._pre_hooks = []
        return HookHandle(self._pre_hooks, fn)

    def retain_output_grad(self, output: Any) -> None:
        self._retain = weakref.ref(output)
