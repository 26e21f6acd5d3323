"""PyTorch → ONNX: names, shapes, opset, the plugin node, dynamic axes, simplification, parity with PyTorch."""
import numpy as np
import onnx
import pytest
import torch

from edge_saliency import create_model
from edge_saliency.errors import InputShapeError, UserError
from edge_saliency.export import graph
from edge_saliency.export.evaluate import eval_inputs, session_outputs, torch_outputs
from edge_saliency.plugins import upsample_op as contract
from edge_saliency.plugins.ort_op import create_session

from .conftest import SIZE

FP32_TOL = 1e-4  # the export gate


def _ops(proto):
    return [n.op_type for n in proto.graph.node]


def _max_diff(model, proto, inputs):
    refs = torch_outputs(model, inputs)
    outs = session_outputs(create_session(proto), inputs)
    return max(float(np.abs(r - o).max()) for r, o in zip(refs, outs))


@pytest.fixture(scope="module")
def native(lite):
    return graph.simplify(graph.export_onnx(lite, SIZE))


@pytest.fixture(scope="module")
def plugin(lite):
    return graph.simplify(graph.export_onnx(lite, SIZE, upsample="plugin"), plugin=True)


def test_native_export_names_shapes_opset_and_parity(lite, native):
    spec = graph.io_spec(native)
    assert spec["inputs"] == [{"name": "image", "dtype": "float32", "shape": [1, 3, *SIZE]}]
    assert spec["outputs"] == [{"name": "saliency", "dtype": "float32", "shape": [1, 1, *SIZE]}]
    assert graph.opset_of(native) >= 17
    assert "Resize" in _ops(native) and contract.OP_TYPE not in _ops(native)
    onnx.checker.check_model(native)
    assert _max_diff(lite, native, eval_inputs(SIZE, "opencv-area")) <= FP32_TOL


def test_plugin_nodes_follow_the_contract(lite, native, plugin):
    nodes = [n for n in plugin.graph.node if n.op_type == contract.OP_TYPE]
    # the stage-1 head: readouts 1..4 up to the /2 tap (map 0 is already there), then /2 -> input size
    assert len(nodes) == 5 and "Resize" not in _ops(plugin)
    sizes = set()
    for node in nodes:
        assert node.domain == contract.DOMAIN
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        assert set(attrs) == set(contract.INT_ATTRIBUTES + contract.FLOAT_ATTRIBUTES + contract.STRING_ATTRIBUTES)
        assert attrs["plugin_version"] == b"1" and attrs["plugin_namespace"] == b""
        assert attrs["align_corners"] == 0 and attrs["scale_height"] == attrs["scale_width"] == 0.0
        sizes.add((attrs["output_height"], attrs["output_width"]))
    assert sizes == {(SIZE[0] // 2, SIZE[1] // 2), SIZE}
    inputs = eval_inputs(SIZE, "opencv-area")
    native_out = session_outputs(create_session(native), inputs)
    plugin_out = session_outputs(create_session(plugin), inputs)
    for a, b in zip(native_out, plugin_out):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-5)
    assert _max_diff(lite, plugin, inputs) <= FP32_TOL


def test_plugin_twin_has_resize_nodes_with_the_same_tensors(plugin):
    twin = graph.plugin_to_native(plugin)
    assert _ops(twin).count("Resize") == 5 and contract.OP_TYPE not in _ops(twin)
    assert [n.output for n in twin.graph.node] == [n.output for n in plugin.graph.node]
    inputs = eval_inputs(SIZE, "opencv-area")
    for a, b in zip(session_outputs(create_session(twin), inputs), session_outputs(create_session(plugin), inputs)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)


@pytest.mark.parametrize("upsample", ["native", "plugin"])
def test_dynamic_export_runs_at_two_sizes_and_batches(lite, upsample):
    proto = graph.simplify(graph.export_onnx(lite, SIZE, dynamic=True, upsample=upsample), plugin=upsample == "plugin")
    spec = graph.io_spec(proto)
    assert spec["inputs"][0]["shape"] == ["batch", 3, "height", "width"]
    assert spec["outputs"][0]["shape"] == ["batch", 1, "height", "width"]
    inputs = eval_inputs(SIZE, "opencv-area", dynamic=True)
    assert {tuple(i.shape) for i in inputs} >= {(1, 3, 64, 96), (1, 3, 96, 160), (2, 3, 96, 160)}
    assert _max_diff(lite, proto, inputs) <= FP32_TOL
    if upsample == "plugin":
        scales = {tuple(onnx.helper.get_attribute_value(a) for a in n.attribute if a.name.startswith("scale"))
                  for n in proto.graph.node if n.op_type == contract.OP_TYPE}
        assert scales == {(2.0, 2.0), (4.0, 4.0), (8.0, 8.0), (16.0, 16.0)}


def test_official_preset_keeps_nearest_resizes_standard_in_plugin_mode():
    torch.manual_seed(0)
    model = create_model("emlnet-resnet50-official", decoder={"output_size": SIZE})
    proto = graph.simplify(graph.export_onnx(model, SIZE, upsample="plugin"), plugin=True)
    resizes = [n for n in proto.graph.node if n.op_type == "Resize"]
    assert contract.OP_TYPE not in _ops(proto) and resizes
    assert all(onnx.helper.get_attribute_value(a) == b"nearest" for n in resizes for a in n.attribute
               if a.name == "mode")
    assert _max_diff(model, proto, eval_inputs(SIZE, "opencv-area")[:2]) <= FP32_TOL


def test_metadata_holds_the_config(lite, native):
    graph.set_metadata(native, lite.config, precision="fp32")
    graph.set_metadata(native, lite.config, precision="fp16")  # replaces, does not duplicate
    meta = graph.read_metadata(native)
    assert meta["edge_saliency_precision"] == "fp16"
    assert [p.key for p in native.metadata_props].count("edge_saliency_precision") == 1
    assert meta["edge_saliency_config"] == lite.config.to_json()


def test_bad_options_are_clear_errors(lite):
    with pytest.raises(InputShapeError, match="not a multiple of 32"):
        graph.export_onnx(lite, (100, 96))
    with pytest.raises(UserError, match="opset"):
        graph.export_onnx(lite, SIZE, opset=13)
    with pytest.raises(UserError, match="--upsample"):
        graph.export_onnx(lite, SIZE, upsample="cuda")
    fixed = create_model("emlnet-lite").config
    import dataclasses

    from edge_saliency.config import DecoderConfig
    fused = dataclasses.replace(fixed, decoder=DecoderConfig(output_size=(64, 96)))
    with pytest.raises(UserError, match="fixed 64x96 output"):
        graph.check_export_options(fused, SIZE, dynamic=True, upsample="plugin", opset=17)


def _headline(size):
    torch.manual_seed(0)
    return create_model("emlnet-densenet161-nasnetlarge", input_size=size)


def test_headline_model_exports_and_matches_pytorch():
    model = _headline(SIZE)
    proto = graph.simplify(graph.export_onnx(model, SIZE))
    assert graph.io_spec(proto)["outputs"][0]["shape"] == [1, 1, *SIZE]
    inputs = eval_inputs(SIZE, "opencv-area")
    assert _max_diff(model, proto, [inputs[0], inputs[-1]]) <= FP32_TOL  # a photo and random input


@pytest.mark.slow
def test_headline_model_at_480x640_fp32_and_fp16():
    from edge_saliency.export import evaluate, fp16

    size = (480, 640)
    model = _headline(size)
    proto = graph.simplify(graph.export_onnx(model, size))
    inputs = eval_inputs(size, "opencv-area")[:3]
    refs = torch_outputs(model, inputs)
    result = evaluate.parity("fp32", inputs, refs, session_outputs(create_session(proto), inputs))
    assert result["passed"], result["failures"]
    half, _ = fp16.to_fp16(proto)
    result = evaluate.parity("fp16", inputs, refs, session_outputs(create_session(half), inputs))
    assert result["passed"], result["failures"]
