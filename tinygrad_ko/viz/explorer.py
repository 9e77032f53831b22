"""Record a backward pass step by step: ``trace = viz.trace_backward(loss, params=model)``.

The trace runs the real engine (``autograd.engine.run_backward``, with an observer attached), so
the results and every leaf's ``.grad`` are exactly what ``loss.backward()`` gives. What it keeps,
per step, in the engine's order:

- the gradient that arrived at the node (after the engine summed the contributions and ran the
  node's hooks), and, at an accumulation point, each contribution: ``g1 + g2 = g``;
- the gradient the node sent to each of its inputs;
- for a leaf, how ``.grad`` changed: ``.grad (before) + g = .grad (after)``.

Gradients are kept as :class:`GradInfo` summaries made on the spot: the values of small tensors
(up to ``small`` elements), and shape, mean/min/max, NaN/inf counts and a histogram for all. The
trace holds no tensor of the graph alive.
"""

from __future__ import annotations

import html
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..autograd import engine
from ..autograd.function import Function
from ..tensor import Tensor
from .graph import SMALL_TENSOR, RecordedInputs, _check_inputs, _flatten_outputs, _param_names, _shape, _walk

__all__ = ["BackwardTrace", "GradInfo", "Step", "trace_backward"]

HIST_BINS = 16
PAGE_VALUES = 64  # the page lists at most this many values; larger gradients show a summary


@dataclass
class GradInfo:
    """What the trace keeps of one gradient: a summary, and the values when it is small."""

    shape: tuple[int, ...]
    dtype: str
    values: np.ndarray | None  # a copy, for tensors with at most ``small`` elements
    mean: float | None  # over the finite values (None when there are none)
    min: float | None
    max: float | None
    n_nan: int
    n_inf: int
    hist: list[int]  # counts of the finite values in HIST_BINS equal bins from min to max

    @classmethod
    def of(cls, arr: np.ndarray, small: int = SMALL_TENSOR) -> GradInfo:
        arr = np.asarray(arr)
        if arr.dtype.kind in "fc":
            finite_mask = np.isfinite(arr)
            n_nan, n_inf = int(np.isnan(arr).sum()), int(np.isinf(arr).sum())
            finite = arr if n_nan + n_inf == 0 else arr[finite_mask]
        else:
            finite, n_nan, n_inf = arr, 0, 0
        mean = lo = hi = None
        hist = [0] * HIST_BINS
        if finite.size:
            f64 = finite.real.astype(np.float64, copy=False)
            mean, lo, hi = float(f64.mean()), float(f64.min()), float(f64.max())
            if hi > lo:
                hist = np.histogram(f64, bins=HIST_BINS, range=(lo, hi))[0].tolist()
            else:
                hist[HIST_BINS // 2] = int(f64.size)
        values = arr.copy() if arr.size <= small else None
        return cls(tuple(arr.shape), arr.dtype.name, values, mean, lo, hi, n_nan, n_inf, hist)

    @property
    def bad(self) -> bool:
        """Whether the gradient holds NaN or inf."""
        return bool(self.n_nan or self.n_inf)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def text(self, width: int = 44) -> str:
        """One line: the values of a small tensor, else mean and range (with NaN/inf counts)."""
        bad = f" nan:{self.n_nan} inf:{self.n_inf}" if self.bad else ""
        if self.values is not None:
            text = _fmt_values(self.values)
            if len(text) <= width:
                return text + bad
        if self.mean is None:
            return f"{_shape(self.shape)} no finite value{bad}"
        return f"mean {_num(self.mean)} in [{_num(self.min)}, {_num(self.max)}]{bad}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"shape": list(self.shape), "text": self.text()}
        if self.values is not None and self.values.size <= PAGE_VALUES:  # the page shows small values in full
            values = _fmt_values(self.values, width=10_000)
            if values != out["text"]:
                out["values"] = values
        elif self.mean is not None:
            out.update(mean=_num(self.mean), min=_num(self.min), max=_num(self.max), hist=self.hist)
        if self.bad:
            out.update(nan=self.n_nan, inf=self.n_inf)
        return out


def _num(x: float | None) -> str:
    return "?" if x is None else f"{x:.4g}"


def _fmt_values(arr: np.ndarray, width: int = 1_000_000) -> str:
    text = np.array2string(arr, precision=4, separator=", ", max_line_width=width, suppress_small=False)
    return " ".join(part.strip() for part in text.splitlines())


@dataclass
class Sent:
    """A gradient a node sent to one of its inputs."""

    input: int  # the input's position among the node's inputs
    target: int  # the input's node (index into ``trace.nodes``)
    grad: GradInfo


@dataclass
class Step:
    """One step of the backward pass.

    ``kind`` is "seed" (an output receives its starting gradient, 1 for a scalar loss), "node"
    (a node's backward ran) or "leaf" (a leaf's ``.grad`` received its gradient; the engine does
    these after every node has run)."""

    index: int
    kind: str
    node: int  # index into trace.nodes
    name: str  # "MulBackward", "AccumulateGrad", "seed"
    grad: GradInfo  # the gradient that arrived (summed over ``parts``), or the seed
    parts: list[tuple[int, GradInfo]] = field(default_factory=list)  # (step it came from, contribution)
    running: list[GradInfo] = field(default_factory=list)  # the sum after each contribution
    sent: list[Sent] = field(default_factory=list)
    grad_before: GradInfo | None = None  # leaf steps: .grad before and after
    grad_after: GradInfo | None = None

    @property
    def accumulated(self) -> bool:
        """Whether two or more contributions were summed here (a+a, x*x, a diamond, a shared weight)."""
        return len(self.parts) > 1


@dataclass
class TracedNode:
    """A node of the traced graph: an op (``grad_fn``) or a leaf tensor, in ``draw_graph``'s walk order."""

    index: int
    kind: str  # "op" or "leaf"
    name: str  # op name ("MulBackward") or the leaf's parameter name ("0.weight", "leaf")
    shape: tuple[int, ...]
    inputs: list[int | None]  # the nodes of the op's inputs (None: an input that needs no gradient)


class _Recorder:
    """The engine's observer: turns what each node received and sent into :class:`Step` records."""

    def __init__(self, index: dict[int, int], nodes: list[TracedNode], small: int) -> None:
        self.index, self.nodes, self.small = index, nodes, small
        self.steps: list[Step] = []
        self.parts: dict[int, list[tuple[int, GradInfo]]] = {}
        self.running: dict[int, list[GradInfo]] = {}
        # the sum so far at a node still waiting to run (the first contribution is the engine's own
        # array, not a copy); dropped as soon as the node runs
        self.partial: dict[int, np.ndarray] = {}

    def info(self, arr: np.ndarray) -> GradInfo:
        return GradInfo.of(arr, self.small)

    def seed(self, root: Tensor, seed: Tensor) -> None:
        target = self.index[id(root.grad_fn or root)]
        info = self.info(seed._data)
        step = Step(len(self.steps), "seed", target, "seed", info)
        step.sent.append(Sent(0, target, info))
        self.steps.append(step)
        self._deliver(target, seed._data, info, step.index)

    def _deliver(self, target: int, arr: np.ndarray, info: GradInfo, step: int) -> None:
        self.parts.setdefault(target, []).append((step, info))
        if target in self.partial:
            total = self.partial[target] + arr
            self.partial[target] = total
            self.running[target].append(self.info(total))
        else:
            self.partial[target] = arr
            self.running[target] = [info]

    def _arrived(self, kind: str, i: int, name: str, grad: np.ndarray) -> Step:
        self.partial.pop(i, None)
        step = Step(len(self.steps), kind, i, name, self.info(grad), self.parts.pop(i, []), self.running.pop(i, []))
        self.steps.append(step)
        return step

    def ran(self, node: Function, grad: Tensor, grads: tuple[Any, ...]) -> None:
        step = self._arrived("node", self.index[id(node)], node.name(), grad._data)
        for pos, (edge, g) in enumerate(zip(node._edges, grads)):
            if edge is None or g is None:
                continue
            target = self.index[id(edge)]
            info = self.info(g._data)
            step.sent.append(Sent(pos, target, info))
            self._deliver(target, g._data, info, step.index)

    def reached_leaf(self, leaf: Tensor, grad: Tensor) -> None:
        i = self.index[id(leaf)]
        step = self._arrived("leaf", i, "AccumulateGrad", grad._data)
        if leaf._grad is not None:
            before = leaf._grad._data
            step.grad_before = self.info(before)
            step.grad_after = self.info(before + grad._data.astype(before.dtype, copy=False))
        else:
            step.grad_after = step.grad


def trace_backward(
    *outputs: Tensor | Iterable[Tensor],
    params: Mapping[str, Tensor] | Iterable[tuple[str, Tensor]] | Any | None = None,
    inputs: RecordedInputs | None = None,
    small: int = SMALL_TENSOR,
) -> BackwardTrace:
    """Run ``backward()`` on ``outputs`` and record what the engine did, step by step.

    Same engine, same results, same ``.grad`` as ``loss.backward()`` (the graph is released
    afterwards, as backward releases it). Each output must be a scalar (it starts with gradient 1).

    Args:
        outputs: the tensors to differentiate (a loss; lists/tuples are flattened).
        params: names for leaf tensors, as in ``draw_graph``: a module, ``named_parameters()``,
            or a dict ``{"a": a, ...}``.
        inputs: what ``viz.record_inputs`` recorded during the forward pass (the input batch and
            targets), drawn as nodes on the page.
        small: gradients with at most this many elements keep their values; larger ones keep a
            summary (shape, mean/min/max, NaN/inf counts, a histogram).

    Returns:
        A :class:`BackwardTrace`: ``trace.steps`` in engine order, ``trace.to_html(path)`` writes
        a page that steps through them, and Jupyter displays it inline.
    """
    outs = _flatten_outputs(outputs)
    if not isinstance(small, int) or small < 0:
        raise ValueError(f"trace_backward: small must be an integer >= 0, got {small!r}")
    names = _param_names(params)
    _check_inputs("trace_backward", inputs)
    seeds = engine._seeds(outs, [])
    order, index, _ = _walk(outs)
    nodes: list[TracedNode] = []
    for i, obj in enumerate(order):
        if isinstance(obj, Function):
            ins = [None if e is None else index[id(e)] for e in obj._edges]
            nodes.append(TracedNode(i, "op", obj.name(), tuple(obj._out_shape), ins))
        else:
            label = names.get(id(obj)) or ("leaf" if obj.requires_grad else "tensor")
            nodes.append(TracedNode(i, "leaf", label, tuple(obj._data.shape), []))
    recorder = _Recorder(index, nodes, small)
    for root, seed in zip(outs, seeds):
        recorder.seed(root, seed)
    engine.run_backward(outs, seeds, retain_graph=False, create_graph=False, observer=recorder)
    trace = BackwardTrace(nodes, recorder.steps)
    # what the page needs to draw the graph (the graph's nodes, weakly: dropping outputs frees them)
    trace._draw = _DrawArgs(outs, params, inputs, {id(obj): i for i, obj in enumerate(order)})
    return trace


class _DrawArgs:
    """What ``to_html`` passes to ``draw_graph``; holds the outputs (and so the graph) alive only as
    long as the trace lives, since the page is drawn from the same nodes."""

    def __init__(self, outs: list[Tensor], params: Any, inputs: RecordedInputs | None, ids: dict[int, int]) -> None:
        self.outs, self.params, self.inputs, self.ids = outs, params, inputs, ids


class BackwardTrace:
    """What :func:`trace_backward` recorded: ``nodes`` (walk order) and ``steps`` (engine order)."""

    def __init__(self, nodes: list[TracedNode], steps: list[Step]) -> None:
        self.nodes = nodes
        self.steps = steps
        self._draw: _DrawArgs | None = None

    # ---- reading the trace -------------------------------------------------------------------
    def node_steps(self) -> list[Step]:
        """The steps where a node's backward ran, in the engine's order."""
        return [s for s in self.steps if s.kind == "node"]

    def step_of(self, node: int) -> Step | None:
        """The step where node ``node`` (an index into ``nodes``) received its complete gradient."""
        for s in self.steps:
            if s.node == node and s.kind in ("node", "leaf"):
                return s
        return None

    def grad_at(self, node: int) -> GradInfo | None:
        """The complete gradient that arrived at ``node`` (its output's gradient, or a leaf's)."""
        s = self.step_of(node)
        return None if s is None else s.grad

    def __len__(self) -> int:
        return len(self.steps)

    def __repr__(self) -> str:
        n_acc = sum(1 for s in self.steps if s.accumulated)
        return (
            f"<BackwardTrace: {len(self.steps)} steps over {len(self.nodes)} nodes, "
            f"{n_acc} accumulation point{'s' if n_acc != 1 else ''}>"
        )

    def __str__(self) -> str:
        return self.table(limit=40)

    def table(self, limit: int | None = None) -> str:
        """One line per step, in the engine's order (at most ``limit`` steps: the first and last)."""
        lines = [repr(self)]
        steps = self.steps
        if limit is not None and len(steps) > limit:
            half = max(limit // 2, 1)
            steps = steps[:half] + [None] + steps[-half:]  # type: ignore[list-item]
        for s in steps:
            if s is None:
                lines.append(f"         ... {len(self.steps) - 2 * half} more steps ...")
                continue
            who = self.nodes[s.node].name
            if s.kind == "seed":
                lines.append(f"{s.index:>4}  seed -> {who}: {s.grad.text()}")
                continue
            got = s.grad.text()
            if s.accumulated:
                got = " + ".join(p.text() for _, p in s.parts) + " = " + got
            line = f"{s.index:>4}  {s.name if s.kind == 'node' else 'AccumulateGrad ' + who}: got {got}"
            for sent in s.sent:
                line += f"; -> {self.nodes[sent.target].name}[{sent.input}] {sent.grad.text()}"
            lines.append(line)
        return "\n".join(lines)

    # ---- the page ----------------------------------------------------------------------------
    def html(self, max_nodes: int | None = 300, layout: str = "auto", full_page: bool = True) -> str:
        """The explorer as HTML: a whole page (``full_page``) or one ``<div>`` to embed.

        ``max_nodes`` draws at most that many nodes (the rest fold into one "... N more nodes"
        node, as in ``draw_graph``; their steps still play); ``layout`` is "dot" (Graphviz),
        "python" (the built-in layered layout, needs nothing installed) or "auto" (dot when it
        is installed)."""
        from .page import build_html

        if self._draw is None:
            raise RuntimeError("this trace has no graph to draw")
        return build_html(self, max_nodes=max_nodes, layout=layout, full_page=full_page, uid=uuid.uuid4().hex[:10])

    def to_html(self, path: str | Path, max_nodes: int | None = 300, layout: str = "auto") -> Path:
        """Write the explorer to one self-contained HTML file (SVG and script inline; it fetches
        nothing) and return its path. Open it in any browser, offline; ``page.html?step=5``
        opens it at step 5."""
        from .graph import _atomic_write

        path = Path(path)
        _atomic_write(path, self.html(max_nodes=max_nodes, layout=layout).encode("utf-8"))
        return path

    def _repr_html_(self) -> str:
        try:
            return self.html(full_page=False)
        except Exception as err:  # a display hook should show the problem, not a traceback
            return f"<pre>{html.escape(repr(self))}\n{html.escape(type(err).__name__ + ': ' + str(err))}</pre>"
