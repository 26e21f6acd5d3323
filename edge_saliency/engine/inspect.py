"""What an artifact is: ONNX graph facts, the sidecar, compatibility with this machine, engine layers."""
import json
import os
from typing import Any, Dict, List, Optional

from ..errors import UserError
from ..files.sidecar import read_sidecar
from .cache import Target, check_artifact
from .onnx_info import OnnxDescription, describe_onnx


def _layers(inspector_json: str) -> List[str]:
    data = json.loads(inspector_json)
    rows = []
    for layer in data.get("Layers", []):
        if isinstance(layer, str):  # ProfilingVerbosity below DETAILED gives names only
            rows.append(layer)
            continue
        outputs = layer.get("Outputs") or [{}]
        fmt = outputs[0].get("Format/Datatype") or outputs[0].get("Datatype") or ""
        rows.append("{} [{}] {}".format(layer.get("Name", "?"), layer.get("LayerType", "?"), fmt).strip())
    return rows


def _runtime_nodes(description: OnnxDescription) -> Optional[str]:
    """What in the graph only ONNX Runtime runs, and whether it is tied to the hardware it was optimised for."""
    if not description.runtime_nodes:
        return None
    tied = "; runs only with the provider and on the hardware it was optimised for" \
        if description.hardware_specific else ""
    return "{} nodes ({}){}".format(sum(description.runtime_nodes.values()), description.runtime_summary(), tied)


def inspect_artifact(path: str, layers: bool = False, allow_host_code: bool = False,
                     tensorrt: Optional[str] = None) -> Dict[str, Any]:
    """What ``path`` is; ``tensorrt`` ("all" or a version) adds the TensorRT rules check of an ONNX file."""
    if os.path.isdir(path):
        raise UserError("{} is a folder; inspect takes artifact files (.onnx, .engine, .ort.onnx): "
                        "e.g. edge-saliency inspect {}".format(path, os.path.join(path, "*.onnx")))
    if not os.path.isfile(path):
        raise UserError("file not found: {}".format(path))
    sidecar = read_sidecar(path, required=False)
    if sidecar is None or sidecar.kind in ("onnx",):
        description = describe_onnx(path)
        report: Dict[str, Any] = {
            "kind": "onnx",
            "model": sidecar.model.name if sidecar and sidecar.model else None,
            "precision": description.precision,
            "plugin_nodes": description.plugin_nodes,
            "opset": description.opset,
            "onnxruntime_nodes": _runtime_nodes(description),
            "inputs": description.inputs,
            "outputs": description.outputs,
            "sidecar": sidecar.to_dict() if sidecar else None,
        }
        if tensorrt:
            from .trt_rules import check_file, versions_for

            rules = check_file(path, versions_for(tensorrt))
            report["tensorrt"] = dict(rules.summary(), notes=[f.line() for f in rules.of("note")])
        return report
    if tensorrt:
        raise UserError("--tensorrt checks ONNX files; {} is a {} artifact".format(path, sidecar.kind))
    info = sidecar.info
    target = Target(**info["target"])
    try:
        check_artifact(path, sidecar, allow_host_code=allow_host_code)
        compatible = "yes"
    except UserError as exc:
        compatible = "no: {}".format(exc)
    precision = info.get("precision")
    built_from = None
    runtime_nodes = None
    if sidecar.kind == "onnxruntime":  # an ONNX file: say what its weights are, not what it was built from
        description = describe_onnx(path)
        runtime_nodes = _runtime_nodes(description)
        source = (info.get("onnx") or {}).get("precision") or precision
        precision = description.precision
        if source and source != precision:
            built_from = "the {} ONNX {} (ONNX Runtime's optimisation stored its weights as {})".format(
                source, (info.get("onnx") or {}).get("path", "?"), precision)
    report = {
        "kind": sidecar.kind,
        "model": sidecar.model.name if sidecar.model else None,
        "precision": precision,
        "built_from": built_from,
        "onnxruntime_nodes": runtime_nodes,
        "backend": info.get("backend"),
        "target": target.describe(),
        "built": "{} in {} s".format(sidecar.created, info.get("build_seconds")),
        "compatible": compatible,
        "inputs": info.get("inputs", []),
        "outputs": info.get("outputs", []),
        "sidecar": sidecar.to_dict(),
    }
    if layers:
        if sidecar.kind != "engine":
            raise UserError("--layers needs a TensorRT engine; {} is an ONNX Runtime artifact".format(path))
        if compatible != "yes":
            raise UserError("cannot list layers: {}".format(compatible[4:]))
        from ..plugins.registration import libraries_to_load
        from .trt_builder import deserialize_engine, engine_layers

        with open(path, "rb") as f:
            engine = deserialize_engine(f.read(), libraries_to_load(info), allow_host_code)
        report["layers"] = _layers(engine_layers(engine) or "{}")
    return report
