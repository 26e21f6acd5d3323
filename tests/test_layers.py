"""The package's layers import only downward.

The import graph is read from the source (every ``import`` / ``from ... import``, including the lazy ones
inside functions; not those under ``if TYPE_CHECKING:``, which never run) and checked against the declared
layer order below: a module may import its own layer and the layers under it, never one above.
"""
import ast
import os
from typing import Dict, List, Set, Tuple

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "edge_saliency"

# Lowest first. A module belongs to the layer of its longest matching prefix ("" = the package's
# ``__init__``, a facade over the layers below it).
LAYERS: List[Tuple[str, Tuple[str, ...]]] = [
    ("foundation", ("_version", "errors", "_lazy", "system", "config", "vocabulary", "devices", "files",
                    "maths.resampling", "maths.matlab_ops")),
    ("frame and map pieces", ("maths",)),
    ("datasets and scoring", ("data",)),
    # the facts the model source, the exporter, the plugins and the builder share: the plugin node's contract,
    # what an ONNX file holds, and what TensorRT accepts (its parser's tables, its version differences, build
    # options); pure Python, no TensorRT calls
    ("contracts", ("plugins.upsample_op", "engine.options", "engine.trt_compat", "engine.trt_parser_tables",
                   "engine.onnx_info", "engine.trt_rules")),
    ("model", ("models",)),
    ("plugins", ("plugins",)),
    ("export", ("export",)),
    ("engine", ("engine",)),
    ("runners", ("runners",)),
    # what a frame travels in, shared by the capture, the outputs and the pipeline
    ("frame record", ("pipeline.buffers", "pipeline.packet", "pipeline.frames")),
    ("capture", ("capture",)),
    ("outputs", ("outputs",)),
    ("pipeline", ("pipeline",)),
    # predict / eval over any model kind, through the runtime's runners
    ("prediction", ("prediction",)),
    ("whole-system tools", ("prediction.selftest", "bench", "training")),
    ("command line", ("cli", "__main__", "")),
]

# Upward edges that remain, each with its reason. Keep this short: an entry is a debt, not a design.
ALLOWED: Dict[Tuple[str, str], str] = {}


def _modules() -> Dict[str, str]:
    """Dotted name (without the package prefix; "" for the package itself) → file path."""
    found = {}
    for folder, _, files in os.walk(os.path.join(ROOT, PACKAGE)):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                parts = os.path.relpath(path, os.path.join(ROOT, PACKAGE))[:-3].split(os.sep)
                if parts[-1] == "__init__":
                    parts = parts[:-1]
                found[".".join(parts)] = path
    return found


def _runtime_nodes(tree: ast.AST) -> List[ast.AST]:
    """Every node except those under ``if TYPE_CHECKING:``."""
    nodes: List[ast.AST] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test):
            stack.extend(node.orelse)
            continue
        nodes.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return nodes


def import_graph() -> Dict[str, Set[str]]:
    """module → the package modules it imports (``from pkg import sub`` counts as importing ``pkg.sub``)."""
    modules = _modules()
    graph: Dict[str, Set[str]] = {}
    for module, path in modules.items():
        is_package = os.path.basename(path) == "__init__.py"
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        targets: Set[str] = set()
        for node in _runtime_nodes(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names if a.name == PACKAGE or a.name.startswith(PACKAGE + ".")]
                targets.update(n[len(PACKAGE) + 1:] for n in names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = module.split(".") if module else []
                    base = base if is_package else base[:-1]
                    base = base[:len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                elif node.module == PACKAGE or (node.module or "").startswith(PACKAGE + "."):
                    target = node.module[len(PACKAGE) + 1:]  # type: ignore[index]
                else:
                    continue
                for alias in node.names:
                    sub = "{}.{}".format(target, alias.name) if target else alias.name
                    targets.add(sub if sub in modules else target)
        targets.discard(module)
        graph[module] = targets
    return graph


def layer_of(module: str) -> int:
    best, rank = -1, None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or (prefix and module.startswith(prefix + ".")) or prefix == "" == module:
                if len(prefix) > best:
                    best, rank = len(prefix), index
    if rank is None:
        raise KeyError(module)
    return rank


def upward_edges() -> List[Tuple[str, str]]:
    return sorted((m, t) for m, targets in import_graph().items() for t in targets if layer_of(t) > layer_of(m))


def test_every_module_has_a_layer():
    missing = [m for m in _modules() if not any(
        m == p or (p and m.startswith(p + ".")) for _, prefixes in LAYERS for p in prefixes)]
    assert missing == [], "declare the layer of {} in tests/test_layers.py".format(missing)


def test_layers_import_only_downward():
    edges = upward_edges()
    unexplained = ["{} ({}) imports {} ({})".format(m, LAYERS[layer_of(m)][0], t, LAYERS[layer_of(t)][0])
                   for m, t in edges if (m, t) not in ALLOWED]
    assert unexplained == []


def test_allowed_upward_edges_still_exist():
    stale = sorted(set(ALLOWED) - set(upward_edges()))
    assert stale == [], "remove these from ALLOWED: they are gone"


def test_the_graph_sees_lazy_imports():
    # the check is only as good as the graph: a lazy import inside a function must show up
    graph = import_graph()
    assert "plugins.ort_op" in graph["export.api"]  # a module-level import
    assert "models.source" in graph["runners"]  # a lazy one inside model_source()
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import a\nelse:\n    import b\n"
                     "def f():\n    import c\n")
    imported = {a.name for n in _runtime_nodes(tree) if isinstance(n, ast.Import) for a in n.names}
    assert imported == {"b", "c"}  # what runs, including inside a function; not what only mypy reads


@pytest.mark.parametrize("module, target, upward", [("maths.metrics", "plugins.upsample_op", True),
                                                    ("cli.run", "pipeline", False),
                                                    ("engine.build", "runners", True)])
def test_layer_order(module, target, upward):
    assert (layer_of(target) > layer_of(module)) is upward


if __name__ == "__main__":  # prints the upward edges: python tests/test_layers.py
    for edge in upward_edges():
        print("{} -> {}".format(*edge))
