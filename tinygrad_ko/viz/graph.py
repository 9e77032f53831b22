"""Draw the recorded autograd graph with Graphviz (``viz.draw_graph``).

``draw_graph(loss)`` walks the DAG behind ``loss`` (the ``grad_fn`` nodes and the leaf tensors they
point at) and returns a :class:`ComputationGraph`, a ``graphviz.Digraph``: in Jupyter it displays
inline, ``graph.source`` is the DOT text, and ``render(graph, "graph.svg")`` writes an image.

What is drawn (edges point the way the forward pass ran, inputs above outputs):

- op nodes (grey, rounded): the backward node's name (``MulBackward``) and its output's shape;
- leaf tensors (blue): the parameter's name from ``params`` (``"0.weight"``), or ``leaf``;
- outputs (green): the tensors passed to ``draw_graph``, marked ``output``;
- views (dashed edges): an op whose output shares its input's storage (``t()``, ``x[0]``,
  ``expand``, a reshape that did not copy), and a visible tensor whose ``_base`` is another tensor;
- inputs (yellow): tensors that need no gradient (the input batch, the targets) are not part of
  the autograd graph, so they are drawn only when the forward pass ran under
  ``record_inputs(...)``, which notes the ops that consumed them (or tensors made from them)::

      with viz.record_inputs(input=x, target=y) as inputs:
          loss = F.cross_entropy(model(x), y)
      draw_graph(loss, params=model, inputs=inputs, cluster_modules=True)

Building the DOT text needs only the ``graphviz`` Python package; turning it into SVG/PNG/PDF needs
Graphviz's ``dot`` program on PATH. When it is missing, rendering raises
:class:`GraphvizNotFoundError`, which says how to install it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import graphviz
import numpy as np

from ..autograd.function import Function, SavedOutput
from ..tensor import Tensor

__all__ = [
    "ComputationGraph",
    "GraphvizNotFoundError",
    "INSTALL_HINT",
    "RecordedInputs",
    "draw_graph",
    "record_inputs",
    "render",
]

INSTALL_HINT = (
    "Rendering a graph (SVG/PNG/PDF, or inline in Jupyter) needs Graphviz's `dot` program, and it "
    "was not found on PATH. The `graphviz` Python package only writes DOT text (graph.source works "
    "without it). Install Graphviz and make sure `dot -V` runs in the same environment:\n"
    "  Debian/Ubuntu:  sudo apt-get install graphviz\n"
    "  macOS:          brew install graphviz\n"
    "  conda:          conda install graphviz   (conda-forge)\n"
    "  Windows:        winget install graphviz   (or the installer from https://graphviz.org/download/)\n"
    "The folder holding `dot` must be on PATH (on Windows tick 'add to PATH' or add "
    "C:\\Program Files\\Graphviz\\bin); restart the shell or Jupyter kernel afterwards."
)

# Tensors with at most this many elements show their values; larger ones show a summary.
SMALL_TENSOR = 10

_OP_STYLE = 'shape=box style="rounded,filled" fillcolor=lightgrey'
_LEAF_STYLE = "shape=box style=filled fillcolor=lightblue"
_CONST_STYLE = "shape=box style=filled fillcolor=white"
_OUTPUT_STYLE = "shape=box style=filled fillcolor=darkolivegreen1 penwidth=2"
_INPUT_STYLE = "shape=box style=filled fillcolor=lightyellow"
_BASE_STYLE = "shape=box style=dashed"
_MORE_STYLE = "shape=box style=dashed"
_BAD_STYLE = " color=red fontcolor=red penwidth=2"
_VIEW_EDGE = ' [style=dashed tooltip="view: shares storage"]'
_BASE_EDGE = ' [style=dashed constraint=false tooltip="view of (shares storage with)"]'
_RANKDIRS = ("TB", "LR", "BT", "RL")


class GraphvizNotFoundError(graphviz.ExecutableNotFound):
    """Rendering needs Graphviz's ``dot`` program and it is not on PATH.

    A ``RuntimeError`` (and a ``graphviz.ExecutableNotFound``, so code written for the graphviz
    package still catches it) whose message says how to install Graphviz.
    """

    def __init__(self, detail: str | None = None) -> None:
        message = INSTALL_HINT if not detail else f"{INSTALL_HINT}\n({detail})"
        RuntimeError.__init__(self, message)


@contextlib.contextmanager
def _translate_missing_dot() -> Iterator[None]:
    """Turn graphviz's ExecutableNotFound into our GraphvizNotFoundError (and nothing else)."""
    try:
        yield
    except GraphvizNotFoundError:
        raise
    except graphviz.ExecutableNotFound as err:
        raise GraphvizNotFoundError(str(err)) from None


class ComputationGraph(graphviz.Digraph):
    """A ``graphviz.Digraph`` whose rendering methods raise :class:`GraphvizNotFoundError`
    (one clear error with install instructions) when ``dot`` is missing, and whose Jupyter display
    shows that message instead of a traceback."""

    def pipe(self, *args: Any, **kwargs: Any) -> Any:
        with _translate_missing_dot():
            return super().pipe(*args, **kwargs)

    def render(self, *args: Any, **kwargs: Any) -> str:  # view() calls render(): covered too
        with _translate_missing_dot():
            return super().render(*args, **kwargs)

    def unflatten(self, *args: Any, **kwargs: Any) -> graphviz.Source:
        with _translate_missing_dot():
            return super().unflatten(*args, **kwargs)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **kwargs: Any) -> dict[str, Any]:
        try:
            return super()._repr_mimebundle_(include, exclude, **kwargs)
        except GraphvizNotFoundError as err:
            # A notebook cell should show the fix, not fail with a traceback from a display hook.
            return {"text/plain": str(err)}


def render(
    graph: graphviz.Digraph | graphviz.Source,
    path: str | os.PathLike[str],
    format: str | None = None,
) -> Path:
    """Render ``graph`` to an image file and return the path written.

    ``format`` is any Graphviz output format (``"svg"``, ``"png"``, ``"pdf"``); when omitted it is
    taken from ``path``'s suffix, or is ``"svg"`` when ``path`` has none. When ``path`` does not
    end in ``.<format>`` that suffix is appended (``render(g, "out/mlp")`` writes ``out/mlp.svg``).
    Parent folders are created; the file appears only once it is complete, with the permissions
    the umask gives (0666 & ~umask), as files made by ``open()`` get.

    Raises:
        GraphvizNotFoundError: Graphviz's ``dot`` program is not installed or not on PATH.
    """
    path = Path(path)
    if format is None:
        format = path.suffix[1:].lower() or "svg"
    if path.suffix.lower() != "." + format.lower():
        path = path.with_name(path.name + "." + format)
    with _translate_missing_dot():
        data = graph.pipe(format=format)
    _atomic_write(path, data)
    return path


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (parents created): it appears only once complete, with the
    permissions the umask gives."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# ---- inputs that need no gradient ------------------------------------------------------------------
class RecordedInputs:
    """What :func:`record_inputs` saw: the named tensors, and each op node that consumed one of
    them (or a tensor computed from them without a gradient: ``x.flatten(1)``, ``x / 255``)."""

    def __init__(self, named: Mapping[str, Tensor]) -> None:
        self.tensors: dict[str, Tensor] = {}
        # id(tensor) -> (the tensor, kept alive so the id stays unique; the input names it comes from)
        self._origin: dict[int, tuple[Tensor, tuple[str, ...]]] = {}
        for name, t in named.items():
            if not isinstance(t, Tensor):
                raise TypeError(f"record_inputs: {name}= is a {type(t).__name__}, not a Tensor")
            self.tensors[name] = t
            _, names = self._origin.get(id(t), (t, ()))
            self._origin[id(t)] = (t, names + (name,))
        # id(node) -> (the node, the input names it consumed)
        self.consumers: dict[int, tuple[Function, tuple[str, ...]]] = {}

    def _names_of(self, obj: Any) -> tuple[str, ...]:
        """The input names a Tensor or array comes from: itself, its base, or shared memory."""
        if isinstance(obj, Tensor):
            hit = self._origin.get(id(obj))
            if hit is None and obj._base is not None:
                hit = self._origin.get(id(obj._base))
            if hit is not None:
                return hit[1]
            obj = obj._data
        if not isinstance(obj, np.ndarray):
            return ()
        found: list[str] = []
        for t, names in self._origin.values():
            if np.may_share_memory(obj, t._data):
                found += [n for n in names if n not in found]
        return tuple(found)

    def _saw(self, args: tuple[Any, ...], attrs: dict[str, Any], out: Tensor) -> None:
        node = out.grad_fn
        recorded = isinstance(node, Function) and getattr(node, "_edges", None) is not None
        # what the op consumed without a gradient: inputs with no edge, and arrays/tensors passed
        # as attributes (class-index targets travel that way)
        plain = [t for t, e in zip(args, node._edges) if e is None] if recorded else list(args)
        plain += [v for v in attrs.values() if isinstance(v, (Tensor, np.ndarray))]
        found: list[str] = []
        for t in plain:
            found += [n for n in self._names_of(t) if n not in found]
        if not found:
            return
        if recorded:
            self.consumers.setdefault(id(node), (node, tuple(found)))
        else:
            self._origin[id(out)] = (out, tuple(found))


@contextlib.contextmanager
def record_inputs(**inputs: Tensor) -> Iterator[RecordedInputs]:
    """Note, while the block runs, which ops consume ``inputs`` (name=tensor): the input batch,
    the targets and other tensors that need no gradient, which the autograd graph does not keep.

    Pass the result to ``draw_graph(..., inputs=...)`` to draw them as nodes with edges into
    those ops. (It wraps ``Function.apply`` for the duration of the block.)
    """
    rec = RecordedInputs(inputs)
    original = Function.__dict__["apply"]
    run = original.__func__

    def apply(cls: type[Function], *args: Any, **attrs: Any) -> Tensor:
        out = run(cls, *args, **attrs)
        rec._saw(args, attrs, out)
        return out

    Function.apply = classmethod(apply)  # type: ignore[method-assign,assignment]
    try:
        yield rec
    finally:
        Function.apply = original  # type: ignore[method-assign]


# ---- the drawing ---------------------------------------------------------------------------------
def draw_graph(
    *outputs: Tensor | Iterable[Tensor],
    params: Mapping[str, Tensor] | Iterable[tuple[str, Tensor]] | Any | None = None,
    show_shapes: bool = True,
    show_dtype: bool = False,
    show_values: bool = False,
    show_grads: bool = False,
    show_saved: bool = False,
    show_views: bool = True,
    max_nodes: int | None = None,
    rankdir: str = "TB",
    cluster_modules: bool = False,
    inputs: RecordedInputs | None = None,
    _extra_lines: Mapping[int, list[str]] | None = None,
) -> ComputationGraph:
    """Draw the autograd graph that produced ``outputs``.

    Args:
        outputs: the tensors to draw from (a loss, a model's output; lists/tuples are flattened).
        params: names for leaf tensors, matched by identity: ``dict(model.named_parameters())``,
            the ``named_parameters()`` iterator itself, or a module (anything with
            ``named_parameters``; its clusters are then labelled with the module's type too,
            ``1: Linear(784->512)``). Unnamed leaves are labelled ``leaf``.
        show_shapes: each node shows its tensor's shape.
        show_dtype: each tensor shows its dtype.
        show_values: leaves, outputs and retained tensors show their values: up to
            ``SMALL_TENSOR`` elements in full, otherwise shape, mean, min and max.
        show_grads: the same for ``.grad`` (leaves, outputs and tensors that called
            ``retain_grad()``) after backward; a gradient holding NaN or inf is marked in red.
        show_saved: op nodes list what forward saved for backward ("released" once backward freed
            it).
        show_views: dashed edges for views (tensors sharing storage with another tensor).
        max_nodes: draw at most this many op/leaf nodes (those nearest to the outputs, and never
            fewer than the outputs' own nodes); the rest become one "... N more nodes" node.
        rankdir: Graphviz layout direction: "TB" (inputs on top), "LR", "BT" or "RL".
        cluster_modules: group parameters by module (the name up to its last dot: "0" for
            "0.weight"; "enc.1" nests inside "enc") into boxed clusters, together with the ops
            that consume them (or views of them such as ``weight.t()``) and the ops computed from
            one module's parameters alone.
        inputs: what :func:`record_inputs` recorded during the forward pass: the named tensors
            that need no gradient (input batch, targets) are drawn as nodes, with an edge into
            each drawn op that consumed them.
        _extra_lines: (for the backward explorer) more label lines for some nodes, by
            ``id(node or leaf)``.

    Returns:
        A :class:`ComputationGraph` (a ``graphviz.Digraph``). ``.source`` is the DOT text (needs
        no Graphviz install); ``render(graph, "graph.svg")`` and Jupyter's inline display need
        Graphviz's ``dot`` program.
    """
    outs = _flatten_outputs(outputs)
    if max_nodes is not None and max_nodes < 0:
        raise ValueError(f"draw_graph: max_nodes must be >= 0 or None, got {max_nodes}")
    if rankdir not in _RANKDIRS:
        raise ValueError(f"draw_graph: rankdir must be one of {', '.join(_RANKDIRS)}, got {rankdir!r}")
    names = _param_names(params)
    _check_inputs("draw_graph", inputs)

    order, index, n_roots = _walk(outs)
    n_visible = len(order) if max_nodes is None else max(min(max_nodes, len(order)), n_roots)
    n_hidden = len(order) - n_visible

    # The tensors behind op nodes that we can see: outputs, and tensors that called retain_grad().
    seen_of_node: dict[int, list[Tensor]] = {}
    for t in outs:
        if t.grad_fn is not None:
            seen_of_node.setdefault(id(t.grad_fn), []).append(t)
    retained: dict[int, Tensor] = {}
    for obj in order[:n_visible]:
        if isinstance(obj, Function) and obj._retain is not None:
            kept = obj._retain()
            if kept is not None and id(obj) not in seen_of_node:  # an output shows in its own box
                retained[id(obj)] = kept
                seen_of_node[id(obj)] = [kept]

    cluster_of = _clusters(order, names) if cluster_modules and names else {}
    output_ids = {id(t) for t in outs}
    fmt = _Formatter(show_shapes, show_dtype, show_values, show_grads)

    top: list[str] = []  # node statements outside any cluster
    in_cluster: dict[str, list[str]] = {}  # module name -> its node statements
    extra: list[str] = []  # output boxes, storage bases, the "... more" node
    edges: list[str] = []
    more = "more"
    op_attrs: dict[tuple[str, tuple[int, ...]], str] = {}

    for i in range(n_visible):
        obj = order[i]
        nid = f"n{i}"
        if isinstance(obj, Function):
            kept = retained.get(id(obj)) if retained else None
            extra_lines = _extra_lines.get(id(obj)) if _extra_lines else None
            if show_saved or kept is not None or extra_lines:
                lines, bad = _op_lines(obj, fmt, show_saved, kept)
                lines += extra_lines or []
                stmt = f"\t{nid} [label={_label(lines)} {_OP_STYLE}{_BAD_STYLE if bad else ''}]\n"
            else:  # the label depends on the op and its shape only: build each one once
                key = (obj.name(), obj._out_shape)
                attrs = op_attrs.get(key)
                if attrs is None:
                    attrs = op_attrs[key] = f"[label={_label(_op_lines(obj, fmt, False, None)[0])} {_OP_STYLE}]\n"
                stmt = f"\t{nid} {attrs}"
            is_view = show_views and _is_view_node(obj, seen_of_node.get(id(obj), ()))
            hidden_input = False
            for k, e in enumerate(obj._edges):
                if e is None:
                    continue
                j = index[id(e)]
                if j < n_visible:
                    edges.append(f"\tn{j} -> {nid}{_VIEW_EDGE if is_view and k == 0 else ''}\n")
                else:
                    hidden_input = True
            if hidden_input:
                edges.append(f"\t{more} -> {nid}\n")
        else:
            is_output = id(obj) in output_ids
            lines, bad = _tensor_lines(obj, names.get(id(obj)), fmt, is_output)
            lines += _extra_lines.get(id(obj), []) if _extra_lines else []
            style = _OUTPUT_STYLE if is_output else _LEAF_STYLE if obj.requires_grad else _CONST_STYLE
            stmt = f"\t{nid} [label={_label(lines)} {style}{_BAD_STYLE if bad else ''}]\n"
        module = cluster_of.get(id(obj))
        if module is None:
            top.append(stmt)
        else:
            in_cluster.setdefault(module, []).append(stmt)

    # Output boxes: one per output that came out of an op (a leaf output is marked on its node).
    for j, t in enumerate(outs):
        if t.grad_fn is None:
            continue
        lines, bad = _tensor_lines(t, f"output {j}" if len(outs) > 1 else "output", fmt, False)
        extra.append(f"\tout{j} [label={_label(lines)} {_OUTPUT_STYLE}{_BAD_STYLE if bad else ''}]\n")
        edges.append(f"\tn{index[id(t.grad_fn)]} -> out{j}\n")  # roots are always visible

    # Leaves that are views of another tensor: a dashed edge to the tensor that owns the storage.
    # (An op's output that is a view is shown by the dashed edge into that op, above.)
    if show_views:
        n_bases = 0
        for i in range(n_visible):
            obj = order[i]
            if isinstance(obj, Function) or obj._base is None:
                continue
            base = obj._base
            j = index.get(id(base.grad_fn if base.grad_fn is not None else base))
            if j is not None and j < n_visible:
                target = f"n{j}"
            else:  # the storage's owner is not part of the drawn graph: draw it on its own
                target = f"base{n_bases}"
                n_bases += 1
                lines = [names.get(id(base)) or "base"] + ([_shape(base._data.shape)] if show_shapes else [])
                extra.append(f"\t{target} [label={_label(lines)} {_BASE_STYLE}]\n")
            edges.append(f"\tn{i} -> {target}{_BASE_EDGE}\n")

    # Inputs that need no gradient: one node each, with an edge into every drawn op that used them.
    if inputs is not None:
        input_ids = {name: f"in{k}" for k, name in enumerate(inputs.tensors)}
        used: dict[str, list[str]] = {}
        for oid, (_, consumed) in inputs.consumers.items():
            j = index.get(oid)
            if j is None:
                continue
            for name in consumed:
                used.setdefault(name, []).append(f"n{j}" if j < n_visible else more)
        for name, t in inputs.tensors.items():
            if name not in used:
                continue
            lines, bad = _tensor_lines(t, name, fmt, False)
            extra.append(f"\t{input_ids[name]} [label={_label(lines)} {_INPUT_STYLE}{_BAD_STYLE if bad else ''}]\n")
            for target in dict.fromkeys(used[name]):
                edges.append(f"\t{input_ids[name]} -> {target}\n")

    if n_hidden:
        word = "node" if n_hidden == 1 else "nodes"
        extra.append(f"\t{more} [label={_label([f'... {n_hidden} more {word}'])} {_MORE_STYLE}]\n")

    graph = ComputationGraph(
        name="computation_graph",
        graph_attr={"rankdir": rankdir},
        node_attr={"fontname": "Helvetica", "fontsize": "10"},
        edge_attr={"arrowsize": "0.7"},
    )
    # Statements go straight into ``body`` (graphviz's list of DOT lines), quoted once by _label:
    # a 100,000-node graph builds several times faster than through Digraph.node()/edge().
    body = graph.body
    body.extend(top)
    if in_cluster:
        body.extend(_cluster_blocks(in_cluster, _module_titles(params)))
    body.extend(extra)
    body.extend(edges)
    return graph


def _walk(outs: list[Tensor]) -> tuple[list[Any], dict[int, int], int]:
    """The graph behind ``outs``: (nodes and leaves in walk order, id -> position, number of roots).

    Breadth-first from the outputs: nodes nearest to them get the smallest numbers (node ``n{i}``
    of the DOT text is ``order[i]``). That keeps the DOT text deterministic and makes max_nodes
    keep the part of the graph nearest the outputs. The walk is a loop over a growing list, never
    recursion: 100,000-deep chains work."""
    order: list[Any] = []  # Function nodes and leaf Tensors, in walk order
    index: dict[int, int] = {}  # id(node or leaf) -> its position in order
    for t in outs:
        root = t.grad_fn if t.grad_fn is not None else t
        if id(root) not in index:
            index[id(root)] = len(order)
            order.append(root)
    n_roots = len(order)
    pos = 0
    while pos < len(order):
        obj = order[pos]
        pos += 1
        if isinstance(obj, Function):
            for e in obj._edges:
                if e is not None and id(e) not in index:
                    index[id(e)] = len(order)
                    order.append(e)
    return order, index, n_roots


def _flatten_outputs(outputs: tuple[Any, ...]) -> list[Tensor]:
    outs: list[Tensor] = []
    seen: set[int] = set()
    for item in outputs:
        for t in item if isinstance(item, (list, tuple)) else (item,):
            if not isinstance(t, Tensor):
                raise TypeError(f"draw_graph expects Tensors (or lists/tuples of them), got {type(t).__name__}")
            if id(t) not in seen:
                seen.add(id(t))
                outs.append(t)
    if not outs:
        raise ValueError("draw_graph needs at least one output tensor, e.g. draw_graph(loss)")
    return outs


def _check_inputs(op: str, inputs: Any) -> None:
    if inputs is not None and not isinstance(inputs, RecordedInputs):
        raise TypeError(
            f"{op}: inputs= takes what viz.record_inputs(...) recorded around the forward pass, "
            f"got {type(inputs).__name__}"
        )


def _param_names(params: Any) -> dict[int, str]:
    if params is None:
        return {}
    if hasattr(params, "named_parameters"):
        params = params.named_parameters()
    items = params.items() if isinstance(params, Mapping) else params
    names: dict[int, str] = {}
    for name, t in items:
        if not isinstance(t, Tensor):
            raise TypeError(f"draw_graph: params[{name!r}] is a {type(t).__name__}, not a Tensor")
        names.setdefault(id(t), str(name))
    return names


# ---- labels --------------------------------------------------------------------------------------
def _label(lines: list[str]) -> str:
    """One DOT quoted string, one centred line per item; the text is escaped, never interpreted."""
    parts = [s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") for s in lines]
    return '"' + "\\n".join(parts) + '"'


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _is_bad(arr: np.ndarray) -> bool:
    return arr.dtype.kind in "fc" and not bool(np.isfinite(arr).all())


def _describe_array(arr: np.ndarray, what: str) -> list[str]:
    """Small arrays in full; large ones as shape, mean, min, max (of the finite values)."""
    if arr.size <= SMALL_TENSOR:
        text = np.array2string(arr, precision=4, separator=", ", max_line_width=1_000_000)
        return [f"{what} " + " ".join(part.strip() for part in text.splitlines())]
    lines = [f"{what} {_shape(arr.shape)}"]
    if arr.dtype.kind in "fc":
        finite = arr[np.isfinite(arr)]
        n_nan, n_inf = int(np.isnan(arr).sum()), int(np.isinf(arr).sum())
    else:
        finite, n_nan, n_inf = arr, 0, 0
    if finite.size:
        f64 = finite.astype(np.float64)
        lines.append(f"mean={f64.mean():.4g} min={f64.min():.4g} max={f64.max():.4g}")
    if n_nan or n_inf:
        lines.append(f"nan: {n_nan}, inf: {n_inf}")
    return lines


class _Formatter:
    """What to say about a tensor we can see (a leaf, an output, a retained intermediate)."""

    __slots__ = ("shapes", "dtype", "values", "grads")

    def __init__(self, shapes: bool, dtype: bool, values: bool, grads: bool) -> None:
        self.shapes, self.dtype, self.values, self.grads = shapes, dtype, values, grads

    def tensor_info(self, t: Tensor, with_shape: bool = True) -> tuple[list[str], bool]:
        """Shape/dtype/value/grad lines, and whether a shown value or grad holds NaN/inf."""
        lines: list[str] = []
        bad = False
        if self.shapes and with_shape:
            lines.append(_shape(t._data.shape))
        if self.dtype:
            lines.append(t._data.dtype.name)
        if self.values:
            lines += _describe_array(t._data, "value")
            if _is_bad(t._data):
                lines.append("value has NaN/inf!")
                bad = True
        if self.grads and t._grad is not None:
            g = t._grad._data
            lines += _describe_array(g, "grad")
            if _is_bad(g):
                lines.append("grad has NaN/inf!")
                bad = True
        return lines, bad


def _tensor_lines(t: Tensor, name: str | None, fmt: _Formatter, is_output: bool) -> tuple[list[str], bool]:
    lines = [name or ("leaf" if t.requires_grad else "tensor")]
    info, bad = fmt.tensor_info(t)
    lines += info
    if is_output:
        lines.append("output")
    return lines, bad


def _op_lines(node: Function, fmt: _Formatter, show_saved: bool, retained: Tensor | None) -> tuple[list[str], bool]:
    lines = [node.name()]
    if fmt.shapes:
        lines.append(_shape(node._out_shape))
    if show_saved:
        lines += _saved_lines(node)
    if retained is None:
        return lines, False
    # The node's output tensor, kept alive by the user and marked with retain_grad().
    info, bad = fmt.tensor_info(retained, with_shape=False)
    return lines + info, bad


def _saved_lines(node: Function) -> list[str]:
    saved = node._saved
    if saved is None:
        # apply() sets _versions to a list exactly when forward saved something, so a None
        # _saved next to a list means backward released it.
        return ["saved: released"] if getattr(node, "_versions", None) is not None else []
    lines = []
    for item in saved:
        if item is None:
            continue
        if isinstance(item, Tensor):
            lines.append(f"saved input {_shape(item._data.shape)}")
        elif isinstance(item, SavedOutput):
            lines.append(f"saved output {_shape(item.array.shape)}")
        elif isinstance(item, np.ndarray):
            lines.append(f"saved array {_shape(item.shape)}")
        else:
            text = repr(item)
            lines.append("saved " + (text if len(text) <= 24 else text[:21] + "..."))
    return lines


def _is_view_node(node: Function, seen: Any) -> bool:
    """Whether the node's output shares its input's storage.

    ``is_view = True`` ops always return a view; "maybe" ops (reshape) only when NumPy could, which
    we can tell only from the tensors we can see (outputs, retained tensors)."""
    kind = type(node).is_view
    if kind is True:
        return True
    return bool(kind) and any(t._base is not None for t in seen)


# ---- module clusters -----------------------------------------------------------------------------
def _topological(order: list[Any]) -> Iterator[Any]:
    """Every node after all of its inputs (iterative depth-first post-order)."""
    done: set[int] = set()
    for root in order:
        if id(root) in done:
            continue
        stack: list[tuple[Any, bool]] = [(root, False)]
        while stack:
            obj, expanded = stack.pop()
            if expanded:
                yield obj
                continue
            if id(obj) in done:
                continue
            done.add(id(obj))
            stack.append((obj, True))
            if isinstance(obj, Function):
                for e in obj._edges:
                    if e is not None and id(e) not in done:
                        stack.append((e, False))


def _clusters(order: list[Any], names: dict[int, str]) -> dict[int, str]:
    """The module of each node that has one.

    A parameter's module is its name up to the last dot ("0" for "0.weight"). An op belongs to a
    module when it is computed from that module's parameters alone (weight.t(), (w ** 2).sum()),
    or when it consumes that module's parameters, or views of them such as weight.t(), and no
    other module's (the matmul and the bias add of a Linear layer)."""
    pure: dict[int, str | None] = {}  # computed from one module's parameters alone
    param_like: dict[int, str] = {}  # a parameter, or a view of one (weight.t())
    home: dict[int, str] = {}
    for obj in _topological(order):
        oid = id(obj)
        if not isinstance(obj, Function):
            name = names.get(oid)
            module = name.rpartition(".")[0] if name else ""
            pure[oid] = module or None
            if module:
                home[oid] = param_like[oid] = module
            continue
        edges = obj._edges
        # An input that needs no grad (the data, a target) has no edge (None): an op using one is
        # not computed from parameters alone.
        inputs = [None if e is None else pure[id(e)] for e in edges]
        first = inputs[0] if inputs else None
        if first is not None and all(m == first for m in inputs):
            pure[oid] = home[oid] = first
            if type(obj).is_view:
                param_like[oid] = first
            continue
        pure[oid] = None
        found = {param_like[id(e)] for e in edges if e is not None and id(e) in param_like}
        if len(found) == 1:
            home[oid] = found.pop()
    return home


def _module_titles(params: Any) -> dict[str, str]:
    """Cluster titles ``name: Type(details)`` when ``params`` is a module; none otherwise."""
    named_modules = getattr(params, "named_modules", None)
    if named_modules is None:
        return {}
    return {name: f"{name}: {_describe_module(m)}" for name, m in named_modules() if name}


def _describe_module(m: Any) -> str:
    """A short description: ``Linear(784->512)``, ``Conv2d(1->32, 3x3)``, ``BatchNorm2d(64)``."""
    kind = type(m).__name__

    def size(v: Any) -> str:
        return "x".join(str(k) for k in v) if isinstance(v, (tuple, list)) else f"{v}x{v}"

    if hasattr(m, "in_features") and hasattr(m, "out_features"):
        return f"{kind}({m.in_features}->{m.out_features})"
    if hasattr(m, "in_channels") and hasattr(m, "out_channels"):
        text = f"{m.in_channels}->{m.out_channels}"
        if hasattr(m, "kernel_size"):
            text += f", {size(m.kernel_size)}"
        stride = getattr(m, "stride", 1)
        if stride not in (1, (1, 1), (1,), [1, 1]):
            text += f", stride {stride[0] if isinstance(stride, (tuple, list)) and len(set(stride)) == 1 else stride}"
        return f"{kind}({text})"
    if hasattr(m, "num_features"):
        return f"{kind}({m.num_features})"
    extra = m.extra_repr() if hasattr(m, "extra_repr") else ""
    return f"{kind}({extra})" if extra and len(extra) <= 30 else kind


def _cluster_blocks(in_cluster: dict[str, list[str]], titles: Mapping[str, str] | None = None) -> list[str]:
    """Nested ``subgraph cluster_k { ... }`` blocks: "encoder.layer1" sits inside "encoder"."""
    children: dict[str, list[str]] = {}
    roots: list[str] = []
    known: set[str] = set()
    for module in in_cluster:  # insertion order = walk order of the module's first node
        parts = module.split(".")
        parent = None
        for depth in range(1, len(parts) + 1):
            name = ".".join(parts[:depth])
            if name not in known:
                known.add(name)
                (roots if parent is None else children.setdefault(parent, [])).append(name)
            parent = name
    out: list[str] = []
    counter = 0
    # iterative pre-order: ("open", m) writes the header and m's nodes, ("close", m) the brace
    stack: list[tuple[str, str]] = [("open", name) for name in reversed(roots)]
    while stack:
        action, name = stack.pop()
        if action == "close":
            out.append("\t}\n")
            continue
        out.append(f"\tsubgraph cluster_{counter} {{\n")
        counter += 1
        title = (titles or {}).get(name, name)
        out.append(f'\t\tlabel={_label([title])} style="rounded,dashed" color=gray40 fontname=Helvetica fontsize=10\n')
        out.extend("\t" + stmt for stmt in in_cluster.get(name, ()))
        stack.append(("close", name))
        stack.extend(("open", child) for child in reversed(children.get(name, ())))
    return out
