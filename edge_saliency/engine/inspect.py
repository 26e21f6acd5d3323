"""What an artifact is: ONNX graph facts, the sidecar, compatibility with this machine, engine layers."""
import json
import os
from typing import Any, Dict, List, Optional

from ..errors import UserError
from ..sidecar import read_sidecar
from .cache import Target, check_artifact
from .onnx_info import describe_onnx


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


def inspect_artifact(path: str, layers: bool = False, allow_host_code: bool = False,
                     tensorrt: Optional[str] = None) -> Dict[str, Any]:
    """What ``path`` is; ``tensorrt`` ("all" or a version) adds the TensorRT rules check of an ONNX file."""
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
    report = {
        "kind": sidecar.kind,
        "model": sidecar.model.name if sidecar.model else None,
        "precision": info.get("precision"),
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
