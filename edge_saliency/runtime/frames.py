"""Frames ↔ model tensors for the runtime: where a frame sits in the model input (stretch or letterbox), the
map post-processing of the official model, the statistics written per frame, and the views drawn from a map.

Pre-processing follows the one the export issue defines for every model input (``edge_saliency.preprocess``,
branch issue-4): RGB, bilinear (``cv2.INTER_LINEAR``) *stretch* to the model size like the official code,
[0, 1], NCHW, no mean/std (that is inside the graph). The runtime adds letterboxing (keep the aspect ratio,
pad with mid-grey) as an option.

Post-processing follows ``edge_saliency.postprocess`` (branch issue-3), with the same names and semantics:
:func:`blur` (Gaussian, σ = 5 px at 480×640, scaled to the map's size, reflecting borders), :func:`minmax`,
:func:`to_uint8`, :func:`resize`, :func:`colorize`, :func:`overlay`. Those modules were not merged when the
runtime was written; these are the runtime's minimal copies, to be replaced by imports at merge.

Frames are OpenCV BGR uint8 (what ``VideoCapture`` gives). numpy + OpenCV; Python 3.8.
"""
import dataclasses
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .._lazy import require
from ..errors import InputShapeError, UserError

OFFICIAL_SIZE: Tuple[int, int] = (480, 640)  # (height, width) at which the official σ applies
OFFICIAL_SIGMA = 5.0
TRUNCATE = 4.0  # Gaussian kernel radius in σ
COLORMAPS = ("jet", "turbo", "inferno", "magma", "viridis", "hot", "bone")
PAD_VALUE = 0.5  # letterbox padding in [0, 1] (mid-grey)


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
        fh, fw = int(frame_size[0]), int(frame_size[1])
        h, w = int(model_size[0]), int(model_size[1])
        if min(fh, fw, h, w) < 1:
            raise InputShapeError("frame size {} and model size {} must be positive".format((fh, fw), (h, w)))
        if not letterbox:
            return cls((fh, fw), (h, w), (0, 0, h, w))
        scale = min(h / fh, w / fw)
        ch = min(h, max(1, int(round(fh * scale))))
        cw = min(w, max(1, int(round(fw * scale))))
        return cls((fh, fw), (h, w), ((h - ch) // 2, (w - cw) // 2, ch, cw))

    @property
    def letterboxed(self) -> bool:
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


def prepare_frame(frame: np.ndarray, size: Sequence[int], letterbox: bool = False,
                  bgr: bool = True) -> Tuple[np.ndarray, Geometry]:
    """A frame → (1×3×h×w float32 RGB in [0, 1], its :class:`Geometry`) for a model input of ``size``.

    Stretch (default) resizes the whole frame to (h, w) with ``INTER_LINEAR``, as the official model does;
    ``letterbox`` keeps the aspect ratio and pads with :data:`PAD_VALUE`. ``frame``: H×W×3 (BGR if ``bgr``),
    H×W grey or H×W×4, uint8 (divided by 255) or float in [0, 1].
    """
    cv2 = _cv2()
    frame = np.asarray(frame)
    if frame.ndim == 2:
        frame = np.repeat(frame[:, :, None], 3, axis=2)
    if frame.ndim != 3 or frame.shape[2] not in (3, 4) or frame.size == 0:
        raise InputShapeError("a frame must be H×W, H×W×3 or H×W×4, got shape {}".format(tuple(frame.shape)))
    if frame.dtype == np.uint8:
        scale = np.float32(1.0 / 255.0)
    elif frame.dtype in (np.float16, np.float32, np.float64):
        scale = np.float32(1.0)
        frame = frame.astype(np.float32, copy=False)
    else:
        raise InputShapeError("frames must be uint8 or float in [0, 1], got dtype {}".format(frame.dtype))
    geometry = Geometry.fit(frame.shape[:2], size, letterbox)
    top, left, ch, cw = geometry.content
    frame = frame[:, :, :3]
    if frame.shape[:2] != (ch, cw):
        frame = cv2.resize(frame, (cw, ch), interpolation=cv2.INTER_LINEAR)
    h, w = geometry.model_size
    x = np.empty((1, 3, h, w), dtype=np.float32)
    if geometry.letterboxed:
        x.fill(PAD_VALUE)
    channels = (2, 1, 0) if bgr else (0, 1, 2)
    for c, source in enumerate(channels):
        np.multiply(frame[:, :, source], scale, out=x[0, c, top:top + ch, left:left + cw], casting="unsafe")
    return x, geometry


# -- map post-processing (same semantics as edge_saliency.postprocess) ----------------------------------


def kernel_size(sigma: float) -> int:
    """The odd Gaussian kernel size for ``sigma``: radius round(4σ), so 41 for σ = 5."""
    return 2 * int(TRUNCATE * sigma + 0.5) + 1


def blur(saliency: np.ndarray, sigma: float = OFFICIAL_SIGMA,
         reference_size: Optional[Sequence[int]] = OFFICIAL_SIZE) -> np.ndarray:
    """Gaussian blur of a 2-D map (float32), borders reflected (scipy's ``mode="reflect"``).

    ``sigma`` is in pixels of a ``reference_size`` (height, width) map, scaled to the map's own size
    (``None``: as is). ``sigma <= 0`` returns the map unchanged.
    """
    saliency = np.asarray(saliency, dtype=np.float32)
    if sigma <= 0:
        return saliency
    cv2 = _cv2()
    h, w = saliency.shape[:2]
    sy, sx = (sigma, sigma) if reference_size is None else (sigma * h / reference_size[0],
                                                             sigma * w / reference_size[1])
    return cv2.GaussianBlur(saliency, (kernel_size(sx), kernel_size(sy)), sigmaX=sx, sigmaY=sy,
                            borderType=cv2.BORDER_REFLECT)


def minmax(saliency: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] (float32); a constant map becomes all zeros."""
    saliency = np.asarray(saliency, dtype=np.float32)
    low, high = float(saliency.min()), float(saliency.max())
    if high <= low:
        return np.zeros_like(saliency)
    return (saliency - low) * np.float32(1.0 / (high - low))


def to_uint8(saliency: np.ndarray) -> np.ndarray:
    """A [0, 1] map to uint8 0..255 (rounded, clipped)."""
    return np.rint(np.clip(saliency, 0.0, 1.0) * 255.0).astype(np.uint8)


def resize(saliency: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """Bilinear resize of a 2-D map to ``size`` = (height, width)."""
    h, w = int(size[0]), int(size[1])
    if saliency.shape[:2] == (h, w):
        return saliency
    cv2 = _cv2()
    return cv2.resize(saliency, (w, h), interpolation=cv2.INTER_LINEAR)


def check_colormap(colormap: str) -> str:
    if colormap not in COLORMAPS:
        raise UserError("unknown colour map {!r}; choose one of {}".format(colormap, ", ".join(COLORMAPS)))
    return colormap


def colorize(saliency_u8: np.ndarray, colormap: str = "jet") -> np.ndarray:
    """A uint8 map as an H×W×3 BGR heat map (OpenCV colour map by name)."""
    cv2 = _cv2()
    check_colormap(colormap)
    return cv2.applyColorMap(np.asarray(saliency_u8, dtype=np.uint8), getattr(cv2, "COLORMAP_" + colormap.upper()))


def overlay(image_bgr: np.ndarray, saliency_u8: np.ndarray, alpha: float = 0.5, colormap: str = "jet") -> np.ndarray:
    """The heat map blended over a BGR image: (1 − alpha)·image + alpha·heat map (map resized to the image)."""
    cv2 = _cv2()
    if not 0.0 <= alpha <= 1.0:
        raise UserError("--alpha must be in [0, 1], got {}".format(alpha))
    heat = colorize(resize(np.asarray(saliency_u8, dtype=np.uint8), image_bgr.shape[:2]), colormap)
    return cv2.addWeighted(image_bgr, 1.0 - alpha, heat, alpha, 0.0)


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
