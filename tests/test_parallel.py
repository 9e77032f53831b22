"""Threads for elementwise kernels (tinygrad_ko.kernels.threads), BLAS axpy (tinygrad_ko.kernels.blas), and the
optimizers that use them: the split and the BLAS paths must give the same updates as plain NumPy."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import tinygrad_ko as tg
import tinygrad_ko.kernels.blas
import tinygrad_ko.kernels.threads
from tinygrad_ko import kernels, optim
from tinygrad_ko.optim import optimizer as optimizer_mod


@pytest.fixture
def threads():
    """Restore the thread count after a test changes it."""
    before = tg.get_num_threads()
    yield
    tg.set_num_threads(before)


# ---- run_chunks ---------------------------------------------------------------------------------
@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_run_chunks_covers_every_index_once(threads, n_threads):
    tg.set_num_threads(n_threads)
    n = 10_007
    hits = np.zeros(n, dtype=np.int64)
    callers = set()

    def fn(start, stop):
        callers.add(threading.get_ident())
        hits[start:stop] += 1

    kernels.threads.run_chunks(fn, n, min_chunk=100)
    assert (hits == 1).all()
    assert len(callers) == n_threads  # the caller's thread plus n - 1 workers
    assert threading.get_ident() in callers


def test_run_chunks_small_input_runs_inline(threads):
    tg.set_num_threads(2)
    calls = []
    kernels.threads.run_chunks(lambda a, b: calls.append((a, b, threading.get_ident())), 50, min_chunk=100)
    assert calls == [(0, 50, threading.get_ident())]


def test_run_chunks_raises_a_workers_error_after_all_chunks_finish(threads):
    tg.set_num_threads(2)
    done = []

    def fn(start, stop):
        if start > 0:
            raise ValueError(f"bad chunk {start}")
        done.append(start)

    with pytest.raises(ValueError, match="bad chunk"):
        kernels.threads.run_chunks(fn, 1000, min_chunk=10)
    assert done == [0]
    # the pool still works afterwards
    hits = np.zeros(1000, dtype=np.int64)
    kernels.threads.run_chunks(lambda a, b: hits[a:b].__iadd__(1), 1000, min_chunk=10)
    assert (hits == 1).all()


def test_set_num_threads_validates(threads):
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="positive int"):
            tg.set_num_threads(bad)
    tg.set_num_threads(3)
    assert tg.get_num_threads() == 3


def test_default_threads_follow_the_environment():
    code = "import tinygrad_ko as tg; print(tg.get_num_threads())"
    env = dict(os.environ, TINYGRAD_KO_NUM_THREADS="3")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "3"


# ---- axpy ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_axpy_matches_numpy(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(50_000).astype(dtype)
    y = rng.standard_normal(50_000).astype(dtype)
    expected = y + dtype(-0.3) * x
    done = kernels.blas.axpy(-0.3, x, y)
    if not kernels.blas.available():
        assert done is False
        pytest.skip("no BLAS axpy in this process (not a NumPy wheel with OpenBLAS on Linux)")
    assert done is True
    # one rounding (fused multiply-add) instead of NumPy's two: equal to within an ulp of the inputs
    tol = 1e-6 if dtype is np.float32 else 1e-14
    np.testing.assert_allclose(y, expected, rtol=tol, atol=tol)


def test_axpy_refuses_what_it_cannot_do_and_changes_nothing():
    x = np.ones((4, 6), dtype=np.float32)
    y = np.zeros((4, 6), dtype=np.float32)
    assert kernels.blas.axpy(1.0, x[:, ::2], y[:, :3]) is False  # not contiguous
    assert kernels.blas.axpy(1.0, x.astype(np.float64), y) is False  # dtypes differ
    assert kernels.blas.axpy(1.0, x.reshape(6, 4), y) is False  # shapes differ
    assert kernels.blas.axpy(1.0, y, y) is False  # overlapping
    assert kernels.blas.axpy(1.0, x.astype(np.int64), y.astype(np.int64)) is False  # not float
    assert (y == 0).all()


def test_blas_can_be_switched_off():
    code = (
        "import numpy as np, tinygrad_ko as tg\n"
        "from tinygrad_ko import optim\nfrom tinygrad_ko.kernels import blas\n"
        "p = tg.nn.Parameter(tg.ones(100, 100)); p.grad = tg.full((100, 100), 2.0)\n"
        "optim.SGD([p], lr=0.5).step()\n"
        "print(blas.available(), float(p.data[0, 0]))\n"
    )
    env = dict(os.environ, TINYGRAD_KO_BLAS="0")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "0.0"]


# ---- optimizers: threads and BLAS give the plain NumPy result -----------------------------------
BIG = (600, 500)  # 300,000 weights: above the size at which updates are split across threads


def _run(make_opt, n_threads, blas, monkeypatch, steps=3):
    """Train one big and one small parameter for a few steps; return their final values."""
    tg.set_num_threads(n_threads)
    if not blas:
        monkeypatch.setattr(kernels.blas, "axpy", lambda *a: False)
    rng = np.random.default_rng(1)
    params = [tg.nn.Parameter(tg.tensor(rng.standard_normal(s).astype(np.float32))) for s in (BIG, (7,))]
    opt = make_opt(params)
    for _ in range(steps):
        for p in params:
            p.grad = tg.tensor(rng.standard_normal(p.shape).astype(np.float32))
        opt.step()
    monkeypatch.undo()
    return [p.data.numpy().copy() for p in params]


OPTIMIZERS = {
    "sgd": lambda ps: optim.SGD(ps, lr=0.1),
    "sgd_momentum_nesterov_wd": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    "rmsprop": lambda ps: optim.RMSprop(ps, lr=1e-3),
    "rmsprop_centered_momentum": lambda ps: optim.RMSprop(ps, lr=1e-3, centered=True, momentum=0.5, weight_decay=0.1),
    "adam": lambda ps: optim.Adam(ps, lr=1e-3),
    "adam_amsgrad_maximize": lambda ps: optim.Adam(ps, lr=1e-3, amsgrad=True, maximize=True),
    "adamw": lambda ps: optim.AdamW(ps, lr=1e-3, weight_decay=0.1),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_split_and_blas_updates_equal_the_plain_numpy_ones(name, threads, monkeypatch):
    make = OPTIMIZERS[name]
    plain = _run(make, 1, False, monkeypatch)
    split = _run(make, 2, False, monkeypatch)
    for a, b in zip(plain, split):
        np.testing.assert_array_equal(a, b)  # the same elementwise ops on the same elements
    fast = _run(make, 2, True, monkeypatch)
    for a, b in zip(plain, fast):
        # BLAS's axpy fuses the multiply-add (one rounding instead of two)
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_updates_are_split_for_big_parameters(threads, monkeypatch):
    tg.set_num_threads(2)
    seen = []
    real = kernels.threads.run_chunks

    def spy(fn, n, min_chunk=1 << 16):
        seen.append(n)
        return real(fn, n, min_chunk)

    monkeypatch.setattr(kernels.threads, "run_chunks", spy)
    p = tg.nn.Parameter(tg.zeros(*BIG))
    q = tg.nn.Parameter(tg.zeros(10))
    p.grad, q.grad = tg.ones(*BIG), tg.ones(10)
    optim.Adam([p, q]).step()
    assert seen == [BIG[0] * BIG[1]]  # the big one only
    assert optimizer_mod._SPLIT_MIN * 2 <= BIG[0] * BIG[1]
    np.testing.assert_allclose(p.data.numpy(), -1e-3, rtol=1e-5)
