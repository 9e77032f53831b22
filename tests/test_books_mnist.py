"""The books' MNIST results, on the real MNIST, with fixed seeds (integration tests).

1. fastai ch.4 pixel similarity on MNIST_SAMPLE: 3s 0.9168, 7s 0.9854, mean 0.9511.
2. fastai's linear model (28*28 -> 1, mnist_loss, batch 256, SGD lr 1.0, 20 epochs): >= 0.96.
3. fastai's simple_net (784 -> 30 -> ReLU -> 1, SGD lr 0.1, 40 epochs): >= 0.98.
4. "Deep Learning with Python" ch.2 (Dense 512 + RMSprop, 5 epochs) via the main job: >= 0.978.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import tinygrad_ko as torch
from tinygrad_ko import nn
from tinygrad_ko.data import DataLoader, TensorDataset, load_mnist_sample
from tinygrad_ko.learner import DataLoaders, Learner, batch_accuracy
from tinygrad_ko.optim import SGD

pytestmark = pytest.mark.mnist


@pytest.fixture(scope="module")
def sample():
    """fastai's MNIST_SAMPLE tensors: stacked 3s then 7s, flattened, float32 in [0, 1]."""
    xtr, ytr, xva, yva = load_mnist_sample()
    threes, sevens = torch.tensor(xtr[ytr == 3]).float() / 255, torch.tensor(xtr[ytr == 7]).float() / 255
    valid_3, valid_7 = torch.tensor(xva[yva == 3]).float() / 255, torch.tensor(xva[yva == 7]).float() / 255
    return threes, sevens, valid_3, valid_7


def test_pixel_similarity(sample):
    threes, sevens, valid_3_tens, valid_7_tens = sample
    assert threes.shape == (6131, 28, 28) and sevens.shape == (6265, 28, 28)
    assert valid_3_tens.shape == (1010, 28, 28) and valid_7_tens.shape == (1028, 28, 28)
    mean3, mean7 = threes.mean(0), sevens.mean(0)

    def mnist_distance(a, b):
        return (a - b).abs().mean((-1, -2))

    def is_3(x):
        return mnist_distance(x, mean3) < mnist_distance(x, mean7)

    accuracy_3s = is_3(valid_3_tens).float().mean()
    accuracy_7s = (1 - is_3(valid_7_tens).float()).mean()
    assert round(accuracy_3s.item(), 4) == 0.9168
    assert round(accuracy_7s.item(), 4) == 0.9854
    assert round(((accuracy_3s + accuracy_7s) / 2).item(), 4) == 0.9511


def _dls(sample, bs=256):
    threes, sevens, valid_3, valid_7 = sample
    train_x = torch.cat([threes, sevens]).view(-1, 28 * 28)
    train_y = torch.tensor([1] * len(threes) + [0] * len(sevens)).unsqueeze(1)
    valid_x = torch.cat([valid_3, valid_7]).view(-1, 28 * 28)
    valid_y = torch.tensor([1] * len(valid_3) + [0] * len(valid_7)).unsqueeze(1)
    dl = DataLoader(TensorDataset(train_x, train_y), batch_size=bs, shuffle=True)
    valid_dl = DataLoader(TensorDataset(valid_x, valid_y), batch_size=bs)
    return DataLoaders(dl, valid_dl)


def mnist_loss(predictions, targets):
    predictions = predictions.sigmoid()
    return torch.where(targets == 1, 1 - predictions, predictions).mean()


def test_linear_model(sample):
    torch.manual_seed(42)
    learn = Learner(
        _dls(sample), nn.Linear(28 * 28, 1), opt_func=SGD, loss_func=mnist_loss, metrics=batch_accuracy, quiet=True
    )
    learn.fit(20, lr=1.0)
    assert len(learn.recorder.values) == 20
    assert learn.recorder.values[-1][2] >= 0.96
    assert learn.recorder.values[-1][0] < learn.recorder.values[0][0]  # train loss went down


def test_simple_net(sample):
    torch.manual_seed(42)
    simple_net = nn.Sequential(nn.Linear(28 * 28, 30), nn.ReLU(), nn.Linear(30, 1))
    learn = Learner(_dls(sample), simple_net, opt_func=SGD, loss_func=mnist_loss, metrics=batch_accuracy, quiet=True)
    learn.fit(40, 0.1)
    assert learn.recorder.values[-1][2] >= 0.98


def test_main_job_default_network(tmp_path, capsys):
    from tinygrad_ko.__main__ import main

    out = tmp_path / "mlp.npz"
    assert main(["train", "--out", str(out), "--quiet"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    m = re.fullmatch(r"test accuracy: (\d\.\d{4})", last)
    assert m, last
    assert float(m.group(1)) >= 0.978
    assert out.exists()
    # the checkpoint evaluates to the same number
    assert main(["evaluate", str(out)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == last
    state = torch.load(out)
    assert state["1.weight"].shape == (512, 784) and state["3.weight"].shape == (10, 512)
    np.testing.assert_array_equal(state["3.bias"].numpy().shape, (10,))
