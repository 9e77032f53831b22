"""``torch.utils.data``-shaped alias of :mod:`tinygrad_ko.data`.

``from tinygrad_ko.utils.data import DataLoader, TensorDataset, Dataset`` works like PyTorch's.
"""

from __future__ import annotations

from ..data import (
    DataLoader,
    Dataset,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)

__all__ = ["DataLoader", "Dataset", "Subset", "TensorDataset", "default_collate", "random_split"]
