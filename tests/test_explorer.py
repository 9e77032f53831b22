"""The backward explorer: viz.trace_backward records what the engine did, step by step, and
trace.to_html writes a self-contained page that steps through it. (The page in a real browser:
test_explorer_browser.py.)"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import tinygrad_ko as torch
import tinygrad_ko.nn.functional as F
from tinygrad_ko import nn, viz
from tinygrad_ko.__main__ import main


def page_data(html: str) -> dict:
    m = re.search(r'<script type="application/json" class="tgx-data">(.*?)</script>', html, re.S)
    assert m, "the page carries its steps as inline JSON"
    return json.loads(m[1].replace("<\\/", "</"))


def hooked(*tensors):
    """Register a hook on each tensor; returns the list the hooks append (name, grad) to, in firing order."""
    fired = []
    for name, t in tensors:
        t.register_hook(lambda g, name=name: fired.append((name, g.numpy().copy())))
    return fired


# ---- the trace -------------------------------------------------------------------------------------
def test_x_times_y_plus_z_by_hand():
    x, y, z = (torch.tensor(v, requires_grad=True) for v in (2.0, 3.0, 4.0))
    L = x * y + z
    trace = viz.trace_backward(L, params={"x": x, "y": y, "z": z})
    kinds = [(s.kind, s.name, trace.nodes[s.node].name) for s in trace.steps]
    assert kinds == [
        ("seed", "seed", "AddBackward"),
        ("node", "AddBackward", "AddBackward"),
        ("node", "MulBackward", "MulBackward"),
        ("leaf", "AccumulateGrad", "z"),
        ("leaf", "AccumulateGrad", "x"),
        ("leaf", "AccumulateGrad", "y"),
    ]
    add, mul = trace.steps[1], trace.steps[2]
    assert add.grad.values.item() == 1.0
    assert [(trace.nodes[s.target].name, s.input, s.grad.values.item()) for s in add.sent] == [
        ("MulBackward", 0, 1.0),
        ("z", 1, 1.0),
    ]
    # MulBackward: incoming gradient x the other input: x gets 1*y = 3, y gets 1*x = 2
    assert [(trace.nodes[s.target].name, s.grad.values.item()) for s in mul.sent] == [("x", 3.0), ("y", 2.0)]
    assert (x.grad.item(), y.grad.item(), z.grad.item()) == (3.0, 2.0, 1.0)
    assert not any(s.accumulated for s in trace.steps)
    assert "MulBackward: got 1.; -> x[0] 3.; -> y[1] 2." in str(trace)


def test_order_is_the_engines_and_gradients_equal_the_hooks():
    torch.manual_seed(0)
    a = torch.randn(3, requires_grad=True)
    b = torch.randn(3, requires_grad=True)
    c = a * b
    d = c.exp()
    e = c * 2.0
    f = d + e
    L = f.sum()
    fired = hooked(("c", c), ("d", d), ("e", e), ("f", f), ("a", a), ("b", b))
    trace = viz.trace_backward(L, params={"a": a, "b": b})
    # tensor hooks run as the engine reaches each node (leaves last), so their order is the engine's
    ran = [s for s in trace.steps if s.kind != "seed" and trace.nodes[s.node].name != "SumBackward"]
    names = {id(c.grad_fn): "c", id(d.grad_fn): "d", id(e.grad_fn): "e", id(f.grad_fn): "f"}
    walk = {n.index: n for n in trace.nodes}
    order = []
    for s in ran:
        if s.kind == "leaf":
            order.append(walk[s.node].name)
        else:
            order.append(next(v for k, v in names.items() if trace._draw.ids[k] == s.node))
    assert order == [name for name, _ in fired]
    for s, (_, g) in zip(ran, fired):
        np.testing.assert_array_equal(s.grad.values, g)
    np.testing.assert_array_equal(trace.grad_at(trace._draw.ids[id(a)]).values, a.grad.numpy())


def _diamond():
    a = torch.tensor([1.0, -2.0], requires_grad=True)
    b = a * 3.0  # b feeds two branches: a diamond
    c = b + 1.0
    d = b * b  # and b * b uses b twice within one op
    return a, b, (c * d).sum()


def test_accumulation_points_show_each_contribution_and_the_sum():
    # a + a: two contributions into the leaf
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    trace = viz.trace_backward((a + a).sum(), params={"a": a})
    leaf = trace.steps[-1]
    assert leaf.kind == "leaf" and leaf.accumulated
    assert [p.values.tolist() for _, p in leaf.parts] == [[1.0, 1.0], [1.0, 1.0]]
    assert leaf.grad.values.tolist() == [2.0, 2.0] == a.grad.tolist()
    assert [trace.steps[src].name for src, _ in leaf.parts] == ["AddBackward", "AddBackward"]
    assert [r.values.tolist() for r in leaf.running] == [[1.0, 1.0], [2.0, 2.0]]

    # x * x
    x = torch.tensor(3.0, requires_grad=True)
    trace = viz.trace_backward(x * x, params={"x": x})
    assert [p.values.item() for _, p in trace.steps[-1].parts] == [3.0, 3.0] and x.grad.item() == 6.0

    # a diamond: b's gradient arrives from c (d/db of c*d = d = b^2) and twice from d = b*b (c*b each)
    a, b, L = _diamond()
    fired = hooked(("b", b))
    trace = viz.trace_backward(L, params={"a": a})
    b_step = next(s for s in trace.steps if s.accumulated and s.kind == "node")
    assert b_step.name == "MulBackward" and len(b_step.parts) == 3
    bv = np.array([3.0, -6.0], dtype=np.float32)
    c_v = bv + 1
    # d = b*b was recorded last, so it runs first and sends c*b twice (one per input); then c sends b*b
    expected = [c_v * bv, c_v * bv, bv * bv]
    assert [trace.steps[src].name for src, _ in b_step.parts] == ["MulBackward", "MulBackward", "AddBackward"]
    for (_, part), want in zip(b_step.parts, expected):
        np.testing.assert_allclose(part.values, want)
    np.testing.assert_allclose(b_step.grad.values, fired[0][1])
    np.testing.assert_allclose(b_step.running[-1].values, b_step.grad.values)
    np.testing.assert_allclose(a.grad.numpy(), fired[0][1] * 3.0)


def test_a_parameter_used_twice():
    torch.manual_seed(1)
    W = torch.randn(2, 2, requires_grad=True)
    x = torch.randn(1, 2)
    out = ((x @ W).relu() @ W).sum()
    trace = viz.trace_backward(out, params={"W": W})
    leaf = trace.steps[-1]
    assert trace.nodes[leaf.node].name == "W" and leaf.accumulated and len(leaf.parts) == 2
    np.testing.assert_allclose(sum(p.values for _, p in leaf.parts), W.grad.numpy(), rtol=1e-6)


def test_same_grads_as_backward_bit_for_bit_and_grad_accumulates():
    def run(use_trace: bool):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
        x, y = torch.randn(4, 6), torch.tensor([0, 2, 1, 2])
        for _ in range(2):  # twice: the second backward adds into .grad
            loss = F.cross_entropy(model(x), y)
            trace = viz.trace_backward(loss, params=model) if use_trace else loss.backward()
        return model, trace

    plain, _ = run(False)
    traced, trace = run(True)
    for (name, p), (_, q) in zip(plain.named_parameters(), traced.named_parameters()):
        assert np.array_equal(p.grad.numpy(), q.grad.numpy()), name
    leaf = next(s for s in trace.steps if s.kind == "leaf" and trace.nodes[s.node].name == "2.bias")
    assert leaf.grad_before is not None
    np.testing.assert_allclose(leaf.grad_before.values + leaf.grad.values, leaf.grad_after.values, rtol=1e-6)
    np.testing.assert_allclose(leaf.grad_after.values, traced[2].bias.grad.numpy(), rtol=1e-6)


def test_mlp_loss_of_notebook_06_and_the_bias_gradient_is_the_column_sum():
    torch.manual_seed(0)
    W1, b1 = (torch.rand(784, 16) * 0.1).requires_grad_(), torch.zeros(16).requires_grad_()
    W2, b2 = (torch.rand(16, 10) * 0.1).requires_grad_(), torch.zeros(10).requires_grad_()
    x = torch.rand(8, 784)
    labels = torch.tensor([3, 7, 1, 0, 9, 2, 5, 4])
    h_pre = x @ W1
    h = (h_pre + b1).relu()
    logits = h @ W2 + b2
    loss = F.cross_entropy(logits, labels)
    fired = hooked(("logits", logits), ("h", h), ("h_pre", h_pre))
    trace = viz.trace_backward(loss, params={"W1": W1, "b1": b1, "W2": W2, "b2": b2}, small=10**6)
    # every hook's gradient is the complete gradient the trace recorded at that tensor's node
    ids = trace._draw.ids
    for name, g in fired:
        t = {"logits": logits, "h": h, "h_pre": h_pre}[name]
        np.testing.assert_array_equal(trace.grad_at(ids[id(t.grad_fn)]).values, g)
    for name, p in {"W1": W1, "b1": b1, "W2": W2, "b2": b2}.items():
        np.testing.assert_array_equal(trace.grad_at(ids[id(p)]).values, p.grad.numpy(), err_msg=name)
    # the AddBackward of h_pre + b1 sends b1 the column sum of its incoming gradient (unbroadcast)
    add = next(s for s in trace.node_steps() if s.name == "AddBackward" and trace.nodes[s.sent[-1].target].name == "b1")
    np.testing.assert_allclose(add.sent[-1].grad.values, add.grad.values.sum(axis=0), rtol=1e-5)
    assert add.grad.shape == (8, 16) and add.sent[-1].grad.shape == (16,)

    # with the default small=10, large gradients keep a summary only, equal to .grad's statistics
    torch.manual_seed(0)
    W = (torch.rand(784, 16) * 0.1).requires_grad_()
    loss = F.cross_entropy((torch.rand(8, 784) @ W), labels % 16)
    trace = viz.trace_backward(loss, params={"W": W})
    info = trace.steps[-1].grad
    g = W.grad.numpy().astype(np.float64)
    assert info.values is None and info.shape == (784, 16) and sum(info.hist) == g.size
    assert info.mean == pytest.approx(g.mean()) and (info.min, info.max) == (g.min(), g.max())


def test_the_trace_keeps_no_large_array_and_releases_the_graph():
    torch.manual_seed(0)
    W = torch.randn(300, 300, requires_grad=True)
    h = torch.randn(4, 300) @ W
    loss = (h * h).mean()
    node = loss.grad_fn
    trace = viz.trace_backward(loss, params={"W": W})
    infos = [s.grad for s in trace.steps] + [x.grad for s in trace.steps for x in s.sent]
    infos += [p for s in trace.steps for _, p in s.parts] + [r for s in trace.steps for r in s.running]
    assert all(i.values is None or i.values.size <= viz.graph.SMALL_TENSOR for i in infos)
    assert node._saved is None  # released, as backward() releases it
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()


def test_nan_and_inf_gradients_are_flagged():
    x = torch.tensor([0.0, 1.0, 4.0], requires_grad=True)
    y = torch.where(x > 0, x.sqrt(), 0.0).sum()
    with np.errstate(all="ignore"):
        trace = viz.trace_backward(y, params={"x": x})
    sqrt = next(s for s in trace.steps if s.name == "SqrtBackward")
    assert sqrt.sent[0].grad.bad and sqrt.sent[0].grad.n_nan == 1
    assert "nan:1" in sqrt.sent[0].grad.text()
    data = page_data(trace.html(layout="python"))
    leaf_changes = [c for s in data["steps"] for c in s["ch"] if c[2]]
    assert leaf_changes, "a NaN gradient is marked bad (red) on the page"


def test_bad_arguments():
    a = torch.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        viz.trace_backward(a * 2)
    with pytest.raises(TypeError, match="expects Tensors"):
        viz.trace_backward([1.0])
    with pytest.raises(TypeError, match="inputs= takes what viz.record_inputs"):
        viz.trace_backward((a * 2).sum(), inputs={"x": a})
    with pytest.raises(ValueError, match="small must be an integer >= 0"):
        viz.trace_backward((a * 2).sum(), small=-1)
    trace = viz.trace_backward((a * 2).sum())
    with pytest.raises(ValueError, match="layout must be one of"):
        trace.html(layout="neato")
    with pytest.raises(ValueError, match="max_nodes must be >= 1"):
        trace.html(max_nodes=0)


# ---- the page --------------------------------------------------------------------------------------
def test_page_is_self_contained_and_carries_every_step(tmp_path):
    a, b, L = _diamond()
    trace = viz.trace_backward(L, params={"a": a})
    path = trace.to_html(tmp_path / "diamond.html")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "<svg" in text
    # nothing to fetch: no external script, stylesheet, image, font or import (SVG namespaces are names)
    for pattern in (r"<script[^>]+src=", r"<link", r"@import", r"url\(", r"<img", r"<iframe", r"fetch\("):
        assert not re.search(pattern, text), pattern
    assert not re.findall(r"https?://(?!www\.w3\.org/)", text)
    data = page_data(text)
    assert len(data["steps"]) == len(trace)
    acc = [s for s in data["steps"] if "parts" in s]
    assert len(acc) == 1 and len(acc[0]["parts"]) == 3 and acc[0]["name"] == "MulBackward"
    assert "곱셈" in data["explain"]["MulBackward"] and "MulBackward" in data["explain"]
    # each step names the node to highlight by its DOT name, and the page has that node
    titles = set(re.findall(r"<title>(n\d+|out\d+|more)</title>", text))
    assert {s["n"] for s in data["steps"]} <= titles
    edge_titles = set(re.findall(r"<title>(\w+)&#45;&gt;(\w+)</title>", text))
    for s in data["steps"]:
        for e in s["e"]:
            assert tuple(e.split("->")) in edge_titles, e


def test_two_traces_on_one_page_do_not_collide():
    x = torch.tensor(2.0, requires_grad=True)
    one = viz.trace_backward(x * x)._repr_html_()
    y = torch.tensor(2.0, requires_grad=True)
    two = viz.trace_backward(y * 3)._repr_html_()
    assert "<html" not in one and "<script>" in one
    ids_one = set(re.findall(r'\bid="([^"]+)"', one))
    ids_two = set(re.findall(r'\bid="([^"]+)"', two))
    assert ids_one and ids_two and not ids_one & ids_two


def test_without_dot_the_page_uses_the_python_layout(tmp_path, monkeypatch):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    loss = F.cross_entropy(model(torch.randn(2, 4)), torch.tensor([0, 1]))
    trace = viz.trace_backward(loss, params=model)
    empty = tmp_path / "no-programs"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # no dot anywhere
    text = trace.to_html(tmp_path / "p.html").read_text()
    assert 'data-layout="python"' in text
    data = page_data(text)
    nodes = re.findall(r'<g class="node"><title>(\w+)</title>', text)
    assert len(nodes) == len(set(nodes)) and {s["n"] for s in data["steps"]} <= set(nodes)
    assert len(re.findall(r'<g class="edge">', text)) >= len(trace.nodes) - 1
    # every node's gradient line has room: the label reserves the longest text it will show
    assert text.count(">∇ ") == sum(1 for n in nodes if any(c[0] == n for s in data["steps"] for c in s["ch"]))
    with pytest.raises(viz.GraphvizNotFoundError):
        trace.html(layout="dot")


def test_python_layout_puts_inputs_above_and_nothing_overlaps():
    from tinygrad_ko.viz.layout import layered_svg

    body = [
        '\tn0 [label="AddBackward\\n()" shape=box style="rounded,filled" fillcolor=lightgrey]\n',
        '\tn1 [label="a" shape=box style=filled fillcolor=lightblue]\n',
        '\tn2 [label="MulBackward\\nwith a \\"quote\\"" shape=box]\n',
        "\tn1 -> n0\n",
        "\tn2 -> n0\n",
        "\tn1 -> n2\n",
    ]
    svg = layered_svg(body)
    rects = {
        t: tuple(map(float, r))
        for t, *r in re.findall(
            r'<title>(\w+)</title>\n<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"', svg
        )
    }
    assert set(rects) == {"n0", "n1", "n2"} and 'with a "quote"' in svg.replace("&quot;", '"')
    assert rects["n1"][1] < rects["n2"][1] < rects["n0"][1]  # a -> Mul -> Add, top to bottom
    boxes = list(rects.values())
    for i, (x1, y1, w1, h1) in enumerate(boxes):
        for x2, y2, w2, h2 in boxes[i + 1 :]:
            assert x1 + w1 <= x2 or x2 + w2 <= x1 or y1 + h1 <= y2 or y2 + h2 <= y1


def test_a_2000_node_graph_gives_a_page_of_a_few_mb(tmp_path):
    x = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    y = x
    for _ in range(1000):
        y = y * 1.01 + 0.1
    trace = viz.trace_backward(y.sum(), params={"x": x})
    assert len(trace.nodes) == 2002 and len(trace) == 2003
    path = trace.to_html(tmp_path / "big.html", layout="python")  # max_nodes=300 by default
    size = path.stat().st_size
    assert size < 3_000_000, size
    text = path.read_text()
    # 300 nodes, the "... more" node and the output box
    assert "... 1702 more" in text and len(re.findall(r'<g class="node">', text)) == 302
    data = page_data(text)
    # stepping touches only what changed: at most a few gradient texts and edges per step
    assert max(len(s["ch"]) for s in data["steps"]) <= 1 and max(len(s["e"]) for s in data["steps"]) <= 1
    assert sum(1 for s in data["steps"] if s.get("hidden")) == 2002 - 300  # one step per hidden node


# ---- the command line ------------------------------------------------------------------------------
def run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("model, names", [("mlp", {"LinearBackward", "ReluBackward"}), ("linear", {"LinearBackward"})])
def test_cli_animate_writes_the_page(capsys, tmp_path, model, names):
    code, out, err = run(capsys, "graph", "--model", model, "--animate", str(tmp_path / "bp.html"))
    assert code == 0, err
    assert out.startswith(f"backward explorer written to {tmp_path / 'bp.html'} (")
    assert list(tmp_path.iterdir()) == [tmp_path / "bp.html"]  # --animate alone writes no graph.svg
    data = page_data((tmp_path / "bp.html").read_text())
    assert names | {"CrossEntropyBackward", "AccumulateGrad"} == {s["name"] for s in data["steps"]} - {"seed"}
    text = (tmp_path / "bp.html").read_text()
    assert "input batch" in text and "targets" in text and "1.weight" in text


def test_cli_animate_cnn_and_out_together(capsys, tmp_path):
    code, out, err = run(
        capsys, "graph", "--model", "cnn", "--animate", str(tmp_path / "cnn"), "--out", str(tmp_path / "g.dot")
    )
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cnn.html", "g.dot"]
    names = {s["name"] for s in page_data((tmp_path / "cnn.html").read_text())["steps"]}
    assert {"ConvolutionBackward", "MaxPool2DWithIndicesBackward"} <= names


def test_cli_animate_errors_are_one_line(capsys, tmp_path, monkeypatch):
    for args, fragment in [
        (["--animate", str(tmp_path / "x.svg")], "the backward explorer is an HTML page"),
        (["--animate", str(tmp_path)], "is a directory"),
        (["--animate", str(tmp_path / "a.html"), "--out", str(tmp_path / "g.txt")], "unknown graph format"),
    ]:
        code, out, err = run(capsys, "graph", *args)
        assert code == 2 and "Traceback" not in err and out == ""
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], err
    assert list(tmp_path.iterdir()) == []
    # without Graphviz the page still works (the Python layout); only --out .svg needs dot
    monkeypatch.setattr(shutil, "which", lambda *a, **k: None)
    code, _, err = run(capsys, "graph", "--animate", str(tmp_path / "p.html"))
    assert code == 0, err and 'data-layout="python"' in (tmp_path / "p.html").read_text()


def test_explorer_modules_do_not_import_heavy_things():
    # the page builder is pure Python + graphviz's DOT text: no browser, no network client
    for mod in ("explorer", "page", "layout"):
        src = (Path(viz.__file__).parent / f"{mod}.py").read_text()
        assert not re.search(r"^\s*(import|from)\s+(urllib|http|requests|socket|subprocess)", src, re.M), mod
