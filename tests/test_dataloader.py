"""Dataset / TensorDataset / DataLoader / default_collate (PyTorch and fastai semantics)."""

from __future__ import annotations

import string
from collections import namedtuple

import numpy as np
import pytest

import tinygrad_ko as tg
from tinygrad_ko.data import (
    DataLoader,
    Dataset,
    ImageArrayDataset,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)
from tinygrad_ko.data.transforms import Compose, Lambda, Normalize, ToTensor


def _np(t):
    assert isinstance(t, tg.Tensor), f"expected a Tensor, got {type(t).__name__}"
    return t.numpy()


def _order(dl):
    """The dataset indices one epoch visits, for a loader over range(n)."""
    return np.concatenate([_np(b) for b in dl])


# ----------------------------------------------------------------------------- TensorDataset


def test_tensor_dataset_items_and_len():
    x = tg.from_numpy(np.arange(12, dtype=np.float32).reshape(6, 2))
    y = tg.tensor([0, 1, 0, 1, 1, 0])
    d = TensorDataset(x, y)
    assert len(d) == 6
    xi, yi = d[2]
    np.testing.assert_array_equal(_np(xi), [4.0, 5.0])
    assert int(_np(yi)) == 0


def test_tensor_dataset_size_mismatch_names_sizes():
    with pytest.raises(ValueError, match=r"tensor 0: 5, tensor 1: 4"):
        TensorDataset(tg.from_numpy(np.zeros((5, 2), np.float32)), tg.from_numpy(np.zeros(4, np.int64)))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()
    with pytest.raises(TypeError, match="argument 1"):
        TensorDataset(tg.tensor([1, 2]), [1, 2])


# ----------------------------------------------------------------------------- batching


@pytest.fixture
def xy():
    x = np.random.default_rng(0).standard_normal((10, 3)).astype(np.float32)
    y = np.arange(10, dtype=np.int64) % 3
    return x, y, TensorDataset(tg.from_numpy(x), tg.from_numpy(y))


def test_batch_shapes_dtypes_and_len(xy):
    x, y, d = xy
    dl = DataLoader(d, batch_size=4)
    assert len(dl) == 3
    batches = list(dl)
    assert [tuple(b[0].shape) for b in batches] == [(4, 3), (4, 3), (2, 3)]
    assert [tuple(b[1].shape) for b in batches] == [(4,), (4,), (2,)]
    assert all(b[0].dtype == tg.float32 and b[1].dtype == tg.int64 for b in batches)
    np.testing.assert_array_equal(np.concatenate([_np(b[0]) for b in batches]), x)
    np.testing.assert_array_equal(np.concatenate([_np(b[1]) for b in batches]), y)


def test_drop_last(xy):
    _, _, d = xy
    dl = DataLoader(d, batch_size=4, drop_last=True)
    assert len(dl) == 2
    assert [tuple(b[0].shape) for b in dl] == [(4, 3), (4, 3)]
    assert len(DataLoader(d, batch_size=5, drop_last=True)) == 2
    assert len(DataLoader(d, batch_size=11, drop_last=True)) == 0 and list(DataLoader(d, 11, drop_last=True)) == []
    assert len(DataLoader(d, batch_size=11)) == 1


def test_default_batch_size_is_one(xy):
    _, _, d = xy
    dl = DataLoader(d)
    assert len(dl) == 10 and tuple(next(iter(dl))[0].shape) == (1, 3)


@pytest.mark.parametrize("bad", [0, -1, 2.5, None, True])
def test_bad_batch_size(xy, bad):
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(xy[2], batch_size=bad)


def test_float32_stays_float32(xy):
    x, _, d = xy
    for b in DataLoader(d, batch_size=3, shuffle=True):
        assert b[0].dtype == tg.float32
    samples = [(x[i], float(i)) for i in range(4)]
    xb, fb = next(iter(DataLoader(samples, batch_size=4)))
    assert xb.dtype == tg.float32 and fb.dtype == tg.float32


# ----------------------------------------------------------------------------- shuffling


def test_every_index_exactly_once_per_epoch():
    dl = DataLoader(range(23), batch_size=5, shuffle=True, seed=3)
    for _ in range(3):
        order = _order(dl)
        assert sorted(order.tolist()) == list(range(23))
    assert not np.array_equal(_order(dl), np.arange(23))


def test_no_shuffle_is_in_order():
    np.testing.assert_array_equal(_order(DataLoader(range(9), batch_size=4)), np.arange(9))


def test_shuffle_reproducible_with_manual_seed():
    dl = DataLoader(range(50), batch_size=7, shuffle=True)
    tg.manual_seed(123)
    a1, a2 = _order(dl), _order(dl)
    tg.manual_seed(123)
    b1, b2 = _order(dl), _order(dl)
    np.testing.assert_array_equal(a1, b1)
    np.testing.assert_array_equal(a2, b2)
    assert not np.array_equal(a1, a2)  # each epoch gets a new order
    tg.manual_seed(124)
    assert not np.array_equal(_order(dl), a1)


def test_manual_seed_after_construction_counts():
    dl = DataLoader(range(30), batch_size=30, shuffle=True)
    tg.manual_seed(5)
    a = _order(dl)
    dl2 = DataLoader(range(30), batch_size=30, shuffle=True)
    tg.manual_seed(5)
    np.testing.assert_array_equal(_order(dl2), a)


def test_shuffle_with_generator_and_seed():
    a = DataLoader(range(40), batch_size=8, shuffle=True, generator=np.random.default_rng(9))
    b = DataLoader(range(40), batch_size=8, shuffle=True, generator=np.random.default_rng(9))
    np.testing.assert_array_equal(_order(a), _order(b))
    np.testing.assert_array_equal(_order(a), _order(b))  # second epochs agree too
    s1 = DataLoader(range(40), batch_size=8, shuffle=True, seed=1)
    s2 = DataLoader(range(40), batch_size=8, shuffle=True, seed=1)
    e1, e2 = _order(s1), _order(s1)
    np.testing.assert_array_equal(e1, _order(s2))
    assert not np.array_equal(e1, e2)
    tg.manual_seed(0)  # the global generator does not affect a loader with its own seed
    np.testing.assert_array_equal(_order(DataLoader(range(40), batch_size=8, shuffle=True, seed=1)), e1)
    with pytest.raises(ValueError, match="either generator or seed"):
        DataLoader(range(3), generator=np.random.default_rng(0), seed=0)
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        DataLoader(range(3), generator=0)


def test_order_is_drawn_when_the_epoch_starts():
    dl = DataLoader(range(20), batch_size=20, shuffle=True)
    tg.manual_seed(7)
    it = iter(dl)
    tg.manual_seed(99)  # reseeding after iter() does not change the epoch already started
    first = _np(next(it))
    tg.manual_seed(7)
    np.testing.assert_array_equal(_order(dl), first)


# ----------------------------------------------------------------------------- fastai-style inputs


def test_range_input_fastai():
    tg.manual_seed(0)
    batches = list(DataLoader(range(15), batch_size=5, shuffle=True))
    assert len(batches) == 3
    assert all(b.dtype == tg.int64 and tuple(b.shape) == (5,) for b in batches)
    assert sorted(np.concatenate([_np(b) for b in batches]).tolist()) == list(range(15))


def test_list_of_tuples_keeps_strings_as_list():
    coll = list(enumerate(string.ascii_lowercase))
    batches = list(DataLoader(coll, batch_size=6))
    assert len(batches) == 5
    idx, letters = batches[0]
    assert idx.dtype == tg.int64
    np.testing.assert_array_equal(_np(idx), np.arange(6))
    assert letters == ["a", "b", "c", "d", "e", "f"]
    idx, letters = batches[-1]
    assert _np(idx).tolist() == [24, 25] and letters == ["y", "z"]


def test_dict_samples():
    class Dicts(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"image": np.full((2, 2), i, np.float32), "label": i, "name": f"s{i}"}

    b = next(iter(DataLoader(Dicts(), batch_size=3)))
    assert set(b) == {"image", "label", "name"}
    assert tuple(b["image"].shape) == (3, 2, 2) and b["image"].dtype == tg.float32
    assert _np(b["label"]).tolist() == [0, 1, 2] and b["label"].dtype == tg.int64
    assert b["name"] == ["s0", "s1", "s2"]


def test_numpy_array_and_tensor_as_dataset():
    arr = np.arange(12, dtype=np.float32).reshape(6, 2)
    for data in (arr, tg.from_numpy(arr)):
        b = list(DataLoader(data, batch_size=4))
        assert [tuple(t.shape) for t in b] == [(4, 2), (2, 2)]
        np.testing.assert_array_equal(_np(b[1]), arr[4:])
        assert b[0].dtype == tg.float32


def test_custom_collate_fn_gets_samples():
    seen = []

    def collate(samples):
        seen.append(samples)
        return len(samples)

    assert list(DataLoader(list("abcde"), batch_size=2, collate_fn=collate)) == [2, 2, 1]
    assert seen[0] == ["a", "b"]


# ----------------------------------------------------------------------------- the hot path


def test_tensor_dataset_fast_path_matches_per_item(xy, monkeypatch):
    _, _, d = xy
    tg.manual_seed(1)
    fast = list(DataLoader(d, batch_size=4, shuffle=True))
    tg.manual_seed(1)
    slow = list(DataLoader(d, batch_size=4, shuffle=True, collate_fn=lambda s: default_collate(s)))
    assert len(fast) == len(slow) == 3
    for (fx, fy), (sx, sy) in zip(fast, slow):
        assert fx.dtype == sx.dtype and fy.dtype == sy.dtype and fx.shape == sx.shape
        np.testing.assert_array_equal(_np(fx), _np(sx))
        np.testing.assert_array_equal(_np(fy), _np(sy))


def test_tensor_dataset_fast_path_never_calls_getitem(xy, monkeypatch):
    _, _, d = xy

    def no_getitem(self, i):
        raise AssertionError("per-sample __getitem__ used on the hot path")

    monkeypatch.setattr(TensorDataset, "__getitem__", no_getitem)
    batches = list(DataLoader(d, batch_size=3, shuffle=True, seed=0))
    assert len(batches) == 4
    assert sorted(np.concatenate([_np(b[1]) for b in batches]).tolist()) == sorted(_np(d.tensors[1]).tolist())


def test_numpy_tensor_dataset_fast_path_matches_per_item():
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10, dtype=np.int32)
    d = TensorDataset(x, y)
    fast = next(iter(DataLoader(d, batch_size=10, seed=0, shuffle=True)))
    slow = next(iter(DataLoader(d, batch_size=10, seed=0, shuffle=True, collate_fn=lambda s: default_collate(s))))
    for f, s in zip(fast, slow):
        assert f.dtype == s.dtype
        np.testing.assert_array_equal(_np(f), _np(s))
    assert fast[1].dtype == tg.int32


def _images():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (17, 6, 6), dtype=np.uint8), rng.integers(0, 10, 17).astype(np.int64)


@pytest.mark.parametrize(
    "transform",
    [None, ToTensor(), Compose([ToTensor(), Normalize((0.1307,), (0.3081,))])],
    ids=["none", "totensor", "compose"],
)
def test_image_dataset_bulk_path(transform, monkeypatch):
    data, targets = _images()
    d = ImageArrayDataset(data, targets, transform=transform)
    tg.manual_seed(3)
    slow = list(DataLoader(d, batch_size=5, shuffle=True, collate_fn=lambda s: default_collate(s)))
    monkeypatch.setattr(ImageArrayDataset, "__getitem__", lambda self, i: 1 / 0)
    tg.manual_seed(3)
    fast = list(DataLoader(d, batch_size=5, shuffle=True))
    assert len(fast) == 4
    for (fx, fy), (sx, sy) in zip(fast, slow):
        assert fx.dtype == sx.dtype and tuple(fx.shape) == tuple(sx.shape)
        assert fy.dtype == tg.int64 == sy.dtype
        np.testing.assert_array_equal(_np(fx), _np(sx))
        np.testing.assert_array_equal(_np(fy), _np(sy))
    want = (np.uint8, (5, 6, 6)) if transform is None else (np.float32, (5, 1, 6, 6))
    assert fast[0][0].dtype == want[0] and tuple(fast[0][0].shape) == want[1]


def test_image_dataset_with_lambda_falls_back_per_item():
    data, targets = _images()
    d = ImageArrayDataset(data, targets, transform=Compose([ToTensor(), Lambda(lambda t: t * 2)]))
    xb, yb = next(iter(DataLoader(d, batch_size=4)))
    assert tuple(xb.shape) == (4, 1, 6, 6) and xb.dtype == tg.float32
    np.testing.assert_allclose(_np(xb)[:, 0], data[:4] / np.float32(255) * 2, rtol=1e-6)
    d2 = ImageArrayDataset(data, targets, target_transform=lambda y: y + 100)
    _, yb2 = next(iter(DataLoader(d2, batch_size=4)))
    assert _np(yb2).tolist() == (targets[:4] + 100).tolist()


def test_subset_and_random_split(xy):
    x, _, d = xy
    sub = Subset(d, [7, 2, 5])
    assert len(sub) == 3
    xb, _ = next(iter(DataLoader(sub, batch_size=3)))
    np.testing.assert_array_equal(_np(xb), x[[7, 2, 5]])
    a, b = random_split(d, [7, 3], generator=np.random.default_rng(0))
    assert len(a) == 7 and len(b) == 3
    assert sorted(a.indices.tolist() + b.indices.tolist()) == list(range(10))
    c, e = random_split(range(10), [0.8, 0.2], generator=np.random.default_rng(0))
    assert (len(c), len(e)) == (8, 2)
    with pytest.raises(ValueError, match="sum to 9"):
        random_split(d, [5, 4])


# ----------------------------------------------------------------------------- default_collate


def test_default_collate_scalars():
    ints = default_collate([1, 2, 3])
    assert ints.dtype == tg.int64 and _np(ints).tolist() == [1, 2, 3]
    floats = default_collate([1.5, 2.0])
    assert floats.dtype == tg.float32
    mixed = default_collate([1, 2.5])
    assert mixed.dtype == tg.float32
    bools = default_collate([True, False])
    assert bools.dtype == tg.bool_
    npf = default_collate([np.float32(1), np.float32(2)])
    assert npf.dtype == tg.float32
    npi = default_collate([np.int64(4), np.int64(5)])
    assert npi.dtype == tg.int64


def test_default_collate_tensors_and_nesting():
    t = default_collate([tg.tensor([1.0, 2.0]), tg.tensor([3.0, 4.0])])
    assert tuple(t.shape) == (2, 2) and t.dtype == tg.float32
    Pair = namedtuple("Pair", "x y")
    out = default_collate([Pair(np.zeros(2, np.float32), 1), Pair(np.ones(2, np.float32), 2)])
    assert isinstance(out, Pair) and tuple(out.x.shape) == (2, 2) and _np(out.y).tolist() == [1, 2]
    nested = default_collate([(1, (2.0, "a")), (3, (4.0, "b"))])
    assert isinstance(nested, tuple) and nested[1][1] == ["a", "b"]
    lists = default_collate([[1, 2], [3, 4]])
    assert isinstance(lists, tuple) and _np(lists[0]).tolist() == [1, 3]


def test_default_collate_keeps_autograd_when_needed():
    a = tg.tensor([1.0, 2.0], requires_grad=True) if _accepts_requires_grad() else None
    if a is None:
        pytest.skip("tg.tensor has no requires_grad argument")
    out = default_collate([a, a])
    assert out.requires_grad


def _accepts_requires_grad() -> bool:
    try:
        tg.tensor([1.0], requires_grad=True)
    except TypeError:
        return False
    return True


def test_default_collate_errors():
    with pytest.raises(RuntimeError, match="different lengths"):
        default_collate([(1, 2), (1,)])
    with pytest.raises(RuntimeError, match="different shapes"):
        default_collate([np.zeros(2, np.float32), np.zeros(3, np.float32)])
    with pytest.raises(TypeError, match="found object"):
        default_collate([object(), object()])
    with pytest.raises(KeyError, match="'b'"):
        default_collate([{"a": 1, "b": 2}, {"a": 1}])
    with pytest.raises(ValueError, match="empty"):
        default_collate([])


def test_utils_data_reexports():
    from tinygrad_ko.utils.data import DataLoader as DL
    from tinygrad_ko.utils.data import Dataset as DS
    from tinygrad_ko.utils.data import TensorDataset as TD

    assert DL is DataLoader and DS is Dataset and TD is TensorDataset
    assert tg.utils.data.DataLoader is DataLoader
