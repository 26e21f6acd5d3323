"""The thin TensorRT layer: parse an ONNX file, build a serialized engine, deserialize one, inspect one.

Only this module and :mod:`trt_compat` call TensorRT. Version differences are decided in
:func:`trt_compat.plan_build`; here the plan is carried out. Nothing here runs without TensorRT (none is
installable on the machines this project is developed on): mypy checks these calls against the
tensorrt-stubs package, and the whole flow is tested against fake ``tensorrt`` modules that have exactly the
Python names of the real 8.5.3, 8.6.1, 10.0, 10.16 and 11.1 bindings (``tests/engine/tensorrt_api.json``).
"""
import collections
import dataclasses
import logging
import os
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from ..errors import UserError
from ..files.atomic import atomic_write_bytes
from .onnx_info import graph_nodes
from .options import BuildOptions
from .trt_compat import (
    BuildPlan,
    TrtFeatures,
    apply_plan,
    load_tensorrt,
    network_creation_flags,
    parser_errors,
    plan_build,
)

if TYPE_CHECKING:
    import tensorrt

log = logging.getLogger("edge_saliency.engine")


@dataclasses.dataclass
class BuildReport:
    tensorrt_version: str
    plan: BuildPlan
    inputs: List[Dict[str, Any]]
    outputs: List[Dict[str, Any]]
    log_counts: Dict[str, int]
    log_tail: List[str]


def _make_logger(trt: Any, verbose: bool) -> Any:
    """A TensorRT logger that forwards to Python logging and keeps counts and the last messages."""

    class CollectingLogger(trt.ILogger):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            trt.ILogger.__init__(self)
            self.counts: Dict[str, int] = collections.Counter()
            self.tail: collections.deque = collections.deque(maxlen=20)

        def log(self, severity: Any, msg: str) -> None:
            name = str(severity).rsplit(".", 1)[-1]
            self.counts[name] += 1
            if int(severity) <= int(trt.ILogger.WARNING):  # pybind11 enums compare as ints only
                self.tail.append("{}: {}".format(name, msg))
                log.warning("TensorRT %s: %s", name, msg)
            elif verbose:
                log.debug("TensorRT %s: %s", name, msg)

    return CollectingLogger()


def load_plugin_libraries(trt: Any, logger: Any, paths: List[str]) -> None:
    """Register plugin libraries with TensorRT the one way (``plugins.registration``: load_library on >= 8.6, the
    autoregister library on 8.5; once per process), then TensorRT's own plugins."""
    from ..plugins.registration import register_library

    for path in paths:
        register_library(path, trt)
    trt.init_libnvinfer_plugins(logger, "")


def dims_list(dims: "tensorrt.Dims") -> List[int]:
    """A TensorRT Dims as a list of ints (Dims is indexable, not typed as iterable)."""
    return [int(dims[i]) for i in range(len(dims))]


def _dtype(dtype: Any) -> str:
    return str(dtype).rsplit(".", 1)[-1].lower()  # DataType.FLOAT -> "float", HALF -> "half"


def _tensor_info(tensor: "tensorrt.ITensor") -> Dict[str, Any]:
    return {"name": tensor.name, "shape": dims_list(tensor.shape), "dtype": _dtype(tensor.dtype)}


def build_serialized_engine(
    onnx_path: str, options: BuildOptions, onnx_precision: str, verbose: bool = False
) -> Tuple[bytes, BuildReport]:
    """Parse ``onnx_path`` and build an engine for ``options``; returns the serialized engine and a report."""
    trt = load_tensorrt()
    features = TrtFeatures.detect(trt)
    plan = plan_build(features, options, onnx_precision)
    for warning in plan.warnings:
        log.warning("%s", warning)
    logger = _make_logger(trt, verbose)
    load_plugin_libraries(trt, logger, options.plugins)

    # locals are annotated so that mypy checks every call against the TensorRT stubs
    builder: tensorrt.Builder = trt.Builder(logger)
    network: tensorrt.INetworkDefinition = builder.create_network(network_creation_flags(trt, plan))
    parser: tensorrt.OnnxParser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(os.path.abspath(onnx_path)):  # the path lets it find external weights
        lines = parser_errors(parser, graph_nodes(onnx_path))
        raise UserError("TensorRT could not parse {}:\n  {}".format(onnx_path, "\n  ".join(lines)))

    config: tensorrt.IBuilderConfig = builder.create_builder_config()
    apply_plan(trt, config, plan)
    if features.engine_inspector and hasattr(trt, "ProfilingVerbosity"):
        config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED  # layer names for `inspect`

    inputs = [_tensor_info(network.get_input(i)) for i in range(network.num_inputs)]
    outputs = [_tensor_info(network.get_output(i)) for i in range(network.num_outputs)]
    dynamic = [t["name"] for t in inputs if any(d < 0 for d in t["shape"])]
    missing = [name for name in dynamic if name not in options.shapes]
    if missing:
        raise UserError(
            "the ONNX input(s) {} have dynamic dimensions: give the sizes with --shape NAME:1x3x480x640 or "
            "--min-shape/--opt-shape/--max-shape".format(", ".join(missing))
        )
    unknown = sorted(set(options.shapes) - {t["name"] for t in inputs})
    if unknown:
        raise UserError("--shape names unknown inputs {}; the ONNX inputs are {}".format(
            unknown, [t["name"] for t in inputs]))
    if dynamic:
        profile: tensorrt.IOptimizationProfile = builder.create_optimization_profile()
        for name in dynamic:
            shape_range = options.shapes[name]
            profile.set_shape(name, trt.Dims(shape_range.min), trt.Dims(shape_range.opt), trt.Dims(shape_range.max))
        config.add_optimization_profile(profile)

    if options.timing_cache:
        data = b""
        if os.path.isfile(options.timing_cache):
            with open(options.timing_cache, "rb") as f:
                data = f.read()
        cache: tensorrt.ITimingCache = config.create_timing_cache(data)
        config.set_timing_cache(cache, ignore_mismatch=False)

    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise UserError("TensorRT failed to build the engine:\n  {}".format("\n  ".join(logger.tail) or "(no log)"))
    if options.timing_cache:
        atomic_write_bytes(options.timing_cache, bytes(config.get_timing_cache().serialize()))
    report = BuildReport(trt.__version__, plan, inputs, outputs, dict(logger.counts), list(logger.tail))
    return bytes(serialized), report


def deserialize_engine(data: bytes, plugins: List[str], allow_host_code: bool = False) -> Any:
    """An ICudaEngine from bytes whose sidecar was already checked (see engine.cache.check_engine)."""
    trt = load_tensorrt()
    logger = _make_logger(trt, verbose=False)
    load_plugin_libraries(trt, logger, plugins)
    runtime: tensorrt.Runtime = trt.Runtime(logger)
    if allow_host_code and TrtFeatures.detect(trt).host_code_switch:
        runtime.engine_host_code_allowed = True
    elif allow_host_code:  # 8.5: no such switch, and no version-compatible engines to allow
        log.debug("TensorRT %s has no engine_host_code_allowed (8.6+): nothing to allow", trt.__version__)
    engine = runtime.deserialize_cuda_engine(data)
    if engine is None:
        raise UserError("TensorRT could not deserialize the engine:\n  {}".format("\n  ".join(logger.tail)))
    return engine


def engine_io(engine: "tensorrt.ICudaEngine") -> List[Dict[str, Any]]:
    """Name, mode, shape (-1 = dynamic) and dtype of every I/O tensor (TensorRT >= 8.5 tensor API)."""
    trt = load_tensorrt()
    tensors = []
    for index in range(engine.num_io_tensors):
        name = engine.get_tensor_name(index)
        tensors.append({
            "name": name,
            "mode": "input" if engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT else "output",
            "shape": dims_list(engine.get_tensor_shape(name)),
            "dtype": _dtype(engine.get_tensor_dtype(name)),
        })
    return tensors


def engine_layers(engine: "tensorrt.ICudaEngine") -> Optional[str]:
    """The engine inspector's JSON (layer names, precisions, tactics), where this TensorRT has one."""
    trt = load_tensorrt()
    if not hasattr(engine, "create_engine_inspector"):
        return None
    inspector: tensorrt.EngineInspector = engine.create_engine_inspector()
    return inspector.get_engine_information(trt.LayerInformationFormat.JSON)
