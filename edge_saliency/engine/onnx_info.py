"""What an ONNX file is, read from its graph (inputs, outputs, precision, plugin nodes) and its sidecar."""
import dataclasses
from typing import Any, Dict, List, Optional, Tuple

from .._lazy import require
from ..errors import UserError
from ..plugins.upsample_op import OP_TYPE
from ..sidecar import Sidecar, read_sidecar


@dataclasses.dataclass
class OnnxDescription:
    path: str
    inputs: List[Dict[str, Any]]  # {"name", "shape" (-1 for a dynamic dimension), "dtype"}
    outputs: List[Dict[str, Any]]
    precision: str  # "int8" with Q/DQ nodes, "fp16" with fp16 weights, else "fp32"
    plugin_nodes: int  # BilinearUpsample_TRT nodes
    opset: int
    sidecar: Optional[Sidecar]

    @property
    def dynamic(self) -> bool:
        return any(d < 0 for t in self.inputs for d in t["shape"])


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


def describe_onnx(path: str) -> OnnxDescription:
    """Read the graph (weights stay on disk) and the sidecar ``<path>.json`` when there is one."""
    onnx = require("onnx", purpose="reading ONNX files")
    model = load_graph(path)
    graph = model.graph
    initializer_names = {t.name for t in graph.initializer}
    ops = [node.op_type for node in graph.node]
    if "QuantizeLinear" in ops or "DequantizeLinear" in ops:
        precision = "int8"
    elif any(t.data_type == onnx.TensorProto.FLOAT16 for t in graph.initializer):
        precision = "fp16"
    else:
        precision = "fp32"
    opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)
    return OnnxDescription(
        path=path,
        inputs=[_value_info(v, onnx) for v in graph.input if v.name not in initializer_names],
        outputs=[_value_info(v, onnx) for v in graph.output],
        precision=precision,
        plugin_nodes=ops.count(OP_TYPE),
        opset=opset,
        sidecar=read_sidecar(path, required=False),
    )
