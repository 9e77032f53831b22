"""optim: each optimizer against a hand-written NumPy version of PyTorch's algorithm box, the
Optimizer base (groups, zero_grad, state_dict), and the learning-rate schedulers' sequences."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_ko as tg
from tinygrad_ko import nn, optim
from tinygrad_ko.optim import lr_scheduler

STEPS = 6


def _grads(seed, shapes, steps=STEPS):
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(s) for s in shapes] for _ in range(steps)]


def _run(opt_cls, kwargs, dtype=np.float64, seed=0):
    """Run ``opt_cls`` for STEPS steps on fixed gradients; returns the params after each step."""
    rng = np.random.default_rng(100 + seed)
    shapes = [(3, 4), (4,)]
    init = [rng.standard_normal(s) for s in shapes]
    params = [nn.Parameter(tg.from_numpy(a.astype(dtype))) for a in init]
    opt = opt_cls(params, **kwargs)
    history = []
    for grads in _grads(seed, shapes):
        for p, g in zip(params, grads):
            p.grad = tg.from_numpy(g.astype(dtype))
        opt.step()
        history.append([p._data.copy() for p in params])
    return init, history, params, opt


# ---- NumPy references, one per algorithm box ---------------------------------------------------------
def sgd_ref(init, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False, seed=0):
    theta = [a.copy() for a in init]
    bufs = [None] * len(theta)
    out = []
    for t, grads in enumerate(_grads(seed, [a.shape for a in init]), start=1):
        for i, g in enumerate(grads):
            g = -g if maximize else g
            if weight_decay:
                g = g + weight_decay * theta[i]
            if momentum:
                bufs[i] = g.copy() if t == 1 else momentum * bufs[i] + (1 - dampening) * g
                g = g + momentum * bufs[i] if nesterov else bufs[i]
            theta[i] = theta[i] - lr * g
        out.append([a.copy() for a in theta])
    return out


def rmsprop_ref(init, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False, seed=0):
    theta = [a.copy() for a in init]
    v = [np.zeros_like(a) for a in init]
    b = [np.zeros_like(a) for a in init]
    g_ave = [np.zeros_like(a) for a in init]
    out = []
    for grads in _grads(seed, [a.shape for a in init]):
        for i, g in enumerate(grads):
            if weight_decay:
                g = g + weight_decay * theta[i]
            v[i] = alpha * v[i] + (1 - alpha) * g**2
            v_tilde = v[i]
            if centered:
                g_ave[i] = g_ave[i] * alpha + (1 - alpha) * g
                v_tilde = v_tilde - g_ave[i] ** 2
            if momentum > 0:
                b[i] = momentum * b[i] + g / (np.sqrt(v_tilde) + eps)
                theta[i] = theta[i] - lr * b[i]
            else:
                theta[i] = theta[i] - lr * g / (np.sqrt(v_tilde) + eps)
        out.append([a.copy() for a in theta])
    return out


def adam_ref(
    init,
    lr=1e-3,
    betas=(0.9, 0.999),
    eps=1e-8,
    weight_decay=0.0,
    amsgrad=False,
    decoupled=False,
    maximize=False,
    seed=0,
):
    b1, b2 = betas
    theta = [a.copy() for a in init]
    m = [np.zeros_like(a) for a in init]
    v = [np.zeros_like(a) for a in init]
    v_max = [np.zeros_like(a) for a in init]
    out = []
    for t, grads in enumerate(_grads(seed, [a.shape for a in init]), start=1):
        for i, g in enumerate(grads):
            g = -g if maximize else g
            if weight_decay:
                if decoupled:
                    theta[i] = theta[i] - lr * weight_decay * theta[i]  # AdamW
                else:
                    g = g + weight_decay * theta[i]
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g**2
            m_hat = m[i] / (1 - b1**t)
            if amsgrad:
                v_max[i] = np.maximum(v_max[i], v[i])
                v_hat = v_max[i] / (1 - b2**t)
            else:
                v_hat = v[i] / (1 - b2**t)
            theta[i] = theta[i] - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append([a.copy() for a in theta])
    return out


def _compare(history, reference, rtol=1e-10, atol=1e-12):
    for got_step, ref_step in zip(history, reference):
        for got, ref in zip(got_step, ref_step):
            np.testing.assert_allclose(got, ref, rtol=rtol, atol=atol)


SGD_CASES = [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.3),
    dict(lr=0.05, momentum=0.8, nesterov=True),
    dict(lr=0.1, momentum=0.9, weight_decay=0.01),
    dict(lr=0.1, weight_decay=0.1, maximize=True),
]


@pytest.mark.parametrize("kwargs", SGD_CASES, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()))
def test_sgd_matches_reference(kwargs):
    init, history, _, _ = _run(optim.SGD, kwargs)
    _compare(history, sgd_ref(init, **kwargs))


RMSPROP_CASES = [
    dict(),
    dict(lr=0.01, alpha=0.9, momentum=0.9),
    dict(lr=0.01, centered=True),
    dict(lr=0.02, centered=True, momentum=0.5, weight_decay=0.1, eps=1e-6),
]


@pytest.mark.parametrize(
    "kwargs", RMSPROP_CASES, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()) or "defaults"
)
def test_rmsprop_matches_reference(kwargs):
    init, history, _, _ = _run(optim.RMSprop, kwargs)
    _compare(history, rmsprop_ref(init, **kwargs))


ADAM_CASES = [
    dict(),
    dict(lr=0.01, betas=(0.8, 0.99)),
    dict(lr=0.01, amsgrad=True),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.01, weight_decay=0.1, amsgrad=True, maximize=True),
]


@pytest.mark.parametrize("kwargs", ADAM_CASES, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()) or "defaults")
def test_adam_matches_reference(kwargs):
    init, history, _, _ = _run(optim.Adam, kwargs)
    _compare(history, adam_ref(init, **kwargs))


@pytest.mark.parametrize("kwargs", [dict(), dict(lr=0.01, weight_decay=0.1), dict(lr=0.01, amsgrad=True)])
def test_adamw_matches_reference(kwargs):
    init, history, _, _ = _run(optim.AdamW, kwargs)
    ref_kwargs = dict(kwargs)
    ref_kwargs.setdefault("weight_decay", 1e-2)  # AdamW's default
    _compare(history, adam_ref(init, decoupled=True, **ref_kwargs))


def test_adamw_differs_from_adam_with_l2():
    _, h_adam, _, _ = _run(optim.Adam, dict(lr=0.01, weight_decay=0.1))
    _, h_adamw, _, _ = _run(optim.AdamW, dict(lr=0.01, weight_decay=0.1))
    assert not np.allclose(h_adam[-1][0], h_adamw[-1][0])


@pytest.mark.parametrize(
    "opt_cls,kwargs",
    [
        (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
        (optim.RMSprop, dict(centered=True, momentum=0.9)),
        (optim.Adam, dict(amsgrad=True)),
        (optim.AdamW, dict()),
    ],
)
def test_float32_stays_float32_and_updates_in_place(opt_cls, kwargs):
    init, history, params, opt = _run(opt_cls, kwargs, dtype=np.float32)
    _, ref, _, _ = _run(opt_cls, kwargs, dtype=np.float64)
    for p in params:
        assert p._data.dtype == np.float32 and p.grad_fn is None and p.is_leaf
        assert p._version.value == STEPS
    for state in opt.state.values():
        for v in state.values():
            if isinstance(v, tg.Tensor):
                assert v.dtype == tg.float32
    _compare(history, ref, rtol=1e-4, atol=1e-5)
    arrays = [p._data for p in params]
    for p in params:
        p.grad = tg.ones(*p.shape)
    opt.step()
    assert all(p._data is a for p, a in zip(params, arrays))  # no new arrays: updated in place


def test_large_parameters_take_the_blockwise_path():
    """SGD updates big weights in cache-sized blocks; the result must be the plain formula."""
    rng = np.random.default_rng(11)
    w0 = rng.standard_normal((300, 250)).astype(np.float32)  # 75,000 elements: several blocks
    grads = [rng.standard_normal(w0.shape).astype(np.float32) for _ in range(3)]
    for kwargs in (dict(lr=0.1), dict(lr=0.1, momentum=0.9, nesterov=True)):
        w = nn.Parameter(tg.from_numpy(w0.copy()))
        opt = optim.SGD([w], **kwargs)
        for g in grads:
            w.grad = tg.from_numpy(g)
            opt.step()
        theta, buf = w0.astype(np.float64), None
        for t, g in enumerate(grads):
            if kwargs.get("momentum"):
                buf = g.astype(np.float64) if t == 0 else 0.9 * buf + g
                step = g + 0.9 * buf
            else:
                step = g
            theta = theta - 0.1 * step
        np.testing.assert_allclose(w._data, theta, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(w.grad._data, grads[-1])  # the gradient itself is untouched


def test_params_without_grad_are_skipped():
    a, b = nn.Parameter(tg.ones(2)), nn.Parameter(tg.ones(2))
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = tg.ones(2)
    opt.step()
    assert b.tolist() == [1.0, 1.0] and b not in opt.state
    assert a.tolist() != [1.0, 1.0] and opt.state[a]["step"] == 1


# ---- Optimizer base ----------------------------------------------------------------------------------
def test_param_groups_fill_defaults_and_reject_bad_input():
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    opt = optim.SGD(
        [{"params": model[0].parameters()}, {"params": model[1].parameters(), "lr": 0.5}], lr=0.1, momentum=0.9
    )
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert all(g["momentum"] == 0.9 and len(g["params"]) == 2 for g in opt.param_groups)
    extra = nn.Parameter(tg.ones(1))
    opt.add_param_group({"params": [extra], "lr": 0.01})
    assert opt.param_groups[2]["momentum"] == 0.9 and opt.param_groups[2]["params"] == [extra]
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [extra]})
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors"):
        optim.SGD(extra, lr=0.1)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.Adam([extra], lr=-1)
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero dampening"):
        optim.SGD([extra], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1"):
        optim.Adam([extra], betas=(0.9, 1.0))
    assert "Parameter Group 0" in repr(opt) and "momentum: 0.9" in repr(opt)


def test_zero_grad():
    p = nn.Parameter(tg.ones(3))
    opt = optim.SGD([p], lr=0.1)
    (p * 2.0).sum().backward()
    g = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is g and g.tolist() == [0.0, 0.0, 0.0]
    opt.zero_grad()
    assert p.grad is None


def test_step_with_closure():
    p = nn.Parameter(tg.tensor([3.0]))
    opt = optim.SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with tg.no_grad():  # the closure still records: step() enables grad for it
        loss = opt.step(closure)
    assert loss.item() == 9.0 and p.item() == pytest.approx(3.0 - 0.25 * 6.0)


def test_state_dict_layout_and_resume():
    kwargs = dict(lr=0.01, amsgrad=True)
    _, _, params, opt = _run(optim.Adam, kwargs)
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert sd["param_groups"][0]["params"] == [0, 1] and sd["param_groups"][0]["lr"] == 0.01
    assert set(sd["state"]) == {0, 1}
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    assert sd["state"][0]["step"] == STEPS and tuple(sd["state"][0]["exp_avg"].shape) == (3, 4)
    # a fresh optimizer loaded from the state continues exactly like the original
    twins = [nn.Parameter(tg.from_numpy(p._data.copy())) for p in params]
    opt2 = optim.Adam(twins, lr=0.5)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == 0.01
    rng = np.random.default_rng(9)
    for _ in range(3):
        grads = [rng.standard_normal(p.shape) for p in params]
        for ps, o in ((params, opt), (twins, opt2)):
            for p, g in zip(ps, grads):
                p.grad = tg.from_numpy(g.copy())
            o.step()
    for p, q in zip(params, twins):
        np.testing.assert_array_equal(p._data, q._data)
    assert opt2.state[twins[0]]["exp_avg"]._data is not opt.state[params[0]]["exp_avg"]._data
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt2.load_state_dict({"state": {}, "param_groups": []})
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt2.load_state_dict({"state": {}, "param_groups": [{"lr": 0.1, "params": [0]}]})


def test_sgd_state_dict_has_momentum_buffers():
    _, _, params, opt = _run(optim.SGD, dict(lr=0.1, momentum=0.9))
    sd = opt.state_dict()
    assert set(sd["state"][1]) == {"momentum_buffer"}
    assert isinstance(sd["state"][1]["momentum_buffer"], tg.Tensor)


# ---- lr schedulers -----------------------------------------------------------------------------------
def _opt(cls=optim.SGD, **kwargs):
    return cls([nn.Parameter(tg.ones(1))], **kwargs)


def _lrs(opt, sched, n):
    out = [opt.param_groups[0]["lr"]]
    for _ in range(n):
        opt.step()
        sched.step()
        out.append(opt.param_groups[0]["lr"])
    return out


def test_step_exponential_and_lambda_lr():
    opt = _opt(lr=0.1)
    sched = lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
    np.testing.assert_allclose(_lrs(opt, sched, 9), [0.1 * 0.5 ** (e // 3) for e in range(10)])
    assert sched.get_last_lr() == [opt.param_groups[0]["lr"]]
    opt = _opt(lr=0.2)
    sched = lr_scheduler.ExponentialLR(opt, gamma=0.9)
    np.testing.assert_allclose(_lrs(opt, sched, 6), [0.2 * 0.9**e for e in range(7)])
    opt = _opt(lr=0.3)
    sched = lr_scheduler.LambdaLR(opt, lambda e: 1 / (1 + e))
    np.testing.assert_allclose(_lrs(opt, sched, 4), [0.3 / (1 + e) for e in range(5)])
    opt = _opt(lr=1.0)
    sched = lr_scheduler.MultiStepLR(opt, milestones=[2, 4], gamma=0.1)
    np.testing.assert_allclose(_lrs(opt, sched, 5), [1, 1, 0.1, 0.1, 0.01, 0.01])
    opt = _opt(lr=1.0)
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=4, eta_min=0.1)
    np.testing.assert_allclose(_lrs(opt, sched, 4), [0.1 + 0.9 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(5)])


def _one_cycle_ref(
    step, total, max_lr, pct=0.3, div=25.0, final_div=1e4, strategy="cos", three_phase=False, base_m=0.85, max_m=0.95
):
    """PyTorch's documented OneCycleLR: phase boundaries at pct*total-1 (and 2*pct*total-2), total-1."""
    initial = max_lr / div
    min_lr = initial / final_div
    if three_phase:
        phases = [
            (pct * total - 1, initial, max_lr, max_m, base_m),
            (2 * pct * total - 2, max_lr, initial, base_m, max_m),
            (total - 1, initial, min_lr, max_m, max_m),
        ]
    else:
        phases = [(pct * total - 1, initial, max_lr, max_m, base_m), (total - 1, max_lr, min_lr, base_m, max_m)]

    def anneal(a, b, p):
        if strategy == "cos":
            return b + (a - b) / 2 * (math.cos(math.pi * p) + 1)
        return (b - a) * p + a

    start = 0.0
    for i, (end, lr0, lr1, m0, m1) in enumerate(phases):
        if step <= end or i == len(phases) - 1:
            p = (step - start) / (end - start)
            return anneal(lr0, lr1, p), anneal(m0, m1, p)
        start = end
    raise AssertionError


@pytest.mark.parametrize("strategy,three_phase", [("cos", False), ("linear", False), ("cos", True)])
def test_one_cycle_lr_sequence_and_momentum(strategy, three_phase):
    total = 20
    opt = _opt(lr=0.1, momentum=0.9)
    sched = lr_scheduler.OneCycleLR(
        opt, max_lr=1.0, total_steps=total, anneal_strategy=strategy, three_phase=three_phase
    )
    lrs, moms = [], []
    for step in range(total):
        lrs.append(opt.param_groups[0]["lr"])
        moms.append(opt.param_groups[0]["momentum"])
        opt.step()
        if step < total - 1:
            sched.step()
    ref = [_one_cycle_ref(s, total, 1.0, strategy=strategy, three_phase=three_phase) for s in range(total)]
    np.testing.assert_allclose(lrs, [r[0] for r in ref], rtol=1e-12)
    np.testing.assert_allclose(moms, [r[1] for r in ref], rtol=1e-12)
    assert lrs[0] == pytest.approx(1.0 / 25) and max(lrs) <= 1.0
    assert lrs[-1] == pytest.approx(1.0 / 25 / 1e4 if not three_phase else 1.0 / 25 / 1e4)
    assert moms[0] == pytest.approx(0.95) and min(moms) >= 0.85 - 1e-12
    sched.step()  # step `total`: still allowed (PyTorch raises only beyond total_steps)
    with pytest.raises(ValueError, match="Tried to step 21 times"):
        sched.step()


def test_one_cycle_cycles_adam_beta1_and_uses_epochs():
    opt = _opt(optim.Adam, lr=1e-3, betas=(0.9, 0.99))
    sched = lr_scheduler.OneCycleLR(opt, max_lr=0.01, epochs=2, steps_per_epoch=5)
    assert sched.total_steps == 10
    assert opt.param_groups[0]["betas"] == (0.95, 0.99)
    for _ in range(3):
        opt.step()
        sched.step()
    lr, mom = _one_cycle_ref(3, 10, 0.01)
    assert opt.param_groups[0]["lr"] == pytest.approx(lr)
    assert opt.param_groups[0]["betas"][0] == pytest.approx(mom) and opt.param_groups[0]["betas"][1] == 0.99
    assert sched.get_last_lr() == [pytest.approx(lr)]


def test_one_cycle_errors():
    class Plain(optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, dict(lr=0.1))

    with pytest.raises(ValueError, match="momentum or beta1"):
        lr_scheduler.OneCycleLR(Plain([nn.Parameter(tg.ones(1))]), max_lr=1.0, total_steps=10)
    with pytest.raises(ValueError, match="total_steps OR"):
        lr_scheduler.OneCycleLR(_opt(lr=0.1, momentum=0.9), max_lr=1.0)
    sched = lr_scheduler.OneCycleLR(Plain([nn.Parameter(tg.ones(1))]), max_lr=1.0, total_steps=10, cycle_momentum=False)
    assert sched.get_last_lr() == [pytest.approx(0.04)]
