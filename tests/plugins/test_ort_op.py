"""The ONNX Runtime reference op of BilinearUpsample_TRT vs torch.nn.functional.interpolate."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper

from edge_saliency.errors import UserError
from edge_saliency.plugins import upsample_op as contract
from edge_saliency.plugins.ort_op import create_session, plugin_nodes


def _model(in_shape, out_hw=(0, 0), scales=(0.0, 0.0), align_corners=0, dtype=TensorProto.FLOAT, cast_to=None):
    nodes, src = [], "x"
    if cast_to is not None:
        nodes.append(helper.make_node("Cast", ["x"], ["xc"], to=cast_to))
        src = "xc"
    nodes.append(helper.make_node(
        contract.OP_TYPE, [src], ["y"], domain=contract.DOMAIN, output_height=out_hw[0], output_width=out_hw[1],
        scale_height=float(scales[0]), scale_width=float(scales[1]), align_corners=align_corners,
        plugin_version=contract.PLUGIN_VERSION, plugin_namespace=contract.PLUGIN_NAMESPACE,
    ))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", dtype, list(in_shape))],
                              [helper.make_tensor_value_info("y", cast_to or dtype, None)])
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid(contract.DOMAIN, 1)]
    return helper.make_model(graph, opset_imports=opsets)


@pytest.mark.parametrize("align_corners", [0, 1])
def test_static_size_matches_torch(align_corners):
    x = np.random.default_rng(1).random((2, 3, 5, 7), dtype=np.float32)
    model = _model(x.shape, out_hw=(20, 13), align_corners=align_corners)
    assert len(plugin_nodes(model)) == 1
    got = create_session(model).run(None, {"x": x})[0]
    expected = F.interpolate(torch.from_numpy(x), size=(20, 13), mode="bilinear", align_corners=bool(align_corners))
    np.testing.assert_allclose(got, expected.numpy(), rtol=0, atol=1e-6)


def test_scales_match_torch_scale_factor():
    x = np.random.default_rng(2).random((1, 1, 3, 4), dtype=np.float32)
    got = create_session(_model(x.shape, scales=(16.0, 8.0)).SerializeToString()).run(None, {"x": x})[0]
    expected = F.interpolate(torch.from_numpy(x), scale_factor=(16.0, 8.0), mode="bilinear", align_corners=False)
    assert got.shape == (1, 1, 48, 32)
    np.testing.assert_allclose(got, expected.numpy(), rtol=0, atol=1e-6)


def test_float16_input_is_refused_before_onnx_runtime_aborts():
    # the python custom-op API aborts the process on float16; create_session must refuse first
    model = _model((1, 1, 4, 4), out_hw=(8, 8), cast_to=TensorProto.FLOAT16)
    with pytest.raises(UserError, match="float32 only"):
        create_session(model)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="not found"):
        create_session(str(tmp_path / "none.onnx"))
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"garbage")
    with pytest.raises(UserError, match="cannot read"):
        create_session(str(bad))
