"""Command line: ``python -m tinygrad_ko train | evaluate | graph | convert`` (also the ``tinygrad-ko`` script).

    python -m tinygrad_ko train                      # Dense(512)+RMSprop on MNIST, 5 epochs
    python -m tinygrad_ko train --model cnn          # the small CNN (Adam, one-cycle, 2 epochs)
    python -m tinygrad_ko train --out mlp.safetensors
    python -m tinygrad_ko evaluate checkpoints/mnist-mlp.npz
    python -m tinygrad_ko graph --model mlp --out graph.svg
    python -m tinygrad_ko graph --model mlp --animate backprop.html   # watch backward run, step by step
    python -m tinygrad_ko convert resnet50.pth resnet50.safetensors --check resnet50   # needs PyTorch

``train`` ends with the line ``test accuracy: 0.9812`` so scripts can read it.

Every option is checked before any data is loaded or any work is done. A mistake the user can fix
(an option, a path, a checkpoint, a missing dataset) ends with one line ``error: ...`` on stderr and
exit status 2, and nothing is written; a traceback means a bug. A checkpoint is written only by a
run that trained, atomically (a temporary file in the same directory, then a rename), with the
permissions the umask gives (0666 & ~umask), so an interrupted or failed run leaves an existing
checkpoint as it was. With the same seed and thread count a run gives bit-identical numbers and
checkpoint bytes whether its output goes to a terminal (progress bar), a pipe or ``--quiet``.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import pickle
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn

import numpy as np

MODELS = ("linear", "mlp", "cnn", "resnet18", "resnet-small")
DATASETS = ("mnist", "mnist-sample", "fashion-mnist")
OPTIMIZERS = ("sgd", "rmsprop", "adam")
NUM_CLASSES = {"mnist": 10, "mnist-sample": 2, "fashion-mnist": 10}

# per-model defaults: (optimizer, lr, batch size, epochs, one-cycle schedule); with the one-cycle
# schedule (fastai's fit_one_cycle) the lr is the peak rate
DEFAULTS = {
    "linear": ("sgd", 0.1, 128, 5, False),
    "mlp": ("rmsprop", 1e-3, 128, 5, False),  # "Deep Learning with Python" ch.2
    # a constant Adam 1e-3 stops around 0.988 after 2 epochs; one-cycle to 5e-3 reaches 0.99
    "cnn": ("adam", 5e-3, 64, 2, True),
    # SGD (momentum 0.9) at a constant 0.1 stopped at 0.965-0.973 after an epoch, one-cycle SGD to 0.1
    # at 0.9745; one-cycle Adam to 2e-3 gave 0.9914 / 0.9890 (seeds 0 / 1) in one epoch and 0.9937 in two
    "resnet18": ("adam", 2e-3, 64, 2, True),
    "resnet-small": ("sgd", 0.1, 64, 1, False),
}

# what each model's defaults printed on full MNIST (seed 0), and the time they took on 2 idle cores
EXPECTED = {
    "linear": "0.9168, seconds",
    "mlp": "0.9793, about 20 s",
    "cnn": ">= 0.99, about 2 minutes",
    "resnet18": "0.9937 (seed 1: 0.9935), about 9 minutes",
    "resnet-small": "not measured on full MNIST",
}
GRAPH_FORMATS = ("svg", "png", "pdf", "dot")


class UsageError(Exception):
    """A mistake the user can fix: reported as one line ``error: ...`` and exit status 2."""


# ---- option checks ----------------------------------------------------------------------------------
def _number(kind: type, minimum: float, strict: bool, what: str) -> Any:
    """An argparse ``type`` that parses ``kind`` and requires it to be > (strict) or >= ``minimum``."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not math.isfinite(value) or value < minimum or (strict and value == minimum):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text}")
        return value

    return parse


POSITIVE_INT = _number(int, 1, False, "an integer >= 1")
NONNEGATIVE_INT = _number(int, 0, False, "an integer >= 0")
POSITIVE_FLOAT = _number(float, 0.0, True, "a number > 0")


def check_output(path: str, option: str = "--out") -> tuple[str, list[str]]:
    """Check that ``path`` can be written as a file, before any work is done.

    Returns the path to write (a symlink's target) and the directories created for it (oldest
    first; ``remove_dirs`` takes them away again if the run fails). Raises UsageError when ``path``
    is a directory or another non-regular file, when a parent is a regular file, or when a test
    file cannot be created in its directory.
    """
    if os.path.islink(path):
        path = os.path.realpath(path)
    shown = f"{option} {path}"
    if os.path.isdir(path):
        raise UsageError(f"{shown} is a directory; give a file name, e.g. {os.path.join(path, 'model.npz')}")
    if os.path.lexists(path) and not os.path.isfile(path):
        raise UsageError(f"{shown} exists and is not a regular file; it will not be replaced")
    directory = os.path.dirname(os.path.abspath(path))
    missing: list[str] = []
    probe = directory
    while not os.path.lexists(probe):
        missing.append(probe)
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe):
        raise UsageError(f"{shown}: {probe} is not a directory")
    created: list[str] = []
    try:
        for d in reversed(missing):
            os.mkdir(d)
            created.append(d)
        fd, tmp = tempfile.mkstemp(prefix=".tinygrad_ko-write-test-", dir=directory)
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        remove_dirs(created)
        reason = e.strerror or type(e).__name__
        raise UsageError(f"{shown}: cannot write in {directory} ({reason})") from None
    return path, created


def remove_dirs(created: list[str]) -> None:
    """Remove the directories ``check_output`` created (newest first), if they are still empty."""
    for d in reversed(created):
        with contextlib.suppress(OSError):
            os.rmdir(d)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_file(path: str, mode: str = "wb") -> Iterator[Any]:
    """Open a temporary file next to ``path``; on success it gets the umask's permissions and
    replaces ``path`` atomically, on failure it is removed and ``path`` is left as it was."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".part", dir=directory)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# ---- data and models --------------------------------------------------------------------------------
def load_arrays(dataset: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """(x_train, y_train, x_test, y_test, num_classes) with x as float32 in [0, 1], shape (N, 1, 28, 28).

    Raises UsageError (with the data module's account of every source it tried) when the dataset
    cannot be found.
    """
    from . import data

    loaders = {
        "mnist": data.load_mnist,
        "fashion-mnist": data.load_fashion_mnist,
        "mnist-sample": data.load_mnist_sample,
    }
    if dataset not in loaders:
        raise UsageError(f"unknown dataset {dataset!r}; choose from {', '.join(DATASETS)}")
    try:
        xtr, ytr, xte, yte = loaders[dataset]()
    except data.DatasetNotFoundError as e:
        raise UsageError(str(e)) from None
    if dataset == "mnist-sample":
        # the 3s and 7s become classes 0 and 1
        ytr, yte = (np.asarray(ytr) == np.max(ytr)).astype(np.int64), (np.asarray(yte) == np.max(yte)).astype(np.int64)

    def prep(x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, dtype=np.float32) / np.float32(255.0)).reshape(len(x), 1, 28, 28)

    return prep(xtr), np.asarray(ytr, dtype=np.int64), prep(xte), np.asarray(yte, dtype=np.int64), NUM_CLASSES[dataset]


def build_model(name: str, num_classes: int) -> Any:
    from . import nn

    if name == "linear":
        return nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, num_classes))
    if name == "mlp":
        model = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 512), nn.ReLU(), nn.Linear(512, num_classes))
        # the book's Keras Dense layers start from glorot_uniform weights and zero biases
        for layer in (model[1], model[3]):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
        return model
    from . import models

    if name == "cnn":
        return models.mnist_cnn(num_classes=num_classes)
    if name == "resnet18":
        return models.resnet18(num_classes=num_classes, in_channels=1)
    if name == "resnet-small":
        return models.resnet_small(num_classes=num_classes, in_channels=1)
    raise UsageError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")


def build_optimizer(name: str, params: Any, lr: float) -> Any:
    from . import optim

    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=0.9)
    if name == "rmsprop":
        # Keras' RMSprop defaults (rho=0.9, epsilon=1e-7), as "Deep Learning with Python" trains with them
        return optim.RMSprop(params, lr=lr, alpha=0.9, eps=1e-7)
    if name == "adam":
        return optim.Adam(params, lr=lr)
    raise UsageError(f"unknown optimizer {name!r}; choose from {', '.join(OPTIMIZERS)}")


def evaluate_model(model: Any, x: np.ndarray, y: np.ndarray, batch_size: int = 1000) -> float:
    from .api.creation import from_numpy
    from .autograd import no_grad

    model.eval()
    correct = 0
    with no_grad():
        for i in range(0, len(x), batch_size):
            out = model(from_numpy(x[i : i + batch_size]))
            correct += int((out.numpy().argmax(axis=1) == y[i : i + batch_size]).sum())
    model.train()
    return correct / len(x)


def _set_threads(args: argparse.Namespace) -> None:
    if getattr(args, "threads", None) is not None:
        from . import set_num_threads

        set_num_threads(args.threads)


# ---- commands ---------------------------------------------------------------------------------------
def cmd_train(args: argparse.Namespace) -> int:
    from . import manual_seed, serialization
    from .api.creation import from_numpy
    from .data import DataLoader, TensorDataset
    from .learner import DataLoaders, Learner, accuracy
    from .nn import functional

    opt_name, lr, batch_size, epochs, one_cycle = DEFAULTS[args.model]
    opt_name = args.opt or opt_name
    lr = args.lr if args.lr is not None else lr
    batch_size = args.batch_size if args.batch_size is not None else batch_size
    epochs = args.epochs if args.epochs is not None else epochs
    one_cycle = args.one_cycle if args.one_cycle is not None else one_cycle
    out, created = check_output(args.out or os.path.join("checkpoints", f"{args.dataset}-{args.model}.npz"))
    _set_threads(args)
    try:
        manual_seed(args.seed)
        start = time.perf_counter()
        xtr, ytr, xte, yte, classes = load_arrays(args.dataset)
        print(f"{args.dataset}: {len(xtr)} training and {len(xte)} test images, {classes} classes", flush=True)
        train_dl = DataLoader(TensorDataset(from_numpy(xtr), from_numpy(ytr)), batch_size=batch_size, shuffle=True)
        valid_dl = DataLoader(TensorDataset(from_numpy(xte), from_numpy(yte)), batch_size=1000)
        model = build_model(args.model, classes)
        learn = Learner(
            DataLoaders(train_dl, valid_dl),
            model,
            loss_func=functional.cross_entropy,
            opt_func=lambda params, lr: build_optimizer(opt_name, params, lr),
            lr=lr,
            metrics=accuracy,
            quiet=args.quiet,
        )
        schedule = "one-cycle, peak lr" if one_cycle else "lr"
        print(
            f"model {args.model}, optimizer {opt_name} {schedule} {lr:g}, batch {batch_size}, {epochs} epochs, "
            f"seed {args.seed}",
            flush=True,
        )
        # a diverging run overflows: the check below reports it in one line instead of NumPy's warnings
        with np.errstate(over="ignore", invalid="ignore"):
            if one_cycle:
                learn.fit_one_cycle(epochs, lr)
            else:
                learn.fit(epochs, lr)
        state = model.state_dict()
        bad = [k for k, v in state.items() if v.numpy().dtype.kind == "f" and not np.isfinite(v.numpy()).all()]
        if bad:
            raise UsageError(
                f"training diverged: {bad[0]} holds NaN/inf after {epochs} epochs at lr {lr:g}; "
                f"try a smaller --lr. {out} was not written"
            )
        acc = evaluate_model(model, xte, yte)
        meta = {
            "model": args.model,
            "dataset": args.dataset,
            "num_classes": classes,
            "test_accuracy": acc,
            "epochs": epochs,
            "optimizer": opt_name,
            "lr": lr,
            "one_cycle": one_cycle,
            "batch_size": batch_size,
            "seed": args.seed,
        }
        try:
            serialization.save(state, out, metadata=meta)
        except OSError as e:
            raise UsageError(f"could not write the checkpoint {out}: {e.strerror or e}") from None
    except BaseException:
        remove_dirs(created)
        raise
    print(f"checkpoint saved to {out} ({time.perf_counter() - start:.1f} s in all)", flush=True)
    print(f"test accuracy: {acc:.4f}", flush=True)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from . import serialization

    try:
        state, meta = serialization.load(args.path, with_metadata=True)
    except serialization.CheckpointError as e:
        raise UsageError(str(e)) from None
    if "model" not in meta or "dataset" not in meta:
        raise UsageError(
            f"{args.path} has no tinygrad_ko training metadata (model/dataset); was it written by "
            "`python -m tinygrad_ko train`?"
        )
    model_name, trained_on = meta["model"], meta["dataset"]
    if model_name not in MODELS:
        raise UsageError(f"{args.path} holds a {model_name!r} model, which is not one of {', '.join(MODELS)}")
    classes = meta.get("num_classes", NUM_CLASSES.get(trained_on))
    dataset = args.dataset or trained_on
    if dataset not in NUM_CLASSES:
        raise UsageError(f"{args.path} was trained on {dataset!r}, which is not one of {', '.join(DATASETS)}")
    if not isinstance(classes, int) or classes != NUM_CLASSES[dataset]:
        raise UsageError(
            f"{args.path} holds a {model_name} with {classes} classes (trained on {trained_on}), but {dataset} "
            f"has {NUM_CLASSES[dataset]} classes; evaluate it with --dataset {trained_on}"
        )
    model = build_model(model_name, classes)
    try:
        model.load_state_dict(state)
    except (RuntimeError, KeyError, ValueError) as e:
        # load_state_dict lists every mismatch on its own line: the first one says enough
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
        detail = lines[1] if len(lines) > 1 else lines[0] if lines else type(e).__name__
        more = f" (and {len(lines) - 2} more)" if len(lines) > 2 else ""
        raise UsageError(f"checkpoint {args.path} does not fit model {model_name!r}: {detail}{more}") from None
    _set_threads(args)
    _, _, xte, yte, _ = load_arrays(dataset)
    acc = evaluate_model(model, xte, yte)
    print(f"test accuracy: {acc:.4f}")
    return 0


def _graph_target(out: str) -> tuple[str, str]:
    """(path to write, format) for ``graph --out``; no suffix means SVG (``.svg`` is appended)."""
    if os.path.isdir(out):
        raise UsageError(f"--out {out} is a directory; give a file name, e.g. {os.path.join(out, 'graph.svg')}")
    ext = os.path.splitext(out)[1]
    fmt = ext[1:].lower()
    if not ext:
        return out + ".svg", "svg"
    if fmt == "gv":
        fmt = "dot"
    if fmt not in GRAPH_FORMATS:
        raise UsageError(f"--out {out}: unknown graph format {ext!r}; use .svg, .png, .pdf or .dot")
    return out, fmt


def _animate_target(path: str) -> str:
    """The page ``graph --animate`` writes: an .html file (no suffix: ``.html`` is appended)."""
    if os.path.isdir(path):
        raise UsageError(
            f"--animate {path} is a directory; give a file name, e.g. {os.path.join(path, 'backprop.html')}"
        )
    ext = os.path.splitext(path)[1].lower()
    if not ext:
        return path + ".html"
    if ext not in (".html", ".htm"):
        raise UsageError(f"--animate {path}: the backward explorer is an HTML page; give a .html file")
    return path


def cmd_graph(args: argparse.Namespace) -> int:
    # --animate alone writes the page only; --out (default graph.svg) draws the graph as before
    out = fmt = page = None
    if args.out is not None or args.animate is None:
        out, fmt = _graph_target(args.out or "graph.svg")
        if fmt != "dot" and shutil.which("dot") is None:
            from .viz import INSTALL_HINT

            raise UsageError(f"{INSTALL_HINT}\n(or write the DOT text with --out {os.path.splitext(out)[0]}.dot)")
    if args.animate is not None:
        page = _animate_target(args.animate)
    created: list[str] = []
    try:
        if out is not None:
            out, made = check_output(out)
            created += made
        if page is not None:
            page, made = check_output(page, "--animate")
            created += made
    except UsageError:
        remove_dirs(created)
        raise

    from . import manual_seed, viz
    from .api.creation import randint, randn
    from .nn import functional

    try:
        manual_seed(0)
        model = build_model(args.model, 10)
        x = randn(args.batch_size, 1, 28, 28)
        y = randint(0, 10, (args.batch_size,))
        with viz.record_inputs(**{"input batch": x, "targets": y}) as inputs:
            loss = functional.cross_entropy(model(x), y)
        if page is not None:
            # the training step's backward, recorded node by node (the same .grad as loss.backward())
            trace = viz.trace_backward(loss, params=model, inputs=inputs)
            trace.to_html(page)
        else:
            loss.backward()
        if out is not None:
            graph = viz.draw_graph(loss, params=model, inputs=inputs, show_grads=True, cluster_modules=True)
            if fmt == "dot":
                with atomic_file(out, "w") as f:
                    f.write(graph.source)
            else:
                viz.render(graph, out, format=fmt)
    except BaseException:
        remove_dirs(created)
        raise
    if out is not None:
        print(f"graph written to {out}")
    if page is not None:
        print(f"backward explorer written to {page} ({len(trace)} steps; open it in a browser)")
    return 0


# ---- the parser -------------------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line ``error: ...`` (and the --help hint), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def _model_help() -> str:
    lines = ["defaults per model (optimizer, lr, batch, epochs; on full MNIST, seed 0, 2 cores):"]
    for name, (opt, lr, batch, epochs, one_cycle) in DEFAULTS.items():
        sched = "one-cycle to " if one_cycle else ""
        lines.append(f"  {name:<13} {opt} {sched}{lr:g}, batch {batch}, {epochs} epochs: {EXPECTED[name]}")
    return "\n".join(lines)


CONVERT_CHECKS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "mlp", "linear", "cnn")


def cmd_convert(args: argparse.Namespace) -> int:
    """Convert a PyTorch checkpoint (a pickle, read by torch.load with weights_only=True) to
    .safetensors, which tinygrad_ko.load reads with no pickle. A dict holding the weights under
    "state_dict" or "model" is unwrapped, DataParallel's "module." prefix is removed, and with
    --check the weights are loaded into that model (strictly) before anything is written."""
    source = args.source
    if not os.path.isfile(source):
        raise UsageError(f"{source}: no such file")
    out = args.out or os.path.splitext(source)[0] + ".safetensors"
    if not out.endswith(".safetensors"):
        raise UsageError(f"{out}: the output of convert is a .safetensors file; give a name ending in .safetensors")
    if os.path.abspath(out) == os.path.abspath(source):
        raise UsageError(f"{out} is the source file; give another output name")
    try:
        import torch
    except ImportError:
        raise UsageError(
            "convert reads PyTorch's pickle format, so it needs PyTorch: python -m pip install torch "
            "(or run it on the machine where the .pth file was made)"
        ) from None
    out, created = check_output(out, option="out")
    try:
        try:
            obj = torch.load(source, map_location="cpu", weights_only=True)
        except Exception as e:
            if isinstance(e, pickle.UnpicklingError):
                reason = "it holds pickled Python objects besides tensors (a whole model?)"
            else:
                reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise UsageError(
                f"{source}: torch.load(weights_only=True) could not read it: {reason}; save "
                "model.state_dict() in PyTorch and convert that"
            ) from None
        state = _unwrap_state_dict(obj, source, torch)
        arrays = {}
        for key, value in state.items():
            if value.dtype in (torch.bfloat16, torch.float16):
                value = value.float()
            arrays[key] = value.detach().cpu().contiguous().numpy()
        if args.check:
            _check_fits(args.check, arrays, source)
        from . import serialization

        serialization.save(arrays, out, metadata={"converted_from": os.path.basename(source)})
    except BaseException:
        remove_dirs(created)
        raise
    print(f"{len(arrays)} tensors from {source} written to {out}", flush=True)
    return 0


def _unwrap_state_dict(obj: Any, source: str, torch: Any) -> dict[str, Any]:
    if isinstance(obj, dict):
        for key in ("state_dict", "model", "model_state_dict"):
            if isinstance(obj.get(key), dict) and not isinstance(obj.get(key), torch.Tensor):
                print(f"using the weights under {key!r} in {source}", flush=True)
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        what = type(obj).__name__ if not isinstance(obj, dict) else "a dict that is not name -> tensor"
        raise UsageError(
            f"{source} holds {what}, not a state dict; in PyTorch save model.state_dict() and convert that"
        )
    if all(k.startswith("module.") for k in obj):  # nn.DataParallel's wrapper
        obj = {k[len("module.") :]: v for k, v in obj.items()}
    return obj


def _check_fits(name: str, arrays: dict[str, np.ndarray], source: str) -> None:
    from . import models
    from .api.creation import from_numpy

    head = arrays.get("fc.weight", arrays.get("3.weight", arrays.get("1.weight")))
    classes = int(head.shape[0]) if head is not None and head.ndim == 2 else 1000
    if name in models.__all__:
        stem = arrays.get("conv1.weight")
        channels = int(stem.shape[1]) if stem is not None and stem.ndim == 4 else 3
        model = getattr(models, name)(num_classes=classes, in_channels=channels)
    else:
        model = build_model(name, classes)
    own = model.state_dict()
    missing = [k for k in own if k not in arrays]
    unexpected = [k for k in arrays if k not in own]
    if missing or unexpected:

        def some(keys: list[str]) -> str:
            return ", ".join(keys[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")

        parts = [f"{len(missing)} missing key(s) ({some(missing)})"] if missing else []
        parts += [f"{len(unexpected)} unexpected key(s) ({some(unexpected)})"] if unexpected else []
        raise UsageError(f"{source} does not fit {name}: " + "; ".join(parts) + ". Nothing was written")
    try:
        model.load_state_dict({k: from_numpy(v) for k, v in arrays.items()})
    except RuntimeError as e:
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
        raise UsageError(f"{source} does not fit {name}: {lines[1] if len(lines) > 1 else lines[0]}") from None


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m tinygrad_ko", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    t = sub.add_parser(
        "train",
        help="train an MNIST classifier and save a checkpoint",
        epilog=_model_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    t.add_argument("--model", choices=MODELS, default="mlp")
    t.add_argument("--dataset", choices=DATASETS, default="mnist")
    t.add_argument("--epochs", type=POSITIVE_INT, help="number of epochs (>= 1); default: per model, below")
    t.add_argument("--batch-size", type=POSITIVE_INT, help="training batch size (>= 1)")
    t.add_argument("--lr", type=POSITIVE_FLOAT, help="learning rate (> 0; the peak with --one-cycle)")
    t.add_argument("--opt", choices=OPTIMIZERS)
    t.add_argument("--seed", type=NONNEGATIVE_INT, default=0)
    t.add_argument("--threads", type=POSITIVE_INT, help="threads for the kernels (default: all cores)")
    t.add_argument(
        "--out", help="checkpoint path (.npz, or .safetensors for PyTorch); default checkpoints/<dataset>-<model>.npz"
    )
    t.add_argument(
        "--one-cycle",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="fit_one_cycle (--lr is the peak) instead of a constant lr; default: per model, below",
    )
    t.add_argument("--quiet", action="store_true", help="no progress bar or epoch table")
    t.set_defaults(func=cmd_train)
    e = sub.add_parser("evaluate", help="test accuracy of a saved checkpoint")
    e.add_argument("path", help="a checkpoint written by train (.npz or .safetensors)")
    e.add_argument("--dataset", choices=DATASETS, help="default: the one the checkpoint was trained on")
    e.add_argument("--threads", type=POSITIVE_INT, help="threads for the kernels (default: all cores)")
    e.set_defaults(func=cmd_evaluate)
    g = sub.add_parser("graph", help="render the computation graph of one training step")
    g.add_argument("--model", choices=MODELS, default="mlp")
    g.add_argument("--batch-size", type=POSITIVE_INT, default=4)
    g.add_argument(
        "--out", help="output file: .svg/.png/.pdf (needs Graphviz) or .dot; default graph.svg unless --animate"
    )
    g.add_argument(
        "--animate",
        metavar="PAGE.html",
        help="write the backward explorer: an offline HTML page that steps through the backward pass",
    )
    g.set_defaults(func=cmd_graph)
    c = sub.add_parser(
        "convert",
        help="turn a PyTorch .pth/.pt state dict into a .safetensors file (needs PyTorch installed)",
        description=cmd_convert.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    c.add_argument("source", help="a file written by torch.save (a state dict, or a dict holding one)")
    c.add_argument("out", nargs="?", help="the .safetensors file to write; default: the source's name")
    c.add_argument(
        "--check", choices=sorted(CONVERT_CHECKS), help="load the weights into this tinygrad_ko model first (strict)"
    )
    c.set_defaults(func=cmd_convert)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; nothing was written", file=sys.stderr, flush=True)
        return 130


if __name__ == "__main__":
    sys.exit(main())
