"""Every tuned kernel of ``tinygrad_ko.kernels`` against the reading path's version of the same op.

The kernels take and return arrays; the references are the textbook ops of
``tinygrad_ko.ops.conv`` (Conv2d, MaxPool2d, AvgPool2d as Functions, batch_norm_train as Tensor
ops), run through autograd for their gradients, or plain NumPy for the BLAS/thread/malloc helpers.
``KERNEL_TESTS`` maps each kernel (each name in a kernels module's ``__all__``) to the tests that
check it, and :func:`test_every_kernel_has_an_equivalence_test` fails when a kernel has none.
"""

from __future__ import annotations

import importlib
import math
import pkgutil

import numpy as np
import pytest

import tinygrad_ko as tg
from tinygrad_ko import kernels
from tinygrad_ko.kernels import alloc as alloc_kernels
from tinygrad_ko.kernels import batchnorm as batchnorm_kernels
from tinygrad_ko.kernels import blas as blas_kernels
from tinygrad_ko.kernels import conv as conv_kernels
from tinygrad_ko.kernels import conv_transpose as conv_transpose_kernels
from tinygrad_ko.kernels import dense as dense_kernels
from tinygrad_ko.kernels import pool as pool_kernels
from tinygrad_ko.kernels import special as special_kernels
from tinygrad_ko.kernels import threads as thread_kernels
from tinygrad_ko.nn._conv_functional import _avg_divisor, _conv_padding, _pool_geometry
from tinygrad_ko.ops.conv import AvgPool2d, Conv2d, MaxPool2d, batch_norm_train
from tinygrad_ko.ops.elementwise import Relu
from tinygrad_ko.ops.linalg import Linear
from tinygrad_ko.ops.loss import CrossEntropy
from tinygrad_ko.ops.tuned import TunedCrossEntropy, TunedLinear, TunedRelu


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _leaf(a: np.ndarray) -> tg.Tensor:
    return tg.from_numpy(a.copy()).requires_grad_(True)


def _reference(op: type, arrays: list[np.ndarray], grad: np.ndarray, **kwargs):
    """The reference op's output and the gradients for the output gradient ``grad``."""
    leaves = [_leaf(a) for a in arrays]
    out = op.apply(*leaves, **kwargs)
    grads = tg.autograd.grad(out, leaves, grad_outputs=tg.from_numpy(grad))
    return out.detach().numpy(), [g.numpy() for g in grads]


# ---- conv2d -------------------------------------------------------------------------------------
CONV_CASES = [
    # x shape, w shape, stride, padding (int/pair/'same'), dilation, groups
    ((2, 3, 7, 6), (4, 3, 3, 3), 1, 1, 1, 1),  # pixel-major, grid input gradient
    ((2, 3, 9, 8), (4, 3, 3, 2), 2, (1, 2), 1, 1),  # strided: per-offset input gradient
    ((2, 3, 9, 9), (4, 3, 3, 3), (2, 1), 0, 2, 1),  # dilation
    ((1, 4, 6, 7), (6, 2, 3, 3), 1, 1, 1, 2),  # groups: channel-major
    ((2, 4, 6, 6), (4, 1, 3, 3), 1, "same", 1, 4),  # depthwise
    ((2, 3, 6, 5), (5, 3, 4, 2), 1, "same", (1, 2), 1),  # even kernel: asymmetric padding
    ((3, 8, 5, 5), (16, 8, 1, 1), 2, 0, 1, 1),  # 1x1
    ((2, 2, 20, 17), (3, 2, 3, 3), 1, 1, 1, 1),  # few columns on a large image: channel-major
    ((2, 8, 1, 1), (5, 8, 3, 3), 1, 1, 1, 1),  # 1x1 map: only the centre tap is live
    ((2, 6, 2, 2), (4, 6, 3, 3), 1, 1, 1, 1),  # 2x2 map: grid too wasteful, per-offset gradient
    ((2, 6, 2, 3), (4, 6, 3, 3), 2, 1, 1, 1),  # a tiny strided map: dead rows and columns
    ((3, 5, 4, 4), (4, 5, 3, 3), 1, (3, 2), 1, 1),  # more padding than the kernel reaches
    ((2, 1, 5, 5), (2, 1, 5, 5), 1, 0, 1, 1),  # kernel as large as the image
    ((2, 6, 8, 8), (5, 6, 1, 1), 1, 0, 1, 1),  # 1x1 on a larger map: direct products
    ((2, 6, 15, 14), (5, 6, 1, 1), 2, 0, 1, 1),  # strided 1x1 (a shortcut): direct on every 2nd pixel
]


def _two(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def _conv_case(case, bias, seed):
    xs, ws, stride, padding, dilation, groups = case
    rng = _rng(seed)
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    b = rng.standard_normal(ws[0]) if bias else None
    stride, dilation = _two(stride), _two(dilation)
    pads = _conv_padding(padding, ws[2:], dilation, stride)
    return x, w, b, stride, pads, dilation, groups


@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_kernels_match_reference(case, bias):
    x, w, b, stride, pads, dilation, groups = _conv_case(case, bias, seed=len(str(case)) + bias)
    arrays = [x, w] if b is None else [x, w, b]
    kwargs = {"stride": stride, "padding": pads, "dilation": dilation, "groups": groups}
    out, saved, geom = conv_kernels.conv2d_forward(x, w, b, stride, pads, dilation, groups)
    grad = _rng(1).standard_normal(out.shape)
    expected, expected_grads = _reference(Conv2d, arrays, grad, **kwargs)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)
    grads = conv_kernels.conv2d_backward(grad, saved, geom, True, True, b is not None)
    for got, want in zip(grads, expected_grads):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    # each gradient alone (the kernels skip the products nobody asked for)
    for which in range(len(arrays)):
        needs = [i == which for i in range(3)]
        keep = needs[1]
        out, saved, geom = conv_kernels.conv2d_forward(x, w, b, stride, pads, dilation, groups, keep)
        alone = conv_kernels.conv2d_backward(grad, saved, geom, *needs)
        np.testing.assert_allclose(alone[which], expected_grads[which], rtol=1e-10, atol=1e-12)
        assert all(alone[i] is None for i in range(3) if i != which)


CONV_T_CASES = [
    # x shape, w shape (C, O/G, kh, kw), stride, padding, dilation, groups, output_padding
    ((2, 4, 5, 5), (4, 3, 3, 3), (1, 1), (0, 0), (1, 1), 1, (0, 0)),
    ((2, 4, 4, 5), (4, 3, 3, 2), (2, 3), (1, 0), (1, 2), 1, (1, 2)),
    ((1, 4, 3, 3), (4, 2, 2, 2), (2, 2), (1, 1), (2, 1), 2, (1, 0)),
    ((2, 2, 3, 3), (2, 2, 3, 3), (1, 1), (1, 1), (2, 2), 1, (1, 1)),  # output_padding >= stride
]


@pytest.mark.parametrize("case", CONV_T_CASES)
def test_conv_transpose2d_kernel_matches_reference(case):
    """The transposed convolution is the input gradient of the reading path's Conv2d."""
    xs, ws, stride, padding, dilation, groups, out_pad = case
    rng = _rng(len(str(case)))
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[1] * groups)
    out_hw = tuple(
        (xs[2 + i] - 1) * stride[i] - 2 * padding[i] + dilation[i] * (ws[2 + i] - 1) + out_pad[i] + 1 for i in (0, 1)
    )
    got = conv_transpose_kernels.conv_transpose2d_forward(x, w, b, stride, padding, dilation, groups, out_hw)
    y = _leaf(np.zeros((xs[0], ws[1] * groups, *out_hw)))
    pads = (padding[0], padding[0], padding[1], padding[1])
    down = Conv2d.apply(y, tg.from_numpy(w), stride=stride, padding=pads, dilation=dilation, groups=groups)
    seed = np.zeros(down.shape)  # output_padding >= stride: the conv has a row/column more
    seed[:, :, : xs[2], : xs[3]] = x
    (gy,) = tg.autograd.grad(down, [y], grad_outputs=tg.from_numpy(seed))
    np.testing.assert_allclose(got, gy.numpy() + b.reshape(1, -1, 1, 1), rtol=1e-10, atol=1e-12)


def test_conv2d_dead_taps_and_layouts_are_taken():
    # the cases above reach the paths they are meant to reach
    for case, live, pixel_major in [(CONV_CASES[8], ((1, 2), (1, 2)), True), (CONV_CASES[7], None, False)]:
        x, w, b, stride, pads, dilation, groups = _conv_case(case, True, seed=0)
        _, _, geom = conv_kernels.conv2d_forward(x, w, b, stride, pads, dilation, groups)
        assert geom.pixel_major is pixel_major and not geom.direct
        assert (geom.live is None) == (live is None)
        if live is not None:
            assert geom.live[0] == live[0] + live[1]
    for case, direct in [(CONV_CASES[6], False), (CONV_CASES[13], True), (CONV_CASES[14], True)]:
        x, w, b, stride, pads, dilation, groups = _conv_case(case, True, seed=0)
        assert conv_kernels.conv2d_forward(x, w, b, stride, pads, dilation, groups)[2].direct is direct


def test_conv2d_1x1_direct_path_keeps_the_in_place_check():
    # the direct path keeps the input array itself for the weight's gradient: changing it in
    # place after the forward must raise, as for any saved tensor
    x = tg.randn(2, 4, 8, 8)
    w = tg.randn(3, 4, 1, 1, requires_grad=True)
    out = tg.nn.functional.conv2d(x, w)
    assert out.grad_fn.geom.direct
    x.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


@pytest.mark.parametrize("block_bytes,direct_1x1", [(1, 0), (1 << 40, 1 << 62)])
@pytest.mark.parametrize("gw_by_channel,grid", [(False, True), (True, False)])
def test_conv2d_kernel_settings_match_reference(monkeypatch, block_bytes, direct_1x1, gw_by_channel, grid):
    # the tuned constants choose between equivalent paths: every choice gives the reference
    monkeypatch.setattr(conv_kernels, "_BLOCK_BYTES", block_bytes)
    monkeypatch.setattr(conv_kernels, "_DIRECT_1X1_MIN_PIXELS", direct_1x1)
    monkeypatch.setattr(conv_kernels, "_GW_BY_CHANNEL_MIN", 0 if gw_by_channel else 1 << 62)
    monkeypatch.setattr(conv_kernels, "_GRID_MAX_WASTE", float("inf") if grid else 0.0)
    monkeypatch.setattr(conv_kernels, "_PER_IMAGE_MIN_PIXELS", 0)  # pixel-major whenever groups == 1
    for case in CONV_CASES[:3] + CONV_CASES[5:7] + CONV_CASES[13:]:
        x, w, b, stride, pads, dilation, groups = _conv_case(case, True, seed=3)
        out, saved, geom = conv_kernels.conv2d_forward(x, w, b, stride, pads, dilation, groups)
        grad = _rng(2).standard_normal(out.shape)
        kwargs = {"stride": stride, "padding": pads, "dilation": dilation, "groups": groups}
        expected, expected_grads = _reference(Conv2d, [x, w, b], grad, **kwargs)
        np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)
        for got, want in zip(conv_kernels.conv2d_backward(grad, saved, geom, True, True, True), expected_grads):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


# ---- max pool -----------------------------------------------------------------------------------
MAX_POOL_CASES = [
    # x shape, kernel, stride, padding, dilation, ceil_mode
    ((2, 3, 8, 6), (2, 2), (2, 2), (0, 0), (1, 1), False),  # 2x2 fast path (float32)
    ((2, 3, 9, 6), (3, 3), (3, 3), (0, 0), (1, 1), False),  # tiled
    ((2, 2, 6, 9), (2, 3), (2, 3), (0, 0), (1, 1), False),  # tiled, unequal sides
    ((2, 2, 7, 7), (3, 3), (1, 1), (1, 1), (1, 1), False),  # overlapping, padded
    ((1, 2, 9, 8), (3, 2), (2, 2), (1, 1), (2, 1), False),  # dilation
    ((2, 2, 7, 6), (2, 2), (2, 2), (0, 0), (1, 1), True),  # ceil mode: a half window
    ((1, 3, 8, 7), (3, 3), (2, 2), (1, 1), (1, 1), True),  # ceil mode with padding
    ((2, 2, 5, 5), (3, 3), (3, 3), (1, 1), (1, 1), False),  # disjoint windows, padding
]


def _pool_values(shape, kind, rng):
    """Random values of the given kind: ties (small integers), NaNs, or -inf."""
    x = rng.integers(-2, 3, size=shape).astype(np.float64)  # many ties
    if kind == "nan":
        x[rng.random(shape) < 0.15] = np.nan
    elif kind == "-inf":
        x[rng.random(shape) < 0.4] = -np.inf
        x[:, :, :2, :2] = -np.inf  # whole windows of -inf at the padded corner
    elif kind == "normal":
        x = rng.standard_normal(shape)
    return x


@pytest.mark.parametrize("case", MAX_POOL_CASES)
@pytest.mark.parametrize("kind", ["ties", "nan", "-inf", "normal"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool2d_kernels_match_reference(case, kind, dtype):
    shape, kernel, stride, padding, dilation, ceil_mode = case
    rng = _rng(len(str(case)) + len(kind))
    x = _pool_values(shape, kind, rng).astype(dtype)
    pads, ho, wo = _pool_geometry("max_pool2d", shape, kernel, stride, padding, dilation, ceil_mode)
    geometry = {"kernel": kernel, "stride": stride, "dilation": dilation, "padding": pads, "out_size": (ho, wo)}
    out, saved, geom = pool_kernels.max_pool2d_forward(x, need_grad=True, **geometry)
    grad = rng.standard_normal(out.shape).astype(dtype)
    expected, (expected_grad,) = _reference(MaxPool2d, [x], grad, **geometry)
    np.testing.assert_array_equal(out, expected)
    # the gradient lands on the same element; overlapping windows may add in another order
    np.testing.assert_allclose(pool_kernels.max_pool2d_backward(grad, saved, geom), expected_grad, rtol=1e-6)
    no_grad, saved, _ = pool_kernels.max_pool2d_forward(x, need_grad=False, **geometry)
    np.testing.assert_array_equal(no_grad, expected)
    assert saved == ()


def test_max_pool2d_fast_paths_are_taken():
    x = _rng(0).standard_normal((2, 3, 8, 6)).astype(np.float32)
    geometry = {"kernel": (2, 2), "stride": (2, 2), "dilation": (1, 1), "padding": (0, 0, 0, 0), "out_size": (4, 3)}
    assert pool_kernels.max_pool2d_forward(x, need_grad=True, **geometry)[2][0] == "2x2"
    x = np.ascontiguousarray(x[:, :, :6])
    geometry.update(kernel=(3, 3), stride=(3, 3), out_size=(2, 2))
    assert pool_kernels.max_pool2d_forward(x, need_grad=True, **geometry)[2][0] == "tiled"
    x[0, 0, 0, 0] = np.nan  # a NaN maximum: the general kernel sends its gradient to the NaN
    assert pool_kernels.max_pool2d_forward(x, need_grad=True, **geometry)[2][0] == "general"


# ---- avg pool -----------------------------------------------------------------------------------
AVG_POOL_CASES = [
    # x shape, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override
    ((2, 3, 8, 6), (2, 2), (2, 2), (0, 0), False, True, None),
    ((2, 2, 7, 7), (3, 3), (2, 2), (1, 1), False, True, None),
    ((2, 2, 7, 7), (3, 3), (2, 2), (1, 1), False, False, None),  # window sizes differ: an array divisor
    ((1, 2, 7, 6), (2, 3), (2, 2), (1, 1), True, False, None),  # ceil mode
    ((1, 2, 7, 6), (3, 2), (2, 1), (1, 0), True, True, None),
    ((2, 2, 6, 6), (3, 3), (1, 1), (1, 1), False, True, 4),  # divisor_override
    ((1, 1, 1, 1), (1, 1), (1, 1), (0, 0), False, True, None),
]


@pytest.mark.parametrize("case", AVG_POOL_CASES)
def test_avg_pool2d_kernels_match_reference(case):
    shape, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override = case
    rng = _rng(len(str(case)))
    x = rng.standard_normal(shape)
    pads, ho, wo = _pool_geometry("avg_pool2d", shape, kernel, stride, padding, (1, 1), ceil_mode)
    if divisor_override is None:
        divisor = _avg_divisor(shape, kernel, stride, padding, (ho, wo), count_include_pad, x.dtype)
    else:
        divisor = x.dtype.type(divisor_override)
    geometry = {"kernel": kernel, "stride": stride, "padding": pads, "out_size": (ho, wo), "divisor": divisor}
    out, geom = pool_kernels.avg_pool2d_forward(x, **geometry)
    grad = rng.standard_normal(out.shape)
    expected, (expected_grad,) = _reference(AvgPool2d, [x], grad, **geometry)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(pool_kernels.avg_pool2d_backward(grad, geom), expected_grad, rtol=1e-12, atol=1e-14)


# ---- batch norm ---------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 6), (3, 2, 4, 5)])
@pytest.mark.parametrize("affine", [(True, True), (True, False), (False, True), (False, False)])
def test_batch_norm_kernels_match_reference(shape, affine):
    rng = _rng(len(shape))
    x = rng.standard_normal(shape) * 3 + 1
    c = shape[1]
    w = rng.standard_normal(c) if affine[0] else None
    b = rng.standard_normal(c) if affine[1] else None
    eps = 1e-5
    out, mean, var, xhat, invstd = batchnorm_kernels.batch_norm_forward(x, w, b, eps)
    axes = (0, *range(2, len(shape)))
    np.testing.assert_allclose(mean, x.mean(axis=axes), rtol=1e-12)
    np.testing.assert_allclose(var, x.var(axis=axes), rtol=1e-12)
    leaves = [_leaf(a) for a in (x, w, b) if a is not None]
    given = iter(leaves)
    x_t = next(given)
    w_t = next(given) if w is not None else None
    b_t = next(given) if b is not None else None
    ref = batch_norm_train(x_t, w_t, b_t, eps)
    np.testing.assert_allclose(out, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    grad = rng.standard_normal(shape)
    expected = tg.autograd.grad(ref, leaves, grad_outputs=tg.from_numpy(grad))
    gx, gw, gb = batchnorm_kernels.batch_norm_backward(grad, xhat, invstd, w, need_x=True)
    got = [gx] + ([gw] if w is not None else []) + ([gb] if b is not None else [])
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e.numpy(), rtol=1e-9, atol=1e-11)
    assert batchnorm_kernels.batch_norm_backward(grad, xhat, invstd, w, need_x=False)[0] is None


# ---- BLAS, threads, malloc ----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blas_axpy_matches_numpy_update(dtype):
    rng = _rng(5)
    p = rng.standard_normal((300, 70)).astype(dtype)
    g = rng.standard_normal((300, 70)).astype(dtype)
    lr = 0.05
    expected = p.copy()
    expected -= dtype(lr) * g  # what the optimizer does without BLAS
    done = blas_kernels.axpy(-lr, g, p)
    assert done is blas_kernels.available()
    if done:
        np.testing.assert_allclose(p, expected, rtol=4 * np.finfo(dtype).eps, atol=4 * np.finfo(dtype).eps)
    else:  # nothing done: the caller falls back to the NumPy update
        np.testing.assert_array_equal(p, expected + dtype(lr) * g)
    assert blas_kernels.axpy(-lr, g[:, ::2], p[:, :35]) is False  # never on non-contiguous views


@pytest.fixture
def restore_threads():
    before = thread_kernels.get_num_threads()
    yield
    thread_kernels.set_num_threads(before)


def _adam_like_update(n_threads: int) -> np.ndarray:
    rng = _rng(6)
    p, m, v = (rng.standard_normal(200_003) for _ in range(3))
    v = np.abs(v)

    def kernel(start: int, stop: int) -> None:
        p[start:stop] -= 0.01 * m[start:stop] / (np.sqrt(v[start:stop]) + 1e-8)

    thread_kernels.set_num_threads(n_threads)
    assert thread_kernels.get_num_threads() == n_threads
    thread_kernels.run_chunks(kernel, p.size, min_chunk=1000)
    return p


def test_thread_split_update_matches_one_thread(restore_threads):
    single = _adam_like_update(1)
    for n_threads in (2, 3):
        np.testing.assert_array_equal(_adam_like_update(n_threads), single)


def test_tune_malloc_is_idempotent():
    first = alloc_kernels.tune_malloc()
    assert first is alloc_kernels.applied  # True only once the thresholds are really set
    for _ in range(3):
        assert alloc_kernels.tune_malloc() is first
    # allocations of the sizes the thresholds govern still behave
    big = np.ones(alloc_kernels.MMAP_THRESHOLD // 8 // 4)
    assert math.isclose(float(big.sum()), big.size)


# ---- every kernel has a test --------------------------------------------------------------------
# ---- the MLP's hot backwards (kernels.dense) ---------------------------------------------------
def _grads(op: type, leaves: list, grad: np.ndarray, **attrs) -> list:
    """d(op(*leaves))/d(each leaf that requires grad) for the output gradient ``grad``."""
    out = op.apply(*leaves, **attrs)
    wanted = [t for t in leaves if t.requires_grad]
    return [g.numpy() for g in tg.autograd.grad(out, wanted, grad_outputs=tg.from_numpy(grad))]


@pytest.mark.parametrize("lead", [(), (1,), (1, 1), (3,), (2, 3), (0,)])  # (1,): the outer-product path
@pytest.mark.parametrize("needs", [(True, True, True), (False, True, True), (True, False, False), (True, True)])
def test_linear_backward_kernel_matches_reference(lead: tuple, needs: tuple) -> None:
    rng = _rng(len(lead) * 7 + sum(needs))
    x, w, b = rng.standard_normal(lead + (5,)), rng.standard_normal((4, 5)), rng.standard_normal(4)
    arrays = [x, w, b][: len(needs)]
    grad = rng.standard_normal(lead + (4,))
    for op in (Linear, TunedLinear):  # the tuned op runs the kernel under a plain backward
        leaves = [tg.from_numpy(a.copy()).requires_grad_(need) for a, need in zip(arrays, needs)]
        got = _grads(op, leaves, grad)
        if op is Linear:
            expected = got
    kernel = dense_kernels.linear_backward(grad, x, w, x.shape, needs)
    for want, tuned, direct in zip(expected, got, [k for k in kernel if k is not None]):
        np.testing.assert_allclose(tuned, want, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(direct, want, rtol=1e-12, atol=1e-12)
    assert [k is not None for k in kernel] == list(needs)


def test_relu_backward_kernel_matches_reference() -> None:
    rng = _rng(3)
    for shape in [(7,), (4, 6), (2, 3, 5), (0, 3)]:
        a = rng.standard_normal(shape)
        a.flat[::3] = 0.0  # ties at the kink: both give 0 there
        grad = rng.standard_normal(shape)
        (want,) = _grads(Relu, [_leaf(a)], grad)
        (tuned,) = _grads(TunedRelu, [_leaf(a)], grad)
        direct = dense_kernels.relu_backward(grad, np.maximum(a, 0))
        np.testing.assert_array_equal(tuned, want)
        np.testing.assert_array_equal(direct, want)
        assert direct.dtype == grad.dtype


CE_CASES = [
    # rows, classes, weighted, ignore_index, label smoothing, reduction
    (6, 4, False, -100, 0.0, "mean"),
    (6, 4, True, 2, 0.0, "mean"),
    (5, 3, False, 0, 0.1, "sum"),
    (5, 3, True, -100, 0.3, "none"),
    (4, 5, True, 1, 0.2, "mean"),
    (3, 2, False, -100, 0.0, "none"),
]


@pytest.mark.parametrize("case", CE_CASES)
def test_cross_entropy_backward_kernel_matches_reference(case: tuple) -> None:
    m, c, weighted, ignore_index, eps, reduction = case
    rng = _rng(m * 10 + c)
    x = rng.standard_normal((m, c)) * 3
    t = rng.integers(0, c, m)
    t[0] = 0 if ignore_index < 0 else (ignore_index + 1) % c  # at least one row that counts
    w = rng.uniform(0.25, 2.0, c) if weighted else None
    grad = rng.standard_normal(m) if reduction == "none" else np.asarray(rng.standard_normal())
    attrs = dict(target=t, weight=w, ignore_index=ignore_index, label_smoothing=eps, reduction=reduction)
    (want,) = _grads(CrossEntropy, [_leaf(x)], grad, **attrs)
    (tuned,) = _grads(TunedCrossEntropy, [_leaf(x)], grad, **attrs)
    np.testing.assert_allclose(tuned, want, rtol=1e-12, atol=1e-12)
    node = CrossEntropy.apply(_leaf(x), **attrs).grad_fn
    direct = dense_kernels.cross_entropy_backward(grad, node.log_probs, node.row_weight, node.target)
    np.testing.assert_allclose(direct, want, rtol=1e-12, atol=1e-12)


def test_hot_ops_keep_their_reference_backward_under_create_graph() -> None:
    """create_graph runs the reading path's (Tensor-op) backward, so second derivatives exist."""
    rng = _rng(5)
    x = _leaf(rng.standard_normal((3, 4)))
    w = _leaf(rng.standard_normal((2, 4)))
    loss = TunedCrossEntropy.apply(
        TunedRelu.apply(TunedLinear.apply(x, w)),
        target=np.array([0, 1, 1]),
        weight=None,
        ignore_index=-100,
        label_smoothing=0.0,
        reduction="mean",
    )
    (gw,) = tg.autograd.grad(loss, [w], create_graph=True)
    assert gw.requires_grad and gw.grad_fn is not None
    (gx,) = tg.autograd.grad((gw * gw).sum(), [x])
    assert np.isfinite(gx.numpy()).all() and np.abs(gx.numpy()).sum() > 0


# ---- erf (GELU's error function): against Python's math.erf --------------------------------------
def _ulps(got, ref, dtype):
    spacing = np.spacing(np.abs(ref).astype(dtype)).astype(np.float64)
    return np.abs(got.astype(np.float64) - ref) / np.maximum(spacing, np.finfo(dtype).smallest_subnormal)


def test_erf_kernel_matches_math_erf():
    erf, _erf = special_kernels.erf, np.vectorize(math.erf, otypes=[np.float64])
    x = np.concatenate([np.linspace(-7, 7, 20001), [0.0, 2.0, -2.0, 6.0, 5.9999, 1.9999999, 1e-300, 5e-324]])
    assert _ulps(erf(x), _erf(x), np.float64).max() <= 4
    x32 = x.astype(np.float32)
    got = erf(x32)
    assert got.dtype == np.float32
    assert _ulps(got, _erf(x32.astype(np.float64)), np.float32).max() <= 3
    assert erf(np.array([np.inf, -np.inf])).tolist() == [1.0, -1.0]
    assert np.isnan(erf(np.array([np.nan, 3.0])))[0]
    # 0-d, non-contiguous and float16 arrays
    assert erf(np.array(3.0)).shape == () and float(erf(np.array(3.0))) == pytest.approx(math.erf(3.0), rel=1e-15)
    m = np.linspace(-5, 5, 24).reshape(4, 6)
    np.testing.assert_allclose(erf(m.T), _erf(m.T), rtol=1e-15, atol=1e-16)
    np.testing.assert_allclose(erf(m[:, ::2]), _erf(m[:, ::2]), rtol=1e-15, atol=1e-16)
    assert erf(m.astype(np.float16)).dtype == np.float16


KERNEL_TESTS = {
    "conv2d_forward": [test_conv2d_kernels_match_reference, test_conv2d_kernel_settings_match_reference],
    "conv2d_backward": [test_conv2d_kernels_match_reference, test_conv2d_kernel_settings_match_reference],
    "conv_transpose2d_forward": [test_conv_transpose2d_kernel_matches_reference],
    "max_pool2d_forward": [test_max_pool2d_kernels_match_reference, test_max_pool2d_fast_paths_are_taken],
    "max_pool2d_backward": [test_max_pool2d_kernels_match_reference],
    "avg_pool2d_forward": [test_avg_pool2d_kernels_match_reference],
    "avg_pool2d_backward": [test_avg_pool2d_kernels_match_reference],
    "batch_norm_forward": [test_batch_norm_kernels_match_reference],
    "batch_norm_backward": [test_batch_norm_kernels_match_reference],
    "axpy": [test_blas_axpy_matches_numpy_update],
    "available": [test_blas_axpy_matches_numpy_update],
    "run_chunks": [test_thread_split_update_matches_one_thread],
    "get_num_threads": [test_thread_split_update_matches_one_thread],
    "set_num_threads": [test_thread_split_update_matches_one_thread],
    "tune_malloc": [test_tune_malloc_is_idempotent],
    "linear_backward": [test_linear_backward_kernel_matches_reference],
    "relu_backward": [test_relu_backward_kernel_matches_reference],
    "cross_entropy_backward": [test_cross_entropy_backward_kernel_matches_reference],
    "erf": [test_erf_kernel_matches_math_erf],
}


def test_every_kernel_has_an_equivalence_test():
    exported = set()
    for info in pkgutil.iter_modules(kernels.__path__):
        if info.name.startswith("_"):
            continue  # private helpers shared by the kernels
        module = importlib.import_module(f"tinygrad_ko.kernels.{info.name}")
        assert hasattr(module, "__all__"), f"tinygrad_ko.kernels.{info.name} has no __all__"
        exported |= set(module.__all__)
    assert exported == set(KERNEL_TESTS), (
        f"kernels without an equivalence test: {sorted(exported - set(KERNEL_TESTS))}; "
        f"tests for names no kernels module exports: {sorted(set(KERNEL_TESTS) - exported)}"
    )
    assert all(KERNEL_TESTS.values())
