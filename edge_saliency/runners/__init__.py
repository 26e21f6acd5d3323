"""Runners: one interface (activate / infer / deactivate, context manager) over four backends.

    with create_runner("lite.onnx") as runner:          # backend="auto"
        saliency = runner.infer(x)                      # x: N×3×H×W float32 RGB in [0, 1]

- ``onnxruntime``: an ``.onnx`` file or an ONNX Runtime artifact from ``build-engine``; CPU, or the CUDA /
  TensorRT execution providers.
- ``tensorrt``: an ``.engine`` (its sidecar checked first), or an ``.onnx`` (engine built once into
  ``engines/`` when the runner activates); NVIDIA GPU.
- ``torch``: a ``.safetensors`` model saved by edge-saliency, or a preset name (random weights); CPU or CUDA.
- ``classic``: no model; OpenCV's spectral-residual saliency; any CPU.

``backend="auto"`` picks by the model: no model → classic; an engine → tensorrt; an ONNX Runtime artifact →
onnxruntime; ``.onnx`` → tensorrt where TensorRT and a GPU are present, else onnxruntime; weights or a
preset → torch. :func:`~.base.compare_runners` checks that backends agree within per-precision tolerances.
"""
import importlib.util
import logging
from typing import Any, Dict, List, Optional, Sequence

from .. import system
from ..errors import UserError
from ..vocabulary import AUTO, ENGINE_DIR, TOLERANCES, Tolerance
from ..vocabulary import BACKENDS as _BACKENDS
from .base import Runner, RunnerLeftActiveWarning, TensorMetadata, check_saliency_model, saliency_maps
from .compare import Comparison, compare_runners

__all__ = ["BACKENDS", "TOLERANCES", "Comparison", "Runner", "RunnerLeftActiveWarning", "TensorMetadata", "Tolerance",
           "available_backends", "capabilities", "check_saliency_model", "choose_backend", "compare_runners",
           "create_runner", "model_kind", "model_source", "saliency_maps"]

log = logging.getLogger("edge_saliency.runners")

BACKENDS = (AUTO,) + _BACKENDS
# which backends can run which kind of model
_RUNS = {
    "onnxruntime": ("onnx", "onnxruntime"),
    "tensorrt": ("engine", "onnx"),
    "torch": ("weights", "preset", "module"),
    "classic": ("none",),
}


# ModelSource kinds -> the kinds the backends run
_RUNNER_KINDS = {"preset": "preset", "config": "preset", "safetensors": "weights", "official": "weights",
                 "onnx": "onnx", "onnxruntime": "onnxruntime", "engine": "engine"}


def model_source(model: Any) -> Any:
    """The :class:`~edge_saliency.models.source.ModelSource` of a model string (None for no model or an in-memory
    torch model)."""
    from ..models.source import ModelSource

    if model is None or not isinstance(model, (str, ModelSource)):
        return None
    return ModelSource.parse(model, flag="--model")


def model_kind(model: Any) -> str:
    """none | engine | onnxruntime | onnx | weights | preset | module (an in-memory torch model)."""
    return _kind(model, model_source(model))


def _kind(model: Any, source: Any) -> str:
    if model is None:
        return "none"
    return "module" if source is None else _RUNNER_KINDS[source.kind]


def capabilities(deep: bool = True) -> Dict[str, Any]:
    """What this machine can run, the one probe of the backends: ``tensorrt`` (its version, or None), ``gpu``,
    ``onnxruntime``, ``torch``, ``classic`` (OpenCV), found without importing them; with ``deep`` also
    ``torch_cuda`` (imports torch) and ``ort_providers`` (imports onnxruntime)."""
    find = importlib.util.find_spec
    caps: Dict[str, Any] = {"tensorrt": system.tensorrt_version(), "gpu": system.gpu_info() is not None,
                            "onnxruntime": find("onnxruntime") is not None, "torch": find("torch") is not None,
                            "classic": find("cv2") is not None, "torch_cuda": False, "ort_providers": []}
    if not caps["onnxruntime"]:
        caps["onnxruntime_missing"] = True
    if deep and caps["torch"]:
        import torch

        caps["torch_cuda"] = bool(torch.cuda.is_available())
    if deep and caps["onnxruntime"]:
        import onnxruntime

        caps["ort_providers"] = list(onnxruntime.get_available_providers())
    return caps


def available_backends() -> Dict[str, bool]:
    """Which backends can run here (cheap probes; nothing heavy is imported)."""
    caps = capabilities(deep=False)
    return {"tensorrt": caps["tensorrt"] is not None and caps["gpu"], "onnxruntime": caps["onnxruntime"],
            "torch": caps["torch"], "classic": caps["classic"]}


def choose_backend(kind: str, requested: str = "auto", available: Optional[Dict[str, bool]] = None) -> str:
    """The backend for a model of ``kind``: ``requested`` after checking it can run that model, or the best
    available one for ``auto``."""
    if requested not in BACKENDS:
        raise UserError("--backend must be one of {}, got {!r}".format(", ".join(BACKENDS), requested))
    if requested != "auto":
        if kind == "none" and requested != "classic":
            raise UserError("--backend {} needs a model: give --model MODEL_FILE".format(requested))
        if kind not in _RUNS[requested]:
            if requested == "classic":
                raise UserError("the classic backend takes no model; drop --model or choose another --backend")
            raise UserError("--backend {} cannot run a {} model; it runs: {}".format(
                requested, kind, ", ".join(_RUNS[requested])))
        return requested
    if kind == "none":
        return "classic"
    if kind == "engine":
        return "tensorrt"
    if kind == "onnxruntime":
        return "onnxruntime"
    if kind == "onnx":
        available = available if available is not None else available_backends()
        return "tensorrt" if available.get("tensorrt") else "onnxruntime"
    return "torch"


def create_runner(model: Any = None, backend: str = "auto", *, device: str = "auto",
                  precision: Optional[str] = None, input_size: Optional[Sequence[int]] = None,
                  batch: Optional[int] = None, threads: Optional[int] = None, tensorrt_ep: bool = False,
                  cuda_api: str = "auto", cuda_graph: bool = False, allow_host_code: bool = False,
                  plugins: Optional[List[str]] = None, classic_method: str = "spectral-residual",
                  engine_dir: str = ENGINE_DIR) -> Runner:
    """A runner (not yet active: nothing is loaded or built until ``activate()``) for ``model`` on ``backend``.

    ``model``: a file path (.onnx, .engine/.plan, ONNX Runtime artifact, .safetensors), a preset name, a
    :class:`~edge_saliency.models.source.ModelSource` (e.g. a preset with its weights), an in-memory torch
    model, or None (classic). ``device``: auto | cpu | cuda | cuda:N (ONNX Runtime, PyTorch).
    ``precision``: PyTorch (fp16 on CUDA by default), the TensorRT build of an ONNX file, the TensorRT
    execution provider. ``input_size`` / ``batch``: for models with dynamic shapes. ``threads``: CPU threads
    (ONNX Runtime intra-op, PyTorch). TensorRT: ``cuda_api`` (auto | cuda-python | pycuda), ``cuda_graph``,
    ``allow_host_code`` (version-compatible engines), ``plugins`` (extra plugin libraries).
    """
    source = model_source(model)
    kind = _kind(model, source)
    chosen = choose_backend(kind, backend)
    if chosen == "classic":
        from .classic_runner import ClassicRunner

        return ClassicRunner(classic_method)
    if chosen == "onnxruntime":
        from .ort_runner import OnnxRuntimeRunner

        return OnnxRuntimeRunner(source, device=device, tensorrt_ep=tensorrt_ep, precision=precision,
                                 threads=threads,
                                 cache_dir=engine_dir)
    if chosen == "torch":
        from .torch_runner import TorchRunner

        return TorchRunner(model if source is None else source, device=device, precision=precision, threads=threads,
                           input_size=input_size)
    from .trt_runner import EngineFromOnnx, TensorRTRunner

    # an ONNX file's engine is built (or found in the cache) when the runner activates
    path = source.path
    if kind == "onnx":
        path = EngineFromOnnx(path, precision, input_size, batch, list(plugins or []), engine_dir)
    return TensorRTRunner(path, allow_host_code=allow_host_code, cuda_api=cuda_api, cuda_graph=cuda_graph,
                          input_size=input_size, batch=batch, plugins=plugins)
