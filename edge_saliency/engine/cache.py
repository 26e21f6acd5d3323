"""The engine cache: keys, file names, and the checks made before an artifact is loaded.

An engine is tied to its TensorRT version and GPU; an optimized ONNX Runtime artifact to its ONNX Runtime
version, execution provider and CPU. The key hashes everything that changes the built artifact, so a rebuild
is skipped exactly when nothing changed, and a copied engine is refused (with the command to rebuild it)
before TensorRT ever sees it. Python 3.8; no TensorRT needed.
"""
import dataclasses
import hashlib
import json
import os
import re
import shlex
from typing import Any, Dict, List, Optional

from .. import system
from ..errors import UserError
from ..files.hashing import file_sha256
from ..files.sidecar import Sidecar
from ..vocabulary import ENGINE_DIR, ORT_ARTIFACT_EXTENSION
from .options import BuildOptions

KEY_VERSION = 1  # bump when the key's recipe changes


class ArtifactMismatchError(UserError):
    """The artifact was built for another TensorRT / GPU / ONNX Runtime, or changed since."""


@dataclasses.dataclass
class Target:
    """What an artifact is built for and must be loaded on."""

    backend: str  # "tensorrt" | "onnxruntime"
    runtime_version: str  # TensorRT or ONNX Runtime version
    device: str  # GPU name, or CPU model for ONNX Runtime
    compute_capability: Optional[str] = None  # TensorRT only
    provider: Optional[str] = None  # ONNX Runtime execution provider

    def describe(self) -> str:
        if self.backend == "tensorrt":
            return "TensorRT {} on {} (compute capability {})".format(
                self.runtime_version, self.device, self.compute_capability)
        return "ONNX Runtime {} {} on {}".format(self.runtime_version, self.provider, self.device)


def current_target(backend: str, provider: Optional[str] = None) -> Target:
    if backend == "tensorrt":
        gpu = system.gpu_info()
        if gpu is None:
            raise UserError("no CUDA GPU found: TensorRT engines need one (nvidia-smi / cuda-python see none)")
        return Target("tensorrt", system.tensorrt_version() or "unknown", gpu.name, gpu.compute_capability)
    return Target("onnxruntime", system.package_version("onnxruntime") or "unknown", system.cpu_model(),
                  provider=provider or "CPUExecutionProvider")


def cache_key(onnx_sha256: str, options: BuildOptions, target: Target, plugin_sha256: List[str]) -> str:
    """sha256 of everything that changes the artifact: ONNX content, build options, runtime, device, plugins."""
    payload = {
        "key_version": KEY_VERSION,
        "onnx": onnx_sha256,
        "options": options.key_fields(),
        "target": dataclasses.asdict(target),
        "plugins": sorted(plugin_sha256),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def artifact_path(onnx_path: str, precision: str, backend: str, key: str, output_dir: str = ENGINE_DIR) -> str:
    stem = os.path.splitext(os.path.basename(onnx_path))[0]
    if not stem.endswith("-" + precision):  # lite-fp16.onnx -> lite-fp16-<key>, not lite-fp16-fp16-<key>
        stem = "{}-{}".format(stem, precision)
    ext = ".engine" if backend == "tensorrt" else ORT_ARTIFACT_EXTENSION
    return os.path.join(output_dir, "{}-{}{}".format(stem, key[:12], ext))


def rebuild_command(onnx_path: str, options: BuildOptions, backend: str) -> str:
    """The ``edge-saliency build-engine`` command line that rebuilds an artifact with the same options."""
    args = ["edge-saliency", "build-engine", onnx_path, "--precision", options.precision, "--backend", backend]
    for name, shape_range in sorted(options.shapes.items()):
        dims = ["x".join(str(d) for d in s) for s in (shape_range.min, shape_range.opt, shape_range.max)]
        if shape_range.min == shape_range.max:
            args += ["--shape", "{}:{}".format(name, dims[0])]
        else:
            args += ["--min-shape", "{}:{}".format(name, dims[0]), "--opt-shape", "{}:{}".format(name, dims[1]),
                     "--max-shape", "{}:{}".format(name, dims[2])]
    if options.workspace_mib:
        args += ["--workspace", str(options.workspace_mib)]
    if options.optimization_level is not None:
        args += ["--opt-level", str(options.optimization_level)]
    if options.dla_core is not None:
        args += ["--dla-core", str(options.dla_core)] + ([] if options.gpu_fallback else ["--no-gpu-fallback"])
    if not options.tf32:
        args.append("--no-tf32")
    if options.typing != "auto":
        args += ["--typing", options.typing]
    if options.version_compatible:
        args.append("--version-compatible")
    for plugin in options.plugins:
        args += ["--plugin", plugin]
    return " ".join(shlex.quote(a) for a in args)


def is_up_to_date(path: str, sidecar: Optional[Sidecar], key: str) -> bool:
    """The artifact exists, its sidecar has this key, and the file is the one the sidecar describes."""
    if sidecar is None or not os.path.isfile(path) or sidecar.info.get("key") != key:
        return False
    return sidecar.info.get("artifact_sha256") == file_sha256(path)


def _release(version: str) -> tuple:
    return tuple(int(p) for p in re.findall(r"\d+", version))


def check_artifact(path: str, sidecar: Sidecar, allow_host_code: bool = False,
                   target: Optional[Target] = None) -> None:
    """Refuse, before deserializing, an artifact built for another runtime or device, or changed since.

    The message names both sides and the command that rebuilds the artifact here.
    """
    info: Dict[str, Any] = sidecar.info
    rebuild = info.get("rebuild_command", "edge-saliency build-engine MODEL.onnx")
    if sidecar.kind not in ("engine", "onnxruntime"):
        raise UserError("{} is a {} file, not an engine or ONNX Runtime artifact".format(path, sidecar.kind))
    built = Target(**info["target"]) if isinstance(info.get("target"), dict) else None
    if built is None:
        raise ArtifactMismatchError("{} has no build target in its sidecar; rebuild it: {}".format(path, rebuild))
    here = target or current_target(built.backend, built.provider)
    same_runtime = built.runtime_version == here.runtime_version
    if built.backend == "tensorrt" and info.get("host_code"):
        # version-compatible engines run on the same or a later TensorRT release of the same major version
        built_v, here_v = _release(built.runtime_version), _release(here.runtime_version)
        same_runtime = built_v[:1] == here_v[:1] and here_v >= built_v
    same_device = built.device == here.device and built.compute_capability == here.compute_capability
    if not (same_runtime and same_device):
        raise ArtifactMismatchError(
            "{} was built for {}, but this machine has {}; rebuild it here: {}".format(
                path, built.describe(), here.describe(), rebuild)
        )
    expected = info.get("artifact_sha256")
    if expected and file_sha256(path) != expected:
        raise ArtifactMismatchError(
            "{} changed since it was built (sha256 mismatch: truncated or replaced?); rebuild it: {}".format(
                path, rebuild)
        )
    if info.get("host_code") and not allow_host_code:
        raise UserError(
            "{} is a version-compatible engine and contains host code; load it only if you trust its source, "
            "with --allow-host-code".format(path)
        )
