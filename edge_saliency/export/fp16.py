"""FP16 ONNX (float16 weights and activations, float32 inputs and outputs) for TensorRT 11's strongly typed
networks, with onnxconverter-common's ``convert_float_to_float16(keep_io_types=True)``.

Kept in float32 (with Casts around them):

- the input normalization, ``(x - mean) / std`` right after the input: every later layer inherits its
  rounding, and it costs nothing;
- every ``Sigmoid`` (the readout/head/decoder activations and the final one): saliency values near 1 have
  an fp16 step of 5e-4;
- reductions and normalizations (``Reduce*``, ``Softmax``, ``*Normalization``, ``Exp``/``Log``/``Pow``/
  ``Sqrt``) wherever an exported graph has them (BatchNorm is folded into the convolutions at export);
- ``BilinearUpsample_TRT`` plugin nodes: the CPU reference op takes float32 only (the plugin itself also
  takes fp16, so a later release may lift this).

``Resize`` runs in fp16 (ONNX Runtime's CPU kernel and TensorRT both take it), unlike the converter's
default block list. Derived from the plain (simplified) export: the converter fails on graphs that went
through ONNX Runtime's ``quant_pre_process``.
"""
import warnings
from typing import Any, Dict, List, Tuple

from .._lazy import require
from ..plugins import upsample_op as contract

FP32_OP_TYPES = (
    "Sigmoid", "Softmax", "LogSoftmax", "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd",
    "ReduceL1", "ReduceL2", "ReduceLogSumExp", "ReduceSumSquare", "BatchNormalization", "InstanceNormalization",
    "LayerNormalization", "GroupNormalization", "Exp", "Log", "Pow", "Sqrt", "Erf", contract.OP_TYPE,
)
_NORMALIZATION_OPS = ("Sub", "Div", "Mul", "Add")


def input_normalization_nodes(model: Any) -> List[str]:
    """Names of the elementwise Sub/Div/Mul/Add chain(s) that start at the graph input."""
    initializers = {t.name for t in model.graph.initializer}
    constants = {o for n in model.graph.node if n.op_type == "Constant" for o in n.output}
    frontier = {i.name for i in model.graph.input if i.name not in initializers}
    names: List[str] = []
    changed = True
    while changed:
        changed = False
        for node in model.graph.node:
            if node.name in names or node.op_type not in _NORMALIZATION_OPS:
                continue
            others = [i for i in node.input if i not in frontier]
            if len(others) < len(node.input) and all(i in initializers or i in constants for i in others):
                names.append(node.name)
                frontier.update(node.output)
                changed = True
    return names


def to_fp16(model: Any) -> Tuple[Any, Dict[str, Any]]:
    """The fp16 model and facts for the sidecar."""
    float16 = require("onnxconverter_common.float16", purpose="FP16 conversion")
    keep_nodes = input_normalization_nodes(model)
    with warnings.catch_warnings():
        # weights below fp16's range are clamped to ±1e-7 (min_positive_val), one warning each: expected
        warnings.simplefilter("ignore", UserWarning)
        converted = float16.convert_float_to_float16(
            model, keep_io_types=True, op_block_list=list(FP32_OP_TYPES), node_block_list=keep_nodes,
        )
    kept = sorted({n.op_type for n in model.graph.node if n.op_type in FP32_OP_TYPES})
    facts = {
        "tool": "onnxconverter_common.float16.convert_float_to_float16",
        "tool_version": require("onnxconverter_common").__version__,
        "io_types": "float32",
        "fp32_op_types": kept,
        "fp32_nodes": keep_nodes,
    }
    return converted, facts
