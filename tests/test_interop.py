"""Weights travel both ways between PyTorch and tinygrad_ko through .safetensors files (issue 13).

For the MLP and the small CNN (ResNet-18 and ResNet-50: tests/test_models_torchvision_interop.py, the
same way): PyTorch's model with random weights is
saved with ``safetensors.torch.save_file``, loaded here with ``strict=True``, and must give the same
logits in eval mode and the same loss, gradients, updated weights and BatchNorm statistics for one
training step in train mode; then the other way, tinygrad_ko's weights saved with ``tinygrad_ko.save``
load into PyTorch's model (``safetensors.torch.load_file``, ``strict=True``) with the same outputs.
Also the ``convert`` command on a real ``torch.save`` file. Skipped where PyTorch is not installed
(``pip install -e ".[interop]"`` installs it and torchvision).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import numpy as np
import pytest

pt = pytest.importorskip("torch", reason="PyTorch is not installed (pip install -e '.[interop]')")
safetensors_torch = pytest.importorskip("safetensors.torch")

import tinygrad_ko as tk  # noqa: E402
from tinygrad_ko import models, nn  # noqa: E402
from tinygrad_ko.__main__ import main  # noqa: E402


# ---- the models on both sides ------------------------------------------------------------------------
def torch_mlp() -> pt.nn.Module:
    return pt.nn.Sequential(pt.nn.Flatten(), pt.nn.Linear(784, 512), pt.nn.ReLU(), pt.nn.Linear(512, 10))


def ours_mlp() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 10))


def torch_cnn() -> pt.nn.Module:
    t = pt.nn
    return t.Sequential(
        t.Conv2d(1, 32, 3, padding=1),
        t.ReLU(),
        t.MaxPool2d(2),
        t.Conv2d(32, 64, 3, padding=1),
        t.ReLU(),
        t.MaxPool2d(2),
        t.Flatten(),
        t.Linear(64 * 7 * 7, 128),
        t.ReLU(),
        t.Linear(128, 10),
    )


def torchvision_models():
    return pytest.importorskip(
        "torchvision.models", reason="torchvision is not installed (pip install -e '.[interop]')"
    )


MNIST_BATCH = (6, 1, 28, 28)
IMAGE_BATCH = (2, 3, 64, 64)
CASES: dict[str, tuple[Callable[[], object], Callable[[], object], tuple[int, ...]]] = {
    "mlp": (torch_mlp, ours_mlp, MNIST_BATCH),
    "cnn": (torch_cnn, models.mnist_cnn, MNIST_BATCH),
}


def batch(shape: tuple[int, ...], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape).astype(np.float32), rng.integers(0, 10, shape[0])


def close(ours: np.ndarray, theirs: np.ndarray, what: str, rel: float = 1e-4, atol: float = 1e-6) -> None:
    """Equal up to float32 summation order: the largest difference against the tensor's scale."""
    assert ours.shape == theirs.shape, what
    scale = float(np.abs(theirs).max()) if theirs.size else 0.0
    err = float(np.abs(ours - theirs).max()) if theirs.size else 0.0
    assert err <= rel * scale + atol, f"{what}: max |diff| {err:.3g} for values up to {scale:.3g}"


def sd_numpy(state) -> dict[str, np.ndarray]:
    return {k: (v.detach().numpy() if hasattr(v, "detach") else np.asarray(v)) for k, v in state.items()}


# ---- PyTorch -> tinygrad_ko ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", CASES)
def test_torch_weights_load_here_with_same_outputs_and_gradients(name, tmp_path):
    make_torch, make_ours, shape = CASES[name]
    pt.manual_seed(0)
    theirs = make_torch()
    with pt.no_grad():  # BatchNorm statistics that are not the identity, so eval mode really uses them
        for m in theirs.modules():
            if isinstance(m, pt.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
    path = tmp_path / f"{name}.safetensors"
    safetensors_torch.save_file(theirs.state_dict(), str(path))

    ours = make_ours()
    assert list(ours.state_dict()) == list(theirs.state_dict())  # the same names in the same order
    result = ours.load_state_dict(tk.load(path, map_location="cpu", weights_only=True), strict=True)
    assert result.missing_keys == [] and result.unexpected_keys == []

    x, y = batch(shape)
    theirs.eval()
    ours.eval()
    with pt.no_grad(), tk.no_grad():
        close(ours(tk.tensor(x)).numpy(), theirs(pt.tensor(x)).numpy(), f"{name} eval logits", atol=1e-4)

    # one training step in train mode: loss, every gradient, the updated weights and BatchNorm buffers
    theirs.train()
    ours.train()
    opt_t = pt.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
    opt_o = tk.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9)
    loss_t = pt.nn.functional.cross_entropy(theirs(pt.tensor(x)), pt.tensor(y))
    loss_o = nn.functional.cross_entropy(ours(tk.tensor(x)), tk.tensor(y))
    loss_t.backward()
    loss_o.backward()
    assert loss_o.item() == pytest.approx(loss_t.item(), rel=1e-5)
    grads_t = {k: p.grad.numpy() for k, p in theirs.named_parameters()}
    for k, p in ours.named_parameters():
        close(p.grad.numpy(), grads_t[k], f"{name} grad {k}", rel=1e-3, atol=1e-6)
    opt_t.step()
    opt_o.step()
    after_t = sd_numpy(theirs.state_dict())
    for k, v in sd_numpy(ours.state_dict()).items():
        assert v.dtype == after_t[k].dtype, k
        close(v.astype(np.float64), after_t[k].astype(np.float64), f"{name} after step {k}", rel=1e-4, atol=1e-5)


# ---- tinygrad_ko -> PyTorch ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", CASES)
def test_weights_saved_here_load_into_torch_with_same_outputs(name, tmp_path):
    make_torch, make_ours, shape = CASES[name]
    tk.manual_seed(1)
    ours = make_ours()
    x, _ = batch(shape, seed=1)
    ours.train()
    with tk.no_grad():
        ours(tk.tensor(x))  # move BatchNorm's running statistics and num_batches_tracked
    path = tmp_path / f"{name}.safetensors"
    tk.save(ours.state_dict(), path)

    theirs = make_torch()
    theirs.load_state_dict(safetensors_torch.load_file(str(path)), strict=True)
    loaded = theirs.state_dict()
    for k, v in ours.state_dict().items():
        assert loaded[k].dtype == getattr(pt, str(v.dtype).split(".")[-1]), k
        assert np.array_equal(loaded[k].numpy(), v.numpy()), k  # bit for bit
    ours.eval()
    theirs.eval()
    with pt.no_grad(), tk.no_grad():
        close(ours(tk.tensor(x)).numpy(), theirs(pt.tensor(x)).numpy(), f"{name} eval logits", atol=1e-4)


# ---- convert: a real torch.save file ---------------------------------------------------------------------
def test_convert_a_torchvision_checkpoint_and_use_it(tmp_path, capsys):
    tv = torchvision_models()
    pt.manual_seed(2)
    theirs = tv.resnet18(num_classes=5).eval()
    src = tmp_path / "resnet18.pth"
    pt.save({"epoch": 9, "state_dict": {"module." + k: v for k, v in theirs.state_dict().items()}}, src)

    def convert(*args: str) -> subprocess.CompletedProcess:
        code = main(["convert", *args])  # in-process: PyTorch is imported once
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out, err)

    wrong = convert(str(src), str(tmp_path / "bad.safetensors"), "--check", "resnet34")
    assert wrong.returncode == 2 and len(wrong.stderr.strip().splitlines()) == 1
    assert "does not fit resnet34: 96 missing key(s) (layer1.2.conv1.weight" in wrong.stderr
    assert not (tmp_path / "bad.safetensors").exists()

    done = convert(str(src), "--check", "resnet18")
    assert done.returncode == 0, done.stderr
    assert "'state_dict'" in done.stdout and "122 tensors" in done.stdout
    ours = models.resnet18(num_classes=5)
    ours.load_state_dict(tk.load(tmp_path / "resnet18.safetensors"))  # "module." was removed
    ours.eval()
    x, _ = batch(IMAGE_BATCH, seed=3)
    with pt.no_grad(), tk.no_grad():
        close(ours(tk.tensor(x)).numpy(), theirs(pt.tensor(x)).numpy(), "converted resnet18", atol=1e-4)

    # the pickle itself is never opened by tinygrad_ko, and a whole pickled model is refused with advice
    with pytest.raises(tk.serialization.CheckpointError, match="python -m tinygrad_ko convert"):
        tk.load(src)
    pt.save(theirs, tmp_path / "whole.pth")
    whole = convert(str(tmp_path / "whole.pth"))
    assert whole.returncode == 2 and "save model.state_dict() in PyTorch" in whole.stderr
