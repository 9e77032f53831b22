"""Statistics of the random parts of training: default init of Linear/Conv2d, nn.init, shuffling.

Each test draws many values (seeded, so every run sees the same numbers and nothing can flake) and
checks them against the distribution PyTorch documents: a Kolmogorov-Smirnov test against the exact
CDF, the support's bounds, and the mean and variance within five standard errors of the sample
size. Shuffling is checked by chi-square tests on where each item lands, on whole permutations and
on consecutive epochs. The tests' power is checked too: the same statistics reject a wrong bound
and a biased shuffle. When torch is installed, tinygrad_ko's draws are also compared with torch's
own (two-sample KS).

The statistical helpers are written with NumPy and ``math`` only (no SciPy): the Kolmogorov
distribution's series with Stephens' small-sample correction, and the Wilson-Hilferty normal
approximation of the chi-square tail.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_ko as tg
from tinygrad_ko import nn
from tinygrad_ko.data import DataLoader
from tinygrad_ko.nn import init

P_MIN = 1e-3  # a correct implementation fails for a given seed with this probability at most

# ---------------------------------------------------------------------------- statistics helpers


def kolmogorov_sf(d: float, n: float) -> float:
    """P(D_n >= d) for the one-sample KS statistic (asymptotic series, Stephens' correction)."""
    en = math.sqrt(n)
    lam = (en + 0.12 + 0.11 / en) * d
    if lam < 0.3:  # the series converges badly here, and the p-value is > 0.99 anyway
        return 1.0
    k = np.arange(1, 101)
    return float(np.clip(2 * np.sum((-1.0) ** (k - 1) * np.exp(-2 * k**2 * lam**2)), 0.0, 1.0))


def ks_pvalue(sample: np.ndarray, cdf) -> float:
    """One-sample KS test of ``sample`` against the continuous CDF ``cdf`` (vectorised)."""
    x = np.sort(np.asarray(sample, dtype=np.float64).ravel())
    n = x.size
    f = cdf(x)
    i = np.arange(1, n + 1)
    d = max(float(np.max(i / n - f)), float(np.max(f - (i - 1) / n)))
    return kolmogorov_sf(d, n)


def ks_2samp_pvalue(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample KS test."""
    a = np.sort(np.asarray(a, dtype=np.float64).ravel())
    b = np.sort(np.asarray(b, dtype=np.float64).ravel())
    grid = np.concatenate([a, b])
    fa = np.searchsorted(a, grid, side="right") / a.size
    fb = np.searchsorted(b, grid, side="right") / b.size
    return kolmogorov_sf(float(np.max(np.abs(fa - fb))), a.size * b.size / (a.size + b.size))


def uniform_cdf(lo: float, hi: float):
    return lambda x: np.clip((x - lo) / (hi - lo), 0.0, 1.0)


_erf = np.frompyfunc(math.erf, 1, 1)


def normal_cdf(mean: float, std: float):
    return lambda x: 0.5 * (1.0 + _erf((x - mean) / (std * math.sqrt(2))).astype(np.float64))


def chi2_pvalue(observed: np.ndarray, expected: np.ndarray | float, dof: int) -> float:
    """Upper tail of Pearson's chi-square statistic (Wilson-Hilferty approximation)."""
    stat = float(np.sum((observed - expected) ** 2 / expected))
    z = ((stat / dof) ** (1 / 3) - (1 - 2 / (9 * dof))) / math.sqrt(2 / (9 * dof))
    return 0.5 * math.erfc(z / math.sqrt(2))


def assert_uniform(values: np.ndarray, bound: float, what: str) -> None:
    """``values`` look like i.i.d. draws from U(-bound, bound)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    n = v.size
    assert n >= 1000, f"{what}: too few values ({n}) for a statistical test"
    # the support: within the bound (float32 may round the bound up by half an ulp), and reaching
    # it: P(max |v| < bound * (1 - 20 / n)) = (1 - 20 / n) ** n < e**-20
    assert np.max(np.abs(v)) <= bound * (1 + 2**-23), f"{what}: |value| {np.max(np.abs(v))} > bound {bound}"
    assert np.max(np.abs(v)) >= bound * (1 - 20 / n), f"{what}: values never come near the bound {bound}"
    # moments: mean 0 with variance b^2/3; the sample variance's variance is (mu4 - sigma^4)/n with
    # mu4 = b^4/5, sigma^4 = b^4/9
    se_mean = bound / math.sqrt(3 * n)
    assert abs(v.mean()) < 5 * se_mean, (
        f"{what}: mean {v.mean():.3g} is {abs(v.mean()) / se_mean:.1f} standard errors from 0"
    )
    var, se_var = bound**2 / 3, bound**2 * math.sqrt(4 / 45 / n)
    assert abs(v.var() - var) < 5 * se_var, f"{what}: variance {v.var():.4g}, expected {var:.4g}"
    p = ks_pvalue(v, uniform_cdf(-bound, bound))
    assert p > P_MIN, f"{what}: KS test against U(-{bound:.4g}, {bound:.4g}) rejects (p = {p:.2g})"


def assert_normal(values: np.ndarray, mean: float, std: float, what: str) -> None:
    v = np.asarray(values, dtype=np.float64).ravel()
    n = v.size
    assert abs(v.mean() - mean) < 5 * std / math.sqrt(n), f"{what}: mean {v.mean():.4g}, expected {mean}"
    # the sample variance of a normal has variance 2 sigma^4 / (n - 1)
    assert abs(v.var() - std**2) < 5 * std**2 * math.sqrt(2 / (n - 1)), f"{what}: std {v.std():.4g}, expected {std:.4g}"
    p = ks_pvalue(v, normal_cdf(mean, std))
    assert p > P_MIN, f"{what}: KS test against N({mean}, {std:.4g}^2) rejects (p = {p:.2g})"


# ---------------------------------------------------------------------------- the tests can fail


def test_ks_and_moments_reject_a_wrong_bound():
    """The checks have power: values from kaiming_uniform_ with a=0 (bound sqrt(6/fan_in)) fail
    the test for PyTorch's layer default (bound 1/sqrt(fan_in)); a 5% wider bound fails too."""
    rng = np.random.default_rng(0)
    fan_in = 100
    with pytest.raises(AssertionError):
        assert_uniform(rng.uniform(-math.sqrt(6 / fan_in), math.sqrt(6 / fan_in), 20000), 1 / math.sqrt(fan_in), "a=0")
    wide = rng.uniform(-1.05, 1.05, 50000)
    assert ks_pvalue(wide, uniform_cdf(-1, 1)) < P_MIN
    assert ks_pvalue(rng.uniform(-1, 1, 50000), uniform_cdf(-1, 1)) > P_MIN
    assert ks_pvalue(rng.normal(0, 1.03, 50000), normal_cdf(0, 1)) < P_MIN
    assert ks_2samp_pvalue(rng.uniform(-1, 1, 20000), rng.uniform(-1.08, 1.08, 20000)) < P_MIN
    assert ks_2samp_pvalue(rng.uniform(-1, 1, 20000), rng.uniform(-1, 1, 20000)) > P_MIN


def test_chi_square_rejects_the_naive_swap_shuffle():
    """The shuffle tests have power: the classic wrong shuffle (swap each position with *any*
    position: 4**4 equally likely paths onto 24 permutations) fails the whole-permutation test."""
    rng = np.random.default_rng(1)
    counts = np.zeros(24)
    index = _permutation_index(4)
    for _ in range(12000):
        p = list(range(4))
        for i in range(4):
            j = int(rng.integers(4))
            p[i], p[j] = p[j], p[i]
        counts[index[tuple(p)]] += 1
    assert chi2_pvalue(counts, 12000 / 24, 23) < 1e-6


# ---------------------------------------------------------------------------- Linear and Conv2d


def _draws(make, count: int, attr: str) -> np.ndarray:
    return np.concatenate([getattr(make(), attr).detach().numpy().ravel() for _ in range(count)])


@pytest.mark.parametrize(
    "in_features, out_features, count",
    [(3072, 512, 1), (512, 2, 10), (784, 128, 1), (10, 3, 400), (1, 4, 300)],
)
def test_linear_default_init_is_pytorchs(in_features, out_features, count):
    """weight and bias ~ U(-1/sqrt(in_features), 1/sqrt(in_features)), float32, requiring grad."""
    tg.manual_seed(1000 + in_features)
    layer = nn.Linear(in_features, out_features)
    assert layer.weight.dtype == tg.float32 and layer.bias.dtype == tg.float32
    assert layer.weight.requires_grad and layer.bias.requires_grad
    bound = 1 / math.sqrt(in_features)
    weights = _draws(
        lambda: nn.Linear(in_features, out_features), max(count, 2000 // (in_features * out_features) + 1), "weight"
    )
    assert_uniform(weights, bound, f"Linear({in_features}, {out_features}).weight")
    biases = _draws(lambda: nn.Linear(in_features, out_features), max(1, 3000 // out_features), "bias")
    assert_uniform(biases, bound, f"Linear({in_features}, {out_features}).bias")


def test_linear_without_bias_and_without_inputs():
    tg.manual_seed(5)
    layer = nn.Linear(64, 32, bias=False)
    assert layer.bias is None
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    assert_uniform(
        _draws(lambda: nn.Linear(64, 32, bias=False), 2, "weight"), 1 / 8, "Linear(64, 32, bias=False).weight"
    )
    # PyTorch: no input features -> an empty weight (a warning) and the bias drawn from U(0, 0)
    with pytest.warns(UserWarning, match="zero-element"):
        empty = nn.Linear(0, 3)
    assert tuple(empty.weight.shape) == (3, 0)
    np.testing.assert_array_equal(empty.bias.detach().numpy(), np.zeros(3, dtype=np.float32))


@pytest.mark.parametrize(
    "args, kwargs, fan_in",
    [
        ((3, 16, 3), {"padding": 1}, 27),  # "Deep Learning with PyTorch"'s small conv net
        ((16, 8, 3), {"padding": 1}, 144),
        ((1, 32, 5), {}, 25),
        ((4, 8, 3), {"groups": 2}, 18),  # fan_in counts the input channels of one group
        ((6, 6, 3), {"groups": 6}, 9),  # depthwise
        ((3, 16, (3, 5)), {}, 45),
        ((2, 4, 1), {}, 2),
    ],
)
def test_conv2d_default_init_is_pytorchs(args, kwargs, fan_in):
    tg.manual_seed(fan_in)
    conv = nn.Conv2d(*args, **kwargs)
    per_module = conv.weight.numel()
    assert conv.weight.dtype == tg.float32
    bound = 1 / math.sqrt(fan_in)
    weights = _draws(lambda: nn.Conv2d(*args, **kwargs), max(1, 4000 // per_module + 1), "weight")
    assert_uniform(weights, bound, f"Conv2d{args} {kwargs}.weight")
    biases = _draws(lambda: nn.Conv2d(*args, **kwargs), max(1, 3000 // args[1] + 1), "bias")
    assert_uniform(biases, bound, f"Conv2d{args} {kwargs}.bias")


def test_conv2d_without_bias():
    tg.manual_seed(9)
    conv = nn.Conv2d(3, 8, 3, bias=False)
    assert conv.bias is None
    assert_uniform(_draws(lambda: nn.Conv2d(3, 8, 3, bias=False), 10, "weight"), 1 / math.sqrt(27), "Conv2d, no bias")


def test_draws_are_independent_within_and_across_modules():
    """No value repeats a neighbour's: lag-1 correlation inside a weight, between the weights of two
    layers made one after the other, and between a layer's weight and its bias, all ~ N(0, 1/n)."""
    tg.manual_seed(11)
    a, b = nn.Linear(100, 50), nn.Linear(100, 50)
    wa, wb = a.weight.detach().numpy().ravel().astype(np.float64), b.weight.detach().numpy().ravel().astype(np.float64)
    n = wa.size
    assert abs(np.corrcoef(wa[:-1], wa[1:])[0, 1]) < 5 / math.sqrt(n)
    assert abs(np.corrcoef(wa, wb)[0, 1]) < 5 / math.sqrt(n)
    biases = _draws(lambda: nn.Linear(100, 50), 40, "bias")
    firsts = np.concatenate([nn.Linear(100, 50).weight.detach().numpy()[:, 0] for _ in range(40)])
    assert abs(np.corrcoef(biases, firsts)[0, 1]) < 5 / math.sqrt(biases.size)


def test_default_init_follows_manual_seed():
    tg.manual_seed(123)
    first = [p.detach().numpy().copy() for p in nn.Conv2d(3, 4, 3).parameters()]
    tg.manual_seed(123)
    again = [p.detach().numpy() for p in nn.Conv2d(3, 4, 3).parameters()]
    for x, y in zip(first, again):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(first[0], nn.Conv2d(3, 4, 3).weight.detach().numpy())


# ---------------------------------------------------------------------------- nn.init formulas


def test_calculate_gain_matches_pytorchs_table():
    for name in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose2d", "sigmoid"):
        assert init.calculate_gain(name) == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01**2)))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    assert init.calculate_gain("selu") == pytest.approx(3 / 4)
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("gelu")


def _empty(*shape):
    return tg.empty(*shape)


@pytest.mark.parametrize(
    "shape, mode, nonlinearity, a, fan",
    [
        ((256, 300), "fan_in", "relu", 0, 300),
        ((256, 300), "fan_out", "relu", 0, 256),
        ((64, 16, 3, 3), "fan_in", "leaky_relu", 0.1, 144),
        ((64, 16, 3, 3), "fan_out", "leaky_relu", 0, 576),
        ((200, 50), "fan_in", "linear", 0, 50),
    ],
)
def test_kaiming_uniform_and_normal_follow_their_formulas(shape, mode, nonlinearity, a, fan):
    gen = np.random.default_rng(fan)
    gain = init.calculate_gain(nonlinearity, a)
    t = init.kaiming_uniform_(_empty(*shape), a=a, mode=mode, nonlinearity=nonlinearity, generator=gen)
    assert_uniform(t.numpy(), gain * math.sqrt(3 / fan), f"kaiming_uniform_{shape} {mode}")
    t = init.kaiming_normal_(_empty(*shape), a=a, mode=mode, nonlinearity=nonlinearity, generator=gen)
    assert_normal(t.numpy().ravel()[:40000], 0.0, gain / math.sqrt(fan), f"kaiming_normal_{shape} {mode}")
    assert t.dtype == tg.float32


@pytest.mark.parametrize("shape, fan_in, fan_out", [((300, 200), 200, 300), ((32, 16, 5, 5), 400, 800)])
@pytest.mark.parametrize("gain", [1.0, 5 / 3])
def test_xavier_uniform_and_normal_follow_their_formulas(shape, fan_in, fan_out, gain):
    gen = np.random.default_rng(fan_in + int(gain * 10))
    t = init.xavier_uniform_(_empty(*shape), gain=gain, generator=gen)
    assert_uniform(t.numpy(), gain * math.sqrt(6 / (fan_in + fan_out)), f"xavier_uniform_{shape}")
    t = init.xavier_normal_(_empty(*shape), gain=gain, generator=gen)
    assert_normal(t.numpy().ravel()[:40000], 0.0, gain * math.sqrt(2 / (fan_in + fan_out)), f"xavier_normal_{shape}")


def test_uniform_normal_and_trunc_normal():
    gen = np.random.default_rng(3)
    t = init.uniform_(_empty(100, 100), -0.5, 1.5, generator=gen).numpy()
    assert t.min() >= -0.5 and t.max() <= 1.5
    assert ks_pvalue(t, uniform_cdf(-0.5, 1.5)) > P_MIN
    t = init.normal_(_empty(200, 100), mean=2.0, std=0.5, generator=gen).numpy()
    assert_normal(t, 2.0, 0.5, "normal_(2, 0.5)")
    mean, std, lo, hi = 0.5, 1.0, -1.0, 1.5
    t = init.trunc_normal_(_empty(200, 100), mean=mean, std=std, a=lo, b=hi, generator=gen).numpy()
    assert t.min() >= lo and t.max() <= hi
    phi = normal_cdf(mean, std)
    c_lo, c_hi = phi(np.array([lo]))[0], phi(np.array([hi]))[0]
    assert ks_pvalue(t.ravel()[:40000], lambda x: (phi(x) - c_lo) / (c_hi - c_lo)) > P_MIN


def test_constant_fills_and_eye():
    np.testing.assert_array_equal(init.constant_(_empty(2, 3), 0.25).numpy(), np.full((2, 3), 0.25, np.float32))
    np.testing.assert_array_equal(init.zeros_(_empty(4)).numpy(), np.zeros(4, np.float32))
    np.testing.assert_array_equal(init.ones_(_empty(2, 2)).numpy(), np.ones((2, 2), np.float32))
    np.testing.assert_array_equal(init.eye_(_empty(2, 3)).numpy(), np.eye(2, 3, dtype=np.float32))
    with pytest.raises(ValueError, match="2 dimensions"):
        init.eye_(_empty(2, 2, 2))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(_empty(5))


def test_init_generator_argument_reproduces_and_leaves_the_global_stream_alone():
    tg.manual_seed(0)
    expected_next = tg.rand(3).numpy()
    tg.manual_seed(0)
    x = init.kaiming_uniform_(_empty(8, 8), generator=np.random.default_rng(42)).numpy()
    y = init.kaiming_uniform_(_empty(8, 8), generator=np.random.default_rng(42)).numpy()
    np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(tg.rand(3).numpy(), expected_next)


# ---------------------------------------------------------------------------- torch's own draws


def _torch_draws(torch, make, count: int, attr: str) -> np.ndarray:
    return np.concatenate([getattr(make(), attr).detach().numpy().ravel() for _ in range(count)])


@pytest.mark.parametrize(
    "kind, args, kwargs",
    [
        ("Linear", (10, 3), {}),
        ("Linear", (512, 2), {}),
        ("Conv2d", (3, 16, 3), {"padding": 1}),
        ("Conv2d", (4, 8, 3), {"groups": 2}),
    ],
)
def test_default_init_matches_torchs_draws(kind, args, kwargs):
    """Two-sample KS between tinygrad_ko's and torch's own default draws, and the same extremes."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    tg.manual_seed(0)
    tg_cls, t_cls = getattr(nn, kind), getattr(torch.nn, kind)
    per_module = math.prod(tg_cls(*args, **kwargs).weight.shape)
    count = max(1, 6000 // per_module + 1)
    for attr in ("weight", "bias"):
        n = count if attr == "weight" else max(1, 3000 // args[1] + 1)
        ours = _draws(lambda: tg_cls(*args, **kwargs), n, attr)
        theirs = _torch_draws(torch, lambda: t_cls(*args, **kwargs), n, attr)
        p = ks_2samp_pvalue(ours, theirs)
        assert p > P_MIN, f"{kind}{args}.{attr}: tinygrad_ko's and torch's draws differ (KS p = {p:.2g})"
        assert abs(np.abs(ours).max() - np.abs(theirs).max()) < 30 / ours.size * np.abs(theirs).max() + 1e-7


# ---------------------------------------------------------------------------- DataLoader(shuffle=True)


def _permutation_index(n: int) -> dict[tuple[int, ...], int]:
    from itertools import permutations

    return {p: i for i, p in enumerate(permutations(range(n)))}


def _epochs(loader: DataLoader, count: int) -> np.ndarray:
    return np.stack([np.concatenate([b.numpy() for b in loader]) for _ in range(count)])


def test_shuffle_puts_every_item_at_every_position_equally_often():
    n, epochs = 10, 5000
    loader = DataLoader(range(n), batch_size=3, shuffle=True, generator=np.random.default_rng(2024))
    orders = _epochs(loader, epochs)
    # each epoch is a permutation: every index exactly once (batches of 3, 3, 3, 1)
    np.testing.assert_array_equal(np.sort(orders, axis=1), np.tile(np.arange(n), (epochs, 1)))
    counts = np.zeros((n, n))
    np.add.at(counts, (np.tile(np.arange(n), epochs), orders.ravel()), 1)
    p = chi2_pvalue(counts, epochs / n, (n - 1) ** 2)
    assert p > P_MIN, f"position x item frequencies are not uniform (chi-square p = {p:.2g})\n{counts}"


def test_shuffle_draws_whole_permutations_uniformly():
    epochs = 12000
    index = _permutation_index(4)
    tg.manual_seed(77)  # no generator: the global one, as an unseeded DataLoader uses
    orders = _epochs(DataLoader(range(4), batch_size=4, shuffle=True), epochs)
    counts = np.bincount([index[tuple(o)] for o in orders.tolist()], minlength=24)
    p = chi2_pvalue(counts, epochs / 24, 23)
    assert p > P_MIN, f"the 24 permutations of 4 items are not equally likely (chi-square p = {p:.2g}): {counts}"


def test_shuffle_epochs_are_independent():
    """Where item 0 lands in one epoch says nothing about where it lands in the next."""
    n, epochs = 6, 6001
    orders = _epochs(DataLoader(range(n), batch_size=4, shuffle=True, seed=5), epochs)
    pos = np.argmax(orders == 0, axis=1)
    joint = np.zeros((n, n))
    np.add.at(joint, (pos[:-1], pos[1:]), 1)
    p = chi2_pvalue(joint, (epochs - 1) / n**2, n * n - 1)
    assert p > P_MIN, f"consecutive epochs are correlated (chi-square p = {p:.2g})\n{joint}"
    big = _epochs(DataLoader(range(50), batch_size=7, shuffle=True, seed=6), 200)
    assert len({tuple(o) for o in big.tolist()}) == 200, "some epochs repeated an earlier order"


def test_seeded_shuffle_reproduces():
    def run(**kw):
        return _epochs(DataLoader(range(20), batch_size=6, shuffle=True, **kw), 5)

    np.testing.assert_array_equal(run(generator=np.random.default_rng(3)), run(generator=np.random.default_rng(3)))
    np.testing.assert_array_equal(run(seed=3), run(seed=3))
    assert not np.array_equal(run(seed=3), run(seed=4))
    tg.manual_seed(8)
    first = run()
    tg.manual_seed(8)
    np.testing.assert_array_equal(run(), first)
    # the seeded order is numpy's permutation stream, documented so other code can mirror it
    np.testing.assert_array_equal(run(seed=3)[0], np.random.default_rng(3).permutation(20))
