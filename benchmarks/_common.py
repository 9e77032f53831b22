"""Shared plumbing for the benchmarks: CLI flags, thread matching, round-robin timing, tables,
PASS/FAIL targets, machine description and JSON output.

Method (the same in every script):

- Every workload runs three ways in one process: tinygrad_ko, the hand-written NumPy floor
  (``numpy_floor.py``) and PyTorch CPU (when installed).
- Samples are taken round-robin: round r runs every implementation once, starting with a different
  one each round, so machine noise (other processes, turbo, thermal) hits all of them alike.
- A garbage collection and a 0.2 s pause run before every sample (not inside it), so one
  implementation's garbage is never collected on another's clock, and the BLAS threads that
  OpenBLAS leaves busy-waiting for ~0.1 s after its last call have gone to sleep. Python's GC stays enabled inside the sample; objects that
  exist before timing starts (imported modules, data) are frozen out of it with ``gc.freeze()``.
- The reported number is the median over rounds; ratios are ratios of medians, and the range of
  the per-round (paired) ratios is shown next to them.
- PyTorch gets ``torch.set_num_threads(n)`` with ``n`` = the BLAS thread count NumPy uses; with
  ``--threads n``, tinygrad_ko's own elementwise threads (``tinygrad_ko.set_num_threads``) are set
  to ``n`` too, so ``--threads 1`` runs everything on one core.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

# the benchmarks run from a checkout: make `import tinygrad_ko` work without installing it
_REPO = Path(__file__).resolve().parent.parent
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

TG, FLOOR, TORCH = "tinygrad_ko", "numpy floor", "torch"
IMPLS = (TG, FLOOR, TORCH)


# ---- clock ----------------------------------------------------------------------------------------
_CLOCK = {"wall": time.perf_counter, "cpu": time.process_time}
_clock = time.perf_counter


def now() -> float:
    """The benchmarks' clock: wall time (default), or this process's CPU time with --clock cpu."""
    return _clock()


# ---- CLI ------------------------------------------------------------------------------------------
def make_parser(description: str, default_repeats: int) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument(
        "--repeats",
        type=int,
        default=None,
        help=f"round-robin rounds per measurement (default {default_repeats}; 2 with --quick)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke mode: tiny workloads, finishes in seconds (numbers are not meaningful)",
    )
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    p.add_argument("--seed", type=int, default=0, help="seed for data order and initial weights")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="set NumPy's BLAS threads (OpenBLAS, or threadpoolctl) and torch's to N "
        "(default: leave NumPy's as they are and give torch the same number)",
    )
    p.add_argument(
        "--clock",
        choices=sorted(_CLOCK),
        default="wall",
        help="wall (default) or cpu: the process's CPU time, robust to other processes on a "
        "busy machine but only meaningful with --threads 1 (idle BLAS threads spin)",
    )
    p.set_defaults(default_repeats=default_repeats)
    return p


def repeats_of(args: argparse.Namespace) -> int:
    """Apply the common flags (--quick, --threads, --clock) and return the number of rounds."""
    global _clock
    set_quick(args.quick)
    _clock = _CLOCK[args.clock]
    if args.threads is not None:
        set_blas_threads(args.threads)
        import tinygrad_ko

        tinygrad_ko.set_num_threads(args.threads)
    if args.clock == "cpu" and numpy_blas_threads()[0] != 1:
        print("warning: --clock cpu with more than one BLAS thread counts spinning threads; use --threads 1")
    if args.repeats is not None:
        if args.repeats < 1:
            raise SystemExit("--repeats must be >= 1")
        return args.repeats
    return 2 if args.quick else args.default_repeats


# ---- threads and torch ----------------------------------------------------------------------------
def numpy_blas_threads() -> tuple[int, str]:
    """How many threads NumPy's BLAS uses, and how we found out."""
    try:
        from threadpoolctl import threadpool_info  # type: ignore[import-not-found]

        counts = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
        if counts:
            return int(max(counts)), "threadpoolctl"
    except ImportError:
        pass
    # OpenBLAS (NumPy's wheels) answers directly; find the loaded library in our own memory map
    try:
        for path in _openblas_libs():
            lib = ctypes.CDLL(path)
            for sym in (
                "scipy_openblas_get_num_threads64_",
                "scipy_openblas_get_num_threads",
                "openblas_get_num_threads64_",
                "openblas_get_num_threads",
            ):
                fn = getattr(lib, sym, None)
                if fn is not None:
                    n = int(fn())
                    if n > 0:
                        return n, f"{sym}()"
    except OSError:
        pass
    return os.cpu_count() or 1, "os.cpu_count()"


def _openblas_libs() -> list[str]:
    try:
        with open("/proc/self/maps") as f:
            return sorted({line.split()[-1] for line in f if "openblas" in line.lower() and "/" in line})
    except OSError:
        return []


def set_blas_threads(n: int) -> None:
    """Make NumPy's BLAS use ``n`` threads from now on."""
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-not-found]

        threadpool_limits(limits=n, user_api="blas")
        return
    except ImportError:
        pass
    for path in _openblas_libs():
        lib = ctypes.CDLL(path)
        for sym in (
            "scipy_openblas_set_num_threads64_",
            "scipy_openblas_set_num_threads",
            "openblas_set_num_threads64_",
            "openblas_set_num_threads",
        ):
            fn = getattr(lib, sym, None)
            if fn is not None:
                fn(ctypes.c_int(n))
                return
    raise SystemExit(
        "--threads: cannot set NumPy's BLAS threads here (install threadpoolctl, or set "
        "OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / MKL_NUM_THREADS before starting)"
    )


def load_torch(threads: int) -> tuple[Any, str]:
    """``(torch, note)``; torch is None when it is not installed (the `bench` extra)."""
    try:
        import torch
    except ImportError:
        return None, "torch is not installed (pip install -e '.[bench]'): the torch column is skipped"
    torch.set_num_threads(threads)
    return torch, f"torch {torch.__version__}, torch.set_num_threads({threads})"


# ---- timing ---------------------------------------------------------------------------------------
SETTLE_S = 0.2


def set_quick(quick: bool) -> None:
    """--quick: shorter pauses between samples."""
    global SETTLE_S
    SETTLE_S = 0.01 if quick else 0.2


def _settle() -> None:
    # OpenBLAS worker threads busy-wait for ~0.1 s after the last BLAS call (torch's OpenMP
    # threads for less): pause so that this spinning never eats into the next sample's CPU
    gc.collect()
    time.sleep(SETTLE_S)


def round_robin(fns: dict[str, Callable[[], float]], repeats: int, warmup: bool = True) -> dict[str, list[float]]:
    """Call each ``fn`` once per round (the first one rotating), ``repeats`` rounds.

    Each ``fn`` runs one sample and returns its own elapsed seconds (so setup stays off the clock).
    Before each sample: a garbage collection and a short pause (see ``_settle``).
    """
    names = list(fns)
    # Move everything alive now (torch's and NumPy's module objects, datasets, models) to the
    # permanent generation: otherwise every full collection inside a sample walks torch's hundreds
    # of thousands of objects, a cost that would land on whichever implementation triggers it.
    gc.collect()
    gc.freeze()
    if warmup:
        for name in names:
            _settle()
            fns[name]()
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(repeats):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            _settle()
            times[name].append(fns[name]())
    return times


def timed_loop(fn: Callable[[], Any], iters: int) -> Callable[[], float]:
    """A sample that runs ``fn`` ``iters`` times and returns seconds per call."""

    def sample() -> float:
        t0 = now()
        for _ in range(iters):
            fn()
        return (now() - t0) / iters

    return sample


def calibrated(fn: Callable[[], Any], target_s: float) -> Callable[[], float]:
    """A sample that calls ``fn`` enough times to take about ``target_s`` seconds; returns s/call."""
    fn()
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-7)
    return timed_loop(fn, max(1, int(target_s / once)))


def gflops(flops: float) -> dict[str, Callable[[float], str]]:
    """A ``Report.table`` extra column: the rate of ``flops`` per call, for tables in ms per call."""
    return {"gflops": lambda ms: f"{flops / (ms * 1e-3) / 1e9:7.1f} GFLOP/s"}


# ---- results --------------------------------------------------------------------------------------
class Report:
    """Collects measurements and PASS/FAIL targets; prints tables; writes JSON."""

    def __init__(self, script: str, args: argparse.Namespace, config: dict[str, Any]) -> None:
        self.script = script
        self.args = args
        self.config = config
        self.results: dict[str, Any] = {}
        self.targets: list[dict[str, Any]] = []
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"note: {text}")

    def table(
        self,
        key: str,
        title: str,
        times: dict[str, list[float]],
        unit: str = "s",
        scale: float = 1.0,
        extra: dict[str, Callable[[float], str]] | None = None,
    ) -> dict[str, float]:
        """Print one measurement: median/min/max per implementation and ratios vs floor/torch.

        ``scale`` multiplies every time before printing (e.g. 1e6 for microseconds, or the
        batches-per-epoch factor when a subset was measured). Returns the scaled medians.
        """
        med = {n: statistics.median(ts) * scale for n, ts in times.items()}
        print(f"\n{title}")
        head = f"  {'':<13}{'median':>12}{'min':>11}{'max':>11}{'vs floor':>17}{'vs torch':>17}"
        print(head)
        entry: dict[str, Any] = {"title": title, "unit": unit, "impls": {}}
        for name, ts in times.items():
            scaled = [t * scale for t in ts]
            cols = [f"{med[name]:>10.4g} {unit:<1}", f"{min(scaled):>10.4g}", f"{max(scaled):>10.4g}"]
            ratio_info: dict[str, Any] = {}
            for other in (FLOOR, TORCH):
                if other in times and name != other:
                    r = med[name] / med[other]
                    paired = [a / b for a, b in zip(times[name], times[other])]
                    cols.append(f"{r:>7.2f}x [{min(paired):.2f}-{max(paired):.2f}]")
                    ratio_info[f"vs_{other.replace(' ', '_')}"] = {
                        "ratio": r,
                        "paired_min": min(paired),
                        "paired_max": max(paired),
                    }
                else:
                    cols.append(f"{'-':>17}")
            line = f"  {name:<13}" + " ".join(cols)
            if extra and name in med:
                line += "   " + " ".join(f(med[name]) for f in extra.values())
            print(line)
            entry["impls"][name] = {"median": med[name], "samples": scaled, **ratio_info}
        self.results[key] = entry
        return med

    def target(self, name: str, value: float | None, limit: float, unit: str = "x", why: str = "") -> None:
        """Record ``value <= limit`` as PASS/FAIL (SKIP when the value could not be measured)."""
        status = "SKIP" if value is None else ("PASS" if value <= limit else "FAIL")
        shown = "n/a" if value is None else f"{value:.3g}{unit}"
        self.targets.append({"name": name, "value": value, "limit": limit, "unit": unit, "status": status, "why": why})
        print(f"[{status}] {name}: {shown} (target <= {limit:g}{unit}){' -- ' + why if why else ''}")

    def summary(self) -> int:
        print("\nTargets:")
        for t in self.targets:
            shown = "n/a" if t["value"] is None else f"{t['value']:.3g}{t['unit']}"
            print(f"  [{t['status']}] {t['name']}: {shown} (<= {t['limit']:g}{t['unit']})")
        if self.args.quick:
            print("  (--quick: smoke mode, the numbers above are not meaningful)")
        if self.args.json:
            self.write_json(self.args.json)
        return 0

    def write_json(self, path: str) -> None:
        payload = {
            "script": self.script,
            "command": " ".join([Path(sys.executable).name] + sys.argv),
            "quick": bool(self.args.quick),
            "clock": self.args.clock,
            "config": self.config,
            "machine": machine_info(),
            "notes": self.notes,
            "results": self.results,
            "targets": self.targets,
        }
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(out.suffix + ".tmp")
        tmp.write_text(json.dumps(payload, indent=2, default=str))
        os.replace(tmp, out)
        print(f"wrote {out}")


# ---- machine --------------------------------------------------------------------------------------
def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _blas() -> str:
    try:
        cfg = np.show_config(mode="dicts")  # numpy >= 1.25
        blas = cfg["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')}"
    except Exception:
        return "unknown"


def _openblas_core() -> str | None:
    """The kernel family OpenBLAS picked at run time (e.g. SkylakeX = AVX-512), if it is OpenBLAS."""
    try:
        for path in _openblas_libs():
            lib = ctypes.CDLL(path)
            for sym in (
                "scipy_openblas_get_corename64_",
                "scipy_openblas_get_corename",
                "openblas_get_corename64_",
                "openblas_get_corename",
            ):
                fn = getattr(lib, sym, None)
                if fn is not None:
                    fn.restype = ctypes.c_char_p
                    return fn().decode()
    except OSError:
        pass
    return None


def _cpu_flags() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return " ".join(x for x in ("avx2", "fma", "avx512f", "avx512_vnni", "amx_tile") if x in flags)
    except OSError:
        pass
    return ""


def machine_info() -> dict[str, Any]:
    threads, how = numpy_blas_threads()
    info: dict[str, Any] = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "ram_gib": _ram_gib(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cpu_flags": _cpu_flags(),
        "blas": _blas(),
        "blas_core": _openblas_core(),
        "blas_threads": threads,
        "blas_threads_from": how,
        "tinygrad_ko_threads": _tg_threads(),
        "platform": platform.platform(),
    }
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        info["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    except ImportError:
        info["torch"] = None
    return info


def _tg_threads() -> int:
    import tinygrad_ko

    return tinygrad_ko.get_num_threads()


def print_header(title: str, args: argparse.Namespace, repeats: int) -> dict[str, Any]:
    info = machine_info()
    print(f"== {title} ==")
    print(f"{info['date']}  {info['cpu']} [{info['cpu_flags']}]  nproc={info['nproc']}  RAM={info['ram_gib']} GiB")
    print(
        f"python {info['python']}  numpy {info['numpy']} ({info['blas']}, core {info['blas_core']}, "
        f"{info['blas_threads']} threads via {info['blas_threads_from']}; tinygrad_ko threads "
        f"{info['tinygrad_ko_threads']})  "
        + (f"torch {info['torch']} ({info.get('torch_cpu_capability')})" if info["torch"] else "torch: not installed")
    )
    clock = "wall clock" if args.clock == "wall" else "CPU time of this process (--clock cpu)"
    print(f"repeats={repeats} (round-robin, medians), {clock}{'  --quick: SMOKE MODE' if args.quick else ''}")
    return info


def rss_bytes() -> int:
    """Resident set size of this process now (Linux: /proc/self/statm)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
