"""The options of :class:`~edge_saliency.pipeline.pipeline.Pipeline`, validated before anything opens (the CLI's
``run`` builds them from its arguments; the stages read them)."""
import dataclasses
from typing import Optional, Tuple

from ..errors import UserError
from ..maths.postprocess import OFFICIAL_SIGMA, check_colormap
from ..maths.preprocess import check_mode
from .frames import TemporalSmoother

POLICIES = ("auto", "latest", "all")
HUD_MODES = ("auto", "on", "off")


@dataclasses.dataclass
class PipelineOptions:
    size: Optional[Tuple[int, int]] = None  # model input (h, w) for models with a dynamic size
    letterbox: bool = False  # keep the aspect ratio (pad) instead of stretching like the official model
    preprocess: Optional[str] = None  # how frames are resized (edge_saliency.maths.preprocess); None: the model's own
    blur_sigma: float = OFFICIAL_SIGMA  # px at 480×640; 0: off
    minmax: bool = True
    smooth: float = 1.0  # EMA weight of the new frame; 1: off
    threshold: float = 0.5  # most-salient-region threshold, fraction of the peak
    colormap: str = "jet"
    alpha: float = 0.5
    batch: Optional[int] = None  # frames per inference; None: the model's static batch, else 1
    queue_size: int = 2
    policy: str = "auto"  # auto: latest for live sources, all for files / images
    max_frames: Optional[int] = None  # per source
    hud: str = "auto"  # auto: on in windows only; on: also burnt into videos; off

    def validate(self) -> None:
        """Raise UserError naming the first invalid option and its valid values."""
        if self.policy not in POLICIES:
            raise UserError("--policy must be one of {}, got {!r}".format(", ".join(POLICIES), self.policy))
        if self.hud not in HUD_MODES:
            raise UserError("--hud must be one of {}, got {!r}".format(", ".join(HUD_MODES), self.hud))
        if self.queue_size < 1:
            raise UserError("--queue-size must be at least 1, got {}".format(self.queue_size))
        if self.batch is not None and self.batch < 1:
            raise UserError("--batch must be at least 1, got {}".format(self.batch))
        if self.max_frames is not None and self.max_frames < 1:
            raise UserError("--max-frames must be at least 1, got {}".format(self.max_frames))
        if not 0.0 < self.threshold <= 1.0:
            raise UserError("--threshold must be in (0, 1], got {}".format(self.threshold))
        if self.blur_sigma < 0:
            raise UserError("--blur must be >= 0 (0 turns it off), got {}".format(self.blur_sigma))
        if not 0.0 <= self.alpha <= 1.0:
            raise UserError("--alpha must be in [0, 1], got {}".format(self.alpha))
        if self.preprocess is not None:
            check_mode(self.preprocess)
        check_colormap(self.colormap)
        TemporalSmoother(self.smooth)
