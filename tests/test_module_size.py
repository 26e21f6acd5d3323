"""House rule (CONTRIBUTING.md): modules stay under ~400 lines, or say at their top why they are longer."""
import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "edge_saliency"
LIMIT = 400


def test_a_long_module_says_why_at_its_top():
    unexplained = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if text.count("\n") <= LIMIT:
            continue
        docstring = ast.get_docstring(ast.parse(text)) or ""
        if "Long on purpose:" not in docstring:
            unexplained.append("{} ({} lines)".format(path.relative_to(PACKAGE.parent), text.count("\n")))
    assert unexplained == [], "split these modules, or say why they are long ('Long on purpose: ...' in the " \
                              "module docstring): " + ", ".join(unexplained)
