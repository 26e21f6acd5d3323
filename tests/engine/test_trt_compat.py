"""Version adaptation, checked against fake TensorRT namespaces with the attribute sets of 8.5, 8.6, 10.x and
11.x: which features are detected, which calls the builder would get, which requests are refused."""
import types

import pytest

from edge_saliency.engine import trt_builder
from edge_saliency.engine.options import BuildOptions, ShapeRange
from edge_saliency.engine.trt_compat import TrtFeatures, apply_plan, network_creation_flags, parser_errors, plan_build
from edge_saliency.errors import UserError

from .conftest import FAKE_VERSIONS, make_fake_trt


def features(label):
    return TrtFeatures.detect(make_fake_trt(FAKE_VERSIONS[label]))


def test_feature_detection_follows_the_attribute_sets():
    f85, f86, f10, f11 = (features(v) for v in ("8.5", "8.6", "10.x", "11.x"))
    assert [f.explicit_batch_flag for f in (f85, f86, f10, f11)] == [True, True, False, False]
    assert [f.strongly_typed_flag for f in (f85, f86, f10, f11)] == [False, False, True, True]
    assert [f.precision_flags for f in (f85, f86, f10, f11)] == [True, True, True, False]
    assert [f.optimization_level for f in (f85, f86, f10, f11)] == [False, True, True, True]
    assert [f.version_compatible_flag for f in (f85, f86, f10, f11)] == [False, True, True, True]
    assert [f.plugins_to_serialize for f in (f85, f86, f10, f11)] == [False, False, True, True]
    assert [f.parser_node_names for f in (f85, f86, f10, f11)] == [False, True, True, True]


@pytest.mark.parametrize("label, precision, onnx_precision, network, flags", [
    ("8.5", "fp32", "fp32", ["EXPLICIT_BATCH"], []),
    ("8.5", "fp16", "fp32", ["EXPLICIT_BATCH"], ["FP16"]),
    ("8.6", "int8", "int8", ["EXPLICIT_BATCH"], ["FP16", "INT8"]),
    ("10.x", "fp16", "fp32", [], ["FP16"]),
    ("10.x", "int8", "int8", [], ["FP16", "INT8"]),
    ("11.x", "fp32", "fp32", ["STRONGLY_TYPED"], []),
    ("11.x", "fp16", "fp16", ["STRONGLY_TYPED"], []),
    ("11.x", "int8", "int8", ["STRONGLY_TYPED"], []),
])
def test_precision_plans(label, precision, onnx_precision, network, flags):
    plan = plan_build(features(label), BuildOptions(precision=precision), onnx_precision)
    assert plan.network_flags == network
    assert plan.set_flags == flags
    assert plan.strongly_typed == (label == "11.x")


def test_tensorrt_11_needs_the_precision_in_the_onnx_file():
    with pytest.raises(UserError, match=r"fp16 ONNX .*edge-saliency export MODEL --precision fp16"):
        plan_build(features("11.x"), BuildOptions(precision="fp16"), "fp32")
    with pytest.raises(UserError, match="no FP16 builder flag"):
        plan_build(features("11.x"), BuildOptions(precision="fp16", typing="weak"), "fp32")


@pytest.mark.parametrize("label", sorted(FAKE_VERSIONS))
def test_int8_needs_the_qdq_onnx_everywhere(label):
    with pytest.raises(UserError, match="Q/DQ ONNX made by calibration"):
        plan_build(features(label), BuildOptions(precision="int8"), "fp32")


def test_strong_typing_on_request():
    plan = plan_build(features("10.x"), BuildOptions(precision="fp16", typing="strong"), "fp16")
    assert plan.network_flags == ["STRONGLY_TYPED"] and plan.set_flags == []
    with pytest.raises(UserError, match="no strongly typed networks"):
        plan_build(features("8.6"), BuildOptions(precision="fp16", typing="strong"), "fp16")


def test_apply_plan_makes_the_expected_calls_on_10x():
    trt = make_fake_trt(FAKE_VERSIONS["10.x"])
    options = BuildOptions(precision="fp16", workspace_mib=512, optimization_level=2, dla_core=0, tf32=False)
    plan = plan_build(TrtFeatures.detect(trt), options, "fp32")
    apply_plan(trt, trt.IBuilderConfig(), plan)
    assert trt.calls == [
        ("set_flag", "FP16"), ("set_flag", "GPU_FALLBACK"), ("clear_flag", "TF32"),
        ("set_memory_pool_limit", "WORKSPACE", 512 << 20),
        ("config.builder_optimization_level", 2),
        ("config.default_device_type", "DLA"), ("config.DLA_core", 0),
    ]


def test_optimization_level_is_skipped_where_it_does_not_exist():
    trt = make_fake_trt(FAKE_VERSIONS["8.5"])
    plan = plan_build(TrtFeatures.detect(trt), BuildOptions(precision="fp32", optimization_level=5), "fp32")
    apply_plan(trt, trt.IBuilderConfig(), plan)
    assert trt.calls == [] and any("--opt-level ignored" in n for n in plan.notes)


def test_version_compatible_engines():
    with pytest.raises(UserError, match="TensorRT >= 8.6"):
        plan_build(features("8.5"), BuildOptions(precision="fp32", version_compatible=True), "fp32")
    with pytest.raises(UserError, match="plugins_to_serialize"):
        plan_build(features("8.6"), BuildOptions(precision="fp32", version_compatible=True, plugins=["p.so"]), "fp32")
    trt = make_fake_trt(FAKE_VERSIONS["10.x"])
    plan = plan_build(TrtFeatures.detect(trt), BuildOptions(precision="fp32", version_compatible=True,
                                                             plugins=["/x/libplugin.so"]), "fp32")
    apply_plan(trt, trt.IBuilderConfig(), plan)
    assert ("set_flag", "VERSION_COMPATIBLE") in trt.calls
    assert ("config.plugins_to_serialize", ["/x/libplugin.so"]) in trt.calls
    assert plan.host_code


def test_network_creation_flags_are_bit_masks():
    trt8 = make_fake_trt(FAKE_VERSIONS["8.6"])
    plan = plan_build(TrtFeatures.detect(trt8), BuildOptions(precision="fp32"), "fp32")
    assert network_creation_flags(trt8, plan) == 1 << int(trt8.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    trt11 = make_fake_trt(FAKE_VERSIONS["11.x"])
    plan = plan_build(TrtFeatures.detect(trt11), BuildOptions(precision="fp32"), "fp32")
    assert network_creation_flags(trt11, plan) == 1 << int(trt11.NetworkDefinitionCreationFlag.STRONGLY_TYPED)


def test_parser_errors_name_the_node_where_tensorrt_says_which():
    def error(index, desc, name=None, op=None):
        e = types.SimpleNamespace(node=lambda: index, desc=lambda: desc)
        if name is not None:
            e.node_name, e.node_operator = (lambda: name), (lambda: op)
        return e

    errors = [error(3, "Unsupported op", "up_0", "BilinearUpsample_TRT"), error(7, "bad weights")]
    parser = types.SimpleNamespace(num_errors=2, get_error=lambda i: errors[i])
    assert parser_errors(parser) == [
        "node 3 'up_0' (BilinearUpsample_TRT): Unsupported op",
        "node 7: bad weights",
    ]


# -- the thin layer, run against a fake module ------------------------------------------------------------


def _patch(monkeypatch, trt):
    monkeypatch.setattr(trt_builder, "load_tensorrt", lambda: trt)


def test_build_flow_on_a_static_onnx(monkeypatch, tmp_path):
    trt = make_fake_trt(FAKE_VERSIONS["8.6"])
    _patch(monkeypatch, trt)
    cache = tmp_path / "timing.cache"
    data, report = trt_builder.build_serialized_engine(
        "m.onnx", BuildOptions(precision="fp16", timing_cache=str(cache)), "fp32")
    assert data == b"FAKE ENGINE 8.6.2.3"
    names = trt.calls.names()
    assert names.index("init_libnvinfer_plugins") < names.index("parse_from_file") < names.index("set_flag")
    assert ("create_network", 1) in trt.calls  # EXPLICIT_BATCH
    assert "set_shape" not in names  # static shapes need no profile
    assert cache.read_bytes() == b"timing-cache"
    assert report.inputs == [{"name": "image", "shape": [1, 3, 32, 48], "dtype": "float"}]


def test_dynamic_inputs_need_shapes_and_get_a_profile(monkeypatch):
    trt = make_fake_trt(FAKE_VERSIONS["10.x"], network_inputs=[("image", (-1, 3, -1, -1))])
    _patch(monkeypatch, trt)
    with pytest.raises(UserError, match="dynamic dimensions: give the sizes with --shape"):
        trt_builder.build_serialized_engine("m.onnx", BuildOptions(precision="fp32"), "fp32")
    shapes = {"image": ShapeRange((1, 3, 256, 320), (2, 3, 480, 640), (4, 3, 480, 640))}
    trt_builder.build_serialized_engine("m.onnx", BuildOptions(precision="fp32", shapes=shapes), "fp32")
    assert ("set_shape", "image", (1, 3, 256, 320), (2, 3, 480, 640), (4, 3, 480, 640)) in trt.calls
    assert ("add_optimization_profile",) in trt.calls


def test_a_failed_build_is_a_user_error(monkeypatch):
    _patch(monkeypatch, make_fake_trt(FAKE_VERSIONS["10.x"], build_ok=False))
    with pytest.raises(UserError, match="failed to build"):
        trt_builder.build_serialized_engine("m.onnx", BuildOptions(precision="fp32"), "fp32")
