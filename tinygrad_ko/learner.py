"""A fastai-shaped Learner: DataLoaders + model + loss + optimizer, with fit, fit_one_cycle, a
recorder and fastai's epoch table.

    dls = DataLoaders(train_dl, valid_dl)
    learn = Learner(dls, nn.Linear(28*28, 1), opt_func=SGD, loss_func=mnist_loss, metrics=batch_accuracy)
    learn.fit(10, lr=1.0)
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import serialization
from .api.creation import cat
from .autograd.grad_mode import no_grad
from .tensor import Tensor

__all__ = [
    "DataLoaders",
    "Learner",
    "Recorder",
    "Callback",
    "accuracy",
    "error_rate",
    "batch_accuracy",
]


# ---- metrics ---------------------------------------------------------------------------------------
def accuracy(inp: Tensor, targ: Tensor, axis: int = -1) -> Tensor:
    """Multi-class accuracy: argmax of the predictions equals the target."""
    pred = inp.argmax(dim=axis)
    return (pred == targ.reshape(pred.shape)).float().mean()


def error_rate(inp: Tensor, targ: Tensor, axis: int = -1) -> Tensor:
    return 1.0 - accuracy(inp, targ, axis)


def batch_accuracy(xb: Tensor, yb: Tensor) -> Tensor:
    """The fastai book's binary accuracy: sigmoid, then a 0.5 threshold."""
    correct = (xb.sigmoid() > 0.5) == yb.reshape(xb.shape).bool()
    return correct.float().mean()


def _metric_name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__name__", type(fn).__name__)


# ---- data ------------------------------------------------------------------------------------------
class DataLoaders:
    """A pair (or more) of DataLoaders: ``dls.train``, ``dls.valid``, ``dls[0]``."""

    def __init__(self, *loaders: Any) -> None:
        if len(loaders) < 2:
            raise ValueError("DataLoaders needs at least a training and a validation DataLoader")
        self.loaders = list(loaders)

    @property
    def train(self) -> Any:
        return self.loaders[0]

    @property
    def valid(self) -> Any:
        return self.loaders[1]

    def __getitem__(self, i: int) -> Any:
        return self.loaders[i]

    def __len__(self) -> int:
        return len(self.loaders)


# ---- callbacks -------------------------------------------------------------------------------------
class Callback:
    """Override any of before_fit, before_epoch, before_batch, after_batch, after_epoch, after_fit;
    each receives the Learner (``self.learn`` is set too)."""

    learn: Learner


class Recorder(Callback):
    """Keeps what fastai's recorder keeps: per-batch losses and lrs, per-epoch values."""

    def __init__(self) -> None:
        self.losses: list[float] = []
        self.lrs: list[float] = []
        self.values: list[list[float]] = []
        self.metric_names: list[str] = []

    def plot_loss(self, skip_start: int = 5, with_valid: bool = True) -> Any:
        try:
            import matplotlib.pyplot as plt
        except ImportError as e:
            raise ImportError("plot_loss needs matplotlib: pip install 'tinygrad_ko[notebooks]'") from e
        fig, ax = plt.subplots()
        ax.plot(range(skip_start, len(self.losses)), self.losses[skip_start:], label="train")
        if with_valid and self.values:
            per_epoch = len(self.losses) // len(self.values)
            xs = [(i + 1) * per_epoch - 1 for i in range(len(self.values))]
            ax.plot(xs, [v[1] for v in self.values], label="valid")
        ax.set_xlabel("batch")
        ax.set_ylabel("loss")
        ax.legend()
        return ax


# ---- the Learner -------------------------------------------------------------------------------------
def _detach(x: Any) -> Any:
    return x.detach() if isinstance(x, Tensor) else x


def _batch_size(x: Any) -> int:
    if isinstance(x, Tensor):
        return x.shape[0] if x.ndim else 1
    if isinstance(x, (tuple, list)) and x:
        return _batch_size(x[0])
    return len(x)


class Learner:
    """fastai's Learner, for our engine: ``fit``, ``fit_one_cycle``, ``validate``, ``get_preds``,
    ``predict``, ``save``/``load`` and ``recorder``."""

    def __init__(
        self,
        dls: Any,
        model: Any,
        loss_func: Callable[[Any, Any], Tensor] | None = None,
        opt_func: Callable[..., Any] | None = None,
        lr: float = 1e-3,
        metrics: Any = None,
        cbs: Sequence[Callback] | Callback | None = None,
        path: str | os.PathLike = ".",
        model_dir: str = "models",
        quiet: bool = False,
    ) -> None:
        if opt_func is None:
            from .optim import SGD

            opt_func = SGD
        if loss_func is None:
            loss_func = getattr(dls, "loss_func", None)
            if loss_func is None:
                raise ValueError("Learner needs a loss_func")
        self.dls, self.model, self.loss_func, self.opt_func, self.lr = dls, model, loss_func, opt_func, lr
        if metrics is None:
            metrics = []
        self.metrics = list(metrics) if isinstance(metrics, (list, tuple)) else [metrics]
        self.recorder = Recorder()
        self.cbs: list[Callback] = [self.recorder]
        for cb in [cbs] if isinstance(cbs, Callback) else list(cbs or []):
            self.add_cb(cb)
        self.path, self.model_dir, self.quiet = str(path), model_dir, quiet
        self.opt: Any = None
        self.epoch = 0
        self.n_epoch = 0

    # ---- callbacks --------------------------------------------------------------------------------
    def add_cb(self, cb: Callback) -> Learner:
        cb.learn = self
        self.cbs.append(cb)
        return self

    def _event(self, name: str) -> None:
        for cb in self.cbs:
            fn = getattr(cb, name, None)
            if fn is not None:
                fn(self) if _takes_arg(fn) else fn()

    # ---- optimizer ----------------------------------------------------------------------------------
    def create_opt(self, lr: float | None = None) -> None:
        self.opt = self.opt_func(self.model.parameters(), lr if lr is not None else self.lr)

    def _set_lr(self, lr: float) -> None:
        groups = getattr(self.opt, "param_groups", None)
        if groups is not None:
            for g in groups:
                g["lr"] = lr
        elif hasattr(self.opt, "lr"):
            self.opt.lr = lr

    def _current_lr(self) -> float:
        groups = getattr(self.opt, "param_groups", None)
        if groups:
            return float(groups[0]["lr"])
        return float(getattr(self.opt, "lr", float("nan")))

    # ---- training -----------------------------------------------------------------------------------
    def fit(self, n_epoch: int, lr: float | None = None, cbs: Sequence[Callback] | None = None) -> None:
        """Train for ``n_epoch`` epochs at a constant learning rate."""
        if self.opt is None:
            self.create_opt(lr)
        elif lr is not None:
            self._set_lr(lr)
        self._fit(n_epoch, scheduler=None, extra_cbs=cbs)

    def fit_one_cycle(
        self,
        n_epoch: int,
        lr_max: float | None = None,
        div: float = 25.0,
        div_final: float = 1e5,
        pct_start: float = 0.25,
    ) -> None:
        """fastai's one-cycle schedule (OneCycleLR stepped every batch)."""
        from .optim.lr_scheduler import OneCycleLR

        lr_max = lr_max if lr_max is not None else self.lr
        if self.opt is None:
            self.create_opt(lr_max)
        if getattr(self.opt, "param_groups", None) is None:
            raise TypeError(
                "fit_one_cycle needs an optimizer with param_groups (tinygrad_ko.optim.*); "
                f"{type(self.opt).__name__} has none - use fit() instead"
            )
        total = n_epoch * len(self.dls.train)
        sched = OneCycleLR(
            self.opt,
            max_lr=lr_max,
            total_steps=total,
            pct_start=pct_start,
            div_factor=div,
            final_div_factor=div_final / div,
        )
        self._fit(n_epoch, scheduler=sched)

    def _fit(self, n_epoch: int, scheduler: Any, extra_cbs: Sequence[Callback] | None = None) -> None:
        extra = list(extra_cbs or [])
        for cb in extra:
            self.add_cb(cb)
        self.n_epoch = n_epoch
        names = ["epoch", "train_loss", "valid_loss"] + [_metric_name(m) for m in self.metrics] + ["time"]
        self.recorder.metric_names = names[1:-1]
        table = _Table(names, quiet=self.quiet)
        try:
            self._event("before_fit")
            for epoch in range(n_epoch):
                self.epoch = epoch
                self._event("before_epoch")
                start = time.perf_counter()
                train_loss = self._train_epoch(scheduler, epoch, n_epoch)
                valid = self.validate()
                values = [train_loss] + valid
                self.recorder.values.append(values)
                table.row([epoch] + values + [time.perf_counter() - start])
                self._event("after_epoch")
            self._event("after_fit")
        finally:
            for cb in extra:
                self.cbs.remove(cb)

    def _train_epoch(self, scheduler: Any, epoch: int, n_epoch: int) -> float:
        self.model.train()
        total, count = 0.0, 0
        # the bar only counts: it never iterates the DataLoader itself (tqdm.auto's asyncio class
        # calls iter() on what it wraps when it is made, and every iter() of a shuffling DataLoader
        # draws a permutation: a second draw would change the batch order on a terminal only)
        dl = self.dls.train
        bar = _progress(len(dl) if hasattr(dl, "__len__") else None, f"epoch {epoch + 1}/{n_epoch}", self.quiet)
        for xb, yb in dl:
            self.xb, self.yb = xb, yb
            self._event("before_batch")
            self.pred = self.model(xb)
            self.loss = self.loss_func(self.pred, yb)
            self.loss.backward()
            self.opt.step()
            self.opt.zero_grad()
            loss = self.loss.item()
            n = _batch_size(xb)
            total += loss * n
            count += n
            self.recorder.losses.append(loss)
            self.recorder.lrs.append(self._current_lr())
            if scheduler is not None:
                scheduler.step()
            if bar is not None:
                bar.set_postfix_str(f"loss {loss:.4f}", refresh=False)
                bar.update()
            self._event("after_batch")
        if bar is not None:
            bar.close()
        return total / max(count, 1)

    def validate(self, dl: Any = None) -> list[float]:
        """[valid_loss, *metrics] over ``dl`` (default: the validation set), weighted by batch size."""
        dl = self.dls.valid if dl is None else dl
        self.model.eval()
        loss_sum, count = 0.0, 0
        metric_sums = [0.0] * len(self.metrics)
        with no_grad():
            for xb, yb in dl:
                pred = self.model(xb)
                n = _batch_size(xb)
                loss_sum += float(self.loss_func(pred, yb).item()) * n
                for i, m in enumerate(self.metrics):
                    metric_sums[i] += float(_as_float(m(pred, yb))) * n
                count += n
        self.model.train()
        if count == 0:
            return [math.nan] * (1 + len(self.metrics))
        return [loss_sum / count] + [s / count for s in metric_sums]

    def get_preds(self, dl: Any = None, with_loss: bool = False) -> tuple[Tensor, ...]:
        """(predictions, targets) over ``dl`` (default: the validation set)."""
        dl = self.dls.valid if dl is None else dl
        self.model.eval()
        preds, targs = [], []
        with no_grad():
            for xb, yb in dl:
                preds.append(_detach(self.model(xb)))
                targs.append(_detach(yb))
        self.model.train()
        p, t = cat(preds), cat(targs)
        if with_loss:
            return p, t, self.loss_func(p, t)
        return p, t

    def predict(self, item: Any) -> Tensor:
        """The model's output for one item (a batch of one is made and removed)."""
        x = item if isinstance(item, Tensor) else Tensor(np.asarray(item, dtype=np.float32))
        self.model.eval()
        with no_grad():
            out = self.model(x.unsqueeze(0))
        self.model.train()
        return out[0]

    # ---- persistence --------------------------------------------------------------------------------
    def _file(self, name: str) -> str:
        """A name with a suffix (.npz, or .safetensors for PyTorch) or a directory is a path as given;
        a bare name goes to path/model_dir/name.npz, as fastai's does to .pth."""
        if name.endswith((".npz", ".safetensors")):
            return name
        if os.sep in name:
            return name + ".npz"
        return os.path.join(self.path, self.model_dir, name + ".npz")

    def save(self, name: str) -> str:
        """Save the model's state_dict (atomically) and return the file's path."""
        path = self._file(name)
        serialization.save(self.model.state_dict(), path)
        return path

    def load(self, name: str) -> Learner:
        self.model.load_state_dict(serialization.load(self._file(name)))
        return self


def _as_float(x: Any) -> float:
    return x.item() if isinstance(x, Tensor) else float(x)


def _takes_arg(fn: Callable[..., Any]) -> bool:
    import inspect

    try:
        return len(inspect.signature(fn).parameters) >= 1
    except (TypeError, ValueError):
        return False


def _progress(total: int | None, desc: str, quiet: bool) -> Any:
    """A tqdm bar of ``total`` steps on a terminal, advanced by hand; None otherwise (logs get one
    line per epoch). The bar is given no iterable, so showing it cannot change what is computed."""
    if quiet or not sys.stderr.isatty():
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=False, file=sys.stderr)


class _Table:
    """fastai's epoch table: a header, then one row per epoch."""

    def __init__(self, names: list[str], quiet: bool) -> None:
        self.names, self.quiet = names, quiet
        self.widths = [max(len(n), 10) for n in names]
        self.widths[0] = max(len(names[0]), 5)
        if not quiet:
            print("  ".join(n.ljust(w) for n, w in zip(names, self.widths)), flush=True)

    def row(self, values: list[Any]) -> None:
        if self.quiet:
            return
        last = len(values) - 1
        cells = []
        for i, (v, w) in enumerate(zip(values, self.widths)):
            if i == 0:
                cells.append(str(v).ljust(w))
            elif i == last:
                cells.append(time.strftime("%M:%S", time.gmtime(v)).ljust(w))
            else:
                cells.append(f"{v:.6f}".ljust(w))
        print("  ".join(cells), flush=True)
