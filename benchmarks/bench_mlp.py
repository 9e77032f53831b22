"""MNIST MLP 784-512-10 (ReLU), batch 128, float32: seconds per epoch, SGD and RMSprop,
tinygrad_ko vs the NumPy floor vs PyTorch CPU; then training memory over 2,000 steps.

    python benchmarks/bench_mlp.py [--repeats N] [--quick] [--json PATH] [--batches N] [--memory-steps N]

An epoch is 469 steps (60000 / 128, the last batch 96), shuffled; each implementation's time includes
gathering its batches. The memory test trains tinygrad_ko for --memory-steps steps with the garbage
collector disabled (so the graph must be freed by reference counting alone, as the design requires)
and reports how much the traced memory (tracemalloc) and the RSS grew after warm-up.
"""

from __future__ import annotations

import gc
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common
import _train as T

import tinygrad_ko as tg

SPEC = [("linear", 784, 512), ("relu",), ("linear", 512, 10)]
OPTIMIZERS = {"sgd": {"lr": 0.1}, "rmsprop": {"lr": 1e-3}}
BATCH = 128


def memory_check(report: common.Report, x: np.ndarray, y: np.ndarray, steps: int, seed: int) -> None:
    tr = T.Trainer(SPEC, "sgd", OPTIMIZERS["sgd"], x, y, BATCH, seed, torch=None)
    warm = min(200, max(20, steps // 10))

    def batches():  # endless epochs from the DataLoader
        while True:
            yield from tr.tg_loader

    gc.collect()
    gc.disable()
    # Trace from the very start, so that what is legitimately alive at any step -- the .grad arrays
    # of the last step, the DataLoader's current epoch order (a fresh permutation each epoch) -- is
    # traced both at the baseline and at the end; the baseline is taken after the warm-up steps.
    tracemalloc.start()
    try:
        it = batches()
        for _ in range(warm):
            tr.tg_step(*next(it))
        traced0, rss0 = tracemalloc.get_traced_memory()[0], common.rss_bytes()
        t0 = time.perf_counter()
        peak_rss = rss0
        for s in range(warm, steps):
            loss = tr.tg_step(*next(it))
            if s % 100 == 0:
                peak_rss = max(peak_rss, common.rss_bytes())
                if peak_rss - rss0 > 2 * 2**30:
                    report.note(f"memory test stopped at step {s}: RSS grew by more than 2 GiB")
                    break
        del loss
        traced1, traced_peak = tracemalloc.get_traced_memory()
        rss1 = common.rss_bytes()
        elapsed = time.perf_counter() - t0
        cyclic = gc.collect()  # objects only the cycle collector could free: the graph should leave none
    finally:
        tracemalloc.stop()
        gc.enable()
    mib = 2**20
    traced_growth, rss_growth = (traced1 - traced0) / mib, (rss1 - rss0) / mib
    print(
        f"\nmemory over {steps} tinygrad_ko MLP steps (SGD, GC disabled; measured after {warm} warm-up steps, "
        f"{elapsed:.1f} s under tracemalloc):"
    )
    print(
        f"  traced (tracemalloc): {traced0 / mib:.2f} MiB -> {traced1 / mib:.2f} MiB, growth {traced_growth:+.3f} MiB, "
        f"peak {traced_peak / mib:.2f} MiB"
    )
    print(
        f"  RSS: {rss0 / mib:.1f} MiB -> {rss1 / mib:.1f} MiB, growth {rss_growth:+.1f} MiB (max seen {peak_rss / mib:.1f})"
    )
    print(f"  objects left in reference cycles (gc.collect() after the run): {cyclic}")
    report.results["memory"] = {
        "steps": steps,
        "warmup_steps": warm,
        "traced_start_mib": traced0 / mib,
        "traced_end_mib": traced1 / mib,
        "traced_peak_mib": traced_peak / mib,
        "traced_growth_mib": traced_growth,
        "rss_start_mib": rss0 / mib,
        "rss_end_mib": rss1 / mib,
        "rss_growth_mib": rss_growth,
        "cyclic_objects": cyclic,
    }
    # a leaked graph per step would be >= 0.25 MiB per step (one 128x512 activation): hundreds of MiB
    report.target(f"training memory growth over {steps} steps (tracemalloc, GC off)", traced_growth, 1.0, unit=" MiB")
    report.target(f"objects freed only by the cycle collector after {steps} steps", float(cyclic), 0.0, unit="")


def main(argv: list[str] | None = None) -> int:
    parser = common.make_parser(__doc__.split("\n\n")[0], default_repeats=5)
    parser.add_argument(
        "--batches",
        type=int,
        default=None,
        help="time only the first N batches of each epoch and scale to a full epoch "
        "(default: the full epoch; 5 with --quick)",
    )
    parser.add_argument(
        "--memory-steps", type=int, default=None, help="steps of the memory test (default 2000; 60 with --quick)"
    )
    parser.add_argument("--optimizers", default="sgd,rmsprop", help="comma-separated: sgd,rmsprop")
    args = parser.parse_args(argv)
    repeats = common.repeats_of(args)
    threads, _ = common.numpy_blas_threads()
    torch, torch_note = common.load_torch(threads)
    common.print_header("bench_mlp: MNIST MLP 784-512-10, batch 128, seconds per epoch", args, repeats)
    x, y = T.mnist_float32(image=False)
    total = -(-len(x) // BATCH)
    n_batches = args.batches if args.batches is not None else (5 if args.quick else total)
    n_batches = max(1, min(n_batches, total))
    mem_steps = args.memory_steps if args.memory_steps is not None else (60 if args.quick else 2000)
    scale = total / n_batches
    report = common.Report(
        "bench_mlp",
        args,
        {
            "spec": SPEC,
            "batch": BATCH,
            "optimizers": OPTIMIZERS,
            "repeats": repeats,
            "batches_timed": n_batches,
            "batches_per_epoch": total,
            "memory_steps": mem_steps,
            "threads": threads,
        },
    )
    report.note(torch_note)
    if n_batches < total:
        report.note(f"timing {n_batches} of {total} batches per epoch, scaled x{scale:.2f} to a full epoch")
    print(f"model: {T.describe(SPEC)}; {total} steps per epoch; data order, initial weights and float32 shared")

    for opt in args.optimizers.split(","):
        kw = OPTIMIZERS[opt]
        tg.manual_seed(args.seed)
        tr = T.Trainer(SPEC, opt, kw, x, y, BATCH, args.seed, torch)
        print(f"\n-- {T.OPT_NAMES[opt]}({', '.join(f'{k}={v}' for k, v in kw.items())}) --")
        tr.check_agreement(3, report)
        times = common.round_robin(tr.epoch_fns(n_batches), repeats, warmup=False)
        label = "full epoch" if n_batches == total else f"epoch, scaled from {n_batches} batches"
        med = report.table(f"epoch_{opt}", f"MLP {T.OPT_NAMES[opt]}: seconds per {label}", times, unit="s", scale=scale)
        report.target(
            f"MLP {T.OPT_NAMES[opt]} epoch, tinygrad_ko / numpy floor", med[common.TG] / med[common.FLOOR], 1.10
        )
        if torch is not None:
            report.target(f"MLP {T.OPT_NAMES[opt]} epoch, tinygrad_ko / torch", med[common.TG] / med[common.TORCH], 1.0)
        else:
            report.target(f"MLP {T.OPT_NAMES[opt]} epoch, tinygrad_ko / torch", None, 1.0, why="torch not installed")
        del tr

    if mem_steps > 0:  # --memory-steps 0 skips the memory check
        memory_check(report, x, y, mem_steps, args.seed)
    return report.summary()


if __name__ == "__main__":
    raise SystemExit(main())
