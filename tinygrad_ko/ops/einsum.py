"""einsum: sums of products over named indices, ``out[ik] = sum_j a[ij] * b[jk]`` for "ij,jk->ik".

The gradient of one operand is an einsum too: the output's gradient times every *other* operand,
summed over whatever the operand does not index, ``da[ij] = sum_k g[ik] * b[jk]`` ("ik,jk->ij").
Two cases need constant helper operands, so that the backward stays one einsum (and its own
backward is einsum again, so double backward works):

* an index the operand repeats (a diagonal, "ii->i"): the gradient lands on the diagonal only,
  so the second occurrence gets a fresh letter tied to the first by an identity matrix;
* an index only this operand has (summed away in forward, "ij->i"): every element got the same
  gradient, broadcast along it by a vector of ones.

The API (api/einsum.py) turns PyTorch's equation ("...", implicit output, size-1 broadcasting)
into explicit subscripts: one string of letters per operand and one, without repeats, for the output.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..tensor import wrap

LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def einsum_arrays(inputs: tuple[str, ...], output: str, arrays: tuple[np.ndarray, ...]) -> np.ndarray:
    # optimize picks a contraction order and hands pairs to BLAS (tensordot); one operand needs neither
    return np.einsum(",".join(inputs) + "->" + output, *arrays, optimize=len(arrays) > 1)


class Einsum(Function):
    @staticmethod
    def forward(ctx, *arrays, inputs, output):
        ctx.inputs, ctx.output = inputs, output
        ctx.sizes = {c: n for sub, a in zip(inputs, arrays) for c, n in zip(sub, a.shape)}
        ctx.save_for_backward(*arrays)
        return np.asarray(einsum_arrays(inputs, output, arrays))

    @staticmethod
    def backward(ctx, grad):
        operands = ctx.saved_tensors
        return tuple(
            _operand_grad(ctx, i, grad, operands) if need else None for i, need in enumerate(ctx.needs_input_grad)
        )


def _operand_grad(ctx, i, grad, operands):
    target = ctx.inputs[i]
    others = [(s, t) for k, (s, t) in enumerate(zip(ctx.inputs, operands)) if k != i]
    fresh = iter(c for c in LETTERS if c not in "".join(ctx.inputs) + ctx.output)
    dtype = grad._data.dtype
    subs, tensors = [ctx.output], [grad]
    for s, t in others:
        subs.append(s)
        tensors.append(t)
    result = ""
    for c in target:
        if c in result:  # a repeated index: a fresh letter, tied to the first by an identity
            d = next(fresh)
            subs.append(c + d)
            tensors.append(wrap(np.eye(ctx.sizes[c], dtype=dtype)))
            c = d
        result += c
    seen = "".join(subs)
    for c in dict.fromkeys(target):
        if c not in seen:  # indexed by this operand alone: the same gradient all along it
            subs.append(c)
            tensors.append(wrap(np.ones(ctx.sizes[c], dtype=dtype)))
    return Einsum.apply(*tensors, inputs=tuple(subs), output=result)
