"""Command line: ``python -m tinygrad_ko train | evaluate | graph`` (also the ``tinygrad-ko`` script).

    python -m tinygrad_ko train                      # Dense(512)+RMSprop on MNIST, 5 epochs
    python -m tinygrad_ko train --model cnn          # the small CNN (Adam, one-cycle, 2 epochs)
    python -m tinygrad_ko evaluate checkpoints/mnist-mlp.npz
    python -m tinygrad_ko graph --model mlp --out graph.svg

``train`` ends with the line ``test accuracy: 0.9812`` so scripts can read it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

MODELS = ("linear", "mlp", "cnn", "resnet18", "resnet-small")
DATASETS = ("mnist", "mnist-sample", "fashion-mnist")
OPTIMIZERS = ("sgd", "rmsprop", "adam")

# per-model defaults: (optimizer, lr, batch size, epochs, one-cycle schedule); with the one-cycle
# schedule (fastai's fit_one_cycle) the lr is the peak rate
DEFAULTS = {
    "linear": ("sgd", 0.1, 128, 5, False),
    "mlp": ("rmsprop", 1e-3, 128, 5, False),  # "Deep Learning with Python" ch.2
    # a constant Adam 1e-3 stops around 0.988 after 2 epochs; one-cycle to 5e-3 reaches 0.99
    "cnn": ("adam", 5e-3, 64, 2, True),
    "resnet18": ("sgd", 0.1, 64, 1, False),
    "resnet-small": ("sgd", 0.1, 64, 1, False),
}


def load_arrays(dataset: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """(x_train, y_train, x_test, y_test, num_classes) with x as float32 in [0, 1], shape (N, 1, 28, 28)."""
    from . import data

    if dataset == "mnist":
        xtr, ytr, xte, yte = data.load_mnist()
        classes = 10
    elif dataset == "fashion-mnist":
        xtr, ytr, xte, yte = data.load_fashion_mnist()
        classes = 10
    elif dataset == "mnist-sample":
        xtr, ytr, xte, yte = data.load_mnist_sample()
        # the 3s and 7s become classes 0 and 1
        ytr, yte = (np.asarray(ytr) == np.max(ytr)).astype(np.int64), (np.asarray(yte) == np.max(yte)).astype(np.int64)
        classes = 2
    else:
        raise SystemExit(f"unknown dataset {dataset!r}; choose from {', '.join(DATASETS)}")

    def prep(x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, dtype=np.float32) / np.float32(255.0)).reshape(len(x), 1, 28, 28)

    return prep(xtr), np.asarray(ytr, dtype=np.int64), prep(xte), np.asarray(yte, dtype=np.int64), classes


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
    raise SystemExit(f"unknown model {name!r}; choose from {', '.join(MODELS)}")


def build_optimizer(name: str, params: Any, lr: float) -> Any:
    from . import optim

    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=0.9)
    if name == "rmsprop":
        # Keras' RMSprop defaults (rho=0.9, epsilon=1e-7), as "Deep Learning with Python" trains with them
        return optim.RMSprop(params, lr=lr, alpha=0.9, eps=1e-7)
    if name == "adam":
        return optim.Adam(params, lr=lr)
    raise SystemExit(f"unknown optimizer {name!r}; choose from {', '.join(OPTIMIZERS)}")


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


def cmd_train(args: argparse.Namespace) -> int:
    from . import manual_seed, serialization
    from .api.creation import from_numpy
    from .data import DataLoader, TensorDataset
    from .learner import DataLoaders, Learner, accuracy
    from .nn import functional

    opt_name, lr, batch_size, epochs, one_cycle = DEFAULTS[args.model]
    opt_name = args.opt or opt_name
    lr = args.lr if args.lr is not None else lr
    batch_size = args.batch_size or batch_size
    epochs = args.epochs if args.epochs is not None else epochs
    one_cycle = args.one_cycle if args.one_cycle is not None else one_cycle

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
    if one_cycle:
        learn.fit_one_cycle(epochs, lr)
    else:
        learn.fit(epochs, lr)
    acc = evaluate_model(model, xte, yte)
    out = args.out or os.path.join("checkpoints", f"{args.dataset}-{args.model}.npz")
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
    serialization.save(model.state_dict(), out, metadata=meta)
    print(f"checkpoint saved to {out} ({time.perf_counter() - start:.1f} s in all)", flush=True)
    print(f"test accuracy: {acc:.4f}", flush=True)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from . import serialization

    try:
        state, meta = serialization.load(args.path, with_metadata=True)
    except serialization.CheckpointError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if "model" not in meta or "dataset" not in meta:
        print(
            f"error: {args.path} has no tinygrad_ko training metadata (model/dataset); was it written by "
            "`python -m tinygrad_ko train`?",
            file=sys.stderr,
        )
        return 2
    dataset = args.dataset or meta["dataset"]
    _, _, xte, yte, classes = load_arrays(dataset)
    model = build_model(meta["model"], int(meta.get("num_classes", classes)))
    try:
        model.load_state_dict(state)
    except (RuntimeError, KeyError, ValueError) as e:
        print(f"error: checkpoint {args.path} does not fit model {meta['model']!r}: {e}", file=sys.stderr)
        return 2
    acc = evaluate_model(model, xte, yte)
    print(f"test accuracy: {acc:.4f}")
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    from . import manual_seed, viz
    from .api.creation import randint, randn
    from .nn import functional

    manual_seed(0)
    model = build_model(args.model, 10)
    x = randn(args.batch_size, 1, 28, 28)
    y = randint(0, 10, (args.batch_size,))
    loss = functional.cross_entropy(model(x), y)
    loss.backward()
    graph = viz.draw_graph(loss, params=dict(model.named_parameters()), show_grads=True, cluster_modules=True)
    fmt = os.path.splitext(args.out)[1].lstrip(".") or "svg"
    if fmt == "dot":
        with open(args.out, "w") as f:
            f.write(graph.source)
    else:
        try:
            path = viz.render(graph, args.out, format=fmt)
        except viz.GraphvizNotFoundError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        print(f"graph written to {path}")
        return 0
    print(f"graph written to {args.out}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tinygrad_ko", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train an MNIST classifier and save a checkpoint")
    t.add_argument("--model", choices=MODELS, default="mlp")
    t.add_argument("--dataset", choices=DATASETS, default="mnist")
    t.add_argument("--epochs", type=int)
    t.add_argument("--batch-size", type=int)
    t.add_argument("--lr", type=float)
    t.add_argument("--opt", choices=OPTIMIZERS)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", help="checkpoint path (.npz); default checkpoints/<dataset>-<model>.npz")
    t.add_argument(
        "--one-cycle",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="fit_one_cycle (--lr is the peak) instead of a constant lr; default: on for cnn, off otherwise",
    )
    t.add_argument("--quiet", action="store_true", help="no progress bar or epoch table")
    t.set_defaults(func=cmd_train)
    e = sub.add_parser("evaluate", help="test accuracy of a saved checkpoint")
    e.add_argument("path")
    e.add_argument("--dataset", choices=DATASETS)
    e.set_defaults(func=cmd_evaluate)
    g = sub.add_parser("graph", help="render the computation graph of one training step")
    g.add_argument("--model", choices=MODELS, default="mlp")
    g.add_argument("--batch-size", type=int, default=4)
    g.add_argument("--out", default="graph.svg", help="output file: .svg/.png/.pdf (needs Graphviz) or .dot")
    g.set_defaults(func=cmd_graph)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
