"""gradcheck / gradgradcheck: compare autograd's Jacobian with central differences, in float64."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..tensor import Tensor, wrap
from .engine import grad as _grad


class GradcheckError(RuntimeError):
    """Raised by gradcheck when the analytical and numerical gradients disagree."""


def _outputs(fn: Callable[..., Any], inputs: Sequence[Any]) -> list[Any]:
    out = fn(*inputs)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    return [o for o in outs if isinstance(o, Tensor)]


def _numel(t: Any) -> int:
    return t._data.size if isinstance(t, Tensor) else 0


def _numerical_jacobians(fn: Callable[..., Any], inputs: Sequence[Any], eps: float) -> list[list[np.ndarray]]:
    """jac[o][i] has shape (outputs[o].numel, inputs[i].numel)."""
    # fn runs with grad mode on: gradgradcheck's fn itself calls autograd.grad
    outs = _outputs(fn, inputs)
    jac = [[np.zeros((o._data.size, _numel(t))) for t in inputs] for o in outs]
    for i, t in enumerate(inputs):
        if not (isinstance(t, Tensor) and t.requires_grad):
            continue
        arr = t._data  # perturb in place (works for non-contiguous views too)
        for k, idx in enumerate(np.ndindex(arr.shape)):
            orig = arr[idx].copy()
            arr[idx] = orig + eps
            plus = [o._data.astype(np.float64).ravel() for o in _outputs(fn, inputs)]
            arr[idx] = orig - eps
            minus = [o._data.astype(np.float64).ravel() for o in _outputs(fn, inputs)]
            arr[idx] = orig
            for o in range(len(outs)):
                jac[o][i][:, k] = (plus[o] - minus[o]) / (2 * eps)
    return jac


def _analytical_jacobians(fn: Callable[..., Any], inputs: Sequence[Any]) -> tuple[list, list]:
    diff = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    outs = _outputs(fn, inputs)
    jac = [[np.zeros((o._data.size, _numel(t))) for t in inputs] for o in outs]
    problems: list[str] = []
    for o, out in enumerate(outs):
        if not out.requires_grad:
            continue
        for row in range(out._data.size):
            seed = np.zeros(out._data.shape, dtype=out._data.dtype)
            seed.reshape(-1)[row] = 1
            grads = _grad(out, diff, grad_outputs=wrap(seed), retain_graph=True, allow_unused=True)
            k = 0
            for i, t in enumerate(inputs):
                if not (isinstance(t, Tensor) and t.requires_grad):
                    continue
                g = grads[k]
                k += 1
                if g is None:
                    continue
                if g._data.shape != t._data.shape:
                    problems.append(f"grad for input {i} has shape {tuple(g.shape)}, expected {tuple(t.shape)}")
                elif g._data.dtype != t._data.dtype:
                    problems.append(f"grad for input {i} has dtype {g.dtype}, expected {t.dtype}")
                else:
                    jac[o][i][row, :] = g._data.reshape(-1)
        # a zero grad_output must give zero grads
        zero = wrap(np.zeros(out._data.shape, dtype=out._data.dtype))
        for i, g in zip(
            [j for j, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad],
            _grad(out, diff, grad_outputs=zero, retain_graph=True, allow_unused=True),
        ):
            if g is not None and np.any(g._data != 0):
                problems.append(f"backward of output {o} is not zero for a zero grad_output (input {i})")
    return jac, problems


def gradcheck(
    fn: Callable[..., Any],
    inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Check the gradients of ``fn`` at ``inputs`` against central differences.

    Inputs that require grad should be float64 (float32 is too coarse for finite differences).
    Returns True, or raises ``GradcheckError`` (returns False with ``raise_exception=False``)
    naming the output and input index and the worst element.
    """
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t.requires_grad and t._data.dtype != np.float64:
            msg = f"gradcheck: input {i} is {t.dtype}; gradcheck needs float64 inputs (use .double())"
            if raise_exception:
                raise GradcheckError(msg)
            return False
    analytical, problems = _analytical_jacobians(fn, inputs)
    numerical = _numerical_jacobians(fn, inputs, eps)
    for o, (arow, nrow) in enumerate(zip(analytical, numerical)):
        for i, (a, n) in enumerate(zip(arow, nrow)):
            if a.size == 0:
                continue
            bad = np.abs(a - n) > atol + rtol * np.abs(n)
            if bad.any() or not np.all(np.isfinite(a) == np.isfinite(n)):
                err = np.where(np.isfinite(a - n), np.abs(a - n), np.inf)
                r, c = np.unravel_index(np.argmax(err), err.shape)
                problems.append(
                    f"Jacobian mismatch for output {o} with respect to input {i}: worst element "
                    f"(output element {r}, input element {c}): numerical {n[r, c]:.6g} vs analytical "
                    f"{a[r, c]:.6g}\nnumerical:\n{n}\nanalytical:\n{a}"
                )
    if problems:
        if raise_exception:
            raise GradcheckError("\n".join(problems))
        return False
    return True


def gradgradcheck(
    fn: Callable[..., Any],
    inputs: Any,
    grad_outputs: Any = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
) -> bool:
    """Check second derivatives: gradcheck of (inputs, grad_outputs) -> grad(fn(inputs), inputs)."""
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    outs = _outputs(fn, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(seed)
        grad_outputs = [wrap(rng.standard_normal(o._data.shape)).requires_grad_(True) for o in outs]
    else:
        grad_outputs = list(grad_outputs) if isinstance(grad_outputs, (tuple, list)) else [grad_outputs]
    n_in = len(inputs)
    diff_idx = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]

    def first_grads(*args: Any) -> tuple[Any, ...]:
        xs, gos = args[:n_in], args[n_in:]
        ys = _outputs(fn, xs)
        gs = _grad(ys, [xs[i] for i in diff_idx], grad_outputs=list(gos), create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    # the recorded (create_graph) backward must give the same first derivative as the plain one:
    # ops with a separate NumPy fast path would otherwise hide a mismatch from the check below
    recorded = first_grads(*inputs, *grad_outputs)
    plain = _grad(
        _outputs(fn, inputs), [inputs[i] for i in diff_idx], grad_outputs=list(grad_outputs), allow_unused=True
    )
    plain = tuple(g for g in plain if g is not None)
    for k, (r, p) in enumerate(zip(recorded, plain)):
        if not np.allclose(r._data, p._data, rtol=rtol, atol=atol, equal_nan=True):
            msg = (
                f"gradgradcheck: the gradient for input {diff_idx[k]} differs between backward with "
                f"create_graph=True and without:\nrecorded:\n{r._data}\nplain:\n{p._data}"
            )
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return gradcheck(first_grads, inputs + tuple(grad_outputs), eps, atol, rtol, raise_exception)
