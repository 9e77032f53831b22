"""Conv1d, ConvTranspose2d, Embedding, LayerNorm and scaled_dot_product_attention, written the way
PyTorch code uses them: values against the loop references of ``oprows_nnlayers``, gradients with
known values, shapes, dtypes, state_dict keys, reprs, init and errors. The op table runs the
hypothesis-drawn gradchecks; where torch is installed, a few tests also compare with it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from oprows_nnlayers import ref_attention, ref_conv1d, ref_conv_transpose2d, ref_layer_norm

import tinygrad_ko as torch
import tinygrad_ko.nn.functional as F
from tinygrad_ko import nn
from tinygrad_ko.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(0)


def _t(*shape, dtype=np.float32, requires_grad=False):
    return torch.from_numpy(RNG.standard_normal(shape).astype(dtype)).requires_grad_(requires_grad)


# ---- conv1d --------------------------------------------------------------------------------------
CONV1D_CASES = [
    ((2, 3, 10), (4, 3, 3), {}),
    ((2, 3, 10), (4, 3, 3), {"stride": 2, "padding": 1}),
    ((2, 3, 11), (4, 3, 4), {"padding": "same", "dilation": 2}),  # even kernel: the extra pad goes right
    ((1, 4, 9), (6, 2, 3), {"groups": 2, "padding": (1,), "stride": (2,)}),
    ((2, 4, 7), (4, 1, 5), {"groups": 4, "padding": "valid"}),  # depthwise
]


@pytest.mark.parametrize("xs,ws,kw", CONV1D_CASES)
def test_conv1d_matches_reference(xs, ws, kw):
    x, w, b = _t(*xs), _t(*ws), _t(ws[0])
    out = F.conv1d(x, w, b, **kw)
    ref_kw = {k: (v[0] if isinstance(v, tuple) else v) for k, v in kw.items()}
    expected = ref_conv1d(x.numpy(), w.numpy(), b.numpy(), **ref_kw)
    assert out.shape == expected.shape and out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-4, atol=1e-5)


def test_conv1d_unbatched_input_and_gradients():
    x, w = _t(3, 8, requires_grad=True), _t(5, 3, 3, requires_grad=True)
    out = F.conv1d(x, w, padding=1)
    assert out.shape == (5, 8)
    out.sum().backward()
    batched = F.conv1d(x.detach().unsqueeze(0), w.detach(), padding=1)
    np.testing.assert_allclose(out.detach().numpy(), batched[0].numpy(), rtol=1e-6)
    assert x.grad.shape == (3, 8) and w.grad.shape == (5, 3, 3)
    # d(sum)/dw[o, c, j] = sum of the inputs tap j reads (zero padding on both ends)
    xp = np.pad(x.detach().numpy(), ((0, 0), (1, 1)))
    np.testing.assert_allclose(w.grad.numpy()[0], np.stack([xp[:, j : j + 8].sum(1) for j in range(3)], 1), rtol=1e-5)
    xd, wd = x.detach().double().requires_grad_(), w.detach().double().requires_grad_()
    assert gradcheck(lambda a, b: F.conv1d(a, b, stride=2, dilation=2, padding=2), (xd, wd))


def test_conv1d_module():
    torch.manual_seed(0)
    conv = nn.Conv1d(4, 6, 3, padding=1)
    assert conv.weight.shape == (6, 4, 3) and conv.bias.shape == (6,)
    assert list(conv.state_dict()) == ["weight", "bias"]
    assert conv.kernel_size == (3,) and conv.stride == (1,) and conv.padding == (1,)
    bound = 1 / math.sqrt(4 * 3)  # kaiming_uniform(a=sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    assert 0.8 * bound < np.abs(conv.weight.detach().numpy()).max() <= bound
    assert np.abs(conv.bias.detach().numpy()).max() <= bound
    assert conv(_t(2, 4, 9)).shape == (2, 6, 9)
    assert conv(_t(4, 9)).shape == (6, 9)
    assert repr(conv) == "Conv1d(4, 6, kernel_size=(3,), stride=(1,), padding=(1,))"
    assert (
        repr(nn.Conv1d(4, 4, 3, stride=2, padding=1, dilation=2, groups=2, bias=False))
        == "Conv1d(4, 4, kernel_size=(3,), stride=(2,), padding=(1,), dilation=(2,), groups=2, bias=False)"
    )
    assert repr(nn.Conv1d(3, 4, 4, padding="same")) == "Conv1d(3, 4, kernel_size=(4,), stride=(1,), padding=same)"
    assert nn.Conv1d(3, 4, 4, padding="same")(_t(2, 3, 10)).shape == (2, 4, 10)


def test_conv1d_errors():
    x, w = _t(2, 3, 10), _t(4, 3, 3)
    with pytest.raises(
        RuntimeError, match=r"Expected 2D \(unbatched\) or 3D \(batched\) input to conv1d.*\[2, 3, 10, 1\]"
    ):
        F.conv1d(x.unsqueeze(-1), w)
    with pytest.raises(RuntimeError, match=r"expected input\[2, 5, 10\] to have 3 channels, but got 5"):
        F.conv1d(_t(2, 5, 10), w)
    with pytest.raises(RuntimeError, match=r"padded input size per channel: \(2\). Kernel size: \(3\)"):
        F.conv1d(_t(2, 3, 2), w)
    with pytest.raises(RuntimeError, match=r"expected stride to be a single integer value or a list of 1 values"):
        F.conv1d(x, w, stride=(2, 2))
    with pytest.raises(ValueError, match="padding='same' is not supported for strided convolutions"):
        F.conv1d(x, w, stride=2, padding="same")
    with pytest.raises(RuntimeError, match=r"conv1d: expected a 3-D weight"):
        F.conv1d(x, _t(4, 3, 3, 3))
    with pytest.raises(
        RuntimeError, match=r"expected bias to be 1-dimensional with 4 elements, but got bias of size \[3\]"
    ):
        F.conv1d(x, w, _t(3))
    with pytest.raises(RuntimeError, match="conv1d: expected a floating point input"):
        F.conv1d(x.long(), w.long())


# ---- conv_transpose2d ----------------------------------------------------------------------------
CONV_T_CASES = [
    ((2, 4, 5, 5), (4, 3, 3, 3), {}),
    ((2, 4, 5, 5), (4, 3, 3, 3), {"stride": 2, "padding": 1, "output_padding": 1}),
    ((2, 4, 4, 5), (4, 3, 3, 2), {"stride": (2, 3), "padding": (1, 0), "output_padding": (0, 2), "dilation": (1, 2)}),
    ((2, 4, 4, 4), (4, 3, 3, 3), {"padding": 1, "output_padding": 1, "dilation": 2}),  # output_padding >= stride
    ((1, 4, 3, 3), (4, 2, 2, 2), {"groups": 2, "stride": 2}),
    ((2, 6, 4, 4), (6, 1, 4, 4), {"groups": 6, "stride": 2, "padding": 1}),  # depthwise upsampling
    ((2, 4, 5, 5), (4, 3, 3, 3), {"padding": 2}),  # padding crops the output
]


def _pairs(kw):
    return {k: (v if k == "groups" or isinstance(v, tuple) else (v, v)) for k, v in kw.items()}


@pytest.mark.parametrize("xs,ws,kw", CONV_T_CASES)
def test_conv_transpose2d_matches_reference(xs, ws, kw):
    x, w = _t(*xs), _t(*ws)
    b = _t(ws[1] * kw.get("groups", 1))
    out = F.conv_transpose2d(x, w, b, **kw)
    expected = ref_conv_transpose2d(x.numpy(), w.numpy(), b.numpy(), **_pairs(kw))
    assert out.shape == expected.shape and out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("xs,ws,kw", CONV_T_CASES[:6])
def test_conv_transpose2d_is_the_adjoint_of_conv2d(xs, ws, kw):
    """<conv2d(y, w), x> == <y, conv_transpose2d(x, w)> for every y: the defining property."""
    x, w = _t(*xs, dtype=np.float64), _t(*ws, dtype=np.float64)
    z = F.conv_transpose2d(x, w, **kw)
    y = _t(*z.shape, dtype=np.float64)
    conv_kw = {k: v for k, v in kw.items() if k != "output_padding"}
    down = F.conv2d(y, w, **conv_kw)[:, :, : xs[2], : xs[3]]
    np.testing.assert_allclose((down * x).sum().item(), (y * z).sum().item(), rtol=1e-10)


def test_conv_transpose2d_output_padding_rows_get_only_the_bias():
    x, w = torch.ones(1, 1, 2, 2), torch.ones(1, 1, 1, 1)
    out = F.conv_transpose2d(x, w, torch.tensor([0.5]), stride=2, output_padding=1)
    expected = [[1.5, 0.5, 1.5, 0.5], [0.5, 0.5, 0.5, 0.5], [1.5, 0.5, 1.5, 0.5], [0.5, 0.5, 0.5, 0.5]]
    np.testing.assert_allclose(out[0, 0].numpy(), expected)


def test_conv_transpose2d_gradients_and_double_backward():
    x, w, b = _t(2, 4, 3, 3, requires_grad=True), _t(4, 3, 3, 3, requires_grad=True), _t(3, requires_grad=True)
    out = F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1)
    assert out.shape == (2, 3, 6, 6) and out.grad_fn.name() == "ConvolutionBackward"
    out.sum().backward()
    assert x.grad.dtype == torch.float32 and w.grad.shape == (4, 3, 3, 3)
    np.testing.assert_allclose(b.grad.numpy(), np.full(3, 2 * 36.0))
    # d(sum)/dx[n, c, y, x] = the sum of w[c] over the taps that land inside the output
    xd, wd = x.detach().double().requires_grad_(), w.detach().double().requires_grad_()
    fn = lambda a, k: F.conv_transpose2d(a, k, stride=(2, 1), padding=1, output_padding=(1, 0), dilation=(1, 2))  # noqa: E731
    assert gradcheck(fn, (xd, wd)) and gradgradcheck(fn, (xd, wd))
    # the second derivative goes through conv2d's once-differentiable backward: a third one raises
    y = F.conv_transpose2d(xd, wd, stride=2)
    (gx,) = torch.autograd.grad((y * y).sum(), xd, create_graph=True)
    (gw,) = torch.autograd.grad((gx * gx).sum(), wd, create_graph=True)
    with pytest.raises(RuntimeError, match="not differentiable twice"):
        torch.autograd.grad(gw.sum(), xd)


def test_conv_transpose2d_unbatched_and_empty_batch():
    w = _t(4, 3, 3, 3)
    assert F.conv_transpose2d(_t(4, 5, 5), w).shape == (3, 7, 7)
    x = torch.zeros(0, 4, 5, 5).requires_grad_()
    wg = w.detach().requires_grad_()
    out = F.conv_transpose2d(x, wg, stride=2)
    assert out.shape == (0, 3, 11, 11)
    out.sum().backward()
    assert x.grad.shape == (0, 4, 5, 5) and not wg.grad.numpy().any()


def test_conv_transpose2d_module():
    torch.manual_seed(0)
    up = nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1)
    assert up.weight.shape == (8, 4, 4, 4) and list(up.state_dict()) == ["weight", "bias"]
    bound = 1 / math.sqrt(4 * 4 * 4)  # PyTorch's fan_in for a transposed weight: out/groups * kH * kW
    assert 0.8 * bound < np.abs(up.weight.detach().numpy()).max() <= bound
    assert np.abs(up.bias.detach().numpy()).max() <= bound
    x = _t(2, 8, 5, 5)
    assert up(x).shape == (2, 4, 10, 10)
    assert up(x, output_size=[11, 11]).shape == (2, 4, 11, 11)
    assert up(x, output_size=(2, 4, 10, 10)).shape == (2, 4, 10, 10)
    with pytest.raises(
        ValueError, match=r"requested an output size of \[12, 12\], but valid sizes range from \[10, 10\] to \[11, 11\]"
    ):
        up(x, output_size=[12, 12])
    assert repr(up) == "ConvTranspose2d(8, 4, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1))"
    assert (
        repr(nn.ConvTranspose2d(4, 4, (2, 3), output_padding=1, stride=2, groups=2, bias=False, dilation=2))
        == "ConvTranspose2d(4, 4, kernel_size=(2, 3), stride=(2, 2), dilation=(2, 2), output_padding=(1, 1), groups=2, bias=False)"
    )
    assert nn.ConvTranspose2d(4, 6, 3, groups=2).weight.shape == (4, 3, 3, 3)
    with pytest.raises(ValueError, match='Only "zeros" padding mode is supported for ConvTranspose2d'):
        nn.ConvTranspose2d(3, 4, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="'same' and 'valid' are for Conv layers"):
        nn.ConvTranspose2d(3, 4, 3, padding="same")


def test_conv_transpose2d_generator_trains():
    """A DCGAN-style generator: noise (N, 16, 1, 1) up to (N, 1, 8, 8) images, fitted to a target."""
    torch.manual_seed(0)
    gen = nn.Sequential(
        nn.ConvTranspose2d(16, 8, 4, 1, 0, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.ConvTranspose2d(8, 1, 4, 2, 1),
        nn.Tanh(),
    )
    z = torch.randn(8, 16, 1, 1)
    target = torch.from_numpy(np.linspace(-0.5, 0.5, 64, dtype=np.float32).reshape(1, 1, 8, 8)).expand(8, 1, 8, 8)
    opt = torch.optim.Adam(gen.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        loss = F.mse_loss(gen(z), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert gen(z).shape == (8, 1, 8, 8)
    assert losses[-1] < 0.2 * losses[0]


def test_conv_transpose2d_errors():
    x, w = _t(2, 4, 5, 5), _t(4, 3, 3, 3)
    with pytest.raises(RuntimeError, match="output padding must be smaller than either stride or dilation"):
        F.conv_transpose2d(x, w, stride=2, output_padding=2)
    with pytest.raises(
        RuntimeError,
        match=r"Given transposed=1, weight of size \[4, 3, 3, 3\], expected input\[2, 5, 5, 5\] to have 4 channels",
    ):
        F.conv_transpose2d(_t(2, 5, 5, 5), w)
    with pytest.raises(
        RuntimeError, match=r"expected bias to be 1-dimensional with 3 elements, but got bias of size \[4\]"
    ):
        F.conv_transpose2d(x, w, _t(4))
    with pytest.raises(RuntimeError, match=r"groups=3, expected weight to be divisible by 3 at dimension 0"):
        F.conv_transpose2d(x, w, groups=3)
    with pytest.raises(RuntimeError, match=r"conv_transpose2d: the output size \(-3 x -3\) is too small"):
        F.conv_transpose2d(x, w, padding=5)
    with pytest.raises(TypeError, match="argument 'padding' must be tuple of ints, not str"):
        F.conv_transpose2d(x, w, padding="same")
    with pytest.raises(RuntimeError, match=r"Expected 3D \(unbatched\) or 4D \(batched\) input to conv_transpose2d"):
        F.conv_transpose2d(_t(4, 5), w)
    with pytest.raises(RuntimeError, match="non-positive stride"):
        F.conv_transpose2d(x, w, stride=0)


# ---- embedding -----------------------------------------------------------------------------------
def test_embedding_looks_up_rows_and_sums_repeated_gradients():
    weight = _t(10, 3, requires_grad=True)
    idx = torch.tensor([[1, 1, 2], [0, 1, 9]])
    out = F.embedding(idx, weight)
    assert out.shape == (2, 3, 3) and out.dtype == torch.float32 and out.grad_fn.name() == "EmbeddingBackward"
    np.testing.assert_array_equal(out.detach().numpy(), weight.detach().numpy()[idx.numpy()])
    out.sum().backward()
    counts = np.zeros(10)
    np.add.at(counts, idx.numpy().ravel(), 1)  # row 1 is read 3 times: its gradient is 3
    np.testing.assert_array_equal(weight.grad.numpy(), np.repeat(counts[:, None], 3, axis=1))
    # int32 indices and a 0-d index work as in PyTorch
    assert F.embedding(torch.tensor([1, 2], dtype=torch.int32), weight).shape == (2, 3)
    assert F.embedding(torch.tensor(4), weight).shape == (3,)


def test_embedding_padding_idx_and_scale_grad_by_freq():
    weight = _t(10, 3, requires_grad=True)
    idx = torch.tensor([[1, 1, 2], [0, 1, 9]])
    F.embedding(idx, weight, padding_idx=1).sum().backward()
    expected = np.zeros((10, 3))
    expected[[0, 2, 9]] = 1.0  # row 1 is the padding row: no gradient
    np.testing.assert_array_equal(weight.grad.numpy(), expected)
    weight.grad = None
    F.embedding(idx, weight, padding_idx=-1).sum().backward()  # -1 is row 9
    assert not weight.grad.numpy()[9].any() and (weight.grad.numpy()[1] == 3).all()
    weight.grad = None
    F.embedding(idx, weight, scale_grad_by_freq=True).sum().backward()  # each gradient / its index's count
    expected = np.zeros((10, 3))
    expected[[0, 1, 2, 9]] = 1.0
    np.testing.assert_array_equal(weight.grad.numpy(), expected)


def test_embedding_double_backward_with_padding_and_scaling():
    """The backward map (output gradient -> weight gradient) is an op of its own whose derivative
    autograd knows: gradcheck it as a function of the output gradient."""
    w = _t(6, 2, dtype=np.float64, requires_grad=True)
    idx = torch.tensor([[0, 3, 3], [5, 0, 3]])

    def weight_grad(gout):
        out = F.embedding(idx, w, padding_idx=0, scale_grad_by_freq=True)
        return torch.autograd.grad(out, w, grad_outputs=gout, create_graph=True)[0]

    gout = _t(2, 3, 2, dtype=np.float64, requires_grad=True)
    assert gradcheck(weight_grad, (gout,))
    assert weight_grad(gout).grad_fn.name() == "EmbeddingDenseBackwardBackward"
    assert gradcheck(lambda a: F.embedding(idx, a), (w,)) and gradgradcheck(lambda a: F.embedding(idx, a) ** 2, (w,))


def test_embedding_max_norm_renormalises_rows_in_place():
    weight = torch.from_numpy(np.arange(1.0, 13.0, dtype=np.float32).reshape(4, 3))
    before = weight.numpy().copy()
    out = F.embedding(torch.tensor([0, 2, 2]), weight, max_norm=2.0)
    norms = np.linalg.norm(weight.numpy(), axis=1)
    np.testing.assert_allclose(norms[[0, 2]], 2.0, rtol=1e-5)  # the looked-up rows, scaled down
    np.testing.assert_array_equal(weight.numpy()[[1, 3]], before[[1, 3]])  # the others untouched
    np.testing.assert_allclose(np.linalg.norm(out.numpy(), axis=1), 2.0, rtol=1e-5)


def test_embedding_errors():
    weight = _t(10, 3)
    with pytest.raises(IndexError, match=r"index out of range in self.*index 10.*10 rows"):
        F.embedding(torch.tensor([1, 10]), weight)
    with pytest.raises(IndexError, match=r"index out of range in self.*index -1"):
        F.embedding(torch.tensor([1, -1]), weight)
    with pytest.raises(RuntimeError, match=r"'indices' to have one of the following scalar types: Long, Int"):
        F.embedding(torch.tensor([1.0, 2.0]), weight)
    with pytest.raises(RuntimeError, match="'weight' must be 2-D"):
        F.embedding(torch.tensor([1]), _t(10))
    with pytest.raises(TypeError, match="must be Tensor, not list"):
        F.embedding([1, 2], weight)
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        F.embedding(torch.tensor([1]), weight, padding_idx=10)
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        nn.Embedding(10, 3, padding_idx=-11)
    with pytest.raises(NotImplementedError, match="sparse=True"):
        nn.Embedding(10, 3, sparse=True)


def test_embedding_module():
    torch.manual_seed(0)
    emb = nn.Embedding(1000, 16, padding_idx=0)
    assert emb.weight.shape == (1000, 16) and emb.weight.dtype == torch.float32
    assert list(emb.state_dict()) == ["weight"]
    w = emb.weight.detach().numpy()
    assert not w[0].any()  # the padding row starts at zero
    assert abs(w[1:].mean()) < 0.03 and abs(w[1:].std() - 1.0) < 0.03  # N(0, 1), as PyTorch
    assert repr(emb) == "Embedding(1000, 16, padding_idx=0)"
    assert repr(nn.Embedding(5, 2, padding_idx=-1, max_norm=1.0)) == "Embedding(5, 2, padding_idx=4, max_norm=1.0)"
    out = emb(torch.tensor([[0, 5], [7, 0]]))
    assert out.shape == (2, 2, 16)
    out.sum().backward()
    assert not emb.weight.grad.numpy()[0].any() and (emb.weight.grad.numpy()[5] == 1).all()


def test_embedding_from_pretrained():
    vectors = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    emb = nn.Embedding.from_pretrained(vectors)
    assert emb.weight.requires_grad is False and repr(emb) == "Embedding(3, 2)"
    np.testing.assert_array_equal(emb(torch.tensor([2, 0])).numpy(), [[5.0, 6.0], [1.0, 2.0]])
    vectors[0, 0] = 10.0  # shares memory, like PyTorch's
    assert emb.weight[0, 0].item() == 10.0
    trainable = nn.Embedding.from_pretrained(torch.ones(3, 2), freeze=False, padding_idx=1)
    assert trainable.weight.requires_grad and trainable.weight[1].sum().item() == 2.0  # not zeroed
    trainable(torch.tensor([1, 2])).sum().backward()
    np.testing.assert_array_equal(trainable.weight.grad.numpy(), [[0, 0], [0, 0], [1, 1]])
    with pytest.raises(AssertionError, match="Embeddings parameter is expected to be 2-dimensional"):
        nn.Embedding.from_pretrained(torch.ones(3))


# ---- layer norm ----------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,normalized", [((2, 3, 4), (4,)), ((2, 3, 4), (3, 4)), ((5, 7), 7)])
def test_layer_norm_matches_reference(shape, normalized):
    x = _t(*shape)
    ns = (normalized,) if isinstance(normalized, int) else normalized
    w, b = _t(*ns), _t(*ns)
    out = F.layer_norm(x, normalized, w, b)
    assert out.dtype == torch.float32 and out.shape == shape
    np.testing.assert_allclose(out.numpy(), ref_layer_norm(x.numpy(), ns, w.numpy(), b.numpy()), rtol=1e-4, atol=1e-5)
    plain = F.layer_norm(x.double(), ns)
    assert plain.dtype == torch.float64
    axes = tuple(range(len(shape) - len(ns), len(shape)))
    np.testing.assert_allclose(plain.numpy().mean(axis=axes), 0.0, atol=1e-12)
    np.testing.assert_allclose(plain.numpy().var(axis=axes), 1.0, rtol=1e-4)  # var / (var + eps)


def test_layer_norm_gradients_and_double_backward():
    x = _t(3, 5, dtype=np.float64, requires_grad=True)
    w = _t(5, dtype=np.float64, requires_grad=True)
    b = _t(5, dtype=np.float64, requires_grad=True)
    out = F.layer_norm(x, (5,), w, b)
    out.sum().backward()
    # the normalised values' sum is 0 per row, so d(sum)/dx = w-weighted terms that sum to 0 per row
    np.testing.assert_allclose(x.grad.numpy().sum(axis=1), 0.0, atol=1e-10)
    np.testing.assert_allclose(b.grad.numpy(), np.full(5, 3.0))
    (gx,) = torch.autograd.grad((F.layer_norm(x, 5, w, b) ** 2).sum(), x, create_graph=True)
    assert gx.requires_grad
    assert gradgradcheck(lambda a, c: F.layer_norm(a, (5,), c), (x, w))


def test_layer_norm_module():
    ln = nn.LayerNorm(8)
    assert ln.normalized_shape == (8,) and list(ln.state_dict()) == ["weight", "bias"]
    assert (ln.weight.detach().numpy() == 1).all() and not ln.bias.detach().numpy().any()
    assert repr(ln) == "LayerNorm((8,), eps=1e-05, elementwise_affine=True, bias=True)"
    assert ln(_t(2, 3, 8)).shape == (2, 3, 8) and ln(_t(2, 3, 8)).dtype == torch.float32
    no_bias = nn.LayerNorm([3, 4], eps=1e-6, bias=False)
    assert no_bias.bias is None and list(no_bias.state_dict()) == ["weight"]
    assert repr(no_bias) == "LayerNorm((3, 4), eps=1e-06, elementwise_affine=True, bias=False)"
    plain = nn.LayerNorm(4, elementwise_affine=False)
    assert plain.weight is None and list(plain.state_dict()) == [] and list(plain.parameters()) == []
    x = _t(6, 4)
    np.testing.assert_allclose(plain(x).numpy(), ref_layer_norm(x.numpy(), (4,)), rtol=1e-4, atol=1e-5)
    assert nn.LayerNorm(torch.Size([4]))(x).shape == (6, 4)


def test_layer_norm_errors():
    x = _t(2, 3, 4)
    with pytest.raises(
        RuntimeError,
        match=r"Given normalized_shape=\[3\], expected input with shape \[\*, 3\], but got input of size\[2, 3, 4\]",
    ):
        F.layer_norm(x, (3,))
    with pytest.raises(
        RuntimeError,
        match=r"Expected weight to be of same shape as normalized_shape, but got weight of shape \[3\] and normalized_shape = \[4\]",
    ):
        F.layer_norm(x, (4,), _t(3))
    with pytest.raises(RuntimeError, match="Expected normalized_shape to be at least 1-dimensional"):
        F.layer_norm(x, ())
    with pytest.raises(RuntimeError, match="layer_norm: expected a floating point input"):
        F.layer_norm(x.long(), (4,))
    with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[4\]"):
        nn.LayerNorm(4)(_t(2, 3))


# ---- scaled dot-product attention ----------------------------------------------------------------
@pytest.mark.parametrize("kind", ["none", "causal", "bool", "float", "scale"])
def test_attention_matches_reference(kind):
    q, k, v = _t(2, 3, 4, 8), _t(2, 3, 5, 8), _t(2, 3, 5, 6)
    mask = None
    if kind == "bool":
        mask = torch.from_numpy(RNG.random((4, 5)) > 0.3)
    elif kind == "float":
        mask = _t(3, 4, 5)  # broadcast over the batch
    out = F.scaled_dot_product_attention(
        q, k, v, attn_mask=mask, is_causal=kind == "causal", scale=0.2 if kind == "scale" else None
    )
    assert out.shape == (2, 3, 4, 6) and out.dtype == torch.float32
    expected = ref_attention(
        q.numpy(),
        k.numpy(),
        v.numpy(),
        None if mask is None else mask.numpy(),
        kind == "causal",
        0.2 if kind == "scale" else None,
    )
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_attention_causal_is_the_top_left_triangle():
    q, k = torch.ones(1, 2, 3), torch.ones(1, 3, 3)
    v = torch.arange(9.0).reshape(1, 3, 3)
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    np.testing.assert_allclose(out[0].numpy(), [[0.0, 1.0, 2.0], [1.5, 2.5, 3.5]])  # query 1 sees keys 0 and 1


def test_attention_query_that_sees_nothing_gives_zeros_and_zero_gradients():
    q, k, v = _t(1, 3, 4, requires_grad=True), _t(1, 5, 4), _t(1, 5, 2)
    mask = torch.ones(3, 5, dtype=torch.bool)
    mask[0] = False  # query 0 may attend to no key
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert not out[0, 0].detach().numpy().any() and np.isfinite(out.detach().numpy()).all()
    out.sum().backward()
    assert not q.grad.numpy()[0, 0].any() and q.grad.numpy()[0, 1:].any()
    no_keys = F.scaled_dot_product_attention(q, _t(1, 0, 4), _t(1, 0, 2))
    assert no_keys.shape == (1, 3, 2) and not no_keys.detach().numpy().any()


def test_attention_dropout_and_grouped_query_heads():
    q, k = _t(2, 4, 6), _t(2, 5, 6)
    eye = torch.eye(5).expand(2, 5, 5)  # value = identity: the output is the attention weights
    weights = F.scaled_dot_product_attention(q, k, eye).numpy()
    torch.manual_seed(1)
    dropped = F.scaled_dot_product_attention(q, k, eye, dropout_p=0.5).numpy()
    kept = dropped != 0
    assert 0 < kept.mean() < 1
    np.testing.assert_allclose(dropped[kept], 2 * weights[kept], rtol=1e-6)  # survivors scaled by 1/(1-p)
    torch.manual_seed(1)
    np.testing.assert_array_equal(F.scaled_dot_product_attention(q, k, eye, dropout_p=0.5).numpy(), dropped)
    assert not F.scaled_dot_product_attention(q, k, eye, dropout_p=1.0).numpy().any()
    # grouped-query attention: 6 query heads share 3 key/value heads (2 each)
    qh, kh, vh = _t(2, 6, 4, 8), _t(2, 3, 5, 8), _t(2, 3, 5, 6)
    out = F.scaled_dot_product_attention(qh, kh, vh, enable_gqa=True)
    ref = F.scaled_dot_product_attention(qh[:, 3:4], kh[:, 1:2], vh[:, 1:2])
    np.testing.assert_allclose(out[:, 3:4].numpy(), ref.numpy(), rtol=1e-6)


def test_attention_errors():
    q, k, v = _t(2, 4, 8), _t(2, 5, 8), _t(2, 5, 6)
    with pytest.raises(RuntimeError, match="Explicit attn_mask should not be set when is_causal=True"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=torch.ones(4, 5, dtype=torch.bool), is_causal=True)
    with pytest.raises(RuntimeError, match="Expected query, key, and value to have the same dtype"):
        F.scaled_dot_product_attention(q.double(), k, v)
    with pytest.raises(RuntimeError, match="Expected attn_mask dtype to be bool or float or to match query dtype"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=torch.ones(4, 5, dtype=torch.int64))
    with pytest.raises(RuntimeError, match="at least 2 dimensional"):
        F.scaled_dot_product_attention(q[0, 0], k, v)
    with pytest.raises(RuntimeError, match=r"query \[2, 4, 8\] and key \[2, 5, 7\] must have the same embedding size"):
        F.scaled_dot_product_attention(q, _t(2, 5, 7), v)
    with pytest.raises(RuntimeError, match="must have the same sequence length"):
        F.scaled_dot_product_attention(q, k, _t(2, 6, 6))
    with pytest.raises(RuntimeError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        F.scaled_dot_product_attention(q, k, v, dropout_p=1.5)


def test_a_small_transformer_block_trains():
    """Embedding + LayerNorm + causal self-attention + Linear, trained to output the previous
    token of random sequences: only attention can see it (without it the loss stays near 1.5)."""
    torch.manual_seed(0)
    vocab, dim, length = 7, 16, 6

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(vocab, dim)
            self.pos = nn.Embedding(length, dim)
            self.norm = nn.LayerNorm(dim)
            self.qkv = nn.Linear(dim, 3 * dim)
            self.head = nn.Linear(dim, vocab)

        def forward(self, idx):
            n, t = idx.shape
            h = self.tok(idx) + self.pos(torch.arange(t))
            q, k, v = self.qkv(self.norm(h)).reshape(n, t, 3, 2, dim // 2).permute(2, 0, 3, 1, 4)
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # 2 heads
            return self.head(h + a.permute(0, 2, 1, 3).reshape(n, t, dim))

    model = Block()
    tokens = np.random.default_rng(0).integers(0, vocab, (32, length))
    x = torch.from_numpy(tokens)
    y = torch.from_numpy(np.concatenate([np.full((32, 1), -100), tokens[:, :-1]], axis=1))  # no target at t=0
    opt = torch.optim.Adam(model.parameters(), lr=3e-2)
    for _ in range(30):
        loss = F.cross_entropy(model(x).reshape(-1, vocab), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05


# ---- against PyTorch, where it is installed -------------------------------------------------------
def test_against_torch():
    real = pytest.importorskip("torch")
    rf = real.nn.functional

    def both(*shape, dtype=np.float32):
        a = RNG.standard_normal(shape).astype(dtype)
        return torch.from_numpy(a.copy()).requires_grad_(), real.from_numpy(a.copy()).requires_grad_()

    cases = [
        (
            lambda x, w: F.conv1d(x, w, stride=2, padding=2, dilation=2),
            lambda x, w: rf.conv1d(x, w, stride=2, padding=2, dilation=2),
            [(2, 4, 11), (6, 4, 3)],
        ),
        (
            lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1, groups=2),
            lambda x, w: rf.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1, groups=2),
            [(2, 4, 5, 5), (4, 3, 3, 3)],
        ),
        (
            lambda x, w, b: F.layer_norm(x, (3, 4), w, b),
            lambda x, w, b: rf.layer_norm(x, (3, 4), w, b),
            [(2, 3, 4), (3, 4), (3, 4)],
        ),
        (
            lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
            lambda q, k, v: rf.scaled_dot_product_attention(q, k, v, is_causal=True),
            [(2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6)],
        ),
    ]
    for ours_fn, theirs_fn, shapes in cases:
        pairs = [both(*s) for s in shapes]
        ours, theirs = ours_fn(*[p[0] for p in pairs]), theirs_fn(*[p[1] for p in pairs])
        g = RNG.standard_normal(tuple(theirs.shape)).astype(np.float32)
        ours.backward(torch.from_numpy(g))
        theirs.backward(real.from_numpy(g))
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-4, atol=1e-5)
        for a, b in pairs:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-4, atol=1e-4)
    idx = np.array([[1, 1, 2], [0, 1, 9]])
    (w, wt) = both(10, 3)
    F.embedding(torch.from_numpy(idx), w, padding_idx=2, scale_grad_by_freq=True).sum().backward()
    rf.embedding(real.from_numpy(idx), wt, padding_idx=2, scale_grad_by_freq=True).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), wt.grad.numpy())
