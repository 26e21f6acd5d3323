"""Frames ↔ model tensors for the runtime: where a frame sits in the model input (stretch or letterbox), the
statistics written per frame, and the views drawn from a map.

Pre-processing is :func:`edge_saliency.maths.preprocess.preprocess` (the one every model input goes through, so the
runtime feeds the model what calibration and parity checks saw); post-processing is
:mod:`edge_saliency.maths.postprocess` (the official blur / min-max / uint8 chain and the heat-map overlay).

Frames are OpenCV BGR uint8 (what ``VideoCapture`` gives). numpy + OpenCV; Python 3.8.
"""
import dataclasses
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

from .._lazy import require
from ..errors import UserError
from ..maths.postprocess import colorize, resize
from ..maths.preprocess import content_box, preprocess


def _cv2() -> Any:
    return require("cv2", purpose="video frames")


# -- geometry ------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Geometry:
    """Where a frame of ``frame_size`` (H, W) sits inside a model input of ``model_size`` (h, w).

    ``content`` = (top, left, height, width) of the frame's pixels in the model input: the whole input when
    stretched, a centred box with the frame's aspect ratio when letterboxed.
    """

    frame_size: Tuple[int, int]
    model_size: Tuple[int, int]
    content: Tuple[int, int, int, int]

    @classmethod
    def fit(cls, frame_size: Sequence[int], model_size: Sequence[int], letterbox: bool = False) -> "Geometry":
        """The geometry of a frame of ``frame_size`` (H, W) fed to a model of ``model_size`` (H, W), stretched or
        letterboxed."""
        box = content_box(frame_size, model_size, letterbox)
        return cls((int(frame_size[0]), int(frame_size[1])), (int(model_size[0]), int(model_size[1])), box)

    @property
    def letterboxed(self) -> bool:
        """True when the frame does not fill the model input (letterbox padding)."""
        return self.content[2:] != self.model_size

    def crop(self, model_map: np.ndarray) -> np.ndarray:
        """The part of a model-size map that covers the frame."""
        top, left, ch, cw = self.content
        return model_map[top:top + ch, left:left + cw]

    def point_to_frame(self, x: float, y: float) -> Tuple[float, float]:
        """Frame coordinates of the centre of pixel (x, y) of the cropped map."""
        ch, cw = self.content[2:]
        fh, fw = self.frame_size
        return (x + 0.5) * fw / cw - 0.5, (y + 0.5) * fh / ch - 0.5

    def box_to_frame(self, x0: int, y0: int, x1: int, y1: int) -> List[int]:
        """A box of the cropped map (x1, y1 exclusive) in frame pixels, [x0, y0, x1, y1] with x1, y1 exclusive."""
        ch, cw = self.content[2:]
        fh, fw = self.frame_size
        return [int(np.floor(x0 * fw / cw)), int(np.floor(y0 * fh / ch)),
                int(np.ceil(x1 * fw / cw)), int(np.ceil(y1 * fh / ch))]


def prepare_frame(frame: np.ndarray, size: Sequence[int], mode: str, letterbox: bool = False,
                  bgr: bool = True) -> Tuple[np.ndarray, Geometry]:
    """A frame → (1×3×h×w float32 RGB in [0, 1], its :class:`Geometry`) for a model input of ``size``
    (:func:`edge_saliency.maths.preprocess.preprocess` with the model's ``mode``: stretched like the official
    model, or letterboxed)."""
    x = preprocess(frame, size, mode, bgr=bgr, letterbox=letterbox)
    return x, Geometry.fit(np.shape(frame)[:2], size, letterbox)


# -- per-frame statistics and views -------------------------------------------------------------------


def saliency_stats(saliency: np.ndarray, geometry: Geometry, threshold: float = 0.5) -> Dict[str, Any]:
    """Peak, most salient region and mean of a cropped map, in frame pixels.

    The region is the 8-connected component containing the peak of ``saliency >= threshold · peak``; its
    bounding box is [x0, y0, x1, y1] (x1, y1 exclusive), ``None`` when the map is all zeros.
    """
    cv2 = _cv2()
    saliency = np.asarray(saliency, dtype=np.float32)
    index = int(np.argmax(saliency))
    y, x = divmod(index, saliency.shape[1])
    peak = float(saliency[y, x])
    px, py = geometry.point_to_frame(x, y)
    bbox = None
    if peak > 0:
        mask = (saliency >= np.float32(threshold * peak)).view(np.uint8)
        _, labels, boxes, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        left, top, width, height = (int(v) for v in boxes[labels[y, x], :4])
        bbox = geometry.box_to_frame(left, top, left + width, top + height)
    return {
        "peak": {"x": round(px, 1), "y": round(py, 1), "value": round(peak, 4)},
        "bbox": bbox,
        "mean": round(float(saliency.mean()), 4),
    }


def side_by_side(frame_bgr: np.ndarray, saliency_u8: np.ndarray, colormap: str = "jet") -> np.ndarray:
    """[frame | heat map], H×2W×3."""
    heat = colorize(resize(saliency_u8, frame_bgr.shape[:2]), colormap)
    return np.concatenate([frame_bgr, heat], axis=1)


def map_view(saliency_u8: np.ndarray) -> np.ndarray:
    """The grey map as an H×W×3 image (video writers take three channels)."""
    return _cv2().cvtColor(saliency_u8, _cv2().COLOR_GRAY2BGR)


def draw_hud(image: np.ndarray, lines: Sequence[str]) -> np.ndarray:
    """Draw text lines at the top left, white on a dark outline, in place; returns ``image``."""
    cv2 = _cv2()
    scale = max(0.4, min(image.shape[0], image.shape[1]) / 900.0)
    step = int(26 * scale) + 4
    for i, text in enumerate(lines):
        origin = (8, 8 + step * (i + 1) - 6)
        cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return image


class TemporalSmoother:
    """Exponential moving average of maps per stream: s ← α·map + (1 − α)·s (α = 1: off).

    The state restarts when a stream's map size changes (e.g. images of different sizes).
    """

    def __init__(self, alpha: float = 1.0) -> None:
        if not 0.0 < alpha <= 1.0:
            raise UserError("--smooth must be in (0, 1] (weight of the new frame; 1 = off), got {}".format(alpha))
        self.alpha = float(alpha)
        self._state: Dict[int, np.ndarray] = {}

    def __call__(self, stream: int, saliency: np.ndarray) -> np.ndarray:
        if self.alpha >= 1.0:
            return saliency
        previous = self._state.get(stream)
        if previous is None or previous.shape != saliency.shape:
            smoothed = saliency.astype(np.float32, copy=True)
        else:
            smoothed = previous * np.float32(1.0 - self.alpha) + saliency * np.float32(self.alpha)
        self._state[stream] = smoothed
        return smoothed
