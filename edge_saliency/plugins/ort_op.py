"""The ``BilinearUpsample_TRT`` node on the CPU: an ONNX Runtime custom op (onnxruntime-extensions) that
computes the contract's numpy reference, so a plugin-node ONNX file — the exact graph TensorRT gets — runs
and is checked in ONNX Runtime.

:func:`create_session` is the one way the package opens an ONNX file in ONNX Runtime: it registers the op
when the graph holds plugin nodes. The python op API of onnxruntime-extensions takes float32 only (a
float16 input aborts the process), so the fp16 export keeps plugin nodes in float32 and
:func:`create_session` refuses a graph that feeds them float16.
"""
import os
from typing import Any, Dict, List, Optional, Sequence, Union

from .._lazy import require
from ..errors import UserError
from .upsample_op import DOMAIN, OP_TYPE, bilinear_resize, output_size

ModelLike = Union[str, bytes, Any]  # a path, serialized bytes, or an onnx.ModelProto
_library_path: Optional[str] = None


def register_op() -> str:
    """Register the reference op with onnxruntime-extensions (once); returns the custom-op library path
    to pass to ``SessionOptions.register_custom_ops_library``."""
    global _library_path
    if _library_path is not None:
        return _library_path
    ox = require("onnxruntime_extensions", extra="export", purpose="running BilinearUpsample_TRT nodes on the CPU")
    dt = ox.PyCustomOpDef
    attrs = {
        "output_height": dt.dt_int64, "output_width": dt.dt_int64, "align_corners": dt.dt_int64,
        "scale_height": dt.dt_float, "scale_width": dt.dt_float,
        "plugin_version": dt.dt_string, "plugin_namespace": dt.dt_string,
    }

    @ox.onnx_op(op_type=OP_TYPE, inputs=[dt.dt_float], outputs=[dt.dt_float], attrs=attrs)
    def _bilinear_upsample_trt(x: Any, **a: Any) -> Any:  # onnxruntime-extensions always uses ai.onnx.contrib
        sizes = (int(a["output_height"]), int(a["output_width"]))
        scales = (float(a["scale_height"]), float(a["scale_width"]))
        out = output_size(x.shape[2:], sizes, scales)
        by_scale = not (sizes[0] > 0 and sizes[1] > 0)
        return bilinear_resize(x, out, bool(a["align_corners"]), scales if by_scale else None)

    _library_path = ox.get_library_path()
    return _library_path


def _load_proto(model: ModelLike) -> Any:
    onnx = require("onnx", purpose="reading ONNX files")
    try:
        if isinstance(model, (bytes, bytearray)):
            return onnx.load_from_string(bytes(model))
        if isinstance(model, str):
            return onnx.load(model)
    except Exception as exc:  # protobuf DecodeError, OSError, ...
        name = model if isinstance(model, str) else "the ONNX model"
        raise UserError("cannot read {} as ONNX: {}".format(name, exc)) from exc
    return model


def plugin_nodes(model: Any) -> List[Any]:
    """The ``BilinearUpsample_TRT`` nodes of an onnx.ModelProto's main graph."""
    return [n for n in model.graph.node if n.op_type == OP_TYPE]


def check_plugin_inputs_float32(model: Any) -> None:
    """Raise if a plugin node would get a non-float32 input (the CPU reference op takes float32 only)."""
    onnx = require("onnx", purpose="reading ONNX files")
    nodes = plugin_nodes(model)
    if not nodes:
        return
    types = {t.name: t.type.tensor_type.elem_type for t in model.graph.input}
    inferred = onnx.shape_inference.infer_shapes(model)
    types.update({v.name: v.type.tensor_type.elem_type for v in inferred.graph.value_info})
    producers = {o: n for n in model.graph.node for o in n.output}
    for node in nodes:
        src = node.input[0]
        elem = types.get(src, 0)
        producer = producers.get(src)
        if producer is not None and producer.op_type == "Cast":
            elem = next(a.i for a in producer.attribute if a.name == "to")
        if elem not in (0, onnx.TensorProto.FLOAT):
            raise UserError(
                "{} node {} gets {} input; its ONNX Runtime reference op takes float32 only (export fp16 "
                "models with edge-saliency, which keeps plugin nodes in float32)".format(
                    OP_TYPE, node.name, onnx.TensorProto.DataType.Name(elem)
                )
            )


def session_options(with_plugin: bool = True, threads: Optional[int] = None, optimize: bool = True) -> Any:
    """``optimize=False`` runs the graph as written (Q/DQ nodes as fake quantization, no int8 kernel fusion)."""
    ort = require("onnxruntime", purpose="running ONNX models")
    options = ort.SessionOptions()
    if not optimize:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    if with_plugin:
        options.register_custom_ops_library(register_op())
    if threads:
        options.intra_op_num_threads = int(threads)
    return options


def create_session(
    model: ModelLike, providers: Optional[Sequence[Any]] = None, threads: Optional[int] = None, optimize: bool = True,
    plugin: Optional[bool] = None, settings: Optional[Dict[str, Any]] = None, config: Optional[Dict[str, str]] = None,
) -> Any:
    """An ``onnxruntime.InferenceSession`` for a path, serialized bytes or ModelProto; plugin nodes run
    with the reference op. ``providers`` defaults to the CPU; ``optimize`` as in :func:`session_options`.

    ``plugin``: whether to register the reference op; None (default) reads the graph (with the onnx package)
    to find plugin nodes and checks they get float32. The runtime passes True / False for a file whose
    sidecar says, so ONNX Runtime alone opens it (the base install has no onnx package). ``settings``:
    ``SessionOptions`` attributes (``log_severity_level``, ``optimized_model_filepath``, ...); ``config``:
    session config entries (``session.intra_op.allow_spinning``, ...). A file ONNX Runtime cannot load is a
    :class:`UserError` naming it, with ONNX Runtime's exception as its ``__cause__``.
    """
    ort = require("onnxruntime", purpose="running ONNX models")
    if isinstance(model, str) and not os.path.isfile(model):
        raise UserError("ONNX file not found: {}".format(model))
    source: Any = model
    if plugin is None or not isinstance(model, (str, bytes)):
        proto = _load_proto(model)
        if plugin is None:
            plugin = bool(plugin_nodes(proto))
            if plugin:
                check_plugin_inputs_float32(proto)
        source = model if isinstance(model, (str, bytes)) else proto.SerializeToString()
    options = session_options(plugin, threads, optimize)  # a missing onnxruntime-extensions says so itself
    for name, value in (settings or {}).items():
        setattr(options, name, value)
    for key, value in (config or {}).items():
        options.add_session_config_entry(key, value)
    try:
        return ort.InferenceSession(source, options, providers=list(providers or ["CPUExecutionProvider"]))
    except Exception as exc:  # onnxruntime raises its own exception types
        name = model if isinstance(model, str) else "the ONNX model"
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UserError("ONNX Runtime cannot load {}: {}".format(name, first)) from exc


__all__ = ["DOMAIN", "OP_TYPE", "check_plugin_inputs_float32", "create_session", "plugin_nodes", "register_op",
           "session_options"]
