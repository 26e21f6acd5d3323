"""ExportOptions: every value a user can get wrong refused in one line naming it, before any slow step; the
CLI's arguments turned into the same options; the module stays importable without torch."""
import argparse
import dataclasses
import json
import subprocess
import sys

import pytest

from edge_saliency.errors import UserError
from edge_saliency.export.options import PRECISIONS, ExportOptions


@pytest.mark.parametrize("fields, names", [
    ({"precisions": ("fp32", "bf16")}, "bf16"),
    ({"upsample": "nearest"}, "--upsample"),
    ({"opset": 13}, "opset 13"),
    ({"calibration_method": "kl"}, "calibration method"),
    ({"calibration_frames": 0}, "--calib-frames"),
    ({"percentile": 0.0}, "--percentile"),
    ({"percentile": 100.5}, "--percentile"),
    ({"keep_float_stride": -1}, "--keep-float-stride"),
    ({"input_size": (100, 96)}, "height 100"),
])
def test_bad_values_are_refused_naming_them(fields, names):
    with pytest.raises(UserError) as info:
        ExportOptions(**fields).validate()
    assert names in str(info.value) and "\n" not in str(info.value)


def test_defaults_validate_and_fp32_always_comes_first():
    ExportOptions().validate()
    assert ExportOptions().variants() == ["fp32"]
    assert ExportOptions(precisions=("int8", "fp16", "int8")).variants() == ["fp32", "int8", "fp16"]


def test_export_model_takes_options_or_their_fields(monkeypatch, tmp_path):
    pytest.importorskip("torch")
    from edge_saliency.export import api

    seen = []

    def stop(model, output, options):
        seen.append(options)
        raise RuntimeError("planned")

    monkeypatch.setattr(api, "_plan", stop)
    for call in (lambda: api.export_model("emlnet-lite", "a.onnx", ExportOptions(dynamic=True, seed=3)),
                 lambda: api.export_model("emlnet-lite", "a.onnx", dynamic=True, seed=3),
                 lambda: api.export_model("emlnet-lite", "a.onnx", ExportOptions(seed=3), dynamic=True)):
        with pytest.raises(RuntimeError, match="planned"):
            call()
    assert seen == [ExportOptions(dynamic=True, seed=3)] * 3
    with pytest.raises(TypeError):
        api.export_model("emlnet-lite", "a.onnx", precision="fp16")  # not a field: a typo is not ignored
    with pytest.raises(UserError, match="opset"):
        api.export_model("emlnet-lite", "a.onnx", opset=9)  # validated before anything else


def test_cli_arguments_become_the_options():
    from edge_saliency.cli import export as export_cli

    parser = argparse.ArgumentParser()
    export_cli.register(parser.add_subparsers())
    args = parser.parse_args(["export", "emlnet-lite", "--precision", "all", "--size", "64x96", "--dynamic",
                              "--upsample", "plugin", "--no-simplify", "--backbone-weights", "a=b.pth",
                              "--calib", "frames/", "--calib-method", "percentile", "--percentile", "99.9",
                              "--keep-float-stride", "0", "--eval", "held/"])
    options = export_cli.export_options(args)
    assert options == ExportOptions(
        precisions=list(PRECISIONS), input_size=(64, 96), dynamic=True, upsample="plugin", simplify=False,
        backbone_weights={"a": "b.pth"}, calibration="frames/", calibration_method="percentile", percentile=99.9,
        keep_float_stride=0, eval_frames="held/")
    defaults = export_cli.export_options(parser.parse_args(["export", "emlnet-lite"]))
    assert dataclasses.replace(defaults, precisions=tuple(defaults.precisions)) == ExportOptions(backbone_weights={})
    with pytest.raises(UserError, match="--calib-frames"):
        export_cli.export_options(parser.parse_args(["export", "emlnet-lite", "--calib-frames", "0"]))


def test_options_and_the_export_command_import_without_torch():
    code = ("import sys, json; import edge_saliency.export.options, edge_saliency.cli.export, "
            "edge_saliency.cli.build_engine\n"
            "print(json.dumps([m for m in ('torch', 'onnx', 'onnxruntime', 'cv2') if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []
