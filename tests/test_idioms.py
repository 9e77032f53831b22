"""PyTorch idioms that tutorials and books write, run as they write them (issue 15).

Devices (``torch.device``, ``.to(device)``, ``torch.cuda.is_available()``), ``device=`` on the
factories, ``torch.set_printoptions``, ``out=``, ``torch.inference_mode()``, ``nn.utils``'s gradient
clipping, ``torch.load(map_location=...)``, NumPy's ``axis=``/``keepdims=`` spellings, PyTorch's
behaviour for sign/gather/squeeze/cat, and no NumPy RuntimeWarnings from log(0) or 0/0.
Expected values and messages are PyTorch's (checked against torch 2.x when these were written).
"""

from __future__ import annotations

import inspect
import math
import warnings

import numpy as np
import pytest

import tinygrad_ko as torch
from tinygrad_ko import nn

# ---- devices -----------------------------------------------------------------------------------


def test_device_objects_look_like_pytorchs() -> None:
    cpu = torch.device("cpu")
    assert repr(cpu) == "device(type='cpu')" and str(cpu) == "cpu"
    assert cpu.type == "cpu" and cpu.index is None
    assert repr(torch.device("cpu", 0)) == "device(type='cpu', index=0)" and str(torch.device("cpu:0")) == "cpu:0"
    assert torch.device("cpu:0") == torch.device("cpu", 0) != cpu
    assert torch.device(cpu) == cpu and hash(torch.device("cpu")) == hash(cpu)
    assert {cpu: 1}[torch.device("cpu")] == 1
    # as in PyTorch, a device equals devices only: compare .type (or str(device)) with a string
    assert (cpu == "cpu") is False and cpu.type == "cpu"
    # building a CUDA device object is allowed without a GPU (using it is not)
    gpu = torch.device("cuda", 1)
    assert repr(gpu) == "device(type='cuda', index=1)" and str(gpu) == "cuda:1"
    assert torch.device(0) == torch.device("cuda:0")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("gpu", "Expected one of cpu, cuda, ipu, xpu, mkldnn, opengl, opencl, ideep, hip, ve, fpga, maia, xla, "
         "lazy, vulkan, mps, meta, hpu, mtia, privateuseone device type at start of device string: gpu"),
        ("cuda:x", "Invalid device string: 'cuda:x'"),
        ("cuda:01", "Invalid device string: 'cuda:01'"),
    ],
)  # fmt: skip
def test_malformed_device_strings_raise_pytorchs_error(spec: str, message: str) -> None:
    with pytest.raises(RuntimeError) as e:
        torch.device(spec)
    assert str(e.value) == message


def test_the_portable_device_line_runs_on_the_cpu() -> None:
    device = "cuda" if torch.cuda.is_available() else "cpu"
    assert device == "cpu" and torch.cuda.device_count() == 0
    dev = torch.device(device)
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    assert model.to(dev) is model and model.cpu() is model
    x = torch.randn(4, 3, device=dev)
    y = model(x.to(dev))
    assert y.shape == (4, 2)
    assert x.device == torch.device("cpu") and y.device.type == "cpu" and str(y.device) == "cpu"
    assert repr(x.device) == "device(type='cpu')"
    assert x.is_cpu and not x.is_cuda and x.get_device() == -1
    assert x.cpu() is x and x.to(dev).numpy() is x.numpy()


def test_tensor_to_takes_every_pytorch_form() -> None:
    x = torch.tensor([1.5, -2.0])
    assert x.to("cpu") is x and x.to(torch.device("cpu")) is x
    assert x.to("cpu", torch.float64).dtype == torch.float64
    assert x.to(torch.device("cpu"), torch.float64).dtype == torch.float64
    assert x.to(dtype=torch.float64, device="cpu").dtype == torch.float64
    assert x.to(torch.ones(1, dtype=torch.int32)).dtype == torch.int32
    assert x.to(torch.float64, non_blocking=True).tolist() == [1.5, -2.0]
    assert x.to("cpu", non_blocking=True) is x
    assert x.to(device=None, dtype=None) is x
    copied = x.to("cpu", copy=True)  # a copy even when nothing changes
    assert copied is not x and copied.tolist() == x.tolist()
    copied[0] = 7.0
    assert x[0].item() == 1.5
    w = torch.ones(2, requires_grad=True)
    w.to(torch.float64).sum().backward()
    assert w.grad.dtype == torch.float32 and w.grad.tolist() == [1.0, 1.0]
    with pytest.raises(TypeError, match="unexpected keyword argument 'devcie'"):
        x.to(devcie="cpu")


def test_module_to_and_dtype_conversions_return_the_module() -> None:
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    dev = torch.device("cpu")
    assert model.to(dev) is model and model.to("cpu", torch.float64) is model
    assert all(p.dtype == torch.float64 for p in model.parameters())
    assert model.float() is model and model[0].weight.dtype == torch.float32
    assert model.double() is model and model[2].bias.dtype == torch.float64
    assert model.to(device=dev, dtype=torch.float32, non_blocking=True) is model
    assert model[0].weight.dtype == torch.float32
    with pytest.raises(TypeError, match="only accepts floating point"):
        model.to(torch.int32)


_CUDA_USES = {
    "x.cuda()": lambda: torch.ones(2).cuda(),
    "model.cuda()": lambda: nn.Linear(2, 2).cuda(),
    "x.to('cuda')": lambda: torch.ones(2).to("cuda"),
    "x.to(device('cuda'))": lambda: torch.ones(2).to(torch.device("cuda")),
    "x.to(0)": lambda: torch.ones(2).to(0),
    "x.to('mps')": lambda: torch.ones(2).to("mps"),
    "model.to('cuda')": lambda: nn.Linear(2, 2).to("cuda"),
    "zeros(device='cuda')": lambda: torch.zeros(2, device="cuda"),
    "tensor(device='cuda:0')": lambda: torch.tensor([1.0], device="cuda:0"),
    "randn(device=cuda)": lambda: torch.randn(2, device=torch.device("cuda")),
    "set_default_device('cuda')": lambda: torch.set_default_device("cuda"),
    "load(map_location='cuda')": lambda: torch.load("unused.npz", map_location="cuda"),
}


@pytest.mark.parametrize("use", list(_CUDA_USES), ids=list(_CUDA_USES))
def test_using_a_gpu_raises_one_clear_error(use: str) -> None:
    with pytest.raises(RuntimeError) as e:
        _CUDA_USES[use]()
    message = str(e.value)
    assert message.startswith("tinygrad_ko runs on the CPU only")
    assert "device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')" in message
    assert torch.get_default_device() == torch.device("cpu")


def test_cuda_and_backends_answer_like_a_machine_without_a_gpu() -> None:
    assert torch.cuda.is_available() is False and torch.cuda.device_count() == 0
    torch.cuda.manual_seed_all(0)  # seeding helpers call these; they do nothing without a GPU
    torch.cuda.manual_seed(0)
    torch.cuda.empty_cache()
    assert torch.backends.mps.is_available() is False
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    with pytest.raises(AttributeError, match="CPU only"):
        torch.cuda.current_device()


_FACTORIES = {
    "zeros": lambda d: torch.zeros(2, 3, device=d),
    "ones": lambda d: torch.ones((2, 3), device=d),
    "empty": lambda d: torch.empty(2, 3, device=d),
    "full": lambda d: torch.full((2, 3), 7.0, device=d),
    "zeros_like": lambda d: torch.zeros_like(torch.ones(2, 3), device=d),
    "ones_like": lambda d: torch.ones_like(torch.ones(2, 3), device=d),
    "empty_like": lambda d: torch.empty_like(torch.ones(2, 3), device=d),
    "full_like": lambda d: torch.full_like(torch.ones(2, 3), 2.0, device=d),
    "rand": lambda d: torch.rand(2, 3, device=d),
    "randn": lambda d: torch.randn(2, 3, device=d),
    "rand_like": lambda d: torch.rand_like(torch.ones(2, 3), device=d),
    "randn_like": lambda d: torch.randn_like(torch.ones(2, 3), device=d),
    "randint": lambda d: torch.randint(0, 10, (2, 3), device=d),
    "randint_high": lambda d: torch.randint(10, (2, 3), device=d),
    "randperm": lambda d: torch.randperm(6, device=d).reshape(2, 3),
    "arange": lambda d: torch.arange(6, device=d).reshape(2, 3),
    "linspace": lambda d: torch.linspace(0, 1, 6, device=d).reshape(2, 3),
    "eye": lambda d: torch.eye(2, 3, device=d),
    "tensor": lambda d: torch.tensor([[1, 2, 3], [4, 5, 6]], device=d),
    "as_tensor": lambda d: torch.as_tensor(np.ones((2, 3)), device=d),
    "new_zeros": lambda d: torch.ones(1).new_zeros(2, 3, device=d),
    "new_ones": lambda d: torch.ones(1).new_ones((2, 3), device=d),
    "new_full": lambda d: torch.ones(1).new_full((2, 3), 5.0, device=d),
    "new_empty": lambda d: torch.ones(1).new_empty(2, 3, device=d),
    "new_tensor": lambda d: torch.ones(1).new_tensor([[1, 2, 3], [4, 5, 6]], device=d),
}


@pytest.mark.parametrize("name", list(_FACTORIES))
@pytest.mark.parametrize("device", ["cpu", "cpu:0", torch.device("cpu"), None], ids=["str", "str0", "device", "none"])
def test_every_factory_takes_device(name: str, device: object) -> None:
    t = _FACTORIES[name](device)
    assert t.shape == (2, 3) and t.device == torch.device("cpu")


def test_factory_values_and_requires_grad_with_device() -> None:
    assert torch.full((2,), 7.0, device="cpu").tolist() == [7.0, 7.0]
    assert torch.eye(2, device="cpu").tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert torch.linspace(0, 1, 3, device="cpu").tolist() == [0.0, 0.5, 1.0]
    assert torch.arange(3, device="cpu").dtype == torch.int64
    assert sorted(torch.randperm(5, device="cpu").tolist()) == [0, 1, 2, 3, 4]
    w = torch.zeros(3, device="cpu", requires_grad=True)
    assert w.requires_grad and w.is_leaf
    n = torch.ones(2, dtype=torch.float64).new_zeros(3, requires_grad=True)
    assert n.dtype == torch.float64 and n.requires_grad
    assert torch.ones(1).new_tensor([1, 2], dtype=torch.int64).dtype == torch.int64


def test_set_default_device() -> None:
    torch.set_default_device("cpu")
    try:
        assert torch.get_default_device() == torch.device("cpu")
        assert torch.zeros(2).device == torch.device("cpu")
        torch.set_default_device(torch.device("cpu", 0))
        assert repr(torch.get_default_device()) == "device(type='cpu', index=0)"
        with torch.device("cpu"):
            assert torch.get_default_device() == torch.device("cpu")
            assert torch.ones(2).device.type == "cpu"
        assert torch.get_default_device() == torch.device("cpu", 0)
    finally:
        torch.set_default_device(None)
    assert repr(torch.get_default_device()) == "device(type='cpu')"


# ---- printing ----------------------------------------------------------------------------------


@pytest.fixture
def default_printoptions():
    torch.set_printoptions(profile="default")
    yield
    torch.set_printoptions(profile="default")


# (options, the tensor, what PyTorch prints: written out from torch 2.x)
_PRINTED = [
    (dict(precision=2), lambda: torch.tensor([1.12345, 2.5]), "tensor([1.12, 2.50])"),
    (dict(threshold=5), lambda: torch.arange(10), "tensor([0, 1, 2,  ..., 7, 8, 9])"),
    (
        dict(edgeitems=1, threshold=5),
        lambda: torch.arange(12.0).reshape(3, 4),
        "tensor([[ 0.,  ...,  3.],\n        ...,\n        [ 8.,  ..., 11.]])",
    ),
    (
        dict(linewidth=30),
        lambda: torch.arange(12.0) / 4,
        "tensor([0.0000, 0.2500,\n        0.5000, 0.7500,\n        1.0000, 1.2500,\n"
        "        1.5000, 1.7500,\n        2.0000, 2.2500,\n        2.5000, 2.7500])",
    ),
    (
        dict(profile="short"),
        lambda: torch.tensor([[1.23456, -2.5], [3.0, 4.125]]),
        "tensor([[ 1.23, -2.50],\n        [ 3.00,  4.12]])",
    ),
    (dict(sci_mode=True), lambda: torch.tensor([1.5, 250.0]), "tensor([1.5000e+00, 2.5000e+02])"),
    (dict(sci_mode=False), lambda: torch.tensor([1e-5, 1.0]), "tensor([0.0000, 1.0000])"),
    (dict(), lambda: torch.tensor([1e-5, 1.0]), "tensor([1.0000e-05, 1.0000e+00])"),
    (dict(precision=3, sci_mode=True), lambda: torch.tensor([1.0, 2.0]), "tensor([1.000e+00, 2.000e+00])"),
    (
        dict(precision=1),
        lambda: torch.tensor([[0.25, 0.35]], requires_grad=True),
        "tensor([[0.2, 0.3]], requires_grad=True)",
    ),
    (
        dict(edgeitems=2, threshold=10, linewidth=60),
        lambda: torch.arange(60.0).reshape(3, 4, 5)[:, :2] * 1.5,
        "tensor([[[ 0.0000,  1.5000,  ...,  4.5000,  6.0000],\n"
        "         [ 7.5000,  9.0000,  ..., 12.0000, 13.5000]],\n\n"
        "        [[30.0000, 31.5000,  ..., 34.5000, 36.0000],\n"
        "         [37.5000, 39.0000,  ..., 42.0000, 43.5000]],\n\n"
        "        [[60.0000, 61.5000,  ..., 64.5000, 66.0000],\n"
        "         [67.5000, 69.0000,  ..., 72.0000, 73.5000]]])",
    ),
    (dict(edgeitems=0, threshold=3), lambda: torch.arange(8).reshape(2, 4), "tensor([...], size=(2, 4))"),
]


@pytest.mark.parametrize(("options", "make", "expected"), _PRINTED)
def test_set_printoptions_changes_the_printed_tensor(default_printoptions, options, make, expected) -> None:
    torch.set_printoptions(**options)
    assert str(make()) == expected


def test_printoptions_profiles_and_reset(default_printoptions) -> None:
    torch.set_printoptions(edgeitems=2, linewidth=75, precision=2)  # the line atop DLwPT's notebooks
    assert torch.get_printoptions() == {
        "precision": 2,
        "threshold": 1000,
        "edgeitems": 2,
        "linewidth": 75,
        "sci_mode": None,
    }
    torch.set_printoptions(profile="full")
    assert "..." not in str(torch.arange(1001))
    torch.set_printoptions(profile="default")
    assert str(torch.tensor([1.12345])) == "tensor([1.1235])"
    assert "..." in str(torch.arange(1001))
    with torch.printoptions(precision=1):
        assert str(torch.tensor([1.25, 2.0])) == "tensor([1.2, 2.0])"
    assert str(torch.tensor([1.25, 2.0])) == "tensor([1.2500, 2.0000])"
    with pytest.raises(ValueError, match="profile"):
        torch.set_printoptions(profile="long")


def test_printed_strings_match_torch(default_printoptions) -> None:
    real = pytest.importorskip("torch")
    try:
        for options, make, _ in _PRINTED:
            torch.set_printoptions(profile="default")
            torch.set_printoptions(**options)
            real.set_printoptions(profile="default")
            real.set_printoptions(**options)
            t = make()
            mine = str(t)
            theirs = str(real.tensor(t.detach().numpy(), requires_grad=t.requires_grad))
            assert mine == theirs
    finally:
        real.set_printoptions(profile="default")


# ---- out= --------------------------------------------------------------------------------------


def test_out_as_in_the_basics_tutorial() -> None:
    tensor = torch.ones(4, 4)
    tensor[:, 1] = 0
    y1 = tensor @ tensor.T
    y3 = torch.rand_like(y1)
    assert torch.matmul(tensor, tensor.T, out=y3) is y3
    assert torch.equal(y3, y1)
    z3 = torch.rand_like(tensor)
    assert torch.mul(tensor, tensor, out=z3) is z3
    assert torch.equal(z3, tensor * tensor)


def test_out_is_resized_with_pytorchs_warning_unless_empty() -> None:
    a, b = torch.ones(2, 3), torch.ones(3, 2)
    y = torch.empty(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        torch.matmul(a, b, out=y)  # empty: resized silently
    assert y.shape == (2, 2) and y.tolist() == [[3.0, 3.0], [3.0, 3.0]]
    y = torch.zeros(5)
    with pytest.warns(UserWarning, match=r"had shape \[5\], which does not match the required output shape \[2, 2\]"):
        torch.matmul(a, b, out=y)
    assert y.shape == (2, 2)


def test_out_dtypes_views_and_tuples() -> None:
    a = torch.ones(2, 3)
    y = torch.zeros(2, 3, dtype=torch.float64)
    torch.add(a, a, alpha=2, out=y)
    assert y.dtype == torch.float64 and y.tolist() == [[3.0] * 3] * 2
    y = torch.zeros(2, 3)
    torch.add(torch.ones(2, 3, dtype=torch.int64), 1, out=y)  # an int result into a float out
    assert y.tolist() == [[2.0] * 3] * 2
    with pytest.raises(RuntimeError, match="^result type Float can't be cast to the desired output type Long$"):
        torch.add(a, a, out=torch.zeros(2, 3, dtype=torch.int64))
    with pytest.raises(RuntimeError, match="^Expected out tensor to have dtype float, but got double instead$"):
        torch.matmul(a, a.T, out=torch.zeros(2, 2, dtype=torch.float64))
    big = torch.zeros(4, 3)
    torch.sub(a, 3.0, out=big[:2])  # out a view: the write lands in its base
    assert big.tolist() == [[-2.0] * 3] * 2 + [[0.0] * 3] * 2
    y = torch.ones(2, 3)
    torch.mul(y, y + 1, out=y)  # out aliasing an input
    assert y.tolist() == [[2.0] * 3] * 2
    values, indices = torch.zeros(2), torch.zeros(2, dtype=torch.int64)
    result = torch.max(torch.tensor([[1.0, 5.0], [7.0, 2.0]]), 1, out=(values, indices))
    assert result.values is values and values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    cat_out = torch.empty(0)
    assert torch.cat([a, a], dim=0, out=cat_out) is cat_out and cat_out.shape == (4, 3)
    v = torch.zeros(3)
    torch.sum(a, 0, out=v)
    torch.exp(torch.zeros(3), out=v)
    assert v.tolist() == [1.0, 1.0, 1.0]


def test_out_refuses_what_would_need_a_gradient() -> None:
    x = torch.ones(2, 3, requires_grad=True)
    y = torch.zeros(2, 3)
    for op in ("add", "mul"):
        with pytest.raises(RuntimeError) as e:
            getattr(torch, op)(x, x, out=y)
        assert str(e.value) == (
            f"{op}(): functions with out=... arguments don't support automatic differentiation, "
            "but one of the arguments requires grad."
        )
    with pytest.raises(RuntimeError, match=r"^matmul\(\): functions with out="):
        torch.matmul(x, x.T, out=torch.zeros(2, 2))
    with pytest.raises(RuntimeError, match=r"^add\(\): functions with out="):  # out itself requires grad
        torch.add(torch.ones(2), torch.ones(2), out=torch.zeros(2, requires_grad=True))
    with torch.no_grad():
        torch.add(x, x, out=y)
    assert y.tolist() == [[2.0] * 3] * 2 and not y.requires_grad


# ---- inference_mode ----------------------------------------------------------------------------


def test_inference_mode_as_context_manager_and_decorator() -> None:
    model = nn.Linear(3, 1)
    x = torch.ones(2, 3)
    with torch.inference_mode():
        y = model(x)
        assert torch.is_inference_mode_enabled() and not torch.is_grad_enabled()
        with torch.inference_mode(False):  # switches recording back on, as in PyTorch
            assert torch.is_grad_enabled() and not torch.is_inference_mode_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert torch.is_grad_enabled() and not torch.is_inference_mode_enabled()

    @torch.inference_mode()
    def predict(inputs):
        return model(inputs)

    @torch.inference_mode
    def predict_bare(inputs):
        return model(inputs)

    @torch.inference_mode(False)
    def train_step(inputs):
        return model(inputs)

    assert not predict(x).requires_grad and not predict_bare(x).requires_grad
    assert predict_bare.__name__ == "predict_bare"
    with torch.no_grad():
        assert train_step(x).requires_grad
    assert torch.is_grad_enabled()


# ---- nn.utils ----------------------------------------------------------------------------------


def _model_with_grads(value: float) -> nn.Module:
    model = nn.Linear(3, 2)
    for p in model.parameters():
        p.grad = torch.full(tuple(p.shape), value)
    return model


def test_clip_grad_norm_in_a_training_step() -> None:
    model = _model_with_grads(3.0)  # 8 gradient elements of 3: total 2-norm sqrt(72)
    total = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    assert total.shape == () and total.dtype == torch.float32 and not total.requires_grad
    assert total.item() == pytest.approx(math.sqrt(72))
    scale = 1.0 / (math.sqrt(72) + 1e-6)
    np.testing.assert_allclose(model.bias.grad.numpy(), [3 * scale] * 2, rtol=1e-6)
    clipped = np.concatenate([p.grad.numpy().ravel() for p in model.parameters()])
    assert np.linalg.norm(clipped) == pytest.approx(1.0, rel=1e-5)
    # under the limit: unchanged
    model = _model_with_grads(3.0)
    assert torch.nn.utils.clip_grad_norm_(model.parameters(), 100.0).item() == pytest.approx(math.sqrt(72))
    assert model.weight.grad.tolist() == [[3.0] * 3] * 2


def test_clip_grad_norm_orders_and_non_finite_norms() -> None:
    from tinygrad_ko.nn.utils import clip_grad_norm_

    model = _model_with_grads(3.0)
    assert clip_grad_norm_(model.parameters(), 100.0, norm_type="inf").item() == 3.0
    assert clip_grad_norm_(model.parameters(), 100.0, norm_type=math.inf).item() == 3.0
    assert clip_grad_norm_(model.parameters(), 1.0, norm_type=1).item() == 24.0
    np.testing.assert_allclose(model.bias.grad.numpy(), [3.0 / (24.0 + 1e-6)] * 2, rtol=1e-6)
    assert clip_grad_norm_([], 1.0).item() == 0.0
    p = nn.Parameter(torch.ones(2))
    assert clip_grad_norm_(p, 1.0).item() == 0.0  # one tensor; no grad yet
    p.grad = torch.tensor([float("nan"), 1.0])
    with pytest.raises(
        RuntimeError, match=r"^The total norm of order 2.0 for gradients from `parameters` is non-finite"
    ):
        clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    assert math.isnan(clip_grad_norm_(p, 1.0).item()) and all(math.isnan(g) for g in p.grad.tolist())


def test_clip_grad_value_and_parameter_vectors() -> None:
    p = nn.Parameter(torch.zeros(2))
    p.grad = torch.tensor([3.0, -4.0])
    assert torch.nn.utils.clip_grad_value_(p, 3.5) is None
    assert p.grad.tolist() == [3.0, -3.5]
    model = nn.Linear(3, 2)
    vec = torch.nn.utils.parameters_to_vector(model.parameters())
    assert vec.shape == (8,) and vec.grad_fn is not None
    assert vec.tolist() == model.weight.reshape(-1).tolist() + model.bias.tolist()
    vec.sum().backward()
    assert model.weight.grad.tolist() == [[1.0] * 3] * 2
    torch.nn.utils.vector_to_parameters(torch.arange(8.0), model.parameters())
    assert model.weight.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]] and model.bias.tolist() == [6.0, 7.0]
    assert isinstance(model.weight, nn.Parameter) and model.weight.requires_grad
    with pytest.raises(TypeError, match="^expected torch.Tensor, but got: list$"):
        torch.nn.utils.vector_to_parameters([1.0], model.parameters())


# ---- torch.load ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"map_location": "cpu"},
        {"map_location": torch.device("cpu")},
        {"map_location": None, "weights_only": True},
        {"map_location": {"cuda:0": "cpu"}},
        {"map_location": lambda storage, loc: storage},
        {"weights_only": False},
    ],
)
def test_load_accepts_map_location_and_weights_only(tmp_path, kwargs) -> None:
    model = nn.Linear(2, 1)
    torch.save(model.state_dict(), tmp_path / "model.npz")
    fresh = nn.Linear(2, 1)
    fresh.load_state_dict(torch.load(tmp_path / "model.npz", **kwargs))
    assert fresh.weight.tolist() == model.weight.tolist() and fresh.bias.tolist() == model.bias.tolist()


# ---- NumPy's spellings ---------------------------------------------------------------------------


def _x() -> torch.Tensor:
    return torch.arange(6.0).reshape(2, 3)


_SPELLINGS = {
    "sum": (lambda x: x.sum(axis=0, keepdims=True), lambda x: x.sum(dim=0, keepdim=True)),
    "mean": (lambda x: x.mean(axis=1), lambda x: x.mean(dim=1)),
    "std": (lambda x: x.std(axis=0, keepdims=True), lambda x: x.std(0, keepdim=True)),
    "var": (lambda x: x.var(axis=1, unbiased=False), lambda x: x.var(1, unbiased=False)),
    "max": (lambda x: x.max(axis=1).values, lambda x: x.max(1).values),
    "min": (lambda x: x.min(axis=0, keepdims=True).indices, lambda x: x.min(0, True).indices),
    "argmax": (lambda x: x.argmax(axis=1, keepdims=True), lambda x: x.argmax(1, keepdim=True)),
    "argmin": (lambda x: x.argmin(axis=0), lambda x: x.argmin(0)),
    "amax": (lambda x: x.amax(axis=(0, 1)), lambda x: x.amax((0, 1))),
    "amin": (lambda x: x.amin(axis=1, keepdims=True), lambda x: x.amin(1, keepdim=True)),
    "softmax": (lambda x: x.softmax(axis=1), lambda x: x.softmax(1)),
    "log_softmax": (lambda x: x.log_softmax(axis=0), lambda x: x.log_softmax(0)),
    "logsumexp": (lambda x: x.logsumexp(axis=1, keepdims=True), lambda x: x.logsumexp(1, True)),
    "prod": (lambda x: x.prod(axis=1), lambda x: x.prod(1)),
    "any": (lambda x: x.any(axis=0), lambda x: x.any(0)),
    "all": (lambda x: x.all(axis=1, keepdims=True), lambda x: x.all(1, True)),
    "squeeze": (lambda x: x.reshape(1, 2, 3).squeeze(axis=0), lambda x: x.reshape(1, 2, 3).squeeze(0)),
    "unsqueeze": (lambda x: x.unsqueeze(axis=1), lambda x: x.unsqueeze(1)),
    "size": (lambda x: torch.tensor(x.size(axis=1)), lambda x: torch.tensor(x.size(1))),
    "gather": (
        lambda x: x.gather(axis=1, index=torch.tensor([[0], [2]])),
        lambda x: x.gather(1, torch.tensor([[0], [2]])),
    ),
    "torch.sum": (lambda x: torch.sum(x, axis=1, keepdims=True), lambda x: torch.sum(x, 1, keepdim=True)),
    "torch.mean": (lambda x: torch.mean(x, axis=0), lambda x: torch.mean(x, 0)),
    "torch.cat": (lambda x: torch.cat([x, x], axis=1), lambda x: torch.cat([x, x], 1)),
    "torch.stack": (lambda x: torch.stack([x, x], axis=2), lambda x: torch.stack([x, x], 2)),
    "reshape(shape=)": (lambda x: x.reshape(shape=(3, 2)), lambda x: x.reshape(3, 2)),
    "view(size=)": (lambda x: x.view(size=(3, 2)), lambda x: x.view(3, 2)),
}


@pytest.mark.parametrize("name", list(_SPELLINGS))
def test_numpy_spellings_give_the_same_result(name: str) -> None:
    numpy_style, torch_style = _SPELLINGS[name]
    got, expected = numpy_style(_x()), torch_style(_x())
    assert got.shape == expected.shape and got.dtype == expected.dtype
    assert got.tolist() == expected.tolist()


def test_giving_both_spellings_raises_pytorchs_type_error() -> None:
    x = _x()
    with pytest.raises(TypeError, match=r"^sum\(\) got an unexpected keyword argument 'axis'$"):
        x.sum(dim=0, axis=0)
    with pytest.raises(TypeError, match=r"^sum\(\) got an unexpected keyword argument 'axis'$"):
        x.sum(0, axis=0)
    with pytest.raises(TypeError, match=r"^mean\(\) got an unexpected keyword argument 'keepdims'$"):
        torch.mean(x, 0, keepdim=True, keepdims=True)
    with pytest.raises(TypeError, match="unexpected keyword argument 'size'"):
        x.reshape(size=(3, 2))


def test_spellings_wrapper_with_varargs_and_keyword_only_dims() -> None:
    from tinygrad_ko.api.spellings import accept_numpy_spellings

    @accept_numpy_spellings
    def tile(self, *sizes, dim=0):
        return sizes, dim

    assert tile("x", 2, 3, axis=1) == ((2, 3), 1)  # positional sizes are not a positional dim
    with pytest.raises(TypeError, match=r"^tile\(\) got an unexpected keyword argument 'axis'$"):
        tile("x", 2, dim=0, axis=1)

    def no_dims(self, n):
        return n

    assert accept_numpy_spellings(no_dims) is no_dims  # nothing to alias: not wrapped, no cost


def test_every_method_with_dim_or_keepdim_takes_the_numpy_spelling() -> None:
    """Guards the install-time wrapping: any Tensor method (from any family of ops) whose
    signature has ``dim`` or ``keepdim`` accepts ``axis``/``keepdims`` too."""
    checked = []
    for name in dir(torch.Tensor):
        method = getattr(torch.Tensor, name)
        if not inspect.isfunction(method):
            continue
        params = inspect.signature(method).parameters
        if "dim" in params or "keepdim" in params:
            assert hasattr(method, "__wrapped__"), f"Tensor.{name} does not take axis=/keepdims="
            checked.append(name)
    assert {"sum", "mean", "softmax", "squeeze", "unsqueeze", "argmax", "gather", "size"} <= set(checked)


# ---- PyTorch's behaviour -------------------------------------------------------------------------


def test_sign_is_in_the_graph_with_a_zero_gradient() -> None:
    x = torch.tensor([1.5, -2.0, 0.0], requires_grad=True)
    s = x.sign()
    assert s.requires_grad and s.tolist() == [1.0, -1.0, 0.0]
    s.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]
    (x.sign() * x).sum().backward()  # the product rule still sees x
    assert x.grad.tolist() == [1.0, -1.0, 0.0]
    assert torch.tensor([-3, 0, 4]).sign().tolist() == [-1, 0, 1]
    assert torch.tensor([True, False]).sign().tolist() == [True, False]
    assert torch.sgn(torch.tensor([-2.0])).tolist() == [-1.0]


def test_comparisons_and_argmax_stay_out_of_the_graph() -> None:
    x = torch.tensor([1.0, -2.0], requires_grad=True)
    for out in (x > 0, x == 1.0, x.isnan(), x.argmax(), x.argmin(dim=0)):
        assert not out.requires_grad and out.grad_fn is None


def test_remainder_and_rounded_division_gradients() -> None:
    x = torch.tensor([5.0, -7.0], requires_grad=True)
    y = torch.tensor([3.0, 2.0], requires_grad=True)
    r = x % y
    assert r.tolist() == [2.0, 1.0]
    r.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0] and y.grad.tolist() == [-1.0, 4.0]  # -floor(x / y)
    x.grad = None
    for mode, expected in (("floor", [2.0, -4.0]), ("trunc", [2.0, -3.0])):
        q = torch.div(x, 2, rounding_mode=mode)
        assert q.tolist() == expected and q.requires_grad
        q.sum().backward()
        assert x.grad.tolist() == [0.0, 0.0]
    assert torch.div(torch.tensor([5, -5]), 2, rounding_mode="trunc").tolist() == [2, -2]
    assert torch.tensor([-7]) % 3 == 2
    with pytest.raises(RuntimeError, match="^div expected rounding_mode to be one of None, 'trunc', or 'floor'"):
        torch.div(x, 2, rounding_mode="round")
    for op in (lambda: torch.tensor([5]) % 0, lambda: torch.tensor([5]) // 0, lambda: 5 % torch.tensor([0])):
        with pytest.raises(RuntimeError, match="^ZeroDivisionError$"):
            op()


def test_gather_with_a_smaller_index_and_its_gradient() -> None:
    torch.manual_seed(0)
    src = torch.randn(4, 5, 6, requires_grad=True)
    index = torch.randint(0, 4, (3, 4, 5))
    out = torch.gather(src, 0, index)
    assert out.shape == (3, 4, 5)
    s, i = src.detach().numpy(), index.numpy()
    expected = np.array([[[s[i[a, b, c], b, c] for c in range(5)] for b in range(4)] for a in range(3)])
    np.testing.assert_array_equal(out.detach().numpy(), expected)
    out.sum().backward()
    counts = np.zeros((4, 5, 6), dtype=np.float32)
    np.add.at(counts, (i, np.arange(4)[None, :, None], np.arange(5)[None, None, :]), 1.0)
    np.testing.assert_array_equal(src.grad.numpy(), counts)  # repeated indices add up
    assert src.grad.numpy()[:, :, 5].sum() == 0 and src.grad.numpy()[:, 4].sum() == 0


@pytest.mark.parametrize(
    ("index", "message"),
    [
        (torch.tensor([[7]]), "index 7 is out of bounds for dimension 1 with size 5"),
        (torch.tensor([[-1]]), "index -1 is out of bounds for dimension 1 with size 5"),
        (
            torch.zeros(5, 1, dtype=torch.int64),
            "Size does not match at dimension 0 expected index [5, 1] to be no larger than self [4, 5] apart from dimension 1",
        ),
        (
            torch.zeros(3, 1, 1, dtype=torch.int64),
            "Index tensor must have the same number of dimensions as input tensor",
        ),
        (torch.zeros(3, 1), "gather(): Expected dtype int32/int64 for index"),
    ],
)
def test_gather_errors_name_the_dim_and_the_bounds(index: torch.Tensor, message: str) -> None:
    with pytest.raises(RuntimeError) as e:
        torch.randn(4, 5).gather(1, index)
    assert str(e.value) == message


def test_squeeze_of_a_zero_dim_tensor_checks_dim() -> None:
    t = torch.tensor(1.0)
    assert t.squeeze(0).shape == () and t.squeeze(-1).shape == () and t.squeeze().shape == ()
    with pytest.raises(IndexError) as e:
        t.squeeze(10)
    assert str(e.value) == "Dimension out of range (expected to be in range of [-1, 0], but got 10)"
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times"):
        t.squeeze((0, 0))


def test_cat_of_zero_dim_tensors_raises_pytorchs_error() -> None:
    with pytest.raises(RuntimeError) as e:
        torch.cat([torch.tensor(1.0), torch.tensor(2.0)])
    assert str(e.value) == "zero-dimensional tensor (at position 0) cannot be concatenated"
    with pytest.raises(RuntimeError, match=r"^zero-dimensional tensor \(at position 1\) cannot be concatenated$"):
        torch.cat([torch.ones(2), torch.tensor(2.0)])
    assert torch.stack([torch.tensor(1.0), torch.tensor(2.0)]).tolist() == [1.0, 2.0]  # what was meant


# ---- no NumPy RuntimeWarnings ---------------------------------------------------------------------

_INF, _NAN = math.inf, math.nan
_SILENT = {
    "log(0)": (lambda: torch.log(torch.tensor(0.0)), -_INF),
    "log(-1)": (lambda: torch.tensor(-1.0).log(), _NAN),
    "log1p(-1)": (lambda: torch.log1p(torch.tensor(-1.0)), -_INF),
    "0/0": (lambda: torch.tensor(0.0) / torch.tensor(0.0), _NAN),
    "1/0": (lambda: torch.tensor(1.0) / 0, _INF),
    "-1/tensor(0)": (lambda: -1 / torch.tensor(0.0), -_INF),
    "int/0": (lambda: torch.tensor([1]) / 0, _INF),
    "sqrt(-1)": (lambda: torch.sqrt(torch.tensor(-1.0)), _NAN),
    "rsqrt(0)": (lambda: torch.rsqrt(torch.tensor(0.0)), _INF),
    "reciprocal(0)": (lambda: torch.tensor(0.0).reciprocal(), _INF),
    "0**-1": (lambda: torch.tensor(0.0) ** -1, _INF),
    "(-8)**(1/3)": (lambda: torch.pow(torch.tensor(-8.0), 1 / 3), _NAN),
    "pow(0, tensor(-1))": (lambda: torch.tensor(0.0) ** torch.tensor(-1.0), _INF),
    "2**tensor(200)": (lambda: 2.0 ** torch.tensor(200.0), _INF),
    "exp(100)": (lambda: torch.exp(torch.tensor(100.0)), _INF),
    "sin(inf)": (lambda: torch.tensor(_INF).sin(), _NAN),
    "1.0//0": (lambda: torch.tensor(1.0) // 0, _INF),
    "1.0%0": (lambda: torch.tensor(1.0) % 0, _NAN),
    "mean([])": (lambda: torch.tensor([]).mean(), _NAN),
    "div(0, 0, floor)": (lambda: torch.div(torch.tensor(0.0), 0.0, rounding_mode="floor"), _NAN),
}


@pytest.mark.parametrize("case", list(_SILENT))
def test_no_numpy_runtime_warnings_and_pytorchs_values(case: str) -> None:
    make, expected = _SILENT[case]
    before = np.geterr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = make().item()
    assert np.geterr() == before  # the user's NumPy settings are untouched
    if math.isnan(expected):
        assert math.isnan(value)
    else:
        assert value == expected


def test_backward_through_log_and_sqrt_at_zero_is_silent_too() -> None:
    x = torch.tensor([0.0, 4.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (x.log() + x.sqrt()).sum().backward()
    assert x.grad.tolist() == [_INF, 0.25 + 0.25]


@pytest.mark.parametrize("fast", [True, False], ids=["context-variable", "np.errstate"])
def test_silent_ignores_errors_inside_and_restores_the_users_settings(monkeypatch, fast: bool) -> None:
    from tinygrad_ko.api import fperrors

    if not fast:  # the public fallback (NumPy 1.x)
        monkeypatch.setattr(fperrors, "_extobj_contextvar", None)

    @fperrors.silent
    def log_of(a):
        return np.log(a)

    with np.errstate(all="raise"):
        assert log_of(np.zeros(1, dtype=np.float32))[0] == -math.inf
        assert np.geterr()["divide"] == "raise"
        with pytest.raises(FloatingPointError):
            np.log(np.zeros(1))
