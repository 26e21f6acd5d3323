"""EML-Net models.

The registry (``edge_saliency.models.registry``) is pure Python. Everything else here needs torch and timm
(the ``[export]`` extra) and is imported on first attribute access, so that importing the registry on a
deployed board does not import torch.
"""
import importlib
from typing import Any, Dict

from .._lazy import require
from .registry import (
    EncoderSpec,
    encoder_config,
    get_encoder_spec,
    get_preset,
    list_encoders,
    list_presets,
    register_encoder,
    register_preset,
)

_LAZY: Dict[str, str] = {
    "count_macs": "complexity", "count_parameters": "complexity", "model_complexity": "complexity",
    "EMLEncoder": "emlnet", "EMLNet": "emlnet", "FusionDecoder": "emlnet", "TappedBackbone": "emlnet",
    "check_input": "emlnet",
    "create_model": "factory", "resolve_config": "factory",
    "resize": "layers", "resize_concat": "layers", "resize_override": "layers",
    "create_pretrained": "weights", "load_backbone_weights": "weights", "load_model": "weights",
    "load_official_emlnet": "official", "load_state": "weights", "read_checkpoint": "weights",
    "save_model": "weights",
}

__all__ = [  # noqa: F822 (the torch-backed names resolve through __getattr__)
    "EMLEncoder", "EMLNet", "EncoderSpec", "FusionDecoder", "TappedBackbone", "check_input", "count_macs",
    "count_parameters", "create_model", "create_pretrained", "encoder_config", "get_encoder_spec", "get_preset",
    "list_encoders", "list_presets", "load_backbone_weights", "load_model", "load_official_emlnet", "load_state",
    "model_complexity", "read_checkpoint", "register_encoder", "register_preset", "resize", "resize_concat",
    "resize_override", "resolve_config", "save_model",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError("module {!r} has no attribute {!r}".format(__name__, name))
    require("torch", purpose="EML-Net models")
    return getattr(importlib.import_module("." + _LAZY[name], __name__), name)
