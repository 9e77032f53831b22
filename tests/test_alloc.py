"""The allocator tweak done at import (tinygrad_ko.kernels.alloc): on, off, and out of the user's way."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

CHECK = "import tinygrad_ko, tinygrad_ko.kernels.alloc as a; print(a.applied)"


def _applied(**env: str) -> str:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TINYGRAD_KO_MALLOPT", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")
    }
    proc = subprocess.run(
        [sys.executable, "-c", CHECK], env={**clean, **env}, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_thresholds_are_raised_at_import_on_glibc():
    assert _applied() == "True"


def test_opt_out_and_user_settings_win():
    assert _applied(TINYGRAD_KO_MALLOPT="0") == "False"
    assert _applied(MALLOC_TRIM_THRESHOLD_="1048576") == "False"  # the user's own setting is left alone
