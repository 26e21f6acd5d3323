import json

from edge_saliency.cli import main
from edge_saliency.engine.selftest import FAIL, OK, SKIP, run_selftest


def test_inspect_onnx(tiny_onnx, capsys):
    assert main(["inspect", tiny_onnx(precision="int8"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["kind"] == "onnx" and report["precision"] == "int8" and report["opset"] == 17
    assert report["inputs"] == [{"name": "image", "shape": [1, 3, 32, 48], "dtype": "float"}]


def test_inspect_built_artifact(tiny_onnx, tmp_path, capsys):
    assert main(["build-engine", tiny_onnx(), "--precision", "fp32", "--output-dir", str(tmp_path)]) == 0
    path = capsys.readouterr().out.strip().rsplit(" ", 1)[-1]
    assert main(["inspect", path]) == 0
    out = capsys.readouterr().out
    assert out.startswith("onnxruntime: ") and "compatible    yes" in out and "image 1x3x32x48 float" in out
    assert main(["inspect", path, "--layers"]) == 1  # layers need a TensorRT engine
    assert "needs a TensorRT engine" in capsys.readouterr().err


def test_selftest_on_this_machine_checks_onnxruntime_and_reports_what_is_missing():
    result = run_selftest()
    checks = {c.name: c for c in result["checks"]}
    assert checks["ONNX Runtime, native upsample"].status == OK
    assert checks["ONNX Runtime, native upsample"].detail.startswith("max abs diff")
    if result["environment"]["tensorrt"] is None:
        assert checks["TensorRT"].status == SKIP and "edge-saliency[tensorrt]" in checks["TensorRT"].detail
        assert checks["TensorRT engines"].status == SKIP


def test_selftest_fails_when_a_path_computes_wrong_numbers(monkeypatch):
    from edge_saliency.engine import selftest

    monkeypatch.setattr(selftest, "_reference", lambda x: selftest.upsample_op.bilinear_resize(
        x, selftest.OUT_HW, align_corners=True))
    checks = {c.name: c for c in run_selftest()["checks"]}
    assert checks["ONNX Runtime, native upsample"].status == FAIL


def test_inspect_takes_a_glob_over_the_cache_folder(tiny_onnx, tmp_path, capsys):
    assert main(["build-engine", tiny_onnx("m-fp32.onnx"), "--output-dir", str(tmp_path)]) == 0
    path = capsys.readouterr().out.strip().rsplit(" ", 1)[-1]
    assert "m-fp32-fp32" not in path  # the precision is named once
    assert main(["inspect", path, path + ".json"]) == 0  # what a shell glob gives: the file and its sidecar
    assert capsys.readouterr().out.count("onnxruntime: ") == 1
