"""save/load of state dicts as .npz files: no pickle, atomic writes, clear errors.

``tinygrad_ko.save(model.state_dict(), "model.npz")`` and
``model.load_state_dict(tinygrad_ko.load("model.npz"))`` play the part of torch.save/torch.load for
state dicts. Values may be Tensors or arrays; ``metadata`` (a JSON-able dict) rides along.
``load`` takes PyTorch's ``map_location=`` (the CPU, the only device) and ``weights_only=`` (either
way, nothing is unpickled: a checkpoint holds arrays only).
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections import OrderedDict
from typing import Any

import numpy as np

from .api.creation import from_numpy
from .api.device import require_cpu
from .tensor import Tensor

_META_KEY = "__tinygrad_ko_meta__"


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, truncated, not a checkpoint, or does not fit."""


def save(state: dict[str, Any], path: str | os.PathLike, metadata: dict[str, Any] | None = None) -> None:
    """Write ``state`` (name -> Tensor/array/number) to ``path`` atomically (temp file + rename)."""
    path = os.fspath(path)
    arrays: dict[str, np.ndarray] = {}
    for key, value in state.items():
        if key == _META_KEY:
            raise ValueError(f"save: the key {_META_KEY!r} is reserved")
        arr = value.detach().numpy() if isinstance(value, Tensor) else np.asarray(value)
        if arr.dtype == object:
            raise TypeError(
                f"save: value for {key!r} is not numeric ({type(value).__name__}); only tensors/arrays/numbers can be saved"
            )
        arrays[key] = arr
    if metadata is not None:
        arrays[_META_KEY] = np.frombuffer(json.dumps(metadata).encode(), dtype=np.uint8)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            # np.savez's layout, with a fixed timestamp: the same state gives the same bytes
            with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
                for key, arr in arrays.items():
                    with zf.open(zipfile.ZipInfo(key + ".npy", (1980, 1, 1, 0, 0, 0)), "w", force_zip64=True) as fid:
                        np.lib.format.write_array(fid, arr, allow_pickle=False)
            f.flush()
            os.fsync(f.fileno())
        mask = os.umask(0o022)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes 0600; give what open() would
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(
    path: str | os.PathLike,
    map_location: Any = None,
    weights_only: bool | None = None,
    mmap: bool | None = None,
    with_metadata: bool = False,
) -> Any:
    """Read a checkpoint written by ``save``: an OrderedDict of Tensors (and the metadata dict).

    ``map_location`` may be None, "cpu", ``device("cpu")``, a dict or a function (PyTorch's forms;
    a dict or function is not called: every tensor is on the CPU already); naming another device
    raises. ``weights_only`` and ``mmap`` are accepted and change nothing."""
    if not (map_location is None or callable(map_location) or isinstance(map_location, dict)):
        require_cpu(map_location)
    path = os.fspath(path)
    if not os.path.exists(path):
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as e:
        raise CheckpointError(f"cannot read checkpoint {path}: {e.strerror or e}") from None
    if head != b"PK\x03\x04":  # every .npz is a zip archive
        what = "is empty" if not head else f"starts with {head!r}"
        raise CheckpointError(f"{path} is not a .npz checkpoint (a zip archive): it {what}")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
        raise CheckpointError(f"checkpoint {path} is truncated or not a .npz checkpoint: {e}") from None
    meta: dict[str, Any] = {}
    if _META_KEY in arrays:
        try:
            meta = json.loads(arrays.pop(_META_KEY).tobytes().decode())
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise CheckpointError(f"checkpoint {path} has unreadable metadata: {e}") from None
    state = OrderedDict((k, from_numpy(v)) for k, v in arrays.items())
    return (state, meta) if with_metadata else state
