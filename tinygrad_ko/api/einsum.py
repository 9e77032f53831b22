"""``torch.einsum``: PyTorch's equation rules, turned into the explicit subscripts ops/einsum.py takes.

PyTorch's equation may leave the output implicit (the indices that appear once, in alphabetical
order, after the ``...`` dims), use ``...`` for any number of leading/middle dims (broadcast
between operands), and let a size-1 dim broadcast against a larger one of the same index. The
op takes none of that: here every ``...`` dim gets a letter of its own, a size-1 dim that
broadcasts gets a fresh letter (summed away, so it stretches for free), and the output is spelled out.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ops.einsum import LETTERS, Einsum, einsum_arrays
from ..tensor import Tensor, wrap
from .creation import tensor
from .rules import torch_type_name


def einsum(*args: Any) -> Tensor:
    """``einsum("ij,jk->ik", a, b)``; the operands may also come as one list, or in the sublist
    form ``einsum(a, [0, 1], b, [1, 2], [0, 2])``."""
    if not args:
        raise TypeError("einsum(): missing the equation")
    if isinstance(args[0], str):
        equation, operands = args[0], list(args[1:])
        if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
            operands = list(operands[0])
    else:
        equation, operands = _sublist_equation(args)
    operands = [t if isinstance(t, Tensor) else tensor(t) for t in operands]
    dtypes = {t._data.dtype for t in operands}
    if len(dtypes) > 1:
        first = operands[0]._data.dtype
        other = next(t._data.dtype for t in operands if t._data.dtype != first)
        raise RuntimeError(f"expected scalar type {torch_type_name(first)} but found {torch_type_name(other)}")
    inputs, output = parse_equation(equation, [t._data.shape for t in operands])
    if not any(t.requires_grad for t in operands):  # nothing to record: skip the Function machinery
        return wrap(np.asarray(einsum_arrays(inputs, output, tuple(t._data for t in operands))))
    return Einsum.apply(*operands, inputs=inputs, output=output)


def _sublist_equation(args: tuple) -> tuple[str, list]:
    """``(a, [0, 1], b, [1, 2], [0, 2])``: integers 0-51 name the indices, ``...`` the ellipsis."""

    def letters(sub: Any) -> str:
        return "".join("..." if s is Ellipsis else LETTERS[s] for s in sub)

    operands = list(args[0::2])
    subs = list(args[1::2])
    output = None
    if len(args) % 2 == 1:  # an odd count: the last item is the output sublist
        output = args[-1]
        operands = operands[:-1]
    equation = ",".join(letters(s) for s in subs)
    if output is not None:
        equation += "->" + letters(output)
    return equation, operands


def parse_equation(equation: str, shapes: list[tuple[int, ...]]) -> tuple[tuple[str, ...], str]:
    """PyTorch's einsum equation for operands of these shapes -> (explicit subscripts per operand,
    explicit output subscripts). Raises PyTorch's errors for a malformed equation or mismatched sizes."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) > len(shapes):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
    if len(terms) < len(shapes):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    pos = 0
    parsed: list[tuple[str, str | None]] = []  # (letters before ..., letters after ...) or (letters, None)
    for k, term in enumerate(terms):
        _check_letters(term, pos, k)
        if "..." in term:
            before, _, after = term.partition("...")
            parsed.append((before, after))
        else:
            parsed.append((term, None))
        pos += len(term) + 1
    if arrow:
        _check_letters(rhs, len(lhs) + 2, None)

    # the "..." dims: their count per operand, and their broadcast sizes (right-aligned)
    ell_dims: list[int] = []
    for k, ((before, after), shape) in enumerate(zip(parsed, shapes)):
        named = len(before) + (len(after) if after is not None else 0)
        if after is None and named != len(shape):
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({named}) does not match the number "
                f"of dimensions ({len(shape)}) for operand {k} and no ellipsis was given"
            )
        if after is not None and named > len(shape):
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({named}) is more than the number "
                f"of dimensions ({len(shape)}) for operand {k}"
            )
        ell_dims.append(len(shape) - named if after is not None else 0)
    n_ell = max(ell_dims, default=0)
    ell_sizes = [1] * n_ell
    for k, ((before, _after), shape, m) in enumerate(zip(parsed, shapes, ell_dims)):
        for j, size in enumerate(shape[len(before) : len(before) + m]):
            slot = n_ell - m + j
            if size != 1 and ell_sizes[slot] != 1 and ell_sizes[slot] != size:
                raise RuntimeError(
                    f"einsum(): dimension {len(before) + j} covered by ellipsis in operand {k} has size "
                    f"{size} which does not broadcast with previously seen ellipsis with size "
                    f"{ell_sizes[slot]} for the respective dimension"
                )
            if size != 1:
                ell_sizes[slot] = size

    used = set(eq) & set(LETTERS)
    free = iter(c for c in LETTERS if c not in used)

    def take() -> str:
        try:
            return next(free)
        except StopIteration:
            raise RuntimeError("einsum(): too many indices: at most 52 distinct letters in all") from None

    ell_letters = "".join(take() for _ in range(n_ell))

    # sizes of the named indices: equal, or 1 (which broadcasts)
    sizes: dict[str, int] = {}
    for k, ((before, after), shape, m) in enumerate(zip(parsed, shapes, ell_dims)):
        named = before + (after or "")
        dims = shape[: len(before)] + shape[len(before) + m :]
        own: dict[str, int] = {}
        for c, size in zip(named, dims):
            if c in own and own[c] != size:
                raise RuntimeError(
                    f"einsum(): subscript {c} is repeated for operand {k} but the sizes don't match, {size} != {own[c]}"
                )
            own[c] = size
            seen = sizes.get(c)
            if seen is not None and size != seen and size != 1 and seen != 1:
                raise RuntimeError(
                    f"einsum(): subscript {c} has size {size} for operand {k} which does not broadcast "
                    f"with previously seen size {seen}"
                )
            if seen is None or seen == 1:
                sizes[c] = size

    # explicit subscripts per operand; a size-1 dim that broadcasts gets a letter of its own
    inputs = []
    for (before, after), shape, m in zip(parsed, shapes, ell_dims):
        letters = before + ell_letters[n_ell - m :] + (after or "") if after is not None else before
        sub = ""
        for c, size in zip(letters, shape):
            full = sizes[c] if c in sizes else ell_sizes[ell_letters.index(c)]
            sub += take() if size == 1 and full != 1 else c
        inputs.append(sub)

    if arrow:
        if rhs.count("...") > 1:
            raise RuntimeError("einsum(): found '.' for output but an ellipsis (...) was already found")
        output = rhs.replace("...", ell_letters)
        for c in rhs.replace("...", ""):
            if rhs.replace("...", "").count(c) > 1:
                raise RuntimeError(f"einsum(): output subscript {c} appears more than once in the output")
            if c not in sizes:
                raise RuntimeError(
                    f"einsum(): output subscript {c} does not appear in the equation for any input operand"
                )
    else:  # implicit: the "..." dims, then the indices used exactly once, in alphabetical order
        counts: dict[str, int] = {}
        for before, after in parsed:
            for c in before + (after or ""):
                counts[c] = counts.get(c, 0) + 1
        output = ell_letters + "".join(sorted(c for c, n in counts.items() if n == 1))
    return tuple(inputs), output


def _check_letters(term: str, start: int, operand: int | None) -> None:
    """Only letters and at most one "..." per term."""
    dots = 0
    i = 0
    while i < len(term):
        c = term[i]
        if c == ".":
            where = "output" if operand is None else f"operand {operand}"
            if term[i : i + 3] != "...":
                raise RuntimeError(
                    f"einsum(): found '.' for {where} that is not part of any ellipsis"
                    + (" (...)" if operand is None else "")
                )
            dots += 1
            if dots > 1:
                raise RuntimeError(f"einsum(): found '.' for {where} for which an ellipsis was already found")
            i += 3
            continue
        if c not in LETTERS:
            raise RuntimeError(
                f"einsum(): invalid subscript given at index {start + i} in the equation string, "
                "subscripts must be in [a-zA-Z]"
            )
        i += 1
