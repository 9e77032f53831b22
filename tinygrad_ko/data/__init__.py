"""Data loading: Dataset/DataLoader (PyTorch semantics), transforms, and the MNIST-family/CIFAR-10 datasets.

``from tinygrad_ko.data import DataLoader, TensorDataset, MNIST, load_mnist`` (also available as
``tinygrad_ko.utils.data`` for code written against ``torch.utils.data``). Nothing here
downloads at import time.
"""

from __future__ import annotations

from . import transforms
from ._sources import DataFormatError, DatasetNotFoundError, cache_dir
from .dataset import DataLoader, Dataset, Subset, TensorDataset, default_collate, random_split
from .datasets import (
    CIFAR10,
    MNIST,
    FashionMNIST,
    ImageArrayDataset,
    MNISTSample,
    clear_memory_cache,
    load_cifar10,
    load_fashion_mnist,
    load_mnist,
    load_mnist_sample,
)

__all__ = [
    "CIFAR10",
    "MNIST",
    "DataFormatError",
    "DataLoader",
    "Dataset",
    "DatasetNotFoundError",
    "FashionMNIST",
    "ImageArrayDataset",
    "MNISTSample",
    "Subset",
    "TensorDataset",
    "cache_dir",
    "clear_memory_cache",
    "default_collate",
    "load_cifar10",
    "load_fashion_mnist",
    "load_mnist",
    "load_mnist_sample",
    "random_split",
    "transforms",
]
