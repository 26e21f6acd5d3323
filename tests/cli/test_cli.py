import json
import subprocess
import sys

import pytest

from edge_saliency import __version__
from edge_saliency.cli import main


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == "edge-saliency " + __version__


def test_models_lists_presets_with_complexity(capsys):
    assert main(["models", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    names = [p["name"] for p in data["presets"]]
    assert names == sorted(["emlnet-densenet161-nasnetlarge", "emlnet-lite", "emlnet-resnet50-official"])
    headline = data["presets"][names.index("emlnet-densenet161-nasnetlarge")]
    assert 100 < headline["complexity"]["params_m"] < 120 and headline["complexity"]["at"] == "480x640"
    nasnet = [e for e in data["encoders"] if e["name"] == "nasnetalarge"][0]
    assert nasnet["channels"] == [336, 1344, 2688, 4032]


def test_models_table(capsys):
    assert main(["models", "--no-complexity"]) == 0
    out = capsys.readouterr().out
    assert "emlnet-lite" in out and "x_stem_1 336/8" in out


def test_models_takes_name_patterns(capsys):
    assert main(["models", "--json", "*lite*"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [p["name"] for p in data["presets"]] == ["emlnet-lite"]
    assert [e["name"] for e in data["encoders"]] == ["efficientnet_lite0"]
    assert main(["models", "--no-complexity", "dense*"]) == 0
    out = capsys.readouterr().out
    assert "densenet161" in out and "emlnet-lite" not in out and "preset" not in out  # no empty preset table
    assert main(["models", "vgg*"]) == 1
    assert "no preset or encoder matches vgg*; presets: emlnet-" in capsys.readouterr().err


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "models" in capsys.readouterr().err


def test_user_errors_are_one_line_with_exit_code_1(capsys, monkeypatch):
    from edge_saliency.cli import models
    from edge_saliency.errors import UserError

    def broken(args):
        raise UserError("input height 100 is not a multiple of 32; use e.g. 96 or 128")

    monkeypatch.setattr(models, "run", broken)
    assert main(["models"]) == 1
    err = capsys.readouterr().err
    assert err == "edge-saliency: error: input height 100 is not a multiple of 32; use e.g. 96 or 128\n"


def test_console_script_runs_as_a_module():
    out = subprocess.run([sys.executable, "-m", "edge_saliency", "models", "--no-complexity"],
                         capture_output=True, text=True, check=True).stdout
    assert "emlnet-densenet161-nasnetlarge" in out


def _parse(module, argv):
    import argparse

    parser = argparse.ArgumentParser()
    module.register(parser.add_subparsers())
    return parser.parse_args(argv)


def test_build_engine_arguments_become_build_options():
    from edge_saliency.cli import build_engine
    from edge_saliency.engine.options import BuildOptions, ShapeRange

    args = _parse(build_engine, ["build-engine", "m.onnx", "--precision", "int8", "--shape", "1x3x64x96",
                                 "--workspace", "512", "--opt-level", "5", "--dla-core", "0", "--no-gpu-fallback",
                                 "--no-tf32", "--typing", "strong", "--version-compatible", "--plugin", "p.so",
                                 "--timing-cache", "t.cache"])
    assert build_engine.build_options(args) == BuildOptions(
        precision="int8", shapes={"image": ShapeRange((1, 3, 64, 96), (1, 3, 64, 96), (1, 3, 64, 96))},
        workspace_mib=512, optimization_level=5, dla_core=0, gpu_fallback=False, tf32=False, typing="strong",
        version_compatible=True, plugins=["p.so"], timing_cache="t.cache")
    default = build_engine.build_options(_parse(build_engine, ["build-engine", "m.onnx"]))
    assert default == BuildOptions(precision="")  # "": the ONNX file's own precision, decided by build_engine


def test_run_arguments_become_pipeline_options():
    from edge_saliency.cli import run
    from edge_saliency.errors import UserError
    from edge_saliency.pipeline.options import PipelineOptions

    args = _parse(run, ["run", "clip.mp4", "--size", "64x96", "--letterbox", "--preprocess", "opencv-area",
                        "--blur", "0", "--no-minmax", "--smooth", "0.5", "--threshold", "0.7", "--colormap", "inferno",
                        "--alpha", "0.3", "--batch", "2", "--queue-size", "4", "--policy", "latest",
                        "--max-frames", "9", "--hud", "off", "--capture-resolution", "1280x720"])
    assert run.pipeline_options(args) == PipelineOptions(
        size=(64, 96), letterbox=True, preprocess="opencv-area", blur_sigma=0.0, minmax=False, smooth=0.5,
        threshold=0.7, colormap="inferno", alpha=0.3, batch=2, queue_size=4, policy="latest", max_frames=9, hud="off")
    assert args.capture_wh == (1280, 720)  # cameras take width x height; --size is height x width
    assert run.pipeline_options(_parse(run, ["run", "clip.mp4"])) == PipelineOptions()
    with pytest.raises(UserError, match="--queue-size"):
        run.pipeline_options(_parse(run, ["run", "clip.mp4", "--queue-size", "0"]))


@pytest.mark.parametrize("value, says", [("0x0", "got '0x0': both numbers must be positive"),
                                         ("32x0", "got '32x0': both numbers must be positive"),
                                         ("-256x320", "got '-256x320': both numbers must be positive"),
                                         ("abc", "--size must look like 480x640, got 'abc'")])
def test_a_bad_size_is_named_with_what_is_wrong(value, says, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "clip.mp4", "--size", value])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert says in err and "multiples of 32" in err, err  # not argparse's "expected one argument"


def test_a_size_pair_after_its_flag_is_its_value_even_with_a_minus():
    from edge_saliency.cli import _attach_dash_pairs

    assert _attach_dash_pairs(["run", "a.mp4", "--size", "-256x320", "-o", "x"]) == [
        "run", "a.mp4", "--size=-256x320", "-o", "x"]
    assert _attach_dash_pairs(["run", "-v", "--size", "256x320"]) == ["run", "-v", "--size", "256x320"]
