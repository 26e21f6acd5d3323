"""PyTorch EML-Net → ONNX graph: tracing, the plugin node, simplification, metadata, graph facts.

Exporter: the TorchScript-based ``torch.onnx.export(..., dynamo=False)``. The dynamo exporter (torch 2.14)
also traces our model (hooks included) and matches PyTorch, but it needs the extra ``onnxscript`` package
and cannot emit opset 17 — it starts at opset 18 and its down-conversion fails on ``Resize`` — while
TensorRT 8.5 (JetPack 5.1, Xavier) parses opsets up to 17. The TorchScript exporter writes opset 17, emits
our custom node from a ten-line ``autograd.Function.symbolic``, and handles ``dynamic_axes`` for batch and
H×W. It is deprecated upstream; the dynamo path is the way forward once opset 18 is acceptable.
"""
import io
import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

from .._lazy import require
from ..config import ModelConfig, check_input_size
from ..errors import UserError
from ..models.emlnet import INPUT_MULTIPLE
from ..models.layers import resize, resize_override
from ..models.saved import CONFIG_METADATA_KEY
from ..plugins import upsample_op as contract
from .options import DEFAULT_OPSET, check_graph_options

INPUT_NAME = "image"
OUTPUT_NAME = "saliency"
EXPORTER = "torch.onnx.export (TorchScript, dynamo=False)"
METADATA_PREFIX = "edge_saliency_"


class BilinearUpsampleTRT(torch.autograd.Function):
    """Computes F.interpolate(bilinear) in PyTorch; exports as one ``BilinearUpsample_TRT`` node."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, out_h: int, out_w: int, scale_h: float, scale_w: float,
                align_corners: int) -> torch.Tensor:
        if out_h > 0 and out_w > 0:
            return F.interpolate(x, size=(out_h, out_w), mode="bilinear", align_corners=bool(align_corners))
        return F.interpolate(x, scale_factor=(scale_h, scale_w), mode="bilinear", align_corners=bool(align_corners),
                             recompute_scale_factor=False)

    @staticmethod
    def symbolic(g: Any, x: Any, out_h: int, out_w: int, scale_h: float, scale_w: float, align_corners: int) -> Any:
        y = g.op(
            "{}::{}".format(contract.DOMAIN, contract.OP_TYPE), x,
            output_height_i=out_h, output_width_i=out_w, scale_height_f=scale_h, scale_width_f=scale_w,
            align_corners_i=align_corners, plugin_version_s=contract.PLUGIN_VERSION,
            plugin_namespace_s=contract.PLUGIN_NAMESPACE,
        )
        if x.type().kind() == "TensorType" and x.type().sizes() is not None:  # tell shape inference the rank
            n, c = x.type().varyingSizes()[:2]
            y.setType(x.type().with_sizes([n, c, out_h if out_h > 0 else None, out_w if out_w > 0 else None]))
        return y


def plugin_resize(dynamic: bool) -> Any:
    """A :func:`resize_override` function: bilinear resizes become plugin nodes, others stay standard.

    Static: the node carries the output size. Dynamic: it carries the scale (output / input at trace time),
    which is exact because every EML-Net resize is a power-of-two stride ratio of the input size.
    """

    def fn(x: torch.Tensor, size: Sequence[Any], mode: str, align_corners: bool) -> torch.Tensor:
        if mode != "bilinear":
            with resize_override(None):
                return resize(x, size, mode, align_corners)
        out_h, out_w = int(size[0]), int(size[1])
        if not dynamic:
            return BilinearUpsampleTRT.apply(x, out_h, out_w, 0.0, 0.0, int(align_corners))
        scale_h, scale_w = out_h / int(x.shape[2]), out_w / int(x.shape[3])
        return BilinearUpsampleTRT.apply(x, 0, 0, scale_h, scale_w, int(align_corners))

    return fn


def check_export_options(config: ModelConfig, input_size: Sequence[int], dynamic: bool, upsample: str,
                         opset: int) -> Tuple[int, int]:
    """Clear errors for options that cannot work; returns the checked (height, width)."""
    size = check_input_size(input_size, INPUT_MULTIPLE)
    check_graph_options(upsample, opset)
    decoder = config.decoder
    if dynamic and upsample == "plugin" and decoder is not None and decoder.output_size is not None \
            and decoder.resize_mode == "bilinear":
        raise UserError(
            "model {} resizes to a fixed {}x{} output, which a scale-based plugin node cannot express with "
            "--dynamic; export it with --upsample native or without --dynamic".format(config.name, *decoder.output_size)
        )
    return size


def export_onnx(model: torch.nn.Module, input_size: Sequence[int], dynamic: bool = False, upsample: str = "native",
                opset: int = DEFAULT_OPSET, batch: int = 1) -> Any:
    """Trace ``model`` (eval mode) into an ``onnx.ModelProto`` with input ``image`` and output ``saliency``."""
    onnx = require("onnx", purpose="ONNX export")
    config: ModelConfig = model.config  # type: ignore[assignment]
    h, w = check_export_options(config, input_size, dynamic, upsample, opset)
    x = torch.rand(batch, 3, h, w, generator=torch.Generator().manual_seed(0))
    dynamic_axes = None
    if dynamic:
        out_axes: Dict[int, str] = {0: "batch"}
        decoder = config.decoder
        if decoder is None or decoder.output_size is None:
            out_axes.update({2: "height", 3: "width"})
        dynamic_axes = {INPUT_NAME: {0: "batch", 2: "height", 3: "width"}, OUTPUT_NAME: out_axes}
    buffer = io.BytesIO()
    model = model.eval()
    with warnings.catch_warnings():
        # expected: the legacy-exporter notice, and trace-time shape comparisons in the one resize function
        warnings.simplefilter("ignore")
        with torch.no_grad(), resize_override(plugin_resize(dynamic) if upsample == "plugin" else None):
            torch.onnx.export(
                model, (x,), buffer,  # type: ignore[arg-type]  # a file object is fine with dynamo=False
                input_names=[INPUT_NAME], output_names=[OUTPUT_NAME], opset_version=opset,
                dynamic_axes=dynamic_axes, do_constant_folding=True, dynamo=False,
            )
    proto = onnx.load_from_string(buffer.getvalue())
    name_nodes(proto)
    if dynamic:  # the exporter names the output's channel axis after a node; it is always 1
        dims = proto.graph.output[0].type.tensor_type.shape.dim
        dims[1].Clear()
        dims[1].dim_value = 1
    return proto


def simplify(proto: Any, plugin: bool = False) -> Any:
    """onnx-simplifier (constant folding, shape inference, dead code); the plugin op registered for it."""
    onnxsim = require("onnxsim", purpose="simplifying ONNX graphs (or pass --no-simplify)")
    custom_lib = None
    if plugin:
        from ..plugins.ort_op import register_op

        custom_lib = register_op()
    try:
        simplified, ok = onnxsim.simplify(proto, check_n=0, custom_lib=custom_lib)
    except Exception as exc:  # onnxsim raises RuntimeError / its own types
        raise UserError("onnx-simplifier failed ({}); retry with --no-simplify".format(exc)) from exc
    if not ok:
        raise UserError("onnx-simplifier could not validate the simplified graph; retry with --no-simplify")
    name_nodes(simplified)
    return simplified


def name_nodes(proto: Any) -> None:
    """Give every node a unique name (quantization refers to nodes by name)."""
    seen = set()
    for i, node in enumerate(proto.graph.node):
        if not node.name or node.name in seen:
            node.name = "{}_{}".format(node.op_type, i)
        seen.add(node.name)


def set_metadata(proto: Any, config: ModelConfig, **facts: Any) -> None:
    """The model config JSON (key ``edge_saliency_config``, as in our safetensors files) and a few facts
    (``edge_saliency_<name>``) in the ONNX metadata_props. No timestamps: the same export gives the same bytes."""
    values = {CONFIG_METADATA_KEY: config.to_json()}
    values.update({METADATA_PREFIX + k: str(v) for k, v in facts.items()})
    keep = [p for p in proto.metadata_props if p.key not in values]
    del proto.metadata_props[:]
    proto.metadata_props.extend(keep)
    for key, value in sorted(values.items()):
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value


def read_metadata(proto: Any) -> Dict[str, str]:
    return {p.key: p.value for p in proto.metadata_props}


def _dims(value_info: Any) -> List[Any]:
    dims = []
    for d in value_info.type.tensor_type.shape.dim:
        dims.append(d.dim_value if d.HasField("dim_value") else (d.dim_param or None))
    return dims


def io_spec(proto: Any) -> Dict[str, List[Dict[str, Any]]]:
    """Inputs and outputs: name, element type and shape (ints, or names for dynamic axes)."""
    onnx = require("onnx")
    initializers = {t.name for t in proto.graph.initializer}

    def describe(values: Any) -> List[Dict[str, Any]]:
        return [
            {"name": v.name, "dtype": onnx.helper.tensor_dtype_to_np_dtype(v.type.tensor_type.elem_type).name,
             "shape": _dims(v)}
            for v in values if v.name not in initializers
        ]

    return {"inputs": describe(proto.graph.input), "outputs": describe(proto.graph.output)}


def op_counts(proto: Any) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    for node in proto.graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return dict(sorted(counts.items()))


def plugin_to_native(proto: Any) -> Any:
    """A copy of ``proto`` whose ``BilinearUpsample_TRT`` nodes are standard ``Resize`` nodes with the same
    input and output tensors (same numerics: PyTorch bilinear). Every tensor keeps its name and value, so
    tools that cannot load the custom op (ONNX Runtime's calibrator) can work on this twin."""
    onnx = require("onnx")
    helper = onnx.helper
    model = onnx.ModelProto()
    model.CopyFrom(proto)
    nodes = list(model.graph.node)
    if not any(n.op_type == contract.OP_TYPE for n in nodes):
        return model
    shapes = {v.name: _dims(v) for v in onnx.shape_inference.infer_shapes(proto).graph.value_info}
    shapes.update({v.name: _dims(v) for v in proto.graph.input})
    new_nodes = []
    for node in nodes:
        if node.op_type != contract.OP_TYPE:
            new_nodes.append(node)
            continue
        a = {attr.name: helper.get_attribute_value(attr) for attr in node.attribute}
        inputs = [node.input[0], "", "", ""]
        in_dims = shapes.get(node.input[0], [])
        if a["output_height"] > 0 and len(in_dims) == 4 and all(isinstance(d, int) for d in in_dims[:2]):
            name = node.name + "_sizes"
            model.graph.initializer.append(helper.make_tensor(
                name, onnx.TensorProto.INT64, [4], [in_dims[0], in_dims[1], a["output_height"], a["output_width"]]))
            inputs[3] = name
        else:
            if a["output_height"] > 0:  # static sizes with unknown N/C: derive the scale from the input size
                if len(in_dims) != 4 or not all(isinstance(d, int) for d in in_dims[2:]):
                    raise UserError("cannot infer the input size of {}".format(node.name))
                a["scale_height"] = a["output_height"] / in_dims[2]
                a["scale_width"] = a["output_width"] / in_dims[3]
            name = node.name + "_scales"
            model.graph.initializer.append(helper.make_tensor(
                name, onnx.TensorProto.FLOAT, [4], [1.0, 1.0, a["scale_height"], a["scale_width"]]))
            inputs[2] = name
        new_nodes.append(helper.make_node(
            "Resize", inputs, list(node.output), name=node.name, mode="linear",
            coordinate_transformation_mode="align_corners" if a["align_corners"] else "pytorch_half_pixel",
        ))
    del model.graph.node[:]
    model.graph.node.extend(new_nodes)
    return model


def count_plugin_nodes(proto: Any) -> int:
    return sum(1 for n in proto.graph.node if n.op_type == contract.OP_TYPE)


def opset_of(proto: Any) -> Optional[int]:
    for entry in proto.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return int(entry.version)
    return None
