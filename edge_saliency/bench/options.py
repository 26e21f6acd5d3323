"""What ``edge-saliency bench`` measures (:class:`BenchOptions`), checked before anything runs."""
import dataclasses
from typing import Dict, Optional, Sequence, Tuple, Union

from ..devices import check_device
from ..errors import UserError
from ..vocabulary import ENGINE_DIR, MODEL_BACKENDS, PRECISIONS
from .source_sizes import DEFAULT_FRAME_SIZES, parse_frame_sizes


@dataclasses.dataclass
class BenchOptions:
    model: str
    backends: Sequence[str] = MODEL_BACKENDS
    precisions: Sequence[str] = PRECISIONS
    sizes: Sequence[Tuple[int, int]] = ()  # () : the model's size
    batches: Sequence[int] = (1,)
    device: str = "auto"
    threads: Optional[int] = None  # None: every CPU core
    warmup: int = 10
    iterations: int = 100
    video: Optional[str] = None
    accuracy_frames: int = 8
    stage_frames: int = 30
    # source sizes (H, W) the stages are timed at too ("HxW" strings are parsed); (): only the video's own size
    frame_sizes: Sequence[Union[str, Tuple[int, int]]] = DEFAULT_FRAME_SIZES
    pipeline_frames: int = 60
    weights: Optional[str] = None
    pretrained: bool = False
    backbone_weights: Optional[Dict[str, str]] = None
    seed: int = 0
    calibration: Optional[str] = None
    work_dir: str = "bench-models"
    engine_dir: str = ENGINE_DIR
    plugins: Sequence[str] = ()
    baseline: str = "torch:fp32"

    def validate(self) -> None:
        for name, values, allowed in (("--backend", self.backends, MODEL_BACKENDS),
                                      ("--precision", self.precisions, PRECISIONS)):
            bad = [v for v in values if v not in allowed]
            if bad or not values:
                raise UserError("{} takes {}, got {}".format(name, ", ".join(allowed), ", ".join(bad) or "nothing"))
        self.device = check_device(self.device)
        for name, value, low in (("--iterations", self.iterations, 1), ("--warmup", self.warmup, 0),
                                 ("--accuracy-frames", self.accuracy_frames, 1),
                                 ("--stage-frames", self.stage_frames, 0),
                                 ("--pipeline-frames", self.pipeline_frames, 0)):
            if value < low:
                raise UserError("{} must be at least {}, got {}".format(name, low, value))
        self.frame_sizes = parse_frame_sizes(self.frame_sizes)
        if any(b < 1 for b in self.batches) or not self.batches:
            raise UserError("--batch takes sizes of 1 or more, got {}".format(list(self.batches)))
        if self.threads is not None and self.threads < 1:
            raise UserError("--threads must be at least 1, got {}".format(self.threads))
        from ..config import check_input_size

        for size in self.sizes:
            check_input_size(size, 32, hint=" (EML-Net input sizes are multiples of 32, e.g. 256x320 or 480x640)")
        baseline_backend, _, baseline_precision = self.baseline.partition(":")
        if baseline_backend not in MODEL_BACKENDS or baseline_precision not in PRECISIONS:
            raise UserError("--baseline takes BACKEND:PRECISION (e.g. torch:fp32), got {!r}".format(self.baseline))
