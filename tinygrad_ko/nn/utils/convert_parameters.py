"""One flat vector for all parameters, and back (for second-order methods, line searches, ...)."""

from __future__ import annotations

from collections.abc import Iterable

from ...api.creation import cat
from ...tensor import Tensor


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """The parameters flattened and concatenated, in order: a new tensor, in the graph."""
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Give each parameter, in order, the next ``p.numel()`` values of ``vec`` (as its data)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    pointer = 0
    for p in parameters:
        n = p.numel()
        p.data = vec[pointer : pointer + n].detach().view_as(p).data
        pointer += n
