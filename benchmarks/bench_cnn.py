"""MNIST CNN (tinygrad_ko.models.mnist_cnn()), Adam, batch 64, float32: seconds per epoch,
tinygrad_ko vs the NumPy floor (im2col) vs PyTorch CPU.

    python benchmarks/bench_cnn.py [--repeats N] [--quick] [--json PATH] [--batches N | --full-epoch]

The architecture is read from ``mnist_cnn()`` layer by layer and mirrored in the floor and in
PyTorch (see _train.spec_of). By default each sample trains on the first --batches batches of a
shuffled epoch and the time is scaled to the full epoch (938 steps); --full-epoch times whole epochs.
The output says which was measured.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common
import _train as T

import tinygrad_ko as tg
from tinygrad_ko import models

BATCH = 64
ADAM = {"lr": 1e-3}


def main(argv: list[str] | None = None) -> int:
    parser = common.make_parser(__doc__.split("\n\n")[0], default_repeats=5)
    parser.add_argument(
        "--batches",
        type=int,
        default=None,
        help="batches timed per sample, scaled to a full epoch (default 60; 2 with --quick)",
    )
    parser.add_argument("--full-epoch", action="store_true", help="time full epochs (938 batches) instead")
    args = parser.parse_args(argv)
    repeats = common.repeats_of(args)
    threads, _ = common.numpy_blas_threads()
    torch, torch_note = common.load_torch(threads)
    common.print_header("bench_cnn: MNIST CNN, Adam, batch 64, seconds per epoch", args, repeats)
    x, y = T.mnist_float32(image=True)
    total = -(-len(x) // BATCH)
    if args.full_epoch:
        n_batches = total
    else:
        n_batches = args.batches if args.batches is not None else (2 if args.quick else 60)
    n_batches = max(1, min(n_batches, total))
    scale = total / n_batches
    tg.manual_seed(args.seed)
    model = models.mnist_cnn()
    spec = T.spec_of(model)
    report = common.Report(
        "bench_cnn",
        args,
        {
            "spec": spec,
            "batch": BATCH,
            "optimizer": {"adam": ADAM},
            "repeats": repeats,
            "batches_timed": n_batches,
            "batches_per_epoch": total,
            "threads": threads,
        },
    )
    report.note(torch_note)
    if n_batches < total:
        report.note(
            f"SUBSET: timing the first {n_batches} of {total} batches of each epoch, scaled x{scale:.2f} "
            "to a full epoch (use --full-epoch to time whole epochs)"
        )
    else:
        report.note("timing full epochs")
    print(f"model: mnist_cnn() = {T.describe(spec)}")
    print(f"{total} steps per epoch; data order, initial weights and float32 shared")

    tr = T.Trainer(spec, "adam", ADAM, x, y, BATCH, args.seed, torch, tg_model_obj=model)
    print(f"\n-- Adam(lr={ADAM['lr']}) --")
    tr.check_agreement(3, report)
    times = common.round_robin(tr.epoch_fns(n_batches), repeats, warmup=False)
    label = "full epoch" if n_batches == total else f"epoch, scaled from {n_batches} batches"
    med = report.table("epoch_adam", f"CNN Adam: seconds per {label}", times, unit="s", scale=scale)
    report.results["per_step_ms"] = {k: v / total * 1e3 for k, v in med.items()}
    print("  per step: " + ", ".join(f"{k} {v / total * 1e3:.1f} ms" for k, v in med.items()))
    if torch is not None:
        report.target("CNN Adam epoch, tinygrad_ko / torch", med[common.TG] / med[common.TORCH], 1.25)
    else:
        report.target("CNN Adam epoch, tinygrad_ko / torch", None, 1.25, why="torch not installed")
    return report.summary()


if __name__ == "__main__":
    raise SystemExit(main())
