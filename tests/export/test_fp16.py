"""FP16: float32 I/O, float16 weights, sensitive ops in float32, CC >= 0.999 vs fp32 on real photos."""
import onnx
import pytest
from onnx import TensorProto

from edge_saliency.export import evaluate, fp16, graph
from edge_saliency.plugins import upsample_op as contract
from edge_saliency.plugins.ort_op import check_plugin_inputs_float32, create_session

from .conftest import SIZE


def _types(proto):
    inferred = onnx.shape_inference.infer_shapes(proto)
    values = list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output)
    return {v.name: v.type.tensor_type.elem_type for v in values}


@pytest.mark.parametrize("upsample", ["native", "plugin"])
def test_fp16_model(lite_trained, upsample):
    proto = graph.simplify(graph.export_onnx(lite_trained, SIZE, upsample=upsample), plugin=upsample == "plugin")
    half, facts = fp16.to_fp16(proto)
    io = graph.io_spec(half)
    assert [v["dtype"] for v in io["inputs"] + io["outputs"]] == ["float32", "float32"]
    inits = {t.name: t.data_type for t in half.graph.initializer}
    conv_weights = [n.input[1] for n in half.graph.node if n.op_type == "Conv"]
    assert conv_weights and all(inits[w] == TensorProto.FLOAT16 for w in conv_weights)
    types = _types(half)
    for node in half.graph.node:  # sensitive ops, the input normalization and plugin nodes compute in float32
        if node.op_type in ("Sigmoid", contract.OP_TYPE) or node.name in facts["fp32_nodes"]:
            assert types.get(node.output[0]) == TensorProto.FLOAT, node.name
    assert any(types.get(n.output[0]) == TensorProto.FLOAT16 for n in half.graph.node if n.op_type == "Resize") \
        or upsample == "plugin"
    assert len(facts["fp32_nodes"]) == 2 and "Sigmoid" in facts["fp32_op_types"]
    check_plugin_inputs_float32(half)
    inputs = evaluate.eval_inputs(SIZE, "opencv-area")
    refs = evaluate.torch_outputs(lite_trained, inputs)
    result = evaluate.parity("fp16", inputs, refs, evaluate.session_outputs(create_session(half), inputs))
    assert result["passed"], result["failures"]
    assert min(r["cc"] for r in result["results"] if r["real"]) >= 0.999


def test_input_normalization_chain_is_found(lite):
    proto = graph.export_onnx(lite, SIZE)
    names = fp16.input_normalization_nodes(proto)
    ops = {n.name: n.op_type for n in proto.graph.node}
    assert sorted(ops[n] for n in names) == ["Div", "Sub"]
