"""Issue 15's tensor ops, used the way PyTorch code uses them: rounding and the log/exp family,
cumsum/cumprod, tril/triu, flip/roll/repeat/diag/sum_to_size, einsum, norms and torch.linalg,
scatter (the one-hot idiom of "Deep Learning with PyTorch" ch.7) and multinomial.

Values, gradients, shapes, dtypes and errors are checked without torch; the last tests compare
with PyTorch itself when it is installed."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import tinygrad_ko as torch
from tinygrad_ko.autograd import gradcheck, gradgradcheck


def leaf(values, dtype=torch.float64):
    return torch.tensor(values, dtype=dtype, requires_grad=True)


# ---- rounding ------------------------------------------------------------------------------------
def test_rounding_values_and_half_to_even():
    x = torch.tensor([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.7, -2.7])
    assert x.floor().tolist() == [-3, -2, -1, 0, 1, 2, 2, -3]
    assert x.ceil().tolist() == [-2, -1, -0.0, 1, 2, 3, 3, -2]
    assert x.trunc().tolist() == [-2, -1, -0.0, 0, 1, 2, 2, -2]
    assert torch.fix(x).tolist() == x.trunc().tolist()
    assert x.round().tolist() == [-2, -2, -0.0, 0, 2, 2, 3, -3]  # halves go to the even neighbour
    np.testing.assert_allclose(x.frac().numpy(), [-0.5, -0.5, -0.5, 0.5, 0.5, 0.5, 0.7, -0.7], rtol=1e-6)
    for name in ("floor", "ceil", "trunc", "round", "frac"):
        assert getattr(torch, name)(x).dtype == torch.float32
    assert round(torch.tensor(2.5)).item() == 2.0  # Python's round() of a tensor: a tensor


def test_round_with_decimals():
    x = torch.tensor([1.25, 1.35, 0.125, 1234.5678, -0.05])
    np.testing.assert_allclose(x.round(decimals=1).numpy(), [1.2, 1.4, 0.1, 1234.6, -0.0], rtol=1e-6)
    np.testing.assert_allclose(torch.round(x, decimals=2).numpy(), [1.25, 1.35, 0.12, 1234.57, -0.05], rtol=1e-6)
    assert torch.tensor([1234.5678, 150.0, 250.0]).round(decimals=-2).tolist() == [1200.0, 200.0, 200.0]


def test_rounding_keeps_integers_and_refuses_bools():
    ints = torch.tensor([1, -2, 3], dtype=torch.int32)
    for name in ("floor", "ceil", "trunc", "round"):
        out = getattr(ints, name)()
        assert out.dtype == torch.int32 and out.tolist() == [1, -2, 3]
        with pytest.raises(NotImplementedError, match="Bool"):
            getattr(torch.tensor([True, False]), name)()
    with pytest.raises(NotImplementedError, match="Long"):
        torch.tensor([1234]).round(decimals=-2)
    with pytest.raises(NotImplementedError, match="frac.*Long"):
        torch.tensor([1, 2]).frac()


def test_rounding_is_in_the_graph_with_zero_gradient():
    x = leaf([1.5, -2.3, 0.7], torch.float32)
    y = x.floor()
    assert y.requires_grad and y.grad_fn is not None
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]
    for op in (torch.ceil, torch.trunc, torch.round, lambda t: t.round(decimals=1)):
        x.grad = None
        (op(x) * 3.0).sum().backward()
        assert x.grad.tolist() == [0.0, 0.0, 0.0]
    x.grad = None
    (x.frac() * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert x.grad.tolist() == [1.0, 2.0, 3.0]  # frac = x - trunc(x): slope one


# ---- log2, exp2, tan, expm1, log1p ------------------------------------------------------------------
def test_log_exp_family_values_and_dtypes():
    x = torch.tensor([0.5, 1.0, 2.0, 8.0])
    np.testing.assert_allclose(torch.log2(x).numpy(), [-1, 0, 1, 3], rtol=1e-6)
    np.testing.assert_allclose(x.exp2().numpy(), [2**0.5, 2, 4, 256], rtol=1e-6)
    np.testing.assert_allclose(torch.tan(torch.tensor([0.0, math.pi / 4])).numpy(), [0, 1], atol=1e-6)
    ints = torch.tensor([1, 2, 3])
    for name in ("log2", "exp2", "tan", "expm1", "log1p"):
        assert getattr(ints, name)().dtype == torch.float32  # integers compute in the default float
        assert getattr(torch, name)(torch.ones(2, dtype=torch.float64)).dtype == torch.float64


def test_log1p_and_expm1_keep_the_digits_of_tiny_inputs():
    tiny = torch.tensor([1e-10, -1e-9])  # 1 + 1e-10 rounds to 1 in float32: log(1 + x) would be 0
    np.testing.assert_allclose(tiny.log1p().numpy(), [1e-10, -1e-9], rtol=1e-6)
    np.testing.assert_allclose(torch.expm1(tiny).numpy(), [1e-10, -1e-9], rtol=1e-6)


def test_log_exp_family_gradients():
    x = leaf([0.3, 0.9, 2.0])
    for fn in (torch.log2, torch.exp2, torch.tan, torch.expm1, torch.log1p):
        assert gradcheck(fn, [x])
        assert gradgradcheck(fn, [x])
    y = leaf([1.0, 4.0])
    y.log2().sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), 1 / (np.array([1.0, 4.0]) * math.log(2)))


def test_log_of_zero_and_negatives_warns_nothing():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = torch.tensor([0.0, -1.0]).log2()
        assert out[0].item() == -math.inf and math.isnan(out[1].item())
        assert torch.tensor([-1.0]).log1p().item() == -math.inf
        assert torch.tensor([1000.0]).exp2().item() == math.inf


# ---- cumsum, cumprod -----------------------------------------------------------------------------
def test_cumsum_and_cumprod_values():
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert x.cumsum(1).tolist() == [[1, 3, 6], [4, 9, 15]]
    assert torch.cumsum(x, dim=0).tolist() == [[1, 2, 3], [5, 7, 9]]
    assert x.cumprod(-1).tolist() == [[1, 2, 6], [4, 20, 120]]
    assert torch.tensor(3.0).cumsum(0).item() == 3.0  # a 0-d tensor: dim 0 or -1


def test_cumsum_dtypes_follow_pytorch():
    i32 = torch.tensor([1, -2, 3], dtype=torch.int32)
    assert i32.cumsum(0).dtype == torch.int64  # integers accumulate in int64, like sum
    assert i32.cumprod(0).tolist() == [1, -2, -6] and i32.cumprod(0).dtype == torch.int64
    assert torch.tensor([True, True, False]).cumsum(0).tolist() == [1, 2, 2]
    assert i32.cumsum(0, dtype=torch.float64).dtype == torch.float64
    assert torch.tensor([1.5, 2.5]).cumsum(0, dtype=torch.int32).dtype == torch.int32


def test_cumsum_errors():
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-1, 0\], but got 1\)"):
        torch.ones(3).cumsum(1)
    with pytest.raises(TypeError):
        torch.ones(3).cumsum()  # dim is required, as in PyTorch


def test_cumsum_gradient_is_the_reversed_cumsum():
    x = leaf([1.0, 2.0, 3.0, 4.0])
    (x.cumsum(0) * torch.tensor([1.0, 10.0, 100.0, 1000.0], dtype=torch.float64)).sum().backward()
    assert x.grad.tolist() == [1111.0, 1110.0, 1100.0, 1000.0]


def test_cumprod_gradient_with_zeros_in_the_input():
    # d/dx_k of sum_j g_j * prod_{i<=j} x_i, by hand (and PyTorch's answer)
    x = leaf([2.0, 0.0, 3.0, 0.0, 4.0])
    x.cumprod(0).backward(torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0], dtype=torch.float64))
    assert x.grad.tolist() == [1.0, 22.0, 0.0, 0.0, 0.0]
    # the same through the recorded (create_graph) backward, and its second derivative
    x = leaf([2.0, 0.0, 3.0, 0.0, 4.0])
    (g,) = torch.autograd.grad(x.cumprod(0).sum(), x, create_graph=True)
    assert g.tolist() == [1.0, 8.0, 0.0, 0.0, 0.0]
    (gg,) = torch.autograd.grad(g.sum(), x)
    assert gg.tolist() == [4.0, 36.0, 2.0, 30.0, 0.0]
    rows = leaf([[0.0, 1.5, -2.0], [1.2, 0.0, 0.0], [0.5, -1.0, 2.0]])
    assert gradcheck(lambda t: t.cumprod(1), [rows]) and gradgradcheck(lambda t: t.cumprod(1), [rows])


# ---- tril, triu ----------------------------------------------------------------------------------
def test_tril_triu():
    m = torch.arange(1, 10).reshape(3, 3)
    assert m.tril().tolist() == [[1, 0, 0], [4, 5, 0], [7, 8, 9]]
    assert torch.triu(m, diagonal=1).tolist() == [[0, 2, 3], [0, 0, 6], [0, 0, 0]]
    assert m.tril(-1).tolist() == [[0, 0, 0], [4, 0, 0], [7, 8, 0]]
    batch = torch.ones(2, 3, 3, dtype=torch.int32).triu()
    assert batch.shape == (2, 3, 3) and batch.dtype == torch.int32 and batch.sum().item() == 12
    causal = torch.ones(4, 4).tril() == 0  # the attention-mask idiom
    assert causal.sum().item() == 6
    with pytest.raises(RuntimeError, match="tril: input tensor must have at least 2 dimensions"):
        torch.ones(3).tril()
    x = leaf(np.ones((3, 3)))
    (x.triu() * 2.0).sum().backward()
    assert x.grad.tolist() == [[2, 2, 2], [0, 2, 2], [0, 0, 2]]


# ---- flip, roll, repeat ------------------------------------------------------------------------
def test_flip_forms():
    a = torch.arange(6).reshape(2, 3)
    assert a.flip(0).tolist() == [[3, 4, 5], [0, 1, 2]]
    assert a.flip(0, 1).tolist() == a.flip([0, 1]).tolist() == a.flip(dims=(1, 0)).tolist() == [[5, 4, 3], [2, 1, 0]]
    assert torch.flip(a, [-1]).tolist() == [[2, 1, 0], [5, 4, 3]]
    flipped = a.flip(1)
    assert flipped.is_contiguous() and flipped.stride() == (3, 1)  # a copy, as in PyTorch
    flipped[0, 0] = 100
    assert a[0, 2].item() == 2
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times in the list of dims"):
        a.flip(0, 0)
    with pytest.raises(IndexError, match="Dimension out of range"):
        a.flip(2)
    with pytest.raises(TypeError):
        a.flip()


def test_roll():
    a = torch.arange(6).reshape(2, 3)
    assert a.roll(1).tolist() == [[5, 0, 1], [2, 3, 4]]  # no dims: the flattened tensor
    assert a.roll(1, 1).tolist() == [[2, 0, 1], [5, 3, 4]]
    assert torch.roll(a, shifts=(1, 1), dims=(0, 1)).tolist() == [[5, 3, 4], [2, 0, 1]]
    assert a.roll(shifts=-4, dims=1).tolist() == [[1, 2, 0], [4, 5, 3]]
    with pytest.raises(RuntimeError, match="shifts and dimensions must align. shifts: 2, dims:1"):
        a.roll((1, 1), (0,))
    with pytest.raises(RuntimeError, match="shifts and dimensions must align. shifts: 2, dims:0"):
        a.roll([1, 2])
    x = leaf([1.0, 2.0, 3.0])
    (x.roll(1) * torch.tensor([10.0, 20.0, 30.0], dtype=torch.float64)).sum().backward()
    assert x.grad.tolist() == [20.0, 30.0, 10.0]


def test_repeat_forms_and_gradient():
    a = torch.tensor([[1, 2], [3, 4]])
    assert a.repeat(2, 1).tolist() == a.repeat([2, 1]).tolist() == a.repeat((2, 1)).tolist() == [[1, 2], [3, 4]] * 2
    assert a.repeat(2, 1, 3).shape == (2, 2, 6)  # a new leading dim
    assert torch.tensor(5).repeat(3).tolist() == [5, 5, 5]
    assert a.repeat(0, 1).shape == (0, 2)
    with pytest.raises(RuntimeError, match="Number of dimensions of repeat dims can not be smaller"):
        a.repeat(2)
    with pytest.raises(RuntimeError, match="negative dimension -2"):
        a.repeat(-1, 1)
    x = leaf([1.0, 2.0])
    (x.repeat(3) * torch.arange(6.0, dtype=torch.float64)).sum().backward()
    assert x.grad.tolist() == [0 + 2 + 4, 1 + 3 + 5]  # each element gathers the gradient of its copies


# ---- diag, sum_to_size -----------------------------------------------------------------------------
def test_diag_both_ways():
    v = torch.tensor([1, 2, 3])
    assert v.diag().tolist() == [[1, 0, 0], [0, 2, 0], [0, 0, 3]]
    assert torch.diag(v, 1).shape == (4, 4) and torch.diag(v, 1)[0, 1].item() == 1
    assert torch.diag(v, -1)[1, 0].item() == 1
    m = torch.arange(6).reshape(2, 3)
    assert m.diag().tolist() == [0, 4] and m.diag(1).tolist() == [1, 5] and m.diag(-1).tolist() == [3]
    assert m.diag(5).tolist() == []
    with pytest.raises(RuntimeError, match=r"diag\(\): Supports 1D or 2D tensors. Got 3D"):
        torch.ones(2, 2, 2).diag()
    x = leaf(np.arange(6.0).reshape(2, 3))
    x.diag(1).sum().backward()
    assert x.grad.tolist() == [[0, 1, 0], [0, 0, 1]]
    v = leaf([1.0, 2.0])
    (v.diag() * torch.tensor([[1.0, 5.0], [5.0, 3.0]], dtype=torch.float64)).sum().backward()
    assert v.grad.tolist() == [1.0, 3.0]


def test_sum_to_size():
    x = torch.ones(2, 3)
    assert x.sum_to_size(1, 3).tolist() == [[2, 2, 2]]
    assert x.sum_to_size(3).tolist() == [2, 2, 2]
    assert x.sum_to_size((2, 1)).tolist() == [[3], [3]]
    assert x.sum_to_size([]).item() == 6
    assert x.sum_to_size(2, 3) is x
    assert torch.ones(2, 3, dtype=torch.int32).sum_to_size(3).dtype == torch.int64
    with pytest.raises(RuntimeError, match=r"size \{\[4, 3\]\} is not expandable to size \{\[2, 3\]\}"):
        x.sum_to_size(4, 3)
    # the gradient idiom: a broadcast operand's gradient, summed back to its shape
    b = leaf([[1.0, 2.0, 3.0]])
    (torch.ones(4, 3, dtype=torch.float64) * b).sum_to_size(1, 3).sum().backward()
    assert b.grad.tolist() == [[4.0, 4.0, 4.0]]


# ---- einsum --------------------------------------------------------------------------------------
def test_einsum_forms():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    ta, tb = torch.tensor(a), torch.tensor(b)
    np.testing.assert_allclose(torch.einsum("ij,jk->ik", ta, tb).numpy(), a @ b)
    np.testing.assert_allclose(torch.einsum("ij,jk", [ta, tb]).numpy(), a @ b)  # one list; implicit output
    np.testing.assert_allclose(torch.einsum("i j , j k -> k i", ta, tb).numpy(), (a @ b).T)  # spaces
    np.testing.assert_allclose(torch.einsum(ta, [0, 1], tb, [1, 2], [0, 2]).numpy(), a @ b)  # sublists
    assert torch.einsum("ba", ta).shape == (3, 2)  # implicit output is alphabetical
    sq = torch.arange(9.0).reshape(3, 3)
    assert torch.einsum("ii", sq).item() == 12.0  # a trace
    assert torch.einsum("ii->i", sq).tolist() == [0.0, 4.0, 8.0]  # a diagonal
    batch = torch.ones(5, 1, 2, 3)
    assert torch.einsum("...ij,...jk->...ik", batch, torch.ones(7, 3, 4)).shape == (5, 7, 2, 4)
    assert torch.einsum("...ij,...jk", torch.ones(5, 2, 3), torch.ones(3, 4)).shape == (5, 2, 4)
    assert torch.einsum("i,i", torch.ones(1), torch.ones(3)).item() == 3.0  # a size-1 dim broadcasts
    assert torch.einsum("i,i", torch.tensor([1, 2]), torch.tensor([3, 4])).dtype == torch.int64


def test_einsum_errors_use_pytorchs_words():
    a, b = torch.ones(2, 3), torch.ones(3, 4)
    with pytest.raises(RuntimeError, match="output subscript i appears more than once in the output"):
        torch.einsum("ij,jk->ii", a, b)
    with pytest.raises(RuntimeError, match="output subscript z does not appear in the equation for any input operand"):
        torch.einsum("ij,jk->iz", a, b)
    with pytest.raises(RuntimeError, match="subscript j has size 2 for operand 1 which does not broadcast"):
        torch.einsum("ij,jk", a, a)
    with pytest.raises(RuntimeError, match="fewer operands were provided than specified in the equation"):
        torch.einsum("ij,jk", a)
    with pytest.raises(RuntimeError, match="more operands were provided than specified in the equation"):
        torch.einsum("ij->", a, b)
    with pytest.raises(RuntimeError, match=r"number of subscripts in the equation \(3\) does not match"):
        torch.einsum("ijk,jk", a, b)
    with pytest.raises(RuntimeError, match=r"subscripts must be in \[a-zA-Z\]"):
        torch.einsum("i1,1k", a, b)
    with pytest.raises(RuntimeError, match="expected scalar type Float but found Double"):
        torch.einsum("i,i", torch.ones(2), torch.ones(2, dtype=torch.float64))


def test_einsum_gradients_are_einsums_of_the_other_operands():
    rng = np.random.default_rng(1)
    a, b = leaf(rng.standard_normal((2, 3))), leaf(rng.standard_normal((3, 4)))
    g = rng.standard_normal((2, 4))
    torch.einsum("ij,jk->ik", a, b).backward(torch.tensor(g))
    np.testing.assert_allclose(a.grad.numpy(), g @ b.detach().numpy().T)
    np.testing.assert_allclose(b.grad.numpy(), a.detach().numpy().T @ g)
    sq = leaf(rng.standard_normal((3, 3)))
    torch.einsum("ii", sq).backward()
    assert sq.grad.tolist() == np.eye(3).tolist()  # the trace's gradient is the identity
    for eq, shapes in [
        ("ii->i", [(3, 3)]),
        ("iij->j", [(2, 2, 3)]),
        ("ijk,jl->il", [(2, 3, 2), (3, 2)]),
        ("...ij,...jk", [(2, 1, 2, 3), (3, 3, 2)]),
        ("i,i", [(1,), (3,)]),
        ("bn,bn,n->b", [(2, 3), (2, 3), (3,)]),
    ]:
        ops = [leaf(rng.standard_normal(s)) for s in shapes]
        assert gradcheck(lambda *t, eq=eq: torch.einsum(eq, *t), ops), eq
        assert gradgradcheck(lambda *t, eq=eq: torch.einsum(eq, *t), ops), eq


# ---- norms ---------------------------------------------------------------------------------------
def test_vector_norms_of_every_order():
    v = torch.tensor([3.0, -4.0, 0.0])
    expect = {2: 5.0, 1: 7.0, math.inf: 4.0, -math.inf: 0.0, 0: 2.0, 3: (27 + 64) ** (1 / 3), 0.5: (3**0.5 + 2) ** 2}
    for ord_, value in expect.items():
        assert torch.linalg.vector_norm(v, ord=ord_).item() == pytest.approx(value, rel=1e-6), ord_
        assert torch.linalg.norm(v, ord=ord_).item() == pytest.approx(value, rel=1e-6), ord_
        assert torch.norm(v, p=ord_).item() == pytest.approx(value, rel=1e-6), ord_
    assert torch.linalg.vector_norm(v, ord=-1).item() == 0.0  # a zero element: harmonic-like norms are 0
    assert v.norm().item() == 5.0 and torch.linalg.norm(v).item() == 5.0


def test_norm_dims_keepdim_and_frobenius():
    m = torch.tensor([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]])
    fro = math.sqrt(91)
    assert m.norm().item() == pytest.approx(fro) and torch.linalg.norm(m).item() == pytest.approx(fro)
    assert torch.linalg.norm(m, "fro").item() == pytest.approx(fro)
    assert torch.linalg.matrix_norm(m).item() == pytest.approx(fro)
    assert m.norm(dim=1, keepdim=True).shape == (2, 1)
    np.testing.assert_allclose(m.norm(p=1, dim=1).numpy(), [6, 15])
    np.testing.assert_allclose(torch.norm(m, 2, 1).numpy(), [math.sqrt(14), math.sqrt(77)], rtol=1e-6)
    assert torch.linalg.norm(m, ord=1).item() == 9.0  # the largest absolute column sum
    assert torch.linalg.norm(m, ord=-1).item() == 5.0
    assert torch.linalg.norm(m, ord=math.inf).item() == 15.0  # the largest absolute row sum
    assert torch.norm(m, p=math.inf).item() == 6.0  # torch.norm: a vector norm over all elements
    batch = torch.ones(2, 3, 4)
    np.testing.assert_allclose(torch.linalg.norm(batch, dim=(1, 2)).numpy(), [math.sqrt(12)] * 2, rtol=1e-6)
    assert torch.linalg.vector_norm(torch.ones(2, 3), dtype=torch.float64).dtype == torch.float64


def test_spectral_and_nuclear_norms():
    """ord 2 / -2 / 'nuc': the largest, smallest and summed singular values, with U Vᵀ gradients."""
    m = torch.tensor([[3.0, 0.0], [0.0, -4.0], [0.0, 0.0]], requires_grad=True)  # singular values 4, 3
    assert torch.linalg.svdvals(m).tolist() == pytest.approx([4.0, 3.0])
    assert torch.linalg.norm(m, ord=2).item() == pytest.approx(4.0)
    assert torch.linalg.matrix_norm(m, ord=-2).item() == pytest.approx(3.0)
    nuc = torch.norm(m, p="nuc")
    assert nuc.item() == pytest.approx(7.0)
    nuc.backward()  # d(sum s)/dA = U Vᵀ: here the signs of the diagonal
    np.testing.assert_allclose(m.grad.numpy(), [[1, 0], [0, -1], [0, 0]], atol=1e-6)
    m.grad = None
    torch.linalg.matrix_norm(m, 2).backward()  # d(max s)/dA = u1 v1ᵀ: only the -4 entry
    np.testing.assert_allclose(m.grad.numpy(), [[0, 0], [0, -1], [0, 0]], atol=1e-6)
    batch = torch.randn(3, 2, 4, 5)
    out = torch.linalg.matrix_norm(batch, "nuc", dim=(1, 3), keepdim=True)
    assert out.shape == (3, 1, 4, 1)
    expected = np.linalg.svd(np.moveaxis(batch.numpy(), (1, 3), (-2, -1)), compute_uv=False).sum(-1)
    np.testing.assert_allclose(out.numpy()[:, 0, :, 0], expected, rtol=1e-5)
    assert torch.linalg.matrix_norm(torch.zeros(0, 3), 2).item() == 0.0  # no singular values
    with pytest.raises(RuntimeError, match="not differentiable twice"):
        (g,) = torch.autograd.grad(torch.linalg.matrix_norm(m, "nuc"), m, create_graph=True)
        g.sum().backward()


def test_norm_errors():
    with pytest.raises(RuntimeError, match="Expected a floating point or complex tensor as input. Got Long"):
        torch.tensor([1, 2]).norm()
    with pytest.raises(RuntimeError, match="must be 1D or 2D. Got 3D"):
        torch.linalg.norm(torch.ones(2, 3, 4), ord=2)
    with pytest.raises(RuntimeError, match="it must be of length 1 or 2"):
        torch.linalg.norm(torch.ones(2, 3, 4), dim=(0, 1, 2))
    with pytest.raises(RuntimeError, match="Order 3 not supported"):
        torch.linalg.norm(torch.ones(2, 3), ord=3)
    with pytest.raises(RuntimeError, match="dim must be a 2-tuple. Got 0 1 2"):
        torch.norm(torch.ones(2, 3, 4), p="nuc")
    with pytest.raises(RuntimeError, match="linalg.svd: The input tensor A must have at least 2 dimensions"):
        torch.linalg.svdvals(torch.ones(3))
    with pytest.raises(RuntimeError, match="cannot compute the inf norm on an empty tensor"):
        torch.linalg.vector_norm(torch.ones(0, 3), ord=math.inf)
    with pytest.raises(TypeError, match="'ord' must be Number"):
        torch.linalg.vector_norm(torch.ones(3), ord="fro")


def test_norm_gradients():
    x = leaf([3.0, -4.0])
    x.norm().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.6, -0.8])
    x = leaf([3.0, -3.0, 1.0])
    torch.linalg.vector_norm(x, ord=math.inf).backward()
    assert x.grad.tolist() == [0.5, -0.5, 0.0]  # ties share the gradient
    x = leaf([0.0, 2.0, -1.0])
    torch.linalg.vector_norm(x, ord=1).backward()
    assert x.grad.tolist() == [0.0, 1.0, -1.0]
    m = leaf(np.random.default_rng(2).standard_normal((3, 4)))
    for fn in (lambda t: t.norm(), lambda t: t.norm(p=3, dim=1), lambda t: torch.linalg.norm(t, 1)):
        assert gradcheck(fn, [m]) and gradgradcheck(fn, [m])


def test_the_2_norm_of_the_zero_vector_has_gradient_zero_not_nan():
    x = leaf([0.0, 0.0, 0.0])
    y = torch.linalg.vector_norm(x)
    assert y.item() == 0.0
    y.backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]
    for ord_ in (2, 3, 1.5, 0.5, -1, math.inf):
        x = leaf([0.0, 0.0])
        (g,) = torch.autograd.grad(torch.linalg.vector_norm(x, ord=ord_), x, create_graph=True)
        assert g.tolist() == [0.0, 0.0], ord_
        if g.requires_grad:  # (the inf-norm's gradient is a constant times the incoming one)
            (gg,) = torch.autograd.grad(g.sum(), x, allow_unused=True)
            assert gg is None or np.isfinite(gg.numpy()).all(), ord_
    rows = leaf([[0.0, 0.0], [3.0, 4.0]])
    rows.norm(dim=1).sum().backward()
    np.testing.assert_allclose(rows.grad.numpy(), [[0, 0], [0.6, 0.8]])


# ---- scatter -------------------------------------------------------------------------------------
def test_one_hot_with_scatter_like_deep_learning_with_pytorch_ch7():
    class_index = torch.tensor([[0], [2], [1]])
    truth = torch.zeros(3, 3)
    out = truth.scatter_(dim=1, index=class_index, value=1.0)
    assert out is truth
    assert truth.tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0]]
    assert torch.zeros(3, 3).scatter(1, class_index, 1.0).tolist() == truth.tolist()
    assert torch.scatter(torch.zeros(3, 3), 1, class_index, 1.0).tolist() == truth.tolist()


def test_scatter_with_src_reduce_and_scatter_add():
    z = torch.zeros(2, 4)
    idx = torch.tensor([[3, 0], [1, 1]])
    src = torch.tensor([[1.0, 2.0, 9.0], [3.0, 4.0, 9.0]])  # src may be larger than index
    assert z.scatter(1, torch.tensor([[3, 0], [1, 2]]), src).tolist() == [[2, 0, 0, 1], [0, 3, 4, 0]]
    assert z.scatter(1, idx, src, reduce="add").tolist() == [[2, 0, 0, 1], [0, 7, 0, 0]]
    assert z.scatter_add(1, idx, src).tolist() == [[2, 0, 0, 1], [0, 7, 0, 0]]
    assert torch.ones(2, 4).scatter(1, idx, 3.0, reduce="multiply").tolist() == [[3, 1, 1, 3], [1, 9, 1, 1]]
    t = torch.zeros(2, 4)
    t.scatter_add_(0, torch.tensor([[1, 1, 0, 0]]), torch.ones(1, 4))
    assert t.tolist() == [[0, 0, 1, 1], [1, 1, 0, 0]]
    ints = torch.zeros(2, 2, dtype=torch.int64).scatter(1, torch.tensor([[1], [0]]), 7)
    assert ints.dtype == torch.int64 and ints.tolist() == [[0, 7], [7, 0]]


def test_scatter_index_errors_name_the_dim_and_bounds():
    z = torch.zeros(3, 5)
    with pytest.raises(RuntimeError, match="index 5 is out of bounds for dimension 1 with size 5"):
        z.scatter(1, torch.tensor([[5]]), 1.0)
    with pytest.raises(RuntimeError, match="index -1 is out of bounds for dimension 0 with size 3"):
        z.scatter(0, torch.tensor([[-1]]), 1.0)
    with pytest.raises(RuntimeError, match="Expected dtype int32/int64 for index"):
        z.scatter(1, torch.tensor([[1.0]]), 1.0)
    with pytest.raises(RuntimeError, match="same number of dimensions as self tensor"):
        z.scatter(1, torch.tensor([1]), 1.0)
    with pytest.raises(
        RuntimeError, match=r"Expected index \[4, 1\] to be no larger than self \[3, 5\] apart from dimension 1"
    ):
        z.scatter(1, torch.zeros(4, 1, dtype=torch.int64), 1.0)
    with pytest.raises(RuntimeError, match="Expected self.dtype to be equal to src.dtype"):
        z.scatter(1, torch.tensor([[0]]), torch.ones(1, 1, dtype=torch.float64))
    with pytest.raises(RuntimeError, match="reduce argument must be either add or multiply"):
        z.scatter(1, torch.tensor([[0]]), 1.0, reduce="mean")
    with pytest.raises(IndexError, match="Dimension out of range"):
        z.scatter(2, torch.tensor([[0]]), 1.0)


def test_scatter_gradients():
    x = leaf(np.arange(6.0).reshape(2, 3))
    src = leaf([[10.0, 20.0], [30.0, 40.0]])
    idx = torch.tensor([[2, 0], [1, 2]])
    out = x.scatter(1, idx, src)
    assert out.tolist() == [[20, 1, 10], [3, 30, 40]]
    out.backward(torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=torch.float64))
    assert x.grad.tolist() == [[0, 2, 0], [4, 0, 0]]  # overwritten elements get none
    assert src.grad.tolist() == [[3, 1], [5, 6]]  # src gets the gradient where it landed
    big = leaf([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    torch.zeros(2, 3, dtype=torch.float64).scatter(1, torch.tensor([[1], [0]]), big).sum().backward()
    assert big.grad.tolist() == [[1, 0, 0], [1, 0, 0]]  # index smaller than src: the rest gets zero
    a, s = leaf([[1.0, 2.0], [3.0, 4.0]]), leaf([[1.0, 2.0]])
    assert gradgradcheck(lambda a, s: a.scatter_add(0, torch.tensor([[1, 1]]), s * s) * a, [a, s])
    with pytest.raises(RuntimeError, match="reduce='multiply' is not implemented"):
        x.scatter(1, idx, 2.0, reduce="multiply")


def test_scatter_in_place_goes_through_autograd_and_bumps_the_version():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation"):
        x.scatter_(1, torch.tensor([[0], [1]]), 0.0)
    y = x * 1.0
    before = y._version.value
    y.scatter_(1, torch.tensor([[0], [1]]), 0.0)
    assert y._version.value == before + 1
    (y * 2.0).sum().backward()
    assert x.grad.tolist() == [[0, 2], [2, 0]]
    # sigmoid saved its output for backward; changing it in place is caught, as in PyTorch
    s = x.sigmoid()
    s.scatter_(1, torch.tensor([[0], [1]]), 0.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        s.sum().backward()
    with torch.no_grad():
        plain = torch.zeros(2, 2)
        assert plain.scatter_add_(0, torch.tensor([[1, 0]]), torch.ones(1, 2)) is plain
    assert plain.tolist() == [[0, 1], [1, 0]]


# ---- multinomial ---------------------------------------------------------------------------------
def test_multinomial_shapes_and_rules():
    torch.manual_seed(0)
    probs = torch.tensor([0.1, 0.0, 0.6, 0.3])
    draws = torch.multinomial(probs, 2)
    assert draws.shape == (2,) and draws.dtype == torch.int64
    assert len(set(draws.tolist())) == 2 and 1 not in draws.tolist()  # no repeats, never the zero
    assert sorted(torch.multinomial(probs, 3).tolist()) == [0, 2, 3]
    batch = torch.tensor([[1.0, 1.0, 0.0], [0.0, 0.0, 5.0]])
    out = batch.multinomial(5, replacement=True)
    assert out.shape == (2, 5) and set(out[1].tolist()) == {2} and 2 not in out[0].tolist()
    assert sorted(torch.multinomial(torch.tensor([1.0, 0.0, 0.0]), 2).tolist())[0] == 0


def test_multinomial_frequencies_follow_the_weights():
    gen = np.random.default_rng(7)
    weights = torch.tensor([1.0, 2.0, 3.0, 4.0])  # unnormalized
    draws = torch.multinomial(weights, 20000, replacement=True, generator=gen).numpy()
    freq = np.bincount(draws, minlength=4) / draws.size
    np.testing.assert_allclose(freq, [0.1, 0.2, 0.3, 0.4], atol=0.015)  # > 4 standard errors
    # without replacement the first draw follows the weights too
    firsts = torch.multinomial(weights.expand(20000, 4).contiguous(), 2, generator=gen)[:, 0].numpy()
    np.testing.assert_allclose(np.bincount(firsts, minlength=4) / firsts.size, [0.1, 0.2, 0.3, 0.4], atol=0.015)


def test_multinomial_repeats_under_a_seed():
    torch.manual_seed(3)
    a = torch.multinomial(torch.ones(10), 5).tolist()
    torch.manual_seed(3)
    assert torch.multinomial(torch.ones(10), 5).tolist() == a


def test_multinomial_errors():
    with pytest.raises(RuntimeError, match="probability tensor contains either `inf`, `nan` or element < 0"):
        torch.multinomial(torch.tensor([1.0, -1.0]), 1)
    with pytest.raises(RuntimeError, match=r"invalid multinomial distribution \(sum of probabilities <= 0\)"):
        torch.multinomial(torch.tensor([[0.0, 0.0], [1.0, 1.0]]), 1)
    with pytest.raises(RuntimeError, match="cannot sample n_sample > prob_dist.size"):
        torch.multinomial(torch.tensor([1.0, 1.0]), 3)
    with pytest.raises(RuntimeError, match="cannot sample n_sample <= 0 samples"):
        torch.multinomial(torch.ones(2), 0)
    with pytest.raises(RuntimeError, match="prob_dist must be 1 or 2 dim"):
        torch.multinomial(torch.ones(2, 2, 2), 1)
    with pytest.raises(RuntimeError, match="only supports floating-point dtypes for input, got: Long"):
        torch.multinomial(torch.tensor([1, 2]), 1)


# ---- against PyTorch itself ------------------------------------------------------------------------
CASES = {
    "floor": lambda t, x: x.floor(),
    "round_decimals": lambda t, x: x.round(decimals=2),
    "frac": lambda t, x: x.frac(),
    "log2": lambda t, x: x.abs().log2(),
    "exp2": lambda t, x: t.exp2(x),
    "tan": lambda t, x: x.tan(),
    "expm1": lambda t, x: x.expm1(),
    "log1p": lambda t, x: x.abs().log1p(),
    "cumsum": lambda t, x: x.cumsum(1),
    "cumprod": lambda t, x: t.cumprod(x, dim=0),
    "tril": lambda t, x: x.tril(-1),
    "triu": lambda t, x: t.triu(x, 1),
    "flip": lambda t, x: x.flip(0, 2),
    "roll": lambda t, x: x.roll((1, -1), (0, 2)),
    "repeat": lambda t, x: x.repeat(1, 2, 1, 2),
    "diag": lambda t, x: x[0].diag(1),
    "sum_to_size": lambda t, x: x.sum_to_size(1, 3, 1),
    "einsum": lambda t, x: t.einsum("bij,bkj->bik", x, x),
    "einsum_diag": lambda t, x: t.einsum("iij->j", x[:, :2, :2]),
    "norm": lambda t, x: x.norm(dim=(1, 2)),
    "vector_norm_3": lambda t, x: t.linalg.vector_norm(x, 3, dim=-1),
    "linalg_norm_inf": lambda t, x: t.linalg.norm(x[0], math.inf),
    "scatter": lambda t, x: x.scatter(1, t.tensor([[[0, 1, 2, 0]], [[2, 0, 1, 1]]]), 0.5 * x[:, :1]),
    "scatter_add": lambda t, x: x.scatter_add(2, t.tensor([[[0, 0]], [[3, 1]]]), x[:, :1, :2]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients_match_pytorch(name):
    real = pytest.importorskip("torch")
    fn = CASES[name]
    data = np.random.default_rng(5).uniform(-2, 2, (2, 3, 4))
    mine, theirs = torch.tensor(data, requires_grad=True), real.tensor(data, requires_grad=True)
    out_mine, out_theirs = fn(torch, mine), fn(real, theirs)
    assert tuple(out_mine.shape) == tuple(out_theirs.shape)
    np.testing.assert_allclose(out_mine.detach().numpy(), out_theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    weights = np.random.default_rng(6).standard_normal(tuple(out_theirs.shape))
    (out_mine * torch.tensor(weights)).sum().backward()
    (out_theirs * real.tensor(weights)).sum().backward()
    np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_movedim_is_a_permute_view_like_numpys_moveaxis():
    a = np.arange(120.0).reshape(2, 3, 4, 5)
    for source, destination in [(1, -1), ((0, 1), (2, 3)), ((3, 0), (0, 1)), ([0, 3], [3, 0]), ((), ())]:
        got = torch.tensor(a).movedim(source, destination)
        np.testing.assert_array_equal(got.numpy(), np.moveaxis(a, source, destination))
    x = torch.tensor(a, requires_grad=True)
    y = torch.movedim(x, 0, -1)
    assert y.shape == (3, 4, 5, 2) and torch.moveaxis(x, 3, 0).shape == (5, 2, 3, 4)
    (y * torch.arange(2.0)).sum().backward()  # weight 0 for x[0], 1 for x[1]
    np.testing.assert_array_equal(x.grad.numpy()[0], 0.0)
    np.testing.assert_array_equal(x.grad.numpy()[1], 1.0)
    base = torch.zeros(2, 3)
    base.movedim(0, 1)[2, 1] = 7.0  # a view: writes reach the base
    assert base[1, 2].item() == 7.0
    with pytest.raises(RuntimeError, match=r"should contain the same number of dims as destination \(\[2\] dims\)"):
        x.movedim((0, 1), (2,))
    with pytest.raises(RuntimeError, match=r"repeated dim in `source` \(\[0, 0\]\)"):
        x.movedim((0, 0), (1, 2))
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.movedim(5, 0)
