"""The explorer page in a real browser: Debian's chromium, headless, offline, on a file:// URL.

The page steps itself to ``?step=k`` (optionally arriving there from ``?from=j``, which exercises
the undo path) and writes what it shows into data attributes of its root element: the step, the
highlighted node's DOT name, the gradient shown, ``data-ready`` once the script finished and
``data-errors`` for any uncaught error. ``--dump-dom`` gives us that DOM; chromium's console log
(on stderr) must stay empty. The screenshot of the MLP's final step is kept as an artifact
(``$TINYGRAD_KO_ARTIFACTS``, default the temp directory: explorer-shot.png).
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import tinygrad_ko as torch
import tinygrad_ko.nn.functional as F
from tinygrad_ko import viz

CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser")) if p), None)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium); the page is not tested"
)

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--proxy-server=127.0.0.1:9",  # nothing may reach the network
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--enable-logging=stderr",
    "--v=0",
]


def chromium(tmp_path: Path, url: str, *extra: str) -> tuple[str, str]:
    """(stdout, the console messages) of one headless chromium run with a fresh profile."""
    profile = tempfile.mkdtemp(prefix="chromium-", dir=tmp_path)
    proc = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *extra, url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, "\n".join(console)


def shown(tmp_path: Path, page: Path, query: str) -> dict[str, str]:
    """What the page shows after ``?query``: its root's data attributes, the highlighted node's
    title and the panel text."""
    dom, console = chromium(tmp_path, page.as_uri() + "?" + query, "--dump-dom")
    assert console == "", f"console messages on {query}:\n{console}"
    root = re.search(r'<div class="tgx[^"]*" id="tgx-[^"]+"([^>]*)>', dom)
    assert root, dom[:2000]
    attrs = {k: html.unescape(v) for k, v in re.findall(r'([\w-]+)="([^"]*)"', root[1])}
    running = re.findall(r'<g [^>]*class="node[^"]*tgx-running[^"]*"[^>]*>\s*<title>([^<]+)</title>', dom)
    panel = re.search(r'<div class="tgx-panel"[^>]*>(.*?)</div></div><script', dom, re.S)
    attrs["highlighted"] = ",".join(running)
    attrs["panel"] = html.unescape(re.sub(r"<[^>]+>", "", panel[1])) if panel else ""
    attrs["grad_texts"] = "|".join(
        html.unescape(t) for t in re.findall(r'<text[^>]*class="[^"]*tgx-grad[^"]*"[^>]*>([^<]*)</text>', dom)
    )
    return attrs


def dot_name(trace, step) -> str:
    return f"n{step.node}"


def test_xyz_page_steps_to_the_recorded_node_and_gradient(tmp_path):
    x, y, z = (torch.tensor(v, requires_grad=True) for v in (2.0, 3.0, 4.0))
    trace = viz.trace_backward(x * y + z, params={"x": x, "y": y, "z": z})
    page = trace.to_html(tmp_path / "xyz.html")
    for k in (0, 2, len(trace) - 1):
        got = shown(tmp_path, page, f"step={k}")
        step = trace.steps[k]
        assert got["data-ready"] == "1" and "data-errors" not in got
        assert got["data-step"] == str(k)
        assert got["data-running"] == got["highlighted"] == dot_name(trace, step)
        assert got["data-grad"] == step.grad.text()
    mul = shown(tmp_path, page, "step=2")
    assert mul["data-running-name"] == "MulBackward"
    assert "들어온 기울기 × 다른 입력" in mul["panel"] and "MulBackward" in mul["panel"]
    # MulBackward sent x 3 and y 2: both now show on the graph
    assert "∇ 3." in mul["grad_texts"] and "∇ 2." in mul["grad_texts"]


def test_stepping_back_undoes_exactly(tmp_path):
    a = torch.tensor([1.0, -2.0], requires_grad=True)
    b = a * 3.0
    L = ((b + 1.0) * (b * b)).sum()
    trace = viz.trace_backward(L, params={"a": a})
    page = trace.to_html(tmp_path / "diamond.html", layout="python")
    for k in sorted({0, 2, len(trace) // 2, len(trace) - 2}):
        direct = shown(tmp_path, page, f"step={k}")
        back = shown(tmp_path, page, f"from=last&step={k}")
        for key in ("data-running", "data-grad", "highlighted", "grad_texts", "panel"):
            assert direct[key] == back[key], (k, key)
        if k == 0:
            assert direct["grad_texts"].count("∇") == 1  # only the seed so far


def test_accumulation_is_shown_as_a_sum(tmp_path):
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    trace = viz.trace_backward((a + a).sum(), params={"a": a})
    got = shown(tmp_path, trace.to_html(tmp_path / "aa.html"), "step=last")
    assert got["data-running-name"] == "AccumulateGrad" and got["data-grad"] == "[2., 2.]"
    assert "g1 + g2 = g" in got["panel"] and "2개의 경로" in got["panel"]


def test_mlp_final_step_and_screenshot(tmp_path):
    from tinygrad_ko.__main__ import build_model

    torch.manual_seed(0)
    model = build_model("mlp", 10)
    xb, yb = torch.randn(4, 1, 28, 28), torch.randint(0, 10, (4,))
    with viz.record_inputs(**{"input batch": xb, "targets": yb}) as inputs:
        loss = F.cross_entropy(model(xb), yb)
    trace = viz.trace_backward(loss, params=model, inputs=inputs)
    page = trace.to_html(tmp_path / "mlp.html")
    last = trace.steps[-1]
    got = shown(tmp_path, page, "step=last")
    assert got["data-step"] == str(len(trace) - 1) and got["data-running-name"] == "AccumulateGrad"
    assert got["highlighted"] == dot_name(trace, last) and got["data-grad"] == last.grad.text()
    assert trace.nodes[last.node].name == "1.bias" and "1.bias.grad" in got["panel"]
    # every parameter shows its gradient on the graph at the end
    assert got["grad_texts"].count("∇") == len(trace.nodes)

    shot = tmp_path / "explorer-shot.png"
    chromium(tmp_path, page.as_uri() + "?step=last", f"--screenshot={shot}", "--window-size=1400,900")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    artifacts = Path(os.environ.get("TINYGRAD_KO_ARTIFACTS", tempfile.gettempdir()))
    artifacts.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, artifacts / "explorer-shot.png")


def test_nan_gradient_is_red_and_fallback_layout_runs(tmp_path):
    x = torch.tensor([0.0, 1.0, 4.0], requires_grad=True)
    y = torch.where(x > 0, x.sqrt(), 0.0).sum()
    with __import__("numpy").errstate(all="ignore"):
        trace = viz.trace_backward(y, params={"x": x})
    page = trace.to_html(tmp_path / "nan.html", layout="python")
    dom, console = chromium(tmp_path, page.as_uri() + "?step=last", "--dump-dom")
    assert console == ""
    assert 'data-layout="python"' in dom and 'data-ready="1"' in dom
    assert re.search(r'class="[^"]*tgx-bad[^"]*"[^>]*>∇ [^<]*nan', dom), "the NaN gradient is drawn red"


def test_a_2000_node_page_loads_and_steps_to_the_end(tmp_path):
    x = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    y = x
    for _ in range(1000):
        y = y * 1.01 + 0.1
    trace = viz.trace_backward(y.sum(), params={"x": x})
    page = trace.to_html(tmp_path / "big.html", layout="python")
    got = shown(tmp_path, page, "step=last")
    assert got["data-ready"] == "1" and got["data-step"] == str(len(trace) - 1)
    # x is 2,000 ops from the output: folded into the "... more nodes" box, which lights up
    assert got["highlighted"] == "more" and got["data-grad"] == trace.steps[-1].grad.text()
    assert "접혀" in got["panel"]
    back = shown(tmp_path, page, "from=last&step=100")
    assert back["highlighted"] == f"n{trace.steps[100].node}" and back["data-grad"] == trace.steps[100].grad.text()


def test_three_traces_on_one_page_as_in_an_exported_notebook(tmp_path):
    """What Jupyter shows (and an exported notebook keeps): each trace's _repr_html_, one after another."""
    parts = []
    for k in range(3):
        a = torch.tensor([1.0, float(k)], requires_grad=True)
        parts.append(viz.trace_backward((a * a + a).sum(), params={"a": a})._repr_html_())
    page = tmp_path / "notebook.html"
    page.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>" + "".join(parts) + "</body></html>"
    )
    dom, console = chromium(tmp_path, page.as_uri() + "?step=last", "--dump-dom")
    assert console == ""
    roots = re.findall(r'<div class="tgx" id="(tgx-[^"]+)"([^>]*)>', dom)
    assert len(roots) == 3 and len({r for r, _ in roots}) == 3
    grads = [re.search(r'data-grad="([^"]*)"', attrs)[1] for _, attrs in roots]
    assert all('data-ready="1"' in attrs for _, attrs in roots)
    assert grads == ["[3., 1.]", "[3., 3.]", "[3., 5.]"]  # d/da (a*a + a) = 2a + 1, each page its own
