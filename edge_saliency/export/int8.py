"""INT8 post-training quantization into explicit QuantizeLinear/DequantizeLinear (Q/DQ) ONNX for TensorRT.

Quantizer: ONNX Runtime's ``quantize_static`` (QDQ format) configured for TensorRT's explicit-quantization
rules, which hold from TensorRT 8.0 to 11.x:

- symmetric everywhere: int8 activations and weights, every zero point 0 (``ActivationSymmetric``,
  ``WeightSymmetric``); weights per output channel (axis 0), activations per tensor;
- biases stay float (``QuantizeBias`` off): ORT's default turns each Conv bias into an INT32 initializer behind a
  ``DequantizeLinear``, and TensorRT's dequantize layer takes only INT8 input on 8.5 / 8.6 (INT8, FP8, INT4, FP4
  on 10.x / 11.x), so such a file does not build. TensorRT fuses the float bias into the int8 convolution;
- Q/DQ on the *inputs* of ``Conv`` (activation + weight) and of residual ``Add`` only, never on their outputs
  (``OpTypesToExcludeOutputQuantization``): NVIDIA's placement recommendation, which lets TensorRT fuse
  Conv + bias + activation (+ residual) and choose the output precision itself. ORT's default would also
  quantize every Conv output *before* its ReLU6/ReLU (a range several times wider than the activation's)
  and Concat/Resize/Sigmoid of the 1-channel saliency maps;
- no Q/DQ around ``BilinearUpsample_TRT`` plugin nodes (they are excluded, and nothing next to them is
  quantized: the decoder's maps stay float);
- the layers at stride ≤ 2 (``keep_float_stride``) stay float: in EML-Net the stride-2 tap goes straight to
  the saliency map, so their quantization noise is not averaged away by deeper layers (EfficientNet-Lite0
  with trained weights: min CC on held-out photos 0.962 → 0.992), for ~2-5 % of the MACs.

Calibration runs ONNX Runtime's calibrators (min-max, entropy with 512 bins, percentile) on pre-processed
frames, in chunks (bounded memory), on a twin of the graph whose plugin nodes are standard ``Resize`` nodes
(same tensors, same values; the calibrator cannot load custom ops). Its tensor ranges are cached as JSON
under a key of (fp32 ONNX sha256, method, percentile, frames digest, quantized op types), so a rebuild with
the same inputs does not recalibrate.
"""
import hashlib
import json
import logging
import os
import tempfile
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .._lazy import require
from ..errors import UserError
from ..plugins import upsample_op as contract
from .graph import INPUT_NAME, name_nodes, plugin_to_native
from .options import CALIBRATION_METHODS as METHODS
from .options import KEEP_FLOAT_STRIDE
from .progress import Step

log = logging.getLogger("edge_saliency")

QUANTIZED_OP_TYPES = ("Conv", "Add")
CHUNK = 4  # frames per calibration pass: the calibrator keeps every tensor of a chunk in memory...
CHUNK_PIXELS = 256 * 320  # ...so large inputs go one frame at a time (the headline at 480×640: ~2-3 GB per frame)
# histogram bins for entropy: TensorRT's calibrator uses 2048, but ORT's threshold search is quadratic in the bin
# count (EfficientNet-Lite0: 1 s at 128 bins, 14 s at 512, 53 s at 1024); 512 gives thresholds within a few
# % of 1024's, while 128 mostly returns the max (= min-max)
ENTROPY_BINS = 512
PERCENTILE_BINS = 2048


def _ort_method(method: str) -> Any:
    calibrate = require("onnxruntime.quantization.calibrate", purpose="INT8 calibration")
    names = {"minmax": "MinMax", "entropy": "Entropy", "percentile": "Percentile"}
    if method not in names:
        raise UserError("calibration method must be one of {}, got {!r}".format(", ".join(METHODS), method))
    return getattr(calibrate.CalibrationMethod, names[method])


def _calibrator_options(method: str, percentile: float) -> Dict[str, Any]:
    options: Dict[str, Any] = {"symmetric": True}
    if method == "entropy":
        options.update(num_bins=ENTROPY_BINS, num_quantized_bins=128)
    elif method == "percentile":
        options.update(percentile=float(percentile), num_bins=PERCENTILE_BINS)
    return options


def default_cache_dir() -> str:
    """``$XDG_CACHE_HOME/edge-saliency/calibration`` (``~/.cache/...`` when unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "edge-saliency", "calibration")


def calibration_key(onnx_sha256: str, method: str, percentile: float, digest: str,
                    op_types: Sequence[str] = QUANTIZED_OP_TYPES) -> Dict[str, Any]:
    """What the cached ranges depend on; ``key["id"]`` names the cache file."""
    key = {
        "onnx_sha256": onnx_sha256, "method": method, "percentile": percentile if method == "percentile" else None,
        "frames_sha256": digest, "op_types": sorted(op_types), "symmetric": True,
        "bins": {"entropy": ENTROPY_BINS, "percentile": PERCENTILE_BINS}.get(method),
    }
    key["id"] = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
    return key


class _ChunkReader:
    """An ORT CalibrationDataReader over a list of 1×3×H×W inputs."""

    def __init__(self, inputs: Sequence[np.ndarray]) -> None:
        self._items = iter(list(inputs))

    def get_next(self) -> Optional[Dict[str, np.ndarray]]:
        x = next(self._items, None)
        return None if x is None else {INPUT_NAME: x}


def calibrate(fp32_model: Any, inputs: Sequence[np.ndarray], method: str, percentile: float, cache_path: str,
              op_types: Sequence[str] = QUANTIZED_OP_TYPES) -> bool:
    """Write the tensor ranges of ``fp32_model`` over ``inputs`` to ``cache_path`` (ORT's calibration-cache
    JSON) unless it is already there. Returns True when the cache was reused."""
    onnx = require("onnx", purpose="INT8 calibration")
    calibrate_mod = require("onnxruntime.quantization.calibrate", purpose="INT8 calibration")
    ort_method = _ort_method(method)
    if os.path.isfile(cache_path):
        cached = calibrate_mod.load_tensors_data(cache_path)
        if cached.calibration_method == ort_method:
            log.info("calibration: reusing cached ranges %s", cache_path)
            return True
    if not inputs:
        raise UserError("no calibration frames")
    with tempfile.TemporaryDirectory(prefix="edge-saliency-calib-") as tmp:
        twin = os.path.join(tmp, "fp32.onnx")
        onnx.save(plugin_to_native(fp32_model), twin)
        calibrator = calibrate_mod.create_calibrator(
            twin, list(op_types), augmented_model_path=os.path.join(tmp, "augmented.onnx"),
            calibrate_method=ort_method, extra_options=_calibrator_options(method, percentile),
        )
        pixels = int(inputs[0].shape[2]) * int(inputs[0].shape[3])
        chunk = max(1, min(CHUNK, CHUNK_PIXELS // pixels))
        with Step("calibrating ({}, {} frames)".format(method, len(inputs))) as step:
            for start in range(0, len(inputs), chunk):
                calibrator.collect_data(_ChunkReader(inputs[start:start + chunk]))
                step.update(min(start + chunk, len(inputs)), len(inputs))
            ranges = calibrator.compute_data()
        del calibrator
    calibrate_mod.save_tensors_data(ranges, cache_path)  # ORT writes it atomically
    return False


def _static_shapes(model: Any, input_size: Sequence[int]) -> Dict[str, List[Any]]:
    """Shapes of every tensor with the input fixed to 1×3×H×W (also for dynamic exports)."""
    onnx = require("onnx")
    static = onnx.ModelProto()
    static.CopyFrom(model)
    dims = static.graph.input[0].type.tensor_type.shape.dim
    for dim, value in zip(dims, (1, 3, int(input_size[0]), int(input_size[1]))):
        dim.Clear()
        dim.dim_value = value
    inferred = onnx.shape_inference.infer_shapes(static, data_prop=True)
    shapes = {}
    for value in list(inferred.graph.value_info) + list(inferred.graph.output):
        dims = value.type.tensor_type.shape.dim
        shapes[value.name] = [d.dim_value if d.HasField("dim_value") else None for d in dims]
    return shapes


def float_nodes(model: Any, input_size: Sequence[int], keep_float_stride: int = KEEP_FLOAT_STRIDE) -> List[str]:
    """Nodes to leave unquantized: plugin nodes, and Conv nodes whose output is at stride ≤
    ``keep_float_stride`` of the input (0: none)."""
    names = [n.name for n in model.graph.node if n.op_type == contract.OP_TYPE]
    if keep_float_stride <= 0:
        return names
    shapes = _static_shapes(model, input_size)
    h, w = int(input_size[0]), int(input_size[1])
    for node in model.graph.node:
        if node.op_type != "Conv":
            continue
        shape = shapes.get(node.output[0])
        if not shape or len(shape) != 4 or not shape[2] or not shape[3]:
            continue
        if shape[2] * keep_float_stride >= h and shape[3] * keep_float_stride >= w:
            names.append(node.name)
    return names


def quantize(fp32_model: Any, cache_path: str, method: str, input_size: Sequence[int],
             keep_float_stride: int = KEEP_FLOAT_STRIDE,
             op_types: Sequence[str] = QUANTIZED_OP_TYPES) -> Tuple[Any, Dict[str, Any]]:
    """The Q/DQ model from ``fp32_model`` and the cached ranges; returns (model, facts for the sidecar)."""
    onnx = require("onnx", purpose="INT8 quantization")
    quantization = require("onnxruntime.quantization", purpose="INT8 quantization")
    excluded = float_nodes(fp32_model, input_size, keep_float_stride)
    extra = {
        "ActivationSymmetric": True, "WeightSymmetric": True, "QuantizeBias": False,
        "OpTypesToExcludeOutputQuantization": list(op_types),
    }
    with tempfile.TemporaryDirectory(prefix="edge-saliency-int8-") as tmp:
        out = os.path.join(tmp, "int8.onnx")
        root = logging.getLogger()
        level = root.level
        root.setLevel(max(level, logging.ERROR))  # quantize_static warns about its optional pre-processing
        try:
            quantization.quantize_static(
                fp32_model, out, calibration_data_reader=None, calibration_cache_path=cache_path,
                quant_format=quantization.QuantFormat.QDQ, per_channel=True, reduce_range=False,
                activation_type=quantization.QuantType.QInt8, weight_type=quantization.QuantType.QInt8,
                op_types_to_quantize=list(op_types), nodes_to_exclude=excluded, calibrate_method=_ort_method(method),
                extra_options=extra,
            )
        finally:
            root.setLevel(level)
        model = onnx.load(out)
    name_nodes(model)
    conv_float = [n for n in excluded if not n.endswith(contract.OP_TYPE)]
    facts = {
        "tool": "onnxruntime.quantization.quantize_static",
        "tool_version": require("onnxruntime").__version__,
        "format": "QDQ",
        "activations": "int8, symmetric (zero point 0), per tensor",
        "weights": "int8, symmetric (zero point 0), per output channel (axis 0)",
        "biases": "float (not quantized)",
        "op_types": list(op_types),
        "outputs_quantized": False,
        "keep_float_stride": keep_float_stride,
        "float_nodes": conv_float,
    }
    return model, facts


def qdq_summary(model: Any) -> Dict[str, Any]:
    """Facts a test or a reader checks: Q/DQ counts, largest |zero point|, per-channel weight DQs (and their axes),
    the DequantizeLinear nodes whose input is not INT8 (must be none: TensorRT rejects them), per-tensor
    activation scales, and the Q/DQ nodes adjacent to plugin nodes (must be none)."""
    onnx = require("onnx")
    numpy_helper = onnx.numpy_helper
    inits = {t.name: t for t in model.graph.initializer}
    producers = {o: n for n in model.graph.node for o in n.output}
    consumers: Dict[str, List[Any]] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    zero_points: List[int] = []
    per_channel = 0
    weight_axes: List[int] = []
    not_int8: List[str] = []
    per_channel_activations: List[str] = []
    counts = {"QuantizeLinear": 0, "DequantizeLinear": 0}
    for node in model.graph.node:
        if node.op_type not in counts:
            continue
        counts[node.op_type] += 1
        if len(node.input) > 2 and node.input[2] in inits:
            zero_points.extend(int(v) for v in np.abs(numpy_helper.to_array(inits[node.input[2]])).ravel())
        scale_size = numpy_helper.to_array(inits[node.input[1]]).size if node.input[1] in inits else 1
        if node.op_type != "DequantizeLinear":
            continue
        source = node.input[0]
        if source in inits:
            input_type = inits[source].data_type
            if scale_size > 1:
                per_channel += 1
                weight_axes.append(next((a.i for a in node.attribute if a.name == "axis"), 1))
        else:
            quantize = producers.get(source)
            zero_point = quantize.input[2] if quantize is not None and len(quantize.input) > 2 else None
            # a QuantizeLinear's output type is its zero point's (UINT8 without one)
            input_type = inits[zero_point].data_type if zero_point in inits else onnx.TensorProto.UINT8
            if scale_size > 1:
                per_channel_activations.append(node.name)
        if input_type != onnx.TensorProto.INT8:
            not_int8.append(node.name)
    qdq = set(counts)
    beside_plugin = []
    for node in model.graph.node:
        if node.op_type != contract.OP_TYPE:
            continue
        producer = producers.get(node.input[0])
        if producer is not None and producer.op_type in qdq:
            beside_plugin.append(producer.name)
        beside_plugin.extend(c.name for c in consumers.get(node.output[0], []) if c.op_type in qdq)
    return {
        "quantize_nodes": counts["QuantizeLinear"], "dequantize_nodes": counts["DequantizeLinear"],
        "max_abs_zero_point": max(zero_points) if zero_points else 0,
        "per_channel_weight_dequantize_nodes": per_channel, "weight_axes": sorted(set(weight_axes)),
        "non_int8_dequantize_inputs": not_int8, "per_channel_activation_dequantize_nodes": per_channel_activations,
        "qdq_beside_plugin": beside_plugin,
    }
