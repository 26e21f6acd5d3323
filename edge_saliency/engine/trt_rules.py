"""What TensorRT 8.5 / 8.6 / 10.x / 11.x would reject, or treat differently, in an ONNX file — node by node,
before any TensorRT call (and on machines without TensorRT).

Every rule below is a fact from NVIDIA's sources, written here in our words with the version and line it comes
from (the full list: ``docs/tensorrt.md``): the ONNX parser's operator tables (onnx/onnx-tensorrt
``docs/operators.md`` per release branch, as data in :mod:`.trt_parser_tables`), the parser's importers
(``builtin_op_importers.cpp`` on 8.5-GA / 8.6-GA, ``onnxOpImporters.cpp`` / ``onnxOpCheckers.cpp`` on 10.x) and
the layer contracts in ``NvInfer.h``. The parser tables used per TensorRT line: 8.5 -> 8.5-GA, 8.6 -> 8.6-GA,
10.x -> 10.1-GA (the oldest 10.x table: JetPack 6.1 / 6.2 run 10.3), 11.x -> main (the newest).

``check_model`` returns a :class:`Report` of :class:`Finding` s (``error``: the parser or builder rejects it;
``warning``: accepted but treated differently from ONNX Runtime; ``note``: what the build will need).
``edge-saliency inspect FILE.onnx --tensorrt [VERSION]`` prints it; ``export`` and ``build-engine`` run it.
Pure Python + onnx.

Long on purpose: a table of rules, each with the NVIDIA source line it comes from; mostly data.
"""
import dataclasses
import re
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from .._lazy import require
from ..errors import UserError
from ..plugins import upsample_op as contract
from .trt_parser_tables import TABLES

LINES = ("8.5", "8.6", "10.x", "11.x")  # the TensorRT lines edge-saliency supports
TABLE_OF = {"8.5": "8.5-GA", "8.6": "8.6-GA", "10.x": "10.1-GA", "11.x": "main"}
V8 = ("8.5", "8.6")
V10_11 = ("10.x", "11.x")


@dataclasses.dataclass(frozen=True)
class Rule:
    id: str
    text: str  # what TensorRT requires, in our words
    sources: str  # where it says so, per version


def _rule(rule_id: str, text: str, sources: str) -> Rule:
    return Rule(rule_id, text, sources)


RULES: Dict[str, Rule] = {r.id: r for r in (
    _rule("opset", "the default-domain opset lies in the range the parser documents (8.5 / 8.6: up to 17; 10.x / "
                   "11.x: 9 to 20); outside it the parser warns and operators changed later may fail",
          "operators-8.5-GA.md / 8.6-GA.md line 5 ('up to Opset 17'); operators-10.1-GA.md / main line 5 ('opset 9 "
          "to opset 20')"),
    _rule("io-types", "graph inputs and outputs use ONNX data types the parser takes (8.x: DOUBLE, FLOAT32, "
                      "FLOAT16, INT8, BOOL, and INT32 / INT64 cast down; 10.x / 11.x add BFLOAT16, INT32, INT64, FP8, "
                      "INT4, UINT8)",
          "operators-<branch>.md lines 7-9 (supported ONNX data types)"),
    _rule("op-supported", "every node's op type has an importer in the parser; any other op type is looked up as "
                          "a plugin creator of that name (the domain is ignored)",
          "operators-<branch>.md (Supported = Y); onnx-tensorrt 8.5-GA ModelImporter.cpp:151-159 (dispatch by "
          "op_type, else FallbackPluginImporter)"),
    _rule("op-domain", "a node in a custom domain whose op type is a built-in operator is imported as that "
                       "built-in (the parser looks at op_type only)",
          "onnx-tensorrt 8.5-GA ModelImporter.cpp:151-159; 10.1-GA the same dispatch"),
    _rule("op-types", "a node's data input has a type the operator's row lists (8.x: INT64 counts as INT32 and "
                      "DOUBLE as FP32, the parser casts them down)",
          "operators-<branch>.md (Supported Types); onnx-tensorrt 8.6-GA onnx2trt_utils.cpp:358 (INT64 -> kINT32)"),
    _rule("resize-mode", "Resize mode is nearest or linear (the tables); the importers also map cubic to "
                         "ResizeMode::kCUBIC, anything else is 'Invalid Resize mode'",
          "operators-<branch>.md (Resize); 8.5-GA builtin_op_importers.cpp:3699-3709; 8.6-GA :3746-3756; 10.1-GA "
          "onnxOpCheckers.cpp:562"),
    _rule("resize-coordinates", "coordinate_transformation_mode is half_pixel, pytorch_half_pixel, "
                                "tf_half_pixel_for_nn, asymmetric or align_corners (not tf_crop_and_resize, "
                                "half_pixel_symmetric)",
          "operators-<branch>.md (Resize); 8.5-GA builtin_op_importers.cpp:3762-3765; 10.1-GA "
          "onnxOpImporters.cpp:4475-4477"),
    _rule("resize-nearest-mode", "nearest_mode is floor, ceil, round_prefer_floor or round_prefer_ceil; 8.5 / 8.6 "
                                 "take tf_half_pixel_for_nn with round_prefer_floor only",
          "operators-<branch>.md (Resize); 8.5-GA builtin_op_importers.cpp:3722-3724; 8.6-GA :3771"),
    _rule("resize-opset18", "antialias is 0 and keep_aspect_ratio_policy is stretch on 10.x / 11.x; 8.5 / 8.6 "
                            "(opset <= 17) do not read these opset-18 attributes",
          "operators-10.1-GA.md / main (Resize); 10.1-GA onnxOpCheckers.cpp:586-593"),
    _rule("qdq-zero-point-input", "8.5 / 8.6 need the zero-point input of QuantizeLinear / DequantizeLinear",
          "8.5-GA builtin_op_importers.cpp:1193; 8.6-GA :1216"),
    _rule("qdq-zero-point", "zero points are all 0 (symmetric quantization only)",
          "operators-<branch>.md (DequantizeLinear, QuantizeLinear); 8.5-GA builtin_op_importers.cpp:1227; NvInfer.h "
          "IDequantizeLayer (8.5.3:6015-6016, 10.16:5680-5681)"),
    _rule("qdq-uint8", "UINT8 quantization (a UINT8 zero point, or a QuantizeLinear without zero point, whose "
                       "output ONNX defines as UINT8) is rejected by 8.5 / 8.6 and read as INT8 by 10.x / 11.x",
          "8.5-GA builtin_op_importers.cpp:1180; 8.6-GA :1160-1166; 10.1-GA onnxOpImporters.cpp:1457-1461"),
    _rule("dq-input-type", "DequantizeLinear's input is INT8 (8.5 / 8.6) or INT8 / FP8 / INT4 (10.x; 11.x also "
                           "FP4): an INT32 bias behind a DequantizeLinear does not build",
          "operators-<branch>.md (DequantizeLinear); NvInfer.h IDequantizeLayer 8.5.3:6028, 8.6:6130, 10.0:5382, "
          "10.16:5695, 11.1:5520"),
    _rule("q-input-type", "QuantizeLinear's input is FP32 / FP16 (8.x) or FP32 / FP16 / BF16 (10.x / 11.x)",
          "operators-<branch>.md (QuantizeLinear); NvInfer.h IQuantizeLayer 8.5.3:5943, 10.0:5255"),
    _rule("qdq-scale", "the scale is a build-time constant of positive values, a scalar (per tensor) or 1-D (per "
                       "channel) with as many values as the zero point",
          "8.5-GA builtin_op_importers.cpp:1209, :1240; NvInfer.h 8.5.3:6019-6022, 10.0:5372-5376; 10.1-GA "
          "onnxOpImporters.cpp:1404, :1418"),
    _rule("qdq-per-channel", "per-channel scales only on constants (weights), never on activations, with one "
                         "value per element of the axis; without an axis attribute TensorRT takes axis 0 where "
                         "ONNX means 1",
          "NvInfer.h 8.5.3:5954, :6039 (activations per tensor only); 8.5-GA builtin_op_importers.cpp:1246-1260; "
          "10.1-GA onnxOpImporters.cpp:1521-1541"),
    _rule("plugin-fields", "a plugin node carries every field its creator lists in getFieldNames() "
                           "(BilinearUpsample_TRT: edge_saliency/plugins/upsample_op.py); the parser passes only "
                           "those fields and warns about a missing one",
          "8.5-GA builtin_op_importers.cpp:5216-5229 (loadFields); 10.1-GA onnxOpImporters.cpp:6112"),
    _rule("plugin-field-types", "plugin attributes reach the creator typed as the parser converts them: INT -> "
                                "kINT32, FLOAT -> kFLOAT32, STRING -> kCHAR (INTS / FLOATS / STRINGS likewise); the "
                                "creator reads each field as the type it declares",
          "8.5-GA builtin_op_importers.cpp:5235-5262; 8.6-GA :5233-5256; 10.1-GA onnxOpImporters.cpp:6135-6158"),
    _rule("plugin-lookup", "the parser finds the creator by op_type, plugin_version (string, default '1') and "
                           "plugin_namespace (string, default ''): ours is BilinearUpsample_TRT, '1', ''",
          "8.5-GA builtin_op_importers.cpp:5401-5412; 10.1-GA onnxOpImporters.cpp:6438-6446"),
    _rule("plugin-io", "BilinearUpsample_TRT takes one N×C×H×W float32 or float16 tensor",
          "edge_saliency/plugins/upsample_op.py (the node contract the plugin implements)"),
    _rule("dynamic-shapes", "an input with dynamic dimensions needs an optimization profile: build-engine "
                            "--shape or --min-shape / --opt-shape / --max-shape (DLA: static shapes only)",
          "NvInfer.h IOptimizationProfile (8.5.3 and later)"),
)}

# ONNX TensorProto data type number -> the parser tables' type token
_TABLE_TYPE = {1: "FP32", 10: "FP16", 16: "BF16", 6: "INT32", 7: "INT64", 3: "INT8", 2: "UINT8", 9: "BOOL",
               11: "FP32", 17: "FP8", 22: "INT4", 23: "FP4"}
_GRAPH_TYPE = {1: "FLOAT32", 10: "FLOAT16", 16: "BFLOAT16", 6: "INT32", 7: "INT64", 3: "INT8", 2: "UINT8",
               9: "BOOL", 11: "DOUBLE", 17: "FP8", 22: "INT4"}
_DQ_INPUT = {"8.5": {"INT8"}, "8.6": {"INT8"}, "10.x": {"INT8", "FP8", "INT4"}, "11.x": {"INT8", "FP8", "INT4", "FP4"}}
_RESIZE_COORDINATES = {"half_pixel", "pytorch_half_pixel", "tf_half_pixel_for_nn", "asymmetric", "align_corners"}
_NEAREST_MODES = {"floor", "ceil", "round_prefer_floor", "round_prefer_ceil"}
_PLUGIN_FIELD_TYPES = {**{n: "INT" for n in contract.INT_ATTRIBUTES}, **{n: "FLOAT" for n in contract.FLOAT_ATTRIBUTES},
                       **{n: "STRING" for n in contract.STRING_ATTRIBUTES}}
_FIELD_KIND = {"INT": "kINT32", "FLOAT": "kFLOAT32", "STRING": "kCHAR", "INTS": "kINT32", "FLOATS": "kFLOAT32",
               "STRINGS": "kCHAR", "TENSOR": "its element type"}
_STANDARD_DOMAINS = ("", "ai.onnx")


@dataclasses.dataclass
class Finding:
    rule: str
    node: str  # node name; "" for the graph itself
    op_type: str
    versions: Tuple[str, ...]
    severity: str  # "error" | "warning" | "note"
    detail: str

    def line(self) -> str:
        where = "node '{}' ({})".format(self.node, self.op_type) if self.op_type else (self.node or "graph")
        return "{}: {} [TensorRT {}; rule {}]".format(where, self.detail, ", ".join(self.versions), self.rule)


@dataclasses.dataclass
class Report:
    versions: Tuple[str, ...]
    findings: List[Finding]

    def of(self, severity: str, version: Optional[str] = None) -> List[Finding]:
        return [f for f in self.findings if f.severity == severity and (version is None or version in f.versions)]

    def errors(self, version: Optional[str] = None) -> List[Finding]:
        return self.of("error", version)

    def passes(self, version: Optional[str] = None) -> bool:
        return not self.errors(version)

    def summary(self) -> Dict[str, Any]:
        """For a sidecar: per version pass / fail, and the warnings."""
        return {"versions": {v: "pass" if self.passes(v) else "fail" for v in self.versions},
                "errors": [f.line() for f in self.errors()], "warnings": [f.line() for f in self.of("warning")]}


def line_of(version: str) -> str:
    """The TensorRT line ('8.5', '8.6', '10.x', '11.x') of a version such as '10.3.0.30', '8.6', '11' or '10.x'."""
    numbers = [int(p) for p in re.findall(r"\d+", version)]
    if numbers[:1] == [8] and len(numbers) > 1 and numbers[1] in (5, 6):
        return "8.{}".format(numbers[1])
    if numbers[:1] in ([10], [11]):
        return "{}.x".format(numbers[0])
    raise UserError("TensorRT {} is not supported: edge-saliency supports {} (give one of those, or e.g. "
                    "10.3)".format(version, ", ".join(LINES)))


# -- reading the graph -----------------------------------------------------------------------------------------


class _Graph:
    """What the rules need: node producers, initializer values, element types and shapes of every tensor."""

    def __init__(self, model: Any) -> None:
        onnx = require("onnx", purpose="the TensorRT rules check")
        self.onnx = onnx
        self.model = model
        graph = model.graph
        self.inits = {t.name: t for t in graph.initializer}
        self.producers = {o: n for n in graph.node for o in n.output if o}
        self.constants = {n.output[0]: n for n in graph.node if n.op_type == "Constant" and n.output}
        self.opset = max((o.version for o in model.opset_import if o.domain in _STANDARD_DOMAINS), default=0)
        self.types: Dict[str, int] = {}
        self.shapes: Dict[str, List[Optional[int]]] = {}
        self._infer()

    def _infer(self) -> None:
        """Types and shapes from ONNX shape inference on a light copy: initializers become typed inputs (no data)
        and plugin nodes Identity (same type; their output shape is left unknown)."""
        onnx, helper = self.onnx, self.onnx.helper
        graph = self.model.graph
        light = helper.make_model(
            helper.make_graph([], graph.name or "graph", list(graph.input), list(graph.output)),
            opset_imports=list(self.model.opset_import), ir_version=self.model.ir_version)
        declared = {v.name for v in graph.input}
        for tensor in graph.initializer:
            if tensor.name not in declared:
                light.graph.input.append(helper.make_tensor_value_info(tensor.name, tensor.data_type, tensor.dims))
        for node in graph.node:
            if node.domain in _STANDARD_DOMAINS:
                light.graph.node.append(node)
            else:  # custom ops: keep the dtype flowing
                light.graph.node.append(helper.make_node("Identity", node.input[:1], node.output[:1], name=node.name))
        try:
            inferred = onnx.shape_inference.infer_shapes(light)
        except Exception:  # inference is a help, not a requirement: fall back to what the file declares
            inferred = light
        for value in list(inferred.graph.input) + list(inferred.graph.value_info) + list(inferred.graph.output):
            tensor = value.type.tensor_type
            if tensor.elem_type:
                self.types[value.name] = tensor.elem_type
            if tensor.HasField("shape"):
                self.shapes[value.name] = [d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim]
        for name, tensor in self.inits.items():
            self.types[name] = tensor.data_type
            self.shapes[name] = list(tensor.dims)

    def constant(self, name: str) -> Optional[np.ndarray]:
        """The value of an initializer or Constant node output (through Identity / Cast), else None."""
        numpy_helper = self.onnx.numpy_helper
        if name in self.inits:
            return numpy_helper.to_array(self.inits[name])
        node = self.constants.get(name)
        if node is not None:
            for attr in node.attribute:
                if attr.name == "value":
                    return numpy_helper.to_array(attr.t)
            return None
        producer = self.producers.get(name)
        if producer is not None and producer.op_type in ("Identity", "Cast") and producer.input:
            return self.constant(producer.input[0])
        return None

    def is_constant(self, name: str) -> bool:
        return name in self.inits or name in self.constants or (
            self.producers.get(name) is not None and self.producers[name].op_type in ("Identity", "Cast")
            and self.is_constant(self.producers[name].input[0]))


def _attrs(node: Any, onnx: Any) -> Dict[str, Any]:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# -- the rules -------------------------------------------------------------------------------------------------


class _Checker:
    def __init__(self, graph: _Graph, versions: Sequence[str]) -> None:
        self.g = graph
        self.versions = tuple(versions)
        self.findings: List[Finding] = []

    def add(self, rule: str, node: Any, versions: Iterable[str], severity: str, detail: str) -> None:
        chosen = tuple(v for v in self.versions if v in set(versions))
        if chosen:
            name = node.name if node is not None else ""
            op = node.op_type if node is not None else ""
            self.findings.append(Finding(rule, name, op, chosen, severity, detail))

    def add_graph(self, rule: str, what: str, versions: Iterable[str], severity: str, detail: str) -> None:
        chosen = tuple(v for v in self.versions if v in set(versions))
        if chosen:
            self.findings.append(Finding(rule, what, "", chosen, severity, detail))

    def run(self) -> List[Finding]:
        self.graph_rules()
        for node in self.g.model.graph.node:
            self.node_rules(node)
        return self.findings

    # graph -------------------------------------------------------------------------------------------------
    def graph_rules(self) -> None:
        for line in self.versions:
            low, high = TABLES[TABLE_OF[line]]["opset"]
            if not low <= self.g.opset <= high:
                self.add_graph("opset", "graph", [line], "warning", "opset {} is outside {} (the parser's table "
                               "documents opset {}{})".format(self.g.opset, "its range", "{} to ".format(low) if low
                                                             else "up to ", high))
        graph = self.g.model.graph
        for value in list(graph.input) + list(graph.output):
            if value.name in self.g.inits:
                continue
            kind = "input" if value in graph.input else "output"
            elem = value.type.tensor_type.elem_type
            name = _GRAPH_TYPE.get(elem, self.g.onnx.TensorProto.DataType.Name(elem))
            bad = [v for v in self.versions if name not in
                   (TABLES[TABLE_OF[v]]["data_types"] + " " + TABLES[TABLE_OF[v]]["limited"]).split()]
            self.add_graph("io-types", "graph {} '{}'".format(kind, value.name), bad, "error",
                           "type {} is not an ONNX type the parser takes".format(name))
            dims = value.type.tensor_type.shape.dim
            dynamic = [i for i, d in enumerate(dims) if not d.HasField("dim_value")]
            if kind == "input" and dynamic:
                self.add_graph("dynamic-shapes", "graph input '{}'".format(value.name), LINES, "note",
                               "dimensions {} are dynamic: build-engine needs --shape {}:1x3xHxW or --min-shape / "
                               "--opt-shape / --max-shape".format(dynamic, value.name))

    # nodes -------------------------------------------------------------------------------------------------
    def node_rules(self, node: Any) -> None:
        if node.op_type == contract.OP_TYPE:
            self.plugin(node)
            return
        custom = node.domain not in _STANDARD_DOMAINS
        unsupported = [v for v in self.versions if node.op_type not in TABLES[TABLE_OF[v]]["ops"]]
        if custom and len(unsupported) < len(self.versions):
            self.add("op-domain", node, [v for v in self.versions if v not in unsupported], "warning",
                     "domain '{}' is ignored: the parser imports it as the built-in {}".format(node.domain,
                                                                                              node.op_type))
        if unsupported:
            self.add("op-supported", node, unsupported, "error",
                     "the parser has no importer for {} (it would look for a plugin creator '{}', which edge-saliency "
                     "does not provide)".format(node.op_type, node.op_type))
        self.data_type(node, [v for v in self.versions if v not in unsupported])
        if node.op_type == "Resize":
            self.resize(node)
        elif node.op_type in ("QuantizeLinear", "DequantizeLinear"):
            self.qdq(node)

    def data_type(self, node: Any, versions: Sequence[str]) -> None:
        if node.op_type in ("QuantizeLinear", "DequantizeLinear"):
            return  # their own rules below
        tensor = node.input[0] if node.input and node.input[0] else (node.output[0] if node.output else "")
        if node.op_type in ("ConstantOfShape", "Constant", "Shape", "Cast"):  # the row types the output
            tensor = node.output[0] if node.output else ""
        elem = self.g.types.get(tensor)
        if not elem:
            return
        bad = []
        for line in versions:
            token = _TABLE_TYPE.get(elem, "?")
            if line in V8 and token == "INT64":
                token = "INT32"  # cast down by the 8.x parser
            listed = TABLES[TABLE_OF[line]]["ops"][node.op_type].split()
            if listed and token not in listed:
                bad.append(line)
        self.add("op-types", node, bad, "error", "'{}' is {}; the parser's {} takes {}".format(
            tensor, self.g.onnx.TensorProto.DataType.Name(elem), node.op_type,
            " / ".join(sorted({t for v in bad for t in TABLES[TABLE_OF[v]]["ops"][node.op_type].split()}))))

    def resize(self, node: Any) -> None:
        attrs = _attrs(node, self.g.onnx)
        mode = _text(attrs.get("mode", "nearest"))
        if mode not in ("nearest", "linear", "cubic"):
            self.add("resize-mode", node, LINES, "error", "mode '{}' is rejected ('Invalid Resize mode')".format(mode))
        elif mode == "cubic":
            self.add("resize-mode", node, LINES, "warning", "mode 'cubic' is not in the parser's table (nearest, "
                     "linear) although its importer maps it to ResizeMode::kCUBIC")
        if self.g.opset >= 11:
            coordinates = _text(attrs.get("coordinate_transformation_mode", "half_pixel"))
            if coordinates not in _RESIZE_COORDINATES:
                self.add("resize-coordinates", node, LINES, "error",
                         "coordinate_transformation_mode '{}' is rejected (supported: {})".format(
                             coordinates, ", ".join(sorted(_RESIZE_COORDINATES))))
            nearest = _text(attrs.get("nearest_mode", "round_prefer_floor"))
            if mode == "nearest" and nearest not in _NEAREST_MODES:
                self.add("resize-nearest-mode", node, LINES, "error", "nearest_mode '{}' is rejected".format(nearest))
            elif mode == "nearest" and coordinates == "tf_half_pixel_for_nn" and nearest != "round_prefer_floor":
                self.add("resize-nearest-mode", node, V8, "error", "tf_half_pixel_for_nn with nearest_mode '{}': 8.5 "
                         "/ 8.6 take round_prefer_floor only".format(nearest))
        if int(attrs.get("antialias", 0)) != 0:
            self.add("resize-opset18", node, V10_11, "error", "antialias is not supported")
            self.add("resize-opset18", node, V8, "warning", "antialias is ignored (an opset-18 attribute)")
        policy = _text(attrs.get("keep_aspect_ratio_policy", "stretch"))
        if policy != "stretch":
            self.add("resize-opset18", node, V10_11, "error",
                     "keep_aspect_ratio_policy '{}' is not supported (stretch only)".format(policy))
            self.add("resize-opset18", node, V8, "warning", "keep_aspect_ratio_policy is ignored (opset 18)")

    def qdq(self, node: Any) -> None:
        g = self.g
        TensorProto = g.onnx.TensorProto
        is_dq = node.op_type == "DequantizeLinear"
        zero_name = node.input[2] if len(node.input) > 2 and node.input[2] else None
        scale_name = node.input[1] if len(node.input) > 1 else ""
        data = node.input[0]
        if zero_name is None:
            self.add("qdq-zero-point-input", node, V8, "error", "no zero-point input: 8.5 / 8.6 require it")
            if not is_dq:
                self.add("qdq-uint8", node, V8, "error", "without a zero point the output is UINT8 (ONNX default)")
                self.add("qdq-uint8", node, V10_11, "warning", "without a zero point ONNX quantizes to UINT8; "
                         "TensorRT quantizes to INT8")
        zero = g.constant(zero_name) if zero_name else None
        if zero_name and zero is not None and np.any(zero != 0):
            self.add("qdq-zero-point", node, LINES, "error", "zero point '{}' is not all 0 (values {}): TensorRT "
                     "quantizes symmetrically only".format(zero_name, _sample(zero)))
        zero_type = g.types.get(zero_name) if zero_name else None
        if not is_dq and zero_type == TensorProto.UINT8:
            self.add("qdq-uint8", node, V8, "error", "UINT8 zero point: 8.5 / 8.6 reject UINT8 quantization")
            self.add("qdq-uint8", node, V10_11, "warning", "UINT8 zero point: TensorRT quantizes to INT8 instead")
        # input types
        if is_dq:
            elem = g.types.get(data)
            if elem is None and data in g.producers and g.producers[data].op_type == "QuantizeLinear":
                quantize = g.producers[data]
                source_zero = quantize.input[2] if len(quantize.input) > 2 and quantize.input[2] else None
                elem = g.types.get(source_zero, TensorProto.UINT8) if source_zero else TensorProto.UINT8
            if elem is not None:
                token = _TABLE_TYPE.get(elem, TensorProto.DataType.Name(elem))
                bad = [v for v in self.versions if token not in _DQ_INPUT[v]]
                if token == "UINT8":
                    self.add("qdq-uint8", node, V8, "error", "input '{}' is UINT8".format(data))
                    self.add("qdq-uint8", node, V10_11, "warning", "input '{}' is UINT8: read as INT8".format(data))
                else:
                    self.add("dq-input-type", node, bad, "error", "input '{}' is {}: TensorRT dequantizes INT8 only "
                             "(10.x also FP8 / INT4, 11.x also FP4)".format(data, TensorProto.DataType.Name(elem)))
        else:
            elem = g.types.get(data)
            if elem is not None:
                token = _TABLE_TYPE.get(elem, "?")
                bad = [v for v in self.versions if token not in TABLES[TABLE_OF[v]]["ops"]["QuantizeLinear"].split()]
                self.add("q-input-type", node, bad, "error", "input '{}' is {}; TensorRT quantizes {}".format(
                    data, TensorProto.DataType.Name(elem), " / ".join(
                        sorted({t for v in bad for t in TABLES[TABLE_OF[v]]["ops"]["QuantizeLinear"].split()}))))
        # scale
        scale = g.constant(scale_name)
        if scale is None:
            self.add("qdq-scale", node, ("8.5", "8.6", "10.x"), "error",
                     "scale '{}' is not a build-time constant".format(scale_name))
            return
        if scale.ndim > 1:
            self.add("qdq-scale", node, LINES, "error", "scale '{}' has shape {}: INT8 takes a scalar or a 1-D "
                     "scale".format(scale_name, list(scale.shape)))
        if np.any(scale <= 0):
            self.add("qdq-scale", node, LINES, "error", "scale '{}' has values <= 0 ({})".format(
                scale_name, _sample(scale[scale <= 0])))
        if zero is not None and zero.size != scale.size:
            self.add("qdq-scale", node, LINES, "error", "zero point has {} values, scale {}".format(
                zero.size, scale.size))
        if scale.size > 1:
            self.per_channel(node, scale)

    def per_channel(self, node: Any, scale: np.ndarray) -> None:
        g = self.g
        data = node.input[0]
        attrs = _attrs(node, g.onnx)
        if not g.is_constant(data):
            self.add("qdq-per-channel", node, LINES, "error", "per-channel scale ({} values) on '{}', which is not "
                     "a constant: TensorRT quantizes activations per tensor only".format(scale.size, data))
            return
        shape = g.shapes.get(data) or []
        if "axis" not in attrs:
            self.add("qdq-per-channel", node, LINES, "warning", "per-channel without an axis attribute: ONNX means "
                     "axis 1, TensorRT takes axis 0")
        axis = int(attrs.get("axis", 0))
        if shape and -len(shape) <= axis < len(shape) and shape[axis] not in (None, scale.size):
            self.add("qdq-per-channel", node, LINES, "error", "axis {} of '{}' has {} elements but the scale {} "
                     "values".format(axis, data, shape[axis], scale.size))

    def plugin(self, node: Any) -> None:
        g = self.g
        kinds = {a.name: g.onnx.AttributeProto.AttributeType.Name(a.type) for a in node.attribute}
        attrs = _attrs(node, g.onnx)
        for field, wanted in _PLUGIN_FIELD_TYPES.items():
            if field not in kinds:
                self.add("plugin-fields", node, LINES, "error", "attribute '{}' is missing: the creator gets no "
                         "'{}' field".format(field, field))
            elif kinds[field] != wanted:
                self.add("plugin-field-types", node, LINES, "error", "attribute '{}' is {}: the parser hands it to "
                         "the creator as {}, which expects {} ({} attribute)".format(
                             field, kinds[field], _FIELD_KIND.get(kinds[field], kinds[field]), _FIELD_KIND[wanted],
                             wanted))
        for extra in sorted(set(kinds) - set(_PLUGIN_FIELD_TYPES)):
            self.add("plugin-fields", node, LINES, "warning", "attribute '{}' is not a creator field: the parser "
                     "drops it".format(extra))
        if kinds.get("plugin_version") == "STRING" and _text(attrs["plugin_version"]) != contract.PLUGIN_VERSION:
            self.add("plugin-lookup", node, LINES, "error", "plugin_version '{}': the creator is version '{}'".format(
                _text(attrs["plugin_version"]), contract.PLUGIN_VERSION))
        if kinds.get("plugin_namespace") == "STRING" and \
                _text(attrs["plugin_namespace"]) != contract.PLUGIN_NAMESPACE:
            self.add("plugin-lookup", node, LINES, "error", "plugin_namespace '{}': the creator registers in "
                     "'{}'".format(_text(attrs["plugin_namespace"]), contract.PLUGIN_NAMESPACE))
        elem = g.types.get(node.input[0]) if node.input else None
        if len(node.input) != 1 or (elem and elem not in (g.onnx.TensorProto.FLOAT, g.onnx.TensorProto.FLOAT16)):
            self.add("plugin-io", node, LINES, "error", "takes one float32 / float16 input, got {}".format(
                ", ".join("'{}' {}".format(i, g.onnx.TensorProto.DataType.Name(g.types[i]) if i in g.types else "?")
                          for i in node.input)))


def _sample(values: np.ndarray) -> str:
    flat = np.asarray(values).ravel()
    shown = ", ".join("{:g}".format(v) for v in flat[:4])
    return shown + (", ..." if flat.size > 4 else "")


# -- entry points ----------------------------------------------------------------------------------------------


def check_model(model: Any, versions: Sequence[str] = LINES) -> Report:
    """The TensorRT rules check of a ModelProto for ``versions`` (TensorRT lines, see :data:`LINES`)."""
    unknown = [v for v in versions if v not in LINES]
    if unknown:
        raise UserError("unknown TensorRT line(s) {}; use {}".format(unknown, ", ".join(LINES)))
    findings = _Checker(_Graph(model), versions).run()
    order = {"error": 0, "warning": 1, "note": 2}
    findings.sort(key=lambda f: order[f.severity])
    return Report(tuple(versions), findings)


def check_file(path: str, versions: Sequence[str] = LINES) -> Report:
    from .onnx_info import load_graph

    return check_model(load_graph(path), versions)


def refusal(path: str, report: Report, limit: int = 20, hint: str = "") -> UserError:
    """One line per rejected node (the first ``limit``), naming the node and the versions."""
    errors = report.errors()
    lines = [f.line() for f in errors[:limit]]
    if len(errors) > limit:
        lines.append("... and {} more (edge-saliency inspect {} --tensorrt)".format(len(errors) - limit, path))
    failing = [v for v in report.versions if not report.passes(v)]
    return UserError("{} breaks TensorRT {} rules{}:\n  {}".format(path, ", ".join(failing), hint, "\n  ".join(lines)))


def versions_for(requested: Optional[str]) -> Tuple[str, ...]:
    """``--tensorrt [VERSION]``: every supported line, or the one VERSION belongs to."""
    if not requested or requested == "all":
        return LINES
    return (line_of(requested),)
