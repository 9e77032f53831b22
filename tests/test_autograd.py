"""The engine's contract: chain rule over the DAG, accumulation, retain_graph, create_graph,
grad modes, hooks, in-place checks, freeing the graph, anomaly detection and the errors."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import tinygrad_ko as tg
from tinygrad_ko.autograd import GradcheckError, detect_anomaly, grad, gradcheck


def leaf(values, dtype=tg.float32):
    return tg.tensor(values, dtype=dtype, requires_grad=True)


# ---- chain rule over the DAG ---------------------------------------------------------------------------
def test_reused_nodes_sum_their_gradients():
    a = leaf([2.0, 3.0])
    (a + a).sum().backward()
    assert a.grad.tolist() == [2.0, 2.0]
    x = leaf([2.0, 3.0])
    (x * x).sum().backward()
    assert x.grad.tolist() == [4.0, 6.0]


def test_diamond():
    x = leaf(3.0)
    y = x * 2  # y feeds two branches that meet again
    z = y * y + y.exp() - y
    z.backward()
    yv = 6.0
    assert x.grad.item() == pytest.approx((2 * yv + np.exp(yv) - 1) * 2, rel=1e-6)


def test_each_node_runs_once():
    calls = []
    x = leaf(1.0)
    y = x * 3
    y.register_hook(lambda g: calls.append(g.item()))
    (y + y * y + y.exp()).backward()
    assert calls == [pytest.approx(1 + 2 * 3 + np.exp(3), rel=1e-6)]


def test_deep_chain_has_no_recursion_limit():
    x = leaf(1.0)
    h = x
    for _ in range(100_000):
        h = h * 1.0 + 0.0
    h.backward()
    assert x.grad.item() == 1.0


def test_broadcasting_gradients_have_input_shapes():
    a = leaf(np.ones((4, 1, 3)))
    b = leaf(np.ones((2, 1)))
    (a * b + b).sum().backward()
    assert a.grad.shape == (4, 1, 3) and b.grad.shape == (2, 1)
    assert a.grad.tolist() == np.full((4, 1, 3), 2.0).tolist()
    assert b.grad.tolist() == [[24.0], [24.0]]


def test_float32_grads_stay_float32():
    w = leaf(np.ones((3, 2)))
    x = tg.tensor(np.ones((4, 3), dtype=np.float32))
    y = tg.tensor([0, 1, 1, 0])
    out = (x @ w).log_softmax(1)[tg.arange(4), y].mean() * 0.5 + (x @ w).sigmoid().sum() / 3
    out.backward()
    assert w.grad.dtype == tg.float32


# ---- accumulation, zeroing, retain_grad ------------------------------------------------------------------
def test_leaf_grads_accumulate_and_zero():
    x = leaf([1.0, 2.0])
    for _ in range(2):
        (x**2).sum().backward()
    assert x.grad.tolist() == [4.0, 8.0]  # calc_grad twice doubles the grad
    x.grad.zero_()
    (x**2).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]
    x.grad = None
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_grads_of_two_leaves_never_share_a_buffer():
    a, b = leaf([1.0]), leaf([1.0])
    (a + b).sum().backward()
    (a + b).sum().backward()
    a.grad.zero_()
    assert b.grad.tolist() == [2.0]


def test_non_leaf_grad_is_none_unless_retained():
    x = leaf([1.0, 2.0])
    y = x * 2
    z = y * 3
    y.retain_grad()
    z.sum().backward()
    assert y.grad.tolist() == [3.0, 3.0] and z.grad is None and y.retains_grad
    assert x.grad.tolist() == [6.0, 6.0]


def test_hooks_can_change_the_gradient():
    x = leaf([1.0, 2.0])
    handle = x.register_hook(lambda g: g * 10)
    (x * 2).sum().backward()
    assert x.grad.tolist() == [20.0, 20.0]
    handle.remove()
    x.grad = None
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]
    y = x * 1
    y.register_hook(lambda g: g * 0)
    x.grad = None
    (y * 5).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]


# ---- backward arguments and errors -------------------------------------------------------------------
def test_backward_errors_use_pytorch_wording():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (x * 2).backward()
    with pytest.raises(
        RuntimeError,
        match=r"Mismatch in shape: grad_output\[0\] has a shape of .*\[3\].* and output\[0\] has a shape of .*\[2\]",
    ):
        (x * 2).backward(tg.ones(3))
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad and does not have a grad_fn"):
        tg.ones(2).sum().backward()


def test_backward_with_gradient_argument():
    x = leaf([1.0, 2.0])
    (x * x).backward(tg.tensor([1.0, 0.5]))
    assert x.grad.tolist() == [2.0, 2.0]


def test_saved_tensors_are_freed_unless_retain_graph():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.tolist() == [4.0, 8.0]
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()


def test_graph_is_freed_by_reference_counting():
    gc.collect()
    gc.disable()
    try:
        x = leaf(np.ones(5))
        y = x.exp()
        z = (y * x).sigmoid().sum()
        refs = [weakref.ref(z.grad_fn), weakref.ref(y.grad_fn), weakref.ref(y)]
        z.backward()
        del y, z
        assert all(r() is None for r in refs)
        # and without backward too: dropping the output frees every node
        a = leaf(np.ones(5))
        out = ((a * 2).exp() @ a).tanh()
        ref = weakref.ref(out.grad_fn)
        del out
        assert ref() is None
    finally:
        gc.enable()


# ---- autograd.grad --------------------------------------------------------------------------------
def test_autograd_grad_does_not_touch_dot_grad():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (gx, gw) = grad((x * w).sum(), [x, w])
    assert gx.tolist() == [3.0, 4.0] and gw.tolist() == [1.0, 2.0]
    assert x.grad is None and w.grad is None


def test_autograd_grad_unused_and_non_leaf_inputs():
    x, u = leaf([1.0]), leaf([1.0])
    y = x * 2
    z = (y * y).sum()
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        grad(z, [x, u], retain_graph=True)
    gy, gu = grad(z, [y, u], allow_unused=True)
    assert gy.tolist() == [4.0] and gu is None


# ---- grad modes ---------------------------------------------------------------------------------------
def test_no_grad_records_nothing():
    x = leaf([1.0])
    with tg.no_grad():
        y = x * 2
        with tg.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None and z.requires_grad
    with tg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad

    @tg.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad and tg.is_grad_enabled()

    @tg.set_grad_enabled(False)
    def g(t):
        return t * 2

    assert not g(x).requires_grad and tg.is_grad_enabled()


def test_no_grad_and_enable_grad_as_bare_decorators():
    """``@torch.no_grad`` without parentheses, as PyTorch 2 allows (a class given the function)."""
    x = leaf([1.0])

    @tg.no_grad
    def evaluate(t):
        """Run without recording."""
        return t * 2

    @tg.enable_grad
    def record(t):
        return t * 3

    assert evaluate.__name__ == "evaluate" and evaluate.__doc__ == "Run without recording."
    y = evaluate(x)
    assert y.tolist() == [2.0] and not y.requires_grad and y.grad_fn is None and tg.is_grad_enabled()
    with tg.no_grad():
        assert record(x).requires_grad and not tg.is_grad_enabled()
    assert isinstance(tg.no_grad(), tg.no_grad) and isinstance(tg.set_grad_enabled(True), tg.set_grad_enabled)


def test_no_grad_allows_updating_leaves_in_place():
    w = leaf([1.0, 2.0])
    (w * 3).sum().backward()
    with tg.no_grad():
        w -= 0.1 * w.grad
    assert w.tolist() == pytest.approx([0.7, 1.7]) and w.is_leaf and w.requires_grad


# ---- in-place rules -----------------------------------------------------------------------------------
def test_inplace_on_leaf_requiring_grad_is_an_error():
    w = leaf([1.0])
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation"):
        w += 1
    with pytest.raises(RuntimeError, match="leaf Variable"):
        w[0] = 2.0


def test_modified_saved_tensor_is_detected():
    x = leaf([1.0, 2.0])
    y = x * 2
    z = y.exp()  # saves its output
    z.add_(1)
    with pytest.raises(
        RuntimeError, match="modified by an inplace operation: .* is at version 1; expected version 0 instead"
    ):
        z.sum().backward()
    a = x * 1
    b = a * x  # saves a
    a.mul_(2)
    with pytest.raises(RuntimeError, match="is at version 1; expected version 0"):
        b.sum().backward()


def test_modifying_an_unsaved_input_is_fine_and_inplace_is_differentiated():
    x = leaf([1.0, 2.0])
    a = x * 1
    b = a + 1  # add saves nothing
    a.add_(5)
    b.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]
    x.grad = None
    c = x * 2
    c.mul_(x)  # c = 2x * x in place
    c.add_(1)
    c.sum().backward()
    assert x.grad.tolist() == [4.0, 8.0]


def test_setitem_is_differentiated():
    x = leaf([1.0, 2.0, 3.0])
    v = leaf(10.0)
    y = x * 1
    y[1] = v * 2
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 1.0] and v.grad.item() == 2.0


# ---- higher order ------------------------------------------------------------------------------------
def test_second_derivative_of_cube():
    x = leaf(2.0, tg.float64)
    (g,) = grad(x**3, x, create_graph=True)
    assert g.item() == pytest.approx(12.0) and g.requires_grad
    (g2,) = grad(g, x)
    assert g2.item() == pytest.approx(12.0)
    x.grad = None
    y = x**3
    y.backward(create_graph=True)
    x.grad.backward()
    assert x.grad.item() == pytest.approx(12.0 + 12.0)  # first grad 12 plus second 12 accumulated


def _mlp_loss(w1, w2, x, y):
    return (((x @ w1).tanh() @ w2 - y) ** 2).mean()


def test_hessian_vector_product_of_tiny_mlp_matches_finite_differences():
    rng = np.random.default_rng(0)
    x = tg.from_numpy(rng.standard_normal((5, 3)))
    y = tg.from_numpy(rng.standard_normal((5, 1)))
    w1 = tg.from_numpy(rng.standard_normal((3, 4))).requires_grad_()
    w2 = tg.from_numpy(rng.standard_normal((4, 1))).requires_grad_()
    v1, v2 = rng.standard_normal((3, 4)), rng.standard_normal((4, 1))
    g1, g2 = grad(_mlp_loss(w1, w2, x, y), [w1, w2], create_graph=True)
    dot = (g1 * tg.from_numpy(v1)).sum() + (g2 * tg.from_numpy(v2)).sum()
    h1, h2 = grad(dot, [w1, w2])

    def flat_grad(a1, a2):
        t1, t2 = tg.from_numpy(a1).requires_grad_(), tg.from_numpy(a2).requires_grad_()
        d1, d2 = grad(_mlp_loss(t1, t2, x, y), [t1, t2])
        return np.concatenate([d1.numpy().ravel(), d2.numpy().ravel()])

    eps = 1e-6
    a1, a2 = w1.detach().numpy(), w2.detach().numpy()
    fd = (flat_grad(a1 + eps * v1, a2 + eps * v2) - flat_grad(a1 - eps * v1, a2 - eps * v2)) / (2 * eps)
    np.testing.assert_allclose(np.concatenate([h1.numpy().ravel(), h2.numpy().ravel()]), fd, rtol=1e-5, atol=1e-7)
    _, hv = tg.autograd.functional.hvp(
        lambda a: (a**3).sum(), tg.tensor([1.0, 2.0], dtype=tg.float64), tg.ones(2, dtype=tg.float64)
    )
    assert hv.tolist() == [6.0, 12.0]


def test_double_backward_through_once_differentiable_op_raises():
    x = leaf([3.0, 1.0, 2.0], tg.float64)
    y = x.sort().values  # sort's gather is a NumPy kernel
    (g,) = grad((y * y).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="not differentiable twice"):
        g.sum().backward()


# ---- gradcheck as a product feature ---------------------------------------------------------------------
def test_gradcheck_catches_a_broken_backward():
    class BadSquare(tg.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        def backward(ctx, grad_out):
            (a,) = ctx.saved_tensors
            return grad_out * a  # should be 2 * a

    x = leaf([1.0, 2.0], tg.float64)
    with pytest.raises(
        GradcheckError,
        match=r"Jacobian mismatch for output 0 with respect to input 0: worst element \(output element 1, input element 1\): numerical 4 vs analytical 2",
    ):
        gradcheck(BadSquare.apply, (x,))
    assert gradcheck(BadSquare.apply, (x,), raise_exception=False) is False
    assert gradcheck(lambda t: t * t, (x,))
    with pytest.raises(GradcheckError, match="float64"):
        gradcheck(lambda t: t * t, (leaf([1.0]),))


def test_gradcheck_checks_grad_shape():
    class WrongShape(tg.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a.sum()

        @staticmethod
        def backward(ctx, grad_out):
            return grad_out * tg.ones(5, dtype=tg.float64)

    with pytest.raises(
        RuntimeError, match=r"invalid gradient at index 0 - got \[5\] but expected shape compatible with \[3\]"
    ):
        gradcheck(WrongShape.apply, (leaf([1.0, 2.0, 3.0], tg.float64),))


# ---- anomaly detection and numerics ---------------------------------------------------------------
def test_detect_anomaly_names_the_op_and_where_it_was_created():
    x = leaf([0.0, 1.0])
    with detect_anomaly():
        y = x.sqrt()  # d sqrt at 0 is inf; times 0 gives nan
        z = (y * 0).sum()
        with pytest.raises(
            RuntimeError, match=r"Function 'SqrtBackward' returned nan values in its 0th output(.|\n)*test_autograd.py"
        ):
            z.backward()


def test_numerical_stability_at_extremes():
    x = leaf([-1000.0, 0.0, 1000.0])
    for f in (lambda t: t.sigmoid(), lambda t: t.softmax(0), lambda t: t.log_softmax(0), lambda t: t.logsumexp(0)):
        x.grad = None
        out = f(x)
        assert np.isfinite(out.detach().numpy()).all()
        (out * tg.tensor([1.0, 2.0, 3.0])[: out.numel()].reshape(out.shape)).sum().backward()
        assert np.isfinite(x.grad.numpy()).all()
    assert x.sigmoid().tolist() == [0.0, 0.5, 1.0]


def test_nan_and_inf_propagate_without_crashing():
    x = leaf([float("nan"), float("inf"), 1.0])
    with np.errstate(all="ignore"):
        y = (x * 2).exp().sum()
        y.backward()
    assert np.isnan(y.item()) and np.isnan(x.grad.numpy()[0])


# ---- clear errors --------------------------------------------------------------------------------
def test_clear_errors():
    with pytest.raises(
        RuntimeError, match=r"Add: the size of tensor a \(3\) must match the size of tensor b \(4\).*\[2, 3\] and \[4\]"
    ):
        tg.ones(2, 3) + tg.ones(4)
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"):
        tg.ones(2, 3) @ tg.ones(4, 5)
    with pytest.raises(RuntimeError, match=r"shape '\[4, 4\]' is invalid for input of size 6"):
        tg.ones(2, 3).reshape(4, 4)
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"):
        tg.ones(2, 3).sum(2)
    with pytest.raises(RuntimeError, match="Sizes of tensors must match except in dimension 0"):
        tg.cat([tg.ones(2, 3), tg.ones(2, 4)])
    with pytest.raises(RuntimeError, match="expanded size"):
        tg.ones(2, 3).expand(4, 3)
    with pytest.raises(IndexError, match=r"shape \[2, 3\]"):
        tg.ones(2, 3)[5]


def test_gradgradcheck_compares_recorded_and_plain_backward():
    class TwoPaths(tg.autograd.Function):
        """Correct NumPy backward, but a create_graph backward off by a constant."""

        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        def backward(ctx, grad_out):
            (a,) = ctx.saved_tensors
            if tg.is_grad_enabled():
                return grad_out * a * 2.0 + 1.0
            return grad_out * a * 2.0

    x = leaf([1.0, 2.0], tg.float64)
    with pytest.raises(GradcheckError, match="differs between backward with create_graph=True and without"):
        tg.autograd.gradgradcheck(TwoPaths.apply, (x,))


def test_inplace_on_view_of_leaf_uses_pytorch_wording():
    w = tg.randn(3, 2).requires_grad_()
    with pytest.raises(
        RuntimeError, match="a view of a leaf Variable that requires grad is being used in an in-place operation"
    ):
        w[0] *= 2
    with tg.no_grad():
        w[0] *= 2  # fine under no_grad, as in PyTorch
