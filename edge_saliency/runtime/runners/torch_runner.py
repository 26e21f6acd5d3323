"""PyTorch runner: an EML-Net from a :class:`~edge_saliency.models.source.ModelSource` (saved weights
``.safetensors`` + sidecar, a preset or config with ``--weights``, a preset alone with random weights), or an
in-memory module, on the CPU or a CUDA GPU (``cuda:N``); fp16 on CUDA by default; channels-last memory
format."""
import logging
import os
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from ..._lazy import require
from ...config import check_input_size
from ...errors import UserError
from ...vocabulary import TORCH_PRECISIONS
from .base import Runner

log = logging.getLogger("edge_saliency.runtime")


class TorchRunner(Runner):
    """A PyTorch EML-Net (a module, a saved ``.safetensors`` or a preset name) on the CPU or CUDA."""
    backend = "torch"

    def __init__(self, model: Any, device: str = "auto", precision: Optional[str] = None,
                 channels_last: bool = True, threads: Optional[int] = None,
                 input_size: Optional[Sequence[int]] = None) -> None:
        from ...models.source import ModelSource

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

    def _load(self) -> Any:
        from ...models.source import ModelSource

        if not isinstance(self.source, ModelSource):
            return self.source
        if not self.source.trained:
            log.warning("warning: %s has random readouts and decoder (no --weights): the maps show the pipeline, "
                        "not saliency", self.source.name)
        size = None if self.input_size is None else (int(self.input_size[0]), int(self.input_size[1]))
        return self.source.build(size)

    def _activate(self) -> None:
        from ...devices import torch_device

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
            from ..clocks import PerfCounterClock, TorchCudaClock

            on_cuda = self.device is not None and self.device.type == "cuda"
            self._stage_clock = TorchCudaClock(require("torch"), self.device) if on_cuda else PerfCounterClock()
        return self._stage_clock

    def _run(self, x: np.ndarray, clock: Any) -> np.ndarray:
        torch = require("torch")
        check_input_size(x.shape[2:], hint=" (EML-Net sizes are multiples of 32: use --size)")
        if clock is not None:
            clock.begin()
        tensor = torch.from_numpy(x).to(device=self.device, dtype=self.dtype)
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
