"""The error function ``erf`` on NumPy arrays (NumPy has none; GELU needs it).

erf is odd, so it is computed on |x| and given x's sign, in two pieces:

* |x| < 2: ``erf(x) = x * A(x**2)``, where A(t) = erf(sqrt(t)) / sqrt(t) is smooth on [0, 4];
* 2 <= |x| < 6: ``erf(x) = 1 - exp(-x**2) * B(x)``, where B(x) = exp(x**2) * erfc(x) is smooth on
  [2, 6] (it falls like 1 / (x sqrt(pi))); subtracting from 1 here costs nothing, since erf is near 1;
* |x| >= 6: 1, which is erf(x) correctly rounded in float64 (erfc(6) = 2.2e-17).

A and B are given as Chebyshev series: the Chebyshev interpolants of A and B at 40 nodes, computed
with mpmath at 40 digits::

    th = [pi * (k + 1/2) / 40 for k in range(40)]               # first-kind nodes on [-1, 1]
    y = [f(lo + (hi - lo) * (cos(t) + 1) / 2) for t in th]       # f = A on [0, 4], B on [2, 6]
    c_j = 2/40 * sum(y_i * cos(j * th_i)); c_0 /= 2

They fall fast (A's by ~17x a term, B's by ~5x), so the series stop where the rest is below float64
precision, and a float32 input uses only the terms float32 can tell apart (and is computed in
float32). Because they fall faster than the Chebyshev polynomials' own coefficients grow (2**k), the
truncated series is as well conditioned in powers of s, so it is turned into an ordinary polynomial
once and evaluated by Horner's rule: two array operations a term. ``tests/test_kernels.py``
checks the result against ``math.erf`` (within 3 units in the last place, float32 and float64).
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["erf"]

# A(t) = erf(sqrt(t)) / sqrt(t) on t in [0, 4], in s = (t - 2) / 2
_A = (
    0.7415552820424018, -0.30107107338659495, 0.06899483068983156,
    -0.013916271264722188, 0.0024207995224334636, -0.0003658639685848086,
    4.862098443231905e-05, -5.749256558035685e-06, 6.113243578434765e-07,
    -5.8991015312958435e-08, 5.2070090920686485e-09, -4.2329758799655433e-10,
    3.188113506649175e-11, -2.2361550188326843e-12, 1.467329847991085e-13,
    -9.044001985381747e-15, 5.254813715470919e-16, -2.887426122284945e-17,
)  # fmt: skip
# B(x) = exp(x**2) * erfc(x) on x in [2, 6], in s = x - 4 over 2
_B = (
    0.15454893254411423, -0.07674006034821483, 0.01849487416970198,
    -0.004337233595514166, 0.0009916839077238056, -0.00022144890703087983,
    4.836760032122529e-05, -1.034609832664543e-05, 2.1698719431920526e-06,
    -4.4664937548784355e-07, 9.031674382673662e-08, -1.7955339488870227e-08,
    3.5120800624763815e-09, -6.763532420163472e-10, 1.2831846446281688e-10,
    -2.3997023709710498e-11, 4.425938010116817e-12, -8.054583827182102e-13,
    1.446990739131772e-13, -2.5671711791155715e-14, 4.4996611900036674e-15,
    -7.794698095368683e-16, 1.3349408666512418e-16, -2.261037766442396e-17,
)  # fmt: skip


@functools.cache
def _polynomial(coefs: tuple[float, ...], dtype: np.dtype) -> tuple:
    """The Chebyshev series ``coefs`` cut to what a ``dtype`` result needs, as power-basis
    coefficients (lowest first). The cut drops the tail whose sum, a bound on the error of leaving
    it out (|T_k| <= 1), is below a sixteenth of the dtype's precision."""
    tol = float(np.finfo(dtype).eps) / 16
    n = len(coefs)
    while n > 1 and sum(abs(c) for c in coefs[n - 1 :]) < tol:
        n -= 1
    return tuple(dtype.type(c) for c in np.polynomial.chebyshev.cheb2poly(coefs[:n]))


def _horner(coefs: tuple, s: np.ndarray) -> np.ndarray:
    """sum_k coefs[k] * s**k, in one buffer."""
    out = np.full_like(s, coefs[-1])
    for c in coefs[-2::-1]:
        out *= s
        out += c
    return out


def _erf_small(x: np.ndarray) -> np.ndarray:
    """erf on |x| < 2."""
    dt = x.dtype
    s = x * x
    s -= dt.type(2.0)
    s *= dt.type(0.5)
    out = _horner(_polynomial(_A, dt), s)
    out *= x  # in place: a 0-d x * array would give a NumPy scalar, not an array
    return out


def _erf_large(ax: np.ndarray) -> np.ndarray:
    """erf on |x| >= 2, for ax = |x|."""
    dt = ax.dtype
    big = np.minimum(ax, dt.type(6.0))
    b = _horner(_polynomial(_B, dt), (big - dt.type(4.0)) * dt.type(0.5))
    out = np.exp(-(big * big))
    out *= b
    np.subtract(dt.type(1.0), out, out=out)
    out[ax >= 6.0] = 1.0
    return out


def erf(x: np.ndarray) -> np.ndarray:
    """The error function, elementwise, in ``x``'s floating dtype (float16 is computed in float32)."""
    x = np.asarray(x)
    dtype = x.dtype
    work = x if dtype == np.float64 or dtype == np.float32 else x.astype(np.float32)
    if not work.flags.c_contiguous:  # so that the flat positions below are C-order positions
        work = np.array(work, order="C")
    two = work.dtype.type(2.0)
    # the small-|x| piece everywhere (clipped, so no |x| >= 2 overflows it), then the few |x| >= 2
    # recomputed by position: cheaper than splitting the array by a boolean mask
    out = _erf_small(np.clip(work, -two, two))
    large = np.flatnonzero(np.abs(work) >= two)  # NaN is not >= 2: it stays NaN from the clip
    if large.size:
        x_large = work.reshape(-1)[large]
        out.reshape(-1)[large] = np.copysign(_erf_large(np.abs(x_large)), x_large)
    return out if out.dtype == dtype else out.astype(dtype)
