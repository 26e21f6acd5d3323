"""FP16 ONNX (float16 weights and activations, float32 inputs and outputs) for TensorRT 11's strongly typed
networks, with onnxconverter-common's ``convert_float_to_float16(keep_io_types=True)``.

Kept in float32 (with Casts around them):

- the input normalization, ``(x - mean) / std`` right after the input: every later layer inherits its
  rounding, and it costs nothing;
- every ``Sigmoid`` (the readout/head/decoder activations and the final one): saliency values near 1 have
  an fp16 step of 5e-4;
- reductions and statistics-computing normalizations (``Reduce*``, ``Softmax``, Instance/Layer/Group
  normalization, ``Exp``/``Log``/``Pow``/``Sqrt``) wherever an exported graph has them. Inference-mode
  ``BatchNormalization`` (DenseNet's pre-activation BNs, which cannot be folded into a convolution) is a
  per-channel affine map, not a statistic, and stays fp16: keeping it fp32 would wrap ~160 Cast pairs into
  DenseNet-161 for no accuracy gain;
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
    "ReduceL1", "ReduceL2", "ReduceLogSumExp", "ReduceSumSquare", "InstanceNormalization",
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


def _private_constants(model: Any, names: List[str]) -> None:
    """Give the named nodes their own copies of constant inputs they share with other nodes: the converter
    would otherwise turn a shared constant into float16 for its fp16 users and break the fp32 node."""
    onnx = require("onnx")
    values = {t.name: t for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant":
            attr = next((a for a in node.attribute if a.name == "value"), None)
            if attr is not None:
                values[node.output[0]] = attr.t
    users: Dict[str, int] = {}
    for node in model.graph.node:
        for name in node.input:
            users[name] = users.get(name, 0) + 1
    wanted = set(names)
    for node in model.graph.node:
        if node.name not in wanted:
            continue
        for i, name in enumerate(node.input):
            if name in values and users.get(name, 0) > 1:
                copy = onnx.TensorProto()
                copy.CopyFrom(values[name])
                copy.name = "{}/input{}_fp32".format(node.name, i)
                model.graph.initializer.append(copy)
                node.input[i] = copy.name
    used = {name for node in model.graph.node for name in node.input} | {o.name for o in model.graph.output}
    for node in [n for n in model.graph.node if n.op_type == "Constant" and n.output[0] not in used]:
        model.graph.node.remove(node)
    for tensor in [t for t in model.graph.initializer if t.name not in used]:
        model.graph.initializer.remove(tensor)


def _restore_float32_outputs(original: Any, converted: Any) -> None:
    """onnxconverter-common 1.16 casts a graph output to float16 when the node producing it is blocked
    (kept float32), despite keep_io_types: drop that Cast so the output stays float32."""
    onnx = require("onnx")
    float32 = {o.name for o in original.graph.output if o.type.tensor_type.elem_type == onnx.TensorProto.FLOAT}
    for output in converted.graph.output:
        if output.name not in float32 or output.type.tensor_type.elem_type == onnx.TensorProto.FLOAT:
            continue
        cast = next(n for n in converted.graph.node if output.name in n.output)
        if cast.op_type != "Cast":
            raise RuntimeError("fp16 conversion left output {} as float16".format(output.name))
        source = cast.input[0]
        producer = next(n for n in converted.graph.node if source in n.output)
        users = [n for n in converted.graph.node if source in n.input and n is not cast]
        if users or any(o.name == source for o in converted.graph.output):
            cast.ClearField("attribute")
            cast.attribute.extend([onnx.helper.make_attribute("to", onnx.TensorProto.FLOAT)])
        else:
            producer.output[list(producer.output).index(source)] = output.name
            converted.graph.node.remove(cast)
        output.type.tensor_type.elem_type = onnx.TensorProto.FLOAT


def to_fp16(model: Any) -> Tuple[Any, Dict[str, Any]]:
    """The fp16 model and facts for the sidecar."""
    float16 = require("onnxconverter_common.float16", purpose="FP16 conversion")
    keep_nodes = input_normalization_nodes(model)
    onnx = require("onnx")
    source = onnx.ModelProto()
    source.CopyFrom(model)
    _private_constants(source, keep_nodes)
    with warnings.catch_warnings():
        # weights below fp16's range are clamped to ±1e-7 (min_positive_val), one warning each: expected
        warnings.simplefilter("ignore", UserWarning)
        converted = float16.convert_float_to_float16(
            source, keep_io_types=True, op_block_list=list(FP32_OP_TYPES), node_block_list=keep_nodes,
        )
    _restore_float32_outputs(model, converted)
    kept = sorted({n.op_type for n in model.graph.node if n.op_type in FP32_OP_TYPES})
    facts = {
        "tool": "onnxconverter_common.float16.convert_float_to_float16",
        "tool_version": require("onnxconverter_common").__version__,
        "io_types": "float32",
        "fp32_op_types": kept,
        "fp32_nodes": keep_nodes,
    }
    return converted, facts
