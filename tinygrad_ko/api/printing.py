"""The body of a tensor's repr, laid out the way PyTorch prints tensors.

Learners compare what their notebook prints with what the book printed, so we follow PyTorch's
documented print options (``torch.set_printoptions`` defaults: precision 4, threshold 1000,
edgeitems 3, linewidth 80) and its layout rules:

- one width for every element, the widest one's, and elements right-aligned to it;
- floats: ``1.`` when every finite nonzero value is whole, scientific (``1.0000e-05``) when the
  nonzero magnitudes span more than a factor 1000, exceed 1e8 or go below 1e-4 (for whole
  values: the first two), else fixed with 4 decimals;
- more than 1000 elements: 3 items at each edge of every dimension around ``...``;
- rows wrapped to the line width, nested brackets indented under ``tensor(``.
"""

from __future__ import annotations

import math

import numpy as np

PRECISION = 4
THRESHOLD = 1000
EDGEITEMS = 3
LINEWIDTH = 80


class _Formatter:
    """Chooses the number format and the common width from the values that will be shown."""

    def __init__(self, values: np.ndarray) -> None:
        self.floating = values.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.width = 1
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
        wide = hi / lo > 1000.0 or hi > 1e8
        if self.int_mode:
            self.sci_mode = wide
            strs = [f"{v:.{PRECISION}e}" if wide else f"{v:.0f}." for v in shown.tolist()]
        else:
            self.sci_mode = wide or lo < 1e-4
            fmt = "e" if self.sci_mode else "f"
            strs = [f"{v:.{PRECISION}{fmt}}" for v in shown.tolist()]
        self.width = max(self.width, max(len(s) for s in strs))

    def format(self, value: object) -> str:
        if self.floating:
            v = float(value)  # type: ignore[arg-type]
            if self.sci_mode:
                out = f"{v:{self.width}.{PRECISION}e}"
            elif self.int_mode:
                out = f"{v:.0f}" + ("" if math.isinf(v) or math.isnan(v) else ".")
            else:
                out = f"{v:.{PRECISION}f}"
        else:
            out = f"{value}"
        return " " * (self.width - len(out)) + out


def _summarized(a: np.ndarray) -> np.ndarray:
    """Only the values that will be shown (the edges of every long dimension)."""
    if a.ndim == 0:
        return a
    if a.shape[0] > 2 * EDGEITEMS:
        a = np.concatenate([a[:EDGEITEMS], a[-EDGEITEMS:]])
    if a.ndim == 1:
        return a
    return np.stack([_summarized(x) for x in a])


def _vector(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    per_line = max(1, (LINEWIDTH - indent) // (fmt.width + 2))
    if summarize and a.shape[0] > 2 * EDGEITEMS:
        items = [fmt.format(v) for v in a[:EDGEITEMS].tolist()] + [" ..."]
        items += [fmt.format(v) for v in a[-EDGEITEMS:].tolist()]
    else:
        items = [fmt.format(v) for v in a.tolist()]
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        return _vector(a, indent, summarize, fmt)
    n = a.shape[0]
    if summarize and n > 2 * EDGEITEMS:
        rows = [_nested(a[i], indent + 1, summarize, fmt) for i in range(EDGEITEMS)] + ["..."]
        rows += [_nested(a[i], indent + 1, summarize, fmt) for i in range(n - EDGEITEMS, n)]
    else:
        rows = [_nested(a[i], indent + 1, summarize, fmt) for i in range(n)]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def tensor_body(a: np.ndarray, indent: int) -> str:
    """The values part of ``tensor(...)``, for an array printed ``indent`` columns in."""
    if a.size == 0:
        return "[]"
    if a.dtype == np.float16:
        a = a.astype(np.float32)
    summarize = a.size > THRESHOLD
    fmt = _Formatter(_summarized(a) if summarize else a)
    return _nested(a, indent, summarize, fmt)


def with_suffixes(text: str, suffixes: list[str], indent: int) -> str:
    """``text`` + ``, suffix`` for each suffix + ``)``; a suffix that would run past the line
    width starts a new line, indented like the values (PyTorch's layout)."""
    out = [text]
    last_line = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line + len(suffix) + 2 > LINEWIDTH:
            out.append(",\n" + " " * indent + suffix)
            last_line = indent + len(suffix)
        else:
            out.append(", " + suffix)
            last_line += len(suffix) + 2
    out.append(")")
    return "".join(out)
