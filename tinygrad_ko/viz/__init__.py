"""Seeing the autograd graph: draw it, and watch a backward pass run through it.

- :func:`draw_graph` (viz/graph.py) draws the recorded DAG with Graphviz: shapes, parameter
  names, values and gradients, module clusters.
- :func:`trace_backward` (viz/explorer.py) runs a real backward pass and records what the engine
  did, node by node; ``trace.to_html(path)`` writes a self-contained page that steps through it
  (viz/page.py), and a trace displays itself inline in Jupyter.
"""

from .explorer import BackwardTrace, GradInfo, Step, trace_backward
from .graph import (
    INSTALL_HINT,
    ComputationGraph,
    GraphvizNotFoundError,
    RecordedInputs,
    draw_graph,
    record_inputs,
    render,
)

__all__ = [
    "BackwardTrace",
    "ComputationGraph",
    "GradInfo",
    "GraphvizNotFoundError",
    "INSTALL_HINT",
    "RecordedInputs",
    "Step",
    "draw_graph",
    "record_inputs",
    "render",
    "trace_backward",
]
