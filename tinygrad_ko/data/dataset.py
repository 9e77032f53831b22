"""Dataset, TensorDataset, Subset, random_split, default_collate and DataLoader (PyTorch semantics).

The DataLoader's hot path: when the dataset can hand over a whole batch at once (a
TensorDataset, a NumPy array, a Tensor, a range, or any dataset with a ``get_batch(indices)``
method such as MNIST without per-sample transforms), each batch is gathered with one
fancy-index per array (``arr[batch_indices]``), never a Python loop over the samples.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar

import numpy as np

from ._tensor import is_tensor, tg, to_tensor

T_co = TypeVar("T_co", covariant=True)


class Dataset(Generic[T_co]):
    """Map-style dataset: subclasses implement ``__getitem__(i)`` and ``__len__()``.

    A subclass may also implement ``get_batch(indices: np.ndarray)`` returning an already
    collated batch (or ``NotImplemented``); the DataLoader then uses it instead of calling
    ``__getitem__`` once per sample.
    """

    def __getitem__(self, index: int) -> T_co:
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")


def _first_dim(t: Any) -> int:
    shape = tuple(t.shape)
    if not shape:
        raise ValueError("TensorDataset: every tensor needs at least one dimension (the sample axis)")
    return int(shape[0])


class TensorDataset(Dataset[tuple[Any, ...]]):
    """Samples are ``(t0[i], t1[i], ...)``: e.g. ``TensorDataset(x_train, y_train)``.

    Accepts Tensors or NumPy arrays; all must have the same size in the first dimension.
    """

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        for i, t in enumerate(tensors):
            if not (is_tensor(t) or isinstance(t, np.ndarray)):
                raise TypeError(f"TensorDataset: argument {i} is a {type(t).__name__}, expected a Tensor or ndarray")
        sizes = [_first_dim(t) for t in tensors]
        if any(s != sizes[0] for s in sizes):
            detail = ", ".join(f"tensor {i}: {s}" for i, s in enumerate(sizes))
            raise ValueError(f"TensorDataset: size mismatch between tensors in the first dimension ({detail})")
        self.tensors = tuple(tensors)

    def __getitem__(self, index: int) -> tuple[Any, ...]:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return _first_dim(self.tensors[0])

    def get_batch(self, indices: np.ndarray) -> Any:
        """``(t0[indices], t1[indices], ...)`` as Tensors: one fancy-index per tensor."""
        out = []
        for t in self.tensors:
            if is_tensor(t):
                if t.requires_grad:  # keep the autograd graph: take the per-sample path
                    return NotImplemented
                out.append(to_tensor(t.numpy()[indices]))
            else:
                out.append(to_tensor(_gather_array(t, indices)))
        return tuple(out)

    def __repr__(self) -> str:
        shapes = ", ".join(str(tuple(t.shape)) for t in self.tensors)
        return f"TensorDataset({shapes})"


def _gather_array(arr: np.ndarray, indices: np.ndarray) -> np.ndarray:
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"cannot make a Tensor from an array of dtype {arr.dtype}")
    return arr[indices]


class Subset(Dataset[T_co]):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Any, indices: Sequence[int] | np.ndarray) -> None:
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)

    def __getitem__(self, index: int) -> T_co:
        return self.dataset[int(self.indices[index])]

    def __len__(self) -> int:
        return len(self.indices)

    def get_batch(self, indices: np.ndarray) -> Any:
        return bulk_batch(self.dataset, self.indices[indices])


def random_split(
    dataset: Any, lengths: Sequence[int | float], generator: np.random.Generator | None = None
) -> list[Subset[Any]]:
    """Split ``dataset`` into non-overlapping random Subsets of the given lengths (or fractions summing to 1)."""
    n = len(dataset)
    if lengths and all(isinstance(x, float) for x in lengths) and math.isclose(sum(lengths), 1.0):
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
    else:
        counts = [int(x) for x in lengths]
    if sum(counts) != n:
        raise ValueError(f"random_split: lengths sum to {sum(counts)} but the dataset has {n} samples")
    rng = generator if generator is not None else _global_generator()
    perm = rng.permutation(n)
    out, start = [], 0
    for c in counts:
        out.append(Subset(dataset, perm[start : start + c]))
        start += c
    return out


# ----------------------------------------------------------------------------- collate


def _stack_tensors(batch: Sequence[Any]) -> Any:
    if any(t.requires_grad for t in batch):
        return tg().stack(list(batch), 0)
    arrays = [t.numpy() for t in batch]
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise RuntimeError(f"default_collate: cannot stack tensors of different shapes {sorted(shapes)}")
    return to_tensor(np.stack(arrays))


def default_collate(batch: Sequence[Any]) -> Any:
    """Merge a list of samples into a batch (PyTorch's default_collate rules).

    Tensors and NumPy arrays -> one stacked Tensor (new leading axis); Python ints -> int64
    Tensor; floats -> float32 Tensor; bools -> bool Tensor; NumPy scalars keep their dtype;
    strings/bytes -> list; dicts -> dict of collated values; tuples/lists -> tuple of collated
    fields (namedtuples keep their type).
    """
    if len(batch) == 0:
        raise ValueError("default_collate: empty batch")
    elem = batch[0]
    if is_tensor(elem):
        if not all(is_tensor(b) for b in batch):
            raise TypeError("default_collate: batch mixes Tensors and other types")
        return _stack_tensors(batch)
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind not in "biuf":
            raise TypeError(f"default_collate: cannot make a Tensor from NumPy arrays of dtype {elem.dtype}")
        shapes = {np.shape(b) for b in batch}
        if len(shapes) > 1:
            raise RuntimeError(f"default_collate: cannot stack arrays of different shapes {sorted(shapes)}")
        return to_tensor(np.stack(batch))
    if isinstance(elem, np.generic):
        if elem.dtype.kind not in "biuf":
            raise TypeError(f"default_collate: cannot make a Tensor from NumPy scalars of dtype {elem.dtype}")
        return to_tensor(np.array(batch, dtype=elem.dtype))
    if isinstance(elem, (bool, int, float)):
        if all(isinstance(b, bool) for b in batch):
            return to_tensor(np.array(batch, dtype=np.bool_))
        if all(isinstance(b, int) and not isinstance(b, bool) for b in batch):
            return to_tensor(np.array(batch, dtype=np.int64))
        if all(isinstance(b, (int, float)) for b in batch):
            return to_tensor(np.array(batch, dtype=np.float32))
        raise TypeError("default_collate: batch mixes numbers and other types")
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, Mapping):
        try:
            return {key: default_collate([d[key] for d in batch]) for key in elem}
        except KeyError as e:
            raise KeyError(f"default_collate: a sample lacks the key {e.args[0]!r} that the first sample has") from None
    if isinstance(elem, (tuple, list)):
        lengths = {len(b) for b in batch}
        if len(lengths) > 1:
            raise RuntimeError(f"default_collate: samples in the batch have different lengths {sorted(lengths)}")
        fields = [default_collate(list(samples)) for samples in zip(*batch)]
        if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
            return type(elem)(*fields)
        return tuple(fields)
    raise TypeError(
        "default_collate: samples must be Tensors, NumPy arrays, numbers, strings, dicts, tuples or lists; "
        f"found {type(elem).__name__}"
    )


def bulk_batch(dataset: Any, indices: np.ndarray) -> Any:
    """The collated batch ``dataset[indices]`` built in bulk, or ``NotImplemented`` if the dataset can't.

    Gives the same result as ``default_collate([dataset[i] for i in indices])``.
    """
    get_batch = getattr(dataset, "get_batch", None)
    if get_batch is not None:
        return get_batch(indices)
    if isinstance(dataset, np.ndarray) and dataset.ndim >= 1 and dataset.dtype.kind in "biuf":
        return to_tensor(dataset[indices])
    if is_tensor(dataset) and not dataset.requires_grad and len(dataset.shape) >= 1:
        return to_tensor(dataset.numpy()[indices])
    if isinstance(dataset, range):
        return to_tensor(np.asarray(dataset, dtype=np.int64)[indices])
    return NotImplemented


def _global_generator() -> np.random.Generator:
    from ..random import default_generator

    return default_generator()


# ----------------------------------------------------------------------------- DataLoader


class DataLoader:
    """Iterate over ``dataset`` in batches (PyTorch's DataLoader, single process).

    ``dataset`` is anything with ``__len__`` and ``__getitem__``: a Dataset, a list of samples,
    a ``range``, a NumPy array or a Tensor. Each epoch (each ``iter(dl)``) visits every index
    exactly once; with ``shuffle=True`` in a random order drawn from ``generator`` (a
    ``np.random.Generator``), else from a generator seeded once with ``seed``, else from the
    global generator that ``tinygrad_ko.manual_seed`` reseeds. ``len(dl)`` is the number of
    batches. ``collate_fn`` (default :func:`default_collate`) merges a list of samples.
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        generator: np.random.Generator | None = None,
        seed: int | None = None,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got {batch_size!r}")
        if generator is not None and seed is not None:
            raise ValueError("DataLoader: pass either generator or seed, not both")
        if generator is not None and not isinstance(generator, np.random.Generator):
            raise TypeError(f"DataLoader: generator must be a numpy.random.Generator, got {type(generator).__name__}")
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise TypeError(f"DataLoader: dataset must support len() and indexing, got {type(dataset).__name__}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn if collate_fn is not None else default_collate
        self.generator = generator if generator is not None else (None if seed is None else np.random.default_rng(seed))
        self.seed = seed

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _epoch_indices(self) -> np.ndarray:
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n, dtype=np.int64)
        rng = self.generator if self.generator is not None else _global_generator()
        return rng.permutation(n).astype(np.int64, copy=False)

    def __iter__(self) -> Iterator[Any]:
        # the order is drawn here, when the epoch starts, not lazily at the first batch
        return self._batches(self._epoch_indices())

    def _batches(self, order: np.ndarray) -> Iterator[Any]:
        n, bs = len(order), self.batch_size
        stop = n - n % bs if self.drop_last else n
        for start in range(0, stop, bs):
            yield self.fetch(order[start : start + bs])

    def fetch(self, indices: np.ndarray) -> Any:
        """The batch for these dataset indices (bulk when possible, else sample by sample)."""
        if self.collate_fn is default_collate:
            out = bulk_batch(self.dataset, indices)
            if out is not NotImplemented:
                return out
        return self.collate_fn([self.dataset[int(i)] for i in indices])

    def __repr__(self) -> str:
        return (
            f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last})"
        )


__all__ = [
    "DataLoader",
    "Dataset",
    "Subset",
    "TensorDataset",
    "bulk_batch",
    "default_collate",
    "random_split",
]
