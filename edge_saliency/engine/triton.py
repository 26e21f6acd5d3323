"""Triton Inference Server model repository: ``<repo>/<name>/config.pbtxt`` and ``<repo>/<name>/1/model.plan``
(TensorRT backend) or ``.../1/model.onnx`` (ONNX Runtime backend), for users who serve many streams."""
import os
import re
import shutil
import tempfile
from typing import Any, Dict, List, Optional, Tuple

from ..errors import UserError
from ..files.hashing import file_sha256
from ..files.sidecar import Sidecar, read_sidecar
from .cache import Target, check_artifact
from .onnx_info import OnnxDescription, describe_onnx

_TRITON_TYPES = {
    "float": "TYPE_FP32", "float32": "TYPE_FP32", "half": "TYPE_FP16", "float16": "TYPE_FP16",
    "int8": "TYPE_INT8", "int32": "TYPE_INT32", "int64": "TYPE_INT64", "uint8": "TYPE_UINT8", "bool": "TYPE_BOOL",
}


def triton_type(dtype: str) -> str:
    try:
        return _TRITON_TYPES[dtype.lower()]
    except KeyError:
        raise UserError("no Triton data type for tensor type {!r}".format(dtype)) from None


def _tensor_block(tensors: List[Dict[str, Any]], batched: bool, image_format: bool) -> str:
    blocks = []
    for t in tensors:
        dims = t["shape"][1:] if batched else t["shape"]
        lines = ["    name: \"{}\"".format(t["name"]), "    data_type: {}".format(triton_type(t["dtype"]))]
        if image_format and len(dims) == 3:
            lines.append("    format: FORMAT_NCHW")
        lines.append("    dims: [ {} ]".format(", ".join(str(int(d)) for d in dims)))
        blocks.append("  {\n" + "\n".join(lines) + "\n  }")
    return ",\n".join(blocks)


def config_pbtxt(
    name: str, platform: str, inputs: List[Dict[str, Any]], outputs: List[Dict[str, Any]], max_batch_size: int,
    instances: int = 1, kind: str = "KIND_GPU", queue_delay_us: int = 100,
) -> str:
    """Triton's model configuration (protobuf text format). With ``max_batch_size`` > 0 the first dimension of
    every tensor is the batch and is left out of ``dims``, and dynamic batching is on."""
    batched = max_batch_size > 0
    parts = [
        "name: \"{}\"".format(name),
        "platform: \"{}\"".format(platform),
        "max_batch_size: {}".format(max_batch_size),
        "input [\n{}\n]".format(_tensor_block(inputs, batched, image_format=True)),
        "output [\n{}\n]".format(_tensor_block(outputs, batched, image_format=False)),
    ]
    if batched:
        parts.append("dynamic_batching {{\n  max_queue_delay_microseconds: {}\n}}".format(queue_delay_us))
    parts.append("instance_group [\n  {{\n    count: {}\n    kind: {}\n  }}\n]".format(instances, kind))
    return "\n".join(parts) + "\n"


def plugin_notes(engine_info: Dict[str, Any]) -> List[str]:
    """How tritonserver must get the engine's plugin libraries. Triton's TensorRT backend only dlopens the libraries
    of its ``plugins=`` option, so it needs the autoregister library beside ours (docs/plugin.md); libraries
    serialized into a version-compatible engine come with the engine."""
    from ..plugins.library import LIBRARIES
    from ..plugins.registration import libraries_to_load

    notes = []
    external = libraries_to_load(engine_info)
    loaders = [os.path.join(os.path.dirname(p), LIBRARIES["autoregister"])
               if os.path.basename(p) == LIBRARIES["tensorrt"] else p for p in external]
    if loaders:
        notes.append('start tritonserver with --backend-config=tensorrt,plugins="{}" (Triton only dlopens plugin '
                     "libraries: {} registers our plugin when loaded)".format(
                         ";".join(loaders), LIBRARIES["autoregister"]))
    if len(external) < len(engine_info.get("plugins") or []):
        notes.append("the engine carries its plugin library (version-compatible build): start tritonserver with "
                     "--backend-config=tensorrt,version-compatible=true")
    return notes


def _model_name(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]+", "_", os.path.basename(path).split(".")[0])


def _target(sidecar: Optional[Sidecar]) -> str:
    target = (sidecar.info.get("target") if sidecar is not None else None) or {}
    try:
        return Target(**target).describe()
    except TypeError:
        return "the machine that built it"


def portable_source(artifact: str, sidecar: Optional[Sidecar], description: OnnxDescription) -> str:
    """The ONNX file an ONNX Runtime artifact was built from (its sidecar names it and its SHA-256), when it is
    still there unchanged. ONNX Runtime documents that an offline-optimised model runs only with the execution
    provider and on the hardware it was optimised for: Triton must get the portable source, not the artifact."""
    why = "its nodes {}".format(description.runtime_summary()) if description.runtime_nodes else "its sidecar"
    refusal = ("{} is an ONNX Runtime artifact optimised offline for {} ({}), which runs only with that execution "
               "provider on that hardware; Triton's ONNX Runtime backend takes the plain ONNX file it was built "
               "from and optimises it for its own device — ".format(artifact, _target(sidecar), why))
    source = (sidecar.info.get("onnx") or {}) if sidecar is not None else {}
    path = source.get("path")
    if not path:
        raise UserError(refusal + "pass that ONNX file ({} names it)".format(
            "no sidecar beside the artifact" if sidecar is None else "the artifact's sidecar no longer"))
    if not os.path.isfile(path):
        raise UserError(refusal + "pass that ONNX file; the sidecar names {}, which is gone".format(path))
    if source.get("sha256") and file_sha256(path) != source["sha256"]:
        raise UserError(refusal + "{}, named by the sidecar, changed since the artifact was built; pass the ONNX "
                                  "file to serve".format(path))
    return str(path)


def export_triton(
    artifact: str, repository: str, name: Optional[str] = None, max_batch_size: int = 8, instances: int = 1,
    queue_delay_us: int = 100, force: bool = False, allow_host_code: bool = False, device: str = "gpu",
) -> Tuple[str, List[str]]:
    """Write a model directory for an engine (``.engine`` + sidecar) or an ONNX file. An ONNX Runtime artifact
    (optimised offline for one machine) is replaced by the ONNX file it was built from, or refused.

    Returns the model directory and notes for the user (e.g. how Triton must load our plugin)."""
    notes: List[str] = []
    model_name = name
    sidecar = read_sidecar(artifact, required=False)
    if sidecar is not None and sidecar.kind == "engine":
        check_artifact(artifact, sidecar, allow_host_code=allow_host_code)
        platform, filename, kind = "tensorrt_plan", "model.plan", "KIND_GPU"
        inputs, outputs = sidecar.info["inputs"], sidecar.info["outputs"]
        notes += plugin_notes(sidecar.info)
    elif artifact.endswith(".onnx") and (sidecar is None or sidecar.kind in ("onnx", "onnxruntime")):
        description = describe_onnx(artifact)
        if (sidecar is not None and sidecar.kind == "onnxruntime") or description.runtime_nodes:
            source = portable_source(artifact, sidecar, description)
            notes.append("{} is an ONNX Runtime artifact optimised offline for one machine ({}); exported its source "
                         "ONNX {} instead, which Triton's ONNX Runtime backend optimises for its own device".format(
                             artifact, _target(sidecar), source))
            artifact, sidecar = source, read_sidecar(source, required=False)
            description = describe_onnx(source)
        if description.plugin_nodes:
            raise UserError(
                "{} has BilinearUpsample_TRT plugin nodes, which Triton's ONNX Runtime backend cannot run; export "
                "with --upsample native for Triton, or serve the TensorRT engine".format(artifact))
        platform, filename, kind = "onnxruntime_onnx", "model.onnx", "KIND_CPU" if device == "cpu" else "KIND_GPU"
        inputs, outputs = description.inputs, description.outputs
    else:
        raise UserError("{} is neither a built engine (with its sidecar) nor an ONNX file".format(artifact))

    batch_dims = {t["shape"][0] for t in inputs + outputs}
    dynamic_batch = batch_dims == {-1}
    if max_batch_size > 0 and not dynamic_batch:
        max_batch_size = 0  # a static batch: Triton sees the full shape
    model_name = model_name or _model_name(artifact)
    target = os.path.join(repository, model_name)
    if os.path.exists(target) and not force:
        raise UserError("{} exists; pass --force to replace it".format(target))
    os.makedirs(repository, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".{}.".format(model_name), dir=repository)
    try:
        os.makedirs(os.path.join(staging, "1"))
        shutil.copyfile(artifact, os.path.join(staging, "1", filename))
        if sidecar is not None:
            shutil.copyfile(artifact + ".json", os.path.join(staging, "edge_saliency.json"))
        with open(os.path.join(staging, "config.pbtxt"), "w", encoding="utf-8") as f:
            f.write(config_pbtxt(model_name, platform, inputs, outputs, max_batch_size, instances, kind,
                                 queue_delay_us))
        if os.path.exists(target):
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target, notes
