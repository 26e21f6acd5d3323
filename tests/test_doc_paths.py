"""Every module path and dotted name the docs and the code's own text mention exists: ``edge_saliency/x/y.py``
and ``edge_saliency.x.y[.name]`` in README.md, CONTRIBUTING.md, docs/*.md and the package's docstrings and
comments. A move or a rename that forgets one fails here."""
import ast
import functools
import pathlib
import re
from typing import List, Set

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "edge_saliency"
PATH = re.compile(r"(?<![\w/.])edge_saliency/[\w/]*\w\.py\b")
DOTTED = re.compile(r"(?<![\w.])edge_saliency(?:\.\w+)+")
FILE_SUFFIXES = ("json", "py", "md", "onnx", "log", "txt")  # edge_saliency.json is a file name, not a module


def texts() -> List[pathlib.Path]:
    files = [ROOT / "README.md", ROOT / "CONTRIBUTING.md"] + sorted((ROOT / "docs").glob("*.md"))
    return [f for f in files if f.exists()] + sorted(PACKAGE.rglob("*.py"))


@functools.lru_cache(maxsize=None)
def defined(module: pathlib.Path) -> Set[str]:
    """The names a module defines or imports at its top level (and, for a class, its attributes)."""
    tree = ast.parse(module.read_text(encoding="utf-8"))
    names: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier():
            names.add(node.value)  # lazy names in a package's _LAZY table
    return names


def module_file(parts: List[str]) -> pathlib.Path:
    base = ROOT.joinpath(*parts)
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def dotted_exists(name: str) -> bool:
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        path = module_file(parts[:cut])
        if path.exists():
            rest = parts[cut:]
            return not rest or rest[0] in defined(path)
    return False


def stale(text: str) -> List[str]:
    found = [p for p in PATH.findall(text) if not (ROOT / p).exists()]
    found += [d for d in DOTTED.findall(text) if d.rsplit(".", 1)[1] not in FILE_SUFFIXES and not dotted_exists(d)]
    return found


def test_every_path_and_dotted_name_in_the_docs_exists():
    problems = ["{}: {}".format(f.relative_to(ROOT), name) for f in texts()
                for name in stale(f.read_text(encoding="utf-8"))]
    assert problems == []


def test_stale_finds_a_gone_module_and_a_gone_name():
    assert stale("see edge_saliency/runtime/sources.py and edge_saliency.runtime.pipeline") == [
        "edge_saliency/runtime/sources.py", "edge_saliency.runtime.pipeline"]
    assert stale("edge_saliency.models.source.NoSuchThing") == ["edge_saliency.models.source.NoSuchThing"]
    assert stale("writes edge_saliency.json beside it") == []
    assert stale("edge_saliency/models/source.py, edge_saliency.models.source.ModelSource.parse") == []
