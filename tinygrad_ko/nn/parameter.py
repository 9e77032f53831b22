"""``nn.Parameter``: a Tensor that a Module registers as one of its learnable parameters."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..api.creation import as_tensor
from ..tensor import Tensor, wrap


class Parameter(Tensor):
    """A leaf Tensor (``requires_grad=True`` by default) that Modules pick up as a parameter.

    Like PyTorch's, ``Parameter(t)`` shares ``t``'s memory (and version counter) instead of
    copying it. Assigning a Parameter to a Module attribute registers it.
    """

    __slots__ = ()

    def __new__(cls, data: Any = None, requires_grad: bool = True) -> Parameter:
        t = as_tensor(np.empty((0,), dtype=np.float32) if data is None else data)
        p = wrap(t._data, cls=cls)
        p._version = t._version  # shares the memory, so the version counter too
        if requires_grad:
            p.requires_grad_(True)  # raises for integer data, as PyTorch does
        return p

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        pass  # everything happens in __new__ (Tensor.__init__ would copy the data)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __deepcopy__(self, memo: dict) -> Parameter:
        if id(self) in memo:
            return memo[id(self)]
        p = Parameter(as_tensor(self._data.copy()), self.requires_grad)
        if self._grad is not None:
            p._grad = as_tensor(self._grad._data.copy())
        memo[id(self)] = p
        return p
