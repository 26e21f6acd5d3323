"""export/recipes.py: every recipe becomes a valid `edge-saliency export` command."""
import argparse
import importlib.util
import os

from edge_saliency.cli import build_parser

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _recipes():
    spec = importlib.util.spec_from_file_location("recipes", os.path.join(ROOT, "export", "recipes.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_preset_and_precision_has_a_recipe_that_parses():
    from edge_saliency import list_presets

    recipes = _recipes()
    assert set(recipes.RECIPES) == {(p, q) for p in list_presets() for q in ("fp32", "fp16", "int8")}
    args = argparse.Namespace(size=None, model=None, output="out", upsample="plugin", weights="w.safetensors",
                              calib="frames", calib_split="val")
    parser = build_parser()
    for preset, precision in recipes.RECIPES:
        parsed = parser.parse_args(recipes.command(preset, precision, args, ["--no-simplify"]))
        assert parsed.model == preset and parsed.precision == [precision] and parsed.size == (480, 640)
        assert parsed.output == os.path.join("out", "{}-480x640-plugin.onnx".format(preset))
        assert parsed.weights == "w.safetensors" and parsed.no_simplify
        assert (parsed.calib, parsed.calib_split) == (("frames", "val") if precision == "int8" else (None, None))


def test_list_runs(capsys):
    assert _recipes().main(["--list"]) == 0
    assert "emlnet-lite" in capsys.readouterr().out
