"""PyTorch runner: an EML-Net from a :class:`~edge_saliency.models.source.ModelSource` (saved weights
``.safetensors`` + sidecar, a preset or config with ``--weights``, a preset alone with random weights), or an
in-memory module, on the CPU or a CUDA GPU (``cuda:N``); fp16 on CUDA by default; channels-last memory
format. On CUDA with the frame kernels built, uint8 frames are uploaded and pre-processed on the GPU
(``infer_frames``, runners/frame_input.py)."""
import logging
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .._lazy import require
from ..config import check_input_size
from ..errors import UserError
from ..vocabulary import TORCH_PRECISIONS
from .base import Runner
from .frame_input import launch_preprocess, pack_frames, resolve_kernels, takes_frames

log = logging.getLogger("edge_saliency.runners")


class TorchRunner(Runner):
    """A PyTorch EML-Net (a module, a saved ``.safetensors`` or a preset name) on the CPU or CUDA."""
    backend = "torch"

    def __init__(self, model: Any, device: str = "auto", precision: Optional[str] = None,
                 channels_last: bool = True, threads: Optional[int] = None,
                 input_size: Optional[Sequence[int]] = None, frame_kernels: Any = "auto") -> None:
        from ..models.source import ModelSource

        if isinstance(model, str):
            model = ModelSource.parse(model, flag="--model")
        name = os.path.basename(model.name) if isinstance(model, ModelSource) else type(model).__name__
        super().__init__(name)
        self.source = model
        self.input_size = tuple(input_size) if input_size else None
        self.device_request = device
        self.requested_precision = precision
        self.channels_last = channels_last
        self.threads = threads
        self.model: Any = None
        self.device: Any = None
        self.dtype: Any = None
        self.input_shape = (-1, 3, -1, -1)
        # "auto" (the CUDA frame kernels on a CUDA device), "off", or a FrameLibrary of the device's kind (tests:
        # the host twins on the CPU); the frame path's buffers are kept and grown, never made per frame
        self.frame_kernels = frame_kernels
        self._frames: Any = None
        self._frame_buffers: Dict[str, Any] = {}

    def _load(self) -> Any:
        from ..models.build import build_model
        from ..models.source import ModelSource

        if not isinstance(self.source, ModelSource):
            return self.source
        if not self.source.trained:
            log.warning("warning: %s has random readouts and decoder (no --weights): the maps show the pipeline, "
                        "not saliency", self.source.name)
        size = None if self.input_size is None else (int(self.input_size[0]), int(self.input_size[1]))
        return build_model(self.source, size)

    def _activate(self) -> None:
        from ..devices import torch_device

        torch = require("torch", purpose="the PyTorch backend")
        if self.threads:
            torch.set_num_threads(self.threads)
        device = torch_device(self.device_request)
        use_cuda = device.type == "cuda"
        precision = self.requested_precision or ("fp16" if use_cuda else "fp32")
        if precision not in TORCH_PRECISIONS:
            raise UserError("the PyTorch backend runs fp32 or fp16 (int8 needs TensorRT), got {}".format(precision))
        if precision == "fp16" and not use_cuda:
            raise UserError("fp16 with PyTorch needs a CUDA GPU; use --precision fp32 on the CPU")
        self.device = device
        self.dtype = torch.float16 if precision == "fp16" else torch.float32
        self.precision = precision
        model = self._load().eval()
        model = model.to(device=self.device, dtype=self.dtype)
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        config = getattr(model, "config", None)
        self.on_host = not use_cuda
        self._frames = None
        if use_cuda or not isinstance(self.frame_kernels, str):  # "auto" on the CPU: the host path
            self._frames = resolve_kernels(self.frame_kernels, "cuda")
        if self._frames is not None and self._frames.kind != ("cuda" if use_cuda else "host"):
            raise UserError("the {} frame kernels cannot write {} memory".format(self._frames.kind, device))
        if config is not None:
            self.preferred_size = tuple(config.input_size)  # type: ignore[assignment]
            self.model_config = config
            self.preprocess = config.preprocess
            self.name = "{} ({})".format(self.name, config.name) if self.name != config.name else self.name

    def _infer(self, x: np.ndarray) -> np.ndarray:
        return self._run(x, None)

    def _infer_timed(self, x: np.ndarray) -> Tuple[np.ndarray, Dict[str, Optional[float]]]:
        clock = self.stage_clock()
        out = self._run(x, clock)
        times = clock.result()
        return out, {stage: times[stage] for stage in ("copy_in", "infer", "copy_out")}

    def stage_clock(self) -> Any:
        """CUDA events on PyTorch's current stream on a GPU, perf_counter on the CPU."""
        if self._stage_clock is None:
            from .clocks import PerfCounterClock, TorchCudaClock

            on_cuda = self.device is not None and self.device.type == "cuda"
            self._stage_clock = TorchCudaClock(require("torch"), self.device) if on_cuda else PerfCounterClock()
        return self._stage_clock

    def _run(self, x: np.ndarray, clock: Any) -> np.ndarray:
        torch = require("torch")
        check_input_size(x.shape[2:], hint=" (EML-Net sizes are multiples of 32: use --size)")
        if clock is not None:
            clock.begin()
        return self._forward(torch.from_numpy(x).to(device=self.device, dtype=self.dtype), clock)

    def frame_input(self, mode: str) -> bool:
        """True on CUDA with the frame kernels built (or the host twins given for the CPU) for a mode they compute."""
        return self.is_active and takes_frames(self._frames, mode, np.float16 if self.precision == "fp16" else
                                               np.float32)

    def _infer_frames(self, frames: List[np.ndarray], boxes: List[Any], size: Sequence[int], clock: Any) -> np.ndarray:
        """The frames packed into pinned memory, uploaded in one copy, one kernel per frame into its slot of a kept
        input tensor on PyTorch's current stream, then the model."""
        torch = require("torch")
        check_input_size(size, hint=" (EML-Net sizes are multiples of 32: use --size)")
        h, w = int(size[0]), int(size[1])
        on_cuda = self.device.type == "cuda"
        staging, upload, x = self._buffers(torch, sum(f.nbytes for f in frames), (len(frames), 3, h, w), on_cuda)
        if clock is not None:
            clock.begin()
        offsets = pack_frames(frames, staging.numpy())
        if on_cuda:  # the previous call's copy-out synchronized: the staging buffer is free again
            upload.copy_(staging, non_blocking=True)
        stream = torch.cuda.current_stream(self.device).cuda_stream if on_cuda else None
        launch_preprocess(self._frames, frames, [upload.data_ptr() + o for o in offsets], x.data_ptr(),
                          np.float16 if self.dtype == torch.float16 else np.float32, (h, w), boxes, stream)
        return self._forward(x, clock)

    def _buffers(self, torch: Any, nbytes: int, shape: Tuple[int, ...], on_cuda: bool) -> Tuple[Any, Any, Any]:
        """(staging, upload, model input): pinned host and device bytes for the frames (one buffer on the CPU) and
        the input tensor, kept from call to call and made again only when a larger batch or another size comes."""
        held = self._frame_buffers
        if "staging" not in held or held["staging"].numel() < nbytes:
            held["staging"] = torch.empty(nbytes, dtype=torch.uint8, pin_memory=on_cuda)
            held["upload"] = torch.empty(nbytes, dtype=torch.uint8, device=self.device) if on_cuda else None
        room = held.get("input")
        if room is None or room.shape[0] < shape[0] or tuple(room.shape[1:]) != shape[1:]:
            held["input"] = torch.empty(shape, dtype=self.dtype, device=self.device)
        staging = held["staging"][:nbytes]
        return staging, held["upload"][:nbytes] if on_cuda else staging, held["input"][:shape[0]]

    def _forward(self, tensor: Any, clock: Any) -> np.ndarray:
        torch = require("torch")
        if self.channels_last:
            tensor = tensor.contiguous(memory_format=torch.channels_last)
        if clock is not None:
            clock.mark("copy_in")
        with torch.inference_mode():
            out = self.model(tensor)
        if clock is not None:
            clock.mark("infer")
        host = out.float().cpu().numpy()
        if clock is not None:
            clock.mark("copy_out")
        return host

    def describe(self) -> str:
        """The runner's line, with the device and memory format."""
        return "{} on {}{}".format(super().describe(), self.device, ", channels-last" if self.channels_last else "")

    def _deactivate(self) -> None:
        self.model = None
        self._frame_buffers = {}
