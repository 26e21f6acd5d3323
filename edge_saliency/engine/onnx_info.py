"""What an ONNX file is, read from its graph (inputs, outputs, precision, plugin nodes) and its sidecar."""
import dataclasses
from typing import Any, Dict, List, Optional, Tuple

from .._lazy import require
from ..errors import InputShapeError, UserError
from ..files.sidecar import Sidecar, read_sidecar
from ..plugins.upsample_op import OP_TYPE

# quantized arithmetic: explicit Q/DQ (our int8 export) and the fused integer ops ONNX Runtime makes of it
QUANTIZED_OPS = frozenset(("QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul", "ConvInteger",
                           "MatMulInteger", "DynamicQuantizeLinear"))
# operator domains that only ONNX Runtime implements: its contrib ops and the nodes of its offline graph
# optimisation; com.microsoft.nchwc (blocked layouts sized for the CPU's vector width) and the internal NHWC
# domain are tied to the hardware and execution provider the graph was optimised for
ORT_DOMAINS = ("com.microsoft", "com.ms.")
HARDWARE_SPECIFIC_DOMAINS = ("com.microsoft.nchwc", "com.ms.internal.nhwc")


def saliency_input_problem(name: str, input_name: str, shape: Any) -> Optional[str]:
    """Why a model whose input is ``shape`` cannot be a saliency model here (None when it can): every runtime
    path feeds RGB frames as N×3×H×W."""
    shape = list(shape)
    if len(shape) != 4 or shape[1] not in (-1, 3):
        return ("{} takes input '{}' of shape {}, but edge-saliency feeds RGB frames as N×3×H×W: use a model "
                "exported with one 3-channel image input (edge-saliency export)".format(name, input_name, shape))
    return None


def saliency_output_problem(shape: Any) -> Optional[str]:
    """Why an output of ``shape`` (-1: dynamic) is no saliency map (None when it is one): N×1×H×W or N×H×W."""
    shape = tuple(shape)
    if (len(shape) == 4 and shape[1] in (-1, 1)) or len(shape) == 3:
        return None
    return "a saliency model must output N×1×H×W maps, got shape {}".format(shape)


def check_saliency_io(description: "OnnxDescription") -> None:
    """Refuse an ONNX file that is no saliency model (one image input, one map output), with the message the
    runtime gives when it meets one."""
    name = description.path
    if len(description.inputs) != 1 or len(description.outputs) < 1:
        raise InputShapeError("{} has {} inputs and {} outputs; a saliency model has one image input and one map "
                              "output (edge-saliency export)".format(name, len(description.inputs),
                                                                     len(description.outputs)))
    first = description.inputs[0]
    problem = saliency_input_problem(name, first["name"], first["shape"])  # names the file itself
    if problem:
        raise InputShapeError(problem)
    problem = saliency_output_problem(description.outputs[0]["shape"])
    if problem:
        raise InputShapeError("{}: {}".format(name, problem))


@dataclasses.dataclass
class OnnxDescription:
    path: str
    inputs: List[Dict[str, Any]]  # {"name", "shape" (-1 for a dynamic dimension), "dtype"}
    outputs: List[Dict[str, Any]]
    # what the weights really are: "int8" with quantized ops (Q/DQ or ONNX Runtime's integer ops), else the
    # float type holding most weight elements ("fp16" or "fp32") — ONNX Runtime's CPU optimisation of an fp16
    # file, for one, stores its weights as fp32
    precision: str
    plugin_nodes: int  # BilinearUpsample_TRT nodes
    opset: int
    sidecar: Optional[Sidecar]
    runtime_nodes: Dict[str, int] = dataclasses.field(default_factory=dict)  # "domain op" -> count (ORT_DOMAINS)

    @property
    def dynamic(self) -> bool:
        return any(d < 0 for t in self.inputs for d in t["shape"])

    @property
    def hardware_specific(self) -> Dict[str, int]:
        """The nodes that run only on the hardware / provider an ONNX Runtime optimisation targeted."""
        return {k: v for k, v in self.runtime_nodes.items() if k.split(" ")[0] in HARDWARE_SPECIFIC_DOMAINS}

    def runtime_summary(self, limit: int = 3) -> str:
        """"54 com.microsoft.nchwc Conv, 6 com.microsoft.nchwc ReorderOutput, ..." (most frequent first)."""
        items = sorted(self.runtime_nodes.items(), key=lambda kv: (-kv[1], kv[0]))
        text = ", ".join("{} {}".format(n, k) for k, n in items[:limit])
        return text + (", ..." if len(items) > limit else "")


def _value_info(value: Any, onnx: Any) -> Dict[str, Any]:
    tensor = value.type.tensor_type
    dims = [d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim]
    return {"name": value.name, "shape": dims, "dtype": onnx.TensorProto.DataType.Name(tensor.elem_type).lower()}


def load_graph(path: str) -> Any:
    """The ModelProto of ``path`` without external weights; a clear error for a missing or unreadable file."""
    onnx = require("onnx", purpose="reading ONNX files")
    try:
        return onnx.load(path, load_external_data=False)
    except FileNotFoundError:
        raise UserError("ONNX file not found: {}".format(path)) from None
    except Exception as exc:  # DecodeError and friends
        raise UserError("{} is not a readable ONNX file: {}".format(path, exc)) from exc


def graph_nodes(path: str) -> List[Tuple[str, str]]:
    """(name, op type) of every node of the graph, in graph order (what TensorRT 8.x parser errors index)."""
    return [(node.name, node.op_type) for node in load_graph(path).graph.node]


def weights_precision(model: Any) -> str:
    """The precision of a graph's weights: "int8" with quantized ops, else "fp16" when fp16 tensors hold more
    weight elements (initializers and Constant nodes) than float32 / float64 ones, else "fp32"."""
    onnx = require("onnx", purpose="reading ONNX files")
    graph = model.graph
    if any(node.op_type in QUANTIZED_OPS for node in graph.node):
        return "int8"
    tensors = list(graph.initializer) + [a.t for node in graph.node if node.op_type == "Constant"
                                         for a in node.attribute if a.name == "value"]
    half, full = onnx.TensorProto.FLOAT16, (onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE)
    elements = {"fp16": 0, "fp32": 0}
    for tensor in tensors:
        count = 1
        for d in tensor.dims:
            count *= int(d)
        if tensor.data_type == half:
            elements["fp16"] += count
        elif tensor.data_type in full:
            elements["fp32"] += count
    return "fp16" if elements["fp16"] > elements["fp32"] else "fp32"


def describe_onnx(path: str) -> OnnxDescription:
    """Read the graph (weights stay on disk) and the sidecar ``<path>.json`` when there is one."""
    onnx = require("onnx", purpose="reading ONNX files")
    model = load_graph(path)
    graph = model.graph
    initializer_names = {t.name for t in graph.initializer}
    ops = [node.op_type for node in graph.node]
    runtime_nodes: Dict[str, int] = {}
    for node in graph.node:
        if node.domain.startswith(ORT_DOMAINS):
            key = "{} {}".format(node.domain, node.op_type)
            runtime_nodes[key] = runtime_nodes.get(key, 0) + 1
    opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)
    return OnnxDescription(
        path=path,
        inputs=[_value_info(v, onnx) for v in graph.input if v.name not in initializer_names],
        outputs=[_value_info(v, onnx) for v in graph.output],
        precision=weights_precision(model),
        plugin_nodes=ops.count(OP_TYPE),
        opset=opset,
        sidecar=read_sidecar(path, required=False),
        runtime_nodes=runtime_nodes,
    )


def file_weights_precision(path: Optional[str]) -> Optional[str]:
    """What the weights of the ONNX file ``path`` are (:func:`weights_precision`); None where the ``onnx`` package
    is not installed (a deployed board running ONNX Runtime only)."""
    import importlib.util

    if path is None or importlib.util.find_spec("onnx") is None:
        return None
    return weights_precision(load_graph(path))
