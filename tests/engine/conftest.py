"""Tiny ONNX models in the three precisions, and fake TensorRT modules with the names of each real version."""

import numpy as np
import pytest

from edge_saliency.plugins import upsample_op

from .fake_tensorrt import RELEASES, VERSIONS, FakeModule


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
    for index, node in enumerate(nodes):
        node.name = "{}_{}".format(node.op_type.lower(), index)
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


# -- fake TensorRT: the names of each real version (tensorrt_api.json), the behaviour of a recording fake --------


class Calls(list):
    def names(self):
        return [c[0] for c in self]


FAKE_VERSIONS = dict(RELEASES)  # binding-source version -> the __version__ its fake reports
VERSION_IDS = list(VERSIONS)


def make_fake_trt(version, calls=None, network_inputs=None, network_outputs=None, build_ok=True, release=None,
                  parse_errors=()):
    """The ``tensorrt`` module of ``version`` (a key of FAKE_VERSIONS) whose objects record calls in ``calls``.

    Every name comes from the real bindings of that version: touching a name it lacks raises AttributeError.
    ``parse_errors``: (node index, description[, node name, operator]) of each error the parser reports.
    """
    calls = Calls() if calls is None else calls
    inputs = network_inputs or [("image", (1, 3, 32, 48))]
    outputs = network_outputs or [("saliency", (1, 1, 32, 48))]
    trt = None  # the module, once built: the behaviours below create each other's objects through it

    class Dims:
        def __init__(self, shape=()):
            self._dims = tuple(int(d) for d in shape)

        def __len__(self):
            return len(self._dims)

        def __getitem__(self, index):
            return self._dims[index]

        def __iter__(self):
            return iter(self._dims)

    class ITensor:
        def __init__(self, name, shape):
            self._name, self._shape = name, shape

        name = property(lambda self: self._name)
        shape = property(lambda self: trt.Dims(self._shape))
        dtype = property(lambda self: trt.DataType.FLOAT)

    class INetworkDefinition:
        def __init__(self, flags):
            self._flags = flags

        num_inputs = property(lambda self: len(inputs))
        num_outputs = property(lambda self: len(outputs))

        def get_input(self, index):
            return trt.ITensor(*inputs[index])

        def get_output(self, index):
            return trt.ITensor(*outputs[index])

    class ParserError:
        def __init__(self, index=-1, desc="", name="", op=""):
            self._error = (index, desc, name, op)

        def node(self):
            return self._error[0]

        def desc(self):
            return self._error[1]

        def node_name(self):  # attached from 10.0 only, as in the bindings
            return self._error[2]

        def node_operator(self):
            return self._error[3]

    class OnnxParser:
        def __init__(self, network, logger):
            pass

        num_errors = property(lambda self: len(parse_errors))

        def get_error(self, index):
            return trt.ParserError(*parse_errors[index])

        def parse_from_file(self, path):
            calls.append(("parse_from_file", path))
            return not parse_errors

    class IOptimizationProfile:
        def set_shape(self, name, lo, opt, hi):
            calls.append(("set_shape", name, tuple(lo), tuple(opt), tuple(hi)))

    class ITimingCache:
        def serialize(self):
            return b"timing-cache"

    class IBuilderConfig:
        def set_flag(self, flag):
            calls.append(("set_flag", flag.name))

        def clear_flag(self, flag):
            calls.append(("clear_flag", flag.name))

        def set_memory_pool_limit(self, pool, size):
            calls.append(("set_memory_pool_limit", pool.name, size))

        def add_optimization_profile(self, profile):
            calls.append(("add_optimization_profile",))

        def create_timing_cache(self, data):
            calls.append(("create_timing_cache", bytes(data)))
            return trt.ITimingCache()

        def set_timing_cache(self, cache, ignore_mismatch):
            calls.append(("set_timing_cache",))

        def get_timing_cache(self):
            return trt.ITimingCache()

        def __setattr__(self, name, value):  # properties: record what is set
            calls.append(("config." + name, getattr(value, "name", value)))
            object.__setattr__(self, name, value)

    class Builder:
        def __init__(self, logger):
            self._logger = logger

        def create_network(self, flags=0):
            calls.append(("create_network", flags))
            return trt.INetworkDefinition(flags)

        def create_builder_config(self):
            return trt.IBuilderConfig()

        def create_optimization_profile(self):
            return trt.IOptimizationProfile()

        def build_serialized_network(self, network, config):
            calls.append(("build_serialized_network",))
            return b"FAKE ENGINE " + trt.__version__.encode() if build_ok else None

    class ICudaEngine:
        def __init__(self, data):
            self._data = data
            self._io = [(name, shape, trt.TensorIOMode.INPUT) for name, shape in inputs] + \
                [(name, shape, trt.TensorIOMode.OUTPUT) for name, shape in outputs]

        num_io_tensors = property(lambda self: len(self._io))

        def get_tensor_name(self, index):
            return self._io[index][0]

        def _tensor(self, name):
            return next(t for t in self._io if t[0] == name)

        def get_tensor_mode(self, name):
            return self._tensor(name)[2]

        def get_tensor_shape(self, name):
            return trt.Dims(self._tensor(name)[1])

        def get_tensor_dtype(self, name):
            return trt.DataType.FLOAT

        def create_engine_inspector(self):
            return trt.EngineInspector()

    class EngineInspector:
        def get_engine_information(self, format):
            assert format == trt.LayerInformationFormat.JSON
            return '{"Layers": []}'

    class Runtime:
        def __init__(self, logger):
            pass

        def deserialize_cuda_engine(self, data):
            calls.append(("deserialize_cuda_engine", bytes(data)))
            return trt.ICudaEngine(bytes(data))

        def __setattr__(self, name, value):
            calls.append(("runtime." + name, value))
            object.__setattr__(self, name, value)

    class ILogger:
        def __init__(self):
            pass

    behaviours = {cls.__name__: cls for cls in (
        Dims, ITensor, INetworkDefinition, ParserError, OnnxParser, IOptimizationProfile, ITimingCache,
        IBuilderConfig, Builder, ICudaEngine, EngineInspector, Runtime, ILogger)}
    functions = {"init_libnvinfer_plugins": lambda logger, namespace: calls.append(("init_libnvinfer_plugins",))}
    trt = FakeModule(version, release or FAKE_VERSIONS[version], behaviours, functions)
    trt.calls = calls
    return trt


@pytest.fixture(params=VERSION_IDS, ids=VERSION_IDS)
def fake_trt(request):
    return make_fake_trt(request.param)
