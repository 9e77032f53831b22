"""Training-loop harness shared by bench_mlp.py and bench_cnn.py.

One network ``spec`` (see numpy_floor.py) drives all three implementations:

- tinygrad_ko: the user's model (an ``nn.Sequential``; for the CNN ``models.mnist_cnn()`` itself,
  read layer by layer into a spec by :func:`spec_of`), trained by the idiomatic loop:
  ``DataLoader(TensorDataset(x, y), shuffle=True, generator=...)``, ``model(xb)``,
  ``F.cross_entropy``, ``opt.zero_grad()``, ``loss.backward()``, ``opt.step()``.
- the NumPy floor: ``numpy_floor.Net`` from the spec.
- PyTorch: ``torch.nn.Sequential`` built from the spec, the same loop.

All three start from the same initial weights (drawn once, PyTorch's default init scheme, copied into
each), see the same batches in the same order (each epoch's order is one
``np.random.default_rng(seed).permutation`` draw, the stream the tinygrad_ko DataLoader uses), and
use float32 end to end. Every implementation gathers its batches with the same NumPy fancy index.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import _common as common
import numpy as np
import numpy_floor as NF

import tinygrad_ko as tg
import tinygrad_ko.nn.functional as TF
from tinygrad_ko import nn as tnn
from tinygrad_ko import optim as toptim
from tinygrad_ko.data import DataLoader, TensorDataset, load_mnist

OPT_NAMES = {"sgd": "SGD", "rmsprop": "RMSprop", "adam": "Adam"}


# ---- data ----------------------------------------------------------------------------------------
def mnist_float32(image: bool) -> tuple[np.ndarray, np.ndarray]:
    """MNIST train as float32 in [0, 1]: (60000, 784) or (60000, 1, 28, 28); int64 labels."""
    x, y, _, _ = load_mnist()
    xf = x.astype(np.float32)
    xf *= np.float32(1 / 255)
    return (xf.reshape(-1, 1, 28, 28) if image else xf.reshape(-1, 784)), y.astype(np.int64, copy=False)


# ---- the spec of a tinygrad_ko model ----------------------------------------------------------------
def _pair(v: Any) -> tuple[int, int]:
    return (int(v[0]), int(v[1])) if isinstance(v, (tuple, list)) else (int(v), int(v))


def spec_of(model: Any) -> list[tuple]:
    """Read a tinygrad_ko ``nn.Sequential`` into a layer spec, refusing what the floor can't mirror."""
    from tinygrad_ko.nn.conv import Conv2d, MaxPool2d

    spec: list[tuple] = []
    for m in model.children():
        if isinstance(m, Conv2d):
            k, s, d, p = _pair(m.kernel_size), _pair(m.stride), _pair(m.dilation), m.padding
            if isinstance(p, str) or k[0] != k[1] or s != (1, 1) or d != (1, 1) or m.groups != 1 or m.bias is None:
                raise NotImplementedError(f"the benchmark's mirrors support square stride-1 convs with bias: {m}")
            p = _pair(p)
            if p[0] != p[1]:
                raise NotImplementedError(f"asymmetric padding: {m}")
            spec.append(("conv", m.in_channels, m.out_channels, k[0], p[0]))
        elif isinstance(m, MaxPool2d):
            k, s = _pair(m.kernel_size), _pair(m.stride)
            if k != s or k[0] != k[1] or _pair(m.padding) != (0, 0) or _pair(m.dilation) != (1, 1) or m.ceil_mode:
                raise NotImplementedError(f"the benchmark's mirrors support k x k pools with stride k: {m}")
            spec.append(("pool", k[0]))
        elif isinstance(m, tnn.ReLU):
            spec.append(("relu",))
        elif isinstance(m, tnn.Flatten):
            if m.start_dim != 1 or m.end_dim != -1:
                raise NotImplementedError(f"Flatten({m.start_dim}, {m.end_dim})")
            spec.append(("flatten",))
        elif isinstance(m, tnn.Linear):
            if m.bias is None:
                raise NotImplementedError(f"Linear without bias: {m}")
            spec.append(("linear", m.in_features, m.out_features))
        else:
            raise NotImplementedError(f"the benchmark's mirrors do not know {type(m).__name__}: update spec_of")
    return spec


def describe(spec: list[tuple]) -> str:
    parts = []
    for layer in spec:
        kind = layer[0]
        if kind == "conv":
            parts.append(f"conv{layer[3]}x{layer[3]}({layer[1]}->{layer[2]}, pad {layer[4]})")
        elif kind == "linear":
            parts.append(f"linear({layer[1]}->{layer[2]})")
        elif kind == "pool":
            parts.append(f"maxpool{layer[1]}")
        else:
            parts.append(kind)
    return " - ".join(parts)


# ---- models -------------------------------------------------------------------------------------
def tg_model(spec: list[tuple]) -> Any:
    from tinygrad_ko.nn.conv import Conv2d, MaxPool2d

    layers: list[Any] = []
    for layer in spec:
        kind = layer[0]
        if kind == "linear":
            layers.append(tnn.Linear(layer[1], layer[2]))
        elif kind == "conv":
            layers.append(Conv2d(layer[1], layer[2], kernel_size=layer[3], padding=layer[4]))
        elif kind == "relu":
            layers.append(tnn.ReLU())
        elif kind == "pool":
            layers.append(MaxPool2d(layer[1]))
        elif kind == "flatten":
            layers.append(tnn.Flatten())
    return tnn.Sequential(*layers)


def torch_model(torch: Any, spec: list[tuple]) -> Any:
    layers: list[Any] = []
    for layer in spec:
        kind = layer[0]
        if kind == "linear":
            layers.append(torch.nn.Linear(layer[1], layer[2]))
        elif kind == "conv":
            layers.append(torch.nn.Conv2d(layer[1], layer[2], kernel_size=layer[3], padding=layer[4]))
        elif kind == "relu":
            layers.append(torch.nn.ReLU())
        elif kind == "pool":
            layers.append(torch.nn.MaxPool2d(layer[1]))
        elif kind == "flatten":
            layers.append(torch.nn.Flatten())
    return torch.nn.Sequential(*layers)


def _param_layers(model: Any) -> list[Any]:
    return [m for m in model.children() if getattr(m, "weight", None) is not None]


def load_tg(model: Any, params: list[Any]) -> None:
    mods = _param_layers(model)
    pairs = [p for p in params if p is not None]
    assert len(mods) == len(pairs)
    with tg.no_grad():
        for m, (w, b) in zip(mods, pairs):
            assert tuple(m.weight.shape) == w.shape and tuple(m.bias.shape) == b.shape
            m.weight.copy_(tg.from_numpy(w))
            m.bias.copy_(tg.from_numpy(b))


def load_torch(torch: Any, model: Any, params: list[Any]) -> None:
    mods = _param_layers(model)
    pairs = [p for p in params if p is not None]
    assert len(mods) == len(pairs)
    with torch.no_grad():
        for m, (w, b) in zip(mods, pairs):
            m.weight.copy_(torch.from_numpy(w))
            m.bias.copy_(torch.from_numpy(b))


def tg_optimizer(name: str, params: Any, kw: dict[str, Any]) -> Any:
    return getattr(toptim, OPT_NAMES[name])(params, **kw)


def torch_optimizer(torch: Any, name: str, params: Any, kw: dict[str, Any]) -> Any:
    # foreach=False: the per-parameter loop, like ours (for CPU tensors it is also PyTorch's default)
    return getattr(torch.optim, OPT_NAMES[name])(params, foreach=False, **kw)


# ---- one training setup, three ways -------------------------------------------------------------
class Trainer:
    """Holds the three implementations of one (spec, optimizer) training run.

    ``epoch_fns(n_batches)`` gives, per implementation, a callable that trains on the first
    ``n_batches`` batches of its next epoch and returns the seconds it took.
    """

    def __init__(
        self,
        spec: list[tuple],
        opt: str,
        opt_kw: dict[str, Any],
        x: np.ndarray,
        y: np.ndarray,
        batch_size: int,
        seed: int,
        torch: Any,
        tg_model_obj: Any = None,
    ) -> None:
        self.x, self.y, self.bs, self.seed, self.torch = x, y, batch_size, seed, torch
        self.n = len(x)
        params = NF.init_params(spec, seed)
        # tinygrad_ko
        self.tg_model = tg_model_obj if tg_model_obj is not None else tg_model(spec)
        load_tg(self.tg_model, params)
        self.tg_opt = tg_optimizer(opt, self.tg_model.parameters(), opt_kw)
        self.tg_loader = DataLoader(
            TensorDataset(tg.from_numpy(x), tg.from_numpy(y)),
            batch_size=batch_size,
            shuffle=True,
            generator=np.random.default_rng(seed),
        )
        # the floor (images as NHWC: for one channel that is the same memory, a reshape)
        image = x.ndim == 4
        self.x_floor = x.transpose(0, 2, 3, 1) if image else x
        if image and x.shape[1] != 1:
            self.x_floor = np.ascontiguousarray(self.x_floor)
        self.floor = NF.Net(spec, params, x.shape[1:], opt, **opt_kw)
        self.floor_rng = np.random.default_rng(seed)
        # torch
        if torch is not None:
            self.t_model = torch_model(torch, spec)
            load_torch(torch, self.t_model, params)
            self.t_opt = torch_optimizer(torch, opt, self.t_model.parameters(), opt_kw)
            self.t_rng = np.random.default_rng(seed)

    # single steps (used by the agreement check and the memory test)
    def tg_step(self, xb: Any, yb: Any) -> Any:
        loss = TF.cross_entropy(self.tg_model(xb), yb)
        self.tg_opt.zero_grad()
        loss.backward()
        self.tg_opt.step()
        return loss

    def t_step(self, xb: Any, yb: Any) -> Any:
        loss = self.torch.nn.functional.cross_entropy(self.t_model(xb), yb)
        self.t_opt.zero_grad()
        loss.backward()
        self.t_opt.step()
        return loss

    def n_batches_full(self) -> int:
        return -(-self.n // self.bs)

    def epoch_fns(self, n_batches: int) -> dict[str, Callable[[], float]]:
        bs, x, y, xf = self.bs, self.x, self.y, self.x_floor
        loader, tg_step = self.tg_loader, self.tg_step

        def tg_epoch() -> float:
            t0 = common.now()
            for i, (xb, yb) in enumerate(loader):
                if i == n_batches:
                    break
                tg_step(xb, yb)
            return common.now() - t0

        floor, floor_rng = self.floor, self.floor_rng

        def floor_epoch() -> float:
            t0 = common.now()
            order = floor_rng.permutation(self.n).astype(np.int64, copy=False)
            for i in range(n_batches):
                idx = order[i * bs : (i + 1) * bs]
                floor.train_step(xf[idx], y[idx])
            return common.now() - t0

        fns = {common.TG: tg_epoch, common.FLOOR: floor_epoch}
        if self.torch is not None:
            from_numpy, t_step, t_rng = self.torch.from_numpy, self.t_step, self.t_rng

            def torch_epoch() -> float:
                t0 = common.now()
                order = t_rng.permutation(self.n).astype(np.int64, copy=False)
                for i in range(n_batches):
                    idx = order[i * bs : (i + 1) * bs]
                    t_step(from_numpy(x[idx]), from_numpy(y[idx]))
                return common.now() - t0

            fns[common.TORCH] = torch_epoch
        return fns

    def check_agreement(self, steps: int, report: common.Report, rtol: float = 1e-4) -> None:
        """Same math? Train ``steps`` steps on the same fixed batches and compare the losses.

        Runs before timing (and doubles as warm-up). Uses its own batches, not the epochs' order.
        """
        order = np.random.default_rng(self.seed + 12345).permutation(self.n)
        losses: dict[str, list[float]] = {common.TG: [], common.FLOOR: []}
        if self.torch is not None:
            losses[common.TORCH] = []
        for s in range(steps):
            idx = order[s * self.bs : (s + 1) * self.bs]
            xb, yb = self.x[idx], self.y[idx]
            losses[common.TG].append(float(self.tg_step(tg.from_numpy(xb), tg.from_numpy(yb)).item()))
            losses[common.FLOOR].append(float(self.floor.train_step(self.x_floor[idx], yb)))
            if self.torch is not None:
                tl = self.t_step(self.torch.from_numpy(xb), self.torch.from_numpy(yb))
                losses[common.TORCH].append(float(tl.item()))
        ref = np.array(losses[common.FLOOR])
        worst = max(float(np.max(np.abs(np.array(v) - ref) / np.abs(ref))) for v in losses.values())
        ok = worst <= rtol
        shown = ", ".join(f"{k} {v[0]:.4f}->{v[-1]:.4f}" for k, v in losses.items())
        print(
            f"  same math: {steps} steps from the same weights on the same batches: {shown}; "
            f"max relative difference {worst:.1e} ({'agree' if ok else 'DISAGREE'})"
        )
        report.results.setdefault("agreement", []).append({"losses": losses, "max_rel_diff": worst, "ok": ok})
        if not ok:
            report.note(
                f"losses disagree (max relative difference {worst:.1e} > {rtol:g}): the implementations "
                "are not computing the same thing; the timings are not comparable"
            )
        # the DataLoader's order must be the stream the others draw
        probe = DataLoader(range(self.n), batch_size=self.bs, shuffle=True, generator=np.random.default_rng(self.seed))
        first = next(iter(probe)).numpy()
        if not np.array_equal(first, np.random.default_rng(self.seed).permutation(self.n)[: self.bs]):
            report.note("the tinygrad_ko DataLoader's order differs from the permutation the others use")
