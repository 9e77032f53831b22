"""The benchmark scripts keep working: each runs its --quick mode (numbers meaningless) to the end.

Timings are never asserted here; the scripts in benchmarks/ measure them (see benchmarks/README.md).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.mnist
@pytest.mark.parametrize(
    "script", ["bench_ops.py", "bench_mlp.py", "bench_cnn.py", "bench_blas.py", "winograd_probe.py"]
)
def test_benchmark_quick_mode_runs(script, tmp_path):
    _run_quick(script, tmp_path)


def test_per_sample_benchmark_quick_mode_runs(tmp_path):
    """bench_per_sample.py makes its own images (no MNIST), so it runs with the fast tests."""
    _run_quick("bench_per_sample.py", tmp_path)


def _run_quick(script, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = tmp_path / "result.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--quick", "--threads", "1", "--json", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Targets:" in proc.stdout
    assert out.exists() and out.stat().st_size > 0
