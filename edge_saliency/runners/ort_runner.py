"""ONNX Runtime runner: an exported ``.onnx`` file, or an ONNX Runtime artifact made by ``build-engine``.

CPU by default; the CUDA execution provider with ``device="cuda"`` (or ``"auto"`` where onnxruntime-gpu has
it); the TensorRT execution provider in front with ``tensorrt_ep=True``. An artifact (sidecar kind
"onnxruntime") was optimized offline with ORT_ENABLE_ALL for one provider and ONNX Runtime version: its
sidecar is checked first, and it is loaded with graph optimizations off.
"""
import logging
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .._lazy import require
from ..devices import device_index, parse_device
from ..errors import InputShapeError, UserError
from ..files.sidecar import Sidecar, read_sidecar
from ..plugins.upsample_op import OP_TYPE
from ..vocabulary import ENGINE_DIR, ORT_ARTIFACT_EXTENSION, PRECISIONS
from .base import Runner, numpy_dtype

log = logging.getLogger("edge_saliency.runners")

CPU, CUDA, TENSORRT = "CPUExecutionProvider", "CUDAExecutionProvider", "TensorrtExecutionProvider"
Provider = Union[str, Tuple[str, Dict[str, Any]]]


def choose_providers(device: str, available: Sequence[str], tensorrt_ep: bool = False, fp16: bool = False,
                     device_id: int = 0, cache_dir: str = ENGINE_DIR) -> List[Provider]:
    """Execution providers in priority order for ``device`` (auto | cpu | cuda | cuda:N, which sets the GPU
    number) given the providers this ONNX Runtime has."""
    kind, index = parse_device(device)
    device_id = device_id if index is None else index
    providers: List[Provider] = []
    if tensorrt_ep:
        if TENSORRT not in available:
            raise UserError("this ONNX Runtime has no TensorRT execution provider (it has {}); install onnxruntime-gpu "
                            "built with TensorRT, or use --backend tensorrt".format(", ".join(available)))
        providers.append((TENSORRT, {"device_id": device_id, "trt_fp16_enable": fp16,
                                     "trt_engine_cache_enable": True, "trt_engine_cache_path": cache_dir}))
    use_cuda = kind == "cuda" or (kind == "auto" and CUDA in available) or tensorrt_ep
    if use_cuda:
        if CUDA not in available:
            raise UserError("this ONNX Runtime has no CUDA execution provider (it has {}): pip install onnxruntime-gpu "
                            "(on Jetson: the JetPack onnxruntime-gpu wheel), or use --device cpu".format(
                                ", ".join(available)))
        providers.append((CUDA, {"device_id": device_id}))
    providers.append(CPU)
    return providers


def _provider_name(provider: Provider) -> str:
    return provider if isinstance(provider, str) else provider[0]


class OnnxRuntimeRunner(Runner):
    """An ONNX file or ONNX Runtime artifact run by ONNX Runtime (CPU, CUDA, or its TensorRT provider)."""
    backend = "onnxruntime"

    def __init__(self, path: Any, device: str = "cpu", tensorrt_ep: bool = False, precision: Optional[str] = None,
                 threads: Optional[int] = None, spinning: bool = False, device_id: int = 0,
                 cache_dir: str = ENGINE_DIR) -> None:
        from ..models.source import ModelSource

        # ``path``: the file, or its ModelSource when the caller has parsed the model string already
        self.source = path if isinstance(path, ModelSource) else None
        path = self.source.path if self.source is not None else path
        super().__init__(os.path.basename(path))
        self.path = path
        self.device = device
        self.device_id = device_index(device, device_id)
        self.tensorrt_ep = tensorrt_ep
        self.requested_precision = precision
        self.threads = threads
        self.spinning = spinning
        self.cache_dir = cache_dir
        self.session: Any = None
        self.providers: List[str] = []

    def _session(self, providers: List[Provider], custom_ops: bool, optimized: bool) -> Any:
        from ..plugins.ort_op import create_session  # registers the reference op for plugin nodes

        # ONNX Runtime's own log lines are not the user's problem: its errors come back as exceptions that are
        # reported as one line (with -v its error lines show too)
        settings = {"log_severity_level": 3 if log.isEnabledFor(logging.DEBUG) else 4}
        # idle intra-op threads would spin and steal the CPU from the other stages
        config = {} if self.spinning else {"session.intra_op.allow_spinning": "0"}
        # an artifact was optimized offline: load it as is
        return create_session(self.path, providers, threads=self.threads, optimize=not optimized, plugin=custom_ops,
                              settings=settings, config=config)

    def _activate(self) -> None:
        ort = require("onnxruntime", purpose="the ONNX Runtime backend")
        if not os.path.isfile(self.path):
            raise UserError("model file not found: {}".format(self.path))
        sidecar = read_sidecar(self.path, required=False)
        if sidecar is not None and sidecar.kind == "engine":
            raise UserError("{} is a TensorRT engine: run it with --backend tensorrt".format(self.path))
        if sidecar is None and self.path.endswith(ORT_ARTIFACT_EXTENSION):  # as the TensorRT runner warns for engines
            log.warning("%s has no sidecar (%s.json): cannot check that it was built for this ONNX Runtime and "
                        "machine (rebuild it: edge-saliency build-engine MODEL.onnx --backend onnxruntime)",
                        self.path, self.path)
        optimized = sidecar is not None and sidecar.kind == "onnxruntime"
        available = list(ort.get_available_providers())
        if sidecar is not None and optimized:
            providers = self._artifact_providers(sidecar, available)
        else:
            fp16 = (self.requested_precision or "fp32") == "fp16"
            providers = choose_providers(self.device, available, self.tensorrt_ep, fp16, self.device_id,
                                         self.cache_dir)
        custom_ops = bool(sidecar.info.get("custom_ops")) if optimized and sidecar else False
        try:
            session = self._session(providers, custom_ops, optimized)
        except UserError as exc:  # ONNX Runtime's own Fail / InvalidGraph / ... is its cause
            if exc.__cause__ is None or OP_TYPE not in str(exc.__cause__) or custom_ops:
                raise
            session = self._session(providers, True, optimized)  # plugin nodes: with the reference op
        self.session = session
        self.providers = list(session.get_providers())
        wanted = _provider_name(providers[0])
        if wanted not in self.providers:
            log.warning("ONNX Runtime could not use %s for %s; running on %s", wanted, self.name, self.providers[0])
        inputs, outputs = session.get_inputs(), session.get_outputs()
        if len(inputs) != 1:
            raise InputShapeError("{} has {} inputs ({}); edge-saliency models have one image input".format(
                self.path, len(inputs), ", ".join(i.name for i in inputs)))
        self.input_name = inputs[0].name
        self.input_shape = tuple(d if isinstance(d, int) and d > 0 else -1 for d in inputs[0].shape)
        self.input_dtype = numpy_dtype(inputs[0].type)
        self.output_name = outputs[0].name
        self.precision = self._precision(sidecar)
        if self.input_shape and self.input_shape[0] > 0:
            self.max_batch, self.static_batch = int(self.input_shape[0]), True
        if sidecar is not None and sidecar.model is not None:
            self.preferred_size = tuple(sidecar.model.input_size)  # type: ignore[assignment]
            self.model_config = sidecar.model
            self.preprocess = sidecar.model.preprocess
        self.on_host = self.providers[0] == CPU

    def _artifact_providers(self, sidecar: Sidecar, available: List[str]) -> List[Provider]:
        from ..engine.cache import check_artifact

        check_artifact(self.path, sidecar)
        provider = str(sidecar.info.get("provider") or CPU)
        if provider not in available:
            raise UserError("{} was optimized for {}, which this ONNX Runtime lacks; rebuild it: {}".format(
                self.path, provider, sidecar.info.get("rebuild_command", "edge-saliency build-engine MODEL.onnx")))
        return [provider] if provider == CPU else [provider, CPU]

    def _precision(self, sidecar: Optional[Sidecar]) -> str:
        if sidecar is not None and sidecar.kind == "onnxruntime":
            from ..models.source import ModelSource

            # what the artifact's weights are, not the precision of the ONNX file it was optimised from
            return (self.source or ModelSource.parse(self.path)).precision
        if sidecar is not None and sidecar.info.get("precision") in PRECISIONS:
            return str(sidecar.info["precision"])
        if self.input_dtype == np.float16:
            return "fp16"
        return self.requested_precision or "fp32"

    def describe(self) -> str:
        """The runner's line, with the ONNX Runtime providers in use."""
        return "{} on {}".format(super().describe(), ", ".join(self.providers) or self.device)

    def _infer(self, x: np.ndarray) -> np.ndarray:
        return self.session.run([self.output_name], {self.input_name: x.astype(self.input_dtype, copy=False)})[0]

    def _infer_timed(self, x: np.ndarray) -> Tuple[np.ndarray, Dict[str, Optional[float]]]:
        """The same session through I/O binding, so the copies are separate steps: the input to an OrtValue on
        the first provider's device, run, the output back to a host array. On the CPU the copy-in is a cast
        (or a view) and the copy-out a view."""
        ort = require("onnxruntime")
        device = "cuda" if self.providers and self.providers[0] in (CUDA, TENSORRT) else "cpu"
        clock = self.stage_clock()
        binding = self.session.io_binding()
        clock.begin()
        value = ort.OrtValue.ortvalue_from_numpy(x.astype(self.input_dtype, copy=False), device, self.device_id)
        binding.bind_ortvalue_input(self.input_name, value)
        binding.bind_output(self.output_name, device, self.device_id)
        clock.mark("copy_in")
        self.session.run_with_iobinding(binding)
        clock.mark("infer")
        out = np.asarray(binding.get_outputs()[0].numpy(), dtype=np.float32)
        clock.mark("copy_out")
        times = clock.result()
        return out, {stage: times[stage] for stage in ("copy_in", "infer", "copy_out")}

    def _deactivate(self) -> None:
        self.session = None
