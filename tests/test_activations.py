"""The activations GELU, SiLU, Mish, ELU, CELU, Hardtanh, ReLU6, Hardswish and Softsign, F.normalize,
F.smooth_l1_loss and F.kl_div, used the way PyTorch code uses them: values against the documented
formulas, gradients (at the kinks too, where PyTorch picks a slope), dtypes, inplace=, the modules
and their reprs, argument errors, and large inputs. The error function under GELU is checked
against Python's ``math.erf``. Where torch is installed, the same calls are compared with it."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import tinygrad_ko as torch
import tinygrad_ko.nn.functional as F
from tinygrad_ko import nn

_erf = np.vectorize(math.erf, otypes=[np.float64])
SQRT_2PI = math.sqrt(2 * math.pi)


def _phi(x):  # the standard normal density
    return np.exp(-0.5 * x * x) / SQRT_2PI


def _cdf(x):
    return 0.5 * (1 + _erf(x / math.sqrt(2)))


def _sigmoid(x):
    return np.exp(-np.logaddexp(0, -x))


def _grad(fn, values, dtype=torch.float64):
    """fn(x) and d(sum fn(x))/dx at ``values``."""
    x = torch.tensor(np.array(values, dtype=np.float64), dtype=dtype, requires_grad=True)
    y = fn(x)
    y.sum().backward()
    return y.detach().numpy(), x.grad.numpy()


XS = [-4.0, -3.0, -1.5, -0.5, 0.0, 0.5, 1.5, 3.0, 4.0, 7.0]
K = math.sqrt(2 / math.pi)

# name -> (call, value formula, slope formula), the formulas in NumPy from PyTorch's docs
FORMULAS = {
    "gelu": (F.gelu, lambda x: x * _cdf(x), lambda x: _cdf(x) + x * _phi(x)),
    "gelu_tanh": (
        lambda x: F.gelu(x, approximate="tanh"),
        lambda x: 0.5 * x * (1 + np.tanh(K * (x + 0.044715 * x**3))),
        lambda x: (
            0.5 * (1 + np.tanh(K * (x + 0.044715 * x**3)))
            + 0.5 * x * (1 - np.tanh(K * (x + 0.044715 * x**3)) ** 2) * K * (1 + 3 * 0.044715 * x**2)
        ),
    ),
    "silu": (F.silu, lambda x: x * _sigmoid(x), lambda x: _sigmoid(x) * (1 + x * (1 - _sigmoid(x)))),
    "mish": (
        F.mish,
        lambda x: x * np.tanh(np.logaddexp(0, x)),
        lambda x: np.tanh(np.logaddexp(0, x)) + x * _sigmoid(x) * (1 - np.tanh(np.logaddexp(0, x)) ** 2),
    ),
    "elu": (
        lambda x: F.elu(x, alpha=1.5),
        lambda x: np.where(x > 0, x, 1.5 * np.expm1(x)),
        lambda x: np.where(x > 0, 1.0, 1.5 * np.exp(x)),
    ),
    "celu": (
        lambda x: F.celu(x, alpha=2.0),
        lambda x: np.maximum(0, x) + np.minimum(0, 2.0 * np.expm1(x / 2.0)),
        lambda x: np.where(x > 0, 1.0, np.exp(x / 2.0)),
    ),
    "hardtanh": (
        lambda x: F.hardtanh(x, -1.5, 3.0),
        lambda x: np.clip(x, -1.5, 3.0),
        lambda x: ((x > -1.5) & (x < 3.0)).astype(float),
    ),
    "relu6": (F.relu6, lambda x: np.clip(x, 0, 6), lambda x: ((x > 0) & (x < 6)).astype(float)),
    "hardswish": (
        F.hardswish,
        lambda x: x * np.clip(x + 3, 0, 6) / 6,
        lambda x: np.where(x <= -3, 0.0, np.where(x < 3, x / 3 + 0.5, 1.0)),
    ),
    "softsign": (F.softsign, lambda x: x / (1 + np.abs(x)), lambda x: 1 / (1 + np.abs(x)) ** 2),
}


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_values_and_gradients_follow_the_formulas(name):
    fn, value, slope = FORMULAS[name]
    x = np.array(XS)
    y, g = _grad(fn, XS)
    np.testing.assert_allclose(y, value(x), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(g, slope(x), rtol=1e-12, atol=1e-15)
    # float32 in, float32 out (value and gradient), close to the float64 result
    y32, g32 = _grad(fn, XS, torch.float32)
    assert y32.dtype == np.float32 and g32.dtype == np.float32
    np.testing.assert_allclose(y32, y, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g32, g, rtol=1e-5, atol=1e-6)


def test_slopes_at_the_kinks_are_pytorchs():
    # hardtanh and relu6: 0 at both ends (unlike clamp, whose slope there is 1)
    assert _grad(lambda x: F.hardtanh(x), [-1.0, 1.0])[1].tolist() == [0.0, 0.0]
    assert _grad(F.relu6, [0.0, 6.0])[1].tolist() == [0.0, 0.0]
    assert _grad(lambda x: x.clamp(-1.0, 1.0), [-1.0, 1.0])[1].tolist() == [1.0, 1.0]
    # hardswish: 0 at -3, 1 at +3
    assert _grad(F.hardswish, [-3.0, 3.0])[1].tolist() == [0.0, 1.0]
    # elu: the left branch's alpha at 0; celu: 1 at 0 for any alpha
    assert _grad(lambda x: F.elu(x, alpha=2.0), [0.0])[1].tolist() == [2.0]
    assert _grad(lambda x: F.celu(x, alpha=2.0), [0.0])[1].tolist() == [1.0]
    # smooth at 0: gelu 1/2, silu 1/2, mish 0.6, softsign 1
    for fn, slope in ((F.gelu, 0.5), (F.silu, 0.5), (F.mish, 0.6), (F.softsign, 1.0)):
        assert _grad(fn, [0.0])[1][0] == pytest.approx(slope, abs=1e-15)


def test_second_derivatives():
    x = torch.tensor([-2.0, -0.5, 0.3, 1.7], dtype=torch.float64, requires_grad=True)
    xs = x.detach().numpy()
    cases = [
        (F.gelu, _phi(xs) * (2 - xs * xs)),  # d2/dx2 x Phi(x)
        (F.silu, _sigmoid(xs) * (1 - _sigmoid(xs)) * (2 + xs * (1 - 2 * _sigmoid(xs)))),
        (lambda t: F.elu(t, alpha=1.5), np.where(xs > 0, 0.0, 1.5 * np.exp(xs))),
        (F.hardswish, np.where(np.abs(xs) < 3, 1 / 3, 0.0)),
        (F.softsign, -2 * np.sign(xs) / (1 + np.abs(xs)) ** 3),
    ]
    for fn, expected in cases:
        (g,) = torch.autograd.grad(fn(x).sum(), x, create_graph=True)
        (gg,) = torch.autograd.grad(g.sum(), x)
        np.testing.assert_allclose(gg.numpy(), expected, rtol=1e-10, atol=1e-14)


def test_grad_fn_names():
    x = torch.randn(3, requires_grad=True)
    assert F.gelu(x).grad_fn.name() == "GeluBackward"
    assert F.gelu(x, approximate="tanh").grad_fn.name() == "GeluBackward"
    assert F.silu(x).grad_fn.name() == "SiluBackward"
    assert F.elu(x).grad_fn.name() == "EluBackward"
    assert F.celu(x).grad_fn.name() == "CeluBackward"
    assert F.relu6(x).grad_fn.name() == "HardtanhBackward"  # PyTorch's relu6 is hardtanh(0, 6) too
    assert F.hardswish(x).grad_fn.name() == "HardswishBackward"
    assert F.mish(x).grad_fn.name() == "MishBackward"


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_large_inputs_give_no_overflow_warnings_and_no_nan(dtype):
    big = 1e30 if dtype == torch.float32 else 1e300
    values = [-big, -1e4, -800.0, -50.0, 50.0, 800.0, 1e4, big]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name, (fn, _, _) in FORMULAS.items():
            y, g = _grad(fn, values, dtype)
            assert np.isfinite(y).all() and np.isfinite(g).all(), name
    # far out every activation is its asymptote
    y, g = _grad(F.gelu, [-1e4, 1e4], dtype)
    assert y.tolist() == [0.0, 1e4] and g.tolist() == [0.0, 1.0]
    y, g = _grad(F.silu, [-1e4, 1e4], dtype)
    assert y.tolist() == [0.0, 1e4] and g.tolist() == [0.0, 1.0]
    y, _ = _grad(lambda x: F.elu(x, alpha=2.0), [-1e4], dtype)
    assert y.tolist() == [-2.0]
    # mish and softplus-like parts keep tiny values accurate instead of rounding them to 0
    y, _ = _grad(F.mish, [-50.0], dtype)
    expected = -50.0 * math.tanh(math.log1p(math.exp(-50.0)))
    assert y[0] == pytest.approx(expected, rel=1e-6) and y[0] < 0


def test_float16_stays_float16():
    values = [-60.0, -4.0, -1.0, -0.5, 0.0, 0.5, 1.0, 4.0, 60.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name, (fn, value, slope) in FORMULAS.items():
            y, g = _grad(fn, values, torch.float16)
            assert y.dtype == np.float16 and g.dtype == np.float16, name
            x = np.array(values, dtype=np.float16).astype(np.float64)
            np.testing.assert_allclose(y, value(x), rtol=2e-3, atol=2e-3, err_msg=name)
            np.testing.assert_allclose(g, slope(x), rtol=2e-3, atol=2e-3, err_msg=name)


def test_zero_dim_and_empty_tensors():
    for name, (fn, value, slope) in FORMULAS.items():
        y, g = _grad(fn, -0.7)
        assert y.shape == () and g.shape == (), name
        assert float(y) == pytest.approx(float(value(np.array(-0.7))), rel=1e-12)
        assert float(g) == pytest.approx(float(slope(np.array(-0.7))), rel=1e-12)
        y, g = _grad(fn, np.zeros((0, 3)))
        assert y.shape == (0, 3) and g.shape == (0, 3), name


def test_integer_inputs():
    i = torch.tensor([-3, 0, 3])
    for fn in (F.gelu, F.silu, F.elu, F.celu, F.hardswish, F.mish):
        with pytest.raises(NotImplementedError, match="floating point"):
            fn(i)
    # hardtanh/relu6 keep integers (bounds truncated to integers); softsign gives float32
    assert F.hardtanh(i, -1.5, 2.5).tolist() == [-1, 0, 2] and F.hardtanh(i).dtype == torch.int64
    assert F.relu6(torch.tensor([-3, 0, 9])).tolist() == [0, 0, 6]
    s = F.softsign(i)
    assert s.dtype == torch.float32 and s.tolist() == [-0.75, 0.0, 0.75]


def test_argument_errors():
    x = torch.tensor([1.0, -1.0])
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
        F.gelu(x, approximate="fast")
    with pytest.raises(TypeError, match="'approximate' must be str"):
        F.gelu(x, approximate=None)
    with pytest.raises(RuntimeError, match="alpha cannot be 0 for CELU"):
        F.celu(x, alpha=0.0)
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        F.hardtanh(x, 1.0, -1.0)
    with pytest.raises(TypeError, match="must be a Tensor"):
        F.silu([1.0, 2.0])


# ---- inplace= ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fn, expected",
    [
        (lambda x: F.elu(x, inplace=True), [math.expm1(-1.0), 0.0, 2.0]),
        (lambda x: F.elu_(x, 0.5), [0.5 * math.expm1(-1.0), 0.0, 2.0]),
        (lambda x: F.celu_(x, 2.0), [2.0 * math.expm1(-0.5), 0.0, 2.0]),
        (lambda x: F.hardtanh_(x, -0.5, 1.0), [-0.5, 0.0, 1.0]),
        (lambda x: F.relu6(x, inplace=True), [0.0, 0.0, 2.0]),
        (lambda x: F.silu(x, inplace=True), [-1.0 / (1 + math.e), 0.0, 2.0 / (1 + math.exp(-2.0))]),
        (lambda x: F.hardswish(x, inplace=True), [-1.0 * 2 / 6, 0.0, 2.0 * 5 / 6]),
        (
            lambda x: F.mish(x, inplace=True),
            [-math.tanh(math.log1p(math.exp(-1))), 0.0, 2 * math.tanh(math.log1p(math.e**2))],
        ),
    ],
)
def test_inplace_writes_into_the_input(fn, expected):
    x = torch.tensor([-1.0, 0.0, 2.0])
    out = fn(x)
    assert out is x
    np.testing.assert_allclose(x.numpy(), expected, rtol=1e-6)


def test_inplace_in_a_graph():
    w = torch.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    h = w * 1.0
    out = F.elu(h, inplace=True)
    assert out is h and h.grad_fn.name() == "EluBackward"
    h.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [math.exp(-1.0), 1.0, 1.0], rtol=1e-6)
    # PyTorch's errors: a leaf that requires grad, and a value another op saved for backward
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation"):
        F.silu(w, inplace=True)
    e = w.exp()
    F.hardtanh(e, inplace=True)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        e.sum().backward()
    # nn modules with inplace=True do the same
    h = w * 1.0
    assert nn.ReLU6(inplace=True)(h) is h


# ---- modules ---------------------------------------------------------------------------------------
def test_module_reprs_are_pytorchs():
    reprs = {
        nn.GELU(): "GELU(approximate='none')",
        nn.GELU(approximate="tanh"): "GELU(approximate='tanh')",
        nn.SiLU(): "SiLU()",
        nn.SiLU(inplace=True): "SiLU(inplace=True)",
        nn.ELU(): "ELU(alpha=1.0)",
        nn.ELU(0.5, inplace=True): "ELU(alpha=0.5, inplace=True)",
        nn.CELU(2.0): "CELU(alpha=2.0)",
        nn.Hardtanh(): "Hardtanh(min_val=-1.0, max_val=1.0)",
        nn.Hardtanh(-2, 3.5, True): "Hardtanh(min_val=-2, max_val=3.5, inplace=True)",
        nn.ReLU6(): "ReLU6()",
        nn.ReLU6(inplace=True): "ReLU6(inplace=True)",
        nn.Hardswish(inplace=True): "Hardswish()",
        nn.Mish(): "Mish()",
        nn.Softsign(): "Softsign()",
        nn.SmoothL1Loss(beta=0.5): "SmoothL1Loss()",
        nn.KLDivLoss(reduction="batchmean"): "KLDivLoss()",
    }
    for module, text in reprs.items():
        assert repr(module) == text
    model = nn.Sequential(nn.Linear(4, 8), nn.GELU(), nn.Linear(8, 1))
    assert "(1): GELU(approximate='none')" in repr(model)


def test_modules_call_the_functions():
    x = torch.randn(5, 3)
    pairs = [
        (nn.GELU(), F.gelu(x)),
        (nn.GELU("tanh"), F.gelu(x, approximate="tanh")),
        (nn.SiLU(), F.silu(x)),
        (nn.Mish(), F.mish(x)),
        (nn.ELU(0.3), F.elu(x, 0.3)),
        (nn.CELU(0.3), F.celu(x, 0.3)),
        (nn.Hardtanh(-0.2, 0.4), F.hardtanh(x, -0.2, 0.4)),
        (nn.ReLU6(), F.relu6(x)),
        (nn.Hardswish(), F.hardswish(x)),
        (nn.Softsign(), F.softsign(x)),
    ]
    for module, expected in pairs:
        assert torch.equal(module(x), expected), module
    assert isinstance(nn.ReLU6(), nn.Hardtanh) and nn.ReLU6().max_val == 6.0
    with pytest.raises(AssertionError, match=r"max_val \(1.0\) must be greater than min_val \(1.0\)"):
        nn.Hardtanh(1.0, 1.0)
    with pytest.warns(FutureWarning, match="min_value"):
        assert nn.Hardtanh(min_value=-2.0).min_val == -2.0
    with pytest.raises(RuntimeError, match="approximate argument"):
        nn.GELU("fast")(x)  # PyTorch checks it when called


def test_a_gelu_mlp_trains_with_smooth_l1():
    torch.manual_seed(0)
    x = torch.randn(64, 2)
    y = (x[:, :1] * x[:, 1:]).tanh()
    model = nn.Sequential(nn.Linear(2, 16), nn.GELU(), nn.Linear(16, 16), nn.SiLU(), nn.Linear(16, 1))
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    loss_fn = nn.SmoothL1Loss(beta=0.5)
    first = None
    for _ in range(150):
        loss = loss_fn(model(x), y)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.dtype == torch.float32
    assert loss.item() < 0.2 * first


# ---- normalize ---------------------------------------------------------------------------------------
def test_normalize_makes_unit_vectors():
    x = torch.tensor([[3.0, 4.0], [1.0, -1.0], [0.0, 0.0]])
    out = F.normalize(x)  # p=2 along dim=1
    np.testing.assert_allclose(out.numpy(), [[0.6, 0.8], [0.5**0.5, -(0.5**0.5)], [0.0, 0.0]], rtol=1e-6)
    assert out.dtype == torch.float32
    np.testing.assert_allclose(F.normalize(x, p=1).numpy(), [[3 / 7, 4 / 7], [0.5, -0.5], [0.0, 0.0]], rtol=1e-6)
    np.testing.assert_allclose(F.normalize(x, p=math.inf).numpy(), [[0.75, 1.0], [1.0, -1.0], [0.0, 0.0]])
    np.testing.assert_allclose(F.normalize(x, dim=0).numpy()[:, 0], [3 / 10**0.5, 1 / 10**0.5, 0.0], rtol=1e-6)
    y = torch.randn(2, 3, 4)
    n = F.normalize(y, dim=(1, 2))
    np.testing.assert_allclose((n * n).sum((1, 2)).numpy(), [1.0, 1.0], rtol=1e-5)
    # eps: vectors shorter than eps are divided by eps
    np.testing.assert_allclose(F.normalize(x * 1e-3, eps=0.1).numpy()[0], [0.03, 0.04], rtol=1e-5)
    # out= (not differentiable, as in PyTorch)
    buf = torch.zeros(3, 2)
    assert F.normalize(x, out=buf) is buf and np.allclose(buf.numpy()[0], [0.6, 0.8])


def test_normalize_gradients():
    x = torch.tensor([[3.0, 4.0], [0.0, 0.0]], dtype=torch.float64, requires_grad=True)
    F.normalize(x)[:, 0].sum().backward()
    # d(x0 / |x|)/dx = (e0 - y0 y) / |x|; a zero vector is divided by eps: its gradient is 1 / eps
    y = np.array([0.6, 0.8])
    np.testing.assert_allclose(x.grad.numpy()[0], (np.array([1.0, 0.0]) - y[0] * y) / 5.0, rtol=1e-12)
    assert x.grad.numpy()[1].tolist() == [1e12, 0.0]
    # p < 1: zero elements get gradient 0, not 0 * inf = NaN
    z = torch.tensor([[0.0, 1.0, 0.0]], dtype=torch.float64, requires_grad=True)
    F.normalize(z, p=0.5).sum().backward()
    assert np.isfinite(z.grad.numpy()).all()


def test_normalize_errors():
    with pytest.raises(IndexError, match="Dimension out of range"):
        F.normalize(torch.tensor([1.0, 2.0]))  # dim=1 of a vector
    with pytest.raises(RuntimeError, match="floating point"):
        F.normalize(torch.tensor([[1, 2]]))


# ---- smooth L1 --------------------------------------------------------------------------------------
def test_smooth_l1_loss():
    x = torch.tensor([0.0, 0.5, 1.0, 2.0, -1.0, -3.0], dtype=torch.float64, requires_grad=True)
    t = torch.zeros(6, dtype=torch.float64)
    per = F.smooth_l1_loss(x, t, reduction="none")
    assert per.tolist() == [0.0, 0.125, 0.5, 1.5, 0.5, 2.5]
    per.sum().backward()
    assert x.grad.tolist() == [0.0, 0.5, 1.0, 1.0, -1.0, -1.0]  # continuous slope: +-1 at |d| = beta
    assert F.smooth_l1_loss(x, t, beta=0.5, reduction="none").tolist() == [0.0, 0.25, 0.75, 1.75, 0.75, 2.75]
    assert F.smooth_l1_loss(x, t).item() == pytest.approx(5.125 / 6)
    assert F.smooth_l1_loss(x, t, reduction="sum").item() == pytest.approx(5.125)
    # beta=0 is the L1 loss
    assert F.smooth_l1_loss(x, t, beta=0.0).item() == pytest.approx(F.l1_loss(x, t).item())
    # the module, float32 stays float32
    a, b = torch.randn(4, 3), torch.randn(4, 3)
    loss = nn.SmoothL1Loss(beta=0.5)(a, b)
    assert loss.dtype == torch.float32 and loss.item() == pytest.approx(F.smooth_l1_loss(a, b, beta=0.5).item())
    assert nn.SmoothL1Loss(reduction="sum")(a, b).item() == pytest.approx(
        F.smooth_l1_loss(a, b, reduction="sum").item()
    )


def test_smooth_l1_loss_errors_and_warnings():
    a = torch.randn(4, 3)
    with pytest.raises(RuntimeError, match="does not support negative values for beta"):
        F.smooth_l1_loss(a, a, beta=-1.0)
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.smooth_l1_loss(a, a, reduction="batchmean")
    with pytest.warns(UserWarning, match="different to the input size"):
        F.smooth_l1_loss(a, a[:1])
    with pytest.raises(RuntimeError, match="floating point"):
        F.smooth_l1_loss(torch.tensor([1, 2]), torch.tensor([1, 5]))


# ---- KL divergence ------------------------------------------------------------------------------------
def _dists():
    p = torch.tensor([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]], dtype=torch.float64)
    q = torch.tensor([[0.25, 0.25, 0.5], [0.0, 0.5, 0.5]], dtype=torch.float64)
    return p, q


def test_kl_div_batchmean_is_the_kl_divergence():
    p, q = _dists()
    logp = p.log().requires_grad_()
    qd, pd = q.numpy(), p.numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        rows = np.where(qd > 0, qd * np.log(qd / pd), 0.0).sum(1)  # KL(q || p) per row; 0 log 0 = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 'batchmean' does not warn
        loss = F.kl_div(logp, q, reduction="batchmean")
    assert loss.item() == pytest.approx(rows.mean(), rel=1e-12)
    loss.backward()
    np.testing.assert_allclose(logp.grad.numpy(), -qd / 2)  # d/d input = -target / batch size
    assert F.kl_div(logp, q, reduction="sum").item() == pytest.approx(rows.sum(), rel=1e-12)
    per = F.kl_div(logp, q, reduction="none")
    assert per.shape == (2, 3) and per.detach().numpy()[1, 0] == 0.0  # target 0: no NaN
    # the same distributions: 0
    assert F.kl_div(logp, p, reduction="batchmean").item() == pytest.approx(0.0, abs=1e-15)


def test_kl_div_mean_divides_by_every_element_and_warns():
    p, q = _dists()
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        mean = F.kl_div(p.log(), q)
    assert mean.item() == pytest.approx(F.kl_div(p.log(), q, reduction="sum").item() / 6)
    with pytest.warns(UserWarning, match="reduction: 'mean' divides the total loss"):
        nn.KLDivLoss()(p.log(), q)
    # the deprecated size_average/reduce arguments choose the reduction, without that warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert F.kl_div(p.log(), q, size_average=False).item() == pytest.approx(
            F.kl_div(p.log(), q, reduction="sum").item()
        )


def test_kl_div_log_target_and_module():
    p, q = _dists()
    q = (q + 0.1) / 1.3
    plain = F.kl_div(p.log(), q, reduction="batchmean")
    logged = F.kl_div(p.log(), q.log(), reduction="batchmean", log_target=True)
    assert logged.item() == pytest.approx(plain.item(), rel=1e-12)
    loss = nn.KLDivLoss(reduction="batchmean", log_target=True)(p.log(), q.log())
    assert loss.item() == pytest.approx(plain.item(), rel=1e-12)
    # float32 (typical distillation: log_softmax of the student, softmax of the teacher)
    s, t = torch.randn(8, 10), torch.randn(8, 10)
    kd = F.kl_div(F.log_softmax(s, dim=1), F.softmax(t, dim=1), reduction="batchmean")
    assert kd.dtype == torch.float32 and kd.item() > 0


def test_kl_div_errors():
    p, q = _dists()
    with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
        F.kl_div(p, q, reduction="foo")
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        nn.KLDivLoss(reduction="foo")
    with pytest.raises(RuntimeError, match="Integral inputs not supported"):
        F.kl_div(p, torch.tensor([[0, 1, 0], [1, 0, 0]]), reduction="sum")


# ---- against PyTorch, where it is installed -------------------------------------------------------------
def test_against_pytorch():
    real = pytest.importorskip("torch")
    rtf = real.nn.functional
    xs = np.concatenate([np.linspace(-8, 8, 96), [-3.0, 3.0, -1.0, 1.0, 0.0, 6.0, -50.0, 50.0]])  # 104 = 8 x 13
    calls = [
        lambda f, x: f.gelu(x),
        lambda f, x: f.gelu(x, approximate="tanh"),
        lambda f, x: f.silu(x),
        lambda f, x: f.mish(x),
        lambda f, x: f.elu(x, 0.7),
        lambda f, x: f.celu(x, 0.5),  # (with 0.7, PyTorch's float64 slope is off by 2e-7: 1/alpha in float32)
        lambda f, x: f.hardtanh(x, -2.0, 0.5),
        lambda f, x: f.relu6(x),
        lambda f, x: f.hardswish(x),
        lambda f, x: f.softsign(x),
        lambda f, x: f.normalize(x.reshape(8, -1), p=3.0, dim=1),
        lambda f, x: f.smooth_l1_loss(x, (x * 0.37).tanh() * 4, beta=0.7, reduction="none"),
        lambda f, x: f.kl_div(x.reshape(8, -1), (x.reshape(8, -1) * 0.3).softmax(1), reduction="batchmean"),
    ]
    for i, call in enumerate(calls):
        a = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
        b = real.tensor(xs, dtype=real.float64, requires_grad=True)
        ya, yb = call(F, a), call(rtf, b)
        (ga,) = torch.autograd.grad(ya.sum(), a)
        (gb,) = real.autograd.grad(yb.sum(), b)
        np.testing.assert_allclose(ya.detach().numpy(), yb.detach().numpy(), rtol=1e-12, atol=1e-15, err_msg=str(i))
        np.testing.assert_allclose(ga.numpy(), gb.numpy(), rtol=1e-10, atol=1e-14, err_msg=str(i))
