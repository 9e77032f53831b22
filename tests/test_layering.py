"""The package's layers import only downwards, and its modules import each other without cycles.

Layers, top to bottom: cli/learner/viz/models; nn, optim, data; the PyTorch API surface (api/);
the core (tensor.py, autograd/, ops/: the reading path and the ops beside it); the speed kernels
(kernels/), which import nothing of tinygrad_ko. Only module-level imports count: an import
inside a function runs when called, after every module is loaded.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tinygrad_ko"

# what each layer may import from the package (besides itself); random.py is a leaf utility
LAYERS = {
    "kernels": set(),
    "core": {"kernels", "random"},
    "api": {"core", "kernels", "random"},
}
UPPER = {"nn", "optim", "data", "utils", "learner", "viz", "models", "serialization", "linalg", "__main__"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "package"
    top = parts[1]
    if top in ("tensor", "autograd", "ops"):
        return "core"
    return top


def imported_modules(path: Path, nodes: list[ast.stmt] | None = None) -> set[str]:
    """The tinygrad_ko modules a file imports: at module level (what runs when it is loaded),
    or anywhere when ``nodes`` is every node of the file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found: set[str] = set()
    for node in tree.body if nodes is None else ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("tinygrad_ko"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("tinygrad_ko"):
                continue
            for alias in node.names:  # `from pkg import module` imports the module
                sub = f"{target}.{alias.name}"
                as_file = PACKAGE.parent.joinpath(*sub.split("."))
                found.add(sub if as_file.with_suffix(".py").exists() or as_file.is_dir() else target)
    return found


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
IMPORTS = {m: imported_modules(p) for m, p in MODULES.items()}


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_layer_imports_only_downwards(layer: str) -> None:
    allowed = LAYERS[layer] | {layer}
    bad = [
        f"{m} imports {imp}"
        for m, imps in IMPORTS.items()
        if layer_of(m) == layer
        for imp in imps
        if layer_of(imp) not in allowed
    ]
    assert not bad, "imports against the layering:\n" + "\n".join(bad)


def test_core_does_not_import_the_upper_layers_even_lazily() -> None:
    """The core may import its own modules inside a function (Tensor.backward imports the
    engine), but never nn, optim, data, the learner, viz or the API surface."""
    bad = [
        f"{m} imports {imp}"
        for m, path in MODULES.items()
        if layer_of(m) == "core"
        for imp in imported_modules(path, nodes=[])
        if layer_of(imp) in UPPER | {"api", "package"}
    ]
    assert not bad, "\n".join(bad)


def test_no_import_cycles() -> None:
    """Module-level imports between tinygrad_ko modules form no cycle (a package's __init__
    re-exporting its submodules is not an edge back to it)."""
    graph = {
        m: {i for i in imps if i in MODULES and i != m and not m.startswith(i + ".")} for m, imps in IMPORTS.items()
    }
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycle = stack[stack.index(n) :] + [n]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_the_checks_see_the_package() -> None:
    """Guards the tests above against passing on nothing: they read the real modules."""
    assert "tinygrad_ko.tensor" in MODULES and "tinygrad_ko.autograd.engine" in MODULES
    assert "tinygrad_ko.autograd.function" in IMPORTS["tinygrad_ko.ops.elementwise"]
    assert layer_of("tinygrad_ko.ops.loss") == "core" and layer_of("tinygrad_ko.api.methods") == "api"
