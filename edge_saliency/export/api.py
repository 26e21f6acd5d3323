"""``export_model`` (PyTorch → fp32 / fp16 / int8 ONNX, checked) and ``check_onnx`` (re-check any file).

Files written by ``export_model(source, "out/lite.onnx", precisions=("fp32", "fp16", "int8"))``:

- ``out/lite.onnx`` (fp32, always: the reference and the source of the other precisions),
  ``out/lite-fp16.onnx``, ``out/lite-int8.onnx``, each with its sidecar ``<file>.json``;
- ``out/lite.accuracy.json`` and ``out/lite.accuracy.md``: the accuracy report of every precision.

All of them (sidecars included) appear together or not at all: a parity failure, a bad option, a full disk or
Ctrl-C leaves no file behind and previous files unchanged (the calibration cache excepted: it is valid on its
own). Before anything runs, an output that is an input (the model, weights, calibration or evaluation frames)
or lies inside an input folder is refused (``edge_saliency.files.checks``).

Sidecar (``edge_saliency.files.sidecar.Sidecar``, kind ``"onnx"``): ``model`` is the ModelConfig (its
``input_size`` is the export size) and ``info`` holds

====================  =================================================================================
key                   value
====================  =================================================================================
``precision``         ``"fp32"`` | ``"fp16"`` | ``"int8"``
``upsample``          ``"native"`` (standard Resize) | ``"plugin"`` (``BilinearUpsample_TRT`` nodes)
``plugin``            ``{"op_type", "domain", "plugin_version", "plugin_namespace", "nodes"}`` (plugin only)
``opset``             ONNX opset of the default domain (int)
``dynamic``           bool: batch, height and width are dynamic axes
``input_size``        ``[H, W]`` used for the export (and the parity / calibration frames)
``size_multiple``     32: H and W must be multiples of it (dynamic exports included)
``inputs``/``outputs``  ``[{"name", "dtype", "shape"}]``; ``shape`` holds ints, or axis names
                      (``"batch"``, ``"height"``, ``"width"``) for dynamic axes. Input ``image``
                      (N×3×H×W float32 RGB in [0, 1], stretched, see ``edge_saliency.maths.preprocess``),
                      output ``saliency`` (N×1×H×W float32 in [0, 1])
``preprocess``        ``{"color": "RGB", "range": [0, 1], "layout": "NCHW", "resize": "stretch",
                      "mode": "pillow-bilinear" | "opencv-area" | "opencv-linear"}``: the model's own
                      ``config.preprocess`` (``edge_saliency.maths.preprocess``), which calibration and the
                      parity frames used and every runner uses
``sha256``            sha256 of the ONNX file (hex)
``size_bytes``        its size
``simplified``        bool: onnx-simplifier ran
``exporter``          the exporter (``name``) and the ``torch``, ``onnx``, ``onnxsim`` versions
``source``            how to rebuild the PyTorch model: ``model`` (preset name or absolute path of a
                      config .json / saved .safetensors), ``weights`` (absolute path of a state dict or
                      null), ``weights_sha256``, ``pretrained``, ``backbone_weights``, ``seed`` (for random
                      initialisations), ``trained`` (bool: any trained weights), ``torch``/``timm`` versions
``reference``         fp16 / int8: ``{"file", "sha256"}`` of the fp32 ONNX it was derived from
``fp16``              fp16 only: converter and the op types / nodes kept in float32
``quantization``      int8 only: quantizer, Q/DQ placement, ``float_nodes``, Q/DQ counts, max |zero point|
``calibration``       int8 only: ``method``, ``percentile``, ``frames`` (count), ``frames_sha256``,
                      ``source``, ``split``, ``cache`` (path), ``cache_key``, ``reused`` (bool)
``parity``            against PyTorch: ``tolerance``, ``passed``, ``failures``, ``results`` (per input:
                      ``max_abs``, ``mean_abs``, ``cc`` vs PyTorch float32; ``error`` vs PyTorch float64,
                      ``rounding`` = PyTorch float32 vs float64, fp32's ``limit``), ``worst``;
                      ``enforced`` (false: fp16 / int8 of a model with random weights, where a failed gate
                      only warns)
``tensorrt``          the TensorRT rules check (``edge_saliency.engine.trt_rules``): ``versions`` (8.5, 8.6,
                      10.x, 11.x -> ``"pass"``; export fails otherwise), ``errors``, ``warnings``
``accuracy``          vs fp32 PyTorch on the held-out real frames: ``cc``, ``cc_min``, ``kld``, ``sim``,
                      ``nss_agreement``, ``max_abs``, ``frames``, ``per_frame``
``timings_s``         seconds per step (``export``, ``simplify``, ``fp16``, ``calibrate``, ``quantize``, ...)
====================  =================================================================================

The same config JSON (``edge_saliency_config``), ``edge_saliency_precision``, ``edge_saliency_upsample`` and
``edge_saliency_source`` are in the ONNX metadata_props, so a file without its sidecar can still be checked.
"""
import dataclasses
import json
import logging
import os
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from .._lazy import require
from .._version import __version__
from ..config import ModelConfig, check_input_size
from ..errors import UserError
from ..files.atomic import check_writable, write_temp
from ..files.checks import Output, check_outputs
from ..files.hashing import file_sha256
from ..files.output_group import OutputGroup
from ..files.sidecar import Sidecar, sidecar_path
from ..maths.preprocess import mode_of, preprocess
from ..models.emlnet import INPUT_MULTIPLE, EMLNet
from ..models.source import ModelSource
from ..plugins import upsample_op as contract
from ..plugins.ort_op import create_session
from . import evaluate, fp16, graph, int8
from .frames import BUILTIN_CALIBRATION, describe_source, frames_digest, load_frames, warn_if_few
from .naming import report_paths, variant_path
from .options import ExportOptions
from .origin import rebuild_model, source_record
from .progress import Step

log = logging.getLogger("edge_saliency")

SOURCE_METADATA_KEY = graph.METADATA_PREFIX + "source"


@dataclasses.dataclass
class ExportResult:
    files: Dict[str, str]  # precision -> ONNX path
    report: Dict[str, Dict[str, Any]]  # precision -> accuracy row
    report_paths: Tuple[str, str]  # (json, markdown)
    markdown: str
    timings: Dict[str, float]


# -- one variant ---------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Variant:
    precision: str
    proto: Any
    info: Dict[str, Any]


def _finish_variant(variant: _Variant, config: ModelConfig, source: Dict[str, Any], upsample: str) -> bytes:
    graph.set_metadata(variant.proto, config, precision=variant.precision, upsample=upsample,
                       source=json.dumps(source, sort_keys=True), version=__version__)
    return variant.proto.SerializeToString()


def _base_info(proto: Any, precision: str, upsample: str, dynamic: bool, size: Sequence[int],
               simplified: bool, source: Dict[str, Any], mode: str) -> Dict[str, Any]:
    onnx = require("onnx")
    info: Dict[str, Any] = {
        "precision": precision, "upsample": upsample, "opset": graph.opset_of(proto), "dynamic": dynamic,
        "input_size": [int(size[0]), int(size[1])], "size_multiple": 32,
        "preprocess": {"color": "RGB", "range": [0, 1], "layout": "NCHW", "resize": "stretch", "mode": mode},
        "simplified": simplified,
        "exporter": {"name": graph.EXPORTER, "torch": torch.__version__, "onnx": onnx.__version__,
                     "onnxsim": require("onnxsim").__version__ if simplified else None},
        "source": source,
    }
    info.update(graph.io_spec(proto))
    if upsample == "plugin":
        info["plugin"] = {
            "op_type": contract.OP_TYPE, "domain": contract.DOMAIN, "plugin_version": contract.PLUGIN_VERSION,
            "plugin_namespace": contract.PLUGIN_NAMESPACE, "nodes": graph.count_plugin_nodes(proto),
        }
    return info


def _check_variant(precision: str, data: bytes, inputs: Sequence[evaluate.EvalInput],
                   references: Sequence[np.ndarray], exact: Sequence[np.ndarray], enforce: bool) -> Dict[str, Any]:
    # int8 runs as written (Q/DQ as fake quantization): the numerics TensorRT implements, not ONNX Runtime's
    # CPU int8 kernels
    session = create_session(data, optimize=precision != "int8")
    outputs = evaluate.session_outputs(session, inputs)
    result = evaluate.parity(precision, inputs, references, outputs, exact=exact)
    result["enforced"] = enforce
    result["accuracy"] = evaluate.accuracy(inputs, references, outputs)
    if not result["passed"]:
        message = "{} parity check failed: {}".format(precision, "; ".join(result["failures"][:3]))
        if enforce:
            raise evaluate.ParityError(message)
        log.warning("%s (not enforced: with random weights the maps have unrealistic statistics, e.g. a nearly "
                    "constant output, so reduced-precision errors are not representative)", message)
    return result


def _tensorrt_rules(variant: _Variant) -> Dict[str, Any]:
    """Our own exports must pass TensorRT's rules for every supported version (8.5 to 11.x): a failure is an
    edge-saliency bug, and no file is written."""
    from ..engine import trt_rules

    report = trt_rules.check_model(variant.proto)
    if not report.passes():
        raise trt_rules.refusal("the exported {} ONNX".format(variant.precision), report,
                                hint=" (an edge-saliency bug: please report it with this message)")
    for finding in report.of("warning"):
        log.warning("TensorRT: %s", finding.line())
    return report.summary()


def _calibration_inputs(source: str, split: Optional[str], count: int, size: Sequence[int],
                        mode: str) -> List[np.ndarray]:
    frames = load_frames(source, max_frames=count, split=split)
    warn_if_few(len(frames))
    return [preprocess(frame, size, mode) for _, frame in frames]


# -- export --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Plan:
    """What one export reads and writes, every part of it checked before the slow steps."""

    precisions: List[str]  # fp32 first
    source: Dict[str, Any]  # how to rebuild the PyTorch model (see source_record)
    files: Dict[str, str]  # precision -> ONNX path
    reports: Tuple[str, str]  # the accuracy report: (json, markdown)
    size: Tuple[int, int]  # (H, W)
    mode: str  # the model's own pre-processing, for calibration and the parity frames
    calib_inputs: List[np.ndarray]
    inputs: List[evaluate.EvalInput]  # parity and report frames


def export_model(model: Union[str, ModelSource], output: str, options: Optional[ExportOptions] = None,
                 **fields: Any) -> ExportResult:
    """Export ``model`` (a preset name, a config .json, a saved .safetensors model, or its ModelSource) to ONNX at
    ``output`` (fp32) and the other precisions of ``options`` beside it, check each against PyTorch, and write the
    accuracy report. See the module docstring for the files and the sidecar, :class:`ExportOptions` for the
    options; keyword arguments set its fields: ``export_model(model, out, precisions=("fp16",), input_size=(64,
    96))``.
    """
    options = dataclasses.replace(options or ExportOptions(), **fields)
    options.validate()
    plan = _plan(model, output, options)
    timings: Dict[str, float] = {}
    net, config, proto = _trace(plan, options, timings)
    references, exact = evaluate.torch_outputs(net, plan.inputs, exact=True)
    with OutputGroup() as group:  # every file of the export appears together, or none does
        tmp = {p: group.add(plan.files[p], what="ONNX file") for p in plan.precisions}
        variants = _variants(plan, options, proto, config, group, tmp, timings)
        report, infos = _check_variants(variants, plan, references, exact, group, tmp, timings)
        markdown = evaluate.markdown_table(report)
        _write_reports(group, plan, options, config, report, infos, markdown, timings)
    return ExportResult(files=plan.files, report=report, report_paths=plan.reports, markdown=markdown,
                        timings=timings)


def _plan(model: Union[str, ModelSource], output: str, options: ExportOptions) -> _Plan:
    """Everything a user can get wrong, checked before the slow steps."""
    precisions = options.variants()
    if not output.endswith(".onnx"):
        raise UserError("the output must be a .onnx path, got {}".format(output))
    if isinstance(model, ModelSource) and (options.weights or options.pretrained or options.backbone_weights):
        raise UserError("{} is parsed already: give its weights to ModelSource.parse, not to export_model".format(
            model.name))
    parsed = ModelSource.parse(model, options.weights, options.pretrained, options.backbone_weights, options.seed)
    source = source_record(parsed)
    files = {p: variant_path(output, p) for p in precisions}
    reports = report_paths(output)
    _check_paths(files, reports, parsed, options.calibration, options.eval_frames)
    early = parsed.config()
    requested = options.input_size or (early.input_size if early else (480, 640))
    size = check_input_size(requested, INPUT_MULTIPLE)
    if early is not None:
        graph.check_export_options(early, size, options.dynamic, options.upsample, options.opset)
    mode = mode_of(early)
    calib_inputs: List[np.ndarray] = []
    if options.calibration and "int8" not in precisions:
        log.warning("--calib is only used for int8; add --precision int8 to quantize")
    if "int8" in precisions:
        calib_inputs = _calibration_inputs(options.calibration or BUILTIN_CALIBRATION, options.calibration_split,
                                           options.calibration_frames, size, mode)
    eval_list = load_frames(options.eval_frames) if options.eval_frames else None
    inputs = evaluate.eval_inputs(size, mode, options.dynamic, eval_list)
    return _Plan(precisions, source, files, reports, size, mode, calib_inputs, inputs)


def _trace(plan: _Plan, options: ExportOptions, timings: Dict[str, float]) -> Tuple[EMLNet, ModelConfig, Any]:
    """The PyTorch model, its config at the export size and its (simplified) fp32 ONNX graph."""
    size, upsample, dynamic, opset = plan.size, options.upsample, options.dynamic, options.opset
    with Step("building the PyTorch model") as step:
        net = rebuild_model(plan.source)
    timings["build"] = step.seconds
    config = dataclasses.replace(net.config, input_size=size)
    graph.check_export_options(config, size, dynamic, upsample, opset)

    with Step("exporting to ONNX ({}x{}, {}, {}{})".format(size[0], size[1], upsample, "dynamic" if dynamic else
                                                          "static", ", opset {}".format(opset))) as step:
        proto = graph.export_onnx(net, size, dynamic=dynamic, upsample=upsample, opset=opset)
    timings["export"] = step.seconds
    if options.simplify:
        with Step("simplifying with onnx-simplifier") as step:
            proto = graph.simplify(proto, plugin=upsample == "plugin")
        timings["simplify"] = step.seconds
    return net, config, proto


def _variants(plan: _Plan, options: ExportOptions, proto: Any, config: ModelConfig, group: OutputGroup,
              tmp: Mapping[str, str], timings: Dict[str, float]) -> List[Tuple[_Variant, bytes]]:
    """fp32 (written now: the others record its sha256), then fp16 and int8 derived from it."""
    upsample = options.upsample
    base = _base_info(proto, "fp32", upsample, options.dynamic, plan.size, options.simplify, plan.source, plan.mode)
    fp32 = _Variant("fp32", proto, dict(base))
    data = _finish_variant(fp32, config, plan.source, upsample)
    write_temp(tmp["fp32"], data, group.output(tmp["fp32"]))
    fp32_sha = file_sha256(tmp["fp32"])
    variants = [(fp32, data)]
    reference = {"file": os.path.basename(plan.files["fp32"]), "sha256": fp32_sha}
    if "fp16" in plan.precisions:
        with Step("converting to fp16") as step:
            half, facts = fp16.to_fp16(proto)
        timings["fp16"] = step.seconds
        v = _Variant("fp16", half, dict(base, precision="fp16", fp16=facts, reference=reference))
        variants.append((v, _finish_variant(v, config, plan.source, upsample)))
    if "int8" in plan.precisions:
        v = _int8_variant(plan, options, proto, fp32_sha, dict(base, reference=reference), timings)
        variants.append((v, _finish_variant(v, config, plan.source, upsample)))
    return variants


def _int8_variant(plan: _Plan, options: ExportOptions, proto: Any, fp32_sha: str, base: Dict[str, Any],
                  timings: Dict[str, float]) -> _Variant:
    """Calibrate (or reuse the cached ranges), then quantize with Q/DQ."""
    method, percentile = options.calibration_method, options.percentile
    digest = frames_digest(plan.calib_inputs)
    key = int8.calibration_key(fp32_sha, method, percentile, digest)
    cache_dir = options.calibration_cache_dir or int8.default_cache_dir()
    cache = os.path.join(cache_dir, key["id"] + ".json")
    os.makedirs(cache_dir, exist_ok=True)
    start = time.perf_counter()
    reused = int8.calibrate(proto, plan.calib_inputs, method, percentile, cache)
    timings["calibrate"] = time.perf_counter() - start
    with Step("quantizing to int8 (Q/DQ)") as step:
        q, facts = int8.quantize(proto, cache, method, plan.size, options.keep_float_stride)
    timings["quantize"] = step.seconds
    facts.update(int8.qdq_summary(q))
    calib_facts = dict(describe_source(options.calibration or BUILTIN_CALIBRATION, options.calibration_split),
                       method=method, frames=len(plan.calib_inputs), frames_sha256=digest,
                       percentile=percentile if method == "percentile" else None,
                       cache=os.path.abspath(cache), cache_key=key, reused=reused)
    return _Variant("int8", q, dict(base, precision="int8", quantization=facts, calibration=calib_facts))


def _check_variants(variants: Sequence[Tuple[_Variant, bytes]], plan: _Plan, references: Sequence[np.ndarray],
                    exact: Sequence[np.ndarray], group: OutputGroup, tmp: Mapping[str, str],
                    timings: Dict[str, float]) -> Tuple[Dict[str, Dict[str, Any]], Dict[str, Dict[str, Any]]]:
    """Each variant against TensorRT's rules and PyTorch, then written: (report rows, sidecar infos)."""
    report: Dict[str, Dict[str, Any]] = {}
    infos: Dict[str, Dict[str, Any]] = {}
    for variant, payload in variants:
        with Step("checking {} against TensorRT's rules".format(variant.precision)) as step:
            variant.info["tensorrt"] = _tensorrt_rules(variant)
        timings["tensorrt_rules_" + variant.precision] = step.seconds
        enforce = variant.precision == "fp32" or plan.source["trained"]
        with Step("checking {} against PyTorch".format(variant.precision)) as step:
            result = _check_variant(variant.precision, payload, plan.inputs, references, exact, enforce)
        timings["check_" + variant.precision] = step.seconds
        accuracy = result.pop("accuracy")
        if variant.precision != "fp32":
            write_temp(tmp[variant.precision], payload, group.output(tmp[variant.precision]))
        path = tmp[variant.precision]
        variant.info.update(parity=result, accuracy=accuracy, sha256=file_sha256(path),
                            size_bytes=os.path.getsize(path))
        report[variant.precision] = dict(accuracy, file=os.path.basename(plan.files[variant.precision]),
                                         size_mb=os.path.getsize(path) / 1e6,
                                         parity_passed=result["passed"])
        infos[variant.precision] = variant.info
    return report, infos


def _write_reports(group: OutputGroup, plan: _Plan, options: ExportOptions, config: ModelConfig,
                   report: Dict[str, Dict[str, Any]], infos: Dict[str, Dict[str, Any]], markdown: str,
                   timings: Dict[str, float]) -> None:
    """The accuracy report (JSON + markdown) and a sidecar per ONNX file, into the export's output group."""
    for variant_info in infos.values():
        variant_info["timings_s"] = {k: round(v, 2) for k, v in timings.items()}
    json_path, md_path = plan.reports
    document = {"model": config.name, "input_size": list(plan.size), "upsample": options.upsample,
                "dynamic": options.dynamic, "reference": "fp32 PyTorch", "tolerances": evaluate.TOLERANCES,
                "variants": report, "pseudo_fixation_fraction": evaluate.PSEUDO_FIXATION_FRACTION}
    texts = {json_path: json.dumps(document, indent=2, sort_keys=True) + "\n",
             md_path: "# {} — accuracy vs fp32\n\n{}\n".format(config.name, markdown)}
    texts.update({sidecar_path(path): Sidecar(kind="onnx", model=config, info=infos[precision]).text()
                  for precision, path in plan.files.items()})
    for path, text in texts.items():
        target = group.add(path, what="report" if "accuracy" in os.path.basename(path) else "sidecar")
        write_temp(target, text.encode("utf-8"), group.output(target))


def _check_paths(files: Mapping[str, str], reports: Sequence[str], source: ModelSource, calibration: Optional[str],
                 eval_frames: Optional[str]) -> None:
    """No output of the export may be one of its inputs (or lie in an input folder), nor two outputs one file."""
    outputs = [Output(path, "output") for path in files.values()]
    outputs += [Output(sidecar_path(path), "sidecar") for path in files.values()]
    outputs += [Output(path, "report") for path in reports]
    check_outputs(outputs, source.inputs() + [p for p in [calibration, eval_frames] if p])
    for path in set(files.values()):
        check_writable(path, "output")


# -- check ---------------------------------------------------------------------------------------------


