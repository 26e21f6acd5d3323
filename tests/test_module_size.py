"""House rule (CONTRIBUTING.md): a module stays at or under 400 lines, so that a person can hold it in mind.

Two are longer, each for a reason that splitting would not serve: the parser tables are generated data, and the
TensorRT rules are one cited table read top to bottom. Nothing else may join them."""
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "edge_saliency"
LIMIT = 400
EXCEPTIONS = {
    "edge_saliency/engine/trt_parser_tables.py": "generated from ONNX-TensorRT's operator tables",
    "edge_saliency/engine/trt_rules.py": "the cited rule table of what each TensorRT version's parser accepts",
}


def long_modules():
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").count("\n")
        if lines > LIMIT:
            found[path.relative_to(PACKAGE.parent).as_posix()] = lines
    return found


def test_no_module_is_over_the_limit():
    over = {path: lines for path, lines in long_modules().items() if path not in EXCEPTIONS}
    assert over == {}, "split these modules by job (at most {} lines each): {}".format(LIMIT, over)


def test_the_exceptions_are_still_long():
    # an exception that shrank under the limit is removed from the list, so the list never grows stale
    assert sorted(EXCEPTIONS) == sorted(p for p in long_modules() if p in EXCEPTIONS)
