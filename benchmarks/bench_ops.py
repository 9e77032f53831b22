"""Per-op overhead and single-op throughput: tinygrad_ko vs a NumPy floor vs PyTorch CPU.

1. Overhead: a chain of 1000 steps ``x = x * 1.0001 + 0.0001`` on a one-element float32 tensor
   (2 ops per step), forward (graph recorded) and forward + backward; reported in microseconds
   per op. On one element the arithmetic is free, so this is the cost of the framework itself.
2. Throughput at training sizes, forward and forward + backward:
   matmul (128, 784) @ (784, 512); conv2d 64x1x28x28 with 32 3x3 filters and 64x32x14x14 with 64
   3x3 filters (padding 1, bias); cross-entropy (log-softmax + NLL, mean) on (128, 10) logits.

    python benchmarks/bench_ops.py [--repeats N] [--quick] [--json PATH]
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
import tinygrad_ko.nn.functional as TF

F32 = np.float32


def tg_conv2d() -> Callable[..., Any]:
    return TF.conv2d


def bench_chain(report: common.Report, torch: Any, repeats: int, steps: int, target_s: float) -> None:
    n_ops = 2 * steps
    x_tg = tg.ones(1, requires_grad=True)
    seed_tg = tg.ones(1)

    def tg_fwd() -> Any:
        y = x_tg
        for _ in range(steps):
            y = y * 1.0001 + 0.0001
        return y

    def tg_fwd_bwd() -> None:
        x_tg.grad = None
        tg_fwd().backward(seed_tg)

    x_np = np.ones(1, dtype=F32)
    fwd: dict[str, Callable[[], float]] = {
        common.TG: common.calibrated(tg_fwd, target_s),
        common.FLOOR: common.calibrated(lambda: NF.chain_forward(x_np, steps), target_s),
    }
    fwd_bwd: dict[str, Callable[[], float]] = {
        common.TG: common.calibrated(tg_fwd_bwd, target_s),
        common.FLOOR: common.calibrated(lambda: NF.chain_forward_backward(x_np, steps), target_s),
    }
    if torch is not None:
        x_t = torch.ones(1, requires_grad=True)
        seed_t = torch.ones(1)

        def t_fwd() -> Any:
            y = x_t
            for _ in range(steps):
                y = y * 1.0001 + 0.0001
            return y

        def t_fwd_bwd() -> None:
            x_t.grad = None
            t_fwd().backward(seed_t)

        fwd[common.TORCH] = common.calibrated(t_fwd, target_s)
        fwd_bwd[common.TORCH] = common.calibrated(t_fwd_bwd, target_s)

    scale = 1e6 / n_ops
    title = f"per-op overhead: chain of {steps} x (x*1.0001 + 0.0001) on 1 element ({n_ops} ops), us/op"
    med_f = report.table(
        "chain_forward", title + ", forward (graph recorded)", common.round_robin(fwd, repeats), unit="us", scale=scale
    )
    med_fb = report.table(
        "chain_forward_backward",
        title + ", forward + backward",
        common.round_robin(fwd_bwd, repeats),
        unit="us",
        scale=scale,
    )
    print("  backward alone (fwd+bwd - fwd), us/op: " + ", ".join(f"{n} {med_fb[n] - med_f[n]:.3g}" for n in med_fb))
    report.results["chain_backward_only_us_per_op"] = {n: med_fb[n] - med_f[n] for n in med_fb}
    if torch is not None:
        report.target(
            "per-op overhead, forward+backward, tinygrad_ko / torch", med_fb[common.TG] / med_fb[common.TORCH], 1.0
        )
    else:
        report.target("per-op overhead, forward+backward, tinygrad_ko / torch", None, 1.0, why="torch not installed")


def bench_matmul(
    report: common.Report, torch: Any, repeats: int, target_s: float, rng: np.random.Generator, m: int = 128
) -> None:
    k, n = 784, 512
    a = rng.standard_normal((m, k), dtype=F32)
    b = rng.standard_normal((k, n), dtype=F32)
    g = rng.standard_normal((m, n), dtype=F32)
    a_tg, b_tg, g_tg = tg.tensor(a, requires_grad=True), tg.tensor(b, requires_grad=True), tg.tensor(g)

    def tg_fb() -> None:
        a_tg.grad = b_tg.grad = None
        (a_tg @ b_tg).backward(g_tg)

    fwd = {
        common.TG: common.calibrated(lambda: a_tg @ b_tg, target_s),
        common.FLOOR: common.calibrated(lambda: a @ b, target_s),
    }
    fb = {
        common.TG: common.calibrated(tg_fb, target_s),
        common.FLOOR: common.calibrated(lambda: NF.matmul_forward_backward(a, b, g), target_s),
    }
    if torch is not None:
        a_t = torch.tensor(a, requires_grad=True)
        b_t = torch.tensor(b, requires_grad=True)
        g_t = torch.tensor(g)

        def t_fb() -> None:
            a_t.grad = b_t.grad = None
            (a_t @ b_t).backward(g_t)

        fwd[common.TORCH] = common.calibrated(lambda: a_t @ b_t, target_s)
        fb[common.TORCH] = common.calibrated(t_fb, target_s)
    flops = 2.0 * m * k * n
    report.table(
        "matmul_forward",
        f"matmul ({m},{k}) @ ({k},{n}), forward, ms/call",
        common.round_robin(fwd, repeats),
        unit="ms",
        scale=1e3,
        extra=common.gflops(flops),
    )
    report.table(
        "matmul_forward_backward",
        f"matmul ({m},{k}) @ ({k},{n}), forward + backward (both grads), ms/call",
        common.round_robin(fb, repeats),
        unit="ms",
        scale=1e3,
        extra=common.gflops(3 * flops),
    )


def bench_conv(
    report: common.Report,
    torch: Any,
    repeats: int,
    target_s: float,
    rng: np.random.Generator,
    key: str,
    n: int,
    c: int,
    hw: int,
    o: int,
    input_grad: bool,
) -> None:
    k, pad = 3, 1
    x = rng.standard_normal((n, c, hw, hw), dtype=F32)
    bound = 1 / np.sqrt(c * k * k)
    w = rng.uniform(-bound, bound, (o, c, k, k)).astype(F32)
    b = rng.uniform(-bound, bound, o).astype(F32)
    g = rng.standard_normal((n, o, hw, hw), dtype=F32)
    conv2d = tg_conv2d()
    x_tg = tg.tensor(x, requires_grad=input_grad)
    w_tg, b_tg, g_tg = tg.tensor(w, requires_grad=True), tg.tensor(b, requires_grad=True), tg.tensor(g)

    def tg_f() -> Any:
        return conv2d(x_tg, w_tg, b_tg, padding=pad)

    def tg_fb() -> None:
        x_tg.grad = w_tg.grad = b_tg.grad = None
        tg_f().backward(g_tg)

    # the floor works channels-last: its input and output gradient are given as NHWC
    floor_conv = NF.Conv2d(w, b, pad, need_input_grad=input_grad)
    x_nhwc = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    g_nhwc = np.ascontiguousarray(g.transpose(0, 2, 3, 1))
    fwd = {
        common.TG: common.calibrated(tg_f, target_s),
        common.FLOOR: common.calibrated(lambda: floor_conv.forward(x_nhwc), target_s),
    }
    fb = {
        common.TG: common.calibrated(tg_fb, target_s),
        common.FLOOR: common.calibrated(lambda: NF.conv_forward_backward(floor_conv, x_nhwc, g_nhwc), target_s),
    }
    if torch is not None:
        tnf = torch.nn.functional
        x_t = torch.tensor(x, requires_grad=input_grad)
        w_t, b_t, g_t = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True), torch.tensor(g)

        def t_fb() -> None:
            x_t.grad = w_t.grad = b_t.grad = None
            tnf.conv2d(x_t, w_t, b_t, padding=pad).backward(g_t)

        fwd[common.TORCH] = common.calibrated(lambda: tnf.conv2d(x_t, w_t, b_t, padding=pad), target_s)
        fb[common.TORCH] = common.calibrated(t_fb, target_s)
    flops = 2.0 * n * hw * hw * o * c * k * k
    what = f"conv2d {n}x{c}x{hw}x{hw}, {o} filters 3x3 pad 1"
    report.table(
        f"{key}_forward",
        f"{what}, forward, ms/call",
        common.round_robin(fwd, repeats),
        unit="ms",
        scale=1e3,
        extra=common.gflops(flops),
    )
    grads = "input+weight+bias grads" if input_grad else "weight+bias grads (input is data)"
    report.table(
        f"{key}_forward_backward",
        f"{what}, forward + backward ({grads}), ms/call",
        common.round_robin(fb, repeats),
        unit="ms",
        scale=1e3,
        extra=common.gflops((3 if input_grad else 2) * flops),
    )


def bench_cross_entropy(
    report: common.Report, torch: Any, repeats: int, target_s: float, rng: np.random.Generator, n: int = 128
) -> None:
    classes = 10
    logits = rng.standard_normal((n, classes), dtype=F32)
    y = rng.integers(0, classes, n).astype(np.int64)
    l_tg, y_tg = tg.tensor(logits, requires_grad=True), tg.tensor(y)

    def tg_fb() -> None:
        l_tg.grad = None
        TF.cross_entropy(l_tg, y_tg).backward()

    fwd = {
        common.TG: common.calibrated(lambda: TF.cross_entropy(l_tg, y_tg), target_s),
        common.FLOOR: common.calibrated(lambda: NF.cross_entropy_forward(logits, y), target_s),
    }
    fb = {
        common.TG: common.calibrated(tg_fb, target_s),
        common.FLOOR: common.calibrated(lambda: NF.cross_entropy(logits, y), target_s),
    }
    if torch is not None:
        tnf = torch.nn.functional
        l_t, y_t = torch.tensor(logits, requires_grad=True), torch.tensor(y)

        def t_fb() -> None:
            l_t.grad = None
            tnf.cross_entropy(l_t, y_t).backward()

        fwd[common.TORCH] = common.calibrated(lambda: tnf.cross_entropy(l_t, y_t), target_s)
        fb[common.TORCH] = common.calibrated(t_fb, target_s)
    report.table(
        "cross_entropy_forward",
        f"cross_entropy on ({n},{classes}) logits, forward, us/call",
        common.round_robin(fwd, repeats),
        unit="us",
        scale=1e6,
    )
    report.table(
        "cross_entropy_forward_backward",
        f"cross_entropy on ({n},{classes}) logits, forward + backward, us/call",
        common.round_robin(fb, repeats),
        unit="us",
        scale=1e6,
    )


def main(argv: list[str] | None = None) -> int:
    parser = common.make_parser(__doc__.split("\n\n")[0], default_repeats=7)
    parser.add_argument("--steps", type=int, default=1000, help="length of the overhead chain (default 1000)")
    args = parser.parse_args(argv)
    repeats = common.repeats_of(args)
    threads, _ = common.numpy_blas_threads()
    torch, torch_note = common.load_torch(threads)
    common.print_header("bench_ops: per-op overhead and op throughput", args, repeats)
    # --quick: short samples, a short chain and batch 8 instead of 64/128 (smoke test only)
    target_s = 0.002 if args.quick else 0.2
    steps = min(args.steps, 100) if args.quick else args.steps
    batch = 8 if args.quick else None
    report = common.Report(
        "bench_ops",
        args,
        {"repeats": repeats, "steps": steps, "sample_seconds": target_s, "threads": threads, "quick_batch": batch},
    )
    report.note(torch_note)
    rng = np.random.default_rng(args.seed)
    bench_chain(report, torch, repeats, steps, target_s)
    bench_matmul(report, torch, repeats, target_s, rng, m=batch or 128)
    bench_conv(report, torch, repeats, target_s, rng, "conv1", batch or 64, 1, 28, 32, input_grad=False)
    bench_conv(report, torch, repeats, target_s, rng, "conv2", batch or 64, 32, 14, 64, input_grad=True)
    bench_cross_entropy(report, torch, repeats, target_s, rng, n=batch or 128)
    return report.summary()


if __name__ == "__main__":
    raise SystemExit(main())
