"""``y += alpha * x`` (BLAS axpy) from the BLAS library that NumPy itself loaded, through ctypes.

NumPy has no fused multiply-add: ``d -= lr * g`` writes a temporary and reads it back, in one
thread. BLAS's axpy does it in one pass, vectorised and on BLAS's threads; for the 400,000
weights of a 784x512 layer that is 36 us instead of about 120 us, a tenth of an MNIST MLP step
spent in SGD.

NumPy does not expose axpy, but its wheels (PyPI, Linux) link OpenBLAS built with 64-bit integers
and suffixed symbol names (``scipy_cblas_saxpy64_`` since NumPy 2.0, ``cblas_saxpy64_`` before);
the library is already in the process, so it is found in ``/proc/self/maps``. Only those suffixed
names are used, because their integer width is known; a library found this way must also pass a
small self-test before it is trusted. Anything else -- another OS, MKL, a BLAS with unknown
symbols, ``TINYGRAD_KO_BLAS=0`` -- makes :func:`axpy` return False and the caller does the same
update with NumPy. This is a speed-up, never a requirement.
"""

from __future__ import annotations

import ctypes
import os

import numpy as np

__all__ = ["axpy", "available"]

# (single, double) symbol names, all with 64-bit integer arguments
_SYMBOLS = (
    ("scipy_cblas_saxpy64_", "scipy_cblas_daxpy64_"),
    ("cblas_saxpy64_", "cblas_daxpy64_"),
)

_funcs: dict[np.dtype, object] | None = None  # dtype -> ctypes function; {} when unavailable


def _candidate_libraries() -> list[str]:
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as fh:
            paths = {line.split()[-1] for line in fh if "blas" in line.lower() and "/" in line}
    except OSError:
        return []
    return sorted(p for p in paths if os.path.basename(p).startswith("lib") and ".so" in p)


def _load() -> dict[np.dtype, object]:
    if os.environ.get("TINYGRAD_KO_BLAS", "1").strip().lower() in ("0", "false", "no", "off"):
        return {}
    for path in _candidate_libraries():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for single, double in _SYMBOLS:
            try:
                fs, fd = getattr(lib, single), getattr(lib, double)
            except AttributeError:
                continue
            funcs: dict[np.dtype, object] = {}
            for f, ctype, dt in ((fs, ctypes.c_float, np.float32), (fd, ctypes.c_double, np.float64)):
                f.restype = None
                f.argtypes = [ctypes.c_int64, ctype, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64]
                funcs[np.dtype(dt)] = f
            if _self_test(funcs):
                return funcs
    return {}


def _self_test(funcs: dict[np.dtype, object]) -> bool:
    for dt, f in funcs.items():
        x = np.arange(1, 40, dtype=dt)
        y = np.full(39, 0.5, dtype=dt)
        expected = y - 0.25 * x
        try:
            f(39, -0.25, x.ctypes.data, 1, y.ctypes.data, 1)  # type: ignore[operator]
        except Exception:
            return False
        if not np.array_equal(y, expected):
            return False
    return True


def available() -> bool:
    """True when axpy runs in BLAS (after the first call has looked for it)."""
    global _funcs
    if _funcs is None:
        _funcs = _load()
    return bool(_funcs)


def axpy(alpha: float, x: np.ndarray, y: np.ndarray) -> bool:
    """``y += alpha * x`` in place with BLAS; False (and nothing done) if that is not possible.

    Needs same-shape C-contiguous float32 or float64 arrays of one dtype that do not overlap,
    ``y`` writeable.
    """
    global _funcs
    if _funcs is None:
        _funcs = _load()
    f = _funcs.get(y.dtype)
    if (
        f is None
        or x.dtype != y.dtype
        or x.shape != y.shape
        or not (x.flags.c_contiguous and y.flags.c_contiguous and y.flags.writeable)
        or np.may_share_memory(x, y)  # BLAS does not promise anything for overlapping arrays
    ):
        return False
    f(y.size, alpha, x.__array_interface__["data"][0], 1, y.__array_interface__["data"][0], 1)  # type: ignore[operator]
    return True
