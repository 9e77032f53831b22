"""tinygrad_ko's ResNets against torchvision's (skipped where torch/torchvision are not installed).

torchvision's models are built with random weights (and BatchNorm statistics calibrated on a
batch, so the eval-mode logits have a realistic scale); their ``state_dict()`` is saved with
``safetensors.torch.save_file`` and goes into ours with ``tinygrad_ko.load`` and
``load_state_dict(strict=True)``, and ours goes back into torchvision's through ``tinygrad_ko.save``
and ``safetensors.torch.load_file``.
Both must then compute the same thing: eval-mode logits, and one train-mode step (loss, the
gradient of every parameter, the updated BatchNorm running statistics and counters, the
parameters after an SGD step).

A note on precision: the reference weights are random, but shaped like a trained ResNet's in one
respect that matters in float32. With every BatchNorm weight near 1, the residual stream of an
untrained ResNet-50 grows block after block and the computation is ill-conditioned: a relative
change of 1e-7 in the input moves its float64 train-step gradients by ~1%, and torch's own
float32 gradients differ from its float64 ones by 10-40% at the worst element (its eval logits by
1.5e-4), ours likewise. Trained ResNets keep each residual branch's last BN weight (``bn3``)
small; with bn3 weights in [0.1, 0.4] both libraries' float32 results agree with float64 to
~4e-5 of each gradient's scale (logits to ~4e-6), and with each other as closely.
"""

from __future__ import annotations

import copy
import functools

import numpy as np
import pytest

import tinygrad_ko as tg
from tinygrad_ko import models, nn

torch = pytest.importorskip("torch", reason="the torchvision comparisons need torch (the interop extra)")
torchvision = pytest.importorskip("torchvision", reason="the torchvision comparisons need torchvision")
safetensors_torch = pytest.importorskip("safetensors.torch")


def _to_ours(state_dict) -> dict[str, tg.Tensor]:
    return {k: tg.from_numpy(v.detach().numpy().copy()) for k, v in state_dict.items()}


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """torch's two OpenMP threads crawl when other processes share this box's two cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@functools.cache
def _reference_state(name: str) -> dict[str, np.ndarray]:
    """The state of torchvision's model with random weights, random BN affine parameters (see the
    module docstring) and running statistics taken from one batch (num_batches_tracked = 1)."""
    torch.manual_seed(0)
    ref = getattr(torchvision.models, name)()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for module_name, m in ref.named_modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                low, high = (0.1, 0.4) if module_name.endswith("bn3") else (0.75, 1.25)
                m.weight.copy_(torch.rand(m.weight.shape, generator=gen) * (high - low) + low)
                m.bias.copy_(torch.rand(m.bias.shape, generator=gen) * 0.2 - 0.1)
                m.momentum = None  # a cumulative average: after one batch, that batch's statistics
        ref.train()(torch.randn(8, 3, 64, 64, generator=gen))
    return {k: v.numpy().copy() for k, v in ref.state_dict().items()}


def _reference(name: str):
    """A fresh torchvision model holding :func:`_reference_state` (built on the meta device:
    no init to pay for, the arrays are assigned)."""
    with torch.device("meta"):
        ref = getattr(torchvision.models, name)()
    ref.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in _reference_state(name).items()}, assign=True)
    return ref


@functools.cache
def _blank(name: str):
    return getattr(models, name)()


def _ours(name: str, tmp_path):
    """Our model holding the same weights: torchvision's state_dict saved by safetensors.torch,
    read by tinygrad_ko.load, loaded with strict=True."""
    path = tmp_path / f"{name}-torchvision.safetensors"
    safetensors_torch.save_file(_reference(name).state_dict(), str(path))
    ours = copy.deepcopy(_blank(name))
    result = ours.load_state_dict(tg.load(path, map_location="cpu", weights_only=True), strict=True)
    assert result.missing_keys == [] and result.unexpected_keys == []
    return ours


def _batch(n: int, size: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 3, size, size)).astype(np.float32), rng.integers(0, 1000, n)


def _assert_close_to_scale(ours: np.ndarray, ref: np.ndarray, rtol: float, what: str) -> None:
    """|ours - ref| <= rtol * max|ref| (+ a floor for all-zero references)."""
    scale = float(np.abs(ref).max()) if ref.size else 0.0
    err = float(np.abs(ours - ref).max()) if ref.size else 0.0
    assert err <= rtol * scale + 1e-7, f"{what}: max error {err:.3g} against scale {scale:.3g}"


# ---- layout -------------------------------------------------------------------------------------
def _layout(state_dict) -> list[tuple[str, tuple[int, ...], str]]:
    return [(k, tuple(v.shape), str(v.dtype).rsplit(".", 1)[-1]) for k, v in state_dict.items()]


@pytest.mark.parametrize("name", ["resnet18", "resnet34", "resnet50"])
def test_state_dict_keys_shapes_dtypes_and_order_are_torchvisions(name):
    with torch.device("meta"):  # no memory, no init: only the layout
        ref = getattr(torchvision.models, name)()
    ours = _blank(name)
    assert _layout(ours.state_dict()) == _layout(ref.state_dict())
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in ref.named_modules()]
    assert [type(m).__name__ for m in ours.modules()] == [type(m).__name__ for m in ref.modules()]


@pytest.mark.parametrize("name", ["resnet101", "resnet152"])
def test_deeper_resnets_have_torchvisions_keys(name):
    with torch.device("meta"):
        ref = getattr(torchvision.models, name)()
    assert list(getattr(models, name)().state_dict()) == list(ref.state_dict())


# ---- torchvision -> tinygrad_ko -> torchvision ---------------------------------------------------
@pytest.mark.parametrize("name", ["resnet18", "resnet50"])
def test_torchvision_weights_give_the_same_eval_logits_both_ways(name, tmp_path):
    ref = _reference(name).eval()
    ours = _ours(name, tmp_path).eval()
    x, _ = _batch(2, 64)
    with torch.no_grad():
        want = ref(torch.from_numpy(x)).numpy()
    with tg.no_grad():
        got = ours(tg.from_numpy(x))
    assert got.dtype == tg.float32 and got.shape == (2, 1000)
    assert 1 < np.abs(want).max() < 100  # calibrated statistics: logits of a realistic scale
    np.testing.assert_allclose(got.numpy(), want, rtol=0, atol=1e-4)
    assert ours.state_dict()["bn1.num_batches_tracked"].item() == 1

    # and back: our weights in a fresh torchvision model give our logits
    back = getattr(torchvision.models, name)()
    tg.save(ours.state_dict(), tmp_path / "ours.safetensors")
    back.load_state_dict(safetensors_torch.load_file(str(tmp_path / "ours.safetensors")), strict=True)
    back.eval()
    with torch.no_grad():
        np.testing.assert_allclose(back(torch.from_numpy(x)).numpy(), got.numpy(), rtol=0, atol=1e-4)
    for (k, a), b in zip(back.state_dict().items(), ours.state_dict().values()):
        assert a.dtype == getattr(torch, str(b.dtype).rsplit(".", 1)[-1]), k
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)


def _train_step(name: str, rtol: float, size: int, tmp_path) -> None:
    """One train-mode forward/backward/SGD step in both libraries from the same weights."""
    ref = _reference(name)
    ours = _ours(name, tmp_path)
    ref.train()
    ours.train()
    x, y = _batch(2, size)
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    opt = tg.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)

    ref_loss = torch.nn.functional.cross_entropy(ref(torch.from_numpy(x)), torch.from_numpy(y))
    ref_loss.backward()
    loss = nn.functional.cross_entropy(ours(tg.from_numpy(x)), tg.from_numpy(y))
    loss.backward()
    assert loss.dtype == tg.float32
    np.testing.assert_allclose(loss.item(), ref_loss.item(), rtol=1e-5)

    ref_params = dict(ref.named_parameters())
    for k, p in ours.named_parameters():
        assert p.grad is not None and p.grad.dtype == p.dtype, k
        _assert_close_to_scale(p.grad.numpy(), ref_params[k].grad.numpy(), rtol, f"{k}.grad")
    ref_opt.step()
    opt.step()
    ref_state = ref.state_dict()
    for k, v in ours.state_dict().items():
        want = ref_state[k].numpy()
        if k.endswith("num_batches_tracked"):
            assert v.item() == want == 2, k
        elif k.endswith(("running_mean", "running_var")):  # updated from the batch's statistics
            _assert_close_to_scale(v.numpy(), want, 1e-4, k)
        else:  # the parameters after one SGD step with momentum and weight decay
            _assert_close_to_scale(v.numpy(), want, 1e-4, k)


def test_resnet18_train_step_matches_torchvision(tmp_path):
    _train_step("resnet18", rtol=2e-4, size=64, tmp_path=tmp_path)


def test_resnet50_train_step_matches_torchvision(tmp_path):
    _train_step("resnet50", rtol=2e-4, size=64, tmp_path=tmp_path)


# ---- the seed notes' surgery, side by side -------------------------------------------------------
def test_seed_notes_surgery_matches_torch():
    torch.manual_seed(0)
    n = 3
    ref_r50 = _reference("resnet50")
    ref_body = torch.nn.Sequential(*list(ref_r50.children())[:-2])
    ref_head = torch.nn.Sequential(
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(2048, n), torch.nn.Softmax(dim=1)
    )
    ref_model = torch.nn.Sequential(ref_body, ref_head)

    body = nn.Sequential(*list(models.resnet50().children())[:-2])
    head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, n), nn.Softmax(dim=1))
    model = nn.Sequential(body, head)
    assert list(model.state_dict()) == list(ref_model.state_dict())
    model.load_state_dict(_to_ours(ref_model.state_dict()), strict=True)

    x, _ = _batch(2, 64, seed=2)
    ref_model.eval()
    model.eval()
    with torch.no_grad():
        want = ref_model(torch.from_numpy(x)).numpy()
    with tg.no_grad():
        got = model(tg.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)

    # the body frozen, three SGD steps on the head in train mode
    ref_body.requires_grad_(False)
    body.requires_grad_(False)
    ref_opt = torch.optim.SGD(ref_head.parameters(), lr=1e-3)
    opt = tg.optim.SGD(head.parameters(), lr=1e-3)
    ref_model.train()
    model.train()
    y = np.array([0, 2])
    for step in range(3):
        ref_opt.zero_grad()
        ref_loss = torch.nn.functional.nll_loss(ref_model(torch.from_numpy(x)).log(), torch.from_numpy(y))
        ref_loss.backward()
        ref_opt.step()
        opt.zero_grad()
        loss = nn.functional.nll_loss(model(tg.from_numpy(x)).log(), tg.from_numpy(y))
        loss.backward()
        opt.step()
        np.testing.assert_allclose(loss.item(), ref_loss.item(), rtol=1e-4, err_msg=f"step {step}")
    assert all(p.grad is None for p in body.parameters())
    assert all(p.grad is None for p in ref_body.parameters())
    ref_state = ref_model.state_dict()
    for k, v in model.state_dict().items():  # the head's weights and the body's BN statistics
        _assert_close_to_scale(v.numpy(), ref_state[k].numpy(), 1e-4, k)
