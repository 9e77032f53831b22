"""tinygrad_ko.viz: the DOT text of known graphs, the display options, and rendering."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pytest

import tinygrad_ko as tg
from tinygrad_ko import viz
from tinygrad_ko.viz import GraphvizNotFoundError, draw_graph, render

HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz's `dot` is not installed (apt-get install graphviz)")

_NODE = re.compile(r'^\s*(\w+) \[label="((?:[^"\\]|\\.)*)"(.*)\]$')
_EDGE = re.compile(r"^\s*(\w+) -> (\w+)(?: \[(.*)\])?$")
_CLUSTER = re.compile(r"^\s*subgraph (cluster_\w+) \{$")


@dataclass
class Parsed:
    """Nodes (id -> label lines, attribute text), edges (src, dst, attribute text), clusters."""

    labels: dict[str, list[str]] = field(default_factory=dict)
    attrs: dict[str, str] = field(default_factory=dict)
    edges: list[tuple[str, str, str]] = field(default_factory=list)
    clusters: dict[str, list[str]] = field(default_factory=dict)  # cluster label -> member ids
    parent: dict[str, str | None] = field(default_factory=dict)  # cluster label -> enclosing one

    def ids(self, first_line: str) -> list[str]:
        return [n for n, lines in self.labels.items() if lines[0] == first_line]

    def one(self, first_line: str) -> str:
        found = self.ids(first_line)
        assert len(found) == 1, (first_line, self.labels)
        return found[0]

    def inputs(self, node: str) -> list[str]:
        return [s for s, d, _ in self.edges if d == node]

    def edge_attrs(self, src: str, dst: str) -> list[str]:
        return [a for s, d, a in self.edges if (s, d) == (src, dst)]

    def names(self) -> Counter[str]:
        return Counter(lines[0] for lines in self.labels.values())


def parse(graph: object) -> Parsed:
    """Read node labels, edges and clusters back out of the DOT text."""
    out = Parsed()
    open_clusters: list[str | None] = []  # label of each open cluster (None until its label line)
    for line in graph.source.splitlines():  # type: ignore[attr-defined]
        if _CLUSTER.match(line):
            open_clusters.append(None)
            continue
        if line.strip() == "}" and open_clusters:
            open_clusters.pop()
            continue
        label_stmt = re.match(r'^\s*label="((?:[^"\\]|\\.)*)"', line)
        if label_stmt and open_clusters and open_clusters[-1] is None:
            name = label_stmt.group(1)
            open_clusters[-1] = name
            out.clusters[name] = []
            out.parent[name] = open_clusters[-2] if len(open_clusters) > 1 else None
            continue
        m = _NODE.match(line)
        if m:
            node, label, attrs = m.groups()
            lines = [s.replace('\\"', '"').replace("\\\\", "\\") for s in label.split("\\n")]
            out.labels[node] = lines
            out.attrs[node] = attrs
            if open_clusters:
                out.clusters[open_clusters[-1]].append(node)  # type: ignore[index]
            continue
        m = _EDGE.match(line)
        if m:
            out.edges.append((m.group(1), m.group(2), m.group(3) or ""))
    return out


def leaf(*shape: int, seed: int = 0) -> tg.Tensor:
    data = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return tg.tensor(data, requires_grad=True)


# ---- structure of known graphs ------------------------------------------------------------------
def test_mul_add_has_exactly_the_expected_nodes_and_edges() -> None:
    a, b, c = leaf(3, seed=1), leaf(3, seed=2), leaf(3, seed=3)
    y = a * b + c
    p = parse(draw_graph(y, params={"a": a, "b": b, "c": c}))
    assert p.names() == Counter({"AddBackward": 1, "MulBackward": 1, "a": 1, "b": 1, "c": 1, "output": 1})
    add, mul, out = p.one("AddBackward"), p.one("MulBackward"), p.one("output")
    na, nb, nc = p.one("a"), p.one("b"), p.one("c")
    assert sorted((s, d) for s, d, _ in p.edges) == sorted([(na, mul), (nb, mul), (mul, add), (nc, add), (add, out)])
    assert p.labels[na] == ["a", "(3,)"]
    assert p.labels[add] == ["AddBackward", "(3,)"]
    assert "output" in p.labels[out] and "darkolivegreen1" in p.attrs[out]
    assert "lightblue" in p.attrs[na]


def test_a_plus_a_is_one_add_with_two_edges_from_the_same_leaf() -> None:
    a = leaf(2, 2)
    p = parse(draw_graph(a + a))
    assert p.names() == Counter({"AddBackward": 1, "leaf": 1, "output": 1})
    add, a_node = p.one("AddBackward"), p.one("leaf")
    assert p.inputs(add) == [a_node, a_node]
    assert len(p.edges) == 3  # leaf -> add twice, add -> output


def test_diamond_shares_the_middle_node() -> None:
    x = leaf(3)
    y = x * 2
    z = y * y + y
    p = parse(draw_graph(z, params={"x": x}))
    assert p.names() == Counter({"MulBackward": 2, "AddBackward": 1, "x": 1, "output": 1})
    nx, add = p.one("x"), p.one("AddBackward")
    (times2,) = [n for n in p.ids("MulBackward") if p.inputs(n) == [nx]]
    (square,) = [n for n in p.ids("MulBackward") if n != times2]
    assert p.inputs(square) == [times2, times2]
    assert sorted(p.inputs(add)) == sorted([square, times2])
    assert len(p.edges) == 1 + 2 + 2 + 1


def _hand_mlp() -> tuple[dict[str, tg.Tensor], tg.Tensor]:
    """Linear(3, 4) -> ReLU -> Linear(4, 2) -> MSE, parameters named like nn.Sequential's."""
    params = {
        "0.weight": leaf(4, 3, seed=1),
        "0.bias": leaf(4, seed=2),
        "2.weight": leaf(2, 4, seed=3),
        "2.bias": leaf(2, seed=4),
    }
    x = tg.tensor(np.random.default_rng(5).standard_normal((5, 3)).astype(np.float32))
    target = tg.tensor(np.random.default_rng(6).standard_normal((5, 2)).astype(np.float32))
    h = (x @ params["0.weight"].t() + params["0.bias"]).relu()
    out = h @ params["2.weight"].t() + params["2.bias"]
    loss = ((out - target) ** 2).mean()
    return params, loss


def test_mlp_loss_graph() -> None:
    params, loss = _hand_mlp()
    p = parse(draw_graph(loss, params=params))
    names = p.names()
    for name in params:
        assert names[name] == 1
    assert names["MatmulBackward"] == 2
    assert names["PermuteBackward"] == 2
    assert names["AddBackward"] == 2
    assert names["ReluBackward"] == 1 and names["output"] == 1
    assert names["leaf"] == 0  # x and the target need no grad: they are not drawn
    w0, b0, w2 = p.one("0.weight"), p.one("0.bias"), p.one("2.weight")
    assert p.labels[w0] == ["0.weight", "(4, 3)"]
    (t0,) = [d for s, d, _ in p.edges if s == w0]
    assert p.labels[t0][0] == "PermuteBackward"
    (mm0,) = [d for s, d, _ in p.edges if s == t0]
    assert p.labels[mm0] == ["MatmulBackward", "(5, 4)"]
    (add0,) = [d for s, d, _ in p.edges if s == mm0]
    assert sorted(p.inputs(add0)) == sorted([mm0, b0])
    relu = p.one("ReluBackward")
    assert p.inputs(relu) == [add0]
    (t2,) = [d for s, d, _ in p.edges if s == w2]
    (mm2,) = [d for s, d, _ in p.edges if s == t2]
    assert sorted(p.inputs(mm2)) == sorted([relu, t2])
    # every edge joins drawn nodes; there are as many edges as inputs that need grad, plus output
    assert all(s in p.labels and d in p.labels for s, d, _ in p.edges)
    assert len(p.edges) == 14


def test_params_can_be_an_iterator_of_pairs() -> None:
    params, loss = _hand_mlp()
    a = draw_graph(loss, params=params).source
    b = draw_graph(loss, params=iter(params.items())).source
    assert a == b


def test_nn_sequential_module_graph() -> None:
    nn = pytest.importorskip("tinygrad_ko.nn")
    if not all(hasattr(nn, name) for name in ("Sequential", "Linear", "ReLU")):
        pytest.skip("tinygrad_ko.nn has no Sequential/Linear/ReLU yet")
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = tg.randn(5, 3)
    named = dict(model.named_parameters())
    assert set(named) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    p = parse(draw_graph(model(x).sum(), params=named, cluster_modules=True))
    for name in named:
        assert p.names()[name] == 1
    assert set(p.clusters) == {"0", "2"}
    assert {p.labels[n][0] for n in p.clusters["0"]} >= {"0.weight", "0.bias"}
    assert p.one("ReluBackward") not in p.clusters["0"] + p.clusters["2"]
    for module in ("0", "2"):  # whatever ops nn.Linear uses, those consuming its weight join it
        consumers = [d for s, d, _ in p.edges if s == p.one(f"{module}.weight")]
        assert consumers and all(c in p.clusters[module] for c in consumers)
    # the module itself is accepted as params
    assert draw_graph(model(x).sum(), params=model).source == draw_graph(model(x).sum(), params=named).source


def test_cluster_modules_groups_parameters_and_the_ops_that_consume_them() -> None:
    params, loss = _hand_mlp()
    p = parse(draw_graph(loss, params=params, cluster_modules=True))
    assert set(p.clusters) == {"0", "2"}
    for module in ("0", "2"):
        members = Counter(p.labels[n][0] for n in p.clusters[module])
        assert members == Counter(
            {f"{module}.weight": 1, f"{module}.bias": 1, "PermuteBackward": 1, "MatmulBackward": 1, "AddBackward": 1}
        )
    clustered = set(p.clusters["0"]) | set(p.clusters["2"])
    for name in ("ReluBackward", "SubBackward", "PowBackward", "MeanBackward", "output"):
        assert p.one(name) not in clustered
    # without the option there are no clusters, and the same nodes and edges
    plain = parse(draw_graph(loss, params=params))
    assert plain.clusters == {}
    assert plain.labels == p.labels and sorted(plain.edges) == sorted(p.edges)


def test_weight_decay_term_joins_its_module_but_the_total_loss_does_not() -> None:
    params, loss = _hand_mlp()
    total = loss + (params["2.weight"] ** 2).sum() * 0.01
    p = parse(draw_graph(total, params=params, cluster_modules=True))
    in_2 = Counter(p.labels[n][0] for n in p.clusters["2"])
    assert in_2["SumBackward"] == 1 and in_2["PowBackward"] == 1 and in_2["MulBackward"] == 1
    root_add = p.inputs(p.one("output"))[0]
    assert root_add not in p.clusters["2"] and root_add not in p.clusters["0"]


def test_nested_module_names_nest_clusters() -> None:
    w1, w2 = leaf(2, 2, seed=1), leaf(2, 2, seed=2)
    y = (w1 @ w2).sum()
    p = parse(draw_graph(y, params={"enc.0.weight": w1, "enc.1.weight": w2}, cluster_modules=True))
    assert set(p.clusters) == {"enc", "enc.0", "enc.1"}
    assert p.parent == {"enc": None, "enc.0": "enc", "enc.1": "enc"}
    assert [p.labels[n][0] for n in p.clusters["enc.0"]] == ["enc.0.weight"]
    assert [p.labels[n][0] for n in p.clusters["enc.1"]] == ["enc.1.weight"]
    # the matmul consumes both modules' parameters: it belongs to neither
    assert p.one("MatmulBackward") not in p.clusters["enc.0"] + p.clusters["enc.1"] + p.clusters["enc"]


# ---- outputs, leaves, determinism ---------------------------------------------------------------
def test_dot_is_deterministic_and_ids_are_walk_order() -> None:
    def build() -> str:
        a, b = leaf(2, seed=1), leaf(2, seed=2)
        return draw_graph((a * b).exp().sum(), params={"a": a, "b": b}).source

    first = build()
    assert first == build()
    p = parse_source(first)
    ids = [n for n in p.labels if n.startswith("n")]
    assert ids == [f"n{i}" for i in range(len(ids))]
    assert p.labels["n0"][0] == "SumBackward"  # numbered from the output


def parse_source(source: str) -> Parsed:
    class _G:
        pass

    g = _G()
    g.source = source  # type: ignore[attr-defined]
    return parse(g)


def test_multiple_outputs_leaf_output_and_constant_output() -> None:
    a = leaf(3)
    y = a.exp()
    const = tg.ones(2)
    p = parse(draw_graph(y, [a, const], params={"a": a}))
    assert p.names() == Counter({"ExpBackward": 1, "a": 1, "tensor": 1, "output 0": 1})
    na = p.one("a")
    assert "output" in p.labels[na] and "darkolivegreen1" in p.attrs[na]  # a leaf output is marked
    assert p.labels[p.one("tensor")] == ["tensor", "(2,)", "output"]
    assert (p.one("ExpBackward"), p.one("output 0"), "") in p.edges


def test_bad_arguments() -> None:
    a = leaf(2)
    with pytest.raises(TypeError, match="Tensor"):
        draw_graph(np.ones(2))
    with pytest.raises(ValueError, match="at least one"):
        draw_graph()
    with pytest.raises(ValueError, match="rankdir"):
        draw_graph(a, rankdir="UP")
    with pytest.raises(ValueError, match="max_nodes"):
        draw_graph(a, max_nodes=-1)
    with pytest.raises(TypeError, match="params"):
        draw_graph(a, params={"a": np.ones(2)})


def test_rankdir_shapes_and_dtype() -> None:
    a = leaf(2, 3)
    g = draw_graph(a.sum(), rankdir="LR", show_dtype=True, params={"a": a})
    assert "rankdir=LR" in g.source
    p = parse(g)
    assert p.labels[p.one("a")] == ["a", "(2, 3)", "float32"]
    assert p.labels[p.one("output")] == ["output", "()", "float32"]
    p = parse(draw_graph(a.sum(), show_shapes=False, params={"a": a}))
    assert p.labels[p.one("a")] == ["a"]
    assert p.labels[p.one("SumBackward")] == ["SumBackward"]


def test_package_reexports_draw_graph() -> None:
    assert tg.draw_graph is draw_graph


# ---- values, grads, NaN -------------------------------------------------------------------------
def test_show_grads_small_tensor_values() -> None:
    a = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    loss = (a * a).sum()
    before = parse(draw_graph(loss, params={"a": a}, show_grads=True))
    assert before.labels[before.one("a")] == ["a", "(3,)"]  # no grad yet
    loss.backward()
    p = parse(draw_graph(loss, params={"a": a}, show_grads=True))
    assert p.labels[p.one("a")] == ["a", "(3,)", "grad [2., 4., 6.]"]
    assert "red" not in p.attrs[p.one("a")]
    hidden = parse(draw_graph(loss, params={"a": a}))
    assert hidden.labels[hidden.one("a")] == ["a", "(3,)"]


def test_show_grads_large_tensor_summary() -> None:
    a = leaf(4, 5)
    (a * 3).sum().backward()
    p = parse(draw_graph((a * 3).sum(), params={"a": a}, show_grads=True))
    assert p.labels[p.one("a")] == ["a", "(4, 5)", "grad (4, 5)", "mean=3 min=3 max=3"]


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_grad_with_nan_or_inf_is_marked_red() -> None:
    a = tg.tensor([4.0, 0.0], requires_grad=True)  # d sqrt(x)/dx at 0 is inf
    b = tg.tensor([1.0, 2.0], requires_grad=True)
    loss = a.sqrt().sum() + (b * 2).sum()
    loss.backward()
    p = parse(draw_graph(loss, params={"a": a, "b": b}, show_grads=True))
    na, nb = p.one("a"), p.one("b")
    assert p.labels[na][2] == "grad [0.25,  inf]"
    assert "grad has NaN/inf!" in p.labels[na]
    assert "color=red" in p.attrs[na]
    assert "red" not in p.attrs[nb] and "grad has NaN/inf!" not in p.labels[nb]

    big = leaf(20)
    big.grad = tg.tensor(np.where(np.arange(20) == 3, np.nan, 1.0).astype(np.float32))
    p = parse(draw_graph(big * 2, show_grads=True))
    lines = p.labels[p.one("leaf")]
    assert lines[2:] == ["grad (20,)", "mean=1 min=1 max=1", "nan: 1, inf: 0", "grad has NaN/inf!"]
    assert "color=red" in p.attrs[p.one("leaf")]


def test_show_values_for_leaves_and_outputs() -> None:
    a = tg.tensor([1.5, -2.0], requires_grad=True)
    y = a * 2
    p = parse(draw_graph(y, params={"a": a}, show_values=True))
    assert p.labels[p.one("a")] == ["a", "(2,)", "value [ 1.5, -2. ]"]
    assert p.labels[p.one("output")] == ["output", "(2,)", "value [ 3., -4.]"]
    assert p.labels[p.one("MulBackward")] == ["MulBackward", "(2,)"]  # intermediates: not visible
    nan_leaf = tg.tensor([float("nan"), 1.0], requires_grad=True)
    p = parse(draw_graph(nan_leaf * 1, show_values=True))
    assert "value has NaN/inf!" in p.labels[p.one("leaf")]


def test_retained_intermediate_shows_its_grad_on_its_node() -> None:
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    h = a * 3
    h.retain_grad()
    loss = (h * h).sum()
    loss.backward()
    p = parse(draw_graph(loss, show_grads=True))
    times3 = [n for n in p.ids("MulBackward") if p.inputs(n) == [p.one("leaf")]][0]
    assert p.labels[times3] == ["MulBackward", "(2,)", "grad [ 6., 12.]"]


# ---- saved tensors --------------------------------------------------------------------------------
def test_show_saved_then_released() -> None:
    a, b = leaf(2, 3, seed=1), leaf(2, 3, seed=2)
    loss = (a * b).exp().sum()
    p = parse(draw_graph(loss, show_saved=True))
    assert p.labels[p.one("MulBackward")] == ["MulBackward", "(2, 3)", "saved input (2, 3)", "saved input (2, 3)"]
    assert p.labels[p.one("ExpBackward")] == ["ExpBackward", "(2, 3)", "saved output (2, 3)"]
    assert p.labels[p.one("SumBackward")] == ["SumBackward", "()"]  # saves nothing
    loss.backward()
    p = parse(draw_graph(loss, show_saved=True))
    assert p.labels[p.one("MulBackward")] == ["MulBackward", "(2, 3)", "saved: released"]
    assert p.labels[p.one("ExpBackward")] == ["ExpBackward", "(2, 3)", "saved: released"]
    assert p.labels[p.one("SumBackward")] == ["SumBackward", "()"]


def test_show_saved_kept_by_retain_graph() -> None:
    a = leaf(3)
    loss = a.exp().sum()
    loss.backward(retain_graph=True)
    p = parse(draw_graph(loss, show_saved=True))
    assert p.labels[p.one("ExpBackward")][2:] == ["saved output (3,)"]


# ---- views ----------------------------------------------------------------------------------------
def test_view_ops_are_drawn_with_dashed_edges() -> None:
    x = leaf(2, 3)
    y = (x.t() * 2).sum()
    p = parse(draw_graph(y, params={"x": x}))
    nx, perm, mul = p.one("x"), p.one("PermuteBackward"), p.one("MulBackward")
    assert "style=dashed" in p.edge_attrs(nx, perm)[0]
    assert "dashed" not in p.edge_attrs(perm, mul)[0]
    p = parse(draw_graph(y, params={"x": x}, show_views=False))
    assert all("dashed" not in attrs for _, _, attrs in p.edges)


def test_reshape_output_is_a_view_only_when_it_shares_storage() -> None:
    x = leaf(2, 3)
    shared = (x * 2).reshape(6)  # contiguous input: NumPy returns a view
    assert shared._base is not None
    p = parse(draw_graph(shared))
    assert "style=dashed" in p.edge_attrs(p.one("MulBackward"), p.one("ReshapeBackward"))[0]
    copied = (x * 2).t().reshape(6)  # non-contiguous input: NumPy copies
    assert copied._base is None
    p = parse(draw_graph(copied))
    assert p.edge_attrs(p.one("PermuteBackward"), p.one("ReshapeBackward")) == [""]


def test_leaf_view_gets_a_dashed_edge_to_its_base() -> None:
    x = leaf(2, 3)
    with tg.no_grad():
        v = x[0]
    v.requires_grad_()
    assert v._base is x
    # the base is in the graph: the edge goes to its node
    p = parse(draw_graph((v * 3).sum() + x.sum(), params={"x": x, "v": v}))
    nv, nx = p.one("v"), p.one("x")
    attrs = p.edge_attrs(nv, nx)
    assert len(attrs) == 1 and "style=dashed" in attrs[0] and "constraint=false" in attrs[0]
    # the base is not in the graph: it is drawn on its own, dashed
    p = parse(draw_graph((v * 3).sum(), params={"x": x, "v": v}))
    base = p.one("x")
    assert "style=dashed" in p.attrs[base]
    assert "style=dashed" in p.edge_attrs(p.one("v"), base)[0]
    assert p.ids("x") == [base] and base.startswith("base")


# ---- size limits -----------------------------------------------------------------------------------
def _chain(n: int) -> tuple[tg.Tensor, tg.Tensor]:
    x = leaf(2)
    y = x
    for _ in range(n):
        y = y * 1.0
    return x, y


def test_max_nodes_collapses_the_rest() -> None:
    _, y = _chain(10)  # 10 MulBackward nodes + 1 leaf
    p = parse(draw_graph(y, max_nodes=3))
    assert p.names() == Counter({"MulBackward": 3, "... 8 more nodes": 1, "output": 1})
    more = p.one("... 8 more nodes")
    assert [d for s, d, _ in p.edges if s == more] == ["n2"]
    assert p.inputs("n2") == [more] and p.inputs("n1") == ["n2"]
    p = parse(draw_graph(y, max_nodes=10))
    assert p.names()["... 1 more node"] == 1
    p = parse(draw_graph(y, max_nodes=11))
    assert p.names() == Counter({"MulBackward": 10, "leaf": 1, "output": 1})
    p = parse(draw_graph(y, max_nodes=0))  # the outputs' own nodes are always drawn
    assert p.names() == Counter({"MulBackward": 1, "... 10 more nodes": 1, "output": 1})


def test_100k_op_chain_builds_without_recursion_error() -> None:
    x, y = _chain(100_000)
    graph = draw_graph(y, params={"x": x})
    source = graph.source
    assert source.count("MulBackward") == 100_000
    assert source.count(" -> ") == 100_000 + 1
    assert '"x\\n(2,)"' in source
    small = parse(draw_graph(y, max_nodes=50, cluster_modules=True, params={"m.x": x}))
    assert small.names()["... 99951 more nodes"] == 1
    clustered = draw_graph(y, params={"m.x": x}, cluster_modules=True, show_saved=True)
    assert clustered.source.count("MulBackward") == 100_000
    del graph, clustered, y


# ---- rendering -------------------------------------------------------------------------------------
@needs_dot
def test_render_to_svg(tmp_path) -> None:
    params, loss = _hand_mlp()
    loss.backward()
    g = draw_graph(loss, params=params, show_grads=True, show_saved=True, cluster_modules=True)
    written = render(g, tmp_path / "sub" / "mlp")
    assert written == tmp_path / "sub" / "mlp.svg"
    svg = written.read_text()
    assert "<svg" in svg and "MatmulBackward" in svg and "0.weight" in svg
    assert render(g, tmp_path / "mlp.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert render(g, tmp_path / "mlp", format="pdf").name == "mlp.pdf"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlp.pdf", "mlp.png", "sub"]
    assert b"<svg" in g.pipe(format="svg")
    bundle = g._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"]


@needs_dot
@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_dot_accepts_views_nan_marks_and_collapsed_nodes(tmp_path) -> None:
    x = tg.tensor([0.0, 1.0, 4.0], requires_grad=True)
    with tg.no_grad():
        v = x[1:]
    v.requires_grad_()
    loss = x.sqrt().sum() + (v.reshape(2, 1) * 2).sum()
    loss.backward()
    g = draw_graph(loss, params={'x "quoted" \\ name': x}, show_grads=True, show_values=True, max_nodes=4)
    assert "<svg" in render(g, tmp_path / "g.svg").read_text()


def test_missing_dot_gives_one_clear_error(tmp_path, monkeypatch) -> None:
    a = leaf(2)
    g = draw_graph((a * 2).sum())
    source = g.source  # building the DOT text needs no executable
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(GraphvizNotFoundError, match="apt-get install graphviz") as info:
        render(g, tmp_path / "out.svg")
    message = str(info.value)
    for hint in ("brew install graphviz", "conda install graphviz", "winget install graphviz", "PATH"):
        assert hint in message
    assert isinstance(info.value, RuntimeError)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert not list(tmp_path.glob("out*"))  # nothing half-written
    with pytest.raises(GraphvizNotFoundError, match="apt-get install graphviz"):
        g.pipe(format="svg")
    with pytest.raises(GraphvizNotFoundError, match="apt-get install graphviz"):
        g.render(tmp_path / "direct", format="svg")
    # Jupyter's display hook shows the message instead of raising
    bundle = g._repr_mimebundle_()
    assert list(bundle) == ["text/plain"] and "apt-get install graphviz" in bundle["text/plain"]
    assert g.source == source


def test_ipython_display_shows_the_install_hint_without_dot(tmp_path, monkeypatch) -> None:
    formatters = pytest.importorskip("IPython.core.formatters")
    g = draw_graph((leaf(2) * 2).sum())
    if HAS_DOT:
        shown, _ = formatters.DisplayFormatter().format(g)
        assert "<svg" in shown["image/svg+xml"]
    monkeypatch.setenv("PATH", str(tmp_path))
    shown, _ = formatters.DisplayFormatter().format(g)
    assert list(shown) == ["text/plain"] and "apt-get install graphviz" in shown["text/plain"]


def test_render_helper_translates_plain_digraphs_too(tmp_path, monkeypatch) -> None:
    import graphviz

    plain = graphviz.Digraph()
    plain.node("a")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(GraphvizNotFoundError, match="apt-get install graphviz"):
        render(plain, tmp_path / "plain.svg")
    # code written against the graphviz package keeps catching it
    with pytest.raises(graphviz.ExecutableNotFound):
        render(plain, tmp_path / "plain.svg")


def test_install_hint_is_public() -> None:
    assert "apt-get install graphviz" in viz.INSTALL_HINT
