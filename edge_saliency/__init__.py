"""edge-saliency: EML-Net visual saliency on live video, on NVIDIA Jetson boards, desktop GPUs and CPUs.

``import edge_saliency`` imports numpy only. The model code (torch, timm) loads on first use of
:func:`create_model` and friends; ONNX Runtime, TensorRT and OpenCV load inside the modules that need them.
"""
from typing import Any

from ._version import __version__
from .config import DecoderConfig, EncoderConfig, ModelConfig
from .errors import MissingDependencyError, UserError
from .models.registry import list_encoders, list_presets

__all__ = [
    "DecoderConfig", "EncoderConfig", "MissingDependencyError", "ModelConfig", "UserError", "__version__",
    "create_model", "list_encoders", "list_presets", "load_model", "open_model", "save_model",
]


def open_model(model: Any, **kwargs: Any) -> Any:
    """Any model string ``run`` takes (an .onnx, an engine, an ONNX Runtime artifact, a .safetensors, a preset),
    opened and ready: ``open_model("lite.onnx").predict(image)`` is the map ``predict`` writes for the image.
    Keyword arguments: ``weights``, ``input_size``, ``backend``, ``device``, ``precision``, ``threads``; use it in
    a ``with`` block (or call ``close()``). See :func:`edge_saliency.prediction.predict.open_model`."""
    from .prediction.predict import open_model as _open_model

    return _open_model(model, **kwargs)


def create_model(*args: Any, **kwargs: Any) -> Any:
    """Build an EML-Net; see :func:`edge_saliency.models.create_model` (imports torch)."""
    from .models import create_model as _create_model

    return _create_model(*args, **kwargs)


def load_model(path: str, strict: bool = True) -> Any:
    """Load a model saved with :func:`save_model`; see :func:`edge_saliency.models.load_model`."""
    from .models import load_model as _load_model

    return _load_model(path, strict=strict)


def save_model(model: Any, path: str) -> None:
    """Save weights (.safetensors) with the config JSON beside them; see :func:`edge_saliency.models.save_model`."""
    from .models import save_model as _save_model

    _save_model(model, path)
