"""The matrix products the MLP and CNN benchmarks are made of: NumPy's BLAS against torch's.

    python benchmarks/bench_blas.py [--repeats N] [--quick] [--json PATH] [--threads N]

No framework in either column: ``a @ b`` on NumPy arrays (the BLAS NumPy's wheel links, OpenBLAS
on Linux) and on torch CPU tensors (MKL in torch's x86-64 build), same shapes, same layouts, same
threads. This is the part of the training step that no Python code can change; bench_mlp.py and
bench_cnn.py measure the whole step. The last row is torch's own conv2d (oneDNN) for the CNN's
second layer, against the one im2col product that layer's forward needs in NumPy.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common

F32 = np.float32
NUMPY = "numpy"  # NumPy's own matmul: the BLAS its wheel links

# (key, what, a's shape, b's shape, a stored transposed?, b stored transposed?)
PRODUCTS = [
    ("mlp_forward", "MLP forward x @ W.T: (128,784) @ (784,512)", (128, 784), (784, 512), False, True),
    ("mlp_weight_grad", "MLP weight grad g.T @ x: (512,128) @ (128,784)", (512, 128), (128, 784), True, False),
    (
        "conv2_forward",
        "CNN conv2 forward, columns @ weights: (12544,289) @ (289,64)",
        (12544, 289),
        (289, 64),
        False,
        False,
    ),
    (
        "conv2_weight_grad",
        "CNN conv2 weight grad, columns.T @ g: (289,12544) @ (12544,64)",
        (289, 12544),
        (12544, 64),
        True,
        False,
    ),
    (
        "conv2_input_grad",
        "CNN conv2 input grad, weights @ g on the grid: (288,64) @ (64,14400)",
        (288, 64),
        (64, 14400),
        False,
        False,
    ),
]


def _operand(rng: np.random.Generator, shape: tuple[int, int], transposed: bool) -> np.ndarray:
    """A float32 matrix of ``shape``; stored as the transpose of a C-contiguous array if asked."""
    if transposed:
        return rng.standard_normal(shape[::-1], dtype=F32).T
    return rng.standard_normal(shape, dtype=F32)


def main(argv: list[str] | None = None) -> int:
    parser = common.make_parser(__doc__.split("\n\n")[0], default_repeats=7)
    args = parser.parse_args(argv)
    repeats = common.repeats_of(args)
    threads, _ = common.numpy_blas_threads()
    torch, torch_note = common.load_torch(threads)
    common.print_header("bench_blas: the products of the MLP and CNN steps, NumPy's BLAS vs torch's", args, repeats)
    report = common.Report("bench_blas", args, {"threads": threads, "repeats": repeats})
    report.note(torch_note)
    rng = np.random.default_rng(args.seed)
    target_s = 0.02 if args.quick else 0.25
    for key, what, sa, sb, ta, tb in PRODUCTS:
        if args.quick:  # same layouts, a sliver of the work
            sa, sb = (min(sa[0], 64), min(sa[1], 64)), (min(sb[0], 64), min(sb[1], 64))
        a, b = _operand(rng, sa, ta), _operand(rng, sb, tb)
        out = np.empty((sa[0], sb[1]), dtype=F32)
        fns = {NUMPY: common.calibrated(lambda a=a, b=b, out=out: np.matmul(a, b, out=out), target_s)}
        if torch is not None:
            at, bt = (
                torch.from_numpy(a.T).T if ta else torch.from_numpy(a),
                torch.from_numpy(b.T).T if tb else torch.from_numpy(b),
            )
            tout = torch.empty((sa[0], sb[1]))
            assert at.shape == tuple(sa) and bt.shape == tuple(sb)
            fns[common.TORCH] = common.calibrated(
                lambda at=at, bt=bt, tout=tout: torch.matmul(at, bt, out=tout), target_s
            )
        report.table(
            key,
            f"{what}, ms/call",
            common.round_robin(fns, repeats),
            unit="ms",
            scale=1e3,
            extra=common.gflops(2.0 * sa[0] * sa[1] * sb[1]),
        )
    if torch is not None:
        n, c, hw, o = (8, 8, 14, 16) if args.quick else (64, 32, 14, 64)
        x = rng.standard_normal((n, c, hw, hw), dtype=F32)
        w = rng.standard_normal((o, c, 3, 3), dtype=F32)
        xt, wt = torch.from_numpy(x), torch.from_numpy(w)
        col = rng.standard_normal((n * hw * hw, c * 9 + 1), dtype=F32)
        wk = rng.standard_normal((c * 9 + 1, o), dtype=F32)
        prod = np.empty((n * hw * hw, o), dtype=F32)
        fns = {
            NUMPY: common.calibrated(lambda: np.matmul(col, wk, out=prod), target_s),
            common.TORCH: common.calibrated(lambda: torch.nn.functional.conv2d(xt, wt, padding=1), target_s),
        }
        report.table(
            "conv2_whole_vs_product",
            f"conv2 {n}x{c}x{hw}x{hw} -> {o}: NumPy's im2col product alone vs torch's whole conv2d "
            "forward (oneDNN), ms/call",
            common.round_robin(fns, repeats),
            unit="ms",
            scale=1e3,
            extra=common.gflops(2.0 * n * hw * hw * c * 9 * o),
        )
    return report.summary()


if __name__ == "__main__":
    raise SystemExit(main())
