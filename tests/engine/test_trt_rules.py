"""The TensorRT rules check: crafted ONNX files with each pattern TensorRT rejects are flagged with the node's name
and the versions; our own files pass; the rule tables match NVIDIA's sources where ``../shared`` is present."""
import os
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edge_saliency.engine import trt_rules
from edge_saliency.engine.trt_parser_tables import TABLES
from edge_saliency.errors import UserError
from edge_saliency.plugins import upsample_op

from . import tensorrt_parser_tables
from .tensorrt_api import shared_tensorrt

ALL = ("8.5", "8.6", "10.x", "11.x")


def model(nodes, inits=(), inputs=None, outputs=None, opset=17, extra_opsets=()):
    inputs = inputs or [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])]
    outputs = outputs or [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]
    graph = helper.make_graph(nodes, "crafted", inputs, outputs, initializer=list(inits))
    opsets = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, 1) for d in extra_opsets]
    return helper.make_model(graph, opset_imports=opsets)


def tensor(name, array, dtype=None):
    array = np.asarray(array)
    return numpy_helper.from_array(array.astype(dtype) if dtype else array, name)


def findings(report, rule, node=None):
    return [f for f in report.findings if f.rule == rule and (node is None or f.node == node)]


def conv_with(bias_dtype=np.int32, zero_point=0, weight_zero_point=0, per_channel_activation=False,
              with_zero_point=True):
    """x -> Q -> DQ -> Conv(DQ(weight int8), DQ(bias)) : the Q/DQ pattern ONNX Runtime writes."""
    w = np.ones((2, 4, 3, 3), np.int8)
    act_scale = np.full(4, 0.1, np.float32) if per_channel_activation else np.float32(0.1)
    inits = [tensor("x_scale", act_scale), tensor("x_zp", np.full(act_scale.shape, zero_point, np.int8)),
             tensor("w_q", w), tensor("w_scale", np.full(2, 0.02, np.float32)),
             tensor("w_zp", np.full(2, weight_zero_point, np.int8)),
             tensor("b_q", np.array([100, -50]), bias_dtype), tensor("b_scale", np.full(2, 0.002, np.float32)),
             tensor("b_zp", np.zeros(2), bias_dtype)]
    q_inputs = ["x", "x_scale", "x_zp"] if with_zero_point else ["x", "x_scale"]
    dq_inputs = ["x_q", "x_scale", "x_zp"] if with_zero_point else ["x_q", "x_scale"]
    nodes = [helper.make_node("QuantizeLinear", q_inputs, ["x_q"], name="x_quant", axis=1),
             helper.make_node("DequantizeLinear", dq_inputs, ["x_dq"], name="x_dequant", axis=1),
             helper.make_node("DequantizeLinear", ["w_q", "w_scale", "w_zp"], ["w"], name="w_dequant", axis=0),
             helper.make_node("DequantizeLinear", ["b_q", "b_scale", "b_zp"], ["b"], name="conv_bias_dequant",
                              axis=0),
             helper.make_node("Conv", ["x_dq", "w", "b"], ["y"], name="conv", pads=[1, 1, 1, 1])]
    return model(nodes, inits)


def resize_model(name="up", **attrs):
    inits = [tensor("roi", np.zeros(0, np.float32)), tensor("scales", np.array([1, 1, 2, 2], np.float32))]
    node = helper.make_node("Resize", ["x", "roi", "scales"], ["y"], name=name, **attrs)
    return model([node], inits)


def plugin_model(**overrides):
    attrs = {"output_height": 16, "output_width": 16, "scale_height": 0.0, "scale_width": 0.0, "align_corners": 0,
             "plugin_version": "1", "plugin_namespace": ""}
    attrs.update(overrides)
    attrs = {k: v for k, v in attrs.items() if v is not None}
    node = helper.make_node(upsample_op.OP_TYPE, ["x"], ["y"], name="decoder_up_3", domain=upsample_op.DOMAIN, **attrs)
    return model([node], extra_opsets=[upsample_op.DOMAIN])


# -- each rejected pattern, flagged with the node name -----------------------------------------------------------


def test_an_int32_bias_behind_dequantize_linear_is_rejected_by_every_version():
    report = trt_rules.check_model(conv_with(bias_dtype=np.int32))
    (finding,) = findings(report, "dq-input-type")
    assert finding.node == "conv_bias_dequant" and finding.versions == ALL and finding.severity == "error"
    assert "'b_q' is INT32" in finding.line() and "node 'conv_bias_dequant' (DequantizeLinear)" in finding.line()
    assert not report.passes() and all(not report.passes(v) for v in ALL)
    assert trt_rules.check_model(conv_with(bias_dtype=np.int8)).passes()  # the same graph with an INT8 input


def test_asymmetric_zero_points_are_rejected():
    report = trt_rules.check_model(conv_with(bias_dtype=np.int8, zero_point=3, weight_zero_point=-1))
    flagged = {f.node for f in findings(report, "qdq-zero-point")}
    assert flagged == {"x_quant", "x_dequant", "w_dequant"}
    assert all(f.versions == ALL and f.severity == "error" for f in findings(report, "qdq-zero-point"))
    assert "values 3" in findings(report, "qdq-zero-point", "x_quant")[0].detail


def test_per_channel_activations_and_missing_zero_points():
    report = trt_rules.check_model(conv_with(bias_dtype=np.int8, per_channel_activation=True))
    assert {f.node for f in findings(report, "qdq-per-channel")} == {"x_quant", "x_dequant"}
    report = trt_rules.check_model(conv_with(bias_dtype=np.int8, with_zero_point=False))
    assert {(f.node, f.versions) for f in findings(report, "qdq-zero-point-input")} == {
        ("x_quant", ("8.5", "8.6")), ("x_dequant", ("8.5", "8.6"))}
    uint8 = findings(report, "qdq-uint8", "x_quant")  # no zero point: ONNX quantizes to UINT8
    assert {(f.severity, f.versions) for f in uint8} == {("error", ("8.5", "8.6")), ("warning", ("10.x", "11.x"))}
    assert report.passes("10.x") and not report.passes("8.6")


def test_bad_scales_are_rejected():
    broken = conv_with(bias_dtype=np.int8)
    for init in broken.graph.initializer:
        if init.name == "w_scale":
            init.CopyFrom(tensor("w_scale", np.array([0.02, -0.01], np.float32)))
        if init.name == "x_scale":
            init.CopyFrom(tensor("x_scale", np.full((1, 1), 0.1, np.float32)))
    report = trt_rules.check_model(broken)
    assert "values <= 0 (-0.01)" in findings(report, "qdq-scale", "w_dequant")[0].detail
    assert "shape [1, 1]" in findings(report, "qdq-scale", "x_quant")[0].detail


@pytest.mark.parametrize("attrs, rule, versions, severity", [
    ({"mode": "linear", "coordinate_transformation_mode": "tf_crop_and_resize"}, "resize-coordinates", ALL, "error"),
    ({"mode": "linear", "coordinate_transformation_mode": "half_pixel_symmetric"}, "resize-coordinates", ALL,
     "error"),
    ({"mode": "bicubic"}, "resize-mode", ALL, "error"),
    ({"mode": "cubic"}, "resize-mode", ALL, "warning"),  # table: unsupported; importer: kCUBIC
    ({"mode": "nearest", "nearest_mode": "truncate"}, "resize-nearest-mode", ALL, "error"),
    ({"mode": "nearest", "coordinate_transformation_mode": "tf_half_pixel_for_nn", "nearest_mode": "floor"},
     "resize-nearest-mode", ("8.5", "8.6"), "error"),
    ({"mode": "linear", "antialias": 1}, "resize-opset18", ("10.x", "11.x"), "error"),
])
def test_unsupported_resize_modes_are_flagged(attrs, rule, versions, severity):
    report = trt_rules.check_model(resize_model(name="decoder_resize_2", **attrs))
    hits = [f for f in findings(report, rule, "decoder_resize_2") if f.severity == severity]
    assert len(hits) == 1 and hits[0].versions == versions, [f.line() for f in report.findings]


def test_pytorch_bilinear_resize_passes():
    report = trt_rules.check_model(resize_model(mode="linear", coordinate_transformation_mode="pytorch_half_pixel"))
    assert report.findings == []


@pytest.mark.parametrize("overrides, rule, fragment", [
    ({"align_corners": 0.0}, "plugin-field-types", "'align_corners' is FLOAT: the parser hands it to the creator "
                                                   "as kFLOAT32, which expects kINT32"),
    ({"scale_height": 2}, "plugin-field-types", "'scale_height' is INT"),
    ({"plugin_version": 1}, "plugin-field-types", "'plugin_version' is INT"),
    ({"output_width": None}, "plugin-fields", "'output_width' is missing"),
    ({"plugin_version": "2"}, "plugin-lookup", "plugin_version '2'"),
])
def test_wrong_plugin_attributes_are_rejected(overrides, rule, fragment):
    report = trt_rules.check_model(plugin_model(**overrides))
    hits = findings(report, rule, "decoder_up_3")
    assert hits and hits[0].severity == "error" and hits[0].versions == ALL and fragment in hits[0].detail, \
        [f.line() for f in report.findings]
    assert hits[0].op_type == upsample_op.OP_TYPE


def test_plugin_node_as_exported_passes_and_extra_attributes_are_dropped():
    assert trt_rules.check_model(plugin_model()).findings == []
    report = trt_rules.check_model(plugin_model(mode="bilinear"))
    (hit,) = findings(report, "plugin-fields")
    assert hit.severity == "warning" and "'mode' is not a creator field" in hit.detail and report.passes()


def test_unsupported_ops_types_domains_and_opsets():
    nodes = [helper.make_node("Unique", ["x"], ["y"], name="uniq"),
             helper.make_node("Sigmoid", ["i"], ["s"], name="sig"),
             helper.make_node("Relu", ["x"], ["r"], name="custom_relu", domain="com.example")]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4]),
              helper.make_tensor_value_info("i", TensorProto.INT32, [1, 4])]
    outputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("y", "r")] + \
        [helper.make_tensor_value_info("s", TensorProto.INT32, None)]
    report = trt_rules.check_model(model(nodes, inputs=inputs, outputs=outputs, opset=18,
                                         extra_opsets=["com.example"]))
    assert findings(report, "op-supported", "uniq")[0].versions == ALL
    assert findings(report, "op-types", "sig")[0].versions == ALL and "'i' is INT32" in \
        findings(report, "op-types", "sig")[0].detail
    assert findings(report, "op-domain", "custom_relu")[0].severity == "warning"
    opset = findings(report, "opset")
    assert [(f.versions, f.severity) for f in opset] == [(("8.5",), "warning"), (("8.6",), "warning")]


def test_graph_io_types_and_dynamic_shapes():
    inputs = [helper.make_tensor_value_info("x", TensorProto.UINT16, ["N", 4])]
    report = trt_rules.check_model(model([helper.make_node("Identity", ["x"], ["y"], name="id")], inputs=inputs))
    (io,) = findings(report, "io-types")
    assert io.node == "graph input 'x'" and io.versions == ALL and "UINT16" in io.detail
    (dynamic,) = findings(report, "dynamic-shapes")
    assert dynamic.severity == "note" and "--shape x:" in dynamic.detail


def test_version_lines_and_the_refusal_message():
    assert [trt_rules.line_of(v) for v in ("8.5.2.2", "8.6", "10.3.0.30", "10.16", "11.4.1", "10.x")] == [
        "8.5", "8.6", "10.x", "10.x", "11.x", "10.x"]
    with pytest.raises(UserError, match="TensorRT 8.4.1 is not supported"):
        trt_rules.line_of("8.4.1")
    report = trt_rules.check_model(conv_with(bias_dtype=np.int32), ("8.6",))
    assert report.versions == ("8.6",) and report.findings[0].versions == ("8.6",)
    message = str(trt_rules.refusal("m.onnx", report))
    assert message.splitlines()[0] == "m.onnx breaks TensorRT 8.6 rules:"
    assert "node 'conv_bias_dequant' (DequantizeLinear)" in message.splitlines()[1]


def test_every_rule_is_documented_with_its_source():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, "docs", "tensorrt.md"), encoding="utf-8") as f:
        page = f.read()
    for rule in trt_rules.RULES.values():
        assert "`{}`".format(rule.id) in page, rule.id
        assert rule.sources


# -- our own files pass --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs", [{}, {"precision": "fp16"}, {"precision": "int8"},
                                    {"plugin": True, "dynamic": True}])
def test_tiny_models_pass(tiny_onnx, kwargs):
    report = trt_rules.check_file(tiny_onnx(**kwargs))
    assert report.passes() and not report.of("warning"), [f.line() for f in report.findings]


def test_inspect_tensorrt_cli(tmp_path, tiny_onnx):
    bad = str(tmp_path / "bad.onnx")
    onnx.save(conv_with(bias_dtype=np.int32), bad)
    good = tiny_onnx(precision="int8")
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    run = [sys.executable, "-m", "edge_saliency", "inspect"]
    result = subprocess.run(run + [bad, "--tensorrt", "8.5"], capture_output=True, text=True, env=env)
    assert result.returncode == 1, result.stderr
    assert "TensorRT      8.5 fail" in result.stdout
    assert "node 'conv_bias_dequant' (DequantizeLinear): input 'b_q' is INT32" in result.stdout
    result = subprocess.run(run + [good, "--tensorrt"], capture_output=True, text=True, env=env)
    assert result.returncode == 0 and "8.5 pass, 8.6 pass, 10.x pass, 11.x pass" in result.stdout, result.stderr


# -- the tables are NVIDIA's (where ../shared is present) -----------------------------------------------------


def test_parser_tables_match_the_onnx_tensorrt_sources():
    shared = shared_tensorrt()
    if shared is None:
        pytest.skip("../shared/tensorrt is not here (a user's clone)")
    fresh = tensorrt_parser_tables.derive(shared)
    assert set(fresh) == set(TABLES) == set(trt_rules.TABLE_OF.values())
    for branch, table in fresh.items():
        assert TABLES[branch]["opset"] == table["opset"], branch
        assert TABLES[branch]["data_types"].split() == list(table["data_types"]), branch
        assert TABLES[branch]["limited"].split() == list(table["limited"]), branch
        assert {op: types.split() for op, types in TABLES[branch]["ops"].items()} == \
            {op: list(types) for op, types in table["ops"].items()}, branch
    assert TABLES["8.5-GA"]["ops"]["DequantizeLinear"] == "INT8"
    assert "Unique" not in TABLES["8.5-GA"]["ops"]
