"""nn: Parameter, Module (registration, state_dict, repr, modes, dtype), layers, nn.functional
losses against NumPy references, nn.init, and end-to-end training."""

from __future__ import annotations

import math
import warnings
from collections import OrderedDict

import numpy as np
import pytest
from oprows_nn import bce_logits_ref, bce_ref, ce_prob_ref, ce_ref, nll_ref

import tinygrad_ko as tg
import tinygrad_ko.nn.functional as F
from tinygrad_ko import nn
from tinygrad_ko.autograd import grad as autograd_grad


def _np(t):
    return t.detach().numpy()


def _mlp():
    return nn.Sequential(nn.Linear(784, 30), nn.ReLU(), nn.Linear(30, 1))


# ---- Parameter ---------------------------------------------------------------------------------
def test_parameter_is_a_tensor_sharing_memory_and_prints_like_pytorch():
    t = tg.tensor([1.0, 2.0])
    p = nn.Parameter(t)
    assert isinstance(p, nn.Parameter) and isinstance(p, tg.Tensor)
    assert p.requires_grad and p.is_leaf and p.grad is None
    assert np.shares_memory(p._data, t._data)
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    assert not nn.Parameter(t, requires_grad=False).requires_grad
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(tg.tensor([1, 2]))


def test_parameters_work_in_every_op_that_takes_tensors():
    """The core's fast paths must treat Parameters as Tensors: gradients reach them."""
    p = nn.Parameter(tg.tensor([1.0, 2.0, 3.0]))
    q = nn.Parameter(tg.tensor([4.0, 5.0, 6.0]))
    x = tg.tensor([0.5, -1.0, 2.0])
    cond = tg.tensor([True, False, True])
    out = (x + p) * q - q / p  # Tensor (op) Parameter and Parameter (op) Parameter
    out = out + tg.cat([p, q])[:3] + tg.stack([p, q]).sum(0) + tg.where(cond, p, x)
    out.sum().backward()
    pd, qd, xd = p._data, q._data, x._data
    np.testing.assert_allclose(_np(p.grad), qd + qd / pd**2 + 1 + 1 + cond._data, rtol=1e-6)
    np.testing.assert_allclose(_np(q.grad), xd + pd - 1 / pd + 1, rtol=1e-6)
    # an in-place op on a non-leaf with a Parameter operand is recorded
    p.grad = None
    z = x * 2.0
    w = nn.Parameter(tg.tensor([1.0, 1.0, 1.0]))
    z = z * w
    z.add_(p)
    z.sum().backward()
    np.testing.assert_allclose(_np(p.grad), [1.0, 1.0, 1.0])


# ---- Module registration and traversal ------------------------------------------------------------
class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 3)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(3, 2)
        self.scale = nn.Parameter(tg.ones(2))
        self.register_buffer("steps", tg.zeros(1))
        self.register_buffer("cache", tg.zeros(2), persistent=False)
        self.plain = 3

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x))) * self.scale


def test_module_registers_parameters_modules_and_buffers():
    net = _Net()
    assert [n for n, _ in net.named_parameters()] == ["scale", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert len(list(net.parameters())) == 5
    assert [n for n, _ in net.named_buffers()] == ["steps", "cache"]
    assert [n for n, _ in net.named_children()] == ["fc1", "act", "fc2"]
    assert [n for n, _ in net.named_modules()] == ["", "fc1", "act", "fc2"]
    assert list(net.children())[0] is net.fc1 and list(net.modules())[0] is net
    assert net.plain == 3 and "plain" not in net._parameters
    assert list(net.state_dict()) == ["scale", "steps", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'scale'"):
        net.scale = tg.ones(2)
    net.scale = None
    assert "scale" not in dict(net.named_parameters())
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        _ = net.nope
    del net.fc2
    assert [n for n, _ in net.named_children()] == ["fc1", "act"]
    assert net.get_submodule("fc1") is net.fc1 and net.get_parameter("fc1.bias") is net.fc1.bias


def test_shared_parameters_appear_once_and_assignment_before_init_fails():
    lin = nn.Linear(3, 3)
    model = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(model.parameters())) == 2
    assert len(list(model.named_parameters(remove_duplicate=False))) == 4

    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(tg.ones(1))

    with pytest.raises(AttributeError, match=r"before Module.__init__\(\) call"):
        Bad()


def test_forward_missing_is_a_clear_error():
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        nn.Module()(tg.ones(1))


def test_train_eval_apply_and_requires_grad():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(), nn.Linear(2, 1)))
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    seen = []
    assert model.apply(lambda m: seen.append(type(m).__name__)) is model
    assert seen == ["Linear", "Dropout", "Linear", "Sequential", "Sequential"]  # children first
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())


def test_zero_grad_to_none_or_zeros():
    model = nn.Linear(3, 2)
    model(tg.ones(4, 3)).sum().backward()
    grads = [p.grad for p in model.parameters()]
    model.zero_grad(set_to_none=False)
    assert all(p.grad is g and not g._data.any() for p, g in zip(model.parameters(), grads))
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_to_double_and_back_keeps_parameter_identity():
    model = _Net()
    params = list(model.parameters())
    model(tg.ones(2, 4)).sum().backward()
    assert model.to(tg.float64) is model
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]
    assert all(p.dtype == tg.float64 and p.grad.dtype == tg.float64 for p in model.parameters())
    assert all(b.dtype == tg.float64 for b in model.buffers())
    assert model(tg.ones(2, 4, dtype=tg.float64)).dtype == tg.float64
    model.float()
    assert all(p.dtype == tg.float32 for p in model.parameters())
    model.double()
    assert model.fc1.weight.dtype == tg.float64
    assert model.to("cpu") is model
    with pytest.raises(RuntimeError, match="CPU only"):
        model.to("cuda")


# ---- state_dict -------------------------------------------------------------------------------------
def test_state_dict_keys_shapes_and_values_are_shared_tensors():
    model = _mlp()
    sd = model.state_dict()
    assert list(sd) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert [tuple(v.shape) for v in sd.values()] == [(30, 784), (30,), (1, 30), (1,)]
    assert all(type(v) is tg.Tensor and not v.requires_grad for v in sd.values())
    assert np.shares_memory(sd["0.weight"]._data, model[0].weight._data)
    assert isinstance(model.state_dict(keep_vars=True)["0.weight"], nn.Parameter)


def test_load_state_dict_copies_in_place():
    tg.manual_seed(0)
    a, b = _mlp(), _mlp()
    x = tg.randn(5, 784)
    weight_obj = b[0].weight
    sd = a.state_dict()
    result = b.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert b[0].weight is weight_obj  # same Parameter, new values
    np.testing.assert_array_equal(_np(a(x)), _np(b(x)))
    sd["0.bias"]._data[...] = 7.0  # the copy is independent of the source afterwards
    assert not (b[0].bias._data == 7.0).any()
    b.load_state_dict({k: v.numpy() for k, v in a.state_dict().items()})  # arrays work too


def test_load_state_dict_errors_list_everything_and_change_nothing():
    model = _mlp()
    before = {k: v._data.copy() for k, v in model.state_dict().items()}
    bad = {k: tg.zeros(*v.shape) for k, v in model.state_dict().items()}
    del bad["2.bias"]
    bad["extra.weight"] = tg.zeros(1)
    bad["0.weight"] = tg.zeros(30, 700)
    with pytest.raises(RuntimeError) as info:
        model.load_state_dict(bad)
    msg = str(info.value)
    assert msg.startswith("Error(s) in loading state_dict for Sequential:")
    assert 'Missing key(s) in state_dict: "2.bias".' in msg
    assert 'Unexpected key(s) in state_dict: "extra.weight".' in msg
    assert (
        "size mismatch for 0.weight: copying a param with shape tinygrad_ko.Size([30, 700]) from checkpoint, "
        "the shape in current model is tinygrad_ko.Size([30, 784])." in msg
    )
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v._data, before[k])  # "0.bias"/"2.weight" were valid: still untouched
    # strict=False tolerates missing/unexpected keys but not size mismatches
    bad["0.weight"] = tg.zeros(30, 784)
    result = model.load_state_dict(bad, strict=False)
    assert result.missing_keys == ["2.bias"] and result.unexpected_keys == ["extra.weight"]
    assert not model[0].weight._data.any()
    bad["0.weight"] = tg.zeros(3)
    with pytest.raises(RuntimeError, match="size mismatch for 0.weight"):
        model.load_state_dict(bad, strict=False)


def test_buffers_in_state_dict_only_when_persistent():
    net = _Net()
    sd = net.state_dict()
    assert "steps" in sd and "cache" not in sd
    net2 = _Net()
    sd["steps"]._data[...] = 5
    net2.load_state_dict(sd)
    assert net2.steps.item() == 5


# ---- repr -------------------------------------------------------------------------------------------
def test_repr_matches_pytorch():
    model = _mlp()
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=784, out_features=30, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Linear(in_features=30, out_features=1, bias=True)\n"
        ")"
    )
    nested = nn.Sequential(OrderedDict(body=nn.Sequential(nn.Flatten(), nn.Dropout(0.2)), head=nn.Softmax(dim=1)))
    assert repr(nested) == (
        "Sequential(\n"
        "  (body): Sequential(\n"
        "    (0): Flatten(start_dim=1, end_dim=-1)\n"
        "    (1): Dropout(p=0.2, inplace=False)\n"
        "  )\n"
        "  (head): Softmax(dim=1)\n"
        ")"
    )
    assert repr(nn.Linear(2, 3, bias=False)) == "Linear(in_features=2, out_features=3, bias=False)"
    assert repr(nn.ReLU(inplace=True)) == "ReLU(inplace=True)"
    assert repr(nn.Unflatten(1, (2, 5))) == "Unflatten(dim=1, unflattened_size=(2, 5))"
    assert repr(nn.Identity()) == "Identity()"
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss()"


# ---- Sequential / ModuleList ------------------------------------------------------------------------
def test_sequential_indexing_slicing_append_and_children():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3), nn.Softmax(dim=1))
    assert len(model) == 4 and isinstance(model[0], nn.Linear) and isinstance(model[-1], nn.Softmax)
    head = model[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is model[0]
    assert [type(m).__name__ for m in model] == ["Linear", "ReLU", "Linear", "Softmax"]
    body = nn.Sequential(*list(model.children())[:-2])
    assert body(tg.ones(5, 4)).shape == (5, 8)
    body.append(nn.Linear(8, 2))
    assert list(body.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    with pytest.raises(IndexError):
        model[4]
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"] and named.fc is named[0]
    del model[1]
    assert [n for n, _ in model.named_children()] == ["0", "1", "2"]
    x = tg.randn(3, 4)
    np.testing.assert_allclose(_np(head(x)), np.maximum(_np(model[0](x)), 0))


def test_module_list_registers_its_modules():
    class Tower(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

    t = Tower()
    assert len(list(t.parameters())) == 6 and len(t.layers) == 3
    assert list(t.state_dict())[:2] == ["layers.0.weight", "layers.0.bias"]
    t.layers.append(nn.Linear(2, 1))
    assert t(tg.ones(1, 2)).shape == (1, 1)
    assert isinstance(t.layers[1:], nn.ModuleList) and len(t.layers[1:]) == 3


def test_forward_hooks():
    lin = nn.Linear(2, 2)
    calls = []
    h = lin.register_forward_hook(lambda m, inp, out: calls.append((m, inp[0].shape, out.shape)))
    lin(tg.ones(3, 2))
    assert calls == [(lin, (3, 2), (3, 2))]
    h.remove()
    lin(tg.ones(3, 2))
    assert len(calls) == 1
    h2 = lin.register_forward_hook(lambda m, inp, out: out * 0.0)
    assert not lin(tg.ones(1, 2))._data.any()
    h2.remove()


# ---- Linear -----------------------------------------------------------------------------------------
def test_linear_default_init_follows_pytorch():
    tg.manual_seed(0)
    lin = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)  # kaiming_uniform_(a=sqrt(5)) gives U(-1/sqrt(in), 1/sqrt(in))
    w, b = lin.weight._data, lin.bias._data
    assert w.dtype == np.float32 and w.shape == (300, 400) and b.shape == (300,)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert np.abs(b).max() <= bound and np.abs(b).max() > 0.9 * bound
    np.testing.assert_allclose(w.std(), bound / math.sqrt(3), rtol=0.02)
    tg.manual_seed(0)
    np.testing.assert_array_equal(nn.Linear(400, 300).weight._data, w)  # reproducible


def test_linear_forward_and_gradients_match_numpy():
    rng = np.random.default_rng(0)
    lin = nn.Linear(5, 3)
    for shape in [(4, 5), (2, 4, 5), (5,)]:
        xa = rng.standard_normal(shape).astype(np.float32)
        x = tg.from_numpy(xa.copy()).requires_grad_()
        lin.zero_grad()
        out = lin(x)
        W, b = lin.weight._data, lin.bias._data
        np.testing.assert_allclose(_np(out), xa @ W.T + b, rtol=1e-5, atol=1e-6)
        assert out.dtype == tg.float32
        g = rng.standard_normal(out.shape).astype(np.float32)
        out.backward(tg.from_numpy(g))
        g2, x2 = g.reshape(-1, 3), xa.reshape(-1, 5)
        np.testing.assert_allclose(_np(x.grad), g @ W, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(_np(lin.weight.grad), g2.T @ x2, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(_np(lin.bias.grad), g2.sum(0), rtol=1e-5, atol=1e-6)
        assert lin.weight.grad.dtype == tg.float32
    no_bias = nn.Linear(5, 3, bias=False)
    assert no_bias.bias is None and len(list(no_bias.parameters())) == 1


def test_linear_double_backward_matches_composite_ops():
    rng = np.random.default_rng(1)
    x = tg.from_numpy(rng.standard_normal((3, 4))).requires_grad_()
    w = tg.from_numpy(rng.standard_normal((2, 4))).requires_grad_()
    b = tg.from_numpy(rng.standard_normal(2)).requires_grad_()

    def penalty(f):
        y = (f(x, w, b) ** 2).sum()
        gx, gw = autograd_grad(y, [x, w], create_graph=True)
        return autograd_grad((gx**2).sum() + (gw**2).sum(), [x, w, b])

    fused = penalty(F.linear)
    composite = penalty(lambda x, w, b: x @ w.T + b)
    for a, c in zip(fused, composite):
        np.testing.assert_allclose(_np(a), _np(c), rtol=1e-10)


def test_linear_errors_name_the_shapes():
    lin = nn.Linear(700, 30)
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(64x784 and 700x30\)"):
        lin(tg.ones(64, 784))
    with pytest.raises(RuntimeError, match="same dtype"):
        lin(tg.ones(2, 700, dtype=tg.float64))


# ---- activations, shape layers, dropout -------------------------------------------------------------
def test_activation_layers_match_numpy():
    xa = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
    x = tg.from_numpy(xa)
    np.testing.assert_allclose(_np(nn.ReLU()(x)), np.maximum(xa, 0))
    np.testing.assert_allclose(_np(nn.Sigmoid()(x)), 1 / (1 + np.exp(-xa)), rtol=1e-6)
    np.testing.assert_allclose(_np(nn.Tanh()(x)), np.tanh(xa), rtol=1e-6)
    sm = np.exp(xa) / np.exp(xa).sum(1, keepdims=True)
    np.testing.assert_allclose(_np(nn.Softmax(dim=1)(x)), sm, rtol=1e-6)
    np.testing.assert_allclose(_np(nn.LogSoftmax(dim=1)(x)), np.log(sm), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(nn.LeakyReLU(0.1)(x)), np.where(xa > 0, xa, 0.1 * xa), rtol=1e-6)
    np.testing.assert_allclose(_np(nn.Softplus()(x)), np.log1p(np.exp(xa)), rtol=1e-6)
    assert nn.Identity(3, foo=1)(x) is x
    assert F.softplus(tg.tensor([-1000.0, 1000.0])).tolist() == [0.0, 1000.0]
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        F.softmax(x)


def test_flatten_unflatten():
    x = tg.randn(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert nn.Flatten(start_dim=2)(x).shape == (2, 3, 20)
    assert nn.Unflatten(1, (6, 10))(nn.Flatten()(x)).shape == (2, 6, 10)


def test_dropout_train_and_eval():
    tg.manual_seed(0)
    drop = nn.Dropout(p=0.25)
    x = tg.ones(200, 500, requires_grad=True)
    y = drop(x)
    kept = y._data != 0
    assert abs(1 - kept.mean() - 0.25) < 0.01
    np.testing.assert_allclose(y._data[kept], 1 / 0.75, rtol=1e-6)  # inverted dropout scaling
    assert y.dtype == tg.float32
    y.sum().backward()
    np.testing.assert_allclose(_np(x.grad), kept / 0.75, rtol=1e-6)  # gradient through the same mask
    drop.eval()
    assert drop(x) is x
    drop.train()
    tg.manual_seed(0)
    np.testing.assert_array_equal(_np(drop(x)), _np(y))  # reproducible with manual_seed
    assert F.dropout(x, 0.0) is x
    assert not F.dropout(x, 1.0)._data.any()
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_one_hot():
    out = F.one_hot(tg.tensor([0, 2, 1]))
    assert out.dtype == tg.int64 and out.tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0]]
    assert F.one_hot(tg.tensor([[1], [0]]), num_classes=4).shape == (2, 1, 4)
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        F.one_hot(tg.tensor([3]), num_classes=3)
    with pytest.raises(RuntimeError, match="non-negative"):
        F.one_hot(tg.tensor([-1]))
    with pytest.raises(RuntimeError, match="LongTensor"):
        F.one_hot(tg.tensor([1.0]))


# ---- losses -------------------------------------------------------------------------------------------
def _logits_targets(n=6, c=4, seed=0, extra=()):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((n, c) + extra) * 2).astype(np.float32)
    t = rng.integers(0, c, (n,) + extra)
    return x, t


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("ignore_index", [-100, 1])
@pytest.mark.parametrize("eps", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_matches_pytorch_definition(reduction, ignore_index, eps, weighted):
    xa, ta = _logits_targets()
    ta[0] = 1  # at least one ignored target when ignore_index=1
    w = np.array([0.5, 2.0, 1.0, 1.5], dtype=np.float32) if weighted else None
    x = tg.from_numpy(xa.copy()).requires_grad_()
    wt = tg.from_numpy(w) if weighted else None
    loss = F.cross_entropy(
        x, tg.from_numpy(ta), weight=wt, ignore_index=ignore_index, reduction=reduction, label_smoothing=eps
    )
    expected = ce_ref(
        xa.astype(np.float64), ta, None if w is None else w.astype(np.float64), ignore_index, eps, reduction
    )
    np.testing.assert_allclose(_np(loss), expected, rtol=1e-5, atol=1e-6)
    assert loss.dtype == tg.float32 and loss.shape == np.shape(expected)
    module = nn.CrossEntropyLoss(weight=wt, ignore_index=ignore_index, reduction=reduction, label_smoothing=eps)
    np.testing.assert_allclose(_np(module(x, tg.from_numpy(ta))), expected, rtol=1e-5, atol=1e-6)
    # gradient vs central differences of the float64 reference
    loss.sum().backward()
    num = np.zeros_like(xa, dtype=np.float64)
    x64 = xa.astype(np.float64)
    w64 = None if w is None else w.astype(np.float64)
    for idx in np.ndindex(xa.shape):
        d = np.zeros_like(x64)
        d[idx] = 1e-6
        num[idx] = (
            np.sum(ce_ref(x64 + d, ta, w64, ignore_index, eps, reduction))
            - np.sum(ce_ref(x64 - d, ta, w64, ignore_index, eps, reduction))
        ) / 2e-6
    np.testing.assert_allclose(_np(x.grad), num, rtol=1e-3, atol=1e-5)
    assert x.grad.dtype == tg.float32
    # the create_graph backward (Tensor ops) gives the same first derivative as the NumPy one
    x2 = tg.from_numpy(xa.copy()).requires_grad_()
    loss2 = F.cross_entropy(
        x2, tg.from_numpy(ta), weight=wt, ignore_index=ignore_index, reduction=reduction, label_smoothing=eps
    )
    (g2,) = autograd_grad(loss2.sum(), [x2], create_graph=True)
    assert g2.requires_grad
    np.testing.assert_allclose(_np(g2), _np(x.grad), rtol=1e-5, atol=1e-7)


def test_cross_entropy_mean_with_ignore_index_divides_by_non_ignored_count():
    x = tg.zeros(4, 3)  # every row's loss is log(3)
    t = tg.tensor([0, -100, -100, 2])
    assert F.cross_entropy(x, t).item() == pytest.approx(math.log(3))  # 2*log(3) / 2, not / 4
    assert F.cross_entropy(x, t, reduction="sum").item() == pytest.approx(2 * math.log(3))


@pytest.mark.parametrize("eps", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_losses_with_every_target_ignored_have_nan_loss_and_zero_gradient(eps, weighted):
    # PyTorch: mean over no targets is 0/0 = nan, but every row is ignored, so the gradient is 0
    w = tg.tensor([1.0, 2.0, 3.0]) if weighted else None
    t = tg.tensor([-100, -100])
    for create_graph in (False, True):
        x = tg.randn(2, 3, requires_grad=True)
        loss = F.cross_entropy(x, t, weight=w, label_smoothing=eps)
        assert math.isnan(loss.item())
        (g,) = autograd_grad(loss, [x], create_graph=create_graph)
        np.testing.assert_array_equal(_np(g), np.zeros((2, 3), dtype=np.float32))
    logp = tg.randn(2, 3, requires_grad=True)
    loss = F.nll_loss(logp, t, weight=w)
    assert math.isnan(loss.item())
    loss.backward()
    np.testing.assert_array_equal(_np(logp.grad), np.zeros((2, 3), dtype=np.float32))


def test_cross_entropy_k_dim_and_unbatched():
    xa, ta = _logits_targets(n=2, c=3, extra=(4, 5))
    loss = F.cross_entropy(tg.from_numpy(xa), tg.from_numpy(ta), reduction="none")
    assert loss.shape == (2, 4, 5)
    np.testing.assert_allclose(_np(loss), ce_ref(xa.astype(np.float64), ta, reduction="none"), rtol=1e-5)
    single = F.cross_entropy(tg.from_numpy(xa[:, :, 0, 0][0]), tg.tensor(int(ta[0, 0, 0])))
    assert single.shape == ()
    np.testing.assert_allclose(single.item(), ce_ref(xa[:1, :, 0, 0].astype(np.float64), ta[:1, 0, 0]), rtol=1e-5)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_with_probability_targets(reduction):
    rng = np.random.default_rng(3)
    xa = rng.standard_normal((5, 4)).astype(np.float32)
    p = rng.random((5, 4)).astype(np.float32)
    p /= p.sum(1, keepdims=True)
    out = F.cross_entropy(tg.from_numpy(xa), tg.from_numpy(p), reduction=reduction, label_smoothing=0.1)
    np.testing.assert_allclose(
        _np(out), ce_prob_ref(xa.astype(np.float64), p.astype(np.float64), eps=0.1, reduction=reduction), rtol=1e-5
    )


def test_cross_entropy_is_finite_at_extreme_logits():
    x = tg.tensor([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 0.0]], requires_grad=True)
    t = tg.tensor([0, 0])
    loss = F.cross_entropy(x, t)
    assert loss.item() == pytest.approx(1000.0)  # row 0: 0, row 1: 2000, mean 1000
    loss.backward()
    np.testing.assert_allclose(_np(x.grad), [[0.0, 0.0, 0.0], [-0.5, 0.5, 0.0]], atol=1e-6)
    x64 = tg.tensor([[1e4, -1e4]], dtype=tg.float64, requires_grad=True)
    assert np.isfinite(F.cross_entropy(x64, tg.tensor([1])).item())


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_is_twice_differentiable(weighted, reduction):
    rng = np.random.default_rng(4)
    xa = rng.standard_normal((4, 3))
    t = tg.tensor([0, 2, 1, 2])
    w = tg.tensor([1.0, 2.0, 0.5] if weighted else [1.0, 1.0, 1.0], dtype=tg.float64)

    def hvp(f):
        x = tg.from_numpy(xa.copy()).requires_grad_()
        (g,) = autograd_grad(f(x), [x], create_graph=True)
        (h,) = autograd_grad((g * g).sum(), [x])
        return _np(h)

    def composite(x):  # log_softmax + NLL from core ops, smoothing 0.1, weights
        logp = x.log_softmax(1)
        onehot = tg.from_numpy(np.eye(3)[t._data])
        nll = -(logp * onehot * w).sum(1)
        smooth = -(logp * w).sum(1)
        total = (0.9 * nll + 0.1 / 3 * smooth).sum()
        return total / w[t].sum() if reduction == "mean" else total

    weight = w if weighted else None
    fused = hvp(lambda x: F.cross_entropy(x, t, weight=weight, label_smoothing=0.1, reduction=reduction))
    np.testing.assert_allclose(fused, hvp(composite), rtol=1e-8, atol=1e-10)


def test_cross_entropy_errors_are_clear():
    x = tg.randn(4, 3)
    with pytest.raises(IndexError, match=r"target 5 is out of bounds.*3 classes"):
        F.cross_entropy(x, tg.tensor([0, 1, 5, 2]))
    with pytest.raises(IndexError, match=r"target -1 is out of bounds"):
        F.cross_entropy(x, tg.tensor([0, 1, -1, 2]))
    with pytest.raises(ValueError, match=r"batch_size \(4\).*target batch_size \(2\).*\(4, 3\).*\(2,\)"):
        F.cross_entropy(x, tg.tensor([0, 1]))
    with pytest.raises(RuntimeError, match=r"float targets.*\(4, 3\).*\(4,\).*long\(\)"):
        F.cross_entropy(x, tg.tensor([0.0, 1.0, 2.0, 1.0]))
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.cross_entropy(x, tg.tensor([0, 1, 2, 1]), reduction="avg")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_matches_reference_and_pairs_with_log_softmax(reduction):
    xa, ta = _logits_targets(seed=5)
    ta[1] = -100
    lp = tg.from_numpy(xa).log_softmax(1)
    w = np.array([1.0, 0.5, 2.0, 1.0], dtype=np.float32)
    out = F.nll_loss(lp, tg.from_numpy(ta), weight=tg.from_numpy(w), reduction=reduction)
    np.testing.assert_allclose(
        _np(out), nll_ref(_np(lp).astype(np.float64), ta, w.astype(np.float64), reduction=reduction), rtol=1e-5
    )
    ce = F.cross_entropy(tg.from_numpy(xa), tg.from_numpy(ta), weight=tg.from_numpy(w), reduction=reduction)
    np.testing.assert_allclose(
        _np(nn.NLLLoss(weight=tg.from_numpy(w), reduction=reduction)(lp, tg.from_numpy(ta))), _np(ce), rtol=1e-5
    )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_matches_reference_and_clamps(reduction):
    rng = np.random.default_rng(6)
    p = rng.uniform(0.01, 0.99, (4, 3)).astype(np.float32)
    t = (rng.random((4, 3)) > 0.5).astype(np.float32)
    x = tg.from_numpy(p.copy()).requires_grad_()
    out = F.binary_cross_entropy(x, tg.from_numpy(t), reduction=reduction)
    np.testing.assert_allclose(_np(out), bce_ref(p.astype(np.float64), t, reduction=reduction), rtol=1e-5)
    np.testing.assert_allclose(_np(nn.BCELoss(reduction=reduction)(x, tg.from_numpy(t))), _np(out))
    out.sum().backward()
    scale = 1 / p.size if reduction == "mean" else 1.0
    np.testing.assert_allclose(_np(x.grad), scale * (p - t) / (p * (1 - p)), rtol=1e-4)
    # log(0) is clamped to -100: a confident wrong answer costs exactly 100, and stays finite
    edge = F.binary_cross_entropy(tg.tensor([0.0, 1.0]), tg.tensor([1.0, 0.0]), reduction="none")
    assert edge.tolist() == [100.0, 100.0]
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(tg.tensor([1.5]), tg.tensor([1.0]))
    with pytest.raises(ValueError, match="target size"):
        F.binary_cross_entropy(tg.tensor([[0.5], [0.5]]), tg.tensor([1.0, 0.0]))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_with_logits_matches_reference_and_is_stable(reduction):
    rng = np.random.default_rng(7)
    xa = (rng.standard_normal((5, 3)) * 3).astype(np.float32)
    xa[0, 0], xa[1, 1] = 1000.0, -1000.0
    t = (rng.random((5, 3)) > 0.5).astype(np.float32)
    t[0, 0], t[1, 1] = 0.0, 1.0  # the hard cases: +-1000 on the wrong side
    pw = np.array([1.0, 2.0, 0.5], dtype=np.float32)
    x = tg.from_numpy(xa.copy()).requires_grad_()
    out = F.binary_cross_entropy_with_logits(x, tg.from_numpy(t), pos_weight=tg.from_numpy(pw), reduction=reduction)
    np.testing.assert_allclose(
        _np(out), bce_logits_ref(xa.astype(np.float64), t, pw=pw, reduction=reduction), rtol=1e-5
    )
    module = nn.BCEWithLogitsLoss(pos_weight=tg.from_numpy(pw), reduction=reduction)
    np.testing.assert_allclose(_np(module(x, tg.from_numpy(t))), _np(out))
    out.sum().backward()
    assert np.isfinite(_np(x.grad)).all()
    sig = 0.5 * (1 + np.tanh(xa.astype(np.float64) / 2))  # sigmoid without overflow
    lw = 1 + (pw - 1) * t
    scale = 1 / xa.size if reduction == "mean" else 1.0
    np.testing.assert_allclose(_np(x.grad), scale * (lw * sig - pw * t), rtol=1e-4, atol=1e-7)


def test_mse_and_l1_loss():
    a = tg.tensor([[1.0, 2.0], [3.0, 5.0]], requires_grad=True)
    b = tg.tensor([[1.5, 2.0], [2.0, 1.0]])
    assert F.mse_loss(a, b).item() == pytest.approx((0.25 + 0 + 1 + 16) / 4)
    assert F.l1_loss(a, b, reduction="sum").item() == pytest.approx(0.5 + 0 + 1 + 4)
    assert nn.MSELoss(reduction="none")(a, b).shape == (2, 2)
    nn.MSELoss()(a, b).backward()
    np.testing.assert_allclose(_np(a.grad), 2 * (_np(a) - _np(b)) / 4)
    with pytest.warns(UserWarning, match="different to the input size"):
        F.mse_loss(tg.ones(4, 1), tg.ones(4))


# ---- nn.init ------------------------------------------------------------------------------------------
def test_init_gains_and_fans():
    assert nn.init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert nn.init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert nn.init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert nn.init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01**2)))
    assert nn.init.calculate_gain("conv2d") == 1 and nn.init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        nn.init.calculate_gain("swish")
    assert nn.init._calculate_fan_in_and_fan_out(tg.empty(16, 3, 5, 5)) == (75, 400)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init._calculate_fan_in_and_fan_out(tg.empty(3))


def test_init_distributions_and_in_place_semantics():
    tg.manual_seed(1)
    w = nn.Parameter(tg.empty(500, 200))
    version = w._version.value
    out = nn.init.kaiming_uniform_(w, mode="fan_in", nonlinearity="relu")
    assert out is w and w._version.value == version + 1 and w.grad_fn is None and w.dtype == tg.float32
    bound = math.sqrt(2) * math.sqrt(3 / 200)
    assert np.abs(w._data).max() <= bound and np.abs(w._data).max() > 0.99 * bound
    nn.init.kaiming_normal_(w, mode="fan_out")
    np.testing.assert_allclose(w._data.std(), math.sqrt(2 / (1 + 0)) / math.sqrt(500), rtol=0.03)
    nn.init.xavier_uniform_(w, gain=2.0)
    a = 2.0 * math.sqrt(6 / 700)
    assert np.abs(w._data).max() <= a and np.abs(w._data).max() > 0.99 * a
    nn.init.xavier_normal_(w)
    np.testing.assert_allclose(w._data.std(), math.sqrt(2 / 700), rtol=0.03)
    nn.init.normal_(w, mean=3.0, std=0.5)
    np.testing.assert_allclose([w._data.mean(), w._data.std()], [3.0, 0.5], rtol=0.02)
    nn.init.uniform_(w, -2.0, -1.0)
    assert w._data.min() >= -2.0 and w._data.max() <= -1.0
    nn.init.constant_(w, 0.3)
    assert (w._data == np.float32(0.3)).all()
    nn.init.zeros_(w)
    assert not w._data.any()
    nn.init.ones_(w)
    assert (w._data == 1).all()
    tg.manual_seed(5)
    first = nn.init.normal_(tg.empty(10))._data.copy()
    tg.manual_seed(5)
    np.testing.assert_array_equal(nn.init.normal_(tg.empty(10))._data, first)
    with pytest.warns(UserWarning, match="zero-element"):
        nn.init.kaiming_uniform_(tg.empty(0, 3))


# ---- end to end -----------------------------------------------------------------------------------------
def _blobs(n=300, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    y = rng.integers(0, 3, n)
    x = centers[y] + 0.5 * rng.standard_normal((n, 2))
    return tg.from_numpy(x.astype(np.float32)), tg.from_numpy(y)


@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
def test_mlp_learns_a_separable_problem(opt_name):
    tg.manual_seed(0)
    x, y = _blobs()
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = (
        tg.optim.SGD(model.parameters(), lr=0.3, momentum=0.9)
        if opt_name == "SGD"
        else tg.optim.Adam(model.parameters(), lr=0.03)
    )
    loss_fn = nn.CrossEntropyLoss()
    first = None
    for _ in range(60):
        loss = loss_fn(model(x), y)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with tg.no_grad():
        acc = (model(x).argmax(1) == y).float().mean().item()
    assert loss.item() < first / 4
    assert acc > 0.95
    assert all(p.dtype == tg.float32 and p.grad.dtype == tg.float32 for p in model.parameters())


def test_training_steps_match_a_hand_written_numpy_loop():
    """Linear + ReLU + Linear + cross_entropy + SGD, five steps, against the textbook NumPy code."""
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 8), nn.ReLU(), nn.Linear(8, 4))
    W1, b1, W2, b2 = (p._data.copy() for p in model.parameters())
    opt = tg.optim.SGD(model.parameters(), lr=0.5)
    rng = np.random.default_rng(0)
    for _ in range(5):
        xb = rng.standard_normal((16, 20)).astype(np.float32)
        yb = rng.integers(0, 4, 16)
        loss = F.cross_entropy(model(tg.from_numpy(xb)), tg.from_numpy(yb))
        opt.zero_grad()
        loss.backward()
        opt.step()
        h = xb @ W1.T + b1
        a = np.maximum(h, 0)
        z = a @ W2.T + b2
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        np.testing.assert_allclose(loss.item(), -np.log(p[np.arange(16), yb]).mean(), rtol=1e-5)
        g = p.copy()
        g[np.arange(16), yb] -= 1
        g /= 16
        ga = (g @ W2) * (h > 0)
        W2, b2 = W2 - 0.5 * (g.T @ a), b2 - 0.5 * g.sum(0)
        W1, b1 = W1 - 0.5 * (ga.T @ xb), b1 - 0.5 * ga.sum(0)
    for p, ref in zip(model.parameters(), (W1, b1, W2, b2)):
        assert p.dtype == tg.float32
        np.testing.assert_allclose(p._data, ref, rtol=1e-4, atol=1e-6)


def test_no_warnings_on_the_hot_path():
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.cross_entropy(model(tg.randn(3, 4)), tg.tensor([0, 1, 1])).backward()
