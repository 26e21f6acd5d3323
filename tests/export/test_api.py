"""`edge-saliency export` end to end: files, sidecars, report, --check, bad inputs, nothing left on failure."""
import json
import os

import onnx
import pytest

from edge_saliency.cli import main
from edge_saliency.export import api, evaluate, naming
from edge_saliency.files.hashing import file_sha256
from edge_saliency.files.sidecar import read_sidecar

SIZE = ["64x96"]
INFO_KEYS = {
    "precision", "upsample", "opset", "dynamic", "input_size", "size_multiple", "inputs", "outputs", "preprocess",
    "sha256", "size_bytes", "simplified", "exporter", "source", "parity", "accuracy", "timings_s", "tensorrt",
}


def _export(tmp_path, *extra, name="lite.onnx"):
    out = str(tmp_path / name)
    code = main(["export", "emlnet-lite", "--size", *SIZE, "-o", out, "--calib-cache", str(tmp_path / "cache"),
                 *extra])
    return code, out


def _onnx_files(folder):
    return sorted(f for f in os.listdir(folder) if f.endswith((".onnx", ".json", ".md")) and not f.startswith("."))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("export")
    code, out = _export(tmp, "--pretrained", "--precision", "all", "--upsample", "plugin")
    assert code == 0
    return tmp, out


def test_files_sidecars_and_report(exported, capsys):
    tmp, out = exported
    assert _onnx_files(str(tmp)) == sorted([
        "lite.onnx", "lite.onnx.json", "lite-fp16.onnx", "lite-fp16.onnx.json", "lite-int8.onnx",
        "lite-int8.onnx.json", "lite.accuracy.json", "lite.accuracy.md"])
    for precision in ("fp32", "fp16", "int8"):
        path = naming.variant_path(out, precision)
        sidecar = read_sidecar(path)
        info = sidecar.info
        assert sidecar.kind == "onnx" and sidecar.model.input_size == (64, 96)
        assert INFO_KEYS <= set(info), INFO_KEYS - set(info)
        assert info["precision"] == precision and info["upsample"] == "plugin" and info["plugin"]["nodes"] == 5
        assert info["sha256"] == file_sha256(path) and info["size_bytes"] == os.path.getsize(path)
        assert info["parity"]["passed"] and info["parity"]["enforced"]
        assert info["source"]["model"] == "emlnet-lite" and info["source"]["trained"]
        meta = api.graph.read_metadata(onnx.load(path))
        assert meta["edge_saliency_precision"] == precision
        assert json.loads(meta["edge_saliency_config"])["name"] == "emlnet-lite"
        if precision != "fp32":
            assert info["reference"]["sha256"] == read_sidecar(out).info["sha256"]
        # the TensorRT rules check ran on every file and every version passed
        assert info["tensorrt"]["versions"] == {"8.5": "pass", "8.6": "pass", "10.x": "pass", "11.x": "pass"}
    int8_info = read_sidecar(naming.variant_path(out, "int8")).info
    assert int8_info["quantization"]["max_abs_zero_point"] == 0
    assert int8_info["quantization"]["non_int8_dequantize_inputs"] == []
    assert int8_info["calibration"]["frames"] == 15 and int8_info["calibration"]["reused"] is False
    report = json.load(open(naming.report_paths(out)[0]))
    assert set(report["variants"]) == {"fp32", "fp16", "int8"}
    assert report["variants"]["fp16"]["cc"] >= 0.999 and report["variants"]["int8"]["cc"] >= 0.98
    assert "| int8 | lite-int8.onnx |" in open(naming.report_paths(out)[1]).read()


def test_rebuild_reuses_the_calibration_cache(exported, tmp_path):
    tmp, out = exported
    code, again = _export(tmp_path, "--pretrained", "--precision", "int8", "--upsample", "plugin",
                          "--calib-cache", str(tmp / "cache"))
    assert code == 0
    info = read_sidecar(naming.variant_path(again, "int8")).info
    assert info["calibration"]["reused"] is True
    first = read_sidecar(naming.variant_path(out, "int8")).info
    assert info["calibration"]["cache_key"] == first["calibration"]["cache_key"]


def test_check_passes_and_catches_a_changed_file(exported, tmp_path, capsys):
    _, out = exported
    for precision in ("fp32", "int8"):  # fp16 is checked the same way
        assert main(["export", "--check", naming.variant_path(out, precision)]) == 0
        assert "parity passed" in capsys.readouterr().out
    # a file whose weights were altered, checked from its metadata alone (no sidecar)
    model = onnx.load(out)
    weight = next(t for t in model.graph.initializer if len(t.dims) == 4)
    array = onnx.numpy_helper.to_array(weight).copy() * 1.5
    weight.CopyFrom(onnx.numpy_helper.from_array(array, weight.name))
    broken = str(tmp_path / "broken.onnx")
    onnx.save(model, broken)
    assert main(["export", "--check", broken]) == 1
    assert "fp32 parity check failed" in capsys.readouterr().err


def test_parity_failure_and_interrupt_leave_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(evaluate.TOLERANCES, "fp32", {"rounding_ratio": 0.0, "atol": 0.0})
    code, _ = _export(tmp_path, "--no-simplify")
    assert code == 1 and "fp32 parity check failed" in capsys.readouterr().err
    assert _onnx_files(str(tmp_path)) == []
    monkeypatch.undo()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(api.fp16, "to_fp16", interrupted)
    code, _ = _export(tmp_path, "--precision", "fp16", "--no-simplify")
    assert code == 130 and _onnx_files(str(tmp_path)) == []
    assert [f for f in os.listdir(str(tmp_path)) if f.startswith(".")] == []


def test_an_export_that_breaks_tensorrt_rules_fails_and_leaves_nothing(tmp_path, monkeypatch, capsys):
    """ONNX Runtime's default bias quantization (INT32 behind DequantizeLinear) is refused as our bug."""
    import onnxruntime.quantization as ort_quantization

    original = ort_quantization.quantize_static

    def with_bias_quantization(*args, **kwargs):
        kwargs["extra_options"] = dict(kwargs["extra_options"], QuantizeBias=True)
        return original(*args, **kwargs)

    monkeypatch.setattr(ort_quantization, "quantize_static", with_bias_quantization)
    code, _ = _export(tmp_path, "--precision", "int8", "--calib-frames", "4", "--no-simplify")
    err = capsys.readouterr().err
    assert code == 1 and "the exported int8 ONNX breaks TensorRT 8.5, 8.6, 10.x, 11.x rules" in err
    assert "(an edge-saliency bug" in err and "(DequantizeLinear): input '" in err and "is INT32" in err
    assert _onnx_files(str(tmp_path)) == []


@pytest.mark.parametrize("args, message", [
    (["no-such-preset"], "unknown preset 'no-such-preset'; valid presets: emlnet-densenet161-nasnetlarge"),
    (["emlnet-lite", "--size", "100x96"], "input height 100 is not a multiple of 32; use e.g. 96 or 128"),
    (["emlnet-lite", "--weights", "{tmp}/garbage.safetensors"], "cannot read {tmp}/garbage.safetensors"),
    (["{tmp}/garbage.safetensors"], "cannot read {tmp}/garbage.safetensors"),
    (["emlnet-lite", "--precision", "int8", "--calib", "{tmp}/empty"], "no images in {tmp}/empty"),
    (["emlnet-lite", "--backbone-weights", "nokey"], "--backbone-weights takes KEY=PATH"),
])
def test_bad_inputs_are_one_line_and_leave_nothing(tmp_path, capsys, args, message):
    (tmp_path / "garbage.safetensors").write_bytes(b"\x00" * 64)
    (tmp_path / "empty").mkdir()
    args = [a.format(tmp=tmp_path) for a in args]
    out = str(tmp_path / "out.onnx")
    assert main(["export", *args, "-o", out]) == 1
    err = capsys.readouterr().err
    assert err.startswith("edge-saliency: error: " + message.format(tmp=tmp_path)) and err.count("\n") == 1
    assert [f for f in os.listdir(str(tmp_path)) if f.endswith(".onnx") or f.startswith(".")] == []
