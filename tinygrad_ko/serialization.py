"""save/load without pickle: state dicts and checkpoint dicts as ``.npz`` or ``.safetensors`` files.

``tinygrad_ko.save(obj, path)`` / ``tinygrad_ko.load(path)`` play the part of torch.save/torch.load:

- A state dict (name -> Tensor) is stored under its own keys. With a ``.safetensors`` suffix the file
  is the format PyTorch and the Hugging Face tools read and write without pickle
  (``safetensors.torch.load_file(path)`` gives the same keys, shapes and dtypes), through the
  ``safetensors`` package's NumPy API; any other suffix gives a NumPy ``.npz`` archive.
- A checkpoint dict (``{"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}``:
  nested dicts, lists and tuples of tensors, numbers, strings, booleans and None) is flattened: its
  tensors become entries named by their path (``model.fc.weight``, ``optimizer.state.0.exp_avg``),
  and its shape (key types, tuples, numbers, strings) is a JSON description in the file's header,
  so it comes back exactly. Nothing is ever unpickled.
- A whole ``nn.Module`` or optimizer is refused: save its ``state_dict()``.

``load`` recognises the format from the file's first bytes (not its name), takes PyTorch's
``map_location=`` (the CPU, the only device), ``weights_only=`` and ``mmap=`` (accepted: nothing is
unpickled either way), and returns Tensors. ``metadata`` (a JSON-able dict, e.g. the command line's
model/dataset/epochs) rides along in the header; ``load(..., with_metadata=True)`` returns it too.
Writes are atomic (temp file + rename); bad files raise ``CheckpointError`` naming the file.
"""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np

from .api.creation import from_numpy
from .api.device import require_cpu
from .tensor import Tensor

_META_KEY = "__tinygrad_ko_meta__"  # the metadata dict, as JSON
_TREE_KEY = "__tinygrad_ko_tree__"  # a nested checkpoint's shape, as JSON (absent for a flat state dict)
_ORDER_KEY = "__tinygrad_ko_order__"  # safetensors only: the tensors' order (the format sorts them)
_RESERVED = (_META_KEY, _TREE_KEY, _ORDER_KEY)
_SAFETENSORS_DTYPES = {"b", "i", "u", "f"}


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, truncated, not a checkpoint, or does not fit."""


# ---- save ---------------------------------------------------------------------------------------------
def save(
    obj: Any, f: str | os.PathLike | io.IOBase, metadata: dict[str, Any] | None = None, **_torch_kwargs: Any
) -> None:
    """Write ``obj`` (a state dict or a checkpoint dict) to ``f`` (a path or a binary file object).

    A path ending in ``.safetensors`` gets the safetensors format, any other an ``.npz`` archive.
    Writing to a path is atomic: a failed or interrupted save leaves the old file as it was.
    ``pickle_module=`` and the other torch.save options are accepted and ignored (no pickle)."""
    _refuse_objects(obj)
    arrays, tree = _flatten(obj)
    if metadata is not None:
        try:
            meta_json = json.dumps(metadata)
        except (TypeError, ValueError) as e:
            raise TypeError(f"save: metadata must be a JSON-able dict: {e}") from None
    path = None if hasattr(f, "write") else os.fspath(f)
    if path is not None and path.endswith(".safetensors"):
        payload = _safetensors_bytes(arrays, tree, metadata, path)
    else:
        extra = {}
        if tree is not None:
            extra[_TREE_KEY] = json.dumps(tree)
        if metadata is not None:
            extra[_META_KEY] = meta_json
        payload = _npz_bytes(arrays, extra)
    if path is None:
        f.write(payload)  # type: ignore[union-attr]
    else:
        _atomic_write(path, payload)


def _refuse_objects(obj: Any) -> None:
    kind = type(obj).__name__
    if hasattr(obj, "state_dict") and hasattr(obj, "parameters"):
        raise TypeError(
            f"save: got a whole model ({kind}); tinygrad_ko saves no pickled objects. Save its weights with "
            f"torch.save(model.state_dict(), path), and load them into a newly built {kind} with "
            "model.load_state_dict(torch.load(path))"
        )
    if hasattr(obj, "state_dict") and hasattr(obj, "param_groups"):
        raise TypeError(f"save: got an optimizer ({kind}); save optimizer.state_dict() instead")


def _flatten(obj: Any) -> tuple[dict[str, np.ndarray], Any]:
    """(arrays by entry name, JSON description of ``obj``); the description is None for a flat state
    dict (str keys, tensor values), which is stored under its own keys."""
    if isinstance(obj, Mapping) and all(
        isinstance(k, str) and isinstance(v, (Tensor, np.ndarray)) for k, v in obj.items()
    ):
        for key in obj:
            if key in _RESERVED:
                raise ValueError(f"save: the key {key!r} is reserved")
        return {k: _array(v, k) for k, v in obj.items()}, None
    arrays: dict[str, np.ndarray] = {}

    def encode(x: Any, path: list[str]) -> Any:
        where = ".".join(path) or "the object"
        if isinstance(x, (Tensor, np.ndarray)):
            name = base = ".".join(path) or "tensor"  # a bare torch.save(tensor): one entry named "tensor"
            n = 1
            while name in arrays or name in _RESERVED:
                n += 1
                name = f"{base}#{n}"
            arrays[name] = _array(x, where)
            return {"$t": name}
        if x is None or isinstance(x, (bool, str)):
            return x
        if isinstance(x, np.bool_):
            return bool(x)
        if isinstance(x, (int, np.integer)):
            return int(x)
        if isinstance(x, (float, np.floating)):
            x = float(x)
            return x if math.isfinite(x) else {"$f": repr(x)}
        if isinstance(x, Mapping):
            items = [[encode_key(k, where), encode(v, [*path, str(k)])] for k, v in x.items()]
            return {"$d": items, "o": 1} if isinstance(x, OrderedDict) else {"$d": items}
        if isinstance(x, list):
            return [encode(v, [*path, str(i)]) for i, v in enumerate(x)]
        if isinstance(x, tuple):
            return {"$tuple": [encode(v, [*path, str(i)]) for i, v in enumerate(x)]}
        _refuse_objects(x)
        raise TypeError(
            f"save: cannot store {where}: a {type(x).__name__}; a checkpoint holds tensors, arrays, numbers, "
            "strings, booleans, None, and dicts/lists/tuples of them (no pickle)"
        )

    def encode_key(k: Any, where: str) -> Any:
        if k is None or isinstance(k, (bool, str, int, float)):
            return encode(k, [])
        if isinstance(k, tuple):
            return {"$tuple": [encode_key(v, where) for v in k]}
        raise TypeError(f"save: cannot store the dict key {k!r} in {where}: keys must be str, int, float, bool or None")

    return arrays, encode(obj, [])


def _array(value: Tensor | np.ndarray, where: str) -> np.ndarray:
    arr = value.detach().numpy() if isinstance(value, Tensor) else value
    if arr.dtype.kind not in _SAFETENSORS_DTYPES:
        raise TypeError(f"save: {where} has dtype {arr.dtype}, which a checkpoint cannot hold (numbers and bool only)")
    return arr if arr.flags.c_contiguous else arr.copy(order="C")  # (np.ascontiguousarray makes 0-d 1-d)


def _npz_bytes(arrays: dict[str, np.ndarray], extra: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    # np.savez's layout, with a fixed timestamp: the same state gives the same bytes
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        entries = {**arrays, **{k: np.frombuffer(v.encode(), dtype=np.uint8) for k, v in extra.items()}}
        for key, arr in entries.items():
            with zf.open(zipfile.ZipInfo(key + ".npy", (1980, 1, 1, 0, 0, 0)), "w", force_zip64=True) as fid:
                np.lib.format.write_array(fid, arr, allow_pickle=False)
    return buf.getvalue()


def _safetensors_bytes(arrays: dict[str, np.ndarray], tree: Any, metadata: dict[str, Any] | None, path: str) -> bytes:
    numpy_api = _safetensors(path)
    header = {"format": "pt", _ORDER_KEY: json.dumps(list(arrays))}
    if tree is not None:
        header[_TREE_KEY] = json.dumps(tree)
    if metadata is not None:
        # each item readable as text by other tools (safe_open(...).metadata()), and the exact values as JSON
        for k, v in metadata.items():
            if isinstance(k, str) and k not in header:
                header[k] = v if isinstance(v, str) else json.dumps(v)
        header[_META_KEY] = json.dumps(metadata)
    return _canonical(numpy_api.save(arrays, metadata=header))


def _canonical(data: bytes) -> bytes:
    """The same bytes for the same checkpoint: the package writes the header's metadata in a random
    (hash) order; rewrite it sorted, same JSON, same length (the original is kept if that fails)."""
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n])
    if "__metadata__" in header:
        header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    if len(text) > n:
        return data
    return data[:8] + text + b" " * (n - len(text)) + data[8 + n :]


def _safetensors(path: str) -> Any:
    try:
        import safetensors.numpy
    except ImportError:
        raise ImportError(
            f"{path}: reading and writing .safetensors files needs the safetensors package: "
            "python -m pip install safetensors"
        ) from None
    return safetensors.numpy


def _atomic_write(path: str, payload: bytes) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.splitext(path)[1], dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
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


# ---- load ---------------------------------------------------------------------------------------------
def load(
    f: str | os.PathLike | io.IOBase,
    map_location: Any = None,
    weights_only: bool | None = None,
    mmap: bool | None = None,
    with_metadata: bool = False,
    **_torch_kwargs: Any,
) -> Any:
    """Read a file written by ``save`` (or a ``.safetensors`` file from PyTorch/Hugging Face).

    A state dict comes back as an OrderedDict of Tensors, a checkpoint dict as it was saved (its
    tensors as Tensors). ``map_location`` may be None, "cpu", ``device("cpu")``, a dict or a function
    (PyTorch's forms; a dict or function is not called: every tensor is on the CPU already); naming
    another device raises. ``weights_only`` and ``mmap`` are accepted and change nothing."""
    if not (map_location is None or callable(map_location) or isinstance(map_location, dict)):
        require_cpu(map_location)
    if hasattr(f, "read"):
        path, data = getattr(f, "name", "<file object>"), f.read()  # type: ignore[union-attr]
    else:
        path = os.fspath(f)
        if not os.path.exists(path):
            raise CheckpointError(f"checkpoint not found: {path}")
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as e:
            raise CheckpointError(f"cannot read checkpoint {path}: {e.strerror or e}") from None
    if data[:4] == b"PK\x03\x04":  # every .npz is a zip archive (and so is torch.save's pickle)
        arrays, header = _read_npz(path, data)
    elif len(data) >= 9 and data[8:9] == b"{":  # safetensors: 8-byte header length, then JSON
        arrays, header = _read_safetensors(path, data)
    else:
        what = "is empty" if not data else f"starts with {data[:8]!r}"
        raise CheckpointError(f"{path} is not a checkpoint (.npz or .safetensors): it {what}")
    meta = _json(header.pop(_META_KEY, None), path, "metadata")
    if meta is None:  # a file from another tool: its header's text entries
        meta = {k: v for k, v in header.items() if k not in _RESERVED}
    tree = _json(header.get(_TREE_KEY), path, "structure")
    tensors = {k: from_numpy(v if v.flags.writeable else v.copy()) for k, v in arrays.items()}
    if tree is None:
        obj: Any = OrderedDict(tensors)
    else:
        obj = _decode(tree, tensors, path)
    return (obj, meta) if with_metadata else obj


def _read_npz(path: str, data: bytes) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
        raise CheckpointError(f"checkpoint {path} is truncated or not a .npz checkpoint: {e}") from None
    if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
        raise CheckpointError(
            f"{path} was written by PyTorch's torch.save (a pickle), which tinygrad_ko never opens; convert it "
            f"where PyTorch is installed: python -m tinygrad_ko convert {path} "
            f"{os.path.splitext(path)[0]}.safetensors"
        )
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
        raise CheckpointError(f"checkpoint {path} is truncated or not a .npz checkpoint: {e}") from None
    header = {}
    for key in (_META_KEY, _TREE_KEY):
        if key in arrays:
            try:
                header[key] = arrays.pop(key).tobytes().decode()
            except UnicodeDecodeError as e:
                raise CheckpointError(f"checkpoint {path} has an unreadable header: {e}") from None
    return arrays, header


def _read_safetensors(path: str, data: bytes) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    numpy_api = _safetensors(path)
    try:
        arrays = numpy_api.load(data)
        header_len = int.from_bytes(data[:8], "little")
        header = json.loads(data[8 : 8 + header_len]).get("__metadata__") or {}
    except Exception as e:  # safetensors raises its own SafetensorError (an Exception)
        detail = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(f"checkpoint {path} is truncated or not a .safetensors file: {detail}") from None
    order = _json(header.pop(_ORDER_KEY, None), path, "tensor order")
    if order is not None and sorted(order) == sorted(arrays):
        arrays = {k: arrays[k] for k in order}
    header.pop("format", None)
    return arrays, header


def _json(text: str | None, path: str, what: str) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise CheckpointError(f"checkpoint {path} has unreadable {what}: {e}") from None


def _decode(x: Any, tensors: dict[str, Tensor], path: str) -> Any:
    if isinstance(x, list):
        return [_decode(v, tensors, path) for v in x]
    if not isinstance(x, dict):
        return x
    if "$t" in x:
        try:
            return tensors[x["$t"]]
        except KeyError:
            raise CheckpointError(f"checkpoint {path} is damaged: it has no tensor {x['$t']!r}") from None
    if "$f" in x:
        return float(x["$f"])
    if "$tuple" in x:
        return tuple(_decode(v, tensors, path) for v in x["$tuple"])
    if "$d" in x:
        items = ((_key(k), _decode(v, tensors, path)) for k, v in x["$d"])
        return OrderedDict(items) if x.get("o") else dict(items)
    raise CheckpointError(f"checkpoint {path} has a structure entry it does not understand: {sorted(x)}")


def _key(k: Any) -> Any:
    if isinstance(k, dict) and "$tuple" in k:
        return tuple(_key(v) for v in k["$tuple"])
    if isinstance(k, dict) and "$f" in k:
        return float(k["$f"])
    return k
