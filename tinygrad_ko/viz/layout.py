"""A small layered graph layout in pure Python, for when Graphviz's ``dot`` is not installed.

It reads the DOT text ``draw_graph`` writes (node statements with a label and a fill colour, and
``a -> b`` edges; clusters are ignored), puts each node on the layer of its longest path from a
source (inputs on top, as ``rankdir=TB``), orders each layer by the mean position of its
neighbours (a few barycentre sweeps), and writes an SVG shaped like Graphviz's own: one
``<g class="node">`` per node with a ``<title>`` holding its DOT name and one ``<text>`` per label
line, and one ``<g class="edge">`` per edge titled ``a->b``. The explorer's page script works on
either.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

_NODE = re.compile(r'^\s*(\w+) \[label="((?:[^"\\]|\\.)*)"(.*)\]\s*$')
_EDGE = re.compile(r"^\s*(\w+) -> (\w+)(?: \[(.*)\])?\s*$")
_ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^\s\]]+)')

CHAR_W = 6.0  # px per character at font-size 10 (Helvetica's average; wide enough for digits)
LINE_H = 13.0
PAD_X, PAD_Y = 10.0, 6.0
GAP_X, GAP_Y = 18.0, 36.0
MARGIN = 8.0
SWEEPS = 4
# Graphviz colour names that are not CSS colour names
X11_COLORS = {"darkolivegreen1": "#caff70", "lightgrey": "#d3d3d3", "gray40": "#666666"}


def parse_dot(lines: Iterable[str]) -> tuple[dict[str, dict[str, object]], list[tuple[str, str, dict[str, str]]]]:
    """The nodes (name -> {"lines": [...], attrs}) and edges (a, b, attrs) of a DOT body."""
    nodes: dict[str, dict[str, object]] = {}
    edges: list[tuple[str, str, dict[str, str]]] = []
    for raw in lines:
        for line in raw.splitlines():
            if m := _EDGE.match(line):
                edges.append((m[1], m[2], _attrs(m[3] or "")))
            elif m := _NODE.match(line):
                text = m[2].replace('\\"', '"')
                parts = [p.replace("\\\\", "\\") for p in re.split(r"(?<!\\)\\n", text)]
                nodes[m[1]] = {"lines": parts, **_attrs(m[3])}
    return nodes, edges


def _attrs(text: str) -> dict[str, str]:
    return {k: v.strip('"') for k, v in _ATTR.findall(text)}


def layered_svg(dot_lines: Iterable[str]) -> str:
    """Lay out the DOT body's nodes and edges in layers and return the SVG text."""
    nodes, edges = parse_dot(dot_lines)
    for a, b, _ in edges:  # an edge may name a node with no statement of its own
        for n in (a, b):
            nodes.setdefault(n, {"lines": [n]})
    names = list(nodes)
    preds: dict[str, list[str]] = {n: [] for n in names}
    succs: dict[str, list[str]] = {n: [] for n in names}
    for a, b, _ in edges:
        if a != b:
            succs[a].append(b)
            preds[b].append(a)

    # layer = longest path from a source (Kahn's order; a cycle, which DOT from draw_graph never
    # has, would leave its nodes on layer 0)
    layer = {n: 0 for n in names}
    indeg = {n: len(preds[n]) for n in names}
    queue = [n for n in names if indeg[n] == 0]
    for n in queue:  # the list grows while we walk it
        for s in succs[n]:
            layer[s] = max(layer[s], layer[n] + 1)
            indeg[s] -= 1
            if indeg[s] == 0:
                queue.append(s)
    # a source (a parameter, an input) sits just above its nearest consumer, not on the top row
    for n in names:
        if not preds[n] and succs[n]:
            layer[n] = max(min(layer[s] for s in succs[n]) - 1, 0)
    n_layers = max(layer.values(), default=0) + 1
    rows: list[list[str]] = [[] for _ in range(n_layers)]
    for n in names:  # walk order (nearest the outputs first) as the starting order
        rows[layer[n]].append(n)

    pos = {n: float(i) for row in rows for i, n in enumerate(row)}
    for sweep in range(SWEEPS):
        down = sweep % 2 == 0
        for row in rows if down else reversed(rows):
            nbrs = preds if down else succs
            key = {}
            for n in row:
                around = [pos[m] for m in nbrs[n]]
                key[n] = sum(around) / len(around) if around else pos[n]
            row.sort(key=lambda n: key[n])
            for i, n in enumerate(row):
                pos[n] = float(i)

    size = {}
    for n in names:
        lines = nodes[n]["lines"]
        width = max((len(s) for s in lines), default=1) * CHAR_W + 2 * PAD_X  # type: ignore[union-attr]
        size[n] = (width, len(lines) * LINE_H + 2 * PAD_Y)  # type: ignore[arg-type]
    row_w = [sum(size[n][0] for n in row) + GAP_X * max(len(row) - 1, 0) for row in rows]
    total_w = max(row_w, default=0.0) + 2 * MARGIN
    xy: dict[str, tuple[float, float]] = {}  # centre of each node
    y = MARGIN
    for row, w in zip(rows, row_w):
        h = max((size[n][1] for n in row), default=0.0)
        x = (total_w - w) / 2
        for n in row:
            nw = size[n][0]
            xy[n] = (x + nw / 2, y + h / 2)
            x += nw + GAP_X
        y += h + GAP_Y
    total_h = y - GAP_Y + MARGIN

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w:.0f}pt" height="{total_h:.0f}pt" '
        f'viewBox="0 0 {total_w:.1f} {total_h:.1f}">',
        '<g id="graph0" class="graph">',
    ]
    for a, b, attrs in edges:
        (x1, y1), (x2, y2) = xy[a], xy[b]
        y1 += size[a][1] / 2
        y2 -= size[b][1] / 2 + 6
        mid = (y1 + y2) / 2
        dash = ' stroke-dasharray="5,2"' if attrs.get("style") == "dashed" else ""
        out.append(
            f'<g class="edge"><title>{html.escape(a)}-&gt;{html.escape(b)}</title>'
            f'<path fill="none" stroke="black"{dash} d="M{x1:.1f},{y1:.1f} C{x1:.1f},{mid:.1f} '
            f'{x2:.1f},{mid:.1f} {x2:.1f},{y2:.1f}"/>'
            f'<polygon fill="black" stroke="black" points="{x2 - 3.5:.1f},{y2:.1f} {x2 + 3.5:.1f},{y2:.1f} '
            f'{x2:.1f},{y2 + 6:.1f}"/></g>'
        )
    for n in names:
        node = nodes[n]
        (cx, cy), (w, h) = xy[n], size[n]
        fill = str(node.get("fillcolor", "white")) if "filled" in str(node.get("style", "")) else "white"
        fill = X11_COLORS.get(fill, fill)
        stroke = str(node.get("color", "black"))
        dash = ' stroke-dasharray="5,2"' if "dashed" in str(node.get("style", "")) else ""
        rx = ' rx="5"' if "rounded" in str(node.get("style", "")) else ""
        out.append(f'<g class="node"><title>{html.escape(n)}</title>')
        out.append(
            f'<rect x="{cx - w / 2:.1f}" y="{cy - h / 2:.1f}" width="{w:.1f}" height="{h:.1f}"{rx} '
            f'fill="{html.escape(fill)}" stroke="{html.escape(stroke)}"{dash}/>'
        )
        lines = node["lines"]
        top = cy - h / 2 + PAD_Y + LINE_H * 0.75
        for i, text in enumerate(lines):  # type: ignore[arg-type]
            out.append(
                f'<text text-anchor="middle" x="{cx:.1f}" y="{top + i * LINE_H:.1f}" '
                f'font-family="Helvetica,sans-Serif" font-size="10.00">{html.escape(text)}</text>'
            )
        out.append("</g>")
    out.append("</g></svg>")
    return "\n".join(out)
