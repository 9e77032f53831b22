"""The ``Optimizer`` base: parameter groups, per-parameter state, zero_grad and state_dict.

Subclasses implement ``step`` following PyTorch's algorithm boxes. Updates work directly on the
parameters' NumPy arrays (``p._data``) with in-place ufuncs: no Tensor ops, no graph, the
parameter's dtype kept (float32 stays float32), and the version counter bumped.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..api.creation import from_numpy
from ..autograd.grad_mode import enable_grad
from ..kernels import blas, threads
from ..tensor import Tensor


class _RequiredParameter:
    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


class Optimizer:
    """Base class: ``params`` is an iterable of Tensors or of dicts (parameter groups with their
    own options); ``defaults`` fills the options a group leaves out."""

    def __init__(self, params: Any, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        self._scratch_bufs: dict[np.dtype, np.ndarray] = {}
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, but got "
                f"{type(params).__name__}"
            )
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group (e.g. newly unfrozen layers) with its own options; defaults fill the rest."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the ordering of tensors in sets will change between runs. Please use a list instead."
            )
        else:
            params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}")
            if p.grad_fn is not None:
                raise ValueError("can't optimize a non-leaf Tensor")
        group = dict(param_group)
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            group.setdefault(name, default)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params) or len({id(p) for p in params}) != len(params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters: to None (default) or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p._grad
                if g is None:
                    continue
                if set_to_none:
                    p._grad = None
                else:
                    if g.grad_fn is not None:
                        g = p._grad = g.detach()
                    g.requires_grad = False
                    g._data[...] = 0
                    g._version.value += 1

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        raise NotImplementedError

    def _closure_loss(self, closure: Callable[[], Any] | None) -> Any:
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def _scratch(self, like: np.ndarray) -> np.ndarray:
        """A temporary array shaped like ``like``, carved from one reusable buffer per dtype.

        Steps use it for intermediate results (``lr * grad`` ...) so that a step allocates
        nothing: fresh multi-megabyte arrays every step would cost page faults.
        """
        n, dt = like.size, like.dtype
        buf = self._scratch_bufs.get(dt)
        if buf is None or buf.size < n:
            buf = self._scratch_bufs[dt] = np.empty(n, dtype=dt)
        return buf[:n].reshape(like.shape)

    def _state_array(self, p: Tensor, name: str, like: np.ndarray | None = None) -> np.ndarray:
        """A zero-initialised state buffer (stored as a Tensor, like PyTorch's) and its array."""
        st = self.state[p]
        t = st.get(name)
        if t is None:
            arr = np.zeros_like(p._data) if like is None else like.copy()
            st[name] = from_numpy(arr)
            return arr
        return t._data

    # ---- state_dict ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """PyTorch's layout: ``{'state': {index: {...}}, 'param_groups': [{..., 'params': [index, ...]}]}``.

        Parameters are numbered in group order; state values are the live buffers (copy to snapshot).
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            ids = []
            for p in group["params"]:
                if id(p) not in index:
                    index[id(p)] = len(index)
                ids.append(index[id(p)])
            packed["params"] = ids
            groups.append(packed)
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore options and state; the groups must match this optimizer's in number and size."""
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for g, sg in zip(self.param_groups, saved_groups):
            if len(g["params"]) != len(sg["params"]):
                raise ValueError(
                    "loaded state dict contains a parameter group that doesn't match the size of optimizer's group"
                )
        by_index = {}
        for g, sg in zip(self.param_groups, saved_groups):
            for p, i in zip(g["params"], sg["params"]):
                by_index[i] = p
        new_state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for i, s in state_dict["state"].items():
            p = by_index.get(int(i))
            if p is None:
                continue
            entry = {}
            for k, v in s.items():
                if isinstance(v, (Tensor, np.ndarray)):
                    arr = v._data if isinstance(v, Tensor) else v
                    if arr.dtype.kind == "f" and k != "step":
                        arr = arr.astype(p._data.dtype)  # a copy: the loaded dict stays independent
                    else:
                        arr = arr.copy()
                    if k != "step" and arr.shape != p._data.shape:
                        raise ValueError(
                            f"loaded state '{k}' for parameter {i} has shape {tuple(arr.shape)}, but the parameter "
                            f"has shape {tuple(p._data.shape)}"
                        )
                    entry[k] = from_numpy(arr)
                else:
                    entry[k] = copy.deepcopy(v)
            new_state[p] = entry
        for g, sg in zip(self.param_groups, saved_groups):
            for k, v in sg.items():
                if k != "params":
                    g[k] = copy.deepcopy(v)
        self.state = new_state

    # ---- repr ---------------------------------------------------------------------------------
    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _check_nonneg(name: str, value: Any, label: str | None = None) -> None:
    if not 0.0 <= value:
        raise ValueError(f"Invalid {label or name} value: {value}")


_BLOCK = 1 << 15  # elements; a block-sized temporary stays in the CPU cache
_BLAS_MIN = 1 << 12  # below this, a NumPy call is as cheap as the ctypes call into BLAS


def _add_scaled_(opt: Optimizer, d: np.ndarray, g: np.ndarray, alpha: float) -> None:
    """``d += alpha * g`` in place without allocating.

    BLAS's axpy when it is available (one pass over memory, on BLAS's threads); otherwise NumPy,
    blockwise so the temporary ``alpha * g`` stays cached. NumPy has no fused multiply-add:
    ``d -= lr * g`` writes a full-size temporary and reads it back, which for multi-megabyte weights
    costs more than the arithmetic.
    """
    n = d.size
    if n >= _BLAS_MIN and blas.axpy(alpha, g, d):
        return
    if n <= _BLOCK or not (d.flags.c_contiguous and g.flags.c_contiguous):
        d += np.multiply(g, alpha, out=opt._scratch(d))
        return
    df, gf = d.reshape(-1), g.reshape(-1)
    tmp = opt._scratch(df[:_BLOCK])
    for i in range(0, n, _BLOCK):
        j = min(i + _BLOCK, n)
        block = df[i:j]
        block += np.multiply(gf[i:j], alpha, out=tmp[: j - i])


# Elements per thread below which splitting an update is not worth handing work to a thread
_SPLIT_MIN = 1 << 17


def _elementwise(kernel: Callable[..., None], arrays: list[np.ndarray]) -> None:
    """Run ``kernel(*arrays)``, an elementwise in-place update of same-size arrays.

    Large C-contiguous arrays are cut into contiguous pieces run on several threads (see
    ``tinygrad_ko.kernels.threads``): the kernel then sees matching flat slices of every array. Each
    element's update depends only on that element, so the result is the same either way.
    """
    n = arrays[0].size
    if n < 2 * _SPLIT_MIN or threads.get_num_threads() < 2 or not all(a.flags.c_contiguous for a in arrays):
        kernel(*arrays)
        return
    flats = [a.reshape(-1) for a in arrays]
    threads.run_chunks(lambda start, stop: kernel(*[f[start:stop] for f in flats]), n, _SPLIT_MIN)


def _params_with_grads(group: dict[str, Any]) -> Iterable[tuple[Tensor, np.ndarray, np.ndarray]]:
    """(param, its array, its grad's array) for the params of ``group`` that have a gradient."""
    for p in group["params"]:
        g = p._grad
        if g is not None:
            yield p, p._data, g._data
