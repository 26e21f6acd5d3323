import json

from edge_saliency.cli import main


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


def test_inspect_takes_a_glob_over_the_cache_folder(tiny_onnx, tmp_path, capsys):
    assert main(["build-engine", tiny_onnx("m-fp32.onnx"), "--output-dir", str(tmp_path)]) == 0
    path = capsys.readouterr().out.strip().rsplit(" ", 1)[-1]
    assert "m-fp32-fp32" not in path  # the precision is named once
    assert main(["inspect", path, path + ".json"]) == 0  # what a shell glob gives: the file and its sidecar
    assert capsys.readouterr().out.count("onnxruntime: ") == 1


def _ort_artifact(onnx_path, out_dir, capsys, precision):
    assert main(["build-engine", onnx_path, "--precision", precision, "--backend", "onnxruntime",
                 "--output-dir", str(out_dir)]) == 0
    return capsys.readouterr().out.strip().rsplit(" ", 1)[-1]


def test_inspect_reports_the_precision_the_weights_of_an_ort_artifact_have(tiny_onnx, tmp_path, capsys):
    # ONNX Runtime folds the fp16 file's Cast: the artifact holds its weights as fp32, whatever it was built from
    import onnx

    path = _ort_artifact(tiny_onnx("m-fp16.onnx", precision="fp16"), tmp_path, capsys, "fp16")
    weights = {onnx.TensorProto.DataType.Name(t.data_type) for t in onnx.load(path).graph.initializer}
    assert weights == {"FLOAT"}  # (the independent look at the file)
    assert main(["inspect", path, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["precision"] == "fp32" and report["sidecar"]["info"]["precision"] == "fp16"
    assert report["built_from"].startswith("the fp16 ONNX ") and report["built_from"].endswith(
        "(ONNX Runtime's optimisation stored its weights as fp32)")
    int8 = _ort_artifact(tiny_onnx("m-int8.onnx", precision="int8"), tmp_path, capsys, "int8")
    assert main(["inspect", int8, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["precision"] == "int8" and report["built_from"] is None


def test_weights_precision_counts_weight_elements_and_quantized_ops():
    import numpy as np
    from onnx import TensorProto, helper

    from edge_saliency.engine.onnx_info import weights_precision

    def model(tensors, op="Identity"):
        inits = [helper.make_tensor("t{}".format(i), dtype, [n], np.zeros(n).tolist())
                 for i, (dtype, n) in enumerate(tensors)]
        node = helper.make_node(op, ["x"], ["y"])
        graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])], initializer=inits)
        return helper.make_model(graph)

    assert weights_precision(model([(TensorProto.FLOAT16, 100), (TensorProto.FLOAT, 2)])) == "fp16"
    assert weights_precision(model([(TensorProto.FLOAT16, 2), (TensorProto.FLOAT, 100)])) == "fp32"
    assert weights_precision(model([(TensorProto.INT64, 100)])) == "fp32"
    assert weights_precision(model([(TensorProto.FLOAT, 100)], op="DequantizeLinear")) == "int8"


def test_inspect_of_a_folder_says_it_is_a_folder(tmp_path, capsys):
    assert main(["inspect", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == ("edge-saliency: error: {} is a folder; inspect takes artifact files (.onnx, .engine, .ort.onnx): "
                   "e.g. edge-saliency inspect {}/*.onnx".format(tmp_path, tmp_path))
