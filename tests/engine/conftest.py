"""Tiny ONNX models in the three precisions, and fake TensorRT modules imitating 8.6, 10.x and 11.x."""
import enum
import types

import numpy as np
import pytest

from edge_saliency.plugins import upsample_op


def tiny_saliency_onnx(path, precision="fp32", dynamic=False, plugin=False, size=(32, 48)):
    """image (N×3×H×W) -> Conv 3x3 (3->1) -> Sigmoid -> bilinear x2 down then back up -> saliency.

    fp16: fp16 weights behind a Cast (like an exported fp16 model with fp32 I/O); int8: Q/DQ around the
    conv input and weight (zero point 0, as our calibration writes them).
    """
    import onnx
    from onnx import TensorProto, helper

    h, w = size
    batch, height, width = ("N", "H", "W") if dynamic else (1, h, w)
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((1, 3, 3, 3)).astype(np.float32) * 0.3
    nodes, inits = [], []
    if precision == "fp16":
        inits.append(helper.make_tensor("w16", TensorProto.FLOAT16, weight.shape, weight.astype(np.float16).ravel()))
        nodes.append(helper.make_node("Cast", ["w16"], ["w"], to=TensorProto.FLOAT))
    else:
        inits.append(helper.make_tensor("w", TensorProto.FLOAT, weight.shape, weight.ravel()))
    conv_in = "image"
    if precision == "int8":
        inits += [helper.make_tensor("s_x", TensorProto.FLOAT, [], [1 / 127]),
                  helper.make_tensor("z_x", TensorProto.INT8, [], [0])]
        nodes += [helper.make_node("QuantizeLinear", ["image", "s_x", "z_x"], ["q_x"]),
                  helper.make_node("DequantizeLinear", ["q_x", "s_x", "z_x"], ["dq_x"])]
        conv_in = "dq_x"
    nodes += [helper.make_node("Conv", [conv_in, "w"], ["c"], pads=[1, 1, 1, 1]),
              helper.make_node("Sigmoid", ["c"], ["s"])]
    if plugin:
        nodes.append(helper.make_node(upsample_op.OP_TYPE, ["s"], ["saliency"], domain=upsample_op.DOMAIN,
                                      output_height=0, output_width=0, scale_height=1.0, scale_width=1.0,
                                      align_corners=0, plugin_version="1", plugin_namespace=""))
        opsets = [helper.make_opsetid("", 17), helper.make_opsetid(upsample_op.DOMAIN, 1)]
    else:
        nodes.append(helper.make_node("Identity", ["s"], ["saliency"]))
        opsets = [helper.make_opsetid("", 17)]
    graph = helper.make_graph(
        nodes, "tiny",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [batch, 3, height, width])],
        [helper.make_tensor_value_info("saliency", TensorProto.FLOAT, [batch, 1, height, width])],
        initializer=inits,
    )
    onnx.save(helper.make_model(graph, opset_imports=opsets), str(path))
    return str(path)


@pytest.fixture
def tiny_onnx(tmp_path):
    return lambda name="tiny.onnx", **kwargs: tiny_saliency_onnx(tmp_path / name, **kwargs)


# -- fake TensorRT ---------------------------------------------------------------------------------------


class Calls(list):
    def names(self):
        return [c[0] for c in self]


def make_fake_trt(version, calls=None, network_inputs=None, network_outputs=None, build_ok=True):
    """A namespace with the attribute set of that TensorRT version; objects record every call in ``calls``."""
    calls = Calls() if calls is None else calls
    major, minor = (int(p) for p in version.split(".")[:2])
    v = (major, minor)
    creation = ([] if major >= 11 else ["EXPLICIT_BATCH"]) + (["STRONGLY_TYPED"] if v >= (9, 0) else [])
    flags = ["TF32", "GPU_FALLBACK", "REFIT", "DEBUG"] + (["FP16", "INT8"] if major < 11 else []) + \
        (["VERSION_COMPATIBLE", "EXCLUDE_LEAN_RUNTIME"] if v >= (8, 6) else [])
    trt = types.SimpleNamespace(__version__=version)
    trt.NetworkDefinitionCreationFlag = enum.IntEnum("NetworkDefinitionCreationFlag", creation, start=0)
    trt.BuilderFlag = enum.IntEnum("BuilderFlag", flags, start=0)
    trt.MemoryPoolType = enum.IntEnum("MemoryPoolType", ["WORKSPACE"], start=0)
    trt.DeviceType = enum.IntEnum("DeviceType", ["GPU", "DLA"], start=0)
    trt.TensorIOMode = enum.IntEnum("TensorIOMode", ["NONE", "INPUT", "OUTPUT"], start=0)
    trt.ProfilingVerbosity = enum.IntEnum("ProfilingVerbosity", ["LAYER_NAMES_ONLY", "NONE", "DETAILED"], start=0)
    trt.LayerInformationFormat = enum.IntEnum("LayerInformationFormat", ["ONELINE", "JSON"], start=0)
    inputs = network_inputs or [("image", (1, 3, 32, 48))]
    outputs = network_outputs or [("saliency", (1, 1, 32, 48))]

    class ILogger:
        INTERNAL_ERROR, ERROR, WARNING, INFO, VERBOSE = range(5)

        def __init__(self):
            pass

    class Tensor:
        def __init__(self, name, shape):
            self.name, self.shape, self.dtype = name, list(shape), "DataType.FLOAT"

    class Network:
        def __init__(self, flags):
            self.flags = flags
            self.num_inputs, self.num_outputs = len(inputs), len(outputs)

        def get_input(self, i):
            return Tensor(*inputs[i])

        def get_output(self, i):
            return Tensor(*outputs[i])

    class OnnxParser:
        def __init__(self, network, logger):
            self.num_errors = 0

        def parse_from_file(self, path):
            calls.append(("parse_from_file", path))
            return True

    class Profile:
        def set_shape(self, name, lo, opt, hi):
            calls.append(("set_shape", name, tuple(lo), tuple(opt), tuple(hi)))

    class TimingCache:
        def serialize(self):
            return b"timing-cache"

    class IBuilderConfig:
        def set_flag(self, flag):
            calls.append(("set_flag", flag.name))

        def clear_flag(self, flag):
            calls.append(("clear_flag", flag.name))

        def add_optimization_profile(self, profile):
            calls.append(("add_optimization_profile",))

        def create_timing_cache(self, data):
            calls.append(("create_timing_cache", bytes(data)))
            return TimingCache()

        def set_timing_cache(self, cache, ignore_mismatch):
            calls.append(("set_timing_cache",))

        def get_timing_cache(self):
            return TimingCache()

        def __setattr__(self, name, value):
            calls.append(("config." + name, getattr(value, "name", value)))
            object.__setattr__(self, name, value)

    if v >= (8, 4):
        IBuilderConfig.set_memory_pool_limit = lambda self, pool, size: calls.append(
            ("set_memory_pool_limit", pool.name, size))
    if v >= (8, 6):
        IBuilderConfig.builder_optimization_level = 3
    if major >= 10:
        IBuilderConfig.plugins_to_serialize = []

    class Builder:
        def __init__(self, logger):
            self.logger = logger

        def create_network(self, flags):
            calls.append(("create_network", flags))
            return Network(flags)

        def create_builder_config(self):
            return IBuilderConfig()

        def create_optimization_profile(self):
            return Profile()

        def build_serialized_network(self, network, config):
            calls.append(("build_serialized_network",))
            return b"FAKE ENGINE " + version.encode() if build_ok else None

    class ParserError:
        def node_name(self):
            return ""

    class Runtime:
        engine_host_code_allowed = False

        def __init__(self, logger):
            pass

        def deserialize_cuda_engine(self, data):
            calls.append(("deserialize_cuda_engine", bytes(data)))
            return types.SimpleNamespace(data=bytes(data))

    trt.ILogger, trt.Builder, trt.OnnxParser, trt.IBuilderConfig = ILogger, Builder, OnnxParser, IBuilderConfig
    trt.Runtime, trt.Dims = Runtime, tuple
    if v >= (8, 6):
        trt.ParserError = ParserError
    trt.ICudaEngine = type("ICudaEngine", (), {"create_engine_inspector": None})
    trt.init_libnvinfer_plugins = lambda logger, namespace: calls.append(("init_libnvinfer_plugins",))
    trt.calls = calls
    return trt


FAKE_VERSIONS = {"8.5": "8.5.2.2", "8.6": "8.6.2.3", "10.x": "10.3.0.30", "11.x": "11.4.1.6"}


@pytest.fixture(params=sorted(FAKE_VERSIONS), ids=sorted(FAKE_VERSIONS))
def fake_trt(request):
    return make_fake_trt(FAKE_VERSIONS[request.param])
