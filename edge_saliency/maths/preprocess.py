"""The one pre-processing every model input goes through: the runtime, export parity checks, INT8
calibration, the accuracy report, bench, ``predict`` / ``eval`` and training all call :func:`preprocess`
with the model's own mode (``ModelConfig.preprocess``, saved in every sidecar), so one image gives one input
tensor everywhere.

A frame (H×W×3 RGB or BGR, uint8 or float in [0, 1]; also H×W grey or H×W×4 with alpha) becomes a
1×3×h×w float32 array in [0, 1], RGB, NCHW: the frame is *stretched* to the model input size (h, w) (no
aspect-ratio padding, as the official EML-Net code does), converted to float and divided by 255. Each
encoder's mean/std normalization is inside the model graph, so there is nothing else to do here.

Modes (how the frame is resized; :data:`PREPROCESS_MODES`):

- ``pillow-bilinear``: Pillow's ``Image.resize(..., BILINEAR)`` — what the official script's
  ``transforms.Resize`` + ``ToTensor`` run, so the input is the official one bit for bit. Pillow widens its
  triangle filter when shrinking (it averages, no aliasing) and computes in fixed point with the
  intermediate image rounded to uint8. Needs Pillow (installed with torchvision; on a base install
  ``pip install Pillow``), imported only when this mode runs.
- ``opencv-area``: OpenCV ``INTER_AREA`` when shrinking both axes, else ``INTER_LINEAR`` — antialiased like
  Pillow, numpy + OpenCV only; the default for models trained by edge-saliency.
- ``opencv-linear``: OpenCV ``INTER_LINEAR`` — the fastest, for live video; it samples 4 pixels per output
  pixel whatever the scale, so shrinking aliases.

docs/official-model.md measures how far the OpenCV modes move the final maps from the official input.
numpy + OpenCV (+ Pillow for its mode); runs on Python 3.8.
"""
import os
from typing import Iterable, Optional, Sequence, Tuple

import numpy as np

from .._lazy import require
from ..config import DEFAULT_PREPROCESS, PREPROCESS_MODES, ModelConfig
from ..errors import InputShapeError, UserError

PILLOW, AREA, LINEAR = PREPROCESS_MODES
DEFAULT_MODE = DEFAULT_PREPROCESS  # for models whose config is unknown (an ONNX file without sidecar)
PAD_VALUE = 0.5  # letterbox padding in [0, 1] (mid-grey)


def _cv2():  # type: ignore[no-untyped-def]
    return require("cv2", purpose="image pre-processing")


def check_mode(mode: str) -> str:
    """``mode`` if it is one of :data:`PREPROCESS_MODES`, else UserError listing them."""
    if mode not in PREPROCESS_MODES:
        raise UserError("unknown pre-processing {!r}; choose one of {}".format(mode, ", ".join(PREPROCESS_MODES)))
    return mode


def mode_of(config: Optional[ModelConfig]) -> str:
    """The pre-processing of a model config (:data:`DEFAULT_MODE` when there is none)."""
    return config.preprocess if config is not None else DEFAULT_MODE


def artifact_mode(path: str) -> str:
    """The pre-processing recorded beside any artifact (weights, ONNX, engine, ONNX Runtime artifact) in its
    sidecar; :data:`DEFAULT_MODE` without one. Pure Python: no torch, no ONNX."""
    from ..files.sidecar import read_sidecar

    sidecar = read_sidecar(path, required=False)
    return mode_of(sidecar.model if sidecar is not None else None)


def to_rgb(frame: np.ndarray, bgr: bool = False) -> np.ndarray:
    """An H×W×3 RGB view/copy of ``frame`` (grey is repeated; an alpha channel is dropped)."""
    if frame.ndim == 2:
        return np.repeat(frame[:, :, None], 3, axis=2)
    if frame.ndim != 3 or frame.shape[2] not in (3, 4):
        raise InputShapeError(
            "a frame must be H×W (grey), H×W×3 or H×W×4, got shape {}".format(tuple(frame.shape))
        )
    frame = frame[:, :, :3]
    return frame[:, :, ::-1] if bgr else frame


def content_box(frame_size: Sequence[int], size: Sequence[int], letterbox: bool = False) -> Tuple[int, int, int, int]:
    """(top, left, height, width) of the frame's pixels inside a model input of ``size`` = (h, w): the whole
    input when stretched, a centred box with the frame's aspect ratio when letterboxed."""
    fh, fw = int(frame_size[0]), int(frame_size[1])
    h, w = int(size[0]), int(size[1])
    if min(fh, fw, h, w) < 1:
        raise InputShapeError("frame size {} and model input size {} must be positive".format((fh, fw), (h, w)))
    if not letterbox:
        return 0, 0, h, w
    scale = min(h / fh, w / fw)
    ch = min(h, max(1, int(round(fh * scale))))
    cw = min(w, max(1, int(round(fw * scale))))
    return (h - ch) // 2, (w - cw) // 2, ch, cw


def _pillow():  # type: ignore[no-untyped-def]
    return require("PIL.Image", purpose="the pillow-bilinear pre-processing (the official EML-Net input; "
                                       "a fast alternative for video: --preprocess opencv-area)")


def check_available(mode: str) -> str:
    """``mode`` if it is known and what it needs is installed (Pillow for ``pillow-bilinear``), else the
    error naming the fix; for callers that should fail before they start (the runtime)."""
    if check_mode(mode) == PILLOW:
        _pillow()
    return mode


def _pillow_resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    Image = _pillow()
    bilinear = getattr(Image, "Resampling", Image).BILINEAR
    if image.dtype == np.uint8:  # channels are resampled independently: BGR stays BGR
        return np.asarray(Image.fromarray(np.ascontiguousarray(image)).resize((width, height), bilinear))
    # float data: Pillow resizes one float32 ("F") band at a time
    bands = image[:, :, None] if image.ndim == 2 else image
    out = [np.asarray(Image.fromarray(np.ascontiguousarray(bands[:, :, c], dtype=np.float32)).resize(
        (width, height), bilinear)) for c in range(bands.shape[2])]
    return out[0] if image.ndim == 2 else np.stack(out, axis=2)


def resize(image: np.ndarray, size: Sequence[int], mode: str) -> np.ndarray:
    """Stretch an H×W or H×W×C image (uint8 or float32) to ``size`` = (height, width) the way ``mode``
    resizes; the dtype is kept, a same-size image is returned as is."""
    h, w = int(size[0]), int(size[1])
    if tuple(image.shape[:2]) == (h, w):
        return image
    if check_mode(mode) == PILLOW:
        return _pillow_resize(image, w, h)
    cv2 = _cv2()
    flag = cv2.INTER_LINEAR if linear_resize(mode, image.shape[:2], (h, w)) else cv2.INTER_AREA
    return cv2.resize(np.ascontiguousarray(image), (w, h), interpolation=flag)


def linear_resize(mode: str, frame_size: Sequence[int], size: Sequence[int]) -> bool:
    """True when ``mode`` resizes a frame of ``frame_size`` to ``size`` (h, w) with OpenCV ``INTER_LINEAR`` (or
    keeps it as it is): ``opencv-linear`` always, ``opencv-area`` unless it shrinks both axes, ``pillow-bilinear``
    never. What the GPU pre-processing kernel computes (docs/performance.md)."""
    if check_mode(mode) == PILLOW:
        return False
    h, w = int(size[0]), int(size[1])
    shrinking = h <= int(frame_size[0]) and w <= int(frame_size[1])
    return mode == LINEAR or not shrinking or (h, w) == (int(frame_size[0]), int(frame_size[1]))


def preprocess(frame: np.ndarray, size: Sequence[int], mode: str, bgr: bool = False,
               letterbox: bool = False) -> np.ndarray:
    """``frame`` → 1×3×h×w float32 RGB in [0, 1] for a model whose input is ``size`` = (h, w), resized
    the way ``mode`` says (the model's ``config.preprocess``; see the module docstring).

    ``bgr``: the frame comes from OpenCV (``cv2.imread`` / ``VideoCapture``) in BGR order.
    uint8 frames are divided by 255; float frames must already be in [0, 1].
    ``letterbox`` (runtime option): keep the aspect ratio and pad with :data:`PAD_VALUE` instead of stretching.
    """
    frame = np.asarray(frame)
    if frame.size == 0:
        raise InputShapeError("empty frame of shape {}".format(tuple(frame.shape)))
    rgb = to_rgb(frame, bgr=False)  # channel order is handled in the copy below
    if rgb.dtype == np.uint8:
        divisor = np.float32(255)
    elif rgb.dtype in (np.float32, np.float64, np.float16):
        divisor = np.float32(1)
        rgb = rgb.astype(np.float32, copy=False)
    else:
        raise InputShapeError("frames must be uint8 or float in [0, 1], got dtype {}".format(rgb.dtype))
    top, left, ch, cw = content_box(rgb.shape[:2], size, letterbox)
    rgb = resize(rgb, (ch, cw), mode)
    x = np.empty((1, 3, int(size[0]), int(size[1])), dtype=np.float32)
    if (ch, cw) != x.shape[2:]:
        x.fill(PAD_VALUE)
    # one pass per channel: HWC -> CHW, colour order, scaling (torchvision's ToTensor: uint8 / 255 in
    # float32), straight into the output
    for c, source in enumerate((2, 1, 0) if bgr else (0, 1, 2)):
        np.divide(rgb[:, :, source], divisor, out=x[0, c, top:top + ch, left:left + cw], dtype=np.float32,
                  casting="unsafe")
    return x


def preprocess_batch(frames: Iterable[np.ndarray], size: Sequence[int], mode: str, bgr: bool = False) -> np.ndarray:
    """Several frames → N×3×h×w float32 (each as :func:`preprocess`)."""
    arrays = [preprocess(f, size, mode, bgr=bgr) for f in frames]
    if not arrays:
        raise UserError("no frames to pre-process")
    return np.concatenate(arrays, axis=0)


def read_image(path: str) -> np.ndarray:
    """An image file as H×W×3 RGB uint8 (any format OpenCV reads); a clear error if it cannot be read."""
    cv2 = _cv2()
    if not os.path.isfile(path):
        raise UserError("image not found: {}".format(path))
    image = cv2.imread(os.fspath(path), cv2.IMREAD_COLOR)
    if image is None:
        raise UserError("cannot read image {} (not an image format OpenCV reads?)".format(path))
    return np.ascontiguousarray(image[:, :, ::-1])
