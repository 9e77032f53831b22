"""torch.save / torch.load without pickle: state dicts and checkpoint dicts, .npz and .safetensors (issue 13).

These tests need no PyTorch: the safetensors files are also read back with the safetensors package's
own NumPy reader, which is what PyTorch's ``safetensors.torch.load_file`` decodes. tests/test_interop.py
checks the same files against real PyTorch where it is installed.
"""

from __future__ import annotations

import io
import math
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
import safetensors
import safetensors.numpy

import tinygrad_ko as torch
from tinygrad_ko import nn, optim
from tinygrad_ko.__main__ import main
from tinygrad_ko.serialization import CheckpointError

SUFFIXES = [".npz", ".pt", ".safetensors"]


def small_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))


def trained_checkpoint():
    """A model, an Adam optimizer and a scheduler after two real steps, and the checkpoint dict of all three."""
    model = small_model()
    opt = optim.Adam(model.parameters(), lr=1e-3, betas=(0.8, 0.99))
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    x, y = torch.randn(5, 1, 6, 6), torch.tensor([0, 1, 2, 1, 0])
    for _ in range(2):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        sched.step()
    ckpt = {
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "scheduler": sched.state_dict(),
        "epoch": 3,
        "best_acc": 0.8125,
        "note": "한글 note",
        "history": [(1, 0.5), (2, float("nan")), (3, float("-inf"))],
        "flags": {"done": False, "none": None, 7: "int key", (1, "a"): "tuple key", 2.5: "float key"},
    }
    return model, opt, sched, ckpt


def assert_same(a, b, where="ckpt"):
    """Equal structure, key types, container types, dtypes, shapes and bits."""
    assert type(a) is type(b) or (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)), where
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert a.numpy().tobytes() == b.numpy().tobytes(), where
    elif isinstance(a, dict):
        assert list(a.keys()) == list(b.keys()), where
        for k in a:
            assert type(k) is type(next(kb for kb in b if kb == k)), f"{where}: key {k!r}"
            assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), where
    else:
        assert a == b and type(a) is type(b), where


# ---- state dicts ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", SUFFIXES)
def test_state_dict_round_trip_keeps_keys_order_dtypes_and_bits(tmp_path, suffix):
    model = small_model()
    model(torch.randn(2, 1, 6, 6))  # running stats and num_batches_tracked move
    state = model.state_dict()
    path = tmp_path / f"m{suffix}"
    torch.save(state, path)
    back = torch.load(path)
    assert isinstance(back, OrderedDict)
    assert_same(state, back)
    assert back["1.num_batches_tracked"].dtype == torch.int64 and back["1.num_batches_tracked"].item() == 1
    fresh = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(64, 3))
    fresh.load_state_dict(back, strict=True)
    x = torch.randn(3, 1, 6, 6)
    model.eval()
    fresh.eval()
    assert np.array_equal(fresh(x).detach().numpy(), model(x).detach().numpy())
    # loaded tensors own writable memory: training the loaded model does not touch anything shared
    back["4.bias"].add_(1.0)


def test_safetensors_file_is_the_standard_format(tmp_path):
    """Any safetensors reader sees PyTorch's keys, shapes and dtypes, and the metadata as text."""
    arrays = {
        "f32": np.arange(6, dtype=np.float32).reshape(2, 3),
        "f64": np.array([1.5, -2.0]),
        "i64": np.array(7, dtype=np.int64),
        "u8": np.array([[0, 255]], dtype=np.uint8),
        "b": np.array([True, False, True]),
        "empty": np.zeros((0, 4), dtype=np.float32),
        "strided": np.arange(12, dtype=np.float32).reshape(3, 4).T,  # not contiguous
    }
    state = {k: torch.from_numpy(v) for k, v in arrays.items()}
    path = tmp_path / "m.safetensors"
    torch.save(state, path, metadata={"model": "mlp", "epochs": 3, "lr": 0.001})
    on_disk = safetensors.numpy.load_file(str(path))
    assert set(on_disk) == set(arrays)
    for k, v in arrays.items():
        assert on_disk[k].dtype == v.dtype and on_disk[k].shape == v.shape
        assert np.array_equal(on_disk[k], v)
    with safetensors.safe_open(str(path), framework="np") as f:
        header = f.metadata()
    assert header["format"] == "pt" and header["model"] == "mlp" and header["epochs"] == "3"
    back, meta = torch.load(path, with_metadata=True)
    assert meta == {"model": "mlp", "epochs": 3, "lr": 0.001}  # exact types come back
    assert list(back) == list(arrays)  # the format sorts tensors; the saved order is restored
    assert back["u8"].dtype == torch.uint8 and back["b"].dtype == torch.bool and back["i64"].shape == ()


def test_safetensors_written_by_another_tool_loads(tmp_path):
    path = tmp_path / "hub.safetensors"
    safetensors.numpy.save_file(
        {"fc.weight": np.ones((2, 3), np.float32), "fc.bias": np.zeros(2, np.float32)},
        str(path),
        metadata={"source": "elsewhere"},
    )
    state, meta = torch.load(path, map_location="cpu", weights_only=True, with_metadata=True)
    assert sorted(state) == ["fc.bias", "fc.weight"] and meta == {"source": "elsewhere"}
    layer = nn.Linear(3, 2)
    layer.load_state_dict({k.split(".")[1]: v for k, v in state.items()})
    assert layer.weight.sum().item() == 6.0


def test_format_follows_the_bytes_not_the_name(tmp_path):
    state = {"w": torch.arange(3.0)}
    torch.save(state, tmp_path / "a.safetensors")
    (tmp_path / "renamed.pt").write_bytes((tmp_path / "a.safetensors").read_bytes())
    assert torch.load(tmp_path / "renamed.pt")["w"].tolist() == [0.0, 1.0, 2.0]
    buf = io.BytesIO()  # torch.save/load also take file objects
    torch.save(state, buf)
    buf.seek(0)
    assert torch.load(buf)["w"].tolist() == [0.0, 1.0, 2.0]


# ---- checkpoint dicts --------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", SUFFIXES)
def test_checkpoint_dict_round_trips_exactly_and_resumes_training(tmp_path, suffix):
    model, opt, sched, ckpt = trained_checkpoint()
    path = tmp_path / f"ckpt{suffix}"
    torch.save(ckpt, path)
    back = torch.load(path, map_location="cpu", weights_only=True)
    assert_same(ckpt, back)
    assert back["optimizer"]["param_groups"][0]["betas"] == (0.8, 0.99)
    assert set(back["optimizer"]["state"]) == set(range(6))  # int keys stay ints

    # resuming from the file continues exactly as the original objects do
    model2 = small_model()
    opt2 = optim.Adam(model2.parameters(), lr=1e-3, betas=(0.8, 0.99))
    sched2 = optim.lr_scheduler.StepLR(opt2, step_size=1, gamma=0.5)
    model2.load_state_dict(back["model"])
    opt2.load_state_dict(back["optimizer"])
    sched2.load_state_dict(back["scheduler"])
    x, y = torch.randn(4, 1, 6, 6), torch.tensor([2, 1, 0, 0])
    for m, o, s in ((model, opt, sched), (model2, opt2, sched2)):
        o.zero_grad()
        nn.functional.cross_entropy(m(x), y).backward()
        o.step()
        s.step()
    for (k, a), b in zip(model.state_dict().items(), model2.state_dict().values()):
        assert np.array_equal(a.numpy(), b.numpy()), k
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"] == 1e-3 * 0.5**3


def test_a_bare_tensor_or_list_round_trips(tmp_path):
    torch.save(torch.arange(3.0), tmp_path / "t.safetensors")
    assert list(safetensors.numpy.load_file(str(tmp_path / "t.safetensors"))) == ["tensor"]
    assert torch.load(tmp_path / "t.safetensors").tolist() == [0.0, 1.0, 2.0]
    torch.save([torch.ones(2), 3, "x"], tmp_path / "l.pt")
    back = torch.load(tmp_path / "l.pt")
    assert back[0].tolist() == [1.0, 1.0] and back[1:] == [3, "x"]


def test_checkpoint_dict_in_safetensors_names_tensors_by_path(tmp_path):
    _, _, _, ckpt = trained_checkpoint()
    path = tmp_path / "ckpt.safetensors"
    torch.save(ckpt, path)
    names = set(safetensors.numpy.load_file(str(path)))
    assert {"model.4.weight", "model.1.num_batches_tracked", "optimizer.state.0.exp_avg"} <= names


def test_same_checkpoint_same_bytes(tmp_path):
    _, _, _, ckpt = trained_checkpoint()
    for suffix in (".npz", ".safetensors"):
        torch.save(ckpt, tmp_path / f"a{suffix}")
        torch.save(ckpt, tmp_path / f"b{suffix}")
        assert (tmp_path / f"a{suffix}").read_bytes() == (tmp_path / f"b{suffix}").read_bytes()


def test_saving_a_whole_module_or_optimizer_says_what_to_save(tmp_path):
    model = small_model()
    with pytest.raises(TypeError, match=r"whole model \(Sequential\).*model\.state_dict\(\)"):
        torch.save(model, tmp_path / "m.pt")
    with pytest.raises(TypeError, match=r"optimizer \(SGD\).*optimizer\.state_dict\(\)"):
        torch.save(optim.SGD(model.parameters(), lr=0.1), tmp_path / "o.pt")
    with pytest.raises(TypeError, match=r"whole model"):
        torch.save({"model": model}, tmp_path / "m.pt")
    with pytest.raises(TypeError, match=r"cannot store extra\.fn: a function"):
        torch.save({"extra": {"fn": lambda: 1}}, tmp_path / "f.pt")
    with pytest.raises(TypeError, match="metadata must be a JSON-able dict"):
        torch.save({"w": torch.ones(1)}, tmp_path / "x.npz", metadata={"f": object()})
    assert list(tmp_path.iterdir()) == []


# ---- bad files -------------------------------------------------------------------------------------------
def test_truncated_or_foreign_safetensors_is_one_line_naming_the_file(tmp_path):
    good = tmp_path / "good.safetensors"
    torch.save(small_model().state_dict(), good)
    data = good.read_bytes()
    cases = {
        "trunc.safetensors": data[: len(data) // 2],
        "header-only.safetensors": data[:40],
        "empty.safetensors": b"",
        "text.safetensors": b"hello, this is not a checkpoint",
    }
    for name, payload in cases.items():
        (tmp_path / name).write_bytes(payload)
        with pytest.raises(CheckpointError) as err:
            torch.load(tmp_path / name)
        message = str(err.value)
        assert str(tmp_path / name) in message and "\n" not in message, message


def test_a_damaged_structure_is_a_checkpoint_error(tmp_path):
    path = tmp_path / "bad.safetensors"
    torch.save({"w": torch.ones(2), "n": 3}, path)
    data = path.read_bytes()
    entry = b'{\\"$t\\": \\"w\\"}'  # the structure's reference to tensor "w", inside the JSON header
    assert data.count(entry) == 1
    path.write_bytes(data.replace(entry, entry.replace(b'\\"w\\"', b'\\"q\\"')))
    with pytest.raises(CheckpointError, match=r"damaged: it has no tensor 'q'"):
        torch.load(path)
    assert data.count(b'$d\\": [[') == 1
    path.write_bytes(data.replace(b'$d\\": [[', b'$d\\": ((', 1))  # a valid header, not valid inside
    with pytest.raises(CheckpointError, match="unreadable structure"):
        torch.load(path)


def test_a_torch_pickle_file_is_refused_with_the_convert_command(tmp_path):
    path = tmp_path / "resnet.pth"  # the layout torch.save writes: a zip with a pickle inside
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("resnet/data.pkl", b"\x80\x02}q\x00.")
        zf.writestr("resnet/version", b"3\n")
    with pytest.raises(CheckpointError, match=r"torch\.save \(a pickle\).*python -m tinygrad_ko convert"):
        torch.load(path)


def test_mismatched_keys_name_missing_and_unexpected_and_change_nothing(tmp_path):
    model = small_model()
    state = model.state_dict()
    state["extra.weight"] = torch.ones(2)
    del state["4.bias"]
    path = tmp_path / "m.safetensors"
    torch.save(state, path)
    target = small_model()
    torch.manual_seed(1)
    nn.init.normal_(target[0].weight)
    before = {k: v.numpy().copy() for k, v in target.state_dict().items()}
    with pytest.raises(RuntimeError) as err:
        target.load_state_dict(torch.load(path), strict=True)
    assert 'Missing key(s) in state_dict: "4.bias"' in str(err.value)
    assert 'Unexpected key(s) in state_dict: "extra.weight"' in str(err.value)
    for k, v in target.state_dict().items():
        assert np.array_equal(v.numpy(), before[k]), k


def test_interrupted_safetensors_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    torch.save({"w": torch.ones(3)}, path)
    old = path.read_bytes()

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(safetensors.numpy, "save", boom)
    with pytest.raises(KeyboardInterrupt):
        torch.save({"w": torch.zeros(3)}, path)
    assert path.read_bytes() == old and [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]


# ---- the command line and the Learner ---------------------------------------------------------------------
def test_cli_train_writes_safetensors_and_evaluate_reads_both(tmp_path, capsys, monkeypatch):
    import tinygrad_ko.__main__ as cli

    rng = np.random.default_rng(0)
    x = rng.random((64, 1, 28, 28), dtype=np.float32)
    y = (x[:, 0, :14].mean(axis=(1, 2)) > x[:, 0, 14:].mean(axis=(1, 2))).astype(np.int64)
    monkeypatch.setattr(cli, "load_arrays", lambda name: (x, y, x[:32], y[:32], 2))
    outs = {}
    for suffix in (".npz", ".safetensors"):
        out = tmp_path / f"lin{suffix}"
        argv = ["train", "--model", "linear", "--dataset", "mnist-sample", "--epochs", "1", "--quiet"]
        assert main([*argv, "--out", str(out)]) == 0
        outs[suffix] = capsys.readouterr().out.strip().splitlines()[-1]
        assert main(["evaluate", str(out)]) == 0
        assert capsys.readouterr().out.strip().splitlines()[-1] == outs[suffix]
    assert outs[".npz"] == outs[".safetensors"]
    with safetensors.safe_open(str(tmp_path / "lin.safetensors"), framework="np") as f:
        header = f.metadata()
        assert sorted(f.keys()) == ["1.bias", "1.weight"]
    assert header["model"] == "linear" and header["dataset"] == "mnist-sample"


def test_learner_saves_safetensors(tmp_path):
    from tinygrad_ko.data import DataLoader, TensorDataset
    from tinygrad_ko.learner import DataLoaders, Learner

    x, y = torch.randn(16, 4), torch.randint(0, 2, (16,))
    dls = DataLoaders(DataLoader(TensorDataset(x, y), batch_size=8), DataLoader(TensorDataset(x, y), batch_size=8))
    learn = Learner(dls, nn.Linear(4, 2), loss_func=nn.functional.cross_entropy, path=tmp_path, quiet=True)
    path = learn.save(str(tmp_path / "w.safetensors"))
    assert path.endswith("w.safetensors") and safetensors.numpy.load_file(path)["weight"].shape == (2, 4)
    other = Learner(dls, nn.Linear(4, 2), loss_func=nn.functional.cross_entropy, path=tmp_path, quiet=True)
    other.load(path)
    assert np.array_equal(other.model.weight.detach().numpy(), learn.model.weight.detach().numpy())
