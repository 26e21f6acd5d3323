"""The selftest's hand-serialised ONNX graphs are the graphs onnx.helper builds (the onnx package is the
reference), and run in ONNX Runtime to the contract's bilinear reference."""
import numpy as np
import pytest

from edge_saliency.plugins import upsample_op
from edge_saliency.prediction.selftest_graphs import IN_SHAPE, IR_VERSION, OUT_HW, tiny_upsample_onnx

onnx = pytest.importorskip("onnx")


def reference_model(plugin):
    """The same graph through onnx.helper (what the selftest built with onnx before)."""
    helper = onnx.helper
    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, list(IN_SHAPE))
    y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [IN_SHAPE[0], IN_SHAPE[1], *OUT_HW])
    if plugin:
        node = helper.make_node(
            upsample_op.OP_TYPE, ["x"], ["y"], domain=upsample_op.DOMAIN, output_height=OUT_HW[0],
            output_width=OUT_HW[1], scale_height=0.0, scale_width=0.0, align_corners=0,
            plugin_version=upsample_op.PLUGIN_VERSION, plugin_namespace=upsample_op.PLUGIN_NAMESPACE)
        initializers, opsets = [], [helper.make_opsetid("", 17), helper.make_opsetid(upsample_op.DOMAIN, 1)]
    else:
        sizes = helper.make_tensor("sizes", onnx.TensorProto.INT64, [4], [IN_SHAPE[0], IN_SHAPE[1], *OUT_HW])
        node = helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], mode="linear",
                                coordinate_transformation_mode="half_pixel")
        initializers, opsets = [sizes], [helper.make_opsetid("", 17)]
    graph = helper.make_graph([node], "selftest", [x], [y], initializer=initializers)
    return helper.make_model(graph, opset_imports=opsets)


@pytest.mark.parametrize("plugin", [False, True])
def test_the_bytes_are_the_graph_onnx_helper_builds(plugin):
    ours = onnx.load_from_string(tiny_upsample_onnx(plugin))
    reference = reference_model(plugin)
    assert ours.graph == reference.graph  # protobuf equality: every node, attribute, initializer, shape
    assert list(ours.opset_import) == list(reference.opset_import)
    assert ours.ir_version == IR_VERSION
    onnx.checker.check_model(ours)


def test_the_native_graph_runs_in_onnx_runtime_to_the_reference():
    ort = pytest.importorskip("onnxruntime")
    x = np.random.default_rng(1).random(IN_SHAPE, dtype=np.float32)
    session = ort.InferenceSession(tiny_upsample_onnx(False), providers=["CPUExecutionProvider"])
    got = session.run(None, {"x": x})[0]
    np.testing.assert_allclose(got, upsample_op.bilinear_resize(x, OUT_HW, align_corners=False), atol=1e-5)
