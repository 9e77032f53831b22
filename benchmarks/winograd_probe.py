"""Would a Winograd convolution pay in NumPy? A measured prototype for the CNN's second layer.

    python benchmarks/winograd_probe.py [--repeats N] [--quick] [--json PATH] [--threads N]

Winograd's F(2x2, 3x3) computes each 2x2 block of a 3x3 convolution's output from a 4x4 tile of
its input with 16 multiplications per (input, output) channel pair instead of 36: the products
shrink 2.25x. The price is three transforms around them, and in NumPy each is a pass over memory:

1. gather the overlapping 4x4 input tiles (stride 2) into (16, tiles, C);
2. input transform: V = (B^T x B^T) @ tiles, one (16, 16) product over every tile and channel;
3. 16 products, one per tile position: M[k] = V[k] (tiles, C) @ U[k] (C, O), where
   U = G w G^T is the transformed weight;
4. output transform: Y = (A^T x A^T) @ M, (4, 16) over the 16-fold product;
5. scatter the 2x2 output blocks into NCHW.

This prototype (not part of the library) checks its result against ``tinygrad_ko``'s conv2d and
times it, part by part, against that conv2d's forward (im2col + one product). Prints the parts
and the two totals; no targets.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import as_strided

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common

import tinygrad_ko as tg
import tinygrad_ko.nn.functional as TF

F32 = np.float32
_G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], dtype=F32)
_BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=F32)
_AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=F32)


class Winograd:
    """F(2x2, 3x3) forward of a stride-1, padding-1 conv2d with bias, for even H and W."""

    def __init__(self, x_shape: tuple[int, ...], w: np.ndarray, b: np.ndarray) -> None:
        n, c, h, wd = x_shape
        o = w.shape[0]
        assert w.shape == (o, c, 3, 3) and h % 2 == 0 and wd % 2 == 0
        self.dims = (n, c, h, wd, o, h // 2, wd // 2)
        # the transformed weight: U[k, l] = (G w G^T)[k, l] as (16, C, O)
        self.u = np.ascontiguousarray(np.einsum("ki,ocij,lj->klco", _G, w, _G).reshape(16, c, o))
        self.b = b
        self.bk = np.kron(_BT, _BT)
        self.ak = np.kron(_AT, _AT)
        self.xp = np.zeros((n, h + 2, wd + 2, c), dtype=F32)  # padded, channels-last
        self.tiles = np.empty((4, 4, n, h // 2, wd // 2, c), dtype=F32)

    def pad(self, x: np.ndarray) -> None:
        n, c, h, wd = self.dims[:4]
        np.copyto(self.xp[:, 1 : h + 1, 1 : wd + 1, :], x.transpose(0, 2, 3, 1))

    def gather(self) -> None:
        n, c, _, _, _, th, tw = self.dims
        s = self.xp.strides
        view = as_strided(self.xp, (4, 4, n, th, tw, c), (s[1], s[2], s[0], 2 * s[1], 2 * s[2], s[3]))
        np.copyto(self.tiles, view)

    def transform_input(self) -> np.ndarray:
        return np.matmul(self.bk, self.tiles.reshape(16, -1))

    def products(self, v: np.ndarray) -> np.ndarray:
        n, c, _, _, _, th, tw = self.dims
        return np.matmul(v.reshape(16, n * th * tw, c), self.u)

    def transform_output(self, m: np.ndarray) -> np.ndarray:
        return np.matmul(self.ak, m.reshape(16, -1))

    def scatter(self, y: np.ndarray) -> np.ndarray:
        n, _, h, wd, o, th, tw = self.dims
        out = np.empty((n, o, h, wd), dtype=F32)
        np.copyto(out.reshape(n, o, th, 2, tw, 2), y.reshape(2, 2, n, th, tw, o).transpose(2, 5, 3, 0, 4, 1))
        out += self.b[:, None, None]
        return out

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.pad(x)
        self.gather()
        return self.scatter(self.transform_output(self.products(self.transform_input())))


def main(argv: list[str] | None = None) -> int:
    parser = common.make_parser(__doc__.split("\n\n")[0], default_repeats=7)
    args = parser.parse_args(argv)
    repeats = common.repeats_of(args)
    common.print_header("winograd_probe: F(2x2,3x3) in NumPy vs tinygrad_ko's im2col conv2d forward", args, repeats)
    n, c, hw, o = (4, 8, 8, 16) if args.quick else (64, 32, 14, 64)
    report = common.Report("winograd_probe", args, {"shape": [n, c, hw, hw], "out_channels": o, "repeats": repeats})
    rng = np.random.default_rng(args.seed)
    x = rng.standard_normal((n, c, hw, hw), dtype=F32)
    w = (rng.standard_normal((o, c, 3, 3)) / np.sqrt(9 * c)).astype(F32)
    b = rng.standard_normal(o, dtype=F32)
    win = Winograd(x.shape, w, b)
    xt, wt, bt = tg.from_numpy(x), tg.from_numpy(w), tg.from_numpy(b)
    expected = TF.conv2d(xt, wt, bt, padding=1).numpy()
    got = win(x)
    err = float(np.max(np.abs(got - expected)))
    print(
        f"conv {n}x{c}x{hw}x{hw} -> {o}, 3x3, padding 1: max |winograd - conv2d| = {err:.2e} "
        f"(outputs up to {float(np.max(np.abs(expected))):.2f})"
    )
    report.results["max_abs_error"] = err
    if not err <= 1e-3 * max(1.0, float(np.max(np.abs(expected)))):
        report.note(f"the prototype disagrees with conv2d (max error {err:.2e}): timings not comparable")
    target_s = 0.02 if args.quick else 0.25
    v = win.transform_input()
    m = win.products(v)
    y = win.transform_output(m)
    parts = {
        "pad to channels-last": lambda: win.pad(x),
        "gather 4x4 tiles": win.gather,
        "input transform": win.transform_input,
        "16 products": lambda: win.products(v),
        "output transform": lambda: win.transform_output(m),
        "scatter to NCHW + bias": lambda: win.scatter(y),
    }
    print("\nparts (ms per call, each alone, median of the rounds):")
    part_times = common.round_robin({k: common.calibrated(f, target_s) for k, f in parts.items()}, repeats)
    for k, ts in part_times.items():
        print(f"  {k:<24} {sorted(ts)[len(ts) // 2] * 1e3:8.3f}")
    report.results["parts_ms"] = {k: sorted(ts)[len(ts) // 2] * 1e3 for k, ts in part_times.items()}
    totals = {
        "tinygrad_ko conv2d": common.calibrated(lambda: TF.conv2d(xt, wt, bt, padding=1), target_s),
        "winograd prototype": common.calibrated(lambda: win(x), target_s),
    }
    report.table(
        "forward",
        f"conv2d {n}x{c}x{hw}x{hw} -> {o} forward, ms/call",
        common.round_robin(totals, repeats),
        unit="ms",
        scale=1e3,
    )
    return report.summary()


if __name__ == "__main__":
    raise SystemExit(main())
