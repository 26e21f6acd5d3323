"""The JSON sidecar that travels beside every artifact: ``<artifact>.json`` (``lite.safetensors.json``,
``lite.onnx.json``, ``lite-fp16.engine.json``).

One format for weights, ONNX files, TensorRT engines and ONNX Runtime artifacts: the model config, what
kind of artifact it is, and a free ``info`` object that the producer of that kind fills (export options,
engine build key, ...). Pure Python; readable on a deployed board without torch.
"""
import dataclasses
import datetime
import json
import os
from typing import Any, Dict, Optional

from .._version import __version__
from ..config import ModelConfig
from ..errors import WeightsError
from ..vocabulary import ORT_ARTIFACT_EXTENSION
from .atomic import atomic_write_text

SIDECAR_SCHEMA_VERSION = 1
KINDS = ("weights", "onnx", "engine", "onnxruntime")


def sidecar_path(artifact_path: str) -> str:
    """The sidecar's path: the artifact's path plus ``.json``."""
    return os.fspath(artifact_path) + ".json"


@dataclasses.dataclass
class Sidecar:
    kind: str  # one of KINDS
    model: Optional[ModelConfig]  # None only for artifacts not made from an EML-Net config
    info: Dict[str, Any] = dataclasses.field(default_factory=dict)
    created: str = ""
    edge_saliency_version: str = __version__
    schema_version: int = SIDECAR_SCHEMA_VERSION

    def to_dict(self) -> Dict[str, Any]:
        """The sidecar as JSON-ready data."""
        return {
            "schema_version": self.schema_version,
            "kind": self.kind,
            "edge_saliency_version": self.edge_saliency_version,
            "created": self.created,
            "model": self.model.to_dict() if self.model is not None else None,
            "info": self.info,
        }

    @classmethod
    def from_dict(cls, data: Any, source: str = "sidecar") -> "Sidecar":
        """The sidecar of a JSON object; WeightsError for a newer schema or an unknown kind."""
        if not isinstance(data, dict):
            raise WeightsError("{} is not a JSON object".format(source))
        version = data.get("schema_version")
        if not isinstance(version, int) or version > SIDECAR_SCHEMA_VERSION:
            raise WeightsError(
                "{} has sidecar schema_version {!r}; this edge-saliency reads up to {}: upgrade edge-saliency".format(
                    source, version, SIDECAR_SCHEMA_VERSION
                )
            )
        if data.get("kind") not in KINDS:
            raise WeightsError("{} has unknown kind {!r}; expected one of {}".format(source, data.get("kind"), KINDS))
        model = data.get("model")
        return cls(
            kind=data["kind"],
            model=ModelConfig.from_dict(model) if model is not None else None,
            info=dict(data.get("info") or {}),
            created=str(data.get("created", "")),
            edge_saliency_version=str(data.get("edge_saliency_version", "")),
            schema_version=version,
        )

    def text(self) -> str:
        """The JSON text of the sidecar (stamped with its creation time)."""
        if not self.created:
            self.created = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def save(self, artifact_path: str) -> str:
        """Write ``<artifact>.json`` atomically; returns its path."""
        path = sidecar_path(artifact_path)
        atomic_write_text(path, self.text(), "sidecar")
        return path


def read_sidecar(artifact_path: str, required: bool = True) -> Optional[Sidecar]:
    """The sidecar of ``artifact_path``; ``None`` when absent and not ``required``."""
    path = sidecar_path(artifact_path)
    if not os.path.isfile(path):
        if required:
            raise WeightsError("no sidecar for {}: expected {} beside it".format(artifact_path, path))
        return None
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as exc:
        raise WeightsError("cannot read sidecar {}: {}".format(path, exc.strerror or exc)) from exc
    except ValueError as exc:  # not UTF-8, not JSON, cut short
        raise WeightsError(_corrupt(artifact_path, path, "not valid JSON: {}".format(exc))) from None
    if not isinstance(data, dict) or data.get("kind") is None:
        raise WeightsError(_corrupt(artifact_path, path, "no 'kind'" if isinstance(data, dict) else
                                    "not a JSON object"))
    return Sidecar.from_dict(data, source=path)


def _corrupt(artifact_path: str, path: str, why: str) -> str:
    """The one line for a sidecar that cannot be read: what is wrong and how to make a good one."""
    if artifact_path.endswith((".engine", ".plan", ".trt", ORT_ARTIFACT_EXTENSION)):
        fix = "rebuild it: edge-saliency build-engine MODEL.onnx --force"
    elif artifact_path.endswith(".onnx"):
        fix = "re-export the model (edge-saliency export)"
    else:
        fix = "save the model again (save_model), or re-convert it"
    return "the sidecar {} of {} is corrupt ({}); {}".format(path, artifact_path, why, fix)
