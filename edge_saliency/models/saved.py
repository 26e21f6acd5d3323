"""What a ``.safetensors`` file saved by edge-saliency says about its model, read without torch: the config JSON
in the file's metadata (under :data:`CONFIG_METADATA_KEY`) or in its sidecar."""
import json
import struct
from typing import Dict, Optional

from ..config import ModelConfig
from ..errors import WeightsError
from ..files.sidecar import read_sidecar

CONFIG_METADATA_KEY = "edge_saliency_config"  # the config JSON inside our .safetensors files


def safetensors_metadata(path: str) -> Dict[str, str]:
    """The ``__metadata__`` of a ``.safetensors`` file, read from its JSON header (no torch, no tensors)."""
    try:
        with open(path, "rb") as f:
            (length,) = struct.unpack("<Q", f.read(8))
            if length > 100 * 1024 * 1024:
                raise ValueError("header of {} bytes".format(length))
            header = json.loads(f.read(length).decode("utf-8"))
    except (OSError, ValueError, struct.error) as exc:
        raise WeightsError("cannot read {}: {} (is it a complete .safetensors file?)".format(path, exc)) from None
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    return dict(metadata) if isinstance(metadata, dict) else {}


def saved_config(path: str) -> Optional[ModelConfig]:
    """The config saved with a ``.safetensors`` model: its sidecar's, else the file's metadata; None without."""
    sidecar = read_sidecar(path, required=False)
    if sidecar is not None and sidecar.model is not None:
        return sidecar.model
    metadata = safetensors_metadata(path)
    return ModelConfig.from_json(metadata[CONFIG_METADATA_KEY]) if CONFIG_METADATA_KEY in metadata else None
