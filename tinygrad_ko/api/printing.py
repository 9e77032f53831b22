"""The body of a tensor's repr, laid out the way PyTorch prints tensors.

Learners compare what their notebook prints with what the book printed, so we follow PyTorch's
print options (``set_printoptions``; defaults: precision 4, threshold 1000, edgeitems 3,
linewidth 80, sci_mode chosen per tensor) and its layout rules:

- one width for every element, the widest one's, and elements right-aligned to it;
- floats: ``1.`` when every finite nonzero value is whole, scientific (``1.0000e-05``) when the
  nonzero magnitudes span more than a factor 1000, exceed 1e8 or go below 1e-4 (for whole
  values: the first two) or when ``sci_mode=True``, else fixed with ``precision`` decimals;
- more than ``threshold`` elements: ``edgeitems`` items at each edge of every dimension around ``...``;
- rows wrapped to the line width, nested brackets indented under ``tensor(``.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import numpy as np


class PrintOptions:
    """The current print options (one instance, ``OPTIONS``), as ``set_printoptions`` left them."""

    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None  # None: chosen from the values, per tensor


OPTIONS = PrintOptions()
PROFILES = {
    "default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
    "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3, "linewidth": 80},
}


def set_printoptions(
    precision: int | None = None,
    threshold: float | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: bool | None = None,
) -> None:
    """PyTorch's ``torch.set_printoptions``: a ``profile`` ("default", "short", "full") first, then
    the options given; the others keep their values, except ``sci_mode``, which every call sets
    (None: chosen per tensor)."""
    if profile is not None:
        if profile not in PROFILES:
            raise ValueError(f"set_printoptions: profile must be one of {', '.join(PROFILES)}, got {profile!r}")
        for key, value in PROFILES[profile].items():
            setattr(OPTIONS, key, value)
    for key, value in (
        ("precision", precision),
        ("threshold", threshold),
        ("edgeitems", edgeitems),
        ("linewidth", linewidth),
    ):
        if value is not None:
            setattr(OPTIONS, key, value)
    OPTIONS.sci_mode = sci_mode


def get_printoptions() -> dict[str, Any]:
    """The current options, as keyword arguments ``set_printoptions`` takes."""
    keys = ("precision", "threshold", "edgeitems", "linewidth", "sci_mode")
    return {key: getattr(OPTIONS, key) for key in keys}


@contextlib.contextmanager
def printoptions(**options: Any) -> Iterator[None]:
    """``with torch.printoptions(precision=2): ...``: the options inside the block only."""
    saved = get_printoptions()
    set_printoptions(**options)
    try:
        yield
    finally:
        set_printoptions(**saved)


class _Formatter:
    """Chooses the number format and the common width from the values that will be shown."""

    def __init__(self, values: np.ndarray) -> None:
        self.floating = values.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.width = 1
        self.precision = precision = OPTIONS.precision
        flat = values.reshape(-1)
        if not self.floating:
            for v in flat.tolist():
                self.width = max(self.width, len(f"{v}"))
            return
        shown = flat.astype(np.float64)
        shown = shown[np.isfinite(shown) & (shown != 0)]
        if shown.size == 0:
            return
        mags = np.abs(shown)
        lo, hi = float(mags.min()), float(mags.max())
        self.int_mode = bool(np.all(shown == np.ceil(shown)))
        forced = OPTIONS.sci_mode
        self.sci_mode = (hi / lo > 1000.0 or hi > 1e8 or lo < 1e-4) if forced is None else forced
        if self.int_mode and not self.sci_mode:
            strs = [f"{v:.0f}." for v in shown.tolist()]
        else:
            fmt = "e" if self.sci_mode else "f"
            strs = [f"{v:.{precision}{fmt}}" for v in shown.tolist()]
        self.width = max(self.width, max(len(s) for s in strs))

    def format(self, value: object) -> str:
        if self.floating:
            v = float(value)  # type: ignore[arg-type]
            if self.sci_mode:
                out = f"{v:{self.width}.{self.precision}e}"
            elif self.int_mode:
                out = f"{v:.0f}" + ("" if math.isinf(v) or math.isnan(v) else ".")
            else:
                out = f"{v:.{self.precision}f}"
        else:
            out = f"{value}"
        return " " * (self.width - len(out)) + out


def _summarized(a: np.ndarray) -> np.ndarray:
    """Only the values that will be shown (the edges of every long dimension)."""
    edge = OPTIONS.edgeitems
    if a.ndim == 0:
        return a
    if a.ndim > 1 and not edge:
        return a[(slice(0, 0),) * a.ndim]
    if a.shape[0] > 2 * edge:
        a = np.concatenate([a[:edge], a[-edge:]])
    if a.ndim == 1:
        return a
    return np.stack([_summarized(x) for x in a])


def _vector(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    edge = OPTIONS.edgeitems
    per_line = max(1, (OPTIONS.linewidth - indent) // (fmt.width + 2))
    if summarize and not edge:
        items = ["..."]
    elif summarize and a.shape[0] > 2 * edge:
        items = [fmt.format(v) for v in a[:edge].tolist()] + [" ..."]
        items += [fmt.format(v) for v in a[-edge:].tolist()]
    else:
        items = [fmt.format(v) for v in a.tolist()]
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        return _vector(a, indent, summarize, fmt)
    n, edge = a.shape[0], OPTIONS.edgeitems
    if summarize and n > 2 * edge:
        rows = [_nested(a[i], indent + 1, summarize, fmt) for i in range(edge)] + ["..."]
        rows += [_nested(a[i], indent + 1, summarize, fmt) for i in range(n - edge, n)]
    else:
        rows = [_nested(a[i], indent + 1, summarize, fmt) for i in range(n)]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def tensor_body(a: np.ndarray, indent: int) -> str:
    """The values part of ``tensor(...)``, for an array printed ``indent`` columns in."""
    if a.size == 0:
        return "[]"
    if a.dtype == np.float16:
        a = a.astype(np.float32)
    summarize = a.size > OPTIONS.threshold
    fmt = _Formatter(_summarized(a) if summarize else a)
    return _nested(a, indent, summarize, fmt)


def with_suffixes(text: str, suffixes: list[str], indent: int) -> str:
    """``text`` + ``, suffix`` for each suffix + ``)``; a suffix that would run past the line
    width starts a new line, indented like the values (PyTorch's layout)."""
    out = [text]
    last_line = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line + len(suffix) + 2 > OPTIONS.linewidth:
            out.append(",\n" + " " * indent + suffix)
            last_line = indent + len(suffix)
        else:
            out.append(", " + suffix)
            last_line += len(suffix) + 2
    out.append(")")
    return "".join(out)
