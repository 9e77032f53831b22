"""Learner, metrics, save/load and the command line, on small synthetic data (fast)."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_ko as torch
import tinygrad_ko.nn.functional as F
from tinygrad_ko import nn
from tinygrad_ko.data import DataLoader, TensorDataset
from tinygrad_ko.learner import Callback, DataLoaders, Learner, accuracy, batch_accuracy, error_rate
from tinygrad_ko.optim import SGD, Adam
from tinygrad_ko.serialization import CheckpointError


def blobs(n=400, seed=0):
    """Three well-separated Gaussian blobs in 2-D."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centers = np.array([[0, 3], [3, -2], [-3, -2]], dtype=np.float32)
    x = centers[y] + rng.standard_normal((n, 2)).astype(np.float32) * 0.5
    return torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))


def make_learner(**kw):
    torch.manual_seed(0)
    x, y = blobs()
    xv, yv = blobs(200, seed=1)
    dls = DataLoaders(
        DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True), DataLoader(TensorDataset(xv, yv), batch_size=64)
    )
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    kw.setdefault("quiet", True)
    return Learner(dls, model, loss_func=F.cross_entropy, metrics=[accuracy, error_rate], **kw)


def test_metrics():
    preds = torch.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    targs = torch.tensor([1, 0, 0, 0])
    assert accuracy(preds, targs).item() == pytest.approx(0.75)
    assert error_rate(preds, targs).item() == pytest.approx(0.25)
    logits = torch.tensor([[2.0], [-1.0], [0.5], [-3.0]])
    assert batch_accuracy(logits, torch.tensor([[1], [0], [0], [1]])).item() == pytest.approx(0.5)


def test_fit_records_and_learns():
    learn = make_learner(opt_func=SGD, lr=0.1)
    learn.fit(3)
    rec = learn.recorder
    assert len(rec.values) == 3 and all(len(v) == 4 for v in rec.values)
    assert len(rec.losses) == 3 * len(learn.dls.train) and len(rec.lrs) == len(rec.losses)
    assert rec.metric_names == ["train_loss", "valid_loss", "accuracy", "error_rate"]
    valid_loss, acc, err = learn.validate()
    assert acc >= 0.95 and err == pytest.approx(1 - acc)
    assert valid_loss < rec.values[0][0]
    preds, targs = learn.get_preds()
    assert preds.shape == (200, 3) and targs.shape == (200,)
    assert learn.predict(torch.tensor([0.0, 3.0])).argmax().item() == 0


def test_book_style_basic_optim_works_as_opt_func():
    class BasicOptim:  # fastai ch.4's own optimizer
        def __init__(self, params, lr):
            self.params, self.lr = list(params), lr

        def step(self, *args, **kwargs):
            for p in self.params:
                p.data -= p.grad.data * self.lr

        def zero_grad(self, *args, **kwargs):
            for p in self.params:
                p.grad = None

    learn = make_learner(opt_func=BasicOptim, lr=0.1)
    learn.fit(2)
    assert learn.validate()[1] >= 0.9
    with pytest.raises(TypeError, match="param_groups"):
        learn.fit_one_cycle(1)


def test_fit_one_cycle_schedule():
    learn = make_learner(opt_func=Adam)
    learn.fit_one_cycle(2, lr_max=0.01)
    lrs = np.array(learn.recorder.lrs)
    peak = int(np.argmax(lrs))
    assert lrs.max() == pytest.approx(0.01, rel=1e-2)
    assert lrs[0] == pytest.approx(0.01 / 25, rel=1e-3)
    assert 0 < peak < len(lrs) - 1 and lrs[-1] < lrs[0]
    assert np.all(np.diff(lrs[: peak + 1]) >= 0) and np.all(np.diff(lrs[peak:]) <= 0)
    assert learn.validate()[1] >= 0.9


def test_callbacks_and_output(capsys):
    events = []

    class Spy(Callback):
        def before_fit(self, learn):
            events.append("before_fit")

        def after_batch(self, learn):
            events.append("batch")

        def after_epoch(self, learn):
            events.append(f"epoch {learn.epoch}")

    learn = make_learner(opt_func=SGD, lr=0.1, cbs=[Spy()], quiet=False)
    learn.fit(2)
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["epoch", "train_loss", "valid_loss", "accuracy", "error_rate", "time"]
    assert len(out) == 3 and out[1].split()[0] == "0" and out[2].split()[0] == "1"
    assert events[0] == "before_fit" and events.count("batch") == 2 * len(learn.dls.train)
    assert events[-1] == "epoch 1"
    quiet = make_learner(opt_func=SGD, lr=0.1)
    quiet.fit(1)
    assert capsys.readouterr().out == ""


def test_save_load_roundtrip(tmp_path):
    learn = make_learner(opt_func=SGD, lr=0.1, path=tmp_path)
    learn.fit(1)
    path = learn.save("blobs")
    assert path.endswith("models/blobs.npz")
    before = learn.validate()
    fresh = make_learner(path=tmp_path)
    assert fresh.validate() != before
    fresh.load("blobs")
    assert fresh.validate() == pytest.approx(before)


def test_checkpoint_errors_and_atomic_write(tmp_path, monkeypatch):
    with pytest.raises(CheckpointError, match="not found"):
        torch.load(tmp_path / "missing.npz")
    good = tmp_path / "good.npz"
    torch.save({"w": torch.ones(3)}, good)
    data = good.read_bytes()
    bad = tmp_path / "truncated.npz"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        torch.load(bad)

    # an interrupted save leaves the previous checkpoint intact and no temp file behind
    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(np.lib.format, "write_array", boom)
    with pytest.raises(KeyboardInterrupt):
        torch.save({"w": torch.zeros(3)}, good)
    assert torch.load(good)["w"].tolist() == [1.0, 1.0, 1.0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.npz", "truncated.npz"]


def test_load_state_dict_mismatch_is_a_clear_error(tmp_path):
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 3))
    torch.save(model.state_dict(), tmp_path / "m.npz")
    other = nn.Sequential(nn.Linear(2, 5), nn.ReLU(), nn.Linear(5, 3))
    with pytest.raises(RuntimeError, match="0.weight"):
        other.load_state_dict(torch.load(tmp_path / "m.npz"))


# ---- command line -----------------------------------------------------------------------------
@pytest.mark.mnist
def test_cli_train_and_evaluate_mnist_sample(tmp_path, capsys):
    from tinygrad_ko.__main__ import main

    out = tmp_path / "lin.npz"
    assert (
        main(["train", "--model", "linear", "--dataset", "mnist-sample", "--epochs", "1", "--out", str(out), "--quiet"])
        == 0
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("test accuracy: ") and len(lines[-1].split(": ")[1]) == 6
    assert float(lines[-1].split(": ")[1]) > 0.95
    assert main(["evaluate", str(out)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == lines[-1]


def test_cli_evaluate_errors(tmp_path, capsys):
    from tinygrad_ko.__main__ import main

    assert main(["evaluate", str(tmp_path / "nope.npz")]) == 2
    assert "checkpoint not found" in capsys.readouterr().err
    torch.save({"w": torch.ones(2)}, tmp_path / "plain.npz")
    assert main(["evaluate", str(tmp_path / "plain.npz")]) == 2
    assert "no tinygrad_ko training metadata" in capsys.readouterr().err
    torch.save(
        {"w": torch.ones(2)}, tmp_path / "wrong.npz", metadata={"model": "mlp", "dataset": "mnist", "num_classes": 10}
    )
    (tmp_path / "trunc.npz").write_bytes((tmp_path / "wrong.npz").read_bytes()[:40])
    assert main(["evaluate", str(tmp_path / "trunc.npz")]) == 2
    assert "truncated" in capsys.readouterr().err


def test_cli_graph_writes_dot(tmp_path):
    from tinygrad_ko.__main__ import main

    out = tmp_path / "g.dot"
    assert main(["graph", "--model", "mlp", "--out", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("digraph") and "1.weight" in text and "output" in text
