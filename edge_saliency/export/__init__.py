"""PyTorch → ONNX export with parity checks, fp16 and int8 (explicit Q/DQ) model preparation.

Needs the ``[export]`` extra (torch, onnx, onnxsim, onnxruntime-extensions, onnxconverter-common); the
names below import it on first use. Entry points: :func:`export_model`, :func:`check_onnx`; building
blocks: :mod:`.graph` (export, plugin node, simplify), :mod:`.fp16`, :mod:`.int8`, :mod:`.evaluate` (parity,
accuracy report), :mod:`.frames` (photos, folders, videos). Pre-processing: :mod:`edge_saliency.maths.preprocess`.
"""
import importlib
from typing import Any, Dict

from .._lazy import require

_LAZY: Dict[str, str] = {
    "export_model": "api", "check_onnx": "check", "variant_path": "naming", "rebuild_model": "origin",
    "PRECISIONS": "options", "ExportResult": "api", "ParityError": "evaluate", "TOLERANCES": "evaluate",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError("module {!r} has no attribute {!r}".format(__name__, name))
    if _LAZY[name] in ("api", "check", "origin"):
        require("torch", purpose="ONNX export")
    return getattr(importlib.import_module("." + _LAZY[name], __name__), name)
