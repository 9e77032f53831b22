""" "Deep Learning with PyTorch" ch.7's per-sample loop: one 32x32x3 image per step, a
3072-512-2 MLP (Linear, Tanh, Linear, LogSoftmax), NLLLoss, SGD(lr=1e-2); tinygrad_ko vs a NumPy
floor vs PyTorch CPU, in microseconds per image.

    python benchmarks/bench_per_sample.py [--repeats N] [--quick] [--json PATH] [--images N]

The book's loop, written the same way for tinygrad_ko and torch::

    for img, label in cifar2:
        out = model(img.view(-1).unsqueeze(0))
        loss = loss_fn(out, torch.tensor([label]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

Two measurements: (1) the book's exact loop over ``cifar2``, a list of already transformed
``(img, label)`` pairs; (2) the same steps with each image fetched from the dataset inside the
loop, ``dataset[i]``, whose ``__getitem__`` runs ``Compose([ToTensor(), Normalize(mean, std)])``
on the (32, 32, 3) uint8 image. The images are a synthetic CIFAR-2 stand-in (uint8 noise whose
blue channel depends on the label; nothing is downloaded); speed does not depend on the pixels.

torch's transforms are torchvision's when it is installed; otherwise the same two steps written
with torch ops as torchvision does them for an ndarray (``from_numpy(pic.transpose(2, 0, 1))
.contiguous().to(float32).div(255)``, then a copy, ``sub_(mean).div_(std)``). Either way torch
is given NumPy images, not PIL images as torchvision's CIFAR10 would (no PIL round trip: the torch
column is, if anything, flattered). The floor is the same network written by hand in NumPy for one
sample: the transform, two products and ``tanh``, the log-softmax + NLL gradient fused, the weight
gradients as outer products, ``p -= lr * g``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common
import numpy_floor as NF

import tinygrad_ko as tg
from tinygrad_ko import nn as tnn
from tinygrad_ko import optim as toptim
from tinygrad_ko.data import transforms as ttf
from tinygrad_ko.data.datasets import ImageArrayDataset

F32 = np.float32
SPEC = [("linear", 3072, 512), ("tanh",), ("linear", 512, 2), ("log_softmax",)]
LR = 1e-2
MEAN, STD = (0.4915, 0.4823, 0.4468), (0.2470, 0.2435, 0.2616)  # the book's CIFAR-10 statistics
EPOCH = 10_000  # cifar2: the 5,000 airplanes and 5,000 birds of CIFAR-10's training set


def synthetic_cifar2(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` uint8 (32, 32, 3) images and int64 labels 0/1; label 1 has a brighter blue channel."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n).astype(np.int64)
    imgs = rng.integers(0, 200, size=(n, 32, 32, 3), dtype=np.uint8)
    imgs[..., 2] += (labels * 55).astype(np.uint8)[:, None, None]
    return imgs, labels


# ---- tinygrad_ko: the book's code, `import tinygrad_ko as torch` -------------------------------------
class TgRun:
    def __init__(self, imgs: np.ndarray, labels: np.ndarray, params: list[Any]) -> None:
        transform = ttf.Compose([ttf.ToTensor(), ttf.Normalize(MEAN, STD)])
        self.dataset = ImageArrayDataset(imgs, labels, transform=transform)
        self.model = tnn.Sequential(tnn.Linear(3072, 512), tnn.Tanh(), tnn.Linear(512, 2), tnn.LogSoftmax(dim=1))
        with tg.no_grad():
            for layer, (w, b) in zip((self.model[0], self.model[2]), (params[0], params[2])):
                layer.weight.copy_(tg.from_numpy(w))
                layer.bias.copy_(tg.from_numpy(b))
        self.optimizer = toptim.SGD(self.model.parameters(), lr=LR)
        self.loss_fn = tnn.NLLLoss()

    def step(self, img: Any, label: int) -> Any:
        out = self.model(img.view(-1).unsqueeze(0))
        loss = self.loss_fn(out, tg.tensor([label]))
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return loss


# ---- torch: the same code --------------------------------------------------------------------------
class TorchToTensor:
    """torchvision's ToTensor for an ndarray HxWxC uint8 image."""

    def __init__(self, torch: Any) -> None:
        self.torch = torch

    def __call__(self, pic: np.ndarray) -> Any:
        img = self.torch.from_numpy(pic.transpose((2, 0, 1))).contiguous()
        return img.to(dtype=self.torch.get_default_dtype()).div(255)


class TorchNormalize:
    """torchvision's Normalize (not in place) for a CxHxW float tensor."""

    def __init__(self, torch: Any, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        self.torch, self.mean, self.std = torch, mean, std

    def __call__(self, tensor: Any) -> Any:
        torch = self.torch
        tensor = tensor.clone()
        mean = torch.as_tensor(self.mean, dtype=tensor.dtype, device=tensor.device)
        std = torch.as_tensor(self.std, dtype=tensor.dtype, device=tensor.device)
        if (std == 0).any():
            raise ValueError("std evaluated to zero")
        return tensor.sub_(mean.view(-1, 1, 1)).div_(std.view(-1, 1, 1))


class TorchCompose:
    def __init__(self, transforms: list[Callable[[Any], Any]]) -> None:
        self.transforms = transforms

    def __call__(self, x: Any) -> Any:
        for t in self.transforms:
            x = t(x)
        return x


def torch_transform(torch: Any) -> tuple[Callable[[Any], Any], str]:
    try:
        from torchvision import transforms  # type: ignore[import-not-found]

        t = transforms.Compose([transforms.ToTensor(), transforms.Normalize(MEAN, STD)])
        return t, "torchvision's transforms"
    except ImportError:
        t = TorchCompose([TorchToTensor(torch), TorchNormalize(torch, MEAN, STD)])
        return t, "torchvision is not installed: its ToTensor/Normalize written with torch ops"


class TorchRun:
    def __init__(self, torch: Any, imgs: np.ndarray, labels: np.ndarray, params: list[Any]) -> None:
        self.torch = torch
        transform, self.transform_note = torch_transform(torch)

        class Cifar2(torch.utils.data.Dataset):  # torchvision's CIFAR10.__getitem__, minus PIL
            def __len__(self) -> int:
                return len(imgs)

            def __getitem__(self, index: int) -> tuple[Any, int]:
                return transform(imgs[index]), int(labels[index])

        self.dataset = Cifar2()
        nn = torch.nn
        self.model = nn.Sequential(nn.Linear(3072, 512), nn.Tanh(), nn.Linear(512, 2), nn.LogSoftmax(dim=1))
        with torch.no_grad():
            for layer, (w, b) in zip((self.model[0], self.model[2]), (params[0], params[2])):
                layer.weight.copy_(torch.from_numpy(w))
                layer.bias.copy_(torch.from_numpy(b))
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=LR)
        self.loss_fn = nn.NLLLoss()

    def step(self, img: Any, label: int) -> Any:
        out = self.model(img.view(-1).unsqueeze(0))
        loss = self.loss_fn(out, self.torch.tensor([label]))
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return loss


# ---- the floor: one sample by hand in NumPy ----------------------------------------------------------
class FloorRun:
    def __init__(self, imgs: np.ndarray, labels: np.ndarray, params: list[Any]) -> None:
        self.imgs, self.labels = imgs, labels
        (self.w1, self.b1), (self.w2, self.b2) = [(w.copy(), b.copy()) for w, b in (params[0], params[2])]
        self.mean = np.asarray(MEAN, dtype=F32).reshape(3, 1, 1)
        self.inv_std = (1 / np.asarray(STD, dtype=F32)).reshape(3, 1, 1)
        self.lr = F32(LR)
        self.dataset = self  # floor[i] is the transformed sample, like the datasets

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        x = self.imgs[i].transpose(2, 0, 1).astype(F32)
        x *= F32(1 / 255)
        x -= self.mean
        x *= self.inv_std
        return x, int(self.labels[i])

    def step(self, img: np.ndarray, label: int) -> F32:
        x = img.reshape(1, -1)
        h = x @ self.w1.T
        h += self.b1
        a = np.tanh(h, out=h)
        z = a @ self.w2.T
        z += self.b2
        z -= z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = -logp[0, label]
        gz = np.exp(logp)  # d(nll(log_softmax(z)))/dz = softmax - onehot
        gz[0, label] -= 1
        ga = gz @ self.w2
        ga *= 1 - a * a
        for p, g in (
            (self.w2, np.multiply(gz.T, a)),
            (self.b2, gz[0]),
            (self.w1, np.multiply(ga.T, x)),
            (self.b1, ga[0]),
        ):
            g *= self.lr
            p -= g
        return loss


# ---- timing ------------------------------------------------------------------------------------------
def loop_fns(runs: dict[str, Any], n: int, from_dataset: bool) -> dict[str, Callable[[], float]]:
    """Per implementation, a sample: ``n`` steps, from a pre-built list or fetching from the dataset."""
    fns: dict[str, Callable[[], float]] = {}
    for name, run in runs.items():
        if from_dataset:

            def sample(run: Any = run) -> float:
                dataset, step = run.dataset, run.step
                t0 = common.now()
                for i in range(n):
                    img, label = dataset[i]
                    step(img, label)
                return (common.now() - t0) / n

        else:
            items = [run.dataset[i] for i in range(n)]  # the book's cifar2 list, built before timing

            def sample(run: Any = run, items: list[Any] = items) -> float:
                step = run.step
                t0 = common.now()
                for img, label in items:
                    step(img, label)
                return (common.now() - t0) / n

        fns[name] = sample
    return fns


def check_agreement(runs: dict[str, Any], steps: int, report: common.Report, rtol: float = 1e-4) -> None:
    """Same math? A few steps from the same weights on the same images; compare the losses."""
    losses = {name: [float(run.step(*run.dataset[i]).item()) for i in range(steps)] for name, run in runs.items()}
    ref = np.array(losses[common.FLOOR])
    worst = max(float(np.max(np.abs(np.array(v) - ref) / np.abs(ref))) for v in losses.values())
    ok = worst <= rtol
    shown = ", ".join(f"{k} {v[0]:.5f}->{v[-1]:.5f}" for k, v in losses.items())
    print(f"same math: {steps} steps from the same weights: {shown}; max relative difference {worst:.1e}")
    report.results["agreement"] = {"losses": losses, "max_rel_diff": worst, "ok": ok}
    if not ok:
        report.note(f"losses disagree (max relative difference {worst:.1e} > {rtol:g}): timings not comparable")


def main(argv: list[str] | None = None) -> int:
    parser = common.make_parser(__doc__.split("\n\n")[0], default_repeats=5)
    parser.add_argument("--images", type=int, default=None, help="images per sample (default 1000; 20 with --quick)")
    args = parser.parse_args(argv)
    repeats = common.repeats_of(args)
    threads, _ = common.numpy_blas_threads()
    torch, torch_note = common.load_torch(threads)
    common.print_header("bench_per_sample: DLwPT ch.7, batch 1, 3072-512-2 MLP, us per image", args, repeats)
    n = args.images if args.images is not None else (20 if args.quick else 1000)
    if n < 1:
        raise SystemExit("--images must be >= 1")
    report = common.Report(
        "bench_per_sample",
        args,
        {"spec": SPEC, "lr": LR, "images_per_sample": n, "epoch": EPOCH, "repeats": repeats, "threads": threads},
    )
    report.note(torch_note)
    imgs, labels = synthetic_cifar2(n, args.seed)
    params = NF.init_params(SPEC, args.seed)
    runs: dict[str, Any] = {common.TG: TgRun(imgs, labels, params), common.FLOOR: FloorRun(imgs, labels, params)}
    if torch is not None:
        runs[common.TORCH] = TorchRun(torch, imgs, labels, params)
        report.note(f"torch transforms: {runs[common.TORCH].transform_note}")
        report.note(
            "torch runs in this process, so its large buffers are also recycled by the malloc thresholds "
            "tinygrad_ko sets at import (kernels/alloc.py); a torch script run on its own is slower here"
        )
    print(f"model: {' - '.join(layer[0] for layer in SPEC)}; {n} images per sample; SGD(lr={LR}); float32")
    check_agreement(runs, min(3, n), report)

    scale = 1e6  # microseconds per image
    epoch = {"epoch_s": lambda us: f"{us * EPOCH * 1e-6:6.2f} s per {EPOCH:,}-image epoch"}
    book = report.table(
        "book_loop",
        "the book's loop over a list of transformed images: us per image",
        common.round_robin(loop_fns(runs, n, from_dataset=False), repeats),
        unit="us",
        scale=scale,
        extra=epoch,
    )
    fetch = report.table(
        "dataset_loop",
        "the same, each image fetched through Dataset.__getitem__ + Compose([ToTensor(), Normalize()]): us per image",
        common.round_robin(loop_fns(runs, n, from_dataset=True), repeats),
        unit="us",
        scale=scale,
        extra=epoch,
    )
    for label, med in (("book's loop", book), ("loop with dataset[i]", fetch)):
        name = f"per-sample {label}, tinygrad_ko / torch"
        if torch is not None:
            report.target(name, med[common.TG] / med[common.TORCH], 1.0)
        else:
            report.target(name, None, 1.0, why="torch not installed")
    return report.summary()


if __name__ == "__main__":
    raise SystemExit(main())
