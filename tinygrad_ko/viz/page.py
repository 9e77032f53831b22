"""The explorer page: the traced graph as inline SVG, the steps as inline JSON, a small script.

Layout: Graphviz's ``dot -Tsvg`` once, on the DOT text ``draw_graph`` writes for the same graph
(parameter names, module clusters, inputs, ``max_nodes`` folding); each node's label has one more
line, ``∇ ...``, sized for the longest gradient text it will show. Without ``dot`` the built-in
layered layout (layout.py) writes an SVG of the same shape.

Stepping never redraws the SVG: step k lists what changes (the running node, the edges its
gradients travel, the gradient text of each node that received one), so moving one step touches
only those elements, and moving back undoes them. Everything lives under one element with a
unique id, so two traces shown on one Jupyter page do not collide.
"""

from __future__ import annotations

import json
import re
import shutil
from typing import TYPE_CHECKING, Any

import graphviz

from .graph import draw_graph
from .layout import layered_svg

if TYPE_CHECKING:
    from .explorer import BackwardTrace

LAYOUTS = ("auto", "dot", "python")
GRAD_MARK = "∇ "

# What each backward does, in Korean, with the English op name first. {n}: the op's name.
EXPLAIN: dict[str, str] = {
    "AddBackward": "덧셈 z = x + y: 들어온 기울기를 두 입력에 그대로 나눠 줍니다 (∂z/∂x = ∂z/∂y = 1). "
    "브로드캐스트된 입력(편향 b 등)에는 늘어난 축을 따라 합친 값(unbroadcast)이 갑니다.",
    "SubBackward": "뺄셈 z = x − y: x 쪽에는 들어온 기울기 그대로, y 쪽에는 부호를 바꾼 −g를 보냅니다.",
    "RsubBackward": "뺄셈 z = c − x: x 쪽으로 부호를 바꾼 −g를 보냅니다.",
    "MulBackward": "곱셈 z = x · y: 들어온 기울기 × 다른 입력. x 쪽으로 g · y, y 쪽으로 g · x를 보냅니다.",
    "DivBackward": "나눗셈 z = x / y: x 쪽으로 g / y, y 쪽으로 −g · x / y²를 보냅니다.",
    "PowBackward": "거듭제곱 z = xᵖ: x 쪽으로 들어온 기울기 × p · xᵖ⁻¹을 보냅니다.",
    "NegBackward": "부호 바꾸기 z = −x: −g를 보냅니다.",
    "ExpBackward": "지수 z = eˣ: 들어온 기울기 × eˣ (순전파 결과 z를 다시 씁니다).",
    "LogBackward": "로그 z = log x: 들어온 기울기 ÷ x.",
    "SqrtBackward": "제곱근 z = √x: 들어온 기울기 ÷ (2√x).",
    "SigmoidBackward": "시그모이드 z = σ(x): 들어온 기울기 × z · (1 − z).",
    "TanhBackward": "tanh z = tanh x: 들어온 기울기 × (1 − z²).",
    "ReluBackward": "ReLU z = max(x, 0): 순전파에서 양수였던 자리만 기울기를 통과시키고, 나머지 자리는 0으로 막습니다.",
    "AbsBackward": "절댓값 z = |x|: 들어온 기울기 × sign(x).",
    "ClampBackward": "clamp: 범위 안에 있던 자리만 기울기를 통과시킵니다.",
    "MatmulBackward": "행렬곱 Z = X @ W: X 쪽으로 G @ Wᵀ, W 쪽으로 Xᵀ @ G를 보냅니다 (G: 들어온 기울기).",
    "LinearBackward": "선형층 y = x @ Wᵀ + b (nn.Linear, 합친 연산): x 쪽으로 G @ W, W 쪽으로 Gᵀ @ x, "
    "b 쪽으로 G를 배치 축으로 합한 값(열 합)을 보냅니다 (G: 들어온 기울기).",
    "SumBackward": "합 z = Σx: 모든 원소가 결과에 1씩 기여하므로, 들어온 기울기를 입력 모양으로 펼쳐 복사합니다.",
    "MeanBackward": "평균 z = Σx / N: 들어온 기울기를 입력 모양으로 펼치고 원소 개수 N으로 나눕니다 (g / N).",
    "CrossEntropyBackward": "교차 엔트로피 (log-softmax + NLL을 합친 연산): 로짓 쪽으로 "
    "(softmax(로짓) − 원-핫 정답) ÷ 배치 크기 × g를 보냅니다.",
    "LogSoftmaxBackward": "log-softmax: 들어온 기울기 G에서 softmax × (G의 행 합)을 뺍니다.",
    "SoftmaxBackward": "softmax z: z ⊙ (G − (G ⊙ z)의 행 합)을 보냅니다.",
    "NLLLossBackward": "NLL 손실: 정답 클래스 자리에만 −g (평균이면 ÷ 배치 크기)를 놓습니다.",
    "ReshapeBackward": "모양 바꾸기 (reshape / view / flatten): 값은 그대로, 기울기를 입력의 모양으로 되돌립니다.",
    "ViewBackward": "view: 값은 그대로, 기울기를 입력의 모양으로 되돌립니다.",
    "PermuteBackward": "축 바꾸기 (transpose / permute / .t()): 기울기의 축을 거꾸로 바꿔 돌려줍니다.",
    "ExpandBackward": "expand (브로드캐스트): 늘어난 축을 따라 기울기를 합칩니다.",
    "GetItemBackward": "인덱싱 x[...] (view): 입력 모양의 0 텐서를 만들고, 골랐던 자리에만 기울기를 놓습니다.",
    "GetItemCopyBackward": "고급 인덱싱 x[idx]: 입력 모양의 0 텐서를 만들고, 골랐던 자리에 기울기를 더해 놓습니다.",
    "SetItemBackward": "제자리 대입 x[...] = v: 덮어쓴 자리의 기울기는 v 쪽으로, 나머지는 x 쪽으로 갑니다.",
    "CatBackward": "이어 붙이기 (cat): 기울기를 입력마다 제 몫으로 잘라 돌려줍니다.",
    "WhereBackward": "where(c, x, y): 조건이 참인 자리의 기울기는 x로, 거짓인 자리는 y로 보냅니다.",
    "MaximumBackward": "maximum: 더 컸던 입력 쪽으로 기울기를 보냅니다.",
    "AmaxBackward": "amax / max: 최댓값이었던 자리로만 기울기를 보냅니다.",
    "MaxDimBackward": "max(dim): 최댓값이었던 자리로만 기울기를 보냅니다.",
    "ConvolutionBackward": "합성곱: 입력 쪽으로 기울기를 필터로 되돌려 펼치고(전치 합성곱), 필터 쪽으로 입력 패치와 "
    "기울기의 곱을 합하고, 편향 쪽으로 기울기를 채널별로 합칩니다.",
    "MaxPool2DWithIndicesBackward": "최댓값 풀링: 각 창에서 최댓값이었던 자리로만 기울기를 보냅니다.",
    "AvgPool2DBackward": "평균 풀링: 기울기를 창 크기로 나눠 창의 모든 자리에 고르게 보냅니다.",
    "NativeBatchNormBackward": "배치 정규화: 평균과 분산을 거쳐 간 경로까지 연쇄 법칙으로 합쳐 입력·γ·β 쪽으로 보냅니다.",
    "CopyBackward": "복사 (clone / to): 기울기를 그대로 돌려줍니다.",
    "CastBackward": "형 변환: 기울기를 입력의 dtype으로 바꿔 돌려줍니다.",
}
GENERIC = "들어온 기울기에 이 연산의 국소 미분을 곱해(연쇄 법칙) 입력마다 기울기를 보냅니다."
TEXTS = {
    "seed": "시작: 출력 {who}의 기울기 ∂L/∂L = {g}에서 출발합니다 (backward()는 스칼라 출력에 1을 넣습니다).",
    "leaf": "AccumulateGrad: 잎 텐서 {who}에 도착한 기울기를 .grad에 더합니다. 엔진은 모든 노드를 다 돈 뒤에 잎에 쌓습니다.",
    "acc": "기울기가 {k}개의 경로에서 왔으므로 먼저 더합니다 (다변수 연쇄 법칙: 경로마다의 기여를 합함).",
    "first": "이 잎의 .grad는 비어 있었으므로 .grad = g가 됩니다.",
    "again": ".grad에 이미 값이 있었으므로 더합니다 (zero_grad()를 하지 않으면 기울기가 쌓입니다).",
    "hidden": "(이 노드는 그림에서 '... more nodes'로 접혀 있습니다.)",
}


def build_html(trace: BackwardTrace, max_nodes: int | None, layout: str, full_page: bool, uid: str) -> str:
    if layout not in LAYOUTS:
        raise ValueError(f"to_html: layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    if max_nodes is not None and max_nodes < 1:
        raise ValueError(f"to_html: max_nodes must be >= 1 or None, got {max_nodes}")
    draw = trace._draw
    assert draw is not None
    n_nodes = len(trace.nodes)
    n_visible = n_nodes if max_nodes is None else min(max_nodes, n_nodes)
    n_visible = max(n_visible, len({s.node for s in trace.steps if s.kind == "seed"}))

    def dot_id(i: int) -> str:
        return f"n{i}" if i < n_visible else "more"

    # what each step changes on the graph: (node, the gradient text it now shows, NaN/inf)
    changes: list[list[list[Any]]] = []
    shown: dict[int, list[str]] = {}  # node -> every text it shows (the label reserves the longest)
    seen: dict[int, int] = {}  # node -> contributions received so far
    arrival = {s.node: s for s in trace.steps if s.kind in ("node", "leaf")}
    seed_steps = {s.node: s for s in trace.steps if s.kind == "seed"}

    def running_text(target: int) -> tuple[str, bool]:
        k = seen[target] = seen.get(target, 0) + 1
        st = arrival.get(target) or seed_steps[target]
        info = st.running[k - 1] if st.running and k <= len(st.running) else st.grad
        return info.text(), info.bad

    for s in trace.steps:
        ch: list[list[Any]] = []
        for sent in s.sent:
            text, bad = running_text(sent.target)
            if sent.target < n_visible:
                ch.append([dot_id(sent.target), text, int(bad)])
                shown.setdefault(sent.target, []).append(text)
        if s.kind == "leaf" and s.grad_before is not None and s.node < n_visible:
            after = s.grad_after or s.grad
            ch.append([dot_id(s.node), ".grad " + after.text(), int(after.bad)])
            shown.setdefault(s.node, []).append(".grad " + after.text())
        changes.append(ch)

    ids = {i: oid for oid, i in draw.ids.items()}
    extra = {ids[i]: [GRAD_MARK + max(texts, key=len)] for i, texts in shown.items() if i in ids}
    names = draw.params
    graph = draw_graph(
        *draw.outs,
        params=names,
        inputs=draw.inputs,
        max_nodes=n_visible,
        cluster_modules=names is not None,
        _extra_lines=extra,
    )
    svg, used = _svg(graph, layout)
    svg = _scoped_svg(svg, uid)

    steps = []
    for s, ch in zip(trace.steps, changes):
        node = trace.nodes[s.node]
        here = dot_id(s.node)
        edges: list[str] = []
        if s.kind == "node" and s.node < n_visible:
            for sent in s.sent:
                edges.append(f"{dot_id(sent.target)}->{here}")
        elif s.kind == "seed":
            edges += [f"{here}->out{j}" for j in range(len(draw.outs))]
        row: dict[str, Any] = {
            "k": s.kind,
            "n": here,
            "name": s.name,
            "who": node.name,
            "shape": list(node.shape),
            "g": s.grad.to_json(),
            "e": edges,
            "ch": ch,
        }
        if s.accumulated:
            row["parts"] = [[src, trace.steps[src].name, p.to_json()] for src, p in s.parts]
        if s.sent and s.kind == "node":
            row["sent"] = [[x.input, trace.nodes[x.target].name, x.grad.to_json()] for x in s.sent]
        if s.kind == "leaf":
            row["before"] = None if s.grad_before is None else s.grad_before.to_json()
            row["after"] = (s.grad_after or s.grad).to_json()
        if s.node >= n_visible:
            row["hidden"] = 1
        steps.append(row)
    used_names = {s.name for s in trace.steps}
    data = {
        "steps": steps,
        "explain": {n: EXPLAIN[n] for n in used_names if n in EXPLAIN},
        "generic": GENERIC,
        "texts": TEXTS,
        "layout": used,
        "nodes": n_nodes,
        "visible": n_visible,
    }
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    root = f"tgx-{uid}"
    body = (
        f'<div class="tgx" id="{root}" data-layout="{used}">'
        f"<style>{_CSS.replace('#ROOT', '#' + root)}</style>"
        '<div class="tgx-bar">'
        '<button type="button" data-act="first" title="처음 (first)">|◀</button>'
        '<button type="button" data-act="prev" title="이전 (previous, ←)">◀</button>'
        '<button type="button" data-act="play" title="재생 (play)">▶ play</button>'
        '<button type="button" data-act="next" title="다음 (next, →)">▶</button>'
        '<button type="button" data-act="last" title="끝 (last)">▶|</button>'
        f'<input type="range" min="0" max="{len(steps) - 1}" value="0" aria-label="step">'
        '<span class="tgx-count"></span>'
        '<button type="button" data-act="fit" title="화면에 맞춤 / 원래 크기 (fit / 1:1)">fit ⇔ 1:1</button></div>'
        '<div class="tgx-main">'
        f'<div class="tgx-graph">{svg}</div>'
        '<div class="tgx-panel" aria-live="polite"></div></div>'
        f'<script type="application/json" class="tgx-data">{payload}</script>'
        f"<script>{_JS.replace('ROOT_ID', root)}</script></div>"
    )
    if not full_page:
        return body
    return (
        '<!DOCTYPE html>\n<html lang="ko"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>tinygrad_ko backward explorer</title>"
        "<style>body{margin:0;padding:8px;font-family:Helvetica,Arial,sans-serif}</style>"
        f"</head><body>{body}</body></html>\n"
    )


def _svg(graph: graphviz.Digraph, layout: str) -> tuple[str, str]:
    """(SVG text, "dot" or "python")."""
    if layout != "python" and (layout == "dot" or shutil.which("dot") is not None):
        try:
            return graph.pipe(format="svg").decode("utf-8"), "dot"
        except graphviz.ExecutableNotFound:
            if layout == "dot":
                from .graph import GraphvizNotFoundError

                raise GraphvizNotFoundError() from None
    return layered_svg(graph.body), "python"


def _scoped_svg(svg: str, uid: str) -> str:
    """Graphviz's SVG without its XML prolog and comments, and with ids unique to this page part."""
    svg = svg[svg.find("<svg") :]
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    return re.sub(r'\bid="([^"]*)"', lambda m: f'id="{uid}-{m[1]}"', svg)


_CSS = """
#ROOT{font-family:Helvetica,Arial,"Noto Sans CJK KR","NanumGothic","Malgun Gothic","Apple SD Gothic Neo",sans-serif;font-size:13px;color:#222}
#ROOT .tgx-bar{display:flex;align-items:center;gap:6px;margin-bottom:6px;flex-wrap:wrap}
#ROOT .tgx-bar button{font-size:14px;min-width:34px;padding:2px 6px;cursor:pointer}
#ROOT .tgx-bar input[type=range]{flex:1;min-width:160px}
#ROOT .tgx-count{font-variant-numeric:tabular-nums;min-width:170px}
#ROOT .tgx-main{display:flex;gap:10px;align-items:flex-start}
#ROOT .tgx-graph{flex:1 1 auto;overflow:auto;max-height:86vh;border:1px solid #ddd;background:#fff}
#ROOT .tgx-graph svg{display:block;max-width:100%;height:auto}
#ROOT.tgx-full .tgx-graph svg{max-width:none}
#ROOT .tgx-panel{flex:0 0 360px;max-height:86vh;overflow:auto;border:1px solid #ddd;padding:8px 10px;
  background:#fafafa;line-height:1.45}
#ROOT .tgx-panel h3{margin:0 0 6px 0;font-size:15px}
#ROOT .tgx-panel h4{margin:10px 0 3px 0;font-size:13px;color:#555}
#ROOT .tgx-panel code{font-family:Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
#ROOT .tgx-panel .bad,#ROOT .tgx-panel .bad code{color:#d62728;font-weight:bold}
#ROOT .tgx-panel .en{color:#666}
#ROOT .tgx-panel .eq{margin:2px 0}
#ROOT .tgx-hist{display:inline-flex;align-items:flex-end;height:22px;gap:1px;vertical-align:middle;margin-left:6px}
#ROOT .tgx-hist span{display:inline-block;width:5px;background:#4c78a8}
#ROOT svg g.node.tgx-ran > path,#ROOT svg g.node.tgx-ran > polygon,#ROOT svg g.node.tgx-ran > rect{
  stroke:#1f77b4;stroke-width:2px}
#ROOT svg g.node.tgx-running > path,#ROOT svg g.node.tgx-running > polygon,#ROOT svg g.node.tgx-running > rect{
  stroke:#d62728;stroke-width:4px}
#ROOT svg g.edge.tgx-done path{stroke:#ff7f0e;stroke-width:2.5px}
#ROOT svg g.edge.tgx-done polygon{stroke:#ff7f0e;fill:#ff7f0e}
#ROOT svg g.edge.tgx-now path{stroke:#d62728;stroke-width:3px}
#ROOT svg g.edge.tgx-now polygon{stroke:#d62728;fill:#d62728}
#ROOT svg text.tgx-grad{fill:#08519c;font-weight:bold}
#ROOT svg text.tgx-bad{fill:#d62728}
"""

_JS = r"""
(function () {
  "use strict";
  // Jupyter may run this before or after the output is in the document: find the root either way
  var me = document.currentScript;
  function find() {
    if (me && me.parentNode && me.parentNode.id === "ROOT_ID") return me.parentNode;
    return document.getElementById("ROOT_ID");
  }
  var found = find();
  if (found) start(found);
  else {
    var tries = 0, wait = setInterval(function () {
      var r = find(); if (r || ++tries > 200) { clearInterval(wait); if (r) start(r); }
    }, 50);
  }
function start(root) {
  if (root.getAttribute("data-ready")) return;
  var errors = [];
  window.addEventListener("error", function (ev) {
    errors.push(String(ev.message)); root.setAttribute("data-errors", errors.join(" | "));
  });
  var D = JSON.parse(root.querySelector("script.tgx-data").textContent);
  var S = D.steps, N = S.length;
  var svg = root.querySelector(".tgx-graph svg");
  var panel = root.querySelector(".tgx-panel"), slider = root.querySelector("input[type=range]");
  var count = root.querySelector(".tgx-count"), playBtn = root.querySelector("[data-act=play]");
  var nodeEl = {}, gradEl = {}, edgeEl = {};
  svg.querySelectorAll("g.node").forEach(function (g) {
    var t = g.querySelector("title"); if (!t) return;
    var id = t.textContent; nodeEl[id] = g;
    g.querySelectorAll("text").forEach(function (tx) {
      if (tx.textContent.indexOf("\u2207") === 0) { gradEl[id] = tx; tx.textContent = ""; tx.classList.add("tgx-grad"); }
    });
  });
  svg.querySelectorAll("g.edge").forEach(function (g) {
    var t = g.querySelector("title"); if (!t) return;
    (edgeEl[t.textContent] = edgeEl[t.textContent] || []).push(g);
  });
  var counts = new Map();
  function mark(el, cls, d) {
    var key = cls, m = counts.get(el); if (!m) { m = {}; counts.set(el, m); }
    m[key] = (m[key] || 0) + d; el.classList.toggle(cls, m[key] > 0);
  }
  var history = {};
  function apply(k) {
    var s = S[k];
    s.ch.forEach(function (c) {
      var el = gradEl[c[0]]; if (!el) return;
      (history[c[0]] = history[c[0]] || []).push([el.textContent, el.classList.contains("tgx-bad")]);
      el.textContent = "\u2207 " + c[1]; el.classList.toggle("tgx-bad", !!c[2]);
    });
    s.e.forEach(function (e) { (edgeEl[e] || []).forEach(function (g) { mark(g, "tgx-done", 1); }); });
    if (nodeEl[s.n]) mark(nodeEl[s.n], "tgx-ran", 1);
  }
  function undo(k) {
    var s = S[k];
    for (var i = s.ch.length - 1; i >= 0; i--) {
      var c = s.ch[i], el = gradEl[c[0]]; if (!el) continue;
      var prev = history[c[0]].pop(); el.textContent = prev[0]; el.classList.toggle("tgx-bad", prev[1]);
    }
    s.e.forEach(function (e) { (edgeEl[e] || []).forEach(function (g) { mark(g, "tgx-done", -1); }); });
    if (nodeEl[s.n]) mark(nodeEl[s.n], "tgx-ran", -1);
  }
  function esc(t) { return String(t).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;"); }
  function grad(g) {
    var bad = g.nan || g.inf, out = "<span class=\"" + (bad ? "bad" : "") + "\">";
    if (g.hist === undefined) out += "<code>" + esc(g.values !== undefined ? g.values : g.text) + "</code>";
    else {
      out += "<code>" + shp(g.shape) + "</code>";
      if (g.mean !== undefined) out += "<br>mean <code>" + g.mean + "</code>, min <code>" + g.min + "</code>, max <code>" + g.max + "</code>";
      if (g.hist) {
        var top = Math.max.apply(null, g.hist) || 1;
        out += "<span class=\"tgx-hist\" title=\"histogram\">" + g.hist.map(function (c) {
          return "<span style=\"height:" + (c ? Math.max(2, Math.round(22 * c / top)) : 0) + "px\"></span>";
        }).join("") + "</span>";
      }
    }
    if (bad) out += " NaN " + (g.nan || 0) + "개, inf " + (g.inf || 0) + "개";
    return out + "</span>";
  }
  function shp(a) { return "(" + a.join(", ") + (a.length === 1 ? ",)" : ")"); }
  function fill(t, who, g) { return t.replace("{who}", esc(who)).replace("{g}", g).replace("{k}", g); }
  function describe(k) {
    var s = S[k], h = "", T = D.texts;
    if (s.k === "seed") {
      h += "<h3>단계 " + k + ": seed <span class=\"en\">(" + esc(s.who) + ")</span></h3>";
      h += "<p>" + fill(T.seed, s.who, grad(s.g)) + "</p>";
      return h;
    }
    if (s.k === "leaf") {
      h += "<h3>단계 " + k + ": AccumulateGrad <span class=\"en\">(" + esc(s.who) + ".grad)</span></h3>";
      h += "<p>" + fill(T.leaf, s.who, "") + "</p>";
    } else {
      h += "<h3>단계 " + k + ": " + esc(s.name) + "</h3>";
      h += "<p><b>" + esc(s.name) + "</b>: " + esc(D.explain[s.name] || D.generic) + "</p>";
    }
    if (s.hidden) h += "<p class=\"en\">" + T.hidden + "</p>";
    h += "<h4>들어온 기울기 (incoming gradient) " + "<span class=\"en\">shape " + shp(s.shape) + "</span></h4>";
    if (s.parts) {
      h += "<p>" + T.acc.replace("{k}", s.parts.length) + "</p>";
      s.parts.forEach(function (p, i) {
        h += "<div class=\"eq\">g" + (i + 1) + " <span class=\"en\">(단계 " + p[0] + ", " + esc(p[1]) + ")</span> = " + grad(p[2]) + "</div>";
      });
      h += "<div class=\"eq\"><b>" + s.parts.map(function (_, i) { return "g" + (i + 1); }).join(" + ") + " = g</b> = " + grad(s.g) + "</div>";
    } else h += "<div class=\"eq\">g = " + grad(s.g) + "</div>";
    if (s.sent) {
      h += "<h4>보낸 기울기 (gradients sent to the inputs)</h4>";
      s.sent.forEach(function (x) {
        h += "<div class=\"eq\">→ 입력 " + x[0] + " <span class=\"en\">(" + esc(x[1]) + ")</span>: " + grad(x[2]) + "</div>";
      });
    }
    if (s.k === "leaf") {
      h += "<h4>.grad</h4>";
      if (s.before) h += "<p>" + T.again + "</p><div class=\"eq\">.grad = " + grad(s.before) + " + g = " + grad(s.after) + "</div>";
      else h += "<p>" + T.first + "</p><div class=\"eq\">.grad = " + grad(s.after) + "</div>";
    }
    return h;
  }
  var cur = -1, running = null, nowEdges = [], timer = null;
  function go(k) {
    k = Math.max(0, Math.min(N - 1, k | 0));
    while (cur < k) apply(++cur);
    while (cur > k) undo(cur--);
    if (running) running.classList.remove("tgx-running");
    nowEdges.forEach(function (g) { g.classList.remove("tgx-now"); });
    var s = S[k]; running = nodeEl[s.n] || null; nowEdges = [];
    if (running) running.classList.add("tgx-running");
    s.e.forEach(function (e) { (edgeEl[e] || []).forEach(function (g) { g.classList.add("tgx-now"); nowEdges.push(g); }); });
    slider.value = k; count.textContent = "단계 " + k + " / " + (N - 1) + " (step)";
    panel.innerHTML = describe(k);
    root.setAttribute("data-step", k); root.setAttribute("data-running", s.n);
    root.setAttribute("data-running-name", s.k === "leaf" ? "AccumulateGrad" : s.name);
    root.setAttribute("data-grad", s.g.text);
  }
  function stop() { if (timer) { clearInterval(timer); timer = null; playBtn.textContent = "\u25B6 play"; } }
  root.querySelector(".tgx-bar").addEventListener("click", function (ev) {
    var act = ev.target.getAttribute && ev.target.getAttribute("data-act"); if (!act) return;
    if (act === "fit") { root.classList.toggle("tgx-full"); return; }
    if (act === "play") {
      if (timer) { stop(); return; }
      if (cur >= N - 1) go(0);
      playBtn.textContent = "\u25A0 pause";
      timer = setInterval(function () { if (cur >= N - 1) stop(); else go(cur + 1); }, 700);
      return;
    }
    stop();
    go(act === "first" ? 0 : act === "last" ? N - 1 : act === "prev" ? cur - 1 : cur + 1);
  });
  slider.addEventListener("input", function () { stop(); go(parseInt(slider.value, 10)); });
  root.tabIndex = 0;
  root.addEventListener("keydown", function (ev) {
    if (ev.key === "ArrowRight") { stop(); go(cur + 1); ev.preventDefault(); }
    else if (ev.key === "ArrowLeft") { stop(); go(cur - 1); ev.preventDefault(); }
  });
  var q = null;
  try { q = new URLSearchParams(window.location.search).get("step"); } catch (e) { q = null; }
  function target(v, dflt) { return v === "last" ? N - 1 : v === null || isNaN(parseInt(v, 10)) ? dflt : parseInt(v, 10); }
  var from = null;
  try { from = new URLSearchParams(window.location.search).get("from"); } catch (e) { from = null; }
  if (from !== null) go(target(from, 0));  // ?from=j&step=k: arrive at k by stepping from j (tests the undo)
  go(target(q, 0));
  root.setAttribute("data-ready", "1");
}
})();
"""
