"""The official EML-Net post-processing and heat-map overlays: small pure functions (numpy + OpenCV).

Two chains share the blur:

- :func:`postprocess` — the official chain exactly, for ``predict`` and ``eval``: what the official
  ``eval_combined.py`` does to the model output (scikit-image ``filters.gaussian(pred, 5)``: σ = 5 px,
  kernel radius 4σ, the edge pixel repeated beyond the border, scikit-image's default ``mode="nearest"``;
  then ``x -= x.min(); x /= x.max()`` and ``(x * 255).astype(np.uint8)``, which truncates). Optionally the
  blurred map is resized to the image's own size before the min-max (the official script keeps the model's
  480×640).
- :func:`blur` / :func:`minmax` / :func:`to_uint8` / :func:`resize` — the pieces the real-time runtime runs
  on every video frame (``pipeline/frames.py``), kept as separate cheap calls so the runtime can order them
  around its temporal smoothing and statistics, and allocate little. ``to_uint8`` rounds.

For a map of another size than 480×640 the blur's σ is scaled with it (σ·w/640 across, σ·h/480 down),
which is the same blur without resampling to 480×640 first.

Images are OpenCV BGR (what ``cv2.imread`` and ``cv2.VideoCapture`` give). Saliency maps are 2-D arrays.
Runs on Python 3.8.
"""
from typing import Any, Optional, Sequence, Tuple

import numpy as np

from .._lazy import require
from ..errors import UserError

OFFICIAL_SIZE: Tuple[int, int] = (480, 640)  # (height, width) at which the official σ applies
OFFICIAL_SIGMA = 5.0
TRUNCATE = 4.0  # kernel radius in σ (scipy.ndimage's default; OpenCV's own choice for float images)
MAP_SIZES = ("image", "model")  # where a predicted map ends: at its image's size, or at the model's output size
COLORMAPS = ("jet", "turbo", "inferno", "magma", "viridis", "hot", "bone")


def _cv2() -> Any:
    return require("cv2", purpose="saliency post-processing")


def kernel_size(sigma: float) -> int:
    """The odd Gaussian kernel size for ``sigma``: radius round(4σ), so 41 for σ = 5."""
    return 2 * int(TRUNCATE * sigma + 0.5) + 1


def blur(
    saliency: np.ndarray, sigma: float = OFFICIAL_SIGMA, reference_size: Optional[Sequence[int]] = OFFICIAL_SIZE
) -> np.ndarray:
    """Gaussian blur of a 2-D map (float32 out), repeating the edge pixel beyond the border (scipy's and
    scikit-image's ``mode="nearest"``, the official code's), kernel radius round(4σ).

    ``sigma`` is in pixels of a ``reference_size`` (height, width) map and is scaled to the map's own size;
    ``reference_size=None`` applies ``sigma`` as is. ``sigma <= 0`` returns the map unchanged (as float32).
    """
    cv2 = _cv2()
    saliency = np.asarray(saliency, dtype=np.float32)
    if sigma <= 0:
        return saliency
    h, w = saliency.shape[:2]
    sy, sx = (sigma, sigma) if reference_size is None else (sigma * h / reference_size[0],
                                                             sigma * w / reference_size[1])
    return cv2.GaussianBlur(saliency, (kernel_size(sx), kernel_size(sy)), sigmaX=sx, sigmaY=sy,
                            borderType=cv2.BORDER_REPLICATE)


def minmax(saliency: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] (float32); a constant map becomes all zeros."""
    saliency = np.asarray(saliency, dtype=np.float32)
    low, high = float(saliency.min()), float(saliency.max())
    if high <= low:
        return np.zeros_like(saliency)
    return (saliency - low) * np.float32(1.0 / (high - low))


def to_uint8(saliency: np.ndarray) -> np.ndarray:
    """A [0, 1] map to uint8 0..255 (rounded; values outside [0, 1] are clipped). The runtime's choice; the
    official chain (:func:`postprocess`) truncates."""
    return np.rint(np.clip(saliency, 0.0, 1.0) * 255.0).astype(np.uint8)


def resize(saliency: np.ndarray, size: Sequence[int], out: Optional[np.ndarray] = None) -> np.ndarray:
    """Bilinear resize of a 2-D map (any dtype OpenCV resizes) to ``size`` = (height, width); ``out``: a buffer
    of that size and dtype to write into."""
    h, w = int(size[0]), int(size[1])
    if saliency.shape[:2] == (h, w):
        return saliency
    cv2 = _cv2()
    return cv2.resize(saliency, (w, h), dst=out, interpolation=cv2.INTER_LINEAR)


def postprocess(
    saliency: np.ndarray,
    output_size: Optional[Sequence[int]] = None,
    sigma: float = OFFICIAL_SIGMA,
    reference_size: Optional[Sequence[int]] = OFFICIAL_SIZE,
) -> np.ndarray:
    """The official post-processing of a model output (module docstring): blur (σ = 5 px at 480×640, edge
    pixel repeated), bilinear resize to ``output_size`` (the image's (height, width); ``None`` keeps the
    model's size, as the official script does), min-max in float32 (subtract the minimum, divide by the new
    maximum), ×255 and truncation to uint8. A constant map gives all zeros.

    ``saliency``: a 2-D float map (a 1×H×W or 1×1×H×W array is squeezed). Returns H×W uint8.
    """
    saliency = np.asarray(saliency)
    while saliency.ndim > 2 and saliency.shape[0] == 1:
        saliency = saliency[0]
    if saliency.ndim != 2:
        raise ValueError("postprocess takes a 2-D saliency map, got shape {}".format(saliency.shape))
    blurred = blur(saliency, sigma, reference_size)
    if output_size is not None:
        blurred = resize(blurred, output_size)
    scaled = blurred - blurred.min()  # a new float32 array: the steps below work in place
    peak = scaled.max()
    if peak <= 0:
        return np.zeros(scaled.shape, dtype=np.uint8)
    scaled /= peak
    scaled *= np.float32(255)
    return scaled.astype(np.uint8)  # truncates, as the official astype(np.uint8)


def check_colormap(colormap: str) -> str:
    """``colormap`` if it is one of :data:`COLORMAPS`, else UserError listing them."""
    if colormap not in COLORMAPS:
        raise UserError("unknown colour map {!r}; choose one of {}".format(colormap, ", ".join(COLORMAPS)))
    return colormap


def colorize(saliency_u8: np.ndarray, colormap: str = "jet") -> np.ndarray:
    """A uint8 map as an H×W×3 BGR heat map (OpenCV colour map by name, see :data:`COLORMAPS`)."""
    cv2 = _cv2()
    check_colormap(colormap)
    return cv2.applyColorMap(np.asarray(saliency_u8, dtype=np.uint8), getattr(cv2, "COLORMAP_" + colormap.upper()))


def overlay(image_bgr: np.ndarray, saliency_u8: np.ndarray, alpha: float = 0.5, colormap: str = "jet") -> np.ndarray:
    """The heat map of ``saliency_u8`` blended over a BGR image: (1 − alpha)·image + alpha·heat map.

    The map is resized to the image first when the sizes differ.
    """
    cv2 = _cv2()
    if not 0.0 <= alpha <= 1.0:
        raise UserError("--alpha must be in [0, 1], got {}".format(alpha))
    heat = colorize(resize(np.asarray(saliency_u8, dtype=np.uint8), image_bgr.shape[:2]), colormap)
    return cv2.addWeighted(image_bgr, 1.0 - alpha, heat, alpha, 0.0)


# -- the real-time frame path: colour at the map's resolution, one resize, a uint8 blend ------------------------

_LUTS: dict = {}


def colormap_lut(colormap: str = "jet") -> np.ndarray:
    """The 256×3 BGR uint8 table of an OpenCV colour map (``applyColorMap`` of 0..255), cached: indexing it is
    the colour map, and it is what the GPU kernels are given."""
    check_colormap(colormap)
    if colormap not in _LUTS:
        cv2 = _cv2()
        ramp = np.arange(256, dtype=np.uint8).reshape(256, 1)
        _LUTS[colormap] = np.ascontiguousarray(
            cv2.applyColorMap(ramp, getattr(cv2, "COLORMAP_" + colormap.upper())).reshape(256, 3))
    return _LUTS[colormap]


def heatmap(saliency_u8: np.ndarray, size: Sequence[int], colormap: str = "jet",
            out: Optional[np.ndarray] = None) -> np.ndarray:
    """The heat map of a small uint8 map at ``size`` (H, W): coloured by table lookup at the map's own resolution,
    then ONE bilinear resize of the colour image (a 256×320 map costs 1/25 of a 1920×1080 colour-map pass).

    It differs from colouring the resized map only where the colour map bends between two neighbouring map values
    (tests/maths/test_postprocess.py states the tolerance on real frames)."""
    heat = colormap_lut(colormap)[np.asarray(saliency_u8, dtype=np.uint8)]
    h, w = int(size[0]), int(size[1])
    if heat.shape[:2] == (h, w):
        return heat
    # ``out``: an H×W×3 uint8 buffer to reuse (a fresh 6 MB array per 1080p frame costs its page faults)
    return _cv2().resize(heat, (w, h), dst=out, interpolation=_cv2().INTER_LINEAR)


def overlay_small(image_bgr: np.ndarray, saliency_u8: np.ndarray, alpha: float = 0.5, colormap: str = "jet",
                  out: Optional[np.ndarray] = None, work: Optional[np.ndarray] = None) -> np.ndarray:
    """:func:`overlay` for the real-time path: ``saliency_u8`` at the model's resolution is coloured there
    (:func:`heatmap`), resized once to the image and blended in uint8 (``cv2.addWeighted``, saturating, rounded).
    ``out``: an image-sized uint8 buffer to reuse (may be ``image_bgr`` itself); ``work``: one for the heat map."""
    cv2 = _cv2()
    if not 0.0 <= alpha <= 1.0:
        raise UserError("--alpha must be in [0, 1], got {}".format(alpha))
    if work is not None and work.shape != image_bgr.shape:
        work = None
    heat = heatmap(saliency_u8, image_bgr.shape[:2], colormap, out=work)
    return cv2.addWeighted(image_bgr, 1.0 - alpha, heat, alpha, 0.0, dst=out)
