"""Keep freed large buffers in the process instead of handing them back to the OS (Linux/glibc).

A training step allocates and frees the same large NumPy arrays every time (a convolution's
column matrix alone is ~15 MB for the MNIST CNN). By default glibc serves blocks above a threshold
(128 KiB at first, raised dynamically as blocks are freed) with a fresh ``mmap`` and gives them back
to the OS on ``free``, and it also returns the free top of its heap beyond a trim threshold; the
next step's array of the same size then takes a page fault per 4 KiB page, and the kernel zeroes
every page before NumPy writes it. On the MNIST CNN that is a fifth of a training step (62 -> 50 ms
with 2 BLAS threads). Fixing the mmap threshold at 64 MiB and the trim threshold at 128 MiB makes
glibc reuse the freed blocks from its heap instead -- what ``MALLOC_MMAP_THRESHOLD_`` and
``MALLOC_TRIM_THRESHOLD_`` in the environment would do, without asking every user to set them.

The price: up to 128 MiB of freed memory stays in the process for reuse instead of going back to
the OS. Blocks of 64 MiB and more (a whole dataset) are still mapped and returned as before; larger
thresholds (256/512 MiB) were no faster and kept the resident size at its peak.

:func:`tune_malloc` runs once when ``tinygrad_ko`` is imported. It does nothing unless the C
library is glibc, leaves alone thresholds the user set through the environment, can be switched
off with ``TINYGRAD_KO_MALLOPT=0``, and ignores every failure: this is a speed-up, never a
requirement.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys

__all__ = ["tune_malloc"]

# glibc's mallopt parameter numbers (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD = 64 * 1024 * 1024  # blocks below this come from the heap, so they are reused
TRIM_THRESHOLD = 128 * 1024 * 1024  # free memory at the top of the heap kept for reuse

_USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")

applied = False  # True once the thresholds were set in this process


def tune_malloc() -> bool:
    """Raise glibc's mmap and trim thresholds; True if both were set (or already had been)."""
    global applied
    if applied:
        return True
    if os.environ.get("TINYGRAD_KO_MALLOPT", "1").strip() in ("0", "false", "no", "off"):
        return False
    if not sys.platform.startswith("linux") or any(v in os.environ for v in _USER_SETTINGS):
        return False
    try:
        if platform.libc_ver()[0] != "glibc":
            return False
        mallopt = ctypes.CDLL("libc.so.6").mallopt
        mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
        mallopt.restype = ctypes.c_int
        applied = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    except Exception:  # a missing or unusual C library only means no speed-up
        return False
    return applied
