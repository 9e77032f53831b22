"""Convolution, pooling, batch norm, their Modules and the CNN models.

Forward results are compared with the loop references in ``oprows_conv``; the op table runs the
hypothesis-drawn gradient checks, and the few gradchecks here pin down specific configurations.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from oprows_conv import ref_adaptive_avg_pool2d, ref_avg_pool2d, ref_conv2d, ref_max_pool2d

import tinygrad_ko as tg
from tinygrad_ko import models, nn
from tinygrad_ko.autograd import gradcheck
from tinygrad_ko.kernels import conv as conv_kernels
from tinygrad_ko.nn import functional as F
from tinygrad_ko.nn.conv import AdaptiveAvgPool2d, AvgPool2d, Conv2d, MaxPool2d
from tinygrad_ko.nn.normalization import BatchNorm1d, BatchNorm2d, Dropout2d

RNG = np.random.default_rng(0)


def _t(shape, dtype=np.float32, requires_grad=False):
    return tg.from_numpy(RNG.standard_normal(shape).astype(dtype)).requires_grad_(requires_grad)


# ---- conv2d forward -------------------------------------------------------------------------------
CONV_CASES = [
    # x shape, w shape, kwargs
    ((2, 3, 7, 6), (4, 3, 3, 3), {}),
    ((2, 3, 7, 6), (4, 3, 3, 3), {"padding": 1}),
    ((2, 3, 9, 8), (4, 3, 3, 2), {"stride": 2, "padding": (1, 2)}),
    ((2, 3, 9, 9), (4, 3, 3, 3), {"stride": (2, 1), "dilation": 2}),
    ((1, 4, 6, 7), (6, 2, 3, 3), {"groups": 2, "padding": 1}),
    ((2, 4, 6, 6), (4, 1, 3, 3), {"groups": 4, "padding": "same"}),  # depthwise
    ((2, 3, 6, 5), (5, 3, 4, 2), {"padding": "same", "dilation": (1, 2)}),  # even kernel: asymmetric pad
    ((2, 3, 6, 5), (5, 3, 2, 2), {"padding": "valid"}),
    ((3, 8, 5, 5), (16, 8, 1, 1), {"stride": 2}),  # resnet's downsample shortcut
    ((1, 3, 15, 15), (8, 3, 7, 7), {"stride": 2, "padding": 3}),  # resnet's stem
]


@pytest.mark.parametrize("xs,ws,kw", CONV_CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_matches_reference(xs, ws, kw, bias):
    x, w = _t(xs), _t(ws)
    b = _t((ws[0],)) if bias else None
    out = F.conv2d(x, w, b, **kw)
    expected = ref_conv2d(x.numpy(), w.numpy(), None if b is None else b.numpy(), **kw)
    assert out.shape == expected.shape
    assert out.dtype == tg.float32
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-4, atol=1e-4)


def test_conv2d_noncontiguous_and_unbatched_input():
    x = _t((2, 3, 6, 7)).permute(0, 1, 3, 2)  # a transposed view
    w = _t((4, 3, 3, 3))
    out = F.conv2d(x, w, padding=1)
    np.testing.assert_allclose(
        out.numpy(), ref_conv2d(np.asarray(x.numpy()), w.numpy(), padding=1), rtol=1e-4, atol=1e-4
    )
    single = F.conv2d(x[0], w, padding=1)  # (C, H, W) unbatched, like PyTorch
    assert single.shape == (4, 7, 6)
    np.testing.assert_allclose(single.numpy(), out.numpy()[0], rtol=1e-5, atol=1e-5)


def test_conv2d_gradients_float64():
    x, w, b = _t((2, 4, 5, 6), np.float64, True), _t((6, 2, 3, 2), np.float64, True), _t((6,), np.float64, True)
    assert gradcheck(
        lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2), (x, w, b)
    )
    # many columns (C*kh*kw >= 64) and no input gradient: the weight gradient takes the other product
    x, w, b = _t((2, 8, 4, 4), np.float64), _t((2, 8, 3, 3), np.float64, True), _t((2,), np.float64, True)
    assert gradcheck(lambda w, b: F.conv2d(x, w, b, padding=1), (w, b))


def test_conv2d_both_column_layouts_agree():
    # few columns on a large image take the channel-major per-image kernel (like a first layer),
    # other convolutions the pixel-major one: same values and gradients either way
    x, w, b = _t((2, 2, 17, 16), np.float64, True), _t((3, 2, 3, 3), np.float64, True), _t((3,), np.float64, True)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, padding=1), (x, w, b))
    expected = ref_conv2d(x.detach().numpy(), w.detach().numpy(), b.detach().numpy(), padding=1)
    results = []
    saved = conv_kernels._PER_IMAGE_MIN_PIXELS
    try:
        for min_pixels in (0, 10**9):  # channel-major, then pixel-major
            conv_kernels._PER_IMAGE_MIN_PIXELS = min_pixels
            out = F.conv2d(x, w, b, padding=1)
            np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-10)
            results.append(tg.autograd.grad(out.square().sum(), (x, w, b)))
    finally:
        conv_kernels._PER_IMAGE_MIN_PIXELS = saved
    for g_cm, g_pm in zip(*results):
        np.testing.assert_allclose(g_cm.numpy(), g_pm.numpy(), rtol=1e-10, atol=1e-12)


# stride 1 can take the grid col2im (even kernels, asymmetric and large padding, dilation), other
# strides the per-offset col2im
BLOCK_CASES = [
    ((3, 3, 7, 6), (4, 3, 3, 3), {"padding": 1}),
    ((3, 2, 6, 5), (5, 2, 4, 2), {"padding": "same", "dilation": (1, 2)}),
    ((3, 2, 5, 6), (3, 2, 3, 3), {"padding": (3, 2)}),  # more padding than the kernel reaches
    ((3, 2, 5, 6), (3, 2, 2, 3), {"padding": 0, "dilation": (2, 1)}),
    ((3, 2, 9, 8), (4, 2, 3, 2), {"stride": 2, "padding": (1, 2)}),
    ((3, 2, 9, 9), (4, 2, 3, 3), {"stride": (2, 1), "dilation": 2, "padding": 1}),
]


@pytest.mark.parametrize("xs,ws,kw", BLOCK_CASES)
# the weight gradient's two product layouts, and the grid / per-offset input gradients (stride 1)
@pytest.mark.parametrize("gw_by_channel,grid", [(False, True), (True, False)])
def test_conv2d_pixel_major_blocks_agree(monkeypatch, xs, ws, kw, gw_by_channel, grid):
    # the pixel-major kernels run over blocks of images: one image per block gives the same
    # values and gradients as the whole batch in one block, and both pass gradcheck
    monkeypatch.setattr(conv_kernels, "_GW_BY_CHANNEL_MIN", 0 if gw_by_channel else 1 << 62)
    monkeypatch.setattr(conv_kernels, "_GRID_MAX_WASTE", float("inf") if grid else 0.0)
    x, w, b = _t(xs, np.float64, True), _t(ws, np.float64, True), _t((ws[0],), np.float64, True)
    ho, wo = F.conv2d(x, w, b, **kw).shape[2:]
    per_image = ho * wo * (ws[1] * ws[2] * ws[3] + 1) * 8  # the column bytes of one image
    results = []
    # one block; blocks of 2 and 1 images (a short last block); one image per block
    for block_bytes in (1 << 40, 2 * per_image, 1):
        monkeypatch.setattr(conv_kernels, "_BLOCK_BYTES", block_bytes)
        out = F.conv2d(x, w, b, **kw)
        expected = ref_conv2d(x.detach().numpy(), w.detach().numpy(), b.detach().numpy(), **kw)
        np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-10, atol=1e-12)
        assert out.detach().numpy().flags.c_contiguous
        results.append(tg.autograd.grad((out * out.detach()).sum(), (x, w, b)))
        assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, **kw), (x, w, b))
    for whole, *blocked in zip(*results):
        for grads in blocked:
            np.testing.assert_allclose(whole.numpy(), grads.numpy(), rtol=1e-10, atol=1e-12)


# kernel rows/columns that meet only padding for every output pixel are dropped (ResNet-18's
# layer4 on 28x28 digits: 3x3 kernels on 1x1 feature maps): (x shape, w shape, kwargs, live taps)
DEAD_TAP_CASES = [
    ((2, 3, 1, 1), (4, 3, 3, 3), {"padding": 1}, (1, 2, 1, 2)),
    ((2, 3, 2, 2), (4, 3, 3, 3), {"stride": 2, "padding": 1}, (1, 3, 1, 3)),
    ((2, 3, 1, 1), (4, 3, 5, 5), {"padding": 2}, (2, 3, 2, 3)),
    ((2, 3, 1, 5), (4, 3, 3, 3), {"padding": 1}, (1, 2, 0, 3)),  # rows only
    ((2, 3, 5, 1), (4, 3, 3, 3), {"stride": (2, 1), "padding": (2, 1)}, (0, 3, 1, 2)),  # columns only
    ((2, 3, 2, 3), (4, 3, 3, 3), {"stride": 2, "padding": 1}, (1, 3, 0, 3)),
]


@pytest.mark.parametrize("xs,ws,kw,live", DEAD_TAP_CASES)
def test_conv2d_drops_taps_that_only_meet_padding(xs, ws, kw, live):
    x, w, b = _t(xs, np.float64, True), _t(ws, np.float64, True), _t((ws[0],), np.float64, True)
    out = F.conv2d(x, w, b, **kw)
    assert out.grad_fn.geom.live[0] == live  # the shortcut is taken
    expected = ref_conv2d(x.detach().numpy(), w.detach().numpy(), b.detach().numpy(), **kw)
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-10, atol=1e-12)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, **kw), (x, w, b))
    out.backward(tg.ones_like(out))
    i0, i1, j0, j1 = live
    dead = np.ones(ws[2:], dtype=bool)
    dead[i0:i1, j0:j1] = False
    assert (w.grad.numpy()[:, :, dead] == 0).all() and w.grad.shape == ws
    # the equivalent convolution would need cropping: no shortcut, still right
    x = _t((2, 3, 3, 3), np.float64, True)
    out = F.conv2d(x, w[:, :, :3, :3], stride=3, padding=1)
    assert out.grad_fn.geom.live is None
    np.testing.assert_allclose(
        out.detach().numpy(),
        ref_conv2d(x.detach().numpy(), w.detach().numpy()[:, :, :3, :3], stride=3, padding=1),
        rtol=1e-10,
        atol=1e-12,
    )


@pytest.mark.parametrize("stride", [1, 2])
def test_conv2d_empty_batch(stride):
    x = tg.from_numpy(np.zeros((0, 3, 5, 5), dtype=np.float32)).requires_grad_(True)
    w, b = _t((4, 3, 3, 3), requires_grad=True), _t((4,), requires_grad=True)
    out = F.conv2d(x, w, b, stride=stride, padding=1)
    assert out.shape == (0, 4, 5 if stride == 1 else 3, 5 if stride == 1 else 3)
    out.sum().backward()
    assert x.grad.shape == x.shape
    np.testing.assert_array_equal(w.grad.numpy(), 0)
    np.testing.assert_array_equal(b.grad.numpy(), 0)


def test_conv2d_expanded_output_grad():
    # sum() hands the kernels an output gradient with stride-0 axes: same result as a dense one
    x, w, b = _t((3, 3, 6, 5), requires_grad=True), _t((4, 3, 3, 3), requires_grad=True), _t((4,), requires_grad=True)
    for padding, stride in ((1, 1), (1, 2)):
        F.conv2d(x, w, b, stride, padding).sum().backward()
        expanded = [t.grad.numpy().copy() for t in (x, w, b)]
        x.grad = w.grad = b.grad = None
        out = F.conv2d(x, w, b, stride, padding)
        out.backward(tg.from_numpy(np.ones(out.shape, dtype=np.float32)))
        for t, e in zip((x, w, b), expanded):
            np.testing.assert_allclose(t.grad.numpy(), e, rtol=1e-6, atol=1e-6)
        x.grad = w.grad = b.grad = None


def test_conv2d_backward_float32_and_skips_unneeded_grads():
    x, w, b = _t((2, 3, 6, 6)), _t((4, 3, 3, 3), requires_grad=True), _t((4,), requires_grad=True)
    F.conv2d(x, w, b, padding=1).sum().backward()
    assert x.grad is None
    assert w.grad.dtype == tg.float32 and b.grad.dtype == tg.float32
    # d(sum)/d(bias) = number of output pixels per channel
    np.testing.assert_allclose(b.grad.numpy(), np.full(4, 2 * 6 * 6, dtype=np.float32))
    x.requires_grad_(True)
    w.grad = None
    F.conv2d(x, w, padding=1).sum().backward()
    assert x.grad.dtype == tg.float32 and x.grad.shape == x.shape


# ---- pooling ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kw",
    [
        {"kernel_size": 2},
        {"kernel_size": 3, "stride": 2, "padding": 1},
        {"kernel_size": (2, 3), "stride": (1, 2)},
        {"kernel_size": 2, "dilation": 2},
        {"kernel_size": 3, "stride": 2, "ceil_mode": True},
        {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
    ],
)
def test_max_pool2d_matches_reference(kw):
    x = _t((2, 3, 7, 8))
    out = F.max_pool2d(x, **kw)
    expected = ref_max_pool2d(x.numpy(), **kw)
    assert out.shape == expected.shape
    np.testing.assert_array_equal(out.numpy(), expected)


def _first_max_grad(x, g, kernel, stride, padding):
    """Loop reference: each window's gradient goes to its first maximum in row-major order."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    gx = np.zeros_like(x)
    n, c, h, w = x.shape
    for a in range(n):
        for ch in range(c):
            for i in range(g.shape[2]):
                for j in range(g.shape[3]):
                    best = None
                    for u in range(kh):
                        for v in range(kw):
                            r, q = i * sh - ph + u, j * sw - pw + v
                            if (
                                0 <= r < h
                                and 0 <= q < w
                                and (best is None or x[a, ch, r, q] > x[a, ch, best[0], best[1]])
                            ):
                                best = (r, q)
                    gx[a, ch, best[0], best[1]] += g[a, ch, i, j]
    return gx


@pytest.mark.parametrize(
    "kernel,stride,padding",
    [
        ((2, 2), (2, 2), (0, 0)),
        ((3, 3), (3, 3), (0, 0)),
        ((2, 3), (2, 3), (0, 0)),
        ((3, 3), (2, 2), (1, 1)),
        ((2, 2), (1, 1), (0, 0)),
    ],
)
@pytest.mark.parametrize("contiguous", [True, False])
def test_max_pool2d_gradient_with_ties(kernel, stride, padding, contiguous):
    # small integers: many ties in every window. Windows that tile a contiguous input take the
    # row-then-column fast path, the others (and every strided view) the general one
    stored = RNG.integers(0, 3, size=(2, 3, 6, 24)).astype(np.float32)
    x = tg.from_numpy(stored).requires_grad_(True)
    xin = x[:, :, :, :12].contiguous() if contiguous else x[:, :, :, ::2]
    assert xin.is_contiguous() == contiguous
    values = xin.detach().numpy()
    out = F.max_pool2d(xin, kernel, stride, padding)
    g = RNG.standard_normal(out.shape).astype(np.float32)
    out.backward(tg.from_numpy(g))
    np.testing.assert_array_equal(out.detach().numpy(), ref_max_pool2d(values, kernel, stride, padding))
    expected = np.zeros_like(stored)
    expected[:, :, :, : 12 if contiguous else None : 1 if contiguous else 2] = _first_max_grad(
        values, g, kernel, stride, padding
    )
    # overlapping windows add gradients: float32 rounding may differ from the loop's order
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-6, atol=1e-6)


def test_max_pool2d_pads_with_minus_infinity():
    x = tg.full((1, 1, 2, 2), -5.0)
    out = F.max_pool2d(x, 3, stride=1, padding=1)
    np.testing.assert_array_equal(
        out.numpy(), np.full((1, 1, 2, 2), -5.0, dtype=np.float32)
    )  # never the 0 of zero padding


def test_max_pool2d_gradient_goes_to_first_maximum():
    # every window is full of ties: PyTorch sends each window's gradient to its first element (row-major)
    x = tg.ones(1, 1, 4, 4, requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    expected = np.zeros((4, 4), dtype=np.float32)
    expected[::2, ::2] = 1
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], expected)

    # overlapping windows with ties: window (i, j) of a 2x2 kernel, stride 1, picks its top-left
    x = tg.tensor([[[[1.0, 3.0, 3.0], [3.0, 3.0, 0.0], [0.0, 3.0, 3.0]]]], requires_grad=True)
    F.max_pool2d(x, 2, stride=1).sum().backward()
    # windows: (0,0) -> first 3 at (0,1); (0,1) -> (0,1); (1,0) -> (1,0); (1,1) -> (1,1)
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], [[0, 2, 0], [1, 1, 0], [0, 0, 0]])


def test_max_pool2d_propagates_nan():
    x = tg.tensor([[[[1.0, float("nan")], [2.0, 0.0]]]])
    assert np.isnan(F.max_pool2d(x, 2).item())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])  # the 2x2 fast path, the tiled one
def test_max_pool2d_gradient_goes_to_the_last_nan_like_pytorch(dtype):
    nan = np.nan
    # four 2x2 windows side by side; PyTorch 2.13 sends each window's gradient to the marked element
    x = np.array([[1, nan, nan, 5, 1, 2, nan, 1], [nan, 2, 3, nan, nan, 0, 2, 3]], dtype=dtype)[None, None]
    xt = tg.from_numpy(x).requires_grad_(True)
    out = F.max_pool2d(xt, 2)
    assert np.isnan(out.detach().numpy()).all()
    out.backward(tg.from_numpy(np.array([[[[1, 2, 3, 4]]]], dtype=dtype)))
    np.testing.assert_array_equal(xt.grad.numpy()[0, 0], [[0, 0, 0, 0, 0, 0, 4, 0], [1, 0, 0, 2, 3, 0, 0, 0]])
    # a NaN-free window beside them still picks its first maximum
    x2 = np.array([[nan, 1, 3, 3], [2, 3, 0, 3]], dtype=dtype)[None, None]
    xt2 = tg.from_numpy(x2).requires_grad_(True)
    F.max_pool2d(xt2, 2).sum().backward()
    np.testing.assert_array_equal(xt2.grad.numpy()[0, 0], [[1, 0, 1, 0], [0, 0, 0, 0]])


def test_max_pool2d_nan_in_overlapping_and_padded_windows_like_pytorch():
    nan = float("nan")
    # (values and gradients printed by PyTorch 2.13)
    x = tg.tensor([[[[1.0, nan, 3.0], [nan, 2.0, 0.0], [4.0, 5.0, 6.0]]]], requires_grad=True)
    F.max_pool2d(x, 3, stride=1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], [[0, 0, 0], [1, 0, 0], [0, 0, 0]])
    x = tg.tensor(
        [[[[1.0, nan, 3.0, nan], [nan, 2.0, 0.0, 1.0], [4.0, 5.0, 6.0, 7.0], [1.0, 1.0, 1.0, 1.0]]]], requires_grad=True
    )
    F.max_pool2d(x, 2, stride=1, padding=1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], [[1, 3, 0, 4], [4, 0, 0, 0], [1, 1, 2, 4], [2, 1, 1, 1]])


def test_max_pool2d_all_minus_inf_window_sends_gradient_to_its_first_real_element():
    # padding is -inf too: the gradient must not vanish into it (values printed by PyTorch 2.13)
    inf = float("inf")
    x = tg.tensor([[[[-inf, -inf, 1.0], [-inf, -inf, 2.0], [0.0, -inf, -inf]]]], requires_grad=True)
    out = F.max_pool2d(x, 3, stride=2, padding=1)
    np.testing.assert_array_equal(out.detach().numpy()[0, 0], [[-inf, 2.0], [0.0, 2.0]])
    out.backward(tg.tensor([[[[1.0, 2.0], [3.0, 4.0]]]]))
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], [[1, 0, 0], [0, 0, 6], [3, 0, 0]])


def test_pools_in_ceil_mode_accept_a_kernel_wider_than_the_input():
    # like PyTorch: ceil mode still gives one window; floor mode has none and raises
    x = tg.tensor([[[[3.0, 5.0]]]], requires_grad=True)
    out = F.max_pool2d(x, (1, 3), stride=2, ceil_mode=True)
    assert out.shape == (1, 1, 1, 1) and out.item() == 5.0
    out.backward(tg.ones_like(out))
    np.testing.assert_array_equal(x.grad.numpy(), [[[[0.0, 1.0]]]])
    avg = F.avg_pool2d(x, (1, 3), ceil_mode=True)
    assert avg.shape == (1, 1, 1, 1) and avg.item() == 4.0  # the window is clipped to the input
    with pytest.raises(RuntimeError, match="output size would be empty"):
        F.max_pool2d(x, (1, 3))


def test_max_pool2d_2x2_fast_path_matches_general_path():
    # float32 2x2 windows that tile a contiguous input take the one-pass kernel; float64 (and
    # strided views) the general one: same values and the same window element gets each gradient,
    # with ties (small integers), -0.0 next to 0.0, infinities and NaN (which propagates)
    values = RNG.choice(np.array([0.0, -0.0, 1.0, 2.0, np.inf, -np.inf, np.nan, 2.0]), size=(3, 4, 6, 10))
    g = RNG.standard_normal((3, 4, 3, 5)).astype(np.float32)  # exact in both dtypes
    grads = []
    for dtype in (np.float32, np.float64):
        x = tg.from_numpy(values.astype(dtype)).requires_grad_(True)
        out = F.max_pool2d(x, 2)
        out.backward(tg.from_numpy(g.astype(dtype)))
        np.testing.assert_array_equal(out.detach().numpy(), ref_max_pool2d(values.astype(dtype), 2))
        grads.append(x.grad.numpy().astype(np.float64))
    np.testing.assert_array_equal(grads[0], grads[1])
    # every window sends its whole gradient to exactly one element
    fast = grads[0].reshape(3, 4, 3, 2, 5, 2)
    np.testing.assert_array_equal(fast.sum(axis=(3, 5)), g)
    assert ((fast != 0).sum(axis=(3, 5)) == 1).all()


def test_max_pool2d_2x2_infinite_gradient_stays_in_its_element():
    # the fast path moves gradient bits instead of multiplying by a mask: inf * 0 never makes NaN
    x = tg.tensor([[[[1.0, 3.0, 0.0, 0.0], [2.0, 0.0, 5.0, 5.0]]]], requires_grad=True)
    F.max_pool2d(x, 2).backward(tg.tensor([[[[np.inf, -np.inf]]]]))
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], [[0, np.inf, 0, 0], [0, 0, -np.inf, 0]])
    assert not np.signbit(x.grad.numpy()[0, 0, 0, 0])  # +0.0 elsewhere, as PyTorch's zeros


@pytest.mark.parametrize(
    "kw",
    [
        {"kernel_size": 2},
        {"kernel_size": 3, "stride": 2, "padding": 1},
        {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
        {"kernel_size": 3, "stride": 2, "ceil_mode": True},
        {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False},
        {"kernel_size": (2, 3), "stride": 1, "padding": (1, 0)},
        {"kernel_size": 2, "divisor_override": 3},
    ],
)
def test_avg_pool2d_matches_reference(kw):
    x = _t((2, 3, 7, 8))
    out = F.avg_pool2d(x, **kw)
    expected = ref_avg_pool2d(x.numpy(), **kw)
    assert out.shape == expected.shape and out.dtype == tg.float32
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_avg_pool2d_count_include_pad_values():
    x = tg.ones(1, 1, 2, 2)
    with_pad = F.avg_pool2d(x, 2, stride=1, padding=1)
    without = F.avg_pool2d(x, 2, stride=1, padding=1, count_include_pad=False)
    np.testing.assert_allclose(with_pad.numpy()[0, 0], [[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]])
    np.testing.assert_allclose(without.numpy()[0, 0], np.ones((3, 3)))


@pytest.mark.parametrize(
    "size,out", [((7, 7), 1), ((7, 7), (1, 1)), ((8, 6), (4, 3)), ((7, 5), 3), ((10, 9), (4, 2)), ((5, 5), (None, 2))]
)
def test_adaptive_avg_pool2d(size, out):
    x = _t((2, 3) + size)
    y = F.adaptive_avg_pool2d(x, out)
    full = tuple(s if o is None else o for s, o in zip(size, out if isinstance(out, tuple) else (out, out)))
    np.testing.assert_allclose(y.numpy(), ref_adaptive_avg_pool2d(x.numpy(), full), rtol=1e-5, atol=1e-6)
    assert y.dtype == tg.float32
    if full == (1, 1):
        np.testing.assert_allclose(y.numpy()[..., 0, 0], x.numpy().mean(axis=(2, 3)), rtol=1e-5)


def test_pool_gradients_float64():
    x = _t((2, 2, 6, 5), np.float64, True)
    assert gradcheck(lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), (x,))
    assert gradcheck(lambda x: F.adaptive_avg_pool2d(x, (4, 3)), (x,))
    distinct = tg.from_numpy(RNG.permutation(60).astype(np.float64).reshape(2, 2, 5, 3)).requires_grad_()
    assert gradcheck(lambda x: F.max_pool2d(x, 3, 2, 1), (distinct,))


# ---- batch norm ---------------------------------------------------------------------------------
def test_batch_norm_train_normalises_and_updates_running_stats_like_pytorch():
    bn = BatchNorm2d(3)
    x = _t((4, 3, 5, 5)) * 2.0 + 3.0
    y = bn(x)
    yn = y.detach().numpy()
    np.testing.assert_allclose(yn.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(yn.var(axis=(0, 2, 3)), 1, atol=1e-3)  # biased variance normalises
    xn = x.numpy()
    mean, unbiased = xn.mean(axis=(0, 2, 3)), xn.var(axis=(0, 2, 3), ddof=1)
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.9 * 0 + 0.1 * mean, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.9 * 1 + 0.1 * unbiased, rtol=1e-5)
    assert bn.num_batches_tracked.item() == 1
    assert bn.running_mean.dtype == tg.float32 and y.dtype == tg.float32
    # eval uses the running statistics
    bn.eval()
    rm, rv = bn.running_mean.numpy().copy(), bn.running_var.numpy().copy()
    expected = (xn - rm.reshape(1, 3, 1, 1)) / np.sqrt(rv.reshape(1, 3, 1, 1) + 1e-5)
    np.testing.assert_allclose(bn(x).detach().numpy(), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(bn.running_mean.numpy(), rm)  # untouched in eval
    assert bn.num_batches_tracked.item() == 1


def test_batch_norm_momentum_none_is_a_cumulative_average():
    bn = BatchNorm1d(2, momentum=None)
    batches = [_t((8, 2)) + i for i in range(3)]
    for b in batches:
        bn(b)
    means = [b.numpy().mean(axis=0) for b in batches]
    np.testing.assert_allclose(bn.running_mean.numpy(), np.mean(means, axis=0), rtol=1e-5, atol=1e-6)
    assert bn.num_batches_tracked.item() == 3


def test_batch_norm_1d_shapes_and_no_tracking():
    bn = BatchNorm1d(3)
    assert bn(_t((4, 3))).shape == (4, 3)
    assert bn(_t((4, 3, 6))).shape == (4, 3, 6)
    free = BatchNorm1d(3, affine=False, track_running_stats=False)
    assert free.running_mean is None and list(free.parameters()) == []
    free.eval()
    y = free(_t((5, 3)) * 4.0).numpy()  # no running stats: batch statistics even in eval
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-5)
    assert [k for k in BatchNorm2d(2).state_dict()] == [
        "weight",
        "bias",
        "running_mean",
        "running_var",
        "num_batches_tracked",
    ]


def test_batch_norm_gradient_through_batch_statistics():
    x, w, b = _t((3, 2, 2, 3), np.float64, True), _t((2,), np.float64, True), _t((2,), np.float64, True)
    assert gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), (x, w, b))
    # the gradient of sum(bn(x)) w.r.t. x is zero: the mean is subtracted
    x = _t((4, 3), requires_grad=True)
    F.batch_norm(x, None, None, training=True).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 0, atol=1e-5)


def test_batch_norm_module_grads_are_float32():
    bn = BatchNorm2d(4)
    x = _t((2, 4, 3, 3), requires_grad=True)
    (bn(x) * _t((2, 4, 3, 3))).sum().backward()
    assert x.grad.dtype == bn.weight.grad.dtype == bn.bias.grad.dtype == tg.float32


# ---- dropout2d ----------------------------------------------------------------------------------
def test_dropout2d_zeroes_whole_channels():
    tg.manual_seed(0)
    drop = Dropout2d(0.5)
    y = drop(tg.ones(8, 16, 3, 3)).numpy()
    per_channel = y.reshape(8, 16, 9)
    assert set(np.unique(per_channel)) <= {0.0, 2.0}
    assert np.all(per_channel.min(axis=2) == per_channel.max(axis=2))  # a channel is all kept or all dropped
    assert 0 < (per_channel[:, :, 0] == 0).mean() < 1
    drop.eval()
    np.testing.assert_array_equal(drop(tg.ones(2, 3, 2, 2)).numpy(), 1)
    with pytest.warns(UserWarning, match=r"interpreted as shape \(N, C, L\)"):
        y3 = F.dropout2d(tg.ones(4, 8, 5), 0.5)
    assert np.all(y3.numpy().min(axis=2) == y3.numpy().max(axis=2))


# ---- double backward ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fn",
    [
        lambda x, w: F.conv2d(x, w, padding=1),
        lambda x, w: F.max_pool2d(x, 2) * w.sum(),
        lambda x, w: F.avg_pool2d(x, 2) * w.sum(),
        lambda x, w: F.batch_norm(x, None, None, training=True) * w.sum(),
    ],
    ids=["conv2d", "max_pool2d", "avg_pool2d", "batch_norm"],
)
def test_double_backward_through_once_differentiable_kernels_raises(fn):
    x = _t((2, 2, 4, 4), np.float64, True)
    w = _t((2, 2, 3, 3), np.float64, True)
    (gx,) = tg.autograd.grad(fn(x, w).pow(2).sum(), [x], create_graph=True)
    with pytest.raises(RuntimeError, match="not differentiable twice"):
        gx.sum().backward()


# ---- errors -------------------------------------------------------------------------------------
def test_clear_errors():
    w = _t((4, 3, 3, 3))
    with pytest.raises(RuntimeError, match=r"Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d.*\[2, 3\]"):
        F.conv2d(_t((2, 3)), w)
    with pytest.raises(RuntimeError, match=r"expected input\[2, 5, 8, 8\] to have 3 channels, but got 5"):
        F.conv2d(_t((2, 5, 8, 8)), w)
    with pytest.raises(RuntimeError, match=r"padded input size per channel: \(2 x 2\).*Kernel size: \(3 x 3\)"):
        F.conv2d(_t((1, 3, 2, 2)), w)
    with pytest.raises(
        RuntimeError, match=r"groups=2, expected weight to be divisible by 2 at dimension 0.*\[3, 2, 3, 3\]"
    ):
        F.conv2d(_t((1, 4, 5, 5)), _t((3, 2, 3, 3)), groups=2)
    with pytest.raises(RuntimeError, match="same dtype"):
        F.conv2d(_t((1, 3, 5, 5), np.float64), w)
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="out_channels must be divisible by groups"):
        Conv2d(4, 3, 3, groups=2)
    with pytest.raises(ValueError, match="padding='same' is not supported for strided convolutions"):
        Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(RuntimeError, match=r"input to max_pool2d.*\[1, 1, 2, 2, 2\]"):
        F.max_pool2d(_t((1, 1, 2, 2, 2)), 2)
    with pytest.raises(RuntimeError, match="pad should be at most half of effective kernel size"):
        F.max_pool2d(_t((1, 1, 4, 4)), 2, padding=2)
    with pytest.raises(RuntimeError, match=r"avg_pool2d: input of size \[1, 1, 2, 2\].*smaller than the kernel"):
        F.avg_pool2d(_t((1, 1, 2, 2)), 3)
    with pytest.raises(ValueError, match="expected 4D input"):
        BatchNorm2d(3)(_t((2, 3)))
    with pytest.raises(RuntimeError, match="running_mean should contain 3 elements.*not 5"):
        BatchNorm1d(5)(_t((4, 3)))
    with pytest.raises(
        ValueError, match=r"Expected more than 1 value per channel when training, got input size \[1, 3\]"
    ):
        BatchNorm1d(3)(_t((1, 3)))


# ---- Modules ------------------------------------------------------------------------------------
def test_conv2d_module_default_init_and_repr():
    tg.manual_seed(0)
    conv = Conv2d(16, 32, 3, padding=1)
    bound = 1 / math.sqrt(16 * 9)  # kaiming_uniform_(a=sqrt(5)) == U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    w, b = conv.weight.numpy(force=True), conv.bias.numpy(force=True)
    assert conv.weight.shape == (32, 16, 3, 3) and w.dtype == np.float32
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert np.abs(b).max() <= bound
    assert [n for n, _ in conv.named_parameters()] == ["weight", "bias"]
    assert repr(conv) == "Conv2d(16, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    assert (
        repr(Conv2d(3, 6, 5, stride=2, groups=3, bias=False))
        == "Conv2d(3, 6, kernel_size=(5, 5), stride=(2, 2), groups=3, bias=False)"
    )
    assert Conv2d(3, 6, (3, 1), bias=False).bias is None
    assert repr(MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    assert repr(AvgPool2d(2)) == "AvgPool2d(kernel_size=2, stride=2, padding=0)"
    assert repr(AdaptiveAvgPool2d((1, 1))) == "AdaptiveAvgPool2d(output_size=(1, 1))"
    assert repr(BatchNorm2d(8)) == "BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"


def test_modules_forward_shapes():
    x = _t((2, 3, 9, 9))
    assert Conv2d(3, 5, 3, stride=2, padding=1)(x).shape == (2, 5, 5, 5)
    assert Conv2d(3, 5, 4, padding="same")(x).shape == (2, 5, 9, 9)
    assert MaxPool2d(3, 2, 1)(x).shape == (2, 3, 5, 5)
    assert MaxPool2d(2, ceil_mode=True)(x).shape == (2, 3, 5, 5)
    assert AvgPool2d(2)(x).shape == (2, 3, 4, 4)
    assert AdaptiveAvgPool2d((1, 1))(x).shape == (2, 3, 1, 1)
    assert AdaptiveAvgPool2d(4)(x).shape == (2, 3, 4, 4)


# ---- models -------------------------------------------------------------------------------------
def test_resnet18_forward_children_and_surgery():
    tg.manual_seed(0)
    model = models.resnet18()
    assert [n for n, _ in model.named_children()] == [
        "conv1",
        "bn1",
        "relu",
        "maxpool",
        "layer1",
        "layer2",
        "layer3",
        "layer4",
        "avgpool",
        "fc",
    ]
    assert sum(p.numel() for p in model.parameters()) == 11_689_512  # torchvision's count
    x = _t((2, 3, 32, 32))
    with tg.no_grad():
        assert model(x).shape == (2, 1000)
        body = nn.Sequential(*list(model.children())[:-2])
        assert body(x).shape == (2, 512, 1, 1)
    model.fc = nn.Linear(512, 2)
    assert model(x).shape == (2, 2)
    assert isinstance(model.layer2[0].downsample[0], Conv2d) and model.layer1[0].downsample is None


def test_small_resnet_trains_a_step():
    tg.manual_seed(0)
    model = models.resnet([1, 1, 1, 1], width=8, num_classes=3, in_channels=1, small_input=True)
    assert sum(p.numel() for p in models.resnet34(num_classes=10).parameters()) == 21_289_802
    x, y = _t((4, 1, 12, 12)), tg.tensor([0, 1, 2, 1])
    opt = tg.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert all(p.grad is not None and p.grad.dtype == tg.float32 for p in model.parameters())
    model.eval()
    with tg.no_grad():
        assert model(x).shape == (4, 3)


def test_mnist_cnn_shapes_and_learning():
    tg.manual_seed(0)
    model = models.mnist_cnn()
    assert isinstance(model, nn.Sequential)
    x = _t((8, 1, 28, 28))
    y = tg.tensor([0, 1, 2, 3, 4, 5, 6, 7])
    assert model(x).shape == (8, 10)
    opt = tg.optim.Adam(model.parameters(), lr=1e-3)
    first = None
    for _ in range(6):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
    assert loss.item() < first
