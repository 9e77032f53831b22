"""Tensor creation, dtypes, attributes, repr, views and storage, in-place ops."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_ko as tg


# ---- creation and dtypes ------------------------------------------------------------------------
def test_tensor_copies_its_input():
    arr = np.array([1.0, 2.0], dtype=np.float32)
    t = tg.tensor(arr)
    arr[0] = 100
    assert t.tolist() == [1.0, 2.0]


def test_default_dtypes_follow_pytorch():
    assert tg.tensor([1.0, 2.0]).dtype == tg.float32
    assert tg.tensor(3.5).dtype == tg.float32
    assert tg.tensor([1, 2]).dtype == tg.int64
    assert tg.tensor([True, False]).dtype == tg.bool
    assert tg.tensor(np.zeros(2, dtype=np.float64)).dtype == tg.float64
    assert tg.tensor([1, 2], dtype=tg.float64).dtype == tg.float64
    assert tg.tensor([1, 2], dtype=np.float32).dtype == tg.float32
    assert tg.zeros(2, 3).dtype == tg.float32
    assert tg.arange(5).dtype == tg.int64
    assert tg.arange(0.0, 1.0, 0.25).dtype == tg.float32
    assert tg.randint(0, 10, (3,)).dtype == tg.int64


def test_python_scalars_do_not_promote_float32():
    x = tg.ones(3)
    for y in (x * 2.5, x + 1, 2 - x, x / 3, x**2, 1.5 / x, x * True):
        assert y.dtype == tg.float32
    assert (tg.tensor([1, 2]) * 1.5).dtype == tg.float32  # int tensor * float -> default float
    assert (tg.tensor([1, 2]) * 2).dtype == tg.int64
    assert (tg.tensor([1, 2]) / 2).dtype == tg.float32
    assert (x + tg.tensor([1, 2, 3])).dtype == tg.float32  # float32 + int64 tensor -> float32
    assert (x + tg.zeros(3, dtype=tg.float64)).dtype == tg.float64


def test_dtype_float64_keeps_python_floats_exact():
    """tensor([0.1], dtype=float64) is the float64 nearest 0.1, not 0.1 rounded to float32 first."""
    assert tg.tensor([0.1, 1e300], dtype=tg.float64).tolist() == [0.1, 1e300]
    assert tg.tensor(0.1, dtype=tg.float64).item() == 0.1


def test_python_types_as_dtypes_mean_what_they_mean_in_pytorch():
    """dtype=float is torch.float64 (a Python float is a double), int is int64, bool is bool."""
    assert tg.tensor([1], dtype=float).dtype == tg.float64
    assert tg.tensor([0.1], dtype=float).tolist() == [0.1]
    assert tg.zeros(2, dtype=float).dtype == tg.float64 and tg.ones(2).to(float).dtype == tg.float64
    assert tg.tensor([1.7], dtype=int).dtype == tg.int64 and tg.tensor([2], dtype=bool).dtype == tg.bool


def test_numpy_float_scalars_keep_their_dtype_like_pytorch():
    # (dtypes PyTorch 2.13 gives for the same data)
    assert tg.tensor(np.float64(1.5)).dtype == tg.float64
    assert tg.tensor(np.float32(1.5)).dtype == tg.float32
    assert tg.tensor([np.float64(1.5), 2.0]).dtype == tg.float64
    assert tg.tensor([[1.0], [np.float64(2.0)]]).dtype == tg.float64
    assert tg.tensor([np.float32(1.5), 2.0]).dtype == tg.float32
    assert tg.tensor([np.float16(1.0), 2.0]).dtype == tg.float32  # Python floats are float32
    # a 0-d float64 beats a dimensioned int tensor (higher category)
    assert (tg.tensor([1, 2]) + tg.tensor(np.float64(0.5))).dtype == tg.float64


def test_floor_division_and_remainder_promote_like_pytorch():
    ints = tg.tensor([7, -7, 3])
    for out in (ints // 2.5, ints % 2.5, ints // tg.tensor(2.5), 10.5 // ints, 10.5 % ints):
        assert out.dtype == tg.float32  # NumPy alone would say float64
    np.testing.assert_array_equal((ints // 2.5).numpy(), [2.0, -3.0, 1.0])
    np.testing.assert_array_equal((ints % 2.5).numpy(), [2.0, 0.5, 0.5])  # Python's sign rule
    np.testing.assert_array_equal((10 // ints).numpy(), [1, -2, 3])  # reflected, integers
    np.testing.assert_array_equal((10 % ints).numpy(), [3, -4, 1])
    assert (10 // ints).dtype == tg.int64
    assert (tg.tensor([7], dtype=tg.int32) // 2).dtype == tg.int32


def test_integer_powers_stay_integers_like_pytorch():
    e = tg.tensor([-2, -1, 0, 3])
    for base, expected in ((2, [0, 0, 1, 8]), (-1, [1, -1, 1, -1]), (1, [1, 1, 1, 1])):
        out = base**e
        assert out.dtype == tg.int64
        np.testing.assert_array_equal(out.numpy(), expected)
    np.testing.assert_array_equal((tg.tensor([2, 3]) ** tg.tensor([-1, 2])).numpy(), [0, 9])
    assert (tg.tensor([1, 2], dtype=tg.int32) ** 2).dtype == tg.int32
    assert (tg.tensor([True, False]) ** 2).dtype == tg.int64
    assert (2 ** tg.tensor([1.0])).dtype == tg.float32 and (2.0 ** tg.tensor([1])).dtype == tg.float32
    with pytest.raises(RuntimeError, match="negative integer powers"):
        tg.tensor([2, 3]) ** -1


def test_division_by_a_zero_scalar_gives_inf_and_nan_like_pytorch():
    x = tg.tensor([1.0, 0.0, -1.0], requires_grad=True)
    with np.errstate(all="ignore"):
        y = x / 0
        np.testing.assert_array_equal(y.detach().numpy(), [np.inf, np.nan, -np.inf])
        np.testing.assert_array_equal((tg.tensor([2, -2]) / 0).numpy(), [np.inf, -np.inf])
        y.sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), [np.inf, np.inf, np.inf])  # d(x/0)/dx = 1/0
        # unbiased variance of one element divides by zero degrees of freedom: nan, as in PyTorch
        assert np.isnan(tg.tensor([1.5]).var().item()) and np.isnan(tg.tensor([[1.0, 2.0]]).std(0).numpy()).all()
    assert tg.tensor([1.5]).var(unbiased=False).item() == 0.0


def test_std_of_constant_data_has_zero_gradient_like_pytorch():
    # sqrt's derivative at 0 is inf; PyTorch's std backward gives 0 there, not inf * 0 = nan
    x = tg.tensor([[1.0, 2.0], [3.0, 3.0]], requires_grad=True)
    s = x.std(dim=-1)
    np.testing.assert_allclose(s.detach().numpy(), [np.sqrt(0.5), 0.0])
    s.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[-np.sqrt(0.5), np.sqrt(0.5)], [0.0, 0.0]], rtol=1e-6)
    y = tg.tensor([1.0, 1.0, 1.0], requires_grad=True)
    y.std(unbiased=False).backward()
    np.testing.assert_array_equal(y.grad.numpy(), [0.0, 0.0, 0.0])


def test_int_and_bool_tensors_cannot_require_grad():
    with pytest.raises(RuntimeError, match="floating point"):
        tg.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        tg.tensor([True]).requires_grad_()


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda: tg.zeros(2, 3), (2, 3)),
        (lambda: tg.ones((2, 3)), (2, 3)),
        (lambda: tg.full((2, 2), 7.0), (2, 2)),
        (lambda: tg.empty(4), (4,)),
        (lambda: tg.zeros_like(tg.ones(5)), (5,)),
        (lambda: tg.ones_like(tg.ones(5)), (5,)),
        (lambda: tg.full_like(tg.ones(5), 3), (5,)),
        (lambda: tg.rand(3, 2), (3, 2)),
        (lambda: tg.randn(3, 2), (3, 2)),
        (lambda: tg.randint(0, 5, (4,)), (4,)),
        (lambda: tg.arange(10), (10,)),
        (lambda: tg.linspace(0, 1, 5), (5,)),
        (lambda: tg.eye(3), (3, 3)),
    ],
)
def test_creation_shapes(make, shape):
    assert make().shape == shape


def test_creation_values():
    assert tg.full((2,), 7.0).tolist() == [7.0, 7.0]
    assert tg.eye(2).tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert tg.linspace(0, 1, 3).tolist() == [0.0, 0.5, 1.0]
    assert tg.arange(1, 7, 2).tolist() == [1, 3, 5]
    r = tg.rand(1000)
    assert 0 <= r.min().item() and r.max().item() < 1
    assert r.dtype == tg.float32 and tg.randn(10).dtype == tg.float32


def test_manual_seed_makes_random_reproducible():
    tg.manual_seed(42)
    a, b, c = tg.rand(3), tg.randn(3), tg.randint(0, 100, (3,))
    tg.manual_seed(42)
    assert a.equal(tg.rand(3)) and b.equal(tg.randn(3)) and c.equal(tg.randint(0, 100, (3,)))
    assert not a.equal(tg.rand(3))


def test_from_numpy_and_numpy_share_memory():
    arr = np.zeros(3, dtype=np.float32)
    t = tg.from_numpy(arr)
    arr[1] = 5
    assert t[1].item() == 5
    t.numpy()[2] = 7
    assert arr[2] == 7


# ---- attributes -----------------------------------------------------------------------------------
def test_attributes():
    x = tg.arange(6.0).reshape(2, 3)
    assert x.shape == (2, 3) and x.size() == (2, 3) and x.size(1) == 3 and x.size(-1) == 3
    assert x.dim() == 2 and x.ndim == 2 and x.numel() == 6 and len(x) == 2
    assert x.T.shape == (3, 2)
    assert tg.tensor(2.5).item() == 2.5
    assert x.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert [row.tolist() for row in x] == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert repr(x.shape) == "tinygrad_ko.Size([2, 3])"
    assert x.float().dtype == tg.float32 and x.double().dtype == tg.float64
    assert x.long().dtype == tg.int64 and x.int().dtype == tg.int32 and x.bool().dtype == tg.bool
    assert x.to(tg.float64).dtype == tg.float64


def test_clone_detach_requires_grad():
    x = tg.ones(3, requires_grad=True)
    assert x.is_leaf and x.grad is None and x.grad_fn is None
    y = x * 2
    assert not y.is_leaf and y.requires_grad and y.grad_fn is not None
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None
    assert d.untyped_storage().data_ptr() == y.untyped_storage().data_ptr()
    c = x.clone()
    assert c.requires_grad and c.untyped_storage().data_ptr() != x.untyped_storage().data_ptr()
    c.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0]


def test_repr_like_pytorch():
    assert repr(tg.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(tg.tensor([1.0, 2.0], requires_grad=True)) == "tensor([1., 2.], requires_grad=True)"
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x * x) == "tensor([1., 4.], grad_fn=<MulBackward>)"
    assert repr(x * 2) == "tensor([2., 4.], grad_fn=<MulBackward>)"
    assert repr(tg.tensor([0.5, 0.25])) == "tensor([0.5000, 0.2500])"
    assert repr(tg.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(tg.tensor([1, 2], dtype=tg.int32)) == "tensor([1, 2], dtype=tinygrad_ko.int32)"
    assert repr(tg.tensor(3.0)) == "tensor(3.)"
    assert repr(tg.tensor([True])) == "tensor([True])"
    assert "grad_fn=<SumBackward>" in repr((x * x).sum())


def test_repr_layout_like_pytorch():
    # strings printed by PyTorch 2.13 (dtype names aside): common widths, sci mode, summaries,
    # wrapped rows, blank lines between 3-D blocks
    cases = [
        (
            tg.arange(12.0).reshape(3, 4),
            "tensor([[ 0.,  1.,  2.,  3.],\n        [ 4.,  5.,  6.,  7.],\n        [ 8.,  9., 10., 11.]])",
        ),
        (tg.tensor([0.001, 1000.0]), "tensor([1.0000e-03, 1.0000e+03])"),
        (tg.tensor([-1.5, 2.0, -3.25]), "tensor([-1.5000,  2.0000, -3.2500])"),
        (tg.tensor([True, False]), "tensor([ True, False])"),
        (tg.arange(2000), "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])"),
        (tg.tensor([float("nan"), 1.0, float("inf")]), "tensor([nan, 1., inf])"),
        (tg.zeros(2, 0, dtype=tg.int64), "tensor([], size=(2, 0), dtype=tinygrad_ko.int64)"),
        (tg.ones(2, 3, dtype=tg.float64), "tensor([[1., 1., 1.],\n        [1., 1., 1.]], dtype=tinygrad_ko.float64)"),
        (
            tg.arange(1000.0).reshape(10, 100)[:2, :30],
            "tensor([[  0.,   1.,   2.,   3.,   4.,   5.,   6.,   7.,   8.,   9.,  10.,  11.,\n"
            "          12.,  13.,  14.,  15.,  16.,  17.,  18.,  19.,  20.,  21.,  22.,  23.,\n"
            "          24.,  25.,  26.,  27.,  28.,  29.],\n"
            "        [100., 101., 102., 103., 104., 105., 106., 107., 108., 109., 110., 111.,\n"
            "         112., 113., 114., 115., 116., 117., 118., 119., 120., 121., 122., 123.,\n"
            "         124., 125., 126., 127., 128., 129.]])",
        ),
        (
            tg.arange(24.0).reshape(2, 3, 4) / 7,
            "tensor([[[0.0000, 0.1429, 0.2857, 0.4286],\n         [0.5714, 0.7143, 0.8571, 1.0000],\n"
            "         [1.1429, 1.2857, 1.4286, 1.5714]],\n\n        [[1.7143, 1.8571, 2.0000, 2.1429],\n"
            "         [2.2857, 2.4286, 2.5714, 2.7143],\n         [2.8571, 3.0000, 3.1429, 3.2857]]])",
        ),
    ]
    for t, expected in cases:
        assert repr(t) == expected


def test_data_is_detached_and_shares_storage():
    p = tg.ones(3, requires_grad=True)
    (p * 2).sum().backward()
    p.data -= 0.5 * p.grad.data  # fastai's update
    assert p.tolist() == [0.0, 0.0, 0.0]
    assert p.requires_grad and p.is_leaf
    assert not p.data.requires_grad
    p.data = tg.tensor([5.0, 6.0])  # swaps the storage
    assert p.tolist() == [5.0, 6.0] and p.requires_grad


def test_grad_is_settable():
    p = tg.ones(2, requires_grad=True)
    p.grad = tg.tensor([1.0, 2.0])
    (p * 1.0).sum().backward()
    assert p.grad.tolist() == [2.0, 3.0]
    p.grad = None
    assert p.grad is None
    with pytest.raises(RuntimeError, match="different size"):
        p.grad = tg.zeros(3)


# ---- views and storage -------------------------------------------------------------------------------
VIEW_OPS = {
    "reshape": lambda x: x.reshape(3, 4),
    "view": lambda x: x.view(-1),
    "transpose": lambda x: x.transpose(0, 1),
    "permute": lambda x: x.permute(1, 0),
    "T": lambda x: x.T,
    "expand": lambda x: x[:1].expand(5, 6),
    "slice": lambda x: x[1:, ::2],
    "int_index": lambda x: x[1],
    "full_int_index": lambda x: x[1, 2],
    "unsqueeze": lambda x: x.unsqueeze(0),
    "squeeze": lambda x: x.unsqueeze(1).squeeze(1),
    "flatten": lambda x: x.flatten(),
    "as_strided": lambda x: x.as_strided((2, 2), (1, 2)),
    "data": lambda x: x.data,
    "detach": lambda x: x.detach(),
    "split": lambda x: x.split(1)[1],
    "narrow": lambda x: x.narrow(1, 1, 2),
}


@pytest.mark.parametrize("name", sorted(VIEW_OPS))
def test_views_share_storage(name):
    x = tg.arange(1.0, 13.0).reshape(2, 6)  # no zeros: zeroing through the view must show in x
    v = VIEW_OPS[name](x)
    assert v.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
    if name != "expand":  # expanded views are read-only, as in PyTorch's in-place rules
        with tg.no_grad():
            v.zero_() if v.numel() > 0 else None
        assert (x == 0).any().item()


@pytest.mark.parametrize(
    "name, op",
    [
        ("int_array_index", lambda x: x[tg.tensor([0, 1])]),
        ("mask_index", lambda x: x[x > 3]),
        ("clone", lambda x: x.clone()),
        ("arithmetic", lambda x: x + 0),
        ("cat", lambda x: tg.cat([x, x])),
        ("reshape_of_transposed", lambda x: x.T.reshape(-1)),
    ],
)
def test_copies_do_not_share_storage(name, op):
    x = tg.arange(12.0).reshape(2, 6)
    y = op(x)
    y.zero_()
    assert x.tolist() == tg.arange(12.0).reshape(2, 6).tolist()


def test_stride_offset_contiguous():
    x = tg.arange(24.0).reshape(2, 3, 4)
    assert x.stride() == (12, 4, 1) and x.stride(0) == 12 and x.storage_offset() == 0
    assert x.is_contiguous()
    t = x.transpose(0, 2)
    assert t.stride() == (1, 4, 12) and not t.is_contiguous()
    s = x[1, 1:, ::2]
    assert s.storage_offset() == 16 and s.stride() == (4, 2)
    e = tg.ones(3, 1).expand(3, 4)
    assert e.stride() == (1, 0)
    c = t.contiguous()
    assert c.is_contiguous() and c.untyped_storage().data_ptr() != x.untyped_storage().data_ptr()
    assert x.contiguous() is x
    assert x.data_ptr() == x.untyped_storage().data_ptr()
    assert s.data_ptr() == x.data_ptr() + 16 * 4


def test_as_strided():
    x = tg.arange(9.0)
    w = x.as_strided((3, 3), (1, 1))  # sliding windows
    assert w.tolist() == [[0, 1, 2], [1, 2, 3], [2, 3, 4]]
    assert x.as_strided((2,), (3,), 2).tolist() == [2.0, 5.0]
    with pytest.raises(RuntimeError, match="outside"):
        x.as_strided((3, 3), (3, 3))


def test_view_of_noncontiguous_raises_reshape_copies():
    x = tg.arange(6.0).reshape(2, 3).T
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        x.view(-1)
    assert x.reshape(-1).tolist() == [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]


# ---- in-place ops --------------------------------------------------------------------------------
def test_inplace_ops_keep_storage_and_bump_version():
    x = tg.zeros(3)
    ptr = x.data_ptr()
    v = x[1:]
    x.add_(1).mul_(3).sub_(1).div_(2)
    assert x.tolist() == [1.0, 1.0, 1.0] and x.data_ptr() == ptr
    x += 1
    x -= tg.ones(3)
    x *= 4
    x /= 2
    assert x.tolist() == [2.0, 2.0, 2.0] and x.data_ptr() == ptr
    x.clamp_(max=1.5)
    assert x.tolist() == [1.5, 1.5, 1.5]
    x.fill_(7)
    x[0] = 3
    assert x.tolist() == [3.0, 7.0, 7.0] and v.tolist() == [7.0, 7.0]
    x.copy_(tg.tensor([1.0, 2.0, 3.0]))
    assert v.tolist() == [2.0, 3.0]
    x.zero_()
    assert x.tolist() == [0.0, 0.0, 0.0]
    assert x._version.value == v._version.value >= 12


def test_inplace_on_int_with_float_is_an_error():
    x = tg.tensor([1, 2])
    with pytest.raises(RuntimeError, match="int64"):
        x += 1.5


def test_integer_indices_select_before_array_indexing_like_pytorch():
    # NumPy would treat the 0 as an array index too and put the indexed dim first: (1, 3)
    x = tg.arange(24.0).reshape(2, 3, 4).requires_grad_(True)
    y = x[0, :, [1]]
    assert y.shape == (3, 1)  # PyTorch 2.13: torch.Size([3, 1])
    np.testing.assert_array_equal(y.detach().numpy(), [[1.0], [5.0], [9.0]])
    assert x[0, ..., tg.tensor([1, 2])].shape == (3, 2) and x[1, [0, 2]].shape == (2, 4)
    y.sum().backward()
    expected = np.zeros((2, 3, 4), dtype=np.float32)
    expected[0, :, 1] = 1
    np.testing.assert_array_equal(x.grad.numpy(), expected)
    # assignment picks the same elements
    z = tg.zeros(2, 3, 4)
    z[0, :, [1]] = tg.tensor([[1.0], [2.0], [3.0]])
    np.testing.assert_array_equal(z.numpy()[0, :, 1], [1.0, 2.0, 3.0])
    assert z.numpy().sum() == 6.0
    # a 0-d integer tensor selects like an int: a view
    t = tg.arange(6).reshape(2, 3)
    row = t[tg.tensor(1)]
    assert row.shape == (3,) and np.shares_memory(row.numpy(), t.numpy())


def test_setitem_and_indexing():
    x = tg.zeros(3, 4)
    x[0] = tg.tensor([1.0, 2.0, 3.0, 4.0])
    x[1:, 0] = 9
    x[x > 8] = 5
    assert x.tolist() == [[1, 2, 3, 4], [5, 0, 0, 0], [5, 0, 0, 0]]
    assert x[tg.tensor([0, 0])].shape == (2, 4)
    assert x[:, [1, 3]].tolist() == [[2, 4], [0, 0], [0, 0]]
    assert x[..., -1].tolist() == [4, 0, 0]
    assert x[None].shape == (1, 3, 4)


def test_non_differentiable_ops():
    x = tg.tensor([[1.0, 5.0, 3.0], [4.0, 2.0, float("nan")]])
    assert (x > 2).dtype == tg.bool
    assert (x == x).tolist() == [[True, True, True], [True, True, False]]
    assert (x != 1).sum().item() == 5
    assert x[0].argmax().item() == 1 and x[0].argmin().item() == 0
    assert x[:, :2].argmax(dim=1).tolist() == [1, 0]
    assert x.isnan().any().item() and not x.isfinite().all().item()
    v, i = x[0].sort(descending=True)
    assert v.tolist() == [5.0, 3.0, 1.0] and i.tolist() == [1, 2, 0]
    v, i = x[0].topk(2)
    assert v.tolist() == [5.0, 3.0] and i.tolist() == [1, 2]


def test_max_min_with_dim_return_values_and_indices():
    x = tg.tensor([[1.0, 5.0, 5.0], [4.0, 2.0, 0.0]])
    values, indices = x.max(dim=1)
    assert values.tolist() == [5.0, 4.0] and indices.tolist() == [1, 0]
    r = x.min(1, keepdim=True)
    assert r.values.shape == (2, 1) and r.indices.tolist() == [[0], [2]]
    assert x.max().item() == 5.0 and x.amax(0).tolist() == [4.0, 5.0, 5.0]
    relu = x.max(tg.tensor(4.5))  # fastai's simple_net spelling of relu-like max
    assert relu.tolist() == [[4.5, 5.0, 5.0], [4.5, 4.5, 4.5]]


def test_function_forms():
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert tg.sum(x).item() == 10.0
    assert tg.exp(tg.zeros(2)).tolist() == [1.0, 1.0]
    assert tg.matmul(x, x).tolist() == [[7.0, 10.0], [15.0, 22.0]]
    assert tg.stack([x, x]).shape == (2, 2, 2)
    assert tg.cat([x, x], dim=1).shape == (2, 4)
    assert tg.where(x > 2, x, tg.zeros(1)).tolist() == [[0.0, 0.0], [3.0, 4.0]]
    assert [c.shape for c in x.chunk(2)] == [(1, 2), (1, 2)]
    assert tg.pad(x, (1, 1)).shape == (2, 4)
    assert tg.outer(tg.ones(2), tg.ones(3)).shape == (2, 3)
    assert tg.dot(tg.ones(3), tg.ones(3)).item() == 3.0
    assert tg.bmm(tg.ones(2, 2, 3), tg.ones(2, 3, 4)).shape == (2, 2, 4)
    assert x.var().item() == pytest.approx(np.var([1, 2, 3, 4], ddof=1))
    assert x.std(unbiased=False).item() == pytest.approx(np.std([1, 2, 3, 4]))
    assert x.var(dim=0, unbiased=False).tolist() == [1.0, 1.0]


def test_min_max_of_integer_and_bool_tensors():
    """PyTorch's "What is torch.nn really?" prints y_train.min(), y_train.max() of int64 labels."""
    y = tg.tensor([3, 1, 2])
    assert y.min().item() == 1 and y.max().item() == 3
    assert y.min().dtype == tg.int64 and y.max().dtype == tg.int64
    m = tg.tensor([[1, 5], [7, 2]], dtype=tg.int32)
    assert m.amax(0).tolist() == [7, 5] and m.amin(1).tolist() == [1, 2]
    assert m.amax(0).dtype == tg.int32
    assert tg.tensor([True, False]).max().item() is True
    x = tg.tensor([1.0, 3.0, 3.0], requires_grad=True)  # floats still share the gradient at ties
    x.max().backward()
    assert x.grad.tolist() == [0.0, 0.5, 0.5]


def test_tensor_of_a_list_of_one_element_tensors_is_a_vector():
    """ "Deep Learning with PyTorch" ch.7 builds a 1-D tensor from a list of one-element tensors."""
    parts = [tg.tensor([1.5]), tg.tensor(2.0), tg.tensor([[3.0]])]
    t = tg.tensor(parts)
    assert t.shape == (3,) and t.tolist() == [1.5, 2.0, 3.0]
    assert tg.tensor([tg.tensor([1, 2]), tg.tensor([3, 4])]).shape == (2, 2)


def test_unseeded_runs_repeat(tmp_path):
    """PyTorch's default generator starts from a fixed seed: an unseeded script repeats its numbers."""
    import subprocess
    import sys

    code = "import tinygrad_ko as t; print(t.randn(3).tolist(), t.initial_seed())"
    runs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    ]
    assert runs[0] == runs[1] and "67280421310721" in runs[0]
