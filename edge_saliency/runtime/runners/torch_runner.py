"""PyTorch runner: an EML-Net from saved weights (``.safetensors`` + sidecar) or a preset name (random
weights), on the CPU or a CUDA GPU; fp16 on CUDA by default; channels-last memory format."""
import logging
import os
from typing import Any, Dict, Optional, Tuple

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
                 channels_last: bool = True, threads: Optional[int] = None) -> None:
        name = os.path.basename(model) if isinstance(model, str) else type(model).__name__
        super().__init__(name)
        self.source = model
        self.device_request = device
        self.requested_precision = precision
        self.channels_last = channels_last
        self.threads = threads
        self.model: Any = None
        self.device: Any = None
        self.dtype: Any = None
        self.input_shape = (-1, 3, -1, -1)

    def _load(self) -> Any:
        from ...inference import load_inference_model, warn_if_untrained

        if not isinstance(self.source, str):
            return self.source
        if self.source.endswith(".safetensors") and not os.path.isfile(self.source):
            raise UserError("weights file not found: {}".format(self.source))
        model, trained = load_inference_model(self.source)  # a saved model, a preset or a config .json
        warn_if_untrained(trained, self.source)
        return model

    def _activate(self) -> None:
        torch = require("torch", purpose="the PyTorch backend")
        if self.threads:
            torch.set_num_threads(self.threads)
        want = self.device_request
        if want not in ("auto", "cpu", "cuda"):
            raise UserError("--device must be auto, cpu or cuda, got {!r}".format(want))
        if want == "cuda" and not torch.cuda.is_available():
            raise UserError("--device cuda: this PyTorch sees no CUDA GPU (CPU-only build, or no driver)")
        use_cuda = want == "cuda" or (want == "auto" and torch.cuda.is_available())
        precision = self.requested_precision or ("fp16" if use_cuda else "fp32")
        if precision not in TORCH_PRECISIONS:
            raise UserError("the PyTorch backend runs fp32 or fp16 (int8 needs TensorRT), got {}".format(precision))
        if precision == "fp16" and not use_cuda:
            raise UserError("fp16 with PyTorch needs a CUDA GPU; use --precision fp32 on the CPU")
        self.device = torch.device("cuda" if use_cuda else "cpu")
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
