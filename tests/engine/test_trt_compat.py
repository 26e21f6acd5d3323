"""Version adaptation, checked against fake TensorRT modules with the names of the real bindings of 8.5.3, 8.6.1,
10.0, 10.16 and 11.1 (tensorrt_api.json): which features are detected, which calls the builder would get, which
requests are refused."""
import types

import pytest

from edge_saliency.engine import trt_builder
from edge_saliency.engine.options import BuildOptions, ShapeRange
from edge_saliency.engine.trt_compat import TrtFeatures, apply_plan, network_creation_flags, parser_errors, plan_build
from edge_saliency.errors import UserError

from .conftest import VERSION_IDS, make_fake_trt


def features(version):
    return TrtFeatures.detect(make_fake_trt(version))


def test_feature_detection_follows_the_real_bindings():
    found = [features(v) for v in VERSION_IDS]  # 8.5.3, 8.6.1, 10.0, 10.16, 11.1

    def column(attr):
        return [getattr(f, attr) for f in found]

    assert column("explicit_batch_flag") == [True, True, False, False, False]
    assert column("strongly_typed_flag") == [False, False, True, True, True]
    assert column("precision_flags") == [True, True, True, True, False]
    assert column("precision_flags_deprecated") == [False, False, False, True, False]
    assert column("always_strongly_typed") == [False, False, False, False, True]
    assert column("optimization_level") == [False, True, True, True, True]
    assert column("version_compatible_flag") == [False, True, True, True, True]
    assert column("plugins_to_serialize") == [False, True, True, True, True]  # from 8.6, not 10
    assert column("host_code_switch") == [False, True, True, True, True]  # 8.5.3 has none
    assert column("parser_node_names") == [False, False, True, True, True]  # from 10.0, not 8.6
    assert column("memory_pool_api") == [True] * 5


@pytest.mark.parametrize("version, precision, onnx_precision, network, flags, strong", [
    ("8.5.3", "fp32", "fp32", ["EXPLICIT_BATCH"], [], False),
    ("8.5.3", "fp16", "fp32", ["EXPLICIT_BATCH"], ["FP16"], False),
    ("8.6.1", "int8", "int8", ["EXPLICIT_BATCH"], ["FP16", "INT8"], False),
    ("10.0", "fp16", "fp32", [], ["FP16"], False),
    ("10.0", "int8", "int8", [], ["FP16", "INT8"], False),
    # 10.12+: the flags are deprecated; a file that carries its precision builds strongly typed
    ("10.16", "fp32", "fp32", ["STRONGLY_TYPED"], [], True),
    ("10.16", "fp16", "fp16", ["STRONGLY_TYPED"], [], True),
    ("10.16", "int8", "int8", ["STRONGLY_TYPED"], [], True),
    ("10.16", "fp16", "fp32", [], ["FP16"], False),  # only the deprecated flag does this
    # 11.x: always strongly typed; its STRONGLY_TYPED flag is deprecated and ignored, so it is not set
    ("11.1", "fp32", "fp32", [], [], True),
    ("11.1", "fp16", "fp16", [], [], True),
    ("11.1", "int8", "int8", [], [], True),
])
def test_precision_plans(version, precision, onnx_precision, network, flags, strong):
    plan = plan_build(features(version), BuildOptions(precision=precision), onnx_precision)
    assert plan.network_flags == network
    assert plan.set_flags == flags
    assert plan.strongly_typed == strong


def test_deprecated_precision_flags_warn_with_the_export_command():
    plan = plan_build(features("10.16"), BuildOptions(precision="fp16"), "fp32")
    assert len(plan.warnings) == 1 and "\n" not in plan.warnings[0]
    assert "deprecates the FP16 builder flag" in plan.warnings[0]
    assert "edge-saliency export MODEL --precision fp16" in plan.warnings[0]
    assert plan_build(features("10.0"), BuildOptions(precision="fp16"), "fp32").warnings == []
    weak = plan_build(features("10.16"), BuildOptions(precision="int8", typing="weak"), "int8")
    assert weak.set_flags == ["FP16", "INT8"] and "FP16/INT8 builder flags" in weak.warnings[0]


def test_tensorrt_11_needs_the_precision_in_the_onnx_file():
    with pytest.raises(UserError, match=r"fp16 ONNX .*edge-saliency export MODEL --precision fp16"):
        plan_build(features("11.1"), BuildOptions(precision="fp16"), "fp32")
    with pytest.raises(UserError, match="no FP16 builder flag.*edge-saliency export MODEL --precision fp16"):
        plan_build(features("11.1"), BuildOptions(precision="fp16", typing="weak"), "fp32")


@pytest.mark.parametrize("version", VERSION_IDS)
def test_int8_needs_the_qdq_onnx_everywhere(version):
    with pytest.raises(UserError, match="Q/DQ ONNX made by calibration"):
        plan_build(features(version), BuildOptions(precision="int8"), "fp32")


def test_strong_typing_on_request():
    plan = plan_build(features("10.0"), BuildOptions(precision="fp16", typing="strong"), "fp16")
    assert plan.network_flags == ["STRONGLY_TYPED"] and plan.set_flags == []
    with pytest.raises(UserError, match="no strongly typed networks"):
        plan_build(features("8.6.1"), BuildOptions(precision="fp16", typing="strong"), "fp16")


@pytest.mark.parametrize("version", VERSION_IDS)
def test_every_plan_applies_to_that_versions_names(version):
    """apply_plan + network_creation_flags only touch names the version has (the fake raises otherwise)."""
    trt = make_fake_trt(version)
    found = TrtFeatures.detect(trt)
    onnx_precisions = {"fp32": "fp32", "fp16": "fp16" if found.always_strongly_typed else "fp32", "int8": "int8"}
    for precision, onnx_precision in onnx_precisions.items():
        options = BuildOptions(precision=precision, workspace_mib=64, optimization_level=2, tf32=False,
                               dla_core=0 if precision != "fp32" else None,
                               version_compatible=found.version_compatible_flag)
        plan = plan_build(found, options, onnx_precision)
        network_creation_flags(trt, plan)
        apply_plan(trt, trt.IBuilderConfig(), plan)


def test_apply_plan_makes_the_expected_calls_on_10_0():
    trt = make_fake_trt("10.0")
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
    trt = make_fake_trt("8.5.3")
    plan = plan_build(TrtFeatures.detect(trt), BuildOptions(precision="fp32", optimization_level=5), "fp32")
    apply_plan(trt, trt.IBuilderConfig(), plan)
    assert trt.calls == [] and any("--opt-level ignored" in n for n in plan.notes)


def test_version_compatible_engines():
    with pytest.raises(UserError, match="TensorRT >= 8.6"):
        plan_build(features("8.5.3"), BuildOptions(precision="fp32", version_compatible=True), "fp32")
    for version in ("8.6.1", "10.16"):  # plugins_to_serialize exists from 8.6
        trt = make_fake_trt(version)
        plan = plan_build(TrtFeatures.detect(trt), BuildOptions(precision="fp32", version_compatible=True,
                                                                 plugins=["/x/libplugin.so"]), "fp32")
        apply_plan(trt, trt.IBuilderConfig(), plan)
        assert ("set_flag", "VERSION_COMPATIBLE") in trt.calls
        assert ("config.plugins_to_serialize", ["/x/libplugin.so"]) in trt.calls
        assert plan.host_code


def test_network_creation_flags_are_bit_masks():
    trt8 = make_fake_trt("8.6.1")
    plan = plan_build(TrtFeatures.detect(trt8), BuildOptions(precision="fp32"), "fp32")
    assert network_creation_flags(trt8, plan) == 1 << int(trt8.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    trt10 = make_fake_trt("10.16")
    plan = plan_build(TrtFeatures.detect(trt10), BuildOptions(precision="fp32"), "fp32")
    assert network_creation_flags(trt10, plan) == 1 << int(trt10.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    trt11 = make_fake_trt("11.1")
    assert network_creation_flags(trt11, plan_build(TrtFeatures.detect(trt11), BuildOptions(precision="fp32"),
                                                    "fp32")) == 0


def _parser_error(index, desc, name=None, op=None):
    error = types.SimpleNamespace(node=lambda: index, desc=lambda: desc)
    if name is not None:  # 10.0+
        error.node_name, error.node_operator = (lambda: name), (lambda: op)
    return error


def test_parser_errors_name_the_node_on_every_version():
    nodes = [("conv_0", "Conv"), ("up_0", "BilinearUpsample_TRT"), ("dq_7", "DequantizeLinear")]
    # 10.0+: TensorRT names the node
    errors = [_parser_error(1, "Unsupported op", "up_0", "BilinearUpsample_TRT")]
    parser = types.SimpleNamespace(num_errors=1, get_error=lambda i: errors[i])
    assert parser_errors(parser) == ["node 1 'up_0' (BilinearUpsample_TRT): Unsupported op"]
    # 8.5 / 8.6: node() is the index in the ONNX graph; the graph names it
    errors = [_parser_error(2, "only activation types allowed"), _parser_error(-1, "bad model")]
    parser = types.SimpleNamespace(num_errors=2, get_error=lambda i: errors[i])
    assert parser_errors(parser, nodes) == ["node 2 'dq_7' (DequantizeLinear): only activation types allowed",
                                            "model: bad model"]
    assert parser_errors(parser) == ["node 2: only activation types allowed", "model: bad model"]


# -- the thin layer, run against a fake module ------------------------------------------------------------


def _patch(monkeypatch, trt):
    monkeypatch.setattr(trt_builder, "load_tensorrt", lambda: trt)


@pytest.mark.parametrize("version", VERSION_IDS)
def test_build_flow_on_every_version(monkeypatch, tmp_path, version):
    trt = make_fake_trt(version)
    _patch(monkeypatch, trt)
    cache = tmp_path / "timing.cache"
    precision = "fp32" if version == "11.1" else "fp16"
    data, report = trt_builder.build_serialized_engine(
        "m.onnx", BuildOptions(precision=precision, timing_cache=str(cache), workspace_mib=256), "fp32")
    assert data == b"FAKE ENGINE " + trt.__version__.encode()
    names = trt.calls.names()
    assert names.index("init_libnvinfer_plugins") < names.index("parse_from_file") < \
        names.index("set_memory_pool_limit")
    assert "set_shape" not in names  # static shapes need no profile
    assert cache.read_bytes() == b"timing-cache"
    assert report.inputs == [{"name": "image", "shape": [1, 3, 32, 48], "dtype": "float"}]
    if version.startswith("8."):
        assert ("create_network", 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)) in trt.calls


def test_dynamic_inputs_need_shapes_and_get_a_profile(monkeypatch):
    trt = make_fake_trt("10.16", network_inputs=[("image", (-1, 3, -1, -1))])
    _patch(monkeypatch, trt)
    with pytest.raises(UserError, match="dynamic dimensions: give the sizes with --shape"):
        trt_builder.build_serialized_engine("m.onnx", BuildOptions(precision="fp32"), "fp32")
    shapes = {"image": ShapeRange((1, 3, 256, 320), (2, 3, 480, 640), (4, 3, 480, 640))}
    trt_builder.build_serialized_engine("m.onnx", BuildOptions(precision="fp32", shapes=shapes), "fp32")
    assert ("set_shape", "image", (1, 3, 256, 320), (2, 3, 480, 640), (4, 3, 480, 640)) in trt.calls
    assert ("add_optimization_profile",) in trt.calls


def test_a_failed_build_is_a_user_error(monkeypatch):
    _patch(monkeypatch, make_fake_trt("10.16", build_ok=False))
    with pytest.raises(UserError, match="failed to build"):
        trt_builder.build_serialized_engine("m.onnx", BuildOptions(precision="fp32"), "fp32")


@pytest.mark.parametrize("version", ["8.6.1", "10.16"])
def test_a_parse_failure_names_the_node_on_8x_and_10x(monkeypatch, tiny_onnx, version):
    path = tiny_onnx(precision="int8")  # nodes: QuantizeLinear, DequantizeLinear, Conv, ...
    import onnx

    names = [(n.name, n.op_type) for n in onnx.load(path).graph.node]
    error = (1, "only activation types allowed as input to this layer") + names[1]  # 10.x: the parser names it
    trt = make_fake_trt(version, parse_errors=[error if version == "10.16" else error[:2]])
    _patch(monkeypatch, trt)
    with pytest.raises(UserError) as error:
        trt_builder.build_serialized_engine(path, BuildOptions(precision="int8"), "int8")
    assert names[1] == ("dequantizelinear_1", "DequantizeLinear")
    assert "node 1 'dequantizelinear_1' (DequantizeLinear): only activation types allowed" in str(error.value)


# -- names a version lacks: the fakes fail where the real module would -----------------------------------------


def test_a_name_the_version_lacks_fails_for_that_version():
    """The check that found issue 11's AttributeError: 8.5.3's Runtime has no engine_host_code_allowed."""
    runtime = make_fake_trt("8.5.3").Runtime(None)
    with pytest.raises(AttributeError, match="TensorRT 8.5.3 has no Runtime.engine_host_code_allowed"):
        runtime.engine_host_code_allowed = True  # what deserialize_engine did before it checked
    with pytest.raises(AttributeError, match="TensorRT 8.6.1 has no ParserError.node_name"):
        make_fake_trt("8.6.1").ParserError().node_name()
    with pytest.raises(AttributeError, match="TensorRT 11.1 has no tensorrt.IInt8EntropyCalibrator2"):
        make_fake_trt("11.1").IInt8EntropyCalibrator2  # noqa: B018
    make_fake_trt("8.6.1").Runtime(None).engine_host_code_allowed = True  # 8.6 has it


@pytest.mark.parametrize("version", VERSION_IDS)
def test_deserialize_with_host_code_on_every_version(monkeypatch, version):
    trt = make_fake_trt(version)
    _patch(monkeypatch, trt)
    engine = trt_builder.deserialize_engine(b"ENGINE", [], allow_host_code=True)
    assert isinstance(engine, trt.ICudaEngine)
    assert (("runtime.engine_host_code_allowed", True) in trt.calls) == (version != "8.5.3")


@pytest.mark.parametrize("version", VERSION_IDS)
def test_engine_io_and_layers_on_every_version(monkeypatch, version):
    trt = make_fake_trt(version)
    _patch(monkeypatch, trt)
    engine = trt_builder.deserialize_engine(b"ENGINE", [])
    assert trt_builder.engine_io(engine) == [
        {"name": "image", "mode": "input", "shape": [1, 3, 32, 48], "dtype": "float"},
        {"name": "saliency", "mode": "output", "shape": [1, 1, 32, 48], "dtype": "float"}]
    assert trt_builder.engine_layers(engine) == '{"Layers": []}'
