"""Where tinygrad_ko's time goes: cProfile over the benchmarks' tinygrad_ko workloads.

    python benchmarks/profile_hotpath.py mlp   [--steps 469] [--opt sgd|rmsprop] [--top 30] [--sort tottime]
    python benchmarks/profile_hotpath.py chain [--steps 1000] [--repeat 20]
    python benchmarks/profile_hotpath.py cnn   [--steps 30]
    python benchmarks/profile_hotpath.py per_sample [--steps 1000]   (DLwPT ch.7, batch 1, dataset[i])

Prints the top functions by own time (tottime) and by cumulative time. NumPy work done by
operators (``a @ b``, ``a * b``) is not a separate entry: it is counted in the own time of the
Python function that contains it (e.g. ``ops/linalg.py:forward`` is mostly BLAS). cProfile adds its own overhead to every
Python call (roughly doubling the cost of tiny functions), so read the *ranking* and the split, not
the absolute times; for unbiased totals use the bench_*.py scripts. For a sampling profile with no
such bias: ``py-spy record -o out.svg -- python benchmarks/profile_hotpath.py mlp --no-profile``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _train as T

import tinygrad_ko as tg


def mlp_workload(steps: int, opt: str):
    from bench_mlp import BATCH, OPTIMIZERS, SPEC

    x, y = T.mnist_float32(image=False)
    tr = T.Trainer(SPEC, opt, OPTIMIZERS[opt], x, y, BATCH, 0, torch=None)

    def run() -> None:
        done = 0
        while done < steps:
            for xb, yb in tr.tg_loader:
                tr.tg_step(xb, yb)
                done += 1
                if done == steps:
                    break

    return run


def cnn_workload(steps: int, opt: str):
    from bench_cnn import ADAM, BATCH

    from tinygrad_ko import models

    x, y = T.mnist_float32(image=True)
    model = models.mnist_cnn()
    tr = T.Trainer(T.spec_of(model), "adam", ADAM, x, y, BATCH, 0, torch=None, tg_model_obj=model)

    def run() -> None:
        for i, (xb, yb) in enumerate(tr.tg_loader):
            if i == steps:
                break
            tr.tg_step(xb, yb)

    return run


def per_sample_workload(steps: int):
    import bench_per_sample as B
    import numpy_floor as NF

    imgs, labels = B.synthetic_cifar2(steps, 0)
    tr = B.TgRun(imgs, labels, NF.init_params(B.SPEC, 0))

    def run() -> None:
        dataset, step = tr.dataset, tr.step
        for i in range(steps):
            img, label = dataset[i]
            step(img, label)

    return run


def chain_workload(steps: int, repeat: int):
    x = tg.ones(1, requires_grad=True)
    seed = tg.ones(1)

    def run() -> None:
        for _ in range(repeat):
            y = x
            for _ in range(steps):
                y = y * 1.0001 + 0.0001
            x.grad = None
            y.backward(seed)

    return run


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("workload", choices=["mlp", "chain", "cnn", "per_sample"])
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--repeat", type=int, default=20, help="chain: how many chains")
    p.add_argument("--opt", default="sgd")
    p.add_argument("--top", type=int, default=30)
    p.add_argument("--sort", default="tottime")
    p.add_argument("--no-profile", action="store_true", help="just run (for py-spy)")
    p.add_argument(
        "--timer",
        choices=["wall", "cpu"],
        default="cpu",
        help="cpu (thread CPU time: robust on a busy machine; use with 1 BLAS thread) or wall",
    )
    args = p.parse_args()
    if args.workload == "mlp":
        run = mlp_workload(args.steps or 469, args.opt)
    elif args.workload == "cnn":
        run = cnn_workload(args.steps or 30, args.opt)
    elif args.workload == "per_sample":
        run = per_sample_workload(args.steps or 1000)
    else:
        run = chain_workload(args.steps or 1000, args.repeat)
    t0, c0 = time.perf_counter(), time.thread_time()
    run()  # also the warm-up
    print(
        f"{args.workload}: {time.perf_counter() - t0:.3f} s wall, {time.thread_time() - c0:.3f} s CPU "
        "without the profiler"
    )
    if args.no_profile:
        return 0
    prof = cProfile.Profile(time.thread_time) if args.timer == "cpu" else cProfile.Profile()
    t0 = time.perf_counter()
    prof.runcall(run)
    profiled = time.perf_counter() - t0
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    print(f"{args.workload}: {profiled:.3f} s under cProfile (timer: {args.timer})")
    stats.sort_stats(args.sort).print_stats(args.top)
    stats.sort_stats("cumulative").print_stats(args.top)
    print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
