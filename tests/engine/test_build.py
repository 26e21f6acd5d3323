"""build-engine on this machine (no TensorRT): the ONNX Runtime fallback, end to end."""
import numpy as np
import onnxruntime as ort
import pytest

from edge_saliency.cli import main
from edge_saliency.engine.build import build_engine
from edge_saliency.engine.options import BuildOptions
from edge_saliency.errors import UserError
from edge_saliency.files.sidecar import read_sidecar


def _run(path, x):
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return session.run(None, {"image": x})[0]


def test_auto_falls_back_to_an_onnxruntime_artifact_that_matches_the_source(tiny_onnx, tmp_path):
    onnx_path = tiny_onnx()
    result = build_engine(onnx_path, BuildOptions(precision="fp32"), output_dir=str(tmp_path / "engines"))
    assert result.backend == "onnxruntime" and result.fallback and not result.skipped
    assert result.path.endswith(".ort.onnx")
    sidecar = read_sidecar(result.path)
    assert sidecar.kind == "onnxruntime" and sidecar.info["key"] and sidecar.info["provider"] == "CPUExecutionProvider"
    x = np.random.default_rng(0).random((1, 3, 32, 48), dtype=np.float32)
    np.testing.assert_allclose(_run(result.path, x), _run(onnx_path, x), rtol=0, atol=1e-6)


def test_second_build_is_skipped_and_force_rebuilds(tiny_onnx, tmp_path):
    onnx_path = tiny_onnx()
    first = build_engine(onnx_path, BuildOptions(precision="fp32"), output_dir=str(tmp_path))
    again = build_engine(onnx_path, BuildOptions(precision="fp32"), output_dir=str(tmp_path))
    assert again.skipped and again.path == first.path
    forced = build_engine(onnx_path, BuildOptions(precision="fp32"), output_dir=str(tmp_path), force=True)
    assert not forced.skipped


def test_onnxruntime_runs_the_precision_of_the_file(tiny_onnx, tmp_path):
    with pytest.raises(UserError, match="ONNX Runtime runs the precision of the ONNX file"):
        build_engine(tiny_onnx(), BuildOptions(precision="fp16"), output_dir=str(tmp_path))
    result = build_engine(tiny_onnx("m16.onnx", precision="fp16"), BuildOptions(precision="fp16"),
                          output_dir=str(tmp_path))
    assert read_sidecar(result.path).info["onnx"]["precision"] == "fp16"


def test_cli_auto_says_it_fell_back(tiny_onnx, tmp_path, capsys, caplog):
    assert main(["build-engine", tiny_onnx(), "--precision", "fp32", "--output-dir", str(tmp_path)]) == 0
    assert "built onnxruntime" in capsys.readouterr().out
    assert "TensorRT is not installed: built an ONNX Runtime artifact instead" in caplog.text


def test_cli_tensorrt_without_tensorrt_is_one_line_naming_the_extra(tiny_onnx, tmp_path, capsys):
    assert main(["build-engine", tiny_onnx(), "--backend", "tensorrt", "--output-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'pip install "edge-saliency[tensorrt]"' in err


def test_cli_bad_input(tmp_path, capsys):
    assert main(["build-engine", str(tmp_path / "missing.onnx")]) == 1
    assert "ONNX file not found" in capsys.readouterr().err
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    assert main(["build-engine", str(bad)]) == 1
    assert "not a readable ONNX file" in capsys.readouterr().err
    assert main(["build-engine", str(bad), "--shape", "1x3xAx4"]) == 1
    assert "must look like NAME:1x3x480x640" in capsys.readouterr().err


def test_precision_defaults_to_the_onnx_files_own(tiny_onnx, tmp_path):
    result = build_engine(tiny_onnx("q.onnx", precision="int8"), BuildOptions(precision=""), output_dir=str(tmp_path))
    sidecar = read_sidecar(result.path)
    assert sidecar.info["precision"] == "int8" and "--precision int8" in sidecar.info["rebuild_command"]


# -- the TensorRT rules check before any TensorRT call -------------------------------------------------------------


def _with_int32_bias(path):
    """The tiny int8 model with its Conv bias quantized to INT32 behind a DequantizeLinear (ORT's default)."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(path)
    model.graph.initializer.extend([
        numpy_helper.from_array(np.array([12], np.int32), "bias_q"),
        numpy_helper.from_array(np.array([0.001], np.float32), "bias_scale"),
        numpy_helper.from_array(np.array([0], np.int32), "bias_zp")])
    conv = next(n for n in model.graph.node if n.op_type == "Conv")
    conv.input.append("bias")
    index = list(model.graph.node).index(conv)
    model.graph.node.insert(index, helper.make_node("DequantizeLinear", ["bias_q", "bias_scale", "bias_zp"], ["bias"],
                                                    name="conv_bias_dq", axis=0))
    onnx.save(model, path)
    return path


def test_a_file_tensorrt_rejects_is_refused_before_building(tiny_onnx, tmp_path, capsys):
    bad = _with_int32_bias(tiny_onnx("bad-int8.onnx", precision="int8"))
    out = tmp_path / "engines"
    assert main(["build-engine", bad, "--output-dir", str(out)]) == 1
    err = capsys.readouterr().err
    assert "bad-int8.onnx breaks TensorRT 8.5, 8.6, 10.x, 11.x rules (no TensorRT here" in err
    assert "node 'conv_bias_dq' (DequantizeLinear): input 'bias_q' is INT32" in err
    assert not out.exists() or list(out.iterdir()) == []
    # ONNX Runtime runs it: asked for explicitly, it is built
    assert main(["build-engine", bad, "--backend", "onnxruntime", "--output-dir", str(out)]) == 0


def test_with_tensorrt_the_check_is_for_the_installed_version(tiny_onnx, monkeypatch):
    import onnx

    from edge_saliency import system
    from edge_saliency.engine import build

    path = tiny_onnx("noz.onnx", precision="int8")  # drop the zero points: 8.5 / 8.6 need them
    model = onnx.load(path)
    for node in model.graph.node:
        if node.op_type in ("QuantizeLinear", "DequantizeLinear"):
            del node.input[2]
    onnx.save(model, path)
    monkeypatch.setattr(system, "tensorrt_version", lambda: "8.6.1.5")
    with pytest.raises(UserError, match="noz.onnx breaks TensorRT 8.6 rules:\n  node 'quantizelinear_0'"):
        build._check_tensorrt_rules(path, "auto", "tensorrt")
    monkeypatch.setattr(system, "tensorrt_version", lambda: "10.16.0.72")
    summary = build._check_tensorrt_rules(path, "auto", "tensorrt")
    assert summary["versions"] == {"10.x": "pass"}
    assert any("UINT8" in w for w in summary["warnings"])  # 10.x reads them as INT8
    assert build._check_tensorrt_rules(path, "onnxruntime", "onnxruntime") is None


def _classifier(path):
    """An image classifier: 1×3×32×32 in, 1×3 scores out (a valid ONNX file, no saliency model)."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("GlobalAveragePool", ["image"], ["pooled"]), helper.make_node("Flatten", ["pooled"], ["y"])],
        "classifier", [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return str(path)


def test_a_model_that_is_no_saliency_model_is_refused_at_build_time_as_run_refuses_it(tmp_path, capsys):
    from edge_saliency.runners import create_runner, saliency_maps

    model = _classifier(tmp_path / "classifier.onnx")
    assert main(["build-engine", model, "--backend", "onnxruntime", "--output-dir", str(tmp_path / "engines")]) == 1
    built_error = capsys.readouterr().err.strip()
    assert not (tmp_path / "engines").exists() or not list((tmp_path / "engines").iterdir())
    with create_runner(model, "onnxruntime") as runner:  # what run meets at its first frame
        with pytest.raises(UserError) as run_error:
            saliency_maps(runner.infer(np.zeros((1, 3, 32, 32), np.float32)))
    assert built_error == "edge-saliency: error: {}: {}".format(model, run_error.value)


def test_an_artifact_without_its_sidecar_runs_with_a_warning_as_an_engine_does(tiny_onnx, tmp_path, caplog):
    import logging
    import os

    from edge_saliency.files.sidecar import sidecar_path
    from edge_saliency.runners import create_runner

    built = build_engine(tiny_onnx(), BuildOptions(precision="fp32"), backend="onnxruntime",
                         output_dir=str(tmp_path / "engines"))
    os.remove(sidecar_path(built.path))
    with caplog.at_level(logging.WARNING, logger="edge_saliency"):
        with create_runner(built.path, "onnxruntime") as runner:
            runner.infer(np.zeros((1, 3, 32, 48), np.float32))
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warned == ["{} has no sidecar ({}.json): cannot check that it was built for this ONNX Runtime and "
                      "machine (rebuild it: edge-saliency build-engine MODEL.onnx --backend onnxruntime)".format(
                          built.path, built.path)]
